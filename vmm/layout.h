/* SPDX-License-Identifier: MIT */
/*
 * layout.h - where kvmem puts the boot structures in guest-physical memory,
 * and the constants of the formats it writes. One place, each value with
 * the section of the specification it comes from:
 *
 *   [BP]   Linux x86 boot protocol, Documentation/arch/x86/boot.rst
 *   [ZP]   Linux zero page, Documentation/arch/x86/zero-page.rst and
 *          arch/x86/include/uapi/asm/bootparam.h
 *   [ACPI] ACPI Specification 6.4
 *   [SDM]  Intel SDM vol. 3A (paging, descriptors)
 *   [PVH]  Xen's PVH boot ABI: docs/misc/pvh.pandoc (entry state) and
 *          xen/include/public/arch-x86/hvm/start_info.h (struct hvm_start_info)
 *   [ELF]  System V ABI, ELF-64 Object File Format; x86-64 psABI
 *   [LNX]  Linux x86 sources: arch/x86/include/asm/page_64_types.h,
 *          arch/x86/boot/compressed/Makefile and misc.c (payload, relocations),
 *          arch/x86/tools/relocs.c (the relocation table's layout)
 *   [VIRTIO] Virtual I/O Device (VIRTIO) Version 1.2, section 4.2
 *          "Virtio Over MMIO"
 *
 * Low memory, node 0 (every placement is a labelled early range; when the
 * fixed address is taken, the early allocator chooses another):
 *
 *   0x00000 - 0x01000   real-mode IVT and BIOS data area, left to the guest
 *   0x01000 - 0x02000   "gdt"       GDT: null, null, CS 0x10, DS 0x18
 *   0x03000 - 0x07000   "stack"     boot stack, RSP at its top
 *   0x07000 - 0x08000   "zeropage"  struct boot_params (PVH: "startinfo",
 *                                   hvm_start_info + module list + memory map)
 *   0x09000 - 0x0f000   "pgtable"   PML4, PDPT, 4 PDs: low 4 GiB, 2 MiB pages
 *   0x20000 - ...       "cmdline"   kernel command line, cmdline_size + 1
 *   0x9f000 - 0xe0000   "legacy"    EBDA, VGA hole, option ROMs (e820 reserved)
 *   0xe0000 - 0x100000  "acpi"      RSDP + tables (e820 ACPI)
 *   pref_address        "kernel"    protected-mode kernel, init_size bytes; or
 *                                   the decompressed kernel's segments (direct
 *                                   boot, anywhere aligned with KASLR); or a
 *                                   vmlinux's segments at their p_paddr (PVH)
 *   top of low RAM      "initrd"    below initrd_addr_max
 *
 * The first 64 KiB and 0x9f000-0x100000 are reserved by Linux itself; the
 * RAM between 0x30000 and 0x9f000 is left free for its real-mode trampoline
 * (secondary CPU start-up must find RAM below 1 MiB).
 */
#ifndef KVMEM_VMM_LAYOUT_H
#define KVMEM_VMM_LAYOUT_H

/* ---- placement -------------------------------------------------------- */

#define VMM_PAGE		0x1000ULL
#define VMM_GDT_ADDR		0x1000ULL	/* [BP] "64-bit boot protocol": a GDT with __BOOT_CS/__BOOT_DS */
#define VMM_STACK_ADDR		0x3000ULL
#define VMM_STACK_SIZE		0x4000ULL
#define VMM_ZERO_PAGE_ADDR	0x7000ULL	/* [BP] "the zero page", any address, 4 KiB */
#define VMM_PGTABLE_ADDR	0x9000ULL	/* [BP] 64-bit: "identity mapped page table" */
#define VMM_PGTABLE_PAGES	6		/* PML4 + PDPT + 4 page directories */
#define VMM_CMDLINE_ADDR	0x20000ULL	/* [BP] cmd_line_ptr: "anywhere between the end of the setup heap and 0xA0000" */
#define VMM_LEGACY_START	0x9f000ULL	/* [ZP] EBDA below 640 KiB; Linux reserves 0x9f000-1 MiB (arch/x86/kernel/ebda.c BIOS_START_MAX) */
#define VMM_ACPI_START		0xe0000ULL	/* [ACPI] 5.2.5.1: RSDP search in 0xE0000-0xFFFFF, on a 16-byte boundary */
#define VMM_LEGACY_END		0x100000ULL	/* 1 MiB: end of real-mode address space */
#define VMM_ACPI_SIZE		(VMM_LEGACY_END - VMM_ACPI_START)

