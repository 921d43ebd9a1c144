/* test_antipub.c - agent/antipub.c: newsletter signals, decision, unsubscribe target.
 *
 * Each case is a block of headers ("Name: value" lines) and a list of rspamd symbols, with
 * the expected decision, signal bits, unsubscribe target and one-click flag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antipub.h"
#include "cm.h"

struct ap_case {
	const char *name;
	const char *headers; /* "Name: value\n" lines */
	const char *symbols; /* space-separated, or NULL */
	bool newsletter;
	unsigned signals; /* exactly these bits */
	const char *unsub;
	bool one_click;
};

static const struct ap_case cases[] = {
    {"plain mail", "From: a@b.test\nSubject: hi\n", NULL, false, 0, "", false},
    {"full newsletter",
     "List-Unsubscribe: <https://shop.test/u?id=1>, <mailto:unsub@shop.test>\n"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
     "List-Id: Shop news <news.shop.test>\nPrecedence: bulk\n"
     "DKIM-Signature: v=1; a=rsa-sha256; d=shop.test; s=s1;\th=from:to:subject:"
     "list-unsubscribe:list-unsubscribe-post; bh=x; b=y\n",
     "MAILLIST HAS_LIST_UNSUB PRECEDENCE_BULK R_DKIM_ALLOW", true,
     AP_UNSUBSCRIBE | AP_ONE_CLICK | AP_LIST_ID | AP_PRECEDENCE | AP_SYM_UNSUB | AP_SYM_MAILLIST |
	 AP_SYM_PRECEDENCE,
     "https://shop.test/u?id=1", true},
    {"https preferred even when listed second",
     "List-Unsubscribe: <mailto:u@x.test?subject=unsub>, <https://x.test/u>\nList-Id: <l.x.test>\n",
     NULL, true, AP_UNSUBSCRIBE | AP_LIST_ID, "https://x.test/u", false},
    {"mailto only: no one-click",
     "List-Unsubscribe: <mailto:u@x.test>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
     "Feedback-ID: 1:camp:esp\n",
     NULL, true, AP_UNSUBSCRIBE | AP_FEEDBACK_ID, "mailto:u@x.test", false},
    {"mailto preferred over http",
     "List-Unsubscribe: <http://x.test/u>, <mailto:u@x.test>\nPrecedence: list\n", NULL, true,
     AP_UNSUBSCRIBE | AP_PRECEDENCE, "mailto:u@x.test", false},
    {"unsubscribe alone is not enough (and without DKIM no one-click)",
     "List-Unsubscribe: <https://x.test/u>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n",
     NULL, false, AP_UNSUBSCRIBE, "https://x.test/u", false},
    {"one-click needs a DKIM signature over both headers",
     "List-Unsubscribe: <https://x.test/u>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
     "DKIM-Signature: v=1; d=x.test; h=from:list-unsubscribe; bh=x; b=y\n",
     "R_DKIM_ALLOW", false, AP_UNSUBSCRIBE, "https://x.test/u", false},
    {"one-click needs the signature verified (R_DKIM_ALLOW)",
     "List-Unsubscribe: <https://x.test/u>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
     "DKIM-Signature: v=1; d=x.test; h=list-unsubscribe:list-unsubscribe-post; b=y\n",
     "R_DKIM_REJECT", false, AP_UNSUBSCRIBE, "https://x.test/u", false},
    {"unsubscribe header and its own rspamd symbol count once",
     "List-Unsubscribe: <https://x.test/u>\n", "HAS_LIST_UNSUB", false,
     AP_UNSUBSCRIBE | AP_SYM_UNSUB, "https://x.test/u", false},
    {"List-Id and MAILLIST count once", "List-Id: <l.x.test>\n", "MAILLIST", false,
     AP_LIST_ID | AP_SYM_MAILLIST, "", false},
    {"two groups without unsubscribe", "List-Id: <l.x.test>\nPrecedence: Bulk \n", NULL, true,
     AP_LIST_ID | AP_PRECEDENCE, "", false},
    {"unsubscribe + Mailchimp stamp",
     "List-Unsubscribe: <https://x.us1.list-manage.com/unsubscribe?u=1>\nX-MC-User: abc\n", NULL,
     true, AP_UNSUBSCRIBE | AP_STAMP, "https://x.us1.list-manage.com/unsubscribe?u=1", false},
    {"unsubscribe + SendGrid stamp", "List-Unsubscribe: <mailto:u@sg.test>\nX-SG-EID: zz\n", NULL,
     true, AP_UNSUBSCRIBE | AP_STAMP, "mailto:u@sg.test", false},
    {"unsubscribe + campaign id (prefix)",
     "List-Unsubscribe: <https://x.test/u>\nx-campaignid: 42\n", NULL, true,
     AP_UNSUBSCRIBE | AP_STAMP, "https://x.test/u", false},
    {"bulk X-Mailer + Feedback-ID", "X-Mailer: Sendinblue Mailer\nFeedback-ID: 7:x\n", NULL, true,
     AP_BULK_MAILER | AP_FEEDBACK_ID, "", false},
    {"an ordinary X-Mailer is no signal",
     "X-Mailer: Microsoft Outlook 16.0\nList-Unsubscribe: <https://x.test/u>\n", NULL, false,
     AP_UNSUBSCRIBE, "https://x.test/u", false},
    {"rspamd BULK_ symbol + unsubscribe symbol", "Subject: promo\n", "BULK_HEADER HAS_LIST_UNSUB",
     true, AP_SYM_BULK | AP_SYM_UNSUB, "", false},
    {"Precedence junk is no signal", "Precedence: junk\nList-Id: <l.x.test>\n", NULL, false,
     AP_LIST_ID, "", false},
    {"a bare URI without angle brackets",
     "List-Unsubscribe: https://x.test/u?a=1\nPrecedence: bulk\n", NULL, true,
     AP_UNSUBSCRIBE | AP_PRECEDENCE, "https://x.test/u?a=1", false},
    {"unusable URIs are no target",
     "List-Unsubscribe: <javascript:alert(1)>, <ftp://x.test/u>, <https://a b.test/>\n"
     "List-Id: <l.x.test>\n",
     NULL, false, AP_LIST_ID, "", false},
    {"empty and unterminated values", "List-Unsubscribe: <https://x.test/u\nList-Id: \n", NULL,
     false, 0, "", false},
    {"one-click needs the exact value",
     "List-Unsubscribe: <https://x.test/u>\nList-Unsubscribe-Post: List-Unsubscribe=Yes\n"
     "List-Id: <l>\n",
     NULL, true, AP_UNSUBSCRIBE | AP_LIST_ID, "https://x.test/u", false},
    {"header names in any case",
     "list-unsubscribe: <HTTPS://X.test/U>\nLIST-UNSUBSCRIBE-POST:  list-unsubscribe=one-click\n"
     "feedback-id: a\ndkim-signature: v=1; H=x; h= List-Unsubscribe : List-Unsubscribe-Post;b=y\n",
     "R_DKIM_ALLOW", true, AP_UNSUBSCRIBE | AP_ONE_CLICK | AP_FEEDBACK_ID, "HTTPS://X.test/U", true},
};

