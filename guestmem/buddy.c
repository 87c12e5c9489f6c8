/* SPDX-License-Identifier: MIT */
/*
 * buddy.c - a binary buddy allocator with the Linux GPU buddy's semantics
 * (modes simple / topdown / range, flags contiguous / clear / trim_disable)
 * over a span of guest-physical addresses.
 *
 * DOC: representation
 *
 * A block of order k is chunk << k bytes at a multiple of its size; its
 * index is gpa >> (chunk_shift + k). The span is covered by the largest
 * aligned blocks that fit; max_order is the highest order with a block
 * wholly inside the span ("top" order).
 *
 * Buddies always merge when both are free, and below the top order two
 * buddies inside the span always have a parent inside the span. So at any
 * order below the top at most one block of each buddy *pair* is free, and
 * a pair is described by three bits: "has a clean free block", "has a dirty
 * free block" and "which side" (1.5 bits per block, 3 bits per chunk over
 * all orders). The top order has at most two blocks (three would hold an
 * aligned pair, a block of the next order) and keeps a clean and a dirty
 * bit per block.
 *
 * The clean and dirty bits of each order are hierarchical bitmaps (hbm.h):
 * level 0 has a bit per pair, level n+1 a bit per non-zero word of level
 * n, up to a single word. Finding the highest free block, or the first one
 * at or after a position, is O(log64 n) whatever the fragmentation: range
 * and top-down allocation stay flat at 100k free fragments, where a list
 * walk is linear.
 *
 * All bitmaps live in one mmap(MAP_NORESERVE) region: creating a 1 TiB
 * allocator writes a handful of words, and a page of metadata becomes
 * resident only when a block in it is first used. There is no record of
 * allocated blocks (that would cost bits per chunk): gm_buddy_free() checks
 * that the block is valid and that no part of it is free, and the caller
 * (the allocation table) remembers what it was given.
 *
 * Locking: none here; the node pool holds node->lock around every call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hbm.h"
#include "internal.h"

#define NONE		UINT64_MAX
#define SPAN_LIMIT	(1ULL << 50)	/* 1 PiB: x86 guest-physical is 52 bits */

struct order_info {
	uint64_t first, last;	/* block indices wholly inside the span */
	uint64_t lo;		/* slot 0: pair first >> 1, or block first (top) */
	uint64_t nslots;
	struct gm_hbm free[2];	/* [0] clean, [1] dirty: a free block per slot */
	uint64_t *side;		/* pairs only: 1 = the upper block is the free one */
	uint64_t nfree[2];	/* free blocks of this order, clean/dirty */
};

struct gm_buddy {
	uint64_t base, size, end, chunk;
	unsigned cshift, max_order;
	uint64_t avail;
	uint64_t nkind[2];			/* free blocks, clean/dirty, all orders */
	void *map;				/* all bitmaps */
	size_t map_len;
	struct order_info ord[];		/* 0 .. max_order */
};

/* ---- blocks ------------------------------------------------------------ */

static inline bool is_paired(const struct gm_buddy *b, unsigned k)
{
	return k < b->max_order;
}

static inline uint64_t slot_of(const struct gm_buddy *b, unsigned k, uint64_t a)
{
	return is_paired(b, k) ? (a >> 1) - b->ord[k].lo : a - b->ord[k].lo;
}

static inline bool valid(const struct gm_buddy *b, unsigned k, uint64_t a)
{
	return a >= b->ord[k].first && a <= b->ord[k].last;
}

static inline uint64_t bsize(const struct gm_buddy *b, unsigned k)
{
	return b->chunk << k;
}

/* The free block of slot @q of @kind at order @k. */
static inline uint64_t slot_block(const struct gm_buddy *b, unsigned k,
				  uint64_t q)
{
	const struct order_info *o = &b->ord[k];

	if (!is_paired(b, k))
		return o->lo + q;
	return (o->lo + q) << 1 | (o->side[q >> 6] >> (q & 63) & 1);
}

