/* ratelimit.c - fixed-window failure counters in a bounded table (see ratelimit.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"

#define KEY_MAX 280
#define PROBES  8

struct entry {
	char key[KEY_MAX];
	int64_t start; /* window start; 0: free slot */
	int64_t count;
};

struct ratelimit {
	pthread_mutex_t lock;
	int64_t window;
	size_t n;
	struct entry *e;
};

/* ratelimit_new - an empty table */
struct ratelimit *ratelimit_new(size_t slots, int64_t window)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	VR_CHECK_ALLOC(rl);
	rl->e = calloc(slots, sizeof(*rl->e));
	VR_CHECK_ALLOC(rl->e);
	rl->n = slots;
	rl->window = window;
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

/* ratelimit_free - release */
void ratelimit_free(struct ratelimit *rl)
{
	if (rl) {
		pthread_mutex_destroy(&rl->lock);
		free(rl->e);
		free(rl);
	}
}

/* hash - FNV-1a */
static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* find - the slot of key, or (create) the best slot to take for it; locked */
static struct entry *find(struct ratelimit *rl, const char *key, int64_t now, int create)
{
	size_t h = hash(key);
	struct entry *victim = NULL;

	for (size_t i = 0; i < PROBES; i++) {
		struct entry *e = &rl->e[(h + i) % rl->n];

		if (e->start && strncmp(e->key, key, KEY_MAX) == 0) {
			if (now - e->start >= rl->window) { /* window over: start afresh */
				e->start = now;
				e->count = 0;
			}
			return e;
		}
		if (!victim || e->start == 0 || (victim->start != 0 && e->start < victim->start))
			victim = e;
	}
	if (!create)
		return NULL;
	snprintf(victim->key, KEY_MAX, "%s", key);
	victim->start = now;
	victim->count = 0;
	return victim;
}

/* ratelimit_wait - seconds until key may try again */
int64_t ratelimit_wait(struct ratelimit *rl, const char *key, int64_t limit, int64_t now)
{
	struct entry *e;
	int64_t wait = 0;

	pthread_mutex_lock(&rl->lock);
	e = find(rl, key, now, 0);
	if (e && e->count >= limit)
		wait = e->start + rl->window - now;
	pthread_mutex_unlock(&rl->lock);
	return wait > 0 ? wait : 0;
}

/* ratelimit_fail - count one failure */
void ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now)
{
	pthread_mutex_lock(&rl->lock);
	find(rl, key, now, 1)->count++;
	pthread_mutex_unlock(&rl->lock);
}

/* ratelimit_reset - forget key */
void ratelimit_reset(struct ratelimit *rl, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&rl->lock);
	e = find(rl, key, 0, 0);
	if (e)
		e->start = 0;
	pthread_mutex_unlock(&rl->lock);
}
