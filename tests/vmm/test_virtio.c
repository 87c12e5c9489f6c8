// SPDX-License-Identifier: MIT
/*
 * test_virtio.c - the virtio-mmio transport and the virtqueue core, driven
 * the way Linux's virtio_mmio and virtio_ring drive them, on a thread-less
 * device over a backed 64 MiB gm_mem (no KVM): probe registers, feature
 * negotiation, queue setup, chains (direct, indirect, across two memory
 * ranges), interrupts and their suppression, a broken ring, reset, the
 * config space. The device under test is the real virtio-rng plus a small
 * test device with config space and two queues.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio-driver.h"
#include "../check-run.h"

#define MIB		(1ULL << 20)
#define RING		0x100000ULL	/* queue 0's rings */
#define BUF		0x200000ULL	/* buffers */

static struct gm_mem *mem;
static struct vmm_virtio *vd;

/* ---- the driver (virtio-driver.h) bound to this file's rings ---------------- */

static void *g(uint64_t gpa)
{
	void *p = gm_mem_hva(mem, gpa, 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Queue @q's rings at RING + q * 64 KiB: desc, +4K avail, +8K used. */
static uint64_t ring(unsigned q)
{
	return RING + q * 0x10000ULL;
}

/* Reset, then status ACK|DRIVER, features (low and high word), FEATURES_OK; status. */
static uint32_t negotiate(uint32_t lo, uint32_t hi)
{
	vio_reset(vd);
	return vio_negotiate(vd, lo, hi);
}

static void setup_queue(unsigned q, unsigned size)
{
	vio_queue_at(vd, q, size, ring(q), g(ring(q)));
}

static void desc(unsigned q, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	vio_desc(g(ring(q)), i, addr, len, flags, next);
}

/* Make chain @head available on queue @q (of @size). */
static void avail(unsigned q, unsigned size, uint16_t head)
{
	vio_avail_add(g(ring(q) + VIO_AVAIL_OFF), size, head);
}

static uint16_t used_idx(unsigned q)
{
	return vio_used_idx(g(ring(q) + VIO_USED_OFF));
}

static void used_elem(unsigned q, unsigned i, uint32_t *id, uint32_t *len)
{
	vio_used_elem(g(ring(q) + VIO_USED_OFF), i, id, len);
}

/* ---- fixtures -------------------------------------------------------------- */

static void setup(void)
{
	struct gm_config cfg;
	struct gm_error e;

	gm_config_init(&cfg);
	cfg.nr_nodes = 2;
	cfg.node[0].size = 64 * MIB;
	cfg.node[1].size = 16 * MIB;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	ck_assert_int_eq(vmm_rng_create(mem, &vd), 0);
}

static void teardown(void)
{
	vmm_rng_destroy(vd);
	gm_mem_destroy(mem);
	vd = NULL;
	mem = NULL;
}

/* ---- cases ----------------------------------------------------------------- */

/*
 * Expect what Linux's virtio_mmio probe reads: magic "virt", version 2,
 * device 4, a vendor; features VERSION_1 (bit 32), INDIRECT_DESC (28),
 * EVENT_IDX (29) and nothing else; 32-bit registers only (a byte read
 * gives 0).
 */
START_TEST(test_probe)
{
	uint8_t b = 0xff;

	ck_assert_uint_eq(vio_rd(vd, 0x000), 0x74726976);
	ck_assert_uint_eq(vio_rd(vd, 0x004), 2);
	ck_assert_uint_eq(vio_rd(vd, 0x008), 4);
	ck_assert_uint_ne(vio_rd(vd, 0x00c), 0);
	vio_wr(vd, 0x014, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x010), (1u << 28) | (1u << 29));
	vio_wr(vd, 0x014, 1);
	ck_assert_uint_eq(vio_rd(vd, 0x010), 1);
	vio_wr(vd, 0x014, 2);
	ck_assert_uint_eq(vio_rd(vd, 0x010), 0);
	vmm_virtio_mmio(vd, 0x000, &b, 1, false);
	ck_assert_uint_eq(b, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x0b0), 0xffffffffu);	/* no shared memory */
}
END_TEST

/*
 * Expect FEATURES_OK to stick only with VERSION_1 and no unoffered bit,
 * and DRIVER_OK only after FEATURES_OK.
 */
