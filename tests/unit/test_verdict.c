/* test_verdict.c - agent/verdict.c: the filter policy parser and the per-recipient decision.
 *
 * decide_cases[] is the filter contract as a table: one message (direction, senders, scan
 * results) and up to three recipients with the outcome each must get, then the message-level
 * summary. All run against one policy (policy_json). bad_policies[] lists filter sections
 * that must be refused, with the field the error must name.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "verdict.h"

static const char policy_json[] =
    "{\"virus_action\": \"quarantine\", \"blocklist_action\": \"reject\","
    " \"attachments\": {\"blocked_extensions\": [\"exe\", \".scr\", \"JS\"],"
    "                   \"blocked_types\": [\"application/x-msdownload\"],"
    "                   \"block_encrypted_archives\": true, \"inspect_archives\": true},"
    " \"domains\": {"
    "   \"corp.test\": {\"spam_tag\": 5.0, \"spam_quarantine\": 8.0, \"spam_reject\": 15.0,"
    "                 \"subject_prefix\": \"[SPAM]\", \"newsletter\": \"deliver\","
    "                 \"fail_open_spam\": false},"
    "   \"Open.Test\": {\"spam_tag\": 4, \"spam_quarantine\": 9, \"spam_reject\": 20,"
    "                 \"subject_prefix\": \"[PUB?]\", \"newsletter\": \"tag\","
    "                 \"fail_open_spam\": true}},"
    " \"outbound\": {\"spam_tag\": 3, \"spam_quarantine\": 6, \"spam_reject\": 10},"
    " \"lists\": {"
    "   \"global\": {\"allow\": [\"boss@partner.test\", \"*@trusted.test\", \"bank.test\"],"
    "              \"block\": [\"*@spammer.test\", \"evil.test\"]},"
    "   \"users\": {"
    "     \"alice@corp.test\": {\"allow\": [\"friend@evil.test\", \"news@shop.test\"],"
    "                         \"block\": [\"pest@partner.test\", \"bank.test\"]},"
    "     \"Bob@Corp.Test\": {\"allow\": [\"*@vendor.test\"], \"block\": []}}},"
    " \"newsletter_prefs\": {\"alice@corp.test\": \"quarantine\","
    "                        \"carol@corp.test\": \"tag\"},"
    " \"a_future_member\": {\"ignored\": true}}";

/* One recipient's expected outcome. */
struct want {
	const char *rcpt;
	enum filter_action action;
	enum filter_category category;
	const char *reason; /* a substring of the reason, or NULL */
};

/* One message: direction, senders, what the scanners said, and up to three recipients
 * with the outcome each must get, then the message-level summary. scan is a list of words:
 * "score=N" (rspamd's score), "virus=NAME", "avfail" (clamd failed), "spamfail" (rspamd
 * failed), "nl" (antipub says newsletter), "attach" (one attachment finding). */
struct decide_case {
	const char *name;
	enum filter_direction dir;
	const char *env_from, *hdr_from;
	const char *scan;
	struct want w[3];
	enum filter_action summary;
};

#define IN    FD_INBOUND
#define OUT   FD_OUTBOUND
#define ALICE "alice@corp.test"
#define BOB   "bob@corp.test"
#define CAROL "carol@corp.test"
#define DAVE  "dave@open.test"
#define EXT   "partner@example.net"

