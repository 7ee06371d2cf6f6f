/*
 * Tests for the spend ceilings end to end: a real gateway and policy in
 * front of the mock provider (src/demo/mock.c), whose log and billed total
 * say what a provider would have charged.
 *  - 64 and 128 concurrent streams on the Anthropic and OpenAI shapes, with
 *    and without max_tokens, the mock generating far more output than
 *    asked: what the provider bills never crosses the ceiling (20 rounds).
 *  - Many generated bodies (sizes, scripts, escapes, images, 1-hour cache
 *    marks, choices, thinking, all three APIs): no request is billed above
 *    its reservation, every call the mock saw is in the ledger.
 *  - The holes: duplicate keys, limits that do not parse, input the body
 *    does not carry, non-canonical and unmeterable paths are refused and
 *    never reach the mock; usage that is not numbers, cut and overloaded
 *    streams are charged a conservative figure, never 0.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ceiling.h"
#include "gateway.h"
#include "ledger.h"
#include "demo/mock.h"
#include "policy.h"
#include "reqbody.h"
#include "testhttp.h"
#include "util.h"

/* ------------------------------------------------------------ fixture */

struct fx {
	mock_t *mock;
	char up[128];
	char mock_log[96];
	pricing_t *pricing;
	stats_t *stats;
	ledger_t *ledger;
	char ledger_path[96];
	policy_t *policy;
	gateway_t *gw;
	char base[256], obase[256];
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	char *err = NULL;
	f->pricing = pricing_new();
	cJSON *prices = cJSON_Parse("{\"test-claude\":{\"input\":3,\"output\":15,"
	    "\"cache_write_5m\":3.75,\"cache_write_1h\":6,\"cache_read\":0.3},"
	    "\"test-gpt\":{\"input\":2,\"output\":8,\"cache_read\":0.5}}");
	if (pricing_load(f->pricing, prices, &err) != 0)
		fail_msg("pricing_load: %s", err);
	cJSON_Delete(prices);
	snprintf(f->mock_log, sizeof f->mock_log, "/tmp/tokmux-ceil-mock-%d.jsonl", (int)getpid());
	snprintf(f->ledger_path, sizeof f->ledger_path, "/tmp/tokmux-ceil-%d.jsonl", (int)getpid());
	unlink(f->mock_log);
	struct mock_options mo = { .port = 0, .quiet = 1, .pricing = f->pricing,
		.log_path = f->mock_log };
	f->mock = mock_start(&mo, &err);
	if (f->mock == NULL)
		fail_msg("mock_start: %s", err);
	snprintf(f->up, sizeof f->up, "http://127.0.0.1:%d", mock_port(f->mock));
	*state = f;
	return 0;
}

/* A fresh ledger, stats, policy and gateway; route 0 "pane 1" (claude)
 * with a ceiling (-1: none). */
static void
fx_start_at(struct fx *f, int64_t ceiling, const char *ledger_path, int fail_open)
{
	char *err = NULL;
	f->stats = stats_new(0, -1);
	f->ledger = ledger_open(ledger_path, &err);
	assert_non_null(f->ledger);
	struct policy_options po = { .pricing = f->pricing, .stats = f->stats,
		.ceiling_micros = -1, .daily_ceiling_micros = -1,
		.raise_hint = "Raise it with Ctrl-g b or --pane-ceiling.",
		.ledger = f->ledger, .ledger_fail_open = fail_open };
	f->policy = policy_new(&po);
	struct gateway_policy hooks;
	policy_hooks(f->policy, &hooks);
	struct gateway_options go = {
		.port = 0, .anthropic_upstream = f->up, .openai_upstream = f->up,
		.pricing = f->pricing, .stats = f->stats, .ledger = f->ledger, .policy = &hooks,
	};
	f->gw = gateway_start(&go, &err);
	if (f->gw == NULL)
		fail_msg("gateway_start: %s", err);
	int r = gateway_add_route(f->gw, "pane 1", "claude", NULL);
	struct policy_route_config rc = { .number = 1, .name = "pane 1", .agent = "claude",
		.ceiling_micros = ceiling, .ceiling_tokens = -1 };
	policy_add_route(f->policy, r, &rc);
	gateway_route_env(f->gw, r, f->base, sizeof f->base, f->obase, sizeof f->obase);
}

