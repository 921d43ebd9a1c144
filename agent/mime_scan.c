/* mime_scan.c - message inventory with GMime 3, the zip lister and the attachment policy
 * check (see mime_scan.h).
 *
 * The GMime part is one walk over the parsed tree (walk()); every string leaving GMime goes
 * through clean_dup(), which bounds it and makes it valid UTF-8 without control characters.
 * The zip lister (zip_*) and the policy check (attach_*) are pure and read only the bytes
 * they were given, every offset checked against the buffer's end.
 */
#include <glib.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mime_scan.h"

#define NAME_MAX_LEN 1024 /* bytes kept of a filename or an archive member name */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* do_init - pthread_once body */
static void do_init(void)
{
	g_mime_init();
}

/* mime_scan_init - g_mime_init() exactly once */
void mime_scan_init(void)
{
	pthread_once(&gmime_once, do_init);
}

/* clean_dup - copy at most max bytes of s (len bytes, or strlen when len is -1), making
 * invalid UTF-8 into '?' and control characters into ' ' */
static char *clean_dup(const char *s, ssize_t len, size_t max)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	char *out, *p;
	const gchar *end;

	if (n > max)
		n = max;
	out = malloc(n + 1);
	VR_CHECK_ALLOC(out);
	memcpy(out, s, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = '?';
	p = out;
	while (!g_utf8_validate(p, (gssize)(out + n - p), &end)) {
		*(char *)end = '?';
		p = (char *)end + 1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return out;
}

/* ---- zip: central directory, local headers as the fallback ----------------------------- */

/* le16, le32, le64 - little-endian reads; the caller checked the bounds */
static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const unsigned char *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* zip_add - record one member name (directories skipped); false when the list is full */
static bool zip_add(struct archive_info *a, const unsigned char *name, size_t nlen, bool encrypted)
{
	if (nlen == 0 || name[nlen - 1] == '/' || name[nlen - 1] == '\\')
		return true;
	if (a->n == ARCHIVE_MAX_ENTRIES) {
		a->more = true;
		return false;
	}
	if (a->n % 16 == 0) {
		a->entries = realloc(a->entries, (a->n + 16) * sizeof(*a->entries));
		VR_CHECK_ALLOC(a->entries);
	}
	a->entries[a->n].name = clean_dup((const char *)name, (ssize_t)nlen, NAME_MAX_LEN);
	a->entries[a->n].encrypted = encrypted;
	a->n++;
	return true;
}

/* zip_find_eocd - offset of the end-of-central-directory record, or -1 */
static ssize_t zip_find_eocd(const unsigned char *d, size_t len)
{
	size_t lo;

	if (len < 22)
		return -1;
	lo = len - 22 > 65535 ? len - 22 - 65535 : 0;
	for (size_t i = len - 22 + 1; i-- > lo;)
		if (memcmp(d + i, "PK\5\6", 4) == 0)
			return (ssize_t)i;
	return -1;
}

/* zip_central - list from the central directory; false when it cannot be used */
static bool zip_central(const unsigned char *d, size_t len, struct archive_info *a)
{
	ssize_t e = zip_find_eocd(d, len);
	uint64_t total, size, off, pos, end;

	if (e < 0)
		return false;
	total = le16(d + e + 10);
	size = le32(d + e + 12);
	off = le32(d + e + 16);
	if ((total == 0xffff || size == 0xffffffff || off == 0xffffffff) && e >= 20 &&
	    memcmp(d + e - 20, "PK\6\7", 4) == 0) {
		uint64_t z = le64(d + e - 20 + 8); /* the zip64 end record */

		if (len >= 56 && z <= len - 56 && memcmp(d + z, "PK\6\6", 4) == 0) {
			total = le64(d + z + 32);
			size = le64(d + z + 40);
			off = le64(d + z + 48);
			e = (ssize_t)z;
		}
	}
	end = (uint64_t)e;
	/* data prepended to the archive (self-extractors) shifts every offset */
	if (size > end)
		return false;
	if (off > end - size || off + 4 > len || memcmp(d + off, "PK\1\2", 4) != 0)
		off = end - size;
	pos = off;
	for (uint64_t i = 0; i < total; i++) {
		uint64_t nlen, xlen, clen;

		if (pos + 46 > end || memcmp(d + pos, "PK\1\2", 4) != 0) {
			a->truncated = true;
			break;
		}
		nlen = le16(d + pos + 28);
		xlen = le16(d + pos + 30);
		clen = le16(d + pos + 32);
		if (pos + 46 + nlen > end) {
			a->truncated = true;
			break;
		}
		if (!zip_add(a, d + pos + 46, nlen, le16(d + pos + 8) & 1))
			break;
		pos += 46 + nlen + xlen + clen;
	}
	return a->n > 0 || total == 0;
}

/* zip_local - list from the local file headers, front to back */
static void zip_local(const unsigned char *d, size_t len, struct archive_info *a)
{
	size_t pos = 0;

	while (pos + 30 <= len) {
		const unsigned char *hit = memmem(d + pos, len - pos, "PK\3\4", 4);
		size_t h, nlen, xlen, csize;
		uint32_t flags;

		if (hit == NULL)
			break;
		h = (size_t)(hit - d);
		if (h + 30 > len)
			break;
		flags = le16(d + h + 6);
		csize = le32(d + h + 18);
		nlen = le16(d + h + 26);
		xlen = le16(d + h + 28);
		if (h + 30 + nlen > len) {
			zip_add(a, d + h + 30, len - h - 30, flags & 1);
			break;
		}
		if (!zip_add(a, d + h + 30, nlen, flags & 1))
			break;
		pos = h + 30 + nlen;
		/* with a data descriptor (bit 3) the size is unknown: search for the next header */
		if (!(flags & 8) && xlen + csize <= len - pos)
			pos += xlen + csize;
	}
}

/* mime_zip_list - central directory first; local headers when it is missing or cut */
void mime_zip_list(const void *data, size_t len, struct archive_info *out)
{
	const unsigned char *d = data;

	memset(out, 0, sizeof(*out));
	if (zip_central(d, len, out) && !out->truncated)
		return;
	archive_info_free(out);
	zip_local(d, len, out);
	out->truncated = true;
	out->broken = out->n == 0;
}

/* archive_info_free - release the names */
void archive_info_free(struct archive_info *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->entries[i].name);
	free(a->entries);
	memset(a, 0, sizeof(*a));
}

