/*
 * cmd_policy.c - `vrcli policy`, `vrcli domains`, `vrcli networks`: the mail policy.
 *
 * Owns the client side of GET/PATCH /api/v1/policy, POST /api/v1/policy/verify-cache/flush,
 * /api/v1/domains[/{id}] and /api/v1/networks[/{id}]. `policy set` sends its KEY=VALUE
 * arguments as they are (kv.c: integer fields as numbers, KEY= as "" which clears), so
 * an unknown key reaches the server, whose 400 names it. Domains and networks are named
 * by the IDs the API gives them; nothing is looked up by name on this side.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "table.h"
#include "vrcli.h"

#define POLICY "/api/v1/policy"
#define DOMAINS "/api/v1/domains"
#define NETWORKS "/api/v1/networks"

/* cmd_policy_show - `vrcli policy show`: GET /api/v1/policy */
enum vrcli_exit cmd_policy_show(struct vrcli *v, const struct args *a)
{
	(void)a;
	return vrcli_show(v, "GET", POLICY, NULL);
}

/* cmd_policy_set - `vrcli policy set KEY=VALUE...`: PATCH /api/v1/policy */
enum vrcli_exit cmd_policy_set(struct vrcli *v, const struct args *a)
{
	char err[256];
	enum vrcli_exit rc;
	json_t *req = kv_object(a->pos, (size_t)a->npos, kv_policy_ints, err, sizeof(err));

	if (req == NULL)
		return vrcli_usage_error("policy set: %s", err);
	rc = vrcli_show(v, "PATCH", POLICY, req);
	json_decref(req);
	return rc;
}

/* cmd_policy_flush - `vrcli policy flush-verify-cache`: POST .../verify-cache/flush */
enum vrcli_exit cmd_policy_flush(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;
	const json_t *version;

	(void)a;
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	rc = http_call(v->http, "POST", POLICY "/verify-cache/flush", NULL, &r);
	if (rc == VRCLI_EXIT_OK) {
		version = json_object_get(r.body, "version");
		if (v->json)
			vrcli_print_json(r.body);
		else if (json_is_integer(version))
			printf("Flushed the recipient verification cache (configuration version "
			       "%" JSON_INTEGER_FORMAT ").\n",
			       json_integer_value(version));
		else
			puts("Flushed the recipient verification cache.");
	}
	http_reply_free(&r);
	return rc;
}

/* domain_fields - the Domain fields of the options in A into REQ; false on a usage error */
static bool domain_fields(const struct args *a, json_t *req)
{
	const char *host = args_get(a, "internal-host");
	long port;

	if (host && json_object_set_new(req, "internal_host", json_string(host)) != 0) {
		vrcli_usage_error("--internal-host must be UTF-8");
		return false;
	}
	if (args_has(a, "internal-port")) {
		if (vrcli_parse_long("--internal-port", args_get(a, "internal-port"), 1, 65535,
				     &port) != VRCLI_EXIT_OK)
			return false;
		json_object_set_new(req, "internal_port", json_integer(port));
	}
	if (args_has(a, "no-verify"))
		json_object_set_new(req, "verify_recipients", json_false());
	return true;
}

/* print_domains - the domains table on stdout */
static void print_domains(const json_t *items)
{
	struct table *t = table_new(6, (const char *[]){"ID", "NAME", "INTERNAL HOST", "PORT",
							"VERIFY", "CREATED"});
	const json_t *d;
	size_t i;

	json_array_foreach(items, i, d) {
		char *port = kv_text(json_object_get(d, "internal_port"));
		char *verify = kv_text(json_object_get(d, "verify_recipients"));

		table_add(t, (const char *[]){vrcli_jstr(d, "id"), vrcli_jstr(d, "name"),
					      vrcli_jstr(d, "internal_host"), port, verify,
					      vrcli_jstr(d, "created_at")});
		free(port);
		free(verify);
	}
	if (table_rows(t) == 0)
		puts("No domains.");
	else
		table_print(t, stdout);
	table_free(t);
}

