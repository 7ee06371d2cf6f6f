/*
 * Unit tests for mock: starts the mock in-process on a free port and talks
 * to it with libcurl. Checks every endpoint's shape and usage, the script
 * rules, real delays, cut connections, rate-limit headers and the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include "demo/mock.h"
#include "util.h"

#define MAX_WRITES 256
#define MAX_EVENTS 256

struct resp {
	long status;
	CURLcode rc;
	struct buf body;
	struct buf headers;
	int64_t t0_us;
	int64_t write_us[MAX_WRITES];   /* time of each body write */
	int write_events[MAX_WRITES];   /* SSE events completed in that write */
	size_t nwrites;
};

struct ev {
	char name[64];                  /* "" for data-only events */
	char *data;
	cJSON *json;                    /* NULL if data isn't JSON ([DONE]) */
};

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	buf_append(&r->body, p, sz * n);
	if (r->nwrites < MAX_WRITES) {
		int k = 0;
		for (size_t i = 0; i + 1 < sz * n; i++)
			k += p[i] == '\n' && p[i + 1] == '\n';
		r->write_us[r->nwrites] = util_now_us() - r->t0_us;
		r->write_events[r->nwrites++] = k;
	}
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	buf_append(&r->headers, p, sz * n);
	return sz * n;
}

static mock_t *
start(const char *script, const char *log_path)
{
	struct mock_options o = { .port = 0, .log_path = log_path, .quiet = 1 };
	char *err = NULL;
	mock_t *m = mock_start(&o, &err);
	assert_non_null(m);
	assert_true(mock_port(m) > 0);
	if (script != NULL) {
		int rc = mock_load_script_json(m, script, &err);
		if (rc != 0)
			fprintf(stderr, "script: %s\n", err);
		assert_int_equal(rc, 0);
	}
	return m;
}

/* One request with extra headers (NULL-terminated, may be NULL); body NULL
 * = GET. The response must be freed with resp_free. */