/* clang-format off */
static const struct decide_case decide_cases[] = {
	{"clean", IN, "jean@example.org", "jean@example.org", "score=1",
	 {{ALICE, FA_DELIVER, FC_CLEAN, "spam score 1.00"}}, FA_DELIVER},

	/* rule 1: virus */
	{"virus from an allow-listed sender is still a virus", IN, "boss@partner.test",
	 "boss@partner.test", "virus=Eicar-Test-Signature",
	 {{ALICE, FA_QUARANTINE, FC_VIRUS, "Eicar-Test-Signature"},
	  {BOB, FA_QUARANTINE, FC_VIRUS, NULL}}, FA_DELIVER},
	{"virus beats the block list, spam, newsletter, attachments", IN, "x@spammer.test", NULL,
	 "virus=Bad.Thing score=99 nl attach",
	 {{BOB, FA_QUARANTINE, FC_VIRUS, NULL}}, FA_DELIVER},
	{"antivirus failure tempfails, even allow-listed", IN, "boss@partner.test", NULL, "avfail",
	 {{ALICE, FA_TEMPFAIL, FC_VIRUS, "antivirus scan failed: clamd down"},
	  {BOB, FA_TEMPFAIL, FC_VIRUS, NULL}}, FA_TEMPFAIL},

	/* rule 2: block lists, the recipient's then the global one */
	{"user block beats global allow (subdomain of bank.test)", IN, "x@mail.bank.test", NULL,
	 "score=0",
	 {{ALICE, FA_REJECT, FC_BLOCKLIST, "recipient's block list (bank.test)"},
	  {BOB, FA_DELIVER, FC_CLEAN, "global allow list (bank.test)"}}, FA_DELIVER},
	{"global block beats user allow", IN, "friend@evil.test", NULL, "score=0",
	 {{ALICE, FA_REJECT, FC_BLOCKLIST, "global block list"}}, FA_REJECT},
	{"global block *@domain", IN, "promo@spammer.test", NULL, "score=0",
	 {{BOB, FA_REJECT, FC_BLOCKLIST, "(*@spammer.test)"},
	  {ALICE, FA_REJECT, FC_BLOCKLIST, NULL}}, FA_REJECT},
	{"block via the From: header", IN, "bounce@esp.example", "Promo@Spammer.Test", "score=0",
	 {{BOB, FA_REJECT, FC_BLOCKLIST, "Promo@Spammer.Test"}}, FA_REJECT},
	{"user block by exact address", IN, "pest@partner.test", NULL, "score=0",
	 {{ALICE, FA_REJECT, FC_BLOCKLIST, NULL},
	  {BOB, FA_DELIVER, FC_CLEAN, NULL}}, FA_DELIVER},
	{"block list decides before a failed spam scan", IN, "x@evil.test", NULL, "spamfail",
	 {{BOB, FA_REJECT, FC_BLOCKLIST, NULL}}, FA_REJECT},

	/* rule 3: allow lists skip spam and newsletter, not attachments */
	{"allow skips spam", IN, "boss@partner.test", NULL, "score=30",
	 {{BOB, FA_DELIVER, FC_CLEAN, "global allow list (boss@partner.test)"}}, FA_DELIVER},
	{"allow skips spam but not attachments", IN, "boss@partner.test", NULL, "score=30 attach",
	 {{BOB, FA_QUARANTINE, FC_ATTACHMENT, "invoice.pdf.exe"}}, FA_DELIVER},
	{"allow skips a failed spam scan", IN, "someone@trusted.test", NULL, "spamfail",
	 {{ALICE, FA_DELIVER, FC_CLEAN, "(*@trusted.test)"}}, FA_DELIVER},
	{"allow skips the newsletter preference", IN, "news@shop.test", NULL, "nl",
	 {{ALICE, FA_DELIVER, FC_CLEAN, "recipient's allow list (news@shop.test)"}}, FA_DELIVER},
	{"allow through the From: header, envelope is a bounce address", IN,
	 "bounce-123@esp.example", "Boss@Partner.Test", "score=30",
	 {{BOB, FA_DELIVER, FC_CLEAN, "Boss@Partner.Test"}}, FA_DELIVER},
	{"two recipients, one allow-lists the sender", IN, "sales@vendor.test", NULL, "score=9",
	 {{BOB, FA_DELIVER, FC_CLEAN, "recipient's allow list (*@vendor.test)"},
	  {ALICE, FA_QUARANTINE, FC_SPAM, "spam score 9.00 >= 8.00"}}, FA_DELIVER},
	{"case-insensitive recipient and sender", IN, "FRIEND@Evil.Test", NULL, "score=0",
	 {{"Alice@CORP.test", FA_REJECT, FC_BLOCKLIST, NULL}}, FA_REJECT},
	{"subdomain matching: notbank.test is not bank.test", IN, "x@notbank.test", NULL,
	 "score=16", {{BOB, FA_REJECT, FC_SPAM, NULL}}, FA_REJECT},
	{"*@domain does not cover subdomains", IN, "x@mail.trusted.test", NULL, "score=16",
	 {{BOB, FA_REJECT, FC_SPAM, NULL}}, FA_REJECT},

	/* rule 4: spam */
	{"spam tag", IN, "x@example.org", NULL, "score=5",
	 {{BOB, FA_TAG, FC_SPAM, "spam score 5.00 >= 5.00"}}, FA_DELIVER},
	{"spam quarantine at the threshold", IN, "x@example.org", NULL, "score=8",
	 {{BOB, FA_QUARANTINE, FC_SPAM, NULL}}, FA_DELIVER},
	{"spam reject at the threshold", IN, "x@example.org", NULL, "score=15",
	 {{BOB, FA_REJECT, FC_SPAM, ">= 15.00"}}, FA_REJECT},
	{"just below tag", IN, "x@example.org", NULL, "score=4.99",
	 {{BOB, FA_DELIVER, FC_CLEAN, NULL}}, FA_DELIVER},
	{"per-domain thresholds", IN, "x@example.org", NULL, "score=8.5",
	 {{BOB, FA_QUARANTINE, FC_SPAM, NULL},
	  {DAVE, FA_TAG, FC_SPAM, ">= 4.00"}}, FA_DELIVER},
	{"tag + attachment -> quarantine attachment", IN, "x@example.org", NULL, "score=6 attach",
	 {{BOB, FA_QUARANTINE, FC_ATTACHMENT, NULL}}, FA_DELIVER},
	{"outbound thresholds", OUT, ALICE, NULL, "score=7",
	 {{EXT, FA_QUARANTINE, FC_SPAM, ">= 6.00"}}, FA_DELIVER},
	{"outbound tag", OUT, ALICE, NULL, "score=4",
	 {{EXT, FA_TAG, FC_SPAM, NULL}}, FA_DELIVER},
	{"outbound reject", OUT, ALICE, NULL, "score=10",
	 {{EXT, FA_REJECT, FC_SPAM, NULL}}, FA_REJECT},
	{"outbound ignores the recipient domain's thresholds", OUT, ALICE, NULL, "score=7",
	 {{BOB, FA_QUARANTINE, FC_SPAM, NULL}}, FA_DELIVER},
	{"inbound to an unknown domain uses the outbound thresholds", IN, "x@example.org", NULL,
	 "score=7",
	 {{"x@unknown.test", FA_QUARANTINE, FC_SPAM, NULL},
	  {BOB, FA_TAG, FC_SPAM, NULL}}, FA_DELIVER},
	{"spam scan failure tempfails", IN, "x@example.org", NULL, "spamfail",
	 {{BOB, FA_TEMPFAIL, FC_SPAM, "spam scan failed: rspamd down"}}, FA_TEMPFAIL},
	{"spam scan failure with fail_open_spam delivers (and says so)", IN, "x@example.org",
	 NULL, "spamfail", {{DAVE, FA_DELIVER, FC_CLEAN, "fails open"}}, FA_DELIVER},
	{"one tempfail tempfails the message", IN, "x@example.org", NULL, "spamfail",
	 {{DAVE, FA_DELIVER, FC_CLEAN, NULL},
	  {BOB, FA_TEMPFAIL, FC_SPAM, NULL}}, FA_TEMPFAIL},
	{"fail-open still applies the newsletter rule", IN, "x@example.org", NULL, "spamfail nl",
	 {{DAVE, FA_TAG, FC_NEWSLETTER, "fails open"}}, FA_DELIVER},
	{"fail-open still applies the attachment rule", IN, "x@example.org", NULL,
	 "spamfail attach", {{DAVE, FA_QUARANTINE, FC_ATTACHMENT, "fails open"}}, FA_DELIVER},

	/* rule 5: newsletters */
	{"newsletter preference per recipient", IN, "news@shop.example", NULL, "score=1 nl",
	 {{ALICE, FA_QUARANTINE, FC_NEWSLETTER, "newsletter"},
	  {BOB, FA_DELIVER, FC_CLEAN, NULL},
	  {CAROL, FA_TAG, FC_NEWSLETTER, NULL}}, FA_DELIVER},
	{"newsletter: the domain's default", IN, "news@shop.example", NULL, "score=1 nl",
	 {{DAVE, FA_TAG, FC_NEWSLETTER, NULL}}, FA_DELIVER},
	{"newsletter quarantine beats a spam tag", IN, "news@shop.example", NULL, "score=6 nl",
	 {{ALICE, FA_QUARANTINE, FC_NEWSLETTER, NULL}}, FA_DELIVER},
	{"spam tag and newsletter tag -> tagged as spam", IN, "news@shop.example", NULL,
	 "score=6 nl", {{CAROL, FA_TAG, FC_SPAM, "newsletter"}}, FA_DELIVER},
	{"spam quarantine beats the newsletter preference", IN, "news@shop.example", NULL,
	 "score=8 nl", {{CAROL, FA_QUARANTINE, FC_SPAM, NULL}}, FA_DELIVER},
	{"newsletter tag + attachment -> quarantine attachment", IN, "news@shop.example", NULL,
	 "score=1 nl attach", {{CAROL, FA_QUARANTINE, FC_ATTACHMENT, NULL}}, FA_DELIVER},
	{"outbound newsletters are delivered", OUT, ALICE, NULL, "nl",
	 {{EXT, FA_DELIVER, FC_CLEAN, NULL}}, FA_DELIVER},

	/* rule 6: attachments */
	{"attachment alone", IN, "x@example.org", NULL, "attach",
	 {{BOB, FA_QUARANTINE, FC_ATTACHMENT, "double extension exe"}}, FA_DELIVER},

	/* summaries and odd senders */
	{"one reject among others -> deliver", IN, "x@example.org", NULL, "score=12",
	 {{BOB, FA_QUARANTINE, FC_SPAM, NULL},
	  {"x@unknown.test", FA_REJECT, FC_SPAM, NULL}}, FA_DELIVER},
	{"reasons are valid UTF-8", IN, "x\xff\xc3\xa9@spammer.test", NULL, "score=0",
	 {{BOB, FA_REJECT, FC_BLOCKLIST, "sender x?\xc3\xa9@spammer.test"}}, FA_REJECT},
	{"null sender", IN, "<>", NULL, "score=0",
	 {{BOB, FA_DELIVER, FC_CLEAN, NULL}}, FA_DELIVER},
	{"recipient that is not an address", IN, "x@example.org", NULL, "score=7",
	 {{"postmaster", FA_QUARANTINE, FC_SPAM, NULL}}, FA_DELIVER},
};
/* clang-format on */

