// SPDX-License-Identifier: MIT
/*
 * lib.c - libvirt and libxml2, opened when a domain is first read
 * (dlopen), not linked into kvmem.
 *
 * Linked, every kvmem process (replay, serve, every run) would map their 57
 * shared libraries at start: 0.05 s more per command, ~10 MiB of file pages
 * and ~2 MiB anonymous memory, against kvmem's 5 MiB budget for its own
 * memory. Opened here, only a process that reads a domain pays, and
 * kvmem-domain.c reads it in a child process so a run never does.
 *
 * internal.h sends the library calls of domain/ through struct dom_lib
 * (the same names, so the code reads as ordinary libvirt/libxml2 code).
 */
#define DOM_LIB_IMPL
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "internal.h"

struct dom_lib dom_lib;

enum { LIB_XML, LIB_VIRT, NR_LIBS };

static const char *const sonames[NR_LIBS] = {
	[LIB_XML] = "libxml2.so.2",
	[LIB_VIRT] = "libvirt.so.0",
};

#define SYM(lib, name) { lib, #name, (void **)&dom_lib.name }

static const struct sym {
	int lib;
	const char *name;
	void **slot;
} syms[] = {
	SYM(LIB_XML, xmlNewParserCtxt),
	SYM(LIB_XML, xmlCtxtReadMemory),
	SYM(LIB_XML, xmlCtxtGetLastError),
	SYM(LIB_XML, xmlFreeParserCtxt),
	SYM(LIB_XML, xmlFreeDoc),
	SYM(LIB_XML, xmlDocGetRootElement),
	SYM(LIB_XML, xmlGetProp),
	SYM(LIB_XML, xmlHasProp),
	SYM(LIB_XML, xmlNodeGetContent),
	SYM(LIB_XML, xmlStrdup),
	SYM(LIB_XML, xmlStrcat),
	SYM(LIB_XML, xmlStrEqual),
	SYM(LIB_XML, xmlFree),
	SYM(LIB_VIRT, virConnectOpen),
	SYM(LIB_VIRT, virConnectClose),
	SYM(LIB_VIRT, virConnectListAllDomains),
	SYM(LIB_VIRT, virDomainIsActive),
	SYM(LIB_VIRT, virDomainDestroy),
	SYM(LIB_VIRT, virDomainUndefine),
	SYM(LIB_VIRT, virDomainFree),
	SYM(LIB_VIRT, virDomainDefineXMLFlags),
	SYM(LIB_VIRT, virDomainGetXMLDesc),
	SYM(LIB_VIRT, virGetLastError),
	SYM(LIB_VIRT, virSetErrorFunc),
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[GM_ERRMSG_MAX];	/* empty once loaded */

/*
 * Never closed: libvirt's dependencies (glib) cannot be unloaded anyway, and
 * a half-loaded table is never used (failure says why).
 */
static void load(void)
{
	void *h[NR_LIBS];
	const char *err;

	for (unsigned i = 0; i < NR_LIBS; i++) {
		h[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			err = dlerror();
			snprintf(failure, sizeof(failure), "%s (install %s)", err ? err : sonames[i],
				 i == LIB_XML ? "libxml2" : "libvirt0");
			return;
		}
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(h[syms[i].lib], syms[i].name);
		if (!*syms[i].slot) {
			snprintf(failure, sizeof(failure), "%s has no %s", sonames[syms[i].lib],
				 syms[i].name);
			return;
		}
	}
}

int dom_lib_load(struct gm_error *e)
{
	pthread_once(&once, load);
	if (failure[0])
		return gm_error_set(e, ENOTSUP, "%s", failure);
	return 0;
}
