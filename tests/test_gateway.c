/*
 * Tests for gateway: a real gateway on 127.0.0.1 in front of the scripted
 * in-process upstream (tests/testsrv.h), driven by libcurl clients.
 * Pass-through of method, path, query, headers and body; /v1 insertion and
 * the OpenAI/Anthropic split; tokens, Host and Origin checks; /healthz and
 * /metrics; streaming latency; usage, cost, stats and ledger for Anthropic
 * SSE + JSON and OpenAI chat + responses; upstream down and timeouts;
 * client disconnects; 32 concurrent streams; the policy seam.
 *
 * Prices come from a config override (test-claude: $3/$15, writes 3.75/6,
 * read 0.30; test-gpt: $2/$8, cached 0.50) so expected costs are computed
 * here from those numbers, not from the built-in table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cmd.h"
#include "core.h"
#include "gateway.h"
#include "demo/mock.h"
#include "testhttp.h"
#include "testsrv.h"
#include "util.h"

/* ------------------------------------------------------------ scripts */

#define ANT_START \
	"event: message_start\n" \
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\"," \
	"\"role\":\"assistant\",\"content\":[],\"model\":\"test-claude\",\"usage\":{" \
	"\"input_tokens\":1200,\"cache_creation_input_tokens\":3000,\"cache_read_input_tokens\":30000," \
	"\"cache_creation\":{\"ephemeral_5m_input_tokens\":2000,\"ephemeral_1h_input_tokens\":1000}," \
	"\"output_tokens\":1}}}\n\n"
#define ANT_BLOCK \
	"event: content_block_start\n" \
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" \
	"event: content_block_delta\n" \
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
#define ANT_END \
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" \
	"event: message_delta\n" \
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":345}}\n\n" \
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
/* 1200*3 + 345*15 + 2000*3.75 + 1000*6 + 30000*0.3 micro-dollars */
#define ANT_COST (1200 * 3 + 345 * 15 + 2000 * 375 / 100 + 1000 * 6 + 30000 * 3 / 10)

static const struct ts_script ant_sse = {
	.headers = { "Content-Type: text/event-stream", "request-id: req_sse_1",
		"anthropic-ratelimit-requests-limit: 1000",
		"anthropic-ratelimit-requests-remaining: 993" },
	.chunks = { { 0, ANT_START }, { 5, ANT_BLOCK }, { 5, ANT_END } },
	.nchunks = 3,
};

/* ------------------------------------------------------------ fixture */

struct rec {
	pthread_mutex_t lock;
	int settled;
	int admitted;
	struct usage usage;
	int64_t cost;
	int priced;
	int status;
	int client_gone;
	int attempts;
	int n529;
	char model_asked[MODEL_ID_MAX];
	char key_hash[17];
	int64_t cost_sum;
};

struct fx {
	struct testsrv *srv;
	mock_t *mock;
	pricing_t *pricing;
	stats_t *stats;
	ledger_t *ledger;
	rl_table_t *rl;
	char ledger_path[64];
	gateway_t *gw;
	int port;
	int route[2];
	char base[2][256];
	char obase[2][256];
	char token[2][65];
	struct rec rec;
	int refuse;
	int retry_529;
	/* admit() of a request with key "sk-ant-wait" waits until gate_open
	 * (in a pool thread: with nowait it answers GATEWAY_LATER) */
	pthread_cond_t gate_cv;
	int gate_open, waiting, asked_nowait;
	char wait_hash[17];
};

static int
pol_admit(void *user, struct gateway_call *c, struct gateway_refusal *r)
{
	struct fx *f = user;
	pthread_mutex_lock(&f->rec.lock);
	if (f->wait_hash[0] != '\0' && strcmp(c->key_hash, f->wait_hash) == 0 && !f->gate_open) {
		if (c->nowait) {
			f->asked_nowait++;
			pthread_mutex_unlock(&f->rec.lock);
			return GATEWAY_LATER;
		}
		f->waiting++;
		pthread_cond_broadcast(&f->gate_cv);
		while (!f->gate_open)
			pthread_cond_wait(&f->gate_cv, &f->rec.lock);
		f->waiting--;
	}
	f->rec.admitted++;
	pthread_mutex_unlock(&f->rec.lock);
	if (!f->refuse)
		return 0;
	r->status = 403;
	snprintf(r->type, sizeof r->type, "permission_error");
	snprintf(r->message, sizeof r->message, "tokmux: pane %d spend ceiling reached", c->route + 1);
	return -1;
}

static int
pol_attempt(void *user, struct gateway_call *c, const struct gateway_attempt *a,
    char **new_body, size_t *new_len)
{
	struct fx *f = user;
	if (!f->retry_529 || a->status != 529)
		return 0;
	*new_body = xstrdup("{\"model\":\"test-claude\",\"fallback\":true}");
	*new_len = strlen(*new_body);
	return 1;
}

static void
pol_settle(void *user, const struct gateway_call *c, const struct gateway_outcome *o)
{
	struct fx *f = user;
	pthread_mutex_lock(&f->rec.lock);
	f->rec.settled++;
	f->rec.usage = *o->usage;
	f->rec.cost = o->cost_micros;
	f->rec.cost_sum += o->cost_micros;
	f->rec.priced = o->priced;
	f->rec.status = o->status;
	f->rec.client_gone = o->client_gone;
	f->rec.attempts = c->attempt + 1;
	f->rec.n529 = c->n529;
	snprintf(f->rec.model_asked, sizeof f->rec.model_asked, "%s", c->model_asked);
	snprintf(f->rec.key_hash, sizeof f->rec.key_hash, "%s", c->key_hash);
	pthread_mutex_unlock(&f->rec.lock);
}

static const struct gateway_policy test_policy = {
	.admit = pol_admit, .attempt = pol_attempt, .settle = pol_settle,
};

static gateway_t *
fx_gateway(struct fx *f, const char *anthropic, const char *openai, int idle_s)
{
	struct gateway_policy pol = test_policy;
	pol.user = f;
	struct gateway_options o = {
		.port = 0, .anthropic_upstream = anthropic, .openai_upstream = openai,
		.pricing = f->pricing, .stats = f->stats, .ledger = f->ledger, .ratelimits = f->rl,
		.policy = &pol, .idle_timeout_s = idle_s,
	};
	char *err = NULL;
	gateway_t *g = gateway_start(&o, &err);
	if (g == NULL)
		fail_msg("gateway_start: %s", err);
	f->port = gateway_port(g);
	f->route[0] = gateway_add_route(g, "alpha", "claude", f->token[0]);
	f->route[1] = gateway_add_route(g, "beta", "codex", f->token[1]);
	for (int i = 0; i < 2; i++)
		gateway_route_env(g, f->route[i], f->base[i], sizeof f->base[i], f->obase[i],
		    sizeof f->obase[i]);
	return g;
}

/* Everything but the upstream and the gateway. */
static struct fx *
fx_new(void)
{
	struct fx *f = xcalloc(1, sizeof *f);
	char *err = NULL;
	pthread_mutex_init(&f->rec.lock, NULL);
	pthread_cond_init(&f->gate_cv, NULL);
	f->pricing = pricing_new();
	cJSON *prices = cJSON_Parse("{\"test-claude\":{\"input\":3,\"output\":15,"
	    "\"cache_write_5m\":3.75,\"cache_write_1h\":6,\"cache_read\":0.3},"
	    "\"test-gpt\":{\"input\":2,\"output\":8,\"cache_read\":0.5}}");
	if (pricing_load(f->pricing, prices, &err) != 0)
		fail_msg("pricing_load: %s", err);
	cJSON_Delete(prices);
	f->stats = stats_new(0, -1);
	f->rl = rl_table_new();
	snprintf(f->ledger_path, sizeof f->ledger_path, "/tmp/tokmux-gwtest-%d.jsonl", (int)getpid());
	unlink(f->ledger_path);
	f->ledger = ledger_open(f->ledger_path, &err);
	if (f->ledger == NULL)
		fail_msg("ledger_open: %s", err);
	return f;
}

static int
setup(void **state)
{
	struct fx *f = fx_new();
	f->srv = testsrv_start();
	char a[128], o[128];
	snprintf(a, sizeof a, "http://127.0.0.1:%d/a", f->srv->port);
	snprintf(o, sizeof o, "http://127.0.0.1:%d/o/", f->srv->port);
	f->gw = fx_gateway(f, a, o, 0);
	*state = f;
	return 0;
}

