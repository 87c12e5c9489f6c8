// SPDX-License-Identifier: MIT
/*
 * host.c - what a domain asks of the host, checked before anything runs
 * (libvirt's test driver checks none of it): the files it names, the host
 * NUMA nodes it binds to, the huge page size it backs with.
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

int dom_check_host(const struct dom_guest *g, struct gm_error *e)
{
	int ret;

	ret = check_file("os/kernel", g->kernel, e);
	if (!ret)
		ret = check_file("os/initrd", g->initrd, e);
	if (!ret)
		ret = check_file("kvmem:flat file", g->flat, e);
	for (unsigned i = 0; !ret && i < g->nr_nodes; i++)
		ret = check_host_node(g, i, e);
	if (!ret && g->hugepages && access(SYS_HUGE_2M, F_OK))
		ret = gm_error_set(e, ENODEV,
				   "<memoryBacking/hugepages>: the host has no 2 MiB huge pages (%s)",
				   SYS_HUGE_2M);
	return ret;
}
