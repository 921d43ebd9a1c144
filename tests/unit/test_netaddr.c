/* test_netaddr.c - common/netaddr.c: what each domain, host and CIDR text gets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cm.h"
#include "netaddr.h"

static void domains(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{"corp.test", 1},        {"mail.example.co.uk", 1}, {"xn--bcher-kva.example", 1},
		{"a-b.example", 1},      {"localhost", 0},          {"", 0},
		{".example.com", 0},     {"example.com.", 0},       {"exa mple.com", 0},
		{"-bad.example", 0},     {"bad-.example", 0},       {"example..com", 0},
		{"example.123", 0},      {"1.2.3.4", 0},            {"ex_ample.com", 0},
		{"corp.test\n", 0},      {"*.corp.test", 0},        {"corp.test;rm -rf /", 0},
		{"a.b", 1},
	};
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if ((vr_check_domain(cases[i].s) == NULL) != cases[i].ok)
			fail_msg("'%s': %s", cases[i].s,
				 vr_check_domain(cases[i].s) ? vr_check_domain(cases[i].s) : "ok");
	memset(big, 'a', 70);
	strcpy(big + 70, ".example");
	assert_non_null(vr_check_domain(big)); /* label of 70 */
}

static void hosts(void **state)
{
	(void)state;
	assert_null(vr_check_host("exchange"));
	assert_null(vr_check_host("exchange.corp.test"));
	assert_null(vr_check_host("127.0.0.1"));
	assert_null(vr_check_host("::1"));
	assert_non_null(vr_check_host("[::1]"));
	assert_non_null(vr_check_host("host:25"));
	assert_non_null(vr_check_ip("exchange"));
	assert_non_null(vr_check_ip("256.0.0.1"));
}

static void cidrs(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"127.0.0.10", "127.0.0.10/32"},
		{"127.0.0.10/32", "127.0.0.10/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"2001:DB8::/32", "2001:db8::/32"},
		{"::1", "::1/128"},
		{"10.0.0.1/8", NULL},
		{"10.0.0.0/33", NULL},
		{"10.0.0.0/", NULL},
		{"10.0.0.0/-1", NULL},
		{"10.0.0.0/8x", NULL},
		{"10.0.0/8", NULL},
		{"corp.test", NULL},
		{"", NULL},
		{"::/129", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64] = "";
		const char *why = vr_norm_cidr(cases[i].in, out, sizeof(out));

		if (cases[i].out == NULL) {
			if (why == NULL)
				fail_msg("'%s' accepted as %s", cases[i].in, out);
		} else {
			if (why)
				fail_msg("'%s': %s", cases[i].in, why);
			assert_string_equal(out, cases[i].out);
		}
	}
}

/* private - parse text into a sockaddr and classify */
static int private_of(const char *text)
{
	struct sockaddr_storage ss = {0};

	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return vr_addr_is_private((struct sockaddr *)&ss);
}

static void private_addresses(void **state)
{
	static const char *const priv[] = {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
					   "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
					   "224.0.0.1", "::1", "::", "fd00::1", "fe80::1",
					   "::ffff:127.0.0.1", "::ffff:10.0.0.1"};
	static const char *const pub[] = {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1",
					  "2001:db8::1", "::ffff:8.8.8.8"};

	(void)state;
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		if (!private_of(priv[i]))
			fail_msg("%s should be private", priv[i]);
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
		if (private_of(pub[i]))
			fail_msg("%s should be public", pub[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(domains),
		cmocka_unit_test(hosts),
		cmocka_unit_test(cidrs),
		cmocka_unit_test(private_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
