/*
 * Unit tests for meter: a finished request becomes its cost, one stats
 * result, one /metrics count and one ledger record, and only then the
 * policy's settle; refusals are recorded but never settled; the error
 * said is the proxy's own, else the response's, else why it was cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meter.h"
#include "testtmp.h"
#include "util.h"

struct fx {
	char dir[64], path[128];
	pricing_t *pricing;
	stats_t *stats;
	ledger_t *ledger;
	metrics_t *metrics;
	struct gateway_policy policy;
	struct meter m;
	int settled;
	int records_at_settle;     /* ledger records already written when settle ran */
	struct gateway_outcome last;
};

static void
on_settle(void *user, const struct gateway_call *c, const struct gateway_outcome *o)
{
	struct fx *f = user;
	f->settled++;
	f->records_at_settle = ledger_read(f->path, NULL, NULL);
	f->last = *o;
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	char *err = NULL;
	testtmp_make(f->dir, sizeof f->dir, "meter");
	snprintf(f->path, sizeof f->path, "%s/ledger.jsonl", f->dir);
	f->pricing = pricing_new();
	f->stats = stats_new(1, -1);
	f->ledger = ledger_open(f->path, &err);
	assert_non_null(f->ledger);
	f->metrics = metrics_new();
	f->policy = (struct gateway_policy){ .user = f, .settle = on_settle };
	f->m = (struct meter){ .pricing = f->pricing, .stats = f->stats, .ledger = f->ledger,
		.metrics = f->metrics, .policy = &f->policy };
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	ledger_close(f->ledger);
	metrics_free(f->metrics);
	stats_free(f->stats);
	pricing_free(f->pricing);
	assert_int_equal(testtmp_remove(f->dir), 0);
	free(f);
	return 0;
}

struct last_entry {
	struct ledger_entry e;
	int n;
};

static void
keep_last(const struct ledger_entry *e, void *user)
{
	struct last_entry *l = user;
	l->e = *e;
	l->n++;
}

static struct meter_request
request(const struct gateway_call *c, const struct usage *u)
{
	return (struct meter_request){
		.route = 0, .stats_route = 0, .route_name = "alpha", .agent = "claude",
		.api = API_ANTHROPIC_MESSAGES, .key_hash = "abcd", .model_asked = "claude-opus-4-1",
		.call = c, .usage = u, .status = 200, .started_ms = util_now_ms(),
		.request_id = "", .error = "", .cut = "",
	};
}

static void
test_finished(void **state)
{
	struct fx *f = *state;
	struct gateway_call c = { .attempt = 1, .n529 = 1, .fallbacks = 1, .reserved_micros = 500 };
	struct usage u = { .has_usage = 1, .input_tokens = 1000, .output_tokens = 100 };
	snprintf(u.model, sizeof u.model, "claude-sonnet-4-5");
	snprintf(u.request_id, sizeof u.request_id, "msg_1");
	struct meter_request q = request(&c, &u);
	meter_begin(&f->m, 0, 500);
	meter_finish(&f->m, &q);
	/* billed as the model that answered: 1000 x $3 + 100 x $15 */
	assert_int_equal(f->settled, 1);
	assert_int_equal(f->records_at_settle, 1);   /* recorded before the policy heard */
	assert_int_equal(f->last.cost_micros, 4500);
	assert_true(f->last.priced);
	assert_string_equal(f->last.model_used, "claude-sonnet-4-5");
	struct last_entry l = { 0 };
	assert_int_equal(ledger_read(f->path, keep_last, &l), 1);
	assert_string_equal(l.e.model_asked, "claude-opus-4-1");
	assert_string_equal(l.e.model_used, "claude-sonnet-4-5");
	assert_int_equal(l.e.cost_micros, 4500);
	assert_int_equal(l.e.retries, 1);
	assert_int_equal(l.e.fallbacks, 1);
	assert_int_equal(l.e.n529, 1);
	assert_int_equal(l.e.pane, 1);
	struct stats_snapshot *snap = xmalloc(sizeof *snap);
	stats_snapshot(f->stats, snap);
	assert_int_equal(snap->route[0].cost_micros, 4500);
	assert_int_equal(snap->route[0].inflight, 0);
	assert_int_equal(snap->route[0].reserved_micros, 0);
	assert_int_equal(snap->route[0].retries, 1);
	free(snap);
	struct metrics_route r = { "alpha", 0 };
	char *t = metrics_render(f->metrics, &r, 1, NULL);
	assert_non_null(strstr(t, "model=\"claude-sonnet-4-5\"} 1\n"));
	free(t);
}

static void
test_refused_and_errors(void **state)
{
	struct fx *f = *state;
	struct gateway_call c = { 0 };
	struct usage none = { 0 };
	/* refused: counted and recorded, never settled */
	struct meter_request q = request(&c, &none);
	q.status = 403;
	q.refused = 1;
	q.error = "tokmux: ceiling";
	meter_begin(&f->m, 0, 0);
	meter_finish(&f->m, &q);
	assert_int_equal(f->settled, 0);
	struct stats_snapshot *snap = xmalloc(sizeof *snap);
	stats_snapshot(f->stats, snap);
	assert_int_equal(snap->route[0].refused, 1);
	assert_string_equal(snap->route[0].last_error, "tokmux: ceiling");
	/* the response's error beats why it was cut */
	struct usage ov = { .has_usage = 1, .output_tokens = 3 };
	snprintf(ov.error_type, sizeof ov.error_type, "overloaded_error");
	q = request(&c, &ov);
	q.cut = "client disconnected";
	meter_begin(&f->m, 0, 0);
	meter_finish(&f->m, &q);
	stats_snapshot(f->stats, snap);
	assert_string_equal(snap->route[0].last_error, "overloaded_error");
	/* only the cut: that */
	q = request(&c, &none);
	q.cut = "client disconnected";
	q.client_gone = 1;
	meter_begin(&f->m, 0, 0);
	meter_finish(&f->m, &q);
	stats_snapshot(f->stats, snap);
	assert_string_equal(snap->route[0].last_error, "client disconnected");
	assert_true(f->last.client_gone);
	/* an unknown model is flagged unpriced, not free */
	struct usage unk = { .has_usage = 1, .input_tokens = 5 };
	q = request(&c, &unk);
	q.model_asked = "mystery";
	meter_begin(&f->m, 0, 0);
	meter_finish(&f->m, &q);
	assert_false(f->last.priced);
	stats_snapshot(f->stats, snap);
	assert_int_equal(snap->route[0].unpriced, 1);
	assert_int_equal(snap->route[0].inflight, 0);
	free(snap);
	assert_int_equal(ledger_read(f->path, NULL, NULL), 4);
	assert_int_equal(f->settled, 3);
}

static void
test_nothing_attached(void **state)
{
	/* a meter with nowhere to write still settles with the policy */
	struct fx *f = *state;
	struct meter bare = { .policy = &f->policy };
	struct gateway_call c = { 0 };
	struct usage u = { .has_usage = 1, .input_tokens = 1 };
	struct meter_request q = request(&c, &u);
	meter_begin(&bare, 0, 0);
	meter_finish(&bare, &q);
	assert_int_equal(f->settled, 1);
	assert_false(f->last.priced);   /* no pricing: nothing is priced */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_attached, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
