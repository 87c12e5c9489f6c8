// SPDX-License-Identifier: MIT
/*
 * test_direct.c - booting with no in-guest decompression: vmm/direct.c,
 * decompress.c, elf.c, reloc.c, kcache.c and pvh.c on a backed 256 MiB
 * node 0, with the synthetic kernels of kimage.h (one per compression
 * format) and, when there is one, the real /boot/vmlinuz-*.
 *
 * Every refusal is a one-line message and leaves the early allocator as
 * it was; every success is checked byte for byte where it was placed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "layout.h"
#include "kimage.h"
#include "vmm.h"
#include "../check-run.h"

#define MIB	(1024ULL * 1024)

static struct gm_mem *mem;
static char dir[] = "/tmp/kvmem-test-direct-XXXXXX";
static char kpath[128], cache[128], realcache[128];
static const char *const formats[] = { "xz", "gzip", "zstd", "lz4" };

static struct gm_mem *mkmem(const char *numa)
{
	struct gm_config cfg;
	struct gm_error e = { 0 };
	struct gm_mem *m;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa(numa, &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &m, &e), 0);
	ck_assert_msg(gm_mem_back(m, 0, &e) == 0, "%s", e.msg);
	return m;
}

static void setup(void)
{
	mem = mkmem("0:256M");
}

static void teardown(void)
{
	gm_mem_destroy(mem);
	mem = NULL;
}

static void spill(const char *path, const void *d, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(d, 1, len, f), len);
	fclose(f);
}

/* A bzImage of the synthetic kernel in @format written to kpath. */
static void put_bzimage(const char *format, bool relocs)
{
	size_t elen, blen;
	uint8_t *elf = ki_elf(relocs, true, &elen), *bz;
	struct ki_buf p = { 0 };

	ck_assert(ki_compress(format, elf, elen, &p));
	bz = ki_bzimage(p.d, p.len, elen, &blen);
	spill(kpath, bz, blen);
	free(bz);
	free(p.d);
	free(elf);
}

static char what[128];		/* the case, for failure messages */

static int nr_early(void)
{
	struct gm_early_range r[64];

	return gm_early_ranges(mem, 0, r, 64);
}

/* Placing fails with @err, one printable line, nothing placed. */
static void expect_refused(const struct vmm_linux_args *a, int err,
			   const char *needle)
{
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	int before = nr_early(), ret = vmm_linux_place(mem, a, &p, &e);

	ck_assert_msg(ret == -err, "%s: got %d (%s), want %d", what, ret, e.msg, -err);
	ck_assert_int_eq(e.err, err);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(nr_early(), before);
	ck_assert(e.msg[0]);
	for (const char *c = e.msg; *c; c++)
		ck_assert_msg(*c >= 0x20 && *c < 0x7f, "%s", e.msg);
	if (needle)
		ck_assert_msg(strstr(e.msg, needle), "'%s' not in: %s", needle, e.msg);
}

static uint64_t rd(uint64_t gpa, unsigned w)
{
	uint64_t v = 0;

	memcpy(&v, gm_mem_hva(mem, gpa, w), w);
	return v;
}

/*
 * The synthetic kernel's bytes as loaded at @base, relocated by @delta:
 * text and data as in the ELF, except the relocated words; bss zero.
 */
static void check_loaded(uint64_t base, uint64_t delta)
{
	size_t elen;
	uint8_t *elf = ki_elf(false, true, &elen);
	const uint8_t *text = gm_mem_hva(mem, base, KI_SPAN);
	uint64_t at = base - KI_LO;

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(rd(KI_R64_A + at, 8), KI_V64 + delta);
	ck_assert_uint_eq(rd(KI_R64_B + at, 8), KI_V64 + delta);
	ck_assert_uint_eq((uint32_t)rd(KI_INV + at, 4), (uint32_t)(KI_VINV - delta));
	ck_assert_uint_eq((uint32_t)rd(KI_R32_A + at, 4), (uint32_t)(KI_V32 + delta));
	ck_assert_uint_eq((uint32_t)rd(KI_R32_B + at, 4), (uint32_t)(KI_V32 + delta));
	/* untouched bytes: the first 0x200 of text, data after the words */
	ck_assert(!memcmp(text, elf + KI_TEXT_OFF, 0x200));
	ck_assert(!memcmp(text + KI_TEXT_SIZE + 0x40, elf + KI_DATA_OFF + 0x40,
			  KI_DATA_FILE - 0x40));
	for (size_t i = KI_TEXT_SIZE + KI_DATA_FILE; i < KI_SPAN; i++)
		ck_assert_uint_eq(text[i], 0);
	free(elf);
}

