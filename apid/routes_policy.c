/* routes_policy.c - mail policy: GET/PATCH /api/v1/policy, /api/v1/domains[/{id}],
 * /api/v1/networks[/{id}], POST /api/v1/policy/verify-cache/flush.
 *
 * Every change runs through config_change() (snapshot.c): the change, a new
 * configuration version and an audit event with the before and after values commit in
 * one transaction, and waiting agents are woken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netaddr.h"
#include "routes.h"
#include "snapshot.h"
#include "vrtime.h"

/* ---- policy ---------------------------------------------------------------------- */

struct policy_in {
	const char *hostname, *inbound_address, *outbound_address, *reinject_address;
	int64_t inbound_port, outbound_port, reinject_port, message_size_limit;
	const char *outbound_mode, *smarthost_host;
	int64_t smarthost_port, verify_positive_ttl, verify_negative_ttl;
	const char *tls_inbound_cert, *tls_inbound_key, *tls_outbound;
};

static const char *const modes[] = {"mx", "smarthost", NULL};
static const char *const tls_modes[] = {"none", "may", "encrypt", NULL};

#define P(f) offsetof(struct policy_in, f)
static const struct jspec policy_spec[] = {
	{"hostname", JSPEC_STRING, false, 1, 253, NULL, P(hostname)},
	{"inbound_address", JSPEC_STRING, false, 2, 45, NULL, P(inbound_address)},
	{"inbound_port", JSPEC_INT, false, 1, 65535, NULL, P(inbound_port)},
	{"outbound_address", JSPEC_STRING, false, 2, 45, NULL, P(outbound_address)},
	{"outbound_port", JSPEC_INT, false, 1, 65535, NULL, P(outbound_port)},
	{"reinject_address", JSPEC_STRING, false, 2, 45, NULL, P(reinject_address)},
	{"reinject_port", JSPEC_INT, false, 1, 65535, NULL, P(reinject_port)},
	{"message_size_limit", JSPEC_INT, false, 10240, 2147483647, NULL, P(message_size_limit)},
	{"outbound_mode", JSPEC_ENUM, false, 0, 0, modes, P(outbound_mode)},
	{"smarthost_host", JSPEC_STRING, false, 0, 253, NULL, P(smarthost_host)},
	{"smarthost_port", JSPEC_INT, false, 1, 65535, NULL, P(smarthost_port)},
	{"verify_positive_ttl", JSPEC_INT, false, 60, 2592000, NULL, P(verify_positive_ttl)},
	{"verify_negative_ttl", JSPEC_INT, false, 10, 2592000, NULL, P(verify_negative_ttl)},
	{"tls_inbound_cert", JSPEC_STRING, false, 0, 1024, NULL, P(tls_inbound_cert)},
	{"tls_inbound_key", JSPEC_STRING, false, 0, 1024, NULL, P(tls_inbound_key)},
	{"tls_outbound", JSPEC_ENUM, false, 0, 0, tls_modes, P(tls_outbound)},
};
#define NPOLICY (sizeof(policy_spec) / sizeof(policy_spec[0]))

/* json_policy - the API's Policy object */
static json_t *json_policy(const struct db_policy *p, int64_t version)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:s, s:s?, s:o, s:I, s:I,"
			 " s:s?, s:s?, s:s}",
			 "version", (json_int_t)version, "hostname", p->hostname,
			 "inbound_address", p->inbound_address, "inbound_port",
			 (json_int_t)p->inbound_port, "outbound_address", p->outbound_address,
			 "outbound_port", (json_int_t)p->outbound_port, "reinject_address",
			 p->reinject_address, "reinject_port", (json_int_t)p->reinject_port,
			 "message_size_limit", (json_int_t)p->message_size_limit, "outbound_mode",
			 p->outbound_mode, "smarthost_host", p->smarthost_host, "smarthost_port",
			 p->smarthost_port ? json_integer(p->smarthost_port) : json_null(),
			 "verify_positive_ttl", (json_int_t)p->verify_positive_ttl,
			 "verify_negative_ttl", (json_int_t)p->verify_negative_ttl,
			 "tls_inbound_cert", p->tls_inbound_cert, "tls_inbound_key",
			 p->tls_inbound_key, "tls_outbound", p->tls_outbound);
}

/* set_str - replace a malloc'd string with a copy of v ("" clears it to NULL) */
static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v && *v ? strdup(v) : NULL;
	if (v && *v)
		VR_CHECK_ALLOC(*slot);
}

