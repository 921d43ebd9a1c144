/* test_mime_view.c - apid/mime_view.c: what users see of a quarantined message.
 *
 * table_cases: messages (C strings, or files under tests/unit/golden/mime/) with the fields
 * they must give, addressed by path ("headers.to.1", "attachments.0.size", "preview.text").
 * golden_files: the whole JSON of every golden/mime/<case>.eml against <case>.json
 * (VR_UPDATE_GOLDEN=1 rewrites them: review the diff!). Generated inputs: empty file, 2000
 * headers, 5 MB bodies, deep nesting, unreadable paths. mutations: a few hundred truncated or
 * damaged variants that must keep the invariants (run under ASan/LSan). concurrent: several
 * threads load the same files and must agree with a sequential run.
 * Every result, whatever the test, goes through check_invariants().
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm.h"
#include "mime_view.h"

#ifndef VR_GOLDEN_DIR
#error "VR_GOLDEN_DIR must name tests/unit/golden/mime"
#endif

#define PMAX	   2000	       /* preview_max unless a case says otherwise */
#define LIMIT	   (32u << 20) /* file read limit unless a case says otherwise */
#define MIN_GOLDEN 6	       /* .eml cases golden/mime must hold at least */
#ifndef MUTATIONS
#define MUTATIONS 400 /* -DMUTATIONS=100000 for a longer soak */
#endif
#define THREADS	     4
#define THREAD_LOOPS 10

static char tmpdir[256]; /* short: paths under it fit PATH_MAX */

/* ---- helpers ---- */

/* write_tmp - data into a new file under tmpdir; its path in path[PATH_MAX] */
static void write_tmp(const void *data, size_t len, char path[PATH_MAX])
{
	FILE *f;
	int fd;

	snprintf(path, PATH_MAX, "%s/msg.XXXXXX", tmpdir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* read_all - a whole file (NUL-terminated, *len bytes) or NULL; the caller frees it */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t r = fread(buf + n, 1, 4096, f);

		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* utf8_ok - whether s[0..n) is valid UTF-8 (shortest forms, no surrogates) */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + need >= n)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* check_string - one string of the view: valid UTF-8, no NUL, no C0 but \t (\n too when
 * multiline), at most max bytes */
static void check_string(const json_t *s, const char *where, bool multiline, size_t max)
{
	const char *v = json_string_value(s);
	size_t n = json_string_length(s);

	if (v == NULL)
		fail_msg("%s: not a string", where);
	if (n > max)
		fail_msg("%s: %zu bytes, at most %zu", where, n, max);
	if (!utf8_ok((const unsigned char *)v, n))
		fail_msg("%s: invalid UTF-8", where);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 || c == 0x7f) && c != '\t' && !(multiline && c == '\n'))
			fail_msg("%s: control 0x%02x at byte %zu", where, c, i);
	}
}

/* check_nullable - a string as check_string, or null */
static void check_nullable(const json_t *s, const char *where, size_t max)
{
	if (s == NULL)
		fail_msg("%s: missing", where);
	if (!json_is_null(s))
		check_string(s, where, false, max);
}

/* check_invariants - the shape and the safety promises of mime_view.h, for any input */
static void check_invariants(const json_t *v, size_t pmax)
{
	static const char *const fields[] = {
	    "subject", "from",	     "from_address",	 "reply_to",
	    "date",    "message_id", "list_unsubscribe", "list_unsubscribe_post",
	    "list_id"};
	const json_t *h = json_object_get(v, "headers"), *p = json_object_get(v, "preview");
	const json_t *all = json_object_get(v, "all_headers");
	const json_t *att = json_object_get(v, "attachments"), *e;
	const char *src;
	size_t i;

	assert_true(json_is_object(v));
	assert_true(json_is_object(h));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		check_nullable(json_object_get(h, fields[i]), fields[i], 64 * 1024);
	for (int k = 0; k < 2; k++) {
		const json_t *list = json_object_get(h, k ? "cc" : "to");

		assert_true(json_is_array(list));
		assert_true(json_array_size(list) <= 200);
		for (i = 0; i < json_array_size(list); i++)
			check_string(json_array_get(list, i), k ? "cc[]" : "to[]", false, 4096);
	}
	assert_true(json_is_array(all));
	assert_true(json_array_size(all) <= 200);
	for (i = 0; i < json_array_size(all); i++) {
		e = json_array_get(all, i);
		check_string(json_object_get(e, "name"), "all_headers[].name", false, 1024);
		check_string(json_object_get(e, "value"), "all_headers[].value", false, 4096);
	}
	assert_true(json_is_array(att));
	for (i = 0; i < json_array_size(att); i++) {
		const char *d;

		e = json_array_get(att, i);
		d = json_string_value(json_object_get(e, "disposition"));

		check_nullable(json_object_get(e, "filename"), "attachments[].filename", 1024);
		check_string(json_object_get(e, "content_type"), "attachments[].content_type",
			     false, 1024);
		assert_true(json_is_integer(json_object_get(e, "size")));
		assert_true(json_integer_value(json_object_get(e, "size")) >= 0);
		assert_non_null(d);
		assert_true(!strcmp(d, "attachment") || !strcmp(d, "inline"));
	}
	assert_true(json_is_object(p));
	check_string(json_object_get(p, "text"), "preview.text", true, pmax);
	assert_true(json_is_boolean(json_object_get(p, "truncated")));
	src = json_string_value(json_object_get(p, "source"));
	assert_non_null(src);
	assert_true(!strcmp(src, "text/plain") || !strcmp(src, "text/html") ||
		    !strcmp(src, "none"));
}

