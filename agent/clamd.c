/* clamd.c - INSTREAM over a unix or TCP socket, with deadlines (see clamd.h).
 *
 * One non-blocking socket per scan; every wait is a poll() bounded by what is left of the
 * deadline. When clamd stops reading early (it answers "INSTREAM size limit exceeded" and
 * closes), the send fails with EPIPE or ECONNRESET and its reply is still read, so that the
 * error says why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clamd.h"
#include "log.h"

#define DEF_CONNECT_MS 2000
#define DEF_TIMEOUT_MS 60000
#define DEF_STREAM_MAX ((size_t)25 * 1024 * 1024)
#define REPLY_MAX      1024

/* One scan in progress. */
struct conn {
	int fd;
	int64_t deadline; /* CLOCK_MONOTONIC ms */
	struct clamd_result *out;
};

/* now_ms - monotonic milliseconds */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fail - record an error; returns CLAMD_ERROR */
__attribute__((format(printf, 2, 3))) static enum clamd_status fail(struct clamd_result *out,
								    const char *fmt, ...)
{
	va_list ap;

	out->status = CLAMD_ERROR;
	va_start(ap, fmt);
	vsnprintf(out->text, sizeof(out->text), fmt, ap);
	va_end(ap);
	return CLAMD_ERROR;
}

/* wait_fd - poll fd for events until deadline; 1 ready, 0 timed out, -1 error */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* try_connect - one non-blocking connect, finished within deadline; fd or -1 (errno) */
static int try_connect(int family, const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto bad;
	switch (wait_fd(fd, POLLOUT, deadline)) {
	case 0:
		errno = ETIMEDOUT;
		goto bad;
	case -1:
		goto bad;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		goto bad;
	if (err == 0)
		return fd;
	errno = err;
bad:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* open_conn - connect to the unix path or host:port; false with out filled on failure */
static bool open_conn(const struct clamd_opts *o, struct conn *c)
{
	int64_t cdl =
	    now_ms() + (o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEF_CONNECT_MS);
	const char *a = o->address ? o->address : "";
	char host[256], port[16];
	const char *colon;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
	int rc;

	if (cdl > c->deadline)
		cdl = c->deadline;
	if (a[0] == '/') {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		if (strlen(a) >= sizeof(sun.sun_path)) {
			fail(c->out, "clamd socket path too long: %s", a);
			return false;
		}
		strcpy(sun.sun_path, a);
		c->fd = try_connect(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), cdl);
		if (c->fd < 0)
			fail(c->out, "cannot connect to clamd at %.200s: %s", a, strerror(errno));
		return c->fd >= 0;
	}
	if (a[0] == '[') {
		const char *close_br = strchr(a, ']');

		if (close_br == NULL || close_br[1] != ':' ||
		    (size_t)(close_br - a - 1) >= sizeof(host)) {
			fail(c->out, "bad clamd address: %.200s", a);
			return false;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close_br - a - 1), a + 1);
		colon = close_br + 1;
	} else {
		colon = strrchr(a, ':');
		if (colon == NULL || (size_t)(colon - a) >= sizeof(host) || colon == a) {
			fail(c->out, "bad clamd address (want /path or host:port): %.200s", a);
			return false;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - a), a);
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fail(c->out, "clamd address %.200s: %s", a, gai_strerror(rc));
		return false;
	}
	c->fd = -1;
	errno = ECONNREFUSED;
	for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next)
		c->fd = try_connect(ai->ai_family, ai->ai_addr, ai->ai_addrlen, cdl);
	if (c->fd < 0)
		fail(c->out, "cannot connect to clamd at %.200s: %s", a, strerror(errno));
	freeaddrinfo(res);
	return c->fd >= 0;
}

/* send_all - send n bytes before the deadline; 0, or -1 with errno (ETIMEDOUT, EPIPE...) */
static int send_all(struct conn *c, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);

		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		switch (wait_fd(c->fd, POLLOUT, c->deadline)) {
		case 0:
			errno = ETIMEDOUT;
			return -1;
		case -1:
			return -1;
		}
	}
	return 0;
}

/* send_chunk - one length-prefixed chunk */
static int send_chunk(struct conn *c, const void *p, size_t n)
{
	uint32_t be = htonl((uint32_t)n);

	if (send_all(c, &be, sizeof(be)) < 0)
		return -1;
	return n > 0 ? send_all(c, p, n) : 0;
}

/* read_reply - read up to the NUL (or EOF) into buf; 0, or -1 with errno */
static int read_reply(struct conn *c, char *buf, size_t bufsz)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len + 1 < bufsz) {
		ssize_t r = recv(c->fd, buf + len, bufsz - 1 - len, 0);

		if (r > 0) {
			len += (size_t)r;
			buf[len] = '\0';
			if (memchr(buf, '\0', len) != NULL)
				break;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		switch (wait_fd(c->fd, POLLIN, c->deadline)) {
		case 0:
			errno = ETIMEDOUT;
			return -1;
		case -1:
			return -1;
		}
	}
	return 0;
}