/* ---- the GMime walk -------------------------------------------------------------------- */

/* sniff - a type from the first bytes: PE executables and zips */
static const char *sniff(const unsigned char *d, size_t len)
{
	if (len >= 4 && d[0] == 'P' && d[1] == 'K' &&
	    ((d[2] == 3 && d[3] == 4) || (d[2] == 5 && d[3] == 6) || (d[2] == 7 && d[3] == 8)))
		return "application/zip";
	if (len >= 64 && d[0] == 'M' && d[1] == 'Z') {
		uint32_t pe = le32(d + 0x3c);

		if (pe <= len - 4 && memcmp(d + pe, "PE\0\0", 4) == 0)
			return "application/x-dosexec";
	}
	return NULL;
}

/* ends_with_ci - true when s ends with suffix, ASCII case-insensitively */
static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && g_ascii_strcasecmp(s + ls - lx, suffix) == 0;
}

/* zip_declared - a zip by its declared type or its name */
static bool zip_declared(const char *type, const char *filename)
{
	static const char *const types[] = {"application/zip", "application/x-zip",
					    "application/x-zip-compressed", "multipart/x-zip"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return filename != NULL && ends_with_ci(filename, ".zip");
}

/* add_part - a new, zeroed part record, or NULL when the report is full */
static struct mime_part_info *add_part(struct mime_report *r, GMimeObject *obj, int depth)
{
	struct mime_part_info *p;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	const char *name;

	if (r->n_parts == MIME_MAX_PARTS) {
		r->parts_more = true;
		g_free(type);
		return NULL;
	}
	if (r->n_parts % 16 == 0) {
		r->parts = realloc(r->parts, (r->n_parts + 16) * sizeof(*r->parts));
		VR_CHECK_ALLOC(r->parts);
	}
	p = &r->parts[r->n_parts++];
	memset(p, 0, sizeof(*p));
	p->depth = depth;
	p->content_type = clean_dup(type ? type : "application/octet-stream", -1, 255);
	g_free(type);
	for (char *c = p->content_type; *c; c++)
		*c = g_ascii_tolower(*c);
	if (GMIME_IS_PART(obj))
		name = g_mime_part_get_filename(GMIME_PART(obj));
	else if ((name = g_mime_object_get_content_disposition_parameter(obj, "filename")) == NULL)
		name = g_mime_object_get_content_type_parameter(obj, "name");
	if (name != NULL && *name != '\0')
		p->filename = clean_dup(name, -1, NAME_MAX_LEN);
	return p;
}

/* inspect_leaf - decode a leaf part's content to size it, sniff it, list it if a zip */
static void inspect_leaf(struct mime_part_info *p, GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (w == NULL)
		return;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (ba != NULL) {
		p->size = ba->len;
		p->sniffed = sniff(ba->data, ba->len);
		if (zip_declared(p->content_type, p->filename) ||
		    (p->sniffed && strcmp(p->sniffed, "application/zip") == 0)) {
			p->is_archive = true;
			mime_zip_list(ba->data, ba->len, &p->archive);
		}
	}
	g_object_unref(mem);
}

/* walk - record obj and what it contains; depth counts embedded messages */
static void walk(struct mime_report *r, GMimeObject *obj, int depth, int nesting)
{
	if (obj == NULL)
		return;
	if (nesting > MIME_MAX_NESTING) {
		r->depth_exceeded = true;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		for (int i = 0; i < n && !r->parts_more; i++)
			walk(r, g_mime_multipart_get_part(mp, i), depth, nesting + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (add_part(r, obj, depth) == NULL)
			return;
		if (depth + 1 > MIME_MAX_DEPTH)
			r->depth_exceeded = true;
		else if (m != NULL)
			walk(r, g_mime_message_get_mime_part(m), depth + 1, nesting + 1);
	} else if (GMIME_IS_PART(obj)) {
		struct mime_part_info *p = add_part(r, obj, depth);

		if (p != NULL)
			inspect_leaf(p, GMIME_PART(obj));
	}
}

/* first_mailbox - the first mailbox address of a list (groups searched), or NULL */
static const char *first_mailbox(InternetAddressList *l, int level)
{
	int n = l ? internet_address_list_length(l) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		const char *s;

		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			if (s != NULL && *s != '\0')
				return s;
		} else if (INTERNET_ADDRESS_IS_GROUP(a) && level < 2) {
			s = first_mailbox(
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)),
			    level + 1);
			if (s != NULL)
				return s;
		}
	}
	return NULL;
}

