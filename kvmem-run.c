// SPDX-License-Identifier: MIT
/*
 * kvmem-run.c - `kvmem run`: a guest whose RAM comes from the node pools.
 *
 * The run is a list of init/exit pairs (kvmtool's util-init, with undo):
 *
 *   devices   run_devs_plan()  options checked, slots   run_devs_release()
 *   mem       gm_mem_create()                      gm_mem_destroy()
 *   back      gm_mem_back()  anonymous, MAP_NORESERVE, huge pages, mbind
 *   place     vmm_linux_place() or the --flat load   vmm_boot_plan_free()
 *   retire    gm_mem_retire()  early ranges reserved, CMA areas carved
 *   ram       "vm.ramN" per node, owned by the VM: the node's buddy minus
 *             --headroom, noclear; the run keeps the ids (handles)
 *   finish    vmm_linux_finish()  e820 and ACPI tables
 *   vm        vmm_create()  /dev/kvm, irqchip, PIT  vmm_destroy()
 *   slots     vmm_map_mem()  every node range is a memory slot
 *   power     vmm_power_init()                      vmm_power_exit()
 *   console   vmm_console_open()                    vmm_console_close()
 *   virtio    run_devs_start()  devices on the VM   run_devs_stop()
 *   alloc     the --alloc lines (gm_cmd_exec)
 *   mount     fs_mount() with the vm/ callbacks       fs_unmount()
 *   vcpus     vmm_vcpus_start()                     vmm_vcpus_join()
 *
 * Before the steps sbx_setup() compiles the seccomp allowlists; every
 * thread the steps start fences itself before its loop (sandbox.h), and
 * after the last step main fences itself (sbx_lock_main()); before the
 * unwind it takes back what the unmount needs (sbx_teardown()).
 *
 * They run in this order; a failure unwinds the ones that succeeded, in
 * reverse, and so does the end of the run. The guest's CPUs are spread over
 * the nodes in blocks: vCPU i is on node i * nr_nodes / nr_cpus.
 *
 * Exit status: 0 after a guest poweroff or reset, or Ctrl-A x; 1 when the
 * guest dies (the one-line reason names the exit and the RIP) or a setup
 * step fails; 2 for bad options; 128 + N after signal N (SIGINT, SIGTERM,
 * SIGHUP), everything cleaned up in every case.
 *
 * KVMEM_EXIT_STATS=1 in the environment prints, at the end, each vCPU's
 * exits to userspace and its busiest ports (vcpu.c). KVMEM_BOOT_TRACE=1
 * prints, once the vCPUs run, how the kernel boots (vmm_boot_describe())
 * and the setup time before the guest's first instruction, per step, with
 * the wall-clock time of that instant (for benchmarks).
 *
 * Decompressed kernels (--boot auto/direct with a bzImage) are kept in
 * $KVMEM_KERNEL_CACHE, else $XDG_CACHE_HOME/kvmem, else ~/.cache/kvmem
 * (vmm/kcache.c); KVMEM_KERNEL_CACHE=off keeps none.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "fusefs.h"
#include "guestmem.h"
#include "kvmem-run.h"
#include "kvmem.h"
#include "sandbox.h"
#include "vmm.h"

/* ---- the run: init/exit pairs -------------------------------------------- */

struct run {
	struct run_opts *o;
	char name[64];
	struct gm_mem *mem;
	struct vmm_boot_plan *plan;
	struct vmm_entry entry;
	struct vmm_topology topo;
	struct vmm_guest_ram ram;	/* the VM's own RAM allocations, by id */
	uint64_t ram_bytes;
	struct vmm *vm;
	struct vmm_power *power;
	struct vmm_console *console;
	struct run_devs *devs;
	struct fs *fs;
	struct fs_vm fs_vm;
	char cache_dir[4096];		/* "" : no kernel cache */
};

static int step_devices(struct run *r, struct gm_error *e)
{
	return run_devs_plan(r->o, &r->devs, e);
}

static void unstep_devices(struct run *r)
{
	run_devs_release(r->devs);
	r->devs = NULL;
}

