/*
 * test_vrcli_list.c - tests for the pure helpers of vrcli's mail commands: ID lists for
 * `quarantine bulk` (vrcli/idlist.c), the tables of `messages`, `stats` and `quarantine`
 * (vrcli/view.c, with table.c's blank continuation cells), the line of `quarantine
 * unsubscribe` (view.c) and the scrubbing of a preview's multi-line text (text.c).
 *
 * Table-driven: input text or JSON in, the exact JSON or printed table out.
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

#include "idlist.h"
#include "table.h"
#include "text.h"
#include "view.h"

/* compact - J as compact JSON (malloc'd) */
static char *compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	assert_non_null(s);
	return s;
}

/* load - TEXT as JSON; fails the test when it is not */
static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (j == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	return j;
}

/* printed - T as table_print() writes it (malloc'd); T is freed */
static char *printed(struct table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	table_print(t, f);
	fclose(f);
	table_free(t);
	return buf;
}

static const struct {
	const char *text;
	const char *json; /* NULL: an error is expected */
	const char *err;
} parse_cases[] = {
	{"abc\ndef\n", "[\"abc\",\"def\"]", NULL},
	{"abc\ndef", "[\"abc\",\"def\"]", NULL},
	{"  abc  \r\n\tdef\r\n", "[\"abc\",\"def\"]", NULL},
	{"# from quarantine list\n\nabc\n   \n#def\nghi\n", "[\"abc\",\"ghi\"]", NULL},
	{"abc\nabc\ndef\nabc\n", "[\"abc\",\"def\"]", NULL}, /* once per message */
	{"", "[]", NULL},
	{"\n\n", "[]", NULL},
	{"abc\nd e\n", NULL, "line 2: 'd e' is not one ID"},
	{"abc\n\n x\ty \n", NULL, "line 3: 'x\ty' is not one ID"},
	{"abc\n\xff\n", NULL, "line 2: not UTF-8"},
};

/* test_idlist_parse - IDs files: trimming, comments, duplicates, errors */
static void test_idlist_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		struct idlist l;
		char err[256] = "";
		bool ok;

		idlist_init(&l);
		ok = idlist_parse(&l, parse_cases[i].text, strlen(parse_cases[i].text), err,
				  sizeof(err));
		if (parse_cases[i].json == NULL) {
			if (ok)
				fail_msg("case %zu: no error", i);
			assert_string_equal(err, parse_cases[i].err);
		} else {
			char *got;

			if (!ok)
				fail_msg("case %zu: %s", i, err);
			got = compact(l.ids);
			assert_string_equal(got, parse_cases[i].json);
			free(got);
		}
		idlist_free(&l);
	}
}

/* test_idlist_nul - a NUL byte is not text, and the line says where */
static void test_idlist_nul(void **state)
{
	static const char text[] = "abc\ndef\nx\0y\n";
	struct idlist l;
	char err[128] = "";

	(void)state;
	idlist_init(&l);
	assert_false(idlist_parse(&l, text, sizeof(text) - 1, err, sizeof(err)));
	assert_string_equal(err, "line 3: not a text file (NUL byte)");
	idlist_free(&l);
}

