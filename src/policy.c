/*
 * policy: owns the state behind the gateway's hooks: each request's model
 * chain and the body sent for it (the model, the output limit its
 * reservation pays for), the 429 pacing queues per API key, the 529
 * retry/fallback logic with its circuit breakers, and the per-route
 * settings the UI changes at run time (fallback chain, model override).
 * The spend ceilings are ceiling.c's (over the budget store), what a body
 * says is reqbody.c's, what a model id means is model.c's. Every wait goes
 * through policy_sleep/the pacing loop on one condition variable, so
 * policy_shutdown() ends them all at once.
 *
 * Locking: p->lock guards everything here. While holding it we may take
 * the rate-limit table's lock (rl_table_get), the ceiling's (its route
 * figures) and the log's; stats are pushed after unlocking; an attempt's
 * body is peeked without it; the ceiling reserves and settles (the budget
 * store) without it. Nothing called under it calls back into the policy.
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

#include "ceiling.h"
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
	double downgrade_at;
	char *fallback[POLICY_MAX_CHAIN];
	int nfallback;
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
	ceiling_hold_t *hold;    /* the reservation of chain[pos] */
	char *chain[POLICY_MAX_CHAIN];
	int nchain, pos;
	int tries;               /* 529 retries on the current model */
	int retried_429;
	int trial;               /* holds the half-open trial of chain[pos] */
};

