// SPDX-License-Identifier: MIT
/*
 * fuzz_blk.c - virtio-blk's request parsing and its io/ backend, driven
 * through the real transport (register writes, a ring in guest memory,
 * vmm_virtio_poll() in place of the worker) with batches of random
 * requests, against a model of the disk kept here.
 *
 * Requests: every type (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES and
 * unknown ones), sectors in range, at the end, past it and huge, data of
 * whole and partial sectors in 1 to 4 buffers (some crossing into the MMIO
 * hole or out of memory), headers cut short, missing or misplaced status
 * bytes, readable buffers after writable ones, indirect tables, bad range
 * flags, and the same mix on a read-only disk and on the synchronous
 * fallback. The model (written from [VIRTIO] 5.2.6, not from the device)
 * says, for each request, the status byte and used length the device must
 * return; reads must return the model's bytes, writes and write-zeroes
 * change the model, a discarded range may read either way. Every request
 * must come back (no hang), the device must never need a reset, and at the
 * end the statistics must count what was answered. The host file is
 * compared with the model at the end of each configuration.
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * number of batches per configuration (default 300, 2/5 under ASan).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "../vmm/virtio-driver.h"

#define MIB		(1ULL << 20)
#define DISK_SIZE	(2 * MIB)
#define QSIZE		256
#define RING		0x100000ULL
#define TABLES		0x110000ULL	/* indirect tables, 16 x 256 B */
#define HDRS		0x120000ULL	/* headers and status bytes */
#define DATA		0x200000ULL	/* data buffers */
#define MEM_SIZE	(32 * MIB)

enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2, S_NONE = 0xff };

static struct gm_mem *mem;
static char img_path[] = "/tmp/kvmem-fuzz-blk-XXXXXX";
static uint8_t *model, *known;		/* disk bytes; 0: a discarded byte */
static uint64_t cur_seed;
static unsigned long cur_case;
static char cur_desc[512];
static unsigned long n_req, n_ok, n_ioerr, n_unsupp, n_none;

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", case %lu: %s\n", cur_seed, cur_case, cur_desc);
	unlink(img_path);
}

static void *g(uint64_t gpa)
{
	void *p = gm_mem_hva(mem, gpa, 1);

	CHECK(p, "gpa 0x%" PRIx64, gpa);
	return p;
}

/* ---- a minimal driver ------------------------------------------------------- */

static struct vmm_virtio *vd;

static uint16_t avail_idx, used_seen;

/* Everything offered, VERSION_1, queue 0 of QSIZE at RING, DRIVER_OK. */
static void driver_init(void)
{
	vio_reset(vd);
	vio_begin(vd);
	CHECK(vio_accept(vd, (uint32_t)vio_offered(vd), 1) == 0xb, "features refused");
	CHECK(vio_queue_max(vd, 0) == QSIZE, "QueueNumMax %u", vio_rd(vd, 0x034));
	CHECK(vio_queue_at(vd, 0, QSIZE, RING, g(RING)) == 1, "queue 0 refused");
	CHECK(vio_driver_ok(vd) == 0xf, "DRIVER_OK refused");
	avail_idx = used_seen = 0;
}

/* ---- one request and what the spec says of it ------------------------------------ */

struct req {
	uint32_t type;
	uint64_t sector;
	unsigned nbuf;
	uint64_t buf[4];		/* data buffers, guest addresses */
	uint32_t len[4];
	uint64_t hdr_gpa, st_gpa;
	uint32_t hdr_len;		/* 16, or short */
	bool no_status, bad_addr, misorder, indirect;
	uint64_t seg_sector;		/* DISCARD/WRITE_ZEROES range */
	uint32_t seg_num, seg_flags;
	uint8_t want;			/* status, S_NONE: no status byte */
	uint32_t want_len;
	int group;			/* stat group, -1 none */
	uint16_t head;
	bool done;
};

static bool ro, direct;
static unsigned blk_size;
static char serial[21];
static unsigned long want_ios[VMM_BLK_STAT_GROUPS];

