/*
 * Tests for pricing. Every expected cost is worked out by hand in the
 * comment next to it: tokens x $/MTok = micro-dollars (1 token at $1/MTok
 * is exactly 1 micro-dollar).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "pricing.h"
#include "util.h"

static int
setup(void **state)
{
	*state = pricing_new();
	return 0;
}

static int
teardown(void **state)
{
	pricing_free(*state);
	return 0;
}

static int64_t
cost(pricing_t *p, const char *model, int64_t in, int64_t out, int64_t cr,
    int64_t c5, int64_t c1, int64_t web)
{
	struct usage u;
	memset(&u, 0, sizeof(u));
	u.input_tokens = in;
	u.output_tokens = out;
	u.cache_read_tokens = cr;
	u.cache_write_5m_tokens = c5;
	u.cache_write_1h_tokens = c1;
	u.web_search_requests = web;
	int64_t m = -42;
	int r = pricing_cost(p, model, &u, &m);
	assert_int_equal(r, 0);
	return m;
}

static void
test_sonnet_45_basic(void **state)
{
	pricing_t *p = *state;
	/* 1000*3 + 500*15 + 2000*0.30 + 3000*3.75 = 3000+7500+600+11250 = 22350 */
	assert_int_equal(cost(p, "claude-sonnet-4-5-20250929", 1000, 500, 2000, 3000, 0, 0), 22350);
	/* 1h writes at 2x input: 1000*6 = 6000; same tokens as 5m: 1000*3.75 = 3750 */
	assert_int_equal(cost(p, "claude-sonnet-4-5", 0, 0, 0, 0, 1000, 0), 6000);
	assert_int_equal(cost(p, "claude-sonnet-4-5", 0, 0, 0, 1000, 0, 0), 3750);
	/* web search: 2 x $0.01 = 20000 micros, plus 100 out * 15 = 1500 */
	assert_int_equal(cost(p, "claude-sonnet-4-5", 0, 100, 0, 0, 0, 2), 21500);
}

static void
test_long_context(void **state)
{
	pricing_t *p = *state;
	/* total input 150000 + 60000 = 210000 > 200000: premium on everything:
	 * 150000*6 + 60000*0.60 + 1000*22.50 = 900000 + 36000 + 22500 = 958500 */
	assert_int_equal(cost(p, "claude-sonnet-4-5", 150000, 1000, 60000, 0, 0, 0), 958500);
	/* same on Sonnet 4: 958500; with writes: 190000 in + 10000 5m + 1000 1h
	 * = 201000 > 200000: 190000*6 + 10000*7.5 + 1000*12 = 1140000+75000+12000 = 1227000 */
	assert_int_equal(cost(p, "claude-sonnet-4-20250514", 150000, 1000, 60000, 0, 0, 0), 958500);
	assert_int_equal(cost(p, "claude-sonnet-4", 190000, 0, 0, 10000, 1000, 0), 1227000);
	/* exactly 200000 is not over: 200000*3 = 600000 */
	assert_int_equal(cost(p, "claude-sonnet-4-5", 200000, 0, 0, 0, 0, 0), 600000);
	/* Sonnet 4.6: no premium: 150000*3 + 60000*0.3 + 1000*15 = 450000+18000+15000 = 483000 */
	assert_int_equal(cost(p, "claude-sonnet-4-6", 150000, 1000, 60000, 0, 0, 0), 483000);
	/* Opus 4.6: 300000*5 + 1000*25 = 1500000 + 25000 = 1525000 */
	assert_int_equal(cost(p, "claude-opus-4-6", 300000, 1000, 0, 0, 0, 0), 1525000);
}

