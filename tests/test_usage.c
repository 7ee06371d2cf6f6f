/*
 * Tests for usage: recorded-style fixtures in tests/fixtures, each fed
 * whole, byte by byte and in seeded random chunkings, with LF, CRLF and CR
 * line ends; all must give the same result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "usage.h"
#include "util.h"

#define FIXTURES "tests/fixtures/"

static char *
load(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURES "%s", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	struct buf b = { 0 };
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return b.data;
}

/* Rewrite LF line ends as CRLF (mode 1) or CR (mode 2). */
static char *
convert_eol(const char *s, size_t len, int mode, size_t *outlen)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && mode == 1)
			buf_append(&b, "\r\n", 2);
		else if (s[i] == '\n' && mode == 2)
			buf_append(&b, "\r", 1);
		else
			buf_append(&b, &s[i], 1);
	}
	*outlen = b.len;
	return b.data;
}

/* chunk: 0 whole, 1 byte by byte, else random chunks seeded by chunk. */
static void
run(enum api_kind kind, int streaming, const char *data, size_t len, int chunk,
    struct usage *out, int *content)
{
	usage_parser_t *p = usage_parser_new(kind, streaming);
	if (chunk == 0) {
		usage_parser_feed(p, data, len);
	} else if (chunk == 1) {
		for (size_t i = 0; i < len; i++)
			usage_parser_feed(p, data + i, 1);
	} else {
		unsigned seed = (unsigned)chunk;
		size_t i = 0;
		while (i < len) {
			size_t n = 1 + (size_t)(rand_r(&seed) % 97);
			if (n > len - i)
				n = len - i;
			usage_parser_feed(p, data + i, n);
			i += n;
		}
	}
	usage_parser_result(p, out);
	*content = usage_parser_saw_content(p);
	usage_parser_free(p);
}

static void
assert_same(const struct usage *a, const struct usage *b)
{
	assert_int_equal(a->input_tokens, b->input_tokens);
	assert_int_equal(a->output_tokens, b->output_tokens);
	assert_int_equal(a->cache_read_tokens, b->cache_read_tokens);
	assert_int_equal(a->cache_write_5m_tokens, b->cache_write_5m_tokens);
	assert_int_equal(a->cache_write_1h_tokens, b->cache_write_1h_tokens);
	assert_int_equal(a->reasoning_tokens, b->reasoning_tokens);
	assert_int_equal(a->web_search_requests, b->web_search_requests);
	assert_string_equal(a->model, b->model);
	assert_string_equal(a->request_id, b->request_id);
	assert_int_equal(a->has_usage, b->has_usage);
	assert_int_equal(a->complete, b->complete);
	assert_string_equal(a->error_type, b->error_type);
	assert_int_equal(a->error_before_content, b->error_before_content);
	assert_string_equal(a->stop_reason, b->stop_reason);
}

/* Parse a fixture in every chunking (and line-end style for SSE); check
 * all agree and return the result. */
static void
parse_fixture(const char *name, enum api_kind kind, int streaming, struct usage *out,
    int *content)
{
	size_t len;
	char *raw = load(name, &len);
	run(kind, streaming, raw, len, 0, out, content);
	for (int mode = 0; mode < (streaming ? 3 : 1); mode++) {
		size_t clen;
		char *conv = convert_eol(raw, len, mode, &clen);
		int chunks[] = { 0, 1, 2, 3, 17, 1234, 99991 };
		for (size_t i = 0; i < UTIL_ARRAY_LEN(chunks); i++) {
			struct usage u;
			int c;
			run(kind, streaming, conv, clen, chunks[i], &u, &c);
			assert_same(out, &u);
			assert_int_equal(*content, c);
		}
		free(conv);
	}
	free(raw);
}

static void
test_anthropic_stream(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_stream.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_int_equal(u.input_tokens, 25);
	/* cumulative message_delta: 7 then 15 -> 15, not 1+7+15 */
	assert_int_equal(u.output_tokens, 15);
	assert_int_equal(u.cache_read_tokens, 2000);
	assert_int_equal(u.cache_write_5m_tokens, 1000);
	assert_int_equal(u.cache_write_1h_tokens, 2000);
	assert_int_equal(u.web_search_requests, 2);
	assert_string_equal(u.model, "claude-sonnet-4-5-20250929");
	assert_string_equal(u.request_id, "msg_01XFDUDYJgAACzvnptvVoYEL");
	assert_true(u.has_usage);
	assert_true(u.complete);
	/* the escaped "event: error" inside a text delta is not an event */
	assert_string_equal(u.error_type, "");
	assert_true(content);
	assert_int_equal(usage_total_tokens(&u), 25 + 15 + 2000 + 1000 + 2000);
}

