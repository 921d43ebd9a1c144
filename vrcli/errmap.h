/*
 * errmap.h - vrcli's exit codes, and the mapping from an API reply to them.
 *
 * Owns: the exit-code enum (the CLI's contract with scripts) and the pure functions that
 * turn an HTTP status and an RFC 9457 problem+json body into an exit code and one line
 * of text for stderr. No I/O here: http.c calls in, tests call in directly.
 *
 * Ownership: struct errmap_problem borrows its strings from the json_t it was filled
 * from (valid while that object lives); errmap_format() returns a malloc'd string that
 * the caller frees with free().
 */
#ifndef VRCLI_ERRMAP_H
#define VRCLI_ERRMAP_H

#include <jansson.h>

/* Exit codes; documented in `vrcli help` and stable for scripts. */
enum vrcli_exit {
	VRCLI_EXIT_OK = 0,
	VRCLI_EXIT_OTHER = 1,	 /* anything not below, e.g. a local file error */
	VRCLI_EXIT_USAGE = 2,	 /* bad flags or arguments */
	VRCLI_EXIT_AUTH = 3,	 /* 401, 403 */
	VRCLI_EXIT_NOTFOUND = 4, /* 404 */
	VRCLI_EXIT_REJECTED = 5, /* 400, 409, 413, 414, 415, 429 */
	VRCLI_EXIT_SERVER = 6,	 /* 5xx */
	VRCLI_EXIT_CONNECT = 7,	 /* no HTTP reply at all (libcurl error) */
};

/* What vrcli uses of a problem+json reply; NULL strings when absent. */
struct errmap_problem {
	long status;	   /* the HTTP status, not the body's "status" */
	const char *title;
	const char *detail;
	const char *field;
	const char *code;	   /* e.g. "login-failed" */
	long retry_after;  /* seconds, -1 when unknown */
};

/* errmap_exit_code - exit code for an HTTP status */
enum vrcli_exit errmap_exit_code(long status);

/* errmap_from_json - fill *p from STATUS, a problem body (may be NULL) and Retry-After */
void errmap_from_json(struct errmap_problem *p, long status, const json_t *body,
		      long retry_after_header);

/* errmap_format - one line (no "vrcli: " prefix, no newline) describing *p */
char *errmap_format(const struct errmap_problem *p, const char *redact);

#endif
