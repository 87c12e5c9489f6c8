/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - the virtio-mmio transport and the split-virtqueue core, for
 * the device files of vmm/ (virtio-rng.c, virtio-blk.c, ...) and their
 * tests. Everything else reaches devices through vmm.h.
 *
 * [VIRTIO] = Virtual I/O Device (VIRTIO) Version 1.2: 2.7 split virtqueues,
 * 4.2 virtio over MMIO (version 2, modern devices only).
 *
 * A device is one file: a struct vmm_virtio_ops (id, features, queues,
 * config space size, handlers) and the handlers themselves. The transport
 * (virtio-mmio.c) owns the register file, feature negotiation, queue setup,
 * the interrupt and reset; the core (virtqueue.c) owns the rings and is the
 * ONLY code that turns a guest address into a host pointer
 * (vmm_vq_map()): every buffer a device sees has been checked against
 * guest memory.
 *
 * Threads. Each device has one worker thread. Every handler in ops runs on
 * it, with the device lock (vd->lock) held, one at a time: queue
 * notifications (KVM ioeventfd: a guest's QueueNotify write wakes the
 * worker without leaving the kernel on the vCPU side), file descriptors a
 * device watches (io_uring completions), wake-ups asked by other threads,
 * and reset. vCPU threads only run the register file (short, under the
 * lock; InterruptStatus and InterruptACK are lock-free atomics). Interrupts
 * go out through a KVM irqfd (an eventfd write, any thread). Without KVM
 * (tests, fuzzers), vmm_virtio_create() alone gives a device with no
 * thread whose handlers run inline from vmm_virtio_mmio() and
 * vmm_virtio_poll().
 *
 * The guest is untrusted. A structural error in a ring (an index out of
 * range, a descriptor loop, a chain longer than the queue, a bad indirect
 * table) breaks the queue: the device sets DEVICE_NEEDS_RESET, raises a
 * configuration interrupt and ignores the queue until reset. A request
 * whose buffers are outside guest memory, misordered or too many fails
 * alone (struct vmm_vq_chain.err), the device answers it with an error.
 */
#ifndef KVMEM_VMM_VIRTIO_H
#define KVMEM_VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guestmem.h"
#include "vmm.h"

/* [VIRTIO] 2.1 device status */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* [VIRTIO] 6 reserved feature bits kvmem offers or knows */
#define VIRTIO_F_INDIRECT_DESC		28
#define VIRTIO_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* [VIRTIO] 2.7.5 descriptor flags, 2.7.6/2.7.8 ring flags */
#define VIRTQ_DESC_F_NEXT		1
#define VIRTQ_DESC_F_WRITE		2
#define VIRTQ_DESC_F_INDIRECT		4
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1

/* [VIRTIO] 4.2.2 InterruptStatus bits */
#define VIRTIO_INT_USED			0x1
#define VIRTIO_INT_CONFIG		0x2

#define VMM_VQ_MAX_SIZE		1024	/* largest QueueNumMax a device may offer */
#define VMM_VIRTIO_MAX_QUEUES	8
#define VMM_VIRTIO_MAX_WATCH	4	/* extra fds per device worker */
#define VMM_VIRTIO_CONFIG_MAX	(0x1000 - 0x100)	/* config space in the window */

/* ---- virtqueue.c: split virtqueues ------------------------------------------ */

/*
 * One split virtqueue as the device sees it. Set up by vmm_vq_setup() once
 * the driver makes the queue ready; used by one thread at a time (the
 * device worker, under the device lock). Host pointers point into guest
 * RAM, which stays mapped for the life of the VM; every value read through
 * them is read once and checked, since the guest may change it any time.
 */
struct vmm_vq {
	struct gm_mem *mem;
	uint16_t size;			/* entries, a power of two */
	void *desc;			/* size x 16 bytes */
	void *avail;			/* flags, idx, ring[size], used_event */
	void *used;			/* flags, idx, ring[size] {id, len}, avail_event */
	bool ready;
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;			/* a structural error: needs a reset */
	uint16_t last_avail;		/* next avail entry to take */
	uint16_t used_idx;		/* next used entry to fill (ours) */
	uint16_t signalled;		/* used_idx at the last interrupt */
	uint64_t popped, pushed;	/* counters, for tests and stats */
};