static bool in_range(uint64_t sector, uint64_t count)
{
	uint64_t cap = DISK_SIZE / 512;

	return sector <= cap && count <= cap - sector;
}

static bool aligned(uint64_t off, uint64_t len)
{
	return !direct || !((off | len) % blk_size);
}

/* [VIRTIO] 5.2.6: the status and used length a device must return. */
static void expect(struct req *r)
{
	uint64_t data = 0;

	for (unsigned i = 0; i < r->nbuf; i++)
		data += r->len[i];
	r->group = -1;
	r->want_len = 1;
	if (r->no_status) {
		r->want = S_NONE;
		r->want_len = 0;
		return;
	}
	r->want = S_IOERR;
	if (r->bad_addr || r->misorder || r->hdr_len < 16)
		return;
	switch (r->type) {
	case 0:		/* IN */
		r->group = VMM_BLK_STAT_READ;
		if (data % 512 || !in_range(r->sector, data / 512) ||
		    !aligned(r->sector * 512, data))
			return;
		r->want = S_OK;
		r->want_len = (uint32_t)data + 1;
		return;
	case 1:		/* OUT */
		r->group = VMM_BLK_STAT_WRITE;
		if (ro || data % 512 || !in_range(r->sector, data / 512) ||
		    !aligned(r->sector * 512, data))
			return;
		r->want = S_OK;
		return;
	case 4:		/* FLUSH */
		r->group = VMM_BLK_STAT_FLUSH;
		r->want = S_OK;
		return;
	case 8:		/* GET_ID */
		r->want = S_OK;
		r->want_len = (uint32_t)(data < 20 ? data : 20) + 1;
		return;
	case 11:	/* DISCARD */
	case 13:	/* WRITE_ZEROES */
		r->group = r->type == 11 ? VMM_BLK_STAT_DISCARD : VMM_BLK_STAT_WRITE;
		if (ro || r->nbuf != 1 || r->len[0] != 16)
			return;
		if (r->seg_flags & ~(r->type == 13 ? 1u : 0u)) {
			r->want = S_UNSUPP;
			return;
		}
		if (!r->seg_num || r->seg_num > (r->type == 13 ? 1u << 16 : 1u << 22) ||
		    !in_range(r->seg_sector, r->seg_num) ||
		    !aligned(r->seg_sector * 512, (uint64_t)r->seg_num * 512))
			return;
		r->want = S_OK;
		return;
	default:
		r->want = S_UNSUPP;
		return;
	}
}

/*
 * Requests of one batch run concurrently and complete in any order, so
 * each gets its own window of the disk (request k: sectors [k * WIN,
 * (k + 1) * WIN)) and its own guest buffers; only the batch's last request
 * may aim at the disk's last sectors or guest memory's last bytes (which
 * lie in the last window / past every other buffer). Sectors past the end
 * do no I/O, so any request may use those.
 */
#define WIN	(DISK_SIZE / 512 / 16)

static uint64_t rnd_sector(bool last, uint64_t fit)
{
	uint64_t cap = DISK_SIZE / 512;

	switch (fz_below(8)) {
	case 0: return last ? cap - fz_below(4) : cap + 1;
	case 1: return cap + fz_below(4);
	case 2: return cap + fz_next() % (~0ULL - cap);
	case 3: return ~0ULL - fz_below(8);
	default: return last ? cap - fit : cap + fz_below(4);
	}
}

static uint32_t rnd_data_len(void)
{
	switch (fz_below(8)) {
	case 0: return (uint32_t)fz_below(1024);
	case 1: return 512 * (uint32_t)(1 + fz_below(64)) + (uint32_t)fz_below(2);
	default: return 512 * (uint32_t)(1 + fz_below(fz_below(4) ? 8 : 32));
	}
}

/* A sector for @sectors in request @k's window (or an edge case). */
static uint64_t pick_sector(unsigned k, bool last, uint64_t sectors)
{
	if (!fz_below(6))
		return rnd_sector(last, sectors > DISK_SIZE / 512 ? 0 : sectors);
	if (sectors >= WIN)
		return (uint64_t)k * WIN;
	return (uint64_t)k * WIN + fz_below(WIN - sectors + 1);
}

