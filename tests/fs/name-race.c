// SPDX-License-Identifier: MIT
/*
 * name-race - race two claims on one allocation name through a kvmem mount,
 * many times, and check that exactly one claim wins every round.
 *
 * usage: name-race MOUNT ROUNDS
 *
 * Each round two threads, released together by a spinning barrier, claim
 * the name rN: round kinds alternate between
 *   mkdir+alloc   mkdir allocations/rN  vs  "alloc name=rN ..." to ctl
 *   mkdir+mkdir   mkdir allocations/rN  vs  mkdir allocations/rN
 * Exactly one must succeed and the other fail with EEXIST; the loser then
 * finds the winner's state (a pending directory after a mkdir win: empty
 * blocks; an allocation after an alloc win: one block line), and rmdir
 * of the name succeeds once (freeing or dropping it). Prints one TAP line
 * per kind and exits 1 on any bad round.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *mnt;
static int ctl_fd;
static char name[64];

/*
 * Two racer threads live for the whole run: each waits for the round
 * counter to move, makes its claim, then counts itself done. Spinning
 * (with sched_yield) keeps the start of the two claims microseconds apart.
 */
struct claim {
	pthread_t thread;
	bool mkdir;		/* else write alloc to ctl */
	unsigned delay;		/* spins before the claim: shifts the race window */
	int err;		/* 0 or errno */
};

static struct claim claims[2];
static unsigned round_no, done, stop;

static int do_claim(const struct claim *c)
{
	char path[4096], line[128];
	int n;

	if (c->mkdir) {
		snprintf(path, sizeof(path), "%s/allocations/%s", mnt, name);
		return mkdir(path, 0755) ? errno : 0;
	}
	n = snprintf(line, sizeof(line), "alloc name=%s node=0 size=4K\n", name);
	return write(ctl_fd, line, (size_t)n) == n ? 0 : errno;
}

static void *racer(void *arg)
{
	struct claim *c = arg;
	unsigned seen = 0;

	for (;;) {
		unsigned r;

		while ((r = __atomic_load_n(&round_no, __ATOMIC_ACQUIRE)) == seen &&
		       !__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			sched_yield();
		if (r == seen)
			return NULL;
		seen = r;
		for (volatile unsigned i = 0; i < c->delay; i++)
			;
		c->err = do_claim(c);
		__atomic_add_fetch(&done, 1, __ATOMIC_ACQ_REL);
	}
}

/* The lines of allocations/NAME/blocks: -1 if it cannot be read. */
static int block_lines(void)
{
	char path[4096], buf[4096];
	int fd, lines = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/allocations/%s/blocks", mnt, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return n < 0 ? -1 : lines;
}

/* One round; returns 0 if exactly one claim won and the state matches. */
static int round_one(unsigned r, bool both_mkdir)
{
	struct claim *c = claims;
	char path[4096];
	int wins, want_blocks, got;

	snprintf(name, sizeof(name), "r%u", r);
	c[0].mkdir = true;
	c[1].mkdir = both_mkdir;
	/* one side or the other starts up to ~20 us late, varying per round */
	c[r & 2 ? 0 : 1].delay = (r * 2654435761u) % 8192;
	c[r & 2 ? 1 : 0].delay = 0;
	__atomic_store_n(&done, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&round_no, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < 2)
		sched_yield();
	wins = !c[0].err + !c[1].err;
	if (wins != 1 || (c[0].err && c[0].err != EEXIST) ||
	    (c[1].err && c[1].err != EEXIST)) {
		printf("# round %u (%s): mkdir %s, %s %s\n", r,
		       both_mkdir ? "mkdir+mkdir" : "mkdir+alloc",
		       c[0].err ? strerror(c[0].err) : "won",
		       both_mkdir ? "mkdir" : "alloc",
		       c[1].err ? strerror(c[1].err) : "won");
		goto cleanup;
	}
	want_blocks = !both_mkdir && c[0].err;	/* alloc won: one block */
	got = block_lines();
	if (got != want_blocks) {
		printf("# round %u: %s won but blocks has %d lines\n", r,
		       want_blocks ? "alloc" : "mkdir", got);
		wins = 0;
	}
cleanup:
	snprintf(path, sizeof(path), "%s/allocations/%s", mnt, name);
	if (rmdir(path)) {
		printf("# round %u: rmdir %s: %s\n", r, name, strerror(errno));
		wins = 0;
	}
	/* a second owner would still hold the name */
	if (!rmdir(path) || errno != ENOENT) {
		printf("# round %u: %s still there after one rmdir\n", r, name);
		rmdir(path);
		wins = 0;
	}
	return wins == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char path[4096];
	unsigned rounds, bad[2] = { 0, 0 };

	if (argc != 3) {
		fprintf(stderr, "usage: name-race MOUNT ROUNDS\n");
		return 2;
	}
	mnt = argv[1];
	rounds = (unsigned)atoi(argv[2]);
	snprintf(path, sizeof(path), "%s/allocations/ctl", mnt);
	ctl_fd = open(path, O_WRONLY);
	if (ctl_fd < 0) {
		perror(path);
		return 2;
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&claims[i].thread, NULL, racer, &claims[i]);
	for (unsigned r = 0; r < rounds; r++)
		if (round_one(r, r & 1))
			bad[r & 1]++;
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(claims[i].thread, NULL);
	close(ctl_fd);
	printf("%s 1 - mkdir vs alloc name=X, %u rounds: exactly one owner each time (%u bad)\n",
	       bad[0] ? "not ok" : "ok", (rounds + 1) / 2, bad[0]);
	printf("%s 2 - mkdir vs mkdir, %u rounds: exactly one owner each time (%u bad)\n",
	       bad[1] ? "not ok" : "ok", rounds / 2, bad[1]);
	printf("1..2\n");
	return bad[0] || bad[1];
}
