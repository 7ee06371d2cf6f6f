/*
 * metrics: owns the /metrics page and the counts behind its per-model
 * families. Per-pane series are rows of metrics_series (name, type, help,
 * an extra label, the stats field, flags): rows of one name are one
 * family, printed together under one # HELP and # TYPE. A pane the stats
 * store does not keep apart (or past METRICS_MAX_ROUTES) is "other":
 * additive series print it as the total minus the panes listed. Label
 * values are escaped as the format requires (backslash, quote, newline)
 * and kept valid UTF-8; pane names are made unique.
 */
#include "metrics.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

#define METRICS_OTHER METRICS_MAX_ROUTES    /* the route index of pane "other" */
#define METRICS_KINDS 5                     /* token kinds */
#define METRICS_BUCKETS 18

/* Histogram bounds in seconds (and microseconds, to count without floats). */
static const char *const metrics_le[METRICS_BUCKETS] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
};
static const int64_t metrics_le_us[METRICS_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
	2500000, 5000000, 10000000, 30000000, 60000000,
};

static const char *const metrics_kinds[METRICS_KINDS] = {
	"input", "output", "cache_read", "cache_write_5m", "cache_write_1h",
};

/* What one (pane, model) pair has served. */
struct metrics_cell {
	int route;                  /* 0..METRICS_MAX_ROUTES-1, or METRICS_OTHER */
	char model[MODEL_ID_MAX];
	int64_t requests, cost_micros;
	int64_t tokens[METRICS_KINDS];
};

struct metrics_hist {
	int64_t bucket[METRICS_BUCKETS];   /* not cumulative; past the last: count - sum */
	int64_t count, sum_us;
};

struct metrics {
	pthread_mutex_t lock;       /* everything below; a leaf lock */
	struct metrics_cell cells[METRICS_MAX_MODELS];
	int ncells;
	struct metrics_cell rest[METRICS_MAX_ROUTES + 1];   /* per pane: models past the table */
	struct metrics_hist added, ttfb;
};

metrics_t *
metrics_new(void)
{
	metrics_t *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	for (int i = 0; i <= METRICS_MAX_ROUTES; i++) {
		m->rest[i].route = i;
		snprintf(m->rest[i].model, sizeof m->rest[i].model, "other");
	}
	return m;
}

void
metrics_free(metrics_t *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- counting ---- */

static void
metrics_observe(struct metrics_hist *h, int64_t us)
{
	if (us < 0)
		return;
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		if (us <= metrics_le_us[i]) {
			h->bucket[i]++;
			break;
		}
	}
	h->count++;
	h->sum_us += us;
}

/* The cell of (route, model): found, added, or the pane's "other". Lock held. */
static struct metrics_cell *
metrics_cell(metrics_t *m, int route, const char *model)
{
	for (int i = 0; i < m->ncells; i++)
		if (m->cells[i].route == route && strcmp(m->cells[i].model, model) == 0)
			return &m->cells[i];
	if (m->ncells == METRICS_MAX_MODELS)
		return &m->rest[route];
	struct metrics_cell *c = &m->cells[m->ncells++];
	c->route = route;
	snprintf(c->model, sizeof c->model, "%s", model);
	return c;
}

void
metrics_count(metrics_t *m, const struct metrics_request *q)
{
	int route = q->route >= 0 && q->route < METRICS_MAX_ROUTES ? q->route : METRICS_OTHER;
	const struct usage *u = q->usage;
	pthread_mutex_lock(&m->lock);
	if (!q->refused) {
		struct metrics_cell *c = metrics_cell(m, route, q->model[0] ? q->model : "unknown");
		c->requests++;
		c->cost_micros += q->cost_micros;
		if (u != NULL) {
			c->tokens[0] += u->input_tokens;
			c->tokens[1] += u->output_tokens;
			c->tokens[2] += u->cache_read_tokens;
			c->tokens[3] += u->cache_write_5m_tokens;
			c->tokens[4] += u->cache_write_1h_tokens;
		}
	}
	metrics_observe(&m->added, q->added_us);
	metrics_observe(&m->ttfb, q->ttfb_us);
	pthread_mutex_unlock(&m->lock);
}

