// SPDX-License-Identifier: MIT
/*
 * virtio-balloon.c - the traditional memory balloon ([VIRTIO] 5.5): how a
 * guest gives host memory back. This file is the device: its queues, the
 * inflate and deflate buffers, the target and actual sizes, its life cycle.
 * Free page reporting is balloon-report.c, the statistics queue
 * balloon-stats.c; what they share is balloon.h.
 *
 * Queues, numbered without gaps as the driver does ([VIRTIO] 5.5.2: an
 * optional queue not negotiated takes no number): 0 inflate, 1 deflate,
 * then stats (F_STATS_VQ), then reporting (F_REPORTING) - so reporting is
 * queue 3 with stats, 2 without. Every queue has 128 entries (Linux
 * refuses a reporting queue of fewer than 32).
 *
 * Inflate and deflate buffers are arrays of le32 4 KiB page frame numbers
 * (Linux sends up to 256 a buffer).
 *
 * The guest is untrusted. A page or range is acted on only if it lies
 * wholly inside the guest's RAM (the VM-owned vm.ramN allocations, so
 * never an early range - kernel, ACPI tables -, a CMA area, the headroom,
 * a device window or a hole) and is aligned to 4 KiB (reported ranges: to
 * the host page size, 2 MiB with hugetlb pools); a reported range may also
 * lie in a virtio-mem region, wholly inside blocks plugged now
 * (vmm_balloon_add_hotplug(), balloon-report.c), but an inflate or deflate
 * there is refused as outside. Anything else is refused
 * and counted by reason (struct vmm_balloon_info), never acted on - also
 * a page of an early range the guest was given as RAM (its kernel image,
 * its initrd: Linux frees their init parts into its allocator and may
 * balloon or report them), counted apart since Linux does it; an
 * inflate of a page already in the balloon or a deflate of one not in it
 * is refused the same way. The device keeps one bit per 4 KiB page of
 * guest RAM for "in the balloon", and one for "reported".
 *
 * Releasing is gm_mem_discard() (MADV_DONTNEED): the pages read back zero,
 * stay mapped and stay the guest's RAM - they never go back to the buddy,
 * since the guest chooses which pages it deflates and touches them again
 * whenever it likes. With hugetlb pools a 2 MiB page is released once all
 * 512 of its 4 KiB pages are in the balloon. A deflate needs no host
 * action (MUST_TELL_HOST only orders it before the guest's next use).
 *
 * Locking: the queue handlers run on the worker under the device lock,
 * which also covers the bitmaps, the counters and the hot-plug extents'
 * plug notes (readers take it with vmm_virtio_lock()); under it, a report
 * or a reader asks virtio-mem which blocks are plugged, which takes that
 * device's lock (never the other way round). The extents themselves are
 * fixed once the driver starts. The statistics have their own lock and
 * condition, so a reader can wait for the guest's answer without holding
 * the device.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balloon.h"

#define VIRTIO_ID_BALLOON	5

/* [VIRTIO] 5.5.3 feature bits */
#define BALLOON_F_MUST_TELL_HOST	0
#define BALLOON_F_STATS_VQ		1
#define BALLOON_F_REPORTING		5

#define CFG_NUM_PAGES		0
#define CFG_ACTUAL		4
#define CFG_SIZE		8

#define BALLOON_QUEUE_SIZE	128
#define BALLOON_MAX_IOV		64	/* a report is up to 32 ranges (Linux) */
#define BALLOON_MAX_PFNS	16384	/* one inflate/deflate buffer: 64 KiB */

/* ---- guest RAM ---------------------------------------------------------- */

/* The extent holding all of [gpa, gpa + len), or NULL. */
const struct extent *vmm_balloon_extent_of(const struct vmm_balloon *b,
					   uint64_t gpa, uint64_t len)
{
	unsigned lo = 0, hi = b->nr_ext;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct extent *x = &b->ext[mid];

		if (gpa < x->start)
			hi = mid;
		else if (gpa >= x->end)
			lo = mid + 1;
		else
			return len <= x->end - gpa ? x : NULL;
	}
	return NULL;
}

