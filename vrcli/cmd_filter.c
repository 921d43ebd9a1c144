/*
 * cmd_filter.c - `vrcli filter show|set`, `vrcli domains filter|set-filter`,
 * `vrcli preferences show|set`: what the filter decides with.
 *
 * Owns the client side of GET/PATCH /api/v1/filter, GET/PATCH /api/v1/domains/{id}/filter
 * and GET/PUT /api/v1/me/preferences (see me.h for what `preferences set` sends).
 * `filter set` and `domains set-filter` take KEY=VALUE arguments as `policy set`
 * does, typed by kv.c's field tables: thresholds as numbers, switches as true|false, and
 * lists comma-separated (blocked_extensions=exe,js,scr; KEY= sends []). Threshold order,
 * extension and type syntax are the server's to judge: its 400 names the field.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "me.h"
#include "vrcli.h"

#define FILTER "/api/v1/filter"
#define DOMAINS "/api/v1/domains"
#define PREFERENCES "/api/v1/me/preferences"

/* domain_filter_path - "/api/v1/domains/{id}/filter"; free() it */
static char *domain_filter_path(const char *id)
{
	char *item = vrcli_item_path(DOMAINS, id), *path;

	if (asprintf(&path, "%s/filter", item) < 0)
		abort();
	free(item);
	return path;
}

/* patch - PATCH PATH with the KEY=VALUE PAIRS typed by FIELDS; WHAT names the command */
static enum vrcli_exit patch(struct vrcli *v, const char *path, char *const *pairs,
			     size_t n, const struct kv_field *fields, const char *what)
{
	char err[256];
	enum vrcli_exit rc;
	json_t *req = kv_object_typed(pairs, n, fields, err, sizeof(err));

	if (req == NULL)
		return vrcli_usage_error("%s: %s", what, err);
	rc = vrcli_show(v, "PATCH", path, req);
	json_decref(req);
	return rc;
}

/* cmd_filter_show - `vrcli filter show`: GET /api/v1/filter */
enum vrcli_exit cmd_filter_show(struct vrcli *v, const struct args *a)
{
	(void)a;
	return vrcli_show(v, "GET", FILTER, NULL);
}

/* cmd_filter_set - `vrcli filter set KEY=VALUE...`: PATCH /api/v1/filter */
enum vrcli_exit cmd_filter_set(struct vrcli *v, const struct args *a)
{
	return patch(v, FILTER, a->pos, (size_t)a->npos, kv_filter_fields, "filter set");
}

/* cmd_domains_filter - `vrcli domains filter ID`: GET /api/v1/domains/{id}/filter */
enum vrcli_exit cmd_domains_filter(struct vrcli *v, const struct args *a)
{
	char *path = domain_filter_path(a->pos[0]);
	enum vrcli_exit rc = vrcli_show(v, "GET", path, NULL);

	free(path);
	return rc;
}

/* cmd_domains_set_filter - `vrcli domains set-filter ID KEY=VALUE...`: PATCH .../filter */
enum vrcli_exit cmd_domains_set_filter(struct vrcli *v, const struct args *a)
{
	char *path = domain_filter_path(a->pos[0]);
	enum vrcli_exit rc = patch(v, path, a->pos + 1, (size_t)a->npos - 1,
				   kv_domain_filter_fields, "domains set-filter");

	free(path);
	return rc;
}

/* cmd_prefs_show - `vrcli preferences show`: GET /api/v1/me/preferences */
enum vrcli_exit cmd_prefs_show(struct vrcli *v, const struct args *a)
{
	(void)a;
	return vrcli_show(v, "GET", PREFERENCES, NULL);
}

/* cmd_prefs_set - `vrcli preferences set [--newsletter X] [--digest F] [--language L]`:
 * PUT /api/v1/me/preferences, after GET /api/v1/me/preferences when --newsletter is not
 * given (the API requires it in every PUT: the current choice is sent back unchanged) */
enum vrcli_exit cmd_prefs_set(struct vrcli *v, const struct args *a)
{
	const char *nl = args_get(a, "newsletter"), *digest = args_get(a, "digest");
	const char *lang = args_get(a, "language");
	struct http_reply cur = {0};
	enum vrcli_exit rc;
	char err[256];
	json_t *req;

	if (nl && vrcli_check_choice("--newsletter", nl, me_newsletter_choices) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (digest && vrcli_check_choice("--digest", digest, me_digest_choices) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (lang && vrcli_check_choice("--language", lang, me_language_choices) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (!nl && !digest && !lang)
		return vrcli_usage_error("preferences set: nothing to change; see --help");
	if (me_prefs_need_current(nl)) {
		if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
			return rc;
		if ((rc = http_call(v->http, "GET", PREFERENCES, NULL, &cur)) != VRCLI_EXIT_OK) {
			http_reply_free(&cur);
			return rc;
		}
	}
	req = me_prefs_body(cur.body, nl, digest, lang, err, sizeof(err));
	http_reply_free(&cur);
	if (req == NULL) {
		fprintf(stderr, "vrcli: preferences set: %s\n", err);
		return VRCLI_EXIT_OTHER;
	}
	rc = vrcli_show(v, "PUT", PREFERENCES, req);
	json_decref(req);
	return rc;
}
