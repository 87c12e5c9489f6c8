// SPDX-License-Identifier: MIT
/*
 * test_random.c - randomized differential tests against reference models.
 *
 * gm_alloc()/gm_free() against a chunk-map model, >= 10^6 operations over
 * three configurations (one node; two nodes with CMA areas, one with
 * order_per_bit 1; a node 0 split by the MMIO hole plus a CMA node).
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
 * The buddy allocator alone (guestmem/buddy.c) against its own chunk model,
 * 10^6 operations over four spans: allocations in every mode and flag,
 * reservations, frees, bad frees (double, never allocated, misaligned, and
 * wrong sizes of memory wholly in use), walks over free blocks; see
 * "the buddy allocator against a chunk model" below.
 *
 * Seeds are fixed and printed; KVMEM_SEED=N overrides the first one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "buddy-check.h"
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

/* ---- the buddy allocator against a chunk model --------------------------- */

/*
 * A reference model of one buddy allocator: a "used" and a "known zero"
 * flag per chunk, and the order of the live block starting at each chunk.
 * It predicts exactly when a request must succeed: a non-contiguous request
 * iff the fully free, aligned min-blocks inside its range add up to the
 * rounded size (every such block lies in some free buddy block, and each
 * block taken is made of them); a contiguous one iff some aligned free
 * block of the rounded-up power of two lies inside the range, or, when the
 * range is exactly the rounded size, iff the whole range is free; a free
 * iff (gpa, order) is exactly a live block: every other free, a wrong size
 * of memory wholly in use included, is -EINVAL and changes nothing. After
 * every step: no block overlaps a used chunk, every block is aligned,
 * inside the span and its range, at least min_block, clean only if truly
 * zero; avail and free-area sums are exact; failures change nothing. Every
 * 64 steps a walk over a random range must give exactly the free chunks
 * meeting it, as ascending aligned blocks, clean ones truly zero.
 */
#define BM_CHUNKS	512
#define BM_LIVE		128

struct bmodel {
	struct gm_buddy *b;
	uint64_t base, chunk, n, nfree;
	bool used[BM_CHUNKS], zero[BM_CHUNKS];
	uint8_t head[BM_CHUNKS];	/* order + 1 of the live block here, or 0 */
	struct gm_blist live[BM_LIVE];
	unsigned nlive;
	uint64_t rng;
	unsigned long bad_frees, wrong_size, walks;
};

static uint64_t bm_rnd(struct bmodel *m, uint64_t n)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng % n;
}

static uint64_t bm_end(const struct bmodel *m)
{
	return m->base + m->n * m->chunk;
}

static uint64_t cidx(const struct bmodel *m, uint64_t gpa)
{
	return (gpa - m->base) / m->chunk;
}

static bool all_free(const struct bmodel *m, uint64_t gpa, uint64_t size)
{
	for (uint64_t i = cidx(m, gpa); i < cidx(m, gpa + size); i++)
		if (m->used[i])
			return false;
	return true;
}

/* Aligned blocks of @sz wholly inside [@start, @end), all chunks free. */
static uint64_t free_blocks(const struct bmodel *m, uint64_t sz, uint64_t start,
			    uint64_t end)
{
	uint64_t cnt = 0;

	for (uint64_t p = (start + sz - 1) / sz * sz; p + sz <= end; p += sz)
		cnt += all_free(m, p, sz);
	return cnt;
}

/* Is (@gpa, @order) exactly a live block? */
static bool is_live(const struct bmodel *m, uint64_t gpa, unsigned order)
{
	return gpa >= m->base && gpa < bm_end(m) && (gpa - m->base) % m->chunk == 0 &&
	       m->head[cidx(m, gpa)] == order + 1;
}

static void bm_check(struct bmodel *m)
{
	MUST_EQ(gm_buddy_avail(m->b), m->nfree * m->chunk);
	assert_area_sums(m->b);
}

/* Check blocks appended from @nr0 and mark them used. */
static uint64_t take_blocks(struct bmodel *m, struct gm_blist *l, unsigned nr0,
			    uint64_t start, uint64_t end, uint64_t min)
{
	uint64_t total = 0;

	for (unsigned i = nr0; i < l->nr; i++) {
		const struct gm_block *bl = &l->b[i];

		MUST_EQ(bl->size, m->chunk << bl->order);
		MUST_EQ(bl->gpa % bl->size, 0);
		MUST(bl->gpa >= start);
		MUST(bl->gpa + bl->size <= end);
		MUST(bl->size >= min);
		MUST(all_free(m, bl->gpa, bl->size));
		for (uint64_t c = cidx(m, bl->gpa); c < cidx(m, bl->gpa + bl->size);
		     c++) {
			if (!bl->dirty)
				MUST(m->zero[c]);
			m->used[c] = true;
			m->zero[c] = false;	/* the owner may write it */
		}
		m->head[cidx(m, bl->gpa)] = bl->order + 1;
		total += bl->size;
	}
	m->nfree -= total / m->chunk;
	return total;
}

