/* test_mime_scan.c - agent/mime_scan.c: message inventory, filename tricks, the zip lister,
 * the attachment policy check, and a mutation fuzz loop.
 *
 * Zips are built here (zip_build: stored entries, optional encryption flag, optional data in
 * front) so that every case says exactly what bytes the lister sees. The fuzz loop mutates
 * and truncates a few seed messages and zips with a fixed-seed PRNG (reproducible) and only
 * checks that every scan completes with well-formed strings: ctest runs it under ASan/UBSan.
 */
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "antipub.h"
#include "cm.h"
#include "mime_scan.h"

/* ---- building zips -------------------------------------------------------------------- */

struct zentry {
	const char *name;
	const char *data;
	bool encrypted;
};

/* put16, put32 - little-endian writes */
static void put16(GByteArray *b, unsigned v)
{
	guint8 x[2] = {v & 0xff, (v >> 8) & 0xff};

	g_byte_array_append(b, x, 2);
}

static void put32(GByteArray *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* zip_build - a stored (uncompressed) zip of entries, after prefix_len bytes of junk */
static GByteArray *zip_build(const struct zentry *e, size_t n, size_t prefix_len)
{
	GByteArray *b = g_byte_array_new();
	uint32_t *offs = calloc(n + 1, sizeof(*offs)), cd;

	for (size_t i = 0; i < prefix_len; i++)
		g_byte_array_append(b, (const guint8 *)"J", 1);
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(e[i].data), nl = strlen(e[i].name);

		offs[i] = b->len;
		put32(b, 0x04034b50);
		put16(b, 20);
		put16(b, e[i].encrypted ? 1 : 0);
		put16(b, 0);
		put32(b, 0);
		put32(b, 0); /* crc: the lister does not look */
		put32(b, (uint32_t)dl);
		put32(b, (uint32_t)dl);
		put16(b, (unsigned)nl);
		put16(b, 0);
		g_byte_array_append(b, (const guint8 *)e[i].name, (guint)nl);
		g_byte_array_append(b, (const guint8 *)e[i].data, (guint)dl);
	}
	cd = b->len;
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(e[i].data), nl = strlen(e[i].name);

		put32(b, 0x02014b50);
		put16(b, 20);
		put16(b, 20);
		put16(b, e[i].encrypted ? 1 : 0);
		put16(b, 0);
		put32(b, 0);
		put32(b, 0);
		put32(b, (uint32_t)dl);
		put32(b, (uint32_t)dl);
		put16(b, (unsigned)nl);
		put16(b, 0);
		put16(b, 0);
		put16(b, 0);
		put16(b, 0);
		put32(b, 0);
		put32(b, offs[i] - (uint32_t)prefix_len); /* as an archiver writes it: no prefix */
		g_byte_array_append(b, (const guint8 *)e[i].name, (guint)nl);
	}
	put32(b, 0x06054b50);
	put16(b, 0);
	put16(b, 0);
	put16(b, (unsigned)n);
	put16(b, (unsigned)n);
	put32(b, b->len - cd - 12);
	put32(b, cd - (uint32_t)prefix_len);
	put16(b, 0);
	free(offs);
	return b;
}

static const struct zentry zip_plain[] = {
    {"docs/", "", false},
    {"docs/readme.txt", "hello", false},
    {"bin/setup.exe", "MZ fake", false},
};
static const struct zentry zip_locked[] = {{"secret.docx", "xxxxxxxxxxxx", true}};
static const struct zentry zip_clean[] = {{"a.txt", "a", false}, {"b.pdf", "%PDF", false}};

/* ---- building messages ---------------------------------------------------------------- */

/* b64 - base64 of len bytes, lines of 76 */
static char *b64(const void *data, size_t len)
{
	gchar *raw = g_base64_encode(data, len);
	size_t n = strlen(raw);
	char *out = malloc(n + n / 76 * 2 + 3), *p = out;

	for (size_t i = 0; i < n; i += 76) {
		size_t k = n - i < 76 ? n - i : 76;

		memcpy(p, raw + i, k);
		p += k;
		*p++ = '\r';
		*p++ = '\n';
	}
	*p = '\0';
	g_free(raw);
	return out;
}

