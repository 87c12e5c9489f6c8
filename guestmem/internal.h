/* SPDX-License-Identifier: MIT */
/*
 * internal.h - guestmem's private interfaces between its files.
 *
 * The allocators here take no locks: the node pool (node.c) holds
 * node->lock around every call, as the kernel's GPU buddy leaves locking to
 * its user. Nothing outside guestmem/ includes this file, except guestmem's
 * own unit tests and benchmarks.
 */
#ifndef KVMEM_GUESTMEM_INTERNAL_H
#define KVMEM_GUESTMEM_INTERNAL_H

#include "guestmem.h"

/* ---- buddy.c: GPU-buddy semantics over [base, base + size) ------------- */

struct gm_buddy;

/* A growable list of blocks, ascending or in allocation order. */
struct gm_blist {
	struct gm_block *b;
	unsigned nr;
	size_t cap;		/* gm_grow() */
};

void gm_blist_init(struct gm_blist *l);
int gm_blist_push(struct gm_blist *l, uint64_t gpa, uint64_t size,
		  unsigned order, bool dirty);
void gm_blist_sort(struct gm_blist *l);		/* ascending gpa */
void gm_blist_release(struct gm_blist *l);

/*
 * gm_buddy_create() - a buddy allocator over the guest-physical span
 * [@base, @base + @size): @base and @size multiples of @chunk (a power of two
 * >= 4 KiB). Blocks are naturally aligned in guest-physical space (a block
 * of chunk << k starts at a multiple of chunk << k), so the span is covered
 * by the largest aligned blocks that fit. All memory starts free and clean.
 * O(log size), and writes nothing beyond its descriptor: the per-pair map
 * is created (not touched) by the first allocation.
 */
int gm_buddy_create(uint64_t base, uint64_t size, uint64_t chunk,
		    struct gm_buddy **out);
void gm_buddy_destroy(struct gm_buddy *b);

uint64_t gm_buddy_avail(const struct gm_buddy *b);	/* free bytes, exact */
uint64_t gm_buddy_size(const struct gm_buddy *b);
uint64_t gm_buddy_chunk(const struct gm_buddy *b);
unsigned gm_buddy_max_order(const struct gm_buddy *b);

/*
 * gm_buddy_alloc() - allocate @size bytes (a multiple of the chunk) as
 * blocks of at least @min_block bytes (power of two >= chunk), appending
 * them to @out (on error @out is left as it was).
 *  mode SIMPLE:  smallest sufficient order first; within an order the
 *                highest-addressed free block; splits keep the upper half.
 *  mode TOPDOWN: the highest-addressed free block of sufficient order.
 *  mode RANGE:   only blocks inside [@start, @end), lowest address first.
 *  GM_F_CONTIGUOUS: one contiguous range: size rounded up to a power of
 *                two, one block, then the unused tail trimmed back unless
 *                GM_F_TRIM_DISABLE; -ENOSPC if no such range.
 *  GM_F_CLEAR:   prefer clean blocks; otherwise prefer dirty blocks.
 * Otherwise blocks are taken one at a time, largest order that fits the
 * remainder first, down to @min_block, so fragmented space can be filled.
 * Returns 0, -EINVAL, -ENOSPC, -ENOMEM (growing @out). No state change on
 * error.
 */
int gm_buddy_alloc(struct gm_buddy *b, enum gm_mode mode, uint64_t start,
		   uint64_t end, uint64_t size, uint64_t min_block,
		   unsigned flags, struct gm_blist *out);

/*
 * gm_buddy_free() - return one block previously handed out by
 * gm_buddy_alloc() or gm_buddy_reserve(), exactly as it was handed out
 * (@gpa and @order). Merges with free buddies (clean + dirty merge as
 * dirty). @cleared marks the block known zero. -EINVAL, and no state
 * change, unless that very block is allocated: a double free, a free of
 * memory never handed out and a free with the wrong order (even of memory
 * wholly in use) are all refused, in O(1).
 */
int gm_buddy_free(struct gm_buddy *b, uint64_t gpa, unsigned order,
		  bool cleared);

/*
 * gm_buddy_reserve() - take the exact range [@start, @end) (chunk-aligned,
 * all free) out of the allocator, appending its blocks to @out. Used to carve
 * holes, early ranges and CMA areas. -EINVAL, -EBUSY if any part is in use.
 */
int gm_buddy_reserve(struct gm_buddy *b, uint64_t start, uint64_t end,
		     struct gm_blist *out);

/*
 * gm_buddy_free_area() - count free blocks per order, clean and dirty;
 * returns the number of orders (max_order + 1).
 */
unsigned gm_buddy_free_area(const struct gm_buddy *b,
			    uint64_t clean[GM_MAX_ORDER + 1],
			    uint64_t dirty[GM_MAX_ORDER + 1]);

/* gm_buddy_metadata_bytes() - bytes of metadata in use (resident). */
uint64_t gm_buddy_metadata_bytes(const struct gm_buddy *b);

/* gm_buddy_walk_free() - call @fn for every free block that intersects [@start, @end),
 * in ascending address order, with its gpa, order and whether it is known clean; stops at
 * and returns the first non-zero value @fn returns, else 0. Caller holds the node lock. */
typedef int (*gm_buddy_walk_fn)(void *opaque, uint64_t gpa, unsigned order, bool clean);
int gm_buddy_walk_free(const struct gm_buddy *b, uint64_t start, uint64_t end,
                       gm_buddy_walk_fn fn, void *opaque);

/* ---- cma.c: Linux CMA semantics over one area --------------------------- */

struct gm_cma;

/*
 * gm_cma_create() - an area over [@base, @base + @size) in pages of @page
 * bytes, one bitmap bit per (1 << @order_per_bit) pages. All free.
 */
int gm_cma_create(uint64_t base, uint64_t size, uint64_t page,
		  unsigned order_per_bit, struct gm_cma **out);
void gm_cma_destroy(struct gm_cma *c);

/*
 * gm_cma_alloc() - @count pages aligned to (1 << @align_order) pages, first
 * fit (lowest address); *@gpa on success. -EINVAL, -ENOSPC.
 */
int gm_cma_alloc(struct gm_cma *c, uint64_t count, unsigned align_order,
		 uint64_t *gpa);

/*
 * gm_cma_claim() - take exactly the @count pages at @gpa (whole bits, all
 * free): the hot-plug region's plug. -EINVAL outside the area or not on bit
 * boundaries, -EBUSY if any bit is taken. No state change on error.
 */
int gm_cma_claim(struct gm_cma *c, uint64_t gpa, uint64_t count);

/*
 * gm_cma_release() - release @count pages at @gpa. -EINVAL if not exactly
 * an allocated span (any bit already clear); no state change then.
 */
int gm_cma_release(struct gm_cma *c, uint64_t gpa, uint64_t count);

uint64_t gm_cma_base(const struct gm_cma *c);
uint64_t gm_cma_size(const struct gm_cma *c);
uint64_t gm_cma_used(const struct gm_cma *c);		/* bytes */
uint64_t gm_cma_maxchunk(const struct gm_cma *c);	/* largest free run, bytes */
unsigned gm_cma_order_per_bit(const struct gm_cma *c);
/* gm_cma_bitmap_text() - '0'/'1' per bit, 64 per line, malloc'd. */
char *gm_cma_bitmap_text(const struct gm_cma *c);

#endif /* KVMEM_GUESTMEM_INTERNAL_H */
