// SPDX-License-Identifier: MIT
/*
 * virtio-blk.c - the block device ([VIRTIO] 5.2) over an io/ disk: one
 * request queue of 256 entries, requests parsed on the device's worker,
 * batched into the disk's io_uring queue (one submission per batch) and
 * completed when the ring's eventfd wakes the worker.
 *
 * Features: SEG_MAX, BLK_SIZE (the disk's O_DIRECT alignment, 512 at
 * least), FLUSH (fdatasync), RO (a read-only disk), DISCARD and
 * WRITE_ZEROES (fallocate; one range per request), and GET_ID (the
 * serial). No write-cache toggle, no multiqueue: one worker serves the
 * queue anyway.
 *
 * A request: a 16-byte header { le32 type; le32 ioprio; le64 sector; }
 * in device-readable buffers, data, and a status byte, the last byte of
 * the device-writable buffers. Whatever is wrong with a request (a bad
 * chain, a short header, a sector range past the end of the disk, data
 * not a whole number of sectors, a write to a read-only disk, a failed
 * I/O) is answered VIRTIO_BLK_S_IOERR in its status byte, an unknown type
 * or flag VIRTIO_BLK_S_UNSUPP; a chain without a writable byte to put the
 * status in is returned with nothing written. The guest keeps running.
 *
 * Statistics follow /sys/block/DEV/stat: completed requests, sectors and
 * milliseconds per group (read, write - write-zeroes included -, discard,
 * flush), requests in flight, milliseconds with one in flight, and the
 * in-flight-weighted milliseconds. They have their own lock, so reading
 * them never waits for the worker.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "virtio.h"

#define VIRTIO_ID_BLOCK		2

/* [VIRTIO] 5.2.3 feature bits */
#define BLK_F_SEG_MAX		2
#define BLK_F_RO		5
#define BLK_F_BLK_SIZE		6
#define BLK_F_FLUSH		9
#define BLK_F_DISCARD		13
#define BLK_F_WRITE_ZEROES	14

/* [VIRTIO] 5.2.6 request types and status */
#define BLK_T_IN		0
#define BLK_T_OUT		1
#define BLK_T_FLUSH		4
#define BLK_T_GET_ID		8
#define BLK_T_DISCARD		11
#define BLK_T_WRITE_ZEROES	13
#define BLK_S_OK		0
#define BLK_S_IOERR		1
#define BLK_S_UNSUPP		2
#define BLK_WZ_UNMAP		1	/* write-zeroes flag */
#define BLK_ID_BYTES		20

/* [VIRTIO] 5.2.4 config offsets */
#define CFG_CAPACITY		0
#define CFG_SEG_MAX		12
#define CFG_BLK_SIZE		20
#define CFG_NUM_QUEUES		34
#define CFG_MAX_DISCARD_SECTORS	36
#define CFG_MAX_DISCARD_SEG	40
#define CFG_DISCARD_ALIGN	44
#define CFG_MAX_WZ_SECTORS	48
#define CFG_MAX_WZ_SEG		52
#define CFG_WZ_MAY_UNMAP	56
#define CFG_SIZE		60

#define SECTOR			512ULL
#define BLK_QUEUE_SIZE		256
#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)
#define BLK_MAX_IOV		(BLK_SEG_MAX + 2 + 16)	/* + header, status, range splits */
#define BLK_MAX_DISCARD		(1u << 22)		/* sectors: 2 GiB a request */
#define BLK_MAX_WZ		(1u << 16)		/* 32 MiB: bounds a zero-writing fallback */

struct blk_req {
	struct kio_request io;		/* first: kio hands it back */
	struct vmm_blk *b;
	uint16_t head;
	uint8_t group;			/* VMM_BLK_STAT_*, or NONE */
	uint8_t *status;		/* host pointer of the status byte, or NULL */
	uint32_t written;		/* used length when the I/O succeeds */
	uint64_t sectors;
	uint64_t start_ns;
	struct blk_req *next_free;
	struct iovec iov[BLK_MAX_IOV];	/* the chain */
	struct iovec data[BLK_MAX_IOV];	/* its data part, for kio */
};

