// SPDX-License-Identifier: MIT
/*
 * fuzz_balloon.c - virtio-balloon's queues driven through the real
 * transport (register writes, rings in guest memory, vmm_virtio_poll() in
 * place of the worker) with random inflate, deflate, report and stats
 * buffers, against a model of the balloon kept here.
 *
 * Guest memory: 32 MiB, one node, an early range at the bottom (refused and
 * counted apart: the guest's kernel would be there), the VM's RAM
 * allocation (vm.ram0, 20 MiB) above it, and the rest - where the rings and
 * the buffers live - outside guest RAM; and a 128 MiB virtio-mem region
 * after it (2 MiB blocks, plugged and unplugged at random through
 * vmm_vmem_request(), as its worker would). Page frames and ranges are
 * drawn inside RAM, in the early range, above RAM, past the end of memory
 * and huge; ranges also misaligned or crossing out of RAM, inside the
 * region (plugged blocks, unplugged ones, both) and across its end; buffers
 * malformed (a length not a multiple of 4, device-writable PFN arrays, an
 * address outside memory). The model ([VIRTIO] 5.5.6, the device's
 * documented rules, not its code) says what each buffer does: which pages
 * enter or leave the balloon, which counters grow. Every page acted on must
 * read back zero (its host page released); every page not acted on keeps
 * the marker the test wrote into it. The balloon's "released" never exceeds
 * the pages reported (in the region: in their block's current plug) and not
 * touched since: an unplug takes a block out. The feature set is drawn too
 * (with and without the stats queue, so reporting is queue 3 or 2), the
 * device is reset now and then (the balloon empties), and the target must
 * refuse what is not a multiple of 4 KiB or above guest RAM. Seed printed;
 * KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the number of
 * operations (default 4000, 2/5 under ASan).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "../vmm/virtio-driver.h"

#define MIB		(1ULL << 20)
#define MEM_SIZE	(32 * MIB)
#define EARLY_SIZE	(1 * MIB)
#define RAM_SIZE	(20 * MIB)
#define PAGE		4096ULL
#define QSIZE		128
#define RINGS		(28 * MIB)	/* 4 queues x 16 KiB, outside RAM */
#define BUFS		(29 * MIB)	/* PFN arrays and stats buffers */
#define MARK		0xa5
#define HP_SIZE		(128 * MIB)
#define HP_BLOCK	(2 * MIB)
#define HP_BLOCKS	(HP_SIZE / HP_BLOCK)
#define NR_PAGES	((MEM_SIZE + HP_SIZE) / PAGE)	/* pages the model marks */

enum { F_MUST_TELL = 1u << 0, F_STATS = 1u << 1, F_REPORT = 1u << 5 };

static struct gm_mem *mem;
static struct vmm_balloon *bl;
static struct vmm_virtio *vd;
static struct vmm_vmem *vm;		/* the region's, thread-less */
static uint64_t ram_start, ram_end;	/* vm.ram0, one block */
static uint64_t hp_base;
static uint64_t cur_seed;
static unsigned long cur_case;
static char cur_desc[256];

/* the model */
static bool in_balloon[RAM_SIZE / PAGE];
static bool marked[NR_PAGES];		/* the test wrote MARK into this page */
static bool may_rel[NR_PAGES];		/* reported (in this plug), not touched since */
static bool ever_rep[MEM_SIZE / PAGE];	/* RAM pages ever reported */
static uint64_t ram_reported;		/* cumulative, in RAM */
static struct vmm_balloon_info want;
static unsigned q_stats, q_report;	/* queue numbers, ~0u when absent */
static unsigned nr_queues;
static uint16_t avail_idx[4], used_seen[4];
static bool stats_given;		/* a stats buffer is with the device */

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", case %lu: %s\n", cur_seed, cur_case, cur_desc);
}

static uint8_t *g(uint64_t gpa)
{
	uint8_t *p = gm_mem_hva(mem, gpa, 1);

	CHECK(p, "gpa 0x%" PRIx64, gpa);
	return p;
}

static bool in_ram(uint64_t gpa, uint64_t len)
{
	return gpa >= ram_start && gpa <= ram_end && len <= ram_end - gpa;
}

static bool in_region(uint64_t gpa, uint64_t len)
{
	return gpa >= hp_base && gpa <= hp_base + HP_SIZE && len <= hp_base + HP_SIZE - gpa;
}

