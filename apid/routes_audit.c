/* routes_audit.c - GET /api/v1/audit: the audit log, filtered, newest first, by cursor.
 *
 * The cursor is opaque to clients ("c" + a position); a malformed one is a 400.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "vrtime.h"

/* parse_int - a decimal integer in [min, max]; 0 or -1 */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* add_event - db_audit_list callback: append one event */
static int add_event(const struct db_audit_event *ev, void *arg)
{
	json_t *j = json_pack("{s:s, s:o, s:o, s:s, s:o, s:s, s:o, s:o}", "id", ev->id, "time",
			      json_time(ev->time), "actor",
			      ev->actor ? json_string(ev->actor) : json_null(), "action",
			      ev->action, "target",
			      ev->target ? json_string(ev->target) : json_null(), "outcome",
			      ev->outcome, "client_ip",
			      ev->client_ip ? json_string(ev->client_ip) : json_null(), "detail",
			      ev->detail ? json_string(ev->detail) : json_null());

	json_array_append_new(arg, j);
	return 0;
}

/* h_audit_list - one page of the audit log */
enum vr_err h_audit_list(struct req *r)
{
	struct db_audit_filter f = {.limit = 100};
	const char *v;
	int64_t n, next;
	char cursor[32];
	json_t *items;
	struct db *db;
	enum vr_err e;

	f.actor = req_query(r, "actor");
	f.action = req_query(r, "action");
	f.outcome = req_query(r, "outcome");
	if (f.outcome && strcmp(f.outcome, "success") && strcmp(f.outcome, "failure"))
		return req_fail(r, VR_E_BAD_PARAMETER, "outcome", "must be success or failure");
	if ((v = req_query(r, "since")) && vr_time_parse(v, &f.since) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "since", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "until")) && vr_time_parse(v, &f.until) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "until", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "limit"))) {
		if (parse_int(v, 1, 500, &n) < 0)
			return req_fail(r, VR_E_BAD_PARAMETER, "limit",
					"must be an integer from 1 to 500");
		f.limit = (int)n;
	}
	if ((v = req_query(r, "cursor"))) {
		if (v[0] != 'c' || parse_int(v + 1, 1, INT64_MAX, &f.before_seq) < 0)
			return req_fail(r, VR_E_BAD_PARAMETER, "cursor",
					"must be a next_cursor value from a previous page");
	}
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	items = json_array();
	e = db_audit_list(db, &f, add_event, items, &next);
	if (e != VR_OK) {
		json_decref(items);
		return req_fail(r, e, NULL, "cannot read the audit log");
	}
	snprintf(cursor, sizeof(cursor), "c%lld", (long long)next);
	return reply_json(r, 200,
			  json_pack("{s:o, s:o}", "items", items, "next_cursor",
				    next ? json_string(cursor) : json_null()));
}
