// SPDX-License-Identifier: MIT
/*
 * map-numa.c - the guest's shape in domain XML: <memory>, <currentMemory>,
 * <maxMemory>, huge pages, <vcpu> and <cpu><topology>, the NUMA cells and
 * <numatune>, kvmem's per-node CMA areas and headroom (<metadata>); then
 * what spans them: the cells against <memory>, every node's size and host
 * binding, the topology and the huge page nodeset.
 *
 * The element handlers of map.c's table for these rows (struct dom_rule.fn)
 * and the finish steps dom_map() runs after the walk. Apart from map.c
 * because the nodes are a concept of their own: libvirt says them in four
 * places (<memory>, <cpu><numa>, <numatune>, <memoryBacking>) and kvmem in
 * one (struct dom_node).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---- handlers, one per element (in document order) ---------------------- */

int dom_on_memory(struct mapping *m, xmlNode *n)
{
	return dom_size_elem(m, n, "memory", &m->memory);
}

/*
 * <maxMemory slots unit>: the ceiling of <memory> with memory devices.
 * kvmem's memory never grows past the cells and the virtio-mem regions, so
 * it is only checked to hold them (dom_finish_vmem()); slots (DIMM slots,
 * which virtio-mem does not take) is read past: kvmem has no DIMMs.
 */
int dom_on_max_memory(struct mapping *m, xmlNode *n)
{
	return dom_size_elem(m, n, "maxMemory", &m->max_memory);
}

int dom_on_current(struct mapping *m, xmlNode *n)
{
	m->has_current = true;
	return dom_size_elem(m, n, "currentMemory", &m->current);
}

int dom_on_hugepages(struct mapping *m, xmlNode *n)
{
	(void)n;
	m->g->hugepages = true;
	return 0;
}

int dom_on_page(struct mapping *m, xmlNode *n)
{
	char *size = dom_prop(n, "size"), *unit = dom_prop(n, "unit");
	uint64_t bytes = 0;
	int ret;

	ret = dom_kib(m, "memoryBacking/hugepages/page", size ? size : "", unit, &bytes);
	if (!ret && bytes != 2ULL << 20)
		ret = gm_error_set(m->e, EINVAL,
				   "<memoryBacking/hugepages/page size='%.20s' unit='KiB'>: kvmem backs guests with 2 MiB pages only (size='2048' unit='KiB')",
				   size);
	xmlFree(size);
	xmlFree(unit);
	if (!ret) {
		xmlFree(m->page_nodeset);
		m->page_nodeset = dom_prop(n, "nodeset");
	}
	return ret;
}

int dom_on_vcpu(struct mapping *m, xmlNode *n)
{
	char *t = dom_text_of(n);
	int ret = dom_number(m, "vcpu", t, 1UL << 16, &m->g->nr_cpus);

	xmlFree(t);
	return ret;
}

/* A host nodeset kvmem can bind to: one node. */
static int one_host_node(struct mapping *m, const char *what, const char *set,
			 int *out)
{
	unsigned h;

	if (!set)
		return gm_error_set(m->e, EINVAL, "<%s>: no nodeset (kvmem binds to one host node)",
				    what);
	if (dom_number(m, what, set, GM_MAX_NODES * 16, &h))
		return gm_error_set(m->e, EINVAL, "<%s nodeset='%.40s'>: kvmem binds a node to one host node",
				    what, set);
	*out = (int)h;
	return 0;
}

int dom_on_numatune_memory(struct mapping *m, xmlNode *n)
{
	char *set = dom_prop(n, "nodeset");
	int ret = one_host_node(m, "numatune/memory", set, &m->all_host);

	xmlFree(set);
	return ret;
}

int dom_on_memnode(struct mapping *m, xmlNode *n)
{
	char *set = dom_prop(n, "nodeset"), *id = dom_prop(n, "cellid");
	unsigned cell = 0;
	int ret;

	ret = dom_number(m, "numatune/memnode cellid", id ? id : "", GM_MAX_NODES - 1, &cell);
	if (!ret)
		ret = one_host_node(m, "numatune/memnode", set, &m->memnode[cell]);
	xmlFree(set);
	xmlFree(id);
	return ret;
}

int dom_on_topology(struct mapping *m, xmlNode *n)
{
	static const char *const key[4] = { "sockets", "dies", "cores", "threads" };

	m->has_topo = true;
	for (unsigned i = 0; i < 4; i++) {
		char *v = dom_prop(n, key[i]);
		int ret;

		m->topo[i] = 1;
		ret = v ? dom_number(m, "cpu/topology", v, 1UL << 16, &m->topo[i]) : 0;
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

int dom_on_cell(struct mapping *m, xmlNode *n)
{
	char *id = dom_prop(n, "id"), *cpus = dom_prop(n, "cpus");
	char *mem = dom_prop(n, "memory"), *unit = dom_prop(n, "unit");
	unsigned cell = 0;
	int ret;

	ret = dom_number(m, "cpu/numa/cell id", id ? id : "", GM_MAX_NODES - 1, &cell);
	if (!ret && m->cell_seen[cell])
		ret = gm_error_set(m->e, EINVAL, "<cpu/numa/cell id='%u'>: given twice", cell);
	if (!ret)
		ret = dom_kib(m, "cpu/numa/cell", mem ? mem : "", unit, &m->g->node[cell].size);
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

static int metadata_node(struct mapping *m, xmlNode *n, const char *what,
			 unsigned *node)
{
	char *v = dom_prop(n, "node");
	int ret = dom_number(m, what, v ? v : "", GM_MAX_NODES - 1, node);

	xmlFree(v);
	return ret;
}

static int metadata_size(struct mapping *m, xmlNode *n, const char *what,
			 uint64_t *out)
{
	char *v = dom_prop(n, "size");
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

int dom_on_cma(struct mapping *m, xmlNode *n)
{
	unsigned node;
	uint64_t size;
	int ret = node_size(m, n, "kvmem:cma", &m->cma_seen, &node, &size);

	if (!ret)
		m->g->node[node].cma = size;
	return ret;
}

int dom_on_headroom(struct mapping *m, xmlNode *n)
{
	unsigned node;
	uint64_t size;
	int ret = node_size(m, n, "kvmem:headroom", &m->headroom_seen, &node, &size);

	if (!ret)
		m->g->node[node].headroom = size;
	return ret;
}

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
int dom_finish_nodes(struct mapping *m)
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

int dom_finish_cpu(struct mapping *m)
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