#define GROUP_NONE	0xff

struct vmm_blk {
	struct vmm_blk_conf conf;
	struct kio_disk *disk;
	struct kio_disk_info info;
	struct kio_queue *q;
	unsigned qflags;
	struct vmm_virtio *vd;
	struct blk_req *reqs, *free;
	bool starved;			/* chains wait for a free request */

	pthread_mutex_t stat_lock;	/* @st, @inflight, @last_ns */
	struct vmm_blk_stat st;
	unsigned inflight;
	uint64_t last_ns;
	uint64_t io_ns, queue_ns;
	uint64_t ticks_ns[VMM_BLK_STAT_GROUPS];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- statistics (stat_lock) ------------------------------------------------- */

/* Account the time since the last change at the current depth. */
static void stat_tick(struct vmm_blk *b, uint64_t now)
{
	if (b->inflight) {
		b->io_ns += now - b->last_ns;
		b->queue_ns += (now - b->last_ns) * b->inflight;
	}
	b->last_ns = now;
}

static void stat_start(struct vmm_blk *b, struct blk_req *r)
{
	uint64_t now = now_ns();

	r->start_ns = now;
	pthread_mutex_lock(&b->stat_lock);
	stat_tick(b, now);
	b->inflight++;
	pthread_mutex_unlock(&b->stat_lock);
}

static void stat_done(struct vmm_blk *b, struct blk_req *r)
{
	uint64_t now = now_ns();

	pthread_mutex_lock(&b->stat_lock);
	stat_tick(b, now);
	b->inflight--;
	if (r->group != GROUP_NONE) {
		b->st.ios[r->group]++;
		b->st.sectors[r->group] += r->sectors;
		b->ticks_ns[r->group] += now - r->start_ns;
	}
	pthread_mutex_unlock(&b->stat_lock);
}

void vmm_blk_stat(struct vmm_blk *b, struct vmm_blk_stat *st)
{
	pthread_mutex_lock(&b->stat_lock);
	stat_tick(b, now_ns());
	*st = b->st;
	for (int g = 0; g < VMM_BLK_STAT_GROUPS; g++)
		st->ticks_ms[g] = b->ticks_ns[g] / 1000000;
	st->in_flight = b->inflight;
	st->io_ticks_ms = b->io_ns / 1000000;
	st->time_in_queue_ms = b->queue_ns / 1000000;
	pthread_mutex_unlock(&b->stat_lock);
}

/* ---- requests ---------------------------------------------------------------- */

static struct blk_req *get_req(struct vmm_blk *b)
{
	struct blk_req *r = b->free;

