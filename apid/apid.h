/* apid.h - apid's configuration and the handles main() creates.
 *
 * struct apid_conf is filled once from apid_conf_schema (apid_conf.c) and is read-only
 * afterwards. struct apid holds the few process-wide handles (signing key, login
 * limiter, metrics, in-flight counter); request handlers reach it through struct req.
 */
#ifndef VR_APID_H
#define VR_APID_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct apid_conf {
	char *listen;
	int64_t port;
	char *port_file;
	char *data_dir;
	char *db;
	char *tls_cert;
	char *tls_key;
	int64_t threads;
	int64_t max_body;
	int64_t max_url;
	int64_t max_header;
	int64_t conn_timeout;
	int64_t max_connections;
	int64_t per_ip_connections;
	int64_t shutdown_grace;
	char *admin_user;
	char *admin_password;
	char *issuer;
	char *audience;
	int64_t session_ttl;
	int64_t login_user_limit;
	int64_t login_ip_limit;
	int64_t login_window;
	char *log_level;
	int64_t purge_interval;
	int64_t digest_interval;
	char *public_url;
	char *unsubscribe_ca_file;
	int unsubscribe_allow_private;
};

extern const struct vr_conf_schema apid_conf_schema;

#define APID_KEY_LEN 32

struct ratelimit;
struct metrics;

struct apid {
	const struct apid_conf *conf;
	unsigned char jwt_key[APID_KEY_LEN];
	unsigned char digest_key[APID_KEY_LEN]; /* signs digest links */
	struct ratelimit *limiter;
	struct metrics *metrics;
	atomic_int in_flight; /* requests between first callback and completion */
};

#endif
