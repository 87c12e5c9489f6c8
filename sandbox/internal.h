/* SPDX-License-Identifier: MIT */
/* internal.h - what sandbox/'s files share (not for other folders). */
#ifndef KVMEM_SANDBOX_INTERNAL_H
#define KVMEM_SANDBOX_INTERNAL_H

#include <linux/filter.h>

#include "sandbox.h"

/* One kind's compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
struct sbx_prog {
	struct sock_filter *insn;
	unsigned short len;
};

/*
 * sbx_compile() - the BPF program of @kind's allowlist; calls outside it
 * get @mode's action (TRAP for on, LOG for log). 0 or a negative errno
 * with @e filled; @p->insn is malloc'd (the caller keeps it for the process).
 */
int sbx_compile(enum sbx_kind kind, enum sbx_mode mode, struct sbx_prog *p,
		struct gm_error *e);

#endif /* KVMEM_SANDBOX_INTERNAL_H */
