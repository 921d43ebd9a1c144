/* routes.h - the handlers of every URL family, and helpers they share.
 *
 * One file per family: routes_health.c (/healthz, /readyz, /metrics, spec),
 * routes_auth.c (/api/v1/auth/..., /api/v1/me), routes_tokens.c (/api/v1/tokens),
 * routes_audit.c (/api/v1/audit), routes_policy.c (/api/v1/policy, domains, networks),
 * routes_agent.c (/api/v1/agent/..., /api/v1/agents), routes_directories.c
 * (/api/v1/directories), routes_users.c (/api/v1/users), routes_lists.c (/api/v1/lists,
 * /api/v1/me/preferences), routes_filter.c (/api/v1/filter, domains' filter),
 * routes_messages.c (agent quarantine and tracking, /api/v1/messages, /api/v1/stats),
 * routes_quarantine.c (/api/v1/quarantine). The table that binds them to methods, paths and roles
 * is routes.c.
 */
#ifndef VR_ROUTES_H
#define VR_ROUTES_H

#include <stdio.h>

#include "db.h"
#include "http.h"

enum vr_err h_healthz(struct req *r);
enum vr_err h_readyz(struct req *r);
enum vr_err h_metrics(struct req *r);
enum vr_err h_openapi(struct req *r);
enum vr_err h_login(struct req *r);
enum vr_err h_logout(struct req *r);
enum vr_err h_me(struct req *r);
enum vr_err h_tokens_create(struct req *r);
enum vr_err h_tokens_list(struct req *r);
enum vr_err h_tokens_delete(struct req *r);
enum vr_err h_audit_list(struct req *r);
enum vr_err h_policy_get(struct req *r);
enum vr_err h_policy_patch(struct req *r);
enum vr_err h_verify_flush(struct req *r);
enum vr_err h_domains_list(struct req *r);
enum vr_err h_domains_create(struct req *r);
enum vr_err h_domains_get(struct req *r);
enum vr_err h_domains_patch(struct req *r);
enum vr_err h_domains_delete(struct req *r);
enum vr_err h_networks_list(struct req *r);
enum vr_err h_networks_create(struct req *r);
enum vr_err h_networks_delete(struct req *r);
enum vr_err h_agent_snapshot(struct req *r);
enum vr_err h_agent_heartbeat(struct req *r);
enum vr_err h_agents_list(struct req *r);
enum vr_err h_agents_delete(struct req *r);
enum vr_err h_directories_list(struct req *r);
enum vr_err h_directories_create(struct req *r);
enum vr_err h_directories_get(struct req *r);
enum vr_err h_directories_patch(struct req *r);
enum vr_err h_directories_delete(struct req *r);
enum vr_err h_directories_test(struct req *r);
enum vr_err h_users_list(struct req *r);
enum vr_err h_users_get(struct req *r);
enum vr_err h_users_patch(struct req *r);
enum vr_err h_lists_list(struct req *r);
enum vr_err h_lists_create(struct req *r);
enum vr_err h_lists_delete(struct req *r);
enum vr_err h_lists_export(struct req *r);
enum vr_err h_lists_import(struct req *r);
enum vr_err h_prefs_get(struct req *r);
enum vr_err h_prefs_put(struct req *r);
enum vr_err h_filter_get(struct req *r);
enum vr_err h_filter_patch(struct req *r);
enum vr_err h_domain_filter_get(struct req *r);
enum vr_err h_domain_filter_patch(struct req *r);
enum vr_err h_agent_quarantine(struct req *r);
enum vr_err h_agent_messages(struct req *r);
enum vr_err h_messages_list(struct req *r);
enum vr_err h_stats(struct req *r);
enum vr_err h_quarantine_list(struct req *r);
enum vr_err h_quarantine_get(struct req *r);
enum vr_err h_quarantine_preview(struct req *r);
enum vr_err h_quarantine_raw(struct req *r);
enum vr_err h_quarantine_action(struct req *r);
enum vr_err h_quarantine_bulk(struct req *r);
enum vr_err h_quarantine_purge(struct req *r);
enum vr_err h_quarantine_integrity(struct req *r);
enum vr_err h_digest_now(struct req *r);
enum vr_err h_link_show(struct req *r);
enum vr_err h_link_act(struct req *r);

/* agents_view - the Agents list for the API and /readyz (NULL on a database error) */
json_t *agents_view(struct db *db);

/* routes_print - `apid --routes`: one line per route, "METHOD PATH ROLES" */
void routes_print(FILE *out);
/* quarantine_act - release/delete/... item id for the caller (routes_quarantine.c) */
enum vr_err quarantine_act(struct req *r, struct db *db, const char *id, const char *action,
			   const char *only_rcpt);
/* json_user - the User object of the API for u (addresses read from db) */
json_t *json_user(struct db *db, const struct db_user *u);
/* json_time - an RFC 3339 string, or JSON null for 0 */
json_t *json_time(int64_t t);
/* req_db - this thread's database, or a 503 recorded in r */
struct db *req_db(struct req *r);
/* audit_note - append an audit event in its own statement (outside any transaction) */
void audit_note(struct req *r, struct db *db, const char *actor, const char *action,
		const char *target, bool success, const char *detail);

#endif
