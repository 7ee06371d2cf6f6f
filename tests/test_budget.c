/*
 * Unit tests for the budget store (budget, budget_mem, budget_redis,
 * budget_lua, period). The Redis store runs against a real redis-server
 * started on a free loopback port (tests/testredis.h); nothing is mocked
 * at the store boundary. Tests marked (both) run once on the memory store
 * and once on Redis: range grants, member and team scopes, stored
 * ceilings, idempotent settle, release, period rollover, many threads.
 * Redis only: several processes, lease expiry in real time, renewal, a
 * member killed with SIGKILL, the server stopped and restarted (fail
 * closed, persistence with and without AOF), lost replies (CLIENT PAUSE),
 * NOSCRIPT, passwords. Memory only: lease expiry on a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "budget.h"
#include "budget_lua.h"
#include "budget_mem.h"
#include "budget_redis.h"
#include "period.h"
#include "testredis.h"
#include "testtmp.h"
#include "util.h"

enum { MEM, REDIS };
static int kind_mem = MEM, kind_redis = REDIS;

/* The redis-server the (both) and most Redis tests share; each test uses
 * its own team, so their keys never meet. */
static struct testredis shared;

struct fake_clock {
	pthread_mutex_t lock;
	double t;
};

static double
fake_now(void *user)
{
	struct fake_clock *c = user;
	pthread_mutex_lock(&c->lock);
	double t = c->t;
	pthread_mutex_unlock(&c->lock);
	return t;
}

static void
fake_set(struct fake_clock *c, double t)
{
	pthread_mutex_lock(&c->lock);
	c->t = t;
	pthread_mutex_unlock(&c->lock);
}

/* A team name no other test (or earlier run) uses. */
static void
new_team(char *buf, size_t len)
{
	static int n;
	snprintf(buf, len, "t%d-%d-%lld", (int)getpid(), ++n, (long long)util_now_us() % 1000000);
}

static void
redis_url(const struct testredis *r, char *buf, size_t len)
{
	snprintf(buf, len, "redis://127.0.0.1:%d", r->port);
}

/* Open a store of kind for team/member; o (may be NULL) gives the rest. */
static budget_t *
open_kind(int kind, const char *team, const char *member, const struct budget_options *o)
{
	struct budget_options d = { 0 };
	char url[64];
	if (o != NULL)
		d = *o;
	redis_url(&shared, url, sizeof url);
	d.url = kind == REDIS ? url : "memory";
	d.team = team;
	d.member = member;
	char *err = NULL;
	budget_t *b = budget_open(&d, &err);
	if (b == NULL)
		fprintf(stderr, "budget_open: %s\n", err);
	assert_non_null(b);
	return b;
}

static void
scope(struct budget_scope *s, const char *key, int64_t ceiling)
{
	assert_int_equal(budget_scope_plain(s, key, ceiling), 0);
}

static struct budget_state
read_one(budget_t *b, const struct budget_scope *s)
{
	struct budget_state st;
	char err[BUDGET_ERR_MAX];
	assert_int_equal(budget_read(b, s, 1, &st, err, sizeof err), BUDGET_OK);
	return st;
}

/* reserve that must be granted exactly want */
static budget_lease_t *
grant(budget_t *b, const struct budget_scope *s, int n, int64_t min, int64_t max, int64_t want)
{
	struct budget_grant g;
	budget_lease_t *l = NULL;
	int rc = budget_reserve(b, s, n, min, max, &g, &l);
	if (rc != BUDGET_OK)
		fprintf(stderr, "reserve: rc %d, %s\n", rc, g.error);
	assert_int_equal(rc, BUDGET_OK);
	assert_int_equal(g.granted, want);
	assert_int_equal(budget_lease_amount(l), want);
	return l;
}

static int
group_setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	memset(&shared, 0, sizeof shared);
	testtmp_make(shared.dir, sizeof shared.dir, "budget");
	testredis_start(&shared);
	return 0;
}

static int
group_teardown(void **state)
{
	testredis_stop(&shared, 0);
	return testtmp_remove(shared.dir);
}

/* ------------------------------------------------------------- periods */

static void
check_period(enum period_kind k, const char *tzs, double now, const char *label, double start,
    double end)
{
	struct period_tz tz;
	char *err = NULL, got[32];
	double s, e;
	assert_int_equal(period_tz_parse(tzs, &tz, &err), 0);
	period_of(k, &tz, now, got, sizeof got, &s, &e);
	assert_string_equal(got, label);
	assert_true(s == start);
	assert_true(e == end);
}

static void
test_period_labels(void **state)
{
	const double dec2 = 1796169600;                 /* 2026-12-02 00:00 UTC, a Wednesday */
	check_period(PERIOD_DAY, "UTC", dec2 + 15 * 3600, "2026-12-02", dec2, dec2 + 86400);
	check_period(PERIOD_WEEK, "UTC", dec2 + 15 * 3600, "2026-W49", 1795996800, 1795996800 + 7 * 86400);
	check_period(PERIOD_MONTH, "UTC", dec2 + 15 * 3600, "2026-12", dec2 - 86400, 1798761600);
	/* 20:00 UTC is 01:30 the next day at +05:30, which began at 18:30 UTC */
	check_period(PERIOD_DAY, "+05:30", dec2 + 20 * 3600, "2026-12-03", dec2 + 18.5 * 3600,
	    dec2 + 18.5 * 3600 + 86400);
	check_period(PERIOD_DAY, "UTC-5", dec2 + 3 * 3600, "2026-12-01", dec2 - 86400 + 5 * 3600,
	    dec2 + 5 * 3600);
	/* ISO weeks at year ends */
	struct { double t; const char *w; } weeks[] = {
		{ 1798675200, "2026-W53" },   /* 2026-12-31, Thursday */
		{ 1798934400, "2026-W53" },   /* 2027-01-03, Sunday */
		{ 1799020800, "2027-W01" },   /* 2027-01-04, Monday */
		{ 1735516800, "2025-W01" },   /* 2024-12-30, Monday */
		{ 1609632000, "2020-W53" },   /* 2021-01-03, Sunday */
	};
	struct period_tz utc = { 0, 0 };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(weeks); i++) {
		char got[32];
		period_of(PERIOD_WEEK, &utc, weeks[i].t + 3600, got, sizeof got, NULL, NULL);
		assert_string_equal(got, weeks[i].w);
	}
}

static void
test_period_parse(void **state)
{
	static const char *const good[] = { "UTC", "utc", "Z", "local", "+01:00", "-5", "UTC+14:00",
		"UTC-03:30", "+0" };
	static const char *const bad[] = { "+15", "+01:60", "abc", "UTC+", "+1:5", "Europe/Berlin",
		"+01:00x", "" };
	struct period_tz tz;
	char *err = NULL, buf[32];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(good); i++)
		assert_int_equal(period_tz_parse(good[i], &tz, &err), 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		err = NULL;
		assert_int_equal(period_tz_parse(bad[i], &tz, &err), -1);
		assert_non_null(strstr(err, "time zone"));
		free(err);
	}
	assert_int_equal(period_tz_parse("UTC-03:30", &tz, &err), 0);
	assert_int_equal(tz.offset_s, -(3 * 3600 + 30 * 60));
	period_tz_format(&tz, buf, sizeof buf);
	assert_string_equal(buf, "UTC-03:30");
	enum period_kind k;
	assert_int_equal(period_parse("week", &k), 0);
	assert_int_equal(k, PERIOD_WEEK);
	assert_string_equal(period_name(PERIOD_MONTH), "month");
	assert_int_equal(period_parse("year", &k), -1);
}

