// SPDX-License-Identifier: MIT
/*
 * kvmem-domain.c - `kvmem domain FILE.xml`, and the bridge between libvirt
 * domain XML (domain/) and `kvmem run`'s options.
 *
 * A domain becomes a `kvmem run` argument vector (run_domain_load()): that
 * vector is what `kvmem domain` prints and what `kvmem run --domain`
 * parses with the same option parser, so the printed command is the run by
 * construction. Back the other way, run_domain_xml() describes a run's
 * options as domain XML for vm/domain.xml; `kvmem domain` maps that file
 * back to the same command.
 *
 * What a domain can say that kvmem's options cannot is refused here: kvmem
 * places vCPU i on node i * nodes / cpus (run_cpu_node()), so each cell's
 * cpus must be that block.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain.h"
#include "kvmem-run.h"
#include "kvmem.h"
#include "vmm.h"

/* The block of vCPUs kvmem puts on @node, or first = -1 when none. */
static void node_cpus(unsigned node, unsigned cpus, unsigned nodes, int *first,
		      int *last)
{
	*first = *last = -1;
	for (unsigned i = 0; i < cpus; i++)
		if (run_cpu_node(i, cpus, nodes) == node) {
			if (*first < 0)
				*first = (int)i;
			*last = (int)i;
		}
}

/* "A", "A-B", or "" for no vCPUs: libvirt's cpus='...' of a cell. */
static const char *range(int first, int last, char buf[24])
{
	if (first < 0)
		buf[0] = '\0';
	else if (first == last)
		snprintf(buf, 24, "%d", first);
	else
		snprintf(buf, 24, "%d-%d", first, last);
	return buf;
}

static int check_placement(const struct dom_guest *g, struct gm_error *e)
{
	char want[24], got[24];

	if (g->nr_cpus < 1 || g->nr_cpus > VMM_MAX_CPUS)
		return gm_error_set(e, EINVAL, "<vcpu>%u</vcpu>: kvmem runs 1 to %d vCPUs",
				    g->nr_cpus, VMM_MAX_CPUS);
	for (unsigned n = 0; n < g->nr_nodes; n++) {
		const struct dom_node *nd = &g->node[n];
		int first, last;

		node_cpus(n, g->nr_cpus, g->nr_nodes, &first, &last);
		if (first == nd->cpu_first && last == nd->cpu_last)
			continue;
		range(first, last, want);
		return gm_error_set(e, EINVAL,
				    "<cpu/numa/cell id='%u' cpus='%s'>: kvmem puts %s%s on node %u (vCPU i on node i*%u/%u)",
				    n, range(nd->cpu_first, nd->cpu_last, got),
				    want[0] ? "vCPUs " : "no vCPU", want, n, g->nr_nodes, g->nr_cpus);
	}
	return 0;
}

/* ---- domain -> arguments ---------------------------------------------------- */

