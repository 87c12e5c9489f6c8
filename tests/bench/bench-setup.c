// SPDX-License-Identifier: MIT
/*
 * bench-setup - the host side of `kvmem run`'s setup, at native speed.
 *
 * Usage: bench-setup [KERNEL] [ROUNDS]   (default: the newest /boot/vmlinuz-*, 9)
 *
 * `kvmem run` reports its whole setup before the first guest instruction
 * with KVMEM_BOOT_TRACE=1, but needs /dev/kvm; where there is none
 * (bench-boot then runs nested, under emulation) this measures, in
 * process, the steps that do not touch KVM, in kvmem-run.c's order:
 *   create   gm_mem_create()        lay out the node
 *   back     gm_mem_back()          anonymous pools, no page touched
 *   place    vmm_linux_place()      the kernel, initrd, boot data
 *   retire   gm_mem_retire()        early ranges reserved, the buddy built
 *   ram      gm_alloc("vm.ram0")    guest RAM out of the buddy, VM-owned
 *   finish   vmm_linux_finish()     e820 and ACPI tables
 * for a 256 MiB and a 64 GiB guest and the three ways a kernel boots:
 * "auto" (the bzImage's payload from the decompressed-kernel cache,
 * relocated for KASLR), "bzimage" (its compressed kernel, decompressed
 * later by the guest) and "vmlinux" (the cache entry's ELF through PVH).
 * Rounds interleave the cases; medians in ms (wall clock per step and in
 * all, and "cpu": the thread's CPU time over the whole setup, user and
 * system, which a loaded machine does not inflate). The baseline, in the same
 * rounds: read() of the decompressed kernel into fresh guest-like memory
 * (anonymous, 2 MiB-aligned, MADV_HUGEPAGE), the copy any loader of an
 * uncompressed kernel makes.
 */
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "stats.h"

#define MAX_ROUNDS	51
enum { CREATE, BACK, PLACE, RETIRE, RAM, FINISH, NR_STEPS };
static const char *const step_name[NR_STEPS] = {
	"create", "back", "place", "retire", "ram", "finish",
};
enum { AUTO, BZIMAGE, VMLINUX, NR_MODES };
static const char *const mode_name[NR_MODES] = { "auto", "bzimage", "vmlinux" };
static const char *const mem_name[2] = { "256M", "64G" };

static double samples[NR_MODES][2][NR_STEPS + 2][MAX_ROUNDS];
static double base_samples[MAX_ROUNDS];
/* the place step's parts (struct vmm_boot_times): open, load, reloc, initrd */
static double part_samples[NR_MODES][2][4][MAX_ROUNDS];

static double clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static void die(const char *what, const struct gm_error *e)
{
	fprintf(stderr, "bench-setup: %s: %s\n", what, e ? e->msg : "failed");
	exit(1);
}

/* One setup of @mode for @mem_i, timings into samples[mode][mem_i][*][round]. */
static void setup_once(int mode, int mem_i, int round, const char *kernel,
		       const char *vmlinux, const char *initrd, const char *cache)
{
	struct vmm_linux_args a = { .initrd = initrd, .cmdline = "console=ttyS0 quiet" };
	struct vmm_topology topo = { .nr_cpus = 1, .nr_nodes = 1 };
	struct vmm_boot_plan *plan = NULL;
	struct gm_error e = { 0 };
	struct gm_node_stat st;
	struct gm_request req;
	struct gm_alloc_info *info;
	struct vmm_guest_ram ram = { 0 };
	struct vmm_entry entry;
	struct gm_config cfg;
	struct gm_mem *mem;
	double t[NR_STEPS + 1], cpu0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);

	a.kernel = mode == VMLINUX ? vmlinux : kernel;
	a.boot = mode == BZIMAGE ? VMM_BOOT_BZIMAGE : VMM_BOOT_AUTO;
	a.cache_dir = cache;
	gm_config_init(&cfg);
	t[0] = now_ms();
	if (gm_parse_numa(mem_i ? "0:64G" : "0:256M", &cfg, &e) ||
	    gm_mem_create(&cfg, &mem, &e))
		die("create", &e);
	t[1] = now_ms();
	if (gm_mem_back(mem, 0, &e))
		die("back", &e);
	t[2] = now_ms();
	if (vmm_linux_place(mem, &a, &plan, &e))
		die("place", &e);
	t[3] = now_ms();
	if (gm_mem_retire(mem, &e) || gm_node_stat(mem, 0, &st))
		die("retire", &e);
	t[4] = now_ms();
	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), GM_VM_PREFIX "ram0");
	snprintf(req.purpose, sizeof(req.purpose), "guest RAM, node 0");
	req.size = st.avail;
	req.mode = GM_MODE_RANGE;
	req.range_start = st.start;
	req.range_end = st.end;
	req.flags = GM_F_NOCLEAR;
	if (gm_alloc(mem, &req, &info, &e))
		die("ram", &e);
	ram.id[ram.nr++] = info->id;
	gm_alloc_info_free(info);
	t[5] = now_ms();
	if (vmm_linux_finish(mem, plan, &topo, &ram, &entry, &e))
		die("finish", &e);
	t[6] = now_ms();
	/* the CPU the setup used (user + system, page faults included): on
	 * a loaded machine the wall clock also counts waiting for a CPU */
	samples[mode][mem_i][NR_STEPS + 1][round] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	for (int s = 0; s < NR_STEPS; s++)
		samples[mode][mem_i][s][round] = t[s + 1] - t[s];
	samples[mode][mem_i][NR_STEPS][round] = t[NR_STEPS] - t[0];
	part_samples[mode][mem_i][0][round] = plan->times.open;
	part_samples[mode][mem_i][1][round] = plan->times.load;
	part_samples[mode][mem_i][2][round] = plan->times.reloc;
	part_samples[mode][mem_i][3][round] = plan->times.initrd;
	vmm_boot_plan_free(plan);
	gm_mem_destroy(mem);
}