/* is_loopback - is text an address of 127.0.0.0/8 or ::1? */
static bool is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

/* policy_validate - the merged policy must hold together; names the field at fault */
static enum vr_err policy_validate(struct req *r, const struct db_policy *p)
{
	const char *why;

	if ((why = vr_check_host(p->hostname)) || vr_check_ip(p->hostname) == NULL)
		return req_fail(r, VR_E_INVALID_FIELD, "hostname", "must be a host name: %s",
				why ? why : "an address is not a host name");
	if ((why = vr_check_ip(p->inbound_address)))
		return req_fail(r, VR_E_INVALID_FIELD, "inbound_address", "%s", why);
	if ((why = vr_check_ip(p->outbound_address)))
		return req_fail(r, VR_E_INVALID_FIELD, "outbound_address", "%s", why);
	if ((why = vr_check_ip(p->reinject_address)))
		return req_fail(r, VR_E_INVALID_FIELD, "reinject_address", "%s", why);
	/* the reinjection listener skips the filter: it must never face a network */
	if (!is_loopback(p->reinject_address))
		return req_fail(r, VR_E_INVALID_FIELD, "reinject_address",
				"must be a loopback address (127.0.0.0/8 or ::1)");
	if (p->outbound_port == p->inbound_port)
		return req_fail(r, VR_E_INVALID_FIELD, "outbound_port",
				"must differ from inbound_port");
	if (p->reinject_port == p->inbound_port || p->reinject_port == p->outbound_port)
		return req_fail(r, VR_E_INVALID_FIELD, "reinject_port",
				"must differ from the inbound and outbound ports");
	if (strcmp(p->outbound_mode, "smarthost") == 0) {
		if (p->smarthost_host == NULL)
			return req_fail(r, VR_E_INVALID_FIELD, "smarthost_host",
					"is required when outbound_mode is smarthost");
		if (p->smarthost_port == 0)
			return req_fail(r, VR_E_INVALID_FIELD, "smarthost_port",
					"is required when outbound_mode is smarthost");
	}
	if (p->smarthost_host && (why = vr_check_host(p->smarthost_host)))
		return req_fail(r, VR_E_INVALID_FIELD, "smarthost_host", "%s", why);
	if ((p->tls_inbound_cert == NULL) != (p->tls_inbound_key == NULL))
		return req_fail(r, VR_E_INVALID_FIELD,
				p->tls_inbound_cert ? "tls_inbound_key" : "tls_inbound_cert",
				"tls_inbound_cert and tls_inbound_key go together");
	if (p->tls_inbound_cert && p->tls_inbound_cert[0] != '/')
		return req_fail(r, VR_E_INVALID_FIELD, "tls_inbound_cert",
				"must be an absolute path on the filtering node");
	if (p->tls_inbound_key && p->tls_inbound_key[0] != '/')
		return req_fail(r, VR_E_INVALID_FIELD, "tls_inbound_key",
				"must be an absolute path on the filtering node");
	return VR_OK;
}

/* current_version - the newest configuration version */
static enum vr_err current_version(struct db *db, int64_t *version)
{
	char *text;
	enum vr_err e = db_config_latest(db, version, &text);

	free(text);
	return e;
}

/* h_policy_get - the appliance-wide mail settings */
enum vr_err h_policy_get(struct req *r)
{
	struct db_policy p;
	int64_t version;
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_policy_get(db, &p)) != VR_OK || (e = current_version(db, &version)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the policy");
	j = json_policy(&p, version);
	db_policy_clear(&p);
	return reply_json(r, 200, j);
}

/* apply_policy - change callback: write the merged policy */
static enum vr_err apply_policy(struct db *db, void *arg)
{
	return db_policy_put(db, arg);
}

/* h_policy_patch - change some settings; the rest stay as they are */
enum vr_err h_policy_patch(struct req *r)
{
	struct policy_in in = {0};
	struct db_policy p;
	uint32_t seen = 0;
	struct db *db;
	enum vr_err e;
	json_t *before, *after;