/* test_idlist_batches - arguments and file merge without duplicates; batches cut evenly */
static void test_idlist_batches(void **state)
{
	struct idlist l;
	char id[32], err[64];
	json_t *b;
	char *s;

	(void)state;
	idlist_init(&l);
	assert_true(idlist_add(&l, "b"));
	assert_true(idlist_parse(&l, "a\nb\nc\n", 6, err, sizeof(err)));
	assert_true(idlist_add(&l, "a"));
	assert_false(idlist_add(&l, "\xc3"));
	assert_int_equal(idlist_count(&l), 3);
	s = compact(l.ids);
	assert_string_equal(s, "[\"b\",\"a\",\"c\"]");
	free(s);
	b = idlist_batch(&l, 2, 1000);
	s = compact(b);
	assert_string_equal(s, "[\"c\"]");
	free(s);
	json_decref(b);
	b = idlist_batch(&l, 3, 10);
	assert_int_equal(json_array_size(b), 0);
	json_decref(b);
	idlist_free(&l);

	idlist_init(&l);
	for (int i = 0; i < 2500; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		assert_true(idlist_add(&l, id));
	}
	for (size_t from = 0, k = 0; from < idlist_count(&l); from += 1000, k++) {
		b = idlist_batch(&l, from, 1000);
		assert_int_equal(json_array_size(b), k < 2 ? 1000 : 500);
		snprintf(id, sizeof(id), "id%zu", from);
		assert_string_equal(json_string_value(json_array_get(b, 0)), id);
		json_decref(b);
	}
	idlist_free(&l);
}

/* test_counts - counters in the API's order; nothing for an empty object */
static void test_counts(void **state)
{
	json_t *o = load("{\"spam\": 3, \"virus\": 1, \"newsletter\": 0}");
	char *s = view_counts(o);

	(void)state;
	assert_string_equal(s, "spam 3, virus 1, newsletter 0");
	free(s);
	json_decref(o);
	o = load("{}");
	assert_null(view_counts(o));
	json_decref(o);
	assert_null(view_counts(NULL));
}

/* test_messages - a message line, then its recipients under it with blank first columns */
static void test_messages(void **state)
{
	json_t *items = load(
		"[{\"id\": \"m1\", \"received_at\": \"2026-11-28T01:02:03Z\", \"direction\": "
		"\"inbound\", \"sender\": \"news@shop.test\", \"subject\": \"Big\\u001b[2J sale\", "
		"\"recipients\": [{\"address\": \"alice@corp.test\", \"action\": \"quarantine\", "
		"\"category\": \"spam\", \"reason\": null, \"quarantine_id\": \"Q1\"}, "
		"{\"address\": \"bob@corp.test\", \"action\": \"deliver\", \"category\": "
		"\"clean\", \"reason\": \"allow list\", \"quarantine_id\": null}]}, "
		"{\"id\": \"m2\", \"received_at\": \"2026-11-28T01:00:00Z\", \"direction\": "
		"\"outbound\", \"sender\": \"\", \"subject\": null, \"recipients\": "
		"[{\"address\": \"x@remote.test\", \"action\": \"reject\", \"category\": "
		"\"virus\"}]}]");
	char *s = printed(view_messages(items));

	(void)state;
	assert_string_equal(
		s, "TIME                  DIRECTION  SENDER/RECIPIENT  SUBJECT/ACTION (CATEGORY)\n"
		   "2026-11-28T01:02:03Z  inbound    news@shop.test    Big [2J sale\n"
		   "                                 alice@corp.test   quarantine (spam), "
		   "quarantine Q1\n"
		   "                                 bob@corp.test     deliver (clean): allow list\n"
		   "2026-11-28T01:00:00Z  outbound   <>                -\n"
		   "                                 x@remote.test     reject (virus)\n");
	free(s);
	json_decref(items);
	items = load("[]");
	struct table *t = view_messages(items);

	assert_int_equal(table_rows(t), 0);
	table_free(t);
	json_decref(items);
}

/* test_blank_cells - blank cells print nothing, and nothing trails a row */
static void test_blank_cells(void **state)
{
	struct table *t = table_new(3, (const char *[]){"A", "B", "C"});
	char *s;

	(void)state;
	table_add(t, (const char *[]){"1", table_blank, table_blank});
	table_add(t, (const char *[]){table_blank, "22", NULL});
	table_add(t, (const char *[]){"", table_blank, "3"});
	s = printed(t);
	assert_string_equal(s, "A  B   C\n"
			       "1\n"
			       "   22  -\n"
			       "-      3\n");
	free(s);
}

