// SPDX-License-Identifier: MIT
/*
 * alloc.c - named, owned allocations over the node allocators.
 *
 * The table of names (names.c, mem->table_lock) holds every name guestmem
 * knows: pending reservations, allocations being made, live allocations
 * and allocations being freed (pool.h, enum gm_alloc_state). An
 * allocation crosses the locks in three short
 * steps: claim the name (table write lock), take the blocks (node lock),
 * then zero them with no lock held and publish (table write lock). A free
 * mirrors it: mark the entry FREEING (table), discard the blocks' host
 * pages (no lock), give them back (node lock), drop the entry (table). So
 * memset and madvise on one node never stop allocations, frees or reads elsewhere,
 * and the name stays held until the call is done.
 *
 * Reads and writes of an allocation's bytes hold the table read lock, so
 * a free (which needs the write lock to begin) waits for copies in flight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define ALL_FLAGS	(GM_F_CONTIGUOUS | GM_F_CLEAR | GM_F_TRIM_DISABLE | \
			 GM_F_NOCLEAR | GM_F_FALLBACK)

void gm_request_init(struct gm_request *req)
{
	memset(req, 0, sizeof(*req));
	req->owner = GM_OWNER_USER;
	req->from = GM_FROM_BUDDY;
	req->mode = GM_MODE_SIMPLE;
}

/* ---- requests ------------------------------------------------------------ */

/*
 * A plug: the VM's own, exactly whole blocks of @n's hot-plug region
 * (mode range, size = end - start), never the shell's.
 */
static int check_hotplug(const struct gm_node *n, const struct gm_request *req,
			 struct gm_error *e)
{
	const struct gm_range *r = &n->range[n->nr_ram];
	uint64_t bl = n->cfg.hotplug_block ? n->cfg.hotplug_block : GM_HOTPLUG_BLOCK;

	if (req->owner != GM_OWNER_VM)
		return gm_error_set(e, EPERM, "the hot-plug region is the guest's");
	if (!n->cfg.hotplug_size)
		return gm_error_set(e, EINVAL, "node %u has no hot-plug region", n->id);
	if (req->mode != GM_MODE_RANGE || req->flags & ~GM_F_NOCLEAR)
		return gm_error_set(e, EINVAL, "from=hotplug takes mode=range and no flags but noclear");
	if (req->range_start < r->start || req->range_end > r->start + r->size ||
	    req->range_start >= req->range_end ||
	    req->range_end - req->range_start != req->size ||
	    (req->range_start - r->start) % bl || req->size % bl)
		return gm_error_set(e, EINVAL, "plug 0x%llx-0x%llx is not whole blocks of node %u's hot-plug region",
				    (unsigned long long)req->range_start,
				    (unsigned long long)req->range_end, n->id);
	return 0;
}

/*
 * Check @req against the layout rules and @mem's nodes; fills *@rsize (size
 * rounded up to the alignment and the chunk) and *@align (effective).
 */
