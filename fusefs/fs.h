/* SPDX-License-Identifier: MIT */
/*
 * fs.h - fusefs/ private interfaces between its files.
 *
 * The tree is one table (tree.c): a row per file or directory with its
 * name, parent row, mode, and show/store/rw handlers. Rows live in one of
 * three scopes: the top of the mount, one NUMA node (nodes/nodeN/...), or one
 * allocation (allocations/NAME/...). An inode number encodes the row plus
 * the node id or the allocation's id, so lookup, getattr, readdir, open,
 * read and write all decode an inode into a struct fs_obj and walk the same
 * table (ops.c). show handlers render a file into a buffer on open (show.c);
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
	R_NODES, R_ONLINE, R_ALLOCS, R_CTL, R_ERROR, R_MEMORY,
	R_NODE, R_MEMINFO, R_BUDDYINFO, R_HOST_NODE,
	R_EARLY, R_EARLY_RANGES,
	R_BUDDY, R_BUDDY_SIZE, R_BUDDY_CHUNK, R_BUDDY_AVAIL, R_FREE_AREA,
	R_UNUSABLE,
	R_CMA, R_CMA_SIZE, R_CMA_USED, R_CMA_MAXCHUNK, R_CMA_OPB, R_CMA_BITMAP,
	R_ALLOC, R_SPEC, R_BLOCKS, R_DATA,
	R_XDIR, R_XFILE,	/* dirs.c: added directories and their files */
	R_NR
};

#define FS_XNAME_MAX	31	/* a name in an added directory */

/* One allocation directory the filesystem has handed an inode to. */
struct fs_name {
	uint64_t id;
	bool pending;		/* mkdir'd, spec not written yet */
	char name[GM_NAME_MAX + 1];
};

/*
 * The mounted filesystem. @lock protects the name table and @last_error;
 * it is taken after no guestmem lock (guestmem calls may run under it).
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
	struct fs_name *names;
	unsigned nr_names, cap_names;
	uint64_t next_id;
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
	unsigned nr_xdirs, cap_xdirs;
};

/* Head of an open file or directory, linked in fs->open_list (fs->lock). */
struct fs_open {
	struct fs_open *prev, *next;
	bool dir;
};

/* What an inode stands for. */
struct fs_obj {
	int row;			/* index in the table */
	unsigned node;			/* FS_NODE scope; FS_XDIR: file + 1, 0 = the dir */
	uint64_t id;			/* FS_ALLOC scope; FS_XDIR: the dir's index */
	char name[GM_NAME_MAX + 1];	/* FS_ALLOC and FS_XDIR scopes */
	bool pending;			/* FS_ALLOC scope: no allocation yet */
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
 * fs_child() - look up @name under directory @dir; an allocation name seen
 * for the first time gets an id. 0, -ENOENT, -ENOTDIR or -ENOMEM.
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
 * table rows, then nodeN or allocation directories (allocated ones in
 * creation order, then pending ones). 0 or -ENOMEM.
 */
int fs_list(struct fs *fs, const struct fs_obj *dir, struct fs_obj **out,
	    unsigned *nr);

/*
 * Name table of allocation directories (each takes fs->lock): mkdir adds a
 * pending name (-EEXIST if taken), forget drops one after a free, commit
 * marks a pending name allocated, pending tells whether it waits for spec.
 */
int fs_name_mkdir(struct fs *fs, const char *name);
int fs_name_forget(struct fs *fs, const char *name);
bool fs_name_pending(struct fs *fs, const char *name);
int fs_name_commit(struct fs *fs, const char *name);
void fs_name_release(struct fs *fs);
bool fs_row_reserved(const char *name);
void fs_obj_name(const struct fs_obj *o, char *buf, size_t len);

void fs_set_error(struct fs *fs, const char *what, int err, const char *msg);

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
int fs_show_buddyinfo(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_host_node(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_early(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_node_value(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_free_area(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_unusable(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
int fs_show_cma_bitmap(struct fs *fs, const struct fs_obj *o, struct fs_buf *b);
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
/* fs_rmdir_alloc() - rmdir allocations/NAME: free it (or drop a pending). */
int fs_rmdir_alloc(struct fs *fs, const char *name);

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
