// SPDX-License-Identifier: MIT
/*
 * test_map.c - a node's picture (guestmem/map*.c): the snapshot agrees with
 * the allocators, the SVG parses as XML (libxml2) with names escaped, it
 * names every allocation, shows early ranges, CMA and a node's hot-plug
 * region (--hotplug) with its plugged blocks, and stays under GM_MAP_SVG_MAX bytes at 100,000 free
 * fragments beside 100,000 live allocations with the longest names.
 * Rendering with rsvg-convert is tests/replay/map.sh's.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "helpers.h"

/* Every text node of the document, each followed by a newline. */
static void collect(xmlNode *n, char **buf, size_t *len, size_t *cap)
{
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE && n->content) {
			size_t l = strlen((const char *)n->content);

			while (*len + l + 2 > *cap) {
				*cap = *cap ? 2 * *cap : 4096;
				*buf = realloc(*buf, *cap);
				ck_assert_ptr_nonnull(*buf);
			}
			memcpy(*buf + *len, n->content, l);
			*len += l;
			(*buf)[(*len)++] = '\n';
			(*buf)[*len] = '\0';
		}
		collect(n->children, buf, len, cap);
	}
}

/* Parse @svg (failing the test unless well-formed); its text, malloc'd. */
static char *svg_text(const char *svg, size_t len)
{
	xmlDoc *doc = xmlReadMemory(svg, (int)len, "map.svg", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_HUGE);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	xmlNode *root;

	ck_assert_msg(doc, "map.svg is not well-formed XML");
	root = xmlDocGetRootElement(doc);
	ck_assert_str_eq((const char *)root->name, "svg");
	collect(root, &buf, &n, &cap);
	xmlFreeDoc(doc);
	return buf ? buf : strdup("");
}

/* @word appears in @text as a whole word (between blanks, or as a line). */
static bool has_word(const char *text, const char *word)
{
	size_t l = strlen(word);

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
		bool left = p == text || p[-1] == ' ' || p[-1] == '\n';
		bool right = !p[l] || p[l] == ' ' || p[l] == '\n';

		if (left && right)
			return true;
	}
	return false;
}

static char *node_svg(struct gm_mem *mem, unsigned node, size_t *len)
{
	char *svg = NULL;

	ck_assert_int_eq(gm_node_svg(mem, node, &svg, len), 0);
	ck_assert_ptr_nonnull(svg);
	ck_assert_uint_eq(strlen(svg), *len);
	ck_assert_uint_le(*len, GM_MAP_SVG_MAX);
	return svg;
}

/*
 * Expect: names the renderer is handed as they are (a user's '&', '<',
 * quotes, a control byte, broken and valid UTF-8) come out escaped, and the
 * parsed text gives them back exactly (what XML cannot hold as '?').
 */
START_TEST(test_escape)
{
	struct gm_block blocks[3] = {
		{ .gpa = 0, .size = 4 * MIB, .order = 10 },
		{ .gpa = 8 * MIB, .size = 1 * MIB, .order = 8 },
		{ .gpa = 16 * MIB, .size = 2 * MIB, .order = 9 },
	};
	struct gm_block fr = { .gpa = 32 * MIB, .size = 32 * MIB, .order = 13 };
	struct gm_map_alloc allocs[3] = {
		{ .id = 1, .name = "a&b", .size = 4 * MIB, .first = 0, .nr_blocks = 1 },
		{ .id = 2, .name = "<tag>", .size = 1 * MIB, .first = 1, .nr_blocks = 1,
		  .owner = GM_OWNER_VM, .purpose = "guest & \"RAM\"" },
		{ .id = 3, .name = "q\"u'o\x01\xff\xc3\xa9\xe0\x80", .size = 2 * MIB, .first = 2, .nr_blocks = 1 },
	};
	struct gm_map_area area = { .start = 4 * MIB, .size = 4 * MIB,
				    .kind = GM_AREA_EARLY_ACPI, .label = "x<&>\"'" };
	struct gm_node_map m = {
		.start = 0, .end = 64 * MIB, .size = 64 * MIB, .chunk = 4 * KIB,
		.retired = true, .nr_ranges = 1, .range = { { .start = 0, .size = 64 * MIB } },
		.avail = 32 * MIB, .areas = &area, .nr_areas = 1, .allocs = allocs,
		.nr_allocs = 3, .blocks = blocks, .nr_blocks = 3, .free = &fr, .nr_free = 1,
	};
	char *svg = NULL, *text;
	size_t len = 0;

	ck_assert_int_eq(gm_map_svg(&m, &svg, &len), 0);
	ck_assert_ptr_null(strstr(svg, "a&b"));
	ck_assert_ptr_nonnull(strstr(svg, "a&amp;b"));
	ck_assert_ptr_nonnull(strstr(svg, "&lt;tag&gt;"));
	text = svg_text(svg, len);
	ck_assert_ptr_nonnull(strstr(text, "a&b\n"));	/* its title's first line */
	ck_assert_ptr_nonnull(strstr(text, "<tag>\n"));
	ck_assert_ptr_nonnull(strstr(text, "q\"u'o??\xc3\xa9??\n"));
	ck_assert_ptr_nonnull(strstr(text, "free, 2\xe2\x80\x93" "64 MiB"));	/* the key's own UTF-8 */
	ck_assert_ptr_nonnull(strstr(text, "(guest & \"RAM\")"));
	ck_assert_ptr_nonnull(strstr(text, "x<&>\"'"));
	ck_assert_ptr_null(strchr(text, '\x01'));
	free(text);
	free(svg);
}
END_TEST