static void
test_model_families(void **state)
{
	pricing_t *p = *state;
	/* Opus 4 / 4.1: 1000*15 + 1000*75 = 90000 */
	assert_int_equal(cost(p, "claude-opus-4-1-20250805", 1000, 1000, 0, 0, 0, 0), 90000);
	assert_int_equal(cost(p, "claude-opus-4-20250514", 1000, 1000, 0, 0, 0, 0), 90000);
	/* Opus 4.5: 1000*5 + 1000*25 = 30000 */
	assert_int_equal(cost(p, "claude-opus-4-5-20251101", 1000, 1000, 0, 0, 0, 0), 30000);
	assert_int_equal(cost(p, "claude-opus-4-7", 1000, 1000, 0, 0, 0, 0), 30000);
	/* Haiku 4.5: 1000*1 + 1000*5 + 1000*0.1 + 1000*1.25 + 1000*2 = 1000+5000+100+1250+2000 = 9350 */
	assert_int_equal(cost(p, "claude-haiku-4-5-20251001", 1000, 1000, 1000, 1000, 1000, 0), 9350);
	/* Haiku 3.5: 1000*0.8 + 1000*4 + 1000*0.08 + 1000*1 + 1000*1.6 = 800+4000+80+1000+1600 = 7480 */
	assert_int_equal(cost(p, "claude-3-5-haiku-20241022", 1000, 1000, 1000, 1000, 1000, 0), 7480);
	/* Sonnet 3.7: 1000*3 + 1000*15 = 18000 */
	assert_int_equal(cost(p, "claude-3-7-sonnet-20250219", 1000, 1000, 0, 0, 0, 0), 18000);
	/* gpt-5 (Responses fixture): 1064*1.25 + 11776*0.125 + 930*10 = 1330 + 1472 + 9300 = 12102 */
	assert_int_equal(cost(p, "gpt-5-codex", 1064, 930, 11776, 0, 0, 0), 12102);
	assert_int_equal(cost(p, "gpt-5-2025-08-07", 1064, 930, 11776, 0, 0, 0), 12102);
	/* gpt-4.1-mini: 499*0.4 + 1024*0.1 + 212*1.6 = 199.6 + 102.4 + 339.2 = 641.2 -> 641 */
	assert_int_equal(cost(p, "gpt-4.1-mini-2025-04-14", 499, 212, 1024, 0, 0, 0), 641);
	/* gpt-4o-mini must not be priced as gpt-4o: 1000*0.15 + 1000*0.6 = 750 */
	assert_int_equal(cost(p, "gpt-4o-mini-2024-07-18", 1000, 1000, 0, 0, 0, 0), 750);
	/* gpt-4o: 1000*2.5 + 1000*10 + 1000*1.25 = 13750 */
	assert_int_equal(cost(p, "gpt-4o-2024-08-06", 1000, 1000, 1000, 0, 0, 0), 13750);
	/* o4-mini: 1000*1.1 + 1000*4.4 + 1000*0.275 = 1100+4400+275 = 5775 */
	assert_int_equal(cost(p, "o4-mini-2025-04-16", 1000, 1000, 1000, 0, 0, 0), 5775);
	/* o3: 1000*2 + 1000*8 = 10000 */
	assert_int_equal(cost(p, "o3", 1000, 1000, 0, 0, 0, 0), 10000);
}

