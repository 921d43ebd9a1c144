/* routes_filter.c - the filter's settings: GET/PATCH /api/v1/filter (appliance-wide:
 * virus and block-list actions, attachment policy, outbound spam thresholds) and
 * GET/PATCH /api/v1/domains/{id}/filter (a relay domain's spam thresholds, subject tag,
 * newsletter default, fail-open switch). Changes go through config_change().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"
#include "snapshot.h"
#include "vrtime.h"

struct filter_in {
	const char *virus_action, *blocklist_action;
	json_t *blocked_extensions, *blocked_types;
	bool block_encrypted_archives;
	double tag, quarantine, reject;
};

static const char *const virus_actions[] = {"quarantine", "reject", "discard", NULL};
static const char *const block_actions[] = {"quarantine", "reject", NULL};
#define FI(f) offsetof(struct filter_in, f)
static const struct jspec filter_spec[] = {
	{"virus_action", JSPEC_ENUM, false, 0, 0, virus_actions, FI(virus_action)},
	{"blocklist_action", JSPEC_ENUM, false, 0, 0, block_actions, FI(blocklist_action)},
	{"blocked_extensions", JSPEC_ARRAY, false, 0, 200, NULL, FI(blocked_extensions)},
	{"blocked_types", JSPEC_ARRAY, false, 0, 200, NULL, FI(blocked_types)},
	{"block_encrypted_archives", JSPEC_BOOL, false, 0, 0, NULL, FI(block_encrypted_archives)},
	{"outbound_spam_tag", JSPEC_NUMBER, false, -100, 1000, NULL, FI(tag)},
	{"outbound_spam_quarantine", JSPEC_NUMBER, false, -100, 1000, NULL, FI(quarantine)},
	{"outbound_spam_reject", JSPEC_NUMBER, false, -100, 1000, NULL, FI(reject)},
};

/* json_filter - the API's FilterPolicy object */
static json_t *json_filter(const struct db_filter_policy *f)
{
	return json_pack("{s:s, s:s, s:O, s:O, s:b, s:f, s:f, s:f}", "virus_action",
			 f->virus_action, "blocklist_action", f->blocklist_action,
			 "blocked_extensions", f->blocked_extensions, "blocked_types",
			 f->blocked_types, "block_encrypted_archives", f->block_encrypted_archives,
			 "outbound_spam_tag", f->outbound_spam_tag, "outbound_spam_quarantine",
			 f->outbound_spam_quarantine, "outbound_spam_reject",
			 f->outbound_spam_reject);
}

/* norm_list - check and lower-case every item of arr with ok(); a new array or NULL */
static json_t *norm_list(json_t *arr, bool (*ok)(const char *))
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		char buf[128];
		const char *s = json_string_value(v);
		size_t n;

		if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(buf)) {
			json_decref(out);
			return NULL;
		}
		for (size_t k = 0; k <= n; k++)
			buf[k] = (char)tolower((unsigned char)s[k]);
		if (buf[0] == '.')
			memmove(buf, buf + 1, n);
		if (!ok(buf)) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, json_string(buf));
	}
	return out;
}

/* is_ext - a file name extension: 1 to 16 letters and digits */
static bool is_ext(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return false;
	return true;
}

/* is_mime_type - "type/subtype" with token characters */
static bool is_mime_type(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("/.+-_", *s))
			return false;
	return true;
}

/* thresholds_ok - tag <= quarantine <= reject */
static bool thresholds_ok(double tag, double quarantine, double reject)
{
	return tag <= quarantine && quarantine <= reject;
}

/* h_filter_get - the appliance-wide filter settings */
enum vr_err h_filter_get(struct req *r)
{
	struct db_filter_policy f;
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_filter_policy_get(db, &f)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the filter policy");
	j = json_filter(&f);
	db_filter_policy_clear(&f);
	return reply_json(r, 200, j);
}

/* apply_filter - config_change callback */
static enum vr_err apply_filter(struct db *db, void *arg)
{
	return db_filter_policy_put(db, arg);
}

