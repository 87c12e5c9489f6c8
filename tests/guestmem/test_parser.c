// SPDX-License-Identifier: MIT
/*
 * test_parser.c - sizes, --numa, --cma and every error path of the control
 * grammar (guestmem/config.c, guestmem/cmd.c), each with its errno.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "../check-run.h"

START_TEST(test_sizes)
{
	static const struct { const char *s; int ret; uint64_t v; } c[] = {
		{ "4096", 0, 4096 }, { "0x1000", 0, 4096 }, { "0X1f", 0, 31 },
		{ "16M", 0, 16ULL << 20 }, { "16m", 0, 16ULL << 20 },
		{ "1G", 0, 1ULL << 30 }, { "2T", 0, 2ULL << 40 }, { "4k", 0, 4096 },
		{ "0", 0, 0 }, { "0x10K", 0, 16384 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 }, { "16777216T", -ERANGE, 0 },
		{ "0x10000000000000000", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "M", -EINVAL, 0 }, { "0x", -EINVAL, 0 },
		{ "4KB", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 }, { "1P", -EINVAL, 0 }, { "12abc", -EINVAL, 0 },
		{ "+5", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t v = 12345;
		int ret = gm_parse_size(c[i].s, &v);

		ck_assert_msg(ret == c[i].ret, "'%s' gave %d", c[i].s, ret);
		if (!ret)
			ck_assert_uint_eq(v, c[i].v);
		else
			ck_assert_uint_eq(v, 12345);	/* untouched on error */
	}
}
END_TEST

/* gm_format_size() is gm_parse_size()'s inverse: the largest exact unit. */
START_TEST(test_format_size)
{
	static const struct { uint64_t v; const char *s; } c[] = {
		{ 0, "0" }, { 1, "1" }, { 4095, "4095" }, { 4096, "4K" },
		{ 12288, "12K" }, { 512ULL << 20, "512M" }, { 1536ULL << 20, "1536M" },
		{ 1ULL << 30, "1G" }, { 3ULL << 40, "3T" }, { (1ULL << 40) + 4096, "1073741828K" },
		{ UINT64_MAX, "18446744073709551615" }, { 1ULL << 63, "8388608T" },
	};
	char buf[GM_SIZE_STR_MAX];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t back;

		ck_assert_str_eq(gm_format_size(c[i].v, buf), c[i].s);
		ck_assert_int_eq(gm_parse_size(buf, &back), 0);
		ck_assert_uint_eq(back, c[i].v);
	}
}
END_TEST

