/* milter_eom.c - the end of a message: scan, decide per recipient, act (see milter.h).
 *
 * In order:
 *  1. the policy in force; none yet -> 451 4.3.0;
 *  2. scans: clamd (always), rspamd (always: the verdict ignores the score of allow-listed
 *     senders), the GMime inventory with the attachment policy, the newsletter classifier.
 *     Malformed MIME never fails a scan; clamd always gets the raw bytes;
 *  3. verdict_decide() per recipient; then for the message: any tempfail -> 451 4.7.1
 *     naming the scanner that failed; every recipient rejected -> 550 5.7.1 with the
 *     reason; every recipient discarded -> discard;
 *  4. quarantine: one POST /api/v1/agent/quarantine per category (recipients split in
 *     groups whose metadata stays under META_QUARANTINE_MAX, as apid reads at most 32 KiB of
 *     request headers), idempotency key "vr2-" + SHA-256(agent, sender, Message-ID,
 *     content hash, category, recipients) (milter_meta.h); Postfix is told nothing before
 *     apid has answered 201/200 (the copy is on its disk); any failure -> 451 4.3.0 for
 *     the whole message (nothing is lost: the sender retries; a copy held before the
 *     failure is found again by its key, not held twice);
 *  5. smfi_delrcpt() for the recipients quarantined, rejected or discarded (after DATA a
 *     rejection cannot be per recipient: those are dropped, the tracking log says why);
 *     nobody left -> discard (the held copies are durable);
 *  6. headers, per message (one copy goes to every remaining recipient): X-VR-Verdict
 *     ("clean", "spam; tagged", "newsletter; tagged"), X-VR-Score, X-VR-Category replace
 *     any the message came with; rspamd's Authentication-Results when it gives one; the
 *     Subject gets the domain's prefix when a remaining recipient is tagged as spam (so a
 *     co-recipient who allow-lists the sender sees it too: the cautious choice);
 *  7. the tracking report (POST /api/v1/agent/messages), best effort: on failure it goes
 *     to the outbox, which the loop sends again; mail never waits for apid to come back.
 * The texts of steps 4 and 7 (facts, metadata, keys, reports) are milter_meta.c's pure
 * functions; this file gathers their inputs and acts on apid's answers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antipub.h"
#include "log.h"
#include "milter_int.h"
#include "milter_meta.h"
#include "mime_scan.h"
#include "outbox.h"

/* What the scanners found about the message being finished. */
struct scan {
	struct clamd_result cr;
	struct rspamd_result rr;
	struct mime_report mr;
	struct attach_findings af;
	struct antipub_result ap;
};

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
		clamd_scan_buffer(&milter_env.clamd, data, s->mb.len, &sc->cr);
	else
		clamd_scan_fd(&milter_env.clamd, fd, &sc->cr);

	if ((rc = milter_rspamd_take()) == NULL) {
		memset(&sc->rr, 0, sizeof(sc->rr));
		snprintf(sc->rr.error, sizeof(sc->rr.error), "cannot create a libcurl handle");
	} else {
		if (data)
			rspamd_check(rc, &req, data, s->mb.len, &sc->rr);
		else
			rspamd_check_fd(rc, &req, fd, &sc->rr);
		milter_rspamd_give(rc);
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
		       struct meta_facts *f)
{
	unsigned char content[crypto_hash_sha256_BYTES];
	const struct meta_source src = {
		.queue_id = queue_id,
		.received_at = s->received_at,
		.sender = s->sender,
		.helo = s->helo,
		.client_ip = s->client_ip,
		.from = sc->mr.from_addr,
		.subject = sc->mr.subject,
		.message_id = sc->mr.message_id,
		.virus = sc->cr.status == CLAMD_INFECTED ? sc->cr.text : NULL,
		.content = content,
		.rspamd = &sc->rr,
		.size = s->mb.len,
	};

	crypto_hash_sha256_final(&s->content, content);
	meta_facts_make(&src, f);
}

/* ---- end of message: quarantine ------------------------------------------------------- */

/* post_group - hold one copy for addrs[0..n) (cleaned addresses) in category cat; the id
 * into id; true when apid has it */
