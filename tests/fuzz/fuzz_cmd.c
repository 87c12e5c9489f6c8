// SPDX-License-Identifier: MIT
/*
 * fuzz_cmd.c - a deterministic mutation fuzzer over the control grammar,
 * through gm_cmd_exec(), the one entry point of allocations/ctl, `kvmem
 * replay` and `kvmem run --alloc`.
 *
 * Two nodes ("0:64M,1:32M") with CMA areas ("0:8M,1:4M", node 1 with
 * order_per_bit 1), once with no host memory and once backed
 * (gm_mem_back); then, with a third of the lines, node 0 across the MMIO
 * hole ("0:3080M,1:64M", 16 KiB chunks, "0:16M,1:8M"), unbacked. Lines
 * come from a generator of valid commands (alloc with every key, mode and
 * flag in any order, free, stat), most of them mutated: bit flips,
 * interesting bytes (separators, digits, suffixes, control and non-ASCII
 * bytes, NUL), inserted tokens (huge numbers, repeated keys), truncations,
 * splices of two lines, repeated words, over-long lines.
 *
 * After every line:
 *   - the output is one newline-terminated line per command ('ok ' or
 *     'err ' with a known errno name and a message), or one 'node=N ' line
 *     per node for a whole stat; into a small buffer it is cut, still
 *     NUL-terminated (checked on the lines that change nothing);
 *   - a failed line (and every stat) leaves the node stats, the free block
 *     counts per order, the CMA bitmaps and the allocation table exactly
 *     as they were; a free removes exactly its allocation, an alloc adds
 *     exactly one whose blocks are those its ok line prints;
 *   - live blocks never overlap and lie in their node outside the MMIO
 *     hole (CMA blocks in the area, buddy blocks outside it); avail ==
 *     buddy_size - sum(live buddy) == the free-area sum; cma_used ==
 *     sum(live CMA, in whole bitmap bits) == the bitmap's 1s; auto names
 *     follow the README's counter (a<k>, k never goes back, taken names
 *     skipped, failures use no number);
 *   - backed: a new block reads zero (unless noclear) and keeps the tag
 *     written into it until its allocation is freed.
 * At the end everything is freed through the grammar, the free-area counts
 * equal those right after retire, and one allocation of each whole buddy
 * pool and each whole CMA area succeeds.
 *
 * Seed printed; KVMEM_SEED=N reruns another, KVMEM_FUZZ_LINES=N sets the
 * lines per configuration (default 100000, 40000 under ASan). On failure
 * the lines that led there are written to fuzz_cmd-repro.txt (C-escaped,
 * one per line).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestmem.h"
#include "fuzz.h"

#define NR_NODES	2
#define LINE_MAX_BYTES	4096
#define LIVE_SOFT_MAX	24

/* The configuration under test (set by run_config()). */
static const char *numa_opt = "0:64M,1:32M";
static const char *cma_opt = "0:8M,1:4M";
static uint64_t chunk_opt = 4096;

/* ---- the reproducer: every line run so far in this configuration ---- */

static char *hist;
static size_t hist_len, hist_cap;
static const char *cur_config = "";
static uint64_t cur_seed;
static unsigned long cur_line;

static void hist_add(const char *line)
{
	size_t n = strlen(line);
	char esc[4 * LINE_MAX_BYTES + 2];

	fz_escape((const unsigned char *)line, n, esc);
	n = strlen(esc);
	if (hist_len + n + 2 > hist_cap) {
		hist_cap = (hist_len + n + 2) * 2;
		hist = realloc(hist, hist_cap);
		if (!hist) {
			perror("realloc");
			exit(1);
		}
	}
	memcpy(hist + hist_len, esc, n);
	hist_len += n;
	hist[hist_len++] = '\n';
}

static void fz_on_fail(void)
{
	FILE *f = fopen("fuzz_cmd-repro.txt", "w");

	fprintf(stderr, "config %s, seed %" PRIu64 ", line %lu\n",
		cur_config, cur_seed, cur_line);
	if (f) {
		fprintf(f, "# fuzz_cmd %s --numa %s --chunk %" PRIu64 " --cma %s (node 1 order_per_bit 1), seed %" PRIu64 "\n",
			cur_config, numa_opt, chunk_opt, cma_opt, cur_seed);
		fwrite(hist, 1, hist_len, f);
		fclose(f);
		fprintf(stderr, "the %lu lines so far (C-escaped) are in fuzz_cmd-repro.txt\n",
			cur_line);
	}
}

/* ---- snapshots of everything a command may change ---- */

struct snap {
	struct gm_node_stat st[NR_NODES];
	uint64_t clean[NR_NODES][GM_MAX_ORDER + 1];
	uint64_t dirty[NR_NODES][GM_MAX_ORDER + 1];
	unsigned nr_orders[NR_NODES];
	char *bitmap[NR_NODES];
	char **names;
	struct gm_alloc_info **info;
	unsigned nr;
};

