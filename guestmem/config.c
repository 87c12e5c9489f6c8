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
 * gm_name_valid() - allocation and label names: 1..GM_NAME_MAX characters
 * of [A-Za-z0-9._-], not starting with '.' (which also rules out "." and
 * ".."), so that every name is a safe file name under allocations/.
 */
bool gm_name_valid(const char *name)
{
	size_t len = strlen(name);

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

/* A node id: decimal, < GM_MAX_NODES. */
static int parse_node_id(const char **p, unsigned *id)
{
	uint64_t v;
	int ret = parse_digits(p, 10, &v);

	if (ret)
		return ret;
	if (v >= GM_MAX_NODES)
		return -ERANGE;
	*id = v;
	return 0;
}

/*
 * Split "A,B,C" into items in a bounded copy; calls @fn on each. Empty
 * items are errors.
 */
typedef int (*item_fn)(const char *item, struct gm_config *cfg,
		       uint64_t *seen, struct gm_error *e);

static int parse_list(const char *opt, const char *s, struct gm_config *cfg,
		      item_fn fn, struct gm_error *e)
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
		ret = fn(item, cfg, &seen, e);
		if (ret)
			return ret;
	}
	return 0;
}

static int numa_item(const char *item, struct gm_config *cfg, uint64_t *seen,
		     struct gm_error *e)
{
	const char *p = item;
	char size_s[64];
	const char *at, *colon;
	uint64_t size, host;
	unsigned id;
	int ret;

	ret = parse_node_id(&p, &id);
	if (ret || *p != ':')
		return gm_error_set(e, EINVAL, "--numa: '%s' is not NODE:SIZE[@HOSTNODE] (node 0..%d)",
			      item, GM_MAX_NODES - 1);
	colon = p;
	at = strchr(colon, '@');
	if ((size_t)((at ? at : colon + strlen(colon)) - colon - 1) >= sizeof(size_s))
		return gm_error_set(e, EINVAL, "--numa: bad size in '%s'", item);
	snprintf(size_s, sizeof(size_s), "%.*s",
		 (int)((at ? at : colon + strlen(colon)) - colon - 1), colon + 1);
	ret = gm_parse_size(size_s, &size);
	if (ret)
		return gm_error_set(e, ret, "--numa: bad size '%s' in '%s'", size_s, item);
	if (!size || size % 4096)
		return gm_error_set(e, EINVAL, "--numa: node %u size must be a non-zero multiple of 4K",
			      id);
	host = (uint64_t)-1;
	if (at) {
		const char *h = at + 1;

		ret = parse_digits(&h, 10, &host);
		if (ret || *h || host > 1023)
			return gm_error_set(e, EINVAL, "--numa: bad host node in '%s'", item);
	}
	if (*seen & (1ULL << id))
		return gm_error_set(e, EINVAL, "--numa: node %u given twice", id);
	*seen |= 1ULL << id;
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
	ret = parse_list("--numa", s, &tmp, numa_item, e);
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

static int cma_item(const char *item, struct gm_config *cfg, uint64_t *seen,
		    struct gm_error *e)
{
	const char *p = item;
	uint64_t size;
	unsigned id;
	int ret;

	ret = parse_node_id(&p, &id);
	if (ret || *p != ':')
		return gm_error_set(e, EINVAL, "--cma: '%s' is not NODE:SIZE", item);
	ret = gm_parse_size(p + 1, &size);
	if (ret)
		return gm_error_set(e, ret, "--cma: bad size '%s'", p + 1);
	if (id >= cfg->nr_nodes)
		return gm_error_set(e, EINVAL, "--cma: no node %u (configure it with --numa)", id);
	if (*seen & (1ULL << id))
		return gm_error_set(e, EINVAL, "--cma: node %u given twice", id);
	if (size % cfg->chunk_size)
		return gm_error_set(e, EINVAL, "--cma: node %u size must be a multiple of the chunk (%llu)",
			      id, (unsigned long long)cfg->chunk_size);
	if (size >= cfg->node[id].size)
		return gm_error_set(e, EINVAL, "--cma: node %u area must be smaller than the node", id);
	*seen |= 1ULL << id;
	cfg->node[id].cma_size = size;
	return 0;
}

/*
 * gm_parse_cma() - see guestmem.h. Uses cfg->chunk_size as it is now, so
 * set the chunk first. On error @cfg is unchanged.
 */
int gm_parse_cma(const char *s, struct gm_config *cfg, struct gm_error *e)
{
	struct gm_config tmp = *cfg;
	int ret;

	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		tmp.node[i].cma_size = 0;
	ret = parse_list("--cma", s, &tmp, cma_item, e);
	if (ret)
		return ret;
	*cfg = tmp;
	return 0;
}
