/* mime_view.c - the display form of a quarantined message (see mime_view.h).
 *
 * Stages, each a function below: read the file into memory; let GMime parse it (loose
 * compliance, fallback charsets UTF-8 then ISO-8859-1 for raw 8-bit headers); pick headers;
 * walk the MIME tree (depth-limited) for attachments and for the preview part; decode the
 * preview's bytes to UTF-8 (to_utf8); reduce HTML to text (html_*); and finally pass every
 * string through clean_text(), the one place that guarantees valid UTF-8 without controls
 * and cuts at a character boundary. Memory: one vr_buf per stage, freed by the stage's caller;
 * GMime objects are unreffed by the function that created them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "buf.h"
#include "log.h"
#include "mime_view.h"
#include "vrtime.h"

#define MAX_DEPTH	10	       /* MIME nesting followed this deep */
#define MAX_HEADERS	200	       /* entries in all_headers */
#define MAX_ADDRESSES	200	       /* entries in to and cc */
#define MAX_ATTACHMENTS 1000	       /* entries in attachments */
#define VALUE_MAX	4096	       /* bytes of one header value */
#define NAME_MAX_BYTES	1024	       /* bytes of a header name, filename or content type */
#define URL_MAX		2048	       /* bytes of a link target shown in the preview */
#define NOLIMIT		(SIZE_MAX / 4) /* vr_buf limit when the caller bounds the size */
#define READ_CHUNK	65536

/* clean_text flag: keep \n (CRLF and lone CR become \n); without it line breaks become spaces */
#define CLEAN_MULTILINE 1

/* ---- UTF-8 and text cleaning ---- */

/* utf8_next - decode one UTF-8 sequence of s (n > 0 bytes); the code point and its length,
 * or -1 with *len 1 for an invalid or truncated sequence (overlong, surrogate, > U+10FFFF) */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
	int32_t c = s[0];
	size_t need;
	int32_t min;

	*len = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (n <= need)
		return -1;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*len = need + 1;
	return c;
}

/* utf8_valid - whether s holds only valid UTF-8 (NUL bytes allowed: they are cleaned later) */
static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (utf8_next(p + i, n - i, &len) < 0)
			return false;
		i += len;
	}
	return true;
}

/* utf8_encode - write c as UTF-8 into out (4 bytes); its length */
static size_t utf8_encode(int32_t c, char out[4])
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* buf_put - append n bytes; the caller bounds the size, so a refusal is a broken invariant */
static void buf_put(struct vr_buf *b, const void *p, size_t n)
{
	if (vr_buf_append(b, p, n, NOLIMIT) < 0)
		VR_DIE("buffer over %zu bytes", (size_t)NOLIMIT);
}

/* buf_putc - append code point c as UTF-8 */
static void buf_putc(struct vr_buf *b, int32_t c)
{
	char u[4];

	buf_put(b, u, utf8_encode(c, u));
}

/* is_bidi_control - explicit direction overrides and isolates (used to disguise filenames) */
static bool is_bidi_control(int32_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* clean_text - append s to out as valid UTF-8 without controls, at most max bytes of output;
 * *cut (when not NULL) is set when something was left out for lack of room */
static void clean_text(struct vr_buf *out, const char *s, size_t n, unsigned flags, size_t max,
		       bool *cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = out->len, i = 0, len;

	while (i < n) {
		int32_t c = utf8_next(p + i, n - i, &len);
		char u[4];
		size_t k;

		i += len;
		if (c == '\r') {
			if (i < n && p[i] == '\n')
				continue; /* the \n that follows stands for both */
			c = '\n';
		}
		if (c == '\n' && !(flags & CLEAN_MULTILINE))
			c = ' ';
		else if (c < 0 || ((c < 0x20 || c == 0x7f) && c != '\n' && c != '\t') ||
			 is_bidi_control(c))
			c = 0xfffd;
		k = utf8_encode(c, u);
		if (out->len - start + k > max) {
			if (cut)
				*cut = true;
			return;
		}
		buf_put(out, u, k);
	}
}

/* clean_dup - s cleaned into a new string (the caller frees it), at most max bytes */
static char *clean_dup(const char *s, size_t n, unsigned flags, size_t max)
{
	struct vr_buf b = {0};

	clean_text(&b, s, n, flags, max, NULL);
	if (b.data == NULL) {
		b.data = strdup("");
		VR_CHECK_ALLOC(b.data);
	}
	return b.data;
}

/* ---- JSON helpers ---- */

/* jset - obj[key] = v, stealing v; allocation failure aborts */
static void jset(json_t *obj, const char *key, json_t *v)
{
	VR_CHECK_ALLOC(v);
	if (json_object_set_new(obj, key, v) != 0)
		VR_DIE("json_object_set_new %s", key);
}

/* jpush - append v to arr, stealing v */
static void jpush(json_t *arr, json_t *v)
{
	VR_CHECK_ALLOC(v);
	if (json_array_append_new(arr, v) != 0)
		VR_DIE("json_array_append_new");
}

/* jclean - a JSON string of s cleaned to one line of at most max bytes; JSON null for NULL */
static json_t *jclean(const char *s, size_t max)
{
	char *c;
	json_t *j;

	if (s == NULL)
		return json_null();
	c = clean_dup(s, strlen(s), 0, max);
	j = json_string(c); /* clean_text guarantees valid UTF-8: NULL means out of memory */
	VR_CHECK_ALLOC(j);
	free(c);
	return j;
}

/* ---- charsets ---- */

/* latin1_to_utf8 - append bytes read as ISO-8859-1 */
static void latin1_to_utf8(struct vr_buf *out, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_putc(out, (unsigned char)in[i]);
}

/* iconv_to_utf8 - append in converted from charset, U+FFFD for each invalid byte; -1 (and
 * nothing appended) when iconv does not know the charset */
static int iconv_to_utf8(struct vr_buf *out, const char *charset, const char *in, size_t n)
{
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	char *inp = (char *)in;
	size_t inleft = n;
	char tmp[4096];

	if (cd == (iconv_t)-1)
		return -1;
	while (inleft > 0) {
		char *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, &inp, &inleft, &op, &oleft);
		int e = errno;

		buf_put(out, tmp, (size_t)(op - tmp));
		if (r != (size_t)-1 || e == E2BIG)
			continue;
		/* EILSEQ, or EINVAL: a sequence cut off by the end of the input */
		buf_putc(out, 0xfffd);
		if (e != EILSEQ && e != EINVAL)
			break;
		inp++;
		inleft--;
	}
	{
		/* flush the shift state of stateful charsets (ISO-2022-JP) */
		char *op = tmp;
		size_t oleft = sizeof(tmp);

		iconv(cd, NULL, NULL, &op, &oleft);
		buf_put(out, tmp, (size_t)(op - tmp));
	}
	g_mime_iconv_close(cd);
	return 0;
}

