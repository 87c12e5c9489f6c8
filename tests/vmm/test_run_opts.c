// SPDX-License-Identifier: MIT
/*
 * test_run_opts.c - `kvmem run` option parsing (kvmem-run-opts.c), no KVM: the
 * values that reach the run, the defaults, and one-line errors that name
 * the option at fault.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvmem-run.h"
#include "../check-run.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define ARGC(v) ({ int n = 0; while ((v)[n]) n++; n; })

static int parse(char **argv, struct run_opts *o, struct gm_error *e)
{
	return run_opts_parse(ARGC(argv), argv, o, e);
}

START_TEST(test_defaults_flat)
{
	struct run_opts o;
	struct gm_error e;

	ck_assert_int_eq(parse(ARGV("--flat", "guest.bin@0x100000"), &o, &e), 0);
	ck_assert_str_eq(o.flat_path, "guest.bin");
	ck_assert_uint_eq(o.flat_addr, 0x100000);
	ck_assert_ptr_null(o.kernel);
	ck_assert_ptr_null(o.cmdline);
	ck_assert_uint_eq(o.nr_cpus, 1);
	ck_assert_uint_eq(o.cfg.nr_nodes, 1);
	ck_assert_uint_eq(o.cfg.node[0].size, RUN_DEFAULT_MEM);
	ck_assert_str_eq(o.console, "stdio");
	ck_assert(!o.hugepages);
	ck_assert(!o.rng);
	ck_assert(!o.no_balloon);	/* the balloon is on by default */
	ck_assert_ptr_null(o.mount);
	run_opts_release(&o);
}
END_TEST

