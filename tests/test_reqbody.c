/*
 * Unit tests for reqbody: reading a request (model, output limits, choices,
 * thinking, images, 1-hour cache marks), what it refuses (duplicate keys,
 * case twins, bad limits, stored input), the input bound and its
 * tightening, rewriting the model and the output limit, and the two
 * verdicts on reply bodies (spend-limit 429, overloaded first event).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reqbody.h"
#include "util.h"

static int
read_s(const char *b, struct reqbody *rb)
{
	return reqbody_read(b, strlen(b), rb);
}

static void
test_read(void **state)
{
	struct reqbody rb;
	const char *b = "{\"model\":\"claude-x\",\"max_tokens\":12,\"messages\":[]}";
	assert_int_equal(read_s(b, &rb), REQBODY_OK);
	assert_int_equal(rb.object, 1);
	assert_int_equal(rb.len, strlen(b));
	assert_string_equal(rb.model, "claude-x");
	assert_int_equal(rb.max_tokens, 12);
	assert_int_equal(rb.limits, REQBODY_LIMIT_MAX_TOKENS);
	assert_int_equal(rb.choices, 1);
	assert_int_equal(rb.thinking_budget, -1);
	assert_int_equal(rb.images, 0);
	assert_int_equal(rb.bytes_1h, 0);
	/* OpenAI's names for the output limit; the largest counts; null is absent */
	assert_int_equal(read_s("{\"max_completion_tokens\":7,\"max_tokens\":null}", &rb), 0);
	assert_int_equal(rb.max_tokens, 7);
	assert_int_equal(rb.limits, REQBODY_LIMIT_COMPLETION);
	assert_string_equal(rb.model, "");
	assert_int_equal(read_s("{\"max_tokens\":10,\"max_output_tokens\":9,\"n\":3}", &rb), 0);
	assert_int_equal(rb.max_tokens, 10);
	assert_int_equal(rb.limits, REQBODY_LIMIT_MAX_TOKENS | REQBODY_LIMIT_OUTPUT);
	assert_int_equal(rb.choices, 3);
	assert_int_equal(read_s("{\"max_tokens\":1e3}", &rb), 0);   /* a whole number all the same */
	assert_int_equal(rb.max_tokens, 1000);
	assert_int_equal(read_s("{\"max_tokens\":5000000000}", &rb), 0);
	assert_int_equal(rb.max_tokens, REQBODY_MAX_LIMIT);
	/* thinking: its budget when enabled */
	assert_int_equal(read_s("{\"max_tokens\":32000,\"thinking\":{\"type\":\"enabled\","
	    "\"budget_tokens\":31999}}", &rb), 0);
	assert_int_equal(rb.thinking_budget, 31999);
	assert_int_equal(read_s("{\"thinking\":{\"type\":\"adaptive\"}}", &rb), 0);
	assert_int_equal(rb.thinking_budget, -1);
	/* images: Anthropic base64 and URL sources, OpenAI data: and http URLs, anywhere */
	b = "{\"messages\":[{\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"image/png\",\"data\":\"QUFB\"}},{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"data:image/jpeg;base64,QUFBQUFB\"}},"
	    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/y.png\"}},"
	    "{\"type\":\"tool_result\",\"content\":\"data:image/gif;base64,R0\"},"
	    "{\"type\":\"text\",\"text\":\"data:text/plain,no\"}]}]}";
	assert_int_equal(read_s(b, &rb), 0);
	assert_int_equal(rb.images, 4);
	assert_int_equal(rb.image_bytes, 4 + strlen("data:image/jpeg;base64,QUFBQUFB") +
	    strlen("data:image/gif;base64,R0"));
	/* not one JSON object */
	assert_int_equal(reqbody_read("[1]", 3, &rb), REQBODY_NOT_OBJECT);
	assert_int_equal(rb.object, 0);
	assert_int_equal(rb.len, 3);
	assert_int_equal(rb.max_tokens, -1);
	assert_int_equal(reqbody_read("{\"model\":", 9, &rb), REQBODY_NOT_OBJECT);
	assert_int_equal(read_s("{\"a\":1}{\"max_tokens\":9}", &rb), REQBODY_NOT_OBJECT);
	assert_int_equal(read_s("{\"a\":1} \r\n", &rb), REQBODY_OK);
	assert_int_equal(reqbody_read(NULL, 0, &rb), REQBODY_NOT_OBJECT);
	assert_int_equal(rb.len, 0);
	(void)state;
}