/* is_utf8_name - charset names that mean "UTF-8 or its ASCII subset" */
static bool is_utf8_name(const char *cs)
{
	static const char *const names[] = {"utf-8", "utf8",	  "us-ascii",
					    "ascii", "x-unknown", "unknown-8bit"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (g_ascii_strcasecmp(cs, names[i]) == 0)
			return true;
	return false;
}

/* to_utf8 - append in (a body in charset, may be NULL) as UTF-8: through iconv for a known
 * charset; else as is when valid UTF-8 (or declared so: clean_text replaces what is broken);
 * else as ISO-8859-1 */
static void to_utf8(struct vr_buf *out, const char *charset, const char *in, size_t n)
{
	if (charset && *charset && !is_utf8_name(charset) &&
	    iconv_to_utf8(out, charset, in, n) == 0)
		return;
	if (utf8_valid(in, n) || (charset && g_ascii_strncasecmp(charset, "utf", 3) == 0))
		buf_put(out, in, n);
	else
		latin1_to_utf8(out, in, n);
}

/* ---- HTML to text ---- */

struct html_out {
	struct vr_buf b;
	size_t cap;	   /* stop once b.len exceeds it */
	bool full;	   /* b.len exceeded cap: the rest of the input is not read */
	int nl;		   /* newlines ending b (at most 2: runs of blank lines collapse) */
	bool space;	   /* a space is due before the next visible character */
	int pre;	   /* inside <pre>: whitespace kept */
	char *href;	   /* target of the open <a>, shown after its text; owned */
	size_t link_start; /* b.len when that <a> opened */
	bool head_done;	   /* a <head> was seen: later ones are not skipped (that is quadratic) */
};

/* html_emit - emit visible text (UTF-8, no whitespace run), a space first when one is due */
static void html_emit(struct html_out *o, const char *s, size_t n)
{
	if (o->space && o->b.len > 0 && o->nl == 0)
		buf_put(&o->b, " ", 1);
	o->space = false;
	buf_put(&o->b, s, n);
	o->nl = 0;
	if (o->b.len > o->cap)
		o->full = true;
}

/* html_putc - emit visible character c */
static void html_putc(struct html_out *o, int32_t c)
{
	char u[4];

	html_emit(o, u, utf8_encode(c, u));
}

/* html_break - end the line; lines = 2 asks for a blank line (paragraphs, headings) */
static void html_break(struct html_out *o, int lines)
{
	o->space = false;
	if (o->b.len == 0)
		return;
	while (o->nl < lines) {
		buf_put(&o->b, "\n", 1);
		o->nl++;
	}
}

/* html_newline - one line break (<br>, a newline in <pre>): at most one blank line in a row */
static void html_newline(struct html_out *o)
{
	o->space = false;
	if (o->b.len == 0 || o->nl >= 2)
		return;
	buf_put(&o->b, "\n", 1);
	o->nl++;
}

/* html_char - one character of text: whitespace collapses outside <pre>, zero-width and soft
 * hyphen characters (preheader padding) vanish */
static void html_char(struct html_out *o, int32_t c)
{
	if (c == 0xad || (c >= 0x200b && c <= 0x200f) || c == 0x2060 || c == 0xfeff || c == 0x34f)
		return;
	if (o->pre && c == '\n') {
		html_newline(o);
		return;
	}
	if (o->pre && (c == ' ' || c == '\t')) {
		if (o->b.len > 0) {
			buf_putc(&o->b, c);
			o->nl = 0;
			o->full = o->b.len > o->cap;
		}
		return;
	}
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0xa0) {
		o->space = true;
		return;
	}
	html_putc(o, c);
}

