/* SPDX-License-Identifier: MIT */
/*
 * bench-alloc.c - figures of guestmem's allocators (buddy and CMA).
 *
 *   bench-alloc [SCALE]     SCALE multiplies every iteration count (1)
 *
 * One line per workload: ns/op and Mops/s, and where it makes sense a ratio
 * against a baseline measured in the same run (same machine, same load).
 * Not run by the tests; nothing here asserts a time. Times are the thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID), so other jobs on a shared machine
 * inflate them less than wall time would (caches are still shared).
 *
 * Workloads (all buddies: 4 KiB chunks, fixed seed below):
 *  order0      1 GiB pool; one 4K block held so the pool is already split;
 *              then N x { alloc 4K simple, free it (not cleared) }.
 *              One op = one alloc+free pair. Baseline: malloc(64)+free.
 *              Median of 5 rounds, baseline and buddy interleaved.
 *  rand-orders 1 GiB pool; 4096 slots; each op frees the slot's block if
 *              it holds one, else allocates order 0..10 (uniform) simple.
 *  topdown-F   1 GiB pool split to 262144 4K blocks, then F of them freed
 *              (even chunks spread over the pool, no two buddies): F free
 *              fragments. One op =
 *              alloc 4K topdown + free it.
 *  range-F     same pool; one op = alloc 4K in range [s, s+64M), s a
 *              random 4K-aligned start (precomputed), + free it.
 *              Baseline: the same query answered by walking a sorted list
 *              of the free fragments (what a list-based allocator does).
 *              Ratios 100k/1k are printed for both; medians of 5
 *              rounds, the two pools interleaved.
 *  contig-3x4K / contig-1.5M  non power of two contiguous (trimmed) alloc +
 *              free of all its blocks, 1 GiB pool, one block held.
 *  cma         256 MiB area of 4K pages, order_per_bit 0: alloc 16 pages
 *              (align 1 page) + release.
 *  metadata    bytes per GiB managed: resident after rand-orders, and worst
 *              case (every order-0 block used once, every bitmap page hit),
 *              and the 0.01 % target (107374 bytes per GiB).
 *  init-1T     gm_buddy_create() of a 1 TiB span (best and mean of 20).
 *  cross-node  alloc+free pairs/s on node 0 alone and while another thread
 *              allocates, dirties and frees 1 GiB on node 1 (cross-node.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SEED	0x6b766d656dULL		/* "kvmem" */
#define K4	4096ULL
#define M	(1ULL << 20)
#define G	(1ULL << 30)

static uint64_t rng = SEED;
static unsigned scale = 1;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Print one line; returns ns/op. */
static double report(const char *name, double secs, uint64_t ops,
		     const char *extra)
{
	double ns = secs * 1e9 / ops;

	printf("%-22s %10.1f ns/op %9.2f Mops/s  %s\n", name, ns,
	       ops / secs / 1e6, extra ? extra : "");
	return ns;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-alloc: %s: %s\n", what, strerror(-err));
	exit(1);
}

static struct gm_buddy *pool(uint64_t size)
{
	struct gm_buddy *b;
	int ret = gm_buddy_create(0, size, K4, &b);

	if (ret)
		die("gm_buddy_create", ret);
	return b;
}

#define ROUNDS 5

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_double);
	return v[ROUNDS / 2];
}

/*
 * ROUNDS rounds, each timing the malloc baseline then the buddy pairs;
 * medians are reported (load drift hits both alike).
 */