/* Is block @a of order @k free? Its dirtiness in *@dirty. */
static bool blk_is_free(const struct gm_buddy *b, unsigned k, uint64_t a,
			bool *dirty)
{
	const struct order_info *o = &b->ord[k];
	uint64_t q = slot_of(b, k, a);
	bool c = gm_hbm_test(&o->free[0], q), d = gm_hbm_test(&o->free[1], q);

	if (!c && !d)
		return false;
	if (is_paired(b, k) && (o->side[q >> 6] >> (q & 63) & 1) != (a & 1))
		return false;
	*dirty = d;
	return true;
}

/* Mark block @a (not free, its pair holding no free block) free. */
static void blk_mark(struct gm_buddy *b, unsigned k, uint64_t a, bool dirty)
{
	struct order_info *o = &b->ord[k];
	uint64_t q = slot_of(b, k, a);

	gm_hbm_set(&o->free[dirty], q);
	if (is_paired(b, k)) {
		uint64_t bit = 1ULL << (q & 63);

		if (a & 1)
			o->side[q >> 6] |= bit;
		else
			o->side[q >> 6] &= ~bit;
	}
	b->ord[k].nfree[dirty]++;
	b->nkind[dirty]++;
}

static void blk_unmark(struct gm_buddy *b, unsigned k, uint64_t a, bool dirty)
{
	gm_hbm_clear(&b->ord[k].free[dirty], slot_of(b, k, a));
	b->ord[k].nfree[dirty]--;
	b->nkind[dirty]--;
}

/*
 * Make block @a of order @k (in use) free, merging with free buddies:
 * clean + dirty merge as dirty. Does not touch avail.
 */
static void put_free(struct gm_buddy *b, unsigned k, uint64_t a, bool dirty)
{
	while (k < b->max_order) {
		struct order_info *o = &b->ord[k];
		uint64_t q = (a >> 1) - o->lo;
		bool c = gm_hbm_test(&o->free[0], q), d = gm_hbm_test(&o->free[1], q);

		if (!c && !d)
			break;
		/* The pair's free block is our buddy: merge. */
		gm_hbm_clear(&o->free[d], q);
		b->ord[k].nfree[d]--;
		b->nkind[d]--;
		dirty |= d;
		a >>= 1;
		k++;
	}
	blk_mark(b, k, a, dirty);
}

/*
 * Take target block @a of order @k out of the free block @A of order @j
 * that contains it, splitting: every half not on the way to the target
 * becomes free with the parent's state. Returns the target's dirtiness.
 */
static bool take(struct gm_buddy *b, unsigned j, uint64_t A, bool dirty,
		 unsigned k, uint64_t a)
{
	blk_unmark(b, j, A, dirty);
	while (j > k) {
		j--;
		blk_mark(b, j, (a >> (j - k)) ^ 1, dirty);
	}
	return dirty;
}

/* A free block found by a search, and the target block inside it. */
struct found {
	unsigned j;
	uint64_t A;
	uint64_t a;
	bool dirty;
};

/* The first free block of @kind at order @j with index >= @a0. */
static uint64_t next_free(const struct gm_buddy *b, unsigned j, bool kind,
			  uint64_t a0)
{
	const struct order_info *o = &b->ord[j];
	uint64_t q, A;

	if (a0 < o->first)
		a0 = o->first;
	if (a0 > o->last)
		return NONE;
	q = gm_hbm_next(&o->free[kind], o->nslots, slot_of(b, j, a0));
	if (q == NONE)
		return NONE;
	A = slot_block(b, j, q);
	if (A < a0) {
		q = gm_hbm_next(&o->free[kind], o->nslots, q + 1);
		if (q == NONE)
			return NONE;
		A = slot_block(b, j, q);
	}
	return A;
}