static void
test_claude_5x(void **state)
{
	pricing_t *p = *state;
	/* Opus 5.5: read $0.20 is 0.05x input, not 0.1x:
	 * 1000*4 + 1000*20 + 10000*0.20 + 1000*5 + 1000*8
	 * = 4000 + 20000 + 2000 + 5000 + 8000 = 39000 */
	assert_int_equal(cost(p, "claude-opus-5-5", 1000, 1000, 10000, 1000, 1000, 0), 39000);
	/* one million cached tokens: $0.20 = 200000 micros (0.1x would be 400000) */
	assert_int_equal(cost(p, "claude-opus-5-5", 0, 0, 1000000, 0, 0, 0), 200000);
	const struct price *o55 = pricing_find(p, "claude-opus-5-5");
	assert_non_null(o55);
	assert_int_equal(o55->cache_read, 200000);
	assert_int_equal(o55->cache_write_5m, 5000000);
	assert_int_equal(o55->cache_write_1h, 8000000);
	assert_int_equal(o55->long_threshold, 0);
	assert_ptr_equal(pricing_find(p, "claude-opus-5-5[1m]"), o55);
	assert_ptr_equal(pricing_find(p, "anthropic.claude-opus-5-5"), o55);
	/* no long-context premium: 900000*4 + 1000*20 = 3600000 + 20000 = 3620000 */
	assert_int_equal(cost(p, "claude-opus-5-5", 900000, 1000, 0, 0, 0, 0), 3620000);
	/* Opus 5 keeps 0.1x: 1000*5 + 1000*25 + 10000*0.5 = 5000+25000+5000 = 35000 */
	assert_int_equal(cost(p, "claude-opus-5", 1000, 1000, 10000, 0, 0, 0), 35000);
	assert_ptr_not_equal(pricing_find(p, "claude-opus-5"), o55);
	/* Sonnet 5.5 (read $0.10 since 2026-10-07): 1000*2 + 1000*10 + 10000*0.1
	 * + 1000*2.5 + 1000*4 = 2000+10000+1000+2500+4000 = 19500 */
	assert_int_equal(cost(p, "claude-sonnet-5-5", 1000, 1000, 10000, 1000, 1000, 0), 19500);
	/* Sonnet 5 (read $0.20): 1000*2 + 1000*10 + 10000*0.2 = 2000+10000+2000 = 14000 */
	assert_int_equal(cost(p, "claude-sonnet-5", 1000, 1000, 10000, 0, 0, 0), 14000);
	/* Fable 5.1 read $0.25: 1000*10 + 1000*50 + 10000*0.25 = 10000+50000+2500 = 62500;
	 * Fable 5 read $1: 10000+50000+10000 = 70000; Mythos 5.1 as Fable 5.1;
	 * Fable 5.2: 1000*8 + 1000*40 + 10000*0.2 + 1000*10 + 1000*16
	 * = 8000+40000+2000+10000+16000 = 76000 */
	assert_int_equal(cost(p, "claude-fable-5-1", 1000, 1000, 10000, 0, 0, 0), 62500);
	assert_int_equal(cost(p, "claude-mythos-5-1", 1000, 1000, 10000, 0, 0, 0), 62500);
	assert_int_equal(cost(p, "claude-fable-5", 1000, 1000, 10000, 0, 0, 0), 70000);
	assert_int_equal(cost(p, "claude-fable-5-2", 1000, 1000, 10000, 1000, 1000, 0), 76000);
	/* 5m / 1h writes of Fable 5.1: 1000*12.5 + 1000*20 = 32500 */
	assert_int_equal(cost(p, "claude-fable-5-1", 0, 0, 0, 1000, 1000, 0), 32500);
}

static void
test_haiku_55_tiers(void **state)
{
	pricing_t *p = *state;
	const struct price *h = pricing_find(p, "claude-haiku-5-5");
	assert_non_null(h);
	assert_int_equal(h->long_threshold, 100000);
	assert_ptr_equal(pricing_find(p, "claude-haiku-5-5[1m]"), h);
	/* prompt 50000 + 30000 + 10000 + 5000 = 95000 <= 100000, low tier:
	 * 50000*0.10 + 2000*0.50 + 30000*0.01 + 10000*0.125 + 5000*0.20
	 * = 5000 + 1000 + 300 + 1250 + 1000 = 8550 */
	assert_int_equal(cost(p, "claude-haiku-5-5", 50000, 2000, 30000, 10000, 5000, 0), 8550);
	/* exactly 100000 is "up to": 60000*0.1 + 40000*0.01 + 1000*0.5 = 6000+400+500 = 6900 */
	assert_int_equal(cost(p, "claude-haiku-5-5", 60000, 1000, 40000, 0, 0, 0), 6900);
	/* 100001: every token at the high tier, output included:
	 * 60001*0.5 + 40000*0.05 + 1000*2.5 = 30000.5 + 2000 + 2500 = 34500.5 -> 34501 */
	assert_int_equal(cost(p, "claude-haiku-5-5", 60001, 1000, 40000, 0, 0, 0), 34501);
	/* cache reads and writes count towards the prompt: 1000 + 99000 + 1000
	 * = 101000 > 100000: 1000*0.5 + 99000*0.05 + 1000*1 = 500+4950+1000 = 6450;
	 * with a 5m write instead: 500 + 4950 + 1000*0.625 = 6075 */
	assert_int_equal(cost(p, "claude-haiku-5-5", 1000, 0, 99000, 0, 1000, 0), 6450);
	assert_int_equal(cost(p, "claude-haiku-5-5", 1000, 0, 99000, 1000, 0, 0), 6075);
	/* output alone never switches the tier: 100 in + 200000 out = 100 * 0.1 +
	 * 200000 * 0.5 = 10 + 100000 = 100010 */
	assert_int_equal(cost(p, "claude-haiku-5-5", 100, 200000, 0, 0, 0, 0), 100010);
	/* worst case, low: highest input-side rate is the 1h write $0.20:
	 * 50000*0.2 + 1000*0.5 = 10000 + 500 = 10500; high: 1h write $1:
	 * 200000*1 + 1000*2.5 = 200000 + 2500 = 202500 */
	assert_int_equal(pricing_worst_case(p, "claude-haiku-5-5", 50000, 1000), 10500);
	assert_int_equal(pricing_worst_case(p, "claude-haiku-5-5", 200000, 1000), 202500);
}

