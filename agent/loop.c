/* loop.c - vr-agent's work: apply a snapshot, and the poll / apply / heartbeat loop.
 *
 * The loop long-polls apid (If-None-Match: the version in force, ?wait=poll-interval up to
 * 30 s), applies a new version as soon as it arrives, and heartbeats after every poll and
 * right after an apply. A version that failed is not fetched again until a newer one
 * exists, except that it is retried every RETRY_FAILED seconds (the cause may have gone,
 * e.g. a port that was busy). When apid cannot be reached the agent backs off (1 s doubling
 * to 60 s) and leaves Postfix alone: mail keeps flowing with the configuration in force.
 * With snapshot-file instead of api-url, the file is read every poll-interval.
 *
 * With the milter on, a snapshot's "filter" section is part of what must be valid, and it
 * is handed to the milter as soon as the snapshot has rendered, before Postfix is reloaded:
 * list and preference changes reach the filter in milliseconds, whatever Postfix's reload
 * costs (the filter policy does not depend on Postfix's configuration). At start the
 * snapshot of the state directory (the one in force) gives the milter its first policy.
 * After each poll the tracking reports left in the outbox are sent again.
 */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "atomic_file.h"
#include "log.h"
#include "milter.h"
#include "render_postfix.h"
#include "snapshot.h"
#include "state.h"

#define RETRY_FAILED     300 /* seconds before a failed version is tried again */
#define BACKOFF_MAX      60
#define SNAPSHOT_LIMIT   (64u << 20)

/* set_error - remember (and persist) why the last apply failed */
static void set_error(struct agent *a, const char *prefix, const char *why)
{
	snprintf(a->last_error, sizeof(a->last_error), "%s%s", prefix, why);
	VR_LOG_ERR("%s", a->last_error);
	if (state_set_error(a->conf->state_dir, a->last_error) < 0)
		VR_LOG_WARN("cannot write %s/last-error: %s", a->conf->state_dir, strerror(errno));
}

/* file_version - the "version" member of a snapshot text, 0 when unreadable */
static int64_t file_version(const char *text, size_t len)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	int64_t v = 0;

	if (j && json_is_integer(json_object_get(j, "version")))
		v = json_integer_value(json_object_get(j, "version"));
	json_decref(j);
	return v;
}

/* load_filter - the "filter" section of a snapshot text, parsed into fp (free it with
 * filter_policy_free); 0, or -1 with the reason in err */