/* view_bytes - mime_view_load of data (through a temp file), invariants checked */
static json_t *view_bytes(const void *data, size_t len, size_t limit, size_t pmax)
{
	char path[PATH_MAX], err[256];
	json_t *v;

	write_tmp(data, len, path);
	v = mime_view_load(path, limit, pmax, err, sizeof(err));
	unlink(path);
	if (v == NULL)
		fail_msg("mime_view_load: %s", err);
	check_invariants(v, pmax);
	return v;
}

/* view_file - mime_view_load of a golden input, invariants checked */
static json_t *view_file(const char *name, size_t pmax)
{
	char path[PATH_MAX], err[256];
	json_t *v;

	snprintf(path, sizeof(path), "%s/%s", VR_GOLDEN_DIR, name);
	v = mime_view_load(path, LIMIT, pmax, err, sizeof(err));
	if (v == NULL)
		fail_msg("%s: %s", path, err);
	check_invariants(v, pmax);
	return v;
}

/* jpath - the node at a dotted path ("attachments.0.size"), or NULL */
static const json_t *jpath(const json_t *v, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(t, NULL, 10))
				     : json_object_get(v, t);
	return v;
}

/* render - a node as the text the table compares: strings as is, null as NULL, numbers and
 * booleans as written, arrays as "[length]"; buf holds the non-string renderings */
static const char *render(const json_t *n, char *buf, size_t sz)
{
	if (json_is_string(n))
		return json_string_value(n);
	if (json_is_integer(n))
		snprintf(buf, sz, "%lld", (long long)json_integer_value(n));
	else if (json_is_boolean(n))
		snprintf(buf, sz, "%s", json_is_true(n) ? "true" : "false");
	else if (json_is_array(n))
		snprintf(buf, sz, "[%zu]", json_array_size(n));
	else if (json_is_null(n))
		return NULL;
	else
		snprintf(buf, sz, "<missing>");
	return buf;
}

/* ---- table cases ---- */

enum op { EQ, HAS, LACKS };

struct check {
	const char *path;
	enum op op;
	const char *want; /* EQ: NULL for JSON null */
};

struct mcase {
	const char *name;
	const char *file; /* under VR_GOLDEN_DIR, or: */
	const char *msg;
	size_t len;
	size_t pmax;  /* 0: PMAX */
	size_t limit; /* 0: LIMIT */
	struct check c[20];
};

#define MSG(s) .msg = (s), .len = sizeof(s) - 1
#define FFFD   "\xef\xbf\xbd"

