/*
 * vrcli.h - what main.c, the command table and the command handlers share.
 *
 * Owns: struct vrcli, the state of one run (global options, the resolved URL and token,
 * the loaded config file, the HTTP client); the handler signature; and the helpers every
 * handler uses (implemented in commands.c): requiring a URL or a token, usage errors,
 * printing JSON, reading JSON members, the show/list/remove calls that the admin
 * commands (policy, domains, networks, directories, users, lists) share, the paging
 * of listings (messages, quarantine), and the download of a non-JSON body to a file or a
 * pipe (a held message, the lists' CSV).
 *
 * Ownership: main() owns struct vrcli and everything in it; handlers borrow it. Strings
 * returned by vrcli_jstr() are borrowed from the json_t they were read from.
 */
#ifndef VRCLI_VRCLI_H
#define VRCLI_VRCLI_H

#include <stdbool.h>

#include <jansson.h>

#include "args.h"
#include "config.h"
#include "errmap.h"
#include "http.h"

#ifndef VRCLI_VERSION
#define VRCLI_VERSION "0.1.0"
#endif

struct vrcli {
	bool json;		   /* --json: API JSON on stdout, nothing else */
	struct config_choice where; /* effective URL and token, with their sources */
	char *config_path;	   /* NULL when neither XDG_CONFIG_HOME nor HOME is set */
	struct config cfg;	   /* the config file as loaded */
	struct http_opts http_opts;
	struct http_client *http; /* created by vrcli_need_url() */
};

/* A command handler: the parsed options and positional arguments of its command. */
typedef enum vrcli_exit (*vrcli_handler)(struct vrcli *v, const struct args *a);

/* The global options (before the command), shared by main.c and the help text. */
extern const struct args_opt vrcli_global_opts[];

/* commands_run - run the command in ARGV (argv[0] is its name) */
enum vrcli_exit commands_run(struct vrcli *v, int argc, char **argv);

/* commands_help - the full help text on F */
void commands_help(FILE *f);

/* vrcli_need_url - make sure a usable URL is set and the HTTP client exists */
enum vrcli_exit vrcli_need_url(struct vrcli *v);

/* vrcli_need_token - vrcli_need_url(), and make sure there is a credential */
enum vrcli_exit vrcli_need_token(struct vrcli *v);

/* vrcli_usage_error - print "vrcli: MESSAGE" on stderr; returns VRCLI_EXIT_USAGE */
enum vrcli_exit vrcli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* vrcli_print_json - J on stdout, indented, members in the API's order */
void vrcli_print_json(const json_t *j);

/* vrcli_next_cursor - move *CURSOR (malloc'd, or NULL) to BODY's next_cursor (NULL at the
 * end); VRCLI_EXIT_OTHER, with a message, when the server repeats the cursor it was given
 * (a server bug would otherwise make --all loop forever) */
enum vrcli_exit vrcli_next_cursor(const json_t *body, char **cursor);
/* vrcli_jstr - the string member KEY of O, or NULL */
const char *vrcli_jstr(const json_t *o, const char *key);

/* vrcli_or - S, or DFLT when S is NULL */
const char *vrcli_or(const char *s, const char *dflt);

/* vrcli_parse_long - OPTION's value S as an integer in [MIN, MAX], else a usage error */
enum vrcli_exit vrcli_parse_long(const char *option, const char *s, long min, long max,
				 long *out);

/* vrcli_print_object - O's members, in the API's order, as a "key:" value table on stdout */
void vrcli_print_object(const json_t *o);

/* vrcli_item_path - "COLLECTION/ID" with ID percent-encoded; free() it */
char *vrcli_item_path(const char *collection, const char *id);

/* vrcli_show - METHOD PATH with BODY (or NULL); the reply object shown (or its JSON) */
enum vrcli_exit vrcli_show(struct vrcli *v, const char *method, const char *path,
			   const json_t *body);

/* vrcli_list - GET PATH; *items is its items array, borrowed from *r (free *r after) */
enum vrcli_exit vrcli_list(struct vrcli *v, const char *path, struct http_reply *r,
			   const json_t **items);

/* vrcli_remove - DELETE COLLECTION/ID; "Removed WHAT ID." unless --json */
enum vrcli_exit vrcli_remove(struct vrcli *v, const char *collection, const char *id,
			     const char *what);

