// SPDX-License-Identifier: MIT
/*
 * map-devices.c - the devices of a domain XML: the serial port (the
 * console), <disk> (virtio-blk, --disk), <rng> (virtio-rng), <memballoon>
 * and <memory model='virtio-mem'> (--hotplug); then what spans elements:
 * each disk to the slot its target names, the virtio-mem devices against
 * the nodes, <memory> and <maxMemory>.
 *
 * The element handlers of map.c's table for these rows (struct dom_rule.fn)
 * and the finish steps dom_map() runs after the walk. Apart from map.c
 * because devices are read in parts (a <disk> and then its children fill
 * one slot) and each kind is checked as a whole at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- devices/serial and devices/memballoon ---------------------------------- */

int dom_on_serial(struct mapping *m, xmlNode *n)
{
	char *type = dom_prop(n, "type");
	int ret = 0;

	if (m->serial)
		ret = gm_error_set(m->e, EINVAL, "<devices/serial>: a second serial port (kvmem has one, COM1)");
	else if (type && !strcmp(type, "stdio") && !(m->g->console = strdup("stdio")))
		ret = gm_error_set(m->e, ENOMEM, "out of memory");
	m->serial = true;
	m->serial_file = type && !strcmp(type, "file");
	xmlFree(type);
	return ret;
}

/* <serial type='file'><source path='FILE'/>: the console goes to FILE. */
int dom_on_serial_source(struct mapping *m, xmlNode *n)
{
	char *path = dom_prop(n, "path");
	int ret = 0;

	if (!path || !*path || !dom_printable(path))
		ret = gm_error_set(m->e, EINVAL, "<devices/serial/source>: needs a printable path");
	else if (!strcmp(path, "stdio"))	/* kvmem's word for the terminal */
		ret = gm_error_set(m->e, EINVAL, "<devices/serial/source path='stdio'>: write ./stdio for a file of that name");
	else if (!m->serial_file || m->g->console)
		ret = gm_error_set(m->e, EINVAL, "<devices/serial/source>: only one, and only for type='file'");
	else if (!(m->g->console = strdup(path)))
		ret = gm_error_set(m->e, ENOMEM, "out of memory");
	xmlFree(path);
	return ret;
}

/* <memballoon model='none'> is --balloon off; model='virtio' kvmem's balloon (on by default). */
int dom_on_memballoon(struct mapping *m, xmlNode *n)
{
	char *model = dom_prop(n, "model");

	m->g->no_balloon = model && !strcmp(model, "none");
	xmlFree(model);
	return 0;
}

/* ---- devices/disk and devices/rng ------------------------------------------- */

/*
 * A <disk> is read into the guest's next slot in document order, its
 * children fill it in; dom_finish_disks() then puts each in the place its
 * <target dev='vdX'> names, so the guest's vdX is the disk the file says.
 */
static struct dom_disk *cur_disk(struct mapping *m)
{
	return &m->g->disk[m->g->nr_disks - 1];
}

int dom_on_disk(struct mapping *m, xmlNode *n)
{
	struct dom_guest *g = m->g;
	char *type, *device;
	int ret = 0;

	if (g->nr_disks == DOM_MAX_DISKS)
		return gm_error_set(m->e, EINVAL, "<devices/disk>: more than %d disks (kvmem's virtio-mmio slots)",
				    DOM_MAX_DISKS);
	type = dom_prop(n, "type");
	device = dom_prop(n, "device");
	/* the table refuses the user's values; these would be libvirt's defaults */
	if ((type && strcmp(type, "file") && strcmp(type, "block")) ||
	    (device && strcmp(device, "disk")))
		ret = gm_error_set(m->e, EINVAL, "<devices/disk type='%.20s' device='%.20s'>: kvmem supports type='file' or 'block', device='disk' only",
				   type ? type : "", device ? device : "");
	else {
		m->disk_target[g->nr_disks] = -1;
		g->disk[g->nr_disks++].block = type && !strcmp(type, "block");
	}
	xmlFree(type);
	xmlFree(device);
	return ret;
}

int dom_on_disk_driver(struct mapping *m, xmlNode *n)
{
	char *cache = dom_prop(n, "cache");
	int ret = 0;

	if (!cache || !strcmp(cache, "default"))
		cur_disk(m)->cache = DOM_CACHE_DEFAULT;
	else if (!strcmp(cache, "none"))
		cur_disk(m)->cache = DOM_CACHE_NONE;
	else if (!strcmp(cache, "writeback"))
		cur_disk(m)->cache = DOM_CACHE_WRITEBACK;
	else	/* the table refuses the user's; this is a default libvirt added */
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/driver cache='%.20s'>: kvmem supports cache='none' or 'writeback' only",
				   cache);
	xmlFree(cache);
	return ret;
}

