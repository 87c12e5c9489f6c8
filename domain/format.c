// SPDX-License-Identifier: MIT
/*
 * format.c - a struct dom_guest as libvirt domain XML, in libvirt's own
 * element order and units (KiB), so that libvirt's schema accepts it and
 * dom_read() maps it back to the same guest.
 *
 * It states what kvmem does where libvirt would assume otherwise: the CPU
 * is host-passthrough with one socket per vCPU, the guest's reset, poweroff
 * and crash all end the run (destroy), the balloon reports free pages (or
 * there is none: model='none'), the serial port
 * is COM1 on the terminal (stdio) or a file, disks are raw virtio disks
 * named vda, vdb, ... in order, each hot-plug region is a <memory
 * model='virtio-mem'> on its cell (with <maxMemory>, which libvirt wants
 * beside memory devices, and a <cell> even for one node). Plain stdio writing: no
 * library state, safe from any thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* @s with XML's five special characters escaped. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

static void put_elem(FILE *f, const char *indent, const char *name,
		     const char *text)
{
	if (!text)
		return;
	fprintf(f, "%s<%s>", indent, name);
	put_escaped(f, text);
	fprintf(f, "</%s>\n", name);
}

static void put_numatune(FILE *f, const struct dom_guest *g)
{
	bool any = false;

	for (unsigned i = 0; i < g->nr_nodes; i++)
		any |= g->node[i].host_node >= 0;
	if (!any)
		return;
	fprintf(f, "  <numatune>\n");
	if (g->nr_nodes == 1)
		fprintf(f, "    <memory mode='strict' nodeset='%d'/>\n", g->node[0].host_node);
	else
		for (unsigned i = 0; i < g->nr_nodes; i++)
			if (g->node[i].host_node >= 0)
				fprintf(f, "    <memnode cellid='%u' mode='strict' nodeset='%d'/>\n",
					i, g->node[i].host_node);
	fprintf(f, "  </numatune>\n");
}

static bool has_hotplug(const struct dom_guest *g)
{
	for (unsigned i = 0; i < g->nr_nodes; i++)
		if (g->node[i].hotplug)
			return true;
	return false;
}

/* One node is a guest without NUMA cells (unless it has a virtio-mem); more are <cell>s. */
static void put_cpu(FILE *f, const struct dom_guest *g)
{
	fprintf(f, "  <cpu mode='host-passthrough'>\n"
		"    <topology sockets='%u' dies='1' cores='1' threads='1'/>\n", g->nr_cpus);
	if (g->nr_nodes > 1 || has_hotplug(g)) {	/* libvirt's memory devices need cells */
		fprintf(f, "    <numa>\n");
		for (unsigned i = 0; i < g->nr_nodes; i++) {
			const struct dom_node *nd = &g->node[i];

			fprintf(f, "      <cell id='%u'", i);
			if (nd->cpu_first == nd->cpu_last && nd->cpu_first >= 0)
				fprintf(f, " cpus='%d'", nd->cpu_first);
			else if (nd->cpu_first >= 0)
				fprintf(f, " cpus='%d-%d'", nd->cpu_first, nd->cpu_last);
			fprintf(f, " memory='%" PRIu64 "' unit='KiB'/>\n", nd->size >> 10);
		}
		fprintf(f, "    </numa>\n");
	}
	fprintf(f, "  </cpu>\n");
}

/* <disk>s in the guest's order: vda first. */
static void put_disks(FILE *f, const struct dom_guest *g)
{
	static const char *const cache[] = {
		[DOM_CACHE_NONE] = "none", [DOM_CACHE_WRITEBACK] = "writeback",
	};

	for (unsigned i = 0; i < g->nr_disks; i++) {
		const struct dom_disk *d = &g->disk[i];

		fprintf(f, "    <disk type='%s' device='disk'>\n"
			"      <driver name='qemu' type='raw'", d->block ? "block" : "file");
		if (d->cache != DOM_CACHE_DEFAULT)
			fprintf(f, " cache='%s'", cache[d->cache]);
		fprintf(f, "/>\n      <source %s='", d->block ? "dev" : "file");
		put_escaped(f, d->path);
		fprintf(f, "'/>\n      <target dev='vd%c' bus='virtio'/>\n", 'a' + i);
		if (d->ro)
			fprintf(f, "      <readonly/>\n");
		put_elem(f, "      ", "serial", d->serial[0] ? d->serial : NULL);
		fprintf(f, "    </disk>\n");
	}
}

static void put_rng(FILE *f, const struct dom_guest *g)
{
	if (g->rng)
		fprintf(f, "    <rng model='virtio'>\n"
			"      <backend model='random'>/dev/urandom</backend>\n    </rng>\n");
}

/* One virtio-mem per node with a region, asking for what the guest is asked now. */
static void put_vmem(FILE *f, const struct dom_guest *g)
{
	for (unsigned i = 0; i < g->nr_nodes; i++) {
		const struct dom_node *nd = &g->node[i];

		if (!nd->hotplug)
			continue;
		fprintf(f, "    <memory model='virtio-mem'>\n      <target>\n"
			"        <size unit='KiB'>%" PRIu64 "</size>\n"
			"        <node>%u</node>\n"
			"        <block unit='KiB'>%" PRIu64 "</block>\n"
			"        <requested unit='KiB'>%" PRIu64 "</requested>\n"
			"      </target>\n    </memory>\n",
			nd->hotplug >> 10, i, g->hotplug_block >> 10, nd->hotplug_req >> 10);
	}
}

