/*
 * Tests for report_text: escaping of every string from the ledger (C0 and
 * C1 controls, DEL, bidi overrides, invalid UTF-8) that never cuts an
 * escape, tables that fit 160 and 80 columns (full numbers and every
 * column, or short numbers and a note for what is hidden), notes for
 * fallbacks, unpriced models, saturated sums and the active block, the
 * line about skipped ledger lines, and the summary printed on quitting.
 * Runs with TZ=UTC.
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

#include "report_text.h"
#include "testtmp.h"
#include "testreport.h"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	testtmp_make(tmpdir, sizeof(tmpdir), "report-text");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return testtmp_remove(tmpdir);
}

static void
test_escape(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "plain-model", "plain-model" },
		{ "evil\x1b[31mred\x07", "evil\\x1b[31mred\\x07" },
		{ "del\x7f", "del\\x7f" },
		{ "c1 \xc2\x9b" "31m", "c1 \\u009b31m" },       /* U+009B, the 8-bit CSI */
		{ "bad \xff\xfe utf8 \xc3", "bad \\xff\\xfe utf8 \\xc3" },
		{ "overlong \xc0\xaf", "overlong \\xc0\\xaf" },
		{ "bidi \xe2\x80\xae" "cba", "bidi \\u202ecba" },
		{ "caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5" },
		{ "new\nline\ttab", "new\\x0aline\\x09tab" },
	};
	char out[128];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		report_text_escape(cases[i][0], out, sizeof(out));
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("case %zu: got \"%s\", wanted \"%s\"", i, out, cases[i][1]);
	}
	assert_int_equal(report_text_escape("caf\xc3\xa9", out, sizeof(out)), 4);
	assert_int_equal(report_text_escape("\x1b", out, sizeof(out)), 4);
	/* a short buffer never cuts an escape or a character */
	assert_int_equal(report_text_escape("ab\x1b", out, 5), 2);
	assert_string_equal(out, "ab");
	report_text_escape("a\xc3\xa9", out, 3);
	assert_string_equal(out, "a");
}

static void
test_text(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_MODEL, 1);
	add_five(r);
	struct ledger_entry e = entry(DAY1 + 5, 4, "x\x1b]0;pwned\x07", "evil\x1b" "c\xc2\x9b" "model", 
	    123456789, 98765432, 123456789);
	e.n429 = 12345;
	report_add(r, &e);
	char *wide = report_text_format(r, 160);
	char *narrow = report_text_format(r, 80);
	assert_true(widest(wide) <= 160);
	assert_true(widest(narrow) <= 80);
	for (const char *p = wide; *p; p++)   /* nothing but newlines below a space */
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
	for (const char *p = narrow; *p; p++)
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
	assert_null(strstr(wide, "\xc2\x9b"));
	/* 160: every column, full numbers */
	const char *heads[] = { "input", "output", "cache rd", "cache 5m", "cache 1h", "total", "cost",
		"reqs", "429", "529", "retries", "fallbk", "refused", "clamped" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(heads); i++)
		assert_non_null(strstr(wide, heads[i]));
	assert_non_null(strstr(wide, "123,456,789"));
	assert_non_null(strstr(wide, "\n  evil\\x1bc\\u009bmodel"));
	assert_non_null(strstr(wide, "\n    claude-sonnet-4-5-20250929"));
	assert_non_null(strstr(wide, "fallbacks (asked -> used): claude-opus-4-6 -> claude-sonnet-4-5 (1)"));
	assert_non_null(strstr(wide, "* the cost leaves out 1 request(s) of models without a price"));
	assert_null(strstr(wide, "hidden"));
	/* 80: short numbers, a note for what is hidden */
	assert_non_null(strstr(narrow, "123M"));
	assert_non_null(strstr(narrow, "hidden to fit 80 columns: "));
	assert_non_null(strstr(narrow, "(--json has them all)"));
	assert_non_null(strstr(narrow, "cost"));
	assert_non_null(strstr(narrow, "reqs"));
	free(wide);
	free(narrow);
	report_free(r);

	r = report_of(REPORT_DAILY, REPORT_BY_NONE, 0);
	char *empty = report_text_format(r, 80);
	assert_string_equal(empty, "no requests in the ledger\n");
	free(empty);
	report_free(r);
}

static void
test_blocks_text(void **state)
{
	(void)state;
	double h = 3600;
	struct report_options o = { .view = REPORT_BLOCKS, .now = DAY1 + 23 * h + 5 * 60 };
	report_t *r = report_new(&o);
	double times[] = { 10 * h + 20 * 60, 22 * h + 5 * 60, 22 * h + 35 * 60 };
	int64_t cost[] = { 100000, 400000, 500000 };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(times); i++) {
		struct ledger_entry e = entry(DAY1 + times[i], 1, "c", "claude-haiku-4-5", 1000, 200,
		    cost[i]);
		report_add(r, &e);
	}
	char *text = report_text_format(r, 160);
	assert_non_null(strstr(text, "\n2025-08-21 10:00 "));
	assert_non_null(strstr(text, "\n2025-08-21 22:00 * "));   /* the active one */
	assert_non_null(strstr(text, "active block (*): ends 03:00 (in 3h55m); burn rate $1.80/h, "
	    "80 tokens/min; projected $7.95, 21.2k tokens at its end"));
	free(text);
	report_free(r);
}