/* ---- writing ---- */

/* A label value: valid UTF-8 (a stray byte becomes U+FFFD), with
 * backslash, quote and newline escaped. */
static void
metrics_label_value(struct buf *b, const char *s)
{
	while (*s) {
		uint32_t cp;
		int n = util_utf8_decode(s, &cp);
		if (n == 0) {
			buf_append(b, "\xef\xbf\xbd", 3);
			n = 1;
		} else if (*s == '\\' || *s == '"') {
			buf_appendf(b, "\\%c", *s);
		} else if (*s == '\n') {
			buf_append(b, "\\n", 2);
		} else {
			buf_append(b, s, (size_t)n);
		}
		s += n;
	}
}

/* Up to three labels: names[i] = values[i], NULL-ended. */
static void
metrics_labels(struct buf *b, const char *const *names, const char *const *values)
{
	if (names[0] == NULL)
		return;
	buf_append(b, "{", 1);
	for (int i = 0; names[i] != NULL; i++) {
		buf_appendf(b, "%s%s=\"", i ? "," : "", names[i]);
		metrics_label_value(b, values[i]);
		buf_append(b, "\"", 1);
	}
	buf_append(b, "}", 1);
}

static void
metrics_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum metrics_unit { METRICS_INT, METRICS_USD, METRICS_SECONDS, METRICS_RATIO };

/* name{labels} value; USD from micro-dollars, seconds from a double. */
static void
metrics_sample(struct buf *b, const char *name, const char *const *names,
    const char *const *values, enum metrics_unit unit, int64_t v, double d)
{
	buf_appendf(b, "%s", name);
	metrics_labels(b, names, values);
	if (unit == METRICS_USD)
		buf_appendf(b, " %s%lld.%06lld\n", v < 0 ? "-" : "", llabs(v / 1000000),
		    llabs(v % 1000000));
	else if (unit == METRICS_SECONDS)
		buf_appendf(b, " %.3f\n", d);
	else if (unit == METRICS_RATIO)
		buf_appendf(b, " %.4f\n", d);
	else
		buf_appendf(b, " %lld\n", (long long)v);
}

/* The pane label of every route (and "other" at METRICS_OTHER): names
 * made unique ("name#N" for a repeat, or a route literally named other). */
static char **
metrics_pane_names(const struct metrics_route *routes, int n)
{
	char **names = xcalloc(METRICS_MAX_ROUTES + 1, sizeof *names);
	for (int i = 0; i < n && i < METRICS_MAX_ROUTES; i++) {
		const char *nm = routes[i].name != NULL && routes[i].name[0] ? routes[i].name : "pane";
		int dup = strcmp(nm, "other") == 0;
		for (int j = 0; j < i && !dup; j++)
			dup = strcmp(names[j], nm) == 0;
		names[i] = dup ? xasprintf("%s#%d", nm, i + 1) : xstrdup(nm);
	}
	names[METRICS_OTHER] = xstrdup("other");
	return names;
}

static void
metrics_pane_names_free(char **names)
{
	for (int i = 0; i <= METRICS_MAX_ROUTES; i++)
		free(names[i]);
	free(names);
}

/* ---- per (pane, model): requests, tokens, cost ---- */

struct metrics_copy {
	struct metrics_cell cells[METRICS_MAX_MODELS + METRICS_MAX_ROUTES + 1];
	int ncells;
	struct metrics_hist added, ttfb;
};

static void
metrics_copy(metrics_t *m, struct metrics_copy *c)
{
	pthread_mutex_lock(&m->lock);
	memcpy(c->cells, m->cells, (size_t)m->ncells * sizeof *m->cells);
	c->ncells = m->ncells;
	for (int i = 0; i <= METRICS_MAX_ROUTES; i++)
		if (m->rest[i].requests > 0)
			c->cells[c->ncells++] = m->rest[i];
	c->added = m->added;
	c->ttfb = m->ttfb;
	pthread_mutex_unlock(&m->lock);
}