/*
 * Expect, for every format, with "nokaslr": a direct plan, the payload's
 * format named, the kernel at pref_address (16 MiB) holding the ELF's
 * bytes unrelocated, entry = startup_64 (e_entry) in 64-bit mode, RSI =
 * the zero page, whose loadflags say no KASLR.
 */
START_TEST(test_formats_nokaslr)
{
	for (unsigned f = 0; f < 4; f++) {
		struct vmm_linux_args a = { .kernel = kpath, .boot = VMM_BOOT_DIRECT,
					    .cmdline = "console=ttyS0 nokaslr" };
		struct vmm_boot_plan *p = NULL;
		struct gm_error e = { 0 };
		uint64_t mark = gm_early_mark(mem);
		uint8_t *zp;

		put_bzimage(formats[f], true);
		ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s: %s", formats[f], e.msg);
		ck_assert_int_eq(p->kind, VMM_PLAN_DIRECT);
		ck_assert_str_eq(p->format, formats[f]);
		ck_assert(!p->cached && !p->kaslr);
		ck_assert_uint_eq(p->kernel, KI_LO);
		ck_assert_uint_eq(p->kernel_size, KI_SPAN);
		ck_assert_uint_eq(p->entry.rip, KI_LO);
		ck_assert_int_eq(p->entry.mode, VMM_ENTRY_LONG64);
		ck_assert_uint_eq(p->entry.rsi, p->zero_page);
		ck_assert_uint_eq(p->virt_base, KI_LO + KI_MAP);
		check_loaded(p->kernel, 0);
		zp = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
		ck_assert_uint_eq(zp[BP_LOADFLAGS] & BP_KASLR_FLAG, 0);
		vmm_boot_plan_free(p);
		ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
	}
}
END_TEST

/*
 * Expect with KASLR (no "nokaslr"): the physical base 2 MiB-aligned at or
 * above 16 MiB, inside node 0; the virtual base 2 MiB-aligned with the
 * kernel inside the 1 GiB kernel mapping; every relocation moved by the
 * virtual delta; the zero page's loadflags say KASLR. Over 12 boots the
 * virtual base takes more than one value.
 */
START_TEST(test_kaslr)
{
	uint64_t first = 0;
	bool moved = false;

	put_bzimage("zstd", true);
	for (int i = 0; i < 12; i++) {
		struct vmm_linux_args a = { .kernel = kpath, .cmdline = "console=ttyS0" };
		struct vmm_boot_plan *p = NULL;
		struct gm_error e = { 0 };
		uint64_t mark = gm_early_mark(mem), delta;
		uint8_t *zp;

		ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(p->kind, VMM_PLAN_DIRECT);
		ck_assert(p->kaslr);
		ck_assert_uint_eq(p->kernel % 0x200000, 0);
		ck_assert_uint_ge(p->kernel, KI_LO);
		ck_assert_uint_le(p->kernel + p->kernel_size, 256 * MIB);
		ck_assert_uint_eq(p->entry.rip, p->kernel);
		delta = p->virt_base - KI_MAP - KI_LO;
		ck_assert_uint_eq(delta % 0x200000, 0);
		ck_assert_uint_le(p->virt_base - KI_MAP + KI_SPAN, LNX_KERNEL_IMAGE_SIZE);
		check_loaded(p->kernel, delta);
		zp = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
		ck_assert_uint_eq(zp[BP_LOADFLAGS] & BP_KASLR_FLAG, BP_KASLR_FLAG);
		if (!i)
			first = p->virt_base;
		moved |= p->virt_base != first;
		vmm_boot_plan_free(p);
		ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
	}
	ck_assert(moved);
}
END_TEST

/* True if [a, a+alen) and [b, b+blen) share a byte. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * The KASLR invariants of one plan for a kernel of @span bytes (ELF) whose
 * payload is @payload bytes: the kernel 2 MiB-aligned in [16 MiB, node end),
 * clear of the initrd, zero page and command line; its virtual base
 * 2 MiB-aligned, at or above 16 MiB, with the whole image (the larger of
 * span and payload, as the kernel's decompressor counts it) inside the 1 GiB
 * kernel mapping; the initrd below initrd_addr_max.
 */
