/* routes_messages.c - what the filter reports: POST /api/v1/agent/quarantine (a copy
 * to hold), POST /api/v1/agent/messages (tracking), GET /api/v1/messages, GET
 * /api/v1/stats.
 *
 * A quarantined copy is on disk before its index row exists and both before the agent
 * hears 201: the spool file is written temp + fsync + rename + directory fsync
 * (DATA-DIR/spool/XX/ID.eml, 0600), then the rows commit; if the commit fails the file
 * goes. The agent's ingest key makes a retry after a lost reply land on the same row.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "log.h"
#include "routes.h"
#include "vrtime.h"

#define MAX_RCPTS 1000

static const char *const directions[] = {"inbound", "outbound", NULL};
static const char *const q_categories[] = {"spam", "virus", "newsletter", "attachment",
					   "blocklist", NULL};

struct qmeta {
	const char *key, *queue_id, *direction, *client_ip, *helo, *sender, *from, *subject,
		*message_id, *virus, *category, *unsubscribe, *received_at_s;
	int64_t received_at;
	double score;
	json_t *symbols, *recipients;
	bool one_click;
};

#define Q(f) offsetof(struct qmeta, f)
static const struct jspec qmeta_spec[] = {
	{"key", JSPEC_STRING, true, 8, 200, NULL, Q(key)},
	{"queue_id", JSPEC_STRING, false, 0, 64, NULL, Q(queue_id)},
	{"direction", JSPEC_ENUM, true, 0, 0, directions, Q(direction)},
	{"client_ip", JSPEC_STRING, false, 0, 64, NULL, Q(client_ip)},
	{"helo", JSPEC_STRING, false, 0, 255, NULL, Q(helo)},
	{"sender", JSPEC_STRING, false, 0, 320, NULL, Q(sender)},
	{"from", JSPEC_STRING, false, 0, 320, NULL, Q(from)},
	{"subject", JSPEC_STRING, false, 0, 2000, NULL, Q(subject)},
	{"message_id", JSPEC_STRING, false, 0, 998, NULL, Q(message_id)},
	{"virus", JSPEC_STRING, false, 0, 200, NULL, Q(virus)},
	{"category", JSPEC_ENUM, true, 0, 0, q_categories, Q(category)},
	{"unsubscribe", JSPEC_STRING, false, 0, 2000, NULL, Q(unsubscribe)},
	{"received_at", JSPEC_TIME, false, 0, 0, NULL, Q(received_at)},
	{"score", JSPEC_NUMBER, false, -10000, 10000, NULL, Q(score)},
	{"symbols", JSPEC_ARRAY, false, 0, 500, NULL, Q(symbols)},
	{"recipients", JSPEC_ARRAY, true, 1, MAX_RCPTS, NULL, Q(recipients)},
	{"one_click", JSPEC_BOOL, false, 0, 0, NULL, Q(one_click)},
};
#define NQMETA (sizeof(qmeta_spec) / sizeof(qmeta_spec[0]))

/* is_address - a plausible envelope address (no controls, one '@', bounded) */
static bool is_address(const char *s)
{
	const char *at = s ? strrchr(s, '@') : NULL;

	if (at == NULL || at == s || at[1] == '\0' || strlen(s) > 320)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '<' || *s == '>' || *s == '/')
			return false;
	return true;
}

/* spool_write - store data durably as DATA-DIR/spool/XX/ID.eml; the relative name goes
 * to name (64 bytes) */
static int spool_write(const char *data_dir, const char *id, const char *data, size_t len,
		       char name[64])
{
	char dir[4096], path[4200];

	snprintf(dir, sizeof(dir), "%s/spool", data_dir);
	if (mkdir(dir, 0700) == 0)
		vr_fsync_dir(dir);
	else if (errno != EEXIST)
		return -1;
	snprintf(name, 64, "%.2s/%s.eml", id, id);
	snprintf(dir, sizeof(dir), "%s/spool/%.2s", data_dir, id);
	if (mkdir(dir, 0700) == 0) {
		/* the new directory must itself survive a crash: sync its parent */
		char parent[4096];

		snprintf(parent, sizeof(parent), "%s/spool/x", data_dir);
		vr_fsync_dir(parent);
	} else if (errno != EEXIST) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/spool/%s", data_dir, name);
	return vr_atomic_write(path, data, len, 0600);
}

/* strings_only - is every item of arr a short string? */
static bool strings_only(json_t *arr)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v) if (!json_is_string(v) || json_string_length(v) > 200) return
		false;
	return true;
}

