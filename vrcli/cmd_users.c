/*
 * cmd_users.c - `vrcli users list|show|set-role`.
 *
 * Owns the client side of GET /api/v1/users (one page, or every page with --all,
 * following next_cursor and refusing a cursor that does not move, as `audit` does),
 * GET /api/v1/users/{id} and PATCH /api/v1/users/{id} {"role_override"}. Users are named
 * by the IDs the API gives them. With --json, list prints the items array (for --all,
 * the items of every page merged into one array, by username).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "table.h"
#include "vrcli.h"

#define USERS "/api/v1/users"

/* users_path - the list request for the options in A and CURSOR */
static char *users_path(const struct args *a, const char *cursor)
{
	char *path = strdup(USERS);

	if (path == NULL)
		abort();
	if (args_has(a, "query"))
		http_query_add(&path, "q", args_get(a, "query"));
	if (args_has(a, "limit"))
		http_query_add(&path, "limit", args_get(a, "limit"));
	if (cursor)
		http_query_add(&path, "cursor", cursor);
	return path;
}

/* print_users - the users table on stdout */
static void print_users(const json_t *items)
{
	struct table *t = table_new(7, (const char *[]){"ID", "USERNAME", "ROLE", "SOURCE",
							"DIRECTORY", "LAST LOGIN", "DISPLAY NAME"});
	const json_t *u;
	size_t i;

	json_array_foreach(items, i, u)
		table_add(t, (const char *[]){vrcli_jstr(u, "id"), vrcli_jstr(u, "username"),
					      vrcli_jstr(u, "role"), vrcli_jstr(u, "source"),
					      vrcli_jstr(u, "directory"),
					      vrcli_jstr(u, "last_login_at"),
					      vrcli_jstr(u, "display_name")});
	if (table_rows(t) == 0)
		puts("No users.");
	else
		table_print(t, stdout);
	table_free(t);
}

/* cmd_users_list - `vrcli users list` */
enum vrcli_exit cmd_users_list(struct vrcli *v, const struct args *a)
{
	bool all = args_has(a, "all");
	json_t *users = json_array();
	char *cursor = NULL;
	enum vrcli_exit rc;
	long n;

	if (users == NULL)
		abort();
	if (args_has(a, "limit") &&
	    vrcli_parse_long("--limit", args_get(a, "limit"), 1, INT_MAX, &n) != VRCLI_EXIT_OK) {
		json_decref(users);
		return VRCLI_EXIT_USAGE;
	}
	for (;;) {
		char *path = users_path(a, cursor);
		struct http_reply r;
		const json_t *items;

		rc = vrcli_list(v, path, &r, &items);
		free(path);
		if (rc != VRCLI_EXIT_OK) {
			http_reply_free(&r);
			break;
		}
		json_array_extend(users, (json_t *)items);
		rc = vrcli_next_cursor(r.body, &cursor);
		http_reply_free(&r);
		if (rc != VRCLI_EXIT_OK)
			break;
		if (cursor == NULL || !all)
			break;
	}
	if (rc == VRCLI_EXIT_OK) {
		if (v->json) {
			vrcli_print_json(users);
		} else {
			print_users(users);
			if (cursor)
				fputs("vrcli: more users: use --all\n", stderr);
		}
	}
	free(cursor);
	json_decref(users);
	return rc;
}

/* cmd_users_show - `vrcli users show ID`: GET /api/v1/users/{id} */
enum vrcli_exit cmd_users_show(struct vrcli *v, const struct args *a)
{
	char *path = vrcli_item_path(USERS, a->pos[0]);
	enum vrcli_exit rc = vrcli_show(v, "GET", path, NULL);

	free(path);
	return rc;
}

/* cmd_users_set_role - `vrcli users set-role ID ROLE`: PATCH /api/v1/users/{id} */
enum vrcli_exit cmd_users_set_role(struct vrcli *v, const struct args *a)
{
	const char *role = a->pos[1];
	enum vrcli_exit rc;
	json_t *req;
	char *path;

	if (!kv_is_role(role, true))
		return vrcli_usage_error("users set-role: the role must be admin, helpdesk, "
					 "auditor, user or none, not '%s'",
					 role);
	req = json_pack("{s:s}", "role_override", role);
	path = vrcli_item_path(USERS, a->pos[0]);
	rc = vrcli_show(v, "PATCH", path, req);
	free(path);
	json_decref(req);
	return rc;
}
