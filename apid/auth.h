/* auth.h - credentials: passwords, session JWTs, API tokens.
 *
 * Session JWTs are HS256 with apid's key; the algorithm is pinned: a token whose header
 * says anything but {"alg":"HS256"(,"typ":"JWT")} is refused before libjwt sees it, and
 * libjwt's view of the algorithm is checked again after. iss, aud, exp, sub and jti are
 * required; every session is a row (db_sessions) so that logout can revoke it.
 * API tokens are "vrt_" + 43 base64url characters (256 random bits); only their SHA-256
 * is stored. Passwords are argon2id (libsodium's crypto_pwhash_str).
 */
#ifndef VR_AUTH_H
#define VR_AUTH_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "http.h"

#define AUTH_TOKEN_PREFIX "vrt_"
#define AUTH_TOKEN_LEN    (4 + 43)

/* auth_request - authenticate the request's Authorization header into r->who */
enum vr_err auth_request(struct req *r);
/* auth_jwt_verify - check a session JWT's form, signature and claims (not revocation);
 * on success fills jti (VR_ID_LEN*2), sub (VR_ID_LEN) and exp. Pure apart from the clock
 * given: unit-tested. */
enum vr_err auth_jwt_verify(const unsigned char *key, size_t keylen, const char *issuer,
			    const char *audience, const char *token, int64_t now, char *jti,
			    char *sub, int64_t *exp);
/* auth_jwt_issue - a signed session JWT (malloc'd, caller frees) for user with role */
char *auth_jwt_issue(const unsigned char *key, size_t keylen, const char *issuer,
		     const char *audience, const char *sub, const char *role, const char *jti,
		     int64_t now, int64_t exp);
/* auth_token_new - a fresh API token secret (AUTH_TOKEN_LEN+1 bytes) and its hash */
void auth_token_new(char *secret, unsigned char hash[DB_TOKEN_HASH_LEN]);
/* auth_token_hash - the stored hash of a presented secret */
void auth_token_hash(const char *secret, unsigned char hash[DB_TOKEN_HASH_LEN]);
/* auth_password_hash - argon2id string of pw into out; 0 or -1 (out of memory) */
int auth_password_hash(const char *pw, char out[crypto_pwhash_STRBYTES]);
/* auth_password_check - does pw match hash? With hash NULL, spends the same time and
 * answers false, so that unknown users cannot be told apart by timing. */
bool auth_password_check(const char *hash, const char *pw);

#endif