static void
fx_start(struct fx *f, int64_t ceiling)
{
	unlink(f->ledger_path);
	fx_start_at(f, ceiling, f->ledger_path, 0);
}

static void
fx_stop(struct fx *f)
{
	policy_shutdown(f->policy);
	gateway_stop(f->gw);
	policy_free(f->policy);
	ledger_close(f->ledger);
	stats_free(f->stats);
	f->gw = NULL;
	f->policy = NULL;
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
	unlink(f->mock_log);
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

/* POST body to path on the route (OpenAI paths through its /v1 base). */
static void
post(struct fx *f, const char *path, const char *body, struct reply *r)
{
	char url[512];
	int openai = strstr(path, "chat/") != NULL || strstr(path, "responses") != NULL;
	snprintf(url, sizeof url, "%s%s", openai ? f->obase : f->base, path);
	const char *hdrs[] = { openai ? "Authorization: Bearer sk-test" : "x-api-key: sk-test",
		"Content-Type: application/json", NULL };
	if (r->timeout_ms == 0)
		r->timeout_ms = 30000;
	http("POST", url, hdrs, body, r);
}

static void
count_cb(const struct ledger_entry *e, void *user)
{
	(*(int *)user)++;
}

/* Settling follows the last byte: wait (bounded) until n requests are in
 * the ledger and nothing is held. */
static void
wait_idle(struct fx *f, int n)
{
	for (int i = 0; i < 1000; i++) {
		struct policy_route_state st;
		int lines = 0;
		policy_get_state(f->policy, 0, &st);
		ledger_read(f->ledger_path, count_cb, &lines);
		if (lines >= n && st.reserved_micros == 0 && st.reserved_total_micros == 0)
			return;
		usleep(5 * 1000);
	}
	fail_msg("not idle after 5 s");
}

/* ------------------------------------------------ concurrency, overspend */

struct shot {
	struct fx *f;
	const char *path, *body;
	struct reply r;
};

static void *
shot_run(void *arg)
{
	struct shot *s = arg;
	post(s->f, s->path, s->body, &s->r);
	return NULL;
}

/* One round: n concurrent streams against a fresh $0.50 ceiling. Returns
 * what the provider billed; *served, *refused the counts. */
static int64_t
overspend_round(struct fx *f, const char *path, const char *body, int n, int *served,
    int *refused)
{
	const int64_t ceiling = 500000;
	fx_start(f, ceiling);
	int64_t billed0 = mock_billed_micros(f->mock, NULL);
	struct shot *s = xcalloc((size_t)n, sizeof *s);
	pthread_t *t = xcalloc((size_t)n, sizeof *t);
	for (int i = 0; i < n; i++) {
		s[i] = (struct shot){ .f = f, .path = path, .body = body };
		assert_int_equal(pthread_create(&t[i], NULL, shot_run, &s[i]), 0);
	}
	*served = *refused = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (s[i].r.status == 200) {
			(*served)++;
		} else {
			char v[16];
			reply_header(&s[i].r, "x-should-retry", v, sizeof v);
			int want = strstr(path, "chat") != NULL ? 400 : 402;
			if (s[i].r.status != want || strstr(s[i].r.body.data, "pane 1 (claude)") == NULL ||
			    strcmp(v, "false") != 0)
				fail_msg("%s: %ld %s", path, s[i].r.status, s[i].r.body.data);
			(*refused)++;
		}
		reply_free(&s[i].r);
	}
	free(s);
	free(t);
	wait_idle(f, n);
	int64_t billed = mock_billed_micros(f->mock, NULL) - billed0;
	struct policy_route_state st;
	policy_get_state(f->policy, 0, &st);
	assert_int_equal(st.reserved_micros, 0);
	assert_true(st.spent_micros <= ceiling);
	assert_true(st.spent_micros >= billed);    /* counted at least what was billed */
	struct stats_snapshot *snap = xmalloc(sizeof *snap);
	stats_snapshot(f->stats, snap);
	assert_int_equal(snap->route[0].err_429, 0);   /* refusals are not provider 429s */
	assert_int_equal(snap->route[0].refused, *refused);
	free(snap);
	fx_stop(f);
	return billed;
}

