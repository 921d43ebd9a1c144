/*
 * cmd_tokens.c - `vrcli tokens create|list|revoke`: the API token family.
 *
 * Owns the client side of POST /api/v1/tokens, GET /api/v1/tokens and
 * DELETE /api/v1/tokens/{id}. A new token's secret goes to stdout exactly once (in the
 * table, or in the NewToken JSON), with a warning on stderr that it cannot be shown
 * again. Roles and expiry limits are the server's to check; vrcli only checks syntax.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "vrcli.h"

#define MAX_TOKEN_DAYS (5 * 365)

/* cmd_tokens_create - `vrcli tokens create NAME`: POST /api/v1/tokens */
enum vrcli_exit cmd_tokens_create(struct vrcli *v, const struct args *a)
{
	const char *role = args_get(a, "role"), *at = args_get(a, "expires-at");
	char expires[32];
	struct http_reply r;
	enum vrcli_exit rc;
	json_t *req;

	if (at && args_has(a, "expires-days"))
		return vrcli_usage_error("tokens create: give --expires-at or --expires-days, not "
					 "both");
	if (args_has(a, "expires-days")) {
		long days;

		if (vrcli_parse_long("--expires-days", args_get(a, "expires-days"), 1,
				     MAX_TOKEN_DAYS, &days) != VRCLI_EXIT_OK)
			return VRCLI_EXIT_USAGE;
		vrcli_days_from_now(days, expires, sizeof(expires));
		at = expires;
	}
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	/* json_pack() and json_string() refuse text that is not UTF-8 */
	req = json_pack("{s:s, s:s*, s:s*}", "name", a->pos[0], "role", role, "expires_at", at);
	if (req == NULL)
		return vrcli_usage_error("tokens create: NAME, --role and --expires-at must be "
					 "UTF-8");
	rc = http_call(v->http, "POST", "/api/v1/tokens", req, &r);
	json_decref(req);
	if (rc != VRCLI_EXIT_OK)
		goto out;
	if (v->json) {
		vrcli_print_json(r.body);
	} else {
		const char *until = vrcli_jstr(r.body, "expires_at");
		struct table *t = table_new(2, NULL);

		table_add(t, (const char *[]){"id:", vrcli_jstr(r.body, "id")});
		table_add(t, (const char *[]){"name:", vrcli_jstr(r.body, "name")});
		table_add(t, (const char *[]){"role:", vrcli_jstr(r.body, "role")});
		table_add(t, (const char *[]){"owner:", vrcli_jstr(r.body, "owner")});
		table_add(t, (const char *[]){"expires:", vrcli_or(until, "never")});
		table_add(t, (const char *[]){"token:", vrcli_jstr(r.body, "token")});
		table_print(t, stdout);
		table_free(t);
	}
	fflush(stdout);
	fputs("vrcli: warning: this is the only time the token is shown; store it now\n", stderr);
out:
	http_reply_free(&r);
	return rc;
}

/* cmd_tokens_list - `vrcli tokens list`: GET /api/v1/tokens */
enum vrcli_exit cmd_tokens_list(struct vrcli *v, const struct args *a)
{
	const char *owner = args_get(a, "owner");
	char *path = NULL;
	struct http_reply r;
	enum vrcli_exit rc;
	const json_t *items, *tok;
	size_t i;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	if ((path = strdup("/api/v1/tokens")) == NULL)
		abort();
	if (owner)
		http_query_add(&path, "owner", owner);
	rc = http_call(v->http, "GET", path, NULL, &r);
	free(path);
	if (rc != VRCLI_EXIT_OK)
		goto out;
	items = json_object_get(r.body, "items");
	if (!json_is_array(items)) {
		fputs("vrcli: the server's token list has no items array\n", stderr);
		rc = VRCLI_EXIT_OTHER;
	} else if (v->json) {
		vrcli_print_json(items);
	} else if (json_array_size(items) == 0) {
		puts("No tokens.");
	} else {
		struct table *t = table_new(7, (const char *[]){"ID", "NAME", "ROLE", "OWNER",
								"CREATED", "EXPIRES", "LAST USED"});

		json_array_foreach(items, i, tok) {
			const char *row[] = {
				vrcli_jstr(tok, "id"),
				vrcli_jstr(tok, "name"),
				vrcli_jstr(tok, "role"),
				vrcli_jstr(tok, "owner"),
				vrcli_jstr(tok, "created_at"),
				vrcli_or(vrcli_jstr(tok, "expires_at"), "never"),
				vrcli_jstr(tok, "last_used_at"),
			};

			table_add(t, row);
		}
		table_print(t, stdout);
		table_free(t);
	}
out:
	http_reply_free(&r);
	return rc;
}

/* cmd_tokens_revoke - `vrcli tokens revoke ID`: DELETE /api/v1/tokens/{id} */
enum vrcli_exit cmd_tokens_revoke(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;
	char *id, *path;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	id = http_escape(a->pos[0]);
	if (asprintf(&path, "/api/v1/tokens/%s", id) < 0)
		abort();
	free(id);
	rc = http_call(v->http, "DELETE", path, NULL, &r);
	free(path);
	/* 204 has no body: --json prints nothing, the exit code says it all */
	if (rc == VRCLI_EXIT_OK && !v->json)
		printf("Revoked token %s.\n", a->pos[0]);
	http_reply_free(&r);
	return rc;
}
