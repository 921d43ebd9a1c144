/*
 * test_vrcli_errmap.c - tests for vrcli/errmap.c.
 *
 * Two tables: HTTP status -> exit code (the contract scripts rely on), and reply ->
 * the one line vrcli prints on stderr (title, detail, field, the 401 and 429 hints,
 * replies without a problem body, scrubbing to one line, redaction of the token).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errmap.h"

/* test_exit_codes - every status class lands on its documented exit code */
static void test_exit_codes(void **state)
{
	static const struct {
		long status;
		enum vrcli_exit want;
	} cases[] = {
		{200, VRCLI_EXIT_OK}, {201, VRCLI_EXIT_OK}, {204, VRCLI_EXIT_OK},
		{400, VRCLI_EXIT_REJECTED}, {401, VRCLI_EXIT_AUTH}, {403, VRCLI_EXIT_AUTH},
		{404, VRCLI_EXIT_NOTFOUND}, {405, VRCLI_EXIT_OTHER}, {409, VRCLI_EXIT_REJECTED},
		{413, VRCLI_EXIT_REJECTED}, {414, VRCLI_EXIT_REJECTED}, {415, VRCLI_EXIT_REJECTED},
		{418, VRCLI_EXIT_OTHER}, {429, VRCLI_EXIT_REJECTED}, {500, VRCLI_EXIT_SERVER},
		{502, VRCLI_EXIT_SERVER}, {503, VRCLI_EXIT_SERVER}, {599, VRCLI_EXIT_SERVER},
		{301, VRCLI_EXIT_OTHER}, {0, VRCLI_EXIT_OTHER}, {100, VRCLI_EXIT_OTHER},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (errmap_exit_code(cases[i].status) != cases[i].want)
			fail_msg("status %ld: exit %d, want %d", cases[i].status,
				 errmap_exit_code(cases[i].status), cases[i].want);
}

/* test_messages - the one line for each kind of reply */
static void test_messages(void **state)
{
	static const struct {
		long status;
		const char *body; /* JSON text, or NULL for no body */
		long retry_after; /* the Retry-After header, -1 when absent */
		const char *secret;
		const char *want;
	} cases[] = {
		{400,
		 "{\"type\":\"urn:vrgate:problem:invalid-field\",\"title\":\"Invalid field\","
		 "\"status\":400,\"detail\":\"must be an RFC 3339 date-time\",\"field\":\"since\","
		 "\"code\":\"invalid-field\"}",
		 -1, NULL, "Invalid field: must be an RFC 3339 date-time (field: since)"},
		{401, "{\"title\":\"Unauthorized\",\"detail\":\"the token has expired\","
		      "\"code\":\"token-expired\"}",
		 -1, NULL, "Unauthorized: the token has expired; run 'vrcli login'"},
		{401, "{\"title\":\"Login failed\",\"detail\":\"wrong username or password\","
		      "\"code\":\"login-failed\"}",
		 -1, NULL, "Login failed: wrong username or password"},
		{403,
		 "{\"title\":\"Forbidden\",\"detail\":\"role above yours\",\"field\":\"role\"}",
		 -1, NULL, "Forbidden: role above yours (field: role)"},
		{404, "{\"title\":\"Not found\"}", -1, NULL, "Not found"},
		{404, "{\"title\":\"Not found\",\"detail\":\"not found\"}", -1, NULL, "Not found"},
		{429,
		 "{\"title\":\"Too many requests\",\"detail\":\"slow down\",\"retry_after\":12}",
		 30, NULL, "Too many requests: slow down; retry after 30 s"},
		{429, "{\"title\":\"Too many requests\",\"retry_after\":12}", -1, NULL,
		 "Too many requests; retry after 12 s"},
		{429, NULL, -1, NULL, "Too Many Requests (HTTP 429, no problem body); retry later"},
		{502, NULL, -1, NULL, "Bad Gateway (HTTP 502, no problem body)"},
		{418, NULL, -1, NULL, "HTTP 418 (no problem body)"},
		{500, "[1, 2]", -1, NULL, "Internal Server Error (HTTP 500, no problem body)"},
		{401, NULL, -1, NULL,
		 "Unauthorized (HTTP 401, no problem body); run 'vrcli login'"},
		{400,
		 "{\"title\":\"Bad\\nrequest\",\"detail\":\"line1\\r\\nline2\\u001b[31m\"}",
		 -1, NULL, "Bad request: line1  line2 [31m"},
		{400, "{\"title\":\"Bad\",\"detail\":\"token vrt_s3cret is odd vrt_s3cret\"}", -1,
		 "vrt_s3cret", "Bad: token [redacted] is odd [redacted]"},
		{400, "{\"title\":\"\",\"detail\":\"\"}", -1, NULL,
		 "Bad Request (HTTP 400, no problem body)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *body = cases[i].body ? json_loads(cases[i].body, 0, NULL) : NULL;
		struct errmap_problem p;
		char *line;

		if (cases[i].body)
			assert_non_null(body);
		errmap_from_json(&p, cases[i].status, body, cases[i].retry_after);
		line = errmap_format(&p, cases[i].secret);
		if (strcmp(line, cases[i].want) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, line, cases[i].want);
		free(line);
		json_decref(body);
	}
}

/* main - run the vrcli_errmap tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests_name("vrcli_errmap", tests, NULL, NULL);
}
