// SPDX-License-Identifier: MIT
/*
 * virtqueue.c - split virtqueues, device side ([VIRTIO] 2.7), and the one
 * place where a guest-physical address becomes a host pointer.
 *
 * Layout of a queue of N entries in guest memory (little-endian):
 *
 *   descriptor table  N x { le64 addr; le32 len; le16 flags; le16 next; }
 *   driver (avail)    le16 flags; le16 idx; le16 ring[N]; le16 used_event;
 *   device (used)     le16 flags; le16 idx; { le32 id; le32 len; } ring[N];
 *                     le16 avail_event;
 *
 * The indices are free-running 16-bit counters; entry i lives in slot
 * i % N, which is why N must be a power of two (it divides 65536).
 *
 * Everything read from guest memory is read once into a local and checked
 * there: the guest's other vCPUs may rewrite a ring while the device walks
 * it. A chain is walked at most N descriptors deep (N = the queue size, or
 * the indirect table's length), which is the bound that catches loops:
 * [VIRTIO] 2.7.5.3.1 forbids chains longer than the queue.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtio.h"

#define DESC_SIZE	16
#define AVAIL_RING	4		/* offset of avail->ring[0] */
#define USED_RING	4		/* offset of used->ring[0] */
#define USED_ELEM	8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint16_t load16(const void *p, size_t off)
{
	uint16_t v = __atomic_load_n((const uint16_t *)((const char *)p + off),
				     __ATOMIC_RELAXED);

	return le16toh(v);
}

static uint16_t load16_acquire(const void *p, size_t off)
{
	uint16_t v = __atomic_load_n((const uint16_t *)((const char *)p + off),
				     __ATOMIC_ACQUIRE);

	return le16toh(v);
}

static void store16(void *p, size_t off, uint16_t v)
{
	__atomic_store_n((uint16_t *)((char *)p + off), htole16(v),
			 __ATOMIC_RELAXED);
}

static void store16_release(void *p, size_t off, uint16_t v)
{
	__atomic_store_n((uint16_t *)((char *)p + off), htole16(v),
			 __ATOMIC_RELEASE);
}

static void store32(void *p, size_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)((char *)p + off), htole32(v),
			 __ATOMIC_RELAXED);
}

/* One descriptor, copied out of a table the guest may be rewriting. */
static struct desc read_desc(const void *table, unsigned i)
{
	struct desc d;
	uint8_t raw[DESC_SIZE];

	memcpy(raw, (const char *)table + (size_t)i * DESC_SIZE, DESC_SIZE);
	memcpy(&d.addr, raw, 8);
	memcpy(&d.len, raw + 8, 4);
	memcpy(&d.flags, raw + 12, 2);
	memcpy(&d.next, raw + 14, 2);
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.flags = le16toh(d.flags);
	d.next = le16toh(d.next);
	return d;
}

/* ---- the address check ------------------------------------------------ */

int vmm_vq_map(struct gm_mem *mem, uint64_t gpa, uint64_t len,
	       struct iovec *iov, unsigned max)
{
	unsigned n = 0;
	void *hva;

	if (!len)
		return 0;
	if (gpa + len < gpa)
		return -EFAULT;
	/* The common case: the span lies in one backed range. */
	hva = gm_mem_hva(mem, gpa, len);
	if (hva) {
		if (!max)
			return -E2BIG;
		iov[0] = (struct iovec){ hva, len };
		return 1;
	}
	/* Else cut it at range boundaries; every piece must be backed. */
	while (len) {
		struct gm_range r[4];
		int node = gm_node_find(mem, gpa), nr;
		uint64_t chunk = 0;

		if (node < 0)
			return -EFAULT;
		nr = gm_node_ranges(mem, (unsigned)node, r, 4);
		for (int i = 0; i < nr && i < 4; i++) {
			if (gpa >= r[i].start && gpa - r[i].start < r[i].size &&
			    r[i].hva) {
				chunk = r[i].start + r[i].size - gpa;
				hva = (char *)r[i].hva + (gpa - r[i].start);
				break;
			}
		}
		if (!chunk)
			return -EFAULT;
		if (chunk > len)
			chunk = len;
		if (n == max)
			return -E2BIG;
		iov[n++] = (struct iovec){ hva, chunk };
		gpa += chunk;
		len -= chunk;
	}
	return (int)n;
}

/* One contiguous host span for a ring area, or NULL. */
static void *map_area(struct gm_mem *mem, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	return gm_mem_hva(mem, gpa, len);
}

/* ---- setup ---------------------------------------------------------------- */