static int add(struct run_domain *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int add(struct run_domain *d, const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (gm_grow(&d->argv, &d->cap, (size_t)d->argc + 2, sizeof(*d->argv)))
		return -ENOMEM;
	va_start(ap, fmt);
	ret = vasprintf(&d->argv[d->argc], fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -ENOMEM;
	d->argv[++d->argc] = NULL;
	return 0;
}

enum node_value { NODE_SIZE, NODE_CMA, NODE_HEADROOM, NODE_HOTPLUG, NODE_HOTPLUG_REQ };

static uint64_t node_value(const struct dom_node *nd, enum node_value what)
{
	switch (what) {
	case NODE_SIZE: return nd->size;
	case NODE_CMA: return nd->cma;
	case NODE_HEADROOM: return nd->headroom;
	case NODE_HOTPLUG: return nd->hotplug;
	case NODE_HOTPLUG_REQ: return nd->hotplug_req;
	}
	return 0;
}

/* @opt "0:512M@1,1:512M": @what of each node that has it; nothing if none. */
static int add_nodes(struct run_domain *d, const struct dom_guest *g,
		     const char *opt, enum node_value what)
{
	char list[1024] = "", size[GM_SIZE_STR_MAX];
	size_t len = 0;

	for (unsigned n = 0; n < g->nr_nodes; n++) {
		const struct dom_node *nd = &g->node[n];
		uint64_t v = node_value(nd, what);

		if (!v)
			continue;
		len += snprintf(list + len, sizeof(list) - len, "%s%u:%s", len ? "," : "", n,
				gm_format_size(v, size));
		if (what == NODE_SIZE && nd->host_node >= 0 && len < sizeof(list))
			len += snprintf(list + len, sizeof(list) - len, "@%d", nd->host_node);
		if (len >= sizeof(list))
			return -E2BIG;
	}
	return len ? add(d, "%s", opt) ?: add(d, "%s", list) : 0;
}

_Static_assert(DOM_MAX_DISKS == RUN_MAX_DISKS, "a domain's disks are --disk's");
_Static_assert(DOM_SERIAL_MAX == VMM_BLK_SERIAL_MAX, "<serial> is --disk's serial=ID");

/* One --disk FILE[,ro][,cache=none|writeback][,serial=ID] per <disk>, vda first. */
static int add_disks(struct run_domain *d, const struct dom_guest *g)
{
	static const char *const cache[] = {
		[DOM_CACHE_DEFAULT] = "", [DOM_CACHE_NONE] = ",cache=none",
		[DOM_CACHE_WRITEBACK] = ",cache=writeback",
	};
	int ret = 0;

	for (unsigned i = 0; !ret && i < g->nr_disks; i++) {
		const struct dom_disk *k = &g->disk[i];

		ret = add(d, "--disk") ?: add(d, "%s%s%s%s%s", k->path, k->ro ? ",ro" : "",
					      cache[k->cache], k->serial[0] ? ",serial=" : "",
					      k->serial);
	}
	return ret;
}

/*
 * --hotplug N:SIZE,... [--hotplug-block B] [--hotplug-requested N:SIZE,...]:
 * the default block (2M) left out, so that a run's vm/domain.xml maps back
 * to the same options.
 */
static int add_hotplug(struct run_domain *d, const struct dom_guest *g)
{
	char size[GM_SIZE_STR_MAX];
	int ret = add_nodes(d, g, "--hotplug", NODE_HOTPLUG);

	if (!ret && g->hotplug_block && g->hotplug_block != GM_HOTPLUG_BLOCK)
		ret = add(d, "--hotplug-block") ?: add(d, "%s", gm_format_size(g->hotplug_block, size));
	return ret ?: add_nodes(d, g, "--hotplug-requested", NODE_HOTPLUG_REQ);
}

/* The canonical command: `kvmem run --help`'s order, every value explicit. */
static int build_args(struct run_domain *d, const struct dom_guest *g)
{
	int ret = add(d, "run");

	if (!ret && g->kernel)
		ret = add(d, "--kernel") ?: add(d, "%s", g->kernel);
	if (!ret && g->initrd)
		ret = add(d, "--initrd") ?: add(d, "%s", g->initrd);
	if (!ret && g->cmdline)
		ret = add(d, "--cmdline") ?: add(d, "%s", g->cmdline);
	if (!ret && g->flat)
		ret = add(d, "--flat") ?: add(d, "%s@0x%" PRIx64, g->flat, g->flat_addr);
	if (!ret)
		ret = add(d, "--cpus") ?: add(d, "%u", g->nr_cpus);
	if (!ret)
		ret = add_nodes(d, g, "--numa", NODE_SIZE);
	if (!ret)
		ret = add_nodes(d, g, "--cma", NODE_CMA);
	if (!ret)
		ret = add_nodes(d, g, "--headroom", NODE_HEADROOM);
	if (!ret && g->hugepages)
		ret = add(d, "--hugepages");
	if (!ret && g->no_balloon)
		ret = add(d, "--balloon") ?: add(d, "off");
	if (!ret && g->console)
		ret = add(d, "--console") ?: add(d, "%s", g->console);
	if (!ret)
		ret = add(d, "--name") ?: add(d, "%s", g->name);
	if (!ret && g->rng)
		ret = add(d, "--rng");
	if (!ret)
		ret = add_disks(d, g);
	if (!ret)
		ret = add_hotplug(d, g);
	return ret;
}

void run_domain_free(struct run_domain *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->argc; i++)
		free(d->argv[i]);
	free(d->argv);
	free(d);
}

/* Read and map @path, here: libvirt and libxml2 enter this process. */
static int load_here(const char *path, struct run_domain **out,
		     struct gm_error *e)
{
	struct run_domain *d;
	struct dom_guest g;
	int ret;

	ret = dom_read(path, &g, e);
	if (ret)
		return ret;
	ret = check_placement(&g, e);
	if (ret)
		goto out;
	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = gm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	ret = build_args(d, &g);
	if (ret) {
		run_domain_free(d);
		ret = gm_error_set(e, -ret, "the command line: %s", strerror(-ret));
		goto out;
	}
	snprintf(d->uuid, sizeof(d->uuid), "%s", g.uuid);
	*out = d;
out:
	dom_guest_release(&g);
	return ret;
}

#define REPLY_MAX	(256 * 1024)

/*
 * The child's reply on @fd: 'K' uuid NUL then each argument NUL-terminated,
 * or 'E' errno NUL message NUL. A write that fails leaves the parent a
 * short reply, which it refuses.
 */
static void send_reply(int fd, int ret, const struct run_domain *d,
		       const struct gm_error *e)
{
	FILE *f = fdopen(fd, "w");

	if (!f)
		return;
	if (ret) {
		fprintf(f, "E%d%c%s%c", -ret, 0, e->msg, 0);
	} else {
		fprintf(f, "K%s%c", d->uuid, 0);
		for (int i = 0; i < d->argc; i++)
			fprintf(f, "%s%c", d->argv[i], 0);
	}
	fclose(f);
}

/* Parse the child's reply (@len bytes at @buf, NUL-terminated past them). */
static int take_reply(char *buf, size_t len, struct run_domain **out,
		      struct gm_error *e)
{
	struct run_domain *d;
	char *p = buf + 1, *end = buf + len;

	if (len >= 2 && buf[0] == 'E' && memchr(p, 0, end - p)) {
		int err = atoi(p);

		p += strlen(p) + 1;
		return gm_error_set(e, err > 0 && err < 4096 ? err : EIO, "%s", p < end ? p : "");
	}
	if (len < 2 || buf[0] != 'K' || end[-1])
		return gm_error_set(e, EIO, "reading the domain: no answer from the reader");
	d = calloc(1, sizeof(*d));
	if (!d)
		return gm_error_set(e, ENOMEM, "out of memory");
	snprintf(d->uuid, sizeof(d->uuid), "%s", p);
	for (p += strlen(p) + 1; p < end; p += strlen(p) + 1)
		if (add(d, "%s", p)) {
			run_domain_free(d);
			return gm_error_set(e, ENOMEM, "out of memory");
		}
	*out = d;
	return 0;
}

/*
 * The domain is read in a child process: once open, libvirt and libxml2
 * (57 libraries, ~17 MiB mapped, ~2 MiB of heap) cannot be unloaded, and
 * the process that runs the guest keeps none of that, nor any file or
 * handler they leave behind. The child sends back the arguments.
 */
int run_domain_load(const char *path, struct run_domain **out,
		    struct gm_error *e)
{
	char *buf = NULL;
	size_t len = 0;
	int pfd[2], status, ret;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return gm_error_set(e, errno, "pipe: %s", strerror(errno));
	fflush(NULL);		/* the child must not write our buffers twice */
	pid = fork();
	if (pid < 0) {
		ret = gm_error_set(e, errno, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (!pid) {
		struct run_domain *d = NULL;

		close(pfd[0]);
		ret = load_here(path, &d, e);
		send_reply(pfd[1], ret, d, e);
		_exit(0);
	}
	close(pfd[1]);
	buf = malloc(REPLY_MAX + 1);
	ret = buf ? 0 : -ENOMEM;
	while (!ret && len < REPLY_MAX) {
		ssize_t n = read(pfd[0], buf + len, REPLY_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret)
		ret = gm_error_set(e, ENOMEM, "out of memory");
	else if (!WIFEXITED(status))
		ret = gm_error_set(e, EIO, "reading the domain: the reader died (%s)",
				   WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "?");
	else
		ret = (buf[len] = '\0', take_reply(buf, len, out, e));
	free(buf);
	return ret;
}

/* ---- run options -> domain ------------------------------------------------- */

/* @path as an absolute path (libvirt wants them), malloc'd; NULL stays. */
static int abs_path(const char *cwd, const char *path, char **out)
{
	*out = NULL;
	if (!path)
		return 0;
	if (path[0] == '/') {
		*out = strdup(path);
		return *out ? 0 : -ENOMEM;
	}
	if (!cwd)
		return -ENOENT;
	return asprintf(out, "%s/%s", cwd, path) < 0 ? -ENOMEM : 0;
}

/*
 * The --disk options as <disk>s: a block device is type='block', anything
 * else type='file' (what the run opened was checked then).
 */
static int xml_disks(const struct run_opts *o, struct dom_guest *g)
{
	static const enum dom_cache cache[] = {
		[VMM_BLK_CACHE_DEFAULT] = DOM_CACHE_DEFAULT,
		[VMM_BLK_CACHE_NONE] = DOM_CACHE_NONE,
		[VMM_BLK_CACHE_WRITEBACK] = DOM_CACHE_WRITEBACK,
	};

	for (unsigned i = 0; i < o->nr_disks; i++) {
		const struct vmm_blk_conf *c = &o->disk[i];
		struct dom_disk *d = &g->disk[i];
		int ret = abs_path(o->cwd, c->path, &d->path);

		g->nr_disks = i + 1;	/* released with the others, also on error */
		if (ret)
			return ret;
		d->block = o->disk_block[i];
		d->ro = c->ro;
		d->cache = cache[c->cache];
		snprintf(d->serial, sizeof(d->serial), "%s", c->serial);
	}
	return 0;
}

int run_domain_xml(const struct run_opts *o, const char *name, char **out,
		   struct gm_error *e)
{
	return run_domain_xml_now(o, NULL, name, out, e);
}

int run_domain_xml_now(const struct run_opts *o, const uint64_t *requested,
		       const char *name, char **out, struct gm_error *e)
{
	struct dom_guest g;
	int ret;

	dom_guest_init(&g);
	snprintf(g.name, sizeof(g.name), "%s", name);
	if (o->domain)
		snprintf(g.uuid, sizeof(g.uuid), "%s", o->domain->uuid);
	g.nr_cpus = o->nr_cpus;
	g.nr_nodes = o->cfg.nr_nodes;
	g.cells = g.nr_nodes > 1;
	for (unsigned n = 0; n < g.nr_nodes; n++) {
		struct dom_node *nd = &g.node[n];

		nd->size = o->cfg.node[n].size;
		nd->host_node = o->cfg.node[n].host_node;
		nd->cma = o->cfg.node[n].cma_size;
		nd->headroom = o->headroom[n];
		node_cpus(n, g.nr_cpus, g.nr_nodes, &nd->cpu_first, &nd->cpu_last);
		nd->hotplug = o->cfg.node[n].hotplug_size;
		nd->hotplug_req = requested ? requested[n] : o->hotplug_requested[n];
		if (nd->hotplug)	/* one block for all; 0 is the default */
			g.hotplug_block = o->cfg.node[n].hotplug_block ?: GM_HOTPLUG_BLOCK;
	}
	g.hugepages = o->hugepages;
	g.no_balloon = o->no_balloon;
	g.flat_addr = o->flat_addr;
	ret = abs_path(o->cwd, o->kernel, &g.kernel) ?:
	      abs_path(o->cwd, o->initrd, &g.initrd) ?:
	      abs_path(o->cwd, o->flat_path, &g.flat);
	if (!ret && o->cmdline && !(g.cmdline = strdup(o->cmdline)))
		ret = -ENOMEM;
	if (!ret && o->console)
		ret = strcmp(o->console, "stdio") ? abs_path(o->cwd, o->console, &g.console) :
		      (g.console = strdup("stdio")) ? 0 : -ENOMEM;
	g.rng = o->rng;
	if (!ret)
		ret = xml_disks(o, &g);
	if (ret)
		ret = gm_error_set(e, -ret, "%s", strerror(-ret));
	else
		ret = dom_format(&g, out, e);
	dom_guest_release(&g);
	return ret;
}

/* ---- kvmem domain ------------------------------------------------------------ */

static const char usage_text[] =
"usage: kvmem domain FILE.xml\n"
"\n"
"Print the `kvmem run` command line equivalent to a libvirt domain XML\n"
"(nothing runs): `kvmem run --domain FILE.xml` runs that command. The\n"
"file is validated by libvirt (in process, no daemon) and by kvmem; an\n"
"element kvmem cannot honour is an error naming it (exit 2).\n";

/* One shell word: bare when only safe characters, else single-quoted. */
static void put_word(FILE *f, const char *s)
{
	if (*s && !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789@%+=:,./_-")]) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

int kvmem_cmd_domain(int argc, char **argv)
{
	struct run_domain *d = NULL;
	struct gm_error e = { 0 };
	struct run_opts o;
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "kvmem domain: expected one FILE.xml (try kvmem domain --help)\n");
		return 2;
	}
	ret = run_domain_load(argv[1], &d, &e);
	if (!ret) {
		/* the printed command must be one `kvmem run` takes */
		ret = run_opts_parse(d->argc, d->argv, &o, &e);
		run_opts_release(&o);
	}
	if (ret) {
		run_printable_msg(&e);
		fprintf(stderr, "kvmem domain: %s: %s\n", argv[1], e.msg);
		run_domain_free(d);
		return 2;
	}
	fputs("kvmem", stdout);
	for (int i = 0; i < d->argc; i++) {
		fputc(' ', stdout);
		put_word(stdout, d->argv[i]);
	}
	fputc('\n', stdout);
	run_domain_free(d);
	return fflush(stdout) ? 1 : 0;
}
