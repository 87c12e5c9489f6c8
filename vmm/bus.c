// SPDX-License-Identifier: MIT
/*
 * bus.c - port I/O and MMIO buses: sorted tables of (base, len, handler,
 * opaque) that the vCPU run loop dispatches exits to.
 *
 * Lookups are a binary search under the read lock, so vCPUs dispatch in
 * parallel; devices register at setup (write lock).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

int vmm_bus_init(struct vmm_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	if (pthread_rwlock_init(&bus->lock, NULL))
		return -ENOMEM;
	return 0;
}

void vmm_bus_exit(struct vmm_bus *bus)
{
	free(bus->r);
	bus->r = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* First region whose end is above @addr (regions are sorted, disjoint). */
static unsigned find_slot(const struct vmm_bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct vmm_bus_region *r = &bus->r[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vmm_bus_register(struct vmm_bus *bus, uint64_t base, uint64_t len,
		     vmm_io_fn fn, void *opaque)
{
	unsigned i;
	int ret = 0;

	if (!len || !fn || base + len < base)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = find_slot(bus, base);
	if (i < bus->nr && bus->r[i].base < base + len) {
		ret = -EEXIST;
		goto out;
	}
	if (gm_grow(&bus->r, &bus->cap, (size_t)bus->nr + 1, sizeof(*bus->r))) {
		ret = -ENOMEM;
		goto out;
	}
	memmove(&bus->r[i + 1], &bus->r[i], (bus->nr - i) * sizeof(*bus->r));
	bus->r[i] = (struct vmm_bus_region){ base, len, fn, opaque };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int vmm_bus_unregister(struct vmm_bus *bus, uint64_t base)
{
	unsigned i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = find_slot(bus, base);
	if (i < bus->nr && bus->r[i].base == base) {
		memmove(&bus->r[i], &bus->r[i + 1],
			(bus->nr - i - 1) * sizeof(*bus->r));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int vmm_bus_access(struct vmm_bus *bus, uint64_t addr, uint8_t *data,
		   unsigned len, bool write)
{
	struct vmm_bus_region r;
	unsigned i;

	pthread_rwlock_rdlock(&bus->lock);
	i = find_slot(bus, addr);
	if (i >= bus->nr || bus->r[i].base > addr ||
	    addr + len > bus->r[i].base + bus->r[i].len) {
		pthread_rwlock_unlock(&bus->lock);
		return -ENOENT;
	}
	r = bus->r[i];
	r.fn(r.opaque, addr - r.base, data, len, write);
	pthread_rwlock_unlock(&bus->lock);
	return 0;
}
