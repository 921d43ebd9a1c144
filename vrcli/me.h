/*
 * me.h - the caller's own settings and digest, for `vrcli preferences set` and
 * `vrcli digest`.
 *
 * Owns: the body of PUT /api/v1/me/preferences, which always carries `newsletter` (the
 * API requires it): the options given, and for what is not given the values read from
 * GET /api/v1/me/preferences; the choices each option takes; and the sentence that
 * reports a POST /api/v1/me/digest reply. Pure functions: no I/O, so
 * tests/unit/test_vrcli_me.c drives them with tables.
 *
 * Ownership: me_prefs_body() returns a new json_t reference (release with json_decref());
 * me_digest_summary() returns a malloc'd string (release with free()) or NULL.
 */
#ifndef VRCLI_ME_H
#define VRCLI_ME_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The values each preference takes (NULL-terminated), as the API spells them. */
extern const char *const me_newsletter_choices[];
extern const char *const me_digest_choices[];
extern const char *const me_language_choices[];

/* me_prefs_need_current - whether the current preferences must be read first (no
 * NEWSLETTER given: the API requires it in every PUT) */
bool me_prefs_need_current(const char *newsletter);

/* me_prefs_body - the PUT body: NEWSLETTER, DIGEST and LANGUAGE where given (non-NULL),
 * else the string member of CURRENT (a Preferences object, or NULL) of the same name, left
 * out when CURRENT has none. NULL with ERR set when no newsletter results (none given and
 * none in CURRENT), when nothing at all is given, or for text that is not UTF-8. */
json_t *me_prefs_body(const json_t *current, const char *newsletter, const char *digest,
		      const char *language, char *err, size_t errlen);

/* me_digest_summary - the sentence for a POST /api/v1/me/digest reply ({"items": N}):
 * "Sent you a digest of N held messages." (1: "message"), or, for 0, that nothing is held
 * and no mail went out; NULL when REPLY has no non-negative integer `items` */
char *me_digest_summary(const json_t *reply);

#endif
