/* main.c - vr-agent: keeps the node's private Postfix configured from apid's snapshot.
 *
 * Settings: one schema table (flags --NAME, environment VR_AGENT_NAME, file --config), read
 * once; see `vr-agent --help`. Modes:
 *   vr-agent --api-url URL --token-file F ...     poll apid, apply, heartbeat (loop.c)
 *   vr-agent --once [--snapshot-file F] ...       apply one snapshot and exit (0: applied)
 *   vr-agent --snapshot-file F ...                re-read F every poll-interval
 * Unless --once, with milter-socket set the agent also runs the mail filter (milter.h):
 * libmilter's accept loop in a thread of its own, one thread per Postfix connection; the
 * main thread runs the loop and takes the signals (the milter's threads block them).
 * SIGTERM/SIGINT stop the loop, then the milter (no new connection; the messages in flight
 * get up to STOP_GRACE seconds). Postfix is never stopped by the agent: while no milter
 * answers, Postfix defers mail (milter_default_action = tempfail), nothing is lost.
 * Exit status: 0 done, 1 the snapshot could not be applied, 2 bad settings.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "atomic_file.h"
#include "conf.h"
#include "log.h"
#include "milter.h"
#include "outbox.h"
#include "randid.h"
#include "state.h"

#define STOP_GRACE 10 /* seconds the milter's sessions get to finish at stop */

#define OFF(f) offsetof(struct agent_conf, f)

static const struct vr_conf_item items[] = {
	{"api-url", VR_CONF_STR, NULL, 0, 0, OFF(api_url),
	 "base URL of apid (http://127.0.0.1:8080); empty: no apid (snapshot-file)", 0},
	{"token-file", VR_CONF_STR, "/etc/vrgate/agent-token", 0, 0, OFF(token_file),
	 "file holding the agent's API token (mode 0600)", 0},
	{"name", VR_CONF_STR, NULL, 0, 0, OFF(name),
	 "this node's name in heartbeats (default: the host name)", 0},
	{"postfix-config-dir", VR_CONF_STR, "/etc/vrgate/postfix", 0, 0, OFF(config_dir),
	 "config_directory of the private Postfix instance", 0},
	{"postfix-queue-dir", VR_CONF_STR, "/var/spool/vrgate/postfix", 0, 0, OFF(queue_dir),
	 "its queue_directory", 0},
	{"postfix-data-dir", VR_CONF_STR, "/var/lib/vrgate/postfix", 0, 0, OFF(data_dir),
	 "its data_directory (holds the address verification cache verify_cache.db)", 0},
	{"postfix-command-dir", VR_CONF_STR, "/usr/sbin", 0, 0, OFF(command_dir),
	 "where the postfix and postmap commands are", 0},
	{"maillog-file", VR_CONF_STR, "/var/log/vrgate/postfix.log", 0, 0, OFF(maillog_file),
	 "Postfix's maillog_file", 0},
	{"milter-socket", VR_CONF_STR, "/run/vrgate/milter.sock", 0, 0, OFF(milter_socket),
	 "unix socket of the filter for the inbound and outbound listeners; empty: no milter", 0},
	{"milter-socket-group", VR_CONF_STR, "postfix", 0, 0, OFF(milter_socket_group),
	 "group given the milter socket (mode 0660); empty: mode 0666", 0},
	{"clamd", VR_CONF_STR, "/run/clamav/clamd.ctl", 0, 0, OFF(clamd),
	 "clamd's unix socket path, or host:port", 0},
	{"clamd-stream-max", VR_CONF_INT, "26214400", 1024, 4294967295LL, OFF(clamd_stream_max),
	 "clamd's StreamMaxLength in bytes (larger messages cannot be scanned: deferred)", 0},
	{"rspamd-url", VR_CONF_STR, "http://127.0.0.1:11333", 0, 0, OFF(rspamd_url),
	 "base URL of rspamd's normal worker (POST /checkv2)", 0},
	{"dns", VR_CONF_BOOL, "true", 0, 0, OFF(dns),
	 "let Postfix use DNS (MX lookups in outbound mode mx); false on isolated test hosts", 0},
	{"poll-interval", VR_CONF_INT, "25", 1, 3600, OFF(poll_interval),
	 "seconds: long-poll wait (at most 30) and heartbeat period", 0},
	{"ca-file", VR_CONF_STR, NULL, 0, 0, OFF(ca_file),
	 "CA bundle to verify apid's HTTPS certificate (default: the system's)", 0},
	{"once", VR_CONF_BOOL, "false", 0, 0, OFF(once), "apply one snapshot and exit", 0},
	{"snapshot-file", VR_CONF_STR, NULL, 0, 0, OFF(snapshot_file),
	 "read the snapshot from this file instead of apid (tests, first boot)", 0},
	{"state-dir", VR_CONF_STR, "/var/lib/vrgate/agent", 0, 0, OFF(state_dir),
	 "keeps the last applied snapshot, its version and the last error", 0},
	{"log-level", VR_CONF_STR, "info", 0, 0, OFF(log_level), "debug, info, warn or err", 0},
};

static const struct vr_conf_schema schema = {
	"vr-agent", "VR_AGENT_", items, sizeof(items) / sizeof(items[0]),
};

static volatile sig_atomic_t stop_flag;