/* ---- [BP] setup header, offsets in the image and in struct boot_params -- */

#define BP_SETUP_SECTS		0x1f1	/* u8, 0 means 4 */
#define BP_SYSSIZE		0x1f4	/* u32, protected-mode code in 16-byte paragraphs */
#define BP_VID_MODE		0x1fa	/* u16 */
#define BP_BOOT_FLAG		0x1fe	/* u16, 0xAA55 */
#define BP_JUMP			0x200	/* u16: 0xEB, header end - 0x202 */
#define BP_HEADER		0x202	/* u32, "HdrS" */
#define BP_VERSION		0x206	/* u16, 0x020c = 2.12 */
#define BP_TYPE_OF_LOADER	0x210	/* u8, 0xff = undefined loader */
#define BP_LOADFLAGS		0x211	/* u8 */
#define BP_RAMDISK_IMAGE	0x218	/* u32 */
#define BP_RAMDISK_SIZE		0x21c	/* u32 */
#define BP_HEAP_END_PTR		0x224	/* u16 */
#define BP_CMD_LINE_PTR		0x228	/* u32 (2.02+) */
#define BP_INITRD_ADDR_MAX	0x22c	/* u32 (2.03+), highest initrd byte */
#define BP_KERNEL_ALIGNMENT	0x230	/* u32 (2.05+) */
#define BP_RELOCATABLE		0x234	/* u8 (2.05+) */
#define BP_XLOADFLAGS		0x236	/* u16 (2.12+) */
#define BP_CMDLINE_SIZE		0x238	/* u32 (2.06+), max length without the NUL */
#define BP_PREF_ADDRESS		0x258	/* u64 (2.10+) */
#define BP_PAYLOAD_OFFSET	0x248	/* u32 (2.08+), from the protected-mode code's start */
#define BP_PAYLOAD_LENGTH	0x24c	/* u32 (2.08+) */
#define BP_INIT_SIZE		0x260	/* u32 (2.10+) */

#define BP_HDRS_MAGIC		0x53726448u	/* "HdrS" little-endian */
#define BP_BOOT_FLAG_MAGIC	0xaa55
#define BP_MIN_VERSION		0x020c	/* 2.12: xloadflags, XLF_KERNEL_64 */
#define BP_VERSION_RSDP		0x020e	/* 2.14: boot_params.acpi_rsdp_addr */
#define BP_LOADED_HIGH		0x01	/* loadflags bit 0: protected-mode code at 1 MiB+ */
#define BP_KASLR_FLAG		0x02	/* loadflags bit 1: "KASLR enabled", set by the loader that randomized */
#define BP_CAN_USE_HEAP		0x80
#define BP_VERSION_PAYLOAD	0x0208	/* 2.08: payload_offset / payload_length */
#define BP_XLF_KERNEL_64	0x01	/* [BP] xloadflags: 64-bit entry at load + 0x200 */
#define BP_XLF_ABOVE_4G		0x02	/* kernel/boot_params/cmdline/initrd may be above 4G */
#define BP_ENTRY_64		0x200	/* [BP] "64-bit BOOT PROTOCOL": startup_64 */
#define BP_LOADER_UNDEFINED	0xff

/* ---- [ZP] struct boot_params -------------------------------------------- */

