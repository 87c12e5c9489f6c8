/* SPDX-License-Identifier: MIT */
/*
 * bench-alloc.c - figures of guestmem's buddy (and CMA) allocators, on the
 * workloads of the gpu-buddy anchor (the Linux kernel's drivers/gpu/buddy.c
 * built in userspace, /work/shared/anchors/gpu-buddy/bench.c): same row
 * names, pool sizes, 4 KiB chunk, sequences and seeds, through kvmem's
 * buddy API. tests/bench/compare-gpu-buddy runs both and prints the ratios.
 *
 *   bench-alloc [-r reps] [-s scale] [-c cpu] [name-prefix ...]
 *     -r reps   repetitions per timed row (default 5, the median is printed)
 *     -s scale  multiply iteration counts (default 1; 0.1 for a smoke run)
 *     -c cpu    pin to this CPU (default: the last online one; -1: none)
 *
 * Each row runs in its own child process (fresh heap, no cross-talk) and
 * prints: name, ns/op (median of reps, wall clock as the anchor measures),
 * Mops/s, pool, chunk, detail [min..max]. Info rows print "-" for ns/op.
 * Not run by the tests; nothing here asserts a time.
 *
 * Rows (one function each, in the table at the end):
 *  a1/c1  order-0 alloc+free pairs, empty 1 GiB pool (simple / topdown)
 *  a2/c2  the same on a half-full pool: filled with random orders 0-10
 *         (retrying lower orders), a random half (by bytes) freed
 *  b      random orders 0-10, alloc below 50 % use else free a random block
 *  d1/d2  4 KiB range alloc+free in a random 64 MiB window of a 4 GiB pool
 *         fully split to order 0 with every 1024th / 10th page free
 *  e1/e2  contiguous 3 / 5 MiB (min block 4 KiB, trimmed) alloc+free
 *  f1-f3  metadata bytes per GiB: fresh, fully split to 4 KiB, all freed
 *  g1/g2  create+destroy of a 1 TiB / 1 TiB - 4 KiB node
 *  h1/h2  the kernel's KUnit fragmentation scenario (8 KiB with a 64 KiB
 *         minimum block: kvmem rounds each to one 64 KiB block, the kernel
 *         hands out an 8 KiB block at a 64 KiB offset)
 *  walk   gm_buddy_walk_free() over d2's pool: ns per free block visited
 *  cma    16-page alloc+release in a 256 MiB CMA area (no anchor row)
 *  cross-node  alloc+free pairs/s on node 0 alone and while another thread
 *         allocates, dirties and frees 1 GiB on node 1 (cross-node.c; run
 *         on every CPU, not pinned: it needs two)
 * (walk, cma and cross-node have no anchor row: compare-gpu-buddy leaves
 * them out.)
 */
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "stats.h"

#define K4	4096ULL
#define K8	8192ULL
#define K64	65536ULL
#define M	(1ULL << 20)
#define G	(1ULL << 30)
#define T	(1ULL << 40)
#define MAX_REPS 15

static int reps = 5;
static double scale = 1.0;

/* ---- helpers (the anchor's timing, RNG and output format) -------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The anchor's xorshift64 and its default state. */
static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rnd_below(uint64_t n)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x % n;
}

static long scaled(long n, long floor_n)
{
	long v = (long)(n * scale);

	return v < floor_n ? floor_n : v;
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned i = 0;

	if (bytes & (bytes - 1) && bytes > M) {
		uint64_t p2 = 1ULL << (64 - __builtin_clzll(bytes));
		char a[16], c[16];

		human(p2, a, sizeof(a));
		human(p2 - bytes, c, sizeof(c));
		snprintf(buf, len, "%s-%s", a, c);
		return buf;
	}
	while (bytes >= 1024 && !(bytes & 1023) && i < 4) {
		bytes >>= 10;
		i++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)bytes, u[i]);
	return buf;
}

