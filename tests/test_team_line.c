/*
 * Tests for the team line's view (the binding period, this member's
 * share) and for what the ceilings do when the team's store cannot be
 * reached: refuse in the spending-limit shape with the store's message
 * (fail closed), or serve unenforced (fail open). The store is a Redis
 * URL on a loopback port nothing listens on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testport.h"
#include "ceiling.h"
#include "pricing.h"
#include "reqbody.h"
#include "team.h"
#include "team_line.h"
#include "util.h"

static void
test_view_binding(void **state)
{
	(void)state;
	struct team_settings t = { .team = "acme", .member = "alice" };
	struct budget_state team[PERIOD_COUNT] = {
		{ .spent = 1000000, .inflight = 0, .ceiling = 50000000 },    /* day: $49 left */
		{ .spent = 150000000, .inflight = 20000000, .ceiling = 200000000 },   /* week: $30 */
		{ .spent = 150000000, .ceiling = BUDGET_NONE },
	};
	struct budget_state member[PERIOD_COUNT] = {
		{ .spent = 400000, .ceiling = BUDGET_NONE },
		{ .spent = 7000000, .ceiling = 10000000 },
		{ .spent = 9000000, .ceiling = BUDGET_NONE },
	};
	struct stats_team v;
	memset(&v, 0, sizeof v);
	team_line_view(&t, team, member, &v);
	assert_string_equal(v.period, "week");
	assert_string_equal(v.team, "acme");
	assert_string_equal(v.member, "alice");
	assert_int_equal(v.spent, 150000000);
	assert_int_equal(v.inflight, 20000000);
	assert_int_equal(v.ceiling, 200000000);
	assert_int_equal(v.member_spent, 7000000);
	assert_int_equal(v.member_ceiling, 10000000);
	/* no team ceiling: the member's binds; neither: the day */
	team[0].ceiling = team[1].ceiling = BUDGET_NONE;
	member[1].ceiling = BUDGET_NONE;
	member[2].ceiling = 9500000;
	team_line_view(&t, team, member, &v);
	assert_string_equal(v.period, "month");
	assert_int_equal(v.ceiling, -1);
	assert_int_equal(v.member_ceiling, 9500000);
	member[2].ceiling = BUDGET_NONE;
	team_line_view(&t, team, member, &v);
	assert_string_equal(v.period, "day");
	assert_int_equal(v.member_spent, 400000);
}

/* One team scope, as the core adds them. */
static int
team_scope_one(void *user, const struct ceiling_request *rq, struct ceiling_scope *out, int max)
{
	(void)user;
	(void)max;
	budget_scope_plain(&out[0].s, "team:test", 100000000);
	snprintf(out[0].name, sizeof out[0].name, "team acme");
	snprintf(out[0].whose, sizeof out[0].whose, "team acme's");
	snprintf(out[0].what, sizeof out[0].what, "daily budget");
	(void)rq;
	return 1;
}

static void
unreachable(int fail_open, enum api_kind api, int status, const char *type)
{
	char url[64], *err = NULL;
	int port = testport_free();
	snprintf(url, sizeof url, "redis://:pw-secret@127.0.0.1:%d", port);
	struct budget_options bo = { .url = url, .team = "acme", .timeout_ms = 200 };
	budget_t *b = budget_open(&bo, &err);
	assert_non_null(b);
	pricing_t *pr = pricing_new();
	struct ceiling_options co = { .pricing = pr, .budget = b, .scope_prefix = "s:1:",
		.ceiling_micros = -1, .daily_ceiling_micros = -1, .extra_scopes = team_scope_one,
		.fail_open = fail_open };
	ceiling_t *c = ceiling_new(&co, &err);
	assert_non_null(c);
	struct ceiling_route_config rc = { .number = 1, .name = "main", .ceiling_micros = -1,
		.ceiling_tokens = -1 };
	ceiling_add_route(c, 0, &rc);
	const char *body = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":2000,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	struct reqbody rb;
	assert_int_equal(reqbody_read(body, strlen(body), &rb), 0);
	struct ceiling_ask a = { .route = 0, .api = api, .model = "claude-haiku-4-5", .rb = &rb };
	ceiling_hold_t *h = NULL;
	struct ceiling_grant g;
	struct gateway_refusal r;
	memset(&r, 0, sizeof r);
	int rc2 = ceiling_reserve(c, &a, &h, &g, &r);
	if (fail_open) {
		assert_int_equal(rc2, 0);
		assert_non_null(h);
		assert_int_equal(g.out_limit, 2000);     /* unenforced: as asked */
		ceiling_release(c, h);
	} else {
		char want[96];
		snprintf(want, sizeof want, "tokmux: team budget store unreachable at 127.0.0.1:%d", port);
		assert_int_equal(rc2, -1);
		assert_null(h);
		assert_int_equal(r.status, status);
		assert_string_equal(r.type, type);
		assert_true(strncmp(r.message, want, strlen(want)) == 0);
		assert_null(strstr(r.message, "pw-secret"));
	}
	ceiling_free(c);
	budget_close(b);
	pricing_free(pr);
}

static void
test_fail_closed(void **state)
{
	(void)state;
	unreachable(0, API_ANTHROPIC_MESSAGES, 402, "billing_error");
	unreachable(0, API_OPENAI_CHAT, 400, "insufficient_quota");
}

static void
test_fail_open(void **state)
{
	(void)state;
	unreachable(1, API_ANTHROPIC_MESSAGES, 0, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_binding),
		cmocka_unit_test(test_fail_closed),
		cmocka_unit_test(test_fail_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