static struct filter_policy policy;

/* setup - parse policy_json once */
static int setup(void **state)
{
	char err[256];
	json_t *j = json_loads(policy_json, 0, NULL);

	(void)state;
	if (j == NULL || filter_policy_parse(j, &policy, err, sizeof(err)) != VR_OK) {
		fprintf(stderr, "policy: %s\n", err);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* teardown - free the policy */
static int teardown(void **state)
{
	(void)state;
	filter_policy_free(&policy);
	return 0;
}

/* one_finding - the attachment finding the cases use */
static void one_finding(struct attach_findings *f)
{
	memset(f, 0, sizeof(*f));
	f->n = f->total = 1;
	f->v[0].reason = ATTACH_DOUBLE_EXTENSION;
	snprintf(f->v[0].name, sizeof(f->v[0].name), "invoice.pdf.exe");
	snprintf(f->v[0].detail, sizeof(f->v[0].detail), "double extension exe");
}

/* parse_scan - the words of a case's scan spec into in->scan (attach points to f) */
static void parse_scan(const char *spec, struct verdict_scan *scan, struct attach_findings *f)
{
	static char virus[64];
	char buf[128];

	memset(scan, 0, sizeof(*scan));
	scan->av_ok = scan->spam_ok = true;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
		if (strncmp(w, "score=", 6) == 0) {
			scan->spam_score = strtod(w + 6, NULL);
		} else if (strncmp(w, "virus=", 6) == 0) {
			snprintf(virus, sizeof(virus), "%s", w + 6);
			scan->virus = virus;
		} else if (strcmp(w, "avfail") == 0) {
			scan->av_ok = false;
			scan->av_error = "clamd down";
		} else if (strcmp(w, "spamfail") == 0) {
			scan->spam_ok = false;
			scan->spam_error = "rspamd down";
		} else if (strcmp(w, "nl") == 0) {
			scan->newsletter = true;
		} else if (strcmp(w, "attach") == 0) {
			one_finding(f);
			scan->attach = f;
		} else {
			fail_msg("bad scan word '%s'", w);
		}
	}
}

/* decide_table - every case of the contract table */
static void decide_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		const struct decide_case *c = &decide_cases[i];
		struct attach_findings f;
		const char *rcpts[3];
		struct verdict_rcpt out[3];
		struct verdict_summary sum;
		struct verdict_input in = {
		    .direction = c->dir,
		    .env_from = c->env_from,
		    .hdr_from = c->hdr_from,
		    .rcpts = rcpts,
		};
		size_t n = 0;

		parse_scan(c->scan, &in.scan, &f);
		while (n < 3 && c->w[n].rcpt != NULL) {
			rcpts[n] = c->w[n].rcpt;
			n++;
		}
		in.n_rcpts = n;
		verdict_decide(&policy, &in, out, &sum);
		for (size_t k = 0; k < n; k++) {
			const struct want *w = &c->w[k];

			if (out[k].action != w->action || out[k].category != w->category ||
			    (w->reason && strstr(out[k].reason, w->reason) == NULL))
				fail_msg("case '%s', %s: want %s/%s '%s', got %s/%s '%s'", c->name,
					 w->rcpt, filter_action_str(w->action),
					 filter_category_str(w->category),
					 w->reason ? w->reason : "",
					 filter_action_str(out[k].action),
					 filter_category_str(out[k].category), out[k].reason);
		}
		if (sum.action != c->summary)
			fail_msg("case '%s': summary want %s, got %s", c->name,
				 filter_action_str(c->summary), filter_action_str(sum.action));
	}
}

