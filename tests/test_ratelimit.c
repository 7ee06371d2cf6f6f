/*
 * Tests for ratelimit: the real Anthropic header sample from API_NOTES
 * §3.1, subscription unified headers, OpenAI x-ratelimit-*, retry-after
 * forms, time formats, garbage, and the per-key table. Expected epoch
 * values were computed with `date -u -d <time> +%s`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "ratelimit.h"
#include "util.h"

#define T_1240_59 1755780059.0   /* 2025-08-21T12:40:59Z */
#define NOW (T_1240_59 - 30)

static void
parse_block(struct rl_state *st, const char *block, double now, int *recognised)
{
	char *copy = xstrdup(block);
	char *save = NULL;
	*recognised = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		assert_non_null(colon);
		*colon = '\0';
		*recognised += ratelimit_parse_header(st, line, colon + 1, now);
	}
	free(copy);
}

static void
test_anthropic_sample(void **state)
{
	(void)state;
	/* observed real response, API_NOTES §3.1 (tidyllm fixture, 2025-08-21) */
	const char *sample =
	    "anthropic-ratelimit-input-tokens-limit: 80000\n"
	    "anthropic-ratelimit-input-tokens-remaining: 80000\n"
	    "anthropic-ratelimit-input-tokens-reset: 2025-08-21T12:40:59Z\n"
	    "anthropic-ratelimit-output-tokens-limit: 16000\n"
	    "anthropic-ratelimit-output-tokens-remaining: 16000\n"
	    "anthropic-ratelimit-output-tokens-reset: 2025-08-21T12:41:00Z\n"
	    "anthropic-ratelimit-requests-limit: 1000\n"
	    "anthropic-ratelimit-requests-remaining: 999\n"
	    "anthropic-ratelimit-requests-reset: 2025-08-21T12:40:59Z\n"
	    "anthropic-ratelimit-tokens-limit: 96000\n"
	    "Anthropic-RateLimit-Tokens-Remaining: 96000\n"
	    "anthropic-ratelimit-tokens-reset: 2025-08-21T12:40:59Z\n"
	    "request-id: req_011CSLsW7mFqvHHnzrKdKjAE\n"
	    "content-type: application/json\n";
	struct rl_state st;
	rl_state_init(&st);
	assert_int_equal(st.requests.limit, -1);
	int n;
	parse_block(&st, sample, NOW, &n);
	assert_int_equal(n, 12);
	assert_int_equal(st.input_tokens.limit, 80000);
	assert_int_equal(st.input_tokens.remaining, 80000);
	assert_true(st.input_tokens.reset == T_1240_59);
	assert_int_equal(st.output_tokens.limit, 16000);
	assert_true(st.output_tokens.reset == T_1240_59 + 1);
	assert_int_equal(st.requests.limit, 1000);
	assert_int_equal(st.requests.remaining, 999);
	assert_int_equal(st.tokens.limit, 96000);
	assert_int_equal(st.tokens.remaining, 96000);
	assert_true(st.tokens.reset == T_1240_59);
	assert_true(st.updated == NOW);
	assert_true(st.retry_after_until == 0);
	assert_true(ratelimit_not_before(&st, NOW) == 0);

	/* exhausted requests: wait for its reset */
	assert_int_equal(ratelimit_parse_header(&st, "anthropic-ratelimit-requests-remaining", "0", NOW), 1);
	assert_true(ratelimit_not_before(&st, NOW) == T_1240_59);
	assert_true(ratelimit_not_before(&st, T_1240_59 + 5) == 0);
	/* 429 with retry-after: 45 s from now wins if later */
	assert_int_equal(ratelimit_parse_header(&st, "Retry-After", "45", NOW), 1);
	assert_true(st.retry_after_until == NOW + 45);
	assert_true(ratelimit_not_before(&st, NOW) == NOW + 45);
}

