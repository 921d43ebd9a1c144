/*
 * test_vrcli_kv.c - tests for vrcli/kv.c: KEY=VALUE to JSON (`vrcli policy set`, and
 * typed by field tables for `filter set` and `domains set-filter`: numbers, booleans,
 * comma lists), DN=ROLE to a group_roles item (`--group-role`), role names, JSON values as
 * table text.
 *
 * Table-driven: arguments in, the compact JSON (keys sorted) or the error text out. Also
 * covers the repeatable options of vrcli/args.c (args_count(), args_nth(),
 * args_parse_n()) that carry --uri and --group-role lists to kv.c, and its one-letter
 * options (`quarantine raw -o FILE`).
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

static const struct {
	const char *pairs[MAXP]; /* NULL-terminated */
	int table;		 /* 0: kv_filter_fields, 1: kv_domain_filter_fields */
	const char *json;	 /* compact, sorted keys; NULL: an error is expected */
	const char *err;
} typed_cases[] = {
	{{"blocked_extensions=exe,js,scr", NULL}, 0, "{\"blocked_extensions\":[\"exe\",\"js\",\"scr\"]}",
	 NULL},
	{{"blocked_extensions= .EXE , js", NULL}, 0, "{\"blocked_extensions\":[\".EXE\",\"js\"]}",
	 NULL},
	{{"blocked_extensions=", "blocked_types=", NULL}, 0,
	 "{\"blocked_extensions\":[],\"blocked_types\":[]}", NULL},
	{{"blocked_types=application/x-msdownload", NULL}, 0,
	 "{\"blocked_types\":[\"application/x-msdownload\"]}", NULL},
	{{"block_encrypted_archives=true", "virus_action=reject", NULL}, 0,
	 "{\"block_encrypted_archives\":true,\"virus_action\":\"reject\"}", NULL},
	{{"block_encrypted_archives=no", NULL}, 0, "{\"block_encrypted_archives\":false}", NULL},
	{{"outbound_spam_tag=4", "outbound_spam_quarantine=7.5", "outbound_spam_reject=-1.25",
	  NULL},
	 0,
	 "{\"outbound_spam_quarantine\":7.5,\"outbound_spam_reject\":-1.25,"
	 "\"outbound_spam_tag\":4}",
	 NULL},
	/* order and range are the server's to judge */
	{{"outbound_spam_tag=20", "outbound_spam_reject=10", NULL}, 0,
	 "{\"outbound_spam_reject\":10,\"outbound_spam_tag\":20}", NULL},
	{{"spam_tag=5", "spam_quarantine=8", "fail_open_spam=false", "subject_prefix=", NULL}, 1,
	 "{\"fail_open_spam\":false,\"spam_quarantine\":8,\"spam_tag\":5,\"subject_prefix\":\"\"}",
	 NULL},
	{{"newsletter=tag", NULL}, 1, "{\"newsletter\":\"tag\"}", NULL},
	/* a key of the other table is a string here: the server names it */
	{{"spam_tag=5", NULL}, 0, "{\"spam_tag\":\"5\"}", NULL},
	{{"blocked_extensions=exe,,js", NULL}, 0, NULL,
	 "blocked_extensions: empty item in 'exe,,js'"},
	{{"blocked_extensions=exe,", NULL}, 0, NULL, "blocked_extensions: empty item in 'exe,'"},
	{{"blocked_extensions=, ", NULL}, 0, NULL, "blocked_extensions: empty item in ', '"},
	{{"blocked_extensions=\xff", NULL}, 0, NULL, "blocked_extensions: '\xff' is not UTF-8"},
	{{"block_encrypted_archives=1", NULL}, 0, NULL,
	 "block_encrypted_archives: expected true or false, got '1'"},
	{{"block_encrypted_archives=", NULL}, 0, NULL,
	 "block_encrypted_archives: expected true or false, got ''"},
	{{"outbound_spam_tag=", NULL}, 0, NULL,
	 "outbound_spam_tag: expected a number such as 5 or -1.5, got ''"},
	{{"outbound_spam_tag=5.", NULL}, 0, NULL,
	 "outbound_spam_tag: expected a number such as 5 or -1.5, got '5.'"},
	{{"outbound_spam_tag=.5", NULL}, 0, NULL,
	 "outbound_spam_tag: expected a number such as 5 or -1.5, got '.5'"},
	{{"outbound_spam_tag=1e3", NULL}, 0, NULL,
	 "outbound_spam_tag: expected a number such as 5 or -1.5, got '1e3'"},
	{{"outbound_spam_tag=nan", NULL}, 0, NULL,
	 "outbound_spam_tag: expected a number such as 5 or -1.5, got 'nan'"},
	{{"spam_reject= 9", NULL}, 1, NULL,
	 "spam_reject: expected a number such as 5 or -1.5, got ' 9'"},
	{{"spam_tag=1", "spam_tag=2", NULL}, 1, NULL, "spam_tag is given twice"},
	{{"fail_open_spam", NULL}, 1, NULL, "'fail_open_spam' is not KEY=VALUE"},
};

