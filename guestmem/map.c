// SPDX-License-Identifier: MIT
/*
 * map.c - a consistent snapshot of one node for its picture (map-svg.c):
 * layout, reserved areas (early ranges, CMA, the hot-plug region), live allocations
 * with their blocks, free buddy blocks.
 *
 * Everything is copied under the table read lock and the node lock at once
 * (lock order: table, then node), so an allocation is never both in the
 * list and free in the buddy. The copy is plain memory; the text is made
 * afterwards with no lock held. Cost under the locks: one pass over the
 * table and one walk of the buddy's free blocks (O(free blocks), about a
 * millisecond at 100,000 fragments).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

_Static_assert(GM_NODE_MAX_RANGES <= GM_MAP_RANGES,
	       "a node's ranges fit in a map's ranges");

static int area_push(struct gm_node_map *m, size_t *cap, uint64_t start,
		     uint64_t size, enum gm_area_kind kind, const char *label)
{
	struct gm_map_area *a;

	if (gm_grow(&m->areas, cap, (size_t)m->nr_areas + 1, sizeof(*m->areas)))
		return -ENOMEM;
	a = &m->areas[m->nr_areas++];
	a->start = start;
	a->size = size;
	a->kind = kind;
	snprintf(a->label, sizeof(a->label), "%s", label);
	return 0;
}

static int area_cmp(const void *x, const void *y)
{
	const struct gm_map_area *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

static enum gm_area_kind early_kind(enum gm_early_type t)
{
	switch (t) {
	case GM_EARLY_RESERVED:	return GM_AREA_EARLY_RESERVED;
	case GM_EARLY_ACPI:	return GM_AREA_EARLY_ACPI;
	default:		return GM_AREA_EARLY_RAM;
	}
}

/* The reserved areas of @n: its early ranges, its CMA area, its hot-plug region. */
static int take_areas(const struct gm_node *n, struct gm_node_map *m)
{
	size_t cap = 0;
	int ret = 0;

	for (unsigned i = 0; !ret && i < n->nr_early; i++)
		ret = area_push(m, &cap, n->early[i].start, n->early[i].size,
				early_kind(n->early[i].type), n->early[i].label);
	if (!ret && n->cma)
		ret = area_push(m, &cap, gm_cma_base(n->cma), gm_cma_size(n->cma),
				GM_AREA_CMA, "cma");
	/* the --hotplug region: its plugged blocks are the VM's allocations */
	if (!ret && n->hp)
		ret = area_push(m, &cap, gm_cma_base(n->hp), gm_cma_size(n->hp),
				GM_AREA_HOTPLUG, "hotplug");
	if (!ret && m->nr_areas > 1)
		qsort(m->areas, m->nr_areas, sizeof(*m->areas), area_cmp);
	return ret;
}

static bool on_node(const struct gm_alloc *a, unsigned node)
{
	return a->state == GM_A_LIVE && a->info.req.node == node;
}

/* The ranges to draw: the node's own (RAM, then its hot-plug region). */
static void take_ranges(const struct gm_node *n, struct gm_node_map *m)
{
	m->nr_ranges = n->nr_ranges;
	for (unsigned i = 0; i < n->nr_ranges; i++) {
		m->range[i] = n->range[i];
		m->range[i].hva = NULL;
	}
}

/* The live allocations of @node and their blocks; counted first, one malloc each. */
static int take_allocs(const struct gm_mem *mem, unsigned node,
		       struct gm_node_map *m)
{
	const struct gm_alloc *a;
	size_t nr = 0, nb = 0, i = 0, j = 0;

