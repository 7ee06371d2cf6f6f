/*
 * Unit tests for policy: jitter bounds, the refusal texts (would exceed,
 * reached, blocked, in flight, workspace, day, OpenAI shape), clamping the
 * output limit to what fits, reservations under a thread hammer, token
 * ceilings, the charge of cut and malformed requests, downgrade and
 * overrides, the circuit breaker and FIFO pacing (both on a fake clock),
 * today's spend from the ledger and the midnight rollover. The hooks are
 * called directly with synthetic gateway calls and attempts (no upstream
 * transfer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "ledger.h"
#include "model.h"
#include "policy.h"
#include "reqbody.h"
#include "util.h"

/* ------------------------------------------------------------ helpers */

struct fake_clock {
	pthread_mutex_t lock;
	double t;
};

static double
fake_now(void *user)
{
	struct fake_clock *c = user;
	pthread_mutex_lock(&c->lock);
	double t = c->t;
	pthread_mutex_unlock(&c->lock);
	return t;
}

static void
fake_advance(struct fake_clock *c, double s)
{
	pthread_mutex_lock(&c->lock);
	c->t += s;
	pthread_mutex_unlock(&c->lock);
}

static pricing_t *
test_pricing(void)
{
	pricing_t *p = pricing_new();
	char *err = NULL;
	cJSON *prices = cJSON_Parse("{\"test-claude\":{\"input\":3,\"output\":15,"
	    "\"cache_write_5m\":3.75,\"cache_write_1h\":6,\"cache_read\":0.3},"
	    "\"t-out\":{\"input\":0,\"output\":1}}");
	assert_int_equal(pricing_load(p, prices, &err), 0);
	cJSON_Delete(prices);
	return p;
}

struct gw {
	policy_t *p;
	struct gateway_policy h;
};

static struct gateway_call
call_of(int route, const char *model, const char *key, const char *body)
{
	struct gateway_call c = {
		.route = route, .route_name = "r", .api = API_ANTHROPIC_MESSAGES,
		.model_asked = model, .key_hash = key, .body = body, .body_len = strlen(body),
	};
	return c;
}

static int
admit(struct gw *g, struct gateway_call *c, struct gateway_refusal *r)
{
	memset(r, 0, sizeof *r);
	return g->h.admit(g->h.user, c, r);
}

/* Route number route + 1, named name, without ceilings. */
static void
plain_route(struct gw *g, int route, const char *name)
{
	struct policy_route_config rc = { .number = route + 1, .name = name, .ceiling_micros = -1,
		.ceiling_tokens = -1 };
	policy_add_route(g->p, route, &rc);
}

/* An attempt that answered status, with no headers and no body. */
static int
attempt(struct gw *g, struct gateway_call *c, int status, char **nb, size_t *nl)
{
	struct gateway_attempt a = { .status = status };
	return g->h.attempt(g->h.user, c, &a, nb, nl);
}

/* The request ends as the meter ends it: the policy's charge, then settle. */
static void
settle(struct gw *g, struct gateway_call *c, int status, const struct usage *u, int64_t cost)
{
	struct usage none = { 0 };
	struct gateway_outcome o = {
		.status = status, .model_used = c->model_asked, .usage = u ? u : &none,
		.cost_micros = cost, .priced = 1,
	};
	o.charged_micros = g->h.charge(g->h.user, c, &o);
	g->h.settle(g->h.user, c, &o);
	free(c->new_body);
	c->new_body = NULL;
}

/* The output limit a (rewritten) body sends, -1 if none. */
static int64_t
body_limit(const char *body, const char *key)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, key);
	int64_t v = cJSON_IsNumber(m) ? (int64_t)m->valuedouble : -1;
	cJSON_Delete(root);
	return v;
}

/* The default fallback after claude-opus-4-7 (the newest sonnet in the table). */
static void
next_after_opus(const pricing_t *pr, char *out, size_t len)
{
	char *ch[POLICY_MAX_CHAIN];
	const char *ids[256];
	int nids = pricing_models(pr, ids, 256);
	int n = model_chain("claude-opus-4-7", ids, nids, NULL, 0, ch, POLICY_MAX_CHAIN);
	assert_true(n >= 2);
	assert_non_null(strstr(ch[1], "sonnet"));
	snprintf(out, len, "%s", ch[1]);
	for (int i = 0; i < n; i++)
		free(ch[i]);
}

/* Model named in a (rewritten) body. */
static void
body_model(const char *body, char *out, size_t len)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
	snprintf(out, len, "%s", cJSON_IsString(m) ? m->valuestring : "");
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ pure */

static void
test_backoff_bounds(void **state)
{
	/* full jitter: rand(0, min(cap, base * 2^n)) */
	for (int n = 0; n < 8; n++) {
		int64_t hi = UTIL_MIN(8000, 500LL << n);
		assert_int_equal(policy_backoff_ms(500, 8000, n, 0.0), 0);
		assert_true(policy_backoff_ms(500, 8000, n, 0.999999) <= hi);
		assert_true(policy_backoff_ms(500, 8000, n, 0.999999) >= hi - 1);
		assert_int_equal(policy_backoff_ms(500, 8000, n, 0.5), hi / 2);
	}
	/* random draws stay in bounds and spread over the range */
	for (int n = 0; n < 5; n++) {
		int64_t hi = UTIL_MIN(8000, 500LL << n), lo_seen = hi, hi_seen = 0;
		for (int i = 0; i < 2000; i++) {
			uint32_t v;
			util_random(&v, sizeof v);
			int64_t ms = policy_backoff_ms(500, 8000, n, v / 4294967296.0);
			assert_true(ms >= 0 && ms <= hi);
			lo_seen = UTIL_MIN(lo_seen, ms);
			hi_seen = UTIL_MAX(hi_seen, ms);
		}
		assert_true(lo_seen < hi / 10);
		assert_true(hi_seen > hi * 9 / 10);
	}
	/* a huge attempt number does not overflow */
	assert_true(policy_backoff_ms(500, 8000, 1000, 0.999) <= 8000);
	(void)state;
}

