/* milter_meta.c - facts, quarantine metadata, idempotency keys and tracking reports of the
 * milter, as pure functions (see milter_meta.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "milter_meta.h"

/* ---- text --------------------------------------------------------------------------- */

/* utf8_len - length of the valid UTF-8 sequence at s (1..4), 0 when invalid */
static size_t utf8_len(const unsigned char *s)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = *s < 0x80   ? 1
		   : *s < 0xc2 ? 0
		   : *s < 0xe0 ? 2
		   : *s < 0xf0 ? 3
		   : *s < 0xf5 ? 4
			       : 0;
	uint32_t cp = n == 1 ? *s : n ? *s & (0x7f >> n) : 0;

	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (n == 0 || cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* meta_clean_text - valid, printable UTF-8, cut at a character boundary */
char *meta_clean_text(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;

	if (s == NULL)
		return NULL;
	out = o = malloc(strlen(s) + 1);
	VR_CHECK_ALLOC(out);
	while (*u) {
		size_t n = utf8_len(u);

		if (n == 0 || (n == 1 && (*u < 0x20 || *u == 0x7f))) {
			if ((size_t)(o - out) + 1 > max)
				break;
			*o++ = '?';
			u += n ? n : 1;
			continue;
		}
		if ((size_t)(o - out) + n > max)
			break;
		memcpy(o, u, n);
		o += n;
		u += n;
	}
	*o = '\0';
	return out;
}

/* meta_clean_addr - what apid refuses in an address becomes '_' */
char *meta_clean_addr(const char *s)
{
	char *out = meta_clean_text(s ? s : "", 320);

	for (char *p = out; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '?' || strchr("<>/", *p))
			*p = '_';
	return out;
}

/* ---- facts -------------------------------------------------------------------------- */

/* meta_facts_make - clean every string of src into f */
void meta_facts_make(const struct meta_source *src, struct meta_facts *f)
{
	const struct rspamd_result *rr = src->rspamd;

	memset(f, 0, sizeof(*f));
	snprintf(f->queue_id, sizeof(f->queue_id), "%s", src->queue_id ? src->queue_id : "");
	vr_time_format(src->received_at, f->received_at);
	f->sender = meta_clean_text(src->sender ? src->sender : "", 320);
	f->from = src->from && strlen(src->from) <= 320 ? meta_clean_text(src->from, 320) : NULL;
	f->subject = meta_clean_text(src->subject, 2000);
	if (src->message_id && strlen(src->message_id) <= 996) {
		char mid[1000];

		snprintf(mid, sizeof(mid), "<%s>", src->message_id);
		f->message_id = meta_clean_text(mid, 998);
	}
	f->virus = meta_clean_text(src->virus, 200);
	if (src->content)
		sodium_bin2hex(f->content, sizeof(f->content), src->content,
			       crypto_hash_sha256_BYTES);
	f->helo = src->helo && *src->helo ? meta_clean_text(src->helo, 255) : NULL;
	f->client_ip = src->client_ip && strcmp(src->client_ip, "unknown")
			   ? meta_clean_text(src->client_ip, 64)
			   : NULL;
	f->symbols = json_array();
	VR_CHECK_ALLOC(f->symbols);
	if (rr && rr->ok) {
		f->has_score = true;
		f->score = rr->score < -10000 ? -10000 : rr->score > 10000 ? 10000 : rr->score;
		for (size_t i = 0; i < rr->n_symbols && i < META_SYMBOLS_MAX; i++) {
			char *n = meta_clean_text(rr->symbols[i].name, 100);

			json_array_append_new(f->symbols, json_string(n));
			free(n);
		}
	}
	f->size = src->size;
}

/* meta_facts_free - release the strings */
void meta_facts_free(struct meta_facts *f)
{
	free(f->sender);
	free(f->from);
	free(f->subject);
	free(f->message_id);
	free(f->virus);
	free(f->helo);
	free(f->client_ip);
	json_decref(f->symbols);
	memset(f, 0, sizeof(*f));
}

/* set_str - obj[key] = s when s is not NULL */
static void set_str(json_t *obj, const char *key, const char *s)
{
	if (s)
		json_object_set_new(obj, key, json_string(s));
}

/* meta_facts_json - the shared members */
json_t *meta_facts_json(const struct meta_facts *f, enum filter_direction dir)
{
	json_t *j = json_object();

	VR_CHECK_ALLOC(j);
	set_str(j, "queue_id", f->queue_id);
	set_str(j, "direction", dir == FD_OUTBOUND ? "outbound" : "inbound");
	set_str(j, "client_ip", f->client_ip);
	set_str(j, "helo", f->helo);
	set_str(j, "sender", f->sender);
	set_str(j, "from", f->from);
	set_str(j, "subject", f->subject);
	set_str(j, "message_id", f->message_id);
	set_str(j, "virus", f->virus);
	set_str(j, "received_at", f->received_at);
	if (f->has_score)
		json_object_set_new(j, "score", json_real(f->score));
	json_object_set(j, "symbols", f->symbols);
	return j;
}

/* dump - the compact text of j, which is released */
static char *dump(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	VR_CHECK_ALLOC(text);
	return text;
}

/* ---- quarantine --------------------------------------------------------------------- */

/* meta_quarantine_key - "vr2-" + hex SHA-256 of agent, sender, Message-ID, content hash,
 * category and the recipients, each with its NUL (so that no two lists of strings hash
 * alike); no queue id (see milter_meta.h) */
void meta_quarantine_key(const char *agent, const struct meta_facts *f, enum filter_category cat,
			 const char *const *addrs, size_t n, char out[META_KEY_SIZE])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	const char *parts[] = {agent ? agent : "", f->sender ? f->sender : "",
			       f->message_id ? f->message_id : "", f->content,
			       filter_category_str(cat)};

	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		crypto_hash_sha256_update(&st, (const unsigned char *)parts[i],
					  strlen(parts[i]) + 1);
	for (size_t i = 0; i < n; i++)
		crypto_hash_sha256_update(&st, (const unsigned char *)addrs[i],
					  strlen(addrs[i]) + 1);
	crypto_hash_sha256_final(&st, h);
	memcpy(out, "vr2-", 4);
	sodium_bin2hex(out + 4, META_KEY_SIZE - 4, h, sizeof(h));
}

