/* apid_client.c - snapshot long-poll and heartbeat over libcurl (see apid_client.h). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apid_client.h"
#include "log.h"
#include "randid.h"

#define APID_MAX_BODY        (64L * 1024 * 1024)
#define APID_CONNECT_TIMEOUT 10L
#define HEARTBEAT_ERROR_MAX  2000

struct apid_client {
	const struct apid_opts *o;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/* A growing reply body. */
struct sink {
	char *buf;
	size_t len;
};

/* apid_new - one reusable libcurl handle */
struct apid_client *apid_new(const struct apid_opts *o)
{
	struct apid_client *c = calloc(1, sizeof(*c));

	VR_CHECK_ALLOC(c);
	c->o = o;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

/* apid_free - release the handle */
void apid_free(struct apid_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

/* on_data - libcurl write callback: append, refusing bodies over APID_MAX_BODY */
static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->len + n > (size_t)APID_MAX_BODY)
		return 0;
	s->buf = realloc(s->buf, s->len + n + 1);
	VR_CHECK_ALLOC(s->buf);
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* on_progress - abandon the transfer once the agent is asked to stop */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const volatile sig_atomic_t *stop = arg;

	return stop && *stop ? 1 : 0;
}

/* What a request sends: nothing (GET), JSON text, or raw bytes (from memory, or from a
 * file read with pread when data is NULL) of a given type. */
struct body {
	const char *json;
	const char *type; /* raw: the Content-Type */
	const void *data;
	int fd;
	size_t len;
	size_t off; /* raw from fd: bytes sent so far */
};

/* on_read - libcurl read callback over a raw body held in a file */
static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t want = size * nmemb;
	ssize_t n;

	if (b->off >= b->len)
		return 0;
	if (want > b->len - b->off)
		want = b->len - b->off;
	do
		n = pread(b->fd, buf, want, (off_t)b->off);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT;
	b->off += (size_t)n;
	return (size_t)n;
}

/* perform - one request; the status (0 when no reply), body into sink */
static long perform(struct apid_client *c, const char *path, struct body *body,
		    struct curl_slist *extra, long timeout, struct sink *sink, char *err,
		    size_t errsz)
{
	CURL *h = c->curl;
	struct curl_slist *hdrs = extra;
	char *url, *auth;
	size_t n = strlen(c->o->url);
	long status = 0;
	CURLcode cc;

	while (n > 0 && c->o->url[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s%s", (int)n, c->o->url, path) < 0 ||
	    asprintf(&auth, "Authorization: Bearer %s", c->o->token) < 0)
		VR_DIE("out of memory");
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body && body->json)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (body && body->type) {
		char ct[128];

		snprintf(ct, sizeof(ct), "Content-Type: %s", body->type);
		hdrs = curl_slist_append(hdrs, ct);
		/* no "100 continue" round trip before the message */
		hdrs = curl_slist_append(hdrs, "Expect:");
	}
	VR_CHECK_ALLOC(hdrs);

	curl_easy_reset(h);
	c->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, APID_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vr-agent/" VR_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->o->stop);
	if (c->o->timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (c->o->ca_file && *c->o->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->o->ca_file);
	if (body && body->json) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->json);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body->json));
	} else if (body && body->data) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	} else if (body) {
		body->off = 0;
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errsz, "%s: %s", url, c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
	curl_slist_free_all(hdrs);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	free(url);
	return status;
}

/* describe - "HTTP 401: <title or detail>" from a problem+json body */
static void describe(long status, const struct sink *s, char *err, size_t errsz)
{
	json_t *j = s->buf ? json_loadb(s->buf, s->len, 0, NULL) : NULL;
	const char *text = NULL;

	if (j) {
		text = json_string_value(json_object_get(j, "detail"));
		if (text == NULL)
			text = json_string_value(json_object_get(j, "title"));
	}
	snprintf(err, errsz, "HTTP %ld%s%s", status, text ? ": " : "", text ? text : "");
	json_decref(j);
}

/* apid_get_snapshot - conditional long-poll GET of the snapshot */
long apid_get_snapshot(struct apid_client *c, int64_t have, int wait, char **body, size_t *len,
		       char *err, size_t errsz)
{
	struct curl_slist *extra = NULL;
	struct sink sink = {0};
	char path[64], inm[64];
	long status;

	*body = NULL;
	*len = 0;
	snprintf(path, sizeof(path), "/api/v1/agent/snapshot?wait=%d", wait);
	if (have > 0) {
		snprintf(inm, sizeof(inm), "If-None-Match: \"v%lld\"", (long long)have);
		extra = curl_slist_append(NULL, inm);
		VR_CHECK_ALLOC(extra);
	}
	status = perform(c, path, NULL, extra, wait + 30L, &sink, err, errsz);
	if (status == 200 && sink.buf) {
		*body = sink.buf;
		*len = sink.len;
		return status;
	}
	if (status == 200)
		snprintf(err, errsz, "HTTP 200 without a body");
	else if (status != 0 && status != 304)
		describe(status, &sink, err, errsz);
	free(sink.buf);
	return status == 200 ? 0 : status;
}

