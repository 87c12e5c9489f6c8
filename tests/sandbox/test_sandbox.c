// SPDX-License-Identifier: MIT
/*
 * test_sandbox - the allowlists of sandbox/ on the host, no KVM: a child
 * fences itself as one kind of thread, then makes calls its list allows
 * (they must return their usual errors: EBADF on descriptor -1) and one it
 * does not (the child must die with status 159 and the one line naming its
 * label and the call). Also the modes and the option parsers.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../check-run.h"
#include "sandbox.h"

enum bad { BAD_NONE, BAD_EXECVE, BAD_SOCKET, BAD_MMAP_EXEC, BAD_IOCTL };

/* The calls @kind makes in normal operation: each must not trap. */
static int allowed_calls(enum sbx_kind kind)
{
	struct timespec ts;
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int futex_word = 0;

	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) ||
	    madvise(p, 1 << 20, MADV_DONTNEED) || munmap(p, 1 << 20))
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) || getpid() <= 0)
		return 2;

	if (syscall(SYS_futex, &futex_word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0) < 0)
		return 3;
	switch (kind) {
	case SBX_VCPU:
		if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
			return 10;
		break;
	case SBX_DEVICE: {
		struct pollfd pf = { .fd = -1 };

		if (poll(&pf, 1, 0) < 0 || fdatasync(-1) != -1 || errno != EBADF ||
		    fallocate(-1, 0, 0, 4096) != -1 || errno != EBADF ||
		    syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) != -1 || errno != EBADF)
			return 11;
		break;
	}
	case SBX_FUSE: {
		struct epoll_event ev;

		if (epoll_wait(-1, &ev, 1, 0) != -1 || errno != EBADF ||
		    close(-1) != -1 || errno != EBADF)
			return 12;
		break;
	}
	case SBX_CONSOLE:
		if (ioctl(-1, KVM_IRQ_LINE, NULL) != -1 || errno != EBADF)
			return 13;
		break;
	case SBX_MAIN:
#ifndef __SANITIZE_ADDRESS__
		/* fork is refused with EPERM, not trapped */
		if (fork() != -1 || errno != EPERM)
			return 14;
#endif
		if (ioctl(-1, TCGETS, NULL) != -1 || errno != EBADF)
			return 15;
		break;
	default:
		break;
	}
	return 0;
}

static void bad_call(enum bad bad)
{
	char *argv[] = { "true", NULL };

	switch (bad) {
	case BAD_EXECVE: execve("/bin/true", argv, argv + 1); break;
	case BAD_SOCKET: (void)!socket(AF_INET, SOCK_STREAM, 0); break;
	case BAD_MMAP_EXEC:
		(void)!mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case BAD_IOCTL: (void)!ioctl(-1, KVM_CREATE_VM, 0); break;
	case BAD_NONE: break;
	}
}

/*
 * Fence a child as @kind under @mode, run its allowed calls, then @bad.
 * Returns its wait status; its stderr in @err.
 */
static int run_child(enum sbx_kind kind, enum sbx_mode mode, enum bad bad,
		     char *err, size_t len)
{
	int pfd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sbx_config c = { .mode = mode };
		struct gm_error e = { 0 };
		int ret;

		dup2(pfd[1], STDERR_FILENO);
		if (sbx_setup(&c, &e))
			_exit(100);
		if (kind == SBX_MAIN) {
			if (sbx_lock_main(&e))
				_exit(101);
		} else {
			sbx_enter(kind, "test-label");
		}
		ret = allowed_calls(kind);
		if (ret)
			_exit(ret);
#ifndef __SANITIZE_ADDRESS__
		/* open fails with EACCES, no trap (glibc's free() may try one) */
		if (mode == SBX_ON &&
		    (open("/proc/sys/vm/overcommit_memory", O_RDONLY) != -1 || errno != EACCES ||
		     openat(AT_FDCWD, "/etc/hostname", O_RDONLY) != -1 || errno != EACCES))
			_exit(20);
#endif
		bad_call(bad);
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], err + got, len - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/*
 * The calls no kind's allowlist has, and the name the trap line gives.
 * ioctl: only the KVM requests a kind uses; KVM_CREATE_VM is none's.
 */
