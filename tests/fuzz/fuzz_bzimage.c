// SPDX-License-Identifier: MIT
/*
 * fuzz_bzimage.c - vmm_linux_place() on mutated copies of the real
 * /boot/vmlinuz-* (skipped, exit 77, when there is none), then on mutated
 * synthetic kernels for the loaders that need no in-guest decompression
 * (tests/vmm/kimage.h): bzImages whose payload is an ELF compressed with
 * xz, gzip, zstd or lz4 (--boot direct / auto), and ELF vmlinux files
 * (PVH).
 *
 * Mutants, written to one temp file: the setup header fields kvmem reads
 * (setup_sects, syssize, boot_flag, the header end byte, "HdrS", version,
 * loadflags, initrd_addr_max, kernel_alignment, relocatable, xloadflags,
 * cmdline_size, pref_address, init_size) set to edge values, alone and in
 * combinations; random bit flips in the first 1 KiB; truncations at the
 * interesting offsets and at random ones. Each is placed, some with an
 * initrd, on a backed 256 MiB node 0 (sometimes plus a 64 MiB node 1).
 *
 * Every call must return 0 or a negative errno with e.err matching and a
 * non-empty printable one-line message. A success must describe a kernel
 * that is where the header allows (pref_address, or kernel_alignment when
 * relocatable), inside node 0, with its protected-mode bytes loaded. A
 * failure must leave the early allocator with exactly the ranges it had
 * (the standard: nothing changed on bad input; vmm_linux_place takes back
 * what it placed with gm_early_rollback()).
 *
 * The direct and PVH sections (4 and 5): the compressed stream with bits
 * flipped, cut short, or its declared size changed; the ELF (headers,
 * program headers, notes, relocation table) with fields set to edge or
 * random values before compression; vmlinux files mutated the same way
 * and truncated. Same failure checks; a success must be a plan of the
 * right kind whose kernel lies in node 0 above 1 MiB with its entry
 * inside it (PVH: at its link address, entered in 32-bit mode).
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * number of random mutants (default 160, 64 under ASan; the direct and PVH
 * sections run twice as many each).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "layout.h"
#include "fuzz.h"
#include "../vmm/kimage.h"

#define MIB		(1024ULL * 1024)
#define MAX_RANGES	64

static uint8_t *img;		/* the original image */
static size_t img_len;
static char dir[] = "/tmp/kvmem-fuzz-bz-XXXXXX";
static char kpath[64], ipath[64];
static uint64_t cur_seed;
static unsigned long cur_case;
static char cur_desc[512];
static int kfd = -1;

static void cleanup(void)
{
	if (kpath[0])
		unlink(kpath);
	if (ipath[0])
		unlink(ipath);
	rmdir(dir);
}

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", case %lu: %s\n", cur_seed, cur_case,
		cur_desc);
	/* keep the mutant that failed, as the reproducer */
	if (kpath[0]) {
		char keep[] = "fuzz_bzimage-repro.bin";
		int fd = open(keep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		uint8_t buf[65536];
		ssize_t n;
		off_t off = 0;

		while (fd >= 0 && (n = pread(kfd, buf, sizeof(buf), off)) > 0) {
			if (write(fd, buf, (size_t)n) != n)
				break;
			off += n;
		}
		if (fd >= 0) {
			close(fd);
			fprintf(stderr, "the mutant is in %s\n", keep);
		}
	}
	cleanup();
}

/* ---- the header, as the fuzzer sees it ---- */

static uint64_t rd(const uint8_t *d, size_t off, unsigned w)
{
	uint64_t v = 0;

	memcpy(&v, d + off, w);
	return v;
}

static void wr(uint8_t *d, size_t off, unsigned w, uint64_t v)
{
	memcpy(d + off, &v, w);
}

struct field {
	const char *name;
	size_t off;
	unsigned width;
	uint64_t vals[12];
	unsigned nvals;
};