static void bm_alloc(struct bmodel *m)
{
	uint64_t end = bm_end(m), start = m->base, want, pow, total;
	uint64_t size = (1 + bm_rnd(m, bm_rnd(m, 4) ? 8 : 96)) * m->chunk;
	uint64_t min = m->chunk << (bm_rnd(m, 4) ? 0 : bm_rnd(m, 4));
	enum gm_mode mode = bm_rnd(m, 3);
	unsigned flags = 0;
	struct gm_blist *l = &m->live[m->nlive];
	struct snap s;
	bool ok, exact;
	int rc;

	if (bm_rnd(m, 3) == 0)
		flags |= GM_F_CONTIGUOUS;
	if (bm_rnd(m, 3) == 0)
		flags |= GM_F_CLEAR;
	if (bm_rnd(m, 5) == 0)
		flags |= GM_F_TRIM_DISABLE;
	if (bm_rnd(m, 3) == 0)
		size = min;	/* one block: the allocator's fast path */
	want = (size + min - 1) / min * min;
	for (pow = m->chunk; pow < want; pow <<= 1)
		;
	if (mode == GM_MODE_RANGE) {
		uint64_t x = bm_rnd(m, m->n), y = bm_rnd(m, m->n);

		start = m->base + (x < y ? x : y) * m->chunk;
		end = m->base + ((x < y ? y : x) + 1) * m->chunk;
		if (bm_rnd(m, 4) == 0 && start + want <= bm_end(m))
			end = start + want;	/* an exact fit, now and then */
	}
	exact = (flags & GM_F_CONTIGUOUS) && mode == GM_MODE_RANGE &&
		end - start == want && (start | end) % min == 0;
	if (exact)
		ok = all_free(m, start, want);
	else if (flags & GM_F_CONTIGUOUS)
		ok = free_blocks(m, pow, start, end) > 0;
	else
		ok = free_blocks(m, min, start, end) * min >= want;

	snap(m->b, &s);
	rc = gm_buddy_alloc(m->b, mode, start, end, size, min, flags, l);
	if (rc != (ok ? 0 : -ENOSPC))
		ck_abort_msg("alloc mode %d [%#llx,%#llx) size %#llx min %#llx "
			     "flags %#x: %d, model says %d", mode,
			     (unsigned long long)start, (unsigned long long)end,
			     (unsigned long long)size, (unsigned long long)min,
			     flags, rc, ok);
	if (rc) {
		MUST_EQ(l->nr, 0);
		assert_same(m->b, &s);
		return;
	}
	total = take_blocks(m, l, 0, start, end, min);
	if (flags & GM_F_CONTIGUOUS) {
		MUST_EQ(total, !exact && (flags & GM_F_TRIM_DISABLE) ? pow : want);
		if (exact)
			MUST_EQ(l->b[0].gpa, start);
		for (unsigned i = 1; i < l->nr; i++)
			MUST_EQ(l->b[i].gpa, l->b[i - 1].gpa + l->b[i - 1].size);
	} else {
		MUST_EQ(total, want);
	}
	m->nlive++;
}

static void bm_reserve(struct bmodel *m)
{
	uint64_t x = bm_rnd(m, m->n), len = 1 + bm_rnd(m, 16);
	uint64_t start = m->base + x * m->chunk, end;
	struct gm_blist *l = &m->live[m->nlive];
	struct snap s;
	bool ok;
	int rc;

	if (x + len > m->n)
		len = m->n - x;
	end = start + len * m->chunk;
	ok = all_free(m, start, end - start);
	snap(m->b, &s);
	rc = gm_buddy_reserve(m->b, start, end, l);
	MUST_EQ(rc, ok ? 0 : -EBUSY);
	if (rc) {
		MUST_EQ(l->nr, 0);
		assert_same(m->b, &s);
		return;
	}
	for (unsigned i = 0; i < l->nr; i++)
		MUST_EQ(l->b[i].gpa, i ? l->b[i - 1].gpa + l->b[i - 1].size : start);
	MUST_EQ(take_blocks(m, l, 0, start, end, m->chunk), end - start);
	m->nlive++;
}

