// SPDX-License-Identifier: MIT
/*
 * test_alloc.c - named allocations (guestmem/alloc.c) and host backing
 * (guestmem/backing.c): auto names, EEXIST/ENOENT, bad frees that change
 * nothing, layout rules, fallback, the contiguous alignment rule,
 * zero-on-allocate through a backed mem, data access, and seed 001's
 * multi-range / OOM / free-then-reuse cases.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sys/stat.h>

#include "helpers.h"

/* Everything observable about node @n's pools, to compare before/after. */
struct snap {
	struct gm_node_stat st;
	uint64_t clean[GM_MAX_ORDER + 1], dirty[GM_MAX_ORDER + 1];
	unsigned nr;
	char *bitmap;
};

static void take(struct gm_mem *mem, unsigned n, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->st = nstat(mem, n);
	ck_assert_int_eq(gm_node_free_area(mem, n, s->clean, s->dirty, &s->nr), 0);
	ck_assert_int_eq(gm_node_cma_bitmap(mem, n, &s->bitmap), 0);
}

static void same(struct gm_mem *mem, unsigned n, struct snap *a)
{
	struct snap b;

	take(mem, n, &b);
	ck_assert(!memcmp(&a->st, &b.st, sizeof(a->st)));
	ck_assert(!memcmp(a->clean, b.clean, sizeof(a->clean)));
	ck_assert(!memcmp(a->dirty, b.dirty, sizeof(a->dirty)));
	ck_assert_str_eq(a->bitmap, b.bitmap);
	free(b.bitmap);
}

static int do_alloc(struct gm_mem *mem, const char *name, unsigned node,
		    uint64_t size, char *out)
{
	struct gm_request r = mkreq(name, node, size, 0, GM_MODE_SIMPLE, 0);
	struct gm_alloc_info *info;
	struct gm_error e;
	int ret = gm_alloc(mem, &r, &info, &e);

	if (!ret) {
		if (out)
			snprintf(out, GM_NAME_MAX + 1, "%s", info->req.name);
		gm_alloc_info_free(info);
	}
	return ret;
}

/* a1, a2, ... skipping names taken; the counter never goes back. */
START_TEST(test_auto_names)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	char n[GM_NAME_MAX + 1];
	struct gm_alloc_entry *v;
	unsigned nr;

	ck_assert_int_eq(do_alloc(mem, NULL, 0, 4096, n), 0);
	ck_assert_str_eq(n, "a1");
	ck_assert_int_eq(do_alloc(mem, "a3", 0, 4096, n), 0);
	ck_assert_str_eq(n, "a3");
	ck_assert_int_eq(do_alloc(mem, NULL, 0, 4096, n), 0);
	ck_assert_str_eq(n, "a2");
	ck_assert_int_eq(do_alloc(mem, NULL, 0, 4096, n), 0);
	ck_assert_str_eq(n, "a4");
	/* a failed auto allocation does not use up a name */
	ck_assert_int_eq(do_alloc(mem, NULL, 0, 32 * MIB, n), -ENOSPC);
	ck_assert_int_eq(do_alloc(mem, NULL, 0, 4096, n), 0);
	ck_assert_str_eq(n, "a5");
	ck_assert_int_eq(gm_alloc_list(mem, &v, &nr), 0);
	ck_assert_uint_eq(nr, 5);
	ck_assert_str_eq(v[0].name, "a1");
	ck_assert_str_eq(v[1].name, "a3");
	ck_assert_str_eq(v[2].name, "a2");
	ck_assert_str_eq(v[3].name, "a4");
	ck_assert_str_eq(v[4].name, "a5");
	for (unsigned i = 1; i < nr; i++)	/* ids ascend, never reused */
		ck_assert_uint_gt(v[i].id, v[i - 1].id);
	free(v);
	gm_mem_destroy(mem);
}
END_TEST

