// SPDX-License-Identifier: MIT
/*
 * bench-kio - how fast kio_load_file() puts an image into guest memory.
 *
 * Usage: bench-kio [FILE] [ROUNDS]   (default: the first /boot/vmlinuz-*, 15)
 *
 * Each round loads FILE into a fresh anonymous mapping (private, 2 MiB
 * aligned, MADV_HUGEPAGE: as guest memory is, so page faults are part of
 * the cost) three ways, interleaved
 * so that noise hits all of them:
 *   baseline   read() in 64 KiB pieces, what a simple loader does
 *   pread      kio_load_file(..., KIO_F_PREAD): 1 MiB preads
 *   io_uring   kio_load_file(..., 0): 1 MiB reads, 8 in flight
 * once with the file in the page cache (hot) and once after
 * POSIX_FADV_DONTNEED (cold: from the disk, where the kernel honours it).
 * Prints the median MB/s of each and the ratio to the baseline.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "stats.h"

enum { BASELINE, PREAD, URING, NR_WAYS };
static const char *const way_name[NR_WAYS] = { "baseline", "pread", "io_uring" };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static ssize_t load_baseline(const char *path, char *dst, size_t max)
{
	size_t done = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	while (done < max) {
		ssize_t n = read(fd, dst + done,
				 max - done < 65536 ? max - done : 65536);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return (ssize_t)done;
}

static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* One load into a fresh guest-like mapping; seconds, or < 0 on error. */
static double one(int way, const char *path, uint64_t size, bool cold)
{
	size_t len = size + (2 << 20);
	double t0, t;
	ssize_t n;
	char *map, *dst;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -1;
	dst = (char *)(((uintptr_t)map + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	(void)madvise(dst, size, MADV_HUGEPAGE);
	if (cold)
		drop_cache(path);
	t0 = now();
	if (way == BASELINE)
		n = load_baseline(path, dst, size);
	else
		n = kio_load_file(path, dst, size, 0,
				  way == PREAD ? KIO_F_PREAD : 0);
	t = now() - t0;
	munmap(map, len);
	return n == (ssize_t)size ? t : -1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : NULL;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 15;
	double *t[NR_WAYS], med[NR_WAYS];
	glob_t g = { 0 };
	uint64_t size;

	if (!path && !glob("/boot/vmlinuz-*", 0, NULL, &g))
		path = g.gl_pathv[0];
	if (!path || kio_file_size(path, &size) < 0 || !size) {
		fprintf(stderr, "bench-kio: no file to load (give one)\n");
		return 1;
	}
	if (rounds < 1 || rounds > 1000)
		rounds = 15;
	for (int w = 0; w < NR_WAYS; w++)
		t[w] = calloc(rounds, sizeof(double));
	printf("bench-kio: %s, %.1f MiB, %u rounds, median\n", path,
	       size / 1048576.0, rounds);
	for (int cold = 0; cold < 2; cold++) {
		for (unsigned r = 0; r < rounds; r++)
			for (int w = 0; w < NR_WAYS; w++) {
				t[w][r] = one(w, path, size, cold);
				if (t[w][r] < 0) {
					fprintf(stderr, "bench-kio: %s load failed\n",
						way_name[w]);
					return 1;
				}
			}
		for (int w = 0; w < NR_WAYS; w++) {
			qsort(t[w], rounds, sizeof(double), bench_cmp_double);
			med[w] = t[w][rounds / 2];
		}
		for (int w = 0; w < NR_WAYS; w++)
			printf("  %-4s %-9s %8.1f MB/s  %6.3f ms  x%.2f vs baseline\n",
			       cold ? "cold" : "hot", way_name[w],
			       size / med[w] / 1e6, med[w] * 1e3,
			       med[BASELINE] / med[w]);
	}
	for (int w = 0; w < NR_WAYS; w++)
		free(t[w]);
	globfree(&g);
	return 0;
}
