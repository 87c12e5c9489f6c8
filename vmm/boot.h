/* SPDX-License-Identifier: MIT */
/*
 * boot.h - the boot side of `kvmem run`: placing a Linux kernel (a bzImage
 * through the 64-bit boot protocol, the same bzImage decompressed on the
 * host and entered directly, or an ELF vmlinux through the PVH entry) or a
 * flat binary in guest memory, the identity page tables and GDT they are
 * entered with, the e820 map and the ACPI tables.
 *
 * Two phases, matching guestmem's: vmm_linux_place() / vmm_flat_place() run
 * in the early phase (every placement is a typed, labelled early range);
 * the caller then retires the memory and allocates guest RAM, one
 * VM-owned allocation per node, keeping their ids in a struct
 * vmm_guest_ram; vmm_linux_finish() then describes that RAM to the guest
 * (e820, ACPI) from those ids, never by looking up a name.
 *
 * Locking: none of its own; guestmem's calls are thread-safe. A boot plan is
 * used by one thread.
 */
#ifndef KVMEM_VMM_BOOT_H
#define KVMEM_VMM_BOOT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "guestmem.h"

/* A virtio-mmio device for the DSDT: its register window and GSI (layout.h). */
struct vmm_acpi_dev { uint64_t base, size; unsigned gsi; };
struct vmm_topology { unsigned nr_cpus, nr_nodes; unsigned cpu_node[256]; /* node of vcpu i */
	unsigned nr_devs; struct vmm_acpi_dev dev[16]; /* virtio-mmio devices, DSDT order */ };
enum vmm_entry_mode {
	VMM_ENTRY_LONG64,	/* 64-bit long mode, paging on (CS=0x10, DS..SS=0x18, CR3) */
	VMM_ENTRY_PROT32,	/* [PVH] 32-bit protected mode, paging off (CS=0x08, DS..SS=0x18) */
};
struct vmm_entry {            /* BSP register state at entry */
	uint64_t rip, rsp, rsi, cr3, gdt_base; uint16_t gdt_limit; /* CS=0x10, DS..SS=0x18 */
	uint64_t rbx;		/* PROT32: the hvm_start_info */
	enum vmm_entry_mode mode;	/* 0: long mode, as every entry before PVH */
};
/* --boot: how a kernel image is entered. */
enum vmm_boot {
	VMM_BOOT_AUTO,		/* direct when the kernel allows it, else the 64-bit boot protocol */
	VMM_BOOT_DIRECT,	/* no in-guest decompression: a vmlinux (PVH), a bzImage's payload */
	VMM_BOOT_BZIMAGE,	/* the bzImage's own decompressor, 64-bit boot protocol */
};
struct vmm_linux_args {
	const char *kernel, *initrd, *cmdline;
	enum vmm_boot boot;
	const char *cache_dir;	/* decompressed kernels (kcache.c); NULL: none */
};
/* The guest's RAM: the ids of its VM-owned allocations (any number per node). */
struct vmm_guest_ram { unsigned nr; uint64_t id[GM_MAX_NODES]; };
struct vmm_boot_plan;
/* Early phase (before gm_mem_retire): place and load kernel, initrd, cmdline, zero page (or PVH
 * start info), page tables, GDT, ACPI area; all labelled. @a->kernel is a bzImage or an ELF
 * vmlinux with a PVH entry note; @a->boot picks the path. Returns 0 or -errno with e filled (bad
 * image, payload or ELF: -ENOEXEC; --boot direct with a payload kvmem cannot decompress: -EOPNOTSUPP). */
int vmm_linux_place(struct gm_mem *mem, const struct vmm_linux_args *a, struct vmm_boot_plan **plan, struct gm_error *e);
/* One line saying how @plan boots (path, payload format, cache, where, KASLR, entry) into @buf. */
void vmm_boot_describe(const struct vmm_boot_plan *plan, char *buf, size_t len);
/* Early phase: identity page tables (low 4 GiB) + GDT for a flat binary entered at @entry. */
int vmm_flat_place(struct gm_mem *mem, uint64_t entry, struct vmm_entry *out, struct gm_error *e);
/* After retire and after the guest RAM allocations @ram exist: write the e820 map into the
 * zero page (or the PVH start info) and the ACPI tables (RSDP/XSDT/MADT/SRAT/SLIT/FADT/DSDT with
 * \_S5 and t->dev[] as virtio-mmio devices). */
int vmm_linux_finish(struct gm_mem *mem, struct vmm_boot_plan *plan, const struct vmm_topology *t,
		     const struct vmm_guest_ram *ram, struct vmm_entry *out, struct gm_error *e);
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
struct vmm_e820;

