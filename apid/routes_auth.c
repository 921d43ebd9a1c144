/* routes_auth.c - POST /api/v1/auth/login, POST /api/v1/auth/logout, GET /api/v1/me.
 *
 * Login never tells an unknown user from a wrong password (same status, body and,
 * thanks to auth_password_check, time), throttles failures per user name and per client
 * address (429 + Retry-After), and audits every attempt with its real reason. Local
 * accounts are checked here; every other name goes to the directory profiles
 * (login_dir.c); an unreachable directory is a 503, never a 401.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "login_dir.h"
#include "ratelimit.h"
#include "routes.h"
#include "vrtime.h"

struct login_in {
	const char *username;
	const char *password;
};

static const struct jspec login_spec[] = {
	{"username", JSPEC_STRING, true, 1, 256, NULL, offsetof(struct login_in, username)},
	{"password", JSPEC_STRING, true, 1, 1024, NULL, offsetof(struct login_in, password)},
};

/* throttle_keys - "u:<lower-case name>" and "ip:<address>" */
static void throttle_keys(struct req *r, const char *username, char *ukey, size_t usz,
			  char *ikey, size_t isz)
{
	size_t i = (size_t)snprintf(ukey, usz, "u:");

	for (; *username && i + 1 < usz; username++)
		ukey[i++] = (char)tolower((unsigned char)*username);
	ukey[i] = '\0';
	snprintf(ikey, isz, "ip:%s", r->client_ip);
}

struct login_tx {
	struct req *r;
	const struct db_user *u;
	const char *jti;
	int64_t now, exp;
	const char *via; /* "local account" or the directory's name */
};

/* login_commit - record the session, the login time and the audit event together */
static enum vr_err login_commit(struct db *db, void *arg)
{
	struct login_tx *t = arg;
	enum vr_err e;

	e = db_sessions_add(db, t->jti, t->u->id, t->now, t->exp, t->r->client_ip);
	if (e == VR_OK)
		e = db_users_touch_login(db, t->u->id, t->now);
	if (e == VR_OK)
		e = db_audit_add(db, t->u->username, "auth.login", t->u->username, true,
				 t->r->client_ip, t->via, t->now);
	/* sessions expired a day ago are no use to anybody */
	if (e == VR_OK)
		e = db_sessions_purge(db, t->now - 86400);
	return e;
}

/* h_login - exchange a user name and password for a session JWT */
enum vr_err h_login(struct req *r)
{
	const struct apid_conf *cf = r->app->conf;
	struct login_in in = {0};
	struct db_user u = {0};
	char ukey[300], ikey[64], jti[VR_ID_LEN], exp_s[VR_TIME_LEN], why[300], via[120];
	int64_t now = vr_now(), wait;
	struct db *db;
	enum vr_err e;
	bool found, ok;
	char *token;
	json_t *body;

	e = req_body(r, login_spec, 2, &in, NULL);
	if (e != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	throttle_keys(r, in.username, ukey, sizeof(ukey), ikey, sizeof(ikey));
	wait = ratelimit_wait(r->app->limiter, ukey, cf->login_user_limit, now);
	if (wait == 0)
		wait = ratelimit_wait(r->app->limiter, ikey, cf->login_ip_limit, now);
	if (wait > 0) {
		audit_note(r, db, in.username, "auth.login", in.username, false, "throttled");
		r->retry_after = wait;
		return req_fail(r, VR_E_RATE_LIMITED, NULL,
				"too many failed logins: try again in %lld seconds",
				(long long)wait);
	}
	e = db_users_by_name(db, in.username, &u);
	if (e != VR_OK && e != VR_E_NOT_FOUND)
		return req_fail(r, e, NULL, "cannot check the credentials");
	found = e == VR_OK;
	if (found && strcmp(u.source, "local") == 0) {
		/* local accounts (the break-glass admin) never depend on the directory */
		ok = !u.disabled && auth_password_check(u.password_hash, in.password);
		snprintf(why, sizeof(why), "%s", u.disabled ? "account disabled" : "wrong password");
		snprintf(via, sizeof(via), "local account");
	} else {
		db_user_clear(&u);
		e = login_directory(db, in.username, in.password, &u, why, sizeof(why), via,
				    sizeof(via));
		if (e == VR_E_NOT_FOUND) /* no directory: spend the time a local check would */
			auth_password_check(NULL, in.password);
		if (e == VR_E_UNAVAILABLE) {
			audit_note(r, db, in.username, "auth.login", in.username, false, why);
			return req_fail(r, e, NULL,
					"the directory cannot be reached: try again later");
		}
		ok = e == VR_OK && !u.disabled;
		if (e == VR_OK && u.disabled)
			snprintf(why, sizeof(why), "account disabled in vrgate");
	}
	if (!ok) {
		ratelimit_fail(r->app->limiter, ukey, now);
		ratelimit_fail(r->app->limiter, ikey, now);
		audit_note(r, db, in.username, "auth.login", in.username, false, why);
		db_user_clear(&u);
		return req_fail(r, VR_E_LOGIN_FAILED, NULL, "invalid user name or password");
	}
	ratelimit_reset(r->app->limiter, ukey);
	vr_random_id(jti);
	{
		struct login_tx t = {r, &u, jti, now, now + cf->session_ttl, via};

		e = db_tx(db, login_commit, &t);
		if (e != VR_OK) {
			db_user_clear(&u);
			return req_fail(r, e, NULL, "cannot open the session");
		}
		u.last_login_at = now;
		token = auth_jwt_issue(r->app->jwt_key, APID_KEY_LEN, cf->issuer, cf->audience,
				       u.id, role_name(u.role), jti, now, t.exp);
		vr_time_format(t.exp, exp_s);
	}
	body = json_pack("{s:s, s:s, s:s, s:o}", "token", token, "token_type", "Bearer",
			 "expires_at", exp_s, "user", json_user(db, &u));
	free(token);
	db_user_clear(&u);
	return reply_json(r, 200, body);
}

/* h_logout - revoke the session the request was made with */
enum vr_err h_logout(struct req *r)
{
	struct db *db;
	enum vr_err e;

	if (r->who.method != AUTH_SESSION)
		return req_fail(r, VR_E_BAD_PARAMETER, "Authorization",
				"API tokens are revoked with DELETE /api/v1/tokens/{id}");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = db_sessions_revoke(db, r->who.cred_id, vr_now());
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot end the session");
	audit_note(r, db, r->who.username, "auth.logout", r->who.username, true, NULL);
	return reply_json(r, 204, NULL);
}

/* h_me - who the caller is, and how they authenticated */
enum vr_err h_me(struct req *r)
{
	struct db_user u;
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	e = db_users_by_id(db, r->who.user_id, &u);
	if (e != VR_OK)
		return req_fail(r, e == VR_E_NOT_FOUND ? VR_E_UNAUTHORIZED : e, NULL,
				"cannot read the account");
	j = json_user(db, &u);
	/* the role in force is the credential's (a token may hold less than its owner) */
	json_object_set_new(j, "role", json_string(role_name(r->who.role)));
	json_object_set_new(
		j, "auth",
		json_pack("{s:s, s:o, s:o}", "method",
			  r->who.method == AUTH_SESSION ? "session" : "token", "expires_at",
			  json_time(r->who.expires_at), "token_id",
			  r->who.method == AUTH_TOKEN ? json_string(r->who.cred_id) : json_null()));
	db_user_clear(&u);
	return reply_json(r, 200, j);
}
