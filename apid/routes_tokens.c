/* routes_tokens.c - POST/GET /api/v1/tokens, DELETE /api/v1/tokens/{id}.
 *
 * API tokens are for scripts and ticketing tools: the secret is shown once, in the
 * creation reply, and only its hash is kept. A token's role is the creator's or one the
 * creator's role covers (role_covers); everyone manages their own tokens, admins all.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "routes.h"
#include "vrtime.h"

#define MAX_TOKEN_LIFE (5 * 366 * 86400LL)

struct token_in {
	const char *name;
	const char *role;
	int64_t expires_at;
};

static const struct jspec token_spec[] = {
	{"name", JSPEC_STRING, true, 1, 100, NULL, offsetof(struct token_in, name)},
	{"role", JSPEC_ENUM, false, 0, 0, role_names, offsetof(struct token_in, role)},
	{"expires_at", JSPEC_TIME, false, 0, 0, NULL, offsetof(struct token_in, expires_at)},
};

/* json_token - the API's Token object */
static json_t *json_token(const struct db_token *t)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", t->id, "name", t->name,
			 "role", role_name(t->role), "owner", t->owner ? t->owner : "",
			 "created_at", json_time(t->created_at), "expires_at",
			 json_time(t->expires_at), "last_used_at", json_time(t->last_used_at));
}

struct create_tx {
	struct req *r;
	const struct db_token *t;
	const unsigned char *hash;
};

/* create_commit - store the token and its audit event together */
static enum vr_err create_commit(struct db *db, void *arg)
{
	struct create_tx *c = arg;
	char detail[200];
	enum vr_err e = db_tokens_add(db, c->t, c->hash);

	snprintf(detail, sizeof(detail), "name=%s role=%s", c->t->name, role_name(c->t->role));
	if (e == VR_OK)
		e = db_audit_add(db, c->r->who.username, "token.create", c->t->id, true,
				 c->r->client_ip, detail, c->t->created_at);
	return e;
}

/* h_tokens_create - issue a new API token */
enum vr_err h_tokens_create(struct req *r)
{
	struct token_in in = {0};
	struct db_token t = {0};
	unsigned char hash[DB_TOKEN_HASH_LEN];
	char secret[AUTH_TOKEN_LEN + 1];
	int64_t now = vr_now();
	struct db *db;
	enum vr_err e;
	uint32_t seen;
	json_t *j;

	e = req_body(r, token_spec, 3, &in, &seen);
	if (e != VR_OK)
		return e;
	t.role = in.role ? role_parse(in.role) : r->who.role;
	if (!role_covers(r->who.role, t.role))
		return req_fail(r, VR_E_FORBIDDEN, "role", "a %s may not create a %s token",
				role_name(r->who.role), role_name(t.role));
	if ((seen & 4) && in.expires_at <= now)
		return req_fail(r, VR_E_INVALID_FIELD, "expires_at", "must be in the future");
	if ((seen & 4) && in.expires_at > now + MAX_TOKEN_LIFE)
		return req_fail(r, VR_E_INVALID_FIELD, "expires_at",
				"must be at most 5 years ahead");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	vr_random_id(t.id);
	snprintf(t.user_id, sizeof(t.user_id), "%s", r->who.user_id);
	t.name = (char *)in.name;
	t.owner = r->who.username;
	t.created_at = now;
	t.expires_at = (seen & 4) ? in.expires_at : 0;
	auth_token_new(secret, hash);
	{
		struct create_tx c = {r, &t, hash};

		e = db_tx(db, create_commit, &c);
	}
	if (e != VR_OK) {
		sodium_memzero(secret, sizeof(secret));
		return req_fail(r, e, NULL, "cannot store the token");
	}
	j = json_token(&t);
	json_object_set_new(j, "token", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	snprintf(r->location, sizeof(r->location), "/api/v1/tokens/%s", t.id);
	return reply_json(r, 201, j);
}

/* add_token - db_tokens_list callback: append one token */
static int add_token(const struct db_token *t, void *arg)
{
	json_array_append_new(arg, json_token(t));
	return 0;
}

/* h_tokens_list - the caller's live tokens (an admin's: everybody's, or owner's) */
enum vr_err h_tokens_list(struct req *r)
{
	const char *owner = req_query(r, "owner");
	json_t *items;
	struct db *db;
	enum vr_err e;

	if (owner && r->who.role != ROLE_ADMIN)
		return req_fail(r, VR_E_FORBIDDEN, "owner", "only admins list others' tokens");
	if (owner && (*owner == '\0' || strlen(owner) > 256))
		return req_fail(r, VR_E_BAD_PARAMETER, "owner", "must be a user name");
	if (r->who.role != ROLE_ADMIN)
		owner = r->who.username;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	items = json_array();
	e = db_tokens_list(db, owner, vr_now(), add_token, items);
	if (e != VR_OK) {
		json_decref(items);
		return req_fail(r, e, NULL, "cannot list tokens");
	}
	return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

struct revoke_tx {
	struct req *r;
	const char *id;
	const char *owner_id; /* NULL for admins */
};

/* revoke_commit - revoke and audit together */
static enum vr_err revoke_commit(struct db *db, void *arg)
{
	struct revoke_tx *v = arg;
	int64_t now = vr_now();
	enum vr_err e = db_tokens_revoke(db, v->id, v->owner_id, now);

	if (e == VR_OK)
		e = db_audit_add(db, v->r->who.username, "token.revoke", v->id, true,
				 v->r->client_ip, NULL, now);
	return e;
}

/* h_tokens_delete - revoke a token (one's own; an admin's: any) */
enum vr_err h_tokens_delete(struct req *r)
{
	struct revoke_tx v = {r, r->params[0],
			      r->who.role == ROLE_ADMIN ? NULL : r->who.user_id};
	struct db *db;
	enum vr_err e;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = db_tx(db, revoke_commit, &v);
	if (e == VR_E_NOT_FOUND)
		return req_fail(r, e, NULL, "no such token");
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot revoke the token");
	return reply_json(r, 204, NULL);
}
