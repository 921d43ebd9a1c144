/* verdict.h - the filter policy (the snapshot's "filter" section) and the per-recipient
 * decision: scan results + policy -> deliver, tag, quarantine, reject, discard or tempfail.
 *
 * filter_policy_parse() validates the section and fills a struct filter_policy (defaults for
 * absent members: virus and block-list actions "quarantine", the contract's attachment
 * lists, outbound thresholds 5/8/15, empty lists); an error names the field
 * ("lists.users.alice@corp.test.allow[2]: ..."). Unknown members are ignored (a newer apid
 * may add some).
 *
 * verdict_decide() applies the filter contract's rules, in order, to each recipient: virus,
 * block lists (the recipient's, then global), allow lists (skip spam and newsletter), spam
 * thresholds of the recipient's domain (outbound, or unknown domain: the outbound ones),
 * newsletter preference, attachment policy, then deliver (tagged if spam or newsletter said
 * so). A failed antivirus scan tempfails every recipient; a failed spam scan tempfails those
 * that reach the spam rule, unless their domain has fail_open_spam. The message-level
 * summary: any tempfail -> tempfail; all reject -> reject; all discard -> discard; else
 * deliver (each recipient per its outcome: removal and quarantine are the milter's job).
 *
 * Pure: no I/O, thread-safe; a parsed policy is read-only and may be shared. Ownership: the
 * policy owns its strings (filter_policy_free); outcomes borrow subject_prefix from it.
 */
#ifndef VR_AGENT_VERDICT_H
#define VR_AGENT_VERDICT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "lists.h"
#include "mime_scan.h"

enum filter_action { FA_DELIVER, FA_TAG, FA_QUARANTINE, FA_REJECT, FA_DISCARD, FA_TEMPFAIL };
enum filter_category { FC_CLEAN, FC_SPAM, FC_VIRUS, FC_NEWSLETTER, FC_ATTACHMENT, FC_BLOCKLIST };
enum filter_direction { FD_INBOUND, FD_OUTBOUND };
enum newsletter_pref { NL_DELIVER, NL_TAG, NL_QUARANTINE };

struct spam_thresholds {
	double tag, quarantine, reject; /* tag <= quarantine <= reject */
};

/* One relay domain's settings. */
struct filter_domain {
	char *name; /* lower case */
	struct spam_thresholds spam;
	char *subject_prefix; /* "" when absent */
	enum newsletter_pref newsletter;
	bool fail_open_spam;
};

/* One recipient address's own lists. */
struct filter_user {
	char *address; /* lower case */
	struct pattern_set allow, block;
};

/* One recipient address's newsletter preference. */
struct filter_nl_pref {
	char *address; /* lower case */
	enum newsletter_pref pref;
};

struct filter_policy {
	enum filter_action virus_action;     /* quarantine, reject or discard */
	enum filter_action blocklist_action; /* quarantine or reject */
	struct attach_policy attach;
	struct filter_domain *domains; /* sorted by name */
	size_t n_domains;
	struct spam_thresholds outbound;
	struct pattern_set global_allow, global_block;
	struct filter_user *users; /* sorted by address */
	size_t n_users;
	struct filter_nl_pref *nl_prefs; /* sorted by address */
	size_t n_nl_prefs;
};

/* What the scanners found about one message. */
struct verdict_scan {
	bool av_ok; /* false: clamd failed (av_error says why) */
	const char *av_error;
	const char *virus; /* virus name, or NULL */
	bool spam_ok;	   /* false: rspamd failed (spam_error says why) */
	const char *spam_error;
	double spam_score;
	bool newsletter;		      /* antipub's is_newsletter */
	const struct attach_findings *attach; /* NULL: none */
};

struct verdict_input {
	enum filter_direction direction;
	const char *env_from; /* envelope sender ("" or "<>" for the null sender) */
	const char *hdr_from; /* From: header address, or NULL */
	struct verdict_scan scan;
	const char *const *rcpts;
	size_t n_rcpts;
};

/* The outcome for one recipient. */
struct verdict_rcpt {
	enum filter_action action;
	enum filter_category category;
	char reason[200];
	const char
	    *subject_prefix; /* for FA_TAG as spam: the domain's prefix (borrowed), else "" */
};

/* The message as a whole. */
struct verdict_summary {
	enum filter_action action;     /* deliver, reject, discard or tempfail */
	size_t count[FA_TEMPFAIL + 1]; /* recipients per action */
};

/* filter_policy_parse - validate the "filter" object into p (free it with filter_policy_free,
 * also after an error); VR_OK, or VR_E_INVALID_FIELD with "path: reason" in err */
enum vr_err filter_policy_parse(json_t *filter, struct filter_policy *p, char *err, size_t errsz);
/* filter_policy_free - release everything the policy owns and reset it */
void filter_policy_free(struct filter_policy *p);
/* filter_policy_domain - the settings of domain (any case), or NULL */
const struct filter_domain *filter_policy_domain(const struct filter_policy *p, const char *domain);

/* verdict_decide - one outcome per recipient into out[0..in->n_rcpts), and the summary */
void verdict_decide(const struct filter_policy *p, const struct verdict_input *in,
		    struct verdict_rcpt *out, struct verdict_summary *sum);

/* filter_action_str, filter_category_str - the contract's names ("quarantine", "spam") */
const char *filter_action_str(enum filter_action a);
const char *filter_category_str(enum filter_category c);

#endif
