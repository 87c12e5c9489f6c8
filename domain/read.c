// SPDX-License-Identifier: MIT
/*
 * read.c - reading a domain XML: the file, libxml2's parse of it as
 * written, libvirt's validation and normalized form, then the element table
 * (map.c) and the host checks (host.c).
 *
 * libvirt runs in process with no daemon: the test:///default driver
 * defines the domain with VIR_DOMAIN_DEFINE_VALIDATE (libvirt's RNG schema,
 * then its parser and post-parse checks), virDomainGetXMLDesc() gives the
 * normalized XML (sizes in KiB, cpu lists as ranges, defaults filled in),
 * and the definition is removed again. That driver's state lives in this
 * process only and goes with the connection; it starts with a sample
 * domain "test", undefined first so a guest of that name or uuid is not
 * refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define DOM_FILE_MAX	(1 << 20)	/* no domain XML is anywhere near */

bool dom_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int dom_one_line(struct gm_error *e, int ret)
{
	if (ret)
		for (char *p = e->msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return ret;
}

/* libvirt prints every error on stderr unless a handler takes it. */
static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void set_quiet(void)
{
	virSetErrorFunc(NULL, quiet);
}

/*
 * libvirt's last error as one line: a schema failure reads "XML document
 * failed to validate against schema: Unable to validate doc against
 * PATH\nDETAIL\nDETAIL..."; the path goes, the details are joined by "; ".
 */
static int libvirt_err(struct gm_error *e, const char *what)
{
	virErrorPtr err = virGetLastError();
	char buf[GM_ERRMSG_MAX], out[GM_ERRMSG_MAX] = "", *line, *save = NULL, *cut;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", err && err->message ? err->message : "unknown error");
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l;

		cut = strstr(line, "Unable to validate doc against ");
		if (cut)
			*cut = '\0';
		for (l = strlen(line); l && (line[l - 1] == ' ' || line[l - 1] == ':'); l--)
			line[l - 1] = '\0';
		if (!l)
			continue;
		l = strlen(out);
		snprintf(out + l, sizeof(out) - l, "%s%s", !n ? "" : n == 1 ? ": " : "; ", line);
		n++;
	}
	return gm_error_set(e, what ? ENOTSUP : EINVAL, "libvirt%s%s: %s",
			    what ? " " : "", what ? what : "", out);
}

/* Undefine the test driver's sample domains (it starts with "test"). */
static void empty_driver(virConnectPtr c)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(c, &doms, 0);

	for (int i = 0; i < n; i++) {
		if (virDomainIsActive(doms[i]) == 1)
			virDomainDestroy(doms[i]);
		virDomainUndefine(doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
}

/*
 * The test driver's default state is shared by every connection of the
 * process: one definition at a time.
 */
static pthread_mutex_t driver_lock = PTHREAD_MUTEX_INITIALIZER;

/* libvirt's normalized form of @xml (malloc'd in *@out). */
static int normalize(const char *xml, char **out, struct gm_error *e)
{
	virConnectPtr c;
	virDomainPtr d;
	int ret = 0;

	pthread_once(&quiet_once, set_quiet);
	pthread_mutex_lock(&driver_lock);
	c = virConnectOpen("test:///default");
	if (!c) {
		ret = libvirt_err(e, "test:///default");
		goto out_unlock;
	}
	empty_driver(c);
	d = virDomainDefineXMLFlags(c, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (!d) {
		ret = libvirt_err(e, NULL);
		goto out_close;
	}
	*out = virDomainGetXMLDesc(d, 0);
	if (!*out)
		ret = libvirt_err(e, "virDomainGetXMLDesc");
	virDomainUndefine(d);
	virDomainFree(d);
out_close:
	virConnectClose(c);
out_unlock:
	pthread_mutex_unlock(&driver_lock);
	return ret;
}

/*
 * Parse @len bytes with libxml2: no network, no entity substitution, no
 * messages on stderr (the first error comes back as one line with its line
 * number), no DOCTYPE.
 */
static int parse(const char *xml, size_t len, const char *label, xmlDoc **out,
		 struct gm_error *e)
{
	xmlParserCtxt *ctx = xmlNewParserCtxt();
	const xmlError *err;
	xmlDoc *doc;

	if (!ctx)
		return gm_error_set(e, ENOMEM, "out of memory");
	if (len > INT32_MAX)
		len = INT32_MAX;	/* dom_read() caps files far below */
	doc = xmlCtxtReadMemory(ctx, xml, (int)len, label, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	err = xmlCtxtGetLastError(ctx);
	if (!doc || (err && err->level >= XML_ERR_ERROR)) {
		int line = err ? err->line : 0;
		char msg[160];

		snprintf(msg, sizeof(msg), "%s", err && err->message ? err->message : "not XML");
		msg[strcspn(msg, "\n")] = '\0';
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctx);	/* @err lives in @ctx */
		return gm_error_set(e, EINVAL, "line %d: %s", line, msg);
	}
	xmlFreeParserCtxt(ctx);
	if (doc->intSubset || doc->extSubset) {
		/* no domain needs one, and entities could blow up in libvirt */
		xmlFreeDoc(doc);
		return gm_error_set(e, EINVAL, "a <!DOCTYPE>: a domain XML takes none");
	}
	*out = doc;
	return 0;
}

int dom_read_mem(const char *xml, size_t len, const char *label,
		 struct dom_guest *g, struct gm_error *e)
{
	xmlDoc *orig = NULL, *norm = NULL;
	char *text, *normalized = NULL;
	int ret;

	dom_guest_init(g);
	ret = dom_lib_load(e);
	if (ret)
		return ret;
	if (memchr(xml, '\0', len))
		return gm_error_set(e, EINVAL, "a NUL byte in the document");
	ret = parse(xml, len, label, &orig, e);
	if (ret)
		return ret;
	text = strndup(xml, len);	/* libvirt takes a C string */
	if (!text) {
		ret = gm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	ret = normalize(text, &normalized, e);
	free(text);
	if (ret)
		goto out;
	ret = parse(normalized, strlen(normalized), "libvirt's normalized XML", &norm, e);
	free(normalized);
	if (ret)
		goto out;
	ret = dom_map(norm, orig, g, e);
	if (!ret)
		ret = dom_check_host(g, e);
out:
	xmlFreeDoc(orig);
	xmlFreeDoc(norm);
	if (ret)
		dom_guest_release(g);
	return dom_one_line(e, ret);
}

int dom_read(const char *path, struct dom_guest *g, struct gm_error *e)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, ret;

	dom_guest_init(g);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);	/* a FIFO must not block */
	if (fd < 0)
		return gm_error_set(e, errno, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > DOM_FILE_MAX) {
		close(fd);
		return gm_error_set(e, EINVAL, "not a regular file of at most %d bytes",
				    DOM_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return gm_error_set(e, ENOMEM, "out of memory");
	}
	for (n = 0, ret = 0; !ret && n <= st.st_size;) {
		ssize_t r = read(fd, buf + n, (size_t)(st.st_size + 1 - n));

		if (r < 0 && errno != EINTR)
			ret = -errno;
		else if (r == 0)
			break;
		else if (r > 0)
			n += r;
	}
	close(fd);
	if (ret)
		ret = gm_error_set(e, -ret, "%s", strerror(-ret));
	else if (n > st.st_size)
		ret = gm_error_set(e, EINVAL, "the file grew while read");
	else
		ret = dom_read_mem(buf, (size_t)n, path, g, e);
	free(buf);
	return ret;
}
