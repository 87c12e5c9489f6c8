/* SPDX-License-Identifier: MIT */
/*
 * cross-node.c - bench-alloc's cross-node figure: does zeroing on one node
 * stall allocations on another?
 *
 * A backed gm_mem with node 0 (256 MiB) and node 1 (2 GiB). The measured
 * thread does alloc+free pairs of 4 KiB named allocations on node 0 through
 * gm_alloc()/gm_free() (the path the filesystem and the grammar take) for
 * a fixed wall time. The disturbing thread, on node 1, allocates 1 GiB,
 * writes one byte in each 4 KiB page (the block is then dirty: its host
 * pages are resident and hold bytes) and frees it, which punches the
 * pages out of the node's memfd, in a loop.
 *
 * Rounds alternate: node 0 alone (the baseline), then with the node-1
 * thread running; the medians of CROSS_ROUNDS rounds and their ratio are
 * printed. Wall time (not CPU time): a pair that waits on a lock held by
 * the other node's zeroing is exactly what is measured. On a machine with
 * one free core the two threads also compete for CPU, so the ratio cannot
 * reach 1.0 there even with no lock shared; compare ratios of builds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestmem.h"

#define CROSS_ROUNDS	3
#define CROSS_SECS	2.0

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void cross_die(const char *what, const struct gm_error *e)
{
	fprintf(stderr, "bench-alloc: cross-node: %s: %s\n", what, e->msg);
	exit(1);
}

struct churn {
	struct gm_mem *mem;
	volatile int stop;
	unsigned long rounds;		/* 1 GiB alloc + dirty + free cycles */
};

static void *churn_node1(void *arg)
{
	struct churn *c = arg;
	struct gm_request req;
	struct gm_error e;

	gm_request_init(&req);
	snprintf(req.name, sizeof(req.name), "big");
	req.node = 1;
	req.size = 1ULL << 30;
	req.align = 1ULL << 30;
	req.flags = GM_F_NOCLEAR;
	while (!c->stop) {
		struct gm_alloc_info *info;

		if (gm_alloc(c->mem, &req, NULL, &e))
			cross_die("node 1 alloc", &e);
		if (gm_alloc_get(c->mem, "big", &info))
			cross_die("node 1 get", &e);
		for (unsigned b = 0; b < info->nr_blocks; b++) {
			char *p = gm_mem_hva(c->mem, info->blocks[b].gpa,
					     info->blocks[b].size);

			for (uint64_t off = 0; p && off < info->blocks[b].size;
			     off += 4096)
				p[off] = 1;
		}
		gm_alloc_info_free(info);
		if (gm_free(c->mem, "big", &e))
			cross_die("node 1 free", &e);
		c->rounds++;
	}
	return NULL;
}

/*
 * alloc+free pairs per second on node 0 for CROSS_SECS of wall time; the
 * longest single pair (a stall) goes to *@stall, in seconds.
 */
static double pairs_node0(struct gm_mem *mem, double *stall)
{
	struct gm_request req;
	struct gm_error e;
	unsigned long n = 0;
	double t0 = wall(), t = t0, prev;

	gm_request_init(&req);
	snprintf(req.name, sizeof(req.name), "small");
	req.node = 0;
	req.size = 4096;
	*stall = 0;
	do {
		prev = t;
		if (gm_alloc(mem, &req, NULL, &e))
			cross_die("node 0 alloc", &e);
		if (gm_free(mem, "small", &e))
			cross_die("node 0 free", &e);
		n++;
		t = wall();
		if (t - prev > *stall)
			*stall = t - prev;
	} while (t - t0 < CROSS_SECS);
	return n / (t - t0);
}

static int cross_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

void bench_cross_node(void);

void bench_cross_node(void)
{
	double alone[CROSS_ROUNDS], busy[CROSS_ROUNDS], t0, stall, worst = 0;
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;
	struct churn c = { 0 };
	unsigned long cycles = 0;
	double churn_secs = 0;

	gm_config_init(&cfg);
	if (gm_parse_numa("0:256M,1:2G", &cfg, &e) ||
	    gm_mem_create(&cfg, &mem, &e) || gm_mem_back(mem, 0, &e) ||
	    gm_mem_retire(mem, &e))
		cross_die("setup", &e);
	c.mem = mem;
	for (int r = 0; r < CROSS_ROUNDS; r++) {
		pthread_t th;

		alone[r] = pairs_node0(mem, &stall);
		c.stop = 0;
		c.rounds = 0;
		t0 = wall();
		if (pthread_create(&th, NULL, churn_node1, &c))
			cross_die("pthread_create", &e);
		busy[r] = pairs_node0(mem, &stall);
		if (stall > worst)
			worst = stall;
		c.stop = 1;
		pthread_join(th, NULL);
		churn_secs += wall() - t0;
		cycles += c.rounds;
	}
	qsort(alone, CROSS_ROUNDS, sizeof(double), cross_cmp);
	qsort(busy, CROSS_ROUNDS, sizeof(double), cross_cmp);
	printf("%-22s %10.0f pairs/s alone, %.0f while node 1 churns dirty 1 GiB blocks: x%.2f\n"
	       "%-22s longest pair %.2f ms, %.2f GiB/s churned on node 1 (median of %d rounds of %.0f s)\n",
	       "cross-node node0 4K", alone[CROSS_ROUNDS / 2],
	       busy[CROSS_ROUNDS / 2],
	       busy[CROSS_ROUNDS / 2] / alone[CROSS_ROUNDS / 2], "",
	       worst * 1e3, cycles / churn_secs, CROSS_ROUNDS, CROSS_SECS);
	gm_mem_destroy(mem);
}
