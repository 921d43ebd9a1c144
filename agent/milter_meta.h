/* milter_meta.h - what the milter tells apid about a message, as pure functions: the facts
 * (every string made JSON- and contract-safe), the quarantine request's metadata with its
 * idempotency key, the split of a category's recipients into requests, and the tracking
 * report.
 *
 * No I/O, no libmilter, no global state: milter_eom.c gathers the inputs (session, scans,
 * verdict), sends the texts and acts on apid's answers; tests/unit/test_milter_helpers.c
 * tests these functions. The idempotency key is "vr2-" + hex SHA-256 over the agent's name,
 * the envelope sender, the Message-ID, the SHA-256 of the message as the client sent it,
 * the category and the recipients of the copy (each string with its NUL). It leaves
 * Postfix's queue id out on purpose: when a copy was held but Postfix never heard the
 * answer (the agent killed, apid's reply lost), the sender's retry of the same message
 * (another queue id, the same bytes) lands on the same copy (apid: 200 duplicate) instead
 * of holding a second one.
 *
 * Ownership: a struct meta_facts owns its strings (meta_facts_free); char * results are
 * malloc'd (the caller frees them); json_t * results carry one reference for the caller.
 */
#ifndef VR_AGENT_MILTER_META_H
#define VR_AGENT_MILTER_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "antipub.h"
#include "randid.h"
#include "rspamd.h"
#include "verdict.h"
#include "vrtime.h"

#define META_QID_SIZE	    (VR_ID_LEN + 8) /* a quarantine id apid returns, with its NUL */
#define META_KEY_SIZE	    69		    /* "vr1-" + 64 hex digits + NUL */
#define META_SYMBOLS_MAX    100		    /* rspamd symbols reported */
#define META_QUARANTINE_MAX 12000	    /* bytes of metadata JSON per quarantine request */

/* What the milter knows about a message when it reports it, as received and scanned
 * (borrowed; any string may be NULL). */
struct meta_source {
	const char *queue_id;	      /* Postfix's queue id ("unknown" without one) */
	int64_t received_at;	      /* seconds since the epoch */
	const char *sender;	      /* envelope sender without <> ("" for the null sender) */
	const char *helo;	      /* "" or NULL: none */
	const char *client_ip;	      /* "unknown" or NULL: none */
	const char *from;	      /* From: address (MIME scan) */
	const char *subject;	      /* Subject, decoded (MIME scan) */
	const char *message_id;	      /* Message-ID without <> (MIME scan) */
	const char *virus;	      /* the virus clamd named, or NULL */
	const unsigned char *content; /* SHA-256 (32 bytes) of the message as sent, or NULL */
	const struct rspamd_result *rspamd; /* score and symbols when ->ok; NULL: none */
	size_t size;			    /* bytes of the message as received */
};

/* The facts the reports carry: valid UTF-8 without control characters, within the
 * contract's lengths (a member too long to cut meaningfully is left out). */
struct meta_facts {
	char queue_id[65];
	char received_at[VR_TIME_LEN];
	char *sender, *from, *subject, *message_id, *virus, *helo, *client_ip;
	char content[65]; /* hex SHA-256 of the message as sent ("" when unknown) */
	json_t *symbols;  /* array of names */
	bool has_score;
	double score; /* clamped to [-10000, 10000] */
	size_t size;
};

/* meta_clean_text - at most max bytes of s as valid UTF-8 without control characters (each
 * bad byte becomes '?'), cut at a character boundary; malloc'd, NULL for NULL */
char *meta_clean_text(const char *s, size_t max);
/* meta_clean_addr - an address as apid takes it: blanks, controls, '<', '>', '/' and bytes
 * that are not UTF-8 become '_' (at most 320 bytes); malloc'd */
char *meta_clean_addr(const char *s);

/* meta_facts_make - the facts of src into f (free with meta_facts_free) */
void meta_facts_make(const struct meta_source *src, struct meta_facts *f);
/* meta_facts_free - release the strings (f may be made again) */
void meta_facts_free(struct meta_facts *f);
/* meta_facts_json - the members the quarantine metadata and the tracking report share */
json_t *meta_facts_json(const struct meta_facts *f, enum filter_direction dir);

/* meta_quarantine_key - the idempotency key of the copy held in category cat for the
 * (cleaned) recipients addrs[0..n) */
void meta_quarantine_key(const char *agent, const struct meta_facts *f, enum filter_category cat,
			 const char *const *addrs, size_t n, char out[META_KEY_SIZE]);
/* meta_next_group - the next recipients after *from whose verdict quarantines them in
 * category cat, as many as fit in about META_QUARANTINE_MAX / 2 bytes of addresses (at
 * least one): their indexes into idx (room for n), *from moved past them; how many (0:
 * no more) */
size_t meta_next_group(const struct verdict_rcpt *out, char *const *caddr, size_t n,
		       enum filter_category cat, size_t *from, size_t *idx);
/* meta_quarantine_json - the metadata text of one quarantine request (the key, the
 * category, the facts, the newsletter's unsubscribe target when cat is newsletter, the
 * virus only when cat is virus, the recipients); ap may be NULL */
char *meta_quarantine_json(const char *agent, const struct meta_facts *f, enum filter_direction dir,
			   enum filter_category cat, const struct antipub_result *ap,
			   const char *const *addrs, size_t n);
/* meta_report_json - the tracking report text for recipients caddr[0..n) (cleaned) with
 * their outcomes out[] and quarantine ids qids[] (NULL, or "" for none); override, when not
 * NULL, replaces every recipient's action (the message was deferred as a whole), and
 * override_reason every reason but a tempfail recipient's own */
char *meta_report_json(const char *agent, const struct meta_facts *f, enum filter_direction dir,
		       char *const *caddr, const struct verdict_rcpt *out,
		       char (*qids)[META_QID_SIZE], size_t n, const char *override,
		       const char *override_reason);

#endif
