// SPDX-License-Identifier: MIT
/*
 * blkbench - the guest side of tests/bench/bench-blk: direct I/O on a
 * block device from inside a guest, built static so it runs in the busybox
 * initramfs.
 *
 * usage: blkbench DEV MIB
 *
 * On DEV (opened O_DIRECT, so the guest's page cache plays no part):
 * sequential write and read of MIB MiB in 1 MiB requests (one in flight),
 * then 4 KiB random reads over the same range with one request in flight
 * (pread) and with eight (Linux native AIO from one thread: io_submit
 * keeps eight in flight, so the figure is the device's, not the guest
 * scheduler's), for a fixed count each. Prints
 *   KVMEM-BENCH begin
 *   KVMEM-BENCH seqwrite MiBps=F
 *   KVMEM-BENCH seqread MiBps=F
 *   KVMEM-BENCH randread-qd1 iops=F
 *   KVMEM-BENCH randread-qd8 iops=F
 *   KVMEM-BENCH end bytes=N
 * (the host samples the VMM's CPU time at begin and end) or
 * KVMEM-BENCH error ... and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1ULL << 20)
#define RAND_OPS	4000	/* per thread count */
#define THREADS		8

static int fd;
static uint64_t span;			/* bytes of the device used */
static uint64_t moved;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
	printf("KVMEM-BENCH error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static void sequential(bool write, void *buf)
{
	double t0 = now(), dt;

	for (uint64_t off = 0; off < span; off += MIB) {
		ssize_t n = write ? pwrite(fd, buf, MIB, (off_t)off) :
				    pread(fd, buf, MIB, (off_t)off);

		if (n != (ssize_t)MIB)
			fail(write ? "seq write" : "seq read");
	}
	if (write && fdatasync(fd) < 0)
		fail("fdatasync");
	dt = now() - t0;
	moved += span;
	printf("KVMEM-BENCH %s MiBps=%.1f\n", write ? "seqwrite" : "seqread",
	       (double)span / MIB / dt);
	fflush(stdout);
}

/* xorshift, one state per thread */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Linux native AIO, by system call (no libaio in a static busybox image). */
static long io_setup(unsigned n, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, n, ctx);
}

static long io_submit(aio_context_t ctx, long n, struct iocb **iocb)
{
	return syscall(SYS_io_submit, ctx, n, iocb);
}

static long io_getevents(aio_context_t ctx, long min, long max,
			 struct io_event *ev)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, NULL);
}

/* @depth random 4 KiB reads in flight until RAND_OPS * @depth are done. */
static void random_aio(int depth)
{
	struct iocb cb[THREADS], *cbp[THREADS];
	struct io_event ev[THREADS];
	aio_context_t ctx = 0;
	uint64_t seed = 12345;
	long total = (long)RAND_OPS * depth, issued = 0, done = 0;
	double t0, dt;
	void *buf;

	if (io_setup(THREADS, &ctx) < 0)
		fail("io_setup");
	if (posix_memalign(&buf, 4096, 4096 * THREADS))
		fail("memory");
	t0 = now();
	for (int i = 0; i < depth; i++) {
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_fildes = (uint32_t)fd;
		cb[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cb[i].aio_buf = (uintptr_t)buf + 4096 * i;
		cb[i].aio_nbytes = 4096;
		cb[i].aio_offset = (int64_t)(next(&seed) % (span / 4096)) * 4096;
		cb[i].aio_data = (uint64_t)i;
		cbp[i] = &cb[i];
	}
	if (io_submit(ctx, depth, cbp) != depth)
		fail("io_submit");
	issued = depth;
	while (done < total) {
		long n = io_getevents(ctx, 1, depth, ev);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("io_getevents");
		for (long k = 0; k < n; k++) {
			struct iocb *c = &cb[ev[k].data];

			if (ev[k].res != 4096)
				fail("aio read");
			done++;
			if (issued < total) {
				c->aio_offset = (int64_t)(next(&seed) % (span / 4096)) * 4096;
				if (io_submit(ctx, 1, &c) != 1)
					fail("io_submit");
				issued++;
			}
		}
	}
	dt = now() - t0;
	syscall(SYS_io_destroy, ctx);
	free(buf);
	moved += (uint64_t)total * 4096;
	printf("KVMEM-BENCH randread-qd%d iops=%.0f\n", depth, total / dt);
	fflush(stdout);
}

static void *random_reads(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	void *buf;

	if (posix_memalign(&buf, 4096, 4096))
		return (void *)1;
	for (int i = 0; i < RAND_OPS; i++) {
		off_t off = (off_t)(next(&seed) % (span / 4096)) * 4096;

		if (pread(fd, buf, 4096, off) != 4096) {
			free(buf);
			return (void *)1;
		}
	}
	free(buf);
	return NULL;
}

static void random_phase(int threads)
{
	pthread_t t[THREADS];
	double t0 = now(), dt;
	int bad = 0;

	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, random_reads, (void *)(uintptr_t)(i + 1)))
			fail("pthread_create");
	for (int i = 0; i < threads; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	if (bad)
		fail("random read");
	dt = now() - t0;
	moved += (uint64_t)threads * RAND_OPS * 4096;
	printf("KVMEM-BENCH randread-qd%d iops=%.0f\n", threads,
	       threads * RAND_OPS / dt);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	void *buf;

	if (argc != 3) {
		fprintf(stderr, "usage: blkbench DEV MIB\n");
		return 2;
	}
	span = strtoull(argv[2], NULL, 0) * MIB;
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || !span)
		fail(argv[1]);
	if (posix_memalign(&buf, 4096, MIB))
		fail("memory");
	memset(buf, 0x5a, MIB);
	printf("KVMEM-BENCH begin\n");
	fflush(stdout);
	sequential(true, buf);
	sequential(false, buf);
	random_phase(1);
	random_aio(THREADS);
	printf("KVMEM-BENCH end bytes=%" PRIu64 "\n", moved);
	fflush(stdout);
	free(buf);
	close(fd);
	return 0;
}
