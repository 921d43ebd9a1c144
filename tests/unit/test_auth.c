/* test_auth.c - apid/auth.c: session JWTs (pinned algorithm, forged and stale tokens),
 * API token secrets and password hashes. Each forged form says what it gets. */
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cm.h"
#include "randid.h"

static const unsigned char key[32] = "0123456789abcdef0123456789abcde";
static const unsigned char other[32] = "ffffffffffffffffffffffffffffff1";
#define NOW 1800000000LL

/* b64 - base64url of text */
static void b64(const char *text, char *out, size_t sz)
{
	vr_b64url_encode((const unsigned char *)text, strlen(text), out, sz);
}

/* forge - header.payload signed with HS256 under k (or with sig given literally) */
static char *forge(const char *header, const char *payload, const unsigned char *k,
		   const char *sig)
{
	char h[512], p[1024], *out = malloc(4096);
	unsigned char mac[32];
	char macs[64];

	b64(header, h, sizeof(h));
	b64(payload, p, sizeof(p));
	snprintf(out, 4096, "%s.%s", h, p);
	if (sig) {
		strcat(out, ".");
		strcat(out, sig);
		return out;
	}
	crypto_auth_hmacsha256(mac, (const unsigned char *)out, strlen(out), k);
	vr_b64url_encode(mac, sizeof(mac), macs, sizeof(macs));
	strcat(out, ".");
	strcat(out, macs);
	return out;
}

static enum vr_err verify(const char *token)
{
	char jti[64], sub[64];
	int64_t exp;

	return auth_jwt_verify(key, 32, "iss1", "aud1", token, NOW, jti, sub, &exp);
}

#define GOOD_CLAIMS                                                                                \
	"{\"iss\":\"iss1\",\"aud\":\"aud1\",\"sub\":\"u1\",\"role\":\"admin\",\"jti\":\"j1\","    \
	"\"iat\":1800000000,\"exp\":1800000600}"

static void issued_token_verifies(void **state)
{
	char *t = auth_jwt_issue(key, 32, "iss1", "aud1", "user-id", "user", "jti-1", NOW,
				 NOW + 900);
	char jti[64], sub[64];
	int64_t exp;

	(void)state;
	assert_int_equal(auth_jwt_verify(key, 32, "iss1", "aud1", t, NOW, jti, sub, &exp), VR_OK);
	assert_string_equal(jti, "jti-1");
	assert_string_equal(sub, "user-id");
	assert_int_equal(exp, NOW + 900);
	/* expired a second later than its exp */
	assert_int_equal(auth_jwt_verify(key, 32, "iss1", "aud1", t, NOW + 900, jti, sub, &exp),
			 VR_E_TOKEN_EXPIRED);
	/* another apid's key, issuer or audience */
	assert_int_equal(auth_jwt_verify(other, 32, "iss1", "aud1", t, NOW, jti, sub, &exp),
			 VR_E_UNAUTHORIZED);
	assert_int_equal(auth_jwt_verify(key, 32, "iss2", "aud1", t, NOW, jti, sub, &exp),
			 VR_E_UNAUTHORIZED);
	assert_int_equal(auth_jwt_verify(key, 32, "iss1", "aud2", t, NOW, jti, sub, &exp),
			 VR_E_UNAUTHORIZED);
	free(t);
}

