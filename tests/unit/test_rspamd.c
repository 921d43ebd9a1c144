/* test_rspamd.c - agent/rspamd.c: /checkv2 reply parsing, and the request against a fake
 * rspamd (a thread that answers one HTTP request with a canned reply and keeps what it got).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm.h"
#include "rspamd.h"

/* ---- reply parsing ---------------------------------------------------------------------- */

static const char full_reply[] =
    "{\"is_skipped\": false, \"score\": 16.5, \"required_score\": 15.0, \"action\": \"reject\","
    " \"symbols\": {\"GTUBE\": {\"name\": \"GTUBE\", \"score\": 0.0, \"metric_score\": 0},"
    "              \"MAILLIST\": {\"name\": \"MAILLIST\", \"score\": -0.2},"
    "              \"ARC_NA\": {\"name\": \"ARC_NA\", \"score\": 0.0, \"options\": [\"x\"]},"
    "              \"BAYES\": {\"name\": \"BAYES\"}},"
    " \"messages\": {}, \"message-id\": \"abc@x\","
    " \"milter\": {\"add_headers\": {\"Authentication-Results\": {\"value\": \"mx.test; spf=pass\","
    "                                                          \"order\": 0}},"
    "              \"remove_headers\": {\"X-Spam\": 1}}}";

struct reply_case {
	const char *body;
	bool ok;
	const char *error; /* substring when !ok */
	double score;
	const char *action;
	size_t n_symbols;
	const char *auth_results; /* NULL: none */
};

static const struct reply_case reply_cases[] = {
    {full_reply, true, NULL, 16.5, "reject", 4, "mx.test; spf=pass"},
    {"{\"score\": 0, \"action\": \"no action\"}", true, NULL, 0, "no action", 0, NULL},
    {"{\"score\": -1.5, \"symbols\": {}}", true, NULL, -1.5, "", 0, NULL},
    {"{\"score\": 3, \"milter\": {\"add_headers\": {\"Authentication-Results\": \"mx; none\"}}}",
     true, NULL, 3, "", 0, "mx; none"},
    {"{\"score\": 3, \"milter\": {\"add_headers\": {\"Authentication-Results\": "
     "[{\"value\": \"first\"}, {\"value\": \"second\"}]}}}",
     true, NULL, 3, "", 0, "first"},
    {"{\"score\": 3, \"milter\": {\"add_headers\": {\"Authentication-Results\": 5}}}", true, NULL,
     3, "", 0, NULL},
    {"{\"action\": \"reject\"}", false, "no numeric score", 0, "", 0, NULL},
    {"{\"score\": \"12\"}", false, "no numeric score", 0, "", 0, NULL},
    {"[1, 2]", false, "not a JSON object", 0, "", 0, NULL},
    {"<html>502 Bad Gateway</html>", false, "not a JSON object", 0, "", 0, NULL},
    {"", false, "not a JSON object", 0, "", 0, NULL},
};

/* parse_table - every reply form */
static void parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct rspamd_result r;
		bool ok = rspamd_parse_reply(c->body, strlen(c->body), &r);

		if (ok != c->ok || r.ok != ok)
			fail_msg("case %zu: want ok=%d, got %d (%s)", i, c->ok, ok, r.error);
		if (!ok) {
			if (strstr(r.error, c->error) == NULL)
				fail_msg("case %zu: error '%s' lacks '%s'", i, r.error, c->error);
		} else {
			assert_true(r.score == c->score);
			assert_string_equal(r.action, c->action);
			assert_int_equal(r.n_symbols, c->n_symbols);
			if (c->auth_results)
				assert_string_equal(r.auth_results, c->auth_results);
			else
				assert_null(r.auth_results);
		}
		rspamd_result_free(&r);
	}
}

/* symbols - sorted, looked up by name, scores kept */
static void symbols(void **state)
{
	struct rspamd_result r;

	(void)state;
	assert_true(rspamd_parse_reply(full_reply, strlen(full_reply), &r));
	assert_true(r.required_score == 15.0);
	assert_string_equal(r.symbols[0].name, "ARC_NA");
	assert_string_equal(r.symbols[3].name, "MAILLIST");
	assert_true(r.symbols[3].score == -0.2);
	assert_true(rspamd_has_symbol(&r, "GTUBE"));
	assert_true(rspamd_has_symbol(&r, "BAYES"));
	assert_false(rspamd_has_symbol(&r, "GTUB"));
	assert_false(rspamd_has_symbol(NULL, "GTUBE"));
	rspamd_result_free(&r);
	assert_false(rspamd_has_symbol(&r, "GTUBE"));
}

/* ---- the fake rspamd -------------------------------------------------------------------- */

struct fake {
	int lfd, port;
	const char *reply; /* whole HTTP response; NULL: never answer */
	pthread_t th;
	char request[65536];
	size_t req_len;
};

