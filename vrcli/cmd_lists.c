/*
 * cmd_lists.c - `vrcli lists [FILTERS]`, `vrcli lists add`, `vrcli lists remove`,
 * `vrcli lists export`, `vrcli lists import`: the allow and block lists.
 *
 * Owns the client side of GET/POST /api/v1/lists, DELETE /api/v1/lists/{id}, GET
 * /api/v1/lists/export and POST /api/v1/lists/import, and the entries table. The choices
 * the usage line spells out (allow|block, the scopes) are checked here; who may add a
 * global entry or one for another user, and what a valid pattern is, the server says (403
 * and 400 naming the field; 409 for a duplicate). The CSV goes through untouched both
 * ways: the export is streamed to a file or a pipe (vrcli_download(), as `quarantine
 * raw`), the import file is sent as read (at most the API's 4 MiB) and the server checks
 * every line, naming the first bad one (400, exit 5).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "vrcli.h"

#define LISTS "/api/v1/lists"
#define IMPORT_MAX (4L * 1024 * 1024) /* the API's most bytes in one import */

static const char *const kinds[] = {"allow", "block", NULL};
static const char *const scopes[] = {"global", "personal", "all", NULL};

/* print_entries - the entries table on stdout */
static void print_entries(const json_t *items)
{
	struct table *t = table_new(8, (const char *[]){"ID", "KIND", "SCOPE", "OWNER",
							"PATTERN", "CREATED BY", "CREATED",
							"COMMENT"});
	const json_t *e;
	size_t i;

	json_array_foreach(items, i, e)
		table_add(t, (const char *[]){vrcli_jstr(e, "id"), vrcli_jstr(e, "kind"),
					      vrcli_jstr(e, "scope"), vrcli_jstr(e, "owner"),
					      vrcli_jstr(e, "pattern"), vrcli_jstr(e, "created_by"),
					      vrcli_jstr(e, "created_at"), vrcli_jstr(e, "comment")});
	if (table_rows(t) == 0)
		puts("No entries.");
	else
		table_print(t, stdout);
	table_free(t);
}

/* cmd_lists - `vrcli lists [--scope S] [--kind K] [--owner U]`: GET /api/v1/lists */
enum vrcli_exit cmd_lists(struct vrcli *v, const struct args *a)
{
	const char *scope = args_get(a, "scope"), *kind = args_get(a, "kind");
	const char *owner = args_get(a, "owner");
	struct http_reply r;
	const json_t *items;
	enum vrcli_exit rc;
	char *path;

	if (scope && vrcli_check_choice("--scope", scope, scopes) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (kind && vrcli_check_choice("--kind", kind, kinds) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if ((path = strdup(LISTS)) == NULL)
		abort();
	if (scope)
		http_query_add(&path, "scope", scope);
	if (kind)
		http_query_add(&path, "kind", kind);
	if (owner)
		http_query_add(&path, "owner", owner);
	rc = vrcli_list(v, path, &r, &items);
	free(path);
	if (rc == VRCLI_EXIT_OK) {
		if (v->json)
			vrcli_print_json(items);
		else
			print_entries(items);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_lists_add - `vrcli lists add allow|block PATTERN`: POST /api/v1/lists */
enum vrcli_exit cmd_lists_add(struct vrcli *v, const struct args *a)
{
	enum vrcli_exit rc;
	json_t *req;

	if (vrcli_check_choice("the kind", a->pos[0], kinds) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (args_has(a, "global") && args_has(a, "owner"))
		return vrcli_usage_error("lists add: give --global or --owner, not both");
	req = json_pack("{s:s, s:s, s:s*, s:s*, s:s*}", "kind", a->pos[0], "pattern", a->pos[1],
			"scope", args_has(a, "global") ? "global" : NULL, "owner",
			args_get(a, "owner"), "comment", args_get(a, "comment"));
	if (req == NULL)
		return vrcli_usage_error("lists add: PATTERN, --owner and --comment must be UTF-8");
	rc = vrcli_show(v, "POST", LISTS, req);
	json_decref(req);
	return rc;
}

/* cmd_lists_remove - `vrcli lists remove ID`: DELETE /api/v1/lists/{id} */
enum vrcli_exit cmd_lists_remove(struct vrcli *v, const struct args *a)
{
	return vrcli_remove(v, LISTS, a->pos[0], "list entry");
}

/* cmd_lists_export - `vrcli lists export [-o FILE]`: GET /api/v1/lists/export */
enum vrcli_exit cmd_lists_export(struct vrcli *v, const struct args *a)
{
	const char *file = NULL;
	long long bytes = 0;
	enum vrcli_exit rc;

	rc = vrcli_download(v, a, "lists export", LISTS "/export", "text/csv", "the CSV", "CSV",
			    &file, &bytes);
	if (rc == VRCLI_EXIT_OK && file && v->json) {
		json_t *out = json_pack("{s:s, s:I}", "file", file, "bytes", (json_int_t)bytes);

		if (out == NULL) /* a name that is not UTF-8 */
			out = json_pack("{s:I}", "bytes", (json_int_t)bytes);
		vrcli_print_json(out);
		json_decref(out);
	} else if (rc == VRCLI_EXIT_OK && file) {
		printf("Wrote %lld bytes to %s.\n", bytes, file);
	}
	return rc;
}

/* read_csv - the file NAME ("-": stdin) into *buf, *len; false (printed) on failure */
static bool read_csv(const char *name, char **buf, size_t *len)
{
	bool std = strcmp(name, "-") == 0, ok = false;
	const char *label = std ? "stdin" : name;
	FILE *f = std ? stdin : fopen(name, "rb");
	size_t cap = 0, n;

	*buf = NULL;
	*len = 0;
	if (f == NULL) {
		fprintf(stderr, "vrcli: cannot read %s: %m\n", name);
		return false;
	}
	do {
		if (*len == cap) {
			cap = cap ? 2 * cap : 65536;
			if ((*buf = realloc(*buf, cap)) == NULL)
				abort();
		}
		n = fread(*buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0 && *len <= (size_t)IMPORT_MAX);
	if (ferror(f))
		fprintf(stderr, "vrcli: cannot read %s: %m\n", label);
	else if (*len > (size_t)IMPORT_MAX)
		fprintf(stderr, "vrcli: %s is larger than %ld MiB, the most one import takes\n",
			label, IMPORT_MAX >> 20);
	else
		ok = true;
	if (!std)
		fclose(f);
	if (!ok) {
		free(*buf);
		*buf = NULL;
	}
	return ok;
}

/* cmd_lists_import - `vrcli lists import FILE`: POST /api/v1/lists/import */
enum vrcli_exit cmd_lists_import(struct vrcli *v, const struct args *a)
{
	struct http_reply r = {0};
	enum vrcli_exit rc;
	size_t len;
	char *csv;

	if (a->pos[0][0] == '\0')
		return vrcli_usage_error("lists import: FILE must not be empty ('-' for stdin)");
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	if (!read_csv(a->pos[0], &csv, &len))
		return VRCLI_EXIT_OTHER;
	rc = http_call_bytes(v->http, "POST", LISTS "/import", csv, len, "text/csv", &r);
	free(csv);
	if (rc == VRCLI_EXIT_OK && !json_is_object(r.body)) {
		fputs("vrcli: the server's reply to the import is not a JSON object\n", stderr);
		rc = VRCLI_EXIT_OTHER;
	} else if (rc == VRCLI_EXIT_OK) {
		if (v->json)
			vrcli_print_json(r.body);
		else
			vrcli_print_object(r.body);
	}
	http_reply_free(&r);
	return rc;
}
