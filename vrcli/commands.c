/*
 * commands.c - vrcli's command table, its dispatcher, help text and shared helpers.
 *
 * Owns: the const table commands[] (name, subcommand, usage, summary, options, argument
 * counts, handler), in the manner of knotc's utils/knotc/commands.c (a name may have a
 * bare entry as well as subcommands: `vrcli agents` and `vrcli agents remove`); each
 * command's option spec; the global option spec; `vrcli help` and `vrcli COMMAND --help`;
 * the usage errors (exit 2) for unknown commands, bad options and wrong argument counts;
 * and the helpers handlers share (vrcli.h).
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
#include <unistd.h>

#include "kv.h"
#include "table.h"
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

static const struct args_opt domains_add_opts[] = {
	{"internal-host", "H", "the internal mail server to relay to (required)"},
	{"internal-port", "N", "its SMTP port (default 25)"},
	{"no-verify", NULL, "do not verify recipients with the internal server"},
	{NULL, NULL, NULL},
};

static const struct args_opt domains_set_opts[] = {
	{"name", "N", "rename the domain"},
	{"internal-host", "H", "the internal mail server to relay to"},
	{"internal-port", "N", "its SMTP port"},
	{"verify", NULL, "verify recipients with the internal server"},
	{"no-verify", NULL, "do not verify recipients"},
	{NULL, NULL, NULL},
};

static const struct args_opt networks_add_opts[] = {
	{"description", "TEXT", "what the network is (at most 200 characters)"},
	{NULL, NULL, NULL},
};

/* the options `directories add` and `directories set` share come first in both */
#define DIRECTORY_OPTS                                                                     \
	{"name", "N", "profile name, unique"},                                              \
	{"kind", "ad|openldap", "directory kind; new profiles take its search presets"},   \
	{"uri", "URI", "ldaps://host[:port] or ldap://host[:port]; repeat for fail-over"}, \
	{"base-dn", "DN", "where users are searched"},                                      \
	{"ca-file", "FILE", "absolute path of the CA bundle on the appliance"},             \
	{"bind-dn", "DN", "service account to search with"},                                \
	{"bind-password-stdin", NULL, "read the service account's password from stdin"},  \
	{"netbios-domain", "D", "accept logins D\\user"},                                  \
	{"user-filter", "FILTER", "LDAP filter with {login} (default: the kind's)"},        \
	{"group-role", "DN=ROLE", "members of group DN get ROLE; repeat for more groups"},  \
	{"position", "N", "place in the login order (default: last)"}

static const struct args_opt dirs_add_opts[] = {
	DIRECTORY_OPTS,
	{"starttls", NULL, "use StartTLS (required with ldap:// URIs)"},
	{"no-verify-cert", NULL, "do not verify the server's certificate (unsafe)"},
	{"disabled", NULL, "create the profile disabled"},
	{NULL, NULL, NULL},
};

static const struct args_opt dirs_set_opts[] = {
	DIRECTORY_OPTS,
	{"starttls", NULL, "use StartTLS"},
	{"no-starttls", NULL, "do not use StartTLS"},
	{"no-group-roles", NULL, "remove every group-to-role mapping"},
	{"verify-cert", NULL, "verify the server's certificate"},
	{"no-verify-cert", NULL, "do not verify the server's certificate (unsafe)"},
	{"enable", NULL, "use the profile for logins"},
	{"disable", NULL, "skip the profile at login"},
	{NULL, NULL, NULL},
};

static const struct args_opt dirs_test_opts[] = {
	{"login", "USER", "also look up USER and their groups"},
	{NULL, NULL, NULL},
};

static const struct args_opt users_list_opts[] = {
	{"query", "Q", "only users whose name, display name or address contains Q"},
	{"limit", "N", "users per page (server default 100, at most 500)"},
	{"all", NULL, "follow the pages to the end (--json: one merged array)"},
	{NULL, NULL, NULL},
};

static const struct args_opt lists_opts[] = {
	{"scope", "global|personal|all",
	 "which entries (default: global and your own; all: everybody's, staff only)"},
	{"kind", "allow|block", "only allow or only block entries"},
	{"owner", "USER", "only the personal entries of USER (staff only)"},
	{NULL, NULL, NULL},
};

