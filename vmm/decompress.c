// SPDX-License-Identifier: MIT
/*
 * decompress.c - a bzImage's payload, decompressed on the host with the
 * format's own library: xz (liblzma), gzip (zlib), zstd (libzstd) and lz4
 * (liblz4, the "legacy" framing `lz4 -l` writes), the formats Linux builds
 * its x86 kernels with by default or commonly ([LNX] compressed/Makefile:
 * KERNEL_XZ, _GZIP, _ZSTD, _LZ4). bzip2, lzma and lzo payloads are named
 * and refused with -EOPNOTSUPP, so `--boot auto` can fall back to letting
 * the kernel decompress itself.
 *
 * The payload is the compressed stream followed by the decompressed size,
 * u32 little-endian (for gzip that is the stream's own ISIZE trailer). The
 * output buffer is exactly that size and every decoder is bounded by it: a
 * stream that produces more, or less, or ends early, or fails its check,
 * is -ENOEXEC with a one-line reason. Nothing here knows about guests.
 */
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "boot.h"
#include "layout.h"

#define XZ_MEMLIMIT	(256ULL << 20)	/* Linux's xz uses a 32 MiB dictionary */
#define LZ4_LEGACY_MAGIC 0x184c2102u	/* lz4 -l: magic, then {u32 size, block}... */
#define LZ4_LEGACY_BLOCK (8u << 20)	/* a legacy block decompresses to <= 8 MiB */

/* How a decoder ended. */
enum dz_status { DZ_OK, DZ_LONGER, DZ_SHORT, DZ_CORRUPT };

struct dz {
	const uint8_t *in;
	size_t in_len;		/* the stream (gzip: with its trailer) */
	uint8_t *out;
	size_t out_len;		/* the declared size */
	size_t done;		/* bytes produced */
	const char *why;	/* DZ_CORRUPT: the library's reason */
};

static enum dz_status unxz(struct dz *z)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;

	if (lzma_stream_decoder(&s, XZ_MEMLIMIT, 0) != LZMA_OK) {
		z->why = "cannot start the xz decoder";
		return DZ_CORRUPT;
	}
	s.next_in = z->in;
	s.avail_in = z->in_len;
	s.next_out = z->out;
	s.avail_out = z->out_len;
	r = lzma_code(&s, LZMA_FINISH);
	z->done = z->out_len - s.avail_out;
	lzma_end(&s);
	switch (r) {
	case LZMA_STREAM_END:
		return DZ_OK;
	case LZMA_OK:
	case LZMA_BUF_ERROR:
		return s.avail_out ? DZ_SHORT : DZ_LONGER;
	case LZMA_MEMLIMIT_ERROR:
		z->why = "needs more than 256 MiB of dictionary";
		return DZ_CORRUPT;
	case LZMA_FORMAT_ERROR:
		z->why = "not an xz stream";
		return DZ_CORRUPT;
	case LZMA_OPTIONS_ERROR:
		z->why = "unsupported xz options";
		return DZ_CORRUPT;
	default:
		z->why = "corrupt data or failed integrity check";
		return DZ_CORRUPT;
	}
}

static enum dz_status gunzip(struct dz *z)
{
	z_stream s = { 0 };
	int r;

	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) {	/* 16: gzip wrapper */
		z->why = "cannot start the gzip decoder";
		return DZ_CORRUPT;
	}
	s.next_in = (Bytef *)z->in;
	s.avail_in = (uInt)z->in_len;
	s.next_out = z->out;
	s.avail_out = (uInt)z->out_len;
	r = inflate(&s, Z_FINISH);
	z->done = z->out_len - s.avail_out;
	z->why = s.msg ? s.msg : "corrupt data";
	inflateEnd(&s);
	if (r == Z_STREAM_END)
		return DZ_OK;
	if (r == Z_BUF_ERROR)
		return s.avail_out ? DZ_SHORT : DZ_LONGER;
	return DZ_CORRUPT;
}

/*
 * One zstd frame, decoded in one shot into the output buffer (which is the
 * window: no window allocation however large the frame says it is).
 */
static enum dz_status unzstd(struct dz *z)
{
	size_t frame = ZSTD_findFrameCompressedSize(z->in, z->in_len), n;

	if (ZSTD_isError(frame)) {
		z->why = ZSTD_getErrorName(frame);
		return ZSTD_getErrorCode(frame) == ZSTD_error_srcSize_wrong ? DZ_SHORT
									    : DZ_CORRUPT;
	}
	n = ZSTD_decompress(z->out, z->out_len, z->in, frame);
	if (!ZSTD_isError(n)) {
		z->done = n;
		return DZ_OK;
	}
	z->why = ZSTD_getErrorName(n);
	return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? DZ_LONGER
								   : DZ_CORRUPT;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* lz4 -l: the magic, then blocks {u32 compressed size, data} to the end. */
static enum dz_status unlz4(struct dz *z)
{
	size_t at = 4;

