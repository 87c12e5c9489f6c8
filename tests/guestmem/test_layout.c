// SPDX-License-Identifier: MIT
/*
 * test_layout.c - node placement, the MMIO hole, config checks, the early
 * allocator (alignment, windows, labels, overlap) and retire handing the
 * rest of each pool to the buddy exactly once (guestmem/mem.c, early.c).
 */
#include <errno.h>

#include "helpers.h"

/*
 *   node0 [0,1G)   hole   node1 [4G,4.5G)
 * Expect node 1 at 4 GiB, one range each, find() by address.
 */
START_TEST(test_two_small_nodes)
{
	struct gm_mem *mem = mkmem("0:1G,1:512M", 0, NULL, false);
	struct gm_range r[4];

	ck_assert_uint_eq(gm_mem_nr_nodes(mem), 2);
	ck_assert_int_eq(gm_node_ranges(mem, 0, r, 4), 1);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].size, GIB);
	ck_assert_ptr_null(r[0].hva);
	ck_assert_int_eq(gm_node_ranges(mem, 1, r, 4), 1);
	ck_assert_uint_eq(r[0].start, 4 * GIB);
	ck_assert_uint_eq(r[0].size, 512 * MIB);
	ck_assert_int_eq(gm_node_ranges(mem, 2, r, 4), -EINVAL);
	ck_assert_int_eq(gm_node_find(mem, 0), 0);
	ck_assert_int_eq(gm_node_find(mem, GIB - 1), 0);
	ck_assert_int_eq(gm_node_find(mem, GIB), -ENOENT);
	ck_assert_int_eq(gm_node_find(mem, 4 * GIB), 1);
	ck_assert_int_eq(gm_node_find(mem, 4 * GIB + 512 * MIB), -ENOENT);
	gm_mem_destroy(mem);
}
END_TEST

/*
 *   node0 [0,3G) hole [4G,5G)   node1 [5G,6G)
 * Expect a 4 GiB node 0 in two ranges, the hole in no node, node 1 right
 * after node 0's end (already 1 GiB aligned); avail excludes the hole.
 */
START_TEST(test_node0_4g)
{
	struct gm_mem *mem = mkmem("0:4G,1:1G", 0, NULL, true);
	struct gm_range r[2];
	struct gm_node_stat st;

	ck_assert_int_eq(gm_node_ranges(mem, 0, r, 2), 2);
	ck_assert_uint_eq(r[0].start, 0);
	ck_assert_uint_eq(r[0].size, 3 * GIB);
	ck_assert_uint_eq(r[1].start, 4 * GIB);
	ck_assert_uint_eq(r[1].size, GIB);
	ck_assert_uint_eq(r[1].map_offset, 3 * GIB);
	ck_assert_int_eq(gm_node_find(mem, GM_MMIO_HOLE_START), -ENOENT);
	ck_assert_int_eq(gm_node_find(mem, GM_MMIO_HOLE_END - 1), -ENOENT);
	ck_assert_int_eq(gm_node_find(mem, GM_MMIO_HOLE_END), 0);
	ck_assert_int_eq(gm_node_ranges(mem, 1, r, 2), 1);
	ck_assert_uint_eq(r[0].start, 5 * GIB);
	st = nstat(mem, 0);
	ck_assert_uint_eq(st.start, 0);
	ck_assert_uint_eq(st.end, 5 * GIB);
	ck_assert_uint_eq(st.size, 4 * GIB);
	ck_assert_uint_eq(st.avail, 4 * GIB);
	ck_assert_uint_eq(st.buddy_size, 4 * GIB);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * node0 5G: [0,3G) + [4G,6G); node1 512M at 6G (ends 6.5G); node2 at 7G.
 * Expect the 1 GiB alignment rule for node 2.
 */
START_TEST(test_node0_5g_three_nodes)
{
	struct gm_mem *mem = mkmem("0:5G,1:512M,2:4K", 0, NULL, true);
	struct gm_range r[2];

	ck_assert_int_eq(gm_node_ranges(mem, 0, r, 2), 2);
	ck_assert_uint_eq(r[1].start, 4 * GIB);
	ck_assert_uint_eq(r[1].size, 2 * GIB);
	ck_assert_int_eq(gm_node_ranges(mem, 1, r, 2), 1);
	ck_assert_uint_eq(r[0].start, 6 * GIB);
	ck_assert_int_eq(gm_node_ranges(mem, 2, r, 2), 1);
	ck_assert_uint_eq(r[0].start, 7 * GIB);
	ck_assert_uint_eq(nstat(mem, 0).avail, 5 * GIB);
	ck_assert_uint_eq(nstat(mem, 2).avail, 4 * KIB);
	gm_mem_destroy(mem);
}
END_TEST

START_TEST(test_bad_config)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem = NULL;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), -EINVAL);	/* no nodes */
	ck_assert_int_eq(gm_parse_numa("0:1G,1:1G", &cfg, &e), 0);
	cfg.chunk_size = 3 * KIB;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), -EINVAL);
	cfg.chunk_size = 2 * GIB;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), -EINVAL);
	cfg.chunk_size = 2 * MIB;
	cfg.node[1].size = 3 * MIB;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "node 1"));
	cfg.node[1].size = UINT64_MAX - 2 * MIB + 1;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), -ERANGE);
	cfg.node[1].size = GIB;
	cfg.node[0].cma_size = GIB;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), -EINVAL);
	ck_assert_ptr_null(mem);
}
END_TEST

