/*
 * mockwire: builds what the mock provider sends, byte for byte in the
 * shapes the real providers use (see tests/fixtures and docs/MOCK.md):
 * Anthropic Messages JSON and SSE (message_start ... message_stop, pings,
 * error events), OpenAI Chat Completions chunks (with the optional usage
 * chunk and [DONE]) and Responses events, error bodies with each provider's
 * types and default messages, the models list, ids, and the reset formats.
 * Pure functions of their inputs, apart from the random ids and the clock.
 */
#include "mockwire.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static const struct {
	const char *path;  /* normalised: without /v1 */
	const char *method;
} mockwire_endpoints[MOCKWIRE_N] = {
	[MOCKWIRE_ROOT] = { "/", "GET" },
	[MOCKWIRE_MODELS] = { "/models", "GET" },
	[MOCKWIRE_MESSAGES] = { "/messages", "POST" },
	[MOCKWIRE_COUNT] = { "/messages/count_tokens", "POST" },
	[MOCKWIRE_CHAT] = { "/chat/completions", "POST" },
	[MOCKWIRE_RESPONSES] = { "/responses", "POST" },
};

static const char base62[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char hex[] = "0123456789abcdef";

static const char *const default_words[] = { "This", "is", "a", "scripted", "reply", "from",
	"the", "tokmux", "mock", "provider." };

enum mockwire_endpoint
mockwire_endpoint(const char *url)
{
	const char *p = url;
	size_t n = strlen(p);
	if (strncmp(p, "/v1", 3) == 0 && (p[3] == '/' || p[3] == '\0')) {
		p += 3;
		n -= 3;
	}
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return MOCKWIRE_ROOT;
	for (int e = MOCKWIRE_ROOT; e < MOCKWIRE_UNKNOWN; e++)
		if (strlen(mockwire_endpoints[e].path) == n && strncmp(p, mockwire_endpoints[e].path, n) == 0)
			return (enum mockwire_endpoint)e;
	return MOCKWIRE_UNKNOWN;
}

const char *
mockwire_method(enum mockwire_endpoint e)
{
	return e > MOCKWIRE_NONE && e < MOCKWIRE_UNKNOWN ? mockwire_endpoints[e].method : NULL;
}

int
mockwire_is_call(enum mockwire_endpoint e)
{
	return e == MOCKWIRE_MESSAGES || e == MOCKWIRE_CHAT || e == MOCKWIRE_RESPONSES;
}

int
mockwire_is_openai(enum mockwire_endpoint e)
{
	return e == MOCKWIRE_CHAT || e == MOCKWIRE_RESPONSES;
}

static void
mockwire_random_id(char *out, size_t n, const char *alphabet)
{
	unsigned char r[64];
	size_t k = strlen(alphabet);
	if (n > sizeof(r))
		n = sizeof(r);
	util_random(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[r[i] % k];
	out[n] = '\0';
}

static char *
mockwire_make_id(const char *prefix, size_t n, const char *alphabet)
{
	char tail[65];
	mockwire_random_id(tail, n, alphabet);
	return xasprintf("%s%s", prefix, tail);
}

void
mockwire_rfc3339(double t, int with_ms, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	if (with_ms) {
		char tmp[32];
		strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%03dZ", tmp, (int)((t - (double)s) * 1000));
	} else {
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
}

/* A Go time.Duration string as OpenAI sends in x-ratelimit-reset-*. */
void
mockwire_go_duration(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000) {
		snprintf(buf, len, "%lldms", (long long)ms);
		return;
	}
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
	size_t o = 0;
	if (h > 0)
		o += (size_t)snprintf(buf + o, len - o, "%lldh", (long long)h);
	if (h > 0 || m > 0)
		o += (size_t)snprintf(buf + o, len - o, "%lldm", (long long)m);
	if (f == 0) {
		snprintf(buf + o, len - o, "%llds", (long long)s);
	} else {
		char frac[8];
		snprintf(frac, sizeof(frac), "%03lld", (long long)f);
		for (int i = 2; i > 0 && frac[i] == '0'; i--)
			frac[i] = '\0';
		snprintf(buf + o, len - o, "%lld.%ss", (long long)s, frac);
	}
}

/* Text of chunk i of n: a piece of p->text, or words of a fixed sentence. */
static char *
mockwire_chunk_text(const char *text, int i, int n)
{
	if (text == NULL) {
		const char *w = default_words[(size_t)i % UTIL_ARRAY_LEN(default_words)];
		return xasprintf("%s%s", i > 0 ? " " : "", w);
	}
	size_t len = strlen(text);
	size_t a = len * (size_t)i / (size_t)n, b = len * (size_t)(i + 1) / (size_t)n;
	while (a < len && ((unsigned char)text[a] & 0xC0) == 0x80)
		a++;                    /* never split a UTF-8 sequence */
	while (b < len && ((unsigned char)text[b] & 0xC0) == 0x80)
		b++;
	return xstrndup(text + a, b > a ? b - a : 0);
}

static char *
mockwire_full_text(const char *text, int n)
{
	struct buf b = { 0 };
	for (int i = 0; i < n; i++) {
		char *c = mockwire_chunk_text(text, i, n);
		buf_append(&b, c, strlen(c));
		free(c);
	}
	buf_append(&b, "", 1);
	return b.data;
}

void
mockwire_events_add(struct mockwire_events *l, char *ev)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = ev;
}

/* Add one SSE event (name NULL = data line only); consumes obj. */
static void
mockwire_sse(struct mockwire_events *l, const char *name, cJSON *obj)
{
	char *json = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (name != NULL)
		mockwire_events_add(l, xasprintf("event: %s\ndata: %s\n\n", name, json));
	else
		mockwire_events_add(l, xasprintf("data: %s\n\n", json));
	cJSON_free(json);
}

/* A usage object with the figures t->bad names turned into strings (an
 * upstream that reports usage tokmux cannot count). */
static cJSON *
mockwire_spoil(cJSON *u, const struct mockwire_toks *t)
{
	static const char *const in[] = { "input_tokens", "prompt_tokens" };
	static const char *const out[] = { "output_tokens", "completion_tokens" };
	for (int side = 0; side < 2; side++) {
		if (!(t->bad & (side == 0 ? MOCKWIRE_BAD_INPUT : MOCKWIRE_BAD_OUTPUT)))
			continue;
		for (int i = 0; i < 2; i++) {
			const char *k = side == 0 ? in[i] : out[i];
			cJSON *v = cJSON_GetObjectItemCaseSensitive(u, k);
			if (cJSON_IsNumber(v)) {
				char num[32];
				snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
				cJSON_ReplaceItemInObjectCaseSensitive(u, k, cJSON_CreateString(num));
			}
		}
	}
	return u;
}

static cJSON *
mockwire_anth_usage(const struct mockwire_toks *t, int64_t out, int full)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "input_tokens", (double)t->in);
	cJSON_AddNumberToObject(u, "cache_creation_input_tokens", (double)(t->c5m + t->c1h));
	cJSON_AddNumberToObject(u, "cache_read_input_tokens", (double)t->cread);
	if (full) {
		cJSON *cc = cJSON_AddObjectToObject(u, "cache_creation");
		cJSON_AddNumberToObject(cc, "ephemeral_5m_input_tokens", (double)t->c5m);
		cJSON_AddNumberToObject(cc, "ephemeral_1h_input_tokens", (double)t->c1h);
	}
	cJSON_AddNumberToObject(u, "output_tokens", (double)out);
	if (full)
		cJSON_AddStringToObject(u, "service_tier", "standard");
	return mockwire_spoil(u, t);
}

