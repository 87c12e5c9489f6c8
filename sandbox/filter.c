// SPDX-License-Identifier: MIT
/*
 * filter.c - the allowlist of each kind of thread, compiled to BPF with
 * libseccomp (README "Security" lists them with the reason for each).
 *
 * A list holds what the thread calls in normal operation after its setup,
 * found by reading the code and checked by running every suite in `log`
 * mode (tests/guest/scripts/seccomp.sh). Arguments are checked where they
 * are the danger: ioctl() only with the KVM and terminal requests kvmem
 * uses after setup (whatever the descriptor: a thread has no other device
 * open that these numbers would reach), mmap()/mprotect() never with
 * PROT_EXEC (so nothing new becomes code). No list has execve, clone,
 * open/openat, socket, ptrace, mount, setuid...: every thread exists and
 * every file is open before the lists apply.
 *
 * Merge note: the virtio-mem and virtio-balloon devices being added give
 * guest pages back with madvise(MADV_DONTNEED / MADV_REMOVE) and
 * fallocate(FALLOC_FL_PUNCH_HOLE) from their workers, and FUSE workers
 * tell devices of changes by writing an eventfd under a device lock
 * (write, futex): the device and FUSE lists already hold those calls, so
 * those devices need no change here.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define M	(1u << SBX_MAIN)
#define V	(1u << SBX_VCPU)
#define D	(1u << SBX_DEVICE)
#define F	(1u << SBX_FUSE)
#define C	(1u << SBX_CONSOLE)
#define ALL	(M | V | D | F | C)

/* Calls allowed with any arguments, and the kinds that may make them. */
static const struct plain {
	const char *name;
	unsigned kinds;
} plain[] = {
	/* every thread: locks, time, signals, its own exit, and malloc */
	{ "futex", ALL }, { "sched_yield", ALL }, { "nanosleep", ALL },
	{ "clock_nanosleep", ALL }, { "clock_gettime", ALL },
	{ "gettimeofday", ALL }, { "getpid", ALL }, { "gettid", ALL },
	{ "getuid", ALL }, { "geteuid", ALL }, { "getgid", ALL },
	{ "getegid", ALL },
	{ "rt_sigprocmask", ALL }, { "rt_sigreturn", ALL },
	{ "restart_syscall", ALL }, { "exit", ALL }, { "exit_group", ALL },
	{ "madvise", ALL }, { "munmap", ALL }, { "brk", ALL },
	{ "mremap", ALL },	/* realloc of a large block; keeps the protection */
	{ "write", ALL },	/* eventfds (irqfd, stop, device kicks), stderr */
	{ "read", ALL },	/* eventfds, the terminal, /dev/fuse */
	{ "readv", M | D | F }, { "writev", ALL },
	{ "getrandom", ALL },	/* virtio-rng; glibc's malloc may seed from it */
	/* glibc's qsort() of a large array asks sysinfo() for the physical
	 * memory before it mallocs its buffer (map.svg sorts a node's blocks) */
	{ "sysinfo", ALL },
	/* vm/balloon/reported: how much of what was reported is still released */
	{ "mincore", D | F },
	/* waiting */
	{ "poll", M | D | C }, { "ppoll", M | D | C },
	{ "epoll_wait", F }, { "epoll_pwait", F },
	{ "rt_sigtimedwait", M },	/* kvmem serve waits in sigwait() */
	/* kicking vCPUs out of KVM_RUN (pause, stop: SIGUSR1) */
	{ "tgkill", M | V | F | C },
	/* a disk's I/O: io_uring, and the synchronous fallback */
	{ "io_uring_enter", D }, { "preadv", D }, { "pwritev", D },
	{ "pread64", D }, { "pwrite64", D }, { "fdatasync", D },
	/* giving pages back (discard; virtio-mem/balloon: see the top) */
	{ "fallocate", D | F },
	/* the teardown: joins, closes, unmount with the kept CAP_SYS_ADMIN */
	{ "close", M | F }, { "wait4", M }, { "umount2", M }, { "capget", M },
	{ "capset", M }, { "rt_sigaction", M }, { "sigaltstack", M },
	{ "flock", M }, { "fstat", M }, { "newfstatat", M }, { "lseek", M },
	{ "io_uring_register", M }, { "statfs", M },
};

#ifdef __SANITIZE_ADDRESS__
/*
 * ASan+UBSan builds (test builds, never a fenced product) add the
 * sanitizer runtime's own calls: every thread's alternate signal stack
 * and a report's reading of /proc/self/maps; at exit, in main,
 * LeakSanitizer stops the world: a tracer task (clone without
 * CLONE_THREAD) ptrace()s each thread.
 */
static const struct plain sanitizer[] = {
	{ "sigaltstack", ALL }, { "openat", ALL }, { "open", ALL },
	{ "close", ALL }, { "getdents64", ALL }, { "getdents", ALL },
	{ "newfstatat", ALL },
	{ "fstat", ALL }, { "lseek", ALL }, { "readlink", ALL },
	{ "prctl", ALL }, { "pread64", ALL }, { "getppid", ALL },
	{ "clone", M }, { "ptrace", M }, { "wait4", M }, { "kill", M },
	{ "tgkill", M },
};
#endif

#define KVM_IOCTL(req, kinds)	{ req, kinds, #req }

/* ioctl() requests: the KVM ones kvmem makes after setup, the terminal's. */
static const struct req {
	unsigned long nr;
	unsigned kinds;
	const char *name;
} ioctls[] = {
	KVM_IOCTL(KVM_RUN, V),
	KVM_IOCTL(KVM_GET_REGS, V),		/* the RIP of a fatal exit */
	KVM_IOCTL(KVM_IRQ_LINE, M | V | D | F | C), /* without irqfd; the UART */
	KVM_IOCTL(KVM_IOEVENTFD, M),		/* deassigned at the end */
	KVM_IOCTL(KVM_IRQFD, M),
	KVM_IOCTL(TCGETS, M), KVM_IOCTL(TCSETS, M),	/* the terminal back */
	KVM_IOCTL(TCSETSW, M), KVM_IOCTL(TCSETSF, M),
};

