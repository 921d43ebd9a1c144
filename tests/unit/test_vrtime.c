/* test_vrtime.c - common/vrtime.c: RFC 3339 round trips and strict refusals. */
#include "cm.h"
#include "vrtime.h"

static void round_trip(void **state)
{
	char buf[VR_TIME_LEN];
	int64_t t;

	(void)state;
	vr_time_format(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	vr_time_format(1795827723, buf);
	assert_int_equal(vr_time_parse(buf, &t), 0);
	assert_int_equal(t, 1795827723);
}

static void accepted_and_refused(void **state)
{
	static const struct {
		const char *s;
		int ok;
		int64_t t;
	} cases[] = {
		{"2026-11-28T01:02:03Z", 1, 1795827723},
		{"2026-11-28t01:02:03z", 1, 1795827723},
		{"2026-11-28T01:02:03.123456Z", 1, 1795827723},
		{"2026-11-28T02:02:03+01:00", 1, 1795827723},
		{"2026-11-27T20:02:03-05:00", 1, 1795827723},
		{"2024-02-29T00:00:00Z", 1, 1709164800},
		{"2025-02-29T00:00:00Z", 0, 0},
		{"2026-13-01T00:00:00Z", 0, 0},
		{"2026-11-28 01:02:03Z", 0, 0},
		{"2026-11-28T01:02:03", 0, 0},
		{"2026-11-28T01:02:03Zjunk", 0, 0},
		{"2026-11-28T24:00:00Z", 0, 0},
		{"2026-11-28T01:02:03.Z", 0, 0},
		{"1969-12-31T23:59:59Z", 0, 0},
		{"", 0, 0},
		{"tomorrow", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -1;
		int rc = vr_time_parse(cases[i].s, &t);

		if ((rc == 0) != cases[i].ok)
			fail_msg("'%s': parse returned %d", cases[i].s, rc);
		if (cases[i].ok && t != cases[i].t)
			fail_msg("'%s': %lld, want %lld", cases[i].s, (long long)t,
				 (long long)cases[i].t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(accepted_and_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
