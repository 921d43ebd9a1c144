/* unsubscribe.c - the guarded one-click POST (see unsubscribe.h). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "netaddr.h"
#include "unsubscribe.h"

struct guard {
	bool allow_private;
	bool refused;
};

/* open_socket - libcurl's socket opener: refuse private destinations */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct guard *g = arg;

	(void)purpose;
	if (!g->allow_private && vr_addr_is_private(&a->addr)) {
		g->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* discard - libcurl's write callback: the answer's body is not needed */
static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* unsubscribe_post - POST List-Unsubscribe=One-Click to url */
enum vr_err unsubscribe_post(const char *url, const char *ca_file, bool allow_private,
			     long *status, char *err, size_t errsz)
{
	struct guard g = {allow_private, false};
	struct curl_slist *h = NULL;
	CURL *c;
	CURLcode rc;

	*status = 0;
	if (strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errsz, "only https targets are used");
		return VR_E_CONFLICT;
	}
	c = curl_easy_init();
	VR_CHECK_ALLOC(c);
	h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "List-Unsubscribe=One-Click");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vrgate (RFC 8058 one-click unsubscribe)");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &g);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (ca_file && *ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(err, errsz, "%s", g.refused ? "the target is a private address"
						    : curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK)
		return g.refused ? VR_E_CONFLICT : VR_E_UNAVAILABLE;
	if (*status < 200 || *status > 299) {
		snprintf(err, errsz, "the sender answered HTTP %ld", *status);
		return VR_E_UNAVAILABLE;
	}
	return VR_OK;
}
