// SPDX-License-Identifier: MIT
/*
 * map.c - libvirt's normalized domain XML to a struct dom_guest, through one
 * table of the elements kvmem honours.
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
 * Handlers read one element into the guest or the walk; what spans several
 * elements (cells against <memory>, the topology, kernel or flat binary) is
 * checked at the end, in finish().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PATH_MAX_LEN	128

struct walk {
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
	bool serial;			/* one serial port seen */
	uint64_t cma_seen, headroom_seen;	/* bit per node */
};

struct rule {
	const char *path;	/* below <domain>; "" is <domain> itself */
	const char *attrs;	/* those kvmem reads: "a b=x|y" (b only x or y) */
	const char *text;	/* NULL none, "" any, "x|y" only those */
	int (*fn)(struct walk *w, xmlNode *n);
	const char *why;	/* what kvmem does instead, for messages */
	const char *no;		/* not supported: why */
};

/* ---- helpers ------------------------------------------------------------ */

static char *prop(xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* The element's own text (its text children), malloc'd, never NULL. */
static char *text_of(xmlNode *n)
{
	char *t = (char *)xmlNodeGetContent(n);

	return t ? t : (char *)xmlStrdup((const xmlChar *)"");
}

static bool blank(const char *s)
{
	return !s[strspn(s, " \t\r\n")];
}

/* Is @v one of the '|'-separated values of @list (@len bytes)? */
static bool one_of(const char *list, size_t len, const char *v)
{
	size_t vl = strlen(v);

	while (len) {
		size_t l = strcspn(list, "|");

		if (l > len)
			l = len;
		if (l == vl && !strncmp(list, v, l))
			return true;
		list += l;
		len -= l;
		if (len) {
			list++;
			len--;
		}
	}
	return false;
}

/*
 * The element of the user's document at @n's place (same names, same index
 * among same-named siblings), or NULL if the user did not write it.
 */
static xmlNode *in_orig(struct walk *w, xmlNode *n)
{
	xmlNode *o;
	unsigned idx = 0;

	if (!n->parent || n->parent->type != XML_ELEMENT_NODE)
		return xmlDocGetRootElement(w->orig);
	o = in_orig(w, n->parent);
	if (!o)
		return NULL;
	for (xmlNode *s = n->prev; s; s = s->prev)
		if (s->type == XML_ELEMENT_NODE && xmlStrEqual(s->name, n->name))
			idx++;
	for (o = o->children; o; o = o->next)
		if (o->type == XML_ELEMENT_NODE && xmlStrEqual(o->name, n->name) && !idx--)
			return o;
	return NULL;
}

static bool user_wrote(struct walk *w, xmlNode *n, const char *attr)
{
	xmlNode *o = in_orig(w, n);

	return o && (!attr || xmlHasProp(o, (const xmlChar *)attr));
}

/* A size: @value in @unit, which libvirt normalizes to KiB. */
static int kib(struct walk *w, const char *what, const char *value,
	       const char *unit, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' ||
	    (unit && strcmp(unit, "KiB")) || v > UINT64_MAX / 1024)
		return gm_error_set(w->e, EINVAL, "<%s>: size '%.40s' unit '%.10s' (libvirt writes KiB)",
				    what, value, unit ? unit : "");
	*out = v * 1024;
	return 0;
}

/* Element text or attribute @v as a number in [0, @max]. */
static int number(struct walk *w, const char *what, const char *v,
		  unsigned long max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		return gm_error_set(w->e, EINVAL, "<%s>: '%.40s' is not a number from 0 to %lu",
				    what, v, max);
	*out = n;
	return 0;
}

/* A host nodeset kvmem can bind to: one node. */
static int one_host_node(struct walk *w, const char *what, const char *set,
			 int *out)
{
	unsigned h;

	if (!set)
		return gm_error_set(w->e, EINVAL, "<%s>: no nodeset (kvmem binds to one host node)",
				    what);
	if (number(w, what, set, GM_MAX_NODES * 16, &h))
		return gm_error_set(w->e, EINVAL, "<%s nodeset='%.40s'>: kvmem binds a node to one host node",
				    what, set);
	*out = (int)h;
	return 0;
}

static int dup_text(struct walk *w, xmlNode *n, const char *what, char **out)
{
	char *t = text_of(n);

	if (!dom_printable(t)) {
		xmlFree(t);
		return gm_error_set(w->e, EINVAL, "<%s>: holds a control character", what);
	}
	free(*out);
	*out = strdup(t);
	xmlFree(t);
	return *out ? 0 : gm_error_set(w->e, ENOMEM, "out of memory");
}