/* ------------------------------------------------------------ ceilings */

static struct gw
gw_new(const struct policy_options *o)
{
	struct gw g;
	g.p = policy_new(o);
	policy_hooks(g.p, &g.h);
	return g;
}

static void
gw_free(struct gw *g)
{
	policy_shutdown(g->p);
	policy_free(g->p);
}

static void
test_refusal_text(void **state)
{
	pricing_t *pr = test_pricing();   /* t-out: input free, output $1 per million */
	struct policy_options o = { .pricing = pr, .ceiling_micros = -1, .daily_ceiling_micros = -1,
		.raise_hint = "Raise it with Ctrl-g b or --pane-ceiling." };
	struct gw g = gw_new(&o);
	struct policy_route_config rc = { .number = 2, .name = "pane 2", .agent = "claude",
		.ceiling_micros = 5000000, .ceiling_tokens = -1 };
	policy_add_route(g.p, 1, &rc);
	/* spend $4.98 */
	struct gateway_call c0 = call_of(1, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":1}");
	struct gateway_refusal r;
	assert_int_equal(admit(&g, &c0, &r), 0);
	assert_null(c0.new_body);                 /* it fits as asked: the body goes as it is */
	assert_int_equal(c0.out_limit, 1);
	assert_int_equal(c0.clamped_from, 0);
	struct usage u = { .has_usage = 1, .complete = 1, .output_tokens = 1 };
	settle(&g, &c0, 200, &u, 4980000);
	/* $0.41 of output does not fit the $0.02 left: served with what fits */
	struct gateway_call c1 = call_of(1, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":410000}");
	assert_int_equal(admit(&g, &c1, &r), 0);
	assert_int_equal(c1.out_limit, 20000);
	assert_int_equal(c1.clamped_from, 410000);
	assert_non_null(c1.new_body);
	assert_int_equal(body_limit(c1.new_body, "max_tokens"), 20000);
	assert_int_equal(c1.reserved_micros, 20000);
	/* nothing left for the floor (1 024 output tokens): refused, and says why */
	struct gateway_call c3 = call_of(1, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":15000}");
	assert_int_equal(admit(&g, &c3, &r), -1);
	assert_int_equal(r.status, 402);
	assert_string_equal(r.type, "billing_error");
	assert_int_equal(r.retry_after, 0);
	assert_string_equal(r.message, "tokmux: this request would exceed pane 2 (claude)'s $5.00 "
	    "ceiling: $4.98 spent, $0.02 in flight, this request needs at least $0.0011 (input $0.00 "
	    "+ 1 024 output tokens). Raise it with Ctrl-g b or --pane-ceiling.");
	assert_null(c3.new_body);
	struct policy_route_state st;
	assert_int_equal(policy_get_state(g.p, 1, &st), 0);
	assert_int_equal(st.reserved_micros, 20000);   /* the refusal left nothing held */
	settle(&g, &c1, 200, &u, 20000);
	assert_int_equal(policy_get_state(g.p, 1, &st), 0);
	assert_int_equal(st.spent_micros, 5000000);
	assert_int_equal(st.reserved_micros, 0);
	assert_true(st.warn);
	/* reached: spent is the ceiling */
	assert_int_equal(admit(&g, &c3, &r), -1);
	assert_string_equal(r.message, "tokmux: pane 2 (claude) reached its $5.00 ceiling: $5.00 "
	    "spent. Raise it with Ctrl-g b or --pane-ceiling.");
	/* raising the ceiling at run time lets the whole request through */
	policy_set_pane_ceiling(g.p, 1, 6000000);
	c1 = call_of(1, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":410000}");
	assert_int_equal(admit(&g, &c1, &r), 0);
	assert_int_equal(c1.out_limit, 410000);
	assert_int_equal(c1.clamped_from, 0);
	assert_null(c1.new_body);
	settle(&g, &c1, 200, &u, 0);
	/* a zero ceiling blocks, and says so */
	struct policy_route_config rc2 = { .number = 1, .name = "review", .ceiling_micros = 0,
		.ceiling_tokens = -1 };
	policy_add_route(g.p, 0, &rc2);
	struct gateway_call c4 = call_of(0, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":1}");
	assert_int_equal(admit(&g, &c4, &r), -1);
	assert_string_equal(r.message, "tokmux: pane 1 (review) is blocked: its ceiling is $0.00. "
	    "Raise it with Ctrl-g b or --pane-ceiling.");
	assert_int_equal(policy_get_state(g.p, 0, &st), 0);
	assert_true(st.blocked);
	policy_set_pane_ceiling(g.p, 0, -1);
	assert_int_equal(policy_get_state(g.p, 0, &st), 0);
	assert_false(st.blocked);
	/* the workspace: $5.00 spent, a ceiling $0.0005 above it */
	policy_set_ceiling(g.p, 5000500);
	struct gateway_call c6 = call_of(0, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":2000}");
	assert_int_equal(admit(&g, &c6, &r), -1);
	assert_non_null(strstr(r.message, "tokmux: this request would exceed this workspace's $5.0005 "
	    "ceiling: $5.00 spent, this request needs at least $0.0011"));
	assert_non_null(strstr(r.message, "Raise it with --ceiling."));
	policy_set_ceiling(g.p, 0);
	assert_int_equal(admit(&g, &c4, &r), -1);
	assert_string_equal(r.message, "tokmux: this workspace is blocked: its ceiling is $0.00. "
	    "Raise it with --ceiling.");
	policy_set_ceiling(g.p, -1);
	policy_set_daily_ceiling(g.p, 100);
	assert_int_equal(admit(&g, &c4, &r), -1);
	assert_string_equal(r.message, "tokmux: today's spend reached its $0.0001 daily ceiling: "
	    "$5.00 spent. Raise it with --daily-ceiling.");
	policy_set_daily_ceiling(g.p, -1);
	assert_int_equal(admit(&g, &c4, &r), 0);
	settle(&g, &c4, 200, NULL, 0);
	/* OpenAI paths: the shape OpenAI clients show as a spending limit */
	policy_set_pane_ceiling(g.p, 0, 0);
	struct gateway_call c5 = call_of(0, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":1}");
	c5.api = API_OPENAI_CHAT;
	assert_int_equal(admit(&g, &c5, &r), -1);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.type, "insufficient_quota");
	assert_string_equal(r.code, "insufficient_quota");
	gw_free(&g);
	pricing_free(pr);
	(void)state;
}