static void
test_concurrent_overspend(void **state)
{
	struct fx *f = *state;
	/* the provider would write 100 000 output tokens: only the limit sent stops it */
	script(f, "{\"defaults\":{\"chunks\":2,\"usage\":{\"output_tokens\":100000}},"
	    "\"rules\":[{\"match\":{\"path\":\"/v1/chat/completions\"},\"openai_always_usage\":true}]}");
	static const struct {
		const char *path, *body;
	} shapes[] = {
		{ "/v1/messages", "{\"model\":\"test-claude\",\"max_tokens\":4000,\"stream\":true,"
		  "\"messages\":[{\"role\":\"user\",\"content\":\"write a lot\"}]}" },
		{ "/v1/messages", "{\"model\":\"test-claude\",\"stream\":true,"
		  "\"messages\":[{\"role\":\"user\",\"content\":\"write a lot\"}]}" },
		{ "/chat/completions", "{\"model\":\"test-gpt\",\"max_tokens\":4000,\"stream\":true,"
		  "\"messages\":[{\"role\":\"user\",\"content\":\"write a lot\"}]}" },
		{ "/chat/completions", "{\"model\":\"test-gpt\",\"stream\":true,"
		  "\"messages\":[{\"role\":\"user\",\"content\":\"write a lot\"}]}" },
	};
	int64_t t0 = util_now_ms();
	for (size_t k = 0; k < UTIL_ARRAY_LEN(shapes); k++) {
		for (int n = 64; n <= 128; n *= 2) {
			int64_t worst = 0;
			int served_min = 1 << 30, served_max = 0;
			for (int round = 0; round < 20; round++) {
				int served, refused;
				int64_t billed = overspend_round(f, shapes[k].path, shapes[k].body, n,
				    &served, &refused);
				if (billed > 500000)
					fail_msg("%s %d streams, round %d: billed %lld > ceiling 500000",
					    shapes[k].path, n, round, (long long)billed);
				assert_true(served >= 1);
				assert_int_equal(served + refused, n);
				worst = UTIL_MAX(worst, billed);
				served_min = UTIL_MIN(served_min, served);
				served_max = UTIL_MAX(served_max, served);
			}
			print_message("%-18s %s max_tokens, %3d streams x 20 rounds: billed at most "
			    "$%.4f of $0.50, %d-%d served\n", shapes[k].path,
			    strstr(shapes[k].body, "max_tokens") ? "with   " : "without", n,
			    (double)worst / 1e6, served_min, served_max);
		}
	}
	print_message("160 rounds in %lld ms\n", (long long)(util_now_ms() - t0));
}

/* ------------------------------------------------ property: bodies */

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Text of about n bytes: words, code, unicode, escapes, numbers. */
static void
gen_text(struct buf *b, size_t n)
{
	static const char *const bits[] = { "lorem ", "ipsum ", "int main(void) { return 0; }\\n",
		"caf\xc3\xa9 ", "\xe4\xb8\xad\xe6\x96\x87 ", "\xf0\x9f\x98\x80", "\\\"q\\\" ",
		"\\u0001\\u00e9 ", "1e5 ", "\\t\\t", "a b c d e f g ", "0123456789abcdef",
		"{\\\"k\\\":[1,2,3]} ", "\\\\path\\\\to " };
	size_t start = b->len;
	while (b->len - start < n)
		buf_appendf(b, "%s", bits[rng() % UTIL_ARRAY_LEN(bits)]);
}

