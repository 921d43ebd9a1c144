/* postfix_apply.c - stage, check, install and reload a rendered configuration (see
 * postfix_apply.h for the steps and what each failure leaves behind). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "log.h"
#include "postfix_apply.h"
#include "proc.h"

#define TOOL_TIMEOUT   120           /* seconds for one postfix/postmap run */
#define FILE_LIMIT     (256u << 20) /* largest config or table file we copy */
#define MAX_MANAGED    16           /* managed names, with their .db twins */
#define OUTPUT_SIZE    2048
#define COOL_DOWN      2            /* seconds main.cf is backdated by (see backdate) */

/* A managed file's previous content in the live directory, for rollback. */
struct saved {
	char name[64];
	char *data; /* NULL when the file did not exist */
	size_t len;
	mode_t mode;
	struct timespec times[2]; /* atime, mtime: put back too (see backdate) */
};

/* path_join - dir + "/" + name into buf; -1 when too long */
static int path_join(char *buf, size_t n, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, n, "%s/%s", dir, name) < n ? 0 : -1;
}

/* mkdir_p - create dir and its missing parents (0755); 0 or -1 (errno) */
static int mkdir_p(const char *dir)
{
	char copy[PATH_MAX];

	if (snprintf(copy, sizeof(copy), "%s", dir) >= (int)sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(copy, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* tool - the full path of a Postfix command */
static void tool(char *buf, size_t n, const struct pf_instance *in, const char *name)
{
	snprintf(buf, n, "%s/%s", in->command_dir, name);
}

/* pf_state_name - heartbeat wording of a state */
const char *pf_state_name(enum pf_state st)
{
	return st == PF_RUNNING ? "running" : st == PF_STOPPED ? "stopped" : "unknown";
}

/* pf_status - ask `postfix status` (0: running, 1: not running) */
enum pf_state pf_status(const struct pf_instance *in)
{
	char postfix[PATH_MAX], out[OUTPUT_SIZE];
	const char *argv[] = {postfix, "-c", in->config_dir, "status", NULL};
	int rc;

	tool(postfix, sizeof(postfix), in, "postfix");
	rc = proc_run(argv, 30, out, sizeof(out));
	return rc == 0 ? PF_RUNNING : rc == 1 ? PF_STOPPED : PF_UNKNOWN;
}

/* clear_dir - remove the files of dir (it holds no subdirectories) and dir itself */
static int clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path_join(path, sizeof(path), dir, de->d_name) == 0)
			unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

/* backdate - set path's times to COOL_DOWN seconds ago. Postfix re-reads a main.cf whose
 * mtime is less than a second old, sleeping 300 ms each time, until it "cools down"
 * (dict_load_file_xt): every command and daemon would pause up to 2 s after a change. */
static int backdate(const char *path)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= COOL_DOWN;
	ts[1] = ts[0];
	return utimensat(AT_FDCWD, path, ts, 0);
}

/* copy_file - copy one regular file with its mode and times (so that a table's .db stays
 * newer than its source, and main.cf stays cool); 0 or -1 (errno) */
static int copy_file(const char *from, const char *to)
{
	struct timespec ts[2];
	struct stat st;
	size_t len;
	char *data;
	int rc;

	if (stat(from, &st) < 0)
		return -1;
	data = vr_read_file(from, FILE_LIMIT, &len);
	if (data == NULL)
		return -1;
	rc = vr_atomic_write(to, data, len, st.st_mode & 07777);
	free(data);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (rc == 0)
		utimensat(AT_FDCWD, to, ts, 0);
	return rc;
}

/* stage - STAGING = copy of the live files, then the rendered ones over it */
static enum vr_err stage(const struct pf_instance *in, const struct pf_config *cfg, char *err,
			 size_t errsz)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (clear_dir(in->staging_dir) < 0 && errno != ENOENT) {
		snprintf(err, errsz, "cannot clear %s: %s", in->staging_dir, strerror(errno));
		return VR_E_UNAVAILABLE;
	}
	if (mkdir(in->staging_dir, 0755) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", in->staging_dir, strerror(errno));
		return VR_E_UNAVAILABLE;
	}
	if ((d = opendir(in->config_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
				continue;
			if (path_join(from, sizeof(from), in->config_dir, de->d_name) < 0 ||
			    path_join(to, sizeof(to), in->staging_dir, de->d_name) < 0 ||
			    stat(from, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (copy_file(from, to) < 0) {
				snprintf(err, errsz, "cannot copy %s to %s: %s", from, to,
					 strerror(errno));
				closedir(d);
				return VR_E_UNAVAILABLE;
			}
		}
		closedir(d);
	} else if (errno != ENOENT) {
		snprintf(err, errsz, "cannot read %s: %s", in->config_dir, strerror(errno));
		return VR_E_UNAVAILABLE;
	}
	/* files of an older configuration that this one does not render */
	for (int i = 0; pf_managed_files[i]; i++) {
		if (pf_config_find(cfg, pf_managed_files[i]))
			continue;
		path_join(to, sizeof(to), in->staging_dir, pf_managed_files[i]);
		unlink(to);
		strncat(to, ".db", sizeof(to) - strlen(to) - 1);
		unlink(to);
	}
	for (size_t i = 0; i < cfg->n; i++) {
		path_join(to, sizeof(to), in->staging_dir, cfg->files[i].name);
		if (vr_atomic_write(to, cfg->files[i].text, cfg->files[i].len, 0644) < 0 ||
		    backdate(to) < 0) {
			snprintf(err, errsz, "cannot write %s: %s", to, strerror(errno));
			return VR_E_UNAVAILABLE;
		}
	}
	return VR_OK;
}

/* check_staged - postmap every hash table, then `postfix check` the staging directory */
static enum vr_err check_staged(const struct pf_instance *in, const struct pf_config *cfg,
				char *err, size_t errsz)
{
	char postmap[PATH_MAX], postfix[PATH_MAX], map[PATH_MAX + 8], out[OUTPUT_SIZE];
	int rc;

	tool(postmap, sizeof(postmap), in, "postmap");
	tool(postfix, sizeof(postfix), in, "postfix");
	for (size_t i = 0; i < cfg->n; i++) {
		const char *argv[] = {postmap, "-c", in->staging_dir, map, NULL};

		if (cfg->files[i].kind != PF_HASH)
			continue;
		snprintf(map, sizeof(map), "hash:%s/%s", in->staging_dir, cfg->files[i].name);
		rc = proc_run(argv, TOOL_TIMEOUT, out, sizeof(out));
		if (rc != 0) {
			snprintf(err, errsz, "postmap %s failed (status %d): %s", cfg->files[i].name,
				 rc, out[0] ? out : "no message");
			return VR_E_INVALID_FIELD;
		}
	}
	{
		const char *argv[] = {postfix, "-c", in->staging_dir, "check", NULL};

		rc = proc_run(argv, TOOL_TIMEOUT, out, sizeof(out));
		if (rc != 0) {
			snprintf(err, errsz, "postfix check refused the new configuration (status "
					     "%d): %s",
				 rc, out[0] ? out : "no message");
			return VR_E_INVALID_FIELD;
		}
		if (out[0])
			VR_LOG_INFO("postfix check: %s", out);
	}
	return VR_OK;
}

/* live_has_service - true when the live master.cf defines service name of type inet */
static bool live_has_service(const char *master_cf, const char *name)
{
	char *save = NULL, *line, *copy;
	bool found = false;

	if (master_cf == NULL)
		return false;
	copy = strdup(master_cf);
	VR_CHECK_ALLOC(copy);
	for (line = strtok_r(copy, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char svc[128], type[32];

		if (line[0] == '#' || line[0] == ' ' || line[0] == '\t')
			continue;
		if (sscanf(line, "%127s %31s", svc, type) == 2 && !strcmp(type, "inet") &&
		    !strcmp(svc, name))
			found = true;
	}
	free(copy);
	return found;
}

/* bind_test - can this host bind l right now? 0, or an errno */
static int bind_test(const struct snap_listener *l)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1, rc = 0;

	if (l->v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->address, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->address, &a->sin_addr);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* as Postfix's master does: TIME_WAIT leftovers are no conflict */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		rc = errno;
	close(fd);
	return rc;
}

/* check_listeners - every listener the running master does not hold must be bindable */
static enum vr_err check_listeners(const struct pf_instance *in, const struct snapshot *s,
				   bool running, char *err, size_t errsz)
{
	const struct {
		const char *name;
		const struct snap_listener *l;
	} ls[] = {{"inbound", &s->inbound}, {"outbound", &s->outbound}, {"reinject", &s->reinject}};
	char path[PATH_MAX], svc[80];
	char *master_cf = NULL;

	if (running && path_join(path, sizeof(path), in->config_dir, "master.cf") == 0)
		master_cf = vr_read_file(path, FILE_LIMIT, NULL);
	for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
		int e;

		pf_service_name(ls[i].l, svc, sizeof(svc));
		if (live_has_service(master_cf, svc))
			continue;
		if ((e = bind_test(ls[i].l)) != 0) {
			snprintf(err, errsz,
				 "listeners.%s: cannot listen on %s: %s (Postfix's master would "
				 "exit on reload)",
				 ls[i].name, svc, strerror(e));
			free(master_cf);
			return VR_E_INVALID_FIELD;
		}
	}
	free(master_cf);
	return VR_OK;
}

/* free_saved - release the saved contents */
static void free_saved(struct saved *sv, int n)
{
	for (int i = 0; i < n; i++)
		free(sv[i].data);
}

/* save_live - remember the live managed files (and their .db) for rollback; how many,
 * or -1 with err set when one cannot be read */
static int save_live(const struct pf_instance *in, struct saved *sv, char *err, size_t errsz)
{
	int n = 0;

	for (int i = 0; pf_managed_files[i]; i++) {
		for (int db = 0; db < 2; db++) {
			char path[PATH_MAX];
			struct stat st;
			struct saved *s;

			if (n >= MAX_MANAGED)
				VR_DIE("more than %d managed files", MAX_MANAGED);
			s = &sv[n++];

			snprintf(s->name, sizeof(s->name), "%s%s", pf_managed_files[i],
				 db ? ".db" : "");
			path_join(path, sizeof(path), in->config_dir, s->name);
			s->data = NULL;
			if (stat(path, &st) < 0)
				continue;
			s->data = vr_read_file(path, FILE_LIMIT, &s->len);
			if (s->data == NULL) {
				snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
				free_saved(sv, n);
				return -1;
			}
			s->mode = st.st_mode & 07777;
			s->times[0] = st.st_atim;
			s->times[1] = st.st_mtim;
		}
	}
	return n;
}

/* restore_live - put the saved files back; best effort, logged */
static void restore_live(const struct pf_instance *in, const struct saved *sv, int n)
{
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];

		path_join(path, sizeof(path), in->config_dir, sv[i].name);
		if (sv[i].data == NULL)
			unlink(path);
		else if (vr_atomic_write(path, sv[i].data, sv[i].len, sv[i].mode) < 0)
			VR_LOG_ERR("cannot restore %s: %s", path, strerror(errno));
		else
			utimensat(AT_FDCWD, path, sv[i].times, 0);
	}
}

