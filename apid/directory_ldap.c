/* directory_ldap.c - the directory login flow over libldap (see directory.h).
 *
 * Owns every libldap call of apid: connecting (URIs in order; LDAPS or mandatory
 * StartTLS; per-handle TLS context with the profile's CA; referrals off; network and
 * operation timeouts), the service bind and user search, the user bind on a connection
 * of its own, AD's bind diagnostics, the user's addresses and the group -> role mapping
 * (AD: in-chain matching rule, one base-scope query per mapped group, highest role
 * first; OpenLDAP: memberOf asked by name, then a walk up `member`, at most
 * DIR_GROUP_DEPTH_MAX levels, cycle-safe because a group is visited once).
 * Connecting is watched by a thread of its own (struct guard): libldap 2.5 with GnuTLS
 * spins in the TLS handshake, past LDAP_OPT_NETWORK_TIMEOUT, when a server accepts the
 * TCP connection but never answers (a stopped process); at the deadline the watchdog
 * shuts the socket down. The only thread-local state is the guard of the connection
 * being made by the current thread, for libldap's connect callback to find.
 * Entry points: dir_authenticate(), dir_test(). Handles live for one call; nothing is
 * shared between threads. Passwords go to ldap_sasl_bind_s() only.
 */
#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "directory.h"
#include "log.h"

#define AD_UAC_ACCOUNTDISABLE 0x2
#define AD_IN_CHAIN	      "1.2.840.113556.1.4.1941"
#define GROUPS_MAX	      1000 /* groups collected by the OpenLDAP walk */
#define GROUPS_PER_QUERY      20   /* member=... terms per OR filter */
#define ATTRS_MAX	      (DIR_ADDRESS_ATTRS_MAX + 3) /* + username, display, UAC */

/* An ongoing call: the profile, its effective timeouts, where `why` goes. */
struct ctx {
	const struct dir_profile *p;
	int net_ms, op_ms;
	char *why;
	size_t whysz;
};

/* The entry the search found, its values copied out of libldap's memory. */
struct entry {
	char *dn;
	char *username, *display;
	char **plain, **proxy; /* address values: other attributes, proxyAddresses */
	size_t nplain, nproxy;
	char **member_of;
	size_t nmember_of;
	bool has_member_of; /* the attribute came back (the overlay is there) */
	long uac;	    /* AD userAccountControl, -1 when absent */
};

/* why_set - replace the reason with a formatted one */
__attribute__((format(printf, 2, 3))) static void why_set(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why == NULL || c->whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, c->whysz, fmt, ap);
	va_end(ap);
}

/* why_append - add "; text" to the reason (several URIs failed) */
__attribute__((format(printf, 2, 3))) static void why_append(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (c->why == NULL || c->whysz == 0)
		return;
	len = strlen(c->why);
	if (len > 0 && len + 2 < c->whysz) {
		memcpy(c->why + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= c->whysz)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why + len, c->whysz - len, fmt, ap);
	va_end(ap);
}

/* now_ms - monotonic milliseconds */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* tv_of_ms - ms as a struct timeval */
static struct timeval tv_of_ms(int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	return tv;
}

/* diag - the diagnostic message libldap holds for ld (server's or its own), or "" */
static void diag(LDAP *ld, char *buf, size_t bufsz)
{
	char *msg = NULL;

	buf[0] = '\0';
	if (ld != NULL &&
	    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
	    msg != NULL) {
		snprintf(buf, bufsz, "%s", msg);
		ldap_memfree(msg);
	}
}

/* check_nomem - abort when libldap ran out of memory */
static void check_nomem(int rc)
{
	if (rc == LDAP_NO_MEMORY)
		VR_DIE("libldap: out of memory");
}

/* is_conn_error - does rc mean the server was not reached or not usable (try the next)? */
static bool is_conn_error(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	       rc == LDAP_LOCAL_ERROR || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

/* unbind - close ld (NULL is fine) */
static void unbind(LDAP *ld)
{
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
}

/* The watchdog of one connection attempt (see the header comment). fd is our own dup of
 * the connection's socket: shutting it down reaches libldap's descriptor, and it cannot
 * be closed and reused by another thread before we are done with it. */
struct guard {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int fd;			  /* -1 until libldap has connected */
	bool stop, fired, running;
	pthread_t thread;
};

/* the guard of the connection the current thread is making, for guard_conn_add */
static _Thread_local struct guard *current_guard;

/* guard_conn_add - libldap's connect callback: keep a dup of the new socket */
static int guard_conn_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
			  struct ldap_conncb *ctx)
{
	struct guard *g = current_guard;
	ber_socket_t fd = -1;

	if (g == NULL || ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0)
		return 0;
	pthread_mutex_lock(&g->lock);
	if (g->fd < 0)
		g->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (g->fired && g->fd >= 0)
		shutdown(g->fd, SHUT_RDWR);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/* guard_conn_del - libldap's disconnect callback: nothing to do (the dup is ours) */
static void guard_conn_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
}

/* registered on every handle; immutable, so one object serves all threads */
static const struct ldap_conncb guard_cb = {.lc_add = guard_conn_add, .lc_del = guard_conn_del};

