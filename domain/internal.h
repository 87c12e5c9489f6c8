/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the files of domain/ share: read.c (the file, libxml2
 * and libvirt) calls map.c (the element table) and host.c (what the host
 * has).
 */
#ifndef KVMEM_DOMAIN_INTERNAL_H
#define KVMEM_DOMAIN_INTERNAL_H

#include <libxml/tree.h>

#include "domain.h"

/*
 * dom_map() - map libvirt's normalized document @norm into @g (init'ed by
 * the caller) through the element table, then check what spans elements
 * (sizes, cells against <memory>, the topology, kernel or flat binary).
 * @orig is the document as the user wrote it: a value kvmem cannot honour
 * is accepted when the user did not write it (libvirt's own default).
 * Returns 0 or -EINVAL with @e naming the element or attribute.
 */
int dom_map(xmlDoc *norm, xmlDoc *orig, struct dom_guest *g,
	    struct gm_error *e);

/*
 * dom_check_host() - what @g asks of the host: the files it names exist and
 * are readable regular files (-ENOENT, -EACCES, -EINVAL), its host NUMA
 * nodes exist and 2 MiB huge pages are a size the host has (-ENODEV).
 * Reads /sys; changes nothing.
 */
int dom_check_host(const struct dom_guest *g, struct gm_error *e);

/* dom_printable() - true if @s holds no control byte (< 0x20, 0x7f). */
bool dom_printable(const char *s);

/*
 * dom_one_line() - show the control bytes of @e's message as '?': messages
 * quote the document's values, and must stay one printable line. Returns
 * @ret.
 */
int dom_one_line(struct gm_error *e, int ret);

#endif /* KVMEM_DOMAIN_INTERNAL_H */
