/*
 * stats: owns the live counters per route and in total, the per-minute
 * token rings (sparklines), the recent-cost ring (burn rate), each route's
 * last requests and the policy's view it pushes. One mutex guards
 * everything and is a leaf; every change bumps the version and writes an
 * 8-byte 1 to the wake fd (eventfd-compatible, also fine for a pipe) after
 * unlocking.
 */
#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define COST_RING_MIN 10

/* tokens per minute, slot = minute % STATS_HISTORY_MIN */
struct ring {
	int64_t minute[STATS_HISTORY_MIN];
	int64_t tokens[STATS_HISTORY_MIN];
};

struct stats {
	pthread_mutex_t lock;
	int nroutes;
	int wake_fd;
	uint64_t version;
	struct stats_counts route[STATS_MAX_ROUTES];
	struct ring route_ring[STATS_MAX_ROUTES];
	struct stats_counts total;
	struct ring total_ring;
	int64_t cost_minute[COST_RING_MIN];
	int64_t cost_micros[COST_RING_MIN];
	struct stats_policy_info policy;
	struct stats_ledger ledger;
	struct stats_team team;
	/* recent requests per route, recent_next[r] = slot of the next one */
	struct stats_recent recent[STATS_MAX_ROUTES][STATS_RECENT_MAX];
	int recent_next[STATS_MAX_ROUTES];
	int recent_count[STATS_MAX_ROUTES];
};

static void
stats_ring_init(struct ring *r)
{
	for (int i = 0; i < STATS_HISTORY_MIN; i++) {
		r->minute[i] = -1;
		r->tokens[i] = 0;
	}
}

static void
stats_ring_add(struct ring *r, int64_t minute, int64_t tokens)
{
	int i = (int)(minute % STATS_HISTORY_MIN);
	if (r->minute[i] != minute) {
		r->minute[i] = minute;
		r->tokens[i] = 0;
	}
	r->tokens[i] += tokens;
}

static void
stats_ring_read(const struct ring *r, int64_t minute, int64_t out[STATS_HISTORY_MIN])
{
	for (int k = 0; k < STATS_HISTORY_MIN; k++) {
		int64_t m = minute - k;
		int i = (int)(((m % STATS_HISTORY_MIN) + STATS_HISTORY_MIN) % STATS_HISTORY_MIN);
		out[k] = m >= 0 && r->minute[i] == m ? r->tokens[i] : 0;
	}
}

stats_t *
stats_new(int nroutes, int wake_fd)
{
	stats_t *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->nroutes = nroutes < 0 ? 0 : UTIL_MIN(nroutes, STATS_MAX_ROUTES);
	s->wake_fd = wake_fd;
	for (int i = 0; i < STATS_MAX_ROUTES; i++) {
		stats_ring_init(&s->route_ring[i]);
		s->route[i].policy.ceiling_micros = -1;
		s->route[i].policy.ceiling_tokens = -1;
	}
	s->total.policy.ceiling_micros = -1;
	s->total.policy.ceiling_tokens = -1;
	s->policy.daily_ceiling_micros = -1;
	stats_ring_init(&s->total_ring);
	for (int i = 0; i < COST_RING_MIN; i++)
		s->cost_minute[i] = -1;
	return s;
}