/* tag_prefix - a spam tag carries its domain's subject prefix, other outcomes none */
static void tag_prefix(void **state)
{
	const char *rcpts[] = {"bob@corp.test", "dave@open.test", "x@unknown.test"};
	struct verdict_rcpt out[3];
	struct verdict_summary sum;
	struct verdict_input in = {.direction = FD_INBOUND,
				   .env_from = "x@example.org",
				   .scan = {.av_ok = true, .spam_ok = true, .spam_score = 5.5},
				   .rcpts = rcpts,
				   .n_rcpts = 3};

	(void)state;
	verdict_decide(&policy, &in, out, &sum);
	assert_int_equal(out[0].action, FA_TAG);
	assert_string_equal(out[0].subject_prefix, "[SPAM]");
	assert_int_equal(out[1].action, FA_TAG);
	assert_string_equal(out[1].subject_prefix, "[PUB?]");
	assert_int_equal(out[2].action, FA_TAG); /* unknown domain: outbound tag 3, no prefix */
	assert_string_equal(out[2].subject_prefix, "");
	assert_int_equal(sum.count[FA_TAG], 3);
	assert_int_equal(sum.action, FA_DELIVER);
}

/* virus_actions - virus_action reject and discard, and the summaries they give */
static void virus_actions(void **state)
{
	static const struct {
		const char *json;
		enum filter_action rcpt, summary;
	} cases[] = {
	    {"{\"virus_action\": \"reject\"}", FA_REJECT, FA_REJECT},
	    {"{\"virus_action\": \"discard\"}", FA_DISCARD, FA_DISCARD},
	    {"{}", FA_QUARANTINE, FA_DELIVER},
	};
	const char *rcpts[] = {"a@corp.test", "b@corp.test"};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct filter_policy p;
		char err[256];
		json_t *j = json_loads(cases[i].json, 0, NULL);
		struct verdict_rcpt out[2];
		struct verdict_summary sum;
		struct verdict_input in = {
		    .env_from = "x@example.org",
		    .scan = {.av_ok = true, .virus = "Eicar", .spam_ok = true},
		    .rcpts = rcpts,
		    .n_rcpts = 2};

		assert_int_equal(filter_policy_parse(j, &p, err, sizeof(err)), VR_OK);
		verdict_decide(&p, &in, out, &sum);
		assert_int_equal(out[0].action, cases[i].rcpt);
		assert_int_equal(out[1].category, FC_VIRUS);
		assert_int_equal(sum.action, cases[i].summary);
		filter_policy_free(&p);
		json_decref(j);
	}
}

