/*
 * Tests for report and its front end: the views (days, ISO weeks, months
 * at a time zone, sessions, 5-hour blocks with the active block's burn
 * rate), splits by pane / model / agent / branch / member / team whose sums
 * equal the total, dated model ids under their model, refused requests
 * apart from served ones, saturating sums, and `tokmux report`
 * (cmd_report_main) on real ledger files: views and options, skipped
 * lines, a missing ledger, the config's ledger, argument errors. The text
 * and JSON forms: test_report_text.c, test_report_json.c. Runs with
 * TZ=UTC; other zones are given explicitly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cmd.h"
#include "ledger.h"
#include "report.h"
#include "testtmp.h"
#include "testreport.h"
#include "util.h"

static void
test_daily(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_NONE, 0);
	add_five(r);
	const struct report_sums *t = &report_total(r)->sums;
	assert_int_equal(t->requests, 4);   /* the refused one is not served */
	assert_int_equal(t->refused, 1);
	assert_int_equal(t->clamped, 1);
	assert_int_equal(t->input_tokens, 605);
	assert_int_equal(t->output_tokens, 65);
	assert_int_equal(t->cache_read_tokens, 1000);
	assert_int_equal(t->cache_write_5m_tokens, 20);
	assert_int_equal(t->cache_write_1h_tokens, 30);
	assert_int_equal(report_total_tokens(t), 605 + 65 + 1000 + 20 + 30);
	assert_int_equal(t->cost_micros, 12500);
	assert_int_equal(t->n429, 2);
	assert_int_equal(t->n529, 2);   /* one upstream 529 + one overloaded_error in a 200 */
	assert_int_equal(t->retries, 1);
	assert_int_equal(t->fallbacks, 1);
	assert_int_equal(t->unpriced, 1);
	assert_true(t->first == DAY1 + 3600 && t->last == DAY2 + 180);

	const struct report_row *rows;
	assert_int_equal(report_rows(r, &rows), 2);
	assert_string_equal(rows[0].key, "2025-08-21");
	assert_true(rows[0].start == DAY1 && rows[0].end == DAY2);
	assert_int_equal(rows[0].sums.requests, 2);
	assert_int_equal(rows[0].sums.cost_micros, 9500);
	assert_int_equal(rows[0].nsub, 0);
	assert_string_equal(rows[1].key, "2025-08-22");
	assert_int_equal(rows[1].sums.requests, 2);
	assert_int_equal(rows[1].sums.refused, 1);

	const struct report_fallback *f;
	assert_int_equal(report_fallbacks(r, &f), 1);
	assert_string_equal(f[0].asked, "claude-opus-4-6");
	assert_string_equal(f[0].used, "claude-sonnet-4-5");
	assert_int_equal(f[0].requests, 1);
	report_free(r);
}

/* Sums of row's sub-rows equal the row's own, at every level. */
static void
check_subs_add_up(const struct report_row *row)
{
	if (row->nsub == 0)
		return;
	struct report_sums s;
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < row->nsub; i++) {
		const struct report_sums *c = &row->sub[i].sums;
		s.requests += c->requests;
		s.refused += c->refused;
		s.input_tokens += c->input_tokens;
		s.cost_micros += c->cost_micros;
		s.n529 += c->n529;
		check_subs_add_up(&row->sub[i]);
	}
	assert_int_equal(s.requests, row->sums.requests);
	assert_int_equal(s.refused, row->sums.refused);
	assert_int_equal(s.input_tokens, row->sums.input_tokens);
	assert_int_equal(s.cost_micros, row->sums.cost_micros);
	assert_int_equal(s.n529, row->sums.n529);
}

static const struct report_row *
sub_named(const struct report_row *row, const char *key)
{
	for (int i = 0; i < row->nsub; i++)
		if (strcmp(row->sub[i].key, key) == 0)
			return &row->sub[i];
	fail_msg("no sub-row \"%s\" under \"%s\"", key, row->key);
	return NULL;
}