START_TEST(test_full_linux)
{
	struct run_opts o;
	struct gm_error e;
	char **argv = ARGV("--kernel", "bzImage", "--initrd", "root.cpio",
			   "--cmdline", "console=ttyS0 quiet", "--cpus", "4",
			   "--numa", "0:256M,1:512M@0", "--cma", "0:64M",
			   "--headroom", "1:16M", "--hugepages", "--console",
			   "out.log", "--mount", "/run/kvmem/x", "--name", "demo",
			   "--alloc", "alloc name=a node=1 size=1M",
			   "--alloc", "free a", "--rng",
			   "--disk", "a.img,ro,serial=ABC-12",
			   "--disk", "/dev/sdx,cache=none",
			   "--disk", "c.img,cache=writeback,serial=12345678901234567890",
			   "--balloon", "off");

	ck_assert_int_eq(parse(argv, &o, &e), 0);
	ck_assert(o.no_balloon);
	ck_assert_str_eq(o.kernel, "bzImage");
	ck_assert_str_eq(o.initrd, "root.cpio");
	ck_assert_str_eq(o.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(o.nr_cpus, 4);
	ck_assert_uint_eq(o.cfg.nr_nodes, 2);
	ck_assert_uint_eq(o.cfg.node[0].size, 256ULL << 20);
	ck_assert_uint_eq(o.cfg.node[1].size, 512ULL << 20);
	ck_assert_int_eq(o.cfg.node[1].host_node, 0);
	ck_assert_uint_eq(o.cfg.node[0].cma_size, 64ULL << 20);
	ck_assert_uint_eq(o.headroom[0], 0);
	ck_assert_uint_eq(o.headroom[1], 16ULL << 20);
	ck_assert(o.hugepages);
	ck_assert_str_eq(o.console, "out.log");
	ck_assert_str_eq(o.mount, "/run/kvmem/x");
	ck_assert_str_eq(o.name, "demo");
	ck_assert_uint_eq(o.nr_alloc, 2);
	ck_assert_str_eq(o.alloc[1], "free a");
	ck_assert(o.rng);
	ck_assert_uint_eq(o.nr_disks, 3);
	ck_assert_str_eq(o.disk[0].path, "a.img");
	ck_assert(o.disk[0].ro);
	ck_assert_str_eq(o.disk[0].serial, "ABC-12");
	ck_assert_int_eq(o.disk[0].cache, VMM_BLK_CACHE_DEFAULT);
	ck_assert_str_eq(o.disk[1].path, "/dev/sdx");
	ck_assert(!o.disk[1].ro);
	ck_assert_int_eq(o.disk[1].cache, VMM_BLK_CACHE_NONE);
	ck_assert_str_eq(o.disk[1].serial, "");
	ck_assert_int_eq(o.disk[2].cache, VMM_BLK_CACHE_WRITEBACK);
	ck_assert_str_eq(o.disk[2].serial, "12345678901234567890");
	run_opts_release(&o);
}
END_TEST

START_TEST(test_mem_and_default_cmdline)
{
	struct run_opts o;
	struct gm_error e;

	ck_assert_int_eq(parse(ARGV("--kernel", "k", "--mem", "1G"), &o, &e), 0);
	ck_assert_uint_eq(o.cfg.nr_nodes, 1);
	ck_assert_uint_eq(o.cfg.node[0].size, 1ULL << 30);
	ck_assert_str_eq(o.cmdline, RUN_DEFAULT_CMDLINE);
	ck_assert_int_eq(o.boot, VMM_BOOT_AUTO);
	run_opts_release(&o);
	ck_assert_int_eq(parse(ARGV("--kernel", "k", "--boot", "direct"), &o, &e), 0);
	ck_assert_int_eq(o.boot, VMM_BOOT_DIRECT);
	run_opts_release(&o);
	ck_assert_int_eq(parse(ARGV("--boot", "bzimage", "--kernel", "k"), &o, &e), 0);
	ck_assert_int_eq(o.boot, VMM_BOOT_BZIMAGE);
	run_opts_release(&o);
}
END_TEST

/* Each bad command line: -EINVAL, a one-line message naming the culprit. */
static const struct {
	char **argv;
	const char *needle;
} bad[] = {
	{ ARGV("--kernel", "k", "--cpus", "0"), "--cpus 0" },
	{ ARGV("--kernel", "k", "--cpus", "257"), "--cpus 257" },
	{ ARGV("--kernel", "k", "--cpus", "2x"), "--cpus 2x" },
	{ ARGV("--kernel", "k", "--cpus", "-1"), "--cpus -1" },
	{ ARGV("--cpus", "1"), "--kernel or --flat" },
	{ ARGV("--kernel", "k", "--flat", "f@0x1000"), "--kernel or --flat" },
	{ ARGV("--flat", "f@0x100000", "--initrd", "i"), "--initrd" },
	{ ARGV("--kernel", "k", "--numa", "0:64M", "--mem", "64M"), "--numa or --mem" },
	{ ARGV("--kernel", "k", "--numa", "0:"), "'0:'" },
	{ ARGV("--kernel", "k", "--numa", "0:64Q"), "0:64Q" },
	{ ARGV("--kernel", "k", "--numa", "x:64M"), "x:64M" },
	{ ARGV("--kernel", "k", "--numa", "0:64M,,1:64M"), "0:64M,,1:64M" },
	{ ARGV("--kernel", "k", "--mem", "12345"), "--mem 12345" },
	{ ARGV("--kernel", "k", "--cma", "3:1M"), "--cma" },
	{ ARGV("--kernel", "k", "--headroom", "1:1M"), "--headroom: no node 1 in '1:1M'" },
	{ ARGV("--kernel", "k", "--headroom", "0-1M"), "--headroom: '0-1M'" },
	{ ARGV("--kernel", "k", "--mem", "64M", "--headroom", "0:128M"), "--headroom" },
	{ ARGV("--flat", "noaddr"), "--flat noaddr" },
	{ ARGV("--flat", "@0x1000"), "--flat @0x1000" },
	{ ARGV("--kernel", "k", "--bogus"), "--bogus" },
	{ ARGV("--kernel", "k", "stray"), "stray" },
	{ ARGV("--kernel"), "--kernel" },
	{ ARGV("--kernel", "k", "--console", ""), "--console" },
	{ ARGV("--kernel", "k", "--boot", "pvh"), "--boot pvh" },
	{ ARGV("--kernel", "k", "--boot"), "--boot" },
	{ ARGV("--flat", "f@0x100000", "--boot", "auto"), "--boot" },
	{ ARGV("--kernel", "k", "--disk", ""), "--disk '': expected FILE" },
	{ ARGV("--kernel", "k", "--disk", ",ro"), "--disk ',ro'" },
	{ ARGV("--kernel", "k", "--disk", "a.img,rw"), "unknown option 'rw'" },
	{ ARGV("--kernel", "k", "--disk", "a.img,cache=unsafe"), "unknown option 'cache=unsafe'" },
	{ ARGV("--kernel", "k", "--disk", "a.img,serial="), "serial must be 1 to 20" },
	{ ARGV("--kernel", "k", "--disk", "a.img,serial=123456789012345678901"), "serial must be 1 to 20" },
	{ ARGV("--kernel", "k", "--disk", "a.img,ro,"), "unknown option ''" },
	{ ARGV("--kernel", "k", "--disk", "a.img,ro,ro"), "'ro' given twice" },
	{ ARGV("--kernel", "k", "--disk", "a.img,cache=none,cache=writeback"), "'cache' given twice" },
	{ ARGV("--kernel", "k", "--disk", "a.img,serial=A,ro,serial=B"), "'serial' given twice" },
	{ ARGV("--kernel", "k", "--hotplug", "0:100M"), "--hotplug: node 0 region must be a multiple of 128M" },
	{ ARGV("--kernel", "k", "--hotplug", "1:128M"), "--hotplug: no node 1" },
	{ ARGV("--kernel", "k", "--hotplug", "0:0"), "--hotplug: node 0 size must be non-zero" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G,0:1G"), "--hotplug: node 0 given twice" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G,"), "--hotplug" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1X"), "--hotplug: bad size '1X'" },
	{ ARGV("--kernel", "k", "--hotplug-block", "4M"), "--hotplug-block needs --hotplug" },
	{ ARGV("--kernel", "k", "--hotplug-requested", "0:128M"), "--hotplug-requested needs --hotplug" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G", "--hotplug-block", "3M"), "--hotplug-block 3M: need a power of two" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G", "--hotplug-block", "1M"), "--hotplug-block 1M" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G", "--hotplug-block", "256M"), "--hotplug-block 256M" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G", "--hotplug-requested", "0:2G"), "--hotplug-requested: node 0: a multiple of the block" },
	{ ARGV("--kernel", "k", "--hotplug", "0:1G", "--hotplug-block", "4M", "--hotplug-requested", "0:2M"), "--hotplug-requested: node 0: a multiple of the block (4M)" },
	{ ARGV("--kernel", "k", "--numa", "0:64M,1:64M", "--hotplug", "0:1G", "--hotplug-requested", "1:2M"), "--hotplug-requested: node 1 has no --hotplug region" },
	{ ARGV("--kernel", "k", "--balloon", "yes"), "--balloon yes: expected on or off" },
	{ ARGV("--kernel", "k", "--balloon", ""), "--balloon : expected on or off" },
	{ ARGV("--kernel", "k", "--balloon", "On"), "expected on or off" },
	{ ARGV("--kernel", "k", "--balloon", "on", "--balloon", "off"), "--balloon: given twice" },
	{ ARGV("--kernel", "k", "--balloon"), "balloon" },
};

