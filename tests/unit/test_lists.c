/* test_lists.c - agent/lists.c: pattern validation, address normalisation, and matching.
 *
 * One table of (pattern, address, expected) runs through both matchers: the reference
 * lists_pattern_matches() and the sorted-set lookup pattern_set_match(), which must agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "lists.h"

struct match_case {
	const char *pattern;
	const char *addr;
	bool match;
};

static const struct match_case match_cases[] = {
    /* exact address */
    {"boss@partner.test", "boss@partner.test", true},
    {"boss@partner.test", "BOSS@Partner.TEST", true},
    {"boss@partner.test", "<boss@partner.test>", true},
    {"boss@partner.test", "boss@partner.test.", true},
    {"boss@partner.test", "other@partner.test", false},
    {"boss@partner.test", "boss@mail.partner.test", false},
    {"boss@partner.test", "xboss@partner.test", false},
    /* *@domain: that domain only */
    {"*@trusted.test", "anyone@trusted.test", true},
    {"*@trusted.test", "Anyone@TRUSTED.test", true},
    {"*@trusted.test", "anyone@sub.trusted.test", false},
    {"*@trusted.test", "anyone@untrusted.test", false},
    /* domain: it and its subdomains */
    {"bank.test", "x@bank.test", true},
    {"bank.test", "x@mail.bank.test", true},
    {"bank.test", "x@a.b.bank.test", true},
    {"bank.test", "x@notbank.test", false},
    {"bank.test", "x@bank.test.evil", false},
    {"bank.test", "bank.test@evil.test", false},
    {"BANK.Test", "x@Mail.Bank.test", true},
    /* what never matches */
    {"bank.test", "", false},
    {"bank.test", "<>", false},
    {"bank.test", "bank.test", false},
    {"bank.test", "x@", false},
    {"*@bank.test", "@bank.test", false},
};

/* both_matchers - reference matcher and set matcher agree with the table */
static void both_matchers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct pattern_set s = {0};
		bool set_hit;

		pattern_set_add(&s, "unrelated.test");
		pattern_set_add(&s, c->pattern);
		pattern_set_add(&s, "zz@zz.test");
		pattern_set_seal(&s);
		set_hit = pattern_set_match(&s, c->addr) != NULL;
		if (lists_pattern_matches(c->pattern, c->addr) != c->match || set_hit != c->match)
			fail_msg("case %zu: %s vs %s: want %d, reference %d, set %d", i, c->pattern,
				 c->addr, c->match, lists_pattern_matches(c->pattern, c->addr),
				 set_hit);
		pattern_set_free(&s);
	}
}

struct pattern_case {
	const char *pattern;
	bool ok;
};

static const struct pattern_case pattern_cases[] = {
    {"boss@partner.test", true},
    {"*@trusted.test", true},
    {"bank.test", true},
    {"Bank.Test", true},
    {"first.last+tag@corp.test", true},
    {"", false},
    {"test", false}, /* one label */
    {"*@test", false},
    {"a@b@c.test", false},
    {"@corp.test", false},
    {"a b@corp.test", false},
    {"a*@corp.test", false}, /* '*' only as the whole local part */
    {"*.bank.test", false},
    {"bank_test.com", false},
    {"x@bank..test", false},
    {"<x@bank.test>", false},
};

/* pattern_validation - lists_check_pattern accepts exactly the three forms */
static void pattern_validation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pattern_cases) / sizeof(pattern_cases[0]); i++) {
		const char *why = lists_check_pattern(pattern_cases[i].pattern);

		if ((why == NULL) != pattern_cases[i].ok)
			fail_msg("pattern '%s': want %s, got %s", pattern_cases[i].pattern,
				 pattern_cases[i].ok ? "ok" : "refused", why ? why : "ok");
	}
}

/* set_seal_dedupes - duplicates (any case) collapse; contains is exact */
static void set_seal_dedupes(void **state)
{
	struct pattern_set s = {0};

	(void)state;
	pattern_set_add(&s, "EXE");
	pattern_set_add(&s, "exe");
	pattern_set_add(&s, "scr");
	pattern_set_add(&s, "exe");
	pattern_set_seal(&s);
	assert_int_equal(s.n, 2);
	assert_true(pattern_set_contains(&s, "exe"));
	assert_false(pattern_set_contains(&s, "ex"));
	assert_false(pattern_set_contains(&s, NULL));
	assert_null(pattern_set_match(&s, NULL));
	pattern_set_free(&s);
	assert_null(pattern_set_match(&s, "a@b.test")); /* empty set */
}

/* most_specific_first - the exact address wins over *@domain and the domain */
static void most_specific_first(void **state)
{
	struct pattern_set s = {0};

	(void)state;
	pattern_set_add(&s, "bank.test");
	pattern_set_add(&s, "*@mail.bank.test");
	pattern_set_add(&s, "ceo@mail.bank.test");
	pattern_set_seal(&s);
	assert_string_equal(pattern_set_match(&s, "CEO@mail.bank.test"), "ceo@mail.bank.test");
	assert_string_equal(pattern_set_match(&s, "cfo@mail.bank.test"), "*@mail.bank.test");
	assert_string_equal(pattern_set_match(&s, "cfo@x.mail.bank.test"), "bank.test");
	assert_null(pattern_set_match(&s, "cfo@notbank.test"));
	pattern_set_free(&s);
}

/* norm_addr - the forms the milter hands over */
static void norm_addr(void **state)
{
	char out[LIST_ADDR_MAX + 1];
	char longaddr[LIST_ADDR_MAX + 20];

	(void)state;
	assert_true(lists_norm_addr(" <Alice@Corp.Test> ", out, sizeof(out)));
	assert_string_equal(out, "alice@corp.test");
	assert_false(lists_norm_addr("<>", out, sizeof(out)));
	assert_false(lists_norm_addr("", out, sizeof(out)));
	assert_false(lists_norm_addr(NULL, out, sizeof(out)));
	assert_false(lists_norm_addr("alice", out, sizeof(out)));
	assert_false(lists_norm_addr("alice@corp.test", out, 4)); /* does not fit */
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[10] = '@';
	assert_false(lists_norm_addr(longaddr, out, sizeof(out)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(both_matchers),	cmocka_unit_test(pattern_validation),
	    cmocka_unit_test(set_seal_dedupes), cmocka_unit_test(most_specific_first),
	    cmocka_unit_test(norm_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
