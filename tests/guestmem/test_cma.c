// SPDX-License-Identifier: MIT
/*
 * test_cma.c - the contiguous-range allocator (guestmem/cma.c) and a node's
 * CMA area (guestmem/area.c): first fit, alignment, order_per_bit, used and
 * maxchunk, release errors, resize EBUSY / ok / restore.
 */
#include <errno.h>

#include "helpers.h"
#include "internal.h"

#define PG	4096ULL

static struct gm_cma *mkcma(uint64_t base, uint64_t pages, unsigned opb)
{
	struct gm_cma *c;

	ck_assert_int_eq(gm_cma_create(base, pages * PG, PG, opb, &c), 0);
	return c;
}

/*
 *   [AAA|BBBBB|..........]  free A, then 2 pages fit at 0, the next 2 only
 *   after B. Expect lowest-address first fit.
 */
START_TEST(test_first_fit)
{
	struct gm_cma *c = mkcma(MIB, 64, 0);
	uint64_t a, b, x, y;

	ck_assert_int_eq(gm_cma_alloc(c, 3, 0, &a), 0);
	ck_assert_uint_eq(a, MIB);
	ck_assert_int_eq(gm_cma_alloc(c, 5, 0, &b), 0);
	ck_assert_uint_eq(b, MIB + 3 * PG);
	ck_assert_uint_eq(gm_cma_used(c), 8 * PG);
	ck_assert_uint_eq(gm_cma_maxchunk(c), 56 * PG);
	ck_assert_int_eq(gm_cma_release(c, a, 3), 0);
	ck_assert_int_eq(gm_cma_alloc(c, 2, 0, &x), 0);
	ck_assert_uint_eq(x, MIB);
	ck_assert_int_eq(gm_cma_alloc(c, 2, 0, &y), 0);
	ck_assert_uint_eq(y, MIB + 8 * PG);
	ck_assert_int_eq(gm_cma_alloc(c, 55, 0, &y), -ENOSPC);
	ck_assert_int_eq(gm_cma_alloc(c, 54, 0, &y), 0);
	ck_assert_uint_eq(gm_cma_maxchunk(c), PG);	/* the page at 2 */
	ck_assert_int_eq(gm_cma_alloc(c, 0, 0, &y), -EINVAL);
	ck_assert_int_eq(gm_cma_alloc(c, 65, 0, &y), -ENOSPC);
	gm_cma_destroy(c);
}
END_TEST

/* Alignment is in guest-physical space, even when the base is not aligned. */
START_TEST(test_alignment)
{
	struct gm_cma *c = mkcma(MIB + PG, 256, 0);
	uint64_t a, b;

	ck_assert_int_eq(gm_cma_alloc(c, 1, 0, &a), 0);
	ck_assert_uint_eq(a, MIB + PG);
	ck_assert_int_eq(gm_cma_alloc(c, 3, 4, &b), 0);		/* 64 KiB */
	ck_assert_uint_eq(b, MIB + 64 * KIB);
	ck_assert_int_eq(gm_cma_alloc(c, 1, 8, &b), 0);		/* 1 MiB */
	ck_assert_uint_eq(b % MIB, 0);
	ck_assert_uint_eq(b, 2 * MIB);
	ck_assert_int_eq(gm_cma_alloc(c, 1, 9, &b), -ENOSPC);	/* 2 MiB: none inside */
	gm_cma_destroy(c);
}
END_TEST

/* order_per_bit 2: one bit = 4 pages; a 1-page request uses a whole bit. */
START_TEST(test_order_per_bit)
{
	struct gm_cma *c;
	uint64_t a, b;
	char *t;

	ck_assert_int_eq(gm_cma_create(MIB, 66 * PG, PG, 2, &c), -EINVAL);
	ck_assert_int_eq(gm_cma_create(MIB + PG, 64 * PG, PG, 2, &c), -EINVAL);
	c = mkcma(MIB, 512, 2);		/* 128 bits */
	ck_assert_uint_eq(gm_cma_order_per_bit(c), 2);
	ck_assert_int_eq(gm_cma_alloc(c, 1, 0, &a), 0);
	ck_assert_int_eq(gm_cma_alloc(c, 5, 0, &b), 0);
	ck_assert_uint_eq(b, a + 4 * PG);
	ck_assert_uint_eq(gm_cma_used(c), 12 * PG);
	t = gm_cma_bitmap_text(c);
	ck_assert_uint_eq(strlen(t), 128 + 2);
	ck_assert(!strncmp(t, "1110000", 7));
	ck_assert_int_eq(t[64], '\n');
	ck_assert_int_eq(t[129], '\n');
	free(t);
	/* a release must name the start of a bit */
	ck_assert_int_eq(gm_cma_release(c, b + PG, 4), -EINVAL);
	ck_assert_int_eq(gm_cma_release(c, b, 5), 0);
	ck_assert_uint_eq(gm_cma_used(c), 4 * PG);
	gm_cma_destroy(c);
}
END_TEST