/* ---- handlers, one per element (in document order) ---------------------- */

static int on_name(struct walk *w, xmlNode *n)
{
	char *t = text_of(n);
	int ret = 0;

	if (strlen(t) > DOM_NAME_MAX || !dom_printable(t))
		ret = gm_error_set(w->e, EINVAL, "<name>%.40s</name>: kvmem takes 1 to %d printable characters",
				   t, DOM_NAME_MAX);
	else
		snprintf(w->g->name, sizeof(w->g->name), "%s", t);
	xmlFree(t);
	return ret;
}

/* libvirt makes up a uuid when there is none; only the user's is kept. */
static int on_uuid(struct walk *w, xmlNode *n)
{
	char *t;
	int ret;

	if (!user_wrote(w, n, NULL))
		return 0;
	t = text_of(n);
	ret = strlen(t) == DOM_UUID_LEN && strspn(t, "0123456789abcdefABCDEF-") == DOM_UUID_LEN ? 0 :
	      gm_error_set(w->e, EINVAL, "<uuid>%.40s</uuid>: not a uuid", t);
	if (!ret)
		snprintf(w->g->uuid, sizeof(w->g->uuid), "%s", t);
	xmlFree(t);
	return ret;
}

static int size_elem(struct walk *w, xmlNode *n, const char *what, uint64_t *out)
{
	char *t = text_of(n), *unit = prop(n, "unit");
	int ret = kib(w, what, t, unit, out);

	xmlFree(t);
	xmlFree(unit);
	return ret;
}

static int on_memory(struct walk *w, xmlNode *n)
{
	return size_elem(w, n, "memory", &w->memory);
}

static int on_current(struct walk *w, xmlNode *n)
{
	w->has_current = true;
	return size_elem(w, n, "currentMemory", &w->current);
}

static int on_hugepages(struct walk *w, xmlNode *n)
{
	(void)n;
	w->g->hugepages = true;
	return 0;
}

static int on_page(struct walk *w, xmlNode *n)
{
	char *size = prop(n, "size"), *unit = prop(n, "unit");
	uint64_t bytes = 0;
	int ret;

	ret = kib(w, "memoryBacking/hugepages/page", size ? size : "", unit, &bytes);
	if (!ret && bytes != 2ULL << 20)
		ret = gm_error_set(w->e, EINVAL,
				   "<memoryBacking/hugepages/page size='%.20s' unit='KiB'>: kvmem backs guests with 2 MiB pages only (size='2048' unit='KiB')",
				   size);
	xmlFree(size);
	xmlFree(unit);
	if (!ret) {
		xmlFree(w->page_nodeset);
		w->page_nodeset = prop(n, "nodeset");
	}
	return ret;
}

static int on_vcpu(struct walk *w, xmlNode *n)
{
	char *t = text_of(n);
	int ret = number(w, "vcpu", t, 1UL << 16, &w->g->nr_cpus);

	xmlFree(t);
	return ret;
}

static int on_numatune_memory(struct walk *w, xmlNode *n)
{
	char *set = prop(n, "nodeset");
	int ret = one_host_node(w, "numatune/memory", set, &w->all_host);

	xmlFree(set);
	return ret;
}

static int on_memnode(struct walk *w, xmlNode *n)
{
	char *set = prop(n, "nodeset"), *id = prop(n, "cellid");
	unsigned cell = 0;
	int ret;

	ret = number(w, "numatune/memnode cellid", id ? id : "", GM_MAX_NODES - 1, &cell);
	if (!ret)
		ret = one_host_node(w, "numatune/memnode", set, &w->memnode[cell]);
	xmlFree(set);
	xmlFree(id);
	return ret;
}

static int on_kernel(struct walk *w, xmlNode *n)
{
	return dup_text(w, n, "os/kernel", &w->g->kernel);
}

static int on_initrd(struct walk *w, xmlNode *n)
{
	return dup_text(w, n, "os/initrd", &w->g->initrd);
}

static int on_cmdline(struct walk *w, xmlNode *n)
{
	return dup_text(w, n, "os/cmdline", &w->g->cmdline);
}

