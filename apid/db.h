/* db.h - apid's SQLite layer: the only code that calls sqlite3_* lives in db*.c.
 *
 * Each thread gets its own connection (db_get), opened on first use in WAL mode with
 * foreign keys and a busy timeout, and closed when the thread exits. SQL text stays
 * beside the function that runs it as a `static struct db_sql`; db_prep() prepares it
 * once per connection (SQLITE_PREPARE_PERSISTENT) and caches it in the handle.
 * db_tx() runs a function inside BEGIN IMMEDIATE ... COMMIT with a bounded retry when
 * the database is busy: the function must have no effect outside the database, since it
 * may run more than once. Functions return enum vr_err: VR_E_NOT_FOUND for a missing
 * row, VR_E_CONFLICT for a constraint, VR_E_BUSY, VR_E_INTERNAL for the rest (logged).
 *
 * Strings in the structs filled by db_* functions are malloc'd and owned by the struct;
 * each struct has a *_clear function.
 */
#ifndef VR_DB_H
#define VR_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "embedded.h"
#include "err.h"
#include "randid.h"
#include "roles.h"

struct db;

struct db_sql {
	const char *sql;
	int slot; /* assigned on first use; -1 before */
};
#define DB_SQL(name, text) static struct db_sql name = {text, -1}

/* db_env_init - remember path, open it once, apply migrations; VR_OK or an error in err */
enum vr_err db_env_init(const char *path, char *err, size_t errsz);
/* db_get - this thread's connection (opened on first use); NULL when it cannot open */
struct db *db_get(void);
/* db_thread_done - close this thread's connection now (main thread, before exit) */
void db_thread_done(void);
/* db_open - open a private connection to path (":memory:" for tests) and migrate it */
struct db *db_open(const char *path, char *err, size_t errsz);
/* db_close - finalize cached statements and close */
void db_close(struct db *db);
/* db_migrate_to - apply migrations [0, n) that are newer than user_version */
enum vr_err db_migrate_to(struct db *db, const struct vr_embedded *m, size_t n, char *err,
			  size_t errsz);
/* db_user_version - PRAGMA user_version */
int db_user_version(struct db *db);
/* db_tx - run fn(db, arg) in one write transaction, retrying when busy */
enum vr_err db_tx(struct db *db, enum vr_err (*fn)(struct db *, void *), void *arg);
/* db_size_bytes - size of the database (pages in use) */
int64_t db_size_bytes(struct db *db);
/* db_health_probe - write to the probe row: proves the database takes writes */
enum vr_err db_health_probe(struct db *db, int64_t now);

/* users (db_users.c) */
struct db_user {
	char id[VR_ID_LEN];
	char *username;
	char *display_name; /* may be NULL */
	enum role role;
	char *source;        /* "local" | "directory" */
	char *password_hash; /* may be NULL */
	bool disabled;
	int64_t created_at;
	int64_t last_login_at; /* 0: never */
};
void db_user_clear(struct db_user *u);
enum vr_err db_users_by_name(struct db *db, const char *username, struct db_user *out);
enum vr_err db_users_by_id(struct db *db, const char *id, struct db_user *out);
enum vr_err db_users_create_local(struct db *db, const struct db_user *u);
enum vr_err db_users_count_role(struct db *db, enum role role, int64_t *n);
enum vr_err db_users_touch_login(struct db *db, const char *id, int64_t now);
/* db_users_addresses - append the user's addresses (primary first) to arr */
enum vr_err db_users_addresses(struct db *db, const char *id, json_t *arr);

/* login sessions (db_sessions.c) */
struct db_session {
	bool revoked;
	int64_t expires_at;
	struct db_user user;
};
enum vr_err db_sessions_add(struct db *db, const char *jti, const char *user_id, int64_t now,
			    int64_t expires_at, const char *client_ip);
/* db_sessions_get - the session jti with its user; VR_E_NOT_FOUND when unknown */
enum vr_err db_sessions_get(struct db *db, const char *jti, struct db_session *out);
enum vr_err db_sessions_revoke(struct db *db, const char *jti, int64_t now);
enum vr_err db_sessions_purge(struct db *db, int64_t before);

