// SPDX-License-Identifier: MIT
/*
 * aml.c - just enough of an ACPI Machine Language encoder for kvmem's DSDT
 * ([ACPI] = ACPI Specification 6.4, chapter 20 "ACPI Machine Language
 * Specification", and 6.4 "Resource Data Types for ACPI").
 *
 * The DSDT holds declarations only, no methods: Name() objects (integers,
 * strings, packages, resource templates), Scope() and Device() blocks. A
 * block's PkgLength counts its own bytes, so it is only known once the
 * block is written: vmm_aml_open() reserves the longest encoding (4 bytes)
 * and vmm_aml_close() writes the real one and moves the body down.
 *
 * Errors are sticky: a failed allocation sets a->err and every later call
 * does nothing, so a table is built with straight-line code and checked
 * once at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"

/* [ACPI] 20.2 opcodes and prefixes */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_PACKAGE		0x12
#define AML_EXT_PREFIX		0x5b
#define AML_DEVICE		0x82	/* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR		'\\'

#define PKGLEN_MAX_BYTES	4
#define PKGLEN_MAX		0x0fffffffu	/* 28 bits in 4 bytes */

/* [ACPI] 6.4.3 large resource items, 6.4.2.9 end tag */
#define RES_MEMORY32_FIXED	0x86
#define RES_EXT_IRQ		0x89
#define RES_END_TAG		0x79
#define EXT_IRQ_CONSUMER	0x01
#define EXT_IRQ_EDGE		0x02	/* 0 = level */
#define MEM32_READ_WRITE	0x01

/* Room for @n more bytes (gm_grow(), kvmem's one growable array); sticky -ENOMEM. */
static void reserve(struct vmm_aml *a, size_t n)
{
	if (a->err || a->len + n <= a->cap)
		return;
	if (n > SIZE_MAX - a->len || gm_grow(&a->p, &a->cap, a->len + n, 1))
		a->err = -ENOMEM;
}

void vmm_aml_bytes(struct vmm_aml *a, const void *data, size_t len)
{
	reserve(a, len);
	if (a->err)
		return;
	memcpy(a->p + a->len, data, len);
	a->len += len;
}

static void put8(struct vmm_aml *a, uint8_t v)
{
	vmm_aml_bytes(a, &v, 1);
}

static void put_le(struct vmm_aml *a, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		put8(a, (uint8_t)(v >> (8 * i)));
}

void vmm_aml_release(struct vmm_aml *a)
{
	free(a->p);
	memset(a, 0, sizeof(*a));
}

/*
 * [ACPI] 20.2.2 NameString: an optional root prefix and segments of exactly
 * four characters (A-Z, 0-9, '_'; the first not a digit), separated by '.'
 * in @path; shorter segments are padded with '_' as ASL does. Two segments
 * are a DualNamePath, more a MultiNamePath.
 */