static int on_topology(struct walk *w, xmlNode *n)
{
	static const char *const key[4] = { "sockets", "dies", "cores", "threads" };

	w->has_topo = true;
	for (unsigned i = 0; i < 4; i++) {
		char *v = prop(n, key[i]);
		int ret;

		w->topo[i] = 1;
		ret = v ? number(w, "cpu/topology", v, 1UL << 16, &w->topo[i]) : 0;
		xmlFree(v);
		if (ret)
			return ret;
	}
	return 0;
}

/* cpus='A' or 'A-B': kvmem puts each node's vCPUs in one block. */
static int cell_cpus(struct walk *w, unsigned id, const char *cpus,
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
		return gm_error_set(w->e, EINVAL,
				    "<cpu/numa/cell id='%u' cpus='%.40s'>: kvmem needs each cell's vCPUs as one range",
				    id, cpus);
	nd->cpu_first = (int)a;
	nd->cpu_last = (int)b;
	return 0;
}

static int on_cell(struct walk *w, xmlNode *n)
{
	char *id = prop(n, "id"), *cpus = prop(n, "cpus");
	char *mem = prop(n, "memory"), *unit = prop(n, "unit");
	unsigned cell = 0;
	int ret;

	ret = number(w, "cpu/numa/cell id", id ? id : "", GM_MAX_NODES - 1, &cell);
	if (!ret && w->cell_seen[cell])
		ret = gm_error_set(w->e, EINVAL, "<cpu/numa/cell id='%u'>: given twice", cell);
	if (!ret)
		ret = kib(w, "cpu/numa/cell", mem ? mem : "", unit, &w->g->node[cell].size);
	if (!ret)
		ret = cell_cpus(w, cell, cpus, &w->g->node[cell]);
	if (!ret) {
		w->cell_seen[cell] = true;
		w->nr_cells++;
	}
	xmlFree(id);
	xmlFree(cpus);
	xmlFree(mem);
	xmlFree(unit);
	return ret;
}

static int on_serial(struct walk *w, xmlNode *n)
{
	char *type = prop(n, "type");
	int ret = 0;

	if (w->serial)
		ret = gm_error_set(w->e, EINVAL, "<devices/serial>: a second serial port (kvmem has one, COM1)");
	else if (type && !strcmp(type, "stdio") && !(w->g->console = strdup("stdio")))
		ret = gm_error_set(w->e, ENOMEM, "out of memory");
	w->serial = true;
	xmlFree(type);
	return ret;
}

/* <serial type='file'><source path='FILE'/>: the console goes to FILE. */
static int on_serial_source(struct walk *w, xmlNode *n)
{
	char *path = prop(n, "path");
	int ret = 0;

	if (!path || !*path || !dom_printable(path))
		ret = gm_error_set(w->e, EINVAL, "<devices/serial/source>: needs a printable path");
	else if (!w->g->console && !(w->g->console = strdup(path)))
		ret = gm_error_set(w->e, ENOMEM, "out of memory");
	xmlFree(path);
	return ret;
}

static int metadata_node(struct walk *w, xmlNode *n, const char *what,
			 unsigned *node)
{
	char *v = prop(n, "node");
	int ret = number(w, what, v ? v : "", GM_MAX_NODES - 1, node);

	xmlFree(v);
	return ret;
}

static int metadata_size(struct walk *w, xmlNode *n, const char *what,
			 uint64_t *out)
{
	char *v = prop(n, "size");
	int ret = 0;

	if (!v || gm_parse_size(v, out))
		ret = gm_error_set(w->e, EINVAL, "<%s size='%.40s'>: a size like 64M", what,
				   v ? v : "");
	xmlFree(v);
	return ret;
}

/* <kvmem:cma> or <kvmem:headroom>: one per node. */
static int node_size(struct walk *w, xmlNode *n, const char *what, uint64_t *seen,
		     unsigned *node, uint64_t *size)
{
	int ret = metadata_node(w, n, what, node);

	if (!ret && (*seen >> *node & 1))
		ret = gm_error_set(w->e, EINVAL, "<%s node='%u'>: given twice", what, *node);
	if (!ret)
		ret = metadata_size(w, n, what, size);
	if (!ret)
		*seen |= 1ULL << *node;
	return ret;
}

static int on_cma(struct walk *w, xmlNode *n)
{
	unsigned node;
	uint64_t size;
	int ret = node_size(w, n, "kvmem:cma", &w->cma_seen, &node, &size);

	if (!ret)
		w->g->node[node].cma = size;
	return ret;
}

