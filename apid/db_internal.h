/* db_internal.h - what the db*.c files share and nothing else includes.
 *
 * struct db is one connection plus its cache of prepared statements.
 */
#ifndef VR_DB_INTERNAL_H
#define VR_DB_INTERNAL_H

#include <sqlite3.h>

#include "db.h"

#define DB_MAX_STMTS 128

struct db {
	sqlite3 *h;
	sqlite3_stmt *stmts[DB_MAX_STMTS];
};

/* db_prep - the cached, reset statement for q; NULL (logged) when it cannot prepare */
sqlite3_stmt *db_prep(struct db *db, struct db_sql *q);
/* db_fail - map an SQLite result code to a vr_err, logging unexpected ones */
enum vr_err db_fail(struct db *db, int rc, const char *func);
/* db_text - strdup of a text column, NULL when NULL */
char *db_text(sqlite3_stmt *st, int col);
/* db_bind_text - bind a string or NULL */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* db_bind_time - bind seconds, or NULL when 0 */
int db_bind_time(sqlite3_stmt *st, int idx, int64_t t);
/* db_read_user - fill u from a row that selects the users columns from col on */
void db_read_user(sqlite3_stmt *st, int col, struct db_user *u);
/* db_read_one - run q (selecting by ?1 = id) and fill out with read(); NOT_FOUND if no row */
enum vr_err db_read_one(struct db *db, struct db_sql *q, const char *id,
			void (*read)(sqlite3_stmt *, void *), void *out, const char *func);
/* db_json_col - a JSON text column as a new reference (an empty array when unreadable) */
json_t *db_json_col(sqlite3_stmt *st, int col);
/* db_bind_json - bind a JSON value as compact text */
void db_bind_json(sqlite3_stmt *st, int idx, const json_t *j);
/* db_exec_one - db_exec_done for a statement that must change a row (NOT_FOUND if none) */
enum vr_err db_exec_one(struct db *db, sqlite3_stmt *st, const char *func);
/* db_exec_done - step a statement that returns no rows; VR_OK or the mapped error */
enum vr_err db_exec_done(struct db *db, sqlite3_stmt *st, const char *func);

#endif
