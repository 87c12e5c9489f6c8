// SPDX-License-Identifier: MIT
/*
 * map.c - libvirt's normalized domain XML to a struct dom_guest, through one
 * table of the elements kvmem honours (walked by walk.c).
 *
 * Every element of the document must have a row (its path below <domain>),
 * every attribute must be listed in its row, text only where the row takes
 * it: anything else is an error naming it, so nothing a user wrote is ever
 * dropped. A row may restrict values ("placement=static"); a value outside
 * them is an error unless the user did not write it (libvirt filled in its
 * default: the test driver says arch='i686' and on_reboot restart when the
 * file is silent). A device kvmem does not have yet is a row with the reason
 * and no handler; when it lands, the row gets its handler.
 *
 * Handlers read one element into the guest or the mapping's state; what
 * spans several elements (cells against <memory>, the topology, kernel or
 * flat binary) is checked at the end, in the finish_*() steps.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct mapping {
	struct dom_guest *g;
	xmlDoc *orig;
	struct gm_error *e;
	uint64_t memory, current;	/* <memory>, <currentMemory>, bytes */
	bool has_current;
	int all_host;			/* <numatune><memory nodeset>, -1 */
	int memnode[GM_MAX_NODES];	/* <memnode cellid nodeset>, -1 */
	unsigned nr_cells;
	bool cell_seen[GM_MAX_NODES];
	unsigned topo[4];		/* sockets dies cores threads */
	bool has_topo;
	char *page_nodeset;		/* <hugepages><page nodeset>, xmlFree */
	bool serial, serial_file;	/* one serial port seen; of type file */
	uint64_t cma_seen, headroom_seen;	/* bit per node */
	int disk_target[DOM_MAX_DISKS];	/* <target dev='vdX'>: X - 'a', -1 */
	uint64_t max_memory;		/* <maxMemory>, bytes; 0 = none */
	struct vmem_dev {		/* a <memory model='virtio-mem'> */
		int node;		/* <target><node>, -1 none */
		uint64_t size, block, req;	/* bytes */
	} vmem[GM_MAX_NODES];
	unsigned nr_vmem;
};

/* ---- helpers ------------------------------------------------------------ */

static char *prop(xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* A leaf element's text, xmlMalloc'd, never NULL. */
static char *text_of(xmlNode *n)
{
	char *t = (char *)xmlNodeGetContent(n);

	return t ? t : (char *)xmlStrdup((const xmlChar *)"");
}

/* A size: @value in @unit, which libvirt normalizes to KiB. */
static int kib(struct mapping *m, const char *what, const char *value,
	       const char *unit, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' ||
	    (unit && strcmp(unit, "KiB")) || v > UINT64_MAX / 1024)
		return gm_error_set(m->e, EINVAL, "<%s>: size '%.40s' unit '%.10s' (libvirt writes KiB)",
				    what, value, unit ? unit : "");
	*out = v * 1024;
	return 0;
}

/* Element text or attribute @v as a number in [0, @max]. */
static int number(struct mapping *m, const char *what, const char *v,
		  unsigned long max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		return gm_error_set(m->e, EINVAL, "<%s>: '%.40s' is not a number from 0 to %lu",
				    what, v, max);
	*out = n;
	return 0;
}

/* A host nodeset kvmem can bind to: one node. */
static int one_host_node(struct mapping *m, const char *what, const char *set,
			 int *out)
{
	unsigned h;

	if (!set)
		return gm_error_set(m->e, EINVAL, "<%s>: no nodeset (kvmem binds to one host node)",
				    what);
	if (number(m, what, set, GM_MAX_NODES * 16, &h))
		return gm_error_set(m->e, EINVAL, "<%s nodeset='%.40s'>: kvmem binds a node to one host node",
				    what, set);
	*out = (int)h;
	return 0;
}

static int dup_text(struct mapping *m, xmlNode *n, const char *what, char **out)
{
	char *t = text_of(n);

	if (!dom_printable(t)) {
		xmlFree(t);
		return gm_error_set(m->e, EINVAL, "<%s>: holds a control character", what);
	}
	free(*out);
	*out = strdup(t);
	xmlFree(t);
	return *out ? 0 : gm_error_set(m->e, ENOMEM, "out of memory");
}