static cJSON *
mockwire_anth_message(const char *id, const char *model, const char *text, const char *stop,
    cJSON *usage)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "type", "message");
	cJSON_AddStringToObject(o, "role", "assistant");
	cJSON_AddStringToObject(o, "model", model);
	cJSON *content = cJSON_AddArrayToObject(o, "content");
	if (text != NULL) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "text");
		cJSON_AddStringToObject(b, "text", text);
		cJSON_AddItemToArray(content, b);
	}
	if (stop != NULL)
		cJSON_AddStringToObject(o, "stop_reason", stop);
	else
		cJSON_AddNullToObject(o, "stop_reason");
	cJSON_AddNullToObject(o, "stop_sequence");
	cJSON_AddItemToObject(o, "usage", usage);
	return o;
}

static cJSON *
mockwire_anth_error(const char *type, const char *message, const char *request_id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "error");
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "message", message);
	if (request_id != NULL)
		cJSON_AddStringToObject(o, "request_id", request_id);
	return o;
}

static cJSON *
mockwire_openai_error(const char *type, const char *message, const char *code)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddNullToObject(e, "param");
	if (code != NULL)
		cJSON_AddStringToObject(e, "code", code);
	else
		cJSON_AddNullToObject(e, "code");
	return o;
}

static cJSON *
mockwire_chat_usage(const struct mockwire_toks *t)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)(t->in + t->cread));
	cJSON_AddNumberToObject(u, "completion_tokens", (double)t->out);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(t->in + t->cread + t->out));
	cJSON *pd = cJSON_AddObjectToObject(u, "prompt_tokens_details");
	cJSON_AddNumberToObject(pd, "cached_tokens", (double)t->cread);
	cJSON_AddNumberToObject(pd, "audio_tokens", 0);
	cJSON *cd = cJSON_AddObjectToObject(u, "completion_tokens_details");
	cJSON_AddNumberToObject(cd, "reasoning_tokens", (double)t->reasoning);
	cJSON_AddNumberToObject(cd, "audio_tokens", 0);
	cJSON_AddNumberToObject(cd, "accepted_prediction_tokens", 0);
	cJSON_AddNumberToObject(cd, "rejected_prediction_tokens", 0);
	return mockwire_spoil(u, t);
}