static void
request_h(mock_t *m, const char *path, const char *body, const char *const *extra,
    struct resp *r)
{
	memset(r, 0, sizeof(*r));
	CURL *c = curl_easy_init();
	assert_non_null(c);
	char *url = xasprintf("http://127.0.0.1:%d%s", mock_port(m), path);
	struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
	for (int i = 0; extra != NULL && extra[i] != NULL; i++)
		h = curl_slist_append(h, extra[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 4000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	r->t0_us = util_now_us();
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	buf_append(&r->body, "", 1);
	r->body.len--;
	buf_append(&r->headers, "", 1);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
}

static void
request(mock_t *m, const char *path, const char *body, struct resp *r)
{
	request_h(m, path, body, NULL, r);
}

static void
resp_free(struct resp *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
}

/* Value of a response header (copied into out), or NULL. */
static const char *
header(const struct resp *r, const char *name, char *out, size_t len)
{
	const char *p = r->headers.data;
	size_t n = strlen(name);
	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t k = strcspn(v, "\r\n");
			snprintf(out, len, "%.*s", (int)k, v);
			return out;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

static int64_t
header_int(const struct resp *r, const char *name)
{
	char v[64];
	assert_non_null(header(r, name, v, sizeof(v)));
	return strtoll(v, NULL, 10);
}

/* Split an SSE body into events; every event must be well-formed. */
static size_t
sse_parse(const char *body, struct ev *evs, size_t max)
{
	size_t n = 0;
	const char *p = body;
	while (*p != '\0' && n < max) {
		const char *end = strstr(p, "\n\n");
		assert_non_null(end);
		struct ev *e = &evs[n++];
		memset(e, 0, sizeof(*e));
		for (const char *l = p; l < end;) {
			const char *nl = memchr(l, '\n', (size_t)(end - l));
			size_t k = nl ? (size_t)(nl - l) : (size_t)(end - l);
			if (strncmp(l, "event: ", 7) == 0)
				snprintf(e->name, sizeof(e->name), "%.*s", (int)(k - 7), l + 7);
			else if (strncmp(l, "data: ", 6) == 0)
				e->data = xstrndup(l + 6, k - 6);
			else
				fail_msg("bad SSE line: %.*s", (int)k, l);
			l += k + 1;
		}
		assert_non_null(e->data);
		e->json = cJSON_Parse(e->data);
		if (e->name[0] != '\0') {
			/* The event name repeats in the JSON type field. */
			assert_non_null(e->json);
			const cJSON *t = cJSON_GetObjectItem(e->json, "type");
			assert_true(cJSON_IsString(t));
			assert_string_equal(t->valuestring, e->name);
		}
		p = end + 2;
	}
	return n;
}

static void
sse_free(struct ev *evs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(evs[i].data);
		cJSON_Delete(evs[i].json);
	}
}

static size_t
count_named(const struct ev *evs, size_t n, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(evs[i].name, name) == 0;
	return k;
}

static const struct ev *
find_named(const struct ev *evs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(evs[i].name, name) == 0)
			return &evs[i];
	return NULL;
}

/* A number at a dotted path inside a JSON object ("usage.input_tokens"). */
static int64_t
jnum(const cJSON *o, const char *path)
{
	char *p = xstrdup(path), *save = NULL;
	const cJSON *v = o;
	for (char *k = strtok_r(p, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	if (!cJSON_IsNumber(v))
		fail_msg("no number at %s", path);
	free(p);
	return (int64_t)v->valuedouble;
}

static const char *
jstr(const cJSON *o, const char *path)
{
	char *p = xstrdup(path), *save = NULL;
	const cJSON *v = o;
	for (char *k = strtok_r(p, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	free(p);
	if (!cJSON_IsString(v))
		fail_msg("no string at %s", path);
	return v->valuestring;
}

static const char anth_stream_body[] =
	"{\"model\":\"claude-opus-4-7\",\"stream\":true,\"max_tokens\":1000,"
	"\"messages\":[{\"role\":\"user\",\"content\":\"hello there, mock\"}]}";

static void
test_anthropic_stream(void **state)
{
	(void)state;
	mock_t *m = start(NULL, NULL);
	struct resp r;
	request(m, "/v1/messages?beta=true", anth_stream_body, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	char v[128];
	assert_string_equal(header(&r, "content-type", v, sizeof(v)), "text/event-stream");
	assert_int_equal(strncmp(header(&r, "request-id", v, sizeof(v)), "req_", 4), 0);

	struct ev evs[MAX_EVENTS];
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	int64_t in = (int64_t)strlen(anth_stream_body) / 4;
	assert_string_equal(evs[0].name, "message_start");
	assert_string_equal(evs[n - 1].name, "message_stop");
	assert_int_equal(count_named(evs, n, "content_block_start"), 1);
	assert_int_equal(count_named(evs, n, "content_block_stop"), 1);
	assert_int_equal(count_named(evs, n, "content_block_delta"), 5);
	assert_true(count_named(evs, n, "ping") >= 1);
	const cJSON *msg = cJSON_GetObjectItem(evs[0].json, "message");
	assert_string_equal(jstr(msg, "model"), "claude-opus-4-7");
	assert_int_equal(jnum(msg, "usage.input_tokens"), in);
	assert_int_equal(jnum(msg, "usage.output_tokens"), 1);
	assert_int_equal(jnum(msg, "usage.cache_read_input_tokens"), 0);
	assert_int_equal(jnum(msg, "usage.cache_creation.ephemeral_5m_input_tokens"), 0);
	assert_int_equal(jnum(msg, "usage.cache_creation.ephemeral_1h_input_tokens"), 0);
	const struct ev *md = find_named(evs, n, "message_delta");
	assert_non_null(md);
	assert_int_equal(jnum(md->json, "usage.output_tokens"), 10);  /* 5 chunks x 2 */
	assert_int_equal(jnum(md->json, "usage.input_tokens"), in);
	assert_string_equal(jstr(md->json, "delta.stop_reason"), "end_turn");
	const struct ev *d = find_named(evs, n, "content_block_delta");
	assert_string_equal(jstr(d->json, "delta.type"), "text_delta");
	sse_free(evs, n);
	resp_free(&r);

	/* Same without the /v1 prefix (OpenCode calls X/messages). */
	request(m, "/messages", anth_stream_body, &r);
	assert_int_equal(r.status, 200);
	n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_string_equal(evs[n - 1].name, "message_stop");
	sse_free(evs, n);
	resp_free(&r);
	mock_stop(m);
}

static void
test_anthropic_json_cache(void **state)
{
	(void)state;
	mock_t *m = start("{\"defaults\":{\"usage\":{\"input_tokens\":42,"
	    "\"cache_read_input_tokens\":100,\"cache_creation_5m\":20,\"cache_creation_1h\":30},"
	    "\"chunks\":3,\"chunk_tokens\":4,\"text\":\"abcdef\"}}", NULL);
	struct resp r;
	request(m, "/v1/messages", "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":50}", &r);
	assert_int_equal(r.status, 200);
	char v[128];
	assert_string_equal(header(&r, "content-type", v, sizeof(v)), "application/json");
	cJSON *o = cJSON_Parse(r.body.data);
	assert_non_null(o);
	assert_string_equal(jstr(o, "type"), "message");
	assert_string_equal(jstr(o, "model"), "claude-sonnet-4-6");
	assert_int_equal(strncmp(jstr(o, "id"), "msg_", 4), 0);
	assert_int_equal(jnum(o, "usage.input_tokens"), 42);
	assert_int_equal(jnum(o, "usage.output_tokens"), 12);
	assert_int_equal(jnum(o, "usage.cache_read_input_tokens"), 100);
	assert_int_equal(jnum(o, "usage.cache_creation_input_tokens"), 50);
	assert_int_equal(jnum(o, "usage.cache_creation.ephemeral_5m_input_tokens"), 20);
	assert_int_equal(jnum(o, "usage.cache_creation.ephemeral_1h_input_tokens"), 30);
	const cJSON *blk = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 0);
	assert_string_equal(jstr(blk, "text"), "abcdef");
	cJSON_Delete(o);
	resp_free(&r);

	/* max_tokens caps the output and sets the stop reason. */
	request(m, "/v1/messages", "{\"model\":\"x\",\"stream\":true,\"max_tokens\":5}", &r);
	struct ev evs[MAX_EVENTS];
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_int_equal(count_named(evs, n, "content_block_delta"), 2);
	const struct ev *md = find_named(evs, n, "message_delta");
	assert_int_equal(jnum(md->json, "usage.output_tokens"), 5);
	assert_int_equal(jnum(md->json, "usage.cache_read_input_tokens"), 100);
	assert_string_equal(jstr(md->json, "delta.stop_reason"), "max_tokens");
	sse_free(evs, n);
	resp_free(&r);
	mock_stop(m);
}

static void
test_other_endpoints(void **state)
{
	(void)state;
	mock_t *m = start(NULL, NULL);
	struct resp r;
	const char *body = "{\"model\":\"claude-opus-4-7\",\"messages\":[1,2,3,4,5,6,7]}";
	request(m, "/v1/messages/count_tokens", body, &r);
	assert_int_equal(r.status, 200);
	cJSON *o = cJSON_Parse(r.body.data);
	assert_int_equal(jnum(o, "input_tokens"), (int64_t)strlen(body) / 4);
	assert_int_equal(cJSON_GetArraySize(o), 1);
	cJSON_Delete(o);
	resp_free(&r);

	request(m, "/v1/models", NULL, &r);
	assert_int_equal(r.status, 200);
	o = cJSON_Parse(r.body.data);
	const cJSON *data = cJSON_GetObjectItem(o, "data");
	assert_true(cJSON_GetArraySize(data) >= 1);
	assert_string_equal(jstr(cJSON_GetArrayItem(data, 0), "type"), "model");
	assert_non_null(jstr(cJSON_GetArrayItem(data, 0), "id"));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "has_more")));
	cJSON_Delete(o);
	resp_free(&r);

	request(m, "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.body.len > 0);
	resp_free(&r);

	request(m, "/v1/nothing", "{}", &r);
	assert_int_equal(r.status, 404);
	o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "type"), "error");
	assert_string_equal(jstr(o, "error.type"), "not_found_error");
	cJSON_Delete(o);
	resp_free(&r);

	request(m, "/v1/messages", "not json", &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_int_equal(mock_calls(m), 1);     /* only the bad messages call counts */
	mock_stop(m);
}

static void
test_openai_chat(void **state)
{
	(void)state;
	mock_t *m = start("{\"defaults\":{\"usage\":{\"cache_read_input_tokens\":64},"
	    "\"chunks\":4,\"chunk_tokens\":3}}", NULL);
	struct resp r;
	const char *body = "{\"model\":\"gpt-5.5\",\"stream\":true,"
	    "\"stream_options\":{\"include_usage\":true},\"messages\":[]}";
	request(m, "/v1/chat/completions", body, &r);
	assert_int_equal(r.status, 200);
	char v[128];
	assert_string_equal(header(&r, "content-type", v, sizeof(v)), "text/event-stream");
	assert_int_equal(strncmp(header(&r, "x-request-id", v, sizeof(v)), "req_", 4), 0);
	assert_true(header_int(&r, "x-ratelimit-remaining-requests") > 0);
	assert_non_null(header(&r, "x-ratelimit-reset-tokens", v, sizeof(v)));
	assert_true(v[strlen(v) - 1] == 's');   /* Go duration: "1m2s", "37.2s", "20ms" */
	struct ev evs[MAX_EVENTS];
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_string_equal(evs[n - 1].data, "[DONE]");
	const cJSON *u = evs[n - 2].json;
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(u, "choices")), 0);
	int64_t in = (int64_t)strlen(body) / 4;
	assert_int_equal(jnum(u, "usage.prompt_tokens"), in + 64);
	assert_int_equal(jnum(u, "usage.prompt_tokens_details.cached_tokens"), 64);
	assert_int_equal(jnum(u, "usage.completion_tokens"), 12);
	assert_int_equal(jnum(u, "usage.total_tokens"), in + 64 + 12);
	for (size_t i = 0; i + 2 < n; i++) {
		assert_string_equal(jstr(evs[i].json, "object"), "chat.completion.chunk");
		assert_string_equal(jstr(evs[i].json, "model"), "gpt-5.5");
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(evs[i].json, "usage")));
	}
	sse_free(evs, n);
	resp_free(&r);

	/* Without include_usage there is no usage chunk (like the real API). */
	request(m, "/chat/completions", "{\"model\":\"gpt-5.5\",\"stream\":true}", &r);
	n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_string_equal(evs[n - 1].data, "[DONE]");
	assert_int_equal(n, 1 + 4 + 1 + 1);     /* role, 4 chunks, finish, [DONE] */
	assert_null(cJSON_GetObjectItem(evs[n - 2].json, "usage"));
	assert_string_equal(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(evs[n - 2].json,
	    "choices"), 0), "finish_reason"), "stop");
	sse_free(evs, n);
	resp_free(&r);

	request(m, "/v1/chat/completions", "{\"model\":\"gpt-5.5\",\"max_tokens\":7}", &r);
	cJSON *o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "object"), "chat.completion");
	assert_int_equal(jnum(o, "usage.completion_tokens"), 7);
	assert_int_equal(jnum(o, "usage.prompt_tokens_details.cached_tokens"), 64);
	assert_int_equal(jnum(o, "usage.completion_tokens_details.reasoning_tokens"), 0);
	const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
	assert_string_equal(jstr(ch, "finish_reason"), "length");
	assert_string_equal(jstr(ch, "message.role"), "assistant");
	cJSON_Delete(o);
	resp_free(&r);
	mock_stop(m);
}

