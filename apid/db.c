/* db.c - connections, statement cache, migrations and the transaction runner (db.h).
 *
 * Owns: the database path (set once by db_env_init before threads start), the
 * thread-local connection key, and the global counter that gives each `struct db_sql`
 * its cache slot.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "log.h"

static char *db_path;
static pthread_key_t db_key;
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;
static atomic_int next_slot;

/* db_fail - map an SQLite result code to a vr_err */
enum vr_err db_fail(struct db *db, int rc, const char *func)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return VR_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return VR_E_BUSY;
	case SQLITE_CONSTRAINT:
		return VR_E_CONFLICT;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		vr_log(VR_LOG_ERR, func, "database unavailable: %s", sqlite3_errmsg(db->h));
		return VR_E_UNAVAILABLE;
	default:
		vr_log(VR_LOG_ERR, func, "sqlite error %d: %s", rc, sqlite3_errmsg(db->h));
		return VR_E_INTERNAL;
	}
}

/* db_prep - the cached, reset statement for q */
sqlite3_stmt *db_prep(struct db *db, struct db_sql *q)
{
	int slot = __atomic_load_n(&q->slot, __ATOMIC_ACQUIRE);

	if (slot < 0) {
		int fresh = atomic_fetch_add(&next_slot, 1), expect = -1;

		if (fresh >= DB_MAX_STMTS)
			VR_DIE("more than %d distinct SQL statements", DB_MAX_STMTS);
		/* another thread may have won the race: use its slot */
		if (!__atomic_compare_exchange_n(&q->slot, &expect, fresh, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			fresh = expect;
		slot = fresh;
	}
	if (db->stmts[slot] == NULL) {
		int rc = sqlite3_prepare_v3(db->h, q->sql, -1, SQLITE_PREPARE_PERSISTENT,
					    &db->stmts[slot], NULL);

		if (rc != SQLITE_OK) {
			VR_LOG_ERR("cannot prepare [%s]: %s", q->sql, sqlite3_errmsg(db->h));
			return NULL;
		}
	} else {
		sqlite3_reset(db->stmts[slot]);
		sqlite3_clear_bindings(db->stmts[slot]);
	}
	return db->stmts[slot];
}

/* db_text - strdup of a text column */
char *db_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	char *copy;

	if (s == NULL)
		return NULL;
	copy = strdup((const char *)s);
	VR_CHECK_ALLOC(copy);
	return copy;
}

/* db_bind_text - bind a string or NULL */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

/* db_bind_time - bind seconds, or NULL when 0 */
int db_bind_time(sqlite3_stmt *st, int idx, int64_t t)
{
	if (t == 0)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, t);
}

/* db_exec_done - step a statement that returns no rows */
enum vr_err db_exec_done(struct db *db, sqlite3_stmt *st, const char *func)
{
	int rc = sqlite3_step(st);
	enum vr_err e = rc == SQLITE_DONE ? VR_OK : db_fail(db, rc, func);

	sqlite3_reset(st);
	return e;
}

