/* roles.c - role names and delegation rules (see roles.h). */
#include <string.h>

#include "roles.h"

const char *const role_names[] = {"admin", "helpdesk", "auditor", "user", "agent", NULL};

/* role_name - the name of r */
const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_USER:
		return "user";
	case ROLE_AUDITOR:
		return "auditor";
	case ROLE_HELPDESK:
		return "helpdesk";
	case ROLE_ADMIN:
		return "admin";
	case ROLE_AGENT:
		return "agent";
	case ROLE_NONE:
		break;
	}
	return "";
}

/* role_parse - the role called s, or ROLE_NONE */
enum role role_parse(const char *s)
{
	for (enum role r = ROLE_USER; r <= ROLE_AGENT; r++)
		if (s && strcmp(s, role_name(r)) == 0)
			return r;
	return ROLE_NONE;
}

/* role_covers - may a holder of `have` create a credential with role `want`? */
bool role_covers(enum role have, enum role want)
{
	if (want == ROLE_NONE)
		return false;
	switch (have) {
	case ROLE_ADMIN:
		return true;
	case ROLE_HELPDESK:
		return want == ROLE_HELPDESK || want == ROLE_USER;
	case ROLE_AUDITOR:
		return want == ROLE_AUDITOR || want == ROLE_USER;
	case ROLE_USER:
		return want == ROLE_USER;
	case ROLE_AGENT:
	case ROLE_NONE:
		break;
	}
	return false;
}
