/* verdict.c - the filter policy parser and the per-recipient decision (see verdict.h).
 *
 * Parsing: every member goes through one of the get_* helpers, which build the field's path
 * ("domains.corp.test.spam_reject") and word the error, so that each rejection names the
 * field the same way (the snapshot.c way). Deciding: decide_one() is the contract's rule
 * list, top to bottom, one early return per rule that decides.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netaddr.h"
#include "verdict.h"

#define PATH_LEN       192
#define SCORE_MIN      -1000.0
#define SCORE_MAX      100000.0
#define PREFIX_MAX     64
#define DEFAULT_PREFIX "[SPAM]"

/* Where errors go while parsing. */
struct ctx {
	char *err;
	size_t errsz;
};

/* fail - write "path: message" into the error buffer; returns VR_E_INVALID_FIELD */
__attribute__((format(printf, 3, 4))) static enum vr_err fail(struct ctx *c, const char *path,
							      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errsz, "%s: %s", path, msg);
	return VR_E_INVALID_FIELD;
}

/* xstrdup - strdup that aborts on out-of-memory */
static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	VR_CHECK_ALLOC(p);
	return p;
}

/* lower - lower-case s in place; returns s */
static char *lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* join - path = parent + "." + key (or key alone), "..." at the end when cut */
static void join(char path[PATH_LEN], const char *parent, const char *key)
{
	int n;

	if (parent && *parent)
		n = snprintf(path, PATH_LEN, "%s.%s", parent, key);
	else
		n = snprintf(path, PATH_LEN, "%s", key);
	if (n < 0 || n >= PATH_LEN)
		memcpy(path + PATH_LEN - 4, "...", 4);
}

/* get_opt - the member key of obj (NULL when absent or null); path gets its name */
static json_t *get_opt(json_t *obj, const char *parent, const char *key, char path[PATH_LEN])
{
	json_t *v = json_object_get(obj, key);

	join(path, parent, key);
	return json_is_null(v) ? NULL : v;
}

/* get_object - an optional object member; *out NULL when absent */
static enum vr_err get_object(struct ctx *c, json_t *obj, const char *parent, const char *key,
			      char path[PATH_LEN], json_t **out)
{
	*out = get_opt(obj, parent, key, path);
	if (*out != NULL && !json_is_object(*out))
		return fail(c, path, "must be an object");
	return VR_OK;
}

/* get_bool - an optional boolean; *out untouched when absent */
static enum vr_err get_bool(struct ctx *c, json_t *obj, const char *parent, const char *key,
			    bool *out)
{
	char path[PATH_LEN];
	json_t *v = get_opt(obj, parent, key, path);

	if (v == NULL)
		return VR_OK;
	if (!json_is_boolean(v))
		return fail(c, path, "must be true or false");
	*out = json_is_true(v);
	return VR_OK;
}

/* get_score - an optional finite number within the score range */
static enum vr_err get_score(struct ctx *c, json_t *obj, const char *parent, const char *key,
			     double *out)
{
	char path[PATH_LEN];
	json_t *v = get_opt(obj, parent, key, path);

	if (v == NULL)
		return VR_OK;
	if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
	    json_number_value(v) < SCORE_MIN || json_number_value(v) > SCORE_MAX)
		return fail(c, path, "must be a number from %g to %g", SCORE_MIN, SCORE_MAX);
	*out = json_number_value(v);
	return VR_OK;
}

/* get_choice - an optional string among names[]; *out gets its value from values[] */
static enum vr_err get_choice(struct ctx *c, json_t *obj, const char *parent, const char *key,
			      const char *const *names, const int *values, size_t n, int *out)
{
	char path[PATH_LEN];
	json_t *v = get_opt(obj, parent, key, path);

	if (v == NULL)
		return VR_OK;
	for (size_t i = 0; json_is_string(v) && i < n; i++)
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = values[i];
			return VR_OK;
		}
	return fail(c, path, "must be one of %s%s%s%s%s", names[0], n > 1 ? ", " : "",
		    n > 1 ? names[1] : "", n > 2 ? ", " : "", n > 2 ? names[2] : "");
}

