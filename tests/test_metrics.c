/*
 * Unit tests for metrics: the page drawn from a stats store, the
 * rate-limit table and the (pane, model) counts: one # HELP and # TYPE
 * per family before its samples, names by the conventions (_total
 * counters, base units), dollars from micro-dollars, label values escaped
 * and valid UTF-8, pane names unique, ceilings and circuits, rate-limit
 * headroom per hashed key, the two histograms, and bounded cardinality:
 * models past the table and panes past the limit count as "other" of
 * their own pane, never as another's.
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
served(metrics_t *m, int route, const char *model, int64_t in, int64_t cost)
{
	struct usage u = { .input_tokens = in, .output_tokens = 2 * in, .cache_read_tokens = 3,
		.cache_write_5m_tokens = 4, .cache_write_1h_tokens = 5, .has_usage = 1 };
	struct metrics_request q = { .route = route, .model = model, .usage = &u,
		.cost_micros = cost, .added_us = -1, .ttfb_us = -1 };
	metrics_count(m, &q);
}

/* Every line is a comment or a sample; each family's HELP and TYPE come
 * once, before its samples, and every sample belongs to a family seen. */
static void
check_format(const char *t)
{
	char fam[128] = "";
	for (const char *line = t; *line; ) {
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		size_t len = (size_t)(nl - line);
		char name[128];
		if (strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%127s", name);
			char type[160];
			snprintf(type, sizeof type, "\n# TYPE %s ", name);
			assert_int_equal(count(t, type), 1);
			assert_true(strncmp(nl, type, strlen(type)) == 0);   /* TYPE right after */
			snprintf(fam, sizeof fam, "%s", name);
			char help[160];
			snprintf(help, sizeof help, "# HELP %s ", name);
			assert_int_equal(count(t, help), 1);
		} else if (line[0] != '#') {
			size_t n = strcspn(line, "{ ");
			assert_true(n < len);
			snprintf(name, sizeof name, "%.*s", (int)n, line);
			int ok = strcmp(name, fam) == 0;
			for (const char *sfx = "_bucket\0_sum\0_count\0"; !ok && *sfx; sfx += strlen(sfx) + 1)
				ok = strlen(name) == strlen(fam) + strlen(sfx) &&
				    strncmp(name, fam, strlen(fam)) == 0 && strcmp(name + strlen(fam), sfx) == 0;
			if (!ok)
				fail_msg("sample %.*s outside its family %s", (int)len, line, fam);
		}
		line = nl + 1;
	}
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
	stats_begin(st, 1, 250000);   /* in flight, with a reservation */
	struct stats_route_policy pol = { .ceiling_micros = 5000000, .spent_micros = 1234567,
		.ceiling_tokens = -1, .paced = 3 };
	stats_set_route_policy(st, 0, &pol);
	struct stats_policy_info info = { .daily_ceiling_micros = -1, .daily_spent_micros = 42,
		.ncircuits = 1 };
	snprintf(info.circuit[0].model, sizeof info.circuit[0].model, "claude-opus-4-7");
	info.circuit[0].state = 1;
	stats_set_policy(st, &info);
	metrics_t *m = metrics_new();
	served(m, 0, "m1", 10, 1234567);
	served(m, 0, "m1", 10, 1);
	served(m, 1, "we\"ird\nmo\\del\xff", 1, 0);
	metrics_count(m, &(struct metrics_request){ .route = 1, .model = "m1", .refused = 1,
	    .added_us = 40, .ttfb_us = -1 });
	metrics_count(m, &(struct metrics_request){ .route = 0, .model = "m1", .added_us = 300,
	    .ttfb_us = 2000000 });
	struct metrics_route routes[] = { { "alpha", 0 }, { "be\"ta", 1 }, { "none", -1 } };
	struct metrics_sources src = { .stats = st };
	char *t = metrics_render(m, routes, 3, &src);
	check_format(t);
	/* per (pane, model); a refused request is not served */
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"alpha\",model=\"m1\"} 3\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"be\\\"ta\","
	    "model=\"we\\\"ird\\nmo\\\\del\xef\xbf\xbd\"} 1\n"));
	assert_null(strstr(t, "tokmux_requests_total{pane=\"be\\\"ta\",model=\"m1\"}"));
	assert_non_null(strstr(t, "tokmux_tokens_total{pane=\"alpha\",model=\"m1\",kind=\"input\"} 20\n"
	    "tokmux_tokens_total{pane=\"alpha\",model=\"m1\",kind=\"output\"} 40\n"
	    "tokmux_tokens_total{pane=\"alpha\",model=\"m1\",kind=\"cache_read\"} 6\n"
	    "tokmux_tokens_total{pane=\"alpha\",model=\"m1\",kind=\"cache_write_5m\"} 8\n"
	    "tokmux_tokens_total{pane=\"alpha\",model=\"m1\",kind=\"cache_write_1h\"} 10\n"));
	assert_non_null(strstr(t, "tokmux_cost_usd_total{pane=\"alpha\",model=\"m1\"} 1.234568\n"));
	/* per pane, from the stats store */
	assert_non_null(strstr(t, "tokmux_responses_total{pane=\"alpha\",class=\"2xx\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_responses_total{pane=\"alpha\",class=\"529\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_retries_total{pane=\"alpha\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_fallbacks_total{pane=\"alpha\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_paced_requests_total{pane=\"alpha\"} 3\n"));
	assert_non_null(strstr(t, "tokmux_requests_in_flight{pane=\"be\\\"ta\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_reserved_usd{pane=\"be\\\"ta\"} 0.250000\n"));
	/* ceilings: set ones only; spend always */
	assert_non_null(strstr(t, "tokmux_pane_ceiling_usd{pane=\"alpha\"} 5.000000\n"));
	assert_null(strstr(t, "tokmux_pane_ceiling_usd{pane=\"be\\\"ta\"}"));
	assert_null(strstr(t, "tokmux_pane_ceiling_tokens{"));
	assert_non_null(strstr(t, "tokmux_pane_spend_usd{pane=\"alpha\"} 1.234567\n"));
	assert_non_null(strstr(t, "# TYPE tokmux_daily_ceiling_usd gauge\n# HELP"));   /* none set */
	assert_non_null(strstr(t, "tokmux_daily_spend_usd 0.000042\n"));
	assert_non_null(strstr(t, "tokmux_circuit_state{model=\"claude-opus-4-7\"} 1\n"));
	/* the route without stats is counted under "other" (total minus the panes listed) */
	assert_null(strstr(t, "pane=\"none\""));
	assert_non_null(strstr(t, "tokmux_responses_total{pane=\"other\",class=\"2xx\"} 0\n"));
	/* histograms: cumulative buckets, +Inf, sum and count */
	assert_non_null(strstr(t, "# TYPE tokmux_gateway_added_seconds histogram\n"));
	assert_non_null(strstr(t, "tokmux_gateway_added_seconds_bucket{le=\"0.0001\"} 1\n"
	    "tokmux_gateway_added_seconds_bucket{le=\"0.00025\"} 1\n"
	    "tokmux_gateway_added_seconds_bucket{le=\"0.0005\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_gateway_added_seconds_bucket{le=\"+Inf\"} 2\n"
	    "tokmux_gateway_added_seconds_sum 0.000340\ntokmux_gateway_added_seconds_count 2\n"));
	assert_non_null(strstr(t, "tokmux_upstream_ttfb_seconds_bucket{le=\"1\"} 0\n"
	    "tokmux_upstream_ttfb_seconds_bucket{le=\"2.5\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_upstream_ttfb_seconds_count 1\n"));
	/* conventions: counters end in _total, nothing else does */
	for (const char *p = t; (p = strstr(p, "# TYPE ")) != NULL; p++) {
		char name[128], type[32];
		sscanf(p + 7, "%127s %31s", name, type);
		size_t n = strlen(name);
		int total = n > 6 && strcmp(name + n - 6, "_total") == 0;
		if (total != (strcmp(type, "counter") == 0))
			fail_msg("%s is a %s", name, type);
		assert_int_equal(strncmp(name, "tokmux_", 7), 0);
	}
	free(t);
	/* no stats: the per-model counts, rate limits and histograms only */
	t = metrics_render(m, routes, 3, NULL);
	check_format(t);
	assert_null(strstr(t, "tokmux_responses_total"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"alpha\",model=\"m1\"} 3\n"));
	free(t);
	metrics_free(m);
	stats_free(st);
	(void)state;
}

