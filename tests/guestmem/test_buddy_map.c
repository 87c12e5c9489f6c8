/* SPDX-License-Identifier: MIT */
/*
 * test_buddy_map.c - unit tests of guestmem/buddy-map.c: creation that
 * touches no memory, walks over free blocks, lazily cleaned summaries, the
 * map handed back, the metadata budget. One case per behaviour.
 *
 * Diagrams show a span left (low addresses) to right; [####] is in use,
 * [....] free (c clean, d dirty where it matters). "Expect" says what the
 * case asserts.
 */
#include <errno.h>
#include <stdio.h>

#include "../check-run.h"
#include "buddy-check.h"
#include "buddy-map.h"	/* RELEASE_AFTER */

/*
 * A 1 TiB span with 4K chunks (2^28 chunks). Expect max order 28 and
 * nothing but the descriptor (< 8 KiB) after creation: no map page is
 * touched; a 4K allocation at 1T - 4K and one at 0 then make only a few
 * pages resident.
 */
START_TEST(span_1t)
{
	struct gm_buddy *b = mk(0, 1ULL << 40, K4);

	ck_assert_uint_eq(gm_buddy_max_order(b), 28);
	ck_assert_uint_lt(gm_buddy_metadata_bytes(b), 8192);
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, (1ULL << 40) - K4);
	alloc_one(b, GM_MODE_RANGE, 0, 1ULL << 40, K4, K4, 0, 0);
	ck_assert_uint_eq(gm_buddy_avail(b), (1ULL << 40) - 2 * K4);
	ck_assert_uint_lt(gm_buddy_metadata_bytes(b), 256 * 1024);
	ck_assert_int_eq(gm_buddy_free(b, 0, 0, false), 0);
	ck_assert_int_eq(gm_buddy_free(b, (1ULL << 40) - K4, 0, false), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), 1ULL << 40);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 1 TiB - 4 KiB: the span is covered by 28 roots, one per order 27 .. 0
 * (512G at 0, 256G at 512G, ... 4K at 1T - 8K). Expect them in the free
 * areas and the walk, all clean, with the descriptor (< 8 KiB) as the only
 * metadata (neither creation nor the walk touches a map page), and
 * the same for a 3 GiB span at 5 GiB and a 12 KiB one.
 */
struct walked {
	unsigned n, max;
	uint64_t gpa[64];
	unsigned order[64];
	bool clean[64];
	int stop_at;		/* return 7 at this call (1-based), 0: never */
};

static int record(void *opaque, uint64_t gpa, unsigned order, bool clean)
{
	struct walked *w = opaque;

	if (w->n < 64) {
		w->gpa[w->n] = gpa;
		w->order[w->n] = order;
		w->clean[w->n] = clean;
	}
	w->n++;
	return (int)w->n == w->stop_at ? 7 : 0;
}

START_TEST(create_touches_nothing)
{
	const uint64_t spans[][2] = {
		{ 0, (1ULL << 40) - K4 }, { 5 * G, 3 * G }, { 0, 3 * K4 },
	};

	for (unsigned t = 0; t < 3; t++) {
		struct gm_buddy *b = mk(spans[t][0], spans[t][1], K4);
		uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1], sum = 0;
		struct walked w = { 0 };

		ck_assert_uint_lt(gm_buddy_metadata_bytes(b), 8192);
		ck_assert_int_eq(gm_buddy_walk_free(b, 0, UINT64_MAX, record, &w), 0);
		gm_buddy_free_area(b, c, d);
		for (unsigned i = 0; i < w.n; i++) {
			ck_assert(w.clean[i]);
			ck_assert_uint_eq(w.gpa[i], spans[t][0] + sum);
			sum += K4 << w.order[i];
		}
		ck_assert_uint_eq(sum, spans[t][1]);
		for (unsigned k = 0; k <= gm_buddy_max_order(b); k++) {
			unsigned n = 0;

			for (unsigned i = 0; i < w.n; i++)
				n += w.order[i] == k;
			ck_assert_uint_eq(c[k], n);
			ck_assert_uint_eq(d[k], 0);
		}
		if (t == 0) {
			ck_assert_uint_eq(w.n, 28);
			ck_assert_uint_eq(w.order[0], 27);
			ck_assert_uint_eq(w.gpa[27], (1ULL << 40) - 2 * K4);
		}
		ck_assert_uint_lt(gm_buddy_metadata_bytes(b), 8192);
		gm_buddy_destroy(b);
	}
}
END_TEST

