/* SPDX-License-Identifier: MIT */
/*
 * buddy.c - a binary buddy allocator with the Linux GPU buddy's semantics
 * (modes simple / topdown / range, flags contiguous / clear / trim_disable)
 * over a span of guest-physical addresses: creation, allocation, frees and
 * reservations. Its state (the roots in the descriptor, a map of buddy
 * pairs under summary bitmaps) is described in buddy-map.h; the searches
 * over the map and the read-only views are in buddy-map.c.
 *
 * An allocation finds a free block by its mode's rule, splits it down to
 * the target (every half not on the way becomes free, of the parent's
 * kind) and marks the target used. A free checks the used bit of exactly
 * that block, so bad frees are refused in O(1), then merges the block with
 * free buddies (clean + dirty merge as dirty).
 *
 * Locking: none here; the node pool holds node->lock around every call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buddy-map.h"

/* ---- block state -------------------------------------------------------- */

/* Block @a of order @k (neither free nor used, no free buddy) becomes free. */
static hot_inline void mark_free(struct gm_buddy *b, unsigned k, uint64_t a,
				 int kind)
{
	struct order_info *o = &b->ord[k];
	uint64_t q = slot(o, a);

	if (q < o->nslots) {
		pair_mark(b, k, q, a, kind);
		return;
	}
	o->rstate[root_of(o, a)] = R_FREE + kind;
	count_add(b, k, a, kind);
}

/* Free block @a of order @k and @kind stops being free (split or used). */
static hot_inline void unmark_free(struct gm_buddy *b, unsigned k,
				   uint64_t a, int kind)
{
	struct order_info *o = &b->ord[k];
	uint64_t q = slot(o, a);

	if (q < o->nslots) {
		pair_unmark(b, k, q, a, kind);
		return;
	}
	o->rstate[root_of(o, a)] = R_SPLIT;
	count_del(b, k, a, kind);
}

/* Is valid block @a of order @k free? Its kind in *@kind. Needs the map. */
static bool block_free(const struct gm_buddy *b, unsigned k, uint64_t a,
		       int *kind)
{
	const struct order_info *o = &b->ord[k];
	uint64_t q = slot(o, a), m = bit(q);
	const struct pgroup *g;

	if (q >= o->nslots) {
		int rs = o->rstate[root_of(o, a)];

		*kind = rs - R_FREE;
		return rs >= R_FREE;
	}
	g = &o->grp[q >> 6];
	if (!((g->free[0] | g->free[1]) & m) || !(g->side & m) != !(a & 1))
		return false;
	*kind = (g->free[DIRTY] & m) ? DIRTY : CLEAN;
	return true;
}

/* Is valid block @a of order @k allocated as a whole? */
static hot_inline bool block_used(const struct gm_buddy *b, unsigned k,
				  uint64_t a)
{
	const struct order_info *o = &b->ord[k];
	uint64_t q = slot(o, a);

	if (q >= o->nslots)
		return o->rstate[root_of(o, a)] == R_USED;
	if (!b->map)
		return false;	/* no pair was ever split off */
	return o->grp[q >> 6].used[a & 1] & bit(q);
}

/* Block @a of order @k (neither free nor used) is handed out / taken back. */
static hot_inline void set_used(struct gm_buddy *b, unsigned k, uint64_t a,
				bool used)
{
	struct order_info *o = &b->ord[k];
	uint64_t q = slot(o, a);

	if (q >= o->nslots)
		o->rstate[root_of(o, a)] = used ? R_USED : R_SPLIT;
	else if (used)
		o->grp[q >> 6].used[a & 1] |= bit(q);
	else
		o->grp[q >> 6].used[a & 1] &= ~bit(q);
}

/* The kind of the free block of pair @q of @o, or -1 if it has none. */
static hot_inline int pair_free(const struct order_info *o, uint64_t q)
{
	const struct pgroup *g = &o->grp[q >> 6];

	if (g->free[DIRTY] & bit(q))
		return DIRTY;
	return g->free[CLEAN] & bit(q) ? CLEAN : -1;
}

/*
 * Make block @a of order @k (neither free nor used) free, merging with free
 * buddies: clean + dirty merge as dirty. Does not touch avail.
 */