/* All pages of [gpa, gpa + len) (inside @x) are in the balloon. */
static bool all_ballooned(const struct vmm_balloon *b, const struct extent *x,
			  uint64_t gpa, uint64_t len)
{
	for (uint64_t a = gpa; a < gpa + len; a += PAGE)
		if (!test_bit(b->ballooned, bit_of(x, a)))
			return false;
	return true;
}

void vmm_balloon_discard(struct vmm_balloon *b, uint64_t gpa, uint64_t len)
{
	if (gm_mem_discard(b->mem, gpa, len))
		b->info.discard_failed++;
	else
		b->info.released += len;
}

/*
 * Release the host pages of the inflated run [start, end) of @x: the whole
 * host pages (granules) around it whose every 4 KiB page is ballooned,
 * in as few calls as possible.
 */
static void release_run(struct vmm_balloon *b, const struct extent *x,
			uint64_t start, uint64_t end)
{
	uint64_t g = b->granule, at = 0, len = 0;

	for (uint64_t a = start & ~(g - 1); a < end; a += g) {
		bool whole = a >= x->start && a + g <= x->end &&
			     (g == PAGE || all_ballooned(b, x, a, g));

		if (whole) {
			if (!len)
				at = a;
			len += g;
		} else if (len) {
			vmm_balloon_discard(b, at, len);
			len = 0;
		}
	}
	if (len)
		vmm_balloon_discard(b, at, len);
}

/* Why [gpa, gpa + len), not wholly in guest RAM, is refused: counted. */
void vmm_balloon_refuse_range(struct vmm_balloon *b, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < b->nr_early; i++) {
		const struct gm_early_range *r = &b->early[i];

		if (gpa < r->start + r->size && r->start < gpa + len) {
			b->info.refused_early++;
			return;
		}
	}
	b->info.refused_outside++;
}

/* ---- inflate and deflate -------------------------------------------------------- */

/* One page frame of an inflate (@in) or deflate buffer; true if acted on. */
static bool one_pfn(struct vmm_balloon *b, uint32_t pfn, bool in,
		    const struct extent **xp)
{
	uint64_t gpa = (uint64_t)pfn << PAGE_SHIFT, bit;
	const struct extent *x = vmm_balloon_extent_of(b, gpa, PAGE);

	*xp = x;
	if (!x || x->hp) {		/* hot-plugged memory: reports only */
		vmm_balloon_refuse_range(b, gpa, PAGE);
		return false;
	}
	bit = bit_of(x, gpa);
	if (test_bit(b->ballooned, bit) == in) {
		b->info.refused_state++;
		return false;
	}
	put_bit(b->ballooned, bit, in);
	if (in) {
		b->node_ballooned[x->node] += PAGE;
		b->info.actual += PAGE;
		b->info.inflated += PAGE;
	} else {
		b->node_ballooned[x->node] -= PAGE;
		b->info.actual -= PAGE;
		b->info.deflated += PAGE;
	}
	return true;
}

static void pfn_buffer(struct vmm_balloon *b, const struct vmm_vq_chain *c, bool in)
{
	const struct extent *run_x = NULL, *x;
	uint64_t run_start = 0, run_end = 0;
	uint32_t pfns[256];
	size_t off = 0;

	if (c->err || c->in_len || c->out_len % 4 || c->out_len > BALLOON_MAX_PFNS * 4) {
		b->info.refused_buffer++;
		return;
	}
	while (off < c->out_len) {
		size_t n = vmm_iov_copy_from(c->iov, c->nr_out, off, pfns, sizeof(pfns));

		if (!n)
			break;
		for (size_t i = 0; i < n / 4; i++) {
			uint64_t gpa = (uint64_t)le32toh(pfns[i]) << PAGE_SHIFT;

			if (!one_pfn(b, le32toh(pfns[i]), in, &x) || !in)
				continue;
			/* contiguous inflated pages are released in one call */
			if (x == run_x && gpa == run_end) {
				run_end += PAGE;
				continue;
			}
			if (run_x)
				release_run(b, run_x, run_start, run_end);
			run_x = x;
			run_start = gpa;
			run_end = gpa + PAGE;
		}
		off += n;
	}
	if (run_x)
		release_run(b, run_x, run_start, run_end);
}

