/* SPDX-License-Identifier: MIT */
/*
 * kio-internal.h - io/'s private structures, shared by disk.c and queue.c.
 */
#ifndef KVMEM_KIO_INTERNAL_H
#define KVMEM_KIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* An open disk image (disk.c). Read-only after kio_disk_open(). */
struct kio_disk {
	int fd;				/* holds the flock; buffered I/O */
	int dfd;			/* O_DIRECT descriptor, -1 without */
	bool ro, direct, blockdev;
	uint64_t size;			/* bytes, a multiple of 512 */
	unsigned off_align, mem_align;	/* O_DIRECT alignment, 512 without */
	dev_t dev;			/* st_dev, or st_rdev of a block device */
	ino_t ino;			/* 0 for a block device */
};

#endif
