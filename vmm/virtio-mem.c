// SPDX-License-Identifier: MIT
/*
 * virtio-mem.c - a node's hot-plug region as a virtio memory device
 * ([VIRTIO] 5.15): the guest plugs and unplugs blocks of the region on one
 * request queue, aiming at requested_size, which the host sets (the
 * nodes/nodeN/hotplug/requested file) and announces with a configuration
 * change interrupt.
 *
 * Memory. The region is the node's (guestmem: from=hotplug, only the VM
 * allocates there), already mapped into the guest as a KVM slot. A plugged
 * block is one VM-owned allocation of exactly that block ("vm.hpN.BLOCK"),
 * so the pool's accounting, the bitmap file and allocations/ show what the
 * guest holds; the shell can read it but never free it. An unplug frees
 * the blocks' allocations, which releases their host pages (MADV_DONTNEED:
 * they read back zero). Allocations per block rather than per request
 * because the driver unplugs any sub-range of what it plugged; but a
 * request's blocks are freed together (gm_free_ids()), one discard for
 * the whole range: each discard of populated memory is a KVM invalidation
 * and TLB flush, and Linux unplugs 128 MiB per request (64 blocks).
 *
 * Requests. Every field is the guest's: the block range must be non-empty,
 * block-aligned and inside the usable region (which is the whole region
 * here), else ERROR; a PLUG of a plugged block or an UNPLUG of an unplugged
 * one is ERROR too (the spec calls them invalid); a PLUG that would go past
 * requested_size is NACKed; a PLUG the pool cannot serve now (out of host
 * memory for the table) is BUSY, and leaves nothing plugged. UNPLUG_ALL
 * always succeeds, and so does a device reset (and destroy), which unplugs
 * everything: a rebooted guest starts with nothing plugged.
 *
 * Threads: requests run on the device worker under vd->lock; the file
 * callbacks take the same lock (vmm_virtio_lock()), and so does the
 * balloon's worker asking which blocks are plugged (vmm_vmem_block_id(),
 * under the balloon's lock: that order only, virtio-mem never calls it).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

#define VIRTIO_ID_MEM			24
#define VIRTIO_MEM_F_ACPI_PXM		0
#define VMEM_QUEUE_SIZE			128
#define VMEM_MAX_SEGS			8

/* [VIRTIO] 5.15.4 configuration layout (little-endian) */
#define CFG_BLOCK_SIZE		0
#define CFG_NODE_ID		8
#define CFG_ADDR		16
#define CFG_REGION_SIZE		24
#define CFG_USABLE_SIZE		32
#define CFG_PLUGGED_SIZE	40
#define CFG_REQUESTED_SIZE	48
#define CFG_SIZE		56

struct vmm_vmem {
	struct gm_mem *mem;
	unsigned node;
	uint64_t addr, size, block, nr_blocks;
	uint64_t requested, plugged;	/* bytes; vd->lock */
	uint64_t *id;			/* per block: its allocation, 0 unplugged */
	uint64_t *scratch;		/* nr_blocks ids: what one unplug frees */
	uint64_t refused;		/* requests answered ERROR or NACK */
	struct vmm_virtio *vd;
};

/* Little-endian fields of a request or response (any alignment). */
static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void cfg_put64(struct vmm_virtio *vd, unsigned off, uint64_t v,
		      bool notify)
{
	uint64_t le = htole64(v);

	vmm_virtio_config_set_locked(vd, off, &le, sizeof(le), notify);
}

/*
 * Free the allocations of plugged blocks [@first, @first + @nr) at once;
 * their host pages go with them. If the batch is refused as a whole (no
 * memory for it, or a bug), each block is freed on its own, so only what
 * the pool refuses is lost (reported). The blocks are unplugged either
 * way: the guest was told they are gone.
 */
static void unplug_blocks(struct vmm_vmem *v, uint64_t first, uint64_t nr)
{
	uint64_t k = 0;
	struct gm_error e;
	int ret;

	for (uint64_t i = first; i < first + nr; i++)
		if (v->id[i])
			v->scratch[k++] = v->id[i];
	ret = gm_free_ids(v->mem, v->scratch, (unsigned)k, GM_OWNER_VM, &e);
	if (ret == -EIO)	/* the others were freed */
		fprintf(stderr, "kvmem: virtio-mem node %u: blocks %" PRIu64 "-%" PRIu64
			" not all freed: %s\n", v->node, first, first + nr - 1, e.msg);
	for (uint64_t j = 0; ret && ret != -EIO && j < k; j++)
		if (gm_free_id(v->mem, v->scratch[j], GM_OWNER_VM, &e))
			fprintf(stderr, "kvmem: virtio-mem node %u: allocation %" PRIu64
				" not freed: %s\n", v->node, v->scratch[j], e.msg);
	for (uint64_t i = first; i < first + nr; i++)
		if (v->id[i]) {
			v->id[i] = 0;
			v->plugged -= v->block;
		}
}

