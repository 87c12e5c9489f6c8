/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the files of domain/ share: read.c (the file, libxml2
 * and libvirt) calls map.c (the element table) and host.c (what the host
 * has); map.c's table names the handlers of map-numa.c (memory, vCPUs,
 * NUMA cells) and map-devices.c (serial, disks, rng, balloon, virtio-mem).
 */
#ifndef KVMEM_DOMAIN_INTERNAL_H
#define KVMEM_DOMAIN_INTERNAL_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domain.h"

/* ---- lib.c: libvirt and libxml2, opened on first use --------------------- */

struct dom_lib {
	__typeof__(xmlNewParserCtxt) *xmlNewParserCtxt;
	__typeof__(xmlCtxtReadMemory) *xmlCtxtReadMemory;
	__typeof__(xmlCtxtGetLastError) *xmlCtxtGetLastError;
	__typeof__(xmlFreeParserCtxt) *xmlFreeParserCtxt;
	__typeof__(xmlFreeDoc) *xmlFreeDoc;
	__typeof__(xmlDocGetRootElement) *xmlDocGetRootElement;
	__typeof__(xmlGetProp) *xmlGetProp;
	__typeof__(xmlHasProp) *xmlHasProp;
	__typeof__(xmlNodeGetContent) *xmlNodeGetContent;
	__typeof__(xmlStrdup) *xmlStrdup;
	__typeof__(xmlStrcat) *xmlStrcat;
	__typeof__(xmlStrEqual) *xmlStrEqual;
	xmlFreeFunc *xmlFree;			/* a variable in libxml2 */
	__typeof__(virConnectOpen) *virConnectOpen;
	__typeof__(virConnectClose) *virConnectClose;
	__typeof__(virConnectListAllDomains) *virConnectListAllDomains;
	__typeof__(virDomainIsActive) *virDomainIsActive;
	__typeof__(virDomainDestroy) *virDomainDestroy;
	__typeof__(virDomainUndefine) *virDomainUndefine;
	__typeof__(virDomainFree) *virDomainFree;
	__typeof__(virDomainDefineXMLFlags) *virDomainDefineXMLFlags;
	__typeof__(virDomainGetXMLDesc) *virDomainGetXMLDesc;
	__typeof__(virGetLastError) *virGetLastError;
	__typeof__(virSetErrorFunc) *virSetErrorFunc;
};

extern struct dom_lib dom_lib;

/*
 * dom_lib_load() - open libxml2 and libvirt and fill dom_lib, once per
 * process (thread-safe). 0, or -ENOTSUP naming the library or symbol
 * missing. Every entry point of domain/ that parses calls it first.
 */
int dom_lib_load(struct gm_error *e);

/* The rest of domain/ calls the libraries by their own names, through dom_lib. */
#ifndef DOM_LIB_IMPL
#define xmlNewParserCtxt	(*dom_lib.xmlNewParserCtxt)
#define xmlCtxtReadMemory	(*dom_lib.xmlCtxtReadMemory)
#define xmlCtxtGetLastError	(*dom_lib.xmlCtxtGetLastError)
#define xmlFreeParserCtxt	(*dom_lib.xmlFreeParserCtxt)
#define xmlFreeDoc		(*dom_lib.xmlFreeDoc)
#define xmlDocGetRootElement	(*dom_lib.xmlDocGetRootElement)
#define xmlGetProp		(*dom_lib.xmlGetProp)
#define xmlHasProp		(*dom_lib.xmlHasProp)
#define xmlNodeGetContent	(*dom_lib.xmlNodeGetContent)
#define xmlStrdup		(*dom_lib.xmlStrdup)
#define xmlStrcat		(*dom_lib.xmlStrcat)
#define xmlStrEqual		(*dom_lib.xmlStrEqual)
#define xmlFree			(*dom_lib.xmlFree)
#define virConnectOpen		(*dom_lib.virConnectOpen)
#define virConnectClose		(*dom_lib.virConnectClose)
#define virConnectListAllDomains (*dom_lib.virConnectListAllDomains)
#define virDomainIsActive	(*dom_lib.virDomainIsActive)
#define virDomainDestroy	(*dom_lib.virDomainDestroy)
#define virDomainUndefine	(*dom_lib.virDomainUndefine)
#define virDomainFree		(*dom_lib.virDomainFree)
#define virDomainDefineXMLFlags	(*dom_lib.virDomainDefineXMLFlags)
#define virDomainGetXMLDesc	(*dom_lib.virDomainGetXMLDesc)
#define virGetLastError		(*dom_lib.virGetLastError)
#define virSetErrorFunc		(*dom_lib.virSetErrorFunc)
#endif

