/*
 * Tests for simagent: the plan and transcript are deterministic in the seed
 * and differ between seeds, the rendering (colour and plain), request
 * bodies (cache_control, growth with the turn, both APIs), the SSE reader
 * on recorded fixtures in every chunking, error bodies and retry delays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pricing.h"
#include "demo/simagent.h"
#include "util.h"

#define FIXTURES "tests/fixtures/"

static const char *const names[] = { "refactor", "tests", "docs", "bugfix" };

static char *
slurp(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURES "%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct buf b = { 0 };
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	buf_append(&b, "", 1);
	return b.data;
}

/* The whole transcript of a plan as one string. */
static char *
transcript(const struct simagent_persona *p, uint64_t seed, int color)
{
	struct simagent_step steps[256];
	int n = simagent_plan(p, seed, p->requests, steps, 256);
	struct buf b = { 0 };
	for (int i = 0; i < n; i++) {
		if (steps[i].kind == SIMAGENT_ASK)
			buf_appendf(&b, "<ask %d>\n", steps[i].turn);
		else
			simagent_render(p, &steps[i], color, &b);
	}
	buf_append(&b, "", 1);
	return b.data;
}

static void
test_personas(void **state)
{
	(void)state;
	pricing_t *pr = pricing_new();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		const struct simagent_persona *p = simagent_persona(names[i]);
		assert_non_null(p);
		assert_string_equal(p->name, names[i]);
		assert_non_null(strstr(simagent_persona_names(), names[i]));
		/* the demo's costs show only for priced models */
		assert_non_null(pricing_find(pr, p->model));
		assert_true(p->requests > 0 && p->max_tokens > 0 && p->system_kb > 0);
	}
	assert_null(simagent_persona("nope"));
	/* different personas use different models (one fault per model in the demo) */
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++)
		for (size_t j = i + 1; j < UTIL_ARRAY_LEN(names); j++)
			assert_string_not_equal(simagent_persona(names[i])->model,
			    simagent_persona(names[j])->model);
	pricing_free(pr);
}

static void
test_plan_shape(void **state)
{
	(void)state;
	const struct simagent_persona *p = simagent_persona("refactor");
	struct simagent_step steps[256];
	for (uint64_t seed = 0; seed < 50; seed++) {
		int n = simagent_plan(p, seed, 7, steps, 256);
		int asks = 0, tools_before = 0;
		for (int i = 0; i < n; i++) {
			if (steps[i].kind == SIMAGENT_ASK) {
				assert_int_equal(steps[i].turn, asks);
				assert_true(tools_before >= 1 && tools_before <= 3);
				asks++;
				tools_before = 0;
			} else {
				tools_before++;
				/* indices stay inside the persona's tables */
				assert_true(steps[i].arg >= 0 && steps[i].arg < (steps[i].kind == SIMAGENT_READ ? 4 : 2));
			}
		}
		assert_int_equal(asks, 7);
	}
	/* the bound holds */
	assert_int_equal(simagent_plan(p, 1, 50, steps, 10), 10);
}

static void
test_deterministic(void **state)
{
	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		const struct simagent_persona *p = simagent_persona(names[i]);
		char *a = transcript(p, 42, 1), *b = transcript(p, 42, 1);
		assert_string_equal(a, b);
		/* some other seed gives another transcript */
		int differs = 0;
		for (uint64_t s = 43; s < 53 && !differs; s++) {
			char *c = transcript(p, s, 1);
			differs = strcmp(a, c) != 0;
			free(c);
		}
		assert_true(differs);
		free(a);
		free(b);
	}
	uint64_t s1 = 7, s2 = 7;
	for (int i = 0; i < 100; i++)
		assert_true(simagent_rand(&s1) == simagent_rand(&s2));
}

static void
test_render(void **state)
{
	(void)state;
	const struct simagent_persona *p = simagent_persona("bugfix");
	struct buf b = { 0 };
	struct simagent_step edit = { SIMAGENT_EDIT, 0, 3 };
	simagent_render(p, &edit, 0, &b);
	buf_append(&b, "", 1);
	assert_null(strchr(b.data, '\033'));
	assert_non_null(strstr(b.data, "Update(src/cart/paginate.ts)"));
	assert_non_null(strstr(b.data, "1 addition and 1 removal"));
	assert_non_null(strstr(b.data, "23 - "));
	assert_non_null(strstr(b.data, "23 + "));
	buf_free(&b);

	memset(&b, 0, sizeof b);
	simagent_render(p, &edit, 1, &b);
	buf_append(&b, "", 1);
	assert_non_null(strstr(b.data, "\033[31m"));   /* red removal */
	assert_non_null(strstr(b.data, "\033[32m"));   /* green addition */
	buf_free(&b);

	struct simagent_step run = { SIMAGENT_RUN, 0, 0 }, ask = { SIMAGENT_ASK, 0, 0 };
	memset(&b, 0, sizeof b);
	simagent_render(p, &run, 0, &b);
	simagent_render(p, &ask, 0, &b);
	buf_append(&b, "", 1);
	assert_string_equal(b.data, "● Bash(npm test -- paginate)\n  ⎿  Tests: 1 failed, 23 passed, 24 total\n");
	buf_free(&b);
}