static const struct args_opt lists_add_opts[] = {
	{"global", NULL, "an entry for everybody (admin only)"},
	{"owner", "USER", "a personal entry of USER (admin, helpdesk; default: yours)"},
	{"comment", "TEXT", "why (at most 200 characters)"},
	{NULL, NULL, NULL},
};

static const struct args_opt lists_export_opts[] = {
	{"output", "FILE", "write the CSV to FILE (replaced whole, mode 0600; - for stdout)"},
	{"o", "FILE", "same as --output"},
	{NULL, NULL, NULL},
};

static const struct args_opt prefs_set_opts[] = {
	{"newsletter", "default|deliver|tag|quarantine",
	 "what happens to newsletters sent to you (default: the domain's choice)"},
	{"digest", "off|daily|weekly", "how often you get a digest of your held messages"},
	{"language", "fr|en", "the language of your digests and of the pages their links open"},
	{NULL, NULL, NULL},
};

static const struct args_opt messages_opts[] = {
	{"recipient", "A", "only messages to address A"},
	{"sender", "A", "only messages from envelope sender A"},
	{"direction", "inbound|outbound", "only messages in this direction"},
	{"action", "X", "only messages with a recipient given action X, e.g. quarantine"},
	{"since", "T", "messages received at or after RFC 3339 time T"},
	{"until", "T", "messages received before RFC 3339 time T"},
	{"limit", "N", "messages per page (server default 100, at most 500)"},
	{"all", NULL, "follow the pages to the end (--json: one merged array)"},
	{NULL, NULL, NULL},
};

static const struct args_opt stats_opts[] = {
	{"since", "T", "count from RFC 3339 time T (default: 24 hours ago)"},
	{"until", "T", "count until RFC 3339 time T (default: now)"},
	{NULL, NULL, NULL},
};

static const struct args_opt quarantine_list_opts[] = {
	{"recipient", "A", "only messages held for address A"},
	{"sender", "A", "only messages from sender A"},
	{"query", "TEXT", "only messages with TEXT in the subject or sender"},
	{"category", "C", "spam, virus, newsletter, attachment or blocklist"},
	{"status", "S", "held, released, deleted or expired"},
	{"min-score", "N", "only messages scored N or more"},
	{"max-score", "N", "only messages scored N or less"},
	{"since", "T", "messages received at or after RFC 3339 time T"},
	{"until", "T", "messages received before RFC 3339 time T"},
	{"limit", "N", "rows per page (server default 50, at most 500)"},
	{"all", NULL, "follow the pages to the end (--json: one merged items array)"},
	{NULL, NULL, NULL},
};

static const struct args_opt quarantine_raw_opts[] = {
	{"output", "FILE", "write the message to FILE (replaced whole, mode 0600; - for stdout)"},
	{"o", "FILE", "same as --output"},
	{NULL, NULL, NULL},
};

static const struct args_opt quarantine_act_opts[] = {
	{"recipient", "A", "act for recipient A only (default: every recipient you may see)"},
	{NULL, NULL, NULL},
};

static const struct args_opt quarantine_check_opts[] = {
	{"repair", NULL, "remove the orphan files and the rows whose file is gone"},
	{NULL, NULL, NULL},
};

