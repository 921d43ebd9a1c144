/*
 * cmd_session.c - `vrcli login`, `vrcli logout`, `vrcli whoami`.
 *
 * Owns the client side of POST /api/v1/auth/login, POST /api/v1/auth/logout and
 * GET /api/v1/me, and what login and logout write to the config file (url, token).
 * `login --token-name` exchanges the short session for a long-lived API token
 * (POST /api/v1/tokens), stores that, and ends the session it no longer needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompt.h"
#include "table.h"
#include "vrcli.h"

#define DEFAULT_TOKEN_DAYS 90
#define MAX_TOKEN_DAYS (5 * 365)


/* store - save URL and TOKEN in the config file */
static enum vrcli_exit store(struct vrcli *v, const char *url, const char *token)
{
	char err[512];

	if (v->config_path == NULL) {
		fputs("vrcli: cannot store the credential: neither XDG_CONFIG_HOME nor HOME is "
		      "set\n",
		      stderr);
		return VRCLI_EXIT_OTHER;
	}
	if (config_set(&v->cfg, "url", url) != VRCLI_EXIT_OK ||
	    config_set(&v->cfg, "token", token) != VRCLI_EXIT_OK) {
		fputs("vrcli: the URL or the token contains control characters\n", stderr);
		return VRCLI_EXIT_OTHER;
	}
	if (config_save(&v->cfg, v->config_path, err, sizeof(err)) != VRCLI_EXIT_OK) {
		fprintf(stderr, "vrcli: %s\n", err);
		return VRCLI_EXIT_OTHER;
	}
	return VRCLI_EXIT_OK;
}

/* end_session - best-effort POST /api/v1/auth/logout with the session in use */
static void end_session(struct vrcli *v)
{
	struct http_reply r;

	if (http_request(v->http, "POST", "/api/v1/auth/logout", NULL, &r) == VRCLI_EXIT_OK &&
	    r.status != 204)
		fprintf(stderr, "vrcli: warning: could not end the login session (HTTP %ld); it "
				"expires by itself\n",
			r.status);
	http_reply_free(&r);
}

/* create_api_token - POST /api/v1/tokens for login --token-name; *out is the NewToken */
static enum vrcli_exit create_api_token(struct vrcli *v, const char *name, long days,
					json_t **out)
{
	char expires[32];
	struct http_reply r;
	enum vrcli_exit rc;
	json_t *req;

	vrcli_days_from_now(days, expires, sizeof(expires));
	req = json_pack("{s:s, s:s}", "name", name, "expires_at", expires);
	if (req == NULL)
		return vrcli_usage_error("login: --token-name must be UTF-8");
	rc = http_call(v->http, "POST", "/api/v1/tokens", req, &r);
	json_decref(req);
	if (rc == VRCLI_EXIT_OK && vrcli_jstr(r.body, "token") == NULL) {
		fputs("vrcli: the server's reply to POST /api/v1/tokens has no token\n", stderr);
		rc = VRCLI_EXIT_OTHER;
	}
	if (rc == VRCLI_EXIT_OK)
		*out = json_incref(r.body);
	http_reply_free(&r);
	return rc;
}

/* read_credentials - the username and password for login, from flags, stdin or the tty */
static enum vrcli_exit read_credentials(const struct args *a, char **user, char **pass)
{
	const char *u = args_get(a, "username");

	*user = *pass = NULL;
	if (u) {
		if ((*user = strdup(u)) == NULL)
			abort();
	} else if ((*user = prompt_tty("Username: ", true)) == NULL) {
		return vrcli_usage_error("login: --username is needed without a terminal");
	}
	if (args_has(a, "password-stdin")) {
		*pass = prompt_stdin();
		if (*pass == NULL)
			return vrcli_usage_error("login: no password on stdin");
	} else if ((*pass = prompt_tty("Password: ", false)) == NULL) {
		return vrcli_usage_error("login: no terminal to ask for the password: use "
					 "--password-stdin");
	}
	if ((*user)[0] == '\0' || (*pass)[0] == '\0')
		return vrcli_usage_error("login: empty username or password");
	return VRCLI_EXIT_OK;
}

/* cmd_login - `vrcli login`: POST /api/v1/auth/login, store the URL and credential */
enum vrcli_exit cmd_login(struct vrcli *v, const struct args *a)
{
	const char *token_name = args_get(a, "token-name");
	long days = DEFAULT_TOKEN_DAYS;
	char *user = NULL, *pass = NULL;
	json_t *req, *api_token = NULL, *shown;
	struct http_reply r = {0};
	const char *session;
	enum vrcli_exit rc;