/* test_object_typed - every case of typed_cases[] */
static void test_object_typed(void **state)
{
	const struct kv_field *tables[] = {kv_filter_fields, kv_domain_filter_fields};

	(void)state;
	for (size_t i = 0; i < sizeof(typed_cases) / sizeof(typed_cases[0]); i++) {
		char *pairs[MAXP], err[256] = "";
		size_t n = 0;
		json_t *o;

		while (typed_cases[i].pairs[n]) {
			pairs[n] = (char *)typed_cases[i].pairs[n];
			n++;
		}
		o = kv_object_typed(pairs, n, tables[typed_cases[i].table], err, sizeof(err));
		if (typed_cases[i].json == NULL) {
			if (o != NULL)
				fail_msg("case %zu: no error", i);
			assert_string_equal(err, typed_cases[i].err);
			continue;
		}
		if (o == NULL)
			fail_msg("case %zu: %s", i, err);
		char *got = compact(o);

		if (strcmp(got, typed_cases[i].json) != 0)
			fail_msg("case %zu: got %s, want %s", i, got, typed_cases[i].json);
		free(got);
		json_decref(o);
	}
}

static const struct {
	const char *in;
	const char *json; /* NULL: not a list */
	const char *err;
} list_cases[] = {
	{"exe,js,scr", "[\"exe\",\"js\",\"scr\"]", NULL},
	{"exe", "[\"exe\"]", NULL},
	{"", "[]", NULL},
	{" exe ,\tjs\t", "[\"exe\",\"js\"]", NULL},
	{"a b,c", "[\"a b\",\"c\"]", NULL}, /* blanks inside stay: the server judges */
	{"é,ü", "[\"é\",\"ü\"]", NULL},
	{",", NULL, "empty item in ','"},
	{"exe,", NULL, "empty item in 'exe,'"},
	{",exe", NULL, "empty item in ',exe'"},
	{"a, ,b", NULL, "empty item in 'a, ,b'"},
	{" ", NULL, "empty item in ' '"},
	{"a,\xfe", NULL, "'a,\xfe' is not UTF-8"},
};

/* test_list - kv_list(): comma lists to JSON arrays */
static void test_list(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		char err[256] = "";
		json_t *arr = kv_list(list_cases[i].in, err, sizeof(err));

		if (list_cases[i].json == NULL) {
			if (arr != NULL)
				fail_msg("case %zu: no error", i);
			assert_string_equal(err, list_cases[i].err);
			continue;
		}
		if (arr == NULL)
			fail_msg("case %zu: %s", i, err);
		char *got = compact(arr);

		assert_string_equal(got, list_cases[i].json);
		free(got);
		json_decref(arr);
	}
}

