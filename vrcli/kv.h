/*
 * kv.h - the small languages of vrcli's admin commands, turned into JSON and back.
 *
 * Owns: KEY=VALUE arguments (`vrcli policy set`) as a JSON object, with the keys that
 * the API types as integers sent as JSON numbers; DN=ROLE (`--group-role`) as a
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
