// SPDX-License-Identifier: MIT
/*
 * virtio-mmio.c - the virtio-mmio transport, version 2 ([VIRTIO] 4.2):
 * one 4 KiB register window per device, feature negotiation (modern
 * devices only: VIRTIO_F_VERSION_1 is offered and required), split queues
 * handed to virtqueue.c, the device's interrupt, reset, and the worker
 * thread every device handler runs on.
 *
 * Register file (32-bit registers, offsets from the window's base):
 *
 *   0x000 MagicValue "virt"   0x004 Version 2   0x008 DeviceID   0x00c VendorID
 *   0x010 DeviceFeatures      0x014 DeviceFeaturesSel (32-bit banks)
 *   0x020 DriverFeatures      0x024 DriverFeaturesSel
 *   0x030 QueueSel  0x034 QueueNumMax  0x038 QueueNum  0x044 QueueReady
 *   0x050 QueueNotify (KVM ioeventfd: does not reach here when it matches)
 *   0x060 InterruptStatus     0x064 InterruptACK
 *   0x070 Status
 *   0x080/0x084 QueueDesc  0x090/0x094 QueueDriver  0x0a0/0x0a4 QueueDevice
 *   0x0ac-0x0bc shared memory regions: none (length reads as all ones)
 *   0x0fc ConfigGeneration    0x100... device configuration space
 *
 * Locking: vd->lock protects the registers, the config space and the
 * queues; the worker holds it while any handler runs, a vCPU while it
 * handles one register access. InterruptStatus is an atomic so the
 * guest's interrupt handler never waits for a handler to finish. A reset
 * (Status = 0, on a vCPU) is a handshake: the vCPU asks the worker, which
 * runs ops->reset (finishing in-flight requests) and clears the device,
 * and the vCPU returns only then: [VIRTIO] 4.2.2.1 has the reset complete
 * when the write returns (Linux's virtio_mmio does not poll for it).
 *
 * The worker: one thread per device, named "vio-NAME", all signals
 * blocked. It sleeps in poll(2) on an eventfd for control requests (reset,
 * start, wake, stop), one eventfd per queue (KVM_IOEVENTFD on
 * QueueNotify with the queue index as data match) and the fds a device
 * watches; it calls read(2)/write(2) on eventfds and whatever the
 * device's handlers call. The interrupt is an eventfd bound to the
 * device's GSI with KVM_IRQFD; writing it injects an edge.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"
#include "sandbox.h"
#include "virtio.h"

#define VIRTIO_MMIO_MAGIC	0x74726976u	/* "virt" */
#define VIRTIO_MMIO_VERSION	2
#define VIRTIO_MMIO_VENDOR	0x4d4d564bu	/* "KVMM" */

#define REG_MAGIC		0x000
#define REG_VERSION		0x004
#define REG_DEVICE_ID		0x008
#define REG_VENDOR_ID		0x00c
#define REG_DEV_FEATURES	0x010
#define REG_DEV_FEATURES_SEL	0x014
#define REG_DRV_FEATURES	0x020
#define REG_DRV_FEATURES_SEL	0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM_MAX	0x034
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_INT_STATUS		0x060
#define REG_INT_ACK		0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LO	0x080
#define REG_QUEUE_DESC_HI	0x084
#define REG_QUEUE_DRIVER_LO	0x090
#define REG_QUEUE_DRIVER_HI	0x094
#define REG_QUEUE_DEVICE_LO	0x0a0
#define REG_QUEUE_DEVICE_HI	0x0a4
#define REG_SHM_SEL		0x0ac
#define REG_SHM_LEN_LO		0x0b0
#define REG_SHM_LEN_HI		0x0b4
#define REG_SHM_BASE_LO		0x0b8
#define REG_SHM_BASE_HI		0x0bc
#define REG_CONFIG_GEN		0x0fc
#define REG_CONFIG		0x100

/* Transport features every device offers. */
#define TRANSPORT_FEATURES	((1ULL << VIRTIO_F_VERSION_1) |		\
				 (1ULL << VIRTIO_F_INDIRECT_DESC) |	\
				 (1ULL << VIRTIO_F_EVENT_IDX))

