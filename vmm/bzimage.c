// SPDX-License-Identifier: MIT
/*
 * bzimage.c - load a Linux bzImage for the 64-bit boot protocol ([BP]
 * "64-bit BOOT PROTOCOL", Documentation/arch/x86/boot.rst) and describe the
 * machine to it once its RAM exists (e820 in the zero page, ACPI tables).
 *
 * What a bzImage must be to be accepted (each failure is -ENOEXEC with a
 * one-line reason): boot_flag 0xAA55 and "HdrS" at 0x202, protocol >= 2.12,
 * LOADED_HIGH, XLF_KERNEL_64, a sane setup_sects / syssize / init_size /
 * kernel_alignment, and a file as long as its header says.
 *
 * Everything is checked before anything is placed. Placement: the kernel at
 * pref_address (where it was linked to run: no relocation needed) or, if it
 * is relocatable and that spot is taken, anywhere aligned to
 * kernel_alignment; init_size bytes are reserved there so the decompressor
 * has its room. The initrd goes as high as node 0's low memory and
 * initrd_addr_max allow (above 4 GiB only when XLF_CAN_BE_LOADED_ABOVE_4G
 * and nothing fits below), like GRUB and QEMU do, keeping low memory free.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "io.h"
#include "layout.h"

#define HDR_READ	0x1000		/* bytes read to parse the setup header */
#define SETUP_MAX_SECTS	64		/* setup code is at most 32 KiB ([BP] "the real-mode code") */

/* The fields of the setup header kvmem uses, host-endian. */
struct bz_header {
	unsigned setup_sects;		/* 512-byte sectors after the boot sector */
	uint64_t pm_offset, pm_size;	/* protected-mode code in the file */
	unsigned hdr_end;		/* end of the setup header, 0x202 + jump */
	uint16_t version;
	uint8_t loadflags, relocatable;
	uint16_t xloadflags;
	uint32_t initrd_addr_max, kernel_alignment, cmdline_size, init_size;
	uint64_t pref_address;
};

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, 2);
	return v;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static void set16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void set32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void set64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

/*
 * Validate the first @len bytes @d of a @file_size-byte image called @path
 * and fill @h. Returns 0 or -ENOEXEC with the reason in @e.
 */
