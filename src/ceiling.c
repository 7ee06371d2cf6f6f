/*
 * ceiling: owns the spend ceilings of the request path: each request's
 * scope list (pane, workspace, day, the core's extra scopes), the range
 * reservation in the budget store and the output limit it pays for, the
 * token ceilings, the refusal texts, the charge of a finished request,
 * each route's measured tokens per byte, and the figures the UI shows.
 *
 * Money is the store's: it decides, atomically over every scope, what a
 * request gets. The figures kept here (spent, reserved per route, the
 * workspace, today) mirror what this process did, for the sidebar and the
 * downgrade rule; they never decide. They change after a grant and before
 * a settle or release reaches the store, so they never show more than the
 * store holds.
 *
 * Locking: c->lock guards routes, mirrors and token counts; it is a leaf:
 * the store is always called without it.
 */
#include "ceiling.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "period.h"
#include "util.h"

#define CEILING_WARN_AT 0.8

struct croute {
	int used;
	int number;
	char name[64], agent[64];
	int64_t ceiling_micros, ceiling_tokens;
	int64_t spent_micros, reserved_micros;
	int64_t spent_tokens, reserved_tokens;
	double ratio[CEILING_RATIO_WINDOW];   /* measured input tokens per body byte */
	int nratio, next_ratio;
};

struct ceiling_hold {
	int route;
	budget_lease_t *lease;
	int64_t micros;                 /* the lease's amount */
	int64_t tokens;                 /* reserved against the token ceiling */
	int64_t in, in_1h;              /* input bound */
	int64_t out_limit, choices;     /* output sent */
	int64_t text_bytes, images;     /* of the body sent, for the ratio */
	double ratio;                   /* the route's tokens per byte used for the bound */
	int64_t floor;                  /* smallest output limit it may be sent with */
	double day_start;               /* the day it was reserved in */
	char model[MODEL_ID_MAX];
	struct budget_scope *open;      /* admitted unenforced (fail open, store unreachable):
	                                 * its scopes, charged at settle; else NULL */
	int nopen;
};

struct ceiling {
	struct ceiling_options o;
	char *prefix, *unit, *raise_hint;
	budget_t *budget;
	int own_budget;
	int inited;                     /* lock initialised */
	pthread_mutex_t lock;
	struct croute routes[GATEWAY_MAX_ROUTES];
	int64_t ws_ceiling, ws_spent;
	int64_t reserved;               /* every hold's micros */
	int64_t day_ceiling, day_spent;
	double day_start, day_end;
	int64_t plain_expire;           /* expire_at of the pane and workspace counters */
	int64_t seed;                   /* today's spend from the ledger, still to charge */
	struct budget_scope seed_scope; /* ... into this day counter */
	double seed_day;
};

static double
ceiling_now(const ceiling_t *c)
{
	return c->o.clock != NULL ? c->o.clock(c->o.clock_user) : util_wall();
}

/* Local midnight bounds around now (lock held); a new day starts at 0. */
static void
ceiling_day_roll(ceiling_t *c, double now)
{
	if (now >= c->day_start && now < c->day_end)
		return;
	struct period_tz tz = { .local = 1 };
	double start, end;
	char label[32];
	period_of(PERIOD_DAY, &tz, now, label, sizeof label, &start, &end);
	if (c->day_end > 0)
		c->day_spent = 0;
	c->day_start = start;
	c->day_end = end;
}

/* ------------------------------------------------------------ scopes */

static void
ceiling_route_label(const ceiling_t *c, const struct croute *rt, char *buf, size_t len)
{
	char plain[40];
	snprintf(plain, sizeof plain, "%.16s %d", c->unit, rt->number);
	const char *what = rt->name[0] && strcmp(rt->name, plain) != 0 ? rt->name :
	    rt->agent[0] ? rt->agent : NULL;
	if (what != NULL)
		snprintf(buf, len, "%s (%.48s)", plain, what);
	else
		snprintf(buf, len, "%s", plain);
}

static void
ceiling_scope_words(struct ceiling_scope *s, const char *name, const char *whose,
    const char *what, const char *hint)
{
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->whose, sizeof s->whose, "%s", whose);
	snprintf(s->what, sizeof s->what, "%s", what);
	snprintf(s->hint, sizeof s->hint, "%s", hint);
}

