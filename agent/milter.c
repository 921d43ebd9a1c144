/* milter.c - vr-agent's milter: libmilter's registration, callbacks and sessions, the
 * policy in force, the client pools, start and stop (see milter.h; the end of a message is
 * milter_eom.c).
 *
 * Collected per session (struct sess, smfi_setpriv): client address and HELO (connect,
 * helo), the listener ({daemon_name}), and per message the envelope sender, the
 * recipients (as Postfix gave them, for smfi_delrcpt, and without <>), the raw message
 * (each header as "Name:value" - the leading space is asked for with SMFIP_HDR_LEADSPC so
 * that the copy is byte for byte what was received - then the body; CRLF line ends, as the
 * milter protocol carries them), the first Subject value, how many X-VR-* headers the
 * message brought, and a SHA-256 of the copy (less a first Received header) that is the
 * same each time the sender tries the message again (milter_meta.h: the quarantine key).
 * Headers are sent without a reply each (SMFIP_NR_HDR) when Postfix offers it. The copy
 * is capped at the snapshot's message_size_limit (+10 % for the CR of every line, + 64
 * KiB): Postfix enforces the limit itself, the cap only bounds what the milter holds; past
 * it the message is refused (552 5.3.4). Before the first policy, MAIL FROM is deferred
 * (451 4.3.0).
 *
 * Threads: libmilter runs one thread per connection. rspamd and apid clients (one libcurl
 * handle each, keep-alive) are taken from small pools for the end of a message and given
 * back, so connections reuse them. The policy is a refcounted object swapped under a
 * mutex. Global state: libmilter is process-wide, so the milter's state (settings, pools,
 * policy, session count) is too; it is set up by milter_start() and released by
 * milter_stop().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "milter_int.h"
#include "mime_scan.h"
#include "render_postfix.h"
#include "vrtime.h"

#define MAX_RCPTS   1000   /* Postfix's smtpd_recipient_limit default */
#define POOL_MAX    32     /* idle clients kept per pool */
#define API_TIMEOUT 60000L /* ms: one request of the milter to apid */

/* Idle clients of one kind. */
struct pool {
	pthread_mutex_t mu;
	void *idle[POOL_MAX];
	size_t n;
};

const char *const milter_vr_headers[N_VR_HEADERS] = {"X-VR-Verdict", "X-VR-Score",
						     "X-VR-Category"};
struct milter_env milter_env;

static struct {
	struct apid_opts api; /* the loop's settings without stop, with a timeout */
	struct rspamd_opts rspamd;
	struct pool rspamd_pool, apid_pool;
	pthread_mutex_t pol_mu;
	struct mpolicy *policy;
	pthread_mutex_t sess_mu;
	pthread_cond_t sess_cv;
	int sessions;
	pthread_t thread;
	bool started;
	volatile int stopping;
} M = {
	.pol_mu = PTHREAD_MUTEX_INITIALIZER,
	.sess_mu = PTHREAD_MUTEX_INITIALIZER,
	.sess_cv = PTHREAD_COND_INITIALIZER,
	.rspamd_pool = {.mu = PTHREAD_MUTEX_INITIALIZER},
	.apid_pool = {.mu = PTHREAD_MUTEX_INITIALIZER},
};

/* ---- policy ------------------------------------------------------------------------- */

/* milter_policy_put - drop one reference */
void milter_policy_put(struct mpolicy *p)
{
	bool last;

	if (p == NULL)
		return;
	pthread_mutex_lock(&M.pol_mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&M.pol_mu);
	if (last) {
		filter_policy_free(&p->fp);
		free(p);
	}
}

/* milter_policy_get - a reference to the policy in force, or NULL */
struct mpolicy *milter_policy_get(void)
{
	struct mpolicy *p;

	pthread_mutex_lock(&M.pol_mu);
	p = M.policy;
	if (p)
		p->refs++;
	pthread_mutex_unlock(&M.pol_mu);
	return p;
}