static void
gen_image(struct buf *b)
{
	buf_appendf(b, "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
	    "\"image/png\",\"data\":\"");
	size_t n = 100 + rng() % 6000;   /* the mock bills bytes/4: stay under 2 000 tokens */
	for (size_t i = 0; i < n; i++)
		buf_appendf(b, "%c", "ABCDEFGHabcdefgh0123+/"[rng() % 22]);
	buf_appendf(b, "\"}}");
}

/* An Anthropic body: system, tools, messages, some marked for caching. */
static void
gen_messages(struct buf *b, size_t size)
{
	buf_appendf(b, "{\"model\":\"test-claude\",\"stream\":%s", rng() % 2 ? "true" : "false");
	if (rng() % 3)
		buf_appendf(b, ",\"max_tokens\":%u", 1 + rng() % 60000);
	else if (rng() % 2)
		buf_appendf(b, ",\"max_tokens\":null");
	if (rng() % 4 == 0)
		buf_appendf(b, ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":%u}",
		    1024 + rng() % 20000);
	const char *ttl = rng() % 2 ? ",\"ttl\":\"1h\"" : "";
	buf_appendf(b, ",\"system\":[{\"type\":\"text\",\"text\":\"");
	gen_text(b, size / 3);
	buf_appendf(b, "\"");
	if (rng() % 2)
		buf_appendf(b, ",\"cache_control\":{\"type\":\"ephemeral\"%s}", ttl);
	buf_appendf(b, "}]");
	buf_appendf(b, ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"");
	gen_text(b, size - size / 3);
	buf_appendf(b, "\"");
	if (rng() % 3 == 0)
		buf_appendf(b, ",\"cache_control\":{\"type\":\"ephemeral\"%s}", ttl);
	buf_appendf(b, "}");
	if (rng() % 4 == 0) {
		buf_appendf(b, ",");
		gen_image(b);
	}
	buf_appendf(b, "]}]}");
}

/* An OpenAI body: chat (maybe with n) or responses. */
static void
gen_openai(struct buf *b, size_t size, int responses)
{
	buf_appendf(b, "{\"model\":\"test-gpt\",\"stream\":%s", rng() % 2 ? "true" : "false");
	if (!responses && rng() % 2)
		buf_appendf(b, ",\"stream_options\":{\"include_usage\":true}");
	if (rng() % 2)
		buf_appendf(b, ",\"%s\":%u", responses ? "max_output_tokens" : rng() % 2 ?
		    "max_tokens" : "max_completion_tokens", 1 + rng() % 60000);
	if (!responses && rng() % 4 == 0)
		buf_appendf(b, ",\"n\":%u", 1 + rng() % 4);
	if (responses) {
		buf_appendf(b, ",\"input\":\"");
		gen_text(b, size);
		buf_appendf(b, "\"}");
		return;
	}
	buf_appendf(b, ",\"messages\":[{\"role\":\"user\",\"content\":\"");
	gen_text(b, size);
	buf_appendf(b, "\"}]}");
}

struct billed {
	char id[96];
	int64_t cost;
	int found;
};

struct join {
	struct billed *b;
	int n;
	int64_t max_over;
	int checked;
	char worst[200];
};

/* The mock's log: request id -> what it billed, for its model calls. */
static int
read_mock_log(const char *path, struct billed **out)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	*out = NULL;
	while (fp != NULL && getline(&line, &cap, fp) > 0) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "n");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "request_id");
		if (cJSON_IsNumber(num) && num->valuedouble > 0 && cJSON_IsString(id)) {
			*out = xreallocarray(*out, (size_t)n + 1, sizeof **out);
			memset(&(*out)[n], 0, sizeof **out);
			snprintf((*out)[n].id, sizeof (*out)[n].id, "%s", id->valuestring);
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cost_micros");
			(*out)[n].cost = cJSON_IsNumber(c) ? (int64_t)c->valuedouble : 0;
			n++;
		}
		cJSON_Delete(o);
	}
	free(line);
	if (fp != NULL)
		fclose(fp);
	return n;
}