/* Guest memory: the node's RAM span or the region, wholly. */
static bool in_mem(uint64_t gpa, uint64_t len)
{
	return (gpa < MEM_SIZE && len <= MEM_SIZE - gpa) || in_region(gpa, len);
}

/* The model's index of the page at @gpa, or -1 outside memory. */
static long page_of(uint64_t gpa)
{
	if (gpa < MEM_SIZE)
		return (long)(gpa / PAGE);
	if (in_region(gpa, PAGE))
		return (long)((MEM_SIZE + gpa - hp_base) / PAGE);
	return -1;
}

/* The test touched the page at @gpa: it is resident, no longer released. */
static void touched(uint64_t gpa)
{
	long p = page_of(gpa);

	if (p >= 0)
		may_rel[p] = false;
}

/* ---- the driver --------------------------------------------------------------- */

static void driver_init(void)
{
	uint32_t offered, f;

	vio_reset(vd);
	CHECK(vio_rd(vd, 0x070) == 0, "reset");
	vio_begin(vd);
	offered = (uint32_t)vio_offered(vd);
	CHECK((offered & (F_MUST_TELL | F_STATS | F_REPORT)) == (F_MUST_TELL | F_STATS | F_REPORT),
	      "features offered 0x%x", offered);
	CHECK(!(offered & (1u << 2)), "DEFLATE_ON_OOM offered");
	f = F_MUST_TELL | (fz_below(3) ? F_STATS : 0) | (fz_below(4) ? F_REPORT : 0);
	CHECK(vio_accept(vd, f, 1) == 0xb, "features refused");	/* 1: VERSION_1 */
	nr_queues = 2;
	q_stats = q_report = ~0u;
	if (f & F_STATS)
		q_stats = nr_queues++;
	if (f & F_REPORT)
		q_report = nr_queues++;
	for (unsigned q = 0; q < nr_queues; q++) {
		uint64_t r = RINGS + q * 0x4000;

		CHECK(vio_queue_max(vd, q) >= 32, "queue %u: QueueNumMax %u (Linux needs 32 to report)",
		      q, vio_rd(vd, 0x034));
		CHECK(vio_queue_at(vd, q, QSIZE, r, g(r)) == 1, "queue %u refused", q);
		avail_idx[q] = used_seen[q] = 0;
	}
	CHECK(vio_driver_ok(vd) == 0xf, "DRIVER_OK refused");
	stats_given = false;
}

struct buf { uint64_t gpa; uint32_t len; bool write; };

/* Post one chain of @nr buffers on queue @q (descriptors 0..nr-1), notify, run. */
static void post(unsigned q, const struct buf *b, unsigned nr)
{
	uint64_t r = RINGS + q * 0x4000;
	uint8_t *avail = g(r + VIO_AVAIL_OFF);
	unsigned slot = (unsigned)(avail_idx[q] % QSIZE) * 4 % QSIZE;	/* 4 descriptors per chain */

	for (unsigned i = 0; i < nr; i++)
		vio_desc(g(r), slot + i, b[i].gpa, b[i].len,
			 (uint16_t)((i + 1 < nr ? VIRTQ_DESC_F_NEXT : 0) |
				    (b[i].write ? VIRTQ_DESC_F_WRITE : 0)),
			 (uint16_t)(slot + i + 1));
	vio_avail_put(avail, QSIZE, avail_idx[q]++, (uint16_t)slot);
	vio_avail_publish(avail, avail_idx[q]);
	vio_wr(vd, 0x050, q);
	vmm_virtio_poll(vd);
}

/* Chains the device gave back on @q since the last call. */
static unsigned reap(unsigned q)
{
	uint64_t r = RINGS + q * 0x4000;
	uint16_t idx = vio_used_idx(g(r + VIO_USED_OFF));
	unsigned n = 0;

	while (used_seen[q] != idx) {
		used_seen[q]++;
		n++;
	}
	return n;
}

/* ---- page frames and ranges the guest may send ----------------------------------- */

static uint64_t ram_page(void)
{
	return ram_start + fz_below((ram_end - ram_start) / PAGE) * PAGE;
}