static void
test_ratelimits(void **state)
{
	double now = 1770680000.0;
	rl_table_t *rl = rl_table_new();
	struct rl_state s;
	rl_state_init(&s);
	snprintf(s.key_hash, sizeof s.key_hash, "0123456789abcdef");
	ratelimit_parse_header(&s, "anthropic-ratelimit-requests-limit", "50", now);
	ratelimit_parse_header(&s, "anthropic-ratelimit-requests-remaining", "0", now);
	ratelimit_parse_header(&s, "anthropic-ratelimit-requests-reset", "2026-02-10T00:00:30Z", now);
	ratelimit_parse_header(&s, "anthropic-ratelimit-unified-5h-utilization", "0.25", now);
	ratelimit_parse_header(&s, "anthropic-ratelimit-unified-5h-reset", "1770681000", now);
	rl_table_merge(rl, &s);
	metrics_t *m = metrics_new();
	struct metrics_sources src = { .ratelimits = rl, .now = now };
	char *t = metrics_render(m, NULL, 0, &src);
	check_format(t);
	assert_non_null(strstr(t,
	    "tokmux_ratelimit_limit{key=\"0123456789abcdef\",kind=\"requests\"} 50\n"));
	assert_non_null(strstr(t,
	    "tokmux_ratelimit_remaining{key=\"0123456789abcdef\",kind=\"requests\"} 0\n"));
	assert_null(strstr(t, "kind=\"tokens\""));   /* unknown: left out */
	assert_non_null(strstr(t,
	    "tokmux_ratelimit_reset_seconds{key=\"0123456789abcdef\",kind=\"5h\"} 1000.000\n"));
	assert_non_null(strstr(t,
	    "tokmux_ratelimit_utilization_ratio{key=\"0123456789abcdef\",kind=\"5h\"} 0.2500\n"));
	assert_null(strstr(t, "kind=\"7d\""));
	/* remaining 0 until the reset: the key waits */
	double reset = 1770681630.0 - now;   /* 2026-02-10T00:00:30Z */
	char want[128];
	snprintf(want, sizeof want, "tokmux_ratelimit_wait_seconds{key=\"0123456789abcdef\"} %.3f\n",
	    reset);
	assert_non_null(strstr(t, want));
	free(t);
	metrics_free(m);
	rl_table_free(rl);
	(void)state;
}

