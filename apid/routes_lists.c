/* routes_lists.c - what the filter decides with: GET/POST /api/v1/lists,
 * DELETE /api/v1/lists/{id}, GET/PUT /api/v1/me/preferences, GET/PATCH /api/v1/filter,
 * GET/PATCH /api/v1/domains/{id}/filter.
 *
 * Every change goes through config_change() so that it reaches the agents with the next
 * configuration version (within seconds) and is audited. Personal list entries apply to
 * every address of their owner; global ones (admin) to everybody. Patterns are
 * "user@domain", "*@domain" or "domain" (with its subdomains), stored lower-case.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "log.h"
#include "netaddr.h"
#include "routes.h"
#include "snapshot.h"
#include "vrtime.h"

#define MAX_PERSONAL_ENTRIES 500

/* norm_pattern - lower-case and check a list pattern into out; NULL or the reason */
const char *list_pattern_check(const char *in, char *out, size_t outsz);
const char *list_pattern_check(const char *in, char *out, size_t outsz)
{
	const char *at, *why;
	size_t n = strlen(in);

	if (n == 0 || n >= outsz || n > 320)
		return "must be 1 to 320 characters";
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	at = strrchr(out, '@');
	if (at == NULL) {
		why = vr_check_domain(out);
		return why ? why : NULL;
	}
	if ((why = vr_check_domain(at + 1)))
		return why;
	if (at == out)
		return "needs a local part before '@' (or '*@domain')";
	if (at - out == 1 && out[0] == '*')
		return NULL;
	for (const char *p = out; p < at; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '(' || *p == ')' ||
		    *p == ',' || *p == ';' || *p == ':' || *p == '\\' || *p == '"' || *p == '[' ||
		    *p == ']' || *p == '*' || (unsigned char)*p >= 0x7f)
			return "is not an address, *@domain or domain";
	if (at - out > 64)
		return "has a local part longer than 64 characters";
	return NULL;
}

/* json_entry - the API's ListEntry object */
static json_t *json_entry(const struct db_list_entry *e)
{
	return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:s?, s:o}", "id", e->id, "kind",
			 e->kind, "scope", e->owner_id[0] ? "personal" : "global", "owner",
			 e->owner, "pattern", e->pattern, "comment", e->comment, "created_by",
			 e->created_by, "created_at", json_time(e->created_at));
}

/* add_entry - db_lists_list callback */
static int add_entry(const struct db_list_entry *e, void *arg)
{
	json_array_append_new(arg, json_entry(e));
	return 0;
}

/* h_lists_list - the caller's entries and the global ones (staff: any user's with owner) */
enum vr_err h_lists_list(struct req *r)
{
	const char *scope = req_query(r, "scope"), *kind = req_query(r, "kind");
	const char *owner = req_query(r, "owner");
	bool staff = r->who.role == ROLE_ADMIN || r->who.role == ROLE_HELPDESK ||
		     r->who.role == ROLE_AUDITOR;
	struct db_list_filter f = {NULL, kind};
	json_t *items;
	struct db *db;
	enum vr_err e;

