/*
 * Gateway-level tests of the policy against the in-process mock provider
 * and its fault scripts (docs/MOCK.md): 32 concurrent requests against a
 * ceiling that fits exactly 10 (20 rounds); 3x529 then success; persistent
 * 529 on Opus answered by Sonnet; an overloaded first event; 429 pacing
 * shared by two panes with one key; a long retry-after passed on; a
 * spend-limit 429 never retried; the OpenAI error shape; a cut stream
 * settling with what was seen; the daily ceiling across a restart (through
 * the core, with command-line ceilings); `tokmux gateway` flag errors.
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
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "cmd.h"
#include "core.h"
#include "gateway.h"
#include "ledger.h"
#include "demo/mock.h"
#include "model.h"
#include "policy.h"
#include "reqbody.h"
#include "testhttp.h"
#include "util.h"

/* ------------------------------------------------------------ client */

/* A POST with one extra header, a JSON body and a 30 s limit. */

/* The reservation the policy makes for body, before its route has
 * measured anything: its input bound (*in tokens) and all of its output. */
static void
worst_case(const pricing_t *pr, const char *body, int64_t *micros, int64_t *in)
{
	struct reqbody rb;
	int64_t in_1h;
	reqbody_read(body, strlen(body), &rb);
	reqbody_input_bound(&rb, 0, in, &in_1h);
	*micros = pricing_bound(pr, rb.model, *in, in_1h, rb.max_tokens);
}
static void
http_post(const char *url, const char *hdr, const char *body, struct reply *r)
{
	const char *hdrs[] = { hdr, "Content-Type: application/json", NULL };
	r->timeout_ms = 30000;
	http("POST", url, hdrs, body, r);
}

/* ------------------------------------------------------------ fixture */

struct fx {
	mock_t *mock;
	char up[128];
	pricing_t *pricing;
	stats_t *stats;
	rl_table_t *rl;
	ledger_t *ledger;
	char ledger_path[80];
	policy_t *policy;
	gateway_t *gw;
	char base[2][256];
	char obase[2][256];
};

static pricing_t *
test_pricing(void)
{
	pricing_t *p = pricing_new();
	char *err = NULL;
	cJSON *prices = cJSON_Parse("{\"test-claude\":{\"input\":3,\"output\":15,"
	    "\"cache_write_5m\":3.75,\"cache_write_1h\":6,\"cache_read\":0.3}}");
	if (pricing_load(p, prices, &err) != 0)
		fail_msg("pricing_load: %s", err);
	cJSON_Delete(prices);
	return p;
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	struct mock_options mo = { .port = 0, .quiet = 1 };
	char *err = NULL;
	f->mock = mock_start(&mo, &err);
	if (f->mock == NULL)
		fail_msg("mock_start: %s", err);
	snprintf(f->up, sizeof f->up, "http://127.0.0.1:%d", mock_port(f->mock));
	f->pricing = test_pricing();
	snprintf(f->ledger_path, sizeof f->ledger_path, "/tmp/tokmux-polgw-%d.jsonl", (int)getpid());
	*state = f;
	return 0;
}

/* A fresh stats/rl/ledger/policy/gateway; routes "alpha" (1) and "pane 2" (claude). */
static void
fx_start(struct fx *f, const struct policy_options *tune, int64_t ceiling2)
{
	char *err = NULL;
	unlink(f->ledger_path);
	f->stats = stats_new(0, -1);
	f->rl = rl_table_new();
	f->ledger = ledger_open(f->ledger_path, &err);
	assert_non_null(f->ledger);
	struct policy_options po = { 0 };
	if (tune != NULL)
		po = *tune;
	po.pricing = f->pricing;
	po.stats = f->stats;
	po.ratelimits = f->rl;
	po.ceiling_micros = -1;
	po.daily_ceiling_micros = -1;
	po.raise_hint = "Raise it with Ctrl-g b or --pane-ceiling.";
	f->policy = policy_new(&po);
	struct gateway_policy hooks;
	policy_hooks(f->policy, &hooks);
	struct gateway_options go = {
		.port = 0, .anthropic_upstream = f->up, .openai_upstream = f->up,
		.pricing = f->pricing, .stats = f->stats, .ledger = f->ledger, .ratelimits = f->rl,
		.policy = &hooks,
	};
	f->gw = gateway_start(&go, &err);
	if (f->gw == NULL)
		fail_msg("gateway_start: %s", err);
	static const char *const names[] = { "alpha", "pane 2" };
	for (int i = 0; i < 2; i++) {
		int r = gateway_add_route(f->gw, names[i], "claude", NULL);
		assert_int_equal(r, i);
		struct policy_route_config rc = { .number = i + 1, .name = names[i], .agent = "claude",
			.ceiling_micros = i == 1 ? ceiling2 : -1, .ceiling_tokens = -1 };
		policy_add_route(f->policy, r, &rc);
		gateway_route_env(f->gw, r, f->base[i], sizeof f->base[i], f->obase[i],
		    sizeof f->obase[i]);
	}
}