	while (at < z->in_len) {
		uint32_t csize;
		size_t room = z->out_len - z->done;
		int n;

		if (z->in_len - at < 4)
			return DZ_SHORT;
		csize = le32(z->in + at);
		at += 4;
		if (csize == LZ4_LEGACY_MAGIC)		/* a concatenated stream */
			continue;
		if (!csize || csize > z->in_len - at || csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return csize > z->in_len - at ? DZ_SHORT : DZ_CORRUPT;
		if (!room)
			return DZ_LONGER;
		n = LZ4_decompress_safe((const char *)z->in + at,
					(char *)z->out + z->done, (int)csize,
					(int)(room < LZ4_LEGACY_BLOCK ? room : LZ4_LEGACY_BLOCK));
		if (n < 0) {
			/* cut short by the declared size, or bad data: say both */
			z->why = room < LZ4_LEGACY_BLOCK ?
				 "a block is corrupt or decompresses past the declared size" :
				 "a block is corrupt";
			return DZ_CORRUPT;
		}
		z->done += (size_t)n;
		at += csize;
	}
	return DZ_OK;
}

struct format {
	const char *name;
	uint8_t magic[6];
	unsigned magic_len;
	enum dz_status (*fn)(struct dz *z);	/* NULL: named, not supported */
	bool trailer_in_stream;			/* gzip: the size is ISIZE */
};

static const struct format formats[] = {
	{ "xz", { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6, unxz, false },
	{ "gzip", { 0x1f, 0x8b }, 2, gunzip, true },
	{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4, unzstd, false },
	{ "lz4", { 0x02, 0x21, 0x4c, 0x18 }, 4, unlz4, false },
	{ "bzip2", { 'B', 'Z', 'h' }, 3, NULL, false },
	{ "lzma", { 0x5d, 0x00, 0x00 }, 3, NULL, false },
	{ "lzo", { 0x89, 'L', 'Z', 'O' }, 4, NULL, false },
};

/* The format of the payload starting with @in, by its magic; NULL if unknown. */
static const struct format *probe(const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (len >= formats[i].magic_len &&
		    !memcmp(in, formats[i].magic, formats[i].magic_len))
			return &formats[i];
	return NULL;
}

int vmm_payload_probe(const uint8_t *in, size_t len, const char *what,
		      const char **format, struct gm_error *e)
{
	const struct format *f = in ? probe(in, len) : NULL;

	if (!f)
		return gm_error_set(e, EOPNOTSUPP, "%s: payload in an unknown compression format (magic %02x %02x %02x %02x)",
			    what, in && len > 0 ? in[0] : 0, in && len > 1 ? in[1] : 0,
			    in && len > 2 ? in[2] : 0, in && len > 3 ? in[3] : 0);
	if (format)
		*format = f->name;
	if (!f->fn)
		return gm_error_set(e, EOPNOTSUPP, "%s: payload compressed with %s; kvmem decompresses xz, gzip, zstd and lz4 (--boot bzimage lets the kernel do it)",
			    what, f->name);
	return 0;
}

int vmm_decompress(const uint8_t *in, size_t len, uint64_t max,
		   const char *what, struct vmm_payload *out,
		   struct gm_error *e)
{
	const struct format *f;
	struct dz z = { 0 };
	enum dz_status st;
	uint64_t declared;
	int ret;

	if (!in || !what || !out)
		return gm_error_set(e, EINVAL, "decompress: bad arguments");
	ret = vmm_payload_probe(in, len, what, NULL, e);
	if (ret < 0)
		return ret;
	f = probe(in, len);
	if (len < f->magic_len + LNX_PAYLOAD_SIZE_BYTES)
		return gm_error_set(e, ENOEXEC, "%s: %s payload of %zu bytes is truncated",
			    what, f->name, len);
	declared = le32(in + len - LNX_PAYLOAD_SIZE_BYTES);
	if (!declared || declared > max)
		return gm_error_set(e, ENOEXEC, "%s: %s payload declares %llu decompressed bytes (must be 1..%llu)",
			    what, f->name, (unsigned long long)declared,
			    (unsigned long long)max);
	z.in = in;
	z.in_len = f->trailer_in_stream ? len : len - LNX_PAYLOAD_SIZE_BYTES;
	z.out_len = declared;
	z.out = malloc(declared);
	if (!z.out)
		return gm_error_set(e, ENOMEM, "%s: no memory for %llu decompressed bytes",
			    what, (unsigned long long)declared);
	st = f->fn(&z);
	if (st == DZ_OK && z.done != declared)
		st = DZ_SHORT;
	switch (st) {
	case DZ_OK:
		*out = (struct vmm_payload){ z.out, declared, f->name };
		return 0;
	case DZ_LONGER:
		gm_error_set(e, ENOEXEC, "%s: %s payload decompresses to more than the %llu bytes it declares",
			     what, f->name, (unsigned long long)declared);
		break;
	case DZ_SHORT:
		gm_error_set(e, ENOEXEC, "%s: %s payload ends after %zu of the %llu bytes it declares (truncated or lying size)",
			     what, f->name, z.done, (unsigned long long)declared);
		break;
	case DZ_CORRUPT:
		gm_error_set(e, ENOEXEC, "%s: %s payload is corrupt: %s", what,
			     f->name, z.why);
		break;
	}
	free(z.out);
	return -ENOEXEC;
}

void vmm_payload_release(struct vmm_payload *p)
{
	if (!p)
		return;
	free(p->data);
	*p = (struct vmm_payload){ 0 };
}
