// SPDX-License-Identifier: MIT
/*
 * queue.c - requests in flight on one disk: io_uring, or a synchronous
 * fallback with the same contract.
 *
 * The caller (the virtio-blk worker) queues a batch with kio_submit(),
 * sends it with one io_uring_enter() in kio_commit(), sleeps in poll(2) on
 * the ring's eventfd (io_uring_register_eventfd) and collects completions
 * with kio_reap(). In the fallback each kio_submit() does the I/O at once
 * (preadv, pwritev, fdatasync, fallocate), parks the request on a done list
 * and writes the same eventfd, so the caller's loop does not change.
 *
 * Operations: READ/WRITE as readv/writev (short transfers are resubmitted
 * for the rest; a read that meets end of file is -EIO), FLUSH as
 * fdatasync, DISCARD as fallocate(PUNCH_HOLE|KEEP_SIZE) (a file system
 * that cannot punch makes it a no-op: discard is a hint), WRITE_ZEROES as
 * fallocate(ZERO_RANGE|KEEP_SIZE), or PUNCH_HOLE when the caller allows
 * deallocation, falling back to PUNCH_HOLE (reads return zeros either
 * way) and then to writing zeros (synchronously, in 1 MiB pieces) where
 * the file system has neither.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "kio-internal.h"

#define ZERO_CHUNK	(1u << 20)

struct kio_queue {
	struct kio_disk *d;
	int fd;				/* the descriptor I/O goes to */
	bool sync;
	bool ring_ok;
	struct io_uring ring;
	int efd;
	unsigned depth, inflight, queued;
	struct kio_request *done, *done_tail;	/* completed, not reaped */
};

/* ---- one request, synchronously ---------------------------------------------- */