static uint64_t any_gpa(void)
{
	switch (fz_below(10)) {
	case 0: return fz_below(EARLY_SIZE / PAGE) * PAGE;		/* early range */
	case 1: return ram_end + fz_below((MEM_SIZE - ram_end) / PAGE) * PAGE;	/* above RAM */
	case 2: return MEM_SIZE + fz_below(1024) * PAGE;		/* past memory */
	case 3: return (fz_next() & 0xffffffffULL) << 12;		/* anywhere */
	default: return ram_page();
	}
}

static void mark(uint64_t gpa)
{
	long p = page_of(gpa);

	if (p >= 0 && gpa != RINGS && (gpa < RINGS || gpa >= BUFS + MIB)) {
		memset(g(gpa), MARK, PAGE);
		marked[p] = true;
		touched(gpa);
	}
}

/* A page the device acted on reads zero; one it did not keeps its marker. */
static void check_page(uint64_t gpa, bool zero)
{
	long pg = page_of(gpa);
	const uint8_t *p;
	unsigned char vec;

	if (pg < 0 || !marked[pg])
		return;
	p = g(gpa);
	if (zero && mincore((void *)p, PAGE, &vec) == 0 && !(vec & 1)) {
		marked[pg] = false;	/* not resident: zero, and left released */
		return;
	}
	touched(gpa);
	for (uint64_t i = 0; i < PAGE; i += 512)
		CHECK(p[i] == (zero ? 0 : MARK), "page 0x%" PRIx64 " byte %" PRIu64 ": 0x%02x, want %s",
		      gpa, i, p[i], zero ? "zero (released)" : "the marker (not acted on)");
	if (zero)
		marked[pg] = false;
}

/* ---- operations --------------------------------------------------------------------- */

static bool plugged[HP_BLOCKS];

/* Every block under [gpa, gpa + len) (inside the region) is plugged. */
static bool all_plugged(uint64_t gpa, uint64_t len)
{
	for (uint64_t k = (gpa - hp_base) / HP_BLOCK; k <= (gpa + len - 1 - hp_base) / HP_BLOCK; k++)
		if (!plugged[k])
			return false;
	return true;
}

static void op_pfns(bool inflate)
{
	unsigned n = 1 + (unsigned)fz_below(fz_below(4) ? 64 : 300);
	uint32_t pfns[300];
	uint64_t gpas[300];
	bool acted[300], bad = false, writable = !fz_below(25);
	uint32_t len = n * 4;
	struct buf b = { BUFS, 0, writable };

	if (!fz_below(25)) {
		len -= 1 + (uint32_t)fz_below(3);	/* not whole PFNs */
		bad = true;
	}
	bad |= writable;
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = any_gpa();

		if (!fz_below(8) && i)			/* a duplicate, or a run */
			gpa = fz_below(2) ? gpas[i - 1] : gpas[i - 1] + PAGE;
		if (gpa >> 44)
			gpa &= (1ULL << 44) - 1;
		gpas[i] = gpa & ~(PAGE - 1);
		pfns[i] = htole32((uint32_t)(gpas[i] >> 12));
		mark(gpas[i]);
	}
	memcpy(g(BUFS), pfns, n * 4);
	b.len = len;
	snprintf(cur_desc, sizeof(cur_desc), "%s %u pfns len %u%s", inflate ? "inflate" : "deflate",
		 n, len, writable ? " writable" : "");
	post(inflate ? 0 : 1, &b, 1);
	CHECK(reap(inflate ? 0 : 1) == 1, "the buffer did not come back");
	memset(acted, 0, sizeof(acted));
	if (bad) {
		want.refused_buffer++;
	} else {
		for (unsigned i = 0; i < n; i++) {
			uint64_t gpa = gpas[i];
			bool *bit;

			if (!in_ram(gpa, PAGE)) {
				if (gpa < EARLY_SIZE)
					want.refused_early++;
				else
					want.refused_outside++;
				continue;
			}
			bit = &in_balloon[(gpa - ram_start) / PAGE];
			if (*bit == inflate) {
				want.refused_state++;
				continue;
			}
			*bit = inflate;
			acted[i] = true;
			if (inflate) {
				want.actual += PAGE;
				want.inflated += PAGE;
			} else {
				want.actual -= PAGE;
				want.deflated += PAGE;
			}
		}
	}
	/* an inflated page is released; nothing else is touched */
	for (unsigned i = 0; i < n; i++) {
		bool inside = gpas[i] < MEM_SIZE && in_ram(gpas[i], PAGE);
		bool now_in = inside && in_balloon[(gpas[i] - ram_start) / PAGE];

		if (inflate && acted[i]) {
			check_page(gpas[i], true);
			/* touched and inflated before the balloon looked: its
			 * "reported" bit may still be set, and it is released */
			if (ever_rep[gpas[i] / PAGE])
				may_rel[gpas[i] / PAGE] = true;
		}
		else if (!now_in)
			check_page(gpas[i], false);
	}
}

