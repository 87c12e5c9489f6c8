// SPDX-License-Identifier: MIT
/*
 * alloc.c - named allocations over the node allocators, and their bytes.
 *
 * An allocation is a name, the request it was made with and its blocks
 * (ascending). The table is a hash by name plus a list in creation order,
 * under mem->table_lock: alloc and free take it for writing, lookups and
 * data copies for reading, so an allocation cannot vanish while its bytes
 * are copied. The node lock is taken inside it only around the buddy / CMA
 * calls; zeroing runs under the table lock alone, so other nodes' callers
 * and the stat readers are not held up by memset or fallocate.
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
	req->from = GM_FROM_BUDDY;
	req->mode = GM_MODE_SIMPLE;
}

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct gm_alloc *lookup(const struct gm_mem *mem, const char *name)
{
	struct gm_alloc *a = mem->hash[hash_name(name) & (mem->nr_hash - 1)];

	for (; a; a = a->hnext)
		if (!strcmp(a->info.req.name, name))
			return a;
	return NULL;
}

/* Double the buckets when chains grow; on ENOMEM keep the old ones. */
static void maybe_grow(struct gm_mem *mem)
{
	unsigned nr = mem->nr_hash * 2;
	struct gm_alloc **h;

	if (mem->nr_allocs < 2UL * mem->nr_hash || nr > (1u << 26))
		return;
	h = calloc(nr, sizeof(*h));
	if (!h)
		return;
	for (struct gm_alloc *a = mem->first; a; a = a->next) {
		unsigned k = hash_name(a->info.req.name) & (nr - 1);

		a->hnext = h[k];
		h[k] = a;
	}
	free(mem->hash);
	mem->hash = h;
	mem->nr_hash = nr;
}

