/* login_dir.c - directory login over the profiles in the database (see login_dir.h).
 *
 * Owns the cache of directory health shown by /readyz (a mutex-guarded JSON array and
 * its time), so that monitoring probes do not hammer the domain controllers.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "login_dir.h"
#include "vrtime.h"

#define HEALTH_CACHE_SECONDS 10
#define MAX_PROFILES 16

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *health_cache;
static int64_t health_at;
static bool health_ok = true;

/* dir_conv_from_db - point c at d's values */
void dir_conv_from_db(const struct db_directory *d, struct dir_conv *c)
{
	size_t i, n = 0;
	json_t *v;

	dir_profile_defaults(&c->p, strcmp(d->kind, "ad") == 0 ? DIR_KIND_AD : DIR_KIND_OPENLDAP);
	c->p.name = d->name;
	json_array_foreach(d->uris, i, v) if (n < 8 && json_is_string(v)) c->uris[n++] =
		json_string_value(v);
	c->p.uris = c->uris;
	c->p.nuris = n;
	c->p.starttls = d->starttls;
	c->p.ca_file = d->ca_file;
	c->p.verify_cert = d->verify_cert;
	c->p.network_timeout_ms = (int)d->network_timeout_ms;
	c->p.op_timeout_ms = (int)d->op_timeout_ms;
	c->p.bind_dn = d->bind_dn;
	c->p.bind_password = d->bind_password;
	c->p.base_dn = d->base_dn;
	c->p.user_filter = d->user_filter;
	c->p.netbios_domain = d->netbios_domain;
	n = 0;
	json_array_foreach(d->address_attrs, i, v) if (n < 8 && json_is_string(v)) c->attrs[n++] =
		json_string_value(v);
	c->p.address_attrs = c->attrs;
	c->p.naddress_attrs = n;
	c->p.username_attr = d->username_attr;
	c->p.display_attr = d->display_attr;
	n = 0;
	json_array_foreach(d->group_roles, i, v)
	{
		const char *dn = json_string_value(json_object_get(v, "group_dn"));
		enum role role = role_parse(json_string_value(json_object_get(v, "role")));

		if (n < 32 && dn && role != ROLE_NONE)
			c->roles[n++] = (struct dir_group_role){dn, role};
	}
	c->p.group_roles = c->roles;
	c->p.ngroup_roles = n;
}

struct ids {
	char id[MAX_PROFILES][VR_ID_LEN];
	size_t n;
};

/* collect_id - db_directories_list callback: remember ids (no I/O while iterating) */
static int collect_id(const struct db_directory *d, void *arg)
{
	struct ids *ids = arg;

	if (ids->n >= MAX_PROFILES)
		return 1;
	snprintf(ids->id[ids->n++], VR_ID_LEN, "%s", d->id);
	return 0;
}

struct upsert {
	const struct db_directory *d;
	const struct dir_user *u;
	struct db_user *out;
};

/* upsert_tx - record the directory user and its addresses */
static enum vr_err upsert_tx(struct db *db, void *arg)
{
	struct upsert *x = arg;

	return db_users_upsert_directory(db, x->d->id, x->u->dn, x->u->username,
					 x->u->display_name, x->u->role,
					 (const char *const *)x->u->addresses, x->u->naddresses,
					 vr_now(), x->out);
}

/* login_directory - try each enabled profile in order */
enum vr_err login_directory(struct db *db, const char *login, const char *password,
			    struct db_user *out, char *why, size_t whysz, char *via, size_t viasz)
{
	struct ids ids = {.n = 0};
	bool unavailable = false;
	enum vr_err e;

