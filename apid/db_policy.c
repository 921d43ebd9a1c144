/* db_policy.c - the policy row, relay domains, internal networks, configuration
 * versions and agents (see db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

/* db_policy_clear - free the strings of p */
void db_policy_clear(struct db_policy *p)
{
	free(p->hostname);
	free(p->inbound_address);
	free(p->outbound_address);
	free(p->reinject_address);
	free(p->outbound_mode);
	free(p->smarthost_host);
	free(p->tls_inbound_cert);
	free(p->tls_inbound_key);
	free(p->tls_outbound);
	memset(p, 0, sizeof(*p));
}

/* db_policy_get - the one policy row */
enum vr_err db_policy_get(struct db *db, struct db_policy *out)
{
	DB_SQL(q, "SELECT hostname, inbound_address, inbound_port, outbound_address, "
		  "outbound_port, reinject_address, reinject_port, message_size_limit, "
		  "outbound_mode, smarthost_host, smarthost_port, verify_positive_ttl, "
		  "verify_negative_ttl, verify_flush, tls_inbound_cert, tls_inbound_key, "
		  "tls_outbound FROM policy WHERE id = 1");
	sqlite3_stmt *st = db_prep(db, &q);
	enum vr_err e = VR_OK;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->hostname = db_text(st, 0);
		out->inbound_address = db_text(st, 1);
		out->inbound_port = sqlite3_column_int64(st, 2);
		out->outbound_address = db_text(st, 3);
		out->outbound_port = sqlite3_column_int64(st, 4);
		out->reinject_address = db_text(st, 5);
		out->reinject_port = sqlite3_column_int64(st, 6);
		out->message_size_limit = sqlite3_column_int64(st, 7);
		out->outbound_mode = db_text(st, 8);
		out->smarthost_host = db_text(st, 9);
		out->smarthost_port = sqlite3_column_int64(st, 10);
		out->verify_positive_ttl = sqlite3_column_int64(st, 11);
		out->verify_negative_ttl = sqlite3_column_int64(st, 12);
		out->verify_flush = sqlite3_column_int64(st, 13);
		out->tls_inbound_cert = db_text(st, 14);
		out->tls_inbound_key = db_text(st, 15);
		out->tls_outbound = db_text(st, 16);
	} else {
		e = rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
	}
	sqlite3_reset(st);
	return e;
}