static void
test_unified(void **state)
{
	(void)state;
	const char *sample =
	    "anthropic-ratelimit-unified-status: allowed_warning\n"
	    "anthropic-ratelimit-unified-reset: 1770685200\n"
	    "anthropic-ratelimit-unified-representative-claim: five_hour\n"
	    "anthropic-ratelimit-unified-5h-status: allowed_warning\n"
	    "anthropic-ratelimit-unified-5h-reset: 1770685200\n"
	    "anthropic-ratelimit-unified-5h-utilization: 0.42\n"
	    "anthropic-ratelimit-unified-7d-status: allowed\n"
	    "anthropic-ratelimit-unified-7d-reset: 1771200000\n"
	    "anthropic-ratelimit-unified-7d-utilization: 0.30\n"
	    "anthropic-ratelimit-unified-7d_opus-utilization: 0.9\n"
	    "anthropic-ratelimit-unified-fallback-percentage: 0.5\n"
	    "anthropic-ratelimit-unified-overage-disabled-reason: org_spend_cap_reached\n";
	struct rl_state st;
	rl_state_init(&st);
	int n;
	parse_block(&st, sample, 1770680000.0, &n);
	assert_int_equal(n, 12);
	assert_string_equal(st.unified_status, "allowed_warning");
	assert_string_equal(st.unified_claim, "five_hour");
	assert_true(st.unified_reset == 1770685200.0);
	assert_string_equal(st.w5h.status, "allowed_warning");
	assert_true(st.w5h.reset == 1770685200.0);
	assert_true(st.w5h.utilization > 0.4199 && st.w5h.utilization < 0.4201);
	assert_string_equal(st.w7d.status, "allowed");
	assert_true(st.w7d.reset == 1771200000.0);
	assert_true(st.w7d.utilization > 0.2999 && st.w7d.utilization < 0.3001);
	assert_true(ratelimit_not_before(&st, 1770680000.0) == 0);
	ratelimit_parse_header(&st, "anthropic-ratelimit-unified-status", "rejected", 1770680000.0);
	assert_true(ratelimit_not_before(&st, 1770680000.0) == 1770685200.0);
	/* garbage utilization / reset leave the old values */
	ratelimit_parse_header(&st, "anthropic-ratelimit-unified-5h-utilization", "high", 1.0);
	ratelimit_parse_header(&st, "anthropic-ratelimit-unified-5h-reset", "soon", 1.0);
	assert_true(st.w5h.utilization > 0.4199 && st.w5h.utilization < 0.4201);
	assert_true(st.w5h.reset == 1770685200.0);
	/* over-long status is truncated, not overflowed */
	ratelimit_parse_header(&st, "anthropic-ratelimit-unified-status",
	    "a_very_long_status_value_that_does_not_fit", 1.0);
	assert_int_equal(strlen(st.unified_status), sizeof(st.unified_status) - 1);
}

static void
test_openai(void **state)
{
	(void)state;
	const char *sample =
	    "x-ratelimit-limit-requests: 60\n"
	    "x-ratelimit-limit-tokens: 150000\n"
	    "x-ratelimit-remaining-requests: 59\n"
	    "x-ratelimit-remaining-tokens: 149984\n"
	    "x-ratelimit-reset-requests: 1s\n"
	    "x-ratelimit-reset-tokens: 6m0s\n"
	    "x-request-id: req_abc\n"
	    "openai-processing-ms: 120\n";
	struct rl_state st;
	rl_state_init(&st);
	int n;
	parse_block(&st, sample, 1000.0, &n);
	assert_int_equal(n, 6);
	assert_int_equal(st.requests.limit, 60);
	assert_int_equal(st.requests.remaining, 59);
	assert_int_equal(st.tokens.limit, 150000);
	assert_int_equal(st.tokens.remaining, 149984);
	assert_true(st.requests.reset == 1001.0);
	assert_true(st.tokens.reset == 1360.0);
	assert_int_equal(ratelimit_parse_header(&st, "x-ratelimit-reset-tokens", "20ms", 1000.0), 1);
	assert_true(st.tokens.reset > 1000.0199 && st.tokens.reset < 1000.0201);
	/* unknown x-ratelimit-* variants are recognised but not kept */
	assert_int_equal(ratelimit_parse_header(&st, "x-ratelimit-limit-images", "5", 1000.0), 1);
	assert_int_equal(ratelimit_parse_header(&st, "x-request-id", "5", 1000.0), 0);
}

static void
test_durations(void **state)
{
	(void)state;
	struct { const char *s; double v; } ok[] = {
		{ "6m0s", 360 }, { "1s", 1 }, { "20ms", 0.02 }, { "1h2m3s", 3723 },
		{ "0", 0 }, { "0s", 0 }, { "1.5s", 1.5 }, { "2m30.5s", 150.5 },
		{ "500us", 0.0005 }, { "7ns", 7e-9 }, { " 3s ", 3 },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(ok); i++) {
		double d = ratelimit_parse_duration(ok[i].s);
		if (!(d > ok[i].v - 1e-9 && d < ok[i].v + 1e-9))
			fail_msg("duration \"%s\" = %g, want %g", ok[i].s, d, ok[i].v);
	}
	const char *bad[] = { "", "5", "abc", "1x", "s", "ms", "1h-2m", "-1s", "1e3s",
	    "0x10s", "1 s", "1s2", NULL };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		double d = ratelimit_parse_duration(bad[i]);
		if (d != -1)
			fail_msg("duration \"%s\" = %g, want -1", bad[i] ? bad[i] : "(null)", d);
	}
}

