// SPDX-License-Identifier: MIT
/*
 * kvmem-serve.c - `kvmem serve`: the memory service with no guest and no
 * KVM. Lays out the pools, backs them with host memory (so data and memory
 * files hold bytes), retires the early phase, mounts the filesystem and
 * serves it in the foreground until SIGINT or SIGTERM, then unmounts.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fusefs.h"
#include "guestmem.h"
#include "kvmem.h"
#include "sandbox.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmem serve --numa N:SIZE[@HOST][,...] --mount DIR [options]\n"
"\n"
"Mount the kvmem memory filesystem on DIR with no guest; vm/state reads\n"
"\"none\". Runs in the foreground until SIGINT or SIGTERM, then unmounts.\n"
"\n"
"  --numa SPEC      nodes and sizes, e.g. 0:1G,1:1G (\"@H\" binds to host node H)\n"
"  --cma SPEC       contiguous-range areas, e.g. 0:64M,1:32M\n"
"  --chunk SIZE     buddy chunk size, a power of two >= 4K (default 4K)\n"
"  --mount DIR      mount point (created if missing; a stale mount is cleared)\n"
"  --hugepages      back the pools with 2 MiB pages\n"
"  --allow-other    let other users reach the mount (default: private)\n"
"  --foreground     stay in the foreground (the default; there is no daemon mode)\n"
"  --seccomp MODE   on (default): each thread's system call allowlist,\n"
"                   log: only log calls outside it (dmesg), off: none\n"
"  --user USER      serve as USER once mounted (root only)\n"
"  --help           this text\n");
}

enum { OPT_NUMA = 1, OPT_CMA, OPT_CHUNK, OPT_MOUNT, OPT_HUGE, OPT_OTHER,
       OPT_FG, OPT_HELP, OPT_SECCOMP, OPT_USER };

static const struct option opts[] = {
	{ "numa", required_argument, NULL, OPT_NUMA },
	{ "cma", required_argument, NULL, OPT_CMA },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "hugepages", no_argument, NULL, OPT_HUGE },
	{ "allow-other", no_argument, NULL, OPT_OTHER },
	{ "foreground", no_argument, NULL, OPT_FG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ NULL, 0, NULL, 0 },
};


struct serve_args {
	const char *numa, *cma, *chunk, *dir;
	unsigned back_flags, fs_flags;
	struct sbx_config sbx;		/* --seccomp, --user */
};

/* 1 after --help, 0, or -EINVAL with @e filled (bad usage). */
static int parse_args(int argc, char **argv, struct serve_args *a,
		      struct gm_error *e)
{
	struct kvmem_opts p = { argc, argv, opts, "serve", false };
	int c;

	while ((c = kvmem_opt_next(&p, e)) > 0) {
		switch (c) {
		case OPT_NUMA:	a->numa = optarg; break;
		case OPT_CMA:	a->cma = optarg; break;
		case OPT_CHUNK:	a->chunk = optarg; break;
		case OPT_MOUNT:	a->dir = optarg; break;
		case OPT_HUGE:	a->back_flags |= GM_BACK_HUGEPAGES; break;
		case OPT_OTHER:	a->fs_flags |= FS_ALLOW_OTHER; break;
		case OPT_FG:	break;
		case OPT_HELP:	usage(stdout); return 1;
		case OPT_SECCOMP:
			if (sbx_parse_mode(optarg, &a->sbx.mode, e))
				return -EINVAL;
			break;
		case OPT_USER:
			if ((c = sbx_parse_user(optarg, &a->sbx, e)))
				return c;
			break;
		}
	}
	if (c < 0)
		return c;
	if (!a->numa || !a->dir)
		return gm_error_set(e, EINVAL, "--numa and --mount are required (try kvmem serve --help)");
	return 0;
}

/* The pools of @a, backed and retired, ready to serve. */
static int build_mem(const struct serve_args *a, struct gm_mem **out,
		     struct gm_error *e)
{
	struct gm_config cfg;
	struct gm_mem *mem;
	int ret;

	gm_config_init(&cfg);
	if (a->chunk) {
		ret = gm_parse_chunk(a->chunk, &cfg, e);
		if (ret)
			return ret;
	}
	ret = gm_parse_numa(a->numa, &cfg, e);
	if (!ret && a->cma)
		ret = gm_parse_cma(a->cma, &cfg, e);
	if (!ret)
		ret = gm_mem_create(&cfg, &mem, e);
	if (ret)
		return ret;
	ret = gm_mem_back(mem, a->back_flags, e);
	if (!ret)
		ret = gm_mem_retire(mem, e);
	if (ret) {
		gm_mem_destroy(mem);
		return ret;
	}
	*out = mem;
	return 0;
}

int kvmem_cmd_serve(int argc, char **argv)
{
	struct serve_args a = { 0 };
	struct gm_error e = { 0 };
	struct gm_mem *mem;
	struct fs *fs;
	sigset_t set;
	int ret, sig;

	a.sbx = (struct sbx_config){ .mode = SBX_ON, .unmount = true };
	ret = parse_args(argc, argv, &a, &e);
	if (ret) {
		if (ret < 0)
			fprintf(stderr, "kvmem serve: %s\n", e.msg);
		return ret > 0 ? 0 : 2;
	}
	ret = build_mem(&a, &mem, &e);
	if (ret) {
		fprintf(stderr, "kvmem serve: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		return 1;
	}
	/* Block the stop signals before the FUSE threads exist: they inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = sbx_setup(&a.sbx, &e);
	if (!ret)
		ret = fs_mount_flags(mem, a.dir, NULL, a.fs_flags, &fs, &e);
	if (!ret && (ret = sbx_lock_main(&e))) {
		sbx_teardown();
		fs_unmount(fs);
	}
	if (ret) {
		fprintf(stderr, "kvmem serve: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		gm_mem_destroy(mem);
		return 1;
	}
	fprintf(stderr, "kvmem serve: %u node(s) mounted on %s\n",
		gm_mem_nr_nodes(mem), a.dir);
	do {
		ret = sigwait(&set, &sig);
	} while (ret == EINTR);
	sbx_teardown();
	fs_unmount(fs);
	gm_mem_destroy(mem);
	fprintf(stderr, "kvmem serve: %s, unmounted %s\n", strsignal(sig), a.dir);
	return 0;
}