static void check_kaslr_plan(const struct vmm_boot_plan *p, uint64_t span,
			     uint64_t payload, uint64_t node_end)
{
	uint64_t virt = p->virt_base - KI_MAP, image = span > payload ? span : payload;

	ck_assert(p->kaslr);
	ck_assert_uint_eq(p->kernel % 0x200000, 0);
	ck_assert_uint_ge(p->kernel, KI_LO);
	ck_assert_uint_ge(p->kernel_size, span);
	ck_assert_uint_le(p->kernel + p->kernel_size, node_end);
	ck_assert_msg(!overlaps(p->kernel, p->kernel_size, p->initrd, p->initrd_size),
		      "kernel 0x%llx+0x%llx overlaps initrd 0x%llx+0x%llx",
		      (unsigned long long)p->kernel, (unsigned long long)p->kernel_size,
		      (unsigned long long)p->initrd, (unsigned long long)p->initrd_size);
	ck_assert(!overlaps(p->kernel, p->kernel_size, p->zero_page, ZP_SIZE));
	ck_assert(!overlaps(p->kernel, p->kernel_size, p->cmdline, p->cmdline_len + 1));
	ck_assert_uint_le(p->initrd + p->initrd_size, node_end);
	ck_assert_uint_eq(virt % 0x200000, 0);
	ck_assert_uint_ge(virt, KI_LO);
	ck_assert_msg(virt + image <= LNX_KERNEL_IMAGE_SIZE, "virtual 0x%llx + 0x%llx beyond 1 GiB",
		      (unsigned long long)virt, (unsigned long long)image);
}

/*
 * Expect: over many random draws (a 96 MiB initrd crowding the 256 MiB
 * node), every KASLR placement keeps the invariants of check_kaslr_plan(),
 * and the draws reach both ends of the physical and virtual ranges' middle.
 */
START_TEST(test_kaslr_invariants)
{
	char initrd[160];
	uint64_t lo_phys = UINT64_MAX, hi_phys = 0;

	snprintf(initrd, sizeof(initrd), "%s/initrd-big", dir);
	{
		FILE *f = fopen(initrd, "wb");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(ftruncate(fileno(f), 96 * MIB), 0);
		fclose(f);
	}
	put_bzimage("lz4", true);
	for (int i = 0; i < 400; i++) {
		struct vmm_linux_args a = { .kernel = kpath, .initrd = initrd,
					    .cmdline = "console=ttyS0" };
		struct vmm_boot_plan *p = NULL;
		struct gm_error e = { 0 };
		uint64_t mark = gm_early_mark(mem);

		ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
		check_kaslr_plan(p, KI_SPAN, KI_SPAN, 256 * MIB);
		lo_phys = p->kernel < lo_phys ? p->kernel : lo_phys;
		hi_phys = p->kernel > hi_phys ? p->kernel : hi_phys;
		vmm_boot_plan_free(p);
		ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
	}
	ck_assert_uint_lt(lo_phys, 64 * MIB);
	ck_assert_uint_gt(hi_phys, 96 * MIB);
	unlink(initrd);
}
END_TEST

/*
 * Expect, in test builds (KVMEM_TEST_KASLR honoured): "max:max" puts the
 * kernel in the highest free physical slot (the next one up would touch
 * the initrd at the node's top) and the image at the top of the 1 GiB
 * kernel mapping; an explicit pair is placed exactly; both keep the
 * invariants. Skipped (one line) in a build without test hooks.
 */
START_TEST(test_kaslr_pinned)
{
	static const char *const pins[] = { "max:max", "4200000:ffffffff90000000" };
	struct vmm_kaslr_pin pin;
	char initrd[160];

	setenv("KVMEM_TEST_KASLR", "max:max", 1);
	if (vmm_kaslr_test_pin(&pin)) {
		unsetenv("KVMEM_TEST_KASLR");
		printf("test_kaslr_pinned: built without test hooks: skipped\n");
		return;
	}
	snprintf(initrd, sizeof(initrd), "%s/initrd-pin", dir);
	spill(initrd, "0123456789", 10);
	put_bzimage("lz4", true);
	for (unsigned i = 0; i < 2; i++) {
		struct vmm_linux_args a = { .kernel = kpath, .initrd = initrd,
					    .cmdline = "console=ttyS0" };
		struct vmm_boot_plan *p = NULL;
		struct gm_error e = { 0 };
		uint64_t mark = gm_early_mark(mem);

		setenv("KVMEM_TEST_KASLR", pins[i], 1);
		ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s: %s", pins[i], e.msg);
		check_kaslr_plan(p, KI_SPAN, KI_SPAN, 256 * MIB);
		if (i == 0) {
			ck_assert_uint_le(p->kernel + p->kernel_size, p->initrd);
			ck_assert_uint_gt(p->kernel + 0x200000 + p->kernel_size, p->initrd);
			ck_assert_uint_gt(p->virt_base - KI_MAP + KI_SPAN + 0x200000,
					  LNX_KERNEL_IMAGE_SIZE);
		} else {
			ck_assert_uint_eq(p->kernel, 0x4200000);
			ck_assert_uint_eq(p->virt_base, 0xffffffff90000000ULL);
		}
		check_loaded(p->kernel, p->virt_base - KI_MAP - KI_LO);
		vmm_boot_plan_free(p);
		ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
	}
	unsetenv("KVMEM_TEST_KASLR");
	unlink(initrd);
}
END_TEST

