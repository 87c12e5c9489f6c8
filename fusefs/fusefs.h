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

#endif /* KVMEM_FUSEFS_H */