/* vrcli_download - GET PATH, a body of type ACCEPT, to the -o/--output FILE of A (written
 * to a temporary file renamed over FILE once complete, so that a failed download never
 * leaves a partial FILE) or, without it or with "-", to stdout: never to a terminal, where
 * hostile bytes could drive it, nor with --json. CMD names the command in errors, WHAT
 * the body ("the message") and RAW_WHAT the body on a terminal ("a raw message"). *file
 * is FILE (borrowed from A) once written, NULL for stdout; *bytes counts what was written.
 * Errors are printed; usage errors exit 2. */
enum vrcli_exit vrcli_download(struct vrcli *v, const struct args *a, const char *cmd,
			       const char *path, const char *accept, const char *what,
			       const char *raw_what, const char **file, long long *bytes);

/* vrcli_check_choice - OPTION's value S is one of CHOICES (NULL-terminated), else a usage
 * error naming them */
enum vrcli_exit vrcli_check_choice(const char *option, const char *s,
				   const char *const *choices);

/* The request path of a listing's page: A's filters, and CURSOR unless NULL; free() it. */
typedef char *(*vrcli_page_path)(const struct args *a, const char *cursor);

/* vrcli_pages - GET PATH(A, cursor) page after page: each page's items appended to ITEMS,
 * following next_cursor to the end with ALL (stopping at a cursor that does not move);
 * *first (unless FIRST is NULL) the first page's body (a reference: json_decref() it);
 * *more the next_cursor left unfollowed (free() it), NULL when there is nothing more */
enum vrcli_exit vrcli_pages(struct vrcli *v, vrcli_page_path path, const struct args *a,
			    bool all, json_t *items, json_t **first, char **more);

/* vrcli_days_from_now - RFC 3339 UTC time DAYS days from now, into BUF (>= 21 bytes) */
void vrcli_days_from_now(long days, char *buf, size_t len);