static const struct field fields[] = {
	{ "setup_sects", BP_SETUP_SECTS, 1, { 0, 1, 3, 4, 0x1e, 63, 64, 65, 0xff }, 9 },
	{ "syssize", BP_SYSSIZE, 4, { 0, 1, 0x10, 0x100000, 0x7fffffff, 0xffffffff, 0x01000000 }, 7 },
	{ "boot_flag", BP_BOOT_FLAG, 2, { 0, 0x55aa, 0xaa56, 0xffff }, 4 },
	{ "header_end", BP_JUMP + 1, 1, { 0, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x80, 0xff }, 8 },
	{ "magic", BP_HEADER, 4, { 0, 0x54726448, 0x53726449, 0xffffffff }, 4 },
	{ "version", BP_VERSION, 2, { 0, 0x0200, 0x020a, 0x020b, 0x020c, 0x020d, 0x020e, 0x020f, 0x0300, 0xffff }, 10 },
	{ "loadflags", BP_LOADFLAGS, 1, { 0, 0x01, 0x80, 0x81, 0xfe, 0xff }, 6 },
	{ "initrd_addr_max", BP_INITRD_ADDR_MAX, 4, { 0, 0xfff, 0x100000, 0x1ffffff, 0x7fffffff, 0xbfffffff, 0xffffffff }, 7 },
	{ "kernel_alignment", BP_KERNEL_ALIGNMENT, 4, { 0, 1, 3, 0x1000, 0x200000, 0x1000000, 0x1000001, 0x10000000, 0x40000000, 0x80000000, 0xffffffff }, 11 },
	{ "relocatable", BP_RELOCATABLE, 1, { 0, 1, 0xff }, 3 },
	{ "xloadflags", BP_XLOADFLAGS, 2, { 0, 1, 2, 3, 0x1e, 0x1f, 0xffff }, 7 },
	{ "cmdline_size", BP_CMDLINE_SIZE, 4, { 0, 5, 0x7ff, 0x100000, 0x7fffffff, 0xfffffffe, 0xffffffff }, 7 },
	{ "pref_address", BP_PREF_ADDRESS, 8, { 0, 0x1000, 0x100000, 0x1000000, 0x0fff, 0x0ff00000, 0x10000000, 0xc0000000, 0xfffff000, 0xffffffff00000000ULL, 0xfffffffffff00000ULL, 0x100000000ULL }, 12 },
	{ "init_size", BP_INIT_SIZE, 4, { 0, 1, 0x1000000, 0x2000000, 0x0e000000, 0x0f000000, 0x10000000, 0x40000000, 0xfffff000, 0xffffffff }, 10 },
};
#define NR_FIELDS	(sizeof(fields) / sizeof(fields[0]))

/* ---- the memory ---- */

static struct gm_mem *mk_mem(bool two)
{
	struct gm_config cfg;
	struct gm_error e = { 0 };
	struct gm_mem *mem;

	gm_config_init(&cfg);
	CHECK(gm_parse_numa(two ? "0:256M,1:64M" : "0:256M", &cfg, &e) == 0, "%s", e.msg);
	CHECK(gm_mem_create(&cfg, &mem, &e) == 0, "%s", e.msg);
	CHECK(gm_mem_back(mem, 0, &e) == 0, "%s", e.msg);
	return mem;
}

struct ranges {
	int nr[2];
	struct gm_early_range r[2][MAX_RANGES];
};

static void ranges_get(struct gm_mem *mem, struct ranges *rs)
{
	memset(rs, 0, sizeof(*rs));
	for (unsigned n = 0; n < gm_mem_nr_nodes(mem); n++) {
		rs->nr[n] = gm_early_ranges(mem, n, rs->r[n], MAX_RANGES);
		CHECK(rs->nr[n] >= 0 && rs->nr[n] <= MAX_RANGES, "%d ranges", rs->nr[n]);
	}
}

static bool ranges_eq(const struct ranges *a, const struct ranges *b)
{
	for (unsigned n = 0; n < 2; n++) {
		if (a->nr[n] != b->nr[n])
			return false;
		for (int i = 0; i < a->nr[n]; i++)
			if (a->r[n][i].start != b->r[n][i].start ||
			    a->r[n][i].size != b->r[n][i].size ||
			    strcmp(a->r[n][i].label, b->r[n][i].label))
				return false;
	}
	return true;
}

static void ranges_str(const struct ranges *a, char *out, size_t len)
{
	size_t pos = 0;

	out[0] = '\0';
	for (unsigned n = 0; n < 2; n++)
		for (int i = 0; i < a->nr[n] && pos < len; i++)
			pos += snprintf(out + pos, len - pos, " %s@0x%" PRIx64 "+0x%" PRIx64,
					a->r[n][i].label, a->r[n][i].start, a->r[n][i].size);
}

