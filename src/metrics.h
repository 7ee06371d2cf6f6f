/*
 * metrics: the gateway's /metrics page in Prometheus text format 0.0.4,
 * by the exposition conventions: a # HELP and # TYPE line per family,
 * base units in names (_usd, _tokens, _seconds), counters ending in
 * _total, labels pane, model, key (a key hash, never a key), kind and
 * class. It draws per-pane counters and gauges from one table of series
 * over the stats store, rate-limit headroom from the rate-limit table,
 * and keeps what neither store has: requests, tokens and cost per (pane,
 * model), and the histograms of the latency the gateway adds and of
 * upstream's time to first byte; the ledger's health (writable, lines
 * held in memory, failed writes, lines lost). Cardinality is bounded: panes past
 * METRICS_MAX_ROUTES and models past METRICS_MAX_MODELS pairs are
 * counted under "other", never under another pane or model.
 */
#ifndef TOKMUX_METRICS_H
#define TOKMUX_METRICS_H

#include <stdint.h>

#include "ledger.h"
#include "ratelimit.h"
#include "stats.h"
#include "usage.h"

#define METRICS_MAX_MODELS 64   /* (pane, model) pairs counted; past it, (pane, "other") */
#define METRICS_MAX_ROUTES 16   /* panes counted by name; past it, pane "other" */

typedef struct metrics metrics_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* One finished request, as the meter saw it. */
struct metrics_request {
	int route;                  /* gateway route */
	const char *model;          /* billed as ("" unknown) */
	int refused;                /* by a ceiling: not served, nothing counted per model */
	const struct usage *usage;  /* may be NULL */
	int64_t cost_micros;
	int64_t added_us;           /* latency the gateway added before the agent had the
	                             * response headers (pacing and backoff included); -1 none */
	int64_t ttfb_us;            /* upstream: request sent to response headers, for the
	                             * attempt the agent got; -1 none */
};

/* Count one finished request. Thread-safe. */
void metrics_count(metrics_t *m, const struct metrics_request *q);

/* A route as the page names it. */
struct metrics_route {
	const char *name;
	int stats_route;            /* its index in the stats store, -1 none */
};

/* Where the rest of the page comes from; any may be NULL. */
struct metrics_sources {
	stats_t *stats;
	rl_table_t *ratelimits;
	ledger_t *ledger;           /* its health: tokmux_ledger_* */
	double now;                 /* for seconds to a reset; 0: util_wall() */
};

/* The page for routes[0..n-1] (route i is gateway route i). Takes the
 * metrics lock, then apart the stats and rate-limit locks. malloc'd. */
char *metrics_render(metrics_t *m, const struct metrics_route *routes, int n,
    const struct metrics_sources *src);

#endif
