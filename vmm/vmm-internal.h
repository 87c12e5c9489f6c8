/* SPDX-License-Identifier: MIT */
/*
 * vmm-internal.h - struct vmm and struct vmm_vcpu, shared by kvm.c and
 * vcpu.c only. Everything else goes through vmm.h.
 */
#ifndef KVMEM_VMM_INTERNAL_H
#define KVMEM_VMM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>

#include "vmm.h"

#define VMM_REASON_MAX		256

struct vmm_vcpu {
	struct vmm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;		/* mmap of the vCPU fd */
	pthread_t thread;
	bool started;
	uint32_t *port_exits;		/* KVMEM_EXIT_STATS=1: exits per port */
	uint64_t exits, mmio_exits;
};

/*
 * Lock: @lock protects @state, @cancel, @status, @reason, @parked and the
 * vCPUs' run->immediate_exit; @cond signals state changes and parking. The buses
 * have their own locks; the rest is set before the vCPUs start.
 */
struct vmm {
	struct gm_mem *mem;
	int kvm_fd, vm_fd;
	int run_size;
	int nr_slots, max_slots;
	unsigned nr_cpus;
	struct vmm_bus pio, mmio;
	struct vmm_vcpu *vcpu;		/* nr_cpus entries once created */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vmm_state state;
	bool cancel;			/* a failed vmm_vcpus_start(): threads exit unrun */
	unsigned parked;		/* vCPUs waiting while paused */
	int status;
	char reason[VMM_REASON_MAX];
	int stop_efd;			/* eventfd, readable once stopped */

	/* Coalesced port writes (KVM_CAP_COALESCED_PIO): page offset of the
	 * ring in each vCPU mapping, 0 when unused; ring_lock serialises
	 * draining (the ring is one per VM). */
	int coalesced_page;
	pthread_mutex_t ring_lock;
};

/* kvm.c: kick every started vCPU out of KVM_RUN. Caller holds vm->lock. */
void vmm_kick_locked(struct vmm *vm);

#endif /* KVMEM_VMM_INTERNAL_H */
