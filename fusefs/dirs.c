// SPDX-License-Identifier: MIT
/*
 * dirs.c - directories added to a mounted tree at run time by the parts of
 * kvmem that own their contents (devices: vm/disks/vda/, vm/balloon/,
 * nodes/node1/hotplug/), each a list of files with show/store callbacks
 * and an opaque pointer (struct fs_file_ops, fusefs.h).
 *
 * The fixed tree stays one table (tree.c); these live beside it, in their
 * own scope (FS_XDIR) with two table rows standing for "an added
 * directory" and "a file of one" (R_XDIR, R_XFILE). tree.c asks this file
 * at five points only: decode, encode, child lookup, listing, and the
 * mode of a file. An object of this scope carries, in @x, the directory's
 * index, the file's index + 1 (0: the directory itself) and its name.
 *
 * Inode numbers: FS_INO_XDIR + index * FS_XDIR_SPAN + (file + 1); the range
 * sits between the node scope and the allocation scope (fs.h, asserted in
 * tree.c), so an added file never shares an inode with an allocation's.
 * Directories are never removed while mounted, so indices (and inodes) are
 * stable.
 *
 * Locking: fs->xdir_lock (a rwlock) over the table; readers keep it while
 * a callback runs, so the table cannot move under them. Taken after no
 * other fusefs lock; callbacks may take their owner's locks.
 * fs->xdir_add serialises registrations (taken before xdir_lock).
 *
 * The same lock covers the meminfo lines other parts add to the nodes'
 * meminfo (fs_meminfo_add()): registered once, called under the read lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define XDIR_BASE	FS_INO_XDIR
#define XDIR_SPAN	FS_XDIR_SPAN
#define XDIR_MAX	FS_XDIR_MAX

/* One added directory: under @parent (a table object or another one). */
struct fs_xdir {
	char name[FS_XNAME_MAX + 1];
	struct fs_obj parent;
	const struct fs_file_ops *files;
	unsigned nr_files;
	void *opaque;
};

/* (struct fs holds the table: xdirs, nr_xdirs, cap_xdirs.) */

static bool same_obj(const struct fs_obj *a, const struct fs_obj *b)
{
	if (a->row != b->row)
		return false;
	switch (fs_rows[a->row].scope) {
	case FS_NODE:
		return a->node == b->node;
	case FS_XDIR:
		return a->x.dir == b->x.dir && a->x.file == b->x.file;
	default:
		return true;
	}
}

/* The object for directory @i (file 0) or its file @f - 1. Lock held. */
static void make_obj(struct fs *fs, unsigned i, unsigned f, struct fs_obj *o)
{
	const struct fs_xdir *d = &fs->xdirs[i];

	memset(o, 0, sizeof(*o));
	o->row = f ? R_XFILE : R_XDIR;
	o->x.dir = i;
	o->x.file = f;
	snprintf(o->x.name, sizeof(o->x.name), "%s", f ? d->files[f - 1].name : d->name);
}

bool fs_xdir_ino(fuse_ino_t ino)
{
	return ino >= XDIR_BASE && ino < XDIR_BASE + XDIR_MAX * XDIR_SPAN;
}

fuse_ino_t fs_xdir_encode(const struct fs_obj *o)
{
	return XDIR_BASE + o->x.dir * XDIR_SPAN + o->x.file;
}

int fs_xdir_decode(struct fs *fs, fuse_ino_t ino, struct fs_obj *o)
{
	uint64_t x = ino - XDIR_BASE;
	unsigned i = (unsigned)(x / XDIR_SPAN), f = (unsigned)(x % XDIR_SPAN);
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&fs->xdir_lock);
	if (i < fs->nr_xdirs && f <= fs->xdirs[i].nr_files) {
		make_obj(fs, i, f, o);
		ret = 0;
	}
	pthread_rwlock_unlock(&fs->xdir_lock);
	return ret;
}

int fs_xdir_child(struct fs *fs, const struct fs_obj *dir, const char *name,
		  struct fs_obj *out)
{
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&fs->xdir_lock);
	if (dir->row == R_XDIR && dir->x.dir < fs->nr_xdirs) {
		const struct fs_xdir *d = &fs->xdirs[dir->x.dir];

		for (unsigned f = 0; f < d->nr_files && ret; f++)
			if (!strcmp(d->files[f].name, name)) {
				make_obj(fs, dir->x.dir, f + 1, out);
				ret = 0;
			}
	}
	for (unsigned i = 0; i < fs->nr_xdirs && ret; i++)
		if (same_obj(&fs->xdirs[i].parent, dir) &&
		    !strcmp(fs->xdirs[i].name, name)) {
			make_obj(fs, i, 0, out);
			ret = 0;
		}
	pthread_rwlock_unlock(&fs->xdir_lock);
	return ret;
}

