/* err.h - the one error type of vrgate.
 *
 * Functions that can fail return enum vr_err (never a bare -1). vr_err_info() gives the
 * row of the one table that decides, for each code, the HTTP status apid answers with,
 * the problem type slug (RFC 9457 "type" is urn:vrgate:problem:<slug>) and the title.
 * The table lives in err.c; tests/unit/test_err.c checks it is complete and consistent.
 */
#ifndef VR_ERR_H
#define VR_ERR_H

enum vr_err {
	VR_OK = 0,
	VR_E_BAD_JSON,       /* body is not JSON, or not an object */
	VR_E_INVALID_FIELD,  /* a field has the wrong type, range or format */
	VR_E_MISSING_FIELD,  /* a required field is absent */
	VR_E_UNKNOWN_FIELD,  /* a field the request does not take */
	VR_E_BAD_PARAMETER,  /* a query or path parameter is wrong */
	VR_E_UNAUTHORIZED,   /* no, malformed or forged credentials */
	VR_E_TOKEN_EXPIRED,  /* credentials were good but have expired */
	VR_E_TOKEN_REVOKED,  /* credentials were good but were revoked */
	VR_E_LOGIN_FAILED,   /* wrong user name or password (never says which) */
	VR_E_FORBIDDEN,      /* authenticated, but the role does not allow it */
	VR_E_NOT_FOUND,      /* no such resource (or not yours) */
	VR_E_METHOD,         /* the path exists, the method does not */
	VR_E_CONFLICT,       /* the request contradicts existing state */
	VR_E_TOO_LARGE,      /* body over the route's limit */
	VR_E_URI_TOO_LONG,   /* URL over the configured limit */
	VR_E_MEDIA_TYPE,     /* body is not application/json */
	VR_E_RATE_LIMITED,   /* too many attempts; retry later */
	VR_E_INTERNAL,       /* our bug or an unexpected failure */
	VR_E_UNAVAILABLE,    /* a dependency is down (database, directory) */
	VR_E_BUSY,           /* database busy: retried by the transaction runner */
	VR_E__COUNT
};

struct vr_err_info {
	enum vr_err code;
	int status;        /* HTTP status apid answers with */
	const char *slug;  /* problem type suffix and "code" member */
	const char *title; /* short, human, stable */
};

/* vr_err_info - the table row of code; never NULL (unknown codes map to internal) */
const struct vr_err_info *vr_err_info(enum vr_err code);
/* vr_err_str - the slug of code, for logs */
const char *vr_err_str(enum vr_err code);

#endif
