// SPDX-License-Identifier: MIT
/*
 * fuzz_runopts.c - `kvmem run`'s whole command line (run_opts_parse() from
 * kvmem-run-opts.c, compiled in) on random argument vectors: options from the
 * real set (and unknown ones, missing values, stray words), values valid
 * or mutated (separators, huge numbers, signs, empty, control bytes).
 *
 * Every parse returns 0, 1 (--help) or a negative errno with e.err
 * matching and a non-empty message. A success is sane: exactly
 * one of --kernel / --flat, 1..256 vCPUs, nodes 0..n-1 with sizes that are
 * non-zero multiples of 4 KiB, CMA areas smaller than their node, headroom
 * within its node, at most 64 --alloc lines.
 *
 * The message must be one printable line (a tab is fine), even when the
 * offending value holds a newline, CR or ESC: run_printable_msg() shows
 * those as '?'.
 *
 * Seed printed; KVMEM_SEED=N reruns another; KVMEM_FUZZ_LINES=N sets the
 * number of command lines (default 40000).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmem-run.h"
#include "fuzz.h"

#define MAX_ARGS	24
#define ARG_MAX_LEN	160

static char cur_argv[MAX_ARGS * (4 * ARG_MAX_LEN + 4) + 64];
static uint64_t cur_seed;
static unsigned long cur_iter;

static void fz_on_fail(void)
{
	fprintf(stderr, "seed %" PRIu64 ", command line %lu: kvmem %s\n",
		cur_seed, cur_iter, cur_argv);
}

static const char *const opts[] = {
	"--kernel", "--initrd", "--cmdline", "--flat", "--cpus", "--numa",
	"--mem", "--cma", "--hugepages", "--console", "--mount", "--alloc",
	"--headroom", "--name", "--boot", "--domain", "--rng", "--disk",
};

/* A plausible value for option @o. */
static const char *value_for(const char *o)
{
	static const char *const cpus[] = { "1", "2", "256", "257", "0", "-1", "+2", " 2", "2x", "99999999999999999999" };
	static const char *const numa[] = { "0:256M", "0:256M,1:256M", "0:1G@0", "1:4K", "0:0", "0:4097" };
	static const char *const mem[] = { "256M", "4K", "0", "4097", "1T", "18446744073709551615", "16E" };
	static const char *const cma[] = { "0:64M", "0:4K", "1:4K", "0:256M", "0:1M,0:1M" };
	static const char *const flat[] = { "guest.bin@0x100000", "x@0", "@0x1000", "x@", "x", "x@@1", "x@0x10000000000000000" };
	static const char *const head[] = { "0:16M", "0:0", "1:4K", "0:257M", "-1:4K", "0:4K,0:8K", ":4K", "0:", "18446744073709551616:4K" };
	static const char *const alloc[] = { "node=0 size=4K", "name=x node=0 size=1M", "junk" };
	static const char *const boot[] = { "auto", "direct", "bzimage", "pvh", "AUTO", "" };
	static const char *const disk[] = { "a.img", "a.img,ro", "b,cache=none,serial=X", ",ro", "a,serial=", "a,bogus", "" };
	static const char *const any[] = { "", "/boot/vmlinuz", "console=ttyS0", "stdio", "/tmp/x", "vm1" };

#define P(v) v[fz_below(sizeof(v) / sizeof(v[0]))]
	if (!strcmp(o, "--cpus")) return P(cpus);
	if (!strcmp(o, "--numa")) return P(numa);
	if (!strcmp(o, "--mem")) return P(mem);
	if (!strcmp(o, "--cma")) return P(cma);
	if (!strcmp(o, "--flat")) return P(flat);
	if (!strcmp(o, "--headroom")) return P(head);
	if (!strcmp(o, "--alloc")) return P(alloc);
	if (!strcmp(o, "--boot")) return P(boot);
	if (!strcmp(o, "--disk")) return P(disk);
	return P(any);
#undef P
}

static const char bytes[] = {
	'\n', '\r', '\t', 0x1b, 0x7f, (char)0x80, (char)0xff, ',', ':', '@',
	'=', '-', '0', '9', 'K', 'G', ' ', '%', 'n',
};

static void mutate(char *v)
{
	size_t len = strlen(v);

	switch (fz_below(4)) {
	case 0:		/* a byte inserted */
		if (len + 1 < ARG_MAX_LEN) {
			size_t at = fz_below(len + 1);

			memmove(v + at + 1, v + at, len - at + 1);
			v[at] = bytes[fz_below(sizeof(bytes))];
		}
		break;
	case 1:		/* a byte replaced */
		if (len)
			v[fz_below(len)] = bytes[fz_below(sizeof(bytes))];
		break;
	case 2:		/* truncated */
		v[fz_below(len + 1)] = '\0';
		break;
	case 3:		/* a huge number appended */
		if (len + 24 < ARG_MAX_LEN)
			strcat(v, fz_below(2) ? "18446744073709551616" : "99999999999T");
		break;
	}
}

static unsigned long nr_ok, nr_help, nr_err;