/* The request's own scopes (lock held): its route, the workspace, today. */
static int
ceiling_own_scopes(ceiling_t *c, const struct croute *rt, double now, struct ceiling_scope *out)
{
	char key[BUDGET_KEY_MAX], label[96], whose[104];
	struct period_tz tz = { .local = 1 };
	memset(out, 0, 3 * sizeof *out);
	snprintf(key, sizeof key, "%spane:%d", c->prefix, rt->number);
	budget_scope_plain(&out[0].s, key, rt->ceiling_micros);
	out[0].s.expire_at = c->plain_expire;
	ceiling_route_label(c, rt, label, sizeof label);
	snprintf(whose, sizeof whose, "%s's", label);
	ceiling_scope_words(&out[0], label, whose, "ceiling", c->raise_hint);
	snprintf(key, sizeof key, "%sws", c->prefix);
	budget_scope_plain(&out[1].s, key, c->ws_ceiling);
	out[1].s.expire_at = c->plain_expire;
	ceiling_scope_words(&out[1], strcmp(c->unit, "pane") == 0 ? "this workspace" : "this gateway",
	    strcmp(c->unit, "pane") == 0 ? "this workspace's" : "this gateway's", "ceiling",
	    "Raise it with --ceiling.");
	budget_scope_period(&out[2].s, key, PERIOD_DAY, &tz, now, NULL, c->day_ceiling);
	ceiling_scope_words(&out[2], "today's spend", "the", "daily ceiling",
	    "Raise it with --daily-ceiling.");
	return 3;
}

/* ------------------------------------------------------------- setup */

/* Charge today's spend before this process (the ledger's) to the day
 * counter, once; retried by each request until the store takes it. */
static void
ceiling_seed(ceiling_t *c)
{
	pthread_mutex_lock(&c->lock);
	int64_t v = c->seed;
	struct budget_scope s = c->seed_scope;
	int today = c->seed_day == c->day_start;
	c->seed = 0;            /* taken: no other thread charges it too */
	pthread_mutex_unlock(&c->lock);
	if (v <= 0 || !today)
		return;
	int rc = budget_charge(c->budget, &s, 1, v);
	pthread_mutex_lock(&c->lock);
	if (rc == BUDGET_OK && c->seed_day == c->day_start)
		c->day_spent += v;
	else if (rc == BUDGET_UNREACHABLE)
		c->seed = v;
	pthread_mutex_unlock(&c->lock);
}

