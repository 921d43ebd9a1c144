/*
 * text.c - control-character scrubbing and display width for terminal output.
 *
 * Entry points: text_scrub(), text_scrub_lines(), text_width(). Pure, thread-safe. Width counts one column per
 * code point: good for the Latin scripts that usernames and details use here; wide (CJK)
 * characters would misalign a table, which is cosmetic.
 */
#include "text.h"

/* text_scrub - replace C0, DEL and C1 control characters in S by spaces; returns S */
char *text_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*p = ' ';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F, e.g. CSI (0x9b): two bytes become two spaces */
			p[0] = ' ';
			p[1] = ' ';
			p++;
		}
	}
	return s;
}

/* text_scrub_lines - text_scrub(), but keep newlines and tabs and drop a CR before LF */
char *text_scrub_lines(char *s)
{
	unsigned char *in = (unsigned char *)s, *out = in;

	for (; *in; in++) {
		if (*in == '\r' && in[1] == '\n')
			continue;
		if (*in == '\n' || *in == '\t') {
			*out++ = *in;
		} else if (*in < 0x20 || *in == 0x7f) {
			*out++ = ' ';
		} else if (*in == 0xc2 && in[1] >= 0x80 && in[1] <= 0x9f) {
			*out++ = ' ';
			*out++ = ' ';
			in++;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return s;
}

/* text_width - display columns of UTF-8 text S (one per code point) */
size_t text_width(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}
