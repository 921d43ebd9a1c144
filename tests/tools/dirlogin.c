/* dirlogin.c - a command-line front end to apid's directory module (apid/directory.h).
 *
 *   DIRLOGIN_BIND_PASSWORD=... DIRLOGIN_PASSWORD=... dirlogin --kind ad \
 *       --uri ldaps://127.0.0.2:636 --ca-file ca.crt --bind-dn DN --base-dn DC=corp,DC=test \
 *       --domain CORP --group admin=CN=vrgate-admins,... LOGIN
 *   dirlogin --test [profile options] [LOGIN]
 *   dirlogin --threads N [profile options] LOGIN
 *
 * Prints one JSON object on stdout: {result, why, dn, username, display_name, role,
 * addresses, ms} for a login, {ok, steps: [{name, ok, ms, detail}], ms} for --test,
 * {threads, results: [result...], ms} for N concurrent logins in one process (--threads).
 * Secrets come from the environment (DIRLOGIN_BIND_PASSWORD, DIRLOGIN_PASSWORD; without
 * the latter, the first line of stdin), never from argv. Exit status: 0 when the login
 * (or every test step) succeeded, 1 when not, 2 on a usage error.
 * Used by tests/integration/test_directory_login.py.
 */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory.h"
#include "log.h"

#define MAX_LIST 16

struct args {
	struct dir_profile p;
	const char *uris[MAX_LIST];
	const char *addr_attrs[MAX_LIST];
	struct dir_group_role groups[MAX_LIST];
	size_t naddr;
	bool test;
	int threads;
	const char *login;
	const char *password; /* for --threads */
};

/* usage - print the options and exit 2 */
static _Noreturn void usage(void)
{
	fputs("usage: dirlogin [--test] [--kind ad|openldap] --uri URI... [--no-starttls]\n"
	      "       [--ca-file FILE] [--no-verify] [--net-timeout-ms N] [--op-timeout-ms N]\n"
	      "       [--bind-dn DN] --base-dn DN [--filter TMPL] [--domain NETBIOS]\n"
	      "       [--address-attr A]... [--username-attr A] [--display-attr A]\n"
	      "       [--group ROLE=DN]... [--threads N] LOGIN\n"
	      "env: DIRLOGIN_BIND_PASSWORD; DIRLOGIN_PASSWORD (else the first line of stdin)\n",
	      stderr);
	exit(2);
}

/* now_ms - monotonic milliseconds */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* parse_args - argv into a; exits on a usage error */
static void parse_args(int argc, char **argv, struct args *a)
{
	enum {
		O_KIND = 256,
		O_URI,
		O_NOSTARTTLS,
		O_CA,
		O_NOVERIFY,
		O_NETMS,
		O_OPMS,
		O_BINDDN,
		O_BASE,
		O_FILTER,
		O_DOMAIN,
		O_ADDR,
		O_USERATTR,
		O_DISPATTR,
		O_GROUP,
		O_TEST,
		O_THREADS
	};
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, O_KIND},
	    {"uri", required_argument, NULL, O_URI},
	    {"no-starttls", no_argument, NULL, O_NOSTARTTLS},
	    {"ca-file", required_argument, NULL, O_CA},
	    {"no-verify", no_argument, NULL, O_NOVERIFY},
	    {"net-timeout-ms", required_argument, NULL, O_NETMS},
	    {"op-timeout-ms", required_argument, NULL, O_OPMS},
	    {"bind-dn", required_argument, NULL, O_BINDDN},
	    {"base-dn", required_argument, NULL, O_BASE},
	    {"filter", required_argument, NULL, O_FILTER},
	    {"domain", required_argument, NULL, O_DOMAIN},
	    {"address-attr", required_argument, NULL, O_ADDR},
	    {"username-attr", required_argument, NULL, O_USERATTR},
	    {"display-attr", required_argument, NULL, O_DISPATTR},
	    {"group", required_argument, NULL, O_GROUP},
	    {"test", no_argument, NULL, O_TEST},
	    {"threads", required_argument, NULL, O_THREADS},
	    {NULL, 0, NULL, 0},
	};
	struct dir_profile *p = &a->p;
	int o;

	memset(a, 0, sizeof(*a));
	dir_profile_defaults(p, DIR_KIND_AD);
	/* --kind first, so that later options override its presets */
	for (int i = 1; i < argc; i++) {
		const char *k = NULL;

		if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			k = argv[i + 1];
		else if (strncmp(argv[i], "--kind=", 7) == 0)
			k = argv[i] + 7;
		if (k != NULL)
			dir_profile_defaults(p, strcmp(k, "openldap") == 0 ? DIR_KIND_OPENLDAP
									   : DIR_KIND_AD);
	}
	p->name = "dirlogin";
	p->uris = a->uris;
	p->group_roles = a->groups;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_KIND:
			if (strcmp(optarg, "ad") != 0 && strcmp(optarg, "openldap") != 0)
				usage();
			break;
		case O_URI:
			if (p->nuris == MAX_LIST)
				usage();
			a->uris[p->nuris++] = optarg;
			break;
		case O_NOSTARTTLS:
			p->starttls = false;
			break;
		case O_CA:
			p->ca_file = optarg;
			break;
		case O_NOVERIFY:
			p->verify_cert = false;
			break;
		case O_NETMS:
			p->network_timeout_ms = atoi(optarg);
			break;
		case O_OPMS:
			p->op_timeout_ms = atoi(optarg);
			break;
		case O_BINDDN:
			p->bind_dn = optarg;
			break;
		case O_BASE:
			p->base_dn = optarg;
			break;
		case O_FILTER:
			p->user_filter = optarg;
			break;
		case O_DOMAIN:
			p->netbios_domain = optarg;
			break;
		case O_ADDR:
			if (a->naddr == MAX_LIST)
				usage();
			a->addr_attrs[a->naddr++] = optarg;
			p->address_attrs = a->addr_attrs;
			p->naddress_attrs = a->naddr;
			break;
		case O_USERATTR:
			p->username_attr = optarg;
			break;
		case O_DISPATTR:
			p->display_attr = optarg;
			break;
		case O_GROUP: {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || p->ngroup_roles == MAX_LIST)
				usage();
			*eq = '\0';
			a->groups[p->ngroup_roles].role = role_parse(optarg);
			a->groups[p->ngroup_roles].group_dn = eq + 1;
			if (a->groups[p->ngroup_roles].role == ROLE_NONE)
				usage();
			p->ngroup_roles++;
			break;
		}
		case O_TEST:
			a->test = true;
			break;
		case O_THREADS:
			a->threads = atoi(optarg);
			if (a->threads < 1 || a->threads > 64)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind < argc)
		a->login = argv[optind++];
	if (optind < argc || (a->login == NULL && !a->test))
		usage();
	p->bind_password = getenv("DIRLOGIN_BIND_PASSWORD");
}

