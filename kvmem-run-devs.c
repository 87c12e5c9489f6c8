// SPDX-License-Identifier: MIT
/*
 * kvmem-run-devs.c - the virtio-mmio devices of `kvmem run`: which devices
 * the options ask for, in which slot (window and GSI, vmm_virtio_slot()),
 * their DSDT entries, and their life: planned and checked before anything
 * else (run_devs_plan), described in the ACPI tables (run_devs_describe),
 * created and put on the VM before the vCPUs start (run_devs_start), torn
 * down after the vCPUs have stopped (run_devs_stop).
 *
 * Slots go in a fixed order: the --disk devices (vda, vdb, ... as given),
 * then the --rng device, then one virtio-mem device per --hotplug node,
 * then the balloon (on unless --balloon off; each device kind appends its
 * own). A new device
 * kind is one plan_*() function here, its create/destroy pair in vmm/, and
 * its files (fs_dir_add()) if it has any. Disk images are opened and
 * checked at plan time, before the memory is even laid out, so a bad one
 * costs nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "fusefs.h"
#include "kvmem-run.h"
#include "layout.h"
#include "vmm.h"

struct run_dev {
	char name[16];			/* for messages and files: "rng", "vda" */
	int (*create)(struct run_dev *dev, struct gm_mem *mem,
		      struct vmm_virtio **out);
	void (*destroy)(struct run_dev *dev);	/* the started device */
	void (*release)(struct run_dev *dev);	/* what plan_*() opened */
	int (*files)(struct run_dev *dev, struct fs *fs);
	void *arg;			/* the kind's own */
	struct run_devs *devs;		/* the list it is in */
	uint64_t base, size;
	unsigned gsi;
	struct vmm_virtio *vd;		/* once started */
};

struct run_devs {
	struct run_dev dev[VMM_VIRTIO_MAX_DEVS];
	unsigned nr;
	const struct vmm_guest_ram *ram;	/* the VM's RAM, for the balloon */
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
	dev->devs = d;
	d->nr++;
	return dev;
}

/* ---- --disk: vda, vdb, ... ------------------------------------------------- */

static int create_blk(struct run_dev *dev, struct gm_mem *mem,
		      struct vmm_virtio **out)
{
	return vmm_blk_create(dev->arg, mem, out);
}

static void destroy_blk(struct run_dev *dev)
{
	vmm_blk_detach(dev->arg);
}

static void release_blk(struct run_dev *dev)
{
	vmm_blk_close(dev->arg);
	dev->arg = NULL;
}

static int show_path(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_info i;

	vmm_blk_info(opaque, &i);
	fs_buf_printf(b, "%s\n", i.path);
	return 0;
}

static int show_size(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_info i;

	vmm_blk_info(opaque, &i);
	fs_buf_printf(b, "%" PRIu64 "\n", i.size);
	return 0;
}

static int show_readonly(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_info i;

	vmm_blk_info(opaque, &i);
	fs_buf_printf(b, "%d\n", i.ro);
	return 0;
}

static int show_serial(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_info i;

	vmm_blk_info(opaque, &i);
	fs_buf_printf(b, "%s\n", i.serial);
	return 0;
}

static int show_cache(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_info i;

	vmm_blk_info(opaque, &i);
	fs_buf_printf(b, "%s\n", i.direct ? "none" : "writeback");
	return 0;
}

static int show_engine(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_info i;

	vmm_blk_info(opaque, &i);
	fs_buf_printf(b, "%s\n", i.sync ? "sync" : "io_uring");
	return 0;
}

