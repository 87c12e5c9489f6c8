// SPDX-License-Identifier: MIT
/*
 * virtio-rng.c - the entropy device ([VIRTIO] 5.4): one queue of
 * device-writable buffers, filled from getrandom(2). The smallest device
 * on the transport, and the model for the others: an ops table, a queue
 * handler, a create/destroy pair.
 *
 * Linux's virtio-rng module feeds /dev/hwrng from it; kvmem run --rng adds
 * it. Each request is served up to RNG_MAX_REQ bytes (the driver asks for
 * a page or less), so one guest cannot keep the worker busy with a huge
 * buffer; a request with a bad buffer is returned with 0 bytes written.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "virtio.h"

#define VIRTIO_ID_RNG		4
#define RNG_QUEUE_SIZE		64
#define RNG_MAX_SEGS		16
#define RNG_MAX_REQ		(64u << 10)

/* Fill the device-writable buffers of @c; returns the bytes written. */
static uint32_t fill(const struct vmm_vq_chain *c)
{
	uint32_t done = 0;

	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in; i++) {
		char *p = c->iov[i].iov_base;
		size_t left = c->iov[i].iov_len;

		while (left && done < RNG_MAX_REQ) {
			size_t want = left < RNG_MAX_REQ - done ? left : RNG_MAX_REQ - done;
			ssize_t n = getrandom(p, want, 0);

			if (n <= 0)
				return done;	/* EINTR cannot happen: signals blocked */
			p += n;
			left -= (size_t)n;
			done += (uint32_t)n;
		}
	}
	return done;
}

static void rng_notify(struct vmm_virtio *vd, unsigned q)
{
	struct vmm_vq *vq = vmm_virtio_queue(vd, q);
	struct iovec iov[RNG_MAX_SEGS];
	struct vmm_vq_chain c = { .iov = iov, .max = RNG_MAX_SEGS };
	int ret;

	do {
		vmm_vq_notify_off(vq);
		while ((ret = vmm_vq_pop(vq, &c)) > 0)
			vmm_vq_push(vq, c.head, c.err ? 0 : fill(&c));
	} while (ret == 0 && vmm_vq_notify_on(vq));
	vmm_virtio_used(vd, q);
}

static const struct vmm_virtio_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_size = RNG_QUEUE_SIZE,
	.notify = rng_notify,
};

int vmm_rng_create(struct gm_mem *mem, struct vmm_virtio **out)
{
	return vmm_virtio_create(mem, &rng_ops, NULL, out);
}

void vmm_rng_destroy(struct vmm_virtio *vd)
{
	vmm_virtio_destroy(vd);
}
