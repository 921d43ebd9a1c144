/* routes_quarantine.c - the quarantine: GET /api/v1/quarantine, GET
 * /api/v1/quarantine/{id}[/preview|/raw], POST /api/v1/quarantine/{id}/{action},
 * POST /api/v1/quarantine/bulk.
 *
 * Who sees what: a user sees the items addressed to one of their addresses, except virus
 * and attachment items (admins' business); helpdesk, auditors and admins see all. An id
 * the caller may not see answers 404 exactly like an unknown one. Auditors only read;
 * helpdesk may not release a virus (403); raw downloads are for helpdesk and admins (a
 * virus: admins only). A release goes to one recipient at a time through the
 * reinjection listener, and happens once: held -> releasing -> released, where the first
 * step is a compare-and-set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atomic_file.h"
#include "housekeeping.h"
#include "log.h"
#include "mime_view.h"
#include "release.h"
#include "routes.h"
#include "unsubscribe.h"
#include "snapshot.h"
#include "vrtime.h"

#define PREVIEW_MAX (64 * 1024)
#define VIEW_LIMIT  (64u << 20)
#define BULK_MAX    1000

const char *list_pattern_check(const char *in, char *out, size_t outsz);

/* visibility - the filter that limits what the caller sees */
static void visibility(struct req *r, struct db_qfilter *f)
{
	if (r->who.role == ROLE_USER) {
		f->owner_id = r->who.user_id;
		f->hide_admin_only = true;
	}
}

/* json_item - one (message, recipient) entry of the list */
static json_t *json_item(const struct db_qitem *it)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s?, s:s?, s:s?, s:o, s:s?, s:I}", "id",
			 it->id, "recipient", it->recipient, "status",
			 strcmp(it->status, "releasing") == 0 ? "held" : it->status, "category",
			 it->category, "direction", it->direction, "received_at",
			 json_time(it->received_at), "sender", it->sender, "from", it->from_addr,
			 "subject", it->subject, "score",
			 it->has_score ? json_real(it->score) : json_null(), "virus", it->virus,
			 "size", (json_int_t)it->size);
}

/* add_item - list callback */
static int add_item(const struct db_qitem *it, void *arg)
{
	json_array_append_new(arg, json_item(it));
	return 0;
}

/* parse_score - a number query parameter */
static bool parse_score(const char *s, double *out)
{
	char *end;

	if (s == NULL || *s == '\0' || strlen(s) > 20)
		return false;
	*out = strtod(s, &end);
	return *end == '\0';
}

static const char *const statuses[] = {"held", "released", "deleted", "expired", NULL};
static const char *const qcats[] = {"spam", "virus", "newsletter", "attachment", "blocklist",
				    NULL};

/* in_list - is s one of list? */
static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* h_quarantine_list - search the quarantine, newest first, with totals per category */
enum vr_err h_quarantine_list(struct req *r)
{
	struct db_qfilter f = {.limit = 50};
	const char *v, *cursor = req_query(r, "cursor");
	char cur_id[VR_ID_LEN] = "", cur_rcpt[330] = "", next[420];
	json_t *items, *totals, *last;
	bool more = false;
	struct db *db;
	enum vr_err e;