static void snap_take(struct gm_mem *mem, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned n = 0; n < NR_NODES; n++) {
		s->nr_orders[n] = GM_MAX_ORDER + 1;
		CHECK(gm_node_stat(mem, n, &s->st[n]) == 0, "stat node %u", n);
		CHECK(gm_node_free_area(mem, n, s->clean[n], s->dirty[n],
					&s->nr_orders[n]) == 0, "free_area %u", n);
		CHECK(gm_node_cma_bitmap(mem, n, &s->bitmap[n]) == 0, "bitmap %u", n);
	}
	{
		struct gm_alloc_entry *v;
		unsigned nr;

		CHECK(gm_alloc_list(mem, &v, &nr) == 0, "list");
		s->nr = nr;
		s->names = calloc(nr + 1, sizeof(*s->names));
		s->info = calloc(nr + 1, sizeof(*s->info));
		CHECK(s->names && s->info, "calloc");
		for (unsigned i = 0; i < nr; i++) {
			s->names[i] = strdup(v[i].name);
			CHECK(s->names[i] != NULL, "strdup");
			CHECK(gm_alloc_get_id(mem, v[i].id, &s->info[i]) == 0,
			      "get %s", s->names[i]);
		}
		free(v);
	}
}

static void snap_free(struct snap *s)
{
	for (unsigned n = 0; n < NR_NODES; n++)
		free(s->bitmap[n]);
	for (unsigned i = 0; i < s->nr; i++)
		gm_alloc_info_free(s->info[i]);
	free(s->info);
	for (unsigned i = 0; i < s->nr; i++)
		free(s->names[i]);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

static bool stat_eq(const struct gm_node_stat *a, const struct gm_node_stat *b)
{
	return a->id == b->id && a->start == b->start && a->end == b->end &&
	       a->size == b->size && a->early_reserved == b->early_reserved &&
	       a->avail == b->avail && a->buddy_size == b->buddy_size &&
	       a->cma_base == b->cma_base && a->cma_size == b->cma_size &&
	       a->cma_used == b->cma_used && a->cma_maxchunk == b->cma_maxchunk &&
	       a->cma_order_per_bit == b->cma_order_per_bit &&
	       a->host_node == b->host_node && a->backed == b->backed;
}

static bool info_eq(const struct gm_alloc_info *a, const struct gm_alloc_info *b)
{
	if (strcmp(a->req.name, b->req.name) || a->req.node != b->req.node ||
	    a->req.from != b->req.from || a->size != b->size ||
	    a->nr_blocks != b->nr_blocks)
		return false;
	for (unsigned i = 0; i < a->nr_blocks; i++)
		if (a->blocks[i].gpa != b->blocks[i].gpa ||
		    a->blocks[i].size != b->blocks[i].size)
			return false;
	return true;
}

/* Pools equal: stats, free areas, bitmaps (not the table). */
static void pools_eq(const struct snap *a, const struct snap *b, const char *why)
{
	for (unsigned n = 0; n < NR_NODES; n++) {
		CHECK(stat_eq(&a->st[n], &b->st[n]),
		      "%s: node %u stat changed (avail %" PRIu64 " -> %" PRIu64 ", cma_used %" PRIu64 " -> %" PRIu64 ")",
		      why, n, a->st[n].avail, b->st[n].avail,
		      a->st[n].cma_used, b->st[n].cma_used);
		CHECK(a->nr_orders[n] == b->nr_orders[n] &&
		      !memcmp(a->clean[n], b->clean[n], sizeof(a->clean[n])) &&
		      !memcmp(a->dirty[n], b->dirty[n], sizeof(a->dirty[n])),
		      "%s: node %u free_area changed", why, n);
		CHECK(!strcmp(a->bitmap[n], b->bitmap[n]),
		      "%s: node %u CMA bitmap changed", why, n);
	}
}

/*
 * Table of @b == table of @a without @skip (NULL: none), plus @extra new
 * entries at the end of @b.
 */
static void table_eq(const struct snap *a, const struct snap *b,
		     const char *skip, unsigned extra, const char *why)
{
	unsigned j = 0;

	for (unsigned i = 0; i < a->nr; i++) {
		if (skip && !strcmp(a->names[i], skip))
			continue;
		CHECK(j < b->nr && info_eq(a->info[i], b->info[j]),
		      "%s: allocation %s changed or vanished", why, a->names[i]);
		j++;
	}
	CHECK(j + extra == b->nr, "%s: %u allocations, expected %u", why, b->nr,
	      j + extra);
}

/* ---- invariants of one state ---- */

struct span {
	uint64_t start, end;
	const char *name;
};

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

static void invariants(struct gm_mem *mem, const struct snap *s)
{
	uint64_t chunk = gm_mem_chunk_size(mem);
	uint64_t buddy_live[NR_NODES] = { 0 }, cma_live[NR_NODES] = { 0 };
	struct span *sp;
	unsigned nsp = 0, total = 0;

	for (unsigned i = 0; i < s->nr; i++)
		total += s->info[i]->nr_blocks;
	sp = calloc(total + 1, sizeof(*sp));
	CHECK(sp != NULL, "calloc");
	for (unsigned i = 0; i < s->nr; i++) {
		const struct gm_alloc_info *in = s->info[i];
		unsigned n = in->req.node;
		const struct gm_node_stat *st;
		uint64_t held = 0;

		CHECK(n < NR_NODES, "%s on node %u", in->req.name, n);
		st = &s->st[n];
		CHECK(in->nr_blocks > 0, "%s has no block", in->req.name);
		for (unsigned b = 0; b < in->nr_blocks; b++) {
			const struct gm_block *bl = &in->blocks[b];
			bool in_cma = bl->gpa >= st->cma_base &&
				      bl->gpa + bl->size <= st->cma_base + st->cma_size;

			CHECK(bl->size && bl->gpa % chunk == 0 && bl->size % chunk == 0,
			      "%s block 0x%" PRIx64 "+0x%" PRIx64 " not whole chunks",
			      in->req.name, bl->gpa, bl->size);
			CHECK(bl->gpa >= st->start && bl->gpa + bl->size <= st->end,
			      "%s block 0x%" PRIx64 " outside node %u", in->req.name,
			      bl->gpa, n);
			CHECK(bl->gpa + bl->size <= GM_MMIO_HOLE_START ||
			      bl->gpa >= GM_MMIO_HOLE_END,
			      "%s block 0x%" PRIx64 "+0x%" PRIx64 " in the MMIO hole",
			      in->req.name, bl->gpa, bl->size);
			if (in->req.from == GM_FROM_CMA) {
				uint64_t g = chunk << st->cma_order_per_bit;

				CHECK(in_cma, "%s: CMA block outside the area", in->req.name);
				cma_live[n] += (bl->size + g - 1) / g * g;
			} else {
				CHECK(bl->gpa + bl->size <= st->cma_base ||
				      bl->gpa >= st->cma_base + st->cma_size,
				      "%s: buddy block in the CMA area", in->req.name);
				buddy_live[n] += bl->size;
			}
			held += bl->size;
			sp[nsp++] = (struct span){ bl->gpa, bl->gpa + bl->size,
						   in->req.name };
		}
		CHECK(held == in->size, "%s: blocks hold %" PRIu64 ", size %" PRIu64,
		      in->req.name, held, in->size);
		CHECK(held >= in->req.size, "%s holds less than asked", in->req.name);
	}
	qsort(sp, nsp, sizeof(*sp), span_cmp);
	for (unsigned i = 1; i < nsp; i++)
		CHECK(sp[i - 1].end <= sp[i].start,
		      "blocks of %s and %s overlap at 0x%" PRIx64, sp[i - 1].name,
		      sp[i].name, sp[i].start);
	free(sp);
	for (unsigned n = 0; n < NR_NODES; n++) {
		const struct gm_node_stat *st = &s->st[n];
		uint64_t fa = 0, ones = 0;

		for (unsigned o = 0; o < s->nr_orders[n]; o++)
			fa += (s->clean[n][o] + s->dirty[n][o]) * (chunk << o);
		for (const char *p = s->bitmap[n]; *p; p++)
			ones += *p == '1';
		CHECK(st->buddy_size + st->early_reserved + st->cma_size == st->size,
		      "node %u: buddy %" PRIu64 " + early %" PRIu64 " + cma %" PRIu64 " != size %" PRIu64,
		      n, st->buddy_size, st->early_reserved, st->cma_size, st->size);
		CHECK(st->avail == st->buddy_size - buddy_live[n],
		      "node %u: avail %" PRIu64 " != %" PRIu64 " - live %" PRIu64,
		      n, st->avail, st->buddy_size, buddy_live[n]);
		CHECK(fa == st->avail, "node %u: free_area sums to %" PRIu64 ", avail %" PRIu64,
		      n, fa, st->avail);
		CHECK(st->cma_used == cma_live[n],
		      "node %u: cma_used %" PRIu64 " != live %" PRIu64, n,
		      st->cma_used, cma_live[n]);
		CHECK(ones * (chunk << st->cma_order_per_bit) == st->cma_used,
		      "node %u: bitmap has %" PRIu64 " ones, cma_used %" PRIu64,
		      n, ones, st->cma_used);
	}
}

/* ---- line generator ---- */

struct buf {
	char b[LINE_MAX_BYTES + 64];
	size_t len;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n > LINE_MAX_BYTES)
		n = LINE_MAX_BYTES - b->len;
	memcpy(b->b + b->len, s, n);
	b->len += n;
	b->b[b->len] = '\0';
}

