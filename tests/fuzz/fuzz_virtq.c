// SPDX-License-Identifier: MIT
/*
 * fuzz_virtq.c - the virtqueue core (vmm/virtqueue.c) and the virtio-mmio
 * register file (vmm/virtio-mmio.c) against random rings, descriptor
 * chains and register writes, on real guest memory: a backed gm_mem whose
 * node 0 is 5 GiB (ranges [0, 3G) and [4G, 6G)) and node 1 16 MiB at 6G,
 * right after node 0's second range, so buffers cross range boundaries,
 * fall in the MMIO hole, run past the end and wrap around 2^64.
 *
 * Part 1, rings: each case lays out a queue (size 1 to 256; sometimes
 * misaligned or unmapped ring areas, which vmm_vq_setup must refuse, as
 * this file's own predicate says), fills the descriptor table, indirect
 * tables and the avail ring with a mix of well-formed chains and garbage
 * (out-of-range and overlapping addresses, loops, huge lengths, INDIRECT
 * with NEXT, nested tables, bad table lengths, avail idx jumps), pops
 * everything and pushes it back. A reference walker written here from
 * [VIRTIO] 2.7 predicts, per chain, whether the ring is broken and whether
 * (and, with room for every segment, why) the request fails, and where
 * every byte of a good chain lives; the core must agree. Every non-NULL
 * iovec must lie inside the guest's host mapping (one byte at each end is
 * touched, under ASan), pops stop at the ring's bound, and a broken ring
 * pops nothing more.
 *
 * Part 2, registers: random sequences of register writes and reads on a
 * thread-less device with three queues, mostly following the driver's
 * order (status, features, queue setup, DRIVER_OK, notify) with random
 * values; its handler pops and writes into every mapped in-buffer. Checks:
 * FEATURES_OK only sticks for an acceptable feature set, a ready queue is a
 * valid one, a reset clears every register, InterruptStatus holds only
 * defined bits.
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * number of ring cases (default 6000, 2/5 under ASan).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../vmm/virtio-driver.h"

#define GIB		(1ULL << 30)
#define MIB		(1ULL << 20)
#define ARENA		(2 * MIB)		/* rings and indirect tables live here */
#define MAX_SEG		512

static struct gm_mem *mem;
static struct gm_range ranges[8];
static unsigned nr_ranges;
static uint64_t cur_seed;
static unsigned long cur_case;
static char cur_desc[256];
/* What the cases reached, printed at the end (a fuzzer that never gets
 * somewhere tests nothing there). */
static unsigned long n_good, n_efault, n_einval, n_e2big, n_broken, n_indirect;
static unsigned long n_notifies, n_irqs, n_resets, n_served;

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", case %lu: %s\n", cur_seed, cur_case,
		cur_desc);
}

/* ---- guest memory, as this test knows it ---------------------------------- */

static void setup_mem(void)
{
	struct gm_config cfg;
	struct gm_error e;

	gm_config_init(&cfg);
	cfg.nr_nodes = 2;
	cfg.node[0].size = 5 * GIB;
	cfg.node[1].size = 16 * MIB;
	if (gm_mem_create(&cfg, &mem, &e) || gm_mem_back(mem, 0, &e))
		FAIL("guest memory: %s", e.msg);
	for (unsigned n = 0; n < 2; n++) {
		int nr = gm_node_ranges(mem, n, ranges + nr_ranges, 4);

		CHECK(nr > 0, "node %u ranges", n);
		nr_ranges += (unsigned)nr;
	}
	CHECK(nr_ranges == 3, "%u ranges", nr_ranges);
	CHECK(ranges[1].start + ranges[1].size == ranges[2].start,
	      "node 1 right after node 0");
}

/* The range holding @gpa, or -1. */
static int range_of(uint64_t gpa)
{
	for (unsigned i = 0; i < nr_ranges; i++)
		if (gpa >= ranges[i].start && gpa - ranges[i].start < ranges[i].size)
			return (int)i;
	return -1;
}

/* Host pointer of @gpa (which must be backed). */
static char *hva_of(uint64_t gpa)
{
	int r = range_of(gpa);

	return (char *)ranges[r].hva + (gpa - ranges[r].start);
}

