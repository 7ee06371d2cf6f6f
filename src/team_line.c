/*
 * team_line: owns the thread that reads the team's counters for the
 * sidebar's team line and the view it makes of them (the binding period,
 * this member's share, the store's reachability). The UI only ever reads
 * the stats snapshot: a slow or dead store delays this thread, never it.
 */
#include "team_line.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct team_line {
	struct team_line_options o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* CLOCK_MONOTONIC */
	int stop, poked;
};

/* Room left under a ceiling, or -1 when there is none. */
static int64_t
team_line_room(const struct budget_state *s)
{
	if (s->ceiling < 0)
		return -1;
	return s->ceiling - s->spent - s->inflight;
}

/* The period whose ceiling has the least room in st[], -1 if none has one. */
static int
team_line_binding(const struct budget_state st[PERIOD_COUNT])
{
	int best = -1;
	int64_t least = 0;
	for (int k = 0; k < PERIOD_COUNT; k++) {
		int64_t room = team_line_room(&st[k]);
		if (st[k].ceiling >= 0 && (best < 0 || room < least)) {
			best = k;
			least = room;
		}
	}
	return best;
}

void
team_line_view(const struct team_settings *t, const struct budget_state team[PERIOD_COUNT],
    const struct budget_state member[PERIOD_COUNT], struct stats_team *out)
{
	int k = team_line_binding(team);
	if (k < 0)
		k = team_line_binding(member);
	if (k < 0)
		k = PERIOD_DAY;
	snprintf(out->team, sizeof out->team, "%s", t->team);
	snprintf(out->member, sizeof out->member, "%s", t->member);
	snprintf(out->period, sizeof out->period, "%s", period_name((enum period_kind)k));
	out->spent = team[k].spent;
	out->inflight = team[k].inflight;
	out->ceiling = team[k].ceiling < 0 ? -1 : team[k].ceiling;
	out->member_spent = member[k].spent;
	out->member_ceiling = member[k].ceiling < 0 ? -1 : member[k].ceiling;
}

/* One read of the store into the stats (no lock held). */
static void
team_line_read(team_line_t *l, struct stats_team *last)
{
	const struct team_line_options *o = &l->o;
	double now = o->clock != NULL ? o->clock(o->clock_user) : util_wall();
	struct budget_scope s[2 * PERIOD_COUNT];
	struct budget_state st[2 * PERIOD_COUNT];
	for (int k = 0; k < PERIOD_COUNT; k++) {
		team_scope(o->team, &o->tz, now, NULL, (enum period_kind)k, TEAM_ALL, &s[k]);
		team_scope(o->team, &o->tz, now, o->team->member, (enum period_kind)k, TEAM_ALL,
		    &s[PERIOD_COUNT + k]);
	}
	char err[BUDGET_ERR_MAX] = "";
	int rc = budget_read(o->budget, s, 2 * PERIOD_COUNT, st, err, sizeof err);
	struct stats_team v = *last;    /* an unreachable store keeps the last figures */
	v.active = 1;
	v.shared = strcmp(budget_where(o->budget), "memory") != 0;
	v.fail_open = o->team->fail_open;
	v.reachable = rc == BUDGET_OK;
	snprintf(v.where, sizeof v.where, "%s", budget_where(o->budget));
	snprintf(v.error, sizeof v.error, "%s", rc == BUDGET_OK ? "" : err);
	if (rc == BUDGET_OK) {
		team_line_view(o->team, st, &st[PERIOD_COUNT], &v);
		v.read = 1;
	} else if (!v.read) {
		snprintf(v.team, sizeof v.team, "%s", o->team->team);
		snprintf(v.member, sizeof v.member, "%s", o->team->member);
	}
	*last = v;
	stats_set_team(o->stats, &v);
}

static void *
team_line_main(void *arg)
{
	team_line_t *l = arg;
	struct stats_team last;
	memset(&last, 0, sizeof last);
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		l->poked = 0;
		pthread_mutex_unlock(&l->lock);
		team_line_read(l, &last);
		int64_t due = util_now_ms() + TEAM_LINE_MS;
		int64_t soonest = util_now_ms() + TEAM_LINE_GAP_MS;
		pthread_mutex_lock(&l->lock);
		while (!l->stop) {
			int64_t until = l->poked ? soonest : due;
			if (util_now_ms() >= until)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t ns = ts.tv_nsec + (until - util_now_ms()) * 1000000;
			ts.tv_sec += ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&l->cond, &l->lock, &ts);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

team_line_t *
team_line_start(const struct team_line_options *o)
{
	team_line_t *l = xcalloc(1, sizeof *l);
	l->o = *o;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&l->thread, NULL, team_line_main, l) != 0)
		fatal("team line: cannot start its thread");
	return l;
}

void
team_line_poke(team_line_t *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->poked = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

void
team_line_stop(team_line_t *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
