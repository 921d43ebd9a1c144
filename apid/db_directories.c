/* db_directories.c - the directories table: directory profiles (see db.h).
 *
 * Lists (URIs, address attributes, group mappings) are stored as JSON text and handed
 * out as json_t owned by the struct.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"

#define DIR_COLS                                                                                   \
	"id, name, position, kind, uris, starttls, ca_file, verify_cert, network_timeout_ms, "    \
	"op_timeout_ms, bind_dn, bind_password, base_dn, user_filter, netbios_domain, "           \
	"address_attrs, username_attr, display_attr, group_roles, enabled, created_at, "          \
	"updated_at"

/* db_directory_clear - free what d owns */
void db_directory_clear(struct db_directory *d)
{
	free(d->name);
	free(d->kind);
	json_decref(d->uris);
	free(d->ca_file);
	free(d->bind_dn);
	if (d->bind_password) {
		memset(d->bind_password, 0, strlen(d->bind_password));
		free(d->bind_password);
	}
	free(d->base_dn);
	free(d->user_filter);
	free(d->netbios_domain);
	json_decref(d->address_attrs);
	free(d->username_attr);
	free(d->display_attr);
	json_decref(d->group_roles);
	memset(d, 0, sizeof(*d));
}

/* read_dir - fill d from a DIR_COLS row */
static void read_dir(sqlite3_stmt *st, struct db_directory *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", (const char *)sqlite3_column_text(st, 0));
	d->name = db_text(st, 1);
	d->position = sqlite3_column_int64(st, 2);
	d->kind = db_text(st, 3);
	d->uris = db_json_col(st, 4);
	d->starttls = sqlite3_column_int(st, 5) != 0;
	d->ca_file = db_text(st, 6);
	d->verify_cert = sqlite3_column_int(st, 7) != 0;
	d->network_timeout_ms = sqlite3_column_int64(st, 8);
	d->op_timeout_ms = sqlite3_column_int64(st, 9);
	d->bind_dn = db_text(st, 10);
	d->bind_password = db_text(st, 11);
	d->base_dn = db_text(st, 12);
	d->user_filter = db_text(st, 13);
	d->netbios_domain = db_text(st, 14);
	d->address_attrs = db_json_col(st, 15);
	d->username_attr = db_text(st, 16);
	d->display_attr = db_text(st, 17);
	d->group_roles = db_json_col(st, 18);
	d->enabled = sqlite3_column_int(st, 19) != 0;
	d->created_at = sqlite3_column_int64(st, 20);
	d->updated_at = sqlite3_column_int64(st, 21);
}

/* db_directories_list - every profile in login order */
enum vr_err db_directories_list(struct db *db, bool enabled_only,
				int (*each)(const struct db_directory *, void *), void *arg)
{
	DB_SQL(q, "SELECT " DIR_COLS " FROM directories WHERE ?1 = 0 OR enabled = 1 "
		  "ORDER BY position, name");
	sqlite3_stmt *st = db_prep(db, &q);
	struct db_directory d;
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	sqlite3_bind_int(st, 1, enabled_only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int stop;

		read_dir(st, &d);
		stop = each(&d, arg);
		db_directory_clear(&d);
		if (stop)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}

/* read_dir_any - read_dir for db_read_one */
static void read_dir_any(sqlite3_stmt *st, void *out)
{
	read_dir(st, out);
}

/* db_directories_get - one profile */
enum vr_err db_directories_get(struct db *db, const char *id, struct db_directory *out)
{
	DB_SQL(q, "SELECT " DIR_COLS " FROM directories WHERE id = ?1");
	return db_read_one(db, &q, id, read_dir_any, out, __func__);
}

/* db_directories_put - insert or replace a profile */
enum vr_err db_directories_put(struct db *db, const struct db_directory *d)
{
	DB_SQL(q, "INSERT INTO directories (" DIR_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		  "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
		  "ON CONFLICT (id) DO UPDATE SET name = ?2, position = ?3, kind = ?4, uris = ?5, "
		  "starttls = ?6, ca_file = ?7, verify_cert = ?8, network_timeout_ms = ?9, "
		  "op_timeout_ms = ?10, bind_dn = ?11, bind_password = ?12, base_dn = ?13, "
		  "user_filter = ?14, netbios_domain = ?15, address_attrs = ?16, "
		  "username_attr = ?17, display_attr = ?18, group_roles = ?19, enabled = ?20, "
		  "updated_at = ?22");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, d->id);
	db_bind_text(st, 2, d->name);
	sqlite3_bind_int64(st, 3, d->position);
	db_bind_text(st, 4, d->kind);
	db_bind_json(st, 5, d->uris);
	sqlite3_bind_int(st, 6, d->starttls);
	db_bind_text(st, 7, d->ca_file);
	sqlite3_bind_int(st, 8, d->verify_cert);
	sqlite3_bind_int64(st, 9, d->network_timeout_ms);
	sqlite3_bind_int64(st, 10, d->op_timeout_ms);
	db_bind_text(st, 11, d->bind_dn);
	db_bind_text(st, 12, d->bind_password);
	db_bind_text(st, 13, d->base_dn);
	db_bind_text(st, 14, d->user_filter);
	db_bind_text(st, 15, d->netbios_domain);
	db_bind_json(st, 16, d->address_attrs);
	db_bind_text(st, 17, d->username_attr);
	db_bind_text(st, 18, d->display_attr);
	db_bind_json(st, 19, d->group_roles);
	sqlite3_bind_int(st, 20, d->enabled);
	sqlite3_bind_int64(st, 21, d->created_at);
	sqlite3_bind_int64(st, 22, d->updated_at);
	return db_exec_done(db, st, __func__);
}

/* db_directories_delete - remove a profile (its users keep their accounts, unlinked) */
enum vr_err db_directories_delete(struct db *db, const char *id)
{
	DB_SQL(q, "DELETE FROM directories WHERE id = ?1");
	sqlite3_stmt *st = db_prep(db, &q);

	if (st == NULL)
		return VR_E_INTERNAL;
	db_bind_text(st, 1, id);
	return db_exec_one(db, st, __func__);
}

/* db_directories_next_position - one past the last position */
enum vr_err db_directories_next_position(struct db *db, int64_t *pos)
{
	DB_SQL(q, "SELECT coalesce(max(position), 0) + 1 FROM directories");
	sqlite3_stmt *st = db_prep(db, &q);
	int rc;

	if (st == NULL)
		return VR_E_INTERNAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*pos = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VR_OK : db_fail(db, rc, __func__);
}
