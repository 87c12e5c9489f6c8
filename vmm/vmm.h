/* SPDX-License-Identifier: MIT */
/*
 * vmm.h - kvmem's KVM side, the public interface of vmm/.
 *
 * A struct vmm is one KVM virtual machine whose guest-physical memory is a
 * struct gm_mem (guestmem.h): every range of every node pool becomes one KVM
 * memory slot, so an allocation made at run time is reachable by the guest at
 * its guest-physical address. Devices sit on two buses (port I/O and MMIO),
 * each a sorted table of (base, len, handler, opaque); the vCPU threads
 * dispatch every I/O exit to them.
 *
 * Life cycle, in this order (each init has its exit, run in reverse):
 *   vmm_create()        open /dev/kvm, check API and capabilities, create the
 *                       VM with the in-kernel irqchip and PIT
 *   vmm_map_mem()       one memory slot per gm_mem range
 *   vmm_serial_*(), vmm_power_init()   devices on the buses
 *   vmm_vcpus_start()   one thread per vCPU, the BSP at a struct vmm_entry
 *   vmm_wait_fd() / vmm_stopped()      until poweroff, reset, error or stop
 *   vmm_vcpus_join(), vmm_destroy()
 *
 * Errors are negative errno; functions taking a struct gm_error also fill a
 * one-line message. Locking is described at each function.
 */
#ifndef KVMEM_VMM_H
#define KVMEM_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guestmem.h"

#define VMM_MAX_CPUS		256

struct vmm;
struct vmm_entry;		/* boot.h: BSP register state at entry */
struct vmm_topology;		/* boot.h */

/* ---- bus.c: port I/O and MMIO dispatch ------------------------------------ */

/*
 * A device's access handler: @off is the offset from the region's base,
 * @data holds @len bytes (1, 2, 4 or 8) to write, or receives them on read.
 * Called from vCPU threads, concurrently: the device does its own locking.
 */
typedef void (*vmm_io_fn)(void *opaque, uint64_t off, uint8_t *data,
			  unsigned len, bool write);

struct vmm_bus_region {
	uint64_t base, len;
	vmm_io_fn fn;
	void *opaque;
};

/*
 * A bus: regions sorted by base, never overlapping. Lock: @lock (a rwlock,
 * readers are the dispatching vCPUs, writers register/unregister).
 */
struct vmm_bus {
	pthread_rwlock_t lock;
	struct vmm_bus_region *r;
	unsigned nr;
	size_t cap;		/* gm_grow() */
};

/* vmm_bus_init() - an empty bus. 0 or -ENOMEM. */
int vmm_bus_init(struct vmm_bus *bus);
/* vmm_bus_exit() - free the table (handlers are not called). */
void vmm_bus_exit(struct vmm_bus *bus);

/*
 * vmm_bus_register() - add the region [@base, @base + @len) served by @fn.
 * Returns 0, -EINVAL (len 0, wrap-around or NULL fn), -EEXIST (overlaps a
 * registered region), -ENOMEM. No state change on error. Takes the lock.
 */
int vmm_bus_register(struct vmm_bus *bus, uint64_t base, uint64_t len,
		     vmm_io_fn fn, void *opaque);

/* vmm_bus_unregister() - remove the region starting at @base; -ENOENT. */
int vmm_bus_unregister(struct vmm_bus *bus, uint64_t base);

/*
 * vmm_bus_access() - dispatch one access of @len bytes at @addr to the
 * region holding it (the whole access must fit in one region). Returns 0 or
 * -ENOENT when no region holds it (@data untouched). Takes the read lock.
 */
int vmm_bus_access(struct vmm_bus *bus, uint64_t addr, uint8_t *data,
		   unsigned len, bool write);

/* ---- serial.c: 8250/16550A UART, and the console behind it --------------- */

#define VMM_COM1_BASE		0x3f8
#define VMM_COM1_IRQ		4
#define VMM_SERIAL_FIFO		16

struct vmm_serial;

/*
 * vmm_serial_create() - a 16550A register model. Transmitted bytes are
 * written to @out_fd (not owned, -1 drops them); @set_irq(@irq_opaque, level)
 * is called whenever the interrupt line changes (NULL: no interrupts).
 * Returns 0 or -ENOMEM. The model has its own mutex; set_irq is called with
 * it held, so set_irq must not call back into the model.
 */