static const char *pick(const char *const *v, size_t n)
{
	return v[fz_below(n)];
}
#define PICK(v) pick(v, sizeof(v) / sizeof(v[0]))

static const char *const sizes[] = {
	"4K", "4k", "8K", "12K", "100K", "1M", "3M", "2M", "0x3000", "4096",
	"0x10K", "7M", "16M", "1m", "0x200000", "20K", "64M", "1G", "5M",
};
static const char *const aligns[] = {
	"4K", "8K", "64K", "1M", "2M", "4M", "0x1000", "4096", "16M",
};
static const char *const flag_words[] = {
	"contiguous", "clear", "trim_disable", "noclear", "fallback",
};
/* Each node's guest-physical span, for range:START-END (set by run_config()). */
static uint64_t node_base[NR_NODES], node_span[NR_NODES];

static void sep(struct buf *b)
{
	static const char *const s[] = { " ", " ", " ", "\t", "  ", " \t" };

	put(b, PICK(s));
}

static void gen_name(char *out, size_t len)
{
	static const char *const pre[] = { "n", "buf", "x", "a", "ram", "A-", "z.z" };

	snprintf(out, len, "%s%u", PICK(pre), (unsigned)fz_below(24));
}

static void gen_alloc(struct buf *b)
{
	char words[8][96];
	unsigned nw = 0, node = (unsigned)fz_below(NR_NODES);
	bool cma = fz_below(4) == 0;

	if (fz_below(2)) {
		char nm[32];

		gen_name(nm, sizeof(nm));
		snprintf(words[nw++], 96, "name=%s", nm);
	}
	snprintf(words[nw++], 96, "node=%u", node);
	snprintf(words[nw++], 96, "size=%s", PICK(sizes));
	if (fz_below(3) == 0)
		snprintf(words[nw++], 96, "align=%s", PICK(aligns));
	if (cma)
		snprintf(words[nw++], 96, "from=cma");
	else if (fz_below(4) == 0)
		snprintf(words[nw++], 96, "from=buddy");
	if (!cma && fz_below(3) == 0) {
		unsigned m = (unsigned)fz_below(3);

		if (m == 0) {
			snprintf(words[nw++], 96, "mode=simple");
		} else if (m == 1) {
			snprintf(words[nw++], 96, "mode=topdown");
		} else {
			/* in chunks mostly; sometimes in 4K pages (unaligned if the chunk is larger) */
			unsigned sh = fz_below(8) ? __builtin_ctzll(chunk_opt) : 12;
			uint64_t pages = node_span[node] >> sh;
			uint64_t s = fz_below(pages), e = s + 1 + fz_below(pages - s);

			snprintf(words[nw++], 96, "mode=range:0x%" PRIx64 "-0x%" PRIx64,
				 node_base[node] + (s << sh), node_base[node] + (e << sh));
		}
	} else if (cma && fz_below(4) == 0) {
		snprintf(words[nw++], 96, "mode=simple");
	}
	if (fz_below(3) == 0) {
		unsigned mask = (unsigned)fz_below(32), first = 1;
		char *w = words[nw++];

		if (cma)
			mask &= ~(0x4u | 0x10u);
		if (!mask)
			mask = 1;
		strcpy(w, "flags=");
		for (unsigned i = 0; i < 5; i++) {
			unsigned k = (i + (unsigned)fz_below(5)) % 5;

			if (!(mask & (1u << k)))
				continue;
			mask &= ~(1u << k);
			if (!first)
				strcat(w, ",");
			strcat(w, flag_words[k]);
			first = 0;
		}
		for (unsigned k = 0; k < 5; k++)	/* the ones the shuffle skipped */
			if (mask & (1u << k)) {
				strcat(w, ",");
				strcat(w, flag_words[k]);
			}
	}
	/* keys in any order */
	for (unsigned i = nw - 1; i > 0; i--) {
		unsigned j = (unsigned)fz_below(i + 1);
		char t[96];

		memcpy(t, words[i], 96);
		memcpy(words[i], words[j], 96);
		memcpy(words[j], t, 96);
	}
	put(b, "alloc");
	for (unsigned i = 0; i < nw; i++) {
		sep(b);
		put(b, words[i]);
	}
}

