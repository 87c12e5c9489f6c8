// SPDX-License-Identifier: MIT
/*
 * ops.c - the FUSE low-level operations. Each decodes its inode into a
 * struct fs_obj and walks the table in tree.c; none knows a file by name.
 *
 * A show file is rendered afresh on every open(2). Opened read-only, its
 * text goes through cache.c: unchanged text keeps the kernel's page cache
 * (reads cost no request), changed text drops it, so no read is stale.
 * Opened for writing (or with KVMEM_FS_DIRECT_IO=1) it is direct_io and
 * reads serve offsets from the open file's own snapshot. Raw files (data,
 * memory) are direct_io and copy bytes on every read and write.
 * Entries and attributes of allocations are not cached either (timeout 0):
 * they come and go with every control write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define FIXED_TIMEOUT	60.0	/* nodes/, vm/ and the top never change shape */

struct fs_file {
	struct fs_open head;	/* first: linked in fs->open_list */
	struct fs_obj o;
	struct fs_buf b;	/* the text rendered at open */
	bool cached;		/* reads through the page cache (cache.c) */
	bool wrote;		/* opened for writing: forget the text at close */
};

struct fs_dir {
	struct fs_open head;	/* first: linked in fs->open_list */
	struct fs_obj *v;
	unsigned nr;
};

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void open_link(struct fs *fs, struct fs_open *h, bool dir)
{
	h->dir = dir;
	pthread_mutex_lock(&fs->lock);
	h->prev = NULL;
	h->next = fs->open_list;
	if (h->next)
		h->next->prev = h;
	fs->open_list = h;
	pthread_mutex_unlock(&fs->lock);
}

static void open_free(struct fs *fs, struct fs_open *h)
{
	pthread_mutex_lock(&fs->lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->open_list = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->lock);
	if (h->dir) {
		free(((struct fs_dir *)h)->v);
	} else {
		free(((struct fs_file *)h)->b.p);
	}
	free(h);
}

void fs_open_release_all(struct fs *fs)
{
	while (fs->open_list)
		open_free(fs, fs->open_list);
}

static double timeout(const struct fs_obj *o)
{
	return fs_rows[o->row].scope == FS_ALLOC ? 0.0 : FIXED_TIMEOUT;
}

static void reply_entry(fuse_req_t req, struct fs *fs, const struct fs_obj *o)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	fs_stat(fs, o, &e.attr);
	e.ino = e.attr.st_ino;
	e.attr_timeout = e.entry_timeout = timeout(o);
	fuse_reply_entry(req, &e);
}

/* The object called @name in directory inode @parent. */
static int child_of(struct fs *fs, fuse_ino_t parent, const char *name,
		    struct fs_obj *o)
{
	struct fs_obj dir;
	int ret = fs_decode(fs, parent, &dir);

	return ret ? ret : fs_child(fs, &dir, name, o);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct fs_obj o;
	int ret = child_of(fs, parent, name, &o);

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	reply_entry(req, fs, &o);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct stat st;
	struct fs_obj o;
	int ret;

	(void)fi;
	ret = fs_decode(fs, ino, &o);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fs_stat(fs, &o, &st);
	fuse_reply_attr(req, &st, timeout(&o));
}

/*
 * setattr: chmod/chown are refused; utimes are accepted and ignored. A size
 * change is how open(O_TRUNC) arrives: on a writable file, truncating to 0
 * (or to the size it has) succeeds and changes nothing, so `echo ... > FILE`
 * works; data keeps its bytes and size (it is the allocation).
 */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct stat st;
	struct fs_obj o;
	int ret;

	(void)fi;
	ret = fs_decode(fs, ino, &o);
	if (ret)
		goto err;
	fs_stat(fs, &o, &st);
	ret = -EPERM;
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		goto err;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		ret = -EACCES;
		if (S_ISDIR(st.st_mode))
			ret = -EISDIR;
		if (S_ISDIR(st.st_mode) || !(st.st_mode & 0222))
			goto err;
		ret = -EINVAL;
		if (attr->st_size > st.st_size)
			ret = -EFBIG;
		if (attr->st_size != 0 && attr->st_size != st.st_size)
			goto err;
	}
	fuse_reply_attr(req, &st, timeout(&o));
	return;
err:
	fuse_reply_err(req, -ret);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	int acc = fi->flags & O_ACCMODE;
	const struct fs_row *row;
	struct fs_file *f;
	struct stat st;
	int ret;

	f = calloc(1, sizeof(*f));
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = fs_decode(fs, ino, &f->o);
	if (ret)
		goto err;
	row = &fs_rows[f->o.row];
	fs_stat(fs, &f->o, &st);
	/* The VM's allocations: their spec is not the user's to write. */
	if (acc != O_RDONLY && row->store) {
		ret = fs_refuse_owned(fs, &f->o);
		if (ret)
			goto err;
	}
	/* Modes are enforced for root too: a read-only file is read-only. */
	ret = -EACCES;
	if (acc != O_RDONLY && !(st.st_mode & 0222))
		goto err;
	if (acc != O_WRONLY && !(st.st_mode & 0444))
		goto err;
	if (acc != O_WRONLY && row->show) {
		ret = row->show(fs, &f->o, &f->b);
		if (!ret)
			ret = f->b.err;
		if (ret)
			goto err;
	}
	if (acc == O_RDONLY && row->show && !fs->cache_off) {
		ret = fs_cache_store(fs, ino, f->b.p ? f->b.p : "", f->b.len);
		if (ret < 0)
			goto err;
		/* New text: ask st_size again; the open drops cached pages. */
		if (ret)
			fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
		fi->keep_cache = !ret;
		f->cached = true;
	}
	if (acc != O_RDONLY && row->show) {
		fs_cache_forget(fs, ino);
		f->wrote = true;
	}
	fi->direct_io = !f->cached;
	fi->fh = (uintptr_t)f;
	open_link(fs, &f->head, false);
	if (fuse_reply_open(req, fi) == -ENOENT)
		open_free(fs, &f->head);
	return;
