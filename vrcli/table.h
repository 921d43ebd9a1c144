/*
 * table.h - aligned text tables for people.
 *
 * Owns: struct table (a header row and data rows of text cells) and the printer that
 * computes each column's width and pads with spaces, two spaces between columns, no
 * trailing blanks. Cells are copied and scrubbed of control characters when added, since
 * they often come from the server; a NULL or empty cell prints as "-", and table_blank
 * as nothing (a continuation row, such as a message's recipients under the message).
 *
 * Ownership: table_new() returns a table the caller releases with table_free().
 */
#ifndef VRCLI_TABLE_H
#define VRCLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

/* table_blank - a cell (compared by address) that prints as nothing rather than "-" */
extern const char table_blank[];

/* table_new - a table of NCOLS columns; HEADERS (NCOLS strings) or NULL for no header */
struct table *table_new(size_t ncols, const char *const *headers);

/* table_add - append a row of NCOLS cells (copied) */
void table_add(struct table *t, const char *const *cells);

/* table_rows - number of data rows */
size_t table_rows(const struct table *t);

/* table_print - write the table to F */
void table_print(const struct table *t, FILE *f);

/* table_free - release T (NULL is fine) */
void table_free(struct table *t);

#endif
