// SPDX-License-Identifier: MIT
/*
 * map-svg.c - gm_map_svg(): a node map (map.c) drawn as an SVG picture.
 *
 * Top to bottom: a title and a summary line; the node's ranges as rows of
 * the grid (map-grid.c), each row labelled with its start address and
 * ticked at quarters, the hole between ranges as a break; then the key
 * (free-block size classes, the area kinds present), the allocations
 * (colour, name, size, blocks, span) and the reserved areas.
 *
 * Every run of equal columns is one segment of its class's <path>, drawn as
 * a stroke as high as a row, so a run costs about a dozen bytes; each class
 * carries one <title> (a browser shows it on hover). The allocations with
 * the most bytes (the VM's first) get their own colour, title, label and
 * key entry, up to NAMED_MAX; the others are drawn together in grey and
 * named in a list, up to NAMES_BUDGET bytes of names. With the grid's run
 * bound this keeps the picture under GM_MAP_SVG_MAX bytes whatever the
 * fragmentation (tests/guestmem/test_map.c checks the worst cases).
 *
 * Colours: an allocation's hue comes from its id (golden angle), so it
 * keeps its colour from one picture to the next; the VM's allocations are
 * dark and hatched. Free space goes from pale green (large blocks) to
 * salmon (fragments below 32 KiB). Area kinds come from one table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

#define NAMED_MAX	64		/* allocations with their own colour */
#define NAMES_BUDGET	(24u << 10)	/* bytes of names listed for the others */
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

/* How a kind of reserved area is drawn: the one table to extend. */
static const struct area_style {
	const char *fill;
	const char *stripe;	/* diagonal stripes over the fill, or NULL */
	const char *name;	/* in the key and the list */
} area_style[GM_AREA_NR] = {
	[GM_AREA_EARLY_RAM]	 = { "#8d7766", NULL, "early RAM (boot data)" },
	[GM_AREA_EARLY_RESERVED] = { "#505862", NULL, "early reserved" },
	[GM_AREA_EARLY_ACPI]	 = { "#9d86c6", NULL, "ACPI tables" },
	[GM_AREA_CMA]		 = { "#fbf0c8", "#dcb54c", "CMA area, free" },
};

/* Free blocks by size class, largest first (map_free_class()). */
static const struct {
	const char *fill, *name;
} free_style[MAP_NR_FREE] = {
	{ "#d8eee3", "free, blocks \xe2\x89\xa5 64 MiB" },
	{ "#b3dcc6", "free, 2\xe2\x80\x93" "64 MiB" },
	{ "#efe19c", "free, 256 KiB\xe2\x80\x93" "2 MiB" },
	{ "#f2bd8b", "free, 32\xe2\x80\x93" "256 KiB" },
	{ "#ea8b7b", "free, < 32 KiB" },
};

#define OTHER_FILL	"#c8c8c8"
#define SMALL_FILL	"#8a8a8a"

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

/* ---- text ------------------------------------------------------------------ */

static void put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':  fputs("&amp;", f); break;
		case '<':  fputs("&lt;", f); break;
		case '>':  fputs("&gt;", f); break;
		case '"':  fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:   fputc(*s, f);
		}
	}
}

#define HUMAN_MAX	24

/* @v bytes for people: "1 GiB", "1.5 GiB", "4 KiB", "100 B". */
static const char *human(uint64_t v, char buf[HUMAN_MAX])
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned u = 0;

	while (u < 6 && v >> (10 * (u + 1)))
		u++;
	if (!u || !(v & ((1ULL << (10 * u)) - 1)))
		snprintf(buf, HUMAN_MAX, "%llu %s", (unsigned long long)(v >> (10 * u)), unit[u]);
	else
		snprintf(buf, HUMAN_MAX, "%llu.%llu %s",
			 (unsigned long long)(v >> (10 * u)),
			 (unsigned long long)(((v & ((1ULL << (10 * u)) - 1)) * 10) >> (10 * u)),
			 unit[u]);
	return buf;
}

static unsigned text_w(size_t chars)
{
	return (unsigned)(chars * CHAR_W + 0.5);
}

/* ---- colours ---------------------------------------------------------------- */

#define PAINT_MAX	24

static double dabs(double v)
{
	return v < 0 ? -v : v;
}