#define ZP_SIZE			0x1000
#define ZP_ACPI_RSDP_ADDR	0x070	/* u64 (2.14+) */
#define ZP_EXT_RAMDISK_IMAGE	0x0c0	/* u32, high 32 bits */
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8	/* u8 */
#define ZP_SENTINEL		0x1ef	/* must stay 0 (else the kernel clears fields) */
#define ZP_E820_TABLE		0x2d0	/* 128 x struct boot_e820_entry {u64 addr, size; u32 type} */
#define ZP_E820_MAX		128

/* ---- [ACPI] 15.1 / [ZP] e820 types --------------------------------------- */

#define VMM_E820_RAM		1
#define VMM_E820_RESERVED	2
#define VMM_E820_ACPI		3

/* ---- [SDM] 4.5 4-level paging, 3.4.5 segment descriptors ----------------- */

#define PT_PRESENT		0x001ULL
#define PT_RW			0x002ULL
#define PT_PS			0x080ULL	/* in a PDE: 2 MiB page, in a PDPTE: 1 GiB page */
#define PT_ADDR_MASK		0x000ffffffffff000ULL
#define VMM_BOOT_CS		0x10		/* [BP] __BOOT_CS */
#define VMM_BOOT_DS		0x18		/* [BP] __BOOT_DS */
#define VMM_BOOT_CS32		0x08		/* [PVH] "the selector value is unspecified" */
#define VMM_GDT_ENTRIES		4
#define VMM_GDT_CODE64		0x00af9a000000ffffULL	/* L=1, P, DPL0, execute/read */
#define VMM_GDT_CODE32		0x00cf9a000000ffffULL	/* G, D/B, P, DPL0, execute/read, 4 GiB */
#define VMM_GDT_DATA		0x00cf92000000ffffULL	/* G, D/B, P, DPL0, read/write, 4 GiB */

/* ---- [ELF] the fields the loaders read, ELF-64 little-endian -------------- */

#define ELF_MAGIC		0x464c457fu	/* "\x7fELF" little-endian */
#define ELF_CLASS64		2		/* e_ident[EI_CLASS] */
#define ELF_DATA_LSB		1		/* e_ident[EI_DATA] */
#define ELF_ET_EXEC		2
#define ELF_EM_X86_64		62
#define ELF_EHDR_SIZE		64
#define ELF_PHDR_SIZE		56
#define ELF_E_TYPE		0x10	/* u16 */
#define ELF_E_MACHINE		0x12	/* u16 */
#define ELF_E_ENTRY		0x18	/* u64 */
#define ELF_E_PHOFF		0x20	/* u64 */
#define ELF_E_SHOFF		0x28	/* u64 */
#define ELF_E_PHENTSIZE		0x36	/* u16 */
#define ELF_E_PHNUM		0x38	/* u16 */
#define ELF_E_SHENTSIZE		0x3a	/* u16 */
#define ELF_E_SHNUM		0x3c	/* u16 */
#define ELF_PT_LOAD		1
#define ELF_PT_NOTE		4
#define ELF_P_TYPE		0x00	/* u32 */
#define ELF_P_OFFSET		0x08	/* u64 */
#define ELF_P_VADDR		0x10	/* u64 */
#define ELF_P_PADDR		0x18	/* u64 */
#define ELF_P_FILESZ		0x20	/* u64 */
#define ELF_P_MEMSZ		0x28	/* u64 */

/* ---- [PVH] entry note and struct hvm_start_info ---------------------------- */

