// SPDX-License-Identifier: MIT
/*
 * kvm.c - the VM: /dev/kvm, API version and capability checks, the
 * in-kernel irqchip and PIT, memory slots over the node pools, and the
 * VM-wide run state (running, paused, stopped) the vCPU threads obey.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm-internal.h"

/* Inside the MMIO hole, below the 4 GiB boundary, as QEMU and kvmtool. */
#define VMM_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define VMM_TSS_ADDR		0xfffbd000ULL

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

static int xioctl(int fd, unsigned long req, unsigned long arg)
{
	int ret;

	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* Open /dev/kvm and check that it is the KVM kvmem was written for. */
static int open_kvm(unsigned nr_cpus, int *out, struct gm_error *e)
{
	int fd, ret, max;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return gm_error_set(e, errno, "/dev/kvm: %s (no KVM here: try tests/nested/with-kvm kvmem run ...)",
			    strerror(errno));
	ret = xioctl(fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		close(fd);
		return gm_error_set(e, ENOTSUP, "/dev/kvm: API version %d, kvmem needs %d",
			    ret, KVM_API_VERSION);
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (xioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			close(fd);
			return gm_error_set(e, ENOTSUP, "/dev/kvm: missing capability %s",
				    required_caps[i].name);
		}
	}
	max = xioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = xioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && nr_cpus > (unsigned)max) {
		close(fd);
		return gm_error_set(e, EINVAL, "--cpus %u: this KVM allows at most %d vCPUs",
			    nr_cpus, max);
	}
	*out = fd;
	return 0;
}

/*
 * kvmem has no PCI, yet guests probe for it: Linux's early scans for an AMD
 * GART (family 0xf/0x10 CPUs, as under QEMU's qemu64) write the PCI
 * config-address port 0xcf8 and read 0xcfc for every bus and slot, 8192
 * probes a scan. Writes to 0xcf8 need no answer, so they are coalesced
 * (as QEMU does for its PCI hosts): KVM queues them in a ring that the
 * vCPUs drain, in order, before handling their next exit (vcpu.c). That
 * halves those exits. Best effort: without the capability nothing changes.
 */
#define VMM_PCI_CONFIG_ADDRESS	0xcf8

static void coalesce_pci_address(struct vmm *vm)
{
	struct kvm_coalesced_mmio_zone z = {
		.addr = VMM_PCI_CONFIG_ADDRESS, .size = 4, .pio = 1,
	};
	int page = xioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	if (page <= 0 || xioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0)
		return;
	if (xioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, (unsigned long)&z) == 0)
		vm->coalesced_page = page;
}

/* The VM with its in-kernel PIC, IOAPIC, LAPICs and PIT. */
static int create_vm(struct vmm *vm, struct gm_error *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = VMM_IDENTITY_MAP_ADDR;
	int ret;

	ret = xioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (ret < 0)
		return gm_error_set(e, -ret, "KVM_CREATE_VM: %s", strerror(-ret));
	vm->vm_fd = ret;
	ret = xioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&ident);
	if (ret < 0)
		return gm_error_set(e, -ret, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-ret));
	ret = xioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VMM_TSS_ADDR);
	if (ret < 0)
		return gm_error_set(e, -ret, "KVM_SET_TSS_ADDR: %s", strerror(-ret));
	ret = xioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0);
	if (ret < 0)
		return gm_error_set(e, -ret, "KVM_CREATE_IRQCHIP: %s", strerror(-ret));
	ret = xioctl(vm->vm_fd, KVM_CREATE_PIT2, (unsigned long)&pit);
	if (ret < 0)
		return gm_error_set(e, -ret, "KVM_CREATE_PIT2: %s", strerror(-ret));
	ret = xioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret <= 0)
		return gm_error_set(e, ret ? -ret : EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	vm->run_size = ret;
	coalesce_pci_address(vm);
	vm->max_slots = xioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (vm->max_slots <= 0)
		vm->max_slots = 32;
	return 0;
}

int vmm_create(struct gm_mem *mem, unsigned nr_cpus, struct vmm **out,
	       struct gm_error *e)
{
	struct vmm *vm;
	int ret;

	if (!mem || !out)
		return gm_error_set(e, EINVAL, "vmm_create: no memory");
	if (!nr_cpus || nr_cpus > VMM_MAX_CPUS)
		return gm_error_set(e, EINVAL, "--cpus %u: must be 1..%d", nr_cpus,
			    VMM_MAX_CPUS);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return gm_error_set(e, ENOMEM, "out of memory");
	vm->mem = mem;
	vm->nr_cpus = nr_cpus;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->ring_lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (vmm_bus_init(&vm->pio) || vmm_bus_init(&vm->mmio)) {
		ret = gm_error_set(e, ENOMEM, "out of memory");
		goto err;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		ret = gm_error_set(e, errno, "eventfd: %s", strerror(errno));
		goto err;
	}
	ret = open_kvm(nr_cpus, &vm->kvm_fd, e);
	if (ret)
		goto err;
	ret = create_vm(vm, e);
	if (ret)
		goto err;
	*out = vm;
	return 0;
err:
	vmm_destroy(vm);
	return ret;
}

