/* SPDX-License-Identifier: MIT */
/*
 * blist.c - growable lists of blocks (struct gm_blist).
 *
 * The buddy allocator appends the blocks of one request to a caller's list;
 * the allocation layer keeps the list as the allocation's block table. A
 * list owns its array; it takes no locks (its owner serialises).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* gm_blist_init() - an empty list (no memory held). */
void gm_blist_init(struct gm_blist *l)
{
	l->b = NULL;
	l->nr = 0;
	l->cap = 0;
}

/*
 * gm_blist_push() - append one block. Returns 0, or -ENOMEM (the list is
 * unchanged then). The array grows by doubling, so appends are O(1)
 * amortised.
 */
int gm_blist_push(struct gm_blist *l, uint64_t gpa, uint64_t size,
		  unsigned order, bool dirty)
{
	struct gm_block *blk;

	if (gm_grow(&l->b, &l->cap, (size_t)l->nr + 1, sizeof(*l->b)))
		return -ENOMEM;
	blk = &l->b[l->nr++];
	blk->gpa = gpa;
	blk->size = size;
	blk->order = order;
	blk->dirty = dirty;
	return 0;
}

static int cmp_gpa(const void *x, const void *y)
{
	const struct gm_block *a = x, *b = y;

	return a->gpa < b->gpa ? -1 : a->gpa > b->gpa;
}

/* gm_blist_sort() - sort the list by ascending guest-physical address. */
void gm_blist_sort(struct gm_blist *l)
{
	if (l->nr > 1)
		qsort(l->b, l->nr, sizeof(*l->b), cmp_gpa);
}

/* gm_blist_release() - free the array; the list is empty again. */
void gm_blist_release(struct gm_blist *l)
{
	free(l->b);
	gm_blist_init(l);
}