/* milter_publish - swap in a new policy */
void milter_publish(struct filter_policy *fp, int64_t message_size_limit, int64_t version)
{
	struct mpolicy *p = calloc(1, sizeof(*p)), *old;

	VR_CHECK_ALLOC(p);
	p->refs = 1;
	p->fp = *fp;
	memset(fp, 0, sizeof(*fp));
	p->size_limit = message_size_limit;
	p->version = version;
	pthread_mutex_lock(&M.pol_mu);
	old = M.policy;
	M.policy = p;
	pthread_mutex_unlock(&M.pol_mu);
	milter_policy_put(old);
	VR_LOG_INFO("filter policy of snapshot version %lld in force", (long long)version);
}

/* ---- client pools ------------------------------------------------------------------- */

/* pool_take - an idle client, or NULL (the caller makes one) */
static void *pool_take(struct pool *p)
{
	void *c = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->n > 0)
		c = p->idle[--p->n];
	pthread_mutex_unlock(&p->mu);
	return c;
}

/* pool_give - keep c for the next message; false when the pool is full (free it) */
static bool pool_give(struct pool *p, void *c)
{
	bool kept = false;

	pthread_mutex_lock(&p->mu);
	if (p->n < POOL_MAX) {
		p->idle[p->n++] = c;
		kept = true;
	}
	pthread_mutex_unlock(&p->mu);
	return kept;
}

/* milter_rspamd_take - a client for the milter's rspamd settings, or NULL */
struct rspamd_client *milter_rspamd_take(void)
{
	struct rspamd_client *c = pool_take(&M.rspamd_pool);

	return c ? c : rspamd_client_new(&M.rspamd);
}

/* milter_rspamd_give - back to the pool */
void milter_rspamd_give(struct rspamd_client *c)
{
	if (c && !pool_give(&M.rspamd_pool, c))
		rspamd_client_free(c);
}

/* milter_apid_take - a client for apid, or NULL (no apid, or libcurl failed) */
struct apid_client *milter_apid_take(void)
{
	struct apid_client *c;

	if (milter_env.c->api == NULL)
		return NULL;
	c = pool_take(&M.apid_pool);
	return c ? c : apid_new(&M.api);
}

/* milter_apid_give - back to the pool */
void milter_apid_give(struct apid_client *c)
{
	if (c && !pool_give(&M.apid_pool, c))
		apid_free(c);
}

/* ---- replies ------------------------------------------------------------------------ */

/* strip_brackets - a malloc'd copy of an SMTP path without its angle brackets */
static char *strip_brackets(const char *s)
{
	size_t n;
	char *out;

	while (*s == ' ')
		s++;
	n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	out = strndup(s, n);
	VR_CHECK_ALLOC(out);
	return out;
}

/* reply_text - text that smfi_setreply takes: printable ASCII, no '%', at most 300 bytes */
static void reply_text(char *out, size_t outsz, const char *in)
{
	size_t i = 0;

	for (; *in && i + 1 < outsz && i < 300; in++)
		out[i++] = (*in >= ' ' && *in < 0x7f && *in != '%') ? *in : '?';
	out[i] = '\0';
}

/* milter_set_reply - smfi_setreply with a sanitised, formatted text */
void milter_set_reply(SMFICTX *ctx, const char *code, const char *xcode, const char *fmt, ...)
{
	char raw[512], text[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	reply_text(text, sizeof(text), raw);
	if (smfi_setreply(ctx, (char *)code, (char *)xcode, text) != MI_SUCCESS)
		VR_LOG_WARN("smfi_setreply %s %s failed", code, xcode);
}

/* ---- session ------------------------------------------------------------------------ */

/* milter_sess - the session of ctx, made on first use */
struct sess *milter_sess(SMFICTX *ctx)
{
	struct sess *s = smfi_getpriv(ctx);

	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		VR_CHECK_ALLOC(s);
		msgbuf_init(&s->mb, milter_env.c->spool_dir, MSGBUF_MEM_MAX, 0);
		crypto_hash_sha256_init(&s->content);
		s->hash_on = true;
		smfi_setpriv(ctx, s);
		pthread_mutex_lock(&M.sess_mu);
		M.sessions++;
		pthread_mutex_unlock(&M.sess_mu);
	}
	return s;
}

