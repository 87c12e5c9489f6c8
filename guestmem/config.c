// SPDX-License-Identifier: MIT
/*
 * config.c - the option parsers (--numa, --cma, sizes), names and the small
 * power-of-two helpers the rest of guestmem shares.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"

void gm_config_init(struct gm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->chunk_size = GM_DEFAULT_CHUNK;
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		cfg->node[i].host_node = -1;
}

bool gm_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint64_t gm_pow2_divisor(uint64_t v)
{
	return v & -v;
}

unsigned gm_log2(uint64_t v)
{
	return v ? 63 - __builtin_clzll(v) : 0;
}

/*
 * gm_name_chars_valid() - the alphabet of allocation names: 1..GM_NAME_MAX
 * characters of [A-Za-z0-9._-], not starting with '.' (which also rules out
 * "." and ".."), so that every name is a safe file name under allocations/.
 */
bool gm_name_chars_valid(const char *name)
{
	size_t len = strnlen(name, GM_NAME_MAX + 1);

	if (!len || len > GM_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
		if (c >= 0x80)
			return false;
	}
	return true;
}

static bool vm_namespace(const char *name)
{
	return !strncmp(name, GM_VM_PREFIX, strlen(GM_VM_PREFIX));
}

/*
 * gm_name_valid() - see guestmem.h.
 */
bool gm_name_valid(const char *name, enum gm_owner owner)
{
	return name && gm_name_chars_valid(name) &&
	       vm_namespace(name) == (owner == GM_OWNER_VM);
}

/*
 * gm_check_name() - gm_name_valid() with the reason: -EINVAL for a name
 * outside the alphabet, -EPERM for a name of another owner's namespace.
 */
int gm_check_name(const char *name, enum gm_owner owner, struct gm_error *e)
{
	if (!name || !gm_name_chars_valid(name))
		return gm_error_set(e, EINVAL, "name: '%.64s' is not 1..%d of [A-Za-z0-9._-] not starting with '.'",
				    name ? name : "", GM_NAME_MAX);
	if (owner == GM_OWNER_VM && !vm_namespace(name))
		return gm_error_set(e, EINVAL, "name: the vm's names start with '%s'",
				    GM_VM_PREFIX);
	if (owner != GM_OWNER_VM && vm_namespace(name))
		return gm_error_set(e, EPERM, "name: names starting with '%s' are the vm's",
				    GM_VM_PREFIX);
	return 0;
}

