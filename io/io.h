/* SPDX-License-Identifier: MIT */
/*
 * io.h - kvmem's bulk I/O, the public interface of io/ (kio_ prefix).
 *
 * Loading images (kernel, initrd, flat binaries) straight into guest memory:
 * io_uring (liburing) with several large reads in flight, and a plain
 * pread() loop where io_uring is unavailable (old kernel, seccomp, or
 * KIO_F_PREAD). No global state, no threads: every call is independent and
 * thread-safe.
 */
#ifndef KVMEM_IO_H
#define KVMEM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KIO_CHUNK	(1u << 20)	/* bytes per read request */
#define KIO_DEPTH	8		/* reads in flight */

#define KIO_F_PREAD	0x1		/* skip io_uring, use the pread() fallback */
#define KIO_F_URING	0x2		/* io_uring only: its setup error, no fallback */

/*
 * kio_file_size() - size in bytes of the regular file @path into *@size.
 * Returns 0, -EISDIR / -EINVAL if not a regular file, or the errno of
 * stat(2) (e.g. -ENOENT).
 */
int kio_file_size(const char *path, uint64_t *size);

/*
 * kio_load_file() - read @path from byte @off into @dst, at most @max
 * bytes, stopping at end of file. @dst is the caller's (e.g. guest memory
 * from gm_mem_hva()); bytes past what was read are left untouched.
 * @flags: KIO_F_* (0: io_uring, pread() if no ring can be set up; not both
 * PREAD and URING). Returns the number of bytes read (0 if @off is at or
 * past the end), or -errno from open/read (-EINVAL for a NULL argument or
 * bad flags; with KIO_F_URING, the ring setup's errno, e.g. -ENOSYS).
 */
ssize_t kio_load_file(const char *path, void *dst, size_t max, uint64_t off,
		      unsigned flags);

#endif /* KVMEM_IO_H */
