/*
 * test_vrcli_kv.c - tests for vrcli/kv.c: KEY=VALUE to JSON (`vrcli policy set`),
 * DN=ROLE to a group_roles item (`--group-role`), role names, JSON values as table text.
 *
 * Table-driven: arguments in, the compact JSON (keys sorted) or the error text out. Also
 * covers the repeatable options of vrcli/args.c (args_count(), args_nth(),
 * args_parse_n()) that carry --uri and --group-role lists to kv.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"
#include "kv.h"

#define MAXP 5

static const struct {
	const char *pairs[MAXP]; /* NULL-terminated */
	const char *json;	 /* compact, sorted keys; NULL: an error is expected */
	const char *err;
} object_cases[] = {
	{{"hostname=mx.example.org", NULL}, "{\"hostname\":\"mx.example.org\"}", NULL},
	{{"inbound_port=2525", "outbound_port=10025", NULL},
	 "{\"inbound_port\":2525,\"outbound_port\":10025}", NULL},
	{{"message_size_limit=2147483647", NULL}, "{\"message_size_limit\":2147483647}", NULL},
	{{"smarthost_port=-1", NULL}, "{\"smarthost_port\":-1}", NULL}, /* range: the server's */
	{{"smarthost_host=", "tls_inbound_cert=", NULL},
	 "{\"smarthost_host\":\"\",\"tls_inbound_cert\":\"\"}", NULL},
	{{"outbound_mode=smarthost", "smarthost_host=relay.example.net", "smarthost_port=587",
	  NULL},
	 "{\"outbound_mode\":\"smarthost\",\"smarthost_host\":\"relay.example.net\","
	 "\"smarthost_port\":587}",
	 NULL},
	/* unknown keys go to the server as strings, which names them in its 400 */
	{{"bogus_key=12", NULL}, "{\"bogus_key\":\"12\"}", NULL},
	/* only the first '=' splits: the value may hold more */
	{{"hostname=a=b", NULL}, "{\"hostname\":\"a=b\"}", NULL},
	{{"verify_positive_ttl=3600", "verify_negative_ttl=60", NULL},
	 "{\"verify_negative_ttl\":60,\"verify_positive_ttl\":3600}", NULL},
	{{NULL}, "{}", NULL},
	{{"hostname", NULL}, NULL, "'hostname' is not KEY=VALUE"},
	{{"=x", NULL}, NULL, "'=x' is not KEY=VALUE"},
	{{"inbound_port=", NULL}, NULL, "inbound_port: expected a whole number, got ''"},
	{{"inbound_port=25x", NULL}, NULL, "inbound_port: expected a whole number, got '25x'"},
	{{"inbound_port= 25", NULL}, NULL, "inbound_port: expected a whole number, got ' 25'"},
	{{"inbound_port=+25", NULL}, NULL, "inbound_port: expected a whole number, got '+25'"},
	{{"inbound_port=-", NULL}, NULL, "inbound_port: expected a whole number, got '-'"},
	{{"message_size_limit=99999999999999999999", NULL}, NULL,
	 "message_size_limit: expected a whole number, got '99999999999999999999'"},
	{{"hostname=a", "hostname=b", NULL}, NULL, "hostname is given twice"},
	{{"hostname=\xff", NULL}, NULL, "'hostname=\xff' is not UTF-8"},
};

/* compact - J as compact JSON with sorted keys (malloc'd) */
static char *compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	assert_non_null(s);
	return s;
}

/* test_object - every case of object_cases[], with the Policy's integer fields */
static void test_object(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(object_cases) / sizeof(object_cases[0]); i++) {
		char *pairs[MAXP], err[256] = "";
		size_t n = 0;
		json_t *o;

		while (object_cases[i].pairs[n]) {
			pairs[n] = (char *)object_cases[i].pairs[n];
			n++;
		}
		o = kv_object(pairs, n, kv_policy_ints, err, sizeof(err));
		if (object_cases[i].json == NULL) {
			if (o != NULL)
				fail_msg("case %zu: no error", i);
			assert_string_equal(err, object_cases[i].err);
			continue;
		}
		if (o == NULL)
			fail_msg("case %zu: %s", i, err);
		char *got = compact(o);

		if (strcmp(got, object_cases[i].json) != 0)
			fail_msg("case %zu: got %s, want %s", i, got, object_cases[i].json);
		free(got);
		json_decref(o);
	}
}

/* test_object_no_ints - without an integer list, every value is a string */
static void test_object_no_ints(void **state)
{
	char *pairs[] = {"inbound_port=25"}, err[64];
	json_t *o = kv_object(pairs, 1, NULL, err, sizeof(err));
	char *s;

	(void)state;
	assert_non_null(o);
	s = compact(o);
	assert_string_equal(s, "{\"inbound_port\":\"25\"}");
	free(s);
	json_decref(o);
}