/* ---- handlers, one per element (in document order) ---------------------- */

static int on_name(struct mapping *m, xmlNode *n)
{
	char *t = text_of(n);
	int ret = 0;

	if (strlen(t) > DOM_NAME_MAX || !dom_printable(t))
		ret = gm_error_set(m->e, EINVAL, "<name>%.40s</name>: kvmem takes 1 to %d printable characters",
				   t, DOM_NAME_MAX);
	else
		snprintf(m->g->name, sizeof(m->g->name), "%s", t);
	xmlFree(t);
	return ret;
}

/* libvirt makes up a uuid when there is none; only the user's is kept. */
static int on_uuid(struct mapping *m, xmlNode *n)
{
	char *t;
	int ret;

	if (!dom_user_wrote(m->orig, n, NULL))
		return 0;
	t = text_of(n);
	ret = strlen(t) == DOM_UUID_LEN && strspn(t, "0123456789abcdefABCDEF-") == DOM_UUID_LEN ? 0 :
	      gm_error_set(m->e, EINVAL, "<uuid>%.40s</uuid>: not a uuid", t);
	if (!ret)
		snprintf(m->g->uuid, sizeof(m->g->uuid), "%s", t);
	xmlFree(t);
	return ret;
}

static int size_elem(struct mapping *m, xmlNode *n, const char *what, uint64_t *out)
{
	char *t = text_of(n), *unit = prop(n, "unit");
	int ret = kib(m, what, t, unit, out);

	xmlFree(t);
	xmlFree(unit);
	return ret;
}

static int on_memory(struct mapping *m, xmlNode *n)
{
	return size_elem(m, n, "memory", &m->memory);
}

/*
 * <maxMemory slots unit>: the ceiling of <memory> with memory devices.
 * kvmem's memory never grows past the cells and the virtio-mem regions, so
 * it is only checked to hold them (finish_vmem()); slots (DIMM slots, which
 * virtio-mem does not take) is read past: kvmem has no DIMMs.
 */
static int on_max_memory(struct mapping *m, xmlNode *n)
{
	return size_elem(m, n, "maxMemory", &m->max_memory);
}

static int on_current(struct mapping *m, xmlNode *n)
{
	m->has_current = true;
	return size_elem(m, n, "currentMemory", &m->current);
}

static int on_hugepages(struct mapping *m, xmlNode *n)
{
	(void)n;
	m->g->hugepages = true;
	return 0;
}

/* <memballoon model='none'> is --balloon off; model='virtio' kvmem's balloon (on by default). */
static int on_memballoon(struct mapping *m, xmlNode *n)
{
	char *model = prop(n, "model");

	m->g->no_balloon = model && !strcmp(model, "none");
	xmlFree(model);
	return 0;
}

static int on_page(struct mapping *m, xmlNode *n)
{
	char *size = prop(n, "size"), *unit = prop(n, "unit");
	uint64_t bytes = 0;
	int ret;

	ret = kib(m, "memoryBacking/hugepages/page", size ? size : "", unit, &bytes);
	if (!ret && bytes != 2ULL << 20)
		ret = gm_error_set(m->e, EINVAL,
				   "<memoryBacking/hugepages/page size='%.20s' unit='KiB'>: kvmem backs guests with 2 MiB pages only (size='2048' unit='KiB')",
				   size);
	xmlFree(size);
	xmlFree(unit);
	if (!ret) {
		xmlFree(m->page_nodeset);
		m->page_nodeset = prop(n, "nodeset");
	}
	return ret;
}

static int on_vcpu(struct mapping *m, xmlNode *n)
{
	char *t = text_of(n);
	int ret = number(m, "vcpu", t, 1UL << 16, &m->g->nr_cpus);

	xmlFree(t);
	return ret;
}

static int on_numatune_memory(struct mapping *m, xmlNode *n)
{
	char *set = prop(n, "nodeset");
	int ret = one_host_node(m, "numatune/memory", set, &m->all_host);

	xmlFree(set);
	return ret;
}