static void
test_openai_responses(void **state)
{
	(void)state;
	mock_t *m = start("{\"defaults\":{\"usage\":{\"cache_read_input_tokens\":10,"
	    "\"reasoning_tokens\":3}}}", NULL);
	struct resp r;
	const char *body = "{\"model\":\"gpt-5.5\",\"stream\":true,\"input\":\"hi\"}";
	request(m, "/v1/responses", body, &r);
	assert_int_equal(r.status, 200);
	struct ev evs[MAX_EVENTS];
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_string_equal(evs[0].name, "response.created");
	assert_string_equal(jstr(evs[0].json, "response.status"), "in_progress");
	assert_string_equal(evs[n - 1].name, "response.completed");
	assert_int_equal(count_named(evs, n, "response.output_text.delta"), 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(jnum(evs[i].json, "sequence_number"), (int64_t)i);
	const cJSON *resp = cJSON_GetObjectItem(evs[n - 1].json, "response");
	int64_t in = (int64_t)strlen(body) / 4;
	assert_string_equal(jstr(resp, "model"), "gpt-5.5");
	assert_int_equal(jnum(resp, "usage.input_tokens"), in + 10);
	assert_int_equal(jnum(resp, "usage.input_tokens_details.cached_tokens"), 10);
	assert_int_equal(jnum(resp, "usage.output_tokens"), 10);
	assert_int_equal(jnum(resp, "usage.output_tokens_details.reasoning_tokens"), 3);
	sse_free(evs, n);
	resp_free(&r);

	request(m, "/responses", "{\"model\":\"gpt-5.5\",\"max_output_tokens\":4}", &r);
	cJSON *o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "object"), "response");
	assert_string_equal(jstr(o, "status"), "incomplete");
	assert_int_equal(jnum(o, "usage.output_tokens"), 4);
	cJSON_Delete(o);
	resp_free(&r);
	mock_stop(m);
}

