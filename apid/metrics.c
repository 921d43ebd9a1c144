/* metrics.c - lock-free request metrics and their Prometheus rendering (metrics.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))
#define NSTATUS 500 /* 100..599 */

struct route_stats {
	atomic_uint_fast64_t status[NSTATUS];
	atomic_uint_fast64_t bucket[NBOUNDS + 1];
	atomic_uint_fast64_t sum_us;
	atomic_uint_fast64_t count;
};

struct metrics {
	size_t nroutes;
	struct route_stats *r; /* nroutes + 1, the last for unmatched requests */
};

/* metrics_new - zeroed counters */
struct metrics *metrics_new(size_t nroutes)
{
	struct metrics *m = calloc(1, sizeof(*m));

	VR_CHECK_ALLOC(m);
	m->nroutes = nroutes;
	m->r = calloc(nroutes + 1, sizeof(*m->r));
	VR_CHECK_ALLOC(m->r);
	return m;
}

/* metrics_free - release */
void metrics_free(struct metrics *m)
{
	if (m) {
		free(m->r);
		free(m);
	}
}

/* metrics_observe - count one response */
void metrics_observe(struct metrics *m, int route, const char *method, unsigned status,
		     double seconds)
{
	struct route_stats *s = &m->r[route >= 0 && (size_t)route < m->nroutes ? (size_t)route
									       : m->nroutes];
	size_t b = 0;

	(void)method;
	if (status >= 100 && status < 600)
		atomic_fetch_add(&s->status[status - 100], 1);
	while (b < NBOUNDS && seconds > bounds[b])
		b++;
	atomic_fetch_add(&s->bucket[b], 1);
	atomic_fetch_add(&s->sum_us, (uint_fast64_t)(seconds * 1e6));
	atomic_fetch_add(&s->count, 1);
}

/* add - append formatted text to the output */
static void add(struct vr_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct vr_buf *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && vr_buf_append(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
				   SIZE_MAX / 2) < 0)
		VR_DIE("metrics output too large");
}

/* metrics_render - the exposition text */
char *metrics_render(struct metrics *m, int64_t db_size, size_t *len)
{
	struct vr_buf out = {0};

	add(&out, "# HELP vrgate_build_info Build of apid.\n# TYPE vrgate_build_info gauge\n");
	add(&out, "vrgate_build_info{version=\"%s\",program=\"apid\"} 1\n", VR_VERSION);
	add(&out, "# HELP vrgate_http_requests_total HTTP responses by route template, method "
		  "and status.\n# TYPE vrgate_http_requests_total counter\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		const char *path = i < m->nroutes ? routes[i].path : "unmatched";
		const char *method = i < m->nroutes ? routes[i].method : "any";

		for (unsigned st = 0; st < NSTATUS; st++) {
			uint_fast64_t n = atomic_load(&m->r[i].status[st]);

			if (n)
				add(&out,
				    "vrgate_http_requests_total{route=\"%s\",method=\"%s\","
				    "status=\"%u\"} %llu\n",
				    path, method, st + 100, (unsigned long long)n);
		}
	}
	add(&out, "# HELP vrgate_http_request_duration_seconds Time from request to response.\n"
		  "# TYPE vrgate_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		const char *path = i < m->nroutes ? routes[i].path : "unmatched";
		const char *method = i < m->nroutes ? routes[i].method : "any";
		uint_fast64_t cum = 0, count = atomic_load(&m->r[i].count);

		if (count == 0)
			continue;
		for (size_t b = 0; b <= NBOUNDS; b++) {
			cum += atomic_load(&m->r[i].bucket[b]);
			if (b < NBOUNDS)
				add(&out,
				    "vrgate_http_request_duration_seconds_bucket{route=\"%s\","
				    "method=\"%s\",le=\"%g\"} %llu\n",
				    path, method, bounds[b], (unsigned long long)cum);
			else
				add(&out,
				    "vrgate_http_request_duration_seconds_bucket{route=\"%s\","
				    "method=\"%s\",le=\"+Inf\"} %llu\n",
				    path, method, (unsigned long long)cum);
		}
		add(&out,
		    "vrgate_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
		    path, method, (double)atomic_load(&m->r[i].sum_us) / 1e6);
		add(&out,
		    "vrgate_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
		    path, method, (unsigned long long)count);
	}
	if (db_size >= 0) {
		add(&out, "# HELP vrgate_db_size_bytes Size of apid's SQLite database.\n"
			  "# TYPE vrgate_db_size_bytes gauge\n");
		add(&out, "vrgate_db_size_bytes %lld\n", (long long)db_size);
	}
	*len = out.len;
	return out.data;
}
