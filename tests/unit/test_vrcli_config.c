/*
 * test_vrcli_config.c - tests for vrcli/config.c.
 *
 * Table-driven where the function is pure: where the file lives (XDG_CONFIG_HOME, HOME),
 * the `key = value` syntax, and the precedence flag > environment > file with the rule
 * that a stored token is only sent to its own URL. Then the file I/O: an atomic save
 * leaves exactly one file, mode 0600, in a directory of mode 0700, and loads back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* test_path - where the config file is, for each combination of the variables */
static void test_path(void **state)
{
	static const struct {
		const char *xdg, *home, *want;
	} cases[] = {
		{"/x", "/h", "/x/vrcli/config"},
		{NULL, "/h", "/h/.config/vrcli/config"},
		{"", "/h", "/h/.config/vrcli/config"},
		{"relative", "/h", "/h/.config/vrcli/config"}, /* XDG: relative is invalid */
		{"/x", NULL, "/x/vrcli/config"},
		{NULL, NULL, NULL},
		{NULL, "", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = config_path(cases[i].xdg, cases[i].home);

		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* test_parse - the syntax: what each text yields, or which line is wrong */
static void test_parse(void **state)
{
	static const struct {
		const char *text;
		const char *url, *token; /* expected values; NULL: absent */
		int bad_line;		 /* 0: parses */
	} cases[] = {
		{"url = http://a:1\ntoken = vrt_x\n", "http://a:1", "vrt_x", 0},
		{"  url=http://a  \r\ntoken\t=\tt  \r\n", "http://a", "t", 0},
		{"# comment\n\n   \n# url = no\nurl = http://b", "http://b", NULL, 0},
		{"token = a=b==\n", NULL, "a=b==", 0},
		{"url = one\nurl = two\n", "two", NULL, 0},
		{"url =\n", "", NULL, 0},
		{"other = 1\nurl = u\n", "u", NULL, 0},
		{"", NULL, NULL, 0},
		{"junk\n", NULL, NULL, 1},
		{"url = a\n= b\n", NULL, NULL, 2},
		{"url = a\n\n  =\n", NULL, NULL, 3},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg = {0};
		int bad = 0;
		enum vrcli_exit rc = config_parse(&cfg, cases[i].text, &bad);

		if (cases[i].bad_line) {
			assert_int_equal(rc, VRCLI_EXIT_OTHER);
			assert_int_equal(bad, cases[i].bad_line);
		} else {
			assert_int_equal(rc, VRCLI_EXIT_OK);
			if (cases[i].url)
				assert_string_equal(config_get(&cfg, "url"), cases[i].url);
			else
				assert_null(config_get(&cfg, "url"));
			if (cases[i].token)
				assert_string_equal(config_get(&cfg, "token"), cases[i].token);
			else
				assert_null(config_get(&cfg, "token"));
		}
		config_free(&cfg);
	}
}

/* test_set_render - set, replace, unset, unknown keys kept, control characters refused */
static void test_set_render(void **state)
{
	struct config cfg = {0}, back = {0};
	char *text;
	int bad = 0;

	(void)state;
	assert_int_equal(config_parse(&cfg, "future = 1\n", &bad), VRCLI_EXIT_OK);
	assert_int_equal(config_set(&cfg, "url", "http://old"), VRCLI_EXIT_OK);
	assert_int_equal(config_set(&cfg, "token", "tok"), VRCLI_EXIT_OK);
	assert_int_equal(config_set(&cfg, "url", "http://new"), VRCLI_EXIT_OK);
	/* setting a key to its own (borrowed) value must not read freed memory */
	assert_int_equal(config_set(&cfg, "url", config_get(&cfg, "url")), VRCLI_EXIT_OK);
	assert_int_equal(config_set(&cfg, "token", "bad\nvalue"), VRCLI_EXIT_OTHER);
	assert_int_equal(config_set(&cfg, "a=b", "x"), VRCLI_EXIT_OTHER);
	assert_int_equal(config_set(&cfg, "", "x"), VRCLI_EXIT_OTHER);
	text = config_render(&cfg);
	assert_string_equal(text, "# vrcli settings, rewritten by 'vrcli login' and 'vrcli "
				  "logout'\nfuture = 1\nurl = http://new\ntoken = tok\n");
	assert_int_equal(config_parse(&back, text, &bad), VRCLI_EXIT_OK);
	assert_string_equal(config_get(&back, "url"), "http://new");
	assert_string_equal(config_get(&back, "future"), "1");
	free(text);

	assert_int_equal(config_set(&cfg, "token", NULL), VRCLI_EXIT_OK);
	assert_int_equal(config_set(&cfg, "absent", NULL), VRCLI_EXIT_OK);
	assert_null(config_get(&cfg, "token"));
	assert_string_equal(config_get(&cfg, "url"), "http://new");
	assert_int_equal(cfg.n, 2);
	config_free(&cfg);
	config_free(&back);
}

/* test_resolve - flag > environment > file, and the stored token stays with its URL */
static void test_resolve(void **state)
{
	static const struct {
		const char *name;
		struct config_sources url, token;
		const char *want_url, *url_from, *want_token, *token_from;
		bool withheld;
	} cases[] = {
		{"flag wins", {"http://f", "http://e", "http://c"}, {"tf", "te", "tc"},
		 "http://f", "--url", "tf", "--token", false},
		{"env beats file", {NULL, "http://e", "http://c"}, {NULL, "te", "tc"},
		 "http://e", "VRCLI_URL", "te", "VRCLI_TOKEN", false},
		{"file alone", {NULL, NULL, "http://c"}, {NULL, NULL, "tc"},
		 "http://c", "the config file", "tc", "the config file", false},
		{"empty counts as absent", {"", "", "http://c"}, {"", "", "tc"},
		 "http://c", "the config file", "tc", "the config file", false},
		{"stored token withheld from another URL", {"http://other", NULL, "http://c"},
		 {NULL, NULL, "tc"}, "http://other", "--url", NULL, NULL, true},
		{"same URL but for a trailing slash", {NULL, "http://c/", "http://c"},
		 {NULL, NULL, "tc"}, "http://c/", "VRCLI_URL", "tc", "the config file", false},
		{"stored token without a stored URL", {"http://f", NULL, NULL}, {NULL, NULL, "tc"},
		 "http://f", "--url", "tc", "the config file", false},
		{"env token goes to any URL", {"http://other", NULL, "http://c"},
		 {NULL, "te", "tc"}, "http://other", "--url", "te", "VRCLI_TOKEN", false},
		{"nothing at all", {NULL, NULL, NULL}, {NULL, NULL, NULL}, NULL, NULL, NULL, NULL,
		 false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_choice c;

		config_resolve(&c, &cases[i].url, &cases[i].token);
#define SAME(got, want)                                                                    \
	do {                                                                               \
		if (!((got) == NULL && (want) == NULL) &&                                  \
		    ((got) == NULL || (want) == NULL || strcmp((got), (want)) != 0))       \
			fail_msg("case '%s': %s is '%s', want '%s'", cases[i].name, #got,  \
				 (got) ? (got) : "(null)", (want) ? (want) : "(null)");    \
	} while (0)
		SAME(c.url, cases[i].want_url);
		SAME(c.url_from, cases[i].url_from);
		SAME(c.token, cases[i].want_token);
		SAME(c.token_from, cases[i].token_from);
#undef SAME
		assert_int_equal(c.file_token_withheld, cases[i].withheld);
	}
	assert_true(config_same_url("http://a//", "http://a"));
	assert_false(config_same_url("http://a", "http://ab"));
}

/* count_entries - entries in directory DIR other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* test_save_load - atomic save with the right modes, load back, missing file is empty */
static void test_save_load(void **state)
{
	char root[] = "/tmp/test_vrcli_config.XXXXXX";
	char *dir, *path, err[512];
	struct config cfg = {0}, back = {0}, none = {0};
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_true(asprintf(&dir, "%s/home/.config/vrcli", root) > 0);
	assert_true(asprintf(&path, "%s/config", dir) > 0);

	assert_int_equal(config_load(&none, path, err, sizeof(err)), VRCLI_EXIT_OK);
	assert_int_equal(none.n, 0);

	config_set(&cfg, "url", "http://127.0.0.1:8080");
	config_set(&cfg, "token", "vrt_secret");
	assert_int_equal(config_save(&cfg, path, err, sizeof(err)), VRCLI_EXIT_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */

	/* an existing file and directory that are too open get tightened */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(config_load(&back, path, err, sizeof(err)), VRCLI_EXIT_OK);
	assert_true(back.loose_mode);
	assert_string_equal(config_get(&back, "token"), "vrt_secret");
	assert_string_equal(config_get(&back, "url"), "http://127.0.0.1:8080");
	config_set(&back, "token", NULL);
	assert_int_equal(config_save(&back, path, err, sizeof(err)), VRCLI_EXIT_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	config_free(&back);
	assert_int_equal(config_load(&back, path, err, sizeof(err)), VRCLI_EXIT_OK);
	assert_false(back.loose_mode);
	assert_null(config_get(&back, "token"));
	config_free(&back);

	/* a syntax error names the file and the line */
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("url = x\nnonsense\n", f);
	fclose(f);
	assert_int_equal(config_load(&back, path, err, sizeof(err)), VRCLI_EXIT_OTHER);
	assert_non_null(strstr(err, ":2: expected 'key = value'"));
	config_free(&back);

	/* a relative path is refused, not written somewhere surprising */
	assert_int_equal(config_save(&cfg, "config", err, sizeof(err)), VRCLI_EXIT_OTHER);

	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
	assert_true(asprintf(&dir, "rm -rf '%s'", root) > 0);
	assert_int_equal(system(dir), 0);
	free(dir);
	config_free(&cfg);
}

/* main - run the vrcli_config tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_set_render),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests_name("vrcli_config", tests, NULL, NULL);
}