/* Errors of gm_alloc: each errno, and no pool changes. */
START_TEST(test_alloc_errors)
{
	struct gm_mem *mem = mkmem("0:16M,1:16M", 0, "0:4M", true);
	struct gm_request r;
	struct gm_error e;
	struct snap s0, s1;
	static const char *bad_names[] = { ".", "..", ".x", "a b", "a/b", "é",
		"a\tb", "x*" };	/* over-long names: test_parser */

	ck_assert_int_eq(do_alloc(mem, "x", 0, 4096, NULL), 0);
	take(mem, 0, &s0);
	take(mem, 1, &s1);
	ck_assert_int_eq(do_alloc(mem, "x", 0, 4096, NULL), -EEXIST);
	ck_assert_int_eq(do_alloc(mem, "x", 1, 4096, NULL), -EEXIST);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		ck_assert_int_eq(do_alloc(mem, bad_names[i], 0, 4096, NULL), -EINVAL);
	ck_assert_int_eq(do_alloc(mem, "y", 2, 4096, NULL), -EINVAL);
	ck_assert_int_eq(do_alloc(mem, "y", 0, 0, NULL), -EINVAL);
	r = mkreq("y", 0, 4096, 3 * 4096, GM_MODE_SIMPLE, 0);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	r = mkreq("y", 0, UINT64_MAX - 100, 4096, GM_MODE_SIMPLE, 0);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -ERANGE);
	ck_assert_int_eq(e.err, ERANGE);
	r = mkreq("y", 0, UINT64_MAX - 100, 0, GM_MODE_SIMPLE, 0);	/* chunk round-up */
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -ERANGE);
	r = mkreq("y", 1, 4096, 0, GM_MODE_RANGE, 0);			/* node 0's range */
	r.range_start = 0;
	r.range_end = 4 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	r.range_start = 4 * GIB + 4096;
	r.range_end = 4 * GIB + 17 * MIB;				/* past the end */
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	r.range_end = 4 * GIB + 100;					/* not chunk-aligned */
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	r = mkreq("y", 0, 4096, 0, GM_MODE_TOPDOWN, 0);
	r.from = GM_FROM_CMA;
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	r = mkreq("y", 1, 4096, 0, GM_MODE_SIMPLE, 0);
	r.from = GM_FROM_CMA;						/* node 1 has no area */
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -ENOSPC);
	r = mkreq("y", 0, 4096, 0, GM_MODE_SIMPLE, 0x100);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	ck_assert_int_eq(do_alloc(mem, "y", 0, 13 * MIB, NULL), -ENOSPC);
	same(mem, 0, &s0);
	same(mem, 1, &s1);
	free(s0.bitmap);
	free(s1.bitmap);
	gm_mem_destroy(mem);
}
END_TEST

/* Bad frees (unknown, twice, empty name) leave every pool exactly as it was. */
START_TEST(test_bad_frees)
{
	struct gm_mem *mem = mkmem("0:16M,1:8M", 0, "0:4M,1:4M", true);
	struct gm_request r = mkreq("c", 1, 8192, 0, GM_MODE_SIMPLE, 0);
	struct gm_error e;
	struct snap s0, s1;

	ck_assert_int_eq(do_alloc(mem, "a", 0, 3 * MIB, NULL), 0);
	ck_assert_int_eq(do_alloc(mem, "b", 0, 5 * 4096, NULL), 0);
	r.from = GM_FROM_CMA;
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), 0);
	ck_assert_int_eq(gm_free(mem, "b", &e), 0);
	take(mem, 0, &s0);
	take(mem, 1, &s1);
	ck_assert_int_eq(gm_free(mem, "b", &e), -ENOENT);		/* twice */
	ck_assert_int_eq(e.err, ENOENT);
	ck_assert_int_eq(gm_free(mem, "nosuch", &e), -ENOENT);
	ck_assert_int_eq(gm_free(mem, "A", &e), -ENOENT);
	ck_assert_int_eq(gm_free(mem, "", &e), -EINVAL);
	same(mem, 0, &s0);
	same(mem, 1, &s1);
	ck_assert_int_eq(gm_free(mem, "c", &e), 0);
	ck_assert_uint_eq(nstat(mem, 1).cma_used, 0);
	ck_assert_int_eq(gm_free(mem, "c", &e), -ENOENT);
	ck_assert_int_eq(gm_free(mem, "a", &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 12 * MIB);
	free(s0.bitmap);
	free(s1.bitmap);
	gm_mem_destroy(mem);
}
END_TEST