/* Requests to the worker (vd->pending, under vd->lock). */
#define PEND_RESET	0x1
#define PEND_START	0x2
#define PEND_WAKE	0x4
#define PEND_STOP	0x8

struct vmm_virtio_queue {
	struct vmm_vq vq;
	uint16_t num;			/* QueueNum as written */
	uint64_t desc, avail, used;	/* addresses as written */
	int kick_fd;			/* eventfd: the queue was notified */
	bool ioeventfd;			/* kick_fd registered with KVM */
};

struct vmm_virtio_watch {
	int fd;
	void (*fn)(struct vmm_virtio *vd, int fd);
};

/* See the locking rules at the top of the file. */
struct vmm_virtio {
	const struct vmm_virtio_ops *ops;
	void *priv;
	struct gm_mem *mem;

	struct vmm *vm;			/* NULL until attached */
	uint64_t base;
	unsigned gsi;
	int irq_fd;			/* KVM_IRQFD eventfd, -1: KVM_IRQ_LINE */
	int ctl_fd;			/* eventfd: vd->pending has work */
	pthread_t worker;
	bool threaded;			/* the worker runs */

	pthread_mutex_t lock;
	pthread_cond_t cond;		/* reset handshake */
	unsigned pending;
	uint32_t status;
	uint32_t dev_sel, drv_sel, queue_sel;
	uint64_t offered, driver_features;
	uint32_t config_gen;
	uint8_t *config;
	struct vmm_virtio_queue q[VMM_VIRTIO_MAX_QUEUES];
	struct vmm_virtio_watch watch[VMM_VIRTIO_MAX_WATCH];
	unsigned nr_watch;
	uint32_t isr;			/* atomic */
	struct vmm_virtio_stat st;
};

/* ---- interrupts ----------------------------------------------------------- */

static void inject(struct vmm_virtio *vd)
{
	uint64_t one = 1;

	if (vd->irq_fd >= 0) {
		(void)!write(vd->irq_fd, &one, sizeof(one));
	} else if (vd->vm) {
		vmm_irq_line(vd->vm, vd->gsi, 1);
		vmm_irq_line(vd->vm, vd->gsi, 0);
	}
}

/* Set @bit in InterruptStatus and send an edge. vd->lock held. */
static void raise_irq(struct vmm_virtio *vd, uint32_t bit)
{
	__atomic_fetch_or(&vd->isr, bit, __ATOMIC_SEQ_CST);
	if (bit & VIRTIO_INT_CONFIG)
		vd->st.config_irqs++;
	else
		vd->st.irqs++;
	inject(vd);
}

/* [VIRTIO] 2.1.2: a device that fails sets DEVICE_NEEDS_RESET and tells a
 * running driver with a configuration change. vd->lock held. */
static void needs_reset(struct vmm_virtio *vd)
{
	if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vd->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(vd, VIRTIO_INT_CONFIG);
}

void vmm_virtio_used(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_vq *vq = &vd->q[q].vq;

	if (vq->broken)
		needs_reset(vd);
	else if (vmm_vq_need_irq(vq))
		raise_irq(vd, VIRTIO_INT_USED);
}

/* ---- the work, on the worker (or inline without one); vd->lock held ------- */