START_TEST(test_negotiation)
{
	ck_assert_uint_eq(negotiate(0, 0) & VIRTIO_STATUS_FEATURES_OK, 0);
	ck_assert_uint_eq(negotiate(1u << 3, 1) & VIRTIO_STATUS_FEATURES_OK, 0);
	ck_assert_uint_eq(negotiate(0, 1 | 2) & VIRTIO_STATUS_FEATURES_OK, 0);
	vio_wr(vd, 0x070, 0);
	vio_wr(vd, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		  VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(vio_rd(vd, 0x070) & VIRTIO_STATUS_DRIVER_OK, 0);
	ck_assert_uint_eq(negotiate(1u << 28, 1) & VIRTIO_STATUS_FEATURES_OK,
			  VIRTIO_STATUS_FEATURES_OK);
	/* features are frozen once FEATURES_OK is set */
	vio_wr(vd, 0x024, 0);
	vio_wr(vd, 0x020, 0);
	vio_driver_ok(vd);
	ck_assert_uint_eq(vio_rd(vd, 0x070), 0xf);
	{
		struct vmm_virtio_stat st;

		vmm_virtio_stat(vd, &st);
		ck_assert_uint_eq(st.features, (1ULL << 28) | (1ULL << 32));
	}
}
END_TEST

/*
 * Expect: QueueNumMax 64 for queue 0, 0 for a queue the device does not
 * have; a size that is not a power of two, above the maximum, or a ring
 * outside guest memory leaves the queue not ready and sets
 * DEVICE_NEEDS_RESET; a good one is ready.
 */
START_TEST(test_queue_setup)
{
	negotiate(0, 1);
	vio_wr(vd, 0x030, 1);
	ck_assert_uint_eq(vio_rd(vd, 0x034), 0);
	vio_wr(vd, 0x030, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x034), 64);
	setup_queue(0, 48);
	ck_assert_uint_eq(vio_rd(vd, 0x044), 0);
	ck_assert_uint_eq(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);

	negotiate(0, 1);
	ck_assert_uint_eq(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	setup_queue(0, 128);
	ck_assert_uint_eq(vio_rd(vd, 0x044), 0);

	negotiate(0, 1);
	ck_assert_uint_eq(vio_queue_setup(vd, 0, 64, 0xd0000000u,	/* the MMIO hole */
					  RING + 0x1000, RING + 0x2000), 0);
	ck_assert_uint_ne(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);

	negotiate(0, 1);
	setup_queue(0, 64);
	ck_assert_uint_eq(vio_rd(vd, 0x044), 1);
	ck_assert_uint_eq(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

/*
 * Expect a direct chain (a 16-byte readable buffer, then two writable
 * ones) to come back in the used ring with every writable byte written
 * (rng fills them) and the readable one untouched, and InterruptStatus
 * bit 0 set, cleared by InterruptACK.
 */
START_TEST(test_direct_chain)
{
	uint32_t id, len;
	uint8_t *out = g(BUF), *in = g(BUF + 0x1000);

	negotiate(0, 1);
	setup_queue(0, 64);
	vio_driver_ok(vd);
	memset(out, 0x11, 16);
	memset(in, 0, 600);
	desc(0, 3, BUF, 16, VIRTQ_DESC_F_NEXT, 7);
	desc(0, 7, BUF + 0x1000, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 9);
	desc(0, 9, BUF + 0x1000 + 100, 500, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 64, 3);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 1);
	used_elem(0, 0, &id, &len);
	ck_assert_uint_eq(id, 3);
	ck_assert_uint_eq(len, 600);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(out[i], 0x11);
	{
		unsigned zero = 0;

		for (int i = 0; i < 600; i++)
			zero += !in[i];
		ck_assert_uint_lt(zero, 30);	/* random bytes: ~2 zeros */
	}
	ck_assert_uint_eq(vio_rd(vd, 0x060), VIRTIO_INT_USED);
	vio_wr(vd, 0x064, VIRTIO_INT_USED);
	ck_assert_uint_eq(vio_rd(vd, 0x060), 0);
}
END_TEST

/*
 * Expect an indirect chain (INDIRECT_DESC negotiated) to be served the
 * same way, and one whose buffer crosses from node 0's memory into ... no
 * memory (past the end) to fail alone with 0 bytes written, the queue
 * still working afterwards.
 */
START_TEST(test_indirect_and_bad_buffer)
{
	uint64_t table = BUF + 0x10000;
	char *t = g(table);
	uint32_t id, len;

	negotiate(1u << 28, 1);
	setup_queue(0, 64);
	vio_driver_ok(vd);
	for (unsigned i = 0; i < 3; i++) {
		uint64_t a = BUF + 0x2000 + i * 0x100;
		uint32_t l = 0x100;
		uint16_t f = VIRTQ_DESC_F_WRITE | (i < 2 ? VIRTQ_DESC_F_NEXT : 0);
		uint16_t n = (uint16_t)(i + 1);

		memcpy(t + 16 * i, &a, 8);
		memcpy(t + 16 * i + 8, &l, 4);
		memcpy(t + 16 * i + 12, &f, 2);
		memcpy(t + 16 * i + 14, &n, 2);
	}
	desc(0, 0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0, 1, 64 * MIB - 0x80, 0x100, VIRTQ_DESC_F_WRITE, 0);	/* past node 0 */
	desc(0, 2, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 64, 0);
	avail(0, 64, 1);
	avail(0, 64, 2);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 3);
	used_elem(0, 0, &id, &len);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 0x300);
	used_elem(0, 1, &id, &len);
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(len, 0);
	used_elem(0, 2, &id, &len);
	ck_assert_uint_eq(id, 2);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

/*
 * Expect a descriptor loop (and, next time, a head out of range) to break
 * the ring: DEVICE_NEEDS_RESET, a configuration interrupt, nothing used,
 * nothing served until a reset; after the reset the device works again.
 */
START_TEST(test_loop_needs_reset)
{
	struct vmm_virtio_stat st;

	negotiate(0, 1);
	setup_queue(0, 64);
	vio_driver_ok(vd);
	desc(0, 0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	avail(0, 64, 0);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 0);
	ck_assert_uint_ne(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x060), VIRTIO_INT_CONFIG);
	desc(0, 1, BUF, 8, VIRTQ_DESC_F_WRITE, 0);	/* fixed: still ignored */
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 0);

	vio_wr(vd, 0x070, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x070), 0);
	ck_assert_uint_eq(vio_rd(vd, 0x060), 0);
	vio_wr(vd, 0x030, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x044), 0);
	negotiate(0, 1);
	setup_queue(0, 64);
	vio_driver_ok(vd);
	avail(0, 64, 0);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 1);

	avail(0, 64, 64);				/* head out of range */
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_ne(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	vmm_virtio_stat(vd, &st);
	ck_assert_uint_ge(st.resets, 2);
	ck_assert_uint_eq(st.config_irqs, 2);
}
END_TEST

