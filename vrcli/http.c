/*
 * http.c - requests to apid over libcurl; replies parsed with jansson.
 *
 * Entry points: see http.h. Policy, in one place: the token travels only in
 * `Authorization: Bearer` and is never printed (errmap_format() also redacts it should
 * the server echo it); redirects are not followed (a 3xx is reported with its Location);
 * only http and https are spoken; TLS peers are verified unless --insecure. A reply body
 * larger than HTTP_MAX_BODY is refused rather than buffered; a download (a held message)
 * streams its 2xx body to a FILE, up to HTTP_MAX_DOWNLOAD, while an error reply to it is
 * buffered and parsed like any other. A request body is JSON, or given bytes of a given
 * type (a CSV upload). Not thread-safe.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"

#define HTTP_MAX_BODY (32L * 1024 * 1024)
#define HTTP_MAX_DOWNLOAD (1024L * 1024 * 1024) /* streamed to a file, not buffered */
#define JSON_ACCEPT "application/json, application/problem+json"
#define HTTP_CONNECT_TIMEOUT 10L

struct http_client {
	const struct http_opts *o;
	const char *token;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/* A growing reply body; for a download, a 2xx body goes to out instead. */
struct sink {
	char *buf;
	size_t len;
	bool too_big;
	CURL *curl;
	FILE *out;	    /* NULL: buffer every reply */
	long long written;  /* bytes written to out */
	bool write_failed;  /* fwrite() to out failed */
};

/* http_new - a client for *o (borrowed); NULL if libcurl cannot start */
struct http_client *http_new(const struct http_opts *o)
{
	struct http_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->o = o;
	c->token = o->token;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

/* http_set_token - send TOKEN (borrowed; NULL for none) from the next request on */
void http_set_token(struct http_client *c, const char *token)
{
	c->token = token;
}

/* on_data - libcurl write callback: append to the sink, refusing oversized bodies */
static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	long status = 0;

	if (s->out) {
		/* the status line is in by the time the body flows */
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status <= 299) {
			if (fwrite(data, 1, n, s->out) != n) {
				s->write_failed = true;
				return 0;
			}
			s->written += (long long)n;
			return n;
		}
	}
	if (s->len + n > (size_t)HTTP_MAX_BODY) {
		s->too_big = true;
		return 0;
	}
	s->buf = realloc(s->buf, s->len + n + 1);
	if (s->buf == NULL)
		abort();
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* header_value - the value of reply header NAME, or NULL (borrowed from libcurl) */
static const char *header_value(CURL *curl, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

/* full_url - base URL without trailing slashes, then PATH */
static char *full_url(const char *base, const char *path)
{
	size_t n = strlen(base);
	char *url;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s%s", (int)n, base, path) < 0)
		abort();
	return url;
}

/* The body of one request: LEN bytes at DATA, of media type TYPE; DATA NULL for none. */
struct payload {
	const char *data;
	size_t len;
	const char *type;
};

/* setup - set every option of one request on the reset handle */
static struct curl_slist *setup(struct http_client *c, const char *method, const char *url,
				const struct payload *payload, const char *accept,
				struct sink *sink, char **auth)
{
	char *accept_hdr, *type_hdr;
	CURL *h = c->curl;
	struct curl_slist *hdrs = NULL;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->o->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
			 c->o->timeout < HTTP_CONNECT_TIMEOUT ? c->o->timeout
							      : HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->o->user_agent);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)(sink->out ? HTTP_MAX_DOWNLOAD : HTTP_MAX_BODY));
	if (c->o->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->o->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->o->ca_file);

	if (asprintf(&accept_hdr, "Accept: %s", accept) < 0)
		abort();
	hdrs = curl_slist_append(hdrs, accept_hdr); /* libcurl copies it */
	free(accept_hdr);
	if (c->token) {
		if (asprintf(auth, "Authorization: Bearer %s", c->token) < 0)
			abort();
		hdrs = curl_slist_append(hdrs, *auth);
	}
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		/* POSTFIELDS makes the request a POST; other methods rename it */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload->data ? payload->data : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(payload->data ? payload->len : 0));
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		/* no body, no Content-Type: libcurl would otherwise claim a form */
		if (asprintf(&type_hdr, "Content-Type:%s%s", payload->data ? " " : "",
			     payload->data ? payload->type : "") < 0)
			abort();
		hdrs = curl_slist_append(hdrs, type_hdr); /* libcurl copies it */
		free(type_hdr);
	}
	if (hdrs == NULL)
		abort();
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

/* is_json - whether a Content-Type names JSON (application/json, .../problem+json) */
static bool is_json(const char *type)
{
	if (type == NULL)
		return false;
	size_t n = strcspn(type, ";");

	return (n >= 4 && strncasecmp(type + n - 4, "json", 4) == 0);
}

/* perform - METHOD PATH with BODY (JSON) or else RAW, accepting ACCEPT; a 2xx body to OUT
 * when OUT is set */