struct hammer {
	struct gw *g;
	int64_t ceiling;
	int admitted, refused, violations;
	int64_t settled_cost;
	pthread_mutex_t lock;
};

static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 300; i++) {
		char body[96];
		int max = 1000 + (i * 7919) % 5000;
		snprintf(body, sizeof body, "{\"model\":\"t-out\",\"max_tokens\":%d}", max);
		struct gateway_call c = call_of(0, "t-out", "", body);
		struct gateway_refusal r;
		int rc = admit(h->g, &c, &r);
		struct policy_route_state st;
		policy_get_state(h->g->p, 0, &st);
		/* <= the reservation: at most the output limit sent, 1 micro a token */
		int64_t cost = rc == 0 ? (c.out_limit * (int64_t)(i % 4)) / 3 : 0;
		if (rc == 0 && (c.out_limit > max || c.out_limit < UTIL_MIN(max, 1024)))
			h->violations++;
		pthread_mutex_lock(&h->lock);
		if (st.spent_micros + st.reserved_micros > h->ceiling)
			h->violations++;
		if (rc == 0) {
			h->admitted++;
			h->settled_cost += cost;
		} else {
			h->refused++;
		}
		pthread_mutex_unlock(&h->lock);
		if (rc == 0) {
			struct usage u = { .has_usage = 1, .complete = 1, .output_tokens = 1 };
			settle(h->g, &c, 200, &u, cost);
		}
	}
	return NULL;
}

static void
test_hammer(void **state)
{
	pricing_t *pr = test_pricing();
	struct policy_options o = { .pricing = pr, .ceiling_micros = -1, .daily_ceiling_micros = -1 };
	struct gw g = gw_new(&o);
	struct hammer h = { .g = &g, .ceiling = 2000000 };
	pthread_mutex_init(&h.lock, NULL);
	struct policy_route_config rc = { .number = 1, .name = "a", .ceiling_micros = h.ceiling,
		.ceiling_tokens = -1 };
	policy_add_route(g.p, 0, &rc);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	struct policy_route_state st;
	policy_get_state(g.p, 0, &st);
	assert_int_equal(h.violations, 0);
	assert_int_equal(h.admitted + h.refused, 8 * 300);
	assert_true(h.refused > 0);                /* the ceiling was reached */
	assert_int_equal(st.reserved_micros, 0);   /* every reservation released */
	assert_int_equal(st.spent_micros, h.settled_cost);
	assert_true(st.spent_micros <= h.ceiling);
	assert_int_equal(st.workspace_spent_micros, h.settled_cost);
	pthread_mutex_destroy(&h.lock);
	gw_free(&g);
	pricing_free(pr);
	(void)state;
}