/* ---- walk.c: a document against a table of rules ------------------------- */

struct mapping;		/* the handlers' state (below); opaque to the walk */

struct dom_rule {
	const char *path;	/* below the root, "a/b"; "" is the root itself;
				 * "kvmem:x" an element in DOM_XMLNS */
	const char *attrs;	/* the attributes read: "a b=x|y" (b only x or y) */
	const char *text;	/* NULL none, "" any, "x|y" only those */
	int (*fn)(struct mapping *m, xmlNode *n);	/* NULL: nothing to read */
	const char *why;	/* what kvmem does instead, for refused values */
	const char *no;		/* refused outright: why */
};

struct dom_walk {
	const struct dom_rule *rules;
	size_t nr_rules;
	xmlDoc *orig;		/* the document as the user wrote it */
	struct mapping *m;	/* handed to the handlers */
	struct gm_error *e;
};

/*
 * dom_walk() - check @root's tree against @w's rules and run each
 * element's handler (parents before children, in document order). Returns
 * 0, -EINVAL with @e naming the element or attribute, or a handler's error.
 * Elements in a namespace other than DOM_XMLNS are refused.
 */
int dom_walk(const struct dom_walk *w, xmlNode *root);

/*
 * dom_user_wrote() - did the document @orig hold @n (the element at the same
 * place: same names and index among same-named siblings) and, if @attr,
 * that attribute on it?
 */
bool dom_user_wrote(xmlDoc *orig, xmlNode *n, const char *attr);

/* ---- map.c, map-numa.c, map-devices.c: libvirt's elements ------------------- */

/* What the handlers gather while the walk runs; dom_map() owns it. */
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

/*
 * The mapping's readers, map.c (@m->e gets the message on error). dom_prop()
 * and dom_text_of() return xmlMalloc'd strings (xmlFree): an attribute or
 * NULL, a leaf's text or "" (never NULL).
 */
char *dom_prop(xmlNode *n, const char *name);
char *dom_text_of(xmlNode *n);
/* dom_kib() - @value in @unit (KiB, or none) as bytes in *@out; 0 or -EINVAL. */
int dom_kib(struct mapping *m, const char *what, const char *value,
	    const char *unit, uint64_t *out);
/* dom_number() - @v as a decimal in [0, @max] in *@out; 0 or -EINVAL. */
int dom_number(struct mapping *m, const char *what, const char *v,
	       unsigned long max, unsigned *out);
/* dom_size_elem() - @n's text in its unit= as bytes in *@out; 0 or -EINVAL. */
int dom_size_elem(struct mapping *m, xmlNode *n, const char *what, uint64_t *out);

/*
 * The element handlers map.c's table names (struct dom_rule.fn): read @n
 * into @m or @m->g; 0, or -EINVAL/-ENOMEM with @m->e naming the element.
 * map-numa.c: memory, vCPUs, NUMA cells and binding, kvmem's cma/headroom.
 */
