// SPDX-License-Identifier: MIT
/*
 * bench-fs - how fast the kvmem filesystem answers, against procfs.
 *
 * usage: bench-fs KVMEM [SECONDS] [seccomp]
 *
 * Starts two `KVMEM serve --numa 0:1G,1:1G --mount TMP/mN`, the second with
 * KVMEM_FS_DIRECT_IO=1, then measures for SECONDS each (default 1):
 *   1. open+read+close per second of nodes/node0/buddyinfo on both mounts
 *      (page cache + check on open, the default; direct_io rendering per
 *      open) and of /proc/buddyinfo, in the same run (ratio procfs / kvmem);
 *   2. alloc+free round trips per second through allocations/ctl from C:
 *      one write(2) per command on a ctl descriptor kept open, and one
 *      open+write+close per command as `echo ... > ctl` does; baseline:
 *      the same pairs through gm_cmd_exec() in this process.
 * Reads of the two files are interleaved in slices so that load from other
 * processes on the machine hits both alike.
 * With "seccomp" it measures instead the cost of the allowlists (README
 * "Security"): two servers, `--seccomp on` (the default) and `--seccomp
 * off`, the same reads and ctl pairs in short paired rounds; medians, and
 * the median of the per-round ratios off/on.
 * Prints figures only; asserts nothing about speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestmem.h"
#include "stats.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* @n open+read+close of @path; 0 or -1. */
static int read_n(const char *path, int n)
{
	char buf[4096];

	for (int i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t r;

		if (fd < 0)
			return -1;
		do {
			r = read(fd, buf, sizeof(buf));
		} while (r > 0);
		close(fd);
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * open+read+close per second of each of @n paths, interleaved in slices of
 * 200 so that load from other processes hits all alike; @secs in all.
 */
static int reads_per_sec(const char **path, int n, double secs, double *rate)
{
	double t[4] = { 0 }, total, t0;
	long count = 0;

	do {
		total = 0;
		for (int i = 0; i < n; i++) {
			t0 = now();
			if (read_n(path[i], 200))
				return -1;
			t[i] += now() - t0;
			total += t[i];
		}
		count += 200;
	} while (total < secs);
	for (int i = 0; i < n; i++)
		rate[i] = count / t[i];
	return 0;
}

static int write_str(int fd, const char *s)
{
	size_t len = strlen(s);

	return write(fd, s, len) == (ssize_t)len ? 0 : -1;
}

/* alloc+free pairs per second on one open ctl descriptor. */
static double pairs_per_sec(const char *ctl, double secs, int reopen)
{
	const char *a = "alloc name=bench node=0 size=4K\n", *f = "free bench\n";
	double t0 = now(), t;
	long n = 0;
	int fd = -1;

	if (!reopen && (fd = open(ctl, O_WRONLY)) < 0)
		return -1;
	do {
		for (int i = 0; i < 100; i++, n++) {
			if (reopen) {
				int a_fd = open(ctl, O_WRONLY | O_TRUNC);
				int ok = a_fd >= 0 && !write_str(a_fd, a);

				if (a_fd >= 0)
					close(a_fd);
				fd = open(ctl, O_WRONLY | O_TRUNC);
				ok = ok && fd >= 0 && !write_str(fd, f);
				if (fd >= 0)
					close(fd);
				if (!ok)
					return -1;
				continue;
			}
			if (write_str(fd, a) || write_str(fd, f)) {
				close(fd);
				return -1;
			}
		}
		t = now() - t0;
	} while (t < secs);
	if (!reopen)
		close(fd);
	return n / t;
}

/*
 * The baseline for ctl: the same alloc+free pairs through gm_cmd_exec() in
 * this process, on pools laid out and backed like the served ones.
 */
static double direct_pairs_per_sec(double secs)
{
	struct gm_error e = { 0 };
	struct gm_config cfg;
	struct gm_mem *mem;
	char out[512];
	double t0, t;
	long n = 0;

	gm_config_init(&cfg);
	if (gm_parse_numa("0:1G,1:1G", &cfg, &e) || gm_mem_create(&cfg, &mem, &e))
		return -1;
	if (gm_mem_back(mem, 0, &e) || gm_mem_retire(mem, &e)) {
		gm_mem_destroy(mem);
		return -1;
	}
	t0 = now();
	do {
		for (int i = 0; i < 100; i++, n++) {
			if (gm_cmd_exec(mem, "alloc name=bench node=0 size=4K", out,
					sizeof(out)) ||
			    gm_cmd_exec(mem, "free bench", out, sizeof(out))) {
				gm_mem_destroy(mem);
				return -1;
			}
		}
		t = now() - t0;
	} while (t < secs);
	gm_mem_destroy(mem);
	return n / t;
}

static int wait_mounted(const char *path)
{
	struct stat st;

	for (int i = 0; i < 100; i++) {
		if (!stat(path, &st))
			return 0;
		usleep(50000);
	}
	return -1;
}

/*
 * Start `@kvmem serve` on @mnt; @direct sets KVMEM_FS_DIRECT_IO=1;
 * @seccomp is the --seccomp mode.
 */
static pid_t serve(const char *kvmem, const char *mnt, int direct,
		   const char *seccomp)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (direct)
			setenv("KVMEM_FS_DIRECT_IO", "1", 1);
		execl(kvmem, kvmem, "serve", "--numa", "0:1G,1:1G", "--mount",
		      mnt, "--seccomp", seccomp, (char *)NULL);
		perror(kvmem);
		_exit(127);
	}
	return pid;
}

