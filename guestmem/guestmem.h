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
 * After retire, memory is handed out as named, owned allocations (gm_alloc(),
 * gm_free(), gm_free_id()), from the buddy or the CMA area of one node.
 *
 * guestmem works over plain guest-physical addresses: with no host backing
 * (kvmem replay) no memory is touched at all. gm_mem_back() attaches host
 * memory (anonymous, MAP_NORESERVE, huge pages, optionally mbind) so that
 * allocations can be read, written and zeroed.
 *
 * Locking: every function here is thread-safe. A struct gm_mem holds a
 * rwlock over its allocation table (readers: lookups and data copies;
 * writers: claiming, publishing and dropping names) and one mutex per node
 * around that node's early, buddy and CMA state. Lock order: table, then
 * node. Zeroing and discarding host pages hold neither: an allocation or a free
 * claims its name and blocks under the locks, zeroes with none, and
 * publishes under them again. Callers take no locks.
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
	uint64_t hotplug_size;	/* hot-plug region after the node's RAM, 0 = none */
	uint64_t hotplug_block;	/* its block (virtio-mem), 0 = GM_HOTPLUG_BLOCK */
};

/*
 * Hot-plug regions (virtio-mem): a node's region starts at the first
 * GM_HOTPLUG_ALIGN boundary (and block boundary) after the node's RAM (node 0:
 * not inside the MMIO hole), is a multiple of GM_HOTPLUG_ALIGN, and lies in
 * the node's span, so the next node starts after it. It is part of the pool
 * and backed like the RAM, but only the VM allocates in it (from=hotplug,
 * owner vm, exact block ranges): never the buddy, never the shell.
 */
#define GM_HOTPLUG_ALIGN	(128ULL << 20)	/* Linux's x86-64 memory block */
#define GM_HOTPLUG_BLOCK	(2ULL << 20)	/* default block, and the smallest */

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
 * gm_parse_uint() - parse decimal digits only (no sign, no space, no
 * suffix) as a number <= @max. 0, -EINVAL malformed, -ERANGE above @max.
 * The one number parser of node ids, vCPU counts and host nodes.
 */
int gm_parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * gm_parse_numa() - parse "--numa 0:1G,1:512M@1" into @cfg: node ids must be
 * 0..n-1, each once, sizes non-zero multiples of 4 KiB; "@H" binds to host
 * node H. Returns 0 or a negative errno with @e filled ("--numa: ...").
 */
int gm_parse_numa(const char *s, struct gm_config *cfg, struct gm_error *e);

/*
 * gm_parse_cma() - parse "--cma 0:64M,1:32M" into @cfg (nodes must already
 * be configured, sizes multiples of the chunk size and smaller than the node).
 */
int gm_parse_cma(const char *s, struct gm_config *cfg, struct gm_error *e);

/*
 * gm_parse_hotplug() - "--hotplug 1:1G,0:256M" into cfg hotplug_size
 * (nodes must be configured; each size a non-zero multiple of
 * GM_HOTPLUG_ALIGN). gm_parse_hotplug_block() - "--hotplug-block SIZE" for
 * every node: a power of two from GM_HOTPLUG_BLOCK to GM_HOTPLUG_ALIGN. 0 or
 * -EINVAL/-ERANGE with @e filled ("--hotplug: ..."); @cfg unchanged then.
 */
int gm_parse_hotplug(const char *s, struct gm_config *cfg, struct gm_error *e);
int gm_parse_hotplug_block(const char *s, struct gm_config *cfg,
			   struct gm_error *e);

/*
 * gm_parse_node_list() - as gm_parse_node_sizes() but the sizes must be
 * non-zero and have no upper bound (the caller checks them):
 * "--hotplug-requested 1:512M".
 */
int gm_parse_node_list(const char *opt, const char *s,
		       const struct gm_config *cfg,
		       uint64_t sizes[GM_MAX_NODES], struct gm_error *e);