static int step_mem(struct run *r, struct gm_error *e)
{
	return gm_mem_create(&r->o->cfg, &r->mem, e);
}

static void unstep_mem(struct run *r)
{
	gm_mem_destroy(r->mem);
	r->mem = NULL;
}

#define HUGEPAGE_FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

/*
 * --hugepages maps the pools MAP_NORESERVE, so a shortage would only show
 * when the guest touches its memory (KVM_RUN fails with EFAULT). Check the
 * free 2 MiB pages up front instead, for a one-line error.
 */
static int check_hugepages(struct run *r, struct gm_error *e)
{
	uint64_t need = 0, have = 0;
	FILE *f = fopen(HUGEPAGE_FREE, "r");

	for (unsigned n = 0; n < r->o->cfg.nr_nodes; n++)
		need += (r->o->cfg.node[n].size + r->o->cfg.node[n].hotplug_size +
			 (2ULL << 20) - 1) >> 21;
	if (!f)
		return gm_error_set(e, ENODEV, "--hugepages: no 2 MiB huge pages on this host (%s)",
			       HUGEPAGE_FREE);
	if (fscanf(f, "%" SCNu64, &have) != 1)
		have = 0;
	fclose(f);
	if (have < need)
		return gm_error_set(e, ENOMEM,
			       "--hugepages: %" PRIu64 " free 2 MiB pages, the pools need %" PRIu64
			       " (raise /proc/sys/vm/nr_hugepages)", have, need);
	return 0;
}

static int step_back(struct run *r, struct gm_error *e)
{
	if (r->o->hugepages) {
		int ret = check_hugepages(r, e);

		if (ret)
			return ret;
	}
	return gm_mem_back(r->mem, r->o->hugepages ? GM_BACK_HUGEPAGES : 0, e);
}

/* Where decompressed kernels are kept: see the top of this file. */
static void cache_dir(char *out, size_t len)
{
	const char *env = getenv("KVMEM_KERNEL_CACHE"), *xdg, *home;

	out[0] = '\0';
	if (env) {
		if (strcmp(env, "off"))
			snprintf(out, len, "%s", env);
	} else if ((xdg = getenv("XDG_CACHE_HOME")) && *xdg == '/') {
		snprintf(out, len, "%s/kvmem", xdg);
	} else if ((home = getenv("HOME")) && *home == '/') {
		snprintf(out, len, "%s/.cache/kvmem", home);
	}
}

static int step_place(struct run *r, struct gm_error *e)
{
	struct vmm_linux_args a = {
		.kernel = r->o->kernel, .initrd = r->o->initrd,
		.cmdline = r->o->cmdline, .boot = r->o->boot,
	};

	cache_dir(r->cache_dir, sizeof(r->cache_dir));
	a.cache_dir = r->cache_dir[0] ? r->cache_dir : NULL;

	if (r->o->flat_path)
		return vmm_flat_load(r->mem, r->o->flat_path, r->o->flat_addr,
				     &r->entry, e);
	return vmm_linux_place(r->mem, &a, &r->plan, e);
}

static void unstep_place(struct run *r)
{
	vmm_boot_plan_free(r->plan);
	r->plan = NULL;
}

static int step_retire(struct run *r, struct gm_error *e)
{
	return gm_mem_retire(r->mem, e);
}

/*
 * Guest RAM: per node, everything the buddy has minus the headroom, lowest
 * addresses first (so the headroom is the top of the node), not cleared
 * (fresh pool pages are zero). Owned by the VM, so the shell can read and
 * write it but never free it; the run keeps the ids and builds the e820
 * map and SRAT from them.
 */