static const struct {
	const char *arg;
	const char *json; /* NULL: an error is expected */
	const char *err;
} group_cases[] = {
	{"cn=admins,ou=groups,dc=example,dc=org=admin",
	 "{\"group_dn\":\"cn=admins,ou=groups,dc=example,dc=org\",\"role\":\"admin\"}", NULL},
	{"CN=Help Desk,OU=Groups,DC=corp,DC=example=helpdesk",
	 "{\"group_dn\":\"CN=Help Desk,OU=Groups,DC=corp,DC=example\",\"role\":\"helpdesk\"}",
	 NULL},
	{"auditors=auditor", "{\"group_dn\":\"auditors\",\"role\":\"auditor\"}", NULL},
	{"cn=staff=user", "{\"group_dn\":\"cn=staff\",\"role\":\"user\"}", NULL},
	{"cn=x,dc=y", NULL,
	 "'cn=x,dc=y': the role after the last '=' must be admin, helpdesk, auditor or user"},
	{"cn=x=none", NULL,
	 "'cn=x=none': the role after the last '=' must be admin, helpdesk, auditor or user"},
	{"cn=x=agent", NULL,
	 "'cn=x=agent': the role after the last '=' must be admin, helpdesk, auditor or user"},
	{"cn=x=", NULL,
	 "'cn=x=': the role after the last '=' must be admin, helpdesk, auditor or user"},
	{"=admin", NULL, "'=admin' is not GROUP-DN=ROLE"},
	{"admins", NULL, "'admins' is not GROUP-DN=ROLE"},
	{"", NULL, "'' is not GROUP-DN=ROLE"},
	{"cn=\xfe=admin", NULL, "'cn=\xfe=admin' is not UTF-8"},
};

/* test_group_role - every case of group_cases[] */
static void test_group_role(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++) {
		char err[256] = "";
		json_t *o = kv_group_role(group_cases[i].arg, err, sizeof(err));

		if (group_cases[i].json == NULL) {
			if (o != NULL)
				fail_msg("case %zu: no error", i);
			assert_string_equal(err, group_cases[i].err);
			continue;
		}
		if (o == NULL)
			fail_msg("case %zu: %s", i, err);
		char *got = compact(o);

		assert_string_equal(got, group_cases[i].json);
		free(got);
		json_decref(o);
	}
}

/* test_is_role - the four roles; "none" only when asked for; nothing else */
static void test_is_role(void **state)
{
	(void)state;
	assert_true(kv_is_role("admin", false));
	assert_true(kv_is_role("helpdesk", false));
	assert_true(kv_is_role("auditor", false));
	assert_true(kv_is_role("user", true));
	assert_false(kv_is_role("none", false));
	assert_true(kv_is_role("none", true));
	assert_false(kv_is_role("agent", true));
	assert_false(kv_is_role("Admin", true));
	assert_false(kv_is_role("", true));
	assert_false(kv_is_role(NULL, true));
}

static const struct {
	const char *json; /* a JSON value */
	const char *text; /* NULL: no text (the table shows "-") */
} text_cases[] = {
	{"\"mx.example.org\"", "mx.example.org"},
	{"\"\"", ""},
	{"25", "25"},
	{"-3", "-3"},
	{"12.5", "12.5"},
	{"true", "yes"},
	{"false", "no"},
	{"null", NULL},
	{"[]", NULL},
	{"[\"ldaps://a:636\",\"ldaps://b\"]", "ldaps://a:636, ldaps://b"},
	{"[\"mail\",null,3]", "mail, -, 3"},
	{"[{\"group_dn\":\"cn=a,dc=x\",\"role\":\"admin\"},{\"group_dn\":\"cn=b\",\"role\":"
	 "\"user\"}]",
	 "cn=a,dc=x=admin; cn=b=user"},
	{"{\"a\":1}", "{\"a\":1}"},
	{"{\"group_dn\":\"cn=a\",\"role\":\"user\",\"x\":1}",
	 "{\"group_dn\":\"cn=a\",\"role\":\"user\",\"x\":1}"},
};

/* test_text - every case of text_cases[], and a missing value */
static void test_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		json_error_t jerr;
		json_t *v = json_loads(text_cases[i].json, JSON_DECODE_ANY, &jerr);
		char *got;

		if (v == NULL)
			fail_msg("case %zu: bad test JSON: %s", i, jerr.text);
		got = kv_text(v);
		if (text_cases[i].text == NULL) {
			if (got != NULL)
				fail_msg("case %zu: got '%s', want nothing", i, got);
		} else {
			if (got == NULL)
				fail_msg("case %zu: got nothing, want '%s'", i, text_cases[i].text);
			assert_string_equal(got, text_cases[i].text);
		}
		free(got);
		json_decref(v);
	}
	assert_null(kv_text(NULL));
}