/* "#rrggbb" of hue @h (degrees), saturation and lightness @sat, @l in 0..1. */
static void hsl(char buf[PAINT_MAX], double h, double sat, double l)
{
	double c = (1 - dabs(2 * l - 1)) * sat, hp = h / 60;
	double x = c * (1 - dabs(hp - 2 * (int)(hp / 2) - 1)), m = l - c / 2;
	double r = 0, g = 0, b = 0;

	switch ((int)hp) {
	case 0:	 r = c; g = x; break;
	case 1:	 r = x; g = c; break;
	case 2:	 g = c; b = x; break;
	case 3:	 g = x; b = c; break;
	case 4:	 r = x; b = c; break;
	default: r = c; b = x; break;
	}
	snprintf(buf, PAINT_MAX, "#%02x%02x%02x", (unsigned)((r + m) * 255 + 0.5),
		 (unsigned)((g + m) * 255 + 0.5), (unsigned)((b + m) * 255 + 0.5));
}

/* An allocation's own colour: its hue from its id; the VM's dark. */
static void alloc_colour(const struct gm_map_alloc *a, char buf[PAINT_MAX])
{
	double h = (double)((a->id % 360000) * 137508 % 360000) / 1000;

	if (a->owner == GM_OWNER_VM)
		hsl(buf, h, 0.30, 0.40);
	else
		hsl(buf, h, 0.62, 0.44 + 0.06 * (double)(a->id % 3));
}

/* The paint of class @cls: a colour or a pattern of the defs. */
static void paint(const struct svg *s, int cls, char buf[PAINT_MAX])
{
	if (cls >= MAP_CL_NAMED) {
		unsigned k = (unsigned)(cls - MAP_CL_NAMED);
		const struct gm_map_alloc *a = &s->m->allocs[s->slot[k]];

		if (a->owner == GM_OWNER_VM)
			snprintf(buf, PAINT_MAX, "url(#n%u)", k);
		else
			alloc_colour(a, buf);
	} else if (cls >= MAP_CL_AREA && cls < MAP_CL_OTHER) {
		const struct area_style *st = &area_style[cls - MAP_CL_AREA];

		if (st->stripe)
			snprintf(buf, PAINT_MAX, "url(#k%d)", cls - MAP_CL_AREA);
		else
			snprintf(buf, PAINT_MAX, "%s", st->fill);
	} else if (cls >= MAP_CL_FREE && cls < MAP_CL_AREA) {
		snprintf(buf, PAINT_MAX, "%s", free_style[cls].fill);
	} else {
		snprintf(buf, PAINT_MAX, "%s", cls == MAP_CL_SMALL ? SMALL_FILL : OTHER_FILL);
	}
}

static void stripes(FILE *f, const char *id, const char *fill,
		    const char *stripe, const char *opacity)
{
	fprintf(f, "<pattern id=\"%s\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
		"patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"%s\"/>"
		"<rect width=\"2\" height=\"6\" fill=\"%s\" fill-opacity=\"%s\"/></pattern>\n",
		id, fill, stripe, opacity);
}

static void write_defs(struct svg *s)
{
	char id[16], c[PAINT_MAX];

	fputs("<defs>\n", s->f);
	for (unsigned k = 0; k < GM_AREA_NR; k++) {
		if (!area_style[k].stripe)
			continue;
		snprintf(id, sizeof(id), "k%u", k);
		stripes(s->f, id, area_style[k].fill, area_style[k].stripe, "1");
	}
	stripes(s->f, "vm", "#5a6577", "#fff", ".4");
	for (unsigned k = 0; k < s->nr_named; k++) {
		const struct gm_map_alloc *a = &s->m->allocs[s->slot[k]];

		if (a->owner != GM_OWNER_VM)
			continue;
		snprintf(id, sizeof(id), "n%u", k);
		alloc_colour(a, c);
		stripes(s->f, id, c, "#fff", ".4");
	}
	fputs("</defs>\n", s->f);
}

/* ---- which allocations are named -------------------------------------------- */