/* A free that must be refused: -EINVAL, and nothing changes. */
static void refused(struct bmodel *m, uint64_t gpa, unsigned order)
{
	struct snap s;

	snap(m->b, &s);
	MUST_EQ(gm_buddy_free(m->b, gpa, order, bm_rnd(m, 2)), -EINVAL);
	assert_same(m->b, &s);
	m->bad_frees++;
}

static void bm_free(struct bmodel *m, bool cleared_all)
{
	unsigned i = bm_rnd(m, m->nlive);
	struct gm_blist *l = &m->live[i], tmp;

	for (unsigned j = 0; j < l->nr; j++) {
		const struct gm_block *bl = &l->b[j];
		bool cleared = cleared_all || bm_rnd(m, 2);

		MUST_EQ(gm_buddy_free(m->b, bl->gpa, bl->order, cleared), 0);
		for (uint64_t c = cidx(m, bl->gpa); c < cidx(m, bl->gpa + bl->size);
		     c++) {
			m->used[c] = false;
			m->zero[c] = cleared;
		}
		m->head[cidx(m, bl->gpa)] = 0;
		m->nfree += bl->size / m->chunk;
	}
	if (l->nr && bm_rnd(m, 4) == 0)		/* and once more: a double free */
		refused(m, l->b[0].gpa, l->b[0].order);
	l->nr = 0;
	tmp = *l;
	*l = m->live[--m->nlive];
	m->live[m->nlive] = tmp;
}

/*
 * A bad free: a random (gpa, order), or one next to a live block: its
 * halves, its parent, its neighbour, the next order up or down at its
 * address, mostly memory wholly in use. Refused unless exactly live.
 */
static void bm_bad_free(struct bmodel *m)
{
	unsigned order = bm_rnd(m, gm_buddy_max_order(m->b) + 3);
	uint64_t gpa = m->base + bm_rnd(m, m->n + 4) * m->chunk;

	if (m->nlive && bm_rnd(m, 3)) {
		const struct gm_blist *l = &m->live[bm_rnd(m, m->nlive)];
		const struct gm_block *bl = &l->b[bm_rnd(m, l->nr)];

		gpa = bl->gpa;
		order = bl->order;
		switch (bm_rnd(m, 5)) {
		case 0:		/* a half */
			if (!order)
				return;
			order--;
			gpa += bm_rnd(m, 2) * (m->chunk << order);
			break;
		case 1:		/* the parent (or an aligned block above) */
			order += 1 + bm_rnd(m, 2);
			gpa &= ~((m->chunk << order) - 1);
			break;
		case 2:		/* the neighbour of the same order */
			gpa ^= m->chunk << order;
			break;
		case 3:		/* one order up or down, same address */
			order = bm_rnd(m, 2) && order ? order - 1 : order + 1;
			break;
		default:	/* misaligned */
			gpa += bm_rnd(m, 2) ? 512 : m->chunk;
			break;
		}
		m->wrong_size++;
	} else if (bm_rnd(m, 8) == 0) {
		gpa += 512;
	}
	if (is_live(m, gpa, order))
		return;		/* a legal free after all */
	refused(m, gpa, order);
}

/* The blocks a walk reports, checked against the model as they come. */
struct bwalk {
	struct bmodel *m;
	uint64_t start, end, next, chunks;
	uint64_t count[GM_MAX_ORDER + 1][2];
};

static int bm_walked(void *opaque, uint64_t gpa, unsigned order, bool clean)
{
	struct bwalk *w = opaque;
	struct bmodel *m = w->m;
	uint64_t size = m->chunk << order, lo, hi;

	MUST(order <= gm_buddy_max_order(m->b));
	MUST_EQ(gpa % size, 0);
	MUST(gpa >= m->base && gpa + size <= bm_end(m));
	MUST(gpa + size > w->start && gpa < w->end);	/* it meets the range */
	MUST(gpa >= w->next);				/* ascending, disjoint */
	/* every free chunk between the last block and this one is outside */
	lo = w->next > w->start ? w->next : w->start;
	for (uint64_t p = lo / m->chunk * m->chunk; p < gpa; p += m->chunk)
		if (p + m->chunk > w->start && p >= m->base)
			MUST(m->used[cidx(m, p)]);
	for (uint64_t c = cidx(m, gpa); c < cidx(m, gpa + size); c++) {
		MUST(!m->used[c]);
		if (clean)
			MUST(m->zero[c]);
	}
	hi = gpa + size;
	w->next = hi;
	w->chunks += size / m->chunk;
	w->count[order][!clean]++;
	return 0;
}