	snprintf(why, whysz, "unknown user or wrong password");
	snprintf(via, viasz, "%s", "");
	if ((e = db_directories_list(db, true, collect_id, &ids)) != VR_OK)
		return e;
	if (ids.n == 0)
		return VR_E_NOT_FOUND;
	for (size_t i = 0; i < ids.n; i++) {
		struct db_directory d;
		struct dir_conv c;
		struct dir_user u = {0};
		char reason[256] = "";
		enum dir_result res;

		if (db_directories_get(db, ids.id[i], &d) != VR_OK)
			continue;
		dir_conv_from_db(&d, &c);
		res = dir_authenticate(&c.p, login, password, &u, reason, sizeof(reason));
		if (res == DIR_OK) {
			struct upsert x = {&d, &u, out};

			e = db_tx(db, upsert_tx, &x);
			snprintf(via, viasz, "%s", d.name);
			if (e == VR_E_CONFLICT)
				snprintf(why, whysz, "directory %s: the name %s is a local account",
					 d.name, u.username);
			dir_user_clear(&u);
			db_directory_clear(&d);
			return e == VR_E_CONFLICT ? VR_E_LOGIN_FAILED : e;
		}
		if (res == DIR_UNAVAILABLE || res == DIR_CONFIG_ERROR) {
			unavailable = true;
			VR_LOG_WARN("directory %s: %s: %s", d.name, dir_result_name(res), reason);
		}
		/* the audit log gets the real reason; the client never does */
		if (res != DIR_BAD_CREDENTIALS || reason[0])
			snprintf(why, whysz, "directory %s: %s%s%s", d.name, dir_result_name(res),
				 reason[0] ? ": " : "", reason);
		if (res != DIR_BAD_CREDENTIALS)
			snprintf(via, viasz, "%s", d.name);
		db_directory_clear(&d);
		/* an account the directory knows but refuses ends the search */
		if (res != DIR_BAD_CREDENTIALS && res != DIR_UNAVAILABLE &&
		    res != DIR_CONFIG_ERROR)
			return VR_E_LOGIN_FAILED;
	}
	return unavailable ? VR_E_UNAVAILABLE : VR_E_LOGIN_FAILED;
}

/* directory_checks - health of every enabled profile, cached */
bool directory_checks(struct db *db, json_t *checks)
{
	int64_t now = vr_now();
	struct ids ids = {.n = 0};
	json_t *fresh;
	bool ok = true;

	pthread_mutex_lock(&health_lock);
	if (health_cache && now - health_at < HEALTH_CACHE_SECONDS) {
		json_array_extend(checks, health_cache);
		ok = health_ok;
		pthread_mutex_unlock(&health_lock);
		return ok;
	}
	pthread_mutex_unlock(&health_lock);
	if (db_directories_list(db, true, collect_id, &ids) != VR_OK)
		return false;
	fresh = json_array();
	for (size_t i = 0; i < ids.n; i++) {
		struct db_directory d;
		struct dir_conv c;
		struct dir_step steps[4];
		size_t n;
		char name[160], detail[300];
		bool good;

		if (db_directories_get(db, ids.id[i], &d) != VR_OK)
			continue;
		dir_conv_from_db(&d, &c);
		n = dir_test(&c.p, NULL, steps, 4);
		good = n > 0 && steps[n - 1].ok;
		snprintf(name, sizeof(name), "directory:%s", d.name);
		snprintf(detail, sizeof(detail), "%s: %s (%.0f ms)", n ? steps[n - 1].name : "-",
			 n ? steps[n - 1].detail : "not tested", n ? steps[n - 1].ms : 0.0);
		json_array_append_new(fresh, json_pack("{s:s, s:b, s:s}", "name", name, "ok", good,
						       "detail", detail));
		ok = ok && good;
		db_directory_clear(&d);
	}
	json_array_extend(checks, fresh);
	pthread_mutex_lock(&health_lock);
	json_decref(health_cache);
	health_cache = fresh;
	health_at = now;
	health_ok = ok;
	pthread_mutex_unlock(&health_lock);
	return ok;
}

/* directory_checks_forget - drop the cached health */
void directory_checks_forget(void)
{
	pthread_mutex_lock(&health_lock);
	health_at = 0;
	pthread_mutex_unlock(&health_lock);
}

/* login_dir_cleanup - release the health cache */
void login_dir_cleanup(void)
{
	pthread_mutex_lock(&health_lock);
	json_decref(health_cache);
	health_cache = NULL;
	pthread_mutex_unlock(&health_lock);
}