static const struct args_opt dir_spec[] = {
	{"uri", "URI", "repeatable"},
	{"group-role", "DN=ROLE", "repeatable"},
	{"name", "N", "once"},
	{"starttls", NULL, "flag"},
	{NULL, NULL, NULL},
};

/* test_repeated_options - every --uri and --group-role in order; args_get() the last */
static void test_repeated_options(void **state)
{
	char *argv[] = {"--uri",   "ldaps://a",	  "--name", "first", "--uri=ldaps://b",
			"--starttls", "--group-role", "cn=x=admin", "--name", "second",
			"--uri",   "ldap://c"};
	char err[128] = "";
	struct args a;

	(void)state;
	assert_int_equal(args_parse(&a, dir_spec, 12, argv, false, err, sizeof(err)), ARGS_OK);
	assert_int_equal(args_count(&a, "uri"), 3);
	assert_string_equal(args_nth(&a, "uri", 0), "ldaps://a");
	assert_string_equal(args_nth(&a, "uri", 1), "ldaps://b");
	assert_string_equal(args_nth(&a, "uri", 2), "ldap://c");
	assert_null(args_nth(&a, "uri", 3));
	assert_string_equal(args_get(&a, "uri"), "ldap://c");
	assert_int_equal(args_count(&a, "group-role"), 1);
	assert_string_equal(args_nth(&a, "group-role", 0), "cn=x=admin");
	assert_int_equal(args_count(&a, "name"), 2);
	assert_string_equal(args_get(&a, "name"), "second");
	assert_int_equal(args_count(&a, "starttls"), 1);
	assert_string_equal(args_nth(&a, "starttls", 0), "");
	assert_int_equal(args_count(&a, "group-role"), 1);
	assert_int_equal(a.npos, 0);

	assert_int_equal(args_parse(&a, dir_spec, 0, argv, false, err, sizeof(err)), ARGS_OK);
	assert_int_equal(args_count(&a, "uri"), 0);
	assert_null(args_nth(&a, "uri", 0));
}

/* test_too_many_options - more option values than struct args holds is an error */
static void test_too_many_options(void **state)
{
	char *argv[2 * ARGS_MAX_VALUES + 2];
	char err[128] = "";
	struct args a;
	int argc = 0;

	(void)state;
	for (int i = 0; i <= ARGS_MAX_VALUES; i++) {
		argv[argc++] = "--uri";
		argv[argc++] = "ldaps://x";
	}
	assert_int_equal(args_parse(&a, dir_spec, argc - 2, argv, false, err, sizeof(err)),
			 ARGS_OK);
	assert_int_equal(args_count(&a, "uri"), ARGS_MAX_VALUES);
	assert_int_equal(args_parse(&a, dir_spec, argc, argv, false, err, sizeof(err)),
			 ARGS_ERROR);
	assert_string_equal(err, "too many options");
}

/* test_many_positionals - args_parse_n() takes more positionals than args_parse() */
static void test_many_positionals(void **state)
{
	char *argv[ARGS_POS_CAP + 1];
	char err[128] = "";
	struct args a;

	(void)state;
	for (int i = 0; i <= ARGS_POS_CAP; i++)
		argv[i] = "k=v";
	argv[3] = "--starttls";
	assert_int_equal(args_parse(&a, dir_spec, 6, argv, false, err, sizeof(err)), ARGS_ERROR);
	assert_string_equal(err, "too many arguments");
	assert_int_equal(args_parse_n(&a, dir_spec, 6, argv, false, 8, err, sizeof(err)),
			 ARGS_OK);
	assert_int_equal(a.npos, 5);
	assert_true(args_has(&a, "starttls"));
	argv[3] = "k=v";
	assert_int_equal(args_parse_n(&a, dir_spec, ARGS_POS_CAP, argv, false, ARGS_POS_CAP, err,
				      sizeof(err)),
			 ARGS_OK);
	assert_int_equal(a.npos, ARGS_POS_CAP);
	assert_int_equal(args_parse_n(&a, dir_spec, ARGS_POS_CAP + 1, argv, false, ARGS_POS_CAP,
				      err, sizeof(err)),
			 ARGS_ERROR);
	assert_string_equal(err, "too many arguments");
}

/* main - run the vrcli_kv tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_object_no_ints),
		cmocka_unit_test(test_group_role),
		cmocka_unit_test(test_is_role),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_repeated_options),
		cmocka_unit_test(test_too_many_options),
		cmocka_unit_test(test_many_positionals),
	};

	return cmocka_run_group_tests_name("vrcli_kv", tests, NULL, NULL);
}