static int check_request(const struct gm_mem *mem, const struct gm_request *req,
			 uint64_t *rsize, uint64_t *align, struct gm_error *e)
{
	const struct gm_node *n;
	uint64_t chunk = mem->chunk, a, r;
	int ret;

	if (req->owner != GM_OWNER_USER && req->owner != GM_OWNER_VM)
		return gm_error_set(e, EINVAL, "bad owner %d", (int)req->owner);
	if (!memchr(req->name, '\0', sizeof(req->name)) ||
	    !memchr(req->purpose, '\0', sizeof(req->purpose)))
		return gm_error_set(e, EINVAL, "name or purpose not terminated");
	if (req->name[0]) {
		ret = gm_check_name(req->name, req->owner, e);
		if (ret)
			return ret;
	} else if (!req->reserved_id && req->owner != GM_OWNER_USER) {
		return gm_error_set(e, EINVAL, "the vm names its allocations");
	}
	if (!req->size)
		return gm_error_set(e, EINVAL, "size must be non-zero");
	if (req->align && !gm_is_pow2(req->align))
		return gm_error_set(e, EINVAL, "align %llu is not a power of two",
			      (unsigned long long)req->align);
	if (req->flags & ~ALL_FLAGS)
		return gm_error_set(e, EINVAL, "unknown flags 0x%x", req->flags);
	if (req->from != GM_FROM_BUDDY && req->from != GM_FROM_CMA &&
	    req->from != GM_FROM_HOTPLUG)
		return gm_error_set(e, EINVAL, "bad from");
	if (req->mode != GM_MODE_SIMPLE && req->mode != GM_MODE_TOPDOWN &&
	    req->mode != GM_MODE_RANGE)
		return gm_error_set(e, EINVAL, "bad mode");
	n = gm_node_get(mem, req->node);
	if (!n)
		return gm_error_set(e, EINVAL, "no node %u", req->node);
	a = req->align ? req->align : chunk;
	if (req->from == GM_FROM_CMA) {
		if (a < chunk)
			return gm_error_set(e, EINVAL, "cma align must be at least the page (%llu)",
				      (unsigned long long)chunk);
		if (req->mode != GM_MODE_SIMPLE)
			return gm_error_set(e, EINVAL, "from=cma takes mode=simple only");
		if (req->flags & (GM_F_TRIM_DISABLE | GM_F_FALLBACK))
			return gm_error_set(e, EINVAL, "from=cma takes no trim_disable or fallback flag");
	}
	if (req->from == GM_FROM_HOTPLUG) {
		ret = check_hotplug(n, req, e);
		if (ret)
			return ret;
	}
	/* layout rule: size rounded up to align must not overflow */
	if (req->size > UINT64_MAX - (a - 1))
		return gm_error_set(e, ERANGE, "size rounded up to align %llu overflows",
			      (unsigned long long)a);
	if (a < chunk)
		a = chunk;
	if (req->size > UINT64_MAX - (a - 1))
		return gm_error_set(e, ERANGE, "size rounded up to the chunk overflows");
	r = (req->size + a - 1) & ~(a - 1);
	if (req->mode == GM_MODE_RANGE) {
		if (req->range_start >= req->range_end ||
		    req->range_start % chunk || req->range_end % chunk)
			return gm_error_set(e, EINVAL, "range must be START < END, multiples of the chunk (%llu)",
				      (unsigned long long)chunk);
		if (req->range_start < n->start || req->range_end > n->end)
			return gm_error_set(e, EINVAL, "range 0x%llx-0x%llx is outside node %u (0x%llx-0x%llx)",
				      (unsigned long long)req->range_start,
				      (unsigned long long)req->range_end, req->node,
				      (unsigned long long)n->start,
				      (unsigned long long)n->end);
	}
	*rsize = r;
	*align = a;
	return 0;
}

/* Pick the next auto name a<N> not taken; caller holds the write lock. */
static unsigned long auto_name(const struct gm_mem *mem, char *name)
{
	unsigned long k = mem->auto_next;

	for (;; k++) {
		snprintf(name, GM_NAME_MAX + 1, "a%lu", k);
		if (!gm_table_lookup_name(mem, name))
			return k;
	}
}

static int alloc_buddy(struct gm_node *n, const struct gm_request *req,
		       uint64_t rsize, uint64_t align, struct gm_blist *l)
{
	unsigned fl = req->flags & (GM_F_CONTIGUOUS | GM_F_CLEAR | GM_F_TRIM_DISABLE);
	uint64_t contig_min = align;
	int ret;

	/* contiguous: aligned to at least the largest power of two dividing the size */
	if (gm_pow2_divisor(rsize) > contig_min)
		contig_min = gm_pow2_divisor(rsize);
	if (req->flags & GM_F_FALLBACK) {
		ret = gm_buddy_alloc(n->buddy, req->mode, req->range_start,
				     req->range_end, rsize, contig_min,
				     fl | GM_F_CONTIGUOUS, l);
		if (ret != -ENOSPC)
			return ret;
		fl &= ~(GM_F_CONTIGUOUS | GM_F_TRIM_DISABLE);
	}
	return gm_buddy_alloc(n->buddy, req->mode, req->range_start,
			      req->range_end, rsize,
			      (fl & GM_F_CONTIGUOUS) ? contig_min : align, fl, l);
}

