/* milter.c - the libmilter callbacks and what happens at the end of a message (milter.h).
 *
 * Collected per session (struct sess, smfi_setpriv): client address and HELO (connect,
 * helo), the listener ({daemon_name}), and per message the envelope sender, the
 * recipients (as Postfix gave them, for smfi_delrcpt, and without <>), the raw message
 * (each header as "Name:value" - the leading space is asked for with SMFIP_HDR_LEADSPC so
 * that the copy is byte for byte what was received - then the body; CRLF line ends, as the
 * milter protocol carries them), the first Subject value and how many X-VR-* headers the
 * message brought. The copy is capped at the snapshot's message_size_limit (+10 % for the
 * CR of every line, + 64 KiB): Postfix enforces the limit itself, the cap only bounds what
 * the milter holds; past it the message is refused (552 5.3.4).
 *
 * End of message, in order:
 *  1. the policy in force; none yet -> 451 4.3.0;
 *  2. scans: clamd (always), rspamd (always: the verdict ignores the score of allow-listed
 *     senders), the GMime inventory with the attachment policy, the newsletter classifier.
 *     Malformed MIME never fails a scan; clamd always gets the raw bytes;
 *  3. verdict_decide() per recipient; then for the message: any tempfail -> 451 4.7.1
 *     naming the scanner that failed; every recipient rejected -> 550 5.7.1 with the
 *     reason; every recipient discarded -> discard;
 *  4. quarantine: one POST /api/v1/agent/quarantine per category (recipients split in
 *     groups whose metadata header stays under QMETA_MAX), with the idempotency key
 *     "vr1-" + SHA-256(agent, queue id, Message-ID, category, recipients); Postfix is told
 *     nothing before apid has answered 201/200 (the copy is on its disk); any failure ->
 *     451 4.3.0 for the whole message (nothing is lost: the sender retries);
 *  5. smfi_delrcpt() for the recipients quarantined, rejected or discarded (after DATA a
 *     rejection cannot be per recipient: those are dropped, the tracking log shows why);
 *     nobody left -> discard (the held copies are durable);
 *  6. headers, per message (one copy goes to every remaining recipient): X-VR-Verdict
 *     ("clean", "spam; tagged", "newsletter; tagged"), X-VR-Score, X-VR-Category replace any
 *     the message came with; rspamd's Authentication-Results when it gives one; the
 *     Subject gets the domain's prefix when one remaining recipient is tagged as spam (so a
 *     co-recipient who allow-lists the sender sees the prefix too: the cautious choice);
 *  7. the tracking report (POST /api/v1/agent/messages), best effort: on failure it goes
 *     to the outbox, which the loop sends again; mail never waits for tracking.
 *
 * Threads: libmilter runs one thread per connection. rspamd and apid clients (one libcurl
 * handle each, keep-alive) are taken from small pools for the end of a message and given
 * back. The policy is a refcounted object swapped under a mutex. Global state: libmilter
 * is process-wide, so this file's state (conf, pools, policy, session count) is too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "antipub.h"
#include "clamd.h"
#include "log.h"
#include "milter.h"
#include "mime_scan.h"
#include "msgbuf.h"
#include "randid.h"
#include "render_postfix.h"
#include "rspamd.h"
#include "verdict.h"
#include "vrtime.h"

#define MAX_RCPTS    1000	/* Postfix's smtpd_recipient_limit default */
#define POOL_MAX     32		/* idle clients kept per pool */
#define QMETA_MAX    12000	/* bytes of metadata JSON per quarantine request */
#define SYMBOLS_MAX  100	/* rspamd symbols reported */
#define API_TIMEOUT  60000L	/* ms: one request of the milter to apid */

/* The policy in force, shared by the messages that use it. */
struct mpolicy {
	int refs;
	struct filter_policy fp;
	int64_t size_limit;
	int64_t version;
};

/* Idle clients of one kind. */
struct pool {
	pthread_mutex_t mu;
	void *idle[POOL_MAX];
	size_t n;
};

/* One recipient of the message. */
struct rcpt {
	char *raw;  /* as Postfix gave it ("<alice@corp.test>"), for smfi_delrcpt */
	char *addr; /* without the angle brackets */
};

/* The headers the milter replaces and how many the message brought of each. */
static const char *const vr_headers[] = {"X-VR-Verdict", "X-VR-Score", "X-VR-Category"};
#define N_VR_HEADERS (sizeof(vr_headers) / sizeof(vr_headers[0]))

/* One SMTP connection and its message in progress. */
struct sess {
	bool leadspc, nr_hdr;	  /* negotiated SMFIP_HDR_LEADSPC, SMFIP_NR_HDR */
	char client_ip[64];
	char helo[256];
	enum filter_direction dir;
	/* the message */
	bool in_msg;
	int64_t received_at;
	char *sender; /* envelope, without <> ("" for the null sender) */
	struct rcpt *rcpts;
	size_t n_rcpts, cap_rcpts;
	struct msgbuf mb;
	enum msgbuf_status mb_status;
	char *subject_raw; /* the first Subject value as received, or NULL */
	int vr_count[N_VR_HEADERS];
};

