// SPDX-License-Identifier: MIT
/*
 * fuzz_domain.c - the domain XML mapper (domain/map*.c, dom_map()) on mutated
 * documents, and a few of them through libvirt too (dom_read_mem()).
 *
 * Seed documents shaped like libvirt's normalized output (every row of the
 * element table used, disks out of their targets' order) get 1-4 mutations each: attributes removed, added or
 * given odd values (huge, negative, empty, other units, control bytes),
 * text replaced, elements removed, duplicated, renamed, moved into another
 * parent, put in kvmem's or another namespace. The document as written is
 * sometimes the same document, sometimes a bare <domain/> (so every value
 * counts as a libvirt default).
 *
 * Every call returns 0 or a negative errno with e.err matching and a
 * non-empty one-line message. A success is sane (a kernel or a flat binary,
 * 1..64 nodes of non-zero 4 KiB multiples, printable strings) and survives
 * dom_format(): formatting it and mapping the result gives the same guest.
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * number of mutants (default 20000; 1 in 250 also goes through libvirt).
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static uint64_t cur_seed;
static unsigned long cur_iter;
static char *cur_doc;

/* libxml2 complains on stderr when it cannot write a control byte */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", mutant %lu:\n%s\n", cur_seed, cur_iter,
		cur_doc ? cur_doc : "(none)");
}

#define NS "xmlns:kvmem='urn:kvmem:domain:1'"

static const char *const seeds[] = {
	"<domain type='kvm'><name>a</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
	"<metadata><kvmem:run " NS "><kvmem:cma node='0' size='64M'/>"
	"<kvmem:headroom node='1' size='16M'/></kvmem:run></metadata>"
	"<memory unit='KiB'>1048576</memory><currentMemory unit='KiB'>1048576</currentMemory>"
	"<memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='0-1'/></hugepages></memoryBacking>"
	"<vcpu placement='static'>2</vcpu>"
	"<numatune><memory mode='strict' nodeset='0'/><memnode cellid='1' mode='strict' nodeset='0'/></numatune>"
	"<os><type arch='x86_64'>hvm</type><kernel>/k</kernel><initrd>/i</initrd>"
	"<cmdline>console=ttyS0</cmdline><boot dev='hd'/></os>"
	"<features><acpi/><apic/><pae/></features>"
	"<cpu mode='host-passthrough'><topology sockets='2' dies='1' cores='1' threads='1'/>"
	"<numa><cell id='0' cpus='0' memory='524288' unit='KiB'/>"
	"<cell id='1' cpus='1' memory='524288' unit='KiB'/></numa></cpu>"
	"<clock offset='utc'/><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>"
	"<on_crash>destroy</on_crash>"
	"<devices><serial type='file'><source path='/tmp/c'/><target type='isa-serial' port='0'>"
	"<model name='isa-serial'/></target></serial><console type='file'><source path='/tmp/c'/>"
	"<target type='serial' port='0'/></console><memballoon model='none'/>"
	"<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
	"<source file='/d.img'/><target dev='vdb' bus='virtio'/><readonly/><serial>S1</serial></disk>"
	"<disk type='block' device='disk'><source dev='/dev/sdz'/><target dev='vda' bus='virtio'/></disk>"
	"<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng></devices></domain>",

	"<domain type='kvm'><name>f</name><metadata><kvmem:run " NS ">"
	"<kvmem:flat file='/f.bin' address='0x100000'/></kvmem:run></metadata>"
	"<memory unit='KiB'>16384</memory><vcpu placement='static'>1</vcpu>"
	"<os><type arch='x86_64'>hvm</type></os><devices><serial type='stdio'><target port='0'/>"
	"</serial></devices></domain>",

	"<domain type='kvm'><name>m</name><memory unit='KiB'>262144</memory>"
	"<vcpu placement='static'>3</vcpu><os><type>hvm</type><kernel>/k</kernel></os>"
	"<cpu><numa><cell id='0' cpus='0-1' memory='131072' unit='KiB'/>"
	"<cell id='1' cpus='2' memory='65536' unit='KiB'/><cell id='2' memory='65536' unit='KiB'/>"
	"</numa></cpu><devices><disk/><memory model='virtio-mem'/></devices></domain>",

	/* virtio-mem: one region per cell, <memory> the cells plus the devices */
	"<domain type='kvm'><name>v</name><maxMemory slots='1' unit='KiB'>4194304</maxMemory>"
	"<memory unit='KiB'>1310720</memory><vcpu placement='static'>2</vcpu>"
	"<os><type>hvm</type><kernel>/k</kernel></os>"
	"<cpu><numa><cell id='0' cpus='0' memory='262144' unit='KiB'/>"
	"<cell id='1' cpus='1' memory='262144' unit='KiB'/></numa></cpu><devices>"
	"<memory model='virtio-mem'><target><size unit='KiB'>262144</size><node>0</node>"
	"<block unit='KiB'>2048</block></target></memory>"
	"<memory model='virtio-mem'><target><size unit='KiB'>524288</size><node>1</node>"
	"<block unit='KiB'>2048</block><requested unit='KiB'>131072</requested></target></memory>"
	"</devices></domain>",
};