/* h_filter_patch - change some of the filter settings */
enum vr_err h_filter_patch(struct req *r)
{
	struct filter_in in = {0};
	struct db_filter_policy f;
	uint32_t seen = 0;
	struct db *db;
	enum vr_err e;
	json_t *before, *after, *list;

	if ((e = req_body(r, filter_spec, 8, &in, &seen)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_filter_policy_get(db, &f)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the filter policy");
	before = json_filter(&f);
	e = VR_OK;
	if (seen & 1) {
		free(f.virus_action);
		f.virus_action = strdup(in.virus_action);
	}
	if (seen & 2) {
		free(f.blocklist_action);
		f.blocklist_action = strdup(in.blocklist_action);
	}
	if (seen & 4) {
		if ((list = norm_list(in.blocked_extensions, is_ext)) == NULL)
			e = req_fail(r, VR_E_INVALID_FIELD, "blocked_extensions",
				     "each item must be an extension such as exe (letters, digits)");
		else {
			json_decref(f.blocked_extensions);
			f.blocked_extensions = list;
		}
	}
	if (e == VR_OK && (seen & 8)) {
		if ((list = norm_list(in.blocked_types, is_mime_type)) == NULL)
			e = req_fail(r, VR_E_INVALID_FIELD, "blocked_types",
				     "each item must be a MIME type such as application/x-msdownload");
		else {
			json_decref(f.blocked_types);
			f.blocked_types = list;
		}
	}
	if (seen & 16)
		f.block_encrypted_archives = in.block_encrypted_archives;
	if (seen & 32)
		f.outbound_spam_tag = in.tag;
	if (seen & 64)
		f.outbound_spam_quarantine = in.quarantine;
	if (seen & 128)
		f.outbound_spam_reject = in.reject;
	if (e == VR_OK &&
	    !thresholds_ok(f.outbound_spam_tag, f.outbound_spam_quarantine, f.outbound_spam_reject))
		e = req_fail(r, VR_E_INVALID_FIELD, "outbound_spam_quarantine",
			     "thresholds must satisfy tag <= quarantine <= reject");
	if (e == VR_OK) {
		struct config_change c = {r, apply_filter, &f, "filter.update", "filter", before,
					  NULL, 0};

		VR_CHECK_ALLOC(f.virus_action);
		VR_CHECK_ALLOC(f.blocklist_action);
		after = json_filter(&f);
		c.after = after;
		e = json_equal(before, after) ? VR_OK : config_change(db, &c);
		if (e == VR_OK) {
			json_decref(before);
			db_filter_policy_clear(&f);
			return reply_json(r, 200, after);
		}
		json_decref(after);
		req_fail(r, e, NULL, "cannot store the filter policy");
	}
	json_decref(before);
	db_filter_policy_clear(&f);
	return e;
}

/* ---- per-domain ------------------------------------------------------------------- */

struct dfilter_in {
	double tag, quarantine, reject;
	const char *subject_prefix, *newsletter;
	bool fail_open_spam;
	const char *digest_default, *language_default;
};

static const char *const digest_choices[] = {"off", "daily", "weekly", NULL};
static const char *const language_choices[] = {"fr", "en", NULL};

static const char *const nl_choices[] = {"deliver", "tag", "quarantine", NULL};
#define DI(f) offsetof(struct dfilter_in, f)
static const struct jspec dfilter_spec[] = {
	{"spam_tag", JSPEC_NUMBER, false, -100, 1000, NULL, DI(tag)},
	{"spam_quarantine", JSPEC_NUMBER, false, -100, 1000, NULL, DI(quarantine)},
	{"spam_reject", JSPEC_NUMBER, false, -100, 1000, NULL, DI(reject)},
	{"subject_prefix", JSPEC_STRING, false, 0, 40, NULL, DI(subject_prefix)},
	{"newsletter", JSPEC_ENUM, false, 0, 0, nl_choices, DI(newsletter)},
	{"fail_open_spam", JSPEC_BOOL, false, 0, 0, NULL, DI(fail_open_spam)},
	{"digest_default", JSPEC_ENUM, false, 0, 0, digest_choices, DI(digest_default)},
	{"language_default", JSPEC_ENUM, false, 0, 0, language_choices, DI(language_default)},
};

/* json_dfilter - the API's DomainFilter object */
static json_t *json_dfilter(const struct db_domain_filter *f)
{
	return json_pack("{s:f, s:f, s:f, s:s, s:s, s:b, s:s, s:s}", "spam_tag", f->spam_tag,
			 "spam_quarantine", f->spam_quarantine, "spam_reject", f->spam_reject,
			 "subject_prefix", f->subject_prefix, "newsletter", f->newsletter,
			 "fail_open_spam", f->fail_open_spam, "digest_default", f->digest_default,
			 "language_default", f->language_default);
}

/* h_domain_filter_get - a domain's filter settings */
enum vr_err h_domain_filter_get(struct req *r)
{
	struct db_domain_filter f;
	char *owned[4] = {0};
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_domains_filter(db, r->params[0], &f, owned)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such domain" : "cannot read");
	j = json_dfilter(&f);
	for (int k = 0; k < 4; k++)
		free(owned[k]);
	return reply_json(r, 200, j);
}

struct dfilter_apply {
	const char *id;
	const struct db_domain_filter *f;
};

/* apply_dfilter - config_change callback */
static enum vr_err apply_dfilter(struct db *db, void *arg)
{
	struct dfilter_apply *a = arg;

	return db_domains_filter_put(db, a->id, a->f);
}

/* h_domain_filter_patch - change a domain's filter settings */
enum vr_err h_domain_filter_patch(struct req *r)
{
	struct dfilter_in in = {0};
	struct db_domain_filter f;
	char *owned[4] = {0};
	uint32_t seen = 0;
	struct db *db;
	enum vr_err e;
	json_t *before, *after;

	if ((e = req_body(r, dfilter_spec, 8, &in, &seen)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_domains_filter(db, r->params[0], &f, owned)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such domain" : "cannot read");
	before = json_dfilter(&f);
	if (seen & 1)
		f.spam_tag = in.tag;
	if (seen & 2)
		f.spam_quarantine = in.quarantine;
	if (seen & 4)
		f.spam_reject = in.reject;
	if (seen & 8)
		f.subject_prefix = in.subject_prefix;
	if (seen & 16)
		f.newsletter = in.newsletter;
	if (seen & 32)
		f.fail_open_spam = in.fail_open_spam;
	if (seen & 64)
		f.digest_default = in.digest_default;
	if (seen & 128)
		f.language_default = in.language_default;
	e = VR_OK;
	for (const char *p = f.subject_prefix; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			e = req_fail(r, VR_E_INVALID_FIELD, "subject_prefix",
				     "must not contain control characters");
	if (e == VR_OK && !thresholds_ok(f.spam_tag, f.spam_quarantine, f.spam_reject))
		e = req_fail(r, VR_E_INVALID_FIELD, "spam_quarantine",
			     "thresholds must satisfy tag <= quarantine <= reject");
	if (e == VR_OK) {
		struct dfilter_apply a = {r->params[0], &f};
		struct config_change c = {r, apply_dfilter, &a, "domain.filter_update", r->params[0],
					  before, NULL, 0};

		after = json_dfilter(&f);
		c.after = after;
		e = json_equal(before, after) ? VR_OK : config_change(db, &c);
		if (e == VR_OK) {
			json_decref(before);
			for (int k = 0; k < 4; k++)
				free(owned[k]);
			return reply_json(r, 200, after);
		}
		json_decref(after);
		req_fail(r, e, NULL, "cannot store the domain's filter settings");
	}
	json_decref(before);
	for (int k = 0; k < 4; k++)
		free(owned[k]);
	return e;
}