/* Walk a random range (or the whole span) and check it against the model. */
static void bm_walk(struct bmodel *m, bool whole)
{
	uint64_t span = bm_end(m) - m->base + 2 * m->chunk;
	uint64_t x = m->base - m->chunk + bm_rnd(m, span);
	uint64_t y = m->base - m->chunk + bm_rnd(m, span);
	struct bwalk w = { .m = m };
	struct snap s;

	w.start = whole ? 0 : (x < y ? x : y);
	w.end = whole ? UINT64_MAX : (x < y ? y : x);
	w.next = 0;
	snap(m->b, &s);
	MUST_EQ(gm_buddy_walk_free(m->b, w.start, w.end, bm_walked, &w), 0);
	assert_same(m->b, &s);
	/* and no free chunk after the last block, up to the range's end */
	for (uint64_t p = (w.next > w.start ? w.next : w.start) / m->chunk * m->chunk;
	     p < w.end && p < bm_end(m); p += m->chunk)
		if (p >= m->base)
			MUST(m->used[cidx(m, p)]);
	if (whole) {
		MUST_EQ(w.chunks, m->nfree);
		for (unsigned k = 0; k <= GM_MAX_ORDER; k++) {
			MUST_EQ(w.count[k][0], s.clean[k]);
			MUST_EQ(w.count[k][1], s.dirty[k]);
		}
	}
	m->walks++;
}

static void bm_run(uint64_t seed, uint64_t base, uint64_t n, uint64_t chunk,
		   unsigned ops)
{
	struct bmodel *m = calloc(1, sizeof(*m));
	struct gm_blist whole;
	struct snap s0, s1;

	MUST(m);
	m->b = mk(base, n * chunk, chunk);
	m->base = base;
	m->chunk = chunk;
	m->n = n;
	m->nfree = n;
	m->rng = seed;
	for (uint64_t i = 0; i < n; i++)
		m->zero[i] = true;
	for (unsigned i = 0; i < BM_LIVE; i++)
		gm_blist_init(&m->live[i]);
	snap(m->b, &s0);

	for (unsigned op = 0; op < ops; op++) {
		unsigned r = bm_rnd(m, 100);

		if (m->nlive == BM_LIVE || (r < 40 && m->nlive))
			bm_free(m, false);
		else if (r < 85)
			bm_alloc(m);
		else if (r < 90)
			bm_reserve(m);
		else
			bm_bad_free(m);
		bm_check(m);
		if (op % 64 == 0)
			bm_walk(m, op % 512 == 0);
	}
	while (m->nlive)
		bm_free(m, true);
	bm_check(m);
	bm_walk(m, true);
	/* Merged back: the same blocks per order as at creation (some dirty). */
	gm_buddy_free_area(m->b, s1.clean, s1.dirty);
	for (unsigned k = 0; k <= GM_MAX_ORDER; k++)
		MUST_EQ(s1.clean[k] + s1.dirty[k], s0.clean[k]);

	gm_blist_init(&whole);
	MUST_EQ(gm_buddy_alloc(m->b, GM_MODE_SIMPLE, 0, 0, n * chunk, chunk, 0,
			       &whole), 0);
	MUST_EQ(gm_buddy_avail(m->b), 0);
	printf("buddy model: seed %llu base %#llx chunks %llu chunk %#llx ops %u: "
	       "bad frees %lu (%lu next to a live block), walks %lu\n",
	       (unsigned long long)seed, (unsigned long long)base,
	       (unsigned long long)n, (unsigned long long)chunk, ops,
	       m->bad_frees, m->wrong_size, m->walks);
	fflush(stdout);
	gm_blist_release(&whole);
	for (unsigned i = 0; i < BM_LIVE; i++)
		gm_blist_release(&m->live[i]);
	gm_buddy_destroy(m->b);
	free(m);
}

/*
 * 10^6 random operations over four spans (aligned, unaligned base, odd
 * size, 8K chunks), fixed seeds printed. Expect the model's predictions
 * and invariants to hold at every step and a full merge at the end.
 */
START_TEST(buddy_vs_model)
{
	uint64_t seed = seed_of(1);

	bm_run(seed, 0, 256, K4, 250000);
	bm_run(seed + 1, 5 * K4, 300, K4, 250000);
	bm_run(seed + 2, 24 * K4, 333, 2 * K4, 250000);
	bm_run(seed + 3, 64 * M + 12 * K4, 512, K4, 250000);
}
END_TEST

int main(void)
{
	RUN_SUITE("random", test_one_node, test_two_nodes_cma, test_hole_node,
		  buddy_vs_model);
}
