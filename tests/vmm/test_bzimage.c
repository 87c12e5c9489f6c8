// SPDX-License-Identifier: MIT
/*
 * test_bzimage.c - vmm/bzimage.c and vmm/pgtable.c on a backed 2-node
 * gm_mem (256 MiB + 256 MiB).
 *
 *   test_bzimage        every check on a synthetic image (bzimage-synth.h):
 *                       placement, initrd, command line, and bad images
 *                       refused with -ENOEXEC changing nothing; runs always
 *   test_bzimage real   Debian's /boot/vmlinuz-* (KVMEM_TEST_KERNEL picks
 *                       another) placed and loaded, and cut short; exits 77
 *                       (meson: SKIP) when there is no kernel to read
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "bzimage-synth.h"
#include "layout.h"
#include "../check-run.h"

static struct gm_mem *mem;
static char kernel[512];	/* the real kernel (real suite) */
static char synth[600];		/* a synthetic bzImage, in tmpdir */
static char tmpdir[] = "/tmp/kvmem-test-bz-XXXXXX";

static void setup(void)
{
	struct gm_config cfg;
	struct gm_error e = { 0 };

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:256M,1:256M", &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_msg(gm_mem_back(mem, 0, &e) == 0, "%s", e.msg);
}

static void teardown(void)
{
	gm_mem_destroy(mem);
	mem = NULL;
}

/* The real kernel: KVMEM_TEST_KERNEL, else the first /boot/vmlinuz-*. */
static bool find_kernel(void)
{
	const char *env = getenv("KVMEM_TEST_KERNEL");
	glob_t g;

	kernel[0] = 0;
	if (env) {
		snprintf(kernel, sizeof(kernel), "%s", env);
	} else if (!glob("/boot/vmlinuz-*", 0, NULL, &g)) {
		snprintf(kernel, sizeof(kernel), "%s", g.gl_pathv[0]);
		globfree(&g);
	}
	return kernel[0] && !access(kernel, R_OK);
}

/* The whole file @path, malloc'd, size in *@len. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	d = malloc((size_t)n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

static void spill(const char *path, const void *d, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(d, 1, len, f), len);
	fclose(f);
}

/* The synthetic image with 64 KiB of code, as a file: @synth. */
static uint8_t *write_synth(size_t *len)
{
	uint8_t *img = synth_bzimage(65536, true, len);

	ck_assert_ptr_nonnull(img);
	snprintf(synth, sizeof(synth), "%s/synth", tmpdir);
	spill(synth, img, *len);
	return img;
}

static int nr_early(unsigned node)
{
	struct gm_early_range r[64];

	return gm_early_ranges(mem, node, r, 64);
}