/* get_strings - an optional array of strings, each checked by check() (NULL or a reason)
 * and added to the set; the set is sealed */
static enum vr_err get_strings(struct ctx *c, json_t *obj, const char *parent, const char *key,
			       const char *(*check)(const char *), struct pattern_set *set)
{
	char path[PATH_LEN], ipath[PATH_LEN + 24];
	json_t *arr = get_opt(obj, parent, key, path), *v;
	size_t i;

	if (arr == NULL)
		return VR_OK;
	if (!json_is_array(arr))
		return fail(c, path, "must be an array of strings");
	json_array_foreach(arr, i, v)
	{
		const char *why;

		if (snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i) < 0)
			ipath[0] = '\0';
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return fail(c, ipath, "must be a string");
		if ((why = check(json_string_value(v))) != NULL)
			return fail(c, ipath, "%s", why);
		pattern_set_add(set, json_string_value(v)[0] == '.' ? json_string_value(v) + 1
								    : json_string_value(v));
	}
	pattern_set_seal(set);
	return VR_OK;
}

/* check_extension - "exe" or ".exe": 1-16 letters, digits, '_' or '-' */
static const char *check_extension(const char *s)
{
	size_t n;

	if (*s == '.')
		s++;
	n = strlen(s);
	if (n == 0 || n > 16)
		return "must be an extension of 1 to 16 characters";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return "may hold only letters, digits, '_' and '-'";
	return NULL;
}

/* check_type - "type/subtype" of printable characters without white space */
static const char *check_type(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/'))
		return "must be a MIME type (type/subtype)";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return "must be a MIME type (type/subtype)";
	if (strlen(s) > 127)
		return "is longer than 127 characters";
	return NULL;
}

/* check_address - an exact address (a list key): "local@domain" */
static const char *check_address(const char *s)
{
	const char *why;

	if (strchr(s, '@') == NULL || strncmp(s, "*@", 2) == 0)
		return "must be an e-mail address";
	why = lists_check_pattern(s);
	return why;
}

static const char *const nl_names[] = {"deliver", "tag", "quarantine"};
static const int nl_values[] = {NL_DELIVER, NL_TAG, NL_QUARANTINE};

/* get_thresholds - spam_tag, spam_quarantine, spam_reject, in order */
static enum vr_err get_thresholds(struct ctx *c, json_t *obj, const char *parent,
				  struct spam_thresholds *t)
{
	char path[PATH_LEN];
	enum vr_err e;

	if ((e = get_score(c, obj, parent, "spam_tag", &t->tag)) != VR_OK ||
	    (e = get_score(c, obj, parent, "spam_quarantine", &t->quarantine)) != VR_OK ||
	    (e = get_score(c, obj, parent, "spam_reject", &t->reject)) != VR_OK)
		return e;
	if (t->quarantine < t->tag) {
		join(path, parent, "spam_quarantine");
		return fail(c, path, "must not be below spam_tag (%g)", t->tag);
	}
	if (t->reject < t->quarantine) {
		join(path, parent, "spam_reject");
		return fail(c, path, "must not be below spam_quarantine (%g)", t->quarantine);
	}
	return VR_OK;
}

/* parse_attachments - the "attachments" object over the defaults */
static enum vr_err parse_attachments(struct ctx *c, json_t *f, struct attach_policy *a)
{
	char path[PATH_LEN], tmp[PATH_LEN];
	json_t *o;
	enum vr_err e;

