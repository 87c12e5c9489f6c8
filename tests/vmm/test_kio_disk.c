// SPDX-License-Identifier: MIT
/*
 * test_kio_disk.c - io/disk.c and io/queue.c: the checks a disk image
 * passes before a guest sees it, and every request kind through io_uring
 * and through the synchronous fallback, with O_DIRECT (on a file system
 * that has it) and through the page cache (tmpfs, /dev/shm).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "../check-run.h"

#define SIZE	(1u << 20)

static char dir[] = "/tmp/kvmem-test-kio-disk-XXXXXX";
static char shm[] = "/dev/shm/kvmem-test-kio-disk-XXXXXX";
static char path[128];
static char msg[256];

static void make_file(const char *p, size_t size, uint8_t fill)
{
	uint8_t *b = malloc(size ? size : 1);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	memset(b, fill, size);
	ck_assert_int_eq(write(fd, b, size), (ssize_t)size);
	close(fd);
	free(b);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(mkdtemp(shm));
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	make_file(path, SIZE, 0x11);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "chattr -i %s/* 2>/dev/null; rm -rf %s %s", dir, dir, shm);
	(void)!system(cmd);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	memcpy(shm + strlen(shm) - 6, "XXXXXX", 6);
}

/*
 * Expect each bad image to fail with its errno and a message naming the
 * file: missing, a directory, not a whole number of sectors, empty, a
 * character device, in use by another open (flock), and cache=none where
 * O_DIRECT is refused (tmpfs); a good one to open read-write, two
 * read-only opens to share it.
 */
