/* render_postfix.c - the text of the private Postfix's configuration (see render_postfix.h).
 *
 * Design, in Postfix terms:
 *  - inbound listener: relays only to relay_domains (smtpd_relay_restrictions =
 *    reject_unauth_destination, mynetworks empty on that listener); recipients of domains
 *    with verify_recipients go through reject_unverified_recipient (address verification:
 *    550 when the internal server refuses the address, 450 when it cannot be reached);
 *  - outbound listener: only clients of the internal networks (mynetworks =
 *    cidr:mynetworks on that listener, permit_mynetworks then reject), to anywhere;
 *  - reinjection listener: loopback clients, relay_domains only, no milter;
 *  - the inbound and outbound listeners call the milter (when the node runs one) with
 *    milter_default_action = tempfail (no answer: 4xx, nothing lost) and their own
 *    {daemon_name} (milter_macro_daemon_name), which is how the milter knows the direction;
 *  - delivery: each relay domain to its internal server by transport_maps; everything
 *    else to the smarthost (relayhost) or by MX lookups;
 *  - no chroot, no local delivery, no DNS unless the node allows it and mode is mx.
 * parent_domain_matches_subdomains drops relay_domains and smtpd_access_maps, so that
 * "corp.test" does not also open relaying for "any.sub.corp.test".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "render_postfix.h"

#define RENDER_LIMIT (64u * 1024 * 1024)

const char *const pf_managed_files[] = {
	"relay_domains", "transport", "verify_recipients", "mynetworks", "master.cf", "main.cf",
	NULL,
};

/* bprintf - append formatted text to b (aborts past RENDER_LIMIT: a broken invariant) */
__attribute__((format(printf, 2, 3))) static void bprintf(struct vr_buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		VR_DIE("vsnprintf failed");
	if ((size_t)n >= sizeof(small)) {
		big = malloc((size_t)n + 1);
		VR_CHECK_ALLOC(big);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (vr_buf_append(b, big ? big : small, (size_t)n, RENDER_LIMIT) < 0)
		VR_DIE("rendered file over %u bytes", RENDER_LIMIT);
	free(big);
}

/* pf_service_name - "addr:port", IPv6 in brackets */
void pf_service_name(const struct snap_listener *l, char *buf, size_t n)
{
	if (l->v6)
		snprintf(buf, n, "[%s]:%d", l->address, l->port);
	else
		snprintf(buf, n, "%s:%d", l->address, l->port);
}

/* add_file - move b's text into the next slot of c */
static void add_file(struct pf_config *c, const char *name, enum pf_kind kind, struct vr_buf *b)
{
	if (c->n >= PF_MAX_FILES)
		VR_DIE("more than %d files", PF_MAX_FILES);
	c->files[c->n].name = name;
	c->files[c->n].kind = kind;
	c->files[c->n].text = b->data ? b->data : strdup("");
	VR_CHECK_ALLOC(c->files[c->n].text);
	c->files[c->n].len = b->len;
	c->n++;
	memset(b, 0, sizeof(*b));
}

/* header - the comment every rendered file opens with. It names no snapshot version: a
 * version that changes nothing Postfix reads (a user's list entry) must render the same
 * bytes, so that postfix_apply.c can see there is nothing to reload (the version in force
 * is in vr-agent's state directory and in its heartbeat) */
static void header(struct vr_buf *b, const char *name, const char *what)
{
	bprintf(b, "# %s - %s\n", name, what);
	bprintf(b, "# Rendered by vr-agent from apid's snapshot.\n");
	bprintf(b, "# Do not edit: vr-agent replaces it when the snapshot changes.\n");
}

/* local_path_ok - an absolute path that main.cf and master.cf can carry unquoted */
static bool local_path_ok(const char *p)
{
	if (p == NULL || p[0] != '/')
		return false;
	for (; *p; p++)
		if (*p <= ' ' || strchr("$,{}#\"'\\;=", *p) || *p == 0x7f)
			return false;
	return true;
}

/* check_local - the node's paths must be usable as they are */
static enum vr_err check_local(const struct pf_local *l, char *err, size_t errsz)
{
	const struct {
		const char *name, *value;
	} paths[] = {
		{"postfix-queue-dir", l->queue_dir},
		{"postfix-data-dir", l->data_dir},
		{"maillog-file", l->maillog_file},
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!local_path_ok(paths[i].value)) {
			snprintf(err, errsz,
				 "%s: '%s' must be an absolute path without blanks or special "
				 "characters",
				 paths[i].name, paths[i].value ? paths[i].value : "");
			return VR_E_INVALID_FIELD;
		}
	}
	if (l->milter_socket && *l->milter_socket && !local_path_ok(l->milter_socket)) {
		snprintf(err, errsz,
			 "milter-socket: '%s' must be an absolute path without blanks or special "
			 "characters",
			 l->milter_socket);
		return VR_E_INVALID_FIELD;
	}
	return VR_OK;
}