/* ---- one case ---- */

static unsigned long nr_ok, nr_err[256];

/* gm_errno_name() plus the errnos only the loader returns. */
static const char *ename(int err)
{
	if (err < 0)
		err = -err;
	return err == ENOEXEC ? "ENOEXEC" : err == EOPNOTSUPP ? "EOPNOTSUPP" :
	       gm_errno_name(err);
}

/*
 * The checks of a failed placement (@ret != 0): errno and one printable
 * line, no plan, the early ranges as they were. True if it failed.
 */
static bool check_failure(struct gm_mem **mem, int ret, const struct gm_error *e,
			  const struct vmm_boot_plan *plan,
			  const struct ranges *before, const struct ranges *after)
{
	char rs[2048];

	CHECK(ret <= 0 && ret > -4096, "returned %d", ret);
	if (!ret)
		return false;
	CHECK(e->err == -ret, "e.err %d for %d", e->err, ret);
	CHECK(e->msg[0], "empty message for %d", ret);
	for (const char *p = e->msg; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
		      "message byte 0x%02x: %s", (unsigned char)*p, e->msg);
	CHECK(plan == NULL, "plan set on failure");
	nr_err[-ret & 255]++;
	if (!ranges_eq(before, after)) {
		ranges_str(after, rs, sizeof(rs));
		fprintf(stderr, "FAIL: case %lu (%s): failed %s (%s) but left early ranges:%s\n",
			cur_case, cur_desc, ename(ret), e->msg, rs);
		CHECK(false, "early ranges changed on failure (%s)", cur_desc);
		/* the mem is spoiled: start the next case on a fresh one */
		gm_mem_destroy(*mem);
		*mem = NULL;
	}
	return true;
}

/* Write @len bytes of @d to the kernel file (the fd stays open, for repro). */
static void put_kernel(const uint8_t *d, size_t len)
{
	CHECK(ftruncate(kfd, 0) == 0, "ftruncate");
	for (size_t off = 0; off < len;) {
		ssize_t n = pwrite(kfd, d + off, len - off, (off_t)off);

		CHECK(n > 0, "pwrite %s", kpath);
		off += (size_t)n;
	}
}

/*
 * Place the mutant @d (@len bytes, already in the kernel file) into *@mem
 * (created if NULL, destroyed and set to NULL after a success).
 */
static void run_case(struct gm_mem **mem, const uint8_t *d, size_t len,
		     bool two, bool initrd, const char *cmdline)
{
	struct vmm_linux_args a = { .boot = VMM_BOOT_BZIMAGE, .kernel = kpath, .cmdline = cmdline,
				    .initrd = initrd ? ipath : NULL };
	struct vmm_boot_plan *plan = NULL;
	struct gm_error e = { 0 };
	struct ranges before, after;
	int ret;

	if (*mem && (gm_mem_nr_nodes(*mem) == 2) != two) {
		gm_mem_destroy(*mem);
		*mem = NULL;
	}
	if (!*mem)
		*mem = mk_mem(two);
	ranges_get(*mem, &before);
	ret = vmm_linux_place(*mem, &a, &plan, &e);
	ranges_get(*mem, &after);
	if (check_failure(mem, ret, &e, plan, &before, &after))
		return;

	/* success: the kernel is where the header allows, loaded */
	{
		uint64_t setup = d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4;
		uint64_t pm_off = (setup + 1) * 512, pm_size = rd(d, BP_SYSSIZE, 4) * 16;
		uint64_t pref = rd(d, BP_PREF_ADDRESS, 8);
		uint64_t align = rd(d, BP_KERNEL_ALIGNMENT, 4);
		uint64_t init = rd(d, BP_INIT_SIZE, 4);
		const void *hva;

		CHECK(plan != NULL, "success without a plan");
		CHECK(rd(d, BP_VERSION, 2) >= 0x020c && (d[BP_LOADFLAGS] & 1) &&
		      (rd(d, BP_XLOADFLAGS, 2) & 1) && rd(d, BP_BOOT_FLAG, 2) == 0xaa55 &&
		      rd(d, BP_HEADER, 4) == BP_HDRS_MAGIC,
		      "accepted a header without 2.12 / LOADED_HIGH / XLF_KERNEL_64 / magic");
		CHECK(pm_size && pm_off + pm_size <= len && init >= pm_size,
		      "accepted sizes: syssize %" PRIu64 " init_size %" PRIu64 " file %zu",
		      pm_size, init, len);
		CHECK(plan->kernel == pref ||
		      (d[BP_RELOCATABLE] && align && plan->kernel % align == 0),
		      "kernel at 0x%" PRIx64 ", pref 0x%" PRIx64 " align 0x%" PRIx64 " relocatable %u",
		      plan->kernel, pref, align, d[BP_RELOCATABLE]);
		CHECK(plan->kernel >= VMM_LEGACY_END &&
		      plan->kernel + plan->kernel_size <= 256 * MIB &&
		      plan->kernel_size >= init,
		      "kernel 0x%" PRIx64 "+0x%" PRIx64 " outside node 0's RAM above 1 MiB",
		      plan->kernel, plan->kernel_size);
		CHECK(plan->entry.rip == plan->kernel + BP_ENTRY_64 &&
		      plan->entry.rsi == plan->zero_page, "entry state");
		hva = gm_mem_hva(*mem, plan->kernel, pm_size);
		CHECK(hva && !memcmp(hva, d + pm_off, pm_size),
		      "protected-mode bytes not loaded at 0x%" PRIx64, plan->kernel);
		CHECK(after.nr[0] > before.nr[0], "success placed nothing");
	}
	nr_ok++;
	vmm_boot_plan_free(plan);
	gm_mem_destroy(*mem);
	*mem = NULL;
}