/* What the scanners found about the message being finished. */
struct scan {
	struct clamd_result cr;
	struct rspamd_result rr;
	struct mime_report mr;
	struct attach_findings af;
	struct antipub_result ap;
};

/* Facts about the message that the reports carry (JSON-safe strings). */
struct facts {
	char queue_id[65];
	char received_at[VR_TIME_LEN];
	char *sender, *from, *subject, *message_id, *virus, *helo, *client_ip;
	json_t *symbols; /* array of names */
	bool has_score;
	double score;
	size_t size;
};

static struct {
	const struct milter_conf *c;
	struct apid_opts api; /* the loop's settings without stop, with a timeout */
	struct rspamd_opts rspamd;
	struct clamd_opts clamd;
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

/* policy_put - drop one reference */
static void policy_put(struct mpolicy *p)
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

/* policy_get - a reference to the policy in force, or NULL */
static struct mpolicy *policy_get(void)
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
	policy_put(old);
	VR_LOG_INFO("filter policy of snapshot version %lld in force", (long long)version);
}

/* milter_policy_version - 0 when none */
int64_t milter_policy_version(void)
{
	int64_t v;

	pthread_mutex_lock(&M.pol_mu);
	v = M.policy ? M.policy->version : 0;
	pthread_mutex_unlock(&M.pol_mu);
	return v;
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

/* rspamd_take - a client for the milter's rspamd settings, or NULL */
static struct rspamd_client *rspamd_take(void)
{
	struct rspamd_client *c = pool_take(&M.rspamd_pool);

	return c ? c : rspamd_client_new(&M.rspamd);
}

/* rspamd_give - back to the pool */
static void rspamd_give(struct rspamd_client *c)
{
	if (c && !pool_give(&M.rspamd_pool, c))
		rspamd_client_free(c);
}

/* apid_take - a client for apid, or NULL (no apid, or libcurl failed) */
static struct apid_client *apid_take(void)
{
	struct apid_client *c;

	if (M.c->api == NULL)
		return NULL;
	c = pool_take(&M.apid_pool);
	return c ? c : apid_new(&M.api);
}

/* apid_give - back to the pool */
static void apid_give(struct apid_client *c)
{
	if (c && !pool_give(&M.apid_pool, c))
		apid_free(c);
}

/* ---- text helpers ------------------------------------------------------------------- */

/* utf8_len - length of the valid UTF-8 sequence at s (1..4), 0 when invalid */
static size_t utf8_len(const unsigned char *s)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = *s < 0x80 ? 1 : *s < 0xc2 ? 0 : *s < 0xe0 ? 2 : *s < 0xf0 ? 3 : *s < 0xf5 ? 4 : 0;
	uint32_t cp = n == 1 ? *s : n ? *s & (0x7f >> n) : 0;

	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (n == 0 || cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* clean_text - at most max bytes of s as valid UTF-8 without control characters (each bad
 * byte becomes '?'), cut at a character boundary; malloc'd, NULL for NULL */
static char *clean_text(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;

	if (s == NULL)
		return NULL;
	out = o = malloc(strlen(s) + 1);
	VR_CHECK_ALLOC(out);
	while (*u) {
		size_t n = utf8_len(u);

		if (n == 0 || (n == 1 && (*u < 0x20 || *u == 0x7f))) {
			if ((size_t)(o - out) + 1 > max)
				break;
			*o++ = '?';
			u += n ? n : 1;
			continue;
		}
		if ((size_t)(o - out) + n > max)
			break;
		memcpy(o, u, n);
		o += n;
		u += n;
	}
	*o = '\0';
	return out;
}

/* clean_addr - an address as apid takes it: bytes it refuses (blanks, controls, <>/) and
 * bytes that are not UTF-8 become '_'; malloc'd */
static char *clean_addr(const char *s)
{
	char *out = clean_text(s, 320);

	for (char *p = out; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '?' || strchr("<>/", *p))
			*p = '_';
	return out;
}

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

/* set_reply - smfi_setreply with a sanitised, formatted text */
__attribute__((format(printf, 4, 5))) static void set_reply(SMFICTX *ctx, const char *code,
							    const char *xcode, const char *fmt, ...)
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

/* sess_of - the session of ctx, made on first use */
static struct sess *sess_of(SMFICTX *ctx)
{
	struct sess *s = smfi_getpriv(ctx);

	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		VR_CHECK_ALLOC(s);
		msgbuf_init(&s->mb, M.c->spool_dir, MSGBUF_MEM_MAX, 0);
		smfi_setpriv(ctx, s);
		pthread_mutex_lock(&M.sess_mu);
		M.sessions++;
		pthread_mutex_unlock(&M.sess_mu);
	}
	return s;
}

/* msg_reset - forget the message (not the connection) */
static void msg_reset(struct sess *s)
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
	s->in_msg = false;
}

