/* vrtime.c - RFC 3339 formatting and strict parsing (see vrtime.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vrtime.h"

/* vr_time_format - write t as "YYYY-MM-DDTHH:MM:SSZ" */
void vr_time_format(int64_t t, char buf[VR_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, VR_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* digits - read n decimal digits at s into *out; 0 or -1 */
static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* vr_time_parse - parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)" strictly */
int vr_time_parse(const char *s, int64_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	struct tm tm = {0};
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60 ||
	    y < 1970)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -1;
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se == 60 ? 59 : se;
	*out = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}

/* vr_now - seconds since the epoch */
int64_t vr_now(void)
{
	return (int64_t)time(NULL);
}