/* symbols_text - a JSON array of strings as compact text, or NULL */
static char *symbols_text(json_t *arr)
{
	return arr ? json_dumps(arr, JSON_COMPACT) : NULL;
}

struct qadd_tx {
	const struct db_quarantine *q;
	const char *const *rcpts;
	size_t n;
	char *existing;
};

/* qadd_tx - index one held copy in one transaction */
static enum vr_err qadd_tx(struct db *db, void *arg)
{
	struct qadd_tx *t = arg;

	return db_quarantine_add(db, t->q, t->rcpts, t->n, t->existing);
}

struct madd_tx {
	const struct db_msg *m;
	const struct db_msg_rcpt *r;
	size_t n;
	char *existing;
};

/* madd_tx - record one message and its recipients in one transaction */
static enum vr_err madd_tx(struct db *db, void *arg)
{
	struct madd_tx *t = arg;

	return db_messages_add(db, t->m, t->r, t->n, t->existing);
}

/* h_agent_quarantine - hold a copy of a message for some of its recipients */
enum vr_err h_agent_quarantine(struct req *r)
{
	const char *hdr = req_header(r, "X-VR-Metadata");
	struct qmeta in = {0};
	struct jspec_error jerr;
	unsigned char *raw, hash[crypto_hash_sha256_BYTES];
	char id[VR_ID_LEN], existing[VR_ID_LEN], name[64], hex[65], path[4200], *syms;
	const char *rcpts[MAX_RCPTS];
	size_t rawlen = 0, n = 0, i;
	uint32_t seen = 0;
	json_t *meta = NULL, *v;
	struct db *db;
	enum vr_err e;

