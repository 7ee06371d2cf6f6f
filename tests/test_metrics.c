/*
 * Unit tests for metrics: the page drawn from a stats store and the
 * (route, model) counts: families with one HELP and TYPE each, every
 * series in its family's order, dollars from micro-dollars, label values
 * escaped, routes without stats left out, the count table full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "util.h"

static int
count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_page(void **state)
{
	stats_t *st = stats_new(2, -1);
	struct stats_result r = {
		.route = 0, .status = 200, .model_used = "m1", .priced = 1, .cost_micros = 1234567,
		.usage = { .input_tokens = 10, .output_tokens = 20, .cache_read_tokens = 30,
			.cache_write_5m_tokens = 40, .cache_write_1h_tokens = 50, .has_usage = 1 },
		.retries = 2, .fallbacks = 1, .n529 = 2,
	};
	stats_begin(st, 0, 0);
	stats_end(st, &r, 0);
	stats_begin(st, 1, 0);   /* in flight */
	metrics_t *m = metrics_new();
	metrics_count_request(m, 0, "m1");
	metrics_count_request(m, 0, "m1");
	metrics_count_request(m, 1, "we\"ird\nmo\\del");
	struct metrics_route routes[] = { { "alpha", 0 }, { "be\"ta", 1 }, { "none", -1 } };
	char *t = metrics_render(m, routes, 3, st);
	assert_non_null(strstr(t, "tokmux_requests_total{route=\"alpha\",model=\"m1\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{route=\"be\\\"ta\","
	    "model=\"we\\\"ird\\nmo\\\\del\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_tokens_total{route=\"alpha\",kind=\"input\"} 10\n"
	    "tokmux_tokens_total{route=\"alpha\",kind=\"output\"} 20\n"
	    "tokmux_tokens_total{route=\"alpha\",kind=\"cache_read\"} 30\n"
	    "tokmux_tokens_total{route=\"alpha\",kind=\"cache_write_5m\"} 40\n"
	    "tokmux_tokens_total{route=\"alpha\",kind=\"cache_write_1h\"} 50\n"
	    "tokmux_tokens_total{route=\"be\\\"ta\",kind=\"input\"} 0\n"));
	assert_non_null(strstr(t, "tokmux_cost_usd_total{route=\"alpha\"} 1.234567\n"));
	assert_non_null(strstr(t, "tokmux_cost_usd_total{route=\"be\\\"ta\"} 0.000000\n"));
	assert_non_null(strstr(t, "tokmux_responses_total{route=\"alpha\",class=\"2xx\"} 1\n"
	    "tokmux_responses_total{route=\"alpha\",class=\"429\"} 0\n"
	    "tokmux_responses_total{route=\"alpha\",class=\"529\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_retries_total{route=\"alpha\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_fallbacks_total{route=\"alpha\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_inflight{route=\"be\\\"ta\"} 1\n"));
	assert_null(strstr(t, "route=\"none\""));
	/* one head per family, before its series */
	static const char *const fams[] = { "tokmux_requests_total counter",
		"tokmux_tokens_total counter", "tokmux_cost_usd_total counter",
		"tokmux_responses_total counter", "tokmux_retries_total counter",
		"tokmux_fallbacks_total counter", "tokmux_unpriced_total counter",
		"tokmux_inflight gauge" };
	const char *prev = t;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(fams); i++) {
		char type[96], help[96];
		snprintf(type, sizeof type, "# TYPE %s\n", fams[i]);
		snprintf(help, sizeof help, "# HELP %.*s ", (int)strcspn(fams[i], " "), fams[i]);
		assert_int_equal(count(t, type), 1);
		assert_int_equal(count(t, help), 1);
		const char *at = strstr(t, type);
		assert_true(at > prev);   /* in this order */
		assert_true(strstr(t, help) < at);
		prev = at;
	}
	free(t);
	/* no stats: only the request counts */
	t = metrics_render(m, routes, 3, NULL);
	assert_null(strstr(t, "tokmux_tokens_total"));
	assert_non_null(strstr(t, "tokmux_requests_total{route=\"alpha\",model=\"m1\"} 2\n"));
	free(t);
	metrics_free(m);
	stats_free(st);
	(void)state;
}

static void
test_counts_full(void **state)
{
	metrics_t *m = metrics_new();
	char model[32];
	for (int i = 0; i < METRICS_MAX_MODELS + 10; i++) {
		snprintf(model, sizeof model, "model-%d", i);
		metrics_count_request(m, 0, model);
	}
	struct metrics_route routes[] = { { "r", 0 } };
	char *t = metrics_render(m, routes, 1, NULL);
	assert_int_equal(count(t, "tokmux_requests_total{"), METRICS_MAX_MODELS);
	assert_non_null(strstr(t, "model=\"other\"} 11\n"));   /* the last slot and the 10 after */
	assert_non_null(strstr(t, "model=\"model-0\"} 1\n"));
	free(t);
	metrics_free(m);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_counts_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
