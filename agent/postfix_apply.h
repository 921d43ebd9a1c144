/* postfix_apply.h - put a rendered configuration into the running private Postfix, safely.
 *
 * pf_apply() is the only code that changes the live config_directory:
 *   0. when the live directory already holds exactly the rendered files (byte for byte,
 *      each hash table's .db not older than its source, no stale managed file), Postfix
 *      runs and no verification flush is asked for, nothing else is done: no check, no
 *      install, no reload (render_postfix.c puts no version in the files, so a version
 *      that changes only the filter section lands here);
 *   1. staging: a copy of config_directory (STAGING), the rendered files written over it,
 *      files the new configuration no longer needs removed;
 *   2. postmap of each hash table in STAGING;
 *   3. `postfix -c STAGING check`, its output captured through a pty (Postfix prints to
 *      stderr only on a terminal);
 *   4. listener check: Postfix accepts duplicate services (master keeps the last one) and
 *      its master *exits* on reload when a new listener cannot bind, so every listener the
 *      running master does not already hold is test-bound first;
 *   5. install: each file copied into config_directory with temp + fsync + rename, the
 *      tables before master.cf and main.cf, times preserved (rendered files are backdated
 *      2 s: Postfix pauses while main.cf is less than a second old);
 *   6. when asked, the address verification cache DATA_DIR/verify_cache.db is deleted (the
 *      verify daemon, restarted by the reload, starts an empty one);
 *   7. `postfix -c DIR reload`, or `start` when Postfix is not running; when that fails, the
 *      previous files are put back (and reloaded).
 * Any failure before step 5 leaves the live directory and the running Postfix untouched.
 * Errors come back as text (for last_error in the heartbeat). Calls are serialised with an
 * flock on STAGING.lock; not thread-safe otherwise.
 */
#ifndef VR_AGENT_POSTFIX_APPLY_H
#define VR_AGENT_POSTFIX_APPLY_H

#include <stdbool.h>

#include "err.h"
#include "render_postfix.h"
#include "snapshot.h"

struct pf_instance {
	const char *config_dir;  /* the live config_directory */
	const char *staging_dir; /* scratch directory for step 1 (created and removed here) */
	const char *command_dir; /* where the postfix and postmap commands are */
	const char *queue_dir;   /* queue_directory: created (root, 0755) when missing, as
				    postfix chdirs into it before any check */
	const char *data_dir;    /* data_directory: where verify_cache.db lives */
};

enum pf_state { PF_RUNNING, PF_STOPPED, PF_UNKNOWN };

/* pf_apply - steps 0-7 above for cfg, rendered from s (flush_verify: do step 6); VR_OK
 * (*unchanged, when not NULL, says whether step 0 found nothing to do), or an error with
 * the reason in err (VR_E_INVALID_FIELD: the configuration was refused; VR_E_UNAVAILABLE:
 * Postfix or the file system failed) */
enum vr_err pf_apply(const struct pf_instance *in, const struct pf_config *cfg,
		     const struct snapshot *s, bool flush_verify, bool *unchanged, char *err,
		     size_t errsz);
/* pf_status - whether the instance's master runs (`postfix status`) */
enum pf_state pf_status(const struct pf_instance *in);
/* pf_state_name - "running", "stopped" or "unknown" (heartbeat wording) */
const char *pf_state_name(enum pf_state st);

#endif