static cJSON *
mockwire_chat_base(const char *id, const char *object, const char *model, long created)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", object);
	cJSON_AddNumberToObject(o, "created", (double)created);
	cJSON_AddStringToObject(o, "model", model);
	cJSON_AddStringToObject(o, "system_fingerprint", "fp_mock");
	return o;
}

/* One chat.completion.chunk with a single choice (delta consumed). */
static cJSON *
mockwire_chat_chunk(const char *id, const char *model, long created, cJSON *delta,
    const char *finish, int usage_null)
{
	cJSON *o = mockwire_chat_base(id, "chat.completion.chunk", model, created);
	cJSON *choices = cJSON_AddArrayToObject(o, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddItemToObject(c, "delta", delta);
	cJSON_AddNullToObject(c, "logprobs");
	if (finish != NULL)
		cJSON_AddStringToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	cJSON_AddItemToArray(choices, c);
	if (usage_null)
		cJSON_AddNullToObject(o, "usage");
	return o;
}

static cJSON *
mockwire_resp_usage(const struct mockwire_toks *t)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "input_tokens", (double)(t->in + t->cread));
	cJSON *id = cJSON_AddObjectToObject(u, "input_tokens_details");
	cJSON_AddNumberToObject(id, "cached_tokens", (double)t->cread);
	cJSON_AddNumberToObject(u, "output_tokens", (double)t->out);
	cJSON *od = cJSON_AddObjectToObject(u, "output_tokens_details");
	cJSON_AddNumberToObject(od, "reasoning_tokens", (double)t->reasoning);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(t->in + t->cread + t->out));
	return mockwire_spoil(u, t);
}

static cJSON *
mockwire_resp_item(const char *item_id, const char *status, const char *text)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", item_id);
	cJSON_AddStringToObject(it, "type", "message");
	cJSON_AddStringToObject(it, "status", status);
	cJSON_AddStringToObject(it, "role", "assistant");
	cJSON *content = cJSON_AddArrayToObject(it, "content");
	if (text != NULL) {
		cJSON *part = cJSON_CreateObject();
		cJSON_AddStringToObject(part, "type", "output_text");
		cJSON_AddStringToObject(part, "text", text);
		cJSON_AddArrayToObject(part, "annotations");
		cJSON_AddItemToArray(content, part);
	}
	return it;
}