void
stats_free(stats_t *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
stats_wake(stats_t *s)
{
	if (s->wake_fd < 0)
		return;
	uint64_t one = 1;
	ssize_t n;
	do {
		n = write(s->wake_fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the UI has a wake-up pending already */
}

int
stats_add_route(stats_t *s)
{
	int r = -1;
	pthread_mutex_lock(&s->lock);
	if (s->nroutes < STATS_MAX_ROUTES) {
		r = s->nroutes++;
		s->version++;
	}
	pthread_mutex_unlock(&s->lock);
	if (r >= 0)
		stats_wake(s);
	return r;
}

int
stats_ensure_routes(stats_t *s, int n)
{
	int grew = 0;
	n = UTIL_MIN(n, STATS_MAX_ROUTES);
	pthread_mutex_lock(&s->lock);
	if (s->nroutes < n) {
		s->nroutes = n;
		s->version++;
		grew = 1;
	}
	int have = s->nroutes;
	pthread_mutex_unlock(&s->lock);
	if (grew)
		stats_wake(s);
	return have;
}

static struct stats_counts *
stats_route_counts(stats_t *s, int route)
{
	return route >= 0 && route < s->nroutes ? &s->route[route] : NULL;
}

/* The slot of subagent id in c, or when create is set a new one (an
 * unused slot, else the least recent one with nothing in flight); NULL if
 * none. */
static struct stats_subagent *
stats_subagent_slot(struct stats_counts *c, const char *id, int create)
{
	struct stats_subagent *pick = NULL;
	for (int i = 0; i < STATS_MAX_SUBAGENTS; i++) {
		struct stats_subagent *a = &c->sub[i];
		if (a->id[0] != '\0' && strcmp(a->id, id) == 0)
			return a;
		if (a->id[0] == '\0') {
			if (pick == NULL || pick->id[0] != '\0')
				pick = a;      /* an unused slot first */
		} else if (a->inflight == 0 && (pick == NULL ||
		    (pick->id[0] != '\0' && a->last_ms < pick->last_ms))) {
			pick = a;
		}
	}
	if (!create || pick == NULL)
		return NULL;
	memset(pick, 0, sizeof *pick);
	snprintf(pick->id, sizeof pick->id, "%s", id);
	return pick;
}

void
stats_begin_agent(stats_t *s, int route, int64_t reserved_micros, const char *subagent)
{
	int64_t now = util_now_ms();
	pthread_mutex_lock(&s->lock);
	struct stats_counts *targets[2] = { &s->total, stats_route_counts(s, route) };
	for (int i = 0; i < 2; i++) {
		if (targets[i] == NULL)
			continue;
		targets[i]->inflight++;
		targets[i]->reserved_micros += reserved_micros;
		targets[i]->last_activity_ms = now;
	}
	if (targets[1] != NULL) {
		targets[1]->act.last_begin_ms = now;
		struct stats_subagent *a = subagent != NULL && subagent[0] != '\0' ?
		    stats_subagent_slot(targets[1], subagent, 1) : NULL;
		if (a != NULL) {
			a->inflight++;
			a->last_ms = now;
		}
	}
	s->version++;
	pthread_mutex_unlock(&s->lock);
	stats_wake(s);
}

void
stats_begin(stats_t *s, int route, int64_t reserved_micros)
{
	stats_begin_agent(s, route, reserved_micros, NULL);
}

/* A route's request ended: the agent's activity, or its subagent's counts. */
static void
stats_activity_end(struct stats_counts *c, const struct stats_result *r, int64_t now)
{
	if (r->session != NULL && r->session[0] != '\0')
		snprintf(c->act.session, sizeof c->act.session, "%s", r->session);
	if (r->key_hash != NULL && r->key_hash[0] != '\0')
		snprintf(c->act.key_hash, sizeof c->act.key_hash, "%s", r->key_hash);
	if (r->helper == 0)
		c->act.conversation = 1;
	/* an answered title or summary says nothing of the agent's turn, once
	 * the route has a conversation (requests with tools) at all */
	if (r->helper == 1 && c->act.conversation && !r->refused && r->status >= 200 &&
	    r->status < 300)
		return;
	if (r->subagent == NULL || r->subagent[0] == '\0') {
		c->act.last_end_ms = now;
		snprintf(c->act.last_stop, sizeof c->act.last_stop, "%s",
		    r->stop_reason != NULL ? r->stop_reason : "");
		c->act.last_status = r->status;
		c->act.last_refused = r->refused;
		return;
	}
	struct stats_subagent *a = stats_subagent_slot(c, r->subagent, 1);
	if (a == NULL)
		return;
	a->requests++;
	a->inflight = a->inflight > 0 ? a->inflight - 1 : 0;
	a->tokens += usage_total_tokens(&r->usage);
	a->cost_micros += r->cost_micros;
	a->last_ms = now;
}

static int
stats_overloaded_stream(const struct stats_result *r)
{
	return r->status >= 200 && r->status < 300 &&
	    strcmp(r->usage.error_type, "overloaded_error") == 0;
}

/* The conversation's model (a request with the agent's tools) apart from
 * a helper's (titles, summaries: no tools). */
static void
stats_note_model(struct stats_counts *c, const char *used, const char *asked, int helper)
{
	if (helper == 1) {
		snprintf(c->helper_model, sizeof c->helper_model, "%s", used);
	} else if (helper == 0) {
		snprintf(c->main_model, sizeof c->main_model, "%s", used);
		snprintf(c->main_model_asked, sizeof c->main_model_asked, "%s", asked);
	}
}

static void
stats_count_end(struct stats_counts *c, const struct stats_result *r, int64_t reserved, int64_t now)
{
	c->inflight--;
	c->reserved_micros -= reserved;
	c->requests++;
	c->err_429 += r->n429;
	c->err_529 += r->n529;
	if (r->clamped_from > 0 && !r->refused)
		c->clamped++;
	if (r->refused)
		c->refused++;
	else if (r->status >= 200 && r->status < 300)
		c->ok_2xx++;
	else if (r->status == 429)
		c->err_429 += r->n429 == 0;     /* counted once at least */
	else if (r->status == 529)
		c->err_529 += r->n529 == 0;
	else if (r->status >= 400 && r->status < 500)
		c->err_4xx++;
	else
		c->err_5xx++;                  /* other 5xx, transport errors (0) */
	if (stats_overloaded_stream(r))
		c->err_529++;
	c->retries += r->retries;
	c->fallbacks += r->fallbacks;
	c->input_tokens += r->usage.input_tokens;
	c->output_tokens += r->usage.output_tokens;
	c->cache_read_tokens += r->usage.cache_read_tokens;
	c->cache_write_5m_tokens += r->usage.cache_write_5m_tokens;
	c->cache_write_1h_tokens += r->usage.cache_write_1h_tokens;
	c->cost_micros += r->cost_micros;
	if (!r->priced && !r->refused && r->usage.has_usage)
		c->unpriced++;
	if (r->model_used != NULL && r->model_used[0] != '\0')
		snprintf(c->last_model, sizeof(c->last_model), "%s", r->model_used);
	if (r->error != NULL && r->error[0] != '\0')
		snprintf(c->last_error, sizeof(c->last_error), "%s", r->error);
	if (r->model_used != NULL && r->model_used[0] != '\0') {
		const char *asked = r->model_asked != NULL && r->model_asked[0] != '\0' ?
		    r->model_asked : r->model_used;
		snprintf(c->last_model_asked, sizeof(c->last_model_asked), "%s", asked);
		stats_note_model(c, r->model_used, asked, r->helper);
	}
	c->last_activity_ms = now;
}

static void
stats_recent_add(stats_t *s, const struct stats_result *r)
{
	struct stats_recent *e = &s->recent[r->route][s->recent_next[r->route]];
	memset(e, 0, sizeof(*e));
	e->time = util_wall();
	snprintf(e->model, sizeof(e->model), "%s", r->model_used ? r->model_used : "");
	snprintf(e->model_asked, sizeof(e->model_asked), "%s", r->model_asked ? r->model_asked : "");
	e->input_tokens = r->usage.input_tokens;
	e->output_tokens = r->usage.output_tokens;
	e->cache_read_tokens = r->usage.cache_read_tokens;
	e->cache_write_tokens = r->usage.cache_write_5m_tokens + r->usage.cache_write_1h_tokens;
	e->cost_micros = r->cost_micros;
	e->priced = r->priced;
	e->status = r->status;
	e->refused = r->refused;
	e->retries = r->retries;
	e->fallbacks = r->fallbacks;
	e->n429 = r->n429;
	e->n529 = r->n529;
	e->out_limit = r->out_limit;
	e->clamped_from = r->clamped_from;
	s->recent_next[r->route] = (s->recent_next[r->route] + 1) % STATS_RECENT_MAX;
	if (s->recent_count[r->route] < STATS_RECENT_MAX)
		s->recent_count[r->route]++;
}

void
stats_end_at(stats_t *s, const struct stats_result *r, int64_t reserved_micros, int64_t now_ms)
{
	int64_t minute = now_ms / 60000;
	int64_t tokens = usage_total_tokens(&r->usage);
	pthread_mutex_lock(&s->lock);
	stats_count_end(&s->total, r, reserved_micros, now_ms);
	stats_ring_add(&s->total_ring, minute, tokens);
	struct stats_counts *c = stats_route_counts(s, r->route);
	if (c != NULL) {
		stats_count_end(c, r, reserved_micros, now_ms);
		stats_activity_end(c, r, now_ms);
		stats_ring_add(&s->route_ring[r->route], minute, tokens);
		stats_recent_add(s, r);
	}
	int i = (int)(minute % COST_RING_MIN);
	if (s->cost_minute[i] != minute) {
		s->cost_minute[i] = minute;
		s->cost_micros[i] = 0;
	}
	s->cost_micros[i] += r->cost_micros;
	s->version++;
	pthread_mutex_unlock(&s->lock);
	stats_wake(s);
}

void
stats_end(stats_t *s, const struct stats_result *r, int64_t reserved_micros)
{
	stats_end_at(s, r, reserved_micros, util_now_ms());
}

/* Subagents most recent first, unused slots last. */
static int
stats_subagent_cmp(const void *a, const void *b)
{
	const struct stats_subagent *x = a, *y = b;
	if ((x->id[0] == '\0') != (y->id[0] == '\0'))
		return x->id[0] == '\0' ? 1 : -1;
	return (x->last_ms < y->last_ms) - (x->last_ms > y->last_ms);
}

void
stats_snapshot_at(stats_t *s, struct stats_snapshot *out, int64_t now_ms)
{
	int64_t minute = now_ms / 60000;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	out->version = s->version;
	out->nroutes = s->nroutes;
	for (int i = 0; i < s->nroutes; i++) {
		out->route[i] = s->route[i];
		stats_ring_read(&s->route_ring[i], minute, out->route[i].tokens_per_min);
	}
	out->total = s->total;
	out->policy = s->policy;
	out->ledger = s->ledger;
	out->team = s->team;
	stats_ring_read(&s->total_ring, minute, out->total.tokens_per_min);
	for (int i = 0; i < COST_RING_MIN; i++)
		if (s->cost_minute[i] > minute - COST_RING_MIN && s->cost_minute[i] <= minute)
			out->cost_last_10min_micros += s->cost_micros[i];
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < out->nroutes; i++)
		qsort(out->route[i].sub, STATS_MAX_SUBAGENTS, sizeof out->route[i].sub[0],
		    stats_subagent_cmp);
}

void
stats_snapshot(stats_t *s, struct stats_snapshot *out)
{
	stats_snapshot_at(s, out, util_now_ms());
}

uint64_t
stats_version(stats_t *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t v = s->version;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void
stats_set_route_policy(stats_t *s, int route, const struct stats_route_policy *p)
{
	pthread_mutex_lock(&s->lock);
	struct stats_counts *c = route < 0 ? &s->total : stats_route_counts(s, route);
	if (c != NULL) {
		c->policy = *p;
		s->version++;
	}
	pthread_mutex_unlock(&s->lock);
	if (c != NULL)
		stats_wake(s);
}

void
stats_set_policy(stats_t *s, const struct stats_policy_info *p)
{
	pthread_mutex_lock(&s->lock);
	s->policy = *p;
	s->version++;
	pthread_mutex_unlock(&s->lock);
	stats_wake(s);
}

void
stats_set_ledger(stats_t *s, const struct stats_ledger *l)
{
	pthread_mutex_lock(&s->lock);
	s->ledger = *l;
	s->version++;
	pthread_mutex_unlock(&s->lock);
	stats_wake(s);
}

void
stats_set_team(stats_t *s, const struct stats_team *t)
{
	pthread_mutex_lock(&s->lock);
	int changed = memcmp(&s->team, t, sizeof *t) != 0;
	if (changed) {
		s->team = *t;
		s->version++;
	}
	pthread_mutex_unlock(&s->lock);
	if (changed)
		stats_wake(s);
}

int
stats_recent(stats_t *s, int route, struct stats_recent *out, int max)
{
	int n = 0;
	pthread_mutex_lock(&s->lock);
	if (route >= 0 && route < s->nroutes) {
		int have = s->recent_count[route];
		for (int k = 0; k < have && n < max; k++) {
			int i = (s->recent_next[route] - 1 - k + 2 * STATS_RECENT_MAX) % STATS_RECENT_MAX;
			out[n++] = s->recent[route][i];
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}