static int plug_block(struct vmm_vmem *v, uint64_t i)
{
	struct gm_alloc_info *info;
	struct gm_request req;
	struct gm_error e;
	int ret;

	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), GM_VM_PREFIX "hp%u.%" PRIu64, v->node, i);
	snprintf(req.purpose, sizeof(req.purpose), "hot-plugged, node %u", v->node);
	req.node = v->node;
	req.from = GM_FROM_HOTPLUG;
	req.mode = GM_MODE_RANGE;
	req.range_start = v->addr + i * v->block;
	req.range_end = req.range_start + v->block;
	req.size = v->block;
	ret = gm_alloc(v->mem, &req, &info, &e);
	if (ret)
		return ret;
	v->id[i] = info->id;
	v->plugged += v->block;
	gm_alloc_info_free(info);
	return 0;
}

static void unplug_all(struct vmm_vmem *v)
{
	unplug_blocks(v, 0, v->nr_blocks);
}

/* How many of blocks [@first, @first + @nr) are plugged. */
static uint64_t count_plugged(const struct vmm_vmem *v, uint64_t first, uint64_t nr)
{
	uint64_t n = 0;

	for (uint64_t i = first; i < first + nr; i++)
		n += v->id[i] != 0;
	return n;
}

/*
 * vmm_vmem_request() - see virtio.h. @req is the request as the guest
 * wrote it (@len bytes, any length); the answer goes into @resp.
 */
void vmm_vmem_request(struct vmm_vmem *v, const void *req, size_t len,
		      struct vmm_vmem_resp *resp)
{
	uint8_t r[VMM_VMEM_REQ_SIZE];
	uint64_t addr, first = 0, nr, was = v->plugged;
	uint16_t type;

	memset(resp, 0, sizeof(*resp));
	resp->type = VMM_VMEM_RESP_ERROR;
	if (len < sizeof(r))
		goto refused;
	memcpy(r, req, sizeof(r));
	type = (uint16_t)get_le(r, 2);
	addr = get_le(r + 8, 8);
	nr = get_le(r + 16, 2);
	if (type == VMM_VMEM_REQ_UNPLUG_ALL) {
		unplug_all(v);
		resp->type = VMM_VMEM_RESP_ACK;
		goto out;
	}
	if (type > VMM_VMEM_REQ_STATE)
		goto refused;
	/* the range: non-empty, on a block, inside the (usable) region */
	if (!nr || addr < v->addr || (addr - v->addr) % v->block ||
	    (addr - v->addr) / v->block >= v->nr_blocks ||
	    nr > v->nr_blocks - (addr - v->addr) / v->block)
		goto refused;
	first = (addr - v->addr) / v->block;
	switch (type) {
	case VMM_VMEM_REQ_PLUG:
		if (count_plugged(v, first, nr))
			goto refused;
		if (v->plugged + nr * v->block > v->requested) {
			resp->type = VMM_VMEM_RESP_NACK;
			goto refused;
		}
		for (uint64_t i = first; i < first + nr; i++) {
			if (plug_block(v, i) == 0)
				continue;
			unplug_blocks(v, first, i - first);	/* all or nothing */
			resp->type = VMM_VMEM_RESP_BUSY;
			goto out;
		}
		break;
	case VMM_VMEM_REQ_UNPLUG:
		if (count_plugged(v, first, nr) != nr)
			goto refused;
		unplug_blocks(v, first, nr);
		break;
	case VMM_VMEM_REQ_STATE: {
		uint64_t n = count_plugged(v, first, nr);

		resp->state = n == nr ? VMM_VMEM_STATE_PLUGGED :
			      n ? VMM_VMEM_STATE_MIXED : VMM_VMEM_STATE_UNPLUGGED;
		break;
	}
	}
	resp->type = VMM_VMEM_RESP_ACK;
	goto out;
refused:
	v->refused++;
out:
	if (v->plugged != was && v->vd)
		cfg_put64(v->vd, CFG_PLUGGED_SIZE, v->plugged, false);
}

static void vmem_notify(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_vmem *v = vmm_virtio_priv(vd);
	struct vmm_vq *vq = vmm_virtio_queue(vd, q);
	struct iovec iov[VMEM_MAX_SEGS];
	struct vmm_vq_chain c = { .iov = iov, .max = VMEM_MAX_SEGS };
	int ret;

	do {
		vmm_vq_notify_off(vq);
		while ((ret = vmm_vq_pop(vq, &c)) > 0) {
			uint8_t req[VMM_VMEM_REQ_SIZE], out[VMM_VMEM_RESP_SIZE] = { 0 };
			struct vmm_vmem_resp resp;
			size_t n = 0;
			uint32_t written = 0;

			if (!c.err)
				n = vmm_iov_copy_from(c.iov, c.nr_out, 0, req, sizeof(req));
			if (c.err || c.in_len < sizeof(out)) {
				v->refused++;	/* nowhere to answer */
			} else {
				vmm_vmem_request(v, req, n, &resp);
				put_le16(out, resp.type);
				put_le16(out + 8, resp.state);
				written = (uint32_t)vmm_iov_copy_to(c.iov + c.nr_out, c.nr_in,
								    0, out, sizeof(out));
			}
			vmm_vq_push(vq, c.head, written);
		}
	} while (ret == 0 && vmm_vq_notify_on(vq));
	vmm_virtio_used(vd, q);
}

