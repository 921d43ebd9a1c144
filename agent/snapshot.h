/* snapshot.h - apid's configuration snapshot (GET /api/v1/agent/snapshot), parsed and checked.
 *
 * snapshot_parse() turns the JSON text into a struct snapshot whose every field has been
 * validated (domain names, host names, IP literals, CIDRs, ports, TTLs, TLS choices), so that
 * the renderers can print values into Postfix's files without further checks: nothing in a
 * parsed snapshot can carry whitespace, '$', ',' or a newline into main.cf. Names and
 * networks are checked by common/netaddr.c, as apid checks them. A rejected
 * snapshot yields a message that starts with the JSON path of the bad field
 * ("domains[1].internal_port: ..."). Unknown members are ignored (a newer apid may add some).
 *
 * Ownership: a struct snapshot and all its strings belong to the caller, who releases them
 * with snapshot_free(); nothing borrows from the JSON text. Pure: no I/O, thread-safe.
 */
#ifndef VR_AGENT_SNAPSHOT_H
#define VR_AGENT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SNAP_MAX_DOMAINS  10000
#define SNAP_MAX_NETWORKS 10000

/* One SMTP listener: an IP literal (v4 or v6, canonical text) and a port. */
struct snap_listener {
	char address[64];
	bool v6;
	int port;
};

/* One relay domain and the internal server its mail goes to. */
struct snap_domain {
	char *name;          /* lower case, validated domain name */
	char *internal_host; /* IP literal (canonical) or host name */
	bool internal_v6;    /* internal_host is an IPv6 literal */
	int internal_port;
	bool verify_recipients;
};

/* One internal network, "address/prefix" in canonical form (host bits zero). */
struct snap_network {
	char cidr[64];
	bool v6;
};

enum snap_outbound_mode { SNAP_OUT_SMARTHOST, SNAP_OUT_MX };

struct snapshot {
	int64_t version;
	char *generated_at; /* RFC 3339, as received */
	char *hostname;     /* the gateway's fully-qualified name (banner, myhostname) */
	struct snap_listener inbound, outbound, reinject;
	int64_t message_size_limit;
	struct snap_domain *domains;
	size_t n_domains;
	struct snap_network *networks;
	size_t n_networks;
	enum snap_outbound_mode outbound_mode;
	char *smarthost_host; /* NULL in mode mx */
	bool smarthost_v6;
	int smarthost_port;
	int64_t verify_positive_ttl, verify_negative_ttl; /* seconds */
	int64_t verify_flush_generation; /* changes when apid asks to flush the cache (0: absent) */
	char *tls_inbound_cert, *tls_inbound_key;          /* absolute paths, or both NULL */
	char *tls_outbound;                                /* none | may | encrypt | verify | secure */
};

/* snapshot_parse - parse and validate len bytes of JSON text; VR_OK with *out set (free it
 * with snapshot_free), else VR_E_BAD_JSON / VR_E_MISSING_FIELD / VR_E_INVALID_FIELD with a
 * message naming the field in err */
enum vr_err snapshot_parse(const char *text, size_t len, struct snapshot **out, char *err,
			   size_t errsz);
/* snapshot_free - release a parsed snapshot (NULL is fine) */
void snapshot_free(struct snapshot *s);

/* snap_ip_literal - true when s is an IPv4 or IPv6 literal; canonical text into out */
bool snap_ip_literal(const char *s, char *out, size_t outsz, bool *v6);

#endif
