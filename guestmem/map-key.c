// SPDX-License-Identifier: MIT
/*
 * map-key.c - the bottom of a node's picture (map-svg.c): the key of
 * colours, the named allocations (colour, name, size, blocks, span), the
 * others by name within a byte budget, and the reserved areas.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "map.h"

/* ---- the key and the lists ------------------------------------------------------ */

static void swatch(struct svg *s, unsigned x, unsigned y, const char *p)
{
	fprintf(s->f, "<rect x=\"%u\" y=\"%u\" width=\"12\" height=\"12\" fill=\"%s\" "
		"stroke=\"#555\" stroke-width=\".5\"/>", x, y - 10, p);
}

static void key_item(struct svg *s, unsigned *x, const char *p, const char *text)
{
	unsigned w = 17 + map_text_w(strlen(text)) + 16;

	if (*x > MARGIN && *x + w > WIDTH - MARGIN) {
		*x = MARGIN;
		s->y += 18;
	}
	swatch(s, *x, s->y, p);
	fprintf(s->f, "<text x=\"%u\" y=\"%u\">", *x + 17, s->y);
	map_put_esc(s->f, text);
	fputs("</text>\n", s->f);
	*x += w;
}

void map_write_key(struct svg *s)
{
	unsigned x = MARGIN;
	char p[PAINT_MAX];
	bool vm = false;

	s->y += 12;
	for (int c = MAP_CL_FREE; c < MAP_CL_AREA; c++)
		key_item(s, &x, map_free_style[c].fill, map_free_style[c].name);
	for (unsigned k = 0; k < GM_AREA_NR; k++) {
		if (!s->area_n[k])
			continue;
		map_paint(s, MAP_CL_AREA + (int)k, p);
		key_item(s, &x, p, map_area_style[k].name);
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
		 map_human(a->size, h), a->nr_blocks, a->nr_blocks == 1 ? "" : "s",
		 (unsigned long long)s->m->blocks[a->first].gpa,
		 (unsigned long long)(last->gpa + last->size),
		 a->owner == GM_OWNER_VM ? " \xc2\xb7 owned by the vm" : "");
}

void map_write_allocs(struct svg *s)
{
	unsigned cols = 2, x, dy;
	char h[HUMAN_MAX], p[PAINT_MAX], tail[ENTRY_MAX];

	heading(s, "Allocations: %u, %s", s->m->nr_allocs, map_human(s->alloc_bytes, h));
	for (unsigned k = 0; k < s->nr_named; k++) {
		alloc_entry(s, k, tail);
		if (map_text_w(strlen(s->m->allocs[s->slot[k]].name) + strlen(tail)) + 24 > LIST_COL)
			cols = 1;
	}
	for (unsigned k = 0; k < s->nr_named; k++) {
		list_pos(k, s->nr_named, cols, &x, &dy);
		map_paint(s, MAP_CL_NAMED + (int)k, p);
		swatch(s, x, s->y + dy, p);
		fprintf(s->f, "<text x=\"%u\" y=\"%u\"><tspan font-weight=\"bold\">", x + 17, s->y + dy);
		map_put_esc(s->f, s->m->allocs[s->slot[k]].name);
		alloc_entry(s, k, tail);
		fprintf(s->f, "</tspan>%s</text>\n", tail);
	}
	s->y += (s->nr_named + cols - 1) / cols * LIST_LINE;
}

/* The allocations drawn in grey, by name in creation order, up to NAMES_BUDGET bytes. */
void map_write_small(struct svg *s)
{
	char line[LINE_CHARS + GM_NAME_MAX + 8], h[HUMAN_MAX];
	size_t used = 0, listed = 0, pos = 0;

	if (!s->nr_small)
		return;
	s->y += 8;
	pos = (size_t)snprintf(line, sizeof(line), "In grey, %zu smaller allocations (%s):",
			       s->nr_small, map_human(s->small_bytes, h));
	for (unsigned i = 0; i <= s->m->nr_allocs; i++) {
		const char *name = i < s->m->nr_allocs ? s->m->allocs[i].name : NULL;
		bool more = name && used + map_esc_len(name) > NAMES_BUDGET;

		if (name && s->named[i] != MAP_CL_SMALL)
			continue;
		if (more)
			name = NULL;
		if (!name || pos + 2 + strlen(name) > LINE_CHARS) {
			s->y += 15;
			fprintf(s->f, "<text x=\"%d\" y=\"%u\" fill=\"#444\">", MARGIN, s->y);
			map_put_esc(s->f, line);
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
		used += map_esc_len(name) + 1;
		listed++;
	}
}

void map_write_areas(struct svg *s)
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
		map_paint(s, MAP_CL_AREA + (int)a->kind, p);
		swatch(s, x, s->y + dy, p);
		fprintf(s->f, "<text x=\"%u\" y=\"%u\"><tspan font-weight=\"bold\">", x + 17, s->y + dy);
		map_put_esc(s->f, a->label);
		fputs("</tspan> \xc2\xb7 ", s->f);
		map_put_esc(s->f, map_area_style[a->kind].name);
		fprintf(s->f, " \xc2\xb7 0x%llx\xe2\x80\x93" "0x%llx \xc2\xb7 %s</text>\n",
			(unsigned long long)a->start,
			(unsigned long long)(a->start + a->size), map_human(a->size, h));
	}
	s->y += (n + 1) / 2 * LIST_LINE;
	if (n < s->m->nr_areas) {
		s->y += 15;
		fprintf(s->f, "<text x=\"%d\" y=\"%u\" fill=\"#444\">\xe2\x80\xa6 and %u more</text>\n",
			MARGIN, s->y, s->m->nr_areas - n);
	}
}