int fs_xdir_list(struct fs *fs, const struct fs_obj *dir, struct fs_obj **out,
		 unsigned *nr)
{
	struct fs_obj *v = NULL;
	unsigned n = 0, cap = 0, want;
	int ret = 0;

	pthread_rwlock_rdlock(&fs->xdir_lock);
	want = fs->nr_xdirs + (dir->row == R_XDIR ? fs->xdirs[dir->x.dir].nr_files : 0);
	if (want) {
		cap = want;
		v = calloc(cap, sizeof(*v));
		if (!v)
			ret = -ENOMEM;
	}
	if (!ret && dir->row == R_XDIR)
		for (unsigned f = 0; f < fs->xdirs[dir->x.dir].nr_files; f++)
			make_obj(fs, dir->x.dir, f + 1, &v[n++]);
	for (unsigned i = 0; !ret && i < fs->nr_xdirs; i++)
		if (same_obj(&fs->xdirs[i].parent, dir))
			make_obj(fs, i, 0, &v[n++]);
	pthread_rwlock_unlock(&fs->xdir_lock);
	if (ret)
		return ret;
	*out = v;
	*nr = n;
	return 0;
}

mode_t fs_xdir_mode(struct fs *fs, const struct fs_obj *o)
{
	mode_t mode = S_IFREG | 0444;

	if (o->row == R_XDIR)
		return S_IFDIR | 0555;
	pthread_rwlock_rdlock(&fs->xdir_lock);
	if (o->x.dir < fs->nr_xdirs && o->x.file &&
	    o->x.file <= fs->xdirs[o->x.dir].nr_files)
		mode = S_IFREG | (fs->xdirs[o->x.dir].files[o->x.file - 1].mode & 0666);
	pthread_rwlock_unlock(&fs->xdir_lock);
	return mode;
}

/*
 * The mount-relative path of added directory @i ("vm/disks/vda",
 * "nodes/node1/hotplug"), for messages. Read lock held.
 */
static void dir_path(struct fs *fs, unsigned i, char *out, size_t len)
{
	const char *part[32];
	char node[24];
	unsigned n = 0;
	struct fs_obj o = fs->xdirs[i].parent;
	size_t pos = 0;

	part[n++] = fs->xdirs[i].name;
	while (o.row == R_XDIR && n < 16) {
		part[n++] = fs->xdirs[o.x.dir].name;
		o = fs->xdirs[o.x.dir].parent;
	}
	for (int r = o.row; r > R_ROOT && n < 30; r = fs_rows[r].parent) {
		if (r == R_NODE) {	/* node scope: its root is nodes/nodeN */
			snprintf(node, sizeof(node), "node%u", o.node);
			part[n++] = node;
			r = R_NODES;
		}
		part[n++] = fs_rows[r].name;
	}
	out[0] = '\0';
	while (n-- > 0 && pos + 1 < len)
		pos += (size_t)snprintf(out + pos, len - pos, "%s%s", part[n],
					n ? "/" : "");
}

/* The file behind @o and its directory's opaque, under the read lock. */
static const struct fs_file_ops *file_of(struct fs *fs, const struct fs_obj *o,
					 void **opaque)
{
	const struct fs_xdir *d;

	if (o->row != R_XFILE || o->x.dir >= fs->nr_xdirs)
		return NULL;
	d = &fs->xdirs[o->x.dir];
	if (!o->x.file || o->x.file > d->nr_files)
		return NULL;
	*opaque = d->opaque;
	return &d->files[o->x.file - 1];
}

int fs_show_xfile(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	const struct fs_file_ops *f;
	void *opaque = NULL;
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&fs->xdir_lock);
	f = file_of(fs, o, &opaque);
	if (f)
		ret = f->show ? f->show(opaque, b) : 0;
	pthread_rwlock_unlock(&fs->xdir_lock);
	return ret < 0 ? ret : b->err;
}