/* A random request in @r, its buffers at *@next_data onward. */
static void make_req(struct req *r, unsigned k, bool last, uint64_t *next_data)
{
	static const uint32_t types[] = { 0, 0, 0, 1, 1, 1, 4, 8, 11, 13, 13, 2, 99 };
	uint64_t data = 0;

	memset(r, 0, sizeof(*r));
	r->type = types[fz_below(sizeof(types) / sizeof(types[0]))];
	r->hdr_gpa = HDRS + 32ULL * k;
	r->st_gpa = HDRS + 0x4000 + 8ULL * k;
	r->hdr_len = fz_below(30) ? 16 : (uint32_t)fz_below(16);
	r->no_status = !fz_below(40);
	r->indirect = !fz_below(4);
	if (r->type == 11 || r->type == 13) {
		r->nbuf = fz_below(20) ? 1 : (unsigned)fz_below(3);
		r->len[0] = fz_below(20) ? 16 : (uint32_t)fz_below(40);
		r->buf[0] = *next_data;
		r->seg_num = fz_below(8) ? 1 + (uint32_t)fz_below(WIN) : (uint32_t)fz_next();
		r->seg_sector = pick_sector(k, last, r->seg_num);
		r->seg_flags = fz_below(6) ? (uint32_t)fz_below(2) : (uint32_t)fz_next();
		if (r->nbuf > 1) {
			r->len[1] = 16;
			r->buf[1] = *next_data + 64;
		}
		*next_data += 128;
	} else if (r->type == 4) {
		r->nbuf = fz_below(10) ? 0 : 1;
		r->len[0] = 512;
		r->buf[0] = *next_data;
		*next_data += 512;
	} else {
		r->nbuf = 1 + (unsigned)fz_below(fz_below(3) ? 1 : 4);
		for (unsigned i = 0; i < r->nbuf; i++) {
			r->len[i] = r->type == 8 ? (uint32_t)(fz_below(4) ? 20 : fz_below(40)) :
				    rnd_data_len();
			r->buf[i] = *next_data + (fz_below(8) ? 0 : fz_below(512));
			*next_data = (r->buf[i] + r->len[i] + 511) & ~511ULL;
			data += r->len[i];
		}
	}
	r->sector = pick_sector(k, last, (data + 511) / 512);
	/* The header is the first 16 readable bytes, whatever the buffers:
	 * cut it short only where no readable data follows. */
	if (r->hdr_len < 16 && r->nbuf && r->type != 0 && r->type != 8)
		r->hdr_len = 16;
	/* Without a status buffer the last writable data byte would be the
	 * status: "no status byte" needs no writable data. */
	if (r->no_status && r->nbuf && (r->type == 0 || r->type == 8))
		r->no_status = false;
	if (r->nbuf && last && !fz_below(8)) {
		unsigned i = (unsigned)fz_below(r->nbuf);

		r->buf[i] = fz_below(2) ? 0xd0000000ULL : MEM_SIZE - fz_below(r->len[i] + 1ULL);
		r->bad_addr = r->len[i] && (r->buf[i] + r->len[i] > MEM_SIZE ||
					    r->buf[i] >= 0xc0000000ULL);
	}
	/* A readable buffer after a writable one (only IN has writable data). */
	if (r->type == 0 && r->nbuf && !fz_below(30))
		r->misorder = true;
	expect(r);
}