int vmm_serial_create(int out_fd, void (*set_irq)(void *opaque, int level),
		      void *irq_opaque, struct vmm_serial **out);
void vmm_serial_destroy(struct vmm_serial *s);

/* vmm_serial_io() - the bus handler (opaque = the struct vmm_serial). */
void vmm_serial_io(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		   bool write);

/*
 * vmm_serial_input() - feed received bytes into the RX FIFO (raising the
 * receive interrupt if enabled). Returns how many were taken (the FIFO may
 * be full: 0).
 */
size_t vmm_serial_input(struct vmm_serial *s, const uint8_t *buf, size_t len);

/* vmm_serial_set_out() - switch the output fd (not owned; -1 drops output). */
void vmm_serial_set_out(struct vmm_serial *s, int out_fd);

/*
 * The console: "stdio" (the terminal in raw mode when stdin is a tty, keys
 * go to the UART's RX; Ctrl-A x stops the VM) or a file path (output only,
 * created or truncated). vmm_console_open() registers COM1 on @vm's bus and
 * wires IRQ 4; vmm_console_close() restores the terminal (also called from
 * an atexit handler so a raw terminal is restored on every exit path).
 */
struct vmm_console;
int vmm_console_open(struct vmm *vm, const char *spec,
		     struct vmm_console **out, struct gm_error *e);
void vmm_console_close(struct vmm_console *c);

/* ---- power.c: poweroff, reset, default port I/O ---------------------------- */

struct vmm_power;

/*
 * vmm_power_init() - register the ACPI PM1a event/control ports (SLP_TYP 5
 * with SLP_EN = poweroff), 0xCF9 (reset) and the i8042 command port 0x64
 * (0xFE = reset) on @vm's port bus. A poweroff or reset stops the VM with
 * status 0 and a reason naming it. Returns 0, -ENOMEM or a bus error (no
 * port left registered). vmm_power_exit() unregisters and frees; NULL is a
 * no-op.
 */
int vmm_power_init(struct vmm *vm, struct vmm_power **out);
void vmm_power_exit(struct vmm_power *p);

/* ---- kvm.c: the VM ----------------------------------------------------------- */

enum vmm_state { VMM_RUNNING, VMM_PAUSED, VMM_STOPPED };

/*
 * vmm_create() - open /dev/kvm, check KVM_GET_API_VERSION == 12 and the
 * capabilities kvmem relies on, create a VM with the in-kernel irqchip
 * (PIC + IOAPIC + LAPIC) and PIT. @mem is not owned and must outlive the VM.
 * Errors: -ENOENT/-EACCES/... from open with a message suggesting the nested
 * harness, -ENOTSUP for a missing capability, or the ioctl's errno.
 */
int vmm_create(struct gm_mem *mem, unsigned nr_cpus, struct vmm **out,
	       struct gm_error *e);
void vmm_destroy(struct vmm *vm);

/*
 * vmm_map_mem() - register one KVM memory slot per backed range of every
 * node (the whole pool). -EINVAL if the memory is not backed, -ENOSPC if
 * KVM has too few slots.
 */
int vmm_map_mem(struct vmm *vm, struct gm_error *e);

struct vmm_bus *vmm_pio_bus(struct vmm *vm);
struct vmm_bus *vmm_mmio_bus(struct vmm *vm);
struct gm_mem *vmm_mem(struct vmm *vm);
int vmm_kvm_fd(struct vmm *vm);
int vmm_vm_fd(struct vmm *vm);
unsigned vmm_nr_cpus(struct vmm *vm);

/* vmm_irq_line() - set ISA/GSI @irq to @level (KVM_IRQ_LINE). 0 or -errno. */
int vmm_irq_line(struct vmm *vm, unsigned irq, int level);

/*
 * vmm_stop() - stop the VM with exit @status and a one-line @reason (the
 * first stop wins; later calls are ignored). Kicks every vCPU out of
 * KVM_RUN. Safe from any thread, including vCPU threads and devices.
 */
void vmm_stop(struct vmm *vm, int status, const char *reason);

/* vmm_stopped() - true once stopped; *@status and @reason filled if non-NULL. */
bool vmm_stopped(struct vmm *vm, int *status, char *reason, size_t len);

