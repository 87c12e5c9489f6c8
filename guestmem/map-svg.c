// SPDX-License-Identifier: MIT
/*
 * map-svg.c - gm_map_svg(): a node map (map.c) drawn as an SVG picture,
 * with the text and colour helpers its parts share.
 *
 * Top to bottom: a title and a summary line; the node's ranges as rows of
 * the grid (map-grid.c), each row labelled with its start address and
 * ticked at quarters, the hole between ranges as a break (map-rows.c); then
 * the key (free-block size classes, the area kinds present), the
 * allocations (colour, name, size, blocks, span) and the reserved areas
 * (map-key.c).
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

/* How a kind of reserved area is drawn: the one table to extend. */
const struct map_area_style map_area_style[GM_AREA_NR] = {
	[GM_AREA_EARLY_RAM]	 = { "#8d7766", NULL, "early RAM (boot data)" },
	[GM_AREA_EARLY_RESERVED] = { "#505862", NULL, "early reserved" },
	[GM_AREA_EARLY_ACPI]	 = { "#9d86c6", NULL, "ACPI tables" },
	[GM_AREA_CMA]		 = { "#fbf0c8", "#dcb54c", "CMA area, free" },
	[GM_AREA_HOTPLUG]	 = { "#e3ebf8", "#7f9cc9", "hot-plug region, unplugged" },
};

/* Free blocks by size class, largest first (map_free_class()). */
const struct map_free_style map_free_style[MAP_NR_FREE] = {
	{ "#d8eee3", "free, blocks \xe2\x89\xa5 64 MiB" },
	{ "#b3dcc6", "free, 2\xe2\x80\x93" "64 MiB" },
	{ "#efe19c", "free, 256 KiB\xe2\x80\x93" "2 MiB" },
	{ "#f2bd8b", "free, 32\xe2\x80\x93" "256 KiB" },
	{ "#ea8b7b", "free, < 32 KiB" },
};

/* ---- text ------------------------------------------------------------------ */

/*
 * The length of the valid UTF-8 character at @s (1 for ASCII), 0 if none:
 * XML refuses control bytes and broken UTF-8, so those are written as '?'.
 */
static unsigned utf8_len(const unsigned char *s)
{
	unsigned n = s[0] < 0x20 || s[0] == 0x7f ? 0 : s[0] < 0x80 ? 1 :
		     s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
		     s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;	/* overlong, surrogate, beyond U+10FFFF */
	for (unsigned i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* The bytes map_put_esc() writes for @s. */
size_t map_esc_len(const char *s)
{
	size_t n = 0;

	while (*s) {
		unsigned l = utf8_len((const unsigned char *)s);

		n += *s == '&' ? 5 : *s == '<' || *s == '>' ? 4 :
		     *s == '"' || *s == '\'' ? 6 : l ? l : 1;
		s += l ? l : 1;
	}
	return n;
}

/* @s as XML character data or attribute value: escaped, valid UTF-8 only. */
void map_put_esc(FILE *f, const char *s)
{
	while (*s) {
		unsigned l = utf8_len((const unsigned char *)s);

		switch (*s) {
		case '&':  fputs("&amp;", f); break;
		case '<':  fputs("&lt;", f); break;
		case '>':  fputs("&gt;", f); break;
		case '"':  fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (l)
				fwrite(s, 1, l, f);
			else
				fputc('?', f);
		}
		s += l ? l : 1;
	}
}

/* @v bytes for people: "1 GiB", "1.5 GiB", "4 KiB", "100 B". */
const char *map_human(uint64_t v, char buf[HUMAN_MAX])
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

unsigned map_text_w(size_t chars)
{
	return (unsigned)(chars * CHAR_W + 0.5);
}

/* ---- colours ---------------------------------------------------------------- */

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
void map_alloc_colour(const struct gm_map_alloc *a, char buf[PAINT_MAX])
{
	double h = (double)((a->id % 360000) * 137508 % 360000) / 1000;

	if (a->owner == GM_OWNER_VM)
		hsl(buf, h, 0.30, 0.40);
	else
		hsl(buf, h, 0.62, 0.44 + 0.06 * (double)(a->id % 3));
}

/* The map_paint of class @cls: a colour or a pattern of the defs. */
void map_paint(const struct svg *s, int cls, char buf[PAINT_MAX])
{
	if (cls >= MAP_CL_NAMED) {
		unsigned k = (unsigned)(cls - MAP_CL_NAMED);
		const struct gm_map_alloc *a = &s->m->allocs[s->slot[k]];

		if (a->owner == GM_OWNER_VM)
			snprintf(buf, PAINT_MAX, "url(#n%u)", k);
		else
			map_alloc_colour(a, buf);
	} else if (cls >= MAP_CL_AREA && cls < MAP_CL_OTHER) {
		const struct map_area_style *st = &map_area_style[cls - MAP_CL_AREA];

		if (st->stripe)
			snprintf(buf, PAINT_MAX, "url(#k%d)", cls - MAP_CL_AREA);
		else
			snprintf(buf, PAINT_MAX, "%s", st->fill);
	} else if (cls >= MAP_CL_FREE && cls < MAP_CL_AREA) {
		snprintf(buf, PAINT_MAX, "%s", map_free_style[cls].fill);
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
		if (!map_area_style[k].stripe)
			continue;
		snprintf(id, sizeof(id), "k%u", k);
		stripes(s->f, id, map_area_style[k].fill, map_area_style[k].stripe, "1");
	}
	stripes(s->f, "vm", "#5a6577", "#fff", ".4");
	for (unsigned k = 0; k < s->nr_named; k++) {
		const struct gm_map_alloc *a = &s->m->allocs[s->slot[k]];

		if (a->owner != GM_OWNER_VM)
			continue;
		snprintf(id, sizeof(id), "n%u", k);
		map_alloc_colour(a, c);
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
uint64_t map_run_gpa(const struct svg *s, const struct map_run *r)
{
	unsigned i = s->m->nr_ranges;

	while (--i && r->row < s->g.range_row[i])
		;
	return s->m->range[i].start +
	       (uint64_t)(r->row - s->g.range_row[i]) * s->g.row_bytes +
	       (uint64_t)r->x * s->g.bpp;
}

/* ---- the picture ------------------------------------------------------------ */

static int write_body(struct svg *s)
{
	int ret;

	write_defs(s);
	map_write_top(s);
	map_write_rows(s);
	ret = map_write_runs(s);
	if (!ret)
		ret = map_write_labels(s);
	if (ret)
		return ret;
	map_write_frames(s);
	map_write_key(s);
	map_write_allocs(s);
	map_write_small(s);
	map_write_areas(s);
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
