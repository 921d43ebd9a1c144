/*
 * test_vrcli_me.c - tests for vrcli/me.c: the body `vrcli preferences set` PUTs (the
 * options given, the rest from the current preferences, newsletter always there) and the
 * sentence `vrcli digest` prints for a POST /api/v1/me/digest reply.
 *
 * Table-driven: the current preferences (JSON text, or NULL) and the options in, the
 * compact JSON body (keys sorted) or the error text out.
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

#include "me.h"

static const struct {
	const char *current; /* JSON text; NULL: not read */
	const char *newsletter, *digest, *language;
	const char *json; /* compact, sorted keys; NULL: an error is expected */
	const char *err;  /* a substring of the error */
} body_cases[] = {
	/* --newsletter alone: as before, nothing read */
	{NULL, "quarantine", NULL, NULL, "{\"newsletter\":\"quarantine\"}", NULL},
	{NULL, "tag", "weekly", "en",
	 "{\"digest\":\"weekly\",\"language\":\"en\",\"newsletter\":\"tag\"}", NULL},
	/* --digest or --language alone: the rest from the current preferences */
	{"{\"newsletter\":\"deliver\",\"digest\":\"daily\",\"language\":\"fr\"}", NULL, "off",
	 NULL, "{\"digest\":\"off\",\"language\":\"fr\",\"newsletter\":\"deliver\"}", NULL},
	{"{\"newsletter\":\"default\",\"digest\":\"weekly\",\"language\":\"fr\"}", NULL, NULL,
	 "en", "{\"digest\":\"weekly\",\"language\":\"en\",\"newsletter\":\"default\"}", NULL},
	/* what is given wins over what is current */
	{"{\"newsletter\":\"deliver\",\"digest\":\"daily\",\"language\":\"fr\"}", "tag", "off",
	 "en", "{\"digest\":\"off\",\"language\":\"en\",\"newsletter\":\"tag\"}", NULL},
	/* an older server without digest or language: only what it has, and what is given */
	{"{\"newsletter\":\"tag\"}", NULL, "daily", NULL,
	 "{\"digest\":\"daily\",\"newsletter\":\"tag\"}", NULL},
	/* members that are not strings are not copied */
	{"{\"newsletter\":\"tag\",\"digest\":null,\"language\":3}", NULL, NULL, "fr",
	 "{\"language\":\"fr\",\"newsletter\":\"tag\"}", NULL},
	/* errors */
	{NULL, NULL, NULL, NULL, NULL, "nothing to change"},
	{"{\"newsletter\":\"tag\"}", NULL, NULL, NULL, NULL, "nothing to change"},
	{"{\"digest\":\"daily\"}", NULL, "off", NULL, NULL, "give --newsletter"},
	{"[]", NULL, NULL, "en", NULL, "give --newsletter"},
	{NULL, NULL, "weekly", NULL, NULL, "give --newsletter"},
	{NULL, "tag", "\xff", NULL, NULL, "UTF-8"},
};

/* test_body - me_prefs_body() over body_cases */
static void test_body(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		json_t *cur = body_cases[i].current
				      ? json_loads(body_cases[i].current, 0, NULL)
				      : NULL;
		char err[256] = "";
		json_t *o = me_prefs_body(cur, body_cases[i].newsletter, body_cases[i].digest,
					  body_cases[i].language, err, sizeof(err));

		if (body_cases[i].current)
			assert_non_null(cur);
		if (body_cases[i].json) {
			char *text;

			if (o == NULL)
				fail_msg("case %zu: unexpected error: %s", i, err);
			text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
			if (strcmp(text, body_cases[i].json) != 0)
				fail_msg("case %zu: got %s, want %s", i, text, body_cases[i].json);
			free(text);
		} else {
			if (o != NULL)
				fail_msg("case %zu: expected an error", i);
			if (strstr(err, body_cases[i].err) == NULL)
				fail_msg("case %zu: error '%s' lacks '%s'", i, err, body_cases[i].err);
		}
		json_decref(o);
		json_decref(cur);
	}
}

/* test_need_current - the current preferences are read only without --newsletter */
static void test_need_current(void **state)
{
	(void)state;
	assert_true(me_prefs_need_current(NULL));
	assert_false(me_prefs_need_current("default"));
}

/* test_choices - the values each option takes, as the API spells them */
static void test_choices(void **state)
{
	static const char *const *lists[] = {me_newsletter_choices, me_digest_choices,
					     me_language_choices};
	static const char *const want[] = {"default deliver tag quarantine", "off daily weekly",
					   "fr en"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char buf[128] = "";

		for (const char *const *c = lists[i]; *c; c++) {
			if (c != lists[i])
				strcat(buf, " ");
			strcat(buf, *c);
		}
		assert_string_equal(buf, want[i]);
	}
}

static const struct {
	const char *reply; /* JSON text */
	const char *want;  /* NULL: no sentence */
} summary_cases[] = {
	{"{\"items\":12}", "Sent you a digest of 12 held messages."},
	{"{\"items\":1}", "Sent you a digest of 1 held message."},
	{"{\"items\":100}", "Sent you a digest of 100 held messages."},
	{"{\"items\":0}", "No held messages to list: no digest was sent."},
	{"{\"items\":-1}", NULL},
	{"{\"items\":\"3\"}", NULL},
	{"{\"items\":2.0}", NULL},
	{"{}", NULL},
	{"[]", NULL},
};

/* test_summary - me_digest_summary() over summary_cases, and a NULL reply */
static void test_summary(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(summary_cases) / sizeof(summary_cases[0]); i++) {
		json_t *r = json_loads(summary_cases[i].reply, JSON_DECODE_ANY, NULL);
		char *s;

		assert_non_null(r);
		s = me_digest_summary(r);
		if (summary_cases[i].want == NULL) {
			if (s != NULL)
				fail_msg("case %zu: unexpected '%s'", i, s);
		} else {
			if (s == NULL)
				fail_msg("case %zu: no sentence", i);
			assert_string_equal(s, summary_cases[i].want);
		}
		free(s);
		json_decref(r);
	}
	assert_null(me_digest_summary(NULL));
}

/* main - run the vrcli_me tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_need_current),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests_name("vrcli_me", tests, NULL, NULL);
}
