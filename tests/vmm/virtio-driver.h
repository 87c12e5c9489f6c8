/* SPDX-License-Identifier: MIT */
/*
 * virtio-driver.h - the test-side virtio-mmio driver that the unit tests
 * (test_virtio, test_vmem) and the fuzzers (fuzz_virtq, fuzz_blk,
 * fuzz_balloon, fuzz_vmem) share: register access through
 * vmm_virtio_mmio(), the driver's init sequence ([VIRTIO] 3.1.1), queue
 * setup (4.2.3.2) and the split rings as a driver writes and reads them
 * (2.7), all in guest memory the caller maps.
 *
 * Nothing here checks or asserts: each helper does what a driver does and
 * returns what the device answered, so a Check test asserts it with
 * ck_assert and a fuzzer with CHECK. Values are written as given - a
 * fuzzer passes malformed ones on purpose - and no helper resets the
 * device on its own (a reset is counted in the device's statistics): the
 * caller writes status 0 where it wants one (vio_reset()).
 */
#ifndef KVMEM_TESTS_VIRTIO_DRIVER_H
#define KVMEM_TESTS_VIRTIO_DRIVER_H

#include <stdint.h>
#include <string.h>

#include "virtio.h"

/* [VIRTIO] 4.2.2: the registers the helpers write. */
#define VIO_DEV_FEATURES	0x010
#define VIO_DEV_FEATURES_SEL	0x014
#define VIO_DRV_FEATURES	0x020
#define VIO_DRV_FEATURES_SEL	0x024
#define VIO_QUEUE_SEL		0x030
#define VIO_QUEUE_NUM_MAX	0x034
#define VIO_QUEUE_NUM		0x038
#define VIO_QUEUE_READY		0x044
#define VIO_QUEUE_NOTIFY	0x050
#define VIO_STATUS		0x070
#define VIO_QUEUE_DESC		0x080	/* low word; high word at +4 */
#define VIO_QUEUE_DRIVER	0x090
#define VIO_QUEUE_DEVICE	0x0a0

/*
 * The tests' ring layout at a base address: descriptor table, available
 * ring at +4 KiB, used ring at +8 KiB; room for queues of up to 256.
 */
#define VIO_AVAIL_OFF		0x1000
#define VIO_USED_OFF		0x2000
#define VIO_RING_SPAN		0x3000