static int parse_header(const char *path, const uint8_t *d, size_t len,
			uint64_t file_size, struct bz_header *h,
			struct gm_error *e)
{
	if (len < BP_INIT_SIZE + 4)
		return gm_error_set(e, ENOEXEC, "kernel %s: not a bzImage (only %zu bytes)",
			    path, len);
	if (get16(d, BP_BOOT_FLAG) != BP_BOOT_FLAG_MAGIC ||
	    get32(d, BP_HEADER) != BP_HDRS_MAGIC)
		return gm_error_set(e, ENOEXEC, "kernel %s: not a bzImage (no boot flag 0xAA55 / \"HdrS\" magic)",
			    path);
	h->version = get16(d, BP_VERSION);
	if (h->version < BP_MIN_VERSION)
		return gm_error_set(e, ENOEXEC, "kernel %s: boot protocol %u.%02u is too old (64-bit entry needs 2.12)",
			    path, h->version >> 8, h->version & 0xff);
	h->loadflags = d[BP_LOADFLAGS];
	h->xloadflags = get16(d, BP_XLOADFLAGS);
	if (!(h->loadflags & BP_LOADED_HIGH) ||
	    !(h->xloadflags & BP_XLF_KERNEL_64))
		return gm_error_set(e, ENOEXEC, "kernel %s: no 64-bit entry point (loadflags 0x%x, xloadflags 0x%x)",
			    path, h->loadflags, h->xloadflags);
	h->setup_sects = d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4;
	h->hdr_end = BP_JUMP + 2 + d[BP_JUMP + 1];
	h->pm_offset = (h->setup_sects + 1) * 512ULL;
	h->pm_size = get32(d, BP_SYSSIZE) * 16ULL;
	h->initrd_addr_max = get32(d, BP_INITRD_ADDR_MAX);
	h->kernel_alignment = get32(d, BP_KERNEL_ALIGNMENT);
	h->relocatable = d[BP_RELOCATABLE];
	h->cmdline_size = get32(d, BP_CMDLINE_SIZE);
	/* the room reserved for it must end below the legacy area ([BP]: below 0xA0000) */
	if (h->cmdline_size > VMM_LEGACY_START - VMM_CMDLINE_ADDR - 1)
		h->cmdline_size = VMM_LEGACY_START - VMM_CMDLINE_ADDR - 1;
	h->pref_address = get64(d, BP_PREF_ADDRESS);
	h->init_size = get32(d, BP_INIT_SIZE);
	if (h->setup_sects > SETUP_MAX_SECTS || h->hdr_end > h->pm_offset ||
	    h->hdr_end < BP_INIT_SIZE + 4 || h->hdr_end > ZP_SIZE)
		return gm_error_set(e, ENOEXEC, "kernel %s: bad setup header (setup_sects %u, header end 0x%x)",
			    path, h->setup_sects, h->hdr_end);
	if (!h->pm_size || h->init_size < h->pm_size)
		return gm_error_set(e, ENOEXEC, "kernel %s: bad sizes (syssize %llu bytes, init_size %u)",
			    path, (unsigned long long)h->pm_size, h->init_size);
	if (!h->kernel_alignment ||
	    (h->kernel_alignment & (h->kernel_alignment - 1)) ||
	    (h->pref_address & (VMM_PAGE - 1)) ||
	    h->pref_address > GM_4G - h->init_size)	/* no wrap */
		return gm_error_set(e, ENOEXEC, "kernel %s: bad load constraints (pref_address 0x%llx, kernel_alignment 0x%x)",
			    path, (unsigned long long)h->pref_address,
			    h->kernel_alignment);
	if (file_size < h->pm_offset + h->pm_size)
		return gm_error_set(e, ENOEXEC, "kernel %s: truncated (%llu bytes, the header says %llu)",
			    path, (unsigned long long)file_size,
			    (unsigned long long)(h->pm_offset + h->pm_size));
	return 0;
}

/* Read and check the kernel's header; nothing placed yet. */
static int read_header(const char *path, uint8_t *hdr, struct bz_header *h,
		       struct gm_error *e)
{
	uint64_t size;
	ssize_t n;
	int ret;

	ret = kio_file_size(path, &size);
	if (ret < 0)
		return gm_error_set(e, -ret, "kernel %s: %s", path, strerror(-ret));
	n = kio_load_file(path, hdr, HDR_READ, 0, 0);
	if (n < 0)
		return gm_error_set(e, (int)-n, "kernel %s: %s", path, strerror((int)-n));
	return parse_header(path, hdr, (size_t)n, size, h, e);
}

/*
 * Linux sets aside a 64 MiB software IO TLB (swiotlb) below 4 GiB whenever
 * RAM reaches above 4 GiB and no IOMMU is found (pci_swiotlb_detect() in
 * arch/x86/kernel/pci-dma.c): with kvmem's layout, any guest with a second
 * node. kvmem's guests have no DMA-capable device, so those 64 MiB of node
 * 0 would be lost for nothing. So " swiotlb=noforce" is appended to the
 * command line when guest memory reaches above 4 GiB, unless the command
 * line already says swiotlb= or iommu= (the user's choice wins) or the
 * result would not fit cmdline_size. Like kvmtool, which appends its own
 * defaults. Returns the malloc'd command line or NULL.
 */
#define NOSWIOTLB	" swiotlb=noforce"