/* guard_run - the watchdog thread: at the deadline, shut the socket down */
static void *guard_run(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		if (pthread_cond_timedwait(&g->cond, &g->lock, &g->deadline) == ETIMEDOUT &&
		    !g->stop) {
			g->fired = true;
			if (g->fd >= 0)
				shutdown(g->fd, SHUT_RDWR);
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* guard_start - watch the connection the current thread makes next, for ms */
static void guard_start(struct guard *g, int ms)
{
	pthread_condattr_t ca;
	int rc;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cond, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &g->deadline);
	g->deadline.tv_sec += ms / 1000;
	g->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (g->deadline.tv_nsec >= 1000000000L) {
		g->deadline.tv_sec++;
		g->deadline.tv_nsec -= 1000000000L;
	}
	current_guard = g;
	rc = pthread_create(&g->thread, NULL, guard_run, g);
	if (rc != 0)
		VR_LOG_WARN("no watchdog for this connection: %s", strerror(rc));
	g->running = rc == 0;
}

/* guard_end - stop watching; true when the deadline passed */
static bool guard_end(struct guard *g)
{
	bool fired;

	current_guard = NULL;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	if (g->running)
		pthread_join(g->thread, NULL);
	fired = g->fired;
	if (g->fd >= 0)
		close(g->fd);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	return fired;
}

/* set_opt - ldap_set_option, logging what failed into why */
static bool set_opt(struct ctx *c, LDAP *ld, int opt, const void *val, const char *name)
{
	int rc = ldap_set_option(ld, opt, val);

	if (rc == LDAP_OPT_SUCCESS)
		return true;
	check_nomem(rc);
	why_set(c, "cannot set %s", name);
	return false;
}

/* open_handle - a connection to uri with the profile's options, TLS established (LDAPS
 * handshake or StartTLS when required), within the network timeout (plus one operation
 * timeout for StartTLS). DIR_UNAVAILABLE: try the next URI; DIR_CONFIG_ERROR: stop. */
static enum dir_result open_handle(struct ctx *c, const char *uri, LDAP **out)
{
	const struct dir_profile *p = c->p;
	LDAP *ld = NULL;
	bool ldaps, fired;
	int v3 = LDAP_VERSION3, reqcert, tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, srv = 0, rc;
	int limit_ms;
	struct timeval net = tv_of_ms(c->net_ms), op = tv_of_ms(c->op_ms);
	struct guard g;
	char d[256];

	*out = NULL;
	if (strncasecmp(uri, "ldaps://", 8) == 0) {
		ldaps = true;
	} else if (strncasecmp(uri, "ldap://", 7) == 0) {
		ldaps = false;
	} else {
		why_set(c, "%s: only ldap:// and ldaps:// URIs are supported", uri);
		return DIR_CONFIG_ERROR;
	}
	rc = ldap_initialize(&ld, uri);
	check_nomem(rc);
	if (rc != LDAP_SUCCESS || ld == NULL) {
		why_set(c, "%s: bad URI: %s", uri, ldap_err2string(rc));
		return DIR_CONFIG_ERROR;
	}
	reqcert = p->verify_cert ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	if (!set_opt(c, ld, LDAP_OPT_PROTOCOL_VERSION, &v3, "protocol version") ||
	    !set_opt(c, ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals") ||
	    !set_opt(c, ld, LDAP_OPT_NETWORK_TIMEOUT, &net, "network timeout") ||
	    !set_opt(c, ld, LDAP_OPT_TIMEOUT, &op, "operation timeout") ||
	    !set_opt(c, ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &reqcert, "TLS certificate check") ||
	    !set_opt(c, ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin, "TLS minimum version") ||
	    !set_opt(c, ld, LDAP_OPT_CONNECT_CB, &guard_cb, "connect callback"))
		goto config_error;
	if (p->ca_file != NULL && p->ca_file[0] != '\0' &&
	    (!set_opt(c, ld, LDAP_OPT_X_TLS_CACERTFILE, p->ca_file, "CA file") ||
	     /* only the configured CA: not also ldap.conf's TLS_CACERTDIR */
	     !set_opt(c, ld, LDAP_OPT_X_TLS_CACERTDIR, NULL, "CA directory")))
		goto config_error;
	/* the options above only apply to a context made after them, for this handle */
	rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &srv);
	if (rc != LDAP_OPT_SUCCESS) {
		check_nomem(rc);
		diag(ld, d, sizeof(d));
		why_set(c, "%s: TLS set-up failed (CA file %s): %s", uri,
			p->ca_file ? p->ca_file : "(system)", d[0] ? d : "unknown error");
		goto config_error;
	}

	/* connect now (not lazily at the first operation), under the watchdog */
	limit_ms = !ldaps && p->starttls ? c->net_ms + c->op_ms : c->net_ms;
	guard_start(&g, limit_ms);
	if (ldap_connect(ld) != LDAP_SUCCESS) {
		if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS ||
		    rc == LDAP_SUCCESS)
			rc = LDAP_SERVER_DOWN;
	} else if (!ldaps && p->starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
	}
	fired = guard_end(&g);
	check_nomem(rc);
	if (rc != LDAP_SUCCESS) {
		diag(ld, d, sizeof(d));
		if (fired)
			why_append(c, "%s: no answer within %d ms", uri, limit_ms);
		else
			why_append(c, "%s: %s%s%s%s", uri,
				   !ldaps && p->starttls ? "StartTLS: " : "", ldap_err2string(rc),
				   d[0] ? ": " : "", d);
		unbind(ld);
		return DIR_UNAVAILABLE;
	}
	*out = ld;
	return DIR_OK;

config_error:
	unbind(ld);
	return DIR_CONFIG_ERROR;
}