/* One timed row: the median of @v over reps, with min..max. */
static void print_row(const char *name, double *v, uint64_t pool,
		      const char *detail)
{
	char pb[32];
	double med;

	qsort(v, reps, sizeof(*v), bench_cmp_double);
	med = reps & 1 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
	printf("%-34s %12.1f %10.3f %9s %6s  %s [min..max %.1f..%.1f ns, median of %d]\n",
	       name, med, 1e3 / med, human(pool, pb, sizeof(pb)), "4KiB",
	       detail, v[0], v[reps - 1], reps);
}

static void print_info(const char *name, uint64_t pool, const char *detail)
{
	char pb[32];

	printf("%-34s %12s %10s %9s %6s  %s\n", name, "-", "-",
	       human(pool, pb, sizeof(pb)), "4KiB", detail);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-alloc: %s: %s\n", what, strerror(-err));
	exit(2);
}

static struct gm_buddy *pool(uint64_t size)
{
	struct gm_buddy *b;
	int ret = gm_buddy_create(0, size, K4, &b);

	if (ret)
		die("gm_buddy_create", ret);
	return b;
}

/* Allocate one block of @size (min block @min) into *@blk; 0 or -errno. */
static int alloc_one(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
		     uint64_t end, uint64_t size, uint64_t min, unsigned flags,
		     struct gm_blist *l, struct gm_block *blk)
{
	int ret;

	l->nr = 0;
	ret = gm_buddy_alloc(b, mode, start, end, size, min, flags, l);
	if (!ret)
		*blk = l->b[0];
	return ret;
}

static void free_one(struct gm_buddy *b, const struct gm_block *blk,
		     bool cleared)
{
	int ret = gm_buddy_free(b, blk->gpa, blk->order, cleared);

	if (ret)
		die("gm_buddy_free", ret);
}

/* A growable array of live blocks (the anchor's struct livearr). */
struct live {
	struct gm_block *b;
	long n, cap;
};

static void live_push(struct live *l, const struct gm_block *blk)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->b = realloc(l->b, l->cap * sizeof(*l->b));
		if (!l->b)
			die("realloc", -ENOMEM);
	}
	l->b[l->n++] = *blk;
}

static void live_free_all(struct gm_buddy *b, struct live *l, bool cleared)
{
	for (long i = 0; i < l->n; i++)
		free_one(b, &l->b[i], cleared);
	l->n = 0;
}

static uint64_t free_fragments(const struct gm_buddy *b)
{
	uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1], n = 0;
	unsigned orders = gm_buddy_free_area(b, c, d);

	for (unsigned k = 0; k < orders; k++)
		n += c[k] + d[k];
	return n;
}

/*
 * The anchor's "half-full of random live blocks": fill the pool with
 * blocks of random order 0..10 (a request that no longer fits is retried
 * at lower orders), shuffle, free from the front until >= 50 % is free.
 */
static void make_half_full(struct gm_buddy *b, struct live *live)
{
	struct gm_blist l;
	struct gm_block blk;
	long k = 0;

	gm_blist_init(&l);
	for (;;) {
		int order = rnd_below(11), ret = -ENOSPC;

		for (; order >= 0; order--) {
			uint64_t sz = K4 << order;

			ret = alloc_one(b, GM_MODE_SIMPLE, 0, 0, sz, sz, 0, &l,
					&blk);
			if (!ret)
				break;
			if (ret != -ENOSPC)
				die("fill", ret);
		}
		if (ret)
			break;
		live_push(live, &blk);
	}
	for (long i = live->n - 1; i > 0; i--) {
		long j = rnd_below(i + 1);
		struct gm_block t = live->b[i];

		live->b[i] = live->b[j];
		live->b[j] = t;
	}
	while (gm_buddy_avail(b) < gm_buddy_size(b) / 2 && k < live->n)
		free_one(b, &live->b[k++], false);
	memmove(live->b, live->b + k, (live->n - k) * sizeof(*live->b));
	live->n -= k;
	gm_blist_release(&l);
}

/* ---- a/c: order-0 alloc+free pairs -------------------------------------- */