/* sess_free - the connection is over */
static void sess_free(SMFICTX *ctx)
{
	struct sess *s = smfi_getpriv(ctx);

	if (s == NULL)
		return;
	msg_reset(s);
	free(s);
	smfi_setpriv(ctx, NULL);
	pthread_mutex_lock(&M.sess_mu);
	M.sessions--;
	pthread_cond_broadcast(&M.sess_cv);
	pthread_mutex_unlock(&M.sess_mu);
}

/* append - add bytes to the message copy, remembering the first failure */
static void append(struct sess *s, const void *p, size_t n)
{
	if (s->mb_status == MSGBUF_OK)
		s->mb_status = msgbuf_append(&s->mb, p, n);
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

/* size_status - the reply for a copy that could not grow, or SMFIS_CONTINUE */
static sfsistat size_status(SMFICTX *ctx, struct sess *s)
{
	if (s->mb_status == MSGBUF_TOO_BIG) {
		set_reply(ctx, "552", "5.3.4", "Message size exceeds the fixed limit");
		return SMFIS_REJECT;
	}
	if (s->mb_status == MSGBUF_IO) {
		VR_LOG_ERR("cannot spool the message in %s: %s", M.c->spool_dir,
			   strerror(s->mb.err));
		set_reply(ctx, "451", "4.3.0", "Temporary local problem, try again later");
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
	struct sess *s = sess_of(ctx);
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
	struct sess *s = sess_of(ctx);
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
	struct sess *s = sess_of(ctx);

	snprintf(s->helo, sizeof(s->helo), "%s", helo ? helo : "");
	return SMFIS_CONTINUE;
}

/* on_envfrom - a new message; deferred at once while no policy is in force */
static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct sess *s = sess_of(ctx);
	struct mpolicy *p = policy_get();
	size_t cap = 0;

	msg_reset(s);
	if (p == NULL) {
		set_reply(ctx, "451", "4.3.0", "Mail filter not configured yet, try again later");
		return SMFIS_TEMPFAIL;
	}
	if (p->size_limit > 0)
		cap = (size_t)p->size_limit + (size_t)p->size_limit / 10 + 65536;
	policy_put(p);
	msgbuf_init(&s->mb, M.c->spool_dir, MSGBUF_MEM_MAX, cap);
	s->sender = strip_brackets(argv && argv[0] ? argv[0] : "");
	s->received_at = vr_now();
	s->in_msg = true;
	return SMFIS_CONTINUE;
}

/* on_envrcpt - one more recipient */
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct sess *s = sess_of(ctx);

	if (argv == NULL || argv[0] == NULL)
		return SMFIS_CONTINUE;
	if (s->n_rcpts >= MAX_RCPTS) {
		set_reply(ctx, "452", "4.5.3", "Too many recipients");
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
	struct sess *s = sess_of(ctx);
	sfsistat ok = s->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;

	if (name == NULL || value == NULL)
		return ok;
	append(s, name, strlen(name));
	append(s, s->leadspc ? ":" : ": ", s->leadspc ? 1 : 2);
	append_lines(s, value);
	append(s, "\r\n", 2);
	if (s->subject_raw == NULL && !strcasecmp(name, "Subject")) {
		s->subject_raw = strdup(value);
		VR_CHECK_ALLOC(s->subject_raw);
	}
	for (size_t i = 0; i < N_VR_HEADERS; i++)
		if (!strcasecmp(name, vr_headers[i]))
			s->vr_count[i]++;
	return ok;
}

/* on_eoh - the empty line between headers and body */
static sfsistat on_eoh(SMFICTX *ctx)
{
	struct sess *s = sess_of(ctx);

	append(s, "\r\n", 2);
	return size_status(ctx, s);
}

/* on_body - one chunk of the body, as it came */
static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct sess *s = sess_of(ctx);

	append(s, data, len);
	return size_status(ctx, s);
}

/* on_abort - the client gave up the message */
static sfsistat on_abort(SMFICTX *ctx)
{
	struct sess *s = smfi_getpriv(ctx);

	if (s)
		msg_reset(s);
	return SMFIS_CONTINUE;
}

/* on_close - the connection is over */
static sfsistat on_close(SMFICTX *ctx)
{
	sess_free(ctx);
	return SMFIS_CONTINUE;
}

/* ---- end of message: scans ------------------------------------------------------------ */

