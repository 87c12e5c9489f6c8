/* SPDX-License-Identifier: MIT */
/*
 * kvmem-run.h - `kvmem run`'s options, parsed apart from running them so
 * the unit tests (tests/vmm/test_run_opts.c) can check the parser.
 */
#ifndef KVMEM_RUN_H
#define KVMEM_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "boot.h"
#include "guestmem.h"
#include "vmm.h"

#define RUN_MAX_ALLOCS		64
#define RUN_MAX_DISKS		15	/* every virtio slot (VMM_VIRTIO_MAX_DEVS) */
#define RUN_DEFAULT_MEM		(256ULL << 20)
#define RUN_DEFAULT_CMDLINE	"console=ttyS0"

struct run_domain;

struct run_opts {
	const char *kernel, *initrd, *cmdline;	/* point into argv */
	enum vmm_boot boot;			/* --boot, default auto */
	char *flat_path;			/* --flat FILE@ADDR, malloc'd */
	uint64_t flat_addr;
	unsigned nr_cpus;
	struct gm_config cfg;			/* --numa / --mem, --cma */
	uint64_t headroom[GM_MAX_NODES];	/* --headroom N:SIZE,... */
	bool hugepages;
	const char *console;			/* "stdio" or a file */
	const char *mount;
	const char *name;
	const char *alloc[RUN_MAX_ALLOCS];	/* --alloc LINE, in order */
	unsigned nr_alloc;
	struct run_domain *domain;		/* --domain FILE, owned */
	bool rng;				/* --rng: a virtio entropy device */
	struct vmm_blk_conf disk[RUN_MAX_DISKS];	/* --disk, in order: vda, vdb, ... */
	unsigned nr_disks;
	const char *seccomp;			/* --seccomp on|log|off (kvmem-run.c) */
	const char *user;			/* --user USER */
	/* --hotplug / --hotplug-block are in cfg; --hotplug-requested here */
	uint64_t hotplug_requested[GM_MAX_NODES];
	char *cmdline_buf;			/* cmdline + memhp_default_state, malloc'd */
	bool no_balloon;			/* --balloon off */
	/* taken at parse time for vm/domain.xml, which a fenced FUSE worker
	 * writes (no getcwd or stat there: sandbox/filter.c) */
	char *cwd;				/* malloc'd, NULL if unknown */
	bool disk_block[RUN_MAX_DISKS];		/* --disk i is a block device */
};

/*
 * run_opts_parse() - parse `kvmem run` arguments (@argv[0] is "run") into
 * @o. Returns 0, 1 when --help was asked (usage printed to stdout), or a
 * negative errno with a one-line message in @e (nothing printed). Fills
 * defaults: 1 vCPU, --mem 256M when neither --numa nor --mem is given, the
 * cmdline "console=ttyS0", console stdio; with a --hotplug region and no
 * "memhp_default_state=" in the cmdline, " memhp_default_state=online_movable"
 * is appended (the guest onlines what virtio-mem adds, movable so it can go). --domain FILE reads the domain
 * (run_domain_load(), libvirt in process) and parses its arguments, then
 * the command line's (which may not describe the guest too); o->domain
 * then owns the strings o points to. Release with run_opts_release(), also
 * after an error.
 */
int run_opts_parse(int argc, char **argv, struct run_opts *o,
		   struct gm_error *e);
void run_opts_release(struct run_opts *o);

/*
 * run_printable_msg() - show control bytes of @e's message as '?': messages
 * quote the user's values, and a newline or escape would break the one-line
 * rule (or drive the terminal).
 */
void run_printable_msg(struct gm_error *e);

/* The node kvmem puts vCPU @cpu on: blocks, vCPU i on node i * nodes / cpus. */
static inline unsigned run_cpu_node(unsigned cpu, unsigned nr_cpus,
				    unsigned nr_nodes)
{
	return (unsigned)((uint64_t)cpu * nr_nodes / nr_cpus);
}

/* ---- kvmem-domain.c: libvirt domain XML <-> `kvmem run` options ---------- */

/* A domain XML as `kvmem run` arguments ("run" first, NULL-terminated). */
struct run_domain {
	int argc;
	char **argv;			/* malloc'd strings */
	size_t cap;			/* of argv, gm_grow() */
	char uuid[37];			/* the XML's <uuid>, "" if none */
};

/*
 * run_domain_load() - read the libvirt domain XML @path (domain/: libvirt's
 * validation, kvmem's mapping and host checks), check that its cells put
 * their vCPUs where kvmem does (run_cpu_node()), and turn it into the
 * canonical `kvmem run` arguments in *@out (free with run_domain_free()).
 * The reading happens in a child process (fork, a pipe): libvirt never
 * enters the caller's. Returns 0 or a negative errno with one line in @e
 * naming the element.
 */
int run_domain_load(const char *path, struct run_domain **out,
		    struct gm_error *e);
void run_domain_free(struct run_domain *d);

/*
 * run_domain_xml() - the guest @o describes, named @name, as libvirt domain
 * XML (vm/domain.xml): malloc'd in *@out. Relative paths are made absolute
 * against the current directory. Thread-safe; reads @o only.
 */
int run_domain_xml(const struct run_opts *o, const char *name, char **out,
		   struct gm_error *e);
/*
 * run_domain_xml_now() - run_domain_xml() with each node's virtio-mem
 * <requested> from @requested[GM_MAX_NODES] (what the guest is asked for
 * now, vm/.../hotplug/requested), or --hotplug-requested when NULL.
 */
int run_domain_xml_now(const struct run_opts *o, const uint64_t *requested,
		       const char *name, char **out, struct gm_error *e);

/*
 * kvmem-run-devs.c: the virtio-mmio devices the options ask for.
 * run_devs_plan() - check the options' devices and give each a slot
 * (nothing is created yet); 0 or -errno with @e filled. run_devs_describe()
 * - their DSDT entries into @t. run_devs_start() - create them over @mem
 * and attach them to @vm (before the vCPUs start); on error none is left.
 * run_devs_stop() - destroy the started ones (after the vCPUs are joined).
 * run_devs_release() - stop and free; NULL is a no-op.
 */
struct run_devs;
struct vmm;
struct vmm_topology;
struct fs;
int run_devs_plan(const struct run_opts *o, struct run_devs **out,
		  struct gm_error *e);
void run_devs_describe(const struct run_devs *d, struct vmm_topology *t);
int run_devs_start(struct run_devs *d, struct gm_mem *mem, struct vmm *vm,
		   struct gm_error *e);
void run_devs_stop(struct run_devs *d);
void run_devs_release(struct run_devs *d);
/* run_devs_ram() - the VM's RAM allocations (the balloon covers them); before run_devs_start(). */
void run_devs_ram(struct run_devs *d, const struct vmm_guest_ram *ram);
/*
 * run_devs_hotplug_requested() - overwrite @requested[node] with what each
 * started virtio-mem asks its guest for now; other nodes left as they are.
 * Any thread, while the devices exist.
 */
void run_devs_hotplug_requested(struct run_devs *d, uint64_t requested[GM_MAX_NODES]);
/* run_devs_files() - each device's directory in the mounted @fs (vm/disks/vdX). */
int run_devs_files(struct run_devs *d, struct fs *fs, struct gm_error *e);

#endif /* KVMEM_RUN_H */