/* attach_msg - a multipart message with one text part and the given attachment parts,
 * each "Content-Type...headers\r\n\r\nbody"; returns a g_free'able string */
static char *attach_msg(const char *extra_headers, const char *const *parts, size_t n)
{
	GString *s = g_string_new(NULL);

	g_string_append(s, "From: =?UTF-8?Q?Jos=C3=A9?= <Jose@Example.ORG>\r\n"
			   "To: alice@corp.test\r\n"
			   "Subject: =?UTF-8?B?UsOpdW5pb24gZGUgamV1ZGk=?=\r\n"
			   "Message-ID: <abc.123@example.org>\r\n"
			   "MIME-Version: 1.0\r\n");
	g_string_append(s, extra_headers ? extra_headers : "");
	g_string_append(s, "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
			   "preamble\r\n--XX\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n");
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "--XX\r\n%s\r\n", parts[i]);
	g_string_append(s, "--XX--\r\n");
	return g_string_free(s, FALSE);
}

/* zip_part - an attachment part holding a zip */
static char *zip_part(const char *filename, const char *type, GByteArray *zip)
{
	char *body = b64(zip->data, zip->len);
	char *part =
	    g_strdup_printf("Content-Type: %s\r\nContent-Disposition: attachment; "
			    "filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s",
			    type, filename, body);

	free(body);
	return part;
}

/* scan_text - scan a NUL-terminated message */
static void scan_text(const char *msg, struct mime_report *r)
{
	assert_int_equal(mime_scan_buffer(msg, strlen(msg), r), VR_OK);
}

/* find_part - the part with this filename, or NULL */
static const struct mime_part_info *find_part(const struct mime_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_parts; i++)
		if (r->parts[i].filename && strcmp(r->parts[i].filename, name) == 0)
			return &r->parts[i];
	return NULL;
}

/* ---- tests ------------------------------------------------------------------------------ */

/* inventory - headers decoded, every leaf part named and typed, zips listed */
static void inventory(void **state)
{
	GByteArray *z = zip_build(zip_plain, 3, 0);
	char *zp = zip_part("archive.zip", "application/zip", z);
	const char *parts[] = {
	    "Content-Type: application/pdf; name=\"ignored.pdf\"\r\n"
	    "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf.exe\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nTVpQAAIAAAAEAA8A//8AALgAAAAAAAAAQAAaAA==\r\n",
	    "Content-Type: application/octet-stream;\r\n "
	    "name=\"=?UTF-8?B?ZmFjdHVyZS5leGU=?=\"\r\n\r\n"
	    "data\r\n",
	    "Content-Type: application/x-msdownload\r\n\r\nMZ\r\n",
	    zp,
	};
	char *msg = attach_msg(
	    "List-Unsubscribe: <https://shop.test/u>\r\nList-Id: <l.shop.test>\r\n", parts, 4);
	struct mime_report r;
	const struct mime_part_info *p;

	(void)state;
	scan_text(msg, &r);
	assert_false(r.parse_failed);
	assert_string_equal(r.subject, "Réunion de jeudi");
	assert_string_equal(r.from_addr, "Jose@Example.ORG");
	assert_string_equal(r.message_id, "abc.123@example.org");
	assert_string_equal(mime_report_header(&r, "list-unsubscribe"), "<https://shop.test/u>");
	assert_null(mime_report_header(&r, "X-Nothing"));
	assert_int_equal(r.n_parts, 5);
	assert_string_equal(r.parts[0].content_type, "text/plain");
	assert_null(r.parts[0].filename);
	assert_non_null(p = find_part(&r, "résumé.pdf.exe")); /* RFC 2231 beats name= */
	assert_string_equal(p->content_type, "application/pdf");
	assert_non_null(find_part(&r, "facture.exe")); /* RFC 2047 in name= */
	assert_string_equal(r.parts[3].content_type, "application/x-msdownload");
	assert_non_null(p = find_part(&r, "archive.zip"));
	assert_true(p->is_archive);
	assert_false(p->archive.truncated);
	assert_int_equal(p->archive.n, 2); /* the directory entry is skipped */
	assert_string_equal(p->archive.entries[0].name, "docs/readme.txt");
	assert_string_equal(p->archive.entries[1].name, "bin/setup.exe");
	assert_int_equal(p->size, z->len);
	assert_string_equal(p->sniffed, "application/zip");
	mime_report_free(&r);
	g_free(msg);
	g_free(zp);
	g_byte_array_unref(z);
}

