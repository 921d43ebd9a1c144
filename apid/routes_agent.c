/* routes_agent.c - the agents' side of the API: GET /api/v1/agent/snapshot,
 * POST /api/v1/agent/heartbeat; and GET /api/v1/agents for admins.
 *
 * The snapshot carries `ETag: "v<version>"`. A request with `If-None-Match` naming the
 * current version gets 304 at once, or with `?wait=N` is parked (req_suspend) for up to
 * N seconds until a policy change wakes it (routes_policy.c calls http_wake()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"
#include "vrtime.h"

#define AGENT_STALE 90 /* seconds without a heartbeat before an agent counts as lost */

/* etag_version - the version named by If-None-Match "vN", or -1 */
static int64_t etag_version(const char *h)
{
	long long v;
	char tail;

	if (h == NULL || sscanf(h, " \"v%lld\"%c", &v, &tail) != 1 || v < 0)
		return -1;
	return v;
}

/* h_agent_snapshot - the configuration the data plane must run */
enum vr_err h_agent_snapshot(struct req *r)
{
	const char *w = req_query(r, "wait");
	int64_t version, known, wait = 0;
	char *text, etag[40];
	struct db *db;
	enum vr_err e;

	if (w) {
		char *end;

		wait = strtoll(w, &end, 10);
		if (*w == '\0' || *end != '\0' || wait < 0 || wait > 60)
			return req_fail(r, VR_E_BAD_PARAMETER, "wait",
					"must be a number of seconds from 0 to 60");
	}
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_config_latest(db, &version, &text)) != VR_OK)
		return req_fail(r, e, NULL, "cannot read the configuration");
	if (text == NULL)
		return req_fail(r, VR_E_UNAVAILABLE, NULL, "no configuration yet");
	snprintf(etag, sizeof(etag), "\"v%lld\"", (long long)version);
	known = etag_version(req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH));
	if (known == version) {
		int64_t ms = http_now_ms();

		free(text);
		/* a long poll parks until a change or its deadline; a wake-up for somebody
		 * else's change finds the same version and parks again */
		if (wait > 0 && (r->wait_until == 0 || ms < r->wait_until)) {
			req_suspend(r, r->wait_until ? r->wait_until : ms + wait * 1000);
			if (r->suspended)
				return VR_OK;
		}
		snprintf(r->etag, sizeof(r->etag), "%s", etag);
		return reply_bytes(r, 304, NULL, "", 0, false);
	}
	snprintf(r->etag, sizeof(r->etag), "%s", etag);
	e = reply_bytes(r, 200, "application/json", text, strlen(text), true);
	free(text);
	return e;
}

struct heartbeat_in {
	const char *name, *last_error, *postfix;
	int64_t applied_version, started_at;
};

static const char *const pf_states[] = {"running", "stopped", "unknown", NULL};
#define H(f) offsetof(struct heartbeat_in, f)
static const struct jspec heartbeat_spec[] = {
	{"name", JSPEC_STRING, true, 1, 100, NULL, H(name)},
	{"applied_version", JSPEC_INT, true, 0, INT64_MAX, NULL, H(applied_version)},
	{"last_error", JSPEC_STRING, false, 0, 2000, NULL, H(last_error)},
	{"postfix", JSPEC_ENUM, true, 0, 0, pf_states, H(postfix)},
	{"started_at", JSPEC_TIME, false, 0, 0, NULL, H(started_at)},
};

/* h_agent_heartbeat - an agent says what it runs */
enum vr_err h_agent_heartbeat(struct req *r)
{
	struct heartbeat_in in = {0};
	struct db_agent a = {0};
	struct db *db;
	enum vr_err e;

	if ((e = req_body(r, heartbeat_spec, 5, &in, NULL)) != VR_OK)
		return e;
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	a.name = in.name;
	a.applied_version = in.applied_version;
	a.last_error = in.last_error && *in.last_error ? in.last_error : NULL;
	a.postfix_state = in.postfix;
	a.started_at = in.started_at;
	a.last_seen = vr_now();
	a.client_ip = r->client_ip;
	if ((e = db_agents_seen(db, &a)) != VR_OK)
		return req_fail(r, e, NULL, "cannot record the heartbeat");
	return reply_json(r, 204, NULL);
}

struct agents_view {
	json_t *items;
	int64_t now, latest;
};

/* add_agent - db_agents_list callback */
static int add_agent(const struct db_agent *a, void *arg)
{
	struct agents_view *v = arg;
	const char *state = a->last_seen + AGENT_STALE < v->now ? "lost"
			    : a->last_error                     ? "error"
			    : a->applied_version < v->latest     ? "behind"
								 : "ok";

	json_array_append_new(
		v->items,
		json_pack("{s:s, s:s, s:I, s:I, s:s?, s:s?, s:o, s:o, s:s?}", "name", a->name,
			  "state", state, "applied_version", (json_int_t)a->applied_version,
			  "current_version", (json_int_t)v->latest, "last_error", a->last_error,
			  "postfix", a->postfix_state, "started_at", json_time(a->started_at),
			  "last_seen", json_time(a->last_seen), "client_ip", a->client_ip));
	return 0;
}

/* agents_view - the Agents list; NULL on a database error */
json_t *agents_view(struct db *db)
{
	struct agents_view v = {json_array(), vr_now(), 0};
	char *text;

	if (db_config_latest(db, &v.latest, &text) != VR_OK ||
	    db_agents_list(db, add_agent, &v) != VR_OK) {
		free(text);
		json_decref(v.items);
		return NULL;
	}
	free(text);
	return v.items;
}

/* h_agents_list - every agent, its applied version and its health */
enum vr_err h_agents_list(struct req *r)
{
	struct db *db;
	json_t *items;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((items = agents_view(db)) == NULL)
		return req_fail(r, VR_E_INTERNAL, NULL, "cannot list agents");
	return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* h_agents_delete - forget a decommissioned agent (it reappears if it reports again) */
enum vr_err h_agents_delete(struct req *r)
{
	struct db *db;
	enum vr_err e;

	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	if ((e = db_agents_delete(db, r->params[0])) != VR_OK)
		return req_fail(r, e, NULL, e == VR_E_NOT_FOUND ? "no such agent" : "cannot delete");
	audit_note(r, db, r->who.username, "agent.delete", r->params[0], true, NULL);
	return reply_json(r, 204, NULL);
}
