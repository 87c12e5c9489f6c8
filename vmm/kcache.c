// SPDX-License-Identifier: MIT
/*
 * kcache.c - decompressed kernels, kept so a bzImage is decompressed once.
 *
 * Decompressing Debian's 8 MiB xz payload to 63 MiB takes about a second
 * of CPU (five under emulation): as long as the kernel's own decompressor.
 * Doing it on the host pays only if it is done once: the payload (ELF and
 * relocation table, exactly what the kernel's decompressor would produce)
 * is stored under DIR and later boots read it like a vmlinux file.
 *
 * An entry is named after the bzImage's path and identity:
 *   DIR/<fnv64(realpath)>-<dev>-<ino>-<size>-<mtime.ns>-<ctime.ns>.elf
 * so a rebuilt, replaced or touched kernel misses; storing an entry deletes
 * the other entries of the same path, so the cache holds one kernel per
 * path. Zero blocks (64 KiB, aligned) are left as holes: a kernel's .bss,
 * .brk and scratch areas are zeros in the payload (27 of Debian's 57 MiB of
 * segments), and the loader reads only the data (SEEK_DATA), so guest pages
 * they cover are neither copied nor touched at setup. DIR is created 0700 and used only if it belongs to this user and
 * nobody else can write to it; entries are written under a temporary name
 * and renamed. A cached entry is checked again like any image before use
 * (its size against the bzImage's declared size here, its ELF and
 * relocations by the loader); a bad one is ignored and replaced. Nothing
 * here fails a boot: without a usable DIR the payload is decompressed each
 * time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"

static uint64_t fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* mkdir -p of @dir's last two levels, 0700; then: ours, not group/other writable. */
static bool usable_dir(const char *dir)
{
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return false;
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		(void)mkdir(parent, 0700);
	}
	(void)mkdir(dir, 0700);
	return !stat(dir, &st) && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & 022);
}

/* The entry's name for @kernel (stat @st): "<pathhash>-<identity>.elf". */
static int entry_name(const char *kernel, const struct stat *st, char *out,
		      size_t len, char *prefix, size_t plen)
{
	char real[PATH_MAX];

	if (!realpath(kernel, real))
		return -errno;
	snprintf(prefix, plen, "%016" PRIx64 "-", fnv64(real));
	if (snprintf(out, len, "%s%ju-%ju-%jd-%jd.%09ld-%jd.%09ld.elf", prefix,
		     (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
		     (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
		     st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec,
		     st->st_ctim.tv_nsec) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int vmm_kcache_find(const char *dir, const char *kernel, const struct stat *st,
		    uint64_t size, char *out, size_t len)
{
	char name[NAME_MAX + 1], prefix[32];
	struct stat cst;

	if (!dir || !*dir || !usable_dir(dir) ||
	    entry_name(kernel, st, name, sizeof(name), prefix, sizeof(prefix)))
		return -ENOENT;
	if (snprintf(out, len, "%s/%s", dir, name) >= (int)len)
		return -ENOENT;
	if (stat(out, &cst) || !S_ISREG(cst.st_mode) ||
	    cst.st_uid != geteuid() || (uint64_t)cst.st_size != size)
		return -ENOENT;
	return 0;
}

/* Delete the entries of the same path (prefix) other than @keep. */
static void prune(const char *dir, const char *prefix, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
		    strcmp(de->d_name, keep))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

#define HOLE_BLOCK	(64u << 10)

static bool all_zero(const uint8_t *p, size_t n)
{
	return n && !p[0] && !memcmp(p, p + 1, n - 1);
}

/* @len bytes of @buf into @fd, its zero HOLE_BLOCKs left as holes. */
static int write_sparse(int fd, const uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < HOLE_BLOCK ? len - off : HOLE_BLOCK;
		ssize_t w;

		if (all_zero(buf + off, n)) {
			off += n;
			continue;
		}
		w = pwrite(fd, buf + off, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		off += (size_t)w;
	}
	return ftruncate(fd, (off_t)len) ? -errno : 0;
}

void vmm_kcache_store(const char *dir, const char *kernel,
		      const struct stat *st, const void *buf, size_t len)
{
	char name[NAME_MAX + 1], prefix[32], tmp[PATH_MAX], path[PATH_MAX];
	int fd, ret;

	if (!dir || !*dir || !usable_dir(dir) ||
	    entry_name(kernel, st, name, sizeof(name), prefix, sizeof(prefix)) ||
	    snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	fd = mkstemp(tmp);
	if (fd < 0)
		return;
	ret = write_sparse(fd, buf, len);
	if (close(fd) || ret || rename(tmp, path)) {
		unlink(tmp);
		return;
	}
	prune(dir, prefix, name);
}

void vmm_kcache_forget(const char *path)
{
	if (path && *path)
		(void)unlink(path);
}