/* db_policy_put - replace the policy row's values */
enum vr_err db_policy_put(struct db *db, const struct db_policy *p)
{
	DB_SQL(q, "UPDATE policy SET hostname = ?1, inbound_address = ?2, inbound_port = ?3, "
		  "outbound_address = ?4, outbound_port = ?5, reinject_address = ?6, "
		  "reinject_port = ?7, message_size_limit = ?8, outbound_mode = ?9, "
		  "smarthost_host = ?10, smarthost_port = ?11, verify_positive_ttl = ?12, "
		  "verify_negative_ttl = ?13, verify_flush = ?14, tls_inbound_cert = ?15, "
		  "tls_inbound_key = ?16, tls_outbound = ?17 WHERE id = 1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, p->hostname);
	db_bind_text(st, 2, p->inbound_address);
	sqlite3_bind_int64(st, 3, p->inbound_port);
	db_bind_text(st, 4, p->outbound_address);
	sqlite3_bind_int64(st, 5, p->outbound_port);
	db_bind_text(st, 6, p->reinject_address);
	sqlite3_bind_int64(st, 7, p->reinject_port);
	sqlite3_bind_int64(st, 8, p->message_size_limit);
	db_bind_text(st, 9, p->outbound_mode);
	db_bind_text(st, 10, p->smarthost_host);
	db_bind_time(st, 11, p->smarthost_port);
	sqlite3_bind_int64(st, 12, p->verify_positive_ttl);
	sqlite3_bind_int64(st, 13, p->verify_negative_ttl);
	sqlite3_bind_int64(st, 14, p->verify_flush);
	db_bind_text(st, 15, p->tls_inbound_cert);
	db_bind_text(st, 16, p->tls_inbound_key);
	db_bind_text(st, 17, p->tls_outbound);
	return db_exec_done(db, st, __func__);
}

/* db_domain_clear - free the strings of d */
void db_domain_clear(struct db_domain *d)
{
	free(d->name);
	free(d->internal_host);
	memset(d, 0, sizeof(*d));
}

#define DOMAIN_COLS "id, name, internal_host, internal_port, verify_recipients, created_at"

/* read_domain - fill d from a DOMAIN_COLS row */
static void read_domain(sqlite3_stmt *st, struct db_domain *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", (const char *)sqlite3_column_text(st, 0));
	d->name = db_text(st, 1);
	d->internal_host = db_text(st, 2);
	d->internal_port = sqlite3_column_int64(st, 3);
	d->verify_recipients = sqlite3_column_int(st, 4) != 0;
	d->created_at = sqlite3_column_int64(st, 5);
}

/* db_domains_list - every domain, by name */
enum vr_err db_domains_list(struct db *db, int (*each)(const struct db_domain *, void *),
			    void *arg)
{
	DB_SQL(q, "SELECT " DOMAIN_COLS " FROM domains ORDER BY name");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_domain d;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_domain(st, &d);
		each(&d, arg);
		db_domain_clear(&d);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* read_domain_any - read_domain for read_one */
static void read_domain_any(sqlite3_stmt *st, void *out)
{
	read_domain(st, out);
}

/* db_domains_get - one domain by id */
enum vr_err db_domains_get(struct db *db, const char *id, struct db_domain *out)
{
	DB_SQL(q, "SELECT " DOMAIN_COLS " FROM domains WHERE id = ?1");
	return db_read_one(db, &q, id, read_domain_any, out, __func__);
}

/* db_domains_add - insert; VR_E_CONFLICT for a duplicate name */
enum vr_err db_domains_add(struct db *db, const struct db_domain *d)
{
	DB_SQL(q, "INSERT INTO domains (" DOMAIN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, d->id);
	db_bind_text(st, 2, d->name);
	db_bind_text(st, 3, d->internal_host);
	sqlite3_bind_int64(st, 4, d->internal_port);
	sqlite3_bind_int(st, 5, d->verify_recipients);
	sqlite3_bind_int64(st, 6, d->created_at);
	return db_exec_done(db, st, __func__);
}

/* db_domains_update - rewrite a domain's values */
enum vr_err db_domains_update(struct db *db, const struct db_domain *d)
{
	DB_SQL(q, "UPDATE domains SET name = ?2, internal_host = ?3, internal_port = ?4, "
		  "verify_recipients = ?5 WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, d->id);
	db_bind_text(st, 2, d->name);
	db_bind_text(st, 3, d->internal_host);
	sqlite3_bind_int64(st, 4, d->internal_port);
	sqlite3_bind_int(st, 5, d->verify_recipients);
	return db_exec_one(db, st, __func__);
}

/* delete_by_id - run a "DELETE ... WHERE id = ?1"; NOT_FOUND when nothing went */
static enum vr_err delete_by_id(struct db *db, struct db_sql *q, const char *id,
				const char *func)
{
	sqlite3_stmt *st = db_prep(db, q);
	enum vr_err e;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	e = db_exec_done(db, st, func);
	if (e == VR_OK && sqlite3_changes(db->h) == 0)
		return VR_E_NOT_FOUND;
	return e;
}

/* db_domains_delete - remove a domain */
enum vr_err db_domains_delete(struct db *db, const char *id)
{
	DB_SQL(q, "DELETE FROM domains WHERE id = ?1");
	return delete_by_id(db, &q, id, __func__);
}

/* db_network_clear - free the strings of n */
void db_network_clear(struct db_network *n)
{
	free(n->cidr);
	free(n->description);
	memset(n, 0, sizeof(*n));
}

/* read_network - fill n from an "id, cidr, description, created_at" row */
static void read_network(sqlite3_stmt *st, struct db_network *n)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", (const char *)sqlite3_column_text(st, 0));
	n->cidr = db_text(st, 1);
	n->description = db_text(st, 2);
	n->created_at = sqlite3_column_int64(st, 3);
}

/* db_networks_list - every internal network */
enum vr_err db_networks_list(struct db *db, int (*each)(const struct db_network *, void *),
			     void *arg)
{
	DB_SQL(q, "SELECT id, cidr, description, created_at FROM networks ORDER BY cidr");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_network n;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_network(st, &n);
		each(&n, arg);
		db_network_clear(&n);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* read_network_any - read_network for read_one */
static void read_network_any(sqlite3_stmt *st, void *out)
{
	read_network(st, out);
}

/* db_networks_get - one network by id */
enum vr_err db_networks_get(struct db *db, const char *id, struct db_network *out)
{
	DB_SQL(q, "SELECT id, cidr, description, created_at FROM networks WHERE id = ?1");
	return db_read_one(db, &q, id, read_network_any, out, __func__);
}

/* db_networks_add - insert; VR_E_CONFLICT for a duplicate */
enum vr_err db_networks_add(struct db *db, const struct db_network *n)
{
	DB_SQL(q, "INSERT INTO networks (id, cidr, description, created_at) "
		  "VALUES (?1, ?2, ?3, ?4)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, n->id);
	db_bind_text(st, 2, n->cidr);
	db_bind_text(st, 3, n->description);
	sqlite3_bind_int64(st, 4, n->created_at);
	return db_exec_done(db, st, __func__);
}

/* db_networks_delete - remove a network */
enum vr_err db_networks_delete(struct db *db, const char *id)
{
	DB_SQL(q, "DELETE FROM networks WHERE id = ?1");
	return delete_by_id(db, &q, id, __func__);
}

/* db_config_add - store the next version */
enum vr_err db_config_add(struct db *db, const char *snapshot, const char *actor,
			  const char *reason, int64_t now, int64_t *version)
{
	DB_SQL(q, "INSERT INTO config_versions (version, created_at, actor, reason, snapshot) "
		  "VALUES ((SELECT coalesce(max(version), 0) + 1 FROM config_versions), ?1, ?2, "
		  "?3, ?4)");
	sqlite3_stmt *st = db_prep(db, &q);
	enum vr_err e;

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_int64(st, 1, now);
	db_bind_text(st, 2, actor);
	db_bind_text(st, 3, reason);
	db_bind_text(st, 4, snapshot);
	e = db_exec_done(db, st, __func__);
	if (e == VR_OK)
		*version = sqlite3_last_insert_rowid(db->h);
	return e;
}

/* db_config_latest - the newest version and its snapshot */
enum vr_err db_config_latest(struct db *db, int64_t *version, char **snapshot)
{
	DB_SQL(q, "SELECT version, snapshot FROM config_versions ORDER BY version DESC LIMIT 1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	*version = 0;
	*snapshot = NULL;
	if (st == NULL)
		return VR_E_INTERNAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int64(st, 0);
		*snapshot = db_text(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_agents_seen - record an agent's heartbeat */
enum vr_err db_agents_seen(struct db *db, const struct db_agent *a)
{
	DB_SQL(q, "INSERT INTO agents (name, applied_version, last_error, postfix_state, "
		  "started_at, last_seen, client_ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		  "ON CONFLICT (name) DO UPDATE SET applied_version = ?2, last_error = ?3, "
		  "postfix_state = ?4, started_at = ?5, last_seen = ?6, client_ip = ?7");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, a->name);
	db_bind_time(st, 2, a->applied_version);
	db_bind_text(st, 3, a->last_error);
	db_bind_text(st, 4, a->postfix_state);
	db_bind_time(st, 5, a->started_at);
	sqlite3_bind_int64(st, 6, a->last_seen);
	db_bind_text(st, 7, a->client_ip);
	return db_exec_done(db, st, __func__);
}

/* db_agents_list - every agent that ever reported, by name */
enum vr_err db_agents_list(struct db *db, int (*each)(const struct db_agent *, void *),
			   void *arg)
{
	DB_SQL(q, "SELECT name, applied_version, last_error, postfix_state, started_at, "
		  "last_seen, client_ip FROM agents ORDER BY name");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_agent a = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.applied_version = sqlite3_column_int64(st, 1),
			.last_error = (const char *)sqlite3_column_text(st, 2),
			.postfix_state = (const char *)sqlite3_column_text(st, 3),
			.started_at = sqlite3_column_int64(st, 4),
			.last_seen = sqlite3_column_int64(st, 5),
			.client_ip = (const char *)sqlite3_column_text(st, 6),
		};

		each(&a, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_agents_delete - forget an agent */
enum vr_err db_agents_delete(struct db *db, const char *name)
{
	DB_SQL(q, "DELETE FROM agents WHERE name = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, name);
	return db_exec_one(db, st, __func__);
}
