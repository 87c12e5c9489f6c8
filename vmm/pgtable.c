// SPDX-License-Identifier: MIT
/*
 * pgtable.c - the long-mode state a Linux or flat guest is entered with:
 * identity page tables for the low 4 GiB, a GDT with __BOOT_CS 0x10 and
 * __BOOT_DS 0x18, a boot stack ([BP] "64-bit BOOT PROTOCOL"). The GDT also
 * holds a 32-bit code segment at 0x08 for the PVH entry ([PVH]), which
 * runs with paging off and ignores the tables.
 *
 * The tables use 2 MiB pages (every x86-64 CPU has them; 1 GiB pages need
 * CPUID pdpe1gb, which a nested guest may lack): one PML4, one PDPT and four
 * page directories, 24 KiB in all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

int vmm_early_place(struct gm_mem *mem, uint64_t want, uint64_t size,
		    uint64_t align, const char *label, uint64_t *gpa,
		    struct gm_error *e)
{
	struct gm_error ignored;
	int ret;

	if (!mem || !size || !label || !gpa)
		return gm_error_set(e, EINVAL, "cannot place \"%s\": bad arguments",
				    label ? label : "?");
	if (!(want & (align - 1)) &&
	    !gm_early_reserve(mem, want, size, GM_EARLY_RAM, label, &ignored)) {
		*gpa = want;
		return 0;
	}
	ret = gm_early_alloc(mem, 0, size, align, GM_WINDOW_LOW, GM_EARLY_RAM, label, gpa,
			     &ignored);
	if (ret < 0)
		return gm_error_set(e, ret, "no room below 4 GiB in node 0 for \"%s\": %s",
				    label, strerror(-ret));
	return 0;
}

/* Host pointer to a placed range, or -EIO with a message. */
static void *placed_hva(struct gm_mem *mem, uint64_t gpa, uint64_t size,
			const char *label, struct gm_error *e)
{
	void *p = gm_mem_hva(mem, gpa, size);

	if (!p)
		gm_error_set(e, EIO, "guest memory not backed for \"%s\"", label);
	return p;
}

/*
 * Identity map [0, 4 GiB) at @pt (host view of guest-physical @gpa):
 * PML4[0] -> PDPT, PDPT[i] -> PD i, PD i: 512 x 2 MiB pages.
 */
static void build_tables(uint64_t *pt, uint64_t gpa)
{
	uint64_t *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;

	memset(pt, 0, VMM_PGTABLE_PAGES * VMM_PAGE);
	pml4[0] = (gpa + VMM_PAGE) | PT_PRESENT | PT_RW;
	for (unsigned i = 0; i < 4; i++) {
		pdpt[i] = (gpa + (2 + i) * VMM_PAGE) | PT_PRESENT | PT_RW;
		for (unsigned j = 0; j < 512; j++) {
			uint64_t addr = ((uint64_t)i << 30) | ((uint64_t)j << 21);

			pd[i * 512 + j] = addr | PT_PRESENT | PT_RW | PT_PS;
		}
	}
}

int vmm_pgtable_place(struct gm_mem *mem, struct vmm_entry *out,
		      struct gm_error *e)
{
	uint64_t gdt, stack, pt, *gdt_p, *pt_p;
	void *stack_p;
	int ret;

	if (!mem || !out)
		return gm_error_set(e, EINVAL, "bad arguments for \"pgtable\"");
	ret = vmm_early_place(mem, VMM_GDT_ADDR, VMM_PAGE, VMM_PAGE, "gdt",
			      &gdt, e);
	if (ret < 0)
		return ret;
	ret = vmm_early_place(mem, VMM_STACK_ADDR, VMM_STACK_SIZE, VMM_PAGE,
			      "stack", &stack, e);
	if (ret < 0)
		return ret;
	ret = vmm_early_place(mem, VMM_PGTABLE_ADDR,
			      VMM_PGTABLE_PAGES * VMM_PAGE, VMM_PAGE,
			      "pgtable", &pt, e);
	if (ret < 0)
		return ret;
	gdt_p = placed_hva(mem, gdt, VMM_PAGE, "gdt", e);
	stack_p = placed_hva(mem, stack, VMM_STACK_SIZE, "stack", e);
	pt_p = placed_hva(mem, pt, VMM_PGTABLE_PAGES * VMM_PAGE, "pgtable", e);
	if (!gdt_p || !stack_p || !pt_p)
		return -EIO;

	memset(gdt_p, 0, VMM_PAGE);
	gdt_p[VMM_BOOT_CS32 / 8] = VMM_GDT_CODE32;
	gdt_p[VMM_BOOT_CS / 8] = VMM_GDT_CODE64;
	gdt_p[VMM_BOOT_DS / 8] = VMM_GDT_DATA;
	memset(stack_p, 0, VMM_STACK_SIZE);
	build_tables(pt_p, pt);

	out->cr3 = pt;
	out->rsp = stack + VMM_STACK_SIZE;
	out->gdt_base = gdt;
	out->gdt_limit = VMM_GDT_ENTRIES * 8 - 1;
	return 0;
}

int vmm_flat_place(struct gm_mem *mem, uint64_t entry, struct vmm_entry *out,
		   struct gm_error *e)
{
	struct vmm_entry en = { 0 };
	int ret;

	if (!mem || !out || entry >= GM_4G)
		return gm_error_set(e, EINVAL, "flat entry must be below 4 GiB for \"pgtable\"");
	ret = vmm_pgtable_place(mem, &en, e);
	if (ret < 0)
		return ret;
	en.rip = entry;
	*out = en;
	return 0;
}

/* One table entry: the 8 bytes at @table + 8 * @index. */
static int read_entry(struct gm_mem *mem, uint64_t table, unsigned index,
		      uint64_t *val)
{
	uint64_t *p = gm_mem_hva(mem, table + 8ULL * index, 8);

	if (!p)
		return -EIO;
	*val = *p;
	return 0;
}

int vmm_pgtable_walk(struct gm_mem *mem, uint64_t cr3, uint64_t va,
		     uint64_t *pa)
{
	uint64_t table = cr3 & PT_ADDR_MASK, ent = 0;

	if (!mem || !pa)
		return -EINVAL;
	/* level 4 = PML4 (bits 47-39) down to level 1 = PT (bits 20-12) */
	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		int ret = read_entry(mem, table, (va >> shift) & 511, &ent);

		if (ret < 0)
			return ret;
		if (!(ent & PT_PRESENT))
			return -EFAULT;
		if (level == 1 || ((level == 2 || level == 3) && (ent & PT_PS))) {
			uint64_t mask = (1ULL << shift) - 1;

			*pa = (ent & PT_ADDR_MASK & ~mask) | (va & mask);
			return 0;
		}
		table = ent & PT_ADDR_MASK;
	}
	return -EFAULT;
}