/* A filename and whether the default policy blocks it. */
struct name_case {
	const char *name;
	bool blocked;
	const char *ext;
	bool dbl;
};

static const struct name_case name_cases[] = {
    {"setup.exe", true, "exe", false},
    {"SETUP.EXE", true, "exe", false},
    {"report.pdf.exe", true, "exe", true},
    {"report.pdf   .exe", true, "exe", true},
    {"x.exe.", true, "exe", false},
    {"x.exe ", true, "exe", false},
    {"x.exe . . ", true, "exe", false},
    {"x.exe\t", true, "exe", false},
    {"x.exe\xe2\x80\x8b", true, "exe", false},	      /* zero-width space */
    {"x.exe\xc2\xa0", true, "exe", false},	      /* no-break space */
    {"photo\xe2\x80\xaegpj.exe", true, "exe", false}, /* right-to-left override */
    {"x.exe:Zone.Identifier", true, "exe", false},    /* alternate data stream */
    {"C:\\Users\\me\\x.scr", true, "scr", false},
    {"../../x.js", true, "js", false},
    {"invoice.pdf.js", true, "js", true},
    {".exe", true, "exe", false},
    {"x.txt", false, "", false},
    {"x.exe.txt", false, "", false},
    {"archive.tar.gz", false, "", false},
    {"exe", false, "", false},
    {"x.", false, "", false},
    {"", false, "", false},
    {"x.exeexeexeexeexeexe", false, "", false},
    {"my.exe/", false, "", false},
};

/* name_tricks - attach_name_blocked on every trick */
static void name_tricks(void **state)
{
	struct attach_policy p;

	(void)state;
	attach_policy_defaults(&p);
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];
		char ext[32];
		bool dbl = false;
		bool got =
		    attach_name_blocked(c->name, &p.blocked_extensions, ext, sizeof(ext), &dbl);

		if (got != c->blocked || strcmp(ext, c->ext) != 0 || dbl != c->dbl)
			fail_msg("name '%s': want %d '%s' dbl=%d, got %d '%s' dbl=%d", c->name,
				 c->blocked, c->ext, c->dbl, got, ext, dbl);
	}
	assert_false(attach_name_blocked(NULL, &p.blocked_extensions, NULL, 0, &(bool){0}));
	attach_policy_free(&p);
}

/* zip_cases - central directory, prefix data, encryption, truncation, garbage */
static void zip_cases(void **state)
{
	GByteArray *z = zip_build(zip_plain, 3, 0), *sfx = zip_build(zip_plain, 3, 100),
		   *enc = zip_build(zip_locked, 1, 0), *empty = zip_build(NULL, 0, 0);
	struct archive_info a;

	(void)state;
	mime_zip_list(z->data, z->len, &a);
	assert_int_equal(a.n, 2);
	assert_false(a.truncated || a.broken || a.more);
	archive_info_free(&a);
	/* a self-extractor: every offset is shifted by the stub in front */
	mime_zip_list(sfx->data, sfx->len, &a);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.entries[1].name, "bin/setup.exe");
	assert_false(a.truncated);
	archive_info_free(&a);
	mime_zip_list(enc->data, enc->len, &a);
	assert_int_equal(a.n, 1);
	assert_true(a.entries[0].encrypted);
	archive_info_free(&a);
	mime_zip_list(empty->data, empty->len, &a);
	assert_int_equal(a.n, 0);
	assert_false(a.broken || a.truncated);
	archive_info_free(&a);
	/* cut before the central directory: local headers give the names */
	mime_zip_list(z->data, z->len - 60, &a);
	assert_true(a.truncated);
	assert_false(a.broken);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.entries[1].name, "bin/setup.exe");
	archive_info_free(&a);
	/* cut inside the last name */
	mime_zip_list(z->data, 30 + 5 + 30 + 15 + 5 + 30 + 6, &a);
	assert_true(a.truncated);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.entries[1].name, "bin/se");
	archive_info_free(&a);
	mime_zip_list("PK\3\4", 4, &a);
	assert_true(a.broken);
	archive_info_free(&a);
	mime_zip_list("not a zip at all, not at all", 28, &a);
	assert_true(a.broken);
	assert_int_equal(a.n, 0);
	archive_info_free(&a);
	mime_zip_list(NULL, 0, &a);
	assert_true(a.broken);
	archive_info_free(&a);
	g_byte_array_unref(z);
	g_byte_array_unref(sfx);
	g_byte_array_unref(enc);
	g_byte_array_unref(empty);
}

