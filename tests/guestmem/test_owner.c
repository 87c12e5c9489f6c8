// SPDX-License-Identifier: MIT
/*
 * test_owner.c - owners, names and ids of allocations (guestmem/alloc.c):
 * the VM's allocations refuse the user's paths and change nothing, the
 * VM frees its own by id, its namespace is closed to user names, an owned
 * exact-range allocation is possible, pending reservations are names like
 * any other, ids are never reused, two claims on a name end with one owner
 * (threads, many rounds), and a free the allocator refuses keeps the
 * allocation and its blocks.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "helpers.h"
#include "pool.h"

/* Guest RAM as kvmem run makes it: owned by the VM, @size at [@start, +size). */
static struct gm_alloc_info *vm_ram(struct gm_mem *mem, unsigned node,
				    uint64_t start, uint64_t size, int *ret)
{
	struct gm_request r = mkreq(NULL, node, size, 0, GM_MODE_RANGE,
				    GM_F_NOCLEAR);

	r.owner = GM_OWNER_VM;
	snprintf(r.name, sizeof(r.name), "vm.ram%u", node);
	snprintf(r.purpose, sizeof(r.purpose), "guest RAM, node %u", node);
	r.range_start = start;
	r.range_end = start + size;
	return alloc_info(mem, &r, ret);
}

/*
 * Expect: an owned allocation of exactly [4M, 12M) holds that range, no
 * more; every user path refuses it with EBUSY and "owned by the vm (guest
 * RAM, node 0)", changing neither avail nor its blocks; the VM's own free
 * by id succeeds and the node is whole again.
 */
START_TEST(test_vm_owned)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	struct gm_alloc_info *ram, *again;
	struct gm_cmd_result res;
	struct gm_error e;
	struct gm_cmd cmd;
	char out[256];
	uint64_t avail;
	int ret;

	ram = vm_ram(mem, 0, 4 * MIB, 8 * MIB, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(ram->size, 8 * MIB);
	ck_assert_uint_eq(ram->blocks[0].gpa, 4 * MIB);
	ck_assert_uint_eq(ram->blocks[ram->nr_blocks - 1].gpa +
			  ram->blocks[ram->nr_blocks - 1].size, 12 * MIB);
	ck_assert_int_eq(ram->req.owner, GM_OWNER_VM);
	avail = nstat(mem, 0).avail;

	ck_assert_int_eq(gm_free(mem, "vm.ram0", &e), -EBUSY);
	ck_assert_str_eq(e.msg, "owned by the vm (guest RAM, node 0)");
	ck_assert_int_eq(gm_free_id(mem, ram->id, GM_OWNER_USER, &e), -EBUSY);
	ck_assert_str_eq(e.msg, "owned by the vm (guest RAM, node 0)");
	ck_assert_int_eq(gm_alloc_check_owner(mem, ram->id, GM_OWNER_USER, &e), -EBUSY);
	ck_assert_int_eq(gm_alloc_check_owner(mem, ram->id, GM_OWNER_VM, &e), 0);
	ck_assert_int_eq(gm_cmd_exec(mem, "free vm.ram0", out, sizeof(out)), -EBUSY);
	ck_assert_str_eq(out, "err vm.ram0 EBUSY owned by the vm (guest RAM, node 0)\n");
	/* a parsed line, run: the result carries name, errno and message */
	ck_assert_int_eq(gm_cmd_parse("free vm.ram0", &cmd, &e), 0);
	ck_assert_int_eq(gm_cmd_run(mem, &cmd, &res), -EBUSY);
	ck_assert_str_eq(res.name, "vm.ram0");
	ck_assert_int_eq(res.err.err, EBUSY);
	gm_cmd_result_release(&res);
	ck_assert_uint_eq(nstat(mem, 0).avail, avail);
	ck_assert_int_eq(gm_alloc_get_id(mem, ram->id, &again), 0);
	ck_assert_uint_eq(again->nr_blocks, ram->nr_blocks);
	ck_assert_uint_eq(again->blocks[0].gpa, ram->blocks[0].gpa);
	gm_alloc_info_free(again);

	ck_assert_int_eq(gm_free_id(mem, ram->id, GM_OWNER_VM, &e), 0);
	ck_assert_int_eq(gm_free_id(mem, ram->id, GM_OWNER_VM, &e), -ENOENT);
	ck_assert_uint_eq(nstat(mem, 0).avail, 16 * MIB);
	gm_alloc_info_free(ram);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Expect: user names cannot enter "vm." (EPERM, through gm_alloc, the
 * grammar and gm_name_reserve), the VM's names must (EINVAL), the VM does
 * not get auto names; a user allocation named like old guest RAM ("ram0")
 * is just the user's.
 */
START_TEST(test_namespaces)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	struct gm_request r = mkreq("vm.x", 0, 4096, 0, GM_MODE_SIMPLE, 0);
	struct gm_error e;
	char out[256];
	uint64_t id;

	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EPERM);
	ck_assert_int_eq(gm_name_reserve(mem, "vm.x", &id, &e), -EPERM);
	ck_assert_int_eq(gm_cmd_exec(mem, "alloc name=vm.x node=0 size=4K", out,
				     sizeof(out)), -EPERM);
	ck_assert_ptr_nonnull(strstr(out, "err vm.x EPERM"));
	r.owner = GM_OWNER_VM;
	snprintf(r.name, sizeof(r.name), "ram0");
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	r.name[0] = '\0';
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EINVAL);
	ck_assert(gm_name_valid("vm.ram0", GM_OWNER_VM));
	ck_assert(!gm_name_valid("vm.ram0", GM_OWNER_USER));
	ck_assert(gm_name_valid("ram0", GM_OWNER_USER));
	ck_assert(!gm_name_valid("ram0", GM_OWNER_VM));
	ck_assert_int_eq(gm_cmd_exec(mem, "alloc name=ram0 node=0 size=4K", out,
				     sizeof(out)), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 16 * MIB - 4096);
	ck_assert_int_eq(gm_free(mem, "ram0", &e), 0);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Expect: a reserved name is listed (pending), blocks both a second
 * reservation and an allocation of the name (EEXIST), is no allocation
 * for gm_free (ENOENT) and has no bytes; committing it keeps its id and
 * place; gm_free_id drops a pending one. Ids ascend and are never reused.
 */