/* split_headers - "Name: value" lines into mime_header pairs (pointers into buf) */
static size_t split_headers(char *buf, struct mime_header *h, size_t max)
{
	size_t n = 0;

	for (char *line = strtok(buf, "\n"); line && n < max; line = strtok(NULL, "\n")) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		h[n].name = line;
		h[n].value = colon + 1 + (colon[1] == ' ');
		n++;
	}
	return n;
}

/* make_symbols - a fake successful rspamd result with these symbols (sorted by name) */
static void make_symbols(const char *list, struct rspamd_result *r)
{
	char buf[256];

	memset(r, 0, sizeof(*r));
	r->ok = true;
	if (list == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	r->symbols = calloc(8, sizeof(*r->symbols));
	for (char *s = strtok(buf, " "); s && r->n_symbols < 8; s = strtok(NULL, " "))
		r->symbols[r->n_symbols++].name = strdup(s);
	for (size_t i = 1; i < r->n_symbols; i++) /* insertion sort: tiny lists */
		for (size_t j = i; j > 0 && strcmp(r->symbols[j - 1].name, r->symbols[j].name) > 0;
		     j--) {
			struct rspamd_symbol t = r->symbols[j];

			r->symbols[j] = r->symbols[j - 1];
			r->symbols[j - 1] = t;
		}
}

/* classify_table - every case */
static void classify_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ap_case *c = &cases[i];
		char buf[1024];
		struct mime_header h[16];
		struct rspamd_result rs;
		struct antipub_result out;
		size_t n;

		snprintf(buf, sizeof(buf), "%s", c->headers);
		n = split_headers(buf, h, 16);
		make_symbols(c->symbols, &rs);
		antipub_classify(h, n, &rs, &out);
		if (out.is_newsletter != c->newsletter || out.signals != c->signals ||
		    strcmp(out.unsubscribe, c->unsub) != 0 || out.one_click != c->one_click)
			fail_msg("case '%s': want nl=%d signals=%#x unsub='%s' oneclick=%d; got "
				 "nl=%d signals=%#x unsub='%s' oneclick=%d (%s)",
				 c->name, c->newsletter, c->signals, c->unsub, c->one_click,
				 out.is_newsletter, out.signals, out.unsubscribe, out.one_click,
				 out.signal_text);
		rspamd_result_free(&rs);
	}
}

