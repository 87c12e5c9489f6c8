/* SPDX-License-Identifier: MIT */
/*
 * domain.h - libvirt domain XML in and out (design.md section 9), the public
 * interface of domain/.
 *
 * In: dom_read() hands the file to libvirt itself, in process and with no
 * daemon (the test:///default driver, VIR_DOMAIN_DEFINE_VALIDATE: libvirt's
 * RNG schema and its parser's own checks; the definition is removed again),
 * reads libvirt's normalized XML back with libxml2 and maps it into a
 * struct dom_guest through one table of the elements and attributes kvmem
 * honours (map.c). Whatever is not in the table is an error naming it,
 * never dropped; values libvirt filled in itself (its defaults) are told
 * apart from the user's by looking at the file as written. Then kvmem's
 * own checks (check.c): sizes, the host's NUMA nodes and huge page sizes,
 * files that exist.
 *
 * Out: dom_format() writes a struct dom_guest as domain XML (format.c).
 *
 * Options of kvmem with no libvirt element (CMA areas, headroom, flat
 * guests) live in <metadata> under kvmem's namespace DOM_XMLNS.
 *
 * libvirt and libxml2 are opened on first use (lib.c), not linked: a
 * process that never reads a domain never maps them; dom_format() needs
 * neither.
 *
 * No state is kept between calls; every function is thread-safe. Errors
 * are negative errno with a one-line message in the struct gm_error.
 */
#ifndef KVMEM_DOMAIN_H
#define KVMEM_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "guestmem.h"

#define DOM_XMLNS		"urn:kvmem:domain:1"
#define DOM_NAME_MAX		63	/* kvmem's vm/name */
#define DOM_UUID_LEN		36	/* 8-4-4-4-12 hex digits */

/* One guest NUMA node: a libvirt <cell>, or the whole <memory> without. */
struct dom_node {
	uint64_t size;		/* bytes */
	int host_node;		/* <numatune> strict binding, -1 for none */
	int cpu_first, cpu_last;	/* the cell's vCPUs, one range; -1 if none */
	uint64_t cma, headroom;	/* kvmem metadata, bytes (0 = none) */
	uint64_t hotplug;	/* <memory model='virtio-mem'> size: --hotplug, 0 = none */
	uint64_t hotplug_req;	/* its <requested>: --hotplug-requested */
};

/*
 * One <disk>: kvmem's --disk (virtio-blk), in the guest's order (vda
 * first). Only what kvmem honours: a raw image file or block device.
 */
#define DOM_MAX_DISKS		15	/* kvmem's virtio-mmio slots */
#define DOM_SERIAL_MAX		20	/* virtio-blk's GET_ID: 20 bytes */

enum dom_cache {
	DOM_CACHE_DEFAULT,		/* no cache=: kvmem's default */
	DOM_CACHE_NONE,			/* cache='none': O_DIRECT */
	DOM_CACHE_WRITEBACK,		/* cache='writeback': the page cache */
};

struct dom_disk {
	char *path;			/* malloc'd; never holds a comma */
	bool block;			/* type='block' (<source dev>), else 'file' */
	bool ro;			/* <readonly/> */
	enum dom_cache cache;
	char serial[DOM_SERIAL_MAX + 1];	/* <serial>, "" for none */
};

struct dom_guest {
	char name[DOM_NAME_MAX + 1];
	char uuid[DOM_UUID_LEN + 1];	/* "" unless the file gave one */
	unsigned nr_cpus;
	unsigned nr_nodes;		/* >= 1 */
	bool cells;			/* from <cpu><numa> (else one node) */
	struct dom_node node[GM_MAX_NODES];
	bool hugepages;			/* 2 MiB pages */
	bool no_balloon;		/* <memballoon model='none'>: --balloon off */
	char *kernel, *initrd, *cmdline;	/* malloc'd; NULL when absent */
	char *flat;			/* kvmem metadata: flat binary (malloc'd) */
	uint64_t flat_addr;
	char *console;			/* "stdio", a file path, or NULL (no serial) */
	struct dom_disk disk[DOM_MAX_DISKS];	/* vda, vdb, ... */
	unsigned nr_disks;
	bool rng;			/* <rng model='virtio'>: --rng */
	uint64_t hotplug_block;		/* every virtio-mem's <block>: --hotplug-block */
};

/*
 * dom_guest_init() - an empty guest: no name, no nodes, host_node and the
 * cpu range -1. dom_guest_release() frees the strings (and re-inits);
 * safe on an init'ed or released guest.
 */
void dom_guest_init(struct dom_guest *g);
void dom_guest_release(struct dom_guest *g);

/*
 * dom_read() - read the domain XML file @path into @g (init'ed here):
 * libvirt's schema and parser, then kvmem's mapping and checks. Returns 0,
 * or a negative errno with one line in @e naming the element, attribute or
 * file at fault (-EINVAL bad or unsupported XML, -ENOENT/-EACCES a file it
 * names, -ENODEV a host NUMA node or huge page size the host lacks,
 * -ENOTSUP libvirt unusable). @g is released on error.
 */
int dom_read(const char *path, struct dom_guest *g, struct gm_error *e);

/*
 * dom_read_mem() - dom_read() on the @len bytes at @xml; @label names the
 * document in messages.
 */
int dom_read_mem(const char *xml, size_t len, const char *label,
		 struct dom_guest *g, struct gm_error *e);

/*
 * dom_format() - @g as domain XML, the way vm/domain.xml shows a guest:
 * a malloc'd NUL-terminated document in *@out (caller frees). -EINVAL when
 * a string holds a control byte (no XML 1.0 document can carry it),
 * -ENOMEM. Touches nothing else.
 */
int dom_format(const struct dom_guest *g, char **out, struct gm_error *e);

#endif /* KVMEM_DOMAIN_H */
