/* outbox.h - tracking reports that apid did not take yet, kept for a later try.
 *
 * The milter posts each message's tracking report (POST /api/v1/agent/messages) at once;
 * when apid cannot be reached or fails, the report's JSON text goes here, and the agent's
 * loop (loop.c) sends the queue again after each poll. Tracking is best effort: the queue
 * is bounded (OUTBOX_MAX reports, OUTBOX_MAX_BYTES bytes), the oldest report is dropped
 * (and counted) to make room, and the queue lives in memory only (lost when the agent
 * stops). apid answers a report it has already recorded with 200 duplicate, so resending
 * one whose reply was lost is harmless.
 *
 * Thread-safe (one mutex per outbox); a text pushed belongs to the outbox, one taken to the
 * caller. main() makes the one outbox that the milter and the loop share.
 */
#ifndef VR_AGENT_OUTBOX_H
#define VR_AGENT_OUTBOX_H

#include <stddef.h>

#define OUTBOX_MAX	 1000
#define OUTBOX_MAX_BYTES (8u << 20)

struct outbox;

/* outbox_new - an empty outbox */
struct outbox *outbox_new(void);
/* outbox_free - free it and every text still in it (NULL is fine) */
void outbox_free(struct outbox *o);
/* outbox_push - keep text (malloc'd; the outbox frees it) at the tail */
void outbox_push(struct outbox *o, char *text);
/* outbox_push_front - put a text taken with outbox_take back at the head (a failed retry) */
void outbox_push_front(struct outbox *o, char *text);
/* outbox_take - the oldest text (the caller frees it), or NULL when empty */
char *outbox_take(struct outbox *o);
/* outbox_count - reports waiting */
size_t outbox_count(struct outbox *o);
/* outbox_dropped - reports dropped for room since the start */
size_t outbox_dropped(struct outbox *o);

#endif