/* The same in front of the project's mock provider (src/demo/mock.c). */
static int
setup_mock(void **state)
{
	struct fx *f = fx_new();
	struct mock_options mo = { .port = 0, .quiet = 1 };
	char *err = NULL;
	f->mock = mock_start(&mo, &err);
	if (f->mock == NULL)
		fail_msg("mock_start: %s", err);
	char a[128];
	snprintf(a, sizeof a, "http://127.0.0.1:%d", mock_port(f->mock));
	f->gw = fx_gateway(f, a, a, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	gateway_stop(f->gw);
	ledger_close(f->ledger);
	unlink(f->ledger_path);
	rl_table_free(f->rl);
	stats_free(f->stats);
	pricing_free(f->pricing);
	if (f->srv != NULL)
		testsrv_stop(f->srv);
	mock_stop(f->mock);
	pthread_mutex_destroy(&f->rec.lock);
	pthread_cond_destroy(&f->gate_cv);
	free(f);
	return 0;
}

/* Settling happens just after the last byte: wait for it (bounded). */
static int
wait_settled(struct fx *f, int n)
{
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&f->rec.lock);
		int s = f->rec.settled;
		pthread_mutex_unlock(&f->rec.lock);
		if (s >= n)
			return s;
		usleep(10 * 1000);
	}
	return -1;
}

static void
url_of(char *out, size_t len, const char *base, const char *path)
{
	snprintf(out, len, "%s%s", base, path);
}

static int
srv_requests(struct fx *f)
{
	pthread_mutex_lock(&f->srv->lock);
	int n = f->srv->requests;
	pthread_mutex_unlock(&f->srv->lock);
	return n;
}

/* ------------------------------------------------------------ tests */

