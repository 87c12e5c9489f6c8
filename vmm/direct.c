// SPDX-License-Identifier: MIT
/*
 * direct.c - a bzImage's kernel booted with no in-guest decompression.
 *
 * The payload ([BP] payload_offset/payload_length) is decompressed on the
 * host (decompress.c), or read back from the cache of decompressed kernels
 * (kcache.c); it is the kernel's ELF followed by its relocation table,
 * exactly what the kernel's own decompressor produces. Its segments are
 * loaded where bzimage.c placed them, the relocations are applied for the
 * virtual offset KASLR chose (reloc.c), and the vCPU starts at the ELF's
 * entry, startup_64, in the 64-bit boot protocol's state with the zero
 * page in RSI: what the in-guest decompressor hands over when it is done.
 *
 * Every check (the payload, the ELF, every relocation) runs in
 * vmm_direct_open(), before anything is placed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot.h"
#include "io.h"
#include "layout.h"

#define PAYLOAD_MAGIC_READ	8

/* The ELF and relocations of @d->im; @d->im must be set. */
static int parse_image(struct vmm_direct *d, const char *label,
		       struct gm_error *e)
{
	uint64_t tail;
	int ret;

	ret = vmm_elf_parse(&d->im, &d->elf, e);
	if (ret < 0)
		return ret;
	tail = d->im.size - d->elf.file_end;
	if (d->im.buf) {
		d->tail = d->im.buf + d->elf.file_end;
	} else if (tail) {
		d->tail_buf = malloc(tail);
		if (!d->tail_buf)
			return gm_error_set(e, ENOMEM, "kernel %s: out of memory", label);
		ret = vmm_image_read(&d->im, d->elf.file_end, d->tail_buf, tail);
		if (ret < 0)
			return gm_error_set(e, -ret, "kernel %s: reading its relocations: %s",
				    label, strerror(-ret));
		d->tail = d->tail_buf;
	}
	return vmm_relocs_parse(d->tail, tail, &d->elf, label, &d->rel, e);
}

static void drop_image(struct vmm_direct *d)
{
	free(d->tail_buf);
	d->tail_buf = NULL;
	d->tail = NULL;
	vmm_payload_release(&d->payload);
	memset(&d->im, 0, sizeof(d->im));
	memset(&d->elf, 0, sizeof(d->elf));
}

/* The cached payload, if there is a good one. */
static bool open_cached(struct vmm_direct *d, const char *path,
			const struct stat *st, uint64_t declared,
			const char *cache_dir)
{
	struct gm_error ignored;

	if (vmm_kcache_find(cache_dir, path, st, declared, d->cache_path,
			    sizeof(d->cache_path)))
		return false;
	d->im = (struct vmm_image){ .path = d->cache_path, .size = declared };
	if (!parse_image(d, d->cache_path, &ignored)) {
		d->cached = true;
		return true;
	}
	vmm_kcache_forget(d->cache_path);	/* damaged: replaced below */
	drop_image(d);
	return false;
}

int vmm_direct_open(const char *path, uint64_t payload_off,
		    uint64_t payload_len, uint64_t max, const char *cache_dir,
		    struct vmm_direct *d, struct gm_error *e)
{
	uint8_t head[PAYLOAD_MAGIC_READ], size_le[LNX_PAYLOAD_SIZE_BYTES];
	char what[PATH_MAX + 8];
	uint64_t declared;
	struct stat st;
	uint8_t *in;
	ssize_t n;
	int ret;

	memset(d, 0, sizeof(*d));
	snprintf(d->label, sizeof(d->label), "%s (decompressed payload)", path);
	snprintf(what, sizeof(what), "kernel %s", path);
	if (payload_len < sizeof(head))
		return gm_error_set(e, ENOEXEC, "kernel %s: payload of %llu bytes is too short",
			    path, (unsigned long long)payload_len);
	if (stat(path, &st))
		return gm_error_set(e, errno, "kernel %s: %s", path, strerror(errno));
	/* the format (so an unsupported one is refused first) and the size */
	n = kio_load_file(path, head, sizeof(head), payload_off, KIO_F_PREAD);
	if (n == (ssize_t)sizeof(head))
		n = kio_load_file(path, size_le, sizeof(size_le),
				  payload_off + payload_len - sizeof(size_le), KIO_F_PREAD);
	if (n != (ssize_t)sizeof(size_le))
		return gm_error_set(e, n < 0 ? (int)-n : EIO, "kernel %s: reading its payload: %s",
			    path, n < 0 ? strerror((int)-n) : "short read");
	ret = vmm_payload_probe(head, sizeof(head), what, &d->format, e);
	if (ret < 0)
		return ret;
	declared = (uint64_t)size_le[0] | (uint64_t)size_le[1] << 8 |
		   (uint64_t)size_le[2] << 16 | (uint64_t)size_le[3] << 24;
	if (cache_dir && declared && declared <= max &&
	    open_cached(d, path, &st, declared, cache_dir))
		return 0;

	in = malloc(payload_len);
	if (!in)
		return gm_error_set(e, ENOMEM, "kernel %s: out of memory for its payload", path);
	n = kio_load_file(path, in, payload_len, payload_off, 0);
	if (n != (ssize_t)payload_len) {
		free(in);
		return gm_error_set(e, n < 0 ? (int)-n : EIO, "kernel %s: reading its payload: %s",
			    path, n < 0 ? strerror((int)-n) : "short read");
	}
	ret = vmm_decompress(in, payload_len, max, what, &d->payload, e);
	free(in);
	if (ret < 0)
		return ret;
	d->im = (struct vmm_image){ .path = d->label, .buf = d->payload.data,
				    .size = d->payload.size };
	ret = parse_image(d, d->label, e);
	if (ret < 0) {
		vmm_direct_close(d);
		return ret;
	}
	if (cache_dir)
		vmm_kcache_store(cache_dir, path, &st, d->payload.data, d->payload.size);
	return 0;
}

int vmm_direct_load(struct gm_mem *mem, const struct vmm_direct *d,
		    uint64_t base, uint64_t delta, struct vmm_boot_times *t,
		    struct gm_error *e)
{
	uint64_t size = d->elf.hi - d->elf.lo;
	uint8_t *image = gm_mem_hva(mem, base, size);
	double t0 = vmm_now_ms(), t1;
	int ret;

	if (!image)
		return gm_error_set(e, EIO, "kernel %s: guest memory at 0x%llx+0x%llx is not backed",
			    d->label, (unsigned long long)base,
			    (unsigned long long)size);
	ret = vmm_elf_load(mem, &d->im, &d->elf, base, e);
	if (ret < 0)
		return ret;
	t1 = vmm_now_ms();
	vmm_relocs_apply(&d->rel, &d->elf, image, delta);
	t->load += t1 - t0;
	t->reloc += vmm_now_ms() - t1;
	return 0;
}

void vmm_direct_close(struct vmm_direct *d)
{
	if (d)
		drop_image(d);
}
