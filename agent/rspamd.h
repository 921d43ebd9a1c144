/* rspamd.h - the rspamd /checkv2 client: POST a raw message, get its score and symbols.
 *
 * rspamd_check() sends the message with the SMTP context as request headers (IP, Helo,
 * From, one Rcpt per recipient, Queue-Id, Hostname) over libcurl, with a connect timeout
 * and a total timeout, and parses the JSON reply (rspamd_parse_reply(), pure): score,
 * required_score, action, the symbols with their scores, and the Authentication-Results
 * header that rspamd asks the MTA to add (milter.add_headers), if any. Every failure -
 * connection refused, timeout, HTTP status other than 200, a body that is not JSON or has
 * no numeric score - gives ok = false and a short text in error: the verdict then
 * tempfails unless the domain fails open (verdict.c).
 *
 * Threads: curl_global_init() must have been called by main() before any thread starts.
 * A struct rspamd_client (one keep-alive connection) belongs to one thread at a time.
 * Ownership: a result owns its strings (rspamd_result_free); the request's strings are
 * borrowed for the duration of the call.
 */
#ifndef VR_AGENT_RSPAMD_H
#define VR_AGENT_RSPAMD_H

#include <stdbool.h>
#include <stddef.h>

#define RSPAMD_MAX_REPLY (4L * 1024 * 1024) /* bytes of JSON accepted */

struct rspamd_opts {
	const char *url;	 /* "http://127.0.0.1:11333" (without /checkv2); borrowed */
	long connect_timeout_ms; /* 0: 2000 */
	long timeout_ms;	 /* whole request; 0: 20000 */
};

/* The SMTP context of one message; NULL members are not sent. */
struct rspamd_request {
	const char *ip; /* client address */
	const char *helo;
	const char *hostname; /* client's reverse name, when the MTA knows it */
	const char *from;     /* envelope sender ("" for the null sender) */
	const char *const *rcpts;
	size_t n_rcpts;
	const char *queue_id;
};

struct rspamd_symbol {
	char *name;
	double score;
};

struct rspamd_result {
	bool ok;
	char error[256]; /* when !ok */
	double score, required_score;
	char action[32]; /* "no action", "add header", "rewrite subject", "reject", ... */
	struct rspamd_symbol *symbols; /* sorted by name */
	size_t n_symbols;
	char *auth_results; /* Authentication-Results value to add, or NULL */
};

struct rspamd_client;

/* rspamd_client_new - a client for opts (borrowed: must outlive the client); NULL when
 * libcurl cannot make a handle */
struct rspamd_client *rspamd_client_new(const struct rspamd_opts *opts);
/* rspamd_client_free - release the client (NULL is fine) */
void rspamd_client_free(struct rspamd_client *c);
/* rspamd_check - scan len bytes of raw message; fills out (free with rspamd_result_free)
 * and returns out->ok */
bool rspamd_check(struct rspamd_client *c, const struct rspamd_request *req, const void *msg,
		  size_t len, struct rspamd_result *out);
/* rspamd_check_fd - the same, reading the message from fd (from offset 0, with pread) */
bool rspamd_check_fd(struct rspamd_client *c, const struct rspamd_request *req, int fd,
		     struct rspamd_result *out);
/* rspamd_parse_reply - parse a /checkv2 JSON reply into out (pure); returns out->ok */
bool rspamd_parse_reply(const char *body, size_t len, struct rspamd_result *out);
/* rspamd_has_symbol - true when the result carries the symbol (exact name) */
bool rspamd_has_symbol(const struct rspamd_result *r, const char *name);
/* rspamd_result_free - release the result's strings and reset it */
void rspamd_result_free(struct rspamd_result *r);

#endif