/* Expect: a kernel without a relocation table boots direct, unrandomized. */
START_TEST(test_no_relocs)
{
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "console=ttyS0" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };

	put_bzimage("gzip", false);
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(p->kind, VMM_PLAN_DIRECT);
	ck_assert(!p->kaslr);
	ck_assert_uint_eq(p->kernel, KI_LO);
	vmm_boot_plan_free(p);
}
END_TEST

/* A payload of @len bytes in a bzImage at kpath. */
static void put_payload(const uint8_t *pl, size_t len, size_t declared)
{
	size_t blen;
	uint8_t *bz = ki_bzimage(pl, len, declared, &blen);

	spill(kpath, bz, blen);
	free(bz);
}

/*
 * Expect: a payload kvmem does not decompress (bzip2 magic) goes the
 * bzImage way under auto and is refused (-EOPNOTSUPP, one line) under
 * direct; so is an unknown magic.
 */
START_TEST(test_unsupported_format)
{
	static const uint8_t bz2[] = "BZh91AY&SY0123456789abcdef";
	static const uint8_t junk[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a";
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };

	put_payload(bz2, sizeof(bz2), 0x100000);
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(p->kind, VMM_PLAN_BZIMAGE);
	ck_assert_uint_eq(p->entry.rip, p->kernel + BP_ENTRY_64);
	vmm_boot_plan_free(p);
	gm_mem_destroy(mem);
	mem = mkmem("0:256M");
	a.boot = VMM_BOOT_DIRECT;
	expect_refused(&a, EOPNOTSUPP, "bzip2");
	put_payload(junk, sizeof(junk), 0x100000);
	expect_refused(&a, EOPNOTSUPP, "unknown compression");
}
END_TEST

/*
 * Expect -ENOEXEC, one line, nothing placed, under auto and direct, for:
 * a size that lies (too big, too small, zero, above init_size), a
 * truncated stream, flipped bytes in a stream that carries a checksum
 * (xz, gzip, zstd as the zstd tool writes it; lz4 has none), and an ELF inside that
 * is broken (bad magic, a segment past the file, a note past its segment,
 * a PVH entry outside the segments, a relocation outside the kernel).
 */
START_TEST(test_bad_payloads)
{
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "" };

	for (unsigned f = 0; f < 4; f++) {
		size_t elen;
		uint8_t *elf = ki_elf(true, true, &elen);
		struct ki_buf p = { 0 };
		uint32_t size;

		ck_assert(ki_compress(formats[f], elf, elen, &p));
		/* the declared size lies: one more, one less, 0, huge */
		{
			static const int64_t d[] = { 1, -1, -(int64_t)0x7fffffff, 0x10000000 };

			for (int i = 0; i < 4; i++) {
				uint8_t *c = malloc(p.len);

				memcpy(c, p.d, p.len);
				memcpy(&size, c + p.len - 4, 4);
				size = d[i] == -(int64_t)0x7fffffff ? 0 : (uint32_t)(size + d[i]);
				memcpy(c + p.len - 4, &size, 4);
				put_payload(c, p.len, elen);
				snprintf(what, sizeof(what), "%s, declared size %u", formats[f], size);
				a.boot = i & 1 ? VMM_BOOT_DIRECT : VMM_BOOT_AUTO;
				expect_refused(&a, ENOEXEC, formats[f]);
				free(c);
			}
		}
		/* truncated: the stream's second half lost (the size kept last) */
		{
			uint8_t *c = malloc(p.len);
			size_t keep = p.len / 2;

			memcpy(c, p.d, keep);
			memcpy(c + keep, p.d + p.len - 4, 4);
			put_payload(c, keep + 4, elen);
			snprintf(what, sizeof(what), "%s, truncated", formats[f]);
			expect_refused(&a, ENOEXEC, formats[f]);
			free(c);
		}
		/* bytes flipped in the middle of the stream (lz4 has no check to fail) */
		if (strcmp(formats[f], "lz4")) {
			uint8_t *c = malloc(p.len);

			memcpy(c, p.d, p.len);
			for (size_t i = 16; i < 24 && i < p.len - 8; i++)
				c[p.len / 2 + i - 16] ^= 0x5a;
			put_payload(c, p.len, elen);
			snprintf(what, sizeof(what), "%s, flipped", formats[f]);
			expect_refused(&a, ENOEXEC, NULL);
			free(c);
		}
		free(p.d);
		free(elf);
	}
}
END_TEST