static void
test_scope_names(void **state)
{
	struct budget_scope s;
	struct period_tz utc = { 0, 0 };
	const double t = 1796169600 + 3600;     /* 2026-12-02 01:00 UTC */
	assert_int_equal(budget_scope_period(&s, "team", PERIOD_DAY, &utc, t, NULL, 5000000), 0);
	assert_string_equal(s.key, "team:day:2026-12-02");
	assert_string_equal(s.limit, "team:day");
	assert_int_equal(s.ceiling, 5000000);
	assert_int_equal(s.expire_at, 1796169600 + 86400 + BUDGET_GRACE_S);
	assert_int_equal(budget_scope_period(&s, "member:alice", PERIOD_WEEK, &utc, t, "opus", -7), 0);
	assert_string_equal(s.key, "member:alice:week:2026-W49:opus");
	assert_string_equal(s.limit, "member:alice:week:opus");
	assert_int_equal(s.ceiling, BUDGET_NONE);
	assert_int_equal(budget_scope_period(&s, "member:a b", PERIOD_DAY, &utc, t, NULL, 1), -1);
	assert_int_equal(budget_scope_plain(&s, "pane:3", 10), 0);
	assert_string_equal(s.limit, "");
	assert_int_equal(s.expire_at, 0);
	assert_int_equal(budget_scope_plain(&s, "pane 3", 10), -1);
	assert_int_equal(budget_name_ok("alice.b-c_d"), 1);
	assert_int_equal(budget_name_ok("al{ice}"), 0);
	assert_int_equal(budget_name_ok(""), 0);
}

/* ------------------------------------------------------------------ URL */

static void
test_url_parse(void **state)
{
	struct budget_redis_url u;
	char *err = NULL;
	assert_int_equal(budget_redis_url_parse("redis://127.0.0.1:6380/2", &u, &err), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_null(u.password);
	assert_int_equal(budget_redis_url_parse("redis://localhost", &u, &err), 0);
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_int_equal(budget_redis_url_parse("redis://:s3cr%40t:x@h:1/0", &u, &err), 0);
	assert_string_equal(u.password, "s3cr@t:x");
	assert_string_equal(u.user, "");
	assert_string_equal(u.host, "h");
	budget_redis_url_clear(&u);
	assert_null(u.password);
	assert_int_equal(budget_redis_url_parse("redis://bob:pw@h", &u, &err), 0);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.password, "pw");
	budget_redis_url_clear(&u);
	assert_int_equal(budget_redis_url_parse("redis://[::1]:7000", &u, &err), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);

	static const char *const bad[] = { "redis://h:99999", "redis://:pw@", "http://x",
		"redis://h/x", "redis://h:", "redis://[::1", "redis://h:0", "redis:// h" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		err = NULL;
		assert_int_equal(budget_redis_url_parse(bad[i], &u, &err), -1);
		assert_non_null(err);
		assert_null(strstr(err, "pw"));
		free(err);
	}
	/* a bad password is never repeated */
	assert_int_equal(budget_redis_url_parse("redis://:hunter2%zz@h", &u, &err), -1);
	assert_null(strstr(err, "hunter2"));
	free(err);
	/* TLS: refused, saying why */
	assert_int_equal(budget_redis_url_parse("rediss://:hunter2@h:6380", &u, &err), -1);
	assert_non_null(strstr(err, "TLS"));
	assert_non_null(strstr(err, "hiredis 0.14"));
	assert_null(strstr(err, "hunter2"));
	free(err);
}

static void
test_open_errors(void **state)
{
	char *err = NULL;
	struct budget_options o = { .url = "foo://:hunter2@x" };
	assert_null(budget_open(&o, &err));
	assert_non_null(strstr(err, "unknown budget store 'foo'"));
	assert_null(strstr(err, "hunter2"));
	free(err);
	o.url = "memory";
	o.team = "bad team";
	assert_null(budget_open(&o, &err));
	free(err);
	o.team = "acme";
	o.member = "{alice}";
	assert_null(budget_open(&o, &err));
	free(err);
	o.member = NULL;
	budget_t *b = budget_open(&o, &err);
	assert_non_null(b);
	assert_string_equal(budget_where(b), "memory");
	budget_close(b);
	o.url = "redis://:hunter2@127.0.0.1:1/3";
	b = budget_open(&o, &err);
	assert_non_null(b);
	assert_string_equal(budget_where(b), "redis 127.0.0.1:1/3");
	budget_close(b);
}

/* ------------------------------------------------------- both stores */

static void
test_range_grants(void **state)
{
	int kind = *(int *)*state;
	char team[64];
	new_team(team, sizeof team);
	budget_t *b = open_kind(kind, team, "alice", NULL);
	struct budget_scope s[2];
	scope(&s[0], "team:x", 100);
	scope(&s[1], "member:alice:x", BUDGET_NONE);     /* counted, never binding */
	struct budget_grant g;
	budget_lease_t *l1 = grant(b, s, 2, 10, 60, 60), *l2, *l3, *l4 = NULL;
	assert_int_equal(budget_reserve(b, s, 2, 10, 60, &g, &l2), BUDGET_OK);
	assert_int_equal(g.granted, 40);                 /* clamped to what is left ... */
	assert_int_equal(g.binding, 0);                  /* ... by the team scope */
	assert_int_equal(g.spent, 0);
	assert_int_equal(g.inflight, 60);
	assert_int_equal(g.ceiling, 100);
	assert_int_equal(budget_reserve(b, s, 2, 10, 60, &g, &l4), BUDGET_REFUSED);
	assert_null(l4);
	assert_int_equal(g.binding, 0);
	assert_int_equal(g.inflight, 100);
	assert_int_equal(g.ceiling, 100);
	assert_int_equal(budget_settle(b, l1, 30), BUDGET_OK);    /* 30 of 60 back */
	l3 = grant(b, s, 2, 10, 60, 30);
	assert_int_equal(budget_release(b, l2), BUDGET_OK);
	struct budget_state st = read_one(b, &s[0]);
	assert_int_equal(st.spent, 30);
	assert_int_equal(st.inflight, 30);
	assert_int_equal(st.ceiling, 100);
	assert_int_equal(st.stored, 0);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.refused, 1);
	assert_int_equal(budget_settle(b, l3, 30), BUDGET_OK);
	st = read_one(b, &s[1]);
	assert_int_equal(st.spent, 60);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.ceiling, BUDGET_NONE);
	assert_int_equal(st.requests, 2);
	/* an empty range and an exact fit */
	l1 = grant(b, s, 2, 0, 0, 0);
	l2 = grant(b, s, 2, 40, 40, 40);
	assert_int_equal(budget_reserve(b, s, 2, 1, 1, &g, &l4), BUDGET_REFUSED);
	assert_int_equal(g.spent, 60);
	assert_int_equal(g.inflight, 40);
	budget_release(b, l1);
	budget_release(b, l2);
	budget_close(b);
}

