// SPDX-License-Identifier: MIT
/*
 * region.c - regions: spans of a node that another part of kvmem reserved
 * and manages itself (a virtio-mem device's hot-plug region), recorded on
 * the node so that whatever describes the node shows them.
 *
 * guestmem neither allocates from a region nor checks it against its
 * pools: the owner decides where its region lies (inside the node's ranges
 * or beyond them) and allocates what the guest plugs as ordinary owned
 * allocations. A node keeps at most GM_REGIONS_MAX of them, ascending and
 * never overlapping, under the node lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"

static bool region_valid(const struct gm_region *r)
{
	return r->kind < GM_REGION_NR && r->size &&
	       r->start + r->size > r->start && gm_label_valid(r->label);
}

/*
 * gm_region_add() - see guestmem.h.
 */
int gm_region_add(struct gm_mem *mem, unsigned node, const struct gm_region *r)
{
	struct gm_node *n = mem ? gm_node_get(mem, node) : NULL;
	unsigned pos = 0;
	int ret = 0;

	if (!n || !r || !region_valid(r))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nr_regions; i++) {
		const struct gm_region *o = &n->region[i];

		if (r->start < o->start + o->size && o->start < r->start + r->size)
			ret = -EEXIST;
		if (o->start < r->start)
			pos = i + 1;
	}
	if (!ret && n->nr_regions == GM_REGIONS_MAX)
		ret = -ENOSPC;
	if (!ret) {
		memmove(&n->region[pos + 1], &n->region[pos],
			(n->nr_regions - pos) * sizeof(*n->region));
		n->region[pos] = *r;
		n->region[pos].label[GM_NAME_MAX] = '\0';
		n->nr_regions++;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

/*
 * gm_region_remove() - see guestmem.h.
 */
int gm_region_remove(struct gm_mem *mem, unsigned node, uint64_t start)
{
	struct gm_node *n = mem ? gm_node_get(mem, node) : NULL;
	int ret = -ENOENT;

	if (!n)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nr_regions; i++) {
		if (n->region[i].start != start)
			continue;
		memmove(&n->region[i], &n->region[i + 1],
			(n->nr_regions - i - 1) * sizeof(*n->region));
		n->nr_regions--;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

/*
 * gm_regions() - see guestmem.h.
 */
int gm_regions(struct gm_mem *mem, unsigned node, struct gm_region *out,
	       unsigned max)
{
	struct gm_node *n = mem ? gm_node_get(mem, node) : NULL;
	unsigned nr;

	if (!n || (max && !out))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	nr = n->nr_regions;
	if (max)
		memcpy(out, n->region, (nr < max ? nr : max) * sizeof(*out));
	pthread_mutex_unlock(&n->lock);
	return (int)nr;
}