	for (a = mem->first; a; a = a->next) {
		if (!on_node(a, node))
			continue;
		nr++;
		nb += a->info.nr_blocks;
	}
	m->allocs = calloc(nr ? nr : 1, sizeof(*m->allocs));
	m->blocks = malloc((nb ? nb : 1) * sizeof(*m->blocks));
	if (!m->allocs || !m->blocks)
		return -ENOMEM;
	for (a = mem->first; a; a = a->next) {
		struct gm_map_alloc *x;

		if (!on_node(a, node))
			continue;
		x = &m->allocs[i++];
		x->id = a->info.id;
		memcpy(x->name, a->info.req.name, sizeof(x->name));
		x->owner = a->info.req.owner;
		memcpy(x->purpose, a->info.req.purpose, sizeof(x->purpose));
		x->from = a->info.req.from;
		x->size = a->info.size;
		x->first = j;
		x->nr_blocks = a->info.nr_blocks;
		memcpy(&m->blocks[j], a->info.blocks,
		       a->info.nr_blocks * sizeof(*m->blocks));
		j += a->info.nr_blocks;
	}
	m->nr_allocs = (unsigned)nr;
	m->nr_blocks = nb;
	return 0;
}

struct free_walk {
	struct gm_node_map *m;
	size_t cap;
	uint64_t chunk;
};

static int free_one(void *opaque, uint64_t gpa, unsigned order, bool clean)
{
	struct free_walk *w = opaque;
	struct gm_node_map *m = w->m;

	if (gm_grow(&m->free, &w->cap, m->nr_free + 1, sizeof(*m->free)))
		return -ENOMEM;
	m->free[m->nr_free++] = (struct gm_block){
		.gpa = gpa, .size = w->chunk << order, .order = order, .dirty = !clean };
	return 0;
}

/* The free buddy blocks of @n, sized up front from the per-order counts. */
static int take_free(const struct gm_node *n, struct gm_node_map *m)
{
	uint64_t clean[GM_MAX_ORDER + 1], dirty[GM_MAX_ORDER + 1], total = 0;
	struct free_walk w = { m, 0, m->chunk };
	unsigned nr;

	if (!n->buddy)
		return 0;
	nr = gm_buddy_free_area(n->buddy, clean, dirty);
	for (unsigned i = 0; i < nr && i <= GM_MAX_ORDER; i++)
		total += clean[i] + dirty[i];
	if (total && gm_grow(&m->free, &w.cap, total, sizeof(*m->free)))
		return -ENOMEM;
	return gm_buddy_walk_free(n->buddy, n->start, n->end, free_one, &w);
}

/*
 * gm_node_map_take() - see guestmem.h.
 */
int gm_node_map_take(struct gm_mem *mem, unsigned node,
		     struct gm_node_map **out)
{
	struct gm_node *n = gm_node_get(mem, node);
	struct gm_node_map *m;
	int ret;

	if (!n || !out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->node = node;
	m->start = n->start;
	m->end = n->end;
	m->size = n->cfg.size;
	m->chunk = mem->chunk;
	pthread_rwlock_rdlock(&mem->table_lock);
	pthread_mutex_lock(&n->lock);
	m->retired = mem->retired;
	take_ranges(n, m);
	if (n->buddy)
		m->avail = gm_buddy_avail(n->buddy);
	if (n->cma) {
		m->cma_size = gm_cma_size(n->cma);
		m->cma_used = gm_cma_used(n->cma);
	}
	ret = take_areas(n, m);
	if (!ret)
		ret = take_allocs(mem, node, m);
	if (!ret)
		ret = take_free(n, m);
	pthread_mutex_unlock(&n->lock);
	pthread_rwlock_unlock(&mem->table_lock);
	if (ret) {
		gm_node_map_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void gm_node_map_free(struct gm_node_map *map)
{
	if (!map)
		return;
	free(map->areas);
	free(map->allocs);
	free(map->blocks);
	free(map->free);
	free(map);
}

/*
 * gm_node_svg() - see guestmem.h. The locks are held by the snapshot only.
 */
int gm_node_svg(struct gm_mem *mem, unsigned node, char **out, size_t *len)
{
	struct gm_node_map *m;
	int ret;

	if (!out || !len)
		return -EINVAL;
	ret = gm_node_map_take(mem, node, &m);
	if (ret)
		return ret;
	ret = gm_map_svg(m, out, len);
	gm_node_map_free(m);
	return ret;
}