/* any_verify - true when some domain wants its recipients verified */
static bool any_verify(const struct snapshot *s)
{
	for (size_t i = 0; i < s->n_domains; i++)
		if (s->domains[i].verify_recipients)
			return true;
	return false;
}

/* needs_ipv6 - true when a listener or a next hop is an IPv6 literal */
static bool needs_ipv6(const struct snapshot *s)
{
	if (s->inbound.v6 || s->outbound.v6 || s->reinject.v6 ||
	    (s->outbound_mode == SNAP_OUT_SMARTHOST && s->smarthost_v6))
		return true;
	for (size_t i = 0; i < s->n_domains; i++)
		if (s->domains[i].internal_v6)
			return true;
	return false;
}

/* nexthop - "[host]:port" (brackets: no MX lookup; IPv6 literals go inside them too) */
static void nexthop(char *buf, size_t n, const char *host, int port)
{
	snprintf(buf, n, "[%s]:%d", host, port);
}

/* render_tables - relay_domains, transport, verify_recipients, mynetworks */
static void render_tables(const struct snapshot *s, struct pf_config *c)
{
	struct vr_buf b = {0};
	char hop[300];

	header(&b, "relay_domains", "the domains the inbound listener relays for (hash).");
	for (size_t i = 0; i < s->n_domains; i++)
		bprintf(&b, "%s\tOK\n", s->domains[i].name);
	add_file(c, "relay_domains", PF_HASH, &b);

	header(&b, "transport", "each relay domain to its internal mail server (hash).");
	for (size_t i = 0; i < s->n_domains; i++) {
		nexthop(hop, sizeof(hop), s->domains[i].internal_host, s->domains[i].internal_port);
		bprintf(&b, "%s\tsmtp:%s\n", s->domains[i].name, hop);
	}
	add_file(c, "transport", PF_HASH, &b);

	if (any_verify(s)) {
		header(&b, "verify_recipients",
		       "domains whose recipients the internal server must confirm (hash).");
		for (size_t i = 0; i < s->n_domains; i++)
			if (s->domains[i].verify_recipients)
				bprintf(&b, "%s\treject_unverified_recipient\n",
					s->domains[i].name);
		add_file(c, "verify_recipients", PF_HASH, &b);
	}

	header(&b, "mynetworks",
	       "the internal networks, trusted by the outbound listener only (cidr).");
	for (size_t i = 0; i < s->n_networks; i++)
		bprintf(&b, "%s\tOK\n", s->networks[i].cidr);
	add_file(c, "mynetworks", PF_CIDR, &b);
}

/* smtpd_service - the first line of an smtpd listener in master.cf */
static void smtpd_service(struct vr_buf *b, const struct snap_listener *l)
{
	char name[80];

	pf_service_name(l, name, sizeof(name));
	bprintf(b, "%-14s inet  n       -       n       -       -       smtpd\n", name);
}

/* milter_opts - smtpd_milters on a filtered listener, when the node has a milter; the
 * milter tells the listeners apart by {daemon_name} (render_postfix.h: PF_MILTER_DAEMON_*) */