/*
 * Whether [gpa, gpa+len) is wholly backed (adjacent ranges join); *pieces
 * = how many ranges it touches.
 */
static bool backed(uint64_t gpa, uint64_t len, unsigned *pieces)
{
	*pieces = 0;
	if (gpa + len < gpa)
		return false;
	while (len) {
		int r = range_of(gpa);
		uint64_t n;

		if (r < 0)
			return false;
		n = ranges[r].start + ranges[r].size - gpa;
		if (n > len)
			n = len;
		gpa += n;
		len -= n;
		++*pieces;
	}
	return true;
}

/* An iovec must lie wholly inside one range's host mapping. */
static void check_iov_inside(const struct iovec *v)
{
	if (!v->iov_base)
		return;
	for (unsigned i = 0; i < nr_ranges; i++) {
		char *lo = ranges[i].hva, *hi = lo + ranges[i].size;
		char *p = v->iov_base;

		if (p >= lo && p <= hi && v->iov_len <= (size_t)(hi - p)) {
			if (v->iov_len) {	/* touch both ends */
				volatile char *q = p;

				(void)q[0];
				(void)q[v->iov_len - 1];
			}
			return;
		}
	}
	FAIL("iovec %p+%zu outside guest memory", v->iov_base, v->iov_len);
}

/* ---- random guest addresses ------------------------------------------------ */

static uint64_t rnd_len(void)
{
	switch (fz_below(8)) {
	case 0: return 0;
	case 1: return 1 + fz_below(16);
	case 2: return 1 + fz_below(4096);
	case 3: return 4096 * (1 + fz_below(64));
	case 4: return 1 + fz_below(8 * MIB);
	case 5: return 0xffffffffULL - fz_below(16);
	default: return 16 + fz_below(512);
	}
}

/* An address, often near an edge of the memory map. */
static uint64_t rnd_addr(uint64_t len)
{
	static const uint64_t edges[] = {
		0, 3 * GIB, 4 * GIB, 6 * GIB, 6 * GIB + 16 * MIB,
		5 * GIB, 0xd0000000ULL, ~0ULL,
	};

	switch (fz_below(6)) {
	case 0:
		return ARENA + fz_below(64 * MIB);	/* plain RAM */
	case 1:
		return fz_below(ARENA);			/* over the rings */
	case 2: {
		uint64_t e = edges[fz_below(sizeof(edges) / sizeof(edges[0]))];

		return e - (len ? fz_below(len + 1) : 0) + fz_below(3) - 1;
	}
	case 3:
		return fz_next();
	case 4:
		return 4 * GIB + fz_below(2 * GIB);
	default:
		return 6 * GIB + fz_below(32 * MIB);
	}
}

/* ---- the reference walker ([VIRTIO] 2.7.5, 2.7.4.2) -------------------------- */

struct seg {
	uint64_t gpa, len;
	bool write;
};

struct expect {
	bool broken;
	int err;			/* first failure, as the core orders them */
	unsigned nr_seg;
	struct seg seg[MAX_SEG];	/* good chains: the buffers, in order */
	uint64_t out_len, in_len;
};

struct rdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct rdesc get_desc(const char *table, unsigned i)
{
	struct rdesc d;

	memcpy(&d.addr, table + 16 * i, 8);
	memcpy(&d.len, table + 16 * i + 8, 4);
	memcpy(&d.flags, table + 16 * i + 12, 2);
	memcpy(&d.next, table + 16 * i + 14, 2);
	return d;
}

