/* metrics.h - request counters and latency histograms in Prometheus text format.
 *
 * Counters are atomics indexed by route (routes[] index; the last slot is "unmatched")
 * and status; observing is lock-free and safe from any thread.
 */
#ifndef VR_METRICS_H
#define VR_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* metrics_new - counters for nroutes routes; aborts on out of memory */
struct metrics *metrics_new(size_t nroutes);
void metrics_free(struct metrics *m);
/* metrics_observe - count one response of route (-1: unmatched) */
void metrics_observe(struct metrics *m, int route, const char *method, unsigned status,
		     double seconds);
/* metrics_render - the exposition text (malloc'd, caller frees); db_size < 0 omits it */
char *metrics_render(struct metrics *m, int64_t db_size, size_t *len);

#endif