static void
test_tokens_downgrade_override(void **state)
{
	pricing_t *pr = pricing_new();
	struct policy_options o = { .pricing = pr, .ceiling_micros = -1, .daily_ceiling_micros = -1 };
	struct gw g = gw_new(&o);
	/* a token ceiling counts tokens the same reserve/settle way */
	struct policy_route_config rc = { .number = 1, .name = "sub", .ceiling_micros = -1,
		.ceiling_tokens = 10000 };
	policy_add_route(g.p, 0, &rc);
	const char *hb = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":8000}";
	struct gateway_call c = call_of(0, "claude-haiku-4-5", "", hb);
	struct gateway_refusal r;
	assert_int_equal(admit(&g, &c, &r), 0);
	assert_int_equal(c.out_limit, 8000);
	/* the input bound (bytes + 1 024) and 8 000 out are held: less than the
	 * 1 024-token floor is left */
	int64_t in = (int64_t)strlen(hb) + REQBODY_OVERHEAD_TOKENS;
	struct gateway_call c2 = call_of(0, "claude-haiku-4-5", "", hb);
	assert_int_equal(admit(&g, &c2, &r), -1);
	char want[300], a[16], b[16], t[16];
	ceiling_fmt_count(in + 8000, a, sizeof a);
	ceiling_fmt_count(in + 1024, b, sizeof b);
	ceiling_fmt_count(in, t, sizeof t);
	snprintf(want, sizeof want, "tokmux: this request would exceed pane 1 (sub)'s 10 000-token "
	    "ceiling: 0 used, %s in flight, this request needs at least %s tokens (input %s + 1 024 "
	    "output). Raise ceiling_tokens in the config.", a, b, t);
	assert_string_equal(r.message, want);
	assert_int_equal(r.status, 402);
	struct usage u = { .has_usage = 1, .complete = 1, .input_tokens = 100, .output_tokens = 900 };
	settle(&g, &c, 200, &u, 10);
	struct policy_route_state st;
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.spent_tokens, 1000);
	assert_int_equal(st.reserved_tokens, 0);

	/* downgrade_at: past half of a $1 ceiling, opus requests go to sonnet */
	struct policy_route_config rd = { .number = 2, .name = "dg", .ceiling_micros = 1000000,
		.ceiling_tokens = -1, .downgrade_at = 0.5 };
	policy_add_route(g.p, 1, &rd);
	const char *ob = "{\"model\":\"claude-opus-4-7\",\"max_tokens\":100}";
	struct gateway_call d = call_of(1, "claude-opus-4-7", "", ob);
	assert_int_equal(admit(&g, &d, &r), 0);
	assert_null(d.new_body);
	struct usage du = { .has_usage = 1, .complete = 1, .output_tokens = 1 };
	settle(&g, &d, 200, &du, 600000);
	d = call_of(1, "claude-opus-4-7", "", ob);
	assert_int_equal(admit(&g, &d, &r), 0);
	assert_non_null(d.new_body);
	char m[64], sonnet[64];
	next_after_opus(pr, sonnet, sizeof sonnet);
	body_model(d.new_body, m, sizeof m);
	assert_string_equal(m, sonnet);
	policy_get_state(g.p, 1, &st);
	assert_true(st.downgraded);
	settle(&g, &d, 200, &du, 0);

	/* a model override rewrites every request of the route, until cleared */
	policy_set_model_override(g.p, 0, "claude-sonnet-4-6");
	struct gateway_call e = call_of(0, "claude-haiku-4-5", "",
	    "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10}");
	assert_int_equal(admit(&g, &e, &r), 0);
	body_model(e.new_body, m, sizeof m);
	assert_string_equal(m, "claude-sonnet-4-6");
	policy_get_state(g.p, 0, &st);
	assert_string_equal(st.model_override, "claude-sonnet-4-6");
	settle(&g, &e, 200, &du, 0);
	policy_set_model_override(g.p, 0, NULL);
	e = call_of(0, "claude-haiku-4-5", "", "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10}");
	assert_int_equal(admit(&g, &e, &r), 0);
	assert_null(e.new_body);
	/* cut before any usage: the reservation is what it cost */
	int64_t before = st.spent_micros;
	settle(&g, &e, 200, NULL, 0);
	policy_get_state(g.p, 0, &st);
	assert_true(st.spent_micros > before);
	assert_int_equal(st.reserved_micros, 0);
	gw_free(&g);
	pricing_free(pr);
	(void)state;
}