static void
test_openai_current(void **state)
{
	pricing_t *p = *state;
	/* gpt-6.2-sol (Codex 0.171 default): 1064*2 + 11776*0.10 + 930*10
	 * = 2128 + 1177.6 + 9300 = 12605.6 -> 12606 */
	assert_int_equal(cost(p, "gpt-6.2-sol", 1064, 930, 11776, 0, 0, 0), 12606);
	const struct price *sol = pricing_find(p, "gpt-6.2-sol");
	assert_non_null(sol);
	assert_ptr_equal(pricing_find(p, "openai/gpt-6.2-sol"), sol);
	assert_ptr_equal(pricing_find(p, "gpt-6.2-sol-2026-11-17"), sol);
	assert_int_equal(sol->cache_write_5m, 2500000);
	/* over 272K input (uncached + cached): 250000 + 30000 = 280000:
	 * 250000*4 + 30000*0.2 + 1000*15 = 1000000 + 6000 + 15000 = 1021000 */
	assert_int_equal(cost(p, "gpt-6.2-sol", 250000, 1000, 30000, 0, 0, 0), 1021000);
	/* exactly 272000 stays short: 272000*2 = 544000 */
	assert_int_equal(cost(p, "gpt-6.2-sol", 272000, 0, 0, 0, 0, 0), 544000);
	/* cached input: 6-sol $0.20, 6.1-sol $0.10: 10000*0.2 = 2000, 10000*0.1 = 1000 */
	assert_int_equal(cost(p, "gpt-6-sol", 0, 0, 10000, 0, 0, 0), 2000);
	assert_int_equal(cost(p, "gpt-6.1-sol", 0, 0, 10000, 0, 0, 0), 1000);
	/* gpt-6-luna: 10000*0.1 + 1000*0.5 + 10000*0.01 = 1000+500+100 = 1600 */
	assert_int_equal(cost(p, "gpt-6-luna", 10000, 1000, 10000, 0, 0, 0), 1600);
	/* gpt-6-astra: 1000*10 + 1000*50 + 1000*1 = 61000 */
	assert_int_equal(cost(p, "gpt-6-astra", 1000, 1000, 1000, 0, 0, 0), 61000);
	/* gpt-5.4-nano (OpenCode titles): 1000*0.2 + 1000*1.25 + 1000*0.02
	 * = 200+1250+20 = 1470; must not fall to gpt-5.4 (2500+15000+250 = 17750)
	 * or gpt-5.4-mini (750+4500+75 = 5325) */
	assert_int_equal(cost(p, "gpt-5.4-nano", 1000, 1000, 1000, 0, 0, 0), 1470);
	assert_int_equal(cost(p, "gpt-5.4-nano-2026-03-17", 1000, 1000, 1000, 0, 0, 0), 1470);
	assert_int_equal(cost(p, "gpt-5.4", 1000, 1000, 1000, 0, 0, 0), 17750);
	assert_int_equal(cost(p, "gpt-5.4-mini", 1000, 1000, 1000, 0, 0, 0), 5325);
	/* gpt-5.3-codex: 1000*1.75 + 1000*14 + 1000*0.175 = 1750+14000+175 = 15925 */
	assert_int_equal(cost(p, "gpt-5.3-codex", 1000, 1000, 1000, 0, 0, 0), 15925);
	/* worst case over 272K uses the premium write rate $5 and output $15:
	 * 300000*5 + 1000*15 = 1500000 + 15000 = 1515000 */
	assert_int_equal(pricing_worst_case(p, "gpt-6.2-sol", 300000, 1000), 1515000);
}