/* run_scans - clamd, rspamd, GMime, attachments, anti-pub over the copy */
static void run_scans(struct sess *s, const struct mpolicy *p, const char *queue_id,
		      struct scan *sc)
{
	const char *data = msgbuf_data(&s->mb);
	int fd = msgbuf_fd(&s->mb);
	const char **addrs = malloc((s->n_rcpts ? s->n_rcpts : 1) * sizeof(*addrs));
	struct rspamd_request req = {
		.ip = strcmp(s->client_ip, "unknown") ? s->client_ip : NULL,
		.helo = s->helo[0] ? s->helo : NULL,
		.from = s->sender,
		.queue_id = queue_id,
	};
	struct rspamd_client *rc;

	VR_CHECK_ALLOC(addrs);
	for (size_t i = 0; i < s->n_rcpts; i++)
		addrs[i] = s->rcpts[i].addr;
	req.rcpts = addrs;
	req.n_rcpts = s->n_rcpts;

	if (data)
		clamd_scan_buffer(&M.clamd, data, s->mb.len, &sc->cr);
	else
		clamd_scan_fd(&M.clamd, fd, &sc->cr);

	if ((rc = rspamd_take()) == NULL) {
		memset(&sc->rr, 0, sizeof(sc->rr));
		snprintf(sc->rr.error, sizeof(sc->rr.error), "cannot create a libcurl handle");
	} else {
		if (data)
			rspamd_check(rc, &req, data, s->mb.len, &sc->rr);
		else
			rspamd_check_fd(rc, &req, fd, &sc->rr);
		rspamd_give(rc);
	}
	free(addrs);

	if (data)
		mime_scan_buffer(data, s->mb.len, &sc->mr);
	else if (mime_scan_fd(fd, &sc->mr) != VR_OK)
		VR_LOG_WARN("%s: cannot read the spooled message for the MIME scan", queue_id);
	mime_attach_check(&sc->mr, &p->fp.attach, &sc->af);
	antipub_classify(sc->mr.headers, sc->mr.n_headers, &sc->rr, &sc->ap);
}

/* facts_make - what the reports say about the message */
static void facts_make(struct sess *s, const struct scan *sc, const char *queue_id,
		       struct facts *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->queue_id, sizeof(f->queue_id), "%s", queue_id);
	vr_time_format(s->received_at, f->received_at);
	f->sender = clean_text(s->sender, 320);
	f->from = sc->mr.from_addr && strlen(sc->mr.from_addr) <= 320
			  ? clean_text(sc->mr.from_addr, 320)
			  : NULL;
	f->subject = clean_text(sc->mr.subject, 2000);
	if (sc->mr.message_id && strlen(sc->mr.message_id) <= 996) {
		char mid[1000];

		snprintf(mid, sizeof(mid), "<%s>", sc->mr.message_id);
		f->message_id = clean_text(mid, 998);
	}
	if (sc->cr.status == CLAMD_INFECTED)
		f->virus = clean_text(sc->cr.text, 200);
	f->helo = s->helo[0] ? clean_text(s->helo, 255) : NULL;
	f->client_ip = strcmp(s->client_ip, "unknown") ? clean_text(s->client_ip, 64) : NULL;
	f->symbols = json_array();
	if (sc->rr.ok) {
		f->has_score = true;
		f->score = sc->rr.score < -10000 ? -10000 : sc->rr.score > 10000 ? 10000 : sc->rr.score;
		for (size_t i = 0; i < sc->rr.n_symbols && i < SYMBOLS_MAX; i++) {
			char *n = clean_text(sc->rr.symbols[i].name, 100);

			json_array_append_new(f->symbols, json_string(n));
			free(n);
		}
	}
	f->size = s->mb.len;
}

/* facts_free - release the strings */
static void facts_free(struct facts *f)
{
	free(f->sender);
	free(f->from);
	free(f->subject);
	free(f->message_id);
	free(f->virus);
	free(f->helo);
	free(f->client_ip);
	json_decref(f->symbols);
}

/* set_str - obj[key] = s when s is not NULL */
static void set_str(json_t *obj, const char *key, const char *s)
{
	if (s)
		json_object_set_new(obj, key, json_string(s));
}

/* facts_json - the members the quarantine metadata and the tracking report share */
static json_t *facts_json(const struct facts *f, enum filter_direction dir)
{
	json_t *j = json_object();

	VR_CHECK_ALLOC(j);
	set_str(j, "queue_id", f->queue_id);
	set_str(j, "direction", dir == FD_OUTBOUND ? "outbound" : "inbound");
	set_str(j, "client_ip", f->client_ip);
	set_str(j, "helo", f->helo);
	set_str(j, "sender", f->sender);
	set_str(j, "from", f->from);
	set_str(j, "subject", f->subject);
	set_str(j, "message_id", f->message_id);
	set_str(j, "virus", f->virus);
	set_str(j, "received_at", f->received_at);
	if (f->has_score)
		json_object_set_new(j, "score", json_real(f->score));
	json_object_set(j, "symbols", f->symbols);
	return j;
}

/* ---- end of message: quarantine ------------------------------------------------------- */