static const struct mcase cases[] = {
    {"Q-encoded French subject and from",
     MSG("From: =?UTF-8?Q?=C3=89lodie_Martin?= <e@x.test>\r\n"
	 "To: a@x.test, =?UTF-8?Q?Ren=C3=A9?= <r@x.test>\r\n"
	 "Subject: =?UTF-8?Q?R=C3=A9union?=\r\n"
	 "Date: Tue, 1 Jul 2025 10:00:00 +0200\r\n"
	 "Message-ID: <abc@x.test>\r\n"
	 "\r\n"
	 "Bonjour\r\n"),
     .c = {{"headers.subject", EQ, "R\xc3\xa9union"},
	   {"headers.from", EQ, "\xc3\x89lodie Martin <e@x.test>"},
	   {"headers.from_address", EQ, "e@x.test"},
	   {"headers.to", EQ, "[2]"},
	   {"headers.to.0", EQ, "a@x.test"},
	   {"headers.to.1", EQ, "Ren\xc3\xa9 <r@x.test>"},
	   {"headers.cc", EQ, "[0]"},
	   {"headers.reply_to", EQ, NULL},
	   {"headers.date", EQ, "2025-07-01T08:00:00Z"},
	   {"headers.message_id", EQ, "abc@x.test"},
	   {"headers.list_id", EQ, NULL},
	   {"all_headers", EQ, "[5]"},
	   {"all_headers.1.value", EQ, "a@x.test, Ren\xc3\xa9 <r@x.test>"},
	   {"preview.text", EQ, "Bonjour"},
	   {"preview.source", EQ, "text/plain"},
	   {"preview.truncated", EQ, "false"}}},
    {"B-encoded UTF-8 and ISO-8859-1 words, folded",
     MSG("Subject: =?UTF-8?B?UsOpdW5pb24=?=\r\n =?ISO-8859-1?B?IGQn6XTp?=\r\n"
	 "\r\nx\r\n"),
     .c = {{"headers.subject", EQ, "R\xc3\xa9union d'\xc3\xa9t\xc3\xa9"}}},
    {"Q-encoded ISO-8859-1, lower case, with plain words around",
     MSG("Subject: Re: =?iso-8859-1?q?caf=E9_cr=E8me?= du jour\r\n\r\n"),
     .c = {{"headers.subject", EQ, "Re: caf\xc3\xa9 cr\xc3\xa8me du jour"},
	   {"preview.text", EQ, ""}}},
    {"raw 8-bit Latin-1 subject",
     MSG("Subject: R\xe9union \xe0 Paris\r\nFrom: Fran\xe7ois <f@x.test>\r\n\r\nx"),
     .c = {{"headers.subject", EQ, "R\xc3\xa9union \xc3\xa0 Paris"},
	   {"headers.from", EQ, "Fran\xc3\xa7ois <f@x.test>"}}},
    {"raw 8-bit UTF-8 subject", MSG("Subject: R\xc3\xa9union \xe2\x82\xac\r\n\r\nx"),
     .c = {{"headers.subject", EQ, "R\xc3\xa9union \xe2\x82\xac"}}},
    {"Latin-1 body (file)", .file = "latin1_body.eml",
     .c = {{"headers.subject", EQ, "R\xc3\xa9union d'\xc3\xa9t\xc3\xa9"},
	   {"headers.from", EQ, "Fran\xc3\xa7ois <f@x.test>"},
	   {"preview.text", EQ, "La r\xc3\xa9union d'\xc3\xa9t\xc3\xa9 aura lieu \xc3\xa0 10h."}}},
    {"unlabelled 8-bit body is Latin-1 unless valid UTF-8",
     MSG("Subject: x\r\n\r\ncaf\xe9 \x80\r\n"),
     .c = {{"preview.text", EQ, "caf\xc3\xa9 \xc2\x80"}}},
    {"unlabelled UTF-8 body", MSG("Subject: x\r\n\r\ncaf\xc3\xa9\r\n"),
     .c = {{"preview.text", EQ, "caf\xc3\xa9"}}},
    {"invalid sequences in a UTF-8 body are replaced",
     MSG("Content-Type: text/plain; charset=utf-8\r\n\r\nok \xff\xc3 end \xed\xa0\x80.\r\n"),
     .c = {{"preview.text", EQ, "ok " FFFD FFFD " end " FFFD FFFD FFFD "."}}},
    {"base64 body, unknown charset falls back",
     MSG("Content-Type: text/plain; charset=x-no-such-charset\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\nQm9uam91ciDDqXTDqQ==\r\n"),
     .c = {{"preview.text", EQ, "Bonjour \xc3\xa9t\xc3\xa9"}}},
    {"multipart/alternative: the plain part (file)", .file = "alternative.eml",
     .c = {{"preview.source", EQ, "text/plain"},
	   {"preview.text", HAS, "Bonjour Ren\xc3\xa9,\n\nLes soldes d'\xc3\xa9t\xc3\xa9"},
	   {"preview.text", HAS, "jusqu'\xc3\xa0 -50 % sur tout le magasin."},
	   {"preview.text", LACKS, "HTML version"},
	   {"headers.subject", EQ,
	    "Soldes d'\xc3\xa9t\xc3\xa9 \xe2\x80\x93 jusqu'\xc3\xa0 -50\xc2\xa0%"},
	   {"headers.from", EQ, "Boutique \xc3\x89t\xc3\xa9 <news@shop.test>"},
	   {"headers.to.0", EQ, "Ren\xc3\xa9 Dupont <rene@corp.test>"},
	   {"headers.cc.0", EQ, "\"Martin, Bob\" <bob@corp.test>"},
	   {"headers.reply_to", EQ, "support@shop.test"},
	   {"headers.date", EQ, "2025-07-01T08:00:00Z"},
	   {"headers.list_id", EQ, "Newsletter Boutique <news.shop.test>"},
	   {"headers.list_unsubscribe", HAS, "<https://shop.test/u/abc>"},
	   {"headers.list_unsubscribe_post", EQ, "List-Unsubscribe=One-Click"},
	   {"all_headers.0.name", EQ, "Return-Path"},
	   {"all_headers", EQ, "[14]"},
	   {"all_headers.13.name", EQ, "Content-Type"},
	   {"attachments", EQ, "[0]"}}},
    {"HTML only: scripts, styles, head, comments dropped (file)", .file = "html_only.eml",
     .c = {{"preview.source", EQ, "text/html"},
	   {"preview.text", LACKS, "alert"},
	   {"preview.text", LACKS, "scripted"},
	   {"preview.text", LACKS, "styled"},
	   {"preview.text", LACKS, "Secret title"},
	   {"preview.text", LACKS, "comment"},
	   {"preview.text", LACKS, "tracker.spam.test"},
	   {"preview.text", LACKS, "\n\n\n"},
	   {"preview.text", HAS,
	    "Caf\xc3\xa9 & cr\xc3\xa8me\n\nPrice: 10\xe2\x82\xac <not a tag> "
	    "\"quoted\" 'single' \xc3\xa9\xc3\xa9 \xe2\x80\x93 "
	    "na\xc3\xafve spaced\n\nLine one\nLine two\nLine three"},
	   {"preview.text", HAS, "first\nsecond\ncell a cell b\ncell c"},
	   {"preview.text", HAS,
	    "Click here [link: https://login.spam.test/?a=1&b=2] or "
	    "https://corp.test/."},
	   {"preview.text", HAS, "Caf\xc3\xa9 is windows-1252 here"},
	   {"headers.date", EQ, "2025-07-03T04:59:59Z"}}},
    {"HTML edge cases: entities, unclosed script",
     MSG("Content-Type: text/html\r\n\r\n"
	 "<p>&#0;&#xD800;&#99999999999;&bogus; AT&T &amp &#x; &</p>"
	 "<pre>  a\n  b</pre>x<b\n>y</b>&lt;<p>visible<script>never closed"),
     .c = {{"preview.text", EQ,
	    FFFD FFFD FFFD "&bogus; AT&T &amp &#x; &\n\n  a\n  b\nxy<\n\nvisible"}}},
    {"HTML head without end keeps the body; unclosed tag drops the rest",
     MSG("Content-Type: text/html\r\n\r\n<head><title>t</title><p>body text<a href='x"),
     .c = {{"preview.text", EQ, "body text"}}},
    {"HTML img and links: no URL unless a link to a web or mail address",
     MSG("Content-Type: text/html\r\n\r\n<img src=http://x.test/i.png alt=pic>"
	 "<a href=\"javascript:alert(1)\">js</a> <a href=mailto:a@x.test>a@x.test</a> "
	 "<a href=\"http://x.test/\xe2\x80\xae\">t</a>"),
     .c = {{"preview.text", EQ, "js a@x.test t [link: http://x.test/" FFFD "]"}}},
    {"attachments: RFC 2231 and 2047 names, sizes, dispositions (file)", .file = "attachments.eml",
     .c = {{"attachments", EQ, "[5]"},
	   {"attachments.0.filename", EQ, "r\xc3\xa9sum\xc3\xa9.pdf"},
	   {"attachments.0.content_type", EQ, "application/pdf"},
	   {"attachments.0.size", EQ, "52"},
	   {"attachments.0.disposition", EQ, "attachment"},
	   {"attachments.1.filename", EQ, "photo \xc3\xa9t\xc3\xa9.jpg"},
	   {"attachments.1.size", EQ, "24"},
	   {"attachments.1.disposition", EQ, "inline"},
	   {"attachments.2.filename", EQ, "Pr\xc3\xa9sentation longue.pptx"},
	   {"attachments.2.size", EQ, "6"},
	   {"attachments.3.filename", EQ, "notes.txt"},
	   {"attachments.3.content_type", EQ, "text/plain"},
	   {"attachments.4.filename", EQ, "invoice" FFFD "fdp.exe"},
	   {"attachments.4.size", EQ, "12"},
	   {"preview.text", EQ, "See attached."}}},
    {"nested message/rfc822 (file)", .file = "nested_rfc822.eml",
     .c = {{"preview.text", EQ, "Outer body text."},
	   {"attachments", EQ, "[2]"},
	   {"attachments.0.content_type", EQ, "message/rfc822"},
	   {"attachments.0.filename", EQ, "original.eml"},
	   {"attachments.1.filename", EQ, "payload.zip"},
	   {"attachments.1.size", EQ, "10"}}},
    {"malformed boundary: the text is still shown (file)", .file = "malformed_boundary.eml",
     .c = {{"headers.subject", EQ, "broken boundary"},
	   {"preview.source", EQ, "text/plain"},
	   {"preview.text", HAS, "Text that sits behind the wrong boundary."}}},
    {"multipart without boundary parameter",
     MSG("Content-Type: multipart/mixed\r\n\r\nhello\r\n--x\r\n\r\nworld\r\n"),
     .c = {{"preview.text", HAS, "hello"}}},
    {"unterminated multipart",
     MSG("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	 "Content-Type: text/plain\r\n\r\ncut short"),
     .c = {{"preview.text", EQ, "cut short"}}},
    {"NUL bytes in headers and body",
     MSG("Subject: abc\0def\r\nX-N: 1\0 2\r\n\r\nhello\0world\r\n"),
     .c = {{"headers.subject", HAS, "abc"}, {"preview.text", EQ, "hello" FFFD "world"}}},
    {"control characters in headers, bidi override in a subject",
     MSG("Subject: a\x01"
	 "b\tc\x1b[31m \xe2\x80\xae"
	 "cod.exe\r\n\r\n"),
     .c = {{"headers.subject", EQ, "a" FFFD "b\tc" FFFD "[31m " FFFD "cod.exe"}}},
    {"an unparseable date is kept as written", MSG("Date: someday soon\r\n\r\n"),
     .c = {{"headers.date", EQ, "someday soon"}}},
    {"group in From, no address in Reply-To",
     MSG("From: Team: a@x.test, b@x.test;\r\nReply-To: nobody\r\n\r\n"),
     .c = {{"headers.from", EQ, "Team: a@x.test, b@x.test;"},
	   {"headers.from_address", EQ, "a@x.test"},
	   {"headers.reply_to", HAS, "nobody"}}},
    {"no header at all: the file is shown as text",
     MSG("just some text without headers\r\nline 2\r\n"),
     .c = {{"headers.subject", EQ, NULL},
	   {"all_headers", EQ, "[0]"},
	   {"preview.text", EQ, "just some text without headers\nline 2"}}},
    {"only an attachment: no preview",
     MSG("Content-Type: application/pdf\r\nContent-Disposition: attachment\r\n\r\n%PDF"),
     .c = {{"preview.source", EQ, "none"},
	   {"preview.text", EQ, ""},
	   {"attachments.0.filename", EQ, NULL},
	   {"attachments.0.size", EQ, "4"}}},
    {"preview cut at a character boundary", MSG("Subject: x\r\n\r\n\xc3\xa9\xc3\xa9\xc3\xa9"),
     .pmax = 5, .c = {{"preview.text", EQ, "\xc3\xa9\xc3\xa9"}, {"preview.truncated", EQ, "true"}}},
    {"preview_max 1", MSG("Subject: x\r\n\r\nab"), .pmax = 1,
     .c = {{"preview.text", EQ, "a"}, {"preview.truncated", EQ, "true"}}},
    {"read limit cuts the file", MSG("Subject: x\r\n\r\nfirst part|second part\r\n"), .limit = 24,
     .c = {{"preview.text", EQ, "first part"}}},
};

/* run_case - load one case and apply its checks */
static void run_case(const struct mcase *mc)
{
	size_t pmax = mc->pmax ? mc->pmax : PMAX;
	json_t *v = mc->file ? view_file(mc->file, pmax)
			     : view_bytes(mc->msg, mc->len, mc->limit ? mc->limit : LIMIT, pmax);

	for (size_t k = 0; k < sizeof(mc->c) / sizeof(mc->c[0]) && mc->c[k].path; k++) {
		const struct check *c = &mc->c[k];
		char buf[64];
		const json_t *n = jpath(v, c->path);
		const char *got = n ? render(n, buf, sizeof(buf)) : "<missing>";
		bool ok;

		if (c->op == EQ)
			ok = (got == NULL || c->want == NULL) ? got == c->want
							      : strcmp(got, c->want) == 0;
		else
			ok = got && (strstr(got, c->want) != NULL) == (c->op == HAS);
		if (!ok) {
			char *dump = json_dumps(v, JSON_INDENT(2));

			fprintf(stderr, "%s\n", dump ? dump : "");
			free(dump);
			fail_msg("%s: %s %s '%s', got '%s'", mc->name, c->path,
				 c->op == EQ	? "=="
				 : c->op == HAS ? "has"
						: "lacks",
				 c->want ? c->want : "null", got ? got : "null");
		}
	}
	json_decref(v);
}

/* table_cases - every entry of cases[] */
static void table_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* ---- golden files ---- */

/* is_eml - names ending in .eml */
static int is_eml(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return n > 4 && strcmp(de->d_name + n - 4, ".eml") == 0;
}

/* golden_files - the whole view of every golden/mime/<case>.eml against <case>.json */
static void golden_files(void **state)
{
	const char *env = getenv("VR_UPDATE_GOLDEN");
	bool update = env && !strcmp(env, "1");
	struct dirent **list;
	int n, bad = 0;

	(void)state;
	n = scandir(VR_GOLDEN_DIR, &list, is_eml, alphasort);
	assert_true(n >= MIN_GOLDEN);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		json_t *v = view_file(list[i]->d_name, PMAX);
		char *got = json_dumps(v, JSON_INDENT(2));
		size_t len;
		char *want;

		assert_non_null(got);
		snprintf(path, sizeof(path), "%s/%.*s.json", VR_GOLDEN_DIR,
			 (int)strlen(list[i]->d_name) - 4, list[i]->d_name);
		if (update) {
			FILE *f = fopen(path, "w");

			assert_non_null(f);
			fprintf(f, "%s\n", got);
			assert_int_equal(fclose(f), 0);
		} else if ((want = read_all(path, &len)) == NULL) {
			print_error("%s: %s (VR_UPDATE_GOLDEN=1 writes it)\n", path,
				    strerror(errno));
			bad++;
		} else {
			if (len == 0 || want[len - 1] != '\n' || strlen(got) != len - 1 ||
			    memcmp(want, got, len - 1) != 0) {
				print_error("%s differs; got:\n%s\n"
					    "(VR_UPDATE_GOLDEN=1 rewrites the golden files)\n",
					    path, got);
				bad++;
			}
			free(want);
		}
		free(got);
		json_decref(v);
		free(list[i]);
	}
	free(list);
	assert_int_equal(bad, 0);
}

