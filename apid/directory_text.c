/* directory_text.c - the pure parts of directory authentication (see directory.h).
 *
 * Owns: RFC 4515 escaping and filter building, login parsing (DOMAIN\user), AD bind
 * diagnostics ("data 52e") and their results, address lists (proxyAddresses), DN
 * normalisation, the kind presets and result names. No I/O; DN parsing uses libldap's
 * pure functions. Allocation failure aborts.
 */
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"
#include "log.h"

#define ADDRESS_MAX 254

static const char *const ad_address_attrs[] = {"mail", "proxyAddresses"};
static const char *const openldap_address_attrs[] = {"mail"};

/* dir_profile_defaults - zero p and set kind's presets */
void dir_profile_defaults(struct dir_profile *p, enum dir_kind kind)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->starttls = true;
	p->verify_cert = true;
	p->network_timeout_ms = DIR_NET_TIMEOUT_MS_DEFAULT;
	p->op_timeout_ms = DIR_OP_TIMEOUT_MS_DEFAULT;
	if (kind == DIR_KIND_AD) {
		p->user_filter = DIR_AD_USER_FILTER;
		p->address_attrs = ad_address_attrs;
		p->naddress_attrs = sizeof(ad_address_attrs) / sizeof(ad_address_attrs[0]);
		p->username_attr = "sAMAccountName";
		p->display_attr = "displayName";
	} else {
		p->user_filter = DIR_OPENLDAP_USER_FILTER;
		p->address_attrs = openldap_address_attrs;
		p->naddress_attrs = 1;
		p->username_attr = "uid";
		p->display_attr = "cn";
	}
}

/* dir_result_name - the stable name of r */
const char *dir_result_name(enum dir_result r)
{
	switch (r) {
	case DIR_OK:
		return "ok";
	case DIR_BAD_CREDENTIALS:
		return "bad_credentials";
	case DIR_ACCOUNT_DISABLED:
		return "disabled";
	case DIR_ACCOUNT_LOCKED:
		return "locked";
	case DIR_ACCOUNT_EXPIRED:
		return "account_expired";
	case DIR_PASSWORD_EXPIRED:
		return "password_expired";
	case DIR_PASSWORD_MUST_CHANGE:
		return "must_change";
	case DIR_AMBIGUOUS:
		return "ambiguous";
	case DIR_UNAVAILABLE:
		return "unavailable";
	case DIR_CONFIG_ERROR:
		return "config_error";
	}
	return "unknown";
}

/* dir_strv_free - free n strings of v and v */
void dir_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* dir_user_clear - free u's strings and zero it */
void dir_user_clear(struct dir_user *u)
{
	free(u->dn);
	free(u->username);
	free(u->display_name);
	free(u->primary_address);
	dir_strv_free(u->addresses, u->naddresses);
	memset(u, 0, sizeof(*u));
}

/* needs_escape - must byte c be written \hh in an assertion value? */
static bool needs_escape(unsigned char c)
{
	return c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f;
}