/* Each ledger record against the mock's bill for the same request. */
static void
join_ledger_line(struct join *j, const char *line)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "request_id");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "reserved_micros");
	const cJSON *chg = cJSON_GetObjectItemCaseSensitive(o, "charged_micros");
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(o, "cost_micros");
	for (int i = 0; cJSON_IsString(id) && i < j->n; i++) {
		if (strcmp(j->b[i].id, id->valuestring) != 0)
			continue;
		j->b[i].found = 1;
		int64_t reserved = cJSON_IsNumber(res) ? (int64_t)res->valuedouble : 0;
		int64_t charged = cJSON_IsNumber(chg) ? (int64_t)chg->valuedouble :
		    (int64_t)cost->valuedouble;
		j->checked++;
		if (j->b[i].cost - reserved > j->max_over) {
			j->max_over = j->b[i].cost - reserved;
			snprintf(j->worst, sizeof j->worst, "%s billed %lld reserved %lld", j->b[i].id,
			    (long long)j->b[i].cost, (long long)reserved);
		}
		if (charged < j->b[i].cost)
			fail_msg("%s: charged %lld below the bill %lld", j->b[i].id, (long long)charged,
			    (long long)j->b[i].cost);
	}
	cJSON_Delete(o);
}

static void
test_property_billed_within_reservation(void **state)
{
	struct fx *f = *state;
	unlink(f->mock_log);
	struct mock_options mo = { .port = 0, .quiet = 1, .pricing = f->pricing,
		.log_path = f->mock_log };
	mock_stop(f->mock);
	char *err = NULL;
	f->mock = mock_start(&mo, &err);
	assert_non_null(f->mock);
	snprintf(f->up, sizeof f->up, "http://127.0.0.1:%d", mock_port(f->mock));
	/* the provider writes as much output as allowed, cache writes where the body marks them */
	script(f, "{\"defaults\":{\"chunks\":1,\"cache_from_body\":true,\"openai_always_usage\":true,"
	    "\"usage\":{\"output_tokens\":200000}}}");
	fx_start(f, -1);
	enum { N = 240 };
	int sent = 0;
	for (int i = 0; i < N; i++) {
		struct buf b = { 0 };
		size_t size = rng() % 5 == 0 ? 4096 + rng() % 60000 : 10 + rng() % 3000;
		int kind = rng() % 3;
		const char *path = kind == 0 ? "/v1/messages" : kind == 1 ? "/chat/completions" :
		    "/responses";
		if (kind == 0)
			gen_messages(&b, size);
		else
			gen_openai(&b, size, kind == 2);
		struct reqbody rb;
		if (reqbody_read(b.data, b.len, &rb) != REQBODY_OK)
			fail_msg("generated a body tokmux refuses: %s: %.200s", rb.error, b.data);
		struct reply r = { 0 };
		post(f, path, b.data, &r);
		if (r.status != 200)
			fail_msg("%s %zu bytes: %ld %s", path, b.len, r.status, r.body.data);
		reply_free(&r);
		buf_free(&b);
		sent++;
	}
	wait_idle(f, sent);
	struct join j = { 0 };
	j.n = read_mock_log(f->mock_log, &j.b);
	assert_int_equal(j.n, sent);
	FILE *fp = fopen(f->ledger_path, "r");
	char *line = NULL;
	size_t cap = 0;
	while (fp != NULL && getline(&line, &cap, fp) > 0)
		join_ledger_line(&j, line);
	free(line);
	fclose(fp);
	for (int i = 0; i < j.n; i++)
		if (!j.b[i].found)
			fail_msg("the mock served %s, the ledger has no record of it", j.b[i].id);
	assert_int_equal(j.checked, sent);
	if (j.max_over > 0)
		fail_msg("billed above the reservation: %s", j.worst);
	print_message("%d generated requests, each billed at most its reservation\n", sent);
	free(j.b);
	fx_stop(f);
}

/* ------------------------------------------------ holes */

static int
mock_lines(struct fx *f)
{
	struct billed *b;
	int n = read_mock_log(f->mock_log, &b);
	free(b);
	return n;
}

