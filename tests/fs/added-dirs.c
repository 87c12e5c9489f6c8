// SPDX-License-Identifier: MIT
/*
 * added-dirs - directories added at run time with fs_dir_add(), as devices
 * add vm/disks/vdX/ and nodes/nodeN/hotplug/, on a real mount (no KVM): they
 * list, read (whole and in 3-byte reads) and stat like the fixed tree,
 * writable files reach store() with the value stripped and refuse bad ones
 * with the callback's errno and message (allocations/error), read-only ones
 * refuse writes, contents are read fresh, inodes are stable, and every bad
 * registration fails with its errno and changes nothing. TAP output.
 *
 * usage: added-dirs   (mounts on a mktemp -d of its own)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusefs.h"
#include "fs-util.h"
#include "guestmem.h"


/* A fake disk: what a device keeps behind its files. */
struct disk {
	pthread_mutex_t lock;
	const char *path;
	unsigned long long size;
	char knob[32];
	int stores;
};

static int show_path(void *opaque, struct fs_buf *b)
{
	fs_buf_printf(b, "%s\n", ((struct disk *)opaque)->path);
	return 0;
}

static int show_size(void *opaque, struct fs_buf *b)
{
	struct disk *d = opaque;

	pthread_mutex_lock(&d->lock);
	fs_buf_printf(b, "%llu\n", d->size);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int show_knob(void *opaque, struct fs_buf *b)
{
	struct disk *d = opaque;

	pthread_mutex_lock(&d->lock);
	fs_buf_printf(b, "%s\n", d->knob);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int store_knob(void *opaque, const char *value, struct gm_error *e)
{
	struct disk *d = opaque;

	if (strcmp(value, "on") && strcmp(value, "off"))
		return gm_error_set(e, EINVAL, "knob accepts on or off");
	pthread_mutex_lock(&d->lock);
	snprintf(d->knob, sizeof(d->knob), "%s", value);
	d->stores++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static const struct fs_file_ops disk_files[] = {
	{ "path", 0444, show_path, NULL },
	{ "size", 0444, show_size, NULL },
	{ "knob", 0644, show_knob, store_knob },
};

/* Lines a device adds to the nodes' meminfo (fs_meminfo_add()), as the balloon does. */
static int meminfo_extra(void *opaque, unsigned node, struct fs_buf *b)
{
	struct disk *d = opaque;

	pthread_mutex_lock(&d->lock);
	fs_meminfo_line(b, node, "Ballooned", d->size * (node + 1));
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* The names in @dir, sorted as listed, space-separated. */
static const char *ls(const char *mnt, const char *dir)
{
	static char out[1024];
	char path[512];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", mnt, dir);
	out[0] = '\0';
	d = opendir(path);
	if (!d)
		return "(none)";
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (out[0])
			strcat(out, " ");
		strcat(out, de->d_name);
	}
	closedir(d);
	return out;
}

static mode_t mode_of(const char *mnt, const char *file, ino_t *ino)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", mnt, file);
	if (stat(path, &st))
		return 0;
	if (ino)
		*ino = st.st_ino;
	return st.st_mode;
}

int main(void)
{
	char tmp[] = "/tmp/kvmem-added-dirs.XXXXXX", mnt[64], path[600];
	struct disk a = { .path = "/img/a.raw", .size = 1048576, .knob = "off" };
	struct disk b = { .path = "/img/b.raw", .size = 512, .knob = "on" };
	static const struct fs_file_ops dup_files[] = {
		{ "x", 0444, NULL, NULL }, { "x", 0444, NULL, NULL },
	};
	static const struct fs_file_ops one[] = { { "requested", 0644, show_knob, store_knob } };
	struct gm_mem *mem;
	struct fs *fs;
	ino_t i1 = 0, i2 = 0, i3 = 0;
	char before[1024];

	pthread_mutex_init(&a.lock, NULL);
	pthread_mutex_init(&b.lock, NULL);
	if (fs_scratch(tmp, mnt, sizeof(mnt), "0:16M,1:16M", false, &mem))
		return 1;
	if (fs_scratch_mount(mem, mnt, NULL, &fs)) {
		gm_mem_destroy(mem);
		return 1;
	}

	ok(fs_dir_add(fs, "vm/disks/vda", disk_files, 3, &a) == 0, "add vm/disks/vda");
	ok(fs_dir_add(fs, "vm/disks/vdb", disk_files, 3, &b) == 0, "add vm/disks/vdb");
	ok(fs_dir_add(fs, "nodes/node1/hotplug", one, 1, &a) == 0, "add nodes/node1/hotplug");
	ok(!strcmp(ls(mnt, "vm"), "name state vcpus memory e820 domain.xml disks"),
	   "vm/ lists its files, then disks");
	ok(!strcmp(ls(mnt, "vm/disks"), "vda vdb"), "vm/disks lists vda vdb");
	ok(!strcmp(ls(mnt, "vm/disks/vdb"), "path size knob"), "vdb lists its files in order");
	ok(strstr(ls(mnt, "nodes/node1"), "hotplug") && !strstr(ls(mnt, "nodes/node0"), "hotplug"),
	   "hotplug under node1 only");
	ok(mode_of(mnt, "vm/disks", NULL) == (S_IFDIR | 0555), "added dirs are 0555");
	ok(mode_of(mnt, "vm/disks/vda/size", NULL) == (S_IFREG | 0444), "size is 0444");
	ok(mode_of(mnt, "vm/disks/vda/knob", NULL) == (S_IFREG | 0644), "knob is 0644");

	ok(!strcmp(fs_slurp(mnt, "vm/disks/vda/path", 4096), "/img/a.raw\n"), "cat path");
	ok(!strcmp(fs_slurp(mnt, "vm/disks/vdb/size", 3), "512\n"), "size in 3-byte reads");
	ok(!strcmp(fs_slurp(mnt, "vm/disks/vda/size", 3), "1048576\n"), "each dir its own opaque");

	ok(fs_put(mnt, "vm/disks/vda/knob", "  on \n", O_TRUNC) == 0, "echo on > knob");
	ok(!strcmp(fs_slurp(mnt, "vm/disks/vda/knob", 4096), "on\n") && a.stores == 1,
	   "store() got the stripped value");
	ok(fs_put(mnt, "vm/disks/vda/knob", "maybe\n", O_TRUNC) == -EINVAL, "a bad value: EINVAL");
	ok(!strcmp(fs_slurp(mnt, "allocations/error", 4096),
		   "err vm/disks/vda/knob EINVAL knob accepts on or off\n"),
	   "allocations/error has the path and the device's message");
	ok(fs_put(mnt, "vm/disks/vda/knob", "on\noff\n", O_TRUNC) == -EINVAL, "two lines: EINVAL");
	ok(a.stores == 1, "bad values never reach the device");
	ok(fs_put(mnt, "nodes/node1/hotplug/requested", "x", O_TRUNC) == -EINVAL &&
	   !strcmp(fs_slurp(mnt, "allocations/error", 4096),
		   "err nodes/node1/hotplug/requested EINVAL knob accepts on or off\n"),
	   "a node-scope path in the message");
	ok(fs_put(mnt, "vm/disks/vda/size", "7\n", O_TRUNC) == -EACCES, "a read-only file refuses writes");
	ok(fs_put(mnt, "nodes/node1/hotplug/requested", "off", O_TRUNC) == 0 &&
	   !strcmp(fs_slurp(mnt, "vm/disks/vda/knob", 4096), "off\n"),
	   "node-scope added file writes reach the same opaque");

	fs_slurp(mnt, "vm/disks/vda/size", 4096);
	pthread_mutex_lock(&a.lock);
	a.size = 2097152;
	pthread_mutex_unlock(&a.lock);
	ok(!strcmp(fs_slurp(mnt, "vm/disks/vda/size", 4096), "2097152\n"),
	   "a change behind the filesystem is read fresh");

	mode_of(mnt, "vm/disks/vda/size", &i1);
	mode_of(mnt, "vm/disks/vda/size", &i2);
	mode_of(mnt, "vm/disks/vdb/size", &i3);
	ok(i1 && i1 == i2 && i1 != i3, "inodes stable and distinct");

	snprintf(before, sizeof(before), "%s", ls(mnt, "vm/disks"));
	ok(fs_dir_add(fs, "vm/disks/vda", disk_files, 3, &a) == -EEXIST, "twice: EEXIST");
	ok(fs_dir_add(fs, "vm/state", disk_files, 3, &a) == -EEXIST, "a table file: EEXIST");
	ok(fs_dir_add(fs, "vm", disk_files, 3, &a) == -EEXIST, "a table dir: EEXIST");
	ok(fs_dir_add(fs, "allocations/x", disk_files, 3, &a) == -EPERM,
	   "under allocations/: EPERM");
	ok(fs_dir_add(fs, "nodes/x", disk_files, 3, &a) == -EPERM, "directly under nodes/: EPERM");
	ok(fs_dir_add(fs, "nodes/node7/x", disk_files, 3, &a) == -EPERM, "an absent node: EPERM");
	ok(fs_dir_add(fs, "vm/state/x", disk_files, 3, &a) == -ENOTDIR, "through a file: ENOTDIR");
	ok(fs_dir_add(fs, "vm/disks//vdc", disk_files, 3, &a) == -EINVAL, "an empty name: EINVAL");
	ok(fs_dir_add(fs, "vm/../vdc", disk_files, 3, &a) == -EINVAL, "'..': EINVAL");
	ok(fs_dir_add(fs, "vm/new/vdc", dup_files, 2, &a) == -EINVAL, "two files one name: EINVAL");
	ok(!strcmp(ls(mnt, "vm/disks"), before) && !strcmp(ls(mnt, "vm"), "name state vcpus memory e820 domain.xml disks"),
	   "failed registrations changed nothing (no vm/new either)");

	snprintf(path, sizeof(path), "%s/vm/disks/vdc", mnt);
	ok(mkdir(path, 0755) && errno == EPERM, "mkdir in an added dir: EPERM");
	snprintf(path, sizeof(path), "%s/vm/disks/vda", mnt);
	ok(rmdir(path) && errno == EPERM, "rmdir of an added dir: EPERM");
	snprintf(path, sizeof(path), "%s/vm/disks/vda/size", mnt);
	ok(unlink(path) && errno == EPERM, "unlink of an added file: EPERM");

	/* meminfo lines added at run time */
	ok(fs_meminfo_add(fs, NULL, &a) == -EINVAL, "fs_meminfo_add without a callback: EINVAL");
	ok(!strstr(fs_slurp(mnt, "nodes/node0/meminfo", 4096), "Ballooned"), "no added meminfo line yet");
	ok(fs_meminfo_add(fs, meminfo_extra, &a) == 0, "fs_meminfo_add");
	ok(strstr(fs_slurp(mnt, "nodes/node0/meminfo", 4096), "CmaFree:") &&
	   strstr(fs_slurp(mnt, "nodes/node0/meminfo", 4096), "Node 0 Ballooned:          2048 kB\n"),
	   "node 0's meminfo ends with the added line, the kernel's format");
	ok(strstr(fs_slurp(mnt, "nodes/node1/meminfo", 3), "Node 1 Ballooned:          4096 kB\n") != NULL,
	   "... per node, also in 3-byte reads");
	pthread_mutex_lock(&a.lock);
	a.size = 4194304;
	pthread_mutex_unlock(&a.lock);
	ok(strstr(fs_slurp(mnt, "nodes/node0/meminfo", 4096), "Node 0 Ballooned:          4096 kB\n") != NULL,
	   "... read fresh");
	for (int i = 1; i < FS_MEMINFO_MAX; i++)
		fs_meminfo_add(fs, meminfo_extra, &b);
	ok(fs_meminfo_add(fs, meminfo_extra, &a) == -ENOSPC, "more than FS_MEMINFO_MAX: ENOSPC");

	fs_unmount(fs);
	gm_mem_destroy(mem);
	rmdir(mnt);
	rmdir(tmp);
	return tap_end();
}