enum vmm_plan_kind {
	VMM_PLAN_BZIMAGE,		/* in-guest decompression, entry at kernel + 0x200 */
	VMM_PLAN_DIRECT,		/* the payload's ELF loaded, entry at startup_64 */
	VMM_PLAN_PVH,			/* a vmlinux's ELF, 32-bit PVH entry */
};

/* Where vmm_linux_place()'s time went, in ms (KVMEM_BOOT_TRACE prints it). */
struct vmm_boot_times {
	double open;			/* the kernel's headers (DIRECT: cache or decompression, checks) */
	double load;			/* its bytes into guest memory */
	double reloc;			/* DIRECT: the KASLR relocations */
	double initrd;			/* the initrd into guest memory */
};

/* CLOCK_MONOTONIC in ms, for struct vmm_boot_times. */
double vmm_now_ms(void);

struct vmm_boot_plan {
	enum vmm_plan_kind kind;
	uint16_t version;		/* boot protocol of the kernel, 0x020c.. (PVH: 0) */
	uint64_t zero_page;		/* struct boot_params (PVH: the start info page) */
	uint64_t cmdline, cmdline_len;	/* without the NUL */
	uint64_t kernel, kernel_size;	/* load address, init_size reserved */
	uint64_t kernel_file_size;	/* protected-mode bytes loaded */
	uint64_t initrd, initrd_size;	/* 0, 0 without an initrd */
	uint64_t acpi;			/* the "acpi" early range, VMM_ACPI_SIZE bytes */
	struct vmm_entry entry;		/* rip, rsi and the page tables, GDT, stack */
	const char *format;		/* DIRECT: the payload's compression */
	bool cached;			/* DIRECT: read from the cache, not decompressed */
	bool kaslr;			/* DIRECT: virtual base randomized */
	uint64_t virt_base;		/* DIRECT: the kernel's virtual address (relocated) */
	struct vmm_boot_times times;
};

/* The low fixed ranges every Linux boot uses: page tables + GDT + stack, the
 * boot data page (@label: "zeropage" or "startinfo", GM_EARLY_RAM like the
 * command line: the kernel reads them as RAM), @cmdline_room bytes of
 * command line, the legacy hole (GM_EARLY_RESERVED) and the ACPI area
 * (GM_EARLY_ACPI). bzimage.c. */
int vmm_linux_place_low(struct gm_mem *mem, struct vmm_boot_plan *p,
			uint64_t cmdline_room, const char *label,
			struct gm_error *e);
/* The command line as passed: @cmdline plus kvmem's additions that fit @max
 * (" swiotlb=noforce", see bzimage.c). malloc'd, NULL if out of memory. */
char *vmm_linux_cmdline(struct gm_mem *mem, const char *cmdline, uint32_t max);
/* An initrd: its size (0 for none) checked against the memory below @limit
 * (and above 4 GiB if @above4g), before anything is placed; then placed as
 * high as that allows. bzimage.c. */
int vmm_initrd_check(struct gm_mem *mem, const char *path, uint64_t limit,
		     bool above4g, uint64_t *size, struct gm_error *e);
int vmm_initrd_place(struct gm_mem *mem, const char *path, uint64_t size,
		     uint64_t limit, bool above4g, uint64_t *gpa,
		     struct gm_error *e);
/* Read @size bytes of file @path from @off into guest memory at @gpa. */
int vmm_load_file(struct gm_mem *mem, const char *what, const char *path,
		  uint64_t off, uint64_t size, uint64_t gpa, struct gm_error *e);

/* ---- elf.c: a kernel ELF ([ELF]), in host memory or a file ---- */

struct vmm_image {
	const char *path;		/* for messages; read from it when @buf is NULL */
	const uint8_t *buf;		/* the whole image in host memory, or NULL */
	uint64_t size;
};

/* vmm_image_read() - @len bytes at @off into @dst. 0, -EIO (outside or short), -errno. */
int vmm_image_read(const struct vmm_image *im, uint64_t off, void *dst,
		   uint64_t len);

#define VMM_ELF_MAX_SEGS	16

struct vmm_elf_seg {
	uint64_t offset, paddr, vaddr, filesz, memsz;
};

struct vmm_elf {
	uint64_t entry;			/* e_entry (Linux: physical startup_64) */
	unsigned nr_seg;
	struct vmm_elf_seg seg[VMM_ELF_MAX_SEGS];	/* PT_LOAD, by paddr, disjoint */
	uint64_t lo, hi;		/* physical extent of the segments (memsz) */
	uint64_t file_end;		/* end of the ELF's own bytes in the file */
	bool has_pvh;
	uint64_t pvh_entry;		/* XEN_ELFNOTE_PHYS32_ENTRY, inside a segment */
};

