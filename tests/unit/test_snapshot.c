/* test_snapshot.c - agent/snapshot.c: a good snapshot parses; each bad field is named.
 *
 * The bad cases are a table of mutations of one good snapshot (a JSON path, a new value or
 * a removal) with the field the error must name and the error code.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "snapshot.h"

static const char good[] =
	"{\"version\": 7, \"generated_at\": \"2026-11-28T01:02:03Z\","
	" \"hostname\": \"MX.Corp.Test\","
	" \"listeners\": {\"inbound\": {\"address\": \"127.0.0.1\", \"port\": 25},"
	"                \"outbound\": {\"address\": \"127.0.0.1\", \"port\": 8025},"
	"                \"reinject\": {\"address\": \"127.0.0.1\", \"port\": 10025}},"
	" \"message_size_limit\": 26214400,"
	" \"domains\": [{\"name\": \"Corp.Test\", \"internal_host\": \"127.0.0.1\","
	"               \"internal_port\": 2525, \"verify_recipients\": true},"
	"              {\"name\": \"other.test\", \"internal_host\": \"2001:DB8::0:25\","
	"               \"internal_port\": 25}],"
	" \"internal_networks\": [\"127.0.0.10/32\", \"10.0.0.0/8\", \"::1/128\"],"
	" \"outbound\": {\"mode\": \"smarthost\", \"smarthost_host\": \"relay.isp.test\","
	"              \"smarthost_port\": 2526},"
	" \"verify_cache\": {\"positive_ttl\": 3600, \"negative_ttl\": 300},"
	" \"tls\": {\"inbound_cert\": null, \"inbound_key\": null, \"outbound\": \"may\"},"
	" \"future_member\": {\"ignored\": true}}";

/* good_parses - every field lands where it should, canonicalised */
static void good_parses(void **state)
{
	struct snapshot *s = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(snapshot_parse(good, strlen(good), &s, err, sizeof(err)), VR_OK);
	assert_non_null(s);
	assert_int_equal(s->version, 7);
	assert_string_equal(s->hostname, "mx.corp.test");
	assert_string_equal(s->inbound.address, "127.0.0.1");
	assert_int_equal(s->outbound.port, 8025);
	assert_int_equal(s->n_domains, 2);
	assert_string_equal(s->domains[0].name, "corp.test");
	assert_true(s->domains[0].verify_recipients);
	assert_false(s->domains[1].verify_recipients);
	assert_string_equal(s->domains[1].internal_host, "2001:db8::25");
	assert_true(s->domains[1].internal_v6);
	assert_int_equal(s->n_networks, 3);
	assert_string_equal(s->networks[2].cidr, "::1/128");
	assert_true(s->networks[2].v6);
	assert_int_equal(s->outbound_mode, SNAP_OUT_SMARTHOST);
	assert_string_equal(s->smarthost_host, "relay.isp.test");
	assert_int_equal(s->verify_negative_ttl, 300);
	assert_null(s->tls_inbound_cert);
	assert_string_equal(s->tls_outbound, "may");
	snapshot_free(s);
}

/* One bad snapshot: set path to value (JSON text; NULL removes the member). */
struct bad_case {
	const char *path;
	const char *value;
	const char *field; /* what the error must start with */
	enum vr_err code;
};