/* vmm_wait_fd() - an eventfd that becomes readable when the VM stops. */
int vmm_wait_fd(struct vmm *vm);

/*
 * vmm_pause() / vmm_resume() - hold every vCPU out of KVM_RUN / let them
 * go. vmm_pause() returns once all vCPUs are parked. -EINVAL when stopped.
 */
int vmm_pause(struct vmm *vm);
int vmm_resume(struct vmm *vm);
enum vmm_state vmm_state(struct vmm *vm);
const char *vmm_state_name(enum vmm_state s);

/* ---- cpuid.c ------------------------------------------------------------------- */

/*
 * vmm_cpuid_set() - KVM_SET_CPUID2 on vCPU @vcpu_fd (index @id of @nr_cpus):
 * KVM_GET_SUPPORTED_CPUID with a consistent topology (each vCPU its own
 * package of one core and one thread, APIC ID = @id, so any NUMA spread is
 * consistent), the hypervisor bit set: leaves 0x1, 0x4, 0xB, 0x1F,
 * 0x80000008, 0x8000001E. Returns 0 or -errno.
 */
int vmm_cpuid_set(int kvm_fd, int vcpu_fd, unsigned id, unsigned nr_cpus);

struct kvm_cpuid2;
/*
 * vmm_cpuid_topology() - rewrite the topology leaves of @c (room for @cap
 * entries; leaf 0xB, and 0x1F when present, get three subleaves each) for
 * vCPU @id of @nr_cpus, with no ioctl, so unit tests can check it. Returns
 * 0 or -ENOSPC when @cap is too small (then @c is unchanged).
 */
int vmm_cpuid_topology(struct kvm_cpuid2 *c, unsigned cap, unsigned id,
		       unsigned nr_cpus);

/* ---- vcpu.c: threads and the run loop ------------------------------------------- */

/*
 * vmm_vcpus_start() - create @vm's vCPUs (CPUID, FPU, LAPIC LINT0 ExtINT /
 * LINT1 NMI), put the BSP at @entry (64-bit long mode, CS 0x10, data 0x18)
 * and start one thread per vCPU; APs wait for INIT/SIPI in the kernel.
 * Returns 0 or -errno with @e filled; on error no thread is left running
 * and the VM is not stopped: its state, exit status and wait fd are as they
 * were (KVM keeps vCPU ids once created, so a retry of a start that got as
 * far as KVM_CREATE_VCPU fails with -EEXIST).
 */
int vmm_vcpus_start(struct vmm *vm, const struct vmm_entry *entry,
		    struct gm_error *e);

/* vmm_vcpus_join() - stop (if not yet) and join every vCPU thread. */
void vmm_vcpus_join(struct vmm *vm);

/* ---- flat.c: --flat FILE@ADDR ------------------------------------------------------ */

/*
 * vmm_flat_parse() - split "FILE@ADDR" (ADDR as gm_parse_size accepts) into
 * @path (a malloc'd copy, caller frees) and @addr. -EINVAL if malformed,
 * -ERANGE if ADDR overflows, -ENOMEM; @e says which ("--flat SPEC: ...").
 */
int vmm_flat_parse(const char *spec, char **path, uint64_t *addr,
		   struct gm_error *e);

/*
 * vmm_flat_load() - early phase: reserve [@addr, @addr + size) labelled
 * "flat", copy the file there (memory must be backed) and build the entry
 * state with vmm_flat_place(): 64-bit long mode, the low 4 GiB identity
 * mapped, RIP = @addr, RSP from vmm_flat_place, RSI = 0, interrupts off.
 * Returns 0, -ENOENT (no file), -EINVAL (empty, not 4 KiB-aligned address
 * or outside the pools), -EEXIST (overlap), with @e filled.
 */
int vmm_flat_load(struct gm_mem *mem, const char *path, uint64_t addr,
		  struct vmm_entry *out, struct gm_error *e);

/* ---- virtio-mmio devices (virtio.h has the transport's device side) ------- */

struct vmm_virtio;