	if (r)
		b->free = r->next_free;
	return r;
}

static void put_req(struct vmm_blk *b, struct blk_req *r)
{
	r->next_free = b->free;
	b->free = r;
}

/* Return @r to the driver with status @s (when it has a status byte). */
static void answer(struct vmm_blk *b, struct blk_req *r, uint8_t s)
{
	struct vmm_vq *vq = vmm_virtio_queue(b->vd, 0);
	uint32_t len = 0;

	if (r->status) {
		*r->status = s;
		len = s == BLK_S_OK ? r->written : 1;
	}
	vmm_vq_push(vq, r->head, len);
	stat_done(b, r);
	put_req(b, r);
}

/* The status byte: the last byte of the device-writable buffers. */
static uint8_t *status_byte(const struct vmm_vq_chain *c)
{
	for (unsigned i = c->nr_out + c->nr_in; i-- > c->nr_out;) {
		if (!c->iov[i].iov_len)
			continue;
		if (!c->iov[i].iov_base)
			return NULL;
		return (uint8_t *)c->iov[i].iov_base + c->iov[i].iov_len - 1;
	}
	return NULL;
}

/* [sector, sector + count) inside the disk; offsets in bytes in @off. */
static bool in_disk(const struct vmm_blk *b, uint64_t sector, uint64_t count,
		    uint64_t *off)
{
	uint64_t cap = b->info.size / SECTOR;

	if (sector > cap || count > cap - sector)
		return false;
	*off = sector * SECTOR;
	return true;
}

/* Data of an IN or OUT request into r->data; false if malformed. */
static bool data_part(struct vmm_blk *b, struct blk_req *r,
		      const struct vmm_vq_chain *c, uint64_t sector, bool write)
{
	const struct iovec *iov = write ? c->iov : c->iov + c->nr_out;
	unsigned nr = write ? c->nr_out : c->nr_in;
	uint64_t len = write ? c->out_len - 16 : c->in_len - 1;
	int n;

	if (len % SECTOR || !in_disk(b, sector, len / SECTOR, &r->io.off))
		return false;
	n = vmm_iov_slice(iov, nr, write ? 16 : 0, (size_t)len, r->data, BLK_MAX_IOV);
	if (n < 0)
		return false;
	r->io.op = write ? KIO_WRITE : KIO_READ;
	r->io.len = len;
	r->io.iov = r->data;
	r->io.nr_iov = (unsigned)n;
	r->sectors = len / SECTOR;
	r->written = write ? 1 : (uint32_t)len + 1;
	return true;
}

/*
 * DISCARD / WRITE_ZEROES: exactly one 16-byte range after the header
 * { le64 sector; le32 num_sectors; le32 flags; }. Returns a status to
 * answer with, or -1 when the request goes to the disk.
 */
static int range_part(struct vmm_blk *b, struct blk_req *r,
		      const struct vmm_vq_chain *c, bool zeroes)
{
	struct { uint64_t sector; uint32_t num, flags; } seg;
	uint32_t max = zeroes ? BLK_MAX_WZ : BLK_MAX_DISCARD;

	if (c->out_len != 32 ||
	    vmm_iov_copy_from(c->iov, c->nr_out, 16, &seg, 16) != 16)
		return BLK_S_IOERR;
	seg.sector = le64toh(seg.sector);
	seg.num = le32toh(seg.num);
	seg.flags = le32toh(seg.flags);
	if (seg.flags & ~(uint32_t)(zeroes ? BLK_WZ_UNMAP : 0))
		return BLK_S_UNSUPP;	/* [VIRTIO] 5.2.6.2: unknown flags */
	if (!seg.num || seg.num > max || !in_disk(b, seg.sector, seg.num, &r->io.off))
		return BLK_S_IOERR;
	r->io.op = zeroes ? KIO_WRITE_ZEROES : KIO_DISCARD;
	r->io.len = (uint64_t)seg.num * SECTOR;
	r->io.unmap = seg.flags & BLK_WZ_UNMAP;
	r->sectors = seg.num;
	r->written = 1;
	return -1;
}

/* One request: answered now, or handed to the disk. */
static void handle(struct vmm_blk *b, struct blk_req *r,
		   const struct vmm_vq_chain *c)
{
	struct { uint32_t type, ioprio; uint64_t sector; } hdr;
	int s = BLK_S_IOERR;
	uint32_t type;

	r->head = c->head;
	r->status = status_byte(c);
	r->group = GROUP_NONE;
	r->sectors = 0;
	r->written = 1;
	r->io.unmap = false;
	stat_start(b, r);
	if (c->err || !r->status ||
	    vmm_iov_copy_from(c->iov, c->nr_out, 0, &hdr, 16) != 16)
		goto answer;
	type = le32toh(hdr.type);
	hdr.sector = le64toh(hdr.sector);
	switch (type) {
	case BLK_T_IN:
		r->group = VMM_BLK_STAT_READ;
		if (!data_part(b, r, c, hdr.sector, false))
			goto answer;
		break;
	case BLK_T_OUT:
		r->group = VMM_BLK_STAT_WRITE;
		if (b->info.ro || !data_part(b, r, c, hdr.sector, true))
			goto answer;
		break;
	case BLK_T_FLUSH:
		r->group = VMM_BLK_STAT_FLUSH;
		r->io.op = KIO_FLUSH;
		r->io.off = r->io.len = 0;
		break;
	case BLK_T_GET_ID: {
		char id[BLK_ID_BYTES] = { 0 };
		size_t n = c->in_len - 1 < BLK_ID_BYTES ? c->in_len - 1 : BLK_ID_BYTES;

		memcpy(id, b->conf.serial, strnlen(b->conf.serial, BLK_ID_BYTES));
		r->written = (uint32_t)vmm_iov_copy_to(c->iov + c->nr_out, c->nr_in,
						       0, id, n) + 1;
		s = BLK_S_OK;
		goto answer;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		r->group = type == BLK_T_DISCARD ? VMM_BLK_STAT_DISCARD : VMM_BLK_STAT_WRITE;
		if (b->info.ro)
			goto answer;
		s = range_part(b, r, c, type == BLK_T_WRITE_ZEROES);
		if (s >= 0)
			goto answer;
		break;
	default:
		s = BLK_S_UNSUPP;
		goto answer;
	}
	if (kio_submit(b->q, &r->io) == 0)
		return;
	s = BLK_S_IOERR;
answer:
	answer(b, r, (uint8_t)s);
}

/* kio_reap() callback: the disk finished @io. */
static void blk_done(struct kio_request *io, void *arg)
{
	struct blk_req *r = (struct blk_req *)io;

	(void)arg;
	answer(r->b, r, io->res ? BLK_S_IOERR : BLK_S_OK);
}

static void blk_notify(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_blk *b = vmm_virtio_priv(vd);
	struct vmm_vq *vq = vmm_virtio_queue(vd, q);
	int ret = 0;

	do {
		vmm_vq_notify_off(vq);
		for (;;) {
			struct blk_req *r = get_req(b);
			struct vmm_vq_chain c = { .iov = r ? r->iov : NULL,
						  .max = BLK_MAX_IOV };

			if (!r) {		/* all in flight: resume on completion */
				b->starved = true;
				break;
			}
			ret = vmm_vq_pop(vq, &c);
			if (ret <= 0) {
				put_req(b, r);
				break;
			}
			handle(b, r, &c);
		}
	} while (!b->starved && ret == 0 && vmm_vq_notify_on(vq));
	kio_commit(b->q);
	/* What completed at once (a RAM disk, cached data, the synchronous
	 * fallback) goes back in this pass, not after another wakeup. */
	kio_reap(b->q, blk_done, b);
	vmm_virtio_used(vd, q);
}

/* The worker's watch on the queue's eventfd. */
static void blk_complete(struct vmm_virtio *vd, int fd)
{
	struct vmm_blk *b = vmm_virtio_priv(vd);
	struct vmm_vq *vq = vmm_virtio_queue(vd, 0);

	(void)fd;
	if (!kio_reap(b->q, blk_done, b))
		return;
	if (b->starved && vq->ready && !vq->broken) {
		b->starved = false;
		blk_notify(vd, 0);	/* also reports what completed */
		return;
	}
	vmm_virtio_used(vd, 0);
}

/* Dropped at reset: finished, but the driver is gone; write nothing. */
static void blk_drop(struct kio_request *io, void *arg)
{
	struct blk_req *r = (struct blk_req *)io;

	(void)arg;
	stat_done(r->b, r);
	put_req(r->b, r);
}

static void blk_reset(struct vmm_virtio *vd)
{
	struct vmm_blk *b = vmm_virtio_priv(vd);

	kio_drain(b->q, blk_drop, b);
	b->starved = false;
}

static const struct vmm_virtio_ops blk_ops_rw = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) |
		    (1ULL << BLK_F_FLUSH) | (1ULL << BLK_F_DISCARD) |
		    (1ULL << BLK_F_WRITE_ZEROES),
	.nr_queues = 1,
	.queue_size = BLK_QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.notify = blk_notify,
	.reset = blk_reset,
};

