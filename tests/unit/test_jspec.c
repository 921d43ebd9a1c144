/* test_jspec.c - common/jspec.c: table-driven request bodies and what each gets. */
#include <string.h>

#include "cm.h"
#include "jspec.h"

struct in {
	const char *name;
	int64_t count;
	bool flag;
	int64_t when;
	const char *color;
	json_t *tags;
	double ratio;
};

static const char *const colors[] = {"red", "blue", NULL};
static const struct jspec spec[] = {
	{"name", JSPEC_STRING, true, 1, 8, NULL, offsetof(struct in, name)},
	{"count", JSPEC_INT, false, 0, 100, NULL, offsetof(struct in, count)},
	{"flag", JSPEC_BOOL, false, 0, 0, NULL, offsetof(struct in, flag)},
	{"when", JSPEC_TIME, false, 0, 0, NULL, offsetof(struct in, when)},
	{"color", JSPEC_ENUM, false, 0, 0, colors, offsetof(struct in, color)},
	{"tags", JSPEC_ARRAY, false, 1, 2, NULL, offsetof(struct in, tags)},
	{"ratio", JSPEC_NUMBER, false, -10, 10, NULL, offsetof(struct in, ratio)},
};

static const struct {
	const char *body;
	enum vr_err want;
	const char *field; /* NULL: none expected */
} cases[] = {
	{"{\"name\":\"bob\"}", VR_OK, NULL},
	{"{\"name\":\"bob\",\"count\":100,\"flag\":true,\"when\":\"2030-01-02T03:04:05Z\","
	 "\"color\":\"red\"}",
	 VR_OK, NULL},
	{"", VR_E_BAD_JSON, NULL},
	{"{", VR_E_BAD_JSON, NULL},
	{"[1,2]", VR_E_BAD_JSON, NULL},
	{"\"name\"", VR_E_BAD_JSON, NULL},
	{"{\"name\":\"a\",\"name\":\"b\"}", VR_E_BAD_JSON, NULL},
	{"{}", VR_E_MISSING_FIELD, "name"},
	{"{\"count\":1}", VR_E_MISSING_FIELD, "name"},
	{"{\"name\":\"bob\",\"admin\":true}", VR_E_UNKNOWN_FIELD, "admin"},
	{"{\"name\":5}", VR_E_INVALID_FIELD, "name"},
	{"{\"name\":null}", VR_E_INVALID_FIELD, "name"},
	{"{\"name\":\"bob\",\"count\":null}", VR_OK, NULL},
	{"{\"name\":\"\"}", VR_E_INVALID_FIELD, "name"},
	{"{\"name\":\"123456789\"}", VR_E_INVALID_FIELD, "name"},
	{"{\"name\":\"a\\u0000b\"}", VR_E_INVALID_FIELD, "name"},
	{"{\"name\":\"bob\",\"count\":101}", VR_E_INVALID_FIELD, "count"},
	{"{\"name\":\"bob\",\"count\":-1}", VR_E_INVALID_FIELD, "count"},
	{"{\"name\":\"bob\",\"count\":1.5}", VR_E_INVALID_FIELD, "count"},
	{"{\"name\":\"bob\",\"count\":\"1\"}", VR_E_INVALID_FIELD, "count"},
	{"{\"name\":\"bob\",\"flag\":1}", VR_E_INVALID_FIELD, "flag"},
	{"{\"name\":\"bob\",\"when\":\"tomorrow\"}", VR_E_INVALID_FIELD, "when"},
	{"{\"name\":\"bob\",\"when\":\"2030-02-30T00:00:00Z\"}", VR_E_INVALID_FIELD, "when"},
	{"{\"name\":\"bob\",\"color\":\"green\"}", VR_E_INVALID_FIELD, "color"},
	{"{\"name\":\"bob\",\"color\":\"RED\"}", VR_E_INVALID_FIELD, "color"},
	{"{\"name\":\"bob\",\"tags\":[1]}", VR_OK, NULL},
	{"{\"name\":\"bob\",\"tags\":[]}", VR_E_INVALID_FIELD, "tags"},
	{"{\"name\":\"bob\",\"tags\":[1,2,3]}", VR_E_INVALID_FIELD, "tags"},
	{"{\"name\":\"bob\",\"tags\":\"a\"}", VR_E_INVALID_FIELD, "tags"},
	{"{\"name\":\"bob\",\"ratio\":2.5}", VR_OK, NULL},
	{"{\"name\":\"bob\",\"ratio\":-10}", VR_OK, NULL},
	{"{\"name\":\"bob\",\"ratio\":10.01}", VR_E_INVALID_FIELD, "ratio"},
	{"{\"name\":\"bob\",\"ratio\":\"2\"}", VR_E_INVALID_FIELD, "ratio"},
};

/* each body gets the expected outcome, naming the expected field */
static void cases_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in in = {0};
		struct jspec_error err = {0};
		json_t *j = NULL;
		enum vr_err e = jspec_load(cases[i].body, strlen(cases[i].body), &j, &err);

		if (e == VR_OK)
			e = jspec_parse(j, spec, 7, &in, NULL, &err);
		if (e != cases[i].want)
			fail_msg("case %zu (%s): got %s, want %s", i, cases[i].body, vr_err_str(e),
				 vr_err_str(cases[i].want));
		if (cases[i].field) {
			assert_non_null(err.field);
			assert_string_equal(err.field, cases[i].field);
			assert_true(strlen(err.detail) > 0);
		}
		json_decref(j);
	}
}

/* values land in the struct; absent optional fields leave the defaults alone */
static void values_and_presence(void **state)
{
	const char *body = "{\"name\":\"bob\",\"count\":7,\"when\":\"2030-01-02T03:04:05+01:00\"}";
	struct in in = {.flag = true};
	struct jspec_error err;
	uint32_t seen = 0;
	json_t *j;

	(void)state;
	assert_int_equal(jspec_load(body, strlen(body), &j, &err), VR_OK);
	assert_int_equal(jspec_parse(j, spec, 7, &in, &seen, &err), VR_OK);
	assert_string_equal(in.name, "bob");
	assert_int_equal(in.count, 7);
	assert_true(in.flag);
	assert_int_equal(in.when, 1893553445 - 3600);
	assert_null(in.color);
	assert_int_equal(seen, 1u | 2u | 8u);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cases_table),
		cmocka_unit_test(values_and_presence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