/*
 * One request: the descriptor chain starting at @head as host iovecs, the
 * device-readable ("out") ones first, then the device-writable ("in")
 * ones, in the caller's array @iov of @max entries.
 * @err is 0, or why this one request cannot be served: -EFAULT (a buffer
 * outside guest memory), -EINVAL (a readable buffer after a writable one),
 * -E2BIG (more than @max segments). With an error the iovecs that could be
 * mapped are still there (so a device can write a status byte into a good
 * last buffer); those that could not have iov_base NULL.
 */
struct vmm_vq_chain {
	uint16_t head;
	int err;
	unsigned nr_out, nr_in;
	uint64_t out_len, in_len;	/* bytes in each direction */
	struct iovec *iov;		/* caller's, @max entries */
	unsigned max;
};

/*
 * vmm_vq_map() - THE guest address check: the host pointers for guest-
 * physical [@gpa, @gpa + @len) as up to @max iovecs (more than one when
 * the span crosses from one backed range of guest memory into the next).
 * Returns the number of iovecs (0 for @len 0), -EFAULT if any byte is
 * outside backed guest memory or the span wraps, -E2BIG if @max is too
 * small. No state change.
 */
int vmm_vq_map(struct gm_mem *mem, uint64_t gpa, uint64_t len,
	       struct iovec *iov, unsigned max);

/*
 * vmm_vq_setup() - make @vq live: @size entries (a power of two, 1 to
 * VMM_VQ_MAX_SIZE) with the descriptor table, driver (avail) and device
 * (used) areas at the given guest addresses, aligned as [VIRTIO] 2.7
 * demands (16, 2, 4) and wholly in guest memory. @features are the
 * negotiated ones (EVENT_IDX, INDIRECT_DESC matter). Returns 0 or -EINVAL
 * (then @vq is left not ready).
 */
int vmm_vq_setup(struct vmm_vq *vq, struct gm_mem *mem, uint16_t size,
		 uint64_t desc, uint64_t avail, uint64_t used,
		 uint64_t features);

/* vmm_vq_reset() - forget the queue (not ready, indices zero). */
void vmm_vq_reset(struct vmm_vq *vq);

/*
 * vmm_vq_pop() - take the next available chain into @c (@c->iov and
 * @c->max set by the caller). Returns 1 with @c filled (check @c->err), 0
 * when the ring has nothing new, -EIO when the ring is broken (now or
 * before: vq->broken is set and nothing more will be popped).
 */
int vmm_vq_pop(struct vmm_vq *vq, struct vmm_vq_chain *c);

/*
 * vmm_vq_push() - return chain @head to the driver with @written bytes
 * written into its device-writable buffers. Does not interrupt: see
 * vmm_vq_need_irq(). No-op on a broken or not ready queue.
 */
void vmm_vq_push(struct vmm_vq *vq, uint16_t head, uint32_t written);

/*
 * vmm_vq_need_irq() - whether the driver wants an interrupt for what was
 * pushed since the last time this returned true (used_event with
 * EVENT_IDX, else the NO_INTERRUPT flag). Full barrier inside.
 */
bool vmm_vq_need_irq(struct vmm_vq *vq);

/*
 * vmm_vq_notify_off() / vmm_vq_notify_on() - tell the driver not to
 * notify while the device drains the ring, and to notify again. _on
 * returns true when more chains arrived meanwhile (drain again).
 */
void vmm_vq_notify_off(struct vmm_vq *vq);
bool vmm_vq_notify_on(struct vmm_vq *vq);

/*
 * vmm_iov_copy_from() / vmm_iov_copy_to() - copy up to @len bytes between
 * @buf and the bytes of @iov[0..@nr) starting @off bytes in. Return the
 * bytes copied (less at the end of the iovecs; 0 past it or on a NULL
 * iov_base).
 */
size_t vmm_iov_copy_from(const struct iovec *iov, unsigned nr, size_t off,
			 void *buf, size_t len);
