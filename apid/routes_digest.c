/* routes_digest.c - POST /api/v1/me/digest (send my digest now), and the digest's
 * one-click links: GET /api/v1/links/{token} (a confirmation page only: mail scanners
 * fetch links) and POST /api/v1/links/{token} (acts, once).
 *
 * Links carry no session: the signed token is the authority, bound to one quarantine id,
 * one recipient and one action, expiring after 7 days, used once (its nonce is claimed
 * before acting and given back if the action fails). The action runs as the user who owns
 * the recipient address now. Pages are minimal HTML, French or English after the owner's
 * language, with nothing active in them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "digest.h"
#include "log.h"
#include "routes.h"
#include "vrtime.h"

#define DIGEST_THROTTLE 300 /* seconds between two digests asked for by hand */

/* h_digest_now - send the caller's digest now (throttled) */
enum vr_err h_digest_now(struct req *r)
{
	struct db_digest_user u;
	char *strs[5] = {0}, err[300] = "";
	int64_t now = vr_now();
	struct db *db;
	enum vr_err e;
	int n = 0;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_digest_user(db, r->who.user_id, &u, strs)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the account");
	if (u.sent_at > now - DIGEST_THROTTLE) {
		r->retry_after = u.sent_at + DIGEST_THROTTLE - now;
		e = req_fail(r, VR_E_RATE_LIMITED, NULL,
			     "a digest went out less than 5 minutes ago: try again in %lld s",
			     (long long)r->retry_after);
	} else if (u.address == NULL) {
		e = req_fail(r, VR_E_CONFLICT, NULL, "this account has no mail address");
	} else {
		/* by hand, the digest lists everything still held, not only what is new */
		u.sent_at = 0;
		e = digest_send(r->app, db, &u, now, &n, err, sizeof(err));
		if (e != VR_OK)
			req_fail(r, e, NULL, "the digest could not be sent: %s", err);
	}
	for (int k = 0; k < 5; k++)
		free(strs[k]);
	if (e != VR_OK)
		return e;
	audit_note(r, db, r->who.username, "digest.send", r->who.username, true, NULL);
	return reply_json(r, 202, json_pack("{s:i}", "items", n));
}

/* the words of the pages */
struct page_words {
	const char *title, *confirm[3], *button[3], *done[3], *used, *expired, *invalid, *failed;
};
static const struct page_words page_fr = {
	"Quarantaine",
	{"Libérer ce message vers votre boîte ?",
	 "Libérer ce message et toujours accepter cet expéditeur ?", "Supprimer ce message ?"},
	{"Libérer", "Libérer et accepter l'expéditeur", "Supprimer"},
	{"Le message a été libéré.", "Le message a été libéré et l'expéditeur accepté.",
	 "Le message a été supprimé."},
	"Ce lien a déjà été utilisé, ou ce message a déjà été traité.", "Ce lien a expiré. Ouvrez votre quarantaine pour agir.",
	"Ce lien n'est pas valide.", "L'action a échoué ; réessayez plus tard."};
static const struct page_words page_en = {
	"Quarantine",
	{"Release this message to your mailbox?",
	 "Release this message and always accept this sender?", "Delete this message?"},
	{"Release", "Release and accept the sender", "Delete"},
	{"The message was released.", "The message was released and the sender accepted.",
	 "The message was deleted."},
	"This link was used already, or the message was handled already.", "This link has expired. Open your quarantine to act.",
	"This link is not valid.", "The action failed; try again later."};

/* action_index - 0 release, 1 release-allow, 2 delete; -1 otherwise */
static int action_index(const char *a)
{
	return !strcmp(a, "release") ? 0 : !strcmp(a, "release-allow") ? 1 : !strcmp(a, "delete") ? 2 : -1;
}

/* page - reply a small HTML page (message, and a form when form_action is set) */
static enum vr_err page(struct req *r, unsigned status, const struct page_words *w,
			const char *message, const char *button)
{
	struct vr_buf b = {0};
	char head[512];
	enum vr_err e;
	int n = snprintf(head, sizeof(head),
			 "<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
			 "<meta name=\"robots\" content=\"noindex\"><title>vrgate - %s</title>"
			 "</head><body><h1>%s</h1><p>",
			 w == &page_fr ? "fr" : "en", w->title, w->title);

	vr_buf_append(&b, head, (size_t)n, SIZE_MAX / 2);
	vr_buf_append(&b, message, strlen(message), SIZE_MAX / 2);
	vr_buf_append(&b, "</p>", 4, SIZE_MAX / 2);
	if (button) {
		/* the form posts to this very URL: no token is copied into the page */
		n = snprintf(head, sizeof(head),
			     "<form method=\"post\"><button type=\"submit\">%s</button></form>",
			     button);
		vr_buf_append(&b, head, (size_t)n, SIZE_MAX / 2);
	}
	vr_buf_append(&b, "</body></html>\n", 15, SIZE_MAX / 2);
	e = reply_bytes(r, status, "text/html; charset=utf-8", b.data, b.len, true);
	vr_buf_free(&b);
	return e;
}