/* Bad releases fail with EINVAL and leave the bitmap as it was. */
START_TEST(test_release_errors)
{
	struct gm_cma *c = mkcma(MIB, 64, 0);
	uint64_t a, b;
	char *before, *after;

	ck_assert_int_eq(gm_cma_alloc(c, 4, 0, &a), 0);
	ck_assert_int_eq(gm_cma_alloc(c, 4, 0, &b), 0);
	ck_assert_int_eq(gm_cma_release(c, a, 4), 0);
	before = gm_cma_bitmap_text(c);
	ck_assert_int_eq(gm_cma_release(c, a, 4), -EINVAL);		/* twice */
	ck_assert_int_eq(gm_cma_release(c, b, 5), -EINVAL);		/* too long */
	ck_assert_int_eq(gm_cma_release(c, b - PG, 2), -EINVAL);	/* half free */
	ck_assert_int_eq(gm_cma_release(c, b + 1, 1), -EINVAL);	/* unaligned */
	ck_assert_int_eq(gm_cma_release(c, 0, 1), -EINVAL);		/* outside */
	ck_assert_int_eq(gm_cma_release(c, MIB + 64 * PG, 1), -EINVAL);
	ck_assert_int_eq(gm_cma_release(c, MIB + 62 * PG, 4), -EINVAL);
	ck_assert_int_eq(gm_cma_release(c, b, 0), -EINVAL);
	after = gm_cma_bitmap_text(c);
	ck_assert_str_eq(before, after);
	ck_assert_uint_eq(gm_cma_used(c), 4 * PG);
	free(before);
	free(after);
	gm_cma_destroy(c);
}
END_TEST

/*
 * Through a node: from=cma allocations, stat, resize EBUSY while used, ok
 * when empty (avail moves by the difference), restore when the new size
 * does not fit, 0 removes the area.
 */
START_TEST(test_node_area_resize)
{
	struct gm_mem *mem = mkmem("0:64M", 0, "0:16M", true);
	struct gm_request req = mkreq("c", 0, 3 * PG, 0, GM_MODE_SIMPLE, 0);
	struct gm_alloc_info *info;
	struct gm_node_stat st = nstat(mem, 0), st2;
	struct gm_error e;
	char *bm;
	int ret;

	ck_assert_uint_eq(st.cma_base, 48 * MIB);
	ck_assert_uint_eq(st.avail, 48 * MIB);
	req.from = GM_FROM_CMA;
	info = alloc_info(mem, &req, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(info->nr_blocks, 1);
	ck_assert_uint_eq(info->blocks[0].gpa, 48 * MIB);
	ck_assert_uint_eq(info->blocks[0].size, 3 * PG);
	gm_alloc_info_free(info);
	ck_assert_uint_eq(nstat(mem, 0).cma_used, 3 * PG);
	ck_assert_uint_eq(nstat(mem, 0).avail, 48 * MIB);
	ck_assert_int_eq(gm_node_cma_bitmap(mem, 0, &bm), 0);
	ck_assert(!strncmp(bm, "1110", 4));
	free(bm);

	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 8 * MIB, &e), -EBUSY);
	ck_assert_int_eq(e.err, EBUSY);
	ck_assert_int_eq(gm_free(mem, "c", &e), 0);
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 8 * MIB, &e), 0);
	st2 = nstat(mem, 0);
	ck_assert_uint_eq(st2.cma_size, 8 * MIB);
	ck_assert_uint_eq(st2.cma_base, 56 * MIB);
	ck_assert_uint_eq(st2.avail, 56 * MIB);

	/* hold 8 MiB at 16M: a 48 MiB area no longer fits; the old one stays */
	req = mkreq("h", 0, 8 * MIB, 0, GM_MODE_RANGE, 0);
	req.range_start = 16 * MIB;
	req.range_end = 24 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), 0);
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 48 * MIB, &e), -ENOSPC);
	st = nstat(mem, 0);
	ck_assert_uint_eq(st.cma_size, 8 * MIB);
	ck_assert_uint_eq(st.cma_base, 56 * MIB);
	ck_assert_uint_eq(st.avail, 48 * MIB);
	/* 32 MiB fits above the held range */
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 32 * MIB, &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).cma_base, 32 * MIB);
	ck_assert_uint_eq(nstat(mem, 0).avail, 24 * MIB);
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 6 * KIB, &e), -EINVAL);
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 64 * MIB, &e), -EINVAL);
	ck_assert_int_eq(gm_node_cma_resize(mem, 1, 0, &e), -EINVAL);
	ck_assert_int_eq(gm_node_cma_resize(mem, 0, 0, &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).cma_size, 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 56 * MIB);
	req = mkreq("c2", 0, PG, 0, GM_MODE_SIMPLE, 0);
	req.from = GM_FROM_CMA;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -ENOSPC);
	ck_assert_int_eq(gm_free(mem, "h", &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 64 * MIB);
	gm_mem_destroy(mem);
}
END_TEST

/* from=cma rules: align below the page is EINVAL, alignment honoured. */
START_TEST(test_node_area_rules)
{
	struct gm_mem *mem = mkmem("0:64M", 0, "0:16M", true);
	struct gm_request req = mkreq("c", 0, PG, 2 * KIB, GM_MODE_SIMPLE, 0);
	struct gm_alloc_info *info;
	struct gm_error e;
	int ret;

	req.from = GM_FROM_CMA;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	req.align = 0;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), 0);
	req = mkreq("d", 0, 3 * PG, MIB, GM_MODE_SIMPLE, 0);
	req.from = GM_FROM_CMA;
	info = alloc_info(mem, &req, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(info->blocks[0].gpa % MIB, 0);
	ck_assert_uint_eq(info->blocks[0].gpa, 49 * MIB);
	gm_alloc_info_free(info);
	/* contiguous rule: 2 MiB size is 2 MiB aligned */
	req = mkreq("e", 0, 2 * MIB, 0, GM_MODE_SIMPLE, 0);
	req.from = GM_FROM_CMA;
	info = alloc_info(mem, &req, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(info->blocks[0].gpa % (2 * MIB), 0);
	gm_alloc_info_free(info);
	req = mkreq("f", 0, 16 * MIB, 0, GM_MODE_SIMPLE, 0);
	req.from = GM_FROM_CMA;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -ENOSPC);
	req.mode = GM_MODE_TOPDOWN;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("cma", test_first_fit, test_alignment, test_order_per_bit,
		  test_release_errors, test_node_area_resize, test_node_area_rules);
}