/* The synthetic ELF, broken by @mutate, compressed into kpath. */
static void put_broken_elf(void (*mutate)(uint8_t *elf, size_t *len))
{
	size_t elen;
	uint8_t *elf = ki_elf(true, true, &elen);
	struct ki_buf p = { 0 };

	mutate(elf, &elen);
	ck_assert(ki_compress("gzip", elf, elen, &p));
	put_payload(p.d, p.len, elen);
	free(p.d);
	free(elf);
}

static void m_magic(uint8_t *d, size_t *len) { (void)len; d[1] = 'X'; }
static void m_class(uint8_t *d, size_t *len) { (void)len; d[4] = 1; }
static void m_seg_past(uint8_t *d, size_t *len)
{
	(void)len;
	ki_put(d, ELF_EHDR_SIZE + ELF_P_FILESZ, 8, 0x100000);
	ki_put(d, ELF_EHDR_SIZE + ELF_P_MEMSZ, 8, 0x100000);
}
static void m_overlap(uint8_t *d, size_t *len)
{
	(void)len;
	ki_put(d, ELF_EHDR_SIZE + ELF_PHDR_SIZE + ELF_P_PADDR, 8, KI_LO + 0x1000);
}
static void m_note_past(uint8_t *d, size_t *len)
{
	(void)len;
	ki_put(d, KI_TEXT_OFF + KI_NOTE_AT + 24 + 4, 4, 0x1000);	/* Xen descsz */
}
static void m_pvh_outside(uint8_t *d, size_t *len)
{
	(void)len;
	ki_put(d, KI_TEXT_OFF + KI_NOTE_AT + 24 + 16, 8, 0x90000000);
}
static void m_reloc_outside(uint8_t *d, size_t *len)
{
	ki_put(d, *len - 4, 4, (uint32_t)(KI_MAP + 0x5000000));
}
static void m_reloc_bss(uint8_t *d, size_t *len)
{
	ki_put(d, *len - 4, 4, (uint32_t)(KI_MAP + KI_LO + KI_TEXT_SIZE + KI_DATA_FILE + 8));
}
static void m_reloc_junk(uint8_t *d, size_t *len)
{
	ki_put(d, KI_ELF_END, 4, 0x12345678);	/* no leading terminator */
	(void)len;
}
static void m_shdr_past(uint8_t *d, size_t *len)
{
	(void)len;
	ki_put(d, ELF_E_SHNUM, 2, 0x400);
}
static void m_entry_outside(uint8_t *d, size_t *len)
{
	(void)len;
	ki_put(d, ELF_E_ENTRY, 8, 0x20000000);
}

START_TEST(test_bad_elves)
{
	static const struct {
		void (*fn)(uint8_t *, size_t *);
		const char *needle;
	} cases[] = {
		{ m_magic, "not an ELF" }, { m_class, "64-bit" },
		{ m_seg_past, "not inside" }, { m_overlap, "overlaps" },
		{ m_note_past, "note" }, { m_pvh_outside, "PVH entry" },
		{ m_reloc_outside, "relocation" }, { m_reloc_bss, "relocation" },
		{ m_reloc_junk, "relocation table" }, { m_shdr_past, "section headers" },
		{ m_entry_outside, "entry" },
	};
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put_broken_elf(cases[i].fn);
		snprintf(what, sizeof(what), "broken ELF %zu", i);
		a.boot = i & 1 ? VMM_BOOT_DIRECT : VMM_BOOT_AUTO;
		expect_refused(&a, ENOEXEC, cases[i].needle);
	}
}
END_TEST

/*
 * Expect: the first boot decompresses and stores the payload in the cache
 * (one entry, the ELF's size); the second reads it back (cached, same
 * bytes loaded); a rewritten bzImage misses and replaces the entry; a
 * damaged entry is ignored (decompressed again) and replaced.
 */
START_TEST(test_cache)
{
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "nokaslr",
				    .cache_dir = cache };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	char entry[512];
	struct stat st;
	size_t elen;
	uint8_t *elf = ki_elf(true, true, &elen);
	uint64_t mark;

	put_bzimage("xz", true);
	for (int round = 0; round < 4; round++) {
		mark = gm_early_mark(mem);
		ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "round %d: %s", round, e.msg);
		ck_assert_int_eq(p->kind, VMM_PLAN_DIRECT);
		ck_assert_msg(p->cached == (round == 1), "round %d cached %d", round, p->cached);
		check_loaded(p->kernel, 0);
		vmm_boot_plan_free(p);
		ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
		ck_assert_int_eq(stat(kpath, &st), 0);
		ck_assert_int_eq(vmm_kcache_find(cache, kpath, &st, elen, entry, sizeof(entry)), 0);
		ck_assert_int_eq(stat(entry, &st), 0);
		ck_assert_uint_eq((uint64_t)st.st_size, elen);
		ck_assert_uint_eq(st.st_mode & 0777, 0600);
		if (round == 1) {	/* a new bzImage (other inode): a miss */
			unlink(kpath);
			put_bzimage("xz", true);
		} else if (round == 2) {	/* damage the entry, same size */
			int fd = open(entry, O_WRONLY);

			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(pwrite(fd, "junk", 4, 0), 4);
			close(fd);
		}
	}
	{	/* one entry per kernel path */
		char cmd[300];
		FILE *f;
		int n = -1;

		snprintf(cmd, sizeof(cmd), "ls %s | wc -l", cache);
		f = popen(cmd, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fscanf(f, "%d", &n), 1);
		pclose(f);
		ck_assert_int_eq(n, 1);
	}
	free(elf);
}
END_TEST