	attach_policy_defaults(a);
	if ((e = get_object(c, f, "", "attachments", path, &o)) != VR_OK || o == NULL)
		return e;
	/* a list that is given replaces the default one; absent or null keeps it */
	if (get_opt(o, path, "blocked_extensions", tmp) != NULL)
		pattern_set_free(&a->blocked_extensions);
	if (get_opt(o, path, "blocked_types", tmp) != NULL)
		pattern_set_free(&a->blocked_types);
	if ((e = get_strings(c, o, path, "blocked_extensions", check_extension,
			     &a->blocked_extensions)) != VR_OK ||
	    (e = get_strings(c, o, path, "blocked_types", check_type, &a->blocked_types)) !=
		VR_OK ||
	    (e = get_bool(c, o, path, "block_encrypted_archives", &a->block_encrypted_archives)) !=
		VR_OK)
		return e;
	return get_bool(c, o, path, "inspect_archives", &a->inspect_archives);
}

/* cmp_domain, cmp_user, cmp_pref - sort by name / address */
static int cmp_domain(const void *a, const void *b)
{
	return strcmp(((const struct filter_domain *)a)->name,
		      ((const struct filter_domain *)b)->name);
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct filter_user *)a)->address,
		      ((const struct filter_user *)b)->address);
}

static int cmp_pref(const void *a, const void *b)
{
	return strcmp(((const struct filter_nl_pref *)a)->address,
		      ((const struct filter_nl_pref *)b)->address);
}

/* parse_domains - the "domains" object, keyed by domain name */
static enum vr_err parse_domains(struct ctx *c, json_t *f, struct filter_policy *p)
{
	char path[PATH_LEN], dpath[PATH_LEN];
	const char *key, *why;
	json_t *o, *v;
	enum vr_err e;

	if ((e = get_object(c, f, "", "domains", path, &o)) != VR_OK || o == NULL)
		return e;
	p->domains = calloc(json_object_size(o) + 1, sizeof(*p->domains));
	VR_CHECK_ALLOC(p->domains);
	json_object_foreach(o, key, v)
	{
		struct filter_domain *d = &p->domains[p->n_domains];
		char ppath[PATH_LEN];
		json_t *pre;
		int nl = NL_DELIVER;

		join(dpath, path, key);
		if ((why = vr_check_domain(key)) != NULL)
			return fail(c, dpath, "is not a domain name: %s", why);
		if (!json_is_object(v))
			return fail(c, dpath, "must be an object");
		d->name = lower(xstrdup(key));
		d->subject_prefix = xstrdup(DEFAULT_PREFIX);
		p->n_domains++;
		d->spam = (struct spam_thresholds){5, 8, 15};
		if ((e = get_thresholds(c, v, dpath, &d->spam)) != VR_OK ||
		    (e = get_choice(c, v, dpath, "newsletter", nl_names, nl_values, 3, &nl)) !=
			VR_OK ||
		    (e = get_bool(c, v, dpath, "fail_open_spam", &d->fail_open_spam)) != VR_OK)
			return e;
		d->newsletter = (enum newsletter_pref)nl;
		if ((pre = get_opt(v, dpath, "subject_prefix", ppath)) != NULL) {
			const char *s = json_string_value(pre);

			if (!json_is_string(pre) || strlen(s) > PREFIX_MAX ||
			    strlen(s) != json_string_length(pre))
				return fail(c, ppath, "must be a string of at most %d bytes",
					    PREFIX_MAX);
			for (const char *q = s; *q; q++)
				if ((unsigned char)*q < 0x20 || *q == 0x7f)
					return fail(c, ppath, "must not hold control characters");
			free(d->subject_prefix);
			d->subject_prefix = xstrdup(s);
		}
	}
	qsort(p->domains, p->n_domains, sizeof(*p->domains), cmp_domain);
	for (size_t i = 1; i < p->n_domains; i++)
		if (strcmp(p->domains[i].name, p->domains[i - 1].name) == 0) {
			join(dpath, "domains", p->domains[i].name);
			return fail(c, dpath, "is listed twice (names are case-insensitive)");
		}
	return VR_OK;
}

