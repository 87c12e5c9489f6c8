// SPDX-License-Identifier: MIT
/*
 * kvmem-replay.c - `kvmem replay`: run control-grammar commands from stdin
 * over unbacked pools (no KVM, no FUSE, no guest memory touched) and print
 * exactly one result line per command (stat: one line per node asked).
 * Blank lines and lines whose first non-blank character is '#' are skipped
 * and print nothing. With --map DIR, each node's picture is written to
 * DIR/nodeN.svg once the trace is read. Exit 0 once the trace is read, even
 * if commands failed (their err lines say so); 2 on bad options or
 * configuration (a --map DIR that cannot be made or written included:
 * checked before the trace runs); 1 if stdout or a map cannot be written.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guestmem.h"
#include "kvmem.h"

#define REPLAY_OUT_MAX	(4u << 20)	/* one result line, however many blocks */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmem replay [--numa 0:1G,1:512M] [--chunk 4K] [--cma 0:64M,1:32M]\n"
		"                    [--map DIR] < trace\n"
		"\n"
		"Run control-grammar commands, one per line, from stdin over pools that\n"
		"have no host memory, printing one result line per command:\n"
		"  alloc [name=NAME] node=N size=SIZE [align=SIZE] [from=buddy|cma]\n"
		"        [mode=simple|topdown|range:START-END]\n"
		"        [flags=contiguous,clear,trim_disable,noclear,fallback]\n"
		"                     -> ok NAME node=N blocks=0xGPA+0xLEN[,...]\n"
		"  free NAME          -> ok NAME freed\n"
		"  stat [node=N]      -> node=N size=B avail=B cma_size=B cma_used=B ...\n"
		"  failures           -> err NAME ENAME message (NAME '-' if none parsed)\n"
		"Blank lines and '#' comments print nothing.\n"
		"\n"
		"options:\n"
		"  --numa LIST   node sizes, NODE:SIZE[,...] (default 0:1G)\n"
		"  --chunk SIZE  buddy chunk size, a power of two >= 4K (default 4K)\n"
		"  --cma LIST    contiguous-range area per node, NODE:SIZE[,...]\n"
		"  --map DIR     at the end, draw each node as DIR/nodeN.svg (DIR is\n"
		"                created if missing)\n"
		"  --help        this text\n");
}

static int bad_option(const char *msg)
{
	fprintf(stderr, "kvmem replay: %s\n", msg);
	return 2;
}

static bool skip_line(const char *line)
{
	line += strspn(line, " \t\r\n");
	return !*line || *line == '#';
}

/*
 * --map DIR: made if missing (one level), and it must be a directory we can
 * write into; checked before the trace runs so a long trace is not wasted.
 */
static int check_map_dir(const char *dir, struct gm_error *e)
{
	struct stat st;

	if (!dir[0])
		return gm_error_set(e, EINVAL, "--map: empty directory name");
	if (mkdir(dir, 0777) && errno != EEXIST)
		return gm_error_set(e, errno, "--map %s: %s", dir, strerror(errno));
	if (stat(dir, &st))
		return gm_error_set(e, errno, "--map %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return gm_error_set(e, ENOTDIR, "--map %s: %s", dir, strerror(ENOTDIR));
	if (access(dir, W_OK | X_OK))
		return gm_error_set(e, errno, "--map %s: %s", dir, strerror(errno));
	return 0;
}

/* Write @len bytes at @p to a new file @path. 0 or -errno. */
static int write_file(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -errno;
	err = fwrite(p, 1, len, f) == len ? 0 : errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	return -err;
}

/* DIR/nodeN.svg for every node. 0, or 1 with a one-line message. */
static int write_maps(struct gm_mem *mem, const char *dir)
{
	for (unsigned n = 0; n < gm_mem_nr_nodes(mem); n++) {
		char path[4096], *svg = NULL;
		size_t len = 0;
		int ret;

		snprintf(path, sizeof(path), "%s/node%u.svg", dir, n);
		ret = gm_node_svg(mem, n, &svg, &len);
		if (!ret)
			ret = write_file(path, svg, len);
		free(svg);
		if (ret) {
			fprintf(stderr, "kvmem replay: %s: %s\n", path, strerror(-ret));
			return 1;
		}
	}
	return 0;
}

static int run_trace(struct gm_mem *mem, FILE *in, FILE *out)
{
	char *line = NULL, *res = malloc(REPLAY_OUT_MAX);
	size_t cap = 0;
	ssize_t len;

	if (!res) {
		fprintf(stderr, "kvmem replay: out of memory\n");
		return 1;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		if ((size_t)len != strlen(line)) {
			fputs("err - EINVAL NUL byte in line\n", out);
			continue;
		}
		if (skip_line(line))
			continue;
		gm_cmd_exec(mem, line, res, REPLAY_OUT_MAX);
		fputs(res, out);
	}
	free(line);
	free(res);
	return fflush(out) ? 1 : 0;
}

int kvmem_cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "numa", required_argument, NULL, 'n' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "cma", required_argument, NULL, 'm' },
		{ "map", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *numa = "0:1G", *chunk = NULL, *cma = NULL, *map = NULL;
	struct kvmem_opts p = { argc, argv, opts, "replay", false };
	struct gm_config cfg;
	struct gm_error e = { 0 };
	struct gm_mem *mem;
	int c, ret;

	while ((c = kvmem_opt_next(&p, &e)) > 0) {
		switch (c) {
		case 'n': numa = optarg; break;
		case 'c': chunk = optarg; break;
		case 'm': cma = optarg; break;
		case 'M': map = optarg; break;
		case 'h': usage(stdout); return 0;
		}
	}
	if (c < 0) {
		fprintf(stderr, "kvmem replay: %s\n", e.msg);
		return 2;
	}
	gm_config_init(&cfg);
	if ((chunk && gm_parse_chunk(chunk, &cfg, &e)) ||
	    gm_parse_numa(numa, &cfg, &e) ||
	    (cma && gm_parse_cma(cma, &cfg, &e)) ||
	    (map && check_map_dir(map, &e)))
		return bad_option(e.msg);
	ret = gm_mem_create(&cfg, &mem, &e);
	if (ret)
		return bad_option(e.msg);
	ret = gm_mem_retire(mem, &e);
	if (ret) {
		fprintf(stderr, "kvmem replay: %s\n", e.msg);
		gm_mem_destroy(mem);
		return 2;
	}
	ret = run_trace(mem, stdin, stdout);
	if (!ret && map)
		ret = write_maps(mem, map);
	gm_mem_destroy(mem);
	return ret;
}
