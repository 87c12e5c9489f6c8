// SPDX-License-Identifier: MIT
/*
 * area.c - placing a node's CMA area: carved out of the buddy top-down as
 * one contiguous range (as Linux reserves CMA areas from memblock top-down),
 * given back on resize, and resized only while empty.
 */
#include <errno.h>
#include <stdlib.h>

#include "pool.h"

struct span {
	uint64_t start, end;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int span_push(struct span **v, unsigned *nr, size_t *cap,
		     uint64_t start, uint64_t end)
{
	if (gm_grow(v, cap, *nr + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*nr)++] = (struct span){ start, end };
	return 0;
}

/*
 * What the buddy of @n holds apart from a CMA area: the hole, the
 * chunk-rounded early ranges, the live buddy allocations of the node.
 * Sorted, merged. Caller holds the table lock (read) and n->lock.
 */
static int busy_spans(const struct gm_mem *mem, const struct gm_node *n,
		      struct span **out, unsigned *nr_out)
{
	struct span *v = NULL;
	unsigned nr = 0, m = 0;
	size_t cap = 0;
	uint64_t chunk = mem->chunk;
	int ret = 0;

	if (n->nr_ram == 2)
		ret = span_push(&v, &nr, &cap, GM_MMIO_HOLE_START, GM_MMIO_HOLE_END);
	for (unsigned i = 0; !ret && i < n->nr_early; i++)
		ret = span_push(&v, &nr, &cap, n->early[i].start & ~(chunk - 1),
				(n->early[i].start + n->early[i].size + chunk - 1) &
				~(chunk - 1));
	for (const struct gm_alloc *a = mem->first; !ret && a; a = a->next) {
		if (a->info.req.node != n->id || a->info.req.from != GM_FROM_BUDDY)
			continue;
		for (unsigned i = 0; !ret && i < a->info.nr_blocks; i++)
			ret = span_push(&v, &nr, &cap, a->info.blocks[i].gpa,
					a->info.blocks[i].gpa + a->info.blocks[i].size);
	}
	if (ret) {
		free(v);
		return ret;
	}
	if (nr)
		qsort(v, nr, sizeof(*v), span_cmp);
	for (unsigned i = 0; i < nr; i++) {
		if (m && v[i].start <= v[m - 1].end) {
			if (v[i].end > v[m - 1].end)
				v[m - 1].end = v[i].end;
		} else {
			v[m++] = v[i];
		}
	}
	*out = v;
	*nr_out = m;
	return 0;
}

/* Highest @align-aligned base of @size in a gap, or false. */
static bool find_top(const struct gm_node *n, const struct span *busy,
		     unsigned nr, uint64_t size, uint64_t align, uint64_t *base)
{
	uint64_t hi = n->end;

	for (int k = (int)nr - 1; k >= -1; k--) {
		uint64_t lo = k >= 0 ? busy[k].end : n->start;

		if (lo < hi && hi - lo >= size) {
			uint64_t b = (hi - size) & ~(align - 1);

			if (b >= lo) {
				*base = b;
				return true;
			}
		}
		if (k >= 0 && busy[k].start < hi)
			hi = busy[k].start;
	}
	return false;
}

/*
 * gm_cma_carve() - reserve @size bytes of @b top-down as @n's CMA area and
 * create its bitmap; *@cma and @blocks (the reserved buddy blocks, for
 * gm_cma_uncarve()) are set on success. The base is aligned to the largest
 * power of two dividing @size (at most 1 GiB) when that fits, else to less,
 * down to the bitmap granule. Caller holds the table lock and n->lock.
 * -ENOSPC if no free range fits, -ENOMEM; no state change on error.
 */
int gm_cma_carve(const struct gm_mem *mem, const struct gm_node *n,
		 struct gm_buddy *b, uint64_t size, struct gm_cma **cma,
		 struct gm_blist *blocks, struct gm_error *e)
{
	uint64_t granule = mem->chunk << n->cfg.cma_order_per_bit;
	uint64_t align = gm_pow2_divisor(size), base = 0;
	struct gm_blist l;
	struct span *busy;
	unsigned nr;
	bool found = false;
	int ret;