static bool has_label(const char *label, uint64_t *start)
{
	struct gm_early_range r[64];
	int n = gm_early_ranges(mem, 0, r, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (!strcmp(r[i].label, label)) {
			if (start)
				*start = r[i].start;
			return true;
		}
	return false;
}

/*
 * Expect: the real kernel lands at its pref_address (from its own header),
 * entry = load + 0x200, RSI = zero page holding the image's setup header
 * with type_of_loader 0xff, the command line in guest memory, the
 * protected-mode bytes identical to the file's, every placement labelled.
 */
START_TEST(test_real_kernel)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .cmdline = "console=ttyS0 quiet" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	uint64_t pref, off, sz, at;
	uint8_t *img, *zp, *k;
	size_t len;
	uint32_t ptr;

	a.kernel = kernel;
	img = slurp(kernel, &len);
	memcpy(&pref, img + BP_PREF_ADDRESS, 8);
	off = ((img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4) + 1) * 512ULL;
	sz = 16ULL * *(uint32_t *)(img + BP_SYSSIZE);

	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(p->kernel, pref);
	ck_assert_uint_eq(p->entry.rip, pref + BP_ENTRY_64);
	ck_assert_uint_eq(p->entry.rsi, p->zero_page);
	ck_assert_uint_eq(p->kernel_file_size, sz);

	zp = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
	ck_assert_ptr_nonnull(zp);
	ck_assert_mem_eq(zp + BP_HEADER, "HdrS", 4);
	ck_assert_mem_eq(zp + BP_PREF_ADDRESS, img + BP_PREF_ADDRESS, 8);
	ck_assert_uint_eq(zp[BP_TYPE_OF_LOADER], 0xff);
	ck_assert_uint_eq(zp[ZP_SENTINEL], 0);
	memcpy(&ptr, zp + BP_CMD_LINE_PTR, 4);
	ck_assert_uint_eq(ptr, p->cmdline);
	/* node 1 lies above 4 GiB: kvmem turns the unused swiotlb off */
	ck_assert_str_eq(gm_mem_hva(mem, ptr, 64),
			 "console=ttyS0 quiet swiotlb=noforce");
	memcpy(&ptr, zp + BP_RAMDISK_IMAGE, 4);
	ck_assert_uint_eq(ptr, 0);

	k = gm_mem_hva(mem, p->kernel, sz);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(memcmp(k, img + off, sz), 0);

	ck_assert(has_label("kernel", &at) && at == pref);
	ck_assert(has_label("zeropage", &at) && at == p->zero_page);
	ck_assert(has_label("cmdline", &at) && at == p->cmdline);
	ck_assert(has_label("pgtable", &at) && at == p->entry.cr3);
	ck_assert(has_label("gdt", &at) && at == p->entry.gdt_base);
	ck_assert(has_label("legacy", &at) && at == VMM_LEGACY_START);
	ck_assert(has_label("acpi", &at) && at == VMM_ACPI_START);
	ck_assert(!has_label("initrd", NULL));
	vmm_boot_plan_free(p);
	free(img);
}
END_TEST

/*
 * Expect: with an initrd it lands page-aligned as high as node 0's RAM
 * allows (its end within a page of the node's top), below
 * initrd_addr_max, with the bytes of the file, and the zero page says so.
 */
START_TEST(test_initrd_high)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .cmdline = "" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	char path[600];
	uint8_t data[10000], *g, *zp, *img;
	struct gm_range r;
	size_t len;
	uint32_t v;

	img = write_synth(&len);
	free(img);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	snprintf(path, sizeof(path), "%s/initrd", tmpdir);
	spill(path, data, sizeof(data));
	a.kernel = synth;
	a.initrd = path;
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_int_ge(gm_node_ranges(mem, 0, &r, 1), 1);
	ck_assert_uint_eq(p->initrd % VMM_PAGE, 0);
	ck_assert_uint_le(p->initrd + sizeof(data), r.start + r.size);
	ck_assert_uint_gt(p->initrd + sizeof(data) + VMM_PAGE, r.start + r.size);
	g = gm_mem_hva(mem, p->initrd, sizeof(data));
	ck_assert_int_eq(memcmp(g, data, sizeof(data)), 0);
	zp = gm_mem_hva(mem, p->zero_page, ZP_SIZE);
	memcpy(&v, zp + BP_RAMDISK_IMAGE, 4);
	ck_assert_uint_eq(v, p->initrd);
	memcpy(&v, zp + BP_RAMDISK_SIZE, 4);
	ck_assert_uint_eq(v, sizeof(data));
	ck_assert(has_label("initrd", NULL));
	vmm_boot_plan_free(p);
	unlink(path);
}
END_TEST

/* Run vmm_linux_place on @img; expect @err, @what in the message, no new early range. */
static void expect_refused(const uint8_t *img, size_t len, const char *initrd,
			   int err, const char *what)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .initrd = initrd };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	int before0 = nr_early(0), before1 = nr_early(1);
	char path[600];

	snprintf(path, sizeof(path), "%s/kernel", tmpdir);
	spill(path, img, len);
	a.kernel = path;
	ck_assert_int_eq(vmm_linux_place(mem, &a, &p, &e), -err);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(e.err, err);
	ck_assert_msg(strstr(e.msg, what), "message \"%s\" lacks \"%s\"",
		      e.msg, what);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	ck_assert_int_eq(nr_early(0), before0);
	ck_assert_int_eq(nr_early(1), before1);
	unlink(path);
}