static void
test_by(void **state)
{
	(void)state;
	for (int by = REPORT_BY_PANE; by <= REPORT_BY_TEAM; by++) {
		report_t *r = report_of(REPORT_MONTHLY, (enum report_by)by, 0);
		add_five(r);
		const struct report_row *rows;
		assert_int_equal(report_rows(r, &rows), 1);
		assert_string_equal(rows[0].key, "2025-08");
		check_subs_add_up(&rows[0]);
		check_subs_add_up(report_total(r));
		assert_int_equal(report_total(r)->sub_by, by);
		report_free(r);
	}
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_PANE, 0);
	add_five(r);
	const struct report_row *t = report_total(r);
	assert_int_equal(t->nsub, 3);
	assert_string_equal(t->sub[0].key, "1 claude");    /* panes in number order */
	assert_int_equal(t->sub[0].pane, 1);
	assert_string_equal(t->sub[1].key, "2 codex");
	assert_string_equal(t->sub[2].key, "3");           /* a pane without a name */
	assert_int_equal(t->sub[2].sums.refused, 1);
	report_free(r);

	/* missing fields group as "-" */
	r = report_of(REPORT_DAILY, REPORT_BY_BRANCH, 0);
	add_five(r);
	t = report_total(r);
	assert_int_equal(t->nsub, 2);
	assert_int_equal(sub_named(t, "tokmux/one")->sums.requests, 1);
	assert_int_equal(sub_named(t, "-")->sums.requests, 3);
	report_free(r);
	r = report_of(REPORT_DAILY, REPORT_BY_MEMBER, 0);
	add_five(r);
	assert_int_equal(sub_named(report_total(r), "ana")->sums.cost_micros, 3000);
	assert_int_equal(sub_named(report_total(r), "-")->sums.refused, 1);
	report_free(r);
	r = report_of(REPORT_DAILY, REPORT_BY_TEAM, 0);
	add_five(r);
	assert_int_equal(sub_named(report_total(r), "core")->sums.cost_micros, 3000);
	assert_int_equal(sub_named(report_total(r), "-")->sums.requests, 3);
	report_free(r);
	r = report_of(REPORT_DAILY, REPORT_BY_AGENT, 0);
	add_five(r);
	assert_int_equal(sub_named(report_total(r), "claude")->sums.requests, 1);
	assert_int_equal(sub_named(report_total(r), "-")->sums.requests, 2);
	report_free(r);
}

static void
test_models(void **state)
{
	(void)state;
	/* by model: dated ids under their model, by cost */
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_MODEL, 1);
	add_five(r);
	struct ledger_entry e = entry(DAY1 + 60, 1, "claude", "claude-sonnet-4-5-20250929", 1, 1, 7);
	report_add(r, &e);
	const struct report_row *t = report_total(r);
	assert_int_equal(t->sub_by, REPORT_BY_MODEL);
	assert_string_equal(t->sub[0].key, "claude-sonnet-4-5");    /* 9507: the most */
	assert_string_equal(t->sub[1].key, "gpt-5-codex");
	const struct report_row *sonnet = &t->sub[0];
	assert_int_equal(sonnet->sums.requests, 3);
	assert_int_equal(sonnet->sub_by, REPORT_BY_ID);
	assert_int_equal(sonnet->nsub, 2);
	assert_string_equal(sonnet->sub[0].key, "claude-sonnet-4-5");           /* 9000 */
	assert_string_equal(sonnet->sub[1].key, "claude-sonnet-4-5-20250929");  /* 507 */
	assert_int_equal(sonnet->sub[1].sums.requests, 2);
	assert_int_equal(sub_named(t, "claude-haiku-4-5")->sums.refused, 1);
	check_subs_add_up(t);
	report_free(r);

	/* --breakdown alone: models under each day; with --by pane: under each pane */
	r = report_of(REPORT_DAILY, REPORT_BY_NONE, 1);
	add_five(r);
	const struct report_row *rows;
	report_rows(r, &rows);
	assert_int_equal(rows[0].sub_by, REPORT_BY_MODEL);
	assert_int_equal(rows[0].nsub, 1);
	assert_string_equal(rows[0].sub[0].key, "claude-sonnet-4-5");
	report_free(r);
	r = report_of(REPORT_DAILY, REPORT_BY_PANE, 1);
	add_five(r);
	t = report_total(r);
	assert_int_equal(t->sub[0].sub_by, REPORT_BY_MODEL);
	assert_int_equal(t->sub[0].sub[0].sub_by, REPORT_BY_ID);
	check_subs_add_up(t);
	report_free(r);
}

