/* SPDX-License-Identifier: MIT */
/*
 * map.h - private to guestmem's map pictures: the pixel grid that
 * map-grid.c makes of a node map (map.c) and map-svg.c draws.
 */
#ifndef KVMEM_GUESTMEM_MAP_H
#define KVMEM_GUESTMEM_MAP_H

#include "guestmem.h"

#define MAP_BAR_W	1024	/* pixel columns per row */
#define MAP_ROWS_MAX	32	/* rows at the finest scale (one more per extra range) */
#define MAP_COLS_MAX	(MAP_BAR_W * MAP_ROWS_MAX)
#define MAP_RUNS_MAX	6000	/* runs of equal columns drawn, whatever the fragmentation */
#define MAP_NR_FREE	5	/* size classes of free blocks */

/*
 * Classes: what one column is drawn as. Free-block size classes first,
 * then area kinds, then "other" (neither free nor allocated), the
 * allocations not named in the picture, and one class per named one.
 */
#define MAP_CL_NONE	(-1)			/* past the end of a range */
#define MAP_CL_FREE	0
#define MAP_CL_AREA	(MAP_CL_FREE + MAP_NR_FREE)
#define MAP_CL_OTHER	(MAP_CL_AREA + GM_AREA_NR)
#define MAP_CL_SMALL	(MAP_CL_OTHER + 1)
#define MAP_CL_NAMED	(MAP_CL_SMALL + 1)	/* + the allocation's slot */

/* A run of equal columns in one row. */
struct map_run {
	unsigned row, x, w;
	int cls;
};

struct map_grid {
	uint64_t bpp;			/* bytes per column, a power of two */
	uint64_t row_bytes;		/* bpp * MAP_BAR_W */
	unsigned nr_rows;
	unsigned range_row[GM_MAP_RANGES];	/* first row of each range */
	unsigned range_rows[GM_MAP_RANGES];
	struct map_run *runs;		/* row by row, left to right */
	size_t nr_runs;
};

unsigned map_free_class(uint64_t size);
int map_grid_build(struct map_grid *g, const struct gm_node_map *m,
		   const int *named);
void map_grid_release(struct map_grid *g);

#endif /* KVMEM_GUESTMEM_MAP_H */