/*
 * Expect interrupt suppression: with EVENT_IDX and used_event = 2, the
 * first two completions raise nothing and the third does; without it the
 * NO_INTERRUPT flag silences them. And chains made available before
 * DRIVER_OK are served when DRIVER_OK is set.
 */
START_TEST(test_suppression)
{
	char *a;
	uint16_t ev = 2, flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	struct vmm_virtio_stat st;

	negotiate(1u << 29, 1);
	setup_queue(0, 64);
	a = g(RING + 0x1000);
	memcpy(a + 4 + 2 * 64, &ev, 2);		/* used_event */
	desc(0, 0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 64, 0);			/* before DRIVER_OK */
	vio_driver_ok(vd);
	ck_assert_uint_eq(used_idx(0), 1);
	ck_assert_uint_eq(vio_rd(vd, 0x060), 0);
	avail(0, 64, 0);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 2);
	ck_assert_uint_eq(vio_rd(vd, 0x060), 0);
	avail(0, 64, 0);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 3);
	ck_assert_uint_eq(vio_rd(vd, 0x060), VIRTIO_INT_USED);
	{	/* the device asks to be notified at the next entry */
		uint16_t ae;

		memcpy(&ae, (char *)g(RING + 0x2000) + 4 + 8 * 64, 2);
		ck_assert_uint_eq(ae, 3);
	}

	negotiate(0, 1);
	setup_queue(0, 64);
	vio_driver_ok(vd);
	a = g(RING + 0x1000);
	memcpy(a, &flags, 2);
	desc(0, 0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	vmm_virtio_stat(vd, &st);
	avail(0, 64, 0);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(used_idx(0), 1);
	ck_assert_uint_eq(vio_rd(vd, 0x060), 0);
	flags = 0;
	memcpy(a, &flags, 2);
	avail(0, 64, 0);
	vio_wr(vd, 0x050, 0);
	ck_assert_uint_eq(vio_rd(vd, 0x060), VIRTIO_INT_USED);
}
END_TEST

