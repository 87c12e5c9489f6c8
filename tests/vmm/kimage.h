/* SPDX-License-Identifier: MIT */
/*
 * kimage.h - small synthetic Linux kernels for the loader tests
 * (test_direct.c, fuzz_bzimage.c): an x86-64 ELF shaped like a vmlinux,
 * with a PVH entry note and a relocation table, and bzImages whose payload
 * is that ELF compressed with xz, gzip, zstd or lz4 (the compressors are
 * the formats' own libraries, as the kernel's build uses their tools).
 *
 * The ELF, linked like Linux at physical 16 MiB / virtual
 * 0xffffffff81000000:
 *
 *   file 0x0000  ELF header, 3 program headers (text, data, note)
 *   file 0x1000  text  paddr 0x1000000, 64 KiB; a note inside at +0x800
 *                      ("GNU" id, then "Xen" type 18 -> 0x1000100)
 *   file 0x11000 data  paddr 0x1010000, 16 KiB in the file, 64 KiB in memory
 *   file 0x15000 two section headers (null)
 *   file 0x15080 relocation table (optional):
 *                [0][64-bit: text+0x200, data+0x10][0][inverse: text+0x300][0]
 *                [32-bit: text+0x400, data+0x20]
 */
#ifndef KVMEM_TESTS_KIMAGE_H
#define KVMEM_TESTS_KIMAGE_H

#include <lz4.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "layout.h"

#define KI_LO		0x1000000ULL
#define KI_MAP		0xffffffff80000000ULL	/* virtual - physical */
#define KI_TEXT_OFF	0x1000
#define KI_TEXT_SIZE	0x10000
#define KI_DATA_OFF	0x11000
#define KI_DATA_FILE	0x4000
#define KI_DATA_MEM	0x10000
#define KI_NOTE_AT	0x800			/* in text */
#define KI_SHOFF	0x15000
#define KI_ELF_END	(KI_SHOFF + 2 * 64)
#define KI_PVH_ENTRY	(KI_LO + 0x100)
#define KI_SPAN		(KI_TEXT_SIZE + KI_DATA_MEM)

/* The relocated locations (physical) and their values as linked. */
#define KI_R64_A	(KI_LO + 0x200)
#define KI_R64_B	(KI_LO + KI_TEXT_SIZE + 0x10)
#define KI_INV		(KI_LO + 0x300)
#define KI_R32_A	(KI_LO + 0x400)
#define KI_R32_B	(KI_LO + KI_TEXT_SIZE + 0x20)
#define KI_V64		0xffffffff81000500ULL
#define KI_VINV		0x1234
#define KI_V32		0x81000600u

static inline void ki_put(uint8_t *d, size_t off, unsigned w, uint64_t v)
{
	memcpy(d + off, &v, w);
}

/* Growable byte buffer. */
struct ki_buf {
	uint8_t *d;
	size_t len, cap;
};