/*
 * vmm_elf_parse() - read and check the ELF headers and notes of @im (the
 * rules are at the top of elf.c). 0 or -ENOEXEC (-errno for read errors)
 * with @e filled; reads only headers and notes.
 */
int vmm_elf_parse(const struct vmm_image *im, struct vmm_elf *out,
		  struct gm_error *e);
/* True if [@pa, @pa+@len) is inside one segment's file-backed bytes. */
bool vmm_elf_in_file(const struct vmm_elf *elf, uint64_t pa, uint64_t len);
/* The index of that segment, trying segment @hint first (a run of sorted
 * addresses stays in one); -1 if none. */
int vmm_elf_seg_of(const struct vmm_elf *elf, uint64_t pa, uint64_t len,
		   int hint);
/*
 * vmm_elf_load() - copy every segment into guest memory, the lowest at
 * @base (the others at their offsets from it), zeroing memsz past filesz.
 * The span must be backed (-EIO) and fresh (zero): a file image's holes
 * (SEEK_HOLE: the kernel cache leaves its zero blocks as holes) are not
 * written. Read errors: -errno.
 */
int vmm_elf_load(struct gm_mem *mem, const struct vmm_image *im,
		 const struct vmm_elf *elf, uint64_t base, struct gm_error *e);

/* ---- decompress.c: a bzImage payload ---- */

struct vmm_payload {
	uint8_t *data;			/* malloc'd, exactly the declared size */
	uint64_t size;
	const char *format;		/* "xz", "gzip", "zstd", "lz4" */
};

/*
 * vmm_payload_probe() - the compression of a payload starting with @in by
 * its magic: 0 and *@format if kvmem decompresses it; -EOPNOTSUPP with @e
 * filled (and *@format when known: "bzip2", "lzma", "lzo") otherwise.
 */
int vmm_payload_probe(const uint8_t *in, size_t len, const char *what,
		      const char **format, struct gm_error *e);
/*
 * vmm_decompress() - decompress the @len-byte payload @in (the stream, then
 * its decompressed size as u32 LE) into @out (release with
 * vmm_payload_release()). -EOPNOTSUPP: a format kvmem does not decompress;
 * -ENOEXEC: a declared size of 0 or above @max, a corrupt or truncated
 * stream, or one whose output is not exactly the declared size; -ENOMEM.
 * @what names the kernel in messages.
 */
int vmm_decompress(const uint8_t *in, size_t len, uint64_t max,
		   const char *what, struct vmm_payload *out,
		   struct gm_error *e);
void vmm_payload_release(struct vmm_payload *p);

/* ---- reloc.c: the payload's relocation table, KASLR ---- */

struct vmm_relocs {
	const uint8_t *words;		/* [0][64-bit..][0][inverse 32-bit..][0][32-bit..] */
	size_t n64, ninv, n32;		/* 0, 0, 0: no table (a kernel without KASLR) */
	uint64_t map;			/* kernel virtual minus physical address */
};

/*
 * vmm_relocs_parse() - check the @len-byte table @d that follows @elf's
 * bytes (@len 0: none) and every location it names. 0 or -ENOEXEC.
 * @r points into @d.
 */
int vmm_relocs_parse(const uint8_t *d, size_t len, const struct vmm_elf *elf,
		     const char *path, struct vmm_relocs *r, struct gm_error *e);
/* Move the kernel loaded at @image (host view of elf->lo) up by @delta virtual bytes. */
void vmm_relocs_apply(const struct vmm_relocs *r, const struct vmm_elf *elf,
		      uint8_t *image, uint64_t delta);
/*
 * vmm_kaslr_virt() - a virtual load address (as an offset from the kernel
 * mapping's base) for a @size-byte kernel linked at @lo: one of the
 * @align-aligned slots in [@lo, LNX_KERNEL_IMAGE_SIZE - @size], picked by
 * @rnd; @lo if none fits.
 */
uint64_t vmm_kaslr_virt(uint64_t lo, uint64_t size, uint64_t align,
			uint64_t rnd);
/* A KASLR placement pinned by a test: UINT64_MAX means the highest slot. */
struct vmm_kaslr_pin {
	uint64_t phys, virt;	/* physical address, virtual base */
};
/*
 * vmm_kaslr_test_pin() - 0 and @pin from KVMEM_TEST_KASLR=PHYS:VIRT (hex,
 * or "max") in test builds (-Dtest_hooks=true); -ENOENT otherwise.
 */