static void bench_pair(const char *name, struct gm_buddy *b, enum gm_mode mode,
		       const char *state)
{
	const long n = scaled(1000000, 10000);
	struct gm_blist l;
	struct gm_block blk;
	double v[MAX_REPS];
	char detail[256];

	gm_blist_init(&l);
	for (long i = 0; i < 1000; i++) {	/* warm-up */
		if (alloc_one(b, mode, 0, 0, K4, K4, 0, &l, &blk))
			die(name, -ENOSPC);
		free_one(b, &blk, false);
	}
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++) {
			int ret;

			l.nr = 0;
			ret = gm_buddy_alloc(b, mode, 0, 0, K4, K4, 0, &l);
			if (__builtin_expect(ret, 0))
				die(name, ret);
			gm_buddy_free(b, l.b[0].gpa, 0, false);
		}
		v[r] = (double)(now_ns() - t0) / n;
	}
	snprintf(detail, sizeof(detail), "op=alloc(4096)+free pair%s, %ld pairs/rep, %s",
		 mode == GM_MODE_TOPDOWN ? " TOPDOWN" : "", n, state);
	print_row(name, v, gm_buddy_size(b), detail);
	gm_blist_release(&l);
}

static void pair_empty(const char *name, enum gm_mode mode)
{
	struct gm_buddy *b = pool(G);

	bench_pair(name, b, mode, "pool empty (1 free 1GiB block)");
	gm_buddy_destroy(b);
}

static void pair_halffull(const char *name, enum gm_mode mode)
{
	struct live live = { 0 };
	struct gm_buddy *b;
	char state[160];

	rng_state = 0x1234567ULL;
	b = pool(G);
	make_half_full(b, &live);
	snprintf(state, sizeof(state), "pool %.1f%% used by %ld live blocks (orders 0-10), %llu free fragments",
		 100.0 * (G - gm_buddy_avail(b)) / G, live.n,
		 (unsigned long long)free_fragments(b));
	bench_pair(name, b, mode, state);
	live_free_all(b, &live, false);
	gm_buddy_destroy(b);
	free(live.b);
}

static void run_a1(void) { pair_empty("a1_order0_pair_empty", GM_MODE_SIMPLE); }
static void run_c1(void) { pair_empty("c1_order0_pair_topdown_empty", GM_MODE_TOPDOWN); }
static void run_a2(void) { pair_halffull("a2_order0_pair_halffull", GM_MODE_SIMPLE); }
static void run_c2(void) { pair_halffull("c2_order0_pair_topdown_halffull", GM_MODE_TOPDOWN); }

/* ---- b: random orders 0..10, mixed alloc/free around 50 % use ---------- */

struct bstate {
	struct gm_buddy *b;
	struct live live;
	struct gm_blist l;
	uint64_t used;
	long fails;
};

/* One op: alloc a random order-0..10 block below 50 % use, else free one. */
static void b_step(struct bstate *s)
{
	if (s->used < G / 2) {
		uint64_t sz = K4 << rnd_below(11);
		struct gm_block blk;
		int ret = alloc_one(s->b, GM_MODE_SIMPLE, 0, 0, sz, sz, 0,
				    &s->l, &blk);

		if (!ret) {
			live_push(&s->live, &blk);
			s->used += sz;
		} else if (ret == -ENOSPC) {
			s->fails++;
		} else {
			die("b alloc", ret);
		}
	} else {
		long j = rnd_below(s->live.n);
		struct gm_block blk = s->live.b[j];

		s->used -= blk.size;
		s->live.b[j] = s->live.b[--s->live.n];
		free_one(s->b, &blk, false);
	}
}

static void run_b(void)
{
	const long n = scaled(1000000, 10000);
	struct bstate s = { 0 };
	double v[MAX_REPS];
	long fails_total = 0;
	char detail[256];

	rng_state = 0xB0B0B0B0ULL;
	s.b = pool(G);
	gm_blist_init(&s.l);
	for (long i = 0; i < 1000000; i++)	/* steady state, untimed */
		b_step(&s);
	for (int r = 0; r < reps; r++) {
		uint64_t t0;

		s.fails = 0;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			b_step(&s);
		v[r] = (double)(now_ns() - t0) / n;
		fails_total += s.fails;
	}
	snprintf(detail, sizeof(detail),
		 "op=one alloc (order 0-10, min_block=size) or one free; %ld ops/rep; steady state %.1f%% used, %ld live blocks, %llu free fragments, %ld ENOSPC in timed ops",
		 n, 100.0 * s.used / G, s.live.n,
		 (unsigned long long)free_fragments(s.b), fails_total);
	print_row("b_random_order0-10_mixed_50pct", v, G, detail);
	live_free_all(s.b, &s.live, false);
	gm_blist_release(&s.l);
	gm_buddy_destroy(s.b);
	free(s.live.b);
}