/*
 * gm_parse_node_sizes() - parse the list "N:SIZE,N:SIZE" of option @opt
 * (e.g. "--headroom") with the --numa list and number parsers: nodes below
 * @cfg->nr_nodes, each once, sizes at most the node's. @sizes[N] is set
 * for the nodes given, 0 for the others. 0 or -EINVAL/-ERANGE with @e
 * filled ("OPT: ..."); @sizes unchanged on error.
 */
int gm_parse_node_sizes(const char *opt, const char *s,
			const struct gm_config *cfg,
			uint64_t sizes[GM_MAX_NODES], struct gm_error *e);

/*
 * gm_parse_chunk() - "--chunk SIZE" into cfg->chunk_size: a power of two
 * from 4K to 1G. 0 or -EINVAL/-ERANGE with @e filled; @cfg unchanged then.
 */
int gm_parse_chunk(const char *s, struct gm_config *cfg, struct gm_error *e);

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

/* gm_mem_page_size() - the host page size of @mem's pools (4 KiB, 2 MiB with hugetlb): what
 * gm_mem_discard() ranges must be aligned to. */
uint64_t gm_mem_page_size(const struct gm_mem *mem);

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
 * What an early range is to the guest, so the memory map is built from
 * types, never from labels (the label is for people: early/ranges).
 */
enum gm_early_type {
	GM_EARLY_RAM,		/* RAM the guest keeps: its kernel, initrd, boot data */
	GM_EARLY_RESERVED,	/* never usable by the guest (legacy BIOS area) */
	GM_EARLY_ACPI,		/* ACPI tables, reclaimable once read */
};

/*
 * gm_early_alloc() - bump-allocate @size bytes aligned to @align (power of
 * two) from @node's @window, of @type, labelled @label (copied). Allocations
 * go upwards, first fit, never overlapping earlier early ranges. Returns 0
 * and *@gpa; -EINVAL (bad args), -ENOMEM (no room), -EBUSY (already retired).
 */
int gm_early_alloc(struct gm_mem *mem, unsigned node, uint64_t size,
		   uint64_t align, enum gm_window window,
		   enum gm_early_type type, const char *label, uint64_t *gpa,
		   struct gm_error *e);

/*
 * gm_early_reserve() - reserve the fixed range [@gpa, @gpa+@size) of a node
 * (e.g. a kernel's load address), of @type. -EINVAL if outside the node's
 * ranges or a bad type, -EEXIST if it overlaps an early range, -EBUSY
 * after retire.
 */
int gm_early_reserve(struct gm_mem *mem, uint64_t gpa, uint64_t size,
		     enum gm_early_type type, const char *label,
		     struct gm_error *e);

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
	enum gm_early_type type;
	char label[GM_NAME_MAX + 1];	/* for display only */
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

/*
 * Owners. Every allocation belongs to the user (the shell: allocations/ctl,
 * mkdir + spec, `kvmem run --alloc`, replay) or to the VM (guest RAM now;
 * hot-plug areas and device memory later). The user's paths (gm_free(),
 * gm_free_id() as GM_OWNER_USER, the filesystem's rmdir and spec) refuse a
 * VM-owned allocation with -EBUSY and a message naming its owner, and
 * change nothing; its bytes stay readable and writable (gm_alloc_rw()).
 * The VM frees its own allocations with gm_free_id(..., GM_OWNER_VM, ...).
 *
 * Names. guestmem holds every name, pending ones included: a name is
 * reserved (gm_name_reserve(), mkdir), then committed by an allocation into
 * it (gm_request.reserved_id, the spec write) or dropped (gm_free_id()), so
 * two claims on one name always end with exactly one owner. User names are
 * 1..GM_NAME_MAX characters of [A-Za-z0-9._-], not starting with '.' nor
 * with GM_VM_PREFIX; the VM's names all start with GM_VM_PREFIX ("vm.ram0"),
 * a namespace no user path can create, so a user name can neither take nor
 * pose as one of the VM's. Code finds the VM's allocations by id, never by
 * name: ids are 64-bit, start at 1, and are never reused (an id names one
 * allocation or reservation for the life of the gm_mem).
 */