static void model(const char *dtable, unsigned size, unsigned head,
		  bool indirect_ok, unsigned max, struct expect *x)
{
	const char *table = dtable;
	unsigned n = size, idx = head, used = 0;
	bool seen = false, in_table = false, seen_write = false;
	unsigned char visited[VMM_VQ_MAX_SIZE];

	memset(x, 0, sizeof(*x));
	memset(visited, 0, sizeof(visited));
	if (head >= size) {
		x->broken = true;
		return;
	}
	for (;;) {
		struct rdesc d = get_desc(table, idx);
		unsigned pieces;

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			unsigned p;

			if (!indirect_ok || in_table || seen ||
			    (d.flags & VIRTQ_DESC_F_NEXT) || !d.len ||
			    d.len % 16 || d.len / 16 > size ||
			    !backed(d.addr, d.len, &p) || p != 1) {
				x->broken = true;
				return;
			}
			table = hva_of(d.addr);
			n = d.len / 16;
			idx = 0;
			in_table = true;
			memset(visited, 0, sizeof(visited));
			continue;
		}
		if (visited[idx]) {
			x->broken = true;		/* a loop */
			return;
		}
		visited[idx] = 1;
		seen = true;
		seen_write |= d.flags & VIRTQ_DESC_F_WRITE;
		if (!(d.flags & VIRTQ_DESC_F_WRITE) && seen_write) {
			x->err = x->err ? x->err : -EINVAL;
		} else if (!backed(d.addr, d.len, &pieces)) {
			if (used < max) {
				used++;
				if (d.flags & VIRTQ_DESC_F_WRITE)
					x->in_len += d.len;
				else
					x->out_len += d.len;
			}
			x->err = x->err ? x->err : -EFAULT;
		} else if (used + pieces > max) {
			x->err = x->err ? x->err : -E2BIG;
		} else {
			used += pieces;
			if (d.flags & VIRTQ_DESC_F_WRITE)
				x->in_len += d.len;
			else
				x->out_len += d.len;
			if (x->nr_seg < MAX_SEG)
				x->seg[x->nr_seg++] = (struct seg){
					d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE };
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return;
		idx = d.next;
		if (idx >= n) {
			x->broken = true;
			return;
		}
	}
}

/* The good chain @c must hold exactly the bytes @x says, in order. */
static void compare_segments(const struct vmm_vq_chain *c,
			     const struct expect *x)
{
	unsigned v = 0;
	size_t voff = 0;

	for (unsigned s = 0; s < x->nr_seg; s++) {
		uint64_t gpa = x->seg[s].gpa, len = x->seg[s].len;

		while (len) {
			uint64_t n;

			CHECK(v < c->nr_out + c->nr_in, "segment %u: iovecs end early", s);
			CHECK((v >= c->nr_out) == x->seg[s].write,
			      "segment %u direction", s);
			n = c->iov[v].iov_len - voff;
			if (n > len)
				n = len;
			{
				int r = range_of(gpa);
				uint64_t left = ranges[r].start + ranges[r].size - gpa;

				if (n > left)
					n = left;
			}
			CHECK((char *)c->iov[v].iov_base + voff == hva_of(gpa),
			      "segment %u: iovec %u points elsewhere", s, v);
			gpa += n;
			len -= n;
			voff += n;
			if (voff == c->iov[v].iov_len) {
				v++;
				voff = 0;
			}
		}
	}
	CHECK(v == c->nr_out + c->nr_in && voff == 0, "%u iovecs, %u used",
	      c->nr_out + c->nr_in, v);
}

/* ---- part 1: rings ----------------------------------------------------------- */

/* A random descriptor: a buffer, sometimes INDIRECT to a fresh table. */
static void rnd_desc(char *table, unsigned i, unsigned n, unsigned size,
		     uint64_t *tables_gpa)
{
	uint64_t len = rnd_len(), addr = rnd_addr(len);
	uint16_t flags = 0, next = (uint16_t)(fz_below(4) ? (i + 1) % n : fz_below(n + 2));

	if (fz_below(3))
		flags |= VIRTQ_DESC_F_NEXT;
	if (fz_below(2))
		flags |= VIRTQ_DESC_F_WRITE;
	if (!fz_below(12) && *tables_gpa + 16 * size <= ARENA) {
		/* an indirect table, mostly sane */
		unsigned tn = 1 + (unsigned)fz_below(size);
		char *t = hva_of(*tables_gpa);

		for (unsigned k = 0; k < tn; k++) {
			uint64_t l = rnd_len();

			vio_desc(t, k, rnd_addr(l), (uint32_t)l,
				 (uint16_t)((fz_below(3) ? VIRTQ_DESC_F_NEXT : 0) |
					    (fz_below(2) ? VIRTQ_DESC_F_WRITE : 0) |
					    (!fz_below(20) ? VIRTQ_DESC_F_INDIRECT : 0)),
				 (uint16_t)(fz_below(5) ? k + 1 : fz_below(tn + 1)));
		}
		addr = *tables_gpa;
		len = fz_below(10) ? 16ULL * tn : fz_below(16 * tn + 17);
		flags = VIRTQ_DESC_F_INDIRECT | (fz_below(10) ? 0 : VIRTQ_DESC_F_NEXT);
		*tables_gpa += 16ULL * size + 16;
	}
	vio_desc(table, i, addr, (uint32_t)len, flags, next);
}