static char *
tmp_path(const char *name)
{
	char *p = xasprintf("/tmp/tokmux-test-mock-%d-%s", (int)getpid(), name);
	unlink(p);
	return p;
}

/* A tool call answer (Anthropic: a tool_use block, stop_reason tool_use);
 * a subscription's request (Bearer token and an oauth beta) told of its
 * unified windows instead of an API key's buckets; the log says how each
 * request authenticated, its betas, some headers and its body's shape,
 * never a key. */
static void
test_tool_and_unified(void **state)
{
	(void)state;
	char log[64];
	snprintf(log, sizeof log, "/tmp/tokmux-mocklog-%d.jsonl", (int)getpid());
	unlink(log);
	mock_t *m = start("{\"defaults\": {\"unified\": {\"5h\": 0.92, \"7d\": 0.4, "
	    "\"claim\": \"five_hour\", \"status\": \"allowed_warning\", \"surpassed\": 0.9}},"
	    " \"rules\": [{\"match\": {\"requests\": [1, 2]}, \"tool\": {\"name\": \"Bash\", "
	    "\"input\": {\"command\": \"touch x\"}}}]}", log);
	struct resp r;
	struct ev evs[MAX_EVENTS];
	const char *oauth[] = { "authorization: Bearer sk-ant-oat01-secret",
		"anthropic-beta: oauth-2025-04-20,claude-code-20250219",
		"x-claude-code-session-id: 11111111-2222-4333-8444-555555555555", NULL };
	request_h(m, "/v1/messages?beta=true", "{\"model\":\"claude-haiku-4-5\",\"stream\":true,"
	    "\"max_tokens\":100,\"messages\":[],\"tools\":[{\"name\":\"a\",\"defer_loading\":true},"
	    "{\"name\":\"b\"}]}", oauth, &r);
	assert_int_equal(r.status, 200);
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	int tool = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(evs[i].name, "content_block_start") == 0 &&
		    strcmp(jstr(evs[i].json, "content_block.type"), "tool_use") == 0) {
			assert_string_equal(jstr(evs[i].json, "content_block.name"), "Bash");
			tool = 1;
		}
	assert_true(tool);
	const struct ev *d = find_named(evs, n, "message_delta");
	assert_string_equal(jstr(d->json, "delta.stop_reason"), "tool_use");
	sse_free(evs, n);
	char v[64];
	assert_string_equal(header(&r, "anthropic-ratelimit-unified-5h-utilization", v, sizeof v), "0.9200");
	assert_string_equal(header(&r, "anthropic-ratelimit-unified-representative-claim", v, sizeof v),
	    "five_hour");
	assert_string_equal(header(&r, "anthropic-ratelimit-unified-status", v, sizeof v), "allowed_warning");
	assert_string_equal(header(&r, "anthropic-ratelimit-unified-5h-surpassed-threshold", v, sizeof v),
	    "0.90");
	assert_true(header_int(&r, "anthropic-ratelimit-unified-7d-reset") > (int64_t)util_wall() + 86400);
	assert_null(header(&r, "anthropic-ratelimit-requests-limit", v, sizeof v));
	resp_free(&r);
	/* not streamed: the tool_use block with its input; an API key: buckets */
	const char *key[] = { "x-api-key: sk-ant-api03-secret", NULL };
	request_h(m, "/v1/messages", "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":100,"
	    "\"messages\":[]}", key, &r);
	cJSON *o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "stop_reason"), "tool_use");
	const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 1);
	assert_string_equal(jstr(b, "type"), "tool_use");
	assert_string_equal(jstr(b, "input.command"), "touch x");
	cJSON_Delete(o);
	assert_null(header(&r, "anthropic-ratelimit-unified-status", v, sizeof v));
	assert_true(header_int(&r, "anthropic-ratelimit-requests-limit") > 0);
	resp_free(&r);
	/* the rule was for requests 1 and 2 */
	request_h(m, "/v1/messages", "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":100,"
	    "\"messages\":[]}", key, &r);
	o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "stop_reason"), "end_turn");
	cJSON_Delete(o);
	resp_free(&r);
	mock_stop(m);
	size_t len;
	char *err = NULL, *text = util_read_file(log, 1 << 20, &len, &err);
	assert_non_null(text);
	assert_null(strstr(text, "secret"));
	char *nl = strchr(text, '\n');
	*nl = '\0';
	o = cJSON_Parse(text);
	assert_string_equal(jstr(o, "auth"), "oauth");
	assert_string_equal(jstr(o, "tool"), "Bash");
	assert_string_equal(jstr(o, "headers.x-claude-code-session-id"),
	    "11111111-2222-4333-8444-555555555555");
	const cJSON *betas = cJSON_GetObjectItem(o, "betas");
	assert_int_equal(cJSON_GetArraySize(betas), 2);
	assert_string_equal(cJSON_GetArrayItem(betas, 0)->valuestring, "oauth-2025-04-20");
	assert_int_equal(jnum(o, "tools"), 2);
	assert_int_equal(jnum(o, "deferred_tools"), 1);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "body_keys"), 0)->valuestring,
	    "max_tokens");
	cJSON_Delete(o);
	o = cJSON_Parse(nl + 1);
	assert_string_equal(jstr(o, "auth"), "x-api-key");
	cJSON_Delete(o);
	free(text);
	unlink(log);
}