/* SIMPLE: smallest order >= @k with a free block, its highest; upper half. */
static bool find_simple(const struct gm_buddy *b, unsigned k, bool kind,
			struct found *f)
{
	for (unsigned j = k; j <= b->max_order; j++) {
		uint64_t q;

		if (!b->ord[j].nfree[kind])
			continue;
		q = gm_hbm_last(&b->ord[j].free[kind]);
		f->j = j;
		f->A = slot_block(b, j, q);
		f->a = ((f->A + 1) << (j - k)) - 1;
		f->dirty = kind;
		return true;
	}
	return false;
}

/* TOPDOWN: the highest-addressed free block of order >= @k; upper half. */
static bool find_topdown(const struct gm_buddy *b, unsigned k, bool kind,
			 struct found *f)
{
	uint64_t best = 0;
	bool ok = false;

	for (unsigned j = k; j <= b->max_order; j++) {
		uint64_t A, gpa;

		if (!b->ord[j].nfree[kind])
			continue;
		A = slot_block(b, j, gm_hbm_last(&b->ord[j].free[kind]));
		gpa = A << (b->cshift + j);
		if (!ok || gpa > best) {
			ok = true;
			best = gpa;
			f->j = j;
			f->A = A;
		}
	}
	if (ok) {
		f->a = ((f->A + 1) << (f->j - k)) - 1;
		f->dirty = kind;
	}
	return ok;
}

/*
 * RANGE: the lowest order-@k block inside [@start, @end) that lies in a
 * free block. For each order j >= k at most two free blocks are looked at:
 * the first one ending after @start, and if @start's aligned block does not
 * fit in it, the next one.
 */
static bool find_range(const struct gm_buddy *b, unsigned k, bool kind,
		       uint64_t start, uint64_t end, struct found *f)
{
	uint64_t s = bsize(b, k), ps = (start + s - 1) & ~(s - 1);
	uint64_t best = NONE;

	if (ps + s > end)
		return false;
	for (unsigned j = k; j <= b->max_order; j++) {
		unsigned sh = b->cshift + j;
		uint64_t A;

		if (!b->ord[j].nfree[kind])
			continue;
		A = next_free(b, j, kind, start >> sh);

		for (int tries = 0; A != NONE && tries < 2; tries++) {
			uint64_t bs = A << sh, be = bs + (1ULL << sh);
			uint64_t p = bs > ps ? bs : ps;

			if (bs >= end || p >= best)
				break;
			if (p + s <= be) {
				if (p + s <= end) {
					best = p;
					f->j = j;
					f->A = A;
				}
				break;
			}
			A = next_free(b, j, kind, A + 1);
		}
	}
	if (best == NONE)
		return false;
	f->a = best >> (b->cshift + k);
	f->dirty = kind;
	return true;
}

static bool find(const struct gm_buddy *b, enum gm_mode mode, unsigned k,
		 bool prefer, uint64_t start, uint64_t end, struct found *f)
{
	for (int pass = 0; pass < 2; pass++) {
		bool kind = pass ? !prefer : prefer;

		if (!b->nkind[kind])
			continue;
		switch (mode) {
		case GM_MODE_SIMPLE:
			if (find_simple(b, k, kind, f))
				return true;
			break;
		case GM_MODE_TOPDOWN:
			if (find_topdown(b, k, kind, f))
				return true;
			break;
		case GM_MODE_RANGE:
			if (find_range(b, k, kind, start, end, f))
				return true;
			break;
		}
	}
	return false;
}

/* Take the exact block @a of order @k if it is free or in a free block. */
static bool take_exact(struct gm_buddy *b, unsigned k, uint64_t a, bool *dirty)
{
	for (unsigned j = k; j <= b->max_order; j++) {
		uint64_t A = a >> (j - k);

		if (!valid(b, j, A))
			return false;
		if (blk_is_free(b, j, A, dirty)) {
			take(b, j, A, *dirty, k, a);
			return true;
		}
	}
	return false;
}