static void
test_pure_rules(void **state)
{
	static const struct {
		const char *in, *out;
	} paths[] = {
		{ "/messages", "/v1/messages" },
		{ "/messages/count_tokens", "/v1/messages/count_tokens" },
		{ "/v1/messages", "/v1/messages" },
		{ "/chat/completions", "/v1/chat/completions" },
		{ "/responses", "/v1/responses" },
		{ "/models", "/v1/models" },
		{ "/", "/" },
		{ "", "/" },
		{ "/v1", "/v1" },
		{ "/messagesx", "/messagesx" },
		{ "/v2/messages", "/v2/messages" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(paths); i++) {
		char *p = gateway_upstream_path(paths[i].in);
		assert_string_equal(p, paths[i].out);
		free(p);
	}
	assert_true(gateway_is_openai("/v1/chat/completions", 0, 1, 0));
	assert_true(gateway_is_openai("/v1/responses", 0, 1, 0));
	assert_true(gateway_is_openai("/v1/responses/resp_1/cancel", 0, 1, 0));
	assert_true(gateway_is_openai("/v1/embeddings", 0, 0, 0));
	assert_false(gateway_is_openai("/v1/messages", 0, 1, 0));
	assert_false(gateway_is_openai("/v1/responsesx", 0, 1, 0));
	assert_true(gateway_is_openai("/v1/models", 0, 1, 0));
	assert_false(gateway_is_openai("/v1/models", 1, 0, 1));
	assert_false(gateway_is_openai("/v1/models", 0, 1, 1));    /* Claude Code + OAuth */
	assert_false(gateway_is_openai("/v1/models", 1, 1, 0));
	(void)state;
}

static void
test_passthrough(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .echo = 1,
		.headers = { "Content-Type: application/json", "X-Up: 1", "request-id: req_echo" } };
	testsrv_script(f->srv, &sc);
	const char *body = "{\"model\":\"test-claude\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
	    "\"content\":\"caf\xc3\xa9 \\u0000 \\\"q\\\"\"}]}";
	const char *hdrs[] = { "x-api-key: sk-ant-secret-1", "anthropic-version: 2023-06-01",
		"anthropic-beta: b1,b2", "X-Custom: a  b", "Accept-Encoding: gzip, br",
		"Content-Type: application/json", "TE: trailers", NULL };
	char url[512], v[256];
	url_of(url, sizeof url, f->base[0], "/v1/messages?beta=true&x=%2F&flag");
	struct reply r = { 0 };
	http("POST", url, hdrs, body, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, body);
	reply_header(&r, "X-Up", v, sizeof v);
	assert_string_equal(v, "1");
	reply_header(&r, "request-id", v, sizeof v);
	assert_string_equal(v, "req_echo");

	assert_string_equal(f->srv->method, "POST");
	assert_string_equal(f->srv->uri, "/a/v1/messages?beta=true&x=%2F&flag");
	assert_string_equal(f->srv->body.data, body);
	testsrv_header(f->srv, "x-api-key", v, sizeof v);
	assert_string_equal(v, "sk-ant-secret-1");
	testsrv_header(f->srv, "anthropic-beta", v, sizeof v);
	assert_string_equal(v, "b1,b2");
	testsrv_header(f->srv, "X-Custom", v, sizeof v);
	assert_string_equal(v, "a  b");
	testsrv_header(f->srv, "Accept-Encoding", v, sizeof v);
	assert_string_equal(v, "identity");
	testsrv_header(f->srv, "TE", v, sizeof v);
	assert_string_equal(v, "");
	char host[64];
	snprintf(host, sizeof host, "127.0.0.1:%d", f->srv->port);
	testsrv_header(f->srv, "Host", v, sizeof v);
	assert_string_equal(v, host);
	reply_free(&r);

	/* The pass list: model lists (GET, HEAD), token counting; a query is
	 * kept as sent. */
	struct reply r2 = { 0 };
	url_of(url, sizeof url, f->base[1], "/v1/models/claude-opus-4-1?x=%2F");
	const char *h2[] = { "x-api-key: k", NULL };
	http("GET", url, h2, NULL, &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(f->srv->method, "GET");
	assert_string_equal(f->srv->uri, "/a/v1/models/claude-opus-4-1?x=%2F");
	reply_free(&r2);
	/* echo responses carry no usage: settled, nothing metered */
	assert_int_equal(wait_settled(f, 1), 1);
	assert_string_equal(f->rec.model_asked, "test-claude");
	char kh[17];
	util_key_hash("sk-ant-secret-1", kh);
	assert_string_equal(f->rec.key_hash, kh);
}

static void
test_v1_insertion_and_split(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .echo = 1 };
	testsrv_script(f->srv, &sc);
	static const struct {
		int openai_base;
		const char *method, *path, *auth, *want;
	} cases[] = {
		{ 0, "POST", "/messages", "x-api-key: k", "/a/v1/messages" },
		{ 0, "POST", "/messages?beta=true", "x-api-key: k", "/a/v1/messages?beta=true" },
		{ 0, "POST", "/v1/messages/count_tokens", "x-api-key: k", "/a/v1/messages/count_tokens" },
		{ 1, "POST", "/chat/completions", "Authorization: Bearer sk-o", "/o/v1/chat/completions" },
		{ 0, "POST", "/chat/completions", "Authorization: Bearer sk-o", "/o/v1/chat/completions" },
		{ 1, "POST", "/responses", "Authorization: Bearer sk-o", "/o/v1/responses" },
		{ 0, "GET", "/v1/models", "x-api-key: k", "/a/v1/models" },
		{ 1, "GET", "/models", "Authorization: Bearer sk-o", "/o/v1/models" },
		{ 1, "POST", "/responses/input_tokens", "Authorization: Bearer sk-o",
		  "/o/v1/responses/input_tokens" },
		{ 0, "HEAD", "/", "x-api-key: k", "/a/" },
		{ 0, "HEAD", "", "x-api-key: k", "/a/" },
		{ 0, "HEAD", "/api/hello", "x-api-key: k", "/a/api/hello" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char url[512];
		const char *hdrs[] = { cases[i].auth, NULL };
		url_of(url, sizeof url, cases[i].openai_base ? f->obase[0] : f->base[0], cases[i].path);
		struct reply r = { 0 };
		http(cases[i].method, url, hdrs, strcmp(cases[i].method, "POST") == 0 ? "{}" : NULL, &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(f->srv->uri, cases[i].want);
		reply_free(&r);
	}
}

/* A path that is not in its plain form is refused before routing (400),
 * and a path tokmux cannot meter is refused (404) unless it is on the pass
 * list: nothing of either reaches the upstream. */
static void
test_paths_refused(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .echo = 1 };
	testsrv_script(f->srv, &sc);
	int before = srv_requests(f);
	static const struct {
		const char *method, *path, *why;
	} bad[] = {
		{ "POST", "/v1/./messages", "a . or .. segment" },
		{ "POST", "/v1/../v1/messages", "a . or .. segment" },
		{ "POST", "/v1//messages", "an empty segment" },
		{ "POST", "//v1/messages", "an empty segment" },
		{ "POST", "/v1/messages/", "an empty segment" },
		{ "POST", "/v1/%6Dessages", "a percent-encoded character" },
		{ "POST", "/v1/messages%2F", "a percent-encoded character" },
		{ "POST", "/v1/me%73sages?beta=true", "a percent-encoded character" },
		{ "POST", "/v1/chat/completions;x", "a character other than" },
		{ "POST", "/v1/mes\\sages", "a character other than" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		char url[512];
		url_of(url, sizeof url, f->base[0], bad[i].path);
		const char *hdrs[] = { "x-api-key: k", "Content-Type: application/json", NULL };
		struct reply r = { 0 };
		http(bad[i].method, url, hdrs, "{\"model\":\"test-claude\",\"max_tokens\":5}", &r);
		if (r.status != 400 || strstr(r.body.data, bad[i].why) == NULL)
			fail_msg("%s: %ld %s", bad[i].path, r.status, r.body.data);
		assert_non_null(strstr(r.body.data, "invalid_request_error"));
		reply_free(&r);
	}
	static const struct {
		const char *method, *path;
	} unknown[] = {
		{ "POST", "/v1/messages/batches" }, { "POST", "/v1/complete" },
		{ "POST", "/v1/completions" }, { "POST", "/v1/embeddings" },
		{ "DELETE", "/v1/files/abc" }, { "GET", "/v1/messages" }, { "PUT", "/v1/messages" },
		{ "GET", "/" }, { "POST", "/v2/messages" }, { "POST", "/V1/MESSAGES" },
		{ "GET", "/v1/models/a/b" }, { "POST", "/v1/responses/resp_1/cancel" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(unknown); i++) {
		char url[512];
		url_of(url, sizeof url, f->base[0], unknown[i].path);
		const char *hdrs[] = { "x-api-key: k", NULL };
		struct reply r = { 0 };
		http(unknown[i].method, url, hdrs, strcmp(unknown[i].method, "POST") == 0 ? "{}" : NULL, &r);
		if (r.status != 404 || strstr(r.body.data, "is not forwarded") == NULL)
			fail_msg("%s %s: %ld %s", unknown[i].method, unknown[i].path, r.status, r.body.data);
		reply_free(&r);
	}
	/* a GET with a body is no model list */
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/models");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	http("GET", url, hdrs, "{\"model\":\"x\"}", &r);
	assert_int_equal(r.status, 404);
	reply_free(&r);
	assert_int_equal(srv_requests(f), before);
	/* the pure rules */
	assert_null(gateway_path_problem("/"));
	assert_null(gateway_path_problem("/v1/models/claude-opus-4-1@20250805"));
	assert_non_null(gateway_path_problem("/v1/./x"));
	assert_int_equal(gateway_path_kind("POST", "/v1/messages", 2), GATEWAY_PATH_METERED);
	assert_int_equal(gateway_path_kind("POST", "/v1/messages/count_tokens", 2), GATEWAY_PATH_PASS);
	assert_int_equal(gateway_path_kind("HEAD", "/anything", 0), GATEWAY_PATH_PASS);
	assert_int_equal(gateway_path_kind("HEAD", "/anything", 3), GATEWAY_PATH_REFUSED);
	assert_int_equal(gateway_path_kind("GET", "/v1/models", 0), GATEWAY_PATH_PASS);
	assert_int_equal(gateway_path_kind("GET", "/v1/models/", 0), GATEWAY_PATH_PASS);
	assert_int_equal(gateway_path_kind("GET", "/v1/modelsx", 0), GATEWAY_PATH_REFUSED);
}

static void
test_unknown_token_404(void **state)
{
	struct fx *f = *state;
	int before = srv_requests(f);
	char url[512], fake[65];
	snprintf(fake, sizeof fake, "%s", f->token[0]);
	fake[0] = fake[0] == 'a' ? 'b' : 'a';
	const char *paths[] = { "/p/%s/v1/messages", "/p/short/v1/messages", "/p/", "/",
		"/v1/messages", "/p/%s0/v1/messages" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(paths); i++) {
		char path[256];
		snprintf(path, sizeof path, paths[i], fake);
		snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
		struct reply r = { 0 };
		http("POST", url, NULL, "{\"model\":\"x\"}", &r);
		assert_int_equal(r.status, 404);
		assert_null(strstr(r.body.data, f->token[0]));
		reply_free(&r);
	}
	assert_int_equal(srv_requests(f), before);
}

static void
test_host_and_origin(void **state)
{
	struct fx *f = *state;
	int before = srv_requests(f);
	char url[512], h[128];
	url_of(url, sizeof url, f->base[0], "/v1/models");
	const char *bad[] = { "Host: evil.example", "Host: evil.example:%d", "Host: 127.0.0.1",
		"Host: 127.0.0.1:%d0", "Host: localhost.evil:%d" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		snprintf(h, sizeof h, bad[i], f->port);
		const char *hdrs[] = { h, NULL };
		struct reply r = { 0 };
		http("GET", url, hdrs, NULL, &r);
		assert_int_equal(r.status, 403);
		reply_free(&r);
	}
	const char *origin[] = { "Origin: http://127.0.0.1", NULL };
	struct reply r = { 0 };
	http("GET", url, origin, NULL, &r);
	assert_int_equal(r.status, 403);
	reply_free(&r);
	assert_int_equal(srv_requests(f), before);

	snprintf(h, sizeof h, "Host: LocalHost:%d", f->port);
	const char *good[] = { h, NULL };
	snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", f->port);
	struct reply r2 = { 0 };
	http("GET", url, good, NULL, &r2);
	assert_int_equal(r2.status, 200);
	reply_free(&r2);
}

/* Send a raw request; the status of the answer (0: none within 5 s). */
static int
raw_status(int port, const char *req)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	char resp[256] = "";
	int status = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    util_write_all(fd, req, strlen(req)) == 0 && read(fd, resp, sizeof resp - 1) > 0)
		sscanf(resp, "HTTP/1.1 %d", &status);
	close(fd);
	return status;
}

/* A bare CR inside a header value (libmicrohttpd keeps it, curl would
 * send it on) or a second Host: refused with 400, never forwarded. */
static void
test_header_injection_refused(void **state)
{
	struct fx *f = *state;
	int before = srv_requests(f);
	char url[512], req[1024];
	url_of(url, sizeof url, f->base[0], "/v1/models");
	const char *cr[] = { "x-api-key: k", "X-A: a\rContent-Length: 0", NULL };
	struct reply r = { 0 };
	http("GET", url, cr, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 400);
	reply_free(&r);
	snprintf(req, sizeof req, "GET /p/%s/v1/models HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Host: evil.example\r\nConnection: close\r\n\r\n", f->token[0], f->port);
	assert_int_equal(raw_status(f->port, req), 400);
	assert_int_equal(srv_requests(f), before);

	/* the same requests without the CR or the second Host go through */
	struct ts_script sc = { .echo = 1 };
	testsrv_script(f->srv, &sc);
	const char *ok[] = { "x-api-key: k", "X-A: a", NULL };
	struct reply r2 = { 0 };
	http("GET", url, ok, NULL, &r2);
	assert_int_equal(r2.status, 200);
	reply_free(&r2);
	snprintf(req, sizeof req, "GET /p/%s/v1/models HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\n\r\n", f->token[0], f->port);
	assert_int_equal(raw_status(f->port, req), 200);
	assert_int_equal(srv_requests(f), before + 2);
}

static void
test_healthz_and_metrics(void **state)
{
	struct fx *f = *state;
	char url[512];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", f->port);
	struct reply r = { 0 };
	http("GET", url, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "ok");
	reply_free(&r);

	testsrv_script(f->srv, &ant_sse);
	const char *hdrs[] = { "x-api-key: sk-ant-very-secret", NULL };
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	struct reply r1 = { 0 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &r1);
	assert_int_equal(r1.status, 200);
	reply_free(&r1);
	assert_int_equal(wait_settled(f, 1), 1);

	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", f->port);
	struct reply m = { 0 };
	http("GET", url, NULL, NULL, &m);
	assert_int_equal(m.status, 200);
	char want[256];
	const char *t = m.body.data;
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"alpha\",model=\"test-claude\"} 1\n"));
	assert_non_null(strstr(t,
	    "tokmux_tokens_total{pane=\"alpha\",model=\"test-claude\",kind=\"input\"} 1200\n"));
	assert_non_null(strstr(t,
	    "tokmux_tokens_total{pane=\"alpha\",model=\"test-claude\",kind=\"output\"} 345\n"));
	assert_non_null(strstr(t,
	    "tokmux_tokens_total{pane=\"alpha\",model=\"test-claude\",kind=\"cache_read\"} 30000\n"));
	assert_null(strstr(t, "tokmux_tokens_total{pane=\"beta\""));   /* served nothing */
	snprintf(want, sizeof want, "tokmux_cost_usd_total{pane=\"alpha\",model=\"test-claude\"} "
	    "%d.%06d\n", ANT_COST / 1000000, ANT_COST % 1000000);
	assert_non_null(strstr(t, want));
	assert_non_null(strstr(t, "tokmux_responses_total{pane=\"alpha\",class=\"2xx\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_responses_total{pane=\"alpha\",class=\"529\"} 0\n"));
	assert_non_null(strstr(t, "tokmux_responses_total{pane=\"beta\",class=\"2xx\"} 0\n"));
	assert_non_null(strstr(t, "tokmux_retries_total{pane=\"alpha\"} 0\n"));
	/* the request's two durations were observed */
	assert_non_null(strstr(t, "tokmux_gateway_added_seconds_count 1\n"));
	assert_non_null(strstr(t, "tokmux_upstream_ttfb_seconds_count 1\n"));
	assert_non_null(strstr(t, "tokmux_ratelimit_wait_seconds{key=\""));
	assert_null(strstr(t, "secret"));
	assert_null(strstr(t, f->token[0]));
	reply_free(&m);
}

