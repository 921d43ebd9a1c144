/* routes_users.c - GET /api/v1/users, GET/PATCH /api/v1/users/{id}.
 *
 * Users appear at their first login (local accounts at creation). Helpdesk and auditors
 * read them; only admins change the role override, which wins over what the directory's
 * groups say until it is cleared with "none".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"
#include "vrtime.h"

/* json_user_admin - the User object plus where it comes from */
static json_t *json_user_admin(struct db *db, const struct db_user *u)
{
	char *dir = NULL, *dn = NULL, *drole = NULL, *over = NULL;
	json_t *j = json_user(db, u);

	if (db_users_extra(db, u->id, &dir, &dn, &drole, &over) == VR_OK) {
		json_object_set_new(j, "directory", dir ? json_string(dir) : json_null());
		json_object_set_new(j, "dn", dn ? json_string(dn) : json_null());
		json_object_set_new(j, "directory_role", drole ? json_string(drole) : json_null());
		json_object_set_new(j, "role_override", over ? json_string(over) : json_null());
	}
	json_object_set_new(j, "disabled", json_boolean(u->disabled));
	free(dir);
	free(dn);
	free(drole);
	free(over);
	return j;
}

struct list_ctx {
	struct db *db;
	json_t *items;
	char last[260];
};

/* add_user - db_users_list callback */
static int add_user(const struct db_user *u, void *arg)
{
	struct list_ctx *c = arg;

	json_array_append_new(c->items, json_user_admin(c->db, u));
	snprintf(c->last, sizeof(c->last), "%s", u->username);
	return 0;
}

/* h_users_list - users by name, optionally matching q (name, display name, address) */
enum vr_err h_users_list(struct req *r)
{
	struct db_user_list_filter f = {req_query(r, "q"), req_query(r, "cursor"), 100};
	const char *limit = req_query(r, "limit");
	struct list_ctx c = {0};
	bool more = false;
	enum vr_err e;

	if (limit) {
		char *end;
		long v = strtol(limit, &end, 10);

		if (*limit == '\0' || *end != '\0' || v < 1 || v > 500)
			return req_fail(r, VR_E_BAD_PARAMETER, "limit",
					"must be an integer from 1 to 500");
		f.limit = (int)v;
	}
	if (f.q && (strlen(f.q) > 256 || *f.q == '\0'))
		return req_fail(r, VR_E_BAD_PARAMETER, "q", "must be 1 to 256 characters");
	if (f.after && (strlen(f.after) > 256 || *f.after == '\0'))
		return req_fail(r, VR_E_BAD_PARAMETER, "cursor",
				"must be a next_cursor value from a previous page");
	if ((c.db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	c.items = json_array();
	if ((e = db_users_list(c.db, &f, add_user, &c, &more)) != VR_OK) {
		json_decref(c.items);
		return req_fail(r, e, NULL, "cannot list users");
	}
	return reply_json(r, 200, json_pack("{s:o, s:o}", "items", c.items, "next_cursor",
					    more ? json_string(c.last) : json_null()));
}

/* h_users_get - one user */
enum vr_err h_users_get(struct req *r)
{
	struct db_user u;
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_users_by_id(db, r->params[0], &u)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such user" : "cannot read");
	j = json_user_admin(db, &u);
	db_user_clear(&u);
	return reply_json(r, 200, j);
}

struct user_in {
	const char *role_override;
};

static const char *const overrides[] = {"admin", "helpdesk", "auditor", "user", "none", NULL};
static const struct jspec user_spec[] = {
	{"role_override", JSPEC_ENUM, true, 0, 0, overrides, offsetof(struct user_in, role_override)},
};

struct override_tx {
	struct req *r;
	const char *id, *username, *before, *after;
	enum role role;
};

/* override_commit - set the override and audit it together */
static enum vr_err override_commit(struct db *db, void *arg)
{
	struct override_tx *t = arg;
	char detail[200];
	enum vr_err e = db_users_set_override(db, t->id, t->role);

	snprintf(detail, sizeof(detail), "role_override %s -> %s", t->before, t->after);
	if (e == VR_OK)
		e = db_audit_add(db, t->r->who.username, "user.update", t->username, true,
				 t->r->client_ip, detail, vr_now());
	return e;
}

/* h_users_patch - set or clear a user's role override */
enum vr_err h_users_patch(struct req *r)
{
	struct user_in in = {0};
	struct db_user u;
	struct db *db;
	enum vr_err e;
	char *dir, *dn, *drole, *over;
	json_t *j;

	if ((e = req_body(r, user_spec, 1, &in, NULL)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_users_by_id(db, r->params[0], &u)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such user" : "cannot read");
	if (strcmp(u.source, "local") == 0) {
		db_user_clear(&u);
		return req_fail(r, VR_E_CONFLICT, "role_override",
				"local accounts keep the role they were created with");
	}
	if (db_users_extra(db, u.id, &dir, &dn, &drole, &over) != VR_OK)
		dir = dn = drole = over = NULL;
	{
		struct override_tx t = {r, u.id, u.username, over ? over : "none", in.role_override,
					role_parse(in.role_override)};

		e = db_tx(db, override_commit, &t);
	}
	free(dir);
	free(dn);
	free(drole);
	free(over);
	if (e == VR_OK) {
		db_user_clear(&u);
		e = db_users_by_id(db, r->params[0], &u);
	}
	if (e != VR_OK) {
		db_user_clear(&u);
		return req_fail(r, e, NULL, "cannot update the user");
	}
	j = json_user_admin(db, &u);
	db_user_clear(&u);
	return reply_json(r, 200, j);
}