static void
test_periods(void **state)
{
	(void)state;
	struct report_options o = { .view = REPORT_WEEKLY };
	/* 2025-08-21 is in ISO week 34 (Mon 18th .. Sun 24th); the 25th in 35 */
	report_t *r = report_new(&o);
	report_add(r, &(struct ledger_entry){ .time = DAY1, .cost_micros = 1 });
	report_add(r, &(struct ledger_entry){ .time = DAY1 + 3 * 86400 + 86399, .cost_micros = 2 });
	report_add(r, &(struct ledger_entry){ .time = DAY1 + 4 * 86400, .cost_micros = 4 });
	const struct report_row *rows;
	assert_int_equal(report_rows(r, &rows), 2);
	assert_string_equal(rows[0].key, "2025-W34");
	assert_true(rows[0].start == DAY1 - 3 * 86400);
	assert_int_equal(rows[0].sums.cost_micros, 3);
	assert_string_equal(rows[1].key, "2025-W35");
	report_free(r);

	/* at UTC+02:00, 23:30Z on the 21st is the 22nd */
	char *err = NULL;
	o = (struct report_options){ .view = REPORT_DAILY };
	assert_int_equal(period_tz_parse("+02:00", &o.tz, &err), 0);
	r = report_new(&o);
	report_add(r, &(struct ledger_entry){ .time = DAY1 + 23.5 * 3600, .cost_micros = 1 });
	report_add(r, &(struct ledger_entry){ .time = DAY1 + 21.5 * 3600, .cost_micros = 2 });
	assert_int_equal(report_rows(r, &rows), 2);
	assert_string_equal(rows[0].key, "2025-08-21");
	assert_int_equal(rows[0].sums.cost_micros, 2);
	assert_string_equal(rows[1].key, "2025-08-22");
	assert_true(rows[1].start == DAY2 - 7200);
	report_free(r);

	/* since / until: [since, until) */
	o = (struct report_options){ .view = REPORT_MONTHLY, .since = DAY2, .until = DAY2 + 86400 };
	r = report_new(&o);
	report_add(r, &(struct ledger_entry){ .time = DAY2 - 1, .cost_micros = 1 });
	report_add(r, &(struct ledger_entry){ .time = DAY2, .cost_micros = 10 });
	report_add(r, &(struct ledger_entry){ .time = DAY2 + 86400, .cost_micros = 100 });
	assert_int_equal(report_total(r)->sums.requests, 1);
	assert_int_equal(report_total(r)->sums.cost_micros, 10);
	report_free(r);
	assert_true(period_day_start(&(struct period_tz){ .offset_s = 3600 }, 2025, 8, 22) ==
	    DAY2 - 3600);
}

static void
test_sessions(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_SESSION, REPORT_BY_NONE, 0);
	add_five(r);
	const struct report_row *rows;
	assert_int_equal(report_rows(r, &rows), 3);
	/* by their first record: the refused one has no session id */
	assert_string_equal(rows[0].key, "aaaa1111bbbb2222");
	assert_true(rows[0].start == DAY1 + 3600 && rows[0].end == DAY1 + 7200);
	assert_int_equal(rows[0].sub_by, REPORT_BY_PANE);   /* a session's panes */
	assert_int_equal(rows[0].nsub, 1);
	assert_string_equal(rows[0].sub[0].key, "1 claude");
	assert_string_equal(rows[1].key, "cccc3333dddd4444");
	assert_int_equal(rows[1].sums.requests, 2);
	assert_string_equal(rows[2].key, "-");
	report_free(r);

	struct report_options o = { .view = REPORT_SESSION, .session = "cccc" };
	r = report_new(&o);
	add_five(r);
	assert_int_equal(report_rows(r, &rows), 1);
	assert_int_equal(report_total(r)->sums.cost_micros, 3000);
	report_free(r);
}