	if (!size || size % granule)
		return gm_error_set(e, EINVAL, "node %u: cma size must be a non-zero multiple of %llu",
			      n->id, (unsigned long long)granule);
	if (align > (1ULL << 30))
		align = 1ULL << 30;
	ret = busy_spans(mem, n, &busy, &nr);
	if (ret)
		return gm_error_set(e, ret, "out of memory");
	for (; align >= granule && !found; align >>= 1)
		found = find_top(n, busy, nr, size, align, &base);
	free(busy);
	if (!found)
		return gm_error_set(e, ENOSPC, "node %u: no free range of %llu bytes for the cma area",
			      n->id, (unsigned long long)size);
	gm_blist_init(&l);
	ret = gm_buddy_reserve(b, base, base + size, &l);
	if (ret) {
		gm_blist_release(&l);
		return gm_error_set(e, ret == -EBUSY ? ENOSPC : ret,
			      "node %u: cannot reserve the cma area", n->id);
	}
	ret = gm_cma_create(base, size, mem->chunk, n->cfg.cma_order_per_bit, cma);
	if (ret) {
		for (unsigned i = 0; i < l.nr; i++)
			gm_buddy_free(b, l.b[i].gpa, l.b[i].order, !l.b[i].dirty);
		gm_blist_release(&l);
		return gm_error_set(e, ret, "node %u: cannot create the cma area", n->id);
	}
	*blocks = l;
	return 0;
}

/*
 * gm_cma_uncarve() - give an (empty) area's blocks back to @b, clean if they
 * were clean when carved and the area never held unbacked data (@dirty),
 * and destroy @cma (may be NULL). Caller holds n->lock.
 */
void gm_cma_uncarve(struct gm_buddy *b, struct gm_cma *cma,
		    struct gm_blist *blocks, bool dirty)
{
	for (unsigned i = 0; i < blocks->nr; i++)
		gm_buddy_free(b, blocks->b[i].gpa, blocks->b[i].order,
			      !dirty && !blocks->b[i].dirty);
	gm_blist_release(blocks);
	gm_blist_init(blocks);
	gm_cma_destroy(cma);
}

/*
 * gm_node_cma_resize() - see guestmem.h. Before retire only the configured
 * size changes. After retire the old area goes back to the buddy and a new
 * one is carved; if that fails the old range is reserved again and kept.
 * Takes the table read lock (the live allocations must not change) and the
 * node lock. -EINVAL, -EBUSY, -ENOSPC.
 */
int gm_node_cma_resize(struct gm_mem *mem, unsigned node, uint64_t size,
		       struct gm_error *e)
{
	struct gm_node *n = gm_node_get(mem, node);
	uint64_t granule, old_base, old_size;
	struct gm_cma *cma = NULL;
	struct gm_blist blocks;
	int ret = 0;

	if (!n)
		return gm_error_set(e, EINVAL, "no node %u", node);
	granule = mem->chunk << n->cfg.cma_order_per_bit;
	if (size % granule || size >= n->cfg.size)
		return gm_error_set(e, EINVAL, "node %u: cma size must be a multiple of %llu smaller than the node",
			      node, (unsigned long long)granule);
	pthread_rwlock_rdlock(&mem->table_lock);
	pthread_mutex_lock(&n->lock);
	if (!n->buddy) {
		n->cfg.cma_size = size;
		goto out;
	}
	if (n->cma && gm_cma_used(n->cma)) {
		ret = gm_error_set(e, EBUSY, "node %u: cma area in use (%llu bytes)", node,
			     (unsigned long long)gm_cma_used(n->cma));
		goto out;
	}
	old_base = n->cma ? gm_cma_base(n->cma) : 0;
	old_size = n->cma ? gm_cma_size(n->cma) : 0;
	gm_blist_init(&blocks);
	if (n->cma)
		gm_cma_uncarve(n->buddy, NULL, &n->cma_blocks, n->cma_dirty);
	if (size)
		ret = gm_cma_carve(mem, n, n->buddy, size, &cma, &blocks, e);
	if (ret) {
		/* nothing ran in between under our locks: the old range is free */
		if (old_size &&
		    gm_buddy_reserve(n->buddy, old_base, old_base + old_size,
				     &n->cma_blocks))
			ret = gm_error_set(e, EIO, "node %u: lost the old cma area", node);
		goto out;
	}
	gm_cma_destroy(n->cma);
	n->cma = cma;
	n->cma_blocks = blocks;
	n->cma_dirty = false;
	n->cfg.cma_size = size;
out:
	pthread_mutex_unlock(&n->lock);
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}