/* A valid line (valid grammar; it may still fail: ENOSPC, EEXIST, ...). */
static void gen_line(struct buf *b, const struct snap *s)
{
	unsigned k = (unsigned)fz_below(20);
	char nm[32];

	b->len = 0;
	b->b[0] = '\0';
	if (k < 13) {
		gen_alloc(b);
	} else if (k < 17) {
		put(b, "free");
		sep(b);
		if (s->nr && fz_below(4)) {
			put(b, s->names[fz_below(s->nr)]);
		} else {
			gen_name(nm, sizeof(nm));
			put(b, fz_below(4) ? nm : "name=n1");
		}
	} else {
		static const char *const st[] = {
			"stat", "stat node=0", "stat node=1", "stat\tnode=1",
			"stat node=2",
		};
		put(b, PICK(st));
	}
	if (fz_below(8) == 0)
		put(b, fz_below(2) ? "\n" : "\r\n");
}

/* ---- mutations ---- */

static const char interesting[] = {
	' ', '\t', '=', ',', ':', '-', '+', '0', '1', '9', 'x', 'X', 'k', 'K',
	'M', 'G', 'T', 'b', '.', '_', '\n', '\r', '\0', 0x01, 0x1b, 0x7f,
	(char)0x80, (char)0xc3, (char)0xff,
};
static const char *const tokens[] = {
	" ", "\t", "=", ",", ":", "-", "0", "9", "K", "M", "G", "T", "KB", "0x",
	"18446744073709551615", "18446744073709551616", "0xffffffffffffffff",
	"0x10000000000000000", "99999999999999999999999", "16E", "17179869184G",
	"4294967296", "4294967295", "-1", "+4K", " size=4K", " node=1",
	" node=0", " node=4294967296", " node=99999999", " name=n1", " name=.x",
	" name=", " flags=contiguous", " flags=clear,clear", " align=0",
	" align=3", " align=0x8000000000000000", " mode=range:0-0",
	" mode=range:4K-0", " mode=range:0x100000000-0x102000000",
	" from=cma", " from=buddy", " mode=topdown", " size=0", " x", "=",
	"\n", "\r\n", "\n\n", "\0",  "\xff\xfe", "\xc3\xa9", "#",
};
static const char *const huge[] = {
	"18446744073709551615", "18446744073709551616", "0xffffffffffffffff",
	"0x8000000000000000", "16777215T", "16777216T", "17179869183G",
	"0xfffffffffffffK", "9223372036854775808", "4294967296", "0",
};

