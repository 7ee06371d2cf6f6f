/*
 * team_line: the sidebar's team line, kept fresh without the UI ever
 * waiting for the budget store. A thread of its own reads the team's and
 * this member's counters (day, week, month) every TEAM_LINE_MS, and soon
 * after team_line_poke (a request was reserved or settled), works out the
 * binding period and pushes a struct stats_team into the stats store,
 * which wakes the UI when it changed. An unreachable store is shown as
 * such (fail closed: refusing; fail open: budgets not enforced).
 */
#ifndef TOKMUX_TEAM_LINE_H
#define TOKMUX_TEAM_LINE_H

#include "budget.h"
#include "period.h"
#include "stats.h"
#include "team.h"

#define TEAM_LINE_MS 2000       /* read at least this often */
#define TEAM_LINE_GAP_MS 250    /* ... and at most this often after pokes */

typedef struct team_line team_line_t;

struct team_line_options {
	budget_t *budget;                   /* not owned */
	const struct team_settings *team;   /* merged; must outlive the line */
	struct period_tz tz;
	stats_t *stats;                     /* where the view goes */
	double (*clock)(void *user);        /* UNIX seconds; NULL: util_wall */
	void *clock_user;
};

/* Starts the thread (its first read at once). */
team_line_t *team_line_start(const struct team_line_options *o);
/* Ask for a read soon (thread-safe, never blocks on the store). */
void team_line_poke(team_line_t *l);
void team_line_stop(team_line_t *l);

/* The view from the team's and the member's states per period (pure, for
 * tests): the binding period is the team's with the least room under its
 * ceiling, else the member's, else the day. */
void team_line_view(const struct team_settings *t, const struct budget_state team[PERIOD_COUNT],
    const struct budget_state member[PERIOD_COUNT], struct stats_team *out);

#endif
