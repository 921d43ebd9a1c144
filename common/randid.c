/* randid.c - random ids and encodings over libsodium (see randid.h). */
#include <sodium.h>

#include "log.h"
#include "randid.h"

/* vr_crypto_init - initialise libsodium; aborts when it cannot */
void vr_crypto_init(void)
{
	if (sodium_init() < 0)
		VR_DIE("libsodium failed to initialise");
}

/* vr_b64url_encode - base64url without padding */
void vr_b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	sodium_bin2base64(out, outsz, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* vr_random_id - a fresh 128-bit id */
void vr_random_id(char buf[VR_ID_LEN])
{
	unsigned char raw[16];

	randombytes_buf(raw, sizeof(raw));
	vr_b64url_encode(raw, sizeof(raw), buf, VR_ID_LEN);
}

/* vr_hex - lowercase hex */
void vr_hex(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}
