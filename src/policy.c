/*
 * policy: owns the state behind the gateway's hooks: the spend ceilings
 * and the in-process budget (reserve -> settle -> release under one
 * mutex), the 429 pacing queues per API key, the 529 retry/fallback logic
 * with its circuit breakers, and the per-route settings the UI changes at
 * run time (fallback chain, model override). What a body says is
 * reqbody.c's, what a model id means is model.c's. Every wait goes through
 * policy_sleep/the pacing loop on one condition variable, so
 * policy_shutdown() ends them all at once.
 *
 * Locking: p->lock guards everything here. While holding it we may take
 * the rate-limit table's lock (rl_table_get) and the log's; stats are
 * pushed after unlocking; an attempt's body is peeked without it. Nothing
 * called under it calls back into the policy.
 */
#include "policy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "model.h"
#include "reqbody.h"
#include "util.h"

#define SLICE_MS 50              /* longest single condition wait */
#define MAX_CIRCUITS 16
#define PEEK_BYTES 8192
#define ERROR_BODY_BYTES 16384
#define ERROR_BODY_MS 1000

enum { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF };

struct proute {
	int used;
	int number;
	char name[64];
	char agent[64];
	int64_t ceiling_micros, ceiling_tokens;
	double downgrade_at;
	char *fallback[POLICY_MAX_CHAIN];
	int nfallback;
	int64_t spent_micros, reserved_micros;
	int64_t spent_tokens, reserved_tokens;
	char override[MODEL_ID_MAX];
	int downgraded;
	int64_t paced, pacing, circuit_skips;
};

struct waiter {
	struct waiter *next;
};

struct pkey {
	char hash[17];
	struct waiter *head, *tail;
	int nwait;
	double next_release;     /* spacing of queued releases */
	double used;
};

struct circuit {
	char model[MODEL_ID_MAX];
	int state;
	int consecutive;
	double first;            /* first of the consecutive 529s */
	double open_until;
	int trial;               /* half-open: a trial request is out */
	int64_t opened;
	double last;
};

/* Per request (gateway_call.policy_data). */
struct pcall {
	int route;
	int64_t res_micros, res_tokens;
	char *chain[POLICY_MAX_CHAIN];
	int nchain, pos;
	int tries;               /* 529 retries on the current model */
	int retried_429;
	int trial;               /* holds the half-open trial of chain[pos] */
};

struct policy {
	struct policy_options o;
	char *unit, *raise_hint;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* CLOCK_MONOTONIC: pacing turns, shutdown */
	int stopping;
	struct proute routes[GATEWAY_MAX_ROUTES];
	int64_t ws_ceiling, ws_spent;
	int64_t reserved;        /* all in-flight reservations (workspace and day) */
	int64_t day_ceiling, day_spent;
	double day_start, day_end;
	struct pkey keys[RATELIMIT_MAX_KEYS];
	struct circuit circuits[MAX_CIRCUITS];
	int ncircuits;
};

/* ------------------------------------------------------------- clock */

static double
policy_now(policy_t *p)
{
	return p->o.clock != NULL ? p->o.clock(p->o.clock_user) : util_wall();
}

