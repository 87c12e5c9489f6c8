// SPDX-License-Identifier: MIT
/*
 * show.c - render the read-only views into a buffer, one function per kind
 * of file. Called on open(2); the text is then served from the open file, so
 * a reader sees one consistent snapshot taken when it opened the file.
 * meminfo, buddyinfo and unusable_index follow the kernel's own formats
 * (drivers/base/node.c, mm/vmstat.c); the rest hold one value or a table
 * whose columns the README documents.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define ZONE_NAME	"Normal"

static int buf_grow(struct fs_buf *b, size_t need)
{
	if (b->err)
		return b->err;
	if (need > SIZE_MAX - b->len - 1 ||
	    gm_grow(&b->p, &b->cap, b->len + need + 1, 1))
		return b->err = -ENOMEM;
	return 0;
}

/* fs_buf_put() - append @len bytes; a failure sticks in b->err. */
void fs_buf_put(struct fs_buf *b, const char *s, size_t len)
{
	if (buf_grow(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/* fs_buf_printf() - append formatted text; a failure sticks in b->err. */
void fs_buf_printf(struct fs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int fs_show_vm(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	const char *file = fs_rows[o->row].name;
	char *out = NULL;
	int ret;

	if (!fs->vm) {
		/* kvmem serve: no guest behind vm/. */
		if (o->row == R_VM_NAME || o->row == R_VM_STATE)
			fs_buf_printf(b, "none\n");
		else if (o->row == R_VM_VCPUS || o->row == R_VM_MEMORY)
			fs_buf_printf(b, "0\n");
		return b->err;
	}
	ret = fs->vm->show(fs->vm->opaque, file, &out);
	if (ret)
		return ret < 0 ? ret : -EIO;
	if (out) {
		size_t n = strlen(out);

		fs_buf_put(b, out, n);
		if (n && out[n - 1] != '\n')
			fs_buf_put(b, "\n", 1);
		free(out);
	}
	return b->err;
}

int fs_show_online(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	unsigned n = gm_mem_nr_nodes(fs->mem);

	(void)o;
	if (n == 1)
		fs_buf_printf(b, "0\n");
	else if (n > 1)
		fs_buf_printf(b, "0-%u\n", n - 1);
	else
		fs_buf_printf(b, "\n");
	return b->err;
}

void fs_meminfo_line(struct fs_buf *b, unsigned node, const char *key,
		     uint64_t bytes)
{
	char k[32];

	snprintf(k, sizeof(k), "%s:", key);
	fs_buf_printf(b, "Node %u %-15s %8llu kB\n", node, k,
		      (unsigned long long)(bytes >> 10));
}

int fs_show_meminfo(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	struct gm_node_stat st;
	uint64_t free_b;
	int ret = gm_node_stat(fs->mem, o->node, &st);

	if (ret)
		return ret;
	free_b = st.avail + (st.cma_size - st.cma_used);
	fs_meminfo_line(b, o->node, "MemTotal", st.size);
	fs_meminfo_line(b, o->node, "MemFree", free_b);
	fs_meminfo_line(b, o->node, "MemUsed", st.size - free_b);
	fs_meminfo_line(b, o->node, "EarlyReserved", st.early_reserved);
	fs_meminfo_line(b, o->node, "BuddyTotal", st.buddy_size);
	fs_meminfo_line(b, o->node, "BuddyFree", st.avail);
	fs_meminfo_line(b, o->node, "CmaTotal", st.cma_size);
	fs_meminfo_line(b, o->node, "CmaFree", st.cma_size - st.cma_used);
	fs_meminfo_line(b, o->node, "HotplugTotal", st.hotplug_size);
	fs_meminfo_line(b, o->node, "HotplugPlugged", st.hotplug_used);
	ret = fs_meminfo_ext(fs, o->node, b);
	return ret ? ret : b->err;
}

/* Free blocks per order (clean + dirty), like the kernel's free_area[]. */
static int free_counts(struct fs *fs, unsigned node, uint64_t *count,
		       uint64_t *clean, uint64_t *dirty, unsigned *nr)
{
	int ret = gm_node_free_area(fs->mem, node, clean, dirty, nr);

	if (ret)
		return ret;
	if (*nr > GM_MAX_ORDER + 1)
		*nr = GM_MAX_ORDER + 1;
	for (unsigned i = 0; i < *nr; i++)
		count[i] = clean[i] + dirty[i];
	return 0;
}

int fs_show_buddyinfo(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	uint64_t count[GM_MAX_ORDER + 1], clean[GM_MAX_ORDER + 1],
		 dirty[GM_MAX_ORDER + 1];
	unsigned nr = 0;
	int ret = free_counts(fs, o->node, count, clean, dirty, &nr);

	if (ret)
		return ret;
	fs_buf_printf(b, "Node %u, zone %8s ", o->node, ZONE_NAME);
	for (unsigned i = 0; i < nr; i++)
		fs_buf_printf(b, "%6llu ", (unsigned long long)count[i]);
	fs_buf_printf(b, "\n");
	return b->err;
}

int fs_show_free_area(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	uint64_t count[GM_MAX_ORDER + 1], clean[GM_MAX_ORDER + 1],
		 dirty[GM_MAX_ORDER + 1];
	uint64_t chunk = gm_mem_chunk_size(fs->mem);
	unsigned nr = 0;
	int ret = free_counts(fs, o->node, count, clean, dirty, &nr);

	if (ret)
		return ret;
	for (unsigned i = 0; i < nr; i++)
		fs_buf_printf(b, "%u %llu %llu %llu\n", i,
			      (unsigned long long)(chunk << i),
			      (unsigned long long)clean[i],
			      (unsigned long long)dirty[i]);
	return b->err;
}

/*
 * The kernel's unusable free space index (mm/vmstat.c): for each order, the
 * fraction of free memory that cannot serve an allocation of that order,
 * printed with three decimals; 1.000 when nothing is free.
 */
int fs_show_unusable(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	uint64_t count[GM_MAX_ORDER + 1], clean[GM_MAX_ORDER + 1],
		 dirty[GM_MAX_ORDER + 1];
	uint64_t free_chunks = 0;
	unsigned nr = 0;
	int ret = free_counts(fs, o->node, count, clean, dirty, &nr);

	if (ret)
		return ret;
	for (unsigned i = 0; i < nr; i++)
		free_chunks += count[i] << i;
	fs_buf_printf(b, "Node %u, zone %8s ", o->node, ZONE_NAME);
	for (unsigned k = 0; k < nr; k++) {
		uint64_t suitable = 0, idx = 1000;

		for (unsigned i = k; i < nr; i++)
			suitable += count[i] << (i - k);
		if (free_chunks)
			idx = (free_chunks - (suitable << k)) * 1000 / free_chunks;
		fs_buf_printf(b, "%u.%03u ", (unsigned)(idx / 1000),
			      (unsigned)(idx % 1000));
	}
	fs_buf_printf(b, "\n");
	return b->err;
}

int fs_show_host_node(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	struct gm_node_stat st;
	int ret = gm_node_stat(fs->mem, o->node, &st);

	if (ret)
		return ret;
	fs_buf_printf(b, "%d\n", st.host_node);
	return b->err;
}

int fs_show_early(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	struct gm_early_range *r = NULL;
	int n = gm_early_ranges(fs->mem, o->node, NULL, 0);

	if (n < 0)
		return n;
	if (n) {
		r = calloc((size_t)n, sizeof(*r));
		if (!r)
			return -ENOMEM;
		n = gm_early_ranges(fs->mem, o->node, r, (unsigned)n);
		if (n < 0) {
			free(r);
			return n;
		}
	}
	for (int i = 0; i < n; i++)
		fs_buf_printf(b, "0x%llx 0x%llx 0x%llx %s\n",
			      (unsigned long long)r[i].start,
			      (unsigned long long)(r[i].start + r[i].size),
			      (unsigned long long)r[i].size, r[i].label);
	free(r);
	return b->err;
}

int fs_show_node_value(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	struct gm_node_stat st;
	uint64_t v;
	int ret = gm_node_stat(fs->mem, o->node, &st);

	if (ret)
		return ret;
	switch (o->row) {
	case R_BUDDY_SIZE:	v = st.buddy_size; break;
	case R_BUDDY_CHUNK:	v = gm_mem_chunk_size(fs->mem); break;
	case R_BUDDY_AVAIL:	v = st.avail; break;
	case R_CMA_SIZE:	v = st.cma_size; break;
	case R_CMA_USED:	v = st.cma_used; break;
	case R_CMA_MAXCHUNK:	v = st.cma_maxchunk; break;
	case R_CMA_OPB:		v = st.cma_order_per_bit; break;
	default:		return -EINVAL;
	}
	fs_buf_printf(b, "%llu\n", (unsigned long long)v);
	return b->err;
}

int fs_show_cma_bitmap(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	char *text = NULL;
	int ret = gm_node_cma_bitmap(fs->mem, o->node, &text);

	if (ret)
		return ret;
	if (text) {
		fs_buf_put(b, text, strlen(text));
		free(text);
	}
	return b->err;
}

/* map.svg: the node's picture, drawn by guestmem from one snapshot. */
int fs_show_map_svg(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	char *svg = NULL;
	size_t len = 0;
	int ret = gm_node_svg(fs->mem, o->node, &svg, &len);

	if (ret)
		return ret;
	fs_buf_put(b, svg, len);
	free(svg);
	return b->err;
}

int fs_show_error(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	(void)o;
	pthread_mutex_lock(&fs->lock);
	if (fs->last_error[0])
		fs_buf_printf(b, "%s\n", fs->last_error);
	pthread_mutex_unlock(&fs->lock);
	return b->err;
}

/*
 * spec: the request's words, in the grammar a spec write accepts (plus
 * owner=vm for the VM's), from guestmem's one flag table.
 */
int fs_show_spec(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	struct gm_alloc_info *info;
	char line[512];
	int ret;

	if (o->a.pending)
		return 0;
	ret = gm_alloc_get_id(fs->mem, o->a.id, &info);
	if (ret)
		return ret;
	gm_request_format(&info->req, line, sizeof(line));
	fs_buf_printf(b, "%s\n", line);
	gm_alloc_info_free(info);
	return b->err;
}

/* blocks: "GPA SIZE order=N" per block, ascending (design.md section 1). */
int fs_show_blocks(struct fs *fs, const struct fs_obj *o, struct fs_buf *b)
{
	struct gm_alloc_info *info;
	int ret;

	if (o->a.pending)
		return 0;
	ret = gm_alloc_get_id(fs->mem, o->a.id, &info);
	if (ret)
		return ret;
	for (unsigned i = 0; i < info->nr_blocks; i++)
		fs_buf_printf(b, "0x%llx 0x%llx order=%u\n",
			      (unsigned long long)info->blocks[i].gpa,
			      (unsigned long long)info->blocks[i].size,
			      info->blocks[i].order);
	gm_alloc_info_free(info);
	return b->err;
}