static void
test_rules(void **state)
{
	(void)state;
	char *log = tmp_path("log.jsonl");
	mock_t *m = start("{\"rules\":["
	    "{\"match\":{\"request\":2},\"action\":\"529\"},"
	    "{\"match\":{\"every\":3},\"action\":\"500\",\"times\":1},"
	    "{\"match\":{\"requests\":[4,5]},\"usage\":{\"output_tokens\":99}},"
	    "{\"match\":{\"model\":\"claude-haiku-*\"},\"action\":\"429\",\"retry_after\":7},"
	    "{\"match\":{\"path\":\"/v1/chat/completions\",\"request\":1,\"per_path\":true},"
	    "\"action\":503}]}", log);
	const char *opus = "{\"model\":\"claude-opus-4-7\"}";
	long want[] = { 200, 529, 500, 200, 200, 200 };
	struct resp r;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(want); i++) {
		request(m, "/v1/messages", opus, &r);
		assert_int_equal(r.status, want[i]);
		cJSON *o = cJSON_Parse(r.body.data);
		assert_non_null(o);
		if (i == 1) {
			assert_string_equal(jstr(o, "type"), "error");
			assert_string_equal(jstr(o, "error.type"), "overloaded_error");
			assert_string_equal(jstr(o, "error.message"), "Overloaded");
		} else if (i == 2) {
			assert_string_equal(jstr(o, "error.type"), "api_error");
		} else {
			assert_int_equal(jnum(o, "usage.output_tokens"), i == 3 || i == 4 ? 99 : 10);
		}
		cJSON_Delete(o);
		resp_free(&r);
	}
	request(m, "/v1/messages", "{\"model\":\"claude-haiku-4-5\"}", &r);  /* call 7 */
	assert_int_equal(r.status, 429);
	assert_int_equal(header_int(&r, "retry-after"), 7);
	assert_int_equal(header_int(&r, "anthropic-ratelimit-requests-remaining"), 0);
	cJSON *o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "error.type"), "rate_limit_error");
	cJSON_Delete(o);
	resp_free(&r);
	/* The first chat call is call 8 overall but 1 on its path. */
	request(m, "/v1/chat/completions", "{\"model\":\"gpt-5.5\"}", &r);
	assert_int_equal(r.status, 503);
	o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "error.type"), "server_error");
	cJSON_Delete(o);
	resp_free(&r);
	request(m, "/v1/chat/completions", "{\"model\":\"gpt-5.5\"}", &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	request(m, "/v1/models", NULL, &r);     /* not a model call: n = 0 */
	resp_free(&r);
	assert_int_equal(mock_calls(m), 9);
	mock_stop(m);

	/* The log: one line per request, in order, with what was served. */
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	char line[2048];
	long statuses[] = { 200, 529, 500, 200, 200, 200, 429, 503, 200, 200 };
	size_t k = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_true(k < UTIL_ARRAY_LEN(statuses));
		cJSON *l = cJSON_Parse(line);
		assert_non_null(l);
		assert_int_equal(jnum(l, "status"), statuses[k]);
		assert_int_equal(jnum(l, "n"), k < 9 ? (int64_t)k + 1 : 0);
		if (k == 1)
			assert_string_equal(jstr(l, "action"), "529");
		if (k == 3)
			assert_int_equal(jnum(l, "output_tokens"), 99);
		if (k == 1)     /* an error reports no usage */
			assert_int_equal(jnum(l, "input_tokens"), 0);
		if (k == 0) {
			assert_int_equal(jnum(l, "input_tokens"), (int64_t)strlen(opus) / 4);
			assert_string_equal(jstr(l, "model"), "claude-opus-4-7");
			assert_string_equal(jstr(l, "path"), "/v1/messages");
		}
		assert_null(strstr(line, "claude-opus-4-7\"}"));   /* no request body */
		cJSON_Delete(l);
		k++;
	}
	assert_int_equal(k, UTIL_ARRAY_LEN(statuses));
	fclose(f);
	unlink(log);
	free(log);
}

