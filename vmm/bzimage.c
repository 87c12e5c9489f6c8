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
 *
 * --boot (enum vmm_boot): with direct (and auto, when the payload's
 * compression is one kvmem decompresses) the bzImage's payload is
 * decompressed on the host (direct.c) and its ELF is placed instead of the
 * compressed kernel: at pref_address, or with KASLR (the kernel has a
 * relocation table, the command line has no "nokaslr") at a random
 * kernel_alignment-aligned physical address and a random virtual one, as
 * the in-guest decompressor would choose; the entry is the ELF's
 * startup_64 and the zero page says KASLR_FLAG. An ELF `--kernel` goes to
 * the PVH loader (pvh.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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
	uint64_t payload_off, payload_len;	/* in the file; 0, 0: none (before 2.08) */
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
	if (h->version >= BP_VERSION_PAYLOAD) {
		uint64_t off = get32(d, BP_PAYLOAD_OFFSET), n = get32(d, BP_PAYLOAD_LENGTH);

		/* only the direct boot reads it: checked there */
		h->payload_off = h->pm_offset + off;
		h->payload_len = off <= h->pm_size && n <= h->pm_size - off ? n : 0;
	}
	return 0;
}

/* The kernel's first HDR_READ bytes (*@len of them) and its size. */
static int read_head(const char *path, uint8_t *hdr, size_t *len,
		     uint64_t *size, struct gm_error *e)
{
	ssize_t n;
	int ret;

	ret = kio_file_size(path, size);
	if (ret < 0)
		return gm_error_set(e, -ret, "kernel %s: %s", path, strerror(-ret));
	n = kio_load_file(path, hdr, HDR_READ, 0, KIO_F_PREAD);
	if (n < 0)
		return gm_error_set(e, (int)-n, "kernel %s: %s", path, strerror((int)-n));
	*len = (size_t)n;
	return 0;
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

char *vmm_linux_cmdline(struct gm_mem *mem, const char *cmdline, uint32_t max)
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

/* A random 64-bit number (KASLR): getrandom(), else the clock. */
static uint64_t random64(void)
{
	struct timespec ts;
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

/*
 * A random physical spot for @size bytes of kernel: kernel_alignment
 * slots of node 0's low range from pref_address up (the in-guest
 * decompressor's lower bound), a few tries among those that are free.
 */
static int place_random(struct gm_mem *mem, const struct bz_header *h,
			uint64_t size, uint64_t *gpa)
{
	struct vmm_kaslr_pin pin;
	uint64_t align = h->kernel_alignment, top, slots;
	struct gm_error ignored;
	struct gm_range r;

	if (gm_node_ranges(mem, 0, &r, 1) < 1 || !r.size)
		return -ENOMEM;
	top = r.start + r.size;
	if (align < VMM_PAGE || top < size || top - size < h->pref_address)
		return -ENOMEM;
	slots = (top - size - h->pref_address) / align + 1;
	if (!vmm_kaslr_test_pin(&pin)) {	/* test builds: pinned, or the highest free slot */
		for (uint64_t s = slots; s--; ) {
			uint64_t at = pin.phys == UINT64_MAX ? h->pref_address + s * align : pin.phys;

			if (!gm_early_reserve(mem, at, size, GM_EARLY_RAM, "kernel", &ignored)) {
				*gpa = at;
				return 0;
			}
			if (pin.phys != UINT64_MAX)
				break;
		}
		return -ENOMEM;
	}
	for (int i = 0; i < 32; i++) {
		uint64_t at = h->pref_address + (random64() % slots) * align;

		if (!gm_early_reserve(mem, at, size, GM_EARLY_RAM, "kernel",
				      &ignored)) {
			*gpa = at;
			return 0;
		}
	}
	return -ENOMEM;
}

/*
 * Kernel (@size bytes): with @randomize at a random aligned spot, else at
 * pref_address, else (relocatable) wherever aligned room is.
 */
static int place_kernel(struct gm_mem *mem, const struct bz_header *h,
			const char *path, uint64_t size, bool randomize,
			uint64_t *gpa, struct gm_error *e)
{
	struct gm_error ignored;
	int ret;

	if (randomize && h->relocatable && !place_random(mem, h, size, gpa))
		return 0;
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
		return gm_error_set(e, -ret, "kernel %s: no room for %llu MiB below 4 GiB in node 0",
			    path, (unsigned long long)(size >> 20));
	return 0;
}

/* Initrd: as high as node 0's low memory and @limit (initrd_addr_max + 1) allow. */
int vmm_initrd_place(struct gm_mem *mem, const char *path, uint64_t size,
		     uint64_t limit, bool above4g, uint64_t *gpa,
		     struct gm_error *e)
{
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
		/* too high for this kernel: the caller rolls it back */
		return gm_error_set(e, ENOMEM, "initrd %s: placed at 0x%llx, above initrd_addr_max 0x%llx",
			    path, (unsigned long long)*gpa,
			    (unsigned long long)(limit - 1));
	}
	if (above4g)
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
static uint64_t initrd_room(struct gm_mem *mem, uint64_t limit, bool above4g)
{
	uint64_t room = 0;
	struct gm_range r[8];

	for (unsigned node = 0; node < gm_mem_nr_nodes(mem); node++) {
		int n = gm_node_ranges(mem, node, r, 8);

		for (int i = 0; i < n && i < 8; i++) {
			uint64_t end = r[i].start + r[i].size;

			if (node == 0 && r[i].start < limit)
				room += (end < limit ? end : limit) - r[i].start;
			else if (above4g && r[i].start >= GM_4G)
				room += r[i].size;
		}
	}
	return room;
}

int vmm_initrd_check(struct gm_mem *mem, const char *path, uint64_t limit,
		     bool above4g, uint64_t *size, struct gm_error *e)
{
	int ret;

	*size = 0;
	if (!path)
		return 0;
	ret = kio_file_size(path, size);
	if (ret < 0)
		return gm_error_set(e, -ret, "initrd %s: %s", path, strerror(-ret));
	if (!*size)
		return gm_error_set(e, EINVAL, "initrd %s: empty file", path);
	if (*size > initrd_room(mem, limit, above4g))
		return gm_error_set(e, ENOMEM, "initrd %s: %llu MiB is larger than the guest memory the kernel can take it in",
			    path, (unsigned long long)(*size >> 20));
	return 0;
}

int vmm_load_file(struct gm_mem *mem, const char *what, const char *path,
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
	if (p->kaslr)		/* [BP] loadflags bit 1, what the decompressor says */
		zp[BP_LOADFLAGS] |= BP_KASLR_FLAG;
	else
		zp[BP_LOADFLAGS] &= ~BP_KASLR_FLAG;
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

/* Low fixed ranges: page tables, boot data page, command line, legacy hole, ACPI. */
int vmm_linux_place_low(struct gm_mem *mem, struct vmm_boot_plan *p,
			uint64_t cmdline_room, const char *label,
			struct gm_error *e)
{
	int ret;

	ret = vmm_pgtable_place(mem, &p->entry, e);
	if (!ret)
		ret = vmm_early_place(mem, VMM_ZERO_PAGE_ADDR, ZP_SIZE, VMM_PAGE,
				      label, &p->zero_page, e);
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

/* True if @cmdline holds the word @w (space-separated, as the kernel parses). */
static bool has_word(const char *cmdline, const char *w)
{
	size_t n = strlen(w);

	for (const char *s = cmdline; (s = strstr(s, w)); s += n)
		if ((s == cmdline || s[-1] == ' ') && (!s[n] || s[n] == ' '))
			return true;
	return false;
}

/*
 * The direct path, if @a asks for it and the kernel allows it: 1 with @d
 * open, 0 for the bzImage path (auto, and a payload kvmem cannot
 * decompress), or -errno.
 */
static int want_direct(const struct vmm_linux_args *a,
		       const struct bz_header *h, struct vmm_direct *d,
		       struct gm_error *e)
{
	int ret;

	if (a->boot == VMM_BOOT_BZIMAGE)
		return 0;
	if (!h->payload_len)
		ret = gm_error_set(e, EOPNOTSUPP, "kernel %s: boot protocol %u.%02u names no payload (2.08+ needed to boot it directly)",
			   a->kernel, h->version >> 8, h->version & 0xff);
	else	/* the decompressed kernel fits init_size, and a kernel mapping */
		ret = vmm_direct_open(a->kernel, h->payload_off, h->payload_len,
				      h->init_size < LNX_KERNEL_MAX ? h->init_size : LNX_KERNEL_MAX,
				      a->cache_dir, d, e);
	if (ret == -EOPNOTSUPP && a->boot == VMM_BOOT_AUTO)
		return 0;
	if (ret < 0)
		return ret;
	if (d->elf.lo != h->pref_address || d->elf.entry < d->elf.lo ||
	    d->elf.entry >= d->elf.hi) {
		ret = gm_error_set(e, ENOEXEC, "kernel %s: the payload's ELF is linked at 0x%llx (entry 0x%llx), the header says 0x%llx",
			   a->kernel, (unsigned long long)d->elf.lo,
			   (unsigned long long)d->elf.entry,
			   (unsigned long long)h->pref_address);
		vmm_direct_close(d);
		return ret;
	}
	return 1;
}

/*
 * Place and load the kernel: the compressed one (@d NULL) or the payload's
 * ELF, relocated to a random virtual base when p->kaslr. Fills p->kernel,
 * kernel_size, entry.rip.
 */
static int place_load_kernel(struct gm_mem *mem, const struct vmm_linux_args *a,
			     const struct bz_header *h, const struct vmm_direct *d,
			     struct vmm_boot_plan *p, struct gm_error *e)
{
	uint64_t span, delta;
	int ret;

	if (!d) {
		double t0 = vmm_now_ms();

		ret = place_kernel(mem, h, a->kernel, p->kernel_size, false,
				   &p->kernel, e);
		if (!ret)
			ret = vmm_load_file(mem, "kernel", a->kernel, h->pm_offset,
					    h->pm_size, p->kernel, e);
		p->entry.rip = p->kernel + BP_ENTRY_64;
		p->times.load = vmm_now_ms() - t0;
		return ret;
	}
	span = d->elf.hi - d->elf.lo;
	p->kernel_size = (span + VMM_PAGE - 1) & ~(VMM_PAGE - 1);
	ret = place_kernel(mem, h, a->kernel, p->kernel_size, p->kaslr,
			   &p->kernel, e);
	if (ret < 0)
		return ret;
	/* the decompressor leaves room for its whole output: so do we */
	delta = 0;
	if (p->kaslr) {
		uint64_t size = span > d->im.size ? span : d->im.size, rnd = random64();
		struct vmm_kaslr_pin pin;

		if (!vmm_kaslr_test_pin(&pin))	/* test builds: the slot asked for */
			rnd = pin.virt == UINT64_MAX ?
			      (LNX_KERNEL_IMAGE_SIZE - d->elf.lo - size) / h->kernel_alignment :
			      (pin.virt - d->rel.map - d->elf.lo) / h->kernel_alignment;
		delta = vmm_kaslr_virt(d->elf.lo, size, h->kernel_alignment, rnd) - d->elf.lo;
	}
	p->virt_base = d->elf.lo + d->rel.map + delta;
	p->entry.rip = p->kernel + (d->elf.entry - d->elf.lo);
	return vmm_direct_load(mem, d, p->kernel, delta, &p->times, e);
}

/* An ELF --kernel: a vmlinux for the PVH entry. */
static int place_elf(struct gm_mem *mem, const struct vmm_linux_args *a,
		     uint64_t size, struct vmm_boot_plan **plan,
		     struct gm_error *e)
{
	struct vmm_image im = { .path = a->kernel, .size = size };
	struct vmm_elf elf;
	int ret;

	if (a->boot == VMM_BOOT_BZIMAGE)
		return gm_error_set(e, ENOEXEC, "kernel %s: an ELF vmlinux, not a bzImage (--boot bzimage needs a bzImage)",
			    a->kernel);
	ret = vmm_elf_parse(&im, &elf, e);
	if (ret < 0)
		return ret;
	if (!elf.has_pvh)
		return gm_error_set(e, ENOEXEC, "kernel %s: an ELF with no PVH entry note (Linux builds one with CONFIG_PVH)",
			    a->kernel);
	return vmm_pvh_place(mem, a, &im, &elf, plan, e);
}

int vmm_linux_place(struct gm_mem *mem, const struct vmm_linux_args *a,
		    struct vmm_boot_plan **plan, struct gm_error *e)
{
	const char *given = a && a->cmdline ? a->cmdline : "";
	uint8_t hdr[HDR_READ] = { 0 };
	struct vmm_direct d = { 0 };
	struct vmm_boot_plan *p;
	uint64_t initrd_size = 0, fsize, mark;
	struct bz_header h = { 0 };
	char *cmdline, *cl;
	double t0 = vmm_now_ms(), t1;
	int direct, ret;
	size_t len = 0;
	uint8_t *zp;

	if (!mem || !a || !a->kernel || !plan)
		return gm_error_set(e, EINVAL, "linux boot: no kernel given");
	if (!gm_mem_hva(mem, 0, VMM_LEGACY_END))
		return gm_error_set(e, EIO, "linux boot: guest memory is not backed or node 0 is under 1 MiB");
	/* every check before anything is placed */
	ret = read_head(a->kernel, hdr, &len, &fsize, e);
	if (ret < 0)
		return ret;
	if (len >= 4 && get32(hdr, 0) == ELF_MAGIC)
		return place_elf(mem, a, fsize, plan, e);
	ret = parse_header(a->kernel, hdr, len, fsize, &h, e);
	if (ret < 0)
		return ret;
	if (strlen(given) > h.cmdline_size)
		return gm_error_set(e, EINVAL, "command line too long (%zu bytes, the kernel takes %u)",
			    strlen(given), h.cmdline_size);
	ret = vmm_initrd_check(mem, a->initrd, (uint64_t)h.initrd_addr_max + 1,
			       h.xloadflags & BP_XLF_ABOVE_4G, &initrd_size, e);
	if (ret < 0)
		return ret;
	direct = want_direct(a, &h, &d, e);
	if (direct < 0)
		return direct;
	p = calloc(1, sizeof(*p));
	cmdline = vmm_linux_cmdline(mem, given, h.cmdline_size);
	if (!p || !cmdline) {
		ret = gm_error_set(e, ENOMEM, "linux boot: out of memory");
		goto err_free;
	}
	p->kind = direct ? VMM_PLAN_DIRECT : VMM_PLAN_BZIMAGE;
	p->times.open = vmm_now_ms() - t0;
	p->version = h.version;
	p->kernel_file_size = h.pm_size;
	p->kernel_size = (h.init_size + VMM_PAGE - 1) & ~(VMM_PAGE - 1);
	p->cmdline_len = strlen(cmdline);
	if (direct) {
		p->format = d.format;
		p->cached = d.cached;
		p->kaslr = (d.rel.n64 || d.rel.ninv || d.rel.n32) && h.relocatable &&
			   !has_word(given, "nokaslr");
	}

	mark = gm_early_mark(mem);
	ret = vmm_linux_place_low(mem, p, (h.cmdline_size + VMM_PAGE) & ~(VMM_PAGE - 1),
				  "zeropage", e);
	/* a randomized kernel goes where the initrd is not: initrd first */
	if (!ret && initrd_size && p->kaslr)
		ret = vmm_initrd_place(mem, a->initrd, initrd_size,
				       (uint64_t)h.initrd_addr_max + 1,
				       h.xloadflags & BP_XLF_ABOVE_4G, &p->initrd, e);
	if (!ret)
		ret = place_load_kernel(mem, a, &h, direct ? &d : NULL, p, e);
	if (!ret && initrd_size && !p->kaslr)
		ret = vmm_initrd_place(mem, a->initrd, initrd_size,
				       (uint64_t)h.initrd_addr_max + 1,
				       h.xloadflags & BP_XLF_ABOVE_4G, &p->initrd, e);
	p->initrd_size = initrd_size;
	t1 = vmm_now_ms();
	if (!ret && initrd_size)
		ret = vmm_load_file(mem, "initrd", a->initrd, 0, initrd_size,
				    p->initrd, e);
	p->times.initrd = vmm_now_ms() - t1;
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
	p->entry.rsi = p->zero_page;
	*plan = p;
	free(cmdline);
	vmm_direct_close(&d);
	return 0;
err:
	gm_early_rollback(mem, mark);
err_free:
	free(cmdline);
	free(p);
	vmm_direct_close(&d);
	return ret;
}

void vmm_boot_describe(const struct vmm_boot_plan *p, char *buf, size_t len)
{
	static const char *const kind[] = {
		[VMM_PLAN_BZIMAGE] = "bzimage (the kernel decompresses itself)",
		[VMM_PLAN_DIRECT] = "direct",
		[VMM_PLAN_PVH] = "direct (PVH entry)",
	};
	char how[64] = "";

	if (!p) {
		snprintf(buf, len, "no plan");
		return;
	}
	if (p->kind == VMM_PLAN_DIRECT)
		snprintf(how, sizeof(how), " (%s payload, %s)", p->format,
			 p->cached ? "cached" : "decompressed");
	snprintf(buf, len, "boot %s%s, kernel at 0x%llx+0x%llx, %s, entry 0x%llx %s",
		 kind[p->kind], how, (unsigned long long)p->kernel,
		 (unsigned long long)p->kernel_size,
		 p->kind == VMM_PLAN_BZIMAGE ? "KASLR left to the kernel" :
		 p->kaslr ? "KASLR" : "no KASLR",
		 (unsigned long long)p->entry.rip,
		 p->entry.mode == VMM_ENTRY_PROT32 ? "32-bit" : "64-bit");
	if (p->kind == VMM_PLAN_DIRECT) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, ", virtual base 0x%llx",
			 (unsigned long long)p->virt_base);
	}
	{
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "; placed in ms: open %.3f load %.3f reloc %.3f initrd %.3f",
			 p->times.open, p->times.load, p->times.reloc, p->times.initrd);
	}
}

double vmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * The RAM of every node, for SRAT: what e820 says is RAM there; then the
 * node's hot-plug region, Hot Pluggable, so the guest knows its proximity
 * domain and sizes its memory map for it (it is not in e820: virtio-mem
 * adds it).
 */
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
							  map.e[i].size, false };
		}
		vmm_e820_release(&map);
		if (!ret) {
			struct gm_node_stat st;

			if (gm_node_stat(mem, node, &st) || !st.hotplug_size)
				continue;
			if (gm_grow(&m, &cap, cnt + 1, sizeof(*m))) {
				ret = gm_error_set(e, ENOMEM, "SRAT: out of memory");
				break;
			}
			m[cnt++] = (struct vmm_acpi_mem){ node, st.hotplug_base,
							  st.hotplug_size, true };
		}
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
	if (map.nr > (plan->kind == VMM_PLAN_PVH ? PVH_MEMMAP_MAX : ZP_E820_MAX)) {
		ret = gm_error_set(e, E2BIG, "e820 map: %u entries, the %s holds %d",
			   map.nr, plan->kind == VMM_PLAN_PVH ? "PVH memory map" : "zero page",
			   plan->kind == VMM_PLAN_PVH ? PVH_MEMMAP_MAX : ZP_E820_MAX);
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
	if (plan->kind == VMM_PLAN_PVH) {
		ret = vmm_pvh_memmap(mem, plan, &map, e);
		if (!ret)
			*out = plan->entry;
		goto out;
	}
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
