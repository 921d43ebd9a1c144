/* randid.h - unguessable identifiers and secrets from libsodium's CSPRNG.
 *
 * Everything an API client can see as an id is random, never sequential.
 * vr_crypto_init() must be called once by main() before any other function here.
 */
#ifndef VR_RANDID_H
#define VR_RANDID_H

#include <stddef.h>

#define VR_ID_LEN 23 /* 22 base64url characters (16 random bytes) + NUL */

/* vr_crypto_init - initialise libsodium; aborts when it cannot */
void vr_crypto_init(void);
/* vr_random_id - write a fresh 128-bit id, base64url without padding, into buf */
void vr_random_id(char buf[VR_ID_LEN]);
/* vr_b64url_encode - encode n bytes as base64url without padding; out needs 4n/3+2 */
void vr_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsz);
/* vr_hex - write n bytes as lowercase hex into out (2n+1 bytes) */
void vr_hex(const unsigned char *in, size_t n, char *out);

#endif