static int add(scmp_filter_ctx ctx, const char *name, unsigned nr_args,
	       const struct scmp_arg_cmp *args, struct gm_error *e)
{
	int nr = seccomp_syscall_resolve_name(name);
	int ret;

	if (nr == __NR_SCMP_ERROR)
		return gm_error_set(e, EINVAL, "seccomp: unknown system call %s", name);
	ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, nr_args, args);
	return ret ? gm_error_set(e, -ret, "seccomp: rule for %s: %s", name,
				  strerror(-ret)) : 0;
}

/*
 * Main refuses to fork with EPERM instead of trapping: the one fork left in
 * a teardown is libfuse's `fusermount3 -u` when kvmem was started by a
 * user who cannot unmount (no CAP_SYS_ADMIN kept): it then fails quietly
 * and the mount is left for the next start to clear, as after kill -9.
 * (Sanitizer builds let LeakSanitizer clone: there only clone3 fails.)
 */
/*
 * Every kind's open() and openat() fail with EACCES instead of trapping:
 * glibc's free() opens /proc/sys/vm/overcommit_memory the first time it
 * shrinks a thread arena's heap (seen in main's teardown after 10,000
 * allocations and 5,000 frees) and copes with the failure (it then never
 * shrinks). No file is opened either way. Sanitizer builds allow both
 * (the runtime reads /proc/self/maps), so nothing is added there.
 */
static int refuse_open(scmp_filter_ctx ctx, struct gm_error *e)
{
#ifndef __SANITIZE_ADDRESS__
	int ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);

	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	return ret ? gm_error_set(e, -ret, "seccomp: rule for open: %s",
				  strerror(-ret)) : 0;
#else
	(void)ctx;
	(void)e;
	return 0;
#endif
}

static int refuse_fork(scmp_filter_ctx ctx, struct gm_error *e)
{
	int ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone3), 0);

#ifndef __SANITIZE_ADDRESS__
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 0);
#endif
	return ret ? gm_error_set(e, -ret, "seccomp: rule for clone: %s",
				  strerror(-ret)) : 0;
}

static int add_rules(scmp_filter_ctx ctx, enum sbx_kind kind, struct gm_error *e)
{
	unsigned bit = 1u << kind;
	/* no PROT_EXEC in mmap's and mprotect's third argument */
	struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(plain) / sizeof(plain[0]); i++)
		if (plain[i].kinds & bit)
			ret = add(ctx, plain[i].name, 0, NULL, e);
#ifdef __SANITIZE_ADDRESS__
	for (size_t i = 0; !ret && i < sizeof(sanitizer) / sizeof(sanitizer[0]); i++)
		if (sanitizer[i].kinds & bit)
			ret = add(ctx, sanitizer[i].name, 0, NULL, e);
#endif
	for (size_t i = 0; !ret && i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		struct scmp_arg_cmp req = SCMP_A1(SCMP_CMP_EQ, ioctls[i].nr);

		if (ioctls[i].kinds & bit)
			ret = add(ctx, "ioctl", 1, &req, e);
	}
	if (!ret && kind == SBX_MAIN)
		ret = refuse_fork(ctx, e);
	if (!ret)
		ret = refuse_open(ctx, e);
	if (!ret)
		ret = add(ctx, "mmap", 1, &noexec, e);
	if (!ret)
		ret = add(ctx, "mprotect", 1, &noexec, e);
	return ret;
}

/* The program libseccomp generated, read back through a memfd. */
static int export(scmp_filter_ctx ctx, struct sbx_prog *p, struct gm_error *e)
{
	int fd = memfd_create("kvmem-seccomp", MFD_CLOEXEC);
	off_t len;
	int ret;

	if (fd < 0)
		return gm_error_set(e, errno, "seccomp: memfd: %s", strerror(errno));
	ret = seccomp_export_bpf(ctx, fd);
	if (ret) {
		ret = gm_error_set(e, -ret, "seccomp: export: %s", strerror(-ret));
		goto out;
	}
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = gm_error_set(e, E2BIG, "seccomp: a filter of %lld bytes",
				   (long long)len);
		goto out;
	}
	p->insn = malloc((size_t)len);
	if (!p->insn) {
		ret = gm_error_set(e, ENOMEM, "seccomp: out of memory");
		goto out;
	}
	if (pread(fd, p->insn, (size_t)len, 0) != len) {
		free(p->insn);
		p->insn = NULL;
		ret = gm_error_set(e, EIO, "seccomp: filter read back short");
		goto out;
	}
	p->len = (unsigned short)(len / sizeof(struct sock_filter));
	ret = 0;
out:
	close(fd);
	return ret;
}

int sbx_compile(enum sbx_kind kind, enum sbx_mode mode, struct sbx_prog *p,
		struct gm_error *e)
{
	scmp_filter_ctx ctx;
	int ret;

	ctx = seccomp_init(mode == SBX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return gm_error_set(e, ENOMEM, "seccomp: init failed");
	/* A call from another ABI (int 0x80, x32) is refused outright. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (ret)
		ret = gm_error_set(e, -ret, "seccomp: attribute: %s", strerror(-ret));
	if (!ret)
		ret = add_rules(ctx, kind, e);
	if (!ret)
		ret = export(ctx, p, e);
	seccomp_release(ctx);
	return ret;
}