static int on_headroom(struct walk *w, xmlNode *n)
{
	unsigned node;
	uint64_t size;
	int ret = node_size(w, n, "kvmem:headroom", &w->headroom_seen, &node, &size);

	if (!ret)
		w->g->node[node].headroom = size;
	return ret;
}

static int on_flat(struct walk *w, xmlNode *n)
{
	char *file = prop(n, "file"), *addr = prop(n, "address");
	int ret = 0;

	if (w->g->flat)
		ret = gm_error_set(w->e, EINVAL, "<kvmem:flat>: given twice");
	else if (!file || !*file || !dom_printable(file))
		ret = gm_error_set(w->e, EINVAL, "<kvmem:flat>: needs a printable file='...'");
	else if (!addr || gm_parse_size(addr, &w->g->flat_addr))
		ret = gm_error_set(w->e, EINVAL, "<kvmem:flat address='%.40s'>: a guest-physical address like 0x100000",
				   addr ? addr : "");
	else if (!(w->g->flat = strdup(file)))
		ret = gm_error_set(w->e, ENOMEM, "out of memory");
	xmlFree(file);
	xmlFree(addr);
	return ret;
}

/* ---- the table ------------------------------------------------------------ */

#define KV		"metadata/kvmem:run"
#define BIND_WHY	"kvmem binds a node's memory to one host node, mbind MPOL_BIND"
#define CONSOLE_WHY	"kvmem's serial console is the terminal or a file"
#define COM1_WHY	"kvmem has one 16550A, COM1"

static const struct rule rules[] = {
	{ .path = "", .attrs = "type=kvm", .why = "kvmem runs KVM guests" },
	{ .path = "name", .text = "", .fn = on_name },
	{ .path = "uuid", .text = "", .fn = on_uuid },
	{ .path = "memory", .attrs = "unit", .text = "", .fn = on_memory },
	{ .path = "currentMemory", .attrs = "unit", .text = "", .fn = on_current },
	{ .path = "maxMemory", .no = "kvmem has no memory hot-plug (virtio-mem) yet" },
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
	{ .path = "devices/serial", .attrs = "type=stdio|file", .fn = on_serial, .why = CONSOLE_WHY },
	{ .path = "devices/serial/source", .attrs = "path", .fn = on_serial_source },
	{ .path = "devices/serial/target", .attrs = "type=isa-serial port=0", .why = COM1_WHY },
	{ .path = "devices/serial/target/model", .attrs = "name=isa-serial", .why = COM1_WHY },
	/* libvirt adds a console that is serial port 0 again */
	{ .path = "devices/console", .attrs = "type=stdio|file", .why = CONSOLE_WHY },
	{ .path = "devices/console/source", .attrs = "path" },
	{ .path = "devices/console/target", .attrs = "type=serial port=0",
	  .why = "the console is serial port 0" },
	{ .path = "devices/memballoon", .attrs = "model=none",
	  .why = "kvmem has no virtio-balloon device yet" },
	{ .path = "devices/disk", .no = "kvmem has no virtio-blk device yet" },
	{ .path = "devices/memory", .no = "kvmem has no virtio-mem device yet" },
	{ .path = "metadata" },
	{ .path = KV },
	{ .path = KV "/kvmem:cma", .attrs = "node size", .fn = on_cma },
	{ .path = KV "/kvmem:headroom", .attrs = "node size", .fn = on_headroom },
	{ .path = KV "/kvmem:flat", .attrs = "file address", .fn = on_flat },
};

static const struct rule *find_rule(const char *path)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].path, path))
			return &rules[i];
	return NULL;
}

/* The spec of attribute @name in @attrs ("a b=x|y"): its values, or NULL. */
static const char *attr_spec(const char *attrs, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (const char *p = attrs; p && *p;) {
		size_t l = strcspn(p, " ");
		size_t kl = strcspn(p, " =");

		if (kl == nl && !strncmp(p, name, nl)) {
			*vlen = l > kl ? l - kl - 1 : 0;
			return l > kl ? p + kl + 1 : p + kl;
		}
		p += l;
		p += strspn(p, " ");
	}
	return NULL;
}

/* ---- the walk ------------------------------------------------------------- */

/* "a|b" as "a' or 'b" (between the caller's quotes). */
static const char *alternatives(const char *list, size_t len, char buf[96])
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < 96; i++)
		if (list[i] == '|')
			o += snprintf(buf + o, 96 - o, "' or '");
		else
			buf[o++] = list[i];
	buf[o] = '\0';
	return buf;
}

