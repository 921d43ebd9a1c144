/*
 * cmd_directories.c - `vrcli directories list|show|add|set|remove|test`.
 *
 * Owns the client side of /api/v1/directories[/{id}] and POST .../{id}/test: the mapping
 * of options to Directory fields (repeatable --uri and --group-role DN=ROLE become
 * arrays; kv.c parses DN=ROLE), and the step table of `test`, whose exit code is 0 only
 * when every step passed. The service account's password is read only from stdin
 * (--bind-password-stdin), never from argv where other users could see it; it is wiped
 * from memory after the request and never printed (the API never returns it either:
 * "bind_password_set" says whether one is stored). Whether a profile is acceptable
 * (schemes, StartTLS with ldap://, paths) is the server's to say: its 400 names the field.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "prompt.h"
#include "table.h"
#include "vrcli.h"

#define DIRECTORIES "/api/v1/directories"

/* The options that are one string field each, in add and set alike. */
static const struct {
	const char *option, *field;
} string_opts[] = {
	{"name", "name"},	      {"kind", "kind"},
	{"base-dn", "base_dn"},	      {"ca-file", "ca_file"},
	{"bind-dn", "bind_dn"},	      {"netbios-domain", "netbios_domain"},
	{"user-filter", "user_filter"},
};

/* flag_pair - YES/NO flags of A into boolean FIELD of REQ; false (printed) if both */
static bool flag_pair(const struct args *a, const char *yes, const char *no,
		      const char *field, json_t *req)
{
	bool y = yes && args_has(a, yes), n = no && args_has(a, no);

	if (y && n) {
		vrcli_usage_error("give --%s or --%s, not both", yes, no);
		return false;
	}
	if (y || n)
		json_object_set_new(req, field, json_boolean(y));
	return true;
}

/* list_opts - the repeatable options (--uri, --group-role) of A into REQ */
static bool list_opts(const struct args *a, bool create, json_t *req)
{
	int nuri = args_count(a, "uri"), ngroup = args_count(a, "group-role");
	char err[256];

	if (nuri > 0) {
		json_t *uris = json_array();

		for (int i = 0; i < nuri; i++)
			if (json_array_append_new(uris, json_string(args_nth(a, "uri", i))) != 0) {
				json_decref(uris);
				vrcli_usage_error("--uri must be UTF-8");
				return false;
			}
		json_object_set_new(req, "uris", uris);
	}
	if (!create && args_has(a, "no-group-roles")) {
		if (ngroup > 0) {
			vrcli_usage_error("give --group-role or --no-group-roles, not both");
			return false;
		}
		json_object_set_new(req, "group_roles", json_array());
	}
	if (ngroup > 0) {
		json_t *groups = json_array();

		for (int i = 0; i < ngroup; i++) {
			json_t *item = kv_group_role(args_nth(a, "group-role", i), err, sizeof(err));

			if (item == NULL) {
				json_decref(groups);
				vrcli_usage_error("--group-role: %s", err);
				return false;
			}
			json_array_append_new(groups, item);
		}
		json_object_set_new(req, "group_roles", groups);
	}
	return true;
}

/* read_password - --bind-password-stdin into REQ's bind_password; false (printed) if none */
static bool read_password(bool create, json_t *req)
{
	char *pw = prompt_stdin();
	json_t *s;

	if (pw == NULL || (create && pw[0] == '\0')) {
		prompt_free(pw);
		vrcli_usage_error("--bind-password-stdin: no password on stdin");
		return false;
	}
	s = json_string(pw);
	prompt_free(pw);
	if (s == NULL) {
		vrcli_usage_error("--bind-password-stdin: the password must be UTF-8");
		return false;
	}
	json_object_set_new(req, "bind_password", s);
	return true;
}