/* ---- handlers ---------------------------------------------------------------------- */

static void balloon_notify(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_balloon *b = vmm_virtio_priv(vd);
	struct vmm_vq *vq = vmm_virtio_queue(vd, q);
	struct iovec iov[BALLOON_MAX_IOV];
	struct vmm_vq_chain c = { .iov = iov, .max = BALLOON_MAX_IOV };
	unsigned role = b->role[q];
	int ret;

	do {
		vmm_vq_notify_off(vq);
		while ((ret = vmm_vq_pop(vq, &c)) > 0) {
			switch (role) {
			case Q_INFLATE:
			case Q_DEFLATE:
				pfn_buffer(b, &c, role == Q_INFLATE);
				break;
			case Q_REPORT:
				vmm_balloon_report_buffer(b, &c);
				break;
			case Q_STATS:
				if (!vmm_balloon_stats_buffer(b, &c))
					break;
				if (b->stats_held)	/* a second one: give the first back */
					vmm_vq_push(vq, b->stats_head, 0);
				b->stats_held = true;
				b->stats_head = c.head;
				continue;
			default:		/* a queue the features do not have */
				b->info.refused_buffer++;
				break;
			}
			vmm_vq_push(vq, c.head, 0);
		}
	} while (ret == 0 && vmm_vq_notify_on(vq));
	vmm_virtio_used(vd, q);
}

static int balloon_start(struct vmm_virtio *vd, uint64_t features)
{
	struct vmm_balloon *b = vmm_virtio_priv(vd);
	unsigned q = 0;

	memset(b->role, Q_NONE, sizeof(b->role));
	b->role[q++] = Q_INFLATE;
	b->role[q++] = Q_DEFLATE;
	if (features & (1ULL << BALLOON_F_STATS_VQ))
		b->role[q++] = Q_STATS;
	if (features & (1ULL << BALLOON_F_REPORTING))
		b->role[q++] = Q_REPORT;
	return 0;
}

/*
 * A reset: the driver is gone, and a new one knows nothing of the old
 * balloon, so every page in it is the guest's again (still released: it
 * reads zero until touched).
 */
static void balloon_reset(struct vmm_virtio *vd)
{
	struct vmm_balloon *b = vmm_virtio_priv(vd);
	uint32_t zero = 0;

	memset(b->ballooned, 0, (b->nr_bits + 63) / 64 * 8);
	memset(b->node_ballooned, 0, sizeof(b->node_ballooned));
	b->info.actual = 0;
	b->info.guest_actual = 0;
	b->stats_held = false;
	memset(b->role, Q_NONE, sizeof(b->role));
	vmm_virtio_config_set_locked(vd, CFG_ACTUAL, &zero, 4, false);
}

/* The driver writes only `actual` ([VIRTIO] 5.5.6.1): keep it, drop the rest. */
static void balloon_config_write(struct vmm_virtio *vd, unsigned off,
				 const uint8_t *data, unsigned len)
{
	struct vmm_balloon *b = vmm_virtio_priv(vd);
	uint32_t v;

	if (off != CFG_ACTUAL || len != 4)
		return;
	memcpy(&v, data, 4);
	b->info.guest_actual = (uint64_t)le32toh(v) * PAGE;
	vmm_virtio_config_set_locked(vd, off, data, len, false);
}

static const struct vmm_virtio_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.features = (1ULL << BALLOON_F_MUST_TELL_HOST) | (1ULL << BALLOON_F_STATS_VQ) |
		    (1ULL << BALLOON_F_REPORTING),
	.nr_queues = 4,
	.queue_size = BALLOON_QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.notify = balloon_notify,
	.start = balloon_start,
	.reset = balloon_reset,
	.config_write = balloon_config_write,
	.wake = vmm_balloon_wake,
};

/* ---- the files' side ------------------------------------------------------------------ */