static void
metrics_render_models(struct buf *b, const struct metrics_copy *c, char **panes)
{
	static const char *const pm[] = { "pane", "model", NULL };
	static const char *const pmk[] = { "pane", "model", "kind", NULL };
	metrics_head(b, "tokmux_requests_total", "counter",
	    "Requests served (not refused), by the model billed.");
	for (int i = 0; i < c->ncells; i++) {
		const char *v[] = { panes[c->cells[i].route], c->cells[i].model };
		metrics_sample(b, "tokmux_requests_total", pm, v, METRICS_INT, c->cells[i].requests, 0);
	}
	metrics_head(b, "tokmux_tokens_total", "counter", "Tokens metered, by model and kind.");
	for (int i = 0; i < c->ncells; i++) {
		for (int k = 0; k < METRICS_KINDS; k++) {
			const char *v[] = { panes[c->cells[i].route], c->cells[i].model, metrics_kinds[k] };
			metrics_sample(b, "tokmux_tokens_total", pmk, v, METRICS_INT, c->cells[i].tokens[k], 0);
		}
	}
	metrics_head(b, "tokmux_cost_usd_total", "counter", "Settled cost in US dollars, by model.");
	for (int i = 0; i < c->ncells; i++) {
		const char *v[] = { panes[c->cells[i].route], c->cells[i].model };
		metrics_sample(b, "tokmux_cost_usd_total", pm, v, METRICS_USD, c->cells[i].cost_micros, 0);
	}
}

static void
metrics_render_hist(struct buf *b, const char *name, const char *help,
    const struct metrics_hist *h)
{
	static const char *const le[] = { "le", NULL };
	char bucket[96], sum[96], count[96];
	snprintf(bucket, sizeof bucket, "%s_bucket", name);
	snprintf(sum, sizeof sum, "%s_sum", name);
	snprintf(count, sizeof count, "%s_count", name);
	metrics_head(b, name, "histogram", help);
	int64_t cum = 0;
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		metrics_sample(b, bucket, le, &metrics_le[i], METRICS_INT, cum, 0);
	}
	metrics_sample(b, bucket, le, (const char *const[]){ "+Inf" }, METRICS_INT, h->count, 0);
	buf_appendf(b, "%s %.6f\n", sum, (double)h->sum_us / 1e6);
	metrics_sample(b, count, (const char *const[]){ NULL }, NULL, METRICS_INT, h->count, 0);
}

/* ---- per pane, from the stats store: the table ---- */

enum {
	METRICS_OPTIONAL = 1,       /* below 0 means none: no sample */
	METRICS_ADDITIVE = 2,       /* pane "other" = the total minus the panes listed */
};

/* One exported series per pane: name{pane="…"[,label="value"]} field. */
struct metrics_series {
	const char *name;
	const char *type;           /* "counter" or "gauge" */
	const char *help;
	const char *label, *value;  /* an extra label, NULL for none */
	size_t field;               /* int64_t in struct stats_counts */
	enum metrics_unit unit;     /* METRICS_USD: the field is micro-dollars */
	int flags;
};

#define METRICS_FIELD(f) offsetof(struct stats_counts, f)
#define METRICS_RESPONSES "Finished metered requests by outcome; upstream 429s and 529s " \
	"count every attempt, refused ones were refused by a ceiling."
#define METRICS_RESP(cls, f) \
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", cls, \
	  METRICS_FIELD(f), METRICS_INT, METRICS_ADDITIVE }

