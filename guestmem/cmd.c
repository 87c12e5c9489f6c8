// SPDX-License-Identifier: MIT
/*
 * cmd.c - the control grammar (design.md section 5), shared by
 * allocations/ctl, `kvmem replay` and `kvmem run --alloc`:
 *
 *   alloc [name=NAME] node=N size=SIZE [align=SIZE] [from=buddy|cma]
 *         [mode=simple|topdown|range:START-END]
 *         [flags=contiguous,clear,trim_disable,noclear,fallback]
 *   free NAME
 *   stat [node=N]
 *
 * Words are separated by spaces or tabs; one trailing newline is allowed.
 * The parser is strict: unknown or repeated keys, empty values, junk after a
 * number, control or non-ASCII bytes and lines over GM_CMD_LINE_MAX bytes
 * are EINVAL, each with a message naming the offending word.
 *
 * A line crosses this file once: gm_cmd_parse() to a struct gm_cmd,
 * gm_cmd_run() to a struct gm_cmd_result, and text only in gm_cmd_format()
 * and gm_err_format(). Messages never carry the allocation's name: the
 * result does, and the formatter puts it in its own column.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define GM_CMD_LINE_MAX		1024
#define GM_CMD_MAX_WORDS	16

struct words {
	char buf[GM_CMD_LINE_MAX + 1];
	char *w[GM_CMD_MAX_WORDS];
	unsigned nr;
};

static int split(const char *line, struct words *ws, struct gm_error *e)
{
	size_t len = strnlen(line, GM_CMD_LINE_MAX + 2);
	char *p;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > GM_CMD_LINE_MAX)
		return gm_error_set(e, EINVAL, "line longer than %d bytes", GM_CMD_LINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = line[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return gm_error_set(e, EINVAL, "byte 0x%02x at column %zu is not printable ASCII",
				      c, i + 1);
	}
	memcpy(ws->buf, line, len);
	ws->buf[len] = '\0';
	ws->nr = 0;
	for (p = ws->buf; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (ws->nr == GM_CMD_MAX_WORDS)
			return gm_error_set(e, EINVAL, "more than %d words", GM_CMD_MAX_WORDS);
		ws->w[ws->nr++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (!ws->nr)
		return gm_error_set(e, EINVAL, "empty command (expected alloc, free or stat)");
	return 0;
}

/* node=N: a number; whether the node exists is gm_alloc()'s question. */
static int parse_node(const char *v, unsigned *node, struct gm_error *e)
{
	uint64_t n;

	if (!*v)
		return gm_error_set(e, EINVAL, "node: empty value");
	if (gm_parse_uint(v, 999999, &n))
		return gm_error_set(e, EINVAL, "node: '%s' is not a node number", v);
	*node = (unsigned)n;
	return 0;
}

static int parse_size_word(const char *key, const char *v, uint64_t *out,
			   struct gm_error *e)
{
	int ret = gm_parse_size(v, out);

	if (ret == -ERANGE)
		return gm_error_set(e, ERANGE, "%s: '%s' overflows 64 bits", key, v);
	if (ret)
		return gm_error_set(e, EINVAL, "%s: '%s' is not a size (digits or 0x hex, optional K M G T)",
			      key, v);
	return 0;
}

static int parse_mode(const char *v, struct gm_request *req, struct gm_error *e)
{
	char tmp[GM_CMD_LINE_MAX + 1];
	char *dash;
	int ret;

	if (!strcmp(v, "simple")) {
		req->mode = GM_MODE_SIMPLE;
		return 0;
	}
	if (!strcmp(v, "topdown")) {
		req->mode = GM_MODE_TOPDOWN;
		return 0;
	}
	if (strncmp(v, "range:", 6))
		return gm_error_set(e, EINVAL, "mode: '%s' is not simple, topdown or range:START-END", v);
	snprintf(tmp, sizeof(tmp), "%s", v + 6);
	dash = strchr(tmp, '-');
	if (!dash)
		return gm_error_set(e, EINVAL, "mode: '%s' is not range:START-END", v);
	*dash = '\0';
	ret = parse_size_word("range start", tmp, &req->range_start, e);
	if (!ret)
		ret = parse_size_word("range end", dash + 1, &req->range_end, e);
	if (ret)
		return ret;
	if (req->range_start >= req->range_end)
		return gm_error_set(e, EINVAL, "mode: range '%s' is empty or inverted (END is exclusive)",
			      v + 6);
	req->mode = GM_MODE_RANGE;
	return 0;
}

