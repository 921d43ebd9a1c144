/* test_db.c - apid/db*.c on a :memory: database with every migration applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "db.h"

static int setup(void **state)
{
	char err[256];

	vr_crypto_init();
	*state = db_open(":memory:", err, sizeof(err));
	if (*state == NULL)
		fprintf(stderr, "%s\n", err);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	db_close(*state);
	return 0;
}

static void migrated(void **state)
{
	assert_int_equal(db_user_version(*state), (int)schema_migrations_count);
	assert_true(db_size_bytes(*state) > 0);
	assert_int_equal(db_health_probe(*state, 5), VR_OK);
}

/* a database newer than this build is refused, and left as it was */
static void newer_schema_refused(void **state)
{
	char err[512] = "";

	assert_int_equal(db_migrate_to(*state, schema_migrations, schema_migrations_count - 1,
				       err, sizeof(err)),
			 VR_E_CONFLICT);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(db_user_version(*state), (int)schema_migrations_count);
}

/* a failing migration is rolled back whole */
static void failed_migration_rolls_back(void **state)
{
	struct vr_embedded m[64];
	char err[512] = "";
	size_t n = schema_migrations_count;
	int64_t count = -1;

	memcpy(m, schema_migrations, n * sizeof(m[0]));
	m[n] = (struct vr_embedded){"9999_bad.sql",
				    "CREATE TABLE half_done (x); INSERT INTO nowhere VALUES (1);", 0};
	assert_int_equal(db_migrate_to(*state, m, n + 1, err, sizeof(err)), VR_E_INTERNAL);
	assert_non_null(strstr(err, "9999_bad.sql"));
	assert_int_equal(db_user_version(*state), (int)n);
	/* the table the broken migration created first is gone with it */
	m[n] = (struct vr_embedded){"9999_ok.sql", "CREATE TABLE half_done (x);", 0};
	assert_int_equal(db_migrate_to(*state, m, n + 1, err, sizeof(err)), VR_OK);
	assert_int_equal(db_users_count_role(*state, ROLE_ADMIN, &count), VR_OK);
	assert_int_equal(count, 0);
}

