/*
 * cmd_lists.c - `vrcli lists [FILTERS]`, `vrcli lists add`, `vrcli lists remove`: the
 * allow and block lists.
 *
 * Owns the client side of GET/POST /api/v1/lists and DELETE /api/v1/lists/{id}, and the
 * entries table. The choices the usage line spells out (allow|block, the scopes) are
 * checked here; who may add a global entry or one for another user, and what a valid
 * pattern is, the server says (403 and 400 naming the field; 409 for a duplicate).
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
