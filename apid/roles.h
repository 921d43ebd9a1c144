/* roles.h - the five roles, their names, and which role may hand out which.
 *
 * Routes declare the set of roles they admit as a bit mask (ROLE_BIT). Human roles are
 * ordered user < auditor < helpdesk < admin for display only; what a role may delegate
 * to an API token is role_covers(): admin covers every role; helpdesk covers helpdesk
 * and user; auditor covers auditor and user; user covers user; agent covers nothing.
 */
#ifndef VR_ROLES_H
#define VR_ROLES_H

#include <stdbool.h>

enum role { ROLE_NONE = 0, ROLE_USER, ROLE_AUDITOR, ROLE_HELPDESK, ROLE_ADMIN, ROLE_AGENT };

#define ROLE_BIT(r)  (1u << (r))
#define ROLES_PUBLIC 0u /* no authentication */
#define ROLES_HUMAN  (ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_HELPDESK) | ROLE_BIT(ROLE_AUDITOR) | ROLE_BIT(ROLE_USER))
#define ROLES_ANY    (ROLES_HUMAN | ROLE_BIT(ROLE_AGENT))
#define ROLES_READ_ALL (ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_AUDITOR))

/* role_name - "admin", ...; "" for ROLE_NONE */
const char *role_name(enum role r);
/* role_parse - the role called s, or ROLE_NONE */
enum role role_parse(const char *s);
/* role_covers - may a holder of `have` create a credential with role `want`? */
bool role_covers(enum role have, enum role want);
/* role_names - the NULL-terminated list of role names, for request specs */
extern const char *const role_names[];

#endif
