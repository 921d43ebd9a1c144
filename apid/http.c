/* http.c - libmicrohttpd daemon and the one dispatcher (see http.h).
 *
 * MHD calls on_request several times per request: the first call only sets up the
 * request context (queueing a response there makes MHD close the connection, which
 * costs ~6x in throughput), later calls receive the body, and the last one (no more
 * upload data) dispatches. on_completed frees the context and records metrics.
 * Thread-safety: handlers run on MHD's pool threads; everything shared is read-only or
 * atomic (metrics, in-flight counter) or locked inside its module (rate limiter).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

/* Bodies declared larger than this are refused at once rather than read and dropped. */
#define DRAIN_LIMIT (64u << 20)

/* Parked long polls: a list under a mutex, and the thread that wakes them when
 * http_wake() was called or their deadline passed. */
static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waiters_cond = PTHREAD_COND_INITIALIZER;
static struct req *waiters;
static long wake_gen;
static bool waking_stopped;
static pthread_t waker;
static bool waker_started;

/* waker_main - resume parked requests whose generation or deadline has passed */
static void *waker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&waiters_lock);
	for (;;) {
		struct req **pp = &waiters;
		int64_t now = http_now_ms();
		struct timespec ts;

		while (*pp) {
			struct req *w = *pp;

			if (waking_stopped || w->wait_gen != wake_gen || now >= w->wait_until) {
				*pp = w->next_waiter;
				w->next_waiter = NULL;
				MHD_resume_connection(w->conn);
			} else {
				pp = &w->next_waiter;
			}
		}
		if (waking_stopped)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&waiters_cond, &waiters_lock, &ts);
	}
	pthread_mutex_unlock(&waiters_lock);
	return NULL;
}

/* http_now_ms - wall-clock milliseconds (long-poll deadlines) */
int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* req_suspend - park the request until http_wake() or the deadline */
void req_suspend(struct req *r, int64_t until)
{
	pthread_mutex_lock(&waiters_lock);
	if (waking_stopped) {
		pthread_mutex_unlock(&waiters_lock);
		return; /* shutting down: the handler answers at once */
	}
	r->wait_until = until;
	r->wait_gen = wake_gen;
	r->suspended = true;
	MHD_suspend_connection(r->conn);
	r->next_waiter = waiters;
	waiters = r;
	pthread_mutex_unlock(&waiters_lock);
}

/* http_wake - wake every parked request */
void http_wake(void)
{
	pthread_mutex_lock(&waiters_lock);
	wake_gen++;
	pthread_cond_signal(&waiters_cond);
	pthread_mutex_unlock(&waiters_lock);
}

/* http_wake_stop - wake all, park no more, and end the waker thread */
void http_wake_stop(void)
{
	pthread_mutex_lock(&waiters_lock);
	waking_stopped = true;
	pthread_cond_signal(&waiters_cond);
	pthread_mutex_unlock(&waiters_lock);
	if (waker_started) {
		pthread_join(waker, NULL);
		waker_started = false;
	}
}

/* req_fail - record why the request fails and return code */
enum vr_err req_fail(struct req *r, enum vr_err code, const char *field, const char *fmt, ...)
{
	va_list ap;

	r->err_field = field;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(r->err_detail, sizeof(r->err_detail), fmt, ap);
		va_end(ap);
	} else {
		r->err_detail[0] = '\0';
	}
	return code;
}

