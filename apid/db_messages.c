/* db_messages.c - message tracking (messages, message_rcpts) and the quarantine index
 * (quarantine, quarantine_rcpts); see db.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"

/* existing_id - the id of the row a unique key refers to */
static void existing_id(struct db *db, struct db_sql *q, const char *a, const char *b,
			const char *c, char out[VR_ID_LEN])
{
	sqlite3_stmt *st = db_prep(db, q);

	out[0] = '\0';
	if (st == NULL)
		return;
	db_bind_text(st, 1, a);
	db_bind_text(st, 2, b);
	db_bind_text(st, 3, c);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, VR_ID_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
}

/* db_messages_add - record a message and its recipients */
enum vr_err db_messages_add(struct db *db, const struct db_msg *m, const struct db_msg_rcpt *r,
			    size_t n, char existing[VR_ID_LEN])
{
	DB_SQL(ins, "INSERT INTO messages (id, received_at, direction, queue_id, agent, "
		    "client_ip, helo, sender, from_addr, subject, message_id, size, score, virus, "
		    "symbols) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		    "?15)");
	DB_SQL(rc_ins, "INSERT INTO message_rcpts (message_seq, recipient, action, category, "
		       "reason, quarantine_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO "
		       "NOTHING");
	DB_SQL(dup, "SELECT id FROM messages WHERE agent IS ?1 AND queue_id IS ?2 AND "
		    "message_id IS ?3");
	sqlite3_stmt *st = db_prep(db, &ins);
	int64_t seq;
	enum vr_err e;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, m->id);
	sqlite3_bind_int64(st, 2, m->received_at);
	db_bind_text(st, 3, m->direction);
	db_bind_text(st, 4, m->queue_id);
	db_bind_text(st, 5, m->agent);
	db_bind_text(st, 6, m->client_ip);
	db_bind_text(st, 7, m->helo);
	db_bind_text(st, 8, m->sender);
	db_bind_text(st, 9, m->from_addr);
	db_bind_text(st, 10, m->subject);
	db_bind_text(st, 11, m->message_id);
	sqlite3_bind_int64(st, 12, m->size);
	if (m->has_score)
		sqlite3_bind_double(st, 13, m->score);
	db_bind_text(st, 14, m->virus);
	db_bind_text(st, 15, m->symbols);
	e = db_exec_done(db, st, __func__);
	if (e == VR_E_CONFLICT) {
		existing_id(db, &dup, m->agent, m->queue_id, m->message_id, existing);
		return e;
	}
	if (e != VR_OK)
		return e;
	seq = sqlite3_last_insert_rowid(db->h);
	for (size_t i = 0; i < n; i++) {
		if ((st = db_prep(db, &rc_ins)) == NULL)
			return VR_E_INTERNAL;
		sqlite3_bind_int64(st, 1, seq);
		db_bind_text(st, 2, r[i].address);
		db_bind_text(st, 3, r[i].action);
		db_bind_text(st, 4, r[i].category);
		db_bind_text(st, 5, r[i].reason);
		db_bind_text(st, 6, r[i].quarantine_id);
		if ((e = db_exec_done(db, st, __func__)) != VR_OK)
			return e;
	}
	return VR_OK;
}

/* rcpts_json - the recipients of message seq as a JSON array */
static json_t *rcpts_json(struct db *db, int64_t seq)
{
	DB_SQL(q, "SELECT recipient, action, category, reason, quarantine_id FROM message_rcpts "
		  "WHERE message_seq = ?1 ORDER BY recipient");
	sqlite3_stmt *st = db_prep(db, &q);
	json_t *arr = json_array();

	if (st == NULL)
		return arr;
	sqlite3_bind_int64(st, 1, seq);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *reason = (const char *)sqlite3_column_text(st, 3);
		const char *qid = (const char *)sqlite3_column_text(st, 4);

		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "address",
				       (const char *)sqlite3_column_text(st, 0), "action",
				       (const char *)sqlite3_column_text(st, 1), "category",
				       (const char *)sqlite3_column_text(st, 2), "reason", reason,
				       "quarantine_id", qid));
	}
	sqlite3_reset(st);
	return arr;
}