static void bench_order0(void)
{
	struct gm_buddy *b = pool(G);
	uint64_t n = 4000000ULL * scale;
	double base[ROUNDS], bud[ROUNDS], t, bn, ns;
	struct gm_blist l;
	char extra[80];
	void *volatile sink;

	gm_blist_init(&l);
	if (gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l))
		die("hold", -ENOSPC);
	for (int r = 0; r < ROUNDS; r++) {
		t = now();
		for (uint64_t i = 0; i < n; i++) {
			sink = malloc(64);
			free(sink);
		}
		base[r] = (now() - t) * 1e9 / n;

		t = now();
		for (uint64_t i = 0; i < n; i++) {
			l.nr = 0;
			gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l);
			gm_buddy_free(b, l.b[0].gpa, 0, false);
		}
		bud[r] = (now() - t) * 1e9 / n;
	}
	bn = median(base);
	ns = median(bud);
	snprintf(extra, sizeof(extra), "(median of %d; malloc+free %.1f ns: x%.2f)",
		 ROUNDS, bn, ns / bn);
	printf("%-22s %10.1f ns/op %9.2f Mops/s  %s\n", "order0 alloc+free", ns,
	       1e3 / ns, extra);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}

#define SLOTS 4096

static struct gm_buddy *bench_rand_orders(void)
{
	struct gm_buddy *b = pool(G);
	struct { uint64_t gpa; unsigned order; bool used; } slot[SLOTS] = { 0 };
	uint64_t n = 4000000ULL * scale, fails = 0;
	struct gm_blist l;
	char extra[64];
	double t;

	gm_blist_init(&l);
	t = now();
	for (uint64_t i = 0; i < n; i++) {
		unsigned s = rnd() % SLOTS;

		if (slot[s].used) {
			gm_buddy_free(b, slot[s].gpa, slot[s].order, false);
			slot[s].used = false;
		} else {
			unsigned o = rnd() % 11;

			l.nr = 0;
			if (gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4 << o,
					   K4 << o, 0, &l)) {
				fails++;
				continue;
			}
			slot[s].gpa = l.b[0].gpa;
			slot[s].order = o;
			slot[s].used = true;
		}
	}
	t = now() - t;
	snprintf(extra, sizeof(extra), "(%llu ENOSPC)", (unsigned long long)fails);
	report("rand-orders 0-10", t, n, extra);
	gm_blist_release(&l);
	return b;	/* kept for the metadata figure */
}

/* A 1 GiB pool with @frags free 4K fragments, evenly spaced, no buddies. */
static struct gm_buddy *fragmented(uint64_t frags, uint64_t **list)
{
	struct gm_buddy *b = pool(G);
	uint64_t chunks = G / K4;
	struct gm_blist l;
	int ret;

	/* Take every chunk as its own block, then free the fragments. */
	gm_blist_init(&l);
	for (uint64_t c = 0; c < chunks; c++) {
		ret = gm_buddy_reserve(b, c * K4, (c + 1) * K4, &l);
		if (ret)
			die("reserve chunk", ret);
	}
	gm_blist_release(&l);
	*list = malloc(frags * sizeof(**list));
	/* Even chunks spaced chunks/frags apart: distinct, never buddies. */
	for (uint64_t f = 0; f < frags; f++) {
		(*list)[f] = (f * chunks / frags & ~1ULL) * K4;
		gm_buddy_free(b, (*list)[f], 0, false);
	}
	return b;
}

/* One fragmented pool and its per-round figures (ns/op). */
struct frag {
	uint64_t frags, *list;
	struct gm_buddy *b;
	double topdown[ROUNDS], range[ROUNDS], walk[ROUNDS];
	uint64_t hits;
};

static double frag_topdown(struct frag *fr, uint64_t n)
{
	struct gm_blist l;
	double t;

	gm_blist_init(&l);
	t = now();
	for (uint64_t i = 0; i < n; i++) {
		l.nr = 0;
		gm_buddy_alloc(fr->b, GM_MODE_TOPDOWN, 0, 0, K4, K4, 0, &l);
		gm_buddy_free(fr->b, l.b[0].gpa, 0, false);
	}
	t = now() - t;
	gm_blist_release(&l);
	return t * 1e9 / n;
}

static double frag_range(struct frag *fr, const uint64_t *starts, uint64_t n)
{
	struct gm_blist l;
	double t;

	gm_blist_init(&l);
	t = now();
	for (uint64_t i = 0; i < n; i++) {
		l.nr = 0;
		if (gm_buddy_alloc(fr->b, GM_MODE_RANGE, starts[i],
				   starts[i] + 64 * M, K4, K4, 0, &l))
			continue;
		fr->hits++;
		gm_buddy_free(fr->b, l.b[0].gpa, 0, false);
	}
	t = now() - t;
	gm_blist_release(&l);
	return t * 1e9 / n;
}