/* req_query - a query parameter, or NULL */
const char *req_query(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* req_header - a request header, or NULL */
const char *req_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* req_body - parse the JSON body against spec into target */
enum vr_err req_body(struct req *r, const struct jspec *spec, size_t n, void *target,
		     uint32_t *seen)
{
	struct jspec_error err;
	enum vr_err e;

	if (r->json == NULL) {
		e = jspec_load(r->body.data, r->body.len, &r->json, &err);
		if (e != VR_OK)
			return req_fail(r, e, NULL, "%s", err.detail);
	}
	e = jspec_parse(r->json, spec, n, target, seen, &err);
	if (e != VR_OK)
		return req_fail(r, e, err.field, "%s", err.detail);
	return VR_OK;
}

/* add_common_headers - headers every apid response carries */
static void add_common_headers(struct req *r, struct MHD_Response *resp, const char *ctype)
{
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (r->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->etag[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
}

/* queue - queue resp with status; a handler queues exactly one response */
static enum vr_err queue(struct req *r, unsigned status, struct MHD_Response *resp)
{
	if (resp == NULL)
		VR_DIE("cannot create a response");
	if (r->queued)
		VR_DIE("second response for %s %s", r->method, r->url);
	if (MHD_queue_response(r->conn, status, resp) != MHD_YES)
		VR_LOG_WARN("cannot queue %u for %s %s", status, r->method, r->url);
	MHD_destroy_response(resp);
	r->queued = true;
	r->status = status;
	return VR_OK;
}

/* reply_bytes - queue status with a body of ctype */
enum vr_err reply_bytes(struct req *r, unsigned status, const char *ctype, const char *data,
			size_t len, bool copy)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, (void *)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);

	add_common_headers(r, resp, ctype);
	return queue(r, status, resp);
}

/* reply_json - queue status with a JSON body (stolen) */
enum vr_err reply_json(struct req *r, unsigned status, json_t *body)
{
	struct MHD_Response *resp;
	char *text;

	if (body == NULL) {
		resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		add_common_headers(r, resp, NULL);
		return queue(r, status, resp);
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	VR_CHECK_ALLOC(text);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	add_common_headers(r, resp, "application/json");
	return queue(r, status, resp);
}

/* reply_problem - queue RFC 9457 problem+json for code */
void reply_problem(struct req *r, enum vr_err code)
{
	const struct vr_err_info *info = vr_err_info(code);
	struct MHD_Response *resp;
	char type[96], *text, num[32];
	json_t *p;

	if (r->queued)
		return;
	snprintf(type, sizeof(type), "urn:vrgate:problem:%s", info->slug);
	p = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", type, "title", info->title,
		      "status", info->status, "detail",
		      r->err_detail[0] ? r->err_detail : info->title, "instance",
		      r->url ? r->url : "", "code", info->slug);
	VR_CHECK_ALLOC(p);
	if (r->err_field)
		json_object_set_new(p, "field", json_string(r->err_field));
	if (code == VR_E_RATE_LIMITED && r->retry_after > 0)
		json_object_set_new(p, "retry_after", json_integer(r->retry_after));
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	VR_CHECK_ALLOC(text);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	add_common_headers(r, resp, "application/problem+json");
	if (info->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"vrgate\"");
	if (code == VR_E_RATE_LIMITED && r->retry_after > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (code == VR_E_METHOD) {
		char allow[128];

		http_allow(routes, routes_count, r->url, allow, sizeof(allow));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	}
	if (info->status >= 500)
		VR_LOG_ERR("%s %s -> %d %s: %s", r->method, r->url, info->status, info->slug,
			   r->err_detail);
	queue(r, (unsigned)info->status, resp);
}

/* segment_match - does template segment t (length tl) match path segment p (pl)? */
static bool segment_match(const char *t, size_t tl, const char *p, size_t pl)
{
	if (tl >= 2 && t[0] == '{' && t[tl - 1] == '}')
		return pl > 0;
	return tl == pl && memcmp(t, p, tl) == 0;
}

/* path_match - match path against template, capturing {placeholders} */
static bool path_match(const char *tmpl, const char *path, char params[][REQ_PARAM_MAX], size_t nparams)
{
	size_t np = 0;

	while (*tmpl && *path) {
		const char *te, *pe;

		if (*tmpl != '/' || *path != '/')
			return false;
		tmpl++;
		path++;
		te = strchrnul(tmpl, '/');
		pe = strchrnul(path, '/');
		if (!segment_match(tmpl, (size_t)(te - tmpl), path, (size_t)(pe - path)))
			return false;
		if (*tmpl == '{') {
			if (np >= nparams || (size_t)(pe - path) >= REQ_PARAM_MAX)
				return false;
			memcpy(params[np], path, (size_t)(pe - path));
			params[np][pe - path] = '\0';
			np++;
		}
		tmpl = te;
		path = pe;
	}
	return *tmpl == '\0' && *path == '\0';
}

/* http_route_match - index of the route for method + path; -1 none; -2 wrong method */
int http_route_match(const struct route *table, size_t n, const char *method,
		     const char *path, char params[][REQ_PARAM_MAX], size_t nparams)
{
	int found = -1;

	for (size_t i = 0; i < n; i++) {
		char scratch[REQ_MAX_PARAMS][REQ_PARAM_MAX];

		if (!path_match(table[i].path, path, scratch, REQ_MAX_PARAMS))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			for (size_t k = 0; k < nparams && k < REQ_MAX_PARAMS; k++)
				memcpy(params[k], scratch[k], REQ_PARAM_MAX);
			return (int)i;
		}
		found = -2;
	}
	return found;
}

/* http_allow - the methods allowed on path */
void http_allow(const struct route *table, size_t n, const char *path, char *buf, size_t sz)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char scratch[REQ_MAX_PARAMS][REQ_PARAM_MAX];

		if (path_match(table[i].path, path, scratch, REQ_MAX_PARAMS) && used < sz)
			used += (size_t)snprintf(buf + used, sz - used, "%s%s", used ? ", " : "",
						 table[i].method);
	}
}