/* One message and the findings the default policy must give. */
struct policy_case {
	const char *name;
	const char *part; /* NULL: generated (kind) */
	int kind;	  /* zips: 1 plain (setup.exe inside), 2 encrypted, 3 clean; 4 a PE */
	const char *zip_name, *zip_type;
	enum attach_reason reasons[3];
	size_t n;
};

/* clang-format off */
static const struct policy_case policy_cases[] = {
	{"clean pdf", "Content-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n",
	 0, NULL, NULL, {0}, 0},
	{"exe", "Content-Type: application/octet-stream; name=a.exe\r\n\r\nx\r\n",
	 0, NULL, NULL, {ATTACH_EXTENSION}, 1},
	{"double extension", "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
	 "filename=\"invoice.pdf.exe\"\r\n\r\nx\r\n",
	 0, NULL, NULL, {ATTACH_DOUBLE_EXTENSION}, 1},
	{"trailing dot", "Content-Type: application/pdf; name=\"x.exe.\"\r\n\r\nx\r\n",
	 0, NULL, NULL, {ATTACH_EXTENSION}, 1},
	{"blocked declared type", "Content-Type: application/x-msdownload\r\n\r\nx\r\n",
	 0, NULL, NULL, {ATTACH_TYPE}, 1},
	{"PE sniffed under an innocent name", NULL, 4, "a.png", "image/png", {ATTACH_TYPE}, 1},
	{"zip holding an exe", NULL, 1, "files.zip", "application/zip", {ATTACH_ARCHIVE_MEMBER}, 1},
	{"zip found by magic under another name", NULL, 1, "files.dat", "application/octet-stream",
	 {ATTACH_ARCHIVE_MEMBER}, 1},
	{"encrypted zip", NULL, 2, "locked.zip", "application/octet-stream", {ATTACH_ENCRYPTED}, 1},
	{"clean zip", NULL, 3, "ok.zip", "application/x-zip-compressed", {0}, 0},
};
/* clang-format on */

/* policy_table - mime_attach_check over built messages */
static void policy_table(void **state)
{
	struct attach_policy pol;

	(void)state;
	attach_policy_defaults(&pol);
	for (size_t i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		const struct policy_case *c = &policy_cases[i];
		GByteArray *z = NULL;
		char *zp = NULL, *msg;
		const char *part = c->part;
		struct mime_report r;
		struct attach_findings f;

		if (c->kind == 4) {
			z = g_byte_array_sized_new(128);
			g_byte_array_set_size(z, 128);
			memset(z->data, 0, 128);
			memcpy(z->data, "MZ", 2);
			z->data[0x3c] = 0x40;
			memcpy(z->data + 0x40, "PE\0\0", 4);
		} else if (c->kind != 0) {
			z = c->kind == 1   ? zip_build(zip_plain, 3, 0)
			    : c->kind == 2 ? zip_build(zip_locked, 1, 0)
					   : zip_build(zip_clean, 2, 0);
		}
		if (z != NULL)
			part = zp = zip_part(c->zip_name, c->zip_type, z);
		msg = attach_msg(NULL, &part, 1);
		scan_text(msg, &r);
		mime_attach_check(&r, &pol, &f);
		if (f.total != c->n)
			fail_msg("case '%s': want %zu findings, got %zu (%s)", c->name, c->n,
				 f.total, f.n ? f.v[0].detail : "");
		for (size_t k = 0; k < c->n; k++)
			if (f.v[k].reason != c->reasons[k])
				fail_msg("case '%s': finding %zu is %s (%s), want %s", c->name, k,
					 attach_reason_str(f.v[k].reason), f.v[k].detail,
					 attach_reason_str(c->reasons[k]));
		mime_report_free(&r);
		g_free(msg);
		g_free(zp);
		if (z)
			g_byte_array_unref(z);
	}
	attach_policy_free(&pol);
}

