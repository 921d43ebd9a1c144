/* jspec.c - declarative JSON request parsing (see jspec.h). */
#include <stdio.h>
#include <string.h>

#include "jspec.h"
#include "vrtime.h"

/* fail - fill err and return code */
static enum vr_err fail(struct jspec_error *err, enum vr_err code, const char *field,
			const char *detail)
{
	err->field = field;
	snprintf(err->detail, sizeof(err->detail), "%s", detail);
	return code;
}

/* jspec_load - parse text into a JSON object */
enum vr_err jspec_load(const char *body, size_t len, json_t **out, struct jspec_error *err)
{
	json_error_t je;
	json_t *j;

	*out = NULL;
	err->field = NULL;
	if (body == NULL || len == 0)
		return fail(err, VR_E_BAD_JSON, NULL, "the request needs a JSON object body");
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (j == NULL) {
		snprintf(err->detail, sizeof(err->detail), "line %d, column %d: %.100s", je.line,
			 je.column, je.text);
		return VR_E_BAD_JSON;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return fail(err, VR_E_BAD_JSON, NULL, "the body must be a JSON object");
	}
	*out = j;
	return VR_OK;
}

/* find - index of key in spec, or -1 */
static int find(const struct jspec *spec, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(spec[i].name, key) == 0)
			return (int)i;
	return -1;
}

/* parse_one - check one present member against its spec entry and store it */
static enum vr_err parse_one(json_t *v, const struct jspec *f, void *target,
			     struct jspec_error *err)
{
	char *slot = (char *)target + f->offset;
	char msg[160];

	switch (f->type) {
	case JSPEC_STRING:
	case JSPEC_ENUM:
	case JSPEC_TIME: {
		const char *s;
		size_t len;

		if (!json_is_string(v))
			return fail(err, VR_E_INVALID_FIELD, f->name, "must be a string");
		s = json_string_value(v);
		len = json_string_length(v);
		if (strlen(s) != len)
			return fail(err, VR_E_INVALID_FIELD, f->name, "must not contain NUL");
		if (f->type == JSPEC_TIME) {
			int64_t t;

			if (vr_time_parse(s, &t) < 0)
				return fail(err, VR_E_INVALID_FIELD, f->name,
					    "must be an RFC 3339 date-time such as "
					    "2026-12-31T23:59:59Z");
			memcpy(slot, &t, sizeof(t));
			return VR_OK;
		}
		if (f->type == JSPEC_ENUM) {
			for (const char *const *c = f->choices; *c; c++) {
				if (strcmp(*c, s) == 0) {
					memcpy(slot, &s, sizeof(s));
					return VR_OK;
				}
			}
			snprintf(msg, sizeof(msg), "must be one of:");
			for (const char *const *c = f->choices; *c; c++) {
				size_t used = strlen(msg);

				snprintf(msg + used, sizeof(msg) - used, " %s", *c);
			}
			return fail(err, VR_E_INVALID_FIELD, f->name, msg);
		}
		if ((int64_t)len < f->min || (int64_t)len > f->max) {
			snprintf(msg, sizeof(msg), "length must be between %lld and %lld",
				 (long long)f->min, (long long)f->max);
			return fail(err, VR_E_INVALID_FIELD, f->name, msg);
		}
		memcpy(slot, &s, sizeof(s));
		return VR_OK;
	}
	case JSPEC_INT: {
		int64_t i;

		if (!json_is_integer(v))
			return fail(err, VR_E_INVALID_FIELD, f->name, "must be an integer");
		i = (int64_t)json_integer_value(v);
		if (i < f->min || i > f->max) {
			snprintf(msg, sizeof(msg), "must be between %lld and %lld",
				 (long long)f->min, (long long)f->max);
			return fail(err, VR_E_INVALID_FIELD, f->name, msg);
		}
		memcpy(slot, &i, sizeof(i));
		return VR_OK;
	}
	case JSPEC_NUMBER: {
		double d;

		if (!json_is_number(v))
			return fail(err, VR_E_INVALID_FIELD, f->name, "must be a number");
		d = json_number_value(v);
		if (d < (double)f->min || d > (double)f->max) {
			snprintf(msg, sizeof(msg), "must be between %lld and %lld", (long long)f->min,
				 (long long)f->max);
			return fail(err, VR_E_INVALID_FIELD, f->name, msg);
		}
		memcpy(slot, &d, sizeof(d));
		return VR_OK;
	}
	case JSPEC_ARRAY: {
		if (!json_is_array(v))
			return fail(err, VR_E_INVALID_FIELD, f->name, "must be an array");
		if ((int64_t)json_array_size(v) < f->min || (int64_t)json_array_size(v) > f->max) {
			snprintf(msg, sizeof(msg), "must have between %lld and %lld items",
				 (long long)f->min, (long long)f->max);
			return fail(err, VR_E_INVALID_FIELD, f->name, msg);
		}
		memcpy(slot, &v, sizeof(v));
		return VR_OK;
	}
	case JSPEC_BOOL: {
		bool b;

		if (!json_is_boolean(v))
			return fail(err, VR_E_INVALID_FIELD, f->name, "must be true or false");
		b = json_is_true(v);
		memcpy(slot, &b, sizeof(b));
		return VR_OK;
	}
	}
	return fail(err, VR_E_INTERNAL, f->name, "bad field specification");
}

/* jspec_parse - check obj against spec and fill target */
enum vr_err jspec_parse(json_t *obj, const struct jspec *spec, size_t n, void *target,
			uint32_t *seen, struct jspec_error *err)
{
	const char *key;
	json_t *v;
	uint32_t mask = 0;
	enum vr_err rc;

	err->field = NULL;
	err->detail[0] = '\0';
	if (!json_is_object(obj))
		return fail(err, VR_E_BAD_JSON, NULL, "the body must be a JSON object");
	json_object_foreach(obj, key, v)
	{
		int i = find(spec, n, key);

		if (i < 0)
			return fail(err, VR_E_UNKNOWN_FIELD, key, "this request takes no such field");
		/* null for an optional field means "not given" */
		if (json_is_null(v) && !spec[i].required)
			continue;
		rc = parse_one(v, &spec[i], target, err);
		if (rc != VR_OK)
			return rc;
		mask |= 1u << i;
	}
	for (size_t i = 0; i < n; i++)
		if (spec[i].required && !(mask & (1u << i)))
			return fail(err, VR_E_MISSING_FIELD, spec[i].name, "is required");
	if (seen)
		*seen = mask;
	return VR_OK;
}