/* ---- 4, 5: the direct and PVH loaders, on synthetic kernels ---- */

static const char *const dformats[] = { "xz", "gzip", "zstd", "lz4" };
static unsigned long nr_kind_ok[3];	/* successes by enum vmm_plan_kind */

/*
 * Place the kernel file (written already) with @boot and check: a failure
 * as in run_case; a success a plan of a kind @boot allows (an ELF file is
 * PVH, a bzImage direct, or under auto the bzImage path), the kernel in
 * node 0 above 1 MiB, the entry inside it in the mode of its kind.
 */
static void run_direct_case(struct gm_mem **mem, bool elf_file, enum vmm_boot boot,
			    bool initrd, const char *cmdline)
{
	struct vmm_linux_args a = { .kernel = kpath, .cmdline = cmdline,
				    .initrd = initrd ? ipath : NULL, .boot = boot };
	struct vmm_boot_plan *plan = NULL;
	struct gm_error e = { 0 };
	struct ranges before, after;
	int ret;

	if (!*mem)
		*mem = mk_mem(false);
	ranges_get(*mem, &before);
	ret = vmm_linux_place(*mem, &a, &plan, &e);
	ranges_get(*mem, &after);
	if (check_failure(mem, ret, &e, plan, &before, &after))
		return;
	CHECK(plan != NULL, "success without a plan");
	CHECK(elf_file ? plan->kind == VMM_PLAN_PVH && boot != VMM_BOOT_BZIMAGE :
	      plan->kind == VMM_PLAN_DIRECT ||
	      (plan->kind == VMM_PLAN_BZIMAGE && boot != VMM_BOOT_DIRECT),
	      "plan kind %d for %s with --boot %d", plan->kind,
	      elf_file ? "an ELF" : "a bzImage", boot);
	CHECK(plan->kernel >= VMM_LEGACY_END && plan->kernel_size &&
	      plan->kernel + plan->kernel_size <= 256 * MIB,
	      "kernel 0x%" PRIx64 "+0x%" PRIx64 " outside node 0's RAM above 1 MiB",
	      plan->kernel, plan->kernel_size);
	if (plan->kind == VMM_PLAN_BZIMAGE)
		CHECK(plan->entry.rip == plan->kernel + BP_ENTRY_64, "bzImage entry");
	else
		CHECK(plan->entry.rip >= plan->kernel &&
		      plan->entry.rip < plan->kernel + plan->kernel_size,
		      "entry 0x%" PRIx64 " outside the kernel 0x%" PRIx64 "+0x%" PRIx64,
		      plan->entry.rip, plan->kernel, plan->kernel_size);
	if (plan->kind == VMM_PLAN_PVH)
		CHECK(plan->entry.mode == VMM_ENTRY_PROT32 &&
		      plan->entry.rbx == plan->zero_page && plan->kernel == KI_LO,
		      "PVH entry state");
	else
		CHECK(plan->entry.mode == VMM_ENTRY_LONG64 &&
		      plan->entry.rsi == plan->zero_page, "64-bit entry state");
	CHECK(after.nr[0] > before.nr[0], "success placed nothing");
	nr_ok++;
	nr_kind_ok[plan->kind]++;
	vmm_boot_plan_free(plan);
	gm_mem_destroy(*mem);
	*mem = NULL;
}