/* ---- a device with config space and two queues ------------------------------- */

static unsigned writes;

static void cfg_notify(struct vmm_virtio *d, unsigned q)
{
	(void)d;
	(void)q;
}

static void cfg_write(struct vmm_virtio *d, unsigned off, const uint8_t *data,
		      unsigned len)
{
	writes++;
	if (off == 4 && len == 4)		/* only field 1 is writable */
		vmm_virtio_config_set_locked(d, off, data, len, false);
}

static const struct vmm_virtio_ops cfg_ops = {
	.name = "cfg", .device_id = 99, .nr_queues = 2, .queue_size = 8,
	.config_size = 12, .notify = cfg_notify, .config_write = cfg_write,
};

/*
 * Expect config reads of any width to return the device's bytes (zeros
 * past the end), config_set to bump ConfigGeneration and raise a config
 * interrupt once DRIVER_OK is set, writes to reach the device only inside
 * the space.
 */
START_TEST(test_config_space)
{
	struct vmm_virtio *save = vd;
	uint64_t v64 = 0x1122334455667788ULL, got = 0;
	uint32_t v32 = 0xdeadbeef, gen;
	uint8_t b;

	ck_assert_int_eq(vmm_virtio_create(mem, &cfg_ops, NULL, &vd), 0);
	ck_assert_int_eq(vmm_virtio_config_set(vd, 0, &v64, 8, true), 0);
	ck_assert_int_eq(vmm_virtio_config_set(vd, 8, &v64, 8, false), -EINVAL);
	vmm_virtio_mmio(vd, 0x100, (uint8_t *)&got, 8, false);
	ck_assert_uint_eq(got, v64);
	vmm_virtio_mmio(vd, 0x103, &b, 1, false);
	ck_assert_uint_eq(b, 0x55);
	vmm_virtio_mmio(vd, 0x10a, (uint8_t *)&v32, 4, false);
	ck_assert_uint_eq(v32, 0);		/* 2 bytes past the end read 0 */
	ck_assert_uint_eq(vio_rd(vd, 0x060), 0);	/* no interrupt before DRIVER_OK */

	v32 = 0xcafef00d;
	vmm_virtio_mmio(vd, 0x104, (uint8_t *)&v32, 4, true);
	vmm_virtio_mmio(vd, 0x10a, (uint8_t *)&v32, 4, true);	/* crosses the end */
	ck_assert_uint_eq(writes, 1);
	vmm_virtio_mmio(vd, 0x104, (uint8_t *)&got, 4, false);
	ck_assert_uint_eq((uint32_t)got, 0xcafef00d);

	negotiate(0, 1);
	setup_queue(0, 8);
	setup_queue(1, 8);
	vio_wr(vd, 0x030, 2);
	ck_assert_uint_eq(vio_rd(vd, 0x034), 0);
	vio_driver_ok(vd);
	gen = vio_rd(vd, 0x0fc);
	ck_assert_int_eq(vmm_virtio_config_set(vd, 8, &v32, 4, true), 0);
	ck_assert_uint_eq(vio_rd(vd, 0x0fc), gen + 1);
	ck_assert_uint_eq(vio_rd(vd, 0x060), VIRTIO_INT_CONFIG);
	vmm_virtio_destroy(vd);
	vd = save;
}
END_TEST

/*
 * Expect vmm_vq_map() to refuse what is not guest memory (the hole, past
 * the end, wrap-around) and to cut a span that crosses from one range into
 * the next adjacent one into two iovecs; the iovec helpers to copy and
 * slice across iovec boundaries.
 */