START_TEST(test_reservations)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	struct gm_request r = mkreq("p", 0, 8192, 0, GM_MODE_SIMPLE, 0);
	struct gm_alloc_info *info;
	struct gm_alloc_entry ent, *v;
	struct gm_error e;
	uint64_t id, id2, first;
	unsigned nr;
	char b[8];

	ck_assert_int_eq(gm_alloc(mem, &r, &info, &e), 0);	/* "p" live */
	first = info->id;
	gm_alloc_info_free(info);
	ck_assert_int_eq(gm_free(mem, "p", &e), 0);
	ck_assert_int_eq(gm_name_reserve(mem, "p", &id, &e), 0);
	ck_assert_uint_gt(id, first);				/* not reused */
	ck_assert_int_eq(gm_name_reserve(mem, "p", &id2, &e), -EEXIST);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EEXIST);
	ck_assert_int_eq(gm_free(mem, "p", &e), -ENOENT);
	ck_assert_int_eq(gm_alloc_lookup(mem, "p", &ent), 0);
	ck_assert(ent.pending);
	ck_assert_uint_eq(ent.id, id);
	ck_assert_int_eq(gm_alloc_rw(mem, id, b, sizeof(b), 0, false), 0);
	ck_assert_int_eq(gm_alloc_rw(mem, id, b, sizeof(b), 0, true), -EFBIG);
	ck_assert_int_eq(gm_name_reserve(mem, "q", &id2, &e), 0);

	/* commit p: same id, no longer pending; q stays pending after it */
	r.name[0] = '\0';
	r.reserved_id = id;
	ck_assert_int_eq(gm_alloc(mem, &r, &info, &e), 0);
	ck_assert_uint_eq(info->id, id);
	ck_assert_str_eq(info->req.name, "p");
	gm_alloc_info_free(info);
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -EBUSY);	/* twice */
	ck_assert_int_eq(gm_alloc_list(mem, &v, &nr), 0);
	ck_assert_uint_eq(nr, 2);
	ck_assert_str_eq(v[0].name, "p");
	ck_assert(!v[0].pending);
	ck_assert_uint_eq(v[0].size, 8192);
	ck_assert_str_eq(v[1].name, "q");
	ck_assert(v[1].pending);
	free(v);

	/* a failed commit leaves the reservation pending */
	r.reserved_id = id2;
	r.size = 64 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &r, NULL, &e), -ENOSPC);
	ck_assert_int_eq(gm_alloc_lookup_id(mem, id2, &ent), 0);
	ck_assert(ent.pending);
	ck_assert_int_eq(gm_free_id(mem, id2, GM_OWNER_USER, &e), 0);
	ck_assert_int_eq(gm_alloc_lookup(mem, "q", &ent), -ENOENT);
	ck_assert_int_eq(gm_free_id(mem, id, GM_OWNER_USER, &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 16 * MIB);
	gm_mem_destroy(mem);
}
END_TEST

/* ---- two claims on one name, raced ---- */

#define RACE_ROUNDS	20000

/*
 * The two threads swap roles every round: thread i reserves (kind 0) in
 * rounds where (i + round) is even and allocates (kind 1) otherwise. Where
 * the threads truly run in parallel each round is a race; where they share
 * one CPU (a loaded machine) the one the scheduler wakes first wins, and
 * the swap still makes each kind win in some rounds.
 */
