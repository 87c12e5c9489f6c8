// SPDX-License-Identifier: MIT
/*
 * mem.c - a struct gm_mem: node layout in guest-physical space, the
 * early-to-buddy retire step, and per-node inspection.
 *
 * Layout: node 0 starts at 0 and skips the MMIO hole [3G, 4G), so a node 0
 * larger than 3 GiB has two ranges; node N+1 starts at the first 1 GiB
 * aligned address >= 4 GiB and >= the end of node N. Each node's buddy
 * spans the node's whole span with the hole reserved, so block addresses
 * are guest-physical and naturally aligned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define GM_1G			0x40000000ULL
#define GM_MAX_CHUNK		GM_1G	/* keeps the hole chunk-aligned */
#define GM_MAX_ORDER_PER_BIT	20

struct gm_node *gm_node_get(const struct gm_mem *mem, unsigned node)
{
	if (!mem || node >= mem->nr_nodes)
		return NULL;
	return (struct gm_node *)&mem->node[node];
}

static int check_config(const struct gm_config *cfg, struct gm_error *e)
{
	uint64_t chunk = cfg->chunk_size;

	if (!cfg->nr_nodes || cfg->nr_nodes > GM_MAX_NODES)
		return gm_error_set(e, EINVAL, "need 1..%d nodes, got %u", GM_MAX_NODES,
			      cfg->nr_nodes);
	if (!gm_is_pow2(chunk) || chunk < 4096 || chunk > GM_MAX_CHUNK)
		return gm_error_set(e, EINVAL, "chunk size %llu is not a power of two in 4K..1G",
			      (unsigned long long)chunk);
	for (unsigned i = 0; i < cfg->nr_nodes; i++) {
		const struct gm_node_config *nc = &cfg->node[i];

		if (!nc->size || nc->size % chunk)
			return gm_error_set(e, EINVAL, "node %u size %llu is not a non-zero multiple of the chunk %llu",
				      i, (unsigned long long)nc->size,
				      (unsigned long long)chunk);
		if (nc->cma_order_per_bit > GM_MAX_ORDER_PER_BIT)
			return gm_error_set(e, EINVAL, "node %u cma order_per_bit %u > %d",
				      i, nc->cma_order_per_bit, GM_MAX_ORDER_PER_BIT);
		if (nc->cma_size % (chunk << nc->cma_order_per_bit) ||
		    nc->cma_size >= nc->size)
			return gm_error_set(e, EINVAL, "node %u cma size %llu must be a multiple of %llu smaller than the node",
				      i, (unsigned long long)nc->cma_size,
				      (unsigned long long)(chunk << nc->cma_order_per_bit));
		if (nc->hotplug_block && (!gm_is_pow2(nc->hotplug_block) ||
		    nc->hotplug_block < GM_HOTPLUG_BLOCK ||
		    nc->hotplug_block > GM_HOTPLUG_ALIGN))
			return gm_error_set(e, EINVAL, "node %u hot-plug block %llu is not a power of two from 2M to 128M",
				      i, (unsigned long long)nc->hotplug_block);
		if (nc->hotplug_size % GM_HOTPLUG_ALIGN || nc->hotplug_size % chunk)
			return gm_error_set(e, EINVAL, "node %u hot-plug size %llu is not a multiple of 128M and of the chunk",
				      i, (unsigned long long)nc->hotplug_size);
	}
	return 0;
}

/* Block of node config @nc's hot-plug region. */
static uint64_t hp_block(const struct gm_node_config *nc)
{
	return nc->hotplug_block ? nc->hotplug_block : GM_HOTPLUG_BLOCK;
}

/*
 * Put @n's hot-plug region of @size after its RAM (ends at @ram_end): the
 * next boundary of 128M, of the chunk and of the block, and above the MMIO
 * hole when it would reach into it. -ERANGE on overflow.
 */