/* defaults - an empty (or absent) section gives the contract's defaults */
static void defaults(void **state)
{
	struct filter_policy p;
	char err[256];
	json_t *j = json_object();

	(void)state;
	for (int round = 0; round < 2; round++) {
		assert_int_equal(filter_policy_parse(round ? NULL : j, &p, err, sizeof(err)),
				 VR_OK);
		assert_int_equal(p.virus_action, FA_QUARANTINE);
		assert_int_equal(p.blocklist_action, FA_QUARANTINE);
		assert_true(pattern_set_contains(&p.attach.blocked_extensions, "exe"));
		assert_true(pattern_set_contains(&p.attach.blocked_extensions, "img"));
		assert_true(pattern_set_contains(&p.attach.blocked_types, "application/x-dosexec"));
		assert_true(p.attach.block_encrypted_archives);
		assert_true(p.attach.inspect_archives);
		assert_true(p.outbound.tag == 5 && p.outbound.quarantine == 8 &&
			    p.outbound.reject == 15);
		assert_int_equal(p.n_domains, 0);
		filter_policy_free(&p);
	}
	json_decref(j);
}

/* parsed_policy - the fixture's section landed where it should, canonicalised */
static void parsed_policy(void **state)
{
	const struct filter_domain *d;

	(void)state;
	assert_int_equal(policy.blocklist_action, FA_REJECT);
	assert_int_equal(policy.attach.blocked_extensions.n, 3);
	assert_true(pattern_set_contains(&policy.attach.blocked_extensions, "scr"));
	assert_true(pattern_set_contains(&policy.attach.blocked_extensions, "js"));
	assert_false(pattern_set_contains(&policy.attach.blocked_extensions, "iso"));
	assert_non_null(d = filter_policy_domain(&policy, "OPEN.test"));
	assert_string_equal(d->name, "open.test");
	assert_true(d->fail_open_spam);
	assert_int_equal(d->newsletter, NL_TAG);
	assert_null(filter_policy_domain(&policy, "sub.corp.test"));
	assert_int_equal(policy.n_users, 2);
	assert_string_equal(policy.users[1].address, "bob@corp.test");
	assert_int_equal(policy.n_nl_prefs, 2);
}

