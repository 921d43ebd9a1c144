/* digest.h - quarantine digests: the mail users get, and its one-click links.
 *
 * A link token is base64url(JSON payload) "." base64url(HMAC-SHA256(key, payload part)):
 * the payload binds quarantine id, recipient, action, expiry and a random nonce; the key
 * is DATA-DIR/digest.key (0600). digest_token_make/check are pure (unit-tested); a link is
 * used once (its nonce is claimed in the database when it acts). Opening a link (GET) only
 * shows a confirmation page, because mail scanners fetch links; the form's POST acts.
 * digest_send() composes the digest of one user (French or English, text and HTML) and
 * sends it through the reinjection listener. digest_start() runs a thread that sends the
 * digests that are due.
 */
#ifndef VR_DIGEST_H
#define VR_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apid.h"
#include "db.h"

#define DIGEST_LINK_TTL (7 * 86400)

struct digest_link {
	char qid[VR_ID_LEN];
	char rcpt[330];
	char action[16]; /* release | release-allow | delete */
	char nonce[VR_ID_LEN];
	int64_t expires;
};

/* digest_token_make - a signed token for l into out (malloc'd) */
char *digest_token_make(const unsigned char key[32], const struct digest_link *l);
/* digest_token_check - verify and decode; VR_OK, VR_E_UNAUTHORIZED (forged or malformed)
 * or VR_E_TOKEN_EXPIRED */
enum vr_err digest_token_check(const unsigned char key[32], const char *token, int64_t now,
			       struct digest_link *out);
/* digest_send - compose and send user's digest of items newer than since; *count gets
 * the number listed (0: nothing sent) */
enum vr_err digest_send(struct apid *app, struct db *db, const struct db_digest_user *u,
			int64_t now, int *count, char *err, size_t errsz);
/* digest_start/stop - the thread sending due digests every interval seconds (0: none) */
void digest_start(struct apid *app, int64_t interval);
void digest_stop(void);

#endif