/* @path is a kernel vmm_linux_place() takes (what it placed is taken back). */
static void accepted(const char *path)
{
	struct vmm_linux_args a = { .kernel = path, .cmdline = "" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	uint64_t mark = gm_early_mark(mem);

	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	vmm_boot_plan_free(p);
	ck_assert_int_eq(gm_early_rollback(mem, mark), 0);
}

/* Expect: random bytes, a text file, an empty file: -ENOEXEC "not a bzImage". */
START_TEST(test_garbage)
{
	uint8_t junk[8192];

	srand(1234);
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	expect_refused(junk, sizeof(junk), NULL, ENOEXEC, "not a bzImage");
	expect_refused((const uint8_t *)"#!/bin/sh\necho hi\n", 18, NULL,
		       ENOEXEC, "not a bzImage");
	expect_refused(junk, 0, NULL, ENOEXEC, "not a bzImage");
}
END_TEST

/*
 * Expect: an image cut short (half its code, and one byte short of what its
 * header says): -ENOEXEC "truncated".
 */
START_TEST(test_truncated)
{
	uint8_t *img;
	size_t len;
	uint64_t need;

	img = write_synth(&len);
	need = ((img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4) + 1) * 512ULL +
	       16ULL * *(uint32_t *)(img + BP_SYSSIZE);
	ck_assert_uint_eq(need, len);
	expect_refused(img, SYNTH_SETUP + 32768, NULL, ENOEXEC, "truncated");
	expect_refused(img, need - 1, NULL, ENOEXEC, "truncated");
	free(img);
}
END_TEST

/* Expect: the real kernel cut short (1 MiB, and one byte short): "truncated". */
START_TEST(test_real_truncated)
{
	uint8_t *img;
	size_t len;
	uint64_t need;

	img = slurp(kernel, &len);
	need = ((img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4) + 1) * 512ULL +
	       16ULL * *(uint32_t *)(img + BP_SYSSIZE);
	expect_refused(img, 1 << 20, NULL, ENOEXEC, "truncated");
	expect_refused(img, need - 1, NULL, ENOEXEC, "truncated");
	free(img);
}
END_TEST

/* Expect: protocol 2.09 is too old; no XLF_KERNEL_64 means no 64-bit entry. */
START_TEST(test_too_old_or_32bit)
{
	uint8_t *img;
	size_t len;

	img = write_synth(&len);
	accepted(synth);	/* as built, the refusals below are the field's */
	img[BP_VERSION] = 0x09;
	img[BP_VERSION + 1] = 0x02;
	expect_refused(img, len, NULL, ENOEXEC, "too old");
	img[BP_VERSION] = 0x0f;
	img[BP_XLOADFLAGS] &= (uint8_t)~BP_XLF_KERNEL_64;
	expect_refused(img, len, NULL, ENOEXEC, "64-bit");
	free(img);
}
END_TEST

/* Expect: an initrd bigger than both pools (sparse 600 MiB): -ENOMEM, nothing placed. */
START_TEST(test_initrd_too_big)
{
	char path[600];
	uint8_t *img;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/huge", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 600LL << 20), 0);
	close(fd);
	img = write_synth(&len);
	expect_refused(img, len, path, ENOMEM, "initrd");
	free(img);
	unlink(path);
}
END_TEST

/* Expect: a missing kernel file is -ENOENT naming the path. */
START_TEST(test_missing)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .kernel = "/nonexistent/bzImage" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };

	ck_assert_int_eq(vmm_linux_place(mem, &a, &p, &e), -ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/bzImage"));
	ck_assert_int_eq(nr_early(0), 0);
}
END_TEST

/*
 * Expect: the flat boot's tables map the low 4 GiB 1:1 in 2 MiB pages
 * (a few addresses walked, including the last byte below 4 GiB), nothing
 * above; the GDT has a 64-bit code segment at 0x10 and data at 0x18.
 */
