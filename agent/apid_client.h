/* apid_client.h - the agent's calls to apid, over libcurl.
 *
 *   GET  /api/v1/agent/snapshot?wait=N   If-None-Match: "v<version>" -> 200 (snapshot) | 304
 *   POST /api/v1/agent/heartbeat         {name, applied_version, postfix, started_at
 *                                         [, last_error]} -> 204
 *   POST /api/v1/agent/quarantine        the raw message (message/rfc822), metadata in
 *                                         X-VR-Metadata (base64url JSON) -> 201 | 200 {id}
 *   POST /api/v1/agent/messages          a tracking report (JSON) -> 201 | 200
 * Both carry `Authorization: Bearer <agent token>`; redirects are not followed; TLS peers
 * are verified (against ca_file when set). A transfer in progress is abandoned within about
 * a second once *stop becomes non-zero (SIGTERM during a long poll).
 *
 * Ownership: the client borrows its struct apid_opts (and its strings) for its whole life;
 * apid_free() releases it. Bodies returned are malloc'd and freed by the caller. A client
 * is not thread-safe (one libcurl handle, reused so that the connection is kept alive):
 * the loop has its own, each milter session borrows one from the milter's pool.
 */
#ifndef VR_AGENT_APID_CLIENT_H
#define VR_AGENT_APID_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct apid_opts {
	const char *url;     /* base URL: http://127.0.0.1:8080 */
	const char *token;   /* the agent's API token */
	const char *ca_file; /* NULL or "": the system's CA bundle */
	const volatile sig_atomic_t *stop; /* NULL: transfers are never abandoned */
	long timeout_ms;                   /* > 0: cap on every request (the milter's) */
};

struct heartbeat {
	const char *name;
	int64_t applied_version; /* 0: nothing applied yet */
	const char *last_error;  /* NULL: none */
	const char *postfix;     /* running | stopped | unknown */
	const char *started_at;  /* RFC 3339 */
};

struct apid_client;

/* apid_new - a client for *o (borrowed); NULL when libcurl cannot start */
struct apid_client *apid_new(const struct apid_opts *o);
/* apid_free - release the client */
void apid_free(struct apid_client *c);
/* apid_get_snapshot - fetch the snapshot newer than version have (0: any), long-polling up
 * to wait seconds. Returns the HTTP status (200: *body and *len set, malloc'd; 304: nothing
 * new), or 0 when no reply came; err describes anything but 200 and 304 */
long apid_get_snapshot(struct apid_client *c, int64_t have, int wait, char **body, size_t *len,
		       char *err, size_t errsz);
/* apid_heartbeat - post hb; the HTTP status (204 expected) or 0, err set when not 2xx */
long apid_heartbeat(struct apid_client *c, const struct heartbeat *hb, char *err, size_t errsz);
/* apid_post_quarantine - hand over a raw message of len bytes, from data, or read from fd
 * (pread from offset 0) when data is NULL, with its metadata (JSON text, encoded here).
 * Returns the HTTP status (201 new, 200 held already: the held copy's id goes to id), or 0
 * when no reply came; err describes anything else */
long apid_post_quarantine(struct apid_client *c, const char *meta_json, const void *data,
			  int fd, size_t len, char *id, size_t idsz, char *err, size_t errsz);
/* apid_post_report - post a tracking report (JSON text); the HTTP status (201 recorded, 200
 * recorded already) or 0, err set otherwise */
long apid_post_report(struct apid_client *c, const char *json, char *err, size_t errsz);
/* heartbeat_json - the heartbeat body as compact JSON text, malloc'd (free()) */
char *heartbeat_json(const struct heartbeat *hb);

#endif
