/* db_users.c - the users and addresses tables (see db.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"

#define USER_COLS \
	"id, username, display_name, role, source, password_hash, disabled, created_at, "         \
	"last_login_at"

/* db_user_clear - free the strings of u */
void db_user_clear(struct db_user *u)
{
	free(u->username);
	free(u->display_name);
	free(u->source);
	free(u->password_hash);
	memset(u, 0, sizeof(*u));
}

/* db_read_user - fill u from a row selected with USER_COLS starting at column col */
void db_read_user(sqlite3_stmt *st, int col, struct db_user *u)
{
	const unsigned char *id = sqlite3_column_text(st, col);

	memset(u, 0, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", id ? (const char *)id : "");
	u->username = db_text(st, col + 1);
	u->display_name = db_text(st, col + 2);
	u->role = role_parse((const char *)sqlite3_column_text(st, col + 3));
	u->source = db_text(st, col + 4);
	u->password_hash = db_text(st, col + 5);
	u->disabled = sqlite3_column_int(st, col + 6) != 0;
	u->created_at = sqlite3_column_int64(st, col + 7);
	u->last_login_at = sqlite3_column_int64(st, col + 8);
}

/* one_user - step a statement that selects USER_COLS and fill out */
static enum vr_err one_user(struct db *db, sqlite3_stmt *st, struct db_user *out,
			    const char *func)
{
	int rc = sqlite3_step(st);
	enum vr_err e = VR_OK;

	if (rc == SQLITE_ROW)
		db_read_user(st, 0, out);
	else if (rc == SQLITE_DONE)
		e = VR_E_NOT_FOUND;
	else
		e = db_fail(db, rc, func);
	sqlite3_reset(st);
	return e;
}

/* db_users_by_name - the user called username (case-insensitive) */
enum vr_err db_users_by_name(struct db *db, const char *username, struct db_user *out)
{
	DB_SQL(q, "SELECT " USER_COLS " FROM users WHERE username = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, username);
	return one_user(db, st, out, __func__);
}

/* db_users_by_id - the user with this id */
enum vr_err db_users_by_id(struct db *db, const char *id, struct db_user *out)
{
	DB_SQL(q, "SELECT " USER_COLS " FROM users WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	return one_user(db, st, out, __func__);
}

/* db_users_create_local - insert a local account */
enum vr_err db_users_create_local(struct db *db, const struct db_user *u)
{
	DB_SQL(q, "INSERT INTO users (id, username, display_name, role, source, password_hash, "
		  "disabled, created_at) VALUES (?1, ?2, ?3, ?4, 'local', ?5, 0, ?6)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, u->id);
	db_bind_text(st, 2, u->username);
	db_bind_text(st, 3, u->display_name);
	db_bind_text(st, 4, role_name(u->role));
	db_bind_text(st, 5, u->password_hash);
	sqlite3_bind_int64(st, 6, u->created_at);
	return db_exec_done(db, st, __func__);
}

/* db_users_count_role - how many enabled users hold role */
enum vr_err db_users_count_role(struct db *db, enum role role, int64_t *n)
{
	DB_SQL(q, "SELECT count(*) FROM users WHERE role = ?1 AND disabled = 0");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, role_name(role));
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(db, rc, __func__);
	}
	*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return VR_OK;
}

/* db_users_touch_login - record a successful login */
enum vr_err db_users_touch_login(struct db *db, const char *id, int64_t now)
{
	DB_SQL(q, "UPDATE users SET last_login_at = ?2 WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return db_exec_done(db, st, __func__);
}

/* db_users_addresses - append the user's addresses, primary first, to arr */
enum vr_err db_users_addresses(struct db *db, const char *id, json_t *arr)
{
	DB_SQL(q, "SELECT address FROM addresses WHERE user_id = ?1 "
		  "ORDER BY is_primary DESC, address");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr,
				      json_string((const char *)sqlite3_column_text(st, 0)));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_users_list - a page of users by username, optionally matching q */
enum vr_err db_users_list(struct db *db, const struct db_user_list_filter *f,
			  int (*each)(const struct db_user *, void *), void *arg, bool *more)
{
	DB_SQL(q, "SELECT " USER_COLS " FROM users u WHERE (?1 IS NULL OR username > ?1) AND "
		  "(?2 IS NULL OR instr(lower(username), lower(?2)) > 0 OR "
		  "instr(lower(coalesce(display_name, '')), lower(?2)) > 0 OR EXISTS (SELECT 1 "
		  "FROM addresses a WHERE a.user_id = u.id AND instr(lower(a.address), lower(?2)) "
		  "> 0)) ORDER BY username LIMIT ?3");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_user u;
	int rc, n = 0;

	*more = false;
	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, f->after);
	db_bind_text(st, 2, f->q);
	sqlite3_bind_int(st, 3, f->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == f->limit) {
			*more = true;
			break;
		}
		db_read_user(st, 0, &u);
		each(&u, arg);
		db_user_clear(&u);
		n++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* set_addresses - replace the addresses of user id; an address someone else owned moves
 * to this user (the directory is the authority on who owns an address now) */
static enum vr_err set_addresses(struct db *db, const char *id, const char *const *addrs,
				 size_t n)
{
	DB_SQL(del, "DELETE FROM addresses WHERE user_id = ?1");
	DB_SQL(ins, "INSERT INTO addresses (address, user_id, is_primary) VALUES (?1, ?2, ?3) "
		    "ON CONFLICT (address) DO UPDATE SET user_id = ?2, is_primary = ?3");
	sqlite3_stmt *st = db_prep(db, &del);
	enum vr_err e;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	if ((e = db_exec_done(db, st, __func__)) != VR_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((st = db_prep(db, &ins)) == NULL)
			return VR_E_INTERNAL;
		db_bind_text(st, 1, addrs[i]);
		db_bind_text(st, 2, id);
		sqlite3_bind_int(st, 3, i == 0);
		if ((e = db_exec_done(db, st, __func__)) != VR_OK)
			return e;
	}
	return VR_OK;
}

/* domain_defaults - a new user starts with the digest and language defaults of the
 * domain of their primary address (when it is a relay domain) */
static enum vr_err domain_defaults(struct db *db, const char *id, const char *primary)
{
	DB_SQL(q, "UPDATE users SET digest = d.digest_default, language = d.language_default "
		  "FROM (SELECT digest_default, language_default FROM domains WHERE name = ?2) d "
		  "WHERE users.id = ?1");
	const char *at = strrchr(primary, '@');
	sqlite3_stmt *st;

	if (at == NULL)
		return VR_OK;
	if ((st = db_prep(db, &q)) == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, at + 1);
	return db_exec_done(db, st, __func__);
}

/* db_users_upsert_directory - create or refresh a directory user and its addresses */
enum vr_err db_users_upsert_directory(struct db *db, const char *directory_id, const char *dn,
				      const char *username, const char *display_name,
				      enum role directory_role, const char *const *addresses,
				      size_t naddresses, int64_t now, struct db_user *out)
{
	DB_SQL(ins, "INSERT INTO users (id, username, display_name, role, source, disabled, "
		    "created_at, directory_id, dn, directory_role) VALUES (?1, ?2, ?3, ?4, "
		    "'directory', 0, ?5, ?6, ?7, ?4)");
	DB_SQL(upd, "UPDATE users SET display_name = ?2, directory_id = ?3, dn = ?4, "
		    "directory_role = ?5, role = coalesce(role_override, ?5), last_login_at = ?6 "
		    "WHERE id = ?1");
	struct db_user cur;
	sqlite3_stmt *st;
	enum vr_err e = db_users_by_name(db, username, &cur);
	char id[VR_ID_LEN];
	bool is_new;

	if (e == VR_OK && strcmp(cur.source, "directory") != 0) {
		db_user_clear(&cur);
		return VR_E_CONFLICT; /* never let a directory take over a local account */
	}
	is_new = e == VR_E_NOT_FOUND;
	if (e == VR_E_NOT_FOUND) {
		vr_random_id(id);
		if ((st = db_prep(db, &ins)) == NULL)
			return VR_E_INTERNAL;
		db_bind_text(st, 1, id);
		db_bind_text(st, 2, username);
		db_bind_text(st, 3, display_name);
		db_bind_text(st, 4, role_name(directory_role));
		sqlite3_bind_int64(st, 5, now);
		db_bind_text(st, 6, directory_id);
		db_bind_text(st, 7, dn);
		if ((e = db_exec_done(db, st, __func__)) != VR_OK)
			return e;
	} else if (e == VR_OK) {
		snprintf(id, sizeof(id), "%s", cur.id);
		db_user_clear(&cur);
	} else {
		return e;
	}
	if ((st = db_prep(db, &upd)) == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, display_name);
	db_bind_text(st, 3, directory_id);
	db_bind_text(st, 4, dn);
	db_bind_text(st, 5, role_name(directory_role));
	sqlite3_bind_int64(st, 6, now);
	if ((e = db_exec_done(db, st, __func__)) != VR_OK)
		return e;
	if ((e = set_addresses(db, id, addresses, naddresses)) != VR_OK)
		return e;
	if (is_new && naddresses > 0 && (e = domain_defaults(db, id, addresses[0])) != VR_OK)
		return e;
	return db_users_by_id(db, id, out);
}

/* db_users_set_override - set or clear the admin's role override */
enum vr_err db_users_set_override(struct db *db, const char *id, enum role role)
{
	DB_SQL(q, "UPDATE users SET role_override = ?2, "
		  "role = coalesce(?2, directory_role, role) WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, role == ROLE_NONE ? NULL : role_name(role));
	return db_exec_one(db, st, __func__);
}

/* db_users_extra - where a user comes from and its role override */
enum vr_err db_users_extra(struct db *db, const char *id, char **directory, char **dn,
			   char **directory_role, char **override)
{
	DB_SQL(q, "SELECT d.name, u.dn, u.directory_role, u.role_override FROM users u "
		  "LEFT JOIN directories d ON d.id = u.directory_id WHERE u.id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	*directory = *dn = *directory_role = *override = NULL;
	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*directory = db_text(st, 0);
		*dn = db_text(st, 1);
		*directory_role = db_text(st, 2);
		*override = db_text(st, 3);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}