/*
 * Expect for the ELF as a vmlinux (PVH): the segments at their p_paddr, a
 * 32-bit entry at the note's address with EBX = the start info, which
 * holds the magic, version 1, the command line, the initrd as module 0 and
 * the RSDP; after retire and finish, the memory map = the e820 map, and
 * the DSDT that RSDP leads to describes the topology's virtio device. With
 * --boot bzimage, or without the note, or where its load address is not
 * free, refused with one line and nothing placed.
 */
START_TEST(test_pvh)
{
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "console=ttyS0 pvh" };
	struct vmm_topology t = { .nr_cpus = 1, .nr_nodes = 1 };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	struct vmm_entry en;
	struct vmm_e820 map = { 0 };
	struct gm_request req;
	struct gm_node_stat st;
	struct gm_alloc_info *info;
	struct vmm_guest_ram ram = { 0 };
	char initrd[160];
	uint8_t *si, *elf;
	size_t elen;

	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	a.initrd = initrd;
	spill(initrd, "0123456789", 10);
	elf = ki_elf(false, true, &elen);
	spill(kpath, elf, elen);
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(p->kind, VMM_PLAN_PVH);
	ck_assert_uint_eq(p->kernel, KI_LO);
	check_loaded(p->kernel, 0);
	ck_assert_int_eq(p->entry.mode, VMM_ENTRY_PROT32);
	ck_assert_uint_eq(p->entry.rip, KI_PVH_ENTRY);
	ck_assert_uint_eq(p->entry.rbx, p->zero_page);
	si = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
	ck_assert_uint_eq(rd(p->zero_page + PVH_SI_MAGIC, 4), PVH_START_MAGIC);
	ck_assert_uint_eq(rd(p->zero_page + PVH_SI_VERSION, 4), 1);
	ck_assert_uint_eq(rd(p->zero_page + PVH_SI_NR_MODULES, 4), 1);
	ck_assert_uint_eq(rd(p->zero_page + PVH_SI_RSDP, 8), VMM_ACPI_START);
	ck_assert_str_eq(gm_mem_hva(mem, rd(p->zero_page + PVH_SI_CMDLINE, 8), 1), a.cmdline);
	{
		uint64_t mod = rd(p->zero_page + PVH_SI_MODLIST, 8);

		ck_assert_uint_eq(rd(mod + 8, 8), 10);
		ck_assert(!memcmp(gm_mem_hva(mem, rd(mod, 8), 10), "0123456789", 10));
		ck_assert_uint_lt(rd(mod, 8) + 10, 0x80000000ULL);
	}
	/* the rest of the boot flow */
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_int_eq(gm_node_stat(mem, 0, &st), 0);
	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), GM_VM_PREFIX "ram0");
	snprintf(req.purpose, sizeof(req.purpose), "guest RAM, node 0");
	req.size = st.avail;
	req.flags = GM_F_NOCLEAR;
	ck_assert_msg(gm_alloc(mem, &req, &info, &e) == 0, "%s", e.msg);
	ram.id[ram.nr++] = info->id;
	gm_alloc_info_free(info);
	/* a virtio-mmio device: the DSDT the start info's RSDP leads to has it */
	ck_assert_int_eq(vmm_virtio_slot(0, &t.dev[0].base, &t.dev[0].size, &t.dev[0].gsi), 0);
	t.nr_devs = 1;
	ck_assert_msg(vmm_linux_finish(mem, p, &t, &ram, &en, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(en.mode, VMM_ENTRY_PROT32);
	{
		uint64_t rsdp = rd(p->zero_page + PVH_SI_RSDP, 8), xsdt, fadt = 0, dsdt;
		uint32_t len, base = (uint32_t)t.dev[0].base;
		const uint8_t *d;

		ck_assert(!memcmp(gm_mem_hva(mem, rsdp, 8), "RSD PTR ", 8));
		xsdt = rd(rsdp + 24, 8);
		len = (uint32_t)rd(xsdt + 4, 4);
		for (uint32_t o = 36; o + 8 <= len; o += 8)
			if (!memcmp(gm_mem_hva(mem, rd(xsdt + o, 8), 4), "FACP", 4))
				fadt = rd(xsdt + o, 8);
		ck_assert_uint_ne(fadt, 0);
		dsdt = rd(fadt + 140, 8);			/* X_DSDT */
		len = (uint32_t)rd(dsdt + 4, 4);
		d = gm_mem_hva(mem, dsdt, len);
		ck_assert(!memcmp(d, "DSDT", 4));
		ck_assert_ptr_nonnull(memmem(d, len, "VR00", 4));
		ck_assert_ptr_nonnull(memmem(d, len, "LNRO0005", 9));
		ck_assert_ptr_nonnull(memmem(d, len, &base, 4));	/* Memory32Fixed base */
	}
	/* the start info's map is the run's: its RAM by id, early ranges by type */
	ck_assert_int_eq(vmm_e820_build(mem, &ram, -1, &map, &e), 0);
	ck_assert_uint_eq(rd(p->zero_page + PVH_SI_MEMMAP_ENTRIES, 4), map.nr);
	for (unsigned i = 0; i < map.nr; i++) {
		uint64_t ent = rd(p->zero_page + PVH_SI_MEMMAP, 8) + PVH_MAP_SIZE * i;

		ck_assert_uint_eq(rd(ent, 8), map.e[i].addr);
		ck_assert_uint_eq(rd(ent + 8, 8), map.e[i].size);
		ck_assert_uint_eq(rd(ent + 16, 4), map.e[i].type);
	}
	/* the start info page ("startinfo", GM_EARLY_RAM) is RAM to the kernel */
	{
		bool ram_si = false;

		for (unsigned i = 0; i < map.nr; i++)
			if (map.e[i].addr <= p->zero_page &&
			    p->zero_page + ZP_SIZE <= map.e[i].addr + map.e[i].size)
				ram_si = map.e[i].type == VMM_E820_RAM;
		ck_assert_msg(ram_si, "the start info at 0x%llx is not RAM in the map",
			      (unsigned long long)p->zero_page);
	}
	(void)si;
	vmm_e820_release(&map);
	vmm_boot_plan_free(p);
	gm_mem_destroy(mem);

	mem = mkmem("0:256M");
	a.boot = VMM_BOOT_BZIMAGE;
	expect_refused(&a, ENOEXEC, "not a bzImage");
	a.boot = VMM_BOOT_DIRECT;
	free(elf);
	elf = ki_elf(false, false, &elen);
	spill(kpath, elf, elen);
	expect_refused(&a, ENOEXEC, "PVH entry note");
	free(elf);
	gm_mem_destroy(mem);
	mem = mkmem("0:16M");		/* 16 MiB: nothing at 16 MiB */
	elf = ki_elf(false, true, &elen);
	spill(kpath, elf, elen);
	a.initrd = NULL;
	expect_refused(&a, ENOMEM, "where it is linked");
	free(elf);
}
END_TEST

/* Truncated vmlinux files: every cut is refused with nothing placed. */
START_TEST(test_pvh_truncated)
{
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = "" };
	size_t elen, cuts[] = { 0, 3, 4, 63, 64, 100, 232, 4096, KI_TEXT_OFF + 0x800,
				KI_TEXT_OFF + 0x820, KI_DATA_OFF, KI_DATA_OFF + 100,
				KI_SHOFF, KI_ELF_END - 1 };
	uint8_t *elf = ki_elf(false, true, &elen);

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		spill(kpath, elf, cuts[i]);
		expect_refused(&a, ENOEXEC, NULL);
	}
	free(elf);
}
END_TEST

