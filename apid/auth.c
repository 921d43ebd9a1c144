/* auth.c - passwords, session JWTs and API tokens (see auth.h).
 *
 * Owns the dummy hash used to equalise the time of failed logins for unknown users
 * (computed once, under a pthread_once).
 */
#include <errno.h>
#include <jwt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "log.h"
#include "vrtime.h"

#define JWT_MAX_LEN 4096

static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* make_dummy - the hash unknown users are checked against */
static void make_dummy(void)
{
	if (auth_password_hash("vrgate-no-such-user", dummy_hash) < 0)
		VR_DIE("cannot compute the dummy password hash");
}

/* auth_password_hash - argon2id string of pw */
int auth_password_hash(const char *pw, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* auth_password_check - does pw match hash (constant work when hash is NULL)? */
bool auth_password_check(const char *hash, const char *pw)
{
	if (hash == NULL || strncmp(hash, "$argon2id$", 10) != 0) {
		pthread_once(&dummy_once, make_dummy);
		if (crypto_pwhash_str_verify(dummy_hash, pw, strlen(pw)) == 0)
			VR_LOG_DEBUG("the dummy password was given");
		return false;
	}
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

/* auth_token_hash - SHA-256 of the secret: tokens carry 256 random bits, so a fast hash
 * suffices and lets the lookup be an index probe */
void auth_token_hash(const char *secret, unsigned char hash[DB_TOKEN_HASH_LEN])
{
	crypto_hash_sha256(hash, (const unsigned char *)secret, strlen(secret));
}

/* auth_token_new - a fresh API token secret and its hash */
void auth_token_new(char *secret, unsigned char hash[DB_TOKEN_HASH_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	memcpy(secret, AUTH_TOKEN_PREFIX, 4);
	vr_b64url_encode(raw, sizeof(raw), secret + 4, AUTH_TOKEN_LEN + 1 - 4);
	sodium_memzero(raw, sizeof(raw));
	auth_token_hash(secret, hash);
}

/* header_is_hs256 - is the JWT's header exactly {"alg":"HS256"} with optional typ JWT? */
static bool header_is_hs256(const char *token)
{
	const char *dot = strchr(token, '.');
	unsigned char raw[256];
	size_t rawlen;
	json_t *h, *v;
	const char *key;
	bool ok = true;

	if (dot == NULL || dot == token ||
	    sodium_base642bin(raw, sizeof(raw) - 1, token, (size_t)(dot - token), NULL, &rawlen,
			      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	h = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(h)) {
		json_decref(h);
		return false;
	}
	json_object_foreach(h, key, v)
	{
		if (strcmp(key, "alg") == 0)
			ok = ok && json_is_string(v) && strcmp(json_string_value(v), "HS256") == 0;
		else if (strcmp(key, "typ") == 0)
			ok = ok && json_is_string(v) && strcmp(json_string_value(v), "JWT") == 0;
		else
			ok = false; /* no kid, jku, crit, ...: nothing may steer verification */
	}
	ok = ok && json_object_get(h, "alg") != NULL;
	json_decref(h);
	return ok;
}

/* copy_grant - copy a string claim of at most sz-1 bytes; false when absent or longer */
static bool copy_grant(jwt_t *jwt, const char *name, char *out, size_t sz)
{
	const char *v = jwt_get_grant(jwt, name);

	if (v == NULL || strlen(v) >= sz || *v == '\0')
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

/* auth_jwt_verify - form, pinned algorithm, signature, then claims */
enum vr_err auth_jwt_verify(const unsigned char *key, size_t keylen, const char *issuer,
			    const char *audience, const char *token, int64_t now, char *jti,
			    char *sub, int64_t *exp)
{
	jwt_t *jwt = NULL;
	const char *iss, *aud;
	enum vr_err e = VR_E_UNAUTHORIZED;
	long v;

	if (strlen(token) > JWT_MAX_LEN || !header_is_hs256(token))
		return VR_E_UNAUTHORIZED;
	if (jwt_decode(&jwt, token, key, (int)keylen) != 0 || jwt == NULL)
		return VR_E_UNAUTHORIZED;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;
	iss = jwt_get_grant(jwt, "iss");
	aud = jwt_get_grant(jwt, "aud");
	if (!iss || !aud || strcmp(iss, issuer) != 0 || strcmp(aud, audience) != 0)
		goto out;
	if (!copy_grant(jwt, "jti", jti, VR_ID_LEN * 2) || !copy_grant(jwt, "sub", sub, VR_ID_LEN))
		goto out;
	errno = 0;
	v = jwt_get_grant_int(jwt, "exp");
	if (errno != 0 || v <= 0)
		goto out;
	*exp = v;
	e = v <= now ? VR_E_TOKEN_EXPIRED : VR_OK;
out:
	jwt_free(jwt);
	return e;
}

/* auth_jwt_issue - a signed session JWT */
char *auth_jwt_issue(const unsigned char *key, size_t keylen, const char *issuer,
		     const char *audience, const char *sub, const char *role, const char *jti,
		     int64_t now, int64_t exp)
{
	jwt_t *jwt = NULL;
	char *out = NULL;

	if (jwt_new(&jwt) != 0)
		VR_DIE("out of memory");
	if (jwt_add_grant(jwt, "iss", issuer) || jwt_add_grant(jwt, "aud", audience) ||
	    jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "role", role) ||
	    jwt_add_grant(jwt, "jti", jti) || jwt_add_grant_int(jwt, "iat", (long)now) ||
	    jwt_add_grant_int(jwt, "exp", (long)exp) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen))
		VR_DIE("cannot build a JWT");
	out = jwt_encode_str(jwt);
	VR_CHECK_ALLOC(out);
	jwt_free(jwt);
	return out;
}

/* bearer - the credential of "Authorization: Bearer X", or NULL */
static const char *bearer(struct req *r)
{
	const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

/* auth_api_token - authenticate an API token */
static enum vr_err auth_api_token(struct req *r, struct db *db, const char *secret)
{
	unsigned char hash[DB_TOKEN_HASH_LEN];
	struct db_token t;
	int64_t now = vr_now();
	enum vr_err e;

	if (strlen(secret) != AUTH_TOKEN_LEN)
		return req_fail(r, VR_E_UNAUTHORIZED, NULL, "invalid credentials");
	auth_token_hash(secret, hash);
	e = db_tokens_by_hash(db, hash, &t);
	if (e == VR_E_NOT_FOUND)
		return req_fail(r, VR_E_UNAUTHORIZED, NULL, "invalid credentials");
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot check the token");
	if (t.revoked_at)
		e = req_fail(r, VR_E_TOKEN_REVOKED, NULL, "this token was revoked");
	else if (t.expires_at && t.expires_at <= now)
		e = req_fail(r, VR_E_TOKEN_EXPIRED, NULL, "this token has expired");
	else if (t.owner_disabled || !role_covers(t.owner_role, t.role))
		e = req_fail(r, VR_E_UNAUTHORIZED, NULL, "invalid credentials");
	if (e == VR_OK) {
		r->who.method = AUTH_TOKEN;
		r->who.role = t.role;
		r->who.expires_at = t.expires_at;
		snprintf(r->who.user_id, sizeof(r->who.user_id), "%s", t.user_id);
		snprintf(r->who.username, sizeof(r->who.username), "%s", t.owner);
		snprintf(r->who.cred_id, sizeof(r->who.cred_id), "%s", t.id);
		/* last use is kept to the minute: a write per request would cost throughput */
		if (now - t.last_used_at >= 60)
			db_tokens_touch(db, t.id, now);
	}
	db_token_clear(&t);
	return e;
}

/* auth_session - authenticate a session JWT and check it was not revoked */
static enum vr_err auth_session(struct req *r, struct db *db, const char *token)
{
	const struct apid_conf *cf = r->app->conf;
	char jti[VR_ID_LEN * 2], sub[VR_ID_LEN];
	struct db_session s = {0};
	int64_t exp;
	enum vr_err e;

	e = auth_jwt_verify(r->app->jwt_key, APID_KEY_LEN, cf->issuer, cf->audience, token,
			    vr_now(), jti, sub, &exp);
	if (e == VR_E_TOKEN_EXPIRED)
		return req_fail(r, e, NULL, "the session has expired: log in again");
	if (e != VR_OK)
		return req_fail(r, e, NULL, "invalid credentials");
	e = db_sessions_get(db, jti, &s);
	if (e == VR_E_NOT_FOUND)
		return req_fail(r, VR_E_UNAUTHORIZED, NULL, "invalid credentials");
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot check the session");
	if (s.revoked)
		e = req_fail(r, VR_E_TOKEN_REVOKED, NULL, "this session was logged out");
	else if (s.user.disabled || strcmp(s.user.id, sub) != 0)
		e = req_fail(r, VR_E_UNAUTHORIZED, NULL, "invalid credentials");
	if (e == VR_OK) {
		r->who.method = AUTH_SESSION;
		r->who.role = s.user.role; /* the role now, not the one at login */
		r->who.expires_at = exp;
		snprintf(r->who.user_id, sizeof(r->who.user_id), "%s", s.user.id);
		snprintf(r->who.username, sizeof(r->who.username), "%s", s.user.username);
		snprintf(r->who.cred_id, sizeof(r->who.cred_id), "%s", jti);
	}
	db_user_clear(&s.user);
	return e;
}

/* auth_request - authenticate the request into r->who */
enum vr_err auth_request(struct req *r)
{
	const char *cred = bearer(r);
	struct db *db;

	if (cred == NULL)
		return req_fail(r, VR_E_UNAUTHORIZED, NULL,
				"send 'Authorization: Bearer <token>' (log in at "
				"POST /api/v1/auth/login)");
	db = db_get();
	if (db == NULL)
		return req_fail(r, VR_E_UNAVAILABLE, NULL, "the database is unavailable");
	if (strncmp(cred, AUTH_TOKEN_PREFIX, 4) == 0)
		return auth_api_token(r, db, cred);
	return auth_session(r, db, cred);
}