int vmm_balloon_set_target(struct vmm_balloon *b, uint64_t bytes)
{
	uint32_t pages;

	if (bytes % PAGE || bytes > b->ram)
		return -EINVAL;
	pages = htole32((uint32_t)(bytes / PAGE));
	vmm_virtio_lock(b->vd);
	b->info.target = bytes;
	vmm_virtio_unlock(b->vd);
	return vmm_virtio_config_set(b->vd, CFG_NUM_PAGES, &pages, 4, true);
}

void vmm_balloon_info(struct vmm_balloon *b, struct vmm_balloon_info *info)
{
	vmm_virtio_lock(b->vd);
	*info = b->info;
	info->ram = b->ram;
	vmm_virtio_unlock(b->vd);
}

/* ---- life cycle -------------------------------------------------------------------------- */

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The extents of the VM's RAM allocations @ids, sorted, adjacent ones merged. */
static int build_extents(struct vmm_balloon *b, const uint64_t *ids, unsigned nr)
{
	size_t cap = 0;
	unsigned n = 0;
	uint64_t first = 0;

	for (unsigned i = 0; i < nr; i++) {
		struct gm_alloc_info *info;
		int ret = gm_alloc_get_id(b->mem, ids[i], &info);

		if (ret)
			return ret;
		for (unsigned k = 0; k < info->nr_blocks; k++) {
			if (gm_grow(&b->ext, &cap, n + 1, sizeof(*b->ext))) {
				gm_alloc_info_free(info);
				return -ENOMEM;
			}
			b->ext[n++] = (struct extent){
				.start = info->blocks[k].gpa,
				.end = info->blocks[k].gpa + info->blocks[k].size,
				.node = info->req.node,
			};
		}
		gm_alloc_info_free(info);
	}
	qsort(b->ext, n, sizeof(*b->ext), cmp_extent);
	b->nr_ext = 0;
	for (unsigned i = 0; i < n; i++) {
		struct extent *last = b->nr_ext ? &b->ext[b->nr_ext - 1] : NULL;

		if (last && last->end == b->ext[i].start && last->node == b->ext[i].node)
			last->end = b->ext[i].end;
		else
			b->ext[b->nr_ext++] = b->ext[i];
	}
	for (unsigned i = 0; i < b->nr_ext; i++) {
		b->ext[i].first = first;
		first += (b->ext[i].end - b->ext[i].start) / PAGE;
	}
	b->ram = first * PAGE;
	b->nr_bits = first;
	return 0;
}

/* Every node's early ranges (they never change after retire). */
static int build_early(struct vmm_balloon *b)
{
	unsigned nodes = gm_mem_nr_nodes(b->mem);
	size_t cap = 0;

	for (unsigned node = 0; node < nodes; node++) {
		int k = gm_early_ranges(b->mem, node, NULL, 0);

		if (k < 0)
			return k;
		if (gm_grow(&b->early, &cap, b->nr_early + (unsigned)k + 1, sizeof(*b->early)))
			return -ENOMEM;
		k = gm_early_ranges(b->mem, node, b->early + b->nr_early, (unsigned)k);
		if (k < 0)
			return k;
		b->nr_early += (unsigned)k;
	}
	return 0;
}

static int build_ranges(struct vmm_balloon *b)
{
	unsigned nodes = gm_mem_nr_nodes(b->mem), n = 0;
	size_t cap = 0;

	for (unsigned node = 0; node < nodes; node++) {
		struct gm_range r[8];
		int k = gm_node_ranges(b->mem, node, r, 8);

		if (k < 0 || k > 8)
			return k < 0 ? k : -E2BIG;
		for (int i = 0; i < k; i++) {
			if (!r[i].hva)
				continue;
			if (gm_grow(&b->ranges, &cap, n + 1, sizeof(*b->ranges)))
				return -ENOMEM;
			b->ranges[n++] = r[i];
		}
	}
	b->nr_ranges = n;
	return 0;
}

int vmm_balloon_create(struct gm_mem *mem, const uint64_t *ram_ids, unsigned nr,
		       struct vmm_balloon **out)
{
	pthread_condattr_t ca;
	struct vmm_balloon *b;
	size_t words;
	int ret;

