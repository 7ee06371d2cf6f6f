/*
 * Unit tests for team_status: what `tokmux team` reads from a budget store
 * (the in-process one: spend, money in flight, refusals, stored and
 * configured ceilings, family rows, members with only a stored ceiling)
 * and prints as a table and as JSON; an unreachable store is an error
 * with the store's message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testport.h"
#include "budget.h"
#include "team.h"
#include "team_status.h"
#include "util.h"

#define NOW 1796173200.0   /* 2026-12-02T01:00:00Z */

static budget_t *
open_mem(const char *member)
{
	struct budget_options o = { .url = "memory", .team = "acme", .member = member };
	char *err = NULL;
	budget_t *b = budget_open(&o, &err);
	assert_non_null(b);
	return b;
}

/* Settings as merged from a config with a team day ceiling of $50 and a
 * member day ceiling of $10. */
static void
settings(struct team_settings *t, const char *member)
{
	struct team_settings in;
	team_settings_init(&in);
	in.team = xstrdup("acme");
	in.member = xstrdup(member);
	team_ceiling_set(&in.team_ceilings, TEAM_ALL, PERIOD_DAY, 50000000);
	team_ceiling_set(&in.member_ceilings, TEAM_ALL, PERIOD_DAY, 10000000);
	team_settings_merge(t, &in, NULL);
	team_settings_free(&in);
}

static const cJSON *
path(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b != NULL)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	if (x == NULL)
		fail_msg("no %s.%s", a, b ? b : "");
	return x;
}

static double
num(const cJSON *o, const char *a, const char *b, const char *c)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(path(o, a, b), c);
	if (!cJSON_IsNumber(x))
		fail_msg("%s.%s.%s is not a number", a, b, c);
	return x->valuedouble;
}

static void
test_read_and_print(void **state)
{
	struct team_settings t;
	settings(&t, "alice");
	budget_t *b = open_mem("alice");
	struct period_tz utc = { 0, 0 };
	struct budget_scope s[12];
	int opus = team_family_index("opus");
	int n = team_scopes(&t, &utc, NOW, opus, s, 12);
	struct budget_grant g;
	budget_lease_t *done, *held, *none;
	assert_int_equal(budget_reserve(b, s, n, 2000000, 2000000, &g, &done), BUDGET_OK);
	assert_int_equal(budget_settle(b, done, 1500000), BUDGET_OK);
	assert_int_equal(budget_reserve(b, s, n, 500000, 500000, &g, &held), BUDGET_OK);
	/* the member's $10 binds: refused, counted in every scope of the request */
	assert_int_equal(budget_reserve(b, s, n, 9000000, 9000000, &g, &none), BUDGET_REFUSED);
	char err[BUDGET_ERR_MAX];
	assert_int_equal(budget_set_ceiling(b, "team:week", 100000000, err, sizeof err), BUDGET_OK);
	assert_int_equal(budget_set_ceiling(b, "member:carol:day", BUDGET_NONE, err, sizeof err),
	    BUDGET_OK);

	struct team_status st;
	assert_int_equal(team_status_read(b, &t, NOW + 5, &st, err, sizeof err), BUDGET_OK);
	assert_string_equal(st.team, "acme");
	assert_string_equal(st.where, "memory");
	assert_string_equal(st.tz, "UTC");
	assert_string_equal(st.label[PERIOD_DAY], "2026-12-02");
	assert_string_equal(st.label[PERIOD_WEEK], "2026-W49");
	const struct budget_state *d = &st.team_owner.s[TEAM_ALL][PERIOD_DAY];
	assert_int_equal(d->spent, 1500000);
	assert_int_equal(d->inflight, 500000);
	assert_int_equal(d->ceiling, 50000000);
	assert_int_equal(d->stored, 0);
	assert_int_equal(d->requests, 1);
	assert_int_equal(d->refused, 1);
	assert_int_equal(st.team_owner.s[TEAM_ALL][PERIOD_WEEK].ceiling, 100000000);
	assert_int_equal(st.team_owner.s[TEAM_ALL][PERIOD_WEEK].stored, 1);
	assert_int_equal(st.team_owner.s[opus][PERIOD_MONTH].spent, 1500000);
	assert_int_equal(st.nmembers, 2);
	assert_string_equal(st.members[0].name, "alice");
	assert_true(st.members[0].last > 0);
	assert_int_equal(st.members[0].s[TEAM_ALL][PERIOD_DAY].ceiling, 10000000);
	assert_int_equal(st.members[0].s[TEAM_ALL][PERIOD_DAY].refused, 1);
	assert_string_equal(st.members[1].name, "carol");     /* only a stored ceiling */
	assert_true(st.members[1].last == 0);
	assert_int_equal(st.members[1].s[TEAM_ALL][PERIOD_DAY].ceiling, BUDGET_NONE);
	assert_int_equal(st.members[1].s[TEAM_ALL][PERIOD_DAY].stored, 1);

	char *text = team_status_text(&st);
	assert_non_null(strstr(text, "team acme on memory; periods at UTC: day 2026-12-02, week "
	    "2026-W49, month 2026-12\n"));
	assert_non_null(strstr(text, "\nteam acme\n  day                $1.50      $0.50      "
	    "$50.00 config     $48.00        1       1\n"));
	assert_non_null(strstr(text, "  week               $1.50      $0.50     $100.00 store      "
	    "$98.00        1       1\n"));
	assert_non_null(strstr(text, "  day:opus           $1.50      $0.50        none"));
	assert_null(strstr(text, "sonnet"));        /* families with nothing are left out */
	assert_non_null(strstr(text, "\nalice (last active "));
	assert_non_null(strstr(text, "\ncarol (last active never)\n  day                $0.00      "
	    "$0.00        none store           -        0       0\n"));
	free(text);

	char *js = team_status_json(&st);
	cJSON *o = cJSON_Parse(js);
	assert_non_null(o);
	assert_string_equal(path(o, "team", NULL)->valuestring, "acme");
	assert_string_equal(path(o, "periods", "week")->valuestring, "2026-W49");
	assert_true(num(o, "budget", "day", "spent_usd") == 1.5);
	assert_true(num(o, "budget", "day", "in_flight_usd") == 0.5);
	assert_true(num(o, "budget", "day", "ceiling_usd") == 50);
	assert_string_equal(path(path(o, "budget", "day"), "ceiling_from", NULL)->valuestring,
	    "config");
	assert_true(cJSON_IsNull(path(path(o, "budget", "month"), "ceiling_usd", NULL)));
	assert_true(num(o, "budget", "day:opus", "spent_usd") == 1.5);
	assert_null(cJSON_GetObjectItem(path(o, "budget", NULL), "day:haiku"));
	const cJSON *ms = path(o, "members", NULL);
	assert_int_equal(cJSON_GetArraySize(ms), 2);
	const cJSON *alice = cJSON_GetArrayItem(ms, 0);
	assert_string_equal(path(alice, "member", NULL)->valuestring, "alice");
	assert_true(num(alice, "budget", "day", "refused") == 1);
	assert_true(num(alice, "budget", "day", "ceiling_usd") == 10);
	cJSON_Delete(o);
	free(js);
	team_status_free(&st);
	budget_release(b, held);
	budget_close(b);
	team_settings_free(&t);
}

