/* housekeeping.c - quarantine retention purge and integrity check (see housekeeping.h).
 *
 * Owns the purge thread (started and stopped by main) and its stop flag.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "housekeeping.h"
#include "log.h"
#include "vrtime.h"

#define BATCH 2000

static pthread_t thread;
static bool running;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stopping;
static char *hk_dir;
static int64_t hk_interval;

struct purge_tx {
	const char *category;
	int64_t cutoff;
	json_t *names;
	int n;
};

/* purge_tx - one batch in one transaction */
static enum vr_err purge_tx(struct db *db, void *arg)
{
	struct purge_tx *p = arg;

	json_array_clear(p->names);
	return db_quarantine_purge_batch(db, p->category, p->cutoff, BATCH, p->names, &p->n);
}

/* unlink_spool - remove the files named (relative to DATA-DIR/spool) */
static int unlink_spool(const char *data_dir, json_t *names)
{
	char path[4200];
	json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach(names, i, v)
	{
		snprintf(path, sizeof(path), "%s/spool/%s", data_dir, json_string_value(v));
		if (unlink(path) == 0 || errno == ENOENT)
			n++;
		else
			VR_LOG_WARN("cannot remove %s: %s", path, strerror(errno));
	}
	return n;
}

/* housekeeping_purge - delete everything past its category's retention */
enum vr_err housekeeping_purge(struct db *db, const char *data_dir, int64_t now, json_t **out)
{
	json_t *ret, *days, *per = json_object();
	const char *cat;
	struct timespec t0, t1;
	int total = 0, files = 0;
	enum vr_err e;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((e = db_retention(db, &ret)) != VR_OK) {
		json_decref(per);
		return e;
	}
	json_object_foreach(ret, cat, days)
	{
		struct purge_tx p = {cat, now - json_integer_value(days) * 86400, json_array(), 0};
		int cat_total = 0;

		do {
			e = db_tx(db, purge_tx, &p);
			if (e == VR_OK) {
				files += unlink_spool(data_dir, p.names);
				cat_total += p.n;
			}
		} while (e == VR_OK && p.n == BATCH);
		json_decref(p.names);
		json_object_set_new(per, cat, json_integer(cat_total));
		total += cat_total;
		if (e != VR_OK)
			break;
	}
	json_decref(ret);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (e != VR_OK) {
		json_decref(per);
		return e;
	}
	if (total)
		VR_LOG_INFO("purged %d quarantined items past retention", total);
	*out = json_pack("{s:i, s:i, s:o, s:f}", "purged", total, "files_removed", files,
			 "by_category", per, "seconds",
			 (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return VR_OK;
}

struct check {
	const char *data_dir;
	json_t *missing; /* {id, spool} of rows without a file */
};

/* check_row - db_quarantine_spools callback: does the file exist? */
static int check_row(const char *id, const char *spool, void *arg)
{
	struct check *c = arg;
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/spool/%s", c->data_dir, spool);
	if (stat(path, &st) < 0 && errno == ENOENT)
		json_array_append_new(c->missing, json_pack("{s:s, s:s}", "id", id, "spool", spool));
	return 0;
}

/* housekeeping_check - compare the spool with the index */
enum vr_err housekeeping_check(struct db *db, const char *data_dir, bool repair, int64_t now,
			       json_t **out)
{
	struct check c = {data_dir, json_array()};
	json_t *orphans = json_array(), *v;
	char dir[4096], sub[4200], name[300];
	enum vr_err e;
	DIR *top, *d;
	struct dirent *de, *fe;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/spool", data_dir);
	if ((top = opendir(dir)) != NULL) {
		while ((de = readdir(top)) != NULL) {
			if (de->d_name[0] == '.' || strlen(de->d_name) != 2)
				continue;
			snprintf(sub, sizeof(sub), "%s/%.3s", dir, de->d_name);
			if ((d = opendir(sub)) == NULL)
				continue;
			while ((fe = readdir(d)) != NULL) {
				char path[4600];
				struct stat st;
				bool indexed = true;

				if (fe->d_name[0] == '.')
					continue;
				if (strlen(fe->d_name) > 200)
					continue; /* not a name apid writes */
				snprintf(name, sizeof(name), "%.3s/%.200s", de->d_name, fe->d_name);
				snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name);
				if (db_quarantine_has_spool(db, name, &indexed) != VR_OK || indexed)
					continue;
				/* a young file may be an ingestion that has not committed yet */
				if (stat(path, &st) < 0 || now - st.st_mtime < 3600)
					continue;
				json_array_append_new(orphans, json_string(name));
			}
			closedir(d);
		}
		closedir(top);
	}
	if ((e = db_quarantine_spools(db, check_row, &c)) != VR_OK) {
		json_decref(orphans);
		json_decref(c.missing);
		return e;
	}
	if (repair) {
		unlink_spool(data_dir, orphans);
		json_array_foreach(c.missing, i, v)
			db_quarantine_delete(db, json_string_value(json_object_get(v, "id")));
		if (json_array_size(orphans) || json_array_size(c.missing))
			VR_LOG_WARN("integrity repair: %zu orphan files, %zu rows without a file",
				    json_array_size(orphans), json_array_size(c.missing));
	}
	*out = json_pack("{s:o, s:o, s:b}", "orphan_files", orphans, "missing_files", c.missing,
			 "repaired", repair);
	return VR_OK;
}

/* hk_main - purge now and then until stopped */
static void *hk_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts;
		struct db *db;
		json_t *out = NULL;

		pthread_mutex_lock(&stop_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += hk_interval;
		while (!stopping && pthread_cond_timedwait(&stop_cond, &stop_lock, &ts) == 0)
			;
		if (stopping) {
			pthread_mutex_unlock(&stop_lock);
			break;
		}
		pthread_mutex_unlock(&stop_lock);
		if ((db = db_get()) != NULL && housekeeping_purge(db, hk_dir, vr_now(), &out) != VR_OK)
			VR_LOG_ERR("the quarantine purge failed");
		json_decref(out);
	}
	return NULL;
}

/* housekeeping_start - purge every interval seconds */
void housekeeping_start(const char *data_dir, int64_t interval)
{
	if (interval <= 0)
		return;
	hk_dir = strdup(data_dir);
	VR_CHECK_ALLOC(hk_dir);
	hk_interval = interval;
	if (pthread_create(&thread, NULL, hk_main, NULL) != 0)
		VR_DIE("cannot start the housekeeping thread");
	running = true;
}

/* housekeeping_stop - end the thread */
void housekeeping_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&stop_lock);
	stopping = true;
	pthread_cond_signal(&stop_cond);
	pthread_mutex_unlock(&stop_lock);
	pthread_join(thread, NULL);
	running = false;
	free(hk_dir);
	hk_dir = NULL;
}