static void vmem_reset(struct vmm_virtio *vd)
{
	struct vmm_vmem *v = vmm_virtio_priv(vd);

	unplug_all(v);
	cfg_put64(vd, CFG_PLUGGED_SIZE, 0, false);
}

static const struct vmm_virtio_ops vmem_ops = {
	.name = "mem",
	.device_id = VIRTIO_ID_MEM,
	.features = 1ULL << VIRTIO_MEM_F_ACPI_PXM,
	.nr_queues = 1,
	.queue_size = VMEM_QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.notify = vmem_notify,
	.reset = vmem_reset,
};

int vmm_vmem_create(struct gm_mem *mem, unsigned node, uint64_t requested,
		    struct vmm_vmem **out)
{
	struct gm_node_stat st;
	struct vmm_vmem *v;
	int ret;

	ret = gm_node_stat(mem, node, &st);
	if (ret)
		return ret;
	if (!st.hotplug_size || !st.hotplug_block || requested > st.hotplug_size ||
	    requested % st.hotplug_block)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->mem = mem;
	v->node = node;
	v->addr = st.hotplug_base;
	v->size = st.hotplug_size;
	v->block = st.hotplug_block;
	v->nr_blocks = v->size / v->block;
	v->requested = requested;
	v->id = calloc(v->nr_blocks, sizeof(*v->id));
	v->scratch = calloc(v->nr_blocks, sizeof(*v->scratch));
	if (!v->id || !v->scratch) {
		free(v->id);
		free(v->scratch);
		free(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

int vmm_vmem_device(struct vmm_vmem *v, struct vmm_virtio **out)
{
	uint64_t le;
	uint16_t pxm = htole16((uint16_t)v->node);	/* SRAT: domain N is node N */
	int ret;

	if (v->vd)
		return -EBUSY;
	ret = vmm_virtio_create(v->mem, &vmem_ops, v, &v->vd);
	if (ret)
		return ret;
	le = htole64(v->block);
	vmm_virtio_config_set(v->vd, CFG_BLOCK_SIZE, &le, 8, false);
	vmm_virtio_config_set(v->vd, CFG_NODE_ID, &pxm, 2, false);
	le = htole64(v->addr);
	vmm_virtio_config_set(v->vd, CFG_ADDR, &le, 8, false);
	le = htole64(v->size);
	vmm_virtio_config_set(v->vd, CFG_REGION_SIZE, &le, 8, false);
	vmm_virtio_config_set(v->vd, CFG_USABLE_SIZE, &le, 8, false);
	le = htole64(v->plugged);
	vmm_virtio_config_set(v->vd, CFG_PLUGGED_SIZE, &le, 8, false);
	le = htole64(v->requested);
	vmm_virtio_config_set(v->vd, CFG_REQUESTED_SIZE, &le, 8, false);
	*out = v->vd;
	return 0;
}

void vmm_vmem_detach(struct vmm_vmem *v)
{
	if (!v || !v->vd)
		return;
	vmm_virtio_destroy(v->vd);	/* resets first: everything unplugged */
	v->vd = NULL;
}

void vmm_vmem_destroy(struct vmm_vmem *v)
{
	if (!v)
		return;
	vmm_vmem_detach(v);
	unplug_all(v);			/* thread-less use (tests) */
	free(v->id);
	free(v->scratch);
	free(v);
}

static void lock(struct vmm_vmem *v)
{
	if (v->vd)
		vmm_virtio_lock(v->vd);
}

static void unlock(struct vmm_vmem *v)
{
	if (v->vd)
		vmm_virtio_unlock(v->vd);
}

int vmm_vmem_set_requested(struct vmm_vmem *v, uint64_t size)
{
	if (size > v->size || size % v->block)
		return -EINVAL;
	lock(v);
	if (size != v->requested) {
		v->requested = size;
		if (v->vd)
			cfg_put64(v->vd, CFG_REQUESTED_SIZE, size, true);
	}
	unlock(v);
	return 0;
}

void vmm_vmem_info(struct vmm_vmem *v, struct vmm_vmem_info *info)
{
	lock(v);
	*info = (struct vmm_vmem_info){
		.node = v->node, .addr = v->addr, .size = v->size,
		.block = v->block, .requested = v->requested,
		.plugged = v->plugged, .refused = v->refused,
	};
	unlock(v);
}

uint64_t vmm_vmem_block_id(struct vmm_vmem *v, uint64_t i)
{
	uint64_t id;

	lock(v);
	id = i < v->nr_blocks ? v->id[i] : 0;
	unlock(v);
	return id;
}
