// SPDX-License-Identifier: MIT
/*
 * test_balloon.c - free page reporting (vmm/balloon-report.c) in
 * hot-plugged memory: a thread-less balloon and a virtio-mem region over
 * one backed, retired gm_mem, no KVM. The balloon is driven through the
 * real transport as Linux drives it (features MUST_TELL_HOST and
 * REPORTING: queues inflate, deflate, reporting); virtio-mem's requests go
 * straight to vmm_vmem_request() under its device lock, as its worker runs
 * them.
 *
 *   0        16M            48M     64M          128M                256M
 *   | rings  | vm.ram0 (RAM) |       |   (hole)   | hot-plug region    |
 *     bufs                                          2 MiB blocks
 *
 * Expect a report inside plugged blocks to release their host pages (zero,
 * not resident) and to be counted; one touching an unplugged block, or
 * past the region, refused with nothing discarded; an unplug (or an unplug
 * and a new plug) to take the block out of "released".
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hotplug-node.h"
#include "virtio-driver.h"
#include "../check-run.h"

#define MIB		(1ULL << 20)
#define PAGE		4096ULL
#define RAM_START	(16 * MIB)
#define RAM_SIZE	(32 * MIB)
#define RINGS		(1 * MIB)	/* 3 queues, 16 KiB apart */
#define BUFS		(2 * MIB)
#define REGION		(128 * MIB)
#define QSIZE		128
#define Q_REPORT	2		/* without the stats queue */
#define F_MUST_TELL	(1u << 0)
#define F_REPORT	(1u << 5)
#define MARK		0x5a

static struct gm_mem *mem;
static struct vmm_balloon *bl;
static struct vmm_virtio *vd, *vmem_vd;
static struct vmm_vmem *vm;
static uint64_t base;			/* the region */
static uint16_t avail_idx[3];