static char *final_cmdline(struct gm_mem *mem, const char *cmdline,
			   uint32_t max)
{
	bool high = false;
	struct gm_range r[8];
	size_t len = strlen(cmdline);
	char *out;

	for (unsigned node = 0; node < gm_mem_nr_nodes(mem); node++) {
		int n = gm_node_ranges(mem, node, r, 8);

		for (int i = 0; i < n && i < 8; i++)
			if (r[i].start + r[i].size > GM_4G)
				high = true;
	}
	if (strstr(cmdline, "swiotlb=") || strstr(cmdline, "iommu=") ||
	    len + strlen(NOSWIOTLB) > max)
		high = false;
	out = malloc(len + strlen(NOSWIOTLB) + 1);
	if (out) {
		memcpy(out, cmdline, len + 1);
		if (high)
			strcat(out, len ? NOSWIOTLB : NOSWIOTLB + 1);
	}
	return out;
}

/* Kernel: at pref_address, else (relocatable) wherever aligned room is. */
static int place_kernel(struct gm_mem *mem, const struct bz_header *h,
			const char *path, uint64_t *gpa, struct gm_error *e)
{
	uint64_t size = (h->init_size + VMM_PAGE - 1) & ~(VMM_PAGE - 1);
	struct gm_error ignored;
	int ret;

	if (!gm_early_reserve(mem, h->pref_address, size, GM_EARLY_RAM,
			      "kernel", &ignored)) {
		*gpa = h->pref_address;
		return 0;
	}
	if (!h->relocatable)
		return gm_error_set(e, ENOMEM, "kernel %s: not relocatable and 0x%llx-0x%llx is not free RAM in node 0",
			    path, (unsigned long long)h->pref_address,
			    (unsigned long long)(h->pref_address + size));
	ret = gm_early_alloc(mem, 0, size, h->kernel_alignment, GM_WINDOW_LOW,
			     GM_EARLY_RAM, "kernel", gpa, &ignored);
	if (ret < 0)
		return gm_error_set(e, -ret, "kernel %s: no room for %llu MiB (init_size) below 4 GiB in node 0",
			    path, (unsigned long long)(size >> 20));
	return 0;
}

/* Initrd: as high as node 0's low memory and initrd_addr_max allow. */
static int place_initrd(struct gm_mem *mem, const struct bz_header *h,
			const char *path, uint64_t size, uint64_t *gpa,
			struct gm_error *e)
{
	uint64_t limit = (uint64_t)h->initrd_addr_max + 1;
	struct gm_error ignored;
	struct gm_range r[8];
	int n;

	/* whole pages: the early range, and so e820 RAM, ends on a page */
	size = (size + VMM_PAGE - 1) & ~(VMM_PAGE - 1);

	n = gm_node_ranges(mem, 0, r, 8);
	for (int i = (n > 8 ? 8 : n) - 1; i >= 0; i--) {
		uint64_t top = r[i].start + r[i].size, at;

		if (top > limit)
			top = limit;
		if (top <= r[i].start || top - r[i].start < size)
			continue;
		at = (top - size) & ~(VMM_PAGE - 1);
		if (at >= r[i].start &&
		    !gm_early_reserve(mem, at, top - at, GM_EARLY_RAM, "initrd",
				      &ignored)) {
			*gpa = at;
			return 0;
		}
	}
	if (!gm_early_alloc(mem, 0, size, VMM_PAGE, GM_WINDOW_LOW, GM_EARLY_RAM, "initrd",
			    gpa, &ignored)) {
		if (*gpa + size <= limit)
			return 0;
		/* too high for this kernel: an early range cannot be undone */
		return gm_error_set(e, ENOMEM, "initrd %s: placed at 0x%llx, above initrd_addr_max 0x%x",
			    path, (unsigned long long)*gpa, h->initrd_addr_max);
	}
	if (h->xloadflags & BP_XLF_ABOVE_4G)
		for (unsigned node = 0; node < gm_mem_nr_nodes(mem); node++)
			if (!gm_early_alloc(mem, node, size, VMM_PAGE,
					    GM_WINDOW_HIGH, GM_EARLY_RAM, "initrd", gpa,
					    &ignored))
				return 0;
	return gm_error_set(e, ENOMEM, "initrd %s: %llu MiB do not fit in guest memory below 0x%llx",
		    path, (unsigned long long)((size + (1 << 20) - 1) >> 20),
		    (unsigned long long)limit);
}

