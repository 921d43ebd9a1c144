/* login_dir.h - logging in through the directory profiles, and their health.
 *
 * login_directory() tries the enabled profiles in order (position): the first that
 * vouches for the login and password wins; its user is created or refreshed in the
 * users table (display name, directory role, every address). Refusals never say why to
 * the client: the reason goes to the audit log through *why.
 */
#ifndef VR_LOGIN_DIR_H
#define VR_LOGIN_DIR_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"
#include "directory.h"

/* Room for one profile converted for the directory module. */
struct dir_conv {
	struct dir_profile p;
	const char *uris[8];
	const char *attrs[8];
	struct dir_group_role roles[32];
};

/* dir_conv_from_db - point c at d's values (d must outlive c) */
void dir_conv_from_db(const struct db_directory *d, struct dir_conv *c);

/* login_directory - VR_OK with *out filled (caller clears); VR_E_LOGIN_FAILED when no
 * profile accepts; VR_E_UNAVAILABLE when a profile that could have known the user was
 * unreachable and none accepted; VR_E_NOT_FOUND when no profile is configured.
 * *via receives the name of the deciding profile (or "") */
enum vr_err login_directory(struct db *db, const char *login, const char *password,
			    struct db_user *out, char *why, size_t whysz, char *via, size_t viasz);

/* directory_checks - one /readyz check per enabled profile (connect + service bind),
 * cached for a few seconds; appends to checks; false when any is down */
bool directory_checks(struct db *db, json_t *checks);
/* directory_checks_forget - drop the cached health (a profile changed) */
void directory_checks_forget(void);
/* login_dir_cleanup - release the health cache (end of the process) */
void login_dir_cleanup(void);

#endif