static bool running(const struct vmm_virtio *vd)
{
	return (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vd->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void do_notify(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_vq *vq = &vd->q[q].vq;

	if (!running(vd) || !vq->ready || vq->broken)
		return;
	vd->st.notifies++;
	vd->ops->notify(vd, q);
	if (vq->broken)
		needs_reset(vd);
}

static void do_start(struct vmm_virtio *vd)
{
	if (!running(vd))
		return;
	if (vd->ops->start && vd->ops->start(vd, vd->driver_features) < 0) {
		needs_reset(vd);
		return;
	}
	/* Chains made available before DRIVER_OK were never notified. */
	for (unsigned q = 0; q < vd->ops->nr_queues; q++)
		do_notify(vd, q);
}

static void do_reset(struct vmm_virtio *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd);
	for (unsigned q = 0; q < VMM_VIRTIO_MAX_QUEUES; q++) {
		struct vmm_virtio_queue *vq = &vd->q[q];

		vmm_vq_reset(&vq->vq);
		vq->num = 0;
		vq->desc = vq->avail = vq->used = 0;
	}
	vd->status = 0;
	vd->dev_sel = vd->drv_sel = vd->queue_sel = 0;
	vd->driver_features = 0;
	__atomic_store_n(&vd->isr, 0, __ATOMIC_SEQ_CST);
	vd->st.resets++;
}

/* Ask the worker for @what; inline without one. vd->lock held. */
static void request(struct vmm_virtio *vd, unsigned what)
{
	uint64_t one = 1;

	if (!vd->threaded) {
		if (what & PEND_RESET)
			do_reset(vd);
		if (what & PEND_START)
			do_start(vd);
		if ((what & PEND_WAKE) && vd->ops->wake)
			vd->ops->wake(vd);
		return;
	}
	vd->pending |= what;
	(void)!write(vd->ctl_fd, &one, sizeof(one));
}

/* ---- registers ------------------------------------------------------------- */

static bool features_ok(const struct vmm_virtio *vd)
{
	return !(vd->driver_features & ~vd->offered) &&
	       (vd->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void write_status(struct vmm_virtio *vd, uint32_t v)
{
	uint32_t old = vd->status;

	if (v == 0) {
		request(vd, PEND_RESET);
		while (vd->threaded && (vd->pending & PEND_RESET))
			pthread_cond_wait(&vd->cond, &vd->lock);
		return;
	}
	/* Only a reset clears status bits; NEEDS_RESET is the device's. */
	v = (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET) | old;
	/* [VIRTIO] 3.1.1: FEATURES_OK sticks only for features we accept. */
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_ok(vd))
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= ~VIRTIO_STATUS_DRIVER_OK;
	vd->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		vd->st.features = vd->driver_features;
		request(vd, PEND_START);
	}
}

static struct vmm_virtio_queue *sel_queue(struct vmm_virtio *vd)
{
	return vd->queue_sel < vd->ops->nr_queues ? &vd->q[vd->queue_sel] : NULL;
}

static void write_queue_ready(struct vmm_virtio *vd, uint32_t v)
{
	struct vmm_virtio_queue *q = sel_queue(vd);

	if (!q)
		return;
	if (!v) {
		vmm_vq_reset(&q->vq);
		return;
	}
	if (q->vq.ready)
		return;
	if (q->num > vd->ops->queue_size ||
	    vmm_vq_setup(&q->vq, vd->mem, q->num, q->desc, q->avail, q->used,
			 vd->driver_features) < 0)
		needs_reset(vd);
}

/* Set the low or high half of @*p. */
static void set_half(uint64_t *p, uint32_t v, bool high)
{
	if (high)
		*p = (*p & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*p = (*p & ~0xffffffffULL) | v;
}

static void notify_queue(struct vmm_virtio *vd, uint32_t q)
{
	uint64_t one = 1;

	if (q >= vd->ops->nr_queues)
		return;
	if (vd->threaded)
		(void)!write(vd->q[q].kick_fd, &one, sizeof(one));
	else
		do_notify(vd, q);
}

static void reg_write(struct vmm_virtio *vd, uint64_t off, uint32_t v)
{
	struct vmm_virtio_queue *q = sel_queue(vd);
	bool queue_live = q && q->vq.ready;

	switch (off) {
	case REG_DEV_FEATURES_SEL:
		vd->dev_sel = v;
		break;
	case REG_DRV_FEATURES_SEL:
		vd->drv_sel = v;
		break;
	case REG_DRV_FEATURES:
		if (vd->status & VIRTIO_STATUS_FEATURES_OK || vd->drv_sel > 1)
			break;
		set_half(&vd->driver_features, v, vd->drv_sel);
		break;
	case REG_QUEUE_SEL:
		vd->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		if (q && !queue_live)
			q->num = (uint16_t)(v > 0xffff ? 0 : v);
		break;
	case REG_QUEUE_READY:
		write_queue_ready(vd, v);
		break;
	case REG_QUEUE_NOTIFY:
		notify_queue(vd, v);
		break;
	case REG_INT_ACK:
		__atomic_fetch_and(&vd->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case REG_STATUS:
		write_status(vd, v);
		break;
	case REG_QUEUE_DESC_LO:
	case REG_QUEUE_DESC_HI:
		if (q && !queue_live)
			set_half(&q->desc, v, off == REG_QUEUE_DESC_HI);
		break;
	case REG_QUEUE_DRIVER_LO:
	case REG_QUEUE_DRIVER_HI:
		if (q && !queue_live)
			set_half(&q->avail, v, off == REG_QUEUE_DRIVER_HI);
		break;
	case REG_QUEUE_DEVICE_LO:
	case REG_QUEUE_DEVICE_HI:
		if (q && !queue_live)
			set_half(&q->used, v, off == REG_QUEUE_DEVICE_HI);
		break;
	default:
		break;		/* read-only or unknown: ignored */
	}
}

static uint32_t reg_read(struct vmm_virtio *vd, uint64_t off)
{
	struct vmm_virtio_queue *q = sel_queue(vd);

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID:
		return vd->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEV_FEATURES:
		return vd->dev_sel > 1 ? 0 : (uint32_t)(vd->offered >> (32 * vd->dev_sel));
	case REG_QUEUE_NUM_MAX:
		return q ? vd->ops->queue_size : 0;
	case REG_QUEUE_READY:
		return q && q->vq.ready;
	case REG_INT_STATUS:
		return __atomic_load_n(&vd->isr, __ATOMIC_SEQ_CST);
	case REG_STATUS:
		return vd->status;
	case REG_SHM_LEN_LO:
	case REG_SHM_LEN_HI:
	case REG_SHM_BASE_LO:
	case REG_SHM_BASE_HI:
		return 0xffffffffu;		/* [VIRTIO] 4.2.2: no such region */
	case REG_CONFIG_GEN:
		return vd->config_gen;
	default:
		return 0;
	}
}

static void config_access(struct vmm_virtio *vd, uint64_t off, uint8_t *data,
			  unsigned len, bool write)
{
	size_t size = vd->ops->config_size;

	if (write) {
		if (off < size && len <= size - off && vd->ops->config_write)
			vd->ops->config_write(vd, (unsigned)off, data, len);
		return;
	}
	for (unsigned i = 0; i < len; i++)
		data[i] = off + i < size ? vd->config[off + i] : 0;
}

void vmm_virtio_mmio(void *opaque, uint64_t off, uint8_t *data, unsigned len,
		     bool write)
{
	struct vmm_virtio *vd = opaque;
	uint32_t v = 0;

	/* InterruptStatus and InterruptACK: no lock (the interrupt path). */
	if (len == 4 && (off == REG_INT_STATUS || off == REG_INT_ACK)) {
		if (!write) {
			v = __atomic_load_n(&vd->isr, __ATOMIC_SEQ_CST);
			memcpy(data, &v, 4);
		} else {
			memcpy(&v, data, 4);
			__atomic_fetch_and(&vd->isr, ~v, __ATOMIC_SEQ_CST);
		}
		return;
	}
	pthread_mutex_lock(&vd->lock);
	if (off >= REG_CONFIG) {
		config_access(vd, off - REG_CONFIG, data, len, write);
	} else if (len != 4 || (off & 3)) {
		/* [VIRTIO] 4.2.2.2: registers are 32-bit, aligned */
		if (!write)
			memset(data, 0, len);
	} else if (write) {
		memcpy(&v, data, 4);
		reg_write(vd, off, v);
	} else {
		v = reg_read(vd, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&vd->lock);
}

/* ---- the worker ------------------------------------------------------------- */

static void handle_control(struct vmm_virtio *vd, bool *stop)
{
	uint64_t n;
	unsigned what;

	(void)!read(vd->ctl_fd, &n, sizeof(n));
	what = vd->pending;
	vd->pending = 0;
	if (what & (PEND_RESET | PEND_STOP)) {
		do_reset(vd);
		pthread_cond_broadcast(&vd->cond);
	}
	if (what & PEND_STOP) {
		*stop = true;
		return;
	}
	if (what & PEND_START)
		do_start(vd);
	if ((what & PEND_WAKE) && vd->ops->wake)
		vd->ops->wake(vd);
}

static void *worker(void *arg)
{
	struct vmm_virtio *vd = arg;
	struct pollfd p[1 + VMM_VIRTIO_MAX_QUEUES + VMM_VIRTIO_MAX_WATCH];
	unsigned nq = vd->ops->nr_queues;
	bool stop = false;
	sigset_t all;
	char name[40];

	/* SIGSYS stays open: a seccomp trap that meets it blocked kills the
	 * process with no line (the kernel forces the default action) */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	snprintf(name, sizeof(name), "device vio-%s", vd->ops->name);
	sbx_enter(SBX_DEVICE, name);
	while (!stop) {
		unsigned n = 0, nw;
		uint64_t cnt;

		pthread_mutex_lock(&vd->lock);
		nw = vd->nr_watch;
		p[n++] = (struct pollfd){ .fd = vd->ctl_fd, .events = POLLIN };
		for (unsigned q = 0; q < nq; q++)
			p[n++] = (struct pollfd){ .fd = vd->q[q].kick_fd, .events = POLLIN };
		for (unsigned w = 0; w < nw; w++)
			p[n++] = (struct pollfd){ .fd = vd->watch[w].fd, .events = POLLIN };
		pthread_mutex_unlock(&vd->lock);

		if (poll(p, n, -1) < 0)
			continue;		/* EINTR; nothing else is possible */

		pthread_mutex_lock(&vd->lock);
		if (p[0].revents)
			handle_control(vd, &stop);
		for (unsigned q = 0; q < nq && !stop; q++) {
			if (!p[1 + q].revents)
				continue;
			(void)!read(vd->q[q].kick_fd, &cnt, sizeof(cnt));
			do_notify(vd, q);
		}
		for (unsigned w = 0; w < nw && !stop; w++)
			if (p[1 + nq + w].revents)
				vd->watch[w].fn(vd, vd->watch[w].fd);
		pthread_mutex_unlock(&vd->lock);
	}
	return NULL;
}

/* ---- life cycle --------------------------------------------------------------- */

int vmm_virtio_create(struct gm_mem *mem, const struct vmm_virtio_ops *ops,
		      void *priv, struct vmm_virtio **out)
{
	struct vmm_virtio *vd;

	if (!mem || !ops || !out || !ops->notify || !ops->name ||
	    !ops->nr_queues || ops->nr_queues > VMM_VIRTIO_MAX_QUEUES ||
	    !ops->queue_size || ops->queue_size > VMM_VQ_MAX_SIZE ||
	    (ops->queue_size & (ops->queue_size - 1)) ||
	    ops->config_size > VMM_VIRTIO_CONFIG_MAX)
		return -EINVAL;
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	vd->config = calloc(1, ops->config_size ? ops->config_size : 1);
	if (!vd->config) {
		free(vd);
		return -ENOMEM;
	}
	vd->ops = ops;
	vd->priv = priv;
	vd->mem = mem;
	vd->offered = ops->features | TRANSPORT_FEATURES;
	vd->irq_fd = vd->ctl_fd = -1;
	for (unsigned q = 0; q < VMM_VIRTIO_MAX_QUEUES; q++)
		vd->q[q].kick_fd = -1;
	pthread_mutex_init(&vd->lock, NULL);
	pthread_cond_init(&vd->cond, NULL);
	*out = vd;
	return 0;
}

static int kvm_ioeventfd(struct vmm_virtio *vd, unsigned q, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = vd->base + REG_QUEUE_NOTIFY,
		.len = 4,
		.fd = vd->q[q].kick_fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vmm_vm_fd(vd->vm), KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static int kvm_irqfd(struct vmm_virtio *vd, bool assign)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)vd->irq_fd,
		.gsi = vd->gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(vmm_vm_fd(vd->vm), KVM_IRQFD, &irq) < 0 ? -errno : 0;
}

/* Undo attach: the worker is stopped (or never ran). */
static void detach(struct vmm_virtio *vd)
{
	if (!vd->vm)
		return;
	vmm_bus_unregister(vmm_mmio_bus(vd->vm), vd->base);
	for (unsigned q = 0; q < vd->ops->nr_queues; q++) {
		if (vd->q[q].ioeventfd)
			kvm_ioeventfd(vd, q, false);
		vd->q[q].ioeventfd = false;
		if (vd->q[q].kick_fd >= 0)
			close(vd->q[q].kick_fd);
		vd->q[q].kick_fd = -1;
	}
	if (vd->irq_fd >= 0) {
		kvm_irqfd(vd, false);
		close(vd->irq_fd);
	}
	if (vd->ctl_fd >= 0)
		close(vd->ctl_fd);
	vd->irq_fd = vd->ctl_fd = -1;
	vd->vm = NULL;
}

int vmm_virtio_attach(struct vmm_virtio *vd, struct vmm *vm, uint64_t base,
		      unsigned gsi, struct gm_error *e)
{
	char name[16];
	int ret;

	if (!vd || !vm || vd->vm || (base & (VMM_VIRTIO_MMIO_SIZE - 1)))
		return gm_error_set(e, EINVAL, "virtio-%s: bad attach", vd ? vd->ops->name : "?");
	vd->vm = vm;
	vd->base = base;
	vd->gsi = gsi;
	vd->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vd->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vd->ctl_fd < 0 || vd->irq_fd < 0) {
		ret = gm_error_set(e, errno, "virtio-%s: eventfd: %s", vd->ops->name,
				   strerror(errno));
		goto err;
	}
	/* Without irqfd (no KVM_CAP_IRQFD) the worker uses KVM_IRQ_LINE. */
	if (kvm_irqfd(vd, true) < 0) {
		close(vd->irq_fd);
		vd->irq_fd = -1;
	}
	for (unsigned q = 0; q < vd->ops->nr_queues; q++) {
		vd->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vd->q[q].kick_fd < 0) {
			ret = gm_error_set(e, errno, "virtio-%s: eventfd: %s",
					   vd->ops->name, strerror(errno));
			goto err;
		}
		/* Without ioeventfd the MMIO exit writes the same eventfd. */
		vd->q[q].ioeventfd = kvm_ioeventfd(vd, q, true) == 0;
	}
	ret = vmm_bus_register(vmm_mmio_bus(vm), base, VMM_VIRTIO_MMIO_SIZE,
			       vmm_virtio_mmio, vd);
	if (ret) {
		gm_error_set(e, ret, "virtio-%s: window 0x%llx: %s", vd->ops->name,
			     (unsigned long long)base, strerror(-ret));
		goto err;
	}
	vd->threaded = true;
	ret = -pthread_create(&vd->worker, NULL, worker, vd);
	if (ret) {
		vd->threaded = false;
		gm_error_set(e, ret, "virtio-%s: thread: %s", vd->ops->name,
			     strerror(-ret));
		goto err;
	}
	snprintf(name, sizeof(name), "vio-%s", vd->ops->name);
	pthread_setname_np(vd->worker, name);
	return 0;
err:
	detach(vd);
	return ret;
}