/*
 * Expect: a pool with 200 user allocations, the VM's RAM, early ranges
 * (one label full of XML's special characters) and a CMA allocation: the
 * snapshot agrees with the allocators, and the picture parses and names
 * every allocation and every early range's label.
 */
START_TEST(test_names_every_allocation)
{
	struct gm_mem *mem = mkmem("0:1G", 0, "0:64M", false);
	struct gm_node_map *m;
	struct gm_error e;
	char *svg, *text, name[GM_NAME_MAX + 1];
	uint64_t free_b = 0, gpa;
	size_t len;
	int ret;

	ck_assert_int_eq(gm_early_reserve(mem, 16 * MIB, 8 * MIB, GM_EARLY_RAM,
					  "boot & \"setup\" <x>", &e), 0);
	ck_assert_int_eq(gm_early_alloc(mem, 0, 64 * KIB, 4 * KIB, GM_WINDOW_LOW,
					GM_EARLY_ACPI, "acpi", &gpa, &e), 0);
	ck_assert_int_eq(gm_mem_retire(mem, &e), 0);
	{
		struct gm_request r = mkreq("vm.ram0", 0, 128 * MIB, 0, GM_MODE_RANGE,
					    GM_F_NOCLEAR);

		r.owner = GM_OWNER_VM;
		r.range_start = 64 * MIB;
		r.range_end = 192 * MIB;
		gm_alloc_info_free(alloc_info(mem, &r, &ret));
		ck_assert_int_eq(ret, 0);
	}
	for (unsigned i = 0; i < 200; i++) {
		struct gm_request r = mkreq(NULL, 0, (4 * KIB) << (i % 9), 0,
					    GM_MODE_SIMPLE, 0);

		snprintf(r.name, sizeof(r.name), "job-%u", i);
		gm_alloc_info_free(alloc_info(mem, &r, &ret));
		ck_assert_int_eq(ret, 0);
	}
	{
		struct gm_request r = mkreq("dma", 0, 8 * MIB, 0, GM_MODE_SIMPLE, 0);

		r.from = GM_FROM_CMA;
		gm_alloc_info_free(alloc_info(mem, &r, &ret));
		ck_assert_int_eq(ret, 0);
	}

	ck_assert_int_eq(gm_node_map_take(mem, 0, &m), 0);
	ck_assert_uint_eq(m->nr_allocs, 202);
	for (size_t i = 0; i < m->nr_free; i++)
		free_b += m->free[i].size;
	ck_assert_uint_eq(free_b, m->avail);
	ck_assert_uint_eq(m->avail, nstat(mem, 0).avail);
	ck_assert_uint_eq(m->cma_used, 8 * MIB);
	gm_node_map_free(m);

	svg = node_svg(mem, 0, &len);
	text = svg_text(svg, len);
	for (unsigned i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "job-%u", i);
		ck_assert_msg(has_word(text, name), "%s not named", name);
	}
	ck_assert(has_word(text, "vm.ram0"));
	ck_assert(has_word(text, "dma"));
	ck_assert_ptr_nonnull(strstr(text, "boot & \"setup\" <x>"));
	ck_assert_ptr_nonnull(strstr(text, "acpi"));
	ck_assert_ptr_nonnull(strstr(text, "CMA area"));
	free(text);
	free(svg);
	ck_assert_int_eq(gm_node_svg(mem, 1, &svg, &len), -EINVAL);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Expect: 200,000 4 KiB allocations with 63-character names, every other
 * one freed, leave 100,000 free fragments and 100,000 allocations; the
 * picture still parses and stays under GM_MAP_SVG_MAX, and says how many
 * allocations it did not list by name.
 */
