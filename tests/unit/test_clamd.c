/* test_clamd.c - agent/clamd.c: reply parsing, and the INSTREAM exchange against a fake
 * clamd (a thread serving one connection on a unix or TCP socket).
 *
 * The fake checks the framing (the command, chunk lengths, the terminator) and answers
 * according to its mode: found/OK by content, the size-limit error mid-stream, silence (for
 * the timeout), or an immediate close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clamd.h"
#include "cm.h"

/* ---- reply parsing ---------------------------------------------------------------------- */

struct reply_case {
	const char *reply;
	enum clamd_status status;
	const char *text; /* substring of the result text */
};

static const struct reply_case reply_cases[] = {
    {"stream: OK", CLAMD_CLEAN, ""},
    {"stream: OK\n", CLAMD_CLEAN, ""},
    {"stream: Eicar-Test-Signature FOUND", CLAMD_INFECTED, "Eicar-Test-Signature"},
    {"stream: Win.Test.EICAR_HDB-1 FOUND\n", CLAMD_INFECTED, "Win.Test.EICAR_HDB-1"},
    {"1: stream: Some.Name FOUND", CLAMD_INFECTED, "Some.Name"},
    {"INSTREAM size limit exceeded. ERROR", CLAMD_ERROR, "size limit exceeded"},
    {"stream: Can't allocate memory ERROR", CLAMD_ERROR, "allocate memory"},
    {"stream:  FOUND", CLAMD_ERROR, "FOUND"},
    {"", CLAMD_ERROR, "empty reply"},
    {"UNKNOWN COMMAND", CLAMD_ERROR, "UNKNOWN COMMAND"},
    {"stream: OK trailing", CLAMD_ERROR, ""},
};

/* parse_table - every reply form */
static void parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		struct clamd_result r;
		enum clamd_status st = clamd_parse_reply(reply_cases[i].reply, &r);

		if (st != reply_cases[i].status || r.status != st ||
		    strstr(r.text, reply_cases[i].text) == NULL)
			fail_msg("reply '%s': want %d '%s', got %d '%s'", reply_cases[i].reply,
				 reply_cases[i].status, reply_cases[i].text, st, r.text);
	}
}

/* ---- the fake clamd --------------------------------------------------------------------- */

enum fake_mode { FAKE_SCAN, FAKE_LIMIT, FAKE_SILENT, FAKE_CLOSE };

struct fake {
	int lfd;
	enum fake_mode mode;
	char path[108];
	int port;
	pthread_t th;
	/* what it saw */
	bool framing_ok;
	size_t received, chunks, max_chunk;
};

/* read_n - read exactly n bytes; false on EOF or error */
static bool read_n(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* serve - one connection, per mode */
static void *serve(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	char cmd[10], *data = NULL;
	uint32_t be;
	bool found = false;

	if (c < 0)
		return NULL;
	if (f->mode == FAKE_CLOSE)
		goto out;
	f->framing_ok = read_n(c, cmd, 10) && memcmp(cmd, "zINSTREAM", 10) == 0;
	if (f->mode == FAKE_SILENT) {
		while (read(c, cmd, sizeof(cmd)) > 0)
			; /* swallow until the client gives up */
		goto out;
	}
	for (;;) {
		size_t n;

		if (!read_n(c, &be, 4)) {
			f->framing_ok = false;
			break;
		}
		n = ntohl(be);
		if (n == 0)
			break;
		f->chunks++;
		if (n > f->max_chunk)
			f->max_chunk = n;
		data = realloc(data, f->received + n + 1);
		if (!read_n(c, data + f->received, n)) {
			f->framing_ok = false;
			break;
		}
		f->received += n;
		data[f->received] = '\0';
		if (f->mode == FAKE_LIMIT && f->received > 100000) {
			const char e[] = "INSTREAM size limit exceeded. ERROR";

			if (write(c, e, sizeof(e)) < 0)
				f->framing_ok = false;
			goto out;
		}
	}
	found = data != NULL && memmem(data, f->received, "FAKE-VIRUS", 10) != NULL;
	if (write(c, found ? "stream: Fake.Virus FOUND" : "stream: OK", found ? 25 : 11) < 0)
		f->framing_ok = false;
out:
	free(data);
	close(c);
	return NULL;
}

/* fake_start - listen (unix path when tcp is false) and serve one connection */
static void fake_start(struct fake *f, enum fake_mode mode, bool tcp)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	if (tcp) {
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sin);

		f->lfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		getsockname(f->lfd, (struct sockaddr *)&sin, &sl);
		f->port = ntohs(sin.sin_port);
	} else {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		snprintf(f->path, sizeof(f->path), "/tmp/test_clamd.%d.sock", (int)getpid());
		unlink(f->path);
		strcpy(sun.sun_path, f->path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

/* fake_stop - join the server and clean up */
static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	if (f->path[0])
		unlink(f->path);
}

/* big_message - len bytes of text with marker at the end (if any) */
static char *big_message(size_t len, const char *marker)
{
	char *m = malloc(len + 1);

	memset(m, 'a', len);
	m[len] = '\0';
	if (marker)
		memcpy(m + len - strlen(marker), marker, strlen(marker));
	return m;
}

/* scan_unix_and_tcp - framing, OK and FOUND, over both transports */
static void scan_unix_and_tcp(void **state)
{
	(void)state;
	for (int tcp = 0; tcp < 2; tcp++)
		for (int infected = 0; infected < 2; infected++) {
			struct fake f;
			char addr[128];
			size_t len = 3 * CLAMD_CHUNK + 17;
			char *msg = big_message(len, infected ? "FAKE-VIRUS" : NULL);
			struct clamd_opts o = {.address = addr};
			struct clamd_result r;

			fake_start(&f, FAKE_SCAN, tcp);
			if (tcp)
				snprintf(addr, sizeof(addr), "127.0.0.1:%d", f.port);
			else
				snprintf(addr, sizeof(addr), "%s", f.path);
			assert_int_equal(clamd_scan_buffer(&o, msg, len, &r),
					 infected ? CLAMD_INFECTED : CLAMD_CLEAN);
			fake_stop(&f);
			assert_true(f.framing_ok);
			assert_int_equal(f.received, len);
			assert_int_equal(f.chunks, 4);
			assert_int_equal(f.max_chunk, CLAMD_CHUNK);
			assert_string_equal(r.text, infected ? "Fake.Virus" : "");
			free(msg);
		}
}

/* scan_file - the fd variant sends the file from offset 0 */
static void scan_file(void **state)
{
	char path[] = "/tmp/test_clamd.XXXXXX";
	int fd = mkstemp(path);
	char *msg = big_message(200000, "FAKE-VIRUS");
	struct fake f;
	struct clamd_opts o;
	struct clamd_result r;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, msg, 200000), 200000);
	fake_start(&f, FAKE_SCAN, false);
	o = (struct clamd_opts){.address = f.path};
	assert_int_equal(clamd_scan_fd(&o, fd, &r), CLAMD_INFECTED);
	fake_stop(&f);
	assert_int_equal(f.received, 200000);
	close(fd);
	free(msg);
}

