// SPDX-License-Identifier: MIT
/*
 * map-rows.c - the top of a node's picture (map-svg.c): its title and
 * summary, the rows of the grid (map-grid.c) with their start addresses,
 * ticks and the breaks between ranges, the runs of equal columns drawn as
 * one <path> per class with its <title>, and labels on the longest runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

/* ---- the rows --------------------------------------------------------------- */

void map_write_top(struct svg *s)
{
	const struct gm_node_map *m = s->m;
	char a[HUMAN_MAX], b[HUMAN_MAX], c[HUMAN_MAX];
	uint64_t nr_free = 0;

	for (unsigned i = 0; i < MAP_NR_FREE; i++)
		nr_free += s->free_n[i];
	fprintf(s->f, "<text x=\"%d\" y=\"26\" font-size=\"16\" font-weight=\"bold\">"
		"kvmem \xc2\xb7 node %u \xc2\xb7 %s of guest memory at 0x%llx\xe2\x80\x93" "0x%llx</text>\n",
		MARGIN, m->node, map_human(m->size, a), (unsigned long long)m->start,
		(unsigned long long)m->end);
	fprintf(s->f, "<text x=\"%d\" y=\"46\" fill=\"#333\">", MARGIN);
	if (!m->retired)
		fputs("early phase: nothing is free or allocated yet", s->f);
	else
		fprintf(s->f, "%s allocated in %u allocation%s \xc2\xb7 %s free in %llu block%s, the largest %s",
			map_human(s->alloc_bytes, a), m->nr_allocs, m->nr_allocs == 1 ? "" : "s",
			map_human(m->avail, b), (unsigned long long)nr_free, nr_free == 1 ? "" : "s",
			map_human(s->free_max, c));
	if (m->cma_size)
		fprintf(s->f, " \xc2\xb7 CMA %s, %s used", map_human(m->cma_size, a),
			map_human(m->cma_used, b));
	if (s->area_n[GM_AREA_HOTPLUG])
		fprintf(s->f, " \xc2\xb7 hot-plug %s in %llu region%s",
			map_human(s->area_b[GM_AREA_HOTPLUG], a),
			(unsigned long long)s->area_n[GM_AREA_HOTPLUG],
			s->area_n[GM_AREA_HOTPLUG] == 1 ? "" : "s");
	fputs("</text>\n", s->f);
	fprintf(s->f, "<text x=\"%d\" y=\"63\" fill=\"#666\" font-size=\"10\">scale: 1 pixel = %s, "
		"1 row = %s (a pixel shows what most of its bytes are) \xc2\xb7 "
		"hover over a colour for its details</text>\n",
		MARGIN, map_human(s->g.bpp, a), map_human(s->g.row_bytes, b));
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
		hs == GM_MMIO_HOLE_START && he == GM_MMIO_HOLE_END ? "32-bit MMIO hole" : "gap",
		(unsigned long long)hs, (unsigned long long)he, map_human(he - hs, a));
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
			q ? map_human(s->g.row_bytes / 4 * q, a) : "0");
	s->y += 13;
}

void map_write_rows(struct svg *s)
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
void map_write_frames(struct svg *s)
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

	map_put_esc(s->f, a->name);
	fprintf(s->f, "\n%s in %u block%s, from %s, owned by the %s", map_human(a->size, h),
		a->nr_blocks, a->nr_blocks == 1 ? "" : "s",
		a->from == GM_FROM_CMA ? "cma" :
		a->from == GM_FROM_HOTPLUG ? "hotplug" : "buddy",
		a->owner == GM_OWNER_VM ? "vm" : "user");
	if (a->purpose[0]) {
		fputs(" (", s->f);
		map_put_esc(s->f, a->purpose);
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

	map_put_esc(s->f, map_area_style[k].name);
	fprintf(s->f, ": %llu area%s, %s",
		(unsigned long long)s->area_n[k], s->area_n[k] == 1 ? "" : "s",
		map_human(s->area_b[k], h));
	for (unsigned i = 0; i < s->m->nr_areas && n < 8; i++) {
		if (s->m->areas[i].kind != k)
			continue;
		fputs(n++ ? ", " : ": ", s->f);
		map_put_esc(s->f, s->m->areas[i].label);
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
			map_human(s->small_bytes, h));
	else if (cls == MAP_CL_OTHER)
		fputs(s->m->retired ? "neither free nor allocated: early ranges rounded to chunks, "
		      "memory being allocated or freed" : "not handed to the allocators yet (early phase)",
		      s->f);
	else if (cls >= MAP_CL_AREA)
		title_area(s, (unsigned)(cls - MAP_CL_AREA));
	else {
		map_put_esc(s->f, map_free_style[cls].name);
		fprintf(s->f, ": %llu blocks, %s, %llu known zero",
			(unsigned long long)s->free_n[cls], map_human(s->free_b[cls], h),
			(unsigned long long)s->free_clean[cls]);
	}
	fputs("</title>", s->f);
}

/* One <path> per class, a stroke segment per run. */
int map_write_runs(struct svg *s)
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
		map_paint(s, (int)c, p);
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
		map_alloc_colour(&s->m->allocs[s->slot[cls - MAP_CL_NAMED]], c);
	else if (cls >= MAP_CL_AREA && cls < MAP_CL_OTHER)
		snprintf(c, sizeof(c), "%s", map_area_style[cls - MAP_CL_AREA].fill);
	else
		map_paint(s, cls, c);
	if (sscanf(c, "#%2x%2x%2x", &r, &g, &b) != 3)
		return "#fff";
	return 299 * r + 587 * g + 114 * b < 150000 ? "#fff" : "#222";
}

static void label(struct svg *s, const struct map_run *r, const char *text)
{
	if (map_text_w(strlen(text)) + 10 > r->w)
		return;
	fprintf(s->f, "<text x=\"%u\" y=\"%u\" fill=\"%s\">", BAR_X + r->x + r->w / 2,
		s->row_y[r->row] + 12, ink(s, r->cls));
	map_put_esc(s->f, text);
	fputs("</text>\n", s->f);
}

/* The area that run @r starts in or overlaps first, or NULL. */
static const struct gm_map_area *area_at(const struct svg *s, const struct map_run *r)
{
	const struct gm_map_area *a = s->m->areas;
	uint64_t gpa = map_run_gpa(s, r), end = gpa + (uint64_t)r->w * s->g.bpp;
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
int map_write_labels(struct svg *s)
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