/* wipe_password - overwrite the password held in REQ (json_decref() does not) */
static void wipe_password(json_t *req)
{
	json_t *s = json_object_get(req, "bind_password");

	if (json_is_string(s))
		explicit_bzero((char *)json_string_value(s), json_string_length(s));
}

/* dir_body - the Directory fields given by the options of A; NULL after a usage error */
static json_t *dir_body(const struct args *a, bool create)
{
	json_t *req = json_object();
	long pos;

	if (req == NULL)
		abort();
	for (size_t i = 0; i < sizeof(string_opts) / sizeof(string_opts[0]); i++) {
		const char *val = args_get(a, string_opts[i].option);

		if (val && json_object_set_new(req, string_opts[i].field, json_string(val)) != 0) {
			vrcli_usage_error("--%s must be UTF-8", string_opts[i].option);
			goto fail;
		}
	}
	if (!list_opts(a, create, req))
		goto fail;
	if (args_has(a, "position")) {
		if (vrcli_parse_long("--position", args_get(a, "position"), 1, INT_MAX, &pos) !=
		    VRCLI_EXIT_OK)
			goto fail;
		json_object_set_new(req, "position", json_integer(pos));
	}
	if (!flag_pair(a, "starttls", create ? NULL : "no-starttls", "starttls", req) ||
	    !flag_pair(a, create ? NULL : "verify-cert", "no-verify-cert", "verify_cert", req) ||
	    !flag_pair(a, create ? NULL : "enable", create ? "disabled" : "disable", "enabled",
		       req))
		goto fail;
	/* stdin last: a usage error above must not swallow it */
	if (args_has(a, "bind-password-stdin") && !read_password(create, req))
		goto fail;
	return req;
fail:
	wipe_password(req);
	json_decref(req);
	return NULL;
}

/* print_directories - the profiles table on stdout */
static void print_directories(const json_t *items)
{
	struct table *t = table_new(7, (const char *[]){"ID", "POSITION", "NAME", "KIND",
							"ENABLED", "URIS", "BASE DN"});
	const json_t *d;
	size_t i;

	json_array_foreach(items, i, d) {
		char *pos = kv_text(json_object_get(d, "position"));
		char *enabled = kv_text(json_object_get(d, "enabled"));
		char *uris = kv_text(json_object_get(d, "uris"));

		table_add(t, (const char *[]){vrcli_jstr(d, "id"), pos, vrcli_jstr(d, "name"),
					      vrcli_jstr(d, "kind"), enabled, uris,
					      vrcli_jstr(d, "base_dn")});
		free(pos);
		free(enabled);
		free(uris);
	}
	if (table_rows(t) == 0)
		puts("No directories.");
	else
		table_print(t, stdout);
	table_free(t);
}

/* cmd_dirs_list - `vrcli directories list`: GET /api/v1/directories */
enum vrcli_exit cmd_dirs_list(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	const json_t *items;
	enum vrcli_exit rc = vrcli_list(v, DIRECTORIES, &r, &items);

	(void)a;
	if (rc == VRCLI_EXIT_OK) {
		if (v->json)
			vrcli_print_json(items);
		else
			print_directories(items);
	}
	http_reply_free(&r);
	return rc;
}

/* cmd_dirs_show - `vrcli directories show ID`: GET /api/v1/directories/{id} */
enum vrcli_exit cmd_dirs_show(struct vrcli *v, const struct args *a)
{
	char *path = vrcli_item_path(DIRECTORIES, a->pos[0]);
	enum vrcli_exit rc = vrcli_show(v, "GET", path, NULL);

	free(path);
	return rc;
}

/* send_profile - METHOD PATH with REQ, shown; REQ's password wiped, REQ released */
static enum vrcli_exit send_profile(struct vrcli *v, const char *method, const char *path,
				    json_t *req)
{
	enum vrcli_exit rc = vrcli_show(v, method, path, req);

	wipe_password(req);
	json_decref(req);
	return rc;
}