START_TEST(test_fragmented_bound)
{
	struct gm_mem *mem = mkmem("0:1G", 0, NULL, true);
	struct gm_node_map *m;
	struct gm_error e;
	char *svg, *text, name[GM_NAME_MAX + 1];
	size_t len;
	int ret;

	for (unsigned i = 0; i < 200000; i++) {
		struct gm_request r = mkreq(NULL, 0, 4 * KIB, 0, GM_MODE_SIMPLE, 0);

		snprintf(r.name, sizeof(r.name), "fragment-%054u", i);
		ck_assert_uint_eq(strlen(r.name), GM_NAME_MAX);
		ret = gm_alloc(mem, &r, NULL, &e);
		ck_assert_msg(ret == 0, "%u: %s", i, e.msg);
	}
	for (unsigned i = 0; i < 200000; i += 2) {
		snprintf(name, sizeof(name), "fragment-%054u", i);
		ck_assert_int_eq(gm_free(mem, name, &e), 0);
	}
	ck_assert_int_eq(gm_node_map_take(mem, 0, &m), 0);
	ck_assert_uint_ge(m->nr_free, 100000);
	ck_assert_uint_eq(m->nr_allocs, 100000);
	gm_node_map_free(m);

	svg = node_svg(mem, 0, &len);
	text = svg_text(svg, len);
	ck_assert_ptr_nonnull(strstr(text, "more"));
	ck_assert_ptr_nonnull(strstr(text, "free, < 32 KiB: "));
	fprintf(stderr, "test_map: %zu bytes at 100,000 fragments\n", len);
	free(text);
	free(svg);
	gm_mem_destroy(mem);
}
END_TEST

/*
 * Expect: the worst the renderer can be handed: 1 GiB of 4 KiB chunks,
 * every other one a free fragment and every other one an allocation with
 * a 63-character name made of XML's special characters (each 4 to 6 bytes
 * escaped), the first 256 VM-owned with 8 blocks and a long purpose, 32
 * early ranges with such labels, a CMA area, and a hot-plug region over
 * the last 256 MiB whose every allocation is a VM-owned plug (from=hotplug):
 * still well-formed and under GM_MAP_SVG_MAX.
 */
#define HP_START	(768 * MIB)

START_TEST(test_worst_case)
{
	const unsigned nr = 131072, nr_areas = 32 + 1 + 1;
	struct gm_node_map m = {
		.start = 0, .end = 1 * GIB, .size = 1 * GIB, .chunk = 4 * KIB,
		.retired = true, .nr_ranges = 1, .range = { { .start = 0, .size = 1 * GIB } },
	};
	char *svg = NULL, *text;
	size_t len = 0;

	m.allocs = calloc(nr, sizeof(*m.allocs));
	m.blocks = calloc(nr + 256 * 7, sizeof(*m.blocks));
	m.free = calloc(nr, sizeof(*m.free));
	m.areas = calloc(nr_areas, sizeof(*m.areas));
	ck_assert(m.allocs && m.blocks && m.free && m.areas);
	for (unsigned i = 0; i < nr; i++) {
		struct gm_map_alloc *a = &m.allocs[i];
		unsigned nb = i < 256 ? 8 : 1;

		a->id = i + 1;
		for (unsigned k = 0; k < GM_NAME_MAX; k++)
			a->name[k] = "&<>\"'"[(i + k) % 5];
		a->size = 4 * KIB * nb;
		a->first = m.nr_blocks;
		a->nr_blocks = nb;
		if (i < 256) {
			a->owner = GM_OWNER_VM;
			memset(a->purpose, '"', GM_PURPOSE_MAX - 1);
		}
		if ((uint64_t)i * 8 * KIB >= HP_START) {	/* a plug of the region */
			a->owner = GM_OWNER_VM;
			a->from = GM_FROM_HOTPLUG;
		}
		for (unsigned k = 0; k < nb; k++)	/* the VM's extra blocks repeat its first */
			m.blocks[m.nr_blocks++] = (struct gm_block){
				.gpa = (uint64_t)i * 8 * KIB, .size = 4 * KIB };
		m.free[i] = (struct gm_block){ .gpa = (uint64_t)i * 8 * KIB + 4 * KIB,
					       .size = 4 * KIB };
	}
	m.nr_allocs = nr;
	m.nr_free = nr;
	m.avail = nr * 4 * KIB;
	for (unsigned i = 0; i < nr_areas; i++) {
		struct gm_map_area *a = &m.areas[i];

		a->start = (uint64_t)i * 16 * MIB;
		a->size = 16 * KIB;
		a->kind = i < 32 ? GM_AREA_EARLY_RAM : GM_AREA_CMA;
		if (i == 33) {
			a->start = HP_START;
			a->size = 1 * GIB - HP_START;
			a->kind = GM_AREA_HOTPLUG;
		}
		memset(a->label, '&', GM_NAME_MAX);
	}
	m.nr_areas = nr_areas;

	ck_assert_int_eq(gm_map_svg(&m, &svg, &len), 0);
	fprintf(stderr, "test_map: %zu bytes in the worst case\n", len);
	ck_assert_uint_le(len, GM_MAP_SVG_MAX);
	text = svg_text(svg, len);
	ck_assert_ptr_nonnull(strstr(text, "more"));
	free(text);
	free(svg);
	free(m.allocs);
	free(m.blocks);
	free(m.free);
	free(m.areas);
}
END_TEST