static void
test_cardinality(void **state)
{
	metrics_t *m = metrics_new();
	char model[32];
	/* pane 0 fills the table; later models of pane 0 and 1 are each pane's "other" */
	for (int i = 0; i < METRICS_MAX_MODELS + 10; i++) {
		snprintf(model, sizeof model, "model-%d", i);
		served(m, 0, model, 1, 1);
	}
	served(m, 1, "model-0", 1, 7);
	served(m, 1, "model-0", 1, 7);
	served(m, 0, "model-3", 1, 1);   /* a model in the table still counts as itself */
	/* panes past the limit: "other" */
	served(m, METRICS_MAX_ROUTES, "model-0", 1, 100);
	served(m, METRICS_MAX_ROUTES + 5, "model-1", 1, 100);
	struct metrics_route routes[METRICS_MAX_ROUTES + 6];
	char names[METRICS_MAX_ROUTES + 6][16];
	for (int i = 0; i < METRICS_MAX_ROUTES + 6; i++) {
		snprintf(names[i], sizeof names[i], "p%d", i);
		routes[i] = (struct metrics_route){ names[i], i };
	}
	char *t = metrics_render(m, routes, METRICS_MAX_ROUTES + 6, NULL);
	check_format(t);
	assert_int_equal(count(t, "tokmux_requests_total{"), METRICS_MAX_MODELS + 3);
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"p0\",model=\"model-0\"} 1\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"p0\",model=\"model-3\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"p0\",model=\"other\"} 10\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"p1\",model=\"other\"} 2\n"));
	assert_non_null(strstr(t, "tokmux_cost_usd_total{pane=\"p1\",model=\"other\"} 0.000014\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"other\",model=\"other\"} 2\n"));
	assert_null(strstr(t, "pane=\"p16\""));
	assert_null(strstr(t, "pane=\"p0\",model=\"model-64\""));
	free(t);
	metrics_free(m);

	/* the regression of issue 14: past 64 pairs, counts went to the route of
	 * the last slot; each request now stays with its own pane */
	m = metrics_new();
	for (int i = 0; i < METRICS_MAX_MODELS; i++) {
		snprintf(model, sizeof model, "m%d", i);
		served(m, 0, model, 1, 0);
	}
	for (int i = 0; i < 5; i++)
		served(m, 3, "late", 1, 0);
	t = metrics_render(m, routes, 4, NULL);
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"p3\",model=\"other\"} 5\n"));
	assert_non_null(strstr(t, "tokmux_requests_total{pane=\"p0\",model=\"m63\"} 1\n"));
	assert_null(strstr(t, "pane=\"p0\",model=\"other\""));
	free(t);
	metrics_free(m);

	/* pane names made unique: a repeat and a pane called other */
	m = metrics_new();
	struct metrics_route same[] = { { "claude", 0 }, { "claude", 1 }, { "other", 2 } };
	for (int i = 0; i < 3; i++)
		served(m, i, "m", 1, 0);
	t = metrics_render(m, same, 3, NULL);
	assert_non_null(strstr(t, "{pane=\"claude\",model=\"m\"} 1\n"));
	assert_non_null(strstr(t, "{pane=\"claude#2\",model=\"m\"} 1\n"));
	assert_non_null(strstr(t, "{pane=\"other#3\",model=\"m\"} 1\n"));
	free(t);
	metrics_free(m);
	(void)state;
}