static void
test_429_variants(void **state)
{
	(void)state;
	mock_t *m = start("{\"rules\":["
	    "{\"match\":{\"path\":\"/v1/messages\"},\"action\":429,\"spend_limit\":true,"
	    "\"retry_after\":null},"
	    "{\"match\":{\"path\":\"/v1/responses\"},\"action\":\"429\",\"spend_limit\":true},"
	    "{\"match\":{\"path\":\"/v1/chat/completions\"},\"action\":\"429\"}]}", NULL);
	struct resp r;
	char v[64];
	request(m, "/v1/messages", "{\"model\":\"m\"}", &r);
	assert_int_equal(r.status, 429);
	assert_null(header(&r, "retry-after", v, sizeof(v)));
	cJSON *o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "error.type"), "rate_limit_error");
	assert_non_null(strstr(jstr(o, "error.message"), "usage limits"));
	cJSON_Delete(o);
	resp_free(&r);

	request(m, "/v1/responses", "{\"model\":\"m\"}", &r);
	assert_int_equal(r.status, 429);
	assert_null(header(&r, "retry-after", v, sizeof(v)));
	o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "error.code"), "insufficient_quota");
	cJSON_Delete(o);
	resp_free(&r);

	/* A plain 429 carries retry-after (default 1 s) and an empty request budget. */
	request(m, "/v1/chat/completions", "{\"model\":\"m\",\"stream\":true}", &r);
	assert_int_equal(r.status, 429);
	assert_int_equal(header_int(&r, "retry-after"), 1);
	assert_int_equal(header_int(&r, "x-ratelimit-remaining-requests"), 0);
	assert_string_equal(header(&r, "content-type", v, sizeof(v)), "application/json");
	o = cJSON_Parse(r.body.data);
	assert_string_equal(jstr(o, "error.code"), "rate_limit_exceeded");
	cJSON_Delete(o);
	resp_free(&r);
	mock_stop(m);
}