/*
 * Early allocations go upward, first fit, aligned, labelled:
 *   [0x1000 zero page][..cmdline @0x2000..] ... [kernel @16M fixed]
 * Expect ascending ranges, no overlap, windows respected.
 */
START_TEST(test_early_alloc)
{
	struct gm_mem *mem = mkmem("0:4G,1:1G", 0, NULL, false);
	struct gm_early_range r[8];
	struct gm_error e;
	uint64_t a, b, c, d;

	ck_assert_int_eq(gm_early_reserve(mem, 16 * MIB, 8 * MIB, GM_EARLY_RAM, "kernel", &e), 0);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 0x1000, 0x1000, GM_WINDOW_LOW, GM_EARLY_RAM,
					"zero page", &a, &e), 0);
	ck_assert_uint_eq(a, 0);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 100, 16, GM_WINDOW_LOW, GM_EARLY_RAM, "cmdline",
					&b, &e), 0);
	ck_assert_uint_eq(b, 0x1000);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 2 * MIB, 2 * MIB, GM_WINDOW_LOW, GM_EARLY_RAM,
					"initrd", &c, &e), 0);
	ck_assert_uint_eq(c, 2 * MIB);
	/* 15 MiB does not fit under the kernel at 16M: goes above it */
	ck_assert_int_eq(gm_early_alloc(mem, 0, 15 * MIB, 4096, GM_WINDOW_LOW, GM_EARLY_RAM,
					"big", &d, &e), 0);
	ck_assert_uint_eq(d, 24 * MIB);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 4096, GM_WINDOW_HIGH, GM_EARLY_RAM,
					"high", &a, &e), 0);
	ck_assert_uint_eq(a, 4 * GIB);
	ck_assert_int_eq(gm_early_ranges(mem, 0, r, 8), 6);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_le(r[i].start + r[i].size, r[i + 1].start);
	ck_assert_str_eq(r[0].label, "zero page");
	ck_assert_str_eq(r[3].label, "kernel");
	ck_assert_str_eq(r[5].label, "high");
	/* node 1 lies wholly above 4 GiB: its low window is empty */
	ck_assert_int_eq(gm_early_alloc(mem, 1, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "x",
					&a, &e), -ENOMEM);
	ck_assert_int_eq(gm_early_alloc(mem, 1, 4096, 4096, GM_WINDOW_HIGH, GM_EARLY_RAM, "x",
					&a, &e), 0);
	ck_assert_uint_eq(a, 5 * GIB);
	/* bad arguments change nothing */
	ck_assert_int_eq(gm_early_alloc(mem, 0, 0, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "x", &a, &e), -EINVAL);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 3, GM_WINDOW_LOW, GM_EARLY_RAM, "x", &a, &e), -EINVAL);
	ck_assert_int_eq(gm_early_alloc(mem, 2, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "x", &a, &e), -EINVAL);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "", &a, &e), -EINVAL);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "a\nb", &a, &e), -EINVAL);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4 * GIB, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "x", &a, &e), -ENOMEM);
	ck_assert_int_eq(gm_early_ranges(mem, 0, r, 8), 6);
	gm_mem_destroy(mem);
}
END_TEST