/* cmd_dirs_add - `vrcli directories add ...`: POST /api/v1/directories */
enum vrcli_exit cmd_dirs_add(struct vrcli *v, const struct args *a)
{
	static const char *const required[] = {"name", "kind", "uri", "base-dn"};
	json_t *req;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!args_has(a, required[i]))
			return vrcli_usage_error("directories add: --%s is required", required[i]);
	if ((req = dir_body(a, true)) == NULL)
		return VRCLI_EXIT_USAGE;
	return send_profile(v, "POST", DIRECTORIES, req);
}

/* cmd_dirs_set - `vrcli directories set ID ...`: PATCH /api/v1/directories/{id} */
enum vrcli_exit cmd_dirs_set(struct vrcli *v, const struct args *a)
{
	enum vrcli_exit rc;
	json_t *req;
	char *path;

	if ((req = dir_body(a, false)) == NULL)
		return VRCLI_EXIT_USAGE;
	if (json_object_size(req) == 0) {
		json_decref(req);
		return vrcli_usage_error("directories set: nothing to change; see --help");
	}
	path = vrcli_item_path(DIRECTORIES, a->pos[0]);
	rc = send_profile(v, "PATCH", path, req);
	free(path);
	return rc;
}

/* cmd_dirs_remove - `vrcli directories remove ID`: DELETE /api/v1/directories/{id} */
enum vrcli_exit cmd_dirs_remove(struct vrcli *v, const struct args *a)
{
	return vrcli_remove(v, DIRECTORIES, a->pos[0], "directory");
}

/* print_steps - the steps of a test reply as a table on stdout */
static void print_steps(const json_t *steps)
{
	struct table *t = table_new(4, (const char *[]){"STEP", "RESULT", "MS", "DETAIL"});
	const json_t *s;
	size_t i;

	json_array_foreach(steps, i, s) {
		const json_t *ms = json_object_get(s, "ms");
		char buf[32] = "";

		if (json_is_number(ms))
			snprintf(buf, sizeof(buf), "%.1f", json_number_value(ms));
		table_add(t, (const char *[]){vrcli_jstr(s, "name"),
					      json_is_true(json_object_get(s, "ok")) ? "ok"
										      : "FAIL",
					      buf, vrcli_jstr(s, "detail")});
	}
	if (table_rows(t) > 0)
		table_print(t, stdout);
	table_free(t);
}

/* cmd_dirs_test - `vrcli directories test ID`: POST /api/v1/directories/{id}/test */
enum vrcli_exit cmd_dirs_test(struct vrcli *v, const struct args *a)
{
	const char *login = args_get(a, "login");
	struct http_reply r;
	enum vrcli_exit rc;
	json_t *req = NULL;
	char *item, *path;

	if (login && (req = json_pack("{s:s}", "login", login)) == NULL)
		return vrcli_usage_error("directories test: --login must be UTF-8");
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK) {
		json_decref(req);
		return rc;
	}
	item = vrcli_item_path(DIRECTORIES, a->pos[0]);
	if (asprintf(&path, "%s/test", item) < 0)
		abort();
	free(item);
	rc = http_call(v->http, "POST", path, req, &r);
	free(path);
	json_decref(req);
	if (rc == VRCLI_EXIT_OK && !json_is_boolean(json_object_get(r.body, "ok"))) {
		fputs("vrcli: the server's test reply has no ok member\n", stderr);
		rc = VRCLI_EXIT_OTHER;
	} else if (rc == VRCLI_EXIT_OK) {
		bool ok = json_is_true(json_object_get(r.body, "ok"));

		if (v->json)
			vrcli_print_json(r.body);
		else
			print_steps(json_object_get(r.body, "steps"));
		if (!ok) {
			fflush(stdout);
			fputs("vrcli: the directory test failed\n", stderr);
			rc = VRCLI_EXIT_OTHER;
		}
	}
	http_reply_free(&r);
	return rc;
}
