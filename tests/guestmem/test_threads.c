// SPDX-License-Identifier: MIT
/*
 * test_threads.c - 4 threads allocate and free concurrently on two nodes
 * (buddy and CMA) while a fifth reads stats and names; afterwards the live
 * blocks must not overlap, avail / cma_used must match them exactly, and
 * after freeing everything the pools are whole again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "helpers.h"

#define NR_THREADS	4
#define OPS		20000
#define MAX_LIVE	32

static struct gm_mem *mem;
static atomic_bool stop;

struct worker {
	unsigned id;
	uint64_t rng;
	unsigned nlive;
	char live[MAX_LIVE][GM_NAME_MAX + 1];
	unsigned long seq, allocs, nospc, errors;
};

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct gm_error e;

	for (int op = 0; op < OPS; op++) {
		if (w->nlive && (w->nlive == MAX_LIVE || rnd(w) % 5 < 2)) {
			unsigned k = rnd(w) % w->nlive;

			if (gm_free(mem, w->live[k], &e))
				w->errors++;
			memcpy(w->live[k], w->live[--w->nlive], GM_NAME_MAX + 1);
			continue;
		}
		struct gm_request r;
		unsigned node = rnd(w) % 2;
		struct gm_range span[2];
		int nr = gm_node_ranges(mem, node, span, 2);

		gm_request_init(&r);
		snprintf(r.name, sizeof(r.name), "t%u-%lu", w->id, w->seq++);
		r.node = node;
		r.size = 4096 * (1 + rnd(w) % 256);
		switch (rnd(w) % 6) {
		case 0: r.mode = GM_MODE_TOPDOWN; break;
		case 1:
			r.mode = GM_MODE_RANGE;
			r.range_start = span[0].start + (rnd(w) % 8) * 2 * MIB;
			r.range_end = span[nr - 1].start + span[nr - 1].size -
				      (rnd(w) % 4) * 2 * MIB;
			break;
		case 2:
			if (node == 0) {
				r.from = GM_FROM_CMA;
				break;
			}
			/* fall through */
		default: break;
		}
		if (r.from == GM_FROM_BUDDY)
			r.flags = (rnd(w) % 4 == 0 ? GM_F_CONTIGUOUS : 0) |
				  (rnd(w) % 4 == 0 ? GM_F_FALLBACK : 0) |
				  (rnd(w) % 3 == 0 ? GM_F_CLEAR : 0);
		int ret = gm_alloc(mem, &r, NULL, &e);

		if (ret == -ENOSPC) {
			w->nospc++;
		} else if (ret) {
			w->errors++;
		} else {
			memcpy(w->live[w->nlive++], r.name, GM_NAME_MAX + 1);
			w->allocs++;
		}
	}
	return NULL;
}

static void *reader(void *arg)
{
	unsigned long *reads = arg;

	while (!atomic_load(&stop)) {
		struct gm_node_stat st;
		struct gm_alloc_entry *v;
		unsigned nr;

		for (unsigned n = 0; n < 2; n++)
			ck_assert_int_eq(gm_node_stat(mem, n, &st), 0);
		ck_assert_int_eq(gm_alloc_list(mem, &v, &nr), 0);
		if (nr) {
			struct gm_alloc_info *i;

			if (!gm_alloc_get_id(mem, v[0].id, &i))
				gm_alloc_info_free(i);
		}
		free(v);
		(*reads)++;
	}
	return NULL;
}

struct ext {
	uint64_t start, end;
};

