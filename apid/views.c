/* views.c - JSON views and small helpers shared by the route handlers (routes.h). */
#include "log.h"
#include "routes.h"
#include "vrtime.h"

/* json_time - an RFC 3339 string, or JSON null for 0 */
json_t *json_time(int64_t t)
{
	char buf[VR_TIME_LEN];

	if (t == 0)
		return json_null();
	vr_time_format(t, buf);
	return json_string(buf);
}

/* json_user - the API's User object */
json_t *json_user(struct db *db, const struct db_user *u)
{
	json_t *addrs = json_array();
	json_t *j;

	if (db_users_addresses(db, u->id, addrs) != VR_OK)
		VR_LOG_WARN("cannot read the addresses of %s", u->username);
	j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "id", u->id, "username",
		      u->username, "display_name",
		      u->display_name ? json_string(u->display_name) : json_null(), "role",
		      role_name(u->role), "source", u->source ? u->source : "local", "addresses",
		      addrs, "created_at", json_time(u->created_at), "last_login_at",
		      json_time(u->last_login_at));
	VR_CHECK_ALLOC(j);
	return j;
}

/* req_db - this thread's database, or a 503 recorded in r */
struct db *req_db(struct req *r)
{
	struct db *db = db_get();

	if (db == NULL)
		req_fail(r, VR_E_UNAVAILABLE, NULL, "the database is unavailable");
	return db;
}

/* audit_note - append an audit event; a failure is logged, never hides the reply */
void audit_note(struct req *r, struct db *db, const char *actor, const char *action,
		const char *target, bool success, const char *detail)
{
	enum vr_err e = db_audit_add(db, actor, action, target, success, r->client_ip, detail,
				     vr_now());

	if (e != VR_OK)
		VR_LOG_ERR("cannot write audit event %s for %s: %s", action, actor ? actor : "-",
			   vr_err_str(e));
}