/* on_signal - ask the loop to stop */
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* read_token - the token file's first line; NULL with a message when unusable */
static char *read_token(const char *path, char *err, size_t errsz)
{
	struct stat st;
	char *text;
	size_t n;

	if (stat(path, &st) < 0 || (text = vr_read_file(path, 4096, &n)) == NULL) {
		snprintf(err, errsz, "token-file: cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (st.st_mode & 077) {
		snprintf(err, errsz, "token-file: %s is readable by others (mode %03o): chmod 600",
			 path, (unsigned)(st.st_mode & 0777));
		free(text);
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (text[0] == '\0') {
		snprintf(err, errsz, "token-file: %s is empty", path);
		free(text);
		return NULL;
	}
	return text;
}

/* check_conf - combinations the schema table cannot express */
static int check_conf(struct agent_conf *c, char *err, size_t errsz)
{
	bool file = c->snapshot_file && *c->snapshot_file;
	bool api = c->api_url && *c->api_url;

	if (!file && !api) {
		snprintf(err, errsz, "set api-url (or snapshot-file)");
		return -1;
	}
	if (file && api && !c->once) {
		snprintf(err, errsz, "snapshot-file and api-url together only with --once");
		return -1;
	}
	if (!*c->config_dir || !*c->state_dir || !*c->command_dir) {
		snprintf(err, errsz, "postfix-config-dir, state-dir and postfix-command-dir "
				     "must not be empty");
		return -1;
	}
	if (!c->once && c->milter_socket && *c->milter_socket &&
	    (!c->clamd || !*c->clamd || !c->rspamd_url || !*c->rspamd_url)) {
		snprintf(err, errsz, "the milter needs clamd and rspamd-url");
		return -1;
	}
	if (!c->name || !*c->name) {
		char host[256] = "vr-agent";

		gethostname(host, sizeof(host) - 1);
		free(c->name);
		c->name = strdup(host);
		VR_CHECK_ALLOC(c->name);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct agent_conf conf = {0};
	struct agent a = {0};
	struct apid_opts api_opts = {0};
	struct milter_conf mc;
	char spool[4200];
	struct sigaction sa = {0};
	enum vr_log_level level;
	char err[1024], *token = NULL;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("vr-agent %s\n", VR_VERSION);
		return 0;
	}
	rc = vr_conf_load(&schema, &conf, argc, argv, stdout, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "vr-agent: %s\n", err);
		vr_conf_free(&schema, &conf);
		return rc > 0 ? 0 : 2;
	}
	if (vr_log_parse_level(conf.log_level, &level) < 0) {
		fprintf(stderr, "vr-agent: log-level: '%s' is not debug, info, warn or err\n",
			conf.log_level);
		vr_conf_free(&schema, &conf);
		return 2;
	}
	vr_log_set_level(level);
	if (check_conf(&conf, err, sizeof(err)) < 0 || state_init(conf.state_dir) < 0) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "state-dir: cannot create %s: %s",
				 conf.state_dir, strerror(errno));
		fprintf(stderr, "vr-agent: %s\n", err);
		vr_conf_free(&schema, &conf);
		return 2;
	}
	err[0] = '\0';

	a.conf = &conf;
	a.stop = &stop_flag;
	a.milter = !conf.once && conf.milter_socket && *conf.milter_socket;
	snprintf(a.staging_dir, sizeof(a.staging_dir), "%s/postfix-staging", conf.state_dir);
	a.pf.config_dir = conf.config_dir;
	a.pf.staging_dir = a.staging_dir;
	a.pf.command_dir = conf.command_dir;
	a.pf.queue_dir = conf.queue_dir;
	a.pf.data_dir = conf.data_dir;
	agent_load_state(&a);
	vr_time_format(vr_now(), a.started_at);

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	vr_crypto_init();
	if (conf.api_url && *conf.api_url) {
		token = read_token(conf.token_file, err, sizeof(err));
		if (token == NULL) {
			fprintf(stderr, "vr-agent: %s\n", err);
			rc = 2;
			goto out;
		}
		api_opts.url = conf.api_url;
		api_opts.token = token;
		api_opts.ca_file = conf.ca_file;
		api_opts.stop = &stop_flag;
		a.api = apid_new(&api_opts);
		if (a.api == NULL) {
			fprintf(stderr, "vr-agent: libcurl cannot start\n");
			rc = 2;
			goto out;
		}
	}
	if (a.milter) {
		mc = (struct milter_conf){
			.socket = conf.milter_socket,
			.socket_group = conf.milter_socket_group,
			.clamd = conf.clamd,
			.clamd_stream_max = (size_t)conf.clamd_stream_max,
			.rspamd_url = conf.rspamd_url,
			.spool_dir = spool,
			.agent_name = conf.name,
			.api = a.api ? &api_opts : NULL,
			.stop = &stop_flag,
		};
		snprintf(spool, sizeof(spool), "%s/spool", conf.state_dir);
		a.outbox = mc.outbox = outbox_new();
		if (milter_start(&mc, err, sizeof(err)) < 0) {
			fprintf(stderr, "vr-agent: %s\n", err);
			rc = 2;
			goto out;
		}
		rc = agent_run(&a);
		if (!milter_stop(STOP_GRACE)) {
			/* sessions still use the settings, the outbox, the token: leave as is;
			 * Postfix defers what they had not finished */
			fflush(NULL);
			_exit(rc);
		}
		goto out;
	}
	/* failures are logged where they happen (stderr) */
	rc = conf.once ? agent_once(&a) : agent_run(&a);
out:
	milter_stop(0); /* after a failed start: releases the policy agent_load_state gave */
	if (a.outbox && outbox_count(a.outbox) > 0)
		VR_LOG_WARN("%zu tracking reports not sent", outbox_count(a.outbox));
	outbox_free(a.outbox);
	apid_free(a.api);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	curl_global_cleanup();
	vr_conf_free(&schema, &conf);
	return rc;
}