/* ---- d: 4 KiB range allocation inside a random 64 MiB window ----------- */

enum { NWIN = 4096 };

static void range_frags(const char *name, long stride, unsigned skip_windows)
{
	const uint64_t size = 4 * G, win = 64 * M, npages = size / K4;
	uint64_t *wstart = malloc(NWIN * sizeof(*wstart)), t0;
	struct gm_buddy *b = pool(size);
	long n, pilot = 2000;
	struct gm_blist l;
	struct gm_block blk;
	double v[MAX_REPS];
	char detail[256];

	if (!wstart)
		die("malloc", -ENOMEM);
	gm_blist_init(&l);
	/* the whole pool at order 0, then every stride-th page back */
	for (uint64_t i = 0; i < npages; i++)
		if (alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l, &blk))
			die("d fill", -ENOSPC);
	for (uint64_t i = 0; i < npages; i += stride)
		if (gm_buddy_free(b, i * K4, 0, false))
			die("d free", -EINVAL);
	/* the anchor draws d1's windows, then d2's, from one seed */
	rng_state = 0xD00DULL;
	for (unsigned i = 0; i < skip_windows; i++)
		rnd_below(size - win + 1);
	for (int i = 0; i < NWIN; i++)
		wstart[i] = rnd_below(size - win + 1) & ~(K4 - 1);

#define D_OP(i) do {							\
		uint64_t s0 = wstart[(i) & (NWIN - 1)];			\
		int ret_ = alloc_one(b, GM_MODE_RANGE, s0, s0 + win, K4, K4, \
				     0, &l, &blk);			\
		if (__builtin_expect(ret_, 0))				\
			die(name, ret_);				\
		gm_buddy_free(b, blk.gpa, 0, false);			\
	} while (0)

	t0 = now_ns();
	for (long i = 0; i < pilot; i++)
		D_OP(i);
	n = (long)(0.4e9 / ((double)(now_ns() - t0) / pilot) * scale);
	if (n < 1000)
		n = 1000;
	for (int r = 0; r < reps; r++) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			D_OP(i);
		v[r] = (double)(now_ns() - t0) / n;
	}
#undef D_OP
	snprintf(detail, sizeof(detail),
		 "op=RANGE alloc(4KiB in random 64MiB window)+free; pool fully allocated at order 0 then every %ld-th page freed -> %llu free fragments; %ld ops/rep",
		 stride, (unsigned long long)free_fragments(b), n);
	print_row(name, v, size, detail);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
	free(wstart);
}

static void run_d1(void) { range_frags("d1_range4K_in64M_1k_frags", 1024, 0); }
static void run_d2(void) { range_frags("d2_range4K_in64M_100k_frags", 10, NWIN); }

/* ---- e: contiguous non-power-of-two allocations ------------------------ */

static void contig(const char *name, uint64_t size)
{
	const long n = scaled(300000, 3000);
	struct gm_buddy *b = pool(G);
	struct gm_blist l;
	double v[MAX_REPS];
	char detail[256];
	unsigned nblocks;

	gm_blist_init(&l);
	if (gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, size, K4, GM_F_CONTIGUOUS, &l))
		die(name, -ENOSPC);
	nblocks = l.nr;
	for (unsigned j = 0; j < l.nr; j++)
		free_one(b, &l.b[j], false);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++) {
			int ret;

			l.nr = 0;
			ret = gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, size, K4,
					     GM_F_CONTIGUOUS, &l);
			if (__builtin_expect(ret, 0))
				die(name, ret);
			for (unsigned j = 0; j < l.nr; j++)
				gm_buddy_free(b, l.b[j].gpa, l.b[j].order, false);
		}
		v[r] = (double)(now_ns() - t0) / n;
	}
	snprintf(detail, sizeof(detail),
		 "op=CONTIGUOUS alloc(%lluMiB, min_block 4KiB)+free pair, pool empty; trimmed -> %u blocks; %ld pairs/rep",
		 (unsigned long long)(size >> 20), nblocks, n);
	print_row(name, v, G, detail);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}