/* entity table: the named references mail actually uses */
static const struct {
	const char *name;
	int32_t c;
} entities[] = {
    {"amp", '&'},	{"lt", '<'},	    {"gt", '>'},	{"quot", '"'},
    {"apos", '\''},	{"nbsp", 0xa0},	    {"eacute", 0xe9},	{"Eacute", 0xc9},
    {"egrave", 0xe8},	{"Egrave", 0xc8},   {"ecirc", 0xea},	{"Ecirc", 0xca},
    {"euml", 0xeb},	{"agrave", 0xe0},   {"Agrave", 0xc0},	{"aacute", 0xe1},
    {"Aacute", 0xc1},	{"acirc", 0xe2},    {"Acirc", 0xc2},	{"auml", 0xe4},
    {"Auml", 0xc4},	{"atilde", 0xe3},   {"aring", 0xe5},	{"Aring", 0xc5},
    {"aelig", 0xe6},	{"AElig", 0xc6},    {"ccedil", 0xe7},	{"Ccedil", 0xc7},
    {"iacute", 0xed},	{"igrave", 0xec},   {"icirc", 0xee},	{"iuml", 0xef},
    {"oacute", 0xf3},	{"ograve", 0xf2},   {"ocirc", 0xf4},	{"ouml", 0xf6},
    {"Ouml", 0xd6},	{"otilde", 0xf5},   {"oslash", 0xf8},	{"Oslash", 0xd8},
    {"uacute", 0xfa},	{"ugrave", 0xf9},   {"ucirc", 0xfb},	{"uuml", 0xfc},
    {"Uuml", 0xdc},	{"ntilde", 0xf1},   {"Ntilde", 0xd1},	{"szlig", 0xdf},
    {"yacute", 0xfd},	{"yuml", 0xff},	    {"oelig", 0x153},	{"OElig", 0x152},
    {"scaron", 0x161},	{"Scaron", 0x160},  {"euro", 0x20ac},	{"pound", 0xa3},
    {"yen", 0xa5},	{"cent", 0xa2},	    {"copy", 0xa9},	{"reg", 0xae},
    {"trade", 0x2122},	{"hellip", 0x2026}, {"mdash", 0x2014},	{"ndash", 0x2013},
    {"lsquo", 0x2018},	{"rsquo", 0x2019},  {"sbquo", 0x201a},	{"ldquo", 0x201c},
    {"rdquo", 0x201d},	{"bdquo", 0x201e},  {"laquo", 0xab},	{"raquo", 0xbb},
    {"lsaquo", 0x2039}, {"rsaquo", 0x203a}, {"bull", 0x2022},	{"middot", 0xb7},
    {"deg", 0xb0},	{"plusmn", 0xb1},   {"times", 0xd7},	{"divide", 0xf7},
    {"para", 0xb6},	{"sect", 0xa7},	    {"iexcl", 0xa1},	{"iquest", 0xbf},
    {"shy", 0xad},	{"zwnj", 0x200c},   {"zwj", 0x200d},	{"lrm", 0x200e},
    {"rlm", 0x200f},	{"ensp", 0x2002},   {"emsp", 0x2003},	{"thinsp", 0x2009},
    {"dagger", 0x2020}, {"Dagger", 0x2021}, {"permil", 0x2030}, {"frac12", 0xbd},
    {"frac14", 0xbc},	{"frac34", 0xbe},   {"sup1", 0xb9},	{"sup2", 0xb2},
    {"sup3", 0xb3},	{"micro", 0xb5},    {"ordf", 0xaa},	{"ordm", 0xba},
    {"not", 0xac},	{"macr", 0xaf},	    {"acute", 0xb4},	{"cedil", 0xb8},
    {"uml", 0xa8},	{"curren", 0xa4},   {"brvbar", 0xa6},	{"hearts", 0x2665},
    {"larr", 0x2190},	{"rarr", 0x2192},   {"uarr", 0x2191},	{"darr", 0x2193},
    {"check", 0x2713},	{"star", 0x2606},
};

/* numeric references 0x80..0x9f mean windows-1252 (HTML's rule); 0: U+FFFD */
static const uint16_t cp1252[32] = {
    0x20ac, 0,	    0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,	    0x017d, 0,	    0,	    0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,	    0x017e, 0x0178,
};

/* html_entity - decode the reference at s ('&' first, n bytes left): its code point and
 * length, or -1 when s is no reference we know (the '&' is then text) */