static inline void ki_append(struct ki_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->d = realloc(b->d, b->cap);
		if (!b->d)
			abort();
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

/*
 * The ELF header of a 64-bit x86 executable entered at KI_LO, its @phnum
 * program headers right after it.
 */
static inline void ki_ehdr(uint8_t *d, unsigned phnum)
{
	ki_put(d, 0, 4, ELF_MAGIC);
	d[4] = ELF_CLASS64;
	d[5] = ELF_DATA_LSB;
	d[6] = 1;
	ki_put(d, ELF_E_TYPE, 2, ELF_ET_EXEC);
	ki_put(d, ELF_E_MACHINE, 2, ELF_EM_X86_64);
	ki_put(d, 0x14, 4, 1);				/* e_version */
	ki_put(d, ELF_E_ENTRY, 8, KI_LO);
	ki_put(d, ELF_E_PHOFF, 8, ELF_EHDR_SIZE);
	ki_put(d, ELF_E_PHENTSIZE, 2, ELF_PHDR_SIZE);
	ki_put(d, ELF_E_PHNUM, 2, phnum);
}

/* The ELF (and, if @relocs, its relocation table): malloc'd, *@len bytes. */
static inline uint8_t *ki_elf(bool relocs, bool pvh, size_t *len)
{
	size_t size = KI_ELF_END + (relocs ? 4 * 8 : 0);
	uint8_t *d = calloc(1, size);
	uint8_t *ph;

	if (!d)
		abort();
	ki_ehdr(d, 3);
	ki_put(d, ELF_E_SHOFF, 8, KI_SHOFF);
	ki_put(d, 0x34, 2, ELF_EHDR_SIZE);		/* e_ehsize */
	ki_put(d, ELF_E_SHENTSIZE, 2, 64);
	ki_put(d, ELF_E_SHNUM, 2, 2);
	/* text */
	ph = d + ELF_EHDR_SIZE;
	ki_put(ph, ELF_P_TYPE, 4, ELF_PT_LOAD);
	ki_put(ph, ELF_P_OFFSET, 8, KI_TEXT_OFF);
	ki_put(ph, ELF_P_VADDR, 8, KI_LO + KI_MAP);
	ki_put(ph, ELF_P_PADDR, 8, KI_LO);
	ki_put(ph, ELF_P_FILESZ, 8, KI_TEXT_SIZE);
	ki_put(ph, ELF_P_MEMSZ, 8, KI_TEXT_SIZE);
	/* data + bss */
	ph += ELF_PHDR_SIZE;
	ki_put(ph, ELF_P_TYPE, 4, ELF_PT_LOAD);
	ki_put(ph, ELF_P_OFFSET, 8, KI_DATA_OFF);
	ki_put(ph, ELF_P_VADDR, 8, KI_LO + KI_TEXT_SIZE + KI_MAP);
	ki_put(ph, ELF_P_PADDR, 8, KI_LO + KI_TEXT_SIZE);
	ki_put(ph, ELF_P_FILESZ, 8, KI_DATA_FILE);
	ki_put(ph, ELF_P_MEMSZ, 8, KI_DATA_MEM);
	/* notes: a GNU build id, then Xen's PHYS32_ENTRY */
	ph += ELF_PHDR_SIZE;
	ki_put(ph, ELF_P_TYPE, 4, ELF_PT_NOTE);
	ki_put(ph, ELF_P_OFFSET, 8, KI_TEXT_OFF + KI_NOTE_AT);
	ki_put(ph, ELF_P_FILESZ, 8, 16 + 8 + 12 + 4 + 8);

	for (size_t i = KI_TEXT_OFF; i < KI_DATA_OFF + KI_DATA_FILE; i++)
		d[i] = (uint8_t)(i * 7 + 3);
	{
		uint8_t *n = d + KI_TEXT_OFF + KI_NOTE_AT;

		ki_put(n, 0, 4, 4);		/* namesz "GNU\0" */
		ki_put(n, 4, 4, 8);		/* descsz */
		ki_put(n, 8, 4, 3);		/* NT_GNU_BUILD_ID */
		memcpy(n + 12, "GNU", 4);
		memset(n + 16, 0xab, 8);
		n += 24;
		ki_put(n, 0, 4, 4);
		ki_put(n, 4, 4, 8);
		ki_put(n, 8, 4, pvh ? PVH_NOTE_PHYS32_ENTRY : 17);
		memcpy(n + 12, "Xen", 4);
		ki_put(n, 16, 8, KI_PVH_ENTRY);
	}
	ki_put(d, KI_TEXT_OFF + (KI_R64_A - KI_LO), 8, KI_V64);
	ki_put(d, KI_DATA_OFF + (KI_R64_B - KI_LO - KI_TEXT_SIZE), 8, KI_V64);
	ki_put(d, KI_TEXT_OFF + (KI_INV - KI_LO), 4, KI_VINV);
	ki_put(d, KI_TEXT_OFF + (KI_R32_A - KI_LO), 4, KI_V32);
	ki_put(d, KI_DATA_OFF + (KI_R32_B - KI_LO - KI_TEXT_SIZE), 4, KI_V32);
	memset(d + KI_SHOFF, 0, KI_ELF_END - KI_SHOFF);
	if (relocs) {
		uint32_t *r = (uint32_t *)(d + KI_ELF_END);

		r[0] = 0;
		r[1] = (uint32_t)(KI_R64_A + KI_MAP);
		r[2] = (uint32_t)(KI_R64_B + KI_MAP);
		r[3] = 0;
		r[4] = (uint32_t)(KI_INV + KI_MAP);
		r[5] = 0;
		r[6] = (uint32_t)(KI_R32_A + KI_MAP);
		r[7] = (uint32_t)(KI_R32_B + KI_MAP);
	}
	*len = size;
	return d;
}

/* @in compressed as the kernel's build does it for @format; false if unknown. */
static inline bool ki_compress(const char *format, const uint8_t *in, size_t len,
			       struct ki_buf *out)
{
	uint32_t size32 = (uint32_t)len;

	out->len = 0;
	if (!strcmp(format, "xz")) {
		size_t cap = lzma_stream_buffer_bound(len), pos = 0;
		uint8_t *b = malloc(cap);

		if (!b || lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len,
						  b, &pos, cap) != LZMA_OK)
			abort();
		ki_append(out, b, pos);
		free(b);
	} else if (!strcmp(format, "gzip")) {
		z_stream s = { 0 };
		uint8_t *b = malloc(compressBound(len) + 64);

		if (!b || deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
				       Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		s.next_in = (Bytef *)in;
		s.avail_in = (uInt)len;
		s.next_out = b;
		s.avail_out = (uInt)(compressBound(len) + 64);
		if (deflate(&s, Z_FINISH) != Z_STREAM_END)
			abort();
		ki_append(out, b, s.total_out);
		deflateEnd(&s);
		free(b);
		return true;		/* ISIZE is the size */
	} else if (!strcmp(format, "zstd")) {
		size_t cap = ZSTD_compressBound(len), n;
		uint8_t *b = malloc(cap);
		ZSTD_CCtx *c = ZSTD_createCCtx();

		/* the zstd tool (what Kbuild runs) writes a content checksum */
		if (!b || !c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)))
			abort();
		n = ZSTD_compress2(c, b, cap, in, len);
		ZSTD_freeCCtx(c);
		if (ZSTD_isError(n))
			abort();
		ki_append(out, b, n);
		free(b);
	} else if (!strcmp(format, "lz4")) {
		const uint32_t magic = 0x184c2102u, block = 8u << 20;
		uint8_t *b = malloc((size_t)LZ4_compressBound((int)block));

		if (!b)
			abort();
		ki_append(out, &magic, 4);
		for (size_t at = 0; at < len; at += block) {
			int n = LZ4_compress_default((const char *)in + at, (char *)b,
						     (int)(len - at < block ? len - at : block),
						     LZ4_compressBound((int)block));
			uint32_t n32 = (uint32_t)n;

			ki_append(out, &n32, 4);
			ki_append(out, b, (size_t)n);
		}
		free(b);
	} else {
		return false;
	}
	ki_append(out, &size32, 4);
	return true;
}

