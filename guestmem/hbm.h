/* SPDX-License-Identifier: MIT */
/*
 * hbm.h - hierarchical bitmaps for guestmem's buddy allocator (private).
 *
 * lvl[0] has one bit per slot, lvl[l + 1] one bit per non-zero word of
 * lvl[l]; the top level is a single word. Setting and clearing keep the
 * summaries exact; finding the last set slot or the first set slot at or
 * after a position costs O(log64 n) word reads, however many bits are set.
 * The caller owns the words (one mmap'd region for all bitmaps of an
 * allocator) and the slot count. No locking: the owner serialises.
 */
#ifndef KVMEM_GUESTMEM_HBM_H
#define KVMEM_GUESTMEM_HBM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_HBM_NONE	UINT64_MAX
#define GM_HBM_LEVELS	7		/* 64^7 = 2^42 slots */

/* The descriptor is small on purpose: it counts in the metadata budget. */
struct gm_hbm {
	uint64_t *lvl[GM_HBM_LEVELS];
	unsigned nlvl;
};

static inline bool gm_hbm_test(const struct gm_hbm *h, uint64_t i)
{
	return h->lvl[0][i >> 6] >> (i & 63) & 1;
}

static inline void gm_hbm_set(struct gm_hbm *h, uint64_t i)
{
	for (unsigned l = 0; l < h->nlvl; l++) {
		uint64_t *w = &h->lvl[l][i >> 6], old = *w;

		*w = old | 1ULL << (i & 63);
		if (old)
			return;
		i >>= 6;
	}
}

static inline void gm_hbm_clear(struct gm_hbm *h, uint64_t i)
{
	for (unsigned l = 0; l < h->nlvl; l++) {
		uint64_t *w = &h->lvl[l][i >> 6];

		*w &= ~(1ULL << (i & 63));
		if (*w)
			return;
		i >>= 6;
	}
}

/* gm_hbm_last() - the highest set slot, or GM_HBM_NONE. */
static inline uint64_t gm_hbm_last(const struct gm_hbm *h)
{
	unsigned l = h->nlvl - 1;
	uint64_t w = h->lvl[l][0], i;

	if (!w)
		return GM_HBM_NONE;
	i = 63 - __builtin_clzll(w);
	while (l--)
		i = i << 6 | (63 - __builtin_clzll(h->lvl[l][i]));
	return i;
}

/*
 * gm_hbm_next() - the first set slot >= @i of a bitmap of @nslots slots,
 * or GM_HBM_NONE: climb while the rest of the word is empty, then descend
 * along the lowest set bits.
 */
static inline uint64_t gm_hbm_next(const struct gm_hbm *h, uint64_t nslots,
				   uint64_t i)
{
	unsigned l = 0;
	uint64_t w;

	for (;;) {
		if ((i >> 6) > (nslots - 1) >> (6 * (l + 1)))
			return GM_HBM_NONE;
		w = h->lvl[l][i >> 6] & (~0ULL << (i & 63));
		if (w) {
			i = (i & ~63ULL) | __builtin_ctzll(w);
			break;
		}
		if (l + 1 == h->nlvl)
			return GM_HBM_NONE;
		i = (i >> 6) + 1;
		l++;
	}
	while (l--)
		i = i << 6 | __builtin_ctzll(h->lvl[l][i]);
	return i;
}

/*
 * gm_hbm_layout() - lay out @h for @n slots (1 <= n <= 64^GM_HBM_LEVELS)
 * at *@at, advancing it; with @at NULL only count. Returns the words used.
 * The words must be zero (all slots clear) before use.
 */
static inline size_t gm_hbm_layout(struct gm_hbm *h, uint64_t n, uint64_t **at)
{
	size_t total = 0;

	h->nlvl = 0;
	do {
		uint64_t words = (n + 63) / 64;

		if (at) {
			h->lvl[h->nlvl] = *at;
			*at += words;
		}
		h->nlvl++;
		total += words;
		n = words;
	} while (n > 1);
	return total;
}

#endif /* KVMEM_GUESTMEM_HBM_H */
