// SPDX-License-Identifier: MIT
/*
 * test_random.c - a randomized differential test of gm_alloc()/gm_free()
 * against a chunk-map reference model, >= 10^6 operations over three
 * configurations (one node; two nodes with CMA areas, one with
 * order_per_bit 1; a node 0 split by the MMIO hole plus a CMA node).
 *
 * The model keeps one state per chunk of each node's span (free, live,
 * reserved, CMA free, CMA live). After every step it checks: no new block
 * overlaps a live one or a reserved chunk, every block lies in its node
 * (and its range), buddy blocks are naturally aligned and at least
 * max(align, chunk) (contiguous ones adjacent, aligned to the largest
 * power of two dividing their size), CMA blocks inside the area, and that
 * avail == size - reserved - sum(live) and cma_used == sum(live CMA) per
 * node. A scattered request with room must not fail. At the end all is
 * freed and one allocation of each whole free pool succeeds.
 *
 * Seeds are fixed and printed; KVMEM_SEED=N overrides the first one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "helpers.h"

/*
 * Check's ck_assert_*() write a checkpoint to a pipe on every success; at
 * millions of checks that is most of the runtime, so the hot path uses
 * these, which only call into Check on failure.
 */
#define REQ(c) do { if (!(c))						\
	ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)
#define REQ_MSG(c, ...) do { if (!(c)) ck_abort_msg(__VA_ARGS__); } while (0)
#define REQ_U(a, op, b) do {						\
	uint64_t a_ = (a), b_ = (b);					\
	if (!(a_ op b_))						\
		ck_abort_msg("%s:%d: %s %s %s (%" PRIu64 " vs %" PRIu64 ")",	\
			     __FILE__, __LINE__, #a, #op, #b, a_, b_);	\
} while (0)

static struct gm_node_stat qstat(struct gm_mem *mem, unsigned n)
{
	struct gm_node_stat st;

	REQ(gm_node_stat(mem, n, &st) == 0);
	return st;
}

enum { C_FREE, C_LIVE, C_RSVD, C_CMA_FREE, C_CMA_LIVE };

#define MAX_LIVE	160

struct live {
	char name[GM_NAME_MAX + 1];
	struct gm_alloc_info *info;
};

struct model {
	struct gm_mem *mem;
	uint64_t chunk, rng;
	unsigned nr_nodes;
	struct gm_node_stat st0[2];
	uint8_t *map[2];		/* per chunk of the node's span */
	uint64_t live_buddy[2], live_cma[2];
	struct live live[MAX_LIVE];
	unsigned nlive;
	unsigned long seq;
	unsigned long ops, ok, nospc, inval, frees, badfrees;
};

static uint64_t rnd(struct model *m)
{
	/* splitmix64 */
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint8_t *cell(struct model *m, unsigned n, uint64_t gpa)
{
	return &m->map[n][(gpa - m->st0[n].start) / m->chunk];
}

static void model_init(struct model *m, struct gm_mem *mem, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->mem = mem;
	m->rng = seed;
	m->chunk = gm_mem_chunk_size(mem);
	m->nr_nodes = gm_mem_nr_nodes(mem);
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct gm_node_stat *st = &m->st0[n];
		struct gm_range r[2];
		int nr = gm_node_ranges(mem, n, r, 2);

		*st = qstat(mem, n);
		m->map[n] = malloc((st->end - st->start) / m->chunk);
		memset(m->map[n], C_RSVD, (st->end - st->start) / m->chunk);
		for (int i = 0; i < nr; i++)
			for (uint64_t a = r[i].start; a < r[i].start + r[i].size; a += m->chunk)
				*cell(m, n, a) = C_FREE;
		for (uint64_t a = st->cma_base; a < st->cma_base + st->cma_size; a += m->chunk)
			*cell(m, n, a) = C_CMA_FREE;
		REQ_U(st->avail, ==, st->size - st->cma_size - st->early_reserved);
	}
}

static void check_counters(struct model *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct gm_node_stat st = qstat(m->mem, n);

		REQ_U(st.avail, ==, m->st0[n].size - m->st0[n].cma_size -
				  m->st0[n].early_reserved - m->live_buddy[n]);
		REQ_U(st.cma_used, ==, m->live_cma[n]);
	}
}