/* milter_msg_reset - forget the message (not the connection) */
void milter_msg_reset(struct sess *s)
{
	for (size_t i = 0; i < s->n_rcpts; i++) {
		free(s->rcpts[i].raw);
		free(s->rcpts[i].addr);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->n_rcpts = s->cap_rcpts = 0;
	free(s->sender);
	s->sender = NULL;
	free(s->subject_raw);
	s->subject_raw = NULL;
	msgbuf_free(&s->mb);
	s->mb_status = MSGBUF_OK;
	memset(s->vr_count, 0, sizeof(s->vr_count));
	crypto_hash_sha256_init(&s->content);
	s->hash_on = true;
	s->n_headers = 0;
}

/* sess_free - the connection is over */
static void sess_free(SMFICTX *ctx)
{
	struct sess *s = smfi_getpriv(ctx);

	if (s == NULL)
		return;
	milter_msg_reset(s);
	free(s);
	smfi_setpriv(ctx, NULL);
	pthread_mutex_lock(&M.sess_mu);
	M.sessions--;
	pthread_cond_broadcast(&M.sess_cv);
	pthread_mutex_unlock(&M.sess_mu);
}

/* append - add bytes to the message copy (and its content hash), remembering the first
 * failure */
static void append(struct sess *s, const void *p, size_t n)
{
	if (s->mb_status == MSGBUF_OK)
		s->mb_status = msgbuf_append(&s->mb, p, n);
	if (s->hash_on)
		crypto_hash_sha256_update(&s->content, p, n);
}

/* append_lines - add text whose bare LFs become CRLF (folded header values) */
static void append_lines(struct sess *s, const char *t)
{
	const char *p = t;

	for (; *p; p++) {
		if (*p == '\n' && (p == t || p[-1] != '\r')) {
			append(s, t, (size_t)(p - t));
			append(s, "\r\n", 2);
			t = p + 1;
		}
	}
	append(s, t, (size_t)(p - t));
}

/* milter_size_status - the reply for a copy that could not grow, or SMFIS_CONTINUE */
sfsistat milter_size_status(SMFICTX *ctx, struct sess *s)
{
	if (s->mb_status == MSGBUF_TOO_BIG) {
		milter_set_reply(ctx, "552", "5.3.4", "Message size exceeds the fixed limit");
		return SMFIS_REJECT;
	}
	if (s->mb_status == MSGBUF_IO) {
		VR_LOG_ERR("cannot spool the message in %s: %s", milter_env.c->spool_dir,
			   strerror(s->mb.err));
		milter_set_reply(ctx, "451", "4.3.0", "Temporary local problem, try again later");
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

/* ---- callbacks ---------------------------------------------------------------------- */

/* on_negotiate - the actions we use; headers as received, without a reply each */
static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct sess *s = milter_sess(ctx);
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT;

	if ((f0 & want) != want)
		VR_LOG_WARN("the MTA does not offer every action the filter needs (0x%lx)", f0);
	*pf0 = f0 & want;
	*pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA);
	*pf2 = *pf3 = 0;
	s->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	s->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	return SMFIS_CONTINUE;
}

/* on_connect - the client's address and the listener */
static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct sess *s = milter_sess(ctx);
	const char *daemon = smfi_getsymval(ctx, "{daemon_name}");

	snprintf(s->client_ip, sizeof(s->client_ip), "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, s->client_ip,
			  sizeof(s->client_ip));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, s->client_ip,
			  sizeof(s->client_ip));
	s->dir = daemon && !strcmp(daemon, PF_MILTER_DAEMON_OUTBOUND) ? FD_OUTBOUND : FD_INBOUND;
	return SMFIS_CONTINUE;
}

/* on_helo - keep the name (the last one, cut to 255 bytes) */
static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
	struct sess *s = milter_sess(ctx);

	snprintf(s->helo, sizeof(s->helo), "%s", helo ? helo : "");
	return SMFIS_CONTINUE;
}

/* on_envfrom - a new message; deferred at once while no policy is in force */
static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct sess *s = milter_sess(ctx);
	struct mpolicy *p = milter_policy_get();
	size_t cap = 0;

	milter_msg_reset(s);
	if (p == NULL) {
		milter_set_reply(ctx, "451", "4.3.0", "%s", MILTER_NOT_YET);
		return SMFIS_TEMPFAIL;
	}
	if (p->size_limit > 0)
		cap = (size_t)p->size_limit + (size_t)p->size_limit / 10 + 65536;
	milter_policy_put(p);
	msgbuf_init(&s->mb, milter_env.c->spool_dir, MSGBUF_MEM_MAX, cap);
	s->sender = strip_brackets(argv && argv[0] ? argv[0] : "");
	s->received_at = vr_now();
	return SMFIS_CONTINUE;
}

