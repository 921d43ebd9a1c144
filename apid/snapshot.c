/* snapshot.c - building and storing configuration snapshots (see snapshot.h). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "http.h"
#include "snapshot.h"
#include "vrtime.h"

/* add_domain - db_domains_list callback */
static int add_domain(const struct db_domain *d, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:I, s:b}", "name", d->name,
					     "internal_host", d->internal_host, "internal_port",
					     (json_int_t)d->internal_port, "verify_recipients",
					     d->verify_recipients));
	return 0;
}

/* add_network - db_networks_list callback */
static int add_network(const struct db_network *n, void *arg)
{
	json_array_append_new(arg, json_string(n->cidr));
	return 0;
}

/* str_or_null - a JSON string, or null for NULL/"" */
static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* add_domain_filter - db_domains_filter_list callback: "name": {thresholds...} */
static int add_domain_filter(const struct db_domain_filter *f, void *arg)
{
	json_object_set_new(arg, f->name,
			    json_pack("{s:f, s:f, s:f, s:s, s:s, s:b}", "spam_tag", f->spam_tag,
				      "spam_quarantine", f->spam_quarantine, "spam_reject",
				      f->spam_reject, "subject_prefix", f->subject_prefix,
				      "newsletter", f->newsletter, "fail_open_spam",
				      f->fail_open_spam));
	return 0;
}

/* list_slot - obj[key][kind] as an array, created when missing */
static json_t *list_slot(json_t *obj, const char *key, const char *kind)
{
	json_t *o = json_object_get(obj, key), *a;

	if (o == NULL) {
		o = json_pack("{s:[], s:[]}", "allow", "block");
		json_object_set_new(obj, key, o);
	}
	a = json_object_get(o, kind);
	return a;
}

/* add_global_entry - db_lists_list callback for the global lists */
static int add_global_entry(const struct db_list_entry *e, void *arg)
{
	json_array_append_new(list_slot(arg, "global", e->kind), json_string(e->pattern));
	return 0;
}

/* add_user_entry - db_lists_by_address callback */
static int add_user_entry(const char *address, const char *kind, const char *pattern, void *arg)
{
	json_array_append_new(list_slot(arg, address, kind), json_string(pattern));
	return 0;
}

/* add_pref - db_newsletter_by_address callback */
static int add_pref(const char *address, const char *choice, void *arg)
{
	json_object_set_new(arg, address, json_string(choice));
	return 0;
}

/* filter_section - the "filter" part of the snapshot; NULL on a database error */
static json_t *filter_section(struct db *db)
{
	struct db_filter_policy fp;
	struct db_list_filter global = {"", NULL};
	json_t *domains = json_object(), *lists = json_object(), *users = json_object();
	json_t *prefs = json_object(), *f = NULL;

	json_object_set_new(lists, "global", json_pack("{s:[], s:[]}", "allow", "block"));
	if (db_filter_policy_get(db, &fp) != VR_OK)
		goto out;
	if (db_domains_filter_list(db, add_domain_filter, domains) != VR_OK ||
	    db_lists_list(db, &global, add_global_entry, lists) != VR_OK ||
	    db_lists_by_address(db, add_user_entry, users) != VR_OK ||
	    db_newsletter_by_address(db, add_pref, prefs) != VR_OK) {
		db_filter_policy_clear(&fp);
		goto out;
	}
	json_object_set(lists, "users", users);
	f = json_pack("{s:s, s:s, s:{s:O, s:O, s:b, s:b}, s:O, s:{s:f, s:f, s:f}, s:O, s:O}",
		      "virus_action", fp.virus_action, "blocklist_action", fp.blocklist_action,
		      "attachments", "blocked_extensions", fp.blocked_extensions, "blocked_types",
		      fp.blocked_types, "block_encrypted_archives", fp.block_encrypted_archives,
		      "inspect_archives", 1, "domains", domains, "outbound", "spam_tag",
		      fp.outbound_spam_tag, "spam_quarantine", fp.outbound_spam_quarantine,
		      "spam_reject", fp.outbound_spam_reject, "lists", lists, "newsletter_prefs",
		      prefs);
	db_filter_policy_clear(&fp);
out:
	json_decref(domains);
	json_decref(lists);
	json_decref(users);
	json_decref(prefs);
	return f;
}

