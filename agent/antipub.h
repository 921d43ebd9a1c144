/* antipub.h - the newsletter/marketing ("anti-pub") classifier, apart from spam.
 *
 * antipub_classify() looks at a message's top-level headers and rspamd's symbols for the
 * signs of bulk mail, grouped so that two views of the same evidence count once:
 *   unsubscribe  List-Unsubscribe with a usable URI, or rspamd's HAS_LIST_UNSUB
 *   list         List-Id, or MAILLIST
 *   precedence   Precedence: bulk | list, or PRECEDENCE_BULK
 *   feedback     Feedback-ID (the large senders' campaign identifier)
 *   stamp        an e-mail service's campaign header (X-Mailchimp*, X-MC-User, X-SG-EID,
 *                X-SendGrid*, X-Campaign*, ...), an X-Mailer of a known bulk tool, BULK_*
 * A message is a newsletter when it offers an unsubscribe target and one more group, or
 * shows two groups or more (filter contract). The result also carries the preferred
 * unsubscribe target (https, else mailto, else http) and whether RFC 8058 one-click is
 * offered (List-Unsubscribe-Post: List-Unsubscribe=One-Click with an https target).
 * "One-click" is not a group of its own: it only qualifies List-Unsubscribe.
 *
 * Pure: no I/O, no allocation; the inputs are borrowed for the call.
 */
#ifndef VR_AGENT_ANTIPUB_H
#define VR_AGENT_ANTIPUB_H

#include <stdbool.h>
#include <stddef.h>

#include "mime_scan.h"
#include "rspamd.h"

enum antipub_signal {
	AP_UNSUBSCRIBE = 1 << 0, /* List-Unsubscribe header with a usable URI */
	AP_ONE_CLICK = 1 << 1,	 /* List-Unsubscribe-Post: List-Unsubscribe=One-Click */
	AP_LIST_ID = 1 << 2,
	AP_PRECEDENCE = 1 << 3, /* bulk or list */
	AP_FEEDBACK_ID = 1 << 4,
	AP_STAMP = 1 << 5,	 /* an e-mail service's header */
	AP_BULK_MAILER = 1 << 6, /* X-Mailer of a known bulk tool */
	AP_SYM_UNSUB = 1 << 7,	 /* rspamd HAS_LIST_UNSUB */
	AP_SYM_MAILLIST = 1 << 8,
	AP_SYM_PRECEDENCE = 1 << 9,
	AP_SYM_BULK = 1 << 10, /* rspamd BULK_* */
};

struct antipub_result {
	bool is_newsletter;
	unsigned signals;	/* AP_* bits */
	int groups;		/* independent groups seen (0..5) */
	char signal_text[256];	/* "list-unsubscribe,list-id,x-mailer:Mailchimp Mailer" */
	char unsubscribe[2048]; /* preferred target URI, or "" */
	bool one_click;		/* RFC 8058 offered: https target, both headers signed by a
				 * DKIM signature rspamd verified (R_DKIM_ALLOW) */
	bool dkim_covers_unsubscribe; /* a DKIM-Signature's h= lists both headers */
};

/* dkim_signs_unsubscribe - does a DKIM-Signature value's h= list List-Unsubscribe and
 * List-Unsubscribe-Post? (pure; the signature itself is verified by rspamd) */
bool dkim_signs_unsubscribe(const char *dkim_signature_value);

/* antipub_classify - classify from headers (top-level, any order) and rspamd's result
 * (NULL or !ok: headers alone) */
void antipub_classify(const struct mime_header *headers, size_t n_headers,
		      const struct rspamd_result *rspamd, struct antipub_result *out);
/* antipub_unsubscribe_target - the preferred URI of a List-Unsubscribe value into out
 * ("" when none is usable); true when one was found */
bool antipub_unsubscribe_target(const char *value, char *out, size_t outsz);

#endif