/* install_one - copy STAGING/name over the live name */
static int install_one(const struct pf_instance *in, const char *name, char *err, size_t errsz)
{
	char from[PATH_MAX], to[PATH_MAX];

	path_join(from, sizeof(from), in->staging_dir, name);
	path_join(to, sizeof(to), in->config_dir, name);
	if (copy_file(from, to) < 0) {
		snprintf(err, errsz, "cannot install %s: %s", to, strerror(errno));
		return -1;
	}
	return 0;
}

/* install - tables (source, then index), then master.cf and main.cf; stale files removed */
static int install(const struct pf_instance *in, const struct pf_config *cfg, char *err,
		   size_t errsz)
{
	char db[128], path[PATH_MAX];

	if (mkdir_p(in->config_dir) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", in->config_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		if (install_one(in, cfg->files[i].name, err, errsz) < 0)
			return -1;
		if (cfg->files[i].kind == PF_HASH) {
			snprintf(db, sizeof(db), "%s.db", cfg->files[i].name);
			if (install_one(in, db, err, errsz) < 0)
				return -1;
		}
	}
	for (int i = 0; pf_managed_files[i]; i++) {
		if (pf_config_find(cfg, pf_managed_files[i]))
			continue;
		path_join(path, sizeof(path), in->config_dir, pf_managed_files[i]);
		unlink(path);
		strncat(path, ".db", sizeof(path) - strlen(path) - 1);
		unlink(path);
	}
	return 0;
}