/*
 * Is any part of valid block @a of order @k free? Ancestors: climb until a
 * pair whose free block is the sibling of our ancestor (then no higher
 * ancestor can be free). Descendants: any free slot in the range of pairs
 * under the block, at each lower order.
 */
static bool partly_free(const struct gm_buddy *b, unsigned k, uint64_t a)
{
	bool dirty;

	for (unsigned j = k; j <= b->max_order; j++) {
		const struct order_info *o = &b->ord[j];
		uint64_t A = a >> (j - k), q;

		if (!valid(b, j, A))
			break;
		if (!o->nfree[0] && !o->nfree[1])
			continue;	/* nothing free at this order */
		if (blk_is_free(b, j, A, &dirty))
			return true;
		if (!is_paired(b, j))
			break;
		q = slot_of(b, j, A);
		if (gm_hbm_test(&o->free[0], q) || gm_hbm_test(&o->free[1], q))
			break;		/* the sibling is free */
	}
	for (unsigned j = k; j-- > 0;) {
		const struct order_info *o = &b->ord[j];
		uint64_t lo = a << (k - j), hi = ((a + 1) << (k - j)) - 1;
		uint64_t qlo = slot_of(b, j, lo), qhi = slot_of(b, j, hi);

		for (int kind = 0; kind < 2; kind++) {
			uint64_t q;

			if (!o->nfree[kind])
				continue;
			q = gm_hbm_next(&o->free[kind], o->nslots, qlo);
			if (q != NONE && q <= qhi)
				return true;
		}
	}
	return false;
}

/* ---- the API ----------------------------------------------------------- */

static unsigned ilog2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Fill first/last/lo/nslots of every order; return the bitmap words. */
static size_t layout(struct gm_buddy *b, uint64_t *at)
{
	uint64_t **pat = at ? &at : NULL;
	size_t words = 0;

	for (unsigned k = 0; k <= b->max_order; k++) {
		struct order_info *o = &b->ord[k];

		if (is_paired(b, k)) {
			o->lo = o->first >> 1;
			o->nslots = (o->last >> 1) - o->lo + 1;
		} else {
			o->lo = o->first;
			o->nslots = o->last - o->first + 1;
		}
		words += gm_hbm_layout(&o->free[0], o->nslots, pat);
		words += gm_hbm_layout(&o->free[1], o->nslots, pat);
		if (is_paired(b, k)) {
			o->side = at;
			if (at)
				at += (o->nslots + 63) / 64;
			words += (o->nslots + 63) / 64;
		}
	}
	return words;
}

/*
 * gm_buddy_create() - see internal.h. Returns 0 and *@out (release with
 * gm_buddy_destroy()), -EINVAL for a bad chunk/base/size (the span must end
 * at or below 2^50, 1 PiB), -ENOMEM. Maps its bitmaps MAP_NORESERVE and
 * writes only the words of the initial blocks: O(log size).
 */
int gm_buddy_create(uint64_t base, uint64_t size, uint64_t chunk,
		    struct gm_buddy **out)
{
	struct gm_buddy *b;
	unsigned cshift, top;
	uint64_t end, p;
	size_t words, len;
	void *map;

	if (!out || chunk < 4096 || (chunk & (chunk - 1)) || !size)
		return -EINVAL;
	if ((base | size) & (chunk - 1))
		return -EINVAL;
	if (base >= SPAN_LIMIT || size > SPAN_LIMIT - base)
		return -EINVAL;
	end = base + size;
	cshift = ilog2(chunk);

	/* The top order: the highest with a block wholly inside the span. */
	top = ilog2(size >> cshift);
	if (top > GM_MAX_ORDER)
		top = GM_MAX_ORDER;
	for (;; top--) {
		unsigned sh = cshift + top;
		uint64_t first = (base + (1ULL << sh) - 1) >> sh;

		if ((end >> sh) > first)
			break;
	}

