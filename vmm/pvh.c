// SPDX-License-Identifier: MIT
/*
 * pvh.c - boot an ELF vmlinux through its PVH entry ([PVH]): the kernel
 * names a 32-bit physical entry point in an ELF note
 * (XEN_ELFNOTE_PHYS32_ENTRY, Linux's CONFIG_PVH), and is entered there in
 * 32-bit protected mode with paging off, EBX pointing at a struct
 * hvm_start_info. That structure carries everything a zero page would:
 * the command line, the initrd as module 0, the ACPI RSDP and (version 1)
 * the memory map with e820 types.
 *
 * Linux's PVH entry code (arch/x86/platform/pvh/head.S) runs at the
 * addresses it was linked for, so the segments go exactly at their
 * p_paddr: no relocation and no KASLR on this path (use a bzImage for
 * that). It reads the start info, the module list, the memory map and the
 * command line through its first 1 GiB identity map: they all live in the
 * low pages of layout.h.
 *
 * The start info page ("startinfo", where a zero page would be):
 *   +0x00 struct hvm_start_info     PVH_SI_SIZE bytes
 *   +0x40 module list               one entry: the initrd
 *   +0x80 memory map                up to PVH_MEMMAP_MAX entries, written by
 *                                   vmm_pvh_memmap() once guest RAM exists
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

/* The start info with everything but the memory map. */
static void fill_start_info(uint8_t *si, const struct vmm_boot_plan *p)
{
	memset(si, 0, ZP_SIZE);
	put32(si, PVH_SI_MAGIC, PVH_START_MAGIC);
	put32(si, PVH_SI_VERSION, PVH_START_VERSION);
	put64(si, PVH_SI_CMDLINE, p->cmdline);
	put64(si, PVH_SI_RSDP, p->acpi);
	put64(si, PVH_SI_MEMMAP, p->zero_page + PVH_MEMMAP_OFF);
	if (p->initrd_size) {
		put32(si, PVH_SI_NR_MODULES, 1);
		put64(si, PVH_SI_MODLIST, p->zero_page + PVH_MODLIST_OFF);
		put64(si + PVH_MODLIST_OFF, 0, p->initrd);
		put64(si + PVH_MODLIST_OFF, 8, p->initrd_size);
	}
}

/* The kernel's segments at their own physical addresses. */
static int place_kernel(struct gm_mem *mem, const struct vmm_image *im,
			const struct vmm_elf *elf, struct vmm_boot_plan *p,
			struct gm_error *e)
{
	struct gm_error ignored;

	p->kernel = elf->lo;
	p->kernel_size = (elf->hi - elf->lo + VMM_PAGE - 1) & ~(VMM_PAGE - 1);
	if (gm_early_reserve(mem, p->kernel, p->kernel_size, GM_EARLY_RAM,
			     "kernel", &ignored))
		return gm_error_set(e, ENOMEM, "kernel %s: 0x%llx-0x%llx, where it is linked to run, is not free RAM in node 0",
			    im->path, (unsigned long long)p->kernel,
			    (unsigned long long)(p->kernel + p->kernel_size));
	return vmm_elf_load(mem, im, elf, p->kernel, e);
}

int vmm_pvh_place(struct gm_mem *mem, const struct vmm_linux_args *a,
		  const struct vmm_image *im, const struct vmm_elf *elf,
		  struct vmm_boot_plan **plan, struct gm_error *e)
{
	const char *given = a && a->cmdline ? a->cmdline : "";
	uint64_t initrd_size, mark;
	struct vmm_boot_plan *p;
	uint8_t *si;
	char *cmdline, *cl;
	double t0;
	int ret;

	if (!mem || !a || !im || !elf || !plan || !elf->has_pvh)
		return gm_error_set(e, EINVAL, "PVH boot: bad arguments");
	if (strlen(given) >= PVH_CMDLINE_SIZE)
		return gm_error_set(e, EINVAL, "command line too long (%zu bytes, the kernel takes %d)",
			    strlen(given), PVH_CMDLINE_SIZE - 1);
	ret = vmm_initrd_check(mem, a->initrd, PVH_INITRD_ADDR_MAX + 1, false,
			       &initrd_size, e);
	if (ret < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	cmdline = vmm_linux_cmdline(mem, given, PVH_CMDLINE_SIZE - 1);
	if (!p || !cmdline) {
		free(p);
		free(cmdline);
		return gm_error_set(e, ENOMEM, "PVH boot: out of memory");
	}
	p->kind = VMM_PLAN_PVH;
	p->cmdline_len = strlen(cmdline);
	for (unsigned i = 0; i < elf->nr_seg; i++)
		p->kernel_file_size += elf->seg[i].filesz;

	mark = gm_early_mark(mem);
	ret = vmm_linux_place_low(mem, p, PVH_CMDLINE_SIZE, "startinfo", e);
	t0 = vmm_now_ms();
	if (!ret)
		ret = place_kernel(mem, im, elf, p, e);
	p->times.load = vmm_now_ms() - t0;
	p->initrd_size = initrd_size;
	if (!ret && initrd_size)
		ret = vmm_initrd_place(mem, a->initrd, initrd_size,
				       PVH_INITRD_ADDR_MAX + 1, false, &p->initrd, e);
	t0 = vmm_now_ms();
	if (!ret && initrd_size)
		ret = vmm_load_file(mem, "initrd", a->initrd, 0, initrd_size,
				    p->initrd, e);
	p->times.initrd = vmm_now_ms() - t0;
	if (ret < 0)
		goto err;
	cl = gm_mem_hva(mem, p->cmdline, p->cmdline_len + 1);
	si = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
	if (!cl || !si) {
		ret = gm_error_set(e, EIO, "PVH boot: boot data not in backed memory");
		goto err;
	}
	memcpy(cl, cmdline, p->cmdline_len + 1);
	fill_start_info(si, p);
	p->entry.mode = VMM_ENTRY_PROT32;
	p->entry.rip = elf->pvh_entry;
	p->entry.rbx = p->zero_page;
	*plan = p;
	free(cmdline);
	return 0;
err:
	gm_early_rollback(mem, mark);
	free(cmdline);
	free(p);
	return ret;
}

int vmm_pvh_memmap(struct gm_mem *mem, const struct vmm_boot_plan *plan,
		   const struct vmm_e820 *map, struct gm_error *e)
{
	uint8_t *si = gm_mem_hva(mem, plan->zero_page, ZP_SIZE);

	if (!si)
		return gm_error_set(e, EIO, "PVH boot: start info not in backed memory");
	if (map->nr > PVH_MEMMAP_MAX)
		return gm_error_set(e, E2BIG, "PVH memory map: %u entries, at most %d",
			    map->nr, PVH_MEMMAP_MAX);
	for (unsigned i = 0; i < map->nr; i++) {
		uint8_t *ent = si + PVH_MEMMAP_OFF + PVH_MAP_SIZE * i;

		put64(ent, 0, map->e[i].addr);
		put64(ent, 8, map->e[i].size);
		put32(ent, 16, map->e[i].type);
		put32(ent, 20, 0);
	}
	put32(si, PVH_SI_MEMMAP_ENTRIES, map->nr);
	return 0;
}
