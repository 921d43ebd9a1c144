/* test_ratelimit.c - apid/ratelimit.c: windows, reset, bounded memory. */
#include <stdio.h>

#include "cm.h"
#include "ratelimit.h"

static void window(void **state)
{
	struct ratelimit *rl = ratelimit_new(64, 300);

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ratelimit_wait(rl, "u:a", 5, 1000 + i), 0);
		ratelimit_fail(rl, "u:a", 1000 + i);
	}
	assert_int_equal(ratelimit_wait(rl, "u:a", 5, 1010), 0);
	ratelimit_fail(rl, "u:a", 1010);
	assert_int_equal(ratelimit_wait(rl, "u:a", 5, 1010), 290); /* window began at 1000 */
	assert_int_equal(ratelimit_wait(rl, "u:b", 5, 1010), 0);   /* others unaffected */
	assert_int_equal(ratelimit_wait(rl, "u:a", 5, 1300), 0);   /* window over */
	ratelimit_free(rl);
}

static void reset(void **state)
{
	struct ratelimit *rl = ratelimit_new(64, 300);

	(void)state;
	for (int i = 0; i < 5; i++)
		ratelimit_fail(rl, "u:a", 1000);
	assert_true(ratelimit_wait(rl, "u:a", 5, 1001) > 0);
	ratelimit_reset(rl, "u:a");
	assert_int_equal(ratelimit_wait(rl, "u:a", 5, 1001), 0);
	ratelimit_free(rl);
}

/* a flood of distinct keys stays in the fixed table; a fresh key can still be blocked */
static void flood(void **state)
{
	struct ratelimit *rl = ratelimit_new(16, 300);
	char key[32];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "ip:10.0.%d.%d", i / 256, i % 256);
		ratelimit_fail(rl, key, 1000 + i / 100);
	}
	for (int i = 0; i < 3; i++)
		ratelimit_fail(rl, "u:victim", 2000);
	assert_true(ratelimit_wait(rl, "u:victim", 3, 2000) > 0);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window),
		cmocka_unit_test(reset),
		cmocka_unit_test(flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