static int on_memnode(struct mapping *m, xmlNode *n)
{
	char *set = prop(n, "nodeset"), *id = prop(n, "cellid");
	unsigned cell = 0;
	int ret;

	ret = number(m, "numatune/memnode cellid", id ? id : "", GM_MAX_NODES - 1, &cell);
	if (!ret)
		ret = one_host_node(m, "numatune/memnode", set, &m->memnode[cell]);
	xmlFree(set);
	xmlFree(id);
	return ret;
}

static int on_kernel(struct mapping *m, xmlNode *n)
{
	return dup_text(m, n, "os/kernel", &m->g->kernel);
}

static int on_initrd(struct mapping *m, xmlNode *n)
{
	return dup_text(m, n, "os/initrd", &m->g->initrd);
}

static int on_cmdline(struct mapping *m, xmlNode *n)
{
	return dup_text(m, n, "os/cmdline", &m->g->cmdline);
}

static int on_topology(struct mapping *m, xmlNode *n)
{
	static const char *const key[4] = { "sockets", "dies", "cores", "threads" };

	m->has_topo = true;
	for (unsigned i = 0; i < 4; i++) {
		char *v = prop(n, key[i]);
		int ret;

		m->topo[i] = 1;
		ret = v ? number(m, "cpu/topology", v, 1UL << 16, &m->topo[i]) : 0;
		xmlFree(v);
		if (ret)
			return ret;
	}
	return 0;
}

/* cpus='A' or 'A-B': kvmem puts each node's vCPUs in one block. */
static int cell_cpus(struct mapping *m, unsigned id, const char *cpus,
		     struct dom_node *nd)
{
	unsigned a, b;
	int len = -1;

	nd->cpu_first = nd->cpu_last = -1;
	if (!cpus || !*cpus)
		return 0;
	if (sscanf(cpus, "%5u%n", &a, &len) == 1 && len == (int)strlen(cpus))
		b = a;
	else if (sscanf(cpus, "%5u-%5u%n", &a, &b, &len) != 2 || len != (int)strlen(cpus) || b < a)
		return gm_error_set(m->e, EINVAL,
				    "<cpu/numa/cell id='%u' cpus='%.40s'>: kvmem needs each cell's vCPUs as one range",
				    id, cpus);
	nd->cpu_first = (int)a;
	nd->cpu_last = (int)b;
	return 0;
}

static int on_cell(struct mapping *m, xmlNode *n)
{
	char *id = prop(n, "id"), *cpus = prop(n, "cpus");
	char *mem = prop(n, "memory"), *unit = prop(n, "unit");
	unsigned cell = 0;
	int ret;

	ret = number(m, "cpu/numa/cell id", id ? id : "", GM_MAX_NODES - 1, &cell);
	if (!ret && m->cell_seen[cell])
		ret = gm_error_set(m->e, EINVAL, "<cpu/numa/cell id='%u'>: given twice", cell);
	if (!ret)
		ret = kib(m, "cpu/numa/cell", mem ? mem : "", unit, &m->g->node[cell].size);
	if (!ret)
		ret = cell_cpus(m, cell, cpus, &m->g->node[cell]);
	if (!ret) {
		m->cell_seen[cell] = true;
		m->nr_cells++;
	}
	xmlFree(id);
	xmlFree(cpus);
	xmlFree(mem);
	xmlFree(unit);
	return ret;
}

