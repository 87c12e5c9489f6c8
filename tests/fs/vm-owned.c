// SPDX-License-Identifier: MIT
/*
 * vm-owned - the VM's memory through the filesystem, as `kvmem run --mount`
 * shows it, with no KVM: a backed gm_mem holding a VM-owned allocation
 * (what kvmem run makes of guest RAM), mounted with fs_mount(). Every user
 * path that would free or respecify it (rmdir, `free NAME` on ctl, opening
 * spec to write) fails with EBUSY, says whose it is in allocations/error
 * and changes nothing; its spec says owner=vm; its data reads and writes;
 * no user name can enter the VM's namespace; the VM frees it by id. Also
 * fs_mount()'s errors are one well-formed line. TAP output.
 *
 * usage: vm-owned   (mounts on a mktemp -d of its own)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusefs.h"
#include "fs-util.h"
#include "guestmem.h"

static char mnt[64];

/* @file under the mount (static buffer). */
static const char *at(const char *file)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", mnt, file);
	return path;
}

static int path_op(int (*op)(const char *), const char *file)
{
	return op(at(file)) ? -errno : 0;
}

static int do_mkdir(const char *p) { return mkdir(p, 0755); }

/* Everything a refused request must leave as it was. */
static char *state(void)
{
	char *s = NULL;

	char *a = strdup(fs_slurp(mnt, "allocations/vm.ram0/blocks", 0));
	char *b = strdup(fs_slurp(mnt, "nodes/node0/buddy/avail", 0));
	char *c = strdup(fs_slurp(mnt, "nodes/node0/buddy/free_area", 0));

	if (!a || !b || !c || asprintf(&s, "%s|%s|%s", a, b, c) < 0)
		s = NULL;
	free(a);
	free(b);
	free(c);
	return s;
}

static void fs_mount_errors(struct gm_mem *mem, const char *tmp)
{
	struct gm_error e = { 0 };
	char file[256];
	struct fs *fs;
	int fd;

	ok(fs_mount(NULL, mnt, NULL, &fs, &e) == -EINVAL && e.err == EINVAL &&
	   !strcmp(e.msg, "fs_mount: bad arguments"),
	   "fs_mount with no memory: EINVAL, \"fs_mount: bad arguments\"");
	snprintf(file, sizeof(file), "%s/plain-file", tmp);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	memset(&e, 0, sizeof(e));
	ok(fs_mount(mem, file, NULL, &fs, &e) == -ENOTDIR && e.err == ENOTDIR &&
	   strstr(e.msg, "plain-file: Not a directory") && !strchr(e.msg, '\n') &&
	   !strchr(e.msg, '%'),
	   "fs_mount on a file: ENOTDIR, one line naming it");
	unlink(file);
}