static const char *shown(const char *path)
{
	return *path ? path : "domain";
}

static int check_attrs(struct walk *w, const struct rule *r, xmlNode *n,
		       const char *path)
{
	for (xmlAttr *a = n->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		char *v = prop(n, name);
		size_t vlen = 0;
		char alt[96];
		const char *spec = r->attrs ? attr_spec(r->attrs, name, &vlen) : NULL;
		int ret = 0;

		if (!spec || a->ns)
			ret = gm_error_set(w->e, EINVAL, "<%s %.30s='%.60s'>: attribute not supported by kvmem",
					   shown(path), name, v ? v : "");
		else if (vlen && !one_of(spec, vlen, v ? v : "") && user_wrote(w, n, name))
			ret = gm_error_set(w->e, EINVAL, "<%s %.30s='%.60s'>: kvmem supports %s='%s' only (%s)",
					   shown(path), name, v ? v : "", name,
					   alternatives(spec, vlen, alt), r->why ? r->why : "");
		xmlFree(v);
		if (ret)
			return ret;
	}
	return 0;
}

/* The element's direct text (not its children's), malloc'd, or NULL. */
static char *own_text(xmlNode *n)
{
	char *t = NULL;

	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			continue;
		t = (char *)xmlStrcat((xmlChar *)t, c->content ? c->content : (const xmlChar *)"");
	}
	return t;
}

static int check_text(struct walk *w, const struct rule *r, xmlNode *n,
		      const char *path)
{
	char *t = own_text(n);
	int ret = 0;

	if (!t)
		return 0;
	if (!r->text && !blank(t))
		ret = gm_error_set(w->e, EINVAL, "<%s>: unexpected text '%.40s'", shown(path), t);
	else if (r->text && *r->text && !one_of(r->text, strlen(r->text), t) &&
		 user_wrote(w, n, NULL))
		ret = gm_error_set(w->e, EINVAL, "<%s>%.40s</%s>: kvmem supports %s only (%s)",
				   path, t, path, r->text, r->why ? r->why : "");
	xmlFree(t);
	return ret;
}

static int walk(struct walk *w, xmlNode *n, const char *path)
{
	const struct rule *r = find_rule(path);
	int ret;

	if (!r)
		return gm_error_set(w->e, EINVAL, "<%s>: not supported by kvmem", path);
	if (r->no)
		return gm_error_set(w->e, EINVAL, "<%s>: not supported by kvmem (%s)", path, r->no);
	ret = check_attrs(w, r, n, path);
	if (!ret)
		ret = check_text(w, r, n, path);
	if (!ret && r->fn)
		ret = r->fn(w, n);
	for (xmlNode *c = n->children; !ret && c; c = c->next) {
		char sub[PATH_MAX_LEN];
		bool ours = c->ns && c->ns->href && !strcmp((const char *)c->ns->href, DOM_XMLNS);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns && !ours)
			return gm_error_set(w->e, EINVAL, "<%s%s%.40s>: not supported by kvmem (namespace %.80s)",
					    path, *path ? "/" : "", (const char *)c->name,
					    (const char *)c->ns->href);
		if (snprintf(sub, sizeof(sub), "%s%s%s%s", path, *path ? "/" : "",
			     ours ? "kvmem:" : "", (const char *)c->name) >= (int)sizeof(sub))
			return gm_error_set(w->e, EINVAL, "<%.60s...>: not supported by kvmem", sub);
		ret = walk(w, c, sub);
	}
	return ret;
}

/* ---- what spans elements ---------------------------------------------------- */

