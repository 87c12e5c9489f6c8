// SPDX-License-Identifier: MIT
/*
 * tree.c - the file tree as one table, and inode numbers.
 *
 * Inode numbers (the map is in fs.h): the top scope is 1 + row (the root is
 * 1, FUSE_ROOT_ID); node scope is FS_INO_NODE + node * FS_ROW_SPAN + row;
 * allocation scope is FS_INO_ALLOC + id * FS_ROW_SPAN + row, where id is
 * guestmem's id of the allocation (or pending name): never reused, so a
 * name freed and allocated again gets new inodes, and an inode of a freed
 * allocation decodes to -ENOENT. The filesystem keeps no table of names:
 * guestmem owns them, pending ones included. Directories added at run time
 * have the range between the node and allocation scopes (dirs.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define ROW_SPAN	FS_ROW_SPAN
#define NODE_BASE	FS_INO_NODE
#define ALLOC_BASE	FS_INO_ALLOC

/* The scopes' inode ranges of fs.h never overlap. */
_Static_assert(R_NR < ROW_SPAN, "a row index fits a scope's span");
_Static_assert(1 + R_NR <= NODE_BASE, "top scope below the node scope");
_Static_assert(NODE_BASE + GM_MAX_NODES * ROW_SPAN <= FS_INO_XDIR,
	       "node scope below the added directories");
_Static_assert(FS_INO_XDIR + FS_XDIR_MAX * FS_XDIR_SPAN <= ALLOC_BASE,
	       "added directories below the allocation scope");

#define DIR_RO	(S_IFDIR | 0555)
#define DIR_RW	(S_IFDIR | 0755)
#define REG_RO	(S_IFREG | 0444)
#define REG_RW	(S_IFREG | 0644)
#define REG_WO	(S_IFREG | 0200)
#define REG_PRIV (S_IFREG | 0600)

