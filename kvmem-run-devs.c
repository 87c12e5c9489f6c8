// SPDX-License-Identifier: MIT
/*
 * kvmem-run-devs.c - the virtio-mmio devices of `kvmem run`: which devices
 * the options ask for, in which slot (window and GSI, vmm_virtio_slot()),
 * their DSDT entries, and their life: planned and checked before anything
 * else (run_devs_plan), described in the ACPI tables (run_devs_describe),
 * created and put on the VM before the vCPUs start (run_devs_start), torn
 * down after the vCPUs have stopped (run_devs_stop).
 *
 * Slots go in a fixed order: the --rng device, then ... (each device kind
 * appends its own). A new device kind is one plan_*() function here and
 * its create/destroy pair in vmm/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "kvmem-run.h"
#include "layout.h"
#include "vmm.h"

struct run_dev {
	char name[16];			/* for messages: "rng", "vda" */
	int (*create)(struct run_devs *d, struct run_dev *dev,
		      struct gm_mem *mem, struct vmm_virtio **out);
	void (*destroy)(struct vmm_virtio *vd);
	void *arg;			/* the kind's own */
	uint64_t base, size;
	unsigned gsi;
	struct vmm_virtio *vd;		/* once started */
};

struct run_devs {
	struct run_dev dev[VMM_VIRTIO_MAX_DEVS];
	unsigned nr;
};

/* Take the next slot for a device called @name. */
static struct run_dev *add(struct run_devs *d, const char *name,
			   struct gm_error *e)
{
	struct run_dev *dev;

	if (d->nr == VMM_VIRTIO_MAX_DEVS) {
		gm_error_set(e, ENOSPC, "%s: at most %d virtio devices", name,
			     VMM_VIRTIO_MAX_DEVS);
		return NULL;
	}
	dev = &d->dev[d->nr];
	if (vmm_virtio_slot(d->nr, &dev->base, &dev->size, &dev->gsi)) {
		gm_error_set(e, ENOSPC, "%s: no virtio slot", name);
		return NULL;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	d->nr++;
	return dev;
}

/* ---- --rng ----------------------------------------------------------------- */

static int create_rng(struct run_devs *d, struct run_dev *dev,
		      struct gm_mem *mem, struct vmm_virtio **out)
{
	(void)d;
	(void)dev;
	return vmm_rng_create(mem, out);
}

static int plan_rng(struct run_devs *d, const struct run_opts *o,
		    struct gm_error *e)
{
	struct run_dev *dev;

	if (!o->rng)
		return 0;
	dev = add(d, "rng", e);
	if (!dev)
		return -ENOSPC;
	dev->create = create_rng;
	dev->destroy = vmm_rng_destroy;
	return 0;
}

/* ---- the list ---------------------------------------------------------------- */

int run_devs_plan(const struct run_opts *o, struct run_devs **out,
		  struct gm_error *e)
{
	struct run_devs *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return gm_error_set(e, ENOMEM, "out of memory");
	ret = plan_rng(d, o, e);
	if (ret) {
		run_devs_release(d);
		return ret;
	}
	*out = d;
	return 0;
}

void run_devs_release(struct run_devs *d)
{
	if (!d)
		return;
	run_devs_stop(d);
	free(d);
}

void run_devs_describe(const struct run_devs *d, struct vmm_topology *t)
{
	t->nr_devs = d->nr;
	for (unsigned i = 0; i < d->nr; i++)
		t->dev[i] = (struct vmm_acpi_dev){
			.base = d->dev[i].base,
			.size = d->dev[i].size,
			.gsi = d->dev[i].gsi,
		};
}

int run_devs_start(struct run_devs *d, struct gm_mem *mem, struct vmm *vm,
		   struct gm_error *e)
{
	for (unsigned i = 0; i < d->nr; i++) {
		struct run_dev *dev = &d->dev[i];
		int ret = dev->create(d, dev, mem, &dev->vd);

		if (ret) {
			gm_error_set(e, ret, "%s: %s", dev->name, strerror(-ret));
			goto err;
		}
		ret = vmm_virtio_attach(dev->vd, vm, dev->base, dev->gsi, e);
		if (ret) {
			dev->destroy(dev->vd);
			dev->vd = NULL;
			goto err;
		}
	}
	return 0;
err:
	run_devs_stop(d);
	return e->err ? -e->err : -EIO;
}

void run_devs_stop(struct run_devs *d)
{
	for (unsigned i = d->nr; i-- > 0;) {
		if (d->dev[i].vd)
			d->dev[i].destroy(d->dev[i].vd);
		d->dev[i].vd = NULL;
	}
}
