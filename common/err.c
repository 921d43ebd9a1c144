/* err.c - the error table: code -> HTTP status, problem slug, title (see err.h). */
#include <stddef.h>

#include "err.h"

static const struct vr_err_info table[VR_E__COUNT] = {
	[VR_OK] = {VR_OK, 200, "ok", "OK"},
	[VR_E_BAD_JSON] = {VR_E_BAD_JSON, 400, "bad-json", "Malformed JSON body"},
	[VR_E_INVALID_FIELD] = {VR_E_INVALID_FIELD, 400, "invalid-field", "Invalid field"},
	[VR_E_MISSING_FIELD] = {VR_E_MISSING_FIELD, 400, "missing-field", "Missing field"},
	[VR_E_UNKNOWN_FIELD] = {VR_E_UNKNOWN_FIELD, 400, "unknown-field", "Unknown field"},
	[VR_E_BAD_PARAMETER] = {VR_E_BAD_PARAMETER, 400, "bad-parameter", "Invalid parameter"},
	[VR_E_UNAUTHORIZED] = {VR_E_UNAUTHORIZED, 401, "unauthorized",
			       "Authentication required"},
	[VR_E_TOKEN_EXPIRED] = {VR_E_TOKEN_EXPIRED, 401, "token-expired", "Token expired"},
	[VR_E_TOKEN_REVOKED] = {VR_E_TOKEN_REVOKED, 401, "token-revoked", "Token revoked"},
	[VR_E_LOGIN_FAILED] = {VR_E_LOGIN_FAILED, 401, "login-failed",
			       "Invalid user name or password"},
	[VR_E_FORBIDDEN] = {VR_E_FORBIDDEN, 403, "forbidden", "Forbidden"},
	[VR_E_NOT_FOUND] = {VR_E_NOT_FOUND, 404, "not-found", "Not found"},
	[VR_E_METHOD] = {VR_E_METHOD, 405, "method-not-allowed", "Method not allowed"},
	[VR_E_CONFLICT] = {VR_E_CONFLICT, 409, "conflict", "Conflict"},
	[VR_E_TOO_LARGE] = {VR_E_TOO_LARGE, 413, "payload-too-large", "Request body too large"},
	[VR_E_URI_TOO_LONG] = {VR_E_URI_TOO_LONG, 414, "uri-too-long", "URI too long"},
	[VR_E_MEDIA_TYPE] = {VR_E_MEDIA_TYPE, 415, "unsupported-media-type",
			     "Unsupported media type"},
	[VR_E_RATE_LIMITED] = {VR_E_RATE_LIMITED, 429, "rate-limited", "Too many requests"},
	[VR_E_INTERNAL] = {VR_E_INTERNAL, 500, "internal", "Internal error"},
	[VR_E_UNAVAILABLE] = {VR_E_UNAVAILABLE, 503, "unavailable", "Service unavailable"},
	/* a busy database that outlived the retries is, to a client, unavailable */
	[VR_E_BUSY] = {VR_E_BUSY, 503, "unavailable", "Service unavailable"},
};

/* vr_err_info - the table row of code; unknown codes map to internal */
const struct vr_err_info *vr_err_info(enum vr_err code)
{
	if ((int)code < 0 || code >= VR_E__COUNT || table[code].slug == NULL)
		return &table[VR_E_INTERNAL];
	return &table[code];
}

/* vr_err_str - the slug of code, for logs */
const char *vr_err_str(enum vr_err code)
{
	return vr_err_info(code)->slug;
}