static void
test_rounding_once(void **state)
{
	pricing_t *p = *state;
	/* gpt-5-nano: 8*0.05 + 1*0.40 + 80*0.005 = 0.4 + 0.4 + 0.4 = 1.2 -> 1
	 * (rounding each term would give 0) */
	assert_int_equal(cost(p, "gpt-5-nano", 8, 1, 80, 0, 0, 0), 1);
	/* half up: 10*0.05 = 0.5 -> 1; 9*0.05 = 0.45 -> 0 */
	assert_int_equal(cost(p, "gpt-5-nano", 10, 0, 0, 0, 0, 0), 1);
	assert_int_equal(cost(p, "gpt-5-nano", 9, 0, 0, 0, 0, 0), 0);
	/* big numbers do not overflow: 4e9 output tokens of Opus 4 at $75 = $300000 */
	assert_int_equal(cost(p, "claude-opus-4", 0, 4000000000LL, 0, 0, 0, 0), 300000000000LL);
	/* negative counts are ignored */
	assert_int_equal(cost(p, "claude-opus-4", -5, 0, 0, 0, 0, 0), 0);
}

static void
test_aliases(void **state)
{
	pricing_t *p = *state;
	const struct price *s45 = pricing_find(p, "claude-sonnet-4-5");
	assert_non_null(s45);
	assert_int_equal(s45->input, 3000000);
	assert_int_equal(s45->output, 15000000);
	assert_int_equal(s45->cache_write_5m, 3750000);
	assert_int_equal(s45->cache_write_1h, 6000000);
	assert_int_equal(s45->cache_read, 300000);
	assert_int_equal(s45->long_threshold, 200000);
	assert_int_equal(s45->long_output, 22500000);
	assert_ptr_equal(pricing_find(p, "claude-sonnet-4-5-20250929"), s45);
	assert_ptr_equal(pricing_find(p, "anthropic/claude-sonnet-4-5"), s45);
	assert_ptr_equal(pricing_find(p, "claude-sonnet-4-5[1m]"), s45);
	assert_ptr_equal(pricing_find(p, "Claude-Sonnet-4-5-20250929"), s45);
	assert_ptr_equal(pricing_find(p, "claude-sonnet-4-5@20250929"), s45);
	assert_ptr_equal(pricing_find(p, "us.anthropic.claude-sonnet-4-5-20250929-v1:0"), s45);
	const struct price *s4 = pricing_find(p, "claude-sonnet-4");
	assert_non_null(s4);
	assert_ptr_not_equal(s4, s45);
	assert_ptr_equal(pricing_find(p, "claude-sonnet-4-0"), s4);
	assert_ptr_equal(pricing_find(p, "claude-4-sonnet-20250514"), s4);
	assert_ptr_equal(pricing_find(p, "claude-sonnet-4-20250514"), s4);
	assert_ptr_equal(pricing_find(p, "claude-opus-4-1-20250805"), pricing_find(p, "claude-opus-4-1"));
	assert_ptr_equal(pricing_find(p, "claude-3-5-haiku-latest"), pricing_find(p, "claude-3-5-haiku"));
	assert_ptr_equal(pricing_find(p, "openai/gpt-5-mini"), pricing_find(p, "gpt-5-mini"));
	assert_ptr_not_equal(pricing_find(p, "gpt-5-mini"), pricing_find(p, "gpt-5"));
}

static void
test_unknown(void **state)
{
	pricing_t *p = *state;
	const char *unknown[] = { "claude-opus-4-9", "gpt-5.1-mystery", "claude-sonnet-4-5-foo",
	    "llama-3", "", "claude", "gpt-5-", "o3x", "gpt-6.2-astra", "claude-opus-5-1",
	    "claude-haiku-5-5-x", "gpt-6.2-sol-mini" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(unknown); i++) {
		assert_null(pricing_find(p, unknown[i]));
		struct usage u = { .input_tokens = 1000, .output_tokens = 1000 };
		int64_t m = 77;
		assert_int_equal(pricing_cost(p, unknown[i], &u, &m), -1);
		assert_int_equal(m, 0);
	}
	assert_null(pricing_find(p, NULL));
}