static int32_t html_entity(const char *s, size_t n, size_t *len)
{
	size_t i = 1;

	if (i < n && s[i] == '#') {
		bool hex = i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');
		int32_t c = 0;
		size_t digits = 0;

		i += hex ? 2 : 1;
		for (; i < n && g_ascii_isxdigit(s[i]) && (hex || g_ascii_isdigit(s[i])); i++) {
			if (c <= 0x10ffff) /* stop growing: anything larger is invalid */
				c = c * (hex ? 16 : 10) +
				    (hex ? g_ascii_xdigit_value(s[i]) : s[i] - '0');
			digits++;
		}
		if (digits == 0)
			return -1;
		if (i < n && s[i] == ';')
			i++;
		*len = i;
		if (c >= 0x80 && c <= 0x9f)
			c = cp1252[c - 0x80];
		if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			c = 0xfffd;
		return c;
	}
	while (i < n && i <= 8 && g_ascii_isalnum(s[i]))
		i++;
	if (i >= n || s[i] != ';' || i == 1)
		return -1;
	for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
		if (strlen(entities[k].name) == i - 1 &&
		    memcmp(entities[k].name, s + 1, i - 1) == 0) {
			*len = i + 1;
			return entities[k].c;
		}
	}
	return -1;
}

/* find_ci - first case-insensitive occurrence of needle (its first byte no letter) in
 * s[0..n): an index, or n */
static size_t find_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++) {
		const char *p = memchr(s + i, needle[0], n - i - m + 1);

		if (p == NULL)
			break;
		i = (size_t)(p - s);
		if (g_ascii_strncasecmp(p, needle, m) == 0)
			return i;
	}
	return n;
}

/* past_gt - the index after the first '>' of s[from..n), or n */
static size_t past_gt(const char *s, size_t from, size_t n)
{
	const char *gt = from < n ? memchr(s + from, '>', n - from) : NULL;

	return gt ? (size_t)(gt - s) + 1 : n;
}

/* html_attr_value - attribute value decoded (entities) and cleaned to one line; the caller frees it
 */
static char *html_attr_value(const char *v, size_t n)
{
	struct vr_buf b = {0};
	char *r;

	for (size_t i = 0; i < n && b.len < URL_MAX;) {
		size_t len;
		int32_t c = v[i] == '&' ? html_entity(v + i, n - i, &len) : -1;

		if (c >= 0) {
			buf_putc(&b, c);
			i += len;
		} else {
			buf_put(&b, v + i, 1);
			i++;
		}
	}
	r = clean_dup(b.data ? b.data : "", b.len, 0, URL_MAX);
	vr_buf_free(&b);
	return r;
}

/* html_tag - parse the tag at s[0] == '<' (n bytes left): its length up to and including '>'
 * (n when it never closes), its lowercase name in name[32] ("" for none), whether it closes
 * (</x>), and for an <a> its href (new string or NULL) */
static size_t html_tag(const char *s, size_t n, char name[32], bool *closing, char **href)
{
	size_t i = 1, k = 0;

	name[0] = '\0';
	*closing = false;
	*href = NULL;
	if (i < n && s[i] == '/') {
		*closing = true;
		i++;
	}
	while (i < n && (g_ascii_isalnum(s[i]) || s[i] == ':' || s[i] == '-')) {
		if (k < 31)
			name[k++] = g_ascii_tolower(s[i]);
		i++;
	}
	name[k] = '\0';
	while (i < n && s[i] != '>') {
		size_t an = i, alen, vs = 0, vlen = 0;

		if (g_ascii_isspace(s[i]) || s[i] == '/') {
			i++;
			continue;
		}
		while (i < n && !g_ascii_isspace(s[i]) && s[i] != '=' && s[i] != '>')
			i++;
		alen = i - an;
		while (i < n && g_ascii_isspace(s[i]))
			i++;
		if (i < n && s[i] == '=') {
			i++;
			while (i < n && g_ascii_isspace(s[i]))
				i++;
			if (i < n && (s[i] == '"' || s[i] == '\'')) {
				const char *q = memchr(s + i + 1, s[i], n - i - 1);

				if (q == NULL)
					return n;
				vs = i + 1;
				vlen = (size_t)(q - s) - vs;
				i = (size_t)(q - s) + 1;
			} else {
				vs = i;
				while (i < n && !g_ascii_isspace(s[i]) && s[i] != '>')
					i++;
				vlen = i - vs;
			}
		}
		if (strcmp(name, "a") == 0 && !*closing && alen == 4 &&
		    g_ascii_strncasecmp(s + an, "href", 4) == 0 && *href == NULL && vs)
			*href = html_attr_value(s + vs, vlen);
	}
	if (i >= n) {
		free(*href);
		*href = NULL;
		return n;
	}
	return i + 1;
}

/* tag_in - whether name is one of the NULL-terminated list */
static bool tag_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

/* link_shown - whether an <a href> target is worth showing: web and mail schemes only, and
 * not when the link text already is the target */
static bool link_shown(const struct html_out *o, const char *href)
{
	static const char *const schemes[] = {"http:", "https:", "mailto:", "ftp:"};
	const char *text = o->b.data ? o->b.data + o->link_start : "";
	size_t tlen = o->b.data ? o->b.len - o->link_start : 0;
	bool ok = false;

	while (tlen > 0 && (*text == ' ' || *text == '\n')) {
		text++;
		tlen--;
	}

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (g_ascii_strncasecmp(href, schemes[i], strlen(schemes[i])) == 0)
			ok = true;
	if (!ok)
		return false;
	if (tlen == strlen(href) && memcmp(text, href, tlen) == 0)
		return false;
	if (g_ascii_strncasecmp(href, "mailto:", 7) == 0 && tlen == strlen(href) - 7 &&
	    memcmp(text, href + 7, tlen) == 0)
		return false;
	return true;
}