/* serve - one request: read headers and the Content-Length body, answer, close */
static void *serve(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	size_t want = 0;
	char *end;

	if (c < 0)
		return NULL;
	for (;;) {
		ssize_t r = read(c, f->request + f->req_len, sizeof(f->request) - 1 - f->req_len);

		if (r <= 0)
			break;
		f->req_len += (size_t)r;
		f->request[f->req_len] = '\0';
		if ((end = strstr(f->request, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(f->request, "\r\nContent-Length:");

			want =
			    (size_t)(end + 4 - f->request) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
			if (f->req_len >= want)
				break;
		}
	}
	if (f->reply != NULL) {
		if (write(c, f->reply, strlen(f->reply)) < 0)
			f->req_len = 0;
	} else {
		char sink[256];

		while (read(c, sink, sizeof(sink)) > 0)
			;
	}
	close(c);
	return NULL;
}

/* fake_start - listen on a loopback port and serve one request */
static void fake_start(struct fake *f, const char *reply)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->reply = reply;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(f->lfd, (struct sockaddr *)&sin, &sl);
	f->port = ntohs(sin.sin_port);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

/* fake_stop - join and close */
static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

/* http - a canned response with a body */
static char *http(int status, const char *body)
{
	char *s = NULL;

	if (asprintf(&s,
		     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     status, strlen(body), body) < 0)
		return NULL;
	return s;
}

/* request_headers - the SMTP context goes out as headers, one Rcpt per recipient */
static void request_headers(void **state)
{
	const char *rcpts[] = {"alice@corp.test", "bob@corp.test"};
	struct rspamd_request req = {.ip = "203.0.113.7",
				     .helo = "mail.example.org",
				     .from = "jean@example.org",
				     .rcpts = rcpts,
				     .n_rcpts = 2,
				     .queue_id = "4ABC12",
				     .hostname = "mail.example.org"};
	char *reply = http(200, full_reply), url[64];
	struct rspamd_opts o = {.url = url};
	struct rspamd_client *c = rspamd_client_new(&o);
	struct fake f;
	struct rspamd_result r;
	const char msg[] = "From: jean@example.org\r\nSubject: x\r\n\r\nbody\r\n";

	(void)state;
	fake_start(&f, reply);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port); /* trailing slash is fine */
	assert_true(rspamd_check(c, &req, msg, sizeof(msg) - 1, &r));
	fake_stop(&f);
	assert_true(r.score == 16.5);
	assert_non_null(strstr(f.request, "POST /checkv2 HTTP/1.1\r\n"));
	assert_non_null(strstr(f.request, "\r\nIP: 203.0.113.7\r\n"));
	assert_non_null(strstr(f.request, "\r\nHelo: mail.example.org\r\n"));
	assert_non_null(strstr(f.request, "\r\nHostname: mail.example.org\r\n"));
	assert_non_null(strstr(f.request, "\r\nFrom: jean@example.org\r\n"));
	assert_non_null(strstr(f.request, "\r\nRcpt: alice@corp.test\r\nRcpt: bob@corp.test\r\n"));
	assert_non_null(strstr(f.request, "\r\nQueue-Id: 4ABC12\r\n"));
	assert_null(strstr(f.request, "Expect:"));
	assert_non_null(strstr(f.request, "\r\n\r\nFrom: jean@example.org\r\nSubject: x"));
	rspamd_result_free(&r);

	/* the null sender, and a file as the source */
	{
		char path[] = "/tmp/test_rspamd.XXXXXX";
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		unlink(path);
		assert_int_equal(write(fd, msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
		req = (struct rspamd_request){.from = "", .rcpts = rcpts, .n_rcpts = 1};
		fake_start(&f, reply);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
		assert_true(rspamd_check_fd(c, &req, fd, &r));
		fake_stop(&f);
		assert_non_null(strstr(f.request, "\r\nFrom: <>\r\n"));
		assert_null(strstr(f.request, "\r\nIP:"));
		assert_non_null(strstr(f.request, "\r\n\r\nFrom: jean@example.org\r\nSubject: x"));
		rspamd_result_free(&r);
		close(fd);
	}
	rspamd_client_free(c);
	free(reply);
}

/* errors - refused, HTTP error with rspamd's message, garbage, timeout */
static void errors(void **state)
{
	char url[64];
	struct rspamd_opts o = {.url = url};
	struct rspamd_client *c = rspamd_client_new(&o);
	struct rspamd_result r;
	struct fake f;
	char *e500 = http(500, "{\"error\": \"cannot parse input\"}"), *bad = http(200, "oops"),
	     *noscore = http(200, "{\"action\": \"no action\"}");

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:1");
	assert_false(rspamd_check(c, NULL, "x", 1, &r));
	assert_non_null(
	    strstr(r.error, "onnect")); /* "Couldn't connect..." / "Connection refused" */
	rspamd_result_free(&r);

	fake_start(&f, e500);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	assert_false(rspamd_check(c, NULL, "x", 1, &r));
	fake_stop(&f);
	assert_string_equal(r.error, "HTTP 500: cannot parse input");
	rspamd_result_free(&r);

	fake_start(&f, bad);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	assert_false(rspamd_check(c, NULL, "x", 1, &r));
	fake_stop(&f);
	assert_non_null(strstr(r.error, "not a JSON object"));
	rspamd_result_free(&r);

	fake_start(&f, noscore);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	assert_false(rspamd_check(c, NULL, "x", 1, &r));
	fake_stop(&f);
	assert_non_null(strstr(r.error, "no numeric score"));
	rspamd_result_free(&r);

	fake_start(&f, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	o.timeout_ms = 300;
	assert_false(rspamd_check(c, NULL, "x", 1, &r));
	rspamd_client_free(c); /* closes the connection: the fake stops waiting */
	fake_stop(&f);
	assert_non_null(strstr(r.error, "imeout") ? r.error : strstr(r.error, "timed out"));
	rspamd_result_free(&r);
	free(e500);
	free(bad);
	free(noscore);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_table),
	    cmocka_unit_test(symbols),
	    cmocka_unit_test(request_headers),
	    cmocka_unit_test(errors),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