static int alloc_cma(struct gm_node *n, uint64_t chunk, uint64_t rsize,
		     uint64_t align, struct gm_blist *l)
{
	uint64_t gpa;
	unsigned order;
	int ret;

	if (!n->cma)
		return -ENOSPC;
	if (gm_pow2_divisor(rsize) > align)
		align = gm_pow2_divisor(rsize);
	order = gm_log2(align / chunk);
	ret = gm_cma_alloc(n->cma, rsize / chunk, order, &gpa);
	if (ret)
		return ret;
	ret = gm_blist_push(l, gpa, rsize, gm_cma_order_per_bit(n->cma), true);
	if (ret)
		gm_cma_release(n->cma, gpa, rsize / chunk);
	return ret;
}

/* Claim the exact range of a plug from @n's hot-plug map. */
static int alloc_hotplug(struct gm_node *n, uint64_t chunk,
			 const struct gm_request *req, struct gm_blist *l)
{
	uint64_t count = req->size / chunk;
	int ret;

	if (!n->hp)
		return -ENOSPC;
	ret = gm_cma_claim(n->hp, req->range_start, count);
	if (ret)
		return ret;
	ret = gm_blist_push(l, req->range_start, req->size,
			    gm_cma_order_per_bit(n->hp), true);
	if (ret)
		gm_cma_release(n->hp, req->range_start, count);
	return ret;
}

/* The bitmap allocator of @from on @n: its CMA area or its hot-plug map. */
static struct gm_cma *area_of(struct gm_node *n, enum gm_from from)
{
	return from == GM_FROM_HOTPLUG ? n->hp : n->cma;
}

/*
 * Give @nr blocks of an allocation from @from back to node @n (caller holds
 * n->lock). All or nothing: if the allocator refuses a block, the ones
 * already given back are taken again, and its errno is returned.
 */
static int give_back(struct gm_node *n, enum gm_from from,
		     const struct gm_block *b, unsigned nr, uint64_t cma_count,
		     bool cleared)
{
	unsigned i;
	int ret = 0;

	for (i = 0; i < nr && !ret; i++) {
		if (from != GM_FROM_BUDDY)
			ret = gm_cma_release(area_of(n, from), b[i].gpa, cma_count);
		else
			ret = gm_buddy_free(n->buddy, b[i].gpa, b[i].order, cleared);
	}
	if (!ret)
		return 0;
	/* b[i - 1] was refused; b[0 .. i - 2] went back: take them again */
	for (unsigned k = 0; k + 1 < i; k++) {
		struct gm_blist l;

		gm_blist_init(&l);
		if (from != GM_FROM_BUDDY || gm_buddy_reserve(n->buddy, b[k].gpa,
							     b[k].gpa + b[k].size, &l))
			fprintf(stderr, "guestmem: node %u: block 0x%llx lost in a refused free\n",
				n->id, (unsigned long long)b[k].gpa);
		gm_blist_release(&l);
	}
	return ret;
}

/* ---- reserve, allocate, free ---------------------------------------------- */

/*
 * Step 1 of gm_alloc(): claim the name of @req for @fresh, or the pending
 * reservation it names (*@claimed; its request saved in @saved). Caller
 * holds the table write lock.
 */
static int claim(struct gm_mem *mem, const struct gm_request *req,
		 struct gm_alloc *fresh, struct gm_alloc **claimed,
		 struct gm_request *saved, unsigned long *auto_k,
		 struct gm_error *e)
{
	struct gm_alloc *a;