static void
test_member_and_team(void **state)
{
	int kind = *(int *)*state;
	char team[64];
	new_team(team, sizeof team);
	budget_t *b = open_kind(kind, team, "alice", NULL);
	struct budget_scope alice[2], bob[2];
	scope(&alice[0], "team:day", 100);
	scope(&alice[1], "member:alice:day", 40);
	bob[0] = alice[0];
	scope(&bob[1], "member:bob:day", BUDGET_NONE);
	struct budget_grant g;
	budget_lease_t *la = grant(b, alice, 2, 40, 40, 40), *x = NULL;
	/* alice is at her cap: refused, her own scope binds */
	assert_int_equal(budget_reserve(b, alice, 2, 1, 10, &g, &x), BUDGET_REFUSED);
	assert_int_equal(g.binding, 1);
	assert_int_equal(g.ceiling, 40);
	assert_int_equal(g.inflight, 40);
	/* bob goes on until the team is full */
	budget_lease_t *lb = grant(b, bob, 2, 50, 50, 50);
	assert_int_equal(budget_reserve(b, bob, 2, 20, 20, &g, &x), BUDGET_REFUSED);
	assert_int_equal(g.binding, 0);
	assert_int_equal(g.inflight, 90);
	assert_int_equal(g.ceiling, 100);
	budget_lease_t *lc = grant(b, bob, 2, 1, 20, 10);
	assert_int_equal(budget_settle(b, la, 40), BUDGET_OK);
	assert_int_equal(budget_settle(b, lb, 50), BUDGET_OK);
	assert_int_equal(budget_settle(b, lc, 10), BUDGET_OK);
	struct budget_state st[4];
	struct budget_scope all[3] = { alice[0], alice[1], bob[1] };
	char err[BUDGET_ERR_MAX];
	assert_int_equal(budget_read(b, all, 3, st, err, sizeof err), BUDGET_OK);
	assert_int_equal(st[0].spent, 100);
	assert_int_equal(st[1].spent, 40);
	assert_int_equal(st[1].refused, 1);
	assert_int_equal(st[2].spent, 60);
	assert_int_equal(st[2].refused, 1);
	assert_int_equal(st[0].refused, 2);
	budget_close(b);
}

static void
test_stored_ceilings(void **state)
{
	int kind = *(int *)*state;
	char team[64], err[BUDGET_ERR_MAX];
	new_team(team, sizeof team);
	budget_t *owner = open_kind(kind, team, "owner", NULL);
	/* on Redis another member's gateway; in memory the same store */
	budget_t *other = kind == REDIS ? open_kind(kind, team, "bob", NULL) : owner;
	struct budget_scope s;
	struct period_tz utc = { 0, 0 };
	assert_int_equal(budget_scope_period(&s, "team", PERIOD_DAY, &utc, util_wall(), NULL, 100), 0);
	assert_int_equal(budget_set_ceiling(owner, s.limit, 30, err, sizeof err), BUDGET_OK);
	struct budget_grant g;
	budget_lease_t *l1, *l2, *l3, *x = NULL;
	assert_int_equal(budget_reserve(other, &s, 1, 1, 100, &g, &l1), BUDGET_OK);
	assert_int_equal(g.granted, 30);
	assert_int_equal(g.ceiling, 30);
	struct budget_state st = read_one(other, &s);
	assert_int_equal(st.ceiling, 30);
	assert_int_equal(st.stored, 1);
	struct budget_ceiling c[4];
	assert_int_equal(budget_ceilings(other, c, 4, err, sizeof err), 1);
	assert_string_equal(c[0].limit, s.limit);
	assert_int_equal(c[0].micros, 30);
	/* "none" overrides the configured 100 */
	assert_int_equal(budget_set_ceiling(owner, s.limit, BUDGET_NONE, err, sizeof err), BUDGET_OK);
	l2 = grant(other, &s, 1, 1, 1000, 1000);
	/* unset: back to each caller's configured ceiling */
	assert_int_equal(budget_set_ceiling(owner, s.limit, BUDGET_UNSET, err, sizeof err), BUDGET_OK);
	assert_int_equal(budget_reserve(other, &s, 1, 1, 100, &g, &x), BUDGET_REFUSED);
	assert_int_equal(g.ceiling, 100);
	assert_int_equal(budget_ceilings(other, c, 4, err, sizeof err), 0);
	st = read_one(other, &s);
	assert_int_equal(st.stored, 0);
	budget_release(other, l1);
	budget_release(other, l2);
	l3 = grant(other, &s, 1, 1, 100, 100);
	budget_release(other, l3);
	assert_int_equal(budget_set_ceiling(owner, "bad name", 1, err, sizeof err), BUDGET_EINVAL);
	assert_int_equal(budget_set_ceiling(owner, s.limit, -3, err, sizeof err), BUDGET_EINVAL);
	if (other != owner)
		budget_close(other);
	budget_close(owner);
}

static void
test_members(void **state)
{
	int kind = *(int *)*state;
	char team[64], err[BUDGET_ERR_MAX];
	new_team(team, sizeof team);
	struct budget_scope s;
	scope(&s, "team:m", 1000);
	budget_t *a = open_kind(kind, team, "alice", NULL);
	budget_settle(a, grant(a, &s, 1, 1, 1, 1), 1);
	struct budget_member m[4];
	if (kind == REDIS) {
		testredis_sleep_ms(5);
		budget_t *bb = open_kind(kind, team, "bob", NULL);
		budget_release(bb, grant(bb, &s, 1, 1, 1, 1));
		assert_int_equal(budget_members(a, m, 4, err, sizeof err), 2);
		assert_string_equal(m[0].name, "bob");          /* most recent first */
		assert_string_equal(m[1].name, "alice");
		assert_true(m[0].last >= m[1].last);
		assert_true(m[0].last > util_wall() - 60);
		budget_close(bb);
	} else {
		assert_int_equal(budget_members(a, m, 4, err, sizeof err), 1);
		assert_string_equal(m[0].name, "alice");
	}
	budget_close(a);
}

/* A back end of kind (ops and impl) for team, without the front end. */
static void *
raw_store(int kind, const char *team, const struct budget_ops **ops)
{
	char url[64], *e = NULL;
	redis_url(&shared, url, sizeof url);
	struct budget_options o = { .url = kind == REDIS ? url : "memory", .team = team };
	budget_defaults(&o, &o);
	*ops = kind == REDIS ? &budget_redis_ops : &budget_mem_ops;
	void *impl = kind == REDIS ? budget_redis_new(&o, &e) : budget_mem_new(&o);
	assert_non_null(impl);
	return impl;
}