struct racer {
	struct gm_mem *mem;
	int idx;			/* 0 or 1 */
	unsigned *round;		/* shared: the round to run */
	unsigned *done;
	unsigned won;			/* rounds this thread won */
	unsigned won_kind[2];		/* ... as reserve (0), as alloc (1) */
};

static void *race(void *arg)
{
	struct racer *r = arg;
	unsigned seen = 0;

	while (seen < RACE_ROUNDS) {
		struct gm_request req;
		struct gm_error e;
		uint64_t id;
		char name[16];
		unsigned k;
		bool ok;

		while ((k = __atomic_load_n(r->round, __ATOMIC_ACQUIRE)) == seen)
			sched_yield();
		seen = k;
		snprintf(name, sizeof(name), "x%u", k);
		if (!((r->idx + k) & 1)) {
			ok = !gm_name_reserve(r->mem, name, &id, &e);
			r->won_kind[0] += ok;
		} else {
			req = mkreq(name, 0, 4096, 0, GM_MODE_SIMPLE, 0);
			ok = !gm_alloc(r->mem, &req, NULL, &e);
			r->won_kind[1] += ok;
		}
		r->won += ok;
		__atomic_add_fetch(r->done, 1, __ATOMIC_ACQ_REL);
	}
	return NULL;
}

/*
 * Expect: RACE_ROUNDS times, gm_name_reserve (mkdir) and gm_alloc of the
 * same name start together on two threads: exactly one wins every round,
 * and one gm_free_id of the winner empties the table again; each kind of
 * claim wins in some rounds.
 */
START_TEST(test_name_race)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	unsigned round = 0, done = 0, wins = 0;
	struct racer rc[2] = {
		{ mem, 0, &round, &done, 0, { 0 } }, { mem, 1, &round, &done, 0, { 0 } },
	};
	pthread_t t[2];
	unsigned bad = 0;

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race, &rc[i]), 0);
	for (unsigned k = 1; k <= RACE_ROUNDS; k++) {
		struct gm_alloc_entry ent;
		struct gm_error e;
		char name[16];

		__atomic_store_n(&done, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&round, k, __ATOMIC_RELEASE);
		while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < 2)
			sched_yield();
		snprintf(name, sizeof(name), "x%u", k);
		if (rc[0].won + rc[1].won != wins + 1)
			bad++;
		wins = rc[0].won + rc[1].won;
		if (gm_alloc_lookup(mem, name, &ent) ||
		    gm_free_id(mem, ent.id, GM_OWNER_USER, &e) ||
		    !gm_alloc_lookup(mem, name, &ent))
			bad++;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ck_assert_msg(bad == 0, "%u of %d rounds without exactly one owner", bad,
		      RACE_ROUNDS);
	/* both kinds of claim won sometimes */
	ck_assert_uint_gt(rc[0].won_kind[0] + rc[1].won_kind[0], 0);
	ck_assert_uint_gt(rc[0].won_kind[1] + rc[1].won_kind[1], 0);
	ck_assert_uint_eq(nstat(mem, 0).avail, 16 * MIB);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Expect: when the allocator refuses one block of a free (here the buddy
 * already took it back behind the table's back: a table/allocator
 * mismatch), gm_free fails with EIO, the allocation stays listed with all
 * its blocks, and the blocks it had given back are taken again: avail is
 * what it was before the call.
 */
START_TEST(test_free_mismatch)
{
	struct gm_mem *mem = mkmem("0:16M", 0, NULL, true);
	struct gm_request h = mkreq("hole", 0, 4 * MIB, 4 * MIB, GM_MODE_RANGE, 0);
	struct gm_request r = mkreq("two", 0, 8 * MIB, 4 * MIB, GM_MODE_RANGE, 0);
	struct gm_alloc_info *info, *after;
	struct gm_node *n;
	struct gm_error e;
	uint64_t avail;
	int ret;

	h.range_start = 4 * MIB;	/* two blocks: [0, 4M) and [8M, 12M) */
	h.range_end = 8 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &h, NULL, &e), 0);
	r.range_start = 0;
	r.range_end = 12 * MIB;
	info = alloc_info(mem, &r, &ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(info->nr_blocks, 2);
	/* corrupt: the second block goes back to the buddy behind the table */
	n = &mem->node[0];
	ck_assert_int_eq(gm_buddy_free(n->buddy, info->blocks[1].gpa,
				       info->blocks[1].order, false), 0);
	avail = nstat(mem, 0).avail;
	ck_assert_int_eq(gm_free(mem, "two", &e), -EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "kept"));
	ck_assert_uint_eq(nstat(mem, 0).avail, avail);
	ck_assert_int_eq(gm_alloc_get(mem, "two", &after), 0);
	ck_assert_uint_eq(after->nr_blocks, 2);
	ck_assert_uint_eq(after->blocks[0].gpa, info->blocks[0].gpa);
	gm_alloc_info_free(after);
	gm_alloc_info_free(info);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("owner", test_vm_owned, test_namespaces, test_reservations,
		  test_name_race, test_free_mismatch);
}