/* test_stats - the Stats object as rows; empty counters read "none" */
static void test_stats(void **state)
{
	json_t *st = load("{\"since\": \"2026-11-27T00:00:00Z\", \"until\": "
			  "\"2026-11-28T00:00:00Z\", \"by_action\": {\"deliver\": 8, "
			  "\"quarantine\": 2}, \"by_category\": {}, \"messages_by_direction\": "
			  "{\"inbound\": 9, \"outbound\": 1}}");
	char *s = printed(view_stats(st));

	(void)state;
	assert_string_equal(s, "since:       2026-11-27T00:00:00Z\n"
			       "until:       2026-11-28T00:00:00Z\n"
			       "messages:    inbound 9, outbound 1\n"
			       "actions:     deliver 8, quarantine 2\n"
			       "categories:  none\n");
	free(s);
	json_decref(st);
}

/* test_quarantine - one row per item; a missing score is "-" */
static void test_quarantine(void **state)
{
	json_t *items = load(
		"[{\"id\": \"Q1\", \"recipient\": \"alice@corp.test\", \"status\": \"held\", "
		"\"category\": \"spam\", \"direction\": \"inbound\", \"received_at\": "
		"\"2026-11-28T01:02:03Z\", \"sender\": \"a@b.test\", \"from\": null, \"subject\": "
		"\"Hi\", \"score\": 9.5, \"virus\": null, \"size\": 100}, {\"id\": \"Q2\", "
		"\"recipient\": \"bob@corp.test\", \"status\": \"released\", \"category\": "
		"\"newsletter\", \"received_at\": \"2026-11-28T01:00:00Z\", \"sender\": null, "
		"\"subject\": null, \"score\": null}]");
	char *s = printed(view_quarantine(items));

	(void)state;
	assert_string_equal(
		s,
		"ID  RECEIVED              CATEGORY    STATUS    SCORE  RECIPIENT        SENDER    "
		"SUBJECT\n"
		"Q1  2026-11-28T01:02:03Z  spam        held      9.5    alice@corp.test  a@b.test  "
		"Hi\n"
		"Q2  2026-11-28T01:00:00Z  newsletter  released  -      bob@corp.test    -         "
		"-\n");
	free(s);
	json_decref(items);
}

/* test_quarantine_detail - recipients, unsubscribe, headers, attachments spelled out */
static void test_quarantine_detail(void **state)
{
	json_t *d = load(
		"{\"id\": \"Q1\", \"category\": \"spam\", \"score\": 7, \"symbols\": [\"A\", "
		"\"B\"], \"unsubscribe\": {\"target\": \"https://u.test/x\", \"one_click\": true}, "
		"\"recipients\": [{\"address\": \"a@c.test\", \"status\": \"held\"}, {\"address\": "
		"\"b@c.test\", \"status\": \"released\"}], \"headers\": {\"subject\": \"Hi\", "
		"\"from\": null, \"to\": [\"a@c.test\", \"b@c.test\"], \"cc\": [], \"date\": "
		"\"Sat, 28 Nov 2026\"}, \"attachments\": [{\"filename\": \"x.pdf\", "
		"\"content_type\": \"application/pdf\", \"size\": 12, \"disposition\": "
		"\"attachment\"}, {\"filename\": null, \"content_type\": \"image/png\", \"size\": "
		"3, \"disposition\": \"\"}]}");
	char *s = printed(view_quarantine_detail(d));

	(void)state;
	assert_string_equal(s, "id:              Q1\n"
			       "category:        spam\n"
			       "score:           7\n"
			       "symbols:         A, B\n"
			       "unsubscribe:     https://u.test/x (one-click)\n"
			       "recipients:      a@c.test (held), b@c.test (released)\n"
			       "header.subject:  Hi\n"
			       "header.to:       a@c.test, b@c.test\n"
			       "header.date:     Sat, 28 Nov 2026\n"
			       "attachment:      x.pdf (application/pdf, 12 bytes, attachment)\n"
			       "attachment:      (no name) (image/png, 3 bytes)\n");
	free(s);
	json_decref(d);
	d = load("{\"id\": \"Q2\", \"unsubscribe\": {\"target\": null, \"one_click\": false}, "
		 "\"headers\": null, \"attachments\": []}");
	s = printed(view_quarantine_detail(d));
	assert_string_equal(s, "id:           Q2\n"
			       "unsubscribe:  -\n"
			       "headers:      -\n"
			       "attachments:  -\n");
	free(s);
	json_decref(d);
}