/* policy_switches - inspect_archives and block_encrypted_archives turn their checks off */
static void policy_switches(void **state)
{
	GByteArray *z1 = zip_build(zip_plain, 3, 0), *z2 = zip_build(zip_locked, 1, 0);
	char *p1 = zip_part("a.zip", "application/zip", z1),
	     *p2 = zip_part("b.zip", "application/zip", z2);
	const char *parts[] = {p1, p2};
	char *msg = attach_msg(NULL, parts, 2);
	struct attach_policy pol;
	struct attach_findings f;
	struct mime_report r;

	(void)state;
	scan_text(msg, &r);
	attach_policy_defaults(&pol);
	mime_attach_check(&r, &pol, &f);
	assert_int_equal(f.total, 2);
	assert_string_equal(f.v[0].name, "a.zip/bin/setup.exe");
	assert_string_equal(f.v[1].name, "b.zip");
	pol.inspect_archives = false;
	mime_attach_check(&r, &pol, &f);
	assert_int_equal(f.total, 1);
	assert_int_equal(f.v[0].reason, ATTACH_ENCRYPTED);
	pol.block_encrypted_archives = false;
	mime_attach_check(&r, &pol, &f);
	assert_int_equal(f.total, 0);
	attach_policy_free(&pol);
	mime_report_free(&r);
	g_free(msg);
	g_free(p1);
	g_free(p2);
	g_byte_array_unref(z1);
	g_byte_array_unref(z2);
}

/* many_findings - more findings than kept: all counted */
static void many_findings(void **state)
{
	const char *parts[40];
	char *msg;
	struct attach_policy pol;
	struct attach_findings f;
	struct mime_report r;

	(void)state;
	for (size_t i = 0; i < 40; i++)
		parts[i] = "Content-Type: application/x-msdownload; name=x.exe\r\n\r\nx\r\n";
	msg = attach_msg(NULL, parts, 40);
	scan_text(msg, &r);
	attach_policy_defaults(&pol);
	mime_attach_check(&r, &pol, &f);
	assert_int_equal(f.total, 80);
	assert_int_equal(f.n, ATTACH_MAX_FINDINGS);
	attach_policy_free(&pol);
	mime_report_free(&r);
	g_free(msg);
}

/* nested_messages - message/rfc822 recursed, up to MIME_MAX_DEPTH levels */
static void nested_messages(void **state)
{
	GString *s = g_string_new(NULL);
	struct mime_report r;
	int levels = 8;

	(void)state;
	for (int i = 0; i < levels; i++)
		g_string_append_printf(
		    s,
		    "From: a%d@b.test\r\nSubject: level %d\r\n"
		    "Content-Type: multipart/mixed; boundary=\"L%d\"\r\n\r\n--L%d\r\n"
		    "Content-Type: application/octet-stream; name=\"f%d.exe\"\r\n\r\nx\r\n"
		    "--L%d\r\nContent-Type: message/rfc822; name=\"fwd%d.eml\"\r\n\r\n",
		    i, i, i, i, i, i, i);
	g_string_append(s, "From: z@b.test\r\n\r\nbottom\r\n");
	scan_text(s->str, &r);
	assert_string_equal(r.subject, "level 0");
	assert_true(r.depth_exceeded);
	assert_non_null(find_part(&r, "f0.exe"));
	assert_non_null(find_part(&r, "f5.exe"));
	assert_null(find_part(&r, "f6.exe"));
	assert_non_null(find_part(&r, "fwd5.eml"));
	assert_int_equal(find_part(&r, "f5.exe")->depth, 5);
	assert_string_equal(find_part(&r, "fwd0.eml")->content_type, "message/rfc822");
	mime_report_free(&r);
	g_string_free(s, TRUE);
}

