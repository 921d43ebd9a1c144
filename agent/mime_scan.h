/* mime_scan.h - what a raw message holds: its headers, every part's name and type, the
 * names inside its zip archives; and the attachment policy check over that inventory.
 *
 * mime_scan_buffer() / mime_scan_fd() parse a whole RFC 5322 message with GMime 3 and fill
 * a struct mime_report: Subject (decoded), the From: address, Message-ID, the top-level
 * headers (for antipub.c), and one struct mime_part_info per leaf part and per embedded
 * message (message/rfc822, recursed up to MIME_MAX_DEPTH levels). Zip archives (by type,
 * extension or magic) are listed from their central directory by a bounds-checked reader
 * that never decompresses (local headers when the directory is missing or cut).
 * Malformed input never fails the scan: whatever could be read is reported, with flags.
 * Every string in a report is valid UTF-8 without control characters.
 *
 * mime_attach_check() (pure) applies a struct attach_policy to a report: blocked extensions
 * (the last one, after the tricks Windows forgives: trailing dots and spaces, an alternate
 * data stream, a path), double extensions, blocked types (declared or sniffed: PE, zip),
 * blocked names inside zips, encrypted zips.
 *
 * GMime: g_mime_init() is called once per process by mime_scan_init(), which the scan
 * functions call themselves through pthread_once; vr-agent's main() calls it before it
 * starts the milter's threads. GMime objects are per scan, so scans may run in parallel.
 * Ownership: a report owns its strings (mime_report_free); a policy owns its sets
 * (attach_policy_free).
 */
#ifndef VR_AGENT_MIME_SCAN_H
#define VR_AGENT_MIME_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "lists.h"

#define MIME_MAX_DEPTH	    5	  /* embedded messages recursed */
#define MIME_MAX_NESTING    64	  /* multipart levels walked */
#define MIME_MAX_PARTS	    1000  /* parts reported */
#define MIME_MAX_HEADERS    256	  /* top-level headers kept */
#define MIME_MAX_HEADER_LEN 8192  /* bytes kept of one header value */
#define ARCHIVE_MAX_ENTRIES 10000 /* names kept of one archive */
#define ATTACH_MAX_FINDINGS 16	  /* findings kept (all are counted) */

/* One top-level header, unfolded and decoded. */
struct mime_header {
	char *name;
	char *value;
};

/* One name inside an archive. */
struct archive_entry {
	char *name;	/* as stored (path inside the archive) */
	bool encrypted; /* general purpose bit 0 */
};

/* What the zip reader found. */
struct archive_info {
	struct archive_entry *entries;
	size_t n;
	bool truncated; /* central directory missing or cut: names came from local headers */
	bool broken;	/* not a readable zip at all */
	bool more;	/* more than ARCHIVE_MAX_ENTRIES names */
};

/* One leaf part, or one embedded message. */
struct mime_part_info {
	char *filename;	     /* decoded (RFC 2231/2047), or NULL */
	char *content_type;  /* "type/subtype", lower case */
	const char *sniffed; /* "application/x-dosexec", "application/zip" or NULL (static) */
	int depth;	     /* embedded-message level: 0 for the message itself */
	size_t size;	     /* decoded bytes */
	bool is_archive;     /* a zip: see archive */
	struct archive_info archive;
};

struct mime_report {
	char *subject;	  /* decoded, or NULL */
	char *from_addr;  /* first mailbox of From:, or NULL */
	char *message_id; /* without <>, or NULL */
	struct mime_header *headers;
	size_t n_headers;
	struct mime_part_info *parts;
	size_t n_parts;
	bool parse_failed;   /* GMime built no message: only the flags are meaningful */
	bool depth_exceeded; /* an embedded message or multipart nesting beyond the limits */
	bool parts_more;     /* more than MIME_MAX_PARTS parts */
	bool headers_more;   /* more than MIME_MAX_HEADERS headers */
};

/* The attachment part of the filter policy. */
struct attach_policy {
	struct pattern_set blocked_extensions; /* lower case, without the dot */
	struct pattern_set blocked_types;      /* "type/subtype", lower case */
	bool block_encrypted_archives;
	bool inspect_archives; /* check the names inside archives */
};

enum attach_reason {
	ATTACH_EXTENSION,	 /* blocked extension */
	ATTACH_DOUBLE_EXTENSION, /* blocked extension behind another ("invoice.pdf.exe") */
	ATTACH_TYPE,		 /* blocked MIME type, declared or sniffed */
	ATTACH_ARCHIVE_MEMBER,	 /* a blocked extension inside an archive */
	ATTACH_ENCRYPTED,	 /* an encrypted archive */
};

struct attach_finding {
	enum attach_reason reason;
	char name[256];	  /* the file (or "archive.zip/inner.exe") */
	char detail[128]; /* "extension exe", "type application/x-msdownload" */
};

struct attach_findings {
	struct attach_finding v[ATTACH_MAX_FINDINGS];
	size_t n;     /* kept in v */
	size_t total; /* found */
};

/* mime_scan_init - g_mime_init() once per process (idempotent, thread-safe) */
void mime_scan_init(void);
/* mime_scan_buffer - inventory of len bytes of raw message; always fills out (free it with
 * mime_report_free) and returns VR_OK */
enum vr_err mime_scan_buffer(const void *data, size_t len, struct mime_report *out);
/* mime_scan_fd - the same for a file (read from offset 0; fd stays open, offset restored);
 * VR_E_INTERNAL when it cannot be read (out is then empty but must still be freed) */
enum vr_err mime_scan_fd(int fd, struct mime_report *out);
/* mime_report_free - release a report and reset it */
void mime_report_free(struct mime_report *r);
/* mime_report_header - the first top-level header called name (any case), borrowed from the
 * report, or NULL */
const char *mime_report_header(const struct mime_report *r, const char *name);

/* mime_zip_list - list the names of a zip held in data[0..len) into out (free it with
 * archive_info_free); never reads outside the buffer */
void mime_zip_list(const void *data, size_t len, struct archive_info *out);
/* archive_info_free - release the names */
void archive_info_free(struct archive_info *a);

/* attach_policy_defaults - the contract's defaults (the usual executable extensions and
 * types, both flags true); free with attach_policy_free */
void attach_policy_defaults(struct attach_policy *p);
/* attach_policy_free - release the sets */
void attach_policy_free(struct attach_policy *p);
/* attach_name_blocked - true when filename's extension is in exts: its last one after
 * dropping a path, trailing dots, spaces and invisible characters; also the one before an
 * ":stream" suffix. The extension (lower case) goes to ext; *double_ext is set when another
 * extension precedes it ("invoice.pdf.exe"). */
bool attach_name_blocked(const char *filename, const struct pattern_set *exts, char *ext,
			 size_t extsz, bool *double_ext);
/* mime_attach_check - apply policy p to report r; out->total is 0 when nothing is blocked */
void mime_attach_check(const struct mime_report *r, const struct attach_policy *p,
		       struct attach_findings *out);
/* attach_reason_str - "extension", "double_extension", "type", "archive_member", "encrypted" */
const char *attach_reason_str(enum attach_reason r);

#endif