struct policy {
	struct policy_options o;
	ceiling_t *ceil;
	int remote_store;        /* the budget store is a network round trip (Redis) */
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* CLOCK_MONOTONIC: pacing turns, shutdown */
	int stopping;
	struct proute routes[GATEWAY_MAX_ROUTES];
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
	struct ceiling_options co = {
		.pricing = o->pricing, .budget = o->budget, .scope_prefix = o->scope_prefix,
		.ledger_path = o->ledger_path, .ceiling_micros = o->ceiling_micros,
		.daily_ceiling_micros = o->daily_ceiling_micros,
		.min_output_tokens = o->min_output_tokens, .warn_at = p->o.warn_at, .unit = o->unit,
		.raise_hint = o->raise_hint, .extra_scopes = o->extra_scopes,
		.extra_user = o->extra_user, .clock = o->clock, .clock_user = o->clock_user,
		.fail_open = o->budget_fail_open,
	};
	char *err = NULL;
	p->remote_store = o->budget != NULL && strcmp(budget_where(o->budget), "memory") != 0;
	p->ceil = ceiling_new(&co, &err);
	if (p->ceil == NULL)
		fatal("policy: %s", err);
	p->o.unit = p->o.raise_hint = p->o.scope_prefix = p->o.ledger_path = NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
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
	ceiling_free(p->ceil);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* --------------------------------------------------------- stats push */

static void
policy_route_view(policy_t *p, int route, const struct proute *rt, struct stats_route_policy *v)
{
	struct ceiling_route_state cs;
	memset(v, 0, sizeof *v);
	ceiling_route_state(p->ceil, route, &cs);
	v->ceiling_micros = cs.ceiling_micros;
	v->ceiling_tokens = cs.ceiling_tokens;
	v->spent_micros = cs.spent_micros;
	v->reserved_micros = cs.reserved_micros;
	v->spent_tokens = cs.spent_tokens;
	v->reserved_tokens = cs.reserved_tokens;
	v->warn = cs.warn;
	v->blocked = cs.blocked;
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
	struct ceiling_totals t;
	if (route >= 0 && route < GATEWAY_MAX_ROUTES)
		policy_route_view(p, route, &p->routes[route], &x->rv);
	ceiling_totals(p->ceil, &t);
	memset(&x->tv, 0, sizeof x->tv);
	x->tv.ceiling_micros = t.workspace_ceiling_micros;
	x->tv.ceiling_tokens = -1;
	x->tv.spent_micros = t.workspace_spent_micros;
	x->tv.reserved_micros = t.reserved_micros;
	x->tv.warn = t.warn;
	x->tv.blocked = t.workspace_ceiling_micros == 0 || t.daily_ceiling_micros == 0;
	for (int i = 0; i < GATEWAY_MAX_ROUTES; i++) {
		x->tv.paced += p->routes[i].paced;
		x->tv.pacing += p->routes[i].pacing;
		x->tv.circuit_skips += p->routes[i].circuit_skips;
	}
	memset(&x->info, 0, sizeof x->info);
	x->info.daily_ceiling_micros = t.daily_ceiling_micros;
	x->info.daily_spent_micros = t.daily_spent_micros;
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
	struct ceiling_route_config cc = {
		.number = rc->number, .name = rc->name, .agent = rc->agent,
		.ceiling_micros = rc->ceiling_micros, .ceiling_tokens = rc->ceiling_tokens,
	};
	ceiling_add_route(p->ceil, route, &cc);
	pthread_mutex_lock(&p->lock);
	struct proute *rt = &p->routes[route];
	for (int k = 0; k < rt->nfallback; k++)
		free(rt->fallback[k]);
	memset(rt, 0, sizeof *rt);
	rt->used = 1;
	rt->downgrade_at = rc->downgrade_at;
	for (int k = 0; k < rc->nfallback && k < POLICY_MAX_CHAIN; k++)
		rt->fallback[rt->nfallback++] = xstrdup(rc->fallback[k]);
	pthread_mutex_unlock(&p->lock);
	policy_push_now(p, route);
}

void
policy_set_pane_ceiling(policy_t *p, int route, int64_t micros)
{
	ceiling_set_route(p->ceil, route, micros);
	policy_push_now(p, route);
}

void
policy_set_pane_ceiling_tokens(policy_t *p, int route, int64_t tokens)
{
	ceiling_set_route_tokens(p->ceil, route, tokens);
	policy_push_now(p, route);
}

void
policy_set_ceiling(policy_t *p, int64_t micros)
{
	ceiling_set_workspace(p->ceil, micros);
	policy_push_now(p, -1);
}

void
policy_set_daily_ceiling(policy_t *p, int64_t micros)
{
	ceiling_set_daily(p->ceil, micros);
	policy_push_now(p, -1);
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
	struct ceiling_route_state cs;
	struct ceiling_totals t;
	int rc = ceiling_route_state(p->ceil, route, &cs);
	ceiling_totals(p->ceil, &t);
	pthread_mutex_lock(&p->lock);
	const struct proute *rt = &p->routes[route];
	if (!rt->used)
		rc = -1;
	out->ceiling_micros = cs.ceiling_micros;
	out->spent_micros = cs.spent_micros;
	out->reserved_micros = cs.reserved_micros;
	out->ceiling_tokens = cs.ceiling_tokens;
	out->spent_tokens = cs.spent_tokens;
	out->reserved_tokens = cs.reserved_tokens;
	out->warn = cs.warn;
	out->blocked = cs.blocked;
	out->downgraded = rt->downgraded;
	snprintf(out->model_override, sizeof out->model_override, "%s", rt->override);
	out->workspace_ceiling_micros = t.workspace_ceiling_micros;
	out->workspace_spent_micros = t.workspace_spent_micros;
	out->daily_ceiling_micros = t.daily_ceiling_micros;
	out->daily_spent_micros = t.daily_spent_micros;
	out->reserved_total_micros = t.reserved_micros;
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
policy_pace(policy_t *p, struct proute *rt, const char *hash, int *retry_after, int nowait)
{
	double now = policy_now(p);
	struct pkey *k = policy_key_get(p, hash, now);
	if (k == NULL)
		return 0;
	if (k->nwait == 0 && policy_key_not_before(p, hash, now) <= now && k->next_release <= now)
		return 0;   /* the common case: nothing to wait for */
	if (nowait)
		return GATEWAY_LATER;   /* asked not to wait here: nothing queued yet */
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
			*retry_after = (int)ceil(UTIL_MIN(wait, RATELIMIT_MAX_RESET));
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
policy_pcall_free(policy_t *p, struct pcall *pc)
{
	if (pc == NULL)
		return;
	ceiling_release(p->ceil, pc->hold);   /* still held: never settled */
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
		struct ceiling_route_state cs;
		ceiling_route_state(p->ceil, pc->route, &cs);
		int over = (cs.ceiling_micros > 0 && (double)(cs.spent_micros + cs.reserved_micros) >=
		    rt->downgrade_at * (double)cs.ceiling_micros) ||
		    (cs.ceiling_tokens > 0 && (double)(cs.spent_tokens + cs.reserved_tokens) >=
		    rt->downgrade_at * (double)cs.ceiling_tokens);
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

/* Lower the output limit of body (len bytes, read into *rb) to the one
 * the hold pays for. A re-printed body may come out longer than the one
 * reserved for: then the hold is refitted (a lower limit) and the body
 * made again. 0 with *body replaced, -1 if the hold no longer fits. */
static int
policy_body_limit(policy_t *p, struct gateway_call *c, ceiling_hold_t *h, int64_t limit,
    char **body, size_t *len)
{
	for (int i = 0; i < 3; i++) {
		size_t n;
		char *b = reqbody_prepare(*body, *len, c->api, NULL, limit, &n);
		struct reqbody rb;
		if (b == NULL || reqbody_read(b, n, &rb) != REQBODY_OK) {
			free(b);
			return -1;
		}
		int64_t fit = ceiling_refit(p->ceil, h, &rb);
		if (fit == limit) {
			free(*body);
			*body = b;
			*len = n;
			c->out_limit = limit;
			return 0;
		}
		free(b);
		if (fit < 0)
			return -1;
		limit = fit;
	}
	return -1;
}

/* The body to send for model, reserved for: the body (fresh: the agent's
 * own, as read into c->request) rewritten for model with the output limit
 * the agent asked for (one added if it named none), a reservation for it,
 * then its limit lowered to what the reservation pays for. 0 with *hold
 * and *out (malloc'd; NULL: body as it is), or -1 with the refusal. */
static int
policy_body_for(policy_t *p, struct gateway_call *c, const char *model, int fresh,
    ceiling_hold_t **hold, char **out, size_t *out_len, struct gateway_refusal *r)
{
	const struct reqbody *asked = c->request;
	struct reqbody own;
	if (asked == NULL) {   /* not read by the caller: read it here */
		reqbody_read(c->body, c->body_len, &own);
		asked = &own;
	}
	int64_t want = asked->max_tokens >= 0 ? asked->max_tokens : REQBODY_DEFAULT_MAX_TOKENS;
	int same = model[0] == '\0' || strcmp(model, c->model_asked) == 0;
	char *b = NULL;
	size_t n = c->body_len;
	struct reqbody rb;
	*out = NULL;
	if (!fresh || !same || asked->limits == 0) {
		b = reqbody_prepare(c->body, c->body_len, c->api, same ? NULL : model, want, &n);
		if (!same)
			log_debug("policy: route %d: %s -> %s", c->route, c->model_asked, model);
	}
	if (b == NULL && asked == c->request)
		rb = *asked;   /* the body as the gateway read it: not parsed again */
	else if (reqbody_read(b != NULL ? b : c->body, n, &rb) != REQBODY_OK) {
		free(b);
		r->status = 400;
		snprintf(r->type, sizeof r->type, "invalid_request_error");
		snprintf(r->message, sizeof r->message, "tokmux: the request body cannot be read.");
		return -1;
	}
	struct ceiling_ask a = { .route = c->route, .api = c->api, .model = model, .rb = &rb };
	struct ceiling_grant g;
	if (ceiling_reserve(p->ceil, &a, hold, &g, r) != 0) {
		free(b);
		return -1;
	}
	c->out_limit = g.out_limit;
	c->clamped_from = g.clamped ? g.asked : 0;
	if (g.out_limit < rb.max_tokens || (rb.thinking_budget >= 0 && rb.thinking_budget >= g.out_limit)) {
		if (b == NULL) {
			b = xmalloc(c->body_len + 1);
			memcpy(b, c->body, c->body_len);
		}
		if (policy_body_limit(p, c, *hold, g.out_limit, &b, &n) != 0) {
			free(b);
			ceiling_release(p->ceil, *hold);
			*hold = NULL;
			ceiling_refusal_shape(c->api, r);
			snprintf(r->message, sizeof r->message, "tokmux: this request does not fit the "
			    "ceilings once its output limit is set; shorten it or raise the ceiling.");
			return -1;
		}
	}
	*out = b;
	*out_len = n;
	return 0;
}

/* Wait for the key's turn (lock held). 0, or -1 with the refusal in *r. */
static int
policy_admit_pace(policy_t *p, struct gateway_call *c, struct gateway_refusal *r)
{
	struct proute *rt = &p->routes[c->route];
	int retry_after = 0;
	int rc = c->key_hash[0] == '\0' ? 0 : policy_pace(p, rt, c->key_hash, &retry_after, c->nowait);
	if (rc == 0 || rc == GATEWAY_LATER)
		return rc;
	r->status = 429;
	r->retry_after = retry_after;
	snprintf(r->type, sizeof r->type, "rate_limit_error");
	snprintf(r->message, sizeof r->message, "tokmux: this API key is over its rate "
	    "limit for another %d s (shared by every pane using it); try again then.", retry_after);
	return -1;
}

/* Whether any ceiling applies to a route's requests: its own (USD or
 * tokens), the workspace's, today's, or the core's scopes (a team's). */
static int
policy_any_ceiling(policy_t *p, int route)
{
	struct ceiling_route_state rs;
	struct ceiling_totals t;
	if (p->o.extra_scopes != NULL)
		return 1;
	if (ceiling_route_state(p->ceil, route, &rs) == 0 &&
	    (rs.ceiling_micros >= 0 || rs.ceiling_tokens >= 0))
		return 1;
	ceiling_totals(p->ceil, &t);
	return t.workspace_ceiling_micros >= 0 || t.daily_ceiling_micros >= 0;
}

/* A ledger that cannot be written would leave the ceilings blind after a
 * restart: refuse, as a spending limit, while it fails (docs/POLICY.md). */
static int
policy_ledger_refuses(policy_t *p, const struct gateway_call *c, struct gateway_refusal *r)
{
	struct ledger_health h;
	if (p->o.ledger == NULL || p->o.ledger_fail_open)
		return 0;
	ledger_health(p->o.ledger, &h);
	if (!h.failing || !policy_any_ceiling(p, c->route))
		return 0;
	ceiling_refusal_shape(c->api, r);
	r->retry_after = 0;
	snprintf(r->message, sizeof r->message, "tokmux: the ledger cannot be written (%s), so "
	    "the spend ceilings cannot be kept: refused until it can. Free space or fix the "
	    "ledger file, or run with --ledger-fail-open.", strerror(h.error != 0 ? h.error : EIO));
	return 1;
}

static int
policy_admit(void *user, struct gateway_call *c, struct gateway_refusal *r)
{
	policy_t *p = user;
	if (c->route < 0 || c->route >= GATEWAY_MAX_ROUTES)
		return 0;
	if (policy_ledger_refuses(p, c, r)) {
		log_debug("policy: route %d refused: the ledger fails", c->route);
		return -1;
	}
	if (c->nowait && p->remote_store)
		return GATEWAY_LATER;   /* a Redis round trip (or its timeout) waits: not here */
	int fallbacks0 = c->fallbacks, circuit0 = c->circuit;
	struct pcall *pc = policy_admit_chain(p, c);
	const char *model = pc->nchain > 0 ? pc->chain[pc->pos] : c->model_asked;
	char *body = NULL;
	size_t len = 0;
	int refused = policy_body_for(p, c, model, 1, &pc->hold, &body, &len, r) != 0;

	struct push x;
	int later = 0;
	pthread_mutex_lock(&p->lock);
	if (!refused) {
		int pr = policy_admit_pace(p, c, r);
		later = pr == GATEWAY_LATER;
		refused = pr != 0 && !later;
	}
	if (refused || later)
		policy_circuit_release(p, pc);
	if (later) {   /* the skips are counted when admit() runs again */
		p->routes[c->route].circuit_skips -= c->fallbacks - fallbacks0;
		c->fallbacks = fallbacks0;
		c->circuit = circuit0;
	}
	policy_push_prepare(p, c->route, &x);
	pthread_mutex_unlock(&p->lock);
	if (later) {   /* undone: admit() runs again where it may wait */
		free(body);
		policy_pcall_free(p, pc);
		c->policy_data = NULL;
		return GATEWAY_LATER;
	}
	if (refused) {
		log_debug("policy: route %d refused: %d", c->route, r->status);
		free(body);
		policy_pcall_free(p, pc);   /* gives a reservation back */
		policy_push_now(p, c->route);
		return -1;
	}
	policy_push_send(p, &x);
	c->new_body = body;
	c->new_body_len = len;
	c->reserved_micros = ceiling_hold_micros(pc->hold);
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

/* 1 if policy_attempt() may wait for this attempt: a 429 or an overload
 * (pacing, backoff), or a 2xx Anthropic stream whose first event is not
 * all there yet. Decided on what has arrived, without waiting. */
static int
policy_attempt_would_wait(const struct gateway_call *c, const struct gateway_attempt *a,
    int waits)
{
	if (waits)
		return 1;
	if (a->status < 200 || a->status >= 300 || c->api != API_ANTHROPIC_MESSAGES)
		return 0;
	const char *ct = policy_attempt_header(a, "Content-Type");
	if (ct == NULL || strstr(ct, "text/event-stream") == NULL)
		return 0;
	char *buf = xmalloc(PEEK_BYTES);
	int ended = 0;
	ssize_t n = policy_attempt_peek(a, buf, PEEK_BYTES, 0, 0, &ended);
	int wait = n >= 0 && n < PEEK_BYTES && !ended &&
	    reqbody_first_event_overloaded(buf, (size_t)n) < 0;
	free(buf);
	return wait;
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
 * rewritten body, reserved for in place of the current model's; 0 when
 * the chain is exhausted or the model won't fit a ceiling. */
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
	ceiling_hold_t *h = NULL;
	struct gateway_refusal r;
	int64_t out_limit = c->out_limit, clamped_from = c->clamped_from;
	if (policy_body_for(p, c, pc->chain[next], 0, &h, nb, nlen, &r) != 0) {
		c->out_limit = out_limit;
		c->clamped_from = clamped_from;
		pthread_mutex_lock(&p->lock);
		policy_circuit_release(p, pc);
		pthread_mutex_unlock(&p->lock);
		log_debug("policy: route %d: no fallback to %s: %s", c->route, pc->chain[next],
		    r.message);
		return 0;
	}
	ceiling_release(p->ceil, pc->hold);
	pc->hold = h;
	pthread_mutex_lock(&p->lock);
	pc->pos = next;
	pc->tries = 0;
	c->fallbacks++;
	pthread_mutex_unlock(&p->lock);
	log_debug("policy: route %d: falling back to %s", c->route, pc->chain[next]);
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
	if (c->nowait && policy_attempt_would_wait(c, a, status == 429 || overloaded))
		return GATEWAY_LATER;
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

/* What a finished request counts against the ceilings (ceiling.c's rule). */
static int64_t
policy_charge(void *user, const struct gateway_call *c, const struct gateway_outcome *o)
{
	policy_t *p = user;
	struct pcall *pc = c->policy_data;
	return pc != NULL ? ceiling_charge(p->ceil, pc->hold, o) : o->cost_micros;
}

static void
policy_settle(void *user, const struct gateway_call *c, const struct gateway_outcome *o)
{
	policy_t *p = user;
	struct pcall *pc = c->policy_data;
	if (pc == NULL)
		return;
	ceiling_settle(p->ceil, pc->hold, o);
	pc->hold = NULL;
	struct push x;
	pthread_mutex_lock(&p->lock);
	policy_circuit_release(p, pc);
	policy_push_prepare(p, pc->route, &x);
	pthread_mutex_unlock(&p->lock);
	policy_push_send(p, &x);
	policy_pcall_free(p, pc);
}

void
policy_hooks(policy_t *p, struct gateway_policy *out)
{
	memset(out, 0, sizeof *out);
	out->user = p;
	out->admit = policy_admit;
	out->attempt = policy_attempt;
	out->charge = policy_charge;
	out->settle = policy_settle;
	out->settle_waits = p->remote_store;
}
