/*
 * Tests for report_json: the options it was made with, the view's rows
 * with bounds in the report's zone and their sub-rows, the total, the
 * fallbacks and skipped lines; costs as decimals with six places and
 * integers at any size (never an exponent), a saturated total. Runs with
 * TZ=UTC.
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

#include "report_json.h"
#include "testreport.h"

static void
test_json(void **state)
{
	(void)state;
	struct report_options o = { .view = REPORT_DAILY, .by = REPORT_BY_PANE };
	report_t *r = report_new(&o);
	add_five(r);
	struct ledger_entry e = entry(DAY1 + 9, 9, "x", "claude-haiku-4-5", 1, 1, 24);
	report_add(r, &e);
	char *s = report_json_format(r);
	/* six decimals, never an exponent */
	assert_non_null(strstr(s, "\"cost_usd\":\t0.000024"));
	assert_null(strstr(s, "e-0"));
	assert_null(strstr(s, "e+"));
	cJSON *root = cJSON_Parse(s);
	assert_non_null(root);
	assert_string_equal(cJSON_GetObjectItem(root, "view")->valuestring, "daily");
	assert_string_equal(cJSON_GetObjectItem(root, "timezone")->valuestring, "UTC");
	assert_string_equal(cJSON_GetObjectItem(root, "by")->valuestring, "pane");
	const cJSON *days = cJSON_GetObjectItem(root, "daily");
	assert_int_equal(cJSON_GetArraySize(days), 2);
	const cJSON *d0 = cJSON_GetArrayItem(days, 0);
	assert_string_equal(cJSON_GetObjectItem(d0, "date")->valuestring, "2025-08-21");
	assert_string_equal(cJSON_GetObjectItem(d0, "start")->valuestring, "2025-08-21T00:00:00Z");
	assert_true(cJSON_GetObjectItem(d0, "cost_micros")->valuedouble == 9524);
	assert_string_equal(cJSON_GetObjectItem(d0, "end")->valuestring, "2025-08-22T00:00:00Z");
	const cJSON *panes = cJSON_GetObjectItem(d0, "panes");
	assert_int_equal(cJSON_GetArraySize(panes), 2);
	assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(panes, 0), "pane_number")->valuedouble == 1);
	assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(panes, 1), "pane_number")->valuedouble == 9);
	const cJSON *t = cJSON_GetObjectItem(root, "total");
	assert_true(cJSON_GetObjectItem(t, "requests")->valuedouble == 5);
	assert_true(cJSON_GetObjectItem(t, "refused")->valuedouble == 1);
	assert_true(cJSON_GetObjectItem(t, "total_tokens")->valuedouble == 605 + 65 + 1050 + 2);
	assert_true(cJSON_GetObjectItem(t, "cost_usd")->valuedouble == 0.012524);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "panes")), 4);
	const cJSON *fb = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "fallbacks"), 0);
	assert_string_equal(cJSON_GetObjectItem(fb, "asked")->valuestring, "claude-opus-4-6");
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "skipped"), "lines")->valuedouble == 0);
	cJSON_Delete(root);
	free(s);
	report_free(r);
}

static void
test_saturated_json(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_MODEL, 0);
	struct ledger_entry e = entry(DAY1, 1, "p", "m", LEDGER_VALUE_MAX, 0, LEDGER_VALUE_MAX);
	for (int i = 0; i < 10000; i++)
		report_add(r, &e);
	char *json = report_json_format(r);
	assert_non_null(strstr(json, "\"cost_usd\":\t9223372036854.775807"));
	assert_non_null(strstr(json, "\"input_tokens\":\t9223372036854775807"));
	assert_non_null(strstr(json, "\"saturated\":\ttrue"));
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	cJSON_Delete(o);
	free(json);
	report_free(r);
}

static void
test_unsettled_json(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_NONE, 0);
	struct ledger_entry e = entry(DAY1 + 120, 1, "claude", "claude-opus-4-6", 0, 0, 0);
	e.unsettled = 1;
	e.reserved_micros = 700000;
	report_add(r, &e);
	char *json = report_json_format(r);
	cJSON *o = cJSON_Parse(json);
	cJSON *t = cJSON_GetObjectItem(o, "total");
	assert_int_equal(cJSON_GetObjectItem(t, "unsettled")->valueint, 1);
	assert_true(cJSON_GetObjectItem(t, "unsettled_reserved_usd")->valuedouble == 0.7);
	assert_int_equal(cJSON_GetObjectItem(t, "requests")->valueint, 0);
	cJSON_Delete(o);
	free(json);
	report_free(r);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_saturated_json),
		cmocka_unit_test(test_unsettled_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