/* html_link_end - </a>: show the target after the link text */
static void html_link_end(struct html_out *o)
{
	if (o->href && link_shown(o, o->href)) {
		o->space = true;
		html_emit(o, "[link: ", 7);
		html_emit(o, o->href, strlen(o->href)); /* one line, valid UTF-8: clean_dup()ed */
		html_emit(o, "]", 1);
	}
	free(o->href);
	o->href = NULL;
}

/* html_element - act on a parsed tag (taking href); returns how far to skip after it
 * (raw-text elements such as <script> swallow their content; so does the first <head>) */
static size_t html_element(struct html_out *o, const char *name, bool closing, char *href,
			   const char *rest, size_t n)
{
	static const char *const raw[] = {"script", "style", "title", "template", NULL};
	static const char *const line[] = {"div",    "li",	"tr",	   "table",   "ul",
					   "ol",     "dl",	"dt",	   "dd",      "blockquote",
					   "hr",     "center",	"section", "article", "header",
					   "footer", "address", "form",	   NULL};
	static const char *const para[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6", NULL};

	if (!closing && tag_in(name, raw)) {
		char end[16];
		size_t at;

		snprintf(end, sizeof(end), "</%s", name);
		at = find_ci(rest, n, end);
		return past_gt(rest, at, n); /* unclosed: all the rest is script */
	}
	if (!closing && strcmp(name, "head") == 0 && !o->head_done) {
		size_t end = find_ci(rest, n, "</head"), body;

		o->head_done = true;
		if (end == n)
			return 0; /* no end: keep what follows, it is likely the body */
		if ((body = find_ci(rest, end, "<body")) < end)
			return body; /* the body began inside the head */
		return past_gt(rest, end, n);
	}
	if (strcmp(name, "br") == 0)
		html_newline(o);
	else if (tag_in(name, para))
		html_break(o, 2);
	else if (tag_in(name, line))
		html_break(o, 1);
	else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
		o->space = true;
	else if (strcmp(name, "pre") == 0) {
		html_break(o, 1);
		if (closing && o->pre > 0)
			o->pre--;
		else if (!closing)
			o->pre++;
	} else if (strcmp(name, "a") == 0) {
		if (closing) {
			html_link_end(o);
		} else {
			free(o->href);
			o->href = href;
			href = NULL;
			o->link_start = o->b.len;
		}
	}
	free(href);
	return 0;
}

/* html_to_text - append the text of html (valid UTF-8) to out, at most about cap bytes;
 * true when the input was not read to its end for lack of room */
static bool html_to_text(struct vr_buf *out, const char *s, size_t n, size_t cap)
{
	struct html_out o = {.b = *out, .cap = cap};
	size_t i = 0;

	while (i < n && !o.full) {
		size_t len;
		int32_t c;

		if (s[i] == '<' && i + 1 < n) {
			char next = s[i + 1];

			if (next == '!' && n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
				size_t end = i + 4 + find_ci(s + i + 4, n - i - 4, "-->");

				i = end >= n ? n : end + 3;
				continue;
			}
			if (next == '!' || next == '?') {
				i = past_gt(s, i, n);
				continue;
			}
			if (next == '/' || g_ascii_isalpha(next)) {
				char name[32], *href;
				bool closing;
				i += html_tag(s + i, n - i, name, &closing, &href);
				i += html_element(&o, name, closing, href, s + i, n - i);
				continue;
			}
		}
		if (s[i] == '&' && (c = html_entity(s + i, n - i, &len)) >= 0) {
			html_char(&o, c);
			i += len;
			continue;
		}
		c = utf8_next((const unsigned char *)s + i, n - i, &len);
		html_char(&o, c < 0 ? 0xfffd : c);
		i += len;
	}
	free(o.href);
	while (o.b.len > 0 && o.b.data[o.b.len - 1] == '\n')
		o.b.data[--o.b.len] = '\0';
	*out = o.b;
	return o.full && i < n;
}

/* ---- preview ---- */

/* part_bytes - the decoded (transfer encoding undone) content of part into out */
static void part_bytes(GMimePart *part, struct vr_buf *out)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (content == NULL)
		return;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (ba && ba->len)
		buf_put(out, ba->data, ba->len);
	g_object_unref(mem);
}

/* is_attachment_disposition - Content-Disposition says attachment */
static bool is_attachment_disposition(GMimeObject *obj)
{
	const char *d = g_mime_object_get_disposition(obj);

	return d && g_ascii_strcasecmp(d, "attachment") == 0;
}

/* object_filename - the filename parameter of obj (disposition, else content type "name") */
static const char *object_filename(GMimeObject *obj)
{
	const char *name = g_mime_object_get_content_disposition_parameter(obj, "filename");

	return name ? name : g_mime_object_get_content_type_parameter(obj, "name");
}

/* is_body_text - a text/plain or text/html leaf that is body, not an attached file */
static bool is_body_text(GMimeObject *obj, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return GMIME_IS_PART(obj) && ct && g_mime_content_type_is_type(ct, "text", subtype) &&
	       !is_attachment_disposition(obj) && object_filename(obj) == NULL;
}