/* A good buffer: in RAM, sometimes across the node 0 / node 1 boundary. */
static void good_buf(uint64_t *addr, uint32_t *len)
{
	*len = (uint32_t)(fz_below(4) ? 1 + fz_below(8192) : fz_below(3 * MIB));
	*addr = fz_below(8) ? ARENA + fz_below(256 * MIB) :
		6 * GIB - fz_below(*len + 1ULL);
}

/*
 * Well-formed chains of 1 to 5 buffers (readable first), some through an
 * indirect table, then a few random corruptions. Returns how many chains
 * the avail ring lists.
 */
static unsigned sane_ring(char *dt, unsigned size, uint64_t avail,
			  uint64_t *tables, bool indirect)
{
	unsigned i = 0, chains = 0;

	while (i < size) {
		unsigned len = 1 + (unsigned)fz_below(5), nw;
		uint16_t head = (uint16_t)i;

		if (len > size - i)
			len = size - i;
		nw = (unsigned)fz_below(len + 1);
		if (indirect && !fz_below(4) && *tables + 16ULL * size + 16 <= ARENA) {
			char *t = hva_of(*tables);
			unsigned tn = 1 + (unsigned)fz_below(size);

			for (unsigned k = 0; k < tn; k++) {
				uint64_t a;
				uint32_t l;

				good_buf(&a, &l);
				vio_desc(t, k, a, l, (uint16_t)((k + 1 < tn ? VIRTQ_DESC_F_NEXT : 0) |
					 (k >= tn - (tn + 1) / 2 ? VIRTQ_DESC_F_WRITE : 0)),
					 (uint16_t)(k + 1));
			}
			vio_desc(dt, i, *tables, 16 * tn, VIRTQ_DESC_F_INDIRECT, 0);
			*tables += 16ULL * size + 16;
			i++;
		} else {
			for (unsigned k = 0; k < len; k++, i++) {
				uint64_t a;
				uint32_t l;

				good_buf(&a, &l);
				vio_desc(dt, i, a, l, (uint16_t)((k + 1 < len ? VIRTQ_DESC_F_NEXT : 0) |
					 (k >= len - nw ? VIRTQ_DESC_F_WRITE : 0)),
					 (uint16_t)(i + 1));
			}
		}
		memcpy(hva_of(avail + 4 + 2 * chains), &head, 2);
		chains++;
	}
	for (unsigned k = (unsigned)fz_below(3); k > 0; k--) {	/* corruptions */
		unsigned d = (unsigned)fz_below(size);
		uint16_t v = (uint16_t)fz_next();

		switch (fz_below(5)) {
		case 0: memcpy(dt + 16 * d + 14, &v, 2); break;		/* next */
		case 1: memcpy(dt + 16 * d + 12, &v, 2); break;		/* flags */
		case 2: { uint64_t a = rnd_addr(64); memcpy(dt + 16 * d, &a, 8); break; }
		case 3: { uint32_t l = (uint32_t)rnd_len(); memcpy(dt + 16 * d + 8, &l, 4); break; }
		default: memcpy(hva_of(avail + 4 + 2 * fz_below(size)), &v, 2); break;
		}
	}
	return chains;
}