START_TEST(test_early_reserve_errors)
{
	struct gm_mem *mem = mkmem("0:4G", 0, NULL, false);
	struct gm_error e;

	ck_assert_int_eq(gm_early_reserve(mem, MIB, MIB, GM_EARLY_RAM, "a", &e), 0);
	ck_assert_int_eq(gm_early_reserve(mem, MIB + 4096, 4096, GM_EARLY_RAM, "b", &e), -EEXIST);
	ck_assert_int_eq(gm_early_reserve(mem, MIB - 4096, 8192, GM_EARLY_RAM, "b", &e), -EEXIST);
	ck_assert_int_eq(gm_early_reserve(mem, 2 * MIB, 4096, GM_EARLY_RAM, "b", &e), 0);	/* touching is fine */
	ck_assert_int_eq(gm_early_reserve(mem, GM_MMIO_HOLE_START, 4096, GM_EARLY_RAM, "h", &e), -EINVAL);
	ck_assert_int_eq(gm_early_reserve(mem, GM_MMIO_HOLE_START - 4096, 8192, GM_EARLY_RAM, "h", &e), -EINVAL);
	ck_assert_int_eq(gm_early_reserve(mem, 5 * GIB, 4096, GM_EARLY_RAM, "h", &e), -EINVAL);
	ck_assert_int_eq(gm_early_reserve(mem, 0, 0, GM_EARLY_RAM, "z", &e), -EINVAL);
	ck_assert_int_eq(gm_early_ranges(mem, 0, NULL, 0), 2);
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_int_eq(gm_early_reserve(mem, 8 * MIB, 4096, GM_EARLY_RAM, "late", &e), -EBUSY);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "late",
					&(uint64_t){ 0 }, &e), -EBUSY);
	ck_assert_int_eq(gm_mem_retire(mem, &e), -EBUSY);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Retire: early ranges (rounded out to whole chunks) stay reserved, the
 * CMA area is carved top-down, everything else goes to the buddy once.
 * Expect avail == size - early - cma, the whole avail allocatable in one
 * request with no block touching an early range or the CMA area, and then
 * nothing more.
 */