static const struct metrics_series metrics_series[] = {
	METRICS_RESP("2xx", ok_2xx),
	METRICS_RESP("429", err_429),
	METRICS_RESP("529", err_529),
	METRICS_RESP("4xx", err_4xx),
	METRICS_RESP("5xx", err_5xx),
	METRICS_RESP("refused", refused),
	{ "tokmux_retries_total", "counter", "Upstream attempts sent again (529, 429, fallback).",
	  NULL, NULL, METRICS_FIELD(retries), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_fallbacks_total", "counter", "Switches to another model of the fallback chain.",
	  NULL, NULL, METRICS_FIELD(fallbacks), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_unpriced_requests_total", "counter", "Requests whose model has no price.",
	  NULL, NULL, METRICS_FIELD(unpriced), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_paced_requests_total", "counter",
	  "Requests that waited for their API key's rate limit (429 pacing).",
	  NULL, NULL, METRICS_FIELD(policy.paced), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_circuit_skips_total", "counter",
	  "Requests an open circuit sent straight to a fallback model.",
	  NULL, NULL, METRICS_FIELD(policy.circuit_skips), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_requests_in_flight", "gauge", "Requests in flight now.",
	  NULL, NULL, METRICS_FIELD(inflight), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_pacing_requests", "gauge", "Requests waiting now for their API key's turn.",
	  NULL, NULL, METRICS_FIELD(policy.pacing), METRICS_INT, METRICS_ADDITIVE },
	{ "tokmux_reserved_usd", "gauge",
	  "Worst-case cost reserved for the requests in flight, in US dollars.",
	  NULL, NULL, METRICS_FIELD(reserved_micros), METRICS_USD, METRICS_ADDITIVE },
	{ "tokmux_pane_ceiling_usd", "gauge", "The pane's spend ceiling in US dollars (absent: none).",
	  NULL, NULL, METRICS_FIELD(policy.ceiling_micros), METRICS_USD, METRICS_OPTIONAL },
	{ "tokmux_pane_spend_usd", "gauge", "Settled spend the pane's ceiling counts, in US dollars.",
	  NULL, NULL, METRICS_FIELD(policy.spent_micros), METRICS_USD, 0 },
	{ "tokmux_pane_ceiling_tokens", "gauge", "The pane's token ceiling (absent: none).",
	  NULL, NULL, METRICS_FIELD(policy.ceiling_tokens), METRICS_INT, METRICS_OPTIONAL },
	{ "tokmux_pane_spend_tokens", "gauge", "Tokens the pane's token ceiling counts.",
	  NULL, NULL, METRICS_FIELD(policy.spent_tokens), METRICS_INT, 0 },
};

static int64_t
metrics_field(const struct stats_counts *c, const struct metrics_series *s)
{
	return *(const int64_t *)((const char *)c + s->field);
}

/* One row of metrics_series for every pane listed, and "other" if needed. */
static void
metrics_render_row(struct buf *b, const struct metrics_series *s, const struct metrics_route *routes,
    int n, char **panes, const struct stats_snapshot *snap, int other)
{
	const char *names[] = { "pane", s->label, NULL };
	const char *values[] = { NULL, s->value };
	int64_t listed = 0;
	for (int i = 0; i < n && i < METRICS_MAX_ROUTES; i++) {
		int sr = routes[i].stats_route;
		if (sr < 0 || sr >= snap->nroutes)
			continue;
		int64_t v = metrics_field(&snap->route[sr], s);
		listed += v;
		if ((s->flags & METRICS_OPTIONAL) && v < 0)
			continue;
		values[0] = panes[i];
		metrics_sample(b, s->name, names, values, s->unit, v, 0);
	}
	if (other && (s->flags & METRICS_ADDITIVE)) {
		values[0] = panes[METRICS_OTHER];
		metrics_sample(b, s->name, names, values, s->unit,
		    metrics_field(&snap->total, s) - listed, 0);
	}
}

/* Every family of metrics_series: its head, then each row of it. */
static void
metrics_render_stats(struct buf *b, const struct metrics_route *routes, int n, char **panes,
    const struct stats_snapshot *snap)
{
	int other = n > METRICS_MAX_ROUTES;
	for (int i = 0; i < n && i < METRICS_MAX_ROUTES; i++)
		other |= routes[i].stats_route < 0 || routes[i].stats_route >= snap->nroutes;
	size_t nseries = UTIL_ARRAY_LEN(metrics_series);
	for (size_t first = 0, end; first < nseries; first = end) {
		const struct metrics_series *fam = &metrics_series[first];
		for (end = first + 1; end < nseries && strcmp(metrics_series[end].name, fam->name) == 0; )
			end++;
		metrics_head(b, fam->name, fam->type, fam->help);
		for (size_t k = first; k < end; k++)
			metrics_render_row(b, &metrics_series[k], routes, n, panes, snap, other);
	}
}