	visibility(r, &f);
	f.recipient = req_query(r, "recipient");
	f.sender = req_query(r, "sender");
	f.text = req_query(r, "q");
	f.category = req_query(r, "category");
	f.status = req_query(r, "status");
	if (f.category && !in_list(f.category, qcats))
		return req_fail(r, VR_E_BAD_PARAMETER, "category",
				"must be spam, virus, newsletter, attachment or blocklist");
	if (f.status && !in_list(f.status, statuses))
		return req_fail(r, VR_E_BAD_PARAMETER, "status",
				"must be held, released, deleted or expired");
	if (f.text && (strlen(f.text) == 0 || strlen(f.text) > 200))
		return req_fail(r, VR_E_BAD_PARAMETER, "q", "must be 1 to 200 characters");
	if ((v = req_query(r, "min_score")) && !(f.has_min = parse_score(v, &f.min_score)))
		return req_fail(r, VR_E_BAD_PARAMETER, "min_score", "must be a number");
	if ((v = req_query(r, "max_score")) && !(f.has_max = parse_score(v, &f.max_score)))
		return req_fail(r, VR_E_BAD_PARAMETER, "max_score", "must be a number");
	if ((v = req_query(r, "since")) && vr_time_parse(v, &f.since) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "since", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "until")) && vr_time_parse(v, &f.until) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "until", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "limit"))) {
		char *end;
		long l = strtol(v, &end, 10);

		if (*v == '\0' || *end != '\0' || l < 1 || l > 500)
			return req_fail(r, VR_E_BAD_PARAMETER, "limit",
					"must be an integer from 1 to 500");
		f.limit = (int)l;
	}
	if (cursor) {
		long long t;
		int n = 0;

		/* "<time>.<id>.<recipient>" as handed out in next_cursor */
		if (strlen(cursor) > 400 ||
		    sscanf(cursor, "%lld.%22[A-Za-z0-9_-].%n", &t, cur_id, &n) != 2 || n == 0 ||
		    strlen(cur_id) != VR_ID_LEN - 1 || cursor[n] == '\0')
			return req_fail(r, VR_E_BAD_PARAMETER, "cursor",
					"must be a next_cursor value from a previous page");
		snprintf(cur_rcpt, sizeof(cur_rcpt), "%s", cursor + n);
		f.after_time = t;
		f.after_id = cur_id;
		f.after_rcpt = cur_rcpt;
	}
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	items = json_array();
	totals = json_object();
	if ((e = db_quarantine_list(db, &f, add_item, items, &more)) != VR_OK ||
	    (e = db_quarantine_totals(db, &f, totals)) != VR_OK) {
		json_decref(items);
		json_decref(totals);
		return req_fail(r, e, NULL, "cannot read the quarantine");
	}
	next[0] = '\0';
	if (more && (last = json_array_get(items, json_array_size(items) - 1))) {
		int64_t t;

		vr_time_parse(json_string_value(json_object_get(last, "received_at")), &t);
		snprintf(next, sizeof(next), "%lld.%s.%s", (long long)t,
			 json_string_value(json_object_get(last, "id")),
			 json_string_value(json_object_get(last, "recipient")));
	}
	return reply_json(r, 200, json_pack("{s:o, s:o, s:o}", "items", items, "totals", totals,
					    "next_cursor", next[0] ? json_string(next) : json_null()));
}

struct detail {
	json_t *rcpts;
	json_t *first; /* the first row's message-level fields */
	char spool[80];
	char category[16];
};

/* add_rcpt - items callback: collect the recipients and the message's fields */
static int add_rcpt(const struct db_qitem *it, void *arg)
{
	struct detail *d = arg;

	json_array_append_new(d->rcpts, json_pack("{s:s, s:s}", "address", it->recipient,
						  "status",
						  strcmp(it->status, "releasing") == 0 ? "held"
										       : it->status));
	if (d->first == NULL) {
		json_t *syms = it->symbols ? json_loads(it->symbols, 0, NULL) : NULL;

		d->first = json_item(it);
		json_object_del(d->first, "recipient");
		json_object_del(d->first, "status");
		json_object_set_new(d->first, "queue_id",
				    it->queue_id ? json_string(it->queue_id) : json_null());
		json_object_set_new(d->first, "symbols", syms ? syms : json_array());
		json_object_set_new(d->first, "unsubscribe",
				    json_pack("{s:s?, s:b}", "target", it->unsubscribe, "one_click",
					      it->one_click));
		snprintf(d->spool, sizeof(d->spool), "%s", it->spool);
		snprintf(d->category, sizeof(d->category), "%s", it->category);
	}
	return 0;
}

/* load_detail - the visible rows of the item in the path, or a 404 */
static enum vr_err load_detail(struct req *r, struct db *db, struct detail *d)
{
	struct db_qfilter f = {0};
	enum vr_err e;

	visibility(r, &f);
	d->rcpts = json_array();
	d->first = NULL;
	e = db_quarantine_items(db, r->params[0], &f, add_rcpt, d);
	if (e != VR_OK) {
		json_decref(d->rcpts);
		json_decref(d->first);
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such item" : "cannot read");
	}
	return VR_OK;
}