const struct fs_row fs_rows[R_NR] = {
	[R_ROOT]	= { "",		-1,	FS_TOP,	DIR_RO },
	[R_VM]		= { "vm",	R_ROOT,	FS_TOP,	DIR_RO },
	[R_VM_NAME]	= { "name",	R_VM,	FS_TOP,	REG_RO, .show = fs_show_vm },
	[R_VM_STATE]	= { "state",	R_VM,	FS_TOP,	REG_RW, .show = fs_show_vm,
			    .store = fs_store_vm },
	[R_VM_VCPUS]	= { "vcpus",	R_VM,	FS_TOP,	REG_RO, .show = fs_show_vm },
	[R_VM_MEMORY]	= { "memory",	R_VM,	FS_TOP,	REG_RO, .show = fs_show_vm },
	[R_VM_E820]	= { "e820",	R_VM,	FS_TOP,	REG_RO, .show = fs_show_vm },
	[R_VM_DOMAIN]	= { "domain.xml", R_VM,	FS_TOP,	REG_RO, .show = fs_show_vm },
	[R_NODES]	= { "nodes",	R_ROOT,	FS_TOP,	DIR_RO },
	[R_ONLINE]	= { "online",	R_NODES, FS_TOP, REG_RO, .show = fs_show_online },
	[R_ALLOCS]	= { "allocations", R_ROOT, FS_TOP, DIR_RW },
	[R_CTL]		= { "ctl",	R_ALLOCS, FS_TOP, REG_WO, .store = fs_store_ctl },
	[R_ERROR]	= { "error",	R_ALLOCS, FS_TOP, REG_RW, .show = fs_show_error,
			    .store = fs_store_error },
	[R_MEMORY]	= { "memory",	R_ROOT,	FS_TOP,	REG_PRIV, .rw = fs_rw_memory,
			    .size = fs_size_memory },

	[R_NODE]	= { NULL,	-1,	FS_NODE, DIR_RO },
	[R_MEMINFO]	= { "meminfo",	R_NODE,	FS_NODE, REG_RO, .show = fs_show_meminfo },
	[R_BUDDYINFO]	= { "buddyinfo", R_NODE, FS_NODE, REG_RO, .show = fs_show_buddyinfo },
	[R_HOST_NODE]	= { "host_node", R_NODE, FS_NODE, REG_RO, .show = fs_show_host_node },
	[R_MAP_SVG]	= { "map.svg",	R_NODE,	FS_NODE, REG_RO, .show = fs_show_map_svg },
	[R_EARLY]	= { "early",	R_NODE,	FS_NODE, DIR_RO },
	[R_EARLY_RANGES] = { "ranges",	R_EARLY, FS_NODE, REG_RO, .show = fs_show_early },
	[R_BUDDY]	= { "buddy",	R_NODE,	FS_NODE, DIR_RO },
	[R_BUDDY_SIZE]	= { "size",	R_BUDDY, FS_NODE, REG_RO, .show = fs_show_node_value },
	[R_BUDDY_CHUNK]	= { "chunk_size", R_BUDDY, FS_NODE, REG_RO, .show = fs_show_node_value },
	[R_BUDDY_AVAIL]	= { "avail",	R_BUDDY, FS_NODE, REG_RO, .show = fs_show_node_value },
	[R_FREE_AREA]	= { "free_area", R_BUDDY, FS_NODE, REG_RO, .show = fs_show_free_area },
	[R_UNUSABLE]	= { "unusable_index", R_BUDDY, FS_NODE, REG_RO,
			    .show = fs_show_unusable },
	[R_CMA]		= { "cma",	R_NODE,	FS_NODE, DIR_RO },
	[R_CMA_SIZE]	= { "size",	R_CMA,	FS_NODE, REG_RW, .show = fs_show_node_value,
			    .store = fs_store_cma_size },
	[R_CMA_USED]	= { "used",	R_CMA,	FS_NODE, REG_RO, .show = fs_show_node_value },
	[R_CMA_MAXCHUNK] = { "maxchunk", R_CMA,	FS_NODE, REG_RO, .show = fs_show_node_value },
	[R_CMA_OPB]	= { "order_per_bit", R_CMA, FS_NODE, REG_RO, .show = fs_show_node_value },
	[R_CMA_BITMAP]	= { "bitmap",	R_CMA,	FS_NODE, REG_RO, .show = fs_show_cma_bitmap },

	[R_ALLOC]	= { NULL,	-1,	FS_ALLOC, DIR_RO },
	[R_SPEC]	= { "spec",	R_ALLOC, FS_ALLOC, REG_RW, .show = fs_show_spec,
			    .store = fs_store_spec },
	[R_BLOCKS]	= { "blocks",	R_ALLOC, FS_ALLOC, REG_RO, .show = fs_show_blocks },
	[R_DATA]	= { "data",	R_ALLOC, FS_ALLOC, REG_PRIV, .rw = fs_rw_data,
			    .size = fs_size_data },

	/* dirs.c: any added directory and any of its files (mode per file) */
	[R_XDIR]	= { NULL,	-1,	FS_XDIR, DIR_RO },
	[R_XFILE]	= { NULL,	-1,	FS_XDIR, REG_RW, .show = fs_show_xfile,
			    .store = fs_store_xfile },
};
const unsigned fs_nr_rows = R_NR;

/* fs_row_reserved() - @name is a fixed file of allocations/ (ctl, error). */
bool fs_row_reserved(const char *name)
{
	for (unsigned r = 0; r < R_NR; r++)
		if (fs_rows[r].parent == R_ALLOCS && !strcmp(fs_rows[r].name, name))
			return true;
	return false;
}

static fuse_ino_t alloc_ino(uint64_t id, int row)
{
	return ALLOC_BASE + id * ROW_SPAN + (unsigned)row;
}