static void
test_delays(void **state)
{
	(void)state;
	mock_t *m = start("{\"rules\":[{\"match\":{\"request\":1},\"action\":\"chunk_delay\","
	    "\"delay_ms\":40,\"chunks\":2},{\"match\":{\"request\":2},"
	    "\"action\":\"slow_first_byte\",\"delay_ms\":120}]}", NULL);
	struct resp r;
	request(m, "/v1/messages", "{\"model\":\"m\",\"stream\":true}", &r);
	assert_int_equal(r.rc, CURLE_OK);
	/* 8 events, event k leaves k*40 ms after the first: none may arrive
	 * earlier than that after the request started (bounds that hold on a
	 * loaded machine too), and the whole stream takes about 7*40 ms. */
	struct ev evs[MAX_EVENTS];
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_int_equal(n, 8);
	sse_free(evs, n);
	size_t seen = 0;
	int64_t last = 0;
	for (size_t i = 0; i < r.nwrites; i++) {
		if (r.write_events[i] == 0)
			continue;
		seen += (size_t)r.write_events[i];
		assert_true(r.write_us[i] >= (int64_t)(seen - 1) * 40000 - 1000);
		last = r.write_us[i];
	}
	assert_int_equal(seen, 8);
	assert_true(last >= 7 * 40000 - 1000);
	assert_true(last < 7 * 40000 + 500000);
	resp_free(&r);

	request(m, "/v1/messages", "{\"model\":\"m\",\"stream\":true}", &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_true(r.nwrites > 0);
	assert_true(r.write_us[0] >= 115000);
	assert_true(r.write_us[0] < 1000000);
	resp_free(&r);
	mock_stop(m);
}

static void
test_faults(void **state)
{
	(void)state;
	mock_t *m = start("{\"rules\":["
	    "{\"match\":{\"request\":1},\"action\":\"cut\",\"after_events\":3},"
	    "{\"match\":{\"request\":2},\"action\":\"overloaded_midstream\"},"
	    "{\"match\":{\"request\":3},\"action\":\"overloaded_first\"},"
	    "{\"match\":{\"request\":4},\"action\":\"overloaded_midstream\"},"
	    "{\"match\":{\"request\":5},\"action\":\"cut\"}]}", NULL);
	const char *body = "{\"model\":\"m\",\"stream\":true}";
	struct resp r;
	struct ev evs[MAX_EVENTS];

	request(m, "/v1/messages", body, &r);          /* 1: cut after 3 events */
	assert_int_equal(r.status, 200);
	assert_true(r.rc == CURLE_PARTIAL_FILE || r.rc == CURLE_RECV_ERROR);
	size_t n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_int_equal(n, 3);
	sse_free(evs, n);
	resp_free(&r);

	request(m, "/v1/messages", body, &r);          /* 2: overloaded mid-stream */
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_string_equal(evs[0].name, "message_start");
	assert_string_equal(evs[n - 1].name, "error");
	assert_string_equal(jstr(evs[n - 1].json, "error.type"), "overloaded_error");
	assert_null(find_named(evs, n, "message_delta"));
	assert_non_null(find_named(evs, n, "content_block_delta"));
	sse_free(evs, n);
	resp_free(&r);

	request(m, "/v1/messages", body, &r);          /* 3: the error comes first */
	assert_int_equal(r.status, 200);
	n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_int_equal(n, 1);
	assert_string_equal(evs[0].name, "error");
	sse_free(evs, n);
	resp_free(&r);

	request(m, "/v1/messages", "{\"model\":\"m\"}", &r);   /* 4: non-stream → 529 */
	assert_int_equal(r.status, 529);
	resp_free(&r);

	request(m, "/v1/messages", "{\"model\":\"m\"}", &r);   /* 5: non-stream cut */
	assert_int_equal(r.status, 200);
	assert_true(r.rc == CURLE_PARTIAL_FILE || r.rc == CURLE_RECV_ERROR);
	assert_null(cJSON_Parse(r.body.data));
	resp_free(&r);

	request(m, "/v1/messages", body, &r);          /* 6: no rule, whole stream */
	assert_int_equal(r.rc, CURLE_OK);
	n = sse_parse(r.body.data, evs, MAX_EVENTS);
	assert_string_equal(evs[n - 1].name, "message_stop");
	sse_free(evs, n);
	resp_free(&r);
	mock_stop(m);
}

static void
test_ratelimit(void **state)
{
	(void)state;
	mock_t *m = start("{\"defaults\":{\"ratelimit\":{\"requests\":3,\"input_tokens\":1000,"
	    "\"output_tokens\":500,\"window_s\":3600,\"enforce\":true}}}", NULL);
	const char *body = "{\"model\":\"claude-opus-4-7\",\"stream\":true}";
	int64_t in = (int64_t)strlen(body) / 4;
	struct resp r1, r2, r3, r4;
	request(m, "/v1/messages", body, &r1);
	request(m, "/v1/messages", body, &r2);
	assert_int_equal(header_int(&r1, "anthropic-ratelimit-requests-limit"), 3);
	assert_int_equal(header_int(&r1, "anthropic-ratelimit-requests-remaining"), 2);
	assert_int_equal(header_int(&r2, "anthropic-ratelimit-requests-remaining"), 1);
	assert_int_equal(header_int(&r1, "anthropic-ratelimit-tokens-limit"), 1500);
	assert_int_equal(header_int(&r1, "anthropic-ratelimit-tokens-remaining") -
	    header_int(&r2, "anthropic-ratelimit-tokens-remaining"), in + 10);
	assert_int_equal(header_int(&r1, "anthropic-ratelimit-input-tokens-remaining"), 1000 - in);
	assert_int_equal(header_int(&r2, "anthropic-ratelimit-output-tokens-remaining"), 480);
	char v[64];
	header(&r1, "anthropic-ratelimit-requests-reset", v, sizeof(v));
	int y, mo, d, h, mi, s;
	char z = 0;
	assert_int_equal(sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z), 7);
	assert_int_equal(z, 'Z');
	assert_int_equal(mi, 0);        /* an hour window resets on the hour */
	assert_int_equal(s, 0);
	request(m, "/v1/chat/completions", "{\"model\":\"gpt-5.5\"}", &r3);
	assert_int_equal(header_int(&r3, "x-ratelimit-remaining-requests"), 0);
	request(m, "/v1/messages", body, &r4);  /* the budget is spent: 429 */
	assert_int_equal(r4.status, 429);
	assert_true(header_int(&r4, "retry-after") > 0);
	resp_free(&r1);
	resp_free(&r2);
	resp_free(&r3);
	resp_free(&r4);
	mock_stop(m);
}

