/* test_render_postfix.c - agent/render_postfix.c against golden files.
 *
 * Each directory tests/unit/golden/postfix/<case>/ holds snapshot.json, optionally
 * agent.conf (the node's settings: "milter_socket = PATH", "dns = yes|no"), and the
 * expected rendered files (main.cf, master.cf, relay_domains, transport, mynetworks,
 * verify_recipients when some domain verifies). The test renders each case and compares
 * file by file, and checks that the set of files is the same.
 * VR_UPDATE_GOLDEN=1 rewrites the expected files from the renderer (review the diff!).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cm.h"
#include "render_postfix.h"
#include "snapshot.h"

#ifndef VR_GOLDEN_DIR
#error "VR_GOLDEN_DIR must name tests/unit/golden/postfix"
#endif

#define MIN_CASES 5

/* The local settings every case renders with, unless agent.conf says otherwise. */
static const struct pf_local base_local = {
	.queue_dir = "/var/spool/vrgate/postfix",
	.data_dir = "/var/lib/vrgate/postfix",
	.maillog_file = "/var/log/vrgate/postfix.log",
	.milter_socket = "/run/vrgate/milter.sock",
	.dns = false,
};

/* read_local - apply agent.conf of a case (if any) to *l; milter is a buffer for the path */
static void read_local(const char *dir, struct pf_local *l, char *milter, size_t msz)
{
	char path[PATH_MAX], line[512];
	FILE *f;

	*l = base_local;
	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[64] = "", value[400] = "";

		if (line[0] == '#' || sscanf(line, " %63[a-z_] = %399[^\n]", name, value) < 1)
			continue;
		if (!strcmp(name, "milter_socket")) {
			snprintf(milter, msz, "%s", value);
			l->milter_socket = milter;
		} else if (!strcmp(name, "dns")) {
			l->dns = !strcmp(value, "yes");
		} else {
			fail_msg("%s: unknown setting '%s'", path, name);
		}
	}
	fclose(f);
}

/* first_difference - print where two texts part */
static void first_difference(const char *file, const char *want, const char *got)
{
	int line = 1;
	const char *w = want, *g = got;

	while (*w && *w == *g) {
		if (*w == '\n')
			line++;
		w++;
		g++;
	}
	print_error("%s differs from line %d:\n  want: %.*s\n  got:  %.*s\n"
		    "(VR_UPDATE_GOLDEN=1 rewrites the golden files)\n",
		    file, line, (int)strcspn(w, "\n"), w, (int)strcspn(g, "\n"), g);
}

/* is_input - files of a case directory that are inputs, not expected output */
static bool is_input(const char *name)
{
	return !strcmp(name, "snapshot.json") || !strcmp(name, "agent.conf") || name[0] == '.';
}

/* check_case - render one case and compare (or rewrite) its golden files */
static int check_case(const char *dir, bool update)
{
	char path[PATH_MAX], err[512], milter[400];
	struct pf_local local;
	struct pf_config cfg;
	struct snapshot *s;
	struct dirent *de;
	size_t len;
	char *text;
	int bad = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/snapshot.json", dir);
	text = vr_read_file(path, 1 << 20, &len);
	if (text == NULL) {
		print_error("%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (snapshot_parse(text, len, &s, err, sizeof(err)) != VR_OK) {
		print_error("%s: %s\n", path, err);
		free(text);
		return 1;
	}
	free(text);
	read_local(dir, &local, milter, sizeof(milter));
	assert_int_equal(render_postfix(s, &local, &cfg, err, sizeof(err)), VR_OK);

	for (size_t i = 0; i < cfg.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, cfg.files[i].name);
		if (update) {
			assert_int_equal(vr_atomic_write(path, cfg.files[i].text, cfg.files[i].len,
							 0644),
					 0);
			continue;
		}
		text = vr_read_file(path, 1 << 20, &len);
		if (text == NULL) {
			print_error("%s: missing (rendered but not in the golden set)\n", path);
			bad++;
			continue;
		}
		if (len != cfg.files[i].len || memcmp(text, cfg.files[i].text, len) != 0) {
			first_difference(path, text, cfg.files[i].text);
			bad++;
		}
		free(text);
	}
	/* golden files the renderer no longer produces */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (is_input(de->d_name) || pf_config_find(&cfg, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (update) {
			unlink(path);
		} else {
			print_error("%s: in the golden set but not rendered\n", path);
			bad++;
		}
	}
	closedir(d);
	pf_config_free(&cfg);
	snapshot_free(s);
	return bad;
}

/* golden_cases - every case directory under VR_GOLDEN_DIR */
static void golden_cases(void **state)
{
	const char *env = getenv("VR_UPDATE_GOLDEN");
	bool update = env && !strcmp(env, "1");
	struct dirent **list;
	int n, cases = 0, bad = 0;

	(void)state;
	n = scandir(VR_GOLDEN_DIR, &list, NULL, alphasort);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		char dir[1024];
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/%s", VR_GOLDEN_DIR, list[i]->d_name);
		if (list[i]->d_name[0] != '.' && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			cases++;
			bad += check_case(dir, update);
		}
		free(list[i]);
	}
	free(list);
	assert_true(cases >= MIN_CASES);
	assert_int_equal(bad, 0);
}