#define SC_ROUNDS	41

/*
 * The "seccomp" figures: mount 0 filtered (on), mount 1 not (off). Each of
 * SC_ROUNDS rounds measures both, one right after the other, in short
 * slices (200 reads; pairs for @secs / SC_ROUNDS); the figures are the
 * medians, and the median of the per-round ratios off/on (a stall from
 * another process on the machine spoils one round, not the figure).
 */
static int seccomp_figures(char mnt[2][64], char path[2][128], double secs)
{
	double reads[2][SC_ROUNDS], pairs[2][SC_ROUNDS], rr[SC_ROUNDS], pr[SC_ROUNDS];
	char ctl[2][192];

	for (int i = 0; i < 2; i++)
		snprintf(ctl[i], sizeof(ctl[i]), "%s/allocations/ctl", mnt[i]);
	for (int r = 0; r < SC_ROUNDS; r++) {
		for (int k = 0; k < 2; k++) {
			/* alternate which goes first */
			int i = (r + k) % 2;
			double t0 = now();

			if (read_n(path[i], 200))
				return -1;
			reads[i][r] = 200 / (now() - t0);
			pairs[i][r] = pairs_per_sec(ctl[i], secs / SC_ROUNDS, 0);
			if (pairs[i][r] < 0)
				return -1;
		}
		rr[r] = reads[1][r] / reads[0][r];
		pr[r] = pairs[1][r] / pairs[0][r];
	}
	printf("%d paired rounds, medians\n", SC_ROUNDS);
	printf("open+read+close node0/buddyinfo, --seccomp on:  %8.0f /s\n",
	       bench_median(reads[0], SC_ROUNDS));
	printf("open+read+close node0/buddyinfo, --seccomp off: %8.0f /s  off/on %.3f\n",
	       bench_median(reads[1], SC_ROUNDS), bench_median(rr, SC_ROUNDS));
	printf("alloc+free pairs via ctl, --seccomp on:         %8.0f /s\n",
	       bench_median(pairs[0], SC_ROUNDS));
	printf("alloc+free pairs via ctl, --seccomp off:        %8.0f /s  off/on %.3f\n",
	       bench_median(pairs[1], SC_ROUNDS), bench_median(pr, SC_ROUNDS));
	return 0;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/bench-fs.XXXXXX", mnt[2][64], path[2][128], ctl[128];
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	double rate[3] = { -1, -1, -1 }, pairs, pairs_echo, direct;
	const char *paths[3];
	pid_t pid[2] = { -1, -1 };
	int status, ret = 1;
	int sc = argc > 3 && !strcmp(argv[3], "seccomp");

	if (argc < 2 || secs <= 0 || secs > 60 || (argc > 3 && !sc)) {
		fprintf(stderr, "usage: bench-fs KVMEM [SECONDS] [seccomp]\n");
		return 2;
	}
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(mnt[i], sizeof(mnt[i]), "%s/m%d", tmp, i);
		snprintf(path[i], sizeof(path[i]), "%s/nodes/node0/buddyinfo",
			 mnt[i]);
		pid[i] = serve(argv[1], mnt[i], sc ? 0 : i,
			       sc && i ? "off" : "on");
		if (pid[i] < 0 || wait_mounted(path[i])) {
			fprintf(stderr, "bench-fs: kvmem serve did not mount %s\n",
				mnt[i]);
			goto out;
		}
	}
	if (sc) {
		ret = seccomp_figures(mnt, path, secs) ? 1 : 0;
		if (ret)
			fprintf(stderr, "bench-fs: a measurement failed: %s\n", strerror(errno));
		goto out;
	}
	snprintf(ctl, sizeof(ctl), "%s/allocations/ctl", mnt[0]);
	paths[0] = path[0];
	paths[1] = path[1];
	paths[2] = "/proc/buddyinfo";

	if (reads_per_sec(paths, 3, 3 * secs, rate))
		rate[0] = -1;
	pairs = pairs_per_sec(ctl, secs, 0);
	pairs_echo = pairs_per_sec(ctl, secs, 1);
	direct = direct_pairs_per_sec(secs);
	if (rate[0] < 0 || pairs < 0 || pairs_echo < 0 || direct < 0) {
		fprintf(stderr, "bench-fs: a measurement failed: %s\n", strerror(errno));
		goto out;
	}
	printf("open+read+close /proc/buddyinfo:                    %9.0f /s\n",
	       rate[2]);
	printf("open+read+close node0/buddyinfo (page cache, default): %6.0f /s"
	       "  procfs/kvmem %.2f x (goal <= 3)\n", rate[0], rate[2] / rate[0]);
	printf("open+read+close node0/buddyinfo (direct_io per open):  %6.0f /s"
	       "  procfs/kvmem %.2f x\n", rate[1], rate[2] / rate[1]);
	printf("alloc+free pairs via ctl (fd kept open):  %8.0f /s (goal >= 10000)\n",
	       pairs);
	printf("alloc+free pairs via ctl (open per cmd):  %8.0f /s\n", pairs_echo);
	printf("alloc+free pairs in-process gm_cmd_exec:  %8.0f /s (%.1f x ctl)\n",
	       direct, direct / pairs);
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (pid[i] > 0) {
			kill(pid[i], SIGTERM);
			waitpid(pid[i], &status, 0);
		}
		rmdir(mnt[i]);
	}
	rmdir(tmp);
	return ret;
}
