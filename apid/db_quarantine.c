/* db_quarantine.c - reading and changing the quarantine index (see db.h).
 *
 * Visibility is part of every query: a user's filter joins the recipients with the
 * user's addresses, so another user's item is simply not found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"

#define QCOLS                                                                                      \
	"q.id, r.recipient, r.status, r.category, q.direction, q.sender, q.from_addr, "           \
	"q.subject, q.virus, q.spool, q.symbols, q.unsubscribe, q.queue_id, q.message_id, "       \
	"r.received_at, q.size, r.updated_at, q.score, q.one_click"

/* read_item - a QCOLS row (strings borrowed from the statement) */
static void read_item(sqlite3_stmt *st, struct db_qitem *it)
{
	const char **s[] = {&it->id,      &it->recipient, &it->status,    &it->category,
			    &it->direction, &it->sender,  &it->from_addr, &it->subject,
			    &it->virus,   &it->spool,     &it->symbols,   &it->unsubscribe,
			    &it->queue_id, &it->message_id};

	for (int i = 0; i < 14; i++)
		*s[i] = (const char *)sqlite3_column_text(st, i);
	it->received_at = sqlite3_column_int64(st, 14);
	it->size = sqlite3_column_int64(st, 15);
	it->updated_at = sqlite3_column_int64(st, 16);
	it->has_score = sqlite3_column_type(st, 17) != SQLITE_NULL;
	it->score = sqlite3_column_double(st, 17);
	it->one_click = sqlite3_column_int(st, 18) != 0;
}

/* The search conditions every listing applies after its index walk:
 * ?2 hide admin-only, ?3 recipient, ?4 sender, ?5 text, ?6 category, ?7 status,
 * ?8 min score, ?9 max score, ?10 since, ?11 until; ?12..?14 the keyset cursor. */
#define QFILTER                                                                                    \
	"(?2 = 0 OR r.category NOT IN ('virus', 'attachment')) "                                  \
	"AND (?3 IS NULL OR r.recipient = ?3) "                                                    \
	"AND (?4 IS NULL OR q.sender = ?4 COLLATE NOCASE OR q.from_addr = ?4 COLLATE NOCASE) "   \
	"AND (?5 IS NULL OR instr(lower(coalesce(q.subject, '')), lower(?5)) > 0 OR "             \
	"instr(lower(coalesce(q.sender, '')), lower(?5)) > 0 OR "                                 \
	"instr(lower(coalesce(q.from_addr, '')), lower(?5)) > 0) "                                 \
	"AND (?6 IS NULL OR r.category = ?6) AND (?7 IS NULL OR r.status = ?7) "                   \
	"AND (?8 IS NULL OR q.score >= ?8) AND (?9 IS NULL OR q.score <= ?9) "                     \
	"AND (?10 IS NULL OR r.received_at >= ?10) AND (?11 IS NULL OR r.received_at <= ?11) "    \
	"AND (?12 IS NULL OR r.received_at < ?12 OR (r.received_at = ?12 AND "                   \
	"(r.quarantine_id > ?13 OR (r.quarantine_id = ?13 AND r.recipient > ?14)))) "
#define QORDER "ORDER BY r.received_at DESC, r.quarantine_id, r.recipient LIMIT ?15"
/* the conditions on recipient rows alone (the fast path of a user's list) */
#define RFILTER                                                                                    \
	"(?2 = 0 OR r.category NOT IN ('virus', 'attachment')) "                                  \
	"AND (?3 IS NULL OR r.recipient = ?3) "                                                    \
	"AND (?6 IS NULL OR r.category = ?6) AND (?7 IS NULL OR r.status = ?7) "                   \
	"AND (?10 IS NULL OR r.received_at >= ?10) AND (?11 IS NULL OR r.received_at <= ?11) "    \
	"AND (?12 IS NULL OR r.received_at < ?12 OR (r.received_at = ?12 AND "                   \
	"(r.quarantine_id > ?13 OR (r.quarantine_id = ?13 AND r.recipient > ?14)))) "            \
	"AND ?4 IS NULL AND ?5 IS NULL AND ?8 IS NULL AND ?9 IS NULL "
#define QFROM "FROM quarantine_rcpts r JOIN quarantine q ON q.id = r.quarantine_id "

