/*
 * cmd_digest.c - `vrcli digest`: send me my quarantine digest now.
 *
 * Owns the client side of POST /api/v1/me/digest. The server sends the mail (through its
 * reinjection listener, to the caller's primary address) and answers how many held
 * messages it lists; its refusals map to exit codes as usual: 409 (the account has no
 * mail address) and 429 (a digest went out less than 5 minutes ago: the line says when to
 * retry) exit 5, 503 (the mail could not be handed over) exits 6. How often digests come
 * by themselves is `vrcli preferences set --digest`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "me.h"
#include "vrcli.h"

#define DIGEST "/api/v1/me/digest"

/* cmd_digest - `vrcli digest`: POST /api/v1/me/digest */
enum vrcli_exit cmd_digest(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;
	char *line;

	(void)a;
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	rc = http_call(v->http, "POST", DIGEST, NULL, &r);
	if (rc != VRCLI_EXIT_OK)
		goto out;
	if ((line = me_digest_summary(r.body)) == NULL) {
		fprintf(stderr, "vrcli: the server's reply to POST %s has no items count\n", DIGEST);
		rc = VRCLI_EXIT_OTHER;
	} else if (v->json) {
		vrcli_print_json(r.body);
	} else {
		puts(line);
	}
	free(line);
out:
	http_reply_free(&r);
	return rc;
}