size_t vmm_iov_copy_to(const struct iovec *iov, unsigned nr, size_t off,
		       const void *buf, size_t len);

/*
 * vmm_iov_slice() - the iovecs of bytes [@off, @off + @len) of @iov[0..@nr)
 * into @out (at most @max). Returns how many, or -E2BIG / -EINVAL (the
 * range is past the end).
 */
int vmm_iov_slice(const struct iovec *iov, unsigned nr, size_t off,
		  size_t len, struct iovec *out, unsigned max);

/* ---- virtio-mmio.c: the transport -------------------------------------------- */

struct vmm_virtio;

/*
 * A device type. Every handler is optional unless marked, runs on the
 * device's worker thread with vd->lock held (inline in thread-less mode;
 * config_write on the vCPU), and may call the vmm_virtio_* functions
 * marked "handler".
 */
struct vmm_virtio_ops {
	const char *name;		/* "blk", "rng": thread name and messages */
	uint32_t device_id;		/* [VIRTIO] 5: 2 block, 4 entropy, ... */
	uint64_t features;		/* device-specific bits offered */
	unsigned nr_queues;		/* 1 to VMM_VIRTIO_MAX_QUEUES */
	uint16_t queue_size;		/* QueueNumMax of every queue, power of 2 */
	size_t config_size;		/* bytes of config space, <= VMM_VIRTIO_CONFIG_MAX */

	/* Required: queue @q may have new chains (a notification, or
	 * DRIVER_OK). Drain it with vmm_vq_pop(); report with
	 * vmm_virtio_used() after pushing. */
	void (*notify)(struct vmm_virtio *vd, unsigned q);
	/* The driver set DRIVER_OK: @features are final. Return 0, or a
	 * negative errno to refuse (the device then needs a reset). */
	int (*start)(struct vmm_virtio *vd, uint64_t features);
	/* Reset (driver wrote status 0, or the device is being destroyed):
	 * finish or cancel every request in flight before returning, so no
	 * guest memory is written afterwards; the queues are reset after. */
	void (*reset)(struct vmm_virtio *vd);
	/* The driver wrote @len bytes at @off of the config space (already
	 * range-checked; the bytes are in @data). Runs on the vCPU thread
	 * (vd->lock held): store and return, never block. NULL: the space
	 * is read-only and writes are dropped. */
	void (*config_write)(struct vmm_virtio *vd, unsigned off,
			     const uint8_t *data, unsigned len);
	/* vmm_virtio_wake() was called from another thread. */
	void (*wake)(struct vmm_virtio *vd);
};

/*
 * vmm_virtio_create() - a device of type @ops over guest memory @mem, with
 * @priv for the handlers (vmm_virtio_priv()) and @config_size bytes of
 * config space, all zero (set with vmm_virtio_config_set()). No thread, no
 * KVM: handlers run inline (tests) until vmm_virtio_attach().
 * Returns 0 or -EINVAL (bad ops), -ENOMEM.
 */
int vmm_virtio_create(struct gm_mem *mem, const struct vmm_virtio_ops *ops,
		      void *priv, struct vmm_virtio **out);

/* vmm_virtio_attach() and vmm_virtio_destroy() are in vmm.h. */

/* vmm_virtio_mmio() - the register window's bus handler (opaque = vd). */
void vmm_virtio_mmio(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		     bool write);

/*
 * vmm_virtio_poll() - thread-less devices only (tests): run the handlers
 * of the watched fds that are readable now, then of every queue as if
 * notified. Returns 0, or -EBUSY with a worker.
 */
int vmm_virtio_poll(struct vmm_virtio *vd);

void *vmm_virtio_priv(struct vmm_virtio *vd);
struct gm_mem *vmm_virtio_mem(struct vmm_virtio *vd);
const char *vmm_virtio_name(struct vmm_virtio *vd);

/*
 * vmm_virtio_queue() - queue @q, live or not (check ->ready). Handler,
 * or the device's own code under vd's lock.
 */
struct vmm_vq *vmm_virtio_queue(struct vmm_virtio *vd, unsigned q);

/*
 * vmm_virtio_used() - handler: chains were pushed on queue @q; interrupt
 * the driver if it asked for it. A broken queue raises DEVICE_NEEDS_RESET
 * instead.
 */
