// SPDX-License-Identifier: MIT
/*
 * cache.c - the last text rendered for each show file, so that the kernel's
 * page cache can serve reads and still never serve a stale one.
 *
 * Every open(2) for reading renders the file afresh and compares the text
 * with the one stored for its inode. Same text: the open keeps the kernel's
 * cached pages (keep_cache), and the read costs no request at all. Different
 * text (or never rendered, or a writer opened the file since): the new text
 * is stored first, then the inode's cached attributes are invalidated (so
 * st_size is asked again) and the open drops the cached pages (no
 * keep_cache). Page-cache misses are filled from the stored text, never from
 * an older one, so a page filled while a newer open was rendering is dropped
 * by that open. The check runs on every open, so state changed behind the
 * filesystem's back (a guest, a vmm thread) is caught as well; only a reader
 * that keeps a file open across a change sees its old snapshot, as with
 * rendering per open.
 *
 * Locking: fs->cache_lock guards the table; nothing is called under it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct fs_cent {
	fuse_ino_t ino;
	char *p;
	size_t len;
	bool valid;			/* false: forgotten by a writer */
	struct fs_cent *next;
};

static struct fs_cent **bucket(struct fs *fs, fuse_ino_t ino)
{
	uint64_t h = ino * 0x9E3779B97F4A7C15ULL;

	return &fs->cache[h >> (64 - FS_CACHE_BITS)];
}

static struct fs_cent *find(struct fs *fs, fuse_ino_t ino)
{
	struct fs_cent *c;

	for (c = *bucket(fs, ino); c; c = c->next)
		if (c->ino == ino)
			return c;
	return NULL;
}

/*
 * fs_cache_store() - make @len bytes at @p the text of @ino (copied).
 * Returns 1 if that changes what readers may have cached (new text, or none
 * valid before), 0 if the same text is stored, -ENOMEM (nothing changed).
 */
int fs_cache_store(struct fs *fs, fuse_ino_t ino, const char *p, size_t len)
{
	struct fs_cent *c;
	char *copy;
	int ret = 1;

	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, len);
	pthread_mutex_lock(&fs->cache_lock);
	c = find(fs, ino);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			pthread_mutex_unlock(&fs->cache_lock);
			free(copy);
			return -ENOMEM;
		}
		c->ino = ino;
		c->next = *bucket(fs, ino);
		*bucket(fs, ino) = c;
	} else if (c->valid && c->len == len && !memcmp(c->p, p, len)) {
		ret = 0;
	}
	if (ret) {
		free(c->p);
		c->p = copy;
		c->len = len;
		c->valid = true;
		copy = NULL;
	}
	pthread_mutex_unlock(&fs->cache_lock);
	free(copy);
	return ret;
}

/*
 * fs_cache_read() - copy up to @size bytes of @ino's stored text at @off
 * into @dst. Returns the count (0 at the end), -ESTALE if none is stored.
 */
ssize_t fs_cache_read(struct fs *fs, fuse_ino_t ino, char *dst, size_t size,
		      off_t off)
{
	struct fs_cent *c;
	ssize_t n = -ESTALE;

	pthread_mutex_lock(&fs->cache_lock);
	c = find(fs, ino);
	if (c && c->valid) {
		n = 0;
		if (off >= 0 && (size_t)off < c->len) {
			n = (ssize_t)(c->len - (size_t)off < size ?
				      c->len - (size_t)off : size);
			memcpy(dst, c->p + off, (size_t)n);
		}
	}
	pthread_mutex_unlock(&fs->cache_lock);
	return n;
}

/*
 * fs_cache_size() - the size of @ino's stored text into *@size: 0, or
 * -ENOENT if never stored (the caller may render and store), -ESTALE if
 * forgotten (the caller must not store: pages may be cached).
 */
int fs_cache_size(struct fs *fs, fuse_ino_t ino, uint64_t *size)
{
	struct fs_cent *c;
	int ret = -ENOENT;

	pthread_mutex_lock(&fs->cache_lock);
	c = find(fs, ino);
	if (c) {
		ret = c->valid ? 0 : -ESTALE;
		*size = c->len;
	}
	pthread_mutex_unlock(&fs->cache_lock);
	return ret;
}

/* fs_cache_forget() - a writer opened @ino: the next open starts afresh. */
void fs_cache_forget(struct fs *fs, fuse_ino_t ino)
{
	struct fs_cent *c;

	pthread_mutex_lock(&fs->cache_lock);
	c = find(fs, ino);
	if (c)
		c->valid = false;
	pthread_mutex_unlock(&fs->cache_lock);
}

/* fs_cache_drop() - remove @ino's entry (its allocation is gone). */
void fs_cache_drop(struct fs *fs, fuse_ino_t ino)
{
	struct fs_cent **pp, *c;

	pthread_mutex_lock(&fs->cache_lock);
	for (pp = bucket(fs, ino); (c = *pp); pp = &c->next) {
		if (c->ino == ino) {
			*pp = c->next;
			free(c->p);
			free(c);
			break;
		}
	}
	pthread_mutex_unlock(&fs->cache_lock);
}

void fs_cache_release(struct fs *fs)
{
	for (unsigned i = 0; i < (1u << FS_CACHE_BITS); i++) {
		while (fs->cache[i]) {
			struct fs_cent *c = fs->cache[i];

			fs->cache[i] = c->next;
			free(c->p);
			free(c);
		}
	}
}
