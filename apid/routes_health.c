/* routes_health.c - GET /healthz, /readyz, /metrics and /api/v1/openapi.yaml.
 *
 * Unauthenticated, for load balancers and monitoring: they say nothing secret.
 * /readyz writes to the database (a probe row) to prove it takes writes, and reports
 * each agent and each enabled directory profile (connect + service bind, cached 10 s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "login_dir.h"
#include "metrics.h"
#include "routes.h"
#include "vrtime.h"

/* h_healthz - the process is alive and serving */
enum vr_err h_healthz(struct req *r)
{
	return reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", VR_VERSION));
}

/* agents_check - one check per agent: ok when it reports in time without an error */
static bool agents_check(struct db *db, json_t *checks)
{
	json_t *agents = agents_view(db), *a;
	bool all = true;
	size_t i;

	if (agents == NULL)
		return false;
	json_array_foreach(agents, i, a)
	{
		const char *state = json_string_value(json_object_get(a, "state"));
		char name[160], detail[300];
		bool ok = strcmp(state, "ok") == 0 || strcmp(state, "behind") == 0;
		const char *err = json_string_value(json_object_get(a, "last_error"));

		snprintf(name, sizeof(name), "agent:%s",
			 json_string_value(json_object_get(a, "name")));
		snprintf(detail, sizeof(detail), "%s, version %lld of %lld%s%.200s", state,
			 (long long)json_integer_value(json_object_get(a, "applied_version")),
			 (long long)json_integer_value(json_object_get(a, "current_version")),
			 err ? ": " : "", err ? err : "");
		json_array_append_new(checks, json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok,
							"detail", detail));
		all = all && ok;
	}
	json_decref(agents);
	return all;
}

/* h_readyz - every dependency needed to serve is usable */
enum vr_err h_readyz(struct req *r)
{
	struct db *db = db_get();
	enum vr_err e = db ? db_health_probe(db, vr_now()) : VR_E_UNAVAILABLE;
	bool ok = e == VR_OK;
	json_t *checks = json_array();

	json_array_append_new(checks,
			      json_pack("{s:s, s:b, s:s}", "name", "database", "ok", ok, "detail",
					ok ? "writable" : vr_err_info(e)->title));
	/* agents are the data plane: a lost one or one whose last apply failed is news for
	 * monitoring; with none registered yet, apid itself is still ready */
	if (ok)
		ok = agents_check(db, checks) & directory_checks(db, checks);
	return reply_json(r, ok ? 200 : 503,
			  json_pack("{s:s, s:o}", "status", ok ? "ready" : "not-ready", "checks",
				    checks));
}

/* h_metrics - Prometheus exposition */
enum vr_err h_metrics(struct req *r)
{
	struct db *db = db_get();
	size_t len;
	char *text = metrics_render(r->app->metrics, db ? db_size_bytes(db) : -1, &len);
	enum vr_err e = reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len,
				    true);

	free(text);
	return e;
}

/* h_openapi - the spec apid was built with */
enum vr_err h_openapi(struct req *r)
{
	return reply_bytes(r, 200, "application/yaml", openapi_spec[0].data, openapi_spec[0].len,
			   false);
}