static void forged_tokens(void **state)
{
	static const struct {
		const char *what, *header, *payload;
		int wrong_key;
		const char *sig;
		enum vr_err want;
	} cases[] = {
		{"good", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", GOOD_CLAIMS, 0, NULL, VR_OK},
		{"alg none, no signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_CLAIMS, 0, "",
		 VR_E_UNAUTHORIZED},
		{"alg None", "{\"alg\":\"None\"}", GOOD_CLAIMS, 0, "", VR_E_UNAUTHORIZED},
		{"alg HS512 header", "{\"alg\":\"HS512\"}", GOOD_CLAIMS, 0, NULL,
		 VR_E_UNAUTHORIZED},
		{"alg RS256 header", "{\"alg\":\"RS256\"}", GOOD_CLAIMS, 0, NULL,
		 VR_E_UNAUTHORIZED},
		{"no alg", "{\"typ\":\"JWT\"}", GOOD_CLAIMS, 0, NULL, VR_E_UNAUTHORIZED},
		{"kid header", "{\"alg\":\"HS256\",\"kid\":\"../../etc/passwd\"}", GOOD_CLAIMS, 0,
		 NULL, VR_E_UNAUTHORIZED},
		{"wrong key", "{\"alg\":\"HS256\"}", GOOD_CLAIMS, 1, NULL, VR_E_UNAUTHORIZED},
		{"garbage signature", "{\"alg\":\"HS256\"}", GOOD_CLAIMS, 0, "AAAA",
		 VR_E_UNAUTHORIZED},
		{"expired", "{\"alg\":\"HS256\"}",
		 "{\"iss\":\"iss1\",\"aud\":\"aud1\",\"sub\":\"u1\",\"jti\":\"j1\",\"exp\":1799999999}",
		 0, NULL, VR_E_TOKEN_EXPIRED},
		{"no exp", "{\"alg\":\"HS256\"}",
		 "{\"iss\":\"iss1\",\"aud\":\"aud1\",\"sub\":\"u1\",\"jti\":\"j1\"}", 0, NULL,
		 VR_E_UNAUTHORIZED},
		{"no jti", "{\"alg\":\"HS256\"}",
		 "{\"iss\":\"iss1\",\"aud\":\"aud1\",\"sub\":\"u1\",\"exp\":1800000600}", 0, NULL,
		 VR_E_UNAUTHORIZED},
		{"no sub", "{\"alg\":\"HS256\"}",
		 "{\"iss\":\"iss1\",\"aud\":\"aud1\",\"jti\":\"j\",\"exp\":1800000600}", 0, NULL,
		 VR_E_UNAUTHORIZED},
		{"wrong aud", "{\"alg\":\"HS256\"}",
		 "{\"iss\":\"iss1\",\"aud\":\"x\",\"sub\":\"u1\",\"jti\":\"j\",\"exp\":1800000600}", 0,
		 NULL, VR_E_UNAUTHORIZED},
		{"header not JSON", "alg=HS256", GOOD_CLAIMS, 0, NULL, VR_E_UNAUTHORIZED},
		{"payload not JSON", "{\"alg\":\"HS256\"}", "not json", 0, NULL, VR_E_UNAUTHORIZED},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = forge(cases[i].header, cases[i].payload, cases[i].wrong_key ? other : key,
				cases[i].sig);
		enum vr_err got = verify(t);

		if (got != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].what, vr_err_str(got),
				 vr_err_str(cases[i].want));
		free(t);
	}
}

/* the payload of a good token changed (role: user -> admin) no longer verifies */
static void altered_payload(void **state)
{
	char *good = forge("{\"alg\":\"HS256\"}", GOOD_CLAIMS, key, NULL);
	char *bad = forge("{\"alg\":\"HS256\"}",
			  "{\"iss\":\"iss1\",\"aud\":\"aud1\",\"sub\":\"u0\",\"role\":\"admin\","
			  "\"jti\":\"j1\",\"exp\":1800000600}",
			  key, NULL);
	char *mix = malloc(8192);
	const char *s1 = strrchr(good, '.');

	(void)state;
	/* header and payload of `bad`, signature of `good` */
	snprintf(mix, 8192, "%.*s%s", (int)(strrchr(bad, '.') - bad), bad, s1);
	assert_int_equal(verify(mix), VR_E_UNAUTHORIZED);
	assert_int_equal(verify(""), VR_E_UNAUTHORIZED);
	assert_int_equal(verify("a.b"), VR_E_UNAUTHORIZED);
	assert_int_equal(verify("..."), VR_E_UNAUTHORIZED);
	free(good);
	free(bad);
	free(mix);
}

static void api_tokens(void **state)
{
	char s1[AUTH_TOKEN_LEN + 1], s2[AUTH_TOKEN_LEN + 1];
	unsigned char h1[32], h2[32], again[32];

	(void)state;
	auth_token_new(s1, h1);
	auth_token_new(s2, h2);
	assert_int_equal(strlen(s1), AUTH_TOKEN_LEN);
	assert_memory_equal(s1, "vrt_", 4);
	assert_string_not_equal(s1, s2);
	auth_token_hash(s1, again);
	assert_memory_equal(h1, again, 32);
	assert_memory_not_equal(h1, h2, 32);
}

static void passwords(void **state)
{
	char hash[crypto_pwhash_STRBYTES];

	(void)state;
	assert_int_equal(auth_password_hash("correct horse", hash), 0);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_true(auth_password_check(hash, "correct horse"));
	assert_false(auth_password_check(hash, "correct horsE"));
	assert_false(auth_password_check(hash, ""));
	assert_false(auth_password_check(NULL, "correct horse"));
	assert_false(auth_password_check("plain-text", "plain-text"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(issued_token_verifies),
		cmocka_unit_test(forged_tokens),
		cmocka_unit_test(altered_payload),
		cmocka_unit_test(api_tokens),
		cmocka_unit_test(passwords),
	};
	vr_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
