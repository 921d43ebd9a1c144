/* main.c - apid: configuration, state directory, keys, bootstrap admin, HTTP, shutdown.
 *
 * Start-up: read settings (apid --help), create DATA-DIR (0700), open and migrate the
 * database (refusing a schema newer than this build), load or create the JWT signing
 * key (0600), create the local break-glass admin on first start, then serve until
 * SIGTERM/SIGINT. Shutdown stops accepting, lets in-flight requests finish (up to
 * shutdown-grace seconds), then stops the daemon. Signals are taken synchronously with
 * sigwait() in this thread; the worker threads never see them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apid.h"
#include "atomic_file.h"
#include "auth.h"
#include "db.h"
#include "digest.h"
#include "housekeeping.h"
#include "http.h"
#include "log.h"
#include "login_dir.h"
#include "metrics.h"
#include "mime_view.h"
#include "ratelimit.h"
#include "routes.h"
#include "snapshot.h"
#include "vrtime.h"

/* path_in - DATA-DIR/name into buf */
static void path_in(const struct apid_conf *cf, const char *name, char *buf, size_t sz)
{
	if ((size_t)snprintf(buf, sz, "%s/%s", cf->data_dir, name) >= sz)
		VR_DIE("path too long under %s", cf->data_dir);
}

/* load_key - read DATA-DIR/NAME (a 32-byte key), creating it (0600) on first start */
static int load_key(const struct apid_conf *cf, const char *name,
		    unsigned char key[APID_KEY_LEN])
{
	char path[4096];
	struct stat st;
	size_t len;
	char *data;

	path_in(cf, name, path, sizeof(path));
	if (stat(path, &st) < 0) {
		if (errno != ENOENT) {
			VR_LOG_ERR("cannot stat %s: %s", path, strerror(errno));
			return -1;
		}
		randombytes_buf(key, APID_KEY_LEN);
		if (vr_atomic_write(path, key, APID_KEY_LEN, 0600) < 0) {
			VR_LOG_ERR("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		VR_LOG_INFO("created the key %s", path);
		return 0;
	}
	if (st.st_mode & 077) {
		VR_LOG_WARN("%s was readable by others: setting mode 0600", path);
		if (chmod(path, 0600) < 0)
			return -1;
	}
	data = vr_read_file(path, 4096, &len);
	if (data == NULL || len != APID_KEY_LEN) {
		VR_LOG_ERR("%s must hold exactly %d bytes", path, APID_KEY_LEN);
		free(data);
		return -1;
	}
	memcpy(key, data, APID_KEY_LEN);
	sodium_memzero(data, len);
	free(data);
	return 0;
}

/* bootstrap_admin - on first start, create the local admin account */
static int bootstrap_admin(const struct apid_conf *cf, struct db *db)
{
	char hash[crypto_pwhash_STRBYTES], path[4096], pw[40];
	struct db_user u = {0}, existing = {0};
	const char *password = cf->admin_password;
	int64_t n = 0;

	if (db_users_count_role(db, ROLE_ADMIN, &n) != VR_OK)
		return -1;
	if (n > 0)
		return 0;
	if (db_users_by_name(db, cf->admin_user, &existing) == VR_OK) {
		VR_LOG_ERR("no admin exists, but the user '%s' does: not touching it",
			   cf->admin_user);
		db_user_clear(&existing);
		return -1;
	}
	if (password == NULL || *password == '\0') {
		unsigned char raw[18];

		randombytes_buf(raw, sizeof(raw));
		vr_b64url_encode(raw, sizeof(raw), pw, sizeof(pw));
		path_in(cf, "admin-password", path, sizeof(path));
		if (vr_atomic_write(path, pw, strlen(pw), 0600) < 0) {
			VR_LOG_ERR("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		password = pw;
		fprintf(stderr,
			"apid: created the local admin '%s'; its password is in %s (mode 0600)\n",
			cf->admin_user, path);
	}
	if (auth_password_hash(password, hash) < 0)
		VR_DIE("out of memory hashing a password");
	vr_random_id(u.id);
	u.username = cf->admin_user;
	u.display_name = "Local administrator";
	u.role = ROLE_ADMIN;
	u.password_hash = hash;
	u.created_at = vr_now();
	if (db_users_create_local(db, &u) != VR_OK ||
	    db_audit_add(db, "apid", "user.bootstrap", cf->admin_user, true, NULL,
			 "local break-glass admin created", u.created_at) != VR_OK)
		return -1;
	sodium_memzero(pw, sizeof(pw));
	VR_LOG_INFO("created the local admin '%s'", cf->admin_user);
	return 0;
}

/* initial_config - version 1 of the data plane's configuration, from the defaults */
static int initial_config(struct db *db)
{
	int64_t version;
	char *text;

	if (db_config_latest(db, &version, &text) != VR_OK)
		return -1;
	free(text);
	if (version > 0)
		return 0;
	if (snapshot_commit(db, "apid", "initial configuration", vr_now(), &version) != VR_OK)
		return -1;
	VR_LOG_INFO("created configuration version %lld", (long long)version);
	return 0;
}

/* read_pem - a PEM file for TLS, or NULL when the setting is empty */
static char *read_pem(const char *path, int *err)
{
	char *data;

	if (path == NULL || *path == '\0')
		return NULL;
	data = vr_read_file(path, 1 << 20, NULL);
	if (data == NULL) {
		VR_LOG_ERR("cannot read %s: %s", path, strerror(errno));
		*err = 1;
	}
	return data;
}

/* write_port_file - tell the launcher which port we got */
static int write_port_file(const char *path, unsigned port)
{
	char text[16];

	snprintf(text, sizeof(text), "%u\n", port);
	return vr_atomic_write(path, text, strlen(text), 0644);
}

/* serve - run the daemon until SIGTERM/SIGINT, then drain */
static int serve(struct apid *app, sigset_t *sigs)
{
	const struct apid_conf *cf = app->conf;
	int tls_err = 0, sig = 0;
	char *cert = read_pem(cf->tls_cert, &tls_err), *key = read_pem(cf->tls_key, &tls_err);
	struct MHD_Daemon *d;
	unsigned port;
	time_t deadline;

	if (tls_err || (cert == NULL) != (key == NULL)) {
		if (!tls_err)
			VR_LOG_ERR("HTTPS needs both tls-cert and tls-key");
		free(cert);
		free(key);
		return -1;
	}
	d = http_start(app, cert, key);
	if (d == NULL) {
		VR_LOG_ERR("cannot listen on %s port %lld", cf->listen, (long long)cf->port);
		free(cert);
		free(key);
		return -1;
	}
	port = http_bound_port(d);
	if (cf->public_url == NULL || *cf->public_url == '\0') {
		char url[300];

		snprintf(url, sizeof(url), "%s://%s%s%s:%u", cert ? "https" : "http",
			 strchr(cf->listen, ':') ? "[" : "", cf->listen,
			 strchr(cf->listen, ':') ? "]" : "", port);
		free(((struct apid_conf *)cf)->public_url);
		((struct apid_conf *)cf)->public_url = strdup(url);
		VR_CHECK_ALLOC(cf->public_url);
	}
	digest_start(app, cf->digest_interval);
	if (cf->port_file && *cf->port_file && write_port_file(cf->port_file, port) < 0)
		VR_LOG_ERR("cannot write %s: %s", cf->port_file, strerror(errno));
	VR_LOG_INFO("listening on %s%s:%u%s (%lld threads)", strchr(cf->listen, ':') ? "[" : "",
		    cf->listen, port, strchr(cf->listen, ':') ? "]" : "", (long long)cf->threads);
	VR_LOG_INFO("serving %s", cert ? "HTTPS" : "HTTP (no tls-cert: loopback use only)");
	while (sig != SIGTERM && sig != SIGINT)
		if (sigwait(sigs, &sig) != 0)
			break;
	VR_LOG_INFO("signal %d: stopping; in-flight requests get %llds", sig,
		    (long long)cf->shutdown_grace);
	http_wake_stop(); /* parked long polls answer now */
	MHD_socket lsock = MHD_quiesce_daemon(d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	deadline = time(NULL) + cf->shutdown_grace;
	while (atomic_load(&app->in_flight) > 0 && time(NULL) < deadline)
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	if (atomic_load(&app->in_flight) > 0)
		VR_LOG_WARN("%d requests still running at the deadline",
			    atomic_load(&app->in_flight));
	MHD_stop_daemon(d);
	free(cert);
	if (key) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct apid_conf cf = {0};
	struct apid app = {0};
	char err[1024], path[4096];
	enum vr_log_level lvl;
	sigset_t sigs;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--routes")) {
			routes_print(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("apid %s\n", VR_VERSION);
			return 0;
		}
	}
	vr_crypto_init();
	rc = vr_conf_load(&apid_conf_schema, &cf, argc, argv, stdout, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "apid: %s\n", err);
		vr_conf_free(&apid_conf_schema, &cf);
		return rc < 0 ? 2 : 0;
	}
	if (vr_log_parse_level(cf.log_level, &lvl) < 0) {
		fprintf(stderr, "apid: log-level must be debug, info, warn or err\n");
		vr_conf_free(&apid_conf_schema, &cf);
		return 2;
	}
	vr_log_set_level(lvl);
	umask(077);
	if (mkdir(cf.data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "apid: cannot create %s: %s\n", cf.data_dir, strerror(errno));
		vr_conf_free(&apid_conf_schema, &cf);
		return 1;
	}
	if (cf.db == NULL || *cf.db == '\0') {
		path_in(&cf, "apid.db", path, sizeof(path));
		free(cf.db);
		cf.db = strdup(path);
		VR_CHECK_ALLOC(cf.db);
	}
	/* block the signals before any thread starts, so that only sigwait() sees them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = 1;
	if (db_env_init(cf.db, err, sizeof(err)) != VR_OK) {
		fprintf(stderr, "apid: %s\n", err);
		goto out;
	}
	app.conf = &cf;
	if (load_key(&cf, "jwt.key", app.jwt_key) < 0 ||
	    load_key(&cf, "digest.key", app.digest_key) < 0 || bootstrap_admin(&cf, db_get()) < 0 ||
	    initial_config(db_get()) < 0)
		goto out;
	mime_view_init();
	app.limiter = ratelimit_new(4096, cf.login_window);
	app.metrics = metrics_new(routes_count);
	housekeeping_start(cf.data_dir, cf.purge_interval);
	rc = serve(&app, &sigs) < 0 ? 1 : 0;
	housekeeping_stop();
	digest_stop();
	VR_LOG_INFO("stopped");
out:
	db_thread_done();
	login_dir_cleanup();
	mime_view_shutdown();
	ratelimit_free(app.limiter);
	metrics_free(app.metrics);
	sodium_memzero(app.jwt_key, sizeof(app.jwt_key));
	sodium_memzero(app.digest_key, sizeof(app.digest_key));
	vr_conf_free(&apid_conf_schema, &cf);
	return rc;
}
