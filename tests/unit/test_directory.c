/* test_directory.c - apid/directory_text.c: filter escaping and building, login parsing,
 * AD bind diagnostics, address lists (proxyAddresses), DN comparison; table-driven. The
 * I/O half (directory_ldap.c) is tested against real servers by
 * tests/integration/test_directory_login.py. */
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "directory.h"

static void escape(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"alice", "alice"},
	    {"", ""},
	    {"*", "\\2a"},
	    {")(", "\\29\\28"},
	    {"\\00", "\\5c00"}, /* a backslash and two zeros, as typed */
	    {"admin*)(|(uid=*", "admin\\2a\\29\\28|\\28uid=\\2a"},
	    {"alice)(|(objectClass=*", "alice\\29\\28|\\28objectClass=\\2a"},
	    {"a\\b", "a\\5cb"},
	    {"\xc3\xa9lodie", "\\c3\\a9lodie"}, /* UTF-8 bytes escaped: same value */
	    {"tab\there", "tab\\09here"},
	    {"del\x7f", "del\\7f"},
	    {"alice@corp.test", "alice@corp.test"},
	    {"smtp:a=b,c", "smtp:a=b,c"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *got = dir_filter_escape(t[i].in);

		if (strcmp(got, t[i].want) != 0)
			fail_msg("escape(%s) = %s, want %s", t[i].in, got, t[i].want);
		free(got);
	}
}

static void escape_nul(void **state)
{
	char *got = dir_filter_escape_n("a\0b*", 4);

	(void)state;
	assert_string_equal(got, "a\\00b\\2a");
	free(got);
}