/*
 * Bytes the initrd could possibly use: node 0 below initrd_addr_max, plus
 * every node above 4 GiB when the kernel takes a high initrd. A cheap
 * check made before anything is placed, so that an initrd bigger than the
 * pools fails with nothing changed.
 */
static uint64_t initrd_room(struct gm_mem *mem, const struct bz_header *h)
{
	uint64_t limit = (uint64_t)h->initrd_addr_max + 1, room = 0;
	struct gm_range r[8];

	for (unsigned node = 0; node < gm_mem_nr_nodes(mem); node++) {
		int n = gm_node_ranges(mem, node, r, 8);

		for (int i = 0; i < n && i < 8; i++) {
			uint64_t end = r[i].start + r[i].size;

			if (node == 0 && r[i].start < limit)
				room += (end < limit ? end : limit) - r[i].start;
			else if ((h->xloadflags & BP_XLF_ABOVE_4G) &&
				 r[i].start >= GM_4G)
				room += r[i].size;
		}
	}
	return room;
}

/* Read @size bytes of @path from @off into guest memory at @gpa. */
static int load(struct gm_mem *mem, const char *what, const char *path,
		uint64_t off, uint64_t size, uint64_t gpa, struct gm_error *e)
{
	void *dst = gm_mem_hva(mem, gpa, size);
	ssize_t n;

	if (!dst)
		return gm_error_set(e, EIO, "%s %s: guest memory at 0x%llx is not backed",
			    what, path, (unsigned long long)gpa);
	n = kio_load_file(path, dst, size, off, 0);
	if (n < 0)
		return gm_error_set(e, (int)-n, "%s %s: %s", what, path,
			    strerror((int)-n));
	if ((uint64_t)n != size)
		return gm_error_set(e, EIO, "%s %s: short read (%zd of %llu bytes)",
			    what, path, n, (unsigned long long)size);
	return 0;
}

/* [ZP] the zero page: the image's setup header plus what the loader sets. */
static void fill_zero_page(uint8_t *zp, const uint8_t *hdr,
			   const struct bz_header *h,
			   const struct vmm_boot_plan *p)
{
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + BP_SETUP_SECTS, hdr + BP_SETUP_SECTS,
	       h->hdr_end - BP_SETUP_SECTS);
	zp[BP_TYPE_OF_LOADER] = BP_LOADER_UNDEFINED;
	zp[BP_LOADFLAGS] = h->loadflags | BP_CAN_USE_HEAP;
	set16(zp, BP_HEAP_END_PTR, 0xfe00);	/* [BP] heap_end_ptr, unused by the 64-bit entry */
	set32(zp, BP_CMD_LINE_PTR, (uint32_t)p->cmdline);
	set32(zp, ZP_EXT_CMD_LINE_PTR, (uint32_t)(p->cmdline >> 32));
	set32(zp, BP_RAMDISK_IMAGE, (uint32_t)p->initrd);
	set32(zp, ZP_EXT_RAMDISK_IMAGE, (uint32_t)(p->initrd >> 32));
	set32(zp, BP_RAMDISK_SIZE, (uint32_t)p->initrd_size);
	set32(zp, ZP_EXT_RAMDISK_SIZE, (uint32_t)(p->initrd_size >> 32));
	if (h->version >= BP_VERSION_RSDP)
		set64(zp, ZP_ACPI_RSDP_ADDR, p->acpi);
}