static void
test_streaming_latency(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.headers = { "Content-Type: text/event-stream" },
		.chunks = { { 50, "event: ping\ndata: one\n\n" }, { 300, "event: ping\ndata: two\n\n" },
			{ 100, "event: ping\ndata: three\n\n" } },
		.nchunks = 3,
	};
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { .marks = { "one", "two", "three" }, .nmarks = 3 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &r);
	assert_int_equal(r.status, 200);
	for (int i = 0; i < 3; i++) {
		int64_t lag = r.mark_us[i] - f->srv->sent_us[i];
		print_message("chunk %d: sent -> received %.2f ms\n", i, lag / 1000.0);
		assert_true(f->srv->sent_us[i] > 0 && r.mark_us[i] > 0);
		assert_true(lag >= 0);
		assert_true(lag < 10000);
	}
	assert_true(r.mark_us[1] - r.mark_us[0] >= 250000);
	reply_free(&r);
}

/* POST body to route 0 path with auth; checks the reply is script's bytes. */
static void
metered(struct fx *f, const struct ts_script *sc, const char *path, const char *auth,
    const char *body, const char *expect_body)
{
	testsrv_script(f->srv, sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], path);
	const char *hdrs[] = { auth, "Content-Type: application/json", NULL };
	struct reply r = { 0 };
	http("POST", url, hdrs, body, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, expect_body);
	reply_free(&r);
	assert_int_equal(wait_settled(f, 1), 1);
}

struct ledger_find {
	int n;
	struct ledger_entry last;
};

static void
ledger_cb(const struct ledger_entry *e, void *user)
{
	struct ledger_find *lf = user;
	lf->n++;
	lf->last = *e;
}

/* The ledger has exactly one record and it matches u/cost. */
static void
check_ledger(struct fx *f, const struct usage *u, int64_t cost, const char *model)
{
	struct ledger_find lf = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &lf), 1);
	assert_int_equal(lf.n, 1);
	assert_int_equal(lf.last.pane, 1);
	assert_string_equal(lf.last.pane_name, "alpha");
	assert_string_equal(lf.last.model_used, model);
	assert_int_equal(lf.last.usage.input_tokens, u->input_tokens);
	assert_int_equal(lf.last.usage.output_tokens, u->output_tokens);
	assert_int_equal(lf.last.usage.cache_read_tokens, u->cache_read_tokens);
	assert_int_equal(lf.last.usage.cache_write_5m_tokens, u->cache_write_5m_tokens);
	assert_int_equal(lf.last.usage.cache_write_1h_tokens, u->cache_write_1h_tokens);
	assert_int_equal(lf.last.cost_micros, cost);
	assert_int_equal(lf.last.status, 200);
	/* never a key */
	FILE *fp = fopen(f->ledger_path, "r");
	char line[8192];
	assert_non_null(fp);
	while (fgets(line, sizeof line, fp) != NULL)
		assert_null(strstr(line, "sk-"));
	fclose(fp);
}

static void
check_stats(struct fx *f, const struct usage *u, int64_t cost)
{
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	const struct stats_counts *c = &s->route[f->route[0]];
	assert_int_equal(c->requests, 1);
	assert_int_equal(c->inflight, 0);
	assert_int_equal(c->ok_2xx, 1);
	assert_int_equal(c->input_tokens, u->input_tokens);
	assert_int_equal(c->output_tokens, u->output_tokens);
	assert_int_equal(c->cache_read_tokens, u->cache_read_tokens);
	assert_int_equal(c->cost_micros, cost);
	assert_int_equal(s->route[f->route[1]].requests, 0);
	free(s);
}

static void
test_usage_anthropic_sse(void **state)
{
	struct fx *f = *state;
	metered(f, &ant_sse, "/v1/messages?beta=true", "x-api-key: sk-ant-abc",
	    "{\"model\":\"test-claude\",\"stream\":true}", ANT_START ANT_BLOCK ANT_END);
	struct usage *u = &f->rec.usage;
	assert_int_equal(u->input_tokens, 1200);
	assert_int_equal(u->output_tokens, 345);
	assert_int_equal(u->cache_read_tokens, 30000);
	assert_int_equal(u->cache_write_5m_tokens, 2000);
	assert_int_equal(u->cache_write_1h_tokens, 1000);
	assert_string_equal(u->model, "test-claude");
	assert_true(f->rec.priced);
	assert_int_equal(f->rec.cost, ANT_COST);
	check_stats(f, u, ANT_COST);
	check_ledger(f, u, ANT_COST, "test-claude");

	/* rate-limit headers merged under the key's hash, never the key */
	struct rl_state st[RATELIMIT_MAX_KEYS];
	char kh[17];
	util_key_hash("sk-ant-abc", kh);
	int n = rl_table_snapshot(f->rl, st, RATELIMIT_MAX_KEYS);
	assert_int_equal(n, 1);
	assert_string_equal(st[0].key_hash, kh);
	assert_int_equal(st[0].requests.limit, 1000);
	assert_int_equal(st[0].requests.remaining, 993);
}

/* Claude Code's own units: its session and a subagent, from the request
 * headers, into the ledger and the route's stats; the stop reason is the
 * gateway's truth about the agent's turn. An id that is not a plain token
 * is not recorded. */