/* hostile_input - NUL bytes, 8-bit headers, huge headers, deep nesting, empty input */
static void hostile_input(void **state)
{
	static const char nul_msg[] = "From: a@b.test\r\nSubject: x\0y\r\nX-Bin: \x01\x02\x7f\r\n"
				      "Content-Type: text/plain\r\n\r\nbody\0with\0nul\r\n";
	static const char latin1[] =
	    "From: \"R\xe9mi\" <remi@b.test>\r\nSubject: caf\xe9 cr\xe8me\r\n"
	    "X-Junk: \xff\xfe\xc3\r\n\r\nbody\r\n";
	struct mime_report r;
	GString *s;

	(void)state;
	assert_int_equal(mime_scan_buffer(nul_msg, sizeof(nul_msg) - 1, &r), VR_OK);
	mime_report_free(&r);
	assert_int_equal(mime_scan_buffer(latin1, sizeof(latin1) - 1, &r), VR_OK);
	assert_non_null(r.subject);
	assert_true(g_utf8_validate(r.subject, -1, NULL));
	assert_string_equal(r.subject, "café crème"); /* the windows-1252 fallback */
	for (size_t i = 0; i < r.n_headers; i++)
		assert_true(g_utf8_validate(r.headers[i].value, -1, NULL));
	mime_report_free(&r);
	assert_int_equal(mime_scan_buffer("", 0, &r), VR_OK);
	mime_report_free(&r);
	assert_int_equal(mime_scan_buffer(NULL, 0, &r), VR_OK);
	mime_report_free(&r);
	/* one 2 MB header, then 5,000 headers */
	s = g_string_new("From: a@b.test\r\nSubject: ");
	for (int i = 0; i < 200000; i++)
		g_string_append(s, "0123456789");
	g_string_append(s, "\r\n");
	for (int i = 0; i < 5000; i++)
		g_string_append_printf(s, "X-H%d: v\r\n", i);
	g_string_append(s, "\r\nbody\r\n");
	assert_int_equal(mime_scan_buffer(s->str, s->len, &r), VR_OK);
	assert_int_equal(strlen(r.subject), MIME_MAX_HEADER_LEN);
	assert_int_equal(r.n_headers, MIME_MAX_HEADERS);
	assert_true(r.headers_more);
	mime_report_free(&r);
	g_string_free(s, TRUE);
	/* 20,000 nested multiparts */
	s = g_string_new("From: a@b.test\r\n");
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(
		    s, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	g_string_append(s, "Content-Type: text/plain\r\n\r\nx\r\n");
	assert_int_equal(mime_scan_buffer(s->str, s->len, &r), VR_OK);
	mime_report_free(&r);
	g_string_free(s, TRUE);
	/* more parts than reported */
	s = g_string_new("From: a@b.test\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n");
	for (int i = 0; i < MIME_MAX_PARTS + 50; i++)
		g_string_append(s, "--P\r\nContent-Type: text/plain\r\n\r\nx\r\n");
	g_string_append(s, "--P--\r\n");
	assert_int_equal(mime_scan_buffer(s->str, s->len, &r), VR_OK);
	assert_int_equal(r.n_parts, MIME_MAX_PARTS);
	assert_true(r.parts_more);
	mime_report_free(&r);
	g_string_free(s, TRUE);
}

/* scan_fd - the file variant gives the same inventory and leaves the offset alone */
static void scan_fd(void **state)
{
	const char *parts[] = {"Content-Type: application/pdf; name=x.pdf.exe\r\n\r\nx\r\n"};
	char *msg = attach_msg(NULL, parts, 1);
	char path[] = "/tmp/test_mime_scan.XXXXXX";
	int fd = mkstemp(path);
	struct mime_report r;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	assert_int_equal(mime_scan_fd(fd, &r), VR_OK);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 7);
	assert_string_equal(r.subject, "Réunion de jeudi");
	assert_non_null(find_part(&r, "x.pdf.exe"));
	mime_report_free(&r);
	close(fd);
	assert_int_equal(mime_scan_fd(fd, &r), VR_E_INTERNAL); /* closed */
	mime_report_free(&r);
	g_free(msg);
}

/* ---- fuzz ------------------------------------------------------------------------------- */

/* xorshift - a fixed-seed PRNG: failures reproduce */
static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* insert - put n bytes at pos */
static void insert(GByteArray *b, guint pos, const void *p, guint n)
{
	guint old = b->len;

	g_byte_array_set_size(b, old + n);
	memmove(b->data + pos + n, b->data + pos, old - pos);
	memcpy(b->data + pos, p, n);
}