/* ---- generated inputs ---- */

/* empty_file - an object with nulls and empty arrays */
static void empty_file(void **state)
{
	static const char *const nulls[] = {
	    "subject", "from",	     "from_address",	 "reply_to",
	    "date",    "message_id", "list_unsubscribe", "list_unsubscribe_post",
	    "list_id"};
	json_t *v = view_bytes("", 0, LIMIT, PMAX);
	const json_t *h = json_object_get(v, "headers");

	(void)state;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		assert_true(json_is_null(json_object_get(h, nulls[i])));
	assert_int_equal(json_array_size(json_object_get(h, "to")), 0);
	assert_int_equal(json_array_size(json_object_get(h, "cc")), 0);
	assert_int_equal(json_array_size(json_object_get(v, "all_headers")), 0);
	assert_int_equal(json_array_size(json_object_get(v, "attachments")), 0);
	assert_string_equal(json_string_value(jpath(v, "preview.text")), "");
	assert_string_equal(json_string_value(jpath(v, "preview.source")), "none");
	assert_true(json_is_false(jpath(v, "preview.truncated")));
	json_decref(v);
}

/* many_headers - 2000 headers: 200 listed, the Subject after them still found; a long value
 * is cut to 4 KiB */
static void many_headers(void **state)
{
	size_t cap = 2000 * 32 + 16384, n = 0;
	char *m = malloc(cap);
	json_t *v;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(m + n, cap - n, "X-Header-%d: value %d\r\n", i, i);
	n += (size_t)snprintf(m + n, cap - n, "X-Long: ");
	memset(m + n, 'L', 10000);
	n += 10000;
	n += (size_t)snprintf(m + n, cap - n, "\r\nSubject: found\r\n\r\nbody\r\n");
	v = view_bytes(m, n, LIMIT, PMAX);
	assert_int_equal(json_array_size(json_object_get(v, "all_headers")), 200);
	assert_string_equal(json_string_value(jpath(v, "all_headers.199.name")), "X-Header-199");
	assert_string_equal(json_string_value(jpath(v, "headers.subject")), "found");
	json_decref(v);

	/* the long value alone: listed, cut */
	n = (size_t)snprintf(m, cap, "X-Long: ");
	memset(m + n, 'L', 10000);
	n += 10000;
	n += (size_t)snprintf(m + n, cap - n, "\r\n\r\nbody\r\n");
	v = view_bytes(m, n, LIMIT, PMAX);
	assert_int_equal(json_string_length(jpath(v, "all_headers.0.value")), 4096);
	json_decref(v);
	free(m);
}