/* collect_headers - the top-level headers, bounded */
static void collect_headers(struct mime_report *r, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		const char *value = g_mime_header_get_value(h);

		if (r->n_headers == MIME_MAX_HEADERS) {
			r->headers_more = true;
			break;
		}
		if (r->n_headers % 32 == 0) {
			r->headers = realloc(r->headers, (r->n_headers + 32) * sizeof(*r->headers));
			VR_CHECK_ALLOC(r->headers);
		}
		r->headers[r->n_headers].name = clean_dup(name ? name : "", -1, 256);
		r->headers[r->n_headers].value =
		    clean_dup(value ? value : "", -1, MIME_MAX_HEADER_LEN);
		r->n_headers++;
	}
}

/* scan_stream - parse the stream (which this call consumes) into r */
static void scan_stream(GMimeStream *stream, struct mime_report *r)
{
	static const char *fallback[] = {"UTF-8", "windows-1252", NULL};
	GMimeParserOptions *opts = g_mime_parser_options_new();
	GMimeParser *parser;
	GMimeMessage *msg;
	const char *s;

	g_mime_parser_options_set_fallback_charsets(opts, fallback);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL) {
		r->parse_failed = true;
		g_mime_parser_options_free(opts);
		return;
	}
	if ((s = g_mime_message_get_subject(msg)) != NULL)
		r->subject = clean_dup(s, -1, MIME_MAX_HEADER_LEN);
	if ((s = first_mailbox(g_mime_message_get_from(msg), 0)) != NULL)
		r->from_addr = clean_dup(s, -1, 512);
	if ((s = g_mime_message_get_message_id(msg)) != NULL)
		r->message_id = clean_dup(s, -1, 998);
	collect_headers(r, GMIME_OBJECT(msg));
	walk(r, g_mime_message_get_mime_part(msg), 0, 0);
	g_object_unref(msg);
	g_mime_parser_options_free(opts);
}

/* mime_scan_buffer - scan a copy of the buffer */
enum vr_err mime_scan_buffer(const void *data, size_t len, struct mime_report *out)
{
	memset(out, 0, sizeof(*out));
	mime_scan_init();
	scan_stream(g_mime_stream_mem_new_with_buffer(data ? data : "", data ? len : 0), out);
	return VR_OK;
}