static void milter_opts(struct vr_buf *b, const struct pf_local *l, const char *daemon)
{
	if (l->milter_socket == NULL || *l->milter_socket == '\0')
		return;
	bprintf(b, "  -o smtpd_milters=unix:%s\n", l->milter_socket);
	bprintf(b, "  -o milter_default_action=tempfail\n");
	bprintf(b, "  -o milter_macro_daemon_name=%s\n", daemon);
}

/* The services every instance needs, as master.cf.proto has them but without chroot.
 * No "local": nothing is delivered on this host (local_transport is error:). */
static const char internal_services[] =
	"# Postfix's own services (master.cf.proto, without chroot and without local delivery)\n"
	"pickup         unix  n       -       n       60      1       pickup\n"
	"cleanup        unix  n       -       n       -       0       cleanup\n"
	"qmgr           unix  n       -       n       300     1       qmgr\n"
	"tlsmgr         unix  -       -       n       1000?   1       tlsmgr\n"
	"rewrite        unix  -       -       n       -       -       trivial-rewrite\n"
	"bounce         unix  -       -       n       -       0       bounce\n"
	"defer          unix  -       -       n       -       0       bounce\n"
	"trace          unix  -       -       n       -       0       bounce\n"
	"verify         unix  -       -       n       -       1       verify\n"
	"flush          unix  n       -       n       1000?   0       flush\n"
	"proxymap       unix  -       -       n       -       -       proxymap\n"
	"proxywrite     unix  -       -       n       -       1       proxymap\n"
	"smtp           unix  -       -       n       -       -       smtp\n"
	"relay          unix  -       -       n       -       -       smtp\n"
	"  -o syslog_name=postfix/$service_name\n"
	"showq          unix  n       -       n       -       -       showq\n"
	"error          unix  -       -       n       -       -       error\n"
	"retry          unix  -       -       n       -       -       error\n"
	"discard        unix  -       -       n       -       -       discard\n"
	"anvil          unix  -       -       n       -       1       anvil\n"
	"scache         unix  -       -       n       -       1       scache\n"
	"postlog        unix-dgram n  -       n       -       1       postlogd\n";

/* render_master - master.cf: the three listeners, then Postfix's own services */
static void render_master(const struct snapshot *s, const struct pf_local *l,
			  struct pf_config *c)
{
	struct vr_buf b = {0};

	header(&b, "master.cf", "the services of vrgate's private Postfix instance.");
	bprintf(&b, "# No service is chrooted (5th column \"n\").\n#\n");
	bprintf(&b, "# service     type  private unpriv  chroot  wakeup  maxproc command + args\n");

	bprintf(&b, "\n# inbound: mail from the Internet, relayed only to relay_domains\n");
	smtpd_service(&b, &s->inbound);
	bprintf(&b, "  -o syslog_name=postfix/inbound\n");
	bprintf(&b, "  -o mynetworks=\n");
	bprintf(&b, "  -o smtpd_relay_restrictions=reject_unauth_destination\n");
	if (any_verify(s))
		bprintf(&b, "  -o smtpd_recipient_restrictions=check_recipient_access,"
			    "hash:$config_directory/verify_recipients\n");
	else
		bprintf(&b, "  -o smtpd_recipient_restrictions=\n");
	milter_opts(&b, l, PF_MILTER_DAEMON_INBOUND);

	bprintf(&b, "\n# outbound: mail from the internal networks (and only them) to anywhere\n");
	smtpd_service(&b, &s->outbound);
	bprintf(&b, "  -o syslog_name=postfix/outbound\n");
	bprintf(&b, "  -o mynetworks=cidr:$config_directory/mynetworks\n");
	bprintf(&b, "  -o smtpd_client_restrictions=permit_mynetworks,reject\n");
	bprintf(&b, "  -o smtpd_relay_restrictions=permit_mynetworks,reject\n");
	bprintf(&b, "  -o smtpd_recipient_restrictions=\n");
	milter_opts(&b, l, PF_MILTER_DAEMON_OUTBOUND);