	b = calloc(1, sizeof(*b) + (top + 1) * sizeof(b->ord[0]));
	if (!b)
		return -ENOMEM;
	b->base = base;
	b->size = size;
	b->end = end;
	b->chunk = chunk;
	b->cshift = cshift;
	b->max_order = top;
	for (unsigned k = 0; k <= top; k++) {
		unsigned sh = cshift + k;

		b->ord[k].first = (base + (1ULL << sh) - 1) >> sh;
		b->ord[k].last = (end >> sh) - 1;
	}

	words = layout(b, NULL);
	len = (words * sizeof(uint64_t) + page_size() - 1) & ~(page_size() - 1);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED) {
		free(b);
		return -ENOMEM;
	}
	b->map = map;
	b->map_len = len;
	layout(b, map);

	/* Cover the span with the largest aligned blocks that fit. */
	for (p = base; p < end;) {
		unsigned k = top;

		while ((p & (bsize(b, k) - 1)) || bsize(b, k) > end - p)
			k--;
		put_free(b, k, p >> (cshift + k), false);
		p += bsize(b, k);
	}
	b->avail = size;
	*out = b;
	return 0;
}

/* gm_buddy_destroy() - release the allocator (NULL is ignored). */
void gm_buddy_destroy(struct gm_buddy *b)
{
	if (!b)
		return;
	munmap(b->map, b->map_len);
	free(b);
}

uint64_t gm_buddy_avail(const struct gm_buddy *b)
{
	return b->avail;
}

uint64_t gm_buddy_size(const struct gm_buddy *b)
{
	return b->size;
}

uint64_t gm_buddy_chunk(const struct gm_buddy *b)
{
	return b->chunk;
}

unsigned gm_buddy_max_order(const struct gm_buddy *b)
{
	return b->max_order;
}

/* Free the blocks appended to @out from index @nr0 on, and drop them. */
static void undo(struct gm_buddy *b, struct gm_blist *out, unsigned nr0)
{
	while (out->nr > nr0) {
		struct gm_block *blk = &out->b[--out->nr];

		put_free(b, blk->order, blk->gpa >> (b->cshift + blk->order),
			 blk->dirty);
		b->avail += blk->size;
	}
}

/* Ensure room for @extra more blocks in @out. */
static int room(struct gm_blist *out, unsigned extra)
{
	return gm_grow(&out->b, &out->cap, (size_t)out->nr + extra, sizeof(*out->b));
}

/* Append the aligned blocks covering [@p, @p + @len) (@p aligned). */
static void push_cover(struct gm_buddy *b, struct gm_blist *out, uint64_t p,
		       uint64_t len, bool dirty)
{
	while (len) {
		unsigned k = ilog2(len) - b->cshift;

		while (p & (bsize(b, k) - 1))
			k--;
		gm_blist_push(out, p, bsize(b, k), k, dirty);
		p += bsize(b, k);
		len -= bsize(b, k);
	}
}

/* Free [@p, @p + @len) (aligned pieces, in use) back with merging. */
static void free_cover(struct gm_buddy *b, uint64_t p, uint64_t len,
		       bool dirty)
{
	while (len) {
		unsigned k = ilog2(len) - b->cshift;

		while (p & (bsize(b, k) - 1))
			k--;
		put_free(b, k, p >> (b->cshift + k), dirty);
		p += bsize(b, k);
		len -= bsize(b, k);
	}
}

/*
 * Take exactly [@start, @end) as its largest aligned pieces, each carved out
 * of the free block holding it, appending them (ascending). If some part is
 * in use, give back what was taken and return @busy.
 */
static int take_range(struct gm_buddy *b, uint64_t start, uint64_t end,
		      struct gm_blist *out, int busy)
{
	unsigned nr0;
	uint64_t p;

