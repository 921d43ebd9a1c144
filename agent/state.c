/* state.c - the agent's state directory (see state.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "state.h"

/* state_path - STATE/name */
static void state_path(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

/* state_init - mkdir -p, the last component 0700 */
int state_init(const char *dir)
{
	char copy[PATH_MAX];

	if (snprintf(copy, sizeof(copy), "%s", dir) >= (int)sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(copy, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* state_applied_version - parse STATE/version */
int64_t state_applied_version(const char *dir)
{
	char path[PATH_MAX], *text, *end;
	long long v;

	state_path(path, sizeof(path), dir, "version");
	text = vr_read_file(path, 64, NULL);
	if (text == NULL)
		return 0;
	v = strtoll(text, &end, 10);
	if (end == text || v < 0)
		v = 0;
	free(text);
	return v;
}

/* state_save_good - snapshot.json first, then version: version never runs ahead */
int state_save_good(const char *dir, const char *text, size_t len, int64_t version)
{
	char path[PATH_MAX], num[32];
	int n = snprintf(num, sizeof(num), "%lld\n", (long long)version);

	state_path(path, sizeof(path), dir, "snapshot.json");
	if (vr_atomic_write(path, text, len, 0600) < 0)
		return -1;
	state_path(path, sizeof(path), dir, "version");
	return vr_atomic_write(path, num, (size_t)n, 0600);
}

/* state_set_error - last-error holds the reason of the last failure */
int state_set_error(const char *dir, const char *err)
{
	char path[PATH_MAX];

	state_path(path, sizeof(path), dir, "last-error");
	if (err == NULL)
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	return vr_atomic_write(path, err, strlen(err), 0600);
}
