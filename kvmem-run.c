// SPDX-License-Identifier: MIT
/*
 * kvmem-run.c - `kvmem run`: a guest whose RAM comes from the node pools.
 *
 * The run is a list of init/exit pairs (kvmtool's util-init, with undo):
 *
 *   mem       gm_mem_create()                      gm_mem_destroy()
 *   back      gm_mem_back()  memfd, MAP_NORESERVE, hugepages, mbind
 *   place     vmm_linux_place() or the --flat load   vmm_boot_plan_free()
 *   retire    gm_mem_retire()  early ranges reserved, CMA areas carved
 *   ram       "ramN" per node: the node's buddy minus --headroom, noclear
 *   finish    vmm_linux_finish()  e820 and ACPI tables
 *   vm        vmm_create()  /dev/kvm, irqchip, PIT  vmm_destroy()
 *   slots     vmm_map_mem()  every node range is a memory slot
 *   power     vmm_power_init()                      vmm_power_exit()
 *   console   vmm_console_open()                    vmm_console_close()
 *   alloc     the --alloc lines (gm_cmd_exec)
 *   mount     fs_mount() with the vm/ callbacks       fs_unmount()
 *   vcpus     vmm_vcpus_start()                     vmm_vcpus_join()
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
 * exits to userspace and its busiest ports (vcpu.c).
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
#include <unistd.h>

#include "boot.h"
#include "fusefs.h"
#include "guestmem.h"
#include "kvmem-run.h"
#include "kvmem.h"
#include "vmm.h"


/* ---- options ------------------------------------------------------------ */

