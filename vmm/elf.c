// SPDX-License-Identifier: MIT
/*
 * elf.c - an x86-64 kernel as an ELF executable ([ELF]): a `vmlinux`, or the
 * ELF a bzImage's payload decompresses to. Reads the program headers and
 * the notes, checks them, and loads the PT_LOAD segments into guest memory.
 *
 * What an image must be to be accepted (each failure is -ENOEXEC with a
 * one-line reason naming the field): ELF-64, little-endian, ET_EXEC,
 * EM_X86_64; program headers inside the file; 1..VMM_ELF_MAX_SEGS loadable
 * segments, each with filesz <= memsz, its bytes inside the file, physical
 * addresses below 4 GiB, not overlapping; at most 1 GiB from the lowest
 * segment to the end of the highest (LNX_KERNEL_IMAGE_SIZE); notes that
 * stay inside their segment; section headers (if any) inside the file; an
 * entry point inside a segment's bytes.
 *
 * The image is read through struct vmm_image: bytes in host memory (a
 * decompressed payload) or a file read piece by piece (a vmlinux, a cached
 * payload), so a 60 MiB kernel file is never held twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "io.h"
#include "layout.h"

#define PHNUM_MAX	64
#define NOTES_MAX	(64u << 10)	/* bytes of PT_NOTE read, in all */

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

int vmm_image_read(const struct vmm_image *im, uint64_t off, void *dst,
		   uint64_t len)
{
	ssize_t n;

	if (off > im->size || len > im->size - off)
		return -EIO;
	if (im->buf) {
		memcpy(dst, im->buf + off, len);
		return 0;
	}
	/* small reads skip io_uring's setup; a segment is worth it */
	n = kio_load_file(im->path, dst, len, off, len < KIO_CHUNK ? KIO_F_PREAD : 0);
	if (n < 0)
		return (int)n;
	return (uint64_t)n == len ? 0 : -EIO;	/* the file shrank under us */
}

/* A read error of the image, as a message. */
static int read_err(const struct vmm_image *im, int ret, const char *what,
		    struct gm_error *e)
{
	return gm_error_set(e, -ret, "kernel %s: reading its %s: %s",
		    im->path, what, strerror(-ret));
}

/* Add a segment, kept sorted by paddr; -ENOEXEC if it overlaps another. */
static int add_seg(struct vmm_elf *elf, const struct vmm_elf_seg *s)
{
	unsigned i = elf->nr_seg;

	while (i && elf->seg[i - 1].paddr > s->paddr)
		i--;
	if (i && elf->seg[i - 1].paddr + elf->seg[i - 1].memsz > s->paddr)
		return -ENOEXEC;
	if (i < elf->nr_seg && s->paddr + s->memsz > elf->seg[i].paddr)
		return -ENOEXEC;
	memmove(&elf->seg[i + 1], &elf->seg[i], (elf->nr_seg - i) * sizeof(*s));
	elf->seg[i] = *s;
	elf->nr_seg++;
	return 0;
}

/* One PT_LOAD program header @ph (number @i). */
static int parse_load(const struct vmm_image *im, const uint8_t *ph, unsigned i,
		      struct vmm_elf *elf, struct gm_error *e)
{
	struct vmm_elf_seg s = {
		.offset = get64(ph + ELF_P_OFFSET), .vaddr = get64(ph + ELF_P_VADDR),
		.paddr = get64(ph + ELF_P_PADDR), .filesz = get64(ph + ELF_P_FILESZ),
		.memsz = get64(ph + ELF_P_MEMSZ),
	};

	if (!s.memsz)
		return 0;			/* occupies nothing */
	if (s.filesz > s.memsz || s.offset > im->size ||
	    s.filesz > im->size - s.offset)
		return gm_error_set(e, ENOEXEC, "kernel %s: segment %u (file 0x%llx+0x%llx, memory 0x%llx) is not inside the %llu-byte file",
			    im->path, i, (unsigned long long)s.offset,
			    (unsigned long long)s.filesz, (unsigned long long)s.memsz,
			    (unsigned long long)im->size);
	if (s.paddr >= GM_4G || s.memsz > GM_4G - s.paddr)
		return gm_error_set(e, ENOEXEC, "kernel %s: segment %u at physical 0x%llx+0x%llx is not below 4 GiB",
			    im->path, i, (unsigned long long)s.paddr,
			    (unsigned long long)s.memsz);
	if (elf->nr_seg == VMM_ELF_MAX_SEGS)
		return gm_error_set(e, ENOEXEC, "kernel %s: more than %d loadable segments",
			    im->path, VMM_ELF_MAX_SEGS);
	if (add_seg(elf, &s))
		return gm_error_set(e, ENOEXEC, "kernel %s: segment %u at physical 0x%llx+0x%llx overlaps another",
			    im->path, i, (unsigned long long)s.paddr,
			    (unsigned long long)s.memsz);
	return 0;
}