/* Bodies tokmux will not forward on a guess, each with its sentence. */
static void
test_refused(void **state)
{
	static const struct {
		const char *body, *why;
	} cases[] = {
		{ "{\"max_tokens\":10,\"messages\":[],\"max_tokens\":100000}",
		  "tokmux: the request body has the key \"max_tokens\" twice in one object; send each key once." },
		{ "{\"model\":\"claude-haiku-4-5\",\"model\":\"claude-opus-4-1\"}",
		  "tokmux: the request body has the key \"model\" twice in one object; send each key once." },
		{ "{\"max_tokens\":10,\"max\\u005ftokens\":100000}",
		  "tokmux: the request body has the key \"max_tokens\" twice in one object; send each key once." },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\","
		  "\"text\":\"b\"}]}]}",
		  "tokmux: the request body has the key \"text\" twice in one object; send each key once." },
		{ "{\"max_tokens\":10,\"MAX_TOKENS\":100000}",
		  "tokmux: the request body has \"MAX_TOKENS\", which differs from \"max_tokens\" only in "
		  "case; send \"max_tokens\"." },
		{ "{\"model\":5}", "tokmux: \"model\" must be a model id (a string of 1 to 127 bytes)." },
		{ "{\"model\":\"\"}", "tokmux: \"model\" must be a model id (a string of 1 to 127 bytes)." },
		{ "{\"model\":null}", "tokmux: \"model\" must be a model id (a string of 1 to 127 bytes)." },
		{ "{\"max_tokens\":\"a lot\"}", "tokmux: \"max_tokens\" must be a whole number of tokens." },
		{ "{\"max_tokens\":12.5}", "tokmux: \"max_tokens\" must be a whole number of tokens." },
		{ "{\"max_completion_tokens\":-1}", "tokmux: \"max_completion_tokens\" must be a whole number of tokens." },
		{ "{\"max_output_tokens\":1e400}", "tokmux: \"max_output_tokens\" must be a whole number of tokens." },
		{ "{\"n\":0}", "tokmux: \"n\" must be a whole number from 1 to 128." },
		{ "{\"n\":\"2\"}", "tokmux: \"n\" must be a whole number from 1 to 128." },
		{ "{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":\"x\"}}",
		  "tokmux: \"thinking.budget_tokens\" must be a whole number of tokens." },
		{ "{\"previous_response_id\":\"resp_1\"}",
		  "tokmux: the request continues stored context (\"previous_response_id\"), input tokmux "
		  "cannot see, so it cannot bound what the request costs; send the whole input." },
		{ "{\"input\":[{\"type\":\"item_reference\",\"id\":\"msg_1\"}]}",
		  "tokmux: the request refers to a stored item, input tokmux cannot see, so it cannot "
		  "bound what the request costs; send the content itself." },
		{ "{\"messages\":[{\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"url\","
		  "\"url\":\"https://x/a.pdf\"}}]}]}",
		  "tokmux: the request refers to a file by id or a document by URL, input tokmux cannot "
		  "see, so it cannot bound what the request costs; send the content itself." },
		{ "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\",\"file_id\":\"f\"}]}]}",
		  "tokmux: the request refers to a file by id or URL, input tokmux cannot see, so it "
		  "cannot bound what the request costs; send the content itself." },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct reqbody rb;
		int rc = read_s(cases[i].body, &rb);
		if (rc != REQBODY_BAD || strcmp(rb.error, cases[i].why) != 0)
			fail_msg("case %zu %s: rc %d, error '%s'", i, cases[i].body, rc, rb.error);
	}
	/* a tool argument named like a reference, and keys that differ in case
	 * below the top level, are fine */
	struct reqbody rb;
	assert_int_equal(read_s("{\"messages\":[{\"content\":[{\"type\":\"tool_use\",\"input\":"
	    "{\"file_id\":\"x\",\"Model\":1,\"model\":2}}]}]}", &rb), REQBODY_OK);
	/* many keys: found by sorting */
	struct buf b = { 0 };
	buf_appendf(&b, "{");
	for (int i = 0; i < 40; i++)
		buf_appendf(&b, "\"k%d\":%d,", i, i);
	buf_appendf(&b, "\"k17\":0}");
	assert_int_equal(reqbody_read(b.data, b.len, &rb), REQBODY_BAD);
	assert_non_null(strstr(rb.error, "\"k17\" twice"));
	buf_free(&b);
	(void)state;
}

