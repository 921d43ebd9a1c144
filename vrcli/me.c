/*
 * me.c - the body of `vrcli preferences set` and the report of `vrcli digest` (see me.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>

#include "me.h"

const char *const me_newsletter_choices[] = {"default", "deliver", "tag", "quarantine", NULL};
const char *const me_digest_choices[] = {"off", "daily", "weekly", NULL};
const char *const me_language_choices[] = {"fr", "en", NULL};

/* me_prefs_need_current - whether the current preferences must be read first */
bool me_prefs_need_current(const char *newsletter)
{
	return newsletter == NULL;
}

/* put - set KEY of O to GIVEN, else to CURRENT's string KEY (if any); false if the value
 * is not UTF-8 */
static bool put(json_t *o, const char *key, const char *given, const json_t *current)
{
	const char *v = given ? given : json_string_value(json_object_get(current, key));
	json_t *s;

	if (v == NULL)
		return true;
	if ((s = json_string(v)) == NULL)
		return false;
	json_object_set_new(o, key, s);
	return true;
}

/* me_prefs_body - the PUT /api/v1/me/preferences body */
json_t *me_prefs_body(const json_t *current, const char *newsletter, const char *digest,
		      const char *language, char *err, size_t errlen)
{
	json_t *o;

	if (!newsletter && !digest && !language) {
		snprintf(err, errlen, "nothing to change: give --newsletter, --digest or --language");
		return NULL;
	}
	if ((o = json_object()) == NULL)
		abort();
	if (!put(o, "newsletter", newsletter, current) || !put(o, "digest", digest, current) ||
	    !put(o, "language", language, current)) {
		snprintf(err, errlen, "the values must be UTF-8");
		json_decref(o);
		return NULL;
	}
	if (json_object_get(o, "newsletter") == NULL) {
		snprintf(err, errlen, "the current preferences have no newsletter choice: give "
				      "--newsletter");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* me_digest_summary - the sentence for a POST /api/v1/me/digest reply */
char *me_digest_summary(const json_t *reply)
{
	const json_t *items = json_object_get(reply, "items");
	json_int_t n;
	char *s;
	int rc;

	if (!json_is_integer(items) || (n = json_integer_value(items)) < 0)
		return NULL;
	if (n == 0)
		rc = asprintf(&s, "No held messages to list: no digest was sent.");
	else
		rc = asprintf(&s, "Sent you a digest of %lld held message%s.", (long long)n,
			      n == 1 ? "" : "s");
	if (rc < 0)
		abort();
	return s;
}