/* on_envrcpt - one more recipient */
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct sess *s = milter_sess(ctx);

	if (argv == NULL || argv[0] == NULL)
		return SMFIS_CONTINUE;
	if (s->n_rcpts >= MAX_RCPTS) {
		milter_set_reply(ctx, "452", "4.5.3", "Too many recipients");
		return SMFIS_TEMPFAIL;
	}
	if (s->n_rcpts == s->cap_rcpts) {
		s->cap_rcpts = s->cap_rcpts ? s->cap_rcpts * 2 : 4;
		s->rcpts = realloc(s->rcpts, s->cap_rcpts * sizeof(*s->rcpts));
		VR_CHECK_ALLOC(s->rcpts);
	}
	s->rcpts[s->n_rcpts].raw = strdup(argv[0]);
	VR_CHECK_ALLOC(s->rcpts[s->n_rcpts].raw);
	s->rcpts[s->n_rcpts].addr = strip_brackets(argv[0]);
	s->n_rcpts++;
	return SMFIS_CONTINUE;
}

/* on_header - "Name:value" CRLF into the copy */
static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct sess *s = milter_sess(ctx);
	sfsistat ok = s->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;

	if (name == NULL || value == NULL)
		return ok;
	/* a Received header on top may be one an MTA adds on each try (with its queue id and
	 * time): it stays out of the content hash */
	s->hash_on = !(s->n_headers++ == 0 && !strcasecmp(name, "Received"));
	append(s, name, strlen(name));
	append(s, s->leadspc ? ":" : ": ", s->leadspc ? 1 : 2);
	append_lines(s, value);
	append(s, "\r\n", 2);
	s->hash_on = true;
	if (s->subject_raw == NULL && !strcasecmp(name, "Subject")) {
		s->subject_raw = strdup(value);
		VR_CHECK_ALLOC(s->subject_raw);
	}
	for (size_t i = 0; i < N_VR_HEADERS; i++)
		if (!strcasecmp(name, milter_vr_headers[i]))
			s->vr_count[i]++;
	return ok;
}

/* on_eoh - the empty line between headers and body */
static sfsistat on_eoh(SMFICTX *ctx)
{
	struct sess *s = milter_sess(ctx);

	append(s, "\r\n", 2);
	return milter_size_status(ctx, s);
}

/* on_body - one chunk of the body, as it came */
static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct sess *s = milter_sess(ctx);

	append(s, data, len);
	return milter_size_status(ctx, s);
}

/* on_abort - the client gave up the message */
static sfsistat on_abort(SMFICTX *ctx)
{
	struct sess *s = smfi_getpriv(ctx);

	if (s)
		milter_msg_reset(s);
	return SMFIS_CONTINUE;
}

/* on_close - the connection is over */
static sfsistat on_close(SMFICTX *ctx)
{
	sess_free(ctx);
	return SMFIS_CONTINUE;
}

/* ---- start and stop ------------------------------------------------------------------- */

static struct smfiDesc desc = {
	.xxfi_name = "vrgate",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = milter_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_negotiate = on_negotiate,
};

/* milter_main - the milter thread: libmilter's accept loop */
static void *milter_main(void *arg)
{
	int r = smfi_main();

	if (!M.stopping) {
		VR_LOG_ERR("the milter stopped (smfi_main returned %d): stopping the agent", r);
		*milter_env.c->stop = 1;
	}
	return NULL;
}