/* rspamd_failed_or_absent - headers alone decide; a failed result's symbols are ignored */
static void rspamd_failed_or_absent(void **state)
{
	struct mime_header h[] = {{"List-Unsubscribe", "<https://x.test/u>"},
				  {"Precedence", "bulk"}};
	struct rspamd_result rs;
	struct antipub_result out;

	(void)state;
	antipub_classify(h, 2, NULL, &out);
	assert_true(out.is_newsletter);
	assert_int_equal(out.groups, 2);
	assert_string_equal(out.signal_text, "list-unsubscribe,precedence");
	make_symbols("MAILLIST BULK_X", &rs);
	rs.ok = false;
	antipub_classify(h, 1, &rs, &out);
	assert_false(out.is_newsletter);
	rspamd_result_free(&rs);
}

/* signal_text_bounded - many signals never overflow the text */
static void signal_text_bounded(void **state)
{
	char longv[200];
	struct mime_header h[] = {
	    {"X-Mailer", longv},    {"List-Id", "x"},
	    {"Feedback-ID", "x"},   {"X-Mailchimp-Campaign-Id-With-A-Rather-Long-Name", "x"},
	    {"Precedence", "list"}, {"List-Unsubscribe", "<mailto:a@b.test>"}};
	struct antipub_result out;

	(void)state;
	memset(longv, 'm', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	memcpy(longv, "mailchimp", 9);
	antipub_classify(h, 6, NULL, &out);
	assert_true(out.is_newsletter);
	assert_int_equal(out.groups, 5);
	assert_true(strlen(out.signal_text) < sizeof(out.signal_text));
}

/* target_parser - antipub_unsubscribe_target alone, with a small buffer */
static void target_parser(void **state)
{
	char out[24];

	(void)state;
	assert_true(antipub_unsubscribe_target("< https://a.test/u >", out, sizeof(out)));
	assert_string_equal(out, "https://a.test/u");
	/* too long for the buffer: not usable, the next one is */
	assert_true(antipub_unsubscribe_target(
	    "<https://a.test/a-very-long-path-indeed>, <mailto:a@b.test>", out, sizeof(out)));
	assert_string_equal(out, "mailto:a@b.test");
	assert_false(antipub_unsubscribe_target("", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(antipub_unsubscribe_target(NULL, out, sizeof(out)));
	assert_false(antipub_unsubscribe_target("<https://>", out, sizeof(out)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(classify_table),
	    cmocka_unit_test(rspamd_failed_or_absent),
	    cmocka_unit_test(signal_text_bounded),
	    cmocka_unit_test(target_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