static int step_ram(struct run *r, struct gm_error *e)
{
	for (unsigned n = 0; n < r->o->cfg.nr_nodes; n++) {
		struct gm_alloc_info *info;
		struct gm_node_stat st;
		struct gm_request req;
		int ret;

		ret = gm_node_stat(r->mem, n, &st);
		if (ret)
			return gm_error_set(e, -ret, "node %u: %s", n, strerror(-ret));
		if (r->o->headroom[n] >= st.avail)
			return gm_error_set(e, ENOSPC,
				       "node %u: --headroom 0x%" PRIx64 " leaves no guest RAM (0x%" PRIx64 " available)",
				       n, r->o->headroom[n], st.avail);
		gm_request_init(&req);
		req.owner = GM_OWNER_VM;
		snprintf(req.name, sizeof(req.name), GM_VM_PREFIX "ram%u", n);
		snprintf(req.purpose, sizeof(req.purpose), "guest RAM, node %u", n);
		req.node = n;
		req.size = (st.avail - r->o->headroom[n]) & ~(gm_mem_chunk_size(r->mem) - 1);
		req.mode = GM_MODE_RANGE;
		req.range_start = st.start;
		req.range_end = st.end;
		req.flags = GM_F_NOCLEAR;
		ret = gm_alloc(r->mem, &req, &info, e);
		if (ret)
			return ret;
		r->ram.id[r->ram.nr++] = info->id;
		r->ram_bytes += info->size;
		gm_alloc_info_free(info);
	}
	return 0;
}

static int step_finish(struct run *r, struct gm_error *e)
{
	unsigned cpus = r->o->nr_cpus, nodes = r->o->cfg.nr_nodes;

	r->topo.nr_cpus = cpus;
	r->topo.nr_nodes = nodes;
	for (unsigned i = 0; i < cpus; i++)
		r->topo.cpu_node[i] = run_cpu_node(i, cpus, nodes);
	run_devs_describe(r->devs, &r->topo);
	if (r->o->flat_path)
		return 0;
	return vmm_linux_finish(r->mem, r->plan, &r->topo, &r->ram, &r->entry, e);
}

static int step_vm(struct run *r, struct gm_error *e)
{
	return vmm_create(r->mem, r->o->nr_cpus, &r->vm, e);
}

static void unstep_vm(struct run *r)
{
	vmm_destroy(r->vm);
	r->vm = NULL;
}

static int step_slots(struct run *r, struct gm_error *e)
{
	return vmm_map_mem(r->vm, e);
}

static int step_power(struct run *r, struct gm_error *e)
{
	int ret = vmm_power_init(r->vm, &r->power);

	return ret ? gm_error_set(e, -ret, "power ports: %s", strerror(-ret)) : 0;
}

static void unstep_power(struct run *r)
{
	vmm_power_exit(r->power);
	r->power = NULL;
}

static int step_console(struct run *r, struct gm_error *e)
{
	return vmm_console_open(r->vm, r->o->console, &r->console, e);
}

static void unstep_console(struct run *r)
{
	vmm_console_close(r->console);
	r->console = NULL;
}

static int step_virtio(struct run *r, struct gm_error *e)
{
	run_devs_ram(r->devs, &r->ram);
	return run_devs_start(r->devs, r->mem, r->vm, e);
}

static void unstep_virtio(struct run *r)
{
	run_devs_stop(r->devs);
}

static int step_alloc(struct run *r, struct gm_error *e)
{
	char out[1024];

	for (unsigned i = 0; i < r->o->nr_alloc; i++) {
		int ret = gm_cmd_exec(r->mem, r->o->alloc[i], out, sizeof(out));

		fprintf(stderr, "kvmem run: --alloc: %s", out);
		if (ret) {
			out[strcspn(out, "\n")] = '\0';
			return gm_error_set(e, -ret, "--alloc '%s': %s", r->o->alloc[i], out);
		}
	}
	return 0;
}

