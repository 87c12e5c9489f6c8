// SPDX-License-Identifier: MIT
/*
 * test_hotplug.c - a node's hot-plug region (guestmem: layout, retire,
 * from=hotplug): where it lies, that only the VM allocates in it and only
 * whole blocks, that the buddy and the shell's grammar never reach it, and
 * that a plug's memory is zero and an unplug gives the host pages back.
 */
#include <errno.h>

#include "helpers.h"
#include "internal.h"

static struct gm_mem *mkhp(const char *numa, const char *hp, const char *block,
			   bool retire)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa(numa, &cfg, &e), 0);
	ck_assert_msg(gm_parse_hotplug(hp, &cfg, &e) == 0, "%s", e.msg);
	if (block)
		ck_assert_msg(gm_parse_hotplug_block(block, &cfg, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_mem_create(&cfg, &mem, &e) == 0, "%s", e.msg);
	if (retire)
		ck_assert_msg(gm_mem_retire(mem, &e) == 0, "%s", e.msg);
	return mem;
}

static struct gm_request plug_req(unsigned node, uint64_t start, uint64_t size)
{
	struct gm_request r;

	gm_request_init(&r);
	r.owner = GM_OWNER_VM;
	snprintf(r.name, sizeof(r.name), "vm.hp%u.%llx", node, (unsigned long long)start);
	r.node = node;
	r.from = GM_FROM_HOTPLUG;
	r.mode = GM_MODE_RANGE;
	r.range_start = start;
	r.range_end = start + size;
	r.size = size;
	return r;
}

/*
 *   node0 [0, 512M) | hp0 [512M, 768M)         node1 [4G, 4.5G) | hp1 [4.5G, 5.5G)
 *   node2 starts at the first 1G boundary after node1's region: 6G.
 * Expect the regions after each node's RAM, in its span, 128M-aligned.
 */
START_TEST(test_layout)
{
	struct gm_mem *mem = mkhp("0:512M,1:512M,2:256M", "0:256M,1:1G", NULL, true);
	struct gm_range r[4];
	struct gm_node_stat st;

	st = nstat(mem, 0);
	ck_assert_uint_eq(st.hotplug_base, 512 * MIB);
	ck_assert_uint_eq(st.hotplug_size, 256 * MIB);
	ck_assert_uint_eq(st.hotplug_block, 2 * MIB);
	ck_assert_uint_eq(st.end, 768 * MIB);
	ck_assert_uint_eq(st.size, 512 * MIB);		/* RAM: the buddy's */
	st = nstat(mem, 1);
	ck_assert_uint_eq(st.hotplug_base, 4 * GIB + 512 * MIB);
	ck_assert_uint_eq(st.end, 5 * GIB + 512 * MIB);
	ck_assert_int_eq(gm_node_ranges(mem, 1, r, 4), 2);
	ck_assert_uint_eq(r[1].start, 4 * GIB + 512 * MIB);
	ck_assert_uint_eq(r[1].size, GIB);
	st = nstat(mem, 2);
	ck_assert_uint_eq(st.start, 6 * GIB);
	ck_assert_uint_eq(st.hotplug_size, 0);
	ck_assert_int_eq(gm_node_find(mem, 5 * GIB), 1);
	gm_mem_destroy(mem);

	/* RAM not 128M-aligned: the region starts at the next boundary */
	mem = mkhp("0:100M", "0:128M", NULL, false);
	st = nstat(mem, 0);
	ck_assert_uint_eq(st.hotplug_base, 128 * MIB);
	gm_mem_destroy(mem);
	/* node 0 near the hole: the region goes above 4G */
	mem = mkhp("0:2944M", "0:256M", NULL, false);
	st = nstat(mem, 0);
	ck_assert_uint_eq(st.hotplug_base, 4 * GIB);
	gm_mem_destroy(mem);
}
END_TEST

