// SPDX-License-Identifier: MIT
/*
 * test_backing.c - guestmem/backing.c: the host memory behind the pools
 * (anonymous, 2 MiB-aligned, transparent huge pages) and gm_mem_discard(),
 * the one way devices give host pages back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "helpers.h"

static struct gm_mem *backed(const char *numa)
{
	struct gm_mem *mem = mkmem(numa, 0, NULL, true);
	struct gm_error e;

	ck_assert_msg(gm_mem_back(mem, 0, &e) == 0, "%s", e.msg);
	return mem;
}

static void fill(struct gm_mem *mem, uint64_t gpa, uint64_t len, int byte)
{
	unsigned char *p = gm_mem_hva(mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	memset(p, byte, len);
}

/* Every byte of [gpa, gpa+len) equals @byte (read through gm_mem_rw). */
static bool reads_as(struct gm_mem *mem, uint64_t gpa, uint64_t len, int byte)
{
	unsigned char buf[4096];

	for (uint64_t at = 0; at < len; at += sizeof(buf)) {
		size_t n = len - at < sizeof(buf) ? len - at : sizeof(buf);

		ck_assert_int_eq(gm_mem_rw(mem, gpa + at, buf, n, false), (ssize_t)n);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != byte)
				return false;
	}
	return true;
}

static uint64_t resident(struct gm_mem *mem, uint64_t gpa, uint64_t len)
{
	return resident_pages(gm_mem_hva(mem, gpa, len), len);
}

/*
 * A 2 MiB block written, then discarded: its host pages go (mincore) and
 * it reads zero; it stays mapped and writable; the allocators do not
 * notice (avail unchanged); the neighbours keep their bytes.
 */
START_TEST(test_discard_releases)
{
	struct gm_mem *mem = backed("0:16M");
	uint64_t avail = nstat(mem, 0).avail;

	fill(mem, 2 * MIB, 6 * MIB, 0x5a);
	ck_assert_uint_eq(resident(mem, 4 * MIB, 2 * MIB), 512);
	ck_assert_int_eq(gm_mem_discard(mem, 4 * MIB, 2 * MIB), 0);
	ck_assert_uint_eq(resident(mem, 4 * MIB, 2 * MIB), 0);
	ck_assert(reads_as(mem, 4 * MIB, 2 * MIB, 0));
	ck_assert(reads_as(mem, 2 * MIB, 2 * MIB, 0x5a));
	ck_assert(reads_as(mem, 6 * MIB, 2 * MIB, 0x5a));
	ck_assert_uint_eq(nstat(mem, 0).avail, avail);
	fill(mem, 4 * MIB, 4096, 0x11);		/* still mapped */
	ck_assert(reads_as(mem, 4 * MIB, 4096, 0x11));

	/* one 4 KiB page out of the middle of a (possibly huge) page */
	ck_assert_int_eq(gm_mem_discard(mem, 2 * MIB + 8 * KIB, 4 * KIB), 0);
	ck_assert(reads_as(mem, 2 * MIB + 8 * KIB, 4 * KIB, 0));
	ck_assert(reads_as(mem, 2 * MIB + 4 * KIB, 4 * KIB, 0x5a));
	ck_assert(reads_as(mem, 2 * MIB + 12 * KIB, 4 * KIB, 0x5a));
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Bad ranges release nothing: misaligned start or length, empty, past the
 * node's end, into the MMIO hole; unbacked memory is -EIO.
 *   node0 [0,3G) hole [3G,4G) [4G,5G)  node1 [5G,5G+16M)
 */
START_TEST(test_discard_errors)
{
	struct gm_mem *mem = backed("0:4G,1:16M");
	uint64_t end1 = 5 * GIB + 16 * MIB;
	struct gm_mem *unbacked;

	fill(mem, end1 - 4096, 4096, 0x77);
	fill(mem, GM_MMIO_HOLE_START - 4096, 4096, 0x66);
	ck_assert_int_eq(gm_mem_discard(mem, 4 * MIB + 1, 4096), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, 4 * MIB, 4095), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, 4 * MIB, 0), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, end1 - 4096, 8192), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, end1, 4096), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, GM_MMIO_HOLE_START - 4096, 8192), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, UINT64_MAX & ~4095ULL, 8192), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(NULL, 0, 4096), -EINVAL);
	ck_assert(reads_as(mem, end1 - 4096, 4096, 0x77));
	ck_assert(reads_as(mem, GM_MMIO_HOLE_START - 4096, 4096, 0x66));

	/* node 0's last range ends where node 1 starts: one span, two nodes */
	fill(mem, 5 * GIB - 4096, 4096, 0x33);
	fill(mem, 5 * GIB, 4096, 0x33);
	ck_assert_int_eq(gm_mem_discard(mem, 5 * GIB - 4096, 8192), 0);
	ck_assert(reads_as(mem, 5 * GIB - 4096, 8192, 0));
	gm_mem_destroy(mem);

	unbacked = mkmem("0:16M", 0, NULL, true);
	ck_assert_int_eq(gm_mem_discard(unbacked, 0, 4096), -EIO);
	gm_mem_destroy(unbacked);
}
END_TEST