enum gm_owner { GM_OWNER_USER, GM_OWNER_VM };

#define GM_VM_PREFIX		"vm."
#define GM_PURPOSE_MAX		48	/* "guest RAM, node 1" */

/* GM_FROM_HOTPLUG: the node's hot-plug region; owner vm, mode range, whole blocks */
enum gm_from { GM_FROM_BUDDY, GM_FROM_CMA, GM_FROM_HOTPLUG };
enum gm_mode { GM_MODE_SIMPLE, GM_MODE_TOPDOWN, GM_MODE_RANGE };

#define GM_F_CONTIGUOUS		0x01	/* one physically contiguous range */
#define GM_F_CLEAR		0x02	/* prefer blocks known to be zero */
#define GM_F_TRIM_DISABLE	0x04	/* keep a contiguous block's round-up */
#define GM_F_NOCLEAR		0x08	/* do not zero on allocation */
#define GM_F_FALLBACK		0x10	/* contiguous if possible, else scattered */

struct gm_request {
	char name[GM_NAME_MAX + 1];	/* "" = auto-name a1, a2, ... (user) or the reservation's */
	enum gm_owner owner;		/* GM_OWNER_USER unless set */
	char purpose[GM_PURPOSE_MAX];	/* the owner's word for it, shown when a user path refuses it */
	uint64_t reserved_id;		/* != 0: allocate into this pending reservation */
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
	uint64_t id;		/* stable, never reused */
	bool pending;		/* a reserved name with no memory yet */
	struct gm_request req;	/* as requested: name, owner and purpose filled in */
	uint64_t size;		/* bytes held (>= req.size when not trimmed) */
	unsigned nr_blocks;
	struct gm_block *blocks;	/* ascending gpa */
};

/* What a listing or a lookup tells about one name (no blocks). */
struct gm_alloc_entry {
	uint64_t id;
	char name[GM_NAME_MAX + 1];
	enum gm_owner owner;
	bool pending;		/* reserved, no memory yet (or being allocated) */
	uint64_t size;		/* bytes held, 0 when pending */
};

/*
 * gm_request_init() - defaults: auto name, owned by the user, node 0, from
 * buddy, simple mode, no flags, align 0.
 */
void gm_request_init(struct gm_request *req);

/*
 * gm_name_valid() - @name is a name @owner may give: 1..GM_NAME_MAX of
 * [A-Za-z0-9._-], not starting with '.'; a user name must not start with
 * GM_VM_PREFIX, a VM name must.
 */
bool gm_name_valid(const char *name, enum gm_owner owner);

/*
 * gm_name_reserve() - reserve @name for the user (mkdir): a pending entry
 * with no memory, listed and looked up like an allocation, until an
 * allocation commits it (gm_request.reserved_id) or gm_free_id() drops it.
 * *@id gets its id. -EINVAL bad name, -EPERM a name of the VM's namespace,
 * -EEXIST taken (allocated, pending or being allocated), -ENOMEM. Takes the
 * table write lock; no state change on error.
 */
int gm_name_reserve(struct gm_mem *mem, const char *name, uint64_t *id,
		    struct gm_error *e);

/*
 * gm_alloc() - allocate per @req, owned by req->owner, under req->name, or
 * into the pending reservation req->reserved_id (req->name "" or its name,
 * same owner), or else under the next free auto name a1, a2, ... (user
 * only). An exact guest-physical range is GM_MODE_RANGE with size = end -
 * start. Unless GM_F_NOCLEAR, dirty blocks are zeroed when the memory is
 * backed (and then reported clean). On success *@out (if @out is non-NULL)
 * is a snapshot the caller frees with gm_alloc_info_free().
 * Errors: -EINVAL malformed (align not a power of two, size 0, unknown node,
 * range outside the node, bad name), -EPERM a name of another owner's
 * namespace, -ERANGE size rounded to align overflows, -EEXIST name taken,
 * -ENOENT no such reservation, -EBUSY before retire or the reservation is
 * being allocated, -ENOSPC no room, -ENOMEM. No state change on error (a
 * reservation stays pending).
 * Locking: the table write lock to claim the name and to publish, the node
 * lock around the allocator; zeroing holds neither, so other nodes'
 * allocations, frees and reads go on meanwhile. The name is held all along.
 */