static hot_inline void put_free(struct gm_buddy *b, unsigned k, uint64_t a,
				int kind)
{
	for (;;) {
		struct order_info *o = &b->ord[k];
		uint64_t q = slot(o, a);
		int bk;

		if (q >= o->nslots || (bk = pair_free(o, q)) < 0) {
			mark_free(b, k, a, kind);
			return;
		}
		/* the pair's free block is our buddy: merge */
		pair_unmark(b, k, q, a ^ 1, bk);
		kind |= bk;
		a >>= 1;
		k++;
	}
}

/*
 * Take target block @a of order @k out of the free block @A of order @j and
 * @kind that contains it, splitting: every half not on the way to the
 * target becomes free with the parent's kind. The target ends neither free
 * nor used.
 */
static hot_inline void take(struct gm_buddy *b, unsigned j, uint64_t A,
			    int kind, unsigned k, uint64_t a)
{
	unmark_free(b, j, A, kind);
	while (j > k) {
		uint64_t c;

		j--;
		c = (a >> (j - k)) ^ 1;	/* a child: never a root */
		pair_mark(b, j, slot(&b->ord[j], c), c, kind);
	}
}

/* ---- searches ----------------------------------------------------------- */

/* A free block found by a search, and the target block inside it. */
struct found {
	unsigned j;
	uint64_t A, a;
	int kind;
};

/* SIMPLE: smallest order >= @k with a free block, its highest; upper half. */
static hot_inline bool find_simple(struct gm_buddy *b, unsigned k,
				   int kind, struct found *f)
{
	uint64_t m = b->nonempty[kind] >> k;

	if (!m)
		return false;
	f->j = k + __builtin_ctzll(m);
	f->A = last_free(&b->ord[f->j], kind);
	f->a = ((f->A + 1) << (f->j - k)) - 1;
	return true;
}

/* TOPDOWN: the highest-addressed free block of order >= @k; upper half. */
static bool find_topdown(struct gm_buddy *b, unsigned k, int kind,
			 struct found *f)
{
	uint64_t m = b->nonempty[kind] >> k << k, best = 0;
	bool ok = false;

	for (; m; m &= m - 1) {
		unsigned j = __builtin_ctzll(m);
		uint64_t A = last_free(&b->ord[j], kind);
		uint64_t gpa = A << (b->cshift + j);

		if (!ok || gpa > best) {
			ok = true;
			best = gpa;
			f->j = j;
			f->A = A;
		}
	}
	if (ok)
		f->a = ((f->A + 1) << (f->j - k)) - 1;
	return ok;
}

/*
 * RANGE: the lowest order-@k block inside [@start, @end) that lies in a
 * free block. For each order j >= k at most two free blocks are looked at:
 * the first one ending after @start, and if @start's aligned block does not
 * fit in it, the next one.
 */
static bool find_range(struct gm_buddy *b, unsigned k, int kind,
		       uint64_t start, uint64_t end, struct found *f)
{
	uint64_t s = bsize(b, k), ps = (start + s - 1) & ~(s - 1);
	uint64_t m = b->nonempty[kind] >> k << k, best = NONE;

	if (ps + s > end)
		return false;
	for (; m; m &= m - 1) {
		unsigned j = __builtin_ctzll(m), sh = b->cshift + j;
		uint64_t A = gm_bmap_next_free(&b->ord[j], kind, start >> sh,
					       true);

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
			A = gm_bmap_next_free(&b->ord[j], kind, A + 1,
					      true);
		}
	}
	if (best == NONE)
		return false;
	f->a = best >> (b->cshift + k);
	return true;
}

/* Search @mode for an order-@k target, @prefer kind first, then the other. */
static hot_inline bool find(struct gm_buddy *b, enum gm_mode mode,
			    unsigned k, int prefer, uint64_t start,
			    uint64_t end, struct found *f)
{
	for (int pass = 0; pass < 2; pass++) {
		int kind = pass ? !prefer : prefer;
		bool ok;

		if (!b->nonempty[kind])
			continue;
		if (mode == GM_MODE_SIMPLE)
			ok = find_simple(b, k, kind, f);
		else if (mode == GM_MODE_TOPDOWN)
			ok = find_topdown(b, k, kind, f);
		else
			ok = find_range(b, k, kind, start, end, f);
		if (ok) {
			f->kind = kind;
			return true;
		}
	}
	return false;
}

/*
 * Take the exact block @a of order @k if it is free or inside a free block:
 * climb until a free ancestor (take it), an allocated one or a root.
 */
