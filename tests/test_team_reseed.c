/*
 * Unit tests for team_reseed against a real redis-server on a free
 * loopback port (tests/testredis.h): members' ledgers put back what the
 * store lost, per member, period and family, counted by when each
 * request started; records of other teams, without a member or from
 * earlier periods are left out; a file given twice counts once; a dry
 * run charges nothing; a second run adds nothing; spend the store already
 * has (traffic since the loss) is not counted twice; errors name the
 * ledger or the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "team.h"
#include "team_reseed.h"
#include "testredis.h"
#include "testtmp.h"
#include "util.h"

static struct testredis redis;
static char url[64];

static int
group_setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	memset(&redis, 0, sizeof redis);
	testtmp_make(redis.dir, sizeof redis.dir, "reseed");
	testredis_start(&redis);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", redis.port);
	return 0;
}

static int
group_teardown(void **state)
{
	testredis_stop(&redis, 0);
	return testtmp_remove(redis.dir);
}

/* Merged settings for team, UTC. */
static void
settings(struct team_settings *t, const char *team)
{
	struct team_settings in;
	team_settings_init(&in);
	in.store = xstrdup(url);
	in.team = xstrdup(team);
	in.member = xstrdup("admin");
	team_settings_merge(t, &in, NULL);
	team_settings_free(&in);
}

