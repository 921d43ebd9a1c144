/* release.h - handing a held message back to the mail flow over SMTP (libcurl).
 *
 * Releases go to the reinjection listener (loopback, no filter), addressed to exactly
 * one recipient, with an X-VR-Released header prepended. The caller owns the
 * "releasing" status transition that makes a release happen once.
 */
#ifndef VR_RELEASE_H
#define VR_RELEASE_H

#include <stddef.h>

#include "err.h"

/* release_send - send the message file at path to rcpt via smtp://host:port with the
 * envelope sender `sender` ("" for the null sender); VR_OK, or VR_E_UNAVAILABLE with the
 * reason in err */
enum vr_err release_send(const char *host, long port, const char *sender, const char *rcpt,
			 const char *path, const char *note, char *err, size_t errsz);

/* release_send_buffer - the same for a message in memory (digests) */
enum vr_err release_send_buffer(const char *host, long port, const char *sender,
				const char *rcpt, const char *data, size_t len, char *err,
				size_t errsz);

#endif