static void mut_insert(struct buf *b, const char *t, size_t tl, size_t at)
{
	if (b->len + tl > LINE_MAX_BYTES)
		return;
	memmove(b->b + at + tl, b->b + at, b->len - at);
	memcpy(b->b + at, t, tl);
	b->len += tl;
	b->b[b->len] = '\0';
}

static void mutate(struct buf *b, const struct snap *s)
{
	size_t at = b->len ? fz_below(b->len + 1) : 0;

	switch (fz_below(10)) {
	case 0:		/* bit flip */
		if (b->len)
			b->b[fz_below(b->len)] ^= (char)(1u << fz_below(8));
		break;
	case 1:		/* interesting byte replaced */
		if (b->len)
			b->b[fz_below(b->len)] = interesting[fz_below(sizeof(interesting))];
		break;
	case 2: {	/* interesting byte inserted */
		char c = interesting[fz_below(sizeof(interesting))];

		mut_insert(b, &c, 1, at);
		break;
	}
	case 3: {	/* token inserted (separators, digits, suffixes, keys) */
		size_t i = fz_below(sizeof(tokens) / sizeof(tokens[0]));
		/* "\0" has length 0 as a string: insert the byte itself */
		size_t tl = tokens[i][0] ? strlen(tokens[i]) : 1;

		mut_insert(b, tokens[i], tl, at);
		break;
	}
	case 4:		/* truncation */
		b->len = at;
		b->b[b->len] = '\0';
		break;
	case 5: {	/* splice: this line's head, another's tail */
		struct buf o;
		size_t from;

		gen_line(&o, s);
		from = fz_below(o.len + 1);
		b->len = at;
		memcpy(b->b + b->len, o.b + from, o.len - from);
		b->len += o.len - from;
		b->b[b->len] = '\0';
		break;
	}
	case 6: {	/* a word repeated (repeated keys) */
		size_t ws = fz_below(b->len + 1), we;

		while (ws > 0 && b->b[ws - 1] != ' ')
			ws--;
		for (we = ws; we < b->len && b->b[we] != ' '; we++)
			;
		if (we > ws) {
			char w[LINE_MAX_BYTES + 1];
			size_t wl = we - ws;

			w[0] = ' ';
			memcpy(w + 1, b->b + ws, wl);
			mut_insert(b, w, wl + 1, b->len);
		}
		break;
	}
	case 7: {	/* a span deleted */
		size_t n = fz_below(b->len - at + 1);

		memmove(b->b + at, b->b + at + n, b->len - at - n);
		b->len -= n;
		b->b[b->len] = '\0';
		break;
	}
	case 8: {	/* over-long: the line repeated (words > 16, bytes > 1024) */
		struct buf o = *b;
		unsigned k = 1 + (unsigned)fz_below(40);

		for (unsigned i = 0; i < k && b->len + o.len + 1 <= LINE_MAX_BYTES; i++) {
			mut_insert(b, " ", 1, b->len);
			mut_insert(b, o.b, o.len, b->len);
		}
		break;
	}
	case 9: {	/* a number replaced by a huge one */
		size_t d = fz_below(b->len + 1), e;
		const char *h = huge[fz_below(sizeof(huge) / sizeof(huge[0]))];

		while (d < b->len && !(b->b[d] >= '0' && b->b[d] <= '9'))
			d++;
		for (e = d; e < b->len && ((b->b[e] >= '0' && b->b[e] <= '9') ||
					   b->b[e] == 'x'); e++)
			;
		if (d < b->len) {
			memmove(b->b + d, b->b + e, b->len - e);
			b->len -= e - d;
			mut_insert(b, h, strlen(h), d);
		}
		break;
	}
	}
}

/* ---- one line: run it and check everything ---- */

static unsigned count_lines(const char *out)
{
	unsigned n = 0;

	for (const char *p = out; *p; p++)
		n += *p == '\n';
	return n;
}

static bool known_ename(const char *w, size_t len)
{
	static const char *const names[] = {
		"EINVAL", "ERANGE", "ENOSPC", "ENOMEM", "EEXIST", "ENOENT",
		"EBUSY",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(w, names[i], len))
			return true;
	return false;
}