/* bind_any - a new connection from URI index `from` on, bound as dn with pw (dn "" and pw
 * "": anonymous). Connection failures move on to the next URI. DIR_OK: the server
 * answered the bind: *rc is its result code (success or not), *idx the URI used, *ld the
 * handle, kept so that the caller can read the diagnostic; the caller unbinds it. */
static enum dir_result bind_any(struct ctx *c, size_t from, const char *dn, const char *pw,
				LDAP **ld, size_t *idx, int *rc)
{
	const struct dir_profile *p = c->p;
	struct berval cred = {.bv_len = strlen(pw), .bv_val = (char *)pw};
	char d[256];

	*ld = NULL;
	for (size_t i = from; i < p->nuris; i++) {
		enum dir_result r = open_handle(c, p->uris[i], ld);

		if (r == DIR_CONFIG_ERROR)
			return r;
		if (r != DIR_OK)
			continue;
		*rc = ldap_sasl_bind_s(*ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		check_nomem(*rc);
		if (is_conn_error(*rc)) {
			diag(*ld, d, sizeof(d));
			why_append(c, "%s: %s%s%s", p->uris[i], ldap_err2string(*rc),
				   d[0] ? ": " : "", d);
			unbind(*ld);
			*ld = NULL;
			continue;
		}
		*idx = i;
		return DIR_OK;
	}
	return DIR_UNAVAILABLE;
}

/* service_bind - a connection bound as the service account; why says what failed */
static enum dir_result service_bind(struct ctx *c, LDAP **ld, size_t *idx)
{
	const struct dir_profile *p = c->p;
	bool anon = p->bind_dn == NULL || p->bind_dn[0] == '\0';
	char d[256];
	int rc = LDAP_OTHER;
	enum dir_result r;

	r = bind_any(c, 0, anon ? "" : p->bind_dn, anon ? "" : p->bind_password, ld, idx, &rc);
	if (r != DIR_OK)
		return r;
	if (rc != LDAP_SUCCESS) {
		diag(*ld, d, sizeof(d));
		why_set(c, "service bind refused by %s: %s%s%s", p->uris[*idx], ldap_err2string(rc),
			d[0] ? ": " : "", d);
		unbind(*ld);
		*ld = NULL;
		return DIR_UNAVAILABLE;
	}
	return DIR_OK;
}

/* values - the values of attr in e as malloc'd strings (values holding NUL skipped) */
static char **values(LDAP *ld, LDAPMessage *e, const char *attr, size_t *n)
{
	struct berval **bv = ldap_get_values_len(ld, e, attr);
	char **v = NULL;

	*n = 0;
	if (bv == NULL)
		return NULL;
	for (size_t i = 0; bv[i] != NULL; i++) {
		if (bv[i]->bv_len == 0 || memchr(bv[i]->bv_val, '\0', bv[i]->bv_len) != NULL)
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		VR_CHECK_ALLOC(v);
		v[*n] = strndup(bv[i]->bv_val, bv[i]->bv_len);
		VR_CHECK_ALLOC(v[*n]);
		(*n)++;
	}
	ldap_value_free_len(bv);
	return v;
}

/* first_value - the first value of attr in e, malloc'd, or NULL */
static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	size_t n;
	char **v, *first;

	if (attr == NULL || attr[0] == '\0')
		return NULL;
	v = values(ld, e, attr, &n);
	if (n == 0) {
		free(v);
		return NULL;
	}
	first = v[0];
	v[0] = NULL;
	dir_strv_free(v, n);
	return first;
}

/* append_values - move (src, ns) to the end of (*dst, *nd) */
static void append_values(char ***dst, size_t *nd, char **src, size_t ns)
{
	if (ns == 0) {
		free(src);
		return;
	}
	*dst = realloc(*dst, (*nd + ns) * sizeof(**dst));
	VR_CHECK_ALLOC(*dst);
	memcpy(*dst + *nd, src, ns * sizeof(*src));
	*nd += ns;
	free(src);
}

/* entry_free - free what e holds */
static void entry_free(struct entry *e)
{
	free(e->dn);
	free(e->username);
	free(e->display);
	dir_strv_free(e->plain, e->nplain);
	dir_strv_free(e->proxy, e->nproxy);
	dir_strv_free(e->member_of, e->nmember_of);
	memset(e, 0, sizeof(*e));
}

/* search_error - the result for a failed search's rc, with the reason in why */
static enum dir_result search_error(struct ctx *c, LDAP *ld, int rc, const char *what)
{
	char d[256];

	diag(ld, d, sizeof(d));
	why_set(c, "%s failed: %s%s%s", what, ldap_err2string(rc), d[0] ? ": " : "", d);
	switch (rc) {
	case LDAP_FILTER_ERROR:
	case LDAP_NO_SUCH_OBJECT:
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_REFERRAL:
	case LDAP_UNDEFINED_TYPE:
	case LDAP_INAPPROPRIATE_MATCHING:
		return DIR_CONFIG_ERROR;
	default:
		return DIR_UNAVAILABLE;
	}
}