int main(void)
{
	char tmp[] = "/tmp/kvmem-vm-owned.XXXXXX", *before, *after;
	struct gm_alloc_info *ram, *info;
	struct gm_error e = { 0 };
	struct gm_request req;
	struct gm_mem *mem;
	struct fs *fs;
	struct stat st;
	char buf[64];
	int fd;

	if (fs_scratch(tmp, mnt, sizeof(mnt), "0:64M", true, &mem))
		return 1;
	/* what kvmem run does with guest RAM, leaving 16 MiB of headroom */
	gm_request_init(&req);
	req.owner = GM_OWNER_VM;
	snprintf(req.name, sizeof(req.name), "vm.ram0");
	snprintf(req.purpose, sizeof(req.purpose), "guest RAM, node 0");
	req.size = 48ULL << 20;
	req.mode = GM_MODE_RANGE;
	req.range_start = 0;
	req.range_end = 48ULL << 20;
	req.flags = GM_F_NOCLEAR;
	if (gm_alloc(mem, &req, &ram, &e)) {
		printf("Bail out! guest RAM: %s\n", e.msg);
		return 1;
	}
	fs_mount_errors(mem, tmp);
	if (fs_scratch_mount(mem, mnt, NULL, &fs))
		return 1;

	ok(ram->nr_blocks >= 1 && ram->blocks[0].gpa == 0 && ram->size == 48ULL << 20,
	   "an owned allocation of the exact range [0, 48M)");
	ok(!strcmp(fs_slurp(mnt, "allocations/vm.ram0/spec", 0),
		   "node=0 size=0x3000000 from=buddy mode=range:0x0-0x3000000 flags=noclear owner=vm\n"),
	   "spec says owner=vm");
	before = state();

	ok(path_op(rmdir, "allocations/vm.ram0") == -EBUSY, "rmdir of the VM's RAM: EBUSY");
	ok(!strcmp(fs_slurp(mnt, "allocations/error", 0),
		   "err vm.ram0 EBUSY owned by the vm (guest RAM, node 0)\n"),
	   "allocations/error: owned by the vm (guest RAM, node 0)");
	fs_put(mnt, "allocations/error", "\n", 0);
	ok(fs_put(mnt, "allocations/ctl", "free vm.ram0\n", 0) == -EBUSY, "free vm.ram0 on ctl: EBUSY");
	ok(!strcmp(fs_slurp(mnt, "allocations/error", 0),
		   "err vm.ram0 EBUSY owned by the vm (guest RAM, node 0)\n"),
	   "... and says why");
	fs_put(mnt, "allocations/error", "\n", 0);
	ok(fs_put(mnt, "allocations/vm.ram0/spec", "node=0 size=4K\n", 0) == -EBUSY,
	   "writing its spec: EBUSY");
	ok(strstr(fs_slurp(mnt, "allocations/error", 0), "owned by the vm") != NULL,
	   "... and says why");
	after = state();
	ok(before && after && !strcmp(before, after),
	   "blocks, avail and free_area unchanged by the refused requests");
	free(before);
	free(after);

	/* its bytes are the user's to read and write */
	fd = open(at("allocations/vm.ram0/data"), O_RDWR);
	ok(fd >= 0 && pwrite(fd, "guest bytes", 11, 0x1000) == 11,
	   "data of the VM's RAM is writable");
	memset(buf, 0, sizeof(buf));
	ok(fd >= 0 && pread(fd, buf, 11, 0x1000) == 11 && !strcmp(buf, "guest bytes"),
	   "... and readable");
	memset(buf, 0, sizeof(buf));
	ok(gm_mem_rw(mem, 0x1000, buf, 11, false) == 11 && !strcmp(buf, "guest bytes"),
	   "... at its guest-physical address");
	if (fd >= 0)
		close(fd);

	/* the VM's namespace is not the user's */
	ok(fs_put(mnt, "allocations/ctl", "alloc name=vm.ram1 node=0 size=4K\n", 0) == -EPERM,
	   "alloc name=vm.ram1: EPERM");
	ok(strstr(fs_slurp(mnt, "allocations/error", 0), "err vm.ram1 EPERM") != NULL,
	   "... the error file says so");
	ok(path_op(do_mkdir, "allocations/vm.x") == -EPERM, "mkdir allocations/vm.x: EPERM");
	ok(fs_put(mnt, "allocations/ctl", "alloc name=ram0 node=0 size=4K\n", 0) == 0,
	   "a user's ram0 is just a user allocation");
	ok(!strstr(fs_slurp(mnt, "allocations/ram0/spec", 0), "owner"), "... whose spec has no owner=");
	ok(path_op(rmdir, "allocations/ram0") == 0, "... and rmdir frees it");

	/* the VM frees its own, by id */
	ok(gm_free_id(mem, ram->id, GM_OWNER_USER, &e) == -EBUSY,
	   "gm_free_id as the user: EBUSY");
	ok(gm_free_id(mem, ram->id, GM_OWNER_VM, &e) == 0, "gm_free_id as the VM frees it");
	ok(gm_alloc_get_id(mem, ram->id, &info) == -ENOENT &&
	   stat(at("allocations/vm.ram0"), &st) && errno == ENOENT,
	   "... and it is gone from allocations/");
	ok(!strcmp(fs_slurp(mnt, "nodes/node0/buddy/avail", 0), "67108864\n"), "the whole node is free again");
	gm_alloc_info_free(ram);

	fs_unmount(fs);
	gm_mem_destroy(mem);
	rmdir(mnt);
	rmdir(tmp);
	return tap_end();
}