static void put_devices(FILE *f, const struct dom_guest *g)
{
	fprintf(f, "  <devices>\n");
	put_disks(f, g);
	if (g->console && !strcmp(g->console, "stdio")) {
		fprintf(f, "    <serial type='stdio'>\n");
	} else if (g->console) {
		fprintf(f, "    <serial type='file'>\n      <source path='");
		put_escaped(f, g->console);
		fprintf(f, "'/>\n");
	}
	if (g->console)
		fprintf(f, "      <target port='0'/>\n    </serial>\n");
	if (g->no_balloon)
		fprintf(f, "    <memballoon model='none'/>\n");
	else
		fprintf(f, "    <memballoon model='virtio' freePageReporting='on'/>\n");
	put_rng(f, g);
	put_vmem(f, g);
	fprintf(f, "  </devices>\n");
}

/* kvmem's options with no libvirt element. */
static void put_metadata(FILE *f, const struct dom_guest *g)
{
	char size[GM_SIZE_STR_MAX];
	bool any = g->flat;

	for (unsigned i = 0; i < g->nr_nodes; i++)
		any |= g->node[i].cma || g->node[i].headroom;
	if (!any)
		return;
	fprintf(f, "  <metadata>\n    <kvmem:run xmlns:kvmem='" DOM_XMLNS "'>\n");
	if (g->flat) {
		fprintf(f, "      <kvmem:flat file='");
		put_escaped(f, g->flat);
		fprintf(f, "' address='0x%" PRIx64 "'/>\n", g->flat_addr);
	}
	for (unsigned i = 0; i < g->nr_nodes; i++)
		if (g->node[i].cma)
			fprintf(f, "      <kvmem:cma node='%u' size='%s'/>\n", i,
				gm_format_size(g->node[i].cma, size));
	for (unsigned i = 0; i < g->nr_nodes; i++)
		if (g->node[i].headroom)
			fprintf(f, "      <kvmem:headroom node='%u' size='%s'/>\n", i,
				gm_format_size(g->node[i].headroom, size));
	fprintf(f, "    </kvmem:run>\n  </metadata>\n");
}

static int check_strings(const struct dom_guest *g, struct gm_error *e)
{
	const struct { const char *what, *s; } str[] = {
		{ "name", g->name }, { "kernel", g->kernel }, { "initrd", g->initrd },
		{ "cmdline", g->cmdline }, { "flat binary", g->flat },
		{ "console", g->console },
	};

	for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		if (str[i].s && !dom_printable(str[i].s))
			return gm_error_set(e, EINVAL, "the %s holds a control character (not representable in XML)",
					    str[i].what);
	for (unsigned i = 0; i < g->nr_disks; i++) {
		const char *serial = g->disk[i].serial;

		if (!dom_printable(g->disk[i].path))
			return gm_error_set(e, EINVAL, "disk vd%c's path holds a control character (not representable in XML)",
					    'a' + i);
		if (serial[strspn(serial, DOM_SERIAL_CHARS)])
			return gm_error_set(e, EINVAL, "disk vd%c's serial '%s': libvirt's schema takes letters, digits and _.+- only",
					    'a' + i, serial);
	}
	return 0;
}

int dom_format(const struct dom_guest *g, char **out, struct gm_error *e)
{
	uint64_t total = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	ret = check_strings(g, e);
	if (ret)
		return ret;
	f = open_memstream(&buf, &len);
	if (!f)
		return gm_error_set(e, ENOMEM, "out of memory");
	for (unsigned i = 0; i < g->nr_nodes; i++)
		total += g->node[i].size + g->node[i].hotplug;

	fprintf(f, "<domain type='kvm'>\n");
	put_elem(f, "  ", "name", g->name);
	if (g->uuid[0])
		put_elem(f, "  ", "uuid", g->uuid);
	put_metadata(f, g);
	/* libvirt wants it with memory devices; slots='0' it refuses, and virtio-mem takes none */
	if (has_hotplug(g))
		fprintf(f, "  <maxMemory slots='1' unit='KiB'>%" PRIu64 "</maxMemory>\n", total >> 10);
	fprintf(f, "  <memory unit='KiB'>%" PRIu64 "</memory>\n", total >> 10);
	fprintf(f, "  <currentMemory unit='KiB'>%" PRIu64 "</currentMemory>\n", total >> 10);
	if (g->hugepages)
		fprintf(f, "  <memoryBacking>\n    <hugepages>\n"
			"      <page size='2048' unit='KiB'/>\n    </hugepages>\n  </memoryBacking>\n");
	fprintf(f, "  <vcpu placement='static'>%u</vcpu>\n", g->nr_cpus);
	put_numatune(f, g);
	fprintf(f, "  <os>\n    <type arch='x86_64'>hvm</type>\n");
	put_elem(f, "    ", "kernel", g->kernel);
	put_elem(f, "    ", "initrd", g->initrd);
	put_elem(f, "    ", "cmdline", g->cmdline);
	fprintf(f, "  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
	put_cpu(f, g);
	fprintf(f, "  <clock offset='utc'/>\n"
		"  <on_poweroff>destroy</on_poweroff>\n"
		"  <on_reboot>destroy</on_reboot>\n"
		"  <on_crash>destroy</on_crash>\n");
	put_devices(f, g);
	fprintf(f, "</domain>\n");
	if (fclose(f) || !buf) {
		free(buf);
		return gm_error_set(e, ENOMEM, "out of memory");
	}
	*out = buf;
	return 0;
}