	if (kind && strcmp(kind, "allow") && strcmp(kind, "block"))
		return req_fail(r, VR_E_BAD_PARAMETER, "kind", "must be allow or block");
	if (scope && strcmp(scope, "global") && strcmp(scope, "personal") && strcmp(scope, "all"))
		return req_fail(r, VR_E_BAD_PARAMETER, "scope", "must be global, personal or all");
	if (owner && !staff)
		return req_fail(r, VR_E_FORBIDDEN, "owner", "only staff see others' lists");
	if (scope && !strcmp(scope, "all") && !staff)
		return req_fail(r, VR_E_FORBIDDEN, "scope", "only staff see every list");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	items = json_array();
	if (scope && !strcmp(scope, "all")) {
		e = db_lists_list(db, &f, add_entry, items);
	} else {
		e = VR_OK;
		if (!scope || !strcmp(scope, "global")) {
			f.owner_id = "";
			e = db_lists_list(db, &f, add_entry, items);
		}
		if (e == VR_OK && (!scope || !strcmp(scope, "personal"))) {
			struct db_user u;

			f.owner_id = r->who.user_id;
			if (owner) {
				if ((e = db_users_by_name(db, owner, &u)) == VR_E_NOT_FOUND) {
					json_decref(items);
					return req_fail(r, VR_E_NOT_FOUND, "owner", "no such user");
				}
				f.owner_id = e == VR_OK ? u.id : "";
				if (e == VR_OK)
					e = db_lists_list(db, &f, add_entry, items);
				db_user_clear(&u);
			} else {
				e = db_lists_list(db, &f, add_entry, items);
			}
		}
	}
	if (e != VR_OK) {
		json_decref(items);
		return req_fail(r, e, NULL, "cannot read the lists");
	}
	return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

struct list_in {
	const char *kind, *pattern, *scope, *comment, *owner;
};

static const char *const list_kinds[] = {"allow", "block", NULL};
static const char *const list_scopes[] = {"personal", "global", NULL};
#define L(f) offsetof(struct list_in, f)
static const struct jspec list_spec[] = {
	{"kind", JSPEC_ENUM, true, 0, 0, list_kinds, L(kind)},
	{"pattern", JSPEC_STRING, true, 1, 320, NULL, L(pattern)},
	{"scope", JSPEC_ENUM, false, 0, 0, list_scopes, L(scope)},
	{"comment", JSPEC_STRING, false, 0, 200, NULL, L(comment)},
	{"owner", JSPEC_STRING, false, 1, 256, NULL, L(owner)},
};

struct list_add {
	const char *id, *kind, *owner_id, *pattern, *comment, *by;
	int64_t now;
};

/* apply_list_add - config_change callback: enforce the limit, insert */
static enum vr_err apply_list_add(struct db *db, void *arg)
{
	struct list_add *a = arg;
	int64_t n = 0;
	enum vr_err e;

	if (a->owner_id[0]) {
		if ((e = db_lists_count(db, a->owner_id, &n)) != VR_OK)
			return e;
		if (n >= MAX_PERSONAL_ENTRIES)
			return VR_E_RATE_LIMITED; /* mapped to a clear 409 by the handler */
	}
	return db_lists_add(db, a->id, a->kind, a->owner_id, a->pattern, a->comment, a->by,
			    a->now);
}

/* h_lists_create - add an allow or block entry */
enum vr_err h_lists_create(struct req *r)
{
	struct list_in in = {0};
	struct list_add a = {0};
	char pattern[330], id[VR_ID_LEN];
	const char *why;
	bool global;
	struct db *db;
	struct db_user owner = {0};
	enum vr_err e;
	json_t *after;

	if ((e = req_body(r, list_spec, 5, &in, NULL)) != VR_OK)
		return e;
	if ((why = list_pattern_check(in.pattern, pattern, sizeof(pattern))))
		return req_fail(r, VR_E_INVALID_FIELD, "pattern", "%s", why);
	global = in.scope && !strcmp(in.scope, "global");
	if (global && r->who.role != ROLE_ADMIN)
		return req_fail(r, VR_E_FORBIDDEN, "scope", "only admins change the global lists");
	if (in.owner && global)
		return req_fail(r, VR_E_INVALID_FIELD, "owner", "global entries have no owner");
	if (in.owner && r->who.role != ROLE_ADMIN && r->who.role != ROLE_HELPDESK)
		return req_fail(r, VR_E_FORBIDDEN, "owner",
				"only admins and helpdesk change others' lists");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if (in.owner) {
		if ((e = db_users_by_name(db, in.owner, &owner)) != VR_OK)
			return req_fail(r, e == VR_E_NOT_FOUND ? VR_E_INVALID_FIELD : e, "owner",
					"no such user");
	}
	vr_random_id(id);
	a = (struct list_add){id, in.kind, global ? "" : in.owner ? owner.id : r->who.user_id,
			      pattern, in.comment, r->who.username, vr_now()};
	after = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "id", id, "kind", in.kind, "scope",
			  global ? "global" : "personal", "pattern", pattern, "owner",
			  global ? NULL : in.owner ? owner.username : r->who.username);
	{
		struct config_change c = {r, apply_list_add, &a, "list.create", pattern, NULL,
					  after, 0};

		e = config_change(db, &c);
	}
	json_decref(after);
	if (e == VR_OK) {
		struct db_list_entry ent = {id, in.kind, a.owner_id,
					    global ? NULL : in.owner ? owner.username : r->who.username,
					    pattern, in.comment, r->who.username, a.now};

		snprintf(r->location, sizeof(r->location), "/api/v1/lists/%s", id);
		db_user_clear(&owner);
		return reply_json(r, 201, json_entry(&ent));
	}
	db_user_clear(&owner);
	if (e == VR_E_CONFLICT)
		return req_fail(r, e, "pattern", "%s is on this %s list already", pattern, in.kind);
	if (e == VR_E_RATE_LIMITED)
		return req_fail(r, VR_E_CONFLICT, "pattern",
				"a user may keep at most %d list entries: remove some first",
				MAX_PERSONAL_ENTRIES);
	return req_fail(r, e, NULL, "cannot store the entry");
}

