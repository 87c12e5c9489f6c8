/* SPDX-License-Identifier: MIT */
/*
 * balloon.h - what the balloon's files share: the device and its queues
 * (virtio-balloon.c), free page reporting (balloon-report.c) and the
 * statistics queue (balloon-stats.c). Private to those three: the short
 * names below (PAGE, struct extent, Q_*) are the balloon's own.
 *
 * Guest RAM is a sorted list of extents (the VM's RAM allocations, adjacent
 * blocks of one node merged), and so is each virtio-mem hot-plug region
 * (one extent, @hp set: only free page reports act there, and only on the
 * blocks plugged now); every 4 KiB page of an extent has one bit in each
 * bitmap, numbered from its extent's @first.
 *
 * Lock order: the balloon's device lock, then a virtio-mem device's lock
 * (vmm_vmem_block_id() takes it); virtio-mem never takes the balloon's.
 */
#ifndef KVMEM_VMM_BALLOON_H
#define KVMEM_VMM_BALLOON_H

#include "virtio.h"

#define PAGE			4096ULL
#define PAGE_SHIFT		12

/* A queue's role (role[q]): numbered as negotiated, see virtio-balloon.c. */
enum { Q_INFLATE, Q_DEFLATE, Q_STATS, Q_REPORT, Q_NONE };

/*
 * A span of guest RAM (adjacent blocks of one node's allocation merged),
 * or a node's whole hot-plug region (@hp: its virtio-mem device).
 */
struct extent {
	uint64_t start, end;
	unsigned node;
	uint64_t first;			/* its first page's bit in the bitmaps */
	struct vmm_vmem *hp;		/* NULL: RAM */
	uint64_t block;			/* @hp: its block size */
	/*
	 * @hp, per block, device lock: the plug (allocation id) the block's
	 * "reported" bits belong to. Ids are never reused, so an unplug, or
	 * an unplug and a new plug, since the report shows as a different id
	 * (0: unplugged) and the bits are dropped (sync_block()).
	 */
	uint64_t *plug;
};

struct vmm_balloon {
	struct gm_mem *mem;
	struct vmm_virtio *vd;
	uint64_t granule;		/* host page size: what a release needs */
	uint64_t ram;			/* bytes of guest RAM covered */
	uint64_t nr_bits;		/* pages of every extent (RAM and hot-plug) */

	struct extent *ext;
	unsigned nr_ext;
	struct gm_range *ranges;	/* every backed range, for host -> guest */
	unsigned nr_ranges;
	struct gm_early_range *early;	/* every node's early ranges */
	unsigned nr_early;

	/* device lock */
	uint8_t role[VMM_VIRTIO_MAX_QUEUES];	/* Q_*, set at start */
	uint64_t *ballooned, *reported;	/* one bit per page */
	uint64_t node_ballooned[GM_MAX_NODES];
	uint64_t node_reported[GM_MAX_NODES];	/* cumulative bytes */
	struct vmm_balloon_info info;
	bool stats_held;		/* the driver's stats buffer is ours */
	uint16_t stats_head;

	pthread_mutex_t stat_lock;	/* @stats, @stats_ns, @stats_seq, @want */
	pthread_cond_t stat_cond;
	struct vmm_balloon_stats stats;
	uint64_t stats_ns, stats_seq;
	bool want;
};

/* The bitmaps: @x's bit for the page at @gpa (inside @x), read, set, clear. */
static inline uint64_t bit_of(const struct extent *x, uint64_t gpa)
{
	return x->first + ((gpa - x->start) >> PAGE_SHIFT);
}

static inline bool test_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static inline void put_bit(uint64_t *map, uint64_t i, bool on)
{
	if (on)
		map[i / 64] |= 1ULL << (i % 64);
	else
		map[i / 64] &= ~(1ULL << (i % 64));
}

/* ---- virtio-balloon.c: guest RAM (device lock held) ----------------------- */

/* The extent (RAM or hot-plug region) holding all of [@gpa, @gpa + @len), or NULL. */
const struct extent *vmm_balloon_extent_of(const struct vmm_balloon *b,
					   uint64_t gpa, uint64_t len);
/* Count why [@gpa, @gpa + @len), not wholly in guest RAM, is refused. */
void vmm_balloon_refuse_range(struct vmm_balloon *b, uint64_t gpa, uint64_t len);
/* Release [@gpa, @gpa + @len) to the host (gm_mem_discard()), counted. */
void vmm_balloon_discard(struct vmm_balloon *b, uint64_t gpa, uint64_t len);

/* ---- balloon-report.c, balloon-stats.c: the queues' handlers (device lock) -- */

/* A free page report: each range checked, then released and counted. */
void vmm_balloon_report_buffer(struct vmm_balloon *b, const struct vmm_vq_chain *c);
/* A stats buffer: figures kept, readers woken; false if malformed (give it back). */
bool vmm_balloon_stats_buffer(struct vmm_balloon *b, const struct vmm_vq_chain *c);
/* ops.wake: give the held stats buffer back if a reader asked for fresh figures. */
void vmm_balloon_wake(struct vmm_virtio *vd);

#endif /* KVMEM_VMM_BALLOON_H */