static void
fx_stop(struct fx *f)
{
	policy_shutdown(f->policy);
	gateway_stop(f->gw);
	policy_free(f->policy);
	ledger_close(f->ledger);
	rl_table_free(f->rl);
	stats_free(f->stats);
	f->gw = NULL;
	f->policy = NULL;
	f->ledger = NULL;
	f->rl = NULL;
	f->stats = NULL;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	if (f->gw != NULL)
		fx_stop(f);
	mock_stop(f->mock);
	pricing_free(f->pricing);
	unlink(f->ledger_path);
	free(f);
	return 0;
}

static void
script(struct fx *f, const char *json)
{
	char *err = NULL;
	if (mock_load_script_json(f->mock, json, &err) != 0)
		fail_msg("script: %s", err);
}

static void
post(struct fx *f, int route, const char *body, struct reply *r)
{
	char url[512];
	snprintf(url, sizeof url, "%s/v1/messages", f->base[route]);
	http_post(url, "x-api-key: sk-test-shared", body, r);
}

struct lf {
	int n;
	struct ledger_entry last;
};

static void
ledger_cb(const struct ledger_entry *e, void *user)
{
	struct lf *l = user;
	l->n++;
	l->last = *e;
}

static void
count_cb(const struct ledger_entry *e, void *user)
{
	(*(int *)user)++;
}

/* Settling follows the last byte (stats, then the ledger, then the
 * policy): wait (bounded) until all of it is done for `requests`. */
static void
wait_idle(struct fx *f, int64_t requests)
{
	struct stats_snapshot *s = xmalloc(sizeof *s);
	for (int i = 0; i < 500; i++) {
		struct policy_route_state a, b;
		int lines = 0;
		stats_snapshot(f->stats, s);
		policy_get_state(f->policy, 0, &a);
		policy_get_state(f->policy, 1, &b);
		ledger_read(f->ledger_path, count_cb, &lines);
		if (s->total.inflight == 0 && s->total.requests >= requests && lines >= requests &&
		    a.reserved_micros == 0 && b.reserved_micros == 0)
			break;
		usleep(10 * 1000);
	}
	free(s);
}

/* ------------------------------------------------------------ ceilings */

struct shot {
	struct fx *f;
	const char *body;
	struct reply r;
};

static void *
shot_run(void *arg)
{
	struct shot *s = arg;
	post(s->f, 1, s->body, &s->r);
	return NULL;
}