/* find_user - search the login with the service connection: exactly one entry -> e */
static enum dir_result find_user(struct ctx *c, LDAP *ld, const char *account, struct entry *e)
{
	const struct dir_profile *p = c->p;
	char filter[DIR_FILTER_MAX];
	char *attrs[ATTRS_MAX + 1];
	size_t na = 0;
	struct timeval op = tv_of_ms(c->op_ms);
	LDAPMessage *res = NULL, *m;
	enum dir_text_rc trc;
	int rc, n;

	memset(e, 0, sizeof(*e));
	e->uac = -1;
	trc = dir_build_filter(p->user_filter, account, filter, sizeof(filter));
	if (trc != DIR_TEXT_OK) {
		why_set(c, trc == DIR_TEXT_TOO_LONG ? "user filter too long"
						    : "user filter has no {login}");
		return DIR_CONFIG_ERROR;
	}
	attrs[na++] = (char *)p->username_attr;
	if (p->display_attr && p->display_attr[0])
		attrs[na++] = (char *)p->display_attr;
	for (size_t i = 0; i < p->naddress_attrs && na < ATTRS_MAX - 1; i++)
		attrs[na++] = (char *)p->address_attrs[i];
	attrs[na++] = p->kind == DIR_KIND_AD ? "userAccountControl" : "memberOf";
	attrs[na] = NULL;

	rc = ldap_search_ext_s(ld, p->base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL,
			       &op, 2, &res);
	check_nomem(rc);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(res);
		return search_error(c, ld, rc, "user search");
	}
	/* search references (AD's from the domain root) are not entries: not counted */
	n = ldap_count_entries(ld, res);
	if (n == 0) {
		ldap_msgfree(res);
		why_set(c, "no entry matches the login");
		return DIR_BAD_CREDENTIALS;
	}
	if (n > 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(res);
		why_set(c, "several entries match the login");
		return DIR_AMBIGUOUS;
	}
	m = ldap_first_entry(ld, res);
	{
		char *dn = ldap_get_dn(ld, m);

		VR_CHECK_ALLOC(dn);
		e->dn = strdup(dn);
		VR_CHECK_ALLOC(e->dn);
		ldap_memfree(dn);
	}
	e->username = first_value(ld, m, p->username_attr);
	e->display = first_value(ld, m, p->display_attr);
	for (size_t i = 0; i < p->naddress_attrs; i++) {
		size_t nv;
		char **v = values(ld, m, p->address_attrs[i], &nv);

		if (p->kind == DIR_KIND_AD &&
		    strcasecmp(p->address_attrs[i], "proxyAddresses") == 0)
			append_values(&e->proxy, &e->nproxy, v, nv);
		else
			append_values(&e->plain, &e->nplain, v, nv);
	}
	if (p->kind == DIR_KIND_AD) {
		char *uac = first_value(ld, m, "userAccountControl");

		if (uac != NULL)
			e->uac = strtol(uac, NULL, 10);
		free(uac);
	} else {
		struct berval **bv = ldap_get_values_len(ld, m, "memberOf");

		e->has_member_of = bv != NULL;
		ldap_value_free_len(bv);
		e->member_of = values(ld, m, "memberOf", &e->nmember_of);
	}
	ldap_msgfree(res);
	return DIR_OK;
}

/* user_bind - bind as dn with password on a new connection (from URI idx on) */
static enum dir_result user_bind(struct ctx *c, size_t from, const char *dn, const char *password)
{
	LDAP *ld = NULL;
	size_t idx = 0;
	int rc = LDAP_OTHER, code;
	char d[256];
	const char *what;
	enum dir_result r;

	r = bind_any(c, from, dn, password, &ld, &idx, &rc);
	if (r != DIR_OK)
		return r;
	diag(ld, d, sizeof(d));
	unbind(ld);
	if (rc == LDAP_SUCCESS)
		return DIR_OK;
	code = dir_parse_ad_error(d);
	if (code >= 0) {
		r = dir_ad_error_result(code, &what);
		why_set(c, "AD data %x: %s", (unsigned)code, what);
		return r;
	}
	switch (rc) {
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_UNWILLING_TO_PERFORM:
		why_set(c, "user bind refused: %s%s%s", ldap_err2string(rc), d[0] ? ": " : "", d);
		return DIR_BAD_CREDENTIALS;
	default:
		why_set(c, "user bind failed: %s%s%s", ldap_err2string(rc), d[0] ? ": " : "", d);
		return DIR_UNAVAILABLE;
	}
}

/* count_matches - entries found by a search (1.1: no attributes); -1 on error (why set) */
static int count_matches(struct ctx *c, LDAP *ld, const char *base, int scope, const char *filter,
			 int sizelimit, LDAPMessage **keep)
{
	static char *no_attrs[] = {LDAP_NO_ATTRS, NULL};
	struct timeval op = tv_of_ms(c->op_ms);
	LDAPMessage *res = NULL;
	int rc, n;

	rc = ldap_search_ext_s(ld, base, scope, filter, no_attrs, 0, NULL, NULL, &op, sizelimit,
			       &res);
	check_nomem(rc);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_msgfree(res);
		search_error(c, ld, rc, "group search");
		return -1;
	}
	n = ldap_count_entries(ld, res);
	if (keep)
		*keep = res;
	else
		ldap_msgfree(res);
	return n;
}