	if ((e = req_body(r, policy_spec, NPOLICY, &in, &seen)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_policy_get(db, &p)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the policy");
	before = json_policy(&p, 0);
#define SEEN(f) (seen & (1u << (f)))
	if (SEEN(0)) set_str(&p.hostname, in.hostname);
	if (SEEN(1)) set_str(&p.inbound_address, in.inbound_address);
	if (SEEN(2)) p.inbound_port = in.inbound_port;
	if (SEEN(3)) set_str(&p.outbound_address, in.outbound_address);
	if (SEEN(4)) p.outbound_port = in.outbound_port;
	if (SEEN(5)) set_str(&p.reinject_address, in.reinject_address);
	if (SEEN(6)) p.reinject_port = in.reinject_port;
	if (SEEN(7)) p.message_size_limit = in.message_size_limit;
	if (SEEN(8)) set_str(&p.outbound_mode, in.outbound_mode);
	if (SEEN(9)) set_str(&p.smarthost_host, in.smarthost_host);
	if (SEEN(10)) p.smarthost_port = in.smarthost_port;
	if (SEEN(11)) p.verify_positive_ttl = in.verify_positive_ttl;
	if (SEEN(12)) p.verify_negative_ttl = in.verify_negative_ttl;
	if (SEEN(13)) set_str(&p.tls_inbound_cert, in.tls_inbound_cert);
	if (SEEN(14)) set_str(&p.tls_inbound_key, in.tls_inbound_key);
	if (SEEN(15)) set_str(&p.tls_outbound, in.tls_outbound);
#undef SEEN
	e = policy_validate(r, &p);
	if (e == VR_OK) {
		struct config_change c = {r, apply_policy, &p, "policy.update", "policy", before, NULL, 0};

		after = json_policy(&p, 0);
		c.after = after;
		json_object_del(before, "version");
		json_object_del(after, "version");
		/* nothing changes: no new version, no audit event */
		e = json_equal(before, after) ? VR_OK : config_change(db, &c);
		if (e == VR_OK && c.version == 0)
			e = current_version(db, &c.version);
		json_decref(after);
		if (e == VR_OK) {
			json_decref(before);
			after = json_policy(&p, c.version);
			db_policy_clear(&p);
			return reply_json(r, 200, after);
		}
		req_fail(r, e, NULL, "cannot store the policy");
	}
	json_decref(before);
	db_policy_clear(&p);
	return e;
}

/* apply_flush - change callback: bump the verification cache generation */
static enum vr_err apply_flush(struct db *db, void *arg)
{
	struct db_policy *p = arg;

	p->verify_flush++;
	return db_policy_put(db, p);
}

/* h_verify_flush - make every agent forget its recipient verification results */
enum vr_err h_verify_flush(struct req *r)
{
	struct db_policy p;
	struct db *db;
	enum vr_err e;
	struct config_change c = {r, apply_flush, &p, "policy.verify_cache_flush", "policy", NULL, NULL,
			   0};

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_policy_get(db, &p)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the policy");
	e = config_change(db, &c);
	db_policy_clear(&p);
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot flush");
	return reply_json(r, 202, json_pack("{s:I}", "version", (json_int_t)c.version));
}

/* ---- domains --------------------------------------------------------------------- */

struct domain_in {
	const char *name, *internal_host;
	int64_t internal_port;
	bool verify_recipients;
};

#define D(f) offsetof(struct domain_in, f)
static const struct jspec domain_spec[] = {
	{"name", JSPEC_STRING, true, 1, 253, NULL, D(name)},
	{"internal_host", JSPEC_STRING, true, 1, 253, NULL, D(internal_host)},
	{"internal_port", JSPEC_INT, false, 1, 65535, NULL, D(internal_port)},
	{"verify_recipients", JSPEC_BOOL, false, 0, 0, NULL, D(verify_recipients)},
};
/* the same fields, none required, for PATCH */
static const struct jspec domain_patch_spec[] = {
	{"name", JSPEC_STRING, false, 1, 253, NULL, D(name)},
	{"internal_host", JSPEC_STRING, false, 1, 253, NULL, D(internal_host)},
	{"internal_port", JSPEC_INT, false, 1, 65535, NULL, D(internal_port)},
	{"verify_recipients", JSPEC_BOOL, false, 0, 0, NULL, D(verify_recipients)},
};

/* json_domain - the API's Domain object */
static json_t *json_domain(const struct db_domain *d)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:b, s:o}", "id", d->id, "name", d->name,
			 "internal_host", d->internal_host, "internal_port",
			 (json_int_t)d->internal_port, "verify_recipients", d->verify_recipients,
			 "created_at", json_time(d->created_at));
}

/* domain_validate - name and host must be what they claim */
static enum vr_err domain_validate(struct req *r, const struct db_domain *d)
{
	const char *why;

