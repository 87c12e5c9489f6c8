// SPDX-License-Identifier: MIT
/*
 * backing.c - host memory behind the nodes: one anonymous private mapping
 * per node (MAP_NORESERVE; with GM_BACK_HUGEPAGES, hugetlb 2 MiB pages),
 * sized to the node's memory and optionally mbind()-bound to a host node.
 * Range i of a node lives at its map_offset in the node's mapping.
 *
 * Why anonymous memory: guest RAM runs far faster over 2 MiB host pages
 * (a nested-paging miss walks two page tables), and a stock host gives
 * anonymous memory transparent huge pages (THP "always", or "madvise" with
 * the MADV_HUGEPAGE below) while shared memory (shmem, memfd) gets none by
 * default (Debian: shmem_enabled "never"). Nothing needs a shared file:
 * KVM, the filesystem's `memory` and `data` files and the loaders all go
 * through the host pointer. So each mapping starts on a 2 MiB boundary
 * (guest-physical 2 MiB frames then fall on host huge pages), and is
 * MADV_DONTFORK: a helper kvmem forks (fusermount) must not make every
 * guest page copy-on-write.
 *
 * Nothing here touches a page until the guest or a copy does. Releasing
 * memory (gm_mem_discard()) is MADV_DONTNEED, which drops the pages of a
 * private mapping: they read back as zero and go back to the host.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pool.h"

#define HUGE_2M			(2ULL << 20)
#define ZERO_DISCARD_MIN	(64ULL << 10)	/* below this memset is cheaper */

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		(21 << MAP_HUGE_SHIFT)	/* log2(2 MiB) in the size bits */
#endif

static void unmap_one(void *map, uint64_t size)
{
	if (map)
		munmap(map, size);
}

/*
 * An anonymous mapping of @size bytes starting on a 2 MiB boundary: map
 * 2 MiB more and trim (hugetlb mappings are aligned by the kernel).
 */
static void *map_aligned(uint64_t size, bool hugetlb)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint64_t len = hugetlb ? size : size + HUGE_2M, head, tail;
	char *p, *start;

	if (hugetlb)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED || hugetlb)
		return p;
	start = (char *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	head = (uint64_t)(start - p);
	tail = len - head - size;
	if (head)
		munmap(p, head);
	if (tail)
		munmap(start + size, tail);
	return start;
}

static int map_one(const struct gm_node *n, unsigned flags, void **out,
		   struct gm_error *e)
{
	bool hugetlb = flags & GM_BACK_HUGEPAGES;
	void *map;
	int ret;

	map = map_aligned(n->map_size, hugetlb);
	if (map == MAP_FAILED)
		return gm_error_set(e, errno, "node %u: mmap of %llu MiB%s: %s", n->id,
			      (unsigned long long)(n->map_size >> 20),
			      hugetlb ? " of 2 MiB huge pages" : "", strerror(errno));
	/*
	 * Ask for transparent huge pages: honoured where THP is "always" or
	 * "madvise" (every stock kernel); a no-op (EINVAL) where THP is
	 * compiled out, so the result is ignored.
	 */
	if (!hugetlb)
		(void)madvise(map, n->map_size, MADV_HUGEPAGE);
	if (madvise(map, n->map_size, MADV_DONTFORK) < 0) {
		ret = gm_error_set(e, errno, "node %u: madvise(MADV_DONTFORK): %s",
			     n->id, strerror(errno));
		goto err;
	}
	if (n->cfg.host_node >= 0) {
		unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };
		unsigned h = n->cfg.host_node;

		mask[h / (8 * sizeof(unsigned long))] |=
			1UL << (h % (8 * sizeof(unsigned long)));
		if (mbind(map, n->map_size, MPOL_BIND, mask, 1024, 0) < 0) {
			ret = gm_error_set(e, errno, "node %u: mbind to host node %u: %s",
				     n->id, h, strerror(errno));
			goto err;
		}
	}
	*out = map;
	return 0;
err:
	unmap_one(map, n->map_size);
	return ret;
}

/*
 * gm_mem_back() - see guestmem.h. Takes the table write lock, then each
 * node lock to publish the mapping. -EINVAL for unknown flags or (with
 * GM_BACK_HUGEPAGES) a node size that is not a multiple of 2 MiB.
 */
int gm_mem_back(struct gm_mem *mem, unsigned flags, struct gm_error *e)
{
	void *maps[GM_MAX_NODES];
	unsigned i;
	int ret = 0;

	if (flags & ~GM_BACK_HUGEPAGES)
		return gm_error_set(e, EINVAL, "unknown backing flags 0x%x", flags);
	for (i = 0; i < mem->nr_nodes; i++) {
		const struct gm_node *n = &mem->node[i];

		if ((flags & GM_BACK_HUGEPAGES) && n->map_size % HUGE_2M)
			return gm_error_set(e, EINVAL, "node %u size is not a multiple of 2M (hugepages)",
				      i);
		if (n->cfg.host_node < 0)
			continue;
		if (numa_available() < 0)
			return gm_error_set(e, ENODEV, "node %u: host NUMA binding asked but the host has no NUMA support",
				      i);
		if (n->cfg.host_node > numa_max_node())
			return gm_error_set(e, ENODEV, "node %u: host node %d does not exist (max %d)",
				      i, n->cfg.host_node, numa_max_node());
	}
	pthread_rwlock_wrlock(&mem->table_lock);
	if (mem->backed) {
		pthread_rwlock_unlock(&mem->table_lock);
		return gm_error_set(e, EEXIST, "memory already backed");
	}
	for (i = 0; i < mem->nr_nodes; i++) {
		ret = map_one(&mem->node[i], flags, &maps[i], e);
		if (ret)
			break;
	}
	if (ret) {
		while (i--)
			unmap_one(maps[i], mem->node[i].map_size);
		pthread_rwlock_unlock(&mem->table_lock);
		return ret;
	}
	for (i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];

		pthread_mutex_lock(&n->lock);
		n->map = maps[i];
		for (unsigned j = 0; j < n->nr_ranges; j++)
			n->range[j].hva = (char *)n->map + n->range[j].map_offset;
		pthread_mutex_unlock(&n->lock);
	}
	mem->back_flags = flags;
	__atomic_store_n(&mem->backed, true, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
}

