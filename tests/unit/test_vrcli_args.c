/*
 * test_vrcli_args.c - tests for vrcli/args.c, the option parser of every command.
 *
 * Table-driven: argv in, then the status, the option values, the positional arguments
 * (or, for the global options, where the command starts) and the error text.
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

static const struct args_opt spec[] = {
	{"url", "URL", "API base URL"},
	{"json", NULL, "print JSON"},
	{"expires-days", "N", "days"},
	{NULL, NULL, NULL},
};

#define MAXV 6

static const struct {
	const char *argv[MAXV]; /* NULL-terminated */
	bool stop_at_pos;
	enum args_status want;
	const char *url, *json, *days; /* expected values, NULL: absent */
	const char *pos[ARGS_MAX_POS + 1]; /* positional, or the rest with stop_at_pos */
	const char *err;
} cases[] = {
	{{"--url", "http://a", "whoami", "--json", NULL}, true, ARGS_OK, "http://a", NULL, NULL,
	 {"whoami", "--json"}, NULL},
	{{"--url=http://b", "--json", NULL}, true, ARGS_OK, "http://b", "", NULL, {NULL}, NULL},
	{{"NAME", "--expires-days", "7", "--json", NULL}, false, ARGS_OK, NULL, "", "7",
	 {"NAME"}, NULL},
	{{"--", "--json", "-", NULL}, false, ARGS_OK, NULL, NULL, NULL, {"--json", "-"}, NULL},
	{{"--url", "a", "--url", "b", NULL}, false, ARGS_OK, "b", NULL, NULL, {NULL}, NULL},
	{{"--url", "-x", NULL}, false, ARGS_OK, "-x", NULL, NULL, {NULL}, NULL},
	{{"--url=", NULL}, false, ARGS_OK, "", NULL, NULL, {NULL}, NULL},
	{{"a", "b", "c", "d", "e", NULL}, false, ARGS_ERROR, NULL, NULL, NULL, {NULL},
	 "too many arguments"},
	{{"--url", NULL}, false, ARGS_ERROR, NULL, NULL, NULL, {NULL},
	 "option '--url' needs a value (--url URL)"},
	{{"--json=yes", NULL}, false, ARGS_ERROR, NULL, NULL, NULL, {NULL},
	 "option '--json' takes no value"},
	{{"--bogus", NULL}, false, ARGS_ERROR, NULL, NULL, NULL, {NULL},
	 "unknown option '--bogus'"},
	{{"--bogus=1", NULL}, true, ARGS_ERROR, NULL, NULL, NULL, {NULL},
	 "unknown option '--bogus'"},
	{{"--js", NULL}, false, ARGS_ERROR, NULL, NULL, NULL, {NULL}, "unknown option '--js'"},
	{{"-x", NULL}, false, ARGS_ERROR, NULL, NULL, NULL, {NULL}, "unknown option '-x'"},
	{{"x", "-h", NULL}, false, ARGS_HELP, NULL, NULL, NULL, {NULL}, NULL},
	{{"--help", NULL}, true, ARGS_HELP, NULL, NULL, NULL, {NULL}, NULL},
	{{NULL}, true, ARGS_OK, NULL, NULL, NULL, {NULL}, NULL},
};

/* same - both NULL, or equal strings */
static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* test_parse - every case of cases[] */
static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[MAXV];
		int argc = 0, npos = 0;
		struct args a;
		char err[128] = "";
		enum args_status st;

		while (cases[i].argv[argc]) {
			argv[argc] = (char *)cases[i].argv[argc];
			argc++;
		}
		st = args_parse(&a, spec, argc, argv, cases[i].stop_at_pos, err, sizeof(err));
		if (st != cases[i].want)
			fail_msg("case %zu: status %d, want %d (%s)", i, st, cases[i].want, err);
		if (st == ARGS_ERROR) {
			assert_string_equal(err, cases[i].err);
			continue;
		}
		if (st == ARGS_HELP)
			continue;
		if (!same(args_get(&a, "url"), cases[i].url) ||
		    !same(args_get(&a, "json"), cases[i].json) ||
		    !same(args_get(&a, "expires-days"), cases[i].days))
			fail_msg("case %zu: wrong option values", i);
		assert_int_equal(args_has(&a, "json"), cases[i].json != NULL);
		while (cases[i].pos[npos])
			npos++;
		if (cases[i].stop_at_pos) {
			assert_int_equal(a.nrest, npos);
			for (int k = 0; k < npos; k++)
				assert_string_equal(a.rest[k], cases[i].pos[k]);
		} else {
			assert_int_equal(a.npos, npos);
			for (int k = 0; k < npos; k++)
				assert_string_equal(a.pos[k], cases[i].pos[k]);
		}
	}
}

/* test_print_options - the help block is aligned on the longest option */
static void test_print_options(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	args_print_options(spec, f);
	fclose(f);
	assert_string_equal(out, "  --url URL         API base URL\n"
				 "  --json            print JSON\n"
				 "  --expires-days N  days\n"
				 "  -h, --help        show this help\n");
	free(out);
}

/* main - run the vrcli_args tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_print_options),
	};

	return cmocka_run_group_tests_name("vrcli_args", tests, NULL, NULL);
}
