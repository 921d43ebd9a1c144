/* ratelimit.h - counting failures per key in fixed windows (login throttling).
 *
 * Keys are short strings ("u:alice", "ip:127.0.0.1"). A key is blocked once it has
 * `limit` failures inside a window of `window` seconds that started at its first
 * failure; it is free again when the window ends. The table has a fixed number of slots
 * (memory stays bounded under a flood of distinct keys: the stalest entry is evicted).
 * All functions lock the table's mutex.
 */
#ifndef VR_RATELIMIT_H
#define VR_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(size_t slots, int64_t window);
void ratelimit_free(struct ratelimit *rl);
/* ratelimit_wait - seconds until key may try again (0: now) */
int64_t ratelimit_wait(struct ratelimit *rl, const char *key, int64_t limit, int64_t now);
/* ratelimit_fail - count one failure for key */
void ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now);
/* ratelimit_reset - forget key's failures (after a success) */
void ratelimit_reset(struct ratelimit *rl, const char *key);

#endif
