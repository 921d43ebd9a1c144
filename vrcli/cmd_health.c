/*
 * cmd_health.c - `vrcli health`: GET /healthz and GET /readyz.
 *
 * Owns how liveness and readiness are shown: one line each, then readyz's checks as a
 * table; with --json one object {"healthz": ..., "readyz": ...} holding both replies.
 * Exit 0 only when /readyz says ready; a 503 "not-ready" maps to 6 like any 5xx. When
 * /healthz itself fails, only its error is shown. No credential is sent: both routes
 * are public.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "table.h"
#include "vrcli.h"

/* probe - GET PATH; for READINESS, a 503 that says "not-ready" is an answer, not an error */
static enum vrcli_exit probe(struct vrcli *v, const char *path, bool readiness,
			     struct http_reply *r)
{
	enum vrcli_exit rc = http_request(v->http, "GET", path, NULL, r);

	if (rc != VRCLI_EXIT_OK || r->status == 200)
		return rc;
	if (readiness && r->status == 503 && vrcli_jstr(r->body, "status"))
		return VRCLI_EXIT_SERVER; /* shown below, with its checks */
	return http_fail(v->http, r);
}

/* cmd_health - `vrcli health` */
enum vrcli_exit cmd_health(struct vrcli *v, const struct args *a)
{
	struct http_reply live = {0}, ready = {0};
	enum vrcli_exit rc;
	const json_t *check;
	size_t i;

	(void)a;
	if ((rc = vrcli_need_url(v)) != VRCLI_EXIT_OK)
		return rc;
	http_set_token(v->http, NULL);
	rc = probe(v, "/healthz", false, &live);
	if (rc == VRCLI_EXIT_OK)
		rc = probe(v, "/readyz", true, &ready);
	if (rc != VRCLI_EXIT_OK && ready.status != 503)
		goto out; /* the error is printed; there is no readiness to show */
	if (rc == VRCLI_EXIT_OK &&
	    strcmp(vrcli_or(vrcli_jstr(ready.body, "status"), ""), "ready") != 0)
		rc = VRCLI_EXIT_SERVER;
	if (v->json) {
		json_t *both;

		both = json_pack("{s:O?, s:O?}", "healthz", live.body, "readyz", ready.body);

		vrcli_print_json(both);
		json_decref(both);
	} else {
		struct table *t = table_new(3, (const char *[]){"CHECK", "OK", "DETAIL"});

		printf("healthz: %s (version %s)\n", vrcli_or(vrcli_jstr(live.body, "status"), "-"),
		       vrcli_or(vrcli_jstr(live.body, "version"), "-"));
		printf("readyz:  %s\n", vrcli_or(vrcli_jstr(ready.body, "status"), "-"));
		json_array_foreach(json_object_get(ready.body, "checks"), i, check) {
			const json_t *ok = json_object_get(check, "ok");

			table_add(t, (const char *[]){vrcli_jstr(check, "name"),
						      json_is_true(ok) ? "yes" : "NO",
						      vrcli_jstr(check, "detail")});
		}
		if (table_rows(t) > 0)
			table_print(t, stdout);
		table_free(t);
	}
	if (rc != VRCLI_EXIT_OK)
		fputs("vrcli: apid is not ready\n", stderr);
out:
	http_reply_free(&live);
	http_reply_free(&ready);
	return rc;
}