/* /sys/block/DEV/stat: 17 fields, the kernel's own widths (block/genhd.c). */
static int show_stat(void *opaque, struct fs_buf *b)
{
	struct vmm_blk_stat s;

	vmm_blk_stat(opaque, &s);
	fs_buf_printf(b, "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " "
			 "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " "
			 "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " "
			 "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " "
			 "%8" PRIu64 " %8" PRIu64 "\n",
		      s.ios[VMM_BLK_STAT_READ], (uint64_t)0, s.sectors[VMM_BLK_STAT_READ],
		      s.ticks_ms[VMM_BLK_STAT_READ],
		      s.ios[VMM_BLK_STAT_WRITE], (uint64_t)0, s.sectors[VMM_BLK_STAT_WRITE],
		      s.ticks_ms[VMM_BLK_STAT_WRITE],
		      s.in_flight, s.io_ticks_ms, s.time_in_queue_ms,
		      s.ios[VMM_BLK_STAT_DISCARD], (uint64_t)0,
		      s.sectors[VMM_BLK_STAT_DISCARD], s.ticks_ms[VMM_BLK_STAT_DISCARD],
		      s.ios[VMM_BLK_STAT_FLUSH], s.ticks_ms[VMM_BLK_STAT_FLUSH]);
	return 0;
}

static const struct fs_file_ops blk_files[] = {
	{ "path", 0444, show_path, NULL },
	{ "size", 0444, show_size, NULL },
	{ "readonly", 0444, show_readonly, NULL },
	{ "serial", 0444, show_serial, NULL },
	{ "cache", 0444, show_cache, NULL },
	{ "engine", 0444, show_engine, NULL },
	{ "stat", 0444, show_stat, NULL },
};

static int files_blk(struct run_dev *dev, struct fs *fs)
{
	char path[48];

	snprintf(path, sizeof(path), "vm/disks/%s", dev->name);
	return fs_dir_add(fs, path, blk_files,
			  sizeof(blk_files) / sizeof(blk_files[0]), dev->arg);
}

/*
 * Open every --disk now, so a bad one fails before anything else is built
 * (KVMEM_KIO_SYNC=1 in the environment forces the synchronous fallback).
 */
static int plan_disks(struct run_devs *d, const struct run_opts *o,
		      struct gm_error *e)
{
	unsigned flags = getenv("KVMEM_KIO_SYNC") ? VMM_BLK_SYNC : 0;

	for (unsigned i = 0; i < o->nr_disks; i++) {
		const struct vmm_blk_conf *c = &o->disk[i];
		struct run_dev *dev;
		char name[8];
		int ret;

		snprintf(name, sizeof(name), "vd%c", 'a' + i);
		for (unsigned j = 0; j < d->nr; j++)
			if (d->dev[j].create == create_blk &&
			    vmm_blk_is(d->dev[j].arg, c->path))
				return gm_error_set(e, EINVAL, "--disk %s: the same file as %s",
						    c->path, d->dev[j].name);
		dev = add(d, name, e);
		if (!dev)
			return -ENOSPC;
		ret = vmm_blk_open(c, flags, (struct vmm_blk **)&dev->arg, e);
		if (ret) {
			d->nr--;
			return ret;
		}
		dev->create = create_blk;
		dev->destroy = destroy_blk;
		dev->release = release_blk;
		dev->files = files_blk;
	}
	return 0;
}

/* ---- --rng ----------------------------------------------------------------- */

static int create_rng(struct run_dev *dev, struct gm_mem *mem,
		      struct vmm_virtio **out)
{
	(void)dev;
	return vmm_rng_create(mem, out);
}

static void destroy_rng(struct run_dev *dev)
{
	vmm_rng_destroy(dev->vd);
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
	dev->destroy = destroy_rng;
	return 0;
}

/* ---- --hotplug: one virtio-mem per node with a region ------------------------- */

struct hp_dev {
	unsigned node;
	uint64_t requested;		/* --hotplug-requested */
	struct gm_mem *mem;		/* once started */
	struct vmm_vmem *v;
};

static int create_vmem(struct run_dev *dev, struct gm_mem *mem,
		       struct vmm_virtio **out)
{
	struct hp_dev *h = dev->arg;
	int ret = vmm_vmem_create(mem, h->node, h->requested, &h->v);

	if (ret)
		return ret;
	h->mem = mem;
	ret = vmm_vmem_device(h->v, out);
	if (ret) {
		vmm_vmem_destroy(h->v);
		h->v = NULL;
	}
	return ret;
}

static void destroy_vmem(struct run_dev *dev)
{
	struct hp_dev *h = dev->arg;

	vmm_vmem_destroy(h->v);
	h->v = NULL;
}

static void release_vmem(struct run_dev *dev)
{
	free(dev->arg);
	dev->arg = NULL;
}

