/* SPDX-License-Identifier: MIT */
/*
 * bzimage-synth.h - a synthetic bzImage for the vmm tests, so that every
 * check of the loader runs without /boot/vmlinuz-*: a setup header that
 * vmm/bzimage.c accepts (protocol 2.15, 64-bit entry, loadable above 4G),
 * 4 setup sectors and @code bytes of protected-mode code (0x90), kernel
 * alignment 2 MiB, pref_address 16 MiB, init_size 4 MiB, cmdline_size
 * 2047. Tests change fields in the returned buffer to make bad images.
 */
#ifndef KVMEM_TESTS_BZIMAGE_SYNTH_H
#define KVMEM_TESTS_BZIMAGE_SYNTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define SYNTH_SETUP	(5 * 512)	/* boot sector + 4 setup sectors */
#define SYNTH_CMDLINE	2047

/* The image, malloc'd (caller frees); *@len its size. NULL on ENOMEM. */
static inline uint8_t *synth_bzimage(uint32_t code, bool relocatable,
				     size_t *len)
{
	uint32_t syssize = code / 16, align = 0x200000, max = 0x7fffffff;
	uint32_t init = 0x400000, cls = SYNTH_CMDLINE;
	uint64_t pref = 0x1000000;
	uint8_t *d = malloc(SYNTH_SETUP + code);
	uint16_t u16;

	if (!d)
		return NULL;
	memset(d, 0, SYNTH_SETUP);
	memset(d + SYNTH_SETUP, 0x90, code);
	d[BP_SETUP_SECTS] = 4;
	memcpy(d + BP_SYSSIZE, &syssize, 4);
	u16 = BP_BOOT_FLAG_MAGIC;
	memcpy(d + BP_BOOT_FLAG, &u16, 2);
	d[BP_JUMP] = 0xeb;
	d[BP_JUMP + 1] = 0x6a;			/* header ends at 0x26c */
	memcpy(d + BP_HEADER, "HdrS", 4);
	u16 = 0x020f;
	memcpy(d + BP_VERSION, &u16, 2);
	d[BP_LOADFLAGS] = BP_LOADED_HIGH;
	memcpy(d + BP_INITRD_ADDR_MAX, &max, 4);
	memcpy(d + BP_KERNEL_ALIGNMENT, &align, 4);
	d[BP_RELOCATABLE] = relocatable;
	u16 = BP_XLF_KERNEL_64 | BP_XLF_ABOVE_4G;
	memcpy(d + BP_XLOADFLAGS, &u16, 2);
	memcpy(d + BP_CMDLINE_SIZE, &cls, 4);
	memcpy(d + BP_PREF_ADDRESS, &pref, 8);
	memcpy(d + BP_INIT_SIZE, &init, 4);
	*len = SYNTH_SETUP + code;
	return d;
}

#endif /* KVMEM_TESTS_BZIMAGE_SYNTH_H */
