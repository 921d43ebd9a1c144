/*
 * errmap.c - HTTP status and problem+json to exit code and one line of text.
 *
 * Owns: the status -> exit-code table (status_map[]), the reason phrases used when a
 * reply carries no problem body, and the wording of the one-line error, including the
 * hints for 401 (log in again) and 429 (when to retry). Pure functions: everything they
 * need is passed in, so tests/unit/test_vrcli_errmap.c drives them with tables.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errmap.h"
#include "text.h"

/* An inclusive status range and the exit code it maps to. */
static const struct {
	long lo, hi;
	enum vrcli_exit code;
} status_map[] = {
	{200, 299, VRCLI_EXIT_OK},
	{400, 400, VRCLI_EXIT_REJECTED},
	{401, 401, VRCLI_EXIT_AUTH},
	{403, 403, VRCLI_EXIT_AUTH},
	{404, 404, VRCLI_EXIT_NOTFOUND},
	{409, 409, VRCLI_EXIT_REJECTED},
	{413, 415, VRCLI_EXIT_REJECTED},
	{429, 429, VRCLI_EXIT_REJECTED},
	{500, 599, VRCLI_EXIT_SERVER},
};

/* Reason phrases for replies without a problem body (a proxy's error page, say). */
static const struct {
	long status;
	const char *phrase;
} reasons[] = {
	{400, "Bad Request"},	     {401, "Unauthorized"},
	{403, "Forbidden"},	     {404, "Not Found"},
	{405, "Method Not Allowed"}, {409, "Conflict"},
	{413, "Content Too Large"},  {414, "URI Too Long"},
	{415, "Unsupported Media Type"}, {429, "Too Many Requests"},
	{500, "Internal Server Error"}, {502, "Bad Gateway"},
	{503, "Service Unavailable"}, {504, "Gateway Timeout"},
};

/* errmap_exit_code - exit code for an HTTP status */
enum vrcli_exit errmap_exit_code(long status)
{
	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status >= status_map[i].lo && status <= status_map[i].hi)
			return status_map[i].code;
	return VRCLI_EXIT_OTHER;
}

/* json_str - the string member KEY of OBJ, or NULL when absent, null or not a string */
static const char *json_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* errmap_from_json - fill *p from STATUS, a problem body (may be NULL) and Retry-After */
void errmap_from_json(struct errmap_problem *p, long status, const json_t *body,
		      long retry_after_header)
{
	memset(p, 0, sizeof(*p));
	p->status = status;
	p->retry_after = retry_after_header;
	if (!json_is_object(body))
		return;
	p->title = json_str(body, "title");
	p->detail = json_str(body, "detail");
	p->field = json_str(body, "field");
	p->code = json_str(body, "code");
	if (p->retry_after < 0 && json_is_integer(json_object_get(body, "retry_after")))
		p->retry_after = (long)json_integer_value(json_object_get(body, "retry_after"));
}

/* reason_phrase - the standard phrase for STATUS, or NULL */
static const char *reason_phrase(long status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].phrase;
	return NULL;
}

/* redact - replace every occurrence of SECRET in the malloc'd S; returns the new S */
static char *redact(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *hit;

	if (n == 0)
		return s;
	while ((hit = strstr(s, secret)) != NULL) {
		char *t;

		if (asprintf(&t, "%.*s[redacted]%s", (int)(hit - s), s, hit + n) < 0)
			abort();
		free(s);
		s = t;
	}
	return s;
}

/* errmap_format - one line (no "vrcli: " prefix, no newline) describing *p */
char *errmap_format(const struct errmap_problem *p, const char *secret)
{
	const char *title = p->title ? p->title : reason_phrase(p->status);
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (f == NULL)
		abort();
	if (title)
		fputs(title, f);
	else
		fprintf(f, "HTTP %ld", p->status);
	/* a detail that only repeats the title ("Not found": "not found") adds nothing */
	if (p->detail && (!title || strcasecmp(p->detail, title) != 0))
		fprintf(f, ": %s", p->detail);
	else if (!p->title && title)
		fprintf(f, " (HTTP %ld, no problem body)", p->status);
	else if (!p->title)
		fputs(" (no problem body)", f);
	if (p->field)
		fprintf(f, " (field: %s)", p->field);
	if (p->status == 401 && !(p->code && strcmp(p->code, "login-failed") == 0))
		fputs("; run 'vrcli login'", f);
	if (p->status == 429) {
		if (p->retry_after >= 0)
			fprintf(f, "; retry after %ld s", p->retry_after);
		else
			fputs("; retry later", f);
	}
	if (fclose(f) != 0)
		abort();
	return text_scrub(redact(line, secret));
}
