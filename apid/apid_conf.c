/* apid_conf.c - apid's settings: the one schema table (see common/conf.h).
 *
 * Each row gives the setting's name (flag --name, environment VR_APID_NAME), type,
 * default, range and help; `apid --help` prints this table.
 */
#include <stddef.h>

#include "apid.h"

#define C(field) offsetof(struct apid_conf, field)

static const struct vr_conf_item items[] = {
	{"listen", VR_CONF_STR, "127.0.0.1", 0, 0, C(listen), "address to listen on (IPv4 or IPv6)", 0},
	{"port", VR_CONF_INT, "8443", 0, 65535, C(port), "TCP port; 0 picks a free one (see port-file)", 0},
	{"port-file", VR_CONF_STR, NULL, 0, 0, C(port_file), "write the bound port to this file once listening", 0},
	{"data-dir", VR_CONF_STR, "/var/lib/vrgate", 0, 0, C(data_dir), "state directory: database, keys (created 0700)", 0},
	{"db", VR_CONF_STR, NULL, 0, 0, C(db), "SQLite database path (default DATA-DIR/apid.db)", 0},
	{"tls-cert", VR_CONF_STR, NULL, 0, 0, C(tls_cert), "PEM certificate chain: serve HTTPS when set with tls-key", 0},
	{"tls-key", VR_CONF_STR, NULL, 0, 0, C(tls_key), "PEM private key for tls-cert", 0},
	{"threads", VR_CONF_INT, "4", 1, 256, C(threads), "HTTP worker threads", 0},
	{"max-body", VR_CONF_INT, "1048576", 1024, 1073741824, C(max_body), "largest JSON request body in bytes (413 above)", 0},
	{"max-url", VR_CONF_INT, "2048", 256, 16384, C(max_url), "longest request URL in bytes (414 above)", 0},
	{"max-header", VR_CONF_INT, "32768", 8192, 1048576, C(max_header), "memory per connection for request line and headers", 0},
	{"conn-timeout", VR_CONF_INT, "30", 1, 3600, C(conn_timeout), "seconds before an idle connection is closed", 0},
	{"max-connections", VR_CONF_INT, "1024", 16, 65536, C(max_connections), "concurrent connections in all", 0},
	{"per-ip-connections", VR_CONF_INT, "256", 1, 65536, C(per_ip_connections), "concurrent connections from one client address", 0},
	{"shutdown-grace", VR_CONF_INT, "10", 0, 600, C(shutdown_grace), "seconds in-flight requests get to finish on SIGTERM", 0},
	{"admin-user", VR_CONF_STR, "admin", 0, 0, C(admin_user), "name of the local break-glass admin created on first start", 0},
	{"admin-password", VR_CONF_STR, NULL, 0, 0, C(admin_password), "its password on first start (default: random, written to DATA-DIR/admin-password)", 1},
	{"issuer", VR_CONF_STR, "vrgate-apid", 0, 0, C(issuer), "JWT iss claim", 0},
	{"audience", VR_CONF_STR, "vrgate", 0, 0, C(audience), "JWT aud claim", 0},
	{"session-ttl", VR_CONF_INT, "900", 60, 900, C(session_ttl), "login session lifetime in seconds (at most 15 min)", 0},
	{"login-user-limit", VR_CONF_INT, "5", 1, 1000, C(login_user_limit), "failed logins per user name per window before 429", 0},
	{"login-ip-limit", VR_CONF_INT, "50", 1, 100000, C(login_ip_limit), "failed logins per client address per window before 429", 0},
	{"login-window", VR_CONF_INT, "300", 10, 86400, C(login_window), "login throttling window in seconds", 0},
	{"purge-interval", VR_CONF_INT, "3600", 0, 604800, C(purge_interval), "seconds between quarantine retention purges (0: only on request)", 0},
	{"digest-interval", VR_CONF_INT, "300", 0, 86400, C(digest_interval), "seconds between checks for digests due (0: only on request)", 0},
	{"public-url", VR_CONF_STR, NULL, 0, 0, C(public_url), "base URL users reach apid at, for digest links (default: http://LISTEN:PORT)", 0},
	{"unsubscribe-ca-file", VR_CONF_STR, NULL, 0, 0, C(unsubscribe_ca_file), "CA bundle for one-click unsubscribe requests (default: the system's)", 0},
	{"unsubscribe-allow-private", VR_CONF_BOOL, "false", 0, 0, C(unsubscribe_allow_private), "let one-click unsubscribe reach private addresses (tests only)", 0},
	{"log-level", VR_CONF_STR, "info", 0, 0, C(log_level), "debug, info, warn or err", 0},
};

const struct vr_conf_schema apid_conf_schema = {
	.program = "apid",
	.env_prefix = "VR_APID_",
	.items = items,
	.n = sizeof(items) / sizeof(items[0]),
};