	if (args_has(a, "expires-days") && !token_name)
		return vrcli_usage_error("login: --expires-days goes with --token-name");
	if (args_has(a, "expires-days") &&
	    vrcli_parse_long("--expires-days", args_get(a, "expires-days"), 1, MAX_TOKEN_DAYS,
			     &days) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if ((rc = vrcli_need_url(v)) != VRCLI_EXIT_OK)
		return rc;
	if ((rc = read_credentials(a, &user, &pass)) != VRCLI_EXIT_OK)
		goto out;

	http_set_token(v->http, NULL); /* an old credential has no business here */
	req = json_pack("{s:s, s:s}", "username", user, "password", pass);
	if (req == NULL) {
		rc = vrcli_usage_error("login: the username and password must be UTF-8");
		goto out;
	}
	rc = http_call(v->http, "POST", "/api/v1/auth/login", req, &r);
	json_decref(req);
	if (rc != VRCLI_EXIT_OK)
		goto out;
	session = vrcli_jstr(r.body, "token");
	if (session == NULL) {
		fputs("vrcli: the server's login reply has no token\n", stderr);
		rc = VRCLI_EXIT_OTHER;
		goto out;
	}

	http_set_token(v->http, session);
	if (token_name) {
		rc = create_api_token(v, token_name, days, &api_token);
		end_session(v);
		if (rc != VRCLI_EXIT_OK)
			goto out;
		rc = store(v, v->where.url, vrcli_jstr(api_token, "token"));
	} else {
		rc = store(v, v->where.url, session);
	}
	if (rc != VRCLI_EXIT_OK)
		goto out;

	/* the secret is in the config file now; it is not printed, not even with --json */
	shown = json_deep_copy(api_token ? api_token : r.body);
	json_object_del(shown, "token");
	if (v->json) {
		vrcli_print_json(shown);
	} else {
		const json_t *u = json_object_get(r.body, "user");

		printf("Logged in to %s as %s (role %s).\n", v->where.url,
		       vrcli_or(vrcli_jstr(u, "username"), user),
		       vrcli_or(vrcli_jstr(u, "role"), "?"));
		if (api_token)
			printf("Created API token '%s' (id %s, role %s, expires %s) and stored "
			       "it in %s instead of the session.\n",
			       token_name, vrcli_jstr(api_token, "id"),
			       vrcli_jstr(api_token, "role"),
			       vrcli_or(vrcli_jstr(api_token, "expires_at"), "never"),
			       v->config_path);
		else
			printf("Session stored in %s; it expires at %s.\n", v->config_path,
			       vrcli_or(vrcli_jstr(r.body, "expires_at"), "?"));
	}
	json_decref(shown);
out:
	json_decref(api_token);
	http_reply_free(&r);
	free(user);
	prompt_free(pass);
	return rc;
}

/* is_api_token - whether TOKEN is an API token rather than a session JWT */
static bool is_api_token(const char *token)
{
	return strncmp(token, "vrt_", 4) == 0;
}

/* cmd_logout - `vrcli logout`: end the session, forget the stored credential */
enum vrcli_exit cmd_logout(struct vrcli *v, const struct args *a)
{
	const char *token = v->where.token;
	bool from_file = token && strcmp(v->where.token_from, "the config file") == 0;
	bool api = token && is_api_token(token);
	enum vrcli_exit rc = VRCLI_EXIT_OK;
	char err[512];

	(void)a;
	if (token == NULL) {
		if (!v->json)
			puts("Not logged in.");
		return VRCLI_EXIT_OK;
	}
	if (!api) {
		struct http_reply r;

		if ((rc = vrcli_need_url(v)) != VRCLI_EXIT_OK)
			return rc;
		rc = http_request(v->http, "POST", "/api/v1/auth/logout", NULL, &r);
		if (rc == VRCLI_EXIT_OK && r.status == 401)
			rc = VRCLI_EXIT_OK; /* expired or revoked already: the goal is met */
		else if (rc == VRCLI_EXIT_OK && r.status != 204)
			rc = http_fail(v->http, &r);
		http_reply_free(&r);
	}
	if (from_file) {
		/* from here on, TOKEN (borrowed from the config) is gone */
		config_set(&v->cfg, "token", NULL);
		if (config_save(&v->cfg, v->config_path, err, sizeof(err)) != VRCLI_EXIT_OK) {
			fprintf(stderr, "vrcli: %s\n", err);
			return VRCLI_EXIT_OTHER;
		}
	}
	if (!v->json) {
		if (api)
			puts("The API token stays valid on the server; revoke it with "
			     "'vrcli tokens revoke ID'.");
		else if (rc == VRCLI_EXIT_OK)
			puts("Logged out.");
		if (from_file)
			printf("Removed the token from %s.\n", v->config_path);
	}
	return rc;
}


/* cmd_whoami - `vrcli whoami`: GET /api/v1/me */
enum vrcli_exit cmd_whoami(struct vrcli *v, const struct args *a)
{
	struct http_reply r;
	enum vrcli_exit rc;

	(void)a;
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	rc = http_call(v->http, "GET", "/api/v1/me", NULL, &r);
	if (rc != VRCLI_EXIT_OK)
		goto out;
	if (v->json) {
		vrcli_print_json(r.body);
	} else {
		const json_t *auth = json_object_get(r.body, "auth"), *addr;
		struct table *t = table_new(2, NULL);
		char *addresses = NULL;
		size_t len = 0, i;
		FILE *f = open_memstream(&addresses, &len);

		if (f == NULL)
			abort();
		json_array_foreach(json_object_get(r.body, "addresses"), i, addr)
			fprintf(f, "%s%s", i ? ", " : "", json_string_value(addr));
		fclose(f);
#define ROW(label, value) table_add(t, (const char *[]){label, value})
		ROW("username:", vrcli_jstr(r.body, "username"));
		ROW("display name:", vrcli_jstr(r.body, "display_name"));
		ROW("role:", vrcli_jstr(r.body, "role"));
		ROW("source:", vrcli_jstr(r.body, "source"));
		ROW("addresses:", addresses);
		ROW("auth method:", vrcli_jstr(auth, "method"));
		ROW("expires:", vrcli_or(vrcli_jstr(auth, "expires_at"), "never"));
		if (vrcli_jstr(auth, "token_id"))
			ROW("token id:", vrcli_jstr(auth, "token_id"));
		ROW("last login:", vrcli_jstr(r.body, "last_login_at"));
#undef ROW
		table_print(t, stdout);
		table_free(t);
		free(addresses);
	}
out:
	http_reply_free(&r);
	return rc;
}