static void
test_worst_case(void **state)
{
	pricing_t *p = *state;
	/* sonnet 4.5, 10000 in at the highest input-side rate (1h write $6) +
	 * 4000 out * 15: 60000 + 60000 = 120000 */
	assert_int_equal(pricing_worst_case(p, "claude-sonnet-4-5", 10000, 4000), 120000);
	/* over 200K: premium 1h rate $12 and out $22.5:
	 * 300000*12 + 1000*22.5 = 3600000 + 22500 = 3622500 */
	assert_int_equal(pricing_worst_case(p, "claude-sonnet-4-5", 300000, 1000), 3622500);
	/* unknown model: the most expensive table entry (Opus 4, 1h write $30, out $75):
	 * 10000*30 + 4000*75 = 300000 + 300000 = 600000 */
	assert_int_equal(pricing_worst_case(p, "mystery-model", 10000, 4000), 600000);
	/* rounds up: 1 token of gpt-5-nano at $0.05 -> 1 micro */
	assert_int_equal(pricing_worst_case(p, "gpt-5-nano", 1, 0), 1);
	/* worst case is never below the real cost */
	int64_t real = cost(p, "claude-sonnet-4-5", 10000, 4000, 0, 0, 0, 0);
	assert_true(pricing_worst_case(p, "claude-sonnet-4-5", 10000, 4000) >= real);
}

/* The reservation bound: input at the 5-minute write rate unless marked
 * for an hour, output at the output rate; and the output that fits. */
static void
test_bound(void **state)
{
	pricing_t *p = *state;
	/* sonnet 4.5: 5m write $3.75, 1h write $6, out $15 */
	assert_int_equal(pricing_bound(p, "claude-sonnet-4-5", 10000, 0, 4000), 37500 + 60000);
	assert_int_equal(pricing_bound(p, "claude-sonnet-4-5", 10000, 4000, 4000),
	    6000 * 3.75 + 4000 * 6 + 60000);
	assert_int_equal(pricing_bound(p, "claude-sonnet-4-5", 10000, 99999, 0), 60000);  /* capped */
	/* over 200K input: the long-context rates ($7.50 5m write, $22.50 out) */
	assert_int_equal(pricing_bound(p, "claude-sonnet-4-5", 300000, 0, 1000), 2250000 + 22500);
	/* unknown: the dearest entry */
	assert_true(pricing_bound(p, "mystery", 10000, 0, 4000) >=
	    pricing_bound(p, "claude-opus-4-1", 10000, 0, 4000));
	assert_int_equal(pricing_bound(NULL, "claude-sonnet-4-5", 10, 0, 10), 0);
	/* never below what the tokens cost in any mix (1h writes only where marked) */
	int64_t real = cost(p, "claude-sonnet-4-5", 2000, 4000, 1000, 7000, 0, 0);
	assert_true(pricing_bound(p, "claude-sonnet-4-5", 10000, 0, 4000) >= real);
	real = cost(p, "claude-sonnet-4-5", 0, 4000, 0, 6000, 4000, 0);
	assert_true(pricing_bound(p, "claude-sonnet-4-5", 10000, 4000, 4000) >= real);
	assert_true(pricing_bound(p, "claude-sonnet-4-5", 10000, 0, 4000) < real);
	/* the output that fits: 100000 micros - 37500 input = 62500 -> 4166 tokens at $15 */
	assert_int_equal(pricing_bound_fit(p, "claude-sonnet-4-5", 10000, 0, 1, 32000, 100000), 4166);
	assert_true(pricing_bound(p, "claude-sonnet-4-5", 10000, 0, 4166) <= 100000);
	assert_true(pricing_bound(p, "claude-sonnet-4-5", 10000, 0, 4167) > 100000);
	/* per choice: 3 choices of 1388 */
	assert_int_equal(pricing_bound_fit(p, "claude-sonnet-4-5", 10000, 0, 3, 32000, 100000), 1388);
	/* capped at max; -1 when the input alone does not fit */
	assert_int_equal(pricing_bound_fit(p, "claude-sonnet-4-5", 10000, 0, 1, 100, 100000), 100);
	assert_int_equal(pricing_bound_fit(p, "claude-sonnet-4-5", 10000, 0, 1, 100, 37499), -1);
}