/* by_role_desc - qsort: mapped groups, highest role first */
static int by_role_desc(const void *a, const void *b)
{
	const struct dir_group_role *x = *(const struct dir_group_role *const *)a;
	const struct dir_group_role *y = *(const struct dir_group_role *const *)b;

	return (int)y->role - (int)x->role;
}

/* sorted_mappings - pointers to p's group mappings, highest role first (caller frees) */
static const struct dir_group_role **sorted_mappings(const struct dir_profile *p)
{
	const struct dir_group_role **v = calloc(p->ngroup_roles + 1, sizeof(*v));

	VR_CHECK_ALLOC(v);
	for (size_t i = 0; i < p->ngroup_roles; i++)
		v[i] = &p->group_roles[i];
	qsort(v, p->ngroup_roles, sizeof(*v), by_role_desc);
	return v;
}

/* role_ad - the highest mapped group the user is in, nested, by AD's in-chain rule: one
 * base-scope query on the user per mapped group, highest role first, first hit wins */
static enum dir_result role_ad(struct ctx *c, LDAP *ld, const struct entry *e, enum role *role,
			       const char **via)
{
	const struct dir_profile *p = c->p;
	const struct dir_group_role **m = sorted_mappings(p);
	enum dir_result r = DIR_OK;

	*role = ROLE_USER;
	*via = NULL;
	for (size_t i = 0; i < p->ngroup_roles; i++) {
		char *esc = dir_filter_escape(m[i]->group_dn);
		size_t fl = strlen(esc) + sizeof("(memberOf:" AD_IN_CHAIN ":=)");
		char *filter = malloc(fl);
		int n;

		VR_CHECK_ALLOC(filter);
		snprintf(filter, fl, "(memberOf:" AD_IN_CHAIN ":=%s)", esc);
		free(esc);
		n = count_matches(c, ld, e->dn, LDAP_SCOPE_BASE, filter, 1, NULL);
		free(filter);
		if (n < 0) {
			r = DIR_UNAVAILABLE;
			break;
		}
		if (n > 0) {
			*role = m[i]->role;
			*via = m[i]->group_dn;
			break;
		}
	}
	free(m);
	return r;
}

/* A set of groups (normalised DNs) with the raw DNs to query with. */
struct groups {
	char **norm, **raw;
	size_t n;
};

/* groups_add - add dn unless known; true when added */
static bool groups_add(struct groups *g, const char *dn)
{
	char *norm = dir_dn_normalise(dn);

	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->norm[i], norm) == 0) {
			free(norm);
			return false;
		}
	g->norm = realloc(g->norm, (g->n + 1) * sizeof(*g->norm));
	g->raw = realloc(g->raw, (g->n + 1) * sizeof(*g->raw));
	VR_CHECK_ALLOC(g->norm);
	VR_CHECK_ALLOC(g->raw);
	g->norm[g->n] = norm;
	g->raw[g->n] = strdup(dn);
	VR_CHECK_ALLOC(g->raw[g->n]);
	g->n++;
	return true;
}

/* groups_free - release g */
static void groups_free(struct groups *g)
{
	dir_strv_free(g->norm, g->n);
	dir_strv_free(g->raw, g->n);
	memset(g, 0, sizeof(*g));
}

/* best_mapped - the highest mapped role among the groups in g */
static enum role best_mapped(const struct dir_profile *p, const struct groups *g, const char **via)
{
	enum role best = ROLE_USER;

	*via = NULL;
	for (size_t i = 0; i < p->ngroup_roles; i++) {
		char *norm;

		if (p->group_roles[i].role <= best)
			continue;
		norm = dir_dn_normalise(p->group_roles[i].group_dn);
		for (size_t j = 0; j < g->n; j++)
			if (strcmp(norm, g->norm[j]) == 0) {
				best = p->group_roles[i].role;
				*via = p->group_roles[i].group_dn;
				break;
			}
		free(norm);
	}
	return best;
}

/* parents - add to g the groups that have one of dns[0..n) as `member`; the new ones are
 * g->raw[g->n before .. g->n after) */
