/*
 * text.h - small text helpers for what vrcli prints to a terminal.
 *
 * Owns: scrubbing of control characters from text that came from the server (a username
 * typed at a failed login ends up in the audit log, so it must not be able to move the
 * cursor or recolour the terminal), also for multi-line text (a message preview), and
 * the display width of UTF-8 text for table alignment. Pure functions, no allocation.
 */
#ifndef VRCLI_TEXT_H
#define VRCLI_TEXT_H

#include <stddef.h>

/* text_scrub - replace C0, DEL and C1 control characters in S by spaces; returns S */
char *text_scrub(char *s);

/* text_scrub_lines - text_scrub(), but keep newlines and tabs and drop a CR before LF;
 * for multi-line text such as a message preview; returns S (shortened in place) */
char *text_scrub_lines(char *s);

/* text_width - display columns of UTF-8 text S (one per code point) */
size_t text_width(const char *s);

#endif
