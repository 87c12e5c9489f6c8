// SPDX-License-Identifier: MIT
/*
 * cpuid.c - the CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID with a
 * topology that agrees with the MADT and with any NUMA spread: every vCPU
 * is its own package (one core, one thread), APIC ID = vCPU index (KVM's
 * default for vCPU i). One package per vCPU is the only layout that stays
 * consistent whichever node each vCPU is on: Linux warns (topology_sane)
 * when CPUs that share a package or a last-level cache sit on different
 * nodes. The hypervisor bit is set so the guest finds KVM's leaves
 * (0x40000000: kvm-clock, PV EOI, ...) instead of calibrating the TSC.
 *
 *   leaf 0x1        EBX[31:24] APIC ID, EBX[23:16] = 1, EDX.HTT clear,
 *                   ECX bit 31 (hypervisor) set, ECX bit 24 (TSC-deadline
 *                   timer) when KVM_CAP_TSC_DEADLINE_TIMER
 *   leaf 0x4        EAX[31:26] = 0 and EAX[25:14] = 0: nothing shared
 *   leaf 0xB, 0x1F  subleaf 0 SMT (shift 0, 1 thread), subleaf 1 core
 *                   (shift 0, 1 core), subleaf 2 invalid; EDX = x2APIC ID
 *   leaf 0x80000008 ECX: NC = 0, ApicIdCoreIdSize = 0
 *   leaf 0x8000001E EAX extended APIC ID, EBX core ID, ECX node 0
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

#define CPUID_HTT		(1u << 28)
#define CPUID_HYPERVISOR	(1u << 31)
#define CPUID_TSC_DEADLINE	(1u << 24)
#define TOPO_EXTRA		6	/* 0xB and 0x1F: 3 subleaves each */
#define TOPO_SMT		1
#define TOPO_CORE		2

/* Drop every entry of @leaf; returns whether there was one. */
static bool drop_leaf(struct kvm_cpuid2 *c, uint32_t leaf)
{
	bool found = false;
	unsigned j = 0;

	for (unsigned i = 0; i < c->nent; i++) {
		if (c->entries[i].function == leaf) {
			found = true;
			continue;
		}
		c->entries[j++] = c->entries[i];
	}
	c->nent = j;
	return found;
}

static void add_topology_leaf(struct kvm_cpuid2 *c, uint32_t leaf, unsigned id)
{
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *en = &c->entries[c->nent++];

		memset(en, 0, sizeof(*en));
		en->function = leaf;
		en->index = sub;
		en->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		en->edx = id;
		en->ecx = sub;
		if (sub < 2) {		/* shift 0: one thread, one core */
			en->ebx = 1;
			en->ecx |= (sub ? TOPO_CORE : TOPO_SMT) << 8;
		}
	}
}

int vmm_cpuid_topology(struct kvm_cpuid2 *c, unsigned cap, unsigned id,
		       unsigned nr_cpus)
{
	if (!nr_cpus || id >= nr_cpus)
		return -EINVAL;
	if (c->nent + TOPO_EXTRA > cap)
		return -ENOSPC;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *en = &c->entries[i];

		switch (en->function) {
		case 0x1:
			en->ebx = (en->ebx & 0xffff) | (id << 24) | (1u << 16);
			en->edx &= ~CPUID_HTT;
			en->ecx |= CPUID_HYPERVISOR;
			break;
		case 0x4:
			en->eax &= 0x3fff;	/* no sharing, one core */
			break;
		case 0x80000008:
			en->ecx &= ~0xf0ffu;
			break;
		case 0x8000001e:
			en->eax = id;
			en->ebx = (en->ebx & ~0xffffu) | (id & 0xff);
			en->ecx = 0;
			break;
		}
	}
	/* 0xB always (Linux reads it when the max leaf allows), 0x1F if KVM has it. */
	drop_leaf(c, 0xb);
	add_topology_leaf(c, 0xb, id);
	if (drop_leaf(c, 0x1f))
		add_topology_leaf(c, 0x1f, id);
	return 0;
}

int vmm_cpuid_set(int kvm_fd, int vcpu_fd, unsigned id, unsigned nr_cpus)
{
	unsigned nent = 64;
	struct kvm_cpuid2 *c;
	int ret;

	for (;;) {
		c = calloc(1, sizeof(*c) + (nent + TOPO_EXTRA) * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		ret = -errno;
		free(c);
		if (ret != -E2BIG || nent >= 4096)
			return ret;
		nent *= 2;
	}
	ret = vmm_cpuid_topology(c, c->nent + TOPO_EXTRA, id, nr_cpus);
	/*
	 * KVM emulates the TSC-deadline timer but leaves advertising it to
	 * userspace. Without it Linux calibrates the LAPIC timer against the
	 * PIT, which fails under nested emulation ("APIC timer disabled due
	 * to verification failure") and leaves it on the slower PIT.
	 */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		for (unsigned i = 0; i < c->nent; i++)
			if (c->entries[i].function == 0x1)
				c->entries[i].ecx |= CPUID_TSC_DEADLINE;
	if (!ret && ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