static const struct args_opt quarantine_bulk_opts[] = {
	{"ids-from", "FILE", "read the IDs from FILE, one a line (- for stdin; # comments)"},
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
	{"policy", "show", "", "show the mail policy", no_opts, 0, 0, cmd_policy_show},
	{"policy", "set", "KEY=VALUE...",
	 "change mail policy settings (keys as 'policy show' names them; KEY= clears)", no_opts,
	 1, ARGS_POS_CAP, cmd_policy_set},
	{"policy", "flush-verify-cache", "",
	 "make the agents forget their recipient verification results", no_opts, 0, 0,
	 cmd_policy_flush},
	{"domains", "list", "", "list the relay domains", no_opts, 0, 0, cmd_domains_list},
	{"domains", "show", "ID", "show a relay domain", no_opts, 1, 1, cmd_domains_show},
	{"domains", "add", "NAME --internal-host H [--internal-port N] [--no-verify]",
	 "add a relay domain", domains_add_opts, 1, 1, cmd_domains_add},
	{"domains", "set", "ID [--name N] [--internal-host H] [--internal-port N] "
	 "[--verify|--no-verify]",
	 "change a relay domain", domains_set_opts, 1, 1, cmd_domains_set},
	{"domains", "remove", "ID", "remove a relay domain", no_opts, 1, 1, cmd_domains_remove},
	{"domains", "filter", "ID", "show a relay domain's spam thresholds and newsletter default",
	 no_opts, 1, 1, cmd_domains_filter},
	{"domains", "set-filter", "ID KEY=VALUE...",
	 "change a relay domain's filter settings (keys as 'domains filter' shows)",
	 no_opts, 2, ARGS_POS_CAP, cmd_domains_set_filter},
	{"networks", "list", "", "list the internal networks", no_opts, 0, 0, cmd_networks_list},
	{"networks", "add", "CIDR [--description TEXT]", "add an internal network",
	 networks_add_opts, 1, 1, cmd_networks_add},
	{"networks", "remove", "ID", "remove an internal network", no_opts, 1, 1,
	 cmd_networks_remove},
	{"agents", NULL, "", "list the data-plane agents and their state", no_opts, 0, 0,
	 cmd_agents},
	{"agents", "remove", "NAME", "forget a decommissioned agent", no_opts, 1, 1,
	 cmd_agents_remove},
	{"filter", "show", "", "show the filter settings (virus, attachments, outbound spam)",
	 no_opts, 0, 0, cmd_filter_show},
	{"filter", "set", "KEY=VALUE...",
	 "change filter settings (lists comma-separated: blocked_extensions=exe,js)",
	 no_opts, 1, ARGS_POS_CAP, cmd_filter_set},
	{"lists", NULL, "[--scope global|personal|all] [--kind allow|block] [--owner USER]",
	 "list allow and block entries", lists_opts, 0, 0, cmd_lists},
	{"lists", "add", "allow|block PATTERN [--global | --owner USER] [--comment TEXT]",
	 "add an allow or block entry (PATTERN: user@domain, *@domain or domain)",
	 lists_add_opts, 2, 2, cmd_lists_add},
	{"lists", "remove", "ID", "remove an allow or block entry", no_opts, 1, 1,
	 cmd_lists_remove},
	{"lists", "export", "[-o FILE]",
	 "write every allow and block entry as CSV to FILE or to a pipe",
	 lists_export_opts, 0, 0, cmd_lists_export},
	{"lists", "import", "FILE|-",
	 "add the entries of a CSV file as export writes it; all or nothing",
	 no_opts, 1, 1, cmd_lists_import},
	{"preferences", "show", "", "show your own mail preferences", no_opts, 0, 0,
	 cmd_prefs_show},
	{"preferences", "set",
	 "[--newsletter default|deliver|tag|quarantine] [--digest off|daily|weekly] "
	 "[--language fr|en]",
	 "change your own mail preferences (what is not given stays as it is)", prefs_set_opts,
	 0, 0, cmd_prefs_set},
	{"digest", NULL, "",
	 "send me my quarantine digest now: everything held for me, with one-click links",
	 no_opts, 0, 0, cmd_digest},
	{"messages", NULL,
	 "[--recipient A] [--sender A] [--direction inbound|outbound] [--action X] [--since T] "
	 "[--until T] [--limit N] [--all]",
	 "trace messages, newest first, each with one line per recipient", messages_opts, 0, 0,
	 cmd_messages},
	{"stats", NULL, "[--since T] [--until T]",
	 "count messages by direction, action and category (default: the last 24 h)",
	 stats_opts, 0, 0, cmd_stats},
	{"quarantine", "list",
	 "[--recipient A] [--sender A] [--query TEXT] [--category C] [--status S] "
	 "[--min-score N] [--max-score N] [--since T] [--until T] [--limit N] [--all]",
	 "list quarantined messages (a row per recipient), then the held totals",
	 quarantine_list_opts, 0, 0, cmd_quarantine_list},
	{"quarantine", "show", "ID", "show a quarantined message: headers, attachments, recipients",
	 no_opts, 1, 1, cmd_quarantine_show},
	{"quarantine", "preview", "ID", "show the text of a quarantined message, made safe",
	 no_opts, 1, 1, cmd_quarantine_preview},
	{"quarantine", "raw", "ID [-o FILE]",
	 "write a quarantined message as received to FILE or to a pipe",
	 quarantine_raw_opts, 1, 1, cmd_quarantine_raw},
	{"quarantine", "release", "ID [--recipient A]", "deliver a quarantined message",
	 quarantine_act_opts, 1, 1, cmd_quarantine_release},
	{"quarantine", "delete", "ID [--recipient A]", "delete a quarantined message",
	 quarantine_act_opts, 1, 1, cmd_quarantine_delete},
	{"quarantine", "release-allow", "ID [--recipient A]",
	 "deliver a quarantined message and allow its sender for its recipients",
	 quarantine_act_opts, 1, 1, cmd_quarantine_release_allow},
	{"quarantine", "delete-block", "ID [--recipient A]",
	 "delete a quarantined message and block its sender for its recipients",
	 quarantine_act_opts, 1, 1, cmd_quarantine_delete_block},
	{"quarantine", "not-spam", "ID [--recipient A]",
	 "deliver a quarantined message and report it as not spam", quarantine_act_opts, 1, 1,
	 cmd_quarantine_not_spam},
	{"quarantine", "unsubscribe", "ID",
	 "unsubscribe from a quarantined newsletter (RFC 8058 one-click)",
	 no_opts, 1, 1, cmd_quarantine_unsubscribe},
	{"quarantine", "purge", "",
	 "remove now the held messages past their retention (admins)", no_opts, 0, 0,
	 cmd_quarantine_purge},
	{"quarantine", "check", "[--repair]",
	 "compare the spool with the index: files without rows, rows without files (admins)",
	 quarantine_check_opts, 0, 0, cmd_quarantine_check},
	{"quarantine", "bulk",
	 "release|delete|release-allow|delete-block|not-spam ID... | --ids-from FILE",
	 "act on many quarantined messages; exit 0 only if all succeed, else 5",
	 quarantine_bulk_opts, 1, ARGS_POS_CAP, cmd_quarantine_bulk},
	{"directories", "list", "", "list the directory profiles in login order", no_opts, 0, 0,
	 cmd_dirs_list},
	{"directories", "show", "ID", "show a directory profile", no_opts, 1, 1, cmd_dirs_show},
	{"directories", "add",
	 "--name N --kind ad|openldap --uri URI [--uri URI...] --base-dn DN [--starttls] "
	 "[--ca-file F] [--bind-dn DN] [--bind-password-stdin] [--netbios-domain D] "
	 "[--user-filter F] [--group-role DN=ROLE...] [--no-verify-cert] [--disabled] "
	 "[--position N]",
	 "add a directory profile (the bind password only ever from stdin)", dirs_add_opts, 0,
	 0, cmd_dirs_add},
	{"directories", "set", "ID [the options of add] [--no-starttls] [--no-group-roles] "
	 "[--verify-cert] [--enable|--disable]",
	 "change a directory profile (an empty password line on stdin removes it)",
	 dirs_set_opts, 1, 1, cmd_dirs_set},
	{"directories", "remove", "ID", "remove a directory profile (its users stay)", no_opts,
	 1, 1, cmd_dirs_remove},
	{"directories", "test", "ID [--login USER]",
	 "test a profile step by step; exit 0 only when every step passes, else 1",
	 dirs_test_opts, 1, 1, cmd_dirs_test},
	{"users", "list", "[--query Q] [--limit N] [--all]", "list users by name",
	 users_list_opts, 0, 0, cmd_users_list},
	{"users", "show", "ID", "show a user", no_opts, 1, 1, cmd_users_show},
	{"users", "set-role", "ID admin|helpdesk|auditor|user|none",
	 "override a directory user's role ('none' returns to the directory's)", no_opts, 2, 2,
	 cmd_users_set_role},
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

/* has_subs - whether NAME has subcommands */
static bool has_subs(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0 && commands[i].sub)
			return true;
	return false;
}

