/* housekeeping.h - quarantine retention and integrity.
 *
 * housekeeping_purge() deletes, per category, the items older than the policy's
 * retention (batches of 2000 per transaction, so that it never holds the write lock
 * long), then their spool files. housekeeping_check() compares the spool directory with
 * the index: files without a row (older than an hour: a younger one may be an ingestion
 * in progress) and rows without a file; with repair it removes both. A thread started by
 * housekeeping_start() purges every `interval` seconds.
 */
#ifndef VR_HOUSEKEEPING_H
#define VR_HOUSEKEEPING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* housekeeping_purge - purge past-retention items at time now; a summary object */
enum vr_err housekeeping_purge(struct db *db, const char *data_dir, int64_t now, json_t **out);
/* housekeeping_check - the integrity report (repairing when asked) */
enum vr_err housekeeping_check(struct db *db, const char *data_dir, bool repair, int64_t now,
			       json_t **out);
/* housekeeping_start - purge every interval seconds in a thread (0: never) */
void housekeeping_start(const char *data_dir, int64_t interval);
/* housekeeping_stop - end the thread */
void housekeeping_stop(void);

#endif
