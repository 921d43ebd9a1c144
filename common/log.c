/* log.c - leveled logging to stderr (see log.h).
 *
 * The level is global configuration, written once by main() before threads start.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum vr_log_level min_level = VR_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "err"};

/* vr_log_set_level - set the least level that is printed */
void vr_log_set_level(enum vr_log_level level)
{
	min_level = level;
}

/* vr_log_parse_level - map "debug".."err" to a level; -1 when unknown */
int vr_log_parse_level(const char *name, enum vr_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum vr_log_level)i;
			return 0;
		}
	}
	return -1;
}

/* vr_vlog - format one line and write it with a single stdio call */
static void vr_vlog(enum vr_log_level level, const char *func, const char *fmt, va_list ap)
{
	char msg[2048], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* keep one event on one line whatever the message holds */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s %-5s %s: %s\n", stamp, level_names[level], func, msg);
}

/* vr_log - log one line when level is at least the configured minimum */
void vr_log(enum vr_log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vr_vlog(level, func, fmt, ap);
	va_end(ap);
}

/* vr_die - log at "err" and abort */
void vr_die(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vr_vlog(VR_LOG_ERR, func, fmt, ap);
	va_end(ap);
	abort();
}