static void table_insert(struct gm_mem *mem, struct gm_alloc *a)
{
	unsigned k = hash_name(a->info.req.name) & (mem->nr_hash - 1);

	a->hnext = mem->hash[k];
	mem->hash[k] = a;
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

void gm_table_release(struct gm_mem *mem)
{
	struct gm_alloc *a = mem->first, *next;

	for (; a; a = next) {
		next = a->next;
		free(a->info.blocks);
		free(a);
	}
	mem->first = mem->last = NULL;
	mem->nr_allocs = 0;
	if (mem->hash)
		memset(mem->hash, 0, mem->nr_hash * sizeof(*mem->hash));
}

/*
 * Check @req against the layout rules and @mem's nodes; fills *@rsize (size
 * rounded up to the alignment and the chunk) and *@align (effective).
 */
static int check_request(const struct gm_mem *mem, const struct gm_request *req,
			 uint64_t *rsize, uint64_t *align, struct gm_error *e)
{
	char nm[GM_NAME_MAX + 3] = "";
	const struct gm_node *n;
	uint64_t chunk = mem->chunk, a, r;

	if (memchr(req->name, '\0', sizeof(req->name)) == NULL ||
	    (req->name[0] && !gm_name_valid(req->name)))
		return gm_error_set(e, EINVAL, "bad name: use 1..%d of [A-Za-z0-9._-], not starting with '.'",
			      GM_NAME_MAX);
	/* messages start with "NAME: " when the caller named the allocation */
	if (req->name[0])
		snprintf(nm, sizeof(nm), "%s: ", req->name);
	if (!req->size)
		return gm_error_set(e, EINVAL, "%ssize must be non-zero", nm);
	if (req->align && !gm_is_pow2(req->align))
		return gm_error_set(e, EINVAL, "%salign %llu is not a power of two", nm,
			      (unsigned long long)req->align);
	if (req->flags & ~ALL_FLAGS)
		return gm_error_set(e, EINVAL, "%sunknown flags 0x%x", nm, req->flags);
	if (req->from != GM_FROM_BUDDY && req->from != GM_FROM_CMA)
		return gm_error_set(e, EINVAL, "%sbad from", nm);
	if (req->mode != GM_MODE_SIMPLE && req->mode != GM_MODE_TOPDOWN &&
	    req->mode != GM_MODE_RANGE)
		return gm_error_set(e, EINVAL, "%sbad mode", nm);
	n = gm_node_get(mem, req->node);
	if (!n)
		return gm_error_set(e, EINVAL, "%sno node %u", nm, req->node);
	a = req->align ? req->align : chunk;
	if (req->from == GM_FROM_CMA) {
		if (a < chunk)
			return gm_error_set(e, EINVAL, "%scma align must be at least the page (%llu)",
				      nm, (unsigned long long)chunk);
		if (req->mode != GM_MODE_SIMPLE)
			return gm_error_set(e, EINVAL, "%sfrom=cma takes mode=simple only", nm);
		if (req->flags & (GM_F_TRIM_DISABLE | GM_F_FALLBACK))
			return gm_error_set(e, EINVAL, "%sfrom=cma takes no trim_disable or fallback flag",
				      nm);
	}
	/* layout rule: size rounded up to align must not overflow */
	if (req->size > UINT64_MAX - (a - 1))
		return gm_error_set(e, ERANGE, "%ssize rounded up to align %llu overflows",
			      nm, (unsigned long long)a);
	if (a < chunk)
		a = chunk;
	if (req->size > UINT64_MAX - (a - 1))
		return gm_error_set(e, ERANGE, "%ssize rounded up to the chunk overflows", nm);
	r = (req->size + a - 1) & ~(a - 1);
	if (req->mode == GM_MODE_RANGE) {
		if (req->range_start >= req->range_end ||
		    req->range_start % chunk || req->range_end % chunk)
			return gm_error_set(e, EINVAL, "%srange must be START < END, multiples of the chunk (%llu)",
				      nm, (unsigned long long)chunk);
		if (req->range_start < n->start || req->range_end > n->end)
			return gm_error_set(e, EINVAL, "%srange 0x%llx-0x%llx is outside node %u (0x%llx-0x%llx)",
				      nm, (unsigned long long)req->range_start,
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
		if (!lookup(mem, name))
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
 * gm_alloc() - see guestmem.h. Takes the table write lock, and the node
 * lock around the allocator call.
 */
int gm_alloc(struct gm_mem *mem, const struct gm_request *req, char *name_out,
	     struct gm_error *e)
{
	struct gm_node *n;
	struct gm_alloc *a;
	struct gm_blist l;
	uint64_t rsize = 0, align = 0, held = 0;
	unsigned long k = 0;
	int ret;

	if (!mem || !req)
		return gm_error_set(e, EINVAL, "no request");
	ret = check_request(mem, req, &rsize, &align, e);
	if (ret)
		return ret;
	n = &mem->node[req->node];
	a = calloc(1, sizeof(*a));
	if (!a)
		return gm_error_set(e, ENOMEM, "out of memory");
	a->info.req = *req;
	gm_blist_init(&l);
	pthread_rwlock_wrlock(&mem->table_lock);
	if (!mem->retired) {
		ret = gm_error_set(e, EBUSY, "memory not retired from the early phase yet");
		goto err;
	}
	if (req->name[0] && lookup(mem, req->name)) {
		ret = gm_error_set(e, EEXIST, "%s: name taken", req->name);
		goto err;
	}
	if (!req->name[0])
		k = auto_name(mem, a->info.req.name);
	pthread_mutex_lock(&n->lock);
	if (req->from == GM_FROM_CMA) {
		ret = alloc_cma(n, mem->chunk, rsize, align, &l);
		if (!ret && !mem->backed)	/* nothing will punch it clean */
			n->cma_dirty = true;
	}
	else
		ret = alloc_buddy(n, req, rsize, align, &l);
	pthread_mutex_unlock(&n->lock);
	if (ret) {
		if (ret == -ENOSPC)
			gm_error_set(e, ENOSPC, "no room for %llu bytes in node %u%s",
			       (unsigned long long)rsize, req->node,
			       req->from == GM_FROM_CMA ? " cma" : "");
		else
			gm_error_set(e, ret, "%s allocator refused the request",
			       req->from == GM_FROM_CMA ? "cma" : "buddy");
		goto err;
	}
	gm_blist_sort(&l);
	for (unsigned i = 0; i < l.nr; i++) {
		held += l.b[i].size;
		if (mem->backed && !(req->flags & GM_F_NOCLEAR) && l.b[i].dirty) {
			gm_zero_range(mem, n, l.b[i].gpa, l.b[i].size);
			l.b[i].dirty = false;
		}
	}
	/* the block array moves into the allocation (gm_blist storage is malloc'd) */
	a->info.blocks = l.b;
	a->info.nr_blocks = l.nr;
	a->info.size = held;
	if (req->from == GM_FROM_CMA)
		a->cma_count = rsize / mem->chunk;
	if (!req->name[0])
		mem->auto_next = k + 1;
	table_insert(mem, a);
	if (name_out)
		memcpy(name_out, a->info.req.name, GM_NAME_MAX + 1);
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
err:
	pthread_rwlock_unlock(&mem->table_lock);
	gm_blist_release(&l);
	free(a);
	return ret;
}

/*
 * gm_free() - see guestmem.h. Takes the table write lock, then the node
 * lock around the allocator calls. Only blocks this table handed out are
 * ever given back, so a bad free (unknown name, twice) touches nothing.
 */
int gm_free(struct gm_mem *mem, const char *name, struct gm_error *e)
{
	struct gm_alloc *a;
	struct gm_node *n;
	int ret = 0;

	if (!mem || !name || !name[0])
		return gm_error_set(e, EINVAL, "free: no name");
	pthread_rwlock_wrlock(&mem->table_lock);
	a = lookup(mem, name);
	if (!a) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, ENOENT, "%s: no such allocation", name);
	}
	n = &mem->node[a->info.req.node];
	if (mem->backed)
		for (unsigned i = 0; i < a->info.nr_blocks; i++)
			gm_zero_range(mem, n, a->info.blocks[i].gpa,
				      a->info.blocks[i].size);
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < a->info.nr_blocks; i++) {
		const struct gm_block *b = &a->info.blocks[i];
		int r;

		if (a->info.req.from == GM_FROM_CMA)
			r = gm_cma_release(n->cma, b->gpa, a->cma_count);
		else
			r = gm_buddy_free(n->buddy, b->gpa, b->order, mem->backed);
		if (r && !ret)
			ret = r;
	}
	pthread_mutex_unlock(&n->lock);
	table_remove(mem, a);
	pthread_rwlock_unlock(&mem->table_lock);
	free(a->info.blocks);
	free(a);
	if (ret)	/* a table/allocator mismatch: a bug, never a bad free */
		return gm_error_set(e, EIO, "%s: allocator refused a block (%s)", name,
			      gm_errno_name(ret));
	return 0;
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

int gm_alloc_get(struct gm_mem *mem, const char *name,
		 struct gm_alloc_info **out)
{
	struct gm_alloc *a;
	int ret = 0;

	if (!mem || !name || !out)
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	a = lookup(mem, name);
	if (!a)
		ret = -ENOENT;
	else if (!(*out = info_dup(&a->info)))
		ret = -ENOMEM;
	pthread_rwlock_unlock(&mem->table_lock);
	return ret;
}

void gm_alloc_info_free(struct gm_alloc_info *info)
{
	if (!info)
		return;
	free(info->blocks);
	free(info);
}

int gm_alloc_names(struct gm_mem *mem, char ***out)
{
	char **v;
	unsigned long i = 0;

	if (!mem || !out)
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	v = calloc(mem->nr_allocs + 1, sizeof(*v));
	for (struct gm_alloc *a = mem->first; v && a; a = a->next) {
		v[i] = strdup(a->info.req.name);
		if (!v[i]) {
			gm_names_free(v);
			v = NULL;
			break;
		}
		i++;
	}
	pthread_rwlock_unlock(&mem->table_lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	return 0;
}

void gm_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

/*
 * gm_alloc_rw() - see guestmem.h. Holds the table read lock while copying.
 */
ssize_t gm_alloc_rw(struct gm_mem *mem, const char *name, void *buf,
		    size_t len, uint64_t off, bool write)
{
	const struct gm_alloc *a;
	const struct gm_node *n;
	size_t done = 0;
	ssize_t ret;

	if (!mem || !name || (!buf && len))
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	a = lookup(mem, name);
	if (!a) {
		ret = -ENOENT;
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
