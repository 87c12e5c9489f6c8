/* SPDX-License-Identifier: MIT */
/*
 * hotplug-node.h - the machine the virtio-mem and balloon Check tests
 * (test_vmem, test_balloon) both start from: one node of 64 MiB with a
 * hot-plug region after its RAM, backed and retired as `kvmem run` leaves
 * it before the guest starts. Asserts with ck_assert: Check tests only.
 */
#ifndef KVMEM_TESTS_HOTPLUG_NODE_H
#define KVMEM_TESTS_HOTPLUG_NODE_H

#include <check.h>
#include <stdint.h>

#include "guestmem.h"

/* The memory (the caller destroys it); *@base: where the region starts. */
static inline struct gm_mem *hp_node_create(uint64_t region, uint64_t *base)
{
	struct gm_node_stat st;
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;

	gm_config_init(&cfg);
	cfg.nr_nodes = 1;
	cfg.node[0].size = 64ULL << 20;
	cfg.node[0].hotplug_size = region;
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_mem_back(mem, 0, &e), 0);
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_int_eq(gm_node_stat(mem, 0, &st), 0);
	*base = st.hotplug_base;
	return mem;
}

#endif /* KVMEM_TESTS_HOTPLUG_NODE_H */