/* find_body_text - first body text/<subtype> part of the main body (depth first; attached
 * messages are not the main body) */
static GMimePart *find_body_text(GMimeObject *obj, const char *subtype, int depth)
{
	if (obj == NULL || depth > MAX_DEPTH)
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		int count = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < count; i++) {
			GMimePart *p = find_body_text(
			    g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), subtype, depth + 1);

			if (p)
				return p;
		}
		return NULL;
	}
	return is_body_text(obj, subtype) ? GMIME_PART(obj) : NULL;
}

/* preview_text - fill text from bytes (in charset; html when is_html); true when truncated */
static bool preview_text(struct vr_buf *text, const char *charset, const char *bytes, size_t n,
			 bool is_html, size_t preview_max)
{
	struct vr_buf utf = {0};
	bool cut = false;

	while (n > 0 && (*bytes == '\n' || *bytes == '\r')) { /* leading blank lines */
		bytes++;
		n--;
	}
	to_utf8(&utf, charset, bytes, n);
	if (is_html) {
		struct vr_buf clean = {0}, plain = {0};
		size_t cap = preview_max < NOLIMIT - 16 ? preview_max + 16 : preview_max;

		clean_text(&clean, utf.data ? utf.data : "", utf.len, CLEAN_MULTILINE, NOLIMIT,
			   NULL);
		cut = html_to_text(&plain, clean.data ? clean.data : "", clean.len, cap);
		clean_text(text, plain.data ? plain.data : "", plain.len, CLEAN_MULTILINE,
			   preview_max, &cut);
		vr_buf_free(&clean);
		vr_buf_free(&plain);
	} else {
		clean_text(text, utf.data ? utf.data : "", utf.len, CLEAN_MULTILINE, preview_max,
			   &cut);
	}
	vr_buf_free(&utf);
	while (text->len > 0 && strchr(" \t\n", text->data[text->len - 1]))
		text->data[--text->len] = '\0';
	return cut;
}

/* build_preview - the "preview" object: the message's first body text/plain, else its first
 * text/html, else the prologue of a multipart without parts; raw (the whole file) read as
 * text when GMime found no message at all */
static json_t *build_preview(GMimeMessage *msg, const char *raw, size_t raw_len, size_t preview_max)
{
	struct vr_buf text = {0}, bytes = {0};
	const char *source = "none";
	bool truncated = false;
	json_t *o = json_object();

	VR_CHECK_ALLOC(o);
	if (msg) {
		GMimeObject *body = g_mime_message_get_mime_part(msg);
		GMimePart *part = find_body_text(body, "plain", 0);
		bool is_html = false;

		if (part == NULL) {
			part = find_body_text(body, "html", 0);
			is_html = part != NULL;
		}
		if (part) {
			const char *cs =
			    g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");

			part_bytes(part, &bytes);
			truncated = preview_text(&text, cs, bytes.data ? bytes.data : "", bytes.len,
						 is_html, preview_max);
			source = is_html ? "text/html" : "text/plain";
		} else if (GMIME_IS_MULTIPART(body) &&
			   g_mime_multipart_get_count(GMIME_MULTIPART(body)) == 0) {
			/* boundary missing or never matched: GMime put all the text here */
			const char *pro = g_mime_multipart_get_prologue(GMIME_MULTIPART(body));

			if (pro && *pro) {
				truncated =
				    preview_text(&text, NULL, pro, strlen(pro), false, preview_max);
				source = "text/plain";
			}
		}
	} else if (raw_len > 0) {
		truncated = preview_text(&text, NULL, raw, raw_len, false, preview_max);
		source = "text/plain";
	}
	jset(o, "text", json_stringn(text.data ? text.data : "", text.len));
	jset(o, "truncated", json_boolean(truncated));
	jset(o, "source", json_string(source));
	vr_buf_free(&text);
	vr_buf_free(&bytes);
	return o;
}

/* ---- attachments ---- */

/* decoded_size - bytes of obj's content once decoded (a message part: the whole message) */
static json_int_t decoded_size(GMimeObject *obj)
{
	GMimeStream *null = g_mime_stream_null_new();
	json_int_t size = 0;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m)
			g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, null);
	} else {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));

		if (content)
			g_mime_data_wrapper_write_to_stream(content, null);
	}
	size = (json_int_t)GMIME_STREAM_NULL(null)->written;
	g_object_unref(null);
	return size;
}

/* add_attachment - append obj's entry to arr */
static void add_attachment(json_t *arr, GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	json_t *a = json_object();

	VR_CHECK_ALLOC(a);
	jset(a, "filename", jclean(object_filename(obj), NAME_MAX_BYTES));
	if (type) {
		char *lower = g_ascii_strdown(type, -1);

		jset(a, "content_type", jclean(lower, NAME_MAX_BYTES));
		g_free(lower);
	} else {
		jset(a, "content_type", json_string("application/octet-stream"));
	}
	jset(a, "size", json_integer(decoded_size(obj)));
	jset(a, "disposition",
	     json_string(is_attachment_disposition(obj) ? "attachment" : "inline"));
	jpush(arr, a);
	g_free(type);
}

