/*
 * http.h - vrcli's one way to talk to apid: libcurl for the transfer, jansson for bodies.
 *
 * Owns: the libcurl handle (reused, so `audit --all` keeps one connection), the request
 * policy (Bearer token, timeout, TLS verification on unless --insecure, no redirects,
 * http/https only), parsing of JSON replies, downloads of non-JSON bodies (a held message,
 * the lists' CSV) straight to a FILE, uploads of non-JSON bodies (a CSV file), and turning
 * a failed call into one line on stderr plus an exit code (through errmap.c).
 *
 * Ownership: struct http_client borrows the strings of its struct http_opts for its
 * whole life; http_free() releases it. A struct http_reply owns its body (a json_t
 * reference) and location; release them with http_reply_free(). Strings returned by
 * http_escape() and built by http_query_add() are malloc'd and freed with free().
 */
#ifndef VRCLI_HTTP_H
#define VRCLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "errmap.h"

struct http_opts {
	const char *url;     /* base URL, e.g. "https://gw.example:8443" */
	const char *token;   /* NULL: no Authorization header */
	long timeout;	     /* whole-transfer timeout, seconds */
	bool insecure;	     /* skip TLS certificate and host verification */
	const char *ca_file; /* NULL: the system's CA bundle */
	const char *user_agent;
};

struct http_reply {
	long status;	  /* 0 when no reply came */
	json_t *body;	  /* the JSON body, or NULL when empty or not JSON */
	long retry_after; /* Retry-After in seconds, -1 when absent */
	char *location;	  /* Location header, or NULL */
};

struct http_client;

/* http_new - a client for *o (borrowed); NULL if libcurl cannot start */
struct http_client *http_new(const struct http_opts *o);

/* http_set_token - send TOKEN (borrowed; NULL for none) from the next request on */
void http_set_token(struct http_client *c, const char *token);

/* http_request - METHOD PATH with BODY (or NULL); VRCLI_EXIT_CONNECT (printed) if no reply */
enum vrcli_exit http_request(struct http_client *c, const char *method, const char *path,
			     const json_t *body, struct http_reply *r);

/* http_download - GET PATH accepting ACCEPT (e.g. "message/rfc822"); a 2xx body is
 * written to OUT untouched as it arrives, and *written counts it (an error reply is never
 * written to OUT); any reply but 2xx is printed and mapped to an exit code, as http_call() */
enum vrcli_exit http_download(struct http_client *c, const char *path, const char *accept,
			      FILE *out, long long *written, struct http_reply *r);

/* http_call - http_request; any reply but 2xx is printed and mapped to an exit code */
enum vrcli_exit http_call(struct http_client *c, const char *method, const char *path,
			  const json_t *body, struct http_reply *r);

/* http_call_bytes - METHOD PATH with the body DATA[0..LEN) (borrowed) of media type TYPE,
 * e.g. "text/csv"; any reply but 2xx is printed and mapped to an exit code, as http_call() */
enum vrcli_exit http_call_bytes(struct http_client *c, const char *method, const char *path,
				const char *data, size_t len, const char *type,
				struct http_reply *r);

/* http_fail - print R's error (one line on stderr) and return its exit code */
enum vrcli_exit http_fail(const struct http_client *c, const struct http_reply *r);

/* http_reply_free - release what *r holds */
void http_reply_free(struct http_reply *r);

/* http_free - release C (NULL is fine) */
void http_free(struct http_client *c);

/* http_escape - S percent-encoded for a path segment or query value */
char *http_escape(const char *s);

/* http_query_add - append "?KEY=VALUE" or "&KEY=VALUE" (VALUE encoded) to *path */
void http_query_add(char **path, const char *key, const char *value);

#endif
