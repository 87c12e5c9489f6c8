// SPDX-License-Identifier: MIT
/*
 * vm-files - vm/ through fs_mount() with struct fs_vm callbacks, as
 * `kvmem run` mounts it, but with a fake guest (no KVM): the files show what
 * the callbacks render, vm/state is writable and its writes reach store(),
 * bad values fail with EINVAL, and a state changed behind the filesystem's
 * back (as a guest does) is read fresh by the next open. TAP output.
 *
 * usage: vm-files   (mounts on a mktemp -d of its own)
 */
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


struct fake_vm {
	pthread_mutex_t lock;
	char state[16];
	int stores;
};

static int fake_show(void *opaque, const char *file, char **out)
{
	struct fake_vm *vm = opaque;
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (!strcmp(file, "name"))
		ret = asprintf(out, "fake\n");
	else if (!strcmp(file, "state"))
		ret = asprintf(out, "%s\n", vm->state);
	else if (!strcmp(file, "vcpus"))
		ret = asprintf(out, "2\n");
	else if (!strcmp(file, "memory"))
		ret = asprintf(out, "16777216\n");
	else if (!strcmp(file, "e820"))
		ret = asprintf(out, "0x0000000000000000 0x0000000001000000 usable\n");
	else
		ret = -2;
	pthread_mutex_unlock(&vm->lock);
	return ret == -2 ? -ENOENT : ret < 0 ? -ENOMEM : 0;
}

static int fake_store(void *opaque, const char *file, const char *value)
{
	struct fake_vm *vm = opaque;

	if (strcmp(file, "state"))
		return -EACCES;
	pthread_mutex_lock(&vm->lock);
	vm->stores++;
	snprintf(vm->state, sizeof(vm->state), "%s",
		 !strcmp(value, "pause") ? "paused" :
		 !strcmp(value, "resume") ? "running" : "stopped");
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int main(void)
{
	char tmp[] = "/tmp/kvmem-vm-files.XXXXXX", mnt[64];
	struct fake_vm vm = { .state = "running" };
	struct fs_vm ops = { .opaque = &vm, .show = fake_show,
			     .store = fake_store };
	struct gm_mem *mem;
	struct fs *fs;
	struct stat st;
	char path[128];

	pthread_mutex_init(&vm.lock, NULL);
	if (fs_scratch(tmp, mnt, sizeof(mnt), "0:16M", false, &mem))
		return 1;
	if (fs_scratch_mount(mem, mnt, &ops, &fs)) {
		gm_mem_destroy(mem);
		return 1;
	}

	ok(!strcmp(fs_slurp(mnt, "vm/name", 0), "fake\n"), "vm/name from show()");
	ok(!strcmp(fs_slurp(mnt, "vm/vcpus", 0), "2\n"), "vm/vcpus from show()");
	ok(!strcmp(fs_slurp(mnt, "vm/memory", 0), "16777216\n"), "vm/memory from show()");
	ok(!strcmp(fs_slurp(mnt, "vm/e820", 0),
		   "0x0000000000000000 0x0000000001000000 usable\n"), "vm/e820 from show()");
	ok(!strcmp(fs_slurp(mnt, "vm/state", 0), "running\n"), "vm/state reads running");
	snprintf(path, sizeof(path), "%s/vm/state", mnt);
	ok(!stat(path, &st) && (st.st_mode & 07777) == 0644,
	   "vm/state is 0644 with a guest");
	snprintf(path, sizeof(path), "%s/vm/name", mnt);
	ok(!stat(path, &st) && (st.st_mode & 07777) == 0444, "vm/name is 0444");

	ok(fs_put(mnt, "vm/state", "pause\n", O_TRUNC) == 0, "echo pause > vm/state");
	ok(!strcmp(fs_slurp(mnt, "vm/state", 0), "paused\n"), "state reads paused");
	ok(fs_put(mnt, "vm/state", "resume", O_TRUNC) == 0, "resume without a newline");
	ok(!strcmp(fs_slurp(mnt, "vm/state", 0), "running\n"), "state reads running");
	ok(fs_put(mnt, "vm/state", "sleep\n", O_TRUNC) == -EINVAL, "bad state: EINVAL");
	ok(fs_put(mnt, "vm/state", "pause\nresume\n", O_TRUNC) == -EINVAL, "two values: EINVAL");
	ok(vm.stores == 2, "only the two good writes reached store()");
	ok(strstr(fs_slurp(mnt, "allocations/error", 0), "vm/state EINVAL") != NULL,
	   "allocations/error says why");
	ok(fs_put(mnt, "vm/name", "x\n", O_TRUNC) == -EACCES, "vm/name is read-only");

	/* The guest changes state behind the filesystem's back. */
	fs_slurp(mnt, "vm/state", 0);
	pthread_mutex_lock(&vm.lock);
	strcpy(vm.state, "shutdown");
	pthread_mutex_unlock(&vm.lock);
	ok(!strcmp(fs_slurp(mnt, "vm/state", 0), "shutdown\n"),
	   "a change behind the filesystem is read fresh");
	snprintf(path, sizeof(path), "%s/vm/state", mnt);
	ok(!stat(path, &st) && st.st_size == 9, "st_size follows (9 bytes)");

	fs_unmount(fs);
	snprintf(path, sizeof(path), "%s/vm", mnt);
	ok(stat(path, &st) && errno == ENOENT, "fs_unmount unmounted");
	gm_mem_destroy(mem);
	rmdir(mnt);
	rmdir(tmp);
	return tap_end();
}
