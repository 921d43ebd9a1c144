/*
 * idlist.c - ordered, duplicate-free ID lists for `vrcli quarantine bulk`.
 *
 * Entry points: see idlist.h. What an ID looks like is the server's to judge; this file
 * only splits lines, trims them and refuses what cannot be one ID (blanks inside, NUL).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idlist.h"

/* idlist_init - an empty list */
void idlist_init(struct idlist *l)
{
	l->ids = json_array();
	l->seen = json_object();
	if (l->ids == NULL || l->seen == NULL)
		abort();
}

/* idlist_free - release what *l holds */
void idlist_free(struct idlist *l)
{
	json_decref(l->ids);
	json_decref(l->seen);
	l->ids = l->seen = NULL;
}

/* idlist_add - append ID unless it is there already; false if ID is not UTF-8 */
bool idlist_add(struct idlist *l, const char *id)
{
	json_t *s;

	if (json_object_get(l->seen, id))
		return true;
	if ((s = json_string(id)) == NULL)
		return false;
	if (json_object_set_new(l->seen, id, json_true()) != 0 ||
	    json_array_append_new(l->ids, s) != 0)
		abort();
	return true;
}

/* is_blank - a space or a tab (a CR is blank too: files written on Windows) */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* idlist_parse - add the IDs in TEXT (LEN bytes, an IDs file); false with ERR set */
bool idlist_parse(struct idlist *l, const char *text, size_t len, char *err, size_t errlen)
{
	const char *nul = memchr(text, '\0', len);
	size_t pos = 0;
	int line = 0;

	if (nul) {
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		snprintf(err, errlen, "line %d: not a text file (NUL byte)", line + 1);
		return false;
	}
	while (pos < len) {
		const char *b = text + pos;
		const char *nl = memchr(b, '\n', len - pos);
		const char *e = nl ? nl : text + len;
		char *id;

		line++;
		pos = (size_t)(e - text) + (nl ? 1 : 0);
		while (b < e && is_blank(*b))
			b++;
		while (e > b && is_blank(e[-1]))
			e--;
		if (b == e || *b == '#')
			continue;
		for (const char *p = b; p < e; p++)
			if (is_blank(*p)) {
				snprintf(err, errlen, "line %d: '%.*s' is not one ID", line,
					 (int)(e - b > 80 ? 80 : e - b), b);
				return false;
			}
		if ((id = strndup(b, (size_t)(e - b))) == NULL)
			abort();
		if (!idlist_add(l, id)) {
			snprintf(err, errlen, "line %d: not UTF-8", line);
			free(id);
			return false;
		}
		free(id);
	}
	return true;
}

/* idlist_count - how many IDs *l holds */
size_t idlist_count(const struct idlist *l)
{
	return json_array_size(l->ids);
}

/* idlist_batch - IDs FROM .. FROM+N-1 (fewer at the end) as a new array */
json_t *idlist_batch(const struct idlist *l, size_t from, size_t n)
{
	json_t *b = json_array();

	if (b == NULL)
		abort();
	for (size_t i = from; i < from + n && i < json_array_size(l->ids); i++)
		json_array_append(b, json_array_get(l->ids, i));
	return b;
}