/*
 * The real kernel, when /boot has one: its payload decompresses (xz on
 * Debian), its ELF has the PVH note and a relocation table, and it places
 * directly with KASLR; the cache entry it leaves is a vmlinux that places
 * through PVH at its link address.
 */
START_TEST(test_real_kernel)
{
	struct vmm_linux_args a = { .cmdline = "console=ttyS0", .cache_dir = realcache };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	struct timespec t0, t1;
	char entry[512];
	struct stat st;
	glob_t g;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g)) {
		printf("test_real_kernel: no /boot/vmlinuz-*: skipped\n");
		return;
	}
	a.kernel = g.gl_pathv[0];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("test_real_kernel: %s placed directly (%s payload) in %.0f ms\n",
	       a.kernel, p->format, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ck_assert_int_eq(p->kind, VMM_PLAN_DIRECT);
	ck_assert(p->kaslr);
	ck_assert_uint_eq(p->kernel % 0x200000, 0);
	vmm_boot_plan_free(p);
	gm_mem_destroy(mem);

	/* the cache entry is the decompressed payload: a PVH vmlinux */
	mem = mkmem("0:256M");
	ck_assert_int_eq(stat(a.kernel, &st), 0);
	ck_assert_int_eq(vmm_kcache_find(realcache, a.kernel, &st, 0, entry, sizeof(entry)), -ENOENT);
	{
		char cmd[600];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "ls %s/*.elf", realcache);
		f = popen(cmd, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(entry, sizeof(entry), f));
		pclose(f);
		entry[strcspn(entry, "\n")] = '\0';
	}
	a.kernel = entry;
	a.cache_dir = NULL;
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(p->kind, VMM_PLAN_PVH);
	ck_assert_uint_eq(p->kernel, 0x1000000);
	ck_assert_int_eq(p->entry.mode, VMM_ENTRY_PROT32);
	ck_assert_uint_gt(p->entry.rip, p->kernel);
	vmm_boot_plan_free(p);
	globfree(&g);
}
END_TEST

