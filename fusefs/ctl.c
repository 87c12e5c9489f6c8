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
 * Raw files: allocations/NAME/data (the allocation's bytes as one contiguous
 * file over its blocks) and memory (file offset = guest-physical address).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* The fragment of a failed gm_cmd_exec() result after "err ". */
static void error_from_result(struct fs *fs, const char *out)
{
	size_t n = strcspn(out, "\n");

	pthread_mutex_lock(&fs->lock);
	snprintf(fs->last_error, sizeof(fs->last_error), "%.*s", (int)n, out);
	pthread_mutex_unlock(&fs->lock);
}

static bool blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return !*s || *s == '#';
}

/*
 * Run one control line (NUL-terminated, no newline). @spec: the line comes
 * from allocations/NAME/spec, whose own pending name it may take.
 */
static int ctl_line(struct fs *fs, const char *line, bool spec)
{
	char out[GM_ERRMSG_MAX + 2 * (GM_NAME_MAX + 1)];
	struct gm_error e = { 0 };
	struct gm_cmd cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	ret = gm_cmd_parse(line, &cmd, &e);
	if (ret) {
		fs_set_error(fs, cmd.name, -ret, e.msg);
		return ret;
	}
	/*
	 * Names the filesystem holds: its own files, and directories made with
	 * mkdir whose spec is not written yet.
	 */
	if (cmd.type == GM_CMD_ALLOC && cmd.req.name[0] &&
	    (fs_row_reserved(cmd.req.name) ||
	     (!spec && fs_name_pending(fs, cmd.req.name)))) {
		fs_set_error(fs, cmd.req.name, EEXIST, "name taken");
		return -EEXIST;
	}
	ret = gm_cmd_exec(fs->mem, line, out, sizeof(out));
	if (ret) {
		error_from_result(fs, out);
		return ret;
	}
	if (cmd.type == GM_CMD_FREE)
		fs_name_forget(fs, cmd.name);
	return 0;
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
	if (memchr(buf, '\0', len)) {
		fs_set_error(fs, "-", EINVAL, "NUL byte in a control write");
		return -EINVAL;
	}
	for (pos = 0; pos < len; pos += n + 1) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		if (n >= FS_LINE_MAX) {
			fs_set_error(fs, "-", EINVAL, "control line too long");
			return -EINVAL;
		}
	}
	for (pos = 0; pos < len; pos += n + 1) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		if (blank(line))
			continue;
		ret = ctl_line(fs, line, false);
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
 * without "alloc" and without name= (NAME is the directory). Applied once:
 * -EBUSY once the allocation exists (rmdir frees it).
 */
int fs_store_spec(struct fs *fs, const struct fs_obj *o, const char *buf,
		  size_t len)
{
	char words[FS_LINE_MAX], line[FS_LINE_MAX + 2 * GM_NAME_MAX];
	int ret;

	if (!fs_name_pending(fs, o->name)) {
		fs_set_error(fs, o->name, EBUSY,
			     "spec already applied (rmdir to free)");
		return -EBUSY;
	}
	ret = fs_take_value(buf, len, words, sizeof(words));
	if (ret) {
		fs_set_error(fs, o->name, EINVAL,
			     "spec: one line of alloc words expected");
		return ret;
	}
	if (!strncmp(words, "name=", 5) || strstr(words, " name=") ||
	    strstr(words, "\tname=")) {
		fs_set_error(fs, o->name, EINVAL,
			     "spec: the directory names the allocation");
		return -EINVAL;
	}
	snprintf(line, sizeof(line), "alloc name=%s %s", o->name, words);
	ret = ctl_line(fs, line, true);
	if (ret)
		return ret;
	fs_name_commit(fs, o->name);
	return 0;
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
	if (ret) {
		fs_set_error(fs, what, -ret, "malformed size");
		return ret;
	}
	ret = gm_node_cma_resize(fs->mem, o->node, size, &e);
	if (ret)
		fs_set_error(fs, what, -ret, e.msg);
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
	if (ret) {
		fs_set_error(fs, "vm/state", EINVAL,
			     "state accepts pause, resume or stop");
		return ret;
	}
	ret = fs->vm->store(fs->vm->opaque, file, v);
	if (ret)
		fs_set_error(fs, "vm/state", ret < 0 ? -ret : EIO, "vm refused");
	return ret < 0 ? ret : ret ? -EIO : 0;
}

/* fs_rmdir_alloc() - rmdir allocations/NAME: drop a pending one or free. */
int fs_rmdir_alloc(struct fs *fs, const char *name)
{
	struct gm_error e = { 0 };
	int ret;

	if (fs_name_pending(fs, name))
		return fs_name_forget(fs, name);
	ret = gm_free(fs->mem, name, &e);
	if (ret) {
		if (ret != -ENOENT)
			fs_set_error(fs, name, -ret, e.msg);
		return ret;
	}
	fs_name_forget(fs, name);
	return 0;
}

ssize_t fs_rw_data(struct fs *fs, const struct fs_obj *o, void *buf,
		   size_t len, off_t off, bool write)
{
	if (off < 0)
		return -EINVAL;
	if (fs_name_pending(fs, o->name))
		return write ? -EFBIG : 0;	/* no bytes until spec is written */
	return gm_alloc_rw(fs->mem, o->name, buf, len, (uint64_t)off, write);
}

uint64_t fs_size_data(struct fs *fs, const struct fs_obj *o)
{
	struct gm_alloc_info *info;
	uint64_t size;

	if (o->pending || gm_alloc_get(fs->mem, o->name, &info))
		return 0;
	size = info->size;
	gm_alloc_info_free(info);
	return size;
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
