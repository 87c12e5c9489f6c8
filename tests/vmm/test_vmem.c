// SPDX-License-Identifier: MIT
/*
 * test_vmem.c - virtio-mem (vmm/virtio-mem.c) through the real transport,
 * as Linux's virtio_mem drives it, on a thread-less device over a backed,
 * retired gm_mem (node 0: 64 MiB RAM, a 128 MiB hot-plug region at
 * 128 MiB; no KVM): probe and config space, requested_size and its
 * configuration interrupt, PLUG/UNPLUG/STATE/UNPLUG_ALL through a ring,
 * malformed and out-of-region requests refused without harm, and a reset
 * that unplugs everything and gives the host pages back.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hotplug-node.h"
#include "virtio-driver.h"
#include "../check-run.h"

#define MIB		(1ULL << 20)
#define RING		0x100000ULL	/* desc, +4K avail, +8K used */
#define REQ		0x200000ULL	/* requests, 32 bytes apart */
#define RESP		0x300000ULL	/* responses, 16 bytes apart */
#define QSIZE		16
#define REGION		(128 * MIB)

static struct gm_mem *mem;
static struct vmm_vmem *v;
static struct vmm_virtio *vd;
static uint64_t base;
static unsigned nreq;

static uint8_t *g(uint64_t gpa)
{
	uint8_t *p = gm_mem_hva(mem, gpa, 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static uint64_t cfg64(unsigned off)
{
	uint64_t lo = vio_rd(vd, 0x100 + off), hi = vio_rd(vd, 0x100 + off + 4);

	return lo | hi << 32;
}

/* Probe as Linux does: features (ACPI_PXM, VERSION_1), one queue, DRIVER_OK. */
static void probe(void)
{
	vio_reset(vd);
	vio_begin(vd);
	ck_assert_uint_eq(vio_offered(vd) & 1, 1);		/* VIRTIO_MEM_F_ACPI_PXM */
	ck_assert_uint_ne(vio_accept(vd, 1, 1) & VIRTIO_STATUS_FEATURES_OK, 0);
	ck_assert_uint_eq(vio_queue_at(vd, 0, QSIZE, RING, g(RING)), 1);
	ck_assert_uint_eq(vio_driver_ok(vd) & VIRTIO_STATUS_NEEDS_RESET, 0);
	nreq = 0;
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vio_desc(g(RING), i, addr, len, flags, next);
}

/* Make chain @head available, notify, run the worker; the used length. */
static uint32_t submit(unsigned head)
{
	uint8_t *u = g(RING + VIO_USED_OFF);
	uint16_t idx = vio_avail_add(g(RING + VIO_AVAIL_OFF), QSIZE, (uint16_t)head), uidx;
	uint32_t id, used;

	vio_wr(vd, 0x050, 0);				/* QueueNotify */
	ck_assert_int_eq(vmm_virtio_poll(vd), 0);
	uidx = vio_used_idx(u);
	ck_assert_uint_eq(uidx, idx);			/* every request comes back */
	vio_used_elem(u, (uint16_t)(uidx - 1) % QSIZE, &id, &used);
	ck_assert_uint_eq(id, head);
	return used;
}

/*
 * One request (type, addr, nb_blocks; @len bytes of it offered, @rlen of
 * response buffer), run; returns the response type, *@state, and the used
 * length in *@used.
 */
static int request(uint16_t type, uint64_t addr, uint16_t nb, uint32_t len,
		   uint32_t rlen, uint16_t *state, uint32_t *used)
{
	unsigned slot = nreq % (QSIZE / 2), head = 2 * slot;
	uint64_t rq = REQ + 32 * slot, rs = RESP + 16 * slot;
	uint16_t type_out = 0xffff;

	memset(g(rq), 0, 32);
	memset(g(rs), 0xee, 16);
	vio_vmem_req(g(rq), type, addr, nb);
	desc(head, rq, len, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	desc(head + 1, rs, rlen, VIRTQ_DESC_F_WRITE, 0);
	*used = submit(head);
	nreq++;
	if (*used >= 2)
		memcpy(&type_out, g(rs), 2);
	if (state)
		memcpy(state, g(rs) + 8, 2);
	return type_out;
}

static int req(uint16_t type, uint64_t addr, uint16_t nb, uint16_t *state)
{
	uint32_t used;
	int t = request(type, addr, nb, VMM_VMEM_REQ_SIZE, VMM_VMEM_RESP_SIZE, state, &used);

	ck_assert_uint_eq(used, VMM_VMEM_RESP_SIZE);
	return t;
}

static void setup(void)
{
	mem = hp_node_create(REGION, &base);
	ck_assert_int_eq(vmm_vmem_create(mem, 0, 0, &v), 0);
	ck_assert_int_eq(vmm_vmem_device(v, &vd), 0);
	probe();
}

static void teardown(void)
{
	vmm_vmem_destroy(v);
	gm_mem_destroy(mem);
}

/* Expect device 24 and the config of [VIRTIO] 5.15.4: block, node, region. */
START_TEST(test_config)
{
	ck_assert_uint_eq(vio_rd(vd, 0x008), 24);
	ck_assert_uint_eq(base, 128 * MIB);
	ck_assert_uint_eq(cfg64(0), 2 * MIB);		/* block_size */
	ck_assert_uint_eq(vio_rd(vd, 0x100 + 8) & 0xffff, 0);	/* node_id */
	ck_assert_uint_eq(cfg64(16), base);		/* addr */
	ck_assert_uint_eq(cfg64(24), REGION);		/* region_size */
	ck_assert_uint_eq(cfg64(32), REGION);		/* usable_region_size */
	ck_assert_uint_eq(cfg64(40), 0);		/* plugged_size */
	ck_assert_uint_eq(cfg64(48), 0);		/* requested_size */
	ck_assert_int_eq(vmm_vmem_device(v, &vd), -EBUSY);
}
END_TEST

/*
 * requested 0: a plug is NACKed. Set 8M: a config interrupt, the new
 * requested_size; plug 4 blocks: ACK, plugged_size 8M, the memory is an
 * allocation owned by the VM; a fifth block is NACKed; STATE says plugged
 * / mixed / unplugged; UNPLUG frees and the pages go back to the host.
 */
START_TEST(test_plug_unplug)
{
	uint16_t st;
	uint32_t gen = vio_rd(vd, 0x0fc);
	struct gm_node_stat ns;
	uint8_t *p;

	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 1, NULL), VMM_VMEM_RESP_NACK);
	ck_assert_int_eq(vmm_vmem_set_requested(v, 8 * MIB), 0);
	ck_assert_uint_eq(vio_rd(vd, 0x060) & VIRTIO_INT_CONFIG, VIRTIO_INT_CONFIG);
	vio_wr(vd, 0x064, VIRTIO_INT_CONFIG);
	ck_assert_uint_ne(vio_rd(vd, 0x0fc), gen);
	ck_assert_uint_eq(cfg64(48), 8 * MIB);
	ck_assert_int_eq(vmm_vmem_set_requested(v, 3 * MIB), -EINVAL);
	ck_assert_int_eq(vmm_vmem_set_requested(v, REGION + 2 * MIB), -EINVAL);
	ck_assert_uint_eq(cfg64(48), 8 * MIB);

	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + 2 * MIB, 4, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(cfg64(40), 8 * MIB);
	ck_assert_int_eq(gm_node_stat(mem, 0, &ns), 0);
	ck_assert_uint_eq(ns.hotplug_used, 8 * MIB);
	ck_assert_uint_ne(vmm_vmem_block_id(v, 1), 0);
	ck_assert_uint_eq(vmm_vmem_block_id(v, 0), 0);
	ck_assert_int_eq(gm_free(mem, "vm.hp0.1", NULL), -EBUSY);	/* the shell cannot */
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + 20 * MIB, 1, NULL), VMM_VMEM_RESP_NACK);
	ck_assert_int_eq(req(VMM_VMEM_REQ_STATE, base + 2 * MIB, 4, &st), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(st, VMM_VMEM_STATE_PLUGGED);
	ck_assert_int_eq(req(VMM_VMEM_REQ_STATE, base, 2, &st), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(st, VMM_VMEM_STATE_MIXED);
	ck_assert_int_eq(req(VMM_VMEM_REQ_STATE, base + 10 * MIB, 8, &st), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(st, VMM_VMEM_STATE_UNPLUGGED);

	p = gm_mem_hva(mem, base + 2 * MIB, 8 * MIB);
	memset(p, 0x5a, 8 * MIB);
	ck_assert_int_eq(req(VMM_VMEM_REQ_UNPLUG, base + 4 * MIB, 2, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(cfg64(40), 4 * MIB);
	{
		unsigned char vec[1024];

		ck_assert_int_eq(mincore(p + 2 * MIB, 4 * MIB, vec), 0);
		for (unsigned i = 0; i < 1024; i++)
			ck_assert_uint_eq(vec[i] & 1, 0);	/* released */
	}
	ck_assert_uint_eq(p[0], 0x5a);			/* the rest stays plugged */
	ck_assert_uint_eq(p[6 * MIB], 0x5a);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + 4 * MIB, 1, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(p[2 * MIB], 0);		/* a plug reads zero */
}
END_TEST

/*
 * Malformed requests fail alone (ERROR, or no answer when there is no room
 * for one) and the device keeps working: misaligned, outside the region,
 * zero or too many blocks, a double plug, an unplug of what is not
 * plugged, an unknown type, a short request, a short response buffer,
 * a request buffer outside guest memory.
 */
START_TEST(test_malformed)
{
	uint32_t used;
	struct gm_node_stat ns;

	ck_assert_int_eq(vmm_vmem_set_requested(v, 16 * MIB), 0);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + 4096, 1, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base - 2 * MIB, 1, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + REGION, 1, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + REGION - 2 * MIB, 2, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, 0, 1, NULL), VMM_VMEM_RESP_ERROR);	/* RAM */
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, UINT64_MAX - MIB, 0xffff, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 0, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_STATE, base, 0xffff, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_UNPLUG, base, 1, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(7, base, 1, NULL), VMM_VMEM_RESP_ERROR);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 1, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 2, NULL), VMM_VMEM_RESP_ERROR);	/* double */
	ck_assert_int_eq(req(VMM_VMEM_REQ_UNPLUG, base, 2, NULL), VMM_VMEM_RESP_ERROR);	/* half */
	ck_assert_int_eq(request(VMM_VMEM_REQ_PLUG, base + 2 * MIB, 1, 12, VMM_VMEM_RESP_SIZE,
				 NULL, &used), VMM_VMEM_RESP_ERROR);			/* short */
	ck_assert_uint_eq(used, VMM_VMEM_RESP_SIZE);
	request(VMM_VMEM_REQ_PLUG, base + 2 * MIB, 1, VMM_VMEM_REQ_SIZE, 4, NULL, &used);
	ck_assert_uint_eq(used, 0);					/* nowhere to answer */
	/* a request buffer past guest memory: the chain fails, not the device */
	desc(0, 0x7ffff000ULL, VMM_VMEM_REQ_SIZE, VIRTQ_DESC_F_NEXT, 1);
	desc(1, RESP, VMM_VMEM_RESP_SIZE, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_uint_eq(submit(0), 0);
	nreq = 1;	/* the next request() takes slot 1 */
	ck_assert_int_eq(gm_node_stat(mem, 0, &ns), 0);
	ck_assert_uint_eq(ns.hotplug_used, 2 * MIB);			/* only the good plug */
	ck_assert_uint_eq(cfg64(40), 2 * MIB);
	ck_assert_uint_eq(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + 2 * MIB, 1, NULL), VMM_VMEM_RESP_ACK);
}
END_TEST

