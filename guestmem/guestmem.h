/* SPDX-License-Identifier: MIT */
/*
 * guestmem.h - kvmem's memory model, the public interface of guestmem/.
 *
 * Guest-physical memory is split into one pool per virtual NUMA node. Each
 * pool is a list of guest-physical ranges (node 0 skips the 32-bit MMIO hole)
 * managed in two phases:
 *
 *   1. early:   gm_early_alloc()/gm_early_reserve() place labelled boot
 *               structures (bump allocation, memblock-like);
 *   2. retired: gm_mem_retire() makes the early ranges permanently reserved
 *               and hands the rest of every pool, exactly once, to that
 *               node's buddy allocator; the node's contiguous-range (CMA)
 *               area is then reserved out of the buddy.
 *
 * After retire, memory is handed out as named allocations (gm_alloc()/
 * gm_free()), from the buddy or the CMA area of one node.
 *
 * guestmem works over plain guest-physical addresses: with no host backing
 * (kvmem replay) no memory is touched at all. gm_mem_back() attaches host
 * memory (anonymous, MAP_NORESERVE, huge pages, optionally mbind) so that
 * allocations can be read, written and zeroed.
 *
 * Locking: every function here is thread-safe. A struct gm_mem holds a
 * rwlock over its allocation table (readers: lookups and data copies;
 * writers: alloc and free) and one mutex per node around that node's early,
 * buddy and CMA state. Lock order: table, then node. Callers take no locks.
 *
 * Errors: negative errno. Functions taking a struct gm_error also fill a
 * one-line human message. A failed call changes no state.
 */
#ifndef KVMEM_GUESTMEM_H
#define KVMEM_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GM_MAX_NODES		64
#define GM_NAME_MAX		63		/* allocation and label names */
#define GM_ERRMSG_MAX		256

/* The 32-bit MMIO hole: node 0's memory skips [start, end). */
#define GM_MMIO_HOLE_START	0xC0000000ULL
#define GM_MMIO_HOLE_END	0x100000000ULL
#define GM_4G			0x100000000ULL
#define GM_DEFAULT_CHUNK	4096ULL

struct gm_mem;

/* One failure: errno (positive, e.g. EINVAL) and a one-line message. */
struct gm_error {
	int err;
	char msg[GM_ERRMSG_MAX];
};

/*
 * gm_error_set() - fill @e (may be NULL) with @err (given negative or
 * positive) and a printf message; returns the negative errno, so callers
 * write `return gm_error_set(e, EINVAL, "...")`. Shared by every folder.
 */