int vmm_vq_setup(struct vmm_vq *vq, struct gm_mem *mem, uint16_t size,
		 uint64_t desc, uint64_t avail, uint64_t used,
		 uint64_t features)
{
	struct vmm_vq q = { .mem = mem, .size = size };

	vmm_vq_reset(vq);
	if (!size || size > VMM_VQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	q.desc = map_area(mem, desc, (uint64_t)size * DESC_SIZE);
	q.avail = map_area(mem, avail, AVAIL_RING + 2ULL * size + 2);
	q.used = map_area(mem, used, USED_RING + (uint64_t)USED_ELEM * size + 2);
	if (!q.desc || !q.avail || !q.used)
		return -EINVAL;
	q.event_idx = features & (1ULL << VIRTIO_F_EVENT_IDX);
	q.indirect = features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	/* The driver set both indices to 0 before making the queue ready. */
	q.ready = true;
	*vq = q;
	return 0;
}

void vmm_vq_reset(struct vmm_vq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

/* ---- the driver's chains ---------------------------------------------------- */

static int broken(struct vmm_vq *vq)
{
	vq->broken = true;
	return -EIO;
}

/* Append the buffer of @d to @c (out or in); errors fail the request only. */
static void add_buf(struct vmm_vq *vq, struct vmm_vq_chain *c,
		    const struct desc *d, bool *seen_write)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	unsigned used = c->nr_out + c->nr_in;
	int n;

	*seen_write |= write;
	if (!write && *seen_write) {
		/* [VIRTIO] 2.7.4.2: readable buffers come first */
		c->err = c->err ? c->err : -EINVAL;
		return;
	}
	n = vmm_vq_map(vq->mem, d->addr, d->len, c->iov + used, c->max - used);
	if (n == -EFAULT && used < c->max) {
		c->iov[used] = (struct iovec){ NULL, d->len };
		n = 1;
		c->err = c->err ? c->err : -EFAULT;
	}
	if (n < 0) {
		c->err = c->err ? c->err : n;
		return;
	}
	if (write) {
		c->nr_in += (unsigned)n;
		c->in_len += d->len;
	} else {
		c->nr_out += (unsigned)n;
		c->out_len += d->len;
	}
}

/*
 * Walk the chain at @head. Direct descriptors index the queue's table; a
 * head with INDIRECT switches to the table it points at ([VIRTIO] 2.7.5.3:
 * no NEXT with INDIRECT, no INDIRECT inside a table). Returns 0 or -EIO.
 */
static int walk(struct vmm_vq *vq, uint16_t head, struct vmm_vq_chain *c)
{
	const void *table = vq->desc;
	unsigned n = vq->size, idx = head, depth = 0;
	bool in_table = false, seen_write = false;

	for (;;) {
		struct desc d = read_desc(table, idx);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect || in_table || depth ||
			    (d.flags & VIRTQ_DESC_F_NEXT) || !d.len ||
			    d.len % DESC_SIZE || d.len / DESC_SIZE > vq->size)
				return broken(vq);
			table = map_area(vq->mem, d.addr, d.len);
			if (!table)
				return broken(vq);
			n = d.len / DESC_SIZE;
			idx = 0;
			in_table = true;
			continue;
		}
		if (++depth > n)
			return broken(vq);		/* a loop */
		add_buf(vq, c, &d, &seen_write);
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= n)
			return broken(vq);
	}
}

int vmm_vq_pop(struct vmm_vq *vq, struct vmm_vq_chain *c)
{
	uint16_t avail_idx, head;

	if (vq->broken)
		return -EIO;
	if (!vq->ready)
		return 0;
	avail_idx = load16_acquire(vq->avail, 2);
	if (avail_idx == vq->last_avail)
		return 0;
	/* More new entries than the ring holds: the driver lost count. */
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return broken(vq);
	head = load16(vq->avail, AVAIL_RING + 2 * (vq->last_avail & (vq->size - 1)));
	vq->last_avail++;
	if (head >= vq->size)
		return broken(vq);
	c->head = head;
	c->err = 0;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	if (walk(vq, head, c) < 0)
		return -EIO;
	vq->popped++;
	return 1;
}

void vmm_vq_push(struct vmm_vq *vq, uint16_t head, uint32_t written)
{
	size_t slot;

	if (!vq->ready || vq->broken)
		return;
	slot = USED_RING + (size_t)USED_ELEM * (vq->used_idx & (vq->size - 1));
	store32(vq->used, slot, head);
	store32(vq->used, slot + 4, written);
	vq->used_idx++;
	store16_release(vq->used, 2, vq->used_idx);
	vq->pushed++;
}

bool vmm_vq_need_irq(struct vmm_vq *vq)
{
	uint16_t old = vq->signalled, new = vq->used_idx, event;

	if (!vq->ready || vq->broken || old == new)
		return false;
	/* Our used idx store before the driver's flag or event read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled = new;
	if (!vq->event_idx)
		return !(load16(vq->avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	/* [VIRTIO] 2.7.10: interrupt when used idx passes used_event */
	event = load16(vq->avail, AVAIL_RING + 2 * vq->size);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void vmm_vq_notify_off(struct vmm_vq *vq)
{
	if (!vq->ready || vq->broken || vq->event_idx)
		return;
	store16(vq->used, 0, VIRTQ_USED_F_NO_NOTIFY);
}

bool vmm_vq_notify_on(struct vmm_vq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx)
		store16(vq->used, USED_RING + (size_t)USED_ELEM * vq->size,
			vq->last_avail);
	else
		store16(vq->used, 0, 0);
	/* Our store before reading whether the driver added more. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16_acquire(vq->avail, 2) != vq->last_avail;
}

/* ---- iovec helpers -------------------------------------------------------- */

static size_t iov_copy(const struct iovec *iov, unsigned nr, size_t off,
		       void *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < nr && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		if (!iov[i].iov_base)
			break;
		n = iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + off, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, (char *)iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vmm_iov_copy_from(const struct iovec *iov, unsigned nr, size_t off,
			 void *buf, size_t len)
{
	return iov_copy(iov, nr, off, buf, len, false);
}

size_t vmm_iov_copy_to(const struct iovec *iov, unsigned nr, size_t off,
		       const void *buf, size_t len)
{
	return iov_copy(iov, nr, off, (void *)buf, len, true);
}

int vmm_iov_slice(const struct iovec *iov, unsigned nr, size_t off,
		  size_t len, struct iovec *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr && len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		if (n == max)
			return -E2BIG;
		out[n++] = (struct iovec){ (char *)iov[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return len ? -EINVAL : (int)n;
}