/* postfix_cmd - `postfix -c DIR what`; 0, or -1 with its output in err */
static int postfix_cmd(const struct pf_instance *in, const char *what, char *err, size_t errsz)
{
	char postfix[PATH_MAX], out[OUTPUT_SIZE];
	const char *argv[] = {postfix, "-c", in->config_dir, what, NULL};
	int rc;

	tool(postfix, sizeof(postfix), in, "postfix");
	rc = proc_run(argv, TOOL_TIMEOUT, out, sizeof(out));
	if (rc != 0) {
		snprintf(err, errsz, "postfix %s failed (status %d): %s", what, rc,
			 out[0] ? out : "no message");
		return -1;
	}
	return 0;
}

/* lock_staging - an exclusive flock on STAGING.lock; the fd, or -1 */
static int lock_staging(const struct pf_instance *in, char *err, size_t errsz)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s.lock", in->staging_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		snprintf(err, errsz, "cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* same_file - true when the live file name holds exactly len bytes equal to text */
static bool same_file(const struct pf_instance *in, const char *name, const char *text,
		      size_t len)
{
	char path[PATH_MAX];
	size_t have;
	char *data;
	bool same;

	if (path_join(path, sizeof(path), in->config_dir, name) < 0 ||
	    (data = vr_read_file(path, FILE_LIMIT, &have)) == NULL)
		return false;
	same = have == len && memcmp(data, text, len) == 0;
	free(data);
	return same;
}

/* index_current - true when the live table name has its NAME.db, not older than the source
 * (postmap ran after the source was written: what Postfix reads is what the source says) */