/* Expect option errors for sizes that are not 128M multiples, bad blocks, no node. */
START_TEST(test_parse)
{
	struct gm_config cfg;
	struct gm_error e;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:512M,1:512M", &cfg, &e), 0);
	ck_assert_int_eq(gm_parse_hotplug("1:100M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug("1:0", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug("2:128M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug("1:128M,1:128M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug("1:1G,", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug("1:1Q", &cfg, &e), -EINVAL);
	ck_assert_uint_eq(cfg.node[1].hotplug_size, 0);
	ck_assert_int_eq(gm_parse_hotplug("1:1G", &cfg, &e), 0);
	ck_assert_uint_eq(cfg.node[1].hotplug_size, GIB);
	ck_assert_int_eq(gm_parse_hotplug_block("3M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug_block("1M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug_block("256M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_hotplug_block("99999999999999999999", &cfg, &e), -ERANGE);
	ck_assert_int_eq(gm_parse_hotplug_block("4M", &cfg, &e), 0);
	ck_assert_uint_eq(cfg.node[1].hotplug_block, 4 * MIB);
}
END_TEST

/*
 * The buddy never holds the region: avail is the RAM only, a range
 * allocation there and a whole-node allocation find no room; the shell
 * (owner user, or the grammar) cannot ask for from=hotplug.
 */
START_TEST(test_not_the_shells)
{
	struct gm_mem *mem = mkhp("0:64M,1:64M", "1:256M", NULL, true);
	struct gm_node_stat st = nstat(mem, 1);
	struct gm_request req;
	struct gm_cmd cmd;
	struct gm_error e;
	char out[512];

	ck_assert_uint_eq(st.avail, 64 * MIB);
	gm_request_init(&req);
	req.node = 1;
	req.size = 2 * MIB;
	req.mode = GM_MODE_RANGE;
	req.range_start = st.hotplug_base;
	req.range_end = st.hotplug_base + 2 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -ENOSPC);
	req.mode = GM_MODE_SIMPLE;
	req.size = 65 * MIB;
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -ENOSPC);
	req = plug_req(1, st.hotplug_base, 2 * MIB);
	req.owner = GM_OWNER_USER;
	req.name[0] = '\0';
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EPERM);
	ck_assert_int_eq(gm_cmd_parse("alloc node=1 size=2M from=hotplug", &cmd, &e), -EINVAL);
	snprintf(out, sizeof(out), "alloc node=1 size=2M mode=range:0x%llx-0x%llx",
		 (unsigned long long)st.hotplug_base,
		 (unsigned long long)st.hotplug_base + 2 * MIB);
	ck_assert_int_eq(gm_cmd_exec(mem, out, out, sizeof(out)), -ENOSPC);
	ck_assert_uint_eq(nstat(mem, 1).hotplug_used, 0);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Plugs are exact whole-block ranges of the region: misaligned, partial,
 * outside, overlapping and on a node without a region are refused and
 * change nothing; an unplug frees exactly the plug; the bitmap shows it.
 */
START_TEST(test_plug_rules)
{
	struct gm_mem *mem = mkhp("0:64M,1:64M", "1:256M", "4M", true);
	uint64_t b = nstat(mem, 1).hotplug_base;
	struct gm_alloc_info *info;
	struct gm_request req;
	struct gm_error e;
	char *bm;

	req = plug_req(1, b + 2 * MIB, 4 * MIB);		/* not on a block */
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	req = plug_req(1, b, 6 * MIB);				/* not whole blocks */
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	req = plug_req(1, b + 252 * MIB, 8 * MIB);		/* past the end */
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	req = plug_req(0, b, 4 * MIB);				/* node 0 has none */
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	req = plug_req(1, b + 8 * MIB, 8 * MIB);
	req.size = 4 * MIB;					/* size != range */
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EINVAL);
	ck_assert_uint_eq(nstat(mem, 1).hotplug_used, 0);

	req = plug_req(1, b + 8 * MIB, 8 * MIB);
	ck_assert_msg(gm_alloc(mem, &req, &info, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(info->nr_blocks, 1);
	ck_assert_uint_eq(info->blocks[0].gpa, b + 8 * MIB);
	ck_assert_uint_eq(info->size, 8 * MIB);
	ck_assert_uint_eq(nstat(mem, 1).hotplug_used, 8 * MIB);
	ck_assert_int_eq(gm_node_hotplug_bitmap(mem, 1, &bm), 0);
	ck_assert_str_eq(bm, "0011000000000000000000000000000000000000000000000000000000000000\n");
	free(bm);
	req = plug_req(1, b + 12 * MIB, 8 * MIB);
	snprintf(req.name, sizeof(req.name), "vm.other");
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), -EBUSY);	/* overlaps */
	ck_assert_int_eq(gm_free(mem, info->req.name, &e), -EBUSY);	/* not the shell's */
	ck_assert_int_eq(gm_free_id(mem, info->id, GM_OWNER_VM, &e), 0);
	ck_assert_uint_eq(nstat(mem, 1).hotplug_used, 0);
	ck_assert_int_eq(gm_alloc(mem, &req, NULL, &e), 0);
	gm_alloc_info_free(info);
	gm_mem_destroy(mem);
}
END_TEST

/* Node 0 of 64 MiB, backed and retired, with a 128 MiB region at *@b
 * whose first @len bytes the host sees at *@p. */
static struct gm_mem *mkhp_backed(uint64_t *b, char **p, uint64_t len)
{
	struct gm_mem *mem = mkhp("0:64M", "0:128M", NULL, false);
	struct gm_error e;

	ck_assert_msg(gm_mem_back(mem, 0, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_mem_retire(mem, &e) == 0, "%s", e.msg);
	*b = nstat(mem, 0).hotplug_base;
	*p = gm_mem_hva(mem, *b, len);
	ck_assert_ptr_nonnull(*p);
	return mem;
}

/* Backed: a plug reads zero even after the guest wrote there and unplugged. */
START_TEST(test_backed_zero)
{
	struct gm_alloc_info *info;
	struct gm_request req;
	struct gm_error e;
	uint64_t b;
	char *p;
	struct gm_mem *mem = mkhp_backed(&b, &p, 4 * MIB);

	req = plug_req(0, b, 4 * MIB);
	ck_assert_int_eq(gm_alloc(mem, &req, &info, &e), 0);
	memset(p, 0xa5, 4 * MIB);
	ck_assert_uint_eq(resident_pages(p, 4 * MIB), 1024);
	ck_assert_int_eq(gm_free_id(mem, info->id, GM_OWNER_VM, &e), 0);
	ck_assert_uint_eq(resident_pages(p, 4 * MIB), 0);
	gm_alloc_info_free(info);
	ck_assert_int_eq(gm_alloc(mem, &req, &info, &e), 0);
	for (uint64_t i = 0; i < 4 * MIB; i += 4096)
		ck_assert_int_eq(p[i], 0);
	gm_alloc_info_free(info);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * gm_free_ids(): an unplug of many blocks at once. All or nothing when an
 * id is missing, listed twice or another owner's; else every block goes
 * back, reads zero and holds no host page, and can be plugged again.
 */
START_TEST(test_free_ids)
{
	struct gm_alloc_info *info;
	struct gm_request req;
	struct gm_error e;
	uint64_t b, id[8], bad[3];
	char *p;
	struct gm_mem *mem = mkhp_backed(&b, &p, 16 * MIB);

	for (unsigned i = 0; i < 8; i++) {
		req = plug_req(0, b + i * 2 * MIB, 2 * MIB);
		ck_assert_int_eq(gm_alloc(mem, &req, &info, &e), 0);
		id[i] = info->id;
		gm_alloc_info_free(info);
	}
	memset(p, 0x5a, 16 * MIB);
	ck_assert_uint_eq(nstat(mem, 0).hotplug_used, 16 * MIB);

	bad[0] = id[0], bad[1] = id[1] + 1000, bad[2] = id[2];	/* no such id */
	ck_assert_int_eq(gm_free_ids(mem, bad, 3, GM_OWNER_VM, &e), -ENOENT);
	bad[1] = id[0];						/* listed twice */
	ck_assert_int_eq(gm_free_ids(mem, bad, 3, GM_OWNER_VM, &e), -ENOENT);
	ck_assert_int_eq(gm_free_ids(mem, id, 8, GM_OWNER_USER, &e), -EBUSY);
	ck_assert_int_eq(gm_free_ids(NULL, id, 8, GM_OWNER_VM, &e), -EINVAL);
	ck_assert_uint_eq(nstat(mem, 0).hotplug_used, 16 * MIB);	/* nothing lost */
	ck_assert_uint_eq(resident_pages(p, 16 * MIB), 4096);
	ck_assert_int_eq(p[16 * MIB - 1], 0x5a);

	/* out of order, a gap (block 3 stays): two spans */
	bad[0] = id[7], bad[1] = id[0], bad[2] = id[1];
	ck_assert_int_eq(gm_free_ids(mem, bad, 3, GM_OWNER_VM, &e), 0);
	ck_assert_int_eq(gm_free_ids(mem, id + 2, 1, GM_OWNER_VM, &e), 0);
	ck_assert_int_eq(gm_free_ids(mem, id + 4, 3, GM_OWNER_VM, &e), 0);
	ck_assert_int_eq(gm_free_ids(mem, id, 0, GM_OWNER_VM, &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).hotplug_used, 2 * MIB);
	ck_assert_uint_eq(resident_pages(p, 6 * MIB), 0);
	ck_assert_uint_eq(resident_pages(p + 6 * MIB, 2 * MIB), 512);	/* block 3 */
	ck_assert_uint_eq(resident_pages(p + 8 * MIB, 8 * MIB), 0);
	ck_assert_int_eq(gm_free_ids(mem, id + 3, 1, GM_OWNER_VM, &e), 0);
	ck_assert_uint_eq(nstat(mem, 0).hotplug_used, 0);

	req = plug_req(0, b, 16 * MIB);
	ck_assert_int_eq(gm_alloc(mem, &req, &info, &e), 0);
	for (uint64_t i = 0; i < 16 * MIB; i += 4096)
		ck_assert_int_eq(p[i], 0);
	gm_alloc_info_free(info);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("hotplug", test_layout, test_parse, test_not_the_shells,
		  test_plug_rules, test_backed_zero, test_free_ids);
}