/* huge_body - 5 MB bodies, plain and HTML, preview_max 2000: truncated, valid UTF-8, cut
 * at a character boundary (the pattern's characters are 1, 2 and 3 bytes long) */
static void huge_body(void **state)
{
	static const char pattern[] = "a\xc3\xa9\xe2\x82\xac "; /* a é € */
	static const char *const heads[] = {
	    "Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
	    "Subject: big\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>"};
	size_t size = 5u << 20;

	(void)state;
	for (size_t h = 0; h < 2; h++) {
		char *m = malloc(size + 256);
		size_t n = strlen(heads[h]);
		const char *text;
		json_t *v;

		assert_non_null(m);
		memcpy(m, heads[h], n);
		while (n + sizeof(pattern) < size) {
			memcpy(m + n, pattern, sizeof(pattern) - 1);
			n += sizeof(pattern) - 1;
		}
		v = view_bytes(m, n, LIMIT, 2000);
		text = json_string_value(jpath(v, "preview.text"));
		assert_non_null(text);
		assert_true(json_is_true(jpath(v, "preview.truncated")));
		assert_true(strlen(text) <= 2000 && strlen(text) >= 1990);
		assert_true(utf8_ok((const unsigned char *)text, strlen(text)));
		assert_string_equal(json_string_value(jpath(v, "preview.source")),
				    h ? "text/html" : "text/plain");
		json_decref(v);
		free(m);
	}
}

