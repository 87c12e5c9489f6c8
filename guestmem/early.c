// SPDX-License-Identifier: MIT
/*
 * early.c - the early allocator (memblock / OSTD EarlyFrameAllocator).
 *
 * While the VM is built, boot structures are placed as typed, labelled
 * ranges of a node (the type says what the guest's memory map calls it,
 * the label is for people): gm_early_alloc() bump-allocates upward, first fit with alignment,
 * from the node's window below 4 GiB or above it; gm_early_reserve() pins a
 * fixed range. Ranges are kept ascending and never overlap. At retire each
 * node's buddy is created over its span, the MMIO hole and the early ranges
 * (rounded out to whole chunks, merged) are reserved out of it for good,
 * and everything else is free: the rest of the pool is handed over exactly
 * once, as OSTD's frame allocator init subtracts the early ranges.
 *
 * Locking: table read lock (excludes retire), then node->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

static bool type_valid(enum gm_early_type type)
{
	return type == GM_EARLY_RAM || type == GM_EARLY_RESERVED ||
	       type == GM_EARLY_ACPI;
}

/* gm_label_valid() - see pool.h. */
bool gm_label_valid(const char *label)
{
	size_t len;

	if (!label)
		return false;
	len = strlen(label);
	if (!len || len > GM_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)label[i] < 0x20 || (unsigned char)label[i] > 0x7e)
			return false;
	return true;
}

/* Insert [start, start+size) at its sorted place; caller checked overlap. */
static int early_insert(struct gm_mem *mem, struct gm_node *n, uint64_t start,
			uint64_t size, enum gm_early_type type,
			const char *label)
{
	unsigned pos = 0;

	if (gm_grow(&n->early, &n->cap_early, n->nr_early + 1, sizeof(*n->early)))
		return -ENOMEM;
	while (pos < n->nr_early && n->early[pos].start < start)
		pos++;
	memmove(&n->early[pos + 1], &n->early[pos],
		(n->nr_early - pos) * sizeof(*n->early));
	n->early[pos].start = start;
	n->early[pos].size = size;
	n->early[pos].type = type;
	snprintf(n->early[pos].label, sizeof(n->early[pos].label), "%s", label);
	/* Node locks differ, so the mem-wide counter is atomic. */
	n->early[pos].seq = __atomic_fetch_add(&mem->early_seq, 1, __ATOMIC_RELAXED);
	n->nr_early++;
	return 0;
}

static bool early_overlaps(const struct gm_node *n, uint64_t start,
			   uint64_t size)
{
	for (unsigned i = 0; i < n->nr_early; i++)
		if (start < n->early[i].start + n->early[i].size &&
		    n->early[i].start < start + size)
			return true;
	return false;
}

/* First fit upward inside [lo, hi) between the early ranges. */
static bool fit_in_range(const struct gm_node *n, uint64_t lo, uint64_t hi,
			 uint64_t size, uint64_t align, uint64_t *gpa)
{
	uint64_t cur = lo;

	for (unsigned k = 0; k <= n->nr_early && cur < hi; k++) {
		uint64_t gap_end = k < n->nr_early ? n->early[k].start : hi;

		if (gap_end > hi)
			gap_end = hi;
		if (gap_end > cur) {
			uint64_t cand = (cur + align - 1) & ~(align - 1);

			if (cand >= cur && cand < gap_end &&
			    size <= gap_end - cand) {
				*gpa = cand;
				return true;
			}
		}
		if (k < n->nr_early) {
			uint64_t e = n->early[k].start + n->early[k].size;

			if (e > cur)
				cur = e;
		}
	}
	return false;
}

/*
 * gm_early_alloc() - see guestmem.h. @label: 1..63 printable characters.
 */
int gm_early_alloc(struct gm_mem *mem, unsigned node, uint64_t size,
		   uint64_t align, enum gm_window window,
		   enum gm_early_type type, const char *label, uint64_t *gpa,
		   struct gm_error *e)
{
	struct gm_node *n = gm_node_get(mem, node);
	uint64_t at = 0;
	bool found = false;
	int ret;

