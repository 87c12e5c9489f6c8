/* SPDX-License-Identifier: MIT */
/*
 * buddy-check.h - shared helpers of the buddy allocator's tests
 * (test_buddy.c, the buddy model in test_random.c): sizes, cheap asserts,
 * before/after snapshots of avail and the free areas.
 */
#ifndef KVMEM_TESTS_GUESTMEM_BUDDY_CHECK_H
#define KVMEM_TESTS_GUESTMEM_BUDDY_CHECK_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define K4	0x1000ULL
#define M	0x100000ULL
#define G	0x40000000ULL

/*
 * Check records a mark point (a syscall) on every passing ck_assert; the
 * helpers and the model run millions of checks, so they use these, which
 * call into Check only on failure.
 */
#define MUST(c)								\
	do {								\
		if (!(c))						\
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c); \
	} while (0)
#define MUST_EQ(x, y)							\
	do {								\
		uint64_t x_ = (x), y_ = (y);				\
		if (x_ != y_)						\
			ck_abort_msg("%s:%d: %s == %s (%#llx != %#llx)",	\
				     __FILE__, __LINE__, #x, #y,	\
				     (unsigned long long)x_,		\
				     (unsigned long long)y_);		\
	} while (0)

/* avail and free-area counts, to compare before and after a call. */
struct snap {
	uint64_t avail;
	uint64_t clean[GM_MAX_ORDER + 1], dirty[GM_MAX_ORDER + 1];
};

static inline void snap(const struct gm_buddy *b, struct snap *s)
{
	s->avail = gm_buddy_avail(b);
	gm_buddy_free_area(b, s->clean, s->dirty);
}

static inline void assert_same(const struct gm_buddy *b, const struct snap *s)
{
	struct snap now;

	snap(b, &now);
	MUST_EQ(now.avail, s->avail);
	MUST(!memcmp(now.clean, s->clean, sizeof(now.clean)));
	MUST(!memcmp(now.dirty, s->dirty, sizeof(now.dirty)));
}

/* Free-area bytes must always add up to avail. */
static inline void assert_area_sums(const struct gm_buddy *b)
{
	uint64_t c[GM_MAX_ORDER + 1], d[GM_MAX_ORDER + 1], sum = 0;
	unsigned n = gm_buddy_free_area(b, c, d);

	for (unsigned k = 0; k < n; k++)
		sum += (c[k] + d[k]) * (gm_buddy_chunk(b) << k);
	MUST_EQ(sum, gm_buddy_avail(b));
}

static inline struct gm_buddy *mk(uint64_t base, uint64_t size, uint64_t chunk)
{
	struct gm_buddy *b;

	ck_assert_int_eq(gm_buddy_create(base, size, chunk, &b), 0);
	ck_assert_uint_eq(gm_buddy_avail(b), size);
	return b;
}

static inline void free_all(struct gm_buddy *b, struct gm_blist *l, bool cleared)
{
	for (unsigned i = 0; i < l->nr; i++)
		ck_assert_int_eq(gm_buddy_free(b, l->b[i].gpa, l->b[i].order,
					       cleared), 0);
	l->nr = 0;
}

/* Allocate and expect exactly one block at @gpa of @size. */
static inline void alloc_one(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
		      uint64_t end, uint64_t size, uint64_t min, unsigned flags,
		      uint64_t gpa)
{
	struct gm_blist l;

	gm_blist_init(&l);
	ck_assert_int_eq(gm_buddy_alloc(b, mode, start, end, size, min, flags,
					&l), 0);
	ck_assert_uint_eq(l.nr, 1);
	ck_assert_uint_eq(l.b[0].gpa, gpa);
	ck_assert_uint_eq(l.b[0].size, size);
	gm_blist_release(&l);
}

#endif /* KVMEM_TESTS_GUESTMEM_BUDDY_CHECK_H */