/* The bytes a 1-hour cache write can cover: up to the last block marked
 * ttl "1h", in prompt order (tools, system, messages). */
static void
test_marked_1h(void **state)
{
	struct reqbody rb;
	const char *b = "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":\"sys\","
	    "\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}],\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"0123456789\"}]}]}";
	assert_int_equal(read_s(b, &rb), 0);
	/* after the mark: "role" "user" "type" "text" "text" "0123456789" = 30 string bytes */
	assert_int_equal(rb.bytes_1h, (int64_t)strlen(b) - 30);
	/* a 5-minute mark (the default TTL) is not a 1-hour one */
	const char *five = "{\"system\":[{\"type\":\"text\",\"text\":\"sys\",\"cache_control\":"
	    "{\"type\":\"ephemeral\"}}],\"messages\":[]}";
	assert_int_equal(read_s(five, &rb), 0);
	assert_int_equal(rb.bytes_1h, 0);
	/* a mark on the last message covers everything */
	const char *last = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"hi\",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}]}]}";
	assert_int_equal(read_s(last, &rb), 0);
	assert_int_equal(rb.bytes_1h, (int64_t)strlen(last));
	/* automatic caching of the whole prompt for an hour */
	const char *top = "{\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"},\"messages\":[]}";
	assert_int_equal(read_s(top, &rb), 0);
	assert_int_equal(rb.bytes_1h, (int64_t)strlen(top));
	(void)state;
}

/* The input bound: a token per byte plus images and the overhead; a
 * measured ratio tightens it, never above the bound. */
static void
test_input_bound(void **state)
{
	struct reqbody rb;
	const char *b = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
	read_s(b, &rb);
	int64_t t, t1;
	reqbody_input_bound(&rb, 0, &t, &t1);
	assert_int_equal(t, (int64_t)strlen(b) + REQBODY_OVERHEAD_TOKENS);
	assert_int_equal(t1, 0);
	reqbody_input_bound(&rb, 0.2, &t, &t1);   /* 0.2 x 1.25 = 0.25 a byte */
	assert_int_equal(t, ((int64_t)strlen(b) + 3) / 4 + REQBODY_OVERHEAD_TOKENS);
	reqbody_input_bound(&rb, 3.0, &t, &t1);   /* never above a token per byte */
	assert_int_equal(t, (int64_t)strlen(b) + REQBODY_OVERHEAD_TOKENS);
	/* images count REQBODY_IMAGE_TOKENS each, not their bytes */
	struct buf x = { 0 };
	buf_appendf(&x, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
	    "\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"");
	size_t before = x.len;
	for (int i = 0; i < 30000; i++)
		buf_append(&x, "QUFB", 4);
	size_t img = x.len - before;
	buf_appendf(&x, "\"},\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}]}]}");
	assert_int_equal(reqbody_read(x.data, x.len, &rb), 0);
	reqbody_input_bound(&rb, 0, &t, &t1);
	assert_int_equal(t, (int64_t)(x.len - img) + REQBODY_IMAGE_TOKENS + REQBODY_OVERHEAD_TOKENS);
	assert_int_equal(t1, t);   /* marked for an hour: all of it */
	buf_free(&x);
	(void)state;
}

/* Setting the output limit: every field the body has, or the API's own;
 * the thinking budget kept below it. */
static void
test_prepare_limit(void **state)
{
	size_t n;
	char *nb = reqbody_prepare("{\"model\":\"a\",\"max_tokens\":500}", 31, API_ANTHROPIC_MESSAGES,
	    NULL, 100, &n);
	assert_string_equal(nb, "{\"model\":\"a\",\"max_tokens\":100}");
	free(nb);
	const char *chat = "{\"model\":\"gpt-5\",\"messages\":[]}";
	nb = reqbody_prepare(chat, strlen(chat), API_OPENAI_CHAT, NULL, 2048, &n);
	assert_string_equal(nb, "{\"model\":\"gpt-5\",\"messages\":[],\"max_completion_tokens\":2048}");
	free(nb);
	const char *resp = "{\"model\":\"gpt-5\",\"max_output_tokens\":null,\"input\":\"x\"}";
	nb = reqbody_prepare(resp, strlen(resp), API_OPENAI_RESPONSES, "gpt-5-mini", 7, &n);
	assert_string_equal(nb, "{\"model\":\"gpt-5-mini\",\"input\":\"x\",\"max_output_tokens\":7}");
	free(nb);
	const char *two = "{\"max_tokens\":10,\"max_completion_tokens\":900}";
	nb = reqbody_prepare(two, strlen(two), API_OPENAI_CHAT, NULL, 50, &n);
	assert_string_equal(nb, "{\"max_tokens\":50,\"max_completion_tokens\":50}");
	free(nb);
	const char *th = "{\"max_tokens\":32000,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":31999}}";
	nb = reqbody_prepare(th, strlen(th), API_ANTHROPIC_MESSAGES, NULL, 5000, &n);
	assert_string_equal(nb, "{\"max_tokens\":5000,\"thinking\":{\"type\":\"enabled\","
	    "\"budget_tokens\":4999}}");
	free(nb);
	nb = reqbody_prepare(th, strlen(th), API_ANTHROPIC_MESSAGES, NULL, 1025, &n);
	assert_non_null(strstr(nb, "\"budget_tokens\":1024"));
	free(nb);
	assert_null(reqbody_prepare("[1]", 3, API_OPENAI_CHAT, NULL, 5, &n));
	(void)state;
}