/* link_words - the language of the recipient's owner (French by default) */
static const struct page_words *link_words(struct db *db, const char *rcpt, char **owner)
{
	struct db_digest_user u;
	char *strs[5] = {0};
	const struct page_words *w = &page_fr;

	*owner = NULL;
	if (db_address_owner(db, rcpt, owner) == VR_OK &&
	    db_digest_user(db, *owner, &u, strs) == VR_OK && strcmp(u.language, "en") == 0)
		w = &page_en;
	for (int k = 0; k < 5; k++)
		free(strs[k]);
	return w;
}

/* check_link - decode the token and say why it cannot be used (a page), or VR_OK */
static enum vr_err check_link(struct req *r, struct db *db, struct digest_link *l,
			      const struct page_words **w, char **owner, bool *replied)
{
	enum vr_err e = digest_token_check(r->app->digest_key, r->params[0], vr_now(), l);
	bool used = false;

	*replied = true;
	*owner = NULL;
	if (e == VR_E_UNAUTHORIZED || action_index(l->action) < 0) {
		*w = &page_fr;
		return page(r, 400, *w, (*w)->invalid, NULL);
	}
	*w = link_words(db, l->rcpt, owner);
	if (e == VR_E_TOKEN_EXPIRED)
		return page(r, 410, *w, (*w)->expired, NULL);
	if (db_digest_used(db, l->nonce, &used) != VR_OK)
		return page(r, 503, *w, (*w)->failed, NULL);
	if (used)
		return page(r, 410, *w, (*w)->used, NULL);
	*replied = false;
	return VR_OK;
}

/* h_link_show - the confirmation page of a digest link; changes nothing */
enum vr_err h_link_show(struct req *r)
{
	const struct page_words *w;
	struct digest_link l;
	char *owner;
	bool replied;
	struct db *db;
	enum vr_err e;
	int a;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = check_link(r, db, &l, &w, &owner, &replied);
	free(owner);
	if (replied)
		return e;
	a = action_index(l.action);
	return page(r, 200, w, w->confirm[a], w->button[a]);
}

/* held_rcpt - items callback: is the link's recipient still held? */
static int held_rcpt(const struct db_qitem *it, void *arg)
{
	const char **want = arg;

	if (strcasecmp(it->recipient, want[0]) == 0 && strcmp(it->status, "held") == 0)
		want[1] = "held";
	return 0;
}

/* still_held - is (qid, rcpt) still waiting for a decision? */
static bool still_held(struct db *db, const char *qid, const char *rcpt)
{
	struct db_qfilter f = {0};
	const char *want[2] = {rcpt, NULL};

	return db_quarantine_items(db, qid, &f, held_rcpt, want) == VR_OK && want[1] != NULL;
}

/* h_link_act - do what the link says, once */
enum vr_err h_link_act(struct req *r)
{
	const struct page_words *w;
	struct digest_link l;
	struct db_user u = {0};
	char *owner = NULL;
	bool replied;
	struct db *db;
	enum vr_err e;
	int a;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = check_link(r, db, &l, &w, &owner, &replied);
	if (replied) {
		free(owner);
		return e;
	}
	a = action_index(l.action);
	if (owner == NULL || db_users_by_id(db, owner, &u) != VR_OK) {
		free(owner);
		return page(r, 400, w, w->invalid, NULL);
	}
	/* claim first: a second click, or a race of two, finds the nonce taken */
	if ((e = db_digest_claim(db, l.nonce, l.action, l.qid, vr_now())) != VR_OK) {
		free(owner);
		db_user_clear(&u);
		return e == VR_E_CONFLICT ? page(r, 410, w, w->used, NULL)
					  : page(r, 503, w, w->failed, NULL);
	}
	/* the item may have been handled since (another link, the portal): say so */
	if (!still_held(db, l.qid, l.rcpt)) {
		free(owner);
		db_user_clear(&u);
		return page(r, 410, w, w->used, NULL);
	}
	r->who.method = AUTH_TOKEN;
	r->who.role = ROLE_USER;
	snprintf(r->who.user_id, sizeof(r->who.user_id), "%s", u.id);
	snprintf(r->who.username, sizeof(r->who.username), "%s", u.username);
	e = quarantine_act(r, db, l.qid, l.action, l.rcpt);
	free(owner);
	db_user_clear(&u);
	if (e != VR_OK) {
		db_digest_unclaim(db, l.nonce);
		r->err_field = NULL;
		VR_LOG_WARN("digest link %s on %s: %s", l.action, l.qid, r->err_detail);
		return page(r, e == VR_E_NOT_FOUND ? 410 : 503, w,
			    e == VR_E_NOT_FOUND ? w->invalid : w->failed, NULL);
	}
	return page(r, 200, w, w->done[a], NULL);
}
