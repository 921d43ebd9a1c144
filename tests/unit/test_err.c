/* test_err.c - common/err.c: the error table is complete and consistent. */
#include <string.h>

#include "cm.h"
#include "err.h"

/* every code has a row, a 4xx/5xx status (but VR_OK) and a unique slug */
static void table_is_complete(void **state)
{
	(void)state;
	for (int c = 0; c < VR_E__COUNT; c++) {
		const struct vr_err_info *i = vr_err_info((enum vr_err)c);

		assert_int_equal(i->code, c);
		assert_non_null(i->slug);
		assert_non_null(i->title);
		if (c != VR_OK)
			assert_true(i->status >= 400 && i->status <= 599);
		for (int d = 0; d < c; d++)
			if (d != VR_E_UNAVAILABLE && c != VR_E_BUSY)
				assert_string_not_equal(vr_err_info((enum vr_err)d)->slug, i->slug);
	}
}

/* the statuses the API contract promises */
static void statuses(void **state)
{
	static const struct {
		enum vr_err code;
		int status;
		const char *slug;
	} want[] = {
		{VR_E_BAD_JSON, 400, "bad-json"},
		{VR_E_INVALID_FIELD, 400, "invalid-field"},
		{VR_E_MISSING_FIELD, 400, "missing-field"},
		{VR_E_UNKNOWN_FIELD, 400, "unknown-field"},
		{VR_E_UNAUTHORIZED, 401, "unauthorized"},
		{VR_E_TOKEN_EXPIRED, 401, "token-expired"},
		{VR_E_TOKEN_REVOKED, 401, "token-revoked"},
		{VR_E_LOGIN_FAILED, 401, "login-failed"},
		{VR_E_FORBIDDEN, 403, "forbidden"},
		{VR_E_NOT_FOUND, 404, "not-found"},
		{VR_E_METHOD, 405, "method-not-allowed"},
		{VR_E_CONFLICT, 409, "conflict"},
		{VR_E_TOO_LARGE, 413, "payload-too-large"},
		{VR_E_URI_TOO_LONG, 414, "uri-too-long"},
		{VR_E_MEDIA_TYPE, 415, "unsupported-media-type"},
		{VR_E_RATE_LIMITED, 429, "rate-limited"},
		{VR_E_INTERNAL, 500, "internal"},
		{VR_E_UNAVAILABLE, 503, "unavailable"},
		{VR_E_BUSY, 503, "unavailable"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(vr_err_info(want[i].code)->status, want[i].status);
		assert_string_equal(vr_err_info(want[i].code)->slug, want[i].slug);
	}
}

/* out-of-range codes map to internal instead of reading past the table */
static void unknown_codes(void **state)
{
	(void)state;
	assert_int_equal(vr_err_info((enum vr_err)9999)->status, 500);
	assert_int_equal(vr_err_info((enum vr_err)-1)->status, 500);
	assert_string_equal(vr_err_str((enum vr_err)VR_E__COUNT), "internal");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_is_complete),
		cmocka_unit_test(statuses),
		cmocka_unit_test(unknown_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
