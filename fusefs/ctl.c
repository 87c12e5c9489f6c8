// SPDX-License-Identifier: MIT
/*
 * ctl.c - writes that change state, and the raw byte files.
 *
 * Control writes: allocations/ctl (the control grammar, several lines per
 * write, applied in order until the first failing line), allocations/NAME/
 * spec (configfs habit: mkdir, then the request's words), nodes/nodeN/cma/
 * size (resize), vm/state, allocations/error (any write clears it).
 * Every failure returns the negative errno to write(2) and records one line
 * in allocations/error ("err WHAT ENAME message"; last error wins across all
 * writers of the mount). A failing write changes nothing, except that lines
 * of a ctl write before the failing line stay applied.
 *
 * A control line crosses into guestmem once: parsed to a struct gm_cmd,
 * run to a struct gm_cmd_result; the error file is written from the
 * result's errno, name and message (gm_err_format()), nothing re-parsed.
 * Names are guestmem's alone: a mkdir is a reservation there, a spec write
 * commits it, rmdir frees or drops it by id.
 *
 * Raw files: allocations/NAME/data (the allocation's bytes as one contiguous
 * file over its blocks) and memory (file offset = guest-physical address).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static bool blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return !*s || *s == '#';
}

/* Record @err for @what in the error file; returns the negative errno. */
static int fail(struct fs *fs, const char *what, int err, const char *msg)
{
	struct gm_error e;

	gm_error_set(&e, err, "%s", msg);
	fs_set_error(fs, what, &e);
	return -e.err;
}

/*
 * Run parsed command @cmd as the user; on failure record it. A free drops
 * the freed allocation's cached texts.
 */
static int run_cmd(struct fs *fs, const struct gm_cmd *cmd)
{
	struct gm_cmd_result res;
	int ret = gm_cmd_run(fs->mem, cmd, &res);

	if (ret)
		fs_set_error(fs, res.name, &res.err);
	else if (res.type == GM_CMD_FREE)
		fs_forget_alloc(fs, res.id);
	gm_cmd_result_release(&res);
	return ret;
}

/* One line of allocations/ctl (NUL-terminated, no newline). */
static int ctl_line(struct fs *fs, const char *line)
{
	struct gm_error e = { 0 };
	struct gm_cmd cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	ret = gm_cmd_parse(line, &cmd, &e);
	if (ret) {
		fs_set_error(fs, cmd.name, &e);
		return ret;
	}
	/* allocations/ctl and allocations/error are files, not names */
	if (cmd.type == GM_CMD_ALLOC && fs_row_reserved(cmd.req.name))
		return fail(fs, cmd.req.name, EEXIST, "name taken");
	return run_cmd(fs, &cmd);
}

/*
 * fs_store_ctl() - apply the lines of one write(2) to allocations/ctl in
 * order. Blank lines and lines starting with '#' are skipped; a last line
 * without a newline counts. Stops at the first failing line and returns its
 * errno: the lines before it stay applied, the lines after it are not run.
 * A line of FS_LINE_MAX bytes or more, or a NUL byte anywhere, fails the
 * whole write with -EINVAL before any line runs.
 */
int fs_store_ctl(struct fs *fs, const struct fs_obj *o, const char *buf,
		 size_t len)
{
	char line[FS_LINE_MAX];
	size_t pos, n;
	int ret;

	(void)o;
	if (memchr(buf, '\0', len))
		return fail(fs, NULL, EINVAL, "NUL byte in a control write");
	for (pos = 0; pos < len; pos += n + 1) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		if (n >= FS_LINE_MAX)
			return fail(fs, NULL, EINVAL, "control line too long");
	}
	for (pos = 0; pos < len; pos += n + 1) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		if (blank(line))
			continue;
		ret = ctl_line(fs, line);
		if (ret)
			return ret;
	}
	return 0;
}

/* fs_take_value() - see fs.h. */
int fs_take_value(const char *buf, size_t len, char *out, size_t outlen)
{
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	while (len && isspace((unsigned char)*buf)) {
		buf++;
		len--;
	}
	if (!len || len >= outlen || memchr(buf, '\0', len) ||
	    memchr(buf, '\n', len))
		return -EINVAL;
	memcpy(out, buf, len);
	out[len] = '\0';
	return 0;
}