/* pathological_html - 2 MB of repeated constructs that a careless scanner handles in
 * quadratic time (each would take minutes if it did) */
static void pathological_html(void **state)
{
	static const char *const units[] = {
	    "<head>x</head>", "<head>",	 "<head><body>",     "<a href=x>y", "&#", "<p", "<!x",
	    "<scrip",	      "</head>", "&amp;&zwnj;&nbsp;"};
	static const char head[] = "Content-Type: text/html\r\n\r\n";
	size_t size = 2u << 20;

	(void)state;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t ul = strlen(units[u]), n = sizeof(head) - 1;
		char *m = malloc(size + 64);
		json_t *v;

		assert_non_null(m);
		memcpy(m, head, n);
		while (n + ul < size) {
			memcpy(m + n, units[u], ul);
			n += ul;
		}
		v = view_bytes(m, n, LIMIT, 500);
		json_decref(v);
		free(m);
	}
}

/* deep_nesting - 40 nested multiparts and 40 nested messages: parts deeper than 10 levels
 * are not listed, shallower ones are */
static void deep_nesting(void **state)
{
	size_t cap = 1 << 16, n = 0;
	char *m = malloc(cap);
	json_t *v;

	(void)state;
	assert_non_null(m);
	n += (size_t)snprintf(m + n, cap - n, "Subject: deep\r\n");
	for (int d = 0; d < 40; d++) {
		n += (size_t)snprintf(
		    m + n, cap - n, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n",
		    d, d);
		if (d == 3)
			n += (size_t)snprintf(m + n, cap - n,
					      "Content-Type: application/octet-stream; "
					      "name=shallow.bin\r\n\r\nS\r\n--b%d\r\n",
					      d);
	}
	n += (size_t)snprintf(m + n, cap - n,
			      "Content-Type: application/octet-stream; name=deep.bin\r\n\r\nD\r\n");
	for (int d = 39; d >= 0; d--)
		n += (size_t)snprintf(m + n, cap - n, "--b%d--\r\n", d);
	v = view_bytes(m, n, LIMIT, PMAX);
	assert_int_equal(json_array_size(json_object_get(v, "attachments")), 1);
	assert_string_equal(json_string_value(jpath(v, "attachments.0.filename")), "shallow.bin");
	json_decref(v);

	n = 0;
	for (int d = 0; d < 40; d++)
		n += (size_t)snprintf(
		    m + n, cap - n, "Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n", d);
	n += (size_t)snprintf(m + n, cap - n, "Subject: bottom\r\n\r\nbottom text\r\n");
	v = view_bytes(m, n, LIMIT, PMAX);
	assert_string_equal(json_string_value(jpath(v, "headers.subject")), "level 0");
	assert_true(json_array_size(json_object_get(v, "attachments")) <= 11);
	json_decref(v);
	free(m);
}