/* cmd_domains_list - `vrcli domains list`: GET /api/v1/domains */
enum vrcli_exit cmd_domains_list(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	const json_t *items;
	enum vrcli_exit rc = vrcli_list(v, DOMAINS, &r, &items);

	(void)a;
	if (rc == VRCLI_EXIT_OK) {
		if (v->json)
			vrcli_print_json(items);
		else
			print_domains(items);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_domains_show - `vrcli domains show ID`: GET /api/v1/domains/{id} */
enum vrcli_exit cmd_domains_show(struct vrcli *v, const struct args *a)
{
	char *path = vrcli_item_path(DOMAINS, a->pos[0]);
	enum vrcli_exit rc = vrcli_show(v, "GET", path, NULL);

	free(path);
	return rc;
}

/* cmd_domains_add - `vrcli domains add NAME --internal-host H`: POST /api/v1/domains */
enum vrcli_exit cmd_domains_add(struct vrcli *v, const struct args *a)
{
	enum vrcli_exit rc;
	json_t *req;

	if (!args_has(a, "internal-host"))
		return vrcli_usage_error("domains add: --internal-host is required");
	if ((req = json_pack("{s:s}", "name", a->pos[0])) == NULL)
		return vrcli_usage_error("domains add: NAME must be UTF-8");
	if (!domain_fields(a, req)) {
		json_decref(req);
		return VRCLI_EXIT_USAGE;
	}
	rc = vrcli_show(v, "POST", DOMAINS, req);
	json_decref(req);
	return rc;
}

/* cmd_domains_set - `vrcli domains set ID ...`: PATCH /api/v1/domains/{id} */
enum vrcli_exit cmd_domains_set(struct vrcli *v, const struct args *a)
{
	const char *name = args_get(a, "name");
	enum vrcli_exit rc;
	json_t *req;
	char *path;

	if (args_has(a, "verify") && args_has(a, "no-verify"))
		return vrcli_usage_error("domains set: give --verify or --no-verify, not both");
	if ((req = json_object()) == NULL)
		abort();
	if (name && json_object_set_new(req, "name", json_string(name)) != 0) {
		json_decref(req);
		return vrcli_usage_error("domains set: --name must be UTF-8");
	}
	if (!domain_fields(a, req)) {
		json_decref(req);
		return VRCLI_EXIT_USAGE;
	}
	if (args_has(a, "verify"))
		json_object_set_new(req, "verify_recipients", json_true());
	if (json_object_size(req) == 0) {
		json_decref(req);
		return vrcli_usage_error("domains set: nothing to change; see --help");
	}
	path = vrcli_item_path(DOMAINS, a->pos[0]);
	rc = vrcli_show(v, "PATCH", path, req);
	free(path);
	json_decref(req);
	return rc;
}

/* cmd_domains_remove - `vrcli domains remove ID`: DELETE /api/v1/domains/{id} */
enum vrcli_exit cmd_domains_remove(struct vrcli *v, const struct args *a)
{
	return vrcli_remove(v, DOMAINS, a->pos[0], "domain");
}

/* cmd_networks_list - `vrcli networks list`: GET /api/v1/networks */
enum vrcli_exit cmd_networks_list(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	const json_t *items, *n;
	enum vrcli_exit rc = vrcli_list(v, NETWORKS, &r, &items);
	size_t i;

	(void)a;
	if (rc == VRCLI_EXIT_OK && v->json) {
		vrcli_print_json(items);
	} else if (rc == VRCLI_EXIT_OK && json_array_size(items) == 0) {
		puts("No networks.");
	} else if (rc == VRCLI_EXIT_OK) {
		struct table *t =
			table_new(4, (const char *[]){"ID", "CIDR", "CREATED", "DESCRIPTION"});

		json_array_foreach(items, i, n)
			table_add(t, (const char *[]){vrcli_jstr(n, "id"), vrcli_jstr(n, "cidr"),
						      vrcli_jstr(n, "created_at"),
						      vrcli_jstr(n, "description")});
		table_print(t, stdout);
		table_free(t);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_networks_add - `vrcli networks add CIDR`: POST /api/v1/networks */
enum vrcli_exit cmd_networks_add(struct vrcli *v, const struct args *a)
{
	enum vrcli_exit rc;
	json_t *req = json_pack("{s:s, s:s*}", "cidr", a->pos[0], "description",
				args_get(a, "description"));

	if (req == NULL)
		return vrcli_usage_error("networks add: CIDR and --description must be UTF-8");
	rc = vrcli_show(v, "POST", NETWORKS, req);
	json_decref(req);
	return rc;
}

/* cmd_networks_remove - `vrcli networks remove ID`: DELETE /api/v1/networks/{id} */
enum vrcli_exit cmd_networks_remove(struct vrcli *v, const struct args *a)
{
	return vrcli_remove(v, NETWORKS, a->pos[0], "network");
}
