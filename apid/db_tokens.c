/* db_tokens.c - the api_tokens table: long-lived credentials stored as hashes (db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

#define TOKEN_COLS                                                                                 \
	"t.id, t.user_id, t.name, u.username, t.role, t.created_at, t.expires_at, "               \
	"t.last_used_at, t.revoked_at, u.disabled, u.role"

/* db_token_clear - free the strings of t */
void db_token_clear(struct db_token *t)
{
	free(t->name);
	free(t->owner);
	memset(t, 0, sizeof(*t));
}

/* read_token - fill t from a row that selects TOKEN_COLS */
static void read_token(sqlite3_stmt *st, struct db_token *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(t->user_id, sizeof(t->user_id), "%s", (const char *)sqlite3_column_text(st, 1));
	t->name = db_text(st, 2);
	t->owner = db_text(st, 3);
	t->role = role_parse((const char *)sqlite3_column_text(st, 4));
	t->created_at = sqlite3_column_int64(st, 5);
	t->expires_at = sqlite3_column_int64(st, 6);
	t->last_used_at = sqlite3_column_int64(st, 7);
	t->revoked_at = sqlite3_column_int64(st, 8);
	t->owner_disabled = sqlite3_column_int(st, 9) != 0;
	t->owner_role = role_parse((const char *)sqlite3_column_text(st, 10));
}

/* one_token - step a TOKEN_COLS statement and fill out */
static enum vr_err one_token(struct db *db, sqlite3_stmt *st, struct db_token *out,
			     const char *func)
{
	int rc = sqlite3_step(st);
	enum vr_err e = VR_OK;

	if (rc == SQLITE_ROW)
		read_token(st, out);
	else
		e = rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, func);
	sqlite3_reset(st);
	return e;
}

/* db_tokens_add - store a new token (its hash only) */
enum vr_err db_tokens_add(struct db *db, const struct db_token *t,
			  const unsigned char hash[DB_TOKEN_HASH_LEN])
{
	DB_SQL(q, "INSERT INTO api_tokens (id, user_id, name, role, hash, created_at, expires_at) "
		  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, t->id);
	db_bind_text(st, 2, t->user_id);
	db_bind_text(st, 3, t->name);
	db_bind_text(st, 4, role_name(t->role));
	sqlite3_bind_blob(st, 5, hash, DB_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, t->created_at);
	db_bind_time(st, 7, t->expires_at);
	return db_exec_done(db, st, __func__);
}

/* db_tokens_by_hash - the token whose secret hashes to hash */
enum vr_err db_tokens_by_hash(struct db *db, const unsigned char hash[DB_TOKEN_HASH_LEN],
			      struct db_token *out)
{
	DB_SQL(q, "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id "
		  "WHERE t.hash = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_blob(st, 1, hash, DB_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	return one_token(db, st, out, __func__);
}

/* db_tokens_get - the token with this id */
enum vr_err db_tokens_get(struct db *db, const char *id, struct db_token *out)
{
	DB_SQL(q, "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id "
		  "WHERE t.id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	return one_token(db, st, out, __func__);
}

/* db_tokens_touch - set last_used_at */
enum vr_err db_tokens_touch(struct db *db, const char *id, int64_t now)
{
	DB_SQL(q, "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return db_exec_done(db, st, __func__);
}

/* db_tokens_list - the live tokens of owner (NULL: all), oldest first */
enum vr_err db_tokens_list(struct db *db, const char *owner, int64_t now,
			   int (*each)(const struct db_token *, void *), void *arg)
{
	DB_SQL(q, "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id "
		  "WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2) "
		  "AND (?1 IS NULL OR u.username = ?1) ORDER BY t.created_at, t.id");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_token t;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, owner);
	sqlite3_bind_int64(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int stop;

		read_token(st, &t);
		stop = each(&t, arg);
		db_token_clear(&t);
		if (stop)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* db_tokens_revoke - revoke id, owned by user_id unless that is NULL */
enum vr_err db_tokens_revoke(struct db *db, const char *id, const char *user_id, int64_t now)
{
	DB_SQL(q, "UPDATE api_tokens SET revoked_at = ?3 WHERE id = ?1 AND revoked_at IS NULL "
		  "AND (?2 IS NULL OR user_id = ?2)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, now);
	return db_exec_one(db, st, __func__);
}
