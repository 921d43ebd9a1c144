/*
 * kv.c - KEY=VALUE and DN=ROLE arguments to JSON, role names, JSON values to table text.
 *
 * Entry points: see kv.h. Only syntax is checked here (is it KEY=VALUE, is an integer
 * field's value a whole number, a number field's a decimal number, a boolean's true or
 * false, is ROLE a role); ranges and meanings (threshold order, extension syntax) are the
 * server's to judge, so a new Policy field works with an old vrcli, sent as a string.
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

const struct kv_field kv_filter_fields[] = {
	{"blocked_extensions", KV_LIST},
	{"blocked_types", KV_LIST},
	{"block_encrypted_archives", KV_BOOL},
	{"outbound_spam_tag", KV_NUMBER},
	{"outbound_spam_quarantine", KV_NUMBER},
	{"outbound_spam_reject", KV_NUMBER},
	{NULL, KV_STRING},
};

const struct kv_field kv_domain_filter_fields[] = {
	{"spam_tag", KV_NUMBER},
	{"spam_quarantine", KV_NUMBER},
	{"spam_reject", KV_NUMBER},
	{"fail_open_spam", KV_BOOL},
	{NULL, KV_STRING},
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

/* kv_number - S ([-]digits[.digits]) as a JSON integer or real; NULL if it is not one */
json_t *kv_number(const char *s)
{
	const char *p = s + (*s == '-');
	json_int_t i;
	char *end;
	double d;

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '\0')
		return parse_int(s, &i) ? json_integer(i) : NULL;
	if (*p != '.' || !isdigit((unsigned char)p[1]))
		return NULL;
	for (p++; isdigit((unsigned char)*p); p++)
		;
	if (*p != '\0')
		return NULL;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end != '\0')
		return NULL;
	return json_real(d);
}

/* kv_list - "a, b,c" as ["a","b","c"] ("" is []); NULL with ERR set for an empty item */
json_t *kv_list(const char *s, char *err, size_t errlen)
{
	json_t *arr = json_array();
	const char *p = s;

	if (arr == NULL)
		abort();
	if (*s == '\0')
		return arr;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *b = p, *e = comma ? comma : p + strlen(p);
		char *item;
		json_t *v;

		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (b == e) {
			snprintf(err, errlen, "empty item in '%s'", s);
			json_decref(arr);
			return NULL;
		}
		if ((item = strndup(b, (size_t)(e - b))) == NULL)
			abort();
		v = json_string(item); /* NULL when not UTF-8 */
		free(item);
		if (v == NULL || json_array_append_new(arr, v) != 0) {
			snprintf(err, errlen, "'%s' is not UTF-8", s);
			json_decref(arr);
			return NULL;
		}
		if (comma == NULL)
			return arr;
		p = comma + 1;
	}
}

/* Where kv_build() finds a key's type: a list of integer keys, or a field table. */
struct kv_types {
	const char *const *ints;
	const struct kv_field *fields;
};

/* type_of - the type of KEY in *T */
static enum kv_type type_of(const struct kv_types *t, const char *key)
{
	if (in_list(t->ints, key))
		return KV_INT;
	for (const struct kv_field *f = t->fields; f && f->key; f++)
		if (strcmp(f->key, key) == 0)
			return f->type;
	return KV_STRING;
}

/* typed_value - VAL as the JSON of TYPE for KEY; NULL with ERR set */
static json_t *typed_value(enum kv_type type, const char *key, const char *val,
			   const char *pair, char *err, size_t errlen)
{
	json_int_t i;
	json_t *v = NULL;
	char lerr[200];

	switch (type) {
	case KV_INT:
		if (parse_int(val, &i))
			return json_integer(i);
		snprintf(err, errlen, "%s: expected a whole number, got '%s'", key, val);
		return NULL;
	case KV_NUMBER:
		if ((v = kv_number(val)) != NULL)
			return v;
		snprintf(err, errlen, "%s: expected a number such as 5 or -1.5, got '%s'", key,
			 val);
		return NULL;
	case KV_BOOL:
		if (strcmp(val, "true") == 0 || strcmp(val, "yes") == 0)
			return json_true();
		if (strcmp(val, "false") == 0 || strcmp(val, "no") == 0)
			return json_false();
		snprintf(err, errlen, "%s: expected true or false, got '%s'", key, val);
		return NULL;
	case KV_LIST:
		if ((v = kv_list(val, lerr, sizeof(lerr))) == NULL)
			snprintf(err, errlen, "%s: %s", key, lerr);
		return v;
	case KV_STRING:
	default:
		if ((v = json_string(val)) == NULL) /* NULL when not UTF-8 */
			snprintf(err, errlen, "'%s' is not UTF-8", pair);
		return v;
	}
}

/* kv_build - PAIRS as an object, each value of the type *T gives its key */
static json_t *kv_build(char *const *pairs, size_t n, const struct kv_types *t, char *err,
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
		val = typed_value(type_of(t, key), key, eq + 1, pairs[i], err, errlen);
		if (val == NULL) {
			free(key);
			goto fail;
		}
		if (json_object_set_new(o, key, val) != 0) { /* a key that is not UTF-8 */
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

/* kv_object - PAIRS ("KEY=VALUE", N of them) as an object; keys in INTS become integers */
json_t *kv_object(char *const *pairs, size_t n, const char *const *ints, char *err,
		  size_t errlen)
{
	const struct kv_types t = {ints, NULL};

	return kv_build(pairs, n, &t, err, errlen);
}

/* kv_object_typed - kv_object(), the value types from FIELDS (NULL: all strings) */
json_t *kv_object_typed(char *const *pairs, size_t n, const struct kv_field *fields,
			char *err, size_t errlen)
{
	const struct kv_types t = {NULL, fields};

	return kv_build(pairs, n, &t, err, errlen);
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