	if (!mem->retired)
		return gm_error_set(e, EBUSY, "memory not retired from the early phase yet");
	if (req->reserved_id) {
		a = gm_table_lookup_id(mem, req->reserved_id);
		if (!a || !a->reserved || a->state == GM_A_FREEING)
			return gm_error_set(e, ENOENT, "no reservation %llu",
					    (unsigned long long)req->reserved_id);
		if (a->info.req.owner != req->owner)
			return gm_refuse_owner(a, e);
		if (a->state != GM_A_PENDING)
			return gm_error_set(e, EBUSY, a->state == GM_A_LIVE ?
					    "already allocated" : "being allocated");
		if (req->name[0] && strcmp(req->name, a->info.req.name))
			return gm_error_set(e, EINVAL, "reservation %llu is named %s, not %s",
					    (unsigned long long)a->info.id,
					    a->info.req.name, req->name);
		*saved = a->info.req;
		a->info.req = *req;
		memcpy(a->info.req.name, saved->name, sizeof(saved->name));
		a->info.req.reserved_id = 0;
		a->state = GM_A_ALLOCATING;
		*claimed = a;
		return 0;
	}
	if (req->name[0] && gm_table_lookup_name(mem, req->name))
		return gm_error_set(e, EEXIST, "name taken");
	a = fresh;
	a->info.req = *req;
	if (!req->name[0])
		*auto_k = auto_name(mem, a->info.req.name);
	if (!req->name[0])
		mem->auto_next = *auto_k + 1;
	a->info.id = mem->next_id++;
	a->info.pending = true;
	a->state = GM_A_ALLOCATING;
	gm_table_insert(mem, a);
	*claimed = a;
	return 0;
}

/* Undo a claim after a failure: a reservation is pending again. */
static void unclaim(struct gm_mem *mem, struct gm_alloc *a,
		    const struct gm_request *saved, unsigned long auto_k)
{
	pthread_rwlock_wrlock(&mem->table_lock);
	if (a->reserved) {
		a->info.req = *saved;
		a->state = GM_A_PENDING;
	} else {
		gm_table_remove(mem, a);
		if (auto_k && mem->auto_next > auto_k)	/* the number is not used up */
			mem->auto_next = auto_k;
		free(a);
	}
	pthread_rwlock_unlock(&mem->table_lock);
}

/*
 * gm_alloc() - see guestmem.h.
 */
int gm_alloc(struct gm_mem *mem, const struct gm_request *req,
	     struct gm_alloc_info **out, struct gm_error *e)
{
	struct gm_alloc *fresh, *a = NULL;
	struct gm_alloc_info snap, *copy = NULL;
	struct gm_request saved;
	struct gm_node *n;
	struct gm_blist l;
	uint64_t rsize = 0, align = 0, held = 0;
	unsigned long auto_k = 0;
	bool backed;
	int ret;

	if (!mem || !req)
		return gm_error_set(e, EINVAL, "no request");
	ret = check_request(mem, req, &rsize, &align, e);
	if (ret)
		return ret;
	n = &mem->node[req->node];
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return gm_error_set(e, ENOMEM, "out of memory");
	gm_blist_init(&l);

	pthread_rwlock_wrlock(&mem->table_lock);
	ret = claim(mem, req, fresh, &a, &saved, &auto_k, e);
	backed = mem->backed;
	pthread_rwlock_unlock(&mem->table_lock);
	if (a != fresh)
		free(fresh);
	if (ret)
		return ret;

