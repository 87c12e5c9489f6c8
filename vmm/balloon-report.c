// SPDX-License-Identifier: MIT
/*
 * balloon-report.c - free page reporting ([VIRTIO] 5.5.6.4, F_REPORTING):
 * the guest hands back free ranges it will not touch until it allocates
 * them again, and the host releases them; and the per-node figures of what
 * the balloon and the reports gave back (vmm_balloon_node()).
 *
 * Reporting buffers are the free ranges themselves (Linux: device-writable,
 * each a buddy block of at least pageblock_order); the device reads only
 * their addresses and lengths. The transport mapped each one to a host
 * pointer after checking it against guest memory; a range is released only
 * if it also lies wholly inside the VM's RAM, or wholly inside blocks of a
 * virtio-mem region that are plugged now, and is aligned to the host page
 * size (2 MiB with hugetlb pools), else it is refused and counted.
 * Apart from virtio-balloon.c because it is its own queue and its own
 * bitmap ("reported"), and its figures are mincore()'s, not the guest's.
 *
 * Hot-plugged memory. virtio-mem's worker plugs and unplugs blocks on its
 * own thread, under its own lock: the balloon asks for each block's plug
 * (vmm_vmem_block_id(), an allocation id, 0 when unplugged; ids are never
 * reused) and notes it beside the block's "reported" bits (extent.plug).
 * A block unplugged after the check is discarded anyway, which is
 * harmless (a free block of the region is zero and unbacked, and only the
 * VM allocates there); its bits are dropped as soon as the plug seen
 * differs from the one noted (sync_block()), so unplugged memory, or
 * memory plugged again since, never counts as released by the balloon.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "balloon.h"

/* The guest address of host pointer @p (one vmm_vq_map()ped iovec). */
static bool guest_addr(const struct vmm_balloon *b, const void *p, uint64_t len,
		       uint64_t *gpa)
{
	uintptr_t h = (uintptr_t)p;

	for (unsigned i = 0; i < b->nr_ranges; i++) {
		uintptr_t base = (uintptr_t)b->ranges[i].hva;

		if (h >= base && h - base < b->ranges[i].size &&
		    len <= b->ranges[i].size - (h - base)) {
			*gpa = b->ranges[i].start + (h - base);
			return true;
		}
	}
	return false;
}

/* Block @i of hot-plug extent @x is plug @id now: the bits of another plug go. */
static void sync_block(struct vmm_balloon *b, const struct extent *x, uint64_t i,
		       uint64_t id)
{
	uint64_t per = x->block / PAGE, first = x->first + i * per;

	if (x->plug[i] == id)
		return;
	for (uint64_t k = 0; k < per; k++)
		put_bit(b->reported, first + k, false);
	x->plug[i] = id;
}

/* Every block of hot-plug extent @x under [@gpa, @gpa + @len) is plugged now. */
static bool plugged_now(struct vmm_balloon *b, const struct extent *x,
			uint64_t gpa, uint64_t len)
{
	uint64_t last = (gpa + len - 1 - x->start) / x->block;

	for (uint64_t i = (gpa - x->start) / x->block; i <= last; i++) {
		uint64_t id = vmm_vmem_block_id(x->hp, i);

		sync_block(b, x, i, id);
		if (!id)
			return false;
	}
	return true;
}

static void report_range(struct vmm_balloon *b, const struct iovec *v)
{
	const struct extent *x;
	uint64_t gpa;

	if (!v->iov_base || !guest_addr(b, v->iov_base, v->iov_len, &gpa)) {
		b->info.refused_outside++;
		return;
	}
	if (!(x = vmm_balloon_extent_of(b, gpa, v->iov_len))) {
		vmm_balloon_refuse_range(b, gpa, v->iov_len);
		return;
	}
	if (!v->iov_len || (gpa | v->iov_len) & (b->granule - 1)) {
		b->info.refused_misaligned++;
		return;
	}
	if (x->hp && !plugged_now(b, x, gpa, v->iov_len)) {
		b->info.refused_unplugged++;
		return;
	}
	vmm_balloon_discard(b, gpa, v->iov_len);
	for (uint64_t a = gpa; a < gpa + v->iov_len; a += PAGE)
		put_bit(b->reported, bit_of(x, a), true);
	b->node_reported[x->node] += v->iov_len;
	b->info.reported += v->iov_len;
	b->info.reported_ranges++;
}

void vmm_balloon_report_buffer(struct vmm_balloon *b, const struct vmm_vq_chain *c)
{
	unsigned nr = c->nr_out + c->nr_in;

	if (c->err) {		/* a buffer outside guest memory: the whole report */
		b->info.refused_buffer++;
		return;
	}
	for (unsigned i = 0; i < nr; i++)
		report_range(b, &c->iov[i]);
}

/*
 * Reported pages among @pages pages at @hva (bits from @first) still
 * released (mincore: not resident); pages the guest has touched since are
 * resident again and leave the bitmap.
 */
static uint64_t still_released(struct vmm_balloon *b, const char *hva,
			       uint64_t first, uint64_t pages)
{
	unsigned char vec[1024];
	uint64_t out = 0;

	for (uint64_t p = 0; p < pages; p += sizeof(vec)) {
		uint64_t n = pages - p < sizeof(vec) ? pages - p : sizeof(vec), i;

		for (i = 0; i < n && !test_bit(b->reported, first + p + i); i++)
			;
		if (i == n)
			continue;
		if (mincore((void *)(hva + p * PAGE), n * PAGE, vec) < 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!test_bit(b->reported, first + p + i))
				continue;
			if (vec[i] & 1)
				put_bit(b->reported, first + p + i, false);
			else
				out += PAGE;
		}
	}
	return out;
}

/*
 * @x's reported pages still released. In a hot-plug region only those of
 * blocks still in the plug they were reported in, both before and after
 * the look (an unplug meanwhile releases them too, not the balloon).
 */
static uint64_t extent_released(struct vmm_balloon *b, const struct extent *x)
{
	const char *hva = gm_mem_hva(b->mem, x->start, x->end - x->start);
	uint64_t per = x->block / PAGE, out = 0;

	if (!hva)
		return 0;
	if (!x->hp)
		return still_released(b, hva, x->first, (x->end - x->start) / PAGE);
	for (uint64_t i = 0; i < (x->end - x->start) / x->block; i++) {
		uint64_t first = x->first + i * per, k, id, n;

		for (k = 0; k < per && !test_bit(b->reported, first + k); k++)
			;
		if (k == per)
			continue;
		id = vmm_vmem_block_id(x->hp, i);
		sync_block(b, x, i, id);
		if (!id)
			continue;
		n = still_released(b, hva + i * x->block, first, per);
		if (vmm_vmem_block_id(x->hp, i) == id)	/* else dropped next time */
			out += n;
	}
	return out;
}

int vmm_balloon_node(struct vmm_balloon *b, unsigned node,
		     struct vmm_balloon_node *out)
{
	unsigned nodes = gm_mem_nr_nodes(b->mem);
	bool all = node == VMM_BALLOON_ALL_NODES;

	if (!all && node >= nodes)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	vmm_virtio_lock(b->vd);
	for (unsigned n = 0; n < nodes; n++)
		if (all || n == node) {
			out->ballooned += b->node_ballooned[n];
			out->reported += b->node_reported[n];
		}
	for (unsigned i = 0; i < b->nr_ext; i++)
		if (all || b->ext[i].node == node)
			out->released += extent_released(b, &b->ext[i]);
	vmm_virtio_unlock(b->vd);
	return 0;
}