void gm_backing_release(struct gm_node *n)
{
	unmap_one(n->map, n->map_size);
	n->map = NULL;
}

/* The range of @n holding gpa, or NULL. */
static const struct gm_range *range_of(const struct gm_node *n, uint64_t gpa)
{
	for (unsigned j = 0; j < n->nr_ranges; j++)
		if (gpa >= n->range[j].start && gpa - n->range[j].start < n->range[j].size)
			return &n->range[j];
	return NULL;
}

void *gm_node_hva(const struct gm_node *n, uint64_t gpa, uint64_t len)
{
	const struct gm_range *r = range_of(n, gpa);

	if (!r || !r->hva || len > r->size - (gpa - r->start))
		return NULL;
	return (char *)r->hva + (gpa - r->start);
}

void *gm_mem_hva(const struct gm_mem *mem, uint64_t gpa, uint64_t len)
{
	int node = gm_node_find(mem, gpa);

	if (node < 0)
		return NULL;
	return gm_node_hva(&mem->node[node], gpa, len ? len : 1);
}

/*
 * gm_mem_rw() - see guestmem.h. Takes no lock: the mapping is fixed once
 * backed; racing with the guest or an allocation's owner is the caller's
 * business, as for any shared memory.
 */
ssize_t gm_mem_rw(struct gm_mem *mem, uint64_t gpa, void *buf, size_t len,
		  bool write)
{
	size_t done = 0;

	while (done < len) {
		int node = gm_node_find(mem, gpa);
		const struct gm_range *r;
		uint64_t n;
		char *hva;

		if (node < 0)
			break;
		r = range_of(&mem->node[node], gpa);
		if (!r->hva)
			break;
		n = r->size - (gpa - r->start);
		if (n > len - done)
			n = len - done;
		hva = (char *)r->hva + (gpa - r->start);
		if (write)
			memcpy(hva, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, hva, n);
		done += n;
		gpa += n;
	}
	return done ? (ssize_t)done : -EIO;
}

/* The host page size of @mem's pools: what discards must be aligned to. */
static uint64_t page_size(const struct gm_mem *mem)
{
	return (mem->back_flags & GM_BACK_HUGEPAGES) ? HUGE_2M : 4096;
}

/*
 * Release [gpa, gpa+len) after checking all of it, so a bad span releases
 * nothing. The node ranges and their host addresses never change once
 * backed, so no lock is taken (device threads call this).
 */
static int discard(const struct gm_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t pg, end = gpa + len, at, n;

	if (!__atomic_load_n(&mem->backed, __ATOMIC_ACQUIRE))
		return -EIO;
	pg = page_size(mem);
	if (!len || ((gpa | len) & (pg - 1)) || end < gpa)
		return -EINVAL;
	for (at = gpa; at < end; at += n) {
		int node = gm_node_find(mem, at);
		const struct gm_range *r;

		if (node < 0)
			return -EINVAL;
		r = range_of(&mem->node[node], at);
		n = r->size - (at - r->start);
		if (n > end - at)
			n = end - at;
	}
	for (at = gpa; at < end; at += n) {
		const struct gm_range *r = range_of(&mem->node[gm_node_find(mem, at)], at);

		n = r->size - (at - r->start);
		if (n > end - at)
			n = end - at;
		if (madvise((char *)r->hva + (at - r->start), n, MADV_DONTNEED) < 0)
			return -errno;
	}
	return 0;
}

/* gm_mem_discard() - see guestmem.h. */
int gm_mem_discard(struct gm_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!mem)
		return -EINVAL;
	return discard(mem, gpa, len);
}

uint64_t gm_mem_page_size(const struct gm_mem *mem)
{
	return page_size(mem);
}

/*
 * Zero [gpa, gpa+len) of range @r: memset for small spans, else discard
 * the page-aligned interior (it reads back zero and the host pages are
 * freed) and memset the edges. Falls back to memset if discarding fails.
 * A pool mapping starts on a 2 MiB boundary of guest-physical space, so
 * aligning @gpa aligns the host address too.
 */
static void zero_in_range(const struct gm_mem *mem, const struct gm_range *r,
			  uint64_t gpa, uint64_t len)
{
	uint64_t pg = page_size(mem), a, b;
	char *hva = (char *)r->hva + (gpa - r->start);

	a = (gpa + pg - 1) & ~(pg - 1);
	b = (gpa + len) & ~(pg - 1);
	if (len < ZERO_DISCARD_MIN || b <= a || discard(mem, a, b - a) < 0) {
		memset(hva, 0, len);
		return;
	}
	memset(hva, 0, a - gpa);
	memset(hva + (b - gpa), 0, gpa + len - b);
}

/*
 * gm_zero_range() - zero [gpa, gpa+len) of backed node @n, range by range
 * (a span may cross from one of the node's ranges into the next).
 */
void gm_zero_range(const struct gm_mem *mem, const struct gm_node *n,
		   uint64_t gpa, uint64_t len)
{
	while (len) {
		const struct gm_range *r = range_of(n, gpa);
		uint64_t k;

		if (!r || !r->hva)
			return;
		k = r->size - (gpa - r->start);
		if (k > len)
			k = len;
		zero_in_range(mem, r, gpa, k);
		gpa += k;
		len -= k;
	}
}
