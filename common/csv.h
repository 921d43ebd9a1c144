/* csv.h - RFC 4180 CSV: reading one record at a time, and writing fields.
 *
 * csv_next() reads the next record from a buffer into fields (pointers into a scratch
 * copy the reader owns until the next call or csv_reader_free); quoted fields may hold
 * commas, quotes ("") and line breaks. Pure; tests/unit/test_csv.c.
 */
#ifndef VR_CSV_H
#define VR_CSV_H

#include <stddef.h>

#include "buf.h"

#define CSV_MAX_FIELDS 16

struct csv_reader {
	const char *p, *end;
	char *scratch;
	size_t cap;
	int line; /* line number where the last record started (1-based) */
};

/* csv_reader_init - read from data[0..len) */
void csv_reader_init(struct csv_reader *r, const char *data, size_t len);
/* csv_next - the next record: number of fields (0 at the end), -1 on a malformed record
 * (an unterminated quote or more than CSV_MAX_FIELDS fields) */
int csv_next(struct csv_reader *r, const char *fields[CSV_MAX_FIELDS]);
/* csv_reader_free - release the scratch space */
void csv_reader_free(struct csv_reader *r);
/* csv_put - append one field to b, quoted when needed, then sep (',' or '\n') */
void csv_put(struct vr_buf *b, const char *field, char sep);

#endif