static void
test_agent_ids(void **state)
{
	struct fx *f = *state;
	const char *sess = "x-claude-code-session-id: 943df570-a109-4e0d-be70-6ea02d4ef484";
	testsrv_script(f->srv, &ant_sse);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages?beta=true");
	const char *h1[] = { "x-api-key: sk-ant-abc", sess, NULL };
	const char *h2[] = { "x-api-key: sk-ant-abc", sess,
		"x-claude-code-agent-id: a63bf53fdb1b14e60", NULL };
	const char *h3[] = { "x-api-key: sk-ant-abc", "x-claude-code-session-id: a b;c",
		"x-claude-code-agent-id: ../../etc", NULL };
	const char *const *hs[] = { h1, h2, h3 };
	for (int i = 0; i < 3; i++) {
		struct reply r = { 0 };
		/* the conversation's requests carry the agent's tools */
		http("POST", url, hs[i], "{\"model\":\"test-claude\",\"stream\":true,"
		    "\"tools\":[{\"name\":\"Bash\"}]}", &r);
		assert_int_equal(r.status, 200);
		reply_free(&r);
		assert_int_equal(wait_settled(f, i + 1), i + 1);
	}
	struct ledger_find lf = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &lf), 3);
	assert_string_equal(lf.last.agent_session, "");
	assert_string_equal(lf.last.subagent, "");
	FILE *fp = fopen(f->ledger_path, "r");
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strstr(line, "\"kind\":\"intent\"") != NULL)
			continue;
		n++;
		assert_non_null(strstr(line, "\"stop_reason\":\"end_turn\""));
		if (n < 3)
			assert_non_null(strstr(line,
			    "\"agent_session\":\"943df570-a109-4e0d-be70-6ea02d4ef484\""));
		else
			assert_null(strstr(line, "agent_session"));
		if (n == 2)
			assert_non_null(strstr(line, "\"subagent\":\"a63bf53fdb1b14e60\""));
		else
			assert_null(strstr(line, "subagent"));
	}
	fclose(fp);
	assert_int_equal(n, 3);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	const struct stats_counts *rc = &s->route[f->route[0]];
	assert_string_equal(rc->act.session, "943df570-a109-4e0d-be70-6ea02d4ef484");
	assert_string_equal(rc->act.last_stop, "end_turn");
	assert_int_equal(rc->act.last_status, 200);
	assert_string_equal(rc->sub[0].id, "a63bf53fdb1b14e60");
	assert_int_equal(rc->sub[0].requests, 1);
	assert_int_equal(rc->sub[0].cost_micros, ANT_COST);
	assert_string_equal(rc->sub[1].id, "");
	free(s);
}

/* The lines of the ledger file, in order (at most max, each malloc'd). */
static int
ledger_lines(struct fx *f, char **lines, int max)
{
	FILE *fp = fopen(f->ledger_path, "r");
	char line[8192];
	int n = 0;
	assert_non_null(fp);
	while (n < max && fgets(line, sizeof line, fp) != NULL)
		if (strstr(line, "\"kind\":\"intent\"") == NULL)   /* outcomes only */
			lines[n++] = xstrdup(line);
	fclose(fp);
	return n;
}

/* A route's branch and worktree go into the ledger record of each request
 * from the moment they are set, and leave it when cleared. */
static void
test_route_where_in_ledger(void **state)
{
	struct fx *f = *state;
	gateway_route_set_where(f->gw, f->route[0], "tokmux/alpha", "/src/app.tokmux/alpha");
	gateway_route_set_where(f->gw, f->route[1], "main", NULL);
	gateway_route_set_where(f->gw, 99, "nothing", NULL);     /* no such route: ignored */
	metered(f, &ant_sse, "/v1/messages", "x-api-key: k", "{\"model\":\"test-claude\",\"stream\":true}",
	    ANT_START ANT_BLOCK ANT_END);
	gateway_route_set_where(f->gw, f->route[0], NULL, "");
	testsrv_script(f->srv, &ant_sse);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(wait_settled(f, 2), 2);
	char *lines[4];
	assert_int_equal(ledger_lines(f, lines, 4), 2);
	cJSON *o = cJSON_Parse(lines[0]);
	assert_string_equal(cJSON_GetObjectItem(o, "branch")->valuestring, "tokmux/alpha");
	assert_string_equal(cJSON_GetObjectItem(o, "worktree")->valuestring, "/src/app.tokmux/alpha");
	cJSON_Delete(o);
	o = cJSON_Parse(lines[1]);
	assert_null(cJSON_GetObjectItem(o, "branch"));
	assert_null(cJSON_GetObjectItem(o, "worktree"));
	cJSON_Delete(o);
	free(lines[0]);
	free(lines[1]);
}

static void
test_overloaded_in_stream(void **state)
{
	struct fx *f = *state;
	static const char err_event[] = "event: error\ndata: {\"type\":\"error\",\"error\":"
	    "{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
	struct ts_script sc = {
		.headers = { "Content-Type: text/event-stream" },
		.chunks = { { 0, ANT_START }, { 5, err_event } }, .nchunks = 2,
	};
	metered(f, &sc, "/v1/messages", "x-api-key: k", "{\"model\":\"test-claude\"}",
	    ANT_START "event: error\ndata: {\"type\":\"error\",\"error\":"
	    "{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
	assert_string_equal(f->rec.usage.error_type, "overloaded_error");
	assert_int_equal(f->rec.status, 200);
	/* input and cache tokens of message_start are still billed */
	assert_int_equal(f->rec.usage.input_tokens, 1200);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].err_529, 1);
	free(s);
}

static void
test_usage_anthropic_json(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.headers = { "Content-Type: application/json" },
		.chunks = { { 0, "{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
			"\"test-claude\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],"
			"\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":10,\"output_tokens\":20}}" } },
		.nchunks = 1, .content_length = 1,
	};
	metered(f, &sc, "/messages", "x-api-key: sk-ant-abc", "{\"model\":\"test-claude\"}",
	    sc.chunks[0].data);
	struct usage *u = &f->rec.usage;
	assert_int_equal(u->input_tokens, 10);
	assert_int_equal(u->output_tokens, 20);
	assert_int_equal(f->rec.cost, 10 * 3 + 20 * 15);
	check_stats(f, u, 10 * 3 + 20 * 15);
	check_ledger(f, u, 10 * 3 + 20 * 15, "test-claude");
}

#define CHAT_SSE \
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"test-gpt\"," \
	"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n" \
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"test-gpt\"," \
	"\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":200,\"total_tokens\":1200," \
	"\"prompt_tokens_details\":{\"cached_tokens\":400},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n" \
	"data: [DONE]\n\n"

static void
test_usage_openai_chat(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.headers = { "Content-Type: text/event-stream", "x-request-id: req_oa" },
		.chunks = { { 0, CHAT_SSE } }, .nchunks = 1,
	};
	metered(f, &sc, "/v1/chat/completions", "Authorization: Bearer sk-oa-1",
	    "{\"model\":\"test-gpt\",\"stream\":true}", CHAT_SSE);
	assert_string_equal(f->srv->uri, "/o/v1/chat/completions");
	struct usage *u = &f->rec.usage;
	assert_int_equal(u->input_tokens, 600);     /* uncached */
	assert_int_equal(u->cache_read_tokens, 400);
	assert_int_equal(u->output_tokens, 200);
	int64_t cost = 600 * 2 + 400 * 5 / 10 + 200 * 8;
	assert_int_equal(f->rec.cost, cost);
	check_stats(f, u, cost);
	check_ledger(f, u, cost, "test-gpt");
}

#define RESP_JSON \
	"{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"test-gpt\"," \
	"\"output\":[],\"usage\":{\"input_tokens\":500,\"input_tokens_details\":{\"cached_tokens\":100}," \
	"\"output_tokens\":50,\"output_tokens_details\":{\"reasoning_tokens\":10},\"total_tokens\":550}}"

static void
test_usage_openai_responses(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.headers = { "Content-Type: application/json" },
		.chunks = { { 0, RESP_JSON } }, .nchunks = 1, .content_length = 1,
	};
	metered(f, &sc, "/responses", "Authorization: Bearer sk-oa-1", "{\"model\":\"test-gpt\"}",
	    RESP_JSON);
	assert_string_equal(f->srv->uri, "/o/v1/responses");
	struct usage *u = &f->rec.usage;
	assert_int_equal(u->input_tokens, 400);
	assert_int_equal(u->cache_read_tokens, 100);
	assert_int_equal(u->output_tokens, 50);
	int64_t cost = 400 * 2 + 100 * 5 / 10 + 50 * 8;
	assert_int_equal(f->rec.cost, cost);
	check_stats(f, u, cost);
	check_ledger(f, u, cost, "test-gpt");
}