int gm_error_set(struct gm_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- configuration (filled by the option parsers below) ---------------- */

struct gm_node_config {
	uint64_t size;		/* bytes, multiple of the chunk size */
	int host_node;		/* host NUMA node to bind to, -1 for none */
	uint64_t cma_size;	/* contiguous-range area reserved at retire, 0 = none */
	unsigned cma_order_per_bit;	/* CMA bitmap granularity, pages = 1 << this */
};

struct gm_config {
	unsigned nr_nodes;	/* nodes are numbered 0 .. nr_nodes-1 */
	uint64_t chunk_size;	/* buddy chunk, power of two >= 4 KiB */
	struct gm_node_config node[GM_MAX_NODES];
};

/*
 * gm_config_init() - defaults: no nodes, 4 KiB chunks, no CMA, no binding.
 */
void gm_config_init(struct gm_config *cfg);

/*
 * gm_parse_size() - parse "16M", "0x1000", "4096", "1G", "2T" (K M G T are
 * powers of 1024, case-insensitive). Returns 0, -EINVAL if malformed,
 * -ERANGE if the value overflows 64 bits.
 */
int gm_parse_size(const char *s, uint64_t *out);

/*
 * gm_format_size() - @v as the shortest text gm_parse_size() reads back as
 * @v: "512M", "1G", "12K", "4095". Writes @buf and returns it.
 */
#define GM_SIZE_STR_MAX		24
char *gm_format_size(uint64_t v, char buf[GM_SIZE_STR_MAX]);

/*
 * gm_parse_numa() - parse "--numa 0:1G,1:512M@1" into @cfg: node ids must be
 * 0..n-1, each once, sizes non-zero multiples of 4 KiB; "@H" binds to host
 * node H. Returns 0 or a negative errno with @e filled.
 */
int gm_parse_numa(const char *s, struct gm_config *cfg, struct gm_error *e);

/*
 * gm_parse_cma() - parse "--cma 0:64M,1:32M" into @cfg (nodes must already
 * be configured, sizes multiples of the chunk size and smaller than the node).
 */
int gm_parse_cma(const char *s, struct gm_config *cfg, struct gm_error *e);

/* ---- the memory: create, back, early phase, retire --------------------- */

/*
 * gm_mem_create() - lay out the nodes of @cfg in guest-physical space and
 * create their pools (early phase). Node 0 starts at 0 and skips the MMIO
 * hole; node N+1 starts at the first 1 GiB-aligned address that is >= 4 GiB
 * and >= the end of node N. Touches no per-chunk memory. *@out is owned by
 * the caller; release with gm_mem_destroy().
 */
int gm_mem_create(const struct gm_config *cfg, struct gm_mem **out,
		  struct gm_error *e);
void gm_mem_destroy(struct gm_mem *mem);

unsigned gm_mem_nr_nodes(const struct gm_mem *mem);
uint64_t gm_mem_chunk_size(const struct gm_mem *mem);

/* One guest-physical range of a node, with its host mapping if backed. */
struct gm_range {
	uint64_t start;		/* guest-physical address */
	uint64_t size;
	void *hva;		/* host address, NULL when not backed */
	uint64_t map_offset;	/* offset of @start within the node's host mapping */
};

/*
 * gm_node_ranges() - copy up to @max ranges of @node into @r; returns the
 * number of ranges the node has (which may exceed @max) or -EINVAL.
 */
int gm_node_ranges(const struct gm_mem *mem, unsigned node, struct gm_range *r,
		   unsigned max);

/*
 * gm_node_find() - the node holding guest-physical address @gpa, or -ENOENT
 * if @gpa is in no node (a hole).
 */
int gm_node_find(const struct gm_mem *mem, uint64_t gpa);

#define GM_BACK_HUGEPAGES	0x1	/* hugetlb 2 MiB pages (MAP_HUGETLB) */

/*
 * gm_mem_back() - give every node host memory: one anonymous private
 * mapping per node, MAP_NORESERVE, 2 MiB-aligned, with transparent huge
 * pages asked (MADV_HUGEPAGE) or hugetlb pages (GM_BACK_HUGEPAGES), bound
 * with mbind() to the node's host_node when >= 0. Touches no page. Call
 * once, any phase. Returns 0, -EEXIST if already backed, -ENODEV if a host
 * node does not exist, or the errno of mmap/madvise/mbind; no state change
 * on error.
 */
int gm_mem_back(struct gm_mem *mem, unsigned flags, struct gm_error *e);

/*
 * gm_mem_hva() - host pointer for [@gpa, @gpa+@len) if that span lies in one
 * backed range, else NULL.
 */
void *gm_mem_hva(const struct gm_mem *mem, uint64_t gpa, uint64_t len);

/* gm_mem_discard() - release the host pages of guest-physical [@gpa, @gpa+@len)
 * (page-aligned; hugetlb pools: 2 MiB-aligned, else -EINVAL); the range reads back zero
 * afterwards and stays mapped. Does not touch allocator state. 0 or -errno. Thread-safe,
 * takes no guestmem lock (callers may be device threads). -EINVAL also when any part of
 * the range is outside guest memory (then nothing is released), -EIO when not backed. */
int gm_mem_discard(struct gm_mem *mem, uint64_t gpa, uint64_t len);

/*
 * gm_mem_rw() - copy between @buf and guest-physical memory at @gpa (write
 * if @write). Stops at the first hole. Returns bytes copied (> 0), -EIO if
 * @gpa itself is in a hole or the memory is not backed.
 */
ssize_t gm_mem_rw(struct gm_mem *mem, uint64_t gpa, void *buf, size_t len,
		  bool write);

/* Early-allocator windows: below and above 4 GiB. */
enum gm_window { GM_WINDOW_LOW, GM_WINDOW_HIGH };

/*
 * gm_early_alloc() - bump-allocate @size bytes aligned to @align (power of
 * two) from @node's @window, labelled @label (copied). Allocations go
 * upwards, first fit, never overlapping earlier early ranges. Returns 0 and
 * *@gpa; -EINVAL (bad args), -ENOMEM (no room), -EBUSY (already retired).
 */
int gm_early_alloc(struct gm_mem *mem, unsigned node, uint64_t size,
		   uint64_t align, enum gm_window window, const char *label,
		   uint64_t *gpa, struct gm_error *e);

/*
 * gm_early_reserve() - reserve the fixed range [@gpa, @gpa+@size) of a node
 * (e.g. a kernel's load address). -EINVAL if outside the node's ranges,
 * -EEXIST if it overlaps an early range, -EBUSY after retire.
 */
int gm_early_reserve(struct gm_mem *mem, uint64_t gpa, uint64_t size,
		     const char *label, struct gm_error *e);

/*
 * gm_mem_retire() - end the early phase: every early range becomes
 * permanently reserved, the rest of each pool goes to that node's buddy
 * allocator, and each node's CMA area (cfg cma_size) is reserved out of the
 * buddy, top-down. Returns 0, -EBUSY if already retired, -ENOMEM if a CMA
 * area does not fit.
 */
int gm_mem_retire(struct gm_mem *mem, struct gm_error *e);
bool gm_mem_retired(const struct gm_mem *mem);

/* One early range, for early/ranges and the e820 map. */
struct gm_early_range {
	uint64_t start, size;
	char label[GM_NAME_MAX + 1];
	uint64_t seq;		/* placement order, for gm_early_rollback() */
};

/*
 * gm_early_mark() - the early allocator's position now: every range placed
 * after it (on any node) can be taken back with gm_early_rollback().
 */
uint64_t gm_early_mark(struct gm_mem *mem);

/*
 * gm_early_rollback() - remove every early range placed after @mark, so a
 * boot loader that fails halfway leaves the early allocator as it found it.
 * Returns 0, or -EBUSY after retire (nothing changed).
 */
int gm_early_rollback(struct gm_mem *mem, uint64_t mark);

/*
 * gm_early_ranges() - copy up to @max of @node's early ranges, ascending;
 * returns how many there are, or -EINVAL.
 */
int gm_early_ranges(struct gm_mem *mem, unsigned node,
		    struct gm_early_range *r, unsigned max);

/* ---- allocations -------------------------------------------------------- */

enum gm_from { GM_FROM_BUDDY, GM_FROM_CMA };
enum gm_mode { GM_MODE_SIMPLE, GM_MODE_TOPDOWN, GM_MODE_RANGE };

#define GM_F_CONTIGUOUS		0x01	/* one physically contiguous range */
#define GM_F_CLEAR		0x02	/* prefer blocks known to be zero */
#define GM_F_TRIM_DISABLE	0x04	/* keep a contiguous block's round-up */
#define GM_F_NOCLEAR		0x08	/* do not zero on allocation */
#define GM_F_FALLBACK		0x10	/* contiguous if possible, else scattered */

struct gm_request {
	char name[GM_NAME_MAX + 1];	/* "" = auto-name a1, a2, ... */
	unsigned node;
	uint64_t size;
	uint64_t align;			/* 0 = the chunk size (buddy) / 1 page (cma) */
	enum gm_from from;
	enum gm_mode mode;
	uint64_t range_start, range_end;	/* GM_MODE_RANGE, guest-physical, end exclusive */
	unsigned flags;			/* GM_F_* */
};

/* One block of an allocation. */
struct gm_block {
	uint64_t gpa;		/* guest-physical start */
	uint64_t size;
	unsigned order;		/* buddy: size == chunk << order; cma: log2 pages of the bitmap granule, informative */
	bool dirty;		/* may hold old bytes (the caller zeroes it unless backed) */
};

/* A snapshot of one allocation. Owned by the caller: gm_alloc_info_free(). */
struct gm_alloc_info {
	struct gm_request req;	/* as requested, name filled in */
	uint64_t size;		/* bytes held (>= req.size when not trimmed) */
	unsigned nr_blocks;
	struct gm_block *blocks;	/* ascending gpa */
};

/*
 * gm_request_init() - defaults: auto name, node 0, from buddy, simple mode,
 * no flags, align 0.
 */
void gm_request_init(struct gm_request *req);

/*
 * gm_alloc() - allocate per @req under req->name (or the next free auto
 * name a1, a2, ...; the name used is copied to @name_out if non-NULL, which
 * must hold GM_NAME_MAX + 1 bytes). Unless GM_F_NOCLEAR, dirty blocks are
 * zeroed when the memory is backed (and then reported clean). Errors:
 * -EINVAL malformed (align not a power of two, size 0, unknown node, range
 * outside the node, bad name), -ERANGE size rounded to align overflows,
 * -EEXIST name taken, -ENOSPC no room, -EBUSY before retire. No state change
 * on error.
 */
int gm_alloc(struct gm_mem *mem, const struct gm_request *req, char *name_out,
	     struct gm_error *e);

/*
 * gm_free() - free allocation @name and every block it holds. Blocks return
 * dirty, except when backed: their host pages are released (punched) and
 * they return clean. -ENOENT if no such allocation; no state change then.
 */
int gm_free(struct gm_mem *mem, const char *name, struct gm_error *e);

/*
 * gm_alloc_get() - snapshot allocation @name into *@out (caller frees with
 * gm_alloc_info_free()). -ENOENT if none, -ENOMEM.
 */
int gm_alloc_get(struct gm_mem *mem, const char *name,
		 struct gm_alloc_info **out);
void gm_alloc_info_free(struct gm_alloc_info *info);

/*
 * gm_alloc_names() - the names of all allocations, ascending by creation,
 * as a NULL-terminated array the caller frees with gm_names_free().
 */
int gm_alloc_names(struct gm_mem *mem, char ***out);
void gm_names_free(char **names);

/*
 * gm_alloc_rw() - read or write allocation @name's bytes as one contiguous
 * view over its blocks (ascending). Returns bytes copied, 0 at or past the
 * end on read, -EFBIG for a write starting at or past the end (a write that
 * crosses the end is cut short), -ENOENT, -EIO if not backed. Holds the
 * table read lock, so the allocation cannot be freed while copying.
 */
ssize_t gm_alloc_rw(struct gm_mem *mem, const char *name, void *buf,
		    size_t len, uint64_t off, bool write);

/* ---- inspection ---------------------------------------------------------- */

struct gm_node_stat {
	unsigned id;
	uint64_t start, end;		/* guest-physical span (end exclusive, includes holes) */
	uint64_t size;			/* bytes of memory in the node */
	uint64_t early_reserved;	/* bytes in early ranges */
	uint64_t avail;			/* buddy free bytes, exact */
	uint64_t buddy_size;		/* bytes the buddy manages (size - early - cma) */
	uint64_t cma_base, cma_size, cma_used, cma_maxchunk;
	unsigned cma_order_per_bit;
	int host_node;
	bool backed;
};

int gm_node_stat(struct gm_mem *mem, unsigned node, struct gm_node_stat *st);

#define GM_MAX_ORDER 52

/*
 * gm_node_free_area() - free buddy blocks per order, split into clean
 * (known zero) and dirty; fills orders 0..*@nr_orders-1 (chunk << order).
 */
int gm_node_free_area(struct gm_mem *mem, unsigned node,
		      uint64_t clean[GM_MAX_ORDER + 1],
		      uint64_t dirty[GM_MAX_ORDER + 1], unsigned *nr_orders);

/*
 * gm_node_cma_bitmap() - the CMA bitmap as text, one character per bit
 * ('1' used, '0' free), 64 per line, into a malloc'd string *@out.
 */
int gm_node_cma_bitmap(struct gm_mem *mem, unsigned node, char **out);

/*
 * gm_node_cma_resize() - change node's CMA area size (0 removes it). Only
 * while nothing is allocated from it (-EBUSY otherwise); -ENOSPC if the
 * buddy has no room for the new area (the old area is kept).
 */
int gm_node_cma_resize(struct gm_mem *mem, unsigned node, uint64_t size,
		       struct gm_error *e);

/* ---- control grammar ------------------------------------------------------- */

enum gm_cmd_type { GM_CMD_ALLOC, GM_CMD_FREE, GM_CMD_STAT };

struct gm_cmd {
	enum gm_cmd_type type;
	struct gm_request req;		/* GM_CMD_ALLOC */
	char name[GM_NAME_MAX + 1];	/* GM_CMD_FREE, and the name parsed so far */
	bool has_node;			/* GM_CMD_STAT */
	unsigned node;
};

/*
 * gm_cmd_parse() - parse one line of the control grammar (design.md 5):
 *   alloc [name=NAME] node=N size=SIZE [align=SIZE] [from=buddy|cma]
 *         [mode=simple|topdown|range:START-END]
 *         [flags=contiguous,clear,trim_disable,noclear,fallback]
 *   free NAME
 *   stat [node=N]
 * Checks syntax and layout rules only (not node existence). Returns 0 or
 * -EINVAL/-ERANGE with @e filled; cmd->name holds the name if one parsed.
 */
int gm_cmd_parse(const char *line, struct gm_cmd *cmd, struct gm_error *e);

/*
 * gm_cmd_exec() - parse and run one line against @mem, writing the result
 * line(s) (newline-terminated, the replay format below) into @out.
 *   ok NAME node=N blocks=0xGPA+0xLEN[,0xGPA+0xLEN...]
 *   ok NAME freed
 *   err NAME ENAME message            (NAME is "-" if none parsed)
 *   node=N size=B avail=B cma_size=B cma_used=B ...   (stat, one per node)
 * Returns 0 on success or the negative errno of the failure. If @out is too
 * small the text is cut (still NUL-terminated).
 */
int gm_cmd_exec(struct gm_mem *mem, const char *line, char *out, size_t outlen);

/* gm_errno_name() - "EINVAL" for EINVAL, ... ("E?" if unknown). */
const char *gm_errno_name(int err);

#endif /* KVMEM_GUESTMEM_H */