static int show_region(void *opaque, struct fs_buf *b)
{
	struct vmm_vmem_info i;

	vmm_vmem_info(((struct hp_dev *)opaque)->v, &i);
	fs_buf_printf(b, "0x%" PRIx64 " 0x%" PRIx64 "\n", i.addr, i.size);
	return 0;
}

static int show_block(void *opaque, struct fs_buf *b)
{
	struct vmm_vmem_info i;

	vmm_vmem_info(((struct hp_dev *)opaque)->v, &i);
	fs_buf_printf(b, "%" PRIu64 "\n", i.block);
	return 0;
}

static int show_requested(void *opaque, struct fs_buf *b)
{
	struct vmm_vmem_info i;

	vmm_vmem_info(((struct hp_dev *)opaque)->v, &i);
	fs_buf_printf(b, "%" PRIu64 "\n", i.requested);
	return 0;
}

/* `echo 1G > requested`: whole blocks, at most the region; the guest is told. */
static int store_requested(void *opaque, const char *value, struct gm_error *e)
{
	struct hp_dev *h = opaque;
	struct vmm_vmem_info i;
	char buf[64];
	uint64_t size;
	size_t n = strcspn(value, "\n");
	int ret;

	vmm_vmem_info(h->v, &i);
	if (n >= sizeof(buf) || value[n + (value[n] == '\n')])
		return gm_error_set(e, EINVAL, "requested: one size, like 1G");
	snprintf(buf, sizeof(buf), "%.*s", (int)n, value);
	ret = gm_parse_size(buf, &size);
	if (ret)
		return gm_error_set(e, ret, "requested: '%s' is not a size", buf);
	if (size % i.block || size > i.size)
		return gm_error_set(e, EINVAL, "requested: %s is not a multiple of the block (%" PRIu64
				    ") up to the region (%" PRIu64 ")", buf, i.block, i.size);
	ret = vmm_vmem_set_requested(h->v, size);
	return ret ? gm_error_set(e, ret, "requested: %s", strerror(-ret)) : 0;
}

static int show_plugged(void *opaque, struct fs_buf *b)
{
	struct vmm_vmem_info i;

	vmm_vmem_info(((struct hp_dev *)opaque)->v, &i);
	fs_buf_printf(b, "%" PRIu64 "\n", i.plugged);
	return 0;
}

static int show_bitmap(void *opaque, struct fs_buf *b)
{
	struct hp_dev *h = opaque;
	char *s;
	int ret = gm_node_hotplug_bitmap(h->mem, h->node, &s);

	if (ret)
		return ret;
	fs_buf_printf(b, "%s", s);
	free(s);
	return 0;
}

static const struct fs_file_ops vmem_files[] = {
	{ "region", 0444, show_region, NULL },
	{ "block_size", 0444, show_block, NULL },
	{ "requested", 0644, show_requested, store_requested },
	{ "plugged", 0444, show_plugged, NULL },
	{ "bitmap", 0444, show_bitmap, NULL },
};

static int files_vmem(struct run_dev *dev, struct fs *fs)
{
	char path[48];

	snprintf(path, sizeof(path), "nodes/node%u/hotplug",
		 ((struct hp_dev *)dev->arg)->node);
	return fs_dir_add(fs, path, vmem_files,
			  sizeof(vmem_files) / sizeof(vmem_files[0]), dev->arg);
}

static int plan_hotplug(struct run_devs *d, const struct run_opts *o,
			struct gm_error *e)
{
	for (unsigned n = 0; n < o->cfg.nr_nodes; n++) {
		struct run_dev *dev;
		struct hp_dev *h;
		char name[16];

		if (!o->cfg.node[n].hotplug_size)
			continue;
		snprintf(name, sizeof(name), "mem%u", n);
		h = calloc(1, sizeof(*h));
		if (!h)
			return gm_error_set(e, ENOMEM, "out of memory");
		dev = add(d, name, e);
		if (!dev) {
			free(h);
			return -ENOSPC;
		}
		h->node = n;
		h->requested = o->hotplug_requested[n];
		dev->arg = h;
		dev->create = create_vmem;
		dev->destroy = destroy_vmem;
		dev->release = release_vmem;
		dev->files = files_vmem;
	}
	return 0;
}