/* A Response object; text NULL = no output yet, t NULL = usage null. */
static cJSON *
mockwire_resp_object(const char *id, const char *item_id, const char *model, long created,
    const char *status, const char *text, const struct mockwire_toks *t, int64_t max_out)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "response");
	cJSON_AddNumberToObject(o, "created_at", (double)created);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddNullToObject(o, "error");
	if (strcmp(status, "incomplete") == 0) {
		cJSON *d = cJSON_AddObjectToObject(o, "incomplete_details");
		cJSON_AddStringToObject(d, "reason", "max_output_tokens");
	} else {
		cJSON_AddNullToObject(o, "incomplete_details");
	}
	if (max_out > 0)
		cJSON_AddNumberToObject(o, "max_output_tokens", (double)max_out);
	else
		cJSON_AddNullToObject(o, "max_output_tokens");
	cJSON_AddStringToObject(o, "model", model);
	cJSON *out = cJSON_AddArrayToObject(o, "output");
	if (text != NULL)
		cJSON_AddItemToArray(out, mockwire_resp_item(item_id, "completed", text));
	if (t != NULL)
		cJSON_AddItemToObject(o, "usage", mockwire_resp_usage(t));
	else
		cJSON_AddNullToObject(o, "usage");
	return o;
}

static const char *
mockwire_anth_error_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 402: return "billing_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 504: return "timeout_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

static const char *
mockwire_default_message(int status, int spend, int openai)
{
	switch (status) {
	case 429:
		if (spend)
			return openai ? "You exceeded your current quota, please check your plan "
			    "and billing details." : "You have reached your specified API usage "
			    "limits. You will regain access on the first day of next month at "
			    "00:00 UTC.";
		return openai ? "Rate limit reached for requests (mock)." : "This request "
		    "would exceed the rate limit for your organization of requests per minute "
		    "(mock). Please try again later.";
	case 529:
	case 503: return openai ? "The server is overloaded or not ready yet." : "Overloaded";
	case 500: return openai ? "The server had an error while processing your request."
		    : "Internal server error";
	case 404: return "Not found";
	case 413: return "Request exceeds the maximum allowed number of bytes.";
	default: return status >= 500 ? "Internal server error" : "Invalid request";
	}
}

void
mockwire_stream_error(struct mockwire_events *l, enum mockwire_endpoint ep, const char *message)
{
	const char *msg = message ? message : "Overloaded";
	if (ep == MOCKWIRE_CHAT) {
		mockwire_sse(l, NULL, mockwire_openai_error("server_error", msg, "overloaded"));
	} else if (ep == MOCKWIRE_RESPONSES) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "error");
		cJSON_AddStringToObject(o, "code", "server_error");
		cJSON_AddStringToObject(o, "message", msg);
		cJSON_AddNullToObject(o, "param");
		cJSON_AddNumberToObject(o, "sequence_number", (double)l->n);
		mockwire_sse(l, "error", o);
	} else {
		mockwire_sse(l, "error", mockwire_anth_error("overloaded_error", msg, NULL));
	}
}

static void
mockwire_anth_ping(struct mockwire_events *l)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "ping");
	mockwire_sse(l, "ping", o);
}

/* Why an Anthropic answer stopped. */
static const char *
mockwire_anth_stop(const struct mockwire_answer *a)
{
	return a->t.capped ? "max_tokens" : a->tool_name != NULL ? "tool_use" : "end_turn";
}

/* The tool_use content block of an answer: its start, the input as one
 * input_json_delta, its stop (index 1, after the text). */