static int place_hotplug(struct gm_node *n, uint64_t ram_end, uint64_t size,
			 uint64_t align)
{
	uint64_t start, off;

	if (ram_end > UINT64_MAX - align)
		return -ERANGE;
	start = (ram_end + align - 1) & ~(align - 1);
	if (start < GM_MMIO_HOLE_END && start + size > GM_MMIO_HOLE_START)
		start = GM_MMIO_HOLE_END;
	if (start > UINT64_MAX - size)
		return -ERANGE;
	/* its host mapping on a 2 MiB boundary too, for huge pages */
	off = (n->cfg.size + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	n->range[n->nr_ranges] = (struct gm_range){
		.start = start, .size = size, .map_offset = off };
	n->nr_ranges++;
	n->end = start + size;
	n->map_size = off + size;
	return 0;
}

/* Place every node; -ERANGE if the layout leaves 64-bit space. */
static int layout(struct gm_mem *mem, const struct gm_config *cfg,
		  struct gm_error *e)
{
	uint64_t prev_end = 0;

	for (unsigned i = 0; i < cfg->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];
		uint64_t size = cfg->node[i].size, start;

		if (i == 0) {
			start = 0;
		} else {
			start = prev_end < GM_4G ? GM_4G : prev_end;
			if (start > UINT64_MAX - (GM_1G - 1))
				goto overflow;
			start = (start + GM_1G - 1) & ~(GM_1G - 1);
		}
		n->start = start;
		n->range[0] = (struct gm_range){ .start = start, .size = size };
		n->nr_ranges = 1;
		if (i == 0 && size > GM_MMIO_HOLE_START) {
			n->range[0].size = GM_MMIO_HOLE_START;
			n->range[1] = (struct gm_range){
				.start = GM_MMIO_HOLE_END,
				.size = size - GM_MMIO_HOLE_START,
				.map_offset = GM_MMIO_HOLE_START };
			n->nr_ranges = 2;
		}
		{
			const struct gm_range *last = &n->range[n->nr_ranges - 1];

			if (last->start > UINT64_MAX - last->size)
				goto overflow;
			n->end = last->start + last->size;
		}
		n->nr_ram = n->nr_ranges;
		n->ram_end = n->end;
		n->map_size = size;
		if (cfg->node[i].hotplug_size) {
			uint64_t a = GM_HOTPLUG_ALIGN;

			if (hp_block(&cfg->node[i]) > a)
				a = hp_block(&cfg->node[i]);
			if (cfg->chunk_size > a)
				a = cfg->chunk_size;
			n->cfg = cfg->node[i];	/* place_hotplug() reads cfg.size */
			if (place_hotplug(n, n->ram_end, cfg->node[i].hotplug_size, a))
				goto overflow;
		}
		prev_end = n->end;
	}
	return 0;
overflow:
	return gm_error_set(e, ERANGE, "the nodes do not fit in the 64-bit guest-physical space");
}

/*
 * gm_mem_create() - see guestmem.h. -EINVAL for a bad config (message says
 * which), -ERANGE if the layout overflows, -ENOMEM.
 */
int gm_mem_create(const struct gm_config *cfg, struct gm_mem **out,
		  struct gm_error *e)
{
	struct gm_mem *mem;
	int ret;

	if (!cfg || !out)
		return gm_error_set(e, EINVAL, "no config");
	ret = check_config(cfg, e);
	if (ret)
		return ret;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return gm_error_set(e, ENOMEM, "out of memory");
	mem->chunk = cfg->chunk_size;
	mem->nr_nodes = cfg->nr_nodes;
	ret = layout(mem, cfg, e);
	if (ret) {
		free(mem);
		return ret;
	}
	if (gm_table_init(mem)) {
		free(mem);
		return gm_error_set(e, ENOMEM, "out of memory");
	}
	pthread_rwlock_init(&mem->table_lock, NULL);
	for (unsigned i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];

		pthread_mutex_init(&n->lock, NULL);
		n->id = i;
		n->cfg = cfg->node[i];
		gm_blist_init(&n->cma_blocks);
	}
	*out = mem;
	return 0;
}