static const struct bad_case bad_cases[] = {
	{"version", "\"7\"", "version:", VR_E_INVALID_FIELD},
	{"version", "0", "version:", VR_E_INVALID_FIELD},
	{"version", NULL, "version:", VR_E_MISSING_FIELD},
	{"generated_at", "\"yesterday\"", "generated_at:", VR_E_INVALID_FIELD},
	{"hostname", "\"mx\"", "hostname:", VR_E_INVALID_FIELD},
	{"hostname", "\"mx_1.corp.test\"", "hostname:", VR_E_INVALID_FIELD},
	{"hostname", "\"mx.corp.test\\nrelayhost = evil\"", "hostname:", VR_E_INVALID_FIELD},
	{"hostname", "\"$myhostname.test\"", "hostname:", VR_E_INVALID_FIELD},
	{"listeners", NULL, "listeners:", VR_E_MISSING_FIELD},
	{"listeners.inbound", "[]", "listeners.inbound:", VR_E_INVALID_FIELD},
	{"listeners.inbound.port", "0", "listeners.inbound.port:", VR_E_INVALID_FIELD},
	{"listeners.inbound.port", "65536", "listeners.inbound.port:", VR_E_INVALID_FIELD},
	{"listeners.outbound.address", "\"localhost\"", "listeners.outbound.address:",
	 VR_E_INVALID_FIELD},
	{"listeners.outbound.port", "25", "listeners.outbound.port:", VR_E_INVALID_FIELD},
	{"listeners.reinject.address", "\"0.0.0.0\"", "listeners.reinject.address:",
	 VR_E_INVALID_FIELD},
	{"listeners.reinject.address", "\"192.0.2.1\"", "listeners.reinject.address:",
	 VR_E_INVALID_FIELD},
	{"listeners.reinject.port", NULL, "listeners.reinject.port:", VR_E_MISSING_FIELD},
	{"message_size_limit", "-1", "message_size_limit:", VR_E_INVALID_FIELD},
	{"message_size_limit", "1.5", "message_size_limit:", VR_E_INVALID_FIELD},
	{"domains", "{}", "domains:", VR_E_INVALID_FIELD},
	{"domains[0]", "\"corp.test\"", "domains[0]:", VR_E_INVALID_FIELD},
	{"domains[0].name", "\"corp..test\"", "domains[0].name:", VR_E_INVALID_FIELD},
	{"domains[0].name", "\"-corp.test\"", "domains[0].name:", VR_E_INVALID_FIELD},
	{"domains[0].name", "\"localhost\"", "domains[0].name:", VR_E_INVALID_FIELD},
	{"domains[0].name", "\"corp.test,evil.test\"", "domains[0].name:", VR_E_INVALID_FIELD},
	{"domains[1].name", "\"CORP.test\"", "domains[1].name:", VR_E_INVALID_FIELD},
	{"domains[1].name", NULL, "domains[1].name:", VR_E_MISSING_FIELD},
	{"domains[0].internal_host", "\"exa mple\"", "domains[0].internal_host:",
	 VR_E_INVALID_FIELD},
	{"domains[0].internal_host", "\"\"", "domains[0].internal_host:", VR_E_INVALID_FIELD},
	{"domains[0].internal_port", "70000", "domains[0].internal_port:", VR_E_INVALID_FIELD},
	{"domains[0].verify_recipients", "\"yes\"", "domains[0].verify_recipients:",
	 VR_E_INVALID_FIELD},
	{"internal_networks", "\"10.0.0.0/8\"", "internal_networks:", VR_E_INVALID_FIELD},
	{"internal_networks[1]", "\"10.0.0.1/8\"", "internal_networks[1]:", VR_E_INVALID_FIELD},
	{"internal_networks[0]", "\"10.0.0.0/33\"", "internal_networks[0]:", VR_E_INVALID_FIELD},
	{"internal_networks[2]", "\"2001:db8::/129\"", "internal_networks[2]:",
	 VR_E_INVALID_FIELD},
	{"internal_networks[2]", "\"2001:db8::1/32\"", "internal_networks[2]:",
	 VR_E_INVALID_FIELD},
	{"internal_networks[0]", "\"banana\"", "internal_networks[0]:", VR_E_INVALID_FIELD},
	{"internal_networks[0]", "\"10.0.0.0/\"", "internal_networks[0]:", VR_E_INVALID_FIELD},
	{"internal_networks[0]", "42", "internal_networks[0]:", VR_E_INVALID_FIELD},
	{"outbound.mode", "\"relay\"", "outbound.mode:", VR_E_INVALID_FIELD},
	{"outbound.smarthost_host", NULL, "outbound.smarthost_host:", VR_E_MISSING_FIELD},
	{"outbound.smarthost_host", "\"[127.0.0.1]\"", "outbound.smarthost_host:",
	 VR_E_INVALID_FIELD},
	{"outbound.smarthost_port", "0", "outbound.smarthost_port:", VR_E_INVALID_FIELD},
	{"verify_cache", NULL, "verify_cache:", VR_E_MISSING_FIELD},
	{"verify_cache.positive_ttl", "0", "verify_cache.positive_ttl:", VR_E_INVALID_FIELD},
	{"verify_cache.negative_ttl", "\"300\"", "verify_cache.negative_ttl:", VR_E_INVALID_FIELD},
	{"tls", NULL, "tls:", VR_E_MISSING_FIELD},
	{"tls.inbound_cert", "\"certs/mx.pem\"", "tls.inbound_cert:", VR_E_INVALID_FIELD},
	{"tls.inbound_cert", "\"/etc/ssl/mx cert.pem\"", "tls.inbound_cert:", VR_E_INVALID_FIELD},
	{"tls.inbound_cert", "\"/etc/ssl/mx.pem\"", "tls.inbound_key:", VR_E_MISSING_FIELD},
	{"tls.inbound_key", "\"/etc/ssl/mx.key\"", "tls.inbound_cert:", VR_E_MISSING_FIELD},
	{"tls.outbound", "\"maybe\"", "tls.outbound:", VR_E_INVALID_FIELD},
};