int gm_alloc(struct gm_mem *mem, const struct gm_request *req,
	     struct gm_alloc_info **out, struct gm_error *e);

/*
 * gm_free() - the user's free of allocation @name (`free NAME`): every block
 * goes back. Blocks return dirty, except when backed: their host pages are
 * released (gm_mem_discard()) and they return clean. -EINVAL empty name, -ENOENT no
 * such allocation (also a pending reservation: rmdir drops those; and one
 * another call is freeing), -EBUSY owned by the VM ("owned by the vm
 * (PURPOSE)") or a reservation being committed, -EIO allocator mismatch (a bug: the allocation is kept, with its blocks,
 * though backed bytes may already read as zero). No state change on error.
 * Locking: as gm_alloc(); the discarding holds neither lock, and the name stays
 * taken until the blocks are back.
 */
int gm_free(struct gm_mem *mem, const char *name, struct gm_error *e);

/*
 * gm_free_id() - free allocation @id, or drop the pending reservation @id,
 * on behalf of @who: the owner's own path (the VM's unplug, the
 * filesystem's rmdir as GM_OWNER_USER). -ENOENT no such id (freed, or being
 * freed by another call), -EBUSY owned by another owner (the message names
 * it) or being allocated, -EIO as gm_free(). No state change on error.
 */
int gm_free_id(struct gm_mem *mem, uint64_t id, enum gm_owner who,
	       struct gm_error *e);

/*
 * gm_free_ids() - gm_free_id() of @nr live allocations at once, for a device
 * freeing many adjacent blocks (virtio-mem's unplug): their host pages are
 * released one span of adjacent blocks at a time (one KVM invalidation per
 * span, not per block). All or nothing: -ENOENT an id missing, pending,
 * being freed or listed twice, -EBUSY as gm_free_id(), -ENOMEM, and then
 * nothing is freed; -EIO as gm_free() for any that the allocator refused
 * (those are kept, the others freed). Locking: as gm_free().
 */
int gm_free_ids(struct gm_mem *mem, const uint64_t *ids, unsigned nr,
		enum gm_owner who, struct gm_error *e);

/*
 * gm_alloc_get() / gm_alloc_get_id() - snapshot allocation @name / @id
 * (pending reservations too: no blocks) into *@out (caller frees with
 * gm_alloc_info_free()). -ENOENT if none, -ENOMEM. Table read lock.
 */
int gm_alloc_get(struct gm_mem *mem, const char *name,
		 struct gm_alloc_info **out);
int gm_alloc_get_id(struct gm_mem *mem, uint64_t id,
		    struct gm_alloc_info **out);
void gm_alloc_info_free(struct gm_alloc_info *info);

/*
 * gm_alloc_lookup() / gm_alloc_lookup_id() - what @name / @id is now, into
 * *@out: 0 or -ENOENT (never heard of, freed, or not yet visible). An
 * allocation being made under a new name is invisible until it is done; a
 * reservation being committed stays visible as pending. Table read lock.
 */
int gm_alloc_lookup(struct gm_mem *mem, const char *name,
		    struct gm_alloc_entry *out);
int gm_alloc_lookup_id(struct gm_mem *mem, uint64_t id,
		       struct gm_alloc_entry *out);

/*
 * gm_alloc_check_owner() - may @who change allocation (or pending name)
 * @id? 0 if @who owns it, -EBUSY with @e saying whose it is ("owned by the
 * vm (guest RAM, node 1)"), -ENOENT. Changes nothing. Table read lock.
 */
