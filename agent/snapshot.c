/* snapshot.c - parse and validate apid's configuration snapshot (see snapshot.h).
 *
 * Every member is read through one of the get_* helpers below, which build the field's
 * JSON path ("listeners.inbound.port", "domains[2].name") and word the error, so that each
 * rejection names the field the same way. Checks that span fields (listener clashes,
 * duplicate domains, TLS cert without key) come after the per-field ones.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netaddr.h"
#include "snapshot.h"
#include "vrtime.h"

#define PATH_LEN 128

/* Where errors go while parsing. */
struct ctx {
	char *err;
	size_t errsz;
};

/* fail - write "path: message" into the error buffer and return code */
__attribute__((format(printf, 4, 5))) static enum vr_err fail(struct ctx *c, enum vr_err code,
							       const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errsz, "%s: %s", path, msg);
	return code;
}

/* xstrdup - strdup that aborts on out-of-memory */
static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	VR_CHECK_ALLOC(p);
	return p;
}

/* member - look key up in obj; path gets "parent.key"; absent or null is MISSING */
static enum vr_err member(struct ctx *c, json_t *obj, const char *parent, const char *key,
			  char path[PATH_LEN], json_t **out)
{
	if (parent && *parent)
		snprintf(path, PATH_LEN, "%s.%s", parent, key);
	else
		snprintf(path, PATH_LEN, "%s", key);
	*out = json_object_get(obj, key);
	if (*out == NULL || json_is_null(*out))
		return fail(c, VR_E_MISSING_FIELD, path, "is required");
	return VR_OK;
}

/* get_int - a required integer within [min, max] */
static enum vr_err get_int(struct ctx *c, json_t *obj, const char *parent, const char *key,
			   int64_t min, int64_t max, int64_t *out)
{
	char path[PATH_LEN];
	json_t *v;
	enum vr_err e = member(c, obj, parent, key, path, &v);

	if (e != VR_OK)
		return e;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(c, VR_E_INVALID_FIELD, path, "must be an integer from %lld to %lld",
			    (long long)min, (long long)max);
	*out = json_integer_value(v);
	return VR_OK;
}

/* get_port - a required TCP port */
static enum vr_err get_port(struct ctx *c, json_t *obj, const char *parent, const char *key,
			    int *out)
{
	int64_t v;
	enum vr_err e = get_int(c, obj, parent, key, 1, 65535, &v);

	if (e == VR_OK)
		*out = (int)v;
	return e;
}

/* get_str - a string of 1..maxlen bytes without NUL or control characters; borrowed from
 * obj. When nullable, null or absent gives *out = NULL. */
static enum vr_err get_str(struct ctx *c, json_t *obj, const char *parent, const char *key,
			   size_t maxlen, bool nullable, const char **out, char path[PATH_LEN])
{
	json_t *v;
	enum vr_err e = member(c, obj, parent, key, path, &v);
	const char *s;
	size_t n;

	if (e == VR_E_MISSING_FIELD && nullable) {
		*out = NULL;
		return VR_OK;
	}
	if (e != VR_OK)
		return e;
	if (!json_is_string(v))
		return fail(c, VR_E_INVALID_FIELD, path, "must be a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > maxlen || strlen(s) != n)
		return fail(c, VR_E_INVALID_FIELD, path, "must be a string of 1 to %zu bytes",
			    maxlen);
	for (size_t i = 0; i < n; i++)
		if (iscntrl((unsigned char)s[i]))
			return fail(c, VR_E_INVALID_FIELD, path, "must not hold control characters");
	*out = s;
	return VR_OK;
}

/* get_obj - a required JSON object */
static enum vr_err get_obj(struct ctx *c, json_t *obj, const char *parent, const char *key,
			   json_t **out, char path[PATH_LEN])
{
	enum vr_err e = member(c, obj, parent, key, path, out);

	if (e == VR_OK && !json_is_object(*out))
		return fail(c, VR_E_INVALID_FIELD, path, "must be an object");
	return e;
}

/* snap_ip_literal - parse an IPv4 or IPv6 literal and print it canonically */
bool snap_ip_literal(const char *s, char *out, size_t outsz, bool *v6)
{
	unsigned char buf[16];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, s, buf) == 1) {
		*v6 = false;
		inet_ntop(AF_INET, buf, text, sizeof(text));
	} else if (inet_pton(AF_INET6, s, buf) == 1) {
		*v6 = true;
		inet_ntop(AF_INET6, buf, text, sizeof(text));
	} else {
		return false;
	}
	return (size_t)snprintf(out, outsz, "%s", text) < outsz;
}

