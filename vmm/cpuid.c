// SPDX-License-Identifier: MIT
/*
 * cpuid.c - the CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID with a
 * topology that agrees with the MADT: one package, @nr_cpus cores of one
 * thread each, APIC ID = vCPU index (KVM's default for vCPU i).
 *
 *   leaf 0x1        EBX[31:24] APIC ID, EBX[23:16] addressable IDs,
 *                   EDX.HTT when more than one CPU
 *   leaf 0x4        EAX[31:26] cores - 1; caches of level 3 shared by all
 *   leaf 0xB, 0x1F  subleaf 0 SMT (shift 0, 1 thread), subleaf 1 core
 *                   (shift = bits for nr_cpus, nr_cpus), subleaf 2 invalid;
 *                   EDX = x2APIC ID
 *   leaf 0x80000008 ECX: NC = nr_cpus - 1, ApicIdCoreIdSize
 *   leaf 0x8000001E EAX extended APIC ID, EBX core ID, ECX node 0
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

#define CPUID_HTT		(1u << 28)
#define TOPO_EXTRA		6	/* 0xB and 0x1F: 3 subleaves each */
#define TOPO_SMT		1
#define TOPO_CORE		2

static unsigned id_bits(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

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

static void add_topology_leaf(struct kvm_cpuid2 *c, uint32_t leaf, unsigned id,
			      unsigned nr_cpus)
{
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *en = &c->entries[c->nent++];

		memset(en, 0, sizeof(*en));
		en->function = leaf;
		en->index = sub;
		en->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		en->edx = id;
		en->ecx = sub;
		if (sub == 0) {
			en->eax = 0;
			en->ebx = 1;
			en->ecx |= TOPO_SMT << 8;
		} else if (sub == 1) {
			en->eax = id_bits(nr_cpus);
			en->ebx = nr_cpus;
			en->ecx |= TOPO_CORE << 8;
		}
	}
}

int vmm_cpuid_topology(struct kvm_cpuid2 *c, unsigned cap, unsigned id,
		       unsigned nr_cpus)
{
	unsigned bits = id_bits(nr_cpus);
	bool has_1f = false;

	if (!nr_cpus || id >= nr_cpus)
		return -EINVAL;
	if (c->nent + TOPO_EXTRA > cap)
		return -ENOSPC;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *en = &c->entries[i];

		switch (en->function) {
		case 0x1:
			en->ebx = (en->ebx & 0xffff) | (id << 24) |
				  ((1u << bits) & 0xff) << 16;
			if (nr_cpus > 1)
				en->edx |= CPUID_HTT;
			else
				en->edx &= ~CPUID_HTT;
			break;
		case 0x4:
			if (!(en->eax & 0x1f))
				break;	/* no cache at this subleaf */
			en->eax &= 0x3ff;
			en->eax |= ((1u << bits) - 1) << 26;
			if (((en->eax >> 5) & 7) >= 3)
				en->eax |= ((1u << bits) - 1) << 14;
			break;
		case 0x80000008:
			en->ecx = (en->ecx & ~0xf0ffu) | (bits << 12) |
				  ((nr_cpus - 1) & 0xff);
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
	add_topology_leaf(c, 0xb, id, nr_cpus);
	has_1f = drop_leaf(c, 0x1f);
	if (has_1f)
		add_topology_leaf(c, 0x1f, id, nr_cpus);
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
	if (!ret && ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