/* db_messages_list - one page of tracked messages, newest first */
enum vr_err db_messages_list(struct db *db, const struct db_msg_filter *f,
			     int (*each)(const struct db_msg *, json_t *rcpts, void *), void *arg,
			     int64_t *next_seq)
{
	DB_SQL(q, "SELECT m.seq, m.id, m.received_at, m.direction, m.queue_id, m.agent, "
		  "m.client_ip, m.helo, m.sender, m.from_addr, m.subject, m.message_id, m.size, "
		  "m.score, m.virus, m.symbols FROM messages m WHERE "
		  "(?1 IS NULL OR EXISTS (SELECT 1 FROM message_rcpts r WHERE r.message_seq = m.seq "
		  "AND r.recipient = ?1)) AND (?4 IS NULL OR EXISTS (SELECT 1 FROM message_rcpts r "
		  "WHERE r.message_seq = m.seq AND r.action = ?4 AND (?1 IS NULL OR "
		  "r.recipient = ?1))) AND "
		  "(?2 IS NULL OR m.sender = ?2 COLLATE NOCASE OR m.from_addr = ?2 COLLATE NOCASE) "
		  "AND (?3 IS NULL OR m.direction = ?3) AND (?5 IS NULL OR m.received_at >= ?5) "
		  "AND (?6 IS NULL OR m.received_at <= ?6) AND (?7 IS NULL OR m.seq < ?7) "
		  "ORDER BY m.seq DESC LIMIT ?8");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc, n = 0;
	/* the rows' recipients are read with another statement: collect the page first */
	struct row {
		int64_t seq;
		char *cols[16];
		int64_t received_at, size;
		double score;
		bool has_score;
	} *rows;

	*next_seq = 0;
	if (st == NULL)
		return VR_E_INTERNAL;
	rows = calloc((size_t)f->limit + 1, sizeof(*rows));
	VR_CHECK_ALLOC(rows);
	db_bind_text(st, 1, f->recipient);
	db_bind_text(st, 2, f->sender);
	db_bind_text(st, 3, f->direction);
	db_bind_text(st, 4, f->action);
	db_bind_time(st, 5, f->since);
	db_bind_time(st, 6, f->until);
	db_bind_time(st, 7, f->before_seq);
	sqlite3_bind_int(st, 8, f->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == f->limit) {
			*next_seq = sqlite3_column_int64(st, 0) + 1;
			break;
		}
		rows[n].seq = sqlite3_column_int64(st, 0);
		for (int c = 1; c < 16; c++)
			rows[n].cols[c] = db_text(st, c);
		rows[n].received_at = sqlite3_column_int64(st, 2);
		rows[n].size = sqlite3_column_int64(st, 12);
		rows[n].has_score = sqlite3_column_type(st, 13) != SQLITE_NULL;
		rows[n].score = sqlite3_column_double(st, 13);
		n++;
	}
	sqlite3_reset(st);
	for (int i = 0; i < n; i++) {
		char **c = rows[i].cols;
		struct db_msg m = {.id = c[1], .direction = c[3], .queue_id = c[4], .agent = c[5],
				   .client_ip = c[6], .helo = c[7], .sender = c[8],
				   .from_addr = c[9], .subject = c[10], .message_id = c[11],
				   .virus = c[14], .symbols = c[15],
				   .received_at = rows[i].received_at, .size = rows[i].size,
				   .score = rows[i].score, .has_score = rows[i].has_score};

		each(&m, rcpts_json(db, rows[i].seq), arg);
		for (int k = 1; k < 16; k++)
			free(c[k]);
	}
	free(rows);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* count_into - run a "SELECT key, count(*) ... GROUP BY key" into obj */