/* Regions of the synthetic ELF worth mutating: headers, notes, relocations. */
static const struct { size_t off, len; const char *name; } elf_regions[] = {
	{ 0, ELF_EHDR_SIZE, "ELF header" },
	{ ELF_EHDR_SIZE, 3 * ELF_PHDR_SIZE, "program headers" },
	{ KI_TEXT_OFF + KI_NOTE_AT, 48, "notes" },
	{ KI_ELF_END, 32, "relocations" },
};

/* 1-4 random writes into @d's interesting regions; described in cur_desc. */
static void mutate_elf(uint8_t *d, size_t len, size_t *pos)
{
	unsigned k = 1 + (unsigned)fz_below(4);

	for (unsigned j = 0; j < k; j++) {
		unsigned r = (unsigned)fz_below(4), w = 1u << fz_below(4);
		size_t at = elf_regions[r].off + fz_below(elf_regions[r].len);
		static const uint64_t edges[] = { 0, 1, 0x7fffffff, 0x80000000,
						  0xffffffff, 0x1000000, 0x100000000ULL,
						  0xffffffffffffffffULL, 0xffffffff80000000ULL };
		uint64_t v = fz_below(3) ? edges[fz_below(9)] : fz_next();

		if (at + w > len)
			continue;
		if (fz_below(4) == 0) {		/* near what is there */
			memcpy(&v, d + at, w);
			v += fz_below(5) - 2;
		}
		memcpy(d + at, &v, w);
		if (*pos < sizeof(cur_desc) - 48)
			*pos += (size_t)snprintf(cur_desc + *pos, sizeof(cur_desc) - *pos,
						 ", %s +0x%zx u%u = 0x%" PRIx64,
						 elf_regions[r].name, at, 8 * w, v);
	}
}

/* 4: bzImages with a synthetic payload, mutated before or after compression. */
static void fuzz_direct(struct gm_mem **mem, unsigned long n)
{
	size_t elen;
	uint8_t *elf = ki_elf(true, true, &elen);

	for (unsigned long i = 0; i < n; i++) {
		const char *fmt = dformats[i < 4 ? i : fz_below(4)];
		unsigned kind = i < 4 ? 4 : (unsigned)fz_below(4);
		uint8_t *e2 = malloc(elen), *bz;
		struct ki_buf p = { 0 };
		size_t pos, blen, e2len = elen;
		enum vmm_boot boot = fz_below(2) ? VMM_BOOT_DIRECT : VMM_BOOT_AUTO;

		CHECK(e2 != NULL, "malloc");
		memcpy(e2, elf, elen);
		cur_case++;
		pos = (size_t)snprintf(cur_desc, sizeof(cur_desc), "direct %s, --boot %s",
				       fmt, boot == VMM_BOOT_DIRECT ? "direct" : "auto");
		if (kind == 0) {
			mutate_elf(e2, e2len, &pos);
			if (fz_below(4) == 0) {		/* cut the ELF or its table */
				e2len = fz_below(elen) + 1;
				pos += (size_t)snprintf(cur_desc + pos, sizeof(cur_desc) - pos,
							", ELF cut to %zu", e2len);
			}
		}
		CHECK(ki_compress(fmt, e2, e2len, &p), "compress");
		if (kind == 1) {			/* flip bits in the stream */
			unsigned k = 1 + (unsigned)fz_below(8);

			for (unsigned j = 0; j < k; j++) {
				size_t at = fz_below(p.len);

				p.d[at] ^= (uint8_t)(1u << fz_below(8));
				if (pos < sizeof(cur_desc) - 32)
					pos += (size_t)snprintf(cur_desc + pos, sizeof(cur_desc) - pos,
								", flip 0x%zx", at);
			}
		} else if (kind == 2) {			/* cut the stream */
			size_t keep = fz_below(p.len);

			if (fz_below(2) && keep >= 4)	/* with the size still last */
				memcpy(p.d + keep - 4, p.d + p.len - 4, 4);
			p.len = keep;
			snprintf(cur_desc + pos, sizeof(cur_desc) - pos, ", payload cut to %zu", keep);
		} else if (kind == 3) {			/* lie about the size */
			uint32_t s;

			memcpy(&s, p.d + p.len - 4, 4);
			s = fz_below(2) ? (uint32_t)(s + fz_below(9) - 4) : (uint32_t)fz_next();
			memcpy(p.d + p.len - 4, &s, 4);
			snprintf(cur_desc + pos, sizeof(cur_desc) - pos, ", declared size %u", s);
		}
		bz = ki_bzimage(p.d, p.len, elen, &blen);
		put_kernel(bz, blen);
		run_direct_case(mem, false, boot, fz_below(3) == 0,
				fz_below(2) ? "console=ttyS0" : "console=ttyS0 nokaslr");
		if (kind == 4)
			CHECK(nr_kind_ok[VMM_PLAN_DIRECT] == i + 1,
			      "the unmutated %s kernel did not boot directly", fmt);
		free(bz);
		free(p.d);
		free(e2);
	}
	free(elf);
}