/* The one flag table: parse_flags() reads it, gm_request_format() prints it. */
static const struct {
	const char *name;
	unsigned flag;
} flag_names[] = {
	{ "contiguous", GM_F_CONTIGUOUS }, { "clear", GM_F_CLEAR },
	{ "trim_disable", GM_F_TRIM_DISABLE }, { "noclear", GM_F_NOCLEAR },
	{ "fallback", GM_F_FALLBACK },
};
#define NR_FLAGS	(sizeof(flag_names) / sizeof(flag_names[0]))

static int parse_flags(const char *v, unsigned *flags, struct gm_error *e)
{
	const char *p = v;

	*flags = 0;
	while (1) {
		size_t len = strcspn(p, ",");
		unsigned f = 0;

		for (size_t i = 0; i < NR_FLAGS; i++)
			if (strlen(flag_names[i].name) == len &&
			    !strncmp(p, flag_names[i].name, len))
				f = flag_names[i].flag;
		if (!len)
			return gm_error_set(e, EINVAL, "flags: empty flag in '%s'", v);
		if (!f)
			return gm_error_set(e, EINVAL, "flags: unknown flag '%.*s' (contiguous, clear, trim_disable, noclear, fallback)",
				      (int)len, p);
		if (*flags & f)
			return gm_error_set(e, EINVAL, "flags: '%.*s' given twice", (int)len, p);
		*flags |= f;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

enum { K_NAME, K_NODE, K_SIZE, K_ALIGN, K_FROM, K_MODE, K_FLAGS, K_NR };
static const char *const keys[K_NR] = {
	"name", "node", "size", "align", "from", "mode", "flags",
};

static int parse_alloc(struct words *ws, struct gm_cmd *cmd, struct gm_error *e)
{
	struct gm_request *req = &cmd->req;
	unsigned seen = 0;
	int ret = 0;

	/* find the name first, so every later error can carry it */
	for (unsigned i = 1; i < ws->nr; i++)
		if (!strncmp(ws->w[i], "name=", 5) &&
		    gm_name_chars_valid(ws->w[i] + 5)) {
			snprintf(cmd->name, sizeof(cmd->name), "%s", ws->w[i] + 5);
			break;
		}
	for (unsigned i = 1; i < ws->nr && !ret; i++) {
		char *w = ws->w[i], *v = strchr(w, '=');
		int k;

		if (!v)
			return gm_error_set(e, EINVAL, "expected KEY=VALUE, got '%s'", w);
		*v++ = '\0';
		for (k = 0; k < K_NR && strcmp(w, keys[k]); k++)
			;
		if (k == K_NR)
			return gm_error_set(e, EINVAL, "unknown key '%s' (name node size align from mode flags)",
				      w);
		if (seen & (1u << k))
			return gm_error_set(e, EINVAL, "key '%s' given twice", w);
		seen |= 1u << k;
		if (!*v)
			return gm_error_set(e, EINVAL, "key '%s' has an empty value", w);
		switch (k) {
		case K_NAME:
			ret = gm_check_name(v, GM_OWNER_USER, e);
			if (!ret)
				snprintf(req->name, sizeof(req->name), "%s", v);
			break;
		case K_NODE:
			ret = parse_node(v, &req->node, e);
			break;
		case K_SIZE:
			ret = parse_size_word("size", v, &req->size, e);
			if (!ret && !req->size)
				ret = gm_error_set(e, EINVAL, "size: must be non-zero");
			break;
		case K_ALIGN:
			ret = parse_size_word("align", v, &req->align, e);
			if (!ret && !gm_is_pow2(req->align))
				ret = gm_error_set(e, EINVAL, "align: '%s' is not a power of two", v);
			break;
		case K_FROM:
			if (!strcmp(v, "buddy"))
				req->from = GM_FROM_BUDDY;
			else if (!strcmp(v, "cma"))
				req->from = GM_FROM_CMA;
			else
				ret = gm_error_set(e, EINVAL, "from: '%s' is not buddy or cma", v);
			break;
		case K_MODE:
			ret = parse_mode(v, req, e);
			break;
		case K_FLAGS:
			ret = parse_flags(v, &req->flags, e);
			break;
		}
	}
	if (ret)
		return ret;
	if (!(seen & (1u << K_NODE)))
		return gm_error_set(e, EINVAL, "alloc: missing node=N");
	if (!(seen & (1u << K_SIZE)))
		return gm_error_set(e, EINVAL, "alloc: missing size=SIZE");
	if (req->align && req->size > UINT64_MAX - (req->align - 1))
		return gm_error_set(e, ERANGE, "size rounded up to align overflows 64 bits");
	if (req->from == GM_FROM_CMA && req->mode != GM_MODE_SIMPLE)
		return gm_error_set(e, EINVAL, "from=cma takes mode=simple only");
	if (req->from == GM_FROM_CMA &&
	    (req->flags & (GM_F_TRIM_DISABLE | GM_F_FALLBACK)))
		return gm_error_set(e, EINVAL, "from=cma takes no trim_disable or fallback flag");
	return 0;
}

/*
 * gm_cmd_parse() - see guestmem.h. @cmd is fully reset first.
 */
int gm_cmd_parse(const char *line, struct gm_cmd *cmd, struct gm_error *e)
{
	struct words ws;
	int ret;

	if (!line || !cmd)
		return gm_error_set(e, EINVAL, "no command");
	memset(cmd, 0, sizeof(*cmd));
	gm_request_init(&cmd->req);
	ret = split(line, &ws, e);
	if (ret)
		return ret;
	if (!strcmp(ws.w[0], "alloc")) {
		cmd->type = GM_CMD_ALLOC;
		return parse_alloc(&ws, cmd, e);
	}
	if (!strcmp(ws.w[0], "free")) {
		const char *n;

		cmd->type = GM_CMD_FREE;
		if (ws.nr != 2)
			return gm_error_set(e, EINVAL, "usage: free NAME");
		n = strncmp(ws.w[1], "name=", 5) ? ws.w[1] : ws.w[1] + 5;
		/* any owner's name: the VM's are refused when run, saying why */
		if (!gm_name_chars_valid(n))
			return gm_error_set(e, EINVAL, "free: '%.64s' is not a valid name", n);
		snprintf(cmd->name, sizeof(cmd->name), "%s", n);
		return 0;
	}
	if (!strcmp(ws.w[0], "stat")) {
		cmd->type = GM_CMD_STAT;
		if (ws.nr > 2)
			return gm_error_set(e, EINVAL, "usage: stat [node=N]");
		if (ws.nr == 2) {
			if (strncmp(ws.w[1], "node=", 5))
				return gm_error_set(e, EINVAL, "stat: expected node=N, got '%s'", ws.w[1]);
			ret = parse_node(ws.w[1] + 5, &cmd->node, e);
			if (ret)
				return ret;
			cmd->has_node = true;
		}
		return 0;
	}
	return gm_error_set(e, EINVAL, "unknown command '%.32s' (expected alloc, free or stat)",
		      ws.w[0]);
}

/* ---- running ---------------------------------------------------------------- */

void gm_cmd_result_release(struct gm_cmd_result *res)
{
	if (!res)
		return;
	free(res->blocks);
	free(res->stats);
	res->blocks = NULL;
	res->stats = NULL;
	res->nr_blocks = res->nr_stats = 0;
}

static void result_reset(struct gm_cmd_result *res, const struct gm_cmd *cmd)
{
	memset(res, 0, sizeof(*res));
	if (!cmd)
		return;
	res->type = cmd->type;
	memcpy(res->name, cmd->type == GM_CMD_ALLOC ? cmd->req.name : cmd->name,
	       sizeof(res->name));
	if (cmd->type == GM_CMD_ALLOC && !res->name[0])
		memcpy(res->name, cmd->name, sizeof(res->name));
}

/*
 * gm_cmd_result_fail() - see guestmem.h.
 */
void gm_cmd_result_fail(struct gm_cmd_result *res, const struct gm_cmd *cmd,
			const struct gm_error *e)
{
	result_reset(res, cmd);
	res->err = *e;
	if (!res->err.err)
		res->err.err = EINVAL;
}

static int run_stat(struct gm_mem *mem, const struct gm_cmd *cmd,
		    struct gm_cmd_result *res)
{
	unsigned first = cmd->has_node ? cmd->node : 0;
	unsigned last = cmd->has_node ? cmd->node : mem->nr_nodes - 1;

	if (first >= mem->nr_nodes)
		return gm_error_set(&res->err, EINVAL, "stat: no node %u", first);
	res->stats = calloc(last - first + 1, sizeof(*res->stats));
	if (!res->stats)
		return gm_error_set(&res->err, ENOMEM, "out of memory");
	for (unsigned i = first; i <= last; i++)
		gm_node_stat(mem, i, &res->stats[res->nr_stats++]);
	return 0;
}

/*
 * gm_cmd_run() - see guestmem.h. An alloc's blocks come from the allocation
 * call itself (no second lookup that another thread's free could race).
 */
int gm_cmd_run(struct gm_mem *mem, const struct gm_cmd *cmd,
	       struct gm_cmd_result *res)
{
	struct gm_alloc_info *info = NULL;
	int ret;

	result_reset(res, cmd);
	if (!mem || !cmd)
		return gm_error_set(&res->err, EINVAL, "no command");
	switch (cmd->type) {
	case GM_CMD_STAT:
		return run_stat(mem, cmd, res);
	case GM_CMD_FREE:
		return gm_free_name(mem, cmd->name, &res->id, &res->err);
	case GM_CMD_ALLOC:
		break;
	default:
		return gm_error_set(&res->err, EINVAL, "bad command type");
	}
	ret = gm_alloc(mem, &cmd->req, &info, &res->err);
	if (ret)
		return ret;
	memcpy(res->name, info->req.name, sizeof(res->name));
	res->id = info->id;
	res->node = info->req.node;
	res->nr_blocks = info->nr_blocks;
	res->blocks = info->blocks;	/* moves into the result */
	info->blocks = NULL;
	gm_alloc_info_free(info);
	return 0;
}

/* ---- text, at the edges -------------------------------------------------------- */

/* An snprintf that appends at *@pos and counts what it could not write. */
struct text {
	char *out;
	size_t len, pos;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->pos < t->len ? t->out + t->pos : NULL,
		      t->pos < t->len ? t->len - t->pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->pos += (size_t)n;
}

/*
 * gm_err_format() - see guestmem.h.
 */
size_t gm_err_format(char *out, size_t outlen, const char *name,
		     const struct gm_error *e)
{
	struct text t = { out, outlen, 0 };

	if (outlen)
		out[0] = '\0';
	put(&t, "err %s %s %s", name && name[0] ? name : "-",
	    gm_errno_name(e->err), e->msg);
	return t.pos;
}

/*
 * gm_cmd_format() - see guestmem.h.
 */
size_t gm_cmd_format(const struct gm_cmd_result *res, char *out,
		     size_t outlen)
{
	struct text t = { out, outlen, 0 };
	const char *name = res->name;

	if (outlen)
		out[0] = '\0';
	if (res->err.err) {
		/* auto-named allocations that failed have no name to show */
		t.pos = gm_err_format(out, outlen, name, &res->err);
		put(&t, "\n");
		return t.pos;
	}
	switch (res->type) {
	case GM_CMD_STAT:
		for (unsigned i = 0; i < res->nr_stats; i++) {
			const struct gm_node_stat *st = &res->stats[i];

			put(&t, "node=%u size=%llu avail=%llu cma_size=%llu cma_used=%llu cma_maxchunk=%llu early=%llu start=0x%llx end=0x%llx\n",
			    st->id, (unsigned long long)st->size,
			    (unsigned long long)st->avail,
			    (unsigned long long)st->cma_size,
			    (unsigned long long)st->cma_used,
			    (unsigned long long)st->cma_maxchunk,
			    (unsigned long long)st->early_reserved,
			    (unsigned long long)st->start,
			    (unsigned long long)st->end);
		}
		break;
	case GM_CMD_FREE:
		put(&t, "ok %s freed\n", name);
		break;
	case GM_CMD_ALLOC:
		put(&t, "ok %s node=%u blocks=", name, res->node);
		for (unsigned i = 0; i < res->nr_blocks;) {
			uint64_t start = res->blocks[i].gpa;
			uint64_t end = start + res->blocks[i].size;

			for (i++; i < res->nr_blocks && res->blocks[i].gpa == end; i++)
				end += res->blocks[i].size;
			put(&t, "%s0x%llx+0x%llx",
			    start == res->blocks[0].gpa ? "" : ",",
			    (unsigned long long)start,
			    (unsigned long long)(end - start));
		}
		put(&t, "\n");
		break;
	}
	return t.pos;
}

/*
 * gm_cmd_exec() - see guestmem.h.
 */
int gm_cmd_exec(struct gm_mem *mem, const char *line, char *out, size_t outlen)
{
	struct gm_cmd_result res;
	struct gm_error e = { 0 };
	struct gm_cmd cmd;
	int ret;

	if (!out || !outlen)
		return -EINVAL;
	memset(&cmd, 0, sizeof(cmd));
	ret = gm_cmd_parse(line, &cmd, &e);
	if (ret) {
		gm_cmd_result_fail(&res, &cmd, &e);
	} else {
		ret = gm_cmd_run(mem, &cmd, &res);
	}
	gm_cmd_format(&res, out, outlen);
	gm_cmd_result_release(&res);
	return ret;
}

static const char *mode_word(const struct gm_request *r, char *buf, size_t len)
{
	switch (r->mode) {
	case GM_MODE_TOPDOWN:
		return "topdown";
	case GM_MODE_RANGE:
		snprintf(buf, len, "range:0x%llx-0x%llx",
			 (unsigned long long)r->range_start,
			 (unsigned long long)r->range_end);
		return buf;
	default:
		return "simple";
	}
}

/*
 * gm_request_format() - see guestmem.h.
 */
size_t gm_request_format(const struct gm_request *req, char *out,
			 size_t outlen)
{
	struct text t = { out, outlen, 0 };
	const char *sep = " flags=";
	char mode[64];

	if (outlen)
		out[0] = '\0';
	put(&t, "node=%u size=0x%llx", req->node, (unsigned long long)req->size);
	if (req->align)
		put(&t, " align=0x%llx", (unsigned long long)req->align);
	put(&t, " from=%s mode=%s", req->from == GM_FROM_CMA ? "cma" :
	    req->from == GM_FROM_HOTPLUG ? "hotplug" : "buddy",
	    mode_word(req, mode, sizeof(mode)));
	for (size_t i = 0; i < NR_FLAGS; i++) {
		if (!(req->flags & flag_names[i].flag))
			continue;
		put(&t, "%s%s", sep, flag_names[i].name);
		sep = ",";
	}
	if (req->owner == GM_OWNER_VM)
		put(&t, " owner=vm");
	return t.pos;
}
