/* vrtime.h - RFC 3339 UTC timestamps: the only time format on the API. */
#ifndef VR_TIME_H
#define VR_TIME_H

#include <stdint.h>

#define VR_TIME_LEN 21 /* "2026-11-28T01:02:03Z" + NUL */

/* vr_time_format - write t as "YYYY-MM-DDTHH:MM:SSZ" into buf (VR_TIME_LEN bytes) */
void vr_time_format(int64_t t, char buf[VR_TIME_LEN]);
/* vr_time_parse - parse RFC 3339 (Z or +hh:mm offset, optional fraction); 0 or -1 */
int vr_time_parse(const char *s, int64_t *out);
/* vr_now - seconds since the epoch */
int64_t vr_now(void);

#endif