static void ring_case(void)
{
	unsigned size = 1u << fz_below(9);		/* 1 .. 256 */
	uint64_t desc = 0x1000, avail, used, tables;
	uint64_t features = 0;
	struct vmm_vq vq;
	struct iovec iov[MAX_SEG];
	struct vmm_vq_chain c = { .iov = iov };
	bool bad_layout = false;
	uint16_t avail_idx;
	unsigned popped = 0, limit, max;
	char *dt;
	int ret;

	if (fz_below(2))
		features |= 1ULL << VIRTIO_F_INDIRECT_DESC;
	if (fz_below(2))
		features |= 1ULL << VIRTIO_F_EVENT_IDX;
	avail = desc + 16ULL * size;
	used = (avail + 6 + 2ULL * size + 3) & ~3ULL;
	tables = (used + 6 + 8ULL * size + 15) & ~15ULL;
	switch (fz_below(24)) {
	case 0: desc += 8; bad_layout = true; break;		/* misaligned */
	case 1: avail += 1; bad_layout = true; break;
	case 2: used += 2; bad_layout = true; break;
	case 3: desc = 3 * GIB - 16ULL * size + 16; bad_layout = true; break;
	case 4: used = 6 * GIB + 16 * MIB - 4; bad_layout = true; break;
	case 5: avail = ~0ULL - 1; bad_layout = true; break;
	default: break;
	}
	/* The driver zeroes its rings before making the queue ready. */
	memset(hva_of(0x1000), 0, tables - 0x1000);
	snprintf(cur_desc, sizeof(cur_desc), "ring size %u desc 0x%" PRIx64
		 " avail 0x%" PRIx64 " used 0x%" PRIx64 " features 0x%" PRIx64,
		 size, desc, avail, used, features);
	memset(&vq, 0xa5, sizeof(vq));
	ret = vmm_vq_setup(&vq, mem, (uint16_t)size, desc, avail, used, features);
	CHECK(bad_layout ? ret == -EINVAL && !vq.ready : ret == 0 && vq.ready,
	      "setup returned %d", ret);
	/* A non-power-of-two size is refused too. */
	if (size > 2) {
		struct vmm_vq q2;

		CHECK(vmm_vq_setup(&q2, mem, (uint16_t)(size - 1), 0x1000, avail,
				   used, features) == -EINVAL, "size %u accepted", size - 1);
	}
	if (bad_layout) {
		CHECK(vmm_vq_pop(&vq, &c) == 0, "pop on a queue that is not ready");
		return;
	}

	dt = hva_of(desc);
	if (fz_below(2)) {
		avail_idx = (uint16_t)sane_ring(dt, size, avail, &tables,
						features & (1ULL << VIRTIO_F_INDIRECT_DESC));
	} else {
		for (unsigned i = 0; i < size; i++)
			rnd_desc(dt, i, size, size, &tables);
		avail_idx = (uint16_t)(fz_below(4) ? fz_below(size + 1) : fz_next());
		for (unsigned i = 0; i < size; i++) {
			uint16_t h = (uint16_t)(fz_below(8) ? fz_below(size) : fz_next());

			memcpy(hva_of(avail + 4 + 2 * i), &h, 2);
		}
	}
	memcpy(hva_of(avail + 2), &avail_idx, 2);

	max = fz_below(4) ? MAX_SEG : 1 + (unsigned)fz_below(4);
	c.max = max;
	limit = avail_idx <= size ? avail_idx : 0;
	for (;;) {
		struct expect x;
		uint16_t head;

		if (popped > 65536)
			FAIL("pop does not stop");
		memcpy(&head, hva_of(avail + 4 + 2 * (popped % size)), 2);
		ret = vmm_vq_pop(&vq, &c);
		if (popped == 0 && avail_idx > size) {
			CHECK(ret == -EIO && vq.broken, "avail idx %u > size %u: %d",
			      avail_idx, size, ret);
			break;
		}
		if (popped == limit) {
			CHECK(ret == 0, "pop past avail idx: %d", ret);
			break;
		}
		model(dt, size, head, features & (1ULL << VIRTIO_F_INDIRECT_DESC),
		      max, &x);
		if (x.broken) {
			n_broken++;
			CHECK(ret == -EIO && vq.broken, "chain %u (head %u) should break the ring, got %d",
			      popped, head, ret);
			CHECK(vmm_vq_pop(&vq, &c) == -EIO, "a broken ring pops again");
			break;
		}
		CHECK(ret == 1, "chain %u (head %u): pop %d", popped, head, ret);
		CHECK(c.head == head, "head %u, want %u", c.head, head);
		CHECK(c.nr_out + c.nr_in <= max, "%u segments > %u", c.nr_out + c.nr_in, max);
		for (unsigned i = 0; i < c.nr_out + c.nr_in; i++) {
			check_iov_inside(&iov[i]);
			CHECK(iov[i].iov_base || c.err, "NULL iovec in a good chain");
		}
		if (max == MAX_SEG || !x.err)
			CHECK(c.err == x.err, "chain %u: err %d, want %d", popped, c.err, x.err);
		else
			CHECK(c.err == -EFAULT || c.err == -EINVAL || c.err == -E2BIG,
			      "chain %u: err %d", popped, c.err);
		if (!c.err) {
			CHECK(c.out_len == x.out_len && c.in_len == x.in_len,
			      "lengths %" PRIu64 "/%" PRIu64 ", want %" PRIu64 "/%" PRIu64,
			      c.out_len, c.in_len, x.out_len, x.in_len);
			compare_segments(&c, &x);
		}
		n_good += !c.err;
		n_efault += c.err == -EFAULT;
		n_einval += c.err == -EINVAL;
		n_e2big += c.err == -E2BIG;
		n_indirect += !c.err && (get_desc(dt, head).flags & VIRTQ_DESC_F_INDIRECT);
		vmm_vq_push(&vq, c.head, (uint32_t)(c.in_len > 7 ? fz_below(c.in_len) : 0));
		popped++;
	}
	/* What was pushed is in the used ring, in order. */
	{
		uint16_t uidx;

		memcpy(&uidx, hva_of(used + 2), 2);
		CHECK(vq.broken || uidx == (uint16_t)vq.pushed, "used idx %u, pushed %" PRIu64,
		      uidx, vq.pushed);
	}
	(void)vmm_vq_need_irq(&vq);
	vmm_vq_notify_off(&vq);
	(void)vmm_vq_notify_on(&vq);
}

