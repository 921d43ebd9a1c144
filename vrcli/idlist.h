/*
 * idlist.h - the IDs a bulk command acts on: from arguments or from a file, in order,
 * each once.
 *
 * Owns: struct idlist (a JSON array of ID strings, and the set that keeps them unique: a
 * `quarantine list --json` piped through `jq -r '.items[].id'` names a message once per
 * recipient), the syntax of an IDs file (one ID per line; surrounding blanks, blank lines
 * and lines starting with '#' ignored), and cutting the list into request-sized batches.
 * Pure: no I/O, so tests/unit/test_vrcli_list.c drives it with tables.
 *
 * Ownership: struct idlist owns its arrays (idlist_free() releases them); idlist_batch()
 * returns a new reference (release with json_decref()).
 */
#ifndef VRCLI_IDLIST_H
#define VRCLI_IDLIST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct idlist {
	json_t *ids;  /* array of strings, first occurrence order */
	json_t *seen; /* object used as a set of the same strings */
};

/* idlist_init - an empty list */
void idlist_init(struct idlist *l);

/* idlist_free - release what *l holds */
void idlist_free(struct idlist *l);

/* idlist_add - append ID unless it is there already; false if ID is not UTF-8 */
bool idlist_add(struct idlist *l, const char *id);

/* idlist_parse - add the IDs in TEXT (LEN bytes, an IDs file); false with ERR set
 * ("line N: ...") for a NUL byte, an ID with blanks inside, or text that is not UTF-8 */
bool idlist_parse(struct idlist *l, const char *text, size_t len, char *err, size_t errlen);

/* idlist_count - how many IDs *l holds */
size_t idlist_count(const struct idlist *l);

/* idlist_batch - IDs FROM .. FROM+N-1 (fewer at the end) as a new array */
json_t *idlist_batch(const struct idlist *l, size_t from, size_t n);

#endif