/* Check the ok line's extents are the allocation's blocks, merged. */
static void check_ok_blocks(const char *out, const struct gm_alloc_info *in)
{
	const char *p = strstr(out, " blocks=");
	unsigned b = 0;

	CHECK(p != NULL, "ok line without blocks=: %s", out);
	p += 8;
	while (*p && *p != '\n') {
		unsigned long long gpa, len;
		uint64_t end;
		int used;

		CHECK(sscanf(p, "0x%llx+0x%llx%n", &gpa, &len, &used) == 2,
		      "bad extent in %s", out);
		p += used;
		CHECK(b < in->nr_blocks && in->blocks[b].gpa == gpa,
		      "extent 0x%llx is not block %u of %s", gpa, b, in->req.name);
		end = in->blocks[b].gpa + in->blocks[b].size;
		for (b++; b < in->nr_blocks && in->blocks[b].gpa == end; b++)
			end += in->blocks[b].size;
		CHECK(end - gpa == len, "extent 0x%llx+0x%llx of %s", gpa, len,
		      in->req.name);
		if (*p == ',')
			p++;
	}
	CHECK(b == in->nr_blocks, "ok line lists %u of %u blocks", b,
	      in->nr_blocks);
}

/* Outcomes of this configuration: [0] ok alloc, [1] ok free, [2] ok stat, then errnos. */
static unsigned long outcome[3 + 128];

/* The auto-name counter as the README states it: a<k>, k >= it, not taken. */
static unsigned long auto_next;

