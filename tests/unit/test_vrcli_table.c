/*
 * test_vrcli_table.c - tests for vrcli/table.c (and the text.c helpers it uses).
 *
 * Table-driven: each case is a header row, up to three data rows and the exact text the
 * printer must produce. Covers column widths, the "-" for empty cells, UTF-8 width,
 * control-character scrubbing and the absence of trailing blanks.
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

#include "table.h"
#include "text.h"

#define COLS 3

struct table_case {
	const char *name;
	const char *headers[COLS]; /* headers[0] == NULL: no header row */
	const char *rows[3][COLS]; /* rows[i][0] == NULL && rows[i][1] == NULL: end */
	size_t nrows;
	const char *want;
};

static const struct table_case cases[] = {
	{"widths from the widest cell",
	 {"ID", "NAME", "ROLE"},
	 {{"1", "alice", "admin"}, {"22", "b", "user"}},
	 2,
	 "ID  NAME   ROLE\n"
	 "1   alice  admin\n"
	 "22  b      user\n"},
	{"header wider than cells",
	 {"IDENTIFIER", "N", "LAST USED"},
	 {{"x", "y", "z"}},
	 1,
	 "IDENTIFIER  N  LAST USED\n"
	 "x           y  z\n"},
	{"empty and NULL cells print as a dash",
	 {"A", "B", "C"},
	 {{"", NULL, "c"}},
	 1,
	 "A  B  C\n"
	 "-  -  c\n"},
	{"UTF-8 counts one column per code point",
	 {"USER", "X", "Y"},
	 {{"\xc3\xa9lodie", "1", "2"}, {"bob", "3", "4"}},
	 2,
	 "USER    X  Y\n"
	 "\xc3\xa9lodie  1  2\n"
	 "bob     3  4\n"},
	{"control characters are scrubbed",
	 {"A", "B", "C"},
	 {{"x\x1b[2Jy", "line\nbreak", "tab\there"}},
	 1,
	 "A       B           C\n"
	 "x [2Jy  line break  tab here\n"},
	{"no header row",
	 {NULL, NULL, NULL},
	 {{"role:", "admin", "x"}, {"username:", "root", "y"}},
	 2,
	 "role:      admin  x\n"
	 "username:  root   y\n"},
	{"no data rows prints the header only",
	 {"A", "BB", "C"},
	 {{NULL, NULL, NULL}},
	 0,
	 "A  BB  C\n"},
};

/* render - print TABLE into a string the caller frees */
static char *render(const struct table *t)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	table_print(t, f);
	fclose(f);
	return out;
}

/* test_cases - every case of cases[] prints exactly its expected text */
static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct table_case *c = &cases[i];
		struct table *t = table_new(COLS, c->headers[0] ? c->headers : NULL);
		char *out;

		for (size_t r = 0; r < c->nrows; r++)
			table_add(t, c->rows[r]);
		assert_int_equal(table_rows(t), c->nrows);
		out = render(t);
		if (strcmp(out, c->want) != 0)
			fail_msg("case '%s':\n got:\n%s\nwant:\n%s", c->name, out, c->want);
		free(out);
		table_free(t);
	}
}

/* test_cells_are_copied - the table keeps its own copies of the cells */
static void test_cells_are_copied(void **state)
{
	char buf[8] = "abc";
	struct table *t = table_new(1, NULL);
	char *out;

	(void)state;
	table_add(t, (const char *[]){buf});
	strcpy(buf, "zzz");
	out = render(t);
	assert_string_equal(out, "abc\n");
	free(out);
	table_free(t);
	table_free(NULL);
}

/* test_text - scrubbing of C0/DEL/C1 characters and display width */
static void test_text(void **state)
{
	char s1[] = "a\x7f" "b\x01";
	char s2[] = "x\xc2\x9b" "31m";	  /* C1 CSI */
	char s3[] = "caf\xc3\xa9 \xc2\xa0"; /* é and a no-break space are not controls */

	(void)state;
	assert_string_equal(text_scrub(s1), "a b ");
	assert_string_equal(text_scrub(s2), "x  31m");
	assert_string_equal(text_scrub(s3), "caf\xc3\xa9 \xc2\xa0");
	assert_int_equal(text_width(""), 0);
	assert_int_equal(text_width("abc"), 3);
	assert_int_equal(text_width("caf\xc3\xa9"), 4);
	assert_int_equal(text_width("\xe2\x82\xac"), 1); /* euro sign */
}

/* main - run the vrcli_table tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cells_are_copied),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests_name("vrcli_table", tests, NULL, NULL);
}