START_TEST(test_pgtable_walk)
{
	static const uint64_t va[] = { 0, 0x7000, 0x1000200, 0x12345678,
				       0xbfffffff, 0xfee00000, 0xffffffff };
	struct vmm_entry en = { 0 };
	struct gm_error e = { 0 };
	uint64_t pa, *gdt;

	ck_assert_msg(vmm_flat_place(mem, 0x100000, &en, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(en.rip, 0x100000);
	ck_assert_uint_eq(en.gdt_limit, VMM_GDT_ENTRIES * 8 - 1);
	for (unsigned i = 0; i < sizeof(va) / sizeof(va[0]); i++) {
		pa = ~0ULL;
		ck_assert_int_eq(vmm_pgtable_walk(mem, en.cr3, va[i], &pa), 0);
		ck_assert_uint_eq(pa, va[i]);
	}
	ck_assert_int_eq(vmm_pgtable_walk(mem, en.cr3, GM_4G, &pa), -EFAULT);
	ck_assert_int_eq(vmm_pgtable_walk(mem, en.cr3, 1ULL << 39, &pa), -EFAULT);
	gdt = gm_mem_hva(mem, en.gdt_base, 32);
	ck_assert_uint_eq(gdt[0], 0);
	ck_assert(gdt[VMM_BOOT_CS / 8] & (1ULL << 53));	/* L: 64-bit code */
	ck_assert(gdt[VMM_BOOT_CS / 8] & (1ULL << 47));	/* present */
	ck_assert_uint_eq((gdt[VMM_BOOT_DS / 8] >> 40) & 0xff, 0x92);
	ck_assert_uint_gt(en.rsp, en.gdt_base);
	ck_assert_int_eq(vmm_flat_place(mem, GM_4G, &en, &e), -EINVAL);
}
END_TEST

/* Expect: a command line that chooses its own swiotlb= is kept as given. */
START_TEST(test_cmdline_own_swiotlb)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .cmdline = "console=ttyS0 swiotlb=2048" };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	size_t len;

	free(write_synth(&len));
	a.kernel = synth;
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(gm_mem_hva(mem, p->cmdline, 64), a.cmdline);
	ck_assert_uint_eq(p->cmdline_len, strlen(a.cmdline));
	vmm_boot_plan_free(p);
}
END_TEST

/*
 * Expect: a command line one byte longer than the kernel's cmdline_size
 * (2047 here) is -EINVAL and places nothing; at exactly 2047 it is taken.
 */
START_TEST(test_cmdline_too_long)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE };
	struct vmm_boot_plan *p = NULL;
	struct gm_error e = { 0 };
	char cl[SYNTH_CMDLINE + 2];
	size_t len;

	free(write_synth(&len));
	memset(cl, 'x', SYNTH_CMDLINE + 1);
	cl[SYNTH_CMDLINE + 1] = 0;
	a.kernel = synth;
	a.cmdline = cl;
	ck_assert_int_eq(vmm_linux_place(mem, &a, &p, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "command line"));
	ck_assert_int_eq(nr_early(0), 0);
	cl[SYNTH_CMDLINE] = 0;
	a.cmdline = cl;
	ck_assert_msg(vmm_linux_place(mem, &a, &p, &e) == 0, "%s", e.msg);
	vmm_boot_plan_free(p);
}
END_TEST

int main(int argc, char **argv)
{
	bool real = argc > 1 && !strcmp(argv[1], "real");
	Suite *s = suite_create(real ? "bzimage-real" : "bzimage");
	TCase *tc = tcase_create("core");
	int failed;

	if (real && !find_kernel()) {
		printf("SKIP: no readable kernel (%s): apt-get install linux-image-amd64\n",
		       kernel[0] ? kernel : "/boot/vmlinuz-*");
		return 77;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	if (real) {
		tcase_add_test(tc, test_real_kernel);
		tcase_add_test(tc, test_real_truncated);
	} else {
		tcase_add_test(tc, test_initrd_high);
		tcase_add_test(tc, test_garbage);
		tcase_add_test(tc, test_truncated);
		tcase_add_test(tc, test_too_old_or_32bit);
		tcase_add_test(tc, test_initrd_too_big);
		tcase_add_test(tc, test_missing);
		tcase_add_test(tc, test_pgtable_walk);
		tcase_add_test(tc, test_cmdline_too_long);
		tcase_add_test(tc, test_cmdline_own_swiotlb);
	}
	suite_add_tcase(s, tc);
	failed = check_run(s);
	unlink(synth);
	rmdir(tmpdir);
	return failed;
}