static ssize_t rw_once(int fd, struct kio_request *r, const struct iovec *iov,
		       unsigned nr, uint64_t off)
{
	ssize_t n;

	do
		n = r->op == KIO_READ ? preadv(fd, iov, (int)nr, (off_t)off) :
					pwritev(fd, iov, (int)nr, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int fallocate_retry(int fd, int mode, uint64_t off, uint64_t len)
{
	int ret;

	do
		ret = fallocate(fd, mode, (off_t)off, (off_t)len);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

/* Write zeros over [off, off + len): the last resort of WRITE_ZEROES. */
static int write_zeros(int fd, uint64_t off, uint64_t len, unsigned align)
{
	void *z;
	int ret = 0;

	if (posix_memalign(&z, align < 4096 ? 4096 : align, ZERO_CHUNK))
		return -ENOMEM;
	memset(z, 0, ZERO_CHUNK);
	while (len && !ret) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		ssize_t w;

		do
			w = pwrite(fd, z, n, (off_t)off);
		while (w < 0 && errno == EINTR);
		if (w <= 0)
			ret = w < 0 ? -errno : -EIO;
		else {
			off += (uint64_t)w;
			len -= (uint64_t)w;
		}
	}
	free(z);
	return ret;
}

/* The fallocate mode of WRITE_ZEROES at @stage (0, 1), DISCARD: punch. */
static int zero_mode(const struct kio_request *r)
{
	if (r->op == KIO_DISCARD || r->unmap || r->stage)
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

static bool unsupported(int err)
{
	return err == -EOPNOTSUPP || err == -EINVAL || err == -ENOSYS;
}

/* The I/O buffers of @r: its bounce copy or its own iovecs, past @done. */
static void io_vec(struct kio_request *r, const struct iovec **iov, unsigned *nr)
{
	if (r->bounce) {
		r->bounce_iov.iov_base = (char *)r->bounce + r->done;
		r->bounce_iov.iov_len = r->len - r->done;
		*iov = &r->bounce_iov;
		*nr = 1;
	} else {
		*iov = r->iov;
		*nr = r->nr_iov;
	}
}

/* Skip @n bytes of @r's own iovecs (after a short transfer). */
static void advance(struct kio_request *r, size_t n)
{
	while (n && r->nr_iov) {
		if (n < r->iov->iov_len) {
			r->iov->iov_base = (char *)r->iov->iov_base + n;
			r->iov->iov_len -= n;
			return;
		}
		n -= r->iov->iov_len;
		r->iov++;
		r->nr_iov--;
	}
}

static void do_sync(struct kio_queue *q, struct kio_request *r)
{
	const struct iovec *iov;
	unsigned nr;
	ssize_t n;

	switch (r->op) {
	case KIO_READ:
	case KIO_WRITE:
		while (r->done < r->len) {
			io_vec(r, &iov, &nr);
			n = rw_once(q->fd, r, iov, nr, r->off + r->done);
			if (n <= 0) {
				r->res = n < 0 ? (int)n : -EIO;
				return;
			}
			if (!r->bounce)
				advance(r, (size_t)n);
			r->done += (uint64_t)n;
		}
		r->res = 0;
		return;
	case KIO_FLUSH:
		r->res = fdatasync(q->d->fd) < 0 ? -errno : 0;
		return;
	case KIO_DISCARD:
		r->res = fallocate_retry(q->fd, zero_mode(r), r->off, r->len);
		if (unsupported(r->res))
			r->res = 0;
		return;
	case KIO_WRITE_ZEROES:
		r->res = fallocate_retry(q->fd, zero_mode(r), r->off, r->len);
		if (unsupported(r->res) && !r->stage++)
			r->res = fallocate_retry(q->fd, zero_mode(r), r->off, r->len);
		if (unsupported(r->res))
			r->res = write_zeros(q->fd, r->off, r->len, q->d->mem_align);
		return;
	}
	r->res = -EINVAL;
}

/* ---- the ring ------------------------------------------------------------------ */

static void push_done(struct kio_queue *q, struct kio_request *r)
{
	uint64_t one = 1;

	r->next = NULL;
	if (q->done_tail)
		q->done_tail->next = r;
	else
		q->done = r;
	q->done_tail = r;
	(void)!write(q->efd, &one, sizeof(one));
}

/* Prepare @r's next step as an SQE; -EBUSY when the ring is full. */
static int prep(struct kio_queue *q, struct kio_request *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	const struct iovec *iov;
	unsigned nr;

	if (!sqe) {
		if (io_uring_submit(&q->ring) < 0)
			return -EBUSY;
		q->inflight += q->queued;
		q->queued = 0;
		sqe = io_uring_get_sqe(&q->ring);
		if (!sqe)
			return -EBUSY;
	}
	switch (r->op) {
	case KIO_READ:
		io_vec(r, &iov, &nr);
		io_uring_prep_readv(sqe, q->fd, iov, nr, r->off + r->done);
		break;
	case KIO_WRITE:
		io_vec(r, &iov, &nr);
		io_uring_prep_writev(sqe, q->fd, iov, nr, r->off + r->done);
		break;
	case KIO_FLUSH:
		io_uring_prep_fsync(sqe, q->d->fd, IORING_FSYNC_DATASYNC);
		break;
	case KIO_DISCARD:
	case KIO_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, q->fd, zero_mode(r), r->off, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	q->queued++;
	return 0;
}

/*
 * One completion of @r with result @res: done (0) or resubmitted (1).
 */
static int complete(struct kio_queue *q, struct kio_request *r, int res)
{
	switch (r->op) {
	case KIO_READ:
	case KIO_WRITE:
		if (res == -EAGAIN || res == -EINTR)
			return prep(q, r) ? (r->res = -EIO, 0) : 1;
		if (res <= 0) {
			r->res = res < 0 ? res : -EIO;	/* 0: end of file */
			return 0;
		}
		if (!r->bounce)
			advance(r, (size_t)res);
		r->done += (uint64_t)res;
		if (r->done < r->len)
			return prep(q, r) ? (r->res = -EIO, 0) : 1;
		r->res = 0;
		return 0;
	case KIO_DISCARD:
		r->res = unsupported(res) ? 0 : res;
		return 0;
	case KIO_WRITE_ZEROES:
		if (unsupported(res) && !r->stage++)
			return prep(q, r) ? (r->res = -EIO, 0) : 1;
		r->res = unsupported(res) ?
			write_zeros(q->fd, r->off, r->len, q->d->mem_align) : res;
		return 0;
	default:
		r->res = res;
		return 0;
	}
}

/* ---- the interface ---------------------------------------------------------------- */

/*
 * The ring, limited to the operations a queue submits (io_uring
 * restrictions, Linux 5.10): seccomp never sees what a ring does, so a
 * compromised device worker could otherwise open files or sockets through
 * it. The ring starts disabled, gets its eventfd, then its restrictions,
 * then is enabled; no register operation is allowed afterwards. Where
 * restrictions are not supported, a plain ring (as before); 0 or < 0.
 */
static int ring_init(struct kio_queue *q)
{
	static const unsigned char ops[] = { IORING_OP_READV, IORING_OP_WRITEV,
					     IORING_OP_FSYNC, IORING_OP_FALLOCATE };
	struct io_uring_restriction res[sizeof(ops)];

	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < sizeof(ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	if (io_uring_queue_init(q->depth, &q->ring, IORING_SETUP_R_DISABLED) == 0) {
		/* (Debian 12's liburing declares but lacks the two helpers) */
		if (io_uring_register_eventfd(&q->ring, q->efd) == 0 &&
		    !syscall(__NR_io_uring_register, q->ring.ring_fd,
			     IORING_REGISTER_RESTRICTIONS, res, sizeof(ops)) &&
		    !syscall(__NR_io_uring_register, q->ring.ring_fd,
			     IORING_REGISTER_ENABLE_RINGS, NULL, 0))
			return 0;
		io_uring_queue_exit(&q->ring);
	}
	if (io_uring_queue_init(q->depth, &q->ring, 0) < 0)
		return -1;
	if (io_uring_register_eventfd(&q->ring, q->efd) < 0) {
		io_uring_queue_exit(&q->ring);
		return -1;
	}
	return 0;
}

int kio_queue_create(struct kio_disk *d, unsigned depth, unsigned flags,
		     struct kio_queue **out)
{
	struct kio_queue *q;
	int ret;

	if (!d || !depth || depth > 4096 || !out)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->d = d;
	q->fd = d->direct ? d->dfd : d->fd;
	q->depth = depth;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		ret = -errno;
		free(q);
		return ret;
	}
	q->sync = flags & KIO_F_PREAD;
	if (!q->sync) {
		/* ENOSYS (old kernel), EPERM (seccomp, sysctl), ENOMEM: fall back */
		if (ring_init(q) < 0)
			q->sync = true;
		else
			q->ring_ok = true;
	}
	*out = q;
	return 0;
}

static void drop(struct kio_request *r, void *arg)
{
	(void)r;
	(void)arg;
}

void kio_queue_destroy(struct kio_queue *q)
{
	if (!q)
		return;
	kio_drain(q, drop, NULL);
	if (q->ring_ok)
		io_uring_queue_exit(&q->ring);
	close(q->efd);
	free(q);
}

int kio_queue_fd(struct kio_queue *q) { return q->efd; }
bool kio_queue_sync(struct kio_queue *q) { return q->sync; }
unsigned kio_inflight(const struct kio_queue *q) { return q->inflight + q->queued; }

/* A misaligned O_DIRECT transfer goes through an aligned copy. */
static int need_bounce(const struct kio_queue *q, const struct kio_request *r)
{
	unsigned a = q->d->mem_align;

	if (!q->d->direct)
		return 0;
	for (unsigned i = 0; i < r->nr_iov; i++)
		if (((uintptr_t)r->iov[i].iov_base | r->iov[i].iov_len) & (a - 1))
			return 1;
	return 0;
}

static int check(const struct kio_queue *q, const struct kio_request *r)
{
	uint64_t sum = 0;

	if (r->op > KIO_WRITE_ZEROES)
		return -EINVAL;
	if (r->op == KIO_FLUSH)
		return 0;
	if (r->op != KIO_READ && q->d->ro)
		return -EROFS;
	if (r->off > q->d->size || r->len > q->d->size - r->off)
		return -EINVAL;
	if (q->d->direct && ((r->off | r->len) & (q->d->off_align - 1)))
		return -EINVAL;
	if (r->op != KIO_READ && r->op != KIO_WRITE)
		return 0;
	if (!r->iov || r->nr_iov > IOV_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < r->nr_iov; i++) {
		if (!r->iov[i].iov_base && r->iov[i].iov_len)
			return -EINVAL;
		sum += r->iov[i].iov_len;
	}
	return sum == r->len ? 0 : -EINVAL;
}

int kio_submit(struct kio_queue *q, struct kio_request *r)
{
	int ret = check(q, r);

	if (ret)
		return ret;
	r->res = 0;
	r->done = 0;
	r->stage = 0;
	r->bounce = NULL;
	r->next = NULL;
	if ((r->op == KIO_READ || r->op == KIO_WRITE) && r->len &&
	    need_bounce(q, r)) {
		unsigned a = q->d->mem_align < 4096 ? 4096 : q->d->mem_align;

		if (posix_memalign(&r->bounce, a, r->len))
			return -ENOMEM;
		if (r->op == KIO_WRITE) {
			size_t o = 0;

			for (unsigned i = 0; i < r->nr_iov; i++) {
				memcpy((char *)r->bounce + o, r->iov[i].iov_base,
				       r->iov[i].iov_len);
				o += r->iov[i].iov_len;
			}
		}
	}
	if ((r->op == KIO_READ || r->op == KIO_WRITE) && !r->len) {
		push_done(q, r);		/* nothing to move */
		return 0;
	}
	if (q->sync) {
		do_sync(q, r);
		push_done(q, r);
		return 0;
	}
	ret = prep(q, r);
	if (ret) {
		free(r->bounce);
		r->bounce = NULL;
	}
	return ret;
}

int kio_commit(struct kio_queue *q)
{
	int n;

	if (q->sync || !q->queued)
		return 0;
	do
		n = io_uring_submit(&q->ring);
	while (n == -EINTR);
	if (n < 0)
		return n;
	q->inflight += q->queued;
	q->queued = 0;
	return 0;
}

/* Hand @r back: bounce copied out (reads) and freed. */
static void finish(struct kio_request *r, void (*done)(struct kio_request *, void *),
		   void *arg)
{
	if (r->bounce) {
		if (r->op == KIO_READ && !r->res) {
			size_t o = 0;

			for (unsigned i = 0; i < r->nr_iov; i++) {
				memcpy(r->iov[i].iov_base, (char *)r->bounce + o,
				       r->iov[i].iov_len);
				o += r->iov[i].iov_len;
			}
		}
		free(r->bounce);
		r->bounce = NULL;
	}
	done(r, arg);
}

unsigned kio_reap(struct kio_queue *q, void (*done)(struct kio_request *r, void *arg),
		  void *arg)
{
	struct kio_request *list;
	struct io_uring_cqe *cqe;
	unsigned n = 0;
	uint64_t cnt;

	(void)!read(q->efd, &cnt, sizeof(cnt));
	while (q->ring_ok && io_uring_peek_cqe(&q->ring, &cqe) == 0) {
		struct kio_request *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&q->ring, cqe);
		q->inflight--;
		if (!complete(q, r, res))
			push_done(q, r);
	}
	kio_commit(q);			/* resubmitted remainders */
	list = q->done;
	q->done = q->done_tail = NULL;
	while (list) {
		struct kio_request *r = list;

		list = r->next;
		finish(r, done, arg);
		n++;
	}
	return n;
}

void kio_drain(struct kio_queue *q, void (*done)(struct kio_request *r, void *arg),
	       void *arg)
{
	kio_commit(q);
	while (q->ring_ok && q->inflight) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe(&q->ring, &cqe);

		if (ret == -EINTR)
			continue;
		if (ret < 0)
			break;
		kio_reap(q, done, arg);
	}
	kio_reap(q, done, arg);
}