/* list_subs - the subcommands of NAME, one a line, on F */
static void list_subs(const char *name, FILE *f)
{
	int width = 8;

	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0 && commands[i].sub &&
		    (int)strlen(commands[i].sub) > width)
			width = (int)strlen(commands[i].sub);
	fputs("\nSubcommands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0 && commands[i].sub)
			fprintf(f, "  %-*s  %s\n", width, commands[i].sub, commands[i].summary);
	fprintf(f, "\nRun 'vrcli %s SUBCOMMAND --help' for its options.\n", name);
}

/* command_help - the help of one command on F (and its subcommands, for a bare one) */
static void command_help(const struct command *c, FILE *f)
{
	print_usage_line(c, f);
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)c->summary[0]), c->summary + 1);
	fputs("\nOptions:\n", f);
	args_print_options(c->opts, f);
	if (c->sub == NULL && has_subs(c->name))
		list_subs(c->name, f);
}

/* group_help - the subcommands of NAME on F (first the bare command's usage, if any) */
static void group_help(const char *name, FILE *f)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0 && commands[i].sub == NULL)
			print_usage_line(&commands[i], f);
	fprintf(f, "usage: vrcli [GLOBAL OPTIONS] %s SUBCOMMAND [ARGS]\n", name);
	list_subs(name, f);
}

