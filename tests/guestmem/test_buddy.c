/* SPDX-License-Identifier: MIT */
/*
 * test_buddy.c - unit tests of guestmem/buddy.c, one case per behaviour
 * (its map, walks and metadata: test_buddy_map.c).
 *
 * Diagrams show a span left (low addresses) to right; [####] is in use,
 * [....] free. "Expect" says what the case asserts. Every failing call is
 * also checked to leave avail and the free-area counts as they were.
 */
#include <errno.h>
#include <stdio.h>

#include "../check-run.h"
#include "buddy-check.h"

/* ---- the seed's doc examples ------------------------------------------- */

/*
 * 1 GiB, 4 KiB chunks, 16 MiB with min block 16 MiB, simple mode:
 *   [..............................................|####]  0x3f000000
 * Expect one order-12 block at 1G - 16M, avail down 16M, back after free.
 */
START_TEST(seed_simple_16m)
{
	struct gm_buddy *b = mk(0, G, K4);
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 16 * M,
					16 * M, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].gpa, G - 16 * M);
	ck_assert_uint_eq(l.b[0].order, 12);
	ck_assert_uint_eq(l.b[0].size, 16 * M);
	ck_assert_uint_eq(gm_buddy_avail(b), G - 16 * M);
	free_all(b, &l, false);
	ck_assert_uint_eq(gm_buddy_avail(b), G);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* The same request top-down. Expect the same block, avail restored. */
START_TEST(seed_topdown_16m)
{
	struct gm_buddy *b = mk(0, G, K4);
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_TOPDOWN, 0, 0, 16 * M,
					16 * M, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].gpa, G - 16 * M);
	ck_assert_uint_eq(l.b[0].order, 12);
	free_all(b, &l, false);
	ck_assert_uint_eq(gm_buddy_avail(b), G);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Holes taken with range allocations, then 8M min 4M in range [0,16M):
 *   [####|....|####|....]  0 4M 8M 12M 16M
 * Expect blocks 0x400000+4M and 0xc00000+4M, avail down 16M in all.
 */
START_TEST(seed_range_fragmented)
{
	struct gm_buddy *b = mk(0, G, K4);
	struct gm_blist h, l;

	gm_blist_init(&h);
	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 4 * M, 4 * M,
					4 * M, 0, &h), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), G - 4 * M);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 8 * M, 12 * M, 4 * M,
					4 * M, 0, &h), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), G - 8 * M);
	ck_assert_uint_eq(h.nr, 2);
	ck_assert_uint_eq(h.b[0].gpa, 0);
	ck_assert_uint_eq(h.b[1].gpa, 8 * M);

	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 16 * M, 8 * M,
					4 * M, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 2);
	ck_assert_uint_eq(l.b[0].gpa, 4 * M);
	ck_assert_uint_eq(l.b[0].size, 4 * M);
	ck_assert_uint_eq(l.b[1].gpa, 12 * M);
	ck_assert_uint_eq(l.b[1].size, 4 * M);
	ck_assert_uint_eq(gm_buddy_avail(b), G - 16 * M);
	free_all(b, &l, false);
	free_all(b, &h, false);
	ck_assert_uint_eq(gm_buddy_avail(b), G);
	gm_blist_release(&h);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 16 MiB with the same holes; 8M contiguous:
 *   [####|....|####|....]
 * Expect -ENOSPC (two 4M holes are not one range), no state change.
 */
START_TEST(seed_contiguous_fails)
{
	struct gm_buddy *b = mk(0, 16 * M, K4);
	struct gm_blist h, l;
	struct snap s;

	gm_blist_init(&h);
	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 4 * M, 4 * M,
					4 * M, 0, &h), 0);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 8 * M, 12 * M, 4 * M,
					4 * M, 0, &h), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 8 * M, K4,
					GM_F_CONTIGUOUS, &l), -ENOSPC);
	ck_assert_uint_eq(l.nr, 0);
	assert_same(b, &s);
	/* ... while the non-contiguous request fills both holes. */
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 8 * M, K4, 0,
					&l), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), 0);
	gm_blist_release(&h);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- placement --------------------------------------------------------- */

/*
 * 1 MiB; chunk 0 taken by a range allocation, leaving free blocks of
 * orders 0..7 at 4K, 8K, 16K, ... 512K:
 *   [#|.|..|....|........|...  ...|................]
 * Simple 4K: smallest order first. Expect 0x1000 (the order-0 block).
 * Top-down 4K: highest free block (order 7 at 512K), upper half kept.
 * Expect 1M - 4K.
 */
