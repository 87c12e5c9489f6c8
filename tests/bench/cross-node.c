/* SPDX-License-Identifier: MIT */
/*
 * cross-node.c - bench-alloc's cross-node figure: does zeroing on one node
 * stall allocations on another?
 *
 * A backed gm_mem with node 0 (256 MiB) and node 1 (2 GiB). The measured
 * thread does alloc+free pairs of a 4 KiB named allocation on node 0
 * through gm_alloc()/gm_free() (the path the filesystem and the grammar
 * take) for CROSS_SECS of wall time, three ways, interleaved in each round:
 *
 *   alone     nothing else runs;
 *   plain     a second thread does the same memory work as below on a
 *             private anonymous mapping, with no guestmem call;
 *   guestmem  the second thread churns dirty blocks on node 1.
 *
 * Two kinds of churn, 1 GiB of dirty memory per cycle either way:
 *   1G blocks   allocate 1 GiB (noclear), write one byte in each 4 KiB page,
 *               free it: the free discards the pages (MADV_DONTNEED on the
 *               node's anonymous mapping; plain: the same writes and madvise
 *               on the private mapping);
 *   32K blocks  allocate 32 KiB, write it, free it, 32768 times: the free
 *               zeroes each block with memset (plain: write and memset).
 *
 * guestmem / plain is the figure: 1.0 when zeroing on node 1 holds no lock
 * that node 0 needs; below 1 by the share of time node 0 waited. The plain
 * baseline absorbs what a busy shared machine does to both (CPU time, the
 * kernel's page work). With 4 KiB pages the 1G cycle is mostly page faults
 * (no lock either way), so the 32K row is where a lock held while zeroing
 * shows. Also printed, as a figure a busy machine disturbs less: how often
 * per second node 0's thread blocked (voluntary context switches: it waited
 * on a lock; being preempted is involuntary), and its pairs over 1 ms.
 * Medians of CROSS_ROUNDS rounds (by pairs/s).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "guestmem.h"

#define CROSS_ROUNDS	3
#define CROSS_SECS	1.5
#define CROSS_BIG	(1ULL << 30)
#define CROSS_SMALL	(32ULL << 10)
#define STALL		1e-3

enum churn_mode { ALONE, PLAIN, GUESTMEM, NR_MODES };

static const char *const mode_name[NR_MODES] = { "alone", "plain", "guestmem" };

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void cross_die(const char *what, const char *why)
{
	fprintf(stderr, "bench-alloc: cross-node: %s: %s\n", what, why);
	exit(1);
}

struct churn {
	struct gm_mem *mem;
	enum churn_mode mode;
	uint64_t block;			/* CROSS_BIG or CROSS_SMALL */
	char *plain;			/* CROSS_BIG bytes, private anonymous */
	volatile int stop;
	unsigned long cycles;		/* done since started (atomic) */
};