static void
test_models_list(void **state)
{
	pricing_t *p = *state;
	const char *ids[128];
	int n = pricing_models(p, ids, 128);
	assert_true(n >= 20 && n < 128);
	/* the policy's default chain picks the newest id per family from this
	 * list: the 5.5 ids must be in it, as plain ids (no date) */
	const char *want[] = { "claude-haiku-4-5", "claude-opus-5-5", "claude-sonnet-5-5",
	    "claude-haiku-5-5", "gpt-6.2-sol", "gpt-5.4-nano" };
	int found[UTIL_ARRAY_LEN(want)] = { 0 };
	for (int i = 0; i < n; i++) {
		assert_non_null(pricing_find(p, ids[i]));
		for (size_t k = 0; k < UTIL_ARRAY_LEN(want); k++)
			if (strcmp(ids[i], want[k]) == 0)
				found[k]++;
	}
	for (size_t k = 0; k < UTIL_ARRAY_LEN(want); k++)
		if (found[k] != 1)
			fail_msg("%s listed %d times", want[k], found[k]);
	assert_int_equal(pricing_models(p, ids, 3), 3);
}

static int
load_json(pricing_t *p, const char *json, char **err)
{
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	int r = pricing_load(p, o, err);
	cJSON_Delete(o);
	return r;
}

static void
test_config_override(void **state)
{
	pricing_t *p = *state;
	char *err = NULL;
	assert_int_equal(load_json(p, "{\"claude-sonnet-4-5\": {\"input\": 4, \"output\": 20},"
	    "\"Local-Model\": {\"input\": 0.5, \"output\": 1, \"cache_read\": 0.01},"
	    "\"big\": {\"input\": 1, \"output\": 2, \"long_threshold\": 1000}}", &err), 0);
	assert_null(err);
	/* override: caches from multipliers: 5m 5, 1h 8, read 0.4; no premium.
	 * 1000*4 + 1000*20 + 1000*0.4 + 1000*5 + 1000*8 = 4000+20000+400+5000+8000 = 37400 */
	assert_int_equal(cost(p, "claude-sonnet-4-5-20250929", 1000, 1000, 1000, 1000, 1000, 0), 37400);
	assert_int_equal(pricing_find(p, "claude-sonnet-4-5")->long_threshold, 0);
	/* new model: 1000*0.5 + 1000*1 + 1000*0.01 = 500+1000+10 = 1510 */
	assert_int_equal(cost(p, "local-model", 1000, 1000, 1000, 0, 0, 0), 1510);
	/* long_threshold with default premium (in 2x = 2, out 1.5x = 3):
	 * 2000 in > 1000: 2000*2 + 100*3 = 4300; 1000 in: 1000*1 + 100*2 = 1200 */
	assert_int_equal(cost(p, "big", 2000, 100, 0, 0, 0, 0), 4300);
	assert_int_equal(cost(p, "big", 1000, 100, 0, 0, 0, 0), 1200);
}

static void
test_config_errors(void **state)
{
	pricing_t *p = *state;
	struct { const char *json, *msg; } bad[] = {
		{ "{\"m\": {\"input\": \"3\", \"output\": 15}}", "key prices.m.input: expected" },
		{ "{\"m\": {\"input\": 3}}",
		  "key prices.m.output: expected a number of USD per million tokens (required)" },
		{ "{\"m\": {\"input\": 3, \"output\": 15, \"inptu\": 1}}",
		  "key prices.m.inptu: expected one of input, output, cache_write_5m" },
		{ "{\"m\": {\"input\": -1, \"output\": 15}}", "key prices.m.input: expected" },
		{ "{\"m\": 3}", "key prices.m: expected an object" },
		{ "{\"m\": {\"input\": 3, \"output\": 15, \"long_threshold\": \"x\"}}",
		  "key prices.m.long_threshold: expected" },
		{ "{\"ok-model\": {\"input\": 1, \"output\": 1}, \"m\": {\"input\": 3, \"output\": 15,"
		  " \"cache_read\": null}}", "key prices.m.cache_read: expected" },
		{ "[1]", "key prices: expected an object" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		char *err = NULL;
		assert_int_equal(load_json(p, bad[i].json, &err), -1);
		assert_non_null(err);
		if (strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("error \"%s\" does not start with \"%s\"", err, bad[i].msg);
		free(err);
	}
	/* a failed load changes nothing, not even the valid entries before the bad one */
	assert_null(pricing_find(p, "ok-model"));
	assert_null(pricing_find(p, "m"));
	char *err = NULL;
	assert_int_equal(pricing_load(p, NULL, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sonnet_45_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_families, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claude_5x, setup, teardown),
		cmocka_unit_test_setup_teardown(test_haiku_55_tiers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openai_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rounding_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worst_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_models_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