	if (!n)
		return gm_error_set(e, EINVAL, "no node %u", node);
	if (!size || !gm_is_pow2(align) || !gpa)
		return gm_error_set(e, EINVAL, "early alloc: size must be non-zero and align a power of two");
	if (window != GM_WINDOW_LOW && window != GM_WINDOW_HIGH)
		return gm_error_set(e, EINVAL, "early alloc: bad window");
	if (!type_valid(type))
		return gm_error_set(e, EINVAL, "early alloc: bad type %d", (int)type);
	if (!gm_label_valid(label))
		return gm_error_set(e, EINVAL, "early alloc: label must be 1..%d printable characters",
			      GM_NAME_MAX);
	pthread_rwlock_rdlock(&mem->table_lock);
	if (mem->retired) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, EBUSY, "early allocator already retired");
	}
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nr_ram && !found; i++) {
		uint64_t lo = n->range[i].start;
		uint64_t hi = lo + n->range[i].size;

		if (window == GM_WINDOW_LOW) {
			if (lo >= GM_4G)
				continue;
			if (hi > GM_4G)
				hi = GM_4G;
		} else {
			if (hi <= GM_4G)
				continue;
			if (lo < GM_4G)
				lo = GM_4G;
		}
		found = fit_in_range(n, lo, hi, size, align, &at);
	}
	ret = found ? early_insert(mem, n, at, size, type, label) : -ENOMEM;
	pthread_mutex_unlock(&n->lock);
	pthread_rwlock_unlock(&mem->table_lock);
	if (ret == -ENOMEM && !found)
		return gm_error_set(e, ENOMEM, "early alloc '%s': no room for %llu bytes in node %u's %s window",
			      label, (unsigned long long)size, node,
			      window == GM_WINDOW_LOW ? "low" : "high");
	if (ret)
		return gm_error_set(e, ret, "out of memory");
	*gpa = at;
	return 0;
}

/*
 * gm_early_reserve() - see guestmem.h.
 */
int gm_early_reserve(struct gm_mem *mem, uint64_t gpa, uint64_t size,
		     enum gm_early_type type, const char *label,
		     struct gm_error *e)
{
	struct gm_node *n;
	bool inside = false;
	int node, ret;

	if (!size || gpa + size < gpa)
		return gm_error_set(e, EINVAL, "early reserve: bad size");
	if (!type_valid(type))
		return gm_error_set(e, EINVAL, "early reserve: bad type %d", (int)type);
	if (!gm_label_valid(label))
		return gm_error_set(e, EINVAL, "early reserve: label must be 1..%d printable characters",
			      GM_NAME_MAX);
	node = gm_node_find(mem, gpa);
	if (node < 0)
		return gm_error_set(e, EINVAL, "early reserve: 0x%llx is in no node",
			      (unsigned long long)gpa);
	n = &mem->node[node];
	for (unsigned i = 0; i < n->nr_ram; i++)	/* never the hot-plug region */
		if (gpa >= n->range[i].start &&
		    gpa + size <= n->range[i].start + n->range[i].size)
			inside = true;
	if (!inside)
		return gm_error_set(e, EINVAL, "early reserve: [0x%llx, 0x%llx) leaves node %d's range",
			      (unsigned long long)gpa,
			      (unsigned long long)(gpa + size), node);
	pthread_rwlock_rdlock(&mem->table_lock);
	if (mem->retired) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, EBUSY, "early allocator already retired");
	}
	pthread_mutex_lock(&n->lock);
	if (early_overlaps(n, gpa, size))
		ret = gm_error_set(e, EEXIST, "early reserve '%s': overlaps an early range", label);
	else if ((ret = early_insert(mem, n, gpa, size, type, label)))
		ret = gm_error_set(e, ret, "out of memory");
	pthread_mutex_unlock(&n->lock);
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}