START_TEST(simple_vs_topdown_placement)
{
	struct gm_buddy *b = mk(0, M, K4);

	alloc_one(b, GM_MODE_RANGE, 0, K4, K4, K4, 0, 0);
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, K4);
	alloc_one(b, GM_MODE_TOPDOWN, 0, 0, K4, K4, 0, M - K4);
	/* Next top-down: 1M-8K (order 0 left of the last split). */
	alloc_one(b, GM_MODE_TOPDOWN, 0, 0, K4, K4, 0, M - 2 * K4);
	/* Simple 8K: the smallest order-1 block is the highest one, 1M-16K. */
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, 2 * K4, K4, 0, M - 4 * K4);
	assert_area_sums(b);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Simple mode keeps the upper half when splitting, and within an order
 * takes the highest block. Fresh 64 KiB, three 4K allocations:
 * Expect 60K, then 56K, then 52K (the 8K free block split, upper half).
 */
START_TEST(simple_upper_half)
{
	struct gm_buddy *b = mk(0, 64 * 1024, K4);

	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, 15 * K4);
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, 14 * K4);
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, 13 * K4);
	ck_assert_uint_eq(gm_buddy_avail(b), 13 * K4);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Range mode: blocks wholly inside [start, end), lowest address first.
 *   range [12K, 40K) of a fresh 1M, 8K min 8K:
 *   aligned 8K slots inside: 16K, 24K, 32K. Expect 16K.
 *   range [4K, 12K) 8K min 8K: no aligned 8K slot inside. Expect -ENOSPC.
 *   range [4K, 12K) 8K min 4K: Expect 4K then 8K, two order-0 blocks.
 */
START_TEST(range_placement)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	alloc_one(b, GM_MODE_RANGE, 3 * K4, 10 * K4, 2 * K4, 2 * K4, 0, 4 * K4);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, K4, 3 * K4, 2 * K4,
					2 * K4, 0, &l), -ENOSPC);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, K4, 3 * K4, 2 * K4,
					K4, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 2);
	ck_assert_uint_eq(l.b[0].gpa, K4);
	ck_assert_uint_eq(l.b[1].gpa, 2 * K4);
	/* A range reaching outside the span is malformed. */
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 2 * M, K4, K4, 0,
					&l), -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 8 * K4, 8 * K4, K4,
					K4, 0, &l), -EINVAL);
	assert_same(b, &s);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- split and merge --------------------------------------------------- */

/*
 * Split a 1 MiB span into 256 order-0 blocks, free them in a scrambled
 * order. Expect free-area counts as at creation (one order-8 block) and
 * one 1 MiB allocation succeeding.
 */
START_TEST(split_merge_back)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l, all;
	struct snap s0;

	gm_blist_init(&l);
	gm_blist_init(&all);
	snap(b, &s0);
	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4,
						0, &l), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), 0);
	for (unsigned i = 0; i < 256; i++) {
		unsigned j = (i * 97) % 256;	/* 97 is odd: a permutation */

		ck_assert_int_eq(gm_buddy_free(b, l.b[j].gpa, 0, true), 0);
		assert_area_sums(b);
	}
	assert_same(b, &s0);
	l.nr = 0;
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, M, M,
					GM_F_CONTIGUOUS, &all), 0);
	ck_assert_uint_eq(all.nr, 1);
	ck_assert_uint_eq(all.b[0].order, 8);
	gm_blist_release(&l);
	gm_blist_release(&all);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- clear tracking ---------------------------------------------------- */

/*
 * 64 KiB. Everything starts clean. Take 4K (chunk 15): the splits leave
 * clean blocks of orders 0..3. Free it dirty: it merges all the way up.
 *   [........|....|..|.|#]  ->  [dddddddddddddddd]
 * Expect one dirty order-4 block (clean + dirty merge as dirty). Take and
 * free it cleared: Expect one clean order-4 block (clean + clean = clean).
 */
