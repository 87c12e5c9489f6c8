// SPDX-License-Identifier: MIT
/*
 * e820.c - the guest's memory map ([ZP] e820_table, [ACPI] 15 "System
 * Address Map Interfaces").
 *
 * The map is built from handles the run keeps: the blocks of its guest-RAM
 * allocations, by id (RAM), and the early ranges, by their type (the
 * kernel's own image, its initrd and boot data are RAM it reserves itself;
 * the legacy BIOS area is reserved; the ACPI tables are ACPI). No name is
 * looked up: a user's allocation can never pose as guest RAM.
 * Memory left in a pool is not in the map: it is headroom for allocations
 * made at run time, invisible to the guest.
 *
 * Sanitizing works like the kernel's e820__update_table(): cut the line at
 * every entry boundary, give each piece the highest type covering it, drop
 * uncovered pieces, merge neighbours of one type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

#define EARLY_MAX	256

int vmm_e820_add(struct vmm_e820 *m, uint64_t addr, uint64_t size,
		 uint32_t type)
{
	if (!m || !type || addr + size < addr)
		return -EINVAL;
	if (!size)
		return 0;
	if (gm_grow(&m->e, &m->cap, (size_t)m->nr + 1, sizeof(*m->e)))
		return -ENOMEM;
	m->e[m->nr++] = (struct vmm_e820_entry){ addr, size, type };
	return 0;
}

void vmm_e820_release(struct vmm_e820 *m)
{
	if (!m)
		return;
	free(m->e);
	*m = (struct vmm_e820){ 0 };
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int vmm_e820_sanitize(struct vmm_e820 *m)
{
	struct vmm_e820_entry *out;
	uint64_t *cut;
	unsigned nr_cut = 0, nr = 0;

	if (!m)
		return -EINVAL;
	if (!m->nr)
		return 0;
	cut = malloc(2 * m->nr * sizeof(*cut));
	out = malloc(2 * m->nr * sizeof(*out));
	if (!cut || !out) {
		free(cut);
		free(out);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < m->nr; i++) {
		cut[nr_cut++] = m->e[i].addr;
		cut[nr_cut++] = m->e[i].addr + m->e[i].size;
	}
	qsort(cut, nr_cut, sizeof(*cut), cmp_u64);
	/* each piece [cut[k], cut[k+1]) gets the highest type covering it */
	for (unsigned k = 0; k + 1 < nr_cut; k++) {
		uint64_t s = cut[k], end = cut[k + 1];
		uint32_t type = 0;

		if (s == end)
			continue;
		for (unsigned i = 0; i < m->nr; i++) {
			const struct vmm_e820_entry *x = &m->e[i];

			if (x->addr <= s && end <= x->addr + x->size &&
			    x->type > type)
				type = x->type;
		}
		if (!type)
			continue;
		if (nr && out[nr - 1].type == type &&
		    out[nr - 1].addr + out[nr - 1].size == s)
			out[nr - 1].size += end - s;
		else
			out[nr++] = (struct vmm_e820_entry){ s, end - s, type };
	}
	free(cut);
	free(m->e);
	m->e = out;
	m->cap = 2 * m->nr;
	m->nr = nr;
	return 0;
}

/* The e820 type of an early range. */
static uint32_t early_type(enum gm_early_type type)
{
	switch (type) {
	case GM_EARLY_RESERVED:
		return VMM_E820_RESERVED;
	case GM_EARLY_ACPI:
		return VMM_E820_ACPI;
	default:
		return VMM_E820_RAM;
	}
}

static int add_early(struct gm_mem *mem, unsigned node, struct vmm_e820 *m)
{
	struct gm_early_range *r;
	int n, ret = 0;

	r = calloc(EARLY_MAX, sizeof(*r));
	if (!r)
		return -ENOMEM;
	n = gm_early_ranges(mem, node, r, EARLY_MAX);
	if (n > EARLY_MAX)
		ret = -E2BIG;
	for (int i = 0; i < n && i < EARLY_MAX && !ret; i++)
		ret = vmm_e820_add(m, r[i].start, r[i].size,
				   early_type(r[i].type));
	if (n < 0)
		ret = n;
	free(r);
	return ret;
}

static int add_ram(struct gm_mem *mem, const struct vmm_guest_ram *ram,
		   int node, struct vmm_e820 *m)
{
	for (unsigned i = 0; ram && i < ram->nr && i < GM_MAX_NODES; i++) {
		struct gm_alloc_info *info;
		int ret;

		ret = gm_alloc_get_id(mem, ram->id[i], &info);
		if (ret < 0)
			return ret;
		for (unsigned b = 0; b < info->nr_blocks && !ret; b++) {
			const struct gm_block *blk = &info->blocks[b];

			if (node >= 0 && gm_node_find(mem, blk->gpa) != node)
				continue;
			ret = vmm_e820_add(m, blk->gpa, blk->size,
					   VMM_E820_RAM);
		}
		gm_alloc_info_free(info);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int vmm_e820_build(struct gm_mem *mem, const struct vmm_guest_ram *ram,
		   int node, struct vmm_e820 *m, struct gm_error *e)
{
	struct vmm_e820 map = { 0 };
	unsigned nr_nodes;
	int ret = 0;

	if (!mem || !m || node >= (int)gm_mem_nr_nodes(mem)) {
		ret = -EINVAL;
		goto err;
	}
	nr_nodes = gm_mem_nr_nodes(mem);
	for (unsigned n = 0; n < nr_nodes && !ret; n++)
		if (node < 0 || (unsigned)node == n)
			ret = add_early(mem, n, &map);
	if (!ret)
		ret = add_ram(mem, ram, node, &map);
	if (!ret)
		ret = vmm_e820_sanitize(&map);
	if (ret < 0)
		goto err;
	vmm_e820_release(m);
	*m = map;
	return 0;
err:
	vmm_e820_release(&map);
	return gm_error_set(e, ret, "e820 map: %s", strerror(-ret));
}