static const struct vmm_virtio_ops blk_ops_ro = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) |
		    (1ULL << BLK_F_FLUSH) | (1ULL << BLK_F_RO),
	.nr_queues = 1,
	.queue_size = BLK_QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.notify = blk_notify,
	.reset = blk_reset,
};

/* ---- --disk FILE[,ro][,cache=none|writeback][,serial=ID] ------------------------- */

static bool good_serial(const char *s, size_t len)
{
	if (!len || len > VMM_BLK_SERIAL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ',')
			return false;
	return true;
}

int vmm_blk_parse(const char *spec, struct vmm_blk_conf *c, struct gm_error *e)
{
	enum { SEEN_RO = 1, SEEN_CACHE = 2, SEEN_SERIAL = 4 };
	const char *p, *opt;
	unsigned seen = 0, bit;
	size_t len;

	memset(c, 0, sizeof(*c));
	if (!spec || !*spec || *spec == ',')
		return gm_error_set(e, EINVAL, "--disk '%s': expected FILE[,ro][,cache=none|writeback][,serial=ID]",
				    spec ? spec : "");
	len = strcspn(spec, ",");
	c->path = strndup(spec, len);
	if (!c->path)
		return gm_error_set(e, ENOMEM, "out of memory");
	for (p = spec + len; *p == ','; p += len) {
		opt = p + 1;
		len = strcspn(opt, ",") + 1;
		if (len == 3 && !strncmp(opt, "ro", 2)) {
			bit = SEEN_RO;
			c->ro = true;
		} else if (len == 11 && !strncmp(opt, "cache=none", 10)) {
			bit = SEEN_CACHE;
			c->cache = VMM_BLK_CACHE_NONE;
		} else if (len == 16 && !strncmp(opt, "cache=writeback", 15)) {
			bit = SEEN_CACHE;
			c->cache = VMM_BLK_CACHE_WRITEBACK;
		} else if (!strncmp(opt, "serial=", 7) && len > 7) {
			if (!good_serial(opt + 7, len - 8))
				return gm_error_set(e, EINVAL, "--disk %s: serial must be 1 to %d printable characters, no spaces or commas",
						    spec, VMM_BLK_SERIAL_MAX);
			bit = SEEN_SERIAL;
			memcpy(c->serial, opt + 7, len - 8);
			c->serial[len - 8] = '\0';
		} else {
			return gm_error_set(e, EINVAL, "--disk %s: unknown option '%.*s' (ro, cache=none|writeback, serial=ID)",
					    spec, (int)(len - 1), opt);
		}
		/* one meaning per option, as the other option lists (no last-wins) */
		if (seen & bit)
			return gm_error_set(e, EINVAL, "--disk %s: '%.*s' given twice", spec,
					    (int)(bit == SEEN_RO ? 2 : bit == SEEN_CACHE ? 5 : 6), opt);
		seen |= bit;
	}
	return 0;
}