START_TEST(test_retire_hands_rest_once)
{
	struct gm_mem *mem = mkmem("0:64M", 0, "0:8M", false);
	struct gm_request req;
	struct gm_alloc_info *info;
	struct gm_node_stat st;
	struct gm_error e;
	uint64_t a;
	int ret;

	ck_assert_int_eq(gm_early_reserve(mem, 0x7000, 0x100, GM_EARLY_RAM, "odd", &e), 0);
	ck_assert_int_eq(gm_early_alloc(mem, 0, MIB, MIB, GM_WINDOW_LOW, GM_EARLY_RAM, "m", &a, &e), 0);
	ck_assert_uint_eq(a, MIB);
	req = mkreq("early", 0, 4096, 0, GM_MODE_SIMPLE, 0);
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EBUSY);
	ck_assert(!gm_mem_retired(mem));
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert(gm_mem_retired(mem));
	st = nstat(mem, 0);
	ck_assert_uint_eq(st.early_reserved, 4096 + MIB);	/* 0x100 rounds to a chunk */
	ck_assert_uint_eq(st.cma_size, 8 * MIB);
	ck_assert_uint_eq(st.cma_base, 56 * MIB);			/* top-down */
	ck_assert_uint_eq(st.avail, 64 * MIB - 4096 - MIB - 8 * MIB);
	ck_assert_uint_eq(st.buddy_size, st.avail);

	req = mkreq("all", 0, st.avail, 0, GM_MODE_SIMPLE, 0);
	info = alloc_info(mem, &req, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(info->size, st.avail);
	for (unsigned i = 0; i < info->nr_blocks; i++) {
		const struct gm_block *b = &info->blocks[i];

		ck_assert(b->gpa + b->size <= 0x7000 || b->gpa >= 0x8000);
		ck_assert(b->gpa + b->size <= MIB || b->gpa >= 2 * MIB);
		ck_assert_uint_le(b->gpa + b->size, 56 * MIB);
	}
	gm_alloc_info_free(info);
	ck_assert_uint_eq(nstat(mem, 0).avail, 0);
	req = mkreq("more", 0, 4096, 0, GM_MODE_SIMPLE, 0);
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -ENOSPC);
	ck_assert_int_eq(gm_free(mem, "all", &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, st.avail);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * A CMA area that cannot fit beside the early ranges fails retire with
 * ENOMEM and changes nothing; shrinking it (allowed before retire) helps.
 */
START_TEST(test_retire_failure_changes_nothing)
{
	struct gm_mem *mem = mkmem("0:16M", 0, "0:12M", false);
	struct gm_error e;

	ck_assert_int_eq(gm_early_reserve(mem, 4 * MIB, 8 * MIB, GM_EARLY_RAM, "k", &e), 0);
	ck_assert_int_eq(gm_mem_retire(mem, &e), -ENOMEM);
	ck_assert_int_eq(e.err, ENOMEM);
	ck_assert(!gm_mem_retired(mem));
	ck_assert_uint_eq(nstat(mem, 0).avail, 0);
	ck_assert_uint_eq(nstat(mem, 0).cma_size, 0);
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 4 * MIB, &e), 0);
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).cma_size, 4 * MIB);
	ck_assert_uint_eq(nstat(mem, 0).cma_base, 12 * MIB);
	ck_assert_uint_eq(nstat(mem, 0).avail, 4 * MIB);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * node 0: [k 1M-2M]  mark  [a][b]  node 1: [c]      rollback(mark)
 * Expect only k left, on both nodes, and the space of a, b, c free again;
 * after retire the rollback is refused with EBUSY.
 */
START_TEST(test_early_rollback)
{
	struct gm_mem *mem = mkmem("0:64M,1:64M", 0, NULL, false);
	struct gm_early_range r[8];
	struct gm_error e;
	uint64_t mark, a, a2;

	ck_assert_int_eq(gm_early_reserve(mem, MIB, MIB, GM_EARLY_RAM, "k", &e), 0);
	mark = gm_early_mark(mem);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "a", &a, &e), 0);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 8192, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "b", &a2, &e), 0);
	ck_assert_int_eq(gm_early_alloc(mem, 1, 4096, 4096, GM_WINDOW_HIGH, GM_EARLY_RAM, "c", &a2, &e), 0);
	ck_assert_int_eq(gm_early_ranges(mem, 0, r, 8), 3);
	ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
	ck_assert_int_eq(gm_early_ranges(mem, 0, r, 8), 1);
	ck_assert_str_eq(r[0].label, "k");
	ck_assert_int_eq(gm_early_ranges(mem, 1, r, 8), 0);
	/* the space is free again: the same first fit lands at the same place */
	ck_assert_int_eq(gm_early_alloc(mem, 0, 4096, 4096, GM_WINDOW_LOW, GM_EARLY_RAM, "a", &a2, &e), 0);
	ck_assert_uint_eq(a2, a);
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_int_eq(gm_early_rollback(mem, mark), -EBUSY);
	ck_assert_int_eq(gm_early_ranges(mem, 0, r, 8), 2);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("layout", test_two_small_nodes, test_node0_4g,
		  test_node0_5g_three_nodes, test_bad_config, test_early_alloc,
		  test_early_reserve_errors, test_retire_hands_rest_once,
		  test_retire_failure_changes_nothing, test_early_rollback);
}
