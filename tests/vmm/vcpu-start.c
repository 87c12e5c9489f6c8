// SPDX-License-Identifier: MIT
/*
 * vcpu-start - a vmm_vcpus_start() that fails leaves the VM as it was: not
 * stopped, its state "running", its wait fd quiet, no exit status set.
 * Needs /dev/kvm (run inside the guest suite's outer VM); exits 77 where
 * there is none. TAP output.
 *
 * The failure is real: the BSP's entry has a CR3 beyond any physical
 * address, which KVM_SET_SREGS refuses after the first vCPU is created.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "vmm.h"

static int t, failed;

static void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++t, what);
	if (!cond)
		failed++;
}

int main(void)
{
	struct vmm_entry entry = { 0 };
	struct gm_error e = { 0 };
	struct gm_config cfg;
	struct gm_mem *mem;
	struct pollfd p;
	struct vmm *vm;
	int ret;

	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("1..0 # SKIP no /dev/kvm\n");
		return 77;
	}
	gm_config_init(&cfg);
	if (gm_parse_numa("0:16M", &cfg, &e) || gm_mem_create(&cfg, &mem, &e) ||
	    gm_mem_back(mem, 0, &e) ||
	    vmm_flat_place(mem, 0x100000, &entry, &e) ||
	    gm_mem_retire(mem, &e) || vmm_create(mem, 2, &vm, &e) ||
	    vmm_map_mem(vm, &e)) {
		printf("Bail out! setup: %s\n", e.msg);
		return 1;
	}
	entry.cr3 = 1ULL << 62;		/* no CPU has such an address */
	ret = vmm_vcpus_start(vm, &entry, &e);
	ok(ret < 0, "vmm_vcpus_start with an impossible CR3 fails");
	printf("# %s\n", e.msg);
	ok(e.msg[0] && !strchr(e.msg, '\n'), "... with a one-line message");
	ok(!vmm_stopped(vm, NULL, NULL, 0), "the VM is not stopped");
	ok(vmm_state(vm) == VMM_RUNNING, "its state is still running");
	p = (struct pollfd){ .fd = vmm_wait_fd(vm), .events = POLLIN };
	ok(poll(&p, 1, 0) == 0, "its wait fd is quiet");
	ok(vmm_pause(vm) == 0 && vmm_state(vm) == VMM_PAUSED &&
	   vmm_resume(vm) == 0, "it can still be paused and resumed");
	vmm_stop(vm, 3, "stopped by the test");
	ok(vmm_stopped(vm, &ret, NULL, 0) && ret == 3,
	   "a later stop is the first one (status 3)");
	vmm_vcpus_join(vm);
	vmm_destroy(vm);
	gm_mem_destroy(mem);
	printf("1..%d\n", t);
	return failed ? 1 : 0;
}
