// SPDX-License-Identifier: MIT
/*
 * test_domain.c - the bridge between libvirt domain XML and `kvmem run`
 * (kvmem-domain.c, kvmem-run-opts.c and domain/ compiled in), no KVM:
 * what `kvmem run --domain` hands the run, and the vm/domain.xml round
 * trip: options -> run_domain_xml() -> libvirt's validation and kvmem's
 * mapping -> the same options.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmem-run.h"
#include "../check-run.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define ARGC(v) ({ int n = 0; while ((v)[n]) n++; n; })

static char dir[64];

/* A scratch directory (the cwd) holding the files the guests name. */
static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_domain.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	for (const char *const *f = (const char *const[]){ "bzImage", "initrd.cpio", "flat.bin",
							    "vda.img", "vdb.img", "vdc.img", NULL };
	     *f; f++) {
		FILE *fp = fopen(*f, "w");

		ck_assert_ptr_nonnull(fp);
		ck_assert_int_eq(ftruncate(fileno(fp), 1 << 20), 0);	/* disks: 1 MiB */
		fclose(fp);
	}
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The arguments of @d after "run", space-separated. */
static char *joined(const struct run_domain *d)
{
	static char buf[2048];
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 1; i < d->argc; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s", i > 1 ? " " : "", d->argv[i]);
	return buf;
}

/*
 * `kvmem run --domain`: the XML's guest, with --console, --mount and
 * --alloc from the command line (its --console wins over the XML's file).
 */