static const char *const values[] = {
	"", "0", "1", "2", "-1", "4096", "2048", "1048576", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999", "0x10", "64M", "1P", "KiB", "MiB",
	"b", "0-1", "0,2", "1-0", "0-65535", "63", "64", "kvm", "qemu", "strict", "interleave",
	"stdio", "file", "pty", "none", "virtio", "hd", "utc", "destroy", "restart", "x86_64",
	"i686", "host-passthrough", "isa-serial", "serial", "a\nb", "\x1b[2J", "\x7f",
	"/k", "relative/path", "vda", "vdb", "vdp", "sda", "raw", "qcow2", "block", "writeback",
	"unsafe", "/dev/urandom", "virtio-mem", "dimm", "131072", "262144", "134217728", "a,b", "S 1", "123456789012345678901", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const names[] = {
	"name", "uuid", "memory", "currentMemory", "vcpu", "cell", "page", "memnode", "kernel",
	"initrd", "cmdline", "serial", "source", "target", "topology", "numa", "cpu", "os",
	"devices", "metadata", "run", "cma", "flat", "headroom", "disk", "bogus", "distances",
	"driver", "readonly", "rng", "backend", "maxMemory", "block", "requested", "node",
};

static const char *const attrs[] = {
	"type", "unit", "id", "cpus", "memory", "size", "nodeset", "cellid", "mode", "placement",
	"arch", "dev", "offset", "sockets", "dies", "cores", "threads", "port", "path", "model",
	"name", "node", "file", "address", "current", "bogus", "bus", "cache", "device", "slots",
};

#define PICK(a) (a[fz_below(sizeof(a) / sizeof(a[0]))])

/* Every element of @n's tree, in document order. */
static unsigned collect(xmlNode *n, xmlNode **out, unsigned nr, unsigned max)
{
	for (; n && nr < max; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		out[nr++] = n;
		nr = collect(n->children, out, nr, max);
	}
	return nr;
}

static void mutate(xmlDoc *doc)
{
	xmlNode *els[256], *n, *root = xmlDocGetRootElement(doc);
	unsigned nr = collect(root, els, 0, 256);

	if (!nr)
		return;
	n = els[fz_below(nr)];
	switch (fz_below(10)) {
	case 0:		/* an attribute removed */
		if (n->properties)
			xmlUnsetProp(n, n->properties->name);
		break;
	case 1:		/* an attribute set (known or not) */
	case 2:
		xmlSetProp(n, (const xmlChar *)PICK(attrs), (const xmlChar *)PICK(values));
		break;
	case 3:		/* the text replaced */
		if (n != root)
			xmlNodeSetContent(n, (const xmlChar *)PICK(values));
		break;
	case 4:		/* removed */
		if (n != root) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		break;
	case 5:		/* duplicated */
		if (n != root)
			xmlAddNextSibling(n, xmlCopyNode(n, 1));
		break;
	case 6:		/* renamed */
		xmlNodeSetName(n, (const xmlChar *)PICK(names));
		break;
	case 7: {	/* moved under another element */
		xmlNode *to = els[fz_below(nr)];
		bool inside = false;

		for (xmlNode *p = to; p; p = p->parent)
			inside |= p == n;
		if (n != root && !inside) {
			xmlUnlinkNode(n);
			xmlAddChild(to, n);
			xmlReconciliateNs(doc, n);	/* its prefix may be declared above */
		}
		break;
	}
	case 8: {	/* a new child, maybe namespaced */
		xmlNode *c = xmlNewChild(n, NULL, (const xmlChar *)PICK(names), NULL);
		unsigned k = (unsigned)fz_below(3);

		if (c && k)
			xmlSetNs(c, xmlNewNs(c, (const xmlChar *)(k == 1 ? "urn:kvmem:domain:1" : "urn:other"),
					     (const xmlChar *)"p"));
		break;
	}
	case 9:		/* a value made huge */
		xmlSetProp(n, (const xmlChar *)"memory", (const xmlChar *)"18446744073709551615");
		break;
	}
}

static void check_err(int ret, const struct gm_error *e)
{
	CHECK(ret < 0 && ret > -4096 && e->err == -ret, "ret %d, e.err %d", ret, e->err);
	CHECK(e->msg[0], "empty message");
	CHECK(!strchr(e->msg, '\n'), "message of two lines: %s", e->msg);
}

static void check_guest(const struct dom_guest *g)
{
	CHECK(!g->kernel != !g->flat, "kernel %p flat %p", (void *)g->kernel, (void *)g->flat);
	CHECK(g->nr_nodes >= 1 && g->nr_nodes <= GM_MAX_NODES, "%u nodes", g->nr_nodes);
	CHECK(g->name[0] && dom_printable(g->name), "name");
	for (unsigned i = 0; i < g->nr_nodes; i++) {
		const struct dom_node *nd = &g->node[i];

		CHECK(nd->size && !(nd->size % 4096), "node %u size %" PRIu64, i, nd->size);
		/* a region: whole 128 MiB, whole blocks asked for, at most the region */
		CHECK(!nd->hotplug || (!(nd->hotplug % GM_HOTPLUG_ALIGN) && g->hotplug_block &&
				       !(nd->hotplug_req % g->hotplug_block) &&
				       nd->hotplug_req <= nd->hotplug),
		      "node %u region %" PRIu64 " requested %" PRIu64, i, nd->hotplug, nd->hotplug_req);
	}
	for (unsigned i = g->nr_nodes; i < GM_MAX_NODES; i++)
		CHECK(!g->node[i].hotplug, "a region on node %u of %u", i, g->nr_nodes);
	const char *const str[] = { g->kernel, g->initrd, g->cmdline, g->flat, g->console, g->uuid };

	for (unsigned i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		CHECK(!str[i] || dom_printable(str[i]), "string %u with a control byte", i);
	CHECK(g->nr_disks <= DOM_MAX_DISKS, "%u disks", g->nr_disks);
	for (unsigned i = 0; i < g->nr_disks; i++) {
		const struct dom_disk *d = &g->disk[i];

		CHECK(d->path && *d->path && dom_printable(d->path) && !strchr(d->path, ','),
		      "disk %u path", i);
		CHECK(strlen(d->serial) <= DOM_SERIAL_MAX &&
		      !d->serial[strspn(d->serial, DOM_SERIAL_CHARS)], "disk %u serial", i);
	}
}

/* dom_format() of @g, mapped again, is @g. */
static void check_format(const struct dom_guest *g)
{
	struct dom_guest back;
	struct gm_error e;
	char *xml = NULL;
	xmlDoc *doc;
	int ret;

	ret = dom_format(g, &xml, &e);
	CHECK(!ret, "dom_format: %s", e.msg);
	doc = xmlReadMemory(xml, (int)strlen(xml), "formatted", NULL, XML_PARSE_NONET);
	CHECK(doc, "dom_format wrote no XML:\n%s", xml);
	dom_guest_init(&back);
	ret = dom_map(doc, doc, &back, &e);
	CHECK(!ret, "the formatted guest does not map: %s\n%s", e.msg, xml);
	CHECK(!strcmp(back.name, g->name) && !strcmp(back.uuid, g->uuid), "name/uuid");
	CHECK(back.nr_cpus == g->nr_cpus && back.nr_nodes == g->nr_nodes, "cpus/nodes\n%s", xml);
	CHECK(back.hugepages == g->hugepages && back.flat_addr == g->flat_addr, "hugepages/flat");
	CHECK(back.hotplug_block == g->hotplug_block, "hotplug block\n%s", xml);
	for (unsigned i = 0; i < g->nr_nodes; i++) {
		const struct dom_node *a = &g->node[i], *b = &back.node[i];

		CHECK(a->size == b->size && a->host_node == b->host_node && a->cma == b->cma &&
		      a->headroom == b->headroom && a->hotplug == b->hotplug &&
		      a->hotplug_req == b->hotplug_req, "node %u\n%s", i, xml);
		CHECK(g->nr_nodes == 1 || (a->cpu_first == b->cpu_first && a->cpu_last == b->cpu_last),
		      "node %u cpus\n%s", i, xml);
	}
#define SAME(f) CHECK(!g->f == !back.f && (!g->f || !strcmp(g->f, back.f)), #f)
	SAME(kernel);
	SAME(initrd);
	SAME(cmdline);
	SAME(flat);
	SAME(console);
#undef SAME
	CHECK(back.rng == g->rng && back.nr_disks == g->nr_disks, "rng/disks\n%s", xml);
	for (unsigned i = 0; i < g->nr_disks; i++) {
		const struct dom_disk *a = &g->disk[i], *b = &back.disk[i];

		CHECK(!strcmp(a->path, b->path) && a->block == b->block && a->ro == b->ro &&
		      a->cache == b->cache && !strcmp(a->serial, b->serial), "disk %u\n%s", i, xml);
	}
	dom_guest_release(&back);
	xmlFreeDoc(doc);
	free(xml);
}

int main(void)
{
	const char *env = getenv("KVMEM_FUZZ_LINES");
	unsigned long n = env && *env ? strtoul(env, NULL, 0) : FZ_SCALE(20000);
	unsigned long nr_ok = 0, nr_err = 0, nr_virt = 0;
	xmlDoc *bare = xmlReadMemory("<domain/>", 9, "bare", NULL, 0);

	struct gm_error le;

	CHECK(!dom_lib_load(&le), "%s", le.msg);
	xmlSetGenericErrorFunc(NULL, quiet);
	cur_seed = fz_seed("fuzz_domain", 20261212);
	fz_state = cur_seed;
	CHECK(bare, "bare document");
	for (cur_iter = 0; cur_iter < n; cur_iter++) {
		const char *s = seeds[fz_below(sizeof(seeds) / sizeof(seeds[0]))];
		xmlDoc *doc = xmlReadMemory(s, (int)strlen(s), "seed", NULL, 0);
		unsigned k = 1 + (unsigned)fz_below(4);
		struct dom_guest g;
		struct gm_error e;
		int size = 0, ret;

		CHECK(doc, "seed does not parse");
		for (unsigned i = 0; i < k; i++)
			mutate(doc);
		xmlDocDumpMemory(doc, (xmlChar **)&cur_doc, &size);
		dom_guest_init(&g);
		ret = dom_map(doc, fz_below(4) ? doc : bare, &g, &e);
		if (ret) {
			nr_err++;
			check_err(ret, &e);
		} else {
			nr_ok++;
			check_guest(&g);
			check_format(&g);
		}
		dom_guest_release(&g);
		/* now and then the whole way: libvirt first (files may be missing) */
		if (!fz_below(250)) {
			nr_virt++;
			ret = dom_read_mem(cur_doc, (size_t)size, "mutant", &g, &e);
			if (ret)
				check_err(ret, &e);
			else
				check_guest(&g);
			dom_guest_release(&g);
		}
		xmlFree(cur_doc);
		cur_doc = NULL;
		xmlFreeDoc(doc);
	}
	xmlFreeDoc(bare);
	printf("fuzz_domain: %lu mutants: %lu mapped, %lu refused; %lu through libvirt\n",
	       n, nr_ok, nr_err, nr_virt);
	return 0;
}