static uint64_t pick_size(struct model *m, uint64_t node_size)
{
	uint64_t r = rnd(m) % 100, chunks;

	if (r < 70)
		chunks = 1 + rnd(m) % 16;
	else if (r < 90)
		chunks = 1 + rnd(m) % 256;
	else
		chunks = 1 + rnd(m) % (node_size / m->chunk / 4 + 1);
	/* not always a chunk multiple: the library rounds up */
	return chunks * m->chunk - (rnd(m) % 3 == 0 ? rnd(m) % m->chunk : 0);
}

/* Whether a request that failed with ENOSPC had room in the model. */
static bool had_room(struct model *m, const struct gm_request *r, uint64_t rsize)
{
	const struct gm_node_stat *st = &m->st0[r->node];
	uint64_t lo = r->mode == GM_MODE_RANGE ? r->range_start : st->start;
	uint64_t hi = r->mode == GM_MODE_RANGE ? r->range_end : st->end, free = 0;

	if (r->from == GM_FROM_CMA || (r->flags & (GM_F_CONTIGUOUS)) ||
	    (r->align > m->chunk))
		return false;	/* only scattered chunk-granular requests are judged */
	for (uint64_t a = lo; a < hi; a += m->chunk)
		free += *cell(m, r->node, a) == C_FREE;
	return free * m->chunk >= rsize;
}

static void check_blocks(struct model *m, const struct gm_request *r,
			 const struct gm_alloc_info *i, uint64_t rsize)
{
	const struct gm_node_stat *st = &m->st0[r->node];
	uint64_t align = r->align > m->chunk ? r->align : m->chunk, total = 0;
	bool contiguous = true;

	REQ_U(i->nr_blocks, >=, 1);
	for (unsigned k = 0; k < i->nr_blocks; k++) {
		const struct gm_block *b = &i->blocks[k];

		REQ_U(b->gpa, >=, st->start);
		REQ_U(b->gpa + b->size, <=, st->end);
		if (r->mode == GM_MODE_RANGE) {
			REQ_U(b->gpa, >=, r->range_start);
			REQ_U(b->gpa + b->size, <=, r->range_end);
		}
		if (k) {
			REQ_U(b->gpa, >=, i->blocks[k - 1].gpa + i->blocks[k - 1].size);
			contiguous &= b->gpa == i->blocks[k - 1].gpa + i->blocks[k - 1].size;
		}
		if (r->from == GM_FROM_BUDDY) {
			REQ_U(b->size, ==, m->chunk << b->order);
			REQ_U(b->gpa % b->size, ==, 0);
			REQ_U(b->size, >=, align);
		}
		for (uint64_t a = b->gpa; a < b->gpa + b->size; a += m->chunk) {
			uint8_t *c = cell(m, r->node, a);

			if (r->from == GM_FROM_CMA) {
				REQ_MSG(*c == C_CMA_FREE, "cma block 0x%" PRIx64 " state %d", a, *c);
				*c = C_CMA_LIVE;
			} else {
				REQ_MSG(*c == C_FREE, "block 0x%" PRIx64 " state %d", a, *c);
				*c = C_LIVE;
			}
		}
		total += b->size;
	}
	if (r->from == GM_FROM_CMA ||
	    ((r->flags & GM_F_CONTIGUOUS) && !(r->flags & GM_F_FALLBACK))) {
		uint64_t p2 = rsize & -rsize;

		REQ_MSG(contiguous, "flags 0x%x size %" PRIu64 " got %u blocks",
			      r->flags, rsize, i->nr_blocks);
		REQ_U(i->blocks[0].gpa % (p2 > align ? p2 : align), ==, 0);
	}
	if ((r->flags & (GM_F_CONTIGUOUS | GM_F_FALLBACK)) &&
	    (r->flags & GM_F_TRIM_DISABLE) && contiguous && total != rsize) {
		/* one untrimmed power-of-two block */
		REQ_U(i->nr_blocks, ==, 1);
		REQ_U(total & (total - 1), ==, 0);
		REQ_U(rsize, <, total);
		REQ_U(total, <=, 2 * rsize);
	} else {
		REQ_U(total, ==, rsize);
	}
	REQ_U(i->size, ==, total);
	if (r->from == GM_FROM_CMA) {
		/* cma_used counts whole bitmap bits (order_per_bit) */
		uint64_t g = m->chunk << st->cma_order_per_bit;

		m->live_cma[r->node] += (total + g - 1) / g * g;
	} else
		m->live_buddy[r->node] += total;
}