	bprintf(&b, "\n# reinject: mail apid releases or generates, from loopback, never filtered\n");
	smtpd_service(&b, &s->reinject);
	bprintf(&b, "  -o syslog_name=postfix/reinject\n");
	bprintf(&b, "  -o mynetworks=%s\n", s->reinject.v6 ? "[::1]/128" : "127.0.0.0/8");
	bprintf(&b, "  -o smtpd_client_restrictions=permit_mynetworks,reject\n");
	bprintf(&b, "  -o smtpd_relay_restrictions=reject_unauth_destination\n");
	bprintf(&b, "  -o smtpd_recipient_restrictions=\n");
	bprintf(&b, "  -o smtpd_milters=\n");
	bprintf(&b, "  -o receive_override_options=no_milters\n");
	if (s->tls_inbound_cert)
		bprintf(&b, "  -o smtpd_tls_security_level=none\n");

	bprintf(&b, "\n%s", internal_services);
	add_file(c, "master.cf", PF_CONF, &b);
}

/* log_prefix - the directory of the maillog file, for maillog_file_prefixes */
static void log_prefix(const char *file, char *out, size_t n)
{
	const char *slash = strrchr(file, '/');
	size_t len = slash ? (size_t)(slash - file) : 0;

	if (len == 0)
		snprintf(out, n, "/");
	else
		snprintf(out, n, "%.*s", (int)len, file);
}

/* half - a refresh time: half the TTL, at least one second */
static long long half(int64_t ttl)
{
	return ttl / 2 > 0 ? (long long)(ttl / 2) : 1;
}

