/*
 * Unit tests for mockscript without a server: how rules resolve for a
 * request (request numbers, every, model patterns, per-path counting,
 * times), the defaults underneath, and the rate-limit budget and models list.
 * The error wording of bad scripts is covered by test_mock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "demo/mockscript.h"
#include "util.h"

static mockscript_t *
parse(const char *json)
{
	char *err = NULL;
	mockscript_t *s = mockscript_parse(json, strlen(json), "t.json", &err);
	if (s == NULL)
		fail_msg("%s", err);
	return s;
}

static void
test_no_script(void **state)
{
	(void)state;
	struct mockscript_params p;
	mockscript_resolve(NULL, &p, MOCKWIRE_MESSAGES, 1, 1, "m");
	assert_int_equal(p.kind, MOCKSCRIPT_OK);
	assert_string_equal(p.action, "ok");
	assert_int_equal(p.chunks, 5);
	struct mockscript_ratelimit rl;
	mockscript_ratelimit(NULL, &rl);
	assert_int_equal(rl.requests, 4000);
	assert_int_equal(rl.tokens, rl.input + rl.output);
	assert_null(mockscript_models(NULL));
}

static void
test_rules(void **state)
{
	(void)state;
	mockscript_t *s = parse("{\"defaults\": {\"chunks\": 2, \"text\": \"hi\"},"
	    " \"rules\": ["
	    "  {\"match\": {\"request\": 2}, \"action\": 529},"
	    "  {\"match\": {\"every\": 3}, \"action\": \"overloaded_first\"},"
	    "  {\"match\": {\"model\": \"claude-*\"}, \"chunks\": 7, \"times\": 1},"
	    "  {\"match\": {\"path\": \"/v1/responses\", \"per_path\": true, \"requests\": [1]},"
	    "   \"action\": \"cut\"}]}");
	struct mockscript_params p;
	mockscript_resolve(s, &p, MOCKWIRE_MESSAGES, 1, 1, "claude-opus");
	assert_int_equal(p.kind, MOCKSCRIPT_OK);
	assert_int_equal(p.chunks, 7);          /* the model rule, once */
	assert_string_equal(p.text, "hi");      /* from the defaults */
	mockscript_resolve(s, &p, MOCKWIRE_MESSAGES, 2, 2, "claude-opus");
	assert_int_equal(p.kind, MOCKSCRIPT_STATUS);
	assert_int_equal(p.status, 529);
	assert_int_equal(p.chunks, 2);          /* times: 1 is used up */
	mockscript_resolve(s, &p, MOCKWIRE_CHAT, 3, 1, "gpt");
	assert_int_equal(p.kind, MOCKSCRIPT_FIRST);
	/* request 4 is the first call to /v1/responses */
	mockscript_resolve(s, &p, MOCKWIRE_RESPONSES, 4, 1, "gpt");
	assert_int_equal(p.kind, MOCKSCRIPT_CUT);
	mockscript_resolve(s, &p, MOCKWIRE_RESPONSES, 5, 2, "gpt");
	assert_int_equal(p.kind, MOCKSCRIPT_OK);
	/* numbered rules are for model calls only */
	mockscript_resolve(s, &p, MOCKWIRE_MODELS, 0, 0, NULL);
	assert_int_equal(p.kind, MOCKSCRIPT_OK);
	mockscript_free(s);
}

static void
test_defaults(void **state)
{
	(void)state;
	mockscript_t *s = parse("{\"defaults\": {\"action\": \"slow_first_byte\", \"delay_ms\": 300,"
	    " \"ratelimit\": {\"requests\": 5, \"input_tokens\": 100, \"output_tokens\": 50},"
	    " \"models\": [\"a\", \"b\"], \"retry_after\": null}}");
	struct mockscript_params p;
	mockscript_resolve(s, &p, MOCKWIRE_MESSAGES, 1, 1, NULL);
	assert_int_equal(p.first_byte_ms, 300);  /* slow_first_byte makes delay_ms the first byte's */
	assert_int_equal(p.chunk_delay_ms, 0);
	assert_int_equal(p.retry_after, -2);
	struct mockscript_ratelimit rl;
	mockscript_ratelimit(s, &rl);
	assert_int_equal(rl.requests, 5);
	assert_int_equal(rl.tokens, 150);
	assert_int_equal(cJSON_GetArraySize(mockscript_models(s)), 2);
	mockscript_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_script),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_defaults),
	};
	return cmocka_run_group_tests_name("mockscript", tests, NULL, NULL);
}