/* Low fixed ranges: zero page, command line, legacy hole, ACPI area. */
static int place_low(struct gm_mem *mem, struct vmm_boot_plan *p,
		     uint64_t cmdline_room, struct gm_error *e)
{
	int ret;

	ret = vmm_pgtable_place(mem, &p->entry, e);
	if (!ret)
		ret = vmm_early_place(mem, VMM_ZERO_PAGE_ADDR, ZP_SIZE, VMM_PAGE,
				      "zeropage", &p->zero_page, e);
	if (!ret)
		ret = vmm_early_place(mem, VMM_CMDLINE_ADDR, cmdline_room,
				      VMM_PAGE, "cmdline", &p->cmdline, e);
	if (ret < 0)
		return ret;
	/* fixed by the PC architecture: no fallback */
	ret = gm_early_reserve(mem, VMM_LEGACY_START,
			       VMM_ACPI_START - VMM_LEGACY_START,
			       GM_EARLY_RESERVED, "legacy", e);
	if (!ret)
		ret = gm_early_reserve(mem, VMM_ACPI_START, VMM_ACPI_SIZE,
				       GM_EARLY_ACPI, "acpi", e);
	p->acpi = VMM_ACPI_START;
	return ret;
}

int vmm_linux_place(struct gm_mem *mem, const struct vmm_linux_args *a,
		    struct vmm_boot_plan **plan, struct gm_error *e)
{
	const char *given = a && a->cmdline ? a->cmdline : "";
	char *cmdline;
	uint8_t hdr[HDR_READ] = { 0 };
	struct vmm_boot_plan *p;
	uint64_t initrd_size = 0;
	struct bz_header h = { 0 };
	uint64_t mark;
	uint8_t *zp;
	char *cl;
	int ret;

	if (!mem || !a || !a->kernel || !plan)
		return gm_error_set(e, EINVAL, "linux boot: no kernel given");
	if (!gm_mem_hva(mem, 0, VMM_LEGACY_END))
		return gm_error_set(e, EIO, "linux boot: guest memory is not backed or node 0 is under 1 MiB");
	/* every check before anything is placed */
	ret = read_header(a->kernel, hdr, &h, e);
	if (ret < 0)
		return ret;
	if (strlen(given) > h.cmdline_size)
		return gm_error_set(e, EINVAL, "command line too long (%zu bytes, the kernel takes %u)",
			    strlen(given), h.cmdline_size);
	if (a->initrd) {
		ret = kio_file_size(a->initrd, &initrd_size);
		if (ret < 0)
			return gm_error_set(e, -ret, "initrd %s: %s", a->initrd,
				    strerror(-ret));
		if (!initrd_size)
			return gm_error_set(e, EINVAL, "initrd %s: empty file", a->initrd);
		if (initrd_size > initrd_room(mem, &h))
			return gm_error_set(e, ENOMEM, "initrd %s: %llu MiB is larger than the guest memory the kernel can take it in",
				    a->initrd,
				    (unsigned long long)(initrd_size >> 20));
	}
	p = calloc(1, sizeof(*p));
	cmdline = final_cmdline(mem, given, h.cmdline_size);
	if (!p || !cmdline) {
		free(p);
		free(cmdline);
		return gm_error_set(e, ENOMEM, "linux boot: out of memory");
	}
	p->version = h.version;
	p->kernel_file_size = h.pm_size;
	p->kernel_size = (h.init_size + VMM_PAGE - 1) & ~(VMM_PAGE - 1);
	p->cmdline_len = strlen(cmdline);

	mark = gm_early_mark(mem);
	ret = place_low(mem, p, (h.cmdline_size + VMM_PAGE) & ~(VMM_PAGE - 1), e);
	if (!ret)
		ret = place_kernel(mem, &h, a->kernel, &p->kernel, e);
	if (!ret && initrd_size) {
		ret = place_initrd(mem, &h, a->initrd, initrd_size, &p->initrd, e);
		p->initrd_size = initrd_size;
	}
	if (!ret)
		ret = load(mem, "kernel", a->kernel, h.pm_offset, h.pm_size,
			   p->kernel, e);
	if (!ret && initrd_size)
		ret = load(mem, "initrd", a->initrd, 0, initrd_size, p->initrd, e);
	if (ret < 0)
		goto err;

