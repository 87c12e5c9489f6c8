// SPDX-License-Identifier: MIT
/*
 * kvmem-opts.c - the one way kvmem's subcommands read their options:
 * getopt_long() set up identically for `run`, `serve` and `replay` (long
 * options only, parsing stops at the first non-option, getopt prints
 * nothing), every mistake a one-line message in a struct gm_error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "kvmem.h"

int kvmem_opt_next(struct kvmem_opts *p, struct gm_error *e)
{
	int c;

	if (!p->started) {
		optind = 0;	/* GNU: a full reset, so a second parse starts afresh */
		opterr = 0;
		p->started = true;
	}
	c = getopt_long(p->argc, p->argv, "+:", p->opts, NULL);
	switch (c) {
	case -1:
		if (optind < p->argc)
			return gm_error_set(e, EINVAL, "unexpected argument '%s' (try kvmem %s --help)",
					    p->argv[optind], p->cmd);
		return 0;
	case ':':
		return gm_error_set(e, EINVAL, "%s: needs a value", p->argv[optind - 1]);
	case '?':
		return gm_error_set(e, EINVAL, "unknown option '%s' (try kvmem %s --help)",
				    p->argv[optind - 1], p->cmd);
	default:
		return c;
	}
}
