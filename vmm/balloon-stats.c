// SPDX-License-Identifier: MIT
/*
 * balloon-stats.c - the balloon's statistics queue ([VIRTIO] 5.5.6.3,
 * F_STATS_VQ): the guest's own memory figures, fresh when a reader asks.
 *
 * The driver keeps one buffer in the stats queue; the device holds it and
 * gives it back when it wants fresh figures, and the driver refills it and
 * queues it again. vmm_balloon_stats() asks for a refresh when the figures
 * are older than the caller allows, and waits for them a bounded time.
 * Apart from virtio-balloon.c because it has its own lock and condition
 * (@stat_lock): a reader waits for the guest's answer without holding the
 * device, and the worker hands the buffer back from ops.wake.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "balloon.h"

#define STAT_BYTES		10	/* { le16 tag; le64 val; } packed */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A stats buffer: its figures kept; false if malformed (given back at once). */
bool vmm_balloon_stats_buffer(struct vmm_balloon *b, const struct vmm_vq_chain *c)
{
	struct vmm_balloon_stats s = { 0 };
	uint8_t e[STAT_BYTES];

	if (c->err || c->in_len || c->out_len % STAT_BYTES ||
	    c->out_len > VMM_BALLOON_NR_STATS * 4 * STAT_BYTES) {
		b->info.refused_buffer++;
		return false;
	}
	for (size_t off = 0; off < c->out_len; off += STAT_BYTES) {
		uint16_t tag;
		uint64_t val;

		if (vmm_iov_copy_from(c->iov, c->nr_out, off, e, STAT_BYTES) != STAT_BYTES)
			break;
		memcpy(&tag, e, 2);
		memcpy(&val, e + 2, 8);
		tag = le16toh(tag);
		if (tag >= VMM_BALLOON_NR_STATS)
			continue;	/* a tag from a newer driver */
		s.have |= 1u << tag;
		s.val[tag] = le64toh(val);
	}
	pthread_mutex_lock(&b->stat_lock);
	b->stats = s;
	b->stats_ns = now_ns();
	b->stats_seq++;
	b->want = false;		/* what a reader asked for has come */
	pthread_cond_broadcast(&b->stat_cond);
	pthread_mutex_unlock(&b->stat_lock);
	return true;
}

/* Give the held stats buffer back, so the driver refills it. */
static void stats_ask(struct vmm_balloon *b, unsigned q)
{
	if (!b->stats_held || q == Q_NONE)
		return;
	b->stats_held = false;
	vmm_vq_push(vmm_virtio_queue(b->vd, q), b->stats_head, 0);
	vmm_virtio_used(b->vd, q);
}

static unsigned queue_of(const struct vmm_balloon *b, unsigned role)
{
	for (unsigned q = 0; q < VMM_VIRTIO_MAX_QUEUES; q++)
		if (b->role[q] == role)
			return q;
	return Q_NONE;
}

void vmm_balloon_wake(struct vmm_virtio *vd)
{
	struct vmm_balloon *b = vmm_virtio_priv(vd);
	bool want;

	pthread_mutex_lock(&b->stat_lock);
	want = b->want && b->stats_held;
	if (want)
		b->want = false;
	pthread_mutex_unlock(&b->stat_lock);
	if (want)
		stats_ask(b, queue_of(b, Q_STATS));
}

int vmm_balloon_stats(struct vmm_balloon *b, unsigned max_age_ms,
		      unsigned wait_ms, struct vmm_balloon_stats *out)
{
	uint64_t max_ns = (uint64_t)max_age_ms * 1000000ULL, now = now_ns(), seq;
	struct timespec until;
	bool ask;

	pthread_mutex_lock(&b->stat_lock);
	ask = b->stats_seq && now - b->stats_ns >= max_ns;
	seq = b->stats_seq;
	if (ask)
		b->want = true;
	pthread_mutex_unlock(&b->stat_lock);
	if (ask) {
		vmm_virtio_wake(b->vd);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&b->stat_lock);
	while (ask && b->stats_seq == seq &&
	       pthread_cond_timedwait(&b->stat_cond, &b->stat_lock, &until) == 0)
		;
	*out = b->stats;
	out->updates = b->stats_seq;
	out->age_ms = b->stats_seq ? (now_ns() - b->stats_ns) / 1000000 : 0;
	pthread_mutex_unlock(&b->stat_lock);
	return b->stats_seq ? 0 : -ENODATA;
}

const char *vmm_balloon_stat_name(unsigned tag, bool *bytes)
{
	/* [VIRTIO] 5.5.6.3.1 tags, named as /proc/meminfo and /proc/vmstat would */
	static const struct { const char *name; bool bytes; } names[VMM_BALLOON_NR_STATS] = {
		{ "SwapIn", true }, { "SwapOut", true }, { "MajorFaults", false },
		{ "MinorFaults", false }, { "MemFree", true }, { "MemTotal", true },
		{ "MemAvailable", true }, { "Cached", true }, { "HugetlbAllocations", false },
		{ "HugetlbFailures", false }, { "OomKills", false }, { "AllocStalls", false },
		{ "AsyncScans", false }, { "DirectScans", false }, { "AsyncReclaims", false },
		{ "DirectReclaims", false },
	};

	if (tag >= VMM_BALLOON_NR_STATS)
		return NULL;
	if (bytes)
		*bytes = names[tag].bytes;
	return names[tag].name;
}