START_TEST(test_bad)
{
	struct run_opts o;
	struct gm_error e;
	int ret = parse(bad[_i].argv, &o, &e);

	ck_assert_msg(ret < 0, "case %d accepted", _i);
	ck_assert_int_eq(e.err, -ret);
	ck_assert_msg(strstr(e.msg, bad[_i].needle), "case %d: '%s' lacks '%s'",
		      _i, e.msg, bad[_i].needle);
	ck_assert_ptr_null(strchr(e.msg, '\n'));
	run_opts_release(&o);
}
END_TEST

/*
 * --hotplug: the regions, the block for every node, the boot request, and
 * memhp_default_state=online_movable appended unless the cmdline has one.
 */
START_TEST(test_hotplug)
{
	struct run_opts o;
	struct gm_error e;

	ck_assert_int_eq(parse(ARGV("--kernel", "k", "--numa", "0:512M,1:512M", "--hotplug", "1:1G",
				    "--hotplug-block", "4M", "--hotplug-requested", "1:512M"), &o, &e), 0);
	ck_assert_uint_eq(o.cfg.node[0].hotplug_size, 0);
	ck_assert_uint_eq(o.cfg.node[1].hotplug_size, 1ULL << 30);
	ck_assert_uint_eq(o.cfg.node[1].hotplug_block, 4ULL << 20);
	ck_assert_uint_eq(o.hotplug_requested[1], 512ULL << 20);
	ck_assert_str_eq(o.cmdline, RUN_DEFAULT_CMDLINE " memhp_default_state=online_movable");
	run_opts_release(&o);
	ck_assert_int_eq(parse(ARGV("--kernel", "k", "--hotplug", "0:128M", "--cmdline",
				    "quiet memhp_default_state=offline"), &o, &e), 0);
	ck_assert_str_eq(o.cmdline, "quiet memhp_default_state=offline");
	ck_assert_uint_eq(o.cfg.node[0].hotplug_block, 0);	/* the default, 2M */
	run_opts_release(&o);
	ck_assert_int_eq(parse(ARGV("--kernel", "k", "--cmdline", "quiet"), &o, &e), 0);
	ck_assert_str_eq(o.cmdline, "quiet");
	run_opts_release(&o);
}
END_TEST

/* --help is not an error: 1, nothing in the error. */
START_TEST(test_help)
{
	struct run_opts o;
	struct gm_error e;

	ck_assert_int_eq(parse(ARGV("--help"), &o, &e), 1);
	ck_assert_int_eq(e.err, 0);
	run_opts_release(&o);
}
END_TEST

/* A later --flat replaces an earlier one without leaking or mixing. */
START_TEST(test_repeat_parse)
{
	struct run_opts o;
	struct gm_error e;

	ck_assert_int_eq(parse(ARGV("--flat", "a@0x1000", "--flat", "b@0x2000"), &o, &e), 0);
	ck_assert_str_eq(o.flat_path, "b");
	ck_assert_uint_eq(o.flat_addr, 0x2000);
	run_opts_release(&o);
	/* The parser starts over each time (getopt state reset). */
	ck_assert_int_eq(parse(ARGV("--kernel", "k", "--cpus", "3"), &o, &e), 0);
	ck_assert_uint_eq(o.nr_cpus, 3);
	ck_assert_ptr_null(o.flat_path);
	run_opts_release(&o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvmem_run_opts");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_defaults_flat);
	tcase_add_test(tc, test_full_linux);
	tcase_add_test(tc, test_mem_and_default_cmdline);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_hotplug);
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_repeat_parse);
	suite_add_tcase(s, tc);
	return check_run(s);
}