/* test_recipients_and_bulk - the outcome tables of the actions */
static void test_recipients_and_bulk(void **state)
{
	json_t *r = load("[{\"address\": \"a@c.test\", \"status\": \"released\"}]");
	char *s = printed(view_recipients(r));

	(void)state;
	assert_string_equal(s, "RECIPIENT  STATUS\n"
			       "a@c.test   released\n");
	free(s);
	json_decref(r);
	r = load("[{\"id\": \"Q1\", \"status\": 200, \"code\": \"ok\", \"detail\": null}, "
		 "{\"id\": \"Q9\", \"status\": 404, \"code\": \"not-found\", \"detail\": \"no "
		 "such item\"}]");
	s = printed(view_bulk(r));
	assert_string_equal(s, "ID  STATUS  CODE       DETAIL\n"
			       "Q1  200     ok         -\n"
			       "Q9  404     not-found  no such item\n");
	free(s);
	json_decref(r);
}

/* test_unsubscribed - the outcome line of a one-click unsubscribe, scrubbed */
static void test_unsubscribed(void **state)
{
	static const struct {
		const char *json, *line; /* line NULL: no line */
	} cases[] = {
		{"{\"id\": \"Q1\", \"action\": \"unsubscribe\", \"http_status\": 200, "
		 "\"target\": \"https://shop.test/u?1\"}",
		 "Unsubscribed from Q1: https://shop.test/u?1 answered HTTP 200."},
		{"{\"id\": \"Q2\", \"http_status\": 204, \"target\": "
		 "\"https://x.test/\\u001b[2J\\r\\nfake\"}",
		 "Unsubscribed from Q2: https://x.test/ [2J  fake answered HTTP 204."},
		{"{}", "Unsubscribed from -: the sender answered HTTP -."},
		{"[]", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = load(cases[i].json);
		char *line = view_unsubscribed(j);

		if (cases[i].line == NULL)
			assert_null(line);
		else if (line == NULL || strcmp(line, cases[i].line) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, line ? line : "(null)",
				 cases[i].line);
		free(line);
		json_decref(j);
	}
}

/* test_scrub_lines - newlines and tabs stay, CRLF becomes LF, other controls spaces */
static void test_scrub_lines(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"Hello\r\nWorld\r\n", "Hello\nWorld\n"},
		{"a\tb\nc", "a\tb\nc"},
		{"\x1b[31mred\x1b[0m", " [31mred [0m"},
		{"lone\rcr", "lone cr"},
		{"end\r", "end "},
		{"c1 \xc2\x9b" "2J", "c1   2J"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},
		{"\x7f", " "},
		{"", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = strdup(cases[i].in);

		assert_non_null(s);
		assert_ptr_equal(text_scrub_lines(s), s);
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, s, cases[i].out);
		free(s);
	}
}

/* main - run the vrcli_list tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idlist_parse),
		cmocka_unit_test(test_idlist_nul),
		cmocka_unit_test(test_idlist_batches),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_blank_cells),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_quarantine_detail),
		cmocka_unit_test(test_recipients_and_bulk),
		cmocka_unit_test(test_unsubscribed),
		cmocka_unit_test(test_scrub_lines),
	};

	return cmocka_run_group_tests_name("vrcli_list", tests, NULL, NULL);
}