/* get_host - an IP literal (canonicalised) or a host name; malloc'd into *out */
static enum vr_err get_host(struct ctx *c, json_t *obj, const char *parent, const char *key,
			    char **out, bool *v6)
{
	char path[PATH_LEN], canon[INET6_ADDRSTRLEN];
	const char *s, *why;
	enum vr_err e = get_str(c, obj, parent, key, 253, false, &s, path);

	if (e != VR_OK)
		return e;
	*v6 = false;
	if (snap_ip_literal(s, canon, sizeof(canon), v6)) {
		*out = xstrdup(canon);
	} else if ((why = vr_check_host(s)) == NULL) {
		*out = xstrdup(s);
		for (char *p = *out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else {
		return fail(c, VR_E_INVALID_FIELD, path, "'%s' %s", s, why);
	}
	return VR_OK;
}

/* get_listener - listeners.NAME: {address (IP literal), port} */
static enum vr_err get_listener(struct ctx *c, json_t *listeners, const char *name,
				struct snap_listener *l)
{
	char path[PATH_LEN], apath[PATH_LEN];
	json_t *o;
	const char *addr;
	enum vr_err e = get_obj(c, listeners, "listeners", name, &o, path);

	if (e != VR_OK)
		return e;
	if ((e = get_str(c, o, path, "address", 64, false, &addr, apath)) != VR_OK)
		return e;
	if (!snap_ip_literal(addr, l->address, sizeof(l->address), &l->v6))
		return fail(c, VR_E_INVALID_FIELD, apath, "'%s' is not an IPv4 or IPv6 address",
			    addr);
	return get_port(c, o, path, "port", &l->port);
}

/* is_wildcard - true for 0.0.0.0 and :: */
static bool is_wildcard(const struct snap_listener *l)
{
	return !strcmp(l->address, "0.0.0.0") || !strcmp(l->address, "::");
}

/* is_loopback - true for 127.0.0.0/8 and ::1 */
static bool is_loopback(const struct snap_listener *l)
{
	return l->v6 ? !strcmp(l->address, "::1") : !strncmp(l->address, "127.", 4);
}

/* clash - true when two listeners would bind the same socket */
static bool clash(const struct snap_listener *a, const struct snap_listener *b)
{
	if (a->port != b->port)
		return false;
	if (!strcmp(a->address, b->address))
		return true;
	/* a wildcard of one family takes the port for every address of that family (and
	 * Linux's :: takes IPv4 too unless v6only) */
	return (is_wildcard(a) && (a->v6 || !b->v6)) || (is_wildcard(b) && (b->v6 || !a->v6));
}

/* get_listeners - the three listeners, which must not clash; reinject on loopback */
static enum vr_err get_listeners(struct ctx *c, json_t *root, struct snapshot *s)
{
	static const char *const names[3] = {"inbound", "outbound", "reinject"};
	struct snap_listener *ls[3] = {&s->inbound, &s->outbound, &s->reinject};
	char path[PATH_LEN];
	json_t *o;
	enum vr_err e = get_obj(c, root, NULL, "listeners", &o, path);

	if (e != VR_OK)
		return e;
	for (int i = 0; i < 3; i++)
		if ((e = get_listener(c, o, names[i], ls[i])) != VR_OK)
			return e;
	for (int i = 1; i < 3; i++) {
		for (int j = 0; j < i; j++) {
			if (clash(ls[i], ls[j])) {
				snprintf(path, sizeof(path), "listeners.%s.port", names[i]);
				return fail(c, VR_E_INVALID_FIELD, path,
					    "%s port %d clashes with the %s listener (%s port %d)",
					    ls[i]->address, ls[i]->port, names[j], ls[j]->address,
					    ls[j]->port);
			}
		}
	}
	if (!is_loopback(&s->reinject))
		return fail(c, VR_E_INVALID_FIELD, "listeners.reinject.address",
			    "must be a loopback address (127.0.0.0/8 or ::1): mail it accepts "
			    "is not filtered");
	return VR_OK;
}

/* get_domains - domains[]: name, internal_host, internal_port, verify_recipients */
static enum vr_err get_domains(struct ctx *c, json_t *root, struct snapshot *s)
{
	char path[PATH_LEN], item[48];
	json_t *arr, *o;
	size_t i;
	enum vr_err e = member(c, root, NULL, "domains", path, &arr);

	if (e != VR_OK)
		return e;
	if (!json_is_array(arr) || json_array_size(arr) > SNAP_MAX_DOMAINS)
		return fail(c, VR_E_INVALID_FIELD, path, "must be an array of at most %d domains",
			    SNAP_MAX_DOMAINS);
	s->domains = calloc(json_array_size(arr) + 1, sizeof(*s->domains));
	VR_CHECK_ALLOC(s->domains);
	json_array_foreach(arr, i, o) {
		struct snap_domain *d = &s->domains[i];
		const char *name, *why;
		char npath[PATH_LEN];
		json_t *vr;
		int64_t port;

		snprintf(item, sizeof(item), "domains[%zu]", i);
		s->n_domains = i + 1;
		if (!json_is_object(o))
			return fail(c, VR_E_INVALID_FIELD, item, "must be an object");
		if ((e = get_str(c, o, item, "name", 253, false, &name, npath)) != VR_OK)
			return e;
		if ((why = vr_check_domain(name)) != NULL)
			return fail(c, VR_E_INVALID_FIELD, npath, "'%s' %s", name, why);
		d->name = xstrdup(name);
		for (char *p = d->name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->domains[j].name, d->name))
				return fail(c, VR_E_INVALID_FIELD, npath,
					    "'%s' is listed twice (also domains[%zu])", d->name, j);
		if ((e = get_host(c, o, item, "internal_host", &d->internal_host,
				  &d->internal_v6)) != VR_OK)
			return e;
		if ((e = get_int(c, o, item, "internal_port", 1, 65535, &port)) != VR_OK)
			return e;
		d->internal_port = (int)port;
		snprintf(npath, sizeof(npath), "%s.verify_recipients", item);
		vr = json_object_get(o, "verify_recipients");
		if (vr != NULL && !json_is_null(vr) && !json_is_boolean(vr))
			return fail(c, VR_E_INVALID_FIELD, npath, "must be true or false");
		d->verify_recipients = vr != NULL && json_is_true(vr);
	}
	return VR_OK;
}

/* get_networks - internal_networks[]: CIDRs, v4 or v6, host bits zero */
static enum vr_err get_networks(struct ctx *c, json_t *root, struct snapshot *s)
{
	char path[PATH_LEN], item[48];
	const char *why;
	json_t *arr, *v;
	size_t i;
	enum vr_err e = member(c, root, NULL, "internal_networks", path, &arr);

	if (e != VR_OK)
		return e;
	if (!json_is_array(arr) || json_array_size(arr) > SNAP_MAX_NETWORKS)
		return fail(c, VR_E_INVALID_FIELD, path,
			    "must be an array of at most %d networks", SNAP_MAX_NETWORKS);
	s->networks = calloc(json_array_size(arr) + 1, sizeof(*s->networks));
	VR_CHECK_ALLOC(s->networks);
	json_array_foreach(arr, i, v) {
		struct snap_network *n = &s->networks[i];

		snprintf(item, sizeof(item), "internal_networks[%zu]", i);
		if (!json_is_string(v) || json_string_length(v) > 64 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return fail(c, VR_E_INVALID_FIELD, item,
				    "must be a network such as 10.0.0.0/8 or 2001:db8::/32");
		if ((why = vr_norm_cidr(json_string_value(v), n->cidr, sizeof(n->cidr))) != NULL)
			return fail(c, VR_E_INVALID_FIELD, item, "'%s' %s", json_string_value(v),
				    why);
		n->v6 = strchr(n->cidr, ':') != NULL;
		s->n_networks = i + 1;
	}
	return VR_OK;
}

/* get_outbound - outbound: {mode: smarthost, smarthost_host, smarthost_port} or {mode: mx} */
static enum vr_err get_outbound(struct ctx *c, json_t *root, struct snapshot *s)
{
	char path[PATH_LEN], mpath[PATH_LEN];
	const char *mode;
	json_t *o;
	enum vr_err e = get_obj(c, root, NULL, "outbound", &o, path);

	if (e != VR_OK)
		return e;
	if ((e = get_str(c, o, path, "mode", 16, false, &mode, mpath)) != VR_OK)
		return e;
	if (!strcmp(mode, "mx")) {
		s->outbound_mode = SNAP_OUT_MX;
		return VR_OK;
	}
	if (strcmp(mode, "smarthost") != 0)
		return fail(c, VR_E_INVALID_FIELD, mpath, "must be \"smarthost\" or \"mx\"");
	s->outbound_mode = SNAP_OUT_SMARTHOST;
	if ((e = get_host(c, o, path, "smarthost_host", &s->smarthost_host, &s->smarthost_v6)) !=
	    VR_OK)
		return e;
	return get_port(c, o, path, "smarthost_port", &s->smarthost_port);
}

/* valid_path - an absolute path Postfix can take in main.cf as it is */
static bool valid_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++)
		if (isspace((unsigned char)*p) || strchr("$,{}#\"'\\;", *p))
			return false;
	return true;
}