/* errors - every failure is an error with a reason, never clean */
static void errors(void **state)
{
	char *msg = big_message(300000, NULL);
	struct clamd_result r;
	struct fake f;
	struct clamd_opts o;

	(void)state;
	/* nobody listening */
	o = (struct clamd_opts){.address = "/tmp/test_clamd.nonexistent.sock"};
	assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	assert_non_null(strstr(r.text, "cannot connect"));
	o = (struct clamd_opts){.address = "127.0.0.1:1"};
	assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	assert_non_null(strstr(r.text, "cannot connect"));
	/* bad addresses */
	o = (struct clamd_opts){.address = "localhost"};
	assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	assert_non_null(strstr(r.text, "bad clamd address"));
	o = (struct clamd_opts){.address = "[::1"};
	assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	o = (struct clamd_opts){.address = NULL};
	assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	/* too large: refused before connecting */
	o = (struct clamd_opts){.address = "/nonexistent", .stream_max = 1000};
	assert_int_equal(clamd_scan_buffer(&o, msg, 1001, &r), CLAMD_ERROR);
	assert_non_null(strstr(r.text, "too large for clamd"));
	/* clamd's own limit, mid-stream */
	fake_start(&f, FAKE_LIMIT, false);
	o = (struct clamd_opts){.address = f.path};
	assert_int_equal(clamd_scan_buffer(&o, msg, 300000, &r), CLAMD_ERROR);
	fake_stop(&f);
	assert_true(strstr(r.text, "size limit exceeded") || strstr(r.text, "stopped reading"));
	/* silence: the total timeout */
	fake_start(&f, FAKE_SILENT, true);
	{
		char addr[64];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", f.port);
		o = (struct clamd_opts){.address = addr, .timeout_ms = 300};
		assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	}
	fake_stop(&f);
	assert_non_null(strstr(r.text, "Connection timed out"));
	/* closed at once */
	fake_start(&f, FAKE_CLOSE, false);
	o = (struct clamd_opts){.address = f.path};
	assert_int_equal(clamd_scan_buffer(&o, "x", 1, &r), CLAMD_ERROR);
	fake_stop(&f);
	/* not a regular file */
	{
		int p[2];

		assert_int_equal(pipe(p), 0);
		assert_int_equal(clamd_scan_fd(&o, p[0], &r), CLAMD_ERROR);
		assert_non_null(strstr(r.text, "not a regular file"));
		close(p[0]);
		close(p[1]);
	}
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_table),
	    cmocka_unit_test(scan_unix_and_tcp),
	    cmocka_unit_test(scan_file),
	    cmocka_unit_test(errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