	pthread_mutex_lock(&n->lock);
	if (req->from == GM_FROM_CMA) {
		ret = alloc_cma(n, mem->chunk, rsize, align, &l);
		if (!ret && !backed)	/* nothing will discard it clean */
			n->cma_dirty = true;
	} else if (req->from == GM_FROM_HOTPLUG) {
		ret = alloc_hotplug(n, mem->chunk, req, &l);
	} else {
		ret = alloc_buddy(n, req, rsize, align, &l);
	}
	pthread_mutex_unlock(&n->lock);
	if (ret) {
		if (ret == -EBUSY && req->from == GM_FROM_HOTPLUG)
			gm_error_set(e, EBUSY, "part of 0x%llx-0x%llx is plugged already",
			       (unsigned long long)req->range_start,
			       (unsigned long long)req->range_end);
		else if (ret == -ENOSPC)
			gm_error_set(e, ENOSPC, "no room for %llu bytes in node %u%s",
			       (unsigned long long)rsize, req->node,
			       req->from == GM_FROM_CMA ? " cma" : "");
		else
			gm_error_set(e, ret, "%s allocator refused the request",
			       req->from == GM_FROM_CMA ? "cma" : "buddy");
		gm_blist_release(&l);	/* a failed try may have grown it */
		unclaim(mem, a, &saved, auto_k);
		return ret;
	}

	/* no lock held: the blocks are ours, the name is held */
	gm_blist_sort(&l);
	for (unsigned i = 0; i < l.nr; i++) {
		held += l.b[i].size;
		if (backed && !(req->flags & GM_F_NOCLEAR) && l.b[i].dirty) {
			gm_zero_range(mem, n, l.b[i].gpa, l.b[i].size);
			l.b[i].dirty = false;
		}
	}
	snap = a->info;		/* id and request: only this call changes them now */
	snap.pending = false;
	snap.size = held;
	snap.blocks = l.b;
	snap.nr_blocks = l.nr;
	if (out && !(copy = gm_info_dup(&snap))) {
		pthread_mutex_lock(&n->lock);
		give_back(n, req->from, l.b, l.nr, rsize / mem->chunk, false);
		pthread_mutex_unlock(&n->lock);
		gm_blist_release(&l);
		unclaim(mem, a, &saved, auto_k);
		return gm_error_set(e, ENOMEM, "out of memory");
	}

	pthread_rwlock_wrlock(&mem->table_lock);
	/* the block array moves into the allocation (gm_blist storage is malloc'd) */
	a->info = snap;
	if (req->from != GM_FROM_BUDDY)
		a->cma_count = rsize / mem->chunk;
	a->state = GM_A_LIVE;
	pthread_rwlock_unlock(&mem->table_lock);
	if (out)
		*out = copy;
	return 0;
}

/*
 * May @who free entry @a now? 0 yes, 1 a pending reservation to drop
 * (@drop_pending), else a negative errno with @e set. Table lock held.
 */
static int may_free(const struct gm_alloc *a, enum gm_owner who,
		    bool drop_pending, struct gm_error *e)
{
	if (a->info.req.owner != who)
		return gm_refuse_owner(a, e);
	if (a->state == GM_A_PENDING && drop_pending)
		return 1;
	if (a->state == GM_A_PENDING)
		return gm_error_set(e, ENOENT, "no allocation yet (rmdir drops a pending name)");
	if (a->state == GM_A_ALLOCATING)
		return gm_error_set(e, EBUSY, "being allocated");
	if (a->state == GM_A_FREEING)
		return gm_error_set(e, ENOENT, "being freed");
	return 0;
}

/*
 * Give FREEING entry @a's blocks back (already zeroed if @backed) and drop
 * the entry, its name last. No lock held on entry. An allocator mismatch
 * (a bug, never a bad free) keeps the entry LIVE and returns -EIO.
 */
static int finish_free(struct gm_mem *mem, struct gm_alloc *a, bool backed,
		       struct gm_error *e)
{
	struct gm_node *n = &mem->node[a->info.req.node];
	int ret;

	pthread_mutex_lock(&n->lock);
	ret = give_back(n, a->info.req.from, a->info.blocks,
			a->info.nr_blocks, a->cma_count, backed);
	pthread_mutex_unlock(&n->lock);

	pthread_rwlock_wrlock(&mem->table_lock);
	if (ret) {
		a->state = GM_A_LIVE;
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, EIO, "allocator refused a block (%s); the allocation is kept",
				    gm_errno_name(ret));
	}
	gm_table_remove(mem, a);
	pthread_rwlock_unlock(&mem->table_lock);
	gm_table_entry_free(a);
	return 0;
}