/* One filter section that must be refused. */
struct bad_case {
	const char *json;
	const char *field; /* what the error must start with */
};

static const struct bad_case bad_policies[] = {
    {"[]", "filter:"},
    {"{\"virus_action\": \"bounce\"}", "virus_action:"},
    {"{\"virus_action\": 1}", "virus_action:"},
    {"{\"blocklist_action\": \"discard\"}", "blocklist_action:"},
    {"{\"attachments\": []}", "attachments:"},
    {"{\"attachments\": {\"blocked_extensions\": \"exe\"}}", "attachments.blocked_extensions:"},
    {"{\"attachments\": {\"blocked_extensions\": [\"exe\", \"e x\"]}}",
     "attachments.blocked_extensions[1]:"},
    {"{\"attachments\": {\"blocked_extensions\": [\"\"]}}", "attachments.blocked_extensions[0]:"},
    {"{\"attachments\": {\"blocked_types\": [\"exe\"]}}", "attachments.blocked_types[0]:"},
    {"{\"attachments\": {\"inspect_archives\": \"yes\"}}", "attachments.inspect_archives:"},
    {"{\"domains\": {\"corp\": {}}}", "domains.corp:"},
    {"{\"domains\": {\"corp.test\": 5}}", "domains.corp.test:"},
    {"{\"domains\": {\"corp.test\": {\"spam_tag\": \"5\"}}}", "domains.corp.test.spam_tag:"},
    {"{\"domains\": {\"corp.test\": {\"spam_reject\": 1e9}}}", "domains.corp.test.spam_reject:"},
    {"{\"domains\": {\"corp.test\": {\"spam_tag\": 9}}}", "domains.corp.test.spam_quarantine:"},
    {"{\"domains\": {\"corp.test\": {\"spam_quarantine\": 20}}}", "domains.corp.test.spam_reject:"},
    {"{\"domains\": {\"corp.test\": {\"newsletter\": \"drop\"}}}", "domains.corp.test.newsletter:"},
    {"{\"domains\": {\"corp.test\": {\"fail_open_spam\": 1}}}",
     "domains.corp.test.fail_open_spam:"},
    {"{\"domains\": {\"corp.test\": {\"subject_prefix\": \"a\\nb\"}}}",
     "domains.corp.test.subject_prefix:"},
    {"{\"domains\": {\"corp.test\": {}, \"CORP.test\": {}}}", "domains.corp.test:"},
    {"{\"outbound\": {\"spam_tag\": null, \"spam_reject\": -5}}", "outbound.spam_reject:"},
    {"{\"lists\": {\"global\": {\"allow\": [\"ok.test\", \"not a pattern\"]}}}",
     "lists.global.allow[1]:"},
    {"{\"lists\": {\"global\": {\"block\": [\"*@test\"]}}}", "lists.global.block[0]:"},
    {"{\"lists\": {\"global\": {\"block\": [7]}}}", "lists.global.block[0]:"},
    {"{\"lists\": {\"users\": {\"*@corp.test\": {}}}}", "lists.users.*@corp.test:"},
    {"{\"lists\": {\"users\": {\"alice@corp.test\": {\"allow\": [\"a@@b.test\"]}}}}",
     "lists.users.alice@corp.test.allow[0]:"},
    {"{\"lists\": {\"users\": {\"alice@corp.test\": {}, \"Alice@corp.test\": {}}}}",
     "lists.users.alice@corp.test:"},
    {"{\"newsletter_prefs\": {\"alice@corp.test\": \"never\"}}",
     "newsletter_prefs.alice@corp.test:"},
    {"{\"newsletter_prefs\": {\"corp.test\": \"tag\"}}", "newsletter_prefs.corp.test:"},
};