/* Redis: reserve and settle run twice for one id (what a retry after a
 * lost reply does) count once. */
static void
test_settle_twice(void **state)
{
	char team[64], err[BUDGET_ERR_MAX];
	new_team(team, sizeof team);
	const struct budget_ops *ops;
	void *impl = raw_store(REDIS, team, &ops);
	struct budget_scope s;
	scope(&s, "team:twice", 1000);
	struct budget_grant g = { .binding = -1 };
	const char *id = "0123456789abcdef0123456789abcdef";
	assert_int_equal(ops->reserve(impl, id, &s, 1, 100, 100, &g), BUDGET_OK);
	assert_int_equal(ops->reserve(impl, id, &s, 1, 100, 500, &g), BUDGET_OK);
	assert_int_equal(g.granted, 100);                   /* the grant already made */
	assert_int_equal(ops->settle(impl, id, &s, 1, 70, 1, err, sizeof err), BUDGET_OK);
	assert_int_equal(ops->settle(impl, id, &s, 1, 70, 1, err, sizeof err), BUDGET_OK);
	assert_int_equal(ops->release(impl, id, err, sizeof err), BUDGET_OK);   /* nothing held */
	assert_int_equal(ops->reserve(impl, id, &s, 1, 1, 1, &g), BUDGET_EINVAL);  /* id reused */
	struct budget_state st;
	assert_int_equal(ops->read(impl, &s, 1, &st, err, sizeof err), BUDGET_OK);
	assert_int_equal(st.spent, 70);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.requests, 1);
	ops->free(impl);
}

/* A settle whose lease the store no longer holds (swept) still adds the
 * spend; a release of it does nothing. */
static void
test_settle_unknown(void **state)
{
	int kind = *(int *)*state;
	char team[64], err[BUDGET_ERR_MAX];
	new_team(team, sizeof team);
	const struct budget_ops *ops;
	void *impl = raw_store(kind, team, &ops);
	struct budget_scope s;
	scope(&s, "team:unknown", 1000);
	const char *id = "ffffffffffffffffffffffffffffffff";
	assert_int_equal(ops->release(impl, id, err, sizeof err), BUDGET_OK);
	assert_int_equal(ops->settle(impl, id, &s, 1, 5, 1, err, sizeof err), BUDGET_OK);
	struct budget_state st;
	assert_int_equal(ops->read(impl, &s, 1, &st, err, sizeof err), BUDGET_OK);
	assert_int_equal(st.spent, 5);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.requests, 1);
	ops->free(impl);
}

static void
test_charge_and_args(void **state)
{
	int kind = *(int *)*state;
	char team[64];
	new_team(team, sizeof team);
	budget_t *b = open_kind(kind, team, "alice", NULL);
	struct budget_scope s[BUDGET_MAX_SCOPES + 1];
	scope(&s[0], "team:c", 1000);
	scope(&s[1], "member:alice:c", 1000);
	assert_int_equal(budget_charge(b, s, 2, 500), BUDGET_OK);
	struct budget_state st = read_one(b, &s[1]);
	assert_int_equal(st.spent, 500);
	assert_int_equal(st.requests, 0);
	struct budget_grant g;
	budget_lease_t *l = NULL;
	assert_int_equal(budget_reserve(b, s, 2, 10, 5, &g, &l), BUDGET_EINVAL);
	assert_int_equal(budget_reserve(b, s, 2, -1, 5, &g, &l), BUDGET_EINVAL);
	assert_int_equal(budget_reserve(b, s, 2, 0, BUDGET_MAX_MICROS + 1, &g, &l), BUDGET_EINVAL);
	s[2] = s[0];
	assert_int_equal(budget_reserve(b, s, 3, 1, 1, &g, &l), BUDGET_EINVAL);
	assert_non_null(strstr(g.error, "twice"));
	for (int i = 0; i <= BUDGET_MAX_SCOPES; i++) {
		char k[32];
		snprintf(k, sizeof k, "k:%d", i);
		scope(&s[i], k, 1000);
	}
	assert_int_equal(budget_reserve(b, s, BUDGET_MAX_SCOPES + 1, 1, 1, &g, &l), BUDGET_EINVAL);
	l = grant(b, s, BUDGET_MAX_SCOPES, 1, 1, 1);    /* the most scopes a request may have */
	budget_release(b, l);
	strcpy(s[0].key, "a b");
	assert_int_equal(budget_reserve(b, s, 1, 1, 1, &g, &l), BUDGET_EINVAL);
	assert_null(l);
	assert_int_equal(budget_charge(b, s, 1, 1), BUDGET_EINVAL);
	assert_int_equal(budget_settle(b, NULL, 1), BUDGET_EINVAL);
	budget_close(b);
}

/* A new day (and month) resets those scopes; the week goes on. */
static void
test_rollover(void **state)
{
	int kind = *(int *)*state;
	char team[64];
	new_team(team, sizeof team);
	struct fake_clock clk = { PTHREAD_MUTEX_INITIALIZER, 1924991990 };  /* 2030-12-31 23:59:50 UTC */
	struct budget_options o = { .clock = fake_now, .clock_user = &clk };
	budget_t *b = open_kind(kind, team, "alice", &o);
	struct period_tz utc = { 0, 0 };
	struct budget_scope s[3];
	double t = fake_now(&clk);
	assert_int_equal(budget_scope_period(&s[0], "team", PERIOD_DAY, &utc, t, NULL, 100), 0);
	assert_int_equal(budget_scope_period(&s[1], "team", PERIOD_WEEK, &utc, t, NULL, 150), 0);
	assert_int_equal(budget_scope_period(&s[2], "team", PERIOD_MONTH, &utc, t, NULL, 1000), 0);
	assert_string_equal(s[0].key, "team:day:2030-12-31");
	assert_string_equal(s[1].key, "team:week:2031-W01");
	assert_string_equal(s[2].key, "team:month:2030-12");
	assert_int_equal(budget_settle(b, grant(b, s, 3, 100, 100, 100), 100), BUDGET_OK);
	struct budget_grant g;
	budget_lease_t *x = NULL;
	assert_int_equal(budget_reserve(b, s, 3, 1, 1, &g, &x), BUDGET_REFUSED);
	assert_int_equal(g.binding, 0);
	fake_set(&clk, t + 20);                             /* 2031-01-01 00:00:10 */
	t = fake_now(&clk);
	assert_int_equal(budget_scope_period(&s[0], "team", PERIOD_DAY, &utc, t, NULL, 100), 0);
	assert_int_equal(budget_scope_period(&s[1], "team", PERIOD_WEEK, &utc, t, NULL, 150), 0);
	assert_int_equal(budget_scope_period(&s[2], "team", PERIOD_MONTH, &utc, t, NULL, 1000), 0);
	assert_string_equal(s[0].key, "team:day:2031-01-01");
	assert_string_equal(s[1].key, "team:week:2031-W01");
	assert_string_equal(s[2].key, "team:month:2031-01");
	assert_int_equal(budget_reserve(b, s, 3, 1, 100, &g, &x), BUDGET_OK);
	assert_int_equal(g.granted, 50);                    /* the week still holds 100 */
	assert_int_equal(g.binding, 1);
	assert_int_equal(g.spent, 100);
	budget_release(b, x);
	budget_close(b);
}

