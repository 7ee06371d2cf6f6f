/*
 * Tests for demo: the demo's mock script loads, and per model it gives what
 * the demo promises: a cache write on the first call and cache reads after,
 * a burst of four 529s on opus after two good calls, two 429s with
 * retry-after 2 on haiku after three good calls, and answer lengths that fit
 * each persona's max_tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demo/demo.h"
#include "demo/mock.h"
#include "demo/simagent.h"
#include "usage.h"
#include "util.h"

struct resp {
	long status;
	int retry_after;            /* -1: none */
	struct buf body;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	buf_append(&r->body, p, sz * n);
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	if (sz * n > 12 && strncasecmp(p, "retry-after:", 12) == 0)
		r->retry_after = atoi(p + 12);
	return sz * n;
}

/* One non-streaming Messages call for model; usage into *u. */
static void
call(mock_t *m, const char *model, struct resp *r, struct usage *u)
{
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	char *url = xasprintf("http://127.0.0.1:%d/v1/messages", mock_port(m));
	char *body = xasprintf("{\"model\":\"%s\",\"max_tokens\":1024,\"messages\":[]}", model);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	usage_parser_t *p = usage_parser_new(API_ANTHROPIC_MESSAGES, 0);
	usage_parser_feed(p, r->body.data ? r->body.data : "", r->body.len);
	usage_parser_result(p, u);
	usage_parser_free(p);
	buf_free(&r->body);
	free(body);
	free(url);
}

static mock_t *
start(void)
{
	struct mock_options o = { .port = 0, .quiet = 1 };
	char *err = NULL;
	mock_t *m = mock_start(&o, &err);
	assert_non_null(m);
	int rc = mock_load_script_json(m, demo_script(), &err);
	if (rc != 0)
		fprintf(stderr, "demo script: %s\n", err);
	assert_int_equal(rc, 0);
	return m;
}

/* Expected statuses of the first calls of a model, in order. */
static void
statuses(mock_t *m, const char *model, const long *want, int n)
{
	for (int i = 0; i < n; i++) {
		struct resp r;
		struct usage u;
		call(m, model, &r, &u);
		if (r.status != want[i])
			fail_msg("%s call %d: status %ld, want %ld", model, i + 1, r.status, want[i]);
		if (want[i] == 429)
			assert_int_equal(r.retry_after, 2);
	}
}

static void
test_faults(void **state)
{
	(void)state;
	mock_t *m = start();
	static const long opus[] = { 200, 200, 529, 529, 529, 529, 200, 200 };
	static const long haiku[] = { 200, 200, 200, 429, 429, 200, 200 };
	static const long sonnet[] = { 200, 200, 200, 200, 200, 200 };
	/* interleaved with other models, as the panes do: counters are per rule */
	statuses(m, "claude-sonnet-4-5", sonnet, 2);
	statuses(m, "claude-opus-4-7", opus, 4);
	statuses(m, "claude-haiku-4-5", haiku, 5);
	statuses(m, "claude-opus-4-7", opus + 4, 4);
	statuses(m, "claude-haiku-4-5", haiku + 5, 2);
	statuses(m, "claude-sonnet-4-6", sonnet, 6);
	statuses(m, "claude-sonnet-4", sonnet, 6);   /* pane 1's fallback never fails */
	mock_stop(m);
}

static void
test_cache(void **state)
{
	(void)state;
	static const char *const models[] = { "claude-opus-4-7", "claude-sonnet-4-6",
		"claude-haiku-4-5", "claude-sonnet-4-5" };
	mock_t *m = start();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(models); i++) {
		struct resp r;
		struct usage first, second;
		call(m, models[i], &r, &first);
		assert_int_equal(r.status, 200);
		call(m, models[i], &r, &second);
		assert_int_equal(r.status, 200);
		assert_true(first.cache_write_5m_tokens + first.cache_write_1h_tokens > 0);
		assert_int_equal(first.cache_read_tokens, 0);
		assert_true(second.cache_read_tokens > 0);
		assert_true(first.output_tokens > 0);
	}
	mock_stop(m);
}

/* Each persona's answers fit its max_tokens (else the mock cuts the text). */
static void
test_answer_lengths(void **state)
{
	(void)state;
	static const char *const personas[] = { "refactor", "tests", "docs", "bugfix" };
	mock_t *m = start();
	int64_t out[4];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(personas); i++) {
		const struct simagent_persona *p = simagent_persona(personas[i]);
		struct resp r;
		struct usage u;
		call(m, p->model, &r, &u);
		assert_int_equal(r.status, 200);
		assert_true(u.output_tokens < 1024 && u.output_tokens <= p->max_tokens);
		out[i] = u.output_tokens;
	}
	/* long answers on opus, short ones on haiku */
	assert_true(out[0] > 4 * out[2]);
	mock_stop(m);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_answer_lengths),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