void vmm_virtio_destroy(struct vmm_virtio *vd)
{
	if (!vd)
		return;
	pthread_mutex_lock(&vd->lock);
	if (vd->threaded)
		request(vd, PEND_STOP);
	else
		do_reset(vd);
	pthread_mutex_unlock(&vd->lock);
	if (vd->threaded)
		pthread_join(vd->worker, NULL);
	vd->threaded = false;
	detach(vd);
	pthread_cond_destroy(&vd->cond);
	pthread_mutex_destroy(&vd->lock);
	free(vd->config);
	free(vd);
}

int vmm_virtio_poll(struct vmm_virtio *vd)
{
	if (vd->threaded)
		return -EBUSY;
	pthread_mutex_lock(&vd->lock);
	for (unsigned w = 0; w < vd->nr_watch; w++) {
		struct pollfd p = { .fd = vd->watch[w].fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0)
			vd->watch[w].fn(vd, vd->watch[w].fd);
	}
	for (unsigned q = 0; q < vd->ops->nr_queues; q++)
		do_notify(vd, q);
	pthread_mutex_unlock(&vd->lock);
	return 0;
}

int vmm_virtio_slot(unsigned i, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	static const unsigned gsis[] = { VMM_VIRTIO_GSIS };

	_Static_assert(sizeof(gsis) / sizeof(gsis[0]) == VMM_VIRTIO_MAX_DEVS,
		       "one GSI per virtio-mmio slot");
	if (i >= VMM_VIRTIO_MAX_DEVS)
		return -ENOSPC;
	*base = VMM_VIRTIO_MMIO_BASE + i * VMM_VIRTIO_MMIO_SIZE;
	*size = VMM_VIRTIO_MMIO_SIZE;
	*gsi = gsis[i];
	return 0;
}

