// SPDX-License-Identifier: MIT
/*
 * test_kio.c - io/load.c: kio_load_file() through io_uring and through the
 * pread() fallback gives the same bytes, honours offset and limit, and
 * reports missing files.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "../check-run.h"

#define FILE_SIZE	(3 * KIO_CHUNK + KIO_CHUNK / 2 + 123)	/* not a chunk multiple */

static char path[] = "/tmp/kvmem-test-kio-XXXXXX";
static uint8_t *data;

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
	static const unsigned flags[] = { 0, KIO_F_PREAD };

	for (unsigned f = 0; f < 2; f++) {
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
	static const unsigned flags[] = { 0, KIO_F_PREAD };
	size_t off = KIO_CHUNK + 4097, max = 2 * KIO_CHUNK + 5;

	for (unsigned f = 0; f < 2; f++) {
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
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kio");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_whole_file);
	tcase_add_test(tc, test_offset_and_limit);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return check_run(s);
}
