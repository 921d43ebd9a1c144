/*
 * cmd_messages.c - `vrcli messages` (message tracking) and `vrcli stats` (counters).
 *
 * Owns the client side of GET /api/v1/messages (one page, or every page with --all,
 * through vrcli_pages()) and GET /api/v1/stats. The tables are view.c's: a message is a
 * line (time, direction, sender, subject) with a line per recipient under it (address,
 * action, category, reason, quarantine ID). With --json, messages prints the items array
 * (for --all, every page's merged, newest first) and stats the API's object.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "view.h"
#include "vrcli.h"

/* The options that pass through as query parameters of the same name. */
static const char *const message_filters[] = {"recipient", "sender", "direction", "action",
					      "since",	   "until",  "limit"};

/* messages_path - the request path for the filters in A and CURSOR */
static char *messages_path(const struct args *a, const char *cursor)
{
	char *path = strdup("/api/v1/messages");

	if (path == NULL)
		abort();
	for (size_t i = 0; i < sizeof(message_filters) / sizeof(message_filters[0]); i++)
		if (args_has(a, message_filters[i]))
			http_query_add(&path, message_filters[i], args_get(a, message_filters[i]));
	if (cursor)
		http_query_add(&path, "cursor", cursor);
	return path;
}

/* cmd_messages - `vrcli messages [FILTERS] [--limit N] [--all]` */
enum vrcli_exit cmd_messages(struct vrcli *v, const struct args *a)
{
	static const char *const directions[] = {"inbound", "outbound", NULL};
	const char *dir = args_get(a, "direction");
	json_t *items;
	enum vrcli_exit rc;
	char *more;
	long n;

	if (dir && vrcli_check_choice("--direction", dir, directions) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (args_has(a, "limit") &&
	    vrcli_parse_long("--limit", args_get(a, "limit"), 1, INT_MAX, &n) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if ((items = json_array()) == NULL)
		abort();
	rc = vrcli_pages(v, messages_path, a, args_has(a, "all"), items, NULL, &more);
	if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(items);
	} else if (rc == VRCLI_EXIT_OK) {
		struct table *t = view_messages(items);

		if (table_rows(t) == 0)
			puts("No messages.");
		else
			table_print(t, stdout);
		table_free(t);
		if (more)
			fputs("vrcli: more messages: use --all\n", stderr);
	}
	free(more);
	json_decref(items);
	return rc;
}

/* cmd_stats - `vrcli stats [--since T] [--until T]`: GET /api/v1/stats */
enum vrcli_exit cmd_stats(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;
	char *path;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	if ((path = strdup("/api/v1/stats")) == NULL)
		abort();
	if (args_has(a, "since"))
		http_query_add(&path, "since", args_get(a, "since"));
	if (args_has(a, "until"))
		http_query_add(&path, "until", args_get(a, "until"));
	rc = http_call(v->http, "GET", path, NULL, &r);
	free(path);
	if (rc == VRCLI_EXIT_OK && !json_is_object(r.body)) {
		fputs("vrcli: the server's stats reply is not a JSON object\n", stderr);
		rc = VRCLI_EXIT_OTHER;
	} else if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(r.body);
	} else if (rc == VRCLI_EXIT_OK) {
		struct table *t = view_stats(r.body);

		table_print(t, stdout);
		table_free(t);
	}
	http_reply_free(&r);
	return rc;
}
