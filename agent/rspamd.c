/* rspamd.c - /checkv2 over libcurl and the JSON reply parser (see rspamd.h). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rspamd.h"

#define DEF_CONNECT_MS 2000L
#define DEF_TIMEOUT_MS 20000L

struct rspamd_client {
	const struct rspamd_opts *o;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/* The reply body, bounded. */
struct sink {
	char *buf;
	size_t len;
	bool overflow;
};

/* The message when it is read from a file. */
struct fd_source {
	int fd;
	off_t off, size;
	bool failed;
};

/* rspamd_client_new - one reusable handle */
struct rspamd_client *rspamd_client_new(const struct rspamd_opts *opts)
{
	struct rspamd_client *c = calloc(1, sizeof(*c));

	VR_CHECK_ALLOC(c);
	c->o = opts;
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

/* rspamd_client_free - release the handle and its connection */
void rspamd_client_free(struct rspamd_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

/* on_data - libcurl write callback: append up to RSPAMD_MAX_REPLY bytes */
static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->len + n > (size_t)RSPAMD_MAX_REPLY) {
		s->overflow = true;
		return 0;
	}
	s->buf = realloc(s->buf, s->len + n + 1);
	VR_CHECK_ALLOC(s->buf);
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* on_read - libcurl read callback over the message file */
static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct fd_source *s = arg;
	size_t want = size * nmemb;
	ssize_t got;

	if (s->off >= s->size)
		return 0;
	if ((off_t)want > s->size - s->off)
		want = (size_t)(s->size - s->off);
	got = pread(s->fd, buf, want, s->off);
	if (got <= 0) {
		s->failed = true;
		return CURL_READFUNC_ABORT;
	}
	s->off += got;
	return (size_t)got;
}

/* add_header - append "Name: value" with control characters made into '?' */
static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
	char line[1024];
	struct curl_slist *n;
	int len;

	if (value == NULL)
		return h;
	/* "Name:" with nothing after the colon makes libcurl drop a header it would add */
	len = snprintf(line, sizeof(line), *value ? "%s: %s" : "%s:", name, value);
	if (len < 0 || (size_t)len >= sizeof(line))
		return h; /* an SMTP value this long is garbage: rspamd does without it */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	n = curl_slist_append(h, line);
	VR_CHECK_ALLOC(n);
	return n;
}

/* request_headers - the SMTP context as rspamd's request headers */
static struct curl_slist *request_headers(const struct rspamd_request *req)
{
	struct curl_slist *h = NULL;

	h = add_header(h, "Expect", "");
	h = add_header(h, "Content-Type", "application/octet-stream");
	if (req == NULL)
		return h;
	h = add_header(h, "IP", req->ip);
	h = add_header(h, "Helo", req->helo);
	h = add_header(h, "Hostname", req->hostname);
	if (req->from != NULL)
		h = add_header(h, "From", *req->from ? req->from : "<>");
	for (size_t i = 0; i < req->n_rcpts; i++)
		h = add_header(h, "Rcpt", req->rcpts[i]);
	h = add_header(h, "Queue-Id", req->queue_id);
	return h;
}

/* fail - record an error in out; returns false */
__attribute__((format(printf, 2, 3))) static bool fail(struct rspamd_result *out, const char *fmt,
						       ...)
{
	va_list ap;

	out->ok = false;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return false;
}

/* perform - run the prepared POST and parse the reply */
static bool perform(struct rspamd_client *c, const struct rspamd_request *req,
		    struct rspamd_result *out, const struct fd_source *src)
{
	const struct rspamd_opts *o = c->o;
	char url[2048];
	struct sink body = {0};
	struct curl_slist *hdrs = request_headers(req);
	size_t ulen = strlen(o->url);
	long status = 0;
	CURLcode rc;

	while (ulen > 0 && o->url[ulen - 1] == '/')
		ulen--;
	snprintf(url, sizeof(url), "%.*s/checkv2", (int)ulen, o->url);
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEF_CONNECT_MS);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS,
			 o->timeout_ms > 0 ? o->timeout_ms : DEF_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		if (src != NULL && src->failed)
			fail(out, "cannot read the message file");
		else if (body.overflow)
			fail(out, "reply larger than %ld bytes", RSPAMD_MAX_REPLY);
		else
			fail(out, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		free(body.buf);
		return false;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		json_t *j = json_loadb(body.buf ? body.buf : "", body.len, 0, NULL);
		const char *e = json_string_value(json_object_get(j, "error"));

		fail(out, "HTTP %ld%s%.200s", status, e ? ": " : "", e ? e : "");
		json_decref(j);
		free(body.buf);
		return false;
	}
	rspamd_parse_reply(body.buf ? body.buf : "", body.len, out);
	free(body.buf);
	return out->ok;
}

