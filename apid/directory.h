/* directory.h - authenticating users against a directory (Active Directory or OpenLDAP).
 *
 * Owns the login flow apid uses for directory accounts: refuse what must never reach a
 * bind (empty password, control characters, over-long logins), connect to the first
 * reachable URI of the profile (LDAPS, or StartTLS when required; CA verified), search
 * the login with the service account, bind as the entry found on a new connection, map
 * AD's bind diagnostics ("data 775") to results, read the user's addresses and map its
 * groups (nested: AD's in-chain rule, or a bounded walk up `member` for OpenLDAP) to a
 * role. dir_test() runs the same stages for the settings page, one step each.
 *
 * Thread-safety: every call opens and closes its own libldap handles; there is no global
 * mutable state. Profiles and their strings are borrowed for the duration of a call.
 * Callers ignore SIGPIPE (apid does): a directory may close a connection mid-write.
 * Passwords are never logged nor copied into `why`. `why` is a short reason for the audit
 * log, never for the client (it tells an unknown user from a wrong password).
 * The pure helpers (filter escaping, login parsing, AD diagnostics, addresses, DNs) live
 * in directory_text.c; the I/O in directory_ldap.c.
 */
#ifndef VR_DIRECTORY_H
#define VR_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "roles.h"

#define DIR_LOGIN_MAX		   256	/* bytes; longer logins are refused */
#define DIR_PASSWORD_MAX	   1024 /* bytes; longer passwords are refused */
#define DIR_FILTER_MAX		   4096 /* bytes, NUL included, of a built search filter */
#define DIR_NET_TIMEOUT_MS_DEFAULT 3000
#define DIR_OP_TIMEOUT_MS_DEFAULT  5000
#define DIR_GROUP_DEPTH_MAX	   5 /* OpenLDAP: nesting levels walked above the direct groups */
#define DIR_ADDRESS_ATTRS_MAX	   8

enum dir_kind { DIR_KIND_AD, DIR_KIND_OPENLDAP };

enum dir_result {
	DIR_OK,
	DIR_BAD_CREDENTIALS,	  /* wrong password or no such user: never told apart */
	DIR_ACCOUNT_DISABLED,	  /* AD data 533 (or 530/531: logon not permitted), or UAC 0x2 */
	DIR_ACCOUNT_LOCKED,	  /* AD data 775 */
	DIR_ACCOUNT_EXPIRED,	  /* AD data 701 */
	DIR_PASSWORD_EXPIRED,	  /* AD data 532 */
	DIR_PASSWORD_MUST_CHANGE, /* AD data 773 */
	DIR_AMBIGUOUS,		  /* the login matched several entries */
	DIR_UNAVAILABLE,	  /* cannot connect, TLS failure, timeout, service bind refused,
				     search or group lookup failed */
	DIR_CONFIG_ERROR	  /* the profile is unusable (missing field, bad URI, CA file,
				     base DN or filter the server rejects) */
};

struct dir_group_role {
	const char *group_dn;
	enum role role; /* ROLE_USER .. ROLE_ADMIN */
};

/* A directory's settings. All strings are borrowed from the caller for the call's
 * duration. dir_profile_defaults() fills the kind's presets. */
struct dir_profile {
	const char *name;
	const char *const *uris; /* tried in order: "ldaps://127.0.0.2:636", "ldap://h:389" */
	size_t nuris;
	bool starttls;		/* for ldap:// URIs: StartTLS is mandatory when true */
	const char *ca_file;	/* NULL: the system's trust store */
	bool verify_cert;	/* false only for tests: no certificate or name check */
	int network_timeout_ms; /* connect + TLS handshake, per URI; <= 0: default */
	int op_timeout_ms;	/* each LDAP operation; <= 0: default */
	const char *bind_dn;	/* the service account; NULL or "": anonymous search */
	const char *bind_password;
	const char *base_dn;
	const char *user_filter; /* with {login} placeholders (see DIR_AD_USER_FILTER) */
	enum dir_kind kind;
	const char *netbios_domain; /* "CORP": "CORP\alice" logs in as alice; NULL: no such form */
	const char *const *address_attrs; /* "mail", "proxyAddresses" */
	size_t naddress_attrs;
	const char *username_attr; /* sAMAccountName / uid */
	const char *display_attr;  /* displayName / cn */
	const struct dir_group_role *group_roles;
	size_t ngroup_roles;
};

/* The presets. proxyAddresses matching is case-insensitive in AD, so "smtp:" also finds
 * the primary "SMTP:" value. */
#define DIR_AD_USER_FILTER                                                                         \
	"(&(objectClass=user)(objectCategory=person)(|(sAMAccountName={login})"                    \
	"(userPrincipalName={login})(mail={login})(proxyAddresses=smtp:{login})))"
#define DIR_OPENLDAP_USER_FILTER "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))"

/* A user the directory vouched for. Every string belongs to the struct; dir_user_clear()
 * frees them. addresses are lower-cased, deduplicated, the primary first (primary_address
 * is a copy of addresses[0], NULL when the entry has none). */
struct dir_user {
	char *dn, *username, *display_name, *primary_address;
	char **addresses;
	size_t naddresses;
	enum role role; /* the highest mapped group role, else ROLE_USER */
};

/* dir_profile_defaults - zero p, then set kind's presets (filter, attributes) and the
 * default timeouts, verify_cert true; the caller fills URIs, accounts and base DN */
