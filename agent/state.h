/* state.h - what the agent remembers between runs, in its state directory.
 *
 *   STATE/snapshot.json   the last snapshot applied successfully (0600, as received)
 *   STATE/version         its version, as decimal text
 *   STATE/last-error      why the last apply failed; absent after a success
 * Every file is written temp + fsync + rename (common/atomic_file.h). The running Postfix
 * configuration is always the one of snapshot.json: a failed apply changes neither.
 */
#ifndef VR_AGENT_STATE_H
#define VR_AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

/* state_init - create the state directory (0700) when missing; 0 or -1 (errno) */
int state_init(const char *dir);
/* state_applied_version - the version in STATE/version, 0 when none */
int64_t state_applied_version(const char *dir);
/* state_save_good - record text (len bytes) as the applied snapshot of version; 0 or -1 */
int state_save_good(const char *dir, const char *text, size_t len, int64_t version);
/* state_set_error - write STATE/last-error, or remove it when err is NULL; 0 or -1 */
int state_set_error(const char *dir, const char *err);

#endif
