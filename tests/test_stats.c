/*
 * Tests for stats: counting rules, wake fd, per-minute rings, burn-rate
 * window, and a multi-threaded hammer with exact totals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "stats.h"
#include "util.h"

static struct stats_result
result(int route, int status, int64_t in, int64_t out, int64_t cost)
{
	struct stats_result r;
	memset(&r, 0, sizeof(r));
	r.route = route;
	r.status = status;
	r.model_used = "claude-sonnet-4-5";
	r.usage.input_tokens = in;
	r.usage.output_tokens = out;
	r.usage.has_usage = in + out > 0;
	r.cost_micros = cost;
	r.priced = 1;
	return r;
}

static void
finish(stats_t *s, const struct stats_result *r)
{
	stats_begin(s, r->route, 0);
	stats_end(s, r, 0);
}

/* The gateway's truth for a pane: what the agent's own last request said
 * (subagents' requests do not end its turn), and subagent traffic kept
 * apart, most recent first. */
static void
test_activity(void **state)
{
	(void)state;
	stats_t *s = stats_new(2, -1);
	struct stats_snapshot snap;
	struct stats_result r = result(0, 200, 10, 5, 100);

	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].act.last_begin_ms, 0);
	assert_int_equal(snap.route[0].act.last_end_ms, 0);
	stats_begin_agent(s, 0, 0, NULL);
	stats_snapshot(s, &snap);
	assert_true(snap.route[0].act.last_begin_ms > 0);
	assert_int_equal(snap.route[0].act.last_end_ms, 0);
	r.stop_reason = "tool_use";
	r.session = "11111111-2222-4333-8444-555555555555";
	stats_end_at(s, &r, 0, util_now_ms() + 5);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].inflight, 0);
	assert_true(snap.route[0].act.last_end_ms > snap.route[0].act.last_begin_ms);
	assert_string_equal(snap.route[0].act.last_stop, "tool_use");
	assert_int_equal(snap.route[0].act.last_status, 200);
	assert_string_equal(snap.route[0].act.session, r.session);
	int64_t end = snap.route[0].act.last_end_ms;

	/* a helper request (a title, no tools) says nothing of the turn once
	 * the route has a conversation */
	r.helper = 0;
	stats_begin(s, 0, 0);
	stats_end_at(s, &r, 0, util_now_ms() + 10);
	stats_snapshot(s, &snap);
	end = snap.route[0].act.last_end_ms;
	struct stats_result rh = result(0, 200, 3, 2, 10);
	rh.helper = 1;
	rh.stop_reason = "end_turn";
	stats_begin(s, 0, 0);
	stats_end_at(s, &rh, 0, util_now_ms() + 20);
	stats_snapshot(s, &snap);
	assert_string_equal(snap.route[0].act.last_stop, "tool_use");
	assert_int_equal(snap.route[0].act.last_end_ms, end);
	/* ... unless it failed: that the user must see */
	rh.status = 402;
	rh.refused = 1;
	stats_begin(s, 0, 0);
	stats_end_at(s, &rh, 0, util_now_ms() + 30);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].act.last_refused, 1);
	rh.status = 200;
	rh.refused = 0;
	stats_begin(s, 0, 0);
	stats_end_at(s, &rh, 0, util_now_ms() + 40);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].act.last_refused, 1);    /* an answered title: no word */
	r.stop_reason = "tool_use";
	stats_begin(s, 0, 0);
	stats_end_at(s, &r, 0, util_now_ms() + 50);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].act.last_refused, 0);
	end = snap.route[0].act.last_end_ms;
	/* a route without tools anywhere (a script, an SDK): every request counts */
	rh.route = 1;
	stats_begin(s, 1, 0);
	stats_end(s, &rh, 0);
	stats_snapshot(s, &snap);
	assert_string_equal(snap.route[1].act.last_stop, "end_turn");
	assert_true(snap.route[1].act.last_end_ms > 0);

	/* a subagent's request: counted apart, the agent's stop stays */
	stats_begin_agent(s, 0, 0, "a63bf53fdb1b14e60");
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].inflight, 1);
	assert_string_equal(snap.route[0].sub[0].id, "a63bf53fdb1b14e60");
	assert_int_equal(snap.route[0].sub[0].inflight, 1);
	struct stats_result rs = result(0, 200, 30, 20, 250);
	rs.subagent = "a63bf53fdb1b14e60";
	rs.stop_reason = "end_turn";
	rs.session = NULL;     /* keeps the session seen before */
	stats_end(s, &rs, 0);
	stats_snapshot(s, &snap);
	assert_string_equal(snap.route[0].act.last_stop, "tool_use");
	assert_int_equal(snap.route[0].act.last_end_ms, end);
	assert_string_equal(snap.route[0].act.session, r.session);
	assert_int_equal(snap.route[0].sub[0].inflight, 0);
	assert_int_equal(snap.route[0].sub[0].requests, 1);
	assert_int_equal(snap.route[0].sub[0].tokens, 50);
	assert_int_equal(snap.route[0].sub[0].cost_micros, 250);
	assert_int_equal(snap.route[0].requests, 7);
	assert_int_equal(snap.route[0].cost_micros, 580);
	assert_string_equal(snap.route[1].sub[0].id, "");

	/* more subagents than slots: the least recent idle one makes room,
	 * one still in flight is kept */
	stats_begin_agent(s, 0, 0, "busy");
	for (int i = 0; i < STATS_MAX_SUBAGENTS + 2; i++) {
		char id[16];
		snprintf(id, sizeof id, "a%d", i);
		rs.subagent = id;
		stats_begin_agent(s, 0, 0, id);
		stats_end_at(s, &rs, 0, util_now_ms() + 10 + i);
	}
	stats_snapshot(s, &snap);
	int busy = 0;
	for (int i = 0; i < STATS_MAX_SUBAGENTS; i++)
		busy += strcmp(snap.route[0].sub[i].id, "busy") == 0;
	assert_int_equal(busy, 1);
	char want[16];
	snprintf(want, sizeof want, "a%d", STATS_MAX_SUBAGENTS + 1);
	assert_string_equal(snap.route[0].sub[0].id, want);    /* most recent first */
	rs.subagent = "busy";
	stats_end(s, &rs, 0);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].inflight, 0);
	stats_free(s);
}

