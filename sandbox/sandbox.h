/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - what a kvmem thread may do once its setup is over (sbx_
 * prefix): a seccomp-bpf allowlist per kind of thread, no new privileges,
 * no capabilities, optionally another user (README "Security").
 *
 * Seccomp filters and credentials belong to a thread, not to the process,
 * and a thread inherits its creator's. So main calls sbx_setup() before it
 * creates any thread, every thread calls sbx_enter() itself once its own
 * setup is done (before its loop), and main calls sbx_lock_main() last,
 * after every thread exists: each kind ends with exactly its own list.
 * Without sbx_setup() (unit tests, library users) sbx_enter() does nothing.
 */
#ifndef KVMEM_SANDBOX_H
#define KVMEM_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "guestmem.h"

enum sbx_kind {
	SBX_MAIN,	/* setup, then waits for the end; the teardown */
	SBX_VCPU,	/* KVM_RUN and the exits it handles */
	SBX_DEVICE,	/* a virtio device's worker (queues, io_uring) */
	SBX_FUSE,	/* a FUSE worker: the mount's requests */
	SBX_CONSOLE,	/* the console input thread */
	SBX_NR_KINDS
};

enum sbx_mode {
	SBX_ON,		/* a call outside the list kills kvmem, one line */
	SBX_LOG,	/* allowed, and logged by the kernel (audit, dmesg) */
	SBX_OFF,	/* no filters (privileges are still dropped) */
};

struct sbx_config {
	enum sbx_mode mode;
	bool user;		/* switch every thread to uid/gid */
	uid_t uid;
	gid_t gid;
	bool unmount;		/* main unmounts a FUSE mount at the end */
};

/* "on" "log" "off" into *@mode: 0, or -EINVAL with @e filled. */
int sbx_parse_mode(const char *s, enum sbx_mode *mode, struct gm_error *e);

/*
 * sbx_parse_user() - --user NAME (or a numeric uid) into @c (user, uid,
 * and the user's primary gid). Only root can switch users: -EPERM
 * otherwise. 0 or a negative errno with @e filled.
 */
int sbx_parse_user(const char *name, struct sbx_config *c, struct gm_error *e);

/*
 * sbx_setup() - compile every kind's filter for @c and install the
 * violation handler (SIGSYS). Main thread, once, before any thread that
 * calls sbx_enter() exists. 0 or a negative errno with @e filled; nothing
 * is installed on error.
 */
int sbx_setup(const struct sbx_config *c, struct gm_error *e);

/*
 * sbx_enter() - fence the calling thread as @kind: switch user, drop every
 * capability, no new privileges, load its filter. @label names the thread
 * in a violation message ("vCPU 0", "device vio-blk"; copied). No-op
 * without sbx_setup(). Never fails: a thread that cannot fence itself
 * stops kvmem with one line, as a violation does (fail closed).
 */
void sbx_enter(enum sbx_kind kind, const char *label);

/*
 * sbx_lock_main() - sbx_enter() for the main thread, after every other
 * thread exists; keeps only what the teardown needs (CAP_SYS_ADMIN and
 * CAP_DAC_READ_SEARCH in the permitted set for the unmount, when root and
 * c->unmount). 0, or a
 * negative errno with @e filled (main then stops the run). No-op without
 * sbx_setup().
 */
int sbx_lock_main(struct gm_error *e);

/*
 * sbx_teardown() - main, before it unmounts: make the kept capabilities
 * effective again. No-op when nothing was kept.
 */
void sbx_teardown(void);

/* The kind's name: "main", "vcpu", "device", "fuse", "console". */
const char *sbx_kind_name(enum sbx_kind kind);

#endif /* KVMEM_SANDBOX_H */