/* The doc examples of seed 004, through the allocation API. */
START_TEST(test_seed_examples)
{
	struct gm_mem *mem = mkmem("0:1G", 0, NULL, true);
	struct gm_request r = mkreq("x", 0, 16 * MIB, 16 * MIB, GM_MODE_SIMPLE, 0);
	struct gm_alloc_info *i;
	struct gm_error e;
	uint64_t avail = nstat(mem, 0).avail;
	int ret;

	i = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(i->nr_blocks, 1);
	ck_assert_uint_eq(i->blocks[0].gpa, 0x3f000000);
	ck_assert_uint_eq(i->blocks[0].size, 0x1000000);
	gm_alloc_info_free(i);
	ck_assert_uint_eq(nstat(mem, 0).avail, avail - 16 * MIB);
	ck_assert_int_eq(gm_free(mem, "x", &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, avail);
	r.mode = GM_MODE_TOPDOWN;
	i = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(i->blocks[0].gpa, 0x3f000000);
	gm_alloc_info_free(i);
	gm_mem_destroy(mem);
}
END_TEST

/*
 *   16M node:  [held 0-4M][ free ][held 8-12M][ free ]
 * Expect contiguous 8M: ENOSPC; fallback: the two free 4M pieces; with room
 * again, fallback gives one contiguous range.
 */
START_TEST(test_fallback)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	struct gm_request r;
	struct gm_alloc_info *i;
	struct gm_error e;
	int ret;

	r = mkreq("h1", 0, 4 * MIB, 0, GM_MODE_RANGE, 0);
	r.range_end = 4 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), 0);
	r = mkreq("h2", 0, 4 * MIB, 0, GM_MODE_RANGE, 0);
	r.range_start = 8 * MIB;
	r.range_end = 12 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), 0);
	r = mkreq("c", 0, 8 * MIB, 0, GM_MODE_SIMPLE, GM_F_CONTIGUOUS);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -ENOSPC);
	r.flags = GM_F_FALLBACK;
	i = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(i->size, 8 * MIB);
	ck_assert_uint_eq(i->blocks[0].gpa, 4 * MIB);
	ck_assert_uint_eq(i->blocks[i->nr_blocks - 1].gpa +
			  i->blocks[i->nr_blocks - 1].size, 16 * MIB);
	ck_assert_uint_eq(i->req.flags, GM_F_FALLBACK);
	gm_alloc_info_free(i);
	ck_assert_int_eq(gm_free(mem, "c", &e), 0);
	ck_assert_int_eq(gm_free(mem, "h2", &e), 0);
	i = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(i->nr_blocks, 1);
	ck_assert_uint_eq(i->blocks[0].size, 8 * MIB);
	ck_assert_uint_eq(i->blocks[0].gpa % (8 * MIB), 0);
	gm_alloc_info_free(i);
	gm_mem_destroy(mem);
}
END_TEST

/* Contiguous: one range, start aligned to the largest 2^k dividing the size. */
START_TEST(test_contiguous_alignment)
{
	static const uint64_t sizes[] = { 4096, 8192, 12288, 24 * KIB, 3 * MIB,
					  12 * MIB, 5 * 4096, 40 * MIB };
	struct gm_mem *mem = mkmem("0:256M", 0, NULL, true);
	uint64_t avail = nstat(mem, 0).avail;

	/* fragment a little first */
	ck_assert_int_eq(do_alloc(mem, "f1", 0, 4096, NULL), 0);
	ck_assert_int_eq(do_alloc(mem, "f2", 0, 3 * 4096, NULL), 0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int trim = 0; trim < 2; trim++) {
			struct gm_request r = mkreq(NULL, 0, sizes[k], 0, GM_MODE_SIMPLE,
						    GM_F_CONTIGUOUS |
						    (trim ? GM_F_TRIM_DISABLE : 0));
			struct gm_alloc_info *i;
			uint64_t p2 = sizes[k] & -sizes[k];
			int ret;

			i = alloc_info(mem, &r, &ret);
			ck_assert_int_eq(ret, 0);
			for (unsigned j = 1; j < i->nr_blocks; j++)
				ck_assert_uint_eq(i->blocks[j].gpa,
						  i->blocks[j - 1].gpa + i->blocks[j - 1].size);
			ck_assert_msg(i->blocks[0].gpa % p2 == 0, "size %llu at 0x%llx",
				      (unsigned long long)sizes[k],
				      (unsigned long long)i->blocks[0].gpa);
			if (trim)
				ck_assert_uint_eq(i->nr_blocks, 1);
			else
				ck_assert_uint_eq(i->size, sizes[k]);
			ck_assert_uint_ge(i->size, sizes[k]);
			gm_alloc_info_free(i);
		}
	}
	gm_mem_destroy(mem);
	(void)avail;
}
END_TEST