void gm_mem_destroy(struct gm_mem *mem)
{
	if (!mem)
		return;
	gm_table_release(mem);
	for (unsigned i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];

		gm_cma_destroy(n->cma);
		gm_cma_destroy(n->hp);
		gm_blist_release(&n->cma_blocks);
		if (n->buddy)
			gm_buddy_destroy(n->buddy);
		gm_early_release(n);
		gm_backing_release(n);
		pthread_mutex_destroy(&n->lock);
	}
	pthread_rwlock_destroy(&mem->table_lock);
	free(mem);
}

unsigned gm_mem_nr_nodes(const struct gm_mem *mem)
{
	return mem->nr_nodes;
}

uint64_t gm_mem_chunk_size(const struct gm_mem *mem)
{
	return mem->chunk;
}

/* The layout never changes after create, so no lock is needed to read it;
 * hva is written once by gm_mem_back() before it returns. */
int gm_node_ranges(const struct gm_mem *mem, unsigned node, struct gm_range *r,
		   unsigned max)
{
	const struct gm_node *n = gm_node_get(mem, node);

	if (!n)
		return -EINVAL;
	for (unsigned i = 0; i < n->nr_ranges && i < max; i++)
		r[i] = n->range[i];
	return n->nr_ranges;
}

int gm_node_find(const struct gm_mem *mem, uint64_t gpa)
{
	for (unsigned i = 0; i < mem->nr_nodes; i++) {
		const struct gm_node *n = &mem->node[i];

		for (unsigned j = 0; j < n->nr_ranges; j++)
			if (gpa >= n->range[j].start &&
			    gpa - n->range[j].start < n->range[j].size)
				return i;
	}
	return -ENOENT;
}

/*
 * gm_mem_retire() - see guestmem.h. Builds every node's buddy and CMA area
 * first and commits only when all succeeded, so a failure changes nothing.
 * Takes the table write lock (no allocation or early call can run) and each
 * node lock in turn.
 */
int gm_mem_retire(struct gm_mem *mem, struct gm_error *e)
{
	struct gm_buddy *buddy[GM_MAX_NODES] = { 0 };
	struct gm_cma *cma[GM_MAX_NODES] = { 0 }, *hp[GM_MAX_NODES] = { 0 };
	struct gm_blist blocks[GM_MAX_NODES];
	unsigned i;
	int ret = 0;

	pthread_rwlock_wrlock(&mem->table_lock);
	if (mem->retired) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, EBUSY, "already retired");
	}
	for (i = 0; i < mem->nr_nodes; i++)
		gm_blist_init(&blocks[i]);
	for (i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];

		pthread_mutex_lock(&n->lock);
		ret = gm_early_retire_node(mem, n, &buddy[i], e);
		if (!ret && n->cfg.cma_size) {
			ret = gm_cma_carve(mem, n, buddy[i], n->cfg.cma_size,
					   &cma[i], &blocks[i], e);
			if (ret == -ENOSPC)	/* the contract of gm_mem_retire() */
				ret = gm_error_set(e, ENOMEM, "node %u: no room for its %llu-byte cma area",
						   i, (unsigned long long)n->cfg.cma_size);
		}
		if (!ret && n->cfg.hotplug_size) {
			const struct gm_range *r = &n->range[n->nr_ram];
			uint64_t bl = hp_block(&n->cfg);

			ret = gm_cma_create(r->start, r->size, mem->chunk,
					    gm_log2(bl / mem->chunk), &hp[i]);
			if (ret)
				ret = gm_error_set(e, ret, "node %u: cannot create its hot-plug map", i);
		}
		pthread_mutex_unlock(&n->lock);
		if (ret)
			break;
	}
	if (ret) {
		for (unsigned j = 0; j <= i && j < mem->nr_nodes; j++) {
			gm_cma_destroy(cma[j]);
			gm_cma_destroy(hp[j]);
			gm_blist_release(&blocks[j]);
			if (buddy[j])
				gm_buddy_destroy(buddy[j]);
		}
		pthread_rwlock_unlock(&mem->table_lock);
		return ret;
	}
	for (i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];

		pthread_mutex_lock(&n->lock);
		n->buddy = buddy[i];
		n->cma = cma[i];
		n->hp = hp[i];
		n->cma_blocks = blocks[i];
		pthread_mutex_unlock(&n->lock);
	}
	mem->retired = true;
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
}