/* invariants - properties every rendering must have, whatever the golden files say */
static void invariants(void **state)
{
	static const char snap[] =
		"{\"version\": 3, \"generated_at\": \"2026-11-28T01:02:03Z\","
		" \"hostname\": \"mx.corp.test\","
		" \"listeners\": {\"inbound\": {\"address\": \"127.0.0.1\", \"port\": 25},"
		"  \"outbound\": {\"address\": \"127.0.0.1\", \"port\": 8025},"
		"  \"reinject\": {\"address\": \"127.0.0.1\", \"port\": 10025}},"
		" \"message_size_limit\": 1048576, \"domains\": [],"
		" \"internal_networks\": [], \"outbound\": {\"mode\": \"mx\"},"
		" \"verify_cache\": {\"positive_ttl\": 1, \"negative_ttl\": 1},"
		" \"tls\": {\"inbound_cert\": null, \"inbound_key\": null, \"outbound\": \"none\"}}";
	struct pf_local local = base_local;
	struct pf_config cfg;
	struct snapshot *s;
	char err[256];
	const struct pf_file *f;

	(void)state;
	assert_int_equal(snapshot_parse(snap, strlen(snap), &s, err, sizeof(err)), VR_OK);
	assert_int_equal(render_postfix(s, &local, &cfg, err, sizeof(err)), VR_OK);
	/* no domain verifies: no table, no check_recipient_access */
	assert_null(pf_config_find(&cfg, "verify_recipients"));
	f = pf_config_find(&cfg, "master.cf");
	assert_non_null(f);
	assert_null(strstr(f->text, "verify_recipients"));
	/* never a chrooted service: the 5th column is always "n" */
	{
		char *copy = strdup(f->text), *save = NULL;

		for (char *line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char c[5][32];

			if (line[0] == '#' || line[0] == ' ')
				continue;
			assert_int_equal(sscanf(line, "%31s %31s %31s %31s %31s", c[0], c[1], c[2],
						c[3], c[4]),
					 5);
			assert_string_equal(c[4], "n");
		}
		free(copy);
	}
	/* the milter tells the listeners apart by {daemon_name}: inbound before outbound, the
	 * reinjection listener never filtered */
	{
		const char *in =
			strstr(f->text, "milter_macro_daemon_name=" PF_MILTER_DAEMON_INBOUND "\n");
		const char *out =
			strstr(f->text, "milter_macro_daemon_name=" PF_MILTER_DAEMON_OUTBOUND "\n");
		const char *re = strstr(f->text, "# reinject:");

		assert_non_null(in);
		assert_non_null(out);
		assert_non_null(re);
		assert_true(in < strstr(f->text, "# outbound:") && out < re);
		assert_non_null(strstr(re, "  -o smtpd_milters=\n"));
		assert_null(strstr(re, "milter_macro_daemon_name"));
	}
	/* the main.cf is the last file (installed last) */
	assert_string_equal(cfg.files[cfg.n - 1].name, "main.cf");
	f = pf_config_find(&cfg, "main.cf");
	assert_non_null(strstr(f->text, "\nrelayhost =\n"));
	assert_non_null(strstr(f->text, "\nsmtp_dns_support_level = disabled\n"));
	assert_non_null(strstr(f->text, "\naddress_verify_negative_refresh_time = 1s\n"));
	pf_config_free(&cfg);

	/* a local path that main.cf cannot carry is refused, naming the setting */
	local.queue_dir = "/var/spool/vr gate";
	assert_int_equal(render_postfix(s, &local, &cfg, err, sizeof(err)), VR_E_INVALID_FIELD);
	assert_non_null(strstr(err, "postfix-queue-dir"));
	local = base_local;
	local.milter_socket = "relative.sock";
	assert_int_equal(render_postfix(s, &local, &cfg, err, sizeof(err)), VR_E_INVALID_FIELD);
	assert_non_null(strstr(err, "milter-socket"));
	snapshot_free(s);
}

