/* milter.h - vr-agent's mail filter: a libmilter server on a unix socket that Postfix's
 * inbound and outbound listeners call for every message.
 *
 * Per SMTP connection (one libmilter session) the milter keeps the client's address and
 * HELO, the listener (Postfix's {daemon_name}: PF_MILTER_DAEMON_OUTBOUND means outbound,
 * anything else inbound; render_postfix.c names the listeners), and per message the envelope, the
 * raw message rebuilt exactly as received (msgbuf.h: memory, then an anonymous file) and
 * the headers it must know. At the end of the message it runs clamd, rspamd, the MIME
 * inventory, the attachment policy and the newsletter classifier, decides per recipient
 * (verdict.c) and acts; milter.c's header tells how.
 *
 * Process model: libmilter is process-wide. milter_start() opens the socket (removing a
 * stale one) in the calling thread, so that an unusable socket is a start-up error, then
 * runs smfi_main() in a thread of its own; libmilter serves each connection in a thread it
 * creates. milter_stop() stops accepting and waits (bounded) for the sessions in flight;
 * when smfi_main() ends by itself (libmilter's own signal thread caught SIGTERM, or a
 * failure) the milter thread sets *conf->stop so that the agent's loop ends too.
 *
 * The filter policy comes from the snapshot the loop applies: milter_publish() swaps in a
 * new one (refcounted: a message in flight keeps the one it started its end-of-message
 * with). Until the first policy arrives, every message is deferred (4xx).
 */
#ifndef VR_AGENT_MILTER_H
#define VR_AGENT_MILTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apid_client.h"
#include "outbox.h"
#include "verdict.h"

struct milter_conf {
	const char *socket;	      /* unix socket path */
	const char *socket_group;     /* group the socket is given (mode 0660); "": 0666 */
	const char *clamd;	      /* clamd's unix socket or host:port */
	size_t clamd_stream_max;      /* clamd's StreamMaxLength */
	const char *rspamd_url;	      /* http://127.0.0.1:11333 */
	const char *spool_dir;	      /* where big messages spill (created 0700) */
	const char *agent_name;	      /* in tracking reports and idempotency keys */
	const struct apid_opts *api;  /* NULL: no apid (quarantine impossible: deferred) */
	struct outbox *outbox;	      /* tracking reports apid did not take */
	volatile sig_atomic_t *stop;  /* set when the milter ends by itself */
};

/* milter_start - register, open the socket, start serving; 0, or -1 with err set. c and
 * everything it points to are borrowed until milter_stop() returns */
int milter_start(const struct milter_conf *c, char *err, size_t errsz);
/* milter_stop - stop accepting, wait up to grace seconds for the sessions in flight, join
 * the milter thread, release the pools and the policy (also after a failed start); false
 * when sessions are still running (then nothing is released: the caller should exit
 * without freeing what they borrow) */
bool milter_stop(int grace);
/* milter_publish - make p current (moved in: *p is reset; the milter frees it), with the
 * snapshot's message_size_limit (bytes) and version; thread-safe */
void milter_publish(struct filter_policy *p, int64_t message_size_limit, int64_t version);

#endif