/* API tokens (db_tokens.c) */
#define DB_TOKEN_HASH_LEN 32
struct db_token {
	char id[VR_ID_LEN];
	char user_id[VR_ID_LEN];
	char *name;
	char *owner; /* username */
	enum role role;
	int64_t created_at, expires_at, last_used_at, revoked_at; /* 0: none */
	bool owner_disabled;
	enum role owner_role; /* the owner's role now: caps the token's */
};
void db_token_clear(struct db_token *t);
enum vr_err db_tokens_add(struct db *db, const struct db_token *t,
			  const unsigned char hash[DB_TOKEN_HASH_LEN]);
enum vr_err db_tokens_by_hash(struct db *db, const unsigned char hash[DB_TOKEN_HASH_LEN],
			      struct db_token *out);
enum vr_err db_tokens_get(struct db *db, const char *id, struct db_token *out);
enum vr_err db_tokens_touch(struct db *db, const char *id, int64_t now);
/* db_tokens_list - call each() for the live tokens of owner (NULL: everybody's) */
enum vr_err db_tokens_list(struct db *db, const char *owner, int64_t now,
			   int (*each)(const struct db_token *, void *), void *arg);
/* db_tokens_revoke - revoke id (owned by user_id unless it is NULL); NOT_FOUND otherwise */
enum vr_err db_tokens_revoke(struct db *db, const char *id, const char *user_id, int64_t now);

/* audit log (db_audit.c) */
struct db_audit_event {
	int64_t seq;
	const char *id, *actor, *action, *target, *outcome, *client_ip, *detail; /* borrowed */
	int64_t time;
};
struct db_audit_filter {
	const char *actor, *action, *outcome; /* NULL: any */
	int64_t since, until;                 /* 0: unbounded */
	int64_t before_seq;                   /* 0: from the newest */
	int limit;
};
enum vr_err db_audit_add(struct db *db, const char *actor, const char *action,
			 const char *target, bool success, const char *client_ip,
			 const char *detail, int64_t now);
/* db_audit_list - newest first; each() sees borrowed strings valid during the call;
 * *next_seq is the cursor of the next page, 0 when this page is the last */
enum vr_err db_audit_list(struct db *db, const struct db_audit_filter *f,
			  int (*each)(const struct db_audit_event *, void *), void *arg,
			  int64_t *next_seq);

/* mail policy (db_policy.c) */
struct db_policy {
	char *hostname;
	char *inbound_address, *outbound_address, *reinject_address;
	int64_t inbound_port, outbound_port, reinject_port;
	int64_t message_size_limit;
	char *outbound_mode; /* "mx" | "smarthost" */
	char *smarthost_host;
	int64_t smarthost_port; /* 0: none */
	int64_t verify_positive_ttl, verify_negative_ttl, verify_flush;
	char *tls_inbound_cert, *tls_inbound_key;
	char *tls_outbound; /* "none" | "may" | "encrypt" */
};
void db_policy_clear(struct db_policy *p);
enum vr_err db_policy_get(struct db *db, struct db_policy *out);
enum vr_err db_policy_put(struct db *db, const struct db_policy *p);

struct db_domain {
	char id[VR_ID_LEN];
	char *name;
	char *internal_host;
	int64_t internal_port;
	bool verify_recipients;
	int64_t created_at;
};
void db_domain_clear(struct db_domain *d);
/* db_domains_list - call each() per domain, by name */
enum vr_err db_domains_list(struct db *db, int (*each)(const struct db_domain *, void *),
			    void *arg);
enum vr_err db_domains_get(struct db *db, const char *id, struct db_domain *out);
/* db_domains_add - VR_E_CONFLICT when the name exists */
enum vr_err db_domains_add(struct db *db, const struct db_domain *d);
enum vr_err db_domains_update(struct db *db, const struct db_domain *d);
enum vr_err db_domains_delete(struct db *db, const char *id);

struct db_network {
	char id[VR_ID_LEN];
	char *cidr;
	char *description; /* may be NULL */
	int64_t created_at;
};
void db_network_clear(struct db_network *n);
enum vr_err db_networks_list(struct db *db, int (*each)(const struct db_network *, void *),
			     void *arg);
enum vr_err db_networks_get(struct db *db, const char *id, struct db_network *out);
enum vr_err db_networks_add(struct db *db, const struct db_network *n);
enum vr_err db_networks_delete(struct db *db, const char *id);

/* db_config_add - store snapshot (text) as the next version; *version receives it */
enum vr_err db_config_add(struct db *db, const char *snapshot, const char *actor,
			  const char *reason, int64_t now, int64_t *version);
