// SPDX-License-Identifier: MIT
/*
 * alloc.c - named, owned allocations over the node allocators.
 *
 * The table (mem->table_lock) holds every name guestmem knows: pending
 * reservations, allocations being made, live allocations and allocations
 * being freed (pool.h, enum gm_alloc_state). It is hashed by name and by
 * id and kept in id order. An allocation crosses the locks in three short
 * steps: claim the name (table write lock), take the blocks (node lock),
 * then zero them with no lock held and publish (table write lock). A free
 * mirrors it: mark the entry FREEING (table), punch the blocks (no lock),
 * give them back (node lock), drop the entry (table). So memset and
 * fallocate on one node never stop allocations, frees or reads elsewhere,
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
#define NR_HASH_MIN	64

void gm_request_init(struct gm_request *req)
{
	memset(req, 0, sizeof(*req));
	req->owner = GM_OWNER_USER;
	req->from = GM_FROM_BUDDY;
	req->mode = GM_MODE_SIMPLE;
}

static const char *owner_word(enum gm_owner o)
{
	return o == GM_OWNER_VM ? "vm" : "user";
}

/* ---- the table (caller holds mem->table_lock) ---------------------------- */

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static unsigned hash_id(uint64_t id)
{
	return (unsigned)((id * 0x9E3779B97F4A7C15ULL) >> 32);
}

static struct gm_alloc *lookup_name(const struct gm_mem *mem, const char *name)
{
	struct gm_alloc *a = mem->hash[hash_name(name) & (mem->nr_hash - 1)];

	for (; a; a = a->hnext)
		if (!strcmp(a->info.req.name, name))
			return a;
	return NULL;
}

static struct gm_alloc *lookup_id(const struct gm_mem *mem, uint64_t id)
{
	struct gm_alloc *a = mem->ihash[hash_id(id) & (mem->nr_hash - 1)];

	for (; a; a = a->inext)
		if (a->info.id == id)
			return a;
	return NULL;
}

/* What lookups and listings see; a new name being allocated is hidden. */
static bool visible(const struct gm_alloc *a)
{
	return a->state == GM_A_PENDING || a->state == GM_A_LIVE ||
	       (a->state == GM_A_ALLOCATING && a->reserved);
}