/* ---- part 2: the register file ---------------------------------------------------- */

static void fuzz_notify(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_vq *vq = vmm_virtio_queue(vd, q);
	struct iovec iov[8];
	struct vmm_vq_chain c = { .iov = iov, .max = 8 };
	int ret;

	while ((ret = vmm_vq_pop(vq, &c)) > 0) {
		for (unsigned i = 0; i < c.nr_out + c.nr_in; i++) {
			check_iov_inside(&iov[i]);
			if (i >= c.nr_out && iov[i].iov_base && iov[i].iov_len)
				memset(iov[i].iov_base, 0x5a,
				       iov[i].iov_len < 64 ? iov[i].iov_len : 64);
		}
		vmm_vq_push(vq, c.head, c.err ? 0 : (uint32_t)c.in_len);
		n_served++;
	}
	vmm_virtio_used(vd, q);
}

static uint8_t cfg_shadow[24];

static void fuzz_config_write(struct vmm_virtio *vd, unsigned off,
			      const uint8_t *data, unsigned len)
{
	CHECK(off + len <= sizeof(cfg_shadow), "config write %u+%u", off, len);
	memcpy(cfg_shadow + off, data, len);
	vmm_virtio_config_set_locked(vd, off, data, len, false);
}

static const struct vmm_virtio_ops fuzz_ops = {
	.name = "fuzz",
	.device_id = 42,
	.features = 1ULL << 3,
	.nr_queues = 3,
	.queue_size = 16,
	.config_size = sizeof(cfg_shadow),
	.notify = fuzz_notify,
	.config_write = fuzz_config_write,
};

/* A ring area for queue @q: usually sane, sometimes not. */
static uint64_t q_addr(unsigned q, unsigned which)
{
	if (!fz_below(10))
		return rnd_addr(64);
	return ARENA + q * 0x10000ULL + which * 0x1000ULL;
}

