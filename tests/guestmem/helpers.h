/* SPDX-License-Identifier: MIT */
/* helpers.h - small shared helpers of the guestmem core tests. */
#ifndef KVMEM_TESTS_GUESTMEM_HELPERS_H
#define KVMEM_TESTS_GUESTMEM_HELPERS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../check-run.h"
#include "guestmem.h"

#define KIB	1024ULL
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)

/* Resident host pages (4 KiB) of [@p, @p+@len), by mincore(2). */
static inline uint64_t resident_pages(const void *p, size_t len)
{
	size_t n = (len + 4095) / 4096;
	unsigned char *v = malloc(n ? n : 1);
	uint64_t count = 0;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(mincore((void *)p, len, v), 0);
	for (size_t i = 0; i < n; i++)
		count += v[i] & 1;
	free(v);
	return count;
}

/* A mem from option strings (chunk 0 = default), retired if asked. */
static inline struct gm_mem *mkmem(const char *numa, uint64_t chunk,
				   const char *cma, bool retire)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;

	gm_config_init(&cfg);
	if (chunk)
		cfg.chunk_size = chunk;
	ck_assert_int_eq(gm_parse_numa(numa, &cfg, &e), 0);
	if (cma)
		ck_assert_msg(gm_parse_cma(cma, &cfg, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_mem_create(&cfg, &mem, &e) == 0, "%s", e.msg);
	if (retire)
		ck_assert_msg(gm_mem_retire(mem, &e) == 0, "%s", e.msg);
	return mem;
}

static inline struct gm_node_stat nstat(struct gm_mem *mem, unsigned node)
{
	struct gm_node_stat st;

	ck_assert_int_eq(gm_node_stat(mem, node, &st), 0);
	return st;
}

/* Allocate and return the snapshot (caller frees), or NULL with *ret set. */
static inline struct gm_alloc_info *alloc_info(struct gm_mem *mem,
					       const struct gm_request *req,
					       int *ret)
{
	struct gm_alloc_info *info = NULL;
	struct gm_error e;

	*ret = gm_alloc(mem, req, &info, &e);
	if (*ret)
		return NULL;
	ck_assert_ptr_nonnull(info);
	return info;
}

/* The id of allocation @name, 0 (no allocation has it) if none. */
static inline uint64_t idof(struct gm_mem *mem, const char *name)
{
	struct gm_alloc_entry ent;

	return gm_alloc_lookup(mem, name, &ent) ? 0 : ent.id;
}

static inline struct gm_request mkreq(const char *name, unsigned node,
				      uint64_t size, uint64_t align,
				      enum gm_mode mode, unsigned flags)
{
	struct gm_request r;

	gm_request_init(&r);
	if (name)
		snprintf(r.name, sizeof(r.name), "%s", name);
	r.node = node;
	r.size = size;
	r.align = align;
	r.mode = mode;
	r.flags = flags;
	return r;
}

/* A run of a Check suite with one test case; returns main's status. */
#define RUN_SUITE(sname, ...)						\
	do {								\
		Suite *s_ = suite_create(sname);			\
		TCase *tc_ = tcase_create(sname);			\
		const TTest *t_[] = { __VA_ARGS__ };			\
		tcase_set_timeout(tc_, 120);				\
		for (size_t i_ = 0; i_ < sizeof(t_) / sizeof(t_[0]); i_++) \
			tcase_add_test(tc_, t_[i_]);			\
		suite_add_tcase(s_, tc_);				\
		return check_run(s_);					\
	} while (0)

#endif