/*
 * vmm_virtio_slot() - the register window (@base, @size) and GSI of the
 * @i-th virtio-mmio device (layout.h: 4 KiB windows from
 * VMM_VIRTIO_MMIO_BASE, one GSI each). Returns 0, or -ENOSPC past the last
 * one (VMM_VIRTIO_MAX_DEVS).
 */
int vmm_virtio_slot(unsigned i, uint64_t *base, uint64_t *size, unsigned *gsi);

/*
 * vmm_virtio_attach() - put device @vd on @vm: its register window at
 * @base (VMM_VIRTIO_MMIO_SIZE bytes on the MMIO bus), its interrupt on
 * @gsi through KVM_IRQFD, one KVM_IOEVENTFD per queue on QueueNotify, and
 * start its worker thread. Returns 0 or -errno with @e filled; nothing is
 * left registered on error. Before the vCPUs start.
 */
int vmm_virtio_attach(struct vmm_virtio *vd, struct vmm *vm, uint64_t base,
		      unsigned gsi, struct gm_error *e);

/*
 * vmm_virtio_destroy() - stop the worker (the device is reset first, so
 * nothing is in flight), unregister from the VM, free the transport; then
 * the device's own state is freed by the device's destroy function. Only
 * after the vCPUs have been joined. NULL is a no-op.
 */
void vmm_virtio_destroy(struct vmm_virtio *vd);

/*
 * virtio-rng.c: an entropy device (virtio ID 4, one queue) filled from
 * getrandom(2). vmm_rng_create() - a thread-less device over @mem, to
 * attach; 0 or -errno. vmm_rng_destroy() - vmm_virtio_destroy() and free.
 */
int vmm_rng_create(struct gm_mem *mem, struct vmm_virtio **out);
void vmm_rng_destroy(struct vmm_virtio *vd);

/*
 * virtio-balloon.c: the memory balloon (virtio ID 5) with free page
 * reporting and the statistics queue, over the guest RAM allocations
 * (vm.ramN) it is given: pages inflated or reported are released to the
 * host (gm_mem_discard()) and stay the guest's RAM. Free page reports are
 * also released in the virtio-mem regions it is given, inside blocks
 * plugged at the time. Pages or ranges outside that memory or misaligned
 * are refused and counted, never acted on.
 */
struct vmm_balloon;
struct vmm_vmem;

/* Counters and settings, bytes unless said (device lock snapshot). */
struct vmm_balloon_info {
	uint64_t ram;			/* guest RAM the device covers */
	uint64_t target;		/* asked of the guest (num_pages) */
	uint64_t actual;		/* in the balloon now, as the device accepted it */
	uint64_t guest_actual;		/* what the driver says it holds (config actual) */
	uint64_t inflated, deflated;	/* cumulative */
	uint64_t released;		/* cumulative bytes handed back to the host */
	uint64_t reported;		/* cumulative bytes reported free */
	uint64_t reported_ranges;	/* ranges reported (count) */
	/* refused, counts: a page or range outside guest RAM, one in an
	 * early range (the guest's kernel, initrd: its RAM, but the pool's
	 * reserved range), a misaligned range, an inflate of a ballooned /
	 * deflate of a not ballooned page, a malformed buffer (or one outside
	 * guest memory), a reported range in a virtio-mem region touching a
	 * block not plugged at the time; failed releases */
	uint64_t refused_outside, refused_early, refused_misaligned, refused_state;
	uint64_t refused_buffer, refused_unplugged;
	uint64_t discard_failed;
};

/* One node: bytes in the balloon, reported (cumulative), reported and still released. */
struct vmm_balloon_node {
	uint64_t ballooned, reported, released;
};

#define VMM_BALLOON_NR_STATS	16	/* [VIRTIO] 5.5.6.3.1 tags 0..15 */

/* The guest's last statistics: val[tag] valid when bit tag of @have is set. */
struct vmm_balloon_stats {
	uint32_t have;
	uint64_t val[VMM_BALLOON_NR_STATS];
	uint64_t updates;		/* buffers received */
	uint64_t age_ms;		/* since the last one */
};

/*
 * vmm_balloon_create() - a thread-less balloon over @mem covering the RAM
 * allocations @ram_ids[0..@nr) (VM-owned, backed), to attach with
 * vmm_virtio_attach(vmm_balloon_virtio(b), ...). 0, -EINVAL, -ENOMEM or a
 * lookup's errno. vmm_balloon_destroy() destroys the device (after the
 * vCPUs stopped) and frees; NULL is a no-op.
 */