static void register_case(void)
{
	static const unsigned regs[] = {
		0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030,
		0x034, 0x038, 0x044, 0x050, 0x060, 0x064, 0x070, 0x080, 0x084,
		0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0, 0x0fc, 0x100, 0x104,
		0x114, 0x120,
	};
	struct vmm_virtio *vd;
	struct vmm_virtio_stat st;
	unsigned steps = 20 + (unsigned)fz_below(200);

	CHECK(vmm_virtio_create(mem, &fuzz_ops, NULL, &vd) == 0, "create");
	CHECK(vio_rd(vd, 0x000) == 0x74726976 && vio_rd(vd, 0x004) == 2 && vio_rd(vd, 0x008) == 42,
	      "magic, version, id");
	/* Mostly start from a driver that set the device up by the book. */
	if (fz_below(4)) {
		uint32_t lo = 1u << 3 | (uint32_t)fz_below(2) << 28 | (uint32_t)fz_below(2) << 29;

		CHECK(vio_negotiate(vd, lo, 1) == 0xb, "FEATURES_OK refused");
		for (unsigned q = 0; q < 3; q++) {
			uint64_t r = ARENA + q * 0x10000ULL;

			CHECK(vio_queue_max(vd, q) == 16, "QueueNumMax");
			CHECK(vio_queue_at(vd, q, 16, r, hva_of(r)) == 1, "queue %u not ready", q);
		}
		CHECK(vio_driver_ok(vd) == 0xf, "DRIVER_OK refused");
	}
	for (unsigned s = 0; s < steps; s++) {
		unsigned q = (unsigned)fz_below(4), off;
		uint32_t v;

		switch (fz_below(16)) {
		case 14: case 15:		/* chains and a notification: most of the time */
			q %= 3;
			for (int k = 0; k < 3; k++) {
				uint64_t l;
				char *a;
				uint16_t h;
				unsigned slot;

				if (!vmm_virtio_queue(vd, q)->ready)
					break;
				a = hva_of(ARENA + q * 0x10000ULL + 0x1000);
				slot = (unsigned)fz_below(16);
				l = fz_below(3) ? 1 + fz_below(4096) : rnd_len();
				vio_desc(hva_of(ARENA + q * 0x10000ULL), slot,
					 fz_below(3) ? ARENA + 0x100000 + fz_below(MIB) : rnd_addr(l),
					 (uint32_t)l, (uint16_t)(fz_below(6) ? VIRTQ_DESC_F_WRITE :
								 fz_below(8)), (uint16_t)fz_below(17));
				h = (uint16_t)(fz_below(10) ? slot : fz_below(20));
				vio_avail_add(a, 16, h);
			}
			vio_wr(vd, 0x050, q);
			break;
		case 0: {			/* the driver's sequence, features mostly sane */
			uint32_t lo, hi;

			lo = fz_below(3) ? 1u << 3 | 1u << 28 | 1u << 29 : (uint32_t)fz_next();
			hi = fz_below(4) ? 1 : (uint32_t)fz_next();
			vio_reset(vd);
			vio_negotiate(vd, lo, hi);
			break;
		}
		case 1: {			/* set up queue q, sometimes with bad values */
			uint32_t size, ready;
			uint64_t desc, desc_hi, avail, used;

			/* drawn in this order: a seed reruns the same sequence */
			size = fz_below(4) ? 16 : (uint32_t)fz_below(70000);
			desc = (uint32_t)q_addr(q, 0);
			desc_hi = q_addr(q, 0) >> 32;	/* a second draw: any high word */
			avail = (uint32_t)q_addr(q, 1);
			used = (uint32_t)q_addr(q, 2);
			ready = vio_queue_setup(vd, q, size, desc | desc_hi << 32, avail, used);
			if (q < 3)
				CHECK(!!ready == vmm_virtio_queue(vd, q)->ready,
				      "QueueReady reads %u", ready);
			else
				CHECK(ready == 0 && vio_rd(vd, 0x034) == 0,
				      "queue %u exists", q);
			break;
		}
		case 2:
			vio_driver_ok(vd);
			break;
		case 3: {			/* put chains in queue q's ring */
			char *a;
			uint16_t idx;

			if (q >= 3 || !vmm_virtio_queue(vd, q)->ready)
				break;
			for (unsigned i = 0; i < 16; i++) {
				uint64_t l = rnd_len();

				vio_desc(hva_of(ARENA + q * 0x10000ULL), i, rnd_addr(l),
					 (uint32_t)l, (uint16_t)fz_below(8),
					 (uint16_t)fz_below(17));
			}
			a = hva_of(ARENA + q * 0x10000ULL + 0x1000);
			for (unsigned i = 0; i < 16; i++)
				vio_avail_put(a, 16, (uint16_t)i, (uint16_t)fz_below(17));
			idx = vio_avail_idx(a);
			vio_avail_publish(a, (uint16_t)(idx + fz_below(fz_below(8) ? 5 : 40)));
			break;
		}
		case 4:
			vio_wr(vd, 0x050, fz_below(8) ? q : (uint32_t)fz_next());
			break;
		case 5:
			vmm_virtio_poll(vd);
			break;
		case 6:
			v = vio_rd(vd, 0x060);
			CHECK(!(v & ~3u), "InterruptStatus 0x%x", v);
			vio_wr(vd, 0x064, v);
			break;
		case 7:				/* config space, any width */
			off = 0x100 + (unsigned)fz_below(40);
			{
				uint8_t b[8] = { 0 };
				unsigned len = 1u << fz_below(4);

				fz_next();
				memcpy(b, &fz_state, sizeof(b));
				vmm_virtio_mmio(vd, off, b, len, fz_below(2));
			}
			break;
		case 8:				/* unaligned or narrow register access */
			{
				uint8_t b[8] = { 0 };

				vmm_virtio_mmio(vd, fz_below(0x100), b,
						1u << fz_below(4), fz_below(2));
			}
			break;
		case 9:
			vio_wr(vd, 0x070, 0);
			CHECK(vio_rd(vd, 0x070) == 0 && vio_rd(vd, 0x060) == 0,
			      "reset leaves status or interrupts");
			for (unsigned k = 0; k < 3; k++) {
				vio_wr(vd, 0x030, k);
				CHECK(vio_rd(vd, 0x044) == 0, "reset leaves queue %u ready", k);
			}
			break;
		default:
			off = regs[fz_below(sizeof(regs) / sizeof(regs[0]))];
			if (fz_below(2))
				vio_wr(vd, off, (uint32_t)fz_next());
			else
				(void)vio_rd(vd, off);
			break;
		}
		v = vio_rd(vd, 0x070);
		if (v & VIRTIO_STATUS_FEATURES_OK) {
			uint64_t f;

			vmm_virtio_stat(vd, &st);
			vio_wr(vd, 0x014, 0);
			f = vio_rd(vd, 0x010);
			vio_wr(vd, 0x014, 1);
			f |= (uint64_t)vio_rd(vd, 0x010) << 32;
			CHECK(f == (1ULL << 3 | 1ULL << 28 | 1ULL << 29 | 1ULL << 32),
			      "offered 0x%" PRIx64, f);
		}
		if (v & VIRTIO_STATUS_DRIVER_OK) {
			vmm_virtio_stat(vd, &st);
			CHECK(v & VIRTIO_STATUS_FEATURES_OK, "DRIVER_OK without FEATURES_OK");
			CHECK(!(st.features & ~(1ULL << 3 | 1ULL << 28 | 1ULL << 29 | 1ULL << 32)) &&
			      (st.features & (1ULL << 32)), "accepted 0x%" PRIx64, st.features);
		}
	}
	vmm_virtio_stat(vd, &st);
	n_notifies += st.notifies;
	n_irqs += st.irqs + st.config_irqs;
	n_resets += st.resets;
	vmm_virtio_destroy(vd);
}