static int finish_nodes(struct walk *w)
{
	struct dom_guest *g = w->g;
	uint64_t sum = 0;

	if (!w->nr_cells) {
		g->nr_nodes = 1;
		g->node[0].size = w->memory;
		g->node[0].cpu_first = 0;
		g->node[0].cpu_last = (int)g->nr_cpus - 1;
	} else {
		g->nr_nodes = w->nr_cells;
		g->cells = true;
	}
	for (unsigned i = 0; i < g->nr_nodes; i++) {
		if (!w->nr_cells)
			break;
		if (!w->cell_seen[i])	/* libvirt numbers cells 0..n-1 */
			return gm_error_set(w->e, EINVAL, "<cpu/numa/cell id='%u'>: missing", i);
		sum += g->node[i].size;
	}
	if (w->nr_cells && sum != w->memory)
		return gm_error_set(w->e, EINVAL,
				    "<memory unit='KiB'>%" PRIu64 "</memory>: not the sum of the NUMA cells' memory (%" PRIu64 " KiB)",
				    w->memory >> 10, sum >> 10);
	if (w->has_current && w->current != w->memory)
		return gm_error_set(w->e, EINVAL,
				    "<currentMemory unit='KiB'>%" PRIu64 "</currentMemory>: differs from <memory> (kvmem has no virtio-balloon device yet)",
				    w->current >> 10);
	for (unsigned i = 0; i < g->nr_nodes; i++) {
		struct dom_node *nd = &g->node[i];

		if (!nd->size || nd->size % 4096) {
			if (w->nr_cells)
				return gm_error_set(w->e, EINVAL,
						    "<cpu/numa/cell id='%u' memory='%" PRIu64 "' unit='KiB'>: not a non-zero multiple of 4 KiB",
						    i, nd->size >> 10);
			return gm_error_set(w->e, EINVAL,
					    "<memory unit='KiB'>%" PRIu64 "</memory>: not a non-zero multiple of 4 KiB",
					    nd->size >> 10);
		}
		nd->host_node = w->memnode[i] >= 0 ? w->memnode[i] : w->all_host;
	}
	for (unsigned i = g->nr_nodes; i < GM_MAX_NODES; i++)
		if (g->node[i].cma || g->node[i].headroom)
			return gm_error_set(w->e, EINVAL, "<kvmem:%s node='%u'>: the guest has no node %u",
					    g->node[i].cma ? "cma" : "headroom", i, i);
	return 0;
}

static int finish_cpu(struct walk *w)
{
	const unsigned *t = w->topo;
	char all[24];

	if (w->has_topo && (t[0] != w->g->nr_cpus || t[1] != 1 || t[2] != 1 || t[3] != 1))
		return gm_error_set(w->e, EINVAL,
				    "<cpu/topology sockets='%u' dies='%u' cores='%u' threads='%u'>: kvmem gives each vCPU its own socket (sockets='%u' cores='1' threads='1')",
				    t[0], t[1], t[2], t[3], w->g->nr_cpus);
	if (!w->page_nodeset)
		return 0;
	if (w->g->nr_nodes == 1)
		snprintf(all, sizeof(all), "0");
	else
		snprintf(all, sizeof(all), "0-%u", w->g->nr_nodes - 1);
	if (strcmp(w->page_nodeset, all))
		return gm_error_set(w->e, EINVAL,
				    "<memoryBacking/hugepages/page nodeset='%.40s'>: kvmem backs every node with huge pages or none (nodeset='%s')",
				    w->page_nodeset, all);
	return 0;
}

static int finish_boot(struct walk *w)
{
	struct dom_guest *g = w->g;

	if (!g->name[0])
		return gm_error_set(w->e, EINVAL, "<name>: missing");
	if (!g->nr_cpus)
		return gm_error_set(w->e, EINVAL, "<vcpu>: missing or 0");

	if (!g->kernel && !g->flat)
		return gm_error_set(w->e, EINVAL,
				    "<os/kernel>: missing (kvmem boots a Linux bzImage named by <os><kernel>, or a flat binary named in kvmem's metadata)");
	if (g->flat && (g->kernel || g->initrd || g->cmdline))
		return gm_error_set(w->e, EINVAL,
				    "<kvmem:flat>: a flat binary takes no <os><kernel>, <initrd> or <cmdline>");
	if (!g->kernel && g->initrd)
		return gm_error_set(w->e, EINVAL, "<os/initrd>: needs <os><kernel>");
	return 0;
}

int dom_map(xmlDoc *norm, xmlDoc *orig, struct dom_guest *g,
	    struct gm_error *e)
{
	struct walk w = { .g = g, .orig = orig, .e = e, .all_host = -1 };
	xmlNode *root = xmlDocGetRootElement(norm);
	int ret;

	for (unsigned i = 0; i < GM_MAX_NODES; i++)
		w.memnode[i] = -1;
	if (!root || strcmp((const char *)root->name, "domain") || root->ns)
		return gm_error_set(e, EINVAL, "not a <domain>");
	ret = walk(&w, root, "");
	if (!ret)
		ret = finish_nodes(&w);
	if (!ret)
		ret = finish_cpu(&w);
	if (!ret)
		ret = finish_boot(&w);
	xmlFree(w.page_nodeset);
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
	dom_guest_init(g);
}
