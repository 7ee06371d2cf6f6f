/*
 * Unit tests for model: canonical ids, the dated-form rule, families and
 * versions, the newest of a family, fallback chains (default and
 * configured), and every spelling of an id priced and chained alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "model.h"
#include "pricing.h"
#include "util.h"

/* The chain for model over the models pr prices. */
static int
chain_of(const pricing_t *pr, const char *model, const char *const *fb, int nfb, char **out)
{
	const char *ids[256];
	int n = pricing_models(pr, ids, 256);
	return model_chain(model, ids, n, fb, nfb, out, 8);
}

static void
chain_free(char **ch, int n)
{
	for (int i = 0; i < n; i++)
		free(ch[i]);
}

static void
test_normalise(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "claude-opus-4-1", "claude-opus-4-1" },
		{ "Claude-Opus-4-1-20250805", "claude-opus-4-1-20250805" },
		{ "anthropic/claude-opus-4-1", "claude-opus-4-1" },
		{ "openai/gpt-5-mini", "gpt-5-mini" },
		{ "anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805" },
		{ "us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805" },
		{ "global.anthropic.claude-sonnet-4-5-20250929-v2:12", "claude-sonnet-4-5-20250929" },
		{ "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
		  "us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805" },
		{ "claude-opus-4-1@20250805", "claude-opus-4-1@20250805" },
		{ "publishers/anthropic/models/claude-opus-4-1@20250805", "claude-opus-4-1@20250805" },
		{ "claude-sonnet-4-5[1m]", "claude-sonnet-4-5" },
		{ "claude-sonnet-4-5 [1m]", "claude-sonnet-4-5" },
		{ "gpt-5  ", "gpt-5" },
		/* only a whole -vN:M suffix goes */
		{ "model-v1", "model-v1" },
		{ "model-1:0", "model-1:0" },
		{ "model-v:0", "model-v:0" },
		{ "", "" },
	};
	char out[MODEL_ID_MAX];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		model_normalise(cases[i].in, out);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("%s -> \"%s\", expected \"%s\"", cases[i].in, out, cases[i].out);
	}
	/* a long id is cut at MODEL_ID_MAX - 1 bytes, never overflows */
	char longid[400];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	model_normalise(longid, out);
	assert_int_equal(strlen(out), MODEL_ID_MAX - 1);
	(void)state;
}

static void
test_dated_form(void **state)
{
	assert_int_equal(model_dated_form("claude-opus-4-1", "claude-opus-4-1"), 15);
	assert_int_equal(model_dated_form("claude-opus-4-1-20250805", "claude-opus-4-1"), 15);
	assert_int_equal(model_dated_form("claude-opus-4-1@20250805", "claude-opus-4-1"), 15);
	assert_int_equal(model_dated_form("gpt-4o-2024-08-06", "gpt-4o"), 6);
	assert_int_equal(model_dated_form("claude-3-5-haiku-latest", "claude-3-5-haiku"), 16);
	/* a version, not a date: another model */
	assert_int_equal(model_dated_form("claude-opus-4-1", "claude-opus-4"), 0);
	assert_int_equal(model_dated_form("gpt-4o-mini", "gpt-4o"), 0);
	assert_int_equal(model_dated_form("claude-opus-4-1x", "claude-opus-4-1"), 0);
	assert_int_equal(model_dated_form("claude-opus", "claude-opus-4-1"), 0);
	(void)state;
}

static void
test_undated(void **state)
{
	static const char *const cases[][2] = {
		{ "claude-haiku-4-5-20251001", "claude-haiku-4-5" },
		{ "claude-haiku-4-5", "claude-haiku-4-5" },
		{ "claude-opus-4-1@20250805", "claude-opus-4-1" },
		{ "us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1" },
		{ "Claude-Sonnet-4-5-20250929[1m]", "claude-sonnet-4-5" },
		{ "gpt-4o-2024-08-06", "gpt-4o" },
		{ "claude-3-5-haiku-latest", "claude-3-5-haiku" },
		{ "gpt-5-codex", "gpt-5-codex" },
		{ "claude-opus-4-1", "claude-opus-4-1" },      /* a version, not a date */
		{ "model-1234567", "model-1234567" },          /* 7 digits: not a date */
		{ "x-2024-8-06", "x-2024-8-06" },
		{ "-20251001", "-20251001" },                  /* nothing before the date */
		{ "", "" },
	};
	char out[MODEL_ID_MAX], norm[MODEL_ID_MAX];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		model_undated(cases[i][0], out);
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("%s: got %s, wanted %s", cases[i][0], out, cases[i][1]);
		model_normalise(cases[i][0], norm);
		if (norm[0] != '\0')
			assert_int_not_equal(model_dated_form(norm, out), 0);
	}
	(void)state;
}