START_TEST(clear_merge_rules)
{
	struct gm_buddy *b = mk(0, 64 * 1024, K4);
	uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1];
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_uint_eq(gm_buddy_free_area(b, c, d), 5);
	ck_assert_uint_eq(c[4], 1);
	ck_assert_uint_eq(d[4], 0);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0,
					&l), 0);
	ck_assert(!l.b[0].dirty);
	gm_buddy_free_area(b, c, d);
	for (int k = 0; k < 4; k++) {
		ck_assert_uint_eq(c[k], 1);	/* split halves stay clean */
		ck_assert_uint_eq(d[k], 0);
	}
	free_all(b, &l, false);
	gm_buddy_free_area(b, c, d);
	ck_assert_uint_eq(d[4], 1);
	ck_assert_uint_eq(c[4], 0);

	/* A split of a dirty block gives dirty halves, handed out dirty. */
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0,
					&l), 0);
	ck_assert(l.b[0].dirty);
	gm_buddy_free_area(b, c, d);
	ck_assert_uint_eq(d[0], 1);
	ck_assert_uint_eq(d[3], 1);
	free_all(b, &l, false);

	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 64 * 1024,
					K4, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 1);
	free_all(b, &l, true);
	gm_buddy_free_area(b, c, d);
	ck_assert_uint_eq(c[4], 1);
	ck_assert_uint_eq(d[4], 0);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 64 KiB split into 16 chunks; chunk 2 freed clean, chunk 9 freed dirty:
 *   [##c######d######]
 * Expect: a CLEAR 4K request gets chunk 2 (clean, dirty=false); a plain 4K
 * request gets chunk 9 (dirty=true), although simple mode would otherwise
 * pick the highest; free-area counts follow.
 */
START_TEST(clear_preference)
{
	struct gm_buddy *b = mk(0, 64 * 1024, K4);
	uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1];
	struct gm_blist all, l;

	gm_blist_init(&all);
	gm_blist_init(&l);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, i * K4,
						(i + 1) * K4, K4, K4, 0, &all), 0);
	ck_assert_int_eq(gm_buddy_free(b, 2 * K4, 0, true), 0);
	ck_assert_int_eq(gm_buddy_free(b, 9 * K4, 0, false), 0);
	gm_buddy_free_area(b, c, d);
	ck_assert_uint_eq(c[0], 1);
	ck_assert_uint_eq(d[0], 1);

	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4,
					GM_F_CLEAR, &l), 0);
	ck_assert_uint_eq(l.b[0].gpa, 2 * K4);
	ck_assert(!l.b[0].dirty);
	free_all(b, &l, true);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.b[0].gpa, 9 * K4);
	ck_assert(l.b[0].dirty);
	/* Only the clean one is left: a plain request falls back to it. */
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_TOPDOWN, 0, 0, K4, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.b[1].gpa, 2 * K4);
	ck_assert(!l.b[1].dirty);
	free_all(b, &l, false);
	ck_assert_int_eq(gm_buddy_free(b, 2 * K4, 0, true), -EINVAL);
	gm_blist_release(&all);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Range mode with both kinds free inside the range:
 *   [##c######d######]  range [0, 64K)
 * Expect a plain request to take dirty chunk 9 (not the lower clean chunk
 * 2), and a CLEAR request to take chunk 2.
 */
START_TEST(clear_preference_range)
{
	struct gm_buddy *b = mk(0, 64 * 1024, K4);
	struct gm_blist all, l;

	gm_blist_init(&all);
	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_reserve(b, 0, 64 * 1024, &all), 0);
	ck_assert_uint_eq(all.nr, 1);
	ck_assert_uint_eq(all.b[0].order, 4);
	/* reserve returned one order-4 block: give back, re-take per chunk */
	free_all(b, &all, true);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(gm_buddy_reserve(b, i * K4, (i + 1) * K4, &all), 0);
	ck_assert_int_eq(gm_buddy_free(b, 2 * K4, 0, true), 0);
	ck_assert_int_eq(gm_buddy_free(b, 9 * K4, 0, false), 0);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 64 * 1024, K4, K4,
					0, &l), 0);
	ck_assert_uint_eq(l.b[0].gpa, 9 * K4);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 64 * 1024, K4, K4,
					GM_F_CLEAR, &l), 0);
	ck_assert_uint_eq(l.b[1].gpa, 2 * K4);
	gm_blist_release(&all);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- contiguous -------------------------------------------------------- */

/*
 * 1 MiB; contiguous 12K rounds up to one 16K block at the top, then the
 * last 4K is trimmed back:
 *   [...............|###.]   Expect 8K at 1M-16K + 4K at 1M-8K, avail -12K.
 * With TRIM_DISABLE: Expect one 16K block, avail -16K.
 * Power of two 16K: Expect one 16K block. All freed: avail back to 1M.
 */