static void random_request(struct model *m, struct gm_request *r)
{
	unsigned node = rnd(m) % m->nr_nodes;
	const struct gm_node_stat *st = &m->st0[node];

	gm_request_init(r);
	if (rnd(m) % 8)
		snprintf(r->name, sizeof(r->name), "r%lu", m->seq++);
	r->node = node;
	r->size = pick_size(m, st->size);
	if (rnd(m) % 3 == 0)
		r->align = 1ULL << (9 + rnd(m) % 14);	/* 512 .. 4M */
	if (st->cma_size && rnd(m) % 5 == 0) {
		r->from = GM_FROM_CMA;
		if (r->align && r->align < m->chunk)
			r->align = 0;
		if (rnd(m) % 2)
			r->flags |= GM_F_NOCLEAR;
		return;
	}
	switch (rnd(m) % 4) {
	case 1: r->mode = GM_MODE_TOPDOWN; break;
	case 2: {
		uint64_t nch = (st->end - st->start) / m->chunk;
		uint64_t a = rnd(m) % nch, b = rnd(m) % nch;

		if (a > b) {
			uint64_t t = a; a = b; b = t;
		}
		r->mode = GM_MODE_RANGE;
		r->range_start = st->start + a * m->chunk;
		r->range_end = st->start + (b + 1) * m->chunk;
		break;
	}
	default: break;
	}
	if (rnd(m) % 4 == 0)
		r->flags |= GM_F_CONTIGUOUS;
	if (rnd(m) % 6 == 0)
		r->flags |= GM_F_TRIM_DISABLE;
	if (rnd(m) % 3 == 0)
		r->flags |= GM_F_CLEAR;
	if (rnd(m) % 5 == 0)
		r->flags |= GM_F_NOCLEAR;
	if (rnd(m) % 6 == 0)
		r->flags |= GM_F_FALLBACK;
}

/* A malformed request: EINVAL, nothing changes (checked by the caller). */
static void invalid_request(struct model *m, struct gm_request *r)
{
	gm_request_init(r);
	r->node = 0;
	r->size = m->chunk;
	switch (rnd(m) % 5) {
	case 0: r->size = 0; break;
	case 1: r->align = 3 * m->chunk; break;
	case 2: r->node = m->nr_nodes; break;
	case 3: snprintf(r->name, sizeof(r->name), ".hidden"); break;
	case 4:
		r->mode = GM_MODE_RANGE;
		r->range_start = m->st0[0].end;
		r->range_end = m->st0[0].end + m->chunk;
		break;
	}
}

static void do_free(struct model *m, unsigned k)
{
	struct live *l = &m->live[k];
	const struct gm_alloc_info *i = l->info;
	struct gm_error e;

	REQ_U(gm_free(m->mem, l->name, &e), ==, 0);
	for (unsigned j = 0; j < i->nr_blocks; j++) {
		for (uint64_t a = i->blocks[j].gpa;
		     a < i->blocks[j].gpa + i->blocks[j].size; a += m->chunk)
			*cell(m, i->req.node, a) =
				i->req.from == GM_FROM_CMA ? C_CMA_FREE : C_FREE;
	}
	if (i->req.from == GM_FROM_CMA) {
		uint64_t g = m->chunk << m->st0[i->req.node].cma_order_per_bit;

		m->live_cma[i->req.node] -= (i->size + g - 1) / g * g;
	} else
		m->live_buddy[i->req.node] -= i->size;
	gm_alloc_info_free(l->info);
	m->live[k] = m->live[--m->nlive];
	m->frees++;
}

