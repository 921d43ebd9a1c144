/* test_csv.c - common/csv.c: records in, fields out, and back. */
#include <string.h>

#include "cm.h"
#include "csv.h"

static void reading(void **state)
{
	const char *text = "kind,pattern,comment\r\nallow,a@b.test,\"hello, world\"\n"
			   "block,x.test,\"say \"\"hi\"\"\"\nblock,y.test,\"two\nlines\"\n\nallow,z.test\n";
	struct csv_reader r;
	const char *f[CSV_MAX_FIELDS];

	(void)state;
	csv_reader_init(&r, text, strlen(text));
	assert_int_equal(csv_next(&r, f), 3);
	assert_string_equal(f[2], "comment");
	assert_int_equal(csv_next(&r, f), 3);
	assert_string_equal(f[2], "hello, world");
	assert_int_equal(csv_next(&r, f), 3);
	assert_string_equal(f[2], "say \"hi\"");
	assert_int_equal(csv_next(&r, f), 3);
	assert_string_equal(f[2], "two\nlines");
	assert_int_equal(r.line, 5);
	assert_int_equal(csv_next(&r, f), 1); /* the empty line: one empty field */
	assert_string_equal(f[0], "");
	assert_int_equal(csv_next(&r, f), 2);
	assert_string_equal(f[1], "z.test");
	assert_int_equal(csv_next(&r, f), 0);
	csv_reader_free(&r);
}

static void malformed(void **state)
{
	static const char *const bad[] = {"a,\"unterminated\n", "a,\"x\"y\n",
					  "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n"};
	const char *f[CSV_MAX_FIELDS];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct csv_reader r;

		csv_reader_init(&r, bad[i], strlen(bad[i]));
		assert_int_equal(csv_next(&r, f), -1);
		csv_reader_free(&r);
	}
}

static void writing(void **state)
{
	struct vr_buf b = {0};

	(void)state;
	csv_put(&b, "plain", ',');
	csv_put(&b, "with,comma", ',');
	csv_put(&b, "=cmd()", ',');
	csv_put(&b, "q\"uote", '\n');
	assert_string_equal(b.data, "plain,\"with,comma\",'=cmd(),\"q\"\"uote\"\n");
	vr_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reading),
		cmocka_unit_test(malformed),
		cmocka_unit_test(writing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