	if (!mem || (nr && !ram_ids))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->mem = mem;
	b->granule = gm_mem_page_size(mem);
	pthread_mutex_init(&b->stat_lock, NULL);
	/* the wait for fresh statistics is timed on the monotonic clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->stat_cond, &ca);
	pthread_condattr_destroy(&ca);
	memset(b->role, Q_NONE, sizeof(b->role));
	ret = build_extents(b, ram_ids, nr);
	if (!ret)
		ret = build_ranges(b);
	if (!ret)
		ret = build_early(b);
	if (ret)
		goto err;
	words = (b->nr_bits + 63) / 64;
	b->ballooned = calloc(words ? words : 1, 8);
	b->reported = calloc(words ? words : 1, 8);
	ret = -ENOMEM;
	if (!b->ballooned || !b->reported)
		goto err;
	ret = vmm_virtio_create(mem, &balloon_ops, b, &b->vd);
	if (ret)
		goto err;
	*out = b;
	return 0;
err:
	vmm_balloon_destroy(b);
	return ret;
}

/*
 * Grow @map (one bit per page, @had pages) to @pages, the new bits clear;
 * on -ENOMEM it is as it was.
 */
static int grow_map(uint64_t **map, uint64_t had, uint64_t pages)
{
	uint64_t old = (had + 63) / 64, words = (pages + 63) / 64;
	uint64_t *m = realloc(*map, (words ? words : 1) * 8);

	if (!m)
		return -ENOMEM;
	if (words > old)
		memset(m + old, 0, (words - old) * 8);
	*map = m;
	return 0;
}

int vmm_balloon_add_hotplug(struct vmm_balloon *b, struct vmm_vmem *v)
{
	struct vmm_vmem_info vi;
	struct extent *ext;
	uint64_t *plug, pages;
	unsigned at = 0;

	if (!b || !v)
		return -EINVAL;
	if (b->role[0] != Q_NONE)
		return -EBUSY;		/* the driver runs: the bitmaps are in use */
	vmm_vmem_info(v, &vi);
	if (!vi.block || vi.block % b->granule || !vi.size || vi.size % vi.block ||
	    vi.addr % vi.block)
		return -EINVAL;
	for (unsigned i = 0; i < b->nr_ext; i++) {
		if (b->ext[i].hp == v)
			return -EEXIST;
		if (vi.addr < b->ext[i].end && b->ext[i].start < vi.addr + vi.size)
			return -EINVAL;
		if (b->ext[i].start < vi.addr)
			at = i + 1;
	}
	pages = vi.size / PAGE;
	plug = calloc(vi.size / vi.block, sizeof(*plug));
	ext = plug ? realloc(b->ext, (b->nr_ext + 1) * sizeof(*ext)) : NULL;
	if (ext)
		b->ext = ext;
	/* a bitmap grown for nothing is only a larger allocation */
	if (!ext || grow_map(&b->ballooned, b->nr_bits, b->nr_bits + pages) ||
	    grow_map(&b->reported, b->nr_bits, b->nr_bits + pages)) {
		free(plug);
		return -ENOMEM;
	}
	memmove(&ext[at + 1], &ext[at], (b->nr_ext - at) * sizeof(*ext));
	ext[at] = (struct extent){
		.start = vi.addr, .end = vi.addr + vi.size, .node = vi.node,
		.first = b->nr_bits, .hp = v, .block = vi.block, .plug = plug,
	};
	b->nr_ext++;
	b->nr_bits += pages;
	return 0;
}

struct vmm_virtio *vmm_balloon_virtio(struct vmm_balloon *b)
{
	return b->vd;
}

void vmm_balloon_destroy(struct vmm_balloon *b)
{
	if (!b)
		return;
	vmm_virtio_destroy(b->vd);
	pthread_cond_destroy(&b->stat_cond);
	pthread_mutex_destroy(&b->stat_lock);
	free(b->ballooned);
	free(b->reported);
	free(b->ranges);
	free(b->early);
	for (unsigned i = 0; i < b->nr_ext; i++)
		free(b->ext[i].plug);
	free(b->ext);
	free(b);
}