	if (end - start > b->avail)
		return busy;
	if (room(out, 2 * GM_MAX_ORDER + 2))
		return -ENOMEM;
	nr0 = out->nr;
	for (p = start; p < end;) {
		unsigned k = ilog2(end - p) - b->cshift;
		bool dirty;

		if (k > b->max_order)
			k = b->max_order;
		while (p & (bsize(b, k) - 1))
			k--;
		if (!take_exact(b, k, p >> (b->cshift + k), &dirty)) {
			undo(b, out, nr0);
			return busy;
		}
		b->avail -= bsize(b, k);
		gm_blist_push(out, p, bsize(b, k), k, dirty);
		p += bsize(b, k);
	}
	return 0;
}

static int alloc_contig(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
			uint64_t end, uint64_t want, unsigned flags,
			struct gm_blist *out)
{
	unsigned k = ilog2(want) + ((want & (want - 1)) != 0) - b->cshift;
	uint64_t gpa, s = bsize(b, k);
	struct found f;
	bool dirty;

	if (k > b->max_order)
		return -ENOSPC;
	if (room(out, 2 * GM_MAX_ORDER + 2))
		return -ENOMEM;
	if (!find(b, mode, k, !(flags & GM_F_CLEAR), start, end, &f))
		return -ENOSPC;
	dirty = take(b, f.j, f.A, f.dirty, k, f.a);
	gpa = f.a << (b->cshift + k);
	if ((flags & GM_F_TRIM_DISABLE) || want == s) {
		gm_blist_push(out, gpa, s, k, dirty);
		b->avail -= s;
		return 0;
	}
	free_cover(b, gpa + want, s - want, dirty);
	push_cover(b, out, gpa, want, dirty);
	b->avail -= want;
	return 0;
}

/*
 * gm_buddy_alloc() - see internal.h. @start/@end are used in RANGE mode
 * only (chunk-aligned, inside the span, start < end). As in Linux:
 *  - the clean/dirty preference applies to the whole search: it is first
 *    done over free blocks of the preferred kind, then over the other kind;
 *  - non-contiguous requests keep the order they last fell back to (orders
 *    only go down);
 *  - a CONTIGUOUS request in RANGE mode whose range is exactly the size
 *    (rounded up to @min_block, the range aligned to it) takes that range
 *    as it is, power of two or not.
 * GM_F_NOCLEAR and GM_F_FALLBACK belong to the allocation layer and are
 * accepted and ignored here.
 * Returns 0, -EINVAL, -ENOSPC (also when @min_block or a contiguous
 * round-up exceeds the largest block), -ENOMEM. No state change and @out
 * unchanged on error.
 */