/* quarantine_key - "vr1-" + hex SHA-256 of agent, queue id, Message-ID, category and the
 * recipients addrs[0..n) of this copy */
static void quarantine_key(const struct facts *f, enum filter_category cat,
			   const char *const *addrs, size_t n, char out[69])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	const char *parts[] = {M.c->agent_name, f->queue_id, f->message_id ? f->message_id : "",
			       filter_category_str(cat)};

	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		crypto_hash_sha256_update(&st, (const unsigned char *)parts[i],
					  strlen(parts[i]) + 1);
	for (size_t i = 0; i < n; i++)
		crypto_hash_sha256_update(&st, (const unsigned char *)addrs[i],
					  strlen(addrs[i]) + 1);
	crypto_hash_sha256_final(&st, h);
	memcpy(out, "vr1-", 4);
	sodium_bin2hex(out + 4, 65, h, sizeof(h));
}

/* post_group - hold one copy for addrs[0..n) (cleaned addresses) in category cat; the id
 * into id; true when apid has it */
static bool post_group(struct apid_client *api, struct sess *s, const struct scan *sc,
		       const struct facts *f, enum filter_category cat, const char *const *addrs,
		       size_t n, char *id, size_t idsz, char *why, size_t whysz)
{
	json_t *meta = facts_json(f, s->dir), *arr = json_array();
	char key[69], err[512];
	char *text;
	long status;

	quarantine_key(f, cat, addrs, n, key);
	json_object_set_new(meta, "key", json_string(key));
	json_object_set_new(meta, "category", json_string(filter_category_str(cat)));
	if (cat != FC_VIRUS)
		json_object_del(meta, "virus");
	if (cat == FC_NEWSLETTER && sc->ap.unsubscribe[0] && strlen(sc->ap.unsubscribe) <= 2000) {
		char *u = clean_text(sc->ap.unsubscribe, 2000);

		json_object_set_new(meta, "unsubscribe", json_string(u));
		json_object_set_new(meta, "one_click", json_boolean(sc->ap.one_click));
		free(u);
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(addrs[i]));
	json_object_set_new(meta, "recipients", arr);
	text = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	VR_CHECK_ALLOC(text);
	err[0] = '\0';
	status = apid_post_quarantine(api, text, msgbuf_data(&s->mb), msgbuf_fd(&s->mb),
				      s->mb.len, id, idsz, err, sizeof(err));
	free(text);
	if (status == 200 || status == 201)
		return true;
	snprintf(why, whysz, "%s", err[0] ? err : "no reply");
	return false;
}

/* quarantine_all - hold a copy per category for the recipients the verdict quarantines;
 * their ids into qids[i]; false (why set) when any copy could not be held */
static bool quarantine_all(struct sess *s, const struct scan *sc, const struct facts *f,
			   const struct verdict_rcpt *out, char **caddr,
			   char (*qids)[VR_ID_LEN + 8], char *why, size_t whysz)
{
	const char **group = malloc(s->n_rcpts * sizeof(*group));
	size_t *idx = malloc(s->n_rcpts * sizeof(*idx));
	struct apid_client *api = NULL;
	bool ok = true;

	VR_CHECK_ALLOC(group);
	VR_CHECK_ALLOC(idx);
	for (int cat = FC_CLEAN; cat <= FC_BLOCKLIST && ok; cat++) {
		size_t i = 0;

		while (ok) {
			size_t n = 0, bytes = 0;
			char id[VR_ID_LEN + 8];

			/* the next recipients of this category, as many as the header allows */
			for (; i < s->n_rcpts; i++) {
				if (out[i].action != FA_QUARANTINE || (int)out[i].category != cat)
					continue;
				if (n > 0 && bytes + strlen(caddr[i]) + 3 > QMETA_MAX / 2)
					break;
				bytes += strlen(caddr[i]) + 3;
				idx[n] = i;
				group[n++] = caddr[i];
			}
			if (n == 0)
				break;
			if (api == NULL && (api = apid_take()) == NULL) {
				snprintf(why, whysz, "%s",
					 M.c->api ? "cannot create a libcurl handle"
						  : "no apid configured (api-url)");
				ok = false;
				break;
			}
			if (!post_group(api, s, sc, f, (enum filter_category)cat, group, n, id,
					sizeof(id), why, whysz)) {
				ok = false;
				break;
			}
			for (size_t k = 0; k < n; k++)
				snprintf(qids[idx[k]], sizeof(qids[0]), "%s", id);
		}
	}
	apid_give(api);
	free(group);
	free(idx);
	return ok;
}

/* ---- end of message: tracking --------------------------------------------------------- */

/* report - the tracking report: posted now, else kept in the outbox. override, when not
 * NULL, replaces every recipient's action (the message was deferred as a whole) */
