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

#include "guestmem.h"
#include "kvmem-run.h"
#include "vmm.h"

/* ---- options ------------------------------------------------------------ */

static const char usage_text[] =
"usage: kvmem run (--kernel bzImage [--initrd FILE] [--cmdline STR] | --flat FILE@ADDR)\n"
"                 [--cpus N] [--numa 0:512M[@HOSTNODE],1:512M | --mem SIZE]\n"
"                 [--cma 0:64M] [--hugepages] [--console stdio|FILE]\n"
"                 [--mount DIR] [--name NAME] [--alloc 'LINE']... [--headroom N:SIZE,...]\n"
"                 [--rng] [--disk FILE[,ro][,cache=none|writeback][,serial=ID]]...\n"
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
"  --alloc LINE       a control-grammar line run after boot setup\n"
"  --rng              a virtio-rng entropy device (guest: /dev/hwrng)\n"
"  --disk SPEC        a virtio-blk disk on a raw image or block device\n"
"                     (repeatable: the guest's vda, vdb, ... in order)\n";

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_FLAT, OPT_CPUS,
       OPT_NUMA, OPT_MEM, OPT_CMA, OPT_HUGE, OPT_CONSOLE, OPT_MOUNT,
       OPT_ALLOC, OPT_HEADROOM, OPT_NAME, OPT_HELP, OPT_RNG, OPT_DISK };

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
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ NULL, 0, NULL, 0 },
};

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
		return gm_error_set(e, EINVAL, "--cpus %s: must be a number from 1 to %d",
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
		return gm_error_set(e, ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), *end;
		unsigned long node;
		uint64_t size;

		errno = 0;
		node = colon ? strtoul(tok, &end, 10) : 0;
		if (!colon || end != colon || errno || colon == tok ||
		    gm_parse_size(colon + 1, &size)) {
			ret = gm_error_set(e, EINVAL, "--headroom %s: expected NODE:SIZE,...", s);
			goto out;
		}
		if (node >= o->cfg.nr_nodes || size > o->cfg.node[node].size) {
			ret = gm_error_set(e, EINVAL, "--headroom %s: node %lu has no %s of memory",
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
void run_printable_msg(struct gm_error *e)
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
		run_printable_msg(e);
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
				return gm_error_set(e, EINVAL, "--flat %s: expected FILE@ADDR", optarg);
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
		case OPT_RNG: o->rng = true; break;
		case OPT_DISK:
			if (o->nr_disks == RUN_MAX_DISKS)
				return gm_error_set(e, EINVAL, "--disk: at most %d disks", RUN_MAX_DISKS);
			ret = vmm_blk_parse(optarg, &o->disk[o->nr_disks], e);
			o->nr_disks++;		/* released with the others, also on error */
			if (ret)
				return ret;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 1;
		case ':':
			return gm_error_set(e, EINVAL, "%s: needs a value", argv[optind - 1]);
		default:
			return gm_error_set(e, EINVAL, "unknown option '%s' (try kvmem run --help)",
				       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return gm_error_set(e, EINVAL, "unexpected argument '%s' (try kvmem run --help)",
			       argv[optind]);
	if (!o->kernel == !o->flat_path)
		return gm_error_set(e, EINVAL, "give either --kernel or --flat (try kvmem run --help)");
	if (o->flat_path && (o->initrd || o->cmdline))
		return gm_error_set(e, EINVAL, "--initrd and --cmdline need --kernel, not --flat");
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
	for (unsigned i = 0; i < o->nr_disks; i++)
		vmm_blk_conf_release(&o->disk[i]);
	o->nr_disks = 0;
}
