// SPDX-License-Identifier: MIT
/*
 * array.c - gm_grow(), the one growable-array helper of kvmem: every table
 * that grows by appending (block lists, early ranges, bus regions, e820
 * entries, text buffers, directory listings) doubles its capacity here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "guestmem.h"

#define GROW_MIN	8

/*
 * gm_grow() - see guestmem.h. @array is the address of the array pointer
 * (any element type), so callers write gm_grow(&v, &cap, nr + 1, sizeof(*v)).
 */
int gm_grow(void *array, size_t *cap, size_t need, size_t elem)
{
	void **pp = array;
	size_t c = *cap ? *cap : GROW_MIN;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (!elem || c > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*pp, c * elem);
	if (!p)
		return -ENOMEM;
	*pp = p;
	*cap = c;
	return 0;
}