/* bind_filter - bind ?1..?15 */
static void bind_filter(sqlite3_stmt *st, const struct db_qfilter *f, int limit)
{
	db_bind_text(st, 1, f->owner_id);
	sqlite3_bind_int(st, 2, f->hide_admin_only);
	db_bind_text(st, 3, f->recipient);
	db_bind_text(st, 4, f->sender);
	db_bind_text(st, 5, f->text);
	db_bind_text(st, 6, f->category);
	db_bind_text(st, 7, f->status);
	if (f->has_min)
		sqlite3_bind_double(st, 8, f->min_score);
	if (f->has_max)
		sqlite3_bind_double(st, 9, f->max_score);
	db_bind_time(st, 10, f->since);
	db_bind_time(st, 11, f->until);
	if (f->after_id) {
		sqlite3_bind_int64(st, 12, f->after_time);
		db_bind_text(st, 13, f->after_id);
		db_bind_text(st, 14, f->after_rcpt);
	}
	sqlite3_bind_int(st, 15, limit);
}

/* db_quarantine_list - one page, newest first, keyset-paginated. Three statements, one
 * per index: a user's addresses (quarantine_rcpts_user, one range per address), one
 * recipient (the same index), or everything (quarantine_rcpts_time) — an "x IS NULL OR"
 * guard around the recipient would make SQLite scan the whole table instead. */
enum vr_err db_quarantine_list(struct db *db, const struct db_qfilter *f,
			       int (*each)(const struct db_qitem *, void *), void *arg, bool *more)
{
	/* a user's page without message-side filters: sort the recipient rows from the
	 * covering index, keep one page, then join the messages of that page only */
	DB_SQL(by_owner_fast, "SELECT " QCOLS " FROM (SELECT r.quarantine_id, r.recipient, "
			      "r.status, r.category, r.received_at, r.updated_at FROM "
			      "quarantine_rcpts r WHERE r.recipient IN (SELECT address FROM addresses "
			      "WHERE user_id = ?1) AND " RFILTER QORDER ") r JOIN quarantine q ON "
			      "q.id = r.quarantine_id ORDER BY r.received_at DESC, r.quarantine_id, "
			      "r.recipient");
	DB_SQL(by_owner, "SELECT " QCOLS " " QFROM "WHERE r.recipient IN (SELECT address FROM "
			 "addresses WHERE user_id = ?1) AND " QFILTER QORDER);
	DB_SQL(by_rcpt, "SELECT " QCOLS " " QFROM "WHERE r.recipient = ?3 AND ?1 IS NULL AND "
			QFILTER QORDER);
	DB_SQL(all, "SELECT " QCOLS " " QFROM "WHERE ?1 IS NULL AND " QFILTER QORDER);
	bool q_side = f->sender || f->text || f->has_min || f->has_max;
	sqlite3_stmt *st = db_prep(db, f->owner_id ? (q_side ? &by_owner : &by_owner_fast)
				       : f->recipient ? &by_rcpt
						      : &all);
	struct db_qitem it;
	int rc, n = 0;

	*more = false;
	if (st == NULL)
		return VR_E_INTERNAL;
	bind_filter(st, f, f->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == f->limit) {
			*more = true;
			break;
		}
		read_item(st, &it);
		each(&it, arg);
		n++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* db_quarantine_totals - held items per category: counted over a user's (or one
 * recipient's) rows, or read from the trigger-kept counters for everybody's */
enum vr_err db_quarantine_totals(struct db *db, const struct db_qfilter *f, json_t *out)
{
	DB_SQL(by_owner, "SELECT r.category, count(*) FROM quarantine_rcpts r WHERE r.recipient IN "
			 "(SELECT address FROM addresses WHERE user_id = ?1) AND r.status = 'held' "
			 "AND (?2 = 0 OR r.category NOT IN ('virus', 'attachment')) "
			 "GROUP BY r.category");
	DB_SQL(by_rcpt, "SELECT r.category, count(*) FROM quarantine_rcpts r WHERE "
			"r.recipient = ?3 AND r.status = 'held' AND ?1 IS NULL AND ?2 = ?2 "
			"GROUP BY r.category");
	DB_SQL(all, "SELECT category, n FROM quarantine_counts WHERE status = 'held' AND n > 0 "
		    "AND ?1 IS NULL AND ?2 = ?2 AND ?3 IS NULL");
	sqlite3_stmt *st = db_prep(db, f->owner_id ? &by_owner : f->recipient ? &by_rcpt : &all);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, f->owner_id);
	sqlite3_bind_int(st, 2, f->hide_admin_only);
	db_bind_text(st, 3, f->recipient);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
				    json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_quarantine_items - the visible recipient rows of one message */
enum vr_err db_quarantine_items(struct db *db, const char *id, const struct db_qfilter *f,
				int (*each)(const struct db_qitem *, void *), void *arg)
{
	DB_SQL(q, "SELECT " QCOLS " FROM quarantine_rcpts r JOIN quarantine q ON "
		  "q.id = r.quarantine_id WHERE r.quarantine_id = ?12 AND "
		  "(?1 IS NULL OR r.recipient IN (SELECT address FROM addresses WHERE user_id = ?1)) "
		  "AND (?2 = 0 OR r.category NOT IN ('virus', 'attachment')) ORDER BY r.recipient");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_qitem it;
	int rc, n = 0;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, f->owner_id);
	sqlite3_bind_int(st, 2, f->hide_admin_only);
	db_bind_text(st, 12, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_item(st, &it);
		each(&it, arg);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, __func__);
	return n ? VR_OK : VR_E_NOT_FOUND;
}