/* The ledger's health: writable while it takes every record; on a full
 * disk 0, with the held lines and the failed writes counted. */
static void
test_ledger_health(void **state)
{
	(void)state;
	metrics_t *m = metrics_new();
	char *err = NULL;
	ledger_t *l = ledger_open("/dev/full", &err);
	assert_non_null(l);
	struct metrics_sources src = { .ledger = l, .now = 1000 };
	char *t = metrics_render(m, NULL, 0, &src);
	assert_non_null(strstr(t, "# TYPE tokmux_ledger_writable gauge\ntokmux_ledger_writable 1\n"));
	assert_non_null(strstr(t, "\ntokmux_ledger_held_records 0\n"));
	free(t);
	struct ledger_record r = { .time = 1000, .pane = 1, .model_used = "m" };
	assert_int_equal(ledger_append(l, &r), -1);
	assert_int_equal(ledger_append(l, &r), -1);
	t = metrics_render(m, NULL, 0, &src);
	assert_non_null(strstr(t, "\ntokmux_ledger_writable 0\n"));
	assert_non_null(strstr(t, "\ntokmux_ledger_held_records 2\n"));
	assert_non_null(strstr(t, "# TYPE tokmux_ledger_write_failures_total counter\n"
	    "tokmux_ledger_write_failures_total 2\n"));
	assert_non_null(strstr(t, "\ntokmux_ledger_lost_records_total 0\n"));
	free(t);
	ledger_close(l);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_ratelimits),
		cmocka_unit_test(test_cardinality),
		cmocka_unit_test(test_ledger_health),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