static void
test_family_version(void **state)
{
	assert_string_equal(model_family("claude-opus-4-7"), "opus");
	assert_string_equal(model_family("claude-3-5-haiku-20241022"), "haiku");
	assert_string_equal(model_family("anthropic/claude-sonnet-4-5"), "sonnet");
	assert_string_equal(model_family("us.anthropic.claude-opus-4-1-20250805-v1:0"), "opus");
	assert_string_equal(model_family("claude-opus-4-1@20250805"), "opus");
	assert_string_equal(model_family("CLAUDE-HAIKU-4-5"), "haiku");
	assert_null(model_family("gpt-5"));
	assert_null(model_family("claude-fable-5-1"));
	assert_null(model_family("claude-opusx-1"));
	assert_null(model_family("my-opus-model"));
	assert_null(model_family(NULL));

	long v[MODEL_VERSION_MAX];
	assert_int_equal(model_version("claude-3-5-haiku", v), 2);
	assert_int_equal(v[0], 3);
	assert_int_equal(v[1], 5);
	assert_int_equal(model_version("claude-sonnet-4-5-20250929", v), 2);
	assert_int_equal(v[0], 4);
	assert_int_equal(v[1], 5);
	/* Bedrock's -v1:0 is not part of the version */
	assert_int_equal(model_version("us.anthropic.claude-opus-4-1-20250805-v1:0", v), 2);
	assert_int_equal(v[1], 1);
	assert_int_equal(model_version("claude-opus", v), 0);

	assert_true(model_newer("claude-sonnet-4-5", "claude-3-7-sonnet"));
	assert_false(model_newer("claude-3-7-sonnet", "claude-sonnet-4-5"));
	assert_true(model_newer("claude-sonnet-4-5", "claude-sonnet-4"));
	assert_true(model_newer("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"));
	assert_false(model_newer("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"));

	const char *ids[] = { "claude-sonnet-4", "gpt-5", "claude-sonnet-4-6",
		"claude-sonnet-4-6-20260101", "claude-haiku-4-5", "claude-3-7-sonnet" };
	assert_string_equal(model_newest(ids, 6, "sonnet"), "claude-sonnet-4-6");
	assert_string_equal(model_newest(ids, 6, "haiku"), "claude-haiku-4-5");
	assert_null(model_newest(ids, 6, "opus"));
	assert_null(model_newest(ids, 0, "sonnet"));
	(void)state;
}

