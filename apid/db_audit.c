/* db_audit.c - the audit log: append and keyset-paginated listing (see db.h). */
#include "db_internal.h"

/* db_audit_add - append one event */
enum vr_err db_audit_add(struct db *db, const char *actor, const char *action,
			 const char *target, bool success, const char *client_ip,
			 const char *detail, int64_t now)
{
	DB_SQL(q, "INSERT INTO audit (id, time, actor, action, target, outcome, client_ip, detail) "
		  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	sqlite3_stmt *st = db_prep(db, &q);
	char id[VR_ID_LEN];

	if (st == NULL)
		return VR_E_INTERNAL;
	vr_random_id(id);
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	db_bind_text(st, 3, actor);
	db_bind_text(st, 4, action);
	db_bind_text(st, 5, target);
	db_bind_text(st, 6, success ? "success" : "failure");
	db_bind_text(st, 7, client_ip);
	db_bind_text(st, 8, detail);
	return db_exec_done(db, st, __func__);
}

/* db_audit_list - one page, newest first, with the cursor of the next */
enum vr_err db_audit_list(struct db *db, const struct db_audit_filter *f,
			  int (*each)(const struct db_audit_event *, void *), void *arg,
			  int64_t *next_seq)
{
	DB_SQL(q, "SELECT seq, id, time, actor, action, target, outcome, client_ip, detail "
		  "FROM audit WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2) "
		  "AND (?3 IS NULL OR outcome = ?3) AND (?4 IS NULL OR time >= ?4) "
		  "AND (?5 IS NULL OR time <= ?5) AND (?6 IS NULL OR seq < ?6) "
		  "ORDER BY seq DESC LIMIT ?7");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc, n = 0;

	*next_seq = 0;
	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, f->actor);
	db_bind_text(st, 2, f->action);
	db_bind_text(st, 3, f->outcome);
	db_bind_time(st, 4, f->since);
	db_bind_time(st, 5, f->until);
	db_bind_time(st, 6, f->before_seq);
	/* one more than asked tells whether another page exists */
	sqlite3_bind_int(st, 7, f->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_audit_event ev = {
			.seq = sqlite3_column_int64(st, 0),
			.id = (const char *)sqlite3_column_text(st, 1),
			.time = sqlite3_column_int64(st, 2),
			.actor = (const char *)sqlite3_column_text(st, 3),
			.action = (const char *)sqlite3_column_text(st, 4),
			.target = (const char *)sqlite3_column_text(st, 5),
			.outcome = (const char *)sqlite3_column_text(st, 6),
			.client_ip = (const char *)sqlite3_column_text(st, 7),
			.detail = (const char *)sqlite3_column_text(st, 8),
		};

		if (n == f->limit) {
			*next_seq = ev.seq + 1; /* "seq < next" resumes at this row */
			break;
		}
		each(&ev, arg);
		n++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}