/* mime_scan_fd - scan a file through a duplicate descriptor, restoring the offset (which
 * the duplicate shares) afterwards */
enum vr_err mime_scan_fd(int fd, struct mime_report *out)
{
	off_t where;
	int dfd;

	memset(out, 0, sizeof(*out));
	mime_scan_init();
	if ((where = lseek(fd, 0, SEEK_CUR)) < 0 || (dfd = dup(fd)) < 0) {
		VR_LOG_ERR("fd %d: %m", fd);
		return VR_E_INTERNAL;
	}
	/* the stream seeks to its bounds before reading, and closes dfd when released */
	scan_stream(g_mime_stream_fs_new_with_bounds(dfd, 0, -1), out);
	if (lseek(fd, where, SEEK_SET) < 0)
		VR_LOG_WARN("fd %d: cannot restore the offset: %m", fd);
	return VR_OK;
}

/* mime_report_free - release everything the report owns */
void mime_report_free(struct mime_report *r)
{
	free(r->subject);
	free(r->from_addr);
	free(r->message_id);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	for (size_t i = 0; i < r->n_parts; i++) {
		free(r->parts[i].filename);
		free(r->parts[i].content_type);
		archive_info_free(&r->parts[i].archive);
	}
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

/* mime_report_header - first header by name */
const char *mime_report_header(const struct mime_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (g_ascii_strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* ---- the attachment policy -------------------------------------------------------------- */

/* attach_policy_defaults - the filter contract's lists */
void attach_policy_defaults(struct attach_policy *p)
{
	static const char *const exts[] = {"exe", "scr", "js",	"vbs", "bat", "cmd", "com", "pif",
					   "jar", "msi", "hta", "wsf", "ps1", "lnk", "iso", "img"};
	static const char *const types[] = {"application/x-msdownload", "application/x-dosexec"};

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		pattern_set_add(&p->blocked_extensions, exts[i]);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		pattern_set_add(&p->blocked_types, types[i]);
	pattern_set_seal(&p->blocked_extensions);
	pattern_set_seal(&p->blocked_types);
	p->block_encrypted_archives = true;
	p->inspect_archives = true;
}

/* attach_policy_free - release the sets */
void attach_policy_free(struct attach_policy *p)
{
	pattern_set_free(&p->blocked_extensions);
	pattern_set_free(&p->blocked_types);
}

/* invisible_tail - length of an invisible character (NBSP, zero-width, bidi controls, BOM,
 * ideographic space) ending s[0..n), or 0 */
static size_t invisible_tail(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 2 && u[n - 2] == 0xc2 && u[n - 1] == 0xa0)
		return 2;
	if (n >= 3 && u[n - 3] == 0xe2 && u[n - 2] == 0x80 &&
	    ((u[n - 1] >= 0x8b && u[n - 1] <= 0x8f) || (u[n - 1] >= 0xaa && u[n - 1] <= 0xae)))
		return 3;
	if (n >= 3 && u[n - 3] == 0xe2 && u[n - 2] == 0x81 && u[n - 1] >= 0xa0 && u[n - 1] <= 0xa4)
		return 3;
	if (n >= 3 && ((u[n - 3] == 0xef && u[n - 2] == 0xbb && u[n - 1] == 0xbf) ||
		       (u[n - 3] == 0xe3 && u[n - 2] == 0x80 && u[n - 1] == 0x80)))
		return 3;
	return 0;
}

/* trim_tail - length of s[0..n) without trailing dots, white space and invisibles */
static size_t trim_tail(const char *s, size_t n)
{
	for (;;) {
		size_t k;

		if (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		else if ((k = invisible_tail(s, n)) > 0)
			n -= k;
		else
			return n;
	}
}

/* last_ext - the extension of s[0..n) (after the last '.') as [*start, n); false if none */
static bool last_ext(const char *s, size_t n, size_t *start)
{
	for (size_t i = n; i-- > 0;)
		if (s[i] == '.') {
			*start = i + 1;
			return i + 1 < n;
		}
	return false;
}

/* check_segment - the blocked-extension test on s[0..n) */
static bool check_segment(const char *s, size_t n, const struct pattern_set *exts, char *ext,
			  size_t extsz, bool *double_ext)
{
	char low[17];
	size_t st, st2, stem;

	n = trim_tail(s, n);
	if (!last_ext(s, n, &st) || n - st >= sizeof(low))
		return false;
	for (size_t i = 0; i < n - st; i++)
		low[i] = g_ascii_tolower(s[st + i]);
	low[n - st] = '\0';
	if (!pattern_set_contains(exts, low))
		return false;
	snprintf(ext, extsz, "%s", low);
	stem = trim_tail(s, st - 1);
	*double_ext = last_ext(s, stem, &st2) && stem - st2 <= 8;
	return true;
}

/* attach_name_blocked - the last extension, and the one before an ADS ':' */
bool attach_name_blocked(const char *filename, const struct pattern_set *exts, char *ext,
			 size_t extsz, bool *double_ext)
{
	const char *base = filename, *colon;

	*double_ext = false;
	if (extsz > 0)
		*ext = '\0';
	if (filename == NULL)
		return false;
	for (const char *c = filename; *c; c++)
		if (*c == '/' || *c == '\\')
			base = c + 1;
	if (check_segment(base, strlen(base), exts, ext, extsz, double_ext))
		return true;
	colon = strchr(base, ':');
	return colon != NULL &&
	       check_segment(base, (size_t)(colon - base), exts, ext, extsz, double_ext);
}

/* attach_reason_str - the reason's name for logs and JSON */
const char *attach_reason_str(enum attach_reason r)
{
	switch (r) {
	case ATTACH_EXTENSION:
		return "extension";
	case ATTACH_DOUBLE_EXTENSION:
		return "double_extension";
	case ATTACH_TYPE:
		return "type";
	case ATTACH_ARCHIVE_MEMBER:
		return "archive_member";
	case ATTACH_ENCRYPTED:
		return "encrypted";
	}
	return "unknown";
}

/* add_finding - count one finding, keep it while there is room */
__attribute__((format(printf, 5, 6))) static void add_finding(struct attach_findings *f,
							      enum attach_reason why,
							      const char *name, const char *inner,
							      const char *fmt, ...)
{
	struct attach_finding *x;
	va_list ap;

	f->total++;
	if (f->n == ATTACH_MAX_FINDINGS)
		return;
	x = &f->v[f->n++];
	x->reason = why;
	if (inner != NULL)
		snprintf(x->name, sizeof(x->name), "%s/%s", name ? name : "(unnamed)", inner);
	else
		snprintf(x->name, sizeof(x->name), "%s", name ? name : "(unnamed)");
	va_start(ap, fmt);
	vsnprintf(x->detail, sizeof(x->detail), fmt, ap);
	va_end(ap);
}

/* mime_attach_check - every part against the policy */
void mime_attach_check(const struct mime_report *r, const struct attach_policy *p,
		       struct attach_findings *out)
{
	char ext[32];
	bool dbl;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < r->n_parts; i++) {
		const struct mime_part_info *part = &r->parts[i];
		bool encrypted = false;

		if (attach_name_blocked(part->filename, &p->blocked_extensions, ext, sizeof(ext),
					&dbl))
			add_finding(out, dbl ? ATTACH_DOUBLE_EXTENSION : ATTACH_EXTENSION,
				    part->filename, NULL, "%sextension %s", dbl ? "double " : "",
				    ext);
		if (pattern_set_contains(&p->blocked_types, part->content_type))
			add_finding(out, ATTACH_TYPE, part->filename, NULL, "type %s",
				    part->content_type);
		else if (part->sniffed && pattern_set_contains(&p->blocked_types, part->sniffed))
			add_finding(out, ATTACH_TYPE, part->filename, NULL, "type %s (by content)",
				    part->sniffed);
		if (!part->is_archive)
			continue;
		for (size_t j = 0; j < part->archive.n; j++) {
			const struct archive_entry *e = &part->archive.entries[j];

			encrypted |= e->encrypted;
			if (p->inspect_archives &&
			    attach_name_blocked(e->name, &p->blocked_extensions, ext, sizeof(ext),
						&dbl))
				add_finding(out, ATTACH_ARCHIVE_MEMBER, part->filename, e->name,
					    "extension %s inside the archive", ext);
		}
		if (encrypted && p->block_encrypted_archives)
			add_finding(out, ATTACH_ENCRYPTED, part->filename, NULL,
				    "encrypted archive");
	}
}