	if (hdr == NULL || strlen(hdr) > 64 * 1024)
		return req_fail(r, VR_E_BAD_PARAMETER, "X-VR-Metadata",
				"send the metadata as base64url JSON in X-VR-Metadata");
	raw = malloc(strlen(hdr) + 1);
	VR_CHECK_ALLOC(raw);
	if (sodium_base642bin(raw, strlen(hdr), hdr, strlen(hdr), NULL, &rawlen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    jspec_load((const char *)raw, rawlen, &meta, &jerr) != VR_OK) {
		free(raw);
		return req_fail(r, VR_E_BAD_PARAMETER, "X-VR-Metadata",
				"must be base64url (no padding) of a JSON object");
	}
	free(raw);
	/* meta stays alive with the request so that the strings borrowed from it do */
	r->json = meta;
	if ((e = jspec_parse(meta, qmeta_spec, NQMETA, &in, &seen, &jerr)) != VR_OK)
		return req_fail(r, e, jerr.field, "%s", jerr.detail);
	if (in.symbols && !strings_only(in.symbols))
		return req_fail(r, VR_E_INVALID_FIELD, "symbols", "must be a list of symbol names");
	json_array_foreach(in.recipients, i, v)
	{
		if (!is_address(json_string_value(v)))
			return req_fail(r, VR_E_INVALID_FIELD, "recipients",
					"each recipient must be an address");
		rcpts[n++] = json_string_value(v);
	}
	if (r->body.len == 0)
		return req_fail(r, VR_E_BAD_PARAMETER, NULL, "the body must be the message");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	vr_random_id(id);
	if (spool_write(r->app->conf->data_dir, id, r->body.data, r->body.len, name) < 0)
		return req_fail(r, VR_E_UNAVAILABLE, NULL, "cannot store the message: %s",
				strerror(errno));
	crypto_hash_sha256(hash, (const unsigned char *)r->body.data, r->body.len);
	vr_hex(hash, sizeof(hash), hex);
	syms = symbols_text(in.symbols);
	{
		struct db_quarantine q = {
			.id = id, .ingest_key = in.key, .queue_id = in.queue_id,
			.message_id = in.message_id, .spool = name, .sha256 = hex,
			.direction = in.direction, .category = in.category, .sender = in.sender,
			.from_addr = in.from, .subject = in.subject, .virus = in.virus,
			.symbols = syms, .unsubscribe = in.unsubscribe,
			.size = (int64_t)r->body.len,
			.received_at = (seen & (1u << 12)) ? in.received_at : vr_now(),
			.score = in.score, .has_score = (seen & (1u << 13)) != 0,
			.one_click = in.one_click};

		struct qadd_tx t = {&q, rcpts, n, existing};

		/* the message row and its recipient rows commit together, or not at all */
		e = db_tx(db, qadd_tx, &t);
	}
	free(syms);
	if (e != VR_OK) {
		/* no row points at the new file: remove it */
		snprintf(path, sizeof(path), "%s/spool/%s", r->app->conf->data_dir, name);
		unlink(path);
	}
	if (e == VR_E_CONFLICT && existing[0])
		return reply_json(r, 200, json_pack("{s:s, s:b}", "id", existing, "duplicate", 1));
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot index the message");
	return reply_json(r, 201, json_pack("{s:s, s:b}", "id", id, "duplicate", 0));
}

struct track_in {
	const char *agent, *queue_id, *direction, *client_ip, *helo, *sender, *from, *subject,
		*message_id, *virus;
	int64_t received_at, size;
	double score;
	json_t *symbols, *recipients;
};

#define T(f) offsetof(struct track_in, f)
static const struct jspec track_spec[] = {
	{"agent", JSPEC_STRING, true, 1, 100, NULL, T(agent)},
	{"queue_id", JSPEC_STRING, true, 1, 64, NULL, T(queue_id)},
	{"direction", JSPEC_ENUM, true, 0, 0, directions, T(direction)},
	{"client_ip", JSPEC_STRING, false, 0, 64, NULL, T(client_ip)},
	{"helo", JSPEC_STRING, false, 0, 255, NULL, T(helo)},
	{"sender", JSPEC_STRING, false, 0, 320, NULL, T(sender)},
	{"from", JSPEC_STRING, false, 0, 320, NULL, T(from)},
	{"subject", JSPEC_STRING, false, 0, 2000, NULL, T(subject)},
	{"message_id", JSPEC_STRING, false, 0, 998, NULL, T(message_id)},
	{"virus", JSPEC_STRING, false, 0, 200, NULL, T(virus)},
	{"received_at", JSPEC_TIME, false, 0, 0, NULL, T(received_at)},
	{"size", JSPEC_INT, false, 0, INT64_MAX, NULL, T(size)},
	{"score", JSPEC_NUMBER, false, -10000, 10000, NULL, T(score)},
	{"symbols", JSPEC_ARRAY, false, 0, 500, NULL, T(symbols)},
	{"recipients", JSPEC_ARRAY, true, 1, MAX_RCPTS, NULL, T(recipients)},
};
#define NTRACK (sizeof(track_spec) / sizeof(track_spec[0]))

static const char *const actions[] = {"deliver", "tag", "quarantine", "reject", "discard",
				      "tempfail", NULL};
static const char *const categories[] = {"clean", "spam", "virus", "newsletter",
					 "attachment", "blocklist", NULL};

/* one_of - is s in the NULL-terminated list? */
static bool one_of(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* h_agent_messages - record what the filter decided for a message */
enum vr_err h_agent_messages(struct req *r)
{
	struct track_in in = {0};
	struct db_msg_rcpt rc[MAX_RCPTS];
	char id[VR_ID_LEN], existing[VR_ID_LEN], *syms;
	uint32_t seen = 0;
	size_t i, n = 0;
	json_t *v;
	struct db *db;
	enum vr_err e;

	if ((e = req_body(r, track_spec, NTRACK, &in, &seen)) != VR_OK)
		return e;
	if (in.symbols && !strings_only(in.symbols))
		return req_fail(r, VR_E_INVALID_FIELD, "symbols", "must be a list of symbol names");
	json_array_foreach(in.recipients, i, v)
	{
		const char *addr = json_string_value(json_object_get(v, "address"));
		const char *act = json_string_value(json_object_get(v, "action"));
		const char *cat = json_string_value(json_object_get(v, "category"));
		const char *reason = json_string_value(json_object_get(v, "reason"));
		const char *qid = json_string_value(json_object_get(v, "quarantine_id"));

		if (!json_is_object(v) || !is_address(addr) || !one_of(act, actions) ||
		    !one_of(cat, categories) || (reason && strlen(reason) > 500) ||
		    (qid && strlen(qid) >= VR_ID_LEN))
			return req_fail(r, VR_E_INVALID_FIELD, "recipients",
					"each recipient is {address, action, category, reason?, "
					"quarantine_id?} with known action and category");
		rc[n++] = (struct db_msg_rcpt){addr, act, cat, reason, qid};
	}
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	vr_random_id(id);
	syms = symbols_text(in.symbols);
	{
		struct db_msg m = {
			.id = id, .direction = in.direction, .queue_id = in.queue_id,
			.agent = in.agent, .client_ip = in.client_ip, .helo = in.helo,
			.sender = in.sender, .from_addr = in.from, .subject = in.subject,
			.message_id = in.message_id, .virus = in.virus, .symbols = syms,
			.received_at = (seen & (1u << 10)) ? in.received_at : vr_now(),
			.size = in.size, .score = in.score, .has_score = (seen & (1u << 12)) != 0};

		struct madd_tx t = {&m, rc, n, existing};

		e = db_tx(db, madd_tx, &t);
	}
	free(syms);
	if (e == VR_E_CONFLICT && existing[0])
		return reply_json(r, 200, json_pack("{s:s, s:b}", "id", existing, "duplicate", 1));
	if (e != VR_OK)
		return req_fail(r, e, NULL, "cannot record the message");
	return reply_json(r, 201, json_pack("{s:s, s:b}", "id", id, "duplicate", 0));
}

/* add_msg - db_messages_list callback */
static int add_msg(const struct db_msg *m, json_t *rcpts, void *arg)
{
	json_t *syms = m->symbols ? json_loads(m->symbols, 0, NULL) : NULL;

	json_array_append_new(
		arg, json_pack("{s:s, s:o, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:o, s:s?,"
			       " s:o, s:o}",
			       "id", m->id, "received_at", json_time(m->received_at), "direction",
			       m->direction, "queue_id", m->queue_id, "client_ip", m->client_ip,
			       "sender", m->sender, "from", m->from_addr, "subject", m->subject,
			       "message_id", m->message_id, "size", (json_int_t)m->size, "score",
			       m->has_score ? json_real(m->score) : json_null(), "virus", m->virus,
			       "symbols", syms ? syms : json_array(), "recipients", rcpts));
	return 0;
}

/* h_messages_list - message tracking, newest first */
enum vr_err h_messages_list(struct req *r)
{
	struct db_msg_filter f = {.limit = 100};
	const char *v;
	int64_t next;
	char cursor[32];
	json_t *items;
	struct db *db;
	enum vr_err e;

	f.recipient = req_query(r, "recipient");
	f.sender = req_query(r, "sender");
	f.direction = req_query(r, "direction");
	f.action = req_query(r, "action");
	if (f.direction && !one_of(f.direction, directions))
		return req_fail(r, VR_E_BAD_PARAMETER, "direction", "must be inbound or outbound");
	if (f.action && !one_of(f.action, actions))
		return req_fail(r, VR_E_BAD_PARAMETER, "action", "is not a known action");
	if ((v = req_query(r, "since")) && vr_time_parse(v, &f.since) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "since", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "until")) && vr_time_parse(v, &f.until) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "until", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "limit"))) {
		char *end;
		long l = strtol(v, &end, 10);

		if (*v == '\0' || *end != '\0' || l < 1 || l > 500)
			return req_fail(r, VR_E_BAD_PARAMETER, "limit",
					"must be an integer from 1 to 500");
		f.limit = (int)l;
	}
	if ((v = req_query(r, "cursor"))) {
		char *end;
		long long s = v[0] == 'c' ? strtoll(v + 1, &end, 10) : -1;

		if (s <= 0 || *end != '\0')
			return req_fail(r, VR_E_BAD_PARAMETER, "cursor",
					"must be a next_cursor value from a previous page");
		f.before_seq = s;
	}
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	items = json_array();
	if ((e = db_messages_list(db, &f, add_msg, items, &next)) != VR_OK) {
		json_decref(items);
		return req_fail(r, e, NULL, "cannot read the messages");
	}
	snprintf(cursor, sizeof(cursor), "c%lld", (long long)next);
	return reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor",
					    next ? json_string(cursor) : json_null()));
}

/* h_stats - counts over a time window (default: the last 24 hours) */
enum vr_err h_stats(struct req *r)
{
	int64_t until = vr_now() + 1, since = until - 86400;
	const char *v;
	struct db *db;
	enum vr_err e;
	json_t *out;

	if ((v = req_query(r, "since")) && vr_time_parse(v, &since) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "since", "must be an RFC 3339 date-time");
	if ((v = req_query(r, "until")) && vr_time_parse(v, &until) < 0)
		return req_fail(r, VR_E_BAD_PARAMETER, "until", "must be an RFC 3339 date-time");
	if (until <= since)
		return req_fail(r, VR_E_BAD_PARAMETER, "until", "must be after since");
	if ((db = req_db(r)) == NULL)
		return VR_E_UNAVAILABLE;
	out = json_pack("{s:o, s:o}", "since", json_time(since), "until", json_time(until));
	if ((e = db_messages_stats(db, since, until, out)) != VR_OK) {
		json_decref(out);
		return req_fail(r, e, NULL, "cannot count");
	}
	return reply_json(r, 200, out);
}
