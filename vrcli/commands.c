/*
 * commands.c - vrcli's command table, its dispatcher, help text and shared helpers.
 *
 * Owns: the const table commands[] (name, subcommand, usage, summary, options, argument
 * counts, handler), in the manner of knotc's utils/knotc/commands.c; each command's
 * option spec; the global option spec; `vrcli help` and `vrcli COMMAND --help`; and the
 * usage errors (exit 2) for unknown commands, bad options and wrong argument counts.
 * Handlers live in cmd_*.c, one file per API area.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vrcli.h"

struct command {
	const char *name;
	const char *sub;   /* subcommand, or NULL */
	const char *usage; /* what follows the command's name(s) */
	const char *summary;
	const struct args_opt *opts;
	int min_args, max_args;
	vrcli_handler run;
};

const struct args_opt vrcli_global_opts[] = {
	{"url", "URL", "API base URL (or VRCLI_URL, or 'url' in the config file)"},
	{"token", "TOKEN", "credential (or VRCLI_TOKEN, or 'token' in the config file)"},
	{"json", NULL, "print the API's JSON on stdout, nothing else"},
	{"insecure", NULL, "do not verify the server's TLS certificate (unsafe)"},
	{"ca-file", "FILE", "verify the server against the CA certificates in FILE"},
	{"timeout", "SECONDS", "give up on a request after SECONDS (default 30)"},
	{"version", NULL, "print vrcli's version"},
	{NULL, NULL, NULL},
};

static const struct args_opt no_opts[] = {{NULL, NULL, NULL}};

static const struct args_opt login_opts[] = {
	{"username", "U", "account name (prompted on the terminal if absent)"},
	{"password-stdin", NULL, "read the password from the first line of stdin"},
	{"token-name", "NAME", "store a new API token called NAME instead of the session"},
	{"expires-days", "N", "with --token-name: the token expires in N days (default 90)"},
	{NULL, NULL, NULL},
};

static const struct args_opt tokens_create_opts[] = {
	{"role", "R", "role of the token (default: yours; at most yours)"},
	{"expires-at", "RFC3339", "expiry time, e.g. 2027-01-31T00:00:00Z"},
	{"expires-days", "N", "expiry N days from now"},
	{NULL, NULL, NULL},
};

static const struct args_opt tokens_list_opts[] = {
	{"owner", "U", "only tokens of user U (admin only)"},
	{NULL, NULL, NULL},
};

static const struct args_opt audit_opts[] = {
	{"actor", "A", "only events by actor A"},
	{"action", "X", "only action X, e.g. auth.login"},
	{"outcome", "success|failure", "only events with this outcome"},
	{"since", "T", "events at or after RFC 3339 time T"},
	{"until", "T", "events before RFC 3339 time T"},
	{"limit", "N", "events per page (server default 100, at most 500)"},
	{"all", NULL, "follow the pages to the end (--json: one merged array)"},
	{NULL, NULL, NULL},
};

static enum vrcli_exit cmd_help(struct vrcli *v, const struct args *a);

static const struct command commands[] = {
	{"login", NULL, "[--username U] [--password-stdin] [--token-name NAME [--expires-days N]]",
	 "log in and store the URL and credential in the config file", login_opts, 0, 0,
	 cmd_login},
	{"logout", NULL, "", "end the session and forget the stored credential", no_opts, 0, 0,
	 cmd_logout},
	{"whoami", NULL, "", "show who the credential belongs to", no_opts, 0, 0, cmd_whoami},
	{"health", NULL, "", "show liveness and readiness; exit 0 only when ready", no_opts, 0,
	 0, cmd_health},
	{"tokens", "create", "NAME [--role R] [--expires-at RFC3339 | --expires-days N]",
	 "create an API token; its secret is shown once", tokens_create_opts, 1, 1,
	 cmd_tokens_create},
	{"tokens", "list", "[--owner U]", "list live API tokens", tokens_list_opts, 0, 0,
	 cmd_tokens_list},
	{"tokens", "revoke", "ID", "revoke an API token", no_opts, 1, 1, cmd_tokens_revoke},
	{"audit", NULL,
	 "[--actor A] [--action X] [--outcome success|failure] [--since T] [--until T] "
	 "[--limit N] [--all]",
	 "show audit events, newest first", audit_opts, 0, 0, cmd_audit},
	{"help", NULL, "[COMMAND [SUBCOMMAND]]", "show this help, or a command's", no_opts, 0, 2,
	 cmd_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* print_usage_line - "usage: vrcli NAME [SUB] USAGE" for C on F */
static void print_usage_line(const struct command *c, FILE *f)
{
	fprintf(f, "usage: vrcli [GLOBAL OPTIONS] %s%s%s%s%s\n", c->name, c->sub ? " " : "",
		c->sub ? c->sub : "", c->usage[0] ? " " : "", c->usage);
}

/* command_help - the help of one command on F */
static void command_help(const struct command *c, FILE *f)
{
	print_usage_line(c, f);
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)c->summary[0]), c->summary + 1);
	fputs("\nOptions:\n", f);
	args_print_options(c->opts, f);
}