/* Bodies tokmux refuses (400) never reach the provider; each is recorded. */
static void
test_holes_refused(void **state)
{
	struct fx *f = *state;
	script(f, "{}");
	fx_start(f, 500000);
	long calls0 = mock_calls(f->mock);
	static const struct {
		const char *path, *body, *why;
	} bad[] = {
		{ "/v1/messages", "{\"model\":\"test-claude\",\"max_tokens\":10,\"messages\":[],"
		  "\"max_tokens\":100000}", "twice in one object" },
		{ "/v1/messages", "{\"model\":\"test-claude\",\"model\":\"claude-opus-4-1\","
		  "\"max_tokens\":10}", "twice in one object" },
		{ "/chat/completions", "{\"model\":\"test-gpt\",\"max_completion_tokens\":\"9\"}",
		  "must be a whole number" },
		{ "/chat/completions", "{\"model\":\"test-gpt\",\"MAX_TOKENS\":100000,\"max_tokens\":1}",
		  "only in case" },
		{ "/responses", "{\"model\":\"test-gpt\",\"previous_response_id\":\"resp_1\","
		  "\"input\":\"hi\"}", "stored context" },
		{ "/v1/messages", "{\"model\":[\"test-claude\"],\"max_tokens\":10}", "must be a model id" },
		{ "/v1/messages", "not json", "not a JSON object" },
		{ "/v1/messages", "{\"model\":\"test-claude\"}{\"max_tokens\":5}", "not a JSON object" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		struct reply r = { 0 };
		post(f, bad[i].path, bad[i].body, &r);
		if (r.status != 400 || strstr(r.body.data, bad[i].why) == NULL)
			fail_msg("%s: %ld %s", bad[i].body, r.status, r.body.data);
		reply_free(&r);
	}
	/* paths: non-canonical (400) and unmeterable (404) */
	static const char *const paths[] = { "/v1/./messages", "/v1//messages", "/v1/%6Dessages",
		"/v1/messages/batches", "/v1/complete" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(paths); i++) {
		struct reply r = { 0 };
		post(f, paths[i], "{\"model\":\"test-claude\",\"max_tokens\":10}", &r);
		assert_true(r.status == 400 || r.status == 404);
		reply_free(&r);
	}
	assert_int_equal(mock_calls(f->mock), calls0);
	wait_idle(f, (int)UTIL_ARRAY_LEN(bad));
	struct stats_snapshot *snap = xmalloc(sizeof *snap);
	stats_snapshot(f->stats, snap);
	assert_int_equal(snap->route[0].refused, (int64_t)UTIL_ARRAY_LEN(bad));
	assert_int_equal(snap->route[0].err_4xx, 0);
	free(snap);
	fx_stop(f);
}

/* What comes back without usable usage is charged conservatively: usage
 * that is not numbers, a cut stream, an overloaded one. Never 0; never
 * below what the provider billed. */
static void
test_holes_charged(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *script, *path, *body;
		int64_t want;       /* charged, micros; -1: the whole reservation */
	} cases[] = {
		/* output figure a string: input as reported + the limit sent */
		{ "{\"defaults\":{\"bad_usage\":\"output\",\"usage\":{\"input_tokens\":1000,"
		  "\"output_tokens\":300}}}", "/v1/messages",
		  "{\"model\":\"test-claude\",\"max_tokens\":500}", 1000 * 3 + 500 * 15 },
		/* input a string: the input bound at the 5m write rate + output as reported */
		{ "{\"defaults\":{\"bad_usage\":\"input\",\"usage\":{\"input_tokens\":1000,"
		  "\"output_tokens\":300}}}", "/v1/messages",
		  "{\"model\":\"test-claude\",\"max_tokens\":500}", -2 },
		/* both: nothing usable, the whole reservation */
		{ "{\"defaults\":{\"bad_usage\":\"both\",\"usage\":{\"input_tokens\":1000,"
		  "\"output_tokens\":300}}}", "/chat/completions",
		  "{\"model\":\"test-gpt\",\"max_tokens\":500}", -1 },
		/* cut after message_start: its input + the limit */
		{ "{\"defaults\":{\"action\":\"cut\",\"after_events\":3,\"usage\":{\"input_tokens\":1000,"
		  "\"output_tokens\":300}}}", "/v1/messages",
		  "{\"model\":\"test-claude\",\"max_tokens\":500,\"stream\":true}", 1000 * 3 + 500 * 15 },
		/* overloaded mid-stream (not retried: content went out) */
		{ "{\"defaults\":{\"action\":\"overloaded_midstream\",\"after_events\":4,\"usage\":"
		  "{\"input_tokens\":1000,\"output_tokens\":300}}}", "/v1/messages",
		  "{\"model\":\"test-claude\",\"max_tokens\":500,\"stream\":true}", 1000 * 3 + 500 * 15 },
		/* an OpenAI stream cut before its usage: the whole reservation */
		{ "{\"defaults\":{\"action\":\"cut\",\"after_events\":2,\"openai_always_usage\":true,"
		  "\"usage\":{\"input_tokens\":1000,\"output_tokens\":300}}}", "/chat/completions",
		  "{\"model\":\"test-gpt\",\"max_tokens\":500,\"stream\":true}", -1 },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		script(f, cases[i].script);
		fx_start(f, -1);
		int64_t billed0 = mock_billed_micros(f->mock, NULL);
		struct reply r = { 0 };
		post(f, cases[i].path, cases[i].body, &r);
		reply_free(&r);
		wait_idle(f, 1);
		int64_t billed = mock_billed_micros(f->mock, NULL) - billed0;
		struct policy_route_state st;
		policy_get_state(f->policy, 0, &st);
		struct reqbody rb;
		int64_t in, in_1h;
		reqbody_read(cases[i].body, strlen(cases[i].body), &rb);
		reqbody_input_bound(&rb, 0, &in, &in_1h);
		int64_t want = cases[i].want;
		const char *model = strstr(cases[i].path, "chat") ? "test-gpt" : "test-claude";
		if (want == -1)
			want = pricing_bound(f->pricing, model, in, in_1h, 500);
		else if (want == -2)
			want = pricing_bound(f->pricing, model, in, in_1h, 0) + 300 * 15;
		if (st.spent_micros != want)
			fail_msg("case %zu: charged %lld, wanted %lld", i, (long long)st.spent_micros,
			    (long long)want);
		assert_true(st.spent_micros > 0);
		assert_true(st.spent_micros >= billed);
		fx_stop(f);
	}
	assert_true(mock_lines(f) > 0);
}