/* The VM's first, then the largest, then the oldest. */
static int by_weight(const void *x, const void *y, void *map)
{
	const struct gm_node_map *m = map;
	const struct gm_map_alloc *a = &m->allocs[*(const unsigned *)x];
	const struct gm_map_alloc *b = &m->allocs[*(const unsigned *)y];

	if (a->owner != b->owner)
		return a->owner == GM_OWNER_VM ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static uint64_t first_gpa(const struct gm_node_map *m, unsigned a)
{
	return m->allocs[a].nr_blocks ? m->blocks[m->allocs[a].first].gpa : 0;
}

static int by_address(const void *x, const void *y, void *map)
{
	uint64_t a = first_gpa(map, *(const unsigned *)x);
	uint64_t b = first_gpa(map, *(const unsigned *)y);

	return a < b ? -1 : a > b;
}

/*
 * Name up to NAMED_MAX allocations (the VM's first, then by size), listed
 * by address; the others are drawn as MAP_CL_SMALL.
 */
static int pick_named(struct svg *s)
{
	const struct gm_node_map *m = s->m;
	unsigned *order = malloc((m->nr_allocs ? m->nr_allocs : 1) * sizeof(*order));

	s->named = malloc((m->nr_allocs ? m->nr_allocs : 1) * sizeof(*s->named));
	s->slot = order;
	if (!order || !s->named)
		return -ENOMEM;
	for (unsigned i = 0; i < m->nr_allocs; i++)
		order[i] = i;
	qsort_r(order, m->nr_allocs, sizeof(*order), by_weight, (void *)m);
	s->nr_named = m->nr_allocs < NAMED_MAX ? m->nr_allocs : NAMED_MAX;
	qsort_r(order, s->nr_named, sizeof(*order), by_address, (void *)m);
	for (unsigned i = 0; i < m->nr_allocs; i++) {
		s->alloc_bytes += m->allocs[i].size;
		s->named[i] = MAP_CL_SMALL;
	}
	for (unsigned k = 0; k < s->nr_named; k++)
		s->named[order[k]] = MAP_CL_NAMED + (int)k;
	s->nr_small = m->nr_allocs - s->nr_named;
	for (unsigned i = s->nr_named; i < m->nr_allocs; i++)
		s->small_bytes += m->allocs[order[i]].size;
	return 0;
}

static void count(struct svg *s)
{
	const struct gm_node_map *m = s->m;

	for (size_t i = 0; i < m->nr_free; i++) {
		unsigned c = map_free_class(m->free[i].size);

		s->free_n[c]++;
		s->free_b[c] += m->free[i].size;
		s->free_clean[c] += !m->free[i].dirty;
		if (m->free[i].size > s->free_max)
			s->free_max = m->free[i].size;
	}
	for (unsigned i = 0; i < m->nr_areas; i++) {
		s->area_n[m->areas[i].kind]++;
		s->area_b[m->areas[i].kind] += m->areas[i].size;
	}
	for (size_t i = 0; i < s->g.nr_runs; i++)
		if (s->g.runs[i].cls == MAP_CL_OTHER)
			s->has_other = true;
}

/* The guest-physical address where run @r starts. */
static uint64_t run_gpa(const struct svg *s, const struct map_run *r)
{
	unsigned i = s->m->nr_ranges;

	while (--i && r->row < s->g.range_row[i])
		;
	return s->m->range[i].start +
	       (uint64_t)(r->row - s->g.range_row[i]) * s->g.row_bytes +
	       (uint64_t)r->x * s->g.bpp;
}

/* ---- the rows --------------------------------------------------------------- */

static void write_top(struct svg *s)
{
	const struct gm_node_map *m = s->m;
	char a[HUMAN_MAX], b[HUMAN_MAX], c[HUMAN_MAX];
	uint64_t nr_free = 0;

	for (unsigned i = 0; i < MAP_NR_FREE; i++)
		nr_free += s->free_n[i];
	fprintf(s->f, "<text x=\"%d\" y=\"26\" font-size=\"16\" font-weight=\"bold\">"
		"kvmem \xc2\xb7 node %u \xc2\xb7 %s of guest memory at 0x%llx\xe2\x80\x93" "0x%llx</text>\n",
		MARGIN, m->node, human(m->size, a), (unsigned long long)m->start,
		(unsigned long long)m->end);
	fprintf(s->f, "<text x=\"%d\" y=\"46\" fill=\"#333\">", MARGIN);
	if (!m->retired)
		fputs("early phase: nothing is free or allocated yet", s->f);
	else
		fprintf(s->f, "%s allocated in %u allocation%s \xc2\xb7 %s free in %llu block%s, the largest %s",
			human(s->alloc_bytes, a), m->nr_allocs, m->nr_allocs == 1 ? "" : "s",
			human(m->avail, b), (unsigned long long)nr_free, nr_free == 1 ? "" : "s",
			human(s->free_max, c));
	if (m->cma_size)
		fprintf(s->f, " \xc2\xb7 CMA %s, %s used", human(m->cma_size, a),
			human(m->cma_used, b));
	fputs("</text>\n", s->f);
	fprintf(s->f, "<text x=\"%d\" y=\"63\" fill=\"#666\" font-size=\"10\">scale: 1 pixel = %s, "
		"1 row = %s (a pixel shows what most of its bytes are) \xc2\xb7 "
		"hover over a colour for its details</text>\n",
		MARGIN, human(s->g.bpp, a), human(s->g.row_bytes, b));
	s->y = 80;
}

static unsigned row_cols(const struct svg *s, unsigned r, unsigned row)
{
	uint64_t left = s->m->range[r].size - (uint64_t)row * s->g.row_bytes;
	uint64_t cols = (left + s->g.bpp - 1) / s->g.bpp;

	return cols < MAP_BAR_W ? (unsigned)cols : MAP_BAR_W;
}

/* The break for the hole before range @r. */
static void write_hole(struct svg *s, unsigned r)
{
	uint64_t hs = s->m->range[r - 1].start + s->m->range[r - 1].size;
	uint64_t he = s->m->range[r].start;
	unsigned mid = s->y + HOLE_H / 2;
	char a[HUMAN_MAX];

	fprintf(s->f, "<path d=\"M%d %uh%d\" stroke=\"#999\" stroke-dasharray=\"6 4\"/>\n",
		BAR_X, mid, MAP_BAR_W);
	fprintf(s->f, "<text x=\"%d\" y=\"%u\" text-anchor=\"middle\" fill=\"#555\" "
		"stroke=\"#fff\" stroke-width=\"6\" paint-order=\"stroke\">"
		"%s 0x%llx\xe2\x80\x93" "0x%llx (%s, not drawn)</text>\n",
		BAR_X + MAP_BAR_W / 2, mid + 4,
		hs == GM_MMIO_HOLE_START && he == GM_MMIO_HOLE_END ? "32-bit MMIO hole" : "hole",
		(unsigned long long)hs, (unsigned long long)he, human(he - hs, a));
	s->y += HOLE_H;
}

/* Offsets at quarters of a row, above the first row of a range. */
static void write_ticks(struct svg *s)
{
	char a[HUMAN_MAX];

	for (unsigned q = 0; q <= 4; q++)
		fprintf(s->f, "<text x=\"%u\" y=\"%u\" text-anchor=\"%s\" font-size=\"9\" fill=\"#777\">+%s</text>\n",
			BAR_X + q * MAP_BAR_W / 4, s->y + 9,
			q == 0 ? "start" : q == 4 ? "end" : "middle",
			q ? human(s->g.row_bytes / 4 * q, a) : "0");
	s->y += 13;
}

static void write_rows(struct svg *s)
{
	FILE *f = s->f;

	for (unsigned r = 0; r < s->m->nr_ranges; r++) {
		if (r)
			write_hole(s, r);
		write_ticks(s);
		for (unsigned i = 0; i < s->g.range_rows[r]; i++) {
			unsigned row = s->g.range_row[r] + i;

			s->row_y[row] = s->y;
			fprintf(f, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\" font-family=\"DejaVu Sans Mono,monospace\" "
				"font-size=\"10\" fill=\"#444\">0x%llx</text>\n",
				BAR_X - 6, s->y + 12, (unsigned long long)(s->m->range[r].start +
				(uint64_t)i * s->g.row_bytes));
			s->y += ROW_H + ROW_GAP;
		}
	}
}

/* Frames around the rows and tick marks under them, over the runs. */
static void write_frames(struct svg *s)
{
	FILE *f = s->f;

	fputs("<g fill=\"none\" stroke=\"#666\" stroke-width=\"1\">\n", f);
	for (unsigned r = 0; r < s->m->nr_ranges; r++)
		for (unsigned i = 0; i < s->g.range_rows[r]; i++)
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%u\" height=\"%d\"/>\n",
				BAR_X - 0.5, s->row_y[s->g.range_row[r] + i] - 0.5,
				row_cols(s, r, i) + 1, ROW_H + 1);
	fputs("<path d=\"", f);
	for (unsigned row = 0; row < s->g.nr_rows; row++)
		for (unsigned q = 1; q < 4; q++)
			fprintf(f, "M%u %uv3", BAR_X + q * MAP_BAR_W / 4, s->row_y[row] + ROW_H + 1);
	fputs("\"/>\n</g>\n", f);
}