static enum vr_err count_into(struct db *db, struct db_sql *q, int64_t since, int64_t until,
			      json_t *obj, const char *func)
{
	sqlite3_stmt *st = db_prep(db, q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(obj, (const char *)sqlite3_column_text(st, 0),
				    json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, func);
}

/* db_messages_stats - counts by action, category and direction */
enum vr_err db_messages_stats(struct db *db, int64_t since, int64_t until, json_t *out)
{
	DB_SQL(by_action, "SELECT r.action, count(*) FROM messages m JOIN message_rcpts r ON "
			  "r.message_seq = m.seq WHERE m.received_at >= ?1 AND m.received_at < ?2 "
			  "GROUP BY r.action");
	DB_SQL(by_cat, "SELECT r.category, count(*) FROM messages m JOIN message_rcpts r ON "
		       "r.message_seq = m.seq WHERE m.received_at >= ?1 AND m.received_at < ?2 "
		       "GROUP BY r.category");
	DB_SQL(by_dir, "SELECT direction, count(*) FROM messages WHERE received_at >= ?1 AND "
		       "received_at < ?2 GROUP BY direction");
	json_t *a = json_object(), *c = json_object(), *d = json_object();
	enum vr_err e;

	json_object_set_new(out, "by_action", a);
	json_object_set_new(out, "by_category", c);
	json_object_set_new(out, "messages_by_direction", d);
	if ((e = count_into(db, &by_action, since, until, a, __func__)) != VR_OK ||
	    (e = count_into(db, &by_cat, since, until, c, __func__)) != VR_OK)
		return e;
	return count_into(db, &by_dir, since, until, d, __func__);
}

/* db_quarantine_add - index a stored copy for its recipients */
enum vr_err db_quarantine_add(struct db *db, const struct db_quarantine *q,
			      const char *const *rcpts, size_t n, char existing[VR_ID_LEN])
{
	DB_SQL(ins, "INSERT INTO quarantine (id, ingest_key, queue_id, message_id, spool, sha256, "
		    "size, received_at, direction, category, sender, from_addr, subject, score, "
		    "virus, symbols, unsubscribe, one_click) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		    "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
	DB_SQL(rins, "INSERT INTO quarantine_rcpts (quarantine_id, recipient, status, "
		     "received_at, category, updated_at) VALUES (?1, ?2, 'held', ?3, ?4, ?3) "
		     "ON CONFLICT DO NOTHING");
	DB_SQL(dup, "SELECT id FROM quarantine WHERE ingest_key = ?1 AND ?2 IS ?2 AND ?3 IS ?3");
	sqlite3_stmt *st = db_prep(db, &ins);
	enum vr_err e;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, q->id);
	db_bind_text(st, 2, q->ingest_key);
	db_bind_text(st, 3, q->queue_id);
	db_bind_text(st, 4, q->message_id);
	db_bind_text(st, 5, q->spool);
	db_bind_text(st, 6, q->sha256);
	sqlite3_bind_int64(st, 7, q->size);
	sqlite3_bind_int64(st, 8, q->received_at);
	db_bind_text(st, 9, q->direction);
	db_bind_text(st, 10, q->category);
	db_bind_text(st, 11, q->sender);
	db_bind_text(st, 12, q->from_addr);
	db_bind_text(st, 13, q->subject);
	if (q->has_score)
		sqlite3_bind_double(st, 14, q->score);
	db_bind_text(st, 15, q->virus);
	db_bind_text(st, 16, q->symbols);
	db_bind_text(st, 17, q->unsubscribe);
	sqlite3_bind_int(st, 18, q->one_click);
	e = db_exec_done(db, st, __func__);
	if (e == VR_E_CONFLICT) {
		existing_id(db, &dup, q->ingest_key, NULL, NULL, existing);
		return e;
	}
	if (e != VR_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((st = db_prep(db, &rins)) == NULL)
			return VR_E_INTERNAL;
		db_bind_text(st, 1, q->id);
		db_bind_text(st, 2, rcpts[i]);
		sqlite3_bind_int64(st, 3, q->received_at);
		db_bind_text(st, 4, q->category);
		if ((e = db_exec_done(db, st, __func__)) != VR_OK)
			return e;
	}
	return VR_OK;
}
