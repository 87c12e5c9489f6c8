// SPDX-License-Identifier: MIT
/*
 * backing.c - host memory behind the nodes: one memfd per node
 * ("kvmem-nodeN") sized to the node's memory, mapped MAP_SHARED |
 * MAP_NORESERVE (optionally hugetlb, optionally mbind()-bound to a host
 * node). Range i of a node lives at its fd_offset in the node's mapping.
 * Nothing here touches a page until the guest or a copy does; zeroing a
 * large block punches its pages out of the memfd, which also gives the
 * host memory back.
 */
#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/memfd.h>

#include "pool.h"

#define HUGE_2M			(2ULL << 20)
#define ZERO_PUNCH_MIN		(64ULL << 10)	/* below this memset is cheaper */

struct node_map {
	int fd;
	void *map;
};

static void unmap_one(struct node_map *m, uint64_t size)
{
	if (m->map && m->map != MAP_FAILED)
		munmap(m->map, size);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->map = NULL;
}

static int map_one(const struct gm_node *n, unsigned flags,
		   struct node_map *m, struct gm_error *e)
{
	unsigned mfd = MFD_CLOEXEC;
	char name[32];
	int ret;

	m->fd = -1;
	m->map = NULL;
	if (flags & GM_BACK_HUGEPAGES)
		mfd |= MFD_HUGETLB | MFD_HUGE_2MB;
	snprintf(name, sizeof(name), "kvmem-node%u", n->id);
	m->fd = memfd_create(name, mfd);
	if (m->fd < 0)
		return gm_error_set(e, errno, "memfd_create(%s): %s", name, strerror(errno));
	if (ftruncate(m->fd, n->cfg.size) < 0) {
		ret = gm_error_set(e, errno, "ftruncate(%s): %s", name, strerror(errno));
		goto err;
	}
	m->map = mmap(NULL, n->cfg.size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->map == MAP_FAILED) {
		ret = gm_error_set(e, errno, "mmap(%s): %s", name, strerror(errno));
		goto err;
	}
	/*
	 * Ask for transparent huge pages: nested paging walks are far cheaper
	 * over 2 MiB pages. The kernel honours it for shmem only where
	 * /sys/kernel/mm/transparent_hugepage/shmem_enabled is advise (or
	 * within_size/always); elsewhere it is a no-op, so errors are ignored.
	 */
	if (!(flags & GM_BACK_HUGEPAGES))
		(void)madvise(m->map, n->cfg.size, MADV_HUGEPAGE);
	if (n->cfg.host_node >= 0) {
		unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };
		unsigned h = n->cfg.host_node;

		mask[h / (8 * sizeof(unsigned long))] |=
			1UL << (h % (8 * sizeof(unsigned long)));
		if (mbind(m->map, n->cfg.size, MPOL_BIND, mask, 1024, 0) < 0) {
			ret = gm_error_set(e, errno, "mbind(%s to host node %u): %s", name,
				     h, strerror(errno));
			goto err;
		}
	}
	return 0;
err:
	unmap_one(m, n->cfg.size);
	return ret;
}

/*
 * gm_mem_back() - see guestmem.h. Takes the table write lock, then each
 * node lock to publish the mapping. -EINVAL for unknown flags or (with
 * GM_BACK_HUGEPAGES) a node size that is not a multiple of 2 MiB.
 */
int gm_mem_back(struct gm_mem *mem, unsigned flags, struct gm_error *e)
{
	struct node_map maps[GM_MAX_NODES];
	unsigned i;
	int ret = 0;

	if (flags & ~GM_BACK_HUGEPAGES)
		return gm_error_set(e, EINVAL, "unknown backing flags 0x%x", flags);
	for (i = 0; i < mem->nr_nodes; i++) {
		const struct gm_node *n = &mem->node[i];

		if ((flags & GM_BACK_HUGEPAGES) && n->cfg.size % HUGE_2M)
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
			unmap_one(&maps[i], mem->node[i].cfg.size);
		pthread_rwlock_unlock(&mem->table_lock);
		return ret;
	}
	for (i = 0; i < mem->nr_nodes; i++) {
		struct gm_node *n = &mem->node[i];

		pthread_mutex_lock(&n->lock);
		n->memfd = maps[i].fd;
		n->map = maps[i].map;
		for (unsigned j = 0; j < n->nr_ranges; j++) {
			n->range[j].fd = n->memfd;
			n->range[j].hva = (char *)n->map + n->range[j].fd_offset;
		}
		pthread_mutex_unlock(&n->lock);
	}
	mem->backed = true;
	mem->back_flags = flags;
	pthread_rwlock_unlock(&mem->table_lock);
	return 0;
}

void gm_backing_release(struct gm_node *n)
{
	struct node_map m = { .fd = n->memfd, .map = n->map };

	unmap_one(&m, n->cfg.size);
	n->memfd = -1;
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

/*
 * gm_zero_range() - zero [gpa, gpa+len) of backed node @n (inside one
 * range): memset for small spans, else punch the page-aligned interior out
 * of the memfd (reads then see zeros and the host pages are freed) and
 * memset the edges. Falls back to memset if punching fails.
 */
void gm_zero_range(const struct gm_mem *mem, const struct gm_node *n,
		   uint64_t gpa, uint64_t len)
{
	const struct gm_range *r = range_of(n, gpa);
	uint64_t pg = (mem->back_flags & GM_BACK_HUGEPAGES) ? HUGE_2M : 4096;
	uint64_t off, a, b;
	char *hva;

	if (!r || !r->hva || !len)
		return;
	hva = (char *)r->hva + (gpa - r->start);
	off = r->fd_offset + (gpa - r->start);
	a = (off + pg - 1) & ~(pg - 1);
	b = (off + len) & ~(pg - 1);
	if (len < ZERO_PUNCH_MIN || b <= a ||
	    fallocate(n->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      a, b - a) < 0) {
		memset(hva, 0, len);
		return;
	}
	memset(hva, 0, a - off);
	memset(hva + (b - off), 0, off + len - b);
}
