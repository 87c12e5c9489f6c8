/* SPDX-License-Identifier: MIT */
/*
 * boot.h - the boot side of `kvmem run`: placing a Linux bzImage (64-bit
 * boot protocol) or a flat binary in guest memory, the identity page tables
 * and GDT they are entered with, the e820 map and the ACPI tables.
 *
 * Two phases, matching guestmem's: vmm_linux_place() / vmm_flat_place() run
 * in the early phase (every placement is a labelled early range); the caller
 * then retires the memory and allocates guest RAM as "ram0", "ram1", ...;
 * vmm_linux_finish() then describes that RAM to the guest (e820, ACPI).
 *
 * Locking: none of its own; guestmem's calls are thread-safe. A boot plan is
 * used by one thread.
 */
#ifndef KVMEM_VMM_BOOT_H
#define KVMEM_VMM_BOOT_H

#include <stdint.h>

#include "guestmem.h"

struct vmm_topology { unsigned nr_cpus, nr_nodes; unsigned cpu_node[256]; /* node of vcpu i */ };
struct vmm_entry {            /* BSP register state at entry, 64-bit long mode */
	uint64_t rip, rsp, rsi, cr3, gdt_base; uint16_t gdt_limit; /* CS=0x10, DS..SS=0x18 */
};
struct vmm_linux_args { const char *kernel, *initrd, *cmdline; };
struct vmm_boot_plan;
/* Early phase (before gm_mem_retire): place and load kernel, initrd, cmdline, zero page, page
 * tables, GDT, ACPI area; all labelled. Returns 0 or -errno with e filled (bad image: -ENOEXEC). */
int vmm_linux_place(struct gm_mem *mem, const struct vmm_linux_args *a, struct vmm_boot_plan **plan, struct gm_error *e);
/* Early phase: identity page tables (low 4 GiB) + GDT for a flat binary entered at @entry. */
int vmm_flat_place(struct gm_mem *mem, uint64_t entry, struct vmm_entry *out, struct gm_error *e);
/* After retire and after the guest RAM allocations "ram0", "ram1", ... exist: write the e820
 * map into the zero page and the ACPI tables (RSDP/XSDT/MADT/SRAT/SLIT/FADT/DSDT with \_S5). */
int vmm_linux_finish(struct gm_mem *mem, struct vmm_boot_plan *plan, const struct vmm_topology *t, struct vmm_entry *out, struct gm_error *e);
void vmm_boot_plan_free(struct vmm_boot_plan *plan);
/* ACPI fixed hardware ports, decoded by power.c */
#define VMM_ACPI_PM1A_EVT 0x600   /* 4 bytes: status + enable */
#define VMM_ACPI_PM1A_CNT 0x604   /* 2 bytes: SLP_TYP bits 10-12, SLP_EN bit 13 */
#define VMM_ACPI_S5_TYP   5       /* \_S5 value: SLP_TYP 5 + SLP_EN = poweroff */
#define VMM_ACPI_SCI_IRQ  9

#endif /* KVMEM_VMM_BOOT_H */