void run_devs_hotplug_requested(struct run_devs *d, uint64_t requested[GM_MAX_NODES])
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->nr; i++) {
		struct run_dev *dev = &d->dev[i];
		struct hp_dev *h = dev->arg;
		struct vmm_vmem_info info;

		if (dev->create != create_vmem || !h || !h->v)
			continue;
		vmm_vmem_info(h->v, &info);
		requested[h->node] = info.requested;
	}
}

/* ---- the balloon: vm/balloon/ and the nodes' meminfo -------------------------- */

/*
 * The balloon over the VM's RAM and every virtio-mem region (free page
 * reports there too). The virtio-mem devices are started before it and
 * stopped after it (their slots come first), so their handles outlive it.
 */
static int create_balloon(struct run_dev *dev, struct gm_mem *mem,
			  struct vmm_virtio **out)
{
	const struct vmm_guest_ram *ram = dev->devs->ram;
	struct run_devs *d = dev->devs;
	struct vmm_balloon *b;
	int ret;

	if (!ram)
		return -EINVAL;
	ret = vmm_balloon_create(mem, ram->id, ram->nr, &b);
	if (ret)
		return ret;
	for (unsigned i = 0; i < d->nr; i++) {
		struct hp_dev *h = d->dev[i].arg;

		if (d->dev[i].create != create_vmem || !h->v)
			continue;
		ret = vmm_balloon_add_hotplug(b, h->v);
		if (ret) {
			vmm_balloon_destroy(b);
			return ret;
		}
	}
	dev->arg = b;
	*out = vmm_balloon_virtio(b);
	return 0;
}

static void destroy_balloon(struct run_dev *dev)
{
	vmm_balloon_destroy(dev->arg);
	dev->arg = NULL;
}

static int show_target(void *opaque, struct fs_buf *b)
{
	struct vmm_balloon_info i;

	vmm_balloon_info(opaque, &i);
	fs_buf_printf(b, "%" PRIu64 "\n", i.target);
	return 0;
}

static int store_target(void *opaque, const char *value, struct gm_error *e)
{
	struct vmm_balloon_info i;
	uint64_t v;
	int ret = gm_parse_size(value, &v);

	if (ret)
		return gm_error_set(e, -ret, "balloon target '%s': expected a size (256M, 1G, 4096)", value);
	vmm_balloon_info(opaque, &i);
	if (v > i.ram || v % 4096)
		return gm_error_set(e, EINVAL, "balloon target %s: must be a multiple of 4K, at most the guest RAM (%" PRIu64 " bytes)",
				    value, i.ram);
	ret = vmm_balloon_set_target(opaque, v);
	return ret ? gm_error_set(e, -ret, "balloon target %s: %s", value, strerror(-ret)) : 0;
}

static int show_actual(void *opaque, struct fs_buf *b)
{
	struct vmm_balloon_info i;

	vmm_balloon_info(opaque, &i);
	fs_buf_printf(b, "%" PRIu64 "\n", i.guest_actual);
	return 0;
}

static int show_reported(void *opaque, struct fs_buf *b)
{
	struct vmm_balloon_info i;
	struct vmm_balloon_node all;

	vmm_balloon_info(opaque, &i);
	vmm_balloon_node(opaque, VMM_BALLOON_ALL_NODES, &all);
	fs_buf_printf(b, "total %" PRIu64 "\nreleased %" PRIu64 "\nranges %" PRIu64 "\n",
		      i.reported, all.released, i.reported_ranges);
	return 0;
}

static int show_refused(void *opaque, struct fs_buf *b)
{
	struct vmm_balloon_info i;

	vmm_balloon_info(opaque, &i);
	fs_buf_printf(b, "outside %" PRIu64 "\nearly %" PRIu64 "\nmisaligned %" PRIu64
			 "\nstate %" PRIu64 "\nbuffer %" PRIu64 "\ndiscard_failed %" PRIu64
			 "\nunplugged %" PRIu64 "\n",
		      i.refused_outside, i.refused_early, i.refused_misaligned,
		      i.refused_state, i.refused_buffer, i.discard_failed,
		      i.refused_unplugged);
	return 0;
}