/* UNPLUG_ALL, and a reset (status 0): nothing plugged, the pool as before. */
START_TEST(test_unplug_all_and_reset)
{
	struct gm_node_stat ns;

	ck_assert_int_eq(vmm_vmem_set_requested(v, 64 * MIB), 0);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 8, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base + 32 * MIB, 8, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_int_eq(req(VMM_VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_uint_eq(cfg64(40), 0);
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 16, NULL), VMM_VMEM_RESP_ACK);
	ck_assert_int_eq(gm_node_stat(mem, 0, &ns), 0);
	ck_assert_uint_eq(ns.hotplug_used, 32 * MIB);
	vio_wr(vd, 0x070, 0);						/* reset */
	ck_assert_int_eq(gm_node_stat(mem, 0, &ns), 0);
	ck_assert_uint_eq(ns.hotplug_used, 0);
	ck_assert_uint_eq(cfg64(40), 0);
	ck_assert_uint_eq(cfg64(48), 64 * MIB);			/* the host's wish stays */
	probe();
	ck_assert_int_eq(req(VMM_VMEM_REQ_PLUG, base, 1, NULL), VMM_VMEM_RESP_ACK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio-mem");
	TCase *tc = tcase_create("device");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_plug_unplug);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_unplug_all_and_reset);
	suite_add_tcase(s, tc);
	return check_run(s);
}