/* Lay out @r's chain at descriptor *@slot (or in an indirect table). */
static void put_chain(struct req *r, unsigned k, unsigned *slot)
{
	uint64_t table = r->indirect ? TABLES + 0x100ULL * k : RING;
	unsigned base = r->indirect ? 0 : *slot, n = 0;
	bool write_data = r->type == 0 || r->type == 8;
	uint16_t wflag = 2;			/* VIRTQ_DESC_F_WRITE */
	unsigned total = 1 + r->nbuf + (r->no_status ? 0 : 1) + (r->misorder ? 1 : 0);

	if (r->type == 11 || r->type == 13) {	/* the range goes in the header's buffer pair */
		uint8_t seg[16];

		memcpy(seg, &r->seg_sector, 8);
		memcpy(seg + 8, &r->seg_num, 4);
		memcpy(seg + 12, &r->seg_flags, 4);
		for (unsigned i = 0; i < r->nbuf; i++)
			if (r->buf[i] < MEM_SIZE && r->buf[i] + 16 <= MEM_SIZE)
				memcpy(g(r->buf[i]), seg, r->len[i] < 16 ? r->len[i] : 16);
	}
	{
		uint8_t h[16];

		memcpy(h, &r->type, 4);
		memset(h + 4, 0, 4);
		memcpy(h + 8, &r->sector, 8);
		memcpy(g(r->hdr_gpa), h, 16);
	}
	vio_desc(g(table), base + n, r->hdr_gpa, r->hdr_len, 1, (uint16_t)(base + n + 1));
	n++;
	for (unsigned i = 0; i < r->nbuf; i++, n++)
		vio_desc(g(table), base + n, r->buf[i], r->len[i],
		     (uint16_t)(1 | (write_data ? wflag : 0)), (uint16_t)(base + n + 1));
	if (r->misorder) {
		vio_desc(g(table), base + n, r->hdr_gpa, 4, 1, (uint16_t)(base + n + 1));
		n++;
	}
	if (!r->no_status) {
		*(uint8_t *)g(r->st_gpa) = 0xee;
		vio_desc(g(table), base + n, r->st_gpa, 1, wflag, 0);
		n++;
	} else {
		/* end the chain at the last buffer */
		char *t = g(table);
		uint16_t f;

		memcpy(&f, t + 16 * (base + n - 1) + 12, 2);
		f &= (uint16_t)~1;
		memcpy(t + 16 * (base + n - 1) + 12, &f, 2);
	}
	CHECK(n == total, "chain of %u, want %u", n, total);
	if (r->indirect) {
		vio_desc(g(RING), *slot, table, 16 * n, 4, 0);
		r->head = (uint16_t)*slot;
		*slot += 1;
	} else {
		r->head = (uint16_t)*slot;
		*slot += n;
	}
}

/* Fill write data and note what the disk will hold. */
static void before(struct req *r)
{
	uint64_t off = r->sector * 512;

	if (r->type == 1) {
		for (unsigned i = 0; i < r->nbuf; i++) {
			uint8_t *p = r->buf[i] < MEM_SIZE && r->len[i] ? g(r->buf[i]) : NULL;

			for (uint32_t j = 0; p && j < r->len[i] && r->buf[i] + j < MEM_SIZE; j++)
				p[j] = (uint8_t)fz_next();
		}
	}
	if (r->type == 0 || r->type == 8)
		for (unsigned i = 0; i < r->nbuf; i++)
			if (r->buf[i] + r->len[i] <= MEM_SIZE && r->len[i])
				memset(g(r->buf[i]), 0xcd, r->len[i]);
	(void)off;
}

/* After completion: check the data against the model, then update it. */
static void after(struct req *r)
{
	uint64_t off = r->sector * 512, o = 0;

	if (r->want != S_OK)
		return;
	switch (r->type) {
	case 0:
		for (unsigned i = 0; i < r->nbuf; i++) {
			uint8_t *p = r->len[i] ? g(r->buf[i]) : NULL;

			for (uint32_t j = 0; j < r->len[i]; j++, o++)
				if (known[off + o])
					CHECK(p[j] == model[off + o], "read byte %" PRIu64 " of sector %" PRIu64 ": 0x%02x, model 0x%02x",
					      o, r->sector, p[j], model[off + o]);
		}
		break;
	case 1:
		for (unsigned i = 0; i < r->nbuf; i++) {
			uint8_t *p = r->len[i] ? g(r->buf[i]) : NULL;

			for (uint32_t j = 0; j < r->len[i]; j++, o++) {
				model[off + o] = p[j];
				known[off + o] = 1;
			}
		}
		break;
	case 8: {
		char id[20] = { 0 };
		uint32_t n = r->want_len - 1, got = 0;

		memcpy(id, serial, strlen(serial));
		for (unsigned i = 0; i < r->nbuf && got < n; i++) {
			uint32_t m = r->len[i] < n - got ? r->len[i] : n - got;

			CHECK(!memcmp(g(r->buf[i]), id + got, m), "GET_ID bytes");
			got += m;
		}
		break;
	}
	case 11:
		memset(known + r->seg_sector * 512, 0, (size_t)r->seg_num * 512);
		break;
	case 13:
		memset(model + r->seg_sector * 512, 0, (size_t)r->seg_num * 512);
		memset(known + r->seg_sector * 512, 1, (size_t)r->seg_num * 512);
		break;
	}
}

