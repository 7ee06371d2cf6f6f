/*
 * Tests for report: grouping by day / model / pane, the --since filter,
 * the text and JSON output of `tokmux report` (cmd_report_main) on a real
 * ledger file, --help, --version and argument errors. Runs with TZ=UTC so days are predictable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cmd.h"
#include "ledger.h"
#include "report.h"
#include "testtmp.h"
#include "util.h"

#define DAY1 1755734400.0   /* 2025-08-21T00:00:00Z (date -u -d 2025-08-21 +%s) */
#define DAY2 (DAY1 + 86400) /* 2025-08-22 */

static struct ledger_entry
entry(double t, int pane, const char *name, const char *model, int64_t in, int64_t out,
    int64_t cost)
{
	struct ledger_entry e;
	memset(&e, 0, sizeof(e));
	e.time = t;
	e.pane = pane;
	snprintf(e.pane_name, sizeof(e.pane_name), "%s", name);
	snprintf(e.model_used, sizeof(e.model_used), "%s", model);
	e.usage.input_tokens = in;
	e.usage.output_tokens = out;
	e.usage.has_usage = in + out > 0;
	e.cost_micros = cost;
	e.priced = 1;
	e.status = 200;
	return e;
}

static void
test_grouping(void **state)
{
	(void)state;
	report_t *r = report_new(0);
	struct ledger_entry e;
	e = entry(DAY1 + 3600, 1, "claude", "claude-sonnet-4-5", 100, 10, 500);
	e.usage.cache_read_tokens = 1000;
	e.usage.cache_write_5m_tokens = 20;
	e.usage.cache_write_1h_tokens = 30;
	e.n429 = 2;
	report_add(r, &e);
	e = entry(DAY2 + 60, 2, "codex", "gpt-5-codex", 200, 20, 3000);
	e.n529 = 1;
	report_add(r, &e);
	e = entry(DAY1 + 7200, 1, "claude", "claude-opus-4-6", 300, 30, 9000);
	snprintf(e.usage.error_type, sizeof(e.usage.error_type), "overloaded_error");
	report_add(r, &e);
	e = entry(DAY2 + 120, 2, "codex", "mystery-model", 5, 5, 0);
	e.priced = 0;
	report_add(r, &e);
	/* model_used empty: falls back to model_asked */
	e = entry(DAY2 + 180, 3, "", "", 0, 0, 0);
	snprintf(e.model_asked, sizeof(e.model_asked), "claude-haiku-4-5");
	e.status = 403;
	report_add(r, &e);

	const struct report_row *t = report_total(r);
	assert_int_equal(t->requests, 5);
	assert_int_equal(t->input_tokens, 605);
	assert_int_equal(t->output_tokens, 65);
	assert_int_equal(t->cache_read_tokens, 1000);
	assert_int_equal(t->cache_write_5m_tokens, 20);
	assert_int_equal(t->cache_write_1h_tokens, 30);
	assert_int_equal(t->cost_micros, 12500);
	assert_int_equal(t->n429, 2);
	assert_int_equal(t->n529, 2);   /* one upstream 529 + one overloaded_error in a 200 */
	assert_int_equal(t->unpriced, 1);

	const struct report_row *rows;
	assert_int_equal(report_rows(r, REPORT_BY_DAY, &rows), 2);
	assert_string_equal(rows[0].key, "2025-08-21");
	assert_int_equal(rows[0].requests, 2);
	assert_int_equal(rows[0].cost_micros, 9500);
	assert_string_equal(rows[1].key, "2025-08-22");
	assert_int_equal(rows[1].requests, 3);

	assert_int_equal(report_rows(r, REPORT_BY_MODEL, &rows), 5);
	assert_string_equal(rows[0].key, "claude-opus-4-6");      /* by cost, descending */
	assert_string_equal(rows[1].key, "gpt-5-codex");
	assert_string_equal(rows[2].key, "claude-sonnet-4-5");
	assert_int_equal(rows[2].n429, 2);

	assert_int_equal(report_rows(r, REPORT_BY_PANE, &rows), 3);
	assert_string_equal(rows[0].key, "1 claude");
	assert_int_equal(rows[0].requests, 2);
	assert_int_equal(rows[0].cost_micros, 9500);
	assert_string_equal(rows[1].key, "2 codex");
	assert_int_equal(rows[1].unpriced, 1);
	assert_string_equal(rows[2].key, "3");
	assert_int_equal(rows[2].pane, 3);
	report_free(r);

	/* since: only DAY2 */
	r = report_new(DAY2);
	report_add(r, &(struct ledger_entry){ .time = DAY2 - 1, .cost_micros = 1 });
	report_add(r, &(struct ledger_entry){ .time = DAY2, .cost_micros = 10 });
	assert_int_equal(report_total(r)->requests, 1);
	assert_int_equal(report_total(r)->cost_micros, 10);
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

static char *
write_ledger(void)
{
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	assert_non_null(l);
	struct ledger_record r;
	memset(&r, 0, sizeof(r));
	r.pane = 1;
	r.pane_name = "claude";
	r.api = "anthropic";
	r.model_used = "claude-sonnet-4-5-20250929";
	r.priced = 1;
	r.status = 200;
	for (int i = 0; i < 3; i++) {
		r.time = DAY1 + 100 * i;
		r.usage.input_tokens = 1000;
		r.usage.output_tokens = 500;
		r.usage.cache_read_tokens = 2000;
		r.usage.cache_write_5m_tokens = 3000;
		r.cost_micros = 22350;
		r.n429 = i;
		assert_int_equal(ledger_append(l, &r), 0);
	}
	r.time = DAY2 + 5;
	r.pane = 2;
	r.pane_name = "codex";
	r.model_used = "gpt-5-codex";
	r.usage.input_tokens = 1064;
	r.usage.output_tokens = 930;
	r.usage.cache_read_tokens = 11776;
	r.usage.cache_write_5m_tokens = 0;
	r.cost_micros = 12102;
	r.n429 = 0;
	r.n529 = 2;
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	return path;
}

static void
test_run_text(void **state)
{
	(void)state;
	char *path = write_ledger();
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "--ledger", path), 0);
	assert_string_equal(err, "");
	/* header, two days, total */
	assert_non_null(strstr(out, "day"));
	assert_non_null(strstr(out, "requests"));
	assert_non_null(strstr(out, "cache write"));
	assert_non_null(strstr(out, "2025-08-21"));
	assert_non_null(strstr(out, "2025-08-22"));
	const char *total = strstr(out, "\ntotal");
	assert_non_null(total);
	/* total: 4 requests; input 3*1000+1064 = 4064; cost 3*22350 + 12102 = 79152 -> $0.08 */
	long long req, in, outp, cr, cw, n429, n529;
	char cost[32];
	assert_int_equal(sscanf(total + 1, "total %lld %lld %lld %lld %lld %31s %lld %lld",
	    &req, &in, &outp, &cr, &cw, cost, &n429, &n529), 8);
	assert_int_equal(req, 4);
	assert_int_equal(in, 4064);
	assert_int_equal(outp, 3 * 500 + 930);
	assert_int_equal(cr, 3 * 2000 + 11776);
	assert_int_equal(cw, 9000);
	assert_string_equal(cost, "$0.08");
	assert_int_equal(n429, 0 + 1 + 2);
	assert_int_equal(n529, 2);
	free(out);
	free(err);

	assert_int_equal(run(&out, &err, 5, "--ledger", path, "--by", "model"), 0);
	assert_non_null(strstr(out, "model"));
	assert_non_null(strstr(out, "claude-sonnet-4-5-20250929"));
	assert_true(strstr(out, "claude-sonnet-4-5-20250929") < strstr(out, "gpt-5-codex"));
	free(out);
	free(err);

	assert_int_equal(run(&out, &err, 4, "--ledger", path, "--by=pane"), 0);
	assert_non_null(strstr(out, "1 claude"));
	assert_non_null(strstr(out, "2 codex"));
	free(out);
	free(err);

	/* --since keeps only the second day */
	assert_int_equal(run(&out, &err, 5, "--ledger", path, "--since", "2025-08-22"), 0);
	assert_null(strstr(out, "2025-08-21"));
	assert_non_null(strstr(out, "2025-08-22"));
	free(out);
	free(err);
	free(path);
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItem(o, k);
	assert_true(cJSON_IsNumber(it));
	return it->valuedouble;
}

