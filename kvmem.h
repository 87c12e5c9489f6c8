/* SPDX-License-Identifier: MIT */
/* kvmem.h - the subcommands kvmem.c dispatches to, one file each, and the
 * option reader they share (kvmem-opts.c). */
#ifndef KVMEM_H
#define KVMEM_H

#include <stdbool.h>

#include "guestmem.h"

/* Each returns main()'s exit status; prints its own one-line errors. */
int kvmem_cmd_run(int argc, char **argv);
int kvmem_cmd_serve(int argc, char **argv);
int kvmem_cmd_replay(int argc, char **argv);
int kvmem_cmd_domain(int argc, char **argv);

struct option;

/* One parse of a subcommand's arguments (argv[0] is the subcommand). */
struct kvmem_opts {
	int argc;
	char **argv;
	const struct option *opts;	/* long options; every val > 0 */
	const char *cmd;		/* "run", for "try kvmem run --help" */
	bool started;
};

/*
 * kvmem_opt_next() - the next option of @p: its val (> 0; optarg holds its
 * value), 0 once every argument is read, or -EINVAL with @e filled for an
 * unknown option, a missing value or a stray argument. Not thread-safe
 * (getopt's globals).
 */
int kvmem_opt_next(struct kvmem_opts *p, struct gm_error *e);

#endif
