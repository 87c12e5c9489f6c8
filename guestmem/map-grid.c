// SPDX-License-Identifier: MIT
/*
 * map-grid.c - a node map (map.c) reduced to a grid of pixel columns, each
 * given one class, then to runs of equal columns: the part of the picture
 * whose size would follow the fragmentation, made bounded here.
 *
 * Scale: the node's ranges are cut into rows of MAP_BAR_W columns of a
 * power-of-two number of bytes each (so buddy blocks, naturally aligned,
 * never straddle a column unless larger than one). Each range starts a new
 * row; the MMIO hole between node 0's ranges gets no column. A column holds
 * the bytes of many blocks when they are below a pixel: it is drawn as its
 * dominant category (free, allocated, reserved area, other: the one with
 * the most bytes, free winning ties) and, inside that, its dominant member
 * (the allocation with the most bytes, the free-block size class or the
 * area kind with the most bytes). Equal neighbours in a row merge into one run; when there are
 * more than MAP_RUNS_MAX runs the scale doubles and the grid is made again,
 * so the number of runs (the bytes of the drawing) is bounded whatever the
 * fragmentation: MAP_BAR_W * MAP_ROWS_MAX columns at most, halved at most
 * three times to reach MAP_RUNS_MAX.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

/* Column bytes by category; "cur" is the allocation being spread now. */
struct col {
	uint64_t free[MAP_NR_FREE];
	uint64_t area[GM_AREA_NR];
	uint64_t alloc;
	uint64_t best_bytes, cur_bytes;
	size_t best, cur;		/* index in map->allocs + 1, 0 none */
};

static uint64_t pow2_ceil(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p < (1ULL << 62))
		p <<= 1;
	return p;
}

/*
 * map_free_class() - the size class of a free block of @size bytes: 0 for
 * the largest (>= 64 MiB) to MAP_NR_FREE - 1 for the smallest (< 32 KiB).
 */
unsigned map_free_class(uint64_t size)
{
	static const uint64_t floor[MAP_NR_FREE - 1] = {
		64ULL << 20, 2ULL << 20, 256ULL << 10, 32ULL << 10 };

	for (unsigned i = 0; i < MAP_NR_FREE - 1; i++)
		if (size >= floor[i])
			return i;
	return MAP_NR_FREE - 1;
}

/* Lay the ranges out at @bpp bytes per column, rows padded to MAP_BAR_W. */
static void set_scale(struct map_grid *g, const struct gm_node_map *m,
		      uint64_t bpp)
{
	unsigned row = 0;

	g->bpp = bpp;
	g->row_bytes = bpp * MAP_BAR_W;
	for (unsigned r = 0; r < m->nr_ranges; r++) {
		uint64_t rows = (m->range[r].size + g->row_bytes - 1) / g->row_bytes;

		g->range_row[r] = row;
		g->range_rows[r] = (unsigned)rows;
		row += (unsigned)rows;
	}
	g->nr_rows = row;
}

/*
 * The first scale: the smallest power of two that fits the drawn ranges in
 * MAP_ROWS_MAX rows and is at least a chunk, unless the node is under one
 * row of chunks (a small node then stretches over one row).
 */
static uint64_t first_bpp(const struct gm_node_map *m)
{
	uint64_t drawn = 0, lo, one_row, chunk;

	for (unsigned r = 0; r < m->nr_ranges; r++)
		drawn += m->range[r].size;
	lo = pow2_ceil((drawn + MAP_COLS_MAX - 1) / MAP_COLS_MAX);
	one_row = pow2_ceil((drawn + MAP_BAR_W - 1) / MAP_BAR_W);
	chunk = m->chunk < one_row ? m->chunk : one_row;
	return lo > chunk ? lo : chunk;
}

/* The column holding @gpa of range @r. */
static size_t col_of(const struct map_grid *g, const struct gm_node_map *m,
		     unsigned r, uint64_t gpa)
{
	return (size_t)g->range_row[r] * MAP_BAR_W +
	       (size_t)((gpa - m->range[r].start) / g->bpp);
}

/* Bytes of memory in column @c of range @r (the last one may be short). */
static uint64_t col_bytes(const struct map_grid *g, const struct gm_node_map *m,
			  unsigned r, size_t c)
{
	uint64_t off = (uint64_t)(c - (size_t)g->range_row[r] * MAP_BAR_W) * g->bpp;

	if (off >= m->range[r].size)
		return 0;
	return m->range[r].size - off < g->bpp ? m->range[r].size - off : g->bpp;
}

enum field { F_FREE, F_AREA, F_ALLOC };

/*
 * Add [@start, @start + @size) to the columns it covers, as @f (@idx: the
 * free class, area kind, or allocation index). Spans outside the ranges
 * (none should be) are clipped.
 */
