/* routes.c - the route table: method, path template, handler, roles, body limit, query.
 *
 * The dispatcher (http.c) enforces everything declared here; tests/integration/
 * test_spec_routes.py compares this table (apid --routes) with openapi/openapi.yaml.
 */
#include <stdio.h>

#include "routes.h"

/* JSON bodies up to the configured max-body (1 MiB by default) */
#define JSON BODY_CONF
#define MB (1024 * 1024)
#define ADMIN ROLE_BIT(ROLE_ADMIN)
#define AGENT (ROLE_BIT(ROLE_AGENT) | ROLE_BIT(ROLE_ADMIN))
#define STAFF (ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_HELPDESK) | ROLE_BIT(ROLE_AUDITOR))
/* everybody who may change things (auditors only read) */
#define PEOPLE (ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_HELPDESK) | ROLE_BIT(ROLE_USER))

static const char *const q_tokens[] = {"owner", NULL};
static const char *const q_snapshot[] = {"wait", NULL};
static const char *const q_users[] = {"q", "limit", "cursor", NULL};
static const char *const q_lists[] = {"scope", "kind", "owner", NULL};
static const char *const q_messages[] = {"recipient", "sender", "direction", "action", "since",
					 "until", "limit", "cursor", NULL};
static const char *const q_stats[] = {"since", "until", NULL};
static const char *const q_quarantine[] = {"recipient", "sender", "q", "category", "status",
					   "min_score", "max_score", "since", "until", "limit",
					   "cursor", NULL};
static const char *const q_audit[] = {"actor", "action", "outcome", "since", "until",
				      "limit", "cursor", NULL};

