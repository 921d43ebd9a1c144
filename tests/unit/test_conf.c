/* test_conf.c - common/conf.c: defaults < file < environment < flags; refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm.h"
#include "conf.h"

struct cfg {
	char *name;
	int64_t port;
	int tls;
};

static const struct vr_conf_item items[] = {
	{"name", VR_CONF_STR, "dflt", 0, 0, offsetof(struct cfg, name), "a name", 0},
	{"port", VR_CONF_INT, "8080", 1, 65535, offsetof(struct cfg, port), "a port", 0},
	{"tls", VR_CONF_BOOL, "false", 0, 0, offsetof(struct cfg, tls), "a switch", 0},
};
static const struct vr_conf_schema schema = {"prog", "VR_TEST_", items, 3};

/* load - vr_conf_load with argv given as a NULL-terminated list */
static int load(struct cfg *c, char *err, const char **args)
{
	char *argv[16] = {"prog"};
	int argc = 1;

	while (args && *args)
		argv[argc++] = (char *)*args++;
	return vr_conf_load(&schema, c, argc, argv, stdout, err, 256);
}

static void defaults(void **state)
{
	struct cfg c = {0};
	char err[256];

	(void)state;
	unsetenv("VR_TEST_PORT");
	assert_int_equal(load(&c, err, NULL), 0);
	assert_string_equal(c.name, "dflt");
	assert_int_equal(c.port, 8080);
	assert_int_equal(c.tls, 0);
	vr_conf_free(&schema, &c);
}

static void precedence(void **state)
{
	char path[] = "/tmp/vrconfXXXXXX", err[256];
	int fd = mkstemp(path);
	const char *text = "# comment\nname = fromfile\nport = 1000\n";
	struct cfg c = {0};
	const char *args[] = {"--config", path, "--port=3000", "--tls", NULL};

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	setenv("VR_TEST_PORT", "2000", 1);
	setenv("VR_TEST_NAME", "fromenv", 1);
	assert_int_equal(load(&c, err, args), 0);
	assert_string_equal(c.name, "fromenv"); /* env beats file */
	assert_int_equal(c.port, 3000);         /* flag beats env */
	assert_int_equal(c.tls, 1);
	vr_conf_free(&schema, &c);
	unsetenv("VR_TEST_PORT");
	unsetenv("VR_TEST_NAME");
	unlink(path);
}

static void refusals(void **state)
{
	static const char *const bad[][3] = {
		{"--port=0", NULL},      {"--port=65536", NULL}, {"--port=12x", NULL},
		{"--tls=maybe", NULL},   {"--nope=1", NULL},     {"stray", NULL},
		{"--port", NULL},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg c = {0};

		err[0] = '\0';
		if (load(&c, err, (const char **)bad[i]) != -1)
			fail_msg("%s was accepted", bad[i][0]);
		assert_true(strlen(err) > 0);
		vr_conf_free(&schema, &c);
	}
	{
		struct cfg c = {0};

		setenv("VR_TEST_PORT", "abc", 1);
		assert_int_equal(load(&c, err, NULL), -1);
		assert_non_null(strstr(err, "VR_TEST_PORT"));
		unsetenv("VR_TEST_PORT");
		vr_conf_free(&schema, &c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(precedence),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