START_TEST(test_numa)
{
	struct gm_config cfg;
	struct gm_error e;

	gm_config_init(&cfg);
	ck_assert_uint_eq(cfg.chunk_size, GM_DEFAULT_CHUNK);
	ck_assert_int_eq(gm_parse_numa("1:512M,0:1G@1", &cfg, &e), 0);
	ck_assert_uint_eq(cfg.nr_nodes, 2);
	ck_assert_uint_eq(cfg.node[0].size, 1ULL << 30);
	ck_assert_int_eq(cfg.node[0].host_node, 1);
	ck_assert_uint_eq(cfg.node[1].size, 512ULL << 20);
	ck_assert_int_eq(cfg.node[1].host_node, -1);

	static const char *bad[] = {
		"", "0:1G,0:2G", "1:1G", "0:1G,2:1G", "0:0", "0:1000", "0:1G,",
		",0:1G", "0:1G,,1:1G", "0", "0:", "x:1G", "0:1G@", "0:1G@x",
		"64:1G", "0:1Gx", "0:1G@1@2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gm_config before = cfg;

		memset(&e, 0, sizeof(e));
		ck_assert_msg(gm_parse_numa(bad[i], &cfg, &e) == -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_int_eq(e.err, EINVAL);
		ck_assert_msg(e.msg[0], "no message for '%s'", bad[i]);
		ck_assert_msg(!memcmp(&before, &cfg, sizeof(cfg)), "'%s' changed cfg", bad[i]);
	}
	ck_assert_int_eq(gm_parse_numa("0:99999999999999999999", &cfg, &e), -ERANGE);
}
END_TEST

START_TEST(test_cma)
{
	struct gm_config cfg;
	struct gm_error e;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_cma("0:64M", &cfg, &e), -EINVAL); /* no nodes yet */
	ck_assert_int_eq(gm_parse_numa("0:1G,1:512M", &cfg, &e), 0);
	ck_assert_int_eq(gm_parse_cma("1:32M,0:64M", &cfg, &e), 0);
	ck_assert_uint_eq(cfg.node[0].cma_size, 64ULL << 20);
	ck_assert_uint_eq(cfg.node[1].cma_size, 32ULL << 20);

	static const char *bad[] = {
		"2:64M", "0:64M,0:32M", "0:1G", "0:2G", "0:6K", "0:", "0",
		"0:64M,", "a:1M", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gm_config before = cfg;

		ck_assert_msg(gm_parse_cma(bad[i], &cfg, &e) == -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_msg(!memcmp(&before, &cfg, sizeof(cfg)), "'%s' changed cfg", bad[i]);
	}
	cfg.chunk_size = 2ULL << 20;
	ck_assert_int_eq(gm_parse_cma("0:3M", &cfg, &e), -EINVAL);
	ck_assert_int_eq(gm_parse_cma("0:4M", &cfg, &e), 0);
}
END_TEST

START_TEST(test_cmd_ok)
{
	struct gm_cmd c;
	struct gm_error e;

	ck_assert_int_eq(gm_cmd_parse("alloc name=buf node=1 size=16M align=16M "
				      "mode=topdown flags=contiguous,clear\n", &c, &e), 0);
	ck_assert_int_eq(c.type, GM_CMD_ALLOC);
	ck_assert_str_eq(c.req.name, "buf");
	ck_assert_str_eq(c.name, "buf");
	ck_assert_uint_eq(c.req.node, 1);
	ck_assert_uint_eq(c.req.size, 16ULL << 20);
	ck_assert_uint_eq(c.req.align, 16ULL << 20);
	ck_assert_int_eq(c.req.mode, GM_MODE_TOPDOWN);
	ck_assert_int_eq(c.req.from, GM_FROM_BUDDY);
	ck_assert_uint_eq(c.req.flags, GM_F_CONTIGUOUS | GM_F_CLEAR);

	ck_assert_int_eq(gm_cmd_parse("\talloc  node=0   size=0x2000 from=cma "
				      "flags=noclear", &c, &e), 0);
	ck_assert_str_eq(c.req.name, "");
	ck_assert_int_eq(c.req.from, GM_FROM_CMA);
	ck_assert_uint_eq(c.req.flags, GM_F_NOCLEAR);
	ck_assert_uint_eq(c.req.align, 0);

	ck_assert_int_eq(gm_cmd_parse("alloc node=0 size=8M mode=range:0x400000-16M "
				      "flags=fallback,trim_disable", &c, &e), 0);
	ck_assert_int_eq(c.req.mode, GM_MODE_RANGE);
	ck_assert_uint_eq(c.req.range_start, 0x400000);
	ck_assert_uint_eq(c.req.range_end, 16ULL << 20);
	ck_assert_uint_eq(c.req.flags, GM_F_FALLBACK | GM_F_TRIM_DISABLE);

	ck_assert_int_eq(gm_cmd_parse("free x-1.y_z", &c, &e), 0);
	ck_assert_int_eq(c.type, GM_CMD_FREE);
	ck_assert_str_eq(c.name, "x-1.y_z");
	ck_assert_int_eq(gm_cmd_parse("stat", &c, &e), 0);
	ck_assert_int_eq(c.type, GM_CMD_STAT);
	ck_assert(!c.has_node);
	ck_assert_int_eq(gm_cmd_parse("stat node=3\r\n", &c, &e), 0);
	ck_assert(c.has_node);
	ck_assert_uint_eq(c.node, 3);
}
END_TEST

/* Every grammar error: the errno, a message, and the name if one parsed. */
START_TEST(test_cmd_errors)
{
	static const struct { const char *line; int err; const char *name; } c[] = {
		{ "", EINVAL, "" },
		{ "   ", EINVAL, "" },
		{ "allocate node=0 size=4K", EINVAL, "" },
		{ "alloc node=0", EINVAL, "" },			/* missing size */
		{ "alloc size=4K", EINVAL, "" },		/* missing node */
		{ "alloc name=x node=0 size=4K size=8K", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K name=y", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K colour=red", EINVAL, "x" },
		{ "alloc name=x node=0 size=", EINVAL, "x" },
		{ "alloc name=x node= size=4K", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K junk", EINVAL, "x" },
		{ "alloc name=x node=zero size=4K", EINVAL, "x" },
		{ "alloc name=x node=-1 size=4K", EINVAL, "x" },
		{ "alloc name=x node=0 size=4Q", EINVAL, "x" },
		{ "alloc name=x node=0 size=0", EINVAL, "x" },
		{ "alloc name=x node=0 size=99999999999999999999", ERANGE, "x" },
		{ "alloc name=x node=0 size=4K align=3K", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K align=0", EINVAL, "x" },
		{ "alloc name=x node=0 size=0xfffffffffffff001 align=4K", ERANGE, "x" },
		{ "alloc name=x node=0 size=4K from=slab", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K mode=bottomup", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K mode=range:4M", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K mode=range:4M-4M", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K mode=range:8M-4M", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K mode=range:-4M", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K mode=range:0-4Z", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K flags=sticky", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K flags=clear,,noclear", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K flags=clear,", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K flags=clear,clear", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K from=cma mode=topdown", EINVAL, "x" },
		{ "alloc name=x node=0 size=4K from=cma flags=fallback", EINVAL, "x" },
		{ "alloc name=.x node=0 size=4K", EINVAL, "" },
		{ "alloc name=.. node=0 size=4K", EINVAL, "" },
		{ "alloc name=a/b node=0 size=4K", EINVAL, "" },
		{ "alloc name=a*b node=0 size=4K", EINVAL, "" },
		{ "alloc name=0123456789012345678901234567890123456789012345678901234567890123 node=0 size=4K",
		  EINVAL, "" },
		{ "alloc name=x node=0 size=4K\x01", EINVAL, "" },
		{ "alloc name=x node=0 size=4K\xc3\xa9", EINVAL, "" },
		{ "alloc name=x\x7f node=0 size=4K", EINVAL, "" },
		{ "free", EINVAL, "" },
		{ "free a b", EINVAL, "" },
		{ "free .hidden", EINVAL, "" },
		{ "stat node=x", EINVAL, "" },
		{ "stat 0", EINVAL, "" },
		{ "stat node=0 node=1", EINVAL, "" },
		{ "alloc a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 p=16 q=17",
		  EINVAL, "" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct gm_cmd cmd;
		struct gm_error e = { 0 };
		int ret = gm_cmd_parse(c[i].line, &cmd, &e);

		ck_assert_msg(ret == -c[i].err, "'%s' gave %d, want %d", c[i].line,
			      ret, -c[i].err);
		ck_assert_int_eq(e.err, c[i].err);
		ck_assert_msg(strlen(e.msg) > 5, "'%s': no message", c[i].line);
		ck_assert_msg(!strchr(e.msg, '\n'), "'%s': multi-line message", c[i].line);
		ck_assert_msg(!strcmp(cmd.name, c[i].name), "'%s': name '%s'",
			      c[i].line, cmd.name);
	}
}
END_TEST

START_TEST(test_cmd_overlong)
{
	char line[2100];
	struct gm_cmd cmd;
	struct gm_error e;

	strcpy(line, "alloc node=0 size=4K name=x");
	memset(line + strlen(line), ' ', sizeof(line) - strlen(line) - 1);
	line[sizeof(line) - 1] = '\0';
	ck_assert_int_eq(gm_cmd_parse(line, &cmd, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer"));
	line[1000] = '\0';		/* under the limit: trailing blanks are fine */
	ck_assert_int_eq(gm_cmd_parse(line, &cmd, &e), 0);
}
END_TEST

START_TEST(test_errno_names)
{
	ck_assert_str_eq(gm_errno_name(EINVAL), "EINVAL");
	ck_assert_str_eq(gm_errno_name(-ENOSPC), "ENOSPC");
	ck_assert_str_eq(gm_errno_name(ERANGE), "ERANGE");
	ck_assert_str_eq(gm_errno_name(EEXIST), "EEXIST");
	ck_assert_str_eq(gm_errno_name(ENOENT), "ENOENT");
	ck_assert_str_eq(gm_errno_name(EBUSY), "EBUSY");
	ck_assert_str_eq(gm_errno_name(12345), "E?");
}
END_TEST

/* gm_cmd_exec(): return values, one line per command, cut output. */
START_TEST(test_cmd_exec)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;
	char out[256], tiny[12];

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:16M,1:8M", &cfg, &e), 0);
	ck_assert_int_eq(gm_mem_create(&cfg, &mem, &e), 0);
	ck_assert_int_eq(gm_cmd_exec(mem, "alloc node=0 size=4K", out, sizeof(out)), -EBUSY);
	ck_assert_str_eq(out, "err - EBUSY memory not retired from the early phase yet\n");
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	ck_assert_int_eq(gm_cmd_exec(mem, "alloc name=b node=1 size=12K flags=contiguous\n",
				     out, sizeof(out)), 0);
	ck_assert_str_eq(out, "ok b node=1 blocks=0x1007fc000+0x3000\n");	/* 2 blocks, one extent */
	ck_assert_int_eq(gm_cmd_exec(mem, "stat node=1", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "node=1 size=8388608 avail=8376320 cma_size=0 cma_used=0 "
			 "cma_maxchunk=0 early=0 start=0x100000000 end=0x100800000\n");
	ck_assert_int_eq(gm_cmd_exec(mem, "stat", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nnode=1 "));
	ck_assert_int_eq(gm_cmd_exec(mem, "free b", tiny, sizeof(tiny)), 0);
	ck_assert_str_eq(tiny, "ok b freed\n");
	ck_assert_int_eq(gm_cmd_exec(mem, "free b", tiny, sizeof(tiny)), -ENOENT);
	ck_assert_str_eq(tiny, "err b ENOEN");				/* cut, terminated */
	ck_assert_int_eq(gm_cmd_exec(mem, "stat", out, 0), -EINVAL);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parser");
	TCase *tc = tcase_create("parser");

	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_format_size);
	tcase_add_test(tc, test_numa);
	tcase_add_test(tc, test_cma);
	tcase_add_test(tc, test_cmd_ok);
	tcase_add_test(tc, test_cmd_errors);
	tcase_add_test(tc, test_cmd_overlong);
	tcase_add_test(tc, test_errno_names);
	tcase_add_test(tc, test_cmd_exec);
	suite_add_tcase(s, tc);
	return check_run(s);
}
