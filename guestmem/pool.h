/* SPDX-License-Identifier: MIT */
/*
 * pool.h - the private state of a struct gm_mem, shared by guestmem's
 * mem.c (layout, stat), early.c, backing.c, alloc.c and cmd.c.
 *
 * Locking (see guestmem.h): mem->table_lock (rwlock) guards the allocation
 * table; node->lock (mutex) guards that node's early list, buddy and CMA
 * area. Lock order: table, then node. Two node locks are never held at once.
 * mem->retired and mem->backed change only under the table write lock and
 * the node locks in turn; early.c takes the table read lock before a node
 * lock, so the early phase never races with retire.
 */
#ifndef KVMEM_GUESTMEM_POOL_H
#define KVMEM_GUESTMEM_POOL_H

#include <pthread.h>
#include <stdarg.h>

#include "internal.h"

#define GM_NODE_MAX_RANGES	2	/* node 0 may be split by the MMIO hole */

struct gm_node {
	pthread_mutex_t lock;		/* early list, buddy, cma below */
	unsigned id;
	struct gm_node_config cfg;
	uint64_t start, end;		/* span, end exclusive, holes included */
	unsigned nr_ranges;
	struct gm_range range[GM_NODE_MAX_RANGES];

	/* early phase: labelled ranges, ascending, never overlapping */
	struct gm_early_range *early;
	unsigned nr_early, cap_early;
	uint64_t early_reserved;	/* chunk-rounded union, set at retire */

	/* retired phase */
	struct gm_buddy *buddy;
	struct gm_cma *cma;		/* NULL when cma_size is 0 */
	struct gm_blist cma_blocks;	/* buddy blocks the CMA area holds */
	bool cma_dirty;			/* the area held unbacked data since carved */

	/* backing */
	void *map;			/* cfg.size bytes, ranges at their offsets; NULL when not backed */
};

/* One live allocation; the table is a hash of these plus a creation list. */
struct gm_alloc {
	struct gm_alloc_info info;
	struct gm_alloc *hnext;		/* hash chain */
	struct gm_alloc *prev, *next;	/* creation order */
	uint64_t cma_count;		/* pages, from=cma */
};

struct gm_mem {
	pthread_rwlock_t table_lock;	/* the allocation table below */
	uint64_t chunk;
	unsigned nr_nodes;
	bool retired;
	bool backed;
	uint64_t early_seq;		/* next early range's seq; node locks + table read lock, atomic */
	unsigned back_flags;
	struct gm_node node[GM_MAX_NODES];

	struct gm_alloc **hash;		/* nr_hash buckets, power of two */
	unsigned nr_hash;
	unsigned long nr_allocs;
	struct gm_alloc *first, *last;	/* creation order */
	unsigned long auto_next;	/* next auto name a<N> to try */
};

/* config.c */
bool gm_name_valid(const char *name);
uint64_t gm_pow2_divisor(uint64_t v);	/* largest power of two dividing v */
bool gm_is_pow2(uint64_t v);
unsigned gm_log2(uint64_t v);		/* floor */

/* mem.c */
struct gm_node *gm_node_get(const struct gm_mem *mem, unsigned node);

/* early.c */
void gm_early_release(struct gm_node *n);
int gm_early_retire_node(struct gm_mem *mem, struct gm_node *n,
			 struct gm_buddy **out, struct gm_error *e);

/* backing.c */
void gm_backing_release(struct gm_node *n);
void *gm_node_hva(const struct gm_node *n, uint64_t gpa, uint64_t len);
void gm_zero_range(const struct gm_mem *mem, const struct gm_node *n,
		   uint64_t gpa, uint64_t len);

/* area.c */
int gm_cma_carve(const struct gm_mem *mem, const struct gm_node *n,
		 struct gm_buddy *b, uint64_t size, struct gm_cma **cma,
		 struct gm_blist *blocks, struct gm_error *e);
void gm_cma_uncarve(struct gm_buddy *b, struct gm_cma *cma,
		    struct gm_blist *blocks, bool dirty);

/* alloc.c */
void gm_table_release(struct gm_mem *mem);

#endif /* KVMEM_GUESTMEM_POOL_H */
