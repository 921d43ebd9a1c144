/* test_roles.c - apid/roles.c: names and who may delegate what, as a full matrix. */
#include "cm.h"
#include "roles.h"

static void names(void **state)
{
	(void)state;
	for (enum role r = ROLE_USER; r <= ROLE_AGENT; r++)
		assert_int_equal(role_parse(role_name(r)), r);
	assert_int_equal(role_parse("Admin"), ROLE_NONE);
	assert_int_equal(role_parse(""), ROLE_NONE);
	assert_int_equal(role_parse(NULL), ROLE_NONE);
}

static void covers_matrix(void **state)
{
	/* rows: have; columns: want (user, auditor, helpdesk, admin, agent) */
	static const int want[6][6] = {
		[ROLE_USER] = {[ROLE_USER] = 1},
		[ROLE_AUDITOR] = {[ROLE_USER] = 1, [ROLE_AUDITOR] = 1},
		[ROLE_HELPDESK] = {[ROLE_USER] = 1, [ROLE_HELPDESK] = 1},
		[ROLE_ADMIN] = {[ROLE_USER] = 1, [ROLE_AUDITOR] = 1, [ROLE_HELPDESK] = 1,
				[ROLE_ADMIN] = 1, [ROLE_AGENT] = 1},
		[ROLE_AGENT] = {0},
	};

	(void)state;
	for (enum role h = ROLE_NONE; h <= ROLE_AGENT; h++)
		for (enum role w = ROLE_NONE; w <= ROLE_AGENT; w++)
			if (role_covers(h, w) != (want[h][w] == 1))
				fail_msg("%s covers %s: %d", role_name(h), role_name(w),
					 role_covers(h, w));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(covers_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