START_TEST(contiguous_trim)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 3 * K4, K4,
					GM_F_CONTIGUOUS, &l), 0);
	ck_assert_uint_eq(l.nr, 2);
	ck_assert_uint_eq(l.b[0].gpa, M - 4 * K4);
	ck_assert_uint_eq(l.b[0].size, 2 * K4);
	ck_assert_uint_eq(l.b[1].gpa, M - 2 * K4);
	ck_assert_uint_eq(l.b[1].size, K4);
	ck_assert_uint_eq(gm_buddy_avail(b), M - 3 * K4);
	assert_area_sums(b);
	free_all(b, &l, false);
	ck_assert_uint_eq(gm_buddy_avail(b), M);

	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 3 * K4, K4,
					GM_F_CONTIGUOUS | GM_F_TRIM_DISABLE,
					&l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].size, 4 * K4);
	ck_assert_uint_eq(gm_buddy_avail(b), M - 4 * K4);
	free_all(b, &l, false);

	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_TOPDOWN, 0, 0, 4 * K4, K4,
					GM_F_CONTIGUOUS, &l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].size, 4 * K4);
	free_all(b, &l, false);
	ck_assert_uint_eq(gm_buddy_avail(b), M);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Contiguous in range mode takes the lowest aligned block inside the range
 * and trims it; contiguous 20K with min block 8K rounds to 24K, then 32K:
 *   range [64K, 128K)   Expect 16K at 64K + 8K at 80K, avail -24K.
 */
START_TEST(contiguous_range_min_block)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 64 * 1024,
					128 * 1024, 5 * K4, 2 * K4,
					GM_F_CONTIGUOUS, &l), 0);
	ck_assert_uint_eq(l.nr, 2);
	ck_assert_uint_eq(l.b[0].gpa, 64 * 1024);
	ck_assert_uint_eq(l.b[0].size, 16 * 1024);
	ck_assert_uint_eq(l.b[1].gpa, 80 * 1024);
	ck_assert_uint_eq(l.b[1].size, 8 * 1024);
	ck_assert_uint_eq(gm_buddy_avail(b), M - 24 * 1024);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * A contiguous request whose range is exactly its size is taken as it is
 * (as Linux does), power of two or not:
 *   [.|#|##|....]  range [4K, 16K), 12K   Expect 4K@4K + 8K@8K.
 * The same again: Expect -ENOSPC, no change. 8K on [20K, 28K) with min
 * block 8K (range not aligned to it) follows the power-of-two rule, and no
 * aligned 8K block lies inside: Expect -ENOSPC. With min block 4K it is
 * taken as it is: Expect 4K@20K + 4K@24K.
 */
START_TEST(contiguous_exact_range)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, K4, 4 * K4, 3 * K4,
					K4, GM_F_CONTIGUOUS, &l), 0);
	ck_assert_uint_eq(l.nr, 2);
	ck_assert_uint_eq(l.b[0].gpa, K4);
	ck_assert_uint_eq(l.b[0].size, K4);
	ck_assert_uint_eq(l.b[1].gpa, 2 * K4);
	ck_assert_uint_eq(l.b[1].size, 2 * K4);
	ck_assert_uint_eq(gm_buddy_avail(b), M - 3 * K4);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, K4, 4 * K4, 3 * K4,
					K4, GM_F_CONTIGUOUS, &l), -ENOSPC);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 5 * K4, 7 * K4,
					2 * K4, 2 * K4, GM_F_CONTIGUOUS, &l),
			 -ENOSPC);
	ck_assert_uint_eq(l.nr, 2);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 5 * K4, 7 * K4,
					2 * K4, K4, GM_F_CONTIGUOUS, &l), 0);
	ck_assert_uint_eq(l.nr, 4);
	ck_assert_uint_eq(l.b[2].gpa, 5 * K4);
	ck_assert_uint_eq(l.b[3].gpa, 6 * K4);
	free_all(b, &l, false);
	ck_assert_uint_eq(gm_buddy_avail(b), M);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Non-contiguous 12K with min block 8K rounds up to 16K and is served as
 * the largest order that fits: Expect one 16K block. 24K with min 8K:
 * Expect 16K + 8K, each aligned to its size and >= 8K.
 */
START_TEST(min_block_align)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 3 * K4,
					2 * K4, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].size, 4 * K4);
	l.nr = 0;
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 6 * K4,
					2 * K4, 0, &l), 0);
	ck_assert_uint_eq(l.nr, 2);
	for (unsigned i = 0; i < l.nr; i++) {
		ck_assert_uint_ge(l.b[i].size, 2 * K4);
		ck_assert_uint_eq(l.b[i].gpa % l.b[i].size, 0);
	}
	ck_assert_uint_eq(l.b[0].size + l.b[1].size, 6 * K4);
	ck_assert_uint_eq(gm_buddy_avail(b), M - 10 * K4);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- filling, OOM, reuse ----------------------------------------------- */