const struct route routes[] = {
	{"GET", "/healthz", h_healthz, ROLES_PUBLIC, 0, NULL, NULL},
	{"GET", "/readyz", h_readyz, ROLES_PUBLIC, 0, NULL, NULL},
	{"GET", "/metrics", h_metrics, ROLES_PUBLIC, 0, NULL, NULL},
	{"GET", "/api/v1/openapi.yaml", h_openapi, ROLES_PUBLIC, 0, NULL, NULL},
	{"POST", "/api/v1/auth/login", h_login, ROLES_PUBLIC, JSON, NULL, NULL},
	{"POST", "/api/v1/auth/logout", h_logout, ROLES_ANY, 0, NULL, NULL},
	{"GET", "/api/v1/me", h_me, ROLES_ANY, 0, NULL, NULL},
	{"POST", "/api/v1/tokens", h_tokens_create, ROLES_HUMAN, JSON, NULL, NULL},
	{"GET", "/api/v1/tokens", h_tokens_list, ROLES_HUMAN, 0, q_tokens, NULL},
	{"DELETE", "/api/v1/tokens/{id}", h_tokens_delete, ROLES_HUMAN, 0, NULL, NULL},
	{"GET", "/api/v1/audit", h_audit_list, ROLES_READ_ALL, 0, q_audit, NULL},
	{"GET", "/api/v1/policy", h_policy_get, ROLES_READ_ALL, 0, NULL, NULL},
	{"PATCH", "/api/v1/policy", h_policy_patch, ADMIN, JSON, NULL, NULL},
	{"POST", "/api/v1/policy/verify-cache/flush", h_verify_flush, ADMIN, 0, NULL, NULL},
	{"GET", "/api/v1/domains", h_domains_list, ROLES_READ_ALL, 0, NULL, NULL},
	{"POST", "/api/v1/domains", h_domains_create, ADMIN, JSON, NULL, NULL},
	{"GET", "/api/v1/domains/{id}", h_domains_get, ROLES_READ_ALL, 0, NULL, NULL},
	{"PATCH", "/api/v1/domains/{id}", h_domains_patch, ADMIN, JSON, NULL, NULL},
	{"DELETE", "/api/v1/domains/{id}", h_domains_delete, ADMIN, 0, NULL, NULL},
	{"GET", "/api/v1/networks", h_networks_list, ROLES_READ_ALL, 0, NULL, NULL},
	{"POST", "/api/v1/networks", h_networks_create, ADMIN, JSON, NULL, NULL},
	{"DELETE", "/api/v1/networks/{id}", h_networks_delete, ADMIN, 0, NULL, NULL},
	{"GET", "/api/v1/agent/snapshot", h_agent_snapshot, AGENT, 0, q_snapshot, NULL},
	{"POST", "/api/v1/agent/heartbeat", h_agent_heartbeat, AGENT, JSON, NULL, NULL},
	{"GET", "/api/v1/agents", h_agents_list, ROLES_READ_ALL, 0, NULL, NULL},
	{"DELETE", "/api/v1/agents/{name}", h_agents_delete, ADMIN, 0, NULL, NULL},
	{"GET", "/api/v1/directories", h_directories_list, ADMIN, 0, NULL, NULL},
	{"POST", "/api/v1/directories", h_directories_create, ADMIN, JSON, NULL, NULL},
	{"GET", "/api/v1/directories/{id}", h_directories_get, ADMIN, 0, NULL, NULL},
	{"PATCH", "/api/v1/directories/{id}", h_directories_patch, ADMIN, JSON, NULL, NULL},
	{"DELETE", "/api/v1/directories/{id}", h_directories_delete, ADMIN, 0, NULL, NULL},
	{"POST", "/api/v1/directories/{id}/test", h_directories_test, ADMIN, JSON, NULL, NULL},
	{"GET", "/api/v1/users", h_users_list, STAFF, 0, q_users, NULL},
	{"GET", "/api/v1/users/{id}", h_users_get, STAFF, 0, NULL, NULL},
	{"PATCH", "/api/v1/users/{id}", h_users_patch, ADMIN, JSON, NULL, NULL},
	{"GET", "/api/v1/lists/export", h_lists_export, ROLES_READ_ALL, 0, NULL, NULL},
	{"POST", "/api/v1/lists/import", h_lists_import, ADMIN, 4 * MB, NULL, "text/csv"},
	{"GET", "/api/v1/lists", h_lists_list, ROLES_HUMAN, 0, q_lists, NULL},
	{"POST", "/api/v1/lists", h_lists_create, PEOPLE, JSON, NULL, NULL},
	{"DELETE", "/api/v1/lists/{id}", h_lists_delete, PEOPLE, 0, NULL, NULL},
	{"GET", "/api/v1/me/preferences", h_prefs_get, ROLES_HUMAN, 0, NULL, NULL},
	{"PUT", "/api/v1/me/preferences", h_prefs_put, PEOPLE, JSON, NULL, NULL},
	{"GET", "/api/v1/filter", h_filter_get, ROLES_READ_ALL, 0, NULL, NULL},
	{"PATCH", "/api/v1/filter", h_filter_patch, ADMIN, JSON, NULL, NULL},
	{"GET", "/api/v1/domains/{id}/filter", h_domain_filter_get, ROLES_READ_ALL, 0, NULL, NULL},
	{"PATCH", "/api/v1/domains/{id}/filter", h_domain_filter_patch, ADMIN, JSON, NULL, NULL},
	{"POST", "/api/v1/agent/quarantine", h_agent_quarantine, AGENT, 64 * MB, NULL,
	 "message/rfc822"},
	{"POST", "/api/v1/agent/messages", h_agent_messages, AGENT, JSON, NULL, NULL},
	{"GET", "/api/v1/messages", h_messages_list, STAFF, 0, q_messages, NULL},
	{"GET", "/api/v1/stats", h_stats, STAFF, 0, q_stats, NULL},
	{"GET", "/api/v1/quarantine", h_quarantine_list, ROLES_HUMAN, 0, q_quarantine, NULL},
	{"POST", "/api/v1/quarantine/bulk", h_quarantine_bulk, ROLES_HUMAN, JSON, NULL, NULL},
	{"POST", "/api/v1/me/digest", h_digest_now, PEOPLE, 0, NULL, NULL},
	{"GET", "/api/v1/links/{token}", h_link_show, ROLES_PUBLIC, 0, NULL, NULL},
	{"POST", "/api/v1/links/{token}", h_link_act, ROLES_PUBLIC, 0, NULL, NULL},
	{"POST", "/api/v1/quarantine/purge", h_quarantine_purge, ADMIN, 0, NULL, NULL},
	{"POST", "/api/v1/quarantine/integrity", h_quarantine_integrity, ADMIN, JSON, NULL, NULL},
	{"GET", "/api/v1/quarantine/{id}", h_quarantine_get, ROLES_HUMAN, 0, NULL, NULL},
	{"GET", "/api/v1/quarantine/{id}/preview", h_quarantine_preview, ROLES_HUMAN, 0, NULL, NULL},
	{"GET", "/api/v1/quarantine/{id}/raw", h_quarantine_raw, ROLES_HUMAN, 0, NULL, NULL},
	{"POST", "/api/v1/quarantine/{id}/{action}", h_quarantine_action, ROLES_HUMAN, JSON, NULL,
	 NULL},
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);

/* routes_print - `apid --routes`: one line per route, "METHOD PATH ROLES" */
void routes_print(FILE *out)
{
	static const enum role order[] = {ROLE_ADMIN, ROLE_HELPDESK, ROLE_AUDITOR, ROLE_USER,
					  ROLE_AGENT};

	for (size_t i = 0; i < routes_count; i++) {
		int first = 1;

		fprintf(out, "%s %s ", routes[i].method, routes[i].path);
		if (routes[i].roles == ROLES_PUBLIC)
			fputc('-', out);
		for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			if (routes[i].roles & ROLE_BIT(order[k])) {
				fprintf(out, "%s%s", first ? "" : ",", role_name(order[k]));
				first = 0;
			}
		}
		fputc('\n', out);
	}
}