/*
 * 64 KiB; [0,4K) and [20K,24K) taken, then 20K freed dirty: it merges with
 * the clean 4K at 16K and the clean 8K at 24K into a dirty 16K block.
 *   [#|c|cc|dddd|cccccccc]   0 4K 8K 16K 32K 64K
 * Expect the walk of [0, 64K) to give 4K@4K clean, 8K@8K clean, 16K@16K
 * dirty, 32K@32K clean, ascending; of [10K, 40K) (unaligned) the three
 * blocks meeting it; of [0, 4K) and of an empty or outside range nothing;
 * a callback returning 7 at its second call stops the walk, which returns
 * 7. The walk changes nothing.
 */
START_TEST(walk_free)
{
	struct gm_buddy *b = mk(0, 64 * 1024, K4);
	const uint64_t gpa[] = { K4, 2 * K4, 4 * K4, 8 * K4 };
	const unsigned order[] = { 0, 1, 2, 3 };
	const bool clean[] = { true, true, false, true };
	struct walked w = { 0 };
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_reserve(b, 0, K4, &l), 0);
	ck_assert_int_eq(gm_buddy_reserve(b, 5 * K4, 6 * K4, &l), 0);
	ck_assert_int_eq(gm_buddy_free(b, 5 * K4, 0, false), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, 64 * 1024, record, &w), 0);
	ck_assert_uint_eq(w.n, 4);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(w.gpa[i], gpa[i]);
		ck_assert_uint_eq(w.order[i], order[i]);
		ck_assert_int_eq(w.clean[i], clean[i]);
	}
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(gm_buddy_walk_free(b, 10 * 1024, 40 * 1024, record, &w), 0);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_uint_eq(w.gpa[0], 2 * K4);
	ck_assert_uint_eq(w.gpa[2], 8 * K4);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, K4, record, &w), 0);
	ck_assert_int_eq(gm_buddy_walk_free(b, 8 * K4, 8 * K4, record, &w), 0);
	ck_assert_int_eq(gm_buddy_walk_free(b, M, 2 * M, record, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	w.stop_at = 2;
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, 64 * 1024, record, &w), 7);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_int_eq(gm_buddy_walk_free(NULL, 0, 1, record, &w), -EINVAL);
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, 1, NULL, NULL), -EINVAL);
	assert_same(b, &s);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* Counts a walk: blocks, bytes, ascending and disjoint. */
struct tally {
	uint64_t n, bytes, next;
};

static int tally(void *opaque, uint64_t gpa, unsigned order, bool clean)
{
	struct tally *t = opaque;

	(void)clean;
	MUST(gpa >= t->next);
	t->next = gpa + (K4 << order);
	t->n++;
	t->bytes += K4 << order;
	return 0;
}

/*
 * 1 GiB split into 262144 4K blocks, every even one then freed: 131072
 * free fragments, no two buddies. Expect the walk of the span to visit
 * exactly them (ascending, 512 MiB), a walk of [1M, 2M) 128 of them, and
 * one more free (merging a pair) to change the count by one and the bytes
 * by 4K.
 */
