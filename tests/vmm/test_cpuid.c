// SPDX-License-Identifier: MIT
/*
 * test_cpuid.c - vmm/cpuid.c's topology rewrite, on a hand-made CPUID
 * table (no /dev/kvm): the leaves Linux reads to count CPUs must agree
 * with APIC ID = vCPU index and one package of nr_cpus cores.
 */
#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"
#include "../check-run.h"

#define CAP 32

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CAP * sizeof(c->entries[0]));
	static const struct kvm_cpuid_entry2 init[] = {
		{ .function = 0x0, .eax = 0xd },
		{ .function = 0x1, .ebx = 0x00010800, .edx = 0x178bfbff },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7 },
		{ .function = 0x80000008, .eax = 0x3028, .ecx = 0x00000000 },
		{ .function = 0x8000001e, .eax = 9, .ebx = 0x0105, .ecx = 0x0102 },
	};

	ck_assert_ptr_nonnull(c);
	memcpy(c->entries, init, sizeof(init));
	c->nent = sizeof(init) / sizeof(init[0]);
	return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn,
				     uint32_t index)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static unsigned count(struct kvm_cpuid2 *c, uint32_t fn)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nent; i++)
		n += c->entries[i].function == fn;
	return n;
}

/* vCPU 2 of 3: APIC ID 2 everywhere, its own package of one core and one
 * thread (so any NUMA spread is consistent), hypervisor bit set. */
START_TEST(test_three_cpus)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	c->entries[1].edx |= 1u << 28;		/* HTT as a host may have it */
	ck_assert_int_eq(vmm_cpuid_topology(c, CAP, 2, 3), 0);
	e = find(c, 0x1, 0);
	ck_assert_uint_eq(e->ebx >> 24, 2);
	ck_assert_uint_eq((e->ebx >> 16) & 0xff, 1);	/* one logical CPU per package */
	ck_assert_uint_eq(e->ebx & 0xffff, 0x0800);	/* CLFLUSH size kept */
	ck_assert(!(e->edx & (1u << 28)));
	ck_assert(e->ecx & (1u << 31));
	ck_assert_uint_eq(e->edx & ~(1u << 28), 0x178bfbff & ~(1u << 28));

	ck_assert_uint_eq(count(c, 0xb), 3);		/* the stale entry replaced */
	e = find(c, 0xb, 0);
	ck_assert_uint_eq(e->eax, 0);
	ck_assert_uint_eq(e->ebx, 1);
	ck_assert_uint_eq(e->ecx, 0x100);		/* SMT level */
	ck_assert_uint_eq(e->edx, 2);
	ck_assert(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	e = find(c, 0xb, 1);
	ck_assert_uint_eq(e->eax, 0);
	ck_assert_uint_eq(e->ebx, 1);
	ck_assert_uint_eq(e->ecx, 0x201);		/* core level */
	ck_assert_uint_eq(e->edx, 2);
	e = find(c, 0xb, 2);
	ck_assert_uint_eq(e->ebx, 0);
	ck_assert_uint_eq((e->ecx >> 8) & 0xff, 0);	/* invalid: the end */

	ck_assert_uint_eq(count(c, 0x1f), 0);		/* not invented */
	e = find(c, 0x80000008, 0);
	ck_assert_uint_eq(e->ecx & 0xf0ff, 0);		/* NC = 0, no core ID bits */
	ck_assert_uint_eq(e->eax, 0x3028);		/* address sizes kept */
	e = find(c, 0x8000001e, 0);
	ck_assert_uint_eq(e->eax, 2);
	ck_assert_uint_eq(e->ebx & 0xff, 2);
	ck_assert_uint_eq(e->ecx, 0);
	free(c);
}
END_TEST

/* Every vCPU of 4 gets a distinct APIC ID in leaf 0x1 and 0xB. */
START_TEST(test_distinct_ids)
{
	for (unsigned id = 0; id < 4; id++) {
		struct kvm_cpuid2 *c = table();

		ck_assert_int_eq(vmm_cpuid_topology(c, CAP, id, 4), 0);
		ck_assert_uint_eq(find(c, 0x1, 0)->ebx >> 24, id);
		ck_assert_uint_eq(find(c, 0xb, 0)->edx, id);
		ck_assert_uint_eq(find(c, 0xb, 1)->edx, id);
		free(c);
	}
}
END_TEST

/* Leaf 0x1F is rewritten like 0xB when KVM offers it. */
START_TEST(test_leaf_1f)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0x1f, .ebx = 9 };
	ck_assert_int_eq(vmm_cpuid_topology(c, CAP, 5, 8), 0);
	ck_assert_uint_eq(count(c, 0x1f), 3);
	e = find(c, 0x1f, 1);
	ck_assert_uint_eq(e->eax, 0);
	ck_assert_uint_eq(e->ebx, 1);
	ck_assert_uint_eq(e->ecx, 0x201);
	ck_assert_uint_eq(e->edx, 5);
	free(c);
}
END_TEST

/* Bad arguments and no room: errors, table untouched. */
START_TEST(test_errors_leave_table)
{
	struct kvm_cpuid2 *c = table(), *copy = table();
	size_t sz = sizeof(*c) + CAP * sizeof(c->entries[0]);

	ck_assert_int_eq(vmm_cpuid_topology(c, CAP, 3, 3), -EINVAL);
	ck_assert_int_eq(vmm_cpuid_topology(c, CAP, 0, 0), -EINVAL);
	ck_assert_int_eq(vmm_cpuid_topology(c, c->nent + 5, 0, 2), -ENOSPC);
	ck_assert_int_eq(memcmp(c, copy, sz), 0);
	free(c);
	free(copy);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmm_cpuid");
	TCase *tc = tcase_create("topology");

	tcase_add_test(tc, test_three_cpus);
	tcase_add_test(tc, test_distinct_ids);
	tcase_add_test(tc, test_leaf_1f);
	tcase_add_test(tc, test_errors_leave_table);
	suite_add_tcase(s, tc);
	return check_run(s);
}