static void users(void **state)
{
	struct db_user u = {.id = "id-1", .username = "Alice", .role = ROLE_ADMIN,
			    .password_hash = "h", .created_at = 10};
	struct db_user got;
	int64_t n;

	assert_int_equal(db_users_create_local(*state, &u), VR_OK);
	assert_int_equal(db_users_create_local(*state, &u), VR_E_CONFLICT);
	assert_int_equal(db_users_by_name(*state, "alice", &got), VR_OK); /* any case */
	assert_string_equal(got.id, "id-1");
	assert_string_equal(got.source, "local");
	assert_int_equal(got.role, ROLE_ADMIN);
	db_user_clear(&got);
	assert_int_equal(db_users_by_name(*state, "alice' OR '1'='1", &got), VR_E_NOT_FOUND);
	assert_int_equal(db_users_by_id(*state, "nope", &got), VR_E_NOT_FOUND);
	assert_int_equal(db_users_count_role(*state, ROLE_ADMIN, &n), VR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(db_users_touch_login(*state, "id-1", 99), VR_OK);
	assert_int_equal(db_users_by_id(*state, "id-1", &got), VR_OK);
	assert_int_equal(got.last_login_at, 99);
	db_user_clear(&got);
}

static void sessions(void **state)
{
	struct db_user u = {.id = "id-2", .username = "bob", .role = ROLE_USER, .created_at = 1};
	struct db_session s = {0};

	assert_int_equal(db_users_create_local(*state, &u), VR_OK);
	assert_int_equal(db_sessions_add(*state, "j1", "id-2", 100, 1000, "127.0.0.1"), VR_OK);
	assert_int_equal(db_sessions_get(*state, "j1", &s), VR_OK);
	assert_false(s.revoked);
	assert_string_equal(s.user.username, "bob");
	db_user_clear(&s.user);
	assert_int_equal(db_sessions_revoke(*state, "j1", 200), VR_OK);
	assert_int_equal(db_sessions_get(*state, "j1", &s), VR_OK);
	assert_true(s.revoked);
	db_user_clear(&s.user);
	assert_int_equal(db_sessions_purge(*state, 1001), VR_OK);
	assert_int_equal(db_sessions_get(*state, "j1", &s), VR_E_NOT_FOUND);
	/* a session for a user who does not exist is refused by the foreign key */
	assert_int_equal(db_sessions_add(*state, "j2", "ghost", 1, 2, NULL), VR_E_CONFLICT);
}

static int count_token(const struct db_token *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

static void tokens(void **state)
{
	struct db_user u = {.id = "id-3", .username = "carol", .role = ROLE_HELPDESK,
			    .created_at = 1};
	struct db_token t = {.id = "t1", .user_id = "id-3", .name = "ticketing",
			     .role = ROLE_USER, .created_at = 5, .expires_at = 1000};
	struct db_token t2 = {.id = "t2", .user_id = "id-3", .name = "old", .role = ROLE_USER,
			      .created_at = 5, .expires_at = 50};
	unsigned char h[32] = {1}, h2[32] = {2}, none[32] = {3};
	struct db_token got;
	int n = 0;

	assert_int_equal(db_users_create_local(*state, &u), VR_OK);
	assert_int_equal(db_tokens_add(*state, &t, h), VR_OK);
	assert_int_equal(db_tokens_add(*state, &t2, h2), VR_OK);
	assert_int_equal(db_tokens_add(*state, &t, h2), VR_E_CONFLICT); /* same id, same hash */
	assert_int_equal(db_tokens_by_hash(*state, h, &got), VR_OK);
	assert_string_equal(got.id, "t1");
	assert_string_equal(got.owner, "carol");
	assert_int_equal(got.owner_role, ROLE_HELPDESK);
	assert_int_equal(got.role, ROLE_USER);
	db_token_clear(&got);
	assert_int_equal(db_tokens_by_hash(*state, none, &got), VR_E_NOT_FOUND);
	/* at time 100, t2 has expired: only t1 is listed */
	assert_int_equal(db_tokens_list(*state, "carol", 100, count_token, &n), VR_OK);
	assert_int_equal(n, 1);
	/* somebody else cannot revoke it; its owner can, once */
	assert_int_equal(db_tokens_revoke(*state, "t1", "id-2", 101), VR_E_NOT_FOUND);
	assert_int_equal(db_tokens_revoke(*state, "t1", "id-3", 101), VR_OK);
	assert_int_equal(db_tokens_revoke(*state, "t1", NULL, 102), VR_E_NOT_FOUND);
	assert_int_equal(db_tokens_get(*state, "t1", &got), VR_OK);
	assert_int_equal(got.revoked_at, 101);
	db_token_clear(&got);
	n = 0;
	assert_int_equal(db_tokens_list(*state, NULL, 100, count_token, &n), VR_OK);
	assert_int_equal(n, 0);
}

struct seen {
	int n;
	char ids[32][VR_ID_LEN];
};

static int collect(const struct db_audit_event *ev, void *arg)
{
	struct seen *s = arg;

	snprintf(s->ids[s->n++], VR_ID_LEN, "%s", ev->id);
	return 0;
}

/* keyset pages walk every event once, newest first; filters narrow */
static void audit_pages(void **state)
{
	struct db_audit_filter f = {.limit = 3};
	struct seen all = {0};
	int64_t next = 0;
	int pages = 0;

	for (int i = 0; i < 10; i++)
		assert_int_equal(db_audit_add(*state, i % 2 ? "alice" : "bob", "auth.login", NULL,
					      i % 3 != 0, "127.0.0.1", NULL, 1000 + i),
				 VR_OK);
	do {
		f.before_seq = next;
		assert_int_equal(db_audit_list(*state, &f, collect, &all, &next), VR_OK);
		pages++;
	} while (next && pages < 10);
	assert_int_equal(all.n, 10);
	assert_int_equal(pages, 4);
	for (int i = 0; i < all.n; i++)
		for (int k = 0; k < i; k++)
			assert_string_not_equal(all.ids[i], all.ids[k]);
	{
		struct db_audit_filter g = {.actor = "alice", .outcome = "failure", .limit = 50};
		struct seen s = {0};

		/* alice: i = 1,3,5,7,9; failures: i % 3 == 0 -> 3, 9 */
		assert_int_equal(db_audit_list(*state, &g, collect, &s, &next), VR_OK);
		assert_int_equal(s.n, 2);
		assert_int_equal(next, 0);
	}
	{
		struct db_audit_filter g = {.since = 1005, .until = 1006, .limit = 50};
		struct seen s = {0};

		assert_int_equal(db_audit_list(*state, &g, collect, &s, &next), VR_OK);
		assert_int_equal(s.n, 2);
	}
}

/* a new directory user starts with the defaults of their primary address's domain */
static void directory_user_domain_defaults(void **state)
{
	struct db_domain d = {.id = "dom1", .name = "corp.test", .internal_host = "h.test",
			      .internal_port = 25, .verify_recipients = true, .created_at = 1};
	struct db_domain_filter f = {0};
	char *owned[4] = {0};
	const char *addrs[] = {"eve@corp.test", "e@corp.test"};
	struct db_digest_user du;
	char *strs[5] = {0};
	struct db_user u;

	assert_int_equal(db_domains_add(*state, &d), VR_OK);
	assert_int_equal(db_domains_filter(*state, "dom1", &f, owned), VR_OK);
	assert_string_equal(f.digest_default, "daily");
	f.digest_default = "weekly";
	f.language_default = "en";
	assert_int_equal(db_domains_filter_put(*state, "dom1", &f), VR_OK);
	for (int k = 0; k < 4; k++)
		free(owned[k]);
	assert_int_equal(db_users_upsert_directory(*state, NULL, "cn=eve", "eve", "Eve", ROLE_USER,
						   addrs, 2, 100, &u),
			 VR_OK);
	assert_int_equal(db_digest_user(*state, u.id, &du, strs), VR_OK);
	assert_string_equal(du.digest, "weekly");
	assert_string_equal(du.language, "en");
	assert_string_equal(du.address, "eve@corp.test");
	for (int k = 0; k < 5; k++)
		free(strs[k]);
	/* a later change of the domain's defaults does not touch existing users */
	db_user_clear(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_migration_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(users, setup, teardown),
		cmocka_unit_test_setup_teardown(sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(audit_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(directory_user_domain_defaults, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
