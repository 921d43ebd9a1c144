/* outbox.c - the bounded queue of tracking reports waiting for apid (see outbox.h).
 *
 * A ring of OUTBOX_MAX text pointers under one mutex; bytes are counted so that a few
 * huge reports cannot take the memory that many small ones would.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"

struct outbox {
	pthread_mutex_t mu;
	char *ring[OUTBOX_MAX];
	size_t head, count, bytes, dropped;
};

/* outbox_new - empty */
struct outbox *outbox_new(void)
{
	struct outbox *o = calloc(1, sizeof(*o));

	VR_CHECK_ALLOC(o);
	pthread_mutex_init(&o->mu, NULL);
	return o;
}

/* outbox_free - every text, then the outbox */
void outbox_free(struct outbox *o)
{
	char *t;

	if (o == NULL)
		return;
	while ((t = outbox_take(o)) != NULL)
		free(t);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

/* drop_oldest - make room (o->mu held) */
static void drop_oldest(struct outbox *o)
{
	char *t = o->ring[o->head];

	o->bytes -= strlen(t);
	free(t);
	o->ring[o->head] = NULL;
	o->head = (o->head + 1) % OUTBOX_MAX;
	o->count--;
	if (o->dropped++ % 100 == 0)
		VR_LOG_WARN("tracking outbox full: dropping the oldest report (%zu dropped)",
			    o->dropped);
}

/* outbox_push - at the tail, dropping the oldest when full */
void outbox_push(struct outbox *o, char *text)
{
	size_t n = strlen(text);

	pthread_mutex_lock(&o->mu);
	while (o->count > 0 && (o->count == OUTBOX_MAX || o->bytes + n > OUTBOX_MAX_BYTES))
		drop_oldest(o);
	o->ring[(o->head + o->count) % OUTBOX_MAX] = text;
	o->count++;
	o->bytes += n;
	pthread_mutex_unlock(&o->mu);
}

/* outbox_push_front - at the head; when full, the text itself is what is dropped */
void outbox_push_front(struct outbox *o, char *text)
{
	size_t n = strlen(text);

	pthread_mutex_lock(&o->mu);
	if (o->count == OUTBOX_MAX || o->bytes + n > OUTBOX_MAX_BYTES) {
		o->dropped++;
		pthread_mutex_unlock(&o->mu);
		free(text);
		return;
	}
	o->head = (o->head + OUTBOX_MAX - 1) % OUTBOX_MAX;
	o->ring[o->head] = text;
	o->count++;
	o->bytes += n;
	pthread_mutex_unlock(&o->mu);
}

/* outbox_take - the head */
char *outbox_take(struct outbox *o)
{
	char *t = NULL;

	pthread_mutex_lock(&o->mu);
	if (o->count > 0) {
		t = o->ring[o->head];
		o->ring[o->head] = NULL;
		o->head = (o->head + 1) % OUTBOX_MAX;
		o->count--;
		o->bytes -= strlen(t);
	}
	pthread_mutex_unlock(&o->mu);
	return t;
}

/* outbox_count - under the lock */
size_t outbox_count(struct outbox *o)
{
	size_t n;

	pthread_mutex_lock(&o->mu);
	n = o->count;
	pthread_mutex_unlock(&o->mu);
	return n;
}

/* outbox_dropped - under the lock */
size_t outbox_dropped(struct outbox *o)
{
	size_t n;

	pthread_mutex_lock(&o->mu);
	n = o->dropped;
	pthread_mutex_unlock(&o->mu);
	return n;
}