static void
test_count_tokens_not_metered(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .headers = { "Content-Type: application/json" },
		.chunks = { { 0, "{\"input_tokens\":42}" } }, .nchunks = 1 };
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages/count_tokens");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "{\"input_tokens\":42}");
	reply_free(&r);
	usleep(50 * 1000);
	assert_int_equal(f->rec.settled, 0);
	assert_int_equal(f->rec.admitted, 0);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].requests, 0);
	assert_int_equal(s->route[0].input_tokens, 0);
	free(s);
}

/* A port with no listener. */
static int
dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		fail_msg("bind");
	close(fd);
	return ntohs(sa.sin_port);
}

static void
test_upstream_down(void **state)
{
	struct fx *f = *state;
	char dead[128];
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d", dead_port());
	gateway_stop(f->gw);
	f->gw = fx_gateway(f, dead, dead, 0);

	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\"}", &r);
	assert_int_equal(r.status, 502);
	cJSON *j = cJSON_Parse(r.body.data);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
	cJSON *e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "api_error");
	const char *msg = cJSON_GetObjectItem(e, "message")->valuestring;
	char want[160];
	snprintf(want, sizeof want, "tokmux: cannot reach %s: ", dead);
	assert_true(strncmp(msg, want, strlen(want)) == 0);
	assert_true(strlen(msg) > strlen(want));
	cJSON_Delete(j);
	reply_free(&r);
	assert_int_equal(wait_settled(f, 1), 1);
	assert_int_equal(f->rec.status, 502);

	/* OpenAI shape on OpenAI paths */
	url_of(url, sizeof url, f->obase[0], "/chat/completions");
	const char *oh[] = { "Authorization: Bearer sk-o", NULL };
	struct reply r2 = { 0 };
	http("POST", url, oh, "{\"model\":\"test-gpt\"}", &r2);
	assert_int_equal(r2.status, 502);
	j = cJSON_Parse(r2.body.data);
	e = cJSON_GetObjectItem(j, "error");
	assert_non_null(e);
	assert_null(cJSON_GetObjectItem(j, "type"));
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "api_error");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "code")));
	assert_non_null(strstr(cJSON_GetObjectItem(e, "message")->valuestring, "cannot reach"));
	cJSON_Delete(j);
	reply_free(&r2);
	/* stats are settled after the reply reached the client */
	assert_int_equal(wait_settled(f, 2), 2);

	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].err_5xx, 2);
	assert_int_equal(s->route[0].inflight, 0);
	free(s);
}

static void
test_idle_timeout_504(void **state)
{
	struct fx *f = *state;
	char a[128];
	snprintf(a, sizeof a, "http://127.0.0.1:%d/a", f->srv->port);
	gateway_stop(f->gw);
	f->gw = fx_gateway(f, a, a, 1);
	struct ts_script sc = { .header_delay_ms = 2500, .chunks = { { 0, "late" } }, .nchunks = 1 };
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	int64_t t0 = util_now_ms();
	http("POST", url, hdrs, "{\"model\":\"test-claude\"}", &r);
	assert_int_equal(r.status, 504);
	assert_true(util_now_ms() - t0 < 2400);
	assert_non_null(strstr(r.body.data, "cannot reach"));
	reply_free(&r);
}

static void
test_client_disconnect(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.headers = { "Content-Type: text/event-stream" },
		.chunks = { { 0, ANT_START }, { 10, ANT_BLOCK }, { 1200, ANT_END } },
		.nchunks = 3,
	};
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { .marks = { "text_delta" }, .nmarks = 1, .stop_after = 1 };
	int64_t t0 = util_now_ms();
	http("POST", url, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &r);
	assert_int_equal(r.rc, CURLE_WRITE_ERROR);   /* we hung up */
	reply_free(&r);
	/* settled with what was seen: input and cache tokens, no final output */
	assert_int_equal(wait_settled(f, 1), 1);
	assert_true(util_now_ms() - t0 < 1100);      /* well before upstream's end */
	assert_int_equal(f->rec.client_gone, 1);
	assert_int_equal(f->rec.usage.input_tokens, 1200);
	assert_int_equal(f->rec.usage.cache_read_tokens, 30000);
	assert_false(f->rec.usage.complete);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].inflight, 0);
	assert_int_equal(s->route[0].requests, 1);
	free(s);
	/* upstream saw its response cut short */
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&f->srv->lock);
		int err = f->srv->completed_err;
		pthread_mutex_unlock(&f->srv->lock);
		if (err > 0)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(f->srv->completed_err, 1);
}

static void
test_client_gone_before_headers(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .header_delay_ms = 1500, .chunks = { { 0, "late" } }, .nchunks = 1 };
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { .timeout_ms = 200 };
	int64_t t0 = util_now_ms();
	http("POST", url, hdrs, "{\"model\":\"test-claude\"}", &r);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	reply_free(&r);
	assert_int_equal(wait_settled(f, 1), 1);
	assert_true(util_now_ms() - t0 < 1000);   /* not waiting for upstream */
	assert_int_equal(f->rec.client_gone, 1);
	assert_int_equal(f->rec.status, 499);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].inflight, 0);
	assert_int_equal(s->route[0].err_4xx, 1);
	free(s);
}

#define NCONC 32

struct conc {
	const char *url;
	struct reply r;
	pthread_t t;
};

static void *
conc_run(void *arg)
{
	struct conc *c = arg;
	const char *hdrs[] = { "x-api-key: sk-ant-conc", NULL };
	http("POST", c->url, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &c->r);
	return NULL;
}

/* The gateway stops (SIGTERM, quit) while a stream is in flight: nothing
 * hangs, and the ledger says so rather than blaming the agent. */
static void
test_stop_mid_stream(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.headers = { "Content-Type: text/event-stream" },
		.chunks = { { 0, ANT_START }, { 10, ANT_BLOCK }, { 5000, ANT_END } },
		.nchunks = 3,
	};
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	struct conc c = { .url = url };
	assert_int_equal(pthread_create(&c.t, NULL, conc_run, &c), 0);
	for (int i = 0; i < 300; i++) {   /* upstream sent the text block */
		pthread_mutex_lock(&f->srv->lock);
		int64_t sent = f->srv->sent_us[1];
		pthread_mutex_unlock(&f->srv->lock);
		if (sent != 0)
			break;
		usleep(10 * 1000);
	}
	usleep(50 * 1000);
	int64_t t0 = util_now_ms();
	gateway_stop(f->gw);
	f->gw = NULL;
	assert_true(util_now_ms() - t0 < 2000);
	pthread_join(c.t, NULL);
	reply_free(&c.r);
	assert_int_equal(wait_settled(f, 1), 1);
	struct ledger_find lf = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &lf), 1);
	assert_int_equal(lf.last.usage.input_tokens, 1200);
	assert_string_equal(lf.last.usage.error_type, "tokmux stopped");
}

static void *
wait_run(void *arg)
{
	struct conc *c = arg;
	const char *hdrs[] = { "x-api-key: sk-ant-wait", NULL };
	http("POST", c->url, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &c->r);
	return NULL;
}

/* Requests whose admission waits (pacing, a budget store) wait in pool
 * threads: more of them than libmicrohttpd has threads do not hold up
 * the others, which are answered while they wait. */
static void
test_waits_do_not_stall(void **state)
{
	struct fx *f = *state;
	enum { NWAIT = 4, NOTHER = 5 };
	testsrv_script(f->srv, &ant_sse);
	util_key_hash("sk-ant-wait", f->wait_hash);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	struct conc cw[NWAIT];
	for (int i = 0; i < NWAIT; i++) {
		cw[i] = (struct conc){ .url = url };
		assert_int_equal(pthread_create(&cw[i].t, NULL, wait_run, &cw[i]), 0);
	}
	pthread_mutex_lock(&f->rec.lock);
	for (int i = 0; i < 500 && f->waiting < NWAIT; i++) {
		pthread_mutex_unlock(&f->rec.lock);
		usleep(10 * 1000);
		pthread_mutex_lock(&f->rec.lock);
	}
	assert_int_equal(f->waiting, NWAIT);
	assert_int_equal(f->asked_nowait, NWAIT);   /* first asked where it must not wait */
	pthread_mutex_unlock(&f->rec.lock);
	for (int i = 0; i < NOTHER; i++) {
		struct conc c = { .url = url };
		conc_run(&c);
		assert_int_equal(c.r.rc, CURLE_OK);
		assert_int_equal(c.r.status, 200);
		reply_free(&c.r);
	}
	pthread_mutex_lock(&f->rec.lock);
	assert_int_equal(f->waiting, NWAIT);   /* still waiting meanwhile */
	f->gate_open = 1;
	pthread_cond_broadcast(&f->gate_cv);
	pthread_mutex_unlock(&f->rec.lock);
	for (int i = 0; i < NWAIT; i++) {
		pthread_join(cw[i].t, NULL);
		assert_int_equal(cw[i].r.rc, CURLE_OK);
		assert_int_equal(cw[i].r.status, 200);
		assert_string_equal(cw[i].r.body.data, ANT_START ANT_BLOCK ANT_END);
		reply_free(&cw[i].r);
	}
	assert_int_equal(wait_settled(f, NWAIT + NOTHER), NWAIT + NOTHER);
}

