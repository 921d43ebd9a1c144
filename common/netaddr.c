/* netaddr.c - domain, host, IP and CIDR checks (see netaddr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

/* check_labels - LDH labels separated by dots; *nlabels receives their count */
static const char *check_labels(const char *s, int *nlabels)
{
	size_t len = strlen(s), lab = 0;
	const char *start = s;
	int all_digits = 1;

	*nlabels = 0;
	if (len == 0)
		return "is empty";
	if (len > 253)
		return "is longer than 253 characters";
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (lab == 0)
				return "has an empty label";
			if (lab > 63)
				return "has a label longer than 63 characters";
			if (start[0] == '-' || p[-1] == '-')
				return "has a label that starts or ends with '-'";
			(*nlabels)++;
			if (*p == '\0')
				break;
			lab = 0;
			start = p + 1;
			all_digits = 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return "may hold only letters, digits, '-' and '.'";
		if (!isdigit((unsigned char)*p))
			all_digits = 0;
		lab++;
	}
	if (all_digits)
		return "must not end with an all-numeric label";
	return NULL;
}

/* vr_check_domain - a DNS domain of at least two labels */
const char *vr_check_domain(const char *s)
{
	int n;
	const char *why = check_labels(s, &n);

	if (why)
		return why;
	if (n < 2)
		return "needs at least two labels (example.com)";
	return NULL;
}

/* vr_check_ip - an IPv4 or IPv6 address */
const char *vr_check_ip(const char *s)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return NULL;
	return "is not an IPv4 or IPv6 address";
}

/* vr_check_host - a host name or an address */
const char *vr_check_host(const char *s)
{
	int n;

	if (vr_check_ip(s) == NULL)
		return NULL;
	return check_labels(s, &n);
}

/* vr_norm_cidr - canonical "address/prefix" with host bits zero */
const char *vr_norm_cidr(const char *s, char *out, size_t outsz)
{
	char addr[64], text[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *slash = strchr(s, '/');
	int family, bits, max;
	long prefix;

	if (strlen(s) >= sizeof(addr))
		return "is too long";
	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	if (inet_pton(AF_INET, addr, bin) == 1) {
		family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, bin) == 1) {
		family = AF_INET6;
		max = 128;
	} else {
		return "is not an IPv4 or IPv6 network (10.0.0.0/8, 2001:db8::/32)";
	}
	prefix = max;
	if (slash) {
		char *end;

		if (!isdigit((unsigned char)slash[1]))
			return "has a bad prefix length";
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || prefix < 0 || prefix > max)
			return "has a bad prefix length";
	}
	bits = (int)prefix;
	for (int i = bits; i < max; i++)
		if (bin[i / 8] & (0x80 >> (i % 8)))
			return "has host bits set after the prefix (use the network address)";
	inet_ntop(family, bin, text, sizeof(text));
	if ((size_t)snprintf(out, outsz, "%s/%d", text, bits) >= outsz)
		return "is too long";
	return NULL;
}

/* vr_addr_is_private - not a public unicast address */
int vr_addr_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const unsigned char *a =
			(const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;

		return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
		       (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
		       (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] >= 224;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a =
			(const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		static const unsigned char zero[15] = {0};
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(a, zero, 15) == 0) /* :: and ::1 */
			return 1;
		if (memcmp(a, mapped, 12) == 0) { /* ::ffff:a.b.c.d: judge the IPv4 address */
			struct sockaddr_in v4 = {.sin_family = AF_INET};

			memcpy(&v4.sin_addr, a + 12, 4);
			return vr_addr_is_private((const struct sockaddr *)&v4);
		}
		return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
		       a[0] == 0xff;
	}
	return 1;
}
