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

/* A virtio-mmio device for the DSDT: its register window and GSI (layout.h). */
struct vmm_acpi_dev { uint64_t base, size; unsigned gsi; };
struct vmm_topology { unsigned nr_cpus, nr_nodes; unsigned cpu_node[256]; /* node of vcpu i */
	unsigned nr_devs; struct vmm_acpi_dev dev[16]; /* virtio-mmio devices, DSDT order */ };
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
 * map into the zero page and the ACPI tables (RSDP/XSDT/MADT/SRAT/SLIT/FADT/DSDT with \_S5
 * and t->dev[] as virtio-mmio devices). */
int vmm_linux_finish(struct gm_mem *mem, struct vmm_boot_plan *plan, const struct vmm_topology *t, struct vmm_entry *out, struct gm_error *e);
void vmm_boot_plan_free(struct vmm_boot_plan *plan);
/* (vmm_linux_place: every check - image, command line, initrd size - comes before the first
 * placement; a failure after that (no room for the kernel, a read error) takes back the early
 * ranges placed so far with gm_early_rollback(): no state change on error.) */
/* ACPI fixed hardware ports, decoded by power.c */
#define VMM_ACPI_PM1A_EVT 0x600   /* 4 bytes: status + enable */
#define VMM_ACPI_PM1A_CNT 0x604   /* 2 bytes: SLP_TYP bits 10-12, SLP_EN bit 13 */
#define VMM_ACPI_S5_TYP   5       /* \_S5 value: SLP_TYP 5 + SLP_EN = poweroff */
#define VMM_ACPI_SCI_IRQ  9

/* ---- inside vmm/ (bzimage.c, pgtable.c, e820.c, acpi.c) and its tests ---- */

/*
 * The boot plan: where vmm_linux_place() put things, for vmm_linux_finish().
 * Owned by the caller of vmm_linux_place(), freed by vmm_boot_plan_free().
 */
struct vmm_boot_plan {
	uint16_t version;		/* boot protocol of the kernel, 0x020c.. */
	uint64_t zero_page;		/* struct boot_params */
	uint64_t cmdline, cmdline_len;	/* without the NUL */
	uint64_t kernel, kernel_size;	/* load address, init_size reserved */
	uint64_t kernel_file_size;	/* protected-mode bytes loaded */
	uint64_t initrd, initrd_size;	/* 0, 0 without an initrd */
	uint64_t acpi;			/* the "acpi" early range, VMM_ACPI_SIZE bytes */
	struct vmm_entry entry;		/* rip, rsi and the page tables, GDT, stack */
};

/*
 * vmm_early_place() - an early range of @size bytes labelled @label on node
 * 0: at @want if that is free (gm_early_reserve()), else wherever the
 * early allocator finds room below 4 GiB aligned to @align. Returns 0 and
 * *@gpa, or the errno of gm_early_alloc() with @e filled.
 */
int vmm_early_place(struct gm_mem *mem, uint64_t want, uint64_t size,
		    uint64_t align, const char *label, uint64_t *gpa,
		    struct gm_error *e);

/*
 * vmm_pgtable_place() - place "gdt", "stack" and "pgtable" (identity map of
 * the low 4 GiB with 2 MiB pages) and write them; fills @out's cr3, rsp,
 * gdt_base and gdt_limit (rip and rsi are the caller's). Early phase, backed
 * memory. Returns 0 or -errno with @e filled (-EIO: memory not backed).
 */
int vmm_pgtable_place(struct gm_mem *mem, struct vmm_entry *out,
		      struct gm_error *e);

/*
 * vmm_pgtable_walk() - translate @va through the 4-level tables at @cr3
 * (4 KiB, 2 MiB and 1 GiB pages). Returns 0 and *@pa, -EFAULT if not
 * mapped, -EIO if a table is not in backed memory.
 */
int vmm_pgtable_walk(struct gm_mem *mem, uint64_t cr3, uint64_t va,
		     uint64_t *pa);

/* e820.c: a growable map, VMM_E820_* types (layout.h). */
struct vmm_e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

struct vmm_e820 {
	struct vmm_e820_entry *e;
	unsigned nr, cap;
};

/* vmm_e820_add() - append an entry (size 0 is ignored). 0, -EINVAL on wrap, -ENOMEM. */
int vmm_e820_add(struct vmm_e820 *m, uint64_t addr, uint64_t size,
		 uint32_t type);