/* db_config_latest - the newest version and its snapshot text (malloc'd; NULL, 0 when
 * there is none yet) */
enum vr_err db_config_latest(struct db *db, int64_t *version, char **snapshot);

/* agents (db_policy.c) */
struct db_agent {
	const char *name, *last_error, *postfix_state, *client_ip; /* borrowed */
	int64_t applied_version, started_at, last_seen;
};
enum vr_err db_agents_seen(struct db *db, const struct db_agent *a);
enum vr_err db_agents_list(struct db *db, int (*each)(const struct db_agent *, void *),
			   void *arg);
/* db_agents_delete - forget an agent (decommissioned); NOT_FOUND when unknown */
enum vr_err db_agents_delete(struct db *db, const char *name);

/* directory profiles (db_directories.c) */
struct db_directory {
	char id[VR_ID_LEN];
	char *name, *kind; /* kind: "ad" | "openldap" */
	int64_t position;
	json_t *uris;      /* array of strings */
	bool starttls, verify_cert, enabled;
	char *ca_file;     /* may be NULL */
	int64_t network_timeout_ms, op_timeout_ms;
	char *bind_dn, *bind_password; /* may be NULL */
	char *base_dn, *user_filter, *netbios_domain; /* netbios_domain may be NULL */
	json_t *address_attrs; /* array of strings */
	char *username_attr, *display_attr;
	json_t *group_roles;   /* array of {"group_dn": str, "role": str} */
	int64_t created_at, updated_at;
};
void db_directory_clear(struct db_directory *d);
/* db_directories_list - every profile in login order (enabled_only: skip disabled) */
enum vr_err db_directories_list(struct db *db, bool enabled_only,
				int (*each)(const struct db_directory *, void *), void *arg);
enum vr_err db_directories_get(struct db *db, const char *id, struct db_directory *out);
/* db_directories_put - insert or replace the profile with d->id; CONFLICT on a name clash */
enum vr_err db_directories_put(struct db *db, const struct db_directory *d);
enum vr_err db_directories_delete(struct db *db, const char *id);
/* db_directories_next_position - one past the last position */
enum vr_err db_directories_next_position(struct db *db, int64_t *pos);

/* directory users (db_users.c) */
struct db_user_list_filter {
	const char *q;       /* substring of username, display name or address; NULL: all */
	const char *after;   /* username to continue after (cursor); NULL: from the start */
	int limit;
};
/* db_users_list - users by username; each() gets the user (borrowed for the call) */
enum vr_err db_users_list(struct db *db, const struct db_user_list_filter *f,
			  int (*each)(const struct db_user *, void *), void *arg, bool *more);
/* db_users_upsert_directory - create or refresh the account of a directory user (by
 * username), with its addresses replaced; *out receives the row. CONFLICT when the name
 * belongs to a local account. */
enum vr_err db_users_upsert_directory(struct db *db, const char *directory_id, const char *dn,
				      const char *username, const char *display_name,
				      enum role directory_role, const char *const *addresses,
				      size_t naddresses, int64_t now, struct db_user *out);
/* db_users_set_override - set (or clear with ROLE_NONE) the admin's role override */
enum vr_err db_users_set_override(struct db *db, const char *id, enum role role);
/* db_users_extra - directory name, dn, directory role and override of a user (strings
 * malloc'd into the out pointers, NULL when unset) */
enum vr_err db_users_extra(struct db *db, const char *id, char **directory, char **dn,
			   char **directory_role, char **override);

/* filter policy, lists and preferences (db_filter.c) */
struct db_filter_policy {
	char *virus_action, *blocklist_action;
	json_t *blocked_extensions, *blocked_types; /* arrays of strings */
	bool block_encrypted_archives;
	double outbound_spam_tag, outbound_spam_quarantine, outbound_spam_reject;
};
void db_filter_policy_clear(struct db_filter_policy *f);
enum vr_err db_filter_policy_get(struct db *db, struct db_filter_policy *out);
enum vr_err db_filter_policy_put(struct db *db, const struct db_filter_policy *f);

struct db_domain_filter {
	const char *name; /* borrowed in callbacks */
	double spam_tag, spam_quarantine, spam_reject;
	const char *subject_prefix, *newsletter;
	bool fail_open_spam;
	const char *digest_default, *language_default; /* for the domain's new users */
};
/* db_domains_filter - one domain's filter settings; the four strings are malloc'd into
 * owned[0..3] (prefix, newsletter, digest, language) for the caller to free */