/* socket_perms - let Postfix's processes (user postfix) connect */
static int socket_perms(const struct milter_conf *c, char *err, size_t errsz)
{
	if (c->socket_group && *c->socket_group) {
		struct group *g = getgrnam(c->socket_group);

		if (g == NULL) {
			snprintf(err, errsz, "milter-socket-group: no group '%s'", c->socket_group);
			return -1;
		}
		if (chown(c->socket, (uid_t)-1, g->gr_gid) < 0 || chmod(c->socket, 0660) < 0) {
			snprintf(err, errsz, "milter-socket: cannot give %s to group %s: %s",
				 c->socket, c->socket_group, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (chmod(c->socket, 0666) < 0) {
		snprintf(err, errsz, "milter-socket: chmod %s: %s", c->socket, strerror(errno));
		return -1;
	}
	return 0;
}

/* milter_start - register, open the socket, start the thread */
int milter_start(const struct milter_conf *c, char *err, size_t errsz)
{
	char conn[4200];
	sigset_t all, old;
	int e;

	milter_env.c = c;
	M.api = c->api ? *c->api : (struct apid_opts){0};
	M.api.stop = NULL;
	M.api.timeout_ms = API_TIMEOUT;
	M.rspamd = (struct rspamd_opts){.url = c->rspamd_url};
	milter_env.clamd =
		(struct clamd_opts){.address = c->clamd, .stream_max = c->clamd_stream_max};
	mime_scan_init();
	if (mkdir(c->spool_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create %s: %s", c->spool_dir, strerror(errno));
		return -1;
	}
	if (snprintf(conn, sizeof(conn), "unix:%s", c->socket) >= (int)sizeof(conn) ||
	    strlen(c->socket) >= 100) {
		snprintf(err, errsz, "milter-socket: path too long for a unix socket: %s",
			 c->socket);
		return -1;
	}
	if (smfi_setconn(conn) != MI_SUCCESS || smfi_settimeout(600) != MI_SUCCESS ||
	    smfi_setbacklog(128) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
		snprintf(err, errsz, "libmilter refused the filter's settings");
		return -1;
	}
	/* true: remove a socket a killed agent left behind */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		snprintf(err, errsz, "milter-socket: cannot listen on %s (see syslog)", c->socket);
		return -1;
	}
	if (socket_perms(c, err, errsz) < 0)
		return -1;
	/* the milter's threads leave SIGTERM and friends to the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&M.thread, NULL, milter_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		snprintf(err, errsz, "cannot start the milter thread: %s", strerror(e));
		return -1;
	}
	M.started = true;
	VR_LOG_INFO("milter listening on %s (clamd %s, rspamd %s)", c->socket, c->clamd,
		    c->rspamd_url);
	return 0;
}

/* free_pool - release the idle clients */
static void free_pool(struct pool *p, void (*fn)(void *))
{
	while (p->n > 0)
		fn(p->idle[--p->n]);
}

/* free_rspamd, free_apid - free_pool adapters */
static void free_rspamd(void *c)
{
	rspamd_client_free(c);
}

static void free_apid(void *c)
{
	apid_free(c);
}

/* milter_stop - stop accepting, let the sessions finish, clean up (the policy too, also
 * when the milter never started) */
bool milter_stop(int grace)
{
	struct timespec until;
	struct mpolicy *p;

	if (M.started) {
		M.stopping = 1;
		smfi_stop();
		pthread_join(M.thread, NULL);
		M.started = false;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += grace;
		pthread_mutex_lock(&M.sess_mu);
		while (M.sessions > 0 &&
		       pthread_cond_timedwait(&M.sess_cv, &M.sess_mu, &until) != ETIMEDOUT)
			;
		if (M.sessions > 0) {
			VR_LOG_WARN("%d milter sessions still open after %d s", M.sessions,
				    grace);
			pthread_mutex_unlock(&M.sess_mu);
			return false; /* their threads still use the pools and the policy */
		}
		pthread_mutex_unlock(&M.sess_mu);
		unlink(milter_env.c->socket);
		VR_LOG_INFO("milter stopped");
	}
	pthread_mutex_lock(&M.sess_mu);
	if (M.sessions > 0) {
		pthread_mutex_unlock(&M.sess_mu);
		return false;
	}
	pthread_mutex_unlock(&M.sess_mu);
	free_pool(&M.rspamd_pool, free_rspamd);
	free_pool(&M.apid_pool, free_apid);
	pthread_mutex_lock(&M.pol_mu);
	p = M.policy;
	M.policy = NULL;
	pthread_mutex_unlock(&M.pol_mu);
	milter_policy_put(p);
	return true;
}