/* ---- a batch ------------------------------------------------------------------ */

static void batch(void)
{
	struct req r[16];
	unsigned nr = 1 + (unsigned)fz_below(16), slot = 0, done = 0;
	uint64_t next_data = DATA;
	char *avail = g(RING + 0x1000), *used = g(RING + 0x2000);
	int spins = 0;

	for (unsigned k = 0; k < nr; k++) {
		make_req(&r[k], k, k == nr - 1, &next_data);
		before(&r[k]);
		put_chain(&r[k], k, &slot);
		CHECK(slot <= QSIZE, "too many descriptors");
		vio_avail_put(avail, QSIZE, avail_idx++, r[k].head);
	}
	vio_avail_publish(avail, avail_idx);
	vio_wr(vd, 0x050, 0);
	while (done < nr) {
		uint16_t uidx;

		vmm_virtio_poll(vd);
		uidx = vio_used_idx(used);
		while (used_seen != uidx) {
			uint32_t id, len;
			unsigned slot_i = used_seen % QSIZE;
			struct req *q = NULL;

			vio_used_elem(used, slot_i, &id, &len);
			used_seen++;
			for (unsigned k = 0; k < nr; k++)
				if (r[k].head == id && !r[k].done)
					q = &r[k];
			snprintf(cur_desc, sizeof(cur_desc), "request type %u sector %" PRIu64 " nbuf %u hdr %u%s%s%s%s",
				 q ? q->type : 0, q ? q->sector : 0, q ? q->nbuf : 0, q ? q->hdr_len : 0,
				 q && q->no_status ? " no-status" : "", q && q->bad_addr ? " bad-addr" : "",
				 q && q->misorder ? " misordered" : "", q && q->indirect ? " indirect" : "");
			CHECK(q, "used id %u is no request of this batch", id);
			q->done = true;
			done++;
			n_req++;
			if (q->want == S_NONE) {
				n_none++;
				CHECK(len == 0, "no status byte: used len %u", len);
			} else {
				uint8_t st = *(uint8_t *)g(q->st_gpa);

				CHECK(st == q->want, "status %u, want %u", st, q->want);
				CHECK(len == q->want_len, "used len %u, want %u", len, q->want_len);
				n_ok += st == S_OK;
				n_ioerr += st == S_IOERR;
				n_unsupp += st == S_UNSUPP;
			}
			if (q->group >= 0)
				want_ios[q->group]++;
			after(q);
		}
		if (done < nr) {
			CHECK(++spins < 20000, "%u of %u requests never came back", nr - done, nr);
			usleep(50);
		}
	}
	CHECK(!(vio_rd(vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET), "the device needs a reset");
}

static void configuration(const char *name, bool read_only, unsigned flags,
			  enum vmm_blk_cache cache, unsigned long batches)
{
	struct vmm_blk_conf c = { .path = img_path, .ro = read_only, .cache = cache };
	struct vmm_blk_info info;
	struct vmm_blk_stat st;
	struct vmm_blk *b;
	struct gm_error e;
	uint8_t cfg[24];
	int fd;

	snprintf(serial, sizeof(serial), "fz-%s", name);
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	CHECK(vmm_blk_open(&c, flags, &b, &e) == 0, "%s: open: %s", name, e.msg);
	CHECK(vmm_blk_create(b, mem, &vd) == 0, "%s: create", name);
	vmm_blk_info(b, &info);
	ro = read_only;
	direct = info.direct;
	vmm_virtio_mmio(vd, 0x100, cfg, 8, false);
	{
		uint64_t cap;

		memcpy(&cap, cfg, 8);
		CHECK(cap == DISK_SIZE / 512, "capacity %" PRIu64, cap);
	}
	vmm_virtio_mmio(vd, 0x100 + 20, (uint8_t *)&blk_size, 4, false);
	printf("fuzz_blk: %s: %s, %s, blk_size %u\n", name, direct ? "O_DIRECT" : "page cache",
	       info.sync ? "synchronous fallback" : "io_uring", blk_size);
	memset(want_ios, 0, sizeof(want_ios));
	driver_init();
	for (unsigned long i = 0; i < batches; i++, cur_case++)
		batch();
	vmm_blk_stat(b, &st);
	CHECK(st.in_flight == 0, "%" PRIu64 " in flight at the end", st.in_flight);
	for (int gi = 0; gi < VMM_BLK_STAT_GROUPS; gi++)
		CHECK(st.ios[gi] == want_ios[gi], "stat group %d: %" PRIu64 " ios, want %lu",
		      gi, st.ios[gi], want_ios[gi]);
	/* A reset with nothing in flight, then the host file against the model. */
	vio_wr(vd, 0x070, 0);
	CHECK(vio_rd(vd, 0x070) == 0, "reset");
	vmm_blk_close(b);
	fd = open(img_path, O_RDONLY);
	CHECK(fd >= 0, "reopen");
	{
		static uint8_t file[DISK_SIZE];

		CHECK(pread(fd, file, DISK_SIZE, 0) == (ssize_t)DISK_SIZE, "read back");
		for (uint64_t o = 0; o < DISK_SIZE; o++)
			if (known[o])
				CHECK(file[o] == model[o], "%s: file byte %" PRIu64 " 0x%02x, model 0x%02x",
				      name, o, file[o], model[o]);
	}
	close(fd);
}

int main(void)
{
	const char *lines = getenv("KVMEM_FUZZ_LINES");
	unsigned long batches = lines ? strtoul(lines, NULL, 0) : FZ_SCALE(300);
	struct gm_config cfg;
	struct gm_error e;
	int fd;

	cur_seed = fz_seed("fuzz_blk", 0x626c6b66757a7aULL);
	fz_state = cur_seed;
	gm_config_init(&cfg);
	cfg.nr_nodes = 1;
	cfg.node[0].size = MEM_SIZE;
	if (gm_mem_create(&cfg, &mem, &e) || gm_mem_back(mem, 0, &e))
		FAIL("guest memory: %s", e.msg);
	fd = mkstemp(img_path);
	CHECK(fd >= 0, "mkstemp");
	model = malloc(DISK_SIZE);
	known = malloc(DISK_SIZE);
	for (uint64_t o = 0; o < DISK_SIZE; o++)
		model[o] = (uint8_t)fz_next();
	memset(known, 1, DISK_SIZE);
	CHECK(pwrite(fd, model, DISK_SIZE, 0) == (ssize_t)DISK_SIZE, "image");
	close(fd);

	configuration("rw", false, 0, VMM_BLK_CACHE_DEFAULT, batches);
	configuration("ro", true, 0, VMM_BLK_CACHE_DEFAULT, batches / 3);
	configuration("sync", false, VMM_BLK_SYNC, VMM_BLK_CACHE_WRITEBACK, batches / 2);
	printf("fuzz_blk: %lu requests: %lu OK, %lu IOERR, %lu UNSUPP, %lu without a status byte\n",
	       n_req, n_ok, n_ioerr, n_unsupp, n_none);
	CHECK(n_ok > n_req / 4 && n_ioerr && n_unsupp && n_none, "the cases miss a path");
	unlink(img_path);
	free(model);
	free(known);
	gm_mem_destroy(mem);
	return 0;
}