struct query_check {
	struct req *r;
	enum vr_err e;
};

/* query_iter - refuse query parameters the route does not take */
static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct query_check *qc = cls;
	const struct route *rt = &routes[qc->r->route];

	(void)kind;
	(void)value;
	if (rt->query)
		for (const char *const *q = rt->query; *q; q++)
			if (strcmp(*q, key) == 0)
				return MHD_YES;
	/* key points into MHD's connection memory, valid for the request */
	qc->e = req_fail(qc->r, VR_E_BAD_PARAMETER, key, "this request takes no such parameter");
	return MHD_NO;
}

/* media_ok - is ctype the route's body type (application/json by default; parameters
 * allowed)? */
static bool media_ok(const struct route *rt, const char *ctype)
{
	const char *want = rt->media_type ? rt->media_type : "application/json";
	size_t n = strlen(want);

	return ctype && strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* dispatch - everything routes share, then the handler */
static void dispatch(struct req *r)
{
	const struct route *rt;
	struct query_check qc = {r, VR_OK};
	size_t limit;
	enum vr_err e;

	if (r->early != VR_OK) {
		reply_problem(r, r->early);
		return;
	}
	r->route = http_route_match(routes, routes_count, r->method, r->url, r->params,
				    REQ_MAX_PARAMS);
	if (r->route < 0) {
		e = r->route == -2 ? req_fail(r, VR_E_METHOD, NULL, "%s is not allowed on %s",
					      r->method, r->url)
				   : req_fail(r, VR_E_NOT_FOUND, NULL, "no such resource: %s", r->url);
		r->route = -1;
		reply_problem(r, e);
		return;
	}
	rt = &routes[r->route];
	limit = rt->max_body == BODY_CONF ? (size_t)r->app->conf->max_body : rt->max_body;
	if (r->body.len > limit) {
		reply_problem(r, limit ? req_fail(r, VR_E_TOO_LARGE, NULL,
						  "the body may be at most %zu bytes", limit)
				       : req_fail(r, VR_E_TOO_LARGE, NULL,
						  "this request takes no body"));
		return;
	}
	if (rt->roles != ROLES_PUBLIC) {
		e = auth_request(r);
		if (e == VR_OK && !(rt->roles & ROLE_BIT(r->who.role)))
			e = req_fail(r, VR_E_FORBIDDEN, NULL, "the %s role may not do this",
				     role_name(r->who.role));
		if (e != VR_OK) {
			reply_problem(r, e);
			return;
		}
	}
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, &qc);
	if (qc.e != VR_OK) {
		reply_problem(r, qc.e);
		return;
	}
	if (r->body.len > 0 && !media_ok(rt, req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		reply_problem(r, req_fail(r, VR_E_MEDIA_TYPE, NULL, "send the body as %s",
					  rt->media_type ? rt->media_type : "application/json"));
		return;
	}
	r->suspended = false;
	e = rt->handler(r);
	if (e != VR_OK)
		reply_problem(r, e);
	else if (!r->queued && !r->suspended)
		VR_DIE("%s %s: handler returned without a response", r->method, r->url);
}

/* client_ip - the peer address as text */
static void client_ip(struct MHD_Connection *c, char *buf, size_t sz)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, sz, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)sz);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)sz);
}

/* on_uri - MHD's URI logger: the first sight of a request, with its whole URI (query
 * included); the context made here is what on_request then finds in *ctx */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct apid *app = cls;
	struct req *r = calloc(1, sizeof(*r));

	VR_CHECK_ALLOC(r);
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	atomic_fetch_add(&app->in_flight, 1);
	r->app = app;
	r->conn = c;
	r->route = -1;
	if (strlen(uri) > (size_t)app->conf->max_url)
		r->early = req_fail(r, VR_E_URI_TOO_LONG, NULL, "the URL may be at most %lld bytes",
				    (long long)app->conf->max_url);
	return r;
}

/* route_body_limit - the most body bytes the request's route takes (the max-body
 * setting when no route matches: the dispatcher answers 404/405 then anyway) */
static size_t route_body_limit(struct apid *app, const char *method, const char *url)
{
	char params[REQ_MAX_PARAMS][REQ_PARAM_MAX];
	int i = http_route_match(routes, routes_count, method, url, params, REQ_MAX_PARAMS);

	if (i < 0 || routes[i].max_body == BODY_CONF)
		return (size_t)app->conf->max_body;
	return routes[i].max_body > (size_t)app->conf->max_body ? routes[i].max_body
							       : (size_t)app->conf->max_body;
}