/* finish - read and classify the reply; after a failed send, explain with it if possible */
static enum clamd_status finish(struct conn *c, int send_errno)
{
	char reply[REPLY_MAX];
	int rc = read_reply(c, reply, sizeof(reply));

	if (rc == 0 && reply[0] != '\0')
		return clamd_parse_reply(reply, c->out);
	if (send_errno != 0)
		return fail(c->out, "clamd stopped reading the stream: %s", strerror(send_errno));
	if (rc == 0)
		return fail(c->out, "clamd closed the connection without a reply");
	return fail(c->out, "no reply from clamd: %s", strerror(errno));
}

/* A message source: a buffer or a file read with pread. */
struct source {
	const char *data;
	int fd;
	size_t len;
};

/* scan - the INSTREAM exchange over src */
static enum clamd_status scan(const struct clamd_opts *o, const struct source *src,
			      struct clamd_result *out)
{
	struct conn c = {.fd = -1, .out = out};
	size_t max = o->stream_max ? o->stream_max : DEF_STREAM_MAX, off = 0;
	static char zero;
	enum clamd_status st;
	int send_errno = 0;
	char *chunk = NULL;

	memset(out, 0, sizeof(*out));
	if (src->len > max)
		return fail(out, "message too large for clamd (%zu bytes, StreamMaxLength %zu)",
			    src->len, max);
	c.deadline = now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : DEF_TIMEOUT_MS);
	if (!open_conn(o, &c))
		return CLAMD_ERROR;
	if (src->data == NULL) {
		chunk = malloc(CLAMD_CHUNK);
		VR_CHECK_ALLOC(chunk);
	}
	if (send_all(&c, "zINSTREAM", 10) < 0)
		send_errno = errno;
	while (send_errno == 0 && off < src->len) {
		size_t n = src->len - off < CLAMD_CHUNK ? src->len - off : CLAMD_CHUNK;
		const char *p = src->data ? src->data + off : chunk;

		if (src->data == NULL) {
			ssize_t r = pread(src->fd, chunk, n, (off_t)off);

			if (r <= 0) {
				st = fail(out, "cannot read the message file: %s",
					  r < 0 ? strerror(errno) : "unexpected end of file");
				goto out;
			}
			n = (size_t)r;
		}
		if (send_chunk(&c, p, n) < 0)
			send_errno = errno;
		off += n;
	}
	if (send_errno == 0 && send_chunk(&c, &zero, 0) < 0)
		send_errno = errno;
	if (send_errno == ETIMEDOUT)
		st = fail(out, "timed out sending to clamd");
	else
		st = finish(&c, send_errno);
out:
	free(chunk);
	close(c.fd);
	return st;
}

/* clamd_scan_buffer - scan memory */
enum clamd_status clamd_scan_buffer(const struct clamd_opts *o, const void *data, size_t len,
				    struct clamd_result *out)
{
	struct source src = {.data = data ? data : "", .fd = -1, .len = data ? len : 0};

	return scan(o, &src, out);
}

/* clamd_scan_fd - scan a regular file */
enum clamd_status clamd_scan_fd(const struct clamd_opts *o, int fd, struct clamd_result *out)
{
	struct stat st;
	struct source src = {.fd = fd};

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0)
		return fail(out, "cannot stat the message file: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(out, "the message is not a regular file");
	src.len = (size_t)st.st_size;
	return scan(o, &src, out);
}

/* clamd_parse_reply - "stream: OK", "stream: NAME FOUND", else an error */
enum clamd_status clamd_parse_reply(const char *reply, struct clamd_result *out)
{
	char r[REPLY_MAX];
	size_t n;
	const char *name;

	memset(out, 0, sizeof(*out));
	snprintf(r, sizeof(r), "%s", reply ? reply : "");
	n = strlen(r);
	while (n > 0 && (r[n - 1] == '\n' || r[n - 1] == '\r' || r[n - 1] == ' '))
		r[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			r[i] = '?';
	if (n == 0)
		return fail(out, "empty reply from clamd");
	if (strcmp(r, "stream: OK") == 0) {
		out->status = CLAMD_CLEAN;
		return CLAMD_CLEAN;
	}
	if (n > 6 && strcmp(r + n - 6, " FOUND") == 0) {
		name = strstr(r, "stream: ");
		name = name ? name + 8 : r;
		while (*name == ' ')
			name++;
		if (name < r + n - 6) {
			out->status = CLAMD_INFECTED;
			snprintf(out->text, sizeof(out->text), "%.*s", (int)(r + n - 6 - name),
				 name);
			return CLAMD_INFECTED;
		}
	}
	return fail(out, "clamd: %.240s", r);
}