/* ---- for the device files ------------------------------------------------------ */

void *vmm_virtio_priv(struct vmm_virtio *vd) { return vd->priv; }
struct gm_mem *vmm_virtio_mem(struct vmm_virtio *vd) { return vd->mem; }
const char *vmm_virtio_name(struct vmm_virtio *vd) { return vd->ops->name; }
void vmm_virtio_lock(struct vmm_virtio *vd) { pthread_mutex_lock(&vd->lock); }
void vmm_virtio_unlock(struct vmm_virtio *vd) { pthread_mutex_unlock(&vd->lock); }

struct vmm_vq *vmm_virtio_queue(struct vmm_virtio *vd, unsigned q)
{
	return q < vd->ops->nr_queues ? &vd->q[q].vq : NULL;
}

int vmm_virtio_config_set_locked(struct vmm_virtio *vd, unsigned off,
				 const void *data, unsigned len, bool notify)
{
	if (off > vd->ops->config_size || len > vd->ops->config_size - off)
		return -EINVAL;
	memcpy(vd->config + off, data, len);
	vd->config_gen++;
	if (notify && (vd->status & VIRTIO_STATUS_DRIVER_OK))
		raise_irq(vd, VIRTIO_INT_CONFIG);
	return 0;
}

int vmm_virtio_config_set(struct vmm_virtio *vd, unsigned off,
			  const void *data, unsigned len, bool notify)
{
	int ret;

	pthread_mutex_lock(&vd->lock);
	ret = vmm_virtio_config_set_locked(vd, off, data, len, notify);
	pthread_mutex_unlock(&vd->lock);
	return ret;
}

int vmm_virtio_config_get_locked(struct vmm_virtio *vd, unsigned off,
				 void *data, unsigned len)
{
	if (off > vd->ops->config_size || len > vd->ops->config_size - off)
		return -EINVAL;
	memcpy(data, vd->config + off, len);
	return 0;
}

int vmm_virtio_watch(struct vmm_virtio *vd, int fd,
		     void (*fn)(struct vmm_virtio *vd, int fd))
{
	if (vd->nr_watch == VMM_VIRTIO_MAX_WATCH)
		return -ENOSPC;
	vd->watch[vd->nr_watch++] = (struct vmm_virtio_watch){ fd, fn };
	return 0;
}

void vmm_virtio_wake(struct vmm_virtio *vd)
{
	pthread_mutex_lock(&vd->lock);
	request(vd, PEND_WAKE);
	pthread_mutex_unlock(&vd->lock);
}

void vmm_virtio_stat(struct vmm_virtio *vd, struct vmm_virtio_stat *st)
{
	pthread_mutex_lock(&vd->lock);
	*st = vd->st;
	st->status = vd->status;
	pthread_mutex_unlock(&vd->lock);
}