#define PVH_NOTE_NAME		"Xen"	/* the note's owner */
#define PVH_NOTE_PHYS32_ENTRY	18	/* XEN_ELFNOTE_PHYS32_ENTRY: 32-bit physical entry */
#define PVH_START_MAGIC		0x336ec578u	/* XEN_HVM_START_MAGIC_VALUE */
#define PVH_START_VERSION	1	/* version 1 adds the memory map */
#define PVH_SI_MAGIC		0x00	/* u32 */
#define PVH_SI_VERSION		0x04	/* u32 */
#define PVH_SI_NR_MODULES	0x0c	/* u32 */
#define PVH_SI_MODLIST		0x10	/* u64, array of struct hvm_modlist_entry */
#define PVH_SI_CMDLINE		0x18	/* u64, NUL-terminated */
#define PVH_SI_RSDP		0x20	/* u64 */
#define PVH_SI_MEMMAP		0x28	/* u64, array of struct hvm_memmap_table_entry (v1) */
#define PVH_SI_MEMMAP_ENTRIES	0x30	/* u32 */
#define PVH_SI_SIZE		0x38
#define PVH_MOD_SIZE		0x20	/* {u64 paddr, size, cmdline_paddr, reserved} */
#define PVH_MAP_SIZE		0x18	/* {u64 addr, size; u32 type, reserved}, e820 types */
#define PVH_MODLIST_OFF		0x40	/* where kvmem puts them in the "startinfo" page */
#define PVH_MEMMAP_OFF		0x80
/* Linux copies the map into a 128-entry e820 table and adds the ISA hole itself
 * (arch/x86/platform/pvh/enlighten.c): one slot less than the zero page. */
#define PVH_MEMMAP_MAX		(ZP_E820_MAX - 1)
#define PVH_CMDLINE_SIZE	2048	/* [LNX] COMMAND_LINE_SIZE, with the NUL */
#define PVH_INITRD_ADDR_MAX	0x7fffffffULL	/* what 64-bit kernels declare in initrd_addr_max */

/* ---- [LNX] the decompressed kernel (direct boot of a bzImage) -------------- */

#define LNX_KERNEL_IMAGE_SIZE	0x40000000ULL	/* 1 GiB of kernel text mapping with CONFIG_RANDOMIZE_BASE */
#define LNX_PAYLOAD_SIZE_BYTES	4	/* the decompressed size, u32 LE, ends the payload */
#define LNX_KERNEL_MAX		LNX_KERNEL_IMAGE_SIZE	/* no bigger image can run */

/* ---- the 32-bit MMIO hole: virtio-mmio devices ---------------------------
 *
 * The hole is [GM_MMIO_HOLE_START, 4 GiB) = [0xC0000000, 0x100000000):
 * guestmem puts no RAM there. What already lives in it:
 *
 *   0xFEC00000 + 4K      IOAPIC (KVM's in-kernel one; MADT, acpi.c)
 *   0xFEE00000 + 1M      local APICs (MADT)
 *   0xFFFBC000 + 4K      KVM identity map page (kvm.c, as QEMU and kvmtool)
 *   0xFFFBD000 + 12K     KVM TSS (kvm.c, three pages)
 *
 * The virtio-mmio devices take one 4 KiB window each from 0xD0000000 up,
 * far from all of those: [VIRTIO] 4.2.2 puts the registers at 0x000-0x0ff
 * and the device configuration space from 0x100, so one page holds a device
 * and keeps each on its own page. Device i (in the order kvmem creates
 * them) is window i, described to the guest in the DSDT (acpi.c).
 */
#define VMM_VIRTIO_MMIO_BASE	0xd0000000ULL
#define VMM_VIRTIO_MMIO_SIZE	0x1000ULL

/*
 * One interrupt per device, never shared: [VIRTIO] 4.2.3.4 has the driver
 * read InterruptStatus and acknowledge it, which sharing an edge-triggered
 * line would race. KVM's IOAPIC has 24 pins (KVM_IOAPIC_NUM_PINS) and its
 * default routing wires GSI n to pin n. The MADT (acpi.c) overrides only
 * the SCI (9); pins 0 (PIT), 4 (COM1), 9 (SCI) are taken, 1, 8 and 12 are
 * the ISA keyboard, RTC and mouse lines legacy drivers may claim. So first
 * the non-ISA pins 16-23, then the ISA lines no kvmem or PC device uses.
 * Edge-triggered, active high (the _CRS Interrupt descriptor says so, and
 * an irqfd without a resample fd injects an edge).
 */
#define VMM_VIRTIO_GSIS		16, 17, 18, 19, 20, 21, 22, 23, 5, 6, 7, 10, 11, 14, 15
#define VMM_VIRTIO_MAX_DEVS	15

#endif /* KVMEM_VMM_LAYOUT_H */