int vmm_balloon_create(struct gm_mem *mem, const uint64_t *ram_ids, unsigned nr,
		       struct vmm_balloon **out);
struct vmm_virtio *vmm_balloon_virtio(struct vmm_balloon *b);
void vmm_balloon_destroy(struct vmm_balloon *b);
/*
 * vmm_balloon_add_hotplug() - let free page reports release memory in
 * @v's region too, in blocks plugged at the time (never inflate or
 * deflate there). @v must outlive @b. Before the driver starts (before
 * attach): -EBUSY after. -EINVAL (NULL, a region overlapping what @b
 * covers, blocks not whole host pages), -EEXIST (@v already), -ENOMEM;
 * no state change on error.
 */
int vmm_balloon_add_hotplug(struct vmm_balloon *b, struct vmm_vmem *v);

/*
 * vmm_balloon_set_target() - ask the guest to hold @bytes in its balloon
 * (config num_pages, a configuration interrupt). -EINVAL if not a multiple
 * of 4 KiB or above the guest's RAM. Any thread.
 */
int vmm_balloon_set_target(struct vmm_balloon *b, uint64_t bytes);
/* vmm_balloon_info() - the counters now. Any thread. */
void vmm_balloon_info(struct vmm_balloon *b, struct vmm_balloon_info *info);
/*
 * vmm_balloon_node() - node @node's figures (VMM_BALLOON_ALL_NODES: all
 * summed); "released" looks at the host pages (mincore) of the reported
 * ranges. 0 or -EINVAL. Any thread.
 */
#define VMM_BALLOON_ALL_NODES	(~0u)
int vmm_balloon_node(struct vmm_balloon *b, unsigned node,
		     struct vmm_balloon_node *out);
/*
 * vmm_balloon_stats() - the guest's statistics; when they are older than
 * @max_age_ms, ask the driver for fresh ones first and wait up to @wait_ms
 * for them (then return what there is). 0, or -ENODATA when the guest
 * never sent any (@out zeroed then). Any thread but the device's worker.
 */
int vmm_balloon_stats(struct vmm_balloon *b, unsigned max_age_ms,
		      unsigned wait_ms, struct vmm_balloon_stats *out);
/* vmm_balloon_stat_name() - "MemFree" for tag 4, ...; *@bytes: a size, not a count. NULL past the tags. */
const char *vmm_balloon_stat_name(unsigned tag, bool *bytes);

/*
 * virtio-blk.c: a disk (virtio ID 2) on an io/ disk image, served on its
 * worker through an io_uring queue (or the synchronous fallback).
 */
enum vmm_blk_cache {
	VMM_BLK_CACHE_DEFAULT,		/* O_DIRECT where it works, else writeback */
	VMM_BLK_CACHE_NONE,		/* O_DIRECT, or an error */
	VMM_BLK_CACHE_WRITEBACK,	/* the host page cache */
};

#define VMM_BLK_SERIAL_MAX	20	/* [VIRTIO] 5.2.6: GET_ID is 20 bytes */

struct vmm_blk_conf {
	char *path;			/* malloc'd */
	bool ro;
	enum vmm_blk_cache cache;
	char serial[VMM_BLK_SERIAL_MAX + 1];
};

/*
 * vmm_blk_parse() - "FILE[,ro][,cache=none|writeback][,serial=ID]" into
 * @c (release with vmm_blk_conf_release(), also after an error). ID is 1
 * to 20 printable characters without spaces or commas; each option at most
 * once. -EINVAL with @e filled for anything else. Looks at no file.
 */
int vmm_blk_parse(const char *spec, struct vmm_blk_conf *c, struct gm_error *e);
void vmm_blk_conf_release(struct vmm_blk_conf *c);

struct vmm_blk;

#define VMM_BLK_SYNC	0x1	/* no io_uring: the synchronous fallback */

/*
 * vmm_blk_open() - open and check @c's image (io/disk.c: exists, a file or
 * a block device, writable unless ro, a non-zero whole number of sectors,
 * not in use, O_DIRECT as the cache mode asks). @flags: VMM_BLK_SYNC.
 * Returns 0 or -errno with a one-line message naming the file in @e.
 * Nothing guest-visible exists yet.
 */