int gm_alloc_check_owner(struct gm_mem *mem, uint64_t id, enum gm_owner who,
			 struct gm_error *e);

/*
 * gm_alloc_list() - every visible name (allocations and pending
 * reservations), ascending by id (creation or reservation order), as a
 * malloc'd array the caller frees; *@nr entries. 0 or -ENOMEM.
 */
int gm_alloc_list(struct gm_mem *mem, struct gm_alloc_entry **out,
		  unsigned *nr);

/*
 * gm_alloc_rw() - read or write allocation @id's bytes as one contiguous
 * view over its blocks (ascending), whoever owns it. Returns bytes copied,
 * 0 at or past the end on read, -EFBIG for a write starting at or past the
 * end (a write that crosses the end is cut short; a pending reservation has
 * no bytes), -ENOENT, -EIO if not backed. Holds the table read lock, so the
 * allocation cannot be freed while copying.
 */
ssize_t gm_alloc_rw(struct gm_mem *mem, uint64_t id, void *buf, size_t len,
		    uint64_t off, bool write);

/*
 * gm_grow() - make room for @need elements of @elem bytes in the array at
 * *(void **)@array whose capacity is *@cap elements: doubling, from 8. The
 * one growable-array helper of kvmem. 0, or -ENOMEM (realloc failure or
 * size overflow) with the array and *@cap unchanged.
 */
int gm_grow(void *array, size_t *cap, size_t need, size_t elem);

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
	uint64_t hotplug_base, hotplug_size;	/* the region, 0 size = none */
	uint64_t hotplug_block, hotplug_used;	/* its block; bytes allocated (plugged) */
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
 * gm_node_hotplug_bitmap() - the hot-plug region's blocks as text, one
 * character per block ('1' allocated, '0' free), 64 per line, malloc'd;
 * "" when the node has no region. -EINVAL, -ENOMEM.
 */
int gm_node_hotplug_bitmap(struct gm_mem *mem, unsigned node, char **out);

/*
 * gm_node_cma_resize() - change node's CMA area size (0 removes it). Only
 * while nothing is allocated from it (-EBUSY otherwise); -ENOSPC if the
 * buddy has no room for the new area (the old area is kept).
 */
int gm_node_cma_resize(struct gm_mem *mem, unsigned node, uint64_t size,
		       struct gm_error *e);

/* ---- pictures: a node's map (map.c takes it, map-svg.c draws it) ---------- */

/*
 * The kinds of reserved area a map draws under the allocations: early
 * ranges by type, the CMA area, the hot-plug region (--hotplug). A new
 * kind is one more entry here, one row of map-svg.c's style table and one
 * case in map.c that lists its areas.
 */
enum gm_area_kind {
	GM_AREA_EARLY_RAM,	/* early range the guest keeps: kernel, initrd, boot data */
	GM_AREA_EARLY_RESERVED,	/* early range the guest never uses */
	GM_AREA_EARLY_ACPI,	/* early range holding ACPI tables */
	GM_AREA_CMA,		/* the node's contiguous-range area */
	GM_AREA_HOTPLUG,	/* the node's hot-plug region; plugged blocks are from=hotplug */
	GM_AREA_NR
};

/* One reserved area of a node: its allocations (CMA's) are drawn over it. */
struct gm_map_area {
	uint64_t start, size;
	enum gm_area_kind kind;
	char label[GM_NAME_MAX + 1];	/* early range's label, "cma", ... */
};

/* One allocation of a node, as the map shows it. */
struct gm_map_alloc {
	uint64_t id;
	char name[GM_NAME_MAX + 1];
	enum gm_owner owner;
	char purpose[GM_PURPOSE_MAX];	/* the VM's word for it, "" for the user's */
	enum gm_from from;
	uint64_t size;			/* bytes held */
	size_t first;			/* its blocks: map->blocks[first .. first + nr_blocks) */
	unsigned nr_blocks;
};