static void build_filter(void **state)
{
	static const struct {
		const char *tmpl, *login;
		size_t outsz;
		enum dir_text_rc rc;
		const char *want;
	} t[] = {
	    {"(uid={login})", "alice", 64, DIR_TEXT_OK, "(uid=alice)"},
	    {"(uid={login})", "x)(uid=*", 64, DIR_TEXT_OK, "(uid=x\\29\\28uid=\\2a)"},
	    {"(|(uid={login})(mail={login}))", "a*", 64, DIR_TEXT_OK, "(|(uid=a\\2a)(mail=a\\2a))"},
	    {"{login}{login}", "a", 64, DIR_TEXT_OK, "aa"},
	    {"(proxyAddresses=smtp:{login})", "a@x", 64, DIR_TEXT_OK, "(proxyAddresses=smtp:a@x)"},
	    {"({login}{)", "a", 64, DIR_TEXT_OK, "(a{)"},
	    {"(uid={login})", "ab", 9, DIR_TEXT_OK, "(uid=ab)"}, /* exactly fits */
	    {"(uid={login})", "ab", 8, DIR_TEXT_TOO_LONG, ""},
	    {"(uid={login})", "*", 8, DIR_TEXT_TOO_LONG, ""}, /* the escaped form counts */
	    {"(uid=alice)", "x", 64, DIR_TEXT_NO_PLACEHOLDER, ""},
	    {"(uid={Login})", "x", 64, DIR_TEXT_NO_PLACEHOLDER, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char out[64];
		enum dir_text_rc rc = dir_build_filter(t[i].tmpl, t[i].login, out, t[i].outsz);

		if (rc != t[i].rc || strcmp(out, t[i].want) != 0)
			fail_msg("case %zu: build(%s, %s) = %d '%s', want %d '%s'", i, t[i].tmpl,
				 t[i].login, rc, out, t[i].rc, t[i].want);
	}
}

static void build_ad_preset(void **state)
{
	char out[DIR_FILTER_MAX], login[DIR_LOGIN_MAX + 1];

	(void)state;
	assert_int_equal(dir_build_filter(DIR_AD_USER_FILTER, "alice", out, sizeof(out)),
			 DIR_TEXT_OK);
	assert_string_equal(out, "(&(objectClass=user)(objectCategory=person)(|(sAMAccountName="
				 "alice)(userPrincipalName=alice)(mail=alice)(proxyAddresses=smtp:"
				 "alice)))");
	/* the longest login, all escaped, still fits the documented buffer */
	memset(login, '*', DIR_LOGIN_MAX);
	login[DIR_LOGIN_MAX] = '\0';
	assert_int_equal(dir_build_filter(DIR_AD_USER_FILTER, login, out, sizeof(out)),
			 DIR_TEXT_OK);
}

static void parse_login(void **state)
{
	static const struct {
		const char *login, *domain;
		enum dir_text_rc rc;
		const char *want;
	} t[] = {
	    {"CORP\\alice", "CORP", DIR_TEXT_OK, "alice"},
	    {"corp\\alice", "CORP", DIR_TEXT_OK, "alice"},
	    {"Corp\\Alice", "corp", DIR_TEXT_OK, "Alice"},
	    {"OTHER\\alice", "CORP", DIR_TEXT_OTHER_DOMAIN, NULL},
	    {"CORPX\\alice", "CORP", DIR_TEXT_OTHER_DOMAIN, NULL},
	    {"COR\\alice", "CORP", DIR_TEXT_OTHER_DOMAIN, NULL},
	    {"\\alice", "CORP", DIR_TEXT_OTHER_DOMAIN, NULL},
	    {"CORP\\", "CORP", DIR_TEXT_BAD_LOGIN, NULL},
	    {"CORP\\a\\b", "CORP", DIR_TEXT_BAD_LOGIN, NULL},
	    {"alice@corp.test", "CORP", DIR_TEXT_OK, "alice@corp.test"},
	    {"alice", "CORP", DIR_TEXT_OK, "alice"},
	    {"CORP\\alice@corp.test", "CORP", DIR_TEXT_OK, "alice@corp.test"},
	    /* no NetBIOS domain (OpenLDAP): the login is taken as it is */
	    {"CORP\\alice", NULL, DIR_TEXT_OK, "CORP\\alice"},
	    {"CORP\\alice", "", DIR_TEXT_OK, "CORP\\alice"},
	    {"olivia", NULL, DIR_TEXT_OK, "olivia"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char user[64] = "unset";
		enum dir_text_rc rc = dir_parse_login(t[i].login, t[i].domain, user, sizeof(user));

		if (rc != t[i].rc || (t[i].want && strcmp(user, t[i].want) != 0))
			fail_msg("parse(%s, %s) = %d '%s', want %d '%s'", t[i].login,
				 t[i].domain ? t[i].domain : "NULL", rc, user, t[i].rc,
				 t[i].want ? t[i].want : "");
		if (rc < 0 && rc != t[i].rc)
			fail_msg("%s: wrong error", t[i].login);
	}
	{
		char small[4];

		assert_int_equal(dir_parse_login("alice", "CORP", small, sizeof(small)),
				 DIR_TEXT_TOO_LONG);
	}
}

static void login_acceptable(void **state)
{
	char max[DIR_LOGIN_MAX + 2];

	(void)state;
	assert_true(dir_login_acceptable("alice"));
	assert_true(dir_login_acceptable("CORP\\alice"));
	assert_true(dir_login_acceptable("\xc3\xa9lodie"));
	assert_false(dir_login_acceptable(""));
	assert_false(dir_login_acceptable(NULL));
	assert_false(dir_login_acceptable("a\tb"));
	assert_false(dir_login_acceptable("a\nb"));
	assert_false(dir_login_acceptable("a\x7f"));
	memset(max, 'a', DIR_LOGIN_MAX);
	max[DIR_LOGIN_MAX] = '\0';
	assert_true(dir_login_acceptable(max));
	max[DIR_LOGIN_MAX] = 'a';
	max[DIR_LOGIN_MAX + 1] = '\0';
	assert_false(dir_login_acceptable(max));
}

static void ad_error(void **state)
{
	static const struct {
		const char *diag;
		int code;
	} t[] = {
	    {"80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, "
	     "data 52e, v3839",
	     0x52e},
	    {"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, "
	     "data 775, v1db1",
	     0x775},
	    {"... data 533, v2580", 0x533},
	    {"data 701", 0x701},
	    {"comment: x, data 52E, v1", 0x52e},
	    {"data 773,", 0x773},
	    {"", -1},
	    {NULL, -1},
	    {"Invalid credentials", -1},
	    {"metadata 52e, v1", -1},
	    {"data xyz, v1", -1},
	    {"data , v1", -1},
	    {"data 52g", -1},
	    {"comment: metadata 1, data 532, v1", 0x532},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = dir_parse_ad_error(t[i].diag);

		if (got != t[i].code)
			fail_msg("parse_ad_error(%s) = %x, want %x", t[i].diag ? t[i].diag : "NULL",
				 got, t[i].code);
	}
}

static void ad_error_result(void **state)
{
	static const struct {
		int code;
		enum dir_result r;
	} t[] = {
	    {0x52e, DIR_BAD_CREDENTIALS},  {0x525, DIR_BAD_CREDENTIALS},
	    {0x530, DIR_ACCOUNT_DISABLED}, {0x531, DIR_ACCOUNT_DISABLED},
	    {0x532, DIR_PASSWORD_EXPIRED}, {0x533, DIR_ACCOUNT_DISABLED},
	    {0x701, DIR_ACCOUNT_EXPIRED},  {0x773, DIR_PASSWORD_MUST_CHANGE},
	    {0x775, DIR_ACCOUNT_LOCKED},   {0x999, DIR_BAD_CREDENTIALS},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *what = NULL;

		assert_int_equal(dir_ad_error_result(t[i].code, &what), t[i].r);
		assert_non_null(what);
	}
}

#define V(...) ((const char *const[]){__VA_ARGS__})

static void proxy_addresses(void **state)
{
	const struct {
		const char *const *plain;
		size_t nplain;
		const char *const *proxy;
		size_t nproxy;
		const char *want; /* space-separated, in order */
	} t[] = {
	    /* alice: mail + primary + two aliases + other types ignored */
	    {V("alice@corp.test"), 1,
	     V("SMTP:Alice@Corp.Test", "smtp:a.martin@corp.test", "smtp:sales@corp.test",
	       "X400:c=US;a= ;p=Corp;o=Exchange;s=Martin;", "SIP:alice@corp.test",
	       "X500:/o=Corp/ou=x/cn=alice"),
	     6, "alice@corp.test a.martin@corp.test sales@corp.test"},
	    /* the primary first even when listed last */
	    {NULL, 0, V("smtp:b@x.test", "SMTP:a@x.test"), 2, "a@x.test b@x.test"},
	    /* no SMTP: value: mail is the primary */
	    {V("m@x.test"), 1, V("smtp:b@x.test"), 1, "m@x.test b@x.test"},
	    /* mail differs from the primary: primary, then mail, then aliases */
	    {V("m@x.test"), 1, V("smtp:c@x.test", "SMTP:p@x.test"), 2,
	     "p@x.test m@x.test c@x.test"},
	    /* deduplicated without case */
	    {V("B@X.test"), 1, V("smtp:B@X.TEST", "smtp:b@x.test", "Smtp:b@x.test"), 3, "b@x.test"},
	    /* two primaries (misconfigured): the first wins, the second is an alias */
	    {NULL, 0, V("SMTP:a@x.test", "SMTP:b@x.test"), 2, "a@x.test b@x.test"},
	    /* junk ignored */
	    {V(""), 1,
	     V("smtp:", "smtp:noat", "smtp:a b@x.test", "smtp:@x.test", "smtp:a@", "smtp:a@b@c",
	       "SMTP", "x@y.test"),
	     8, ""},
	    {NULL, 0, NULL, 0, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char **v = NULL, got[512] = "";
		size_t n = 0;

		dir_addresses_from_proxy(t[i].plain, t[i].nplain, t[i].proxy, t[i].nproxy, &v, &n);
		for (size_t j = 0; j < n; j++) {
			if (j)
				strcat(got, " ");
			strcat(got, v[j]);
		}
		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, t[i].want);
		dir_strv_free(v, n);
	}
}

static void address_add(void **state)
{
	char **v = NULL;
	size_t n = 0;

	(void)state;
	assert_true(dir_address_add(&v, &n, "Olivia@Corp.Test"));
	assert_true(dir_address_add(&v, &n, "olivia.alias@corp.test"));
	assert_false(dir_address_add(&v, &n, "OLIVIA@corp.test"));
	assert_false(dir_address_add(&v, &n, "not-an-address"));
	assert_false(dir_address_add(&v, &n, NULL));
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "olivia@corp.test");
	assert_string_equal(v[1], "olivia.alias@corp.test");
	dir_strv_free(v, n);
}

static void dn_equal(void **state)
{
	static const struct {
		const char *a, *b;
		bool eq;
	} t[] = {
	    {"CN=vrgate-admins,CN=Users,DC=corp,DC=test",
	     "cn=VRGATE-ADMINS,cn=users,dc=CORP,dc=test", true},
	    {"CN=vrgate-admins, CN=Users, DC=corp, DC=test",
	     "CN=vrgate-admins,CN=Users,DC=corp,DC=test", true},
	    {"  cn=a,dc=x ", "cn=a,dc=x", true},
	    {"CN=Durand\\, Bob,DC=x", "cn=durand\\2c bob,dc=x", true},
	    {"cn=a,dc=x", "cn=b,dc=x", false},
	    {"cn=a,dc=x", "cn=a,dc=x,dc=y", false},
	    {"cn=a+uid=b,dc=x", "cn=a,dc=x", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (dir_dn_equal(t[i].a, t[i].b) != t[i].eq)
			fail_msg("dn_equal(%s, %s) != %d", t[i].a, t[i].b, t[i].eq);
}

static void names_and_presets(void **state)
{
	struct dir_profile p;

	(void)state;
	for (int i = DIR_OK; i <= DIR_CONFIG_ERROR; i++) {
		assert_true(strlen(dir_result_name((enum dir_result)i)) > 0);
		for (int j = DIR_OK; j < i; j++)
			assert_string_not_equal(dir_result_name((enum dir_result)i),
						dir_result_name((enum dir_result)j));
	}
	assert_string_equal(dir_result_name(DIR_BAD_CREDENTIALS), "bad_credentials");
	dir_profile_defaults(&p, DIR_KIND_AD);
	assert_true(p.verify_cert);
	assert_non_null(strstr(p.user_filter, "{login}"));
	assert_string_equal(p.username_attr, "sAMAccountName");
	assert_int_equal(p.naddress_attrs, 2);
	dir_profile_defaults(&p, DIR_KIND_OPENLDAP);
	assert_string_equal(p.username_attr, "uid");
	assert_int_equal(p.kind, DIR_KIND_OPENLDAP);
}

static void refused_before_bind(void **state)
{
	/* no server at all: these must be answered without connecting */
	static const char *const uris[] = {"ldaps://127.0.0.1:1"};
	struct dir_profile p;
	struct dir_user u;
	char why[128], longlogin[DIR_LOGIN_MAX + 2];
	static const struct {
		const char *login, *pw;
	} t[] = {
	    {"alice", ""},  {"alice", NULL},	    {"", "pw"},
	    {"a\nb", "pw"}, {"OTHER\\alice", "pw"}, {"CORP\\", "pw"},
	};

	(void)state;
	dir_profile_defaults(&p, DIR_KIND_AD);
	p.uris = uris;
	p.nuris = 1;
	p.base_dn = "DC=corp,DC=test";
	p.netbios_domain = "CORP";
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(dir_authenticate(&p, t[i].login, t[i].pw, &u, why, sizeof(why)),
				 DIR_BAD_CREDENTIALS);
		assert_null(u.dn);
		assert_null(strstr(why, "127.0.0.1")); /* no connection attempted */
	}
	memset(longlogin, 'a', sizeof(longlogin) - 1);
	longlogin[sizeof(longlogin) - 1] = '\0';
	assert_int_equal(dir_authenticate(&p, longlogin, "pw", &u, why, sizeof(why)),
			 DIR_BAD_CREDENTIALS);
	/* an unusable profile */
	p.base_dn = NULL;
	assert_int_equal(dir_authenticate(&p, "alice", "pw", &u, why, sizeof(why)),
			 DIR_CONFIG_ERROR);
	p.base_dn = "DC=corp,DC=test";
	p.bind_dn = "CN=svc";
	p.bind_password = "";
	assert_int_equal(dir_authenticate(&p, "alice", "pw", &u, why, sizeof(why)),
			 DIR_CONFIG_ERROR);
	p.bind_dn = NULL;
	{
		static const char *const many[DIR_ADDRESS_ATTRS_MAX + 1] = {"a", "b", "c", "d", "e",
									    "f", "g", "h", "i"};

		p.address_attrs = many;
		p.naddress_attrs = DIR_ADDRESS_ATTRS_MAX + 1;
		assert_int_equal(dir_authenticate(&p, "alice", "pw", &u, why, sizeof(why)),
				 DIR_CONFIG_ERROR);
		p.naddress_attrs = 0;
	}
	{
		static const struct dir_group_role agent[] = {{"cn=g", ROLE_AGENT}};

		p.group_roles = agent;
		p.ngroup_roles = 1;
		assert_int_equal(dir_authenticate(&p, "alice", "pw", &u, why, sizeof(why)),
				 DIR_CONFIG_ERROR);
		p.ngroup_roles = 0;
	}
	{
		static const char *const bad[] = {"http://x"};

		p.uris = bad;
		assert_int_equal(dir_authenticate(&p, "alice", "pw", &u, why, sizeof(why)),
				 DIR_CONFIG_ERROR);
	}
	dir_user_clear(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(escape),
	    cmocka_unit_test(escape_nul),
	    cmocka_unit_test(build_filter),
	    cmocka_unit_test(build_ad_preset),
	    cmocka_unit_test(parse_login),
	    cmocka_unit_test(login_acceptable),
	    cmocka_unit_test(ad_error),
	    cmocka_unit_test(ad_error_result),
	    cmocka_unit_test(proxy_addresses),
	    cmocka_unit_test(address_add),
	    cmocka_unit_test(dn_equal),
	    cmocka_unit_test(names_and_presets),
	    cmocka_unit_test(refused_before_bind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