static bool post_group(struct apid_client *api, struct sess *s, const struct scan *sc,
		       const struct meta_facts *f, enum filter_category cat,
		       const char *const *addrs, size_t n, char *id, size_t idsz, char *why,
		       size_t whysz)
{
	char *text = meta_quarantine_json(milter_env.c->agent_name, f, s->dir, cat, &sc->ap,
					  addrs, n);
	char err[512];
	long status;

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
static bool quarantine_all(struct sess *s, const struct scan *sc, const struct meta_facts *f,
			   const struct verdict_rcpt *out, char **caddr,
			   char (*qids)[META_QID_SIZE], char *why, size_t whysz)
{
	const char **group = malloc(s->n_rcpts * sizeof(*group));
	size_t *idx = malloc(s->n_rcpts * sizeof(*idx));
	struct apid_client *api = NULL;
	bool ok = true;

	VR_CHECK_ALLOC(group);
	VR_CHECK_ALLOC(idx);
	for (int cat = FC_CLEAN; cat <= FC_BLOCKLIST && ok; cat++) {
		size_t i = 0, n;
		char id[META_QID_SIZE];

		while ((n = meta_next_group(out, caddr, s->n_rcpts, (enum filter_category)cat, &i,
					    idx)) > 0) {
			for (size_t k = 0; k < n; k++)
				group[k] = caddr[idx[k]];
			if (api == NULL && (api = milter_apid_take()) == NULL) {
				snprintf(why, whysz, "%s",
					 milter_env.c->api ? "cannot create a libcurl handle"
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
	milter_apid_give(api);
	free(group);
	free(idx);
	return ok;
}

/* ---- end of message: tracking --------------------------------------------------------- */

/* report - the tracking report: posted now, else kept in the outbox. override, when not
 * NULL, replaces every recipient's action (the message was deferred as a whole) */
static void report(struct sess *s, const struct meta_facts *f, const struct verdict_rcpt *out,
		   char **caddr, char (*qids)[META_QID_SIZE], const char *override,
		   const char *override_reason)
{
	struct apid_client *api;
	char err[512], *text;
	long status;

	if (milter_env.c->api == NULL)
		return;
	text = meta_report_json(milter_env.c->agent_name, f, s->dir, caddr, out, qids,
				s->n_rcpts, override, override_reason);
	status = (api = milter_apid_take()) ? apid_post_report(api, text, err, sizeof(err)) : 0;
	milter_apid_give(api);
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
	outbox_push(milter_env.c->outbox, text);
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
	out = meta_clean_text(flat, 900);
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
			ok &= smfi_chgheader(ctx, (char *)milter_vr_headers[k], i, NULL) ==
			      MI_SUCCESS;
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
		if (isalnum((unsigned char)*q))
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
			 out[i].category == FC_VIRUS ? "Virus scanner clamd"
						     : "Spam scanner rspamd",
			 out[i].reason);
		return;
	}
	snprintf(buf, n, "Mail filter unavailable, try again later");
}

/* milter_eom - scan, decide, act (see the file header) */
sfsistat milter_eom(SMFICTX *ctx)
{
	struct sess *s = milter_sess(ctx);
	struct mpolicy *p;
	struct scan sc;
	struct meta_facts f;
	struct verdict_rcpt *out;
	struct verdict_summary sum;
	struct verdict_input in = {0};
	char queue_id[65], why[600], text[700];
	char **caddr;
	char (*qids)[META_QID_SIZE];
	const char **addrs;
	size_t left = 0;
	sfsistat rc;

	if ((rc = milter_size_status(ctx, s)) != SMFIS_CONTINUE)
		return rc;
	if (s->n_rcpts == 0) {
		/* never from Postfix; nothing unscanned gets through */
		milter_set_reply(ctx, "451", "4.3.0", "No recipient known to the filter");
		return SMFIS_TEMPFAIL;
	}
	if ((p = milter_policy_get()) == NULL) {
		milter_set_reply(ctx, "451", "4.3.0", "%s", MILTER_NOT_YET);
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
		caddr[i] = meta_clean_addr(s->rcpts[i].addr);
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
		milter_set_reply(ctx, "451", "4.7.1", "%s", text);
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
		milter_set_reply(ctx, "550", "5.7.1", "%s", text);
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
		milter_set_reply(ctx, "451", "4.3.0", "Quarantine unavailable, try again later");
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
			milter_set_reply(ctx, "451", "4.3.0", "%s",
					 "Temporary local problem, try again later");
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
	meta_facts_free(&f);
	mime_report_free(&sc.mr);
	rspamd_result_free(&sc.rr);
	milter_policy_put(p);
	milter_msg_reset(s);
	return rc;
}