	cl = gm_mem_hva(mem, p->cmdline, p->cmdline_len + 1);
	zp = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
	if (!cl || !zp) {
		ret = gm_error_set(e, EIO, "linux boot: boot data not in backed memory");
		goto err;
	}
	memcpy(cl, cmdline, p->cmdline_len + 1);
	fill_zero_page(zp, hdr, &h, p);
	p->entry.rip = p->kernel + BP_ENTRY_64;
	p->entry.rsi = p->zero_page;
	*plan = p;
	free(cmdline);
	return 0;
err:
	gm_early_rollback(mem, mark);
	free(cmdline);
	free(p);
	return ret;
}

/* The RAM of every node, for SRAT: what e820 says is RAM there. */
static int srat_ranges(struct gm_mem *mem, const struct vmm_guest_ram *ram,
		       struct vmm_acpi_mem **out, unsigned *nr,
		       struct gm_error *e)
{
	struct vmm_acpi_mem *m = NULL;
	unsigned cnt = 0;
	size_t cap = 0;
	int ret = 0;

	for (unsigned node = 0; node < gm_mem_nr_nodes(mem) && !ret; node++) {
		struct vmm_e820 map = { 0 };

		ret = vmm_e820_build(mem, ram, (int)node, &map, e);
		for (unsigned i = 0; i < map.nr && !ret; i++) {
			if (map.e[i].type != VMM_E820_RAM)
				continue;
			if (gm_grow(&m, &cap, cnt + 1, sizeof(*m))) {
				ret = gm_error_set(e, ENOMEM, "SRAT: out of memory");
				break;
			}
			m[cnt++] = (struct vmm_acpi_mem){ node, map.e[i].addr,
							  map.e[i].size };
		}
		vmm_e820_release(&map);
	}
	if (ret < 0) {
		free(m);
		return ret;
	}
	*out = m;
	*nr = cnt;
	return 0;
}

int vmm_linux_finish(struct gm_mem *mem, struct vmm_boot_plan *plan,
		     const struct vmm_topology *t,
		     const struct vmm_guest_ram *ram, struct vmm_entry *out,
		     struct gm_error *e)
{
	struct vmm_e820 map = { 0 };
	struct vmm_acpi_mem *m = NULL;
	unsigned nr_mem = 0;
	uint8_t *zp, *acpi;
	size_t used;
	int ret;

	if (!mem || !plan || !t || !ram || !out)
		return gm_error_set(e, EINVAL, "linux boot: bad arguments to finish");
	zp = gm_mem_hva(mem, plan->zero_page, ZP_SIZE);
	acpi = gm_mem_hva(mem, plan->acpi, VMM_ACPI_SIZE);
	if (!zp || !acpi)
		return gm_error_set(e, EIO, "linux boot: boot data not in backed memory");
	if (t->nr_nodes != gm_mem_nr_nodes(mem))
		return gm_error_set(e, EINVAL, "linux boot: topology has %u nodes, memory %u",
			    t->nr_nodes, gm_mem_nr_nodes(mem));
	ret = vmm_e820_build(mem, ram, -1, &map, e);
	if (ret < 0)
		return ret;
	if (map.nr > ZP_E820_MAX) {
		ret = gm_error_set(e, E2BIG, "e820 map: %u entries, the zero page holds %d",
			   map.nr, ZP_E820_MAX);
		goto out;
	}
	ret = srat_ranges(mem, ram, &m, &nr_mem, e);
	if (ret < 0)
		goto out;
	/* tables first: the zero page only changes once they are in */
	ret = vmm_acpi_build(acpi, plan->acpi, VMM_ACPI_SIZE, t, m, nr_mem,
			     &used, e);
	if (ret < 0)
		goto out;
	zp[ZP_E820_ENTRIES] = (uint8_t)map.nr;
	for (unsigned i = 0; i < map.nr; i++) {
		uint8_t *ent = zp + ZP_E820_TABLE + 20 * i;

		set64(ent, 0, map.e[i].addr);
		set64(ent, 8, map.e[i].size);
		set32(ent, 16, map.e[i].type);
	}
	*out = plan->entry;
out:
	free(m);
	vmm_e820_release(&map);
	return ret;
}

void vmm_boot_plan_free(struct vmm_boot_plan *plan)
{
	free(plan);
}