void dir_profile_defaults(struct dir_profile *p, enum dir_kind kind);
/* dir_user_clear - free u's strings and zero it (a zeroed struct is fine to clear) */
void dir_user_clear(struct dir_user *u);
/* dir_result_name - "ok", "bad_credentials", "disabled", "locked", "account_expired",
 * "password_expired", "must_change", "ambiguous", "unavailable", "config_error" */
const char *dir_result_name(enum dir_result r);

/* dir_authenticate - check login/password against the directory of p; on DIR_OK fill
 * *out (which the caller clears with dir_user_clear), else leave it zeroed. why (may be
 * NULL) receives a short reason for the audit log. Returns within about
 * nuris * network_timeout_ms + a few op_timeout_ms. An unknown login costs a bind as
 * a non-existent DN (with a fixed password) so that it takes as long as a wrong password.
 * AD reports a locked account (775) before checking the password: DIR_ACCOUNT_LOCKED
 * alone does not prove the caller knew the password (533, disabled, needs it). */
enum dir_result dir_authenticate(const struct dir_profile *p, const char *login,
				 const char *password, struct dir_user *out, char *why,
				 size_t whysz);

/* One stage of dir_test(). */
struct dir_step {
	char name[32]; /* "config", "connect", "bind", "search", "groups" */
	bool ok;
	double ms;
	char detail[256];
};

/* dir_test - connect, bind as the service account and, when sample_login is not NULL,
 * look it up and map its groups; one step per stage, stopping at the first failure.
 * Returns the number of steps written (at most max). */
size_t dir_test(const struct dir_profile *p, const char *sample_login, struct dir_step *steps,
		size_t max);

/* ---- pure helpers (directory_text.c; unit-tested) ---- */

/* Results of the text helpers: 0 or negative, so that `< 0` tests for failure. */
enum dir_text_rc {
	DIR_TEXT_OK = 0,
	DIR_TEXT_TOO_LONG = -1,	      /* the output does not fit */
	DIR_TEXT_OTHER_DOMAIN = -2,   /* "OTHER\alice" (or "\alice") for domain CORP */
	DIR_TEXT_BAD_LOGIN = -3,      /* "CORP\" or "CORP\a\b" */
	DIR_TEXT_NO_PLACEHOLDER = -4, /* a filter template without {login} */
};

/* dir_filter_escape - in as an RFC 4515 assertion value: * ( ) \ become \2a \28 \29 \5c,
 * and every byte outside printable ASCII (controls, DEL, UTF-8 bytes) becomes \hh, which
 * servers decode back to the same value. Returns a malloc'd string the caller frees. */
char *dir_filter_escape(const char *in);
/* dir_filter_escape_n - the same for n bytes that may hold NUL (NUL becomes \00) */
char *dir_filter_escape_n(const char *in, size_t n);
/* dir_build_filter - tmpl with every {login} replaced by the escaped login, into out */
enum dir_text_rc dir_build_filter(const char *tmpl, const char *login, char *out, size_t outsz);
/* dir_parse_login - the account part of login: "CORP\alice" -> "alice" when
 * netbios_domain is CORP (compared ignoring ASCII case); "alice@corp.test" and "alice"
 * unchanged; without a netbios_domain the login is unchanged */
enum dir_text_rc dir_parse_login(const char *login, const char *netbios_domain, char *user,
				 size_t usz);
/* dir_login_acceptable - 1..DIR_LOGIN_MAX bytes, no control character or DEL */
bool dir_login_acceptable(const char *login);
/* dir_parse_ad_error - the hex code after "data " in an AD bind diagnostic
 * ("80090308: LdapErr: ..., data 52e, v4563" -> 0x52e), or -1 when there is none */
int dir_parse_ad_error(const char *diagnostic);
/* dir_ad_error_result - the result for an AD bind code (0x52e -> DIR_BAD_CREDENTIALS...);
 * *what (may be NULL) gets a short text ("account locked") */
enum dir_result dir_ad_error_result(int code, const char **what);

/* dir_address_add - append addr lower-cased to (*v, *n) unless present or not an address
 * (needs one '@' with text on both sides, no space or control character, <= 254 bytes);
 * true when appended. *v grows with realloc; free with dir_strv_free. */
bool dir_address_add(char ***v, size_t *n, const char *addr);
/* dir_addresses_from_proxy - AD addresses into (*v, *n), which must start empty: the
 * "SMTP:" proxy address (primary), then the plain values (mail), then the "smtp:"
 * aliases; other proxy types (X400:, SIP:...) ignored; lower-cased, deduplicated. When no
 * "SMTP:" value exists the first plain value is the primary. */
void dir_addresses_from_proxy(const char *const *plain, size_t nplain, const char *const *proxy,
			      size_t nproxy, char ***v, size_t *n);
/* dir_strv_free - free n strings of v and v */
void dir_strv_free(char **v, size_t n);

/* dir_dn_normalise - dn in a form to compare: parsed and rewritten as an LDAPv3 string
 * (ldap_str2dn/ldap_dn2str: spacing and escaping made canonical), then ASCII-lower-cased
 * (attribute names and the values of cn/ou/dc compare without case). A DN that does not
 * parse is trimmed and lower-cased. Returns a malloc'd string. */
char *dir_dn_normalise(const char *dn);
/* dir_dn_equal - do a and b name the same entry, by dir_dn_normalise? */
bool dir_dn_equal(const char *a, const char *b);

#endif