/* A long override reaches the sidebar's snapshot whole, as the picker shows it. */
static void
test_long_override_whole(void **state)
{
	stats_t *stats = stats_new(1, -1);
	struct policy_options o = { .stats = stats, .ceiling_micros = -1, .daily_ceiling_micros = -1 };
	struct gw g = gw_new(&o);
	plain_route(&g, 0, "a");
	char id[MODEL_ID_MAX];
	memset(id, 'm', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	memcpy(id, "arn:aws:bedrock:", 16);
	policy_set_model_override(g.p, 0, id);
	struct policy_route_state st;
	policy_get_state(g.p, 0, &st);
	assert_string_equal(st.model_override, id);
	struct stats_snapshot *snap = xmalloc(sizeof *snap);
	stats_snapshot(stats, snap);
	assert_string_equal(snap->route[0].policy.model_override, id);
	free(snap);
	gw_free(&g);
	stats_free(stats);
	(void)state;
}

/* ------------------------------------------------------------ circuit */

static void
test_circuit_breaker(void **state)
{
	pricing_t *pr = pricing_new();
	struct fake_clock fc = { .t = 1.9e9 };
	pthread_mutex_init(&fc.lock, NULL);
	struct policy_options o = { .pricing = pr, .ceiling_micros = -1, .daily_ceiling_micros = -1,
		.retry_max = -1, .breaker_k = 3, .breaker_window_ms = 1000,
		.breaker_cooldown_ms = 5000, .clock = fake_now, .clock_user = &fc };
	struct gw g = gw_new(&o);
	plain_route(&g, 0, "a");
	const char *ob = "{\"model\":\"claude-opus-4-7\",\"max_tokens\":10}";
	struct gateway_refusal r;
	char m[64], sonnet[64];
	next_after_opus(pr, sonnet, sizeof sonnet);
	/* three 529s within the window: each falls back at once (retry_max -1) */
	for (int i = 0; i < 3; i++) {
		struct gateway_call c = call_of(0, "claude-opus-4-7", "", ob);
		assert_int_equal(admit(&g, &c, &r), 0);
		assert_null(c.new_body);
		char *nb = NULL;
		size_t nl = 0;
		assert_int_equal(attempt(&g, &c, 529, &nb, &nl), 1);
		body_model(nb, m, sizeof m);
		assert_string_equal(m, sonnet);
		assert_int_equal(c.fallbacks, 1);
		assert_int_equal(c.circuit, 0);
		free(nb);
		settle(&g, &c, 200, NULL, 0);
		fake_advance(&fc, 0.1);
	}
	struct policy_route_state st;
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.ncircuits, 1);
	assert_string_equal(st.circuit[0].model, "claude-opus-4-7");
	assert_int_equal(st.circuit[0].state, 1);
	/* open: opus requests go straight to sonnet */
	struct gateway_call c = call_of(0, "claude-opus-4-7", "", ob);
	assert_int_equal(admit(&g, &c, &r), 0);
	assert_non_null(c.new_body);
	body_model(c.new_body, m, sizeof m);
	assert_string_equal(m, sonnet);
	assert_int_equal(c.circuit, 1);
	assert_int_equal(c.fallbacks, 1);
	settle(&g, &c, 200, NULL, 0);
	/* after the cool-down one trial goes to opus; a second one meanwhile doesn't */
	fake_advance(&fc, 5.5);
	struct gateway_call t1 = call_of(0, "claude-opus-4-7", "", ob);
	assert_int_equal(admit(&g, &t1, &r), 0);
	assert_null(t1.new_body);
	struct gateway_call t2 = call_of(0, "claude-opus-4-7", "", ob);
	assert_int_equal(admit(&g, &t2, &r), 0);
	assert_non_null(t2.new_body);
	settle(&g, &t2, 200, NULL, 0);
	/* the trial succeeds: closed again */
	char *nb = NULL;
	size_t nl = 0;
	assert_int_equal(attempt(&g, &t1, 200, &nb, &nl), 0);
	settle(&g, &t1, 200, NULL, 0);
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.circuit[0].state, 0);
	c = call_of(0, "claude-opus-4-7", "", ob);
	assert_int_equal(admit(&g, &c, &r), 0);
	assert_null(c.new_body);
	settle(&g, &c, 200, NULL, 0);
	/* 529s spread wider than the window never open it */
	for (int i = 0; i < 6; i++) {
		c = call_of(0, "claude-opus-4-7", "", ob);
		assert_int_equal(admit(&g, &c, &r), 0);
		assert_null(c.new_body);
		assert_int_equal(attempt(&g, &c, 529, &nb, &nl), 1);
		free(nb);
		nb = NULL;
		settle(&g, &c, 200, NULL, 0);
		fake_advance(&fc, 0.6);
	}
	/* the end of the chain: nothing left to fall back to */
	c = call_of(0, "claude-haiku-4-5", "", "{\"model\":\"claude-haiku-4-5\"}");
	assert_int_equal(admit(&g, &c, &r), 0);
	assert_int_equal(attempt(&g, &c, 529, &nb, &nl), 0);
	assert_null(nb);
	settle(&g, &c, 529, NULL, 0);
	gw_free(&g);
	pthread_mutex_destroy(&fc.lock);
	pricing_free(pr);
	(void)state;
}

/* ------------------------------------------------------------ attempts */

/* An attempt as the gateway shows it: headers and a body to peek at. */
struct fake_attempt {
	struct gateway_attempt a;
	const char *headers[8];      /* name, value, name, value, ..., NULL */
	const char *body;
};

static const char *
fake_header(const struct gateway_attempt *a, const char *name)
{
	const struct fake_attempt *f = a->ctx;
	for (int i = 0; f->headers[i] != NULL; i += 2)
		if (strcasecmp(f->headers[i], name) == 0)
			return f->headers[i + 1];
	return NULL;
}

static ssize_t
fake_peek(const struct gateway_attempt *a, char *buf, size_t max, size_t min, int timeout_ms,
    int *ended)
{
	const struct fake_attempt *f = a->ctx;
	size_t n = UTIL_MIN(strlen(f->body), max);
	memcpy(buf, f->body, n);
	*ended = 1;
	return (ssize_t)n;
}

static int
fake_attempt(struct gw *g, struct gateway_call *c, struct fake_attempt *f, char **nb)
{
	size_t nl = 0;
	f->a.header = fake_header;
	f->a.peek = fake_peek;
	f->a.ctx = f;
	if (f->body == NULL)
		f->body = "";
	return g->h.attempt(g->h.user, c, &f->a, nb, &nl);
}

/* What the policy reads through the attempt: a 429's body and wait (its
 * retry-after, else the rate-limit state the gateway parsed), and a 200
 * stream whose first event is an overload. */
