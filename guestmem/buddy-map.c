/* SPDX-License-Identifier: MIT */
/*
 * buddy-map.c - the buddy allocator's map (buddy-map.h): its layout,
 * creation and release, the searches over its summary bitmaps, and the
 * read-only views of the allocator: free areas, the walk over free blocks,
 * metadata bytes.
 *
 * Locking: none; the node pool holds node->lock around every call.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buddy-map.h"

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Lay the map out at @map (summaries first: small and hot; then the
 * groups), or with @map NULL only count its words and the summary levels:
 * until the map exists no pair has a free block, so no summary is read.
 */
static size_t layout(struct gm_buddy *b, uint64_t *map)
{
	size_t words = 0;

	for (unsigned k = 0; k < b->max_order; k++) {
		struct order_info *o = &b->ord[k];
		uint64_t n = (o->nslots + 63) >> 6;
		unsigned l = 0;

		for (;; l++) {
			n = (n + 63) >> 6;
			if (n == 1)
				break;
			if (map) {
				o->sum[CLEAN][l] = map + words;
				o->sum[DIRTY][l] = map + words + n;
			}
			words += 2 * n;
		}
		o->sum[CLEAN][l] = &o->top[CLEAN];
		o->sum[DIRTY][l] = &o->top[DIRTY];
		o->nsum = l + 1;
	}
	for (unsigned k = 0; k < b->max_order; k++) {
		struct order_info *o = &b->ord[k];
		uint64_t ng = (o->nslots + 63) >> 6;

		if (map)
			o->grp = (struct pgroup *)(map + words);
		words += ng * (sizeof(struct pgroup) / sizeof(uint64_t));
	}
	return words;
}

/* gm_bmap_create() - see buddy-map.h. */
int gm_bmap_create(struct gm_buddy *b)
{
	void *map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (map == MAP_FAILED)
		return -ENOMEM;
	b->map = map;
	layout(b, map);
	return 0;
}

/* gm_bmap_init() - see buddy-map.h. */
size_t gm_bmap_init(struct gm_buddy *b)
{
	size_t ps = page_size(), words = layout(b, NULL);

	return (words * sizeof(uint64_t) + ps - 1) & ~(ps - 1);
}

/*
 * gm_bmap_release() - see buddy-map.h. Every group word is zero, the
 * summaries may hold stale bits: all of it reads as zero afterwards.
 */
void gm_bmap_release(struct gm_buddy *b)
{
	madvise(b->map, b->map_len, MADV_DONTNEED);
	for (unsigned k = 0; k <= b->max_order; k++)
		b->ord[k].top[CLEAN] = b->ord[k].top[DIRTY] = 0;
	b->allocs = 0;
}

/* ---- searches ------------------------------------------------------------ */

/*
 * Bit @i of summary level @l is stale (the word it stands for is zero):
 * clear it, and the bits above that stood only for it.
 */
static void sum_clean(struct order_info *o, int kind, unsigned l, uint64_t i)
{
	for (; l < o->nsum; l++) {
		uint64_t *w = &o->sum[kind][l][i >> 6], v = *w & ~bit(i);

		*w = v;
		if (v)
			return;
		i >>= 6;
	}
}

/*
 * The first set bit >= @i of level @l (see lvl_word()) of @kind, or NONE. A
 * summary bit may be stale: the word it leads to is then skipped, and its
 * bit cleaned when @tidy. O(levels) per word visited.
 */
static uint64_t next_bit(struct order_info *o, int kind, int l, uint64_t i,
			 bool tidy)
{
	uint64_t ng = (o->nslots + 63) >> 6;
	uint64_t nw = l < 0 ? ng : ((ng - 1) >> (6 * (l + 1))) + 1;

	for (;;) {
		uint64_t x = i >> 6, w, j;

		if (x >= nw)
			return NONE;
		w = *lvl_word(o, kind, l, x) & (~0ULL << (i & 63));
		if (w)
			return (x << 6) | __builtin_ctzll(w);
		if (l + 1 == (int)o->nsum)
			return NONE;	/* @l is the top level: one word */
		j = next_bit(o, kind, l + 1, x + 1, tidy);
		if (j == NONE)
			return NONE;
		w = *lvl_word(o, kind, l, j);
		if (w)
			return (j << 6) | __builtin_ctzll(w);
		if (tidy)
			sum_clean(o, kind, l + 1, j);
		i = (j + 1) << 6;
	}
}

/*
 * gm_bmap_last_free() - see buddy-map.h: a descent along the highest set
 * bits. A stale bit met on the way is cleared and the descent goes on from
 * the highest bit left in that word (or, if none, from the level above).
 */
uint64_t gm_bmap_last_free(struct order_info *o, int kind)
{
	int l = o->nsum - 1;
	uint64_t i, w;

	if (o->rstate[1] == R_FREE + kind)
		return o->root[1];
	if (!o->top[kind])
		goto low;
	i = 63 - __builtin_clzll(o->top[kind]);
	for (;;) {	/* bit i of level l is set */
		w = *lvl_word(o, kind, l - 1, i);
		if (w) {
			i = i << 6 | (63 - __builtin_clzll(w));
			if (--l < 0)
				return pair_block(o, i);
			continue;
		}
		/* stale: clear it, and the bits above that stood only for it */
		for (;;) {
			uint64_t *up = &o->sum[kind][l][i >> 6];

			*up &= ~bit(i);
			if (*up) {
				i = (i & ~63ULL) | (63 - __builtin_clzll(*up));
				break;
			}
			if (++l == (int)o->nsum)
				goto low;	/* no pair has a free one */
			i >>= 6;
		}
	}
low:
	if (o->rstate[0] == R_FREE + kind)
		return o->root[0];
	return NONE;
}

