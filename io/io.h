/* SPDX-License-Identifier: MIT */
/*
 * io.h - kvmem's bulk I/O, the public interface of io/ (kio_ prefix).
 *
 * Loading images (kernel, initrd, flat binaries) straight into guest memory:
 * io_uring (liburing) with several large reads in flight, and a plain
 * pread() loop where io_uring is unavailable (old kernel, seccomp, or
 * KIO_F_PREAD). Disk images for virtio-blk (disk.c) and their request
 * queues (queue.c): batches of requests in flight on io_uring, the same
 * synchronous fallback. No global state, no threads of its own.
 */
#ifndef KVMEM_IO_H
#define KVMEM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

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

/* ---- disk.c: disk images for virtio-blk ----------------------------------- */

#define KIO_DISK_RO		0x1	/* open read-only */
#define KIO_DISK_DIRECT		0x2	/* cache=none: O_DIRECT or fail */
#define KIO_DISK_WRITEBACK	0x4	/* cache=writeback: the page cache */
					/* neither: O_DIRECT where it works */
struct kio_disk;

struct kio_disk_info {
	uint64_t size;			/* bytes, a multiple of 512 */
	bool ro, direct, blockdev;
	unsigned off_align, mem_align;	/* O_DIRECT alignment (512 without) */
};

/*
 * kio_disk_open() - open the raw image or block device @path with
 * KIO_DISK_* @flags and check it (disk.c says what is checked). Returns 0,
 * or a negative errno with a one-line reason naming @path in @msg (@msglen
 * bytes). The disk holds an flock while open.
 */
int kio_disk_open(const char *path, unsigned flags, struct kio_disk **out,
		  char *msg, size_t msglen);
void kio_disk_close(struct kio_disk *d);
void kio_disk_info(const struct kio_disk *d, struct kio_disk_info *info);
/* kio_disk_is() - whether @path names the file (or device) @d has open. */
bool kio_disk_is(const struct kio_disk *d, const char *path);

/* ---- queue.c: requests in flight on one disk ------------------------------- */

enum kio_op { KIO_READ, KIO_WRITE, KIO_FLUSH, KIO_DISCARD, KIO_WRITE_ZEROES };

/*
 * One request. The caller fills the public part and owns the struct (and
 * @iov, which the queue may rewrite while the request is in flight) until
 * it comes back through kio_reap(). @res is then 0 or a negative errno.
 */
struct kio_request {
	enum kio_op op;
	bool unmap;			/* KIO_WRITE_ZEROES may deallocate */
	uint64_t off, len;		/* bytes */
	struct iovec *iov;		/* KIO_READ / KIO_WRITE: len bytes */
	unsigned nr_iov;
	int res;
	/* private to queue.c */
	void *bounce;
	struct iovec bounce_iov;
	uint64_t done;
	unsigned stage;
	struct kio_request *next;
};

struct kio_queue;

/*
 * kio_queue_create() - a queue for up to @depth requests in flight on @d:
 * io_uring, or the synchronous fallback (preadv/pwritev/fdatasync/
 * fallocate in kio_submit()) with KIO_F_PREAD or where io_uring cannot be
 * set up. One thread uses a queue at a time. Returns 0, -EINVAL, -ENOMEM
 * or the errno of eventfd(2).
 */
int kio_queue_create(struct kio_disk *d, unsigned depth, unsigned flags,
		     struct kio_queue **out);
/* kio_queue_destroy() - wait for what is in flight (dropped), free. */
void kio_queue_destroy(struct kio_queue *q);
/* kio_queue_fd() - an eventfd readable when kio_reap() has work. */
int kio_queue_fd(struct kio_queue *q);
/* kio_queue_sync() - whether the synchronous fallback serves @q. */
bool kio_queue_sync(struct kio_queue *q);

/*
 * kio_submit() - queue @r (checked: bounds against the disk, writes on a
 * read-only disk are -EROFS, lengths and iovecs consistent: -EINVAL,
 * returned here and @r not queued). Nothing reaches the kernel until
 * kio_commit(), which submits the whole batch in one system call.
 * O_DIRECT requests whose buffers are not aligned go through an aligned
 * copy.
 */
int kio_submit(struct kio_queue *q, struct kio_request *r);
/* kio_commit() - submit what kio_submit() queued. 0 or -errno. */
int kio_commit(struct kio_queue *q);

/*
 * kio_reap() - call @done(@r, @arg) for every request that completed
 * (resubmitting short transfers and fallbacks first). Returns how many.
 */
unsigned kio_reap(struct kio_queue *q, void (*done)(struct kio_request *r, void *arg),
		  void *arg);
/* kio_drain() - wait until nothing is in flight, reaping into @done. */
void kio_drain(struct kio_queue *q, void (*done)(struct kio_request *r, void *arg),
	       void *arg);
/* kio_inflight() - requests submitted and not yet reaped. */
unsigned kio_inflight(const struct kio_queue *q);

#endif /* KVMEM_IO_H */