int main(void)
{
	const char *lines = getenv("KVMEM_FUZZ_LINES");
	unsigned long cases = lines ? strtoul(lines, NULL, 0) : FZ_SCALE(6000);

	cur_seed = fz_seed("fuzz_virtq", 0x76697274717565ULL);
	fz_state = cur_seed;
	setup_mem();
	for (cur_case = 0; cur_case < cases; cur_case++)
		ring_case();
	printf("fuzz_virtq: %lu ring cases: %lu good chains (%lu indirect), failed %lu EFAULT %lu EINVAL %lu E2BIG, %lu broken rings\n",
	       cases, n_good, n_indirect, n_efault, n_einval, n_e2big, n_broken);
	CHECK(n_good > cases && n_indirect > cases / 50 && n_efault && n_einval &&
	      n_e2big && n_broken > cases / 10, "the cases miss a path");
	for (unsigned long i = 0; i < cases / 20; i++, cur_case++) {
		snprintf(cur_desc, sizeof(cur_desc), "register sequence");
		register_case();
	}
	printf("fuzz_virtq: %lu register sequences: %lu notifications served %lu chains, %lu interrupts, %lu resets\n",
	       cases / 20, n_notifies, n_served, n_irqs, n_resets);
	CHECK(n_served > cases / 20 && n_irqs && n_resets, "the sequences miss a path");
	gm_mem_destroy(mem);
	return 0;
}