static void report(struct sess *s, const struct facts *f, const struct verdict_rcpt *out,
		   char **caddr, char (*qids)[VR_ID_LEN + 8], const char *override,
		   const char *override_reason)
{
	json_t *j = facts_json(f, s->dir), *arr = json_array();
	struct apid_client *api;
	char err[512], *text;
	long status;

	if (M.c->api == NULL) {
		json_decref(j);
		json_decref(arr);
		return;
	}
	json_object_set_new(j, "agent", json_string(M.c->agent_name));
	json_object_set_new(j, "size", json_integer((json_int_t)f->size));
	for (size_t i = 0; i < s->n_rcpts; i++) {
		const char *reason = override_reason && out[i].action != FA_TEMPFAIL
					     ? override_reason
					     : out[i].reason;
		json_t *r = json_pack("{s:s, s:s, s:s}", "address", caddr[i], "action",
				      override ? override : filter_action_str(out[i].action),
				      "category", filter_category_str(out[i].category));
		char *rs = clean_text(reason, 500);

		VR_CHECK_ALLOC(r);
		json_object_set_new(r, "reason", json_string(rs));
		free(rs);
		if (qids && qids[i][0])
			json_object_set_new(r, "quarantine_id", json_string(qids[i]));
		json_array_append_new(arr, r);
	}
	json_object_set_new(j, "recipients", arr);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	VR_CHECK_ALLOC(text);
	status = (api = apid_take()) ? apid_post_report(api, text, err, sizeof(err)) : 0;
	apid_give(api);
	if (status == 200 || status == 201) {
		free(text);
		return;
	}
	if (status >= 400 && status < 500 && status != 408 && status != 429) {
		/* apid refuses it: sending it again would not help */
		VR_LOG_ERR("%s: tracking report refused: %s", f->queue_id, err);
		free(text);
		return;
	}
	VR_LOG_WARN("%s: tracking report kept for later: %s", f->queue_id,
		    api ? err : "no libcurl handle");
	outbox_push(M.c->outbox, text);
}

/* ---- end of message: headers ---------------------------------------------------------- */

/* hval - a header value as smfi_addheader/chgheader want it: with its leading space when
 * SMFIP_HDR_LEADSPC was negotiated (Postfix then adds none); malloc'd */
static char *hval(const struct sess *s, const char *text)
{
	char *v;

	if (asprintf(&v, "%s%s", s->leadspc ? " " : "", text) < 0)
		VR_DIE("out of memory");
	return v;
}

/* add_header - smfi_addheader; false when the MTA refused */
static bool add_header(SMFICTX *ctx, const struct sess *s, const char *name, const char *text)
{
	char *v = hval(s, text);
	bool ok = smfi_addheader(ctx, (char *)name, v) == MI_SUCCESS;

	free(v);
	return ok;
}

/* one_line - a header value from rspamd as one line: folding (CR, LF and the blanks after
 * them) becomes one space; then printable UTF-8 of at most 900 bytes (malloc'd) */
static char *one_line(const char *in)
{
	char *flat = malloc(strlen(in) + 1), *o = flat, *out;

	VR_CHECK_ALLOC(flat);
	for (const char *p = in; *p; p++) {
		if (*p == '\r' || *p == '\n' || *p == '\t') {
			if (o > flat && o[-1] != ' ')
				*o++ = ' ';
			continue;
		}
		if (*p == ' ' && o > flat && o[-1] == ' ')
			continue;
		*o++ = *p;
	}
	*o = '\0';
	out = clean_text(flat, 900);
	free(flat);
	return out;
}

/* subject_prefixed - the new Subject value: prefix + old text, or NULL when it already
 * starts with the prefix */
static char *subject_prefixed(const struct sess *s, const char *prefix)
{
	const char *old = s->subject_raw ? s->subject_raw : "";
	char *v;

	while (*old == ' ' || *old == '\t')
		old++;
	if (!strncmp(old, prefix, strlen(prefix)))
		return NULL;
	if (asprintf(&v, "%s%s%s%s", s->leadspc ? " " : "", prefix, *old ? " " : "", old) < 0)
		VR_DIE("out of memory");
	return v;
}

