// SPDX-License-Identifier: MIT
/*
 * vcpu.c - one thread per vCPU and the run loop.
 *
 * Each thread loops on KVM_RUN; one switch on the exit reason sends port
 * I/O and MMIO to the buses (bus.c), and everything that ends a guest ends
 * the VM through vmm_stop(): poweroff and reset (system events, or the
 * power.c ports) with status 0; a triple fault, a failed entry, an internal
 * KVM error or any unhandled exit with status 1 and a one-line reason that
 * names the exit and the guest RIP. A vCPU never spins on an error.
 *
 * Stopping and pausing kick the threads out of KVM_RUN with
 * run->immediate_exit and SIGUSR1 (a no-op handler, installed without
 * SA_RESTART so KVM_RUN returns EINTR).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "sandbox.h"
#include "vmm-internal.h"

#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_FAST_STRING	0x1

#define X86_CR0_PE		0x00000001ULL
#define X86_CR0_MP		0x00000002ULL
#define X86_CR0_ET		0x00000010ULL
#define X86_CR0_NE		0x00000020ULL
#define X86_CR0_PG		0x80000000ULL
#define X86_CR4_PAE		0x00000020ULL
#define X86_CR4_OSFXSR		0x00000200ULL
#define X86_CR4_OSXMMEXCPT	0x00000400ULL
#define EFER_LME		0x00000100ULL
#define EFER_LMA		0x00000400ULL

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		0x4
#define APIC_MODE_EXTINT	0x7

static void kick_handler(int sig)
{
	(void)sig;
}

static int install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) ? -errno : 0;
}

static uint64_t vcpu_rip(struct vmm_vcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return ~0ULL;
	return regs.rip;
}

static void stop_at(struct vmm_vcpu *v, int status, const char *what)
{
	char reason[VMM_REASON_MAX];

	snprintf(reason, sizeof(reason), "vcpu%u: %s at rip 0x%llx", v->id,
		 what, (unsigned long long)vcpu_rip(v));
	vmm_stop(v->vm, status, reason);
}

/* Port I/O: unknown ports read as 0xff and ignore writes (probes survive). */
static void handle_io(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	if (v->port_exits)
		v->port_exits[run->io.port]++;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (vmm_bus_access(&v->vm->pio, run->io.port, data,
				   run->io.size, write) && !write)
			memset(data, 0xff, run->io.size);
	}
}

static void handle_mmio(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;

	if (vmm_bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			   run->mmio.len, run->mmio.is_write) && !run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

static void handle_system_event(struct vmm_vcpu *v)
{
	char what[64];

	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_stop(v->vm, 0, "guest poweroff (system event)");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_stop(v->vm, 0, "guest reset (system event)");
		break;
	default:
		snprintf(what, sizeof(what), "KVM_EXIT_SYSTEM_EVENT type %u",
			 v->run->system_event.type);
		stop_at(v, 1, what);
		break;
	}
}

/*
 * Replay the coalesced port writes KVM queued since the last exit, oldest
 * first, before the exit itself is handled (so a device sees its writes in
 * guest order). The ring is shared by all vCPUs.
 */
#define RING_ENTRIES ((4096 - sizeof(struct kvm_coalesced_mmio_ring)) / \
		      sizeof(struct kvm_coalesced_mmio))