/*
 * The notes of one PT_NOTE segment (@len bytes at @d): {u32 namesz,
 * descsz, type; name, desc each padded to 4}. Records the PVH entry.
 */
static int parse_notes(const struct vmm_image *im, const uint8_t *d, uint64_t len,
		       uint64_t file_off, struct vmm_elf *elf, struct gm_error *e)
{
	uint64_t at = 0;

	while (at < len) {
		uint64_t namesz, descsz, type, name_pad, desc_pad;

		if (len - at < 12)
			goto bad;
		namesz = get32(d + at);
		descsz = get32(d + at + 4);
		type = get32(d + at + 8);
		name_pad = (namesz + 3) & ~3ULL;
		desc_pad = (descsz + 3) & ~3ULL;
		if (name_pad > len - at - 12 || desc_pad > len - at - 12 - name_pad)
			goto bad;
		if (namesz == sizeof(PVH_NOTE_NAME) &&
		    !memcmp(d + at + 12, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME)) &&
		    type == PVH_NOTE_PHYS32_ENTRY) {
			const uint8_t *desc = d + at + 12 + name_pad;

			if (descsz != 4 && descsz != 8)
				return gm_error_set(e, ENOEXEC, "kernel %s: PVH entry note has a %llu-byte value (4 or 8 expected)",
					    im->path, (unsigned long long)descsz);
			elf->pvh_entry = descsz == 4 ? get32(desc) : get64(desc);
			elf->has_pvh = true;
		}
		at += 12 + name_pad + desc_pad;
	}
	return 0;
bad:
	return gm_error_set(e, ENOEXEC, "kernel %s: the note at file offset 0x%llx runs past its segment",
		    im->path, (unsigned long long)(file_off + at));
}

static bool seg_holds(const struct vmm_elf_seg *s, uint64_t pa, uint64_t len)
{
	return pa >= s->paddr && pa - s->paddr <= s->filesz &&
	       len <= s->filesz - (pa - s->paddr);
}

int vmm_elf_seg_of(const struct vmm_elf *elf, uint64_t pa, uint64_t len,
		   int hint)
{
	if (hint >= 0 && (unsigned)hint < elf->nr_seg && seg_holds(&elf->seg[hint], pa, len))
		return hint;
	for (unsigned i = 0; i < elf->nr_seg; i++)
		if (seg_holds(&elf->seg[i], pa, len))
			return (int)i;
	return -1;
}

/* True if [pa, pa+len) lies in the file-backed bytes of one segment. */
bool vmm_elf_in_file(const struct vmm_elf *elf, uint64_t pa, uint64_t len)
{
	return vmm_elf_seg_of(elf, pa, len, -1) >= 0;
}

static int read_notes(const struct vmm_image *im, const uint8_t *ph, unsigned i,
		      uint64_t *budget, struct vmm_elf *elf, struct gm_error *e)
{
	uint64_t off = get64(ph + ELF_P_OFFSET), len = get64(ph + ELF_P_FILESZ);
	uint8_t *d;
	int ret;

	if (off > im->size || len > im->size - off)
		return gm_error_set(e, ENOEXEC, "kernel %s: note segment %u (0x%llx+0x%llx) is not inside the file",
			    im->path, i, (unsigned long long)off, (unsigned long long)len);
	if (len > *budget)
		return gm_error_set(e, ENOEXEC, "kernel %s: more than %u bytes of notes",
			    im->path, NOTES_MAX);
	*budget -= len;
	if (!len)
		return 0;
	d = malloc(len);
	if (!d)
		return gm_error_set(e, ENOMEM, "kernel %s: out of memory", im->path);
	ret = vmm_image_read(im, off, d, len);
	if (ret < 0)
		ret = read_err(im, ret, "notes", e);
	else
		ret = parse_notes(im, d, len, off, elf, e);
	free(d);
	return ret;
}