static const struct trap {
	enum bad bad;
	const char *call;
} traps[] = {
	{ BAD_EXECVE, "execve" },
	{ BAD_SOCKET, "socket" },
	{ BAD_MMAP_EXEC, "mmap" },
	{ BAD_IOCTL, "ioctl" },
};
#define NR_TRAPS	(sizeof(traps) / sizeof(traps[0]))

/* Case _i: trap _i / SBX_NR_KINDS in kind _i % SBX_NR_KINDS, under SBX_ON. */
START_TEST(bad_call_traps)
{
	const struct trap *t = &traps[_i / SBX_NR_KINDS];
	enum sbx_kind kind = (enum sbx_kind)(_i % SBX_NR_KINDS);
	char err[512], want[256];
	int st = run_child(kind, SBX_ON, t->bad, err, sizeof(err));

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 159,
		      "%s in %s: status 0x%x, stderr: %s", t->call, sbx_kind_name(kind), st, err);
	snprintf(want, sizeof(want), "kvmem: seccomp: the %s thread called %s (system call ",
		 kind == SBX_MAIN ? "main" : "test-label", t->call);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "stderr: %s", err);
	ck_assert_ptr_nonnull(strstr(err, "), which its allowlist forbids: kvmem stopped\n"));
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);	/* one line */
}
END_TEST

START_TEST(allowed_calls_pass)
{
	char err[512];
	int st = run_child((enum sbx_kind)_i, SBX_ON, BAD_NONE, err, sizeof(err));

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s: status 0x%x, stderr: %s", sbx_kind_name(_i), st, err);
	ck_assert_str_eq(err, "");
}
END_TEST

/*
 * Modes that let a forbidden call through: log (the kernel logs it) and
 * off (no filter). The child runs to its end and says nothing.
 */
static const struct {
	enum sbx_kind kind;
	enum sbx_mode mode;
} lenient[] = {
	{ SBX_DEVICE, SBX_LOG },
	{ SBX_FUSE, SBX_OFF },
};

START_TEST(lenient_mode_lets_calls_through)
{
	char err[512];
	int st = run_child(lenient[_i].kind, lenient[_i].mode, BAD_SOCKET, err, sizeof(err));

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %d: status 0x%x: %s",
		      lenient[_i].mode, st, err);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(parse)
{
	struct sbx_config c = { 0 };
	struct gm_error e = { 0 };
	enum sbx_mode m;

	ck_assert_int_eq(sbx_parse_mode("on", &m, &e), 0);
	ck_assert_int_eq(m, SBX_ON);
	ck_assert_int_eq(sbx_parse_mode("log", &m, &e), 0);
	ck_assert_int_eq(m, SBX_LOG);
	ck_assert_int_eq(sbx_parse_mode("off", &m, &e), 0);
	ck_assert_int_eq(m, SBX_OFF);
	ck_assert_int_eq(sbx_parse_mode("On", &m, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "--seccomp 'On': on, log or off");
	ck_assert_int_eq(sbx_parse_user("no-such-user-here", &c, &e), -EINVAL);
	ck_assert(!c.user);
	if (geteuid() == 0) {
		ck_assert_int_eq(sbx_parse_user("0", &c, &e), 0);
		ck_assert(c.user && c.uid == 0 && c.gid == 0);
	} else {
		ck_assert_int_eq(sbx_parse_user("root", &c, &e), -EPERM);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("kinds");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, allowed_calls_pass, 0, SBX_NR_KINDS);
	tcase_add_loop_test(tc, bad_call_traps, 0, (int)(NR_TRAPS * SBX_NR_KINDS));
	tcase_add_loop_test(tc, lenient_mode_lets_calls_through, 0,
			    sizeof(lenient) / sizeof(lenient[0]));
	tcase_add_test(tc, parse);
	suite_add_tcase(s, tc);
	return check_run(s);
}
