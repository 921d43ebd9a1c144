/* db_sessions.c - the sessions table: one row per issued login JWT (see db.h). */
#include <string.h>

#include "db_internal.h"

/* db_sessions_add - record a freshly issued session */
enum vr_err db_sessions_add(struct db *db, const char *jti, const char *user_id, int64_t now,
			    int64_t expires_at, const char *client_ip)
{
	DB_SQL(q, "INSERT INTO sessions (jti, user_id, created_at, expires_at, client_ip) "
		  "VALUES (?1, ?2, ?3, ?4, ?5)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, jti);
	db_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires_at);
	db_bind_text(st, 5, client_ip);
	return db_exec_done(db, st, __func__);
}

/* db_sessions_get - the session jti and its user */
enum vr_err db_sessions_get(struct db *db, const char *jti, struct db_session *out)
{
	DB_SQL(q, "SELECT s.revoked_at IS NOT NULL, s.expires_at, u.id, u.username, "
		  "u.display_name, u.role, u.source, u.password_hash, u.disabled, u.created_at, "
		  "u.last_login_at FROM sessions s JOIN users u ON u.id = s.user_id "
		  "WHERE s.jti = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	enum vr_err e = VR_OK;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, jti);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->revoked = sqlite3_column_int(st, 0) != 0;
		out->expires_at = sqlite3_column_int64(st, 1);
		db_read_user(st, 2, &out->user);
	} else {
		e = rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
	}
	sqlite3_reset(st);
	return e;
}

/* db_sessions_revoke - mark jti revoked (idempotent) */
enum vr_err db_sessions_revoke(struct db *db, const char *jti, int64_t now)
{
	DB_SQL(q, "UPDATE sessions SET revoked_at = coalesce(revoked_at, ?2) WHERE jti = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, jti);
	sqlite3_bind_int64(st, 2, now);
	return db_exec_done(db, st, __func__);
}

/* db_sessions_purge - forget sessions that expired before `before` */
enum vr_err db_sessions_purge(struct db *db, int64_t before)
{
	DB_SQL(q, "DELETE FROM sessions WHERE expires_at < ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_int64(st, 1, before);
	return db_exec_done(db, st, __func__);
}
