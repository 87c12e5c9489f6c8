// SPDX-License-Identifier: MIT
/*
 * walk.c - checking a document against a table of rules (struct dom_rule):
 * every element must have a row (its path below the root), every attribute
 * must be listed in its row, text only where the row takes it; a row may
 * restrict values, and a value outside them is refused unless the user's
 * own document did not hold it (the program that normalized the document
 * filled it in). Each element's handler runs before its children. The
 * first problem stops the walk, as one line naming the element.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define PATH_MAX_LEN	128

static bool blank(const char *s)
{
	return !s[strspn(s, " \t\r\n")];
}

/* Is @v one of the '|'-separated values of @list (@len bytes)? */
static bool one_of(const char *list, size_t len, const char *v)
{
	size_t vl = strlen(v);

	while (len) {
		size_t l = strcspn(list, "|");

		if (l > len)
			l = len;
		if (l == vl && !strncmp(list, v, l))
			return true;
		list += l;
		len -= l;
		if (len) {
			list++;
			len--;
		}
	}
	return false;
}

/*
 * The element of the user's document at @n's place (same names, same index
 * among same-named siblings), or NULL if the user did not write it.
 */
static xmlNode *in_orig(xmlDoc *orig, xmlNode *n)
{
	xmlNode *o;
	unsigned idx = 0;

	if (!n->parent || n->parent->type != XML_ELEMENT_NODE)
		return xmlDocGetRootElement(orig);
	o = in_orig(orig, n->parent);
	if (!o)
		return NULL;
	for (xmlNode *s = n->prev; s; s = s->prev)
		if (s->type == XML_ELEMENT_NODE && xmlStrEqual(s->name, n->name))
			idx++;
	for (o = o->children; o; o = o->next)
		if (o->type == XML_ELEMENT_NODE && xmlStrEqual(o->name, n->name) && !idx--)
			return o;
	return NULL;
}

bool dom_user_wrote(xmlDoc *orig, xmlNode *n, const char *attr)
{
	xmlNode *o = in_orig(orig, n);

	return o && (!attr || xmlHasProp(o, (const xmlChar *)attr));
}

static const struct dom_rule *find_rule(const struct dom_walk *w, const char *path)
{
	for (size_t i = 0; i < w->nr_rules; i++)
		if (!strcmp(w->rules[i].path, path))
			return &w->rules[i];
	return NULL;
}

/* The spec of attribute @name in @attrs ("a b=x|y"): its values, or NULL. */
static const char *attr_spec(const char *attrs, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (const char *p = attrs; p && *p;) {
		size_t l = strcspn(p, " ");
		size_t kl = strcspn(p, " =");

		if (kl == nl && !strncmp(p, name, nl)) {
			*vlen = l > kl ? l - kl - 1 : 0;
			return l > kl ? p + kl + 1 : p + kl;
		}
		p += l;
		p += strspn(p, " ");
	}
	return NULL;
}


/* "a|b" as "a' or 'b" (between the caller's quotes). */
static const char *alternatives(const char *list, size_t len, char buf[96])
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < 96; i++)
		if (list[i] == '|')
			o += snprintf(buf + o, 96 - o, "' or '");
		else
			buf[o++] = list[i];
	buf[o] = '\0';
	return buf;
}

static const char *shown(const char *path)
{
	return *path ? path : "domain";
}

static int check_attrs(const struct dom_walk *w, const struct dom_rule *r, xmlNode *n,
		       const char *path)
{
	for (xmlAttr *a = n->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		char *v = (char *)xmlGetProp(n, a->name);
		size_t vlen = 0;
		char alt[96];
		const char *spec = r->attrs ? attr_spec(r->attrs, name, &vlen) : NULL;
		int ret = 0;

		if (!spec || a->ns)
			ret = gm_error_set(w->e, EINVAL, "<%s %.30s='%.60s'>: attribute not supported by kvmem",
					   shown(path), name, v ? v : "");
		else if (vlen && !one_of(spec, vlen, v ? v : "") && dom_user_wrote(w->orig, n, name))
			ret = gm_error_set(w->e, EINVAL, "<%s %.30s='%.60s'>: kvmem supports %s='%s' only (%s)",
					   shown(path), name, v ? v : "", name,
					   alternatives(spec, vlen, alt), r->why ? r->why : "");
		xmlFree(v);
		if (ret)
			return ret;
	}
	return 0;
}

/* The element's direct text (not its children's), malloc'd, or NULL. */
static char *own_text(xmlNode *n)
{
	char *t = NULL;

	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			continue;
		t = (char *)xmlStrcat((xmlChar *)t, c->content ? c->content : (const xmlChar *)"");
	}
	return t;
}

static int check_text(const struct dom_walk *w, const struct dom_rule *r, xmlNode *n,
		      const char *path)
{
	char *t = own_text(n);
	int ret = 0;

	if (!t)
		return 0;
	if (!r->text && !blank(t))
		ret = gm_error_set(w->e, EINVAL, "<%s>: unexpected text '%.40s'", shown(path), t);
	else if (r->text && *r->text && !one_of(r->text, strlen(r->text), t) &&
		 dom_user_wrote(w->orig, n, NULL))
		ret = gm_error_set(w->e, EINVAL, "<%s>%.40s</%s>: kvmem supports %s only (%s)",
				   path, t, path, r->text, r->why ? r->why : "");
	xmlFree(t);
	return ret;
}

static int walk(const struct dom_walk *w, xmlNode *n, const char *path)
{
	const struct dom_rule *r = find_rule(w, path);
	int ret;

	if (!r)
		return gm_error_set(w->e, EINVAL, "<%s>: not supported by kvmem", path);
	if (r->no)
		return gm_error_set(w->e, EINVAL, "<%s>: not supported by kvmem (%s)", path, r->no);
	ret = check_attrs(w, r, n, path);
	if (!ret)
		ret = check_text(w, r, n, path);
	if (!ret && r->fn)
		ret = r->fn(w->m, n);
	for (xmlNode *c = n->children; !ret && c; c = c->next) {
		char sub[PATH_MAX_LEN];
		bool ours = c->ns && c->ns->href && !strcmp((const char *)c->ns->href, DOM_XMLNS);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns && !ours)
			return gm_error_set(w->e, EINVAL, "<%s%s%.40s>: not supported by kvmem (namespace %.80s)",
					    path, *path ? "/" : "", (const char *)c->name,
					    (const char *)c->ns->href);
		if (snprintf(sub, sizeof(sub), "%s%s%s%s", path, *path ? "/" : "",
			     ours ? "kvmem:" : "", (const char *)c->name) >= (int)sizeof(sub))
			return gm_error_set(w->e, EINVAL, "<%.60s...>: not supported by kvmem", sub);
		ret = walk(w, c, sub);
	}
	return ret;
}

int dom_walk(const struct dom_walk *w, xmlNode *root)
{
	return walk(w, root, "");
}
