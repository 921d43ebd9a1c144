/* agent.h - vr-agent's settings and its run loop (loop.c), shared with main.c.
 *
 * struct agent_conf is filled once by main() from the schema table (flags, VR_AGENT_*
 * environment, config file) and read-only afterwards. struct agent is the loop's state:
 * the version running in Postfix, the last failure, the apid client; with the milter on,
 * each snapshot applied also hands its filter policy to the milter (milter.h), and the
 * loop sends again the tracking reports the milter left in the outbox.
 */
#ifndef VR_AGENT_AGENT_H
#define VR_AGENT_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "apid_client.h"
#include "outbox.h"
#include "postfix_apply.h"
#include "vrtime.h"

struct agent_conf {
	char *api_url;
	char *token_file;
	char *name;
	char *config_dir;
	char *queue_dir;
	char *data_dir;
	char *command_dir;
	char *maillog_file;
	char *milter_socket;
	char *milter_socket_group;
	char *clamd;
	char *rspamd_url;
	int64_t clamd_stream_max;
	char *ca_file;
	char *snapshot_file;
	char *state_dir;
	char *log_level;
	int64_t poll_interval;
	int dns;
	int once;
};

struct agent {
	const struct agent_conf *conf;
	struct pf_instance pf;
	char staging_dir[4096];
	struct apid_client *api; /* NULL without api-url */
	int64_t applied;         /* version running in Postfix (0: none known) */
	int64_t flush_generation; /* verify_cache.flush_generation of that version, -1: unknown */
	bool has_failed;         /* the last apply failed: */
	int64_t failed;          /* its version (0: unreadable) */
	time_t failed_at;        /* and when */
	char last_error[4096]; /* "" when the last apply succeeded */
	char started_at[VR_TIME_LEN];
	volatile sig_atomic_t *stop;
	bool milter;             /* the milter runs: snapshots carry its filter policy */
	struct outbox *outbox;   /* tracking reports the milter could not post (NULL: none) */
};

/* agent_load_state - the applied version and its flush generation from the state dir */
void agent_load_state(struct agent *a);
/* agent_apply_text - parse, render, apply and record one snapshot; 0, or -1 with the
 * reason in a->last_error (and STATE/last-error) */
int agent_apply_text(struct agent *a, const char *text, size_t len);
/* agent_heartbeat - tell apid how this node is (no-op without api-url) */
void agent_heartbeat(struct agent *a);
/* agent_once - apply one snapshot (file or apid) and report; the exit status */
int agent_once(struct agent *a);
/* agent_run - poll, apply, heartbeat until *a->stop; the exit status */
int agent_run(struct agent *a);

#endif