static void
test_saturated_text(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_MODEL, 0);
	struct ledger_entry e = entry(DAY1, 1, "p", "m", LEDGER_VALUE_MAX, 0, LEDGER_VALUE_MAX);
	for (int i = 0; i < 10000; i++)
		report_add(r, &e);
	char *text = report_text_format(r, 160);
	assert_non_null(strstr(text, "$9223372036854.78+"));
	assert_non_null(strstr(text, "+ a sum reached the largest number"));
	free(text);
	report_free(r);
}

/* An intent without its outcome: its own column and a note, out of reqs
 * and cost; the column is absent when there is none. */
static void
test_unsettled_text(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_NONE, 0);
	struct ledger_entry e = entry(DAY1 + 60, 1, "claude", "claude-sonnet-4-5", 100, 10, 500);
	report_add(r, &e);
	char *text = report_text_format(r, 160);
	assert_null(strstr(text, "unsettled"));
	free(text);
	e = entry(DAY1 + 120, 1, "claude", "claude-opus-4-6", 0, 0, 0);
	e.unsettled = 1;
	e.reserved_micros = 1250000;
	e.charged_micros = 1250000;
	report_add(r, &e);
	report_add(r, &e);
	text = report_text_format(r, 160);
	assert_non_null(strstr(text, "unsettled\n"));     /* the last column's head */
	assert_non_null(strstr(text, "unsettled: 2 request(s) began and have no outcome (in flight, "
	    "or tokmux was killed); the daily ceiling counts their reservation, $2.50\n"));
	const struct report_sums *t = &report_total(r)->sums;
	assert_int_equal(t->requests, 1);
	assert_int_equal(t->unsettled, 2);
	assert_int_equal(t->cost_micros, 500);
	assert_int_equal(t->unsettled_micros, 2500000);
	free(text);
	report_free(r);
}

static void
test_skipped(void **state)
{
	(void)state;
	struct ledger_read_stats st = { 0 };
	assert_null(report_text_skipped(&st));
	st.not_json = 3;
	char *s = report_text_skipped(&st);
	assert_string_equal(s, "3 lines skipped: not JSON");
	free(s);
	st = (struct ledger_read_stats){ .torn = 1 };
	s = report_text_skipped(&st);
	assert_string_equal(s, "1 line skipped: cut short (the last)");
	free(s);
	st = (struct ledger_read_stats){ .not_json = 1, .no_time = 2, .out_of_range = 3 };
	s = report_text_skipped(&st);
	assert_string_equal(s, "6 lines skipped: 1 not JSON, 2 without a time, "
	    "3 with a number out of range");
	free(s);
	st.first_bad_line = 42;
	s = report_text_skipped(&st);
	assert_string_equal(s, "6 lines skipped: 1 not JSON, 2 without a time, "
	    "3 with a number out of range (the first at line 42)");
	free(s);
}

static void
test_summary(void **state)
{
	(void)state;
	char *path = write_ledger(tmpdir, "{\"epoch\": 1755734500, \"pane\": 2, \"pane_name\": \"codex\", "
	    "\"session\": \"5e55105e5e55105e\", \"refused\": true, \"status\": 403}\n"
	    "{\"epoch\": 1755734501, \"pane\": 1, \"session\": \"0ther5e55105e000\", \"cost_micros\": 7}\n");
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(report_text_summary(path, "5e55105e5e55105e", f), 0);
	fclose(f);
	assert_non_null(strstr(text, "tokmux session 5e55105e: 4 requests, 33.3k tokens, $0.08 "
	    "(00:00-00:00)\n"));
	assert_non_null(strstr(text, "\n1 claude                3    19.5k      $0.07     3     0        0       0\n"));
	assert_non_null(strstr(text, "\n2 codex                 1    13.8k      $0.01     0     2        1       0\n"));
	assert_non_null(strstr(text, "\ntotal                   4    33.3k      $0.08     3     2        1       0\n"));
	assert_non_null(strstr(text, "details: tokmux report session --session 5e55105e --ledger "));
	assert_int_equal(widest(text), UTIL_MIN(widest(text), 80 + (int)strlen(path)));
	free(text);
	/* a session without records prints nothing; an unreadable ledger fails */
	f = open_memstream(&text, &len);
	assert_int_equal(report_text_summary(path, "feedfeedfeedfeed", f), 0);
	assert_int_equal(report_text_summary(tmpdir, "feedfeedfeedfeed", f), -1);
	fclose(f);
	assert_string_equal(text, "");
	free(text);
	free(path);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_blocks_text),
		cmocka_unit_test(test_saturated_text),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_unsettled_text),
		cmocka_unit_test_setup_teardown(test_summary, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
