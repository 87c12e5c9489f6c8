// SPDX-License-Identifier: MIT
/*
 * fuzz_vmem.c - virtio-mem's request handler (vmm_vmem_request()) on a
 * backed, retired gm_mem with a hot-plug region, fed random requests
 * against a model kept here (a plugged flag per block and requested_size,
 * written from [VIRTIO] 5.15.6, not from the device).
 *
 * Requests: every type and unknown ones; addresses on blocks, off blocks,
 * below, inside, at the end and past the region, and huge; block counts 0,
 * 1, a few, to the end, past it and 0xffff; requests cut short; the
 * requested size moved up and down between them (a plug past it is NACKed).
 * After every request: the answer is the model's, the device's plugged
 * size and the pool's hotplug_used are the model's, and each block has a
 * VM-owned allocation of exactly that block iff the model says plugged
 * (which the shell cannot free); the bitmap file's text matches. A block
 * the guest wrote reads zero once unplugged and plugged again. At the end
 * UNPLUG_ALL leaves the region empty and the pool as it started.
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * number of requests (default 4000, 2/5 under ASan).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../vmm/virtio-driver.h"

#define MIB		((uint64_t)1 << 20)
#define BLOCK		(2 * MIB)
#define REGION		(128 * MIB)
#define NR_BLOCKS	(REGION / BLOCK)

static struct gm_mem *mem;
static struct vmm_vmem *v;
static uint64_t base, requested, nr_plugged;
static bool plugged[NR_BLOCKS], touched[NR_BLOCKS];
static uint64_t cur_seed;
static unsigned long cur_case;
static char cur_desc[256];
static unsigned long n_resp[4];

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", case %lu: %s\n", cur_seed, cur_case, cur_desc);
}

/* An address: mostly on a block inside the region, else anything. */
static uint64_t pick_addr(void)
{
	switch (fz_below(10)) {
	case 0: return base - BLOCK * (1 + fz_below(4));
	case 1: return base + REGION + BLOCK * fz_below(3);
	case 2: return base + fz_below(REGION);			/* off a block */
	case 3: return fz_next();
	case 4: return UINT64_MAX - fz_below(4) * BLOCK;
	default: return base + BLOCK * fz_below(NR_BLOCKS);
	}
}

static uint64_t pick_count(uint64_t first)
{
	switch (fz_below(8)) {
	case 0: return 0;
	case 1: return 0xffff;
	case 2: return NR_BLOCKS - (first < NR_BLOCKS ? first : 0);	/* to the end */
	case 3: return NR_BLOCKS - (first < NR_BLOCKS ? first : 0) + 1;	/* past it */
	default: return 1 + fz_below(6);
	}
}

/* What [VIRTIO] 5.15.6 says the device answers, and the model after it. */
static uint16_t model(uint16_t type, uint64_t addr, uint64_t nr, size_t len,
		      uint16_t *state)
{
	uint64_t first, n = 0;

	*state = 0;
	if (len < VMM_VMEM_REQ_SIZE)
		return VMM_VMEM_RESP_ERROR;
	if (type == VMM_VMEM_REQ_UNPLUG_ALL) {
		memset(plugged, 0, sizeof(plugged));
		nr_plugged = 0;
		return VMM_VMEM_RESP_ACK;
	}
	if (type > VMM_VMEM_REQ_STATE || !nr || addr < base || addr >= base + REGION ||
	    (addr - base) % BLOCK)
		return VMM_VMEM_RESP_ERROR;
	first = (addr - base) / BLOCK;
	if (nr > NR_BLOCKS - first)
		return VMM_VMEM_RESP_ERROR;
	for (uint64_t i = first; i < first + nr; i++)
		n += plugged[i];
	switch (type) {
	case VMM_VMEM_REQ_PLUG:
		if (n)
			return VMM_VMEM_RESP_ERROR;
		if ((nr_plugged + nr) * BLOCK > requested)
			return VMM_VMEM_RESP_NACK;
		for (uint64_t i = first; i < first + nr; i++)
			plugged[i] = true;
		nr_plugged += nr;
		return VMM_VMEM_RESP_ACK;
	case VMM_VMEM_REQ_UNPLUG:
		if (n != nr)
			return VMM_VMEM_RESP_ERROR;
		for (uint64_t i = first; i < first + nr; i++)
			plugged[i] = false;
		nr_plugged -= nr;
		return VMM_VMEM_RESP_ACK;
	default:
		*state = n == nr ? VMM_VMEM_STATE_PLUGGED :
			 n ? VMM_VMEM_STATE_MIXED : VMM_VMEM_STATE_UNPLUGGED;
		return VMM_VMEM_RESP_ACK;
	}
}