/* <source file='F'> (type='file') or <source dev='D'> (type='block'). */
int dom_on_disk_source(struct mapping *m, xmlNode *n)
{
	struct dom_disk *d = cur_disk(m);
	const char *key = d->block ? "dev" : "file";
	char *path = dom_prop(n, key);
	int ret = 0;

	if (!path || !*path)
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/source>: a type='%s' disk needs %s='...'",
				   d->block ? "block" : "file", key);
	else if (!dom_printable(path))
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/source %s>: holds a control character", key);
	else if (strchr(path, ','))
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/source %s='%.120s'>: a comma in the path (kvmem's --disk FILE,OPTIONS cannot say it)",
				   key, path);
	else if (d->path)
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/source>: given twice");
	else if (!(d->path = strdup(path)))
		ret = gm_error_set(m->e, ENOMEM, "out of memory");
	xmlFree(path);
	return ret;
}

/*
 * <target dev='vdX' bus='virtio'>: checked here rather than by the table,
 * because libvirt fills bus in from the name (sda: scsi, hdc: ide) and the
 * table lets a value the user did not write through.
 */
int dom_on_disk_target(struct mapping *m, xmlNode *n)
{
	char *dev = dom_prop(n, "dev"), *bus = dom_prop(n, "bus");
	int ret = 0;

	if (!bus || strcmp(bus, "virtio"))
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/target dev='%.20s' bus='%.20s'>: kvmem supports bus='virtio' only (its disks are virtio-blk: dev='vda', 'vdb', ...)",
				   dev ? dev : "", bus ? bus : "");
	else if (!dev || strlen(dev) != 3 || strncmp(dev, "vd", 2) || dev[2] < 'a' ||
		 dev[2] >= 'a' + DOM_MAX_DISKS)
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/target dev='%.20s'>: kvmem's disks are vda to vd%c",
				   dev ? dev : "", 'a' + DOM_MAX_DISKS - 1);
	else
		m->disk_target[m->g->nr_disks - 1] = dev[2] - 'a';
	xmlFree(dev);
	xmlFree(bus);
	return ret;
}

int dom_on_disk_readonly(struct mapping *m, xmlNode *n)
{
	(void)n;
	cur_disk(m)->ro = true;
	return 0;
}

/*
 * What virtio-blk's 20-byte id, --disk's serial=ID and libvirt's schema
 * all carry (so that vm/domain.xml can say it again).
 */
int dom_on_disk_serial(struct mapping *m, xmlNode *n)
{
	char *t = dom_text_of(n);
	size_t len = strlen(t);
	int ret = 0;

	if (!len || len > DOM_SERIAL_MAX || t[strspn(t, DOM_SERIAL_CHARS)])
		ret = gm_error_set(m->e, EINVAL, "<devices/disk/serial>%.40s</devices/disk/serial>: kvmem takes 1 to %d letters, digits or _.+- (no spaces)",
				   t, DOM_SERIAL_MAX);
	else
		snprintf(cur_disk(m)->serial, sizeof(cur_disk(m)->serial), "%s", t);
	xmlFree(t);
	return ret;
}

int dom_on_rng(struct mapping *m, xmlNode *n)
{
	(void)n;
	if (m->g->rng)
		return gm_error_set(m->e, EINVAL, "<devices/rng>: a second one (kvmem has one virtio-rng device)");
	m->g->rng = true;
	return 0;
}

/* ---- devices/memory: virtio-mem, kvmem's --hotplug ------------------------- */

static struct vmem_dev *cur_vmem(struct mapping *m)
{
	return &m->vmem[m->nr_vmem - 1];
}

int dom_on_vmem(struct mapping *m, xmlNode *n)
{
	(void)n;
	if (m->nr_vmem == GM_MAX_NODES)
		return gm_error_set(m->e, EINVAL, "<devices/memory>: more than %d (kvmem has one virtio-mem per node)",
				    GM_MAX_NODES);
	m->vmem[m->nr_vmem++].node = -1;
	return 0;
}

int dom_on_vmem_size(struct mapping *m, xmlNode *n)
{
	return dom_size_elem(m, n, "devices/memory/target/size", &cur_vmem(m)->size);
}

int dom_on_vmem_block(struct mapping *m, xmlNode *n)
{
	return dom_size_elem(m, n, "devices/memory/target/block", &cur_vmem(m)->block);
}

int dom_on_vmem_requested(struct mapping *m, xmlNode *n)
{
	return dom_size_elem(m, n, "devices/memory/target/requested", &cur_vmem(m)->req);
}

int dom_on_vmem_node(struct mapping *m, xmlNode *n)
{
	char *t = dom_text_of(n);
	unsigned node = 0;
	int ret = dom_number(m, "devices/memory/target/node", t, GM_MAX_NODES - 1, &node);

	if (!ret)
		cur_vmem(m)->node = (int)node;
	xmlFree(t);
	return ret;
}

/* ---- what spans elements ---------------------------------------------------- */

/*
 * Each disk to the place its target names: the guest calls kvmem's disks
 * vda, vdb, ... in order, so the file's names must be those, with no gap.
 */