/* Wait on the condition variable for up to ms (lock held). */
static void
policy_cond_wait_ms(policy_t *p, int64_t ms)
{
	struct timespec ts;
	if (ms < 1)
		ms = 1;
	if (ms > SLICE_MS)
		ms = SLICE_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)(ms * 1000000);
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* Sleep ms by the policy's clock. -1 if the policy is shutting down. */
static int
policy_sleep(policy_t *p, int64_t ms)
{
	pthread_mutex_lock(&p->lock);
	double until = policy_now(p) + (double)ms / 1000.0;
	while (!p->stopping) {
		double left = until - policy_now(p);
		if (left <= 0)
			break;
		policy_cond_wait_ms(p, (int64_t)ceil(left * 1000.0));
	}
	int rc = p->stopping ? -1 : 0;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Local midnight bounds around now (lock held); a new day starts at 0. */
static void
policy_day_roll(policy_t *p, double now)
{
	if (now >= p->day_start && now < p->day_end)
		return;
	time_t t = (time_t)now;
	struct tm tm;
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	double start = (double)mktime(&tm);
	tm.tm_mday++;
	tm.tm_isdst = -1;
	double end = (double)mktime(&tm);
	if (p->day_end > 0)
		p->day_spent = 0;   /* rolled over: a new day */
	p->day_start = start;
	p->day_end = end;
}

/* ------------------------------------------------------ pure helpers */

int64_t
policy_backoff_ms(int base_ms, int cap_ms, int attempt, double r)
{
	int64_t hi = base_ms;
	for (int i = 0; i < attempt && hi < cap_ms; i++)
		hi *= 2;
	if (hi > cap_ms)
		hi = cap_ms;
	if (r < 0)
		r = 0;
	if (r >= 1)
		r = 0.999999;
	return (int64_t)(r * (double)hi);
}

static double
policy_random_unit(void)
{
	uint64_t v;
	util_random(&v, sizeof v);
	return (double)(v >> 11) / 9007199254740992.0;   /* 2^53 */
}

/* The chain for model: model_chain over the priced models. */
static int
policy_chain(const pricing_t *pr, const char *model, const char *const *fallback,
    int nfallback, char **out, int max)
{
	const char *ids[256];
	int n = pr != NULL ? pricing_models(pr, ids, (int)UTIL_ARRAY_LEN(ids)) : 0;
	return model_chain(model, ids, n, fallback, nfallback, out, max);
}

/* -------------------------------------------------------------- setup */

policy_t *
policy_new(const struct policy_options *o)
{
	policy_t *p = xcalloc(1, sizeof *p);
	pthread_condattr_t ca;
	p->o = *o;
	if (p->o.warn_at <= 0)
		p->o.warn_at = POLICY_WARN_AT;
#define DFLT(f, v) if (p->o.f == 0) p->o.f = (v)
	DFLT(pace_cap_ms, POLICY_PACE_CAP_MS);
	DFLT(pace_gap_ms, POLICY_PACE_GAP_MS);
	DFLT(retry_base_ms, POLICY_RETRY_BASE_MS);
	DFLT(retry_cap_ms, POLICY_RETRY_CAP_MS);
	DFLT(retry_max, POLICY_RETRY_MAX);
	DFLT(breaker_k, POLICY_BREAKER_K);
	DFLT(breaker_window_ms, POLICY_BREAKER_WINDOW_MS);
	DFLT(breaker_cooldown_ms, POLICY_BREAKER_COOLDOWN_MS);
	DFLT(peek_ms, POLICY_PEEK_MS);
#undef DFLT
	if (p->o.retry_max < 0)
		p->o.retry_max = 0;
	if (p->o.pace_gap_ms < 0)
		p->o.pace_gap_ms = 0;
	p->unit = xstrdup(o->unit ? o->unit : "pane");
	p->raise_hint = xstrdup(o->raise_hint ? o->raise_hint : "Raise it with --pane-ceiling.");
	p->o.unit = p->o.raise_hint = NULL;
	p->o.ledger_path = NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->ws_ceiling = o->ceiling_micros;
	p->day_ceiling = o->daily_ceiling_micros;
	double now = policy_now(p);
	policy_day_roll(p, now);
	/* Today's spend survives a restart: read it back from the ledger. */
	if (o->ledger_path != NULL)
		p->day_spent = ledger_spend_since(o->ledger_path, p->day_start);
	if (p->day_spent < 0)
		p->day_spent = 0;
	return p;
}

void
policy_shutdown(policy_t *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void
policy_free(policy_t *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < GATEWAY_MAX_ROUTES; i++)
		for (int k = 0; k < p->routes[i].nfallback; k++)
			free(p->routes[i].fallback[k]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->unit);
	free(p->raise_hint);
	free(p);
}

/* --------------------------------------------------------- stats push */

static int
policy_warn_of(int64_t ceiling, int64_t used, double at)
{
	return ceiling > 0 && (double)used >= at * (double)ceiling;
}

/* Spent and reserved past warn_at of either of the route's ceilings. */
static int
policy_route_warn(const policy_t *p, const struct proute *rt)
{
	return policy_warn_of(rt->ceiling_micros, rt->spent_micros + rt->reserved_micros,
	    p->o.warn_at) ||
	    policy_warn_of(rt->ceiling_tokens, rt->spent_tokens + rt->reserved_tokens, p->o.warn_at);
}

static void
policy_route_view(policy_t *p, const struct proute *rt, struct stats_route_policy *v)
{
	memset(v, 0, sizeof *v);
	v->ceiling_micros = rt->ceiling_micros;
	v->ceiling_tokens = rt->ceiling_tokens;
	v->spent_micros = rt->spent_micros;
	v->reserved_micros = rt->reserved_micros;
	v->spent_tokens = rt->spent_tokens;
	v->reserved_tokens = rt->reserved_tokens;
	v->warn = policy_route_warn(p, rt);
	v->downgraded = rt->downgraded;
	snprintf(v->model_override, sizeof v->model_override, "%s", rt->override);
	v->paced = rt->paced;
	v->pacing = rt->pacing;
	v->circuit_skips = rt->circuit_skips;
}

static int
policy_circuits_view(policy_t *p, struct stats_circuit *out, double now)
{
	int n = 0;
	for (int i = 0; i < p->ncircuits && n < STATS_MAX_CIRCUITS; i++) {
		const struct circuit *c = &p->circuits[i];
		if (c->state == CIRCUIT_CLOSED && c->opened == 0)
			continue;
		snprintf(out[n].model, sizeof out[n].model, "%s", c->model);
		out[n].state = c->state == CIRCUIT_OPEN && now >= c->open_until ? CIRCUIT_HALF : c->state;
		out[n].open_until = c->open_until;
		out[n].opened = c->opened;
		n++;
	}
	return n;
}

struct push {
	int route;
	struct stats_route_policy rv, tv;
	struct stats_policy_info info;
};

/* Build the stats view under the lock ... */
static void
policy_push_prepare(policy_t *p, int route, struct push *x)
{
	double now = policy_now(p);
	x->route = route;
	if (route >= 0 && route < GATEWAY_MAX_ROUTES)
		policy_route_view(p, &p->routes[route], &x->rv);
	memset(&x->tv, 0, sizeof x->tv);
	x->tv.ceiling_micros = p->ws_ceiling;
	x->tv.ceiling_tokens = -1;
	x->tv.spent_micros = p->ws_spent;
	x->tv.reserved_micros = p->reserved;
	x->tv.warn = policy_warn_of(p->ws_ceiling, p->ws_spent + p->reserved, p->o.warn_at) ||
	    policy_warn_of(p->day_ceiling, p->day_spent + p->reserved, p->o.warn_at);
	for (int i = 0; i < GATEWAY_MAX_ROUTES; i++) {
		x->tv.paced += p->routes[i].paced;
		x->tv.pacing += p->routes[i].pacing;
		x->tv.circuit_skips += p->routes[i].circuit_skips;
	}
	memset(&x->info, 0, sizeof x->info);
	x->info.daily_ceiling_micros = p->day_ceiling;
	x->info.daily_spent_micros = p->day_spent;
	x->info.warn_at = p->o.warn_at;
	x->info.ncircuits = policy_circuits_view(p, x->info.circuit, now);
	for (int i = 0; i < RATELIMIT_MAX_KEYS; i++) {
		if (p->keys[i].nwait == 0)
			continue;
		x->info.pacing_keys++;
		struct rl_state st;
		if (p->o.ratelimits != NULL && rl_table_get(p->o.ratelimits, p->keys[i].hash, &st))
			x->info.pacing_until = UTIL_MAX(x->info.pacing_until,
			    ratelimit_not_before(&st, now));
	}
}

/* ... and hand it over after unlocking. */
static void
policy_push_send(policy_t *p, const struct push *x)
{
	if (p->o.stats == NULL)
		return;
	if (x->route >= 0 && x->route < GATEWAY_MAX_ROUTES)
		stats_set_route_policy(p->o.stats, x->route, &x->rv);
	stats_set_route_policy(p->o.stats, -1, &x->tv);
	stats_set_policy(p->o.stats, &x->info);
}

static void
policy_push_now(policy_t *p, int route)
{
	struct push x;
	pthread_mutex_lock(&p->lock);
	policy_push_prepare(p, route, &x);
	pthread_mutex_unlock(&p->lock);
	policy_push_send(p, &x);
}

/* ------------------------------------------------------------- routes */

void
policy_add_route(policy_t *p, int route, const struct policy_route_config *rc)
{
	if (route < 0 || route >= GATEWAY_MAX_ROUTES)
		return;
	pthread_mutex_lock(&p->lock);
	struct proute *rt = &p->routes[route];
	for (int k = 0; k < rt->nfallback; k++)
		free(rt->fallback[k]);
	memset(rt, 0, sizeof *rt);
	rt->used = 1;
	rt->number = rc->number > 0 ? rc->number : route + 1;
	snprintf(rt->name, sizeof rt->name, "%s", rc->name ? rc->name : "");
	snprintf(rt->agent, sizeof rt->agent, "%s", rc->agent ? rc->agent : "");
	rt->ceiling_micros = rc->ceiling_micros;
	rt->ceiling_tokens = rc->ceiling_tokens;
	rt->downgrade_at = rc->downgrade_at;
	for (int k = 0; k < rc->nfallback && k < POLICY_MAX_CHAIN; k++)
		rt->fallback[rt->nfallback++] = xstrdup(rc->fallback[k]);
	pthread_mutex_unlock(&p->lock);
	policy_push_now(p, route);
}

/* Store a limit (negative: none, kept as -1) under the lock, then tell
 * the UI about route (-1: the workspace). */
static void
policy_set_limit(policy_t *p, int route, int64_t *limit, int64_t v)
{
	pthread_mutex_lock(&p->lock);
	*limit = v < 0 ? -1 : v;
	pthread_mutex_unlock(&p->lock);
	policy_push_now(p, route);
}

void
policy_set_pane_ceiling(policy_t *p, int route, int64_t micros)
{
	if (route >= 0 && route < GATEWAY_MAX_ROUTES)
		policy_set_limit(p, route, &p->routes[route].ceiling_micros, micros);
}

void
policy_set_pane_ceiling_tokens(policy_t *p, int route, int64_t tokens)
{
	if (route >= 0 && route < GATEWAY_MAX_ROUTES)
		policy_set_limit(p, route, &p->routes[route].ceiling_tokens, tokens);
}

void
policy_set_ceiling(policy_t *p, int64_t micros)
{
	policy_set_limit(p, -1, &p->ws_ceiling, micros);
}

void
policy_set_daily_ceiling(policy_t *p, int64_t micros)
{
	policy_set_limit(p, -1, &p->day_ceiling, micros);
}

void
policy_set_model_override(policy_t *p, int route, const char *model)
{
	if (route < 0 || route >= GATEWAY_MAX_ROUTES)
		return;
	pthread_mutex_lock(&p->lock);
	snprintf(p->routes[route].override, sizeof p->routes[route].override, "%s",
	    model ? model : "");
	pthread_mutex_unlock(&p->lock);
	policy_push_now(p, route);
}

int
policy_get_state(policy_t *p, int route, struct policy_route_state *out)
{
	if (route < 0 || route >= GATEWAY_MAX_ROUTES)
		return -1;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&p->lock);
	const struct proute *rt = &p->routes[route];
	int rc = rt->used ? 0 : -1;
	policy_day_roll(p, policy_now(p));
	out->ceiling_micros = rt->ceiling_micros;
	out->spent_micros = rt->spent_micros;
	out->reserved_micros = rt->reserved_micros;
	out->ceiling_tokens = rt->ceiling_tokens;
	out->spent_tokens = rt->spent_tokens;
	out->reserved_tokens = rt->reserved_tokens;
	out->warn = policy_route_warn(p, rt);
	out->downgraded = rt->downgraded;
	snprintf(out->model_override, sizeof out->model_override, "%s", rt->override);
	out->workspace_ceiling_micros = p->ws_ceiling;
	out->workspace_spent_micros = p->ws_spent;
	out->daily_ceiling_micros = p->day_ceiling;
	out->daily_spent_micros = p->day_spent;
	out->ncircuits = policy_circuits_view(p, out->circuit, policy_now(p));
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int
policy_waiting(policy_t *p, const char *key_hash)
{
	int n = 0;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < RATELIMIT_MAX_KEYS; i++)
		if (strcmp(p->keys[i].hash, key_hash) == 0)
			n = p->keys[i].nwait;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* ----------------------------------------------------------- ceilings */

/* "pane 2 (claude)": the name when it says more than the number, else the program. */
static void
policy_route_label(policy_t *p, const struct proute *rt, char *buf, size_t len)
{
	char plain[80];
	snprintf(plain, sizeof plain, "%s %d", p->unit, rt->number);
	const char *what = rt->name[0] && strcmp(rt->name, plain) != 0 ? rt->name :
	    rt->agent[0] ? rt->agent : NULL;
	if (what != NULL)
		snprintf(buf, len, "%s (%s)", plain, what);
	else
		snprintf(buf, len, "%s", plain);
}

/* "($4.98 spent, this request could cost up to $0.41)" */
static void
policy_usd_detail(int64_t spent, int64_t inflight, int64_t req, char *buf, size_t len)
{
	char a[32], b[32], c[32];
	util_fmt_usd(spent, a, sizeof a);
	util_fmt_usd(inflight, b, sizeof b);
	util_fmt_usd(req, c, sizeof c);
	if (inflight > 0)
		snprintf(buf, len, "(%s spent, %s in flight, this request could cost up to %s)", a, b, c);
	else
		snprintf(buf, len, "(%s spent, this request could cost up to %s)", a, c);
}

/* snprintf for messages (which may be cut at the refusal's 256 bytes). */
static void __attribute__((format(printf, 3, 4)))
policy_msg_set(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

/* Check every ceiling that applies for an extra micros/tokens (lock held).
 * 0 if it fits; else -1 with the message for the agent. */
static int
policy_ceilings_check(policy_t *p, struct proute *rt, int64_t micros, int64_t tokens,
    char *msg, size_t len)
{
	char label[160], cap[32], detail[160];
	if (rt->ceiling_micros >= 0 && rt->spent_micros + rt->reserved_micros + micros > rt->ceiling_micros) {
		policy_route_label(p, rt, label, sizeof label);
		util_fmt_usd(rt->ceiling_micros, cap, sizeof cap);
		policy_usd_detail(rt->spent_micros, rt->reserved_micros, micros, detail, sizeof detail);
		policy_msg_set(msg, len, "tokmux: %s reached its %s spend ceiling %s. %s", label, cap,
		    detail, p->raise_hint);
		return -1;
	}
	if (rt->ceiling_tokens >= 0 && rt->spent_tokens + rt->reserved_tokens + tokens > rt->ceiling_tokens) {
		policy_route_label(p, rt, label, sizeof label);
		policy_msg_set(msg, len, "tokmux: %s reached its %lld-token ceiling (%lld used, %lld in "
		    "flight, this request could use up to %lld). Raise ceiling_tokens in the config.",
		    label, (long long)rt->ceiling_tokens, (long long)rt->spent_tokens,
		    (long long)rt->reserved_tokens, (long long)tokens);
		return -1;
	}
	if (p->ws_ceiling >= 0 && p->ws_spent + p->reserved + micros > p->ws_ceiling) {
		util_fmt_usd(p->ws_ceiling, cap, sizeof cap);
		policy_usd_detail(p->ws_spent, p->reserved, micros, detail, sizeof detail);
		policy_msg_set(msg, len, "tokmux: this workspace reached its %s spend ceiling %s. "
		    "Raise it with --ceiling.", cap, detail);
		return -1;
	}
	if (p->day_ceiling >= 0 && p->day_spent + p->reserved + micros > p->day_ceiling) {
		util_fmt_usd(p->day_ceiling, cap, sizeof cap);
		policy_usd_detail(p->day_spent, p->reserved, micros, detail, sizeof detail);
		policy_msg_set(msg, len, "tokmux: today's spend reached the %s daily ceiling %s. "
		    "Raise it with --daily-ceiling.", cap, detail);
		return -1;
	}
	return 0;
}

/* The in-process budget: reserve a worst case, release it, spend what a
 * request really cost (lock held for each). */
static void
policy_reserve(policy_t *p, struct proute *rt, int64_t micros, int64_t tokens)
{
	rt->reserved_micros += micros;
	rt->reserved_tokens += tokens;
	p->reserved += micros;
}

static void
policy_release(policy_t *p, struct proute *rt, int64_t micros, int64_t tokens)
{
	policy_reserve(p, rt, -micros, -tokens);
}

static void
policy_spend(policy_t *p, struct proute *rt, int64_t micros, int64_t tokens)
{
	rt->spent_micros += micros;
	rt->spent_tokens += tokens;
	p->ws_spent += micros;
	p->day_spent += micros;
}

/* ------------------------------------------------------------ circuits */

static struct circuit *
policy_circuit_get(policy_t *p, const char *model, int create)
{
	for (int i = 0; i < p->ncircuits; i++)
		if (strcmp(p->circuits[i].model, model) == 0)
			return &p->circuits[i];
	if (!create)
		return NULL;
	struct circuit *c = NULL;
	if (p->ncircuits < MAX_CIRCUITS) {
		c = &p->circuits[p->ncircuits++];
	} else {   /* reuse the closed one seen longest ago */
		for (int i = 0; i < MAX_CIRCUITS; i++)
			if (p->circuits[i].state == CIRCUIT_CLOSED &&
			    (c == NULL || p->circuits[i].last < c->last))
				c = &p->circuits[i];
		if (c == NULL)
			return NULL;
	}
	memset(c, 0, sizeof *c);
	snprintf(c->model, sizeof c->model, "%s", model);
	return c;
}

/* 1 if requests for model must go elsewhere now (lock held). A circuit
 * whose cool-down ended lets one trial request through (half-open). */
static int
policy_circuit_blocks(policy_t *p, const char *model, double now, struct pcall *pc)
{
	struct circuit *c = policy_circuit_get(p, model, 0);
	if (c == NULL || c->state == CIRCUIT_CLOSED)
		return 0;
	if (c->state == CIRCUIT_OPEN && now < c->open_until)
		return 1;
	c->state = CIRCUIT_HALF;
	if (c->trial)
		return 1;
	c->trial = 1;
	pc->trial = 1;
	return 0;
}

static void
policy_circuit_open(policy_t *p, struct circuit *c, double now)
{
	c->state = CIRCUIT_OPEN;
	c->open_until = now + p->o.breaker_cooldown_ms / 1000.0;
	c->opened++;
	c->consecutive = 0;
	c->trial = 0;
	log_debug("policy: circuit for %s open for %d ms", c->model, p->o.breaker_cooldown_ms);
}

/* A 529 (or overloaded stream) for model (lock held). Returns 1 if its circuit is open. */
static int
policy_circuit_fail(policy_t *p, const char *model, double now, struct pcall *pc)
{
	struct circuit *c = policy_circuit_get(p, model, 1);
	if (c == NULL)
		return 0;
	c->last = now;
	if (c->state == CIRCUIT_HALF || (pc->trial && c->state != CIRCUIT_OPEN)) {
		pc->trial = 0;
		policy_circuit_open(p, c, now);   /* the trial failed */
		return 1;
	}
	if (c->state == CIRCUIT_OPEN)
		return 1;
	if (c->consecutive == 0 || now - c->first > p->o.breaker_window_ms / 1000.0) {
		c->first = now;
		c->consecutive = 0;
	}
	if (++c->consecutive >= p->o.breaker_k) {
		policy_circuit_open(p, c, now);
		return 1;
	}
	return 0;
}

static void
policy_circuit_ok(policy_t *p, const char *model, struct pcall *pc)
{
	struct circuit *c = policy_circuit_get(p, model, 0);
	if (c == NULL)
		return;
	c->consecutive = 0;
	if (pc->trial || c->state == CIRCUIT_HALF) {
		c->state = CIRCUIT_CLOSED;
		c->trial = 0;
	}
	pc->trial = 0;
}

/* The request leaves chain[pos] without a verdict: let another trial go. */
static void
policy_circuit_release(policy_t *p, struct pcall *pc)
{
	if (!pc->trial || pc->pos >= pc->nchain)
		return;
	struct circuit *c = policy_circuit_get(p, pc->chain[pc->pos], 0);
	if (c != NULL)
		c->trial = 0;
	pc->trial = 0;
}

/* ------------------------------------------------------------- pacing */

static struct pkey *
policy_key_get(policy_t *p, const char *hash, double now)
{
	struct pkey *free_slot = NULL;
	for (int i = 0; i < RATELIMIT_MAX_KEYS; i++) {
		struct pkey *k = &p->keys[i];
		if (strcmp(k->hash, hash) == 0) {
			k->used = now;
			return k;
		}
		if (k->nwait == 0 && (free_slot == NULL || k->used < free_slot->used))
			free_slot = k;
	}
	if (free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof *free_slot);
	snprintf(free_slot->hash, sizeof free_slot->hash, "%s", hash);
	free_slot->used = now;
	return free_slot;
}

static void
policy_key_remove(struct pkey *k, struct waiter *w)
{
	struct waiter **pp = &k->head, *prev = NULL;
	while (*pp != NULL && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return;
	*pp = w->next;
	if (k->tail == w)
		k->tail = prev;
	k->nwait--;
}

static double
policy_key_not_before(policy_t *p, const char *hash, double now)
{
	struct rl_state st;
	if (p->o.ratelimits == NULL || !rl_table_get(p->o.ratelimits, hash, &st))
		return 0;
	return ratelimit_not_before(&st, now);
}

/* Wait for the key's turn (lock held). 0 to go on; -1 with *retry_after
 * when the wait is longer than the cap. Requests queue in arrival order;
 * after a wait they leave pace_gap_ms apart. */
static int
policy_pace(policy_t *p, struct proute *rt, const char *hash, int *retry_after)
{
	double now = policy_now(p);
	struct pkey *k = policy_key_get(p, hash, now);
	if (k == NULL)
		return 0;
	if (k->nwait == 0 && policy_key_not_before(p, hash, now) <= now && k->next_release <= now)
		return 0;   /* the common case: nothing to wait for */
	struct waiter w = { NULL };
	if (k->tail != NULL)
		k->tail->next = &w;
	else
		k->head = &w;
	k->tail = &w;
	k->nwait++;
	rt->pacing++;
	rt->paced++;
	int rc = 0;
	for (;;) {
		now = policy_now(p);
		double nb = UTIL_MAX(policy_key_not_before(p, hash, now), k->next_release);
		double wait = nb - now;
		if (p->stopping)
			break;
		if (wait * 1000.0 > p->o.pace_cap_ms) {
			*retry_after = (int)ceil(wait);
			rc = -1;
			break;
		}
		if (k->head == &w && wait <= 0) {
			k->next_release = now + p->o.pace_gap_ms / 1000.0;
			break;
		}
		policy_cond_wait_ms(p, wait > 0 ? (int64_t)ceil(wait * 1000.0) : SLICE_MS);
	}
	policy_key_remove(k, &w);
	rt->pacing--;
	if (rc != 0)
		rt->paced--;
	pthread_cond_broadcast(&p->cond);   /* the next one in line */
	return rc;
}

/* -------------------------------------------------------------- hooks */

static void
policy_pcall_free(struct pcall *pc)
{
	if (pc == NULL)
		return;
	for (int i = 0; i < pc->nchain; i++)
		free(pc->chain[i]);
	free(pc);
}

/* Pick the first model of the chain to use (lock held): downgrade past
 * downgrade_at, skip models whose circuit is open (not the last one). */
static int
policy_choose_start(policy_t *p, struct proute *rt, struct pcall *pc, struct gateway_call *c,
    double now)
{
	int pos = 0;
	rt->downgraded = 0;
	if (rt->downgrade_at > 0 && pc->nchain > 1) {
		int over = (rt->ceiling_micros > 0 && (double)(rt->spent_micros + rt->reserved_micros) >=
		    rt->downgrade_at * (double)rt->ceiling_micros) ||
		    (rt->ceiling_tokens > 0 && (double)(rt->spent_tokens + rt->reserved_tokens) >=
		    rt->downgrade_at * (double)rt->ceiling_tokens);
		if (over) {
			rt->downgraded = 1;
			pos = 1;
		}
	}
	pc->pos = pos;
	while (pc->pos < pc->nchain - 1 && policy_circuit_blocks(p, pc->chain[pc->pos], now, pc)) {
		pc->pos++;
		c->fallbacks++;
		c->circuit = 1;
		rt->circuit_skips++;
	}
	if (pc->pos == pc->nchain - 1 && pc->nchain > 0 && !pc->trial)
		(void)policy_circuit_blocks(p, pc->chain[pc->pos], now, pc);   /* may take the trial */
	return pc->pos;
}

/* The chain for c and where on it to start (lock taken here). */
static struct pcall *
policy_admit_chain(policy_t *p, struct gateway_call *c)
{
	struct pcall *pc = xcalloc(1, sizeof *pc);
	const char *fb[POLICY_MAX_CHAIN];
	char base[MODEL_ID_MAX];
	pc->route = c->route;
	pthread_mutex_lock(&p->lock);
	struct proute *rt = &p->routes[c->route];
	snprintf(base, sizeof base, "%s", rt->override[0] ? rt->override : c->model_asked);
	for (int i = 0; i < rt->nfallback; i++)
		fb[i] = rt->fallback[i];
	pc->nchain = policy_chain(p->o.pricing, base, fb, rt->nfallback, pc->chain, POLICY_MAX_CHAIN);
	if (pc->nchain > 0)
		policy_choose_start(p, rt, pc, c, policy_now(p));
	pthread_mutex_unlock(&p->lock);
	return pc;
}

/* Rewrite the body for the model to send (if not the asked one) and
 * estimate the request's worst case (no lock). */
static void
policy_admit_estimate(policy_t *p, struct gateway_call *c, const char *model,
    int64_t *micros, int64_t *tokens)
{
	if (model[0] != '\0' && strcmp(model, c->model_asked) != 0) {
		c->new_body = reqbody_rewrite_model(c->body, c->body_len, model, &c->new_body_len);
		log_debug("policy: route %d: %s -> %s", c->route, c->model_asked, model);
	}
	struct reqbody rb;
	const struct reqbody *req = c->request;
	if (c->new_body != NULL || req == NULL) {   /* the body sent is not the one read */
		reqbody_read(c->new_body ? c->new_body : c->body,
		    c->new_body ? c->new_body_len : c->body_len, &rb);
		req = &rb;
	}
	reqbody_worst_case(p->o.pricing, model[0] ? model : NULL, req, micros, tokens);
}

/* Reserve the worst case under every ceiling, then wait for the key's
 * turn (lock held). 0, or -1 with the refusal in *r. */
static int
policy_admit_reserve(policy_t *p, struct gateway_call *c, struct pcall *pc, int64_t micros,
    int64_t tokens, struct gateway_refusal *r)
{
	struct proute *rt = &p->routes[c->route];
	policy_day_roll(p, policy_now(p));
	if (policy_ceilings_check(p, rt, micros, tokens, r->message, sizeof r->message) != 0) {
		r->status = 403;
		snprintf(r->type, sizeof r->type, "permission_error");
		return -1;
	}
	policy_reserve(p, rt, micros, tokens);
	pc->res_micros = micros;
	pc->res_tokens = tokens;
	int retry_after = 0;
	if (c->key_hash[0] == '\0' || policy_pace(p, rt, c->key_hash, &retry_after) == 0)
		return 0;
	policy_release(p, rt, micros, tokens);
	r->status = 429;
	r->retry_after = retry_after;
	snprintf(r->type, sizeof r->type, "rate_limit_error");
	snprintf(r->message, sizeof r->message, "tokmux: this API key is over its rate "
	    "limit for another %d s (shared by every pane using it); try again then.", retry_after);
	return -1;
}

static int
policy_admit(void *user, struct gateway_call *c, struct gateway_refusal *r)
{
	policy_t *p = user;
	if (c->route < 0 || c->route >= GATEWAY_MAX_ROUTES)
		return 0;
	struct pcall *pc = policy_admit_chain(p, c);
	const char *model = pc->nchain > 0 ? pc->chain[pc->pos] : c->model_asked;
	int64_t micros, tokens;
	policy_admit_estimate(p, c, model, &micros, &tokens);

	struct push x;
	pthread_mutex_lock(&p->lock);
	int refused = policy_admit_reserve(p, c, pc, micros, tokens, r) != 0;
	if (refused)
		policy_circuit_release(p, pc);
	policy_push_prepare(p, c->route, &x);
	pthread_mutex_unlock(&p->lock);
	policy_push_send(p, &x);
	if (refused) {
		log_debug("policy: route %d refused: %d", c->route, r->status);
		policy_pcall_free(pc);
		return -1;
	}
	c->policy_data = pc;
	return 0;
}

static const char *
policy_attempt_header(const struct gateway_attempt *a, const char *name)
{
	return a->header != NULL ? a->header(a, name) : NULL;
}

/* The attempt's body so far, up to max bytes, without consuming it: at
 * least min bytes, waiting up to timeout_ms. -1 after an abort. */
static ssize_t
policy_attempt_peek(const struct gateway_attempt *a, char *buf, size_t max, size_t min,
    int timeout_ms, int *ended)
{
	*ended = 1;
	return a->peek != NULL ? a->peek(a, buf, max, min, timeout_ms, ended) : 0;
}

/* Read a short error body without consuming it. */
static size_t
policy_peek_error_body(policy_t *p, const struct gateway_attempt *a, char *buf, size_t max)
{
	int64_t until = util_now_ms() + ERROR_BODY_MS;
	ssize_t n = 0;
	int ended;
	while (util_now_ms() < until) {
		n = policy_attempt_peek(a, buf, max, max, SLICE_MS, &ended);
		if (n < 0)
			return 0;
		if ((size_t)n >= max || ended)
			break;
	}
	n = policy_attempt_peek(a, buf, max, 0, 0, &ended);
	return n > 0 ? (size_t)n : 0;
}

/* 1 if the first event of a 200 stream is an overloaded error. */
static int
policy_stream_overloaded(policy_t *p, const struct gateway_attempt *a)
{
	const char *ct = policy_attempt_header(a, "Content-Type");
	if (ct == NULL || strstr(ct, "text/event-stream") == NULL)
		return 0;
	char *buf = xmalloc(PEEK_BYTES);
	int64_t until = util_now_ms() + p->o.peek_ms;
	int res = 0, ended;
	size_t have = 0;
	while (util_now_ms() < until && !__atomic_load_n(&p->stopping, __ATOMIC_ACQUIRE)) {
		ssize_t n = policy_attempt_peek(a, buf, PEEK_BYTES, have + 1, SLICE_MS, &ended);
		if (n < 0)
			break;
		have = (size_t)n;
		int v = reqbody_first_event_overloaded(buf, have);
		if (v >= 0) {
			res = v;
			break;
		}
		if (have >= PEEK_BYTES || ended)
			break;
	}
	free(buf);
	return res;
}

/* Seconds the response asks to wait: retry-after(-ms), else its rate-limit
 * headers (as of when they were read); -1 if it says nothing. */
static double
policy_response_wait(policy_t *p, const struct gateway_attempt *a, double now)
{
	const char *v = policy_attempt_header(a, "retry-after-ms");
	double s = v != NULL ? ratelimit_parse_retry_after_ms(v) : -1;
	if (s < 0 && (v = policy_attempt_header(a, "retry-after")) != NULL)
		s = ratelimit_parse_retry_after(v, now);
	if (s >= 0)
		return s;
	if (a->ratelimit == NULL)
		return -1;
	double seen = a->ratelimit->updated;
	double nb = ratelimit_not_before(a->ratelimit, seen);
	return nb > seen ? nb - seen : -1;
}

static int
policy_on_429(policy_t *p, struct gateway_call *c, struct pcall *pc,
    const struct gateway_attempt *a)
{
	if (pc->retried_429)
		return 0;
	char *buf = xmalloc(ERROR_BODY_BYTES);
	size_t n = policy_peek_error_body(p, a, buf, ERROR_BODY_BYTES);
	int spend = reqbody_is_spend_limit(buf, n);
	free(buf);
	if (spend) {
		log_debug("policy: route %d: 429 for a spend limit, not retried", c->route);
		return 0;
	}
	double wait = policy_response_wait(p, a, policy_now(p));
	if (wait < 0 || wait * 1000.0 > p->o.pace_cap_ms)
		return 0;
	pc->retried_429 = 1;
	log_debug("policy: route %d: 429, retrying in %.1f s", c->route, wait);
	return policy_sleep(p, (int64_t)ceil(wait * 1000.0)) == 0;
}

/* Move to the next usable model of the chain (lock not held). 1 with the
 * rewritten body, 0 when the chain is exhausted or the model won't fit a ceiling. */
static int
policy_fall_back(policy_t *p, struct gateway_call *c, struct pcall *pc, char **nb, size_t *nlen)
{
	pthread_mutex_lock(&p->lock);
	policy_circuit_release(p, pc);
	double now = policy_now(p);
	struct proute *rt = &p->routes[pc->route];
	int next = pc->pos + 1;
	while (next < pc->nchain - 1 && policy_circuit_blocks(p, pc->chain[next], now, pc)) {
		next++;
		c->circuit = 1;
		rt->circuit_skips++;
	}
	pthread_mutex_unlock(&p->lock);
	if (next >= pc->nchain)
		return 0;
	char *body = reqbody_rewrite_model(c->body, c->body_len, pc->chain[next], nlen);
	if (body == NULL)
		return 0;
	struct reqbody rb;
	int64_t micros, tokens;
	reqbody_read(body, *nlen, &rb);
	reqbody_worst_case(p->o.pricing, pc->chain[next], &rb, &micros, &tokens);
	int64_t dm = UTIL_MAX(0, micros - pc->res_micros), dt = UTIL_MAX(0, tokens - pc->res_tokens);
	char msg[256];
	pthread_mutex_lock(&p->lock);
	int ok = (dm == 0 && dt == 0) || policy_ceilings_check(p, rt, dm, dt, msg, sizeof msg) == 0;
	if (ok) {
		policy_reserve(p, rt, dm, dt);
		pc->res_micros += dm;
		pc->res_tokens += dt;
		pc->pos = next;
		pc->tries = 0;
		c->fallbacks++;
	} else {
		policy_circuit_release(p, pc);
	}
	pthread_mutex_unlock(&p->lock);
	if (!ok) {
		free(body);
		return 0;
	}
	log_debug("policy: route %d: falling back to %s", c->route, pc->chain[next]);
	*nb = body;
	return 1;
}

static int
policy_attempt(void *user, struct gateway_call *c, const struct gateway_attempt *a,
    char **nb, size_t *nlen)
{
	int status = a->status;
	policy_t *p = user;
	struct pcall *pc = c->policy_data;
	if (pc == NULL || __atomic_load_n(&p->stopping, __ATOMIC_ACQUIRE))
		return 0;
	const char *model = pc->nchain > 0 ? pc->chain[pc->pos] : c->model_asked;
	int openai = c->api == API_OPENAI_CHAT || c->api == API_OPENAI_RESPONSES;
	int overloaded = status == 529 || (openai && status == 503);
	int in_stream = 0;
	if (status == 200 && c->api == API_ANTHROPIC_MESSAGES && policy_stream_overloaded(p, a))
		overloaded = in_stream = 1;
	if (status >= 200 && status < 300 && !overloaded) {
		pthread_mutex_lock(&p->lock);
		policy_circuit_ok(p, model, pc);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	if (status == 429)
		return policy_on_429(p, c, pc, a);
	if (!overloaded)
		return 0;

	pthread_mutex_lock(&p->lock);
	int open = policy_circuit_fail(p, model, policy_now(p), pc);
	struct push ps;
	policy_push_prepare(p, c->route, &ps);
	pthread_mutex_unlock(&p->lock);
	policy_push_send(p, &ps);
	int retry = 0;
	if (!open && pc->tries < p->o.retry_max) {
		double ra = policy_response_wait(p, a, policy_now(p));
		int64_t ms = ra >= 0 ? (int64_t)ceil(ra * 1000.0) :
		    policy_backoff_ms(p->o.retry_base_ms, p->o.retry_cap_ms, pc->tries, policy_random_unit());
		if (ms <= p->o.pace_cap_ms) {
			pc->tries++;
			log_debug("policy: route %d: overloaded (%s), retry %d in %lld ms", c->route,
			    model, pc->tries, (long long)ms);
			retry = policy_sleep(p, ms) == 0;
			if (!retry)
				return 0;
		}
	}
	if (!retry)
		retry = policy_fall_back(p, c, pc, nb, nlen);
	if (retry && in_stream)
		c->n529++;   /* the dropped stream's error is no longer in the final usage */
	return retry;
}

/* What a finished request counts against the ceilings. */
static void
policy_settle_cost(const policy_t *p, const struct pcall *pc, const struct gateway_outcome *o,
    int64_t *cost, int64_t *tokens)
{
	const struct usage *u = o->usage;
	*cost = *tokens = 0;
	if (u != NULL && u->has_usage) {
		*cost = o->cost_micros;
		if (!o->priced && p->o.pricing != NULL)   /* unknown price: count it dearly */
			*cost = pricing_worst_case(p->o.pricing, o->model_used,
			    u->input_tokens + u->cache_read_tokens + u->cache_write_5m_tokens +
			    u->cache_write_1h_tokens, u->output_tokens);
		*tokens = usage_total_tokens(u);
	} else if (o->status >= 200 && o->status < 300) {
		/* cut before any usage arrived: the provider may bill it all */
		*cost = pc->res_micros;
		*tokens = pc->res_tokens;
	}
}

static void
policy_settle(void *user, const struct gateway_call *c, const struct gateway_outcome *o)
{
	policy_t *p = user;
	struct pcall *pc = c->policy_data;
	if (pc == NULL)
		return;
	int64_t cost, tokens;
	policy_settle_cost(p, pc, o, &cost, &tokens);
	struct push x;
	pthread_mutex_lock(&p->lock);
	struct proute *rt = &p->routes[pc->route];
	policy_day_roll(p, policy_now(p));
	policy_release(p, rt, pc->res_micros, pc->res_tokens);
	policy_spend(p, rt, cost, tokens);
	policy_circuit_release(p, pc);
	policy_push_prepare(p, pc->route, &x);
	pthread_mutex_unlock(&p->lock);
	policy_push_send(p, &x);
	policy_pcall_free(pc);
}

void
policy_hooks(policy_t *p, struct gateway_policy *out)
{
	memset(out, 0, sizeof *out);
	out->user = p;
	out->admit = policy_admit;
	out->attempt = policy_attempt;
	out->settle = policy_settle;
}
