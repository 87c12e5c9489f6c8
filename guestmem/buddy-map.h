/* SPDX-License-Identifier: MIT */
/*
 * buddy-map.h - the state of guestmem's buddy allocator, private to
 * buddy.c (the allocator) and buddy-map.c (its map and searches).
 *
 * DOC: representation
 *
 * A block of order k is chunk << k bytes at a multiple of its size; its
 * index is gpa >> (chunk_shift + k). A block is valid when it lies wholly
 * inside the span; max_order ("top") is the highest order with a valid
 * block. A valid block whose parent is not valid (or at the top order) is
 * a *root*: the roots are the largest aligned blocks covering the span, at
 * most two per order (the lowest and the highest valid block). Every other
 * valid block has a valid parent and a valid buddy: the two form a *pair*.
 *
 * Roots live in the descriptor: an index and a state (split, allocated,
 * free clean, free dirty) each. Creating an allocator therefore writes only
 * the descriptor, whatever the span's size or shape.
 *
 * Pairs live in the map, a MAP_NORESERVE region created by the first
 * allocation, in groups of 64 pairs per order (struct pgroup, 40 bytes):
 *  - free[2]: the pair holds a free clean / dirty block. Buddies always
 *    merge, so at most one block of a pair is free;
 *  - side:    that free block is the upper one;
 *  - used[2]: the lower / upper block is allocated, as it was handed out.
 * 5 bits per pair, 2.5 per block: about 5 bits per chunk over all orders
 * (0.016 % of the span at 4 KiB chunks). A free of (gpa, order) is valid
 * iff that block's used bit is set: one bit test, which refuses a double
 * free, a free of memory never allocated and a free with the wrong size
 * (even of memory wholly in use) alike.
 *
 * Above each order's free[kind] words sit summary bitmaps: level 0 has a
 * bit per group, level n+1 a bit per word of level n, up to one word kept
 * in the descriptor (top[kind]). A non-zero word always has its bit set
 * above; a bit whose word became zero is cleared lazily, by the next search
 * that walks into it (a block taken and given back, the common case, then
 * touches no summary). The highest free block of an order, or the first at
 * or after a position, is found in O(log64 n) word reads whatever the
 * fragmentation (plus the stale bits it cleans, each once).
 *
 * A per-kind mask of the orders holding free blocks makes "the smallest
 * order with a free block" one ctz, and a per-order hint of the highest
 * free block (exact, or only an upper bound once that block is gone) spares
 * simple and top-down searches most descents.
 *
 * When the whole span is free again every group word is zero: the map's
 * pages are then handed back (MADV_DONTNEED) if at least RELEASE_AFTER
 * allocations were made since the last time, so an emptied pool costs its
 * descriptor only, and a pool that keeps emptying and refilling does not
 * fault its pages in again and again.
 *
 * Locking: none; the node pool holds node->lock around every call.
 */
#ifndef KVMEM_GUESTMEM_BUDDY_MAP_H
#define KVMEM_GUESTMEM_BUDDY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* The hot paths (one block in, one block out) are written to inline. */
#define hot_inline	inline __attribute__((always_inline))

#define NONE		UINT64_MAX
#define SPAN_LIMIT	(1ULL << 50)	/* 1 PiB; guest-physical: 52 bits */
#define SUM_LEVELS	6		/* 64^6 groups of 64 pairs */
#define RELEASE_AFTER	65536		/* allocations between releases */
#define HI_STALE	(1ULL << 63)	/* order_info.hi: a bound only */

enum { CLEAN, DIRTY };			/* a free block's kind */
enum { R_SPLIT, R_USED, R_FREE };	/* root states; R_FREE + kind */

/* 64 pairs of one order: bit q of each word is pair q of the group. */
struct pgroup {
	uint64_t free[2];	/* the pair's free block is clean / dirty */
	uint64_t side;		/* that free block is the upper one */
	uint64_t used[2];	/* the lower / upper block is allocated */
};

/* One order: its pairs, summaries, roots and free-block bookkeeping. */
struct order_info {
	uint64_t lo, nslots;	/* pair q: parent lo + q; none at the top */
	struct pgroup *grp;
	unsigned nsum;			/* summary levels (last: top) */
	uint64_t *sum[2][SUM_LEVELS];	/* [kind][level] */
	uint64_t top[2];
	uint64_t first, last;	/* valid block indices */
	uint64_t root[2];	/* the low / high root, NONE if absent */
	uint8_t rstate[2];
	uint64_t nfree[2];	/* free blocks, clean / dirty */
	uint64_t hi[2];		/* >= all free blocks, = one unless HI_STALE */
};

/* The descriptor: all an allocator holds besides its map. */
struct gm_buddy {
	uint64_t avail;
	uint64_t nonempty[2];	/* bit k: order k has free blocks */
	unsigned cshift, max_order;
	uint64_t base, size, end, chunk;
	uint64_t allocs;	/* allocations since the last release */
	void *map;		/* the pair groups and summaries, or NULL */
	size_t map_len;
	struct order_info ord[];	/* 0 .. max_order */
};

