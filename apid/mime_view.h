/* mime_view.h - what a user may see of a quarantined message, as JSON (GMime 3.2).
 *
 * Owns the display form of one raw RFC 5322 file: decoded headers, the attachment list and a
 * plain-text preview. The HTML-to-text reduction is our own and never resolves a URL.
 * Everything in the result is valid UTF-8 with no NUL and no C0 control other than \n and \t
 * (and \n only in the preview); bidi override characters are replaced too (filename spoofing).
 * Bounds: the file is read up to `limit` bytes; all_headers, to and cc keep at most 200 entries,
 * header values 4 KiB, attachments 1000 entries; MIME nesting is followed 10 levels deep.
 *
 * Threads: call mime_view_init() once from main() before any thread starts and
 * mime_view_shutdown() after they all ended. In between mime_view_load() may run in several
 * threads at once: each call owns its stream, parser, parser options and message. It relies on
 * GMime 3 being safe for separate objects, with its shared state (charset tables and the iconv
 * descriptor cache) set up by g_mime_init() and locked inside GMime; the default format options
 * are only read.
 */
#ifndef VR_MIME_VIEW_H
#define VR_MIME_VIEW_H

#include <stddef.h>

#include <jansson.h>

/* mime_view_init - g_mime_init() once per process (call from main before threads) */
void mime_view_init(void);
/* mime_view_shutdown - g_mime_shutdown() once, after the last mime_view_load() returned */
void mime_view_shutdown(void);

/* mime_view_load - parse the message at path (at most limit bytes read) into a JSON object
 * (new reference, the caller json_decref()s it) or NULL with a reason in err (only when the
 * file cannot be opened or read; an unparseable or empty file still gives an object):
 *   {"headers": {"subject", "from", "from_address", "to": [], "cc": [], "reply_to", "date",
 *                "message_id", "list_unsubscribe", "list_unsubscribe_post", "list_id"},
 *    "all_headers": [{"name", "value"}],
 *    "attachments": [{"filename", "content_type", "size", "disposition"}],
 *    "preview": {"text", "truncated", "source": "text/plain"|"text/html"|"none"}}
 * Missing header fields are null. "date" is RFC 3339 UTC when it parses, else as written.
 * The preview holds at most preview_max bytes, cut at a character boundary. */
json_t *mime_view_load(const char *path, size_t limit, size_t preview_max, char *err, size_t errsz);

#endif
