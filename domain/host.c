// SPDX-License-Identifier: MIT
/*
 * host.c - what a domain asks of the host, checked before anything runs
 * (libvirt's test driver checks none of it): the files it names, the host
 * NUMA nodes it binds to, the huge page size it backs with, its disks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SYS_NODE	"/sys/devices/system/node/node%d"
#define SYS_HUGE_2M	"/sys/kernel/mm/hugepages/hugepages-2048kB"

/* @path must be a readable regular file; @what names the element. */
static int check_file(const char *what, const char *path, struct gm_error *e)
{
	struct stat st;

	if (!path)
		return 0;
	if (stat(path, &st) || access(path, R_OK))
		return gm_error_set(e, errno, "<%s> %.120s: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return gm_error_set(e, EINVAL, "<%s> %.120s: not a regular file", what, path);
	return 0;
}

static int check_host_node(const struct dom_guest *g, unsigned i,
			   struct gm_error *e)
{
	char path[64];
	int h = g->node[i].host_node;

	if (h < 0)
		return 0;
	snprintf(path, sizeof(path), SYS_NODE, h);
	if (!access(path, F_OK))
		return 0;
	if (g->cells)
		return gm_error_set(e, ENODEV,
				    "<numatune> binds cell %u to host node %d: the host has no NUMA node %d",
				    i, h, h);
	return gm_error_set(e, ENODEV,
			    "<numatune/memory nodeset='%d'>: the host has no NUMA node %d", h, h);
}

/*
 * A disk's file: there, of its type's kind (type='file' an image file,
 * type='block' a block device), readable, writable unless <readonly/>, and
 * not another disk's. Size, locks and O_DIRECT are the run's checks
 * (io/disk.c): vm/domain.xml of a running guest names disks in use.
 */
static int check_disks(const struct dom_guest *g, struct gm_error *e)
{
	struct stat st[DOM_MAX_DISKS];

	for (unsigned i = 0; i < g->nr_disks; i++) {
		const struct dom_disk *d = &g->disk[i];
		const char *key = d->block ? "dev" : "file";

		if (stat(d->path, &st[i]) || access(d->path, d->ro ? R_OK : R_OK | W_OK)) {
			int err = errno;
			bool ro_hint = !d->ro && (err == EACCES || err == EROFS);

			return gm_error_set(e, err, "<devices/disk/source %s='%.120s'>: %s%s", key,
					    d->path, strerror(err),
					    ro_hint ? " (<readonly/> for a read-only disk)" : "");
		}
		if (d->block && !S_ISBLK(st[i].st_mode))
			return gm_error_set(e, EINVAL, "<devices/disk/source dev='%.120s'>: not a block device (type='file' is for image files)",
					    d->path);
		if (!d->block && !S_ISREG(st[i].st_mode))
			return gm_error_set(e, EINVAL, "<devices/disk/source file='%.120s'>: not a regular file (type='block' is for block devices)",
					    d->path);
		for (unsigned j = 0; j < i; j++)
			if (d->block ? st[j].st_rdev == st[i].st_rdev && S_ISBLK(st[j].st_mode) :
			    st[j].st_dev == st[i].st_dev && st[j].st_ino == st[i].st_ino &&
			    S_ISREG(st[j].st_mode))
				return gm_error_set(e, EINVAL, "<devices/disk/source %s='%.120s'>: the same %s as vd%c",
						    key, d->path, d->block ? "device" : "file", 'a' + j);
	}
	return 0;
}

int dom_check_host(const struct dom_guest *g, struct gm_error *e)
{
	int ret;

	ret = check_file("os/kernel", g->kernel, e);
	if (!ret)
		ret = check_file("os/initrd", g->initrd, e);
	if (!ret)
		ret = check_file("kvmem:flat file", g->flat, e);
	if (!ret)
		ret = check_disks(g, e);
	for (unsigned i = 0; !ret && i < g->nr_nodes; i++)
		ret = check_host_node(g, i, e);
	if (!ret && g->hugepages && access(SYS_HUGE_2M, F_OK))
		ret = gm_error_set(e, ENODEV,
				   "<memoryBacking/hugepages>: the host has no 2 MiB huge pages (%s)",
				   SYS_HUGE_2M);
	return ret;
}
