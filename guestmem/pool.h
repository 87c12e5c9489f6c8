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
 * lock, so the early phase never races with retire. Zeroing and discarding
 * (backing.c) run with no lock held, on blocks that a table entry in state
 * ALLOCATING or FREEING owns.
 */
#ifndef KVMEM_GUESTMEM_POOL_H
#define KVMEM_GUESTMEM_POOL_H

#include <pthread.h>
#include <stdarg.h>

#include "internal.h"

#define GM_NODE_MAX_RANGES	3	/* node 0 may be split by the MMIO hole, + hot-plug */

struct gm_node {
	pthread_mutex_t lock;		/* early list, buddy, cma, hp below */
	unsigned id;
	struct gm_node_config cfg;
	uint64_t start, end;		/* span, end exclusive, holes included */
	unsigned nr_ranges;		/* RAM ranges, then the hot-plug region */
	unsigned nr_ram;		/* the RAM ranges: 1, or 2 around the hole */
	struct gm_range range[GM_NODE_MAX_RANGES];
	uint64_t map_size;		/* bytes of host mapping: RAM + hot-plug */
	uint64_t ram_end;		/* end of the last RAM range */

	/* early phase: labelled ranges, ascending, never overlapping */
	struct gm_early_range *early;
	unsigned nr_early;
	size_t cap_early;
	uint64_t early_reserved;	/* chunk-rounded union, set at retire */

	/* retired phase */
	struct gm_buddy *buddy;
	struct gm_cma *cma;		/* NULL when cma_size is 0 */
	struct gm_blist cma_blocks;	/* buddy blocks the CMA area holds */
	bool cma_dirty;			/* the area held unbacked data since carved */
	struct gm_cma *hp;		/* the hot-plug region's block map, NULL if none */

	/* backing */
	void *map;			/* cfg.size bytes, ranges at their offsets; NULL when not backed */
};

/*
 * The life of a name in the table (mem->table_lock):
 *   PENDING     reserved (mkdir), no memory; visible, listed as pending
 *   ALLOCATING  memory being taken and zeroed; the name is held; visible
 *               (as pending) only when it commits a reservation
 *   LIVE        an allocation with its blocks
 *   FREEING     its blocks being discarded and given back; the name is held,
 *               invisible; back to LIVE if the allocator refuses a block
 */
enum gm_alloc_state { GM_A_PENDING, GM_A_ALLOCATING, GM_A_LIVE, GM_A_FREEING };

/* One name of the table: hashed by name and by id, and in id order. */
struct gm_alloc {
	struct gm_alloc_info info;
	enum gm_alloc_state state;
	bool reserved;			/* made by gm_name_reserve() (PENDING first) */
	struct gm_alloc *hnext;		/* name hash chain */
	struct gm_alloc *inext;		/* id hash chain */
	struct gm_alloc *prev, *next;	/* ascending id */
	uint64_t cma_count;		/* pages, from=cma or from=hotplug */
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

	struct gm_alloc **hash;		/* by name: nr_hash buckets, power of two */
	struct gm_alloc **ihash;	/* by id: nr_hash buckets */
	unsigned nr_hash;
	unsigned long nr_allocs;	/* entries in any state */
	struct gm_alloc *first, *last;	/* ascending id */
	uint64_t next_id;		/* ids start at 1, never reused */
	unsigned long auto_next;	/* next auto name a<N> to try */
};

/* config.c */
bool gm_name_chars_valid(const char *name);	/* [A-Za-z0-9._-], 1..63, no leading '.' */
int gm_check_name(const char *name, enum gm_owner owner, struct gm_error *e);
uint64_t gm_pow2_divisor(uint64_t v);	/* largest power of two dividing v */
bool gm_is_pow2(uint64_t v);
bool gm_label_valid(const char *label);	/* 1..GM_NAME_MAX printable ASCII (early.c) */
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

/* names.c: the table of names; the caller holds mem->table_lock */
int gm_table_init(struct gm_mem *mem);
void gm_table_release(struct gm_mem *mem);
struct gm_alloc *gm_table_lookup_name(const struct gm_mem *mem, const char *name);
struct gm_alloc *gm_table_lookup_id(const struct gm_mem *mem, uint64_t id);
bool gm_table_visible(const struct gm_alloc *a);	/* to lookups and listings */
void gm_table_insert(struct gm_mem *mem, struct gm_alloc *a);	/* its id the newest */
void gm_table_remove(struct gm_mem *mem, struct gm_alloc *a);
void gm_table_entry_free(struct gm_alloc *a);
/* gm_refuse_owner() - -EBUSY, "owned by the vm (PURPOSE)": @a is not yours. */
int gm_refuse_owner(const struct gm_alloc *a, struct gm_error *e);
struct gm_alloc_info *gm_info_dup(const struct gm_alloc_info *src);

/* alloc.c */
/* gm_free_name() - gm_free() that also tells the freed allocation's id. */
int gm_free_name(struct gm_mem *mem, const char *name, uint64_t *id,
		 struct gm_error *e);

#endif /* KVMEM_GUESTMEM_POOL_H */