/*
 * Expect: a node configured with a hot-plug region (--hotplug 1:1G) shows
 * it as one more range after its RAM and as a hot-plug area; the blocks the
 * VM plugged (from=hotplug) are named over it, said to be from hotplug;
 * unplugged, they are gone from the next picture and the region stays. A
 * node without a region shows none.
 */
START_TEST(test_hotplug_region)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;
	struct gm_node_map *m;
	struct gm_alloc_info *info[2];
	const uint64_t at[2] = { 0, 64 * MIB }, size[2] = { 8 * MIB, 4 * MIB };
	char *svg, *text, name[2][GM_NAME_MAX + 1];
	uint64_t b;
	size_t len;

	gm_config_init(&cfg);
	ck_assert_int_eq(gm_parse_numa("0:1G,1:512M", &cfg, &e), 0);
	ck_assert_msg(gm_parse_hotplug("1:1G", &cfg, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_parse_hotplug_block("4M", &cfg, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_mem_create(&cfg, &mem, &e) == 0, "%s", e.msg);
	ck_assert_msg(gm_mem_retire(mem, &e) == 0, "%s", e.msg);
	b = nstat(mem, 1).hotplug_base;
	ck_assert_uint_ne(b, 0);

	for (unsigned i = 0; i < 2; i++) {	/* what virtio-mem does on a plug */
		struct gm_request r;

		gm_request_init(&r);
		r.owner = GM_OWNER_VM;
		snprintf(r.name, sizeof(r.name), "vm.hp1.%llx",
			 (unsigned long long)(b + at[i]));
		r.node = 1;
		r.from = GM_FROM_HOTPLUG;
		r.mode = GM_MODE_RANGE;
		r.range_start = b + at[i];
		r.range_end = b + at[i] + size[i];
		r.size = size[i];
		ck_assert_msg(gm_alloc(mem, &r, &info[i], &e) == 0, "%s", e.msg);
		snprintf(name[i], sizeof(name[i]), "%s", r.name);
	}

	ck_assert_int_eq(gm_node_map_take(mem, 1, &m), 0);
	ck_assert_uint_eq(m->nr_ranges, 2);
	ck_assert_uint_eq(m->range[1].start, b);
	ck_assert_uint_eq(m->range[1].size, 1 * GIB);
	ck_assert_uint_eq(m->end, b + 1 * GIB);
	ck_assert_uint_eq(m->nr_areas, 1);
	ck_assert_int_eq(m->areas[0].kind, GM_AREA_HOTPLUG);
	ck_assert_uint_eq(m->areas[0].start, b);
	ck_assert_uint_eq(m->areas[0].size, 1 * GIB);
	ck_assert_uint_eq(m->nr_allocs, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct gm_map_alloc *a = &m->allocs[i];

		ck_assert_str_eq(a->name, name[i]);
		ck_assert_int_eq(a->from, GM_FROM_HOTPLUG);
		ck_assert_int_eq(a->owner, GM_OWNER_VM);
		ck_assert_uint_eq(a->size, size[i]);
		ck_assert_uint_eq(m->blocks[a->first].gpa, b + at[i]);
	}
	gm_node_map_free(m);

	svg = node_svg(mem, 1, &len);
	text = svg_text(svg, len);
	ck_assert(has_word(text, name[0]));
	ck_assert(has_word(text, name[1]));
	ck_assert_ptr_nonnull(strstr(text, "from hotplug, owned by the vm"));
	ck_assert_ptr_nonnull(strstr(text, "hot-plug region, unplugged"));
	ck_assert_ptr_nonnull(strstr(text, "hot-plug 1 GiB in 1 region"));
	free(text);
	free(svg);

	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(gm_free_id(mem, info[i]->id, GM_OWNER_VM, &e), 0);
		gm_alloc_info_free(info[i]);
	}
	svg = node_svg(mem, 1, &len);
	ck_assert_ptr_null(strstr(svg, name[0]));
	ck_assert_ptr_null(strstr(svg, name[1]));
	ck_assert_ptr_nonnull(strstr(svg, "hot-plug region, unplugged"));
	free(svg);
	svg = node_svg(mem, 0, &len);
	ck_assert_ptr_null(strstr(svg, "hot-plug"));
	free(svg);
	gm_mem_destroy(mem);
}
END_TEST

int main(void)
{
	RUN_SUITE("map", test_escape, test_names_every_allocation,
		  test_fragmented_bound, test_worst_case, test_hotplug_region);
}