static bool index_current(const struct pf_instance *in, const char *name)
{
	char src[PATH_MAX], db[PATH_MAX + 4];
	struct stat ss, ds;

	if (path_join(src, sizeof(src), in->config_dir, name) < 0)
		return false;
	snprintf(db, sizeof(db), "%s.db", src);
	if (stat(src, &ss) < 0 || stat(db, &ds) < 0)
		return false;
	return ds.st_mtim.tv_sec > ss.st_mtim.tv_sec ||
	       (ds.st_mtim.tv_sec == ss.st_mtim.tv_sec && ds.st_mtim.tv_nsec >= ss.st_mtim.tv_nsec);
}

/* live_matches - step 0: true when the live directory already holds exactly cfg (each file
 * byte for byte, each hash table indexed, no managed file that cfg does not render) */
static bool live_matches(const struct pf_instance *in, const struct pf_config *cfg)
{
	char path[PATH_MAX + 4];
	struct stat st;

	for (size_t i = 0; i < cfg->n; i++) {
		const struct pf_file *f = &cfg->files[i];

		if (!same_file(in, f->name, f->text, f->len) ||
		    (f->kind == PF_HASH && !index_current(in, f->name)))
			return false;
	}
	for (int i = 0; pf_managed_files[i]; i++) {
		if (pf_config_find(cfg, pf_managed_files[i]))
			continue;
		for (int db = 0; db < 2; db++) {
			snprintf(path, sizeof(path), "%s/%s%s", in->config_dir, pf_managed_files[i],
				 db ? ".db" : "");
			if (lstat(path, &st) == 0)
				return false;
		}
	}
	return true;
}

/* apply_locked - the steps, with the lock held */
static enum vr_err apply_locked(const struct pf_instance *in, const struct pf_config *cfg,
				const struct snapshot *s, bool flush_verify, bool *unchanged,
				char *err, size_t errsz)
{
	struct saved sv[MAX_MANAGED];
	enum pf_state state;
	enum vr_err e;
	char why[OUTPUT_SIZE * 2];
	int nsv;

	if (mkdir_p(in->queue_dir) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", in->queue_dir, strerror(errno));
		return VR_E_UNAVAILABLE;
	}
	/* a version that changes nothing Postfix reads (a list entry, a preference) costs a
	 * comparison, not a check and a reload */
	if (!flush_verify && live_matches(in, cfg) && pf_status(in) == PF_RUNNING) {
		*unchanged = true;
		return VR_OK;
	}
	if ((e = stage(in, cfg, err, errsz)) != VR_OK ||
	    (e = check_staged(in, cfg, err, errsz)) != VR_OK)
		return e;
	state = pf_status(in);
	if ((e = check_listeners(in, s, state == PF_RUNNING, err, errsz)) != VR_OK)
		return e;

	if ((nsv = save_live(in, sv, err, errsz)) < 0)
		return VR_E_UNAVAILABLE;
	if (install(in, cfg, err, errsz) < 0) {
		restore_live(in, sv, nsv);
		free_saved(sv, nsv);
		return VR_E_UNAVAILABLE;
	}
	if (flush_verify) {
		char cache[PATH_MAX];

		path_join(cache, sizeof(cache), in->data_dir, "verify_cache.db");
		if (unlink(cache) < 0 && errno != ENOENT)
			VR_LOG_WARN("cannot flush %s: %s", cache, strerror(errno));
		else
			VR_LOG_INFO("address verification cache %s flushed", cache);
	}
	if (postfix_cmd(in, state == PF_RUNNING ? "reload" : "start", why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s; previous configuration restored", why);
		restore_live(in, sv, nsv);
		if (pf_status(in) == PF_RUNNING && postfix_cmd(in, "reload", why, sizeof(why)) < 0)
			VR_LOG_ERR("reload of the previous configuration: %s", why);
		free_saved(sv, nsv);
		return VR_E_UNAVAILABLE;
	}
	VR_LOG_INFO("postfix %s: the new configuration is in force",
		    state == PF_RUNNING ? "reload" : "start");
	free_saved(sv, nsv);
	clear_dir(in->staging_dir);
	return VR_OK;
}

/* pf_apply - compare, or stage, check, install, reload (see postfix_apply.h) */
enum vr_err pf_apply(const struct pf_instance *in, const struct pf_config *cfg,
		     const struct snapshot *s, bool flush_verify, bool *unchanged, char *err,
		     size_t errsz)
{
	int lock = lock_staging(in, err, errsz);
	bool same = false;
	enum vr_err e;

	if (lock < 0)
		return VR_E_UNAVAILABLE;
	e = apply_locked(in, cfg, s, flush_verify, &same, err, errsz);
	if (unchanged)
		*unchanged = same;
	close(lock);
	return e;
}