int fs_store_error(struct fs *fs, const struct fs_obj *o, const char *buf,
		   size_t len)
{
	(void)o;
	(void)buf;
	(void)len;
	pthread_mutex_lock(&fs->lock);
	fs->last_error[0] = '\0';
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/*
 * fs_store_spec() - allocations/NAME/spec: the words of an alloc request
 * without "alloc" and without name= (NAME is the directory), committing
 * NAME's pending reservation. Applied once: -EBUSY once allocated.
 */
int fs_store_spec(struct fs *fs, const struct fs_obj *o, const char *buf,
		  size_t len)
{
	char words[FS_LINE_MAX], line[FS_LINE_MAX + 8];
	struct gm_error e = { 0 };
	struct gm_cmd cmd;
	int ret;

	if (!o->a.pending)
		return fail(fs, o->a.name, EBUSY, "spec already applied (rmdir to free)");
	if (fs_take_value(buf, len, words, sizeof(words)))
		return fail(fs, o->a.name, EINVAL, "spec: one line of alloc words expected");
	snprintf(line, sizeof(line), "alloc %s", words);
	memset(&cmd, 0, sizeof(cmd));
	ret = gm_cmd_parse(line, &cmd, &e);
	if (ret) {
		fs_set_error(fs, o->a.name, &e);
		return ret;
	}
	if (cmd.req.name[0])
		return fail(fs, o->a.name, EINVAL, "spec: the directory names the allocation");
	cmd.req.reserved_id = o->a.id;
	return run_cmd(fs, &cmd);
}

int fs_store_cma_size(struct fs *fs, const struct fs_obj *o, const char *buf,
		      size_t len)
{
	struct gm_error e = { 0 };
	char what[32], v[64];
	uint64_t size;
	int ret;

	snprintf(what, sizeof(what), "node%u/cma/size", o->node);
	ret = fs_take_value(buf, len, v, sizeof(v));
	if (!ret)
		ret = gm_parse_size(v, &size);
	if (ret)
		return fail(fs, what, -ret, "malformed size");
	ret = gm_node_cma_resize(fs->mem, o->node, size, &e);
	if (ret)
		fs_set_error(fs, what, &e);
	return ret;
}

int fs_store_vm(struct fs *fs, const struct fs_obj *o, const char *buf,
		size_t len)
{
	const char *file = fs_rows[o->row].name;
	char v[32];
	int ret;

	if (!fs->vm || !fs->vm->store)
		return -EACCES;
	ret = fs_take_value(buf, len, v, sizeof(v));
	if (!ret && strcmp(v, "pause") && strcmp(v, "resume") && strcmp(v, "stop"))
		ret = -EINVAL;
	if (ret)
		return fail(fs, "vm/state", EINVAL, "state accepts pause, resume or stop");
	ret = fs->vm->store(fs->vm->opaque, file, v);
	if (ret)
		return fail(fs, "vm/state", ret < 0 ? -ret : EIO, "vm refused");
	return 0;
}

/*
 * fs_mkdir_alloc() - see fs.h. The reservation is guestmem's, so a racing
 * `alloc name=NAME` or second mkdir finds the name taken.
 */
int fs_mkdir_alloc(struct fs *fs, const char *name, struct fs_obj *o)
{
	struct gm_error e = { 0 };
	uint64_t id;
	int ret;

	if (fs_row_reserved(name))
		return fail(fs, name, EEXIST, "name taken");
	ret = gm_name_reserve(fs->mem, name, &id, &e);
	if (ret) {
		fs_set_error(fs, name, &e);
		return ret;
	}
	memset(o, 0, sizeof(*o));
	o->row = R_ALLOC;
	return gm_alloc_lookup_id(fs->mem, id, &o->a) ? -ENOENT : 0;
}

/*
 * fs_rmdir_alloc() - see fs.h. By id: the directory that was looked up is
 * the one freed, even if its name was freed and taken again meanwhile.
 */
int fs_rmdir_alloc(struct fs *fs, const struct fs_obj *o)
{
	struct gm_error e = { 0 };
	int ret = gm_free_id(fs->mem, o->a.id, GM_OWNER_USER, &e);

	if (ret && ret != -ENOENT)
		fs_set_error(fs, o->a.name, &e);
	if (!ret)
		fs_forget_alloc(fs, o->a.id);
	return ret;
}

int fs_refuse_owned(struct fs *fs, const struct fs_obj *o)
{
	struct gm_error e = { 0 };
	int ret;

	if (fs_rows[o->row].scope != FS_ALLOC || o->a.owner == GM_OWNER_USER)
		return 0;
	ret = gm_alloc_check_owner(fs->mem, o->a.id, GM_OWNER_USER, &e);
	if (ret)
		fs_set_error(fs, o->a.name, &e);
	return ret;
}

ssize_t fs_rw_data(struct fs *fs, const struct fs_obj *o, void *buf,
		   size_t len, off_t off, bool write)
{
	if (off < 0)
		return -EINVAL;
	return gm_alloc_rw(fs->mem, o->a.id, buf, len, (uint64_t)off, write);
}

uint64_t fs_size_data(struct fs *fs, const struct fs_obj *o)
{
	(void)fs;
	return o->a.size;
}

/* memory: offset = guest-physical address; EIO in holes, EOF past the end. */
ssize_t fs_rw_memory(struct fs *fs, const struct fs_obj *o, void *buf,
		     size_t len, off_t off, bool write)
{
	uint64_t end = fs_size_memory(fs, o);

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= end)
		return write ? -EFBIG : 0;
	if (len > end - (uint64_t)off)
		len = end - (uint64_t)off;
	return gm_mem_rw(fs->mem, (uint64_t)off, buf, len, write);
}

uint64_t fs_size_memory(struct fs *fs, const struct fs_obj *o)
{
	unsigned n = gm_mem_nr_nodes(fs->mem);
	struct gm_node_stat st;

	(void)o;
	if (!n || gm_node_stat(fs->mem, n - 1, &st))
		return 0;
	return st.end;
}
