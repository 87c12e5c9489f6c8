// SPDX-License-Identifier: MIT
/*
 * flat.c - `--flat FILE@ADDR`: a raw binary loaded at ADDR and entered
 * there, for tiny test guests (examples/).
 *
 * Entry state (the contract a flat guest is written against):
 *   - 64-bit long mode, CPL 0, interrupts off (RFLAGS = 0x2);
 *   - the low 4 GiB identity mapped (2 MiB pages, read/write, executable),
 *     CS = 0x10 (64-bit code), DS = ES = FS = GS = SS = 0x18 (flat data);
 *   - RIP = ADDR, RSP = top of a small boot stack (vmm_flat_place()),
 *     RSI = 0 (no boot parameters), every other GPR 0;
 *   - COM1 at 0x3f8 (IRQ 4), poweroff by writing 0x3400 (SLP_TYP 5 |
 *     SLP_EN) to port 0x604, reset by writing 0x6 to port 0xcf9.
 * ADDR must be 4 KiB aligned and the file must lie inside one node's
 * memory below 4 GiB, clear of the boot structures of layout.h (the GDT,
 * stack and page tables live below 0x10000: 0x100000 is a good ADDR).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "vmm.h"

#define FLAT_ALIGN	0x1000ULL

int vmm_flat_parse(const char *spec, char **path, uint64_t *addr,
		   struct gm_error *e)
{
	const char *at = spec ? strrchr(spec, '@') : NULL;
	uint64_t a;
	int ret;

	if (!at || at == spec || !at[1])
		return gm_error_set(e, EINVAL, "--flat %s: expected FILE@ADDR",
				    spec ? spec : "");
	ret = gm_parse_size(at + 1, &a);
	if (ret)
		return gm_error_set(e, ret, "--flat %s: ADDR '%s' %s", spec, at + 1,
				    ret == -ERANGE ? "overflows 64 bits" :
				    "is not a number (digits or 0x hex, optional K M G T)");
	*path = strndup(spec, at - spec);
	if (!*path)
		return gm_error_set(e, ENOMEM, "out of memory");
	*addr = a;
	return 0;
}

int vmm_flat_load(struct gm_mem *mem, const char *path, uint64_t addr,
		  struct vmm_entry *out, struct gm_error *e)
{
	struct vmm_entry entry;
	struct stat st;
	uint64_t size;
	ssize_t n;
	void *hva;
	int fd, ret;

	if (addr % FLAT_ALIGN || addr >= GM_4G)
		return gm_error_set(e, EINVAL, "--flat %s@0x%llx: address must be 4 KiB aligned and below 4 GiB",
				    path, (unsigned long long)addr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gm_error_set(e, errno, "--flat %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		return gm_error_set(e, EINVAL, "--flat %s: not a non-empty file", path);
	}
	size = ((uint64_t)st.st_size + FLAT_ALIGN - 1) & ~(FLAT_ALIGN - 1);
	hva = gm_mem_hva(mem, addr, size);
	if (!hva || addr + size > GM_MMIO_HOLE_START) {
		close(fd);
		return gm_error_set(e, EINVAL, "--flat %s@0x%llx: %llu bytes do not fit in guest memory there",
				    path, (unsigned long long)addr,
				    (unsigned long long)size);
	}
	/* Read first: a failed read leaves no early range behind. */
	n = pread(fd, hva, st.st_size, 0);
	ret = n < 0 ? errno : EIO;
	close(fd);
	if (n != st.st_size)
		return gm_error_set(e, ret, "--flat %s: read: %s", path, strerror(ret));
	ret = gm_early_reserve(mem, addr, size, GM_EARLY_RAM, "flat", e);
	if (ret)
		return ret;
	ret = vmm_flat_place(mem, addr, &entry, e);
	if (ret)
		return ret;
	entry.rip = addr;
	entry.rsi = 0;
	*out = entry;
	return 0;
}
