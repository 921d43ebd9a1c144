/*
 * cmd_housekeeping.c - `vrcli quarantine purge` and `vrcli quarantine check [--repair]`.
 *
 * Owns the client side of POST /api/v1/quarantine/purge (remove now what is past its
 * category's retention; apid also does it by itself every purge-interval) and POST
 * /api/v1/quarantine/integrity (spool files without an index row, rows without a file;
 * --repair removes both). Admins only. With --json the API's reply is printed as is.
 */
#include <jansson.h>
#include <stdio.h>

#include "vrcli.h"

/* cmd_quarantine_purge - `vrcli quarantine purge` */
enum vrcli_exit cmd_quarantine_purge(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;

	(void)a;
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	rc = http_call(v->http, "POST", "/api/v1/quarantine/purge", NULL, &r);
	if (rc == VRCLI_EXIT_OK) {
		if (v->json)
			vrcli_print_json(r.body);
		else
			printf("purged %lld held messages past their retention, removed %lld files "
			       "(%.1f s)\n",
			       (long long)json_integer_value(json_object_get(r.body, "purged")),
			       (long long)json_integer_value(json_object_get(r.body, "files_removed")),
			       json_number_value(json_object_get(r.body, "seconds")));
	}
	http_reply_free(&r);
	return rc;
}

/* print_list - one line per item of a list, under a heading, or "none" */
static void print_list(const char *heading, json_t *arr, const char *key)
{
	json_t *v;
	size_t i;

	printf("%s: %zu\n", heading, json_array_size(arr));
	json_array_foreach(arr, i, v)
		printf("  %s\n", key ? json_string_value(json_object_get(v, key))
				     : json_string_value(v));
}

/* cmd_quarantine_check - `vrcli quarantine check [--repair]` */
enum vrcli_exit cmd_quarantine_check(struct vrcli *v, const struct args *a)
{
	json_t *body = json_pack("{s:b}", "repair", args_has(a, "repair"));
	struct http_reply r;
	enum vrcli_exit rc;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK) {
		json_decref(body);
		return rc;
	}
	rc = http_call(v->http, "POST", "/api/v1/quarantine/integrity", body, &r);
	json_decref(body);
	if (rc == VRCLI_EXIT_OK) {
		if (v->json) {
			vrcli_print_json(r.body);
		} else {
			print_list("spool files without an index row",
				   json_object_get(r.body, "orphan_files"), NULL);
			print_list("index rows without a spool file",
				   json_object_get(r.body, "missing_files"), "spool");
			if (json_is_true(json_object_get(r.body, "repaired")))
				puts("repaired: both removed");
		}
	}
	http_reply_free(&r);
	return rc;
}