int dom_on_memory(struct mapping *m, xmlNode *n);
int dom_on_max_memory(struct mapping *m, xmlNode *n);
int dom_on_current(struct mapping *m, xmlNode *n);
int dom_on_hugepages(struct mapping *m, xmlNode *n);
int dom_on_page(struct mapping *m, xmlNode *n);
int dom_on_vcpu(struct mapping *m, xmlNode *n);
int dom_on_numatune_memory(struct mapping *m, xmlNode *n);
int dom_on_memnode(struct mapping *m, xmlNode *n);
int dom_on_topology(struct mapping *m, xmlNode *n);
int dom_on_cell(struct mapping *m, xmlNode *n);
int dom_on_cma(struct mapping *m, xmlNode *n);
int dom_on_headroom(struct mapping *m, xmlNode *n);
/* map-devices.c: the serial port, disks, rng, the balloon, virtio-mem. */
int dom_on_serial(struct mapping *m, xmlNode *n);
int dom_on_serial_source(struct mapping *m, xmlNode *n);
int dom_on_memballoon(struct mapping *m, xmlNode *n);
int dom_on_disk(struct mapping *m, xmlNode *n);
int dom_on_disk_driver(struct mapping *m, xmlNode *n);
int dom_on_disk_source(struct mapping *m, xmlNode *n);
int dom_on_disk_target(struct mapping *m, xmlNode *n);
int dom_on_disk_readonly(struct mapping *m, xmlNode *n);
int dom_on_disk_serial(struct mapping *m, xmlNode *n);
int dom_on_rng(struct mapping *m, xmlNode *n);
int dom_on_vmem(struct mapping *m, xmlNode *n);
int dom_on_vmem_size(struct mapping *m, xmlNode *n);
int dom_on_vmem_node(struct mapping *m, xmlNode *n);
int dom_on_vmem_block(struct mapping *m, xmlNode *n);
int dom_on_vmem_requested(struct mapping *m, xmlNode *n);

/*
 * The finish steps dom_map() runs after the walk, in this order: what spans
 * elements, checked and completed into @m->g; 0 or -EINVAL with @m->e set.
 * dom_finish_nodes() sizes and binds the nodes (cells against <memory>),
 * dom_finish_vmem() places the virtio-mem devices on them (map-devices.c),
 * dom_finish_cpu() checks the topology and the huge page nodeset,
 * dom_finish_disks() puts each disk in the slot its target names.
 */
int dom_finish_nodes(struct mapping *m);
int dom_finish_vmem(struct mapping *m);
int dom_finish_cpu(struct mapping *m);
int dom_finish_disks(struct mapping *m);

/* ---- map.c, host.c, read.c ---------------------------------------------------- */

/*
 * dom_map() - map libvirt's normalized document @norm into @g (init'ed by
 * the caller) through the element table, then check what spans elements
 * (sizes, cells against <memory>, the topology, kernel or flat binary).
 * @orig is the document as the user wrote it: a value kvmem cannot honour
 * is accepted when the user did not write it (libvirt's own default).
 * Returns 0 or -EINVAL with @e naming the element or attribute.
 */
int dom_map(xmlDoc *norm, xmlDoc *orig, struct dom_guest *g,
	    struct gm_error *e);

/*
 * dom_check_host() - what @g asks of the host: the files it names exist and
 * are readable regular files (-ENOENT, -EACCES, -EINVAL), its host NUMA
 * nodes exist and 2 MiB huge pages are a size the host has (-ENODEV), its
 * disks are files or block devices as their type says, writable unless
 * read-only, each once (-ENOENT, -EACCES, -EROFS, -EINVAL). Reads /sys;
 * changes nothing.
 */
int dom_check_host(const struct dom_guest *g, struct gm_error *e);

/*
 * A disk serial's characters: libvirt's schema (diskSerial) takes these and
 * space, kvmem's --disk serial=ID takes any printable but space and comma.
 */
#define DOM_SERIAL_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-"

/* dom_printable() - true if @s holds no control byte (< 0x20, 0x7f). */
bool dom_printable(const char *s);

/*
 * dom_one_line() - show the control bytes of @e's message as '?': messages
 * quote the document's values, and must stay one printable line. Returns
 * @ret.
 */
int dom_one_line(struct gm_error *e, int ret);

#endif /* KVMEM_DOMAIN_INTERNAL_H */