static void
test_script_errors(void **state)
{
	(void)state;
	mock_t *m = start(NULL, NULL);
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "[1]", "key (top level): expected a JSON object" },
		{ "{\"rules\":[", "invalid JSON at line 1, column 10" },
		{ "{\"rules\":[{\"action\":\"explode\"}]}",
		  "key rules[0].action: expected one of ok, 429, 529" },
		{ "{\"rules\":[{},{\"match\":{\"reqest\":2}}]}",
		  "key rules[1].match.reqest: expected one of request, requests" },
		{ "{\"rules\":[{\"match\":{\"path\":\"/v2/x\"}}]}",
		  "key rules[0].match.path: expected /v1/messages" },
		{ "{\"rules\":[{\"times\":0}]}", "key rules[0].times: expected a whole number from 1" },
		{ "{\"rules\":[{\"delay_ms\":-5}]}",
		  "key rules[0].delay_ms: expected a whole number from 0 to 600000" },
		{ "{\"rules\":[{\"usage\":{\"input_tokens\":\"x\"}}]}",
		  "key rules[0].usage.input_tokens: expected a whole number" },
		{ "{\"defaults\":{\"ratelimit\":{\"window_s\":0}}}",
		  "key defaults.ratelimit.window_s: expected a whole number from 1 to 86400" },
		{ "{\"rules\":[{\"ratelimit\":{}}]}", "key rules[0].ratelimit: expected only in defaults" },
		{ "{\"defaults\":{\"times\":2}}", "key defaults.times: expected only in rules" },
		{ "{\"defaults\":{\"models\":[1]}}", "key defaults.models: expected an array of model ids" },
		{ "{\"rulez\":[]}", "key rulez: expected one of rules, defaults, comment (unknown key)" },
		{ "{\"rules\":[{\"tool\":\"Bash\"}]}", "key rules[0].tool: expected an object" },
		{ "{\"rules\":[{\"tool\":{\"input\":{}}}]}", "key rules[0].tool.name: expected a non-empty string" },
		{ "{\"rules\":[{\"tool\":{\"name\":\"x\",\"input\":[]}}]}",
		  "key rules[0].tool.input: expected an object" },
		{ "{\"defaults\":{\"unified\":{\"5h\":\"high\"}}}", "key defaults.unified.5h: expected a number" },
		{ "{\"defaults\":{\"unified\":{\"6h\":0.5}}}", "key defaults.unified.6h: expected one of 5h" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		char *err = NULL;
		assert_int_equal(mock_load_script_json(m, bad[i].json, &err), -1);
		assert_non_null(err);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)   /* one line, no prefix */
			fail_msg("script %s: error \"%s\" does not start with \"%s\"", bad[i].json,
			    err, bad[i].want);
		assert_null(strchr(err, '\n'));
		free(err);
	}
	char *err = NULL;
	assert_int_equal(mock_load_script(m, "/nonexistent/tokmux-script.json", &err), -1);
	assert_string_equal(err, "/nonexistent/tokmux-script.json: cannot open: "
	    "No such file or directory");
	free(err);

	/* Loading from a file, and a failed reload keeps the old script. */
	char *path = tmp_path("script.json");
	FILE *f = fopen(path, "w");
	fputs("{\"rules\":[{\"action\":\"500\"}]}", f);
	fclose(f);
	assert_int_equal(mock_load_script(m, path, NULL), 0);
	assert_int_equal(mock_load_script_json(m, "{\"rules\":5}", NULL), -1);
	/* a bad file: the error names the file once, then the key */
	char *badpath = tmp_path("bad.json");
	f = fopen(badpath, "w");
	fputs("{\"rules\":[{\"chunks\":-1}]}", f);
	fclose(f);
	assert_int_equal(mock_load_script(m, badpath, &err), -1);
	char *want = xasprintf("%s: key rules[0].chunks: expected a whole number from 0 to 10000",
	    badpath);
	assert_string_equal(err, want);
	free(want);
	free(err);
	unlink(badpath);
	free(badpath);
	struct resp r;
	request(m, "/v1/messages", "{\"model\":\"m\"}", &r);
	assert_int_equal(r.status, 500);
	resp_free(&r);
	unlink(path);
	free(path);
	mock_stop(m);
}

static void
test_main_args(void **state)
{
	(void)state;
	char *a1[] = { "mock", "--bogus", NULL };
	char *a2[] = { "mock", "--port", "70000", NULL };
	char *a3[] = { "mock", "--script", NULL };
	char *a4[] = { "mock", "--port", "0", "--script", "/nonexistent/x.json", NULL };
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");
	assert_int_equal(cmd_mock_main(2, a1), 2);
	assert_int_equal(cmd_mock_main(3, a2), 2);
	assert_int_equal(cmd_mock_main(2, a3), 2);
	assert_int_equal(cmd_mock_main(5, a4), 1);
	fclose(stderr);
	stderr = saved;
}

struct bg {
	mock_t *m;
	struct resp r;
	const char *path;
	const char *body;
};

static void *
bg_request(void *arg)
{
	struct bg *b = arg;
	request(b->m, b->path, b->body, &b->r);
	return NULL;
}

/* Counters are consistent under concurrent requests, and stop interrupts delays. */
static void
test_concurrency_and_stop(void **state)
{
	(void)state;
	mock_t *m = start("{\"rules\":[{\"match\":{\"model\":\"slow\"},\"chunk_delay_ms\":5000}]}",
	    NULL);
	pthread_t th[6];
	struct bg b[6];
	for (int i = 0; i < 6; i++) {
		b[i] = (struct bg){ .m = m, .path = "/v1/messages",
			.body = "{\"model\":\"fast\",\"stream\":true}" };
		assert_int_equal(pthread_create(&th[i], NULL, bg_request, &b[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(b[i].r.status, 200);
		resp_free(&b[i].r);
	}
	assert_int_equal(mock_calls(m), 6);

	struct bg slow = { .m = m, .path = "/v1/messages",
		.body = "{\"model\":\"slow\",\"stream\":true}" };
	assert_int_equal(pthread_create(&th[0], NULL, bg_request, &slow), 0);
	usleep(100000);
	int64_t t0 = util_now_ms();
	mock_stop(m);
	pthread_join(th[0], NULL);
	assert_true(util_now_ms() - t0 < 1000);
	assert_true(slow.r.rc != CURLE_OK);    /* the stream was broken off */
	resp_free(&slow.r);
}

static int
setup(void **state)
{
	(void)state;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_anthropic_json_cache),
		cmocka_unit_test(test_other_endpoints),
		cmocka_unit_test(test_openai_chat),
		cmocka_unit_test(test_openai_responses),
		cmocka_unit_test(test_tool_and_unified),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_429_variants),
		cmocka_unit_test(test_delays),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_script_errors),
		cmocka_unit_test(test_main_args),
		cmocka_unit_test(test_concurrency_and_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