/* edit_headers - step 6: false when the MTA refused a change */
static bool edit_headers(SMFICTX *ctx, const struct sess *s, const struct scan *sc,
			 const struct verdict_rcpt *out)
{
	const char *verdict = "clean", *category = "clean", *prefix = "";
	char score[32];
	bool ok = true;

	for (size_t i = 0; i < s->n_rcpts; i++) {
		if (out[i].action != FA_TAG)
			continue;
		if (out[i].category == FC_SPAM) {
			verdict = "spam; tagged";
			category = "spam";
			if (out[i].subject_prefix && *out[i].subject_prefix && !*prefix)
				prefix = out[i].subject_prefix;
		} else if (strcmp(category, "spam")) {
			verdict = "newsletter; tagged";
			category = "newsletter";
		}
	}
	if (sc->rr.ok)
		snprintf(score, sizeof(score), "%.2f", sc->rr.score);
	else
		snprintf(score, sizeof(score), "unavailable");
	for (size_t k = 0; k < N_VR_HEADERS; k++)
		for (int i = s->vr_count[k]; i >= 1; i--)
			ok &= smfi_chgheader(ctx, (char *)vr_headers[k], i, NULL) == MI_SUCCESS;
	ok &= add_header(ctx, s, "X-VR-Verdict", verdict);
	ok &= add_header(ctx, s, "X-VR-Score", score);
	ok &= add_header(ctx, s, "X-VR-Category", category);
	if (sc->rr.ok && sc->rr.auth_results && *sc->rr.auth_results) {
		char *ar = one_line(sc->rr.auth_results);

		ok &= add_header(ctx, s, "Authentication-Results", ar);
		free(ar);
	}
	if (*prefix) {
		char *v = subject_prefixed(s, prefix);

		if (v && s->subject_raw)
			ok &= smfi_chgheader(ctx, "Subject", 1, v) == MI_SUCCESS;
		else if (v)
			ok &= smfi_addheader(ctx, "Subject", v) == MI_SUCCESS;
		free(v);
	}
	return ok;
}

/* ---- end of message ------------------------------------------------------------------- */