static enum dir_result parents(struct ctx *c, LDAP *ld, struct groups *g, char *const *dns,
			       size_t n)
{
	for (size_t at = 0; at < n; at += GROUPS_PER_QUERY) {
		size_t k = n - at < GROUPS_PER_QUERY ? n - at : GROUPS_PER_QUERY, fl = 4;
		char *filter, **esc = calloc(k, sizeof(*esc));
		LDAPMessage *res = NULL;
		int cnt;

		VR_CHECK_ALLOC(esc);
		for (size_t i = 0; i < k; i++) {
			esc[i] = dir_filter_escape(dns[at + i]);
			fl += strlen(esc[i]) + sizeof("(member=)");
		}
		filter = malloc(fl);
		VR_CHECK_ALLOC(filter);
		strcpy(filter, "(|");
		for (size_t i = 0; i < k; i++) {
			strcat(filter, "(member=");
			strcat(filter, esc[i]);
			strcat(filter, ")");
		}
		strcat(filter, ")");
		dir_strv_free(esc, k);
		cnt = count_matches(c, ld, c->p->base_dn, LDAP_SCOPE_SUBTREE, filter, GROUPS_MAX,
				    &res);
		free(filter);
		if (cnt < 0)
			return DIR_UNAVAILABLE;
		for (LDAPMessage *m = ldap_first_entry(ld, res); m && g->n < GROUPS_MAX;
		     m = ldap_next_entry(ld, m)) {
			char *dn = ldap_get_dn(ld, m);

			VR_CHECK_ALLOC(dn);
			groups_add(g, dn);
			ldap_memfree(dn);
		}
		ldap_msgfree(res);
	}
	return DIR_OK;
}

/* role_openldap - the highest mapped group the user is in: memberOf (the overlay's direct
 * groups; without the attribute, a search for member=user), then the parents of the
 * groups found, level by level, at most DIR_GROUP_DEPTH_MAX levels */
static enum dir_result role_openldap(struct ctx *c, LDAP *ld, const struct entry *e,
				     enum role *role, const char **via)
{
	const struct dir_profile *p = c->p;
	struct groups g = {0};
	enum role top = ROLE_USER;
	size_t level_start = 0;
	enum dir_result r = DIR_OK;

	*role = ROLE_USER;
	*via = NULL;
	for (size_t i = 0; i < p->ngroup_roles; i++)
		if (p->group_roles[i].role > top)
			top = p->group_roles[i].role;
	if (top == ROLE_USER)
		return DIR_OK;
	if (e->has_member_of) {
		for (size_t i = 0; i < e->nmember_of; i++)
			groups_add(&g, e->member_of[i]);
	} else {
		char *self = e->dn;

		r = parents(c, ld, &g, &self, 1);
	}
	for (int depth = 0; r == DIR_OK; depth++) {
		size_t level_end = g.n;

		*role = best_mapped(p, &g, via);
		if (*role == top || depth >= DIR_GROUP_DEPTH_MAX || level_start == level_end ||
		    g.n >= GROUPS_MAX)
			break;
		r = parents(c, ld, &g, g.raw + level_start, level_end - level_start);
		level_start = level_end;
	}
	groups_free(&g);
	if (r != DIR_OK) {
		*role = ROLE_USER;
		*via = NULL;
	}
	return r;
}

/* map_role - the user's role from its groups */
static enum dir_result map_role(struct ctx *c, LDAP *ld, const struct entry *e, enum role *role,
				const char **via)
{
	if (c->p->ngroup_roles == 0) {
		*role = ROLE_USER;
		*via = NULL;
		return DIR_OK;
	}
	if (c->p->kind == DIR_KIND_AD)
		return role_ad(c, ld, e, role, via);
	return role_openldap(c, ld, e, role, via);
}

/* check_profile - is p usable? Sets the effective timeouts. */
static enum dir_result check_profile(struct ctx *c)
{
	const struct dir_profile *p = c->p;

	if (p == NULL) {
		why_set(c, "no profile");
		return DIR_CONFIG_ERROR;
	}
	c->net_ms = p->network_timeout_ms > 0 ? p->network_timeout_ms : DIR_NET_TIMEOUT_MS_DEFAULT;
	c->op_ms = p->op_timeout_ms > 0 ? p->op_timeout_ms : DIR_OP_TIMEOUT_MS_DEFAULT;
	if (p->nuris == 0 || p->uris == NULL) {
		why_set(c, "no URI");
		return DIR_CONFIG_ERROR;
	}
	for (size_t i = 0; i < p->nuris; i++)
		if (p->uris[i] == NULL || p->uris[i][0] == '\0') {
			why_set(c, "empty URI");
			return DIR_CONFIG_ERROR;
		}
	if (p->base_dn == NULL || p->base_dn[0] == '\0') {
		why_set(c, "no base DN");
		return DIR_CONFIG_ERROR;
	}
	if (p->user_filter == NULL || strstr(p->user_filter, "{login}") == NULL) {
		why_set(c, "the user filter has no {login}");
		return DIR_CONFIG_ERROR;
	}
	if (p->username_attr == NULL || p->username_attr[0] == '\0') {
		why_set(c, "no username attribute");
		return DIR_CONFIG_ERROR;
	}
	/* a DN with an empty password is an unauthenticated bind: it "succeeds" */
	if (p->bind_dn != NULL && p->bind_dn[0] != '\0' &&
	    (p->bind_password == NULL || p->bind_password[0] == '\0')) {
		why_set(c, "the service account has no password");
		return DIR_CONFIG_ERROR;
	}
	if (p->naddress_attrs > DIR_ADDRESS_ATTRS_MAX) {
		why_set(c, "more than %d address attributes", DIR_ADDRESS_ATTRS_MAX);
		return DIR_CONFIG_ERROR;
	}
	for (size_t i = 0; i < p->naddress_attrs; i++)
		if (p->address_attrs[i] == NULL || p->address_attrs[i][0] == '\0') {
			why_set(c, "empty address attribute");
			return DIR_CONFIG_ERROR;
		}
	for (size_t i = 0; i < p->ngroup_roles; i++)
		if (p->group_roles[i].group_dn == NULL || p->group_roles[i].group_dn[0] == '\0' ||
		    p->group_roles[i].role < ROLE_USER || p->group_roles[i].role > ROLE_ADMIN) {
			why_set(c, "group mapping %zu is incomplete", i);
			return DIR_CONFIG_ERROR;
		}
	return DIR_OK;
}