/*
 * Free entry @a for @who (caller holds the table write lock; released
 * here). @drop_pending: a pending reservation is dropped rather than
 * refused as "no allocation". Blocks are discarded with no lock held and
 * given back all or nothing; the entry (and its name) goes last.
 */
static int free_entry(struct gm_mem *mem, struct gm_alloc *a,
		      enum gm_owner who, bool drop_pending, struct gm_error *e)
{
	struct gm_node *n;
	bool backed;
	int ret = may_free(a, who, drop_pending, e);

	if (ret) {
		if (ret > 0) {
			gm_table_remove(mem, a);
			gm_table_entry_free(a);
			ret = 0;
		}
		pthread_rwlock_unlock(&mem->table_lock);
		return ret;
	}
	a->state = GM_A_FREEING;
	backed = mem->backed;
	n = &mem->node[a->info.req.node];
	pthread_rwlock_unlock(&mem->table_lock);

	/* FREEING: nobody else reads, frees or lists it; the blocks are ours */
	if (backed)
		for (unsigned i = 0; i < a->info.nr_blocks; i++)
			gm_zero_range(mem, n, a->info.blocks[i].gpa,
				      a->info.blocks[i].size);
	return finish_free(mem, a, backed, e);
}

struct span {
	uint64_t gpa, size;
	unsigned node;
};

static int cmp_span(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return a->gpa < b->gpa ? -1 : a->gpa > b->gpa;
}

/*
 * Zero the blocks of FREEING entries @a[0..@nr), adjacent blocks of a node
 * as one span: one discard (one KVM invalidation) per span rather than per
 * block. Block by block if the span list cannot be had.
 */
static void zero_entries(struct gm_mem *mem, struct gm_alloc **a, unsigned nr)
{
	struct span *sp;
	size_t total = 0, k = 0, m = 0;

	for (unsigned i = 0; i < nr; i++)
		total += a[i]->info.nr_blocks;
	sp = total ? malloc(total * sizeof(*sp)) : NULL;
	for (unsigned i = 0; i < nr; i++)
		for (unsigned j = 0; j < a[i]->info.nr_blocks; j++) {
			struct span s = { a[i]->info.blocks[j].gpa,
					  a[i]->info.blocks[j].size,
					  a[i]->info.req.node };

			if (sp)
				sp[k++] = s;
			else
				gm_zero_range(mem, &mem->node[s.node], s.gpa, s.size);
		}
	if (!sp)
		return;
	qsort(sp, k, sizeof(*sp), cmp_span);
	for (size_t i = 1; i < k; i++) {
		if (sp[i].node == sp[m].node && sp[m].gpa + sp[m].size == sp[i].gpa)
			sp[m].size += sp[i].size;
		else
			sp[++m] = sp[i];
	}
	for (size_t i = 0; k && i <= m; i++)
		gm_zero_range(mem, &mem->node[sp[i].node], sp[i].gpa, sp[i].size);
	free(sp);
}

/*
 * gm_free_ids() - see guestmem.h.
 */
int gm_free_ids(struct gm_mem *mem, const uint64_t *ids, unsigned nr,
		enum gm_owner who, struct gm_error *e)
{
	struct gm_alloc **a;
	unsigned i;
	bool backed;
	int ret = 0;

	if (!mem || (nr && !ids))
		return gm_error_set(e, EINVAL, "free: no memory");
	if (!nr)
		return 0;
	a = calloc(nr, sizeof(*a));
	if (!a)
		return gm_error_set(e, ENOMEM, "out of memory");
	pthread_rwlock_wrlock(&mem->table_lock);
	for (i = 0; i < nr && !ret; i++) {
		a[i] = gm_table_lookup_id(mem, ids[i]);
		if (!a[i] || a[i]->state == GM_A_FREEING)	/* or listed twice */
			ret = gm_error_set(e, ENOENT, "no allocation %llu",
					   (unsigned long long)ids[i]);
		else if ((ret = may_free(a[i], who, false, e)) == 0)
			a[i]->state = GM_A_FREEING;
	}
	if (ret) {
		for (i--; i-- > 0;)
			a[i]->state = GM_A_LIVE;
		pthread_rwlock_unlock(&mem->table_lock);
		free(a);
		return ret;
	}
	backed = mem->backed;
	pthread_rwlock_unlock(&mem->table_lock);