static void
test_rewrite_model(void **state)
{
	const char *body = "{\"model\":\"a\",\"max_tokens\":5,\"stream\":true,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":0.7}";
	size_t n;
	char *nb = reqbody_rewrite_model(body, strlen(body), "claude-sonnet-5", &n);
	assert_non_null(nb);
	assert_int_equal(n, strlen(nb));
	assert_string_equal(nb, "{\"model\":\"claude-sonnet-5\",\"max_tokens\":5,\"stream\":true,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":0.7}");
	free(nb);
	nb = reqbody_rewrite_model("{\"x\":1}", 7, "m", &n);
	assert_string_equal(nb, "{\"x\":1,\"model\":\"m\"}");
	free(nb);
	assert_null(reqbody_rewrite_model("[1]", 3, "m", &n));
	assert_null(reqbody_rewrite_model("nope", 4, "m", &n));
	(void)state;
}

static void
test_reply_verdicts(void **state)
{
	const char *spend = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
	    "\"You have reached your specified API usage limits.\"}}";
	const char *rate = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
	    "\"This request would exceed the rate limit for your organization\"}}";
	assert_true(reqbody_is_spend_limit(spend, strlen(spend)));
	assert_false(reqbody_is_spend_limit(rate, strlen(rate)));
	const char *oq = "{\"error\":{\"code\":\"insufficient_quota\"}}";
	assert_true(reqbody_is_spend_limit(oq, strlen(oq)));
	assert_false(reqbody_is_spend_limit("", 0));

	const char *ov = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
	const char *ok = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
	    "event: error\ndata: {\"error\":{\"type\":\"overloaded_error\"}}\n\n";
	assert_int_equal(reqbody_first_event_overloaded(ov, strlen(ov)), 1);
	assert_int_equal(reqbody_first_event_overloaded(ok, strlen(ok)), 0);
	assert_int_equal(reqbody_first_event_overloaded(ov, 20), -1);
	const char *crlf = "event: error\r\ndata: {\"error\":{\"type\":\"overloaded_error\"}}\r\n\r\n";
	assert_int_equal(reqbody_first_event_overloaded(crlf, strlen(crlf)), 1);
	/* OpenAI's shape: no event name, the code in the data */
	const char *oa = "data: {\"error\":{\"type\":\"server_error\",\"code\":\"Overloaded_Error\"}}\n\n";
	assert_int_equal(reqbody_first_event_overloaded(oa, strlen(oa)), 1);
	assert_int_equal(reqbody_first_event_overloaded("", 0), -1);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_marked_1h),
		cmocka_unit_test(test_input_bound),
		cmocka_unit_test(test_prepare_limit),
		cmocka_unit_test(test_rewrite_model),
		cmocka_unit_test(test_reply_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