/* walk_attachments - list the leaves of obj that are not body text: files, images, attached
 * messages, and (within MAX_DEPTH) what those messages carry */
static void walk_attachments(GMimeObject *obj, int depth, json_t *arr)
{
	if (obj == NULL || depth > MAX_DEPTH || json_array_size(arr) >= MAX_ATTACHMENTS)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int count = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < count; i++)
			walk_attachments(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
					 depth + 1, arr);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		add_attachment(arr, obj);
		if (m)
			walk_attachments(g_mime_message_get_mime_part(m), depth + 1, arr);
		return;
	}
	if (GMIME_IS_PART(obj) && !is_body_text(obj, "plain") && !is_body_text(obj, "html"))
		add_attachment(arr, obj);
}

/* ---- headers ---- */

/* header_value - the decoded value of the first header called name, or NULL */
static const char *header_value(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, name) : NULL;

	return h ? g_mime_header_get_value(h) : NULL;
}

/* address_list - an address list as one display string, or NULL when empty */
static char *address_list(InternetAddressList *list)
{
	if (list == NULL || internet_address_list_length(list) == 0)
		return NULL;
	return internet_address_list_to_string(list, NULL, FALSE);
}

/* first_mailbox - the first mailbox of list, looking into groups */
static InternetAddressMailbox *first_mailbox(InternetAddressList *list, int depth)
{
	int n = list && depth < 4 ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			return INTERNET_ADDRESS_MAILBOX(ia);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressMailbox *mb = first_mailbox(
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
			    depth + 1);

			if (mb)
				return mb;
		}
	}
	return NULL;
}

/* jaddress_list - a display string per address of list (at most MAX_ADDRESSES) */
static json_t *jaddress_list(InternetAddressList *list)
{
	json_t *arr = json_array();
	int n = list ? internet_address_list_length(list) : 0;

	VR_CHECK_ALLOC(arr);
	for (int i = 0; i < n && i < MAX_ADDRESSES; i++) {
		char *s = internet_address_to_string(internet_address_list_get_address(list, i),
						     NULL, FALSE);

		if (s && *s)
			jpush(arr, jclean(s, VALUE_MAX));
		g_free(s);
	}
	return arr;
}

/* jaddress - obj[key] = list as one string, else the header as written, else null */
static void jaddress(json_t *obj, const char *key, InternetAddressList *list, GMimeMessage *msg,
		     const char *header)
{
	char *s = address_list(list);

	jset(obj, key, jclean(s ? s : header_value(msg, header), VALUE_MAX));
	g_free(s);
}

/* jdate - RFC 3339 UTC when the Date header parses (years 1970..9999), else as written */
static json_t *jdate(GMimeMessage *msg)
{
	GDateTime *dt = g_mime_message_get_date(msg);

	if (dt) {
		gint64 t = g_date_time_to_unix(dt);
		char buf[VR_TIME_LEN];

		if (t >= 0 && t <= INT64_C(253402300799)) {
			vr_time_format(t, buf);
			return json_string(buf);
		}
	}
	return jclean(header_value(msg, "Date"), VALUE_MAX);
}

/* build_headers - the "headers" object (every field null or empty without a message) */
static json_t *build_headers(GMimeMessage *msg)
{
	json_t *h = json_object();
	InternetAddressList *from;
	InternetAddressMailbox *mb;
	const char *mid;

	VR_CHECK_ALLOC(h);
	if (msg == NULL) {
		static const char *const nulls[] = {
		    "subject", "from",	     "from_address",	 "reply_to",
		    "date",    "message_id", "list_unsubscribe", "list_unsubscribe_post",
		    "list_id"};

		for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
			jset(h, nulls[i], json_null());
		jset(h, "to", json_array());
		jset(h, "cc", json_array());
		return h;
	}
	from = g_mime_message_get_from(msg);
	mb = first_mailbox(from, 0);
	jset(h, "subject", jclean(g_mime_message_get_subject(msg), VALUE_MAX));
	jaddress(h, "from", from, msg, "From");
	jset(h, "from_address",
	     jclean(mb ? internet_address_mailbox_get_addr(mb) : NULL, VALUE_MAX));
	jset(h, "to", jaddress_list(g_mime_message_get_to(msg)));
	jset(h, "cc", jaddress_list(g_mime_message_get_cc(msg)));
	jaddress(h, "reply_to", g_mime_message_get_reply_to(msg), msg, "Reply-To");
	jset(h, "date", jdate(msg));
	mid = g_mime_message_get_message_id(msg);
	jset(h, "message_id",
	     jclean(mid && *mid ? mid : header_value(msg, "Message-ID"), VALUE_MAX));
	jset(h, "list_unsubscribe", jclean(header_value(msg, "List-Unsubscribe"), VALUE_MAX));
	jset(h, "list_unsubscribe_post",
	     jclean(header_value(msg, "List-Unsubscribe-Post"), VALUE_MAX));
	jset(h, "list_id", jclean(header_value(msg, "List-Id"), VALUE_MAX));
	return h;
}