static void
test_ceiling_32_concurrent(void **state)
{
	struct fx *f = *state;
	/* padded so that its input bound is a multiple of 4 tokens: at $3.75
	 * a million, a whole number of micros */
	char body[256];
	for (int pad = 0;; pad++) {
		snprintf(body, sizeof body, "{\"model\":\"test-claude\",\"max_tokens\":200,\"stream\":true,"
		    "\"messages\":[{\"role\":\"user\",\"content\":\"count to ten%*s\"}]}", pad, "");
		if ((strlen(body) + REQBODY_OVERHEAD_TOKENS) % 4 == 0)
			break;
	}
	int64_t w, in;
	worst_case(f->pricing, body, &w, &in);
	/* Each served request costs exactly its reservation (its input bound
	 * as 5-minute cache writes, all 200 output tokens; 200 is below the
	 * floor, so nothing is clamped): the ceiling fits 10, whatever the timing. */
	char js[512];
	snprintf(js, sizeof js, "{\"defaults\":{\"usage\":{\"input_tokens\":0,\"cache_creation_5m\":%lld,"
	    "\"output_tokens\":200}}}", (long long)in);
	script(f, js);
	assert_int_equal(w, in * 15 / 4 + 200 * 15);
	int64_t ceiling = 10 * w;
	char cap[32], exceed[160], reached[160];
	ceiling_fmt_usd(ceiling, 0, cap, sizeof cap);
	snprintf(exceed, sizeof exceed, "tokmux: this request would exceed pane 2 (claude)'s %s "
	    "ceiling: ", cap);
	snprintf(reached, sizeof reached, "tokmux: pane 2 (claude) reached its %s ceiling: %s spent.",
	    cap, cap);
	for (int round = 0; round < 20; round++) {
		fx_start(f, NULL, ceiling);
		long calls0 = mock_calls(f->mock);
		enum { N = 32 };
		struct shot s[N];
		pthread_t t[N];
		for (int i = 0; i < N; i++) {
			s[i] = (struct shot){ .f = f, .body = body };
			assert_int_equal(pthread_create(&t[i], NULL, shot_run, &s[i]), 0);
		}
		int ok = 0, refused = 0;
		for (int i = 0; i < N; i++) {
			pthread_join(t[i], NULL);
			if (s[i].r.status == 200) {
				ok++;
				assert_non_null(strstr(s[i].r.body.data, "message_stop"));
			} else {
				char v[16];
				assert_int_equal(s[i].r.status, 402);
				assert_non_null(strstr(s[i].r.body.data, "\"type\":\"billing_error\""));
				if (strstr(s[i].r.body.data, exceed) == NULL &&
				    strstr(s[i].r.body.data, reached) == NULL)
					fail_msg("refusal: %s", s[i].r.body.data);
				assert_non_null(strstr(s[i].r.body.data, "Raise it with Ctrl-g b or --pane-ceiling."));
				reply_header(&s[i].r, "x-should-retry", v, sizeof v);
				assert_string_equal(v, "false");
				reply_header(&s[i].r, "retry-after", v, sizeof v);
				assert_string_equal(v, "");
				refused++;
			}
			reply_free(&s[i].r);
		}
		assert_int_equal(ok, 10);
		assert_int_equal(refused, N - 10);
		assert_int_equal(mock_calls(f->mock) - calls0, 10);
		wait_idle(f, N);
		struct policy_route_state st;
		assert_int_equal(policy_get_state(f->policy, 1, &st), 0);
		assert_int_equal(st.reserved_micros, 0);
		assert_true(st.spent_micros <= ceiling);
		assert_int_equal(st.spent_micros, ceiling);
		struct stats_snapshot *snap = xmalloc(sizeof *snap);
		stats_snapshot(f->stats, snap);
		assert_int_equal(snap->route[1].cost_micros, ceiling);   /* metered, not estimated */
		assert_int_equal(snap->route[1].refused, N - 10);
		assert_int_equal(snap->route[1].err_429, 0);   /* a refusal is not a provider 429 */
		assert_int_equal(snap->total.err_429, 0);
		assert_int_equal(snap->route[1].policy.ceiling_micros, ceiling);
		assert_true(snap->route[1].policy.warn);
		free(snap);
		fx_stop(f);
	}
}

static void
test_openai_shape_refusal(void **state)
{
	struct fx *f = *state;
	fx_start(f, NULL, 0);
	char url[512];
	snprintf(url, sizeof url, "%s/chat/completions", f->obase[1]);
	struct reply r = { 0 };
	http_post(url, "Authorization: Bearer sk-oa", "{\"model\":\"gpt-5\",\"max_tokens\":10}", &r);
	assert_int_equal(r.status, 400);
	cJSON *root = cJSON_Parse(r.body.data);
	assert_non_null(root);
	assert_null(cJSON_GetObjectItemCaseSensitive(root, "type"));   /* OpenAI shape */
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring, "insufficient_quota");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "code")->valuestring, "insufficient_quota");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring,
	    "tokmux: pane 2 (claude) is blocked: its ceiling is $0.00. Raise it with Ctrl-g b or "
	    "--pane-ceiling.");
	cJSON_Delete(root);
	reply_free(&r);
	assert_int_equal(mock_calls(f->mock), 0);
	fx_stop(f);
}

