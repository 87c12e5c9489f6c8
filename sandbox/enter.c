// SPDX-License-Identifier: MIT
/*
 * enter.c - fencing a thread: another user, no capabilities, no new
 * privileges, then its kind's filter; and the one line a violation prints.
 *
 * Everything here acts on the calling thread only (credentials and seccomp
 * filters are per thread in Linux): the raw system calls are used on
 * purpose, since glibc's setresuid() would ask every other thread to
 * change too, through a signal their filters would refuse.
 *
 * A call outside the list, in `on` mode, traps (SECCOMP_RET_TRAP): the
 * SIGSYS handler writes one line naming the thread and the call (the name
 * comes from a table resolved at setup: the handler only formats and
 * writes, it is async-signal-safe) and exits with 128 + SIGSYS, like a
 * kill: the mount goes stale and the next start clears it; disk writes
 * already acknowledged to the guest were flushed; nothing else is kept.
 * In `log` mode the call runs and the kernel logs it (audit type 1326 in
 * dmesg or the audit log): kvmem cannot see a logged call itself, and a
 * trap that "continues" would have to fail the call, changing what the
 * guest gets, which is not what a mode for building lists may do.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define NR_NAMES	512	/* x86-64 system call numbers are below this */

static struct {
	bool armed;
	struct sbx_config c;
	struct sbx_prog prog[SBX_NR_KINDS];
	char *names[NR_NAMES];
	bool kept_admin;
} sbx;

static __thread char label[40] __attribute__((tls_model("initial-exec")));

static const char *const kind_names[SBX_NR_KINDS] = {
	[SBX_MAIN] = "main", [SBX_VCPU] = "vcpu", [SBX_DEVICE] = "device",
	[SBX_FUSE] = "fuse", [SBX_CONSOLE] = "console",
};

const char *sbx_kind_name(enum sbx_kind kind)
{
	return kind < SBX_NR_KINDS ? kind_names[kind] : "?";
}

int sbx_parse_mode(const char *s, enum sbx_mode *mode, struct gm_error *e)
{
	if (!strcmp(s, "on"))
		*mode = SBX_ON;
	else if (!strcmp(s, "log"))
		*mode = SBX_LOG;
	else if (!strcmp(s, "off"))
		*mode = SBX_OFF;
	else
		return gm_error_set(e, EINVAL, "--seccomp '%s': on, log or off", s);
	return 0;
}

int sbx_parse_user(const char *name, struct sbx_config *c, struct gm_error *e)
{
	struct passwd *pw = getpwnam(name);
	char *end;
	unsigned long id;

	if (!pw && *name >= '0' && *name <= '9') {
		errno = 0;
		id = strtoul(name, &end, 10);
		if (!*end && !errno && id < (uid_t)-1)
			pw = getpwuid((uid_t)id);
	}
	if (!pw)
		return gm_error_set(e, EINVAL, "--user %s: no such user", name);
	if (geteuid() != 0)
		return gm_error_set(e, EPERM, "--user %s: only root can run as another user",
				    name);
	c->user = true;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	return 0;
}

/* ---- the violation: one line, then exit (async-signal-safe) ------------- */

static size_t put(char *buf, size_t n, size_t max, const char *s)
{
	while (*s && n < max)
		buf[n++] = *s++;
	return n;
}

static size_t put_num(char *buf, size_t n, size_t max, unsigned long v)
{
	char d[24];
	int i = 0;

	do {
		d[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i && n < max)
		buf[n++] = d[--i];
	return n;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	static int dying;
	char line[256];
	size_t n = 0, max = sizeof(line) - 1;
	unsigned nr = (unsigned)si->si_syscall;

	(void)sig;
	(void)uc;
	/*
	 * Two threads at once (the four FUSE workers, two devices): the first
	 * one speaks and exits; the others wait for it (an exit of theirs
	 * could end the process before the line is written). nanosleep is in
	 * every list.
	 */
	if (__atomic_exchange_n(&dying, 1, __ATOMIC_SEQ_CST)) {
		for (;;) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	n = put(line, n, max, "kvmem: seccomp: the ");
	n = put(line, n, max, label[0] ? label : "unnamed");
	n = put(line, n, max, " thread called ");
	if (nr < NR_NAMES && sbx.names[nr])
		n = put(line, n, max, sbx.names[nr]);
	n = put(line, n, max, " (system call ");
	n = put_num(line, n, max, nr);
	n = put(line, n, max, "), which its allowlist forbids: kvmem stopped\n");
	(void)!write(STDERR_FILENO, line, n);
	_exit(128 + SIGSYS);
}

/* ---- setup ----------------------------------------------------------------- */

int sbx_setup(const struct sbx_config *c, struct gm_error *e)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };
	unsigned k = 0;
	int ret = 0;

	if (sbx.armed)
		return gm_error_set(e, EBUSY, "seccomp: set up twice");
	if (c->mode != SBX_OFF) {
		for (; k < SBX_NR_KINDS; k++) {
			ret = sbx_compile(k, c->mode, &sbx.prog[k], e);
			if (ret)
				goto err;
		}
		for (unsigned nr = 0; nr < NR_NAMES; nr++)
			sbx.names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
									(int)nr);
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL)) {
			ret = gm_error_set(e, errno, "seccomp: SIGSYS: %s", strerror(errno));
			goto err;
		}
	}
	sbx.c = *c;
	sbx.armed = true;
	return 0;