/* Baseline: the same query answered by walking a sorted list. */
static double frag_walk(struct frag *fr, const uint64_t *starts, uint64_t n)
{
	volatile uint64_t sink;
	double t = now();

	for (uint64_t i = 0; i < n; i++) {
		uint64_t s = starts[i], f = 0;

		while (f < fr->frags && fr->list[f] < s)
			f++;
		sink = f < fr->frags && fr->list[f] < s + 64 * M;
	}
	(void)sink;
	return (now() - t) * 1e9 / n;
}

/*
 * Both pools are built first, then ROUNDS rounds run each workload on each
 * pool in turn; the medians are reported, so load drift on a shared
 * machine hits both sides of the ratio alike.
 */
static void bench_frag(void)
{
	struct frag fr[2] = { { .frags = 1000 }, { .frags = 100000 } };
	uint64_t n = 400000ULL * scale, nw = n / 20;
	uint64_t *starts = malloc(n * sizeof(*starts));
	double td[2], rg[2], wk[2];
	char name[48], extra[64];

	for (uint64_t i = 0; i < n; i++)
		starts[i] = rnd() % ((G - 64 * M) / K4) * K4;
	for (int p = 0; p < 2; p++)
		fr[p].b = fragmented(fr[p].frags, &fr[p].list);
	for (int r = 0; r < ROUNDS; r++)
		for (int p = 0; p < 2; p++) {
			fr[p].topdown[r] = frag_topdown(&fr[p], n);
			fr[p].range[r] = frag_range(&fr[p], starts, n);
			fr[p].walk[r] = frag_walk(&fr[p], starts, nw);
		}
	for (int p = 0; p < 2; p++) {
		unsigned long long k = fr[p].frags / 1000;

		td[p] = median(fr[p].topdown);
		rg[p] = median(fr[p].range);
		wk[p] = median(fr[p].walk);
		snprintf(name, sizeof(name), "topdown %lluk frags", k);
		printf("%-22s %10.1f ns/op %9.2f Mops/s  (median of %d)\n", name,
		       td[p], 1e3 / td[p], ROUNDS);
		snprintf(name, sizeof(name), "range %lluk frags", k);
		snprintf(extra, sizeof(extra), "(median of %d, %llu%% found)",
			 ROUNDS, (unsigned long long)(fr[p].hits * 100 /
						      (n * ROUNDS)));
		printf("%-22s %10.1f ns/op %9.2f Mops/s  %s\n", name, rg[p],
		       1e3 / rg[p], extra);
		snprintf(name, sizeof(name), "  list-walk %lluk", k);
		printf("%-22s %10.1f ns/op %9.2f Mops/s  (baseline: same query, "
		       "sorted list)\n", name, wk[p], 1e3 / wk[p]);
		free(fr[p].list);
		gm_buddy_destroy(fr[p].b);
	}
	printf("%-22s topdown x%.2f, range x%.2f (target <= 2); list walk "
	       "x%.1f\n", "ratio 100k/1k frags", td[1] / td[0], rg[1] / rg[0],
	       wk[1] / wk[0]);
	free(starts);
}

static void bench_contig(const char *name, uint64_t size)
{
	struct gm_buddy *b = pool(G);
	uint64_t n = (size < M ? 4000000ULL : 1000000ULL) * scale;
	struct gm_blist l;
	char extra[64];
	double t;

	gm_blist_init(&l);
	gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l);
	l.nr = 0;
	t = now();
	for (uint64_t i = 0; i < n; i++) {
		int ret = gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, size, K4,
					 GM_F_CONTIGUOUS, &l);

		if (ret)
			die("contig", ret);
		for (unsigned j = 0; j < l.nr; j++)
			gm_buddy_free(b, l.b[j].gpa, l.b[j].order, false);
		l.nr = 0;
	}
	t = now() - t;
	snprintf(extra, sizeof(extra), "(%llu bytes, trimmed)",
		 (unsigned long long)size);
	report(name, t, n, extra);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}