/* get_tls - tls: {inbound_cert, inbound_key (both paths or both null), outbound (level)} */
static enum vr_err get_tls(struct ctx *c, json_t *root, struct snapshot *s)
{
	static const char *const levels[] = {"none", "may", "encrypt", "verify", "secure", NULL};
	char path[PATH_LEN], cpath[PATH_LEN], kpath[PATH_LEN], opath[PATH_LEN];
	const char *cert, *key, *level;
	json_t *o;
	enum vr_err e = get_obj(c, root, NULL, "tls", &o, path);
	bool known = false;

	if (e != VR_OK)
		return e;
	if ((e = get_str(c, o, path, "inbound_cert", 1024, true, &cert, cpath)) != VR_OK ||
	    (e = get_str(c, o, path, "inbound_key", 1024, true, &key, kpath)) != VR_OK ||
	    (e = get_str(c, o, path, "outbound", 16, false, &level, opath)) != VR_OK)
		return e;
	if (cert && !valid_path(cert))
		return fail(c, VR_E_INVALID_FIELD, cpath,
			    "must be an absolute path without blanks or special characters");
	if (key && !valid_path(key))
		return fail(c, VR_E_INVALID_FIELD, kpath,
			    "must be an absolute path without blanks or special characters");
	if (cert && !key)
		return fail(c, VR_E_MISSING_FIELD, kpath, "is required when inbound_cert is set");
	if (key && !cert)
		return fail(c, VR_E_MISSING_FIELD, cpath, "is required when inbound_key is set");
	for (int i = 0; levels[i]; i++)
		known |= !strcmp(level, levels[i]);
	if (!known)
		return fail(c, VR_E_INVALID_FIELD, opath,
			    "must be one of none, may, encrypt, verify, secure");
	s->tls_inbound_cert = cert ? xstrdup(cert) : NULL;
	s->tls_inbound_key = key ? xstrdup(key) : NULL;
	s->tls_outbound = xstrdup(level);
	return VR_OK;
}