/* meta_next_group - the next recipients of category cat that fit in one request: apid reads
 * at most 32 KiB of request headers, and the metadata travels in one */
size_t meta_next_group(const struct verdict_rcpt *out, char *const *caddr, size_t n,
		       enum filter_category cat, size_t *from, size_t *idx)
{
	size_t k = 0, bytes = 0, i = *from;

	for (; i < n; i++) {
		if (out[i].action != FA_QUARANTINE || out[i].category != cat)
			continue;
		if (k > 0 && bytes + strlen(caddr[i]) + 3 > META_QUARANTINE_MAX / 2)
			break;
		bytes += strlen(caddr[i]) + 3;
		idx[k++] = i;
	}
	*from = i;
	return k;
}

/* meta_quarantine_json - the metadata of one copy */
char *meta_quarantine_json(const char *agent, const struct meta_facts *f, enum filter_direction dir,
			   enum filter_category cat, const struct antipub_result *ap,
			   const char *const *addrs, size_t n)
{
	json_t *meta = meta_facts_json(f, dir), *arr = json_array();
	char key[META_KEY_SIZE];

	VR_CHECK_ALLOC(arr);
	meta_quarantine_key(agent, f, cat, addrs, n, key);
	json_object_set_new(meta, "key", json_string(key));
	json_object_set_new(meta, "category", json_string(filter_category_str(cat)));
	if (cat != FC_VIRUS)
		json_object_del(meta, "virus");
	if (cat == FC_NEWSLETTER && ap && ap->unsubscribe[0] && strlen(ap->unsubscribe) <= 2000) {
		char *u = meta_clean_text(ap->unsubscribe, 2000);

		json_object_set_new(meta, "unsubscribe", json_string(u));
		json_object_set_new(meta, "one_click", json_boolean(ap->one_click));
		free(u);
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(addrs[i]));
	json_object_set_new(meta, "recipients", arr);
	return dump(meta);
}

/* ---- tracking ----------------------------------------------------------------------- */

/* meta_report_json - one report for the whole message */
char *meta_report_json(const char *agent, const struct meta_facts *f, enum filter_direction dir,
		       char *const *caddr, const struct verdict_rcpt *out,
		       char (*qids)[META_QID_SIZE], size_t n, const char *override,
		       const char *override_reason)
{
	json_t *j = meta_facts_json(f, dir), *arr = json_array();

	VR_CHECK_ALLOC(arr);
	json_object_set_new(j, "agent", json_string(agent ? agent : ""));
	json_object_set_new(j, "size", json_integer((json_int_t)f->size));
	for (size_t i = 0; i < n; i++) {
		const char *reason = override_reason && out[i].action != FA_TEMPFAIL
					 ? override_reason
					 : out[i].reason;
		json_t *r = json_pack("{s:s, s:s, s:s}", "address", caddr[i], "action",
				      override ? override : filter_action_str(out[i].action),
				      "category", filter_category_str(out[i].category));
		char *rs = meta_clean_text(reason, 500);

		VR_CHECK_ALLOC(r);
		json_object_set_new(r, "reason", json_string(rs));
		free(rs);
		if (qids && qids[i][0])
			json_object_set_new(r, "quarantine_id", json_string(qids[i]));
		json_array_append_new(arr, r);
	}
	json_object_set_new(j, "recipients", arr);
	return dump(j);
}