/* group_help - the subcommands of NAME on F */
static void group_help(const char *name, FILE *f)
{
	fprintf(f, "usage: vrcli [GLOBAL OPTIONS] %s SUBCOMMAND [ARGS]\n\nSubcommands:\n", name);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			fprintf(f, "  %-8s %s\n", commands[i].sub, commands[i].summary);
	fprintf(f, "\nRun 'vrcli %s SUBCOMMAND --help' for its options.\n", name);
}

/* commands_help - the full help text on F */
void commands_help(FILE *f)
{
	fputs("usage: vrcli [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
	      "vrcli drives a vrgate appliance through its REST API: tables for people,\n"
	      "--json for scripts.\n\nGlobal options (before the command):\n",
	      f);
	args_print_options(vrcli_global_opts, f);
	fputs("\nCommands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s%s%s", commands[i].name, commands[i].sub ? " " : "",
			 commands[i].sub ? commands[i].sub : "");
		fprintf(f, "  %-15s %s\n", name, commands[i].summary);
	}
	fputs("\nRun 'vrcli COMMAND --help' for a command's options.\n\n"
	      "Settings: a flag wins over the environment (VRCLI_URL, VRCLI_TOKEN), which wins\n"
	      "over $XDG_CONFIG_HOME/vrcli/config (default ~/.config/vrcli/config), a file of\n"
	      "'key = value' lines (url, token) that 'vrcli login' writes. A token from that\n"
	      "file is sent only to the URL stored with it. Prefer VRCLI_TOKEN to --token:\n"
	      "other users can see a process's arguments.\n\n"
	      "Exit codes: 0 success; 1 other error; 2 usage error; 3 not authenticated or\n"
	      "not allowed (401, 403); 4 not found (404); 5 request rejected (400, 409, 413,\n"
	      "414, 415, 429); 6 server error (5xx); 7 cannot connect.\n",
	      f);
}

/* cmd_help - `vrcli help [COMMAND [SUBCOMMAND]]` */
static enum vrcli_exit cmd_help(struct vrcli *v, const struct args *a)
{
	(void)v;
	if (a->npos == 0) {
		commands_help(stdout);
		return VRCLI_EXIT_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->name, a->pos[0]) != 0)
			continue;
		if (c->sub == NULL) {
			command_help(c, stdout);
			return VRCLI_EXIT_OK;
		}
		if (a->npos == 1) {
			group_help(c->name, stdout);
			return VRCLI_EXIT_OK;
		}
		if (strcmp(c->sub, a->pos[1]) == 0) {
			command_help(c, stdout);
			return VRCLI_EXIT_OK;
		}
	}
	return vrcli_usage_error("no such command '%s%s%s'; run 'vrcli help'", a->pos[0],
				 a->npos > 1 ? " " : "", a->npos > 1 ? a->pos[1] : "");
}

/* find - the entry for NAME and SUB (SUB ignored for commands without subcommands) */
static const struct command *find(const char *name, const char *sub, bool *has_subs)
{
	*has_subs = false;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (commands[i].sub == NULL)
			return &commands[i];
		*has_subs = true;
		if (sub && strcmp(commands[i].sub, sub) == 0)
			return &commands[i];
	}
	return NULL;
}

/* global_misplaced - whether the unknown option ARG is a global option */
static bool global_misplaced(const char *arg)
{
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return false;
	n = strcspn(arg + 2, "=");
	for (int i = 0; vrcli_global_opts[i].name; i++)
		if (strlen(vrcli_global_opts[i].name) == n &&
		    strncmp(vrcli_global_opts[i].name, arg + 2, n) == 0)
			return true;
	return false;
}

/* commands_run - run the command in ARGV (argv[0] is its name) */
enum vrcli_exit commands_run(struct vrcli *v, int argc, char **argv)
{
	const struct command *c;
	struct args a;
	char err[256];
	bool has_subs;
	int skip = 1;

