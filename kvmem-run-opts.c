// SPDX-License-Identifier: MIT
/*
 * kvmem-run-opts.c - `kvmem run`'s command line, parsed apart from running
 * it (kvmem-run.c) so that unit tests and the fuzzer check the parser alone.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "guestmem.h"
#include "kvmem-run.h"
#include "kvmem.h"
#include "vmm.h"

/* ---- options ------------------------------------------------------------ */

static const char usage_text[] =
"usage: kvmem run (--kernel FILE [--initrd FILE] [--cmdline STR] [--boot HOW] | --flat FILE@ADDR)\n"
"                 [--cpus N] [--numa 0:512M[@HOSTNODE],1:512M | --mem SIZE]\n"
"                 [--cma 0:64M] [--hugepages] [--console stdio|FILE]\n"
"                 [--mount DIR] [--name NAME] [--alloc 'LINE']... [--headroom N:SIZE,...]\n"
"                 [--rng] [--disk FILE[,ro][,cache=none|writeback][,serial=ID]]...\n"
"                 [--seccomp on|log|off] [--user USER]\n"
"                 [--hotplug N:SIZE,... [--hotplug-block SIZE] [--hotplug-requested N:SIZE,...]]\n"
"                 [--balloon on|off]\n"
"       kvmem run --domain FILE.xml [--console stdio|FILE] [--mount DIR] [--alloc 'LINE']... [--boot HOW]\n"
"\n"
"  --domain FILE.xml  the guest a libvirt domain XML describes (kvmem domain\n"
"                     FILE.xml prints the equivalent options)\n"
"  --kernel FILE      Linux bzImage, or an ELF vmlinux with a PVH entry note\n"
"  --boot HOW         auto (default): direct when the kernel allows it;\n"
"                     direct: decompress a bzImage on the host / PVH vmlinux;\n"
"                     bzimage: the kernel decompresses itself\n"
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
"  --alloc LINE       a control-grammar line run after boot setup\n"
"  --rng              a virtio-rng entropy device (guest: /dev/hwrng)\n"
"  --disk SPEC        a virtio-blk disk on a raw image or block device\n"
"                     (repeatable: the guest's vda, vdb, ... in order)\n"
"  --seccomp MODE     on (default): each thread's system call allowlist,\n"
"                     log: only log calls outside it (dmesg), off: none\n"
"  --user USER        run as USER after setup (root only)\n"
"  --hotplug SPEC     a virtio-mem hot-plug region per node, NODE:SIZE,...\n"
"                     (multiples of 128M, after the node's RAM)\n"
"  --hotplug-block SIZE  virtio-mem block, a power of two 2M..128M (default 2M)\n"
"  --hotplug-requested SPEC  what the guest is asked to plug at boot, NODE:SIZE,...\n"
"  --balloon on|off   the virtio-balloon device (default on): free page\n"
"                     reporting, vm/balloon/target, the guest's statistics\n";

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_FLAT, OPT_CPUS,
       OPT_NUMA, OPT_MEM, OPT_CMA, OPT_HUGE, OPT_CONSOLE, OPT_MOUNT,
       OPT_ALLOC, OPT_HEADROOM, OPT_NAME, OPT_DOMAIN, OPT_HELP, OPT_BOOT,
       OPT_RNG, OPT_DISK, OPT_SECCOMP, OPT_USER, OPT_HOTPLUG,
       OPT_HOTPLUG_BLOCK, OPT_HOTPLUG_REQ, OPT_BALLOON };

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
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "hotplug", required_argument, NULL, OPT_HOTPLUG },
	{ "hotplug-block", required_argument, NULL, OPT_HOTPLUG_BLOCK },
	{ "hotplug-requested", required_argument, NULL, OPT_HOTPLUG_REQ },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
	{ NULL, 0, NULL, 0 },
};

static int parse_cpus(const char *s, unsigned *out, struct gm_error *e)
{
	uint64_t v;

	if (gm_parse_uint(s, VMM_MAX_CPUS, &v) || !v)
		return gm_error_set(e, EINVAL, "--cpus %s: must be a number from 1 to %d",
			       s, VMM_MAX_CPUS);
	*out = (unsigned)v;
	return 0;
}

/*
 * Messages quote the user's values; a newline, CR or escape in one would
 * break the one-line rule (or drive the terminal). Show them as '?'.
 */