/* ---------------------------------------------------------- concurrency */

#define HAMMER_THREADS 32
#define HAMMER_EACH 16

struct hammer {
	budget_t *b;
	const struct budget_scope *s;
	int n;
	int64_t min, max;
	int64_t granted;            /* sum */
	int count;
	int64_t biggest;
	int errors;
	budget_lease_t *leases[HAMMER_EACH];
};

static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < HAMMER_EACH; i++) {
		struct budget_grant g;
		budget_lease_t *l = NULL;
		int rc = budget_reserve(h->b, h->s, h->n, h->min, h->max, &g, &l);
		if (rc == BUDGET_OK) {
			h->leases[h->count++] = l;
			h->granted += g.granted;
			h->biggest = UTIL_MAX(h->biggest, g.granted);
		} else if (rc != BUDGET_REFUSED) {
			h->errors++;
		}
	}
	return NULL;
}

/* 32 threads x 16 reserves of [min, max] under ceiling; returns the sum
 * granted and the number of grants, and releases them all. */
static int64_t
hammer(budget_t *b, const struct budget_scope *s, int n, int64_t min, int64_t max, int *count)
{
	struct hammer *h = calloc(HAMMER_THREADS, sizeof *h);
	pthread_t t[HAMMER_THREADS];
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ .b = b, .s = s, .n = n, .min = min, .max = max };
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
	}
	int64_t sum = 0;
	*count = 0;
	for (int i = 0; i < HAMMER_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].errors, 0);
		assert_true(h[i].biggest <= max);
		sum += h[i].granted;
		*count += h[i].count;
	}
	struct budget_state st = read_one(b, &s[0]);
	assert_int_equal(st.inflight, sum);
	for (int i = 0; i < HAMMER_THREADS; i++)
		for (int k = 0; k < h[i].count; k++)
			budget_release(b, h[i].leases[k]);
	free(h);
	return sum;
}

static void
test_threads(void **state)
{
	int kind = *(int *)*state;
	char team[64];
	new_team(team, sizeof team);
	budget_t *b = open_kind(kind, team, "alice", NULL);
	struct budget_scope s[2];
	scope(&s[0], "team:hammer", 100500);
	scope(&s[1], "member:alice:hammer", BUDGET_NONE);
	int count;
	/* fixed amounts: exactly the 100 that fit are granted */
	int64_t sum = hammer(b, s, 2, 1000, 1000, &count);
	assert_int_equal(count, 100);
	assert_int_equal(sum, 100000);
	assert_int_equal(read_one(b, &s[0]).inflight, 0);
	/* ranges: the ceiling is filled to the last micro-dollar, never past it */
	scope(&s[0], "team:hammer2", 100500);
	sum = hammer(b, s, 2, 1, 1000, &count);
	assert_int_equal(sum, 100500);
	assert_int_equal(count, 101);
	assert_int_equal(read_one(b, &s[0]).inflight, 0);
	budget_close(b);
}

/* ----------------------------------------------------------- Redis only */

/* 4 processes x 50 reserves of 1000 under 100 500 on one Redis. */
static void
test_processes(void **state)
{
	char team[64];
	new_team(team, sizeof team);
	enum { PROCS = 4, EACH = 50 };
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] != 0)
			continue;
		close(fds[0]);
		budget_t *b = open_kind(REDIS, team, "worker", NULL);
		struct budget_scope s;
		scope(&s, "team:procs", 100500);
		int got = 0, bad = 0;
		for (int i = 0; i < EACH; i++) {
			struct budget_grant g;
			budget_lease_t *l = NULL;
			int rc = budget_reserve(b, &s, 1, 1000, 1000, &g, &l);
			got += rc == BUDGET_OK;
			bad += rc != BUDGET_OK && rc != BUDGET_REFUSED;
		}
		int msg[2] = { got, bad };
		if (write(fds[1], msg, sizeof msg) != sizeof msg)
			_exit(2);
		_exit(0);      /* leases left to expire: the parent reads them in flight */
	}
	close(fds[1]);
	int total = 0;
	for (int p = 0; p < PROCS; p++) {
		int msg[2];
		assert_int_equal(read(fds[0], msg, sizeof msg), (ssize_t)sizeof msg);
		assert_int_equal(msg[1], 0);
		total += msg[0];
		int st;
		waitpid(pid[p], &st, 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	close(fds[0]);
	assert_int_equal(total, 100);
	budget_t *b = open_kind(REDIS, team, "reader", NULL);
	struct budget_scope s;
	scope(&s, "team:procs", 100500);
	struct budget_state st = read_one(b, &s);
	assert_int_equal(st.inflight, 100000);
	assert_int_equal(st.refused, PROCS * EACH - 100);
	budget_close(b);
}

/* Reserve [1, max] until granted; how long it took (ms), -1 if never in 5 s. */
static int64_t
wait_grant(budget_t *b, const struct budget_scope *s, int64_t max, budget_lease_t **l)
{
	int64_t t0 = util_now_ms();
	while (util_now_ms() - t0 < 5000) {
		struct budget_grant g;
		int rc = budget_reserve(b, s, 1, 1, max, &g, l);
		if (rc == BUDGET_OK)
			return util_now_ms() - t0;
		assert_int_equal(rc, BUDGET_REFUSED);
		testredis_sleep_ms(20);
	}
	return -1;
}

static void
test_lease_expiry_redis(void **state)
{
	char team[64];
	new_team(team, sizeof team);
	struct budget_options o = { .lease_ms = 300, .renew_ms = -1 };
	budget_t *b = open_kind(REDIS, team, "alice", &o);
	struct budget_scope s;
	scope(&s, "team:lease", 1000);
	budget_lease_t *held = grant(b, &s, 1, 1000, 1000, 1000), *l = NULL;
	int64_t t0 = util_now_ms();
	int64_t ms = wait_grant(b, &s, 1000, &l);
	assert_true(ms >= 0);
	assert_true(util_now_ms() - t0 >= 250);         /* not before the lease ran out */
	struct budget_state st = read_one(b, &s);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.inflight, 1000);
	/* the swept lease is lost; settling it still counts what was spent */
	assert_int_equal(budget_renew(b), BUDGET_OK);
	assert_int_equal(budget_lease_lost(b, held), 1);
	assert_int_equal(budget_lease_lost(b, l), 0);
	struct budget_health h;
	budget_health(b, &h);
	assert_int_equal(h.lost_leases, 1);
	assert_int_equal(h.live, 2);
	assert_int_equal(budget_settle(b, held, 400), BUDGET_OK);
	st = read_one(b, &s);
	assert_int_equal(st.spent, 400);
	assert_int_equal(st.inflight, 1000);
	budget_release(b, l);
	budget_close(b);
}