int vmm_blk_open(const struct vmm_blk_conf *c, unsigned flags,
		 struct vmm_blk **out, struct gm_error *e);
/* vmm_blk_is() - @b's image is the file (or device) @path. */
bool vmm_blk_is(const struct vmm_blk *b, const char *path);
/*
 * vmm_blk_create() - the virtio device over @mem for @b, to attach with
 * vmm_virtio_attach() (owned by @b: vmm_blk_detach() destroys it). 0,
 * -EBUSY (already created), -ENOMEM, or a queue's errno.
 */
int vmm_blk_create(struct vmm_blk *b, struct gm_mem *mem, struct vmm_virtio **out);
/* vmm_blk_detach() - destroy the device (after the vCPUs stopped); keep the image open. */
void vmm_blk_detach(struct vmm_blk *b);
/* vmm_blk_close() - detach, close the image, free. NULL is a no-op. */
void vmm_blk_close(struct vmm_blk *b);

struct vmm_blk_info {
	const char *path, *serial;	/* @b's, valid while it is open */
	uint64_t size;			/* bytes */
	bool ro, direct, sync;		/* read-only, O_DIRECT, no io_uring */
};
void vmm_blk_info(const struct vmm_blk *b, struct vmm_blk_info *info);

/* /sys/block/DEV/stat's groups and fields (Documentation/block/stat.rst). */
enum { VMM_BLK_STAT_READ, VMM_BLK_STAT_WRITE, VMM_BLK_STAT_DISCARD,
       VMM_BLK_STAT_FLUSH, VMM_BLK_STAT_GROUPS };
struct vmm_blk_stat {
	uint64_t ios[VMM_BLK_STAT_GROUPS];	/* completed requests */
	uint64_t sectors[VMM_BLK_STAT_GROUPS];	/* 512-byte sectors moved */
	uint64_t ticks_ms[VMM_BLK_STAT_GROUPS];	/* summed request times */
	uint64_t in_flight, io_ticks_ms, time_in_queue_ms;
};
/* vmm_blk_stat() - a snapshot; any thread (its own lock, not the worker's). */
void vmm_blk_stat(struct vmm_blk *b, struct vmm_blk_stat *st);

/*
 * virtio-mem.c: a node's hot-plug region (guestmem's from=hotplug) as a
 * virtio-mem device (virtio ID 24, VIRTIO_MEM_F_ACPI_PXM, node_id = the
 * node = its SRAT proximity domain). A plugged block is a VM-owned
 * allocation of exactly that block; an unplug frees it and the host pages.
 *
 * vmm_vmem_create() - the state for @node's region (which must exist),
 * asking the guest for @requested bytes (whole blocks, at most the region).
 * 0, -EINVAL, -ENOMEM. vmm_vmem_device() - its virtio device over the
 * same memory, to attach (owned by @v); -EBUSY if made already.
 * vmm_vmem_detach() - destroy the device (after the vCPUs stopped;
 * everything is unplugged). vmm_vmem_destroy() - detach, unplug, free.
 */
struct vmm_vmem;
int vmm_vmem_create(struct gm_mem *mem, unsigned node, uint64_t requested,
		    struct vmm_vmem **out);
int vmm_vmem_device(struct vmm_vmem *v, struct vmm_virtio **out);
void vmm_vmem_detach(struct vmm_vmem *v);
void vmm_vmem_destroy(struct vmm_vmem *v);

/*
 * vmm_vmem_set_requested() - ask the guest for @size bytes plugged (a
 * configuration change interrupt). -EINVAL if not whole blocks or larger
 * than the region; no change then. Any thread (takes the device lock).
 */
int vmm_vmem_set_requested(struct vmm_vmem *v, uint64_t size);

struct vmm_vmem_info {
	unsigned node;
	uint64_t addr, size, block;	/* the region and its block */
	uint64_t requested, plugged;	/* bytes */
	uint64_t refused;		/* requests answered ERROR or NACK */
};
/* vmm_vmem_info() - a snapshot; any thread. */
void vmm_vmem_info(struct vmm_vmem *v, struct vmm_vmem_info *info);

#endif /* KVMEM_VMM_H */