/* Device, pool and allocation table agree with the model. */
static void check_state(void)
{
	struct vmm_vmem_info info;
	struct gm_node_stat st;
	char *bm, *p;

	vmm_vmem_info(v, &info);
	CHECK(info.plugged == nr_plugged * BLOCK, "plugged %" PRIu64 " model %" PRIu64,
	      info.plugged, nr_plugged * BLOCK);
	CHECK(gm_node_stat(mem, 0, &st) == 0, "stat");
	CHECK(st.hotplug_used == nr_plugged * BLOCK, "pool used %" PRIu64, st.hotplug_used);
	CHECK(gm_node_hotplug_bitmap(mem, 0, &bm) == 0, "bitmap");
	p = bm;
	for (uint64_t i = 0; i < NR_BLOCKS; i++) {
		uint64_t id = vmm_vmem_block_id(v, i);

		if (*p == '\n')
			p++;
		CHECK(*p == (plugged[i] ? '1' : '0'), "bitmap block %" PRIu64, i);
		p++;
		CHECK(!id == !plugged[i], "block %" PRIu64 " id %" PRIu64 " model %d", i, id,
		      plugged[i]);
		if (id) {
			struct gm_alloc_info *a;

			CHECK(gm_alloc_get_id(mem, id, &a) == 0, "block %" PRIu64 " allocation", i);
			CHECK(a->req.owner == GM_OWNER_VM && a->nr_blocks == 1 &&
			      a->blocks[0].gpa == base + i * BLOCK && a->size == BLOCK,
			      "block %" PRIu64 " allocation is not exactly the block", i);
			gm_alloc_info_free(a);
		}
	}
	free(bm);
}

/* Plugged blocks: one written earlier while plugged must read zero now. */
static void check_touched(void)
{
	for (uint64_t i = 0; i < NR_BLOCKS; i++) {
		uint8_t *p = gm_mem_hva(mem, base + i * BLOCK, BLOCK);

		if (!plugged[i]) {
			touched[i] = false;
			continue;
		}
		if (!touched[i]) {	/* a fresh plug: zero, then the guest writes */
			CHECK(p[0] == 0 && p[BLOCK - 1] == 0, "block %" PRIu64 " plugged dirty", i);
			p[0] = p[BLOCK - 1] = 0xa5;
			touched[i] = true;
		}
	}
}

