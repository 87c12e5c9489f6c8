/* SPDX-License-Identifier: MIT */
/*
 * fusefs.h - the kvmem filesystem (design.md section 6), public interface.
 *
 * fs_mount() mounts the tree for a struct gm_mem on a directory and serves
 * it from its own thread until fs_unmount(). With a running guest, the vm/
 * directory is backed by struct fs_vm callbacks supplied by the caller
 * (kvmem run); without one (kvmem serve) vm/ shows state "none".
 */
#ifndef KVMEM_FUSEFS_H
#define KVMEM_FUSEFS_H

#include <stddef.h>
#include <sys/types.h>

#include "guestmem.h"

struct fs;

/*
 * The guest behind vm/. Files: name, state, vcpus, memory, e820,
 * domain.xml.
 * show() renders file @file into a malloc'd string *@out (caller frees),
 * store() applies a write to @file (only "state": pause|resume|stop).
 * Both return 0 or a negative errno; called from the FUSE thread, so they
 * must be thread-safe.
 */
struct fs_vm {
	void *opaque;
	int (*show)(void *opaque, const char *file, char **out);
	int (*store)(void *opaque, const char *file, const char *value);
};

/*
 * fs_mount() - mount the tree of @mem on @dir (created if missing; a stale
 * mount left by a killed kvmem is detected and cleared first) and start
 * serving it on a thread. @vm may be NULL. The mount is private to the
 * calling user. @mem must outlive the mount. Returns 0 or a negative errno
 * with @e filled; nothing is left mounted on error.
 */
int fs_mount(struct gm_mem *mem, const char *dir, const struct fs_vm *vm,
	     struct fs **out, struct gm_error *e);

/*
 * fs_mount_flags() - fs_mount() with @flags: FS_ALLOW_OTHER lets other users
 * reach the mount (FUSE allow_other; needs user_allow_other in
 * /etc/fuse.conf when not root). fs_mount() is fs_mount_flags(..., 0, ...).
 */
#define FS_ALLOW_OTHER	0x1
int fs_mount_flags(struct gm_mem *mem, const char *dir, const struct fs_vm *vm,
		   unsigned flags, struct fs **out, struct gm_error *e);

/* fs_unmount() - unmount, stop the thread, free @fs. NULL is a no-op. */
void fs_unmount(struct fs *fs);

/* ---- directories added at run time (dirs.c) ------------------------------ */

/* The text a show callback renders into (printf-like, grows as needed). */
struct fs_buf;
void fs_buf_printf(struct fs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * One file of an added directory. @mode: 0444 (read), 0644 (read and
 * write) or 0200 (write only). show() renders the whole file afresh on
 * each open (the filesystem's freshness rules apply: unchanged text keeps
 * the page cache); store() applies one write(2): @value is the value with
 * surrounding whitespace stripped, one line, NUL-terminated; it returns 0
 * or a negative errno, with a one-line reason in @e for allocations/error.
 * Both run on FUSE worker threads, concurrently: they do their own
 * locking. @opaque is the directory's (fs_dir_add()).
 */
struct fs_file_ops {
	const char *name;
	mode_t mode;
	int (*show)(void *opaque, struct fs_buf *b);
	int (*store)(void *opaque, const char *value, struct gm_error *e);
};

/*
 * fs_dir_add() - add directory @path ("vm/disks/vda", "nodes/node1/hotplug")
 * holding the @nr files @files (not copied: they must outlive the mount)
 * with @opaque for their callbacks. Missing directories on the way are
 * added empty; the leaf must be new. Not under allocations/ or directly
 * under nodes/. Any thread, once mounted; directories stay until unmount.
 * Returns 0, -EEXIST (the name is taken), -EPERM (not a place for it),
 * -ENOTDIR (a file on the way), -EINVAL (a bad name, more than 255 files,
 * two files with one name), -ENOMEM, -ENOSPC. No state change on error.
 */
int fs_dir_add(struct fs *fs, const char *path, const struct fs_file_ops *files,
	       unsigned nr, void *opaque);

/*
 * fs_meminfo_add() - lines that @show adds to every nodes/nodeN/meminfo
 * (after the pool's own), for the parts of kvmem that account memory of a
 * node (the balloon: Ballooned, Reported). @show writes them with
 * fs_meminfo_line() and runs on FUSE worker threads, concurrently, until
 * unmount. Up to FS_MEMINFO_MAX. 0, -EINVAL, -ENOSPC. Any thread.
 */
#define FS_MEMINFO_MAX	4
int fs_meminfo_add(struct fs *fs,
		   int (*show)(void *opaque, unsigned node, struct fs_buf *b),
		   void *opaque);
/* fs_meminfo_line() - "Node N Key:   123 kB" as the kernel's node meminfo. */
void fs_meminfo_line(struct fs_buf *b, unsigned node, const char *key,
		     uint64_t bytes);

#endif /* KVMEM_FUSEFS_H */
