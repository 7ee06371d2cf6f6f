/*
 * Unit tests for team: the team budget's config keys (values and one-line
 * errors that never repeat a password), flag values (PERIOD[:FAMILY]=USD),
 * merging the command line over the config, passwords scrubbed from argv,
 * and the scopes and ceiling names a request and `tokmux team set` use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "team.h"
#include "testmsg.h"
#include "util.h"

#define DAY_2026_12_02 1796169600.0   /* 2026-12-02T00:00:00Z, a Wednesday */

/* Load text as a config file; NULL on success, else the error with the
 * temporary file's path replaced by "FILE". */
static char *
load(const char *text, struct config *c)
{
	char path[] = "/tmp/tokmux-team-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char *err = NULL;
	config_init(c);
	int rc = config_load(c, path, &err);
	unlink(path);
	if (rc == 0) {
		assert_null(err);
		return NULL;
	}
	assert_non_null(err);
	size_t n = strlen(path);
	assert_memory_equal(err, path, n);
	char *out = xasprintf("FILE%s", err + n);
	free(err);
	return out;
}

static void
expect_config_error(const char *text, const char *want)
{
	struct config c;
	char *err = load(text, &c);
	testmsg_expect(&err, want);
	config_free(&c);
}

static void
test_config_keys(void **state)
{
	struct config c;
	assert_null(load("{\"team\": \"acme\", \"member\": \"alice\", "
	    "\"budget_store\": \"redis://:s3cret@10.0.0.5:6380/2\", \"budget_tz\": \"+01:00\", "
	    "\"budget_fail_open\": true, \"budget_lease_ms\": 3000, "
	    "\"team_ceilings\": {\"day\": 50, \"week\": 200.5, \"month\": null, "
	    "\"opus\": {\"day\": 20}}, \"member_ceilings\": {\"day\": 10, \"haiku\": {\"month\": 0}}}",
	    &c));
	const struct team_settings *t = &c.team;
	assert_string_equal(t->team, "acme");
	assert_string_equal(t->member, "alice");
	assert_string_equal(t->store, "redis://:s3cret@10.0.0.5:6380/2");
	assert_string_equal(t->tz, "+01:00");
	assert_int_equal(t->fail_open, 1);
	assert_int_equal(t->lease_ms, 3000);
	assert_int_equal(t->team_ceilings.micros[TEAM_ALL][PERIOD_DAY], 50000000);
	assert_int_equal(t->team_ceilings.micros[TEAM_ALL][PERIOD_WEEK], 200500000);
	assert_int_equal(t->team_ceilings.micros[TEAM_ALL][PERIOD_MONTH], TEAM_NONE);
	assert_true(t->team_ceilings.given[TEAM_ALL][PERIOD_MONTH]);
	int opus = team_family_index("opus"), haiku = team_family_index("haiku");
	assert_int_equal(t->team_ceilings.micros[opus][PERIOD_DAY], 20000000);
	assert_false(t->team_ceilings.given[opus][PERIOD_WEEK]);
	assert_int_equal(t->member_ceilings.micros[TEAM_ALL][PERIOD_DAY], 10000000);
	assert_int_equal(t->member_ceilings.micros[haiku][PERIOD_MONTH], 0);
	assert_true(t->member_ceilings.given[haiku][PERIOD_MONTH]);
	assert_false(t->member_ceilings.given[TEAM_ALL][PERIOD_WEEK]);
	config_free(&c);

	/* nothing given: nothing set */
	assert_null(load("{}", &c));
	assert_null(c.team.store);
	assert_null(c.team.team);
	assert_int_equal(c.team.fail_open, 0);
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			assert_false(c.team.team_ceilings.given[f][k] || c.team.member_ceilings.given[f][k]);
	config_free(&c);
}