static void
test_cut_stream_settles_seen_usage(void **state)
{
	struct fx *f = *state;
	fx_start(f, NULL, -1);
	script(f, "{\"defaults\":{\"usage\":{\"input_tokens\":1000,\"output_tokens\":200}},"
	    "\"rules\":[{\"action\":\"cut\",\"after_events\":3,\"times\":1}]}");
	struct reply r = { 0 };
	post(f, 0, "{\"model\":\"test-claude\",\"max_tokens\":300,\"stream\":true}", &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	reply_free(&r);
	wait_idle(f, 1);
	struct policy_route_state st;
	policy_get_state(f->policy, 0, &st);
	assert_int_equal(st.reserved_micros, 0);
	/* message_start's input as reported, and the whole output limit sent:
	 * the provider may have generated it all */
	assert_int_equal(st.spent_micros, 1000 * 3 + 300 * 15);
	struct lf l = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &l), 1);
	assert_int_equal(l.last.cost_micros, 1000 * 3 + 1 * 15);   /* what the usage said */
	assert_int_equal(l.last.charged_micros, 1000 * 3 + 300 * 15);
	assert_int_equal(l.last.max_tokens, 300);
	fx_stop(f);
}

/* ------------------------------------------------------------ 529 */

static void
test_529_three_then_ok(void **state)
{
	struct fx *f = *state;
	struct policy_options tune = { .retry_base_ms = 10, .retry_cap_ms = 80 };
	fx_start(f, &tune, -1);
	script(f, "{\"rules\":[{\"match\":{\"model\":\"test-claude\"},\"action\":\"529\",\"times\":3}]}");
	struct reply r = { 0 };
	post(f, 0, "{\"model\":\"test-claude\",\"max_tokens\":50,\"stream\":true}", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "message_stop"));
	assert_null(strstr(r.body.data, "overloaded"));
	reply_free(&r);
	assert_int_equal(mock_calls(f->mock), 4);
	wait_idle(f, 1);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].requests, 1);
	assert_int_equal(s->route[0].retries, 3);
	assert_int_equal(s->route[0].err_529, 3);
	assert_int_equal(s->route[0].fallbacks, 0);
	assert_int_equal(s->route[0].ok_2xx, 1);
	free(s);
	struct lf l = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &l), 1);
	assert_string_equal(l.last.model_asked, "test-claude");
	assert_string_equal(l.last.model_used, "test-claude");
	assert_int_equal(l.last.retries, 3);
	assert_int_equal(l.last.n529, 3);
	assert_int_equal(l.last.fallbacks, 0);

	/* a 200 stream whose first event is overloaded_error is retried too */
	script(f, "{\"rules\":[{\"match\":{\"model\":\"test-claude\"},\"action\":\"overloaded_first\","
	    "\"times\":1}]}");
	struct reply r2 = { 0 };
	post(f, 0, "{\"model\":\"test-claude\",\"max_tokens\":50,\"stream\":true}", &r2);
	assert_int_equal(r2.status, 200);
	assert_non_null(strstr(r2.body.data, "message_stop"));
	assert_null(strstr(r2.body.data, "overloaded_error"));
	reply_free(&r2);
	wait_idle(f, 2);
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &l), 2);
	assert_int_equal(l.last.retries, 1);
	assert_int_equal(l.last.n529, 1);
	fx_stop(f);
}

static void
test_529_opus_falls_back_to_sonnet(void **state)
{
	struct fx *f = *state;
	fx_start(f, NULL, -1);   /* default retry settings: base 0.5 s, cap 8 s, 3 retries */
	script(f, "{\"rules\":[{\"match\":{\"model\":\"claude-opus-*\"},\"action\":\"529\"}]}");
	struct reply r = { 0 };
	int64_t t0 = util_now_ms();
	post(f, 1, "{\"model\":\"claude-opus-4-7\",\"max_tokens\":50,\"stream\":true}", &r);
	int64_t ms = util_now_ms() - t0;
	/* the default chain's next model: the newest sonnet of the pricing table */
	char *ch[POLICY_MAX_CHAIN], want[160];
	const char *ids[256];
	int nids = pricing_models(f->pricing, ids, 256);
	int n = model_chain("claude-opus-4-7", ids, nids, NULL, 0, ch, POLICY_MAX_CHAIN);
	assert_true(n >= 2);
	assert_non_null(strstr(ch[1], "sonnet"));
	snprintf(want, sizeof want, "\"model\":\"%s\"", ch[1]);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, want));
	assert_non_null(strstr(r.body.data, "message_stop"));
	reply_free(&r);
	assert_true(ms < 10000);
	print_message("persistent 529 on opus -> sonnet answer in %lld ms end to end\n", (long long)ms);
	wait_idle(f, 1);
	struct lf l = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &l), 1);
	assert_string_equal(l.last.model_asked, "claude-opus-4-7");
	assert_string_equal(l.last.model_used, ch[1]);
	for (int i = 0; i < n; i++)
		free(ch[i]);
	assert_int_equal(l.last.fallbacks, 1);
	assert_int_equal(l.last.n529, 4);      /* the first try and 3 retries */
	assert_int_equal(l.last.retries, 4);
	assert_int_equal(l.last.status, 200);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[1].fallbacks, 1);
	assert_int_equal(s->route[1].err_529, 4);
	assert_int_equal(s->policy.ncircuits, 0);   /* 4 < K = 5 */
	free(s);
	fx_stop(f);
}