/* 5: ELF vmlinux files (PVH), mutated or cut. */
static void fuzz_pvh(struct gm_mem **mem, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		size_t elen, pos;
		uint8_t *elf = ki_elf(fz_below(2), i == 0 || fz_below(8), &elen);
		enum vmm_boot boot = (enum vmm_boot)fz_below(3);

		cur_case++;
		pos = (size_t)snprintf(cur_desc, sizeof(cur_desc), "vmlinux, --boot %d", boot);
		if (i && fz_below(4)) {
			mutate_elf(elf, elen, &pos);
		} else if (i) {
			elen = fz_below(elen);
			snprintf(cur_desc + pos, sizeof(cur_desc) - pos, ", cut to %zu", elen);
		}
		put_kernel(elf, elen);
		run_direct_case(mem, true, i ? boot : VMM_BOOT_AUTO, fz_below(3) == 0,
				"console=ttyS0");
		if (!i)
			CHECK(nr_kind_ok[VMM_PLAN_PVH] == 1, "the unmutated vmlinux did not boot");
		free(elf);
	}
}

/* ---- main ---- */

int main(void)
{
	const char *env = getenv("KVMEM_FUZZ_LINES");
	unsigned long nrand = env && *env ? strtoul(env, NULL, 0) : FZ_SCALE(160);
	struct gm_mem *mem = NULL;
	uint8_t *m, *base;
	size_t hdr_len, pm_off, pm_end;
	glob_t g;
	int fd;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g)) {
		printf("fuzz_bzimage: no /boot/vmlinuz-*: skipped\n");
		return 77;
	}
	fd = open(g.gl_pathv[0], O_RDONLY);
	if (fd < 0) {
		printf("fuzz_bzimage: %s unreadable: skipped\n", g.gl_pathv[0]);
		globfree(&g);
		return 77;
	}
	{
		struct stat st;

		CHECK(fstat(fd, &st) == 0, "fstat");
		img_len = (size_t)st.st_size;
		img = malloc(img_len);
		CHECK(img != NULL, "malloc");
		for (size_t off = 0; off < img_len;) {
			ssize_t n = pread(fd, img + off, img_len - off, (off_t)off);

			CHECK(n > 0, "read %s", g.gl_pathv[0]);
			off += (size_t)n;
		}
		close(fd);
	}
	printf("fuzz_bzimage: %s, %zu bytes\n", g.gl_pathv[0], img_len);
	globfree(&g);
	cur_seed = fz_seed("fuzz_bzimage", 20261125);
	fz_state = cur_seed;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(kpath, sizeof(kpath), "%s/bzImage", dir);
	snprintf(ipath, sizeof(ipath), "%s/initrd", dir);
	kfd = open(kpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(kfd >= 0, "create %s", kpath);
	fd = open(ipath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 3 * MIB + 123) == 0, "initrd");
	close(fd);

	m = malloc(img_len);
	CHECK(m != NULL, "malloc");
	pm_off = ((img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4) + 1) * 512;
	pm_end = pm_off + rd(img, BP_SYSSIZE, 4) * 16;
	CHECK(pm_end <= img_len, "the real kernel is truncated?");
	/* mutations touch only the setup part and the first 1 KiB */
	hdr_len = pm_off > 1024 ? pm_off : 1024;
	memcpy(m, img, img_len);
	base = malloc(hdr_len);
	CHECK(base != NULL, "malloc");
	memcpy(base, img, hdr_len);

	/* 0: the real kernel places */
	cur_case = 0;
	snprintf(cur_desc, sizeof(cur_desc), "the unmodified kernel");
	put_kernel(img, img_len);
	run_case(&mem, img, img_len, false, true, "console=ttyS0");
	CHECK(nr_ok == 1, "the unmodified kernel did not place");
	put_kernel(img, img_len);	/* sections 1 and 2 rewrite only the head */

	/* 1: every field at every edge value, alone, with and without an initrd */
	for (unsigned f = 0; f < NR_FIELDS; f++)
		for (unsigned v = 0; v < fields[f].nvals; v++) {
			cur_case++;
			memcpy(m, img, hdr_len);
			wr(m, fields[f].off, fields[f].width, fields[f].vals[v]);
			snprintf(cur_desc, sizeof(cur_desc), "%s = 0x%" PRIx64,
				 fields[f].name, fields[f].vals[v]);
			CHECK(pwrite(kfd, m, hdr_len, 0) == (ssize_t)hdr_len, "pwrite");
			run_case(&mem, m, img_len, v & 1, v & 2, "console=ttyS0");
		}

	/*
	 * The later sections start from the real header with syssize cut to
	 * 64 KiB: a placement then loads 64 KiB instead of the whole kernel,
	 * which is most of a success's cost (memfd pages), and every other
	 * field stays the real one.
	 */
	wr(base, BP_SYSSIZE, 4, 0x1000);

	CHECK(!strcmp(fields[12].name, "pref_address") &&
	      !strcmp(fields[7].name, "initrd_addr_max"), "field table order");
	/* 1b: load constraints together: relocatable x pref_address x kernel_alignment */
	for (unsigned rel = 0; rel < 2; rel++)
		for (unsigned v = 0; v < fields[12].nvals; v++)
			for (unsigned al = 0; al < 3; al++) {
				static const uint32_t aligns[] = { 0x1000, 0x200000, 0x80000000 };

				cur_case++;
				memcpy(m, base, hdr_len);
				m[BP_RELOCATABLE] = (uint8_t)rel;
				wr(m, BP_PREF_ADDRESS, 8, fields[12].vals[v]);
				wr(m, BP_KERNEL_ALIGNMENT, 4, aligns[al]);
				snprintf(cur_desc, sizeof(cur_desc),
					 "relocatable = %u, pref_address = 0x%" PRIx64 ", kernel_alignment = 0x%x",
					 rel, fields[12].vals[v], aligns[al]);
				CHECK(pwrite(kfd, m, hdr_len, 0) == (ssize_t)hdr_len, "pwrite");
				run_case(&mem, m, img_len, al == 1, false, "console=ttyS0");
			}
	/* 1c: initrd_addr_max x xloadflags (above 4G) with a 3 MiB initrd, 1 or 2 nodes */
	for (unsigned v = 0; v < fields[7].nvals; v++)
		for (unsigned x = 0; x < 4; x++) {
			cur_case++;
			memcpy(m, base, hdr_len);
			wr(m, BP_INITRD_ADDR_MAX, 4, fields[7].vals[v]);
			wr(m, BP_XLOADFLAGS, 2, (x & 1) ? 0x3 : 0x1);
			snprintf(cur_desc, sizeof(cur_desc),
				 "initrd_addr_max = 0x%" PRIx64 ", xloadflags = 0x%x, %u node(s), initrd",
				 fields[7].vals[v], (x & 1) ? 3 : 1, (x & 2) ? 2 : 1);
			CHECK(pwrite(kfd, m, hdr_len, 0) == (ssize_t)hdr_len, "pwrite");
			run_case(&mem, m, img_len, x & 2, true, "console=ttyS0");
		}

	/* 2: random mutants: several fields, random values, bit flips in 1 KiB */
	for (unsigned long i = 0; i < nrand; i++) {
		size_t pos = 0;
		unsigned kind = (unsigned)fz_below(3);

		cur_case++;
		memcpy(m, base, hdr_len);
		if (kind < 2) {
			unsigned k = 1 + (unsigned)fz_below(3);

			for (unsigned j = 0; j < k; j++) {
				const struct field *fl = &fields[fz_below(NR_FIELDS)];
				uint64_t val = fz_below(4) ? fl->vals[fz_below(fl->nvals)]
							   : fz_next();

				if (fz_below(4) == 0)	/* near the original */
					val = rd(img, fl->off, fl->width) + fz_below(5) - 2;
				if (fl->width < 8)
					val &= (1ULL << (8 * fl->width)) - 1;
				wr(m, fl->off, fl->width, val);
				pos += (size_t)snprintf(cur_desc + pos, sizeof(cur_desc) - pos,
							"%s%s = 0x%" PRIx64, j ? ", " : "",
							fl->name, val);
			}
		}
		if (kind != 0) {
			unsigned k = 1 + (unsigned)fz_below(8);

			for (unsigned j = 0; j < k; j++) {
				size_t at = fz_below(4) ? BP_SETUP_SECTS + fz_below(0x270 - BP_SETUP_SECTS)
							: fz_below(1024);
				unsigned bit = (unsigned)fz_below(8);

				m[at] ^= (uint8_t)(1u << bit);
				if (pos < sizeof(cur_desc) - 32)
					pos += (size_t)snprintf(cur_desc + pos, sizeof(cur_desc) - pos,
								"%sflip 0x%zx.%u", pos ? ", " : "", at, bit);
			}
		}
		CHECK(pwrite(kfd, m, hdr_len, 0) == (ssize_t)hdr_len, "pwrite");
		run_case(&mem, m, img_len, fz_below(4) == 0, fz_below(3) == 0,
			 fz_below(8) ? "console=ttyS0 quiet" : "");
	}

	/* 3: truncations of the real kernel, longest first (the file only ever shrinks) */
	{
		size_t cuts[200];
		unsigned nc = 0;
		const size_t fixed[] = {
			img_len - 1, pm_end, pm_end - 1, pm_end - 16, pm_off + 4096,
			pm_off + 1, pm_off, pm_off - 1, 0x1000, 0x265, 0x264, 0x263,
			0x240, 0x206, 0x202, 0x201, 0x200, 0x1ff, 0x1f0, 0x100, 1, 0,
		};

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (fixed[i] < img_len)
				cuts[nc++] = fixed[i];
		while (nc < 70)
			cuts[nc++] = fz_below(fz_below(2) ? img_len : 8192);
		/* descending, so each cut only shrinks the file */
		for (unsigned i = 0; i < nc; i++)
			for (unsigned j = i + 1; j < nc; j++)
				if (cuts[j] > cuts[i]) {
					size_t t = cuts[i];

					cuts[i] = cuts[j];
					cuts[j] = t;
				}
		put_kernel(img, img_len);
		for (unsigned i = 0; i < nc; i++) {
			cur_case++;
			snprintf(cur_desc, sizeof(cur_desc), "truncated to %zu bytes", cuts[i]);
			CHECK(ftruncate(kfd, (off_t)cuts[i]) == 0, "ftruncate");
			run_case(&mem, img, cuts[i], i & 1, i & 2, "console=ttyS0");
		}
	}

	/* 4, 5: the loaders with no in-guest decompression */
	fuzz_direct(&mem, 2 * nrand);
	fuzz_pvh(&mem, 2 * nrand);

	if (mem)
		gm_mem_destroy(mem);
	printf("fuzz_bzimage: %lu cases: %lu placed (%lu bzImage, %lu direct, %lu PVH)",
	       cur_case + 1, nr_ok, nr_ok - nr_kind_ok[VMM_PLAN_DIRECT] - nr_kind_ok[VMM_PLAN_PVH],
	       nr_kind_ok[VMM_PLAN_DIRECT], nr_kind_ok[VMM_PLAN_PVH]);
	for (int i = 1; i < 256; i++)
		if (nr_err[i])
			printf(", %s %lu", ename(i), nr_err[i]);
	printf("\n");
	CHECK(nr_ok > 5 && nr_err[ENOEXEC] > 100, "too few cases reached placement or the checks");
	close(kfd);
	cleanup();
	free(m);
	free(base);
	free(img);
	return 0;
}