/* ---- workspace-wide: ceilings and circuits ---- */

static void
metrics_render_workspace(struct buf *b, const struct stats_snapshot *snap)
{
	static const char *const none[] = { NULL };
	static const char *const model[] = { "model", NULL };
	const struct {
		const char *name, *help;
		int64_t v;
	} g[] = {
		{ "tokmux_workspace_ceiling_usd", "The workspace's spend ceiling in US dollars "
		  "(absent: none).", snap->total.policy.ceiling_micros },
		{ "tokmux_workspace_spend_usd", "Settled spend the workspace ceiling counts, in US "
		  "dollars.", snap->total.policy.spent_micros },
		{ "tokmux_daily_ceiling_usd", "Today's spend ceiling in US dollars (absent: none).",
		  snap->policy.daily_ceiling_micros },
		{ "tokmux_daily_spend_usd", "Today's spend in US dollars (the ledger at start, plus "
		  "since).", snap->policy.daily_spent_micros },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(g); i++) {
		metrics_head(b, g[i].name, "gauge", g[i].help);
		if (g[i].v >= 0)
			metrics_sample(b, g[i].name, none, NULL, METRICS_USD, g[i].v, 0);
	}
	metrics_head(b, "tokmux_circuit_state", "gauge",
	    "Circuit breaker per model with recent 529s: 0 closed, 1 open, 2 half-open.");
	for (int i = 0; i < snap->policy.ncircuits && i < STATS_MAX_CIRCUITS; i++) {
		const char *v[] = { snap->policy.circuit[i].model };
		metrics_sample(b, "tokmux_circuit_state", model, v, METRICS_INT,
		    snap->policy.circuit[i].state, 0);
	}
}

/* ---- the ledger's health ---- */

static void
metrics_render_ledger(struct buf *b, ledger_t *l)
{
	static const char *const none[] = { NULL };
	struct ledger_health h;
	ledger_health(l, &h);
	const struct {
		const char *name, *type, *help;
		int64_t v;
	} g[] = {
		{ "tokmux_ledger_writable", "gauge", "1 while the ledger takes every record, 0 while "
		  "records are held in memory (disk full, read-only, I/O error).", !h.failing },
		{ "tokmux_ledger_held_records", "gauge", "Records waiting in memory for the ledger.",
		  h.held },
		{ "tokmux_ledger_write_failures_total", "counter", "Ledger writes that failed (each "
		  "retried).", h.failures },
		{ "tokmux_ledger_lost_records_total", "counter", "Records dropped: more were held "
		  "than the bound allows.", h.lost },
		{ "tokmux_ledger_repaired_lines_total", "counter", "Torn last lines ended before an "
		  "append.", h.repaired },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(g); i++) {
		metrics_head(b, g[i].name, g[i].type, g[i].help);
		metrics_sample(b, g[i].name, none, NULL, METRICS_INT, g[i].v, 0);
	}
}

/* ---- per API key: rate-limit headroom ---- */

enum metrics_rl { METRICS_RL_LIMIT, METRICS_RL_REMAINING, METRICS_RL_RESET, METRICS_RL_UTIL };

/* The samples of one rate-limit family for every key: the four buckets
 * (limit, remaining, reset) and the two subscription windows (reset,
 * utilisation); unknown values are left out. */
static void
metrics_render_rl(struct buf *b, const char *family, enum metrics_rl what,
    const struct rl_state *st, int nst, double now)
{
	static const char *const kinds[] = { "requests", "tokens", "input_tokens", "output_tokens",
		"5h", "7d" };
	static const char *const kk[] = { "key", "kind", NULL };
	for (int i = 0; i < nst; i++) {
		const struct rl_bucket *bk[] = { &st[i].requests, &st[i].tokens, &st[i].input_tokens,
			&st[i].output_tokens };
		const struct rl_window *w[] = { &st[i].w5h, &st[i].w7d };
		for (int k = 0; k < 6; k++) {
			const char *v[] = { st[i].key_hash, kinds[k] };
			const struct rl_bucket *x = k < 4 ? bk[k] : NULL;
			const struct rl_window *y = k >= 4 ? w[k - 4] : NULL;
			double reset = x ? x->reset : y->reset;
			if (what == METRICS_RL_LIMIT && x != NULL && x->limit >= 0)
				metrics_sample(b, family, kk, v, METRICS_INT, x->limit, 0);
			else if (what == METRICS_RL_REMAINING && x != NULL && x->remaining >= 0)
				metrics_sample(b, family, kk, v, METRICS_INT, x->remaining, 0);
			else if (what == METRICS_RL_RESET && reset > 0)
				metrics_sample(b, family, kk, v, METRICS_SECONDS, 0, UTIL_MAX(0, reset - now));
			else if (what == METRICS_RL_UTIL && y != NULL && y->utilization >= 0)
				metrics_sample(b, family, kk, v, METRICS_RATIO, 0, y->utilization);
		}
	}
}