/*
 * vmm_e820_sanitize() - sort by address, resolve overlaps (the higher type
 * wins, so reserved and ACPI beat RAM) and merge adjacent entries of one
 * type. Afterwards the entries are sorted and disjoint. 0 or -ENOMEM (then
 * the map is unchanged).
 */
int vmm_e820_sanitize(struct vmm_e820 *m);
void vmm_e820_release(struct vmm_e820 *m);

/*
 * vmm_e820_build() - the guest's memory map from @mem: the blocks of the
 * allocations "ram0", "ram1", ... as RAM, plus every early range typed by
 * its label ("legacy" reserved, "acpi" ACPI, anything else RAM: the kernel
 * must see its own image, initrd and boot data as RAM); only those on
 * @node, or all nodes if @node < 0. Sanitized. 0 or -errno with @e filled.
 */
int vmm_e820_build(struct gm_mem *mem, int node, struct vmm_e820 *m,
		   struct gm_error *e);

/*
 * aml.c: an AML encoder for the DSDT ([ACPI] chapter 20). A growable byte
 * buffer with a sticky error: every call after a failure does nothing, so
 * check @err (-ENOMEM, -EINVAL for a bad name, -E2BIG) once at the end.
 * Zero-initialise, free with vmm_aml_release(). Not thread-safe.
 */
struct vmm_aml {
	uint8_t *p;
	size_t len, cap;
	int err;
};

void vmm_aml_release(struct vmm_aml *a);
void vmm_aml_bytes(struct vmm_aml *a, const void *data, size_t len);
/* A NameString: "\\_SB_.VR00", "_HID" (segments of up to 4 characters, '_'-padded). */
void vmm_aml_name(struct vmm_aml *a, const char *path);
void vmm_aml_int(struct vmm_aml *a, uint64_t v);	/* shortest encoding */
void vmm_aml_string(struct vmm_aml *a, const char *s);
/*
 * vmm_aml_open() - write opcode bytes @op and room for a PkgLength; returns
 * the mark vmm_aml_close() needs to write the block's real length once its
 * body is written. Blocks nest.
 */
size_t vmm_aml_open(struct vmm_aml *a, const uint8_t *op, size_t oplen);
void vmm_aml_close(struct vmm_aml *a, size_t mark);
/* Scope(@path) { and Device(@name) {: close both with vmm_aml_close(). */
size_t vmm_aml_scope(struct vmm_aml *a, const char *path);
size_t vmm_aml_device(struct vmm_aml *a, const char *name);
void vmm_aml_name_int(struct vmm_aml *a, const char *name, uint64_t v);
void vmm_aml_name_string(struct vmm_aml *a, const char *name, const char *s);
void vmm_aml_name_package(struct vmm_aml *a, const char *name,
			  const uint64_t *v, unsigned nr);
/* Name(_CRS, ResourceTemplate() { Memory32Fixed(RW); Interrupt(edge, high, exclusive) }). */
void vmm_aml_crs_mmio_irq(struct vmm_aml *a, uint32_t base, uint32_t size,
			  uint32_t gsi);

/*
 * vmm_acpi_dsdt() - the DSDT's AML (no table header) for @t into @a: \_S5
 * and, in \_SB, one Device VRnn (_HID "LNRO0005", _UID nn, _CRS window and
 * interrupt) per virtio-mmio device of @t. Returns 0 or @a's error.
 */
int vmm_acpi_dsdt(struct vmm_aml *a, const struct vmm_topology *t);

/* acpi.c: one RAM range of one node, for SRAT. */
struct vmm_acpi_mem {
	unsigned node;
	uint64_t start, size;
};

/*
 * vmm_acpi_build() - write RSDP (at @buf, guest-physical @gpa, which must be
 * 16-byte aligned), FACS, DSDT (\_S5), FADT, MADT, SRAT, SLIT and XSDT into
 * the @size bytes at @buf for topology @t and the RAM ranges @m. All
 * checksums are set. Returns 0 and *@used (bytes written), -EINVAL (bad
 * topology: no CPU, more than 256, a CPU on a node >= nr_nodes), -ENOSPC
 * if @size is too small; @e filled.
 */
int vmm_acpi_build(void *buf, uint64_t gpa, size_t size,
		   const struct vmm_topology *t, const struct vmm_acpi_mem *m,
		   unsigned nr_mem, size_t *used, struct gm_error *e);

#endif /* KVMEM_VMM_BOOT_H */