static int on_serial(struct mapping *m, xmlNode *n)
{
	char *type = prop(n, "type");
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
static int on_serial_source(struct mapping *m, xmlNode *n)
{
	char *path = prop(n, "path");
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

static int metadata_node(struct mapping *m, xmlNode *n, const char *what,
			 unsigned *node)
{
	char *v = prop(n, "node");
	int ret = number(m, what, v ? v : "", GM_MAX_NODES - 1, node);

	xmlFree(v);
	return ret;
}

static int metadata_size(struct mapping *m, xmlNode *n, const char *what,
			 uint64_t *out)
{
	char *v = prop(n, "size");
	int ret = 0;

	if (!v || gm_parse_size(v, out))
		ret = gm_error_set(m->e, EINVAL, "<%s size='%.40s'>: a size like 64M", what,
				   v ? v : "");
	xmlFree(v);
	return ret;
}

/* <kvmem:cma> or <kvmem:headroom>: one per node. */
static int node_size(struct mapping *m, xmlNode *n, const char *what, uint64_t *seen,
		     unsigned *node, uint64_t *size)
{
	int ret = metadata_node(m, n, what, node);

	if (!ret && (*seen >> *node & 1))
		ret = gm_error_set(m->e, EINVAL, "<%s node='%u'>: given twice", what, *node);
	if (!ret)
		ret = metadata_size(m, n, what, size);
	if (!ret)
		*seen |= 1ULL << *node;
	return ret;
}

static int on_cma(struct mapping *m, xmlNode *n)
{
	unsigned node;
	uint64_t size;
	int ret = node_size(m, n, "kvmem:cma", &m->cma_seen, &node, &size);

	if (!ret)
		m->g->node[node].cma = size;
	return ret;
}

static int on_headroom(struct mapping *m, xmlNode *n)
{
	unsigned node;
	uint64_t size;
	int ret = node_size(m, n, "kvmem:headroom", &m->headroom_seen, &node, &size);

	if (!ret)
		m->g->node[node].headroom = size;
	return ret;
}

static int on_flat(struct mapping *m, xmlNode *n)
{
	char *file = prop(n, "file"), *addr = prop(n, "address");
	int ret = 0;

	if (m->g->flat)
		ret = gm_error_set(m->e, EINVAL, "<kvmem:flat>: given twice");
	else if (!file || !*file || !dom_printable(file))
		ret = gm_error_set(m->e, EINVAL, "<kvmem:flat>: needs a printable file='...'");
	else if (!addr || gm_parse_size(addr, &m->g->flat_addr))
		ret = gm_error_set(m->e, EINVAL, "<kvmem:flat address='%.40s'>: a guest-physical address like 0x100000",
				   addr ? addr : "");
	else if (!(m->g->flat = strdup(file)))
		ret = gm_error_set(m->e, ENOMEM, "out of memory");
	xmlFree(file);
	xmlFree(addr);
	return ret;
}

/* ---- devices/disk and devices/rng ------------------------------------------- */

/*
 * A <disk> is read into the guest's next slot in document order, its
 * children fill it in; finish_disks() then puts each in the place its
 * <target dev='vdX'> names, so the guest's vdX is the disk the file says.
 */
static struct dom_disk *cur_disk(struct mapping *m)
{
	return &m->g->disk[m->g->nr_disks - 1];
}

static int on_disk(struct mapping *m, xmlNode *n)
{
	struct dom_guest *g = m->g;
	char *type, *device;
	int ret = 0;

	if (g->nr_disks == DOM_MAX_DISKS)
		return gm_error_set(m->e, EINVAL, "<devices/disk>: more than %d disks (kvmem's virtio-mmio slots)",
				    DOM_MAX_DISKS);
	type = prop(n, "type");
	device = prop(n, "device");
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

static int on_disk_driver(struct mapping *m, xmlNode *n)
{
	char *cache = prop(n, "cache");
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
static int on_disk_source(struct mapping *m, xmlNode *n)
{
	struct dom_disk *d = cur_disk(m);
	const char *key = d->block ? "dev" : "file";
	char *path = prop(n, key);
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
static int on_disk_target(struct mapping *m, xmlNode *n)
{
	char *dev = prop(n, "dev"), *bus = prop(n, "bus");
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

static int on_disk_readonly(struct mapping *m, xmlNode *n)
{
	(void)n;
	cur_disk(m)->ro = true;
	return 0;
}

/*
 * What virtio-blk's 20-byte id, --disk's serial=ID and libvirt's schema
 * all carry (so that vm/domain.xml can say it again).
 */
static int on_disk_serial(struct mapping *m, xmlNode *n)
{
	char *t = text_of(n);
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

static int on_rng(struct mapping *m, xmlNode *n)
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

static int on_vmem(struct mapping *m, xmlNode *n)
{
	(void)n;
	if (m->nr_vmem == GM_MAX_NODES)
		return gm_error_set(m->e, EINVAL, "<devices/memory>: more than %d (kvmem has one virtio-mem per node)",
				    GM_MAX_NODES);
	m->vmem[m->nr_vmem++].node = -1;
	return 0;
}

static int on_vmem_size(struct mapping *m, xmlNode *n)
{
	return size_elem(m, n, "devices/memory/target/size", &cur_vmem(m)->size);
}

static int on_vmem_block(struct mapping *m, xmlNode *n)
{
	return size_elem(m, n, "devices/memory/target/block", &cur_vmem(m)->block);
}

static int on_vmem_requested(struct mapping *m, xmlNode *n)
{
	return size_elem(m, n, "devices/memory/target/requested", &cur_vmem(m)->req);
}

static int on_vmem_node(struct mapping *m, xmlNode *n)
{
	char *t = text_of(n);
	unsigned node = 0;
	int ret = number(m, "devices/memory/target/node", t, GM_MAX_NODES - 1, &node);

	if (!ret)
		cur_vmem(m)->node = (int)node;
	xmlFree(t);
	return ret;
}

/* ---- the table ------------------------------------------------------------ */

#define KV		"metadata/kvmem:run"
#define BIND_WHY	"kvmem binds a node's memory to one host node, mbind MPOL_BIND"
#define CONSOLE_WHY	"kvmem's serial console is the terminal or a file"
#define COM1_WHY	"kvmem has one 16550A, COM1"
#define DISK_WHY	"kvmem's disks are virtio-blk on a raw image file or a block device"
/* unsafe (flushes dropped), writethrough and directsync (O_DSYNC) are not kvmem's modes */
#define DRIVER_WHY	"kvmem's disks are raw, opened O_DIRECT (none) or through the page cache (writeback), every guest flush honoured"
#define VMEM_WHY	"kvmem's memory devices are virtio-mem (--hotplug): no DIMM, NVDIMM, virtio-pmem or SGX EPC"
#define RNG_WHY		"kvmem's virtio-rng reads getrandom(2), the source of /dev/urandom and /dev/random"

static const struct dom_rule rules[] = {
	{ .path = "", .attrs = "type=kvm", .why = "kvmem runs KVM guests" },
	{ .path = "name", .text = "", .fn = on_name },
	{ .path = "uuid", .text = "", .fn = on_uuid },
	{ .path = "memory", .attrs = "unit", .text = "", .fn = on_memory },
	{ .path = "currentMemory", .attrs = "unit", .text = "", .fn = on_current },
	{ .path = "maxMemory", .attrs = "slots unit", .text = "", .fn = on_max_memory },
	{ .path = "memoryBacking" },
	{ .path = "memoryBacking/hugepages", .fn = on_hugepages },
	{ .path = "memoryBacking/hugepages/page", .attrs = "size unit nodeset", .fn = on_page },
	{ .path = "vcpu", .attrs = "placement=static", .text = "", .fn = on_vcpu,
	  .why = "vCPUs are threads kvmem does not pin" },
	{ .path = "numatune" },
	{ .path = "numatune/memory", .attrs = "mode=strict nodeset placement=static",
	  .fn = on_numatune_memory, .why = BIND_WHY },
	{ .path = "numatune/memnode", .attrs = "cellid mode=strict nodeset", .fn = on_memnode,
	  .why = BIND_WHY },
	{ .path = "os" },
	{ .path = "os/type", .attrs = "arch=x86_64", .text = "hvm",
	  .why = "kvmem runs x86-64 guests" },
	{ .path = "os/kernel", .text = "", .fn = on_kernel },
	{ .path = "os/initrd", .text = "", .fn = on_initrd },
	{ .path = "os/cmdline", .text = "", .fn = on_cmdline },
	{ .path = "os/boot", .attrs = "dev=hd", .why = "kvmem boots <os><kernel> directly" },
	{ .path = "features" },
	{ .path = "features/acpi" },
	{ .path = "features/apic" },
	{ .path = "features/pae" },
	{ .path = "cpu", .attrs = "mode=host-passthrough",
	  .why = "the guest gets KVM's supported CPUID, as with host-passthrough" },
	{ .path = "cpu/topology", .attrs = "sockets dies cores threads", .fn = on_topology },
	{ .path = "cpu/numa" },
	{ .path = "cpu/numa/cell", .attrs = "id cpus memory unit", .fn = on_cell },
	{ .path = "cpu/numa/cell/distances", .no = "kvmem's SLIT says 10 local, 20 remote" },
	{ .path = "clock", .attrs = "offset=utc", .why = "the guest keeps its own clock" },
	{ .path = "on_poweroff", .text = "destroy", .why = "kvmem exits when the guest powers off" },
	{ .path = "on_reboot", .text = "destroy", .why = "kvmem exits when the guest resets" },
	{ .path = "on_crash", .text = "destroy", .why = "kvmem exits when the guest dies" },
	{ .path = "devices" },
	{ .path = "devices/disk", .attrs = "type=file|block device=disk", .fn = on_disk,
	  .why = DISK_WHY },
	{ .path = "devices/disk/driver", .attrs = "name=qemu type=raw cache=none|writeback|default",
	  .fn = on_disk_driver, .why = DRIVER_WHY },
	{ .path = "devices/disk/source", .attrs = "file dev", .fn = on_disk_source },
	{ .path = "devices/disk/target", .attrs = "dev bus", .fn = on_disk_target },
	{ .path = "devices/disk/readonly", .fn = on_disk_readonly },
	{ .path = "devices/disk/serial", .text = "", .fn = on_disk_serial },
	{ .path = "devices/rng", .attrs = "model=virtio", .fn = on_rng, .why = RNG_WHY },
	{ .path = "devices/rng/backend", .attrs = "model=random", .text = "/dev/urandom|/dev/random",
	  .why = RNG_WHY },
	{ .path = "devices/serial", .attrs = "type=stdio|file", .fn = on_serial, .why = CONSOLE_WHY },
	{ .path = "devices/serial/source", .attrs = "path", .fn = on_serial_source },
	{ .path = "devices/serial/target", .attrs = "type=isa-serial port=0", .why = COM1_WHY },
	{ .path = "devices/serial/target/model", .attrs = "name=isa-serial", .why = COM1_WHY },
	/* libvirt adds a console that is serial port 0 again */
	{ .path = "devices/console", .attrs = "type=stdio|file", .why = CONSOLE_WHY },
	{ .path = "devices/console/source", .attrs = "path" },
	{ .path = "devices/console/target", .attrs = "type=serial port=0",
	  .why = "the console is serial port 0" },
	{ .path = "devices/memballoon", .attrs = "model=none|virtio freePageReporting=on",
	  .fn = on_memballoon,
	  .why = "kvmem's virtio-balloon always reports free pages, and never deflates on its own" },
	{ .path = "devices/memballoon/stats",
	  .no = "kvmem asks the guest for statistics when vm/balloon/stats is read: no period" },
	{ .path = "devices/memory", .attrs = "model=virtio-mem", .fn = on_vmem, .why = VMEM_WHY },
	{ .path = "devices/memory/address",
	  .no = "kvmem's virtio-mem is a virtio-mmio device, placed by kvmem" },
	{ .path = "devices/memory/target" },
	{ .path = "devices/memory/target/size", .attrs = "unit", .text = "", .fn = on_vmem_size },
	{ .path = "devices/memory/target/node", .text = "", .fn = on_vmem_node },
	{ .path = "devices/memory/target/block", .attrs = "unit", .text = "", .fn = on_vmem_block },
	{ .path = "devices/memory/target/requested", .attrs = "unit", .text = "",
	  .fn = on_vmem_requested },
	{ .path = "metadata" },
	{ .path = KV },
	{ .path = KV "/kvmem:cma", .attrs = "node size", .fn = on_cma },
	{ .path = KV "/kvmem:headroom", .attrs = "node size", .fn = on_headroom },
	{ .path = KV "/kvmem:flat", .attrs = "file address", .fn = on_flat },
};

/* ---- what spans elements ---------------------------------------------------- */

/* The virtio-mem devices' sizes added up; UINT64_MAX past 2^64. */
static uint64_t vmem_total(const struct mapping *m)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < m->nr_vmem; i++)
		if (__builtin_add_overflow(sum, m->vmem[i].size, &sum))
			return UINT64_MAX;
	return sum;
}

/* libvirt's <memory> with memory devices is the cells plus the devices. */
static int finish_nodes(struct mapping *m)
{
	struct dom_guest *g = m->g;
	uint64_t sum = 0, total;

	if (!m->nr_cells) {
		g->nr_nodes = 1;
		g->node[0].size = m->memory;
		g->node[0].cpu_first = 0;
		g->node[0].cpu_last = (int)g->nr_cpus - 1;
	} else {
		g->nr_nodes = m->nr_cells;
		g->cells = true;
	}
	for (unsigned i = 0; i < g->nr_nodes && m->nr_cells; i++) {
		if (!m->cell_seen[i])	/* libvirt numbers cells 0..n-1 */
			return gm_error_set(m->e, EINVAL, "<cpu/numa/cell id='%u'>: missing", i);
		if (__builtin_add_overflow(sum, g->node[i].size, &sum))
			return gm_error_set(m->e, EINVAL, "<cpu/numa>: the cells add up to more than 2^64 bytes");
	}
	if (m->nr_cells && m->nr_vmem) {
		uint64_t dev = vmem_total(m);

		if (__builtin_add_overflow(sum, dev, &total) || total != m->memory)
			return gm_error_set(m->e, EINVAL,
					    "<memory unit='KiB'>%" PRIu64 "</memory>: not the NUMA cells' memory (%" PRIu64 " KiB) plus the virtio-mem devices' sizes (%" PRIu64 " KiB)",
					    m->memory >> 10, sum >> 10, dev >> 10);
	} else if (m->nr_cells && sum != m->memory) {
		return gm_error_set(m->e, EINVAL,
				    "<memory unit='KiB'>%" PRIu64 "</memory>: not the sum of the NUMA cells' memory (%" PRIu64 " KiB)",
				    m->memory >> 10, sum >> 10);
	}
	if (m->has_current && m->current != m->memory)
		return gm_error_set(m->e, EINVAL,
				    "<currentMemory unit='KiB'>%" PRIu64 "</currentMemory>: differs from <memory> (kvmem starts with an empty balloon: write vm/balloon/target)",
				    m->current >> 10);
	for (unsigned i = 0; i < g->nr_nodes; i++) {
		struct dom_node *nd = &g->node[i];

		if (!nd->size || nd->size % 4096) {
			if (m->nr_cells)
				return gm_error_set(m->e, EINVAL,
						    "<cpu/numa/cell id='%u' memory='%" PRIu64 "' unit='KiB'>: not a non-zero multiple of 4 KiB",
						    i, nd->size >> 10);
			return gm_error_set(m->e, EINVAL,
					    "<memory unit='KiB'>%" PRIu64 "</memory>: not a non-zero multiple of 4 KiB",
					    nd->size >> 10);
		}
		nd->host_node = m->memnode[i] >= 0 ? m->memnode[i] : m->all_host;
	}
	for (unsigned i = g->nr_nodes; i < GM_MAX_NODES; i++) {
		if (g->node[i].cma || g->node[i].headroom)
			return gm_error_set(m->e, EINVAL, "<kvmem:%s node='%u'>: the guest has no node %u",
					    g->node[i].cma ? "cma" : "headroom", i, i);
		if (m->memnode[i] >= 0)
			return gm_error_set(m->e, EINVAL, "<numatune/memnode cellid='%u'>: the guest has no cell %u",
					    i, i);
	}
	return 0;
}

static int finish_cpu(struct mapping *m)
{
	const unsigned *t = m->topo;
	char all[24];

	if (m->has_topo && (t[0] != m->g->nr_cpus || t[1] != 1 || t[2] != 1 || t[3] != 1))
		return gm_error_set(m->e, EINVAL,
				    "<cpu/topology sockets='%u' dies='%u' cores='%u' threads='%u'>: kvmem gives each vCPU its own socket (sockets='%u' cores='1' threads='1')",
				    t[0], t[1], t[2], t[3], m->g->nr_cpus);
	if (!m->page_nodeset)
		return 0;
	if (m->g->nr_nodes == 1)
		snprintf(all, sizeof(all), "0");
	else
		snprintf(all, sizeof(all), "0-%u", m->g->nr_nodes - 1);
	if (strcmp(m->page_nodeset, all))
		return gm_error_set(m->e, EINVAL,
				    "<memoryBacking/hugepages/page nodeset='%.40s'>: kvmem backs every node with huge pages or none (nodeset='%s')",
				    m->page_nodeset, all);
	return 0;
}

static int finish_guest(struct mapping *m)
{
	struct dom_guest *g = m->g;

	if (!g->name[0])
		return gm_error_set(m->e, EINVAL, "<name>: missing");
	if (!g->nr_cpus)
		return gm_error_set(m->e, EINVAL, "<vcpu>: missing or 0");
	if (m->serial_file && !g->console)
		return gm_error_set(m->e, EINVAL, "<devices/serial type='file'>: no <source path>");
	if (!g->kernel && !g->flat)
		return gm_error_set(m->e, EINVAL,
				    "<os/kernel>: missing (kvmem boots a Linux bzImage named by <os><kernel>, or a flat binary named in kvmem's metadata)");
	if (g->flat && (g->kernel || g->initrd || g->cmdline))
		return gm_error_set(m->e, EINVAL,
				    "<kvmem:flat>: a flat binary takes no <os><kernel>, <initrd> or <cmdline>");
	if (!g->kernel && g->initrd)
		return gm_error_set(m->e, EINVAL, "<os/initrd>: needs <os><kernel>");
	return 0;
}

/*
 * Each disk to the place its target names: the guest calls kvmem's disks
 * vda, vdb, ... in order, so the file's names must be those, with no gap.
 */
static int finish_disks(struct mapping *m)
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
static int finish_vmem(struct mapping *m)
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

int dom_map(xmlDoc *norm, xmlDoc *orig, struct dom_guest *g,
	    struct gm_error *e)
{
	struct mapping m = { .g = g, .orig = orig, .e = e, .all_host = -1 };
	struct dom_walk w = {
		.rules = rules, .nr_rules = sizeof(rules) / sizeof(rules[0]),
		.orig = orig, .m = &m, .e = e,
	};
	xmlNode *root;
	int ret;

	ret = dom_lib_load(e);
	if (ret)
		return ret;
	root = xmlDocGetRootElement(norm);
	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		m.memnode[i] = -1;
	if (!root || strcmp((const char *)root->name, "domain") || root->ns)
		return gm_error_set(e, EINVAL, "not a <domain>");
	ret = dom_walk(&w, root);
	if (!ret)
		ret = finish_nodes(&m);
	if (!ret)
		ret = finish_vmem(&m);
	if (!ret)
		ret = finish_cpu(&m);
	if (!ret)
		ret = finish_guest(&m);
	if (!ret)
		ret = finish_disks(&m);
	xmlFree(m.page_nodeset);
	return dom_one_line(e, ret);
}

/* ---- the guest ---------------------------------------------------------------- */

void dom_guest_init(struct dom_guest *g)
{
	memset(g, 0, sizeof(*g));
	for (unsigned i = 0; i < GM_MAX_NODES; i++) {
		g->node[i].host_node = -1;
		g->node[i].cpu_first = g->node[i].cpu_last = -1;
	}
}

void dom_guest_release(struct dom_guest *g)
{
	free(g->kernel);
	free(g->initrd);
	free(g->cmdline);
	free(g->flat);
	free(g->console);
	for (unsigned i = 0; i < g->nr_disks; i++)
		free(g->disk[i].path);
	dom_guest_init(g);
}