static void
test_lease_renewed_redis(void **state)
{
	char team[64];
	new_team(team, sizeof team);
	struct budget_options o = { .lease_ms = 300, .renew_ms = 60 };
	budget_t *holder = open_kind(REDIS, team, "alice", &o);
	budget_t *other = open_kind(REDIS, team, "bob", NULL);
	struct budget_scope s;
	scope(&s, "team:renew", 1000);
	budget_lease_t *held = grant(holder, &s, 1, 1000, 1000, 1000);
	int64_t t0 = util_now_ms();
	while (util_now_ms() - t0 < 1200) {      /* four lease lengths: still held */
		struct budget_grant g;
		budget_lease_t *x = NULL;
		assert_int_equal(budget_reserve(other, &s, 1, 1, 1, &g, &x), BUDGET_REFUSED);
		testredis_sleep_ms(100);
	}
	assert_int_equal(budget_lease_lost(holder, held), 0);
	/* closing gives back what a store still holds */
	budget_close(holder);
	budget_lease_t *l = grant(other, &s, 1, 1000, 1000, 1000);
	budget_release(other, l);
	budget_close(other);
}

/* A test's own server (persistence or password) and child process; the
 * teardown stops both even when the test fails half-way. */
struct own {
	struct testredis r;
	pid_t child;
};

static int
own_setup(void **state, int aof, const char *password)
{
	struct own *o = calloc(1, sizeof *o);
	o->r.aof = aof;
	snprintf(o->r.password, sizeof o->r.password, "%s", password ? password : "");
	testtmp_make(o->r.dir, sizeof o->r.dir, "budget");
	testredis_start(&o->r);
	*state = o;
	return 0;
}

static int own_setup_aof(void **state) { return own_setup(state, 1, NULL); }
static int own_setup_plain(void **state) { return own_setup(state, 0, NULL); }
static int own_setup_password(void **state) { return own_setup(state, 0, "hunter2-pw"); }

static int
own_setup_child(void **state)
{
	*state = calloc(1, sizeof(struct own));
	return 0;
}

static int
own_teardown(void **state)
{
	struct own *o = *state;
	if (o->child > 0) {
		kill(o->child, SIGKILL);
		waitpid(o->child, NULL, 0);
	}
	testredis_stop(&o->r, 0);
	int rc = o->r.dir[0] ? testtmp_remove(o->r.dir) : 0;
	free(o);
	return rc;
}

/* kill -9 of a member with a lease: others get the money once the lease
 * has run out, not before. */
static void
test_killed_member(void **state)
{
	char team[64];
	new_team(team, sizeof team);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct own *own = *state;
	pid_t pid = own->child = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct budget_options o = { .lease_ms = 600 };
		budget_t *b = open_kind(REDIS, team, "doomed", &o);
		struct budget_scope s;
		scope(&s, "team:kill", 1000);
		struct budget_grant g;
		budget_lease_t *l = NULL;
		char c = budget_reserve(b, &s, 1, 1000, 1000, &g, &l) == BUDGET_OK ? 'y' : 'n';
		if (write(fds[1], &c, 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	char c = 0;
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	testredis_sleep_ms(700);            /* longer than the lease: renewals kept it */
	budget_t *b = open_kind(REDIS, team, "alice", NULL);
	struct budget_scope s;
	scope(&s, "team:kill", 1000);
	struct budget_grant g;
	budget_lease_t *l = NULL;
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &l), BUDGET_REFUSED);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	own->child = 0;
	int64_t t0 = util_now_ms();
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &l), BUDGET_REFUSED);
	assert_true(wait_grant(b, &s, 1000, &l) >= 0);
	int64_t ms = util_now_ms() - t0;
	assert_true(ms >= 300);             /* last renewal (<= 200 ms before) + 600 ms */
	assert_true(ms < 3000);
	assert_int_equal(budget_lease_amount(l), 1000);
	assert_int_equal(read_one(b, &s).expired, 1);
	budget_release(b, l);
	budget_close(b);
	close(fds[0]);
	close(fds[1]);
}

static budget_t *
open_on(const struct testredis *r, const char *team, const struct budget_options *o)
{
	struct budget_options d = { 0 };
	char url[64];
	if (o != NULL)
		d = *o;
	redis_url(r, url, sizeof url);
	d.url = url;
	d.team = team;
	d.member = "alice";
	char *err = NULL;
	budget_t *b = budget_open(&d, &err);
	assert_non_null(b);
	return b;
}

/* Reserve until the store answers again (5 s at most); the lease. */
static budget_lease_t *
wait_reachable(budget_t *b, const struct budget_scope *s, int64_t amount)
{
	int64_t t0 = util_now_ms();
	while (util_now_ms() - t0 < 5000) {
		struct budget_grant g;
		budget_lease_t *l = NULL;
		int rc = budget_reserve(b, s, 1, amount, amount, &g, &l);
		if (rc == BUDGET_OK)
			return l;
		assert_int_equal(rc, BUDGET_UNREACHABLE);
		testredis_sleep_ms(50);
	}
	fail_msg("the store did not come back");
	return NULL;
}

/* Redis stopped mid-run: every call fails closed with the store message;
 * a settle made meanwhile is queued and lands once; restarted with AOF,
 * no settled spend is lost. */
static void
test_fail_closed_and_persistence(void **state)
{
	struct testredis *r = &((struct own *)*state)->r;
	struct budget_options o = { .retry_ms = -1, .backoff_max_ms = 400 };
	budget_t *b = open_on(r, "acme", &o);
	struct budget_scope s;
	scope(&s, "team:fc", 1000);
	char err[BUDGET_ERR_MAX], want[80];
	assert_int_equal(budget_set_ceiling(b, "team:fc-limit", 777, err, sizeof err), BUDGET_OK);
	assert_int_equal(budget_settle(b, grant(b, &s, 1, 300, 300, 300), 200), BUDGET_OK);
	budget_lease_t *l2 = grant(b, &s, 1, 100, 100, 100);
	testredis_stop(r, 1);                     /* kill -9: only the AOF is left */

	struct budget_grant g;
	budget_lease_t *x = NULL;
	snprintf(want, sizeof want, "team budget store unreachable at 127.0.0.1:%d", r->port);
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &x), BUDGET_UNREACHABLE);
	assert_non_null(strstr(g.error, want));
	int64_t t0 = util_now_ms();
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &x), BUDGET_UNREACHABLE);
	assert_true(util_now_ms() - t0 < 50);      /* within the backoff window: no waiting */
	assert_non_null(strstr(g.error, "next try in"));
	assert_int_equal(budget_settle(b, l2, 50), BUDGET_UNREACHABLE);    /* queued */
	assert_int_equal(budget_read(b, &s, 1, &(struct budget_state){ 0 }, err, sizeof err),
	    BUDGET_UNREACHABLE);
	assert_non_null(strstr(err, want));
	struct budget_health h;
	budget_health(b, &h);
	assert_int_equal(h.reachable, 0);
	/* the settle, and a release for the first reserve: it was sent on a
	 * pooled connection the server may have read before it died */
	assert_int_equal(h.pending, 2);
	assert_non_null(strstr(h.error, want));

	testredis_start(r);                       /* same port, same directory */
	budget_lease_t *l3 = wait_reachable(b, &s, 10);   /* flushes the queued settle first */
	struct budget_state st = read_one(b, &s);
	assert_int_equal(st.spent, 250);
	assert_int_equal(st.inflight, 10);
	assert_int_equal(st.requests, 2);
	struct budget_ceiling c[2];
	assert_int_equal(budget_ceilings(b, c, 2, err, sizeof err), 1);
	assert_int_equal(c[0].micros, 777);
	budget_health(b, &h);
	assert_int_equal(h.reachable, 1);
	assert_int_equal(h.pending, 0);
	assert_int_equal(h.dropped, 0);
	budget_release(b, l3);
	budget_close(b);
}