void vmm_blk_conf_release(struct vmm_blk_conf *c)
{
	free(c->path);
	c->path = NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

int vmm_blk_open(const struct vmm_blk_conf *c, unsigned flags,
		 struct vmm_blk **out, struct gm_error *e)
{
	unsigned dflags = c->ro ? KIO_DISK_RO : 0;
	struct vmm_blk *b;
	char msg[GM_ERRMSG_MAX];
	int ret;

	if (c->cache == VMM_BLK_CACHE_NONE)
		dflags |= KIO_DISK_DIRECT;
	else if (c->cache == VMM_BLK_CACHE_WRITEBACK)
		dflags |= KIO_DISK_WRITEBACK;
	b = calloc(1, sizeof(*b));
	if (!b)
		return gm_error_set(e, ENOMEM, "out of memory");
	b->conf = *c;
	b->conf.path = strdup(c->path);
	if (!b->conf.path) {
		free(b);
		return gm_error_set(e, ENOMEM, "out of memory");
	}
	b->qflags = flags & VMM_BLK_SYNC ? KIO_F_PREAD : 0;
	pthread_mutex_init(&b->stat_lock, NULL);
	b->last_ns = now_ns();
	ret = kio_disk_open(c->path, dflags, &b->disk, msg, sizeof(msg));
	if (ret) {
		gm_error_set(e, ret, "--disk %s", msg);
		vmm_blk_close(b);
		return ret;
	}
	kio_disk_info(b->disk, &b->info);
	*out = b;
	return 0;
}

bool vmm_blk_is(const struct vmm_blk *b, const char *path)
{
	return kio_disk_is(b->disk, path);
}

static void put_cfg(uint8_t *cfg, unsigned off, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		cfg[off + i] = (uint8_t)(v >> (8 * i));
}

int vmm_blk_create(struct vmm_blk *b, struct gm_mem *mem, struct vmm_virtio **out)
{
	uint8_t cfg[CFG_SIZE] = { 0 };
	unsigned blk = b->info.off_align < SECTOR ? SECTOR : b->info.off_align;
	unsigned discard_align = blk < 4096 ? 4096 / SECTOR : blk / SECTOR;
	int ret;

	if (b->vd)
		return -EBUSY;
	b->reqs = calloc(BLK_QUEUE_SIZE, sizeof(*b->reqs));
	if (!b->reqs)
		return -ENOMEM;
	b->free = NULL;
	for (unsigned i = 0; i < BLK_QUEUE_SIZE; i++) {
		b->reqs[i].b = b;
		put_req(b, &b->reqs[i]);
	}
	ret = kio_queue_create(b->disk, BLK_QUEUE_SIZE, b->qflags, &b->q);
	if (ret)
		goto err;
	ret = vmm_virtio_create(mem, b->info.ro ? &blk_ops_ro : &blk_ops_rw, b, &b->vd);
	if (ret)
		goto err;
	put_cfg(cfg, CFG_CAPACITY, b->info.size / SECTOR, 8);
	put_cfg(cfg, CFG_SEG_MAX, BLK_SEG_MAX, 4);
	put_cfg(cfg, CFG_BLK_SIZE, blk, 4);
	put_cfg(cfg, CFG_NUM_QUEUES, 1, 2);
	put_cfg(cfg, CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD, 4);
	put_cfg(cfg, CFG_MAX_DISCARD_SEG, 1, 4);
	put_cfg(cfg, CFG_DISCARD_ALIGN, discard_align, 4);
	put_cfg(cfg, CFG_MAX_WZ_SECTORS, BLK_MAX_WZ, 4);
	put_cfg(cfg, CFG_MAX_WZ_SEG, 1, 4);
	put_cfg(cfg, CFG_WZ_MAY_UNMAP, 1, 1);
	vmm_virtio_config_set(b->vd, 0, cfg, CFG_SIZE, false);
	ret = vmm_virtio_watch(b->vd, kio_queue_fd(b->q), blk_complete);
	if (ret)
		goto err;
	*out = b->vd;
	return 0;
err:
	vmm_blk_detach(b);
	return ret;
}

void vmm_blk_detach(struct vmm_blk *b)
{
	if (!b)
		return;
	vmm_virtio_destroy(b->vd);	/* resets: nothing left in flight */
	b->vd = NULL;
	kio_queue_destroy(b->q);
	b->q = NULL;
	free(b->reqs);
	b->reqs = b->free = NULL;
}

void vmm_blk_close(struct vmm_blk *b)
{
	if (!b)
		return;
	vmm_blk_detach(b);
	kio_disk_close(b->disk);
	pthread_mutex_destroy(&b->stat_lock);
	free(b->conf.path);
	free(b);
}

void vmm_blk_info(const struct vmm_blk *b, struct vmm_blk_info *info)
{
	*info = (struct vmm_blk_info){
		.path = b->conf.path,
		.serial = b->conf.serial,
		.size = b->info.size,
		.ro = b->info.ro,
		.direct = b->info.direct,
		.sync = b->q ? kio_queue_sync(b->q) : !!b->qflags,
	};
}