START_TEST(test_run_domain)
{
	struct run_opts o;
	struct gm_error e;

	write_file("g.xml",
		"<domain type='kvm'><name>g</name>"
		"<uuid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</uuid>"
		"<metadata><kvmem:run xmlns:kvmem='urn:kvmem:domain:1'>"
		"<kvmem:cma node='1' size='16M'/><kvmem:headroom node='0' size='8M'/>"
		"</kvmem:run></metadata>"
		"<memory unit='MiB'>384</memory><vcpu>3</vcpu>"
		"<memoryBacking><hugepages/></memoryBacking>"
		"<numatune><memnode cellid='1' mode='strict' nodeset='0'/></numatune>"
		"<os><type>hvm</type><kernel>/bin/sh</kernel><cmdline>quiet</cmdline></os>"
		"<cpu><numa><cell id='0' cpus='0-1' memory='256' unit='MiB'/>"
		"<cell id='1' cpus='2' memory='128' unit='MiB'/></numa></cpu>"
		"<devices><serial type='file'><source path='/tmp/console.log'/></serial></devices>"
		"</domain>");
	ck_assert_int_eq(run_opts_parse(ARGC(ARGV("--domain", "g.xml", "--console", "stdio",
						  "--mount", "/m", "--alloc", "free x")),
					ARGV("--domain", "g.xml", "--console", "stdio",
					     "--mount", "/m", "--alloc", "free x"), &o, &e), 0);
	ck_assert_str_eq(o.kernel, "/bin/sh");
	ck_assert_ptr_null(o.initrd);
	ck_assert_str_eq(o.cmdline, "quiet");
	ck_assert_uint_eq(o.nr_cpus, 3);
	ck_assert_uint_eq(o.cfg.nr_nodes, 2);
	ck_assert_uint_eq(o.cfg.node[0].size, 256ULL << 20);
	ck_assert_uint_eq(o.cfg.node[1].size, 128ULL << 20);
	ck_assert_int_eq(o.cfg.node[0].host_node, -1);
	ck_assert_int_eq(o.cfg.node[1].host_node, 0);
	ck_assert_uint_eq(o.cfg.node[0].cma_size, 0);
	ck_assert_uint_eq(o.cfg.node[1].cma_size, 16ULL << 20);
	ck_assert_uint_eq(o.headroom[0], 8ULL << 20);
	ck_assert(o.hugepages);
	ck_assert_str_eq(o.console, "stdio");
	ck_assert_str_eq(o.mount, "/m");
	ck_assert_uint_eq(o.nr_alloc, 1);
	ck_assert_str_eq(o.alloc[0], "free x");
	ck_assert_str_eq(o.name, "g");
	ck_assert_ptr_nonnull(o.domain);
	ck_assert_str_eq(o.domain->uuid, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	run_opts_release(&o);
	ck_assert_ptr_null(o.domain);

	/* Without --console the XML's file is the console. */
	ck_assert_int_eq(run_opts_parse(2, ARGV("--domain=g.xml"), &o, &e), 0);
	ck_assert_str_eq(o.console, "/tmp/console.log");
	run_opts_release(&o);
}
END_TEST

/*
 * <disk>s and <rng> under `kvmem run --domain`: the disks in their targets'
 * order (the file says vdb first), each with its options.
 */
START_TEST(test_run_domain_disks)
{
	struct run_opts o;
	struct gm_error e;

	char xml[1024], path[2][96];

	snprintf(xml, sizeof(xml),
		"<domain type='kvm'><name>d</name><memory unit='MiB'>64</memory>"
		"<os><type>hvm</type><kernel>/bin/sh</kernel></os><devices>"
		"<disk type='file' device='disk'><driver name='qemu' type='raw' cache='writeback'/>"
		"<source file='%s/vdb.img'/><target dev='vdb' bus='virtio'/></disk>"
		"<disk type='file'><driver name='qemu' type='raw' cache='none'/>"
		"<source file='%s/vda.img'/><target dev='vda'/><readonly/><serial>SN-1</serial></disk>"
		"<rng model='virtio'><backend model='random'>/dev/random</backend></rng>"
		"</devices></domain>", dir, dir);
	write_file("d.xml", xml);
	snprintf(path[0], sizeof(path[0]), "%s/vda.img", dir);
	snprintf(path[1], sizeof(path[1]), "%s/vdb.img", dir);
	ck_assert_msg(run_opts_parse(2, ARGV("--domain=d.xml"), &o, &e) == 0, "%s", e.msg);
	ck_assert(o.rng);
	ck_assert_uint_eq(o.nr_disks, 2);
	ck_assert_str_eq(o.disk[0].path, path[0]);
	ck_assert(o.disk[0].ro);
	ck_assert_int_eq(o.disk[0].cache, VMM_BLK_CACHE_NONE);
	ck_assert_str_eq(o.disk[0].serial, "SN-1");
	ck_assert_str_eq(o.disk[1].path, path[1]);
	ck_assert(!o.disk[1].ro);
	ck_assert_int_eq(o.disk[1].cache, VMM_BLK_CACHE_WRITEBACK);
	ck_assert_str_eq(o.disk[1].serial, "");
	run_opts_release(&o);
}
END_TEST

/* Option sets and the canonical arguments their vm/domain.xml maps back to. */
static const struct {
	char *argv[24];
	const char *name, *want;	/* want: "%D" is the scratch directory */
} trips[] = {
	{ { "run", "--kernel", "bzImage", "--initrd", "initrd.cpio", "--cmdline",
	    "console=ttyS0 quiet <&'\">", "--cpus", "3", "--numa", "0:256M,1:128M@0",
	    "--cma", "0:16M", "--headroom", "1:8M", "--hugepages", "--console", "out.log", NULL },
	  "rt", "--kernel %D/bzImage --initrd %D/initrd.cpio --cmdline console=ttyS0 quiet <&'\"> "
	  "--cpus 3 --numa 0:256M,1:128M@0 --cma 0:16M --headroom 1:8M --hugepages "
	  "--console %D/out.log --name rt" },
	/* defaults: 256M, console=ttyS0, stdio */
	{ { "run", "--kernel", "/bin/sh", NULL }, "kvmem-1",
	  "--kernel /bin/sh --cmdline console=ttyS0 --cpus 1 --numa 0:256M --console stdio "
	  "--name kvmem-1" },
	{ { "run", "--flat", "flat.bin@0x100000", "--mem", "16M", NULL }, "f",
	  "--flat %D/flat.bin@0x100000 --cpus 1 --numa 0:16M --console stdio --name f" },
	/* no balloon: <memballoon model='none'> */
	{ { "run", "--kernel", "/bin/sh", "--balloon", "off", NULL }, "nob",
	  "--kernel /bin/sh --cmdline console=ttyS0 --cpus 1 --numa 0:256M --balloon off "
	  "--console stdio --name nob" },
	/* 4 vCPUs on 3 nodes: 0-1, 2, 3 */
	{ { "run", "--kernel", "/bin/sh", "--cpus", "4", "--numa", "0:64M,1:64M,2:64M", NULL },
	  "three", "--kernel /bin/sh --cmdline console=ttyS0 --cpus 4 --numa 0:64M,1:64M,2:64M "
	  "--console stdio --name three" },
	/* fewer vCPUs than nodes: node 1 has none */
	{ { "run", "--kernel", "/bin/sh", "--numa", "0:64M,1:1G", NULL },
	  "cpuless", "--kernel /bin/sh --cmdline console=ttyS0 --cpus 1 --numa 0:64M,1:1G "
	  "--console stdio --name cpuless" },
	/* disks (relative paths made absolute) and the entropy device */
	{ { "run", "--kernel", "/bin/sh", "--disk", "vda.img,ro,cache=none,serial=S.1+x_-",
	    "--rng", "--disk", "vdb.img,cache=writeback", "--disk", "vdc.img,serial=x", NULL },
	  "disks", "--kernel /bin/sh --cmdline console=ttyS0 --cpus 1 --numa 0:256M --console stdio "
	  "--name disks --rng --disk %D/vda.img,ro,cache=none,serial=S.1+x_- "
	  "--disk %D/vdb.img,cache=writeback --disk %D/vdc.img,serial=x" },
	/* virtio-mem: two regions, the default block, a request */
	{ { "run", "--kernel", "/bin/sh", "--cpus", "2", "--numa", "0:512M,1:512M", "--hotplug",
	    "1:1G,0:128M", "--hotplug-requested", "1:512M", NULL },
	  "hp", "--kernel /bin/sh --cmdline console=ttyS0 memhp_default_state=online_movable "
	  "--cpus 2 --numa 0:512M,1:512M --console stdio --name hp --hotplug 0:128M,1:1G "
	  "--hotplug-requested 1:512M" },
	/* one node with a region is one <cell> (libvirt's memory devices need cells) */
	{ { "run", "--kernel", "/bin/sh", "--hotplug", "0:256M", "--hotplug-block", "4M", NULL },
	  "hp1", "--kernel /bin/sh --cmdline console=ttyS0 memhp_default_state=online_movable "
	  "--cpus 1 --numa 0:256M --console stdio --name hp1 --hotplug 0:256M --hotplug-block 4M" },
	/* one bound node: <numatune><memory> */
	{ { "run", "--kernel", "/bin/sh", "--numa", "0:1G@0", "--cpus", "2", NULL },
	  "bound", "--kernel /bin/sh --cmdline console=ttyS0 --cpus 2 --numa 0:1G@0 "
	  "--console stdio --name bound" },
};

START_TEST(test_round_trip)
{
	char **argv = (char **)trips[_i].argv, want[1024], *xml = NULL;
	struct run_domain *d = NULL;
	struct run_opts o, back;
	struct gm_error e;
	size_t w = 0;

	for (const char *p = trips[_i].want; *p && w + 64 < sizeof(want); p++)
		if (p[0] == '%' && p[1] == 'D')
			w += snprintf(want + w, sizeof(want) - w, "%s", dir), p++;
		else
			want[w++] = *p;
	want[w] = '\0';
	ck_assert_int_eq(run_opts_parse(ARGC(argv), argv, &o, &e), 0);
	ck_assert_msg(run_domain_xml(&o, trips[_i].name, &xml, &e) == 0, "%s", e.msg);
	write_file("vm.xml", xml);
	ck_assert_msg(run_domain_load("vm.xml", &d, &e) == 0, "%s\n%s", e.msg, xml);
	ck_assert_str_eq(joined(d), want);
	ck_assert_str_eq(d->uuid, "");

	/* and those arguments are the same run */
	ck_assert_int_eq(run_opts_parse(d->argc, d->argv, &back, &e), 0);
	ck_assert_uint_eq(back.nr_cpus, o.nr_cpus);
	ck_assert_mem_eq(&back.cfg, &o.cfg, sizeof(o.cfg));
	ck_assert_mem_eq(back.headroom, o.headroom, sizeof(o.headroom));
	ck_assert_mem_eq(back.hotplug_requested, o.hotplug_requested, sizeof(o.hotplug_requested));
	ck_assert_int_eq(back.hugepages, o.hugepages);
	ck_assert_int_eq(back.no_balloon, o.no_balloon);
	ck_assert_str_eq(back.cmdline ? back.cmdline : "-", o.cmdline ? o.cmdline : "-");
	ck_assert_uint_eq(back.flat_addr, o.flat_addr);
	ck_assert_int_eq(back.rng, o.rng);
	ck_assert_uint_eq(back.nr_disks, o.nr_disks);
	for (unsigned i = 0; i < o.nr_disks; i++) {
		ck_assert_str_eq(strrchr(back.disk[i].path, '/') + 1, o.disk[i].path);
		ck_assert_int_eq(back.disk[i].ro, o.disk[i].ro);
		ck_assert_int_eq(back.disk[i].cache, o.disk[i].cache);
		ck_assert_str_eq(back.disk[i].serial, o.disk[i].serial);
	}
	run_opts_release(&back);
	run_opts_release(&o);
	run_domain_free(d);
	free(xml);
}
END_TEST

/*
 * vm/domain.xml says what each virtio-mem asks its guest for now, not at
 * boot: <maxMemory> is the cells plus the regions, one <memory
 * model='virtio-mem'> per region.
 */
START_TEST(test_hotplug_now)
{
	uint64_t now[GM_MAX_NODES] = { [1] = 768ULL << 20 };
	struct run_domain *d = NULL;
	struct run_opts o;
	struct gm_error e;
	char *xml = NULL;

	ck_assert_int_eq(run_opts_parse(ARGC(ARGV("--kernel", "/bin/sh", "--cmdline", "x",
						 "--numa", "0:256M,1:256M", "--hotplug", "1:1G",
						 "--hotplug-block", "128M", "--hotplug-requested",
						 "1:128M")),
					ARGV("--kernel", "/bin/sh", "--cmdline", "x",
					     "--numa", "0:256M,1:256M", "--hotplug", "1:1G",
					     "--hotplug-block", "128M", "--hotplug-requested",
					     "1:128M"), &o, &e), 0);
	ck_assert_msg(run_domain_xml_now(&o, now, "now", &xml, &e) == 0, "%s", e.msg);
	ck_assert_ptr_nonnull(strstr(xml, "<maxMemory slots='1' unit='KiB'>1572864</maxMemory>"));
	ck_assert_ptr_nonnull(strstr(xml, "<memory unit='KiB'>1572864</memory>"));
	ck_assert_ptr_nonnull(strstr(xml, "<node>1</node>"));
	ck_assert_ptr_null(strstr(xml, "<node>0</node>"));
	ck_assert_ptr_nonnull(strstr(xml, "<requested unit='KiB'>786432</requested>"));
	write_file("vm.xml", xml);
	ck_assert_msg(run_domain_load("vm.xml", &d, &e) == 0, "%s\n%s", e.msg, xml);
	ck_assert_str_eq(joined(d), "--kernel /bin/sh --cmdline x memhp_default_state=online_movable "
			 "--cpus 1 --numa 0:256M,1:256M --console stdio --name now --hotplug 1:1G "
			 "--hotplug-block 128M --hotplug-requested 1:768M");
	run_domain_free(d);
	free(xml);
	/* NULL: --hotplug-requested as given */
	ck_assert_int_eq(run_domain_xml(&o, "now", &xml, &e), 0);
	ck_assert_ptr_nonnull(strstr(xml, "<requested unit='KiB'>131072</requested>"));
	free(xml);
	run_opts_release(&o);
}
END_TEST

/* The uuid of a --domain run comes back in its vm/domain.xml. */
START_TEST(test_uuid_kept)
{
	struct run_domain *d = NULL;
	struct run_opts o;
	struct gm_error e;
	char *xml = NULL;

	write_file("u.xml", "<domain type='kvm'><name>u</name>"
		   "<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
		   "<memory unit='MiB'>64</memory><os><type>hvm</type>"
		   "<kernel>/bin/sh</kernel></os></domain>");
	ck_assert_int_eq(run_opts_parse(2, ARGV("--domain=u.xml"), &o, &e), 0);
	ck_assert_int_eq(run_domain_xml(&o, "u", &xml, &e), 0);
	ck_assert_ptr_nonnull(strstr(xml, "<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"));
	write_file("vm.xml", xml);
	ck_assert_int_eq(run_domain_load("vm.xml", &d, &e), 0);
	ck_assert_str_eq(d->uuid, "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
	ck_assert_str_eq(joined(d), "--kernel /bin/sh --cmdline console=ttyS0 --cpus 1 "
			 "--numa 0:64M --console stdio --name u");
	run_domain_free(d);
	run_opts_release(&o);
	free(xml);
}
END_TEST

/*
 * A block device comes back as <disk type='block'><source dev>, and the
 * same --disk (skipped, passing, on a machine with no block device).
 */
START_TEST(test_block_disk)
{
	struct run_domain *d = NULL;
	struct run_opts o;
	struct gm_error e;
	char *xml = NULL, want[256], *blk = NULL;
	FILE *p = popen("find /dev -maxdepth 1 -type b -print -quit", "r");
	size_t cap = 0;

	ck_assert_ptr_nonnull(p);
	if (getline(&blk, &cap, p) <= 1) {
		pclose(p);
		free(blk);
		return;
	}
	pclose(p);
	blk[strcspn(blk, "\n")] = '\0';
	ck_assert_int_eq(run_opts_parse(5, ARGV("--kernel", "/bin/sh", "--disk", blk), &o, &e), 0);
	ck_assert_int_eq(run_domain_xml(&o, "b", &xml, &e), 0);
	snprintf(want, sizeof(want), "<disk type='block' device='disk'>\n"
		 "      <driver name='qemu' type='raw'/>\n      <source dev='%s'/>", blk);
	ck_assert_msg(strstr(xml, want), "%s", xml);
	write_file("vm.xml", xml);
	ck_assert_msg(run_domain_load("vm.xml", &d, &e) == 0, "%s", e.msg);
	snprintf(want, sizeof(want), "--kernel /bin/sh --cmdline console=ttyS0 --cpus 1 "
		 "--numa 0:256M --console stdio --name b --disk %s", blk);
	ck_assert_str_eq(joined(d), want);
	run_domain_free(d);
	run_opts_release(&o);
	free(xml);
	free(blk);
}
END_TEST

/*
 * Options no valid vm/domain.xml can carry: run_domain_xml() says EINVAL
 * and why (the whole message, or a word of it), and gives no document -
 * rather than an invalid document or a dropped option.
 */
static const struct {
	char *argv[8];
	const char *name, *msg;
	bool whole;		/* msg is the whole message, else a part of it */
} refusals[] = {
	/* a serial libvirt's schema refuses (kvmem takes any printable but space and comma) */
	{ { "run", "--kernel", "/bin/sh", "--disk", "vda.img,serial=a/b", NULL }, "s",
	  "disk vda's serial 'a/b': libvirt's schema takes letters, digits and _.+- only", true },
	/* no XML 1.0 document carries a control byte */
	{ { "run", "--kernel", "/bin/sh", "--cmdline", "a\001b", NULL }, "c", "cmdline", false },
};

START_TEST(test_refused)
{
	char **argv = (char **)refusals[_i].argv;
	struct run_opts o;
	struct gm_error e;
	char *xml = NULL;

	ck_assert_int_eq(run_opts_parse(ARGC(argv), argv, &o, &e), 0);
	ck_assert_int_eq(run_domain_xml(&o, refusals[_i].name, &xml, &e), -EINVAL);
	ck_assert_ptr_null(xml);
	if (refusals[_i].whole)
		ck_assert_str_eq(e.msg, refusals[_i].msg);
	else
		ck_assert_ptr_nonnull(strstr(e.msg, refusals[_i].msg));
	run_opts_release(&o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("domain");
	TCase *tc = tcase_create("bridge");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_run_domain);
	tcase_add_loop_test(tc, test_round_trip, 0, sizeof(trips) / sizeof(trips[0]));
	tcase_add_test(tc, test_uuid_kept);
	tcase_add_test(tc, test_hotplug_now);
	tcase_add_test(tc, test_run_domain_disks);
	tcase_add_test(tc, test_block_disk);
	tcase_add_loop_test(tc, test_refused, 0, sizeof(refusals) / sizeof(refusals[0]));
	suite_add_tcase(s, tc);
	return check_run(s);
}