void fs_forget_alloc(struct fs *fs, uint64_t id)
{
	for (unsigned r = 0; r < R_NR; r++)
		if (fs_rows[r].scope == FS_ALLOC && fs_rows[r].show)
			fs_cache_drop(fs, alloc_ino(id, (int)r));
}

/* ---- inodes ---- */

fuse_ino_t fs_encode(const struct fs_obj *o)
{
	switch (fs_rows[o->row].scope) {
	case FS_NODE:
		return NODE_BASE + o->node * ROW_SPAN + (unsigned)o->row;
	case FS_ALLOC:
		return alloc_ino(o->a.id, o->row);
	case FS_XDIR:
		return fs_xdir_encode(o);
	default:
		return 1 + (unsigned)o->row;
	}
}

int fs_decode(struct fs *fs, fuse_ino_t ino, struct fs_obj *o)
{
	uint64_t x;
	int ret;

	memset(o, 0, sizeof(*o));
	if (ino >= 1 && ino < NODE_BASE) {
		o->row = (int)(ino - 1);
		if (o->row >= R_NR || fs_rows[o->row].scope != FS_TOP)
			return -ENOENT;
		return 0;
	}
	if (fs_xdir_ino(ino))
		return fs_xdir_decode(fs, ino, o);
	if (ino < ALLOC_BASE) {
		x = ino - NODE_BASE;
		o->node = (unsigned)(x / ROW_SPAN);
		o->row = (int)(x % ROW_SPAN);
		if (o->row >= R_NR || fs_rows[o->row].scope != FS_NODE ||
		    o->node >= gm_mem_nr_nodes(fs->mem))
			return -ENOENT;
		return 0;
	}
	x = ino - ALLOC_BASE;
	o->row = (int)(x % ROW_SPAN);
	if (o->row >= R_NR || fs_rows[o->row].scope != FS_ALLOC)
		return -ENOENT;
	ret = gm_alloc_lookup_id(fs->mem, x / ROW_SPAN, &o->a);
	if (ret && fs_rows[o->row].show)
		fs_cache_drop(fs, ino);		/* gone: its text with it */
	return ret ? -ENOENT : 0;
}

int fs_child(struct fs *fs, const struct fs_obj *dir, const char *name,
	     struct fs_obj *out)
{
	const struct fs_row *d = &fs_rows[dir->row];
	unsigned node;
	char tail;

	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	for (unsigned r = 0; r < R_NR; r++) {
		if (fs_rows[r].parent != dir->row || strcmp(fs_rows[r].name, name))
			continue;
		*out = *dir;
		out->row = (int)r;
		return 0;
	}
	if (!fs_xdir_child(fs, dir, name, out))
		return 0;
	if (dir->row == R_NODES) {
		if (sscanf(name, "node%u%c", &node, &tail) != 1 ||
		    node >= gm_mem_nr_nodes(fs->mem))
			return -ENOENT;
		/* Reject "node01": one spelling per node. */
		char canon[16];

		snprintf(canon, sizeof(canon), "node%u", node);
		if (strcmp(canon, name))
			return -ENOENT;
		memset(out, 0, sizeof(*out));
		out->row = R_NODE;
		out->node = node;
		return 0;
	}
	if (dir->row == R_ALLOCS) {
		memset(out, 0, sizeof(*out));
		out->row = R_ALLOC;
		return gm_alloc_lookup(fs->mem, name, &out->a) ? -ENOENT : 0;
	}
	return -ENOENT;
}

/*
 * The st_size of a show file: the length of its stored text (what the page
 * cache holds), rendered and stored now if it was never rendered.
 */
static uint64_t show_size(struct fs *fs, const struct fs_obj *o, fuse_ino_t ino)
{
	struct fs_buf b = { 0 };
	uint64_t size = 0;
	int ret = fs_cache_size(fs, ino, &size);

	if (!ret)
		return size;
	if (!fs_rows[o->row].show(fs, o, &b) && !b.err) {
		size = b.len;
		if (ret == -ENOENT)
			fs_cache_store(fs, ino, b.p ? b.p : "", b.len);
	}
	free(b.p);
	return size;
}

