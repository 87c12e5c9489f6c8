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
 * flat binary) is checked at the end, in the finish_*() steps. This file
 * holds the table, the readers every handler uses, the guest's own elements
 * (name, uuid, kernel, flat binary) and dom_map(); the handlers and finish
 * steps of the nodes are map-numa.c, those of the devices map-devices.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- helpers ------------------------------------------------------------ */

char *dom_prop(xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* A leaf element's text, xmlMalloc'd, never NULL. */
char *dom_text_of(xmlNode *n)
{
	char *t = (char *)xmlNodeGetContent(n);

	return t ? t : (char *)xmlStrdup((const xmlChar *)"");
}

/* A size: @value in @unit, which libvirt normalizes to KiB. */
int dom_kib(struct mapping *m, const char *what, const char *value,
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
int dom_number(struct mapping *m, const char *what, const char *v,
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

int dom_size_elem(struct mapping *m, xmlNode *n, const char *what, uint64_t *out)
{
	char *t = dom_text_of(n), *unit = dom_prop(n, "unit");
	int ret = dom_kib(m, what, t, unit, out);

	xmlFree(t);
	xmlFree(unit);
	return ret;
}

static int dup_text(struct mapping *m, xmlNode *n, const char *what, char **out)
{
	char *t = dom_text_of(n);

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
	char *t = dom_text_of(n);
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
	t = dom_text_of(n);
	ret = strlen(t) == DOM_UUID_LEN && strspn(t, "0123456789abcdefABCDEF-") == DOM_UUID_LEN ? 0 :
	      gm_error_set(m->e, EINVAL, "<uuid>%.40s</uuid>: not a uuid", t);
	if (!ret)
		snprintf(m->g->uuid, sizeof(m->g->uuid), "%s", t);
	xmlFree(t);
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

static int on_flat(struct mapping *m, xmlNode *n)
{
	char *file = dom_prop(n, "file"), *addr = dom_prop(n, "address");
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
	{ .path = "memory", .attrs = "unit", .text = "", .fn = dom_on_memory },
	{ .path = "currentMemory", .attrs = "unit", .text = "", .fn = dom_on_current },
	{ .path = "maxMemory", .attrs = "slots unit", .text = "", .fn = dom_on_max_memory },
	{ .path = "memoryBacking" },
	{ .path = "memoryBacking/hugepages", .fn = dom_on_hugepages },
	{ .path = "memoryBacking/hugepages/page", .attrs = "size unit nodeset", .fn = dom_on_page },
	{ .path = "vcpu", .attrs = "placement=static", .text = "", .fn = dom_on_vcpu,
	  .why = "vCPUs are threads kvmem does not pin" },
	{ .path = "numatune" },
	{ .path = "numatune/memory", .attrs = "mode=strict nodeset placement=static",
	  .fn = dom_on_numatune_memory, .why = BIND_WHY },
	{ .path = "numatune/memnode", .attrs = "cellid mode=strict nodeset", .fn = dom_on_memnode,
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
	{ .path = "cpu/topology", .attrs = "sockets dies cores threads", .fn = dom_on_topology },
	{ .path = "cpu/numa" },
	{ .path = "cpu/numa/cell", .attrs = "id cpus memory unit", .fn = dom_on_cell },
	{ .path = "cpu/numa/cell/distances", .no = "kvmem's SLIT says 10 local, 20 remote" },
	{ .path = "clock", .attrs = "offset=utc", .why = "the guest keeps its own clock" },
	{ .path = "on_poweroff", .text = "destroy", .why = "kvmem exits when the guest powers off" },
	{ .path = "on_reboot", .text = "destroy", .why = "kvmem exits when the guest resets" },
	{ .path = "on_crash", .text = "destroy", .why = "kvmem exits when the guest dies" },
	{ .path = "devices" },
	{ .path = "devices/disk", .attrs = "type=file|block device=disk", .fn = dom_on_disk,
	  .why = DISK_WHY },
	{ .path = "devices/disk/driver", .attrs = "name=qemu type=raw cache=none|writeback|default",
	  .fn = dom_on_disk_driver, .why = DRIVER_WHY },
	{ .path = "devices/disk/source", .attrs = "file dev", .fn = dom_on_disk_source },
	{ .path = "devices/disk/target", .attrs = "dev bus", .fn = dom_on_disk_target },
	{ .path = "devices/disk/readonly", .fn = dom_on_disk_readonly },
	{ .path = "devices/disk/serial", .text = "", .fn = dom_on_disk_serial },
	{ .path = "devices/rng", .attrs = "model=virtio", .fn = dom_on_rng, .why = RNG_WHY },
	{ .path = "devices/rng/backend", .attrs = "model=random", .text = "/dev/urandom|/dev/random",
	  .why = RNG_WHY },
	{ .path = "devices/serial", .attrs = "type=stdio|file", .fn = dom_on_serial, .why = CONSOLE_WHY },
	{ .path = "devices/serial/source", .attrs = "path", .fn = dom_on_serial_source },
	{ .path = "devices/serial/target", .attrs = "type=isa-serial port=0", .why = COM1_WHY },
	{ .path = "devices/serial/target/model", .attrs = "name=isa-serial", .why = COM1_WHY },
	/* libvirt adds a console that is serial port 0 again */
	{ .path = "devices/console", .attrs = "type=stdio|file", .why = CONSOLE_WHY },
	{ .path = "devices/console/source", .attrs = "path" },
	{ .path = "devices/console/target", .attrs = "type=serial port=0",
	  .why = "the console is serial port 0" },
	{ .path = "devices/memballoon", .attrs = "model=none|virtio freePageReporting=on",
	  .fn = dom_on_memballoon,
	  .why = "kvmem's virtio-balloon always reports free pages, and never deflates on its own" },
	{ .path = "devices/memballoon/stats",
	  .no = "kvmem asks the guest for statistics when vm/balloon/stats is read: no period" },
	{ .path = "devices/memory", .attrs = "model=virtio-mem", .fn = dom_on_vmem, .why = VMEM_WHY },
	{ .path = "devices/memory/address",
	  .no = "kvmem's virtio-mem is a virtio-mmio device, placed by kvmem" },
	{ .path = "devices/memory/target" },
	{ .path = "devices/memory/target/size", .attrs = "unit", .text = "", .fn = dom_on_vmem_size },
	{ .path = "devices/memory/target/node", .text = "", .fn = dom_on_vmem_node },
	{ .path = "devices/memory/target/block", .attrs = "unit", .text = "", .fn = dom_on_vmem_block },
	{ .path = "devices/memory/target/requested", .attrs = "unit", .text = "",
	  .fn = dom_on_vmem_requested },
	{ .path = "metadata" },
	{ .path = KV },
	{ .path = KV "/kvmem:cma", .attrs = "node size", .fn = dom_on_cma },
	{ .path = KV "/kvmem:headroom", .attrs = "node size", .fn = dom_on_headroom },
	{ .path = KV "/kvmem:flat", .attrs = "file address", .fn = on_flat },
};

/* ---- what spans elements ---------------------------------------------------- */

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
		ret = dom_finish_nodes(&m);
	if (!ret)
		ret = dom_finish_vmem(&m);
	if (!ret)
		ret = dom_finish_cpu(&m);
	if (!ret)
		ret = finish_guest(&m);
	if (!ret)
		ret = dom_finish_disks(&m);
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