err:
	for (unsigned nr = 0; nr < NR_NAMES; nr++) {
		free(sbx.names[nr]);
		sbx.names[nr] = NULL;
	}
	while (k--) {
		free(sbx.prog[k].insn);
		sbx.prog[k].insn = NULL;
	}
	return ret;
}

/* ---- fencing the calling thread ------------------------------------------- */

/*
 * What main keeps (permitted, not effective) for the unmount at the end:
 * CAP_SYS_ADMIN for umount2(), CAP_DAC_READ_SEARCH to reach the mount
 * point through directories only the invoking user may search (--user).
 * Both below 32: word 0.
 */
#define ADMIN_BIT	(1u << CAP_SYS_ADMIN)
#define KEEP_BITS	(ADMIN_BIT | (1u << CAP_DAC_READ_SEARCH))

static bool have_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	return !syscall(SYS_capget, &h, d) && (d[0].permitted & KEEP_BITS) == KEEP_BITS;
}

/* @keep_admin: CAP_SYS_ADMIN stays permitted (not effective). */
static int drop_privileges(bool keep_admin)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	const struct sbx_config *c = &sbx.c;

	if (c->user) {
		if (keep_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			return -errno;
		if (syscall(SYS_setgroups, 1, &c->gid) ||
		    syscall(SYS_setresgid, c->gid, c->gid, c->gid) ||
		    syscall(SYS_setresuid, c->uid, c->uid, c->uid))
			return -errno;
		if (keep_admin)
			prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (keep_admin)
		d[0].permitted = KEEP_BITS;
	if (syscall(SYS_capset, &h, d))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

/*
 * SECCOMP_FILTER_FLAG_LOG: a trap is also in the kernel's audit trail
 * (allowed calls never are). SECCOMP_FILTER_FLAG_SPEC_ALLOW: without it the kernel also forces the
 * speculation mitigations meant for a process running untrusted code in
 * its own address space (SSBD, and IBPB/STIBP per task): kvmem runs none
 * (the guest is in its VM, whose mitigations are KVM's), and they cost
 * every context switch: a FUSE read took twice as long (bench-fs seccomp).
 */
static int load(enum sbx_kind kind)
{
	struct sock_fprog fp = { .len = sbx.prog[kind].len,
				 .filter = sbx.prog[kind].insn };

	if (sbx.c.mode == SBX_OFF)
		return 0;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		       SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_LOG,
		       &fp) ? -errno : 0;
}

#ifdef SBX_TEST_HOOK
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
/*
 * Test builds only (meson -Dtest_hooks=true): KVMEM_TEST_SECCOMP=KIND:CALL
 * makes every thread of KIND make CALL (execve, ioctl, mmap-exec; openat, which
 * fails with EACCES under the filters instead of trapping)
 * once its list is loaded, to show what a violation does.
 */
static void test_trip(enum sbx_kind kind)
{
	const char *t = getenv("KVMEM_TEST_SECCOMP");
	size_t n = strlen(sbx_kind_name(kind));
	const char *call;

	if (!t || strncmp(t, sbx_kind_name(kind), n) || t[n] != ':')
		return;
	call = t + n + 1;
	if (!strcmp(call, "openat")) {
		int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
	} else if (!strcmp(call, "execve")) {
		char *argv[] = { "true", NULL };

		execve("/bin/true", argv, argv + 1);
	} else if (!strcmp(call, "ioctl")) {
		(void)!ioctl(-1, KVM_CREATE_VCPU, 0);
	} else if (!strcmp(call, "mmap-exec")) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, 4096);
	}
}
#else
static void test_trip(enum sbx_kind kind) { (void)kind; }
#endif

static int enter(enum sbx_kind kind, const char *name, bool keep_admin)
{
	int ret;

	snprintf(label, sizeof(label), "%s", name);
	ret = drop_privileges(keep_admin);
	if (!ret)
		ret = load(kind);
	if (!ret)
		test_trip(kind);
	return ret;
}

void sbx_enter(enum sbx_kind kind, const char *name)
{
	int ret;

	if (!sbx.armed || kind == SBX_MAIN || kind >= SBX_NR_KINDS)
		return;
	ret = enter(kind, name, false);
	if (ret) {
		/* Fail closed: this thread would run unfenced. */
		fprintf(stderr, "kvmem: seccomp: the %s thread cannot fence itself: %s: kvmem stopped\n",
			name, strerror(-ret));
		_exit(1);
	}
}

int sbx_lock_main(struct gm_error *e)
{
	int ret;

	if (!sbx.armed)
		return 0;
	sbx.kept_admin = sbx.c.unmount && have_admin();
	ret = enter(SBX_MAIN, "main", sbx.kept_admin);
	if (ret)
		return gm_error_set(e, -ret, "seccomp: fencing the main thread: %s",
				    strerror(-ret));
	return 0;
}

void sbx_teardown(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (!sbx.kept_admin)
		return;
	d[0].permitted = d[0].effective = KEEP_BITS;
	(void)!syscall(SYS_capset, &h, d);
}