void fs_stat(struct fs *fs, const struct fs_obj *o, struct stat *st)
{
	const struct fs_row *r = &fs_rows[o->row];

	memset(st, 0, sizeof(*st));
	st->st_ino = fs_encode(o);
	st->st_mode = r->mode;
	/* Honest modes: without a guest vm/state cannot be written. */
	if (o->row == R_VM_STATE && !fs->vm)
		st->st_mode = S_IFREG | 0444;
	/* A committed spec cannot be written again. */
	if (o->row == R_SPEC && !o->a.pending)
		st->st_mode = S_IFREG | 0444;
	if (r->scope == FS_XDIR)
		st->st_mode = fs_xdir_mode(fs, o);
	st->st_nlink = S_ISDIR(r->mode) ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = r->size ? (off_t)r->size(fs, o) : 0;
	if (r->show && !fs->cache_off)
		st->st_size = (off_t)show_size(fs, o, st->st_ino);
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mtime;
}

static int list_push(struct fs_obj **v, unsigned *nr, size_t *cap,
		     const struct fs_obj *o)
{
	if (gm_grow(v, cap, (size_t)*nr + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*nr)++] = *o;
	return 0;
}

int fs_list(struct fs *fs, const struct fs_obj *dir, struct fs_obj **out,
	    unsigned *nr)
{
	struct fs_obj *v = NULL, o;
	struct gm_alloc_entry *ents = NULL;
	unsigned n = 0, nr_ents = 0;
	size_t cap = 0;
	int ret = 0;

	for (unsigned r = 0; r < R_NR && !ret; r++) {
		if (fs_rows[r].parent != dir->row)
			continue;
		o = *dir;
		o.row = (int)r;
		ret = list_push(&v, &n, &cap, &o);
	}
	if (!ret && dir->row == R_NODES) {
		for (unsigned i = 0; i < gm_mem_nr_nodes(fs->mem) && !ret; i++) {
			memset(&o, 0, sizeof(o));
			o.row = R_NODE;
			o.node = i;
			ret = list_push(&v, &n, &cap, &o);
		}
	}
	if (!ret && dir->row == R_ALLOCS) {
		ret = gm_alloc_list(fs->mem, &ents, &nr_ents);
		for (unsigned i = 0; !ret && i < nr_ents; i++) {
			memset(&o, 0, sizeof(o));
			o.row = R_ALLOC;
			o.a = ents[i];
			ret = list_push(&v, &n, &cap, &o);
		}
		free(ents);
	}
	if (!ret) {
		struct fs_obj *x = NULL;
		unsigned nx = 0;

		ret = fs_xdir_list(fs, dir, &x, &nx);
		for (unsigned i = 0; !ret && i < nx; i++)
			ret = list_push(&v, &n, &cap, &x[i]);
		free(x);
	}
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*nr = n;
	return 0;
}

/* The name a directory entry shows for @o. */
void fs_obj_name(const struct fs_obj *o, char *buf, size_t len)
{
	if (o->row == R_NODE)
		snprintf(buf, len, "node%u", o->node);
	else if (o->row == R_ALLOC)
		snprintf(buf, len, "%s", o->a.name);
	else if (fs_rows[o->row].scope == FS_XDIR)
		snprintf(buf, len, "%s", o->x.name);
	else
		snprintf(buf, len, "%s", fs_rows[o->row].name);
}

/*
 * fs_set_error() - see fs.h. The line is guestmem's own spelling of a
 * failure (gm_err_format()), the one replay prints.
 */
void fs_set_error(struct fs *fs, const char *what, const struct gm_error *e)
{
	pthread_mutex_lock(&fs->lock);
	gm_err_format(fs->last_error, sizeof(fs->last_error), what, e);
	pthread_mutex_unlock(&fs->lock);
}