/* on_first_call - complete the request context and check what the headers already tell */
static void on_first_call(struct req *r, struct MHD_Connection *c, const char *url,
			  const char *method)
{
	struct apid *app = r->app;
	const char *clen;

	r->started = true;
	r->method = method;
	client_ip(c, r->client_ip, sizeof(r->client_ip));
	r->url = strdup(url); /* the path alone: MHD bounds it by max-header */
	VR_CHECK_ALLOC(r->url);
	r->body_limit = route_body_limit(app, method, url);
	clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen && strtoull(clen, NULL, 10) > (unsigned long long)r->body_limit) {
		r->early = req_fail(r, VR_E_TOO_LARGE, NULL, "the body may be at most %zu bytes",
				    r->body_limit);
		if (strtoull(clen, NULL, 10) > DRAIN_LIMIT)
			dispatch(r);
	}
}

/* on_request - MHD's access handler */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **ctx)
{
	struct req *r = *ctx;

	(void)cls;
	(void)version;
	if (r == NULL) /* MHD always calls on_uri first */
		VR_DIE("request without context");
	if (!r->started) {
		on_first_call(r, c, url, method);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		r->received += *upload_size;
		if (r->early == VR_OK &&
		    vr_buf_append(&r->body, upload_data, *upload_size, r->body_limit) < 0) {
			r->early = req_fail(r, VR_E_TOO_LARGE, NULL,
					    "the body may be at most %zu bytes", r->body_limit);
			vr_buf_free(&r->body);
		}
		*upload_size = 0;
		/* an over-long body is read and dropped so that the client gets the 413;
		 * past DRAIN_LIMIT, answer now (MHD then closes the connection) */
		if (r->early != VR_OK && r->received > DRAIN_LIMIT && !r->queued)
			dispatch(r);
		return MHD_YES;
	}
	/* a parked long poll comes back here once resumed: run its handler again */
	r->suspended = false;
	if (!r->queued)
		dispatch(r);
	return MHD_YES;
}

/* on_completed - free the request context; record metrics */
static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct apid *app = cls;
	struct req *r = *ctx;
	struct timespec end;
	double secs;

	(void)c;
	if (r == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	secs = (double)(end.tv_sec - r->start.tv_sec) + (end.tv_nsec - r->start.tv_nsec) / 1e9;
	if (r->queued)
		metrics_observe(app->metrics, r->route, r->method, r->status, secs);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->queued)
		VR_LOG_DEBUG("%s %s ended early (%d)", r->method, r->url, (int)toe);
	json_decref(r->json);
	vr_buf_free(&r->body);
	free(r->url);
	free(r);
	*ctx = NULL;
	atomic_fetch_sub(&app->in_flight, 1);
}

/* mhd_log - route MHD's own messages to our log */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	VR_LOG_WARN("libmicrohttpd: %s", msg);
}

/* http_start - start the daemon */
struct MHD_Daemon *http_start(struct apid *app, const char *tls_cert_pem,
			      const char *tls_key_pem)
{
	const struct apid_conf *cf = app->conf;
	struct sockaddr_storage ss = {0};
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem opts[16];
	int n = 0;

	if (inet_pton(AF_INET, cf->listen, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)cf->port);
	} else if (inet_pton(AF_INET6, cf->listen, &((struct sockaddr_in6 *)&ss)->sin6_addr) ==
		   1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)cf->port);
		flags |= MHD_USE_IPv6;
	} else {
		VR_LOG_ERR("listen: '%s' is not an IPv4 or IPv6 address", cf->listen);
		return NULL;
	}
	/* the logger first, so that MHD reports nothing through its own */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cf->threads,
					    NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
					    (intptr_t)cf->max_connections, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					    (intptr_t)cf->per_ip_connections, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
					    (intptr_t)cf->conn_timeout, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					    (intptr_t)cf->max_header, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed,
					    app};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, app};
	if (tls_cert_pem && tls_key_pem) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
						    (void *)tls_cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
						    (void *)tls_key_pem};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (!waker_started) {
		if (pthread_create(&waker, NULL, waker_main, NULL) != 0)
			VR_DIE("cannot start the long-poll thread");
		waker_started = true;
	}
	return MHD_start_daemon(flags, (uint16_t)cf->port, NULL, NULL, on_request, app,
				MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

/* http_bound_port - the port the daemon listens on */
unsigned http_bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return di ? di->port : 0;
}