static void
test_config_errors(void **state)
{
	expect_config_error("{\"team\": \"a b\"}",
	    "FILE: key team: expected a team name of 1 to 63 letters, digits, '.', '_' or '-', "
	    "got \"a b\"");
	expect_config_error("{\"team\": 7}", "FILE: key team: expected a non-empty string");
	expect_config_error("{\"member\": \"team\"}",
	    "FILE: key member: expected a member name other than \"team\" (tokmux team set team "
	    "... means the team's own ceilings)");
	expect_config_error("{\"budget_store\": \"mysql://u:s3cret@h\"}",
	    "FILE: key budget_store: expected memory or redis://[:PASSWORD@]HOST[:PORT][/DB]");
	expect_config_error("{\"budget_store\": \"redis://:s3cret@host:99999\"}",
	    "FILE: key budget_store: expected memory or redis://[:PASSWORD@]HOST[:PORT][/DB] "
	    "(bad host or port 'host:99999' in the budget store URL)");
	expect_config_error("{\"budget_store\": \"redis://:s3%zzret@host\"}",
	    "FILE: key budget_store: expected memory or redis://[:PASSWORD@]HOST[:PORT][/DB] "
	    "(bad user or password in the budget store URL (not shown; %-encode special "
	    "characters, or use TOKMUX_REDIS_PASSWORD))");
	struct config c;
	char *err = load("{\"budget_store\": \"rediss://:s3cret@host:6380\"}", &c);
	assert_non_null(strstr(err, "FILE: key budget_store: expected memory or "
	    "redis://[:PASSWORD@]HOST[:PORT][/DB] (rediss:// (TLS) is not supported"));
	assert_null(strstr(err, "s3cret"));
	free(err);
	config_free(&c);
	expect_config_error("{\"budget_tz\": \"Europe/Berlin\"}",
	    "FILE: key budget_tz: expected UTC, local or an offset such as +01:00, got "
	    "\"Europe/Berlin\"");
	expect_config_error("{\"budget_fail_open\": \"yes\"}",
	    "FILE: key budget_fail_open: expected true or false");
	expect_config_error("{\"budget_lease_ms\": 10}",
	    "FILE: key budget_lease_ms: expected a whole number from 500 to 3600000");
	expect_config_error("{\"team_ceilings\": 5}",
	    "FILE: key team_ceilings: expected an object like {\"day\": 50, \"week\": 200, "
	    "\"opus\": {\"day\": 20}}");
	expect_config_error("{\"team_ceilings\": {\"year\": 5}}",
	    "FILE: key team_ceilings.year: expected one of day, week, month, opus, sonnet, haiku "
	    "(unknown key)");
	expect_config_error("{\"member_ceilings\": {\"day\": -1}}",
	    "FILE: key member_ceilings.day: expected a number of US dollars >= 0 (or null for none)");
	expect_config_error("{\"team_ceilings\": {\"opus\": {\"opus\": 1}}}",
	    "FILE: key team_ceilings.opus.opus: expected one of day, week, month (unknown key)");
	expect_config_error("{\"team_ceilings\": {\"sonnet\": [1]}}",
	    "FILE: key team_ceilings.sonnet: expected an object like {\"day\": 20, \"month\": 300}");
	expect_config_error("{\"member_ceilings\": {\"haiku\": {\"week\": \"5\"}}}",
	    "FILE: key member_ceilings.haiku.week: expected a number of US dollars >= 0 "
	    "(or null for none)");
}

static void
test_parse_ceiling(void **state)
{
	int f;
	enum period_kind k;
	int64_t m;
	char *err = NULL;
	assert_int_equal(team_parse_ceiling("day=50", 0, &f, &k, &m, &err), 0);
	assert_int_equal(f, TEAM_ALL);
	assert_int_equal(k, PERIOD_DAY);
	assert_int_equal(m, 50000000);
	assert_int_equal(team_parse_ceiling("week:opus=$1.25", 0, &f, &k, &m, &err), 0);
	assert_int_equal(f, team_family_index("opus"));
	assert_int_equal(k, PERIOD_WEEK);
	assert_int_equal(m, 1250000);
	assert_int_equal(team_parse_ceiling("month=0", 0, &f, &k, &m, &err), 0);
	assert_int_equal(m, 0);
	assert_int_equal(team_parse_ceiling("month=none", 0, &f, &k, &m, &err), 0);
	assert_int_equal(m, TEAM_NONE);
	assert_int_equal(team_parse_ceiling("day:haiku=unset", 1, &f, &k, &m, &err), 0);
	assert_int_equal(m, TEAM_UNSET);

	assert_int_equal(team_parse_ceiling("day=unset", 0, &f, &k, &m, &err), -1);
	testmsg_expect(&err, "expected a dollar amount or none after \"=\", got \"unset\"");
	assert_int_equal(team_parse_ceiling("day=x", 1, &f, &k, &m, &err), -1);
	testmsg_expect(&err, "expected a dollar amount, none or unset after \"=\", got \"x\"");
	assert_int_equal(team_parse_ceiling("year=5", 0, &f, &k, &m, &err), -1);
	testmsg_expect(&err, "expected a period of day, week or month, got \"year\"");
	assert_int_equal(team_parse_ceiling("day:gpt=5", 0, &f, &k, &m, &err), -1);
	testmsg_expect(&err, "expected a model family of opus, sonnet or haiku, got \"gpt\"");
	assert_int_equal(team_parse_ceiling("day:=5", 0, &f, &k, &m, &err), -1);
	testmsg_expect(&err, "expected a model family of opus, sonnet or haiku, got \"\"");
	assert_int_equal(team_parse_ceiling("50", 0, &f, &k, &m, &err), -1);
	testmsg_expect(&err, "expected PERIOD[:FAMILY]=USD (day, week or month; opus, sonnet or "
	    "haiku), e.g. day=50 or week:opus=100, got \"50\"");
}