/* A 32-bit register read / write at @off of @vd's window. */
static inline uint32_t vio_rd(struct vmm_virtio *vd, unsigned off)
{
	uint32_t v;

	vmm_virtio_mmio(vd, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline void vio_wr(struct vmm_virtio *vd, unsigned off, uint32_t v)
{
	vmm_virtio_mmio(vd, off, (uint8_t *)&v, 4, true);
}

/* Status 0: the device resets (and counts it). */
static inline void vio_reset(struct vmm_virtio *vd)
{
	vio_wr(vd, VIO_STATUS, 0);
}

/* ACKNOWLEDGE, then DRIVER: steps 2 and 3 of [VIRTIO] 3.1.1. */
static inline void vio_begin(struct vmm_virtio *vd)
{
	vio_wr(vd, VIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vio_wr(vd, VIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

/* The 64 feature bits the device offers (both DeviceFeaturesSel words). */
static inline uint64_t vio_offered(struct vmm_virtio *vd)
{
	uint64_t f;

	vio_wr(vd, VIO_DEV_FEATURES_SEL, 0);
	f = vio_rd(vd, VIO_DEV_FEATURES);
	vio_wr(vd, VIO_DEV_FEATURES_SEL, 1);
	return f | (uint64_t)vio_rd(vd, VIO_DEV_FEATURES) << 32;
}

/*
 * Write the driver's features, low word @lo and high word @hi (bit 0 of
 * @hi is VERSION_1), then set FEATURES_OK; the status read back (without
 * FEATURES_OK when the device refused the set).
 */
static inline uint32_t vio_accept(struct vmm_virtio *vd, uint32_t lo, uint32_t hi)
{
	vio_wr(vd, VIO_DRV_FEATURES_SEL, 0);
	vio_wr(vd, VIO_DRV_FEATURES, lo);
	vio_wr(vd, VIO_DRV_FEATURES_SEL, 1);
	vio_wr(vd, VIO_DRV_FEATURES, hi);
	vio_wr(vd, VIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
	return vio_rd(vd, VIO_STATUS);
}

/* vio_begin() then vio_accept(@lo, @hi): the status read back. */
static inline uint32_t vio_negotiate(struct vmm_virtio *vd, uint32_t lo, uint32_t hi)
{
	vio_begin(vd);
	return vio_accept(vd, lo, hi);
}

/* QueueNumMax of queue @q (selects it). */
static inline uint32_t vio_queue_max(struct vmm_virtio *vd, unsigned q)
{
	vio_wr(vd, VIO_QUEUE_SEL, q);
	return vio_rd(vd, VIO_QUEUE_NUM_MAX);
}

/*
 * Set queue @q up: QueueNum @size, the three ring addresses (both words of
 * each), QueueReady 1; what QueueReady reads back (0: the device refused).
 */
static inline uint32_t vio_queue_setup(struct vmm_virtio *vd, uint32_t q, uint32_t size,
				       uint64_t desc, uint64_t avail, uint64_t used)
{
	vio_wr(vd, VIO_QUEUE_SEL, q);
	vio_wr(vd, VIO_QUEUE_NUM, size);
	vio_wr(vd, VIO_QUEUE_DESC, (uint32_t)desc);
	vio_wr(vd, VIO_QUEUE_DESC + 4, (uint32_t)(desc >> 32));
	vio_wr(vd, VIO_QUEUE_DRIVER, (uint32_t)avail);
	vio_wr(vd, VIO_QUEUE_DRIVER + 4, (uint32_t)(avail >> 32));
	vio_wr(vd, VIO_QUEUE_DEVICE, (uint32_t)used);
	vio_wr(vd, VIO_QUEUE_DEVICE + 4, (uint32_t)(used >> 32));
	vio_wr(vd, VIO_QUEUE_READY, 1);
	return vio_rd(vd, VIO_QUEUE_READY);
}

/*
 * Queue @q of @size in the tests' layout at @gpa (VIO_AVAIL_OFF,
 * VIO_USED_OFF), whose VIO_RING_SPAN bytes at host @hva are zeroed first,
 * as a driver does; QueueReady read back.
 */
static inline uint32_t vio_queue_at(struct vmm_virtio *vd, unsigned q, uint32_t size,
				    uint64_t gpa, void *hva)
{
	memset(hva, 0, VIO_RING_SPAN);
	return vio_queue_setup(vd, q, size, gpa, gpa + VIO_AVAIL_OFF, gpa + VIO_USED_OFF);
}

/* Set DRIVER_OK on top of the current status; the status read back. */
static inline uint32_t vio_driver_ok(struct vmm_virtio *vd)
{
	vio_wr(vd, VIO_STATUS, vio_rd(vd, VIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	return vio_rd(vd, VIO_STATUS);
}

/* @bytes (<= 8) of @v at @p, little-endian (the guest's byte order). */
static inline void vio_put_le(void *p, uint64_t v, unsigned bytes)
{
	uint8_t *b = p;

	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t vio_get_le(const void *p, unsigned bytes)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* Descriptor @i of the table at host @table ([VIRTIO] 2.7.5). */
static inline void vio_desc(void *table, unsigned i, uint64_t addr, uint32_t len,
			    uint16_t flags, uint16_t next)
{
	uint8_t *d = (uint8_t *)table + 16 * i;

	vio_put_le(d, addr, 8);
	vio_put_le(d + 8, len, 4);
	vio_put_le(d + 12, flags, 2);
	vio_put_le(d + 14, next, 2);
}

/* The available ring at host @avail ([VIRTIO] 2.7.6): its idx. */
static inline uint16_t vio_avail_idx(const void *avail)
{
	return (uint16_t)vio_get_le((const uint8_t *)avail + 2, 2);
}

/* Entry @idx (mod @size) of the available ring: chain @head. */
static inline void vio_avail_put(void *avail, unsigned size, uint16_t idx, uint16_t head)
{
	vio_put_le((uint8_t *)avail + 4 + 2 * (idx % size), head, 2);
}

/* Publish @idx: the entries before it reach the device first. */
static inline void vio_avail_publish(void *avail, uint16_t idx)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vio_put_le((uint8_t *)avail + 2, idx, 2);
}

/* Make chain @head available after the ring's last entry; the new idx. */
static inline uint16_t vio_avail_add(void *avail, unsigned size, uint16_t head)
{
	uint16_t idx = vio_avail_idx(avail);

	vio_avail_put(avail, size, idx, head);
	vio_avail_publish(avail, (uint16_t)(idx + 1));
	return (uint16_t)(idx + 1);
}

/* The used ring at host @used ([VIRTIO] 2.7.8): its idx, element @slot. */
static inline uint16_t vio_used_idx(const void *used)
{
	return (uint16_t)vio_get_le((const uint8_t *)used + 2, 2);
}

static inline void vio_used_elem(const void *used, unsigned slot, uint32_t *id,
				 uint32_t *len)
{
	const uint8_t *e = (const uint8_t *)used + 4 + 8 * slot;

	*id = (uint32_t)vio_get_le(e, 4);
	*len = (uint32_t)vio_get_le(e + 4, 4);
}

/*
 * A virtio-mem request's fields at host @req ([VIRTIO] 5.15.6.1: type at
 * 0, addr at 8, nb_blocks at 16); the padding is left as it is.
 */
static inline void vio_vmem_req(void *req, uint16_t type, uint64_t addr, uint16_t nb)
{
	vio_put_le(req, type, 2);
	vio_put_le((uint8_t *)req + 8, addr, 8);
	vio_put_le((uint8_t *)req + 16, nb, 2);
}

#endif