/*
 * 1 MiB as 256 chunks, every odd chunk freed: 128 free chunks, no two
 * buddies free.   [#.#.#.#. ... #.]
 * Expect a 512K request to be served as 128 order-0 blocks (the odd
 * chunks), avail 0; a contiguous 8K request before it: -ENOSPC.
 */
START_TEST(fragmented_fill)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist all, l;
	struct snap s;

	gm_blist_init(&all);
	gm_blist_init(&l);
	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_TOPDOWN, 0, 0, K4, K4,
						0, &all), 0);
	for (uint64_t p = K4; p < M; p += 2 * K4)
		ck_assert_int_eq(gm_buddy_free(b, p, 0, false), 0);
	snap(b, &s);
	ck_assert_uint_eq(s.dirty[0], 128);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 2 * K4, K4,
					GM_F_CONTIGUOUS, &l), -ENOSPC);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, M / 2, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.nr, 128);
	gm_blist_sort(&l);
	for (unsigned i = 0; i < l.nr; i++)
		ck_assert_uint_eq(l.b[i].gpa, (2 * i + 1) * K4);
	ck_assert_uint_eq(gm_buddy_avail(b), 0);
	gm_blist_release(&all);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Out of memory: a request above avail, a request for more than the span,
 * a min block larger than any block, a non-contiguous request whose last
 * part does not fit (undone). Expect -ENOSPC, no state change, @out
 * untouched; then the exact remainder succeeds and 4K more fails.
 */
START_TEST(oom)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l, h;
	struct snap s;

	gm_blist_init(&l);
	gm_blist_init(&h);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, M / 2, K4, 0,
					&h), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, M / 2 + K4,
					K4, 0, &l), -ENOSPC);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 2 * M, K4, 0,
					&l), -ENOSPC);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, 2 * M, 0,
					&l), -ENOSPC);
	/* range [M/4, M): 256K free in it at most (the upper half is taken) */
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, M / 4, M, M / 4 + K4,
					K4, 0, &l), -ENOSPC);
	ck_assert_uint_eq(l.nr, 0);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, M / 2, K4, 0,
					&l), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_TOPDOWN, 0, 0, K4, K4, 0,
					&l), -ENOSPC);
	assert_same(b, &s);
	gm_blist_release(&l);
	gm_blist_release(&h);
	gm_buddy_destroy(b);
}
END_TEST

/* Free then reuse: Expect the same block back, avail restored each time. */
START_TEST(free_then_reuse)
{
	struct gm_buddy *b = mk(0, 16 * M, K4);
	struct gm_blist l;
	uint64_t gpa;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 64 * 1024, K4,
					0, &l), 0);
	gpa = l.b[0].gpa;
	for (int i = 0; i < 100; i++) {
		free_all(b, &l, i & 1);
		ck_assert_uint_eq(gm_buddy_avail(b), 16 * M);
		ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0,
						64 * 1024, K4, 0, &l), 0);
		ck_assert_uint_eq(l.nr, 1);
		ck_assert_uint_eq(l.b[0].gpa, gpa);
	}
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- bad calls --------------------------------------------------------- */

/*
 * 1 MiB with one 8K block held at 1M-8K and its neighbours free:
 *   [...........|##]
 * Expect -EINVAL and no change for: freeing it twice; a foreign address
 * (outside the span); the wrong order (order 2 covers free 1M-16K..-8K);
 * a misaligned address; an order above max_order; an order-0 free inside
 * a free block; then the real free succeeds once.
 */