static void
test_blocks(void **state)
{
	(void)state;
	double h = 3600;
	/* 10:20 starts a block at 10:00 (to 15:00); 14:59 is in it; 15:10 starts
	 * the next at 15:00; after a gap, 22:05 starts one at 22:00 */
	struct report_options o = { .view = REPORT_BLOCKS, .now = DAY1 + 23 * h + 5 * 60 };
	report_t *r = report_new(&o);
	double times[] = { 10 * h + 20 * 60, 14 * h + 59 * 60, 15 * h + 10 * 60, 22 * h + 5 * 60,
	    22 * h + 35 * 60 };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(times); i++) {
		struct ledger_entry e = entry(DAY1 + times[i], 1, "c", "claude-haiku-4-5", 1000, 200,
		    (int64_t)(i + 1) * 100000);
		report_add(r, &e);
	}
	const struct report_row *rows;
	assert_int_equal(report_rows(r, &rows), 3);
	assert_true(rows[0].start == DAY1 + 10 * h && rows[0].end == DAY1 + 15 * h);
	assert_int_equal(rows[0].sums.requests, 2);
	assert_true(rows[1].start == DAY1 + 15 * h);
	assert_int_equal(rows[1].sums.requests, 1);
	assert_true(rows[2].start == DAY1 + 22 * h && rows[2].end == DAY1 + 27 * h);
	assert_int_equal(rows[2].sums.cost_micros, 900000);
	struct report_active a;
	report_active(r, &a);
	assert_true(a.active);
	assert_ptr_equal(a.block, &rows[2]);
	/* 30 minutes from first to last: $0.90 and 2400 tokens in 30 min */
	assert_true(a.minutes == 30);
	assert_true(a.tokens_per_min == 80);
	assert_int_equal(a.cost_per_hour_micros, 1800000);
	/* 235 minutes left: 0.90 + 0.03 x 235 */
	assert_int_equal(a.projected_cost_micros, 900000 + 30000 * 235);
	assert_int_equal(a.projected_tokens, 2400 + 80 * 235);
	report_free(r);

	o.now = DAY1 + 27 * h;   /* the block has ended: none is active */
	r = report_new(&o);
	report_add(r, &(struct ledger_entry){ .time = DAY1 + 22 * h, .cost_micros = 1 });
	report_active(r, &a);
	assert_false(a.active);
	report_free(r);
}

static void
test_saturate(void **state)
{
	(void)state;
	report_t *r = report_of(REPORT_DAILY, REPORT_BY_MODEL, 0);
	struct ledger_entry e = entry(DAY1, 1, "p", "m", LEDGER_VALUE_MAX, 0, LEDGER_VALUE_MAX);
	for (int i = 0; i < 10000; i++)
		report_add(r, &e);
	const struct report_sums *t = &report_total(r)->sums;
	assert_true(t->saturated);
	assert_int_equal(t->cost_micros, INT64_MAX);
	assert_int_equal(t->input_tokens, INT64_MAX);
	assert_int_equal(t->requests, 10000);
	assert_true(report_total(r)->sub[0].sums.saturated);
	report_free(r);
}

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	testtmp_make(tmpdir, sizeof(tmpdir), "report");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return testtmp_remove(tmpdir);
}

/* Run `tokmux report` (cmd_report_main) with args; capture stdout and stderr. */
static int
run(char **out, char **err, int argc, ...)
{
	char *argv[16];
	va_list ap;
	va_start(ap, argc);
	argv[0] = "report";
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	size_t olen, elen;
	FILE *saved_out = stdout, *saved_err = stderr;
	stdout = open_memstream(out, &olen);
	stderr = open_memstream(err, &elen);
	int rc = cmd_report_main(argc, argv);
	fclose(stdout);
	fclose(stderr);
	stdout = saved_out;
	stderr = saved_err;
	return rc;
}