/* gm_bmap_next_free() - see buddy-map.h. */
uint64_t gm_bmap_next_free(struct order_info *o, int kind, uint64_t a0,
			   bool tidy)
{
	if (o->rstate[0] == R_FREE + kind && o->root[0] >= a0)
		return o->root[0];
	if (o->top[kind]) {
		uint64_t p0 = a0 >> 1, q, A;

		q = next_bit(o, kind, -1, p0 > o->lo ? p0 - o->lo : 0, tidy);
		if (q != NONE) {
			A = pair_block(o, q);
			if (A >= a0)
				return A;
			q = next_bit(o, kind, -1, q + 1, tidy);
			if (q != NONE)
				return pair_block(o, q);
		}
	}
	if (o->rstate[1] == R_FREE + kind && o->root[1] >= a0)
		return o->root[1];
	return NONE;
}

/* ---- reading ------------------------------------------------------------- */

/* gm_buddy_free_area() - see internal.h; orders above max_order read 0. */
unsigned gm_buddy_free_area(const struct gm_buddy *b,
			    uint64_t clean[GM_MAX_ORDER + 1],
			    uint64_t dirty[GM_MAX_ORDER + 1])
{
	for (unsigned k = 0; k <= GM_MAX_ORDER; k++) {
		clean[k] = k <= b->max_order ? b->ord[k].nfree[CLEAN] : 0;
		dirty[k] = k <= b->max_order ? b->ord[k].nfree[DIRTY] : 0;
	}
	return b->max_order + 1;
}

/*
 * gm_buddy_walk_free() - see internal.h. A merge of one cursor per order
 * and kind (the next free block at or after the position), so the cost is
 * O(orders + log64 n) per free block visited, however many chunks lie
 * between them. Reads only; @fn must not change the allocator. A NULL @b
 * or @fn is -EINVAL; a range outside the span visits nothing.
 */
int gm_buddy_walk_free(const struct gm_buddy *b, uint64_t start, uint64_t end,
		       gm_buddy_walk_fn fn, void *opaque)
{
	/* gm_bmap_next_free() with tidy false only reads: the const holds */
	struct order_info *ord = (struct order_info *)b->ord;
	uint64_t cur[2][GM_MAX_ORDER + 1], act[2] = { 0, 0 };

	if (!b || !fn)
		return -EINVAL;
	if (start < b->base)
		start = b->base;
	if (end > b->end)
		end = b->end;
	if (start >= end)
		return 0;
	for (int kind = 0; kind < 2; kind++)
		for (uint64_t m = b->nonempty[kind]; m; m &= m - 1) {
			unsigned k = __builtin_ctzll(m), sh = b->cshift + k;

			cur[kind][k] = gm_bmap_next_free(&ord[k], kind,
							 start >> sh, false);
			if (cur[kind][k] != NONE && cur[kind][k] << sh < end)
				act[kind] |= 1ULL << k;
		}
	while (act[0] | act[1]) {
		uint64_t best = NONE;
		unsigned bk = 0, sh;
		int bkind = 0, ret;

		for (int kind = 0; kind < 2; kind++)
			for (uint64_t m = act[kind]; m; m &= m - 1) {
				unsigned k = __builtin_ctzll(m);
				uint64_t gpa = cur[kind][k] << (b->cshift + k);

				if (gpa < best) {
					best = gpa;
					bk = k;
					bkind = kind;
				}
			}
		ret = fn(opaque, best, bk, bkind == CLEAN);
		if (ret)
			return ret;
		sh = b->cshift + bk;
		cur[bkind][bk] = gm_bmap_next_free(&ord[bk], bkind,
						   cur[bkind][bk] + 1, false);
		if (cur[bkind][bk] == NONE || cur[bkind][bk] << sh >= end)
			act[bkind] &= ~(1ULL << bk);
	}
	return 0;
}

/*
 * gm_buddy_metadata_bytes() - the descriptor plus the resident pages of the
 * map (mincore(); a page only ever read maps the zero page and counts too,
 * so this errs high). If mincore() fails, the whole map is counted.
 */
uint64_t gm_buddy_metadata_bytes(const struct gm_buddy *b)
{
	size_t ps = page_size(), pages = b->map ? b->map_len / ps : 0, n = 0;
	unsigned char vec[256];

	for (size_t i = 0; i < pages; i += sizeof(vec)) {
		size_t cnt = pages - i < sizeof(vec) ? pages - i : sizeof(vec);

		if (mincore((char *)b->map + i * ps, cnt * ps, vec)) {
			n = pages;
			break;
		}
		for (size_t j = 0; j < cnt; j++)
			n += vec[j] & 1;
	}
	return sizeof(*b) + (b->max_order + 1) * sizeof(b->ord[0]) + n * ps;
}
