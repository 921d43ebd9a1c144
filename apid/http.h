/* http.h - apid's HTTP layer: the request context, the route table, replies.
 *
 * One dispatcher (http.c) owns everything every route shares: URL length (414), route
 * lookup (404, 405 with Allow), body limits (413), media type (415), unknown
 * query parameters (400), authentication (401) and the route's roles (403). A handler
 * then runs parse -> authorise -> validate -> one transaction -> reply, and either queues
 * exactly one response (reply_*) and returns VR_OK, or returns an error code (usually via
 * req_fail, which records the field and detail) that the dispatcher turns into RFC 9457
 * problem+json. Per-request memory is owned by struct req and freed in one place, MHD's
 * completion callback.
 */
#ifndef VR_HTTP_H
#define VR_HTTP_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "apid.h"
#include "buf.h"
#include "err.h"
#include "jspec.h"
#include "randid.h"
#include "roles.h"

struct req;

struct route {
	const char *method;
	const char *path;              /* template: "/api/v1/tokens/{id}" */
	enum vr_err (*handler)(struct req *r);
	unsigned roles;                /* ROLE_BIT mask; ROLES_PUBLIC: no authentication */
	size_t max_body;               /* 0: no body; BODY_CONF: the max-body setting */
	const char *const *query;      /* allowed query parameters, NULL-terminated, or NULL */
	const char *media_type;        /* the body's type; NULL: application/json */
};

#define BODY_CONF SIZE_MAX

extern const struct route routes[];
extern const size_t routes_count;

enum auth_method { AUTH_NONE, AUTH_SESSION, AUTH_TOKEN };

struct principal {
	enum auth_method method;
	enum role role;
	char user_id[VR_ID_LEN];
	char username[260];
	char cred_id[VR_ID_LEN * 2]; /* the session's jti or the API token's id */
	int64_t expires_at;          /* 0: never */
};

#define REQ_MAX_PARAMS 2
/* a path segment's longest value (digest link tokens are the longest) */
#define REQ_PARAM_MAX 1536

struct req {
	struct apid *app;
	struct MHD_Connection *conn;
	const char *method; /* borrowed from MHD for the request's life */
	char *url;          /* copy of the path, without the query */
	int route;          /* index in routes[], -1 when none matched */
	char params[REQ_MAX_PARAMS][REQ_PARAM_MAX];
	struct vr_buf body;
	size_t received;    /* body bytes seen, kept or not */
	size_t body_limit;  /* of the route, known from the first call */
	enum vr_err early;  /* limit broken while the request arrived (414, 413) */
	json_t *json;       /* parsed body, freed on completion */
	struct principal who;
	char client_ip[INET6_ADDRSTRLEN];
	struct timespec start;
	unsigned status;    /* of the queued response, for metrics */
	bool queued;
	bool started;       /* the access handler has seen the request */
	bool suspended;     /* parked by req_suspend: no response yet */
	int64_t wait_until; /* deadline of a long poll, epoch ms (0: none) */
	long wait_gen;      /* http_wake generation when parked */
	struct req *next_waiter;
	/* set by req_fail for the problem reply */
	const char *err_field;
	char err_detail[300];
	int64_t retry_after;
	char location[256]; /* Location header of the reply when set */
	char etag[40];      /* ETag header of the reply when set */
};

/* req_fail - record why the request fails (field may be NULL) and return code */
enum vr_err req_fail(struct req *r, enum vr_err code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* req_query - a query parameter, or NULL */
const char *req_query(struct req *r, const char *name);
/* req_header - a request header, or NULL */
const char *req_header(struct req *r, const char *name);
/* req_body - parse the JSON body against spec into target (see jspec_parse) */
enum vr_err req_body(struct req *r, const struct jspec *spec, size_t n, void *target,
		     uint32_t *seen);

/* req_suspend - park the request (long poll) until http_wake() or until `until` (epoch
 * milliseconds, see http_now_ms); the handler returns VR_OK without a reply and is called
 * again on wake-up, with r->wait_until still set, to answer or park again. */
void req_suspend(struct req *r, int64_t until);
/* http_now_ms - wall-clock milliseconds */
int64_t http_now_ms(void);
/* http_wake - wake every parked request (their handlers re-check what they wait for) */
void http_wake(void);
/* http_wake_stop - wake all and park no more (shutdown) */
void http_wake_stop(void);

/* reply_json - queue status with body (stolen; may be NULL for an empty reply) */
enum vr_err reply_json(struct req *r, unsigned status, json_t *body);
/* reply_bytes - queue status with a body of ctype; copy says whether to copy data */
enum vr_err reply_bytes(struct req *r, unsigned status, const char *ctype, const char *data,
			size_t len, bool copy);
/* reply_problem - queue the problem+json for code with what req_fail recorded */
void reply_problem(struct req *r, enum vr_err code);

/* http_start - start the daemon; NULL on failure (logged). */
struct MHD_Daemon *http_start(struct apid *app, const char *tls_cert_pem,
			      const char *tls_key_pem);
/* http_bound_port - the port the daemon listens on */
unsigned http_bound_port(struct MHD_Daemon *d);
/* http_route_match - index of the route matching method and path; -1 none; -2 path
 * exists with another method. params receives {placeholders}. Pure: unit-tested. */
int http_route_match(const struct route *table, size_t n, const char *method,
		     const char *path, char params[][REQ_PARAM_MAX], size_t nparams);
/* http_allow - the methods routes allow on path, comma-separated, into buf */
void http_allow(const struct route *table, size_t n, const char *path, char *buf, size_t sz);

#endif