/* parse_lists - "lists": global allow/block, and users' by recipient address */
static enum vr_err parse_lists(struct ctx *c, json_t *f, struct filter_policy *p)
{
	char path[PATH_LEN], gpath[PATH_LEN], upath[PATH_LEN], one[PATH_LEN];
	const char *key, *why;
	json_t *lists, *g, *users, *v;
	enum vr_err e;

	if ((e = get_object(c, f, "", "lists", path, &lists)) != VR_OK || lists == NULL)
		return e;
	if ((e = get_object(c, lists, "lists", "global", gpath, &g)) != VR_OK)
		return e;
	if (g != NULL &&
	    ((e = get_strings(c, g, gpath, "allow", lists_check_pattern, &p->global_allow)) !=
		 VR_OK ||
	     (e = get_strings(c, g, gpath, "block", lists_check_pattern, &p->global_block)) !=
		 VR_OK))
		return e;
	if ((e = get_object(c, lists, "lists", "users", upath, &users)) != VR_OK || users == NULL)
		return e;
	p->users = calloc(json_object_size(users) + 1, sizeof(*p->users));
	VR_CHECK_ALLOC(p->users);
	json_object_foreach(users, key, v)
	{
		struct filter_user *u = &p->users[p->n_users];

		join(one, upath, key);
		if ((why = check_address(key)) != NULL)
			return fail(c, one, "%s", why);
		if (!json_is_object(v))
			return fail(c, one, "must be an object");
		u->address = lower(xstrdup(key));
		p->n_users++;
		if ((e = get_strings(c, v, one, "allow", lists_check_pattern, &u->allow)) !=
			VR_OK ||
		    (e = get_strings(c, v, one, "block", lists_check_pattern, &u->block)) != VR_OK)
			return e;
	}
	qsort(p->users, p->n_users, sizeof(*p->users), cmp_user);
	for (size_t i = 1; i < p->n_users; i++)
		if (strcmp(p->users[i].address, p->users[i - 1].address) == 0) {
			join(one, upath, p->users[i].address);
			return fail(c, one, "is listed twice (addresses are case-insensitive)");
		}
	return VR_OK;
}

/* parse_prefs - "newsletter_prefs": recipient address -> deliver | tag | quarantine */
static enum vr_err parse_prefs(struct ctx *c, json_t *f, struct filter_policy *p)
{
	char path[PATH_LEN], one[PATH_LEN];
	const char *key, *why;
	json_t *o, *v;
	enum vr_err e;

	if ((e = get_object(c, f, "", "newsletter_prefs", path, &o)) != VR_OK || o == NULL)
		return e;
	p->nl_prefs = calloc(json_object_size(o) + 1, sizeof(*p->nl_prefs));
	VR_CHECK_ALLOC(p->nl_prefs);
	json_object_foreach(o, key, v)
	{
		int pref = NL_DELIVER;

		join(one, path, key);
		if ((why = check_address(key)) != NULL)
			return fail(c, one, "%s", why);
		if ((e = get_choice(c, o, path, key, nl_names, nl_values, 3, &pref)) != VR_OK)
			return e;
		p->nl_prefs[p->n_nl_prefs].address = lower(xstrdup(key));
		p->nl_prefs[p->n_nl_prefs++].pref = (enum newsletter_pref)pref;
	}
	qsort(p->nl_prefs, p->n_nl_prefs, sizeof(*p->nl_prefs), cmp_pref);
	for (size_t i = 1; i < p->n_nl_prefs; i++)
		if (strcmp(p->nl_prefs[i].address, p->nl_prefs[i - 1].address) == 0) {
			join(one, path, p->nl_prefs[i].address);
			return fail(c, one, "is listed twice (addresses are case-insensitive)");
		}
	return VR_OK;
}