static void
test_attempt_seam(void **state)
{
	pricing_t *pr = pricing_new();
	struct policy_options o = { .pricing = pr, .ceiling_micros = -1, .daily_ceiling_micros = -1,
		.retry_max = -1, .pace_cap_ms = 2000 };
	struct gw g = gw_new(&o);
	plain_route(&g, 0, "a");
	const char *ob = "{\"model\":\"claude-opus-4-7\",\"max_tokens\":10}";
	struct gateway_refusal r;
	char *nb = NULL;

	/* a 429 for a spend limit is given to the agent as it is */
	struct gateway_call c = call_of(0, "claude-opus-4-7", "k", ob);
	assert_int_equal(admit(&g, &c, &r), 0);
	struct fake_attempt spend = { .a.status = 429, .headers = { "retry-after", "0", NULL },
		.body = "{\"error\":{\"message\":\"You have reached your specified API usage limits\"}}" };
	assert_int_equal(fake_attempt(&g, &c, &spend, &nb), 0);
	/* a rate-limit 429 that asks for 0 s is retried once, at once */
	struct fake_attempt rate = { .a.status = 429, .headers = { "Retry-After", "0", NULL },
		.body = "{\"error\":{\"type\":\"rate_limit_error\"}}" };
	assert_int_equal(fake_attempt(&g, &c, &rate, &nb), 1);
	assert_null(nb);
	assert_int_equal(fake_attempt(&g, &c, &rate, &nb), 0);   /* only once */
	settle(&g, &c, 429, NULL, 0);

	/* without retry-after, the parsed rate-limit state says how long */
	c = call_of(0, "claude-opus-4-7", "k", ob);
	assert_int_equal(admit(&g, &c, &r), 0);
	struct rl_state rl;
	rl_state_init(&rl);
	rl.updated = util_wall();
	rl.requests.remaining = 0;
	rl.requests.reset = rl.updated + 0.3;
	struct fake_attempt limited = { .a.status = 429, .a.ratelimit = &rl, .headers = { NULL } };
	int64_t t0 = util_now_ms();
	assert_int_equal(fake_attempt(&g, &c, &limited, &nb), 1);
	assert_true(util_now_ms() - t0 >= 250);
	settle(&g, &c, 200, NULL, 0);
	/* longer than the pace cap: the agent gets the 429 */
	c = call_of(0, "claude-opus-4-7", "k", ob);
	assert_int_equal(admit(&g, &c, &r), 0);
	rl.requests.reset = rl.updated + 30;
	assert_int_equal(fake_attempt(&g, &c, &limited, &nb), 0);
	settle(&g, &c, 429, NULL, 0);

	/* a 200 stream that opens with an overloaded error falls back (retry_max -1) */
	c = call_of(0, "claude-opus-4-7", "k", ob);
	assert_int_equal(admit(&g, &c, &r), 0);
	struct fake_attempt ov = { .a.status = 200,
		.headers = { "content-type", "text/event-stream; charset=utf-8", NULL },
		.body = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n" };
	assert_int_equal(fake_attempt(&g, &c, &ov, &nb), 1);
	assert_non_null(nb);
	assert_int_equal(c.n529, 1);   /* the dropped stream's error */
	assert_int_equal(c.fallbacks, 1);
	free(nb);
	nb = NULL;
	/* the same bytes as JSON are not a stream: served */
	struct fake_attempt js = ov;
	js.headers[1] = "application/json";
	assert_int_equal(fake_attempt(&g, &c, &js, &nb), 0);
	settle(&g, &c, 200, NULL, 0);
	gw_free(&g);
	pricing_free(pr);
	(void)state;
}

/* ------------------------------------------------------------ pacing */

struct pacer {
	struct gw *g;
	int id;
	int route;
	int rc;
	int done;                 /* atomic */
	struct gateway_refusal r;
	struct gateway_call c;
};

static void *
pacer_run(void *arg)
{
	struct pacer *pc = arg;
	pc->c = call_of(pc->route, "test-claude", "feedbeeffeedbeef", "{\"model\":\"test-claude\",\"max_tokens\":1}");
	pc->rc = admit(pc->g, &pc->c, &pc->r);
	__atomic_store_n(&pc->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
wait_for(int (*cond)(void *), void *arg)
{
	for (int i = 0; i < 400; i++) {
		if (cond(arg))
			return 1;
		usleep(5000);
	}
	return 0;
}

struct wq {
	policy_t *p;
	int n;
	struct pacer *ps;
	int np;
};

static int
waiting_is(void *arg)
{
	struct wq *w = arg;
	return policy_waiting(w->p, "feedbeeffeedbeef") == w->n;
}

static int
done_count(struct pacer *ps, int n)
{
	int d = 0;
	for (int i = 0; i < n; i++)
		d += __atomic_load_n(&ps[i].done, __ATOMIC_ACQUIRE);
	return d;
}

static int
done_is(void *arg)
{
	struct wq *w = arg;
	return done_count(w->ps, w->np) == w->n;
}

static void
test_pacing_order(void **state)
{
	pricing_t *pr = test_pricing();
	rl_table_t *rl = rl_table_new();
	struct fake_clock fc = { .t = 1.9e9 };
	pthread_mutex_init(&fc.lock, NULL);
	struct policy_options o = { .pricing = pr, .ratelimits = rl, .ceiling_micros = -1,
		.daily_ceiling_micros = -1, .pace_cap_ms = 20000, .pace_gap_ms = 1000,
		.clock = fake_now, .clock_user = &fc };
	struct gw g = gw_new(&o);
	for (int i = 0; i < 2; i++) {
		struct policy_route_config rc = { .number = i + 1, .name = i ? "b" : "a",
			.ceiling_micros = -1, .ceiling_tokens = -1 };
		policy_add_route(g.p, i, &rc);
	}
	/* the key is limited for 10 s (a retry-after seen on another pane) */
	struct rl_state st;
	rl_state_init(&st);
	snprintf(st.key_hash, sizeof st.key_hash, "feedbeeffeedbeef");
	st.retry_after_until = fc.t + 10;
	rl_table_merge(rl, &st);

	enum { N = 4 };
	struct pacer ps[N];
	pthread_t t[N];
	struct wq w = { .p = g.p, .ps = ps, .np = N };
	for (int i = 0; i < N; i++) {
		ps[i] = (struct pacer){ .g = &g, .id = i, .route = i % 2 };
		assert_int_equal(pthread_create(&t[i], NULL, pacer_run, &ps[i]), 0);
		w.n = i + 1;
		assert_true(wait_for(waiting_is, &w));   /* queued in this order */
	}
	usleep(100 * 1000);
	assert_int_equal(done_count(ps, N), 0);
	/* not before the limit's end ... */
	fake_advance(&fc, 9.9);
	usleep(150 * 1000);
	assert_int_equal(done_count(ps, N), 0);
	/* ... then one at a time, pace_gap apart, in arrival order */
	for (int k = 0; k < N; k++) {
		fake_advance(&fc, k == 0 ? 0.2 : 1.05);
		w.n = k + 1;
		assert_true(wait_for(done_is, &w));
		usleep(60 * 1000);
		assert_int_equal(done_count(ps, N), k + 1);
		assert_int_equal(__atomic_load_n(&ps[k].done, __ATOMIC_ACQUIRE), 1);
		assert_int_equal(ps[k].rc, 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		settle(&g, &ps[i].c, 200, NULL, 0);
	}
	struct policy_route_state rs;
	policy_get_state(g.p, 1, &rs);
	assert_int_equal(rs.reserved_micros, 0);

	/* a wait beyond the cap is refused at once with a 429 and retry-after */
	st.retry_after_until = fake_now(&fc) + 120;
	rl_table_merge(rl, &st);
	struct pacer late = { .g = &g, .route = 1 };
	pacer_run(&late);
	assert_int_equal(late.rc, -1);
	assert_int_equal(late.r.status, 429);
	assert_string_equal(late.r.type, "rate_limit_error");
	assert_true(late.r.retry_after >= 119 && late.r.retry_after <= 121);
	policy_get_state(g.p, 1, &rs);
	assert_int_equal(rs.reserved_micros, 0);   /* released */

	/* shutdown ends a wait at once */
	st.retry_after_until = fake_now(&fc) + 15;
	rl_table_merge(rl, &st);
	struct pacer sd = { .g = &g, .route = 0 };
	pthread_t ts;
	assert_int_equal(pthread_create(&ts, NULL, pacer_run, &sd), 0);
	w.n = 1;
	assert_true(wait_for(waiting_is, &w));
	policy_shutdown(g.p);
	pthread_join(ts, NULL);
	assert_int_equal(sd.done, 1);
	settle(&g, &sd.c, 0, NULL, 0);

	gw_free(&g);
	rl_table_free(rl);
	pthread_mutex_destroy(&fc.lock);
	pricing_free(pr);
	(void)state;
}

/* A quick admit (nowait) that must pace returns GATEWAY_LATER and runs
 * again where it may wait: a circuit skip it saw is counted once, by the
 * run that admits (it was counted twice). */
static void
test_circuit_skip_counted_once_when_deferred(void **state)
{
	pricing_t *pr = pricing_new();
	rl_table_t *rl = rl_table_new();
	struct fake_clock fc = { .t = 1.9e9 };
	pthread_mutex_init(&fc.lock, NULL);
	stats_t *stats = stats_new(1, -1);
	struct policy_options o = { .pricing = pr, .ratelimits = rl, .stats = stats, .ceiling_micros = -1,
		.daily_ceiling_micros = -1, .retry_max = -1, .breaker_k = 3,
		.breaker_window_ms = 1000, .breaker_cooldown_ms = 60000, .pace_cap_ms = 20000,
		.pace_gap_ms = 1000, .clock = fake_now, .clock_user = &fc };
	struct gw g = gw_new(&o);
	plain_route(&g, 0, "a");
	const char *ob = "{\"model\":\"claude-opus-4-7\",\"max_tokens\":10}";
	const char *key = "feedbeeffeedbeef";
	struct gateway_refusal r;
	for (int i = 0; i < 3; i++) {   /* three 529s: opus's circuit opens */
		struct gateway_call c = call_of(0, "claude-opus-4-7", key, ob);
		assert_int_equal(admit(&g, &c, &r), 0);
		char *nb = NULL;
		size_t nl = 0;
		assert_int_equal(attempt(&g, &c, 529, &nb, &nl), 1);
		free(nb);
		settle(&g, &c, 200, NULL, 0);
		fake_advance(&fc, 0.1);
	}
	struct stats_snapshot *v0 = xcalloc(1, sizeof *v0), *v1 = xcalloc(1, sizeof *v1);
	stats_snapshot(stats, v0);
	/* the key must wait 5 s: the quick admit defers, the full one paces */
	struct rl_state st;
	rl_state_init(&st);
	snprintf(st.key_hash, sizeof st.key_hash, "%s", key);
	assert_int_equal(ratelimit_parse_header(&st, "retry-after", "5", fc.t), 1);
	rl_table_merge(rl, &st);
	struct gateway_call c = call_of(0, "claude-opus-4-7", key, ob);
	c.nowait = 1;
	assert_int_equal(admit(&g, &c, &r), GATEWAY_LATER);
	assert_int_equal(c.fallbacks, 0);
	assert_int_equal(c.circuit, 0);
	stats_snapshot(stats, v1);
	assert_int_equal(v1->route[0].policy.circuit_skips, v0->route[0].policy.circuit_skips);
	free(v0);
	free(v1);
	(void)state;
	gw_free(&g);
	stats_free(stats);
	rl_table_free(rl);
	pthread_mutex_destroy(&fc.lock);
	pricing_free(pr);
}

/* Issue 14: a retry-after of 3000000000 overflowed the pacing's int (the
 * agent read "for another -2147483648 s") and locked the key out until a
 * restart. The header is clamped: the refusal says a sane wait, and once
 * it is over the key is admitted again. */
static void
test_pacing_huge_retry_after(void **state)
{
	pricing_t *pr = test_pricing();
	rl_table_t *rl = rl_table_new();
	struct fake_clock fc = { .t = 1.9e9 };
	pthread_mutex_init(&fc.lock, NULL);
	struct policy_options o = { .pricing = pr, .ratelimits = rl, .ceiling_micros = -1,
		.daily_ceiling_micros = -1, .pace_cap_ms = 20000, .pace_gap_ms = 1000,
		.clock = fake_now, .clock_user = &fc };
	struct gw g = gw_new(&o);
	struct policy_route_config rc = { .number = 1, .name = "a", .ceiling_micros = -1,
		.ceiling_tokens = -1 };
	policy_add_route(g.p, 0, &rc);
	struct rl_state st;
	rl_state_init(&st);
	snprintf(st.key_hash, sizeof st.key_hash, "feedbeeffeedbeef");
	assert_int_equal(ratelimit_parse_header(&st, "retry-after", "3000000000", fc.t), 1);
	rl_table_merge(rl, &st);
	struct pacer late = { .g = &g, .route = 0 };
	pacer_run(&late);
	assert_int_equal(late.rc, -1);
	assert_int_equal(late.r.status, 429);
	assert_int_equal(late.r.retry_after, (int)RATELIMIT_MAX_RETRY_AFTER);
	assert_non_null(strstr(late.r.message, "for another 900 s"));
	/* the wait is over: admitted */
	fake_advance(&fc, RATELIMIT_MAX_RETRY_AFTER + 1);
	struct pacer again = { .g = &g, .route = 0 };
	pacer_run(&again);
	assert_int_equal(again.rc, 0);
	settle(&g, &again.c, 200, NULL, 0);
	gw_free(&g);
	rl_table_free(rl);
	pthread_mutex_destroy(&fc.lock);
	pricing_free(pr);
	(void)state;
}

/* ------------------------------------------------------------ daily */

static void
test_daily_from_ledger_and_midnight(void **state)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/tokmux-poltest-%d.jsonl", (int)getpid());
	unlink(path);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	assert_non_null(l);
	/* local noon today, and yesterday */
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = 12;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	double noon = (double)mktime(&tm);
	struct ledger_record r = { .time = noon - 86400, .pane = 1, .pane_name = "a",
		.key_hash = "", .api = "anthropic", .model_asked = "m", .model_used = "m",
		.cost_micros = 7000000, .priced = 1, .status = 200 };
	assert_int_equal(ledger_append(l, &r), 0);
	r.time = noon - 3600;
	r.cost_micros = 1250000;
	assert_int_equal(ledger_append(l, &r), 0);
	r.time = noon;
	r.cost_micros = 500000;
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);

	pricing_t *pr = test_pricing();
	struct fake_clock fc = { .t = noon + 60 };
	pthread_mutex_init(&fc.lock, NULL);
	/* a floor of 200 000 output tokens: what does not fit that is refused */
	struct policy_options o = { .pricing = pr, .ledger_path = path, .ceiling_micros = -1,
		.daily_ceiling_micros = 2000000, .min_output_tokens = 200000, .clock = fake_now,
		.clock_user = &fc };
	struct gw g = gw_new(&o);
	plain_route(&g, 0, "a");
	struct policy_route_state st;
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.daily_spent_micros, 1750000);   /* yesterday's $7 left out */
	/* $0.26 could cross $2.00: clamped to the $0.25 left */
	struct gateway_refusal ref;
	struct gateway_call c = call_of(0, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":260000}");
	assert_int_equal(admit(&g, &c, &ref), 0);
	assert_int_equal(c.out_limit, 250000);
	assert_int_equal(c.clamped_from, 260000);
	struct gateway_call c2 = call_of(0, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":200000}");
	assert_int_equal(admit(&g, &c2, &ref), -1);   /* its floor ($0.20) does not fit the $0 left */
	assert_string_equal(ref.message, "tokmux: this request would exceed the $2.00 daily ceiling: "
	    "$1.75 spent, $0.25 in flight, this request needs at least $0.20 (input $0.00 + 200 000 "
	    "output tokens). Raise it with --daily-ceiling.");
	settle(&g, &c, 200, NULL, 0);   /* cut before any usage: its whole reservation */
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.daily_spent_micros, 2000000);
	/* $2.00 spent now: room for the floor once the ceiling is $2.20 */
	policy_set_daily_ceiling(g.p, 2200000);
	assert_int_equal(admit(&g, &c2, &ref), 0);
	struct usage u = { .has_usage = 1, .complete = 1, .output_tokens = 200000 };
	settle(&g, &c2, 200, &u, 200000);
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.daily_spent_micros, 2200000);
	/* past local midnight the day starts over */
	fake_advance(&fc, 13 * 3600);
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.daily_spent_micros, 0);
	c = call_of(0, "t-out", "", "{\"model\":\"t-out\",\"max_tokens\":260000}");
	assert_int_equal(admit(&g, &c, &ref), 0);
	assert_int_equal(c.clamped_from, 0);
	settle(&g, &c, 200, &u, 200000);
	policy_get_state(g.p, 0, &st);
	assert_int_equal(st.daily_spent_micros, 200000);
	assert_int_equal(st.workspace_spent_micros, 250000 + 200000 + 200000);
	gw_free(&g);
	pthread_mutex_destroy(&fc.lock);
	pricing_free(pr);
	unlink(path);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_refusal_text),
		cmocka_unit_test(test_hammer),
		cmocka_unit_test(test_tokens_downgrade_override),
		cmocka_unit_test(test_long_override_whole),
		cmocka_unit_test(test_circuit_breaker),
		cmocka_unit_test(test_circuit_skip_counted_once_when_deferred),
		cmocka_unit_test(test_attempt_seam),
		cmocka_unit_test(test_pacing_order),
		cmocka_unit_test(test_pacing_huge_retry_after),
		cmocka_unit_test(test_daily_from_ledger_and_midnight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
