/* test_atomic_file.c - common/atomic_file.c: replace, mode, no temp left behind. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cm.h"

static void replace_and_mode(void **state)
{
	char dir[] = "/tmp/vratomXXXXXX", path[256];
	struct stat st;
	size_t len;
	char *back;
	DIR *d;
	struct dirent *de;
	int n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(vr_atomic_write(path, "old", 3, 0644), 0);
	assert_int_equal(vr_atomic_write(path, "new!", 4, 0600), 0);
	back = vr_read_file(path, 100, &len);
	assert_non_null(back);
	assert_int_equal(len, 4);
	assert_string_equal(back, "new!");
	free(back);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* nothing but the file itself remains */
	d = opendir(dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	/* too large for the limit: refused */
	assert_null(vr_read_file(path, 3, NULL));
	unlink(path);
	rmdir(dir);
}

static void failure_leaves_nothing(void **state)
{
	(void)state;
	assert_int_equal(vr_atomic_write("/nonexistent-dir/f", "x", 1, 0600), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replace_and_mode),
		cmocka_unit_test(failure_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
