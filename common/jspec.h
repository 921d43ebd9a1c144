/* jspec.h - declarative parsing of JSON request bodies.
 *
 * A request declares its fields once, as a const array of struct jspec; jspec_parse()
 * checks the object against it in one place and fills a caller struct through offsets.
 * Unknown fields, missing required fields, wrong types, out-of-range values, strings with
 * NUL bytes and bad timestamps are all refused (null counts as absent for optional fields
 * and as a wrong type for required ones), and the error names the field, so that
 * apid can answer 400 problem+json with "field" set. Nothing is written to the target
 * struct's fields for absent optional members (callers pre-set defaults).
 *
 * Strings written to the target are borrowed from the json_t and live as long as it does.
 */
#ifndef VR_JSPEC_H
#define VR_JSPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum jspec_type {
	JSPEC_STRING, /* const char *; min/max bound the length in bytes */
	JSPEC_INT,    /* int64_t; min/max bound the value */
	JSPEC_BOOL,   /* bool */
	JSPEC_TIME,   /* RFC 3339 string -> int64_t seconds */
	JSPEC_ENUM,   /* const char * that must be one of choices (NULL-terminated) */
	JSPEC_NUMBER, /* double; min/max bound the value */
	JSPEC_ARRAY,  /* json_t * (borrowed) of an array; min/max bound its length; the
		       * caller checks the items */
};

struct jspec {
	const char *name;
	enum jspec_type type;
	bool required;
	int64_t min, max;
	const char *const *choices;
	size_t offset; /* where the value goes in the target struct */
};

struct jspec_error {
	const char *field; /* borrowed: the spec's name, or the unknown member's key */
	char detail[160];
};

/* jspec_parse - check obj against spec[0..n) and fill target; the bit i of *seen is set
 * for each field i present (seen may be NULL). Returns VR_OK or the error code with
 * err filled. obj must outlive the strings stored in target. */
enum vr_err jspec_parse(json_t *obj, const struct jspec *spec, size_t n, void *target,
			uint32_t *seen, struct jspec_error *err);

/* jspec_load - parse body text into a JSON object; VR_E_BAD_JSON with detail otherwise.
 * The returned object belongs to the caller (json_decref). */
enum vr_err jspec_load(const char *body, size_t len, json_t **out, struct jspec_error *err);

#endif