int vmm_kaslr_test_pin(struct vmm_kaslr_pin *pin);

/* ---- kcache.c: decompressed kernels kept between runs ---- */

/* vmm_kcache_find() - 0 and the entry's path in @out if @dir holds a
 * @size-byte entry for bzImage @kernel as it is now (@st); -ENOENT. */
int vmm_kcache_find(const char *dir, const char *kernel, const struct stat *st,
		    uint64_t size, char *out, size_t len);
/* vmm_kcache_store() - keep @buf as @kernel's entry, best effort. */
void vmm_kcache_store(const char *dir, const char *kernel,
		      const struct stat *st, const void *buf, size_t len);
/* vmm_kcache_forget() - delete a damaged entry. */
void vmm_kcache_forget(const char *path);

/* ---- direct.c: a bzImage's kernel booted with no in-guest decompression ---- */

struct vmm_direct {
	struct vmm_image im;		/* the decompressed payload, or its cache file */
	struct vmm_payload payload;	/* owned when decompressed here */
	struct vmm_elf elf;
	const uint8_t *tail;		/* the relocation table's bytes */
	uint8_t *tail_buf;		/* owned when read from the cache file */
	struct vmm_relocs rel;
	const char *format;
	bool cached;
	char label[PATH_MAX + 32];	/* "<bzImage> (decompressed payload)" */
	char cache_path[PATH_MAX];
};

/*
 * vmm_direct_open() - the kernel in the @payload_len-byte payload at file
 * offset @payload_off of bzImage @path: from @cache_dir if a good entry is
 * there, else decompressed (declared size at most @max) and stored there.
 * Checks the ELF and every relocation. 0, -EOPNOTSUPP (a compression kvmem
 * does not decompress), -ENOEXEC, -errno; @e filled. Places nothing.
 */
int vmm_direct_open(const char *path, uint64_t payload_off,
		    uint64_t payload_len, uint64_t max, const char *cache_dir,
		    struct vmm_direct *d, struct gm_error *e);
/* vmm_direct_load() - load the segments at @base (fresh memory, see
 * vmm_elf_load()) and relocate by @delta; adds the time of each to @t. */
int vmm_direct_load(struct gm_mem *mem, const struct vmm_direct *d,
		    uint64_t base, uint64_t delta, struct vmm_boot_times *t,
		    struct gm_error *e);
void vmm_direct_close(struct vmm_direct *d);

/* ---- pvh.c: an ELF vmlinux through the PVH entry ---- */

/*
 * vmm_pvh_place() - the early phase for a PVH kernel: low ranges, the
 * kernel's segments at their own p_paddr (Linux's PVH entry code runs
 * where it was linked), the initrd (module 0), the command line and the
 * start info (all but the memory map). Checks first; on failure rolls back
 * what it placed. 0 or -errno with @e filled.
 */
int vmm_pvh_place(struct gm_mem *mem, const struct vmm_linux_args *a,
		  const struct vmm_image *im, const struct vmm_elf *elf,
		  struct vmm_boot_plan **plan, struct gm_error *e);
/* vmm_pvh_memmap() - write @map (e820 types) as the start info's memory map. */
int vmm_pvh_memmap(struct gm_mem *mem, const struct vmm_boot_plan *plan,
		   const struct vmm_e820 *map, struct gm_error *e);

/*
 * vmm_early_place() - an early range of @size bytes of boot data the guest
 * keeps (GM_EARLY_RAM), labelled @label, on node 0: at @want if that is free (gm_early_reserve()), else wherever the
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
	unsigned nr;
	size_t cap;		/* gm_grow() */
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
 * guest-RAM allocations @ram (by id) as RAM, plus every early range by its
 * type (GM_EARLY_RAM: the kernel must see its own image, initrd and boot
 * data as RAM; GM_EARLY_RESERVED; GM_EARLY_ACPI); only those on @node, or
 * all nodes if @node < 0. Sanitized. 0 or -errno with @e filled (-ENOENT:
 * an id of @ram is no allocation).
 */
int vmm_e820_build(struct gm_mem *mem, const struct vmm_guest_ram *ram,
		   int node, struct vmm_e820 *m, struct gm_error *e);

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

/* acpi.c: one RAM range of one node, or its hot-plug region, for SRAT. */
struct vmm_acpi_mem {
	unsigned node;
	uint64_t start, size;
	bool hotplug;			/* a virtio-mem region: Enabled | Hot Pluggable */
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