/*
 * gm_early_ranges() - see guestmem.h. Takes the node lock.
 */
int gm_early_ranges(struct gm_mem *mem, unsigned node,
		    struct gm_early_range *r, unsigned max)
{
	struct gm_node *n = gm_node_get(mem, node);
	int nr;

	if (!n)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nr_early && i < max; i++)
		r[i] = n->early[i];
	nr = n->nr_early;
	pthread_mutex_unlock(&n->lock);
	return nr;
}

/*
 * gm_early_mark() - see guestmem.h.
 */
uint64_t gm_early_mark(struct gm_mem *mem)
{
	return __atomic_load_n(&mem->early_seq, __ATOMIC_RELAXED);
}

/*
 * gm_early_rollback() - see guestmem.h. Table read lock, then each node's
 * lock; ranges stay ascending because removal keeps the order.
 */
int gm_early_rollback(struct gm_mem *mem, uint64_t mark)
{
	pthread_rwlock_rdlock(&mem->table_lock);
	if (mem->retired) {
		pthread_rwlock_unlock(&mem->table_lock);
		return -EBUSY;
	}
	for (unsigned i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];
		unsigned kept = 0;

		pthread_mutex_lock(&n->lock);
		for (unsigned k = 0; k < n->nr_early; k++)
			if (n->early[k].seq < mark)
				n->early[kept++] = n->early[k];
		n->nr_early = kept;
		pthread_mutex_unlock(&n->lock);
	}
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
}

void gm_early_release(struct gm_node *n)
{
	free(n->early);
	n->early = NULL;
	n->nr_early = n->cap_early = 0;
}

/* Reserve [start, end) out of @b, dropping the block list. */
static int reserve(struct gm_buddy *b, uint64_t start, uint64_t end)
{
	struct gm_blist l;
	int ret;

	gm_blist_init(&l);
	ret = gm_buddy_reserve(b, start, end, &l);
	gm_blist_release(&l);
	return ret;
}

/*
 * gm_early_retire_node() - build @n's buddy over its span with the hole and
 * the chunk-rounded early ranges reserved; sets n->early_reserved. Caller
 * holds the table write lock and n->lock. On error nothing is allocated.
 */
int gm_early_retire_node(struct gm_mem *mem, struct gm_node *n,
			 struct gm_buddy **out, struct gm_error *e)
{
	uint64_t chunk = mem->chunk, cur_s = 0, cur_e = 0, reserved = 0;
	struct gm_buddy *b;
	int ret;

	ret = gm_buddy_create(n->start, n->end - n->start, chunk, &b);
	if (ret)
		return gm_error_set(e, ret, "node %u: cannot create its buddy allocator", n->id);
	if (n->nr_ram == 2) {
		ret = reserve(b, GM_MMIO_HOLE_START, GM_MMIO_HOLE_END);
		if (ret)
			goto err;
	}
	/* the hot-plug region (and the gap before it) is never the buddy's */
	if (n->end > n->ram_end) {
		ret = reserve(b, n->ram_end, n->end);
		if (ret)
			goto err;
	}
	/* merge the chunk-rounded early ranges, then reserve each run */
	for (unsigned i = 0; i <= n->nr_early; i++) {
		uint64_t s = 0, t = 0;

		if (i < n->nr_early) {
			s = n->early[i].start & ~(chunk - 1);
			t = (n->early[i].start + n->early[i].size + chunk - 1) &
			    ~(chunk - 1);
			if (cur_e > cur_s && s <= cur_e) {
				if (t > cur_e)
					cur_e = t;
				continue;
			}
		}
		if (cur_e > cur_s) {
			ret = reserve(b, cur_s, cur_e);
			if (ret)
				goto err;
			reserved += cur_e - cur_s;
		}
		cur_s = s;
		cur_e = t;
	}
	n->early_reserved = reserved;
	*out = b;
	return 0;
err:
	gm_buddy_destroy(b);
	return gm_error_set(e, ret, "node %u: cannot reserve its early ranges", n->id);
}