/* vm/ files for the filesystem (called from its thread). */
static int vm_show(void *opaque, const char *file, char **out)
{
	struct run *r = opaque;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (!strcmp(file, "name")) {
		fprintf(f, "%s\n", r->name);
	} else if (!strcmp(file, "state")) {
		fprintf(f, "%s\n", vmm_state_name(vmm_state(r->vm)));
	} else if (!strcmp(file, "vcpus")) {
		fprintf(f, "%u\n", r->o->nr_cpus);
	} else if (!strcmp(file, "memory")) {
		fprintf(f, "%" PRIu64 "\n", r->ram_bytes);
	} else if (!strcmp(file, "e820")) {
		static const char *const type[] = { "?", "usable", "reserved", "ACPI" };
		struct vmm_e820 m = { 0 };
		struct gm_error err;

		if (!vmm_e820_build(r->mem, &r->ram, -1, &m, &err))
			for (unsigned i = 0; i < m.nr; i++)
				fprintf(f, "0x%016" PRIx64 " 0x%016" PRIx64 " %s\n",
					m.e[i].addr, m.e[i].size,
					m.e[i].type < 4 ? type[m.e[i].type] : "?");
		vmm_e820_release(&m);
	} else if (!strcmp(file, "domain.xml")) {
		uint64_t req[GM_MAX_NODES];
		struct gm_error err;
		char *xml;
		int ret;

		/* the virtio-mem requests as they are now, not as at boot */
		memcpy(req, r->o->hotplug_requested, sizeof(req));
		run_devs_hotplug_requested(r->devs, req);
		ret = run_domain_xml_now(r->o, req, r->name, &xml, &err);

		if (ret) {
			fclose(f);
			free(buf);
			return ret;
		}
		fputs(xml, f);
		free(xml);
	} else {
		fclose(f);
		free(buf);
		return -ENOENT;
	}
	fclose(f);
	*out = buf;
	return 0;
}

static int vm_store(void *opaque, const char *file, const char *value)
{
	struct run *r = opaque;
	size_t n = strcspn(value, "\n");

	if (strcmp(file, "state"))
		return -EACCES;
	if (n == 5 && !strncmp(value, "pause", 5))
		return vmm_pause(r->vm);
	if (n == 6 && !strncmp(value, "resume", 6))
		return vmm_resume(r->vm);
	if (n == 4 && !strncmp(value, "stop", 4)) {
		vmm_stop(r->vm, 0, "stopped through vm/state");
		return 0;
	}
	return -EINVAL;
}

static int step_mount(struct run *r, struct gm_error *e)
{
	int ret;

	if (!r->o->mount)
		return 0;
	r->fs_vm = (struct fs_vm){ .opaque = r, .show = vm_show, .store = vm_store };
	ret = fs_mount(r->mem, r->o->mount, &r->fs_vm, &r->fs, e);
	if (!ret && (ret = run_devs_files(r->devs, r->fs, e))) {
		fs_unmount(r->fs);
		r->fs = NULL;
	}
	return ret;
}

static void unstep_mount(struct run *r)
{
	if (r->fs)
		fs_unmount(r->fs);
	r->fs = NULL;
}

static int step_vcpus(struct run *r, struct gm_error *e)
{
	return vmm_vcpus_start(r->vm, &r->entry, e);
}

static void unstep_vcpus(struct run *r)
{
	vmm_vcpus_join(r->vm);
}

static const struct run_step {
	const char *name;
	int (*init)(struct run *r, struct gm_error *e);
	void (*exit)(struct run *r);
} steps[] = {
	{ "devices", step_devices, unstep_devices },
	{ "mem", step_mem, unstep_mem },
	{ "back", step_back, NULL },
	{ "place", step_place, unstep_place },
	{ "retire", step_retire, NULL },
	{ "ram", step_ram, NULL },
	{ "finish", step_finish, NULL },
	{ "vm", step_vm, unstep_vm },
	{ "slots", step_slots, NULL },
	{ "power", step_power, unstep_power },
	{ "console", step_console, unstep_console },
	{ "virtio", step_virtio, unstep_virtio },
	{ "alloc", step_alloc, NULL },
	{ "mount", step_mount, unstep_mount },
	{ "vcpus", step_vcpus, unstep_vcpus },
};

#define NR_STEPS (sizeof(steps) / sizeof(steps[0]))

static double now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * KVMEM_BOOT_TRACE: how the kernel boots, and the setup time before the
 * guest's first instruction (@t[i] is when step i ended, @t0 the start).
 */