static void
mockwire_stream_tool(struct mockwire_events *l, const struct mockwire_answer *a)
{
	char *id = mockwire_make_id("toolu_01", 22, base62);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_start");
	cJSON_AddNumberToObject(o, "index", 1);
	cJSON *cb = cJSON_AddObjectToObject(o, "content_block");
	cJSON_AddStringToObject(cb, "type", "tool_use");
	cJSON_AddStringToObject(cb, "id", id);
	cJSON_AddStringToObject(cb, "name", a->tool_name);
	cJSON_AddObjectToObject(cb, "input");
	free(id);
	mockwire_sse(l, "content_block_start", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_delta");
	cJSON_AddNumberToObject(o, "index", 1);
	cJSON *d = cJSON_AddObjectToObject(o, "delta");
	cJSON_AddStringToObject(d, "type", "input_json_delta");
	cJSON_AddStringToObject(d, "partial_json", a->tool_input != NULL ? a->tool_input : "{}");
	mockwire_sse(l, "content_block_delta", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_stop");
	cJSON_AddNumberToObject(o, "index", 1);
	mockwire_sse(l, "content_block_stop", o);
}

/* Anthropic stream; start_idx and final_idx: the events carrying usage. */
static void
mockwire_stream_anthropic(struct mockwire_events *l, const struct mockwire_answer *a,
    size_t *start_idx, size_t *final_idx)
{
	const struct mockwire_toks *t = &a->t;
	char *id = mockwire_make_id("msg_01", 22, base62);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "message_start");
	cJSON_AddItemToObject(o, "message", mockwire_anth_message(id, a->model, NULL, NULL,
	    mockwire_anth_usage(t, t->out > 0 ? 1 : 0, 1)));
	free(id);
	*start_idx = l->n;
	mockwire_sse(l, "message_start", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_start");
	cJSON_AddNumberToObject(o, "index", 0);
	cJSON *cb = cJSON_AddObjectToObject(o, "content_block");
	cJSON_AddStringToObject(cb, "type", "text");
	cJSON_AddStringToObject(cb, "text", "");
	mockwire_sse(l, "content_block_start", o);
	mockwire_anth_ping(l);
	for (int i = 0; i < t->chunks; i++) {
		if (i > 0 && a->ping_every > 0 && i % a->ping_every == 0)
			mockwire_anth_ping(l);
		char *txt = mockwire_chunk_text(a->text, i, t->chunks);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "content_block_delta");
		cJSON_AddNumberToObject(o, "index", 0);
		cJSON *d = cJSON_AddObjectToObject(o, "delta");
		cJSON_AddStringToObject(d, "type", "text_delta");
		cJSON_AddStringToObject(d, "text", txt);
		free(txt);
		mockwire_sse(l, "content_block_delta", o);
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_stop");
	cJSON_AddNumberToObject(o, "index", 0);
	mockwire_sse(l, "content_block_stop", o);
	if (a->tool_name != NULL && !t->capped)
		mockwire_stream_tool(l, a);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "message_delta");
	cJSON *d = cJSON_AddObjectToObject(o, "delta");
	cJSON_AddStringToObject(d, "stop_reason", mockwire_anth_stop(a));
	cJSON_AddNullToObject(d, "stop_sequence");
	cJSON_AddItemToObject(o, "usage", mockwire_anth_usage(t, t->out, 0));
	*final_idx = l->n;
	mockwire_sse(l, "message_delta", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "message_stop");
	mockwire_sse(l, "message_stop", o);
}

static void
mockwire_stream_chat(struct mockwire_events *l, const struct mockwire_answer *a, size_t *final_idx)
{
	const struct mockwire_toks *t = &a->t;
	int usage = a->usage_chunk;
	char *id = mockwire_make_id("chatcmpl-", 29, base62);
	long created = (long)time(NULL);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	cJSON_AddNullToObject(d, "refusal");
	mockwire_sse(l, NULL, mockwire_chat_chunk(id, a->model, created, d, NULL, usage));
	for (int i = 0; i < t->chunks; i++) {
		char *txt = mockwire_chunk_text(a->text, i, t->chunks);
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "content", txt);
		free(txt);
		mockwire_sse(l, NULL, mockwire_chat_chunk(id, a->model, created, d, NULL, usage));
	}
	mockwire_sse(l, NULL, mockwire_chat_chunk(id, a->model, created, cJSON_CreateObject(),
	    t->capped ? "length" : "stop", usage));
	*final_idx = SIZE_MAX;
	if (usage) {
		cJSON *o = mockwire_chat_base(id, "chat.completion.chunk", a->model, created);
		cJSON_AddArrayToObject(o, "choices");
		cJSON_AddItemToObject(o, "usage", mockwire_chat_usage(t));
		*final_idx = l->n;
		mockwire_sse(l, NULL, o);
	}
	mockwire_events_add(l, xstrdup("data: [DONE]\n\n"));
	free(id);
}