/*
 * A bzImage around @payload (@plen bytes): one setup sector, protocol
 * 2.15, 64-bit entry, relocatable, pref_address 16 MiB, the payload at
 * offset 0x100 of the protected-mode code. malloc'd, *@len bytes.
 */
static inline uint8_t *ki_bzimage(const uint8_t *payload, size_t plen,
				  size_t decompressed, size_t *len)
{
	size_t pm_off = 2 * 512, pm_size = (0x100 + plen + 15) & ~(size_t)15;
	uint8_t *d = calloc(1, pm_off + pm_size);

	if (!d)
		abort();
	d[BP_SETUP_SECTS] = 1;
	ki_put(d, BP_SYSSIZE, 4, pm_size / 16);
	ki_put(d, BP_BOOT_FLAG, 2, BP_BOOT_FLAG_MAGIC);
	d[BP_JUMP] = 0xeb;
	d[BP_JUMP + 1] = 0x66;				/* header ends at 0x268 */
	ki_put(d, BP_HEADER, 4, BP_HDRS_MAGIC);
	ki_put(d, BP_VERSION, 2, 0x020f);
	d[BP_LOADFLAGS] = BP_LOADED_HIGH;
	ki_put(d, BP_INITRD_ADDR_MAX, 4, 0x7fffffff);
	ki_put(d, BP_KERNEL_ALIGNMENT, 4, 0x200000);
	d[BP_RELOCATABLE] = 1;
	ki_put(d, BP_XLOADFLAGS, 2, BP_XLF_KERNEL_64 | BP_XLF_ABOVE_4G);
	ki_put(d, BP_CMDLINE_SIZE, 4, 2047);
	ki_put(d, BP_PAYLOAD_OFFSET, 4, 0x100);
	ki_put(d, BP_PAYLOAD_LENGTH, 4, plen);
	ki_put(d, BP_PREF_ADDRESS, 8, KI_LO);
	ki_put(d, BP_INIT_SIZE, 4, ((decompressed > KI_SPAN ? decompressed : KI_SPAN) +
				    0x100000) & ~0xfffULL);
	memset(d + pm_off, 0x90, 0x100);		/* the decompressor's place */
	memcpy(d + pm_off + 0x100, payload, plen);
	*len = pm_off + pm_size;
	return d;
}

#endif /* KVMEM_TESTS_KIMAGE_H */