/* Handlers, one file per API area. */
enum vrcli_exit cmd_login(struct vrcli *v, const struct args *a);	/* cmd_session.c */
enum vrcli_exit cmd_logout(struct vrcli *v, const struct args *a);	/* cmd_session.c */
enum vrcli_exit cmd_whoami(struct vrcli *v, const struct args *a);	/* cmd_session.c */
enum vrcli_exit cmd_health(struct vrcli *v, const struct args *a);	/* cmd_health.c */
enum vrcli_exit cmd_tokens_create(struct vrcli *v, const struct args *a); /* cmd_tokens.c */
enum vrcli_exit cmd_tokens_list(struct vrcli *v, const struct args *a);	  /* cmd_tokens.c */
enum vrcli_exit cmd_tokens_revoke(struct vrcli *v, const struct args *a); /* cmd_tokens.c */
enum vrcli_exit cmd_audit(struct vrcli *v, const struct args *a);	/* cmd_audit.c */
enum vrcli_exit cmd_policy_show(struct vrcli *v, const struct args *a);	 /* cmd_policy.c */
enum vrcli_exit cmd_policy_set(struct vrcli *v, const struct args *a);	 /* cmd_policy.c */
enum vrcli_exit cmd_policy_flush(struct vrcli *v, const struct args *a); /* cmd_policy.c */
enum vrcli_exit cmd_domains_list(struct vrcli *v, const struct args *a); /* cmd_policy.c */
enum vrcli_exit cmd_domains_show(struct vrcli *v, const struct args *a); /* cmd_policy.c */
enum vrcli_exit cmd_domains_add(struct vrcli *v, const struct args *a);	 /* cmd_policy.c */
enum vrcli_exit cmd_domains_set(struct vrcli *v, const struct args *a);	 /* cmd_policy.c */
enum vrcli_exit cmd_domains_remove(struct vrcli *v, const struct args *a); /* cmd_policy.c */
enum vrcli_exit cmd_networks_list(struct vrcli *v, const struct args *a);  /* cmd_policy.c */
enum vrcli_exit cmd_networks_add(struct vrcli *v, const struct args *a);   /* cmd_policy.c */
enum vrcli_exit cmd_networks_remove(struct vrcli *v, const struct args *a); /* cmd_policy.c */
enum vrcli_exit cmd_agents(struct vrcli *v, const struct args *a);	    /* cmd_agents.c */
enum vrcli_exit cmd_dirs_list(struct vrcli *v, const struct args *a);	/* cmd_directories.c */
enum vrcli_exit cmd_dirs_show(struct vrcli *v, const struct args *a);	/* cmd_directories.c */
enum vrcli_exit cmd_dirs_add(struct vrcli *v, const struct args *a);	/* cmd_directories.c */
enum vrcli_exit cmd_dirs_set(struct vrcli *v, const struct args *a);	/* cmd_directories.c */
enum vrcli_exit cmd_dirs_remove(struct vrcli *v, const struct args *a); /* cmd_directories.c */
enum vrcli_exit cmd_dirs_test(struct vrcli *v, const struct args *a);	/* cmd_directories.c */
enum vrcli_exit cmd_users_list(struct vrcli *v, const struct args *a);	/* cmd_users.c */
enum vrcli_exit cmd_users_show(struct vrcli *v, const struct args *a);	/* cmd_users.c */
enum vrcli_exit cmd_users_set_role(struct vrcli *v, const struct args *a); /* cmd_users.c */
enum vrcli_exit cmd_agents_remove(struct vrcli *v, const struct args *a);  /* cmd_agents.c */
enum vrcli_exit cmd_filter_show(struct vrcli *v, const struct args *a);	   /* cmd_filter.c */
enum vrcli_exit cmd_filter_set(struct vrcli *v, const struct args *a);	   /* cmd_filter.c */
enum vrcli_exit cmd_domains_filter(struct vrcli *v, const struct args *a); /* cmd_filter.c */
enum vrcli_exit cmd_domains_set_filter(struct vrcli *v, const struct args *a); /* cmd_filter.c */
enum vrcli_exit cmd_prefs_show(struct vrcli *v, const struct args *a);	 /* cmd_filter.c */
enum vrcli_exit cmd_prefs_set(struct vrcli *v, const struct args *a);	 /* cmd_filter.c */
enum vrcli_exit cmd_digest(struct vrcli *v, const struct args *a);
enum vrcli_exit cmd_quarantine_purge(struct vrcli *v, const struct args *a); /* cmd_housekeeping.c */
enum vrcli_exit cmd_quarantine_check(struct vrcli *v, const struct args *a); /* cmd_housekeeping.c */	 /* cmd_digest.c */
enum vrcli_exit cmd_lists(struct vrcli *v, const struct args *a);	 /* cmd_lists.c */
enum vrcli_exit cmd_lists_add(struct vrcli *v, const struct args *a);	 /* cmd_lists.c */
enum vrcli_exit cmd_lists_remove(struct vrcli *v, const struct args *a); /* cmd_lists.c */
enum vrcli_exit cmd_lists_export(struct vrcli *v, const struct args *a); /* cmd_lists.c */
enum vrcli_exit cmd_lists_import(struct vrcli *v, const struct args *a); /* cmd_lists.c */
enum vrcli_exit cmd_messages(struct vrcli *v, const struct args *a);	 /* cmd_messages.c */
enum vrcli_exit cmd_stats(struct vrcli *v, const struct args *a);	 /* cmd_messages.c */
enum vrcli_exit cmd_quarantine_list(struct vrcli *v, const struct args *a); /* cmd_quarantine.c */
enum vrcli_exit cmd_quarantine_show(struct vrcli *v, const struct args *a); /* cmd_quarantine.c */
enum vrcli_exit cmd_quarantine_preview(struct vrcli *v, const struct args *a); /* ditto */
enum vrcli_exit cmd_quarantine_raw(struct vrcli *v, const struct args *a);  /* ditto */
enum vrcli_exit cmd_quarantine_release(struct vrcli *v, const struct args *a); /* ditto */
enum vrcli_exit cmd_quarantine_delete(struct vrcli *v, const struct args *a);  /* ditto */
enum vrcli_exit cmd_quarantine_release_allow(struct vrcli *v, const struct args *a); /* ditto */
enum vrcli_exit cmd_quarantine_delete_block(struct vrcli *v, const struct args *a);  /* ditto */
enum vrcli_exit cmd_quarantine_not_spam(struct vrcli *v, const struct args *a);	     /* ditto */
enum vrcli_exit cmd_quarantine_unsubscribe(struct vrcli *v, const struct args *a);   /* ditto */
enum vrcli_exit cmd_quarantine_bulk(struct vrcli *v, const struct args *a);	     /* ditto */

#endif