/* ---- the runs and their titles ------------------------------------------------ */

static void title_alloc(struct svg *s, const struct gm_map_alloc *a)
{
	char h[HUMAN_MAX];
	unsigned n = a->nr_blocks < TITLE_BLOCKS ? a->nr_blocks : TITLE_BLOCKS;

	put_esc(s->f, a->name);
	fprintf(s->f, "\n%s in %u block%s, from %s, owned by the %s", human(a->size, h),
		a->nr_blocks, a->nr_blocks == 1 ? "" : "s",
		a->from == GM_FROM_CMA ? "cma" : "buddy",
		a->owner == GM_OWNER_VM ? "vm" : "user");
	if (a->purpose[0]) {
		fputs(" (", s->f);
		put_esc(s->f, a->purpose);
		fputc(')', s->f);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct gm_block *b = &s->m->blocks[a->first + i];

		fprintf(s->f, "\n0x%llx+0x%llx order %u", (unsigned long long)b->gpa,
			(unsigned long long)b->size, b->order);
	}
	if (a->nr_blocks > n)
		fprintf(s->f, "\n\xe2\x80\xa6 %u more blocks", a->nr_blocks - n);
}

static void title_area(struct svg *s, unsigned k)
{
	char h[HUMAN_MAX];
	unsigned n = 0;

	put_esc(s->f, area_style[k].name);
	fprintf(s->f, ": %llu area%s, %s",
		(unsigned long long)s->area_n[k], s->area_n[k] == 1 ? "" : "s",
		human(s->area_b[k], h));
	for (unsigned i = 0; i < s->m->nr_areas && n < 8; i++) {
		if (s->m->areas[i].kind != k)
			continue;
		fputs(n++ ? ", " : ": ", s->f);
		put_esc(s->f, s->m->areas[i].label);
	}
}

