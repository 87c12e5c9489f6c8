/* SPDX-License-Identifier: MIT */
/*
 * fs-util.h - what the C filesystem tests (vm-files, vm-owned, added-dirs)
 * share: TAP lines, a scratch mount point with guest memory behind it, a
 * file read whole (in chunks of a size the test picks, 3 bytes for the
 * kernel's short-read path) and one write(2) of a value.
 */
#ifndef KVMEM_TESTS_FS_UTIL_H
#define KVMEM_TESTS_FS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fusefs.h"
#include "guestmem.h"

static int tap_n, tap_failed;

/* One TAP line: "ok N - @what", or "not ok ..." when @cond is false. */
static inline void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tap_n, what);
	if (!cond)
		tap_failed++;
}

/* The TAP plan after the last line; the exit status (1 if any failed). */
static inline int tap_end(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/*
 * A scratch directory, mkdtemp(@tmp), its mount point @mnt = @tmp/m (@len
 * bytes), and a retired gm_mem of @numa (backed first when @back) in *@mem.
 * 0, or -1 after a "Bail out!" line.
 */
static inline int fs_scratch(char *tmp, char *mnt, size_t len, const char *numa, bool back,
			     struct gm_mem **mem)
{
	struct gm_error e = { 0 };
	struct gm_config cfg;

	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(mnt, len, "%s/m", tmp);
	gm_config_init(&cfg);
	if (gm_parse_numa(numa, &cfg, &e) || gm_mem_create(&cfg, mem, &e) ||
	    (back && gm_mem_back(*mem, 0, &e)) || gm_mem_retire(*mem, &e)) {
		printf("Bail out! guestmem: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* fs_mount(@mem, @mnt, @vm, @fs): 0, or -1 after a "Bail out!" line. */
static inline int fs_scratch_mount(struct gm_mem *mem, const char *mnt, const struct fs_vm *vm,
				   struct fs **fs)
{
	struct gm_error e = { 0 };

	if (fs_mount(mem, mnt, vm, fs, &e)) {
		printf("Bail out! fs_mount: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/*
 * @dir/@file read whole in read(2)s of @chunk bytes (0: as much as fits),
 * up to 8 KiB; "" when it does not open. A static buffer, overwritten by
 * the next call.
 */
static inline const char *fs_slurp(const char *dir, const char *file, size_t chunk)
{
	static char buf[8192];
	char path[512];
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	while (len < sizeof(buf) - 1) {
		size_t room = sizeof(buf) - 1 - len;

		n = read(fd, buf + len, chunk && chunk < room ? chunk : room);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/*
 * One write(2) of @s to @dir/@file opened O_WRONLY | @oflags (O_TRUNC, as
 * the shell's `>` does, or 0); 0 or -errno of the open or the write.
 */
static inline int fs_put(const char *dir, const char *file, const char *s, int oflags)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | oflags);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

#endif