/* A request whose worst case does not fit is sent with the output limit
 * that does: the upstream stops there ("max_tokens"), the ledger says
 * what was sent and asked, /metrics counts the refusal apart from 429s. */
static void
test_clamp_recorded(void **state)
{
	struct fx *f = *state;
	script(f, "{\"defaults\":{\"usage\":{\"output_tokens\":100000}}}");
	fx_start(f, 50000);   /* $0.05: 3 333 output tokens of test-claude at most */
	struct reply r = { 0 };
	post(f, "/v1/messages", "{\"model\":\"test-claude\",\"max_tokens\":20000,\"messages\":[]}", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "\"stop_reason\":\"max_tokens\""));
	reply_free(&r);
	struct reply r2 = { 0 };
	post(f, "/v1/messages", "{\"model\":\"test-claude\",\"max_tokens\":20000,\"messages\":[]}", &r2);
	assert_int_equal(r2.status, 402);
	reply_free(&r2);
	wait_idle(f, 2);
	FILE *fp = fopen(f->ledger_path, "r");
	char line[4096];
	/* the intent line first: what was reserved and sent, before it went */
	assert_non_null(fgets(line, sizeof line, fp));
	assert_non_null(strstr(line, "\"kind\":\"intent\""));
	assert_non_null(strstr(line, "\"clamped_from\":20000"));
	assert_non_null(strstr(line, "\"reserved_micros\":"));
	assert_non_null(fgets(line, sizeof line, fp));
	cJSON *o = cJSON_Parse(line);
	int64_t sent = (int64_t)cJSON_GetObjectItemCaseSensitive(o, "max_tokens")->valuedouble;
	assert_int_equal((int64_t)cJSON_GetObjectItemCaseSensitive(o, "clamped_from")->valuedouble, 20000);
	assert_true(sent >= 1024 && sent < 3334);
	assert_int_equal((int64_t)cJSON_GetObjectItemCaseSensitive(o, "output_tokens")->valuedouble, sent);
	cJSON_Delete(o);
	assert_non_null(fgets(line, sizeof line, fp));
	assert_non_null(strstr(line, "\"refused\":true"));
	assert_non_null(strstr(line, "\"status\":402"));
	assert_non_null(strstr(line, "\"n429\":0"));
	fclose(fp);
	char *m = gateway_metrics(f->gw);
	int n429 = 0, nrefused = 0;
	for (char *l = strtok(m, "\n"); l != NULL; l = strtok(NULL, "\n")) {
		if (strncmp(l, "tokmux_responses_total{", 23) != 0)
			continue;
		if (strstr(l, "class=\"429\"") != NULL) {
			n429++;
			assert_non_null(strstr(l, "} 0"));
		}
		if (strstr(l, "class=\"refused\"") != NULL) {
			nrefused++;
			assert_non_null(strstr(l, "} 1"));
		}
	}
	assert_true(n429 >= 1 && nrefused >= 1);
	free(m);
	fx_stop(f);
}