/* spool_path - the held file of d */
static void spool_path(struct req *r, const struct detail *d, char *path, size_t sz)
{
	snprintf(path, sz, "%s/spool/%s", r->app->conf->data_dir, d->spool);
}

/* h_quarantine_get - one item: envelope, decoded headers, verdict, attachments */
enum vr_err h_quarantine_get(struct req *r)
{
	struct detail d;
	char path[4200], err[200];
	struct db *db;
	enum vr_err e;
	json_t *view;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load_detail(r, db, &d)) != VR_OK)
		return e;
	spool_path(r, &d, path, sizeof(path));
	view = mime_view_load(path, VIEW_LIMIT, 0, err, sizeof(err));
	json_object_set_new(d.first, "recipients", d.rcpts);
	json_object_set_new(d.first, "headers",
			    view ? json_incref(json_object_get(view, "headers")) : json_null());
	json_object_set_new(d.first, "attachments",
			    view ? json_incref(json_object_get(view, "attachments")) : json_array());
	if (view == NULL)
		VR_LOG_WARN("quarantine %s: %s", r->params[0], err);
	json_decref(view);
	return reply_json(r, 200, d.first);
}

/* h_quarantine_preview - the text of the message, never active content */
enum vr_err h_quarantine_preview(struct req *r)
{
	struct detail d;
	char path[4200], err[200];
	struct db *db;
	enum vr_err e;
	json_t *view, *preview;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load_detail(r, db, &d)) != VR_OK)
		return e;
	spool_path(r, &d, path, sizeof(path));
	json_decref(d.rcpts);
	json_decref(d.first);
	view = mime_view_load(path, VIEW_LIMIT, PREVIEW_MAX, err, sizeof(err));
	if (view == NULL)
		return req_fail(r, VR_E_INTERNAL, NULL, "cannot read the held copy: %s", err);
	preview = json_incref(json_object_get(view, "preview"));
	json_decref(view);
	return reply_json(r, 200, preview);
}

/* h_quarantine_raw - the message as held (helpdesk and admins; viruses: admins) */
enum vr_err h_quarantine_raw(struct req *r)
{
	struct detail d;
	char path[4200], *data;
	size_t len;
	struct db *db;
	enum vr_err e;
	bool virus;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load_detail(r, db, &d)) != VR_OK)
		return e;
	json_decref(d.rcpts);
	json_decref(d.first);
	virus = strcmp(d.category, "virus") == 0;
	if (r->who.role != ROLE_ADMIN && (r->who.role != ROLE_HELPDESK || virus))
		return req_fail(r, VR_E_FORBIDDEN, NULL,
				virus ? "only admins download a virus"
				      : "only helpdesk and admins download messages");
	spool_path(r, &d, path, sizeof(path));
	if ((data = vr_read_file(path, VIEW_LIMIT, &len)) == NULL)
		return req_fail(r, VR_E_INTERNAL, NULL, "cannot read the held copy");
	audit_note(r, db, r->who.username, "quarantine.download", r->params[0], true, d.category);
	e = reply_bytes(r, 200, "message/rfc822", data, len, true);
	free(data);
	return e;
}

/* ---- actions ---------------------------------------------------------------------- */

enum qaction { QA_RELEASE, QA_DELETE, QA_RELEASE_ALLOW, QA_DELETE_BLOCK, QA_NOT_SPAM, QA_NONE };
static const char *const qaction_names[] = {"release", "delete", "release-allow",
					    "delete-block", "not-spam", NULL};

/* parse_action - the action named by s */
static enum qaction parse_action(const char *s)
{
	for (int i = 0; qaction_names[i]; i++)
		if (s && strcmp(s, qaction_names[i]) == 0)
			return (enum qaction)i;
	return QA_NONE;
}

struct act_rows {
	int n;
	struct {
		char rcpt[330];
		char status[16];
		char category[16];
		char sender[330];
	} row[64];
	char spool[80];
};