static void run_e1(void) { contig("e1_contig_3MiB_pair", 3 * M); }
static void run_e2(void) { contig("e2_contig_5MiB_pair", 5 * M); }

/* ---- f: metadata bytes per GiB ----------------------------------------- */

static void run_f(void)
{
	struct gm_buddy *b = pool(G);
	struct live live = { 0 };
	struct gm_blist l;
	struct gm_block blk;
	char detail[300];
	uint64_t bytes;

	gm_blist_init(&l);
	bytes = gm_buddy_metadata_bytes(b);
	snprintf(detail, sizeof(detail), "fresh pool: bytes/GiB=%llu (descriptor and resident bitmap pages)",
		 (unsigned long long)bytes);
	print_info("f1_metadata_fresh", G, detail);
	while (!alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l, &blk))
		live_push(&live, &blk);
	bytes = gm_buddy_metadata_bytes(b);
	snprintf(detail, sizeof(detail), "fully split to order 0 (all %ld pages allocated): bytes/GiB=%llu (%.4f %% of the pool, %.2f bits per 4KiB page)",
		 live.n, (unsigned long long)bytes, bytes * 100.0 / G,
		 bytes * 8.0 / (G / K4));
	print_info("f2_metadata_split_order0", G, detail);
	live_free_all(b, &live, false);
	bytes = gm_buddy_metadata_bytes(b);
	snprintf(detail, sizeof(detail), "after freeing everything again (full merge): bytes/GiB=%llu",
		 (unsigned long long)bytes);
	print_info("f3_metadata_after_free", G, detail);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
	free(live.b);
}

/* ---- g: create + destroy of a 1 TiB node -------------------------------- */

static void init_fini(const char *name, uint64_t size)
{
	const long n = scaled(200000, 2000);
	double v[MAX_REPS];
	char detail[200];
	struct gm_buddy *b;

	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++) {
			b = pool(size);
			gm_buddy_destroy(b);
		}
		v[r] = (double)(now_ns() - t0) / n;
	}
	b = pool(size);
	snprintf(detail, sizeof(detail), "op=gm_buddy_create+gm_buddy_destroy; max_order=%u, %llu free blocks; %ld ops/rep",
		 gm_buddy_max_order(b), (unsigned long long)free_fragments(b), n);
	gm_buddy_destroy(b);
	print_row(name, v, size, detail);
}

static void run_g1(void) { init_fini("g1_init_fini_1TiB", T); }
static void run_g2(void) { init_fini("g2_init_fini_1TiB_minus_4KiB", T - K4); }

/* ---- h: the kernel's KUnit fragmentation scenario ---------------------- */

/* Alloc 8K (min 64K) until the 4 GiB pool is full, into @out. */
static void h_fill(struct gm_buddy *b, struct live *out, long num)
{
	struct gm_blist l;
	struct gm_block blk;

	gm_blist_init(&l);
	for (long i = 0; i < num; i++) {
		int ret = alloc_one(b, GM_MODE_SIMPLE, 0, 0, K8, K64, 0, &l, &blk);

		if (ret)
			die("h alloc 8K/64K", ret);
		live_push(out, &blk);
	}
	gm_blist_release(&l);
}