START_TEST(bad_frees)
{
	struct gm_buddy *b = mk(0, M, K4);
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 2 * K4, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.b[0].gpa, M - 2 * K4);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, 2 * M, 1, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, M, 0, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, M - 4 * K4, 2, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, M - 2 * K4 + 512, 1, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, M - 3 * K4, 1, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 0, 9, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 0, 60, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 0, 0, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 0, 8, false), -EINVAL);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, M - 2 * K4, 1, false), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, M - 2 * K4, 1, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, M - K4, 0, false), -EINVAL);
	assert_same(b, &s);
	ck_assert_uint_eq(gm_buddy_avail(b), M);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * 64 KiB with four blocks in use, the rest free:
 *   [#|#|##|####|................]   4K@0, 4K@4K, 8K@8K, 16K@16K
 * Expect -EINVAL and no change for every free that names memory wholly in
 * use with the wrong size: both 4K blocks as one 8K; each half of the 8K
 * block; halves and quarters of the 16K block; 0-16K and 0-32K as one
 * block; and for 0-64K (partly free). Each right free then succeeds once,
 * a second time -EINVAL.
 */
START_TEST(wrong_size_frees)
{
	struct gm_buddy *b = mk(0, 64 * 1024, K4);
	const uint64_t bad[][2] = {
		{ 0, 1 }, { 2 * K4, 0 }, { 3 * K4, 0 }, { 4 * K4, 1 },
		{ 6 * K4, 1 }, { 4 * K4, 0 }, { 7 * K4, 0 }, { 0, 2 },
		{ 0, 3 }, { 0, 4 }, { 4 * K4, 3 },
	};
	const uint64_t good[][2] = {
		{ 0, 0 }, { K4, 0 }, { 2 * K4, 1 }, { 4 * K4, 2 },
	};
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_reserve(b, 0, K4, &l), 0);
	ck_assert_int_eq(gm_buddy_reserve(b, K4, 2 * K4, &l), 0);
	ck_assert_int_eq(gm_buddy_reserve(b, 2 * K4, 4 * K4, &l), 0);
	ck_assert_int_eq(gm_buddy_reserve(b, 4 * K4, 8 * K4, &l), 0);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(l.b[i].gpa, good[i][0]);
		ck_assert_uint_eq(l.b[i].order, good[i][1]);
	}
	snap(b, &s);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(gm_buddy_free(b, bad[i][0], bad[i][1], false),
				 -EINVAL);
		assert_same(b, &s);
	}
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(gm_buddy_free(b, good[i][0], good[i][1], true), 0);
		snap(b, &s);
		ck_assert_int_eq(gm_buddy_free(b, good[i][0], good[i][1], true),
				 -EINVAL);
		assert_same(b, &s);
	}
	ck_assert_uint_eq(gm_buddy_avail(b), 64 * 1024);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * The roots of [12K, 64K): 4K@12K, 16K@16K, 32K@32K (the top order).
 *   12K [r|rrrr|rrrrrrrr] 64K
 * The 16K root taken whole (reserve), the 32K one by a 32K allocation.
 * Expect -EINVAL, no change, for a half of either, for the free 4K root,
 * for a block straddling two roots (16K at 16K as order 3 is misaligned;
 * 0 as order 4 reaches outside); then both right frees succeed once and
 * the three roots are free and clean-or-dirty as freed.
 */
START_TEST(root_frees)
{
	struct gm_buddy *b = mk(3 * K4, 13 * K4, K4);
	uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1];
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	ck_assert_uint_eq(gm_buddy_max_order(b), 3);
	ck_assert_int_eq(gm_buddy_reserve(b, 4 * K4, 8 * K4, &l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].order, 2);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 8 * K4, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.nr, 2);
	ck_assert_uint_eq(l.b[1].gpa, 8 * K4);
	ck_assert_uint_eq(l.b[1].order, 3);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, 4 * K4, 1, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 6 * K4, 1, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 8 * K4, 2, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 12 * K4, 2, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 3 * K4, 0, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 4 * K4, 3, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 0, 4, false), -EINVAL);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, 4 * K4, 2, false), 0);
	ck_assert_int_eq(gm_buddy_free(b, 8 * K4, 3, true), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_free(b, 8 * K4, 3, true), -EINVAL);
	assert_same(b, &s);
	gm_buddy_free_area(b, c, d);
	ck_assert_uint_eq(c[0], 1);
	ck_assert_uint_eq(d[2], 1);
	ck_assert_uint_eq(c[3], 1);
	ck_assert_uint_eq(gm_buddy_avail(b), 13 * K4);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* Malformed requests: Expect -EINVAL and no change for each. */
START_TEST(bad_allocs)
{
	struct gm_buddy *b = mk(0, M, K4), *x;
	struct gm_blist l;
	struct snap s;

	gm_blist_init(&l);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 0, K4, 0, &l),
			 -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 100, K4, 0,
					&l), -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, 3 * K4, 0,
					&l), -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, 2048, 0,
					&l), -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0x100,
					&l), -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, (enum gm_mode)7, 0, 0, K4, K4, 0,
					&l), -EINVAL);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, K4, K4 + 1, K4, K4,
					0, &l), -EINVAL);
	ck_assert_uint_eq(l.nr, 0);
	assert_same(b, &s);
	ck_assert_int_eq(gm_buddy_create(0, M, 2048, &x), -EINVAL);
	ck_assert_int_eq(gm_buddy_create(0, M, 3 * K4, &x), -EINVAL);
	ck_assert_int_eq(gm_buddy_create(K4 / 2, M, K4, &x), -EINVAL);
	ck_assert_int_eq(gm_buddy_create(0, 0, K4, &x), -EINVAL);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- reserve ----------------------------------------------------------- */

