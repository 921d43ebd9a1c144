/* clamd.h - the clamd INSTREAM client: is this raw message infected?
 *
 * clamd_scan_buffer() / clamd_scan_fd() connect to clamd (a unix socket path, or
 * "host:port" / "[v6]:port" over TCP - loopback in practice), send "zINSTREAM\0", the
 * whole RFC 5322 message in chunks each led by its 4-byte big-endian length, then a
 * zero-length chunk, and read the NUL-terminated reply: "stream: OK" (clean),
 * "stream: <Name> FOUND" (infected), anything else (error, e.g. "... ERROR"). clamd parses
 * the MIME itself (base64 parts, zips). A message longer than opts.stream_max (clamd's
 * StreamMaxLength) is not sent: the result is an error "too large for clamd". Both the
 * connection and the whole exchange have a deadline. Errors are results, never clean: the
 * milter tempfails on them.
 *
 * Thread-safe (one connection per call); SIGPIPE is avoided with MSG_NOSIGNAL.
 */
#ifndef VR_AGENT_CLAMD_H
#define VR_AGENT_CLAMD_H

#include <stddef.h>

#define CLAMD_CHUNK (64 * 1024) /* bytes per INSTREAM chunk */

enum clamd_status { CLAMD_CLEAN, CLAMD_INFECTED, CLAMD_ERROR };

struct clamd_opts {
	const char *address;	/* "/run/clamd.sock", "127.0.0.1:3310", "[::1]:3310"; borrowed */
	int connect_timeout_ms; /* 0: 2000 */
	int timeout_ms;		/* the whole exchange; 0: 60000 */
	size_t stream_max;	/* clamd's StreamMaxLength in bytes; 0: 25 MiB (clamd's default) */
};

struct clamd_result {
	enum clamd_status status;
	char text[256]; /* the virus name (infected) or what went wrong (error); "" when clean */
};

/* clamd_scan_buffer - scan len bytes; fills out and returns out->status */
enum clamd_status clamd_scan_buffer(const struct clamd_opts *o, const void *data, size_t len,
				    struct clamd_result *out);
/* clamd_scan_fd - scan a regular file from offset 0 (with pread: the offset is untouched) */
enum clamd_status clamd_scan_fd(const struct clamd_opts *o, int fd, struct clamd_result *out);
/* clamd_parse_reply - classify clamd's reply text (pure); returns out->status */
enum clamd_status clamd_parse_reply(const char *reply, struct clamd_result *out);

#endif