static void write_title(struct svg *s, int cls)
{
	char h[HUMAN_MAX];

	fputs("<title>", s->f);
	if (cls >= MAP_CL_NAMED)
		title_alloc(s, &s->m->allocs[s->slot[cls - MAP_CL_NAMED]]);
	else if (cls == MAP_CL_SMALL)
		fprintf(s->f, "%zu smaller allocations, %s (named below)", s->nr_small,
			human(s->small_bytes, h));
	else if (cls == MAP_CL_OTHER)
		fputs(s->m->retired ? "neither free nor allocated: early ranges rounded to chunks, "
		      "memory being allocated or freed" : "not handed to the allocators yet (early phase)",
		      s->f);
	else if (cls >= MAP_CL_AREA)
		title_area(s, (unsigned)(cls - MAP_CL_AREA));
	else {
		put_esc(s->f, free_style[cls].name);
		fprintf(s->f, ": %llu blocks, %s, %llu known zero",
			(unsigned long long)s->free_n[cls], human(s->free_b[cls], h),
			(unsigned long long)s->free_clean[cls]);
	}
	fputs("</title>", s->f);
}

/* One <path> per class, a stroke segment per run. */
static int write_runs(struct svg *s)
{
	size_t nr_cls = MAP_CL_NAMED + s->nr_named, *start, *order;
	const struct map_run *runs = s->g.runs;

	start = calloc(nr_cls + 1, sizeof(*start));
	order = malloc((s->g.nr_runs ? s->g.nr_runs : 1) * sizeof(*order));
	if (!start || !order) {
		free(start);
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->g.nr_runs; i++)
		start[runs[i].cls + 1]++;
	for (size_t c = 0; c < nr_cls; c++)
		start[c + 1] += start[c];
	for (size_t i = 0; i < s->g.nr_runs; i++)
		order[start[runs[i].cls]++] = i;	/* start[c] ends at class c's end */
	fprintf(s->f, "<g fill=\"none\" stroke-width=\"%d\" shape-rendering=\"crispEdges\">\n", ROW_H);
	for (size_t c = 0, i = 0; c < nr_cls; c++) {
		unsigned row = ~0u, end = 0;
		char p[PAINT_MAX];

		if (i == start[c])
			continue;
		paint(s, (int)c, p);
		fprintf(s->f, "<path stroke=\"%s\" d=\"", p);
		for (; i < start[c]; i++) {
			const struct map_run *r = &runs[order[i]];

			if (r->row == row)
				fprintf(s->f, "m%u 0h%u", r->x - end, r->w);
			else
				fprintf(s->f, "M%u %uh%u", BAR_X + r->x, s->row_y[r->row] + ROW_H / 2, r->w);
			row = r->row;
			end = r->x + r->w;
		}
		fputs("\">", s->f);
		write_title(s, (int)c);
		fputs("</path>\n", s->f);
	}
	fputs("</g>\n", s->f);
	free(start);
	free(order);
	return 0;
}

/* ---- labels on the rows -------------------------------------------------------- */

