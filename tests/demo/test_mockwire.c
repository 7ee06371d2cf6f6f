/*
 * Unit tests for mockwire, the mock provider's wire formats, without a
 * server: the endpoint table, reading a request, the stream and body shapes
 * of each API, error bodies and the reset formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "demo/mockwire.h"
#include "util.h"

static void
test_endpoints(void **state)
{
	(void)state;
	assert_int_equal(mockwire_endpoint("/v1/messages"), MOCKWIRE_MESSAGES);
	assert_int_equal(mockwire_endpoint("/messages/"), MOCKWIRE_MESSAGES);
	assert_int_equal(mockwire_endpoint("/v1/messages/count_tokens"), MOCKWIRE_COUNT);
	assert_int_equal(mockwire_endpoint("/v1/chat/completions"), MOCKWIRE_CHAT);
	assert_int_equal(mockwire_endpoint("/v1/responses"), MOCKWIRE_RESPONSES);
	assert_int_equal(mockwire_endpoint("/v1/models"), MOCKWIRE_MODELS);
	assert_int_equal(mockwire_endpoint("/v1"), MOCKWIRE_ROOT);
	assert_int_equal(mockwire_endpoint("/"), MOCKWIRE_ROOT);
	assert_int_equal(mockwire_endpoint("/v2/messages"), MOCKWIRE_UNKNOWN);
	assert_int_equal(mockwire_endpoint("/v1messages"), MOCKWIRE_UNKNOWN);
	assert_string_equal(mockwire_method(MOCKWIRE_MESSAGES), "POST");
	assert_string_equal(mockwire_method(MOCKWIRE_MODELS), "GET");
	assert_null(mockwire_method(MOCKWIRE_UNKNOWN));
	assert_true(mockwire_is_call(MOCKWIRE_RESPONSES));
	assert_false(mockwire_is_call(MOCKWIRE_COUNT));
	assert_true(mockwire_is_openai(MOCKWIRE_CHAT));
	assert_false(mockwire_is_openai(MOCKWIRE_MESSAGES));
}

static void
test_read_request(void **state)
{
	(void)state;
	struct mockwire_request rq;
	const char *b = "{\"model\":\"gpt-5.5\",\"stream\":true,\"max_completion_tokens\":40,"
	    "\"stream_options\":{\"include_usage\":true}}";
	assert_int_equal(mockwire_read_request(b, strlen(b), &rq), 0);
	assert_string_equal(rq.model, "gpt-5.5");
	assert_true(rq.has_model && rq.stream && rq.include_usage);
	assert_int_equal(rq.max_tokens, 40);
	assert_int_equal(mockwire_read_request("{}", 2, &rq), 0);
	assert_false(rq.has_model || rq.stream);
	assert_int_equal(mockwire_read_request("nope", 4, &rq), -1);
	assert_int_equal(mockwire_read_request("[1]", 3, &rq), -1);
	assert_int_equal(mockwire_read_request(NULL, 0, &rq), -1);
}

/* The JSON data of SSE event i ("event: X\ndata: {...}\n\n"). */
static cJSON *
event_json(const struct mockwire_events *l, size_t i)
{
	const char *d = strstr(l->v[i], "data: ");
	assert_non_null(d);
	return cJSON_Parse(d + 6);
}

static void
events_free(struct mockwire_events *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
test_streams(void **state)
{
	(void)state;
	struct mockwire_answer a = { .ep = MOCKWIRE_MESSAGES, .model = "claude-x", .text = "abcdef",
		.t = { .in = 10, .out = 6, .chunks = 3 }, .ping_every = 0 };
	struct mockwire_events l = { 0 };
	size_t start, final;
	mockwire_stream(&l, &a, &start, &final);
	/* message_start, content_block_start, ping, 3 deltas, block stop, delta, stop */
	assert_int_equal(l.n, 9);
	assert_int_equal(start, 0);
	assert_int_equal(final, 7);
	assert_non_null(strstr(l.v[0], "event: message_start\n"));
	assert_non_null(strstr(l.v[8], "event: message_stop\n"));
	cJSON *o = event_json(&l, final);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "usage"), "output_tokens")
	    ->valueint, 6);
	cJSON_Delete(o);
	mockwire_stream_error(&l, MOCKWIRE_MESSAGES, NULL);
	assert_non_null(strstr(l.v[9], "event: error\n"));
	assert_non_null(strstr(l.v[9], "\"overloaded_error\""));
	events_free(&l);

	/* chat: the usage chunk only when asked for, then [DONE] */
	struct mockwire_events c = { 0 };
	a.ep = MOCKWIRE_CHAT;
	mockwire_stream(&c, &a, &start, &final);
	assert_int_equal(final, SIZE_MAX);
	assert_string_equal(c.v[c.n - 1], "data: [DONE]\n\n");
	events_free(&c);
	struct mockwire_events u = { 0 };
	a.usage_chunk = 1;
	mockwire_stream(&u, &a, &start, &final);
	assert_int_equal(final, u.n - 2);
	o = event_json(&u, final);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "usage"), "total_tokens")
	    ->valueint, 16);
	cJSON_Delete(o);
	events_free(&u);
}

static void
test_bodies(void **state)
{
	(void)state;
	struct mockwire_answer a = { .ep = MOCKWIRE_RESPONSES, .model = "gpt-5.5", .text = "hi",
		.t = { .in = 3, .out = 2, .chunks = 1, .capped = 1 }, .max_tokens = 2 };
	cJSON *o = mockwire_body(&a);
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "incomplete");
	assert_int_equal(cJSON_GetObjectItem(o, "max_output_tokens")->valueint, 2);
	cJSON_Delete(o);
	o = mockwire_error(MOCKWIRE_MESSAGES, 529, 0, NULL, "req_1");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"), "type")
	    ->valuestring, "overloaded_error");
	assert_string_equal(cJSON_GetObjectItem(o, "request_id")->valuestring, "req_1");
	cJSON_Delete(o);
	o = mockwire_error(MOCKWIRE_CHAT, 429, 1, NULL, NULL);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"), "code")
	    ->valuestring, "insufficient_quota");
	cJSON_Delete(o);
	cJSON *ids = cJSON_Parse("[\"m1\",\"m2\"]");
	o = mockwire_models(ids);
	assert_string_equal(cJSON_GetObjectItem(o, "last_id")->valuestring, "m2");
	cJSON_Delete(o);
	cJSON_Delete(ids);
	char *id = mockwire_request_id(MOCKWIRE_CHAT);
	assert_int_equal(strncmp(id, "req_", 4), 0);
	assert_int_equal(strlen(id), 4 + 32);
	free(id);
}

static void
test_formats(void **state)
{
	(void)state;
	char b[40];
	mockwire_go_duration(250, b, sizeof b);
	assert_string_equal(b, "250ms");
	mockwire_go_duration(90000, b, sizeof b);
	assert_string_equal(b, "1m30s");
	mockwire_go_duration(3723500, b, sizeof b);
	assert_string_equal(b, "1h2m3.5s");
	mockwire_go_duration(-5, b, sizeof b);
	assert_string_equal(b, "0ms");
	mockwire_rfc3339(0.25, 1, b, sizeof b);
	assert_string_equal(b, "1970-01-01T00:00:00.250Z");
	mockwire_rfc3339(86400, 0, b, sizeof b);
	assert_string_equal(b, "1970-01-02T00:00:00Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_read_request),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_formats),
	};
	return cmocka_run_group_tests_name("mockwire", tests, NULL, NULL);
}