static int ext_cmp(const void *a, const void *b)
{
	const struct ext *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

START_TEST(test_concurrent)
{
	static struct worker w[NR_THREADS];
	pthread_t t[NR_THREADS], rt;
	unsigned long reads = 0;
	uint64_t avail0[2], live_buddy[2] = { 0 }, live_cma = 0;
	struct ext *ex = NULL;
	size_t nex = 0, cap = 0;
	struct gm_alloc_entry *v;
	unsigned nr;
	struct gm_error e;

	mem = mkmem("0:64M,1:32M", 0, "0:8M", true);
	avail0[0] = nstat(mem, 0).avail;
	avail0[1] = nstat(mem, 1).avail;
	ck_assert_uint_eq(avail0[0], 56 * MIB);
	atomic_store(&stop, false);
	ck_assert_int_eq(pthread_create(&rt, NULL, reader, &reads), 0);
	for (unsigned i = 0; i < NR_THREADS; i++) {
		w[i] = (struct worker){ .id = i, .rng = 0x9e3779b97f4a7c15ULL * (i + 1) };
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, true);
	pthread_join(rt, NULL);
	for (unsigned i = 0; i < NR_THREADS; i++) {
		ck_assert_uint_eq(w[i].errors, 0);
		ck_assert_uint_gt(w[i].allocs, OPS / 4);
	}
	ck_assert_uint_gt(reads, 0);

	/* invariants over what is live now */
	ck_assert_int_eq(gm_alloc_list(mem, &v, &nr), 0);
	for (unsigned k = 0; k < nr; k++) {
		struct gm_alloc_info *i;

		ck_assert_int_eq(gm_alloc_get_id(mem, v[k].id, &i), 0);
		for (unsigned j = 0; j < i->nr_blocks; j++) {
			ck_assert_int_eq(gm_grow(&ex, &cap, nex + 1, sizeof(*ex)), 0);
			ex[nex++] = (struct ext){ i->blocks[j].gpa,
						  i->blocks[j].gpa + i->blocks[j].size };
			if (i->req.from == GM_FROM_CMA)
				live_cma += i->blocks[j].size;
			else
				live_buddy[i->req.node] += i->blocks[j].size;
		}
		gm_alloc_info_free(i);
	}
	qsort(ex, nex, sizeof(*ex), ext_cmp);
	for (size_t k = 1; k < nex; k++)
		ck_assert_msg(ex[k - 1].end <= ex[k].start, "overlap at 0x%llx",
			      (unsigned long long)ex[k].start);
	ck_assert_uint_eq(nstat(mem, 0).avail, avail0[0] - live_buddy[0]);
	ck_assert_uint_eq(nstat(mem, 1).avail, avail0[1] - live_buddy[1]);
	ck_assert_uint_eq(nstat(mem, 0).cma_used, live_cma);
	for (unsigned k = 0; k < nr; k++)
		ck_assert_int_eq(gm_free(mem, v[k].name, &e), 0);
	free(v);
	free(ex);
	ck_assert_uint_eq(nstat(mem, 0).avail, avail0[0]);
	ck_assert_uint_eq(nstat(mem, 1).avail, avail0[1]);
	ck_assert_uint_eq(nstat(mem, 0).cma_used, 0);
	ck_assert_uint_eq(nstat(mem, 0).cma_maxchunk, 8 * MIB);
	{
		struct gm_request r = mkreq("all", 1, avail0[1], 0, GM_MODE_SIMPLE,
					    GM_F_CONTIGUOUS);

		ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), 0);	/* all merged */
	}
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Backed memory, 4 threads: every new allocation reads zero (its previous
 * owner's bytes were discarded or zeroed), holds what its owner wrote until
 * freed, and no owner sees another's pattern.
 */
struct bworker {
	unsigned id;
	uint64_t rng;
	unsigned long seq, bad;
};

static void *backed_work(void *arg)
{
	struct bworker *w = arg;
	struct { char name[GM_NAME_MAX + 1]; uint64_t size; unsigned char tag; } live[8];
	unsigned nlive = 0;
	unsigned char buf[256];
	struct gm_error e;

	for (int op = 0; op < 3000; op++) {
		w->rng ^= w->rng << 13;
		w->rng ^= w->rng >> 7;
		w->rng ^= w->rng << 17;
		if (nlive == 8 || (nlive && w->rng % 3 == 0)) {
			unsigned k = w->rng % nlive;

			/* the owner's pattern is still there at both ends */
			for (int end = 0; end < 2; end++) {
				uint64_t off = end ? live[k].size - sizeof(buf) : 0;

				if (gm_alloc_rw(mem, idof(mem, live[k].name), buf, sizeof(buf), off,
						false) != sizeof(buf))
					w->bad++;
				for (size_t i = 0; i < sizeof(buf); i++)
					w->bad += buf[i] != live[k].tag;
			}
			if (gm_free(mem, live[k].name, &e))
				w->bad++;
			live[k] = live[--nlive];
			continue;
		}
		struct gm_request r;

		gm_request_init(&r);
		snprintf(r.name, sizeof(r.name), "b%u-%lu", w->id, w->seq++);
		r.node = w->rng % 2;
		r.size = 4096 * (1 + (w->rng >> 8) % 64);
		r.flags = (w->rng >> 20) % 3 == 0 ? GM_F_CONTIGUOUS : 0;
		if (gm_alloc(mem, &r, NULL, &e))
			continue;	/* ENOSPC under pressure is fine */
		memcpy(live[nlive].name, r.name, sizeof(r.name));
		live[nlive].size = r.size;
		live[nlive].tag = (unsigned char)(1 + w->id * 50 + w->seq % 50);
		for (int end = 0; end < 2; end++) {
			uint64_t off = end ? r.size - sizeof(buf) : 0;

			if (gm_alloc_rw(mem, idof(mem, r.name), buf, sizeof(buf), off, false) != sizeof(buf))
				w->bad++;
			for (size_t i = 0; i < sizeof(buf); i++)
				w->bad += buf[i] != 0;
			memset(buf, live[nlive].tag, sizeof(buf));
			if (gm_alloc_rw(mem, idof(mem, r.name), buf, sizeof(buf), off, true) != sizeof(buf))
				w->bad++;
		}
		nlive++;
	}
	while (nlive)
		w->bad += gm_free(mem, live[--nlive].name, &e) != 0;
	return NULL;
}

START_TEST(test_concurrent_backed)
{
	static struct bworker w[NR_THREADS];
	pthread_t t[NR_THREADS];
	struct gm_error e;

	mem = mkmem("0:16M,1:16M", 0, NULL, true);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	for (unsigned i = 0; i < NR_THREADS; i++) {
		w[i] = (struct bworker){ .id = i, .rng = 0x2545f4914f6cdd1dULL * (i + 3) };
		ck_assert_int_eq(pthread_create(&t[i], NULL, backed_work, &w[i]), 0);
	}
	for (unsigned i = 0; i < NR_THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].bad == 0, "thread %u: %lu bad bytes/calls", i, w[i].bad);
		ck_assert_uint_gt(w[i].seq, 1000);
	}
	ck_assert_uint_eq(nstat(mem, 0).avail, 16 * MIB);
	ck_assert_uint_eq(nstat(mem, 1).avail, 16 * MIB);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("threads", test_concurrent, test_concurrent_backed);
}
