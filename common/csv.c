/* csv.c - RFC 4180 reading and writing (see csv.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "log.h"

/* csv_reader_init - read from data[0..len) */
void csv_reader_init(struct csv_reader *r, const char *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = data;
	r->end = data + len;
	r->line = 0;
}

/* csv_reader_free - release the scratch space */
void csv_reader_free(struct csv_reader *r)
{
	free(r->scratch);
	r->scratch = NULL;
	r->cap = 0;
}

/* csv_next - parse one record */
int csv_next(struct csv_reader *r, const char *fields[CSV_MAX_FIELDS])
{
	size_t need = (size_t)(r->end - r->p) + 1, o = 0;
	int n = 0;
	char *start;

	if (r->p >= r->end)
		return 0;
	if (need > r->cap) {
		r->scratch = realloc(r->scratch, need);
		VR_CHECK_ALLOC(r->scratch);
		r->cap = need;
	}
	r->line++;
	start = r->scratch;
	for (;;) {
		if (n == CSV_MAX_FIELDS)
			return -1;
		fields[n++] = start + o;
		if (r->p < r->end && *r->p == '"') {
			r->p++;
			for (;;) {
				if (r->p >= r->end)
					return -1; /* unterminated quote */
				if (*r->p == '"') {
					if (r->p + 1 < r->end && r->p[1] == '"') {
						start[o++] = '"';
						r->p += 2;
						continue;
					}
					r->p++;
					break;
				}
				if (*r->p == '\n')
					r->line++;
				start[o++] = *r->p++;
			}
		} else {
			while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r')
				start[o++] = *r->p++;
		}
		start[o++] = '\0';
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '\r')
			r->p++;
		if (r->p < r->end && *r->p == '\n')
			r->p++;
		else if (r->p < r->end)
			return -1; /* text after a closing quote */
		return n;
	}
}

/* csv_put - one field, quoted when it holds a separator, a quote or a line break; a
 * leading =, +, - or @ is prefixed with ' so that spreadsheets do not run it */
void csv_put(struct vr_buf *b, const char *field, char sep)
{
	const char *s = field ? field : "";
	bool quote = strpbrk(s, ",\"\r\n") != NULL;

	if (quote)
		vr_buf_append(b, "\"", 1, SIZE_MAX / 2);
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
		vr_buf_append(b, "'", 1, SIZE_MAX / 2);
	for (; *s; s++) {
		if (*s == '"')
			vr_buf_append(b, "\"", 1, SIZE_MAX / 2);
		vr_buf_append(b, s, 1, SIZE_MAX / 2);
	}
	if (quote)
		vr_buf_append(b, "\"", 1, SIZE_MAX / 2);
	vr_buf_append(b, &sep, 1, SIZE_MAX / 2);
}