/* ---- buddy-map.c --------------------------------------------------------- */

/*
 * gm_bmap_init() - lay out the summaries of a new allocator (its orders
 * filled in); returns the map's length in bytes (0: no pairs, no map).
 */
size_t gm_bmap_init(struct gm_buddy *b);

/* gm_bmap_create() - map the pair groups (on first use). 0 or -ENOMEM. */
int gm_bmap_create(struct gm_buddy *b);

/*
 * gm_bmap_release() - the whole span is free: hand the map's pages back
 * (they read as zero when next used).
 */
void gm_bmap_release(struct gm_buddy *b);

/* gm_bmap_last_free() - the highest free block of @kind at @o, or NONE. */
uint64_t gm_bmap_last_free(struct order_info *o, int kind);

/*
 * gm_bmap_next_free() - the first free block of @kind at @o with index >=
 * @a0, or NONE. With @tidy false nothing is written (stale summary bits
 * are skipped, not cleaned).
 */
uint64_t gm_bmap_next_free(struct order_info *o, int kind, uint64_t a0,
			   bool tidy);

/* ---- block state (inline: the hot paths) ------------------------------- */

static inline uint64_t bsize(const struct gm_buddy *b, unsigned k)
{
	return b->chunk << k;
}

static hot_inline uint64_t bit(uint64_t q)
{
	return 1ULL << (q & 63);
}

/* The pair slot of valid block @a, or a value >= nslots for a root. */
static hot_inline uint64_t slot(const struct order_info *o, uint64_t a)
{
	return (a >> 1) - o->lo;
}

/* Which root a root block is: 0 low, 1 high. */
static hot_inline int root_of(const struct order_info *o, uint64_t a)
{
	return a != o->root[0];
}

static hot_inline uint64_t pair_block(const struct order_info *o, uint64_t q)
{
	return (o->lo + q) << 1 | (o->grp[q >> 6].side >> (q & 63) & 1);
}

/*
 * Word @x of level @l of the @kind bitmaps of @o: level -1 is the groups'
 * free[kind] words, levels 0 .. nsum - 1 the summaries (the last one is
 * top[kind]).
 */
static hot_inline uint64_t *lvl_word(struct order_info *o, int kind, int l,
				     uint64_t x)
{
	return l < 0 ? &o->grp[x].free[kind] : &o->sum[kind][l][x];
}

/* Group @i's free[kind] word became non-zero: set its summary bits. */
static hot_inline void sum_set(struct order_info *o, int kind, uint64_t i)
{
	for (unsigned l = 0; l < o->nsum; l++) {
		uint64_t *w = &o->sum[kind][l][i >> 6], old = *w;

		*w = old | bit(i);
		if (old)
			return;
		i >>= 6;
	}
}

/*
 * The bookkeeping of one free block @a of order @k and @kind coming and
 * going: the count, the mask of orders with free blocks, and the hint of the
 * highest free block (a new block at or above the bound is the highest; the
 * highest leaving leaves only a bound), so that simple and top-down
 * searches mostly read it instead of descending the summaries.
 */
static hot_inline void count_add(struct gm_buddy *b, unsigned k, uint64_t a,
				 int kind)
{
	struct order_info *o = &b->ord[k];

	if (!o->nfree[kind]++)
		b->nonempty[kind] |= 1ULL << k;
	if (a >= (o->hi[kind] & ~HI_STALE))
		o->hi[kind] = a;
}

static hot_inline void count_del(struct gm_buddy *b, unsigned k, uint64_t a,
				 int kind)
{
	struct order_info *o = &b->ord[k];

	if (!--o->nfree[kind])
		b->nonempty[kind] &= ~(1ULL << k);
	if (a == o->hi[kind])
		o->hi[kind] |= HI_STALE;
}

/* Pair slot @q of order @k: record its (only) free block, @a, of @kind. */
static hot_inline void pair_mark(struct gm_buddy *b, unsigned k, uint64_t q,
				 uint64_t a, int kind)
{
	struct order_info *o = &b->ord[k];
	struct pgroup *g = &o->grp[q >> 6];
	uint64_t old = g->free[kind];

	g->free[kind] = old | bit(q);
	g->side |= (a & 1) << (q & 63);
	if (!old)
		sum_set(o, kind, q >> 6);
	count_add(b, k, a, kind);
}

static hot_inline void pair_unmark(struct gm_buddy *b, unsigned k,
				   uint64_t q, uint64_t a, int kind)
{
	struct order_info *o = &b->ord[k];
	struct pgroup *g = &o->grp[q >> 6];

	g->free[kind] &= ~bit(q);
	g->side &= ~bit(q);
	count_del(b, k, a, kind);	/* the summaries are cleaned lazily */
}

/* The highest free block of @kind at order @o, which has one. */
static hot_inline uint64_t last_free(struct order_info *o, int kind)
{
	if (o->hi[kind] & HI_STALE)
		o->hi[kind] = gm_bmap_last_free(o, kind);
	return o->hi[kind];
}

#endif /* KVMEM_GUESTMEM_BUDDY_MAP_H */