int dom_finish_disks(struct mapping *m)
{
	struct dom_guest *g = m->g;
	struct dom_disk sorted[DOM_MAX_DISKS];
	bool have[DOM_MAX_DISKS] = { false };
	int gap = -1;

	for (unsigned i = 0; i < g->nr_disks; i++) {
		int t = m->disk_target[i];

		if (t < 0)
			return gm_error_set(m->e, EINVAL, "<devices/disk>: no <target dev='vdX' bus='virtio'>");
		if (!g->disk[i].path)
			return gm_error_set(m->e, EINVAL, "<devices/disk> vd%c: no <source> (kvmem's disks are files or block devices)",
					    'a' + t);
		if (have[t])
			return gm_error_set(m->e, EINVAL, "<devices/disk/target dev='vd%c'>: given twice", 'a' + t);
		have[t] = true;
		sorted[t] = g->disk[i];
		if ((unsigned)t >= g->nr_disks && (gap < 0 || t < gap))
			gap = t;
	}
	if (gap >= 0) {
		unsigned missing = 0;

		while (have[missing])
			missing++;
		return gm_error_set(m->e, EINVAL,
				    "<devices/disk/target dev='vd%c'>: no disk vd%c (the guest names kvmem's disks vda, vdb, ... in order, with no gap)",
				    'a' + gap, 'a' + missing);
	}
	memcpy(g->disk, sorted, g->nr_disks * sizeof(g->disk[0]));
	return 0;
}

#define VMEM_TARGET	"devices/memory/target"

/*
 * The virtio-mem devices as kvmem's --hotplug: at most one per guest node,
 * a size of whole 128 MiB (Linux's memory block, kvmem's region unit), one
 * block for all (--hotplug-block: a power of two from 2 MiB to 128 MiB,
 * so the size is also whole blocks), a request of whole blocks up to the
 * size; <maxMemory> given and holding <memory>, as libvirt's QEMU driver
 * asks. libvirt checks some of this itself, kvmem checks all of it.
 */
int dom_finish_vmem(struct mapping *m)
{
	struct dom_guest *g = m->g;
	int first = -1;

	if (!m->nr_vmem)
		return 0;
	if (!m->max_memory)
		return gm_error_set(m->e, EINVAL,
				    "<devices/memory model='virtio-mem'>: needs <maxMemory slots='N'> (libvirt's QEMU driver refuses memory devices without it)");
	if (m->memory > m->max_memory)
		return gm_error_set(m->e, EINVAL,
				    "<maxMemory unit='KiB'>%" PRIu64 "</maxMemory>: less than <memory> (%" PRIu64 " KiB)",
				    m->max_memory >> 10, m->memory >> 10);
	for (unsigned i = 0; i < m->nr_vmem; i++) {
		const struct vmem_dev *v = &m->vmem[i];
		uint64_t b = v->block;

		if (v->node < 0)
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET ">: no <node> (kvmem gives a region to one guest node)");
		if ((unsigned)v->node >= g->nr_nodes)
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET "/node>%d</" VMEM_TARGET "/node>: the guest has no cell %d",
					    v->node, v->node);
		if (g->node[v->node].hotplug)
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET "/node>%d</" VMEM_TARGET "/node>: a second virtio-mem device on node %d (kvmem has one region per node)",
					    v->node, v->node);
		if (!v->size || v->size % GM_HOTPLUG_ALIGN)
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET "/size unit='KiB'>%" PRIu64 "</" VMEM_TARGET "/size>: not a non-zero multiple of 128 MiB (Linux's memory block, kvmem's --hotplug)",
					    v->size >> 10);
		if (b < GM_HOTPLUG_BLOCK || b > GM_HOTPLUG_ALIGN || (b & (b - 1)))
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET "/block unit='KiB'>%" PRIu64 "</" VMEM_TARGET "/block>: kvmem's block is a power of two from 2 MiB to 128 MiB",
					    b >> 10);
		if (first >= 0 && b != g->hotplug_block)
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET "/block unit='KiB'>%" PRIu64 "</" VMEM_TARGET "/block> (node %d): differs from node %d's %" PRIu64 " KiB (kvmem has one --hotplug-block for every region)",
					    b >> 10, v->node, first, g->hotplug_block >> 10);
		if (v->req % b || v->req > v->size)
			return gm_error_set(m->e, EINVAL, "<" VMEM_TARGET "/requested unit='KiB'>%" PRIu64 "</" VMEM_TARGET "/requested>: not whole blocks (%" PRIu64 " KiB) up to the size (%" PRIu64 " KiB)",
					    v->req >> 10, b >> 10, v->size >> 10);
		if (first < 0)
			first = v->node;
		g->hotplug_block = b;
		g->node[v->node].hotplug = v->size;
		g->node[v->node].hotplug_req = v->req;
	}
	return 0;
}
