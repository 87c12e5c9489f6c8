// SPDX-License-Identifier: MIT
/*
 * bench-kvm-floor - what KVM itself costs a VMM's setup: the ioctls kvmem's
 * setup makes, and nothing else (no guest memory touched, no kernel
 * loaded, no kvmem code), so that "kvmem's setup minus KVM's floor" is
 * kvmem's own cost.
 *
 * Usage: bench-kvm-floor [ROUNDS]   (default 9, 1-51)
 *
 * One round builds and tears down a VM for a 256 MiB and a 64 GiB guest,
 * the sequence of kvmem's vm, slots and vcpus steps (vmm/kvm.c, vcpu.c):
 *   open     open /dev/kvm, KVM_GET_API_VERSION, the capability checks
 *   vm       KVM_CREATE_VM, identity map and TSS addresses, KVM_CREATE_IRQCHIP,
 *            KVM_CREATE_PIT2, KVM_GET_VCPU_MMAP_SIZE
 *   mmap     the guest's RAM: anonymous, MAP_NORESERVE, MADV_HUGEPAGE (untouched)
 *   slots    KVM_SET_USER_MEMORY_REGION: below the 3 GiB hole and above 4 GiB
 *   vcpu     KVM_CREATE_VCPU, mmap of kvm_run
 *   cpuid    KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2
 *   state    KVM_SET_FPU, KVM_SET_MSRS, KVM_GET/SET_LAPIC, KVM_GET/SET_SREGS, KVM_SET_REGS
 *   thread   pthread_create of a thread that returns, and its join
 * and prints per size the median of each phase and of their sum in ms.
 * Needs /dev/kvm (tests/nested/with-kvm runs it nested); without it, it
 * says so and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

#define MAX_ROUNDS	51
#define HOLE_START	0xC0000000ULL
#define HIGH_START	0x100000000ULL
#define CPUID_MAX	128

enum { OPEN, VM, MMAP, SLOTS, VCPU, CPUID, STATE, THREAD, NR_PHASES };
static const char *const phase_name[NR_PHASES] = {
	"open", "vm", "mmap", "slots", "vcpu", "cpuid", "state", "thread",
};
static const unsigned long long mem_size[2] = { 256ULL << 20, 64ULL << 30 };
static const char *const mem_name[2] = { "256M", "64G" };
static double samples[2][NR_PHASES + 1][MAX_ROUNDS];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-kvm-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *nothing(void *arg)
{
	return arg;
}

static void slot(int vm, unsigned id, unsigned long long gpa,
		 unsigned long long size, char *hva)
{
	struct kvm_userspace_memory_region m = {
		.slot = id, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (unsigned long long)(uintptr_t)hva,
	};

	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &m) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
}

/* One VM of @mem_i's size, its phases timed into samples[mem_i][*][round]. */
static void floor_once(int mem_i, int round)
{
	static const int caps[] = {
		KVM_CAP_USER_MEMORY, KVM_CAP_IRQCHIP, KVM_CAP_HLT, KVM_CAP_PIT2,
		KVM_CAP_EXT_CPUID, KVM_CAP_SET_TSS_ADDR,
		KVM_CAP_SET_IDENTITY_MAP_ADDR, KVM_CAP_IMMEDIATE_EXIT,
		KVM_CAP_MAX_VCPUS, KVM_CAP_NR_MEMSLOTS,
	};
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	unsigned long long size = mem_size[mem_i], low, ident = 0xfffbc000ULL;
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[CPUID_MAX];
	} cpuid = { .hdr.nent = CPUID_MAX };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = { .hdr.nmsrs = 1, .e[0] = { .index = 0x1a0, .data = 1 } };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_regs regs = { .rflags = 2 };
	struct kvm_lapic_state lapic;
	struct kvm_sregs sregs;
	double t[NR_PHASES + 1];
	int kvm, vm, vcpu, run_size;
	pthread_t th;
	void *run;
	char *ram;

	t[0] = now_ms();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("/dev/kvm");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		(void)ioctl(kvm, KVM_CHECK_EXTENSION, caps[i]);
	t[1] = now_ms();
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0 ||
	    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0 ||
	    ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		die("KVM_CREATE_VM and its irqchip");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	t[2] = now_ms();
	ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	(void)madvise(ram, size, MADV_HUGEPAGE);
	t[3] = now_ms();
	low = size < HOLE_START ? size : HOLE_START;
	slot(vm, 0, 0, low, ram);
	if (size > low)
		slot(vm, 1, HIGH_START, size - low, ram + low);
	t[4] = now_ms();
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	t[5] = now_ms();
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0)
		die("CPUID");
	t[6] = now_ms();
	if (ioctl(vcpu, KVM_SET_FPU, &fpu) < 0 || ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1 ||
	    ioctl(vcpu, KVM_GET_LAPIC, &lapic) < 0 || ioctl(vcpu, KVM_SET_LAPIC, &lapic) < 0 ||
	    ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("vCPU state");
	t[7] = now_ms();
	errno = pthread_create(&th, NULL, nothing, NULL);
	if (errno || (errno = pthread_join(th, NULL)))
		die("pthread_create");
	t[8] = now_ms();
	for (int p = 0; p < NR_PHASES; p++)
		samples[mem_i][p][round] = t[p + 1] - t[p];
	samples[mem_i][NR_PHASES][round] = t[NR_PHASES] - t[0];
	munmap(run, (size_t)run_size);
	close(vcpu);
	close(vm);
	close(kvm);
	munmap(ram, size);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	int fd;

	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench-kvm-floor [ROUNDS 1-%d]\n", MAX_ROUNDS);
		return 2;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("bench-kvm-floor: /dev/kvm: %s: nothing to measure (tests/nested/with-kvm %s)\n",
		       strerror(errno), argv[0]);
		return 0;
	}
	close(fd);
	for (int r = 0; r < rounds; r++)
		for (int m = 0; m < 2; m++)
			floor_once(m, r);
	printf("bench-kvm-floor: KVM's own setup cost, %d rounds, medians in ms\n", rounds);
	printf("%-5s", "mem");
	for (int p = 0; p < NR_PHASES; p++)
		printf(" %7s", phase_name[p]);
	printf(" %7s\n", "total");
	for (int m = 0; m < 2; m++) {
		printf("%-5s", mem_name[m]);
		for (int p = 0; p <= NR_PHASES; p++)
			printf(" %7.3f", bench_median(samples[m][p], rounds));
		printf("\n");
	}
	return 0;
}