int gm_table_init(struct gm_mem *mem)
{
	mem->nr_hash = NR_HASH_MIN;
	mem->hash = calloc(mem->nr_hash, sizeof(*mem->hash));
	mem->ihash = calloc(mem->nr_hash, sizeof(*mem->ihash));
	mem->next_id = 1;
	mem->auto_next = 1;
	if (!mem->hash || !mem->ihash) {
		free(mem->hash);
		free(mem->ihash);
		mem->hash = mem->ihash = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Double the buckets when chains grow; on ENOMEM keep the old ones. */
static void maybe_grow(struct gm_mem *mem)
{
	unsigned nr = mem->nr_hash * 2;
	struct gm_alloc **h, **ih;

	if (mem->nr_allocs < 2UL * mem->nr_hash || nr > (1u << 26))
		return;
	h = calloc(nr, sizeof(*h));
	ih = calloc(nr, sizeof(*ih));
	if (!h || !ih) {
		free(h);
		free(ih);
		return;
	}
	for (struct gm_alloc *a = mem->first; a; a = a->next) {
		unsigned k = hash_name(a->info.req.name) & (nr - 1);
		unsigned j = hash_id(a->info.id) & (nr - 1);

		a->hnext = h[k];
		h[k] = a;
		a->inext = ih[j];
		ih[j] = a;
	}
	free(mem->hash);
	free(mem->ihash);
	mem->hash = h;
	mem->ihash = ih;
	mem->nr_hash = nr;
}

/* Insert @a (its id the newest) at the end of the id order. */
static void table_insert(struct gm_mem *mem, struct gm_alloc *a)
{
	unsigned k = hash_name(a->info.req.name) & (mem->nr_hash - 1);
	unsigned j = hash_id(a->info.id) & (mem->nr_hash - 1);

	a->hnext = mem->hash[k];
	mem->hash[k] = a;
	a->inext = mem->ihash[j];
	mem->ihash[j] = a;
	a->prev = mem->last;
	a->next = NULL;
	if (mem->last)
		mem->last->next = a;
	else
		mem->first = a;
	mem->last = a;
	mem->nr_allocs++;
	maybe_grow(mem);
}

static void table_remove(struct gm_mem *mem, struct gm_alloc *a)
{
	struct gm_alloc **pp = &mem->hash[hash_name(a->info.req.name) &
					  (mem->nr_hash - 1)];

	while (*pp != a)
		pp = &(*pp)->hnext;
	*pp = a->hnext;
	pp = &mem->ihash[hash_id(a->info.id) & (mem->nr_hash - 1)];
	while (*pp != a)
		pp = &(*pp)->inext;
	*pp = a->inext;
	if (a->prev)
		a->prev->next = a->next;
	else
		mem->first = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		mem->last = a->prev;
	mem->nr_allocs--;
}

static void entry_free(struct gm_alloc *a)
{
	free(a->info.blocks);
	free(a);
}

void gm_table_release(struct gm_mem *mem)
{
	struct gm_alloc *a = mem->first, *next;

	for (; a; a = next) {
		next = a->next;
		entry_free(a);
	}
	mem->first = mem->last = NULL;
	mem->nr_allocs = 0;
	free(mem->hash);
	free(mem->ihash);
	mem->hash = mem->ihash = NULL;
}

/* "owned by the vm (guest RAM, node 1)": why a path of @who may not touch @a. */
static int refuse_owner(const struct gm_alloc *a, struct gm_error *e)
{
	const struct gm_request *r = &a->info.req;

	if (r->purpose[0])
		return gm_error_set(e, EBUSY, "owned by the %s (%s)",
				    owner_word(r->owner), r->purpose);
	return gm_error_set(e, EBUSY, "owned by the %s", owner_word(r->owner));
}

/* ---- requests ------------------------------------------------------------ */

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
		return gm_error_set(e, EINVAL, "the %s names its allocations",
				    owner_word(req->owner));
	}
	if (!req->size)
		return gm_error_set(e, EINVAL, "size must be non-zero");
	if (req->align && !gm_is_pow2(req->align))
		return gm_error_set(e, EINVAL, "align %llu is not a power of two",
			      (unsigned long long)req->align);
	if (req->flags & ~ALL_FLAGS)
		return gm_error_set(e, EINVAL, "unknown flags 0x%x", req->flags);
	if (req->from != GM_FROM_BUDDY && req->from != GM_FROM_CMA)
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
		if (!lookup_name(mem, name))
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
		if (from == GM_FROM_CMA)
			ret = gm_cma_release(n->cma, b[i].gpa, cma_count);
		else
			ret = gm_buddy_free(n->buddy, b[i].gpa, b[i].order, cleared);
	}
	if (!ret)
		return 0;
	/* b[i - 1] was refused; b[0 .. i - 2] went back: take them again */
	for (unsigned k = 0; k + 1 < i; k++) {
		struct gm_blist l;

		gm_blist_init(&l);
		if (from == GM_FROM_CMA || gm_buddy_reserve(n->buddy, b[k].gpa,
							     b[k].gpa + b[k].size, &l))
			fprintf(stderr, "guestmem: node %u: block 0x%llx lost in a refused free\n",
				n->id, (unsigned long long)b[k].gpa);
		gm_blist_release(&l);
	}
	return ret;
}

static struct gm_alloc_info *info_dup(const struct gm_alloc_info *src)
{
	struct gm_alloc_info *i = malloc(sizeof(*i));

	if (!i)
		return NULL;
	*i = *src;
	i->blocks = malloc((src->nr_blocks ? src->nr_blocks : 1) * sizeof(*i->blocks));
	if (!i->blocks) {
		free(i);
		return NULL;
	}
	memcpy(i->blocks, src->blocks, src->nr_blocks * sizeof(*i->blocks));
	return i;
}