/* render_text - render a snapshot text with the base local settings */
static void render_text(const char *text, struct pf_config *cfg)
{
	struct snapshot *s;
	char err[256];

	assert_int_equal(snapshot_parse(text, strlen(text), &s, err, sizeof(err)), VR_OK);
	assert_int_equal(render_postfix(s, &base_local, cfg, err, sizeof(err)), VR_OK);
	snapshot_free(s);
}

/* version_free - snapshots that differ only in version, time and the filter section (a
 * user's list entry) render the same bytes: postfix_apply.c then skips the reload */
static void version_free(void **state)
{
#define SNAP_BODY                                                                              \
	" \"listeners\": {\"inbound\": {\"address\": \"127.0.0.1\", \"port\": 25},"              \
	"  \"outbound\": {\"address\": \"127.0.0.1\", \"port\": 8025},"                          \
	"  \"reinject\": {\"address\": \"127.0.0.1\", \"port\": 10025}},"                        \
	" \"message_size_limit\": 1048576,"                                                     \
	" \"domains\": [{\"name\": \"corp.test\", \"internal_host\": \"127.0.0.1\","             \
	"   \"internal_port\": 2525, \"verify_recipients\": true}],"                            \
	" \"internal_networks\": [\"10.0.0.0/8\"], \"outbound\": {\"mode\": \"mx\"},"             \
	" \"verify_cache\": {\"positive_ttl\": 60, \"negative_ttl\": 10},"                      \
	" \"tls\": {\"inbound_cert\": null, \"inbound_key\": null, \"outbound\": \"may\"}"
	static const char v3[] = "{\"version\": 3, \"generated_at\": \"2026-11-28T01:02:03Z\","
				 " \"hostname\": \"mx.corp.test\"," SNAP_BODY "}";
	static const char v4[] = "{\"version\": 4, \"generated_at\": \"2026-11-29T05:06:07Z\","
				 " \"hostname\": \"mx.corp.test\"," SNAP_BODY
				 ", \"filter\": {\"lists\": [{\"kind\": \"block\","
				 " \"pattern\": \"noisy.test\"}]}}";
	static const char v5[] = "{\"version\": 5, \"generated_at\": \"2026-11-29T05:06:08Z\","
				 " \"hostname\": \"mx2.corp.test\"," SNAP_BODY "}";
#undef SNAP_BODY
	struct pf_config a, b, c;

	(void)state;
	render_text(v3, &a);
	render_text(v4, &b);
	render_text(v5, &c);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.files[i].name, b.files[i].name);
		assert_int_equal(a.files[i].len, b.files[i].len);
		assert_memory_equal(a.files[i].text, b.files[i].text, a.files[i].len);
		assert_null(strstr(a.files[i].text, "version 3"));
		assert_null(strstr(a.files[i].text, "2026-11-28"));
	}
	/* a change Postfix reads does show */
	assert_string_not_equal(pf_config_find(&a, "main.cf")->text,
				pf_config_find(&c, "main.cf")->text);
	pf_config_free(&a);
	pf_config_free(&b);
	pf_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_cases),
		cmocka_unit_test(invariants),
		cmocka_unit_test(version_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
