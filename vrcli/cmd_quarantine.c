/*
 * cmd_quarantine.c - `vrcli quarantine list|show|preview|raw|release|delete|release-allow|
 * delete-block|not-spam|unsubscribe|bulk`: held messages.
 *
 * Owns the client side of /api/v1/quarantine: the list (filters to query parameters,
 * pages through vrcli_pages(), the held totals after the table; with --json the API's
 * object with every page's items merged), the detail and the preview (text scrubbed of
 * control characters, newlines kept), the raw download (streamed by http_download() to
 * stdout or to a temporary file renamed over FILE once complete, so an interrupted
 * download never leaves a partial FILE; never to a terminal, where a hostile message could
 * drive it; see vrcli_download()), the five actions, the one-click unsubscribe from a
 * newsletter (apid posts to the sender; vrcli shows the sender's answer, its URL scrubbed
 * of control characters, since it comes from the mail), and bulk actions with per-ID
 * results, sent in batches of the API's 1000 IDs, whose exit code is 0 only when every ID
 * succeeded, else 5.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idlist.h"
#include "kv.h"
#include "table.h"
#include "text.h"
#include "view.h"
#include "vrcli.h"

#define QUARANTINE "/api/v1/quarantine"
#define BULK_BATCH 1000		       /* the API's most IDs in one request */
#define IDS_FILE_MAX (64L * 1024 * 1024) /* an IDs file larger than this is a mistake */

/* The list options and the query parameters they become. */
static const struct {
	const char *option, *param;
} list_params[] = {
	{"recipient", "recipient"}, {"sender", "sender"},	  {"query", "q"},
	{"category", "category"},   {"status", "status"},	  {"min-score", "min_score"},
	{"max-score", "max_score"}, {"since", "since"},	  {"until", "until"},
	{"limit", "limit"},
};

/* The actions on one message: the path segment, and how the outcome reads. */
static const struct {
	const char *name, *verb, *more;
} actions[] = {
	{"release", "Released", ""},
	{"delete", "Deleted", ""},
	{"release-allow", "Released", " and allowed its sender"},
	{"delete-block", "Deleted", " and blocked its sender"},
	{"not-spam", "Released", " and reported it as not spam"},
};

#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

/* item_path - "/api/v1/quarantine/{id}" then SUFFIX (e.g. "/raw"); free() it */
static char *item_path(const char *id, const char *suffix)
{
	char *item = vrcli_item_path(QUARANTINE, id), *path;

	if (asprintf(&path, "%s%s", item, suffix) < 0)
		abort();
	free(item);
	return path;
}

/* list_path - the list request for the options in A and CURSOR */
static char *list_path(const struct args *a, const char *cursor)
{
	char *path = strdup(QUARANTINE);

	if (path == NULL)
		abort();
	for (size_t i = 0; i < sizeof(list_params) / sizeof(list_params[0]); i++)
		if (args_has(a, list_params[i].option))
			http_query_add(&path, list_params[i].param,
				       args_get(a, list_params[i].option));
	if (cursor)
		http_query_add(&path, "cursor", cursor);
	return path;
}

/* check_score - OPTION's value, when given, is a number; else a usage error */
static bool check_score(const struct args *a, const char *option)
{
	const char *s = args_get(a, option);
	json_t *n;

	if (s == NULL)
		return true;
	if ((n = kv_number(s)) == NULL) {
		vrcli_usage_error("--%s: expected a number such as 5 or -1.5, got '%s'", option, s);
		return false;
	}
	json_decref(n);
	return true;
}

/* print_list - the items table (or "No ..."), then the totals line, on stdout */
static void print_list(const json_t *items, const json_t *totals)
{
	struct table *t = view_quarantine(items);
	char *counts = view_counts(totals);

	if (table_rows(t) == 0)
		puts("No quarantined messages.");
	else
		table_print(t, stdout);
	table_free(t);
	printf("Held: %s\n", counts ? counts : "none");
	free(counts);
}

/* cmd_quarantine_list - `vrcli quarantine list [FILTERS] [--limit N] [--all]` */
enum vrcli_exit cmd_quarantine_list(struct vrcli *v, const struct args *a)
{
	json_t *items, *first = NULL;
	enum vrcli_exit rc;
	char *more = NULL;
	long n;