static cJSON *
mockwire_resp_event(const char *type, size_t seq)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddNumberToObject(o, "sequence_number", (double)seq);
	return o;
}

static void
mockwire_resp_event_ids(cJSON *o, const char *item_id, int with_content)
{
	cJSON_AddStringToObject(o, "item_id", item_id);
	cJSON_AddNumberToObject(o, "output_index", 0);
	if (with_content)
		cJSON_AddNumberToObject(o, "content_index", 0);
}

static cJSON *
mockwire_resp_part(const char *text)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "output_text");
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddArrayToObject(p, "annotations");
	return p;
}

static void
mockwire_stream_responses(struct mockwire_events *l, const struct mockwire_answer *a,
    size_t *final_idx)
{
	const struct mockwire_toks *t = &a->t;
	char *id = mockwire_make_id("resp_", 48, hex);
	char *item = mockwire_make_id("msg_", 48, hex);
	char *text = mockwire_full_text(a->text, t->chunks);
	long created = (long)time(NULL);
	const char *fin = t->capped ? "incomplete" : "completed";
	cJSON *o = mockwire_resp_event("response.created", l->n);
	cJSON_AddItemToObject(o, "response", mockwire_resp_object(id, item, a->model, created,
	    "in_progress", NULL, NULL, a->max_tokens));
	mockwire_sse(l, "response.created", o);
	o = mockwire_resp_event("response.in_progress", l->n);
	cJSON_AddItemToObject(o, "response", mockwire_resp_object(id, item, a->model, created,
	    "in_progress", NULL, NULL, a->max_tokens));
	mockwire_sse(l, "response.in_progress", o);
	o = mockwire_resp_event("response.output_item.added", l->n);
	cJSON_AddNumberToObject(o, "output_index", 0);
	cJSON_AddItemToObject(o, "item", mockwire_resp_item(item, "in_progress", NULL));
	mockwire_sse(l, "response.output_item.added", o);
	o = mockwire_resp_event("response.content_part.added", l->n);
	mockwire_resp_event_ids(o, item, 1);
	cJSON_AddItemToObject(o, "part", mockwire_resp_part(""));
	mockwire_sse(l, "response.content_part.added", o);
	for (int i = 0; i < t->chunks; i++) {
		char *txt = mockwire_chunk_text(a->text, i, t->chunks);
		o = mockwire_resp_event("response.output_text.delta", l->n);
		mockwire_resp_event_ids(o, item, 1);
		cJSON_AddStringToObject(o, "delta", txt);
		cJSON_AddArrayToObject(o, "logprobs");
		free(txt);
		mockwire_sse(l, "response.output_text.delta", o);
	}
	o = mockwire_resp_event("response.output_text.done", l->n);
	mockwire_resp_event_ids(o, item, 1);
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddArrayToObject(o, "logprobs");
	mockwire_sse(l, "response.output_text.done", o);
	o = mockwire_resp_event("response.content_part.done", l->n);
	mockwire_resp_event_ids(o, item, 1);
	cJSON_AddItemToObject(o, "part", mockwire_resp_part(text));
	mockwire_sse(l, "response.content_part.done", o);
	o = mockwire_resp_event("response.output_item.done", l->n);
	cJSON_AddNumberToObject(o, "output_index", 0);
	cJSON_AddItemToObject(o, "item", mockwire_resp_item(item, fin, text));
	mockwire_sse(l, "response.output_item.done", o);
	char *name = xasprintf("response.%s", fin);
	o = mockwire_resp_event(name, l->n);
	cJSON_AddItemToObject(o, "response", mockwire_resp_object(id, item, a->model, created, fin,
	    text, t, a->max_tokens));
	*final_idx = l->n;
	mockwire_sse(l, name, o);
	free(name);
	free(text);
	free(item);
	free(id);
}

