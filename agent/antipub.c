/* antipub.c - newsletter signals from headers and rspamd symbols (see antipub.h).
 *
 * The e-mail service headers and bulk X-Mailer names are two const tables; adding a service
 * is adding a row (and a case to tests/unit/test_antipub.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "antipub.h"

/* A header that only e-mail services stamp on campaigns. */
static const struct {
	const char *name;
	bool prefix; /* any header starting with name */
} stamps[] = {
    {"X-Mailchimp", true},	  {"X-MC-User", false},	       {"X-SG-EID", false},
    {"X-SendGrid", true},	  {"X-Campaign", true},	       {"X-Mailjet-Campaign", false},
    {"X-Mailin-Campaign", false}, {"X-CSA-Complaints", false}, {"X-Listmonk", true},
};

/* Substrings (any case) of X-Mailer values of bulk mailing tools. */
static const char *const bulk_mailers[] = {
    "mailchimp", "sendinblue", "brevo",	      "mailjet",	  "sarbacane",	 "phplist",
    "mailpoet",	 "mautic",     "acymailing",  "constant contact", "createsend",	 "campaign monitor",
    "klaviyo",	 "hubspot",    "exacttarget", "emarsys",	  "selligent",	 "splio",
    "dolist",	 "listmonk",   "sendy",	      "mailerlite",	  "getresponse", "activecampaign",
    "marketo",	 "eloqua",     "cleverreach", "newsletter2go",	  "mailify",	 "sendgrid",
};

/* starts_ci - true when s starts with prefix, any case */
static bool starts_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* trimmed_eq_ci - true when value, without surrounding white space, equals word (any case) */
static bool trimmed_eq_ci(const char *value, const char *word)
{
	size_t n, w = strlen(word);

	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return n == w && strncasecmp(value, word, w) == 0;
}

/* uri_rank - 3 https, 2 mailto, 1 http, 0 unusable (other scheme, white space, too long) */
static int uri_rank(const char *u, size_t n, size_t outsz)
{
	if (n == 0 || n >= outsz)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f || u[i] == '<' || u[i] == '>')
			return 0;
	if (starts_ci(u, "https://") && n > 8)
		return 3;
	if (starts_ci(u, "mailto:") && n > 7)
		return 2;
	if (starts_ci(u, "http://") && n > 7)
		return 1;
	return 0;
}

/* antipub_unsubscribe_target - "<uri>, <uri>" (or one bare URI): the best one */
bool antipub_unsubscribe_target(const char *value, char *out, size_t outsz)
{
	const char *p = value, *best = NULL;
	size_t best_n = 0;
	int best_rank = 0;

	if (outsz > 0)
		*out = '\0';
	if (value == NULL || outsz == 0)
		return false;
	if (strchr(value, '<') == NULL) { /* not RFC 2369, but seen: a bare URI */
		while (*p == ' ' || *p == '\t')
			p++;
		best_n = strcspn(p, " \t,");
		best_rank = uri_rank(p, best_n, outsz);
		best = p;
	} else {
		while ((p = strchr(p, '<')) != NULL) {
			const char *end = strchr(++p, '>');
			size_t n;
			int rank;

			if (end == NULL)
				break;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			n = (size_t)(end - p);
			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			rank = uri_rank(p, n, outsz);
			if (rank > best_rank) {
				best_rank = rank;
				best = p;
				best_n = n;
			}
			p = end + 1;
		}
	}
	if (best_rank == 0)
		return false;
	memcpy(out, best, best_n);
	out[best_n] = '\0';
	return true;
}

/* note - append a signal's name (and up to 48 bytes of detail, cut between UTF-8
 * characters) to the text, comma-separated; an entry that does not fit is left out */
static void note(struct antipub_result *r, const char *what, const char *detail)
{
	size_t len = strlen(r->signal_text), dn = 0;
	int n;

	if (detail != NULL) {
		dn = strnlen(detail, 48);
		while (dn > 0 && detail[dn] != '\0' && ((unsigned char)detail[dn] & 0xc0) == 0x80)
			dn--;
	}
	n = snprintf(r->signal_text + len, sizeof(r->signal_text) - len, "%s%s%s%.*s",
		     len ? "," : "", what, detail ? ":" : "", (int)dn, detail ? detail : "");
	if (n < 0 || (size_t)n >= sizeof(r->signal_text) - len)
		r->signal_text[len] = '\0';
}

/* is_stamp - true when the header name is an e-mail service's campaign header */
static bool is_stamp(const char *name)
{
	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++)
		if (stamps[i].prefix ? starts_ci(name, stamps[i].name)
				     : strcasecmp(name, stamps[i].name) == 0)
			return true;
	return false;
}

/* is_bulk_mailer - true when an X-Mailer value names a bulk tool */
static bool is_bulk_mailer(const char *value)
{
	for (size_t i = 0; i < sizeof(bulk_mailers) / sizeof(bulk_mailers[0]); i++)
		if (strcasestr(value, bulk_mailers[i]) != NULL)
			return true;
	return false;
}

/* scan_header - set the signals one header gives */
/* dkim_signs_unsubscribe - does a DKIM-Signature value's h= tag list both
 * List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 section 4)? */
