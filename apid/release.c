/* release.c - SMTP delivery of a released message with libcurl (see release.h). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "log.h"
#include "release.h"

#define RELEASE_MAX (64u << 20)

struct upload {
	const char *data;
	size_t len, off;
};

/* read_cb - libcurl's upload callback over a memory buffer */
static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n, left = u->len - u->off;

	if (want > left)
		want = left;
	memcpy(buf, u->data + u->off, want);
	u->off += want;
	return want;
}

/* smtp_send - data to rcpt over SMTP with libcurl */
static enum vr_err smtp_send(const char *host, long port, const char *sender, const char *rcpt,
			     const char *data, size_t len, char *err, size_t errsz)
{
	char url[300], from[340], to[340];
	struct curl_slist *rcpts = NULL;
	struct upload u = {data, len, 0};
	CURL *c;
	CURLcode rc;

	snprintf(url, sizeof(url), strchr(host, ':') ? "smtp://[%s]:%ld" : "smtp://%s:%ld", host,
		 port);
	snprintf(from, sizeof(from), "<%s>", sender ? sender : "");
	snprintf(to, sizeof(to), "<%s>", rcpt);
	rcpts = curl_slist_append(rcpts, to);
	c = curl_easy_init();
	VR_CHECK_ALLOC(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		snprintf(err, errsz, "reinjection at %s: %s", url, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpts);
	return rc == CURLE_OK ? VR_OK : VR_E_UNAVAILABLE;
}

/* release_send_buffer - a message in memory to one recipient */
enum vr_err release_send_buffer(const char *host, long port, const char *sender,
				const char *rcpt, const char *data, size_t len, char *err,
				size_t errsz)
{
	return smtp_send(host, port, sender, rcpt, data, len, err, errsz);
}

/* release_send - one held message, one recipient, over SMTP */
enum vr_err release_send(const char *host, long port, const char *sender, const char *rcpt,
			 const char *path, const char *note, char *err, size_t errsz)
{
	char *file, *msg;
	size_t flen, hlen;
	enum vr_err e;

	file = vr_read_file(path, RELEASE_MAX, &flen);
	if (file == NULL) {
		snprintf(err, errsz, "cannot read the held copy");
		return VR_E_INTERNAL;
	}
	/* a header line says who released it; everything else is the message as held */
	hlen = strlen("X-VR-Released: ") + strlen(note) + 2;
	msg = malloc(hlen + flen + 1);
	VR_CHECK_ALLOC(msg);
	snprintf(msg, hlen + 1, "X-VR-Released: %s\r\n", note);
	memcpy(msg + hlen, file, flen);
	free(file);
	e = smtp_send(host, port, sender, rcpt, msg, hlen + flen, err, errsz);
	free(msg);
	return e;
}
