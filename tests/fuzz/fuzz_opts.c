// SPDX-License-Identifier: MIT
/*
 * fuzz_opts.c - deterministic fuzzing of the option parsers gm_parse_size(),
 * gm_parse_numa() and gm_parse_cma() (--mem/--chunk sizes, --numa, --cma
 * of replay, run and serve) on mutated inputs.
 *
 * Each parser is checked against a small reference written here from the
 * contract in guestmem.h and the README (not from config.c):
 *   - gm_parse_size: the same verdict (0 / -EINVAL / -ERANGE) and value;
 *   - gm_parse_numa / gm_parse_cma: 0 or a negative errno (EINVAL, ERANGE)
 *     with a non-empty one-line message (no control byte, so it prints
 *     as one line on a terminal); on failure the config is byte-identical
 *     to before; on success it is sane (nodes 0..n-1, sizes non-zero
 *     multiples of 4 KiB, CMA areas multiples of the chunk and smaller
 *     than their node, host nodes -1 or 0..1023) and equals the
 *     reference's; then gm_mem_create() + gm_mem_retire() on it return 0
 *     or a negative errno with a message, never crash.
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * inputs per parser (default 60000).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "fuzz.h"

#define IN_MAX		2048

static char cur_input[4 * IN_MAX + 1];
static const char *cur_what = "";
static uint64_t cur_seed;
static unsigned long cur_iter;

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", %s input %lu: \"%s\"\n", cur_seed,
		cur_what, cur_iter, cur_input);
}

static void set_cur(const char *what, const char *s)
{
	cur_what = what;
	fz_escape((const unsigned char *)s, strlen(s), cur_input);
}

/* ---- references, from the documented grammar ---- */

/*
 * SIZE: decimal or 0x hex digits, optional K M G T (either case), nothing
 * else. An input whose digits overflow and that is malformed after them may
 * be either EINVAL or ERANGE (the parser stops at the overflow): the
 * reference says EINVAL and sets ref_overflow.
 */
static bool ref_overflow;