int gm_buddy_alloc(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
		   uint64_t end, uint64_t size, uint64_t min_block,
		   unsigned flags, struct gm_blist *out)
{
	const unsigned known = GM_F_CONTIGUOUS | GM_F_CLEAR | GM_F_TRIM_DISABLE |
			       GM_F_NOCLEAR | GM_F_FALLBACK;
	unsigned min_order, order, nr0;
	uint64_t want, pages;
	bool prefer_dirty;

	if (!b || !out || (flags & ~known))
		return -EINVAL;
	if (mode != GM_MODE_SIMPLE && mode != GM_MODE_TOPDOWN &&
	    mode != GM_MODE_RANGE)
		return -EINVAL;
	if (!size || (size & (b->chunk - 1)))
		return -EINVAL;
	if (min_block < b->chunk || (min_block & (min_block - 1)))
		return -EINVAL;
	if (mode == GM_MODE_RANGE) {
		if (start >= end || start < b->base || end > b->end ||
		    ((start | end) & (b->chunk - 1)))
			return -EINVAL;
	} else {
		start = b->base;
		end = b->end;
	}
	if (size > b->size || min_block > bsize(b, b->max_order))
		return -ENOSPC;
	min_order = ilog2(min_block) - b->cshift;
	want = (size + min_block - 1) & ~(min_block - 1);
	if (want > b->avail || want > end - start)
		return -ENOSPC;
	/* As in Linux: a range exactly the size asked is taken as it is. */
	if ((flags & GM_F_CONTIGUOUS) && mode == GM_MODE_RANGE &&
	    end - start == want && !((start | end) & (min_block - 1)))
		return take_range(b, start, end, out, -ENOSPC);
	if (flags & GM_F_CONTIGUOUS)
		return alloc_contig(b, mode, start, end, want, flags, out);

	prefer_dirty = !(flags & GM_F_CLEAR);
	nr0 = out->nr;
	pages = want >> b->cshift;
	order = b->max_order;
	while (pages) {
		struct found f;
		bool dirty;

		if (order > ilog2(pages))
			order = ilog2(pages);
		while (!find(b, mode, order, prefer_dirty, start, end, &f)) {
			if (order == min_order) {
				undo(b, out, nr0);
				return -ENOSPC;
			}
			order--;
		}
		dirty = take(b, f.j, f.A, f.dirty, order, f.a);
		b->avail -= bsize(b, order);
		if (gm_blist_push(out, f.a << (b->cshift + order),
				  bsize(b, order), order, dirty)) {
			put_free(b, order, f.a, dirty);
			b->avail += bsize(b, order);
			undo(b, out, nr0);
			return -ENOMEM;
		}
		pages -= 1ULL << order;
	}
	return 0;
}

/*
 * gm_buddy_free() - see internal.h. Validity: @order <= max_order, @gpa
 * aligned to the block size and the block inside the span, no part of it
 * free. O(max_order) plus O(log64 n) per lower order for a large block.
 */
int gm_buddy_free(struct gm_buddy *b, uint64_t gpa, unsigned order,
		  bool cleared)
{
	uint64_t s, a;

	if (!b || order > b->max_order)
		return -EINVAL;
	s = bsize(b, order);
	if ((gpa & (s - 1)) || gpa < b->base || gpa > b->end - s)
		return -EINVAL;
	a = gpa >> (b->cshift + order);
	if (partly_free(b, order, a))
		return -EINVAL;
	put_free(b, order, a, !cleared);
	b->avail += s;
	return 0;
}

/*
 * gm_buddy_reserve() - see internal.h. The pieces appended to @out are the
 * largest aligned blocks covering the range, ascending, with their
 * dirtiness. Returns 0, -EINVAL (unaligned, empty or outside the span),
 * -EBUSY (some part in use), -ENOMEM. No state change on error.
 */
int gm_buddy_reserve(struct gm_buddy *b, uint64_t start, uint64_t end,
		     struct gm_blist *out)
{
	if (!b || !out || start >= end || start < b->base || end > b->end ||
	    ((start | end) & (b->chunk - 1)))
		return -EINVAL;
	return take_range(b, start, end, out, -EBUSY);
}

/* gm_buddy_free_area() - see internal.h; orders above max_order read 0. */
unsigned gm_buddy_free_area(const struct gm_buddy *b,
			    uint64_t clean[GM_MAX_ORDER + 1],
			    uint64_t dirty[GM_MAX_ORDER + 1])
{
	for (unsigned k = 0; k <= GM_MAX_ORDER; k++) {
		clean[k] = k <= b->max_order ? b->ord[k].nfree[0] : 0;
		dirty[k] = k <= b->max_order ? b->ord[k].nfree[1] : 0;
	}
	return b->max_order + 1;
}

/*
 * gm_buddy_metadata_bytes() - the allocator's descriptors plus the resident
 * pages of its bitmaps (mincore(); a page only ever read maps the zero page
 * and counts too, so this errs high). If mincore() fails, the whole mapping
 * is counted.
 */
uint64_t gm_buddy_metadata_bytes(const struct gm_buddy *b)
{
	size_t ps = page_size(), pages = b->map_len / ps, n = 0;
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