static bool name_taken(const struct snap *s, const char *name)
{
	for (unsigned i = 0; i < s->nr; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

/*
 * Backed memory: every block of a live allocation carries a tag (its
 * name's hash and address) in its first and last 8 bytes, written when it
 * is allocated and checked when it is freed, so an allocation that zeroes
 * or hands out someone else's bytes is caught. A new block (without
 * noclear) must read zero there first.
 */
static uint64_t tag_of(const char *name, uint64_t gpa)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ^ gpa;
}

static void tags_write(struct gm_mem *mem, const struct gm_alloc_info *in)
{
	for (unsigned b = 0; b < in->nr_blocks; b++) {
		const struct gm_block *bl = &in->blocks[b];
		uint8_t *p = gm_mem_hva(mem, bl->gpa, bl->size);
		static const uint8_t zero[64];
		uint64_t t = tag_of(in->req.name, bl->gpa);

		CHECK(p != NULL, "%s: block 0x%" PRIx64 " not backed", in->req.name, bl->gpa);
		if (!(in->req.flags & GM_F_NOCLEAR))
			CHECK(!memcmp(p, zero, 64) && !memcmp(p + bl->size - 64, zero, 64),
			      "%s: new block 0x%" PRIx64 "+0x%" PRIx64 " is not zero",
			      in->req.name, bl->gpa, bl->size);
		memcpy(p, &t, 8);
		memcpy(p + bl->size - 8, &t, 8);
	}
}

static void tags_check(struct gm_mem *mem, const struct gm_alloc_info *in)
{
	for (unsigned b = 0; b < in->nr_blocks; b++) {
		const struct gm_block *bl = &in->blocks[b];
		const uint8_t *p = gm_mem_hva(mem, bl->gpa, bl->size);
		uint64_t t = tag_of(in->req.name, bl->gpa), x, y;

		CHECK(p != NULL, "%s: block not backed", in->req.name);
		memcpy(&x, p, 8);
		memcpy(&y, p + bl->size - 8, 8);
		CHECK(x == t && y == t, "%s: the bytes of block 0x%" PRIx64 "+0x%" PRIx64 " changed while it was live",
		      in->req.name, bl->gpa, bl->size);
	}
}

static bool backed;

static void run_line(struct gm_mem *mem, const char *line, struct snap *before)
{
	static char out[65536];
	struct gm_error e;
	struct gm_cmd cmd;
	struct snap after;
	unsigned lines;
	int pret, ret, sret = 0;
	char *small = NULL;

	hist_add(line);
	pret = gm_cmd_parse(line, &cmd, &e);
	CHECK(pret == 0 || pret == -EINVAL || pret == -ERANGE,
	      "parse returned %d", pret);
	if (backed && !pret && cmd.type == GM_CMD_FREE)
		for (unsigned i = 0; i < before->nr; i++)
			if (!strcmp(before->names[i], cmd.name))
				tags_check(mem, before->info[i]);
	if (pret)
		CHECK(e.msg[0] && !strchr(e.msg, '\n'), "parse message '%s'", e.msg);
	/*
	 * Lines that change nothing (rejected by the parser, stat) first run
	 * into an exactly-sized small buffer: the text is cut, NUL-terminated,
	 * a prefix of the full output, and nothing is written past it (ASan).
	 */
	if (pret || cmd.type == GM_CMD_STAT) {
		size_t k = 1 + fz_below(48);

		small = malloc(k);
		CHECK(small != NULL, "malloc");
		sret = gm_cmd_exec(mem, line, small, k);
		CHECK(memchr(small, '\0', k) != NULL, "cut output not NUL-terminated");
	}
	memset(out, 'Z', 64);
	ret = gm_cmd_exec(mem, line, out, sizeof(out));
	CHECK(ret <= 0 && ret > -4096, "exec returned %d", ret);
	if (small) {
		CHECK(sret == ret && !strncmp(out, small, strlen(small)),
		      "cut output '%s' (%d) is not a prefix of '%s' (%d)", small,
		      sret, out, ret);
		free(small);
	}
	lines = count_lines(out);
	CHECK(strlen(out) > 0 && out[strlen(out) - 1] == '\n',
	      "output not newline-terminated: '%s'", out);
	if (pret)
		CHECK(ret == pret, "parse %d but exec %d", pret, ret);
	if (!ret && !pret && cmd.type == GM_CMD_STAT && !cmd.has_node) {
		CHECK(lines == NR_NODES, "whole stat printed %u lines", lines);
		CHECK(!strncmp(out, "node=0 ", 7) &&
		      !strncmp(strchr(out, '\n') + 1, "node=1 ", 7),
		      "stat lines: %s", out);
	} else {
		CHECK(lines == 1, "%u output lines for one command: %s", lines, out);
	}
	if (ret) {
		const char *w2, *w3;

		CHECK(!strncmp(out, "err ", 4), "failure without err: %s", out);
		w2 = strchr(out + 4, ' ');
		CHECK(w2 && w2 > out + 4, "err line without NAME: %s", out);
		w3 = strchr(w2 + 1, ' ');
		CHECK(w3 && known_ename(w2 + 1, w3 - w2 - 1) &&
		      !strncmp(w2 + 1, gm_errno_name(ret), w3 - w2 - 1),
		      "err line's ENAME (ret %d): %s", ret, out);
		CHECK(w3[1] && w3[1] != '\n', "err line without message: %s", out);
	} else if (cmd.type == GM_CMD_STAT) {
		CHECK(!strncmp(out, "node=", 5), "stat output: %s", out);
	} else {
		CHECK(!strncmp(out, "ok ", 3), "success without ok: %s", out);
	}

	if (!ret)
		outcome[cmd.type == GM_CMD_ALLOC ? 0 : cmd.type == GM_CMD_FREE ? 1 : 2]++;
	else if (-ret < 128)
		outcome[3 - ret]++;
	snap_take(mem, &after);
	invariants(mem, &after);
	if (ret || cmd.type == GM_CMD_STAT) {
		pools_eq(before, &after, ret ? "failed line" : "stat");
		table_eq(before, &after, NULL, 0, ret ? "failed line" : "stat");
	} else if (cmd.type == GM_CMD_FREE) {
		char want[GM_NAME_MAX + 16];

		snprintf(want, sizeof(want), "ok %s freed\n", cmd.name);
		CHECK(!strcmp(out, want), "free output: %s", out);
		CHECK(after.nr + 1 == before->nr, "free left %u of %u", after.nr,
		      before->nr);
		table_eq(before, &after, cmd.name, 0, "free");
	} else {
		const struct gm_alloc_info *in;
		char nm[GM_NAME_MAX + 2];

		CHECK(after.nr == before->nr + 1, "alloc: %u allocations after %u",
		      after.nr, before->nr);
		table_eq(before, &after, NULL, 1, "alloc");
		in = after.info[after.nr - 1];
		snprintf(nm, sizeof(nm), "%s ", in->req.name);
		CHECK(!strncmp(out + 3, nm, strlen(nm)), "ok line names %s: %s",
		      in->req.name, out);
		if (cmd.req.name[0]) {
			CHECK(!strcmp(cmd.req.name, in->req.name),
			      "asked %s, got %s", cmd.req.name, in->req.name);
		} else {
			char want[32];

			do
				snprintf(want, sizeof(want), "a%lu", auto_next++);
			while (name_taken(before, want));
			CHECK(!strcmp(in->req.name, want),
			      "auto name %s, the counter says %s", in->req.name, want);
		}
		if (backed)
			tags_write(mem, in);
		CHECK(in->req.node == cmd.req.node && in->size >= cmd.req.size,
		      "%s: node %u size %" PRIu64 " for node %u size %" PRIu64,
		      in->req.name, in->req.node, in->size, cmd.req.node,
		      cmd.req.size);
		check_ok_blocks(out, in);
	}
	snap_free(before);
	*before = after;
}

/* ---- one configuration ---- */

static void run_config(const char *numa, uint64_t chunk, const char *cma,
		       bool back, uint64_t seed, unsigned long nlines)
{
	struct gm_config cfg;
	struct gm_error e;
	struct gm_mem *mem;
	struct snap s, first;
	unsigned long nmut = 0;
	struct buf b;
	char line[128];

	backed = back;
	auto_next = 1;
	numa_opt = numa;
	cma_opt = cma;
	chunk_opt = chunk;
	cur_config = backed ? "backed" : "unbacked";
	cur_seed = seed;
	hist_len = 0;
	memset(outcome, 0, sizeof(outcome));
	fz_state = seed;
	gm_config_init(&cfg);
	cfg.chunk_size = chunk;
	CHECK(gm_parse_numa(numa_opt, &cfg, &e) == 0, "%s", e.msg);
	CHECK(gm_parse_cma(cma_opt, &cfg, &e) == 0, "%s", e.msg);
	cfg.node[1].cma_order_per_bit = 1;
	CHECK(gm_mem_create(&cfg, &mem, &e) == 0, "%s", e.msg);
	if (backed)
		CHECK(gm_mem_back(mem, 0, &e) == 0, "%s", e.msg);
	CHECK(gm_mem_retire(mem, &e) == 0, "%s", e.msg);

	snap_take(mem, &first);
	invariants(mem, &first);
	for (unsigned n = 0; n < NR_NODES; n++) {
		node_base[n] = first.st[n].start;
		node_span[n] = first.st[n].end - first.st[n].start;
	}
	snap_take(mem, &s);
	for (cur_line = 1; cur_line <= nlines; cur_line++) {
		gen_line(&b, &s);
		/* keep the table small: many live allocations only slow the checks */
		if (s.nr > LIVE_SOFT_MAX && fz_below(2)) {
			b.len = 0;
			put(&b, "free ");
			put(&b, s.names[fz_below(s.nr)]);
		} else if (fz_below(10) < 7) {
			unsigned k = 1 + (unsigned)fz_below(fz_below(4) ? 2 : 5);

			for (unsigned i = 0; i < k; i++)
				mutate(&b, &s);
			nmut++;
		}
		run_line(mem, b.b, &s);
	}

	/* everything back through the grammar (tags checked), then the pools are whole */
	while (s.nr) {
		snprintf(line, sizeof(line), "free %s", s.names[0]);
		run_line(mem, line, &s);
	}
	for (unsigned n = 0; n < NR_NODES; n++) {
		CHECK(s.st[n].avail == first.st[n].avail &&
		      s.st[n].cma_used == 0,
		      "node %u: avail %" PRIu64 " after freeing all, %" PRIu64 " at start",
		      n, s.st[n].avail, first.st[n].avail);
		for (unsigned o = 0; o < first.nr_orders[n]; o++)
			CHECK(s.clean[n][o] + s.dirty[n][o] ==
			      first.clean[n][o] + first.dirty[n][o],
			      "node %u: %" PRIu64 " free blocks of order %u, %" PRIu64 " at start (not merged back)",
			      n, s.clean[n][o] + s.dirty[n][o], o,
			      first.clean[n][o] + first.dirty[n][o]);
		snprintf(line, sizeof(line), "alloc name=whole%u node=%u size=%" PRIu64,
			 n, n, s.st[n].avail);
		run_line(mem, line, &s);
		CHECK(s.nr == 1 && s.st[n].avail == 0, "whole buddy pool of node %u", n);
		snprintf(line, sizeof(line), "alloc name=wholecma%u node=%u size=%" PRIu64 " from=cma",
			 n, n, s.st[n].cma_size);
		run_line(mem, line, &s);
		CHECK(s.nr == 2 && s.st[n].cma_used == s.st[n].cma_size,
		      "whole CMA area of node %u", n);
		snprintf(line, sizeof(line), "free whole%u", n);
		run_line(mem, line, &s);
		snprintf(line, sizeof(line), "free wholecma%u", n);
		run_line(mem, line, &s);
	}
	printf("fuzz_cmd %s --numa %s --chunk %" PRIu64 " --cma %s: %lu lines (%lu mutated): ok alloc %lu, ok free %lu, ok stat %lu",
	       cur_config, numa_opt, chunk_opt, cma_opt, nlines, nmut, outcome[0], outcome[1], outcome[2]);
	for (int i = 1; i < 128; i++)
		if (outcome[3 + i])
			printf(", %s %lu", gm_errno_name(i), outcome[3 + i]);
	printf("; all checks held, pools whole at the end\n");
	/* a fuzzer that never reaches the allocators proves nothing */
	CHECK(outcome[0] > nlines / 20 && outcome[1] > nlines / 50 &&
	      outcome[3 + ENOSPC] && outcome[3 + EEXIST] && outcome[3 + ENOENT] &&
	      outcome[3 + ERANGE] && outcome[3 + EINVAL] > nlines / 4,
	      "too few lines reached the allocators");
	fflush(stdout);
	snap_free(&s);
	snap_free(&first);
	gm_mem_destroy(mem);
}

int main(void)
{
	const char *env = getenv("KVMEM_FUZZ_LINES");
	unsigned long nlines = env && *env ? strtoul(env, NULL, 0) : FZ_SCALE(100000);
	uint64_t seed = fz_seed("fuzz_cmd", 20261123);

	run_config("0:64M,1:32M", 4096, "0:8M,1:4M", false, seed, nlines);
	run_config("0:64M,1:32M", 4096, "0:8M,1:4M", true, seed + 1, nlines);
	/* node 0 across the MMIO hole, 16 KiB chunks: fewer lines, no memory */
	run_config("0:3080M,1:64M", 16384, "0:16M,1:8M", false, seed + 2, nlines / 3);
	free(hist);
	return 0;
}
