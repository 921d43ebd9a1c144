/* milter_int.h - what the milter's two files share (internal to the milter, see milter.h):
 * milter.c owns libmilter (registration, callbacks, sessions, start and stop), the policy
 * in force and the client pools; milter_eom.c owns the end of a message (scans, verdict,
 * quarantine, recipients, headers, tracking).
 *
 * A struct sess belongs to one libmilter connection (smfi_getpriv), used by one thread at
 * a time. milter_env is written by milter_start() before the milter thread starts and only
 * read afterwards.
 */
#ifndef VR_AGENT_MILTER_INT_H
#define VR_AGENT_MILTER_INT_H

#include <libmilter/mfapi.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "apid_client.h"
#include "clamd.h"
#include "milter.h"
#include "msgbuf.h"
#include "rspamd.h"
#include "verdict.h"

/* The 451 text before the first policy arrives. */
#define MILTER_NOT_YET "Mail filter not configured yet, try again later"

/* The policy in force, shared by the messages that use it (refcounted). */
struct mpolicy {
	int refs;
	struct filter_policy fp;
	int64_t size_limit;
	int64_t version;
};

/* One recipient of the message. */
struct rcpt {
	char *raw;  /* as Postfix gave it ("<alice@corp.test>"), for smfi_delrcpt */
	char *addr; /* without the angle brackets */
};

/* The headers the milter sets, replacing any the message came with. */
#define N_VR_HEADERS 3
extern const char *const milter_vr_headers[N_VR_HEADERS];

/* One SMTP connection and its message in progress. */
struct sess {
	bool leadspc, nr_hdr; /* negotiated SMFIP_HDR_LEADSPC, SMFIP_NR_HDR */
	char client_ip[64];   /* "unknown" when Postfix did not say */
	char helo[256];
	enum filter_direction dir;
	/* the message */
	int64_t received_at;
	char *sender; /* envelope, without <> ("" for the null sender) */
	struct rcpt *rcpts;
	size_t n_rcpts, cap_rcpts;
	struct msgbuf mb; /* the raw message as received, CRLF line ends */
	enum msgbuf_status mb_status;
	char *subject_raw; /* the first Subject value as received, or NULL */
	int vr_count[N_VR_HEADERS];
	/* SHA-256 of the message as the client sent it (the copy, less a first Received
	 * header): the same on every retry of the sender, part of the quarantine key */
	crypto_hash_sha256_state content;
	bool hash_on;	  /* append() feeds content */
	size_t n_headers; /* headers seen */
};

/* Settings milter_start() derived from the struct milter_conf. */
struct milter_env {
	const struct milter_conf *c;
	struct clamd_opts clamd;
};
extern struct milter_env milter_env;

/* milter_policy_get - a reference to the policy in force, or NULL before the first one */
struct mpolicy *milter_policy_get(void);
/* milter_policy_put - drop a reference (NULL is fine) */
void milter_policy_put(struct mpolicy *p);
/* milter_rspamd_take - an rspamd client from the pool (or a new one; NULL when libcurl
 * fails); give it back with milter_rspamd_give */
struct rspamd_client *milter_rspamd_take(void);
void milter_rspamd_give(struct rspamd_client *c);
/* milter_apid_take - an apid client from the pool (or a new one); NULL without apid or when
 * libcurl fails; give it back with milter_apid_give (NULL is fine) */
struct apid_client *milter_apid_take(void);
void milter_apid_give(struct apid_client *c);

/* milter_set_reply - smfi_setreply with a formatted text made printable ASCII without '%' */
__attribute__((format(printf, 4, 5))) void milter_set_reply(SMFICTX *ctx, const char *code,
							     const char *xcode, const char *fmt,
							     ...);
/* milter_size_status - the reply when the message copy could not grow (552 too big, 451 on
 * an I/O error), else SMFIS_CONTINUE */
sfsistat milter_size_status(SMFICTX *ctx, struct sess *s);
/* milter_sess - the session of ctx, made on first use */
struct sess *milter_sess(SMFICTX *ctx);
/* milter_msg_reset - forget the message (the connection stays) */
void milter_msg_reset(struct sess *s);

/* milter_eom - the end-of-message callback (milter_eom.c) */
sfsistat milter_eom(SMFICTX *ctx);

#endif