ceiling_t *
ceiling_new(const struct ceiling_options *o, char **err)
{
	ceiling_t *c = xcalloc(1, sizeof *c);
	c->o = *o;
	if (c->o.warn_at <= 0)
		c->o.warn_at = CEILING_WARN_AT;
	if (c->o.min_output_tokens <= 0)
		c->o.min_output_tokens = CEILING_MIN_OUTPUT_TOKENS;
	c->prefix = xstrdup(o->scope_prefix ? o->scope_prefix : "");
	c->unit = xstrdup(o->unit ? o->unit : "pane");
	c->raise_hint = xstrdup(o->raise_hint ? o->raise_hint : "Raise it with --pane-ceiling.");
	c->o.scope_prefix = c->o.unit = c->o.raise_hint = c->o.ledger_path = NULL;
	c->budget = o->budget;
	if (c->budget == NULL) {
		struct budget_options bo = { .url = "memory", .clock = o->clock,
			.clock_user = o->clock_user };
		c->budget = budget_open(&bo, err);
		if (c->budget == NULL) {
			ceiling_free(c);
			return NULL;
		}
		c->own_budget = 1;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->inited = 1;
	c->ws_ceiling = o->ceiling_micros < 0 ? -1 : o->ceiling_micros;
	c->day_ceiling = o->daily_ceiling_micros < 0 ? -1 : o->daily_ceiling_micros;
	double now = ceiling_now(c);
	ceiling_day_roll(c, now);
	/* A shared store holds this process's counters under its prefix
	 * (a session's): they are dropped long after it ended. */
	if (c->prefix[0] != '\0')
		c->plain_expire = (int64_t)now + CEILING_PLAIN_KEEP_S;
	/* Today's spend survives a restart: the day counter starts from the
	 * ledger; a shared store gets it with the first request (starting up
	 * never waits for a store that may be away). */
	int memory = strcmp(budget_where(c->budget), "memory") == 0;
	if (o->ledger_path != NULL && (memory || c->prefix[0] != '\0')) {
		struct croute none = { .number = 0 };
		struct ceiling_scope s[3];
		ceiling_own_scopes(c, &none, now, s);
		c->seed = ledger_spend_since(o->ledger_path, c->day_start);
		c->seed_scope = s[2].s;
		c->seed_day = c->day_start;
		if (memory)
			ceiling_seed(c);
	}
	return c;
}

void
ceiling_free(ceiling_t *c)
{
	if (c == NULL)
		return;
	if (c->own_budget)
		budget_close(c->budget);
	if (c->inited)
		pthread_mutex_destroy(&c->lock);
	free(c->prefix);
	free(c->unit);
	free(c->raise_hint);
	free(c);
}

void
ceiling_add_route(ceiling_t *c, int route, const struct ceiling_route_config *rc)
{
	if (route < 0 || route >= GATEWAY_MAX_ROUTES)
		return;
	pthread_mutex_lock(&c->lock);
	struct croute *rt = &c->routes[route];
	memset(rt, 0, sizeof *rt);
	rt->used = 1;
	rt->number = rc->number > 0 ? rc->number : route + 1;
	snprintf(rt->name, sizeof rt->name, "%s", rc->name ? rc->name : "");
	snprintf(rt->agent, sizeof rt->agent, "%s", rc->agent ? rc->agent : "");
	rt->ceiling_micros = rc->ceiling_micros < 0 ? -1 : rc->ceiling_micros;
	rt->ceiling_tokens = rc->ceiling_tokens < 0 ? -1 : rc->ceiling_tokens;
	pthread_mutex_unlock(&c->lock);
}

static void
ceiling_set(ceiling_t *c, int64_t *limit, int64_t v)
{
	pthread_mutex_lock(&c->lock);
	*limit = v < 0 ? -1 : v;
	pthread_mutex_unlock(&c->lock);
}

void
ceiling_set_route(ceiling_t *c, int route, int64_t micros)
{
	if (route >= 0 && route < GATEWAY_MAX_ROUTES)
		ceiling_set(c, &c->routes[route].ceiling_micros, micros);
}

void
ceiling_set_route_tokens(ceiling_t *c, int route, int64_t tokens)
{
	if (route >= 0 && route < GATEWAY_MAX_ROUTES)
		ceiling_set(c, &c->routes[route].ceiling_tokens, tokens);
}

void
ceiling_set_workspace(ceiling_t *c, int64_t micros)
{
	ceiling_set(c, &c->ws_ceiling, micros);
}

void
ceiling_set_daily(ceiling_t *c, int64_t micros)
{
	ceiling_set(c, &c->day_ceiling, micros);
}

/* -------------------------------------------------------------- views */

static int
ceiling_warn_of(int64_t ceiling, int64_t used, double at)
{
	return ceiling > 0 && (double)used >= at * (double)ceiling;
}

/* The highest measured tokens per byte of a route, 0 if none (lock held). */
static double
ceiling_route_ratio(const struct croute *rt)
{
	double r = 0;
	for (int i = 0; i < rt->nratio; i++)
		r = UTIL_MAX(r, rt->ratio[i]);
	return r;
}

int
ceiling_route_state(ceiling_t *c, int route, struct ceiling_route_state *out)
{
	memset(out, 0, sizeof *out);
	out->ceiling_micros = out->ceiling_tokens = -1;
	if (route < 0 || route >= GATEWAY_MAX_ROUTES)
		return -1;
	pthread_mutex_lock(&c->lock);
	const struct croute *rt = &c->routes[route];
	int rc = rt->used ? 0 : -1;
	out->ceiling_micros = rt->used ? rt->ceiling_micros : -1;
	out->ceiling_tokens = rt->used ? rt->ceiling_tokens : -1;
	out->spent_micros = rt->spent_micros;
	out->reserved_micros = rt->reserved_micros;
	out->spent_tokens = rt->spent_tokens;
	out->reserved_tokens = rt->reserved_tokens;
	out->warn = ceiling_warn_of(out->ceiling_micros, rt->spent_micros + rt->reserved_micros,
	    c->o.warn_at) || ceiling_warn_of(out->ceiling_tokens,
	    rt->spent_tokens + rt->reserved_tokens, c->o.warn_at);
	out->blocked = out->ceiling_micros == 0 || out->ceiling_tokens == 0 || c->ws_ceiling == 0 ||
	    c->day_ceiling == 0;
	out->measured_ratio_ppm = (int64_t)llround(ceiling_route_ratio(rt) * 1e6);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void
ceiling_totals(ceiling_t *c, struct ceiling_totals *out)
{
	pthread_mutex_lock(&c->lock);
	ceiling_day_roll(c, ceiling_now(c));
	out->workspace_ceiling_micros = c->ws_ceiling;
	out->workspace_spent_micros = c->ws_spent;
	out->daily_ceiling_micros = c->day_ceiling;
	out->daily_spent_micros = c->day_spent;
	out->reserved_micros = c->reserved;
	out->warn = ceiling_warn_of(c->ws_ceiling, c->ws_spent + c->reserved, c->o.warn_at) ||
	    ceiling_warn_of(c->day_ceiling, c->day_spent + c->reserved, c->o.warn_at);
	pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------ refusals */

void
ceiling_fmt_count(int64_t v, char *buf, size_t len)
{
	char digits[32];
	int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
	size_t o = 0;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (int i = 0; i < n && o + 1 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ' ';
		buf[o++] = digits[i];
	}
	if (len > 0)
		buf[o < len ? o : len - 1] = '\0';
}

void
ceiling_fmt_usd(int64_t micros, int up, char *buf, size_t len)
{
	int64_t m = micros < 0 ? 0 : micros;
	int64_t t = up ? (m + 99) / 100 : m / 100;   /* 1/10000 of a dollar */
	char frac[8];
	snprintf(frac, sizeof frac, "%04lld", (long long)(t % 10000));
	if (frac[3] == '0') {
		frac[3] = '\0';
		if (frac[2] == '0')
			frac[2] = '\0';
	}
	snprintf(buf, len, "$%lld.%s", (long long)(t / 10000), frac);
}

/* What each real client shows as a spending limit and does not retry,
 * measured with Claude Code 2.1.332, OpenCode and Codex 0.171.0
 * (docs/POLICY.md, "Refusals"): Anthropic paths 402 billing_error
 * (Claude Code: "API Error: 402 ...", one request; OpenCode: no retry,
 * where a 429 is retried for 90 s and a 403 reads "Please run /login" in
 * Claude Code); OpenAI paths 400 with insufficient_quota (Codex prints the
 * message and stops, where a 429 insufficient_quota shows only "Quota
 * exceeded" and a 402 is retried; OpenCode: no retry). The gateway adds
 * x-should-retry: false. */
void
ceiling_refusal_shape(enum api_kind api, struct gateway_refusal *r)
{
	r->retry_after = 0;
	if (api == API_OPENAI_CHAT || api == API_OPENAI_RESPONSES) {
		r->status = 400;
		snprintf(r->type, sizeof r->type, "insufficient_quota");
		snprintf(r->code, sizeof r->code, "insufficient_quota");
	} else {
		r->status = 402;
		snprintf(r->type, sizeof r->type, "billing_error");
		r->code[0] = '\0';
	}
}

static void __attribute__((format(printf, 2, 3)))
ceiling_msg(struct gateway_refusal *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

/* What a request needs at least, for the refusal: its input bound and
 * floor of output tokens. */
struct ceiling_need {
	int64_t min_micros, in_micros;
	int64_t in_tokens, floor_tokens;   /* floor_tokens: per choice x choices */
};

/* The refusal for a money scope that did not fit. */
static void
ceiling_refuse_money(const struct ceiling_scope *s, const struct budget_grant *g,
    const struct ceiling_need *need, struct gateway_refusal *r)
{
	char cap[32], spent[32], inflight[48] = "", min[32], in[32], out[32];
	ceiling_fmt_usd(g->ceiling, 0, cap, sizeof cap);
	ceiling_fmt_usd(g->spent, 0, spent, sizeof spent);
	if (g->ceiling == 0) {
		ceiling_msg(r, "tokmux: %s is blocked: its %s is $0.00. %s", s->name, s->what, s->hint);
		return;
	}
	if (g->spent >= g->ceiling) {
		ceiling_msg(r, "tokmux: %s reached its %s %s: %s spent. %s", s->name, cap, s->what,
		    spent, s->hint);
		return;
	}
	if (g->inflight > 0) {
		char v[32];
		ceiling_fmt_usd(g->inflight, 0, v, sizeof v);
		snprintf(inflight, sizeof inflight, ", %s in flight", v);
	}
	ceiling_fmt_usd(need->min_micros, 1, min, sizeof min);
	ceiling_fmt_usd(need->in_micros, 1, in, sizeof in);
	ceiling_fmt_count(need->floor_tokens, out, sizeof out);
	ceiling_msg(r, "tokmux: this request would exceed %s %s %s: %s spent%s, this request needs "
	    "at least %s (input %s + %s output tokens). %s", s->whose, cap, s->what, spent, inflight,
	    min, in, out, s->hint);
}

/* The refusal for a pane's token ceiling. */
static void
ceiling_refuse_tokens(const ceiling_t *c, const struct croute *rt, const struct ceiling_need *need,
    struct gateway_refusal *r)
{
	char label[96], cap[32], used[32], inflight[48] = "", min[32], in[32], out[32];
	ceiling_route_label(c, rt, label, sizeof label);
	ceiling_fmt_count(rt->ceiling_tokens, cap, sizeof cap);
	ceiling_fmt_count(rt->spent_tokens, used, sizeof used);
	if (rt->ceiling_tokens == 0) {
		ceiling_msg(r, "tokmux: %s is blocked: its token ceiling is 0. Raise ceiling_tokens in "
		    "the config.", label);
		return;
	}
	if (rt->spent_tokens >= rt->ceiling_tokens) {
		ceiling_msg(r, "tokmux: %s reached its %s-token ceiling: %s used. Raise ceiling_tokens "
		    "in the config.", label, cap, used);
		return;
	}
	if (rt->reserved_tokens > 0) {
		char v[28];
		ceiling_fmt_count(rt->reserved_tokens, v, sizeof v);
		snprintf(inflight, sizeof inflight, ", %s in flight", v);
	}
	ceiling_fmt_count(need->in_tokens + need->floor_tokens, min, sizeof min);
	ceiling_fmt_count(need->in_tokens, in, sizeof in);
	ceiling_fmt_count(need->floor_tokens, out, sizeof out);
	ceiling_msg(r, "tokmux: this request would exceed %s's %s-token ceiling: %s used%s, this "
	    "request needs at least %s tokens (input %s + %s output). Raise ceiling_tokens in the "
	    "config.", label, cap, used, inflight, min, in, out);
}

/* ------------------------------------------------------------- reserve */

/* Everything ceiling_reserve works out before touching a counter. */
struct ceiling_plan {
	const char *model;
	int64_t in, in_1h;              /* input bound */
	int64_t choices;
	int64_t asked;                  /* output limit asked for, per choice */
	int64_t floor;                  /* smallest output limit sent, per choice */
	int64_t cap;                    /* most output per choice the token ceiling allows */
	struct ceiling_need need;
	struct ceiling_scope scopes[CEILING_MAX_SCOPES];
	int nscopes;
	double day_start;
	double ratio;
};

/* Scopes and bounds of a request (lock held). */
static void
ceiling_plan_make(ceiling_t *c, const struct ceiling_ask *a, struct ceiling_plan *pl, double now)
{
	struct croute *rt = &c->routes[a->route];
	const struct reqbody *rb = a->rb;
	pl->model = a->model;
	pl->ratio = ceiling_route_ratio(rt);
	reqbody_input_bound(rb, pl->ratio, &pl->in, &pl->in_1h);
	pl->choices = UTIL_MAX(1, rb->choices);
	pl->asked = rb->max_tokens >= 0 ? rb->max_tokens : REQBODY_DEFAULT_MAX_TOKENS;
	pl->floor = c->o.min_output_tokens;
	if (rb->thinking_budget >= 0)
		pl->floor = UTIL_MAX(pl->floor, CEILING_THINKING_MIN);
	pl->floor = UTIL_MIN(pl->floor, pl->asked);
	pl->cap = pl->asked;
	pl->nscopes = ceiling_own_scopes(c, rt, now, pl->scopes);
	pl->day_start = c->day_start;
}

/* The core's scopes for the request (no lock). -1 with the refusal. */
static int
ceiling_plan_extra(ceiling_t *c, const struct ceiling_ask *a, struct ceiling_plan *pl,
    const struct croute *copy, double now, struct gateway_refusal *r)
{
	if (c->o.extra_scopes == NULL)
		return 0;
	struct ceiling_request rq = {
		.route = a->route, .number = copy->number, .name = copy->name, .agent = copy->agent,
		.model = a->model != NULL ? a->model : "", .now = now,
	};
	int room = CEILING_MAX_SCOPES - pl->nscopes;
	struct ceiling_scope *out = &pl->scopes[pl->nscopes];
	memset(out, 0, (size_t)room * sizeof *out);
	int n = c->o.extra_scopes(c->o.extra_user, &rq, out, room);
	if (n < 0) {
		ceiling_refusal_shape(a->api, r);
		ceiling_msg(r, "tokmux: %s", out[0].hint[0] ? out[0].hint : "refused by the budget");
		return -1;
	}
	pl->nscopes += UTIL_MIN(n, room);
	return 0;
}

/* Reserve tokens against the route's token ceiling (lock held): the
 * input bound and at least the floor; sets pl->cap. -1 if it does not fit. */
static int
ceiling_tokens_take(struct croute *rt, struct ceiling_plan *pl, int64_t *taken)
{
	*taken = 0;
	if (rt->ceiling_tokens < 0)
		return 0;
	int64_t room = rt->ceiling_tokens - rt->spent_tokens - rt->reserved_tokens - pl->in;
	if (rt->ceiling_tokens == 0 || room < pl->floor * pl->choices)
		return -1;
	pl->cap = UTIL_MIN(pl->asked, room / pl->choices);
	*taken = pl->in + pl->cap * pl->choices;
	rt->reserved_tokens += *taken;
	return 0;
}

/* The money range [floor, cap] in the store. 0 with the lease, else -1
 * with the refusal. */
static int
ceiling_money_take(ceiling_t *c, const struct ceiling_ask *a, struct ceiling_plan *pl,
    budget_lease_t **lease, struct budget_grant *g, struct gateway_refusal *r)
{
	const pricing_t *pr = c->o.pricing;
	struct budget_scope s[CEILING_MAX_SCOPES];
	for (int i = 0; i < pl->nscopes; i++)
		s[i] = pl->scopes[i].s;
	/* at least 1 micro: a zero ceiling blocks even an unpriced request */
	int64_t min = UTIL_MAX(1, pl->need.min_micros);
	int64_t max = UTIL_MAX(min, pricing_bound(pr, pl->model, pl->in, pl->in_1h,
	    pl->cap * pl->choices));
	int rc = budget_reserve(c->budget, s, pl->nscopes, min, max, g, lease);
	if (rc == BUDGET_OK)
		return 0;
	if (rc == BUDGET_UNREACHABLE && c->o.fail_open) {
		/* the owner chose to serve: the worst case, unenforced */
		log_debug("ceiling: serving unenforced (fail open): %s", g->error);
		*lease = NULL;
		g->granted = max;
		return 0;
	}
	ceiling_refusal_shape(a->api, r);
	if (rc == BUDGET_REFUSED && g->binding >= 0 && g->binding < pl->nscopes) {
		ceiling_refuse_money(&pl->scopes[g->binding], g, &pl->need, r);
	} else if (rc == BUDGET_UNREACHABLE) {
		/* fail closed: a spending limit the agent shows and does not retry */
		ceiling_msg(r, "tokmux: %s. Requests are refused until it answers (fail closed; "
		    "--budget-fail-open serves them unenforced).", g->error[0] ? g->error :
		    "team budget store unreachable");
	} else {
		r->status = 503;
		r->code[0] = '\0';
		snprintf(r->type, sizeof r->type, a->api == API_OPENAI_CHAT ||
		    a->api == API_OPENAI_RESPONSES ? "server_error" : "api_error");
		ceiling_msg(r, "tokmux: %s", g->error[0] ? g->error : "the budget store refused");
	}
	return -1;
}

static void
ceiling_need_fill(ceiling_t *c, struct ceiling_plan *pl)
{
	const pricing_t *pr = c->o.pricing;
	pl->need.in_tokens = pl->in;
	pl->need.floor_tokens = pl->floor * pl->choices;
	pl->need.in_micros = pricing_bound(pr, pl->model, pl->in, pl->in_1h, 0);
	pl->need.min_micros = pricing_bound(pr, pl->model, pl->in, pl->in_1h, pl->need.floor_tokens);
}

/* The hold for a grant of micros: the output limit it pays for. */
static ceiling_hold_t *
ceiling_hold_new(ceiling_t *c, const struct ceiling_ask *a, const struct ceiling_plan *pl,
    budget_lease_t *lease, int64_t micros, int64_t tokens)
{
	ceiling_hold_t *h = xcalloc(1, sizeof *h);
	h->route = a->route;
	h->lease = lease;
	h->micros = micros;
	h->tokens = tokens;
	h->in = pl->in;
	h->in_1h = pl->in_1h;
	h->choices = pl->choices;
	int64_t fit = c->o.pricing == NULL ? pl->cap : pricing_bound_fit(c->o.pricing, pl->model,
	    pl->in, pl->in_1h, pl->choices, pl->cap, micros);
	h->out_limit = UTIL_MAX(pl->floor, UTIL_MIN(pl->cap, fit));
	h->text_bytes = UTIL_MAX(0, (int64_t)a->rb->len - a->rb->image_bytes);
	h->images = a->rb->images;
	h->day_start = pl->day_start;
	h->ratio = pl->ratio;
	h->floor = pl->floor;
	snprintf(h->model, sizeof h->model, "%s", pl->model != NULL ? pl->model : "");
	return h;
}

int
ceiling_reserve(ceiling_t *c, const struct ceiling_ask *a, ceiling_hold_t **hold,
    struct ceiling_grant *g, struct gateway_refusal *r)
{
	struct ceiling_plan pl;
	struct croute copy;
	struct budget_grant bg;
	int64_t tokens;
	*hold = NULL;
	memset(g, 0, sizeof *g);
	memset(&pl, 0, sizeof pl);
	if (a->route < 0 || a->route >= GATEWAY_MAX_ROUTES)
		return 0;
	pthread_mutex_lock(&c->lock);
	double now = ceiling_now(c);
	ceiling_day_roll(c, now);
	struct croute *rt = &c->routes[a->route];
	ceiling_plan_make(c, a, &pl, now);
	ceiling_need_fill(c, &pl);
	int tok = ceiling_tokens_take(rt, &pl, &tokens);
	if (tok != 0) {
		ceiling_refusal_shape(a->api, r);
		ceiling_refuse_tokens(c, rt, &pl.need, r);
	}
	copy = *rt;
	pthread_mutex_unlock(&c->lock);
	if (tok != 0)
		return -1;

	budget_lease_t *lease = NULL;
	ceiling_seed(c);
	if (ceiling_plan_extra(c, a, &pl, &copy, now, r) != 0 ||
	    ceiling_money_take(c, a, &pl, &lease, &bg, r) != 0) {
		pthread_mutex_lock(&c->lock);
		rt->reserved_tokens -= tokens;
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	ceiling_hold_t *h = ceiling_hold_new(c, a, &pl, lease, bg.granted, tokens);
	if (lease == NULL) {            /* fail open: charged at settle */
		h->open = xcalloc((size_t)pl.nscopes, sizeof *h->open);
		for (int i = 0; i < pl.nscopes; i++)
			h->open[i] = pl.scopes[i].s;
		h->nopen = pl.nscopes;
	}
	pthread_mutex_lock(&c->lock);
	/* keep only the tokens the output limit sent can use */
	int64_t used = pl.in + h->out_limit * pl.choices;
	if (tokens > used) {
		rt->reserved_tokens -= tokens - used;
		h->tokens = used;
	}
	rt->reserved_micros += h->micros;
	c->reserved += h->micros;
	pthread_mutex_unlock(&c->lock);
	*hold = h;
	g->micros = h->micros;
	g->out_limit = h->out_limit;
	g->asked = pl.asked;
	g->clamped = h->out_limit < pl.asked;
	return 0;
}

int64_t
ceiling_refit(ceiling_t *c, ceiling_hold_t *h, const struct reqbody *rb)
{
	int64_t in, in_1h;
	reqbody_input_bound(rb, h->ratio, &in, &in_1h);
	if (in <= h->in && in_1h <= h->in_1h)
		return h->out_limit;
	int64_t fit = c->o.pricing == NULL ? h->out_limit : pricing_bound_fit(c->o.pricing, h->model,
	    in, in_1h, h->choices, h->out_limit, h->micros);
	if (fit < h->floor)
		return -1;
	h->in = in;
	h->in_1h = in_1h;
	h->out_limit = fit;
	h->text_bytes = UTIL_MAX(0, (int64_t)rb->len - rb->image_bytes);
	return fit;
}

int64_t
ceiling_hold_micros(const ceiling_hold_t *h)
{
	return h != NULL ? h->micros : 0;
}

/* -------------------------------------------------------------- charge */

/* Price of a usage for model: metered, or the dearest rate of its tokens
 * when the model has no price. */
static int64_t
ceiling_price(const ceiling_t *c, const char *model, const struct usage *u)
{
	int64_t cost = 0;
	if (c->o.pricing == NULL)
		return 0;
	if (pricing_cost(c->o.pricing, model, u, &cost) == 0)
		return cost;
	return pricing_worst_case(c->o.pricing, model, u->input_tokens + u->cache_read_tokens +
	    u->cache_write_5m_tokens + u->cache_write_1h_tokens, u->output_tokens);
}

int64_t
ceiling_charge(ceiling_t *c, const ceiling_hold_t *h, const struct gateway_outcome *o)
{
	const struct usage *u = o->usage;
	if (h == NULL)
		return 0;
	const char *model = o->model_used != NULL && o->model_used[0] ? o->model_used : h->model;
	if (u != NULL && u->has_usage && u->complete && u->malformed == 0)
		return o->priced ? o->cost_micros : ceiling_price(c, model, u);
	if (u == NULL || !u->has_usage) {
		/* nothing said: a 2xx (or a request that went out and never
		 * answered) may be billed in full; a provider's error is not */
		int ok = o->status >= 200 && o->status < 300;
		return ok || o->no_reply ? h->micros : 0;
	}
	/* some usage: the input as reported (unless it did not parse), the
	 * output as reported only if final and well formed, else the limit sent */
	struct usage x = *u;
	int64_t extra = 0;
	if (!u->complete || (u->malformed & USAGE_BAD_OUTPUT))
		x.output_tokens = h->out_limit * h->choices;
	if (u->malformed & USAGE_BAD_INPUT) {
		x.input_tokens = x.cache_read_tokens = x.cache_write_5m_tokens = 0;
		x.cache_write_1h_tokens = x.web_search_requests = 0;
		extra = pricing_bound(c->o.pricing, model, h->in, h->in_1h, 0);
	}
	int64_t v = ceiling_price(c, model, &x) + extra;
	return UTIL_MAX(v, 1);
}

/* ------------------------------------------------------ settle, release */

/* A settled request's input tokens per body byte, remembered (lock held). */
static void
ceiling_learn(struct croute *rt, const ceiling_hold_t *h, const struct gateway_outcome *o)
{
	const struct usage *u = o->usage;
	if (u == NULL || !u->has_usage || !u->complete || u->malformed || h->images > 0 ||
	    h->text_bytes < CEILING_RATIO_MIN_BYTES || o->status < 200 || o->status >= 300)
		return;
	int64_t in = u->input_tokens + u->cache_read_tokens + u->cache_write_5m_tokens +
	    u->cache_write_1h_tokens;
	rt->ratio[rt->next_ratio] = (double)in / (double)h->text_bytes;
	rt->next_ratio = (rt->next_ratio + 1) % CEILING_RATIO_WINDOW;
	if (rt->nratio < CEILING_RATIO_WINDOW)
		rt->nratio++;
}

/* The mirrors give the hold back and count spent (lock taken here). */
static void
ceiling_unhold(ceiling_t *c, const ceiling_hold_t *h, int64_t micros, int64_t tokens)
{
	pthread_mutex_lock(&c->lock);
	struct croute *rt = &c->routes[h->route];
	ceiling_day_roll(c, ceiling_now(c));
	rt->reserved_micros -= h->micros;
	rt->reserved_tokens -= h->tokens;
	c->reserved -= h->micros;
	rt->spent_micros += micros;
	rt->spent_tokens += tokens;
	c->ws_spent += micros;
	if (h->day_start == c->day_start)
		c->day_spent += micros;
	pthread_mutex_unlock(&c->lock);
}

void
ceiling_settle(ceiling_t *c, ceiling_hold_t *h, const struct gateway_outcome *o)
{
	if (h == NULL)
		return;
	int64_t cost = o->charged_micros;
	int64_t tokens = 0;
	if (o->usage != NULL && o->usage->has_usage)
		tokens = usage_total_tokens(o->usage);
	if (o->usage == NULL || !o->usage->has_usage || !o->usage->complete || o->usage->malformed)
		tokens = UTIL_MAX(tokens, cost > 0 ? h->tokens : 0);
	ceiling_unhold(c, h, cost, tokens);
	pthread_mutex_lock(&c->lock);
	ceiling_learn(&c->routes[h->route], h, o);
	pthread_mutex_unlock(&c->lock);
	if (h->lease != NULL)
		budget_settle(c->budget, h->lease, cost);
	else if (h->open != NULL && cost > 0 &&
	    budget_charge(c->budget, h->open, h->nopen, cost) != BUDGET_OK)
		log_debug("ceiling: spend of an unenforced request not recorded in the store");
	free(h->open);
	free(h);
}

void
ceiling_release(ceiling_t *c, ceiling_hold_t *h)
{
	if (h == NULL)
		return;
	ceiling_unhold(c, h, 0, 0);
	if (h->lease != NULL)
		budget_release(c->budget, h->lease);
	free(h->open);
	free(h);
}
