/*
 * view.h - the tables people see for mail: tracked messages, stats counters, quarantine
 * items, one held message, and the outcome of quarantine actions (a one-click
 * unsubscribe's in one line).
 *
 * Owns: the columns and the wording of those tables, built from the API's JSON. A tracked
 * message is one row (time, direction, sender, subject) followed by one row per recipient
 * (address, then action, category, reason and quarantine ID) with the first columns blank.
 * Pure: JSON in, struct table out (printing is the caller's), so
 * tests/unit/test_vrcli_list.c checks the exact text.
 *
 * Ownership: the view_*() table builders return a table the caller releases with
 * table_free(); view_counts() and view_unsubscribed() return a malloc'd string (free())
 * or NULL.
 */
#ifndef VRCLI_VIEW_H
#define VRCLI_VIEW_H

#include <jansson.h>

#include "table.h"

/* view_counts - {"spam": 3, "virus": 1} as "spam 3, virus 1", in the API's order; NULL
 * for an empty object or something else */
char *view_counts(const json_t *o);

/* view_messages - ITEMS (Message objects) as the TIME/DIRECTION/SENDER/SUBJECT table */
struct table *view_messages(const json_t *items);

/* view_stats - a Stats object as "key:" rows (since, until, messages, actions, categories) */
struct table *view_stats(const json_t *stats);

/* view_quarantine - ITEMS (QItem objects), one row each */
struct table *view_quarantine(const json_t *items);

/* view_quarantine_detail - one held message (GET /api/v1/quarantine/{id}) as "key:" rows;
 * recipients, unsubscribe, headers and attachments spelled out rather than as JSON */
struct table *view_quarantine_detail(const json_t *d);

/* view_recipients - [{"address","status"}] as a RECIPIENT/STATUS table */
struct table *view_recipients(const json_t *recipients);

/* view_unsubscribed - the reply of POST /api/v1/quarantine/{id}/unsubscribe as one line,
 * "Unsubscribed from ID: TARGET answered HTTP STATUS.", control characters scrubbed (the
 * target comes from the mail); NULL for something that is not an object */
char *view_unsubscribed(const json_t *reply);

/* view_bulk - the results of POST /api/v1/quarantine/bulk as an ID/STATUS/CODE/DETAIL table */
struct table *view_bulk(const json_t *results);

#endif
