/* unsubscribe.h - RFC 8058 one-click unsubscribe on a user's behalf.
 *
 * POSTs "List-Unsubscribe=One-Click" to an https URL taken from a newsletter, carefully:
 * https only (certificate verified), no redirects, short timeouts, and never to a
 * loopback, private or link-local address (the URL comes from mail: it must not become a
 * way into the organisation's network) unless allow_private (tests only).
 */
#ifndef VR_UNSUBSCRIBE_H
#define VR_UNSUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* unsubscribe_post - the POST; *status gets the HTTP status (0: none); VR_OK for a 2xx */
enum vr_err unsubscribe_post(const char *url, const char *ca_file, bool allow_private,
			     long *status, char *err, size_t errsz);

#endif
