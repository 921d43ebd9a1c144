/* netaddr.h - checking and normalising the network names users type: domain names,
 * host names, IP addresses and CIDR blocks. Pure functions; tests/unit/test_netaddr.c.
 *
 * Each check returns NULL when the text is acceptable, or a short reason ("label longer
 * than 63 characters") that an API error can show next to the field name.
 */
#ifndef VR_NETADDR_H
#define VR_NETADDR_H

#include <stddef.h>

/* vr_check_domain - a DNS domain of at least two LDH labels, no trailing dot, <= 253 */
const char *vr_check_domain(const char *s);
/* vr_check_host - a domain name (one label allowed) or an IPv4/IPv6 literal */
const char *vr_check_host(const char *s);
/* vr_check_ip - an IPv4 or IPv6 address */
const char *vr_check_ip(const char *s);
/* vr_norm_cidr - "10.1.0.0/16", "::1/128", or a bare address (taken as /32, /128) into
 * its canonical text in out (host bits must be zero); NULL or the reason */
const char *vr_norm_cidr(const char *s, char *out, size_t outsz);

struct sockaddr;
/* vr_addr_is_private - loopback, private, link-local, CGNAT, unspecified, multicast or
 * unique-local: an address a request on behalf of mail content must never reach */
int vr_addr_is_private(const struct sockaddr *sa);

#endif