static void op_report(void)
{
	unsigned n = 1 + (unsigned)fz_below(4);
	struct buf b[4];
	bool outside_mem = false;
	int kind[4];

	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa, len = PAGE << fz_below(10);

		kind[i] = (int)fz_below(16);
		switch (kind[i]) {
		case 0: gpa = any_gpa(); break;
		case 1: gpa = ram_page() + 8 * (1 + fz_below(500)); break;	/* misaligned */
		case 2: gpa = ram_end - PAGE; len = 2 * PAGE; break;		/* crosses out */
		case 3: gpa = MEM_SIZE - PAGE; len = 2 * PAGE; break;		/* out of memory */
		case 12: case 13:						/* in the region */
			gpa = (hp_base + fz_below(HP_SIZE / PAGE) * PAGE) & ~(len - 1);
			if (!fz_below(8))
				gpa += 8;					/* misaligned */
			break;
		case 14: gpa = hp_base + HP_SIZE - PAGE; len = 2 * PAGE; break;	/* past its end */
		default:
			gpa = ram_page() & ~(len - 1);
			if (gpa < ram_start)
				gpa = ram_start;
		}
		if (gpa >> 40)
			gpa &= (1ULL << 40) - 1;
		if (kind[i] == 4 && len > PAGE)
			len -= 512;					/* misaligned length */
		b[i] = (struct buf){ gpa, (uint32_t)len, true };
		if (!in_mem(gpa, len))
			outside_mem = true;
		for (uint64_t a = gpa & ~(PAGE - 1); a < gpa + len && page_of(a) >= 0; a += PAGE)
			if ((in_ram(a, PAGE) && !in_balloon[(a - ram_start) / PAGE]) ||
			    in_region(a, PAGE))
				mark(a);
	}
	snprintf(cur_desc, sizeof(cur_desc), "report %u ranges, first 0x%" PRIx64 "+0x%x kind %d",
		 n, b[0].gpa, b[0].len, kind[0]);
	post(q_report, b, n);
	CHECK(reap(q_report) == 1, "the report did not come back");
	if (outside_mem) {
		want.refused_buffer++;
	} else {
		for (unsigned i = 0; i < n; i++) {
			if (in_region(b[i].gpa, b[i].len)) {
				if ((b[i].gpa | b[i].len) & (PAGE - 1)) {
					want.refused_misaligned++;
					continue;
				}
				if (!all_plugged(b[i].gpa, b[i].len)) {
					want.refused_unplugged++;
					continue;
				}
				want.reported += b[i].len;
				want.reported_ranges++;
				for (uint64_t a = b[i].gpa; a < b[i].gpa + b[i].len; a += PAGE) {
					check_page(a, true);
					may_rel[page_of(a)] = true;
				}
				continue;
			}
			if (!in_ram(b[i].gpa, b[i].len)) {
				if (b[i].gpa < EARLY_SIZE)	/* overlaps the early range */
					want.refused_early++;
				else
					want.refused_outside++;
				continue;
			}
			if ((b[i].gpa | b[i].len) & (PAGE - 1)) {
				want.refused_misaligned++;
				continue;
			}
			want.reported += b[i].len;
			ram_reported += b[i].len;
			want.reported_ranges++;
			for (uint64_t a = b[i].gpa; a < b[i].gpa + b[i].len; a += PAGE) {
				check_page(a, true);
				may_rel[a / PAGE] = ever_rep[a / PAGE] = true;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)	/* whatever was not reported kept its bytes */
		for (uint64_t a = b[i].gpa & ~(PAGE - 1); a < b[i].gpa + b[i].len && page_of(a) >= 0;
		     a += PAGE)
			check_page(a, false);
}

/* ---- the virtio-mem region ------------------------------------------------------------ */

/* Block @k plugged or unplugged: its bytes are gone (zero), nothing of it reported. */
static void block_changed(uint64_t k, bool now)
{
	uint64_t first = MEM_SIZE / PAGE + k * (HP_BLOCK / PAGE);	/* page_of(its start) */

	plugged[k] = now;
	for (uint64_t p = first; p < first + HP_BLOCK / PAGE; p++)
		marked[p] = may_rel[p] = false;
}

/* A PLUG, UNPLUG or (rarely) UNPLUG_ALL of 1-4 blocks, as virtio-mem's worker runs it. */
static void op_vmem(void)
{
	uint64_t k = fz_below(HP_BLOCKS), nr = 1 + fz_below(4);
	uint16_t type = fz_below(20) ? (uint16_t)fz_below(2) : VMM_VMEM_REQ_UNPLUG_ALL;
	uint8_t req[VMM_VMEM_REQ_SIZE] = { 0 };
	struct vmm_vmem_resp resp;

	if (k + nr > HP_BLOCKS)
		nr = HP_BLOCKS - k;
	vio_vmem_req(req, type, hp_base + k * HP_BLOCK, (uint16_t)nr);
	snprintf(cur_desc, sizeof(cur_desc), "virtio-mem type %u blocks %" PRIu64 "+%" PRIu64,
		 type, k, nr);
	vmm_vmem_request(vm, req, sizeof(req), &resp);
	if (type == VMM_VMEM_REQ_UNPLUG_ALL) {
		CHECK(resp.type == VMM_VMEM_RESP_ACK, "unplug all: %u", resp.type);
		for (uint64_t i = 0; i < HP_BLOCKS; i++)
			if (plugged[i])
				block_changed(i, false);
	} else if (resp.type == VMM_VMEM_RESP_ACK) {
		for (uint64_t i = k; i < k + nr; i++)
			block_changed(i, type == VMM_VMEM_REQ_PLUG);
	}
	for (uint64_t i = 0; i < HP_BLOCKS; i++)
		CHECK(plugged[i] == (vmm_vmem_block_id(vm, i) != 0), "block %" PRIu64 " plugged %d",
		      i, plugged[i]);
}

/* The driver's side of a refresh, on its own thread: wait for the buffer, refill it. */
struct refill { uint16_t tag; uint64_t val; };

static void *refill(void *arg)
{
	struct refill *r = arg;
	struct buf b = { BUFS + 0x10000, 10, false };
	uint16_t tag = htole16(r->tag);
	uint64_t val = htole64(r->val);

	for (unsigned spins = 0; !reap(q_stats); spins++) {
		CHECK(spins < 200000, "the device never gave the stats buffer back");
		usleep(10);
	}
	memcpy(g(b.gpa), &tag, 2);
	memcpy(g(b.gpa) + 2, &val, 8);
	post(q_stats, &b, 1);
	return NULL;
}

static void op_stats(void)
{
	struct vmm_balloon_stats s;
	unsigned n = (unsigned)fz_below(20);
	uint64_t vals[VMM_BALLOON_NR_STATS] = { 0 };
	uint32_t have = 0;
	struct buf b = { BUFS + 0x10000, n * 10, false };

	if (!stats_given || !fz_below(3)) {
		bool bad = !fz_below(6);

		for (unsigned i = 0; i < n; i++) {
			uint16_t tag = (uint16_t)fz_below(20);
			uint64_t v = fz_next();
			uint8_t *e = g(b.gpa + 10 * i);
			uint16_t lt = htole16(tag);
			uint64_t lv = htole64(v);

			memcpy(e, &lt, 2);
			memcpy(e + 2, &lv, 8);
			if (tag < VMM_BALLOON_NR_STATS) {
				have |= 1u << tag;
				vals[tag] = v;
			}
		}
		if (bad)
			b.len += 3;
		snprintf(cur_desc, sizeof(cur_desc), "stats buffer %u entries%s", n, bad ? " bad" : "");
		post(q_stats, &b, 1);
		if (bad) {
			want.refused_buffer++;
			CHECK(reap(q_stats) == 1, "a bad stats buffer is given back");
			return;
		}
		/* a second buffer makes the device give the first back */
		CHECK(reap(q_stats) == (stats_given ? 1u : 0u), "stats buffers given back");
		stats_given = true;
		CHECK(vmm_balloon_stats(bl, 60000, 0, &s) == 0, "stats");
		CHECK(s.have == have, "stats tags 0x%x, want 0x%x", s.have, have);
		for (unsigned t = 0; t < VMM_BALLOON_NR_STATS; t++)
			if (have & (1u << t))
				CHECK(s.val[t] == vals[t], "tag %u", t);
		return;
	}
	/* older than 0 ms: the device gives the buffer back for a refill */
	snprintf(cur_desc, sizeof(cur_desc), "stats refresh");
	if (fz_below(3)) {
		vmm_balloon_stats(bl, 0, 0, &s);
		CHECK(reap(q_stats) == 1, "refresh: the stats buffer did not come back");
		stats_given = false;
		return;
	}
	/* a reader waits while a driver thread refills the buffer */
	{
		struct refill r = { .tag = (uint16_t)fz_below(VMM_BALLOON_NR_STATS), .val = fz_next() };
		pthread_t th;
		uint64_t seq;

		CHECK(vmm_balloon_stats(bl, 60000, 0, &s) == 0, "stats");
		seq = s.updates;
		CHECK(pthread_create(&th, NULL, refill, &r) == 0, "thread");
		CHECK(vmm_balloon_stats(bl, 0, 60000, &s) == 0, "stats");
		pthread_join(th, NULL);
		CHECK(s.updates == seq + 1 && s.have == 1u << r.tag && s.val[r.tag] == r.val,
		      "the reader did not wait for the fresh figures (updates %" PRIu64 ", was %" PRIu64 ")",
		      s.updates, seq);
		stats_given = true;
	}
}

static void op_target(void)
{
	uint64_t t = fz_below(RAM_SIZE / PAGE + 4) * PAGE;
	int ret;

	if (!fz_below(4))
		t += 1 + fz_below(PAGE - 1);
	snprintf(cur_desc, sizeof(cur_desc), "target %" PRIu64, t);
	ret = vmm_balloon_set_target(bl, t);
	if (t % PAGE || t > RAM_SIZE) {
		CHECK(ret == -EINVAL, "target %" PRIu64 ": %d", t, ret);
		return;
	}
	CHECK(ret == 0, "target: %d", ret);
	want.target = t;
	CHECK(vio_rd(vd, 0x100) == t / PAGE, "num_pages %u", vio_rd(vd, 0x100));
	/* the driver answers with actual */
	vio_wr(vd, 0x104, (uint32_t)(want.actual / PAGE));
	want.guest_actual = want.actual;
	vio_wr(vd, 0x100, 12345);		/* num_pages is the device's: dropped */
	CHECK(vio_rd(vd, 0x100) == t / PAGE, "the driver changed num_pages");
}

static void check_model(void)
{
	struct vmm_balloon_info i;
	struct vmm_balloon_node nd;

	vmm_balloon_info(bl, &i);
	CHECK(!(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET), "the device needs a reset");
	CHECK(i.ram == ram_end - ram_start, "ram %" PRIu64, i.ram);
#define SAME(f) CHECK(i.f == want.f, #f " %" PRIu64 ", model %" PRIu64, i.f, want.f)
	SAME(target); SAME(actual); SAME(guest_actual); SAME(inflated); SAME(deflated);
	SAME(reported); SAME(reported_ranges); SAME(refused_outside); SAME(refused_early);
	SAME(refused_misaligned); SAME(refused_state); SAME(refused_buffer);
	SAME(refused_unplugged);
#undef SAME
	CHECK(i.discard_failed == 0, "failed releases");
	CHECK(vmm_balloon_node(bl, 0, &nd) == 0, "node 0");
	CHECK(nd.ballooned == want.actual, "node 0 ballooned %" PRIu64, nd.ballooned);
	CHECK(nd.reported == want.reported, "node 0 reported %" PRIu64, nd.reported);
	CHECK(nd.released <= want.reported, "released %" PRIu64 " > reported", nd.released);
	{
		uint64_t bound = 0;

		for (uint64_t p = 0; p < NR_PAGES; p++)
			bound += may_rel[p] ? PAGE : 0;
		CHECK(nd.released <= bound, "released %" PRIu64 " > %" PRIu64 " reported (in RAM or"
		      " in a block's current plug) and not touched since", nd.released, bound);
	}
	CHECK(vmm_balloon_node(bl, 1, &nd) == -EINVAL, "node 1 exists");
}

int main(void)
{
	const char *lines = getenv("KVMEM_FUZZ_LINES");
	unsigned long ops = lines ? strtoul(lines, NULL, 0) : FZ_SCALE(4000);
	unsigned long n_reset = 0, n_report = 0;
	struct gm_alloc_info *info;
	struct gm_request req;
	struct gm_config cfg;
	struct gm_error e;
	uint64_t early, ids[1];

	cur_seed = fz_seed("fuzz_balloon", 0x62616c6c6f6f6eULL);
	fz_state = cur_seed;
	gm_config_init(&cfg);
	cfg.nr_nodes = 1;
	cfg.node[0].size = MEM_SIZE;
	cfg.node[0].hotplug_size = HP_SIZE;
	if (gm_mem_create(&cfg, &mem, &e) || gm_mem_back(mem, 0, &e) ||
	    gm_early_alloc(mem, 0, EARLY_SIZE, PAGE, GM_WINDOW_LOW, GM_EARLY_RAM, "kernel", &early, &e) ||
	    gm_mem_retire(mem, &e))
		FAIL("guest memory: %s", e.msg);
	CHECK(early == 0, "early range at 0x%" PRIx64, early);
	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), "vm.ram0");
	req.size = RAM_SIZE;
	req.mode = GM_MODE_RANGE;
	req.range_start = EARLY_SIZE;
	req.range_end = EARLY_SIZE + RAM_SIZE;
	req.flags = GM_F_NOCLEAR;
	if (gm_alloc(mem, &req, &info, &e))
		FAIL("vm.ram0: %s", e.msg);
	CHECK(info->nr_blocks >= 1, "blocks");
	ram_start = info->blocks[0].gpa;
	ram_end = info->blocks[info->nr_blocks - 1].gpa + info->blocks[info->nr_blocks - 1].size;
	CHECK(ram_end - ram_start == RAM_SIZE, "vm.ram0 is not one span");
	ids[0] = info->id;
	gm_alloc_info_free(info);

	{
		struct gm_node_stat st;

		CHECK(gm_node_stat(mem, 0, &st) == 0 && st.hotplug_block == HP_BLOCK, "region");
		hp_base = st.hotplug_base;
	}
	CHECK(vmm_vmem_create(mem, 0, HP_SIZE, &vm) == 0, "virtio-mem");
	CHECK(vmm_balloon_create(mem, ids, 1, &bl) == 0, "create");
	CHECK(vmm_balloon_add_hotplug(bl, vm) == 0, "the region");
	vd = vmm_balloon_virtio(bl);
	{
		uint32_t id = vio_rd(vd, 0x008);

		CHECK(id == 5, "device id %u", id);
	}
	driver_init();
	for (cur_case = 0; cur_case < ops; cur_case++) {
		unsigned k = (unsigned)fz_below(100);

		if (k < 30 && !fz_below(6))
			op_vmem();
		else if (k < 30)
			op_pfns(true);
		else if (k < 50)
			op_pfns(false);
		else if (k < 75 && q_report != ~0u) {
			op_report();
			n_report++;
		} else if (k < 88 && q_stats != ~0u)
			op_stats();
		else if (k < 97)
			op_target();
		else {
			snprintf(cur_desc, sizeof(cur_desc), "reset");
			driver_init();		/* status 0 first: a reset */
			memset(in_balloon, 0, sizeof(in_balloon));
			want.actual = want.guest_actual = 0;
			n_reset++;
		}
		check_model();
	}
	printf("fuzz_balloon: %lu operations, %lu resets, %lu reports; inflated %" PRIu64
	       " deflated %" PRIu64 " reported %" PRIu64 " bytes; refused: %" PRIu64
	       " outside, %" PRIu64 " early, %" PRIu64 " misaligned, %" PRIu64 " state, %" PRIu64
	       " buffers, %" PRIu64 " unplugged; reported in the region %" PRIu64 "\n",
	       ops, n_reset, n_report, want.inflated, want.deflated, want.reported,
	       want.refused_outside, want.refused_early, want.refused_misaligned, want.refused_state,
	       want.refused_buffer, want.refused_unplugged, want.reported - ram_reported);
	CHECK(ops < 500 || (want.inflated && want.deflated && want.reported &&
			    want.refused_outside && want.refused_early && want.refused_misaligned &&
			    want.refused_state && want.refused_buffer && want.refused_unplugged &&
			    want.reported > ram_reported),
	      "the cases miss a path");
	vmm_balloon_destroy(bl);
	vmm_vmem_destroy(vm);
	gm_mem_destroy(mem);
	return 0;
}