static void
test_run_text(void **state)
{
	(void)state;
	char *path = write_ledger(tmpdir, NULL);
	char *out, *err;
	setenv("COLUMNS", "200", 1);
	assert_int_equal(run(&out, &err, 3, "--ledger", path), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "day "));
	assert_non_null(strstr(out, "2025-08-21"));
	assert_non_null(strstr(out, "2025-08-22"));
	const char *total = strstr(out, "\ntotal");
	assert_non_null(total);
	/* input output cache-rd 5m 1h total cost reqs 429 529 retries fallbk refused clamped */
	char f[14][32];
	assert_int_equal(sscanf(total + 1, "total %31s %31s %31s %31s %31s %31s %31s %31s %31s "
	    "%31s %31s %31s %31s %31s", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8],
	    f[9], f[10], f[11], f[12], f[13]), 14);
	const char *want[] = { "4,064", "2,430", "17,776", "9,000", "0", "33,270", "$0.08", "4",
		"3", "2", "0", "0", "0", "0" };
	for (int i = 0; i < 14; i++)
		if (strcmp(f[i], want[i]) != 0)
			fail_msg("total column %d: %s, wanted %s", i, f[i], want[i]);
	free(out);
	free(err);

	/* the view first or after options; --by; --since */
	assert_int_equal(run(&out, &err, 6, "weekly", "--ledger", path, "--by", "model"), 0);
	assert_non_null(strstr(out, "week "));
	assert_non_null(strstr(out, "2025-W34"));
	assert_non_null(strstr(out, "\n  claude-sonnet-4-5 "));
	assert_null(strstr(out, "20250929"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "--ledger", path, "session", "--breakdown"), 0);
	assert_non_null(strstr(out, "2025-08-21 00:00 5e55105e"));
	assert_non_null(strstr(out, "\n  1 claude "));
	assert_non_null(strstr(out, "\n      claude-sonnet-4-5-20250929 "));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "--ledger", path, "--since", "2025-08-22"), 0);
	assert_null(strstr(out, "2025-08-21"));
	assert_non_null(strstr(out, "2025-08-22"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "--ledger", path, "--until", "2025-08-21"), 0);
	assert_non_null(strstr(out, "2025-08-21"));
	assert_null(strstr(out, "2025-08-22"));
	free(out);
	free(err);
	/* the day boundary moves with --timezone: at -01:00 DAY2 + 5 s is on the 21st */
	assert_int_equal(run(&out, &err, 8, "--ledger", path, "--timezone", "-01:00", "--since",
	    "2025-08-21", "--json"), 0);
	cJSON *o = cJSON_Parse(out);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "daily")), 1);
	assert_string_equal(cJSON_GetObjectItem(o, "since")->valuestring, "2025-08-21T00:00:00-01:00");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "daily"), 0),
	    "date")->valuestring, "2025-08-21");
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "total"), "requests")->valuedouble == 1);
	cJSON_Delete(o);
	free(out);
	free(err);
	unsetenv("COLUMNS");
	free(path);
}

static void
test_run_skipped(void **state)
{
	(void)state;
	char *path = write_ledger(tmpdir, "not json\n{\"epoch\": 1755734400, \"cost_micros\": 1e300}\n"
	    "[1, 2]\n{\"pane\": 1}\n\n{\"epoch\": 1755734400, \"input_tokens\": -5}\n"
	    "{\"epoch\": 1755734401, \"cost_usd\": 0.5, \"model_used\": \"hand-edited\"}\n"
	    "{\"epoch\": 17557");
	char *out, *err;
	assert_int_equal(run(&out, &err, 4, "--ledger", path, "--json"), 0);
	char *want = xasprintf("tokmux report: %s: 6 lines skipped: 2 not JSON, 1 without a time, "
	    "2 with a number out of range, 1 cut short (the last)\n", path);
	assert_string_equal(err, want);
	cJSON *o = cJSON_Parse(out);
	assert_non_null(o);
	const cJSON *sk = cJSON_GetObjectItem(o, "skipped");
	assert_true(cJSON_GetObjectItem(sk, "lines")->valuedouble == 6);
	assert_true(cJSON_GetObjectItem(sk, "out_of_range")->valuedouble == 2);
	/* the hand-edited line with cost_usd only is read: 0.5 dollars */
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "total"), "cost_micros")->valuedouble ==
	    4 * 0 + 3 * 22350 + 12102 + 500000);
	cJSON_Delete(o);
	free(want);
	free(out);
	free(err);
	free(path);

	path = write_ledger(tmpdir, "garbage\n");
	assert_int_equal(run(&out, &err, 3, "--ledger", path), 0);
	want = xasprintf("tokmux report: %s: 1 line skipped: not JSON\n", path);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);
	free(path);
}