	if (backed)
		zero_entries(mem, a, nr);
	for (i = 0; i < nr; i++) {
		int r = finish_free(mem, a[i], backed, e);

		if (r && !ret)
			ret = r;
	}
	free(a);
	return ret;
}

/*
 * gm_free_name() - gm_free(), telling the freed allocation's id in *@id.
 */
int gm_free_name(struct gm_mem *mem, const char *name, uint64_t *id,
		 struct gm_error *e)
{
	struct gm_alloc *a;

	if (!mem || !name || !name[0])
		return gm_error_set(e, EINVAL, "free: no name");
	pthread_rwlock_wrlock(&mem->table_lock);
	a = gm_table_lookup_name(mem, name);
	if (!a || (a->state == GM_A_ALLOCATING && !a->reserved) ||
	    a->state == GM_A_FREEING) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, ENOENT, "no such allocation");
	}
	if (id)
		*id = a->info.id;
	return free_entry(mem, a, GM_OWNER_USER, false, e);
}

/*
 * gm_free() - see guestmem.h.
 */
int gm_free(struct gm_mem *mem, const char *name, struct gm_error *e)
{
	return gm_free_name(mem, name, NULL, e);
}

/*
 * gm_free_id() - see guestmem.h.
 */
int gm_free_id(struct gm_mem *mem, uint64_t id, enum gm_owner who,
	       struct gm_error *e)
{
	struct gm_alloc *a;

	if (!mem)
		return gm_error_set(e, EINVAL, "free: no memory");
	pthread_rwlock_wrlock(&mem->table_lock);
	a = gm_table_lookup_id(mem, id);
	if (!a || (a->state == GM_A_ALLOCATING && !a->reserved)) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, ENOENT, "no allocation %llu",
				    (unsigned long long)id);
	}
	return free_entry(mem, a, who, true, e);
}

/*
 * gm_alloc_rw() - see guestmem.h. Holds the table read lock while copying.
 */
ssize_t gm_alloc_rw(struct gm_mem *mem, uint64_t id, void *buf, size_t len,
		    uint64_t off, bool write)
{
	const struct gm_alloc *a;
	const struct gm_node *n;
	size_t done = 0;
	ssize_t ret;

	if (!mem || (!buf && len))
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	a = gm_table_lookup_id(mem, id);
	if (!a || !gm_table_visible(a)) {
		ret = -ENOENT;
		goto out;
	}
	if (a->state != GM_A_LIVE) {	/* pending: no bytes yet */
		ret = write ? -EFBIG : 0;
		goto out;
	}
	if (!mem->backed) {
		ret = -EIO;
		goto out;
	}
	if (off >= a->info.size) {
		ret = write ? -EFBIG : 0;
		goto out;
	}
	if (len > a->info.size - off)
		len = a->info.size - off;
	n = &mem->node[a->info.req.node];
	for (unsigned i = 0; i < a->info.nr_blocks && done < len; i++) {
		const struct gm_block *b = &a->info.blocks[i];
		uint64_t in, cnt;
		char *hva;

		if (off >= b->size) {
			off -= b->size;
			continue;
		}
		in = off;
		off = 0;
		cnt = b->size - in;
		if (cnt > len - done)
			cnt = len - done;
		hva = gm_node_hva(n, b->gpa + in, cnt);
		if (!hva) {
			ret = done ? (ssize_t)done : -EIO;
			goto out;
		}
		if (write)
			memcpy(hva, (char *)buf + done, cnt);
		else
			memcpy((char *)buf + done, hva, cnt);
		done += cnt;
	}
	ret = done;
out:
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}