/* mutate - a copy of seed with a few random edits */
static GByteArray *mutate(const guint8 *seed, size_t len, uint32_t *rng)
{
	static const char *const tokens[] = {
	    "\r\n--XX\r\n", "\r\n\r\n", "Content-Type: message/rfc822\r\n",
	    "=?UTF-8?B?",   "PK\3\4",	"PK\1\2",
	    "PK\5\6",	    "\0",	"boundary=\"",
	    "filename*0*=", "\xff\xfe", ";;;;"};
	GByteArray *b = g_byte_array_new();
	uint32_t edits = 1 + xorshift(rng) % 8;

	g_byte_array_append(b, seed, (guint)len);
	for (uint32_t e = 0; e < edits && b->len > 0; e++) {
		uint32_t pos = xorshift(rng) % b->len, op = xorshift(rng) % 5;

		switch (op) {
		case 0: /* flip a byte */
			b->data[pos] = (guint8)xorshift(rng);
			break;
		case 1: /* truncate */
			g_byte_array_set_size(b, pos);
			break;
		case 2: { /* insert a token */
			const char *t =
			    tokens[xorshift(rng) % (sizeof(tokens) / sizeof(tokens[0]))];

			insert(b, pos, t, strlen(t) ? (guint)strlen(t) : 1);
			break;
		}
		case 3: { /* delete a run */
			guint n = xorshift(rng) % 64;

			g_byte_array_remove_range(b, pos, MIN(b->len - pos, n));
			break;
		}
		default: { /* duplicate a run */
			guint n = xorshift(rng) % 256;
			guint8 *copy;

			n = MIN(b->len - pos, n);
			if (n == 0)
				break;
			copy = g_memdup2(b->data + pos, n);
			insert(b, pos, copy, n);
			g_free(copy);
			break;
		}
		}
	}
	return b;
}

/* check_report - every string of a report is bounded, valid UTF-8 without controls */
static void check_report(const struct mime_report *r)
{
	const char *strs[] = {r->subject, r->from_addr, r->message_id};

	for (size_t i = 0; i < 3; i++)
		if (strs[i])
			assert_true(g_utf8_validate(strs[i], -1, NULL));
	for (size_t i = 0; i < r->n_parts; i++) {
		assert_non_null(r->parts[i].content_type);
		assert_true(g_utf8_validate(r->parts[i].content_type, -1, NULL));
		if (r->parts[i].filename)
			assert_true(g_utf8_validate(r->parts[i].filename, -1, NULL));
		for (size_t k = 0; k < r->parts[i].archive.n; k++) {
			const char *n = r->parts[i].archive.entries[k].name;

			assert_true(g_utf8_validate(n, -1, NULL));
			for (const char *c = n; *c; c++)
				assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
		}
	}
	assert_true(r->n_headers <= MIME_MAX_HEADERS && r->n_parts <= MIME_MAX_PARTS);
}

