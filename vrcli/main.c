/*
 * main.c - vrcli's entry point: global options, settings, then the command.
 *
 * Owns: parsing the global options (before the command), loading the config file,
 * resolving the URL and token (flag > environment > file, see config.c), the warnings
 * about --insecure and a config file others can read, libcurl's global set-up, and the
 * one struct vrcli that every handler borrows. Commands are dispatched by commands.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "vrcli.h"

#define DEFAULT_TIMEOUT 30L

/* setup - global options and settings into *v; VRCLI_EXIT_OK or a reason to stop now */
static enum vrcli_exit setup(struct vrcli *v, int argc, char **argv, int *cmd_argc,
			     char ***cmd_argv, bool *done)
{
	struct config_sources url, token;
	struct args g;
	char err[512];

	*done = false;
	switch (args_parse(&g, vrcli_global_opts, argc, argv, true, err, sizeof(err))) {
	case ARGS_HELP:
		commands_help(stdout);
		*done = true;
		return VRCLI_EXIT_OK;
	case ARGS_ERROR:
		fprintf(stderr, "vrcli: %s\n", err);
		fputs("usage: vrcli [GLOBAL OPTIONS] COMMAND [ARGS]; run 'vrcli help'\n", stderr);
		return VRCLI_EXIT_USAGE;
	case ARGS_OK:
		break;
	}
	if (args_has(&g, "version")) {
		printf("vrcli %s\n", VRCLI_VERSION);
		*done = true;
		return VRCLI_EXIT_OK;
	}
	*cmd_argc = g.nrest;
	*cmd_argv = g.rest;
	v->json = args_has(&g, "json");
	v->http_opts.insecure = args_has(&g, "insecure");
	v->http_opts.ca_file = args_get(&g, "ca-file");
	v->http_opts.timeout = DEFAULT_TIMEOUT;
	v->http_opts.user_agent = "vrcli/" VRCLI_VERSION;
	if (args_has(&g, "timeout") &&
	    vrcli_parse_long("--timeout", args_get(&g, "timeout"), 1, 86400,
			     &v->http_opts.timeout) != VRCLI_EXIT_OK)
		return VRCLI_EXIT_USAGE;
	if (v->http_opts.insecure)
		fputs("vrcli: warning: --insecure: the server's TLS certificate is not verified\n",
		      stderr);

	v->config_path = config_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"));
	if (v->config_path &&
	    config_load(&v->cfg, v->config_path, err, sizeof(err)) != VRCLI_EXIT_OK) {
		fprintf(stderr, "vrcli: %s\n", err);
		return VRCLI_EXIT_OTHER;
	}
	if (v->cfg.loose_mode && config_get(&v->cfg, "token"))
		fprintf(stderr, "vrcli: warning: other users may read %s, which holds a token: "
				"chmod 600 it\n",
			v->config_path);

	url = (struct config_sources){args_get(&g, "url"), getenv("VRCLI_URL"),
				      config_get(&v->cfg, "url")};
	token = (struct config_sources){args_get(&g, "token"), getenv("VRCLI_TOKEN"),
					config_get(&v->cfg, "token")};
	config_resolve(&v->where, &url, &token);
	return VRCLI_EXIT_OK;
}

/* main - run one vrcli command; the exit code is the command's (see errmap.h) */
int main(int argc, char **argv)
{
	struct vrcli v = {0};
	enum vrcli_exit rc;
	char **cmd_argv = NULL;
	int cmd_argc = 0;
	bool done;

	rc = setup(&v, argc - 1, argv + 1, &cmd_argc, &cmd_argv, &done);
	if (rc == VRCLI_EXIT_OK && !done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fputs("vrcli: cannot initialise libcurl\n", stderr);
			rc = VRCLI_EXIT_OTHER;
		} else {
			rc = commands_run(&v, cmd_argc, cmd_argv);
			http_free(v.http);
			curl_global_cleanup();
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("vrcli: cannot write to stdout\n", stderr);
		if (rc == VRCLI_EXIT_OK)
			rc = VRCLI_EXIT_OTHER;
	}
	config_free(&v.cfg);
	free(v.config_path);
	return (int)rc;
}
