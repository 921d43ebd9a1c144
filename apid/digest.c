/* digest.c - digest mail, signed one-click links, the digest thread (see digest.h).
 *
 * Owns the digest thread and its stop flag (started and stopped by main).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "log.h"
#include "release.h"
#include "vrtime.h"

#define DIGEST_MAX_ITEMS 100

/* digest_token_make - payload "." HMAC, both base64url */
char *digest_token_make(const unsigned char key[32], const struct digest_link *l)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I}", "q", l->qid, "r", l->rcpt, "a",
			      l->action, "n", l->nonce, "e", (json_int_t)l->expires);
	char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *out;
	size_t tlen = strlen(text), b64len = sodium_base64_ENCODED_LEN(tlen,
					     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char macb64[64];

	json_decref(p);
	out = malloc(b64len + sizeof(macb64) + 1);
	VR_CHECK_ALLOC(out);
	sodium_bin2base64(out, b64len, (const unsigned char *)text, tlen,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(text);
	crypto_auth_hmacsha256(mac, (const unsigned char *)out, strlen(out), key);
	sodium_bin2base64(macb64, sizeof(macb64), mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strcat(out, ".");
	strcat(out, macb64);
	return out;
}

/* copy_field - a string member of at most sz-1 bytes into out */
static bool copy_field(json_t *o, const char *name, char *out, size_t sz)
{
	const char *v = json_string_value(json_object_get(o, name));

	if (v == NULL || strlen(v) == 0 || strlen(v) >= sz)
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

/* digest_token_check - verify the MAC (constant time), then decode and check expiry */
enum vr_err digest_token_check(const unsigned char key[32], const char *token, int64_t now,
			       struct digest_link *out)
{
	const char *dot = strchr(token, '.');
	unsigned char mac[crypto_auth_hmacsha256_BYTES], raw[1024];
	size_t maclen = 0, rawlen = 0;
	json_t *p;
	bool ok;

	if (dot == NULL || strlen(token) > 1400 || dot == token)
		return VR_E_UNAUTHORIZED;
	if (sodium_base642bin(mac, sizeof(mac), dot + 1, strlen(dot + 1), NULL, &maclen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    maclen != sizeof(mac) ||
	    crypto_auth_hmacsha256_verify(mac, (const unsigned char *)token,
					  (unsigned long long)(dot - token), key) != 0)
		return VR_E_UNAUTHORIZED;
	if (sodium_base642bin(raw, sizeof(raw) - 1, token, (size_t)(dot - token), NULL, &rawlen,
			      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return VR_E_UNAUTHORIZED;
	p = json_loadb((const char *)raw, rawlen, 0, NULL);
	memset(out, 0, sizeof(*out));
	ok = json_is_object(p) && copy_field(p, "q", out->qid, sizeof(out->qid)) &&
	     copy_field(p, "r", out->rcpt, sizeof(out->rcpt)) &&
	     copy_field(p, "a", out->action, sizeof(out->action)) &&
	     copy_field(p, "n", out->nonce, sizeof(out->nonce)) &&
	     json_is_integer(json_object_get(p, "e"));
	if (ok)
		out->expires = json_integer_value(json_object_get(p, "e"));
	json_decref(p);
	if (!ok)
		return VR_E_UNAUTHORIZED;
	return now >= out->expires ? VR_E_TOKEN_EXPIRED : VR_OK;
}

/* html_escape - s made safe for HTML text and attribute values, appended to b */
static void html_escape(struct vr_buf *b, const char *s)
{
	for (; s && *s; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
				: *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;

		if (rep)
			vr_buf_append(b, rep, strlen(rep), SIZE_MAX / 2);
		else if ((unsigned char)*s >= 0x20 || *s == '\t')
			vr_buf_append(b, s, 1, SIZE_MAX / 2);
	}
}

/* add - append formatted text */
static void add(struct vr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct vr_buf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		vr_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1,
			      SIZE_MAX / 2);
}

/* the words of the digest, in French and English */
struct words {
	const char *subject, *subject_tail, *intro, *release, *allow, *del, *footer, *category[5];
};
static const struct words fr = {
	"Quarantaine : ", " nouveau(x) message(s) retenu(s)",
	"Ces messages qui vous étaient adressés ont été retenus par la passerelle de messagerie. "
	"Vous pouvez les libérer ou les supprimer ; sans action de votre part, ils seront "
	"supprimés automatiquement.",
	"Libérer", "Libérer et toujours accepter cet expéditeur", "Supprimer",
	"Liens valables 7 jours. Chaque lien demande une confirmation avant d'agir.",
	{"indésirable", "virus", "newsletter / publicité", "pièce jointe", "liste de blocage"}};
static const struct words en = {
	"Quarantine: ", " new message(s) held",
	"These messages addressed to you were held by the mail gateway. You can release or "
	"delete them; without action they will be deleted automatically.",
	"Release", "Release and always accept this sender", "Delete",
	"Links are valid for 7 days. Each link asks for confirmation before it acts.",
	{"spam", "virus", "newsletter / marketing", "attachment", "block list"}};

/* category_word - the label of category c */
static const char *category_word(const struct words *w, const char *c)
{
	static const char *const cats[] = {"spam", "virus", "newsletter", "attachment", "blocklist"};

	for (int i = 0; i < 5; i++)
		if (c && strcmp(c, cats[i]) == 0)
			return w->category[i];
	return c ? c : "";
}

struct compose {
	struct apid *app;
	const struct words *w;
	struct vr_buf text, html;
	int n;
	int64_t now;
	const char *base;
};

/* link - the URL of a one-click action */
static char *link(struct compose *c, const struct db_qitem *it, const char *action)
{
	struct digest_link l = {0};
	char *tok, *url;

	snprintf(l.qid, sizeof(l.qid), "%s", it->id);
	snprintf(l.rcpt, sizeof(l.rcpt), "%s", it->recipient);
	snprintf(l.action, sizeof(l.action), "%s", action);
	vr_random_id(l.nonce);
	l.expires = c->now + DIGEST_LINK_TTL;
	tok = digest_token_make(c->app->digest_key, &l);
	url = malloc(strlen(c->base) + strlen(tok) + 32);
	VR_CHECK_ALLOC(url);
	sprintf(url, "%s/api/v1/links/%s", c->base, tok);
	free(tok);
	return url;
}

/* add_item - quarantine list callback: one entry in both parts */
static int add_item(const struct db_qitem *it, void *arg)
{
	struct compose *c = arg;
	char when[VR_TIME_LEN];
	char *rel = link(c, it, "release"), *allow = link(c, it, "release-allow");
	char *del = link(c, it, "delete");

	vr_time_format(it->received_at, when);
	c->n++;
	add(&c->text, "- %s | %s | %s | %s\n  %s: %s\n  %s: %s\n  %s: %s\n\n", when,
	    it->from_addr ? it->from_addr : (it->sender ? it->sender : "-"),
	    it->subject ? it->subject : "-", category_word(c->w, it->category), c->w->release,
	    rel, c->w->allow, allow, c->w->del, del);
	add(&c->html, "<tr><td>%s</td><td>", when);
	html_escape(&c->html, it->from_addr ? it->from_addr : it->sender);
	add(&c->html, "</td><td>");
	html_escape(&c->html, it->subject);
	add(&c->html, "</td><td>%s</td><td>", category_word(c->w, it->category));
	add(&c->html, "<a href=\"");
	html_escape(&c->html, rel);
	add(&c->html, "\">%s</a> &middot; <a href=\"", c->w->release);
	html_escape(&c->html, allow);
	add(&c->html, "\">%s</a> &middot; <a href=\"", c->w->allow);
	html_escape(&c->html, del);
	add(&c->html, "\">%s</a></td></tr>\n", c->w->del);
	free(rel);
	free(allow);
	free(del);
	return 0;
}

/* header_safe - is s free of CR/LF (safe inside a mail header)? */
static bool header_safe(const char *s)
{
	return s && strpbrk(s, "\r\n") == NULL;
}

/* digest_send - compose and send one user's digest */
enum vr_err digest_send(struct apid *app, struct db *db, const struct db_digest_user *u,
			int64_t now, int *count, char *err, size_t errsz)
{
	struct compose c = {app, strcmp(u->language, "en") == 0 ? &en : &fr, {0}, {0}, 0, now,
			    app->conf->public_url};
	struct db_qfilter f = {.owner_id = u->id, .hide_admin_only = true, .status = "held",
			       .since = u->sent_at + 1, .limit = DIGEST_MAX_ITEMS};
	struct db_policy p;
	struct vr_buf msg = {0};
	char subject[200], boundary[VR_ID_LEN + 8], from[300], date[64];
	bool more;
	enum vr_err e;
	time_t tt = (time_t)now;
	struct tm tm;

	*count = 0;
	if (u->address == NULL || !header_safe(u->address))
		return VR_OK; /* nobody to write to */
	if ((e = db_quarantine_list(db, &f, add_item, &c, &more)) != VR_OK) {
		snprintf(err, errsz, "cannot read the quarantine");
		goto out;
	}
	if (c.n == 0)
		goto out;
	if ((e = db_policy_get(db, &p)) != VR_OK) {
		snprintf(err, errsz, "cannot read the policy");
		goto out;
	}
	snprintf(subject, sizeof(subject), "%s%d%s", c.w->subject, c.n, c.w->subject_tail);
	vr_random_id(boundary);
	snprintf(from, sizeof(from), "quarantine@%s", p.hostname);
	gmtime_r(&tt, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* the subject holds accents: RFC 2047 B-encoding keeps the header 7-bit */
	{
		char b64[400];

		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)subject, strlen(subject),
				  sodium_base64_VARIANT_ORIGINAL);
		add(&msg, "From: vrgate <%s>\r\nTo: <%s>\r\nSubject: =?UTF-8?B?%s?=\r\nDate: %s\r\n"
			  "Message-ID: <%s.digest@%s>\r\nAuto-Submitted: auto-generated\r\n"
			  "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
			  "boundary=\"%s\"\r\n\r\n",
		    from, u->address, b64, date, boundary, p.hostname, boundary);
	}
	add(&msg, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n%s\n\n",
	    boundary, c.w->intro);
	vr_buf_append(&msg, c.text.data, c.text.len, SIZE_MAX / 2);
	add(&msg, "%s\n\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n<!DOCTYPE html><html><body>"
		  "<p>%s</p><table border=\"1\" cellpadding=\"4\">\n",
	    c.w->footer, boundary, c.w->intro);
	vr_buf_append(&msg, c.html.data, c.html.len, SIZE_MAX / 2);
	add(&msg, "</table><p>%s</p></body></html>\r\n--%s--\r\n", c.w->footer, boundary);
	e = release_send_buffer(p.reinject_address, (long)p.reinject_port, from, u->address,
				msg.data, msg.len, err, errsz);
	db_policy_clear(&p);
	if (e == VR_OK) {
		*count = c.n;
		/* the mail went out: a bookkeeping failure must not make it look unsent */
		if (db_digest_mark_sent(db, u->id, now) != VR_OK)
			VR_LOG_ERR("digest for %s sent but not recorded", u->username);
	}
out:
	vr_buf_free(&c.text);
	vr_buf_free(&c.html);
	vr_buf_free(&msg);
	return e;
}

static pthread_t thread;
static bool running, stopping;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int64_t interval;

/* send_due - db_digest_due callback */
static int send_due(const struct db_digest_user *u, void *arg)
{
	struct apid *app = arg;
	char err[300];
	int n;

	if (digest_send(app, db_get(), u, vr_now(), &n, err, sizeof(err)) != VR_OK)
		VR_LOG_WARN("digest for %s: %s", u->username, err);
	else if (n)
		VR_LOG_INFO("sent %s a digest of %d items", u->username, n);
	return 0;
}

/* digest_main - send the digests that are due, every interval */
static void *digest_main(void *arg)
{
	for (;;) {
		struct timespec ts;
		struct db *db;

		pthread_mutex_lock(&lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += interval;
		while (!stopping && pthread_cond_timedwait(&cond, &lock, &ts) == 0)
			;
		if (stopping) {
			pthread_mutex_unlock(&lock);
			break;
		}
		pthread_mutex_unlock(&lock);
		if ((db = db_get()) != NULL && db_digest_due(db, vr_now(), send_due, arg) != VR_OK)
			VR_LOG_ERR("cannot look up the digests due");
	}
	return NULL;
}

/* digest_start - run the digest thread */
void digest_start(struct apid *app, int64_t every)
{
	if (every <= 0)
		return;
	interval = every;
	if (pthread_create(&thread, NULL, digest_main, app) != 0)
		VR_DIE("cannot start the digest thread");
	running = true;
}

/* digest_stop - end the digest thread */
void digest_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
}