/* collect_rows - items callback for an action */
static int collect_rows(const struct db_qitem *it, void *arg)
{
	struct act_rows *a = arg;

	if (a->n >= 64)
		return 0;
	snprintf(a->row[a->n].rcpt, 330, "%s", it->recipient);
	snprintf(a->row[a->n].status, 16, "%s", it->status);
	snprintf(a->row[a->n].category, 16, "%s", it->category);
	snprintf(a->row[a->n].sender, 330, "%s", it->sender ? it->sender : "");
	snprintf(a->spool, sizeof(a->spool), "%s", it->spool);
	a->n++;
	return 0;
}

struct list_add_tx {
	const char *owner_id, *kind, *pattern, *by;
};

/* apply_personal_list - config_change callback: a personal entry, duplicates fine */
static enum vr_err apply_personal_list(struct db *db, void *arg)
{
	struct list_add_tx *l = arg;
	char id[VR_ID_LEN];
	enum vr_err e;

	vr_random_id(id);
	e = db_lists_add(db, id, l->kind, l->owner_id, l->pattern, "from the quarantine", l->by,
			 vr_now());
	return e == VR_E_CONFLICT ? VR_OK : e;
}

/* list_sender - add the sender to the recipient owner's allow or block list */
static enum vr_err list_sender(struct req *r, struct db *db, const char *rcpt,
			       const char *sender, const char *kind)
{
	char pattern[330], *owner = NULL;
	enum vr_err e;

	if (sender[0] == '\0' || list_pattern_check(sender, pattern, sizeof(pattern)))
		return VR_OK; /* the null sender or an odd address: nothing to list */
	if ((e = db_address_owner(db, rcpt, &owner)) != VR_OK)
		return e == VR_E_NOT_FOUND ? VR_OK : e;
	{
		struct list_add_tx l = {owner, kind, pattern, r->who.username};
		struct config_change c = {r, apply_personal_list, &l, "list.create", pattern, NULL,
					  NULL, 0};

		e = config_change(db, &c);
	}
	free(owner);
	return e;
}

static enum vr_err act_one(struct req *r, struct db *db, const char *id, enum qaction a,
			   const char *only_rcpt);

/* quarantine_act - run action (by name) on every recipient of item id the caller may act
 * for (only_rcpt: that one only); the outcome code, with r's problem fields set */
enum vr_err quarantine_act(struct req *r, struct db *db, const char *id, const char *action,
			   const char *only_rcpt)
{
	enum qaction a = parse_action(action);

	if (a == QA_NONE)
		return req_fail(r, VR_E_BAD_PARAMETER, "action", "no such action");
	return act_one(r, db, id, a, only_rcpt);
}

