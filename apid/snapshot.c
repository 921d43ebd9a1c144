/* snapshot.c - building and storing configuration snapshots (see snapshot.h). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
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

/* snapshot_build - the current policy as a snapshot document */
json_t *snapshot_build(struct db *db, int64_t version, int64_t now)
{
	struct db_policy p;
	json_t *domains = json_array(), *networks = json_array(), *outbound, *snap;
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