START_TEST(test_map_and_iov)
{
	struct gm_range r[2];
	struct iovec iov[4], sl[4];
	char a[8] = "abcdefg", b[8] = "hijklmn", out[16];

	ck_assert_int_eq(vmm_vq_map(mem, 0, 0, iov, 4), 0);
	ck_assert_int_eq(vmm_vq_map(mem, 64 * MIB - 8, 16, iov, 4), -EFAULT);
	ck_assert_int_eq(vmm_vq_map(mem, 0xd0000000ULL, 4, iov, 4), -EFAULT);
	ck_assert_int_eq(vmm_vq_map(mem, ~0ULL - 3, 8, iov, 4), -EFAULT);
	ck_assert_int_eq(vmm_vq_map(mem, 4096, 16, iov, 0), -E2BIG);
	ck_assert_int_eq(vmm_vq_map(mem, 4096, 16, iov, 4), 1);
	ck_assert_ptr_eq(iov[0].iov_base, gm_mem_hva(mem, 4096, 16));
	/* node 1 starts at 4 GiB: not adjacent here, so crossing fails */
	ck_assert_int_eq(gm_node_ranges(mem, 1, r, 2), 1);
	ck_assert_int_eq(vmm_vq_map(mem, r[0].start - 8, 16, iov, 4), -EFAULT);

	iov[0] = (struct iovec){ a, 7 };
	iov[1] = (struct iovec){ b, 7 };
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(vmm_iov_copy_from(iov, 2, 5, out, 5), 5);
	ck_assert_str_eq(out, "fghij");
	ck_assert_uint_eq(vmm_iov_copy_to(iov, 2, 6, "XY", 2), 2);
	ck_assert_str_eq(a, "abcdefX");
	ck_assert_str_eq(b, "Yijklmn");
	ck_assert_uint_eq(vmm_iov_copy_from(iov, 2, 13, out, 5), 1);
	ck_assert_int_eq(vmm_iov_slice(iov, 2, 3, 8, sl, 4), 2);
	ck_assert_ptr_eq(sl[0].iov_base, a + 3);
	ck_assert_uint_eq(sl[0].iov_len, 4);
	ck_assert_uint_eq(sl[1].iov_len, 4);
	ck_assert_int_eq(vmm_iov_slice(iov, 2, 3, 20, sl, 4), -EINVAL);
	ck_assert_int_eq(vmm_iov_slice(iov, 2, 3, 8, sl, 1), -E2BIG);
}
END_TEST

/*
 * Expect node 0's two ranges when it spans the MMIO hole, and a buffer
 * crossing from node 0's high range into node 1 right after it (adjacent)
 * to map as two iovecs in order.
 */
START_TEST(test_map_adjacent_ranges)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *m2;
	struct iovec iov[4];
	uint64_t edge = 6ULL << 30;

	gm_config_init(&cfg);
	cfg.nr_nodes = 2;
	cfg.node[0].size = 5ULL << 30;		/* [0, 3G) and [4G, 6G) */
	cfg.node[1].size = 16 * MIB;		/* at 6G */
	ck_assert_int_eq(gm_mem_create(&cfg, &m2, &e), 0);
	ck_assert_int_eq(gm_mem_back(m2, 0, &e), 0);
	ck_assert_int_eq(vmm_vq_map(m2, edge - 100, 300, iov, 4), 2);
	ck_assert_ptr_eq(iov[0].iov_base, gm_mem_hva(m2, edge - 100, 100));
	ck_assert_uint_eq(iov[0].iov_len, 100);
	ck_assert_ptr_eq(iov[1].iov_base, gm_mem_hva(m2, edge, 200));
	ck_assert_uint_eq(iov[1].iov_len, 200);
	ck_assert_int_eq(vmm_vq_map(m2, edge - 100, 300, iov, 1), -E2BIG);
	ck_assert_int_eq(vmm_vq_map(m2, 3ULL << 30, 8, iov, 4), -EFAULT);
	gm_mem_destroy(m2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio");
	TCase *tc = tcase_create("transport");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_negotiation);
	tcase_add_test(tc, test_queue_setup);
	tcase_add_test(tc, test_direct_chain);
	tcase_add_test(tc, test_indirect_and_bad_buffer);
	tcase_add_test(tc, test_loop_needs_reset);
	tcase_add_test(tc, test_suppression);
	tcase_add_test(tc, test_config_space);
	tcase_add_test(tc, test_map_and_iov);
	tcase_add_test(tc, test_map_adjacent_ranges);
	suite_add_tcase(s, tc);
	return check_run(s);
}