/* Without persistence a restart loses everything: spend, stored ceilings,
 * leases. (docs/TEAM.md: re-seed from the members' ledgers.) */
static void
test_no_persistence(void **state)
{
	struct testredis *r = &((struct own *)*state)->r;
	budget_t *b = open_on(r, "acme", NULL);
	struct budget_scope s;
	scope(&s, "team:np", 1000);
	char err[BUDGET_ERR_MAX];
	assert_int_equal(budget_set_ceiling(b, "team:np-limit", 5, err, sizeof err), BUDGET_OK);
	assert_int_equal(budget_settle(b, grant(b, &s, 1, 300, 300, 300), 200), BUDGET_OK);
	testredis_stop(r, 1);
	testredis_start(r);
	budget_lease_t *l = wait_reachable(b, &s, 1000);   /* the whole ceiling again */
	struct budget_state st = read_one(b, &s);
	assert_int_equal(st.spent, 0);
	assert_int_equal(st.requests, 0);
	struct budget_ceiling c[2];
	assert_int_equal(budget_ceilings(b, c, 2, err, sizeof err), 0);
	/* what was lost can be charged back (tokmux team reseed) */
	assert_int_equal(budget_charge(b, &s, 1, 200), BUDGET_OK);
	assert_int_equal(read_one(b, &s).spent, 200);
	budget_release(b, l);
	budget_close(b);
}

/* Keeps the shared server busy for about ms in a Lua loop: commands sent
 * meanwhile wait in its socket buffers and run afterwards, even when
 * their client has given up and closed the connection. */
struct busy {
	pthread_t t;
	int ms;
};

static void *
busy_run(void *arg)
{
	struct busy *x = arg;
	testredis_cmd(&shared, "EVAL %s 0 %d",
	    "local t0 = redis.call('TIME') local n = 0 "
	    "repeat local t = redis.call('TIME') n = n + 1 "
	    "until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > tonumber(ARGV[1]) * 1000 or n > 1e8",
	    x->ms);
	return NULL;
}

static void
busy_start(struct busy *x, int ms)
{
	x->ms = ms;
	assert_int_equal(pthread_create(&x->t, NULL, busy_run, x), 0);
	testredis_sleep_ms(50);             /* let the script start */
}

/* Replies lost to a timeout (the server was busy; the commands ran after
 * the client gave up): the retried settle counts once, and a reserve
 * whose answer was lost is given back. */
static void
test_lost_replies(void **state)
{
	char team[64];
	new_team(team, sizeof team);
	struct budget_options o = { .timeout_ms = 150, .retry_ms = -1, .renew_ms = -1 };
	budget_t *b = open_kind(REDIS, team, "alice", &o);
	struct budget_scope s;
	scope(&s, "team:lost", 1000);
	budget_lease_t *l = grant(b, &s, 1, 100, 100, 100);
	struct busy x;
	busy_start(&x, 500);
	assert_int_equal(budget_settle(b, l, 70), BUDGET_UNREACHABLE);
	pthread_join(x.t, NULL);
	testredis_sleep_ms(100);
	struct budget_state st = read_one(b, &s);
	assert_int_equal(st.spent, 70);                     /* the first attempt ran */
	assert_int_equal(st.inflight, 0);
	assert_int_equal(budget_flush(b), 0);               /* the retry: already settled */
	st = read_one(b, &s);
	assert_int_equal(st.spent, 70);
	assert_int_equal(st.requests, 1);

	struct budget_grant g;
	budget_lease_t *lost = NULL;
	busy_start(&x, 500);
	assert_int_equal(budget_reserve(b, &s, 1, 200, 200, &g, &lost), BUDGET_UNREACHABLE);
	assert_null(lost);
	pthread_join(x.t, NULL);
	testredis_sleep_ms(100);
	st = read_one(b, &s);
	assert_int_equal(st.inflight, 200);                 /* it did run */
	struct budget_health h;
	budget_health(b, &h);
	assert_int_equal(h.pending, 1);
	assert_int_equal(budget_flush(b), 0);               /* the queued release */
	st = read_one(b, &s);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.spent, 70);
	budget_close(b);
}

/* The keys docs/TEAM.md describes: counters expire after their period,
 * leases are a hash and a sorted set, members a hash. A counter deleted
 * by hand while a lease holds money in it is dropped, not left negative. */
static void
test_key_layout(void **state)
{
	char team[64], key[256];
	new_team(team, sizeof team);
	budget_t *b = open_kind(REDIS, team, "alice", NULL);
	struct period_tz utc = { 0, 0 };
	struct budget_scope s;
	double now = util_wall(), end;
	char label[32];
	assert_int_equal(budget_scope_period(&s, "team", PERIOD_DAY, &utc, now, NULL, 1000), 0);
	period_of(PERIOD_DAY, &utc, now, label, sizeof label, NULL, &end);
	budget_lease_t *l = grant(b, &s, 1, 10, 10, 10);
	snprintf(key, sizeof key, "tokmux:{%s}:s:team:day:%s", team, label);
	long long ttl = testredis_cmd(&shared, "TTL %s", key);
	assert_true(ttl > end + BUDGET_GRACE_S - now - 5 && ttl <= end + BUDGET_GRACE_S - now + 1);
	assert_int_equal(testredis_cmd(&shared, "HGET %s reserved", key), 0);   /* a string reply */
	assert_int_equal(testredis_cmd(&shared, "HLEN tokmux:{%s}:leases", team), 1);
	assert_int_equal(testredis_cmd(&shared, "ZCARD tokmux:{%s}:lexp", team), 1);
	assert_int_equal(testredis_cmd(&shared, "HEXISTS tokmux:{%s}:members alice", team), 1);
	assert_int_equal(budget_settle(b, l, 7), BUDGET_OK);
	assert_int_equal(testredis_cmd(&shared, "HLEN tokmux:{%s}:leases", team), 1);   /* "s" */
	assert_int_equal(testredis_cmd(&shared, "HSTRLEN %s spent", key), 1);
	l = grant(b, &s, 1, 10, 10, 10);
	assert_int_equal(testredis_cmd(&shared, "DEL %s", key), 1);
	assert_int_equal(budget_release(b, l), BUDGET_OK);
	assert_int_equal(testredis_cmd(&shared, "EXISTS %s", key), 0);
	assert_int_equal(read_one(b, &s).inflight, 0);
	budget_close(b);
}