/* The guest's figures in /proc/meminfo style, refreshed if older than 1 s. */
static int show_stats(void *opaque, struct fs_buf *b)
{
	struct vmm_balloon_stats s;

	if (vmm_balloon_stats(opaque, 1000, 1000, &s)) {
		fs_buf_printf(b, "Updates:        0\n");
		return 0;
	}
	for (unsigned t = 0; t < VMM_BALLOON_NR_STATS; t++) {
		bool bytes;
		const char *name = vmm_balloon_stat_name(t, &bytes);
		char k[32];

		if (!(s.have & (1u << t)))
			continue;
		snprintf(k, sizeof(k), "%s:", name);
		if (bytes)
			fs_buf_printf(b, "%-19s %8" PRIu64 " kB\n", k, s.val[t] >> 10);
		else
			fs_buf_printf(b, "%-19s %8" PRIu64 "\n", k, s.val[t]);
	}
	fs_buf_printf(b, "%-19s %8" PRIu64 "\n%-19s %8" PRIu64 " ms\n", "Updates:", s.updates,
		      "Age:", s.age_ms);
	return 0;
}

static const struct fs_file_ops balloon_files[] = {
	{ "target", 0644, show_target, store_target },
	{ "actual", 0444, show_actual, NULL },
	{ "reported", 0444, show_reported, NULL },
	{ "stats", 0444, show_stats, NULL },
	{ "refused", 0444, show_refused, NULL },
};

/* nodes/nodeN/meminfo: Ballooned and Reported (still released). */
static int balloon_meminfo(void *opaque, unsigned node, struct fs_buf *b)
{
	struct vmm_balloon_node n;

	if (vmm_balloon_node(opaque, node, &n))
		return 0;
	fs_meminfo_line(b, node, "Ballooned", n.ballooned);
	fs_meminfo_line(b, node, "Reported", n.released);
	return 0;
}

static int files_balloon(struct run_dev *dev, struct fs *fs)
{
	int ret = fs_dir_add(fs, "vm/balloon", balloon_files,
			     sizeof(balloon_files) / sizeof(balloon_files[0]), dev->arg);

	if (!ret)
		ret = fs_meminfo_add(fs, balloon_meminfo, dev->arg);
	return ret;
}

static int plan_balloon(struct run_devs *d, const struct run_opts *o,
			struct gm_error *e)
{
	struct run_dev *dev;

	if (o->no_balloon)
		return 0;
	dev = add(d, "balloon", e);
	if (!dev)
		return -ENOSPC;
	dev->create = create_balloon;
	dev->destroy = destroy_balloon;
	dev->files = files_balloon;
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
	ret = plan_disks(d, o, e);
	if (!ret)
		ret = plan_rng(d, o, e);
	if (!ret)
		ret = plan_hotplug(d, o, e);
	if (!ret)
		ret = plan_balloon(d, o, e);
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
	for (unsigned i = 0; i < d->nr; i++)
		if (d->dev[i].release)
			d->dev[i].release(&d->dev[i]);
	free(d);
}

void run_devs_ram(struct run_devs *d, const struct vmm_guest_ram *ram)
{
	d->ram = ram;
}

int run_devs_files(struct run_devs *d, struct fs *fs, struct gm_error *e)
{
	for (unsigned i = 0; i < d->nr; i++) {
		int ret = d->dev[i].files ? d->dev[i].files(&d->dev[i], fs) : 0;

		if (ret)
			return gm_error_set(e, ret, "%s: files: %s", d->dev[i].name,
					    strerror(-ret));
	}
	return 0;
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
		int ret = dev->create(dev, mem, &dev->vd);

		if (ret) {
			dev->vd = NULL;
			gm_error_set(e, ret, "%s: %s", dev->name, strerror(-ret));
			goto err;
		}
		ret = vmm_virtio_attach(dev->vd, vm, dev->base, dev->gsi, e);
		if (ret) {
			dev->destroy(dev);
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
			d->dev[i].destroy(&d->dev[i]);
		d->dev[i].vd = NULL;
	}
}