static void bench_cma(void)
{
	uint64_t n = 2000000ULL * scale, gpa;
	struct gm_cma *c;
	double t;
	int ret;

	ret = gm_cma_create(0, 256 * M, K4, 0, &c);
	if (ret)
		die("gm_cma_create", ret);
	if (gm_cma_alloc(c, 16, 0, &gpa))	/* one area held, as in use */
		die("cma hold", -ENOSPC);
	t = now();
	for (uint64_t i = 0; i < n; i++) {
		ret = gm_cma_alloc(c, 16, 0, &gpa);
		if (ret)
			die("gm_cma_alloc", ret);
		gm_cma_release(c, gpa, 16);
	}
	t = now() - t;
	report("cma alloc+release", t, n, "(16 pages, 256M area)");
	gm_cma_destroy(c);
}

static void bench_metadata(struct gm_buddy *used)
{
	const double target = G * 0.0001;
	struct gm_buddy *b = pool(G);
	uint64_t fresh = gm_buddy_metadata_bytes(b), real, worst;
	struct gm_blist l;

	real = gm_buddy_metadata_bytes(used);
	gm_blist_init(&l);
	for (uint64_t i = 0; i < G / K4; i++)
		gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l);
	for (unsigned i = 0; i < l.nr; i++)
		gm_buddy_free(b, l.b[i].gpa, 0, false);
	worst = gm_buddy_metadata_bytes(b);
	printf("%-22s %10llu B/GiB fresh, %llu after rand-orders, %llu worst "
	       "(%.4f %% of memory; target <= %.0f B = 0.01 %%)\n",
	       "metadata", (unsigned long long)fresh, (unsigned long long)real,
	       (unsigned long long)worst, worst * 100.0 / G, target);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}

static void bench_init_1t(void)
{
	double best = 1e9, sum = 0;
	uint64_t meta = 0;

	for (int i = 0; i < 20; i++) {
		struct gm_buddy *b;
		double t = now();
		int ret = gm_buddy_create(0, 1ULL << 40, K4, &b);

		t = now() - t;
		if (ret)
			die("create 1T", ret);
		sum += t;
		if (t < best)
			best = t;
		meta = gm_buddy_metadata_bytes(b);
		gm_buddy_destroy(b);
	}
	printf("%-22s %10.3f ms best, %.3f ms mean of 20, %llu B resident "
	       "(target <= 10 ms)\n", "init 1 TiB node", best * 1e3,
	       sum / 20 * 1e3, (unsigned long long)meta);
}

void bench_cross_node(void);	/* cross-node.c */

int main(int argc, char **argv)
{
	struct gm_buddy *used;
	char cpu[256] = "?";
	FILE *fp;

	if (argc > 1)
		scale = (unsigned)atoi(argv[1]) ? (unsigned)atoi(argv[1]) : 1;
	fp = fopen("/proc/cpuinfo", "r");
	if (fp) {
		char line[256];

		while (fgets(line, sizeof(line), fp))
			if (!strncmp(line, "model name", 10)) {
				char *p = strchr(line, ':');

				snprintf(cpu, sizeof(cpu), "%s", p ? p + 2 : line);
				cpu[strcspn(cpu, "\n")] = 0;
				break;
			}
		fclose(fp);
	}
	printf("bench-alloc: nproc %ld, cpu %s, seed %#llx, scale %u\n",
	       sysconf(_SC_NPROCESSORS_ONLN), cpu, (unsigned long long)SEED,
	       scale);

	bench_order0();
	used = bench_rand_orders();
	bench_frag();
	bench_contig("contig 3x4K", 3 * K4);
	bench_contig("contig 1.5M", 3 * M / 2);
	bench_cma();
	bench_metadata(used);
	gm_buddy_destroy(used);
	bench_init_1t();
	bench_cross_node();
	return 0;
}