START_TEST(test_open_checks)
{
	struct kio_disk *d, *d2;
	struct kio_disk_info info;
	char p[160];

	snprintf(p, sizeof(p), "%s/nope", dir);
	ck_assert_int_eq(kio_disk_open(p, 0, &d, msg, sizeof(msg)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(msg, p));
	ck_assert_int_eq(kio_disk_open(dir, 0, &d, msg, sizeof(msg)), -EISDIR);
	ck_assert_ptr_nonnull(strstr(msg, "is a directory"));
	snprintf(p, sizeof(p), "%s/odd", dir);
	make_file(p, 1000, 0);
	ck_assert_int_eq(kio_disk_open(p, 0, &d, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "512-byte sectors"));
	snprintf(p, sizeof(p), "%s/empty", dir);
	make_file(p, 0, 0);
	ck_assert_int_eq(kio_disk_open(p, 0, &d, msg, sizeof(msg)), -EINVAL);
	ck_assert_int_eq(kio_disk_open("/dev/null", KIO_DISK_RO, &d, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "not a regular file or a block device"));

	ck_assert_int_eq(kio_disk_open(path, 0, &d, msg, sizeof(msg)), 0);
	kio_disk_info(d, &info);
	ck_assert_uint_eq(info.size, SIZE);
	ck_assert(!info.ro);
	ck_assert(kio_disk_is(d, path));
	ck_assert(!kio_disk_is(d, "/dev/null"));
	ck_assert_int_eq(kio_disk_open(path, KIO_DISK_RO, &d2, msg, sizeof(msg)), -EBUSY);
	ck_assert_ptr_nonnull(strstr(msg, "in use"));
	kio_disk_close(d);
	ck_assert_int_eq(kio_disk_open(path, KIO_DISK_RO, &d, msg, sizeof(msg)), 0);
	ck_assert_int_eq(kio_disk_open(path, KIO_DISK_RO, &d2, msg, sizeof(msg)), 0);
	kio_disk_close(d2);
	kio_disk_close(d);

	/*
	 * tmpfs: before Linux 6.6 it refuses O_DIRECT, then the default falls
	 * back to the page cache and cache=none is an error; from 6.6 on it
	 * takes O_DIRECT and both get it. Whichever this kernel does, the
	 * disk must follow it.
	 */
	snprintf(p, sizeof(p), "%s/disk.img", shm);
	make_file(p, SIZE, 0);
	{
		int fd = open(p, O_RDWR | O_DIRECT);
		bool has = fd >= 0;

		if (fd >= 0)
			close(fd);
		ck_assert_int_eq(kio_disk_open(p, KIO_DISK_DIRECT, &d, msg, sizeof(msg)),
				 has ? 0 : -EINVAL);
		if (has)
			kio_disk_close(d);
		else
			ck_assert_ptr_nonnull(strstr(msg, "cache=none needs O_DIRECT"));
		ck_assert_int_eq(kio_disk_open(p, 0, &d, msg, sizeof(msg)), 0);
		kio_disk_info(d, &info);
		ck_assert(info.direct == has);
		kio_disk_close(d);
		printf("test_open_checks: tmpfs %s O_DIRECT\n", has ? "takes" : "refuses");
	}
	ck_assert_int_eq(kio_disk_open(p, KIO_DISK_WRITEBACK, &d, msg, sizeof(msg)), 0);
	kio_disk_info(d, &info);
	ck_assert(!info.direct);
	kio_disk_close(d);
}
END_TEST

/*
 * Expect an image that cannot be opened for writing to be refused with a
 * hint to add ,ro (an immutable file: refused even to root), and to open
 * read-only. Where the file system has no immutable flag the case says so
 * and checks the read-only open only.
 */
START_TEST(test_not_writable)
{
	struct kio_disk *d;
	int fd = open(path, O_RDONLY), flags = 0, ret;

	ck_assert_int_ge(fd, 0);
	ret = ioctl(fd, FS_IOC_GETFLAGS, &flags);
	flags |= FS_IMMUTABLE_FL;
	if (ret == 0)
		ret = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	close(fd);
	if (ret == 0) {
		ret = kio_disk_open(path, 0, &d, msg, sizeof(msg));
		ck_assert_msg(ret == -EPERM || ret == -EACCES, "open rw: %d", ret);
		ck_assert_ptr_nonnull(strstr(msg, "add ,ro"));
	} else {
		printf("test_not_writable: no immutable files on %s (%s): only the read-only open\n",
		       dir, strerror(errno));
	}
	ck_assert_int_eq(kio_disk_open(path, KIO_DISK_RO, &d, msg, sizeof(msg)), 0);
	kio_disk_close(d);
}
END_TEST

static unsigned ndone;

static void count(struct kio_request *r, void *arg)
{
	(void)r;
	(void)arg;
	ndone++;
}

/* Submit @r, commit, wait for its completion; its result. */
static int run(struct kio_queue *q, struct kio_request *r)
{
	struct pollfd p = { .fd = kio_queue_fd(q), .events = POLLIN };
	unsigned before = ndone;
	int ret = kio_submit(q, r);

	if (ret)
		return ret;
	ck_assert_int_eq(kio_commit(q), 0);
	while (ndone == before) {
		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		kio_reap(q, count, NULL);
	}
	return r->res;
}

static uint64_t blocks(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return (uint64_t)st.st_blocks;
}

/* Every request kind on @p with disk flags @df and queue flags @qf. */
static void all_kinds(const char *p, unsigned df, unsigned qf)
{
	struct kio_disk *d;
	struct kio_queue *q;
	struct kio_disk_info info;
	static uint8_t buf[3 * 4096 + 512], back[3 * 4096];
	struct iovec iov[3], one;
	struct kio_request r;
	uint64_t before;

	make_file(p, SIZE, 0x11);
	ck_assert_int_eq(kio_disk_open(p, df, &d, msg, sizeof(msg)), 0);
	ck_assert_int_eq(kio_queue_create(d, 16, qf, &q), 0);
	ck_assert(kio_queue_sync(q) == !!(qf & KIO_F_PREAD));
	kio_disk_info(d, &info);

	/* a write in three pieces, the middle one misaligned in memory */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	iov[0] = (struct iovec){ buf, 4096 };
	iov[1] = (struct iovec){ buf + 4096 + 100, 4096 };
	iov[2] = (struct iovec){ buf + 2 * 4096 + 512, 4096 - 512 };
	r = (struct kio_request){ .op = KIO_WRITE, .off = 8192, .len = 3 * 4096 - 512,
				  .iov = iov, .nr_iov = 3 };
	ck_assert_int_eq(run(q, &r), 0);
	one = (struct iovec){ back, 3 * 4096 - 512 };
	r = (struct kio_request){ .op = KIO_READ, .off = 8192, .len = 3 * 4096 - 512,
				  .iov = &one, .nr_iov = 1 };
	ck_assert_int_eq(run(q, &r), 0);
	ck_assert_mem_eq(back, buf, 4096);
	ck_assert_mem_eq(back + 4096, buf + 4096 + 100, 4096);
	ck_assert_mem_eq(back + 8192, buf + 2 * 4096 + 512, 4096 - 512);
	r = (struct kio_request){ .op = KIO_FLUSH };
	ck_assert_int_eq(run(q, &r), 0);

	/* bounds and shapes refused up front */
	r = (struct kio_request){ .op = KIO_READ, .off = SIZE - 512, .len = 1024,
				  .iov = &one, .nr_iov = 1 };
	one.iov_len = 1024;
	ck_assert_int_eq(kio_submit(q, &r), -EINVAL);
	r = (struct kio_request){ .op = KIO_READ, .off = 0, .len = 1024,
				  .iov = &one, .nr_iov = 1 };
	one.iov_len = 512;
	ck_assert_int_eq(kio_submit(q, &r), -EINVAL);

	/* write zeroes, without and with deallocation: both read back zero */
	for (int unmap = 0; unmap < 2; unmap++) {
		r = (struct kio_request){ .op = KIO_WRITE_ZEROES, .off = 8192, .len = 8192,
					  .unmap = unmap };
		ck_assert_int_eq(run(q, &r), 0);
		one = (struct iovec){ back, 8192 };
		r = (struct kio_request){ .op = KIO_READ, .off = 8192, .len = 8192,
					  .iov = &one, .nr_iov = 1 };
		memset(back, 0xff, 8192);
		ck_assert_int_eq(run(q, &r), 0);
		for (int i = 0; i < 8192; i++)
			ck_assert_uint_eq(back[i], 0);
	}

	/* discard punches: the file's allocated blocks fall */
	r = (struct kio_request){ .op = KIO_FLUSH };
	ck_assert_int_eq(run(q, &r), 0);
	before = blocks(p);
	r = (struct kio_request){ .op = KIO_DISCARD, .off = 256 * 1024, .len = 512 * 1024 };
	ck_assert_int_eq(run(q, &r), 0);
	ck_assert_uint_le(blocks(p), before - 512 * 1024 / 512 + 64);
	ck_assert_uint_eq(kio_inflight(q), 0);
	kio_queue_destroy(q);
	kio_disk_close(d);

	/* read-only: writes refused, reads fine */
	ck_assert_int_eq(kio_disk_open(p, KIO_DISK_RO, &d, msg, sizeof(msg)), 0);
	ck_assert_int_eq(kio_queue_create(d, 4, qf, &q), 0);
	one = (struct iovec){ back, 4096 };
	r = (struct kio_request){ .op = KIO_WRITE, .off = 0, .len = 4096, .iov = &one, .nr_iov = 1 };
	ck_assert_int_eq(kio_submit(q, &r), -EROFS);
	r = (struct kio_request){ .op = KIO_DISCARD, .off = 0, .len = 4096 };
	ck_assert_int_eq(kio_submit(q, &r), -EROFS);
	r = (struct kio_request){ .op = KIO_READ, .off = 0, .len = 4096, .iov = &one, .nr_iov = 1 };
	ck_assert_int_eq(run(q, &r), 0);
	ck_assert_uint_eq(back[0], 0x11);
	kio_queue_destroy(q);
	kio_disk_close(d);
	printf("all_kinds %s: %s, %s\n", p, info.direct ? "O_DIRECT" : "page cache",
	       qf & KIO_F_PREAD ? "synchronous" : "io_uring");
}

START_TEST(test_ring_default)
{
	all_kinds(path, 0, 0);
}
END_TEST

START_TEST(test_sync_fallback)
{
	all_kinds(path, 0, KIO_F_PREAD);
}
END_TEST

START_TEST(test_tmpfs)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/t.img", shm);
	all_kinds(p, 0, 0);
	all_kinds(p, KIO_DISK_WRITEBACK, KIO_F_PREAD);
}
END_TEST