/* walk - the container and key/index that path names in root */
static json_t *walk(json_t *root, const char *path, char *key, size_t keysz, long *index)
{
	char copy[128], *save = NULL, *part, *next;
	json_t *cur = root;

	snprintf(copy, sizeof(copy), "%s", path);
	part = strtok_r(copy, ".", &save);
	while (part) {
		char *br = strchr(part, '[');

		next = strtok_r(NULL, ".", &save);
		*index = -1;
		if (br) {
			*br = '\0';
			*index = strtol(br + 1, NULL, 10);
		}
		if (next == NULL) {
			snprintf(key, keysz, "%s", part);
			if (*index >= 0)
				return json_object_get(cur, part);
			return cur;
		}
		cur = json_object_get(cur, part);
		if (*index >= 0)
			cur = json_array_get(cur, (size_t)*index);
		assert_non_null(cur);
		part = next;
	}
	fail();
	return NULL;
}

/* mutate - good snapshot text with path set to value (or removed) */
static char *mutate(const char *path, const char *value)
{
	json_t *root = json_loads(good, 0, NULL), *parent, *v = NULL;
	char key[64], *text;
	long index = -1;

	assert_non_null(root);
	parent = walk(root, path, key, sizeof(key), &index);
	assert_non_null(parent);
	if (value) {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
	}
	if (index >= 0) {
		if (v)
			json_array_set_new(parent, (size_t)index, v);
		else
			json_array_remove(parent, (size_t)index);
	} else if (v) {
		json_object_set_new(parent, key, v);
	} else {
		json_object_del(parent, key);
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* bad_fields - each mutation is refused, naming its field first */
static void bad_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *text = mutate(c->path, c->value), err[512] = "";
		struct snapshot *s = (struct snapshot *)1;
		enum vr_err e = snapshot_parse(text, strlen(text), &s, err, sizeof(err));

		if (e != c->code || strncmp(err, c->field, strlen(c->field)) != 0) {
			print_error("case %zu (%s = %s): got %d '%s', want %d '%s...'\n", i,
				    c->path, c->value ? c->value : "(removed)", e, err, c->code,
				    c->field);
			free(text);
			fail();
		}
		assert_null(s);
		free(text);
	}
}

/* not_json - garbage and non-objects are VR_E_BAD_JSON */
static void not_json(void **state)
{
	struct snapshot *s;
	char err[256];

	(void)state;
	assert_int_equal(snapshot_parse("{\"version\":", 11, &s, err, sizeof(err)), VR_E_BAD_JSON);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(snapshot_parse("[1]", 3, &s, err, sizeof(err)), VR_E_BAD_JSON);
	assert_int_equal(snapshot_parse("{\"version\": 1, \"version\": 2}", 28, &s, err,
					sizeof(err)),
			 VR_E_BAD_JSON);
}

/* ip_literals - canonical text of addresses; names are not addresses */
static void ip_literals(void **state)
{
	char out[64];
	bool v6;

	(void)state;
	assert_true(snap_ip_literal("127.0.0.1", out, sizeof(out), &v6));
	assert_string_equal(out, "127.0.0.1");
	assert_false(v6);
	assert_true(snap_ip_literal("2001:DB8:0:0::1", out, sizeof(out), &v6));
	assert_string_equal(out, "2001:db8::1");
	assert_true(v6);
	assert_false(snap_ip_literal("localhost", out, sizeof(out), &v6));
	assert_false(snap_ip_literal("[::1]", out, sizeof(out), &v6));
	assert_false(snap_ip_literal("127.1", out, sizeof(out), &v6));
}

/* flush_generation - optional; an integer when present */
static void flush_generation(void **state)
{
	struct snapshot *s;
	char err[256], *text;

	(void)state;
	assert_int_equal(snapshot_parse(good, strlen(good), &s, err, sizeof(err)), VR_OK);
	assert_int_equal(s->verify_flush_generation, 0);
	snapshot_free(s);
	text = mutate("verify_cache.flush_generation", "4");
	assert_int_equal(snapshot_parse(text, strlen(text), &s, err, sizeof(err)), VR_OK);
	assert_int_equal(s->verify_flush_generation, 4);
	snapshot_free(s);
	free(text);
	text = mutate("verify_cache.flush_generation", "\"4\"");
	assert_int_equal(snapshot_parse(text, strlen(text), &s, err, sizeof(err)),
			 VR_E_INVALID_FIELD);
	assert_non_null(strstr(err, "verify_cache.flush_generation:"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_parses),	cmocka_unit_test(bad_fields),
		cmocka_unit_test(not_json),	cmocka_unit_test(ip_literals),
		cmocka_unit_test(flush_generation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