static void
test_concurrent_streams(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = ant_sse;
	sc.chunks[1].delay_ms = 30;
	sc.chunks[2].delay_ms = 30;
	testsrv_script(f->srv, &sc);
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	struct conc *cs = xcalloc(NCONC, sizeof *cs);
	for (int i = 0; i < NCONC; i++) {
		cs[i].url = url;
		assert_int_equal(pthread_create(&cs[i].t, NULL, conc_run, &cs[i]), 0);
	}
	for (int i = 0; i < NCONC; i++) {
		pthread_join(cs[i].t, NULL);
		assert_int_equal(cs[i].r.rc, CURLE_OK);
		assert_int_equal(cs[i].r.status, 200);
		assert_string_equal(cs[i].r.body.data, ANT_START ANT_BLOCK ANT_END);
		reply_free(&cs[i].r);
	}
	free(cs);
	assert_int_equal(wait_settled(f, NCONC), NCONC);
	assert_int_equal(f->rec.cost_sum, (int64_t)NCONC * ANT_COST);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	const struct stats_counts *c = &s->route[0];
	assert_int_equal(c->requests, NCONC);
	assert_int_equal(c->ok_2xx, NCONC);
	assert_int_equal(c->inflight, 0);
	assert_int_equal(c->input_tokens, NCONC * 1200);
	assert_int_equal(c->output_tokens, NCONC * 345);
	assert_int_equal(c->cache_read_tokens, NCONC * 30000);
	assert_int_equal(c->cost_micros, (int64_t)NCONC * ANT_COST);
	free(s);
	struct ledger_find lf = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, ledger_cb, &lf), NCONC);
}

static void
test_policy_seam(void **state)
{
	struct fx *f = *state;
	char url[512], v[64];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };

	/* (a) admission refuses: API-shaped 403, upstream never called */
	f->refuse = 1;
	int before = srv_requests(f);
	struct reply r = { 0 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\"}", &r);
	assert_int_equal(r.status, 403);
	cJSON *j = cJSON_Parse(r.body.data);
	cJSON *e = cJSON_GetObjectItem(j, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "permission_error");
	assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring,
	    "tokmux: pane 1 spend ceiling reached");
	cJSON_Delete(j);
	reply_header(&r, "x-should-retry", v, sizeof v);
	assert_string_equal(v, "false");
	reply_free(&r);
	assert_int_equal(srv_requests(f), before);
	f->refuse = 0;

	/* (b) a 529 attempt is retried with a rewritten body before any byte
	 * reaches the agent; (c) settle sees the final usage */
	f->retry_529 = 1;
	struct ts_script sc = ant_sse;
	sc.fail_first = 1;
	sc.fail_status = 529;
	testsrv_script(f->srv, &sc);
	struct reply r2 = { 0 };
	http("POST", url, hdrs, "{\"model\":\"test-claude\"}", &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(r2.body.data, ANT_START ANT_BLOCK ANT_END);
	reply_free(&r2);
	assert_int_equal(srv_requests(f), before + 2);
	assert_string_equal(f->srv->body.data, "{\"model\":\"test-claude\",\"fallback\":true}");
	assert_int_equal(wait_settled(f, 1), 1);
	assert_int_equal(f->rec.attempts, 2);
	assert_int_equal(f->rec.n529, 1);
	assert_int_equal(f->rec.cost, ANT_COST);
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].refused, 1);
	assert_int_equal(s->route[0].retries, 1);
	assert_int_equal(s->route[0].err_529, 1);
	assert_int_equal(s->route[0].requests, 2);
	free(s);
}

/* ------------------------------------------------ against the mock */

static void
mock_script(struct fx *f, const char *json)
{
	char *err = NULL;
	if (mock_load_script_json(f->mock, json, &err) != 0)
		fail_msg("mock script: %s", err);
}

struct sum_ledger {
	int n;
	int64_t cost, input, output, cread;
};

static void
sum_cb(const struct ledger_entry *e, void *user)
{
	struct sum_ledger *s = user;
	s->n++;
	s->cost += e->cost_micros;
	s->input += e->usage.input_tokens;
	s->output += e->usage.output_tokens;
	s->cread += e->usage.cache_read_tokens;
}

/* One call through route 0; returns the reply status, settles checked. */
static long
mock_call(struct fx *f, int nth, const char *path, const char *auth, const char *body,
    struct usage *u, int64_t *cost)
{
	char url[512];
	url_of(url, sizeof url, f->base[0], path);
	const char *hdrs[] = { auth, "Content-Type: application/json", NULL };
	struct reply r = { 0 };
	http("POST", url, hdrs, body, &r);
	long st = r.status;
	reply_free(&r);
	assert_int_equal(wait_settled(f, nth), nth);
	pthread_mutex_lock(&f->rec.lock);
	*u = f->rec.usage;
	*cost = f->rec.cost;
	pthread_mutex_unlock(&f->rec.lock);
	return st;
}

static void
test_mock_exact_usage(void **state)
{
	struct fx *f = *state;
	mock_script(f, "{\"defaults\":{\"chunk_delay_ms\":1,\"usage\":{\"input_tokens\":1000,"
	    "\"output_tokens\":200,\"cache_read_input_tokens\":3000,\"cache_creation_5m\":400,"
	    "\"cache_creation_1h\":100}}}");
	const int64_t ant = 1000 * 3 + 200 * 15 + 400 * 375 / 100 + 100 * 6 + 3000 * 3 / 10;
	const int64_t oai = 1000 * 2 + 3000 * 5 / 10 + 200 * 8;   /* no cache writes on OpenAI */
	static const struct {
		const char *path, *auth, *body;
		int openai;
	} calls[] = {
		{ "/v1/messages?beta=true", "x-api-key: sk-ant-m",
		  "{\"model\":\"test-claude\",\"max_tokens\":4096,\"stream\":true}", 0 },
		{ "/messages", "x-api-key: sk-ant-m", "{\"model\":\"test-claude\",\"max_tokens\":4096}", 0 },
		{ "/v1/chat/completions", "Authorization: Bearer sk-oa-m",
		  "{\"model\":\"test-gpt\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}", 1 },
		{ "/v1/chat/completions", "Authorization: Bearer sk-oa-m", "{\"model\":\"test-gpt\"}", 1 },
		{ "/v1/responses", "Authorization: Bearer sk-oa-m",
		  "{\"model\":\"test-gpt\",\"stream\":true}", 1 },
		{ "/v1/responses", "Authorization: Bearer sk-oa-m", "{\"model\":\"test-gpt\"}", 1 },
	};
	int64_t want_cost = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(calls); i++) {
		struct usage u;
		int64_t cost;
		long st = mock_call(f, (int)i + 1, calls[i].path, calls[i].auth, calls[i].body, &u, &cost);
		assert_int_equal(st, 200);
		assert_int_equal(u.input_tokens, 1000);
		assert_int_equal(u.output_tokens, 200);
		assert_int_equal(u.cache_read_tokens, 3000);
		assert_int_equal(u.cache_write_5m_tokens, calls[i].openai ? 0 : 400);
		assert_int_equal(u.cache_write_1h_tokens, calls[i].openai ? 0 : 100);
		assert_true(u.complete);
		assert_int_equal(cost, calls[i].openai ? oai : ant);
		want_cost += cost;
	}
	assert_int_equal(mock_calls(f->mock), (long)UTIL_ARRAY_LEN(calls));
	struct sum_ledger sl = { 0 };
	assert_int_equal(ledger_read(f->ledger_path, sum_cb, &sl), (int)UTIL_ARRAY_LEN(calls));
	assert_int_equal(sl.cost, want_cost);
	assert_int_equal(sl.input, 1000 * (int64_t)UTIL_ARRAY_LEN(calls));
	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	assert_int_equal(s->route[0].cost_micros, want_cost);
	assert_int_equal(s->route[0].ok_2xx, (int64_t)UTIL_ARRAY_LEN(calls));
	free(s);
	/* both keys' rate-limit headers landed, under their hashes */
	struct rl_state st[RATELIMIT_MAX_KEYS];
	assert_int_equal(rl_table_snapshot(f->rl, st, RATELIMIT_MAX_KEYS), 2);
}