START_TEST(walk_fragments)
{
	struct gm_buddy *b = mk(0, G, K4);
	struct tally t = { 0 };
	struct gm_blist l;

	gm_blist_init(&l);
	for (uint64_t i = 0; i < G / K4; i++)
		MUST_EQ(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l), 0);
	for (uint64_t p = 0; p < G; p += 2 * K4)
		MUST_EQ(gm_buddy_free(b, p, 0, false), 0);
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, G, tally, &t), 0);
	ck_assert_uint_eq(t.n, G / K4 / 2);
	ck_assert_uint_eq(t.bytes, G / 2);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(gm_buddy_walk_free(b, M, 2 * M, tally, &t), 0);
	ck_assert_uint_eq(t.n, 128);
	ck_assert_int_eq(gm_buddy_free(b, 5 * K4, 0, false), 0);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, G, tally, &t), 0);
	ck_assert_uint_eq(t.n, G / K4 / 2);
	ck_assert_uint_eq(t.bytes, G / 2 + K4);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 4 MiB split into 1024 4K blocks; chunks 200 and 1000 freed (no buddy
 * of theirs is free); chunk 200 taken again by a range request, which
 * leaves its group's summary bit set over a zero word (cleaned lazily),
 * between the start of the span and chunk 1000.
 *   [#### ... #.# ... ###.###]  ->  [#### ... ### ... ###.###]
 * Expect a walk of the span to give chunk 1000 alone, a range request over
 * the span to find it, then -ENOSPC; chunk 200 freed again: a top-down 4K
 * request to find it, and a walk to give nothing.
 */
START_TEST(stale_summaries)
{
	struct gm_buddy *b = mk(0, 4 * M, K4);
	struct walked w = { 0 };
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	for (unsigned i = 0; i < 1024; i++)
		MUST_EQ(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l), 0);
	ck_assert_int_eq(gm_buddy_free(b, 200 * K4, 0, false), 0);
	ck_assert_int_eq(gm_buddy_free(b, 1000 * K4, 0, false), 0);
	alloc_one(b, GM_MODE_RANGE, 192 * K4, 208 * K4, K4, K4, 0, 200 * K4);
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, 4 * M, record, &w), 0);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_uint_eq(w.gpa[0], 1000 * K4);
	alloc_one(b, GM_MODE_RANGE, 0, 4 * M, K4, K4, 0, 1000 * K4);
	snap(b, &s);
	l.nr = 0;
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 4 * M, K4, K4, 0,
					&l), -ENOSPC);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, 200 * K4, 0, false), 0);
	alloc_one(b, GM_MODE_TOPDOWN, 0, 0, K4, K4, 0, 200 * K4);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(gm_buddy_walk_free(b, 0, 4 * M, record, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 64 MiB; one 4K block taken and given back RELEASE_AFTER (65536) times:
 * the span empties each time. Expect map pages resident after the first
 * round and none after the last (only the descriptor, as fresh: the map
 * was handed back), the next 4K at 64M - 4K as at first, and the free
 * areas of a fresh span once it is freed.
 */
START_TEST(map_release)
{
	struct gm_buddy *b = mk(0, 64 * M, K4);
	uint64_t fresh = gm_buddy_metadata_bytes(b);
	struct gm_blist l;
	struct snap s0;

	gm_blist_init(&l);
	snap(b, &s0);
	for (unsigned i = 0; i < RELEASE_AFTER; i++) {
		l.nr = 0;
		MUST_EQ(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l), 0);
		MUST_EQ(l.b[0].gpa, 64 * M - K4);
		MUST_EQ(gm_buddy_free(b, l.b[0].gpa, 0, true), 0);
		if (i == 0)
			ck_assert_uint_gt(gm_buddy_metadata_bytes(b), fresh);
	}
	ck_assert_uint_eq(gm_buddy_metadata_bytes(b), fresh);
	assert_same(b, &s0);
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, 64 * M - K4);
	alloc_one(b, GM_MODE_RANGE, 0, 64 * M, 2 * K4, 2 * K4, 0, 0);
	ck_assert_int_eq(gm_buddy_free(b, 64 * M - K4, 0, true), 0);
	ck_assert_int_eq(gm_buddy_free(b, 0, 1, true), 0);
	assert_same(b, &s0);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 256 MiB split to 4K blocks (65536 of them): every pair of every order is
 * in use, the map wholly resident. Expect metadata <= 0.02 % of the span,
 * and after freeing everything again (RELEASE_AFTER allocations since
 * creation) <= 8 KiB: the map was handed back.
 */
START_TEST(metadata_budget)
{
	const uint64_t span = 256 * M;	/* RELEASE_AFTER 4K blocks */
	struct gm_buddy *b = mk(0, span, K4);
	struct gm_blist l;

	gm_blist_init(&l);
	for (uint64_t i = 0; i < span / K4; i++)
		MUST_EQ(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, &l), 0);
	ck_assert_uint_le(gm_buddy_metadata_bytes(b), span / 5000);
	for (unsigned i = 0; i < l.nr; i++)
		MUST_EQ(gm_buddy_free(b, l.b[i].gpa, 0, false), 0);
	ck_assert_uint_le(gm_buddy_metadata_bytes(b), 8192);
	ck_assert_uint_eq(gm_buddy_avail(b), span);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

Suite *buddy_map_suite(void)
{
	Suite *s = suite_create("buddy-map");
	TCase *t = tcase_create("map");

	tcase_set_timeout(t, 120);	/* three cases split 64 MiB - 1 GiB */
	tcase_add_test(t, span_1t);
	tcase_add_test(t, create_touches_nothing);
	tcase_add_test(t, walk_free);
	tcase_add_test(t, walk_fragments);
	tcase_add_test(t, stale_summaries);
	tcase_add_test(t, map_release);
	tcase_add_test(t, metadata_budget);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_run(buddy_map_suite());
}