static void
test_chains(void **state)
{
	pricing_t *pr = pricing_new();
	char *ch[8];
	int n = chain_of(pr, "claude-opus-4-7", NULL, 0, ch);
	/* the newest sonnet and haiku of the built-in table */
	assert_int_equal(n, 3);
	assert_string_equal(ch[0], "claude-opus-4-7");
	assert_string_equal(ch[1], "claude-sonnet-5-5");
	assert_string_equal(ch[2], "claude-haiku-5-5");
	chain_free(ch, n);
	n = chain_of(pr, "claude-sonnet-4-5-20250929", NULL, 0, ch);
	assert_int_equal(n, 2);
	assert_string_equal(ch[1], "claude-haiku-5-5");
	chain_free(ch, n);
	n = chain_of(pr, "claude-haiku-4-5", NULL, 0, ch);
	assert_int_equal(n, 1);
	chain_free(ch, n);
	n = chain_of(pr, "gpt-5", NULL, 0, ch);
	assert_int_equal(n, 1);
	chain_free(ch, n);
	assert_int_equal(chain_of(pr, "", NULL, 0, ch), 0);
	assert_int_equal(chain_of(pr, NULL, NULL, 0, ch), 0);
	/* a configured chain replaces the default; the asked model is not repeated */
	const char *fb[] = { "m-b", "m-a", "m-c" };
	n = chain_of(pr, "m-a", fb, 3, ch);
	assert_int_equal(n, 3);
	assert_string_equal(ch[0], "m-a");
	assert_string_equal(ch[1], "m-b");
	assert_string_equal(ch[2], "m-c");
	chain_free(ch, n);
	/* max bounds the chain */
	const char *ids[] = { "claude-sonnet-4", "claude-haiku-4-5" };
	n = model_chain("claude-opus-4", ids, 2, NULL, 0, ch, 2);
	assert_int_equal(n, 2);
	assert_string_equal(ch[1], "claude-sonnet-4");
	chain_free(ch, n);
	/* the newest of a family follows the config's prices too */
	char *err = NULL;
	cJSON *extra = cJSON_Parse("{\"claude-sonnet-9-1\":{\"input\":1,\"output\":2},"
	    "\"claude-sonnet-9-1-20990101\":{\"input\":1,\"output\":2}}");
	assert_int_equal(pricing_load(pr, extra, &err), 0);
	cJSON_Delete(extra);
	n = chain_of(pr, "claude-opus-4-1", NULL, 0, ch);
	assert_string_equal(ch[1], "claude-sonnet-9-1");
	chain_free(ch, n);
	pricing_free(pr);
	(void)state;
}

/* Every spelling of a model is priced as its table entry and gets the same
 * chain (the asked id first, as the agent sent it). */
static void
test_every_form(void **state)
{
	static const struct {
		const char *id, *table;
		int chain;                   /* default chain length */
	} forms[] = {
		{ "claude-opus-4-1", "claude-opus-4-1", 3 },
		{ "claude-opus-4-1-20250805", "claude-opus-4-1", 3 },
		{ "Claude-Opus-4-1-20250805", "claude-opus-4-1", 3 },
		{ "anthropic/claude-opus-4-1", "claude-opus-4-1", 3 },
		{ "anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1", 3 },
		{ "us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1", 3 },
		{ "eu.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1", 3 },
		{ "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
		  "us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1", 3 },
		{ "claude-opus-4-1@20250805", "claude-opus-4-1", 3 },
		{ "claude-opus-4-0", "claude-opus-4", 3 },
		{ "claude-sonnet-4-5", "claude-sonnet-4-5", 2 },
		{ "claude-sonnet-4-5[1m]", "claude-sonnet-4-5", 2 },
		{ "anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5", 2 },
		{ "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", 2 },
		{ "claude-sonnet-4-5@20250929", "claude-sonnet-4-5", 2 },
		{ "claude-3-5-haiku-latest", "claude-3-5-haiku", 1 },
		{ "us.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5", 1 },
		{ "gpt-5", "gpt-5", 1 },
		{ "openai/gpt-5", "gpt-5", 1 },
		{ "gpt-5-2025-08-07", "gpt-5", 1 },
		{ "openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini", 1 },
	};
	pricing_t *pr = pricing_new();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(forms); i++) {
		const struct price *want = pricing_find(pr, forms[i].table);
		assert_non_null(want);
		if (pricing_find(pr, forms[i].id) != want)
			fail_msg("%s is not priced as %s", forms[i].id, forms[i].table);
		char *ch[8];
		int n = chain_of(pr, forms[i].id, NULL, 0, ch);
		if (n != forms[i].chain)
			fail_msg("%s: chain of %d, expected %d", forms[i].id, n, forms[i].chain);
		assert_string_equal(ch[0], forms[i].id);
		if (n == 3) {
			assert_string_equal(ch[1], "claude-sonnet-5-5");
			assert_string_equal(ch[2], "claude-haiku-5-5");
		} else if (n == 2) {
			assert_string_equal(ch[1], "claude-haiku-5-5");
		}
		chain_free(ch, n);
	}
	pricing_free(pr);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_dated_form),
		cmocka_unit_test(test_undated),
		cmocka_unit_test(test_family_version),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_every_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