static void
metrics_render_ratelimits(struct buf *b, rl_table_t *rl, double now)
{
	static const struct {
		const char *name, *help;
		enum metrics_rl what;
	} fams[] = {
		{ "tokmux_ratelimit_limit", "The provider's rate limit per API key (hashed) and kind.",
		  METRICS_RL_LIMIT },
		{ "tokmux_ratelimit_remaining", "What is left of the rate limit per API key (hashed) "
		  "and kind.", METRICS_RL_REMAINING },
		{ "tokmux_ratelimit_reset_seconds", "Seconds until the limit of a kind, or a "
		  "subscription window (5h, 7d), resets.", METRICS_RL_RESET },
		{ "tokmux_ratelimit_utilization_ratio", "Subscription window utilisation per API key "
		  "(hashed), 0 to 1.", METRICS_RL_UTIL },
	};
	static const char *const key[] = { "key", NULL };
	struct rl_state *st = xcalloc(RATELIMIT_MAX_KEYS, sizeof *st);
	int n = rl != NULL ? rl_table_snapshot(rl, st, RATELIMIT_MAX_KEYS) : 0;
	for (size_t f = 0; f < UTIL_ARRAY_LEN(fams); f++) {
		metrics_head(b, fams[f].name, "gauge", fams[f].help);
		metrics_render_rl(b, fams[f].name, fams[f].what, st, n, now);
	}
	metrics_head(b, "tokmux_ratelimit_wait_seconds", "gauge",
	    "Seconds until the key may send again (retry-after, an exhausted limit).");
	for (int i = 0; i < n; i++) {
		double nb = ratelimit_not_before(&st[i], now);
		const char *v[] = { st[i].key_hash };
		metrics_sample(b, "tokmux_ratelimit_wait_seconds", key, v, METRICS_SECONDS, 0,
		    nb > now ? nb - now : 0);
	}
	free(st);
}

char *
metrics_render(metrics_t *m, const struct metrics_route *routes, int n,
    const struct metrics_sources *src)
{
	struct buf b = { 0 };
	char **panes = metrics_pane_names(routes, n);
	struct metrics_copy *c = xmalloc(sizeof *c);
	metrics_copy(m, c);
	metrics_render_models(&b, c, panes);
	if (src != NULL && src->stats != NULL) {
		struct stats_snapshot *snap = xmalloc(sizeof *snap);
		stats_snapshot(src->stats, snap);
		metrics_render_stats(&b, routes, n, panes, snap);
		metrics_render_workspace(&b, snap);
		free(snap);
	}
	if (src != NULL && src->ledger != NULL)
		metrics_render_ledger(&b, src->ledger);
	metrics_render_ratelimits(&b, src != NULL ? src->ratelimits : NULL,
	    src != NULL && src->now > 0 ? src->now : util_wall());
	metrics_render_hist(&b, "tokmux_gateway_added_seconds", "Latency the gateway added before "
	    "the agent had the response headers (checks, reservations, 429 pacing and 529 backoff "
	    "included; upstream's time left out).", &c->added);
	metrics_render_hist(&b, "tokmux_upstream_ttfb_seconds", "Upstream time to first byte: "
	    "the request sent to the response headers, for the attempt the agent got.", &c->ttfb);
	free(c);
	metrics_pane_names_free(panes);
	return b.data;
}