static bool take_exact(struct gm_buddy *b, unsigned k, uint64_t a, int *kind)
{
	for (unsigned j = k; j <= b->max_order; j++) {
		const struct order_info *o = &b->ord[j];
		uint64_t A = a >> (j - k);

		if (A < o->first || A > o->last)
			return false;
		if (block_free(b, j, A, kind)) {
			take(b, j, A, *kind, k, a);
			return true;
		}
		if (slot(o, A) >= o->nslots || block_used(b, j, A))
			return false;
	}
	return false;
}

/* ---- creation ----------------------------------------------------------- */

static unsigned ilog2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/*
 * gm_buddy_create() - see internal.h. Returns 0 and *@out (release with
 * gm_buddy_destroy()), -EINVAL for a bad chunk/base/size (the span must end
 * at or below 2^50, 1 PiB), -ENOMEM. Writes the descriptor only: the roots
 * are free and clean there, the map comes with the first allocation.
 */
int gm_buddy_create(uint64_t base, uint64_t size, uint64_t chunk,
		    struct gm_buddy **out)
{
	struct gm_buddy *b;
	unsigned cshift, top;
	uint64_t end;

	if (!out || chunk < 4096 || (chunk & (chunk - 1)) || !size)
		return -EINVAL;
	if ((base | size) & (chunk - 1))
		return -EINVAL;
	if (base >= SPAN_LIMIT || size > SPAN_LIMIT - base)
		return -EINVAL;
	end = base + size;
	cshift = ilog2(chunk);

	/* The top order: the highest with a block wholly inside the span. */
	for (top = ilog2(size >> cshift);; top--) {
		unsigned sh = cshift + top;

		if ((end >> sh) > (base + (1ULL << sh) - 1) >> sh)
			break;
	}
	b = malloc(sizeof(*b) + (top + 1) * sizeof(b->ord[0]));
	if (!b)
		return -ENOMEM;
	*b = (struct gm_buddy){
		.avail = size, .cshift = cshift, .max_order = top,
		.base = base, .size = size, .end = end, .chunk = chunk,
	};
	for (unsigned k = 0; k <= top; k++) {
		struct order_info *o = &b->ord[k];
		unsigned sh = cshift + k;
		uint64_t first = (base + (1ULL << sh) - 1) >> sh;
		uint64_t last = (end >> sh) - 1, lo = 0, nslots = 0;
		uint64_t r0 = NONE, r1 = NONE;

		if (k < top) {	/* pairs: the valid blocks of order k + 1 */
			lo = (base + (2ULL << sh) - 1) >> (sh + 1);
			nslots = (end >> (sh + 1)) - lo;
		}
		if (k == top || (first & 1))
			r0 = first;
		if ((k == top || !(last & 1)) && last != r0)
			r1 = last;
		/* every field set here (the summaries' with the map) */
		o->lo = lo;
		o->nslots = nslots;
		o->grp = NULL;
		o->first = first;
		o->last = last;
		o->root[0] = r0;
		o->root[1] = r1;
		o->rstate[0] = o->rstate[1] = R_SPLIT;
		o->top[CLEAN] = o->top[DIRTY] = 0;
		o->nfree[CLEAN] = o->nfree[DIRTY] = 0;
		o->hi[CLEAN] = o->hi[DIRTY] = 0;
		if (r0 != NONE)
			mark_free(b, k, r0, CLEAN);
		if (r1 != NONE)
			mark_free(b, k, r1, CLEAN);
	}
	b->map_len = gm_bmap_init(b);
	*out = b;
	return 0;
}