/* snapshot_build - the current policy as a snapshot document */
json_t *snapshot_build(struct db *db, int64_t version, int64_t now)
{
	struct db_policy p;
	json_t *domains = json_array(), *networks = json_array(), *outbound, *snap, *filter;
	char at[VR_TIME_LEN];

	if (db_policy_get(db, &p) != VR_OK || db_domains_list(db, add_domain, domains) != VR_OK ||
	    db_networks_list(db, add_network, networks) != VR_OK) {
		json_decref(domains);
		json_decref(networks);
		return NULL;
	}
	if (strcmp(p.outbound_mode, "smarthost") == 0)
		outbound = json_pack("{s:s, s:o, s:I}", "mode", "smarthost", "smarthost_host",
				     str_or_null(p.smarthost_host), "smarthost_port",
				     (json_int_t)p.smarthost_port);
	else
		outbound = json_pack("{s:s}", "mode", "mx");
	vr_time_format(now, at);
	snap = json_pack(
		"{s:I, s:s, s:s, s:{s:{s:s, s:I}, s:{s:s, s:I}, s:{s:s, s:I}}, s:I, s:o, s:o, s:o,"
		" s:{s:I, s:I, s:I}, s:{s:o, s:o, s:s}}",
		"version", (json_int_t)version, "generated_at", at, "hostname", p.hostname,
		"listeners", "inbound", "address", p.inbound_address, "port",
		(json_int_t)p.inbound_port, "outbound", "address", p.outbound_address, "port",
		(json_int_t)p.outbound_port, "reinject", "address", p.reinject_address, "port",
		(json_int_t)p.reinject_port, "message_size_limit",
		(json_int_t)p.message_size_limit, "domains", domains, "internal_networks",
		networks, "outbound", outbound, "verify_cache", "positive_ttl",
		(json_int_t)p.verify_positive_ttl, "negative_ttl",
		(json_int_t)p.verify_negative_ttl, "flush_generation", (json_int_t)p.verify_flush,
		"tls", "inbound_cert", str_or_null(p.tls_inbound_cert), "inbound_key",
		str_or_null(p.tls_inbound_key), "outbound", p.tls_outbound);
	db_policy_clear(&p);
	VR_CHECK_ALLOC(snap);
	filter = filter_section(db);
	if (filter == NULL) {
		json_decref(snap);
		return NULL;
	}
	json_object_set_new(snap, "filter", filter);
	return snap;
}

/* snapshot_commit - build and store the next version (inside the caller's transaction) */
enum vr_err snapshot_commit(struct db *db, const char *actor, const char *reason,
			    int64_t now, int64_t *version)
{
	int64_t latest;
	char *old, *text;
	json_t *snap;
	enum vr_err e;

	e = db_config_latest(db, &latest, &old);
	free(old);
	if (e != VR_OK)
		return e;
	snap = snapshot_build(db, latest + 1, now);
	if (snap == NULL)
		return VR_E_INTERNAL;
	text = json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(snap);
	VR_CHECK_ALLOC(text);
	e = db_config_add(db, text, actor, reason, now, version);
	free(text);
	if (e == VR_OK && *version != latest + 1)
		VR_DIE("configuration version %lld, expected %lld", (long long)*version,
		       (long long)(latest + 1));
	return e;
}

/* change_tx - apply, version, audit: one transaction */
static enum vr_err change_tx(struct db *db, void *arg)
{
	struct config_change *c = arg;
	int64_t now = vr_now();
	enum vr_err e = c->apply(db, c->arg);
	json_t *d;
	char *detail;

	if (e != VR_OK)
		return e;
	e = snapshot_commit(db, c->r->who.username, c->action, now, &c->version);
	if (e != VR_OK)
		return e;
	d = json_pack("{s:O?, s:O?, s:I}", "before", c->before, "after", c->after, "version",
		      (json_int_t)c->version);
	detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	VR_CHECK_ALLOC(detail);
	e = db_audit_add(db, c->r->who.username, c->action, c->target, true, c->r->client_ip,
			 detail, now);
	free(detail);
	return e;
}

/* config_change - run a change in one transaction; wake agents waiting for a version */
enum vr_err config_change(struct db *db, struct config_change *c)
{
	enum vr_err e = db_tx(db, change_tx, c);

	if (e == VR_OK)
		http_wake();
	return e;
}
