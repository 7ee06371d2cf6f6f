/*
 * metrics: the gateway's /metrics page in Prometheus text format (0.0.4),
 * drawn from one table of what it exports (name, type, help, the stats
 * field, the label), and the count of finished requests per (route,
 * model), which the stats store does not keep.
 */
#ifndef TOKMUX_METRICS_H
#define TOKMUX_METRICS_H

#include "stats.h"

#define METRICS_MAX_MODELS 64   /* (route, model) pairs counted; past it, one "other" */

typedef struct metrics metrics_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* Count one finished request of route for model. Thread-safe. */
void metrics_count_request(metrics_t *m, int route, const char *model);

/* A route as the page names it. */
struct metrics_route {
	const char *name;
	int stats_route;            /* its index in the stats store, -1 none */
};

/* The page for routes[0..n-1] (route i is gateway route i); stats may be
 * NULL. Takes the metrics lock and then, apart, the stats lock. malloc'd. */
char *metrics_render(metrics_t *m, const struct metrics_route *routes, int n, stats_t *stats);

#endif