static void
test_body_anthropic(void **state)
{
	(void)state;
	const struct simagent_persona *p = simagent_persona("tests");
	size_t prev = 0;
	for (int turn = 0; turn < 4; turn++) {
		char *body = simagent_body(p, SIMAGENT_ANTHROPIC, "claude-x", turn);
		assert_true(strlen(body) > prev);
		assert_true(strlen(body) >= (size_t)p->system_kb * 1024);
		prev = strlen(body);
		cJSON *j = cJSON_Parse(body);
		assert_non_null(j);
		assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "claude-x");
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
		assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, p->max_tokens);
		cJSON *sys = cJSON_GetObjectItem(j, "system");
		assert_int_equal(cJSON_GetArraySize(sys), 2);
		cJSON *cc = cJSON_GetObjectItem(cJSON_GetArrayItem(sys, 1), "cache_control");
		assert_string_equal(cJSON_GetObjectItem(cc, "type")->valuestring, "ephemeral");
		cJSON *msgs = cJSON_GetObjectItem(j, "messages");
		assert_int_equal(cJSON_GetArraySize(msgs), 1 + 2 * turn);
		cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
		assert_string_equal(cJSON_GetObjectItem(last, "role")->valuestring, "user");
		cJSON *blk = cJSON_GetArrayItem(cJSON_GetObjectItem(last, "content"), 0);
		/* the newest user turn is marked for caching after the first call */
		assert_true((cJSON_GetObjectItem(blk, "cache_control") != NULL) == (turn > 0));
		cJSON_Delete(j);
		free(body);
	}
}

static void
test_body_openai(void **state)
{
	(void)state;
	const struct simagent_persona *p = simagent_persona("docs");
	char *body = simagent_body(p, SIMAGENT_OPENAI, "gpt-5-mini", 2);
	cJSON *j = cJSON_Parse(body);
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stream_options"), "include_usage")));
	assert_int_equal(cJSON_GetObjectItem(j, "max_completion_tokens")->valueint, p->max_tokens);
	cJSON *msgs = cJSON_GetObjectItem(j, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 6);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "system");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")));
	assert_null(strstr(body, "cache_control"));
	cJSON_Delete(j);
	free(body);
}

/* Feed a fixture in chunks of every size from 1 to 7 and in one piece. */
static void
stream_fixture(const char *name, enum simagent_api api, const char *text, const char *etype, int done)
{
	size_t len;
	char *data = slurp(name, &len);
	for (size_t step = 1; step <= 8; step++) {
		size_t chunk = step == 8 ? len : step;
		struct simagent_stream s;
		simagent_stream_init(&s, api);
		for (size_t i = 0; i < len; i += chunk)
			simagent_stream_feed(&s, data + i, UTIL_MIN(chunk, len - i));
		buf_append(&s.text, "", 1);
		assert_string_equal(s.text.data, text);
		assert_string_equal(s.error_type, etype);
		assert_int_equal(s.done, done);
		simagent_stream_free(&s);
	}
	free(data);
}

static void
test_stream(void **state)
{
	(void)state;
	stream_fixture("anthropic_stream.sse", SIMAGENT_ANTHROPIC,
	    "Hello!\n\nevent: error\ndata: not a real event", "", 1);
	stream_fixture("anthropic_overloaded.sse", SIMAGENT_ANTHROPIC, "Partial ans",
	    "overloaded_error", 0);
	stream_fixture("openai_chat.sse", SIMAGENT_OPENAI, "Hello", "", 1);
}

static void
test_error_parse(void **state)
{
	(void)state;
	char type[48], msg[128];
	size_t len;
	char *body = slurp("anthropic_error.json", &len);
	assert_int_equal(simagent_error_parse(body, len, type, sizeof type, msg, sizeof msg), 0);
	assert_string_equal(type, "overloaded_error");
	assert_string_equal(msg, "Overloaded");
	free(body);
	const char *oa = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":null}}";
	assert_int_equal(simagent_error_parse(oa, strlen(oa), type, sizeof type, msg, sizeof msg), 0);
	assert_string_equal(type, "requests");
	assert_string_equal(msg, "Rate limit reached");
	assert_int_equal(simagent_error_parse("<html>", 6, type, sizeof type, msg, sizeof msg), -1);
	assert_string_equal(type, "");
	assert_string_equal(msg, "");
	/* a long message is cut, not overflowed */
	char small[8];
	const char *lng = "{\"error\":{\"type\":\"permission_error\",\"message\":\"tokmux: pane 4 spend ceiling\"}}";
	assert_int_equal(simagent_error_parse(lng, strlen(lng), small, sizeof small, msg, sizeof msg), 0);
	assert_string_equal(small, "permiss");
}

static void
test_retry_delay(void **state)
{
	(void)state;
	assert_true(simagent_retry_delay(2, 1) == 2);
	assert_true(simagent_retry_delay(0, 3) == 0);
	assert_true(simagent_retry_delay(600, 1) == 60);
	const double want[] = { 1, 2, 4, 8, 8, 8 };
	for (int i = 0; i < 6; i++)
		assert_true(simagent_retry_delay(-1, i + 1) == want[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_personas),
		cmocka_unit_test(test_plan_shape),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_body_anthropic),
		cmocka_unit_test(test_body_openai),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_retry_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
