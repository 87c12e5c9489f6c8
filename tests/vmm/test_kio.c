// SPDX-License-Identifier: MIT
/*
 * test_kio.c - io/load.c: kio_load_file() through io_uring (forced with
 * KIO_F_URING: no silent fallback) and through pread() (KIO_F_PREAD) gives
 * the same bytes, honours offset and limit, and reports missing files.
 * Where this machine cannot set up an io_uring ring at all (liburing says
 * so), the pread cases still run and the test then exits 77 (meson: SKIP):
 * the ring path was not tested.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liburing.h>

#include "io.h"
#include "../check-run.h"

#define FILE_SIZE	(3 * KIO_CHUNK + KIO_CHUNK / 2 + 123)	/* not a chunk multiple */

static char path[] = "/tmp/kvmem-test-kio-XXXXXX";
static uint8_t *data;
static unsigned flags[2] = { KIO_F_URING, KIO_F_PREAD };
static unsigned nr_paths = 2;	/* 1: no io_uring here, pread only */

static void setup(void)
{
	unsigned seed = 42;
	int fd;

	data = malloc(FILE_SIZE);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < FILE_SIZE; i++)
		data[i] = (uint8_t)rand_r(&seed);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, FILE_SIZE), FILE_SIZE);
	close(fd);
}

static void teardown(void)
{
	unlink(path);
	free(data);
	strcpy(path, "/tmp/kvmem-test-kio-XXXXXX");
}

/* Expect: whole file, both paths, identical to the bytes written; tail untouched. */
START_TEST(test_whole_file)
{
	for (unsigned f = 2 - nr_paths; f < 2; f++) {
		uint8_t *dst = malloc(FILE_SIZE + 4096);

		memset(dst, 0xa5, FILE_SIZE + 4096);
		ck_assert_int_eq(kio_load_file(path, dst, FILE_SIZE + 4096, 0,
					       flags[f]), FILE_SIZE);
		ck_assert_int_eq(memcmp(dst, data, FILE_SIZE), 0);
		for (unsigned i = 0; i < 4096; i++)
			ck_assert_uint_eq(dst[FILE_SIZE + i], 0xa5);
		free(dst);
	}
}
END_TEST

/* Expect: from an odd offset, at most max bytes; past the end reads 0. */
START_TEST(test_offset_and_limit)
{
	size_t off = KIO_CHUNK + 4097, max = 2 * KIO_CHUNK + 5;

	for (unsigned f = 2 - nr_paths; f < 2; f++) {
		uint8_t *dst = calloc(1, FILE_SIZE);
		uint64_t size = 0;

		ck_assert_int_eq(kio_load_file(path, dst, max, off, flags[f]),
				 (ssize_t)max);
		ck_assert_int_eq(memcmp(dst, data + off, max), 0);
		ck_assert_int_eq(kio_load_file(path, dst, FILE_SIZE, off,
					       flags[f]),
				 (ssize_t)(FILE_SIZE - off));
		ck_assert_int_eq(memcmp(dst, data + off, FILE_SIZE - off), 0);
		ck_assert_int_eq(kio_load_file(path, dst, 10, FILE_SIZE,
					       flags[f]), 0);
		ck_assert_int_eq(kio_file_size(path, &size), 0);
		ck_assert_uint_eq(size, FILE_SIZE);
		free(dst);
	}
}
END_TEST

/* Expect: -ENOENT for a missing file, -EISDIR for a directory, -EINVAL for NULL. */
START_TEST(test_errors)
{
	uint8_t b[16];
	uint64_t size;

	ck_assert_int_eq(kio_load_file("/nonexistent/x", b, 16, 0, 0), -ENOENT);
	ck_assert_int_eq(kio_file_size("/nonexistent/x", &size), -ENOENT);
	ck_assert_int_eq(kio_file_size("/tmp", &size), -EISDIR);
	ck_assert_int_eq(kio_load_file(NULL, b, 16, 0, 0), -EINVAL);
	ck_assert_int_eq(kio_load_file(path, NULL, 16, 0, 0), -EINVAL);
	ck_assert_int_eq(kio_load_file(path, b, 16, 0, KIO_F_PREAD | KIO_F_URING),
			 -EINVAL);
	ck_assert_int_eq(kio_load_file(path, b, 16, 0, 0x80), -EINVAL);
}
END_TEST

/* Expect: the default (no flag) reads the same bytes as the forced paths. */
START_TEST(test_default_path)
{
	uint8_t *dst = malloc(FILE_SIZE);

	ck_assert_int_eq(kio_load_file(path, dst, FILE_SIZE, 0, 0), FILE_SIZE);
	ck_assert_int_eq(memcmp(dst, data, FILE_SIZE), 0);
	free(dst);
}
END_TEST

/*
 * Can this machine set up a ring at all? Asked of liburing directly, not
 * of kio: a kio that lost its ring path must fail here, not skip.
 */
static int probe_uring(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(KIO_DEPTH, &ring, 0);

	if (!ret)
		io_uring_queue_exit(&ring);
	return ret;
}

int main(void)
{
	Suite *s = suite_create("kio");
	TCase *tc = tcase_create("load");
	int ret = probe_uring();

	if (ret) {
		printf("io_uring unavailable here (%s): only the pread() path is tested\n",
		       strerror(-ret));
		nr_paths = 1;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_whole_file);
	tcase_add_test(tc, test_offset_and_limit);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_default_path);
	suite_add_tcase(s, tc);
	if (check_run(s))
		return 1;
	return nr_paths == 2 ? 0 : 77;
}