/* header_cmp - order headers as they were in the file */
static gint header_cmp(gconstpointer a, gconstpointer b)
{
	gint64 x = g_mime_header_get_offset(*(GMimeHeader *const *)a);
	gint64 y = g_mime_header_get_offset(*(GMimeHeader *const *)b);

	return x < y ? -1 : x > y;
}

/* collect_headers - append hl's headers to all */
static void collect_headers(GPtrArray *all, GMimeHeaderList *hl)
{
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < n; i++)
		g_ptr_array_add(all, g_mime_header_list_get_header_at(hl, i));
}

/* build_all_headers - the top-level headers in file order: GMime keeps the message's and the
 * Content-* ones (on the body part) apart; at most MAX_HEADERS */
static json_t *build_all_headers(GMimeMessage *msg)
{
	json_t *arr = json_array();
	GPtrArray *all;

	VR_CHECK_ALLOC(arr);
	if (msg == NULL)
		return arr;
	all = g_ptr_array_new();
	collect_headers(all, g_mime_object_get_header_list(GMIME_OBJECT(msg)));
	if (g_mime_message_get_mime_part(msg))
		collect_headers(all,
				g_mime_object_get_header_list(g_mime_message_get_mime_part(msg)));
	g_ptr_array_sort(all, header_cmp);
	for (guint i = 0; i < all->len && i < MAX_HEADERS; i++) {
		GMimeHeader *h = g_ptr_array_index(all, i);
		const char *value = g_mime_header_get_value(h);
		json_t *e = json_object();

		VR_CHECK_ALLOC(e);
		jset(e, "name", jclean(g_mime_header_get_name(h), NAME_MAX_BYTES));
		jset(e, "value", jclean(value ? value : "", VALUE_MAX));
		jpush(arr, e);
	}
	g_ptr_array_free(all, TRUE);
	return arr;
}

/* ---- entry points ---- */

/* read_file - read at most limit bytes of path into a new GByteArray, or NULL with err */
static GByteArray *read_file(const char *path, size_t limit, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	GByteArray *ba;
	struct stat st;

	if (fd < 0) {
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { /* no FIFO, device or directory */
		snprintf(err, errsz, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	ba = g_byte_array_new();
	while (ba->len < limit) {
		size_t want = limit - ba->len < READ_CHUNK ? limit - ba->len : READ_CHUNK;
		guint at = ba->len;
		ssize_t r;

		g_byte_array_set_size(ba, at + (guint)want);
		r = read(fd, ba->data + at, want);
		if (r < 0 && errno == EINTR) {
			g_byte_array_set_size(ba, at);
			continue;
		}
		if (r < 0) {
			snprintf(err, errsz, "read %s: %s", path, strerror(errno));
			g_byte_array_free(ba, TRUE);
			close(fd);
			return NULL;
		}
		g_byte_array_set_size(ba, at + (guint)r);
		if (r == 0)
			break;
	}
	close(fd);
	return ba;
}

/* parser_options - loose parsing; raw 8-bit headers: UTF-8 when valid, else ISO-8859-1 */
static GMimeParserOptions *parser_options(void)
{
	static const char *fallback[] = {"UTF-8", "ISO-8859-1", NULL};
	GMimeParserOptions *opt = g_mime_parser_options_new();

	g_mime_parser_options_set_address_compliance_mode(opt, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opt, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_rfc2047_compliance_mode(opt, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(opt, TRUE);
	g_mime_parser_options_set_fallback_charsets(opt, fallback);
	return opt;
}

/* mime_view_init - g_mime_init() once per process */
void mime_view_init(void)
{
	g_mime_init();
}

/* mime_view_shutdown - g_mime_shutdown() */
void mime_view_shutdown(void)
{
	g_mime_shutdown();
}

/* mime_view_load - the display object of the message file at path */
json_t *mime_view_load(const char *path, size_t limit, size_t preview_max, char *err, size_t errsz)
{
	char dummy[1];
	GByteArray *ba;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeParserOptions *opt;
	GMimeMessage *msg;
	json_t *view, *attachments;

	if (err == NULL || errsz == 0) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	err[0] = '\0';
	if (limit > G_MAXUINT - READ_CHUNK)
		limit = G_MAXUINT - READ_CHUNK; /* a GByteArray holds at most G_MAXUINT bytes */
	if ((ba = read_file(path, limit, err, errsz)) == NULL)
		return NULL;
	/* the stream owns ba from here; parts keep substreams of it, so it outlives msg */
	stream = g_mime_stream_mem_new_with_byte_array(ba);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	opt = parser_options();
	msg = ba->len ? g_mime_parser_construct_message(parser, opt) : NULL;

	view = json_object();
	VR_CHECK_ALLOC(view);
	attachments = json_array();
	VR_CHECK_ALLOC(attachments);
	if (msg)
		walk_attachments(g_mime_message_get_mime_part(msg), 0, attachments);
	jset(view, "headers", build_headers(msg));
	jset(view, "all_headers", build_all_headers(msg));
	jset(view, "attachments", attachments);
	jset(view, "preview", build_preview(msg, (const char *)ba->data, ba->len, preview_max));

	if (msg)
		g_object_unref(msg);
	g_mime_parser_options_free(opt);
	g_object_unref(parser);
	g_object_unref(stream);
	return view;
}
