// SPDX-License-Identifier: MIT
/*
 * bench-fs - how fast the kvmem filesystem answers, against procfs.
 *
 * usage: bench-fs KVMEM [SECONDS]
 *
 * Starts `KVMEM serve --numa 0:1G,1:1G --mount TMP/m`, then measures for
 * SECONDS each (default 1):
 *   1. open+read+close per second of nodes/node0/buddyinfo, and of
 *      /proc/buddyinfo in the same run (the ratio is procfs / kvmem);
 *   2. alloc+free round trips per second through allocations/ctl from C:
 *      one write(2) per command on a ctl descriptor kept open, and one
 *      open+write+close per command as `echo ... > ctl` does; baseline:
 *      the same pairs through gm_cmd_exec() in this process.
 * Reads of the two files are interleaved in slices so that load from other
 * processes on the machine hits both alike.
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
 * open+read+close per second of @a and of @b, interleaved in slices of 200
 * so that load from other processes hits both alike; for @secs in all.
 */
static int reads_per_sec(const char *a, const char *b, double secs,
			 double *ra, double *rb)
{
	double ta = 0, tb = 0, t;
	long n = 0;

	do {
		t = now();
		if (read_n(a, 200))
			return -1;
		ta += now() - t;
		t = now();
		if (read_n(b, 200))
			return -1;
		tb += now() - t;
		n += 200;
	} while (ta + tb < secs);
	*ra = n / ta;
	*rb = n / tb;
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

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/bench-fs.XXXXXX", mnt[64], path[128], ctl[128];
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	double fs_r = -1, proc_r = 1, pairs, pairs_echo, direct;
	int status, ret = 1;
	pid_t pid;

	if (argc < 2 || secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: bench-fs KVMEM [SECONDS]\n");
		return 2;
	}
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(mnt, sizeof(mnt), "%s/m", tmp);
	snprintf(path, sizeof(path), "%s/nodes/node0/buddyinfo", mnt);
	snprintf(ctl, sizeof(ctl), "%s/allocations/ctl", mnt);
	pid = fork();
	if (pid == 0) {
		execl(argv[1], argv[1], "serve", "--numa", "0:1G,1:1G", "--mount",
		      mnt, (char *)NULL);
		perror(argv[1]);
		_exit(127);
	}
	if (pid < 0 || wait_mounted(path)) {
		fprintf(stderr, "bench-fs: kvmem serve did not mount %s\n", mnt);
		goto out;
	}

	if (reads_per_sec(path, "/proc/buddyinfo", 2 * secs, &fs_r, &proc_r))
		fs_r = -1;
	pairs = pairs_per_sec(ctl, secs, 0);
	pairs_echo = pairs_per_sec(ctl, secs, 1);
	direct = direct_pairs_per_sec(secs);
	if (fs_r < 0 || proc_r < 0 || pairs < 0 || pairs_echo < 0 || direct < 0) {
		fprintf(stderr, "bench-fs: a measurement failed: %s\n", strerror(errno));
		goto out;
	}
	printf("open+read+close nodes/node0/buddyinfo: %10.0f /s\n", fs_r);
	printf("open+read+close /proc/buddyinfo:       %10.0f /s\n", proc_r);
	printf("ratio procfs/kvmem per read:           %10.2f x (goal <= 3)\n",
	       proc_r / fs_r);
	printf("alloc+free pairs via ctl (fd kept open): %8.0f /s (goal >= 10000)\n",
	       pairs);
	printf("alloc+free pairs via ctl (open per cmd): %8.0f /s\n", pairs_echo);
	printf("alloc+free pairs in-process gm_cmd_exec: %8.0f /s (ratio %.1f x)\n",
	       direct, direct / pairs);
	ret = 0;
out:
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	rmdir(mnt);
	rmdir(tmp);
	return ret;
}