/* fuzz_messages - a few hundred mutated messages, each scanned, checked and classified */
static void fuzz_messages(void **state)
{
	GByteArray *z1 = zip_build(zip_plain, 3, 0), *z2 = zip_build(zip_locked, 1, 7);
	char *p1 = zip_part("a.zip", "application/zip", z1),
	     *p2 = zip_part("b.bin", "application/octet-stream", z2);
	const char *parts[] = {
	    p1, p2,
	    "Content-Type: application/pdf; name*0*=UTF-8''a%C3%A9; "
	    "name*1=\".pdf.exe\"\r\n\r\nx\r\n",
	    "Content-Type: message/rfc822\r\n\r\nFrom: x@y.test\r\nSubject: "
	    "=?ISO-8859-1?Q?caf=E9?=\r\n"
	    "Content-Type: multipart/mixed; boundary=\"YY\"\r\n\r\n--YY\r\nContent-Type: "
	    "application/x-msdownload; name=in.exe\r\n\r\nMZ\r\n--YY--\r\n"};
	char *seeds[3];
	struct attach_policy pol;
	uint32_t rng = 0x9e3779b9;
	int runs = 0;

	(void)state;
	seeds[0] =
	    attach_msg("List-Unsubscribe: <https://a.test/u>\r\nPrecedence: bulk\r\n", parts, 4);
	seeds[1] = attach_msg("Subject: \xe9t\xe9\r\n", parts + 2, 2);
	seeds[2] = g_strdup("From: a@b.test\r\nContent-Type: text/plain\r\n\r\nhello\r\n");
	attach_policy_defaults(&pol);
	for (int s = 0; s < 3; s++)
		for (int i = 0; i < 150; i++, runs++) {
			GByteArray *m = mutate((const guint8 *)seeds[s], strlen(seeds[s]), &rng);
			struct mime_report r;
			struct attach_findings f;
			struct antipub_result ap;

			assert_int_equal(mime_scan_buffer(m->data, m->len, &r), VR_OK);
			check_report(&r);
			mime_attach_check(&r, &pol, &f);
			antipub_classify(r.headers, r.n_headers, NULL, &ap);
			mime_report_free(&r);
			g_byte_array_unref(m);
		}
	/* the zip lister alone, much more often: it is cheap */
	for (int i = 0; i < 3000; i++, runs++) {
		GByteArray *m =
		    mutate(i % 2 ? z1->data : z2->data, i % 2 ? z1->len : z2->len, &rng);
		struct archive_info a;

		mime_zip_list(m->data, m->len, &a);
		assert_true(a.n <= ARCHIVE_MAX_ENTRIES);
		archive_info_free(&a);
		g_byte_array_unref(m);
	}
	assert_int_equal(runs, 3450);
	attach_policy_free(&pol);
	for (int s = 0; s < 3; s++)
		g_free(seeds[s]);
	g_free(p1);
	g_free(p2);
	g_byte_array_unref(z1);
	g_byte_array_unref(z2);
}

/* One thread's share of the concurrent scans. */
struct worker {
	const char *msg;
	size_t parts, findings;
	bool same; /* every scan gave the first one's counts */
};

/* scan_loop - scan the same message 50 times */
static void *scan_loop(void *arg)
{
	struct worker *w = arg;
	struct attach_policy pol;

	attach_policy_defaults(&pol);
	w->same = true;
	for (int i = 0; i < 50; i++) {
		struct mime_report r;
		struct attach_findings f;

		mime_scan_buffer(w->msg, strlen(w->msg), &r);
		mime_attach_check(&r, &pol, &f);
		if (i == 0) {
			w->parts = r.n_parts;
			w->findings = f.total;
		} else if (r.n_parts != w->parts || f.total != w->findings) {
			w->same = false;
		}
		mime_report_free(&r);
	}
	attach_policy_free(&pol);
	return NULL;
}

/* concurrent_scans - scans in parallel threads (the milter's) agree with each other */
static void concurrent_scans(void **state)
{
	GByteArray *z = zip_build(zip_plain, 3, 0);
	char *zp = zip_part("a.zip", "application/zip", z);
	const char *parts[] = {zp, "Content-Type: application/pdf; name*=ISO-8859-1''r%E9sum%E9.exe"
				   "\r\n\r\nx\r\n"};
	char *msg = attach_msg("Subject: =?ISO-8859-1?Q?caf=E9?=\r\n", parts, 2);
	struct worker w[4];
	pthread_t th[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.msg = msg};
		assert_int_equal(pthread_create(&th[i], NULL, scan_loop, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(w[i].same);
		assert_int_equal(w[i].parts, 3);
		assert_int_equal(w[i].findings, 2); /* résumé.exe, a.zip/bin/setup.exe */
	}
	g_free(msg);
	g_free(zp);
	g_byte_array_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(inventory),	cmocka_unit_test(name_tricks),
	    cmocka_unit_test(zip_cases),	cmocka_unit_test(policy_table),
	    cmocka_unit_test(policy_switches),	cmocka_unit_test(many_findings),
	    cmocka_unit_test(nested_messages),	cmocka_unit_test(hostile_input),
	    cmocka_unit_test(scan_fd),		cmocka_unit_test(fuzz_messages),
	    cmocka_unit_test(concurrent_scans),
	};

	mime_scan_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