int main(void)
{
	const char *lines = getenv("KVMEM_FUZZ_LINES");
	unsigned long reqs = lines ? strtoul(lines, NULL, 0) : FZ_SCALE(4000);
	struct gm_config cfg;
	struct gm_node_stat st0, st;
	struct gm_error e;

	cur_seed = fz_seed("fuzz_vmem", 0x766d656d66757aULL);
	fz_state = cur_seed;
	gm_config_init(&cfg);
	cfg.nr_nodes = 1;
	cfg.node[0].size = 32 * MIB;
	cfg.node[0].hotplug_size = REGION;
	if (gm_mem_create(&cfg, &mem, &e) || gm_mem_back(mem, 0, &e) ||
	    gm_mem_retire(mem, &e))
		FAIL("guest memory: %s", e.msg);
	CHECK(gm_node_stat(mem, 0, &st0) == 0, "stat");
	base = st0.hotplug_base;
	CHECK(vmm_vmem_create(mem, 0, 0, &v) == 0, "create");

	for (cur_case = 0; cur_case < reqs; cur_case++) {
		uint8_t req[VMM_VMEM_REQ_SIZE + 8];
		struct vmm_vmem_resp resp;
		uint16_t type, want, state;
		uint64_t addr, nr;
		size_t len = VMM_VMEM_REQ_SIZE;

		if (fz_below(16) == 0) {	/* the host moves the target */
			uint64_t r = BLOCK * fz_below(NR_BLOCKS + 1);

			snprintf(cur_desc, sizeof(cur_desc), "requested %" PRIu64, r);
			CHECK(vmm_vmem_set_requested(v, r) == 0, "set requested");
			CHECK(vmm_vmem_set_requested(v, r + 4096) == -EINVAL, "odd requested");
			CHECK(vmm_vmem_set_requested(v, REGION + BLOCK) == -EINVAL, "big requested");
			requested = r;
		}
		type = (uint16_t)(fz_below(12) < 11 ? fz_below(4) : fz_below(0x10000));
		if (type == VMM_VMEM_REQ_UNPLUG_ALL && fz_below(4))
			type = VMM_VMEM_REQ_PLUG;	/* keep some memory plugged */
		addr = pick_addr();
		nr = pick_count(addr >= base ? (addr - base) / BLOCK : 0) & 0xffff;
		if (fz_below(20) == 0)
			len = fz_below(VMM_VMEM_REQ_SIZE);
		for (size_t i = 0; i < sizeof(req); i++)
			req[i] = (uint8_t)fz_next();	/* padding: anything */
		vio_vmem_req(req, type, addr, (uint16_t)nr);
		snprintf(cur_desc, sizeof(cur_desc), "type %u addr 0x%" PRIx64 " nr %" PRIu64
			 " len %zu", type, addr, nr, len);
		want = model(type, addr, nr, len, &state);
		vmm_vmem_request(v, req, len, &resp);
		CHECK(resp.type == want, "answer %u, model %u", resp.type, want);
		CHECK(resp.state == state, "state %u, model %u", resp.state, state);
		n_resp[resp.type & 3]++;
		check_touched();
		if (cur_case % 16 == 0 || resp.type == VMM_VMEM_RESP_ACK)
			check_state();
	}
	/* the shell cannot free a plug, nor allocate in the region */
	for (uint64_t i = 0; i < NR_BLOCKS; i++) {
		char line[160], out[512];

		if (!plugged[i])
			continue;
		snprintf(line, sizeof(line), "free " GM_VM_PREFIX "hp0.%" PRIu64, i);
		CHECK(gm_cmd_exec(mem, line, out, sizeof(out)) != 0, "the shell freed a plug");
		CHECK(gm_free(mem, line + 5, &e) == -EBUSY, "gm_free of a plug: %s", e.msg);
		check_state();
		break;
	}
	{
		char line[160], out[512];

		snprintf(line, sizeof(line), "alloc node=0 size=2M mode=range:0x%" PRIx64 "-0x%" PRIx64,
			 base, base + BLOCK);
		CHECK(gm_cmd_exec(mem, line, out, sizeof(out)) == -ENOSPC,
		      "the shell allocated in the region: %s", out);
	}
	{
		struct vmm_vmem_resp resp;
		uint8_t req[VMM_VMEM_REQ_SIZE] = { VMM_VMEM_REQ_UNPLUG_ALL };

		vmm_vmem_request(v, req, sizeof(req), &resp);
		CHECK(resp.type == VMM_VMEM_RESP_ACK, "unplug all");
		memset(plugged, 0, sizeof(plugged));
		nr_plugged = 0;
		check_state();
	}
	CHECK(gm_node_stat(mem, 0, &st) == 0, "stat");
	CHECK(st.avail == st0.avail && st.hotplug_used == 0, "the pool changed");
	printf("fuzz_vmem: %lu requests: %lu ACK, %lu NACK, %lu BUSY, %lu ERROR\n",
	       reqs, n_resp[0], n_resp[1], n_resp[2], n_resp[3]);
	CHECK(n_resp[0] > reqs / 8 && n_resp[1] && n_resp[3], "the cases miss a path");
	vmm_vmem_destroy(v);
	gm_mem_destroy(mem);
	return 0;
}