/* a node's ranges: RAM (node 0's split by the MMIO hole), then its --hotplug region */
#define GM_MAP_RANGES		3

/*
 * A consistent picture of one node at one instant: what every byte of its
 * ranges is (free in the buddy, in an allocation, in a reserved area, or
 * none of these: chunk-rounding of early ranges, memory being allocated or
 * freed right then, all of it before retire). Owned by the caller:
 * gm_node_map_free().
 */
struct gm_node_map {
	unsigned node;
	uint64_t start, end;		/* span, end exclusive, hole included */
	uint64_t size;			/* bytes of memory (the hole excluded) */
	uint64_t chunk;
	bool retired;
	unsigned nr_ranges;		/* the node's: RAM, then the hot-plug region */
	struct gm_range range[GM_MAP_RANGES];	/* ascending, hva NULL */
	uint64_t avail;			/* buddy free bytes */
	uint64_t cma_size, cma_used;
	struct gm_map_area *areas;	/* ascending start */
	unsigned nr_areas;
	struct gm_map_alloc *allocs;	/* ascending id */
	unsigned nr_allocs;
	struct gm_block *blocks;	/* the allocations' blocks, each one's ascending */
	size_t nr_blocks;
	struct gm_block *free;		/* free buddy blocks, ascending; dirty = not known zero */
	size_t nr_free;
};

/*
 * gm_node_map_take() - snapshot node @node into *@out: its layout, reserved
 * areas, live allocations (pending names and allocations half made or half
 * freed are left out) and free buddy blocks, all read under the table read
 * lock and the node lock at once, so they agree with each other; nothing
 * is formatted under them. 0, -EINVAL (no such node), -ENOMEM. Changes
 * nothing.
 */
int gm_node_map_take(struct gm_mem *mem, unsigned node,
		     struct gm_node_map **out);
void gm_node_map_free(struct gm_node_map *map);

/* The most bytes gm_map_svg() writes, whatever the fragmentation. */
#define GM_MAP_SVG_MAX		(256u << 10)

/*
 * gm_map_svg() - draw @map as an SVG image into a malloc'd, NUL-terminated
 * *@out of *@len (<= GM_MAP_SVG_MAX) bytes, ending with a newline: the
 * node's ranges as rows of a fixed bytes-per-pixel scale (doubled until
 * the drawing fits; the MMIO hole a break, not drawn), reserved areas,
 * every allocation in its own colour with a <title> of its name, size and
 * blocks (the VM's hatched), free buddy space shaded by block size, address
 * ticks and a legend naming every allocation (beyond a budget the smallest
 * ones are counted, not named). 0 or -ENOMEM.
 */
int gm_map_svg(const struct gm_node_map *map, char **out, size_t *len);

/*
 * gm_node_svg() - gm_node_map_take() and gm_map_svg() of node @node: the
 * text of nodes/nodeN/map.svg and of `kvmem replay --map`. 0, -EINVAL,
 * -ENOMEM.
 */
int gm_node_svg(struct gm_mem *mem, unsigned node, char **out, size_t *len);

/* ---- control grammar ------------------------------------------------------- */

/*
 * One control line crosses guestmem once: gm_cmd_parse() makes a struct
 * gm_cmd of it, gm_cmd_run() runs that and fills a struct gm_cmd_result,
 * and text is made only at the edges that print it (gm_cmd_format() for
 * replay, gm_err_format() for the filesystem's allocations/error).
 */
enum gm_cmd_type { GM_CMD_ALLOC, GM_CMD_FREE, GM_CMD_STAT };

struct gm_cmd {
	enum gm_cmd_type type;
	struct gm_request req;		/* GM_CMD_ALLOC */
	char name[GM_NAME_MAX + 1];	/* GM_CMD_FREE, and the name parsed so far */
	bool has_node;			/* GM_CMD_STAT */
	unsigned node;
};

