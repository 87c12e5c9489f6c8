// SPDX-License-Identifier: MIT
/*
 * test_bus.c - vmm/bus.c: registration rules and dispatch, no KVM needed.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"
#include "../check-run.h"

struct rec {
	unsigned calls;
	uint64_t off;
	unsigned len;
	bool write;
	uint8_t last[8];
};

static void handler(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		    bool write)
{
	struct rec *r = opaque;

	r->calls++;
	r->off = off;
	r->len = len;
	r->write = write;
	if (write)
		memcpy(r->last, data, len);
	else
		for (unsigned i = 0; i < len; i++)
			data[i] = (uint8_t)(0xa0 + off + i);
}

/* Two devices at 0x3f8+8 and 0x600+4; an access goes to the one holding it
 * with the offset from its base. Expect: reads filled by the handler,
 * writes seen with their bytes, misses -ENOENT with the buffer untouched. */
START_TEST(test_dispatch)
{
	struct vmm_bus bus;
	struct rec a = { 0 }, b = { 0 };
	uint8_t d[4] = { 0x11, 0x22, 0x33, 0x44 };

	ck_assert_int_eq(vmm_bus_init(&bus), 0);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x600, 4, handler, &b), 0);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x3f8, 8, handler, &a), 0);

	ck_assert_int_eq(vmm_bus_access(&bus, 0x3fd, d, 1, false), 0);
	ck_assert_uint_eq(a.calls, 1);
	ck_assert_uint_eq(a.off, 5);
	ck_assert_uint_eq(d[0], 0xa5);
	ck_assert_uint_eq(b.calls, 0);

	ck_assert_int_eq(vmm_bus_access(&bus, 0x604, d, 2, true), -ENOENT);
	ck_assert_int_eq(vmm_bus_access(&bus, 0x602, d, 2, true), 0);
	ck_assert_uint_eq(b.calls, 1);
	ck_assert_uint_eq(b.off, 2);
	ck_assert_uint_eq(b.len, 2);
	ck_assert(b.write);
	ck_assert_uint_eq(b.last[0], 0xa5);
	ck_assert_uint_eq(b.last[1], 0x22);

	memset(d, 0x5a, sizeof(d));
	ck_assert_int_eq(vmm_bus_access(&bus, 0x80, d, 1, false), -ENOENT);
	ck_assert_uint_eq(d[0], 0x5a);
	/* Straddling the end of a region is a miss, not a partial access. */
	ck_assert_int_eq(vmm_bus_access(&bus, 0x3ff, d, 2, false), -ENOENT);
	ck_assert_uint_eq(a.calls, 1);
	vmm_bus_exit(&bus);
}
END_TEST

/* Overlaps in every position are refused and leave the table as it was;
 * adjacent regions are fine. */
START_TEST(test_overlap)
{
	struct vmm_bus bus;
	struct rec a = { 0 }, z = { 0 };
	uint8_t d;

	ck_assert_int_eq(vmm_bus_init(&bus), 0);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x100, 0x10, handler, &a), 0);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x100, 0x10, handler, &z), -EEXIST);
	ck_assert_int_eq(vmm_bus_register(&bus, 0xf8, 0x10, handler, &z), -EEXIST);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x10f, 1, handler, &z), -EEXIST);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x104, 2, handler, &z), -EEXIST);
	ck_assert_int_eq(vmm_bus_register(&bus, 0xf0, 0x100, handler, &z), -EEXIST);
	ck_assert_uint_eq(bus.nr, 1);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x110, 1, handler, &z), 0);
	ck_assert_int_eq(vmm_bus_register(&bus, 0xff, 1, handler, &z), 0);
	ck_assert_uint_eq(bus.nr, 3);
	ck_assert_int_eq(vmm_bus_access(&bus, 0x10f, &d, 1, false), 0);
	ck_assert_uint_eq(a.calls, 1);
	ck_assert_uint_eq(z.calls, 0);
	vmm_bus_exit(&bus);
}
END_TEST

START_TEST(test_bad_args)
{
	struct vmm_bus bus;
	struct rec a = { 0 };

	ck_assert_int_eq(vmm_bus_init(&bus), 0);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x100, 0, handler, &a), -EINVAL);
	ck_assert_int_eq(vmm_bus_register(&bus, 0x100, 1, NULL, &a), -EINVAL);
	ck_assert_int_eq(vmm_bus_register(&bus, UINT64_MAX, 2, handler, &a), -EINVAL);
	ck_assert_uint_eq(bus.nr, 0);
	vmm_bus_exit(&bus);
}
END_TEST

/* Many regions registered in random order stay sorted and each access
 * finds its own; unregistering one makes exactly it miss. */
START_TEST(test_many_unregister)
{
	struct vmm_bus bus;
	struct rec r[64] = { 0 };
	unsigned order[64], seed = 12345;
	uint8_t d;

	for (unsigned i = 0; i < 64; i++)
		order[i] = i;
	for (unsigned i = 63; i > 0; i--) {
		unsigned j;

		seed = seed * 1103515245 + 12345;
		j = (seed >> 16) % (i + 1);
		unsigned t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	ck_assert_int_eq(vmm_bus_init(&bus), 0);
	for (unsigned i = 0; i < 64; i++)
		ck_assert_int_eq(vmm_bus_register(&bus, 0x1000 + order[i] * 0x10,
						  0x8, handler, &r[order[i]]), 0);
	for (unsigned i = 1; i < bus.nr; i++)
		ck_assert_uint_lt(bus.r[i - 1].base, bus.r[i].base);
	for (unsigned i = 0; i < 64; i++) {
		ck_assert_int_eq(vmm_bus_access(&bus, 0x1000 + i * 0x10 + 7, &d, 1, false), 0);
		ck_assert_uint_eq(r[i].calls, 1);
		ck_assert_int_eq(vmm_bus_access(&bus, 0x1000 + i * 0x10 + 8, &d, 1, false), -ENOENT);
	}
	ck_assert_int_eq(vmm_bus_unregister(&bus, 0x1000 + 5 * 0x10), 0);
	ck_assert_int_eq(vmm_bus_unregister(&bus, 0x1000 + 5 * 0x10), -ENOENT);
	ck_assert_int_eq(vmm_bus_access(&bus, 0x1050, &d, 1, false), -ENOENT);
	ck_assert_int_eq(vmm_bus_access(&bus, 0x1060, &d, 1, false), 0);
	ck_assert_uint_eq(r[6].calls, 2);
	vmm_bus_exit(&bus);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmm_bus");
	TCase *tc = tcase_create("bus");

	tcase_add_test(tc, test_dispatch);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_many_unregister);
	suite_add_tcase(s, tc);
	return check_run(s);
}
