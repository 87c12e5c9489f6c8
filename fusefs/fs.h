/* SPDX-License-Identifier: MIT */
/*
 * fs.h - fusefs/ private interfaces between its files.
 *
 * The tree is one table (tree.c): a row per file or directory with its
 * name, parent row, mode, and show/store/rw handlers. Rows live in one of
 * four scopes: the top of the mount, one NUMA node (nodes/nodeN/...), one
 * allocation (allocations/NAME/...), or a directory a device added at run
 * time (dirs.c). An inode number encodes the row plus the node id, the
 * allocation's guestmem id (stable, never reused) or the added directory's
 * index, so lookup, getattr, readdir, open, read and write all decode an
 * inode into a struct fs_obj and walk the same table (ops.c). guestmem
 * holds every allocation name, pending (mkdir'd) ones too: the filesystem
 * keeps none. show handlers render a file into a buffer on open (show.c);
 * store handlers apply a write (ctl.c); rw handlers move raw bytes (data,
 * memory).
 */
#ifndef KVMEM_FUSEFS_FS_H
#define KVMEM_FUSEFS_FS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fusefs.h"

#define FS_NR_WORKERS	4
#define FS_LINE_MAX	4096	/* one control line, including its newline */
#define FS_CACHE_BITS	8	/* 256 buckets of rendered texts (cache.c) */

enum fs_scope { FS_TOP, FS_NODE, FS_ALLOC, FS_XDIR };

/* The rows of the table, in tree order (tree.c). */
enum fs_row_id {
	R_ROOT, R_VM, R_VM_NAME, R_VM_STATE, R_VM_VCPUS, R_VM_MEMORY, R_VM_E820,
	R_VM_DOMAIN,
	R_NODES, R_ONLINE, R_ALLOCS, R_CTL, R_ERROR, R_MEMORY,
	R_NODE, R_MEMINFO, R_BUDDYINFO, R_HOST_NODE,
	R_MAP_SVG,
	R_EARLY, R_EARLY_RANGES,
	R_BUDDY, R_BUDDY_SIZE, R_BUDDY_CHUNK, R_BUDDY_AVAIL, R_FREE_AREA,
	R_UNUSABLE,
	R_CMA, R_CMA_SIZE, R_CMA_USED, R_CMA_MAXCHUNK, R_CMA_OPB, R_CMA_BITMAP,
	R_ALLOC, R_SPEC, R_BLOCKS, R_DATA,
	R_XDIR, R_XFILE,	/* dirs.c: added directories and their files */
	R_NR
};

#define FS_XNAME_MAX	31	/* a name in an added directory */

/*
 * Inode numbers: one range per scope, so no two objects ever share one
 * (tree.c checks the bounds at compile time):
 *   top          1 + row                                   [1, FS_INO_NODE)
 *   node         FS_INO_NODE + node * FS_ROW_SPAN + row    [FS_INO_NODE, FS_INO_XDIR)
 *   added dirs   FS_INO_XDIR + dir * FS_XDIR_SPAN + file   [FS_INO_XDIR, FS_INO_ALLOC)
 *                (file + 1; 0 is the directory itself, dirs.c)
 *   allocation   FS_INO_ALLOC + id * FS_ROW_SPAN + row     [FS_INO_ALLOC, 2^64)
 *                (id: guestmem's allocation id, never reused; 2^54 ids fit)
 */
#define FS_ROW_SPAN	1024ULL
#define FS_INO_NODE	0x10000ULL
#define FS_INO_XDIR	0x40000000ULL
#define FS_XDIR_SPAN	256ULL		/* files per added directory, + 1 */
#define FS_INO_ALLOC	0x100000000ULL
#define FS_XDIR_MAX	((FS_INO_ALLOC - FS_INO_XDIR) / FS_XDIR_SPAN)

/*
 * The mounted filesystem. @lock protects @last_error and @open_list; no
 * guestmem call is made under it.
 */
struct fs {
	struct gm_mem *mem;
	const struct fs_vm *vm;		/* NULL: no guest, vm/ shows "none" */
	struct fs_vm vm_copy;
	char *dir;
	struct fuse_session *se;
	int stop_fd;			/* eventfd: workers exit when readable */
	pthread_t workers[FS_NR_WORKERS];
	unsigned nr_workers;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;

	pthread_mutex_t lock;
	char last_error[GM_ERRMSG_MAX + 2 * (GM_NAME_MAX + 1)];

	/*
	 * cache.c: the last text rendered per show inode. cache_off (set by
	 * KVMEM_FS_DIRECT_IO=1 in the environment, for measuring) renders
	 * per open with direct_io instead. Lock order: lock, then cache_lock.
	 */
	bool cache_off;