static void
test_names_and_stores(void **state)
{
	char *err = NULL;
	assert_int_equal(team_check_name("alice.b-2_x", 1, &err), 0);
	assert_int_equal(team_check_name("", 0, &err), -1);
	testmsg_expect(&err, "expected a team name of 1 to 63 letters, digits, '.', '_' or '-', got \"\"");
	assert_int_equal(team_check_name("team", 0, &err), 0);    /* a team may be called team */
	assert_int_equal(team_check_name("team", 1, &err), -1);
	free(err);
	err = NULL;
	assert_int_equal(team_check_store("memory", &err), 0);
	assert_int_equal(team_check_store("redis://h", &err), 0);
	assert_int_equal(team_check_store("REDIS://user:p%40ss@[::1]:7000/3", &err), 0);
	assert_int_equal(team_check_store("Memory", &err), -1);
	testmsg_expect(&err, "expected memory or redis://[:PASSWORD@]HOST[:PORT][/DB]");

	char where[320];
	team_store_where("redis://user:s3cret@10.0.0.5:6380/2", where, sizeof where);
	assert_string_equal(where, "redis 10.0.0.5:6380/2");
	team_store_where("redis://:s3cret@h", where, sizeof where);
	assert_string_equal(where, "redis h:6379");
	team_store_where("redis://[::1]:7000", where, sizeof where);
	assert_string_equal(where, "redis [::1]:7000");
	team_store_where("memory", where, sizeof where);
	assert_string_equal(where, "memory");
	team_store_where("redis://:s3cret@", where, sizeof where);
	assert_string_equal(where, "(a bad store URL)");

	char login[BUDGET_NAME_MAX];
	team_login_name(login, sizeof login);
	assert_true(budget_name_ok(login));
	assert_string_not_equal(login, "team");
}

static void
test_scrub(void **state)
{
	char a[] = "redis://:s3cret@10.0.0.5:6379/2";
	assert_int_equal(team_scrub_password(a), 1);
	assert_string_equal(a, "redis://:xxxxxx@10.0.0.5:6379/2");
	char b[] = "redis://bob:p@ss@h";       /* the last '@' ends the user info */
	assert_int_equal(team_scrub_password(b), 1);
	assert_string_equal(b, "redis://bob:xxxx@h");
	char c[] = "redis://bob@h:1";           /* a user, no password */
	assert_int_equal(team_scrub_password(c), 0);
	assert_string_equal(c, "redis://bob@h:1");
	char d[] = "redis://h:1/2";
	assert_int_equal(team_scrub_password(d), 0);
	char e[] = "memory";
	assert_int_equal(team_scrub_password(e), 0);
	char f[] = "redis://h/x@y";             /* an '@' after the path is not user info */
	assert_int_equal(team_scrub_password(f), 0);
	assert_string_equal(f, "redis://h/x@y");
}

