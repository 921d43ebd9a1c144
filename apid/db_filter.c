/* db_filter.c - filter policy columns, per-domain thresholds, allow/block lists and
 * users' newsletter choices (see db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"

/* db_filter_policy_clear - free what f owns */
void db_filter_policy_clear(struct db_filter_policy *f)
{
	free(f->virus_action);
	free(f->blocklist_action);
	json_decref(f->blocked_extensions);
	json_decref(f->blocked_types);
	memset(f, 0, sizeof(*f));
}

/* db_filter_policy_get - the filter columns of the policy row */
enum vr_err db_filter_policy_get(struct db *db, struct db_filter_policy *out)
{
	DB_SQL(q, "SELECT virus_action, blocklist_action, blocked_extensions, blocked_types, "
		  "block_encrypted_archives, outbound_spam_tag, outbound_spam_quarantine, "
		  "outbound_spam_reject FROM policy WHERE id = 1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->virus_action = db_text(st, 0);
		out->blocklist_action = db_text(st, 1);
		out->blocked_extensions = db_json_col(st, 2);
		out->blocked_types = db_json_col(st, 3);
		out->block_encrypted_archives = sqlite3_column_int(st, 4) != 0;
		out->outbound_spam_tag = sqlite3_column_double(st, 5);
		out->outbound_spam_quarantine = sqlite3_column_double(st, 6);
		out->outbound_spam_reject = sqlite3_column_double(st, 7);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}

/* db_filter_policy_put - write the filter columns */
enum vr_err db_filter_policy_put(struct db *db, const struct db_filter_policy *f)
{
	DB_SQL(q, "UPDATE policy SET virus_action = ?1, blocklist_action = ?2, "
		  "blocked_extensions = ?3, blocked_types = ?4, block_encrypted_archives = ?5, "
		  "outbound_spam_tag = ?6, outbound_spam_quarantine = ?7, outbound_spam_reject = ?8 "
		  "WHERE id = 1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, f->virus_action);
	db_bind_text(st, 2, f->blocklist_action);
	db_bind_json(st, 3, f->blocked_extensions);
	db_bind_json(st, 4, f->blocked_types);
	sqlite3_bind_int(st, 5, f->block_encrypted_archives);
	sqlite3_bind_double(st, 6, f->outbound_spam_tag);
	sqlite3_bind_double(st, 7, f->outbound_spam_quarantine);
	sqlite3_bind_double(st, 8, f->outbound_spam_reject);
	return db_exec_done(db, st, __func__);
}

#define DF_COLS                                                                                    \
	"name, spam_tag, spam_quarantine, spam_reject, subject_prefix, newsletter, "              \
	"fail_open_spam, digest_default, language_default"

/* read_df - a DF_COLS row (strings borrowed from the statement) */
static void read_df(sqlite3_stmt *st, struct db_domain_filter *f)
{
	f->name = (const char *)sqlite3_column_text(st, 0);
	f->spam_tag = sqlite3_column_double(st, 1);
	f->spam_quarantine = sqlite3_column_double(st, 2);
	f->spam_reject = sqlite3_column_double(st, 3);
	f->subject_prefix = (const char *)sqlite3_column_text(st, 4);
	f->newsletter = (const char *)sqlite3_column_text(st, 5);
	f->fail_open_spam = sqlite3_column_int(st, 6) != 0;
	f->digest_default = (const char *)sqlite3_column_text(st, 7);
	f->language_default = (const char *)sqlite3_column_text(st, 8);
}

/* db_domains_filter - one domain's filter settings (its strings malloc'd into owned) */
enum vr_err db_domains_filter(struct db *db, const char *id, struct db_domain_filter *out,
			      char *owned[4])
{
	DB_SQL(q, "SELECT " DF_COLS " FROM domains WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_df(st, out);
		out->name = NULL;
		owned[0] = db_text(st, 4);
		owned[1] = db_text(st, 5);
		owned[2] = db_text(st, 7);
		owned[3] = db_text(st, 8);
		out->subject_prefix = owned[0];
		out->newsletter = owned[1];
		out->digest_default = owned[2];
		out->language_default = owned[3];
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}

/* db_domains_filter_list - every domain's filter settings */
enum vr_err db_domains_filter_list(struct db *db,
				   int (*each)(const struct db_domain_filter *, void *), void *arg)
{
	DB_SQL(q, "SELECT " DF_COLS " FROM domains ORDER BY name");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_domain_filter f;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_df(st, &f);
		each(&f, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_domains_filter_put - write one domain's filter settings */
enum vr_err db_domains_filter_put(struct db *db, const char *id,
				  const struct db_domain_filter *f)
{
	DB_SQL(q, "UPDATE domains SET spam_tag = ?2, spam_quarantine = ?3, spam_reject = ?4, "
		  "subject_prefix = ?5, newsletter = ?6, fail_open_spam = ?7, digest_default = ?8, "
		  "language_default = ?9 WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	sqlite3_bind_double(st, 2, f->spam_tag);
	sqlite3_bind_double(st, 3, f->spam_quarantine);
	sqlite3_bind_double(st, 4, f->spam_reject);
	db_bind_text(st, 5, f->subject_prefix);
	db_bind_text(st, 6, f->newsletter);
	sqlite3_bind_int(st, 7, f->fail_open_spam);
	db_bind_text(st, 8, f->digest_default);
	db_bind_text(st, 9, f->language_default);
	return db_exec_done(db, st, __func__);
}

/* db_lists_list - entries, global and/or of one owner, by kind and pattern */
enum vr_err db_lists_list(struct db *db, const struct db_list_filter *f,
			  int (*each)(const struct db_list_entry *, void *), void *arg)
{
	DB_SQL(q, "SELECT l.id, l.kind, l.owner_id, u.username, l.pattern, l.comment, "
		  "l.created_by, l.created_at FROM lists l LEFT JOIN users u ON u.id = l.owner_id "
		  "WHERE (?1 IS NULL OR l.owner_id = ?1) AND (?2 IS NULL OR l.kind = ?2) "
		  "ORDER BY l.owner_id, l.kind, l.pattern");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, f->owner_id);
	db_bind_text(st, 2, f->kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_list_entry e = {
			.id = (const char *)sqlite3_column_text(st, 0),
			.kind = (const char *)sqlite3_column_text(st, 1),
			.owner_id = (const char *)sqlite3_column_text(st, 2),
			.owner = (const char *)sqlite3_column_text(st, 3),
			.pattern = (const char *)sqlite3_column_text(st, 4),
			.comment = (const char *)sqlite3_column_text(st, 5),
			.created_by = (const char *)sqlite3_column_text(st, 6),
			.created_at = sqlite3_column_int64(st, 7),
		};

		each(&e, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_lists_add - insert an entry */
enum vr_err db_lists_add(struct db *db, const char *id, const char *kind, const char *owner_id,
			 const char *pattern, const char *comment, const char *created_by,
			 int64_t now)
{
	DB_SQL(q, "INSERT INTO lists (id, kind, owner_id, pattern, comment, created_at, "
		  "created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, kind);
	db_bind_text(st, 3, owner_id);
	db_bind_text(st, 4, pattern);
	db_bind_text(st, 5, comment);
	sqlite3_bind_int64(st, 6, now);
	db_bind_text(st, 7, created_by);
	return db_exec_done(db, st, __func__);
}

/* db_lists_get - owner, kind and pattern of an entry (malloc'd) */
enum vr_err db_lists_get(struct db *db, const char *id, char **owner_id, char **kind,
			 char **pattern)
{
	DB_SQL(q, "SELECT owner_id, kind, pattern FROM lists WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*owner_id = db_text(st, 0);
		*kind = db_text(st, 1);
		*pattern = db_text(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}

/* db_lists_delete - remove an entry */
enum vr_err db_lists_delete(struct db *db, const char *id)
{
	DB_SQL(q, "DELETE FROM lists WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	return db_exec_one(db, st, __func__);
}

/* db_lists_count - how many entries an owner has */
enum vr_err db_lists_count(struct db *db, const char *owner_id, int64_t *n)
{
	DB_SQL(q, "SELECT count(*) FROM lists WHERE owner_id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, owner_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* db_lists_by_address - user entries expanded to each address of their owner */
enum vr_err db_lists_by_address(struct db *db,
				int (*each)(const char *address, const char *kind,
					    const char *pattern, void *),
				void *arg)
{
	DB_SQL(q, "SELECT a.address, l.kind, l.pattern FROM lists l JOIN addresses a ON "
		  "a.user_id = l.owner_id WHERE l.owner_id <> '' ORDER BY a.address, l.kind, "
		  "l.pattern");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		each((const char *)sqlite3_column_text(st, 0),
		     (const char *)sqlite3_column_text(st, 1),
		     (const char *)sqlite3_column_text(st, 2), arg);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, __func__);
}

/* db_users_set_newsletter - a user's newsletter choice */
enum vr_err db_users_set_newsletter(struct db *db, const char *id, const char *choice)
{
	DB_SQL(q, "UPDATE users SET newsletter = ?2 WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, choice);
	return db_exec_done(db, st, __func__);
}

/* db_users_get_newsletter - a user's newsletter choice (malloc'd) */
enum vr_err db_users_get_newsletter(struct db *db, const char *id, char **choice)
{
	DB_SQL(q, "SELECT newsletter FROM users WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*choice = db_text(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, __func__);
}

/* db_newsletter_by_address - addresses whose owner made a choice */
enum vr_err db_newsletter_by_address(struct db *db,
				     int (*each)(const char *address, const char *choice, void *),
				     void *arg)
{
	DB_SQL(q, "SELECT a.address, u.newsletter FROM users u JOIN addresses a ON "
		  "a.user_id = u.id WHERE u.newsletter <> 'default' ORDER BY a.address");
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