/* text_json - a JSON string of at most max bytes of s; bytes outside printable ASCII
 * (newlines aside) become '?', so that any program output makes valid UTF-8 */
static json_t *text_json(const char *s, size_t max)
{
	size_t n = strlen(s) > max ? max : strlen(s);
	char *copy = strndup(s, n);
	json_t *j;

	VR_CHECK_ALLOC(copy);
	for (char *p = copy; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\n') || (unsigned char)*p > 0x7e)
			*p = '?';
	j = json_string(copy);
	free(copy);
	VR_CHECK_ALLOC(j);
	return j;
}

/* heartbeat_json - {name, applied_version, postfix, started_at[, last_error]}: apid takes
 * last_error as an optional string (absent when there is none) of at most 2000 bytes */
char *heartbeat_json(const struct heartbeat *hb)
{
	json_t *j = json_pack("{s:o, s:I, s:s, s:s}", "name", text_json(hb->name, 100),
			      "applied_version", (json_int_t)hb->applied_version, "postfix",
			      hb->postfix, "started_at", hb->started_at);
	char *text;

	VR_CHECK_ALLOC(j);
	if (hb->last_error)
		json_object_set_new(j, "last_error", text_json(hb->last_error, HEARTBEAT_ERROR_MAX));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	VR_CHECK_ALLOC(text);
	return text;
}

/* apid_heartbeat - POST the heartbeat */
long apid_heartbeat(struct apid_client *c, const struct heartbeat *hb, char *err, size_t errsz)
{
	struct sink sink = {0};
	char *payload = heartbeat_json(hb);
	struct body b = {.json = payload};
	long status = perform(c, "/api/v1/agent/heartbeat", &b, NULL, 30L, &sink, err, errsz);

	if (status != 0 && (status < 200 || status > 299))
		describe(status, &sink, err, errsz);
	free(sink.buf);
	free(payload);
	return status;
}

/* reply_id - the "id" member of a 200/201 reply into id */
static void reply_id(const struct sink *s, char *id, size_t idsz)
{
	json_t *j = s->buf ? json_loadb(s->buf, s->len, 0, NULL) : NULL;
	const char *v = j ? json_string_value(json_object_get(j, "id")) : NULL;

	snprintf(id, idsz, "%s", v ? v : "");
	json_decref(j);
}

/* apid_post_quarantine - POST /api/v1/agent/quarantine */
long apid_post_quarantine(struct apid_client *c, const char *meta_json, const void *data,
			  int fd, size_t len, char *id, size_t idsz, char *err, size_t errsz)
{
	size_t mlen = strlen(meta_json), hsz = mlen * 4 / 3 + 32;
	struct body b = {.type = "message/rfc822", .data = data, .fd = fd, .len = len};
	struct curl_slist *extra;
	struct sink sink = {0};
	char *hdr = malloc(hsz);
	long status;

	VR_CHECK_ALLOC(hdr);
	id[0] = '\0';
	memcpy(hdr, "X-VR-Metadata: ", 15);
	vr_b64url_encode((const unsigned char *)meta_json, mlen, hdr + 15, hsz - 15);
	extra = curl_slist_append(NULL, hdr);
	free(hdr);
	VR_CHECK_ALLOC(extra);
	status = perform(c, "/api/v1/agent/quarantine", &b, extra, 120L, &sink, err, errsz);
	if (status == 200 || status == 201)
		reply_id(&sink, id, idsz);
	else if (status != 0)
		describe(status, &sink, err, errsz);
	if ((status == 200 || status == 201) && id[0] == '\0') {
		snprintf(err, errsz, "HTTP %ld without an id", status);
		status = 502;
	}
	free(sink.buf);
	return status;
}

/* apid_post_report - POST /api/v1/agent/messages */
long apid_post_report(struct apid_client *c, const char *json, char *err, size_t errsz)
{
	struct body b = {.json = json};
	struct sink sink = {0};
	long status = perform(c, "/api/v1/agent/messages", &b, NULL, 30L, &sink, err, errsz);

	if (status != 0 && status != 200 && status != 201)
		describe(status, &sink, err, errsz);
	free(sink.buf);
	return status;
}
