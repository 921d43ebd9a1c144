/* routes_directories.c - directory profiles: GET/POST /api/v1/directories,
 * GET/PATCH/DELETE /api/v1/directories/{id}, POST /api/v1/directories/{id}/test.
 *
 * Profiles are tried in `position` order at login (login_dir.c). The service account's
 * password is write-only: no reply and no audit event carries it ("bind_password_set"
 * says whether one is stored). Plain-text LDAP is refused: an ldap:// URI needs StartTLS.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "login_dir.h"
#include "routes.h"
#include "vrtime.h"

struct dir_in {
	const char *name, *kind;
	json_t *uris;
	bool starttls, verify_cert, enabled;
	const char *ca_file;
	int64_t network_timeout_ms, op_timeout_ms, position;
	const char *bind_dn, *bind_password, *base_dn, *user_filter, *netbios_domain;
	json_t *address_attrs;
	const char *username_attr, *display_attr;
	json_t *group_roles;
};

static const char *const kinds[] = {"ad", "openldap", NULL};

/* field indexes, for the seen mask */
enum {
	F_NAME, F_KIND, F_URIS, F_STARTTLS, F_CA, F_VERIFY, F_NET_TO, F_OP_TO, F_BIND_DN,
	F_BIND_PW, F_BASE, F_FILTER, F_NETBIOS, F_ADDR, F_USER_ATTR, F_DISPLAY, F_GROUPS,
	F_ENABLED, F_POSITION, NFIELDS
};

#define I(f) offsetof(struct dir_in, f)
#define SPEC(req_name, req_kind, req_uris, req_base)                                               \
	{                                                                                          \
		{"name", JSPEC_STRING, req_name, 1, 100, NULL, I(name)},                           \
		{"kind", JSPEC_ENUM, req_kind, 0, 0, kinds, I(kind)},                              \
		{"uris", JSPEC_ARRAY, req_uris, 1, 8, NULL, I(uris)},                              \
		{"starttls", JSPEC_BOOL, false, 0, 0, NULL, I(starttls)},                          \
		{"ca_file", JSPEC_STRING, false, 0, 1024, NULL, I(ca_file)},                       \
		{"verify_cert", JSPEC_BOOL, false, 0, 0, NULL, I(verify_cert)},                    \
		{"network_timeout_ms", JSPEC_INT, false, 100, 60000, NULL, I(network_timeout_ms)}, \
		{"op_timeout_ms", JSPEC_INT, false, 100, 120000, NULL, I(op_timeout_ms)},          \
		{"bind_dn", JSPEC_STRING, false, 0, 1024, NULL, I(bind_dn)},                       \
		{"bind_password", JSPEC_STRING, false, 0, 1024, NULL, I(bind_password)},           \
		{"base_dn", JSPEC_STRING, req_base, 1, 1024, NULL, I(base_dn)},                    \
		{"user_filter", JSPEC_STRING, false, 1, 2048, NULL, I(user_filter)},               \
		{"netbios_domain", JSPEC_STRING, false, 0, 15, NULL, I(netbios_domain)},           \
		{"address_attrs", JSPEC_ARRAY, false, 1, 8, NULL, I(address_attrs)},               \
		{"username_attr", JSPEC_STRING, false, 1, 64, NULL, I(username_attr)},             \
		{"display_attr", JSPEC_STRING, false, 1, 64, NULL, I(display_attr)},               \
		{"group_roles", JSPEC_ARRAY, false, 0, 32, NULL, I(group_roles)},                  \
		{"enabled", JSPEC_BOOL, false, 0, 0, NULL, I(enabled)},                            \
		{"position", JSPEC_INT, false, 1, 1000, NULL, I(position)},                        \
	}
static const struct jspec create_spec[NFIELDS] = SPEC(true, true, true, true);
static const struct jspec patch_spec[NFIELDS] = SPEC(false, false, false, false);

/* json_directory - the API's Directory object: never the password */
static json_t *json_directory(const struct db_directory *d)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:O, s:b, s:s?, s:b, s:I, s:I, s:s?, s:b, s:s, s:s,"
			 " s:s?, s:O, s:s, s:s, s:O, s:b, s:o, s:o}",
			 "id", d->id, "name", d->name, "position", (json_int_t)d->position, "kind",
			 d->kind, "uris", d->uris, "starttls", d->starttls, "ca_file", d->ca_file,
			 "verify_cert", d->verify_cert, "network_timeout_ms",
			 (json_int_t)d->network_timeout_ms, "op_timeout_ms",
			 (json_int_t)d->op_timeout_ms, "bind_dn", d->bind_dn, "bind_password_set",
			 d->bind_password != NULL && *d->bind_password, "base_dn", d->base_dn,
			 "user_filter", d->user_filter, "netbios_domain", d->netbios_domain,
			 "address_attrs", d->address_attrs, "username_attr", d->username_attr,
			 "display_attr", d->display_attr, "group_roles", d->group_roles, "enabled",
			 d->enabled, "created_at", json_time(d->created_at), "updated_at",
			 json_time(d->updated_at));
}