/* queue_id_of - Postfix's queue id ({i}), letters and digits only; "unknown" without one */
static void queue_id_of(SMFICTX *ctx, char out[65])
{
	const char *q = smfi_getsymval(ctx, "i");
	size_t n = 0;

	if (q == NULL)
		q = smfi_getsymval(ctx, "{i}");
	for (; q && *q && n < 64; q++)
		if ((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
			out[n++] = *q;
	out[n] = '\0';
	if (n == 0)
		snprintf(out, 65, "unknown");
}

/* tempfail_text - the 451 text naming the scanner whose failure defers the message */
static void tempfail_text(const struct sess *s, const struct verdict_rcpt *out, char *buf,
			  size_t n)
{
	for (size_t i = 0; i < s->n_rcpts; i++) {
		if (out[i].action != FA_TEMPFAIL)
			continue;
		snprintf(buf, n, "%s unavailable (%s), try again later",
			 out[i].category == FC_VIRUS ? "Virus scanner clamd" : "Spam scanner rspamd",
			 out[i].reason);
		return;
	}
	snprintf(buf, n, "Mail filter unavailable, try again later");
}

/* on_eom - scan, decide, act (see the file header) */
static sfsistat on_eom(SMFICTX *ctx)
{
	struct sess *s = sess_of(ctx);
	struct mpolicy *p;
	struct scan sc;
	struct facts f;
	struct verdict_rcpt *out;
	struct verdict_summary sum;
	struct verdict_input in = {0};
	char queue_id[65], why[600], text[700];
	char **caddr;
	char (*qids)[VR_ID_LEN + 8];
	const char **addrs;
	size_t left = 0;
	sfsistat rc;

	if ((rc = size_status(ctx, s)) != SMFIS_CONTINUE || s->n_rcpts == 0)
		return rc;
	if ((p = policy_get()) == NULL) {
		set_reply(ctx, "451", "4.3.0", "Mail filter not configured yet, try again later");
		return SMFIS_TEMPFAIL;
	}
	queue_id_of(ctx, queue_id);
	memset(&sc, 0, sizeof(sc));
	run_scans(s, p, queue_id, &sc);
	facts_make(s, &sc, queue_id, &f);

	out = calloc(s->n_rcpts, sizeof(*out));
	caddr = calloc(s->n_rcpts, sizeof(*caddr));
	qids = calloc(s->n_rcpts, sizeof(*qids));
	addrs = calloc(s->n_rcpts, sizeof(*addrs));
	VR_CHECK_ALLOC(out);
	VR_CHECK_ALLOC(caddr);
	VR_CHECK_ALLOC(qids);
	VR_CHECK_ALLOC(addrs);
	for (size_t i = 0; i < s->n_rcpts; i++) {
		addrs[i] = s->rcpts[i].addr;
		caddr[i] = clean_addr(s->rcpts[i].addr);
	}
	in.direction = s->dir;
	in.env_from = s->sender;
	in.hdr_from = sc.mr.from_addr;
	in.scan = (struct verdict_scan){
		.av_ok = sc.cr.status != CLAMD_ERROR,
		.av_error = sc.cr.text,
		.virus = sc.cr.status == CLAMD_INFECTED ? sc.cr.text : NULL,
		.spam_ok = sc.rr.ok,
		.spam_error = sc.rr.error,
		.spam_score = sc.rr.ok ? sc.rr.score : 0,
		.newsletter = sc.ap.is_newsletter,
		.attach = &sc.af,
	};
	in.rcpts = addrs;
	in.n_rcpts = s->n_rcpts;
	verdict_decide(&p->fp, &in, out, &sum);

	switch (sum.action) {
	case FA_TEMPFAIL:
		tempfail_text(s, out, text, sizeof(text));
		VR_LOG_WARN("%s: deferred: %s", queue_id, text);
		set_reply(ctx, "451", "4.7.1", "%s", text);
		report(s, &f, out, caddr, NULL, "tempfail", "message deferred");
		rc = SMFIS_TEMPFAIL;
		goto done;
	case FA_REJECT:
		for (size_t i = 0; i < s->n_rcpts; i++)
			if (out[i].action == FA_REJECT) {
				snprintf(text, sizeof(text), "Message refused (%s: %s)",
					 filter_category_str(out[i].category), out[i].reason);
				break;
			}
		VR_LOG_INFO("%s: rejected: %s", queue_id, text);
		set_reply(ctx, "550", "5.7.1", "%s", text);
		report(s, &f, out, caddr, NULL, NULL, NULL);
		rc = SMFIS_REJECT;
		goto done;
	case FA_DISCARD:
		VR_LOG_INFO("%s: discarded: %s", queue_id, out[0].reason);
		report(s, &f, out, caddr, NULL, NULL, NULL);
		rc = SMFIS_DISCARD;
		goto done;
	default:
		break;
	}
	if (!quarantine_all(s, &sc, &f, out, caddr, qids, why, sizeof(why))) {
		VR_LOG_ERR("%s: deferred: the quarantine cannot hold the message: %s", queue_id,
			   why);
		set_reply(ctx, "451", "4.3.0", "Quarantine unavailable, try again later");
		report(s, &f, out, caddr, qids, "tempfail", "quarantine unavailable");
		rc = SMFIS_TEMPFAIL;
		goto done;
	}
	for (size_t i = 0; i < s->n_rcpts; i++) {
		if (out[i].action == FA_DELIVER || out[i].action == FA_TAG) {
			left++;
			continue;
		}
		if (smfi_delrcpt(ctx, s->rcpts[i].raw) != MI_SUCCESS) {
			VR_LOG_ERR("%s: the MTA refused to remove recipient %s", queue_id,
				   caddr[i]);
			set_reply(ctx, "451", "4.3.0", "Temporary local problem, try again later");
			report(s, &f, out, caddr, qids, "tempfail", "recipient removal failed");
			rc = SMFIS_TEMPFAIL;
			goto done;
		}
	}
	if (left == 0) {
		VR_LOG_INFO("%s: no recipient left to deliver to: discarded after quarantine",
			    queue_id);
		rc = SMFIS_DISCARD;
	} else if (!edit_headers(ctx, s, &sc, out)) {
		/* the message goes through unmarked rather than not at all */
		VR_LOG_WARN("%s: the MTA refused a header change", queue_id);
		rc = SMFIS_CONTINUE;
	} else {
		rc = SMFIS_CONTINUE;
	}
	for (size_t i = 0; i < s->n_rcpts; i++)
		VR_LOG_DEBUG("%s: %s: %s %s (%s)%s%s", queue_id, caddr[i],
			     filter_action_str(out[i].action), filter_category_str(out[i].category),
			     out[i].reason, qids[i][0] ? " held as " : "", qids[i]);
	report(s, &f, out, caddr, qids, NULL, NULL);
done:
	for (size_t i = 0; i < s->n_rcpts; i++)
		free(caddr[i]);
	free(caddr);
	free(qids);
	free(addrs);
	free(out);
	facts_free(&f);
	mime_report_free(&sc.mr);
	rspamd_result_free(&sc.rr);
	policy_put(p);
	msg_reset(s);
	return rc;
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
	.xxfi_eom = on_eom,
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
		*M.c->stop = 1;
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

	M.c = c;
	M.api = c->api ? *c->api : (struct apid_opts){0};
	M.api.stop = NULL;
	M.api.timeout_ms = API_TIMEOUT;
	M.rspamd = (struct rspamd_opts){.url = c->rspamd_url};
	M.clamd = (struct clamd_opts){.address = c->clamd, .stream_max = c->clamd_stream_max};
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
void milter_stop(int grace)
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
			return; /* their threads still use the pools and the policy */
		}
		pthread_mutex_unlock(&M.sess_mu);
		unlink(M.c->socket);
		VR_LOG_INFO("milter stopped");
	}
	pthread_mutex_lock(&M.sess_mu);
	if (M.sessions > 0) {
		pthread_mutex_unlock(&M.sess_mu);
		return;
	}
	pthread_mutex_unlock(&M.sess_mu);
	free_pool(&M.rspamd_pool, free_rspamd);
	free_pool(&M.apid_pool, free_apid);
	pthread_mutex_lock(&M.pol_mu);
	p = M.policy;
	M.policy = NULL;
	pthread_mutex_unlock(&M.pol_mu);
	policy_put(p);
}