/* commands_help - the full help text on F */
void commands_help(FILE *f)
{
	fputs("usage: vrcli [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
	      "vrcli drives a vrgate appliance through its REST API: tables for people,\n"
	      "--json for scripts.\n\nGlobal options (before the command):\n",
	      f);
	int width = 15;

	args_print_options(vrcli_global_opts, f);
	fputs("\nCommands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		int n = (int)strlen(commands[i].name) +
			(commands[i].sub ? 1 + (int)strlen(commands[i].sub) : 0);

		if (n > width)
			width = n;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s", commands[i].name, commands[i].sub ? " " : "",
			 commands[i].sub ? commands[i].sub : "");
		fprintf(f, "  %-*s %s\n", width, name, commands[i].summary);
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

/* find - the entry for NAME and SUB: the subcommand SUB if NAME has it, else the bare
 * command NAME (which takes SUB as an argument), else NULL; *subs says whether NAME has
 * subcommands */
static const struct command *find(const char *name, const char *sub, bool *subs)
{
	const struct command *bare = NULL;

	*subs = false;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (commands[i].sub == NULL) {
			bare = &commands[i];
			continue;
		}
		*subs = true;
		if (sub && strcmp(commands[i].sub, sub) == 0)
			return &commands[i];
	}
	return bare;
}

/* cmd_help - `vrcli help [COMMAND [SUBCOMMAND]]` */
static enum vrcli_exit cmd_help(struct vrcli *v, const struct args *a)
{
	const struct command *c;
	bool subs;