bool gm_mem_retired(const struct gm_mem *mem)
{
	bool r;

	pthread_rwlock_rdlock((pthread_rwlock_t *)&mem->table_lock);
	r = mem->retired;
	pthread_rwlock_unlock((pthread_rwlock_t *)&mem->table_lock);
	return r;
}

/*
 * gm_node_stat() - see guestmem.h. Before retire avail and buddy_size are 0
 * and early_reserved is the sum of the early ranges as asked; from retire
 * on it is what the buddy keeps reserved for them (whole chunks, merged).
 * Takes the node lock. -EINVAL for an unknown node.
 */
int gm_node_stat(struct gm_mem *mem, unsigned node, struct gm_node_stat *st)
{
	struct gm_node *n = gm_node_get(mem, node);

	if (!n || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&n->lock);
	st->id = n->id;
	st->start = n->start;
	st->end = n->end;
	st->size = n->cfg.size;
	st->host_node = n->cfg.host_node;
	st->backed = n->map != NULL;
	st->cma_order_per_bit = n->cfg.cma_order_per_bit;
	if (n->buddy) {
		st->early_reserved = n->early_reserved;
		st->avail = gm_buddy_avail(n->buddy);
	} else {
		for (unsigned i = 0; i < n->nr_early; i++)
			st->early_reserved += n->early[i].size;
	}
	if (n->cma) {
		st->cma_base = gm_cma_base(n->cma);
		st->cma_size = gm_cma_size(n->cma);
		st->cma_used = gm_cma_used(n->cma);
		st->cma_maxchunk = gm_cma_maxchunk(n->cma);
	}
	if (n->buddy)
		st->buddy_size = st->size - st->early_reserved - st->cma_size;
	if (n->cfg.hotplug_size) {
		st->hotplug_base = n->range[n->nr_ram].start;
		st->hotplug_size = n->cfg.hotplug_size;
		st->hotplug_block = hp_block(&n->cfg);
		st->hotplug_used = n->hp ? gm_cma_used(n->hp) : 0;
	}
	pthread_mutex_unlock(&n->lock);
	return 0;
}

/*
 * gm_node_free_area() - see guestmem.h. Before retire *@nr_orders is 0.
 */
int gm_node_free_area(struct gm_mem *mem, unsigned node,
		      uint64_t clean[GM_MAX_ORDER + 1],
		      uint64_t dirty[GM_MAX_ORDER + 1], unsigned *nr_orders)
{
	struct gm_node *n = gm_node_get(mem, node);

	if (!n || !clean || !dirty || !nr_orders)
		return -EINVAL;
	memset(clean, 0, sizeof(uint64_t) * (GM_MAX_ORDER + 1));
	memset(dirty, 0, sizeof(uint64_t) * (GM_MAX_ORDER + 1));
	pthread_mutex_lock(&n->lock);
	*nr_orders = n->buddy ? gm_buddy_free_area(n->buddy, clean, dirty) : 0;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

/*
 * gm_node_cma_bitmap() - see guestmem.h. An empty string when the node has
 * no CMA area. -EINVAL, -ENOMEM.
 */
int gm_node_cma_bitmap(struct gm_mem *mem, unsigned node, char **out)
{
	struct gm_node *n = gm_node_get(mem, node);
	char *s;

	if (!n || !out)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	s = n->cma ? gm_cma_bitmap_text(n->cma) : strdup("");
	pthread_mutex_unlock(&n->lock);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

/*
 * gm_node_hotplug_bitmap() - see guestmem.h. Before retire (no map yet) the
 * region reads as all free.
 */
int gm_node_hotplug_bitmap(struct gm_mem *mem, unsigned node, char **out)
{
	struct gm_node *n = gm_node_get(mem, node);
	char *s;

	if (!n || !out)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	s = n->hp ? gm_cma_bitmap_text(n->hp) : strdup("");
	pthread_mutex_unlock(&n->lock);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}