/* apply_list_delete - config_change callback */
static enum vr_err apply_list_delete(struct db *db, void *arg)
{
	return db_lists_delete(db, arg);
}

/* h_lists_delete - remove an entry (one's own; staff: users'; admin: global too) */
enum vr_err h_lists_delete(struct req *r)
{
	char *owner = NULL, *kind = NULL, *pattern = NULL;
	struct db *db;
	enum vr_err e;
	bool allowed;
	json_t *before;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = db_lists_get(db, r->params[0], &owner, &kind, &pattern);
	if (e != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such entry" : "cannot read");
	allowed = owner[0] == '\0' ? r->who.role == ROLE_ADMIN
				   : !strcmp(owner, r->who.user_id) || r->who.role == ROLE_ADMIN ||
					     r->who.role == ROLE_HELPDESK;
	if (!allowed) {
		/* somebody else's entry does not exist as far as this caller knows */
		e = owner[0] ? req_fail(r, VR_E_NOT_FOUND, NULL, "no such entry")
			     : req_fail(r, VR_E_FORBIDDEN, NULL, "only admins change the global lists");
	} else {
		struct config_change c = {r, apply_list_delete, r->params[0], "list.delete",
					  pattern, NULL, NULL, 0};

		before = json_pack("{s:s, s:s, s:s}", "id", r->params[0], "kind", kind, "pattern",
				   pattern);
		c.before = before;
		e = config_change(db, &c);
		json_decref(before);
		if (e != VR_OK)
			req_fail(r, e, NULL, "cannot remove the entry");
	}
	free(owner);
	free(kind);
	free(pattern);
	return e != VR_OK ? e : reply_json(r, 204, NULL);
}

/* ---- preferences ------------------------------------------------------------------ */

struct prefs_in {
	const char *newsletter, *digest, *language;
};

static const char *const choices[] = {"default", "deliver", "tag", "quarantine", NULL};
static const char *const digests[] = {"off", "daily", "weekly", NULL};
static const char *const languages[] = {"fr", "en", NULL};
static const struct jspec prefs_spec[] = {
	{"newsletter", JSPEC_ENUM, true, 0, 0, choices, offsetof(struct prefs_in, newsletter)},
	{"digest", JSPEC_ENUM, false, 0, 0, digests, offsetof(struct prefs_in, digest)},
	{"language", JSPEC_ENUM, false, 0, 0, languages, offsetof(struct prefs_in, language)},
};

/* prefs_json - the caller's Preferences object */
static json_t *prefs_json(struct db *db, const char *user_id)
{
	struct db_digest_user u;
	char *strs[5] = {0}, *choice = NULL;
	json_t *j = NULL;

	if (db_users_get_newsletter(db, user_id, &choice) == VR_OK &&
	    db_digest_user(db, user_id, &u, strs) == VR_OK)
		j = json_pack("{s:s, s:s, s:s}", "newsletter", choice, "digest", u.digest,
			      "language", u.language);
	free(choice);
	for (int k = 0; k < 5; k++)
		free(strs[k]);
	return j;
}

/* h_prefs_get - the caller's preferences */
enum vr_err h_prefs_get(struct req *r)
{
	struct db *db;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((j = prefs_json(db, r->who.user_id)) == NULL)
		return req_fail(r, VR_E_INTERNAL, NULL, "cannot read the preferences");
	return reply_json(r, 200, j);
}

struct prefs_apply {
	const char *user_id, *choice, *digest, *language;
};

/* apply_prefs - config_change callback */
static enum vr_err apply_prefs(struct db *db, void *arg)
{
	struct prefs_apply *p = arg;
	enum vr_err e = db_users_set_newsletter(db, p->user_id, p->choice);