	/* ops.c: files and directories open now (freed at unmount if left). */
	struct fs_open *open_list;

	pthread_mutex_t cache_lock;
	struct fs_cent *cache[1u << FS_CACHE_BITS];

	/* dirs.c: directories added at run time (fs_dir_add()). */
	pthread_rwlock_t xdir_lock;
	pthread_mutex_t xdir_add;
	struct fs_xdir *xdirs;
	unsigned nr_xdirs;
	size_t cap_xdirs;
	/* dirs.c: meminfo lines added at run time (fs_meminfo_add()), xdir_lock */
	struct {
		int (*show)(void *opaque, unsigned node, struct fs_buf *b);
		void *opaque;
	} meminfo_ext[FS_MEMINFO_MAX];
	unsigned nr_meminfo_ext;
};

/* Head of an open file or directory, linked in fs->open_list (fs->lock). */
struct fs_open {
	struct fs_open *prev, *next;
	bool dir;
};

/* What an inode stands for. */
struct fs_obj {
	int row;			/* index in the table */
	unsigned node;			/* FS_NODE scope */
	struct gm_alloc_entry a;	/* FS_ALLOC scope: id, name, owner, pending, size */
	struct {			/* FS_XDIR scope (dirs.c) */
		unsigned dir;		/* the added directory's index */
		unsigned file;		/* its file's index + 1; 0: the directory */
		char name[FS_XNAME_MAX + 1];
	} x;
};

/* A growable text buffer for show handlers. */
struct fs_buf {
	char *p;
	size_t len, cap;
	int err;			/* sticky -ENOMEM */
};