void vmm_aml_name(struct vmm_aml *a, const char *path)
{
	char seg[16][4];
	unsigned n = 0;
	const char *p = path;

	if (*p == AML_ROOT_CHAR) {
		put8(a, AML_ROOT_CHAR);
		p++;
	}
	while (*p && n < 16) {
		size_t len = strcspn(p, ".");

		if (!len || len > 4) {
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
		memset(seg[n], '_', 4);
		memcpy(seg[n], p, len);
		n++;
		p += len;
		if (*p == '.')
			p++;
	}
	if (*p) {
		a->err = a->err ? a->err : -EINVAL;
		return;
	}
	if (n == 0) {
		put8(a, AML_ZERO);		/* NullName */
		return;
	}
	if (n == 2)
		put8(a, 0x2e);			/* DualNamePrefix */
	else if (n > 2) {
		put8(a, 0x2f);			/* MultiNamePrefix */
		put8(a, (uint8_t)n);
	}
	for (unsigned i = 0; i < n; i++)
		vmm_aml_bytes(a, seg[i], 4);
}

/* [ACPI] 20.2.3 ComputationalData: the shortest integer encoding. */
void vmm_aml_int(struct vmm_aml *a, uint64_t v)
{
	if (v == 0)
		put8(a, AML_ZERO);
	else if (v == 1)
		put8(a, AML_ONE);
	else if (v <= 0xff) {
		put8(a, AML_BYTE_PREFIX);
		put8(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		put8(a, AML_WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		put8(a, AML_DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		put8(a, AML_QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void vmm_aml_string(struct vmm_aml *a, const char *s)
{
	put8(a, AML_STRING_PREFIX);
	vmm_aml_bytes(a, s, strlen(s) + 1);
}

size_t vmm_aml_open(struct vmm_aml *a, const uint8_t *op, size_t oplen)
{
	static const uint8_t zero[PKGLEN_MAX_BYTES];
	size_t mark;

	vmm_aml_bytes(a, op, oplen);
	mark = a->len;
	vmm_aml_bytes(a, zero, PKGLEN_MAX_BYTES);
	return mark;
}

/*
 * [ACPI] 20.2.4 PkgLength: the length of the block from the PkgLength
 * itself to its end. One byte holds up to 63; with 2-4 bytes the first
 * holds the count of following bytes (bits 7-6) and the low nibble, the
 * rest 8 bits each.
 */
void vmm_aml_close(struct vmm_aml *a, size_t mark)
{
	size_t body, total;
	unsigned n;
	uint8_t enc[PKGLEN_MAX_BYTES];

	if (a->err)
		return;
	body = a->len - mark - PKGLEN_MAX_BYTES;
	for (n = 1; n <= PKGLEN_MAX_BYTES; n++) {
		total = body + n;
		if ((n == 1 && total <= 0x3f) || (n == 2 && total <= 0xfff) ||
		    (n == 3 && total <= 0xfffff) || (n == 4 && total <= PKGLEN_MAX))
			break;
	}
	if (n > PKGLEN_MAX_BYTES) {
		a->err = -E2BIG;
		return;
	}
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memcpy(a->p + mark, enc, n);
	memmove(a->p + mark + n, a->p + mark + PKGLEN_MAX_BYTES, body);
	a->len = mark + n + body;
}

size_t vmm_aml_scope(struct vmm_aml *a, const char *path)
{
	static const uint8_t op[] = { AML_SCOPE };
	size_t mark = vmm_aml_open(a, op, sizeof(op));

	vmm_aml_name(a, path);
	return mark;
}

size_t vmm_aml_device(struct vmm_aml *a, const char *name)
{
	static const uint8_t op[] = { AML_EXT_PREFIX, AML_DEVICE };
	size_t mark = vmm_aml_open(a, op, sizeof(op));

	vmm_aml_name(a, name);
	return mark;
}

void vmm_aml_name_int(struct vmm_aml *a, const char *name, uint64_t v)
{
	put8(a, AML_NAME);
	vmm_aml_name(a, name);
	vmm_aml_int(a, v);
}

void vmm_aml_name_string(struct vmm_aml *a, const char *name, const char *s)
{
	put8(a, AML_NAME);
	vmm_aml_name(a, name);
	vmm_aml_string(a, s);
}

/* [ACPI] 19.6.102 Package / 20.2.5.4 DefPackage: integers only. */
void vmm_aml_name_package(struct vmm_aml *a, const char *name,
			  const uint64_t *v, unsigned nr)
{
	static const uint8_t op[] = { AML_PACKAGE };
	size_t mark;

	put8(a, AML_NAME);
	vmm_aml_name(a, name);
	mark = vmm_aml_open(a, op, sizeof(op));
	put8(a, (uint8_t)nr);			/* NumElements */
	for (unsigned i = 0; i < nr; i++)
		vmm_aml_int(a, v[i]);
	vmm_aml_close(a, mark);
}

/*
 * Name(_CRS, ResourceTemplate() {
 *     Memory32Fixed(ReadWrite, @base, @size)
 *     Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { @gsi }
 * })
 * A resource template is a Buffer (20.2.5.4 DefBuffer: BufferSize, then the
 * bytes) of resource descriptors ending in an end tag (6.4.2.9, checksum 0
 * meaning "none").
 */
void vmm_aml_crs_mmio_irq(struct vmm_aml *a, uint32_t base, uint32_t size,
			  uint32_t gsi)
{
	static const uint8_t op[] = { AML_BUFFER };
	uint8_t res[12 + 9 + 2];
	size_t mark, o = 0;

	res[o++] = RES_MEMORY32_FIXED;		/* 6.4.3.4 */
	res[o++] = 9;				/* length, little endian */
	res[o++] = 0;
	res[o++] = MEM32_READ_WRITE;
	for (int i = 0; i < 4; i++)
		res[o++] = (uint8_t)(base >> (8 * i));
	for (int i = 0; i < 4; i++)
		res[o++] = (uint8_t)(size >> (8 * i));
	res[o++] = RES_EXT_IRQ;			/* 6.4.3.6 */
	res[o++] = 6;
	res[o++] = 0;
	res[o++] = EXT_IRQ_CONSUMER | EXT_IRQ_EDGE;	/* active high, exclusive */
	res[o++] = 1;				/* one interrupt */
	for (int i = 0; i < 4; i++)
		res[o++] = (uint8_t)(gsi >> (8 * i));
	res[o++] = RES_END_TAG;
	res[o++] = 0;

	put8(a, AML_NAME);
	vmm_aml_name(a, "_CRS");
	mark = vmm_aml_open(a, op, sizeof(op));
	vmm_aml_int(a, o);			/* BufferSize */
	vmm_aml_bytes(a, res, o);
	vmm_aml_close(a, mark);
}
