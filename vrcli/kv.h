/*
 * kv.h - the small languages of vrcli's admin commands, turned into JSON and back.
 *
 * Owns: KEY=VALUE arguments (`vrcli policy set`, `filter set`, `domains set-filter`) as a
 * JSON object, with the keys that the API types as integers, numbers, booleans or string
 * lists sent as such (a list is given comma-separated: exe,js,scr); DN=ROLE (`--group-role`) as a
 * {"group_dn", "role"} item; the role names a user or a group may be given; and the text
 * a JSON value shows as in a table. Pure functions: no I/O, so tests/unit/test_vrcli_kv.c
 * drives them with tables.
 *
 * Ownership: kv_object() and kv_group_role() return a new json_t reference (release with
 * json_decref()); kv_text() returns a malloc'd string (release with free()) or NULL.
 */
#ifndef VRCLI_KV_H
#define VRCLI_KV_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The Policy fields that are integers (NULL-terminated); everything else is a string. */
extern const char *const kv_policy_ints[];

/* How a KEY=VALUE value becomes JSON. */
enum kv_type {
	KV_STRING, /* as it is; KEY= is "" */
	KV_INT,	   /* a whole number: [-]digits */
	KV_NUMBER, /* [-]digits[.digits]: an integer, or a real with a '.' */
	KV_BOOL,   /* true|false (also yes|no, as tables show them) */
	KV_LIST,   /* comma-separated strings, each trimmed; KEY= is [] */
};

/* A typed field; a table of them ends with a NULL key. Keys not listed are strings. */
struct kv_field {
	const char *key;
	enum kv_type type;
};

/* FilterPolicy (`filter set`) and DomainFilter (`domains set-filter`) fields. */
extern const struct kv_field kv_filter_fields[];
extern const struct kv_field kv_domain_filter_fields[];

/* kv_object_typed - kv_object(), the value types from FIELDS (NULL: all strings); NULL
 * with ERR set, as for kv_object(), also for a value that is not of its key's type */
json_t *kv_object_typed(char *const *pairs, size_t n, const struct kv_field *fields,
			char *err, size_t errlen);

/* kv_list - "a, b,c" as ["a","b","c"] ("" is []); NULL with ERR set for an empty item
 * ("a,,b", "a,") or text that is not UTF-8 */
json_t *kv_list(const char *s, char *err, size_t errlen);

/* kv_number - S ([-]digits[.digits]) as a JSON integer or real; NULL if it is not one */
json_t *kv_number(const char *s);

/* kv_object - PAIRS ("KEY=VALUE", N of them) as an object; keys in INTS become integers.
 * NULL with ERR set for a pair without '=' or key, a key given twice, a non-integer value
 * of an integer key, or text that is not UTF-8. An empty VALUE stays "" (the API's way of
 * clearing an optional string). Keys not in INTS pass as strings: the server judges them. */
json_t *kv_object(char *const *pairs, size_t n, const char *const *ints, char *err,
		  size_t errlen);

/* kv_group_role - "DN=ROLE" as {"group_dn": DN, "role": ROLE}; split at the last '=' (a
 * DN holds '=' itself); ROLE is admin, helpdesk, auditor or user. NULL with ERR set. */
json_t *kv_group_role(const char *s, char *err, size_t errlen);

/* kv_is_role - whether S is admin, helpdesk, auditor or user (or, with NONE, "none") */
bool kv_is_role(const char *s, bool none);

/* kv_text - V as table text: strings as they are, numbers, yes/no, arrays joined with
 * ", " ("; " for arrays of objects), {"group_dn","role"} as DN=ROLE, other objects as
 * compact JSON; NULL for null, a missing value and an empty array */
char *kv_text(const json_t *v);

#endif