bool dkim_signs_unsubscribe(const char *v)
{
	bool unsub = false, post = false;
	const char *p = v;

	while ((p = strstr(p, "h=")) != NULL) {
		/* a tag starts the value or follows ';' (with folding white space) */
		const char *q = p;

		while (q > v && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r' || q[-1] == '\n'))
			q--;
		if (q == v || q[-1] == ';')
			break;
		p += 2;
	}
	if (p == NULL)
		return false;
	for (p += 2; *p && *p != ';';) {
		char name[64];
		size_t n = 0;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ':')
			p++;
		while (*p && *p != ':' && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r' &&
		       *p != '\n' && n + 1 < sizeof(name))
			name[n++] = *p++;
		name[n] = '\0';
		if (strcasecmp(name, "list-unsubscribe") == 0)
			unsub = true;
		else if (strcasecmp(name, "list-unsubscribe-post") == 0)
			post = true;
		if (n == 0 && *p && *p != ';')
			p++;
	}
	return unsub && post;
}

static void scan_header(const struct mime_header *h, struct antipub_result *r, bool *post)
{
	const char *n = h->name, *v = h->value;

	if (strcasecmp(n, "DKIM-Signature") == 0) {
		r->dkim_covers_unsubscribe |= dkim_signs_unsubscribe(v);
	} else if (strcasecmp(n, "List-Unsubscribe") == 0) {
		char t[sizeof(r->unsubscribe)];

		if (r->unsubscribe[0] == '\0' && antipub_unsubscribe_target(v, t, sizeof(t))) {
			memcpy(r->unsubscribe, t, sizeof(t));
			r->signals |= AP_UNSUBSCRIBE;
			note(r, "list-unsubscribe", NULL);
		}
	} else if (strcasecmp(n, "List-Unsubscribe-Post") == 0) {
		*post |= trimmed_eq_ci(v, "List-Unsubscribe=One-Click");
	} else if (strcasecmp(n, "List-Id") == 0) {
		if (*v && !(r->signals & AP_LIST_ID)) {
			r->signals |= AP_LIST_ID;
			note(r, "list-id", NULL);
		}
	} else if (strcasecmp(n, "Precedence") == 0) {
		if ((trimmed_eq_ci(v, "bulk") || trimmed_eq_ci(v, "list")) &&
		    !(r->signals & AP_PRECEDENCE)) {
			r->signals |= AP_PRECEDENCE;
			note(r, "precedence", NULL);
		}
	} else if (strcasecmp(n, "Feedback-ID") == 0) {
		if (*v && !(r->signals & AP_FEEDBACK_ID)) {
			r->signals |= AP_FEEDBACK_ID;
			note(r, "feedback-id", NULL);
		}
	} else if (strcasecmp(n, "X-Mailer") == 0) {
		if (is_bulk_mailer(v) && !(r->signals & AP_BULK_MAILER)) {
			r->signals |= AP_BULK_MAILER;
			note(r, "x-mailer", v);
		}
	} else if (is_stamp(n) && !(r->signals & AP_STAMP)) {
		r->signals |= AP_STAMP;
		note(r, "stamp", n);
	}
}

/* scan_symbols - the rspamd symbols that say the same things */
static void scan_symbols(const struct rspamd_result *rs, struct antipub_result *r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} syms[] = {{"HAS_LIST_UNSUB", AP_SYM_UNSUB},
		    {"MAILLIST", AP_SYM_MAILLIST},
		    {"PRECEDENCE_BULK", AP_SYM_PRECEDENCE}};

	if (rs == NULL || !rs->ok)
		return;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (rspamd_has_symbol(rs, syms[i].name)) {
			r->signals |= syms[i].bit;
			note(r, "rspamd", syms[i].name);
		}
	for (size_t i = 0; i < rs->n_symbols; i++)
		if (strncmp(rs->symbols[i].name, "BULK_", 5) == 0) {
			r->signals |= AP_SYM_BULK;
			note(r, "rspamd", rs->symbols[i].name);
			break;
		}
}

/* antipub_classify - signals, groups, decision */
void antipub_classify(const struct mime_header *headers, size_t n_headers,
		      const struct rspamd_result *rspamd, struct antipub_result *out)
{
	bool post = false, unsub, list, prec, fbid, stamp;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n_headers; i++)
		scan_header(&headers[i], out, &post);
	scan_symbols(rspamd, out);
	/* RFC 8058: one-click only when a valid DKIM signature (rspamd verified one) covers
	 * both headers; otherwise anybody could make us POST to any URL */
	if (post && starts_ci(out->unsubscribe, "https://") && out->dkim_covers_unsubscribe &&
	    rspamd && rspamd->ok && rspamd_has_symbol(rspamd, "R_DKIM_ALLOW")) {
		out->one_click = true;
		out->signals |= AP_ONE_CLICK;
		note(out, "one-click", NULL);
	}
	unsub = out->signals & (AP_UNSUBSCRIBE | AP_SYM_UNSUB);
	list = out->signals & (AP_LIST_ID | AP_SYM_MAILLIST);
	prec = out->signals & (AP_PRECEDENCE | AP_SYM_PRECEDENCE);
	fbid = out->signals & AP_FEEDBACK_ID;
	stamp = out->signals & (AP_STAMP | AP_BULK_MAILER | AP_SYM_BULK);
	out->groups = unsub + list + prec + fbid + stamp;
	out->is_newsletter = (unsub && (list || prec || stamp || fbid)) || out->groups >= 2;
}