/* ---- reserve, allocate, free ---------------------------------------------- */

/*
 * gm_name_reserve() - see guestmem.h.
 */
int gm_name_reserve(struct gm_mem *mem, const char *name, uint64_t *id,
		    struct gm_error *e)
{
	struct gm_alloc *a;
	int ret;

	if (!mem || !name || !id)
		return gm_error_set(e, EINVAL, "reserve: bad arguments");
	ret = gm_check_name(name, GM_OWNER_USER, e);
	if (ret)
		return ret;
	a = calloc(1, sizeof(*a));
	if (!a)
		return gm_error_set(e, ENOMEM, "out of memory");
	gm_request_init(&a->info.req);
	snprintf(a->info.req.name, sizeof(a->info.req.name), "%s", name);
	a->info.pending = true;
	a->state = GM_A_PENDING;
	a->reserved = true;
	pthread_rwlock_wrlock(&mem->table_lock);
	if (lookup_name(mem, name)) {
		pthread_rwlock_unlock(&mem->table_lock);
		free(a);
		return gm_error_set(e, EEXIST, "name taken");
	}
	a->info.id = mem->next_id++;
	table_insert(mem, a);
	*id = a->info.id;
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
}

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
		a = lookup_id(mem, req->reserved_id);
		if (!a || !a->reserved || a->state == GM_A_FREEING)
			return gm_error_set(e, ENOENT, "no reservation %llu",
					    (unsigned long long)req->reserved_id);
		if (a->info.req.owner != req->owner)
			return refuse_owner(a, e);
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
	if (req->name[0] && lookup_name(mem, req->name))
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
	table_insert(mem, a);
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
		table_remove(mem, a);
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
		if (!ret && !backed)	/* nothing will punch it clean */
			n->cma_dirty = true;
	} else {
		ret = alloc_buddy(n, req, rsize, align, &l);
	}
	pthread_mutex_unlock(&n->lock);
	if (ret) {
		if (ret == -ENOSPC)
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
	if (out && !(copy = info_dup(&snap))) {
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
	if (req->from == GM_FROM_CMA)
		a->cma_count = rsize / mem->chunk;
	a->state = GM_A_LIVE;
	pthread_rwlock_unlock(&mem->table_lock);
	if (out)
		*out = copy;
	return 0;
}

/*
 * Free entry @a for @who (caller holds the table write lock; released
 * here). @drop_pending: a pending reservation is dropped rather than
 * refused as "no allocation". Blocks are punched with no lock held and
 * given back all or nothing; the entry (and its name) goes last.
 */
static int free_entry(struct gm_mem *mem, struct gm_alloc *a,
		      enum gm_owner who, bool drop_pending, struct gm_error *e)
{
	struct gm_node *n;
	bool backed;
	int ret;

	if (a->info.req.owner != who)
		ret = refuse_owner(a, e);
	else if (a->state == GM_A_PENDING && drop_pending)
		ret = 1;
	else if (a->state == GM_A_PENDING)
		ret = gm_error_set(e, ENOENT, "no allocation yet (rmdir drops a pending name)");
	else if (a->state == GM_A_ALLOCATING)
		ret = gm_error_set(e, EBUSY, "being allocated");
	else if (a->state == GM_A_FREEING)
		ret = gm_error_set(e, ENOENT, "being freed");
	else
		ret = 0;
	if (ret) {
		if (ret > 0) {
			table_remove(mem, a);
			entry_free(a);
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
	pthread_mutex_lock(&n->lock);
	ret = give_back(n, a->info.req.from, a->info.blocks,
			a->info.nr_blocks, a->cma_count, backed);
	pthread_mutex_unlock(&n->lock);

	pthread_rwlock_wrlock(&mem->table_lock);
	if (ret) {	/* a table/allocator mismatch: a bug, never a bad free */
		a->state = GM_A_LIVE;
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, EIO, "allocator refused a block (%s); the allocation is kept",
				    gm_errno_name(ret));
	}
	table_remove(mem, a);
	pthread_rwlock_unlock(&mem->table_lock);
	entry_free(a);
	return 0;
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
	a = lookup_name(mem, name);
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
	a = lookup_id(mem, id);
	if (!a || (a->state == GM_A_ALLOCATING && !a->reserved)) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, ENOENT, "no allocation %llu",
				    (unsigned long long)id);
	}
	return free_entry(mem, a, who, true, e);
}