static void trace_setup(const struct run *r, double t0, const double *t,
			double wall)
{
	char line[1024];
	size_t n;

	if (r->plan) {
		vmm_boot_describe(r->plan, line, sizeof(line));
		fprintf(stderr, "kvmem run: %s\n", line);
	}
	n = (size_t)snprintf(line, sizeof(line), "kvmem run: setup %.3f ms before the first guest instruction (at %.6f s since the epoch):",
			     t[NR_STEPS - 1] - t0, wall / 1e3);
	for (unsigned i = 0; i < NR_STEPS && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %.3f",
				      steps[i].name, t[i] - (i ? t[i - 1] : t0));
	fprintf(stderr, "%s\n", line);
}

static void unwind(struct run *r, unsigned done)
{
	while (done--)
		if (steps[done].exit)
			steps[done].exit(r);
}

/* --seccomp and --user into @c: 0, or -EINVAL/-EPERM with @e filled. */
static int sandbox_config(const struct run_opts *o, struct sbx_config *c,
			  struct gm_error *e)
{
	int ret = 0;

	*c = (struct sbx_config){ .mode = SBX_ON, .unmount = o->mount != NULL };
	if (o->seccomp)
		ret = sbx_parse_mode(o->seccomp, &c->mode, e);
	if (!ret && o->user)
		ret = sbx_parse_user(o->user, c, e);
	return ret;
}

/* Until the VM stops or a signal arrives; returns the signal or 0. */
static int wait_vm(struct run *r, int sfd)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = vmm_wait_fd(r->vm), .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[0].revents && read(sfd, &si, sizeof(si)) == sizeof(si))
			return si.ssi_signo;
		if (p[1].revents)
			return 0;
	}
}

int kvmem_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct run r = { .o = &o };
	struct sbx_config sc;
	char reason[256] = "";
	struct gm_error e = { 0 };
	sigset_t sigs, old;
	double t0, t[NR_STEPS], wall;
	unsigned done;
	int ret, sfd, sig, status = 1;

	ret = run_opts_parse(argc, argv, &o, &e);
	if (!ret)
		ret = sandbox_config(&o, &sc, &e);
	if (ret) {
		run_opts_release(&o);
		if (ret > 0)
			return 0;
		fprintf(stderr, "kvmem run: %s\n", e.msg);
		return 2;
	}
	snprintf(r.name, sizeof(r.name), "%s", o.name ? o.name : "");
	if (!o.name)
		snprintf(r.name, sizeof(r.name), "kvmem-%d", (int)getpid());

	/* Signals end the run through the wait loop, in every thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "kvmem run: signalfd: %s\n", strerror(errno));
		goto out_mask;
	}

	t0 = now_ms(CLOCK_MONOTONIC);
	ret = sbx_setup(&sc, &e);
	if (ret) {
		fprintf(stderr, "kvmem run: %s\n", e.msg);
		goto out_sfd;
	}
	for (done = 0; done < NR_STEPS; done++) {
		ret = steps[done].init(&r, &e);
		if (ret)
			break;
		t[done] = now_ms(CLOCK_MONOTONIC);
	}
	wall = now_ms(CLOCK_REALTIME);
	if (done == NR_STEPS && (ret = sbx_lock_main(&e))) {
		vmm_stop(r.vm, 1, e.msg);
		sbx_teardown();
		unwind(&r, done);
		fprintf(stderr, "kvmem run: %s\n", e.msg);
		goto out_sfd;
	}
	if (done < NR_STEPS) {
		unwind(&r, done);
		run_printable_msg(&e);
		fprintf(stderr, "kvmem run: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		goto out_sfd;
	}

	if (getenv("KVMEM_BOOT_TRACE"))
		trace_setup(&r, t0, t, wall);
	sig = wait_vm(&r, sfd);
	if (sig) {
		snprintf(reason, sizeof(reason), "stopped by %s", strsignal(sig));
		vmm_stop(r.vm, 128 + sig, reason);
	}
	vmm_stopped(r.vm, &status, reason, sizeof(reason));
	sbx_teardown();
	unwind(&r, done);		/* terminal restored before we print */
	if (status)
		fprintf(stderr, "kvmem run: %s\n", reason);
out_sfd:
	close(sfd);
out_mask:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	run_opts_release(&o);
	return status;
}