/* act_one - run action on every visible recipient of item id; the outcome code */
static enum vr_err act_one(struct req *r, struct db *db, const char *id, enum qaction a,
			   const char *only_rcpt)
{
	struct db_qfilter f = {0};
	struct act_rows rows = {0};
	struct db_policy p;
	char path[4200], err[300], note[400], at[VR_TIME_LEN];
	enum vr_err e;
	bool release = a == QA_RELEASE || a == QA_RELEASE_ALLOW || a == QA_NOT_SPAM;
	int acted = 0;

	visibility(r, &f);
	if ((e = db_quarantine_items(db, id, &f, collect_rows, &rows)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such item" : "cannot read");
	if (r->who.role == ROLE_AUDITOR)
		return req_fail(r, VR_E_FORBIDDEN, NULL, "auditors only read");
	if (release && strcmp(rows.row[0].category, "virus") == 0 && r->who.role != ROLE_ADMIN)
		return req_fail(r, VR_E_FORBIDDEN, NULL, "only admins release a virus");
	if (release && db_policy_get(db, &p) != VR_OK)
		return req_fail(r, VR_E_UNAVAILABLE, NULL, "cannot read the policy");
	snprintf(path, sizeof(path), "%s/spool/%s", r->app->conf->data_dir, rows.spool);
	vr_time_format(vr_now(), at);
	snprintf(note, sizeof(note), "by %s at %s", r->who.username, at);
	e = VR_OK;
	for (int i = 0; i < rows.n && e == VR_OK; i++) {
		const char *rc = rows.row[i].rcpt;

		if (only_rcpt && strcasecmp(only_rcpt, rc) != 0)
			continue;
		acted++;
		if (!release) {
			/* deleting twice is deleting once */
			if (db_quarantine_transition(db, id, rc, "held", "deleted", vr_now()) == VR_OK)
				audit_note(r, db, r->who.username, "quarantine.delete", id, true, rc);
		} else if (db_quarantine_transition(db, id, rc, "held", "releasing", vr_now()) ==
			   VR_OK) {
			e = release_send(p.reinject_address, (long)p.reinject_port,
					 rows.row[i].sender, rc, path, note, err, sizeof(err));
			db_quarantine_transition(db, id, rc, "releasing", e == VR_OK ? "released" : "held",
						 vr_now());
			audit_note(r, db, r->who.username,
				   a == QA_NOT_SPAM ? "quarantine.not_spam" : "quarantine.release", id,
				   e == VR_OK, e == VR_OK ? rc : err);
			if (e != VR_OK)
				req_fail(r, e, NULL, "the release failed: %s", err);
		}
		if (e == VR_OK && (a == QA_RELEASE_ALLOW || a == QA_DELETE_BLOCK))
			e = list_sender(r, db, rc, rows.row[i].sender,
					a == QA_RELEASE_ALLOW ? "allow" : "block");
	}
	if (release)
		db_policy_clear(&p);
	if (e == VR_OK && acted == 0)
		return req_fail(r, VR_E_NOT_FOUND, "recipient", "no such recipient for this item");
	return e;
}

struct act_in {
	const char *recipient;
};

static const struct jspec act_spec[] = {
	{"recipient", JSPEC_STRING, false, 3, 320, NULL, offsetof(struct act_in, recipient)},
};

/* unsubscribe - the RFC 8058 one-click unsubscribe of a held newsletter */
static enum vr_err unsubscribe(struct req *r, struct db *db)
{
	const struct apid_conf *cf = r->app->conf;
	struct detail d;
	const char *target;
	char err[300];
	long status = 0;
	enum vr_err e;
	json_t *u;
	bool one_click;

	if ((e = load_detail(r, db, &d)) != VR_OK)
		return e;
	u = json_object_get(d.first, "unsubscribe");
	target = json_string_value(json_object_get(u, "target"));
	one_click = json_is_true(json_object_get(u, "one_click"));
	if (r->who.role == ROLE_AUDITOR)
		e = req_fail(r, VR_E_FORBIDDEN, NULL, "auditors only read");
	else if (target == NULL || !one_click)
		e = req_fail(r, VR_E_CONFLICT, NULL,
			     "this message offers no verified one-click unsubscribe (RFC 8058: "
			     "https, List-Unsubscribe-Post, both signed by DKIM)");
	else if ((e = unsubscribe_post(target, cf->unsubscribe_ca_file,
				       cf->unsubscribe_allow_private, &status, err,
				       sizeof(err))) != VR_OK)
		req_fail(r, e, NULL, "the unsubscribe request failed: %s", err);
	if (status || e == VR_OK)
		db_quarantine_unsubscribed(db, r->params[0], vr_now(), status);
	if (r->who.role != ROLE_AUDITOR && target && one_click)
		audit_note(r, db, r->who.username, "quarantine.unsubscribe", r->params[0],
			   e == VR_OK, target);
	if (e == VR_OK)
		e = reply_json(r, 200,
			       json_pack("{s:s, s:s, s:I, s:s}", "id", r->params[0], "action",
					 "unsubscribe", "http_status", (json_int_t)status, "target",
					 target));
	/* target is borrowed from d.first: release it only now */
	json_decref(d.rcpts);
	json_decref(d.first);
	return e;
}

/* h_quarantine_action - release, delete, release-allow, delete-block, not-spam or
 * unsubscribe */
enum vr_err h_quarantine_action(struct req *r)
{
	struct act_in in = {0};
	enum qaction a = parse_action(r->params[1]);
	struct db *db;
	enum vr_err e;
	json_t *view;
	struct detail d;

	if (strcmp(r->params[1], "unsubscribe") == 0) {
		/* it takes no field: refuse what was sent rather than ignore it */
		if (r->body.len > 0 && (e = req_body(r, act_spec, 0, &in, NULL)) != VR_OK)
			return e;
		if ((db = req_db(r)) == NULL)
			return VR_E_UNAVAILABLE;
		return unsubscribe(r, db);
	}
	if (a == QA_NONE)
		return req_fail(r, VR_E_NOT_FOUND, NULL,
				"no such action: release, delete, release-allow, delete-block, "
				"not-spam or unsubscribe");
	if (r->body.len > 0 && (e = req_body(r, act_spec, 1, &in, NULL)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = act_one(r, db, r->params[0], a, in.recipient)) != VR_OK)
		return e;
	if ((e = load_detail(r, db, &d)) != VR_OK)
		return e;
	view = json_pack("{s:s, s:s, s:o}", "id", r->params[0], "action", qaction_names[a],
			 "recipients", d.rcpts);
	json_decref(d.first);
	return reply_json(r, 200, view);
}

struct bulk_in {
	const char *action;
	json_t *ids;
};

static const struct jspec bulk_spec[] = {
	{"action", JSPEC_ENUM, true, 0, 0, qaction_names, offsetof(struct bulk_in, action)},
	{"ids", JSPEC_ARRAY, true, 1, BULK_MAX, NULL, offsetof(struct bulk_in, ids)},
};

/* h_quarantine_bulk - one action on up to 1000 items, with an outcome per id */
enum vr_err h_quarantine_bulk(struct req *r)
{
	struct bulk_in in = {0};
	struct db *db;
	enum vr_err e;
	json_t *results, *v;
	size_t i;
	int ok = 0;

	if ((e = req_body(r, bulk_spec, 2, &in, NULL)) != VR_OK)
		return e;
	json_array_foreach(in.ids, i, v) if (!json_is_string(v) ||
					     strlen(json_string_value(v)) >= VR_ID_LEN) return
		req_fail(r, VR_E_INVALID_FIELD, "ids", "each id must be a quarantine id");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	results = json_array();
	json_array_foreach(in.ids, i, v)
	{
		const char *id = json_string_value(v);

		r->err_detail[0] = '\0';
		e = act_one(r, db, id, parse_action(in.action), NULL);
		json_array_append_new(results,
				      json_pack("{s:s, s:i, s:s, s:s?}", "id", id, "status",
						e == VR_OK ? 200 : vr_err_info(e)->status, "code",
						e == VR_OK ? "ok" : vr_err_info(e)->slug, "detail",
						e == VR_OK ? NULL : r->err_detail));
		ok += e == VR_OK;
	}
	r->err_field = NULL;
	r->err_detail[0] = '\0';
	return reply_json(r, 200,
			  json_pack("{s:s, s:i, s:i, s:o}", "action", in.action, "succeeded", ok,
				    "failed", (int)json_array_size(results) - ok, "results", results));
}

/* h_quarantine_purge - remove now what is past its retention (admin) */
enum vr_err h_quarantine_purge(struct req *r)
{
	struct db *db;
	enum vr_err e;
	json_t *out;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = housekeeping_purge(db, r->app->conf->data_dir, vr_now(), &out)) != VR_OK)
		return req_fail(r, e, NULL, "the purge failed");
	audit_note(r, db, r->who.username, "quarantine.purge", NULL, true, NULL);
	return reply_json(r, 200, out);
}

struct integrity_in {
	bool repair;
};

static const struct jspec integrity_spec[] = {
	{"repair", JSPEC_BOOL, false, 0, 0, NULL, offsetof(struct integrity_in, repair)},
};

/* h_quarantine_integrity - spool files without rows and rows without files (admin) */
enum vr_err h_quarantine_integrity(struct req *r)
{
	struct integrity_in in = {false};
	struct db *db;
	enum vr_err e;
	json_t *out;

	if (r->body.len > 0 && (e = req_body(r, integrity_spec, 1, &in, NULL)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = housekeeping_check(db, r->app->conf->data_dir, in.repair, vr_now(), &out);
	if (e != VR_OK)
		return req_fail(r, e, NULL, "the check failed");
	if (in.repair)
		audit_note(r, db, r->who.username, "quarantine.repair", NULL, true, NULL);
	return reply_json(r, 200, out);
}