enum vr_err db_domains_filter(struct db *db, const char *id, struct db_domain_filter *out,
			      char *owned[4]);
enum vr_err db_domains_filter_list(struct db *db,
				   int (*each)(const struct db_domain_filter *, void *), void *arg);
enum vr_err db_domains_filter_put(struct db *db, const char *id,
				  const struct db_domain_filter *f);

struct db_list_entry {
	const char *id, *kind, *owner_id, *owner, *pattern, *comment, *created_by; /* borrowed */
	int64_t created_at;
};
struct db_list_filter {
	const char *owner_id; /* NULL: every owner; "": global only */
	const char *kind;     /* NULL: both */
};
enum vr_err db_lists_list(struct db *db, const struct db_list_filter *f,
			  int (*each)(const struct db_list_entry *, void *), void *arg);
/* db_lists_add - VR_E_CONFLICT for a duplicate (same owner, kind, pattern) */
enum vr_err db_lists_add(struct db *db, const char *id, const char *kind, const char *owner_id,
			 const char *pattern, const char *comment, const char *created_by,
			 int64_t now);
/* db_lists_get_owner - the owner ("" for global) of entry id, malloc'd */
enum vr_err db_lists_get(struct db *db, const char *id, char **owner_id, char **kind,
			 char **pattern);
enum vr_err db_lists_delete(struct db *db, const char *id);
enum vr_err db_lists_count(struct db *db, const char *owner_id, int64_t *n);
/* db_lists_by_address - each user entry expanded to every address of its owner */
enum vr_err db_lists_by_address(struct db *db,
				int (*each)(const char *address, const char *kind,
					    const char *pattern, void *),
				void *arg);
/* db_users_newsletter - set a user's newsletter choice ("default", "deliver", ...) */
enum vr_err db_users_set_newsletter(struct db *db, const char *id, const char *choice);
enum vr_err db_users_get_newsletter(struct db *db, const char *id, char **choice);
/* db_newsletter_by_address - every address whose owner chose something else than default */
enum vr_err db_newsletter_by_address(struct db *db,
				     int (*each)(const char *address, const char *choice, void *),
				     void *arg);

/* message tracking and the quarantine index (db_messages.c) */
struct db_msg {
	const char *id, *direction, *queue_id, *agent, *client_ip, *helo, *sender, *from_addr,
		*subject, *message_id, *virus, *symbols; /* borrowed; symbols: JSON text */
	int64_t received_at, size;
	double score;
	bool has_score;
};
struct db_msg_rcpt {
	const char *address, *action, *category, *reason, *quarantine_id; /* borrowed */
};
/* db_messages_add - record a message and its recipients; VR_E_CONFLICT when the same
 * (agent, queue_id, message_id) was recorded already (*existing receives its id) */
enum vr_err db_messages_add(struct db *db, const struct db_msg *m, const struct db_msg_rcpt *r,
			    size_t n, char existing[VR_ID_LEN]);
struct db_msg_filter {
	const char *recipient, *sender, *direction, *action; /* NULL: any */
	int64_t since, until, before_seq;                    /* 0: unbounded */
	int limit;
};
/* db_messages_list - newest first; each() gets the message and its recipients as JSON
 * (a new reference each() may keep); *next_seq as in db_audit_list */
enum vr_err db_messages_list(struct db *db, const struct db_msg_filter *f,
			     int (*each)(const struct db_msg *, json_t *rcpts, void *), void *arg,
			     int64_t *next_seq);
/* db_messages_stats - recipients counted by action, category and direction in [since, until) */
enum vr_err db_messages_stats(struct db *db, int64_t since, int64_t until, json_t *out);

struct db_quarantine {
	const char *id, *ingest_key, *queue_id, *message_id, *spool, *sha256, *direction,
		*category, *sender, *from_addr, *subject, *virus, *symbols, *unsubscribe;
	int64_t size, received_at;
	double score;
	bool has_score, one_click;
};
/* db_quarantine_add - index a stored copy for its recipients; VR_E_CONFLICT when the
 * ingest key exists (*existing receives that row's id) */
enum vr_err db_quarantine_add(struct db *db, const struct db_quarantine *q,
			      const char *const *rcpts, size_t n, char existing[VR_ID_LEN]);