/* The ELF header's fixed fields; fills what the rest of the parse needs. */
static int check_ehdr(const struct vmm_image *im, const uint8_t *eh,
		      struct vmm_elf *elf, uint64_t *phoff, unsigned *phnum,
		      struct gm_error *e)
{
	uint64_t shoff = get64(eh + ELF_E_SHOFF), shsize;

	if (get32(eh) != ELF_MAGIC)
		return gm_error_set(e, ENOEXEC, "kernel %s: not an ELF file", im->path);
	if (eh[4] != ELF_CLASS64 || eh[5] != ELF_DATA_LSB || eh[6] != 1)
		return gm_error_set(e, ENOEXEC, "kernel %s: not a 64-bit little-endian ELF (class %u, data %u, version %u)",
			    im->path, eh[4], eh[5], eh[6]);
	if (get16(eh + ELF_E_TYPE) != ELF_ET_EXEC ||
	    get16(eh + ELF_E_MACHINE) != ELF_EM_X86_64)
		return gm_error_set(e, ENOEXEC, "kernel %s: not an x86-64 executable (type %u, machine %u)",
			    im->path, get16(eh + ELF_E_TYPE), get16(eh + ELF_E_MACHINE));
	*phoff = get64(eh + ELF_E_PHOFF);
	*phnum = get16(eh + ELF_E_PHNUM);
	if (get16(eh + ELF_E_PHENTSIZE) != ELF_PHDR_SIZE || !*phnum ||
	    *phnum > PHNUM_MAX || *phoff > im->size ||
	    (uint64_t)*phnum * ELF_PHDR_SIZE > im->size - *phoff)
		return gm_error_set(e, ENOEXEC, "kernel %s: bad program headers (%u of %u bytes at 0x%llx)",
			    im->path, *phnum, get16(eh + ELF_E_PHENTSIZE),
			    (unsigned long long)*phoff);
	elf->entry = get64(eh + ELF_E_ENTRY);
	elf->file_end = *phoff + (uint64_t)*phnum * ELF_PHDR_SIZE;
	shsize = (uint64_t)get16(eh + ELF_E_SHNUM) * get16(eh + ELF_E_SHENTSIZE);
	if (shoff && shsize) {
		if (shoff > im->size || shsize > im->size - shoff)
			return gm_error_set(e, ENOEXEC, "kernel %s: section headers (0x%llx+0x%llx) are not inside the file",
				    im->path, (unsigned long long)shoff,
				    (unsigned long long)shsize);
		if (shoff + shsize > elf->file_end)
			elf->file_end = shoff + shsize;
	}
	return 0;
}

int vmm_elf_parse(const struct vmm_image *im, struct vmm_elf *out,
		  struct gm_error *e)
{
	uint8_t eh[ELF_EHDR_SIZE], ph[PHNUM_MAX * ELF_PHDR_SIZE];
	uint64_t phoff = 0, budget = NOTES_MAX;
	struct vmm_elf elf = { 0 };
	unsigned phnum = 0;
	int ret;