static const char usage_text[] =
"usage: kvmem run (--kernel bzImage [--initrd FILE] [--cmdline STR] | --flat FILE@ADDR)\n"
"                 [--cpus N] [--numa 0:512M[@HOSTNODE],1:512M | --mem SIZE]\n"
"                 [--cma 0:64M] [--hugepages] [--console stdio|FILE]\n"
"                 [--mount DIR] [--name NAME] [--alloc 'LINE']... [--headroom N:SIZE,...]\n"
"\n"
"  --kernel FILE      Linux bzImage (x86 64-bit boot protocol)\n"
"  --initrd FILE      initramfs loaded below the kernel's initrd_addr_max\n"
"  --cmdline STR      kernel command line (default \"" RUN_DEFAULT_CMDLINE "\")\n"
"  --flat FILE@ADDR   raw 64-bit binary entered at ADDR (see vmm/flat.c)\n"
"  --cpus N           vCPUs, 1..256 (default 1); vCPU i on node i*nodes/N\n"
"  --numa SPEC        one pool per node, NODE:SIZE[@HOSTNODE],...\n"
"  --mem SIZE         one node of SIZE (default 256M)\n"
"  --cma SPEC         contiguous-range area per node, NODE:SIZE,...\n"
"  --headroom SPEC    pool memory left out of guest RAM, NODE:SIZE,...\n"
"  --hugepages        back the pools with 2 MiB pages\n"
"  --console WHERE    stdio (default; Ctrl-A x quits) or an output file\n"
"  --mount DIR        serve the memory filesystem on DIR while running\n"
"  --name NAME        the guest's name in vm/name (default kvmem-PID)\n"
"  --alloc LINE       a control-grammar line run after boot setup\n";

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_FLAT, OPT_CPUS,
       OPT_NUMA, OPT_MEM, OPT_CMA, OPT_HUGE, OPT_CONSOLE, OPT_MOUNT,
       OPT_ALLOC, OPT_HEADROOM, OPT_NAME, OPT_HELP };

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "flat", required_argument, NULL, OPT_FLAT },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "numa", required_argument, NULL, OPT_NUMA },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "cma", required_argument, NULL, OPT_CMA },
	{ "hugepages", no_argument, NULL, OPT_HUGE },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "alloc", required_argument, NULL, OPT_ALLOC },
	{ "headroom", required_argument, NULL, OPT_HEADROOM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int opt_err(struct gm_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int opt_err(struct gm_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -err;
}

/* Put "WHAT ARG: " before the message a parser left in @e, unless it names WHAT. */
static int prefix_err(struct gm_error *e, int ret, const char *what,
		      const char *arg)
{
	char msg[GM_ERRMSG_MAX];

	if (!strncmp(e->msg, what, strlen(what)))
		return ret;		/* the parser named the option already */
	memcpy(msg, e->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	snprintf(e->msg, sizeof(e->msg), "%s %.60s: %.180s", what, arg, msg);
	return ret;
}

static int parse_cpus(const char *s, unsigned *out, struct gm_error *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || !v || v > VMM_MAX_CPUS)
		return opt_err(e, EINVAL, "--cpus %s: must be a number from 1 to %d",
			       s, VMM_MAX_CPUS);
	*out = v;
	return 0;
}

/* "N:SIZE,N:SIZE": the memory of each node kept out of guest RAM. */
static int parse_headroom(const char *s, struct run_opts *o, struct gm_error *e)
{
	uint64_t h[GM_MAX_NODES] = { 0 };
	char *copy = strdup(s), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return opt_err(e, ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), *end;
		unsigned long node;
		uint64_t size;

		errno = 0;
		node = colon ? strtoul(tok, &end, 10) : 0;
		if (!colon || end != colon || errno || colon == tok ||
		    gm_parse_size(colon + 1, &size)) {
			ret = opt_err(e, EINVAL, "--headroom %s: expected NODE:SIZE,...", s);
			goto out;
		}
		if (node >= o->cfg.nr_nodes || size > o->cfg.node[node].size) {
			ret = opt_err(e, EINVAL, "--headroom %s: node %lu has no %s of memory",
				      s, node, colon + 1);
			goto out;
		}
		h[node] = size;
	}
	memcpy(o->headroom, h, sizeof(h));
out:
	free(copy);
	return ret;
}

/*
 * Messages quote the user's values; a newline, CR or escape in one would
 * break the one-line rule (or drive the terminal). Show them as '?'.
 */
static void printable_msg(struct gm_error *e)
{
	for (char *p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static int parse_opts(int argc, char **argv, struct run_opts *o,
		      struct gm_error *e);

int run_opts_parse(int argc, char **argv, struct run_opts *o,
		   struct gm_error *e)
{
	int ret = parse_opts(argc, argv, o, e);

	if (ret < 0)
		printable_msg(e);
	return ret;
}

static int parse_opts(int argc, char **argv, struct run_opts *o,
		      struct gm_error *e)
{
	const char *numa = NULL, *mem = NULL, *cma = NULL, *headroom = NULL;
	int c, ret;

	memset(o, 0, sizeof(*o));
	gm_config_init(&o->cfg);
	o->nr_cpus = 1;
	o->console = "stdio";
	e->err = 0;
	e->msg[0] = '\0';

	optind = 0;		/* GNU: full re-initialisation for each parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_CMDLINE: o->cmdline = optarg; break;
		case OPT_FLAT:
			free(o->flat_path);
			o->flat_path = NULL;
			if (vmm_flat_parse(optarg, &o->flat_path, &o->flat_addr))
				return opt_err(e, EINVAL, "--flat %s: expected FILE@ADDR", optarg);
			break;
		case OPT_CPUS:
			ret = parse_cpus(optarg, &o->nr_cpus, e);
			if (ret)
				return ret;
			break;
		case OPT_NUMA: numa = optarg; break;
		case OPT_MEM: mem = optarg; break;
		case OPT_CMA: cma = optarg; break;
		case OPT_HUGE: o->hugepages = true; break;
		case OPT_CONSOLE:
			if (!*optarg)
				return opt_err(e, EINVAL, "--console: expected stdio or a file");
			o->console = optarg;
			break;
		case OPT_MOUNT: o->mount = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_ALLOC:
			if (o->nr_alloc == RUN_MAX_ALLOCS)
				return opt_err(e, EINVAL, "--alloc: at most %d lines", RUN_MAX_ALLOCS);
			o->alloc[o->nr_alloc++] = optarg;
			break;
		case OPT_HEADROOM: headroom = optarg; break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 1;
		case ':':
			return opt_err(e, EINVAL, "%s: needs a value", argv[optind - 1]);
		default:
			return opt_err(e, EINVAL, "unknown option '%s' (try kvmem run --help)",
				       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return opt_err(e, EINVAL, "unexpected argument '%s' (try kvmem run --help)",
			       argv[optind]);
	if (!o->kernel == !o->flat_path)
		return opt_err(e, EINVAL, "give either --kernel or --flat (try kvmem run --help)");
	if (o->flat_path && (o->initrd || o->cmdline))
		return opt_err(e, EINVAL, "--initrd and --cmdline need --kernel, not --flat");
	if (numa && mem)
		return opt_err(e, EINVAL, "give --numa or --mem, not both");
	if (mem) {
		uint64_t size;

		ret = gm_parse_size(mem, &size);
		if (ret || !size || size % GM_DEFAULT_CHUNK)
			return opt_err(e, EINVAL, "--mem %s: expected a size, a multiple of 4K", mem);
		o->cfg.nr_nodes = 1;
		o->cfg.node[0].size = size;
	} else if (numa) {
		ret = gm_parse_numa(numa, &o->cfg, e);
		if (ret)
			return prefix_err(e, ret, "--numa", numa);
	} else {
		o->cfg.nr_nodes = 1;
		o->cfg.node[0].size = RUN_DEFAULT_MEM;
	}
	if (cma) {
		ret = gm_parse_cma(cma, &o->cfg, e);
		if (ret)
			return prefix_err(e, ret, "--cma", cma);
	}
	if (headroom) {
		ret = parse_headroom(headroom, o, e);
		if (ret)
			return ret;
	}
	if (o->kernel && !o->cmdline)
		o->cmdline = RUN_DEFAULT_CMDLINE;
	return 0;
}

void run_opts_release(struct run_opts *o)
{
	free(o->flat_path);
	o->flat_path = NULL;
}

/* ---- the run: init/exit pairs -------------------------------------------- */

struct run {
	struct run_opts *o;
	char name[64];
	struct gm_mem *mem;
	struct vmm_boot_plan *plan;
	struct vmm_entry entry;
	struct vmm_topology topo;
	uint64_t ram_bytes;
	struct vmm *vm;
	struct vmm_power *power;
	struct vmm_console *console;
	struct fs *fs;
	struct fs_vm fs_vm;
};

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
		need += (r->o->cfg.node[n].size + (2ULL << 20) - 1) >> 21;
	if (!f)
		return opt_err(e, ENODEV, "--hugepages: no 2 MiB huge pages on this host (%s)",
			       HUGEPAGE_FREE);
	if (fscanf(f, "%" SCNu64, &have) != 1)
		have = 0;
	fclose(f);
	if (have < need)
		return opt_err(e, ENOMEM,
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

static int step_place(struct run *r, struct gm_error *e)
{
	struct vmm_linux_args a = {
		.kernel = r->o->kernel, .initrd = r->o->initrd,
		.cmdline = r->o->cmdline,
	};

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
 * (fresh memfd pages are zero).
 */
static int step_ram(struct run *r, struct gm_error *e)
{
	for (unsigned n = 0; n < r->o->cfg.nr_nodes; n++) {
		struct gm_node_stat st;
		struct gm_request req;
		int ret;

		ret = gm_node_stat(r->mem, n, &st);
		if (ret)
			return opt_err(e, -ret, "node %u: %s", n, strerror(-ret));
		if (r->o->headroom[n] >= st.avail)
			return opt_err(e, ENOSPC,
				       "node %u: --headroom 0x%" PRIx64 " leaves no guest RAM (0x%" PRIx64 " available)",
				       n, r->o->headroom[n], st.avail);
		gm_request_init(&req);
		snprintf(req.name, sizeof(req.name), "ram%u", n);
		req.node = n;
		req.size = (st.avail - r->o->headroom[n]) & ~(gm_mem_chunk_size(r->mem) - 1);
		req.mode = GM_MODE_RANGE;
		req.range_start = st.start;
		req.range_end = st.end;
		req.flags = GM_F_NOCLEAR;
		ret = gm_alloc(r->mem, &req, NULL, e);
		if (ret)
			return ret;
		r->ram_bytes += req.size;
	}
	return 0;
}

static int step_finish(struct run *r, struct gm_error *e)
{
	unsigned cpus = r->o->nr_cpus, nodes = r->o->cfg.nr_nodes;

	r->topo.nr_cpus = cpus;
	r->topo.nr_nodes = nodes;
	for (unsigned i = 0; i < cpus; i++)
		r->topo.cpu_node[i] = (uint64_t)i * nodes / cpus;
	if (r->o->flat_path)
		return 0;
	return vmm_linux_finish(r->mem, r->plan, &r->topo, &r->entry, e);
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

	return ret ? opt_err(e, -ret, "power ports: %s", strerror(-ret)) : 0;
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

static int step_alloc(struct run *r, struct gm_error *e)
{
	char out[1024];

	for (unsigned i = 0; i < r->o->nr_alloc; i++) {
		int ret = gm_cmd_exec(r->mem, r->o->alloc[i], out, sizeof(out));

		fprintf(stderr, "kvmem run: --alloc: %s", out);
		if (ret) {
			out[strcspn(out, "\n")] = '\0';
			return opt_err(e, -ret, "--alloc '%s': %s", r->o->alloc[i], out);
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

		if (!vmm_e820_build(r->mem, -1, &m, &err))
			for (unsigned i = 0; i < m.nr; i++)
				fprintf(f, "0x%016" PRIx64 " 0x%016" PRIx64 " %s\n",
					m.e[i].addr, m.e[i].size,
					m.e[i].type < 4 ? type[m.e[i].type] : "?");
		vmm_e820_release(&m);
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
	if (!r->o->mount)
		return 0;
	r->fs_vm = (struct fs_vm){ .opaque = r, .show = vm_show, .store = vm_store };
	return fs_mount(r->mem, r->o->mount, &r->fs_vm, &r->fs, e);
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
	{ "alloc", step_alloc, NULL },
	{ "mount", step_mount, unstep_mount },
	{ "vcpus", step_vcpus, unstep_vcpus },
};

#define NR_STEPS (sizeof(steps) / sizeof(steps[0]))

static void unwind(struct run *r, unsigned done)
{
	while (done--)
		if (steps[done].exit)
			steps[done].exit(r);
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
	char reason[256] = "";
	struct gm_error e = { 0 };
	sigset_t sigs, old;
	unsigned done;
	int ret, sfd, sig, status = 1;

	ret = run_opts_parse(argc, argv, &o, &e);
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

	for (done = 0; done < NR_STEPS; done++) {
		ret = steps[done].init(&r, &e);
		if (ret)
			break;
	}
	if (done < NR_STEPS) {
		unwind(&r, done);
		printable_msg(&e);
		fprintf(stderr, "kvmem run: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		goto out_sfd;
	}

	sig = wait_vm(&r, sfd);
	if (sig) {
		snprintf(reason, sizeof(reason), "stopped by %s", strsignal(sig));
		vmm_stop(r.vm, 128 + sig, reason);
	}
	vmm_stopped(r.vm, &status, reason, sizeof(reason));
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
