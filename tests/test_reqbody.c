/*
 * Unit tests for reqbody: reading a request (model, output limits, images),
 * the worst-case estimate, rewriting the model, and the two verdicts on
 * reply bodies (spend-limit 429, overloaded first event).
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

static void
worst(const pricing_t *pr, const char *model, const char *body, size_t len, int64_t *m, int64_t *t)
{
	struct reqbody rb;
	reqbody_read(body, len, &rb);
	reqbody_worst_case(pr, model, &rb, m, t);
}

static void
test_read(void **state)
{
	struct reqbody rb;
	const char *b = "{\"model\":\"claude-x\",\"max_tokens\":12.5,\"messages\":[]}";
	assert_int_equal(reqbody_read(b, strlen(b), &rb), 0);
	assert_int_equal(rb.object, 1);
	assert_int_equal(rb.len, strlen(b));
	assert_string_equal(rb.model, "claude-x");
	assert_int_equal(rb.max_tokens, 13);
	assert_int_equal(rb.images, 0);
	/* OpenAI's names for the output limit; an invalid first one is skipped */
	b = "{\"max_completion_tokens\":7}";
	reqbody_read(b, strlen(b), &rb);
	assert_int_equal(rb.max_tokens, 7);
	assert_string_equal(rb.model, "");
	b = "{\"max_tokens\":\"a lot\",\"max_output_tokens\":9}";
	reqbody_read(b, strlen(b), &rb);
	assert_int_equal(rb.max_tokens, 9);
	b = "{\"max_tokens\":-1,\"model\":5}";
	reqbody_read(b, strlen(b), &rb);
	assert_int_equal(rb.max_tokens, -1);
	assert_string_equal(rb.model, "");
	/* images: Anthropic base64 sources and OpenAI data: URLs, anywhere */
	b = "{\"messages\":[{\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"image/png\",\"data\":\"QUFB\"}},{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"data:image/jpeg;base64,QUFBQUFB\"}},"
	    "{\"type\":\"text\",\"text\":\"data:text/plain,no\"}]}]}";
	reqbody_read(b, strlen(b), &rb);
	assert_int_equal(rb.images, 2);
	assert_int_equal(rb.image_bytes, 4 + strlen("data:image/jpeg;base64,QUFBQUFB"));
	/* not an object */
	assert_int_equal(reqbody_read("[1]", 3, &rb), -1);
	assert_int_equal(rb.object, 0);
	assert_int_equal(rb.len, 3);
	assert_int_equal(rb.max_tokens, -1);
	assert_int_equal(reqbody_read("{\"model\":", 9, &rb), -1);
	assert_int_equal(reqbody_read(NULL, 0, &rb), -1);
	assert_int_equal(rb.len, 0);
	(void)state;
}

/* Built-in prices: Sonnet 4.5 input $3, 1h cache write $6, output $15;
 * Haiku 4.5 input $1, 1h write $2, output $5. */
static void
test_worst_case(void **state)
{
	pricing_t *pr = pricing_new();
	const char *body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1000,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
	int64_t m, t;
	worst(pr, NULL, body, strlen(body), &m, &t);
	int64_t in = ((int64_t)strlen(body) + 2) / 3;
	assert_int_equal(t, in + 1000);
	/* input at the dearest input price (1h cache write, $6) + output at $15 */
	assert_int_equal(m, pricing_worst_case(pr, "claude-sonnet-4-5", in, 1000));
	assert_int_equal(m, (in * 6 + 1000 * 15));
	/* another model given explicitly */
	worst(pr, "claude-haiku-4-5", body, strlen(body), &m, &t);
	assert_int_equal(m, in * 2 + 1000 * 5);
	/* no max_tokens: the default output worst case */
	const char *nomax = "{\"model\":\"claude-haiku-4-5\"}";
	worst(pr, NULL, nomax, strlen(nomax), &m, &t);
	in = ((int64_t)strlen(nomax) + 2) / 3;
	assert_int_equal(t, in + REQBODY_DEFAULT_MAX_TOKENS);
	assert_int_equal(m, in * 2 + REQBODY_DEFAULT_MAX_TOKENS * 5);
	/* an image counts as 2000 tokens, not as its base64 bytes */
	struct buf b = { 0 };
	buf_appendf(&b, "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1,\"messages\":[{"
	    "\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
	    "\"base64\",\"media_type\":\"image/png\",\"data\":\"");
	size_t before = b.len;
	for (int i = 0; i < 30000; i++)
		buf_append(&b, "QUFB", 4);
	size_t img = b.len - before;
	buf_appendf(&b, "\"}}]}]}");
	worst(pr, NULL, b.data, b.len, &m, &t);
	assert_int_equal(t, ((int64_t)(b.len - img) + 2) / 3 + REQBODY_IMAGE_TOKENS + 1);
	buf_free(&b);
	/* not JSON: still estimated from its size, priced as the dearest model */
	worst(pr, NULL, "garbage", 7, &m, &t);
	assert_int_equal(t, 3 + REQBODY_DEFAULT_MAX_TOKENS);
	assert_int_equal(m, pricing_worst_case(pr, "no-such-model", 3, REQBODY_DEFAULT_MAX_TOKENS));
	assert_true(m > 0);
	/* no pricing: tokens only */
	worst(NULL, NULL, body, strlen(body), &m, &t);
	assert_int_equal(m, 0);
	assert_int_equal(t, ((int64_t)strlen(body) + 2) / 3 + 1000);
	pricing_free(pr);
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
		cmocka_unit_test(test_worst_case),
		cmocka_unit_test(test_rewrite_model),
		cmocka_unit_test(test_reply_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