/* parse_root - every member of the snapshot object, in document order */
static enum vr_err parse_root(struct ctx *c, json_t *root, struct snapshot *s)
{
	char path[PATH_LEN];
	const char *str, *why;
	json_t *o, *flush;
	int64_t t;
	enum vr_err e;

	if ((e = get_int(c, root, NULL, "version", 1, INT64_MAX, &s->version)) != VR_OK)
		return e;
	if ((e = get_str(c, root, NULL, "generated_at", 64, false, &str, path)) != VR_OK)
		return e;
	if (vr_time_parse(str, &t) < 0)
		return fail(c, VR_E_INVALID_FIELD, path, "must be an RFC 3339 time");
	s->generated_at = xstrdup(str);
	if ((e = get_str(c, root, NULL, "hostname", 253, false, &str, path)) != VR_OK)
		return e;
	if ((why = vr_check_domain(str)) != NULL)
		return fail(c, VR_E_INVALID_FIELD, path,
			    "'%s' %s (a fully-qualified host name is needed)", str, why);
	s->hostname = xstrdup(str);
	for (char *p = s->hostname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if ((e = get_listeners(c, root, s)) != VR_OK)
		return e;
	/* Postfix keeps sizes in a long; at least 1 KiB so that a typo cannot stop all mail */
	if ((e = get_int(c, root, NULL, "message_size_limit", 1024, INT32_MAX,
			 &s->message_size_limit)) != VR_OK)
		return e;
	if ((e = get_domains(c, root, s)) != VR_OK || (e = get_networks(c, root, s)) != VR_OK ||
	    (e = get_outbound(c, root, s)) != VR_OK)
		return e;
	if ((e = get_obj(c, root, NULL, "verify_cache", &o, path)) != VR_OK)
		return e;
	if ((e = get_int(c, o, "verify_cache", "positive_ttl", 1, 90 * 86400,
			 &s->verify_positive_ttl)) != VR_OK ||
	    (e = get_int(c, o, "verify_cache", "negative_ttl", 1, 90 * 86400,
			 &s->verify_negative_ttl)) != VR_OK)
		return e;
	/* optional: a new value asks agents to drop their verification cache */
	flush = json_object_get(o, "flush_generation");
	if (flush && !json_is_null(flush) &&
	    (e = get_int(c, o, "verify_cache", "flush_generation", 0, INT64_MAX,
			 &s->verify_flush_generation)) != VR_OK)
		return e;
	return get_tls(c, root, s);
}

/* snapshot_parse - JSON text to a validated struct snapshot */
enum vr_err snapshot_parse(const char *text, size_t len, struct snapshot **out, char *err,
			   size_t errsz)
{
	struct ctx c = {err, errsz};
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	struct snapshot *s;
	enum vr_err e;

	*out = NULL;
	if (root == NULL) {
		snprintf(err, errsz, "snapshot: not JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return VR_E_BAD_JSON;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errsz, "snapshot: must be a JSON object");
		return VR_E_BAD_JSON;
	}
	s = calloc(1, sizeof(*s));
	VR_CHECK_ALLOC(s);
	e = parse_root(&c, root, s);
	json_decref(root);
	if (e != VR_OK) {
		snapshot_free(s);
		return e;
	}
	*out = s;
	return VR_OK;
}

/* snapshot_free - release a snapshot and everything it owns */
void snapshot_free(struct snapshot *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_domains; i++) {
		free(s->domains[i].name);
		free(s->domains[i].internal_host);
	}
	free(s->domains);
	free(s->networks);
	free(s->generated_at);
	free(s->hostname);
	free(s->smarthost_host);
	free(s->tls_inbound_cert);
	free(s->tls_inbound_key);
	free(s->tls_outbound);
	free(s);
}