static void drain_coalesced(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	struct kvm_coalesced_mmio_ring *ring;

	if (!vm->coalesced_page)
		return;
	ring = (void *)((char *)v->run + vm->coalesced_page * 4096L);
	if (__atomic_load_n(&ring->first, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->ring_lock);
	while (ring->first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		struct kvm_coalesced_mmio *c = &ring->coalesced_mmio[ring->first];

		vmm_bus_access(c->pio ? &vm->pio : &vm->mmio, c->phys_addr,
			       c->data, c->len, true);
		__atomic_store_n(&ring->first, (ring->first + 1) % RING_ENTRIES,
				 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->ring_lock);
}

/* One exit: returns false when the loop must end. */
static bool handle_exit(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[128];

	v->exits++;
	v->mmio_exits += run->exit_reason == KVM_EXIT_MMIO;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		return false;
	case KVM_EXIT_SHUTDOWN:
		stop_at(v, 1, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_HLT:
		stop_at(v, 1, "halted with no interrupt source (KVM_EXIT_HLT)");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "KVM_EXIT_FAIL_ENTRY reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		stop_at(v, 1, what);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM_EXIT_INTERNAL_ERROR suberror %u",
			 run->internal.suberror);
		stop_at(v, 1, what);
		return false;
	default:
		snprintf(what, sizeof(what), "unhandled exit reason %u",
			 run->exit_reason);
		stop_at(v, 1, what);
		return false;
	}
}

/* Wait while paused; false once the VM is stopped. */
static bool may_run(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	bool ok;

	pthread_mutex_lock(&vm->lock);
	while (vm->state == VMM_PAUSED) {
		vm->parked++;
		pthread_cond_broadcast(&vm->cond);
		pthread_cond_wait(&vm->cond, &vm->lock);
		vm->parked--;
	}
	ok = vm->state == VMM_RUNNING && !vm->cancel;
	if (ok)
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *v = arg;
	sigset_t set;
	char what[96];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	snprintf(what, sizeof(what), "vCPU %u", v->id);
	sbx_enter(SBX_VCPU, what);

	while (may_run(v)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(what, sizeof(what), "KVM_RUN: %s", strerror(errno));
			stop_at(v, 1, what);
			break;
		}
		drain_coalesced(v);
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		    bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = !code64, .s = 1, .l = code64,
		.g = 1,
	};
}

/* 64-bit long mode, paging on ([BP] "64-bit BOOT PROTOCOL"). */
static void long_mode(struct kvm_sregs *sregs, const struct vmm_entry *entry)
{
	set_seg(&sregs->cs, 0x10, 0xb, true);
	set_seg(&sregs->ds, 0x18, 0x3, false);
	sregs->tr.type = 0xb;		/* a busy 64-bit TSS, as VMX demands */
	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs->cr3 = entry->cr3;
	sregs->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs->efer = EFER_LME | EFER_LMA;
}

/*
 * [PVH] entry state: 32-bit flat code and data segments (base 0, limit
 * 4 GiB), CR0 with only PE (ET reads as 1), CR4 and EFER clear, paging
 * off, TR a busy 32-bit TSS with base 0 and limit 0x67; EBX is set by the
 * caller.
 */
static void prot32_mode(struct kvm_sregs *sregs)
{
	set_seg(&sregs->cs, 0x08, 0xb, false);
	set_seg(&sregs->ds, 0x18, 0x3, false);
	sregs->tr = (struct kvm_segment){ .base = 0, .limit = 0x67, .type = 0xb,
					  .present = 1 };
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
}