/*
 * Expect a batch of 16 reads in flight at once to complete, each with its
 * own bytes, and kio_drain() to leave nothing in flight.
 */
START_TEST(test_batch)
{
	struct kio_disk *d;
	struct kio_queue *q;
	static uint8_t b[16][4096];
	struct iovec iov[16];
	struct kio_request r[16];
	int fd;

	fd = open(path, O_WRONLY);
	for (int i = 0; i < 16; i++) {
		memset(b[i], i + 1, 4096);
		ck_assert_int_eq(pwrite(fd, b[i], 4096, i * 4096), 4096);
	}
	close(fd);
	ck_assert_int_eq(kio_disk_open(path, 0, &d, msg, sizeof(msg)), 0);
	ck_assert_int_eq(kio_queue_create(d, 16, 0, &q), 0);
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 16; i++) {
		iov[i] = (struct iovec){ b[i], 4096 };
		r[i] = (struct kio_request){ .op = KIO_READ, .off = (uint64_t)i * 4096,
					     .len = 4096, .iov = &iov[i], .nr_iov = 1 };
		ck_assert_int_eq(kio_submit(q, &r[i]), 0);
	}
	ck_assert_uint_eq(kio_inflight(q), 16);
	ck_assert_int_eq(kio_commit(q), 0);
	ndone = 0;
	kio_drain(q, count, NULL);
	ck_assert_uint_eq(ndone, 16);
	ck_assert_uint_eq(kio_inflight(q), 0);
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(r[i].res, 0);
		ck_assert_uint_eq(b[i][0], i + 1);
		ck_assert_uint_eq(b[i][4095], i + 1);
	}
	kio_queue_destroy(q);
	kio_disk_close(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kio-disk");
	TCase *tc = tcase_create("disk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_checks);
	tcase_add_test(tc, test_not_writable);
	tcase_add_test(tc, test_ring_default);
	tcase_add_test(tc, test_sync_fallback);
	tcase_add_test(tc, test_tmpfs);
	tcase_add_test(tc, test_batch);
	suite_add_tcase(s, tc);
	return check_run(s);
}