/* fill_user - the dir_user of entry e with role; moves e's strings */
static void fill_user(struct entry *e, const char *account, enum dir_kind kind, enum role role,
		      struct dir_user *out)
{
	out->dn = e->dn;
	e->dn = NULL;
	out->username = e->username ? e->username : strdup(account);
	VR_CHECK_ALLOC(out->username);
	e->username = NULL;
	out->display_name = e->display ? e->display : strdup(out->username);
	VR_CHECK_ALLOC(out->display_name);
	e->display = NULL;
	if (kind == DIR_KIND_AD) {
		dir_addresses_from_proxy((const char *const *)e->plain, e->nplain,
					 (const char *const *)e->proxy, e->nproxy, &out->addresses,
					 &out->naddresses);
	} else {
		for (size_t i = 0; i < e->nplain; i++)
			dir_address_add(&out->addresses, &out->naddresses, e->plain[i]);
	}
	if (out->naddresses > 0) {
		out->primary_address = strdup(out->addresses[0]);
		VR_CHECK_ALLOC(out->primary_address);
	}
	out->role = role;
}

/* equalise_time - the user bind an unknown login would have cost, so that its answer
 * takes as long as a wrong password's: a new connection and a bind as an entry that does
 * not exist, with a fixed password (never the user's); the result is ignored */
static void equalise_time(struct ctx *c, size_t idx)
{
	char why[8], *dn;
	struct ctx quiet = *c;
	size_t n = strlen(c->p->base_dn) + sizeof("cn=vrgate-no-such-user,");

	dn = malloc(n);
	VR_CHECK_ALLOC(dn);
	snprintf(dn, n, "cn=vrgate-no-such-user,%s", c->p->base_dn);
	quiet.why = why;
	quiet.whysz = sizeof(why);
	user_bind(&quiet, idx, dn, "vrgate-no-such-user");
	free(dn);
}

/* dir_authenticate - check login/password against the directory of p */
enum dir_result dir_authenticate(const struct dir_profile *p, const char *login,
				 const char *password, struct dir_user *out, char *why,
				 size_t whysz)
{
	struct ctx c = {.p = p, .why = why, .whysz = whysz};
	char account[DIR_LOGIN_MAX + 1];
	struct entry e;
	LDAP *svc = NULL;
	size_t idx = 0;
	enum role role = ROLE_USER;
	const char *via;
	enum dir_text_rc trc;
	enum dir_result r;

	if (why && whysz)
		why[0] = '\0';
	memset(out, 0, sizeof(*out));
	r = check_profile(&c);
	if (r != DIR_OK)
		return r;
	/* refused before any connection: an empty password would be an anonymous bind,
	 * which succeeds */
	if (password == NULL || password[0] == '\0') {
		why_set(&c, "empty password");
		return DIR_BAD_CREDENTIALS;
	}
	if (strlen(password) > DIR_PASSWORD_MAX) {
		why_set(&c, "password too long");
		return DIR_BAD_CREDENTIALS;
	}
	if (!dir_login_acceptable(login)) {
		why_set(&c, "login empty, too long or with control characters");
		return DIR_BAD_CREDENTIALS;
	}
	trc = dir_parse_login(login, p->netbios_domain, account, sizeof(account));
	if (trc != DIR_TEXT_OK) {
		why_set(&c, trc == DIR_TEXT_OTHER_DOMAIN ? "login names another domain"
							 : "malformed DOMAIN\\user login");
		return DIR_BAD_CREDENTIALS;
	}

	r = service_bind(&c, &svc, &idx);
	if (r != DIR_OK)
		return r;
	r = find_user(&c, svc, account, &e);
	if (r != DIR_OK) {
		unbind(svc);
		if (r == DIR_BAD_CREDENTIALS)
			equalise_time(&c, idx);
		return r;
	}
	/* a connection of its own: the service connection keeps its identity */
	r = user_bind(&c, idx, e.dn, password);
	if (r == DIR_OK && p->kind == DIR_KIND_AD && e.uac >= 0 &&
	    (e.uac & AD_UAC_ACCOUNTDISABLE) != 0) {
		/* checked after the bind, so that it tells nothing to a wrong password */
		why_set(&c, "userAccountControl: account disabled");
		r = DIR_ACCOUNT_DISABLED;
	}
	if (r == DIR_OK)
		r = map_role(&c, svc, &e, &role, &via);
	unbind(svc);
	if (r == DIR_OK) {
		fill_user(&e, account, p->kind, role, out);
		why_set(&c, "%s as %s%s%s", role_name(role), out->dn, via ? " via " : "",
			via ? via : "");
	}
	entry_free(&e);
	return r;
}