/* The pool mapping starts on a 2 MiB boundary, so 2 MiB guest frames can be host huge pages. */
START_TEST(test_aligned)
{
	struct gm_mem *mem = backed("0:4G,1:64M");

	ck_assert_uint_eq((uintptr_t)gm_mem_hva(mem, 0, 1) % (2 * MIB), 0);
	ck_assert_uint_eq((uintptr_t)gm_mem_hva(mem, GM_MMIO_HOLE_END, 1) % (2 * MIB), 0);
	ck_assert_uint_eq((uintptr_t)gm_mem_hva(mem, 5 * GIB, 1) % (2 * MIB), 0);
	ck_assert_uint_eq(resident(mem, 0, 64 * MIB), 0);	/* setup touched nothing */
	gm_mem_destroy(mem);
}
END_TEST

/* The "[always] madvise never" word in brackets, or "" if unknown. */
static void thp_mode(char *out, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "", *a, *b;

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (a = strchr(line, '[')) &&
	    (b = strchr(a, ']')))
		snprintf(out, len, "%.*s", (int)(b - a - 1), a + 1);
	fclose(f);
}

/* AnonHugePages (kB) of the mapping holding @p, from /proc/self/smaps. */
static long anon_huge_kb(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	long kb = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * With THP "always" or "madvise" (every stock kernel's default), guest
 * RAM written in whole 2 MiB frames is backed by host huge pages, and a
 * discard gives them back.
 */
START_TEST(test_transparent_huge_pages)
{
	struct gm_mem *mem;
	char mode[32];
	long kb;

	thp_mode(mode, sizeof(mode));
	if (strcmp(mode, "always") && strcmp(mode, "madvise")) {
		printf("test_transparent_huge_pages: THP is '%s' here: skipped\n", mode);
		return;
	}
	mem = backed("0:64M");
	fill(mem, 8 * MIB, 8 * MIB, 0x42);
	kb = anon_huge_kb(gm_mem_hva(mem, 0, 1));
	/* the kernel may lack free huge pages right now: most, not all */
	ck_assert_msg(kb >= 4096, "AnonHugePages %ld kB for 8 MiB written", kb);
	ck_assert_int_eq(gm_mem_discard(mem, 8 * MIB, 8 * MIB), 0);
	ck_assert_int_eq(anon_huge_kb(gm_mem_hva(mem, 0, 1)), 0);
	ck_assert(reads_as(mem, 8 * MIB, 8 * MIB, 0));
	gm_mem_destroy(mem);
}
END_TEST

/* hugetlb pools: 2 MiB alignment, when the host has free 2 MiB pages. */
START_TEST(test_discard_hugetlb)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	struct gm_mem *mem;
	struct gm_error e;
	long nfree = 0;

	if (f) {
		if (fscanf(f, "%ld", &nfree) != 1)
			nfree = 0;
		fclose(f);
	}
	if (nfree < 2) {
		printf("test_discard_hugetlb: %ld free 2 MiB pages: skipped\n", nfree);
		return;
	}
	mem = mkmem("0:4M", 0, NULL, true);
	ck_assert_msg(gm_mem_back(mem, GM_BACK_HUGEPAGES, &e) == 0, "%s", e.msg);
	fill(mem, 0, 4 * MIB, 0x99);
	ck_assert_int_eq(gm_mem_discard(mem, 4096, 4096), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, 0, 4096), -EINVAL);
	ck_assert_int_eq(gm_mem_discard(mem, 2 * MIB, 2 * MIB), 0);
	ck_assert(reads_as(mem, 2 * MIB, 2 * MIB, 0));
	ck_assert(reads_as(mem, 0, 2 * MIB, 0x99));
	gm_mem_destroy(mem);
}
END_TEST

struct worker {
	struct gm_mem *mem;
	uint64_t gpa;
	bool ok;
};

static void *discard_loop(void *arg)
{
	struct worker *w = arg;

	w->ok = true;
	for (int i = 0; i < 40 && w->ok; i++) {
		unsigned char *p = gm_mem_hva(w->mem, w->gpa, 2 * MIB);

		memset(p, i + 1, 2 * MIB);
		w->ok = p[2 * MIB - 1] == i + 1 &&
			gm_mem_discard(w->mem, w->gpa, 2 * MIB) == 0 &&
			p[0] == 0 && p[2 * MIB - 1] == 0;
	}
	return NULL;
}

/* Device threads discard at the same time, with no lock. */
START_TEST(test_discard_threads)
{
	struct gm_mem *mem = backed("0:32M");
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ mem, (uint64_t)(2 + 4 * i) * MIB, false };
		ck_assert_int_eq(pthread_create(&t[i], NULL, discard_loop, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].ok, "worker %d", i);
	}
	/* (the workers' reads mapped the zero page: resident again) */
	ck_assert_int_eq(gm_mem_discard(mem, 0, 32 * MIB), 0);
	ck_assert_uint_eq(resident(mem, 0, 32 * MIB), 0);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("backing", test_discard_releases, test_discard_errors,
		  test_aligned, test_transparent_huge_pages,
		  test_discard_hugetlb, test_discard_threads);
}