	if (args_has(a, "limit") &&
	    vrcli_parse_long("--limit", args_get(a, "limit"), 1, INT_MAX, &n) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (!check_score(a, "min-score") || !check_score(a, "max-score"))
		return VRCLI_EXIT_USAGE;
	if ((items = json_array()) == NULL)
		abort();
	rc = vrcli_pages(v, list_path, a, args_has(a, "all"), items, &first, &more);
	if (rc == VRCLI_EXIT_OK && v->json) {
		json_t *out = json_pack("{s:O, s:O, s:s?}", "items", items, "totals",
					json_object_get(first, "totals"), "next_cursor", more);

		if (out == NULL) /* totals missing from the reply */
			out = json_pack("{s:O, s:{}, s:s?}", "items", items, "totals",
					"next_cursor", more);
		vrcli_print_json(out);
		json_decref(out);
	} else if (rc == VRCLI_EXIT_OK) {
		print_list(items, json_object_get(first, "totals"));
		if (more)
			fputs("vrcli: more messages: use --all\n", stderr);
	}
	free(more);
	json_decref(first);
	json_decref(items);
	return rc;
}

/* get - GET the item path of A's ID with SUFFIX into *r (an object); printed on failure */
static enum vrcli_exit get(struct vrcli *v, const struct args *a, const char *suffix,
			   struct http_reply *r)
{
	enum vrcli_exit rc;
	char *path;