int fs_store_xfile(struct fs *fs, const struct fs_obj *o, const char *buf,
		   size_t len)
{
	char value[FS_LINE_MAX], path[320];
	const struct fs_file_ops *f;
	struct gm_error e = { 0 };
	void *opaque = NULL;
	int ret = -EACCES;

	pthread_rwlock_rdlock(&fs->xdir_lock);
	f = file_of(fs, o, &opaque);
	if (f && f->store) {
		ret = fs_take_value(buf, len, value, sizeof(value));
		if (ret)
			gm_error_set(&e, EINVAL, "one value expected");
		else
			ret = f->store(opaque, value, &e);
	}
	if (ret && f) {
		char dir[256];

		dir_path(fs, o->x.dir, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%.255s/%.31s", dir, f->name);
	}
	pthread_rwlock_unlock(&fs->xdir_lock);
	if (ret && f) {
		if (!e.err)	/* a store that left @e empty */
			gm_error_set(&e, ret, "write refused");
		fs_set_error(fs, path, &e);
	}
	return ret;
}

/* ---- registration --------------------------------------------------------- */

static bool valid_name(const char *s, size_t len)
{
	if (!len || len > FS_XNAME_MAX || (len <= 2 && s[0] == '.' && (len == 1 || s[1] == '.')))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == '\0' || (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

/* Add directory @name under @parent; its index in *@idx. Write lock held. */
static int add_dir(struct fs *fs, const struct fs_obj *parent, const char *name,
		   const struct fs_file_ops *files, unsigned nr, void *opaque,
		   unsigned *idx)
{
	struct fs_xdir *d;

	if (fs->nr_xdirs == XDIR_MAX)
		return -ENOSPC;
	if (gm_grow(&fs->xdirs, &fs->cap_xdirs, (size_t)fs->nr_xdirs + 1,
		    sizeof(*fs->xdirs)))
		return -ENOMEM;
	d = &fs->xdirs[fs->nr_xdirs];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->parent = *parent;
	d->files = files;
	d->nr_files = nr;
	d->opaque = opaque;
	*idx = fs->nr_xdirs++;
	return 0;
}

int fs_dir_add(struct fs *fs, const char *path, const struct fs_file_ops *files,
	       unsigned nr, void *opaque)
{
	struct fs_obj cur = { .row = R_ROOT }, next;
	char name[FS_XNAME_MAX + 1];
	const char *p = path;
	unsigned added = 0, idx;
	int ret = 0;

	if (!fs || !path || (nr && !files) || nr >= XDIR_SPAN)
		return -EINVAL;
	for (unsigned f = 0; f < nr; f++) {
		if (!files[f].name || !valid_name(files[f].name, strlen(files[f].name)))
			return -EINVAL;
		for (unsigned g = 0; g < f; g++)
			if (!strcmp(files[f].name, files[g].name))
				return -EINVAL;
	}
	/* One registration at a time: a failure takes back what it added. */
	pthread_mutex_lock(&fs->xdir_add);
	pthread_rwlock_wrlock(&fs->xdir_lock);
	while (*p) {
		size_t len = strcspn(p, "/");
		bool last = !p[len] || !p[len + 1];

		if (!valid_name(p, len)) {
			ret = -EINVAL;
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len + (p[len] == '/');
		/* an existing directory: the table's or an added one */
		pthread_rwlock_unlock(&fs->xdir_lock);
		ret = fs_child(fs, &cur, name, &next);
		pthread_rwlock_wrlock(&fs->xdir_lock);
		if (ret == 0) {
			if (last)
				ret = -EEXIST;
			else if (!S_ISDIR(fs_rows[next.row].mode))
				ret = -ENOTDIR;
			else if (next.row == R_ALLOCS || next.row == R_ALLOC)
				ret = -EPERM;	/* the user's names live there */
			if (ret)
				break;
			cur = next;
			continue;
		}
		if (ret != -ENOENT || cur.row == R_ALLOCS || cur.row == R_ALLOC ||
		    cur.row == R_NODES) {
			ret = ret == -ENOENT ? -EPERM : ret;
			break;
		}
		ret = add_dir(fs, &cur, name, last ? files : NULL, last ? nr : 0,
			      last ? opaque : NULL, &idx);
		if (ret)
			break;
		added++;
		make_obj(fs, idx, 0, &cur);
		if (last)
			break;
	}
	if (!ret && !added)
		ret = -EEXIST;
	if (ret)			/* no state change on error */
		fs->nr_xdirs -= added;
	pthread_rwlock_unlock(&fs->xdir_lock);
	pthread_mutex_unlock(&fs->xdir_add);
	return ret;
}

int fs_meminfo_add(struct fs *fs,
		   int (*show)(void *opaque, unsigned node, struct fs_buf *b),
		   void *opaque)
{
	int ret = 0;

	if (!fs || !show)
		return -EINVAL;
	pthread_rwlock_wrlock(&fs->xdir_lock);
	if (fs->nr_meminfo_ext == FS_MEMINFO_MAX) {
		ret = -ENOSPC;
	} else {
		fs->meminfo_ext[fs->nr_meminfo_ext].show = show;
		fs->meminfo_ext[fs->nr_meminfo_ext].opaque = opaque;
		fs->nr_meminfo_ext++;
	}
	pthread_rwlock_unlock(&fs->xdir_lock);
	return ret;
}

int fs_meminfo_ext(struct fs *fs, unsigned node, struct fs_buf *b)
{
	int ret = 0;

	pthread_rwlock_rdlock(&fs->xdir_lock);
	for (unsigned i = 0; i < fs->nr_meminfo_ext && !ret; i++)
		ret = fs->meminfo_ext[i].show(fs->meminfo_ext[i].opaque, node, b);
	pthread_rwlock_unlock(&fs->xdir_lock);
	return ret;
}

void fs_xdir_release(struct fs *fs)
{
	free(fs->xdirs);
	fs->xdirs = NULL;
	fs->nr_xdirs = fs->cap_xdirs = 0;
}