/* filter_policy_parse - defaults, then each member */
enum vr_err filter_policy_parse(json_t *filter, struct filter_policy *p, char *err, size_t errsz)
{
	static const char *const virus_names[] = {"quarantine", "reject", "discard"};
	static const int virus_values[] = {FA_QUARANTINE, FA_REJECT, FA_DISCARD};
	struct ctx c = {err, errsz};
	char path[PATH_LEN];
	int va = FA_QUARANTINE, ba = FA_QUARANTINE;
	json_t *o;
	enum vr_err e;

	memset(p, 0, sizeof(*p));
	if (errsz > 0)
		err[0] = '\0';
	p->virus_action = p->blocklist_action = FA_QUARANTINE;
	p->outbound = (struct spam_thresholds){5, 8, 15};
	if (filter != NULL && !json_is_object(filter))
		return fail(&c, "filter", "must be an object");
	if ((e = get_choice(&c, filter, "", "virus_action", virus_names, virus_values, 3, &va)) !=
		VR_OK ||
	    (e = get_choice(&c, filter, "", "blocklist_action", virus_names, virus_values, 2,
			    &ba)) != VR_OK)
		return e;
	p->virus_action = (enum filter_action)va;
	p->blocklist_action = (enum filter_action)ba;
	if ((e = parse_attachments(&c, filter, &p->attach)) != VR_OK ||
	    (e = parse_domains(&c, filter, p)) != VR_OK)
		return e;
	if ((e = get_object(&c, filter, "", "outbound", path, &o)) != VR_OK ||
	    (o != NULL && (e = get_thresholds(&c, o, "outbound", &p->outbound)) != VR_OK))
		return e;
	if ((e = parse_lists(&c, filter, p)) != VR_OK)
		return e;
	return parse_prefs(&c, filter, p);
}

/* filter_policy_free - everything the policy owns */
void filter_policy_free(struct filter_policy *p)
{
	attach_policy_free(&p->attach);
	for (size_t i = 0; i < p->n_domains; i++) {
		free(p->domains[i].name);
		free(p->domains[i].subject_prefix);
	}
	free(p->domains);
	pattern_set_free(&p->global_allow);
	pattern_set_free(&p->global_block);
	for (size_t i = 0; i < p->n_users; i++) {
		free(p->users[i].address);
		pattern_set_free(&p->users[i].allow);
		pattern_set_free(&p->users[i].block);
	}
	free(p->users);
	for (size_t i = 0; i < p->n_nl_prefs; i++)
		free(p->nl_prefs[i].address);
	free(p->nl_prefs);
	memset(p, 0, sizeof(*p));
}

/* filter_policy_domain - binary search by lower-cased name */
const struct filter_domain *filter_policy_domain(const struct filter_policy *p, const char *domain)
{
	char low[256];
	struct filter_domain key = {.name = low};

	if (domain == NULL || strlen(domain) >= sizeof(low) || p->n_domains == 0)
		return NULL;
	strcpy(low, domain);
	lower(low);
	return bsearch(&key, p->domains, p->n_domains, sizeof(key), cmp_domain);
}

/* find_user - the lists of a normalised recipient address, or NULL */
static const struct filter_user *find_user(const struct filter_policy *p, const char *addr)
{
	struct filter_user key = {.address = (char *)addr};

	if (p->n_users == 0)
		return NULL;
	return bsearch(&key, p->users, p->n_users, sizeof(key), cmp_user);
}

/* find_pref - the newsletter preference of a normalised address, or NULL */
static const struct filter_nl_pref *find_pref(const struct filter_policy *p, const char *addr)
{
	struct filter_nl_pref key = {.address = (char *)addr};

	if (p->n_nl_prefs == 0)
		return NULL;
	return bsearch(&key, p->nl_prefs, p->n_nl_prefs, sizeof(key), cmp_pref);
}

/* The sender as both addresses the lists look at. */
struct sender {
	const char *env, *hdr;
};

/* sender_match - the pattern of set that the envelope sender or the From: address matches,
 * and which of the two did (*who), or NULL */