/* dir_filter_escape_n - n bytes of in as an RFC 4515 assertion value */
char *dir_filter_escape_n(const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *out = malloc(n * 3 + 1), *o = out;

	VR_CHECK_ALLOC(out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (needs_escape(c)) {
			*o++ = '\\';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

/* dir_filter_escape - in as an RFC 4515 assertion value */
char *dir_filter_escape(const char *in)
{
	return dir_filter_escape_n(in, strlen(in));
}

/* dir_build_filter - tmpl with every {login} replaced by the escaped login */
enum dir_text_rc dir_build_filter(const char *tmpl, const char *login, char *out, size_t outsz)
{
	static const char ph[] = "{login}";
	const size_t phlen = sizeof(ph) - 1;
	char *esc;
	size_t esclen, len = 0;
	const char *s = tmpl, *hit;
	bool any = false;

	if (outsz == 0)
		return DIR_TEXT_TOO_LONG;
	out[0] = '\0';
	if (strstr(tmpl, ph) == NULL)
		return DIR_TEXT_NO_PLACEHOLDER;
	esc = dir_filter_escape(login);
	esclen = strlen(esc);
	while (s != NULL && *s != '\0') {
		size_t lit;

		hit = strstr(s, ph);
		lit = hit ? (size_t)(hit - s) : strlen(s);
		if (len + lit + (hit ? esclen : 0) >= outsz) {
			free(esc);
			out[0] = '\0';
			return DIR_TEXT_TOO_LONG;
		}
		memcpy(out + len, s, lit);
		len += lit;
		if (hit) {
			memcpy(out + len, esc, esclen);
			len += esclen;
			any = true;
		}
		s = hit ? hit + phlen : NULL;
	}
	out[len] = '\0';
	free(esc);
	return any ? DIR_TEXT_OK : DIR_TEXT_NO_PLACEHOLDER;
}

/* dir_login_acceptable - 1..DIR_LOGIN_MAX bytes, no control character or DEL */
bool dir_login_acceptable(const char *login)
{
	size_t n = 0;

	if (login == NULL)
		return false;
	for (const unsigned char *s = (const unsigned char *)login; *s; s++, n++)
		if (*s < 0x20 || *s == 0x7f || n >= DIR_LOGIN_MAX)
			return false;
	return n > 0;
}

/* dir_parse_login - the account part of login */
enum dir_text_rc dir_parse_login(const char *login, const char *netbios_domain, char *user,
				 size_t usz)
{
	const char *bs = strchr(login, '\\'), *acct = login;
	int n;

	if (bs != NULL && netbios_domain != NULL && netbios_domain[0] != '\0') {
		size_t dlen = (size_t)(bs - login);

		if (dlen == 0 || dlen != strlen(netbios_domain) ||
		    strncasecmp(login, netbios_domain, dlen) != 0)
			return DIR_TEXT_OTHER_DOMAIN;
		acct = bs + 1;
		if (*acct == '\0' || strchr(acct, '\\') != NULL)
			return DIR_TEXT_BAD_LOGIN;
	}
	n = snprintf(user, usz, "%s", acct);
	if (n < 0 || (size_t)n >= usz)
		return DIR_TEXT_TOO_LONG;
	return DIR_TEXT_OK;
}

/* dir_parse_ad_error - the hex code after "data " in an AD bind diagnostic, or -1 */
int dir_parse_ad_error(const char *diagnostic)
{
	const char *s = diagnostic;

	while (s != NULL && (s = strstr(s, "data ")) != NULL) {
		long code = 0;
		int digits = 0;

		/* "data" must start a word: not the tail of "metadata " */
		if (s != diagnostic && (s[-1] != ' ' && s[-1] != ','))
			goto next;
		for (const char *h = s + 5; digits < 8; h++, digits++) {
			int v;

			if (*h >= '0' && *h <= '9')
				v = *h - '0';
			else if (*h >= 'a' && *h <= 'f')
				v = *h - 'a' + 10;
			else if (*h >= 'A' && *h <= 'F')
				v = *h - 'A' + 10;
			else
				break;
			code = code * 16 + v;
		}
		if (digits > 0 && digits < 8 &&
		    (s[5 + digits] == ',' || s[5 + digits] == '\0' || s[5 + digits] == ' '))
			return (int)code;
	next:
		s += 5;
	}
	return -1;
}

/* dir_ad_error_result - the result for an AD bind code */
enum dir_result dir_ad_error_result(int code, const char **what)
{
	static const struct {
		int code;
		enum dir_result result;
		const char *what;
	} table[] = {
	    {0x525, DIR_BAD_CREDENTIALS, "no such user"},
	    {0x52e, DIR_BAD_CREDENTIALS, "invalid credentials"},
	    {0x530, DIR_ACCOUNT_DISABLED, "logon not permitted at this time"},
	    {0x531, DIR_ACCOUNT_DISABLED, "logon not permitted at this workstation"},
	    {0x532, DIR_PASSWORD_EXPIRED, "password expired"},
	    {0x533, DIR_ACCOUNT_DISABLED, "account disabled"},
	    {0x701, DIR_ACCOUNT_EXPIRED, "account expired"},
	    {0x773, DIR_PASSWORD_MUST_CHANGE, "password must be changed"},
	    {0x775, DIR_ACCOUNT_LOCKED, "account locked"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code) {
			if (what)
				*what = table[i].what;
			return table[i].result;
		}
	if (what)
		*what = "bind refused";
	return DIR_BAD_CREDENTIALS;
}

/* lower_ascii - s with A-Z lower-cased, in place; UTF-8 bytes are left alone */
static void lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* address_ok - does addr look like a mail address worth listing? */
static bool address_ok(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t n = strlen(addr);

	if (n == 0 || n > ADDRESS_MAX || at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (const unsigned char *s = (const unsigned char *)addr; *s; s++)
		if (*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* dir_address_add - append addr lower-cased unless present or not an address */
bool dir_address_add(char ***v, size_t *n, const char *addr)
{
	char *low;

	if (addr == NULL || !address_ok(addr))
		return false;
	low = strdup(addr);
	VR_CHECK_ALLOC(low);
	lower_ascii(low);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], low) == 0) {
			free(low);
			return false;
		}
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	VR_CHECK_ALLOC(*v);
	(*v)[(*n)++] = low;
	return true;
}

/* proxy_kind - 2: "SMTP:" (primary), 1: "smtp:" in another case (alias), 0: other type */
static int proxy_kind(const char *value)
{
	if (strncmp(value, "SMTP:", 5) == 0)
		return 2;
	if (strncasecmp(value, "smtp:", 5) == 0)
		return 1;
	return 0;
}

/* dir_addresses_from_proxy - AD addresses: SMTP: primary, then mail, then smtp: aliases */
void dir_addresses_from_proxy(const char *const *plain, size_t nplain, const char *const *proxy,
			      size_t nproxy, char ***v, size_t *n)
{
	bool have_primary = false;

	for (size_t i = 0; i < nproxy && !have_primary; i++)
		if (proxy[i] && proxy_kind(proxy[i]) == 2)
			have_primary = dir_address_add(v, n, proxy[i] + 5);
	for (size_t i = 0; i < nplain; i++)
		dir_address_add(v, n, plain[i]);
	/* a second "SMTP:" (a misconfiguration) is listed as an alias */
	for (size_t i = 0; i < nproxy; i++)
		if (proxy[i] && proxy_kind(proxy[i]) != 0)
			dir_address_add(v, n, proxy[i] + 5);
}

/* trim_lower - a malloc'd copy of s without surrounding blanks, lower-cased */
static char *trim_lower(const char *s)
{
	size_t n;
	char *out;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	out = strndup(s, n);
	VR_CHECK_ALLOC(out);
	lower_ascii(out);
	return out;
}

/* dir_dn_normalise - dn in a form to compare */
char *dir_dn_normalise(const char *dn)
{
	LDAPDN parsed = NULL;
	char *str = NULL, *out;

	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return trim_lower(dn);
	if (ldap_dn2str(parsed, &str, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || str == NULL) {
		ldap_dnfree(parsed);
		return trim_lower(dn);
	}
	ldap_dnfree(parsed);
	out = trim_lower(str);
	ldap_memfree(str);
	return out;
}

/* dir_dn_equal - do a and b name the same entry? */
bool dir_dn_equal(const char *a, const char *b)
{
	char *na = dir_dn_normalise(a), *nb = dir_dn_normalise(b);
	bool eq = strcmp(na, nb) == 0;

	free(na);
	free(nb);
	return eq;
}