/* Parse digits of @base at *@p; at least one digit; -ERANGE on overflow. */
static int parse_digits(const char **p, unsigned base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	for (;; s++, n++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/*
 * gm_parse_uint() - see guestmem.h.
 */
int gm_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int ret;

	if (!s)
		return -EINVAL;
	ret = parse_digits(&s, 10, &v);
	if (ret)
		return ret;
	if (*s)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/*
 * gm_parse_size() - see guestmem.h. Decimal or 0x hex, then an optional
 * K/M/G/T suffix (powers of 1024), nothing else: no sign, no spaces.
 */
int gm_parse_size(const char *s, uint64_t *out)
{
	unsigned shift = 0;
	uint64_t v;
	int ret;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		ret = parse_digits(&s, 16, &v);
	} else {
		ret = parse_digits(&s, 10, &v);
	}
	if (ret)
		return ret;
	switch (*s) {
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	case 't': case 'T': shift = 40; s++; break;
	default: break;
	}
	if (*s)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/*
 * gm_format_size() - see guestmem.h: the largest of T, G, M, K that divides
 * @v exactly, else plain bytes.
 */
char *gm_format_size(uint64_t v, char buf[GM_SIZE_STR_MAX])
{
	static const char suffix[] = "TGMK";
	static const unsigned shift[] = { 40, 30, 20, 10 };

	for (unsigned i = 0; v && i < 4; i++)
		if (!(v & ((1ULL << shift[i]) - 1))) {
			snprintf(buf, GM_SIZE_STR_MAX, "%llu%c",
				 (unsigned long long)(v >> shift[i]), suffix[i]);
			return buf;
		}
	snprintf(buf, GM_SIZE_STR_MAX, "%llu", (unsigned long long)v);
	return buf;
}

/*
 * Split "A,B,C" (the value of option @opt) into items in a bounded copy;
 * calls @fn on each. Empty items, control bytes and over-long values are
 * errors. @seen is a bitmap of the node ids the items named so far.
 */
typedef int (*item_fn)(const char *opt, const char *item, void *ctx,
		       uint64_t *seen, struct gm_error *e);

static int parse_list(const char *opt, const char *s, item_fn fn, void *ctx,
		      struct gm_error *e)
{
	char buf[1024], *item, *save = NULL;
	uint64_t seen = 0;
	size_t len;
	int ret;

	if (!s || !*s)
		return gm_error_set(e, EINVAL, "%s: empty value", opt);
	len = strlen(s);
	if (len >= sizeof(buf))
		return gm_error_set(e, EINVAL, "%s: value too long", opt);
	/* messages quote the value: keep them one printable line */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return gm_error_set(e, EINVAL, "%s: byte 0x%02x at column %zu is not printable ASCII",
				      opt, (unsigned char)s[i], i + 1);
	if (s[0] == ',' || s[len - 1] == ',' || strstr(s, ",,"))
		return gm_error_set(e, EINVAL, "%s: empty item in '%s'", opt, s);
	memcpy(buf, s, len + 1);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		ret = fn(opt, item, ctx, &seen, e);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The "NODE:" head of a list item: a decimal node id below @nr_nodes (or
 * GM_MAX_NODES), given once; *@rest points past the colon.
 */
static int node_head(const char *opt, const char *item, unsigned nr_nodes,
		     uint64_t *seen, unsigned *id, const char **rest,
		     struct gm_error *e)
{
	const char *colon = strchr(item, ':');
	char num[16];
	uint64_t v;

	if (!colon || colon == item || (size_t)(colon - item) >= sizeof(num))
		return gm_error_set(e, EINVAL, "%s: '%s' is not NODE:...", opt, item);
	snprintf(num, sizeof(num), "%.*s", (int)(colon - item), item);
	if (gm_parse_uint(num, GM_MAX_NODES - 1, &v))
		return gm_error_set(e, EINVAL, "%s: '%s' is not NODE:... (node 0..%d)",
				    opt, item, GM_MAX_NODES - 1);
	if (v >= nr_nodes)
		return gm_error_set(e, EINVAL, "%s: no node %llu in '%s' (configure it with --numa)",
				    opt, (unsigned long long)v, item);
	if (*seen & (1ULL << v))
		return gm_error_set(e, EINVAL, "%s: node %llu given twice", opt,
				    (unsigned long long)v);
	*seen |= 1ULL << v;
	*id = (unsigned)v;
	*rest = colon + 1;
	return 0;
}

static int numa_item(const char *opt, const char *item, void *ctx,
		     uint64_t *seen, struct gm_error *e)
{
	struct gm_config *cfg = ctx;
	const char *rest, *at;
	char size_s[64];
	uint64_t size, host = (uint64_t)-1;
	unsigned id;
	int ret;

	ret = node_head(opt, item, GM_MAX_NODES, seen, &id, &rest, e);
	if (ret)
		return ret;
	at = strchr(rest, '@');
	if ((size_t)((at ? at : rest + strlen(rest)) - rest) >= sizeof(size_s))
		return gm_error_set(e, EINVAL, "%s: bad size in '%s'", opt, item);
	snprintf(size_s, sizeof(size_s), "%.*s",
		 (int)((at ? at : rest + strlen(rest)) - rest), rest);
	ret = gm_parse_size(size_s, &size);
	if (ret)
		return gm_error_set(e, ret, "%s: bad size '%s' in '%s'", opt, size_s, item);
	if (!size || size % 4096)
		return gm_error_set(e, EINVAL, "%s: node %u size must be a non-zero multiple of 4K",
			      opt, id);
	if (at && gm_parse_uint(at + 1, 1023, &host))
		return gm_error_set(e, EINVAL, "%s: bad host node in '%s'", opt, item);
	cfg->node[id].size = size;
	cfg->node[id].host_node = at ? (int)host : -1;
	return 0;
}

/*
 * gm_parse_numa() - see guestmem.h. On error @cfg's nodes are unchanged.
 */
int gm_parse_numa(const char *s, struct gm_config *cfg, struct gm_error *e)
{
	struct gm_config tmp = *cfg;
	unsigned n = 0;
	int ret;

	for (unsigned i = 0; i < GM_MAX_NODES; i++) {
		tmp.node[i].size = 0;
		tmp.node[i].host_node = -1;
		tmp.node[i].cma_size = 0;
	}
	ret = parse_list("--numa", s, numa_item, &tmp, e);
	if (ret)
		return ret;
	while (n < GM_MAX_NODES && tmp.node[n].size)
		n++;
	for (unsigned i = n; i < GM_MAX_NODES; i++)
		if (tmp.node[i].size)
			return gm_error_set(e, EINVAL, "--numa: node %u given but node %u missing (ids are 0..n-1)",
				      i, n);
	tmp.nr_nodes = n;
	*cfg = tmp;
	return 0;
}

/* "N:SIZE" lists: the sizes land in ctx->sizes, at most the node's size. */
struct sizes_ctx {
	const struct gm_config *cfg;
	bool unbounded;			/* any size: the caller checks */
	uint64_t sizes[GM_MAX_NODES];
};

static int size_item(const char *opt, const char *item, void *ctx,
		     uint64_t *seen, struct gm_error *e)
{
	struct sizes_ctx *c = ctx;
	const char *rest;
	uint64_t size;
	unsigned id;
	int ret;

	ret = node_head(opt, item, c->cfg->nr_nodes, seen, &id, &rest, e);
	if (ret)
		return ret;
	ret = gm_parse_size(rest, &size);
	if (ret)
		return gm_error_set(e, ret, "%s: bad size '%s'", opt, rest);
	if (c->unbounded && !size)
		return gm_error_set(e, EINVAL, "%s: node %u size must be non-zero", opt, id);
	if (!c->unbounded && size > c->cfg->node[id].size)
		return gm_error_set(e, EINVAL, "%s: node %u has no %s of memory",
				    opt, id, rest);
	c->sizes[id] = size;
	return 0;
}

/*
 * gm_parse_node_sizes() - see guestmem.h.
 */
int gm_parse_node_sizes(const char *opt, const char *s,
			const struct gm_config *cfg,
			uint64_t sizes[GM_MAX_NODES], struct gm_error *e)
{
	struct sizes_ctx c = { .cfg = cfg };
	int ret = parse_list(opt, s, size_item, &c, e);

	if (ret)
		return ret;
	memcpy(sizes, c.sizes, sizeof(c.sizes));
	return 0;
}

/*
 * gm_parse_node_list() - see guestmem.h.
 */
int gm_parse_node_list(const char *opt, const char *s,
		       const struct gm_config *cfg,
		       uint64_t sizes[GM_MAX_NODES], struct gm_error *e)
{
	struct sizes_ctx c = { .cfg = cfg, .unbounded = true };
	int ret = parse_list(opt, s, size_item, &c, e);

	if (ret)
		return ret;
	memcpy(sizes, c.sizes, sizeof(c.sizes));
	return 0;
}

/*
 * gm_parse_hotplug() - see guestmem.h. On error @cfg is unchanged.
 */
int gm_parse_hotplug(const char *s, struct gm_config *cfg, struct gm_error *e)
{
	uint64_t sizes[GM_MAX_NODES];
	int ret = gm_parse_node_list("--hotplug", s, cfg, sizes, e);

	if (ret)
		return ret;
	for (unsigned i = 0; i < cfg->nr_nodes; i++)
		if (sizes[i] % GM_HOTPLUG_ALIGN || sizes[i] > (1ULL << 46))
			return gm_error_set(e, EINVAL, "--hotplug: node %u region must be a multiple of 128M (at most 64T)",
					    i);
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		cfg->node[i].hotplug_size = i < cfg->nr_nodes ? sizes[i] : 0;
	return 0;
}

/*
 * gm_parse_hotplug_block() - see guestmem.h.
 */
int gm_parse_hotplug_block(const char *s, struct gm_config *cfg,
			   struct gm_error *e)
{
	uint64_t v;
	int ret = gm_parse_size(s, &v);

	if (ret == -ERANGE)
		return gm_error_set(e, ERANGE, "--hotplug-block %s: overflows 64 bits", s);
	if (ret || !gm_is_pow2(v) || v < GM_HOTPLUG_BLOCK || v > GM_HOTPLUG_ALIGN)
		return gm_error_set(e, EINVAL, "--hotplug-block %s: need a power of two from 2M to 128M",
				    s);
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		cfg->node[i].hotplug_block = v;
	return 0;
}

/*
 * gm_parse_cma() - see guestmem.h. Uses cfg->chunk_size as it is now, so
 * set the chunk first. On error @cfg is unchanged.
 */
int gm_parse_cma(const char *s, struct gm_config *cfg, struct gm_error *e)
{
	uint64_t sizes[GM_MAX_NODES];
	int ret = gm_parse_node_sizes("--cma", s, cfg, sizes, e);

	if (ret)
		return ret;
	for (unsigned i = 0; i < cfg->nr_nodes; i++) {
		if (sizes[i] % cfg->chunk_size)
			return gm_error_set(e, EINVAL, "--cma: node %u size must be a multiple of the chunk (%llu)",
				      i, (unsigned long long)cfg->chunk_size);
		if (sizes[i] >= cfg->node[i].size)
			return gm_error_set(e, EINVAL, "--cma: node %u area must be smaller than the node", i);
	}
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		cfg->node[i].cma_size = i < cfg->nr_nodes ? sizes[i] : 0;
	return 0;
}

/*
 * gm_parse_chunk() - see guestmem.h.
 */
int gm_parse_chunk(const char *s, struct gm_config *cfg, struct gm_error *e)
{
	uint64_t v;
	int ret = gm_parse_size(s, &v);

	if (ret == -ERANGE)
		return gm_error_set(e, ERANGE, "--chunk %s: overflows 64 bits", s);
	if (ret || !gm_is_pow2(v) || v < 4096 || v > (1ULL << 30))
		return gm_error_set(e, EINVAL, "--chunk %s: need a power of two from 4K to 1G",
				    s ? s : "");
	cfg->chunk_size = v;
	return 0;
}