/* test_number - kv_number(): integers stay integers, decimals become reals */
static void test_number(void **state)
{
	static const struct {
		const char *in, *json; /* json NULL: not a number */
	} cases[] = {
		{"0", "0"},	  {"-3", "-3"},	      {"1000", "1000"}, {"7.5", "7.5"},
		{"-0.25", "-0.25"}, {"007", "7"},	      {"", NULL},	{"-", NULL},
		{"+1", NULL},	  {"1.", NULL},	      {".1", NULL},	{"1.2.3", NULL},
		{"1e2", NULL},	  {"0x10", NULL},     {"inf", NULL},	{" 1", NULL},
		{"1 ", NULL},	  {"99999999999999999999", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *n = kv_number(cases[i].in);

		if (cases[i].json == NULL) {
			if (n != NULL)
				fail_msg("case %zu ('%s'): a number", i, cases[i].in);
			continue;
		}
		if (n == NULL)
			fail_msg("case %zu ('%s'): not a number", i, cases[i].in);
		char *got = compact(n);

		assert_string_equal(got, cases[i].json);
		assert_true(strchr(cases[i].in, '.') ? json_is_real(n) : json_is_integer(n));
		free(got);
		json_decref(n);
	}
}

static const struct args_opt raw_spec[] = {
	{"output", "FILE", "long"},
	{"o", "FILE", "short"},
	{"q", NULL, "short flag"},
	{NULL, NULL, NULL},
};

/* test_short_options - one-letter spec names are -X VALUE, never --X or -XVALUE */
static void test_short_options(void **state)
{
	static const struct {
		const char *argv[4];
		enum args_status want;
		const char *o, *output, *err;
		bool q;
		int npos;
	} cases[] = {
		{{"ID", "-o", "msg.eml", NULL}, ARGS_OK, "msg.eml", NULL, NULL, false, 1},
		/* a longer word starting with '-' is an argument: IDs may start with '-' */
		{{"-omsg.eml", "ID", NULL}, ARGS_OK, NULL, NULL, NULL, false, 2},
		{{"-mTPo58ljS-X7-jeHDxjTA", "-q", NULL}, ARGS_OK, NULL, NULL, NULL, true, 1},
		{{"-o", "-", "ID", NULL}, ARGS_OK, "-", NULL, NULL, false, 1},
		{{"--output", "f", "-q", NULL}, ARGS_OK, NULL, "f", NULL, true, 0},
		{{"ID", "-o", NULL}, ARGS_ERROR, NULL, NULL, "option '-o' needs a value (-o FILE)",
		 false, 0},
		{{"--o", "f", NULL}, ARGS_ERROR, NULL, NULL, "unknown option '--o'", false, 0},
		{{"-x", NULL}, ARGS_ERROR, NULL, NULL, "unknown option '-x'", false, 0},
		{{"-qq", NULL}, ARGS_OK, NULL, NULL, NULL, false, 1},
		{{"-output", "f", NULL}, ARGS_OK, NULL, NULL, NULL, false, 2},
		{{"-o", "-abc", NULL}, ARGS_OK, "-abc", NULL, NULL, false, 0},
		{{"-h", NULL}, ARGS_HELP, NULL, NULL, NULL, false, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[4], err[128] = "";
		struct args a;
		int argc = 0;

		while (argc < 4 && cases[i].argv[argc]) {
			argv[argc] = (char *)cases[i].argv[argc];
			argc++;
		}
		enum args_status st = args_parse(&a, raw_spec, argc, argv, false, err, sizeof(err));

		if (st != cases[i].want)
			fail_msg("case %zu: status %d, want %d (%s)", i, st, cases[i].want, err);
		if (st == ARGS_ERROR)
			assert_string_equal(err, cases[i].err);
		if (st != ARGS_OK)
			continue;
		if (cases[i].o)
			assert_string_equal(args_get(&a, "o"), cases[i].o);
		else
			assert_null(args_get(&a, "o"));
		if (cases[i].output)
			assert_string_equal(args_get(&a, "output"), cases[i].output);
		else
			assert_null(args_get(&a, "output"));
		assert_int_equal(args_has(&a, "q"), cases[i].q);
		assert_int_equal(a.npos, cases[i].npos);
	}
}

/* test_short_help - the options block spells one-letter options -X */
static void test_short_help(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	args_print_options(raw_spec, f);
	fclose(f);
	assert_string_equal(buf, "  --output FILE  long\n"
				 "  -o FILE        short\n"
				 "  -q             short flag\n"
				 "  -h, --help     show this help\n");
	free(buf);
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
		cmocka_unit_test(test_object_typed),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_short_options),
		cmocka_unit_test(test_short_help),
	};

	return cmocka_run_group_tests_name("vrcli_kv", tests, NULL, NULL);
}