	if (argc == 0) {
		fputs("usage: vrcli [GLOBAL OPTIONS] COMMAND [ARGS]; run 'vrcli help'\n", stderr);
		return VRCLI_EXIT_USAGE;
	}
	c = find(argv[0], argc > 1 ? argv[1] : NULL, &has_subs);
	if (c == NULL && !has_subs)
		return vrcli_usage_error("unknown command '%s'; run 'vrcli help'", argv[0]);
	if (c == NULL) {
		bool help = argc > 1 &&
			    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);

		if (!help && argc > 1)
			fprintf(stderr, "vrcli: unknown subcommand '%s %s'\n", argv[0], argv[1]);
		group_help(argv[0], help ? stdout : stderr);
		return help ? VRCLI_EXIT_OK : VRCLI_EXIT_USAGE;
	}
	if (c->sub)
		skip = 2;
	switch (args_parse(&a, c->opts, argc - skip, argv + skip, false, err, sizeof(err))) {
	case ARGS_HELP:
		command_help(c, stdout);
		return VRCLI_EXIT_OK;
	case ARGS_ERROR:
		fprintf(stderr, "vrcli: %s%s%s: %s\n", c->name, c->sub ? " " : "",
			c->sub ? c->sub : "", err);
		for (int i = skip; i < argc; i++)
			if (strstr(err, "unknown option") && global_misplaced(argv[i])) {
				fprintf(stderr, "vrcli: %s is a global option: put it before the "
						"command\n",
					argv[i]);
				break;
			}
		print_usage_line(c, stderr);
		return VRCLI_EXIT_USAGE;
	case ARGS_OK:
		break;
	}
	if (a.npos < c->min_args || a.npos > c->max_args) {
		fprintf(stderr, "vrcli: %s%s%s: %s\n", c->name, c->sub ? " " : "",
			c->sub ? c->sub : "",
			a.npos < c->min_args ? "missing argument" : "too many arguments");
		print_usage_line(c, stderr);
		return VRCLI_EXIT_USAGE;
	}
	enum vrcli_exit rc = c->run(v, &a);

	if (rc == VRCLI_EXIT_USAGE) /* the handler found bad values: show how to call it */
		print_usage_line(c, stderr);
	return rc;
}

/* vrcli_usage_error - print "vrcli: MESSAGE" on stderr; returns VRCLI_EXIT_USAGE */
enum vrcli_exit vrcli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vrcli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return VRCLI_EXIT_USAGE;
}

/* vrcli_need_url - make sure a usable URL is set and the HTTP client exists */
enum vrcli_exit vrcli_need_url(struct vrcli *v)
{
	const char *url = v->where.url;

	if (v->http)
		return VRCLI_EXIT_OK;
	if (url == NULL)
		return vrcli_usage_error("no API URL: use --url, VRCLI_URL or 'vrcli login'");
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return vrcli_usage_error("the URL from %s must start with http:// or https://",
					 v->where.url_from);
	v->http_opts.url = url;
	v->http_opts.token = v->where.token;
	v->http = http_new(&v->http_opts);
	if (v->http == NULL) {
		fputs("vrcli: cannot start libcurl\n", stderr);
		return VRCLI_EXIT_OTHER;
	}
	return VRCLI_EXIT_OK;
}

/* vrcli_need_token - vrcli_need_url(), and make sure there is a credential */
enum vrcli_exit vrcli_need_token(struct vrcli *v)
{
	enum vrcli_exit rc = vrcli_need_url(v);

	if (rc != VRCLI_EXIT_OK)
		return rc;
	if (v->where.token)
		return VRCLI_EXIT_OK;
	if (v->where.file_token_withheld)
		fprintf(stderr, "vrcli: the stored token is for %s, not %s; run 'vrcli login'\n",
			config_get(&v->cfg, "url"), v->where.url);
	else
		fputs("vrcli: not logged in (no --token, VRCLI_TOKEN or stored token); run "
		      "'vrcli login'\n",
		      stderr);
	return VRCLI_EXIT_AUTH;
}

/* vrcli_print_json - J on stdout, indented, members in the API's order */
void vrcli_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

/* vrcli_jstr - the string member KEY of O, or NULL */
const char *vrcli_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* vrcli_or - S, or DFLT when S is NULL */
const char *vrcli_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* vrcli_parse_long - OPTION's value S as an integer in [MIN, MAX], else a usage error */
enum vrcli_exit vrcli_parse_long(const char *option, const char *s, long min, long max,
				 long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || n < min || n > max)
		return vrcli_usage_error("%s: expected a whole number from %ld to %ld, got '%s'",
					 option, min, max, s);
	*out = n;
	return VRCLI_EXIT_OK;
}

/* vrcli_days_from_now - RFC 3339 UTC time DAYS days from now, into BUF (>= 21 bytes) */
void vrcli_days_from_now(long days, char *buf, size_t len)
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