/* Seed 001: allocate one, a lot, exactly the pool, OOM, free-then-reuse. */
START_TEST(test_seed001_single_range)
{
	struct gm_mem *mem = mkmem("0:1M", 0, NULL, true);
	struct gm_error e;
	char n[GM_NAME_MAX + 1];

	ck_assert_int_eq(do_alloc(mem, "one", 0, 100, n), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, MIB - 4096);
	ck_assert_int_eq(gm_free(mem, "one", &e), 0);
	for (int i = 0; i < 256; i++)			/* a lot: every chunk */
		ck_assert_int_eq(do_alloc(mem, NULL, 0, 4096, n), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 0);
	ck_assert_int_eq(do_alloc(mem, "oom", 0, 1, n), -ENOSPC);
	ck_assert_int_eq(gm_free(mem, "a77", &e), 0);	/* free then reuse */
	ck_assert_int_eq(do_alloc(mem, "reuse", 0, 4096, n), 0);
	ck_assert_int_eq(do_alloc(mem, "oom", 0, 1, n), -ENOSPC);
	for (int i = 1; i <= 256; i++) {
		snprintf(n, sizeof(n), "a%d", i);
		ck_assert_int_eq(gm_free(mem, n, &e), i == 77 ? -ENOENT : 0);
	}
	ck_assert_int_eq(gm_free(mem, "reuse", &e), 0);
	ck_assert_int_eq(do_alloc(mem, "exact", 0, MIB, n), 0);	/* all merged */
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Seed 001 over a multi-range pool: node 0 of 4G = [0,3G) + [4G,5G), 64M
 * chunks. Expect all 4 GiB allocatable in pieces, no block in the hole,
 * OOM after, free-then-reuse, and one request spanning both ranges.
 */
START_TEST(test_seed001_multi_range)
{
	struct gm_mem *mem = mkmem("0:4G", 64 * MIB, NULL, true);
	struct gm_error e;
	char n[GM_NAME_MAX + 1];
	uint64_t total = 0;

	for (int i = 0; i < 16; i++) {
		struct gm_alloc_info *info;
		struct gm_request r = mkreq(NULL, 0, 256 * MIB, 0, GM_MODE_SIMPLE, 0);
		int ret;

		info = alloc_info(mem, &r, &ret);
		ck_assert_int_eq(ret, 0);
		for (unsigned j = 0; j < info->nr_blocks; j++) {
			const struct gm_block *b = &info->blocks[j];

			ck_assert(b->gpa + b->size <= GM_MMIO_HOLE_START ||
				  b->gpa >= GM_MMIO_HOLE_END);
			ck_assert_uint_le(b->gpa + b->size, 5 * GIB);
			total += b->size;
		}
		gm_alloc_info_free(info);
	}
	ck_assert_uint_eq(total, 4 * GIB);
	ck_assert_int_eq(do_alloc(mem, "oom", 0, 1, n), -ENOSPC);
	ck_assert_int_eq(gm_free(mem, "a3", &e), 0);
	ck_assert_int_eq(do_alloc(mem, "reuse", 0, 256 * MIB, n), 0);
	ck_assert_int_eq(do_alloc(mem, "oom", 0, 1, n), -ENOSPC);
	for (int i = 1; i <= 16; i++) {
		snprintf(n, sizeof(n), "a%d", i);
		gm_free(mem, n, &e);
	}
	ck_assert_int_eq(gm_free(mem, "reuse", &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 4 * GIB);
	/* one request over both ranges */
	{
		struct gm_request r = mkreq("both", 0, 4 * GIB, 0, GM_MODE_SIMPLE, 0);
		struct gm_alloc_info *info;
		int ret;
		bool low = false, high = false;

		info = alloc_info(mem, &r, &ret);
		ck_assert_int_eq(ret, 0);
		for (unsigned j = 0; j < info->nr_blocks; j++) {
			low |= info->blocks[j].gpa < GM_MMIO_HOLE_START;
			high |= info->blocks[j].gpa >= GM_MMIO_HOLE_END;
		}
		ck_assert(low && high);
		gm_alloc_info_free(info);
	}
	{	/* nothing can come from the hole */
		struct gm_request r = mkreq("c", 0, 64 * MIB, 0, GM_MODE_RANGE, 0);

		r.range_start = GM_MMIO_HOLE_START;
		r.range_end = GM_MMIO_HOLE_END;
		ck_assert_int_eq(gm_free(mem, "both", &e), 0);
		ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -ENOSPC);
	}
	gm_mem_destroy(mem);
}
END_TEST

/* Unbacked: freed blocks come back dirty and are reported so. */
START_TEST(test_dirty_tracking_unbacked)
{
	struct gm_mem *mem = mkmem("0:1M", 0, NULL, true);
	struct gm_request r = mkreq("x", 0, MIB, 0, GM_MODE_SIMPLE, 0);
	struct gm_alloc_info *i;
	struct gm_error e;
	int ret;

	i = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert(!i->blocks[0].dirty);			/* fresh memory is clean */
	gm_alloc_info_free(i);
	ck_assert_int_eq(gm_free(mem, "x", &e), 0);
	i = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert(i->blocks[0].dirty);			/* caller must zero it */
	gm_alloc_info_free(i);
	ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "x"), &ret, 4, 0, false), -EIO);
	gm_mem_destroy(mem);
}
END_TEST