static void
test_merge(void **state)
{
	struct team_settings cfg, cli, out;
	team_settings_init(&cfg);
	team_settings_init(&cli);
	cfg.store = xstrdup("redis://h:1");
	cfg.team = xstrdup("acme");
	cfg.member = xstrdup("alice");
	cfg.fail_open = 1;
	team_ceiling_set(&cfg.team_ceilings, TEAM_ALL, PERIOD_DAY, 50000000);
	team_ceiling_set(&cfg.team_ceilings, TEAM_ALL, PERIOD_WEEK, 200000000);
	team_ceiling_set(&cfg.member_ceilings, 1, PERIOD_MONTH, 7);
	cli.team = xstrdup("beta");
	team_ceiling_set(&cli.team_ceilings, TEAM_ALL, PERIOD_DAY, TEAM_NONE);
	team_ceiling_set(&cli.team_ceilings, TEAM_ALL, PERIOD_MONTH, 9);
	team_settings_merge(&out, &cfg, &cli);
	assert_string_equal(out.store, "redis://h:1");
	assert_string_equal(out.team, "beta");
	assert_string_equal(out.member, "alice");
	assert_string_equal(out.tz, "UTC");
	assert_int_equal(out.fail_open, 1);
	assert_int_equal(out.team_ceilings.micros[TEAM_ALL][PERIOD_DAY], TEAM_NONE);
	assert_int_equal(out.team_ceilings.micros[TEAM_ALL][PERIOD_WEEK], 200000000);
	assert_int_equal(out.team_ceilings.micros[TEAM_ALL][PERIOD_MONTH], 9);
	assert_int_equal(out.member_ceilings.micros[1][PERIOD_MONTH], 7);
	assert_int_equal(out.member_ceilings.micros[2][PERIOD_DAY], TEAM_NONE);
	team_settings_free(&out);

	/* nothing anywhere: the defaults */
	char login[BUDGET_NAME_MAX];
	team_login_name(login, sizeof login);
	team_settings_merge(&out, NULL, NULL);
	assert_string_equal(out.store, "memory");
	assert_string_equal(out.team, "default");
	assert_string_equal(out.member, login);
	assert_int_equal(out.fail_open, 0);
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			assert_int_equal(out.member_ceilings.micros[f][k], TEAM_NONE);
	struct budget_options o;
	team_budget_options(&out, &o);
	assert_string_equal(o.url, "memory");
	assert_string_equal(o.team, "default");
	team_settings_free(&out);
	team_settings_free(&cfg);
	team_settings_free(&cli);
	assert_null(cfg.store);
}

static void
test_scopes(void **state)
{
	struct team_settings in, t;
	struct period_tz utc = { 0, 0 };
	team_settings_init(&in);
	in.member = xstrdup("alice");
	team_ceiling_set(&in.team_ceilings, TEAM_ALL, PERIOD_DAY, 50);
	team_ceiling_set(&in.member_ceilings, 1, PERIOD_WEEK, 7);
	team_settings_merge(&t, &in, NULL);
	struct budget_scope s[12];
	double now = DAY_2026_12_02 + 3600;
	assert_int_equal(team_scopes(&t, &utc, now, TEAM_ALL, s, 12), 6);
	assert_string_equal(s[0].key, "team:day:2026-12-02");
	assert_string_equal(s[0].limit, "team:day");
	assert_int_equal(s[0].ceiling, 50);
	assert_string_equal(s[1].key, "team:week:2026-W49");
	assert_int_equal(s[1].ceiling, BUDGET_NONE);
	assert_string_equal(s[2].key, "team:month:2026-12");
	assert_string_equal(s[3].key, "member:alice:day:2026-12-02");
	assert_string_equal(s[5].limit, "member:alice:month");
	assert_int_equal(s[0].expire_at, (int64_t)DAY_2026_12_02 + 86400 + BUDGET_GRACE_S);

	int opus = team_family_of("claude-opus-4-5-20251101");
	assert_int_equal(opus, team_family_index("opus"));
	assert_int_equal(team_scopes(&t, &utc, now, opus, s, 12), 12);
	assert_string_equal(s[3].key, "team:day:2026-12-02:opus");
	assert_string_equal(s[3].limit, "team:day:opus");
	assert_string_equal(s[10].key, "member:alice:week:2026-W49:opus");
	assert_int_equal(s[10].ceiling, 7);
	assert_int_equal(team_scopes(&t, &utc, now, opus, s, 11), -1);

	/* the names tokmux team set stores ceilings under are the scopes' */
	char name[BUDGET_KEY_MAX];
	for (int f = 0; f < TEAM_FAMILIES; f++) {
		for (int k = 0; k < PERIOD_COUNT; k++) {
			struct budget_scope one;
			assert_int_equal(team_scope(&t, &utc, now, NULL, k, f, &one), 0);
			assert_int_equal(team_limit_name(name, sizeof name, NULL, k, f), 0);
			assert_string_equal(one.limit, name);
			assert_int_equal(team_scope(&t, &utc, now, "bob", k, f, &one), 0);
			assert_int_equal(team_limit_name(name, sizeof name, "bob", k, f), 0);
			assert_string_equal(one.limit, name);
		}
	}
	assert_int_equal(team_family_of("gpt-5"), TEAM_ALL);
	assert_int_equal(team_family_of(""), TEAM_ALL);
	assert_int_equal(team_family_of("us.anthropic.claude-haiku-4-5-v1:0"),
	    team_family_index("haiku"));
	assert_int_equal(team_family_index("gpt"), -1);
	assert_string_equal(team_family_name(TEAM_ALL), "");
	team_settings_free(&t);
	team_settings_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_parse_ceiling),
		cmocka_unit_test(test_names_and_stores),
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_scopes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