static void dirty(char *p, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 4096)
		p[off] = 1;
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct gm_request req;
	struct gm_error e;

	gm_request_init(&req);
	snprintf(req.name, sizeof(req.name), "churn");
	req.node = 1;
	req.size = c->block;
	req.align = c->block;
	req.flags = GM_F_NOCLEAR;
	while (!c->stop) {
		for (uint64_t done = 0; done < CROSS_BIG; done += c->block) {
			struct gm_alloc_info *info;
			char *p;

			if (c->mode == PLAIN) {
				dirty(c->plain, c->block);
				if (c->block < CROSS_BIG)
					memset(c->plain, 0, c->block);
				else if (madvise(c->plain, CROSS_BIG, MADV_DONTNEED))
					cross_die("discard", strerror(errno));
				continue;
			}
			if (gm_alloc(c->mem, &req, NULL, &e))
				cross_die("node 1 alloc", e.msg);
			if (gm_alloc_get(c->mem, "churn", &info))
				cross_die("node 1 alloc", "vanished");
			p = gm_mem_hva(c->mem, info->blocks[0].gpa, c->block);
			if (info->nr_blocks != 1 || !p)
				cross_die("node 1 alloc", "not one block");
			dirty(p, c->block);
			gm_alloc_info_free(info);
			if (gm_free(c->mem, "churn", &e))
				cross_die("node 1 free", e.msg);
		}
		__atomic_add_fetch(&c->cycles, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct pairs {
	double rate;			/* pairs per second */
	double waits;			/* voluntary context switches per second */
	unsigned long stalls;		/* pairs over STALL */
	double longest;			/* the slowest pair, seconds */
};

/*
 * alloc+free pairs on node 0 for CROSS_SECS of wall time, and until the
 * churn thread @c (if any) has done CROSS_CYCLES cycles: every window
 * holds whole cycles, frees included.
 */
#define CROSS_CYCLES	1

static struct pairs pairs_node0(struct gm_mem *mem, const struct churn *c)
{
	struct pairs p = { 0 };
	struct gm_request req;
	struct rusage ru0, ru1;
	struct gm_error e;
	unsigned long n = 0;
	double t0, t, prev;

	gm_request_init(&req);
	snprintf(req.name, sizeof(req.name), "small");
	req.node = 0;
	req.size = 4096;
	getrusage(RUSAGE_THREAD, &ru0);
	t0 = t = wall();
	do {
		prev = t;
		if (gm_alloc(mem, &req, NULL, &e))
			cross_die("node 0 alloc", e.msg);
		if (gm_free(mem, "small", &e))
			cross_die("node 0 free", e.msg);
		n++;
		t = wall();
		if (t - prev > STALL)
			p.stalls++;
		if (t - prev > p.longest)
			p.longest = t - prev;
	} while (t - t0 < CROSS_SECS ||
		 (c && __atomic_load_n(&c->cycles, __ATOMIC_RELAXED) < CROSS_CYCLES));
	getrusage(RUSAGE_THREAD, &ru1);
	p.rate = n / (t - t0);
	p.waits = (ru1.ru_nvcsw - ru0.ru_nvcsw) / (t - t0);
	return p;
}

static int by_rate(const void *x, const void *y)
{
	const struct pairs *a = x, *b = y;

	return a->rate < b->rate ? -1 : a->rate > b->rate;
}

/* One row: alone / plain / guestmem with node 1 churning @block blocks. */
static void cross_row(struct churn *c, uint64_t block, const char *name)
{
	struct pairs res[NR_MODES][CROSS_ROUNDS], *med[NR_MODES];
	unsigned long cycles = 0;
	double secs = 0;

	c->block = block;
	for (int r = 0; r < CROSS_ROUNDS; r++) {
		for (int m = 0; m < NR_MODES; m++) {
			pthread_t th;
			double t0 = wall();

			c->mode = (enum churn_mode)m;
			c->stop = 0;
			c->cycles = 0;
			if (m != ALONE && pthread_create(&th, NULL, churn_thread, c))
				cross_die("pthread_create", "failed");
			res[m][r] = pairs_node0(c->mem, m == ALONE ? NULL : c);
			c->stop = 1;
			if (m == ALONE)
				continue;
			pthread_join(th, NULL);
			if (m == GUESTMEM) {
				secs += wall() - t0;
				cycles += c->cycles;
			}
		}
	}
	for (int m = 0; m < NR_MODES; m++) {
		qsort(res[m], CROSS_ROUNDS, sizeof(res[m][0]), by_rate);
		med[m] = &res[m][CROSS_ROUNDS / 2];
	}
	printf("%-22s %10.0f pairs/s alone, %.0f beside plain churn, %.0f beside node 1's: x%.2f of plain\n",
	       name, med[ALONE]->rate, med[PLAIN]->rate, med[GUESTMEM]->rate,
	       med[GUESTMEM]->rate / med[PLAIN]->rate);
	printf("%-22s node 0 blocked/s:", "");
	for (int m = 0; m < NR_MODES; m++)
		printf(" %s %.1f", mode_name[m], med[m]->waits);
	printf("; pairs over 1 ms:");
	for (int m = 0; m < NR_MODES; m++)
		printf(" %s %lu", mode_name[m], med[m]->stalls);
	printf("; longest pair:");
	for (int m = 0; m < NR_MODES; m++)
		printf(" %s %.1f ms", mode_name[m], med[m]->longest * 1e3);
	printf("\n%-22s node 1 churned %.2f GiB/s (median of %d rounds, each >= %.1f s and %d cycle)\n", "",
	       cycles / secs, CROSS_ROUNDS, CROSS_SECS, CROSS_CYCLES);
}

void bench_cross_node(void);

/*
 * bench_cross_node() - the cross-node rows of bench-alloc (see the top of
 * this file): node 0's alloc+free pairs/s while node 1 zeroes 1 GiB blocks,
 * then 32 KiB blocks.
 */
void bench_cross_node(void)
{
	struct churn c = { 0 };
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;

	gm_config_init(&cfg);
	if (gm_parse_numa("0:256M,1:2G", &cfg, &e) ||
	    gm_mem_create(&cfg, &mem, &e) || gm_mem_back(mem, 0, &e) ||
	    gm_mem_retire(mem, &e))
		cross_die("setup", e.msg);
	c.mem = mem;
	/* as the pools are (guestmem/backing.c): anonymous, private, THP */
	c.plain = mmap(NULL, CROSS_BIG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c.plain == MAP_FAILED)
		cross_die("mmap", strerror(errno));
	(void)madvise(c.plain, CROSS_BIG, MADV_HUGEPAGE);
	cross_row(&c, CROSS_BIG, "cross-node 1G blocks");
	cross_row(&c, CROSS_SMALL, "cross-node 32K blocks");
	munmap(c.plain, CROSS_BIG);
	gm_mem_destroy(mem);
}