static void
test_empty_team(void **state)
{
	struct team_settings t;
	settings(&t, "bob");
	budget_t *b = open_mem("bob");
	struct team_status st;
	char err[BUDGET_ERR_MAX];
	assert_int_equal(team_status_read(b, &t, NOW, &st, err, sizeof err), BUDGET_OK);
	assert_int_equal(st.nmembers, 0);
	char *text = team_status_text(&st);
	assert_non_null(strstr(text, "no member has used this team's budget yet\n"));
	free(text);
	char *js = team_status_json(&st);
	assert_non_null(strstr(js, "\"members\":[]"));
	free(js);
	team_status_free(&st);
	budget_close(b);
	team_settings_free(&t);
}

static void
test_unreachable(void **state)
{
	struct team_settings t;
	settings(&t, "bob");
	int port = testport_free();
	char url[64], want[96];
	snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d", port);
	snprintf(want, sizeof want, "team budget store unreachable at 127.0.0.1:%d", port);
	struct budget_options o = { .url = url, .team = "acme", .member = "bob" };
	char *e = NULL;
	budget_t *b = budget_open(&o, &e);
	assert_non_null(b);
	struct team_status st;
	char err[BUDGET_ERR_MAX];
	assert_int_equal(team_status_read(b, &t, NOW, &st, err, sizeof err), BUDGET_UNREACHABLE);
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "s3cret"));
	team_status_free(&st);
	budget_close(b);
	team_settings_free(&t);
}

static void
test_ago(void **state)
{
	char buf[32];
	team_status_ago(1000, 0, buf, sizeof buf);
	assert_string_equal(buf, "never");
	team_status_ago(1000, 988, buf, sizeof buf);
	assert_string_equal(buf, "12s ago");
	team_status_ago(1000, 1003, buf, sizeof buf);     /* a clock a little ahead */
	assert_string_equal(buf, "0s ago");
	team_status_ago(1000, 1000 - 300, buf, sizeof buf);
	assert_string_equal(buf, "5m ago");
	team_status_ago(100000, 100000 - 3 * 3600, buf, sizeof buf);
	assert_string_equal(buf, "3h ago");
	team_status_ago(1000000, 1000000 - 2 * 86400, buf, sizeof buf);
	assert_string_equal(buf, "2d ago");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_and_print),
		cmocka_unit_test(test_empty_team),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_ago),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