static void
test_run_ledger(void **state)
{
	(void)state;
	char *out, *err;
	/* a ledger that does not exist is an error */
	char *missing = xasprintf("%s/none.jsonl", tmpdir);
	assert_int_equal(run(&out, &err, 4, "--json", "--ledger", missing), 2);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "tokmux report: no ledger at "));
	assert_non_null(strstr(err, missing));
	free(out);
	free(err);
	/* a directory cannot be read */
	assert_int_equal(run(&out, &err, 3, "--ledger", tmpdir), 1);
	assert_non_null(strstr(err, "tokmux report: cannot read "));
	free(out);
	free(err);

	/* the config's "ledger", with -c and by default */
	char *path = write_ledger(tmpdir, NULL);
	char *cfg = xasprintf("%s/config.json", tmpdir);
	FILE *f = fopen(cfg, "w");
	fprintf(f, "{\"ledger\": \"%s\"}\n", path);
	fclose(f);
	assert_int_equal(run(&out, &err, 4, "-c", cfg, "--json"), 0);
	cJSON *o = cJSON_Parse(out);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "total"), "requests")->valuedouble == 4);
	cJSON_Delete(o);
	free(out);
	free(err);
	char *xdg = xasprintf("%s/xdg", tmpdir), *dir = xasprintf("%s/tokmux", xdg);
	assert_int_equal(mkdir(xdg, 0700) | mkdir(dir, 0700), 0);
	char *def = xasprintf("%s/config.json", dir);
	assert_int_equal(rename(cfg, def), 0);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	assert_int_equal(run(&out, &err, 2, "--json"), 0);
	assert_string_equal(err, "");
	o = cJSON_Parse(out);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "total"), "requests")->valuedouble == 4);
	cJSON_Delete(o);
	free(out);
	free(err);
	/* a bad config is a usage error naming it */
	f = fopen(def, "w");
	fputs("{\"ledger\": 5}\n", f);
	fclose(f);
	assert_int_equal(run(&out, &err, 1), 2);
	assert_non_null(strstr(err, "tokmux report: "));
	assert_non_null(strstr(err, "ledger"));
	free(out);
	free(err);
	unsetenv("XDG_CONFIG_HOME");
	free(xdg);
	free(dir);
	free(def);
	free(cfg);
	free(missing);
	free(path);
}

static void
test_run_args(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run(&out, &err, 2, "--help"), 0);
	assert_non_null(strstr(out, "usage: tokmux report [daily|weekly|monthly|session|blocks]"));
	assert_non_null(strstr(out, "--breakdown"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 2, "--version"), 0);
	assert_int_equal(strncmp(out, "tokmux ", 7), 0);
	free(out);
	free(err);
	struct { int argc; const char *a, *b, *msg; } bad[] = {
		{ 2, "--bogus", NULL, "unknown option \"--bogus\" (try tokmux report --help)" },
		{ 3, "--by", "day", "--by: expected pane, model, agent, branch, member or team, got \"day\"" },
		{ 2, "--by", NULL, "--by needs a value" },
		{ 3, "--since", "21/08/2025", "--since: expected a date YYYY-MM-DD, got \"21/08/2025\"" },
		{ 3, "--until", "2025-02-30", "--until: expected a date YYYY-MM-DD" },
		{ 3, "--timezone", "Mars/Olympus", "--timezone: expected a time zone" },
		{ 3, "--session", "", "--session: expected a session id" },
		{ 2, "--ledger", NULL, "--ledger needs a value" },
		{ 2, "--json=1", NULL, "--json takes no value" },
		{ 2, "yearly", NULL, "unknown view: expected daily, weekly, monthly, session or blocks, "
		    "got \"yearly\"" },
		{ 3, "daily", "weekly", "unexpected argument \"weekly\"" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		int rc = run(&out, &err, bad[i].argc, bad[i].a, bad[i].b);
		if (rc != 2)
			fail_msg("args %s %s: exit %d", bad[i].a, bad[i].b ? bad[i].b : "", rc);
		assert_string_equal(out, "");
		/* one line, the program's name once, then the message */
		char *want = xasprintf("tokmux report: %s", bad[i].msg);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("args %s: said \"%s\", wanted \"%s\"", bad[i].a, err, want);
		assert_int_equal(strchr(err, '\n') - err, strlen(err) - 1);
		free(want);
		free(out);
		free(err);
	}
	char *path = write_ledger(tmpdir, NULL);
	assert_int_equal(run(&out, &err, 7, "--ledger", path, "--since", "2025-08-22", "--until",
	    "2025-08-21"), 2);
	assert_string_equal(err, "tokmux report: --since 2025-08-22 is after --until 2025-08-21\n");
	free(out);
	free(err);
	free(path);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_by),
		cmocka_unit_test(test_models),
		cmocka_unit_test(test_periods),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_saturate),
		cmocka_unit_test_setup_teardown(test_run_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_args, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
