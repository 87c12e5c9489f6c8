// SPDX-License-Identifier: MIT
/*
 * names.c - the table of names of a struct gm_mem: every allocation and
 * every pending reservation, hashed by name and by id, in id order; ids
 * start at 1 and are never reused. Reservations (mkdir), lookups and
 * listings live here; alloc.c claims, publishes and drops entries through
 * the gm_table_*() helpers (pool.h), always under mem->table_lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define NR_HASH_MIN	64

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

struct gm_alloc *gm_table_lookup_name(const struct gm_mem *mem, const char *name)
{
	struct gm_alloc *a = mem->hash[hash_name(name) & (mem->nr_hash - 1)];

	for (; a; a = a->hnext)
		if (!strcmp(a->info.req.name, name))
			return a;
	return NULL;
}

struct gm_alloc *gm_table_lookup_id(const struct gm_mem *mem, uint64_t id)
{
	struct gm_alloc *a = mem->ihash[hash_id(id) & (mem->nr_hash - 1)];

	for (; a; a = a->inext)
		if (a->info.id == id)
			return a;
	return NULL;
}

/* What lookups and listings see; a new name being allocated is hidden. */
bool gm_table_visible(const struct gm_alloc *a)
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
void gm_table_insert(struct gm_mem *mem, struct gm_alloc *a)
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

void gm_table_remove(struct gm_mem *mem, struct gm_alloc *a)
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

void gm_table_entry_free(struct gm_alloc *a)
{
	free(a->info.blocks);
	free(a);
}

void gm_table_release(struct gm_mem *mem)
{
	struct gm_alloc *a = mem->first, *next;

	for (; a; a = next) {
		next = a->next;
		gm_table_entry_free(a);
	}
	mem->first = mem->last = NULL;
	mem->nr_allocs = 0;
	free(mem->hash);
	free(mem->ihash);
	mem->hash = mem->ihash = NULL;
}

/* "owned by the vm (guest RAM, node 1)": why a path of @who may not touch @a. */
int gm_refuse_owner(const struct gm_alloc *a, struct gm_error *e)
{
	const struct gm_request *r = &a->info.req;

	if (r->purpose[0])
		return gm_error_set(e, EBUSY, "owned by the %s (%s)",
				    owner_word(r->owner), r->purpose);
	return gm_error_set(e, EBUSY, "owned by the %s", owner_word(r->owner));
}


struct gm_alloc_info *gm_info_dup(const struct gm_alloc_info *src)
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
	if (gm_table_lookup_name(mem, name)) {
		pthread_rwlock_unlock(&mem->table_lock);
		free(a);
		return gm_error_set(e, EEXIST, "name taken");
	}
	a->info.id = mem->next_id++;
	gm_table_insert(mem, a);
	*id = a->info.id;
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
}


/* ---- lookups and listings ---------------------------------------------------- */

static int get(struct gm_mem *mem, const char *name, uint64_t id,
	       struct gm_alloc_info **out)
{
	struct gm_alloc *a;
	int ret = 0;

	if (!mem || !out)
		return -EINVAL;
	pthread_rwlock_rdlock(&mem->table_lock);
	a = name ? gm_table_lookup_name(mem, name) : gm_table_lookup_id(mem, id);
	if (!a || !gm_table_visible(a))
		ret = -ENOENT;
	else if (!(*out = gm_info_dup(&a->info)))
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
	a = name ? gm_table_lookup_name(mem, name) : gm_table_lookup_id(mem, id);
	if (a && gm_table_visible(a)) {
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
	a = gm_table_lookup_id(mem, id);
	if (!a || !gm_table_visible(a))
		ret = gm_error_set(e, ENOENT, "no allocation %llu",
				   (unsigned long long)id);
	else if (a->info.req.owner != who)
		ret = gm_refuse_owner(a, e);
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
		if (gm_table_visible(a))
			entry_of(a, &v[i++]);
	pthread_rwlock_unlock(&mem->table_lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*nr = i;
	return 0;
}