static void
test_counting(void **state)
{
	(void)state;
	stats_t *s = stats_new(2, -1);
	struct stats_snapshot snap;

	stats_begin(s, 0, 500);
	stats_begin(s, 1, 700);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.total.inflight, 2);
	assert_int_equal(snap.total.reserved_micros, 1200);
	assert_int_equal(snap.route[0].reserved_micros, 500);
	assert_int_equal(snap.route[1].inflight, 1);

	struct stats_result r = result(0, 200, 100, 50, 1234);
	r.usage.cache_read_tokens = 1000;
	r.usage.cache_write_5m_tokens = 10;
	r.usage.cache_write_1h_tokens = 20;
	r.n429 = 2;
	r.n529 = 1;
	r.retries = 3;
	r.fallbacks = 1;
	stats_end(s, &r, 500);
	stats_snapshot(s, &snap);
	assert_int_equal(snap.route[0].inflight, 0);
	assert_int_equal(snap.route[0].reserved_micros, 0);
	assert_int_equal(snap.route[0].requests, 1);
	assert_int_equal(snap.route[0].ok_2xx, 1);
	assert_int_equal(snap.route[0].err_429, 2);
	assert_int_equal(snap.route[0].err_529, 1);
	assert_int_equal(snap.route[0].retries, 3);
	assert_int_equal(snap.route[0].fallbacks, 1);
	assert_int_equal(snap.route[0].cache_read_tokens, 1000);
	assert_int_equal(snap.route[0].cache_write_5m_tokens, 10);
	assert_int_equal(snap.route[0].cache_write_1h_tokens, 20);
	assert_int_equal(snap.route[0].cost_micros, 1234);
	assert_string_equal(snap.route[0].last_model, "claude-sonnet-4-5");
	assert_int_equal(snap.route[0].tokens_per_min[0], 100 + 50 + 1000 + 10 + 20);
	assert_int_equal(snap.route[1].requests, 0);
	assert_int_equal(snap.total.requests, 1);
	assert_int_equal(snap.total.inflight, 1);
	assert_int_equal(snap.total.reserved_micros, 700);
	assert_int_equal(snap.cost_last_10min_micros, 1234);

	/* final 429 with no upstream count: counted once; with n429=1: not twice */
	r = result(1, 429, 0, 0, 0);
	stats_end(s, &r, 700);
	r.n429 = 1;
	finish(s, &r);
	/* 529 final after 3 upstream 529s: 3 */
	r = result(1, 529, 0, 0, 0);
	r.n529 = 3;
	r.error = "overloaded";
	finish(s, &r);
	/* mid-stream overloaded_error in a 200 */
	r = result(1, 200, 10, 1, 5);
	snprintf(r.usage.error_type, sizeof(r.usage.error_type), "overloaded_error");
	finish(s, &r);
	/* refused, 404, 500, transport error */
	r = result(1, 403, 0, 0, 0);
	r.refused = 1;
	finish(s, &r);
	r = result(1, 404, 0, 0, 0);
	finish(s, &r);
	r = result(1, 500, 0, 0, 0);
	finish(s, &r);
	r = result(1, 0, 0, 0, 0);
	finish(s, &r);
	/* unpriced: usage but no price */
	r = result(1, 200, 10, 10, 0);
	r.priced = 0;
	r.model_used = "mystery";
	finish(s, &r);
	/* an out-of-range route counts in the total only */
	r = result(7, 200, 1, 1, 0);
	finish(s, &r);

	stats_snapshot(s, &snap);
	const struct stats_counts *c = &snap.route[1];
	assert_int_equal(c->requests, 9);
	assert_int_equal(c->err_429, 2);
	assert_int_equal(c->err_529, 4);
	assert_int_equal(c->refused, 1);
	assert_int_equal(c->err_4xx, 1);
	assert_int_equal(c->err_5xx, 2);
	assert_int_equal(c->ok_2xx, 2);
	assert_int_equal(c->unpriced, 1);
	assert_int_equal(c->inflight, 0);
	assert_string_equal(c->last_model, "mystery");
	assert_string_equal(c->last_error, "overloaded");
	assert_int_equal(snap.total.requests, 11);
	assert_int_equal(snap.total.ok_2xx, 4);
	assert_int_equal(snap.total.err_429, 4);
	assert_int_equal(snap.total.inflight, 0);
	assert_int_equal(snap.total.reserved_micros, 0);
	stats_free(s);
}