/*
 * Expect: a cache entry keeps its zero 64 KiB blocks as holes (a one-segment
 * ELF whose 1 MiB of bytes are data, 768 KiB of zeros, data); the ELF
 * loader reads it back exactly: the data where it belongs and zeros in
 * between, in fresh guest memory.
 */
START_TEST(test_sparse_entry)
{
	const size_t seg_off = 0x10000, seg_len = 1 << 20, data = 0x20000;
	size_t len = seg_off + seg_len;
	uint8_t *d = calloc(1, len);
	struct vmm_image im = { .size = len };
	struct gm_error e = { 0 };
	struct vmm_elf elf;
	char entry[512];
	struct stat st, hst;
	const uint8_t *g;

	ck_assert_ptr_nonnull(d);
	ki_ehdr(d, 1);
	ki_put(d + ELF_EHDR_SIZE, ELF_P_TYPE, 4, ELF_PT_LOAD);
	ki_put(d + ELF_EHDR_SIZE, ELF_P_OFFSET, 8, seg_off);
	ki_put(d + ELF_EHDR_SIZE, ELF_P_VADDR, 8, KI_LO + KI_MAP);
	ki_put(d + ELF_EHDR_SIZE, ELF_P_PADDR, 8, KI_LO);
	ki_put(d + ELF_EHDR_SIZE, ELF_P_FILESZ, 8, seg_len);
	ki_put(d + ELF_EHDR_SIZE, ELF_P_MEMSZ, 8, seg_len);
	memset(d + seg_off, 0xa5, data);
	memset(d + len - data, 0x5a, data);

	spill(kpath, "k", 1);
	ck_assert_int_eq(stat(kpath, &st), 0);
	vmm_kcache_store(cache, kpath, &st, d, len);
	ck_assert_int_eq(vmm_kcache_find(cache, kpath, &st, len, entry, sizeof(entry)), 0);
	ck_assert_int_eq(stat(entry, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, len);
	/* where the filesystem keeps holes (a truncated file has no blocks) */
	ck_assert_int_eq(truncate(kpath, 1 << 20), 0);
	ck_assert_int_eq(stat(kpath, &hst), 0);
	ck_assert_msg(hst.st_blocks > 8 || (uint64_t)st.st_blocks * 512 <= len - (512u << 10),
		      "%llu bytes allocated for %zu, 768 KiB of them zero",
		      (unsigned long long)st.st_blocks * 512, len);

	im.path = entry;
	ck_assert_msg(vmm_elf_parse(&im, &elf, &e) == 0, "%s", e.msg);
	ck_assert_msg(vmm_elf_load(mem, &im, &elf, KI_LO, &e) == 0, "%s", e.msg);
	g = gm_mem_hva(mem, KI_LO, seg_len);
	ck_assert_ptr_nonnull(g);
	ck_assert(!memcmp(g, d + seg_off, seg_len));
	free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("direct");
	TCase *tc = tcase_create("direct");
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(kpath, sizeof(kpath), "%s/kernel", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(realcache, sizeof(realcache), "%s/realcache", dir);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_formats_nokaslr);
	tcase_add_test(tc, test_kaslr);
	tcase_add_test(tc, test_kaslr_invariants);
	tcase_add_test(tc, test_kaslr_pinned);
	tcase_add_test(tc, test_no_relocs);
	tcase_add_test(tc, test_unsupported_format);
	tcase_add_test(tc, test_bad_payloads);
	tcase_add_test(tc, test_bad_elves);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_sparse_entry);
	tcase_add_test(tc, test_pvh);
	tcase_add_test(tc, test_pvh_truncated);
	tcase_add_test(tc, test_real_kernel);
	suite_add_tcase(s, tc);
	char rm[160];

	ret = check_run(s);
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) < 0)
		ret = 1;
	return ret;
}
