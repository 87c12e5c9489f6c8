// SPDX-License-Identifier: MIT
/*
 * disk.c - a disk image for virtio-blk: a raw file or a block device,
 * opened and checked once, before the guest starts.
 *
 * Checks, each with its own errno and a one-line reason: the path exists
 * (the errno of open), is a regular file or a block device (-EISDIR,
 * -EINVAL), opens read-write unless read-only was asked (-EACCES, -EROFS),
 * is not empty and a whole number of 512-byte sectors (-EINVAL), and no
 * other kvmem uses it (an flock, exclusive for read-write and shared for
 * read-only: -EBUSY).
 *
 * Cache modes. "none" opens with O_DIRECT: the host page cache is
 * bypassed, so the guest's own cache is the only one and an acknowledged
 * write is in the device (a flush still runs fdatasync() for the device's
 * and the file system's caches). Whether O_DIRECT works is probed: the
 * open must succeed (tmpfs refuses it) and a read of one aligned block
 * must too. "writeback" uses the page cache. The default is "none" where
 * the probe succeeds and "writeback" where it does not (tmpfs, some
 * network file systems); asking for "none" there is an error. The
 * alignment O_DIRECT needs comes from statx(STATX_DIOALIGN), else the
 * block device's logical block size (BLKSSZGET), else 512.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "kio-internal.h"

#define SECTOR		512u
#define MAX_ALIGN	65536u

static int fail(char *msg, size_t len, int err, const char *fmt, const char *a)
{
	snprintf(msg, len, fmt, a);
	return -err;
}

/* The O_DIRECT alignment of @fd (offsets and memory), 512 at least. */
static void dio_align(int fd, bool blockdev, unsigned *off, unsigned *mem)
{
	struct statx sx;
	int lbs = 0;

	*off = *mem = SECTOR;
	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		*off = sx.stx_dio_offset_align;
		*mem = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : *off;
	} else if (blockdev && !ioctl(fd, BLKSSZGET, &lbs) && lbs > 0) {
		*off = *mem = (unsigned)lbs;
	}
	if (*off < SECTOR || *off > MAX_ALIGN || (*off & (*off - 1)))
		*off = SECTOR;
	if (*mem < SECTOR || *mem > MAX_ALIGN || (*mem & (*mem - 1)))
		*mem = *off;
}

/* Whether O_DIRECT I/O really works on @path: open and read one block. */
static int open_direct(const char *path, int flags, uint64_t size,
		       unsigned *off, unsigned *mem, bool blockdev)
{
	void *buf = NULL;
	int fd = open(path, flags | O_DIRECT);
	ssize_t n;

	if (fd < 0)
		return -errno;
	dio_align(fd, blockdev, off, mem);
	if (size >= *off) {
		if (posix_memalign(&buf, *mem < 4096 ? 4096 : *mem, *off)) {
			close(fd);
			return -ENOMEM;
		}
		n = pread(fd, buf, *off, 0);
		free(buf);
		if (n != (ssize_t)*off) {
			close(fd);
			return n < 0 ? -errno : -EIO;
		}
	}
	return fd;
}

int kio_disk_open(const char *path, unsigned flags, struct kio_disk **out,
		  char *msg, size_t msglen)
{
	bool ro = flags & KIO_DISK_RO;
	int oflags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct kio_disk *d;
	struct stat st;
	int fd, ret;

	if (!path || !*path || !out)
		return fail(msg, msglen, EINVAL, "%s: no file", "disk");
	fd = open(path, oflags);
	if (fd < 0) {
		ret = errno;
		if (ret == EISDIR)
			return fail(msg, msglen, EISDIR, "%s: is a directory", path);
		if (!ro && (ret == EACCES || ret == EROFS || ret == EPERM)) {
			snprintf(msg, msglen, "%s: cannot open for writing: %s (add ,ro for a read-only disk)",
				 path, strerror(ret));
			return -ret;
		}
		snprintf(msg, msglen, "%s: %s", path, strerror(ret));
		return -ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = errno;
		snprintf(msg, msglen, "%s: %s", path, strerror(ret));
		close(fd);
		return -ret;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		close(fd);
		return fail(msg, msglen, ENOMEM, "%s: out of memory", path);
	}
	d->fd = fd;
	d->ro = ro;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->blockdev = S_ISBLK(st.st_mode);
	if (S_ISDIR(st.st_mode)) {
		ret = fail(msg, msglen, EISDIR, "%s: is a directory", path);
		goto err;
	}
	if (d->blockdev) {
		d->dev = st.st_rdev;
		d->ino = 0;
		if (ioctl(fd, BLKGETSIZE64, &d->size) < 0) {
			ret = -errno;
			snprintf(msg, msglen, "%s: BLKGETSIZE64: %s", path, strerror(-ret));
			goto err;
		}
	} else if (S_ISREG(st.st_mode)) {
		d->size = (uint64_t)st.st_size;
	} else {
		ret = fail(msg, msglen, EINVAL, "%s: not a regular file or a block device", path);
		goto err;
	}
	if (!d->size || d->size % SECTOR) {
		snprintf(msg, msglen, "%s: size %llu is not a whole number of 512-byte sectors%s",
			 path, (unsigned long long)d->size, d->size ? "" : " (empty)");
		ret = -EINVAL;
		goto err;
	}
	if (flock(fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		snprintf(msg, msglen, "%s: in use by another process (%s lock held)",
			 path, ro ? "a write" : "a");
		goto err;
	}
	d->off_align = d->mem_align = SECTOR;
	if (!(flags & KIO_DISK_WRITEBACK)) {
		unsigned off = SECTOR, mem = SECTOR;
		int dfd = open_direct(path, oflags, d->size, &off, &mem, d->blockdev);

		if (dfd >= 0) {
			/* the O_DIRECT descriptor serves; the first keeps the lock */
			d->dfd = dfd;
			d->direct = true;
			d->off_align = off;
			d->mem_align = mem;
		} else if (flags & KIO_DISK_DIRECT) {
			snprintf(msg, msglen, "%s: cache=none needs O_DIRECT, which this file system refuses (%s); use cache=writeback",
				 path, strerror(-dfd));
			ret = -EINVAL;
			goto err;
		}
	}
	if (!d->direct)
		d->dfd = -1;
	*out = d;
	return 0;
err:
	close(fd);
	free(d);
	return ret;
}

void kio_disk_close(struct kio_disk *d)
{
	if (!d)
		return;
	if (d->dfd >= 0)
		close(d->dfd);
	close(d->fd);
	free(d);
}

void kio_disk_info(const struct kio_disk *d, struct kio_disk_info *info)
{
	*info = (struct kio_disk_info){
		.size = d->size, .ro = d->ro, .direct = d->direct,
		.blockdev = d->blockdev, .off_align = d->off_align,
		.mem_align = d->mem_align,
	};
}

bool kio_disk_is(const struct kio_disk *d, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (S_ISBLK(st.st_mode))
		return d->blockdev && d->dev == st.st_rdev;
	return !d->blockdev && d->dev == st.st_dev && d->ino == st.st_ino;
}