/* The tool_use block of an answer that is not streamed. */
static void
mockwire_body_tool(cJSON *content, const struct mockwire_answer *a)
{
	char *id = mockwire_make_id("toolu_01", 22, base62);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "tool_use");
	cJSON_AddStringToObject(b, "id", id);
	cJSON_AddStringToObject(b, "name", a->tool_name);
	cJSON *in = a->tool_input != NULL ? cJSON_Parse(a->tool_input) : NULL;
	cJSON_AddItemToObject(b, "input", in != NULL ? in : cJSON_CreateObject());
	cJSON_AddItemToArray(content, b);
	free(id);
}

static int
mockwire_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
mockwire_request_shape(const char *body, size_t len, cJSON *log)
{
	cJSON *root = body != NULL ? cJSON_ParseWithLength(body, len) : NULL;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return;
	}
	const char *keys[64];
	int n = 0, tools = 0, deferred = 0, scopes = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
		if (n < 64)
			keys[n++] = it->string;
	qsort(keys, (size_t)n, sizeof keys[0], mockwire_strcmp);
	cJSON_AddItemToObject(log, "body_keys", cJSON_CreateStringArray(keys, n));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "tools")) {
		tools++;
		deferred += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "defer_loading"));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "system")) {
		const cJSON *cc = cJSON_GetObjectItemCaseSensitive(it, "cache_control");
		scopes += cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cc, "scope"));
	}
	cJSON_AddNumberToObject(log, "tools", tools);
	cJSON_AddNumberToObject(log, "deferred_tools", deferred);
	cJSON_AddNumberToObject(log, "cache_scopes", scopes);
	cJSON_Delete(root);
}

cJSON *
mockwire_body(const struct mockwire_answer *a)
{
	const struct mockwire_toks *t = &a->t;
	char *text = mockwire_full_text(a->text, t->chunks);
	cJSON *o;
	if (a->ep == MOCKWIRE_MESSAGES) {
		char *id = mockwire_make_id("msg_01", 22, base62);
		o = mockwire_anth_message(id, a->model, text, mockwire_anth_stop(a),
		    mockwire_anth_usage(t, t->out, 1));
		free(id);
		if (a->tool_name != NULL && !t->capped)
			mockwire_body_tool(cJSON_GetObjectItemCaseSensitive(o, "content"), a);
	} else if (a->ep == MOCKWIRE_CHAT) {
		char *id = mockwire_make_id("chatcmpl-", 29, base62);
		o = mockwire_chat_base(id, "chat.completion", a->model, (long)time(NULL));
		cJSON *choices = cJSON_AddArrayToObject(o, "choices");
		cJSON *ch = cJSON_CreateObject();
		cJSON_AddNumberToObject(ch, "index", 0);
		cJSON *msg = cJSON_AddObjectToObject(ch, "message");
		cJSON_AddStringToObject(msg, "role", "assistant");
		cJSON_AddStringToObject(msg, "content", text);
		cJSON_AddNullToObject(msg, "refusal");
		cJSON_AddNullToObject(ch, "logprobs");
		cJSON_AddStringToObject(ch, "finish_reason", t->capped ? "length" : "stop");
		cJSON_AddItemToArray(choices, ch);
		cJSON_AddItemToObject(o, "usage", mockwire_chat_usage(t));
		free(id);
	} else {
		char *id = mockwire_make_id("resp_", 48, hex), *item = mockwire_make_id("msg_", 48, hex);
		o = mockwire_resp_object(id, item, a->model, (long)time(NULL),
		    t->capped ? "incomplete" : "completed", text, t, a->max_tokens);
		free(id);
		free(item);
	}
	free(text);
	return o;
}

