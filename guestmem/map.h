/* SPDX-License-Identifier: MIT */
/*
 * map.h - private to guestmem's map pictures: the pixel grid that
 * map-grid.c makes of a node map (map.c), and the picture that map-svg.c,
 * map-rows.c and map-key.c draw of it.
 */
#ifndef KVMEM_GUESTMEM_MAP_H
#define KVMEM_GUESTMEM_MAP_H

#include <stdio.h>

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

/* ---- drawing (map-svg.c, map-rows.c, map-key.c) --------------------------- */

#define NAMED_MAX	128		/* allocations with their own colour */
#define NAMES_BUDGET	(24u << 10)	/* bytes of names (escaped) listed for the others */
#define AREAS_LISTED	32
#define AREA_LABELS	32		/* area labels written on the bars */
#define TITLE_BLOCKS	6		/* blocks listed in an allocation's title */

#define WIDTH		1160
#define MARGIN		16
#define BAR_X		112		/* left edge of the rows */
#define ROW_H		16
#define ROW_GAP		8
#define HOLE_H		30
#define CHAR_W		6.5		/* average advance at font-size 11 */
#define LINE_CHARS	168		/* characters per line of the name list */

#define HUMAN_MAX	24
#define PAINT_MAX	24
#define OTHER_FILL	"#c8c8c8"
#define SMALL_FILL	"#8a8a8a"

/* How a kind of reserved area is drawn: the one table to extend (map-svg.c). */
struct map_area_style {
	const char *fill;
	const char *stripe;	/* diagonal stripes over the fill, or NULL */
	const char *name;	/* in the key and the list */
};
extern const struct map_area_style map_area_style[GM_AREA_NR];

/* Free blocks by size class, largest first (map_free_class()). */
struct map_free_style {
	const char *fill, *name;
};
extern const struct map_free_style map_free_style[MAP_NR_FREE];

/* One picture being written: the map, its grid, and what was counted. */
struct svg {
	FILE *f;
	const struct gm_node_map *m;
	struct map_grid g;
	int *named;		/* allocation index -> class */
	unsigned *slot;		/* named slot -> allocation index, by address */
	unsigned nr_named;
	size_t nr_small;
	uint64_t small_bytes, alloc_bytes;
	unsigned *row_y;	/* top of each grid row */
	unsigned y;		/* next free line */
	/* totals for the titles and the summary */
	uint64_t free_n[MAP_NR_FREE], free_b[MAP_NR_FREE], free_clean[MAP_NR_FREE];
	uint64_t area_n[GM_AREA_NR], area_b[GM_AREA_NR];
	uint64_t free_max;
	bool has_other;
};

/* map-svg.c: text and colours */
void map_put_esc(FILE *f, const char *s);
size_t map_esc_len(const char *s);
const char *map_human(uint64_t v, char buf[HUMAN_MAX]);
unsigned map_text_w(size_t chars);
void map_alloc_colour(const struct gm_map_alloc *a, char buf[PAINT_MAX]);
void map_paint(const struct svg *s, int cls, char buf[PAINT_MAX]);
uint64_t map_run_gpa(const struct svg *s, const struct map_run *r);

/* map-rows.c: the rows, the runs drawn on them, their titles and labels */
void map_write_top(struct svg *s);
void map_write_rows(struct svg *s);
int map_write_runs(struct svg *s);
int map_write_labels(struct svg *s);
void map_write_frames(struct svg *s);

/* map-key.c: the key and the lists under the rows */
void map_write_key(struct svg *s);
void map_write_allocs(struct svg *s);
void map_write_small(struct svg *s);
void map_write_areas(struct svg *s);

#endif /* KVMEM_GUESTMEM_MAP_H */