static void
test_mock_faults(void **state)
{
	struct fx *f = *state;
	mock_script(f, "{\"defaults\":{\"chunk_delay_ms\":1,\"usage\":{\"input_tokens\":1000,"
	    "\"output_tokens\":200}},\"rules\":["
	    "{\"match\":{\"request\":1},\"action\":\"overloaded_midstream\",\"after_events\":2},"
	    "{\"match\":{\"request\":2},\"action\":\"cut\",\"after_events\":3},"
	    "{\"match\":{\"request\":3},\"action\":\"429\",\"retry_after\":7},"
	    "{\"match\":{\"request\":4},\"action\":\"529\"}]}");
	const char *body = "{\"model\":\"test-claude\",\"stream\":true}";
	struct usage u;
	int64_t cost;
	/* 1: overloaded_error inside a 200 stream: counted as a 529, input billed */
	assert_int_equal(mock_call(f, 1, "/v1/messages", "x-api-key: k", body, &u, &cost), 200);
	assert_string_equal(u.error_type, "overloaded_error");
	assert_int_equal(u.input_tokens, 1000);
	assert_int_equal(cost, 1000 * 3 + u.output_tokens * 15);
	/* 2: upstream cuts the stream: the agent sees a broken transfer */
	char url[512];
	url_of(url, sizeof url, f->base[0], "/v1/messages");
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	http("POST", url, hdrs, body, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	reply_free(&r);
	assert_int_equal(wait_settled(f, 2), 2);
	assert_int_equal(f->rec.usage.input_tokens, 1000);
	assert_false(f->rec.usage.complete);
	assert_int_equal(f->rec.client_gone, 0);
	/* 3: a 429 is passed on with its retry-after */
	struct reply r3 = { 0 };
	http("POST", url, hdrs, body, &r3);
	assert_int_equal(r3.status, 429);
	char v[32];
	reply_header(&r3, "retry-after", v, sizeof v);
	assert_string_equal(v, "7");
	assert_non_null(strstr(r3.body.data, "rate_limit_error"));
	reply_free(&r3);
	assert_int_equal(wait_settled(f, 3), 3);
	/* 4: a 529 with the policy seam retrying it: request 5 succeeds */
	f->retry_529 = 1;
	assert_int_equal(mock_call(f, 4, "/v1/messages", "x-api-key: k", body, &u, &cost), 200);
	assert_int_equal(f->rec.attempts, 2);
	assert_int_equal(u.output_tokens, 200);
	assert_int_equal(mock_calls(f->mock), 5);

	struct stats_snapshot *s = xmalloc(sizeof *s);
	stats_snapshot(f->stats, s);
	const struct stats_counts *c = &s->route[0];
	assert_int_equal(c->requests, 4);
	assert_int_equal(c->err_529, 2);     /* in-stream + the retried one */
	assert_int_equal(c->err_429, 1);
	assert_int_equal(c->retries, 1);
	assert_int_equal(c->inflight, 0);
	free(s);
	struct rl_state st[RATELIMIT_MAX_KEYS];
	assert_int_equal(rl_table_snapshot(f->rl, st, RATELIMIT_MAX_KEYS), 1);
	assert_true(st[0].retry_after_until > 0);
}

/* `tokmux gateway` run in a thread; its stdout is captured through a pipe
 * and SIGTERM is sent to that thread alone. */
struct gm {
	char *argv[16];
	int argc;
	int rc;
};

static void *
gm_run(void *arg)
{
	struct gm *g = arg;
	g->rc = cmd_gateway_main(g->argc, g->argv);
	return NULL;
}

/* Read a line from fd within 5 s (bounded). */
static int
read_line(int fd, char *out, size_t len)
{
	size_t n = 0;
	int64_t until = util_now_ms() + 5000;
	while (n + 1 < len && util_now_ms() < until) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(fd, out + n, 1) != 1)
			break;
		if (out[n] == '\n') {
			out[n] = '\0';
			return 0;
		}
		n++;
	}
	out[n] = '\0';
	return -1;
}

static void
test_gateway_main(void **state)
{
	struct fx *f = *state;
	char cfg[64], up[128], lines[2][512];
	snprintf(cfg, sizeof cfg, "/tmp/tokmux-gwtest-%d.json", (int)getpid());
	FILE *fp = fopen(cfg, "w");
	assert_non_null(fp);
	fputs("{\"panes\": [{\"name\": \"alpha\", \"cmd\": \"claude\"}],"
	    " \"prices\": {\"test-claude\": {\"input\": 3, \"output\": 15}}}\n", fp);
	fclose(fp);
	snprintf(up, sizeof up, "http://127.0.0.1:%d", mock_port(f->mock));
	/* the fixture's own gateway and ledger are not used here */
	char ledger[64];
	snprintf(ledger, sizeof ledger, "/tmp/tokmux-gwmain-%d.jsonl", (int)getpid());
	unlink(ledger);
	struct gm g = { .argv = { "gateway", "--port", "0", "-c", cfg, "--anthropic-upstream", up,
		"--ledger", ledger, "--no-metrics-token" }, .argc = 10 };   /* not the user's token */

	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	int saved = dup(1);
	dup2(p[1], 1);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, gm_run, &g), 0);
	int got0 = read_line(p[0], lines[0], sizeof lines[0]);
	int got1 = read_line(p[0], lines[1], sizeof lines[1]);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(p[1]);
	close(p[0]);
	assert_int_equal(got0, 0);
	assert_int_equal(got1, 0);
	char name[32], url[400];
	assert_int_equal(sscanf(lines[0], "route %31s %399s", name, url), 2);
	assert_string_equal(name, "alpha");
	assert_true(strncmp(url, "http://127.0.0.1:", 17) == 0);
	assert_non_null(strstr(url, "/p/"));
	assert_int_equal(strncmp(lines[1], "route default http://127.0.0.1:", 31), 0);

	char murl[512];
	snprintf(murl, sizeof murl, "%s/v1/messages", url);
	const char *hdrs[] = { "x-api-key: k", NULL };
	struct reply r = { 0 };
	http("POST", murl, hdrs, "{\"model\":\"test-claude\",\"stream\":true}", &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	pthread_kill(t, SIGTERM);
	pthread_join(t, NULL);
	assert_int_equal(g.rc, 0);
	struct ledger_find lf = { 0 };
	assert_int_equal(ledger_read(ledger, ledger_cb, &lf), 1);
	assert_string_equal(lf.last.pane_name, "alpha");
	assert_true(lf.last.cost_micros > 0);
	unlink(ledger);
	unlink(cfg);

	/* usage errors */
	char *bad[] = { "gateway", "--port", "99999" };
	assert_int_equal(cmd_gateway_main(3, bad), 2);
	char *missing[] = { "gateway", "-c", "/nonexistent/tokmux.json" };
	assert_int_equal(cmd_gateway_main(3, missing), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pure_rules),
		cmocka_unit_test_setup_teardown(test_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_insertion_and_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_token_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_injection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_and_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_healthz_and_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streaming_latency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_anthropic_sse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_anthropic_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overloaded_in_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_where_in_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_openai_chat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_openai_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_tokens_not_metered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout_504, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_before_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_mid_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waits_do_not_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_seam, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_exact_usage, setup_mock, teardown),
		cmocka_unit_test_setup_teardown(test_mock_faults, setup_mock, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_main, setup_mock, teardown),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
