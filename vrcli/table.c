/*
 * table.c - aligned text tables: column widths from the widest cell, header first.
 *
 * Entry points: see table.h. Widths are in display columns (text_width()), so accented
 * names align. Rows are not wrapped: a long detail makes a wide last column, which is
 * the last one for that reason in every table vrcli prints.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "text.h"

const char table_blank[] = "";

struct table {
	size_t ncols;
	bool has_header;
	size_t nrows; /* including the header row when there is one */
	size_t cap;
	char **cells; /* nrows * ncols, row-major */
};

/* table_new - a table of NCOLS columns; HEADERS (NCOLS strings) or NULL for no header */
struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t == NULL || ncols == 0)
		abort();
	t->ncols = ncols;
	if (headers) {
		table_add(t, headers);
		t->has_header = true;
	}
	return t;
}

/* cell_text - what cell S holds: "" for table_blank, "-" for NULL or "", else S */
static const char *cell_text(const char *s)
{
	if (s == table_blank)
		return "";
	return s && s[0] ? s : "-";
}

/* table_add - append a row of NCOLS cells (copied) */
void table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
		if (t->cells == NULL)
			abort();
	}
	for (size_t c = 0; c < t->ncols; c++) {
		char *copy = strdup(cell_text(cells[c]));

		if (copy == NULL)
			abort();
		t->cells[t->nrows * t->ncols + c] = text_scrub(copy);
	}
	t->nrows++;
}

/* table_rows - number of data rows */
size_t table_rows(const struct table *t)
{
	return t->nrows - (t->has_header ? 1 : 0);
}

/* table_print - write the table to F */
void table_print(const struct table *t, FILE *f)
{
	size_t *width = calloc(t->ncols, sizeof(size_t));

	if (width == NULL)
		abort();
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		size_t last = t->ncols - 1; /* blank cells at the end print nothing at all */

		while (last > 0 && t->cells[r * t->ncols + last][0] == '\0')
			last--;
		for (size_t c = 0; c <= last; c++) {
			const char *s = t->cells[r * t->ncols + c];

			fputs(s, f);
			if (c < last)
				fprintf(f, "%*s", (int)(width[c] - text_width(s) + 2), "");
		}
		fputc('\n', f);
	}
	free(width);
}

/* table_free - release T (NULL is fine) */
void table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