/* A ledger that cannot be written (/dev/full: ENOSPC on every write):
 * the request that found out is served (its records are held), the next
 * ones under a ceiling are refused as a spending limit that names the
 * ledger, on both APIs; without a ceiling, or with ledger_fail_open, they
 * are served. */
static void
test_ledger_fails_refuses(void **state)
{
	struct fx *f = *state;
	static const char ant[] = "{\"model\":\"test-claude\",\"max_tokens\":100,\"messages\":[]}";
	static const char oai[] = "{\"model\":\"test-gpt\",\"max_tokens\":100,\"messages\":[]}";
	fx_start_at(f, 1000000, "/dev/full", 0);
	struct reply r = { 0 };
	post(f, "/v1/messages", ant, &r);
	assert_int_equal(r.status, 200);     /* admitted before the ledger failed */
	reply_free(&r);
	struct ledger_health h;
	ledger_health(f->ledger, &h);
	assert_true(h.failing);
	assert_int_equal(h.error, ENOSPC);
	assert_true(h.held >= 1);
	struct reply r2 = { 0 };
	post(f, "/v1/messages", ant, &r2);
	char v[16];
	reply_header(&r2, "x-should-retry", v, sizeof v);
	assert_int_equal(r2.status, 402);
	assert_string_equal(v, "false");
	assert_non_null(strstr(r2.body.data, "billing_error"));
	assert_non_null(strstr(r2.body.data, "the ledger cannot be written (No space left on device)"));
	assert_non_null(strstr(r2.body.data, "--ledger-fail-open"));
	reply_free(&r2);
	struct reply r3 = { 0 };
	post(f, "/chat/completions", oai, &r3);
	assert_int_equal(r3.status, 400);
	assert_non_null(strstr(r3.body.data, "insufficient_quota"));
	assert_non_null(strstr(r3.body.data, "ledger cannot be written"));
	reply_free(&r3);
	/* no ceiling anywhere: nothing to keep, served */
	policy_set_pane_ceiling(f->policy, 0, -1);
	struct reply r4 = { 0 };
	post(f, "/v1/messages", ant, &r4);
	assert_int_equal(r4.status, 200);
	reply_free(&r4);
	fx_stop(f);
	/* the user chose to serve anyway */
	fx_start_at(f, 1000000, "/dev/full", 1);
	for (int i = 0; i < 2; i++) {
		struct reply r5 = { 0 };
		post(f, "/v1/messages", ant, &r5);
		assert_int_equal(r5.status, 200);
		reply_free(&r5);
	}
	ledger_health(f->ledger, &h);
	assert_true(h.failing && h.held >= 2);
	fx_stop(f);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_holes_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes_charged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clamp_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_fails_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_property_billed_within_reservation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_overspend, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