/* Host pages of [gpa, gpa+len) that are resident. */
static uint64_t span_resident(struct gm_mem *mem, uint64_t gpa, uint64_t len)
{
	return resident_pages(gm_mem_hva(mem, gpa, len), len);
}

/*
 * Backed: write a pattern, free, allocate the same place again: zeros.
 * The free released the host pages (fewer resident pages), and a
 * noclear allocation of released memory reads zeros too.
 */
START_TEST(test_zero_on_allocate_backed)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	static const uint64_t sizes[] = { 8 * KIB, 2 * MIB };
	struct gm_error e;

	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), -EEXIST);
	ck_assert(nstat(mem, 0).backed);
	for (size_t k = 0; k < 2; k++) {
		struct gm_request r = mkreq("x", 0, sizes[k], 0, GM_MODE_SIMPLE, 0);
		struct gm_alloc_info *a, *b;
		unsigned char *buf = malloc(sizes[k]), *zero = calloc(1, sizes[k]);
		int ret;

		a = alloc_info(mem, &r, &ret);
		ck_assert_int_eq(ret, 0);
		memset(buf, 0xa5, sizes[k]);
		ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "x"), buf, sizes[k], 0, true),
				 (ssize_t)sizes[k]);
		memset(buf, 0, sizes[k]);
		ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "x"), buf, sizes[k], 0, false),
				 (ssize_t)sizes[k]);
		ck_assert_uint_eq(buf[0], 0xa5);
		ck_assert_uint_eq(buf[sizes[k] - 1], 0xa5);
		/* the same bytes through the guest-physical view */
		ck_assert_int_eq(gm_mem_rw(mem, a->blocks[0].gpa, buf, 1, false), 1);
		ck_assert_uint_eq(buf[0], 0xa5);
		ck_assert_uint_eq(span_resident(mem, a->blocks[0].gpa, sizes[k]), sizes[k] / 4096);
		ck_assert_int_eq(gm_free(mem, "x", &e), 0);
		if (sizes[k] >= MIB)	/* large: discarded, host pages gone */
			ck_assert_uint_eq(span_resident(mem, a->blocks[0].gpa, sizes[k]), 0);
		r.flags = k ? GM_F_NOCLEAR : 0;
		b = alloc_info(mem, &r, &ret);
		ck_assert_int_eq(ret, 0);
		ck_assert_uint_eq(b->blocks[0].gpa, a->blocks[0].gpa);
		ck_assert(!b->blocks[0].dirty);
		ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "x"), buf, sizes[k], 0, false),
				 (ssize_t)sizes[k]);
		ck_assert(!memcmp(buf, zero, sizes[k]));
		ck_assert_int_eq(gm_free(mem, "x", &e), 0);
		gm_alloc_info_free(a);
		gm_alloc_info_free(b);
		free(buf);
		free(zero);
	}
	gm_mem_destroy(mem);
}
END_TEST