/* exec - run SQL text without results (pragmas, migrations) */
static int exec(struct db *db, const char *sql, char *err, size_t errsz)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK && err)
		snprintf(err, errsz, "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* db_user_version - PRAGMA user_version */
int db_user_version(struct db *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* db_migrate_to - apply the migrations newer than user_version, one transaction each */
enum vr_err db_migrate_to(struct db *db, const struct vr_embedded *m, size_t n, char *err,
			  size_t errsz)
{
	int have = db_user_version(db);
	char sql[64], msg[256];

	if (have < 0) {
		snprintf(err, errsz, "cannot read the schema version: %s", sqlite3_errmsg(db->h));
		return VR_E_UNAVAILABLE;
	}
	if ((size_t)have > n) {
		snprintf(err, errsz,
			 "the database schema is version %d but this apid knows only up to %zu: "
			 "it was written by a newer vrgate; refusing to start (upgrade apid or "
			 "restore a backup)",
			 have, n);
		return VR_E_CONFLICT;
	}
	for (size_t i = (size_t)have; i < n; i++) {
		if (exec(db, "BEGIN IMMEDIATE", msg, sizeof(msg)) != SQLITE_OK ||
		    exec(db, m[i].data, msg, sizeof(msg)) != SQLITE_OK) {
			snprintf(err, errsz, "migration %s failed: %s", m[i].name, msg);
			exec(db, "ROLLBACK", NULL, 0);
			return VR_E_INTERNAL;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		if (exec(db, sql, msg, sizeof(msg)) != SQLITE_OK ||
		    exec(db, "COMMIT", msg, sizeof(msg)) != SQLITE_OK) {
			snprintf(err, errsz, "migration %s failed: %s", m[i].name, msg);
			exec(db, "ROLLBACK", NULL, 0);
			return VR_E_INTERNAL;
		}
		VR_LOG_INFO("applied migration %s (schema version %zu)", m[i].name, i + 1);
	}
	return VR_OK;
}

/* db_open - open and configure a connection, then migrate */
struct db *db_open(const char *path, char *err, size_t errsz)
{
	struct db *db = calloc(1, sizeof(*db));
	int rc;

	VR_CHECK_ALLOC(db);
	rc = sqlite3_open_v2(path, &db->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "cannot open database %s: %s", path,
			 db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		db_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if (exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
		     "PRAGMA foreign_keys = ON;",
		 err, errsz) != SQLITE_OK) {
		db_close(db);
		return NULL;
	}
	if (db_migrate_to(db, schema_migrations, schema_migrations_count, err, errsz) != VR_OK) {
		db_close(db);
		return NULL;
	}
	return db;
}

/* db_close - finalize cached statements and close */
void db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < DB_MAX_STMTS; i++)
		if (db->stmts[i])
			sqlite3_finalize(db->stmts[i]);
	sqlite3_close(db->h);
	free(db);
}

/* thread_close - the thread-local key's destructor */
static void thread_close(void *p)
{
	db_close(p);
}

/* make_key - create the thread-local key once */
static void make_key(void)
{
	if (pthread_key_create(&db_key, thread_close) != 0)
		VR_DIE("pthread_key_create failed");
}

/* db_env_init - remember the path, create/migrate the database once */
enum vr_err db_env_init(const char *path, char *err, size_t errsz)
{
	struct db *db;

	pthread_once(&db_key_once, make_key);
	free(db_path);
	db_path = strdup(path);
	VR_CHECK_ALLOC(db_path);
	db = db_open(db_path, err, errsz);
	if (db == NULL)
		return VR_E_UNAVAILABLE;
	pthread_setspecific(db_key, db);
	return VR_OK;
}

/* db_get - this thread's connection */
struct db *db_get(void)
{
	struct db *db;
	char err[512];

	pthread_once(&db_key_once, make_key);
	db = pthread_getspecific(db_key);
	if (db)
		return db;
	db = db_open(db_path, err, sizeof(err));
	if (db == NULL) {
		VR_LOG_ERR("%s", err);
		return NULL;
	}
	pthread_setspecific(db_key, db);
	return db;
}

/* db_thread_done - close this thread's connection now */
void db_thread_done(void)
{
	struct db *db;

	pthread_once(&db_key_once, make_key);
	db = pthread_getspecific(db_key);
	pthread_setspecific(db_key, NULL);
	db_close(db);
	free(db_path);
	db_path = NULL;
}

/* db_tx - run fn in one write transaction; retried (bounded) when the database is busy */
enum vr_err db_tx(struct db *db, enum vr_err (*fn)(struct db *, void *), void *arg)
{
	enum vr_err e = VR_E_BUSY;

	for (int attempt = 0; attempt < 5; attempt++) {
		int rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);

		if (rc != SQLITE_OK) {
			e = db_fail(db, rc, __func__);
		} else {
			e = fn(db, arg);
			if (e == VR_OK) {
				rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
				if (rc == SQLITE_OK)
					return VR_OK;
				e = db_fail(db, rc, __func__);
			}
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		}
		if (e != VR_E_BUSY)
			return e;
		/* back off 10, 20, 40, 80 ms before trying again */
		nanosleep(&(struct timespec){0, 10000000L << attempt}, NULL);
	}
	VR_LOG_WARN("database still busy after retries");
	return e;
}

/* db_size_bytes - pages in use times page size */
int64_t db_size_bytes(struct db *db)
{
	DB_SQL(q, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
	sqlite3_stmt *st = db_prep(db, &q);
	int64_t n = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return n;
}

/* db_health_probe - rewrite the probe row */
enum vr_err db_health_probe(struct db *db, int64_t now)
{
	DB_SQL(q, "UPDATE health_probe SET at = ?1 WHERE id = 1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_int64(st, 1, now);
	return db_exec_done(db, st, __func__);
}

/* db_read_one - run q (selecting by ?1 = id) and fill out with read(); NOT_FOUND if no row */
enum vr_err db_read_one(struct db *db, struct db_sql *q, const char *id,
			  void (*read)(sqlite3_stmt *, void *), void *out, const char *func)
{
	sqlite3_stmt *st = db_prep(db, q);
	enum vr_err e = VR_OK;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read(st, out);
	else
		e = rc == SQLITE_DONE ? VR_E_NOT_FOUND : db_fail(db, rc, func);
	sqlite3_reset(st);
	return e;
}

/* db_json_col - a JSON text column as a new reference (an empty array when unreadable) */
json_t *db_json_col(sqlite3_stmt *st, int col)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	return j ? j : json_array();
}

/* db_bind_json - bind a JSON value as compact text */
void db_bind_json(sqlite3_stmt *st, int idx, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	VR_CHECK_ALLOC(text);
	sqlite3_bind_text(st, idx, text, -1, free);
}

/* db_exec_one - db_exec_done for a statement that must change a row: NOT_FOUND if none */
enum vr_err db_exec_one(struct db *db, sqlite3_stmt *st, const char *func)
{
	enum vr_err e = db_exec_done(db, st, func);

	if (e == VR_OK && sqlite3_changes(db->h) == 0)
		return VR_E_NOT_FOUND;
	return e;
}
