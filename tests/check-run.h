/* SPDX-License-Identifier: MIT */
/* check-run.h - run a Check suite from a test's main(). */
#ifndef KVMEM_TESTS_CHECK_RUN_H
#define KVMEM_TESTS_CHECK_RUN_H

#include <check.h>

/* check_run() - run every case of @s (freed); main()'s status: 0 or 1. */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif /* KVMEM_TESTS_CHECK_RUN_H */