static enum vrcli_exit perform(struct http_client *c, const char *method, const char *path,
			       const json_t *body, const struct payload *raw, const char *accept,
			       FILE *out, long long *written, struct http_reply *r)
{
	char *url = full_url(c->o->url, path);
	char *payload = NULL, *auth = NULL;
	struct payload send = {NULL, 0, NULL};
	struct sink sink = {.curl = c->curl, .out = out};
	struct curl_slist *hdrs;
	enum vrcli_exit rc = VRCLI_EXIT_OK;
	const char *v;
	char *type = NULL;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if (body && (payload = json_dumps(body, JSON_COMPACT)) == NULL)
		abort();
	if (payload)
		send = (struct payload){payload, strlen(payload), "application/json"};
	else if (raw)
		send = *raw;
	c->errbuf[0] = '\0';
	hdrs = setup(c, method, url, &send, accept, &sink, &auth);
	cc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	/* the header holds the token and a login payload the password */
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (payload) {
		explicit_bzero(payload, strlen(payload));
		free(payload);
	}

	if (written)
		*written = sink.written;
	if (sink.write_failed) {
		fprintf(stderr, "vrcli: cannot write the reply from %s: %m\n", url);
		rc = VRCLI_EXIT_OTHER;
		goto out;
	}
	if (sink.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		fprintf(stderr, "vrcli: the reply from %s is larger than %ld MiB\n", url,
			(sink.out && !sink.too_big ? HTTP_MAX_DOWNLOAD : HTTP_MAX_BODY) >> 20);
		rc = VRCLI_EXIT_OTHER;
		goto out;
	}
	if (cc != CURLE_OK) {
		fprintf(stderr, "vrcli: cannot connect to %s: %s\n", url,
			c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
		rc = VRCLI_EXIT_CONNECT;
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if ((v = header_value(c->curl, "Retry-After")) != NULL) {
		char *end;
		long s = strtol(v, &end, 10);

		if (end != v && *end == '\0' && s >= 0)
			r->retry_after = s;
	}
	if ((v = header_value(c->curl, "Location")) != NULL && (r->location = strdup(v)) == NULL)
		abort();
	curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &type);
	if (sink.len > 0 && is_json(type)) {
		json_error_t jerr;

		r->body = json_loadb(sink.buf, sink.len, 0, &jerr);
		if (r->body == NULL && r->status >= 200 && r->status < 300) {
			fprintf(stderr, "vrcli: invalid JSON from %s: %s\n", url, jerr.text);
			rc = VRCLI_EXIT_OTHER;
		}
	}
out:
	free(sink.buf);
	free(url);
	return rc;
}

/* http_request - METHOD PATH with BODY (or NULL); VRCLI_EXIT_CONNECT (printed) if no reply */
enum vrcli_exit http_request(struct http_client *c, const char *method, const char *path,
			     const json_t *body, struct http_reply *r)
{
	return perform(c, method, path, body, NULL, JSON_ACCEPT, NULL, NULL, r);
}

/* http_download - GET PATH; a 2xx body is written to OUT as it arrives */
enum vrcli_exit http_download(struct http_client *c, const char *path, const char *accept,
			      FILE *out, long long *written, struct http_reply *r)
{
	enum vrcli_exit rc;
	char *acc;

	if (asprintf(&acc, "%s, application/problem+json", accept) < 0)
		abort();
	*written = 0;
	rc = perform(c, "GET", path, NULL, NULL, acc, out, written, r);
	free(acc);
	if (rc != VRCLI_EXIT_OK)
		return rc;
	if (r->status < 200 || r->status > 299)
		return http_fail(c, r);
	return VRCLI_EXIT_OK;
}

/* http_fail - print R's error (one line on stderr) and return its exit code */
enum vrcli_exit http_fail(const struct http_client *c, const struct http_reply *r)
{
	struct errmap_problem p;
	char *line;

	if (r->status >= 300 && r->status < 400) {
		fprintf(stderr, "vrcli: the server redirected (HTTP %ld) to %s; redirects are not "
				"followed: check --url\n",
			r->status, r->location ? r->location : "(no Location)");
		return VRCLI_EXIT_OTHER;
	}
	errmap_from_json(&p, r->status, r->body, r->retry_after);
	line = errmap_format(&p, c->token);
	fprintf(stderr, "vrcli: %s\n", line);
	free(line);
	return errmap_exit_code(r->status);
}

/* http_call - http_request; any reply but 2xx is printed and mapped to an exit code */
enum vrcli_exit http_call(struct http_client *c, const char *method, const char *path,
			  const json_t *body, struct http_reply *r)
{
	enum vrcli_exit rc = http_request(c, method, path, body, r);

	if (rc != VRCLI_EXIT_OK)
		return rc;
	if (r->status < 200 || r->status > 299)
		return http_fail(c, r);
	return VRCLI_EXIT_OK;
}

/* http_call_bytes - METHOD PATH with the body DATA[0..LEN) of media type TYPE; any reply
 * but 2xx is printed and mapped to an exit code */
enum vrcli_exit http_call_bytes(struct http_client *c, const char *method, const char *path,
				const char *data, size_t len, const char *type,
				struct http_reply *r)
{
	struct payload raw = {data ? data : "", len, type};
	enum vrcli_exit rc = perform(c, method, path, NULL, &raw, JSON_ACCEPT, NULL, NULL, r);

	if (rc != VRCLI_EXIT_OK)
		return rc;
	if (r->status < 200 || r->status > 299)
		return http_fail(c, r);
	return VRCLI_EXIT_OK;
}

/* http_reply_free - release what *r holds */
void http_reply_free(struct http_reply *r)
{
	json_decref(r->body);
	free(r->location);
	memset(r, 0, sizeof(*r));
}

/* http_free - release C (NULL is fine) */
void http_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

/* http_escape - S percent-encoded for a path segment or query value */
char *http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (out == NULL)
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* RFC 3986 unreserved characters pass; everything else is encoded */
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* http_query_add - append "?KEY=VALUE" or "&KEY=VALUE" (VALUE encoded) to *path */
void http_query_add(char **path, const char *key, const char *value)
{
	char *enc = http_escape(value), *t;

	if (asprintf(&t, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', key, enc) < 0)
		abort();
	free(enc);
	free(*path);
	*path = t;
}