/* gm_alloc_rw edges and gm_mem_rw / gm_mem_hva at the MMIO hole. */
START_TEST(test_data_access)
{
	struct gm_mem *mem = mkmem("0:4G", 0, NULL, true);
	struct gm_request r = mkreq("d", 0, 8192, 0, GM_MODE_SIMPLE, 0);
	struct gm_error e;
	char buf[16] = "abcdefghijklmno";

	ck_assert_int_eq(gm_mem_rw(mem, 0, buf, 4, false), -EIO);	/* unbacked */
	ck_assert_ptr_null(gm_mem_hva(mem, 0, 4096));
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), 0);
	ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "d"), buf, 16, 8192, true), -EFBIG);
	ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "d"), buf, 16, 9000, false), 0);
	ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "d"), buf, 16, 8192 - 4, true), 4);
	ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "nope"), buf, 16, 0, false), -ENOENT);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(gm_alloc_rw(mem, idof(mem, "d"), buf, 16, 8192 - 6, false), 6);
	ck_assert(!memcmp(buf, "\0\0abcd", 6));

	ck_assert_ptr_nonnull(gm_mem_hva(mem, GM_MMIO_HOLE_START - 4096, 4096));
	ck_assert_ptr_null(gm_mem_hva(mem, GM_MMIO_HOLE_START - 4096, 8192));
	ck_assert_ptr_null(gm_mem_hva(mem, GM_MMIO_HOLE_START, 1));
	ck_assert_ptr_nonnull(gm_mem_hva(mem, GM_MMIO_HOLE_END, 1));
	memcpy(buf, "wxyz", 4);
	ck_assert_int_eq(gm_mem_rw(mem, GM_MMIO_HOLE_START - 2, buf, 4, true), 2);
	ck_assert_int_eq(gm_mem_rw(mem, GM_MMIO_HOLE_START, buf, 4, false), -EIO);
	ck_assert_int_eq(gm_mem_rw(mem, GM_MMIO_HOLE_END, buf, 4, true), 4);
	ck_assert_int_eq(gm_mem_rw(mem, 5 * GIB - 2, buf, 4, false), 2);
	ck_assert_int_eq(gm_mem_rw(mem, GM_MMIO_HOLE_END, buf, 4, false), 4);
	ck_assert(!memcmp(buf, "wxyz", 4));
	ck_assert_int_eq(gm_mem_rw(mem, GM_MMIO_HOLE_START - 2, buf, 2, false), 2);
	ck_assert(!memcmp(buf, "wx", 2));
	gm_mem_destroy(mem);
}
END_TEST

START_TEST(test_backing_errors)
{
	struct gm_mem *mem = mkmem("0:3M", 0, NULL, true);
	struct gm_config cfg;
	struct gm_error e;

	ck_assert_int_eq(gm_mem_back(mem, GM_BACK_HUGEPAGES, &e), -EINVAL);
	ck_assert_int_eq(gm_mem_back(mem, 0x80, &e), -EINVAL);
	ck_assert(!nstat(mem, 0).backed);
	gm_mem_destroy(mem);
	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:4M@999", &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), -ENODEV);
	ck_assert_ptr_nonnull(strstr(e.msg, "host"));
	ck_assert(!nstat(mem, 0).backed);
	gm_mem_destroy(mem);

	/* host node 0 exists wherever libnuma works: mbind succeeds */
	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:4M@0", &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), numa_available() < 0 ? -ENODEV : 0);
	ck_assert_int_eq(nstat(mem, 0).host_node, 0);
	if (numa_available() >= 0) {	/* the mapping carries the policy */
		unsigned long mask[16] = { 0 };
		int mode = -1;

		ck_assert_int_eq(get_mempolicy(&mode, mask, 1024,
					       gm_mem_hva(mem, 0, 4096), MPOL_F_ADDR), 0);
		ck_assert_int_eq(mode, MPOL_BIND);
		ck_assert_uint_eq(mask[0] & 1, 1);
	}
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("alloc", test_auto_names, test_alloc_errors, test_bad_frees,
		  test_seed_examples, test_fallback, test_contiguous_alignment,
		  test_seed001_single_range, test_seed001_multi_range,
		  test_dirty_tracking_unbacked, test_zero_on_allocate_backed,
		  test_data_access, test_backing_errors);
}