/* read_password - DIRLOGIN_PASSWORD, else the first line of stdin (malloc'd) */
static char *read_password(void)
{
	const char *env = getenv("DIRLOGIN_PASSWORD");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (env != NULL) {
		line = strdup(env);
		VR_CHECK_ALLOC(line);
		return line;
	}
	n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		line = strdup("");
		VR_CHECK_ALLOC(line);
		return line;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* str_or_null - a JSON string, or null for NULL */
static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* print_json - dump o on stdout and free it */
static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	VR_CHECK_ALLOC(s);
	puts(s);
	free(s);
	json_decref(o);
}

/* run_test - dir_test as JSON */
static int run_test(const struct args *a)
{
	struct dir_step steps[8];
	double t0 = now_ms();
	size_t n = dir_test(&a->p, a->login, steps, 8);
	json_t *o = json_object(), *arr = json_array();
	bool ok = n > 0;

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, json_pack("{s:s, s:b, s:f, s:s}", "name", steps[i].name,
						     "ok", steps[i].ok, "ms", steps[i].ms, "detail",
						     steps[i].detail));
		ok = ok && steps[i].ok;
	}
	json_object_set_new(o, "ok", json_boolean(ok));
	json_object_set_new(o, "steps", arr);
	json_object_set_new(o, "ms", json_real(now_ms() - t0));
	print_json(o);
	return ok ? 0 : 1;
}

/* run_login - dir_authenticate as JSON */
static int run_login(const struct args *a)
{
	char why[512] = "", *pw = read_password();
	struct dir_user u = {0};
	double t0 = now_ms(), ms;
	enum dir_result r = dir_authenticate(&a->p, a->login, pw, &u, why, sizeof(why));
	json_t *o = json_object(), *addrs = json_array();

	ms = now_ms() - t0;
	free(pw);
	for (size_t i = 0; i < u.naddresses; i++)
		json_array_append_new(addrs, json_string(u.addresses[i]));
	json_object_set_new(o, "result", json_string(dir_result_name(r)));
	json_object_set_new(o, "why", json_string(why));
	json_object_set_new(o, "dn", str_or_null(u.dn));
	json_object_set_new(o, "username", str_or_null(u.username));
	json_object_set_new(o, "display_name", str_or_null(u.display_name));
	json_object_set_new(o, "role", r == DIR_OK ? json_string(role_name(u.role)) : json_null());
	json_object_set_new(o, "primary_address", str_or_null(u.primary_address));
	json_object_set_new(o, "addresses", addrs);
	json_object_set_new(o, "ms", json_real(ms));
	print_json(o);
	dir_user_clear(&u);
	return r == DIR_OK ? 0 : 1;
}

/* One login of --threads. */
struct job {
	const struct args *a;
	pthread_t thread;
	enum dir_result r;
};

/* job_run - one dir_authenticate of --threads */
static void *job_run(void *arg)
{
	struct job *j = arg;
	struct dir_user u;
	char why[512];

	j->r = dir_authenticate(&j->a->p, j->a->login, j->a->password, &u, why, sizeof(why));
	dir_user_clear(&u);
	return NULL;
}

/* run_threads - N concurrent logins in this process (the module's thread-safety) */
static int run_threads(struct args *a)
{
	struct job jobs[64];
	char *pw = read_password();
	json_t *o = json_object(), *arr = json_array();
	double t0 = now_ms();
	bool all_ok = true;

	a->password = pw;
	for (int i = 0; i < a->threads; i++) {
		jobs[i].a = a;
		if (pthread_create(&jobs[i].thread, NULL, job_run, &jobs[i]) != 0)
			VR_DIE("pthread_create failed");
	}
	for (int i = 0; i < a->threads; i++) {
		pthread_join(jobs[i].thread, NULL);
		json_array_append_new(arr, json_string(dir_result_name(jobs[i].r)));
		all_ok = all_ok && jobs[i].r == DIR_OK;
	}
	free(pw);
	json_object_set_new(o, "threads", json_integer(a->threads));
	json_object_set_new(o, "results", arr);
	json_object_set_new(o, "ms", json_real(now_ms() - t0));
	print_json(o);
	return all_ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct args a;

	/* a server closing the connection must not kill us (apid ignores SIGPIPE too) */
	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &a);
	if (a.test)
		return run_test(&a);
	return a.threads > 0 ? run_threads(&a) : run_login(&a);
}