static void
test_routes_and_version(void **state)
{
	(void)state;
	stats_t *s = stats_new(1, -1);
	uint64_t v0 = stats_version(s);
	for (int i = 1; i < STATS_MAX_ROUTES; i++)
		assert_int_equal(stats_add_route(s), i);
	assert_int_equal(stats_add_route(s), -1);
	assert_int_equal(stats_version(s), v0 + STATS_MAX_ROUTES - 1);
	struct stats_snapshot snap;
	stats_snapshot(s, &snap);
	assert_int_equal(snap.nroutes, STATS_MAX_ROUTES);
	stats_begin(s, 3, 0);
	assert_int_equal(stats_version(s), v0 + STATS_MAX_ROUTES);
	stats_free(s);

	/* ensure: grows to n, never shrinks, caps at the limit */
	s = stats_new(0, -1);
	v0 = stats_version(s);
	assert_int_equal(stats_ensure_routes(s, 3), 3);
	assert_int_equal(stats_ensure_routes(s, 2), 3);
	assert_int_equal(stats_version(s), v0 + 1);
	assert_int_equal(stats_add_route(s), 3);
	assert_int_equal(stats_ensure_routes(s, STATS_MAX_ROUTES + 5), STATS_MAX_ROUTES);
	stats_free(s);
}