static void
test_anthropic_thinking_no_start_usage(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_thinking.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_int_equal(u.input_tokens, 52);
	assert_int_equal(u.output_tokens, 289);
	assert_int_equal(u.reasoning_tokens, 201);
	assert_int_equal(u.cache_write_5m_tokens + u.cache_write_1h_tokens, 0);
	assert_string_equal(u.model, "claude-opus-4-1-20250805");
	assert_true(u.complete);
}

static void
test_anthropic_overloaded_mid_stream(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_overloaded.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_string_equal(u.error_type, "overloaded_error");
	assert_false(u.error_before_content);
	assert_true(content);
	assert_int_equal(u.input_tokens, 1200);
	assert_int_equal(u.cache_read_tokens, 48000);
	assert_int_equal(u.output_tokens, 2);
	assert_true(u.has_usage);
	assert_false(u.complete);

	parse_fixture("anthropic_overloaded_early.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_string_equal(u.error_type, "overloaded_error");
	assert_true(u.error_before_content);
	assert_false(content);
	assert_int_equal(u.input_tokens, 300);
}

static void
test_anthropic_truncated(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_truncated.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_true(u.has_usage);
	assert_false(u.complete);
	assert_int_equal(u.input_tokens, 410);
	assert_int_equal(u.output_tokens, 1);
	/* no cache_creation split: all writes are 5m */
	assert_int_equal(u.cache_write_5m_tokens, 512);
	assert_int_equal(u.cache_write_1h_tokens, 0);
	assert_string_equal(u.model, "claude-haiku-4-5-20251001");
	assert_string_equal(u.error_type, "");
	assert_true(content);
}

static void
test_anthropic_cache_change(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_cache_change.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	/* start: 1000 5m + 3000 1h = 4000; delta says 5000: the extra 1000 is 5m */
	assert_int_equal(u.cache_write_1h_tokens, 3000);
	assert_int_equal(u.cache_write_5m_tokens, 2000);
	assert_int_equal(u.input_tokens, 10);
	assert_int_equal(u.output_tokens, 40);
}

static void
test_anthropic_malformed(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_malformed.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	/* multi-line data: joined message_start still parses */
	assert_int_equal(u.input_tokens, 100);
	assert_int_equal(u.cache_read_tokens, 20);
	/* broken deltas, unknown events, non-numbers ignored; last delta wins */
	assert_int_equal(u.output_tokens, 33);
	assert_string_equal(u.model, "claude-sonnet-4-5");
	assert_true(u.complete);
}

static void
test_anthropic_json(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_message.json", API_ANTHROPIC_MESSAGES, 0, &u, &content);
	assert_int_equal(u.input_tokens, 2095);
	assert_int_equal(u.output_tokens, 503);
	assert_int_equal(u.cache_write_1h_tokens, 2051);
	assert_int_equal(u.cache_write_5m_tokens, 0);
	assert_int_equal(u.web_search_requests, 1);
	assert_string_equal(u.model, "claude-3-5-haiku-20241022");
	assert_string_equal(u.request_id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
	assert_true(u.complete);
	assert_true(content);

	parse_fixture("anthropic_error.json", API_ANTHROPIC_MESSAGES, 0, &u, &content);
	assert_string_equal(u.error_type, "overloaded_error");
	assert_true(u.error_before_content);
	assert_false(u.has_usage);

	/* a JSON error body handed to a streaming parser is still read */
	parse_fixture("anthropic_error.json", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_string_equal(u.error_type, "overloaded_error");
}

/* Why the model stopped: the agent's turn is over, or it asked for a tool
 * (the gateway's truth about a pane's state). */
static void
test_stop_reason(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("anthropic_stream.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_string_equal(u.stop_reason, "end_turn");
	assert_int_equal(usage_stop_kind(u.stop_reason), USAGE_STOP_END);
	parse_fixture("anthropic_tool_use.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_string_equal(u.stop_reason, "tool_use");
	assert_int_equal(usage_stop_kind(u.stop_reason), USAGE_STOP_TOOL);
	assert_int_equal(u.output_tokens, 22);
	parse_fixture("anthropic_message.json", API_ANTHROPIC_MESSAGES, 0, &u, &content);
	assert_string_equal(u.stop_reason, "end_turn");
	/* a stream cut before message_delta has no stop reason */
	parse_fixture("anthropic_truncated.sse", API_ANTHROPIC_MESSAGES, 1, &u, &content);
	assert_string_equal(u.stop_reason, "");
	assert_int_equal(usage_stop_kind(u.stop_reason), USAGE_STOP_NONE);
	parse_fixture("openai_chat.sse", API_OPENAI_CHAT, 1, &u, &content);
	assert_string_equal(u.stop_reason, "stop");
	parse_fixture("openai_chat.json", API_OPENAI_CHAT, 0, &u, &content);
	assert_string_equal(u.stop_reason, "stop");
	parse_fixture("openai_responses.sse", API_OPENAI_RESPONSES, 1, &u, &content);
	assert_string_equal(u.stop_reason, "completed");
	assert_int_equal(usage_stop_kind(u.stop_reason), USAGE_STOP_END);
	parse_fixture("openai_responses.json", API_OPENAI_RESPONSES, 0, &u, &content);
	assert_string_equal(u.stop_reason, "completed");
	/* a function call in the stream (the final output list is empty) */
	parse_fixture("openai_responses_tool.sse", API_OPENAI_RESPONSES, 1, &u, &content);
	assert_string_equal(u.stop_reason, "tool_calls");
	assert_int_equal(usage_stop_kind(u.stop_reason), USAGE_STOP_TOOL);
	assert_int_equal(u.input_tokens, 300);
	/* a chat tool call, whole */
	const char *chat = "{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\"}]},"
	    "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,"
	    "\"completion_tokens\":2}}";
	int c;
	run(API_OPENAI_CHAT, 0, chat, strlen(chat), 0, &u, &c);
	assert_string_equal(u.stop_reason, "tool_calls");
	assert_int_equal(usage_stop_kind("tool_calls"), USAGE_STOP_TOOL);
	assert_int_equal(usage_stop_kind("max_tokens"), USAGE_STOP_LIMIT);
	assert_int_equal(usage_stop_kind("length"), USAGE_STOP_LIMIT);
	assert_int_equal(usage_stop_kind("pause_turn"), USAGE_STOP_OTHER);
	assert_int_equal(usage_stop_kind(NULL), USAGE_STOP_NONE);
}

static void
test_count_tokens_not_metered(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("count_tokens.json", API_ANTHROPIC_COUNT_TOKENS, 0, &u, &content);
	assert_false(u.has_usage);
	assert_int_equal(usage_total_tokens(&u), 0);
	/* even a message-shaped body is not metered on count_tokens */
	parse_fixture("anthropic_message.json", API_ANTHROPIC_COUNT_TOKENS, 0, &u, &content);
	assert_false(u.has_usage);
	assert_int_equal(usage_total_tokens(&u), 0);
}

static void
test_openai_chat(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("openai_chat.sse", API_OPENAI_CHAT, 1, &u, &content);
	assert_int_equal(u.input_tokens, 1523 - 1024);
	assert_int_equal(u.cache_read_tokens, 1024);
	assert_int_equal(u.output_tokens, 212);
	assert_int_equal(u.reasoning_tokens, 64);
	assert_string_equal(u.model, "gpt-4.1-mini-2025-04-14");
	assert_string_equal(u.request_id, "chatcmpl-C9abc");
	assert_true(u.complete);
	assert_true(content);

	parse_fixture("openai_chat.json", API_OPENAI_CHAT, 0, &u, &content);
	assert_int_equal(u.input_tokens, 1117);
	assert_int_equal(u.cache_read_tokens, 0);
	assert_int_equal(u.output_tokens, 46);
	assert_string_equal(u.model, "gpt-4o-2024-08-06");
	assert_true(u.complete);
	assert_true(content);
}

/* Usage figures that are not token counts: read as 0, and flagged so the
 * request is charged a conservative figure instead of nothing. */
static void
test_malformed_figures(void **state)
{
	(void)state;
	struct usage u;
	usage_parser_t *p = usage_parser_new(API_ANTHROPIC_MESSAGES, 0);
	const char *body = "{\"type\":\"message\",\"model\":\"m\",\"content\":[],\"usage\":"
	    "{\"input_tokens\":10,\"output_tokens\":\"250\"}}";
	usage_parser_feed(p, body, strlen(body));
	usage_parser_result(p, &u);
	assert_true(u.has_usage);
	assert_int_equal(u.input_tokens, 10);
	assert_int_equal(u.output_tokens, 0);
	assert_int_equal(u.malformed, USAGE_BAD_OUTPUT);
	usage_parser_free(p);
	p = usage_parser_new(API_OPENAI_CHAT, 0);
	body = "{\"object\":\"chat.completion\",\"choices\":[],\"usage\":{\"prompt_tokens\":-5,"
	    "\"completion_tokens\":3.5}}";
	usage_parser_feed(p, body, strlen(body));
	usage_parser_result(p, &u);
	assert_int_equal(u.malformed, USAGE_BAD_INPUT | USAGE_BAD_OUTPUT);
	usage_parser_free(p);
	p = usage_parser_new(API_OPENAI_RESPONSES, 0);
	body = "{\"object\":\"response\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7,"
	    "\"input_tokens_details\":{\"cached_tokens\":null}}}";
	usage_parser_feed(p, body, strlen(body));
	usage_parser_result(p, &u);
	assert_int_equal(u.malformed, 0);   /* null is absent, not malformed */
	assert_int_equal(u.output_tokens, 7);
	usage_parser_free(p);
}

static void
test_openai_chat_interrupted(void **state)
{
	(void)state;
	size_t len;
	char *raw = load("openai_chat.sse", &len);
	/* cut before the usage chunk */
	const char *cut = strstr(raw, "data: {\"id\":\"chatcmpl-C9abc\",\"object\":\"chat.completion.chunk\",\"created\":1756000000,\"model\":\"gpt-4.1-mini-2025-04-14\",\"system_fingerprint\":\"fp_1\",\"choices\":[]");
	assert_non_null(cut);
	struct usage u;
	int content;
	run(API_OPENAI_CHAT, 1, raw, (size_t)(cut - raw), 0, &u, &content);
	assert_false(u.has_usage);
	assert_false(u.complete);
	assert_true(content);
	assert_string_equal(u.model, "gpt-4.1-mini-2025-04-14");
	free(raw);
}

static void
test_openai_responses(void **state)
{
	(void)state;
	struct usage u;
	int content;
	parse_fixture("openai_responses.sse", API_OPENAI_RESPONSES, 1, &u, &content);
	assert_int_equal(u.input_tokens, 12840 - 11776);
	assert_int_equal(u.cache_read_tokens, 11776);
	assert_int_equal(u.output_tokens, 930);
	assert_int_equal(u.reasoning_tokens, 768);
	assert_string_equal(u.model, "gpt-5-codex");
	assert_string_equal(u.request_id, "resp_68a1b2c3");
	assert_true(u.complete);
	assert_true(content);
	assert_string_equal(u.error_type, "");

	parse_fixture("openai_responses.json", API_OPENAI_RESPONSES, 0, &u, &content);
	assert_int_equal(u.input_tokens, 200);
	assert_int_equal(u.cache_read_tokens, 128);
	assert_int_equal(u.output_tokens, 52);
	assert_true(u.complete);

	parse_fixture("openai_responses_failed.sse", API_OPENAI_RESPONSES, 1, &u, &content);
	assert_string_equal(u.error_type, "server_error");
	assert_true(u.error_before_content);
	assert_int_equal(u.input_tokens, 90);
	assert_string_equal(u.model, "o4-mini");

	parse_fixture("openai_responses_error.sse", API_OPENAI_RESPONSES, 1, &u, &content);
	assert_string_equal(u.error_type, "rate_limit_exceeded");
	assert_false(u.has_usage);
	assert_string_equal(u.model, "gpt-5");
}

static void
test_garbage_never_crashes(void **state)
{
	(void)state;
	unsigned seed = 42;
	char junk[4096];
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			/* bias towards SSE-ish bytes */
			static const char alpha[] = "data: event:{}\"\r\n:,[]0123usage_type";
			junk[i] = (rand_r(&seed) & 1) ? alpha[rand_r(&seed) % (sizeof(alpha) - 1)]
			    : (char)rand_r(&seed);
		}
		for (int streaming = 0; streaming < 2; streaming++) {
			struct usage u;
			int c;
			run(API_UNKNOWN, streaming, junk, sizeof(junk), round + 2, &u, &c);
			assert_true(usage_total_tokens(&u) >= 0);
		}
	}
	/* empty input and NULL-safe feed */
	usage_parser_t *p = usage_parser_new(API_ANTHROPIC_MESSAGES, 1);
	usage_parser_feed(p, NULL, 0);
	usage_parser_feed(p, "", 0);
	struct usage u;
	usage_parser_result(p, &u);
	assert_false(u.has_usage);
	usage_parser_free(p);
	usage_parser_free(NULL);
}

static void
test_huge_line_dropped(void **state)
{
	(void)state;
	/* an over-long event is dropped but the stream goes on */
	usage_parser_t *p = usage_parser_new(API_ANTHROPIC_MESSAGES, 1);
	const char *start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
	    "{\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n";
	usage_parser_feed(p, start, strlen(start));
	usage_parser_feed(p, "data: \"", 7);
	char *big = xmalloc(1 << 20);
	memset(big, 'a', 1 << 20);
	for (int i = 0; i < 6; i++)
		usage_parser_feed(p, big, 1 << 20);
	free(big);
	const char *end = "\"\n\nevent: message_delta\ndata: {\"type\":\"message_delta\","
	    "\"usage\":{\"output_tokens\":9}}\n\n";
	usage_parser_feed(p, end, strlen(end));
	struct usage u;
	usage_parser_result(p, &u);
	assert_int_equal(u.input_tokens, 5);
	assert_int_equal(u.output_tokens, 9);
	assert_true(u.complete);
	usage_parser_free(p);
}

static void
test_api_for_path(void **state)
{
	(void)state;
	assert_int_equal(usage_api_for_path("/v1/messages"), API_ANTHROPIC_MESSAGES);
	assert_int_equal(usage_api_for_path("/v1/messages?beta=true"), API_ANTHROPIC_MESSAGES);
	assert_int_equal(usage_api_for_path("/messages"), API_ANTHROPIC_MESSAGES);
	assert_int_equal(usage_api_for_path("/v1/messages/count_tokens"), API_ANTHROPIC_COUNT_TOKENS);
	assert_int_equal(usage_api_for_path("/v1/messages/count_tokens?beta=true"),
	    API_ANTHROPIC_COUNT_TOKENS);
	assert_int_equal(usage_api_for_path("/messages/count_tokens"), API_ANTHROPIC_COUNT_TOKENS);
	assert_int_equal(usage_api_for_path("/v1/chat/completions"), API_OPENAI_CHAT);
	assert_int_equal(usage_api_for_path("/chat/completions"), API_OPENAI_CHAT);
	assert_int_equal(usage_api_for_path("/v1/responses"), API_OPENAI_RESPONSES);
	assert_int_equal(usage_api_for_path("/responses?x=1"), API_OPENAI_RESPONSES);
	assert_int_equal(usage_api_for_path("/v1/models"), API_UNKNOWN);
	assert_int_equal(usage_api_for_path("/"), API_UNKNOWN);
	assert_int_equal(usage_api_for_path(""), API_UNKNOWN);
	assert_int_equal(usage_api_for_path(NULL), API_UNKNOWN);
	assert_int_equal(usage_api_for_path("/v1/messagesX"), API_UNKNOWN);
	assert_int_equal(usage_api_for_path("/v2/messages"), API_UNKNOWN);
	assert_int_equal(usage_api_for_path("/v1/messages/batches"), API_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_anthropic_thinking_no_start_usage),
		cmocka_unit_test(test_anthropic_overloaded_mid_stream),
		cmocka_unit_test(test_anthropic_truncated),
		cmocka_unit_test(test_anthropic_cache_change),
		cmocka_unit_test(test_anthropic_malformed),
		cmocka_unit_test(test_anthropic_json),
		cmocka_unit_test(test_count_tokens_not_metered),
		cmocka_unit_test(test_stop_reason),
		cmocka_unit_test(test_openai_chat),
		cmocka_unit_test(test_malformed_figures),
		cmocka_unit_test(test_openai_chat_interrupted),
		cmocka_unit_test(test_openai_responses),
		cmocka_unit_test(test_garbage_never_crashes),
		cmocka_unit_test(test_huge_line_dropped),
		cmocka_unit_test(test_api_for_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