	if ((why = vr_check_domain(d->name)))
		return req_fail(r, VR_E_INVALID_FIELD, "name", "%s", why);
	if ((why = vr_check_host(d->internal_host)))
		return req_fail(r, VR_E_INVALID_FIELD, "internal_host", "%s", why);
	return VR_OK;
}

/* lower - ASCII lower-case in place (domain names are stored lower-case) */
static void lower(char *s)
{
	for (; s && *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* add_domain_json - db_domains_list callback */
static int add_domain_json(const struct db_domain *d, void *arg)
{
	json_array_append_new(arg, json_domain(d));
	return 0;
}

/* h_domains_list - every relay domain */
enum vr_err h_domains_list(struct req *r)
{
	json_t *items = json_array();
	struct db *db;
	enum vr_err e;

	if ((db = req_db(r)) == NULL || (e = db_domains_list(db, add_domain_json, items)) != VR_OK) {
		json_decref(items);
		return db ? req_fail(r, e, NULL, "cannot list domains") : VR_E_UNAVAILABLE;
	}
	return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* apply_domain_add - change callback */
static enum vr_err apply_domain_add(struct db *db, void *arg)
{
	return db_domains_add(db, arg);
}

/* h_domains_create - add a relay domain */
enum vr_err h_domains_create(struct req *r)
{
	struct domain_in in = {.internal_port = 25, .verify_recipients = true};
	struct db_domain d = {0};
	struct db *db;
	enum vr_err e;
	json_t *after;

	if ((e = req_body(r, domain_spec, 4, &in, NULL)) != VR_OK)
		return e;
	vr_random_id(d.id);
	d.name = strdup(in.name);
	d.internal_host = strdup(in.internal_host);
	VR_CHECK_ALLOC(d.name);
	VR_CHECK_ALLOC(d.internal_host);
	lower(d.name);
	d.internal_port = in.internal_port;
	d.verify_recipients = in.verify_recipients;
	d.created_at = vr_now();
	if ((e = domain_validate(r, &d)) != VR_OK || (db = req_db(r)) == NULL) {
		db_domain_clear(&d);
		return e != VR_OK ? e : VR_E_UNAVAILABLE;
	}
	after = json_domain(&d);
	{
		struct config_change c = {r, apply_domain_add, &d, "domain.create", d.name, NULL, after, 0};

		e = config_change(db, &c);
	}
	if (e == VR_E_CONFLICT)
		req_fail(r, e, "name", "the domain %s exists already", d.name);
	else if (e != VR_OK)
		req_fail(r, e, NULL, "cannot store the domain");
	if (e == VR_OK)
		snprintf(r->location, sizeof(r->location), "/api/v1/domains/%s", d.id);
	db_domain_clear(&d);
	if (e != VR_OK) {
		json_decref(after);
		return e;
	}
	return reply_json(r, 201, after);
}

/* h_domains_get - one relay domain */
enum vr_err h_domains_get(struct req *r)
{
	struct db_domain d;
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_domains_get(db, r->params[0], &d)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such domain" : "cannot read");
	j = json_domain(&d);
	db_domain_clear(&d);
	return reply_json(r, 200, j);
}

/* apply_domain_update - change callback */
static enum vr_err apply_domain_update(struct db *db, void *arg)
{
	return db_domains_update(db, arg);
}

/* h_domains_patch - change a relay domain */
enum vr_err h_domains_patch(struct req *r)
{
	struct domain_in in = {0};
	struct db_domain d;
	uint32_t seen = 0;
	struct db *db;
	enum vr_err e;
	json_t *before, *after;

	if ((e = req_body(r, domain_patch_spec, 4, &in, &seen)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_domains_get(db, r->params[0], &d)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such domain" : "cannot read");
	before = json_domain(&d);
	if (seen & 1) {
		set_str(&d.name, in.name);
		lower(d.name);
	}
	if (seen & 2)
		set_str(&d.internal_host, in.internal_host);
	if (seen & 4)
		d.internal_port = in.internal_port;
	if (seen & 8)
		d.verify_recipients = in.verify_recipients;
	if ((e = domain_validate(r, &d)) == VR_OK) {
		struct config_change c = {r, apply_domain_update, &d, "domain.update", d.name, before, NULL,
				   0};

		after = json_domain(&d);
		c.after = after;
		e = json_equal(before, after) ? VR_OK : config_change(db, &c);
		if (e == VR_OK) {
			json_decref(before);
			db_domain_clear(&d);
			return reply_json(r, 200, after);
		}
		json_decref(after);
		if (e == VR_E_CONFLICT)
			req_fail(r, e, "name", "another domain has this name");
		else
			req_fail(r, e, NULL, "cannot store the domain");
	}
	json_decref(before);
	db_domain_clear(&d);
	return e;
}

/* apply_domain_delete - change callback */
static enum vr_err apply_domain_delete(struct db *db, void *arg)
{
	return db_domains_delete(db, arg);
}

/* h_domains_delete - stop relaying a domain */
enum vr_err h_domains_delete(struct req *r)
{
	struct db_domain d;
	struct db *db;
	enum vr_err e;
	json_t *before;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_domains_get(db, r->params[0], &d)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such domain" : "cannot read");
	before = json_domain(&d);
	{
		struct config_change c = {r, apply_domain_delete, d.id, "domain.delete", d.name, before,
				   NULL, 0};

		e = config_change(db, &c);
	}
	json_decref(before);
	db_domain_clear(&d);
	if (e != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such domain" : "cannot delete");
	return reply_json(r, 204, NULL);
}

/* ---- internal networks ------------------------------------------------------------ */

struct network_in {
	const char *cidr, *description;
};

static const struct jspec network_spec[] = {
	{"cidr", JSPEC_STRING, true, 1, 64, NULL, offsetof(struct network_in, cidr)},
	{"description", JSPEC_STRING, false, 0, 200, NULL, offsetof(struct network_in, description)},
};

/* json_network - the API's Network object */
static json_t *json_network(const struct db_network *n)
{
	return json_pack("{s:s, s:s, s:s?, s:o}", "id", n->id, "cidr", n->cidr, "description",
			 n->description, "created_at", json_time(n->created_at));
}

/* add_network_json - db_networks_list callback */
static int add_network_json(const struct db_network *n, void *arg)
{
	json_array_append_new(arg, json_network(n));
	return 0;
}

/* h_networks_list - the internal networks allowed to relay outbound */
enum vr_err h_networks_list(struct req *r)
{
	json_t *items = json_array();
	struct db *db;
	enum vr_err e;

	if ((db = req_db(r)) == NULL ||
	    (e = db_networks_list(db, add_network_json, items)) != VR_OK) {
		json_decref(items);
		return db ? req_fail(r, e, NULL, "cannot list networks") : VR_E_UNAVAILABLE;
	}
	return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* apply_network_add - change callback */
static enum vr_err apply_network_add(struct db *db, void *arg)
{
	return db_networks_add(db, arg);
}

/* h_networks_create - allow a network to relay outbound */
enum vr_err h_networks_create(struct req *r)
{
	struct network_in in = {0};
	struct db_network n = {0};
	char cidr[64];
	const char *why;
	struct db *db;
	enum vr_err e;
	json_t *after;

	if ((e = req_body(r, network_spec, 2, &in, NULL)) != VR_OK)
		return e;
	if ((why = vr_norm_cidr(in.cidr, cidr, sizeof(cidr))))
		return req_fail(r, VR_E_INVALID_FIELD, "cidr", "%s", why);
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	vr_random_id(n.id);
	n.cidr = cidr;
	n.description = (char *)(in.description && *in.description ? in.description : NULL);
	n.created_at = vr_now();
	after = json_network(&n);
	{
		struct config_change c = {r, apply_network_add, &n, "network.create", cidr, NULL, after, 0};

		e = config_change(db, &c);
	}
	if (e != VR_OK) {
		json_decref(after);
		return e == VR_E_CONFLICT ? req_fail(r, e, "cidr", "%s is listed already", cidr)
					  : req_fail(r, e, NULL, "cannot store the network");
	}
	snprintf(r->location, sizeof(r->location), "/api/v1/networks/%s", n.id);
	return reply_json(r, 201, after);
}

/* apply_network_delete - change callback */
static enum vr_err apply_network_delete(struct db *db, void *arg)
{
	return db_networks_delete(db, arg);
}

/* h_networks_delete - stop allowing a network */
enum vr_err h_networks_delete(struct req *r)
{
	struct db_network n;
	struct db *db;
	enum vr_err e;
	json_t *before;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_networks_get(db, r->params[0], &n)) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such network" : "cannot read");
	before = json_network(&n);
	{
		struct config_change c = {r, apply_network_delete, n.id, "network.delete", n.cidr, before,
				   NULL, 0};

		e = config_change(db, &c);
	}
	json_decref(before);
	db_network_clear(&n);
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot delete the network");
	return reply_json(r, 204, NULL);
}
