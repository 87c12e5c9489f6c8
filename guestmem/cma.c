// SPDX-License-Identifier: MIT
/*
 * cma.c - a contiguous-range area with Linux CMA semantics (mm/cma.c).
 *
 * The area [base, base + size) is cut into pages of @page bytes and tracked
 * by a bitmap with one bit per (1 << order_per_bit) pages. An allocation of
 * @count pages takes the first run of free bits (lowest address) whose start
 * is aligned to (1 << align_order) pages in guest-physical space, as
 * bitmap_find_next_zero_area_off() does for cma_alloc(). Takes no locks: the
 * node holds node->lock around every call (internal.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct gm_cma {
	uint64_t base, size, page;
	unsigned order_per_bit;
	uint64_t granule;	/* bytes per bit: page << order_per_bit */
	uint64_t nbits, used_bits;
	uint64_t *bitmap;
};

static bool bit_test(const struct gm_cma *c, uint64_t i)
{
	return c->bitmap[i / 64] >> (i % 64) & 1;
}

static void bits_set(struct gm_cma *c, uint64_t i, uint64_t n, bool on)
{
	for (; n; i++, n--) {
		if (on)
			c->bitmap[i / 64] |= 1ULL << (i % 64);
		else
			c->bitmap[i / 64] &= ~(1ULL << (i % 64));
	}
}

/*
 * First bit in [@i, @limit) with value @val, or @limit (capped to nbits).
 * Word at a time; the limit keeps a run check O(run), not O(area).
 */
static uint64_t bit_find_upto(const struct gm_cma *c, uint64_t i, bool val,
			      uint64_t limit)
{
	if (limit > c->nbits)
		limit = c->nbits;
	while (i < limit) {
		uint64_t w = c->bitmap[i / 64];

		if (!val)
			w = ~w;
		w &= ~0ULL << (i % 64);
		if (w) {
			i = (i & ~63ULL) + __builtin_ctzll(w);
			return i < limit ? i : limit;
		}
		i = (i & ~63ULL) + 64;
	}
	return limit;
}

static uint64_t bit_find(const struct gm_cma *c, uint64_t i, bool val)
{
	return bit_find_upto(c, i, val, c->nbits);
}

/*
 * gm_cma_create() - see internal.h. @page a power of two, @base and @size
 * multiples of page << order_per_bit, @size non-zero. -EINVAL, -ENOMEM.
 */
int gm_cma_create(uint64_t base, uint64_t size, uint64_t page,
		  unsigned order_per_bit, struct gm_cma **out)
{
	struct gm_cma *c;
	uint64_t granule;

	if (!gm_is_pow2(page) || order_per_bit > 30 || !size)
		return -EINVAL;
	granule = page << order_per_bit;
	if (base % granule || size % granule || base + size < base)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->size = size;
	c->page = page;
	c->order_per_bit = order_per_bit;
	c->granule = granule;
	c->nbits = size / granule;
	c->bitmap = calloc((c->nbits + 63) / 64, sizeof(uint64_t));
	if (!c->bitmap) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void gm_cma_destroy(struct gm_cma *c)
{
	if (!c)
		return;
	free(c->bitmap);
	free(c);
}

/* Bits covering @count pages. */
static uint64_t count_bits(const struct gm_cma *c, uint64_t count)
{
	uint64_t per = 1ULL << c->order_per_bit;

	return count / per + (count % per != 0);
}

/*
 * gm_cma_alloc() - see internal.h. -EINVAL for count 0 or an absurd
 * align_order; -ENOSPC when no aligned free run exists.
 */
int gm_cma_alloc(struct gm_cma *c, uint64_t count, unsigned align_order,
		 uint64_t *gpa)
{
	uint64_t nb, align, i = 0;

	if (!count || align_order > 40)
		return -EINVAL;
	if (count > c->size / c->page)
		return -ENOSPC;
	nb = count_bits(c, count);
	align = c->page << align_order;
	if (align < c->granule)
		align = c->granule;
	for (;;) {
		uint64_t addr, run_end;

		i = bit_find(c, i, false);
		if (i >= c->nbits)
			return -ENOSPC;
		/* round the candidate's address up to the alignment */
		addr = c->base + i * c->granule;
		if (addr % align) {
			addr += align - addr % align;
			i = (addr - c->base) / c->granule;
		}
		if (i >= c->nbits || nb > c->nbits - i)
			return -ENOSPC;
		run_end = bit_find_upto(c, i, true, i + nb);
		if (run_end >= i + nb) {
			bits_set(c, i, nb, true);
			c->used_bits += nb;
			*gpa = c->base + i * c->granule;
			return 0;
		}
		i = run_end;
	}
}

/*
 * gm_cma_claim() - see internal.h. @count must fill whole bits.
 */
int gm_cma_claim(struct gm_cma *c, uint64_t gpa, uint64_t count)
{
	uint64_t i, nb;

	if (!count || gpa < c->base || gpa >= c->base + c->size ||
	    (gpa - c->base) % c->granule || count % (1ULL << c->order_per_bit))
		return -EINVAL;
	i = (gpa - c->base) / c->granule;
	nb = count_bits(c, count);
	if (nb > c->nbits - i)
		return -EINVAL;
	if (bit_find_upto(c, i, true, i + nb) < i + nb)
		return -EBUSY;
	bits_set(c, i, nb, true);
	c->used_bits += nb;
	return 0;
}

/*
 * gm_cma_release() - see internal.h. @gpa must start a bit inside the area
 * and all (count rounded to bits) bits must be set.
 */
int gm_cma_release(struct gm_cma *c, uint64_t gpa, uint64_t count)
{
	uint64_t i, nb;

	if (!count || gpa < c->base || gpa >= c->base + c->size ||
	    (gpa - c->base) % c->granule)
		return -EINVAL;
	i = (gpa - c->base) / c->granule;
	nb = count_bits(c, count);
	if (nb > c->nbits - i)
		return -EINVAL;
	if (bit_find_upto(c, i, false, i + nb) < i + nb)
		return -EINVAL;
	bits_set(c, i, nb, false);
	c->used_bits -= nb;
	return 0;
}

uint64_t gm_cma_base(const struct gm_cma *c)
{
	return c->base;
}

uint64_t gm_cma_size(const struct gm_cma *c)
{
	return c->size;
}

uint64_t gm_cma_used(const struct gm_cma *c)
{
	return c->used_bits * c->granule;
}

uint64_t gm_cma_maxchunk(const struct gm_cma *c)
{
	uint64_t i = 0, best = 0;

	while (i < c->nbits) {
		uint64_t start = bit_find(c, i, false), end;

		if (start >= c->nbits)
			break;
		end = bit_find(c, start, true);
		if (end - start > best)
			best = end - start;
		i = end;
	}
	return best * c->granule;
}

unsigned gm_cma_order_per_bit(const struct gm_cma *c)
{
	return c->order_per_bit;
}

char *gm_cma_bitmap_text(const struct gm_cma *c)
{
	uint64_t lines = (c->nbits + 63) / 64;
	char *s = malloc(c->nbits + lines + 1), *p = s;

	if (!s)
		return NULL;
	for (uint64_t i = 0; i < c->nbits; i++) {
		*p++ = bit_test(c, i) ? '1' : '0';
		if (i % 64 == 63 || i == c->nbits - 1)
			*p++ = '\n';
	}
	*p = '\0';
	return s;
}