static uint8_t *g(uint64_t gpa)
{
	uint8_t *p = gm_mem_hva(mem, gpa, 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* virtio-mem: one request as its worker runs it; the response type. */
static int vmem(uint16_t type, uint64_t addr, uint16_t nb)
{
	uint8_t req[VMM_VMEM_REQ_SIZE] = { 0 };
	struct vmm_vmem_resp resp;

	vio_vmem_req(req, type, addr, nb);
	vmm_virtio_lock(vmem_vd);
	vmm_vmem_request(vm, req, sizeof(req), &resp);
	vmm_virtio_unlock(vmem_vd);
	return resp.type;
}

struct range { uint64_t gpa; uint32_t len; };

/* One report of @nr ranges (device-writable buffers), run; it comes back. */
static void report(const struct range *r, unsigned nr)
{
	uint64_t ring = RINGS + Q_REPORT * 0x4000;
	uint8_t *avail = g(ring + VIO_AVAIL_OFF);
	unsigned slot = (unsigned)(avail_idx[Q_REPORT] % QSIZE) * 4 % QSIZE;

	ck_assert_uint_le(nr, 4);
	for (unsigned i = 0; i < nr; i++)
		vio_desc(g(ring), slot + i, r[i].gpa, r[i].len,
			 (uint16_t)(VIRTQ_DESC_F_WRITE | (i + 1 < nr ? VIRTQ_DESC_F_NEXT : 0)),
			 (uint16_t)(slot + i + 1));
	vio_avail_put(avail, QSIZE, avail_idx[Q_REPORT]++, (uint16_t)slot);
	vio_avail_publish(avail, avail_idx[Q_REPORT]);
	vio_wr(vd, VIO_QUEUE_NOTIFY, Q_REPORT);
	ck_assert_int_eq(vmm_virtio_poll(vd), 0);
	ck_assert_uint_eq(vio_used_idx(g(ring + VIO_USED_OFF)), avail_idx[Q_REPORT]);
}

static void report1(uint64_t gpa, uint64_t len)
{
	struct range r = { gpa, (uint32_t)len };

	report(&r, 1);
}

/* An inflate of the one page at @gpa. */
static void inflate(uint64_t gpa)
{
	uint32_t pfn = htole32((uint32_t)(gpa >> 12));

	memcpy(g(BUFS), &pfn, 4);
	vio_desc(g(RINGS), 0, BUFS, 4, 0, 0);
	vio_avail_add(g(RINGS + VIO_AVAIL_OFF), QSIZE, 0);
	avail_idx[0]++;
	vio_wr(vd, VIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(vmm_virtio_poll(vd), 0);
}

/* Every byte of [gpa, gpa + len), sampled each 512 bytes, is @v. */
static bool all(uint64_t gpa, uint64_t len, uint8_t v)
{
	const uint8_t *p = gm_mem_hva(mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	for (uint64_t i = 0; i < len; i += 512)
		if (p[i] != v)
			return false;
	return true;
}

/* Pages of [gpa, gpa + len) resident on the host. */
static uint64_t resident(uint64_t gpa, uint64_t len)
{
	static unsigned char vec[REGION / PAGE];
	uint64_t n = 0;

	ck_assert_int_eq(mincore(gm_mem_hva(mem, gpa, len), len, vec), 0);
	for (uint64_t i = 0; i < len / PAGE; i++)
		n += vec[i] & 1;
	return n;
}

static uint64_t released(void)
{
	struct vmm_balloon_node n;

	ck_assert_int_eq(vmm_balloon_node(bl, 0, &n), 0);
	return n.released;
}

static void info(struct vmm_balloon_info *i)
{
	vmm_balloon_info(bl, i);
}

static void setup(void)
{
	struct gm_alloc_info *ai;
	struct gm_request req;
	struct gm_error e;
	uint64_t id;

	mem = hp_node_create(REGION, &base);
	ck_assert_uint_eq(base, 128 * MIB);

	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), "vm.ram0");
	req.size = RAM_SIZE;
	req.mode = GM_MODE_RANGE;
	req.range_start = RAM_START;
	req.range_end = RAM_START + RAM_SIZE;
	ck_assert_int_eq(gm_alloc(mem, &req, &ai, &e), 0);
	id = ai->id;
	gm_alloc_info_free(ai);

	ck_assert_int_eq(vmm_vmem_create(mem, 0, REGION, &vm), 0);
	ck_assert_int_eq(vmm_vmem_device(vm, &vmem_vd), 0);
	ck_assert_int_eq(vmm_balloon_create(mem, &id, 1, &bl), 0);
	ck_assert_int_eq(vmm_balloon_add_hotplug(bl, vm), 0);
	vd = vmm_balloon_virtio(bl);

	/* the driver: MUST_TELL_HOST and REPORTING, so reporting is queue 2 */
	vio_reset(vd);
	vio_begin(vd);
	ck_assert_uint_ne(vio_accept(vd, F_MUST_TELL | F_REPORT, 1) & VIRTIO_STATUS_FEATURES_OK, 0);
	for (unsigned q = 0; q < 3; q++) {
		uint64_t r = RINGS + q * 0x4000;

		ck_assert_uint_eq(vio_queue_at(vd, q, QSIZE, r, g(r)), 1);
		avail_idx[q] = 0;
	}
	ck_assert_uint_eq(vio_driver_ok(vd) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void teardown(void)
{
	vmm_balloon_destroy(bl);
	vmm_vmem_destroy(vm);
	gm_mem_destroy(mem);
}

/*
 * Plug blocks 0-3 (8 MiB), write them, report blocks 1-2 as one range and
 * block 0 in RAM's company (a second range in vm.ram0). Expect blocks 1-2
 * and the RAM range to read zero and leave the host, blocks 0 and 3 to
 * keep their bytes, every figure to count 6 MiB in 2 ranges, nothing
 * refused.
 */
START_TEST(test_report_plugged)
{
	struct range r[2] = { { base + 2 * MIB, 4 * MIB }, { RAM_START, 2 * MIB } };
	struct vmm_balloon_info i;
	struct vmm_balloon_node n;

	ck_assert_int_eq(vmem(VMM_VMEM_REQ_PLUG, base, 4), VMM_VMEM_RESP_ACK);
	memset(g(base), MARK, 8 * MIB);
	memset(g(RAM_START), MARK, 2 * MIB);
	ck_assert_uint_eq(resident(base, 8 * MIB), 8 * MIB / PAGE);
	report(r, 2);
	/* mincore first: reading a released page maps the zero page */
	ck_assert_uint_eq(resident(base + 2 * MIB, 4 * MIB), 0);
	ck_assert_uint_eq(resident(base, 2 * MIB), 2 * MIB / PAGE);
	ck_assert_uint_eq(resident(RAM_START, 2 * MIB), 0);
	info(&i);
	ck_assert_uint_eq(i.reported, 6 * MIB);
	ck_assert_uint_eq(i.reported_ranges, 2);
	ck_assert_uint_eq(i.released, 6 * MIB);
	ck_assert_uint_eq(i.refused_outside + i.refused_unplugged + i.refused_misaligned, 0);
	ck_assert_uint_eq(i.ram, RAM_SIZE);		/* the region is not RAM */
	ck_assert_int_eq(vmm_balloon_node(bl, 0, &n), 0);
	ck_assert_uint_eq(n.reported, 6 * MIB);
	ck_assert_uint_eq(n.released, 6 * MIB);
	ck_assert_int_eq(vmm_balloon_node(bl, VMM_BALLOON_ALL_NODES, &n), 0);
	ck_assert_uint_eq(n.released, 6 * MIB);
	ck_assert(all(base, 2 * MIB, MARK));
	ck_assert(all(base + 2 * MIB, 4 * MIB, 0));
	ck_assert(all(base + 6 * MIB, 2 * MIB, MARK));
	ck_assert(all(RAM_START, 2 * MIB, 0));

	/* read back: the pages are resident again (the zero page), not released */
	ck_assert_uint_eq(released(), 0);
}
END_TEST

/*
 * Block 0 plugged, block 1 not; both written. Expect a report of block 1,
 * of blocks 0-1 and of a range past the region's end each refused with
 * nothing discarded (every byte still there), only the unplugged ones
 * counted as "unplugged"; an inflate of a page of block 0 refused as
 * outside; nothing reported or released.
 */
START_TEST(test_report_unplugged)
{
	struct vmm_balloon_info i;

	ck_assert_int_eq(vmem(VMM_VMEM_REQ_PLUG, base, 1), VMM_VMEM_RESP_ACK);
	memset(g(base), MARK, 4 * MIB);		/* block 1 is free: the test may */
	memset(g(base + REGION - 2 * MIB), MARK, 2 * MIB);
	report1(base + 2 * MIB, 2 * MIB);
	report1(base, 4 * MIB);
	info(&i);
	ck_assert_uint_eq(i.refused_unplugged, 2);
	ck_assert(all(base, 4 * MIB, MARK));
	ck_assert_uint_eq(resident(base, 4 * MIB), 4 * MIB / PAGE);

	/* straddling the region's end: past guest memory, the whole report refused */
	report1(base + REGION - 2 * MIB, 4 * MIB);
	info(&i);
	ck_assert_uint_eq(i.refused_buffer + i.refused_outside, 1);
	ck_assert(all(base + REGION - 2 * MIB, 2 * MIB, MARK));

	inflate(base + 4096);
	info(&i);
	ck_assert_uint_eq(i.refused_outside, 1 + (i.refused_buffer ? 0 : 1));
	ck_assert_uint_eq(i.actual, 0);
	ck_assert(all(base, 2 * MIB, MARK));

	ck_assert_uint_eq(i.reported, 0);
	ck_assert_uint_eq(i.reported_ranges, 0);
	ck_assert_uint_eq(i.released, 0);
	ck_assert_uint_eq(i.refused_unplugged, 2);
	ck_assert_uint_eq(released(), 0);
}
END_TEST

/*
 * Blocks 0-1 plugged, written and reported: 4 MiB released. Unplug block
 * 1: expect 2 MiB released (the unplug released it, not the balloon);
 * plug it again (zero and unbacked: not resident): still 2 MiB, as
 * the new plug was never reported; report it: 4 MiB. UNPLUG_ALL: 0. The
 * cumulative figures stay.
 */
START_TEST(test_unplug_forgets)
{
	struct vmm_balloon_info i;
	struct vmm_balloon_node n;

	ck_assert_int_eq(vmem(VMM_VMEM_REQ_PLUG, base, 2), VMM_VMEM_RESP_ACK);
	memset(g(base), MARK, 4 * MIB);
	report1(base, 4 * MIB);
	ck_assert_uint_eq(released(), 4 * MIB);
	ck_assert_int_eq(vmem(VMM_VMEM_REQ_UNPLUG, base + 2 * MIB, 1), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(released(), 2 * MIB);
	ck_assert_int_eq(vmem(VMM_VMEM_REQ_PLUG, base + 2 * MIB, 1), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(resident(base + 2 * MIB, 2 * MIB), 0);
	ck_assert_uint_eq(released(), 2 * MIB);

	/* unplugged and plugged again between two reads: the same */
	ck_assert_int_eq(vmem(VMM_VMEM_REQ_UNPLUG, base, 1), VMM_VMEM_RESP_ACK);
	ck_assert_int_eq(vmem(VMM_VMEM_REQ_PLUG, base, 1), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(released(), 0);

	report1(base, 4 * MIB);
	ck_assert_uint_eq(released(), 4 * MIB);
	ck_assert_int_eq(vmem(VMM_VMEM_REQ_UNPLUG_ALL, 0, 0), VMM_VMEM_RESP_ACK);
	ck_assert_int_eq(vmm_balloon_node(bl, 0, &n), 0);
	ck_assert_uint_eq(n.released, 0);
	ck_assert_uint_eq(n.reported, 8 * MIB);
	info(&i);
	ck_assert_uint_eq(i.reported, 8 * MIB);
	ck_assert_uint_eq(i.reported_ranges, 2);
}
END_TEST

/* The same region twice, NULL, or once the driver runs: refused. */
START_TEST(test_add_refused)
{
	struct vmm_balloon *b2;
	uint64_t none = 0;

	ck_assert_int_eq(vmm_balloon_add_hotplug(bl, vm), -EBUSY);	/* started */
	ck_assert_int_eq(vmm_balloon_add_hotplug(NULL, vm), -EINVAL);
	ck_assert_int_eq(vmm_balloon_add_hotplug(bl, NULL), -EINVAL);
	ck_assert_int_eq(vmm_balloon_create(mem, &none, 0, &b2), 0);
	ck_assert_int_eq(vmm_balloon_add_hotplug(b2, vm), 0);
	ck_assert_int_eq(vmm_balloon_add_hotplug(b2, vm), -EEXIST);
	vmm_balloon_destroy(b2);
}
END_TEST

/*
 * virtio-mem's worker plugs and unplugs block 0 on another thread while
 * the balloon reports it and reads its figures. Expect no crash or race
 * report (ASan), and once the block is left unplugged, nothing released.
 */
static int stop;

static void *plugger(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
		vmem(VMM_VMEM_REQ_PLUG, base, 1);
		vmem(VMM_VMEM_REQ_UNPLUG, base, 1);
	}
	return NULL;
}

START_TEST(test_race_unplug)
{
	struct vmm_balloon_info i;
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, plugger, NULL), 0);
	for (unsigned k = 0; k < 300; k++) {
		report1(base, 2 * MIB);
		released();
	}
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	info(&i);
	ck_assert_uint_eq(i.reported_ranges + i.refused_unplugged, 300);
	ck_assert_uint_eq(vmm_vmem_block_id(vm, 0), 0);
	ck_assert_uint_eq(released(), 0);
	/* plugged again, never reported: still nothing */
	ck_assert_int_eq(vmem(VMM_VMEM_REQ_PLUG, base, 1), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(released(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("balloon");
	TCase *tc = tcase_create("hotplug");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_report_plugged);
	tcase_add_test(tc, test_report_unplugged);
	tcase_add_test(tc, test_unplug_forgets);
	tcase_add_test(tc, test_add_refused);
	tcase_add_test(tc, test_race_unplug);
	suite_add_tcase(s, tc);
	return check_run(s);
}