cJSON *
mockwire_models(const cJSON *ids)
{
	static const char *const builtin[] = { "claude-opus-4-7", "claude-sonnet-4-6",
		"claude-haiku-4-5", "gpt-5.5" };
	cJSON *o = cJSON_CreateObject();
	cJSON *data = cJSON_AddArrayToObject(o, "data");
	size_t n = ids != NULL ? (size_t)cJSON_GetArraySize(ids) : UTIL_ARRAY_LEN(builtin);
	const char *first = NULL, *last = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *id = ids != NULL ? cJSON_GetArrayItem(ids, (int)i)->valuestring :
		    builtin[i];
		/* A superset of the Anthropic and OpenAI list entry shapes. */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "model");
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "display_name", id);
		cJSON_AddStringToObject(e, "created_at", "2026-01-01T00:00:00Z");
		cJSON_AddStringToObject(e, "object", "model");
		cJSON_AddNumberToObject(e, "created", 1767225600);
		cJSON_AddStringToObject(e, "owned_by", strncmp(id, "claude", 6) == 0 ?
		    "anthropic" : "openai");
		cJSON_AddItemToArray(data, e);
		if (first == NULL)
			first = id;
		last = id;
	}
	cJSON_AddBoolToObject(o, "has_more", 0);
	if (first != NULL) {
		cJSON_AddStringToObject(o, "first_id", first);
		cJSON_AddStringToObject(o, "last_id", last);
	} else {
		cJSON_AddNullToObject(o, "first_id");
		cJSON_AddNullToObject(o, "last_id");
	}
	cJSON_AddStringToObject(o, "object", "list");
	return o;
}

int
mockwire_read_request(const char *body, size_t len, struct mockwire_request *rq)
{
	memset(rq, 0, sizeof *rq);
	cJSON *o = cJSON_ParseWithLength(body ? body : "", len);
	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "model");
	if (cJSON_IsString(v)) {
		snprintf(rq->model, sizeof(rq->model), "%s", v->valuestring);
		rq->has_model = 1;
	}
	rq->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stream"));
	const char *mt_keys[] = { "max_tokens", "max_completion_tokens", "max_output_tokens" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(mt_keys); i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, mt_keys[i]);
		if (cJSON_IsNumber(v) && v->valuedouble >= 1)
			rq->max_tokens = (int64_t)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "stream_options");
	rq->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "include_usage"));
	cJSON_Delete(o);
	return 0;
}

cJSON *
mockwire_error(enum mockwire_endpoint ep, int status, int spend, const char *message,
    const char *request_id)
{
	int openai = mockwire_is_openai(ep);
	spend = spend && status == 429;
	if (message == NULL)
		message = mockwire_default_message(status, spend, openai);
	if (!openai)
		return mockwire_anth_error(mockwire_anth_error_type(status), message, request_id);
	const char *type = status == 429 ? (spend ? "insufficient_quota" : "requests")
	    : status >= 500 ? "server_error" : "invalid_request_error";
	const char *code = status == 429 ? (spend ? "insufficient_quota" :
	    "rate_limit_exceeded") : NULL;
	return mockwire_openai_error(type, message, code);
}

char *
mockwire_request_id(enum mockwire_endpoint ep)
{
	return mockwire_is_openai(ep) ? mockwire_make_id("req_", 32, hex) :
	    mockwire_make_id("req_011C", 20, base62);
}

void
mockwire_stream(struct mockwire_events *l, const struct mockwire_answer *a, size_t *start_idx,
    size_t *final_idx)
{
	*start_idx = *final_idx = SIZE_MAX;
	if (a->ep == MOCKWIRE_MESSAGES)
		mockwire_stream_anthropic(l, a, start_idx, final_idx);
	else if (a->ep == MOCKWIRE_CHAT)
		mockwire_stream_chat(l, a, final_idx);
	else
		mockwire_stream_responses(l, a, final_idx);
}