/* ------------------------------------------------------------ 429 */

static void *
pane_a(void *arg)
{
	struct shot *s = arg;
	post(s->f, 0, s->body, &s->r);
	return NULL;
}

static void
test_429_shared_pacing(void **state)
{
	struct fx *f = *state;
	fx_start(f, NULL, -1);
	script(f, "{\"rules\":[{\"action\":\"429\",\"retry_after\":2,\"times\":1}]}");
	const char *body = "{\"model\":\"test-claude\",\"max_tokens\":50,\"stream\":true}";
	struct shot a = { .f = f, .body = body };
	pthread_t t;
	int64_t t0 = util_now_ms();
	assert_int_equal(pthread_create(&t, NULL, pane_a, &a), 0);
	for (int i = 0; i < 200 && mock_calls(f->mock) < 1; i++)
		usleep(5000);
	usleep(200 * 1000);
	/* pane 2, same key: waits for the limit instead of hammering */
	struct reply b = { 0 };
	post(f, 1, body, &b);
	int64_t b_done = util_now_ms() - t0;
	pthread_join(t, NULL);
	assert_int_equal(a.r.status, 200);
	assert_int_equal(b.status, 200);
	assert_non_null(strstr(b.body.data, "message_stop"));
	assert_true(b_done >= 1800);
	assert_true(b.ms < 5000);
	assert_int_equal(mock_calls(f->mock), 3);   /* the 429, a's retry, b: nothing more */
	reply_free(&a.r);
	reply_free(&b);
	wait_idle(f, 2);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].err_429, 1);
	assert_int_equal(s->route[0].retries, 1);
	assert_int_equal(s->route[1].policy.paced, 1);
	assert_int_equal(s->route[1].err_429, 0);
	free(s);
	fx_stop(f);
}

static void
test_429_long_and_spend_limit(void **state)
{
	struct fx *f = *state;
	fx_start(f, NULL, -1);
	const char *body = "{\"model\":\"test-claude\",\"max_tokens\":50}";
	/* above the cap: the agent gets the provider's 429, retry-after intact */
	script(f, "{\"rules\":[{\"action\":\"429\",\"retry_after\":120,\"times\":1}]}");
	struct reply r = { 0 };
	post(f, 0, body, &r);
	char v[32];
	assert_int_equal(r.status, 429);
	reply_header(&r, "retry-after", v, sizeof v);
	assert_string_equal(v, "120");
	assert_non_null(strstr(r.body.data, "rate_limit_error"));
	assert_null(strstr(r.body.data, "tokmux"));
	assert_true(r.ms < 3000);
	reply_free(&r);
	assert_int_equal(mock_calls(f->mock), 1);
	/* the other pane with the same key is not sent upstream meanwhile */
	struct reply r2 = { 0 };
	post(f, 1, body, &r2);
	assert_int_equal(r2.status, 429);
	reply_header(&r2, "retry-after", v, sizeof v);
	assert_true(atoi(v) >= 118 && atoi(v) <= 121);
	assert_non_null(strstr(r2.body.data, "tokmux: this API key is over its rate limit"));
	reply_free(&r2);
	assert_int_equal(mock_calls(f->mock), 1);
	fx_stop(f);

	/* a spend-limit 429 is never retried, even with a short retry-after */
	fx_start(f, NULL, -1);
	script(f, "{\"rules\":[{\"action\":\"429\",\"spend_limit\":true,\"retry_after\":1,\"times\":1}]}");
	long c0 = mock_calls(f->mock);
	struct reply r3 = { 0 };
	post(f, 0, body, &r3);
	assert_int_equal(r3.status, 429);
	assert_non_null(strstr(r3.body.data, "usage limits"));
	reply_free(&r3);
	assert_int_equal(mock_calls(f->mock) - c0, 1);
	fx_stop(f);
}