static void kunit_frag_once(double *ms1, double *ms2)
{
	const uint64_t size = 4 * G;
	const long num = size / K64;
	struct live all = { 0 }, test = { 0 };
	struct gm_blist l;
	struct gm_block blk;
	struct gm_buddy *b = pool(size);
	uint64_t t0;
	long count = 0;

	gm_blist_init(&l);
	t0 = now_ns();
	h_fill(b, &all, num);
	/* count % 4 == 0 or 3: cleared; the rest dirty (clear list first) */
	for (long i = 0; i < all.n; i++)
		if (i % 4 == 0 || i % 4 == 3)
			free_one(b, &all.b[i], true);
	for (long i = 0; i < all.n; i++)
		if (!(i % 4 == 0 || i % 4 == 3))
			free_one(b, &all.b[i], false);
	count = all.n;
	all.n = 0;
	for (long i = 0; i < num; i++) {
		if (alloc_one(b, GM_MODE_SIMPLE, 0, 0, K64, K64, 0, &l, &blk))
			die("h1 alloc 64K", -ENOSPC);
		live_push(&test, &blk);
	}
	live_free_all(b, &test, false);
	*ms1 = (now_ns() - t0) / 1e6;
	gm_buddy_destroy(b);

	b = pool(size);
	t0 = now_ns();
	h_fill(b, &all, num);
	/* even counts freed cleared, then the rest in reverse, cleared */
	for (long i = 0; i < all.n; i++)
		if ((count + i) % 2 == 0)
			free_one(b, &all.b[i], true);
	for (long i = all.n - 1; i >= 0; i--)
		if ((count + i) % 2 != 0)
			free_one(b, &all.b[i], true);
	*ms2 = (now_ns() - t0) / 1e6;
	gm_buddy_destroy(b);
	gm_blist_release(&l);
	free(all.b);
	free(test.b);
}

static void run_h(void)
{
	const double ops1 = 4.0 * (4 * G / K64), ops2 = 2.0 * (4 * G / K64);
	double a[MAX_REPS], c[MAX_REPS], na[MAX_REPS], nc[MAX_REPS];
	char detail[300];

	for (int r = 0; r < reps; r++) {
		kunit_frag_once(&a[r], &c[r]);
		na[r] = a[r] * 1e6 / ops1;
		nc[r] = c[r] * 1e6 / ops2;
	}
	qsort(a, reps, sizeof(*a), bench_cmp_double);
	qsort(c, reps, sizeof(*c), bench_cmp_double);
	snprintf(detail, sizeof(detail), "KUnit 'Fragmented allocation took' = %.1f ms (min %.1f, max %.1f); op = each of the 4x65536 alloc/free calls",
		 a[reps / 2], a[0], a[reps - 1]);
	print_row("h1_kunit_fragmented_allocation", na, 4 * G, detail);
	snprintf(detail, sizeof(detail), "KUnit 'Reverse-ordered free took' = %.1f ms (min %.1f, max %.1f); op = each of the 2x65536 alloc/free calls",
		 c[reps / 2], c[0], c[reps - 1]);
	print_row("h2_kunit_reverse_ordered_free", nc, 4 * G, detail);
}

/* ---- walk: gm_buddy_walk_free() over 100k fragments (no anchor row) ---- */

static int count_block(void *opaque, uint64_t gpa, unsigned order, bool clean)
{
	(void)gpa;
	(void)order;
	(void)clean;
	++*(uint64_t *)opaque;
	return 0;
}

/* d2's pool (4 GiB at order 0, every 10th page free); one op = one block. */
static void run_walk(void)
{
	const uint64_t size = 4 * G, npages = size / K4;
	const long n = scaled(50, 5);
	struct gm_buddy *b = pool(size);
	uint64_t visited = 0;
	struct gm_blist l;
	struct gm_block blk;
	double v[MAX_REPS];
	char detail[200];

	gm_blist_init(&l);
	for (uint64_t i = 0; i < npages; i++)
		if (alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l, &blk))
			die("walk fill", -ENOSPC);
	for (uint64_t i = 0; i < npages; i += 10)
		if (gm_buddy_free(b, i * K4, 0, false))
			die("walk free", -EINVAL);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		visited = 0;
		for (long i = 0; i < n; i++)
			gm_buddy_walk_free(b, 0, size, count_block, &visited);
		v[r] = (double)(now_ns() - t0) / visited;
	}
	snprintf(detail, sizeof(detail), "op=one free block visited by gm_buddy_walk_free over the whole span; %llu free fragments, %ld walks/rep",
		 (unsigned long long)(visited / n), n);
	print_row("walk_free_100k_frags", v, size, detail);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}

/* ---- cma: kvmem's contiguous-range allocator (no anchor row) ----------- */