static int load_filter(const char *text, size_t len, struct filter_policy *fp, char *err,
		       size_t errsz)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	char why[1024];

	memset(fp, 0, sizeof(*fp));
	if (j == NULL) {
		snprintf(err, errsz, "not JSON: %s", je.text);
		return -1;
	}
	if (filter_policy_parse(json_object_get(j, "filter"), fp, why, sizeof(why)) != VR_OK) {
		snprintf(err, errsz, "filter.%s", why);
		filter_policy_free(fp);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* agent_load_state - what the state directory says is in force */
void agent_load_state(struct agent *a)
{
	char path[4096], *text;
	struct snapshot *s;
	char err[256];
	size_t len;

	a->applied = state_applied_version(a->conf->state_dir);
	a->flush_generation = -1;
	snprintf(path, sizeof(path), "%s/snapshot.json", a->conf->state_dir);
	if ((text = vr_read_file(path, SNAPSHOT_LIMIT, &len)) == NULL)
		return;
	if (snapshot_parse(text, len, &s, err, sizeof(err)) == VR_OK) {
		struct filter_policy fp;

		a->flush_generation = s->verify_flush_generation;
		if (a->milter && load_filter(text, len, &fp, err, sizeof(err)) == 0)
			milter_publish(&fp, s->message_size_limit, s->version);
		else if (a->milter) {
			VR_LOG_WARN("%s: %s (the milter waits for apid's snapshot)", path, err);
			a->applied = 0; /* so that the loop applies it again */
		}
		snapshot_free(s);
	}
	free(text);
}

/* mark_failed - remember that version (0: unreadable) could not be applied, and when */
static void mark_failed(struct agent *a, int64_t version)
{
	a->has_failed = true;
	a->failed = version;
	a->failed_at = time(NULL);
}

/* agent_apply_text - parse, render, apply, record */
int agent_apply_text(struct agent *a, const char *text, size_t len)
{
	const struct agent_conf *c = a->conf;
	struct pf_local local = {c->queue_dir, c->data_dir, c->maillog_file, c->milter_socket,
				 c->dns != 0};
	struct filter_policy fp = {0};
	struct pf_config cfg;
	struct snapshot *s;
	char err[4096];
	bool unchanged = false;
	enum vr_err e;

	if (snapshot_parse(text, len, &s, err, sizeof(err)) != VR_OK) {
		set_error(a, "invalid snapshot: ", err);
		mark_failed(a, file_version(text, len));
		return -1;
	}
	if (a->milter && load_filter(text, len, &fp, err, sizeof(err)) < 0) {
		set_error(a, "invalid snapshot: ", err);
		mark_failed(a, s->version);
		snapshot_free(s);
		return -1;
	}
	if (render_postfix(s, &local, &cfg, err, sizeof(err)) != VR_OK) {
		set_error(a, "cannot render the Postfix configuration: ", err);
		mark_failed(a, s->version);
		filter_policy_free(&fp);
		snapshot_free(s);
		return -1;
	}
	if (a->milter)
		milter_publish(&fp, s->message_size_limit, s->version);
	/* apid bumps flush_generation to make every node forget its verification results */
	e = pf_apply(&a->pf, &cfg, s,
		     a->flush_generation >= 0 && a->flush_generation != s->verify_flush_generation,
		     &unchanged, err, sizeof(err));
	pf_config_free(&cfg);
	if (e != VR_OK) {
		char prefix[96];

		snprintf(prefix, sizeof(prefix), "snapshot version %lld not applied: ",
			 (long long)s->version);
		set_error(a, prefix, err);
		mark_failed(a, s->version);
		snapshot_free(s);
		return -1;
	}
	a->applied = s->version;
	a->flush_generation = s->verify_flush_generation;
	a->has_failed = false;
	a->last_error[0] = '\0';
	if (state_save_good(c->state_dir, text, len, s->version) < 0)
		VR_LOG_WARN("cannot record the applied snapshot in %s: %s", c->state_dir,
			    strerror(errno));
	state_set_error(c->state_dir, NULL);
	if (unchanged)
		VR_LOG_INFO("snapshot version %lld applied: Postfix's files in %s unchanged, "
			    "Postfix left alone",
			    (long long)s->version, c->config_dir);
	else
		VR_LOG_INFO("snapshot version %lld applied to %s", (long long)s->version,
			    c->config_dir);
	snapshot_free(s);
	return 0;
}

/* agent_heartbeat - POST the node's state to apid */
void agent_heartbeat(struct agent *a)
{
	struct heartbeat hb = {
		.name = a->conf->name,
		.applied_version = a->applied,
		.last_error = a->last_error[0] ? a->last_error : NULL,
		.started_at = a->started_at,
	};
	char err[512];
	long status;

	if (a->api == NULL || *a->stop)
		return;
	hb.postfix = pf_state_name(pf_status(&a->pf));
	status = apid_heartbeat(a->api, &hb, err, sizeof(err));
	if (status < 200 || status > 299)
		VR_LOG_WARN("heartbeat not accepted: %s", err);
}

/* flush_outbox - send again the tracking reports the milter could not post (a few hundred
 * at a time, so that the loop keeps polling); stops at the first failure */
static void flush_outbox(struct agent *a)
{
	char err[512], *text;
	int sent = 0;

	if (a->outbox == NULL || a->api == NULL || outbox_count(a->outbox) == 0)
		return;
	while (sent < 200 && !*a->stop && (text = outbox_take(a->outbox)) != NULL) {
		long status = apid_post_report(a->api, text, err, sizeof(err));

		if (status >= 500 || status == 0 || status == 408 || status == 429) {
			outbox_push_front(a->outbox, text);
			VR_LOG_WARN("tracking reports still waiting (%zu): %s",
				    outbox_count(a->outbox), err);
			return;
		}
		if (status != 200 && status != 201)
			VR_LOG_ERR("tracking report refused, dropped: %s", err);
		free(text);
		sent++;
	}
	if (sent)
		VR_LOG_INFO("%d tracking reports sent from the outbox (%zu waiting)", sent,
			    outbox_count(a->outbox));
}

/* pause_for - sleep up to seconds, waking early when asked to stop */
static void pause_for(struct agent *a, int seconds)
{
	for (int i = 0; i < seconds * 5 && !*a->stop; i++) {
		struct timespec ts = {0, 200 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

/* wants - whether a fetched version should be applied now */
static bool wants(const struct agent *a, int64_t version)
{
	if (version != 0 && version == a->applied)
		return false;
	if (a->has_failed && version == a->failed && time(NULL) - a->failed_at < RETRY_FAILED)
		return false;
	return true;
}

/* agent_once - one snapshot, applied whatever its version, then one heartbeat */
int agent_once(struct agent *a)
{
	char err[512], *text = NULL;
	size_t len = 0;
	int rc;

	if (a->conf->snapshot_file && *a->conf->snapshot_file) {
		text = vr_read_file(a->conf->snapshot_file, SNAPSHOT_LIMIT, &len);
		if (text == NULL) {
			set_error(a, "cannot read the snapshot file: ", strerror(errno));
			return 1;
		}
	} else {
		long status = apid_get_snapshot(a->api, 0, 0, &text, &len, err, sizeof(err));

		if (status != 200) {
			VR_LOG_ERR("cannot fetch the snapshot from %s: %s", a->conf->api_url, err);
			return 1;
		}
	}
	rc = agent_apply_text(a, text, len) == 0 ? 0 : 1;
	free(text);
	agent_heartbeat(a);
	return rc;
}

/* run_file - the loop over a snapshot file: re-read it every poll-interval */
static int run_file(struct agent *a)
{
	VR_LOG_INFO("watching %s (version in force: %lld)", a->conf->snapshot_file,
		    (long long)a->applied);
	while (!*a->stop) {
		size_t len;
		char *text = vr_read_file(a->conf->snapshot_file, SNAPSHOT_LIMIT, &len);

		if (text == NULL) {
			VR_LOG_WARN("cannot read %s: %s", a->conf->snapshot_file, strerror(errno));
		} else if (wants(a, file_version(text, len))) {
			agent_apply_text(a, text, len);
		}
		free(text);
		agent_heartbeat(a);
		pause_for(a, (int)a->conf->poll_interval);
	}
	VR_LOG_INFO("stopping; Postfix keeps running");
	return 0;
}

/* agent_run - long-poll apid, apply, heartbeat, back off; until stopped */
int agent_run(struct agent *a)
{
	int wait = a->conf->poll_interval < 30 ? (int)a->conf->poll_interval : 30;
	int backoff = 0;
	bool reachable = true;

	if (a->api == NULL)
		return run_file(a);
	VR_LOG_INFO("polling %s (version in force: %lld)", a->conf->api_url,
		    (long long)a->applied);
	while (!*a->stop) {
		int64_t have = a->applied;
		time_t t0 = time(NULL);
		char err[512], *text = NULL;
		size_t len;
		long status;

		/* a version that failed lately: ask only for newer ones */
		if (a->has_failed && a->failed > have && time(NULL) - a->failed_at < RETRY_FAILED)
			have = a->failed;
		status = apid_get_snapshot(a->api, have, wait, &text, &len, err, sizeof(err));
		if (*a->stop) {
			free(text);
			break;
		}
		if (status == 200 || status == 304) {
			if (!reachable)
				VR_LOG_INFO("apid answers again");
			reachable = true;
			backoff = 0;
			if (status == 200 && wants(a, file_version(text, len))) {
				agent_apply_text(a, text, len);
			} else if (status == 200) {
				/* a version already in force, or one that failed lately (apid
				 * cannot hold the request when its version is unreadable) */
				pause_for(a, wait);
			} else if (time(NULL) - t0 < wait) {
				/* apid did not hold the request: do not spin */
				pause_for(a, wait - (int)(time(NULL) - t0));
			}
			free(text);
			agent_heartbeat(a);
			flush_outbox(a);
			continue;
		}
		free(text);
		if (reachable || status != 0)
			VR_LOG_WARN("snapshot request failed: %s (Postfix keeps its configuration)",
				    err);
		reachable = false;
		if (status != 0)
			agent_heartbeat(a);
		backoff = backoff == 0 ? 1 : backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
		pause_for(a, backoff);
	}
	VR_LOG_INFO("stopping; Postfix keeps running");
	return 0;
}