	(void)v;
	if (a->npos == 0) {
		commands_help(stdout);
		return VRCLI_EXIT_OK;
	}
	c = find(a->pos[0], a->npos > 1 ? a->pos[1] : NULL, &subs);
	if (c && (a->npos == 1 || c->sub)) {
		command_help(c, stdout);
		return VRCLI_EXIT_OK;
	}
	if (c == NULL && subs && a->npos == 1) {
		group_help(a->pos[0], stdout);
		return VRCLI_EXIT_OK;
	}
	return vrcli_usage_error("no such command '%s%s%s'; run 'vrcli help'", a->pos[0],
				 a->npos > 1 ? " " : "", a->npos > 1 ? a->pos[1] : "");
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
	/* a bare command that takes no arguments: a word after it is a wrong subcommand */
	if (c && c->sub == NULL && has_subs && c->max_args == 0 && argc > 1 &&
	    argv[1][0] != '-') {
		fprintf(stderr, "vrcli: unknown subcommand '%s %s'\n", argv[0], argv[1]);
		group_help(argv[0], stderr);
		return VRCLI_EXIT_USAGE;
	}
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
	switch (args_parse_n(&a, c->opts, argc - skip, argv + skip, false,
			     c->max_args > ARGS_MAX_POS ? c->max_args : ARGS_MAX_POS, err,
			     sizeof(err))) {
	case ARGS_HELP:
		command_help(c, stdout);
		return VRCLI_EXIT_OK;
	case ARGS_ERROR: {
		bool hinted = false;

		fprintf(stderr, "vrcli: %s%s%s: %s\n", c->name, c->sub ? " " : "",
			c->sub ? c->sub : "", err);
		for (int i = skip; i < argc; i++)
			if (strstr(err, "unknown option") && global_misplaced(argv[i])) {
				fprintf(stderr, "vrcli: %s is a global option: put it before the "
						"command\n",
					argv[i]);
				hinted = true;
				break;
			}
		/* an ID may start with "--" too: say how to pass one */
		if (!hinted && c->max_args > 0 && strstr(err, "unknown option '--"))
			fputs("vrcli: an argument that starts with '-' goes after '--', e.g. "
			      "'vrcli quarantine show -- --ID'\n",
			      stderr);
		print_usage_line(c, stderr);
		return VRCLI_EXIT_USAGE;
	}
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

/* vrcli_next_cursor - follow next_cursor, refusing one that does not move */
enum vrcli_exit vrcli_next_cursor(const json_t *body, char **cursor)
{
	const char *next = vrcli_jstr(body, "next_cursor");

	if (next && *cursor && strcmp(next, *cursor) == 0) {
		fputs("vrcli: the server repeated a cursor; stopping\n", stderr);
		return VRCLI_EXIT_OTHER;
	}
	free(*cursor);
	*cursor = next ? strdup(next) : NULL;
	if (next && *cursor == NULL)
		abort();
	return VRCLI_EXIT_OK;
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

/* vrcli_print_object - O's members, in the API's order, as a "key:" value table on stdout */
void vrcli_print_object(const json_t *o)
{
	struct table *t = table_new(2, NULL);
	const char *key;
	const json_t *val;

	json_object_foreach((json_t *)o, key, val) {
		char *label, *text = kv_text(val);

		if (asprintf(&label, "%s:", key) < 0)
			abort();
		table_add(t, (const char *[]){label, text});
		free(label);
		free(text);
	}
	table_print(t, stdout);
	table_free(t);
}

/* vrcli_item_path - "COLLECTION/ID" with ID percent-encoded; free() it */
char *vrcli_item_path(const char *collection, const char *id)
{
	char *enc = http_escape(id), *path;

	if (asprintf(&path, "%s/%s", collection, enc) < 0)
		abort();
	free(enc);
	return path;
}

/* vrcli_show - METHOD PATH with BODY (or NULL); the reply object shown (or its JSON) */
enum vrcli_exit vrcli_show(struct vrcli *v, const char *method, const char *path,
			   const json_t *body)
{
	struct http_reply r;
	enum vrcli_exit rc;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	rc = http_call(v->http, method, path, body, &r);
	if (rc == VRCLI_EXIT_OK && !json_is_object(r.body)) {
		fprintf(stderr, "vrcli: the server's reply to %s %s is not a JSON object\n",
			method, path);
		rc = VRCLI_EXIT_OTHER;
	} else if (rc == VRCLI_EXIT_OK) {
		if (v->json)
			vrcli_print_json(r.body);
		else
			vrcli_print_object(r.body);
	}
	http_reply_free(&r);
	return rc;
}

/* vrcli_list - GET PATH; *items is its items array, borrowed from *r (free *r after) */
enum vrcli_exit vrcli_list(struct vrcli *v, const char *path, struct http_reply *r,
			   const json_t **items)
{
	enum vrcli_exit rc;

	memset(r, 0, sizeof(*r));
	*items = NULL;
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	rc = http_call(v->http, "GET", path, NULL, r);
	if (rc != VRCLI_EXIT_OK)
		return rc;
	*items = json_object_get(r->body, "items");
	if (!json_is_array(*items)) {
		fprintf(stderr, "vrcli: the server's reply to GET %s has no items array\n", path);
		return VRCLI_EXIT_OTHER;
	}
	return VRCLI_EXIT_OK;
}

/* vrcli_remove - DELETE COLLECTION/ID; "Removed WHAT ID." unless --json */
enum vrcli_exit vrcli_remove(struct vrcli *v, const char *collection, const char *id,
			     const char *what)
{
	struct http_reply r;
	enum vrcli_exit rc;
	char *path;

	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	path = vrcli_item_path(collection, id);
	rc = http_call(v->http, "DELETE", path, NULL, &r);
	free(path);
	/* 204 has no body: --json prints nothing, the exit code says it all */
	if (rc == VRCLI_EXIT_OK && !v->json)
		printf("Removed %s %s.\n", what, id);
	http_reply_free(&r);
	return rc;
}

/* finish_file - complete the download in TMP (FP) as FILE; false (printed) on failure */
static bool finish_file(FILE *fp, const char *tmp, const char *file)
{
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		fprintf(stderr, "vrcli: cannot write %s: %m\n", tmp);
		fclose(fp);
		unlink(tmp);
		return false;
	}
	if (fclose(fp) != 0) {
		fprintf(stderr, "vrcli: cannot write %s: %m\n", tmp);
		unlink(tmp);
		return false;
	}
	if (rename(tmp, file) != 0) {
		fprintf(stderr, "vrcli: cannot rename %s to %s: %m\n", tmp, file);
		unlink(tmp);
		return false;
	}
	return true;
}

/* vrcli_download - GET PATH (a body of type ACCEPT) to A's -o/--output FILE or stdout */
enum vrcli_exit vrcli_download(struct vrcli *v, const struct args *a, const char *cmd,
			       const char *path, const char *accept, const char *what,
			       const char *raw_what, const char **file, long long *bytes)
{
	const char *out = args_get(a, "output") ? args_get(a, "output") : args_get(a, "o");
	struct http_reply r = {0};
	char *tmp = NULL;
	enum vrcli_exit rc;
	FILE *fp = stdout;

	*file = NULL;
	*bytes = 0;
	if (args_has(a, "output") && args_has(a, "o"))
		return vrcli_usage_error("%s: give -o or --output, not both", cmd);
	if (out && *out == '\0')
		return vrcli_usage_error("%s: -o needs a file name", cmd);
	if (out && strcmp(out, "-") == 0)
		out = NULL;
	if (out == NULL && v->json)
		return vrcli_usage_error("%s: %s is not JSON; with --json, write it to a file "
					 "with -o FILE",
					 cmd, what);
	if (out == NULL && isatty(STDOUT_FILENO))
		return vrcli_usage_error("%s: not writing %s to a terminal; use -o FILE or a pipe",
					 cmd, raw_what);
	if ((rc = vrcli_need_token(v)) != VRCLI_EXIT_OK)
		return rc;
	if (out) {
		int fd;

		if (asprintf(&tmp, "%s.XXXXXX", out) < 0)
			abort();
		if ((fd = mkstemp(tmp)) < 0 || (fp = fdopen(fd, "wb")) == NULL) {
			fprintf(stderr, "vrcli: cannot create a file next to %s: %m\n", out);
			if (fd >= 0) {
				close(fd);
				unlink(tmp);
			}
			free(tmp);
			return VRCLI_EXIT_OTHER;
		}
	}
	rc = http_download(v->http, path, accept, fp, bytes, &r);
	if (out && rc != VRCLI_EXIT_OK) {
		fclose(fp);
		unlink(tmp);
	} else if (out && !finish_file(fp, tmp, out)) {
		rc = VRCLI_EXIT_OTHER;
	} else if (out) {
		*file = out;
	}
	free(tmp);
	http_reply_free(&r);
	return rc;
}

/* vrcli_check_choice - OPTION's value S is one of CHOICES (NULL-terminated), else a usage
 * error naming them */
enum vrcli_exit vrcli_check_choice(const char *option, const char *s,
				   const char *const *choices)
{
	char list[256] = "";
	size_t n = 0;

	for (const char *const *c = choices; *c; c++) {
		if (strcmp(*c, s) == 0)
			return VRCLI_EXIT_OK;
		n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s",
				      c == choices ? "" : c[1] ? ", " : " or ", *c);
		if (n >= sizeof(list))
			n = sizeof(list) - 1;
	}
	return vrcli_usage_error("%s must be %s, not '%s'", option, list, s);
}

/* vrcli_pages - the pages of a listing, PATH(A, cursor) each, into ITEMS */
enum vrcli_exit vrcli_pages(struct vrcli *v, vrcli_page_path path, const struct args *a,
			    bool all, json_t *items, json_t **first, char **more)
{
	char *cursor = NULL;
	enum vrcli_exit rc;

	if (first)
		*first = NULL;
	*more = NULL;
	for (;;) {
		char *p = path(a, cursor);
		struct http_reply r;
		const json_t *page;

		rc = vrcli_list(v, p, &r, &page);
		free(p);
		if (rc != VRCLI_EXIT_OK) {
			http_reply_free(&r);
			break;
		}
		json_array_extend(items, (json_t *)page);
		if (first && *first == NULL)
			*first = json_incref(r.body);
		rc = vrcli_next_cursor(r.body, &cursor);
		http_reply_free(&r);
		if (rc != VRCLI_EXIT_OK)
			break;
		if (cursor == NULL || !all)
			break;
	}
	if (rc == VRCLI_EXIT_OK) {
		*more = cursor;
		return rc;
	}
	free(cursor);
	if (first) {
		json_decref(*first);
		*first = NULL;
	}
	return rc;
}