	return e == VR_OK ? db_users_set_digest(db, p->user_id, p->digest, p->language) : e;
}

/* h_prefs_put - replace the caller's preferences */
enum vr_err h_prefs_put(struct req *r)
{
	struct prefs_in in = {0};
	struct prefs_apply p;
	struct db *db;
	enum vr_err e;
	json_t *after;

	if ((e = req_body(r, prefs_spec, 3, &in, NULL)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	p = (struct prefs_apply){r->who.user_id, in.newsletter, in.digest, in.language};
	after = json_pack("{s:s, s:s?, s:s?}", "newsletter", in.newsletter, "digest", in.digest,
			  "language", in.language);
	{
		struct config_change c = {r, apply_prefs, &p, "preferences.update", r->who.username,
					  NULL, after, 0};

		e = config_change(db, &c);
	}
	json_decref(after);
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot store the preferences");
	return reply_json(r, 200, prefs_json(db, r->who.user_id));
}

/* ---- CSV export and import (admins) ---------------------------------------------- */

/* add_csv - db_lists_list callback: one CSV record */
static int add_csv(const struct db_list_entry *e, void *arg)
{
	csv_put(arg, e->kind, ',');
	csv_put(arg, e->owner_id[0] ? "personal" : "global", ',');
	csv_put(arg, e->owner, ',');
	csv_put(arg, e->pattern, ',');
	csv_put(arg, e->comment, '\r'); /* RFC 4180 records end with CRLF */
	vr_buf_append(arg, "\n", 1, SIZE_MAX / 2);
	return 0;
}

/* h_lists_export - every list entry as CSV: kind,scope,owner,pattern,comment */
enum vr_err h_lists_export(struct req *r)
{
	struct db_list_filter f = {NULL, NULL};
	struct vr_buf b = {0};
	struct db *db;
	enum vr_err e;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	vr_buf_append(&b, "kind,scope,owner,pattern,comment\r\n", 34, SIZE_MAX / 2);
	if ((e = db_lists_list(db, &f, add_csv, &b)) != VR_OK) {
		vr_buf_free(&b);
		return req_fail(r, e, NULL, "cannot read the lists");
	}
	e = reply_bytes(r, 200, "text/csv; charset=utf-8", b.data, b.len, true);
	vr_buf_free(&b);
	return e;
}

#define IMPORT_MAX 10000

struct import_row {
	char kind[8], owner_id[VR_ID_LEN], owner_name[260], pattern[330], comment[204];
};

struct import {
	struct import_row *rows;
	size_t n;
	const char *by;
	int created, duplicates;
	char over[260]; /* the owner who would pass the per-user limit */
};

/* apply_import - config_change callback: every row, duplicates skipped, and no owner
 * above the per-user limit afterwards */
static enum vr_err apply_import(struct db *db, void *arg)
{
	struct import *im = arg;

	im->created = im->duplicates = 0;
	im->over[0] = '\0';
	for (size_t i = 0; i < im->n; i++) {
		char id[VR_ID_LEN];
		enum vr_err e;

		vr_random_id(id);
		e = db_lists_add(db, id, im->rows[i].kind, im->rows[i].owner_id,
				 im->rows[i].pattern,
				 im->rows[i].comment[0] ? im->rows[i].comment : NULL, im->by,
				 vr_now());
		if (e == VR_E_CONFLICT)
			im->duplicates++;
		else if (e != VR_OK)
			return e;
		else
			im->created++;
	}
	for (size_t i = 0; i < im->n; i++) {
		int64_t n = 0;
		enum vr_err e;

		if (im->rows[i].owner_id[0] == '\0')
			continue;
		if ((e = db_lists_count(db, im->rows[i].owner_id, &n)) != VR_OK)
			return e;
		if (n > MAX_PERSONAL_ENTRIES) {
			snprintf(im->over, sizeof(im->over), "%s", im->rows[i].owner_name);
			return VR_E_RATE_LIMITED; /* the handler says which owner */
		}
	}
	return VR_OK;
}

/* unprotect - undo the export's spreadsheet protection: a ' before = + - @ */
static const char *unprotect(const char *f)
{
	return f[0] == '\'' && (f[1] == '=' || f[1] == '+' || f[1] == '-' || f[1] == '@') ? f + 1
												: f;
}

/* h_lists_import - add entries from CSV (the export's format); all or nothing */
enum vr_err h_lists_import(struct req *r)
{
	struct import im = {calloc(IMPORT_MAX, sizeof(struct import_row)), 0, r->who.username, 0, 0,
			    ""};
	const char *f[CSV_MAX_FIELDS];
	struct csv_reader cr;
	struct db *db;
	enum vr_err e = VR_OK;
	int nf;

	VR_CHECK_ALLOC(im.rows);
	if ((db = req_db(r)) == NULL) {
		free(im.rows);
		return VR_E_UNAVAILABLE;
	}
	/* spreadsheets write a UTF-8 byte order mark first */
	if (r->body.len >= 3 && memcmp(r->body.data, "\xef\xbb\xbf", 3) == 0)
		csv_reader_init(&cr, r->body.data + 3, r->body.len - 3);
	else
		csv_reader_init(&cr, r->body.data, r->body.len);
	nf = csv_next(&cr, f);
	if (nf < 4 || strcmp(f[0], "kind") || strcmp(f[1], "scope") || strcmp(f[2], "owner") ||
	    strcmp(f[3], "pattern") || (nf > 4 && strcmp(f[4], "comment")))
		e = req_fail(r, VR_E_INVALID_FIELD, "csv",
			     "line 1 must be the header kind,scope,owner,pattern,comment");
	while (e == VR_OK && (nf = csv_next(&cr, f)) != 0) {
		struct import_row *row = &im.rows[im.n];
		const char *why;
		struct db_user u;
		bool global;

		if (nf == 1 && f[0][0] == '\0')
			continue; /* a blank line */
		if (im.n == IMPORT_MAX) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv", "at most %d entries per import",
				     IMPORT_MAX);
			break;
		}
		if (nf < 4 || nf > 5) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv", "line %d: %s", cr.line,
				     nf < 0 ? "malformed CSV" : "expected 4 or 5 fields");
			break;
		}
		if (strcmp(f[0], "allow") && strcmp(f[0], "block")) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv",
				     "line %d: kind must be allow or block", cr.line);
			break;
		}
		global = strcmp(f[1], "global") == 0;
		if (!global && strcmp(f[1], "personal")) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv",
				     "line %d: scope must be global or personal", cr.line);
			break;
		}
		f[3] = unprotect(f[3]);
		if (nf == 5)
			f[4] = unprotect(f[4]);
		if ((why = list_pattern_check(f[3], row->pattern, sizeof(row->pattern)))) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv", "line %d: pattern %s", cr.line, why);
			break;
		}
		if (nf == 5 && strlen(f[4]) > 200) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv", "line %d: comment too long",
				     cr.line);
			break;
		}
		if (global != (f[2][0] == '\0')) {
			e = req_fail(r, VR_E_INVALID_FIELD, "csv",
				     "line %d: personal entries need an owner, global ones none",
				     cr.line);
			break;
		}
		if (!global) {
			if (db_users_by_name(db, f[2], &u) != VR_OK) {
				e = req_fail(r, VR_E_INVALID_FIELD, "csv", "line %d: no user %.100s",
					     cr.line, f[2]);
				break;
			}
			snprintf(row->owner_id, sizeof(row->owner_id), "%s", u.id);
			snprintf(row->owner_name, sizeof(row->owner_name), "%s", u.username);
			db_user_clear(&u);
		}
		snprintf(row->kind, sizeof(row->kind), "%s", f[0]);
		snprintf(row->comment, sizeof(row->comment), "%s", nf == 5 ? f[4] : "");
		im.n++;
	}
	if (e == VR_OK && nf < 0)
		e = req_fail(r, VR_E_INVALID_FIELD, "csv", "line %d: malformed CSV", cr.line);
	csv_reader_free(&cr);
	if (e == VR_OK) {
		struct config_change c = {r, apply_import, &im, "list.import", "lists", NULL, NULL, 0};

		if ((e = config_change(db, &c)) == VR_E_RATE_LIMITED)
			e = req_fail(r, VR_E_CONFLICT, "csv",
				     "%s would have more than %d list entries: nothing was imported",
				     im.over, MAX_PERSONAL_ENTRIES);
		else if (e != VR_OK)
			req_fail(r, e, NULL, "cannot store the entries");
	}
	free(im.rows);
	if (e != VR_OK)
		return e;
	return reply_json(r, 200, json_pack("{s:i, s:i}", "created", im.created, "duplicates",
					    im.duplicates));
}