/* The baseline: read() @path into fresh 2 MiB-aligned THP memory. */
static double read_baseline(const char *path)
{
	struct stat st;
	size_t len, done = 0;
	char *map, *p;
	double t0, t1;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		die("baseline open", NULL);
	len = (size_t)st.st_size;
	map = mmap(NULL, len + (2 << 20), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		die("baseline mmap", NULL);
	p = (char *)(((uintptr_t)map + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	madvise(p, len, MADV_HUGEPAGE);
	t0 = now_ms();
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	t1 = now_ms();
	munmap(map, len + (2 << 20));
	close(fd);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-setup-XXXXXX", cache[64], initrd[64], vmlinux[512];
	const char *kernel = argc > 1 ? argv[1] : NULL;
	int rounds = argc > 2 ? atoi(argv[2]) : 9;
	struct gm_error e = { 0 };
	glob_t g = { 0 };
	FILE *f;

	if (!kernel) {
		if (glob("/boot/vmlinuz-*", 0, NULL, &g) || !g.gl_pathc) {
			printf("bench-setup: no /boot/vmlinuz-*: nothing to measure\n");
			return 0;
		}
		kernel = g.gl_pathv[g.gl_pathc - 1];
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench-setup [KERNEL] [ROUNDS 1-%d]\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	f = fopen(initrd, "w");		/* a 2 MiB initramfs-sized file */
	if (!f || ftruncate(fileno(f), 2 << 20))
		die("initrd", NULL);
	fclose(f);

	/* fill the cache (the cold decompression, timed apart), find the entry */
	{
		double t0 = now_ms();
		struct stat st;

		setup_once(AUTO, 0, 0, kernel, NULL, initrd, cache);
		printf("bench-setup: %s; the first setup decompresses it: %.0f ms\n",
		       kernel, now_ms() - t0);
		snprintf(vmlinux, sizeof(vmlinux), "ls %s/*.elf", cache);
		f = popen(vmlinux, "r");
		if (!f || !fgets(vmlinux, sizeof(vmlinux), f))
			die("no cache entry", NULL);
		pclose(f);
		vmlinux[strcspn(vmlinux, "\n")] = '\0';
		if (stat(vmlinux, &st))
			die("cache entry", NULL);
		printf("bench-setup: decompressed kernel %lld bytes; %d rounds, host side only (no KVM), medians in ms\n",
		       (long long)st.st_size, rounds);
	}
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < 2; m++)
			for (int mode = 0; mode < NR_MODES; mode++)
				setup_once(mode, m, r, kernel, vmlinux, initrd, cache);
		base_samples[r] = read_baseline(vmlinux);
	}

	printf("%-8s %5s", "kernel", "mem");
	for (int s = 0; s < NR_STEPS; s++)
		printf(" %8s", step_name[s]);
	printf(" %8s %8s\n", "total", "cpu");
	for (int mode = 0; mode < NR_MODES; mode++)
		for (int m = 0; m < 2; m++) {
			printf("%-8s %5s", mode_name[mode], mem_name[m]);
			for (int s = 0; s <= NR_STEPS + 1; s++)
				printf(" %8.2f", bench_median(samples[mode][m][s], rounds));
			printf("\n");
		}
	printf("the place step's parts, medians in ms:\n%-8s %5s %8s %8s %8s %8s\n",
	       "kernel", "mem", "open", "load", "reloc", "initrd");
	for (int mode = 0; mode < NR_MODES; mode++)
		for (int m = 0; m < 2; m++) {
			printf("%-8s %5s", mode_name[mode], mem_name[m]);
			for (int i = 0; i < 4; i++)
				printf(" %8.2f", bench_median(part_samples[mode][m][i], rounds));
			printf("\n");
		}
	{
		double base = bench_median(base_samples, rounds);
		double place = bench_median(samples[AUTO][0][PLACE], rounds);

		printf("baseline: read() of the decompressed kernel into fresh guest-like memory %.2f ms; "
		       "auto's place step %.2fx that\n", base, base > 0 ? place / base : 0);
	}
	snprintf(vmlinux, sizeof(vmlinux), "rm -rf %s", dir);
	if (system(vmlinux))
		return 1;
	(void)e;
	globfree(&g);
	return 0;
}