static int ref_size(const char *s, uint64_t *out)
{
	unsigned __int128 v = 0;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *p = hex ? s + 2 : s;
	const char *d0 = p;
	bool big = false;
	unsigned shift = 0;

	for (;; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (hex && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (hex && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		v = v * (hex ? 16 : 10) + d;
		if (v > UINT64_MAX) {
			big = true;
			v = (unsigned __int128)UINT64_MAX + 1;	/* stays > max */
		}
	}
	ref_overflow = big;
	if (p == d0)
		return -EINVAL;
	if (*p && strchr("kKmMgGtT", *p)) {
		shift = strchr("kKmMgGtT", *p) - "kKmMgGtT";
		shift = 10 * (shift / 2 + 1);
		p++;
	}
	if (*p)
		return -EINVAL;
	if (big || (v << shift) > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)(v << shift);
	return 0;
}

/* Decimal digits only, at least one; -1 if not, or above @max. */
static long long ref_dec(const char *s, size_t len, unsigned long long max)
{
	unsigned long long v = 0;

	if (!len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return (long long)v;
}

/*
 * --numa N:SIZE[@H],... into @cfg's nodes; true if valid. Items are
 * separated by single commas; ids 0..63, each once, 0..n-1 all present;
 * SIZE non-zero multiple of 4K; H 0..1023.
 */
static bool ref_numa(const char *s, struct gm_config *cfg)
{
	uint64_t seen = 0;
	const char *p = s;
	unsigned n = 0;

	if (!*s || strlen(s) >= 1024)
		return false;
	for (unsigned i = 0; i < GM_MAX_NODES; i++) {
		cfg->node[i].size = 0;
		cfg->node[i].host_node = -1;
		cfg->node[i].cma_size = 0;
	}
	while (1) {
		size_t len = strcspn(p, ","), cl;
		const char *colon, *at;
		char sz[IN_MAX];
		long long id, host = -1;
		uint64_t size;

		colon = memchr(p, ':', len);
		if (!colon)
			return false;
		cl = colon - p;
		id = ref_dec(p, cl, GM_MAX_NODES - 1);
		if (id < 0)
			return false;
		at = memchr(colon + 1, '@', len - cl - 1);
		memcpy(sz, colon + 1, (at ? at : p + len) - colon - 1);
		sz[(at ? at : p + len) - colon - 1] = '\0';
		if (ref_size(sz, &size) || !size || size % 4096)
			return false;
		if (at) {
			host = ref_dec(at + 1, p + len - at - 1, 1023);
			if (host < 0)
				return false;
		}
		if (seen & (1ULL << id))
			return false;
		seen |= 1ULL << id;
		cfg->node[id].size = size;
		cfg->node[id].host_node = (int)host;
		if (!p[len])
			break;
		p += len + 1;
	}
	while (n < GM_MAX_NODES && (seen & (1ULL << n)))
		n++;
	if (n < GM_MAX_NODES && (seen >> n))
		return false;
	cfg->nr_nodes = n;
	return true;
}

/* --cma N:SIZE,...: configured nodes, each once, multiple of the chunk, < node. */
static bool ref_cma(const char *s, struct gm_config *cfg)
{
	uint64_t seen = 0;
	const char *p = s;

	if (!*s || strlen(s) >= 1024)
		return false;
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		cfg->node[i].cma_size = 0;
	while (1) {
		size_t len = strcspn(p, ","), cl;
		const char *colon = memchr(p, ':', len);
		char sz[IN_MAX];
		long long id;
		uint64_t size;

		if (!colon)
			return false;
		cl = colon - p;
		id = ref_dec(p, cl, GM_MAX_NODES - 1);
		if (id < 0 || (unsigned)id >= cfg->nr_nodes || (seen & (1ULL << id)))
			return false;
		memcpy(sz, colon + 1, len - cl - 1);
		sz[len - cl - 1] = '\0';
		if (ref_size(sz, &size) || size % cfg->chunk_size ||
		    size >= cfg->node[id].size)
			return false;
		seen |= 1ULL << id;
		cfg->node[id].cma_size = size;
		if (!p[len])
			return true;
		p += len + 1;
	}
}

/* ---- mutation ---- */

struct buf {
	char b[IN_MAX + 64];
	size_t len;
};

static const char interesting[] = {
	',', ':', '@', '0', '1', '9', 'x', 'X', 'k', 'K', 'M', 'g', 'G', 'T',
	'E', 'b', '-', '+', ' ', '\t', '\n', '\r', '\0', 0x1b, 0x7f,
	(char)0x80, (char)0xff,
};
static const char *const tokens[] = {
	",", ":", "@", ",,", "@@", "::", "0x", "K", "M", "G", "T", "KB",
	"18446744073709551615", "18446744073709551616", "0xffffffffffffffff",
	"0x10000000000000000", "16777215T", "16777216T", "17179869184G",
	"99999999999999999999999", "4294967296", "-1", "@1023", "@1024",
	"@-1", ",63:4K", ",64:4K", ",1:4K", ",2:1M", ",0:1G", "1:", ":4K", " ",
	"\n", "\r\n", "\x1b[2J", "\xff", "4097", "0x1001", "0",
};

static void ins(struct buf *b, const char *t, size_t tl, size_t at)
{
	if (b->len + tl > IN_MAX)
		return;
	memmove(b->b + at + tl, b->b + at, b->len - at);
	memcpy(b->b + at, t, tl);
	b->len += tl;
	b->b[b->len] = '\0';
}

static void set(struct buf *b, const char *s)
{
	b->len = strlen(s);
	memcpy(b->b, s, b->len + 1);
}

static void mutate(struct buf *b, const char *const *corpus, size_t ncorpus)
{
	size_t at = fz_below(b->len + 1);

	switch (fz_below(8)) {
	case 0:
		if (b->len)
			b->b[fz_below(b->len)] ^= (char)(1u << fz_below(8));
		break;
	case 1:
		if (b->len)
			b->b[fz_below(b->len)] = interesting[fz_below(sizeof(interesting))];
		break;
	case 2: {
		char c = interesting[fz_below(sizeof(interesting))];

		ins(b, &c, 1, at);
		break;
	}
	case 3: {
		const char *t = tokens[fz_below(sizeof(tokens) / sizeof(tokens[0]))];

		ins(b, t, strlen(t), at);
		break;
	}
	case 4:
		b->len = at;
		b->b[at] = '\0';
		break;
	case 5: {	/* splice with another corpus entry */
		const char *o = corpus[fz_below(ncorpus)];
		size_t from = fz_below(strlen(o) + 1);

		b->len = at;
		b->b[at] = '\0';
		ins(b, o + from, strlen(o + from), at);
		break;
	}
	case 6: {	/* a span deleted */
		size_t n = fz_below(b->len - at + 1);

		memmove(b->b + at, b->b + at + n, b->len - at - n + 1);
		b->len -= n;
		break;
	}
	case 7: {	/* repeated: duplicate items, over-long values */
		struct buf o = *b;
		unsigned k = 1 + (unsigned)fz_below(fz_below(4) ? 3 : 200);

		for (unsigned i = 0; i < k; i++) {
			ins(b, ",", 1, b->len);
			ins(b, o.b, o.len, b->len);
		}
		break;
	}
	}
}

static void gen(struct buf *b, const char *const *corpus, size_t n)
{
	set(b, corpus[fz_below(n)]);
	if (fz_below(10) < 8) {
		unsigned k = 1 + (unsigned)fz_below(fz_below(3) ? 2 : 6);

		for (unsigned i = 0; i < k; i++)
			mutate(b, corpus, n);
	}
	/* an embedded NUL ends the C string: that is what the parser sees */
	b->len = strlen(b->b);
}

/* ---- checks ---- */

static void check_msg(int ret, const struct gm_error *e)
{
	CHECK(ret == -EINVAL || ret == -ERANGE, "errno %d (%s)", ret,
	      gm_errno_name(ret));
	CHECK(e->err == -ret, "e.err %d for return %d", e->err, ret);
	CHECK(e->msg[0] != '\0', "empty message");
	for (const char *p = e->msg; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
		      "message has byte 0x%02x at %zu: \"%s\"",
		      (unsigned char)*p, (size_t)(p - e->msg), e->msg);
}

static bool cfg_nodes_eq(const struct gm_config *a, const struct gm_config *b)
{
	if (a->nr_nodes != b->nr_nodes || a->chunk_size != b->chunk_size)
		return false;
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		if (a->node[i].size != b->node[i].size ||
		    a->node[i].host_node != b->node[i].host_node ||
		    a->node[i].cma_size != b->node[i].cma_size ||
		    a->node[i].cma_order_per_bit != b->node[i].cma_order_per_bit)
			return false;
	return true;
}

static void check_sane(const struct gm_config *c)
{
	CHECK(c->nr_nodes >= 1 && c->nr_nodes <= GM_MAX_NODES, "%u nodes", c->nr_nodes);
	for (unsigned i = 0; i < GM_MAX_NODES; i++) {
		const struct gm_node_config *n = &c->node[i];

		if (i >= c->nr_nodes) {
			CHECK(!n->size && !n->cma_size && n->host_node == -1,
			      "node %u beyond nr_nodes %u configured", i, c->nr_nodes);
			continue;
		}
		CHECK(n->size && n->size % 4096 == 0, "node %u size %" PRIu64, i, n->size);
		CHECK(n->host_node >= -1 && n->host_node <= 1023, "node %u host %d",
		      i, n->host_node);
		CHECK(n->cma_size % c->chunk_size == 0 && n->cma_size < n->size,
		      "node %u cma %" PRIu64 " of %" PRIu64, i, n->cma_size, n->size);
	}
}

/* The config must build (or be refused cleanly): no crash, no silent junk. */
static unsigned long nr_created, nr_refused;

static void try_create(const struct gm_config *cfg)
{
	struct gm_error e = { 0 };
	struct gm_mem *mem;
	int ret;

	ret = gm_mem_create(cfg, &mem, &e);
	if (ret) {
		CHECK(ret < 0 && ret > -4096 && e.msg[0] && !strchr(e.msg, '\n'),
		      "gm_mem_create %d '%s'", ret, e.msg);
		nr_refused++;
		return;
	}
	CHECK(gm_mem_nr_nodes(mem) == cfg->nr_nodes, "created %u nodes of %u",
	      gm_mem_nr_nodes(mem), cfg->nr_nodes);
	ret = gm_mem_retire(mem, &e);
	CHECK(ret == 0 || (ret < 0 && e.msg[0] && !strchr(e.msg, '\n')),
	      "retire %d '%s'", ret, e.msg);
	for (unsigned n = 0; n < cfg->nr_nodes && !ret; n++) {
		struct gm_node_stat st;

		CHECK(gm_node_stat(mem, n, &st) == 0, "stat %u", n);
		CHECK(st.size == cfg->node[n].size && st.cma_size == cfg->node[n].cma_size &&
		      st.avail == st.buddy_size &&
		      st.buddy_size + st.cma_size + st.early_reserved == st.size,
		      "node %u: size %" PRIu64 " avail %" PRIu64 " cma %" PRIu64 " for config size %" PRIu64 " cma %" PRIu64,
		      n, st.size, st.avail, st.cma_size, cfg->node[n].size,
		      cfg->node[n].cma_size);
	}
	gm_mem_destroy(mem);
	nr_created++;
}

static const char *const size_corpus[] = {
	"0", "1", "4096", "4K", "4k", "16M", "1G", "2T", "0x1000", "0X10K",
	"0xfffffffffffff000", "18446744073709551615", "16777215T", "0x10m",
	"123456789", "1g",
};
static const char *const numa_corpus[] = {
	"0:1G", "0:1G,1:512M", "0:512M@0,1:512M@1", "0:4K", "0:0x1000",
	"1:16M,0:16M", "0:4G,1:1G", "0:3G,1:4K@1023,2:8K",
	"0:1M,1:1M,2:1M,3:1M,4:1M,5:1M,6:1M,7:1M", "0:16T", "0:1G@0",
	"00:4K,01:4K", "0:64M,1:32M",
};
static const char *const cma_corpus[] = {
	"0:64M", "0:64M,1:32M", "1:4K", "0:0", "0:0x100000,1:0x1000", "1:1M,0:4K",
	"0:512M", "2:4K", "0:1020M",
};

int main(void)
{
	const char *env = getenv("KVMEM_FUZZ_LINES");
	unsigned long n = env && *env ? strtoul(env, NULL, 0) : 60000;
	unsigned long acc[3] = { 0 };
	struct buf b;

	cur_seed = fz_seed("fuzz_opts", 20261124);
	fz_state = cur_seed;

	/* sizes: the same verdict and value as the reference */
	for (cur_iter = 0; cur_iter < n; cur_iter++) {
		uint64_t got = 0xdeadbeef, want = 0xdeadbeef;
		int r, rr;

		gen(&b, size_corpus, sizeof(size_corpus) / sizeof(size_corpus[0]));
		set_cur("size", b.b);
		r = gm_parse_size(b.b, &got);
		rr = ref_size(b.b, &want);
		CHECK(r == rr || (r == -ERANGE && rr == -EINVAL && ref_overflow),
		      "gm_parse_size %d, reference %d", r, rr);
		CHECK(r || got == want, "value %" PRIu64 ", reference %" PRIu64, got, want);
		CHECK(!r || got == 0xdeadbeef, "*out written on error");
		acc[0] += !r;
	}
	CHECK(gm_parse_size(NULL, &(uint64_t){ 0 }) == -EINVAL, "NULL size");

	/* --numa */
	for (cur_iter = 0; cur_iter < n; cur_iter++) {
		struct gm_config cfg, old, ref;
		struct gm_error e = { 0 };
		int r;

		gen(&b, numa_corpus, sizeof(numa_corpus) / sizeof(numa_corpus[0]));
		set_cur("--numa", b.b);
		gm_config_init(&cfg);
		if (fz_below(2))	/* a config that already holds something */
			CHECK(gm_parse_numa("0:8M,1:8M,2:4K", &cfg, &e) == 0, "%s", e.msg);
		old = cfg;
		ref = cfg;
		r = gm_parse_numa(b.b, &cfg, &e);
		if (r) {
			check_msg(r, &e);
			CHECK(!memcmp(&cfg, &old, sizeof(cfg)), "config changed on error %d", r);
			CHECK(!ref_numa(b.b, &ref), "refused ('%s'), the reference accepts", e.msg);
			continue;
		}
		check_sane(&cfg);
		CHECK(ref_numa(b.b, &ref), "accepted, the reference refuses");
		CHECK(cfg_nodes_eq(&cfg, &ref), "config differs from the reference");
		acc[1]++;
		if (cur_iter % 8 == 0)
			try_create(&cfg);
	}

	/* --cma over a few node layouts and chunk sizes */
	for (cur_iter = 0; cur_iter < n; cur_iter++) {
		static const char *const layouts[] = {
			"0:1G,1:512M", "0:16M", "0:1M,1:64M,2:4K", "0:4G,1:1G",
		};
		static const uint64_t chunks[] = { 4096, 8192, 65536, 2 << 20 };
		struct gm_config cfg, old, ref;
		struct gm_error e = { 0 };
		int r;

		gm_config_init(&cfg);
		cfg.chunk_size = chunks[fz_below(4)];
		CHECK(gm_parse_numa(layouts[fz_below(4)], &cfg, &e) == 0, "%s", e.msg);
		gen(&b, cma_corpus, sizeof(cma_corpus) / sizeof(cma_corpus[0]));
		set_cur("--cma", b.b);
		if (fz_below(2))
			gm_parse_cma("0:4M", &cfg, &e);	/* may fail: chunk or node size */
		old = cfg;
		ref = cfg;
		r = gm_parse_cma(b.b, &cfg, &e);
		if (r) {
			check_msg(r, &e);
			CHECK(!memcmp(&cfg, &old, sizeof(cfg)), "config changed on error %d", r);
			CHECK(!ref_cma(b.b, &ref), "refused ('%s'), the reference accepts", e.msg);
			continue;
		}
		check_sane(&cfg);
		CHECK(ref_cma(b.b, &ref), "accepted, the reference refuses");
		CHECK(cfg_nodes_eq(&cfg, &ref), "config differs from the reference");
		acc[2]++;
		if (cur_iter % 8 == 0)
			try_create(&cfg);
	}
	printf("fuzz_opts: %lu inputs per parser; accepted: size %lu, numa %lu, cma %lu; gm_mem_create built %lu, refused %lu; all checks held\n",
	       n, acc[0], acc[1], acc[2], nr_created, nr_refused);
	/* a fuzzer that never gets past the first error proves little */
	CHECK(acc[0] > n / 20 && acc[1] > n / 20 && acc[2] > n / 20 && nr_created,
	      "too few inputs accepted");
	return 0;
}