/* What running one command did. Release with gm_cmd_result_release(). */
struct gm_cmd_result {
	enum gm_cmd_type type;
	struct gm_error err;		/* err.err == 0: success */
	char name[GM_NAME_MAX + 1];	/* the allocation's name, "" if none parsed */
	uint64_t id;			/* alloc, free: the allocation's id */
	unsigned node;			/* alloc: its node */
	unsigned nr_blocks;		/* alloc: its blocks, ascending, malloc'd */
	struct gm_block *blocks;
	unsigned nr_stats;		/* stat: one per node asked, malloc'd */
	struct gm_node_stat *stats;
};

/*
 * gm_cmd_parse() - parse one line of the control grammar (design.md 5):
 *   alloc [name=NAME] node=N size=SIZE [align=SIZE] [from=buddy|cma]
 *         [mode=simple|topdown|range:START-END]
 *         [flags=contiguous,clear,trim_disable,noclear,fallback]
 *   free NAME
 *   stat [node=N]
 * Checks syntax and layout rules only (not node existence). Returns 0 or
 * -EINVAL/-ERANGE/-EPERM (a name of the VM's namespace after alloc name=)
 * with @e filled; cmd->name holds the name if one parsed.
 */
int gm_cmd_parse(const char *line, struct gm_cmd *cmd, struct gm_error *e);

/*
 * gm_cmd_run() - run parsed command @cmd against @mem as the user; @res is
 * filled in every case (reset first). Returns 0 or the negative errno that
 * res->err holds.
 */
int gm_cmd_run(struct gm_mem *mem, const struct gm_cmd *cmd,
	       struct gm_cmd_result *res);
void gm_cmd_result_release(struct gm_cmd_result *res);

/*
 * gm_cmd_result_fail() - @res as the failure @e of command @cmd (whose
 * name, if parsed, the result keeps): for a line that did not parse.
 */
void gm_cmd_result_fail(struct gm_cmd_result *res, const struct gm_cmd *cmd,
			const struct gm_error *e);

/*
 * gm_cmd_format() - the result line(s) of @res, newline-terminated, the
 * replay format:
 *   ok NAME node=N blocks=0xGPA+0xLEN[,0xGPA+0xLEN...]   (adjacent merged)
 *   ok NAME freed
 *   err NAME ENAME message            (NAME is "-" if none parsed)
 *   node=N size=B avail=B cma_size=B cma_used=B ...   (stat, one per node)
 * into @out (cut to @outlen, always NUL-terminated when @outlen > 0).
 * Returns the length of the whole text (as snprintf does).
 */
size_t gm_cmd_format(const struct gm_cmd_result *res, char *out,
		     size_t outlen);

/*
 * gm_cmd_exec() - gm_cmd_parse(), gm_cmd_run() and gm_cmd_format() of one
 * line into @out: the text edge for replay and `kvmem run --alloc`.
 * Returns 0 on success or the negative errno of the failure.
 */
int gm_cmd_exec(struct gm_mem *mem, const char *line, char *out, size_t outlen);

/*
 * gm_err_format() - "err NAME ENAME message" (no newline) for failure @e of
 * @name ("" or NULL prints "-"), into @out (snprintf semantics): the one
 * spelling of a failure, for replay and allocations/error.
 */
size_t gm_err_format(char *out, size_t outlen, const char *name,
		     const struct gm_error *e);

/*
 * gm_request_format() - @req in the words a spec write accepts, one line
 * without newline: "node=0 size=0x1000000 [align=0x..] from=buddy
 * mode=topdown [flags=contiguous,...]", then " owner=vm" for the VM's
 * allocations (shown, not accepted). The flag words come from the table
 * the parser reads. snprintf semantics.
 */
size_t gm_request_format(const struct gm_request *req, char *out,
			 size_t outlen);

/* gm_errno_name() - "EINVAL" for EINVAL, ... ("E?" if unknown). */
const char *gm_errno_name(int err);

#endif /* KVMEM_GUESTMEM_H */