/* the quarantine as users and staff see it (db_quarantine.c) */
struct db_qitem {
	const char *id, *recipient, *status, *category, *direction, *sender, *from_addr, *subject,
		*virus, *spool, *symbols, *unsubscribe, *queue_id, *message_id; /* borrowed */
	int64_t received_at, size, updated_at;
	double score;
	bool has_score, one_click;
};
struct db_qfilter {
	const char *owner_id;       /* only the recipients this user owns; NULL: everybody's */
	bool hide_admin_only;       /* hide virus and attachment items */
	const char *recipient, *sender, *text, *category, *status; /* NULL: any */
	double min_score, max_score;
	bool has_min, has_max;
	int64_t since, until;       /* 0: unbounded */
	int64_t after_time;         /* cursor: items strictly older than (after_time, after_id, */
	const char *after_id;       /* after_rcpt) in (received_at DESC, id, recipient) order */
	const char *after_rcpt;
	int limit;
};
/* db_quarantine_list - one page (newest first); *more says whether another follows */
enum vr_err db_quarantine_list(struct db *db, const struct db_qfilter *f,
			       int (*each)(const struct db_qitem *, void *), void *arg, bool *more);
/* db_quarantine_totals - held items per category for the same visibility as f */
enum vr_err db_quarantine_totals(struct db *db, const struct db_qfilter *f, json_t *out);
/* db_quarantine_items - every recipient row of message id visible under f (f's other
 * criteria ignored); each() sees them in recipient order */
enum vr_err db_quarantine_items(struct db *db, const char *id, const struct db_qfilter *f,
				int (*each)(const struct db_qitem *, void *), void *arg);
/* db_quarantine_transition - move (id, recipient) from status `from` to `to`; VR_OK when
 * it moved, VR_E_CONFLICT when it was not in `from` */
enum vr_err db_quarantine_transition(struct db *db, const char *id, const char *recipient,
				     const char *from, const char *to, int64_t now);
/* db_address_owner - the user id owning address (malloc'd), NOT_FOUND when nobody */
enum vr_err db_address_owner(struct db *db, const char *address, char **user_id);

/* quarantine housekeeping (db_quarantine.c) */
/* db_retention - days to keep per category, from the policy (a JSON object, new ref) */
enum vr_err db_retention(struct db *db, json_t **out);
/* db_quarantine_purge_batch - delete up to limit items of category received before
 * cutoff; each deleted item's spool name is appended to names (JSON array) so that the
 * caller removes the files after the commit; *n receives the count */
enum vr_err db_quarantine_purge_batch(struct db *db, const char *category, int64_t cutoff,
				      int limit, json_t *names, int *n);
/* db_quarantine_has_spool - does an index row point at spool name? */
enum vr_err db_quarantine_has_spool(struct db *db, const char *name, bool *yes);
/* db_quarantine_spools - each() for every (id, spool name) in the index */
enum vr_err db_quarantine_spools(struct db *db, int (*each)(const char *id, const char *spool,
							    void *),
				 void *arg);
/* db_quarantine_unsubscribed - record a one-click unsubscribe and its HTTP status */
enum vr_err db_quarantine_unsubscribed(struct db *db, const char *id, int64_t now, long status);
/* db_quarantine_delete - remove one item and its recipient rows */
enum vr_err db_quarantine_delete(struct db *db, const char *id);

/* digests (db_digest.c) */
struct db_digest_user {
	const char *id, *username, *language, *digest, *address; /* borrowed */
	int64_t sent_at;
};
/* db_digest_due - users whose digest is due at now (daily: a day since the last, weekly:
 * a week) and who have held items received since their last digest */
enum vr_err db_digest_due(struct db *db, int64_t now,
			  int (*each)(const struct db_digest_user *, void *), void *arg);
enum vr_err db_digest_user(struct db *db, const char *user_id, struct db_digest_user *out,
			   char **strings /* 5, malloc'd, free each */);
enum vr_err db_digest_mark_sent(struct db *db, const char *user_id, int64_t when);
/* db_digest_claim - claim a link's nonce; VR_E_CONFLICT when it was used */
enum vr_err db_digest_claim(struct db *db, const char *nonce, const char *action,
			    const char *qid, int64_t now);
enum vr_err db_digest_unclaim(struct db *db, const char *nonce);
enum vr_err db_digest_used(struct db *db, const char *nonce, bool *used);
enum vr_err db_users_set_digest(struct db *db, const char *id, const char *digest,
				const char *language);

#endif
