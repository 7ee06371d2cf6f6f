/*
 * metrics: owns the /metrics page: the table of exported series, their
 * text (label escaping, dollars from micro-dollars) and the (route, model)
 * request counts behind tokmux_requests_total. A series is one row of
 * metrics_series; rows of one name are one family, printed together.
 */
#include "metrics.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

struct metrics_model {
	int route;
	char model[MODEL_ID_MAX];
	int64_t n;
};

struct metrics {
	pthread_mutex_t lock;       /* the counts below; a leaf lock */
	struct metrics_model models[METRICS_MAX_MODELS];
	int nmodels;
};

/* One exported series per route: name{route="…"[,label="value"]} field. */
struct metrics_series {
	const char *name;
	const char *type;           /* "counter" or "gauge" */
	const char *help;
	const char *label, *value;  /* an extra label, NULL for none */
	size_t field;               /* int64_t in struct stats_counts */
	int usd;                    /* field is micro-dollars: printed as dollars */
};

#define METRICS_FIELD(f) offsetof(struct stats_counts, f)
#define METRICS_TOKENS "Tokens metered, by kind."
#define METRICS_RESPONSES "Finished metered requests by outcome; upstream 429s and 529s " \
	"count every attempt."

static const struct metrics_series metrics_requests = {
	"tokmux_requests_total", "counter", "Finished metered requests, by model.",
	"model", NULL, 0, 0,
};

static const struct metrics_series metrics_series[] = {
	{ "tokmux_tokens_total", "counter", METRICS_TOKENS, "kind", "input",
	  METRICS_FIELD(input_tokens), 0 },
	{ "tokmux_tokens_total", "counter", METRICS_TOKENS, "kind", "output",
	  METRICS_FIELD(output_tokens), 0 },
	{ "tokmux_tokens_total", "counter", METRICS_TOKENS, "kind", "cache_read",
	  METRICS_FIELD(cache_read_tokens), 0 },
	{ "tokmux_tokens_total", "counter", METRICS_TOKENS, "kind", "cache_write_5m",
	  METRICS_FIELD(cache_write_5m_tokens), 0 },
	{ "tokmux_tokens_total", "counter", METRICS_TOKENS, "kind", "cache_write_1h",
	  METRICS_FIELD(cache_write_1h_tokens), 0 },
	{ "tokmux_cost_usd_total", "counter", "Settled cost in US dollars.", NULL, NULL,
	  METRICS_FIELD(cost_micros), 1 },
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", "2xx",
	  METRICS_FIELD(ok_2xx), 0 },
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", "429",
	  METRICS_FIELD(err_429), 0 },
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", "529",
	  METRICS_FIELD(err_529), 0 },
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", "4xx",
	  METRICS_FIELD(err_4xx), 0 },
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", "5xx",
	  METRICS_FIELD(err_5xx), 0 },
	{ "tokmux_responses_total", "counter", METRICS_RESPONSES, "class", "refused",
	  METRICS_FIELD(refused), 0 },
	{ "tokmux_retries_total", "counter", "Upstream attempts sent again (529, 429, fallback).",
	  NULL, NULL, METRICS_FIELD(retries), 0 },
	{ "tokmux_fallbacks_total", "counter", "Switches to another model of the fallback chain.",
	  NULL, NULL, METRICS_FIELD(fallbacks), 0 },
	{ "tokmux_unpriced_total", "counter", "Requests whose model has no price.",
	  NULL, NULL, METRICS_FIELD(unpriced), 0 },
	{ "tokmux_inflight", "gauge", "Requests in flight now.",
	  NULL, NULL, METRICS_FIELD(inflight), 0 },
};

metrics_t *
metrics_new(void)
{
	metrics_t *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
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

void
metrics_count_request(metrics_t *m, int route, const char *model)
{
	pthread_mutex_lock(&m->lock);
	struct metrics_model *slot = NULL;
	for (int i = 0; i < m->nmodels && slot == NULL; i++)
		if (m->models[i].route == route && strcmp(m->models[i].model, model) == 0)
			slot = &m->models[i];
	if (slot == NULL && m->nmodels < METRICS_MAX_MODELS) {
		slot = &m->models[m->nmodels++];
		slot->route = route;
		snprintf(slot->model, sizeof slot->model, "%s", model);
	}
	if (slot == NULL) {   /* table full: lump the rest together */
		slot = &m->models[METRICS_MAX_MODELS - 1];
		snprintf(slot->model, sizeof slot->model, "other");
	}
	slot->n++;
	pthread_mutex_unlock(&m->lock);
}

/* A label value: backslash, quote and newline escaped. */
static void
metrics_label_value(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_appendf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_append(b, "\\n", 2);
		else
			buf_append(b, s, 1);
	}
}

static void
metrics_head(struct buf *b, const struct metrics_series *s)
{
	buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name, s->type);
}

/* name{route="…"[,label="value"]} v */
static void
metrics_line(struct buf *b, const struct metrics_series *s, const char *route,
    const char *value, int64_t v, int usd)
{
	buf_appendf(b, "%s{route=\"", s->name);
	metrics_label_value(b, route);
	buf_append(b, "\"", 1);
	if (s->label != NULL) {
		buf_appendf(b, ",%s=\"", s->label);
		metrics_label_value(b, value);
		buf_append(b, "\"", 1);
	}
	if (usd)
		buf_appendf(b, "} %lld.%06lld\n", (long long)(v / 1000000), (long long)(v % 1000000));
	else
		buf_appendf(b, "} %lld\n", (long long)v);
}

static void
metrics_render_requests(metrics_t *m, struct buf *b, const struct metrics_route *routes, int n)
{
	struct metrics_model *models = xmalloc(sizeof m->models);
	pthread_mutex_lock(&m->lock);
	int nm = m->nmodels;
	memcpy(models, m->models, sizeof m->models);
	pthread_mutex_unlock(&m->lock);
	metrics_head(b, &metrics_requests);
	for (int i = 0; i < nm; i++)
		if (models[i].route >= 0 && models[i].route < n)
			metrics_line(b, &metrics_requests, routes[models[i].route].name, models[i].model,
			    models[i].n, 0);
	free(models);
}

/* Every family of metrics_series: its head, then each route's rows. */
static void
metrics_render_stats(struct buf *b, const struct metrics_route *routes, int n,
    const struct stats_snapshot *snap)
{
	size_t nseries = UTIL_ARRAY_LEN(metrics_series);
	for (size_t first = 0, end; first < nseries; first = end) {
		const struct metrics_series *fam = &metrics_series[first];
		for (end = first + 1; end < nseries && strcmp(metrics_series[end].name, fam->name) == 0; )
			end++;
		metrics_head(b, fam);
		for (int i = 0; i < n; i++) {
			int sr = routes[i].stats_route;
			if (sr < 0 || sr >= snap->nroutes)
				continue;
			for (size_t k = first; k < end; k++) {
				const struct metrics_series *s = &metrics_series[k];
				int64_t v = *(const int64_t *)((const char *)&snap->route[sr] + s->field);
				metrics_line(b, s, routes[i].name, s->value, v, s->usd);
			}
		}
	}
}

char *
metrics_render(metrics_t *m, const struct metrics_route *routes, int n, stats_t *stats)
{
	struct buf b = { 0 };
	metrics_render_requests(m, &b, routes, n);
	if (stats != NULL) {
		struct stats_snapshot *snap = xmalloc(sizeof *snap);
		stats_snapshot(stats, snap);
		metrics_render_stats(&b, routes, n, snap);
		free(snap);
	}
	return b.data;   /* never NULL: the first head is always there */
}