void vmm_virtio_used(struct vmm_virtio *vd, unsigned q);

/*
 * vmm_virtio_config_set() - change @len bytes at @off of the config space
 * (little-endian values, as the guest reads them), bump the config
 * generation and, if @notify, raise a configuration-change interrupt.
 * Any thread (takes vd->lock) - or a handler (vd->lock already held): use
 * vmm_virtio_config_set_locked() there. -EINVAL if out of range.
 */
int vmm_virtio_config_set(struct vmm_virtio *vd, unsigned off,
			  const void *data, unsigned len, bool notify);
int vmm_virtio_config_set_locked(struct vmm_virtio *vd, unsigned off,
				 const void *data, unsigned len, bool notify);
/* vmm_virtio_config_get_locked() - read back config bytes (handlers). */
int vmm_virtio_config_get_locked(struct vmm_virtio *vd, unsigned off,
				 void *data, unsigned len);

/*
 * vmm_virtio_watch() - handler or before attach: also wait for @fd to be
 * readable on the worker and call @fn(vd, @fd) then (with vd->lock held).
 * Up to VMM_VIRTIO_MAX_WATCH fds. 0, -ENOSPC.
 */
int vmm_virtio_watch(struct vmm_virtio *vd, int fd,
		     void (*fn)(struct vmm_virtio *vd, int fd));

/*
 * vmm_virtio_wake() - any thread: run ops->wake on the worker soon
 * (inline, under the lock, for thread-less devices). Wake-ups coalesce.
 */
void vmm_virtio_wake(struct vmm_virtio *vd);

/*
 * vmm_virtio_lock() / _unlock() - the device lock, for device code called
 * from other threads (the filesystem) that reads state the handlers write.
 */
void vmm_virtio_lock(struct vmm_virtio *vd);
void vmm_virtio_unlock(struct vmm_virtio *vd);

/* Counters for tests and files: interrupts raised, resets, status. */
struct vmm_virtio_stat {
	uint32_t status;
	uint64_t features;		/* negotiated (DRIVER_OK) */
	uint64_t irqs, config_irqs, resets, notifies;
};
void vmm_virtio_stat(struct vmm_virtio *vd, struct vmm_virtio_stat *st);

/* ---- virtio-mem.c: the request handler, for tests and the fuzzer -------- */

/* [VIRTIO] 5.15.6 request and response */
#define VMM_VMEM_REQ_SIZE		24	/* type, pad[3], addr, nb_blocks, pad[3] */
#define VMM_VMEM_RESP_SIZE		10	/* type, pad[3], state */
#define VMM_VMEM_REQ_PLUG		0
#define VMM_VMEM_REQ_UNPLUG		1
#define VMM_VMEM_REQ_UNPLUG_ALL		2
#define VMM_VMEM_REQ_STATE		3
#define VMM_VMEM_RESP_ACK		0
#define VMM_VMEM_RESP_NACK		1
#define VMM_VMEM_RESP_BUSY		2
#define VMM_VMEM_RESP_ERROR		3
#define VMM_VMEM_STATE_PLUGGED		0
#define VMM_VMEM_STATE_UNPLUGGED	1
#define VMM_VMEM_STATE_MIXED		2

struct vmm_vmem_resp {
	uint16_t type, state;
};

/*
 * vmm_vmem_request() - serve one request of @len bytes at @req (as the
 * guest wrote it, little-endian; fewer than VMM_VMEM_REQ_SIZE bytes is an
 * ERROR) into @resp. The device's lock held, or no device (tests).
 */
void vmm_vmem_request(struct vmm_vmem *v, const void *req, size_t len,
		      struct vmm_vmem_resp *resp);

/*
 * vmm_vmem_block_id() - the allocation holding block @i, 0 if unplugged
 * (or past the region). Takes the device's lock: any thread not holding
 * it (the balloon calls it under its own device lock, never the reverse).
 */
uint64_t vmm_vmem_block_id(struct vmm_vmem *v, uint64_t i);

#endif /* KVMEM_VMM_VIRTIO_H */