int main(void)
{
	const char *env = getenv("KVMEM_FUZZ_LINES");
	unsigned long n = env && *env ? strtoul(env, NULL, 0) : 40000;
	static char store[MAX_ARGS][ARG_MAX_LEN + 32];
	int saved_stdout = dup(STDOUT_FILENO), devnull;

	cur_seed = fz_seed("fuzz_runopts", 20261126);
	fz_state = cur_seed;
	/* --help prints the usage to stdout: keep the log short */
	devnull = open("/dev/null", O_WRONLY);
	CHECK(devnull >= 0 && saved_stdout >= 0, "/dev/null");
	fflush(stdout);
	dup2(devnull, STDOUT_FILENO);
	for (cur_iter = 0; cur_iter < n; cur_iter++) {
		char *argv[MAX_ARGS + 1];
		struct run_opts o;
		struct gm_error e;
		int argc = 1, ret, k = 1 + (int)fz_below(8);
		size_t pos = 0;

		argv[0] = "run";
		/* mostly well-formed: a kernel or a flat, then random options */
		if (fz_below(4)) {
			snprintf(store[1], sizeof(store[1]), "%s",
				 fz_below(2) ? "--kernel" : "--flat");
			snprintf(store[2], sizeof(store[2]), "%s",
				 store[1][2] == 'k' ? "/boot/vmlinuz" : "g.bin@0x100000");
			argv[argc] = store[argc], argc++;
			argv[argc] = store[argc], argc++;
		}
		for (int i = 0; i < k && argc + 2 <= MAX_ARGS; i++) {
			unsigned r = (unsigned)fz_below(20);
			const char *opt = opts[fz_below(sizeof(opts) / sizeof(opts[0]))];

			if (r == 0)
				opt = fz_below(2) ? "--bogus" : "stray";
			else if (r == 1)
				opt = "--help";
			snprintf(store[argc], sizeof(store[argc]), "%s", opt);
			if (r == 2)	/* "--opt=value" form */
				snprintf(store[argc], sizeof(store[argc]), "%s=%s", opt,
					 value_for(opt));
			argv[argc] = store[argc], argc++;
			if (r > 2 && strcmp(opt, "--hugepages") && strcmp(opt, "--rng") && fz_below(16)) {
				snprintf(store[argc], sizeof(store[argc]), "%s", value_for(opt));
				if (fz_below(3) == 0)
					mutate(store[argc]);
				argv[argc] = store[argc], argc++;
			}
		}
		argv[argc] = NULL;
		for (int i = 1; i < argc; i++) {
			fz_escape((const unsigned char *)argv[i], strlen(argv[i]),
				  cur_argv + pos);
			pos += strlen(cur_argv + pos);
			cur_argv[pos++] = ' ';
			cur_argv[pos] = '\0';
		}

		ret = run_opts_parse(argc, argv, &o, &e);
		if (ret == 1) {
			nr_help++;
			run_opts_release(&o);
			continue;
		}
		if (ret) {
			nr_err++;
			CHECK(ret < 0 && ret > -4096 && e.err == -ret, "ret %d, e.err %d", ret, e.err);
			CHECK(e.msg[0], "empty message");
			for (const char *p = e.msg; *p; p++)
				if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
					char esc[4 * GM_ERRMSG_MAX + 1];

					fz_escape((const unsigned char *)e.msg, strlen(e.msg), esc);
					fprintf(stderr, "FAIL: kvmem %s-> \"%s\"\n", cur_argv, esc);
					CHECK(false, "message is not one printable line");
					break;
				}
			run_opts_release(&o);
			continue;
		}
		nr_ok++;
		CHECK(!o.kernel != !o.flat_path, "kernel and flat");
		CHECK(o.nr_cpus >= 1 && o.nr_cpus <= 256, "%u cpus", o.nr_cpus);
		CHECK(o.cfg.nr_nodes >= 1 && o.cfg.nr_nodes <= GM_MAX_NODES, "%u nodes",
		      o.cfg.nr_nodes);
		CHECK(o.nr_alloc <= RUN_MAX_ALLOCS, "%u allocs", o.nr_alloc);
		for (unsigned i = 0; i < GM_MAX_NODES; i++) {
			const struct gm_node_config *nd = &o.cfg.node[i];

			if (i >= o.cfg.nr_nodes) {
				CHECK(!nd->size && !nd->cma_size && !o.headroom[i],
				      "node %u beyond %u", i, o.cfg.nr_nodes);
				continue;
			}
			CHECK(nd->size && nd->size % 4096 == 0, "node %u size %" PRIu64, i, nd->size);
			CHECK(nd->cma_size < nd->size, "node %u cma", i);
			CHECK(o.headroom[i] <= nd->size, "node %u headroom", i);
		}
		run_opts_release(&o);
	}
	fflush(stdout);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	close(devnull);
	printf("fuzz_runopts: %lu command lines: %lu accepted, %lu --help, %lu refused\n",
	       n, nr_ok, nr_help, nr_err);
	CHECK(nr_ok > n / 50 && nr_err > n / 4, "too few accepted or refused");
	return 0;
}