void run_printable_msg(struct gm_error *e)
{
	for (char *p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static int parse_opts(int argc, char **argv, struct run_opts *o,
		      struct gm_error *e, bool from_domain);

static int parse_boot(const char *s, enum vmm_boot *out, struct gm_error *e)
{
	static const char *const names[] = {
		[VMM_BOOT_AUTO] = "auto", [VMM_BOOT_DIRECT] = "direct",
		[VMM_BOOT_BZIMAGE] = "bzimage",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum vmm_boot)i;
			return 0;
		}
	return gm_error_set(e, EINVAL, "--boot %s: expected auto, direct or bzimage", s);
}

int run_opts_parse(int argc, char **argv, struct run_opts *o,
		   struct gm_error *e)
{
	int ret = parse_opts(argc, argv, o, e, false);

	if (ret < 0) {
		run_printable_msg(e);
		return ret;
	}
	o->cwd = getcwd(NULL, 0);
	for (unsigned i = 0; i < o->nr_disks; i++) {
		struct stat st;

		o->disk_block[i] = !stat(o->disk[i].path, &st) && S_ISBLK(st.st_mode);
	}
	return ret;
}

/* The options a domain XML stands for: none of them beside --domain. */
static const char *describes_guest(int c)
{
	for (const struct option *l = long_opts; l->name; l++)
		if (l->val == c && c != OPT_CONSOLE && c != OPT_MOUNT && c != OPT_ALLOC &&
		    c != OPT_DOMAIN && c != OPT_HELP && c != OPT_BOOT)
			return l->name;
	return NULL;
}

/*
 * --domain FILE: parse again, the domain's arguments first (kvmem-domain.c)
 * and then the command line's, so --console given there wins.
 */
static int parse_domain(const char *path, int argc, char **argv,
			struct run_opts *o, struct gm_error *e)
{
	struct run_domain *d = NULL;
	char **all;
	int ret;

	run_opts_release(o);
	ret = run_domain_load(path, &d, e);
	if (ret) {
		char msg[GM_ERRMSG_MAX];

		memcpy(msg, e->msg, sizeof(msg));
		return gm_error_set(e, ret, "--domain %.60s: %.180s", path, msg);
	}
	all = calloc((size_t)d->argc + argc, sizeof(*all));
	if (!all) {
		run_domain_free(d);
		return gm_error_set(e, ENOMEM, "out of memory");
	}
	memcpy(all, d->argv, d->argc * sizeof(*all));
	memcpy(all + d->argc, argv + 1, (argc - 1) * sizeof(*all));
	ret = parse_opts(d->argc + argc - 1, all, o, e, true);
	free(all);
	o->domain = d;		/* its strings back o's pointers */
	return ret;
}

/*
 * --hotplug, --hotplug-block, --hotplug-requested, once the nodes are
 * known: a block or a request needs a region; a request is whole blocks
 * and at most the region.
 */
static int parse_hotplug(struct run_opts *o, const char *hotplug,
			 const char *block, const char *req, struct gm_error *e)
{
	uint64_t bl = GM_HOTPLUG_BLOCK;
	int ret;

	if (!hotplug && (block || req))
		return gm_error_set(e, EINVAL, "--hotplug-%s needs --hotplug",
				    block ? "block" : "requested");
	if (!hotplug)
		return 0;
	ret = gm_parse_hotplug(hotplug, &o->cfg, e);
	if (!ret && block)
		ret = gm_parse_hotplug_block(block, &o->cfg, e);
	if (!ret && req)
		ret = gm_parse_node_list("--hotplug-requested", req, &o->cfg,
					 o->hotplug_requested, e);
	if (ret)
		return ret;
	if (block)
		bl = o->cfg.node[0].hotplug_block;
	for (unsigned n = 0; n < o->cfg.nr_nodes; n++) {
		uint64_t r = o->hotplug_requested[n];

		if (r && !o->cfg.node[n].hotplug_size)
			return gm_error_set(e, EINVAL, "--hotplug-requested: node %u has no --hotplug region", n);
		if (r % bl || r > o->cfg.node[n].hotplug_size)
			return gm_error_set(e, EINVAL, "--hotplug-requested: node %u: a multiple of the block (%" PRIu64 "M) up to the region",
					    n, bl >> 20);
	}
	return 0;
}

/* A hot-plug region, a kernel, and no memhp_default_state= yet: add it. */
static int add_memhp(struct run_opts *o, struct gm_error *e)
{
	static const char word[] = "memhp_default_state=";
	bool region = false;

	for (unsigned n = 0; n < o->cfg.nr_nodes; n++)
		region |= o->cfg.node[n].hotplug_size != 0;
	if (!region || !o->kernel || strstr(o->cmdline, word))
		return 0;
	if (asprintf(&o->cmdline_buf, "%s %sonline_movable", o->cmdline, word) < 0) {
		o->cmdline_buf = NULL;
		return gm_error_set(e, ENOMEM, "out of memory");
	}
	o->cmdline = o->cmdline_buf;
	return 0;
}

static int parse_opts(int argc, char **argv, struct run_opts *o,
		      struct gm_error *e, bool from_domain)
{
	const char *numa = NULL, *mem = NULL, *cma = NULL, *headroom = NULL;
	const char *hotplug = NULL, *hp_block = NULL, *hp_req = NULL;
	struct kvmem_opts p = { argc, argv, long_opts, "run", false };
	const char *domain = NULL, *guest_opt = NULL;
	bool boot = false, balloon = false;
	int c, ret;

	memset(o, 0, sizeof(*o));
	gm_config_init(&o->cfg);
	o->nr_cpus = 1;
	o->console = "stdio";
	e->err = 0;
	e->msg[0] = '\0';

	while ((c = kvmem_opt_next(&p, e)) > 0) {
		if (!guest_opt)
			guest_opt = describes_guest(c);
		switch (c) {
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_CMDLINE: o->cmdline = optarg; break;
		case OPT_FLAT:
			free(o->flat_path);
			o->flat_path = NULL;
			ret = vmm_flat_parse(optarg, &o->flat_path, &o->flat_addr, e);
			if (ret)
				return ret;
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
				return gm_error_set(e, EINVAL, "--console: expected stdio or a file");
			o->console = optarg;
			break;
		case OPT_MOUNT: o->mount = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_ALLOC:
			if (o->nr_alloc == RUN_MAX_ALLOCS)
				return gm_error_set(e, EINVAL, "--alloc: at most %d lines", RUN_MAX_ALLOCS);
			o->alloc[o->nr_alloc++] = optarg;
			break;
		case OPT_HEADROOM: headroom = optarg; break;
		case OPT_BOOT:
			ret = parse_boot(optarg, &o->boot, e);
			if (ret)
				return ret;
			boot = true;
			break;
		case OPT_DOMAIN:
			if (domain && !from_domain)
				return gm_error_set(e, EINVAL, "--domain: given twice");
			domain = optarg;
			break;
		case OPT_RNG: o->rng = true; break;
		case OPT_HOTPLUG: hotplug = optarg; break;
		case OPT_HOTPLUG_BLOCK: hp_block = optarg; break;
		case OPT_HOTPLUG_REQ: hp_req = optarg; break;
		case OPT_DISK:
			if (o->nr_disks == RUN_MAX_DISKS)
				return gm_error_set(e, EINVAL, "--disk: at most %d disks", RUN_MAX_DISKS);
			ret = vmm_blk_parse(optarg, &o->disk[o->nr_disks], e);
			o->nr_disks++;		/* released with the others, also on error */
			if (ret)
				return ret;
			break;
		case OPT_SECCOMP: o->seccomp = optarg; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_BALLOON:
			if (balloon)
				return gm_error_set(e, EINVAL, "--balloon: given twice");
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return gm_error_set(e, EINVAL, "--balloon %s: expected on or off", optarg);
			o->no_balloon = !strcmp(optarg, "off");
			balloon = true;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 1;
		}
	}
	if (c < 0)
		return c;
	if (domain && !from_domain) {
		if (guest_opt)
			return gm_error_set(e, EINVAL, "--%s: not with --domain (the domain XML describes the guest)",
					    guest_opt);
		return parse_domain(domain, argc, argv, o, e);
	}
	if (!o->kernel == !o->flat_path)
		return gm_error_set(e, EINVAL, "give either --kernel or --flat (try kvmem run --help)");
	if (o->flat_path && (o->initrd || o->cmdline || boot))
		return gm_error_set(e, EINVAL, "--initrd, --cmdline and --boot need --kernel, not --flat");
	if (numa && mem)
		return gm_error_set(e, EINVAL, "give --numa or --mem, not both");
	if (mem) {
		uint64_t size;

		ret = gm_parse_size(mem, &size);
		if (ret || !size || size % GM_DEFAULT_CHUNK)
			return gm_error_set(e, EINVAL, "--mem %s: expected a size, a multiple of 4K", mem);
		o->cfg.nr_nodes = 1;
		o->cfg.node[0].size = size;
	} else if (numa) {
		ret = gm_parse_numa(numa, &o->cfg, e);
		if (ret)
			return ret;
	} else {
		o->cfg.nr_nodes = 1;
		o->cfg.node[0].size = RUN_DEFAULT_MEM;
	}
	if (cma) {
		ret = gm_parse_cma(cma, &o->cfg, e);
		if (ret)
			return ret;
	}
	if (headroom) {
		ret = gm_parse_node_sizes("--headroom", headroom, &o->cfg,
					  o->headroom, e);
		if (ret)
			return ret;
	}
	ret = parse_hotplug(o, hotplug, hp_block, hp_req, e);
	if (ret)
		return ret;
	if (o->kernel && !o->cmdline)
		o->cmdline = RUN_DEFAULT_CMDLINE;
	return add_memhp(o, e);
}

void run_opts_release(struct run_opts *o)
{
	free(o->cwd);
	o->cwd = NULL;
	free(o->flat_path);
	o->flat_path = NULL;
	free(o->cmdline_buf);
	o->cmdline_buf = NULL;
	run_domain_free(o->domain);
	o->domain = NULL;
	for (unsigned i = 0; i < o->nr_disks; i++)
		vmm_blk_conf_release(&o->disk[i]);
	o->nr_disks = 0;
}