/* is_attr - an LDAP attribute name: a letter, then letters, digits and '-' */
static bool is_attr(const char *s)
{
	if (s == NULL || !isalpha((unsigned char)*s) || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* has_ctl - does s hold a control character? */
static bool has_ctl(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* validate - the merged profile must be usable; names the field at fault */
static enum vr_err validate(struct req *r, const struct db_directory *d)
{
	const char *f = d->user_filter;
	size_t i;
	json_t *v;
	int depth = 0;

	json_array_foreach(d->uris, i, v)
	{
		const char *u = json_string_value(v);

		if (u == NULL || has_ctl(u) || strlen(u) > 512 ||
		    (strncmp(u, "ldaps://", 8) != 0 && strncmp(u, "ldap://", 7) != 0) ||
		    strlen(u) < 9)
			return req_fail(r, VR_E_INVALID_FIELD, "uris",
					"each URI must be ldaps://host[:port] or ldap://host[:port]");
		if (strncmp(u, "ldap://", 7) == 0 && !d->starttls)
			return req_fail(r, VR_E_INVALID_FIELD, "starttls",
					"ldap:// sends passwords in clear: set starttls to true or "
					"use ldaps://");
	}
	if (d->ca_file && d->ca_file[0] != '/')
		return req_fail(r, VR_E_INVALID_FIELD, "ca_file", "must be an absolute path");
	if (has_ctl(d->bind_dn) || has_ctl(d->base_dn) || has_ctl(d->netbios_domain))
		return req_fail(r, VR_E_INVALID_FIELD,
				has_ctl(d->bind_dn) ? "bind_dn"
				: has_ctl(d->base_dn) ? "base_dn" : "netbios_domain",
				"must not contain control characters");
	if (strstr(f, "{login}") == NULL)
		return req_fail(r, VR_E_INVALID_FIELD, "user_filter",
				"must contain the {login} placeholder");
	for (const char *p = f; *p; p++) {
		depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		if (depth < 0)
			break;
	}
	if (f[0] != '(' || depth != 0 || has_ctl(f))
		return req_fail(r, VR_E_INVALID_FIELD, "user_filter",
				"must be one parenthesised LDAP filter");
	json_array_foreach(d->address_attrs, i, v) if (!is_attr(json_string_value(v))) return
		req_fail(r, VR_E_INVALID_FIELD, "address_attrs",
			 "each item must be an attribute name such as mail");
	if (!is_attr(d->username_attr))
		return req_fail(r, VR_E_INVALID_FIELD, "username_attr", "must be an attribute name");
	if (!is_attr(d->display_attr))
		return req_fail(r, VR_E_INVALID_FIELD, "display_attr", "must be an attribute name");
	json_array_foreach(d->group_roles, i, v)
	{
		const char *dn = json_string_value(json_object_get(v, "group_dn"));
		enum role role = role_parse(json_string_value(json_object_get(v, "role")));

		if (!json_is_object(v) || json_object_size(v) != 2 || dn == NULL || *dn == '\0' ||
		    strlen(dn) > 1024 || has_ctl(dn) ||
		    !(role == ROLE_ADMIN || role == ROLE_HELPDESK || role == ROLE_AUDITOR ||
		      role == ROLE_USER))
			return req_fail(r, VR_E_INVALID_FIELD, "group_roles",
					"each item must be {\"group_dn\": DN, \"role\": admin, "
					"helpdesk, auditor or user}");
	}
	return VR_OK;
}

/* set_s - replace a malloc'd string ("" clears it to NULL) */
static void set_s(char **slot, const char *v)
{
	free(*slot);
	*slot = v && *v ? strdup(v) : NULL;
	if (v && *v)
		VR_CHECK_ALLOC(*slot);
}

/* set_j - replace an owned JSON value with a new reference to v */
static void set_j(json_t **slot, json_t *v)
{
	json_decref(*slot);
	*slot = json_incref(v);
}

/* merge - apply the fields present in `in` to d (a new profile takes the kind's presets
 * for what it does not give) */
static void merge(struct db_directory *d, const struct dir_in *in, uint32_t seen)
{
#define S(f) (seen & (1u << (f)))
	if (S(F_NAME)) set_s(&d->name, in->name);
	if (S(F_KIND)) set_s(&d->kind, in->kind);
	if (S(F_URIS)) set_j(&d->uris, in->uris);
	if (S(F_STARTTLS)) d->starttls = in->starttls;
	if (S(F_CA)) set_s(&d->ca_file, in->ca_file);
	if (S(F_VERIFY)) d->verify_cert = in->verify_cert;
	if (S(F_NET_TO)) d->network_timeout_ms = in->network_timeout_ms;
	if (S(F_OP_TO)) d->op_timeout_ms = in->op_timeout_ms;
	if (S(F_BIND_DN)) set_s(&d->bind_dn, in->bind_dn);
	if (S(F_BIND_PW)) set_s(&d->bind_password, in->bind_password);
	if (S(F_BASE)) set_s(&d->base_dn, in->base_dn);
	if (S(F_FILTER)) set_s(&d->user_filter, in->user_filter);
	if (S(F_NETBIOS)) set_s(&d->netbios_domain, in->netbios_domain);
	if (S(F_ADDR)) set_j(&d->address_attrs, in->address_attrs);
	if (S(F_USER_ATTR)) set_s(&d->username_attr, in->username_attr);
	if (S(F_DISPLAY)) set_s(&d->display_attr, in->display_attr);
	if (S(F_GROUPS)) set_j(&d->group_roles, in->group_roles);
	if (S(F_ENABLED)) d->enabled = in->enabled;
	if (S(F_POSITION)) d->position = in->position;
#undef S
}

/* presets - a new profile's defaults for its kind */
static void presets(struct db_directory *d, const char *kind)
{
	bool ad = strcmp(kind, "ad") == 0;
	struct dir_profile p;

	dir_profile_defaults(&p, ad ? DIR_KIND_AD : DIR_KIND_OPENLDAP);
	d->verify_cert = true;
	d->enabled = true;
	d->network_timeout_ms = p.network_timeout_ms;
	d->op_timeout_ms = p.op_timeout_ms;
	set_s(&d->user_filter, p.user_filter);
	set_s(&d->username_attr, p.username_attr);
	set_s(&d->display_attr, p.display_attr);
	d->address_attrs = json_array();
	for (size_t i = 0; i < p.naddress_attrs; i++)
		json_array_append_new(d->address_attrs, json_string(p.address_attrs[i]));
	d->group_roles = json_array();
	d->uris = json_array();
}

/* audit_view - the profile for the audit log (no password) */
static json_t *audit_view(const struct db_directory *d)
{
	json_t *j = json_directory(d);

	json_object_del(j, "created_at");
	json_object_del(j, "updated_at");
	return j;
}

struct dir_tx {
	struct req *r;
	const struct db_directory *d;
	const char *action;
	json_t *before, *after;
	bool remove;
};

/* dir_commit - store (or delete) and audit together */
static enum vr_err dir_commit(struct db *db, void *arg)
{
	struct dir_tx *t = arg;
	enum vr_err e = t->remove ? db_directories_delete(db, t->d->id)
				  : db_directories_put(db, t->d);
	json_t *detail;
	char *text;

	if (e != VR_OK)
		return e;
	detail = json_pack("{s:O?, s:O?}", "before", t->before, "after", t->after);
	text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(detail);
	VR_CHECK_ALLOC(text);
	e = db_audit_add(db, t->r->who.username, t->action, t->d->name, true, t->r->client_ip,
			 text, vr_now());
	free(text);
	return e;
}

/* save - validate, store, audit; replies with the profile */
static enum vr_err save(struct req *r, struct db *db, struct db_directory *d, json_t *before,
			unsigned status)
{
	struct dir_tx t = {r, d, status == 201 ? "directory.create" : "directory.update", before,
			   NULL, false};
	enum vr_err e = validate(r, d);

	if (e != VR_OK)
		return e;
	d->updated_at = vr_now();
	t.after = audit_view(d);
	e = db_tx(db, dir_commit, &t);
	json_decref(t.after);
	if (e == VR_E_CONFLICT)
		return req_fail(r, e, "name", "another directory is called %s", d->name);
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot store the directory");
	directory_checks_forget();
	if (status == 201)
		snprintf(r->location, sizeof(r->location), "/api/v1/directories/%s", d->id);
	return reply_json(r, status, json_directory(d));
}

/* add_dir - db_directories_list callback */
static int add_dir(const struct db_directory *d, void *arg)
{
	json_array_append_new(arg, json_directory(d));
	return 0;
}

/* h_directories_list - every profile in login order */
enum vr_err h_directories_list(struct req *r)
{
	json_t *items = json_array();
	struct db *db;
	enum vr_err e;

	if ((db = req_db(r)) == NULL || (e = db_directories_list(db, false, add_dir, items)) != VR_OK) {
		json_decref(items);
		return db ? req_fail(r, e, NULL, "cannot list directories") : VR_E_UNAVAILABLE;
	}
	return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* h_directories_create - add a profile (presets from its kind) */
enum vr_err h_directories_create(struct req *r)
{
	struct dir_in in = {0};
	struct db_directory d = {0};
	uint32_t seen = 0;
	struct db *db;
	enum vr_err e;

	if ((e = req_body(r, create_spec, NFIELDS, &in, &seen)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	vr_random_id(d.id);
	presets(&d, in.kind);
	if ((e = db_directories_next_position(db, &d.position)) != VR_OK) {
		db_directory_clear(&d);
		return req_fail(r, e, NULL, "cannot read the directories");
	}
	merge(&d, &in, seen);
	d.created_at = vr_now();
	e = save(r, db, &d, NULL, 201);
	db_directory_clear(&d);
	return e;
}

/* load - the profile named by the path, or a 404 */
static enum vr_err load(struct req *r, struct db *db, struct db_directory *d)
{
	enum vr_err e = db_directories_get(db, r->params[0], d);

	if (e != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such directory" : "cannot read");
	return VR_OK;
}

/* h_directories_get - one profile */
enum vr_err h_directories_get(struct req *r)
{
	struct db_directory d;
	struct db *db;
	enum vr_err e;
	json_t *j;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load(r, db, &d)) != VR_OK)
		return e;
	j = json_directory(&d);
	db_directory_clear(&d);
	return reply_json(r, 200, j);
}

/* h_directories_patch - change some of a profile's settings */
enum vr_err h_directories_patch(struct req *r)
{
	struct dir_in in = {0};
	struct db_directory d;
	uint32_t seen = 0;
	struct db *db;
	enum vr_err e;
	json_t *before;

	if ((e = req_body(r, patch_spec, NFIELDS, &in, &seen)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load(r, db, &d)) != VR_OK)
		return e;
	before = audit_view(&d);
	merge(&d, &in, seen);
	e = save(r, db, &d, before, 200);
	json_decref(before);
	db_directory_clear(&d);
	return e;
}

/* h_directories_delete - remove a profile (its users keep their accounts) */
enum vr_err h_directories_delete(struct req *r)
{
	struct db_directory d;
	struct db *db;
	enum vr_err e;
	struct dir_tx t = {r, NULL, "directory.delete", NULL, NULL, true};

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load(r, db, &d)) != VR_OK)
		return e;
	t.d = &d;
	t.before = audit_view(&d);
	e = db_tx(db, dir_commit, &t);
	json_decref(t.before);
	db_directory_clear(&d);
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot delete the directory");
	directory_checks_forget();
	return reply_json(r, 204, NULL);
}

struct test_in {
	const char *login;
};

static const struct jspec test_spec[] = {
	{"login", JSPEC_STRING, false, 1, 256, NULL, offsetof(struct test_in, login)},
};

/* h_directories_test - connect, bind as the service account, look up a sample user */
enum vr_err h_directories_test(struct req *r)
{
	struct test_in in = {0};
	struct db_directory d;
	struct dir_conv c;
	struct dir_step steps[8];
	struct db *db;
	enum vr_err e;
	json_t *arr;
	size_t n;
	bool ok;

	if (r->body.len > 0 && (e = req_body(r, test_spec, 1, &in, NULL)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = load(r, db, &d)) != VR_OK)
		return e;
	dir_conv_from_db(&d, &c);
	n = dir_test(&c.p, in.login, steps, 8);
	arr = json_array();
	ok = n > 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, json_pack("{s:s, s:b, s:f, s:s}", "name", steps[i].name,
						     "ok", steps[i].ok, "ms", steps[i].ms, "detail",
						     steps[i].detail));
		ok = ok && steps[i].ok;
	}
	audit_note(r, db, r->who.username, "directory.test", d.name, ok,
		   n ? steps[n - 1].detail : NULL);
	db_directory_clear(&d);
	return reply_json(r, 200, json_pack("{s:b, s:o}", "ok", ok, "steps", arr));
}
