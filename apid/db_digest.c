/* db_digest.c - who gets a digest when, and the single use of digest links (db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

#define DIGEST_COLS                                                                                \
	"u.id, u.username, u.language, u.digest, (SELECT address FROM addresses a WHERE "          \
	"a.user_id = u.id ORDER BY is_primary DESC, address LIMIT 1), u.digest_sent_at"

/* db_digest_due - users due for a digest with something new to tell */
enum vr_err db_digest_due(struct db *db, int64_t now,
			  int (*each)(const struct db_digest_user *, void *), void *arg)
{
	DB_SQL(q, "SELECT " DIGEST_COLS " FROM users u WHERE u.disabled = 0 AND "
		  "((u.digest = 'daily' AND u.digest_sent_at <= ?1 - 86400) OR "
		  "(u.digest = 'weekly' AND u.digest_sent_at <= ?1 - 604800)) AND EXISTS (SELECT 1 "
		  "FROM addresses a JOIN quarantine_rcpts r ON r.recipient = a.address WHERE "
		  "a.user_id = u.id AND r.status = 'held' AND r.received_at > u.digest_sent_at AND "
		  "r.category NOT IN ('virus', 'attachment'))");
	sqlite3_stmt *st = db_prep(db, &q);
	struct ids {
		char id[VR_ID_LEN];
	} *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_int64(st, 1, now);
	/* collect first: each() sends mail and must not run inside this statement */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = realloc(ids, cap * sizeof(*ids));
			if (ids == NULL)
				abort();
		}
		snprintf(ids[n++].id, VR_ID_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	for (size_t i = 0; rc == SQLITE_DONE && i < n; i++) {
		struct db_digest_user u;
		char *strs[5] = {0};

		if (db_digest_user(db, ids[i].id, &u, strs) == VR_OK)
			each(&u, arg);
		for (int k = 0; k < 5; k++)
			free(strs[k]);
	}
	free(ids);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_digest_user - one user's digest settings and primary address */
enum vr_err db_digest_user(struct db *db, const char *user_id, struct db_digest_user *out,
			   char **strings)
{
	DB_SQL(q, "SELECT " DIGEST_COLS " FROM users u WHERE u.id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		for (int k = 0; k < 5; k++)
			strings[k] = db_text(st, k);
		out->id = strings[0];
		out->username = strings[1];
		out->language = strings[2];
		out->digest = strings[3];
		out->address = strings[4];
		out->sent_at = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}

/* db_digest_mark_sent - the digest went out at `when` */
enum vr_err db_digest_mark_sent(struct db *db, const char *user_id, int64_t when)
{
	DB_SQL(q, "UPDATE users SET digest_sent_at = ?2 WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, user_id);
	sqlite3_bind_int64(st, 2, when);
	return db_exec_done(db, st, __func__);
}

/* db_digest_claim - use a link's nonce, once */
enum vr_err db_digest_claim(struct db *db, const char *nonce, const char *action,
			    const char *qid, int64_t now)
{
	DB_SQL(q, "INSERT INTO digest_links_used (nonce, used_at, action, quarantine_id) "
		  "VALUES (?1, ?2, ?3, ?4)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, nonce);
	sqlite3_bind_int64(st, 2, now);
	db_bind_text(st, 3, action);
	db_bind_text(st, 4, qid);
	return db_exec_done(db, st, __func__);
}

/* db_digest_unclaim - give a nonce back (the action failed) */
enum vr_err db_digest_unclaim(struct db *db, const char *nonce)
{
	DB_SQL(q, "DELETE FROM digest_links_used WHERE nonce = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, nonce);
	return db_exec_done(db, st, __func__);
}

/* db_digest_used - was the nonce used? */
enum vr_err db_digest_used(struct db *db, const char *nonce, bool *used)
{
	DB_SQL(q, "SELECT 1 FROM digest_links_used WHERE nonce = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, nonce);
	rc = sqlite3_step(st);
	*used = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_users_set_digest - a user's digest frequency and language (NULL: unchanged) */
enum vr_err db_users_set_digest(struct db *db, const char *id, const char *digest,
				const char *language)
{
	DB_SQL(q, "UPDATE users SET digest = coalesce(?2, digest), language = coalesce(?3, "
		  "language) WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, digest);
	db_bind_text(st, 3, language);
	return db_exec_done(db, st, __func__);
}