	if (!im || !im->path || !out)
		return gm_error_set(e, EINVAL, "elf: bad arguments");
	if (im->size < ELF_EHDR_SIZE)
		return gm_error_set(e, ENOEXEC, "kernel %s: not an ELF file (%llu bytes)",
			    im->path, (unsigned long long)im->size);
	ret = vmm_image_read(im, 0, eh, sizeof(eh));
	if (ret < 0)
		return read_err(im, ret, "ELF header", e);
	ret = check_ehdr(im, eh, &elf, &phoff, &phnum, e);
	if (ret < 0)
		return ret;
	ret = vmm_image_read(im, phoff, ph, (uint64_t)phnum * ELF_PHDR_SIZE);
	if (ret < 0)
		return read_err(im, ret, "program headers", e);
	for (unsigned i = 0; i < phnum && !ret; i++) {
		const uint8_t *p = ph + i * ELF_PHDR_SIZE;

		if (get32(p + ELF_P_TYPE) == ELF_PT_LOAD) {
			ret = parse_load(im, p, i, &elf, e);
			if (!ret && get64(p + ELF_P_OFFSET) + get64(p + ELF_P_FILESZ) > elf.file_end)
				elf.file_end = get64(p + ELF_P_OFFSET) + get64(p + ELF_P_FILESZ);
		} else if (get32(p + ELF_P_TYPE) == ELF_PT_NOTE) {
			ret = read_notes(im, p, i, &budget, &elf, e);
		}
	}
	if (ret < 0)
		return ret;
	if (!elf.nr_seg)
		return gm_error_set(e, ENOEXEC, "kernel %s: no loadable segment", im->path);
	elf.lo = elf.seg[0].paddr;
	elf.hi = elf.seg[elf.nr_seg - 1].paddr + elf.seg[elf.nr_seg - 1].memsz;
	if (elf.hi - elf.lo > LNX_KERNEL_IMAGE_SIZE)
		return gm_error_set(e, ENOEXEC, "kernel %s: segments span %llu MiB (at most %llu)",
			    im->path, (unsigned long long)((elf.hi - elf.lo) >> 20),
			    LNX_KERNEL_IMAGE_SIZE >> 20);
	if (elf.lo & (VMM_PAGE - 1))
		return gm_error_set(e, ENOEXEC, "kernel %s: lowest segment at 0x%llx is not page-aligned",
			    im->path, (unsigned long long)elf.lo);
	if (elf.has_pvh && !vmm_elf_in_file(&elf, elf.pvh_entry, 1))
		return gm_error_set(e, ENOEXEC, "kernel %s: PVH entry note points at 0x%llx, outside the kernel's segments",
			    im->path, (unsigned long long)elf.pvh_entry);
	*out = elf;
	return 0;
}

/* pread @len bytes at @off, all of them: 0, -EIO (the file shrank), -errno. */
static int pread_all(int fd, uint8_t *dst, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, dst, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * [@off, @off+@len) of the file on @fd into @dst, skipping its holes
 * (SEEK_DATA/SEEK_HOLE; a filesystem without them reports one extent):
 * @dst is fresh memory, already zero there, and an untouched page costs
 * nothing. One pread per extent: the file is normally in the page cache,
 * where io_uring gains nothing (bench-kio) and a ring per extent costs.
 */
static int read_data(int fd, uint64_t off, uint8_t *dst, uint64_t len)
{
	uint64_t pos = off, end = off + len;

	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;
		int ret;

		if (data < 0 && errno == ENXIO)
			return 0;		/* a hole up to the end of the file */
		if (data < 0)
			data = (off_t)pos;	/* no SEEK_DATA here: read it all */
		if ((uint64_t)data >= end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole <= data || (uint64_t)hole > end)
			hole = (off_t)end;
		ret = pread_all(fd, dst + ((uint64_t)data - off),
				(uint64_t)(hole - data), (uint64_t)data);
		if (ret < 0)
			return ret;
		pos = (uint64_t)hole;
	}
	return 0;
}

int vmm_elf_load(struct gm_mem *mem, const struct vmm_image *im,
		 const struct vmm_elf *elf, uint64_t base, struct gm_error *e)
{
	int fd = -1, ret = 0;

	if (!im->buf) {
		struct stat st;

		fd = open(im->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return read_err(im, -errno, "segments", e);
		if (fstat(fd, &st) || (uint64_t)st.st_size < im->size) {
			close(fd);
			return read_err(im, -EIO, "segments", e);	/* it shrank */
		}
	}
	for (unsigned i = 0; i < elf->nr_seg && !ret; i++) {
		const struct vmm_elf_seg *s = &elf->seg[i];
		uint64_t gpa = base + (s->paddr - elf->lo);
		uint8_t *dst = gm_mem_hva(mem, gpa, s->memsz);

		if (!dst) {
			ret = gm_error_set(e, EIO, "kernel %s: guest memory at 0x%llx+0x%llx is not backed",
				   im->path, (unsigned long long)gpa,
				   (unsigned long long)s->memsz);
			break;
		}
		if (fd >= 0)
			ret = read_data(fd, s->offset, dst, s->filesz);
		else
			ret = vmm_image_read(im, s->offset, dst, s->filesz);
		if (ret < 0) {
			ret = read_err(im, ret, "segments", e);
			break;
		}
		/* fresh pool memory is zero, but the contract is the ELF's */
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}
