/* log.h - leveled logging to stderr, one line per call, safe from any thread.
 *
 * Every line carries the time, the level and the calling function:
 *   2026-11-28T01:02:03Z warn  login_handler: too many failures for 127.0.0.1
 * Use the VR_LOG_* macros; they add __func__. The minimum level is set once by main().
 * Client faults are logged at "info" (they are not our bugs); our bugs at "err".
 */
#ifndef VR_LOG_H
#define VR_LOG_H

enum vr_log_level { VR_LOG_DEBUG, VR_LOG_INFO, VR_LOG_WARN, VR_LOG_ERR };

void vr_log_set_level(enum vr_log_level level);
int vr_log_parse_level(const char *name, enum vr_log_level *out);
void vr_log(enum vr_log_level level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
_Noreturn void vr_die(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define VR_LOG_DEBUG(...) vr_log(VR_LOG_DEBUG, __func__, __VA_ARGS__)
#define VR_LOG_INFO(...)  vr_log(VR_LOG_INFO, __func__, __VA_ARGS__)
#define VR_LOG_WARN(...)  vr_log(VR_LOG_WARN, __func__, __VA_ARGS__)
#define VR_LOG_ERR(...)   vr_log(VR_LOG_ERR, __func__, __VA_ARGS__)
/* VR_DIE - log and abort: out of memory and broken invariants only */
#define VR_DIE(...) vr_die(__func__, __VA_ARGS__)
/* VR_CHECK_ALLOC - abort when an allocation failed */
#define VR_CHECK_ALLOC(p)                                                                          \
	do {                                                                                       \
		if ((p) == NULL)                                                                   \
			VR_DIE("out of memory");                                                   \
	} while (0)

#endif