static char *
write_ledger(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", redis.dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* A member's (or, member NULL, the team's) spend in one scope. */
static int64_t
spent(const struct team_settings *t, double now, const char *member, enum period_kind k,
    int family)
{
	struct budget_options o;
	struct budget_scope s;
	struct budget_state st;
	char err[BUDGET_ERR_MAX], *e = NULL;
	team_budget_options(t, &o);
	budget_t *b = budget_open(&o, &e);
	assert_non_null(b);
	struct period_tz utc = { 0, 0 };
	assert_int_equal(team_scope(t, &utc, now, member, k, family, &s), 0);
	assert_int_equal(budget_read(b, &s, 1, &st, err, sizeof err), BUDGET_OK);
	budget_close(b);
	return st.spent;
}

/* In the current period k (UTC) if it started at start. */
static int
current(enum period_kind k, double now, double start)
{
	struct period_tz utc = { 0, 0 };
	char a[16], b[16];
	period_of(k, &utc, now, a, sizeof a, NULL, NULL);
	period_of(k, &utc, start, b, sizeof b, NULL, NULL);
	return strcmp(a, b) == 0;
}

static int
run(const struct team_settings *t, double now, const char *const *paths, int n, int dry,
    struct team_reseed *r)
{
	struct budget_options o;
	char *err = NULL;
	team_budget_options(t, &o);
	int rc = team_reseed_run(&o, t, now, paths, n, dry, r, &err);
	if (rc != BUDGET_OK)
		fail_msg("reseed: %s", err);
	return rc;
}

static void
test_reseed(void **state)
{
	struct team_settings t;
	settings(&t, "reseed1");
	double now = util_wall(), day0;
	struct period_tz utc = { 0, 0 };
	char label[16];
	period_of(PERIOD_DAY, &utc, now, label, sizeof label, &day0, NULL);
	/* alice: opus $1.50 and gpt $0.50 today; a request that started 4 s
	 * before midnight and ended after it ($0.25: yesterday's day, this
	 * week and month unless they began at midnight); 40 days ago $7 */
	char *text = xasprintf(
	    "{\"epoch\": %.3f, \"team\": \"reseed1\", \"member\": \"alice\", \"cost_micros\": 1500000, \"model_asked\": \"claude-opus-4-5\", \"latency_ms\": 100}\n"
	    "{\"epoch\": %.3f, \"team\": \"reseed1\", \"member\": \"alice\", \"cost_micros\": 500000, \"model_asked\": \"gpt-5\"}\n"
	    "{\"epoch\": %.3f, \"team\": \"reseed1\", \"member\": \"alice\", \"cost_micros\": 250000, \"latency_ms\": 5000}\n"
	    "{\"epoch\": %.3f, \"team\": \"reseed1\", \"member\": \"alice\", \"cost_micros\": 7000000}\n"
	    "{\"epoch\": %.3f, \"team\": \"other\", \"member\": \"alice\", \"cost_micros\": 9000000}\n"
	    "{\"epoch\": %.3f, \"cost_micros\": 9000000}\n"
	    "{\"epoch\": %.3f, \"team\": \"reseed1\", \"member\": \"alice\", \"cost_micros\": 1",   /* torn */
	    now, now, day0 + 1, now - 40 * 86400, now, now, now);
	char *a = write_ledger("alice.jsonl", text);
	free(text);
	text = xasprintf("{\"epoch\": %.3f, \"team\": \"reseed1\", \"member\": \"bob\", "
	    "\"cost_micros\": 3000000, \"model_asked\": \"claude-sonnet-4-5\"}\n", now);
	char *b = write_ledger("bob.jsonl", text);
	free(text);
	int late = current(PERIOD_WEEK, now, day0 - 4), late_m = current(PERIOD_MONTH, now, day0 - 4);
	int64_t alice_day = 2000000, alice_week = 2000000 + (late ? 250000 : 0);
	int64_t alice_month = 2000000 + (late_m ? 250000 : 0);
	int opus = team_family_index("opus"), sonnet = team_family_index("sonnet");

	const char *paths[] = { a, b, a };
	struct team_reseed r;
	run(&t, now, paths, 3, 1, &r);      /* dry run: nothing charged */
	assert_int_equal(r.files, 2);
	assert_int_equal(r.records, 7);
	assert_int_equal(r.other_team, 1);
	assert_int_equal(r.no_member, 1);
	assert_int_equal(r.nmembers, 2);
	assert_int_equal(r.members[0].charged[TEAM_ALL][PERIOD_DAY], alice_day);
	char *out = team_reseed_text(&r, 1);
	assert_non_null(strstr(out, "read 7 records from 2 ledgers: "));
	assert_non_null(strstr(out, "  alice            day          ledgers      $2.00  store      "
	    "$0.00  would add      $2.00\n"));
	free(out);
	team_reseed_free(&r);
	assert_int_equal(spent(&t, now, "alice", PERIOD_DAY, TEAM_ALL), 0);
	assert_int_equal(spent(&t, now, NULL, PERIOD_DAY, TEAM_ALL), 0);

	run(&t, now, paths, 3, 0, &r);
	team_reseed_free(&r);
	assert_int_equal(spent(&t, now, "alice", PERIOD_DAY, TEAM_ALL), alice_day);
	assert_int_equal(spent(&t, now, "alice", PERIOD_WEEK, TEAM_ALL), alice_week);
	assert_int_equal(spent(&t, now, "alice", PERIOD_MONTH, TEAM_ALL), alice_month);
	assert_int_equal(spent(&t, now, "alice", PERIOD_DAY, opus), 1500000);
	assert_int_equal(spent(&t, now, "bob", PERIOD_MONTH, sonnet), 3000000);
	assert_int_equal(spent(&t, now, NULL, PERIOD_DAY, TEAM_ALL), alice_day + 3000000);
	assert_int_equal(spent(&t, now, NULL, PERIOD_MONTH, TEAM_ALL), alice_month + 3000000);
	assert_int_equal(spent(&t, now, NULL, PERIOD_WEEK, opus), 1500000);
	/* the store lists both as members again */
	assert_int_equal(testredis_cmd(&redis, "HEXISTS tokmux:{reseed1}:members alice"), 1);
	assert_int_equal(testredis_cmd(&redis, "HEXISTS tokmux:{reseed1}:members bob"), 1);
	assert_int_equal(testredis_cmd(&redis, "HEXISTS tokmux:{reseed1}:members admin"), 0);

	/* twice: nothing more */
	run(&t, now, paths, 2, 0, &r);
	for (int i = 0; i < r.nmembers; i++)
		for (int f = 0; f < TEAM_FAMILIES; f++)
			for (int k = 0; k < PERIOD_COUNT; k++)
				assert_int_equal(r.members[i].charged[f][k], 0);
	team_reseed_free(&r);
	assert_int_equal(spent(&t, now, NULL, PERIOD_DAY, TEAM_ALL), alice_day + 3000000);
	free(a);
	free(b);
	team_settings_free(&t);
}

/* After a loss, members spent again before the reseed: only what the
 * store lacks is added, and a member the store has more of gets nothing. */
static void
test_traffic_since(void **state)
{
	struct team_settings t;
	settings(&t, "reseed2");
	double now = util_wall();
	char *text = xasprintf(
	    "{\"epoch\": %.3f, \"team\": \"reseed2\", \"member\": \"alice\", \"cost_micros\": 5000000}\n"
	    "{\"epoch\": %.3f, \"team\": \"reseed2\", \"member\": \"bob\", \"cost_micros\": 1000000}\n",
	    now, now);
	char *l = write_ledger("both.jsonl", text);
	free(text);
	/* since the restart: alice $2 (also in her ledger), bob $3 (written to a ledger not given) */
	struct budget_options o;
	struct budget_scope s[12];
	struct period_tz utc = { 0, 0 };
	char *e = NULL;
	team_budget_options(&t, &o);
	budget_t *b = budget_open(&o, &e);
	free(t.member);
	t.member = xstrdup("alice");
	int n = team_scopes(&t, &utc, now, TEAM_ALL, s, 12);
	assert_int_equal(budget_charge(b, s, n, 2000000), BUDGET_OK);
	free(t.member);
	t.member = xstrdup("bob");
	n = team_scopes(&t, &utc, now, TEAM_ALL, s, 12);
	assert_int_equal(budget_charge(b, s, n, 3000000), BUDGET_OK);
	budget_close(b);

	const char *paths[] = { l };
	struct team_reseed r;
	run(&t, now, paths, 1, 0, &r);
	assert_int_equal(r.members[0].store[TEAM_ALL][PERIOD_DAY], 2000000);
	assert_int_equal(r.members[0].charged[TEAM_ALL][PERIOD_DAY], 3000000);
	assert_int_equal(r.members[1].charged[TEAM_ALL][PERIOD_DAY], 0);
	team_reseed_free(&r);
	assert_int_equal(spent(&t, now, "alice", PERIOD_DAY, TEAM_ALL), 5000000);
	assert_int_equal(spent(&t, now, "bob", PERIOD_DAY, TEAM_ALL), 3000000);
	assert_int_equal(spent(&t, now, NULL, PERIOD_DAY, TEAM_ALL), 8000000);
	free(l);
	team_settings_free(&t);
}

static void
test_errors(void **state)
{
	struct team_settings t;
	struct team_reseed r;
	struct budget_options o;
	char *err = NULL;
	settings(&t, "reseed3");
	team_budget_options(&t, &o);
	const char *missing[] = { "/nonexistent/ledger.jsonl" };
	assert_int_equal(team_reseed_run(&o, &t, util_wall(), missing, 1, 0, &r, &err), BUDGET_EINVAL);
	assert_string_equal(err, "/nonexistent/ledger.jsonl: No such file or directory");
	free(err);
	err = NULL;
	team_reseed_free(&r);

	char *text = xasprintf("{\"epoch\": %.3f, \"team\": \"reseed3\", \"member\": \"alice\", "
	    "\"cost_micros\": 5}\n", util_wall());
	char *l = write_ledger("three.jsonl", text);
	free(text);
	const char *paths[] = { l };
	struct testredis none = { .port = testport_free() };
	char down[64], want[80];
	snprintf(down, sizeof down, "redis://:s3cret@127.0.0.1:%d", none.port);
	snprintf(want, sizeof want, "team budget store unreachable at 127.0.0.1:%d", none.port);
	o.url = down;
	assert_int_equal(team_reseed_run(&o, &t, util_wall(), paths, 1, 0, &r, &err),
	    BUDGET_UNREACHABLE);
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "s3cret"));
	free(err);
	team_reseed_free(&r);
	free(l);
	team_settings_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reseed),
		cmocka_unit_test(test_traffic_since),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
