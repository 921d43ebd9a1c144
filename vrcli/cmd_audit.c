/*
 * cmd_audit.c - `vrcli audit`: GET /api/v1/audit, one page or all of them.
 *
 * Owns the mapping of the command's filters to query parameters, the paging loop that
 * follows next_cursor for --all (refusing a cursor that does not move, so a server bug
 * cannot make it spin), and the events table. With --json the output is the items
 * array; for --all, the items of every page merged into one array, newest first.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "vrcli.h"

/* The command's options that pass through as query parameters of the same name. */
static const char *const filters[] = {"actor", "action", "outcome", "since", "until"};

/* audit_path - the request path for the filters in A, page size LIMIT and CURSOR */
static char *audit_path(const struct args *a, const char *limit, const char *cursor)
{
	char *path = strdup("/api/v1/audit");

	if (path == NULL)
		abort();
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (args_has(a, filters[i]))
			http_query_add(&path, filters[i], args_get(a, filters[i]));
	if (limit)
		http_query_add(&path, "limit", limit);
	if (cursor)
		http_query_add(&path, "cursor", cursor);
	return path;
}

/* print_events - the events table on stdout */
static void print_events(const json_t *items)
{
	struct table *t = table_new(7, (const char *[]){"TIME", "ACTOR", "ACTION", "TARGET",
							"OUTCOME", "CLIENT", "DETAIL"});
	const json_t *e;
	size_t i;

	json_array_foreach(items, i, e)
		table_add(t, (const char *[]){vrcli_jstr(e, "time"), vrcli_jstr(e, "actor"),
					      vrcli_jstr(e, "action"), vrcli_jstr(e, "target"),
					      vrcli_jstr(e, "outcome"), vrcli_jstr(e, "client_ip"),
					      vrcli_jstr(e, "detail")});
	if (table_rows(t) == 0)
		puts("No events.");
	else
		table_print(t, stdout);
	table_free(t);
}

/* cmd_audit - `vrcli audit` */
enum vrcli_exit cmd_audit(struct vrcli *v, const struct args *a)
{
	const char *limit = args_get(a, "limit");
	bool all = args_has(a, "all");
	json_t *events = json_array();
	char *cursor = NULL;
	enum vrcli_exit rc;
	long n;

	if (events == NULL)
		abort();
	if (limit && vrcli_parse_long("--limit", limit, 1, INT_MAX, &n) != VRCLI_EXIT_OK) {
		json_decref(events);
		return VRCLI_EXIT_USAGE;
	}
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK) {
		json_decref(events);
		return rc;
	}
	for (;;) {
		char *path = audit_path(a, limit, cursor);
		const json_t *items;
		struct http_reply r;

		rc = http_call(v->http, "GET", path, NULL, &r);
		free(path);
		if (rc != VRCLI_EXIT_OK) {
			http_reply_free(&r);
			break;
		}
		items = json_object_get(r.body, "items");
		if (!json_is_array(items)) {
			fputs("vrcli: the server's audit reply has no items array\n", stderr);
			rc = VRCLI_EXIT_OTHER;
			http_reply_free(&r);
			break;
		}
		json_array_extend(events, (json_t *)items);
		rc = vrcli_next_cursor(r.body, &cursor);
		http_reply_free(&r);
		if (rc != VRCLI_EXIT_OK)
			break;
		if (cursor == NULL || !all)
			break;
	}
	if (rc == VRCLI_EXIT_OK) {
		if (v->json) {
			vrcli_print_json(events);
		} else {
			print_events(events);
			if (cursor)
				fputs("vrcli: more events: use --all\n", stderr);
		}
	}
	free(cursor);
	json_decref(events);
	return rc;
}
