/*
 * kv.c - KEY=VALUE and DN=ROLE arguments to JSON, role names, JSON values to table text.
 *
 * Entry points: see kv.h. Only syntax is checked here (is it KEY=VALUE, is an integer
 * field's value a whole number, is ROLE a role); ranges and meanings are the server's to
 * judge, so a new Policy field works with an old vrcli, sent as a string.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

const char *const kv_policy_ints[] = {
	"inbound_port",	       "outbound_port",	      "reinject_port",
	"message_size_limit",  "smarthost_port",      "verify_positive_ttl",
	"verify_negative_ttl", NULL,
};

static const char *const roles[] = {"admin", "helpdesk", "auditor", "user", NULL};

/* in_list - whether S is one of LIST (NULL-terminated; LIST may be NULL) */
static bool in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* parse_int - S as a whole decimal number (optional '-', digits only) */
static bool parse_int(const char *s, json_int_t *out)
{
	const char *p = s + (*s == '-');
	char *end;
	long long n;

	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end != '\0')
		return false;
	*out = (json_int_t)n;
	return true;
}

/* kv_object - PAIRS ("KEY=VALUE", N of them) as an object; keys in INTS become integers */
json_t *kv_object(char *const *pairs, size_t n, const char *const *ints, char *err,
		  size_t errlen)
{
	json_t *o = json_object();

	if (o == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(pairs[i], '=');
		char *key;
		json_t *val;

		if (eq == NULL || eq == pairs[i]) {
			snprintf(err, errlen, "'%s' is not KEY=VALUE", pairs[i]);
			goto fail;
		}
		if ((key = strndup(pairs[i], (size_t)(eq - pairs[i]))) == NULL)
			abort();
		if (json_object_get(o, key)) {
			snprintf(err, errlen, "%s is given twice", key);
			free(key);
			goto fail;
		}
		if (in_list(ints, key)) {
			json_int_t v;

			if (!parse_int(eq + 1, &v)) {
				snprintf(err, errlen, "%s: expected a whole number, got '%s'", key,
					 eq + 1);
				free(key);
				goto fail;
			}
			val = json_integer(v);
		} else {
			val = json_string(eq + 1); /* NULL when not UTF-8 */
		}
		if (val == NULL || json_object_set_new(o, key, val) != 0) {
			snprintf(err, errlen, "'%s' is not UTF-8", pairs[i]);
			free(key);
			goto fail;
		}
		free(key);
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* kv_is_role - whether S is admin, helpdesk, auditor or user (or, with NONE, "none") */
bool kv_is_role(const char *s, bool none)
{
	return s && (in_list(roles, s) || (none && strcmp(s, "none") == 0));
}

/* kv_group_role - "DN=ROLE" as {"group_dn": DN, "role": ROLE}; split at the last '=' */
json_t *kv_group_role(const char *s, char *err, size_t errlen)
{
	const char *eq = strrchr(s, '=');
	char *dn;
	json_t *item;

	if (eq == NULL || eq == s) {
		snprintf(err, errlen, "'%s' is not GROUP-DN=ROLE", s);
		return NULL;
	}
	if (!kv_is_role(eq + 1, false)) {
		snprintf(err, errlen, "'%s': the role after the last '=' must be admin, helpdesk, "
				      "auditor or user",
			 s);
		return NULL;
	}
	if ((dn = strndup(s, (size_t)(eq - s))) == NULL)
		abort();
	item = json_pack("{s:s, s:s}", "group_dn", dn, "role", eq + 1);
	free(dn);
	if (item == NULL)
		snprintf(err, errlen, "'%s' is not UTF-8", s);
	return item;
}

/* group_role_text - "DN=ROLE" for a {"group_dn","role"} object, else NULL */
static char *group_role_text(const json_t *o)
{
	const char *dn = json_string_value(json_object_get(o, "group_dn"));
	const char *role = json_string_value(json_object_get(o, "role"));
	char *s;

	if (dn == NULL || role == NULL || json_object_size(o) != 2)
		return NULL;
	if (asprintf(&s, "%s=%s", dn, role) < 0)
		abort();
	return s;
}

/* kv_text - V as table text; NULL for null, a missing value and an empty array */
char *kv_text(const json_t *v)
{
	char *s = NULL;

	if (v == NULL)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		s = strdup(json_string_value(v));
		break;
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
			abort();
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%g", json_real_value(v)) < 0)
			abort();
		return s;
	case JSON_TRUE:
		s = strdup("yes");
		break;
	case JSON_FALSE:
		s = strdup("no");
		break;
	case JSON_OBJECT:
		if ((s = group_role_text(v)) != NULL)
			return s;
		s = json_dumps(v, JSON_COMPACT);
		break;
	case JSON_ARRAY: {
		size_t len = 0, i;
		FILE *f;
		const json_t *item;

		if (json_array_size(v) == 0)
			return NULL;
		if ((f = open_memstream(&s, &len)) == NULL)
			abort();
		json_array_foreach(v, i, item) {
			char *t = kv_text(item);

			fprintf(f, "%s%s", i == 0 ? "" : json_is_object(item) ? "; " : ", ",
				t ? t : "-");
			free(t);
		}
		if (fclose(f) != 0)
			abort();
		return s;
	}
	case JSON_NULL:
	default:
		return NULL;
	}
	if (s == NULL)
		abort();
	return s;
}