static void step(struct model *m)
{
	struct gm_request r;
	struct gm_error e;
	char name[GM_NAME_MAX + 1];
	struct gm_alloc_info *info;
	uint64_t r_align, rsize;
	int ret;

	m->ops++;
	if (m->nlive && (m->nlive == MAX_LIVE || rnd(m) % 100 < 45)) {
		do_free(m, rnd(m) % m->nlive);
		return;
	}
	if (rnd(m) % 100 == 0) {
		/* bad frees: unknown name, or one already freed */
		snprintf(name, sizeof(name), "r%lu", m->seq + 1 + rnd(m) % 4);
		REQ_U(gm_free(m->mem, name, &e), ==, -ENOENT);
		m->badfrees++;
		return;
	}
	if (rnd(m) % 50 == 0) {
		invalid_request(m, &r);
		REQ_U(gm_alloc(m->mem, &r, NULL, &e), ==, -EINVAL);
		m->inval++;
		return;
	}
	random_request(m, &r);
	r_align = r.align > m->chunk ? r.align : m->chunk;
	rsize = (r.size + r_align - 1) & ~(r_align - 1);
	ret = gm_alloc(m->mem, &r, &info, &e);
	if (ret == -ENOSPC) {
		REQ_MSG(!had_room(m, &r, rsize), "ENOSPC with room: %s", e.msg);
		m->nospc++;
		return;
	}
	REQ_MSG(ret == 0, "alloc failed: %d %s", ret, e.msg);
	m->ok++;
	{
		struct live *l = &m->live[m->nlive++];

		memcpy(l->name, info->req.name, sizeof(l->name));
		l->info = info;
		check_blocks(m, &r, l->info, rsize);
	}
}

static void finish(struct model *m)
{
	struct gm_error e;

	while (m->nlive)
		do_free(m, m->nlive - 1);
	check_counters(m);
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct gm_request r;

		gm_request_init(&r);
		r.node = n;
		r.size = qstat(m->mem, n).avail;
		REQ_MSG(gm_alloc(m->mem, &r, NULL, &e) == 0,
			      "whole pool of node %u: %s", n, e.msg);
		REQ_U(qstat(m->mem, n).avail, ==, 0);
		if (!m->st0[n].cma_size)
			continue;
		r.from = GM_FROM_CMA;
		r.size = m->st0[n].cma_size;
		REQ_MSG(gm_alloc(m->mem, &r, NULL, &e) == 0,
			      "whole cma area of node %u: %s", n, e.msg);
	}
	for (unsigned n = 0; n < m->nr_nodes; n++)
		free(m->map[n]);
}

static void run(const char *title, struct gm_mem *mem, uint64_t seed,
		unsigned long ops)
{
	static struct model m;

	model_init(&m, mem, seed);
	for (unsigned long i = 0; i < ops; i++) {
		step(&m);
		check_counters(&m);
	}
	printf("%s: seed=0x%" PRIx64 " ops=%lu allocs=%lu enospc=%lu einval=%lu frees=%lu bad_frees=%lu\n",
	       title, seed, m.ops, m.ok, m.nospc, m.inval, m.frees, m.badfrees);
	fflush(stdout);
	finish(&m);
	gm_mem_destroy(mem);
}

static uint64_t seed_of(uint64_t def)
{
	const char *s = getenv("KVMEM_SEED");

	return s ? strtoull(s, NULL, 0) : def;
}

START_TEST(test_one_node)
{
	run("one node 16M", mkmem("0:16M", 0, NULL, true), seed_of(0x5eed0001), 400000);
}
END_TEST

START_TEST(test_two_nodes_cma)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;

	gm_config_init(&cfg);
	REQ_U(gm_parse_numa("0:32M,1:16M", &cfg, &e), ==, 0);
	REQ_U(gm_parse_cma("0:4M,1:2M", &cfg, &e), ==, 0);
	cfg.node[1].cma_order_per_bit = 1;
	REQ_U(gm_mem_create(&cfg, &mem, &e), ==, 0);
	REQ_U(gm_mem_retire(mem, &e), ==, 0);
	run("two nodes with cma", mem, seed_of(0x5eed0002) + 1, 400000);
}
END_TEST

START_TEST(test_hole_node)
{
	run("node 0 over the hole", mkmem("0:3584M,1:512M", 16 * MIB, "1:64M", true),
	    seed_of(0x5eed0003) + 2, 250000);
}
END_TEST

int main(void)
{
	RUN_SUITE("random", test_one_node, test_two_nodes_cma, test_hole_node);
}
