/* db_users.c - the users and addresses tables (see db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"

#define USER_COLS                                                                                  \
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