/* The BSP at @entry, in the mode it asks for. */
static int set_entry(struct vmm_vcpu *v, const struct vmm_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (entry->mode == VMM_ENTRY_PROT32)
		prot32_mode(&sregs);
	else
		long_mode(&sregs, entry);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = entry->gdt_base;
	sregs.gdt.limit = entry->gdt_limit;
	sregs.idt.base = 0;		/* no IDT: an early fault is a triple fault */
	sregs.idt.limit = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	regs.rip = entry->rip;
	regs.rsp = entry->rsp;
	regs.rsi = entry->rsi;
	regs.rbx = entry->rbx;
	regs.rflags = 0x2;		/* interrupts off */
	return ioctl(v->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, unsigned mode)
{
	uint32_t val;

	memcpy(&val, &l->regs[reg], 4);
	val = (val & ~0x700u & ~0x10000u) | (mode << 8);	/* mode, unmasked */
	memcpy(&l->regs[reg], &val, 4);
}

/* FPU, MSRs and the LAPIC's LINT pins as a PC BIOS leaves them. */
static int init_vcpu_state(struct vmm_vcpu *v)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_lapic_state lapic;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = { .hdr.nmsrs = 1 };

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	msrs.e[0].index = MSR_IA32_MISC_ENABLE;
	msrs.e[0].data = MISC_ENABLE_FAST_STRING;
	if (ioctl(v->fd, KVM_SET_MSRS, &msrs) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	set_lvt_mode(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&lapic, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

static int create_vcpu(struct vmm *vm, unsigned id, const struct vmm_entry *entry,
		       struct gm_error *e)
{
	struct vmm_vcpu *v = &vm->vcpu[id];
	const char *step;
	int ret;

	v->vm = vm;
	v->id = id;
	if (getenv("KVMEM_EXIT_STATS"))
		v->port_exits = calloc(65536, sizeof(*v->port_exits));
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		ret = -errno;
		step = "KVM_CREATE_VCPU";
		goto err;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = -errno;
		step = "mmap kvm_run";
		goto err;
	}
	step = "KVM_SET_CPUID2";
	ret = vmm_cpuid_set(vm->kvm_fd, v->fd, id, vm->nr_cpus);
	if (ret)
		goto err;
	step = "FPU/MSR/LAPIC setup";
	ret = init_vcpu_state(v);
	if (ret)
		goto err;
	if (id == 0) {
		step = "BSP entry registers";
		ret = set_entry(v, entry);
		if (ret)
			goto err;
	}
	return 0;
err:
	return gm_error_set(e, ret, "vcpu%u: %s: %s", id, step, strerror(-ret));
}

/*
 * KVMEM_EXIT_STATS=1: how many exits each vCPU took to userspace, and the
 * busiest ports, on stderr at the end: what to look at when a guest is slow.
 */
static void print_stats(struct vmm_vcpu *v)
{
	fprintf(stderr, "kvmem run: vcpu%u: %" PRIu64 " exits to userspace, %" PRIu64 " mmio;",
		v->id, v->exits, v->mmio_exits);
	for (int top = 0; top < 8; top++) {
		uint32_t best = 0, port = 0;

		for (uint32_t p = 0; p < 65536; p++)
			if (v->port_exits[p] > best)
				best = v->port_exits[p], port = p;
		if (!best)
			break;
		fprintf(stderr, " 0x%x:%u", port, best);
		v->port_exits[port] = 0;
	}
	fputc('\n', stderr);
}

static void release_vcpus(struct vmm *vm)
{
	for (unsigned i = 0; i < vm->nr_cpus; i++) {
		struct vmm_vcpu *v = &vm->vcpu[i];

		if (v->port_exits) {
			print_stats(v);
			free(v->port_exits);
			v->port_exits = NULL;
		}
		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
}

int vmm_vcpus_start(struct vmm *vm, const struct vmm_entry *entry,
		    struct gm_error *e)
{
	int ret;

	if (vm->vcpu || !entry)
		return gm_error_set(e, EINVAL, "vCPUs already started or no entry");
	ret = install_kick_handler();
	if (ret)
		return gm_error_set(e, ret, "sigaction: %s", strerror(-ret));
	vm->vcpu = calloc(vm->nr_cpus, sizeof(*vm->vcpu));
	if (!vm->vcpu)
		return gm_error_set(e, ENOMEM, "out of memory");
	for (unsigned i = 0; i < vm->nr_cpus; i++)
		vm->vcpu[i].fd = -1;
	for (unsigned i = 0; i < vm->nr_cpus; i++) {
		ret = create_vcpu(vm, i, entry, e);
		if (ret)
			goto err;
	}
	/* threads wait in may_run() on vm->lock until all exist */
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_cpus; i++) {
		ret = -pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread,
				      &vm->vcpu[i]);
		if (ret) {
			gm_error_set(e, ret, "vcpu%u thread: %s", i, strerror(-ret));
			vm->cancel = true;	/* the started ones exit unrun */
			break;
		}
		vm->vcpu[i].started = true;
	}
	pthread_mutex_unlock(&vm->lock);
	if (!ret)
		return 0;
err:
	/*
	 * Undo without vmm_stop(): the VM's state (running, paused) is left as
	 * it was, so a later vmm_vcpus_start() can still run it.
	 */
	for (unsigned i = 0; i < vm->nr_cpus; i++) {
		if (!vm->vcpu[i].started)
			continue;
		pthread_join(vm->vcpu[i].thread, NULL);
		vm->vcpu[i].started = false;
	}
	pthread_mutex_lock(&vm->lock);
	vm->cancel = false;
	pthread_mutex_unlock(&vm->lock);
	release_vcpus(vm);
	free(vm->vcpu);
	vm->vcpu = NULL;
	return ret;
}

void vmm_vcpus_join(struct vmm *vm)
{
	if (!vm->vcpu)
		return;
	if (!vmm_stopped(vm, NULL, NULL, 0))
		vmm_stop(vm, 0, "stopped by kvmem");
	for (unsigned i = 0; i < vm->nr_cpus; i++) {
		struct vmm_vcpu *v = &vm->vcpu[i];

		if (!v->started)
			continue;
		pthread_join(v->thread, NULL);
		pthread_mutex_lock(&vm->lock);
		v->started = false;
		pthread_mutex_unlock(&vm->lock);
	}
	release_vcpus(vm);
}