/* bad_fields - each refusal names its field */
static void bad_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
		struct filter_policy p;
		char err[256] = "";
		json_error_t je;
		json_t *j = json_loads(bad_policies[i].json, JSON_DECODE_ANY, &je);
		enum vr_err e;

		if (j == NULL)
			fail_msg("case %zu: test JSON: %s", i, je.text);
		e = filter_policy_parse(j, &p, err, sizeof(err));
		if (e != VR_E_INVALID_FIELD ||
		    strncmp(err, bad_policies[i].field, strlen(bad_policies[i].field)) != 0)
			fail_msg("case %zu (%s): want error on '%s', got %d '%s'", i,
				 bad_policies[i].json, bad_policies[i].field, e, err);
		filter_policy_free(&p);
		json_decref(j);
	}
}

/* names - the contract's words */
static void names(void **state)
{
	(void)state;
	assert_string_equal(filter_action_str(FA_TEMPFAIL), "tempfail");
	assert_string_equal(filter_action_str(FA_DISCARD), "discard");
	assert_string_equal(filter_category_str(FC_BLOCKLIST), "blocklist");
	assert_string_equal(filter_category_str(FC_NEWSLETTER), "newsletter");
	assert_string_equal(filter_action_str((enum filter_action)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(decide_table),  cmocka_unit_test(tag_prefix),
	    cmocka_unit_test(virus_actions), cmocka_unit_test(defaults),
	    cmocka_unit_test(parsed_policy), cmocka_unit_test(bad_fields),
	    cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
