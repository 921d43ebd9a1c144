/* test_http.c - apid/http.c's pure parts: route matching and Allow, on a test table,
 * and invariants of the real route table. */
#include <string.h>

#include "cm.h"
#include "http.h"

static enum vr_err nop(struct req *r)
{
	(void)r;
	return VR_OK;
}

static const struct route table[] = {
	{"GET", "/a", nop, ROLES_PUBLIC, 0, NULL, NULL},
	{"POST", "/a", nop, ROLES_PUBLIC, 0, NULL, NULL},
	{"GET", "/a/{id}", nop, ROLES_PUBLIC, 0, NULL, NULL},
	{"DELETE", "/a/{id}", nop, ROLES_PUBLIC, 0, NULL, NULL},
	{"POST", "/a/{id}/{action}", nop, ROLES_PUBLIC, 0, NULL, NULL},
	{"GET", "/a/special", nop, ROLES_PUBLIC, 0, NULL, NULL},
};
#define N (sizeof(table) / sizeof(table[0]))

static void matching(void **state)
{
	static const struct {
		const char *method, *path;
		int want;
		const char *p0, *p1;
	} cases[] = {
		{"GET", "/a", 0, NULL, NULL},
		{"POST", "/a", 1, NULL, NULL},
		{"PUT", "/a", -2, NULL, NULL},
		{"GET", "/a/x1", 2, "x1", NULL},
		{"DELETE", "/a/x1", 3, "x1", NULL},
		{"POST", "/a/x1/release", 4, "x1", "release"},
		{"GET", "/a/", -1, NULL, NULL},     /* empty segment is no id */
		{"GET", "/a//", -1, NULL, NULL},
		{"GET", "/a/x1/", -1, NULL, NULL},
		{"GET", "/b", -1, NULL, NULL},
		{"GET", "/", -1, NULL, NULL},
		{"GET", "", -1, NULL, NULL},
		{"GET", "/ab", -1, NULL, NULL},
		{"GET", "/a/../a", -2, NULL, NULL}, /* no normalisation: {id} is ".." */
		{"GET", "/a/special", 2, "special", NULL}, /* first match wins: table order */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char params[REQ_MAX_PARAMS][REQ_PARAM_MAX] = {{0}};
		int got = http_route_match(table, N, cases[i].method, cases[i].path, params,
					   REQ_MAX_PARAMS);

		if (got != cases[i].want)
			fail_msg("%s %s: got %d want %d", cases[i].method, cases[i].path, got,
				 cases[i].want);
		if (cases[i].p0)
			assert_string_equal(params[0], cases[i].p0);
		if (cases[i].p1)
			assert_string_equal(params[1], cases[i].p1);
	}
}

static void allow(void **state)
{
	char buf[128];

	(void)state;
	http_allow(table, N, "/a", buf, sizeof(buf));
	assert_string_equal(buf, "GET, POST");
	http_allow(table, N, "/a/zz", buf, sizeof(buf));
	assert_string_equal(buf, "GET, DELETE");
}

/* over-long segments never overflow the parameter buffers */
static void long_segment(void **state)
{
	char path[REQ_PARAM_MAX + 100], params[REQ_MAX_PARAMS][REQ_PARAM_MAX];

	(void)state;
	memset(path, 'x', sizeof(path));
	memcpy(path, "/a/", 3);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(http_route_match(table, N, "GET", path, params, REQ_MAX_PARAMS), -1);
}

/* the real table: unique method+path, templates well formed, limits sane */
static void real_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < routes_count; i++) {
		assert_true(routes[i].path[0] == '/');
		assert_non_null(routes[i].handler);
		if (!strcmp(routes[i].method, "GET") || !strcmp(routes[i].method, "DELETE"))
			assert_int_equal(routes[i].max_body, 0);
		for (size_t k = 0; k < i; k++)
			assert_false(!strcmp(routes[i].method, routes[k].method) &&
				     !strcmp(routes[i].path, routes[k].path));
		/* only the health endpoints, the spec and login are public */
		if (routes[i].roles == ROLES_PUBLIC)
			assert_true(!strcmp(routes[i].path, "/healthz") ||
				    !strcmp(routes[i].path, "/readyz") ||
				    !strcmp(routes[i].path, "/metrics") ||
				    !strcmp(routes[i].path, "/api/v1/openapi.yaml") ||
				    !strcmp(routes[i].path, "/api/v1/auth/login") ||
				    !strcmp(routes[i].path, "/api/v1/links/{token}"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matching),
		cmocka_unit_test(allow),
		cmocka_unit_test(long_segment),
		cmocka_unit_test(real_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