/* db_quarantine_transition - compare-and-set of one recipient's status */
enum vr_err db_quarantine_transition(struct db *db, const char *id, const char *recipient,
				     const char *from, const char *to, int64_t now)
{
	DB_SQL(q, "UPDATE quarantine_rcpts SET status = ?4, updated_at = ?5 WHERE "
		  "quarantine_id = ?1 AND recipient = ?2 AND status = ?3");
	sqlite3_stmt *st = db_prep(db, &q);
	enum vr_err e;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, recipient);
	db_bind_text(st, 3, from);
	db_bind_text(st, 4, to);
	sqlite3_bind_int64(st, 5, now);
	e = db_exec_done(db, st, __func__);
	if (e == VR_OK && sqlite3_changes(db->h) == 0)
		return VR_E_CONFLICT;
	return e;
}

/* db_address_owner - who owns an address */
enum vr_err db_address_owner(struct db *db, const char *address, char **user_id)
{
	DB_SQL(q, "SELECT user_id FROM addresses WHERE address = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, address);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*user_id = db_text(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}

/* db_retention - the retention days per category */
enum vr_err db_retention(struct db *db, json_t **out)
{
	DB_SQL(q, "SELECT retention FROM policy WHERE id = 1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	*out = NULL;
	if (st == NULL)
		return VR_E_INTERNAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW && *out == NULL)
		*out = json_object();
	return rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* db_quarantine_purge_batch - delete a batch of items past their retention */
enum vr_err db_quarantine_purge_batch(struct db *db, const char *category, int64_t cutoff,
				      int limit, json_t *names, int *n)
{
	DB_SQL(sel, "SELECT id, spool FROM quarantine WHERE category = ?1 AND received_at < ?2 "
		    "ORDER BY received_at LIMIT ?3");
	sqlite3_stmt *st = db_prep(db, &sel);
	json_t *ids = json_array(), *v;
	enum vr_err e = VR_OK;
	size_t i;
	int rc;

	*n = 0;
	if (st == NULL) {
		json_decref(ids);
		return VR_E_INTERNAL;
	}
	db_bind_text(st, 1, category);
	sqlite3_bind_int64(st, 2, cutoff);
	sqlite3_bind_int(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(ids, json_string((const char *)sqlite3_column_text(st, 0)));
		json_array_append_new(names, json_string((const char *)sqlite3_column_text(st, 1)));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		e = db_fail(db, rc, __func__);
	json_array_foreach(ids, i, v)
	{
		if (e != VR_OK)
			break;
		e = db_quarantine_delete(db, json_string_value(v));
		*n += e == VR_OK;
	}
	json_decref(ids);
	return e;
}

/* db_quarantine_delete - remove one item (its recipient rows go with it) */
enum vr_err db_quarantine_delete(struct db *db, const char *id)
{
	DB_SQL(q, "DELETE FROM quarantine WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	return db_exec_done(db, st, __func__);
}

/* db_quarantine_has_spool - is a spool file indexed? */
enum vr_err db_quarantine_has_spool(struct db *db, const char *name, bool *yes)
{
	DB_SQL(q, "SELECT 1 FROM quarantine WHERE spool = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_quarantine_spools - every indexed spool name */
enum vr_err db_quarantine_spools(struct db *db, int (*each)(const char *id, const char *spool,
							    void *),
				 void *arg)
{
	DB_SQL(q, "SELECT id, spool FROM quarantine");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		each((const char *)sqlite3_column_text(st, 0),
		     (const char *)sqlite3_column_text(st, 1), arg);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_quarantine_unsubscribed - record a one-click unsubscribe */
enum vr_err db_quarantine_unsubscribed(struct db *db, const char *id, int64_t now, long status)
{
	DB_SQL(q, "UPDATE quarantine SET unsubscribed_at = ?2, unsubscribe_status = ?3 "
		  "WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, status);
	return db_exec_done(db, st, __func__);
}
