// SPDX-License-Identifier: MIT
/*
 * reloc.c - the relocation table a bzImage's payload carries after the
 * kernel's ELF, applied on the host so that a directly booted kernel keeps
 * KASLR (its text at a random virtual address).
 *
 * The table ([LNX] arch/x86/tools/relocs.c writes it, compressed/misc.c
 * applies it in the in-guest decompressor) is a run of u32 words which,
 * read from the end backwards, are: the 32-bit relocations up to a 0, the
 * inverse 32-bit relocations up to a 0, the 64-bit relocations up to a 0,
 * that last 0 being the table's first word. Each word is the kernel
 * virtual address (sign-extended to 64 bits) of a location to patch; moving
 * the kernel's virtual base up by delta adds delta to the u32 or u64 at
 * each 32-bit or 64-bit location and subtracts it from the s32 at each
 * inverse one (per-CPU references). The physical load address needs no
 * relocation on x86-64: the kernel's startup_64 fixes its page tables
 * itself for wherever it runs.
 *
 * Everything is checked when parsing (every location inside the kernel's
 * file-backed bytes, the table exactly consumed), so applying cannot fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

static uint32_t word(const uint8_t *d, size_t i)
{
	uint32_t v;

	memcpy(&v, d + 4 * i, 4);
	return v;
}

/* The linked physical address of the location a relocation word names. */
static uint64_t target(const struct vmm_relocs *r, uint32_t w)
{
	return (uint64_t)(int64_t)(int32_t)w - r->map;
}

/*
 * The virtual-minus-physical offset of the kernel's mapping: that of the
 * segment holding the entry point (which, like p_paddr, is physical).
 * Every segment with a virtual address must agree; per-CPU data is linked
 * at virtual 0 and is skipped.
 */
static int kernel_map(const struct vmm_elf *elf, uint64_t *map)
{
	bool found = false;

	for (unsigned i = 0; i < elf->nr_seg; i++) {
		const struct vmm_elf_seg *s = &elf->seg[i];

		if (elf->entry >= s->paddr && elf->entry - s->paddr < s->filesz) {
			*map = s->vaddr - s->paddr;
			found = true;
		}
	}
	if (!found)
		return -ENOEXEC;
	for (unsigned i = 0; i < elf->nr_seg; i++)
		if (elf->seg[i].vaddr && elf->seg[i].vaddr - elf->seg[i].paddr != *map)
			return -ENOEXEC;
	return 0;
}

/* Count the words of one list ending (backwards) at @*end; moves @*end past its 0. */
static size_t list_back(const uint8_t *d, size_t *end)
{
	size_t n = 0;

	while (*end && word(d, *end - 1)) {
		(*end)--;
		n++;
	}
	if (*end)
		(*end)--;		/* the terminator */
	return n;
}

int vmm_relocs_parse(const uint8_t *d, size_t len, const struct vmm_elf *elf,
		     const char *path, struct vmm_relocs *r, struct gm_error *e)
{
	struct vmm_relocs t = { .words = d };
	size_t end, nwords;
	int seg = 0;

	if (!elf || !path || !r || (len && !d))
		return gm_error_set(e, EINVAL, "relocations: bad arguments");
	if (kernel_map(elf, &t.map) < 0)
		return gm_error_set(e, ENOEXEC, "kernel %s: entry point 0x%llx is outside the segments, or the segments disagree on the virtual base",
			    path, (unsigned long long)elf->entry);
	if (!len) {			/* a kernel built without relocations */
		*r = t;
		return 0;
	}
	if (len % 4 || len < 12)
		return gm_error_set(e, ENOEXEC, "kernel %s: %zu bytes after the ELF are not a relocation table",
			    path, len);
	nwords = end = len / 4;
	t.n32 = list_back(d, &end);
	t.ninv = list_back(d, &end);
	t.n64 = list_back(d, &end);
	if (end || word(d, 0) || t.n32 + t.ninv + t.n64 + 3 != nwords)
		return gm_error_set(e, ENOEXEC, "kernel %s: the relocation table after the ELF is malformed (%zu words, lists of %zu/%zu/%zu)",
			    path, nwords, t.n64, t.ninv, t.n32);
	for (size_t i = 1; i < nwords; i++) {
		uint32_t w = word(d, i);
		unsigned width = i <= t.n64 ? 8 : 4;

		/* the lists are sorted: most words fall in the last one's segment */
		if (w && (seg = vmm_elf_seg_of(elf, target(&t, w), width, seg)) < 0)
			return gm_error_set(e, ENOEXEC, "kernel %s: relocation %zu (0x%08x) points outside the kernel's loaded bytes",
				    path, i, w);
	}
	*r = t;
	return 0;
}

void vmm_relocs_apply(const struct vmm_relocs *r, const struct vmm_elf *elf,
		      uint8_t *image, uint64_t delta)
{
	size_t i = 1;

	if (!delta || !r->words)
		return;
	for (size_t n = 0; n < r->n64; n++, i++) {
		uint8_t *p = image + (target(r, word(r->words, i)) - elf->lo);
		uint64_t v;

		memcpy(&v, p, 8);
		v += delta;
		memcpy(p, &v, 8);
	}
	i++;				/* terminator */
	for (size_t n = 0; n < r->ninv; n++, i++) {
		uint8_t *p = image + (target(r, word(r->words, i)) - elf->lo);
		uint32_t v;

		memcpy(&v, p, 4);
		v -= (uint32_t)delta;
		memcpy(p, &v, 4);
	}
	i++;
	for (size_t n = 0; n < r->n32; n++, i++) {
		uint8_t *p = image + (target(r, word(r->words, i)) - elf->lo);
		uint32_t v;

		memcpy(&v, p, 4);
		v += (uint32_t)delta;
		memcpy(p, &v, 4);
	}
}

uint64_t vmm_kaslr_virt(uint64_t lo, uint64_t size, uint64_t align,
			uint64_t rnd)
{
	uint64_t slots;

	if (!align || (align & (align - 1)) || lo % align ||
	    lo > LNX_KERNEL_IMAGE_SIZE || size > LNX_KERNEL_IMAGE_SIZE - lo)
		return lo;
	slots = (LNX_KERNEL_IMAGE_SIZE - lo - size) / align + 1;
	return lo + (rnd % slots) * align;
}

#ifdef VMM_TEST_HOOK
static bool pin_part(const char *s, char **end, uint64_t *v)
{
	if (!strncmp(s, "max", 3)) {
		*v = UINT64_MAX;
		*end = (char *)s + 3;
		return true;
	}
	*v = strtoull(s, end, 16);
	return *end != s;
}

int vmm_kaslr_test_pin(struct vmm_kaslr_pin *pin)
{
	const char *t = getenv("KVMEM_TEST_KASLR");
	char *end;

	if (!t || !pin_part(t, &end, &pin->phys) || *end != ':' ||
	    !pin_part(end + 1, &end, &pin->virt) || *end)
		return -ENOENT;
	return 0;
}
#else
int vmm_kaslr_test_pin(struct vmm_kaslr_pin *pin)
{
	(void)pin;
	return -ENOENT;
}
#endif