/*
 * Reserve [4K, 28K) of a fresh 1 MiB:
 *   [.|#|##|##|#|....]   Expect pieces 4K@4K, 8K@8K, 8K@16K, 4K@24K.
 * Reserving [24K, 32K) again: Expect -EBUSY, no change (24K is taken).
 * With 36K taken, [28K, 40K): 28K is free and carved first, 32K-40K is
 * busy: Expect -EBUSY and the 28K piece given back (no change).
 * Misaligned or outside: Expect -EINVAL. Freeing the pieces: avail back.
 */
START_TEST(reserve_exact)
{
	struct gm_buddy *b = mk(0, M, K4);
	const uint64_t want[][2] = {
		{ K4, K4 }, { 2 * K4, 2 * K4 }, { 4 * K4, 2 * K4 }, { 6 * K4, K4 },
	};
	struct gm_blist l, h;
	struct snap s;

	gm_blist_init(&l);
	gm_blist_init(&h);
	ck_assert_int_eq(gm_buddy_reserve(b, K4, 7 * K4, &l), 0);
	ck_assert_uint_eq(l.nr, 4);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(l.b[i].gpa, want[i][0]);
		ck_assert_uint_eq(l.b[i].size, want[i][1]);
	}
	ck_assert_uint_eq(gm_buddy_avail(b), M - 6 * K4);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 9 * K4, 10 * K4, K4,
					K4, 0, &h), 0);
	snap(b, &s);
	ck_assert_int_eq(gm_buddy_reserve(b, 7 * K4, 10 * K4, &l), -EBUSY);
	ck_assert_int_eq(gm_buddy_reserve(b, 6 * K4, 8 * K4, &l), -EBUSY);
	ck_assert_int_eq(gm_buddy_reserve(b, 0, 2 * K4, &l), -EBUSY);
	ck_assert_int_eq(gm_buddy_reserve(b, 100, 2 * K4, &l), -EINVAL);
	ck_assert_int_eq(gm_buddy_reserve(b, 0, 2 * M, &l), -EINVAL);
	ck_assert_int_eq(gm_buddy_reserve(b, 8 * K4, 8 * K4, &l), -EINVAL);
	ck_assert_uint_eq(l.nr, 4);
	assert_same(b, &s);
	/* Allocations avoid the reserved range. */
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_RANGE, 0, 8 * K4, 2 * K4, K4,
					0, &l), 0);
	ck_assert_uint_eq(l.b[4].gpa, 0);
	ck_assert_uint_eq(l.b[5].gpa, 7 * K4);
	free_all(b, &l, false);
	free_all(b, &h, false);
	ck_assert_uint_eq(gm_buddy_avail(b), M);
	gm_blist_release(&l);
	gm_blist_release(&h);
	gm_buddy_destroy(b);
}
END_TEST

/* ---- spans ------------------------------------------------------------- */

/*
 * A span of 3G at 5G (not aligned to its size):
 *   5G [ 1G ][    2G    ] 8G
 * Expect max order 19 (2G), free blocks 1G@5G and 2G@6G; simple 4K from
 * the smaller (1G) block: 6G - 4K; the whole span allocatable as those two
 * blocks; a hole inside the 2G block reservable.
 */
START_TEST(unaligned_span)
{
	struct gm_buddy *b = mk(5 * G, 3 * G, K4);
	uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1];
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_uint_eq(gm_buddy_max_order(b), 19);
	ck_assert_uint_eq(gm_buddy_free_area(b, c, d), 20);
	for (unsigned k = 0; k < 20; k++)
		ck_assert_uint_eq(c[k], k >= 18);
	alloc_one(b, GM_MODE_SIMPLE, 0, 0, K4, K4, 0, 6 * G - K4);
	alloc_one(b, GM_MODE_RANGE, 5 * G, 6 * G, K4, K4, 0, 5 * G);
	ck_assert_int_eq(gm_buddy_free(b, 6 * G - K4, 0, true), 0);
	ck_assert_int_eq(gm_buddy_free(b, 5 * G, 0, true), 0);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 3 * G, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.nr, 2);
	gm_blist_sort(&l);
	ck_assert_uint_eq(l.b[0].gpa, 5 * G);
	ck_assert_uint_eq(l.b[1].gpa, 6 * G);
	free_all(b, &l, true);
	ck_assert_int_eq(gm_buddy_free(b, 4 * G, 20, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_free(b, 4 * G, 18, false), -EINVAL);
	ck_assert_int_eq(gm_buddy_reserve(b, 7 * G - 256 * M, 7 * G + 64 * M,
					  &l), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), 3 * G - 320 * M);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
}
END_TEST