static void
test_noscript(void **state)
{
	char team[64];
	new_team(team, sizeof team);
	budget_t *b = open_kind(REDIS, team, "alice", NULL);
	struct budget_scope s;
	scope(&s, "team:ns", 1000);
	budget_release(b, grant(b, &s, 1, 10, 10, 10));
	testredis_cmd(&shared, "SCRIPT FLUSH");
	budget_lease_t *l = grant(b, &s, 1, 10, 10, 10);    /* EVAL, then cached again */
	assert_int_equal(budget_settle(b, l, 5), BUDGET_OK);
	assert_int_equal(read_one(b, &s).spent, 5);
	budget_close(b);
}

static void
test_password(void **state)
{
	struct testredis *r = &((struct own *)*state)->r;
	char url[96], err[BUDGET_ERR_MAX], *e = NULL;
	struct budget_options o = { .url = url, .team = "acme" };
	/* in the URL */
	snprintf(url, sizeof url, "redis://:hunter2-pw@127.0.0.1:%d", r->port);
	budget_t *b = budget_open(&o, &e);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_OK);
	assert_null(strstr(budget_where(b), "hunter2"));
	budget_close(b);
	/* a wrong one: refused, never repeated */
	snprintf(url, sizeof url, "redis://:wrong-pw@127.0.0.1:%d", r->port);
	b = budget_open(&o, &e);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_UNREACHABLE);
	assert_non_null(strstr(err, "unreachable at 127.0.0.1"));
	assert_null(strstr(err, "wrong-pw"));
	struct budget_health h;
	budget_health(b, &h);
	assert_null(strstr(h.error, "wrong-pw"));
	budget_close(b);
	/* none */
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", r->port);
	unsetenv("TOKMUX_REDIS_PASSWORD");
	b = budget_open(&o, &e);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_UNREACHABLE);
	assert_non_null(strstr(err, "NOAUTH"));
	budget_close(b);
	/* from the environment, and from the options (config) */
	setenv("TOKMUX_REDIS_PASSWORD", "hunter2-pw", 1);
	b = budget_open(&o, &e);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_OK);
	budget_close(b);
	unsetenv("TOKMUX_REDIS_PASSWORD");
	o.password = "hunter2-pw";
	b = budget_open(&o, &e);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_OK);
	budget_close(b);
}

/* Nothing listens: the message, and the backoff window growing. */
static void
test_unreachable(void **state)
{
	struct testredis none = { .port = testport_free() };
	struct budget_options o = { .backoff_min_ms = 100, .backoff_max_ms = 400 };
	budget_t *b = open_on(&none, "acme", &o);
	char err[BUDGET_ERR_MAX], want[96];
	snprintf(want, sizeof want, "team budget store unreachable at 127.0.0.1:%d: Connection refused",
	    none.port);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_UNREACHABLE);
	assert_string_equal(err, want);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_UNREACHABLE);
	assert_non_null(strstr(err, "(next try in"));
	/* the next attempt connects again, fails, and waits twice as long */
	testredis_sleep_ms(120);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_UNREACHABLE);
	assert_string_equal(err, want);
	assert_int_equal(budget_ping(b, err, sizeof err), BUDGET_UNREACHABLE);
	long left = strtol(strstr(err, "next try in ") + 12, NULL, 10);
	assert_true(left > 100 && left <= 200);
	budget_close(b);
}

/* ---------------------------------------------------------- memory only */

static void
test_lease_expiry_mem(void **state)
{
	struct fake_clock clk = { PTHREAD_MUTEX_INITIALIZER, 1800000000 };
	struct budget_options o = { .lease_ms = 1000, .renew_ms = -1, .clock = fake_now,
		.clock_user = &clk };
	budget_t *b = open_kind(MEM, "acme", "alice", &o);
	struct budget_scope s;
	scope(&s, "team:lease", 1000);
	budget_lease_t *held = grant(b, &s, 1, 1000, 1000, 1000), *x = NULL;
	struct budget_grant g;
	fake_set(&clk, 1800000000.9);
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &x), BUDGET_REFUSED);
	assert_int_equal(budget_renew(b), BUDGET_OK);      /* renewed at .9: good until 1.9 */
	fake_set(&clk, 1800000001.5);
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &x), BUDGET_REFUSED);
	fake_set(&clk, 1800000002);
	budget_lease_t *l = grant(b, &s, 1, 1, 1000, 1000);
	struct budget_state st = read_one(b, &s);
	assert_int_equal(st.expired, 1);
	assert_int_equal(budget_renew(b), BUDGET_OK);
	assert_int_equal(budget_lease_lost(b, held), 1);
	assert_int_equal(budget_settle(b, held, 300), BUDGET_OK);
	st = read_one(b, &s);
	assert_int_equal(st.spent, 300);
	assert_int_equal(st.inflight, 1000);
	budget_release(b, l);
	assert_int_equal(read_one(b, &s).inflight, 0);
	budget_close(b);
	/* without lease_ms, this process's leases never expire */
	o.lease_ms = 0;
	b = open_kind(MEM, "acme", "alice", &o);
	held = grant(b, &s, 1, 1000, 1000, 1000);
	fake_set(&clk, 1900000000);
	assert_int_equal(budget_reserve(b, &s, 1, 1, 1, &g, &x), BUDGET_REFUSED);
	budget_release(b, held);
	budget_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_labels),
		cmocka_unit_test(test_period_parse),
		cmocka_unit_test(test_scope_names),
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_open_errors),
#define BOTH(f) cmocka_unit_test_prestate(f, &kind_mem), cmocka_unit_test_prestate(f, &kind_redis)
		BOTH(test_range_grants),
		BOTH(test_member_and_team),
		BOTH(test_stored_ceilings),
		BOTH(test_members),
		BOTH(test_settle_unknown),
		BOTH(test_charge_and_args),
		BOTH(test_rollover),
		BOTH(test_threads),
#undef BOTH
		cmocka_unit_test(test_settle_twice),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_lease_expiry_redis),
		cmocka_unit_test(test_lease_renewed_redis),
		cmocka_unit_test_setup_teardown(test_killed_member, own_setup_child, own_teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed_and_persistence, own_setup_aof,
		    own_teardown),
		cmocka_unit_test_setup_teardown(test_no_persistence, own_setup_plain, own_teardown),
		cmocka_unit_test(test_lost_replies),
		cmocka_unit_test(test_key_layout),
		cmocka_unit_test(test_noscript),
		cmocka_unit_test_setup_teardown(test_password, own_setup_password, own_teardown),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_lease_expiry_mem),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