void fs_buf_printf(struct fs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fs_buf_put(struct fs_buf *b, const char *s, size_t len);

typedef int (*fs_show_fn)(struct fs *fs, const struct fs_obj *o,
			  struct fs_buf *b);
/* store: the whole write(2) in @buf (not NUL-terminated). 0 or -errno. */
typedef int (*fs_store_fn)(struct fs *fs, const struct fs_obj *o,
			   const char *buf, size_t len);
/* rw: raw bytes at @off; bytes moved, 0 at end (read), or -errno. */
typedef ssize_t (*fs_rw_fn)(struct fs *fs, const struct fs_obj *o, void *buf,
			    size_t len, off_t off, bool write);
/* size: st_size of a raw file. */
typedef uint64_t (*fs_size_fn)(struct fs *fs, const struct fs_obj *o);

struct fs_row {
	const char *name;
	int parent;		/* row index; -1 for the root and scope roots */
	enum fs_scope scope;
	mode_t mode;		/* S_IFDIR|0555, S_IFREG|0444, ... */
	fs_show_fn show;
	fs_store_fn store;
	fs_rw_fn rw;
	fs_size_fn size;
};

extern const struct fs_row fs_rows[];
extern const unsigned fs_nr_rows;

/* ---- tree.c ---- */

/*
 * fs_decode() - the object behind inode @ino, checked to still exist (node
 * in range, allocation present or pending). 0 or -ENOENT.
 */
int fs_decode(struct fs *fs, fuse_ino_t ino, struct fs_obj *o);
/* fs_encode() - the inode number of @o (stable while @o exists). */
fuse_ino_t fs_encode(const struct fs_obj *o);
/*
 * fs_child() - look up @name under directory @dir (allocations through
 * guestmem). 0, -ENOENT, -ENOTDIR.
 */
int fs_child(struct fs *fs, const struct fs_obj *dir, const char *name,
	     struct fs_obj *out);
/*
 * fs_stat() - attributes of @o: the row's mode (made honest: vm/state
 * without a guest and an applied spec are read-only), the mounting user,
 * st_size of raw files and of cached show texts (cache.c), else 0.
 */
void fs_stat(struct fs *fs, const struct fs_obj *o, struct stat *st);
/*
 * fs_list() - the children of @dir as a malloc'd array the caller frees:
 * table rows, then nodeN or allocation directories (allocations and
 * pending names, ascending by id). 0 or -ENOMEM.
 */
int fs_list(struct fs *fs, const struct fs_obj *dir, struct fs_obj **out,
	    unsigned *nr);

/* fs_row_reserved() - @name is a fixed file of allocations/ (ctl, error). */
bool fs_row_reserved(const char *name);
void fs_obj_name(const struct fs_obj *o, char *buf, size_t len);
/* fs_forget_alloc() - drop the cached texts of allocation @id (it is gone). */
void fs_forget_alloc(struct fs *fs, uint64_t id);

/*
 * fs_set_error() - record failure @e of @what (an allocation name, a file;
 * NULL or "" prints "-") for allocations/error: last error wins, across
 * every writer of the mount.
 */
void fs_set_error(struct fs *fs, const char *what, const struct gm_error *e);

/* ---- cache.c ---- */
int fs_cache_store(struct fs *fs, fuse_ino_t ino, const char *p, size_t len);
ssize_t fs_cache_read(struct fs *fs, fuse_ino_t ino, char *dst, size_t size,
		      off_t off);
int fs_cache_size(struct fs *fs, fuse_ino_t ino, uint64_t *size);
void fs_cache_forget(struct fs *fs, fuse_ino_t ino);
void fs_cache_drop(struct fs *fs, fuse_ino_t ino);
void fs_cache_release(struct fs *fs);

/* ---- show.c: renderers (one per kind of file) ---- */
int fs_show_vm(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_online(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_meminfo(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
/* dirs.c: the fs_meminfo_add() lines of @node, under xdir_lock. */
int fs_meminfo_ext(struct fs *fs, unsigned node, struct fs_buf *b);
int fs_show_buddyinfo(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_host_node(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_early(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_node_value(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_free_area(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_unusable(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_cma_bitmap(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_map_svg(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_error(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_spec(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_blocks(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);

/* ---- ctl.c: control writes and raw files ---- */
int fs_store_ctl(struct fs *fs, const struct fs_obj *o, const char *buf,
		 size_t len);
int fs_store_error(struct fs *fs, const struct fs_obj *o, const char *buf,
		   size_t len);
int fs_store_spec(struct fs *fs, const struct fs_obj *o, const char *buf,
		  size_t len);
int fs_store_cma_size(struct fs *fs, const struct fs_obj *o, const char *buf,
		      size_t len);
int fs_store_vm(struct fs *fs, const struct fs_obj *o, const char *buf,
		size_t len);
ssize_t fs_rw_data(struct fs *fs, const struct fs_obj *o, void *buf,
		   size_t len, off_t off, bool write);
uint64_t fs_size_data(struct fs *fs, const struct fs_obj *o);
ssize_t fs_rw_memory(struct fs *fs, const struct fs_obj *o, void *buf,
		     size_t len, off_t off, bool write);
uint64_t fs_size_memory(struct fs *fs, const struct fs_obj *o);
/*
 * fs_rmdir_alloc() - rmdir allocations/NAME (@o): free it as the user, or
 * drop a pending name. -EBUSY for the VM's (the error file says why).
 */
int fs_rmdir_alloc(struct fs *fs, const struct fs_obj *o);
/*
 * fs_mkdir_alloc() - mkdir allocations/@name: a pending name in guestmem
 * until spec is written. 0 and @o filled, or -errno (error file set).
 */
int fs_mkdir_alloc(struct fs *fs, const char *name, struct fs_obj *o);
/*
 * fs_refuse_owned() - -EBUSY (and the error file says whose) if @o is an
 * allocation that is not the user's; else 0. For opening its spec to write.
 */
int fs_refuse_owned(struct fs *fs, const struct fs_obj *o);

/*
 * fs_take_value() - the one value of a write to a one-value file: surrounding
 * whitespace (and the newline echo adds) stripped, NUL-terminated into @out.
 * -EINVAL for NUL bytes, several lines, nothing, or more than @outlen - 1
 * bytes.
 */
int fs_take_value(const char *buf, size_t len, char *out, size_t outlen);

/* ---- dirs.c: directories added at run time (fs_dir_add()) ---- */
bool fs_xdir_ino(fuse_ino_t ino);		/* in the FS_XDIR inode range */
fuse_ino_t fs_xdir_encode(const struct fs_obj *o);
int fs_xdir_decode(struct fs *fs, fuse_ino_t ino, struct fs_obj *o);
/* fs_xdir_child() - added dir or file @name under @dir; 0 or -ENOENT. */
int fs_xdir_child(struct fs *fs, const struct fs_obj *dir, const char *name,
		  struct fs_obj *out);
/* fs_xdir_list() - the added children of @dir, malloc'd (NULL if none). */
int fs_xdir_list(struct fs *fs, const struct fs_obj *dir, struct fs_obj **out,
		 unsigned *nr);
mode_t fs_xdir_mode(struct fs *fs, const struct fs_obj *o);
int fs_show_xfile(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_store_xfile(struct fs *fs, const struct fs_obj *o, const char *buf,
		   size_t len);
void fs_xdir_release(struct fs *fs);

/* ---- ops.c ---- */
extern const struct fuse_lowlevel_ops fs_ops;
/* fs_open_release_all() - free what is still open (workers stopped). */
void fs_open_release_all(struct fs *fs);

#endif /* KVMEM_FUSEFS_FS_H */