static void run_cma(void)
{
	const long n = scaled(2000000, 20000);
	double v[MAX_REPS];
	struct gm_cma *c;
	uint64_t gpa;
	int ret;

	ret = gm_cma_create(0, 256 * M, K4, 0, &c);
	if (ret)
		die("gm_cma_create", ret);
	if (gm_cma_alloc(c, 16, 0, &gpa))	/* one range held, as in use */
		die("cma hold", -ENOSPC);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++) {
			ret = gm_cma_alloc(c, 16, 0, &gpa);
			if (__builtin_expect(ret, 0))
				die("gm_cma_alloc", ret);
			gm_cma_release(c, gpa, 16);
		}
		v[r] = (double)(now_ns() - t0) / n;
	}
	print_row("cma_alloc16_release", v, 256 * M,
		  "op=gm_cma_alloc(16 pages, align 1 page)+gm_cma_release, one range held");
	gm_cma_destroy(c);
}

/* ---- cross-node: zeroing on one node vs allocations on another -------- */

void bench_cross_node(void);	/* cross-node.c */

/* Two threads, so every online CPU (the parent pinned the process to one). */
static void run_cross_node(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
	bench_cross_node();
}

/* ---- the table ----------------------------------------------------------- */

/*
 * One row (or group of rows) per entry, run in its own child process when
 * one of its names starts with a prefix given on the command line (no
 * prefix: all). @names lists the rows it prints, for the filter.
 */
static const struct workload {
	const char *names;
	void (*run)(void);
} workloads[] = {
	{ "a1_order0_pair_empty", run_a1 },
	{ "c1_order0_pair_topdown_empty", run_c1 },
	{ "a2_order0_pair_halffull", run_a2 },
	{ "c2_order0_pair_topdown_halffull", run_c2 },
	{ "b_random_order0-10_mixed_50pct", run_b },
	{ "d1_range4K_in64M_1k_frags", run_d1 },
	{ "d2_range4K_in64M_100k_frags", run_d2 },
	{ "e1_contig_3MiB_pair", run_e1 },
	{ "e2_contig_5MiB_pair", run_e2 },
	{ "f1_metadata_fresh f2_metadata_split_order0 f3_metadata_after_free", run_f },
	{ "g1_init_fini_1TiB", run_g1 },
	{ "g2_init_fini_1TiB_minus_4KiB", run_g2 },
	{ "h1_kunit_fragmented_allocation h2_kunit_reverse_ordered_free", run_h },
	{ "walk_free_100k_frags", run_walk },
	{ "cma_alloc16_release", run_cma },
	{ "cross-node", run_cross_node },
};

/* Does a name in the space-separated @names start with a prefix given? */
static bool selected(const char *names, char **pfx, int npfx)
{
	if (!npfx)
		return true;
	for (const char *p = names; *p; p += strcspn(p, " "), p += *p == ' ')
		for (int i = 0; i < npfx; i++)
			if (!strncmp(p, pfx[i], strlen(pfx[i])))
				return true;
	return false;
}

static void run_isolated(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fprintf(stderr, "bench-alloc: workload child failed (status %d)\n",
			status);
}

int main(int argc, char **argv)
{
	int cpu = -2, opt;

	while ((opt = getopt(argc, argv, "r:s:c:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > MAX_REPS)
				reps = 5;
			break;
		case 's':
			scale = atof(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-r reps] [-s scale] [-c cpu] [name-prefix ...]\n",
				argv[0]);
			return 2;
		}
	}
	/* as the anchor: keep freed heap in the process (no re-faulting) */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_TOP_PAD, 64 << 20);
	if (cpu == -2)
		cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("sched_setaffinity");
	}
	printf("# kvmem bench-alloc: guestmem buddy on the gpu-buddy anchor's workloads\n");
	printf("# reps=%d (median), scale=%.3g, cpu=%d\n", reps, scale, cpu);
	printf("%-34s %12s %10s %9s %6s  %s\n", "name", "ns/op", "Mops/s",
	       "pool", "chunk", "detail");
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (selected(workloads[i].names, argv + optind, argc - optind))
			run_isolated(workloads[i].run);
	return 0;
}