	memset(r, 0, sizeof(*r));
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	path = item_path(a->pos[0], suffix);
	rc = http_call(v->http, "GET", path, NULL, r);
	free(path);
	if (rc == VRCLI_EXIT_OK && !json_is_object(r->body)) {
		fprintf(stderr, "vrcli: the server's reply for %s is not a JSON object\n",
			a->pos[0]);
		rc = VRCLI_EXIT_OTHER;
	}
	return rc;
}

/* cmd_quarantine_show - `vrcli quarantine show ID`: GET /api/v1/quarantine/{id} */
enum vrcli_exit cmd_quarantine_show(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc = get(v, a, "", &r);

	if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(r.body);
	} else if (rc == VRCLI_EXIT_OK) {
		struct table *t = view_quarantine_detail(r.body);

		table_print(t, stdout);
		table_free(t);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_quarantine_preview - `vrcli quarantine preview ID`: GET .../{id}/preview */
enum vrcli_exit cmd_quarantine_preview(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc = get(v, a, "/preview", &r);
	const char *text = vrcli_jstr(r.body, "text");
	const char *source = vrcli_jstr(r.body, "source");

	if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(r.body);
	} else if (rc == VRCLI_EXIT_OK && (text == NULL || *text == '\0' ||
					   (source && strcmp(source, "none") == 0))) {
		puts("No text to preview in this message.");
	} else if (rc == VRCLI_EXIT_OK) {
		char *safe = strdup(text);
		size_t n;

		if (safe == NULL)
			abort();
		text_scrub_lines(safe);
		n = strlen(safe);
		fputs(safe, stdout);
		if (n > 0 && safe[n - 1] != '\n')
			fputc('\n', stdout);
		if (json_is_true(json_object_get(r.body, "truncated")))
			printf("[preview truncated: 'vrcli quarantine raw %s' has the whole "
			       "message]\n",
			       a->pos[0]);
		free(safe);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_quarantine_raw - `vrcli quarantine raw ID [-o FILE]`: GET .../{id}/raw */
enum vrcli_exit cmd_quarantine_raw(struct vrcli *v, const struct args *a)
{
	const char *file = NULL;
	long long bytes = 0;
	enum vrcli_exit rc;
	char *path = item_path(a->pos[0], "/raw");

	rc = vrcli_download(v, a, "quarantine raw", path, "message/rfc822", "the message",
			    "a raw message", &file, &bytes);
	free(path);
	if (rc == VRCLI_EXIT_OK && file && v->json) {
		json_t *out = json_pack("{s:s, s:s, s:I}", "id", a->pos[0], "file", file, "bytes",
					(json_int_t)bytes);

		if (out == NULL) /* a name that is not UTF-8 */
			out = json_pack("{s:s, s:I}", "id", a->pos[0], "bytes", (json_int_t)bytes);
		vrcli_print_json(out);
		json_decref(out);
	} else if (rc == VRCLI_EXIT_OK && file) {
		printf("Wrote %lld bytes to %s.\n", bytes, file);
	}
	return rc;
}

/* act - POST /api/v1/quarantine/{id}/ACTION [{"recipient"}]; the recipients' new state */
static enum vrcli_exit act(struct vrcli *v, const struct args *a, size_t action)
{
	const char *rcpt = args_get(a, "recipient");
	struct http_reply r;
	enum vrcli_exit rc;
	json_t *req = NULL;
	char *path, *suffix;

	if (rcpt && (req = json_pack("{s:s}", "recipient", rcpt)) == NULL)
		return vrcli_usage_error("--recipient must be UTF-8");
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK) {
		json_decref(req);
		return rc;
	}
	if (asprintf(&suffix, "/%s", actions[action].name) < 0)
		abort();
	path = item_path(a->pos[0], suffix);
	free(suffix);
	rc = http_call(v->http, "POST", path, req, &r);
	free(path);
	json_decref(req);
	if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(r.body);
	} else if (rc == VRCLI_EXIT_OK) {
		struct table *t = view_recipients(json_object_get(r.body, "recipients"));
		char *id = strdup(a->pos[0]);

		if (id == NULL)
			abort();
		printf("%s %s%s.\n", actions[action].verb, text_scrub(id), actions[action].more);
		if (table_rows(t) > 0)
			table_print(t, stdout);
		table_free(t);
		free(id);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_quarantine_release - `vrcli quarantine release ID [--recipient A]` */
enum vrcli_exit cmd_quarantine_release(struct vrcli *v, const struct args *a)
{
	return act(v, a, 0);
}

/* cmd_quarantine_delete - `vrcli quarantine delete ID [--recipient A]` */
enum vrcli_exit cmd_quarantine_delete(struct vrcli *v, const struct args *a)
{
	return act(v, a, 1);
}

/* cmd_quarantine_release_allow - `vrcli quarantine release-allow ID [--recipient A]` */
enum vrcli_exit cmd_quarantine_release_allow(struct vrcli *v, const struct args *a)
{
	return act(v, a, 2);
}

/* cmd_quarantine_delete_block - `vrcli quarantine delete-block ID [--recipient A]` */
enum vrcli_exit cmd_quarantine_delete_block(struct vrcli *v, const struct args *a)
{
	return act(v, a, 3);
}

/* cmd_quarantine_not_spam - `vrcli quarantine not-spam ID [--recipient A]` */
enum vrcli_exit cmd_quarantine_not_spam(struct vrcli *v, const struct args *a)
{
	return act(v, a, 4);
}

/* cmd_quarantine_unsubscribe - `vrcli quarantine unsubscribe ID`: POST .../{id}/unsubscribe */
enum vrcli_exit cmd_quarantine_unsubscribe(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;
	char *path;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	path = item_path(a->pos[0], "/unsubscribe");
	rc = http_call(v->http, "POST", path, NULL, &r);
	free(path);
	if (rc == VRCLI_EXIT_OK && !json_is_object(r.body)) {
		fprintf(stderr, "vrcli: the server's reply for %s is not a JSON object\n",
			a->pos[0]);
		rc = VRCLI_EXIT_OTHER;
	} else if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(r.body);
	} else if (rc == VRCLI_EXIT_OK) {
		char *line = view_unsubscribed(r.body);

		puts(line);
		free(line);
	}
	http_reply_free(&r);
	return rc;
}

/* read_ids - the IDs file NAME ("-": stdin) into *l; false (printed) on failure */
static bool read_ids(const char *name, struct idlist *l)
{
	bool std = strcmp(name, "-") == 0, ok = false;
	const char *label = std ? "stdin" : name;
	FILE *f = std ? stdin : fopen(name, "r");
	char *buf = NULL, err[256];
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "vrcli: cannot read %s: %m\n", name);
		return false;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= (size_t)IDS_FILE_MAX);
	if (ferror(f))
		fprintf(stderr, "vrcli: cannot read %s: %m\n", label);
	else if (len > (size_t)IDS_FILE_MAX)
		fprintf(stderr, "vrcli: %s is larger than %ld MiB\n", label, IDS_FILE_MAX >> 20);
	else if (!idlist_parse(l, buf, len, err, sizeof(err)))
		fprintf(stderr, "vrcli: %s: %s\n", label, err);
	else
		ok = true;
	if (!std)
		fclose(f);
	free(buf);
	return ok;
}