static const char *sender_match(const struct pattern_set *set, const struct sender *s,
				const char **who)
{
	const char *m;

	if ((m = pattern_set_match(set, s->env)) != NULL) {
		*who = s->env;
		return m;
	}
	if ((m = pattern_set_match(set, s->hdr)) != NULL) {
		*who = s->hdr;
		return m;
	}
	return NULL;
}

/* make_printable - turn control characters and bytes that are not UTF-8 (a sender's
 * address, or one cut by %.80s) into '?', so that the reason can go into logs and JSON */
static void make_printable(char *s)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	unsigned char *u = (unsigned char *)s;

	while (*u) {
		size_t n = *u < 0x80   ? 1
			   : *u < 0xc0 ? 0
			   : *u < 0xe0 ? 2
			   : *u < 0xf0 ? 3
			   : *u < 0xf8 ? 4
				       : 0;
		uint32_t cp = n == 1 ? *u : n ? *u & (0x7f >> n) : 0;
		size_t k = 1;

		while (k < n && (u[k] & 0xc0) == 0x80)
			cp = cp << 6 | (u[k++] & 0x3f);
		if (n == 0 || k < n || cp < min[n] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			*u++ = '?'; /* one byte at a time: the rest is looked at again */
			continue;
		}
		if (cp < 0x20 || cp == 0x7f)
			*u = '?';
		u += n;
	}
}

/* set - fill one outcome; returns true (the rule decided) */
__attribute__((format(printf, 4, 5))) static bool
set(struct verdict_rcpt *o, enum filter_action a, enum filter_category cat, const char *fmt, ...)
{
	va_list ap;

	o->action = a;
	o->category = cat;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	make_printable(o->reason);
	return true;
}

