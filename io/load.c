// SPDX-License-Identifier: MIT
/*
 * load.c - read a whole image into memory with io_uring, pread fallback.
 *
 * The file is cut into KIO_CHUNK-sized reads, KIO_DEPTH of them in flight
 * on a private ring; a short read (end of file, or a signal) is resubmitted
 * for its remainder, and the load ends at the first read returning 0. When
 * the ring cannot be created (ENOSYS, EPERM under seccomp, ENOMEM from
 * memlock limits) the same contract is served by a pread() loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

static int stat_size(const struct stat *st, uint64_t *size)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	*size = (uint64_t)st->st_size;
	return 0;
}

static int fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return stat_size(&st, size);
}

int kio_file_size(const char *path, uint64_t *size)
{
	struct stat st;

	if (!path || !size)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	return stat_size(&st, size);
}

static ssize_t load_pread(int fd, char *dst, size_t max, uint64_t off)
{
	size_t done = 0;

	while (done < max) {
		size_t len = max - done < KIO_CHUNK ? max - done : KIO_CHUNK;
		ssize_t n = pread(fd, dst + done, len, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* One read in flight: [pos, pos + len) of the destination. */
struct kio_req {
	size_t pos, len;
};

/*
 * Submit reads for the chunks not yet queued; the request's slot index is
 * the user data. Returns how many were queued.
 */
static unsigned queue_reads(struct io_uring *ring, int fd, char *dst,
			    uint64_t off, struct kio_req *req, bool *busy,
			    size_t *next, size_t end)
{
	unsigned queued = 0;

	for (unsigned i = 0; i < KIO_DEPTH && *next < end; i++) {
		struct io_uring_sqe *sqe;

		if (busy[i])
			continue;
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			break;
		req[i].pos = *next;
		req[i].len = end - *next < KIO_CHUNK ? end - *next : KIO_CHUNK;
		*next += req[i].len;
		io_uring_prep_read(sqe, fd, dst + req[i].pos, req[i].len,
				   off + req[i].pos);
		io_uring_sqe_set_data64(sqe, i);
		busy[i] = true;
		queued++;
	}
	return queued;
}

/*
 * The ring path. Returns bytes read, or -errno; *@fallback is set when the
 * ring could not be set up at all (nothing was read).
 */
static ssize_t load_uring(int fd, char *dst, size_t max, uint64_t off,
			  bool *fallback)
{
	struct kio_req req[KIO_DEPTH];
	bool busy[KIO_DEPTH] = { false };
	struct io_uring ring;
	size_t next = 0, end = max, eof = max;
	unsigned inflight = 0;
	ssize_t ret = 0;
	int err;

	err = io_uring_queue_init(KIO_DEPTH, &ring, 0);
	if (err < 0) {
		*fallback = true;
		return err;
	}
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned i;
		int res;

		inflight += queue_reads(&ring, fd, dst, off, req, busy, &next,
					end);
		if (!inflight)
			break;
		err = io_uring_submit_and_wait(&ring, 1);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			ret = err;
			break;
		}
		err = io_uring_wait_cqe(&ring, &cqe);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			ret = err;
			break;
		}
		i = (unsigned)io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
		busy[i] = false;
		if (res == -EINTR || res == -EAGAIN) {
			/* requeue the whole request in the same slot */
			res = 0;
		} else if (res < 0) {
			ret = res;
			break;
		} else if (res == 0) {
			/* end of file inside this chunk: nothing past it */
			if (req[i].pos < eof)
				eof = req[i].pos;
			end = eof;
			continue;
		}
		if ((size_t)res < req[i].len) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			if (!sqe) {
				ret = -EBUSY;
				break;
			}
			req[i].pos += (size_t)res;
			req[i].len -= (size_t)res;
			io_uring_prep_read(sqe, fd, dst + req[i].pos,
					   req[i].len, off + req[i].pos);
			io_uring_sqe_set_data64(sqe, i);
			busy[i] = true;
			inflight++;
		}
	}
	/* drain what is still in flight before the ring goes away */
	while (inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			break;
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
	}
	io_uring_queue_exit(&ring);
	if (ret < 0)
		return ret;
	return (ssize_t)(eof < next ? eof : next);
}

ssize_t kio_load_file(const char *path, void *dst, size_t max, uint64_t off,
		      unsigned flags)
{
	bool fallback = false;
	uint64_t size = 0;
	ssize_t ret;
	int fd;

	if (!path || (!dst && max) || (flags & ~(KIO_F_PREAD | KIO_F_URING)) ||
	    (flags & KIO_F_PREAD && flags & KIO_F_URING))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fd_size(fd, &size);
	if (ret < 0)
		goto out;
	/* never ask for bytes past the end known now: the ring then sees no EOF */
	if (off >= size) {
		ret = 0;
		goto out;
	}
	if (max > size - off)
		max = (size_t)(size - off);
	if (flags & KIO_F_PREAD) {
		ret = load_pread(fd, dst, max, off);
		goto out;
	}
	ret = load_uring(fd, dst, max, off, &fallback);
	if (fallback && !(flags & KIO_F_URING))
		ret = load_pread(fd, dst, max, off);
out:
	close(fd);
	return ret;
}