static void
test_retry_after(void **state)
{
	(void)state;
	const double date = 1445412480.0;  /* Wed, 21 Oct 2015 07:28:00 GMT */
	assert_true(ratelimit_parse_retry_after("30", 0) == 30);
	assert_true(ratelimit_parse_retry_after(" 1.5 ", 0) == 1.5);
	assert_true(ratelimit_parse_retry_after("0", 0) == 0);
	assert_true(ratelimit_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", date - 10) == 10);
	assert_true(ratelimit_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", date - 10) == 10);
	assert_true(ratelimit_parse_retry_after("Wed Oct 21 07:28:00 2015", date - 10) == 10);
	/* a date in the past means "now" */
	assert_true(ratelimit_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", date + 100) == 0);
	assert_true(ratelimit_parse_retry_after("-5", 0) == -1);
	assert_true(ratelimit_parse_retry_after("soon", 0) == -1);
	assert_true(ratelimit_parse_retry_after("", 0) == -1);
	assert_true(ratelimit_parse_retry_after("1e9", 0) == -1);
	assert_true(ratelimit_parse_retry_after("inf", 0) == -1);
	assert_true(ratelimit_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT junk", 0) == -1);
	assert_true(ratelimit_parse_retry_after(NULL, 0) == -1);
	assert_true(ratelimit_parse_retry_after_ms("1500") == 1.5);
	assert_true(ratelimit_parse_retry_after_ms("250.5") == 0.2505);
	assert_true(ratelimit_parse_retry_after_ms("x") == -1);

	struct rl_state st;
	rl_state_init(&st);
	assert_int_equal(ratelimit_parse_header(&st, "retry-after-ms", "1500", 100.0), 1);
	assert_true(st.retry_after_until == 101.5);
	assert_int_equal(ratelimit_parse_header(&st, "retry-after", "bogus", 200.0), 1);
	assert_true(st.retry_after_until == 101.5);    /* unchanged */
	assert_true(st.updated == 100.0);
}

/* Issue 14: every time value read from the network is clamped. A
 * retry-after of 3000000000 once overflowed the pacing's int ("for another
 * -2147483648 s") and locked the key out until restart. */
static void
test_clamped(void **state)
{
	(void)state;
	const double now = 1800000000.0;
	assert_true(ratelimit_parse_retry_after("3000000000", now) == RATELIMIT_MAX_RETRY_AFTER);
	assert_true(ratelimit_parse_retry_after("99999999999999999999999999999999999", now) ==
	    RATELIMIT_MAX_RETRY_AFTER);
	assert_true(ratelimit_parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) ==
	    RATELIMIT_MAX_RETRY_AFTER);
	assert_true(ratelimit_parse_retry_after("899", now) == 899);
	assert_true(ratelimit_parse_retry_after_ms("3000000000000") == RATELIMIT_MAX_RETRY_AFTER);
	assert_true(ratelimit_parse_duration("99999999999h") == RATELIMIT_MAX_RESET);
	assert_true(ratelimit_parse_retry_after("-3000000000", now) == -1);
	assert_true(ratelimit_parse_retry_after("3e9", now) == -1);

	struct rl_state st;
	rl_state_init(&st);
	assert_int_equal(ratelimit_parse_header(&st, "retry-after", "3000000000", now), 1);
	assert_true(st.retry_after_until == now + RATELIMIT_MAX_RETRY_AFTER);
	assert_true(ratelimit_not_before(&st, now) == now + RATELIMIT_MAX_RETRY_AFTER);
	assert_int_equal(ratelimit_parse_header(&st, "retry-after-ms", "1e400", now), 1);
	assert_true(st.retry_after_until == now + RATELIMIT_MAX_RETRY_AFTER);   /* unchanged */

	/* resets: absolute (RFC 3339, epoch) and relative (OpenAI), any size */
	const char *block[][2] = {
		{ "anthropic-ratelimit-requests-reset", "9999-12-31T23:59:59Z" },
		{ "anthropic-ratelimit-tokens-reset", "99999999999999999999999999999999999999" },
		{ "anthropic-ratelimit-unified-reset", "1" "000000000000000000000000000000000000000" },
		{ "anthropic-ratelimit-unified-5h-reset", "4000000000" },
		{ "anthropic-ratelimit-unified-7d-reset", "9999-12-31T23:59:59Z" },
		{ "anthropic-ratelimit-unified-5h-utilization", "123456789" },
		{ "x-ratelimit-reset-requests", "3000000000" },
		{ "anthropic-ratelimit-requests-remaining", "0" },
		{ "anthropic-ratelimit-unified-status", "rejected" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(block); i++)
		assert_int_equal(ratelimit_parse_header(&st, block[i][0], block[i][1], now), 1);
	assert_true(st.tokens.reset == now + RATELIMIT_MAX_RESET);
	assert_true(st.unified_reset == now + RATELIMIT_MAX_RESET);
	assert_true(st.w5h.reset == now + RATELIMIT_MAX_RESET);
	assert_true(st.w7d.reset == now + RATELIMIT_MAX_RESET);
	assert_true(st.w5h.utilization == 1.0);
	assert_true(st.requests.reset == now + RATELIMIT_MAX_RESET);   /* the OpenAI one, last */
	assert_true(ratelimit_not_before(&st, now) == now + RATELIMIT_MAX_RESET);
	/* still fits the int a refusal's retry-after is written with */
	assert_true(RATELIMIT_MAX_RESET < 2147483647.0);
}

static void
test_rfc3339(void **state)
{
	(void)state;
	assert_true(ratelimit_parse_rfc3339("2025-08-21T12:40:59Z") == T_1240_59);
	assert_true(ratelimit_parse_rfc3339("2025-08-21t12:40:59z") == T_1240_59);
	assert_true(ratelimit_parse_rfc3339("2025-08-21 12:40:59Z") == T_1240_59);
	assert_true(ratelimit_parse_rfc3339("2025-08-21T12:40:59.25Z") == T_1240_59 + 0.25);
	assert_true(ratelimit_parse_rfc3339("2025-08-21T14:40:59+02:00") == T_1240_59);
	assert_true(ratelimit_parse_rfc3339("2025-08-21T07:40:59-05:00") == T_1240_59);
	assert_true(ratelimit_parse_rfc3339("2025-08-21T12:10:59.5-00:30") == T_1240_59 + 0.5);
	assert_true(ratelimit_parse_rfc3339("2024-02-29T00:00:00Z") == 1709164800.0);
	const char *bad[] = { "2025-13-01T00:00:00Z", "2025-08-21", "2025-08-21T12:40:59",
	    "2025-08-21T12:40:59Zjunk", "", "2025-08-21T25:00:00Z", "2025-02-30T00:00:00Z",
	    "2025-08-21T12:40:59+0200", "2025-08-21T12:40:59.Z", "1755780059", "garbage", NULL };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		if (ratelimit_parse_rfc3339(bad[i]) != -1)
			fail_msg("\"%s\" parsed", bad[i] ? bad[i] : "(null)");
}

static void
test_garbage_headers(void **state)
{
	(void)state;
	struct rl_state st;
	rl_state_init(&st);
	struct { const char *n, *v; } junk[] = {
		{ "anthropic-ratelimit-requests-limit", "lots" },
		{ "anthropic-ratelimit-requests-remaining", "-1" },
		{ "anthropic-ratelimit-requests-remaining", "12abc" },
		{ "anthropic-ratelimit-tokens-limit", "99999999999999999999999" },
		{ "anthropic-ratelimit-tokens-reset", "tomorrow" },
		{ "x-ratelimit-reset-tokens", "6 minutes" },
		{ "anthropic-ratelimit-requests-bogus", "1" },
		{ "anthropic-ratelimit-unified-5h-utilization", "" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(junk); i++)
		assert_int_equal(ratelimit_parse_header(&st, junk[i].n, junk[i].v, 5.0), 1);
	assert_int_equal(st.requests.limit, -1);
	assert_int_equal(st.requests.remaining, -1);
	assert_int_equal(st.tokens.limit, -1);
	assert_true(st.tokens.reset == 0);
	assert_true(st.w5h.utilization == -1);
	assert_true(st.updated == 0);
	assert_int_equal(ratelimit_parse_header(&st, "content-length", "12", 5.0), 0);
	assert_int_equal(ratelimit_parse_header(&st, NULL, "12", 5.0), 0);
	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ratelimit_parse_header(&st, longname, "1", 5.0), 0);
}

static struct rl_state
keyed(const char *key, int64_t remaining, double now)
{
	struct rl_state st;
	rl_state_init(&st);
	snprintf(st.key_hash, sizeof(st.key_hash), "%s", key);
	if (remaining >= 0) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)remaining);
		ratelimit_parse_header(&st, "anthropic-ratelimit-requests-remaining", v, now);
	}
	return st;
}

static void
test_table(void **state)
{
	(void)state;
	rl_table_t *t = rl_table_new();
	struct rl_state out[RATELIMIT_MAX_KEYS + 4];
	assert_int_equal(rl_table_snapshot(t, out, RATELIMIT_MAX_KEYS), 0);

	struct rl_state a = keyed("00000000000000aa", 10, 1.0);
	ratelimit_parse_header(&a, "anthropic-ratelimit-requests-limit", "50", 1.0);
	rl_table_merge(t, &a);
	/* a later state with only retry-after keeps the known buckets */
	struct rl_state a2 = keyed("00000000000000aa", -1, 2.0);
	ratelimit_parse_header(&a2, "retry-after", "7", 2.0);
	rl_table_merge(t, &a2);
	struct rl_state got;
	assert_int_equal(rl_table_get(t, "00000000000000aa", &got), 1);
	assert_int_equal(got.requests.limit, 50);
	assert_int_equal(got.requests.remaining, 10);
	assert_true(got.retry_after_until == 9.0);
	assert_true(got.updated == 2.0);
	assert_int_equal(rl_table_get(t, "nope", &got), 0);
	assert_int_equal(rl_table_get(t, "", &got), 0);

	/* an empty key is ignored */
	struct rl_state e = keyed("", 3, 1.0);
	rl_table_merge(t, &e);
	assert_int_equal(rl_table_snapshot(t, out, RATELIMIT_MAX_KEYS), 1);

	/* fill the table, then refresh "aa" so key 1 becomes the oldest */
	char key[17];
	for (int i = 1; i < RATELIMIT_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "%016x", i);
		struct rl_state s = keyed(key, i, 3.0 + i);
		rl_table_merge(t, &s);
	}
	assert_int_equal(rl_table_snapshot(t, out, RATELIMIT_MAX_KEYS + 4), RATELIMIT_MAX_KEYS);
	rl_table_merge(t, &a2);
	struct rl_state n = keyed("00000000000000ff", 1, 100.0);
	rl_table_merge(t, &n);
	assert_int_equal(rl_table_snapshot(t, out, RATELIMIT_MAX_KEYS + 4), RATELIMIT_MAX_KEYS);
	assert_int_equal(rl_table_get(t, "0000000000000001", &got), 0);   /* evicted */
	assert_int_equal(rl_table_get(t, "00000000000000aa", &got), 1);
	assert_int_equal(rl_table_get(t, "00000000000000ff", &got), 1);
	assert_int_equal(got.requests.remaining, 1);
	assert_int_equal(got.requests.limit, -1);   /* fresh slot, nothing inherited */
	assert_int_equal(rl_table_get(t, "0000000000000002", &got), 1);
	assert_int_equal(rl_table_snapshot(t, out, 3), 3);
	rl_table_free(t);
}

static void *
merger(void *p)
{
	rl_table_t *t = p;
	for (int i = 0; i < 2000; i++) {
		char key[17];
		snprintf(key, sizeof(key), "%016x", i % 40);
		struct rl_state s = keyed(key, i, (double)i);
		rl_table_merge(t, &s);
		struct rl_state out[RATELIMIT_MAX_KEYS];
		int n = rl_table_snapshot(t, out, RATELIMIT_MAX_KEYS);
		for (int k = 0; k < n; k++)
			if (strlen(out[k].key_hash) != 16)
				return (void *)1;
	}
	return NULL;
}

static void
test_table_threads(void **state)
{
	(void)state;
	rl_table_t *t = rl_table_new();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, merger, t), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_null(r);
	}
	struct rl_state out[RATELIMIT_MAX_KEYS];
	assert_int_equal(rl_table_snapshot(t, out, RATELIMIT_MAX_KEYS), RATELIMIT_MAX_KEYS);
	rl_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_sample),
		cmocka_unit_test(test_unified),
		cmocka_unit_test(test_openai),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_clamped),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_garbage_headers),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