/* decide_one - the contract's rules 1-7 for one recipient; always true */
static bool decide_one(const struct filter_policy *p, const struct verdict_input *in,
		       const struct sender *snd, const char *rcpt, struct verdict_rcpt *o)
{
	const struct verdict_scan *s = &in->scan;
	char r[LIST_ADDR_MAX + 1], note[96] = "";
	bool known = lists_norm_addr(rcpt, r, sizeof(r));
	const struct filter_domain *dom = NULL;
	const struct filter_user *u = known ? find_user(p, r) : NULL;
	const char *m, *who = "", *allowed = NULL, *allowed_by = "";
	bool tag_spam = false, tag_nl = false;
	double score = s->spam_score;

	o->subject_prefix = "";
	if (known && in->direction == FD_INBOUND)
		dom = filter_policy_domain(p, strrchr(r, '@') + 1);
	/* 1. virus: always, whatever the lists say */
	if (!s->av_ok)
		return set(o, FA_TEMPFAIL, FC_VIRUS, "antivirus scan failed: %.150s",
			   s->av_error ? s->av_error : "unknown error");
	if (s->virus != NULL)
		return set(o, p->virus_action, FC_VIRUS, "virus %.150s", s->virus);
	/* 2. block lists: the recipient's, then the global one */
	if (u != NULL && (m = sender_match(&u->block, snd, &who)) != NULL)
		return set(o, p->blocklist_action, FC_BLOCKLIST,
			   "sender %.80s on the recipient's block list (%.80s)", who, m);
	if ((m = sender_match(&p->global_block, snd, &who)) != NULL)
		return set(o, p->blocklist_action, FC_BLOCKLIST,
			   "sender %.80s on the global block list (%.80s)", who, m);
	/* 3. allow lists skip 4 and 5 */
	if (u != NULL && (allowed = sender_match(&u->allow, snd, &who)) != NULL)
		allowed_by = "the recipient's";
	else if ((allowed = sender_match(&p->global_allow, snd, &who)) != NULL)
		allowed_by = "the global";
	if (allowed == NULL) {
		const struct spam_thresholds *t = dom ? &dom->spam : &p->outbound;
		const struct filter_nl_pref *pref;
		enum newsletter_pref nl;

		/* 4. spam */
		if (!s->spam_ok) {
			if (dom == NULL || !dom->fail_open_spam)
				return set(o, FA_TEMPFAIL, FC_SPAM, "spam scan failed: %.150s",
					   s->spam_error ? s->spam_error : "unknown error");
			score = 0;
			snprintf(note, sizeof(note), " (spam scan failed, domain fails open)");
		}
		if (score >= t->reject)
			return set(o, FA_REJECT, FC_SPAM, "spam score %.2f >= %.2f", score,
				   t->reject);
		if (score >= t->quarantine)
			return set(o, FA_QUARANTINE, FC_SPAM, "spam score %.2f >= %.2f", score,
				   t->quarantine);
		tag_spam = score >= t->tag;
		/* 5. newsletter */
		if (s->newsletter) {
			pref = known ? find_pref(p, r) : NULL;
			nl = pref ? pref->pref : dom ? dom->newsletter : NL_DELIVER;
			if (nl == NL_QUARANTINE)
				return set(o, FA_QUARANTINE, FC_NEWSLETTER,
					   "newsletter (%s: quarantine)%s",
					   pref ? "recipient's preference" : "domain default",
					   note);
			tag_nl = nl == NL_TAG;
		}
	}
	/* 6. attachments */
	if (s->attach != NULL && s->attach->total > 0) {
		const struct attach_finding *f = &s->attach->v[0];

		if (s->attach->n == 0)
			return set(o, FA_QUARANTINE, FC_ATTACHMENT, "blocked attachment");
		return set(o, FA_QUARANTINE, FC_ATTACHMENT, "attachment %.80s: %.80s%s", f->name,
			   f->detail, note);
	}
	/* 7. deliver, tagged if 4 or 5 said so */
	if (tag_spam) {
		o->subject_prefix = dom ? dom->subject_prefix : "";
		return set(o, FA_TAG, FC_SPAM, "spam score %.2f >= %.2f%s%s", score,
			   dom ? dom->spam.tag : p->outbound.tag, tag_nl ? ", newsletter" : "",
			   note);
	}
	if (tag_nl)
		return set(o, FA_TAG, FC_NEWSLETTER, "newsletter, tagged%s", note);
	if (allowed != NULL)
		return set(o, FA_DELIVER, FC_CLEAN, "sender %.80s on %s allow list (%.80s)", who,
			   allowed_by, allowed);
	return set(o, FA_DELIVER, FC_CLEAN, "spam score %.2f%s", score, note);
}

/* verdict_decide - every recipient, then the summary */
void verdict_decide(const struct filter_policy *p, const struct verdict_input *in,
		    struct verdict_rcpt *out, struct verdict_summary *sum)
{
	struct sender snd = {in->env_from, in->hdr_from};
	size_t n = in->n_rcpts;

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		decide_one(p, in, &snd, in->rcpts[i], &out[i]);
		sum->count[out[i].action]++;
	}
	if (sum->count[FA_TEMPFAIL] > 0)
		sum->action = FA_TEMPFAIL;
	else if (n > 0 && sum->count[FA_DISCARD] == n)
		sum->action = FA_DISCARD;
	else if (n > 0 && sum->count[FA_REJECT] > 0 &&
		 sum->count[FA_REJECT] + sum->count[FA_DISCARD] == n)
		sum->action = FA_REJECT; /* nobody proceeds: the sender must hear of it */
	else
		sum->action = FA_DELIVER;
}

/* filter_action_str - contract names */
const char *filter_action_str(enum filter_action a)
{
	static const char *const names[] = {"deliver", "tag",	  "quarantine",
					    "reject",  "discard", "tempfail"};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

/* filter_category_str - contract names */
const char *filter_category_str(enum filter_category c)
{
	static const char *const names[] = {"clean",	  "spam",	"virus",
					    "newsletter", "attachment", "blocklist"};

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}
