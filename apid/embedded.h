/* embedded.h - files compiled into apid (cmake/embed.cmake): migrations and the spec.
 *
 * schema_migrations[] holds schema/NNNN_*.sql sorted by name; migration i brings the
 * database to user_version i+1. openapi_spec[0] is openapi/openapi.yaml as built.
 */
#ifndef VR_EMBEDDED_H
#define VR_EMBEDDED_H

#include <stddef.h>

struct vr_embedded {
	const char *name;
	const char *data; /* NUL-terminated */
	size_t len;
};

extern const struct vr_embedded schema_migrations[];
extern const size_t schema_migrations_count;
extern const struct vr_embedded openapi_spec[];
extern const size_t openapi_spec_count;

#endif