/* bulk_ids - the IDs of `bulk` (arguments or --ids-from) into *l */
static enum vrcli_exit bulk_ids(const struct args *a, struct idlist *l)
{
	const char *from = args_get(a, "ids-from");

	if (from && a->npos > 1)
		return vrcli_usage_error("quarantine bulk: give IDs or --ids-from, not both");
	if (from && !read_ids(from, l))
		return VRCLI_EXIT_OTHER;
	for (int i = 1; i < a->npos; i++)
		if (!idlist_add(l, a->pos[i]))
			return vrcli_usage_error("quarantine bulk: '%s' is not UTF-8", a->pos[i]);
	if (idlist_count(l) == 0 && from)
		return vrcli_usage_error("quarantine bulk: no IDs in %s", from);
	if (idlist_count(l) == 0)
		return vrcli_usage_error("quarantine bulk: no IDs");
	return VRCLI_EXIT_OK;
}

/* cmd_quarantine_bulk - `vrcli quarantine bulk ACTION ID...`: POST .../bulk in batches */
enum vrcli_exit cmd_quarantine_bulk(struct vrcli *v, const struct args *a)
{
	static const char *const names[] = {"release",	    "delete",	"release-allow",
					    "delete-block", "not-spam", NULL};
	const char *action = a->pos[0];
	json_t *results = json_array();
	json_int_t ok = 0, failed = 0;
	struct idlist l;
	enum vrcli_exit rc;

	if (results == NULL)
		abort();
	idlist_init(&l);
	if ((rc = vrcli_check_choice("ACTION", action, names)) != VRCLI_EXIT_OK ||
	    (rc = bulk_ids(a, &l)) != VRCLI_EXIT_OK || (rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		goto out;
	for (size_t from = 0; from < idlist_count(&l); from += BULK_BATCH) {
		json_t *req = json_pack("{s:s, s:o}", "action", action, "ids",
					idlist_batch(&l, from, BULK_BATCH));
		const json_t *got;
		struct http_reply r;

		rc = http_call(v->http, "POST", QUARANTINE "/bulk", req, &r);
		json_decref(req);
		got = json_object_get(r.body, "results");
		if (rc == VRCLI_EXIT_OK && !json_is_array(got)) {
			fputs("vrcli: the server's bulk reply has no results array\n", stderr);
			rc = VRCLI_EXIT_OTHER;
		}
		if (rc == VRCLI_EXIT_OK) {
			json_array_extend(results, (json_t *)got);
			ok += json_integer_value(json_object_get(r.body, "succeeded"));
			failed += json_integer_value(json_object_get(r.body, "failed"));
		}
		http_reply_free(&r);
		if (rc != VRCLI_EXIT_OK)
			break;
	}
	/* what was done is shown, even when a later batch failed */
	if (json_array_size(results) > 0 || rc == VRCLI_EXIT_OK) {
		if (v->json) {
			json_t *out = json_pack("{s:s, s:I, s:I, s:O}", "action", action,
						"succeeded", ok, "failed", failed, "results",
						results);

			vrcli_print_json(out);
			json_decref(out);
		} else {
			struct table *t = view_bulk(results);

			table_print(t, stdout);
			table_free(t);
			printf("%" JSON_INTEGER_FORMAT " succeeded, %" JSON_INTEGER_FORMAT
			       " failed.\n",
			       ok, failed);
		}
	}
	if (rc == VRCLI_EXIT_OK && failed > 0) {
		fflush(stdout);
		fprintf(stderr, "vrcli: %s failed for %" JSON_INTEGER_FORMAT " of %zu messages\n",
			action, failed, json_array_size(results));
		rc = VRCLI_EXIT_REJECTED;
	}
out:
	idlist_free(&l);
	json_decref(results);
	return rc;
}