/* ---- lookups, listings, bytes ------------------------------------------------ */

static int get(struct gm_mem *mem, const char *name, uint64_t id,
	       struct gm_alloc_info **out)
{
	struct gm_alloc *a;
	int ret = 0;

	if (!mem || !out)
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	a = name ? lookup_name(mem, name) : lookup_id(mem, id);
	if (!a || !visible(a))
		ret = -ENOENT;
	else if (!(*out = info_dup(&a->info)))
		ret = -ENOMEM;
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}

int gm_alloc_get(struct gm_mem *mem, const char *name,
		 struct gm_alloc_info **out)
{
	return name ? get(mem, name, 0, out) : -EINVAL;
}

int gm_alloc_get_id(struct gm_mem *mem, uint64_t id,
		    struct gm_alloc_info **out)
{
	return get(mem, NULL, id, out);
}

void gm_alloc_info_free(struct gm_alloc_info *info)
{
	if (!info)
		return;
	free(info->blocks);
	free(info);
}

static void entry_of(const struct gm_alloc *a, struct gm_alloc_entry *out)
{
	out->id = a->info.id;
	memcpy(out->name, a->info.req.name, sizeof(out->name));
	out->owner = a->info.req.owner;
	out->pending = a->state != GM_A_LIVE;
	out->size = a->state == GM_A_LIVE ? a->info.size : 0;
}

static int lookup(struct gm_mem *mem, const char *name, uint64_t id,
		  struct gm_alloc_entry *out)
{
	struct gm_alloc *a;
	int ret = -ENOENT;

	if (!mem || !out)
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	a = name ? lookup_name(mem, name) : lookup_id(mem, id);
	if (a && visible(a)) {
		entry_of(a, out);
		ret = 0;
	}
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}

int gm_alloc_lookup(struct gm_mem *mem, const char *name,
		    struct gm_alloc_entry *out)
{
	return name ? lookup(mem, name, 0, out) : -EINVAL;
}

int gm_alloc_lookup_id(struct gm_mem *mem, uint64_t id,
		       struct gm_alloc_entry *out)
{
	return lookup(mem, NULL, id, out);
}

int gm_alloc_check_owner(struct gm_mem *mem, uint64_t id, enum gm_owner who,
			 struct gm_error *e)
{
	struct gm_alloc *a;
	int ret = 0;

	if (!mem)
		return gm_error_set(e, EINVAL, "no memory");
	pthread_rwlock_rdlock(&mem->table_lock);
	a = lookup_id(mem, id);
	if (!a || !visible(a))
		ret = gm_error_set(e, ENOENT, "no allocation %llu",
				   (unsigned long long)id);
	else if (a->info.req.owner != who)
		ret = refuse_owner(a, e);
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}

int gm_alloc_list(struct gm_mem *mem, struct gm_alloc_entry **out,
		  unsigned *nr)
{
	struct gm_alloc_entry *v;
	unsigned i = 0;

	if (!mem || !out || !nr)
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	v = malloc((mem->nr_allocs ? mem->nr_allocs : 1) * sizeof(*v));
	for (struct gm_alloc *a = mem->first; v && a; a = a->next)
		if (visible(a))
			entry_of(a, &v[i++]);
	pthread_rwlock_unlock(&mem->table_lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*nr = i;
	return 0;
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
	a = lookup_id(mem, id);
	if (!a || !visible(a)) {
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