/* rspamd_check - POST the buffer */
bool rspamd_check(struct rspamd_client *c, const struct rspamd_request *req, const void *msg,
		  size_t len, struct rspamd_result *out)
{
	memset(out, 0, sizeof(*out));
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, len ? msg : "");
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	return perform(c, req, out, NULL);
}

/* rspamd_check_fd - POST the file, streamed */
bool rspamd_check_fd(struct rspamd_client *c, const struct rspamd_request *req, int fd,
		     struct rspamd_result *out)
{
	struct fd_source src = {.fd = fd};
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0)
		return fail(out, "cannot stat the message file: %s", strerror(errno));
	src.size = st.st_size;
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c->curl, CURLOPT_READDATA, &src);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
	return perform(c, req, out, &src);
}

/* cmp_symbol - qsort/bsearch comparator by name */
static int cmp_symbol(const void *a, const void *b)
{
	return strcmp(((const struct rspamd_symbol *)a)->name,
		      ((const struct rspamd_symbol *)b)->name);
}

/* header_value - a milter header entry: "text", {"value": "text"} or [entry, ...] */
static const char *header_value(json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_object(v))
		return json_string_value(json_object_get(v, "value"));
	if (json_is_array(v) && json_array_size(v) > 0)
		return header_value(json_array_get(v, 0));
	return NULL;
}

/* rspamd_parse_reply - score, required_score, action, symbols, Authentication-Results */
bool rspamd_parse_reply(const char *body, size_t len, struct rspamd_result *out)
{
	json_t *root, *score, *syms, *v;
	const char *key, *ar;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(out, "reply is not a JSON object");
	}
	score = json_object_get(root, "score");
	if (!json_is_number(score)) {
		json_decref(root);
		return fail(out, "reply has no numeric score");
	}
	out->score = json_number_value(score);
	v = json_object_get(root, "required_score");
	out->required_score = json_is_number(v) ? json_number_value(v) : 0;
	snprintf(out->action, sizeof(out->action), "%s",
		 json_is_string(v = json_object_get(root, "action")) ? json_string_value(v) : "");
	syms = json_object_get(root, "symbols");
	if (json_is_object(syms) && json_object_size(syms) > 0) {
		out->symbols = calloc(json_object_size(syms), sizeof(*out->symbols));
		VR_CHECK_ALLOC(out->symbols);
		json_object_foreach(syms, key, v)
		{
			json_t *s = json_object_get(v, "score");

			out->symbols[i].name = strdup(key);
			VR_CHECK_ALLOC(out->symbols[i].name);
			out->symbols[i].score = json_is_number(s) ? json_number_value(s) : 0;
			i++;
		}
		out->n_symbols = i;
		qsort(out->symbols, i, sizeof(*out->symbols), cmp_symbol);
	}
	v = json_object_get(json_object_get(json_object_get(root, "milter"), "add_headers"),
			    "Authentication-Results");
	if ((ar = header_value(v)) != NULL) {
		out->auth_results = strdup(ar);
		VR_CHECK_ALLOC(out->auth_results);
	}
	json_decref(root);
	out->ok = true;
	return true;
}

/* rspamd_has_symbol - binary search over the sorted symbols */
bool rspamd_has_symbol(const struct rspamd_result *r, const char *name)
{
	struct rspamd_symbol key = {.name = (char *)name};

	return r != NULL && r->n_symbols > 0 &&
	       bsearch(&key, r->symbols, r->n_symbols, sizeof(key), cmp_symbol) != NULL;
}

/* rspamd_result_free - release the symbols and the header value */
void rspamd_result_free(struct rspamd_result *r)
{
	for (size_t i = 0; i < r->n_symbols; i++)
		free(r->symbols[i].name);
	free(r->symbols);
	free(r->auth_results);
	memset(r, 0, sizeof(*r));
}