/* gm_buddy_destroy() - release the allocator (NULL is ignored). */
void gm_buddy_destroy(struct gm_buddy *b)
{
	if (!b)
		return;
	if (b->map)
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

/* ---- allocation --------------------------------------------------------- */

/* Hand out block @a of order @k (taken, @kind) as the next entry of @out. */
static hot_inline void hand_out(struct gm_buddy *b, struct gm_blist *out,
				unsigned k, uint64_t a, int kind)
{
	struct gm_block *blk = &out->b[out->nr++];

	set_used(b, k, a, true);
	blk->gpa = a << (b->cshift + k);
	blk->size = bsize(b, k);
	blk->order = k;
	blk->dirty = kind;
	b->avail -= blk->size;
}

/* Take the target of @f, of order @k, and hand it out as the next of @out. */
static hot_inline void take_out(struct gm_buddy *b, const struct found *f,
				unsigned k, struct gm_blist *out)
{
	take(b, f->j, f->A, f->kind, k, f->a);
	hand_out(b, out, k, f->a, f->kind);
}

/* Free the blocks appended to @out from index @nr0 on, and drop them. */
static void undo(struct gm_buddy *b, struct gm_blist *out, unsigned nr0)
{
	while (out->nr > nr0) {
		struct gm_block *blk = &out->b[--out->nr];
		uint64_t a = blk->gpa >> (b->cshift + blk->order);

		set_used(b, blk->order, a, false);
		put_free(b, blk->order, a, blk->dirty);
		b->avail += blk->size;
	}
}

/* Ensure room for @extra more blocks in @out. 0 or -ENOMEM. */
static int room(struct gm_blist *out, unsigned extra)
{
	return gm_grow(&out->b, &out->cap, (size_t)out->nr + extra, sizeof(*out->b));
}

/* The largest aligned piece at @p (aligned) of at most @len bytes. */
static unsigned piece(const struct gm_buddy *b, uint64_t p, uint64_t len)
{
	unsigned k = ilog2(len) - b->cshift;

	if (k > b->max_order)
		k = b->max_order;
	while (p & (bsize(b, k) - 1))
		k--;
	return k;
}

/*
 * Take exactly [@start, @end) as its largest aligned pieces, each carved out
 * of the free block holding it, appending them (ascending). If some part is
 * in use, give back what was taken and return @busy.
 */
static int take_range(struct gm_buddy *b, uint64_t start, uint64_t end,
		      struct gm_blist *out, int busy)
{
	unsigned nr0 = out->nr;
	uint64_t p;

	if (end - start > b->avail)
		return busy;
	if (room(out, 2 * GM_MAX_ORDER + 2))
		return -ENOMEM;
	for (p = start; p < end;) {
		unsigned k = piece(b, p, end - p);
		uint64_t a = p >> (b->cshift + k);
		int kind;

		if (!take_exact(b, k, a, &kind)) {
			undo(b, out, nr0);
			return busy;
		}
		hand_out(b, out, k, a, kind);
		p += bsize(b, k);
	}
	return 0;
}

static __attribute__((noinline)) int
alloc_contig(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
	     uint64_t end, uint64_t want, unsigned flags, struct gm_blist *out)
{
	unsigned k = ilog2(want) + ((want & (want - 1)) != 0) - b->cshift;
	uint64_t gpa, p, s = bsize(b, k);
	struct found f;

	if (k > b->max_order)
		return -ENOSPC;
	if (room(out, 2 * GM_MAX_ORDER + 2))
		return -ENOMEM;
	if (!find(b, mode, k, !(flags & GM_F_CLEAR), start, end, &f))
		return -ENOSPC;
	take(b, f.j, f.A, f.kind, k, f.a);
	if ((flags & GM_F_TRIM_DISABLE) || want == s) {
		hand_out(b, out, k, f.a, f.kind);
		return 0;
	}
	/* the target block is split: hand out the head, free the tail */
	gpa = f.a << (b->cshift + k);
	for (p = gpa; p < gpa + want;) {
		unsigned pk = piece(b, p, gpa + want - p);

		hand_out(b, out, pk, p >> (b->cshift + pk), f.kind);
		p += bsize(b, pk);
	}
	for (; p < gpa + s;) {
		unsigned pk = piece(b, p, gpa + s - p);

		put_free(b, pk, p >> (b->cshift + pk), f.kind);
		p += bsize(b, pk);
	}
	return 0;
}

/*
 * Blocks of the largest order that fits the remainder first, falling back
 * down to @min_order (orders only go down, as in Linux), until @want bytes.
 */
static __attribute__((noinline)) int
alloc_blocks(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
	     uint64_t end, uint64_t want, unsigned min_order, int prefer,
	     struct gm_blist *out)
{
	uint64_t pages = want >> b->cshift;
	unsigned order = b->max_order, nr0 = out->nr;

	while (pages) {
		struct found f;

		if (order > ilog2(pages))
			order = ilog2(pages);
		while (!find(b, mode, order, prefer, start, end, &f)) {
			if (order == min_order) {
				undo(b, out, nr0);
				return -ENOSPC;
			}
			order--;
		}
		if (out->nr == out->cap && room(out, 1)) {
			undo(b, out, nr0);
			return -ENOMEM;
		}
		take_out(b, &f, order, out);
		pages -= 1ULL << order;
	}
	return 0;
}

/* gm_buddy_alloc() past its argument checks, but for its common case. */
static __attribute__((noinline)) int
alloc_slow(struct gm_buddy *b, enum gm_mode mode, uint64_t start, uint64_t end,
	   uint64_t size, uint64_t min_block, unsigned flags,
	   struct gm_blist *out)
{
	unsigned min_order = ilog2(min_block) - b->cshift;
	int prefer = flags & GM_F_CLEAR ? CLEAN : DIRTY;
	uint64_t want;
	struct found f;

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
	want = (size + min_block - 1) & ~(min_block - 1);
	if (want > b->avail || want > end - start)
		return -ENOSPC;
	if (!b->map && b->map_len && gm_bmap_create(b))
		return -ENOMEM;
	b->allocs++;
	/* As in Linux: a range exactly the size asked is taken as it is. */
	if ((flags & GM_F_CONTIGUOUS) && mode == GM_MODE_RANGE &&
	    end - start == want && !((start | end) & (min_block - 1)))
		return take_range(b, start, end, out, -ENOSPC);
	if (flags & GM_F_CONTIGUOUS)
		return alloc_contig(b, mode, start, end, want, flags, out);
	if (want != min_block)
		return alloc_blocks(b, mode, start, end, want, min_order,
				    prefer, out);
	if (!find(b, mode, min_order, prefer, start, end, &f))
		return -ENOSPC;
	if (out->nr == out->cap && room(out, 1))
		return -ENOMEM;
	take_out(b, &f, min_order, out);
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
	const unsigned known = GM_F_CONTIGUOUS | GM_F_CLEAR |
			       GM_F_TRIM_DISABLE | GM_F_NOCLEAR | GM_F_FALLBACK;
	unsigned min_order;
	struct found f;

	if (!b || !out || (flags & ~known) || (unsigned)mode > GM_MODE_RANGE)
		return -EINVAL;
	if (!size || !min_block || ((size | min_block) & (b->chunk - 1)) ||
	    (min_block & (min_block - 1)))
		return -EINVAL;
	if (size > min_block || (flags & GM_F_CONTIGUOUS) ||
	    mode == GM_MODE_RANGE)
		return alloc_slow(b, mode, start, end, size, min_block, flags,
				  out);

	/* one block of min_block, simple or top-down: the common case */
	if (min_block > b->avail || min_block > bsize(b, b->max_order))
		return -ENOSPC;
	if (!b->map && b->map_len && gm_bmap_create(b))
		return -ENOMEM;
	b->allocs++;
	min_order = __builtin_ctzll(min_block) - b->cshift;
	if (!find(b, mode, min_order, flags & GM_F_CLEAR ? CLEAN : DIRTY, 0,
		  0, &f))
		return -ENOSPC;
	if (out->nr == out->cap && room(out, 1))
		return -ENOMEM;
	take_out(b, &f, min_order, out);
	return 0;
}

/*
 * gm_buddy_free() - see internal.h. Valid iff @order <= max_order, @gpa
 * aligned to the block size, the block inside the span and allocated as
 * that very block (its used bit): O(1) to refuse, O(orders merged) to free.
 * Freeing the last block of a span hands the map back (see the DOC).
 */
int gm_buddy_free(struct gm_buddy *b, uint64_t gpa, unsigned order,
		  bool cleared)
{
	uint64_t s, a;

	if (!b || order > b->max_order)
		return -EINVAL;
	s = bsize(b, order);
	if ((gpa & (s - 1)) || gpa - b->base > b->size - s)
		return -EINVAL;
	a = gpa >> (b->cshift + order);
	if (!block_used(b, order, a))
		return -EINVAL;
	set_used(b, order, a, false);
	put_free(b, order, a, cleared ? CLEAN : DIRTY);
	b->avail += s;
	if (b->avail == b->size && b->allocs >= RELEASE_AFTER && b->map)
		gm_bmap_release(b);
	return 0;
}

/*
 * gm_buddy_reserve() - see internal.h. The pieces appended to @out are the
 * largest aligned blocks covering the range, ascending, with their
 * dirtiness; each is freed with gm_buddy_free() like an allocated block.
 * Returns 0, -EINVAL (unaligned, empty or outside the span), -EBUSY (some
 * part in use), -ENOMEM. No state change on error.
 */
int gm_buddy_reserve(struct gm_buddy *b, uint64_t start, uint64_t end,
		     struct gm_blist *out)
{
	if (!b || !out || start >= end || start < b->base || end > b->end ||
	    ((start | end) & (b->chunk - 1)))
		return -EINVAL;
	if (!b->map && b->map_len && gm_bmap_create(b))
		return -ENOMEM;
	b->allocs++;
	return take_range(b, start, end, out, -EBUSY);
}