void vmm_destroy(struct vmm *vm)
{
	if (!vm)
		return;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	vmm_bus_exit(&vm->pio);
	vmm_bus_exit(&vm->mmio);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->ring_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm->vcpu);
	free(vm);
}

int vmm_map_mem(struct vmm *vm, struct gm_error *e)
{
	unsigned nr_nodes = gm_mem_nr_nodes(vm->mem);
	struct gm_range r[8];

	for (unsigned node = 0; node < nr_nodes; node++) {
		int n = gm_node_ranges(vm->mem, node, r, 8);

		if (n < 0)
			return gm_error_set(e, -n, "node %u: no ranges", node);
		if (n > 8)
			return gm_error_set(e, ENOSPC, "node %u: %d ranges, at most 8", node, n);
		for (int i = 0; i < n; i++) {
			struct kvm_userspace_memory_region m = {
				.slot = vm->nr_slots,
				.guest_phys_addr = r[i].start,
				.memory_size = r[i].size,
				.userspace_addr = (uintptr_t)r[i].hva,
			};
			int ret;

			if (!r[i].hva)
				return gm_error_set(e, EINVAL, "node %u: memory not backed", node);
			if (vm->nr_slots >= vm->max_slots)
				return gm_error_set(e, ENOSPC, "KVM has only %d memory slots",
					    vm->max_slots);
			ret = xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION,
				     (unsigned long)&m);
			if (ret < 0)
				return gm_error_set(e, -ret, "KVM_SET_USER_MEMORY_REGION node %u 0x%llx+0x%llx: %s",
					    node, (unsigned long long)r[i].start,
					    (unsigned long long)r[i].size, strerror(-ret));
			vm->nr_slots++;
		}
	}
	return 0;
}

struct vmm_bus *vmm_pio_bus(struct vmm *vm) { return &vm->pio; }
struct vmm_bus *vmm_mmio_bus(struct vmm *vm) { return &vm->mmio; }
struct gm_mem *vmm_mem(struct vmm *vm) { return vm->mem; }
int vmm_kvm_fd(struct vmm *vm) { return vm->kvm_fd; }
int vmm_vm_fd(struct vmm *vm) { return vm->vm_fd; }
unsigned vmm_nr_cpus(struct vmm *vm) { return vm->nr_cpus; }
int vmm_wait_fd(struct vmm *vm) { return vm->stop_efd; }

int vmm_irq_line(struct vmm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };
	int ret = xioctl(vm->vm_fd, KVM_IRQ_LINE, (unsigned long)&l);

	return ret < 0 ? ret : 0;
}

void vmm_kick_locked(struct vmm *vm)
{
	if (!vm->vcpu)
		return;
	for (unsigned i = 0; i < vm->nr_cpus; i++) {
		struct vmm_vcpu *v = &vm->vcpu[i];

		if (!v->started)
			continue;
		/* immediate_exit covers a vCPU about to enter KVM_RUN. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, SIGUSR1);
	}
}

void vmm_stop(struct vmm *vm, int status, const char *reason)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->lock);
	if (vm->state != VMM_STOPPED) {
		vm->state = VMM_STOPPED;
		vm->status = status;
		snprintf(vm->reason, sizeof(vm->reason), "%s", reason ? reason : "");
		pthread_cond_broadcast(&vm->cond);
		vmm_kick_locked(vm);
		/* One write per VM: an eventfd counter cannot overflow. */
		(void)!write(vm->stop_efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&vm->lock);
}

bool vmm_stopped(struct vmm *vm, int *status, char *reason, size_t len)
{
	bool stopped;

	pthread_mutex_lock(&vm->lock);
	stopped = vm->state == VMM_STOPPED;
	if (stopped && status)
		*status = vm->status;
	if (stopped && reason && len)
		snprintf(reason, len, "%s", vm->reason);
	pthread_mutex_unlock(&vm->lock);
	return stopped;
}

static unsigned nr_started(const struct vmm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; vm->vcpu && i < vm->nr_cpus; i++)
		n += vm->vcpu[i].started;
	return n;
}

int vmm_pause(struct vmm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VMM_STOPPED) {
		ret = -EINVAL;
	} else if (vm->state == VMM_RUNNING) {
		vm->state = VMM_PAUSED;
		vmm_kick_locked(vm);
		while (vm->state == VMM_PAUSED && vm->parked < nr_started(vm))
			pthread_cond_wait(&vm->cond, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int vmm_resume(struct vmm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VMM_STOPPED)
		ret = -EINVAL;
	else if (vm->state == VMM_PAUSED) {
		vm->state = VMM_RUNNING;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

enum vmm_state vmm_state(struct vmm *vm)
{
	enum vmm_state s;

	pthread_mutex_lock(&vm->lock);
	s = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

const char *vmm_state_name(enum vmm_state s)
{
	switch (s) {
	case VMM_RUNNING:
		return "running";
	case VMM_PAUSED:
		return "paused";
	default:
		return "stopped";
	}
}