/* ------------------------------------------------------------ core */

static void
test_daily_ceiling_survives_restart(void **state)
{
	struct fx *f = *state;
	script(f, "{\"defaults\":{\"usage\":{\"input_tokens\":1000,\"output_tokens\":100}}}");
	const char *body = "{\"model\":\"test-claude\",\"max_tokens\":100}";
	int64_t w, in;
	worst_case(f->pricing, body, &w, &in);
	const int64_t cost = 1000 * 3 + 100 * 15;
	unlink(f->ledger_path);
	for (int run = 0; run < 2; run++) {
		struct config cfg;
		config_init(&cfg);
		cfg.prices = cJSON_Parse("{\"test-claude\":{\"input\":3,\"output\":15}}");
		cfg.daily_ceiling_micros = 1000000000;       /* the command line wins */
		const char *pc[] = { "2=0", "alpha=5" };
		struct core_options co = { .cfg = &cfg, .port = 0, .anthropic = f->up,
			.ledger = f->ledger_path, .wake_fd = -1, .no_metrics_token = 1,
			.has_daily_ceiling = 1, .daily_ceiling_micros = cost + w - 1, .pane_ceilings = pc,
			.npane_ceilings = 2 };
		char *err = NULL;
		core_t *core = core_start(&co, &err);
		if (core == NULL)
			fail_msg("core_start: %s", err);
		char base[2][256];
		assert_int_equal(core_add_route(core, "alpha", "claude --x", base[0], sizeof base[0], NULL, 0), 0);
		assert_int_equal(core_add_route(core, "beta", "codex", base[1], sizeof base[1], NULL, 0), 1);
		struct policy_route_state st;
		policy_get_state(core_policy(core), 0, &st);
		assert_int_equal(st.ceiling_micros, 5000000);
		assert_int_equal(st.daily_ceiling_micros, cost + w - 1);
		char url[400];
		struct reply r = { 0 };
		snprintf(url, sizeof url, "%s/v1/messages", base[0]);
		http_post(url, "x-api-key: k", body, &r);
		if (run == 0) {
			/* today: nothing spent yet; the request fits and costs `cost` */
			assert_int_equal(st.daily_spent_micros, 0);
			assert_int_equal(r.status, 200);
		} else {
			/* after the restart, today's spend came back from the ledger */
			assert_int_equal(st.daily_spent_micros, cost);
			assert_int_equal(r.status, 402);
			assert_non_null(strstr(r.body.data, "daily ceiling"));
		}
		reply_free(&r);
		/* --pane-ceiling by number: route 2 may spend nothing */
		struct reply r2 = { 0 };
		snprintf(url, sizeof url, "%s/v1/messages", base[1]);
		http_post(url, "x-api-key: k", body, &r2);
		assert_int_equal(r2.status, 402);
		assert_non_null(strstr(r2.body.data, "route 2 (beta) is blocked: its ceiling is $0.00") ||
		    strstr(r2.body.data, "pane 2 (beta) is blocked: its ceiling is $0.00"));
		reply_free(&r2);
		core_stop(core);
		config_free(&cfg);
	}
	unlink(f->ledger_path);
}

static void
test_gateway_flags(void **state)
{
	static const char *const bad[][3] = {
		{ "gateway", "--ceiling", "-1" },
		{ "gateway", "--pane-ceiling", "nosuch=1" },
		{ "gateway", "--daily-ceiling", "abc" },
		{ "gateway", "--pane-ceiling", "foo" },
		{ "gateway", "--pane-ceiling", "2=x" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		char *argv[3] = { (char *)bad[i][0], (char *)bad[i][1], (char *)bad[i][2] };
		assert_int_equal(cmd_gateway_main(3, argv), 2);
	}
	(void)state;
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ceiling_32_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openai_shape_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_stream_settles_seen_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_529_three_then_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_529_opus_falls_back_to_sonnet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_429_shared_pacing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_429_long_and_spend_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daily_ceiling_survives_restart, setup, teardown),
		cmocka_unit_test(test_gateway_flags),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