/* step_begin - the next step, named, or NULL when steps are full */
static struct dir_step *step_begin(struct dir_step *steps, size_t max, size_t *n, const char *name,
				   double *t0)
{
	struct dir_step *s;

	if (*n >= max)
		return NULL;
	s = &steps[(*n)++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	*t0 = now_ms();
	return s;
}

/* step_end - close step s with its outcome */
__attribute__((format(printf, 4, 5))) static bool step_end(struct dir_step *s, double t0, bool ok,
							   const char *fmt, ...)
{
	va_list ap;

	if (s == NULL)
		return ok;
	s->ok = ok;
	s->ms = now_ms() - t0;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	return ok;
}

/* tls_desc - "TLS1.3 cipher" of ld's connection, or "no TLS" */
static void tls_desc(LDAP *ld, char *buf, size_t bufsz)
{
	char *ver = NULL, *cipher = NULL;

	ldap_get_option(ld, LDAP_OPT_X_TLS_VERSION, &ver);
	ldap_get_option(ld, LDAP_OPT_X_TLS_CIPHER, &cipher);
	if (ver)
		snprintf(buf, bufsz, "%s %s", ver, cipher ? cipher : "");
	else
		snprintf(buf, bufsz, "no TLS");
	ldap_memfree(ver);
	ldap_memfree(cipher);
}

/* tls_would_work - does some URI of p connect when the certificate is not checked? */
static bool tls_would_work(const struct dir_profile *p)
{
	struct dir_profile lax = *p;
	struct ctx c = {.p = &lax};
	LDAP *ld = NULL;

	lax.verify_cert = false;
	if (check_profile(&c) != DIR_OK)
		return false;
	for (size_t i = 0; i < lax.nuris; i++)
		if (open_handle(&c, lax.uris[i], &ld) == DIR_OK) {
			unbind(ld);
			return true;
		}
	return false;
}

/* dir_test - connect, bind as the service account, optionally look up sample_login */
size_t dir_test(const struct dir_profile *p, const char *sample_login, struct dir_step *steps,
		size_t max)
{
	char why[256] = "";
	struct ctx c = {.p = p, .why = why, .whysz = sizeof(why)};
	struct dir_step *s;
	size_t n = 0, idx = 0;
	double t0;
	LDAP *ld = NULL;
	enum dir_result r;
	char account[DIR_LOGIN_MAX + 1], tls[128];
	struct entry e;
	enum role role;
	const char *via;
	int rc;

	s = step_begin(steps, max, &n, "config", &t0);
	if (!step_end(s, t0, check_profile(&c) == DIR_OK, "%s", why[0] ? why : "complete"))
		return n;

	s = step_begin(steps, max, &n, "connect", &t0);
	r = DIR_UNAVAILABLE;
	for (idx = 0; idx < p->nuris && r != DIR_OK && r != DIR_CONFIG_ERROR; idx++)
		r = open_handle(&c, p->uris[idx], &ld);
	if (r != DIR_OK) {
		if (r == DIR_UNAVAILABLE && p->verify_cert && tls_would_work(p))
			why_append(&c, "it works without certificate verification: check the CA "
				       "file and that the URI's host is in the certificate");
		step_end(s, t0, false, "%s", why);
		return n;
	}
	idx--;
	tls_desc(ld, tls, sizeof(tls));
	step_end(s, t0, true, "%s (%s)", p->uris[idx], tls);

	s = step_begin(steps, max, &n, "bind", &t0);
	{
		bool anon = p->bind_dn == NULL || p->bind_dn[0] == '\0';
		const char *pw = anon ? "" : p->bind_password;
		struct berval cred = {.bv_len = strlen(pw), .bv_val = (char *)pw};
		char d[256];

		rc = ldap_sasl_bind_s(ld, anon ? "" : p->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
				      NULL, NULL);
		check_nomem(rc);
		if (rc == LDAP_SUCCESS) {
			step_end(s, t0, true, "as %s", anon ? "anonymous" : p->bind_dn);
		} else {
			diag(ld, d, sizeof(d));
			step_end(s, t0, false, "%s%s%s", ldap_err2string(rc), d[0] ? ": " : "", d);
			unbind(ld);
			return n;
		}
	}
	if (sample_login == NULL) {
		unbind(ld);
		return n;
	}

	s = step_begin(steps, max, &n, "search", &t0);
	why[0] = '\0';
	if (!dir_login_acceptable(sample_login) ||
	    dir_parse_login(sample_login, p->netbios_domain, account, sizeof(account)) !=
		DIR_TEXT_OK) {
		step_end(s, t0, false, "unusable login");
		unbind(ld);
		return n;
	}
	r = find_user(&c, ld, account, &e);
	if (!step_end(s, t0, r == DIR_OK, "%s", r == DIR_OK ? e.dn : why)) {
		unbind(ld);
		return n;
	}

	s = step_begin(steps, max, &n, "groups", &t0);
	why[0] = '\0';
	r = map_role(&c, ld, &e, &role, &via);
	if (r == DIR_OK)
		step_end(s, t0, true, "role %s%s%s", role_name(role), via ? " via " : "",
			 via ? via : " (no mapped group)");
	else
		step_end(s, t0, false, "%s", why);
	entry_free(&e);
	unbind(ld);
	return n;
}