err:
	free(f->b.p);
	free(f);
	fuse_reply_err(req, -ret);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	const struct fs_row *row = &fs_rows[f->o.row];
	ssize_t n;
	char *buf;

	if (row->rw || f->cached) {
		buf = malloc(size ? size : 1);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		if (row->rw)
			n = row->rw(req_fs(req), &f->o, buf, size, off, false);
		else
			n = fs_cache_read(req_fs(req), ino, buf, size, off);
		if (n == -ESTALE) {
			/* A writer came by: serve this open's own text. */
			free(buf);
			goto snapshot;
		}
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, buf, (size_t)n);
		free(buf);
		return;
	}
snapshot:
	if (off < 0 || (size_t)off >= f->b.len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > f->b.len - (size_t)off)
		size = f->b.len - (size_t)off;
	/*
	 * Reply from a copy: once the reply is written the reader may close
	 * and its RELEASE free @f on another worker while this one is still
	 * returning from writev() (which sanitizers then check).
	 */
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(buf, f->b.p + off, size);
	fuse_reply_buf(req, buf, size);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	const struct fs_row *row = &fs_rows[f->o.row];
	struct fs *fs = req_fs(req);
	ssize_t n;
	int ret;

	(void)ino;
	if (row->rw) {
		n = row->rw(fs, &f->o, (void *)buf, size, off, true);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, (size_t)n);
		return;
	}
	if (!row->store) {
		fuse_reply_err(req, EACCES);
		return;
	}
	/* One write(2) is one request: the offset does not matter. */
	ret = row->store(fs, &f->o, buf, size);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_write(req, size);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;

	if (f) {
		if (f->wrote)
			fs_cache_forget(req_fs(req), ino);
		open_free(req_fs(req), &f->head);
	}
	fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_dir *d;
	struct fs_obj o;
	int ret;

	ret = fs_decode(fs, ino, &o);
	if (ret)
		goto err;
	ret = -ENOTDIR;
	if (!S_ISDIR(fs_rows[o.row].mode))
		goto err;
	ret = -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto err;
	ret = fs_list(fs, &o, &d->v, &d->nr);
	if (ret) {
		free(d);
		goto err;
	}
	fi->fh = (uintptr_t)d;
	open_link(fs, &d->head, true);
	if (fuse_reply_open(req, fi) == -ENOENT)
		open_free(fs, &d->head);
	return;
err:
	fuse_reply_err(req, -ret);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	char *buf, name[GM_NAME_MAX + 16];
	size_t pos = 0, n;
	struct stat st;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off; i < (off_t)d->nr + 2; i++) {
		memset(&st, 0, sizeof(st));
		if (i < 2) {
			st.st_ino = ino;
			st.st_mode = S_IFDIR;
			snprintf(name, sizeof(name), i ? ".." : ".");
		} else {
			/* Only st_ino and the type reach the kernel here. */
			st.st_ino = fs_encode(&d->v[i - 2]);
			st.st_mode = fs_rows[d->v[i - 2].row].mode;
			fs_obj_name(&d->v[i - 2], name, sizeof(name));
		}
		n = fuse_add_direntry(req, buf + pos, size - pos, name, &st, i + 1);
		if (n > size - pos)
			break;
		pos += n;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;

	(void)ino;
	if (d)
		open_free(req_fs(req), &d->head);
	fuse_reply_err(req, 0);
}

/* mkdir allocations/NAME: a pending name (in guestmem) until spec is written. */
static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fs *fs = req_fs(req);
	struct fs_obj dir, o;
	int ret;

	(void)mode;
	ret = fs_decode(fs, parent, &dir);
	if (ret)
		goto err;
	ret = -EPERM;
	if (dir.row != R_ALLOCS)
		goto err;
	ret = -ENAMETOOLONG;
	if (strlen(name) > GM_NAME_MAX)
		goto err;
	ret = fs_mkdir_alloc(fs, name, &o);
	if (ret)
		goto err;
	reply_entry(req, fs, &o);
	return;
err:
	fuse_reply_err(req, -ret);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct fs_obj o;
	int ret = child_of(fs, parent, name, &o);

	if (!ret && o.row != R_ALLOC)
		ret = S_ISDIR(fs_rows[o.row].mode) ? -EPERM : -ENOTDIR;
	if (!ret)
		ret = fs_rmdir_alloc(fs, &o);
	fuse_reply_err(req, -ret);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops fs_ops = {
	.lookup		= op_lookup,
	.getattr	= op_getattr,
	.setattr	= op_setattr,
	.open		= op_open,
	.read		= op_read,
	.write		= op_write,
	.release	= op_release,
	.opendir	= op_opendir,
	.readdir	= op_readdir,
	.releasedir	= op_releasedir,
	.mkdir		= op_mkdir,
	.rmdir		= op_rmdir,
	.unlink		= op_unlink,
	.mknod		= op_mknod,
	.create		= op_create,
};