/* unreadable - a missing file and a directory give NULL and a reason */
static void unreadable(void **state)
{
	char err[256] = "";
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-file", tmpdir);
	assert_null(mime_view_load(path, LIMIT, PMAX, err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-file"));
	err[0] = '\0';
	assert_null(mime_view_load(tmpdir, LIMIT, PMAX, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(mime_view_load(path, LIMIT, PMAX, NULL, 0));
}

/* ---- mutations ---- */

/* xorshift - deterministic pseudo-random numbers for the mutations */
static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* mutate - damage m (len bytes, room for 2 * len + 64) one of several ways; the new length */
static size_t mutate(char *m, size_t len, uint32_t *seed)
{
	uint32_t kind = xorshift(seed) % 7;
	size_t at = len ? xorshift(seed) % len : 0;
	size_t span = len ? xorshift(seed) % (len - at + 1) : 0;

	switch (kind) {
	case 0: /* truncate */
		return at;
	case 1: /* flip bytes */
		for (int i = 0; i < 8 && len; i++)
			m[xorshift(seed) % len] ^= (char)(1u << (xorshift(seed) % 8));
		return len;
	case 2: /* NULs and 8-bit bytes */
		for (int i = 0; i < 8 && len; i++)
			m[xorshift(seed) % len] = (char)(i % 2 ? 0 : 0x80 + xorshift(seed) % 128);
		return len;
	case 3: /* cut out a span */
		memmove(m + at, m + at + span, len - at - span);
		return len - span;
	case 4: /* repeat a span */
		memmove(m + at + span, m + at, len - at);
		return len + span;
	case 5: /* break boundaries and encoded words */
		for (size_t i = 0; i + 1 < len; i++)
			if ((m[i] == '-' && m[i + 1] == '-') || (m[i] == '?' && m[i + 1] == '='))
				if (xorshift(seed) % 2)
					m[i + 1] = 'x';
		return len;
	default: /* line ends: CR only, or none */
		for (size_t i = 0; i < len; i++)
			if (m[i] == '\n')
				m[i] = xorshift(seed) % 2 ? '\r' : ' ';
		return len;
	}
}

/* mutations - damaged variants of every golden input and table message keep the invariants */
static void mutations(void **state)
{
	struct dirent **list;
	int nfiles;
	uint32_t seed = 0x9e3779b9;
	size_t bases = 0, done = 0;
	char *base[64];
	size_t blen[64];

	(void)state;
	nfiles = scandir(VR_GOLDEN_DIR, &list, is_eml, alphasort);
	assert_true(nfiles > 0);
	for (int i = 0; i < nfiles; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", VR_GOLDEN_DIR, list[i]->d_name);
		base[bases] = read_all(path, &blen[bases]);
		assert_non_null(base[bases]);
		bases++;
		free(list[i]);
	}
	free(list);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && bases < 64; i++) {
		if (cases[i].msg == NULL)
			continue;
		base[bases] = malloc(cases[i].len + 1);
		assert_non_null(base[bases]);
		memcpy(base[bases], cases[i].msg, cases[i].len);
		blen[bases++] = cases[i].len;
	}
	for (done = 0; done < MUTATIONS; done++) {
		size_t b = done % bases, len = blen[b];
		char *m = malloc(4 * len + 64); /* two mutations, each may double it */
		size_t pmax = 1 + xorshift(&seed) % 300;
		json_t *v;

		assert_non_null(m);
		memcpy(m, base[b], len);
		len = mutate(m, len, &seed);
		if (xorshift(&seed) % 3 == 0) /* and a second time */
			len = mutate(m, len, &seed);
		v = view_bytes(m, len, LIMIT, pmax);
		json_decref(v);
		free(m);
	}
	for (size_t b = 0; b < bases; b++)
		free(base[b]);
}

/* ---- threads ---- */

struct worker {
	const char *const *files;
	size_t nfiles;
	json_t **want;
	int mismatches;
};

/* worker_run - load every file THREAD_LOOPS times and compare with the sequential result */
static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int loop = 0; loop < THREAD_LOOPS; loop++) {
		for (size_t i = 0; i < w->nfiles; i++) {
			char path[PATH_MAX], err[256];
			json_t *v;

			snprintf(path, sizeof(path), "%s/%s", VR_GOLDEN_DIR, w->files[i]);
			v = mime_view_load(path, LIMIT, PMAX, err, sizeof(err));
			if (v == NULL || !json_equal(v, w->want[i]))
				w->mismatches++;
			json_decref(v);
		}
	}
	return NULL;
}

/* concurrent - several threads at once agree with a sequential run */
static void concurrent(void **state)
{
	static const char *const files[] = {"alternative.eml", "attachments.eml", "html_only.eml",
					    "latin1_body.eml", "nested_rfc822.eml"};
	const size_t nfiles = sizeof(files) / sizeof(files[0]);
	json_t *want[sizeof(files) / sizeof(files[0])];
	struct worker w[THREADS];
	pthread_t t[THREADS];

	(void)state;
	for (size_t i = 0; i < nfiles; i++)
		want[i] = view_file(files[i], PMAX);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){files, nfiles, want, 0};
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].mismatches, 0);
	}
	for (size_t i = 0; i < nfiles; i++)
		json_decref(want[i]);
}

/* ---- main ---- */

/* setup - GMime and a scratch directory */
static int setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_mime_view.XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	mime_view_init();
	return 0;
}

/* teardown - the scratch directory is empty again (view_bytes unlinks) */
static int teardown(void **state)
{
	(void)state;
	mime_view_shutdown();
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_cases),  cmocka_unit_test(golden_files),
	    cmocka_unit_test(empty_file),   cmocka_unit_test(many_headers),
	    cmocka_unit_test(huge_body),    cmocka_unit_test(pathological_html),
	    cmocka_unit_test(deep_nesting), cmocka_unit_test(unreadable),
	    cmocka_unit_test(mutations),    cmocka_unit_test(concurrent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