static void spread(struct map_grid *g, const struct gm_node_map *m,
		   struct col *cols, uint64_t start, uint64_t size,
		   enum field f, size_t idx)
{
	for (unsigned r = 0; r < m->nr_ranges; r++) {
		uint64_t rs = m->range[r].start, re = rs + m->range[r].size;
		uint64_t s = start > rs ? start : rs;
		uint64_t e = start + size < re ? start + size : re;

		while (s < e) {
			size_t c = col_of(g, m, r, s);
			uint64_t cend = rs + (uint64_t)(c - (size_t)g->range_row[r] * MAP_BAR_W + 1) * g->bpp;
			uint64_t n = (cend < e ? cend : e) - s;
			struct col *x = &cols[c];

			if (f == F_FREE) {
				x->free[idx] += n;
			} else if (f == F_AREA) {
				x->area[idx] += n;
			} else {
				x->alloc += n;
				if (x->cur != idx + 1) {
					x->cur = idx + 1;
					x->cur_bytes = 0;
				}
				x->cur_bytes += n;
				if (x->cur_bytes > x->best_bytes) {
					x->best_bytes = x->cur_bytes;
					x->best = idx + 1;
				}
			}
			s += n;
		}
	}
}

static size_t argmax(const uint64_t *v, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* The class of one column (MAP_CL_NONE past the end of a range). */
static int classify(const struct col *x, uint64_t bytes, const int *named)
{
	uint64_t fr = 0, ar = 0, rest, area, other;

	if (!bytes)
		return MAP_CL_NONE;
	for (unsigned i = 0; i < MAP_NR_FREE; i++)
		fr += x->free[i];
	for (unsigned i = 0; i < GM_AREA_NR; i++)
		ar += x->area[i];
	/* allocations may lie inside areas (CMA's): the area is what is left */
	rest = bytes - (fr + x->alloc < bytes ? fr + x->alloc : bytes);
	area = ar < rest ? ar : rest;
	other = rest - area;
	/* ties go to free space: half-free columns are what fragmentation looks like */
	if (fr && fr >= x->alloc && fr >= area && fr >= other)
		return MAP_CL_FREE + (int)argmax(x->free, MAP_NR_FREE);
	if (x->alloc && x->alloc >= area && x->alloc >= other)
		return named[x->best - 1];
	if (area && area >= other)
		return MAP_CL_AREA + (int)argmax(x->area, GM_AREA_NR);
	return MAP_CL_OTHER;
}

static int push_run(struct map_grid *g, size_t *cap, unsigned row, unsigned x,
		    int cls)
{
	if (gm_grow(&g->runs, cap, g->nr_runs + 1, sizeof(*g->runs)))
		return -ENOMEM;
	g->runs[g->nr_runs++] = (struct map_run){ row, x, 1, cls };
	return 0;
}

/* One grid at the current scale: columns, then runs. 0, -ENOMEM, -E2BIG. */
static int build(struct map_grid *g, const struct gm_node_map *m,
		 const int *named)
{
	size_t nr_cols = (size_t)g->nr_rows * MAP_BAR_W, cap = 0;
	struct col *cols = calloc(nr_cols, sizeof(*cols));
	int ret = 0;

	if (!cols)
		return -ENOMEM;
	for (size_t i = 0; i < m->nr_free; i++)
		spread(g, m, cols, m->free[i].gpa, m->free[i].size, F_FREE,
		       map_free_class(m->free[i].size));
	for (unsigned i = 0; i < m->nr_areas; i++)
		spread(g, m, cols, m->areas[i].start, m->areas[i].size, F_AREA,
		       m->areas[i].kind);
	for (unsigned a = 0; a < m->nr_allocs; a++)
		for (unsigned i = 0; i < m->allocs[a].nr_blocks; i++) {
			const struct gm_block *b = &m->blocks[m->allocs[a].first + i];

			spread(g, m, cols, b->gpa, b->size, F_ALLOC, a);
		}
	g->nr_runs = 0;
	for (unsigned r = 0; r < m->nr_ranges && !ret; r++) {
		for (unsigned row = 0; row < g->range_rows[r] && !ret; row++) {
			unsigned grow = g->range_row[r] + row;

			for (unsigned x = 0; x < MAP_BAR_W && !ret; x++) {
				size_t c = (size_t)grow * MAP_BAR_W + x;
				int cls = classify(&cols[c], col_bytes(g, m, r, c), named);
				struct map_run *last = g->nr_runs ? &g->runs[g->nr_runs - 1] : NULL;

				if (cls == MAP_CL_NONE)
					break;
				if (last && last->row == grow && last->cls == cls)
					last->w++;
				else if (g->nr_runs == MAP_RUNS_MAX)
					ret = -E2BIG;
				else
					ret = push_run(g, &cap, grow, x, cls);
			}
		}
	}
	free(cols);
	return ret;
}

/*
 * map_grid_build() - the grid of @m at the finest scale whose runs fit in
 * MAP_RUNS_MAX; @named maps each allocation index to its class (a named
 * allocation's, or MAP_CL_SMALL). 0 or -ENOMEM; release with map_grid_release().
 */
int map_grid_build(struct map_grid *g, const struct gm_node_map *m,
		   const int *named)
{
	uint64_t bpp = first_bpp(m);
	int ret;

	memset(g, 0, sizeof(*g));
	for (;;) {
		set_scale(g, m, bpp);
		ret = build(g, m, named);
		if (ret != -E2BIG)
			break;
		bpp *= 2;
	}
	if (ret)
		map_grid_release(g);
	return ret;
}

void map_grid_release(struct map_grid *g)
{
	free(g->runs);
	g->runs = NULL;
	g->nr_runs = 0;
}