/*
 * Non-power-of-two spans: 12K at 0 ([ 8K ][4K]) and 8K at 4K
 * ([4K][4K], two order-0 blocks that are not buddies).
 * Expect max orders 1 and 0, and both spans fully allocatable and
 * restorable.
 */
START_TEST(odd_spans)
{
	struct gm_buddy *b = mk(0, 3 * K4, K4), *c = mk(K4, 2 * K4, K4);
	uint64_t cl[GM_MAX_ORDER + 1], di[GM_MAX_ORDER + 1];
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_uint_eq(gm_buddy_max_order(b), 1);
	ck_assert_uint_eq(gm_buddy_max_order(c), 0);
	gm_buddy_free_area(c, cl, di);
	ck_assert_uint_eq(cl[0], 2);
	ck_assert_int_eq(gm_buddy_alloc(b, GM_MODE_SIMPLE, 0, 0, 3 * K4, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.nr, 2);
	free_all(b, &l, false);
	ck_assert_int_eq(gm_buddy_alloc(c, GM_MODE_SIMPLE, 0, 0, 2 * K4, K4,
					GM_F_CONTIGUOUS, &l), -ENOSPC);
	ck_assert_int_eq(gm_buddy_alloc(c, GM_MODE_SIMPLE, 0, 0, 2 * K4, K4, 0,
					&l), 0);
	ck_assert_uint_eq(l.nr, 2);
	free_all(c, &l, false);
	gm_buddy_free_area(c, cl, di);
	ck_assert_uint_eq(di[0], 2);
	ck_assert_uint_eq(gm_buddy_avail(b), 3 * K4);
	gm_blist_release(&l);
	gm_buddy_destroy(b);
	gm_buddy_destroy(c);
}
END_TEST

/* gm_blist: growth keeps contents; sort is by ascending gpa. */
START_TEST(blist_basics)
{
	struct gm_blist l;

	gm_blist_init(&l);
	for (uint64_t i = 0; i < 1000; i++)
		ck_assert_int_eq(gm_blist_push(&l, (i * 7919) % 1000 * K4, K4, 0,
					       i & 1), 0);
	ck_assert_uint_eq(l.nr, 1000);
	gm_blist_sort(&l);
	for (unsigned i = 0; i < l.nr; i++)
		ck_assert_uint_eq(l.b[i].gpa, i * K4);
	gm_blist_release(&l);
	ck_assert_uint_eq(l.nr, 0);
	ck_assert_ptr_null(l.b);
}
END_TEST

Suite *buddy_suite(void)
{
	Suite *s = suite_create("buddy");
	TCase *t = tcase_create("core");

	tcase_add_test(t, seed_simple_16m);
	tcase_add_test(t, seed_topdown_16m);
	tcase_add_test(t, seed_range_fragmented);
	tcase_add_test(t, seed_contiguous_fails);
	tcase_add_test(t, simple_vs_topdown_placement);
	tcase_add_test(t, simple_upper_half);
	tcase_add_test(t, range_placement);
	tcase_add_test(t, split_merge_back);
	tcase_add_test(t, clear_merge_rules);
	tcase_add_test(t, clear_preference);
	tcase_add_test(t, clear_preference_range);
	tcase_add_test(t, contiguous_trim);
	tcase_add_test(t, contiguous_range_min_block);
	tcase_add_test(t, contiguous_exact_range);
	tcase_add_test(t, min_block_align);
	tcase_add_test(t, fragmented_fill);
	tcase_add_test(t, oom);
	tcase_add_test(t, free_then_reuse);
	tcase_add_test(t, bad_frees);
	tcase_add_test(t, wrong_size_frees);
	tcase_add_test(t, root_frees);
	tcase_add_test(t, bad_allocs);
	tcase_add_test(t, reserve_exact);
	tcase_add_test(t, unaligned_span);
	tcase_add_test(t, odd_spans);
	tcase_add_test(t, blist_basics);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_run(buddy_suite());
}