/* render_main - main.cf */
static void render_main(const struct snapshot *s, const struct pf_local *l, struct pf_config *c)
{
	struct vr_buf b = {0};
	char prefix[4096], hop[300];
	bool dns = l->dns && s->outbound_mode == SNAP_OUT_MX;

	log_prefix(l->maillog_file, prefix, sizeof(prefix));
	header(&b, "main.cf", "vrgate's private Postfix instance (see master.cf).");

	bprintf(&b, "\n# --- instance\n");
	bprintf(&b, "compatibility_level = 3.6\n");
	bprintf(&b, "queue_directory = %s\n", l->queue_dir);
	bprintf(&b, "data_directory = %s\n", l->data_dir);
	bprintf(&b, "maillog_file = %s\n", l->maillog_file);
	bprintf(&b, "maillog_file_prefixes = %s\n", prefix);
	bprintf(&b, "myhostname = %s\n", s->hostname);
	bprintf(&b, "myorigin = $myhostname\n");
	bprintf(&b, "smtpd_banner = $myhostname ESMTP\n");
	bprintf(&b, "inet_protocols = %s\n", needs_ipv6(s) ? "all" : "ipv4");
	bprintf(&b, "message_size_limit = %lld\n", (long long)s->message_size_limit);
	bprintf(&b, "mailbox_size_limit = 0\n");
	bprintf(&b, "biff = no\n");
	bprintf(&b, "append_dot_mydomain = no\n");

	bprintf(&b, "\n# --- DNS: %s\n",
		dns ? "MX lookups for outbound mail"
		    : "none (next hops are bracketed; host names resolve through the system)");
	bprintf(&b, "smtp_dns_support_level = %s\n", dns ? "enabled" : "disabled");
	if (!l->dns)
		bprintf(&b, "smtpd_peername_lookup = no\n");

	bprintf(&b, "\n# --- nothing is delivered on this host\n");
	bprintf(&b, "mydestination =\n");
	bprintf(&b, "local_recipient_maps =\n");
	bprintf(&b, "local_transport = error:5.1.1 no local delivery on this gateway\n");
	bprintf(&b, "alias_maps =\n");
	bprintf(&b, "alias_database =\n");

	bprintf(&b, "\n# --- relaying: relay_domains to their internal servers, the rest out\n");
	bprintf(&b, "parent_domain_matches_subdomains = debug_peer_list, fast_flush_domains, "
		    "mynetworks, qmqpd_authorized_clients\n");
	bprintf(&b, "relay_domains = hash:$config_directory/relay_domains\n");
	bprintf(&b, "transport_maps = hash:$config_directory/transport\n");
	if (s->outbound_mode == SNAP_OUT_SMARTHOST) {
		nexthop(hop, sizeof(hop), s->smarthost_host, s->smarthost_port);
		bprintf(&b, "relayhost = %s\n", hop);
	} else {
		bprintf(&b, "relayhost =\n");
	}
	bprintf(&b, "# trusted networks are set per listener in master.cf (outbound only)\n");
	bprintf(&b, "mynetworks =\n");
	bprintf(&b, "smtpd_relay_restrictions = reject_unauth_destination\n");
	bprintf(&b, "smtpd_recipient_restrictions =\n");
	bprintf(&b, "smtpd_milters =\n");
	bprintf(&b, "non_smtpd_milters =\n");

	bprintf(&b, "\n# --- recipient verification (reject_unverified_recipient, see "
		    "verify_recipients)\n");
	bprintf(&b, "# Cache: $data_directory/verify_cache.db; vr-agent deletes it before the "
		    "reload when\n# verify_cache.flush_generation changes (apid's "
		    "POST /api/v1/policy/verify-cache/flush).\n");
	bprintf(&b, "address_verify_map = btree:$data_directory/verify_cache\n");
	bprintf(&b, "address_verify_positive_expire_time = %llds\n",
		(long long)s->verify_positive_ttl);
	bprintf(&b, "address_verify_positive_refresh_time = %llds\n", half(s->verify_positive_ttl));
	bprintf(&b, "address_verify_negative_cache = yes\n");
	bprintf(&b, "address_verify_negative_expire_time = %llds\n",
		(long long)s->verify_negative_ttl);
	bprintf(&b, "address_verify_negative_refresh_time = %llds\n", half(s->verify_negative_ttl));
	/* a probe to a local internal server takes milliseconds: poll every second (five
	 * times at most) rather than every three */
	bprintf(&b, "address_verify_poll_delay = 1s\n");
	bprintf(&b, "address_verify_poll_count = ${stress?{1}:{5}}\n");
	bprintf(&b, "unverified_recipient_reject_code = 550\n");
	bprintf(&b, "unverified_recipient_defer_code = 450\n");
	bprintf(&b, "unverified_recipient_tempfail_action = defer\n");

	bprintf(&b, "\n# --- TLS\n");
	bprintf(&b, "smtp_tls_security_level = %s\n", s->tls_outbound);
	if (!strcmp(s->tls_outbound, "verify") || !strcmp(s->tls_outbound, "secure"))
		bprintf(&b, "smtp_tls_CApath = /etc/ssl/certs\n");
	if (s->tls_inbound_cert) {
		bprintf(&b, "smtpd_tls_security_level = may\n");
		bprintf(&b, "smtpd_tls_cert_file = %s\n", s->tls_inbound_cert);
		bprintf(&b, "smtpd_tls_key_file = %s\n", s->tls_inbound_key);
		bprintf(&b, "smtpd_tls_received_header = yes\n");
	} else {
		bprintf(&b, "smtpd_tls_security_level = none\n");
	}
	add_file(c, "main.cf", PF_CONF, &b);
}

/* render_postfix - every file, tables first and main.cf last */
enum vr_err render_postfix(const struct snapshot *s, const struct pf_local *local,
			   struct pf_config *out, char *err, size_t errsz)
{
	enum vr_err e;

	memset(out, 0, sizeof(*out));
	if ((e = check_local(local, err, errsz)) != VR_OK)
		return e;
	render_tables(s, out);
	render_master(s, local, out);
	render_main(s, local, out);
	return VR_OK;
}

/* pf_config_free - release every text */
void pf_config_free(struct pf_config *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].text);
	memset(c, 0, sizeof(*c));
}

/* pf_config_find - look a file up by name */
const struct pf_file *pf_config_find(const struct pf_config *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->files[i].name, name))
			return &c->files[i];
	return NULL;
}