static void
test_run_json(void **state)
{
	(void)state;
	char *path = write_ledger();
	char *out, *err;
	assert_int_equal(run(&out, &err, 4, "--json", "--ledger", path), 0);
	cJSON *o = cJSON_Parse(out);
	assert_non_null(o);
	const cJSON *t = cJSON_GetObjectItem(o, "total");
	assert_true(num(t, "requests") == 4);
	assert_true(num(t, "input_tokens") == 4064);
	assert_true(num(t, "cache_write_5m_tokens") == 9000);
	assert_true(num(t, "cost_micros") == 79152);
	assert_true(num(t, "cost_usd") == 0.079152);
	const cJSON *bm = cJSON_GetObjectItem(o, "by_model");
	assert_int_equal(cJSON_GetArraySize(bm), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(bm, 0), "model")->valuestring,
	    "claude-sonnet-4-5-20250929");
	assert_true(num(cJSON_GetArrayItem(bm, 0), "cost_micros") == 67050);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "by_pane")), 2);
	const cJSON *bd = cJSON_GetObjectItem(o, "by_day");
	assert_int_equal(cJSON_GetArraySize(bd), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(bd, 1), "day")->valuestring,
	    "2025-08-22");
	cJSON_Delete(o);
	free(out);
	free(err);

	/* a missing ledger is an empty report, not an error */
	char *missing = xasprintf("%s/none.jsonl", tmpdir);
	assert_int_equal(run(&out, &err, 4, "--json", "--ledger", missing), 0);
	o = cJSON_Parse(out);
	assert_true(num(cJSON_GetObjectItem(o, "total"), "requests") == 0);
	cJSON_Delete(o);
	free(out);
	free(err);
	free(missing);
	free(path);
}

static void
test_run_args(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run(&out, &err, 2, "--help"), 0);
	assert_non_null(strstr(out, "usage: tokmux report"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 2, "--version"), 0);
	assert_int_equal(strncmp(out, "tokmux ", 7), 0);
	free(out);
	free(err);
	struct { int argc; const char *a, *b, *msg; } bad[] = {
		{ 2, "--bogus", NULL, "unknown option \"--bogus\" (try tokmux report --help)" },
		{ 3, "--by", "week", "--by: expected day, model or pane, got \"week\"" },
		{ 2, "--by", NULL, "--by needs a value" },
		{ 3, "--since", "21/08/2025", "--since: expected a date YYYY-MM-DD, got \"21/08/2025\"" },
		{ 3, "--since", "2025-02-30", "--since: expected a date YYYY-MM-DD" },
		{ 2, "--ledger", NULL, "--ledger needs a value" },
		{ 2, "--json=1", NULL, "--json takes no value" },
		{ 2, "extra", NULL, "unexpected argument \"extra\"" },
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
	/* unreadable ledger (a directory) */
	int rc = run(&out, &err, 3, "--ledger", "/");
	assert_true(rc == 0 || rc == 1);
	free(out);
	free(err);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouping),
		cmocka_unit_test_setup_teardown(test_run_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_json, setup, teardown),
		cmocka_unit_test(test_run_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