/* Dark or light text over class @cls's colour. */
static const char *ink(const struct svg *s, int cls)
{
	char c[PAINT_MAX];
	unsigned r, g, b;

	if (cls >= MAP_CL_NAMED)
		alloc_colour(&s->m->allocs[s->slot[cls - MAP_CL_NAMED]], c);
	else if (cls >= MAP_CL_AREA && cls < MAP_CL_OTHER)
		snprintf(c, sizeof(c), "%s", area_style[cls - MAP_CL_AREA].fill);
	else
		paint(s, cls, c);
	if (sscanf(c, "#%2x%2x%2x", &r, &g, &b) != 3)
		return "#fff";
	return 299 * r + 587 * g + 114 * b < 150000 ? "#fff" : "#222";
}

static void label(struct svg *s, const struct map_run *r, const char *text)
{
	if (text_w(strlen(text)) + 10 > r->w)
		return;
	fprintf(s->f, "<text x=\"%u\" y=\"%u\" fill=\"%s\">", BAR_X + r->x + r->w / 2,
		s->row_y[r->row] + 12, ink(s, r->cls));
	put_esc(s->f, text);
	fputs("</text>\n", s->f);
}

/* The area that run @r starts in or overlaps first, or NULL. */
static const struct gm_map_area *area_at(const struct svg *s, const struct map_run *r)
{
	const struct gm_map_area *a = s->m->areas;
	uint64_t gpa = run_gpa(s, r), end = gpa + (uint64_t)r->w * s->g.bpp;
	unsigned lo = 0, hi = s->m->nr_areas;

	while (lo < hi) {	/* the first area ending after gpa */
		unsigned mid = lo + (hi - lo) / 2;

		if (a[mid].start + a[mid].size <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->m->nr_areas && a[lo].start < end ? &a[lo] : NULL;
}

/* Each named allocation's name on its longest run; areas' labels on theirs. */
static int write_labels(struct svg *s)
{
	size_t *best = malloc((s->nr_named ? s->nr_named : 1) * sizeof(*best));
	unsigned areas = 0;

	if (!best)
		return -ENOMEM;
	for (unsigned k = 0; k < s->nr_named; k++)
		best[k] = SIZE_MAX;
	fputs("<g font-size=\"10\" text-anchor=\"middle\">\n", s->f);
	for (size_t i = 0; i < s->g.nr_runs; i++) {
		const struct map_run *r = &s->g.runs[i];
		const struct gm_map_area *a;

		if (r->cls >= MAP_CL_NAMED) {
			size_t *b = &best[r->cls - MAP_CL_NAMED];

			if (*b == SIZE_MAX || r->w > s->g.runs[*b].w)
				*b = i;
		} else if (r->cls >= MAP_CL_AREA && r->cls < MAP_CL_OTHER &&
			   areas < AREA_LABELS && r->w >= 24 && (a = area_at(s, r))) {
			label(s, r, a->label);
			areas++;
		}
	}
	for (unsigned k = 0; k < s->nr_named; k++)
		if (best[k] != SIZE_MAX)
			label(s, &s->g.runs[best[k]], s->m->allocs[s->slot[k]].name);
	fputs("</g>\n", s->f);
	free(best);
	return 0;
}

/* ---- the key and the lists ------------------------------------------------------ */

static void swatch(struct svg *s, unsigned x, unsigned y, const char *p)
{
	fprintf(s->f, "<rect x=\"%u\" y=\"%u\" width=\"12\" height=\"12\" fill=\"%s\" "
		"stroke=\"#555\" stroke-width=\".5\"/>", x, y - 10, p);
}

static void key_item(struct svg *s, unsigned *x, const char *p, const char *text)
{
	unsigned w = 17 + text_w(strlen(text)) + 16;

	if (*x > MARGIN && *x + w > WIDTH - MARGIN) {
		*x = MARGIN;
		s->y += 18;
	}
	swatch(s, *x, s->y, p);
	fprintf(s->f, "<text x=\"%u\" y=\"%u\">", *x + 17, s->y);
	put_esc(s->f, text);
	fputs("</text>\n", s->f);
	*x += w;
}

static void write_key(struct svg *s)
{
	unsigned x = MARGIN;
	char p[PAINT_MAX];
	bool vm = false;

	s->y += 12;
	for (int c = MAP_CL_FREE; c < MAP_CL_AREA; c++)
		key_item(s, &x, free_style[c].fill, free_style[c].name);
	for (unsigned k = 0; k < GM_AREA_NR; k++) {
		if (!s->area_n[k])
			continue;
		paint(s, MAP_CL_AREA + (int)k, p);
		key_item(s, &x, p, area_style[k].name);
	}
	if (s->has_other)
		key_item(s, &x, OTHER_FILL, s->m->retired ? "neither free nor allocated" :
			 "not handed out yet (early phase)");
	if (s->nr_small)
		key_item(s, &x, SMALL_FILL, "smaller allocations");
	for (unsigned k = 0; k < s->nr_named; k++)
		vm |= s->m->allocs[s->slot[k]].owner == GM_OWNER_VM;
	if (vm)
		key_item(s, &x, "url(#vm)", "owned by the VM (hatched)");
	s->y += 12;
}

static void heading(struct svg *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void heading(struct svg *s, const char *fmt, ...)
{
	va_list ap;

	s->y += 26;
	fprintf(s->f, "<text x=\"%d\" y=\"%u\" font-size=\"12\" font-weight=\"bold\">", MARGIN, s->y);
	va_start(ap, fmt);
	vfprintf(s->f, fmt, ap);
	va_end(ap);
	fputs("</text>\n", s->f);
	s->y += 8;
}

#define LIST_LINE	17
#define LIST_COL	((WIDTH - 2 * MARGIN) / 2)

/* Entry @i of @n in a list of one or two columns (filled column by column). */
static void list_pos(unsigned i, unsigned n, unsigned cols, unsigned *x,
		     unsigned *dy)
{
	unsigned rows = (n + cols - 1) / cols;

	*x = MARGIN + (i / rows) * LIST_COL;
	*dy = (i % rows + 1) * LIST_LINE;
}

#define ENTRY_MAX	160

/* The text after an allocation's name in its list entry. */
static void alloc_entry(const struct svg *s, unsigned k, char buf[ENTRY_MAX])
{
	const struct gm_map_alloc *a = &s->m->allocs[s->slot[k]];
	const struct gm_block *last = &s->m->blocks[a->first + a->nr_blocks - 1];
	char h[HUMAN_MAX];

	snprintf(buf, ENTRY_MAX, " \xc2\xb7 %s \xc2\xb7 %u block%s \xc2\xb7 0x%llx\xe2\x80\x93" "0x%llx%s",
		 human(a->size, h), a->nr_blocks, a->nr_blocks == 1 ? "" : "s",
		 (unsigned long long)s->m->blocks[a->first].gpa,
		 (unsigned long long)(last->gpa + last->size),
		 a->owner == GM_OWNER_VM ? " \xc2\xb7 owned by the vm" : "");
}

static void write_allocs(struct svg *s)
{
	unsigned cols = 2, x, dy;
	char h[HUMAN_MAX], p[PAINT_MAX], tail[ENTRY_MAX];

	heading(s, "Allocations: %u, %s", s->m->nr_allocs, human(s->alloc_bytes, h));
	for (unsigned k = 0; k < s->nr_named; k++) {
		alloc_entry(s, k, tail);
		if (text_w(strlen(s->m->allocs[s->slot[k]].name) + strlen(tail)) + 24 > LIST_COL)
			cols = 1;
	}
	for (unsigned k = 0; k < s->nr_named; k++) {
		list_pos(k, s->nr_named, cols, &x, &dy);
		paint(s, MAP_CL_NAMED + (int)k, p);
		swatch(s, x, s->y + dy, p);
		fprintf(s->f, "<text x=\"%u\" y=\"%u\"><tspan font-weight=\"bold\">", x + 17, s->y + dy);
		put_esc(s->f, s->m->allocs[s->slot[k]].name);
		alloc_entry(s, k, tail);
		fprintf(s->f, "</tspan>%s</text>\n", tail);
	}
	s->y += (s->nr_named + cols - 1) / cols * LIST_LINE;
}

/* The allocations drawn in grey, by name in creation order, up to NAMES_BUDGET bytes. */
static void write_small(struct svg *s)
{
	char line[LINE_CHARS + GM_NAME_MAX + 8], h[HUMAN_MAX];
	size_t used = 0, listed = 0, pos = 0;

	if (!s->nr_small)
		return;
	s->y += 8;
	pos = (size_t)snprintf(line, sizeof(line), "In grey, %zu smaller allocations (%s):",
			       s->nr_small, human(s->small_bytes, h));
	for (unsigned i = 0; i <= s->m->nr_allocs; i++) {
		const char *name = i < s->m->nr_allocs ? s->m->allocs[i].name : NULL;
		bool more = name && used + strlen(name) > NAMES_BUDGET;

		if (name && s->named[i] != MAP_CL_SMALL)
			continue;
		if (more)
			name = NULL;
		if (!name || pos + 2 + strlen(name) > LINE_CHARS) {
			s->y += 15;
			fprintf(s->f, "<text x=\"%d\" y=\"%u\" fill=\"#444\">", MARGIN, s->y);
			put_esc(s->f, line);
			if (!name && listed < s->nr_small)
				fprintf(s->f, " \xe2\x80\xa6 and %zu more", s->nr_small - listed);
			fputs("</text>\n", s->f);
			pos = 0;
			line[0] = '\0';
		}
		if (!name)
			break;
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s",
					pos ? " " : "", name);
		used += strlen(name) + 1;
		listed++;
	}
}

static void write_areas(struct svg *s)
{
	unsigned n = s->m->nr_areas < AREAS_LISTED ? s->m->nr_areas : AREAS_LISTED;
	unsigned x, dy;
	char h[HUMAN_MAX], p[PAINT_MAX];

	if (!s->m->nr_areas)
		return;
	heading(s, "Reserved areas: %u", s->m->nr_areas);
	for (unsigned i = 0; i < n; i++) {
		const struct gm_map_area *a = &s->m->areas[i];

		list_pos(i, n, 2, &x, &dy);
		paint(s, MAP_CL_AREA + (int)a->kind, p);
		swatch(s, x, s->y + dy, p);
		fprintf(s->f, "<text x=\"%u\" y=\"%u\"><tspan font-weight=\"bold\">", x + 17, s->y + dy);
		put_esc(s->f, a->label);
		fputs("</tspan> \xc2\xb7 ", s->f);
		put_esc(s->f, area_style[a->kind].name);
		fprintf(s->f, " \xc2\xb7 0x%llx\xe2\x80\x93" "0x%llx \xc2\xb7 %s</text>\n",
			(unsigned long long)a->start,
			(unsigned long long)(a->start + a->size), human(a->size, h));
	}
	s->y += (n + 1) / 2 * LIST_LINE;
	if (n < s->m->nr_areas) {
		s->y += 15;
		fprintf(s->f, "<text x=\"%d\" y=\"%u\" fill=\"#444\">\xe2\x80\xa6 and %u more</text>\n",
			MARGIN, s->y, s->m->nr_areas - n);
	}
}

/* ---- the picture ------------------------------------------------------------ */

static int write_body(struct svg *s)
{
	int ret;

	write_defs(s);
	write_top(s);
	write_rows(s);
	ret = write_runs(s);
	if (!ret)
		ret = write_labels(s);
	if (ret)
		return ret;
	write_frames(s);
	write_key(s);
	write_allocs(s);
	write_small(s);
	write_areas(s);
	return 0;
}

/* Close memstream @f into *@p; -ENOMEM if any write failed. */
static int close_text(FILE *f, char **p)
{
	bool bad = ferror(f);

	if (fclose(f) || bad) {
		free(*p);
		*p = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * gm_map_svg() - see guestmem.h. The body is written first, so the header
 * can give the height it came to.
 */
int gm_map_svg(const struct gm_node_map *m, char **out, size_t *len)
{
	struct svg s = { .m = m };
	char *body = NULL, *text = NULL;
	size_t blen = 0, tlen = 0;
	FILE *f;
	int ret;

	if (!m || !out || !len)
		return -EINVAL;
	ret = pick_named(&s);
	if (!ret)
		ret = map_grid_build(&s.g, m, s.named);
	if (ret)
		goto out;
	count(&s);
	s.row_y = calloc(s.g.nr_rows ? s.g.nr_rows : 1, sizeof(*s.row_y));
	s.f = s.row_y ? open_memstream(&body, &blen) : NULL;
	if (!s.f) {
		ret = -ENOMEM;
		goto out;
	}
	ret = write_body(&s);
	if (close_text(s.f, &body) && !ret)
		ret = -ENOMEM;
	if (ret)
		goto out;
	f = open_memstream(&text, &tlen);
	if (!f) {
		ret = -ENOMEM;
		goto out;
	}
	s.y += MARGIN;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
		"viewBox=\"0 0 %d %u\" font-family=\"DejaVu Sans,Verdana,sans-serif\" font-size=\"11\">\n"
		"<title>kvmem: node %u memory map</title>\n"
		"<rect width=\"%d\" height=\"%u\" fill=\"#fff\"/>\n",
		WIDTH, s.y, WIDTH, s.y, m->node, WIDTH, s.y);
	fwrite(body, 1, blen, f);
	fputs("</svg>\n", f);
	ret = close_text(f, &text);
	if (!ret) {
		*out = text;
		*len = tlen;
	}
out:
	free(body);
	free(s.row_y);
	free(s.named);
	free(s.slot);
	map_grid_release(&s.g);
	return ret;
}