static void
test_wake_fd(void **state)
{
	(void)state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(efd >= 0);
	stats_t *s = stats_new(1, efd);
	struct stats_result r = result(0, 200, 1, 1, 1);
	stats_begin(s, 0, 0);
	stats_end(s, &r, 0);
	stats_begin(s, 0, 0);
	uint64_t v = 0;
	assert_int_equal(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(v, 3);          /* eventfd sums the 8-byte 1s */
	assert_int_equal(read(efd, &v, sizeof(v)), -1);
	assert_int_equal(errno, EAGAIN);
	stats_free(s);
	close(efd);

	/* a full non-blocking pipe never blocks the writer */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	util_set_nonblock(pfd[1]);
	char junk[4096];
	memset(junk, 0, sizeof(junk));
	for (int i = 0; i < 1024 && write(pfd[1], junk, sizeof(junk)) > 0; i++)
		;
	s = stats_new(1, pfd[1]);
	stats_begin(s, 0, 0);
	stats_end(s, &r, 0);
	assert_int_equal(stats_version(s), 2);
	stats_free(s);
	close(pfd[0]);
	close(pfd[1]);
}

static void
test_minute_rings(void **state)
{
	(void)state;
	stats_t *s = stats_new(1, -1);
	const int64_t M = 60000;
	struct stats_result r = result(0, 200, 10, 0, 1000);
	stats_end_at(s, &r, 0, 100 * M + 5);
	r = result(0, 200, 15, 5, 2000);
	stats_end_at(s, &r, 0, 105 * M);
	stats_end_at(s, &r, 0, 105 * M + 59999);
	r = result(0, 200, 7, 0, 4000);
	stats_end_at(s, &r, 0, 109 * M);

	struct stats_snapshot snap;
	stats_snapshot_at(s, &snap, 109 * M + 1);
	assert_int_equal(snap.route[0].tokens_per_min[0], 7);
	assert_int_equal(snap.route[0].tokens_per_min[4], 40);
	assert_int_equal(snap.route[0].tokens_per_min[9], 10);
	assert_int_equal(snap.route[0].tokens_per_min[1], 0);
	assert_int_equal(snap.total.tokens_per_min[4], 40);
	/* minutes 100..109: 1000 + 2000 + 2000 + 4000 */
	assert_int_equal(snap.cost_last_10min_micros, 9000);
	/* at minute 110, minute 100 has left the window */
	stats_snapshot_at(s, &snap, 110 * M);
	assert_int_equal(snap.cost_last_10min_micros, 8000);
	assert_int_equal(snap.route[0].tokens_per_min[10], 10);
	/* minute 100 is still the oldest sparkline slot at 129, gone at 130 */
	stats_snapshot_at(s, &snap, 129 * M);
	assert_int_equal(snap.route[0].tokens_per_min[STATS_HISTORY_MIN - 1], 10);
	stats_snapshot_at(s, &snap, 130 * M);
	for (int i = 0; i < STATS_HISTORY_MIN; i++)
		assert_true(snap.route[0].tokens_per_min[i] != 10);
	/* a new minute reusing slot 100 % 30 starts from zero */
	r = result(0, 200, 3, 0, 0);
	stats_end_at(s, &r, 0, 130 * M);
	stats_snapshot_at(s, &snap, 130 * M);
	assert_int_equal(snap.route[0].tokens_per_min[0], 3);
	stats_snapshot_at(s, &snap, 500 * M);
	assert_int_equal(snap.cost_last_10min_micros, 0);
	assert_int_equal(snap.route[0].tokens_per_min[0], 0);
	/* totals are unaffected by the windows */
	assert_int_equal(snap.total.cost_micros, 9000);
	stats_free(s);
}

#define THREADS 8
#define ROUNDS 10000

struct hammer_arg {
	stats_t *s;
	int id;
};

static void *
hammer(void *p)
{
	struct hammer_arg *a = p;
	for (int i = 0; i < ROUNDS; i++) {
		int route = (a->id + i) % 4;
		stats_begin(a->s, route, 100);
		struct stats_result r = result(route, (i % 10) ? 200 : 529, 3, 2, 7);
		r.n529 = (i % 10) ? 0 : 1;
		r.usage.cache_read_tokens = a->id;
		stats_end(a->s, &r, 100);
	}
	return NULL;
}

static void
test_hammer(void **state)
{
	(void)state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	stats_t *s = stats_new(4, efd);
	pthread_t th[THREADS];
	struct hammer_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i].s = s;
		args[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	struct stats_snapshot snap;
	stats_snapshot(s, &snap);
	const int64_t n = (int64_t)THREADS * ROUNDS;
	assert_int_equal(snap.version, 2 * n);
	assert_int_equal(snap.total.requests, n);
	assert_int_equal(snap.total.inflight, 0);
	assert_int_equal(snap.total.reserved_micros, 0);
	assert_int_equal(snap.total.input_tokens, 3 * n);
	assert_int_equal(snap.total.output_tokens, 2 * n);
	/* thread t adds t per request: ROUNDS * (0+1+...+7) */
	assert_int_equal(snap.total.cache_read_tokens, (int64_t)ROUNDS * (THREADS * (THREADS - 1) / 2));
	assert_int_equal(snap.total.cost_micros, 7 * n);
	assert_int_equal(snap.total.err_529, n / 10);
	assert_int_equal(snap.total.ok_2xx, n - n / 10);
	int64_t sum = 0;
	for (int i = 0; i < 4; i++) {
		sum += snap.route[i].requests;
		assert_int_equal(snap.route[i].inflight, 0);
	}
	assert_int_equal(sum, n);
	uint64_t v = 0;
	assert_int_equal(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(v, 2 * n);
	stats_free(s);
	close(efd);
}

/* The per-route ring of recent requests: newest first, at most
 * STATS_RECENT_MAX, fields copied from the result, other routes untouched. */
static void
test_recent(void **state)
{
	(void)state;
	stats_t *s = stats_new(2, -1);
	struct stats_recent r[STATS_RECENT_MAX + 5];
	assert_int_equal(stats_recent(s, 1, r, STATS_RECENT_MAX), 0);
	assert_int_equal(stats_recent(s, 7, r, STATS_RECENT_MAX), 0);
	for (int i = 0; i < STATS_RECENT_MAX + 3; i++) {
		struct stats_result res;
		memset(&res, 0, sizeof res);
		res.route = 1;
		res.status = i == 0 ? 529 : 200;
		res.model_used = "claude-haiku-4-5";
		res.model_asked = "claude-sonnet-4-5";
		res.usage.input_tokens = 100 + i;
		res.usage.output_tokens = 10;
		res.usage.cache_write_5m_tokens = 1;
		res.usage.cache_write_1h_tokens = 2;
		res.cost_micros = 1000 * i;
		res.priced = 1;
		res.retries = i % 3;
		res.fallbacks = 1;
		stats_begin(s, 1, 0);
		stats_end(s, &res, 0);
	}
	int n = stats_recent(s, 1, r, STATS_RECENT_MAX + 5);
	assert_int_equal(n, STATS_RECENT_MAX);
	int last = STATS_RECENT_MAX + 2;
	assert_int_equal(r[0].input_tokens, 100 + last);          /* newest first */
	assert_int_equal(r[0].cost_micros, 1000 * last);
	assert_int_equal(r[0].retries, last % 3);
	assert_int_equal(r[0].cache_write_tokens, 3);
	assert_string_equal(r[0].model, "claude-haiku-4-5");
	assert_string_equal(r[0].model_asked, "claude-sonnet-4-5");
	assert_int_equal(r[n - 1].input_tokens, 100 + 3);         /* the oldest 3 fell out */
	assert_int_equal(stats_recent(s, 1, r, 2), 2);
	assert_int_equal(r[1].input_tokens, 100 + last - 1);
	assert_int_equal(stats_recent(s, 0, r, 5), 0);
	struct stats_snapshot snap;
	stats_snapshot(s, &snap);
	assert_string_equal(snap.route[1].last_model_asked, "claude-sonnet-4-5");
	assert_string_equal(snap.route[1].last_model, "claude-haiku-4-5");
	stats_free(s);
}

/* The conversation's model (requests with tools) apart from the helper's;
 * clamped requests counted. */
static void
test_main_model_and_clamped(void **state)
{
	(void)state;
	stats_t *s = stats_new(1, -1);
	struct stats_result r = result(0, 200, 10, 5, 1);
	r.model_used = r.model_asked = "claude-opus-5-5";
	r.helper = 0;
	r.out_limit = 9000;
	r.clamped_from = 128000;
	stats_begin(s, 0, 0);
	stats_end(s, &r, 0);
	r.model_used = r.model_asked = "claude-haiku-4-5";
	r.helper = 1;
	r.clamped_from = 0;
	stats_begin(s, 0, 0);
	stats_end(s, &r, 0);
	struct stats_snapshot *snap = xmalloc(sizeof *snap);
	stats_snapshot(s, snap);
	assert_string_equal(snap->route[0].last_model, "claude-haiku-4-5");
	assert_string_equal(snap->route[0].main_model, "claude-opus-5-5");
	assert_string_equal(snap->route[0].helper_model, "claude-haiku-4-5");
	assert_int_equal(snap->route[0].clamped, 1);
	struct stats_recent rec[2];
	assert_int_equal(stats_recent(s, 0, rec, 2), 2);
	assert_int_equal(rec[1].clamped_from, 128000);
	assert_int_equal(rec[1].out_limit, 9000);
	free(snap);
	stats_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counting),
		cmocka_unit_test(test_activity),
		cmocka_unit_test(test_routes_and_version),
		cmocka_unit_test(test_wake_fd),
		cmocka_unit_test(test_minute_rings),
		cmocka_unit_test(test_hammer),
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_main_model_and_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
