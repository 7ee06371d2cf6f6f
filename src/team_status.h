/*
 * team_status: what `tokmux team` shows, read from the budget store: the
 * team's and every member's spend, money in flight, ceiling (and whether
 * it is stored or configured), settled requests and refusals per period
 * (day, week, month) for all models and per family, and each member's
 * last activity; formatted as a text table or as JSON.
 */
#ifndef TOKMUX_TEAM_STATUS_H
#define TOKMUX_TEAM_STATUS_H

#include "budget.h"
#include "team.h"

#define TEAM_STATUS_MAX_MEMBERS 256

/* The team (name "") or one member. */
struct team_status_owner {
	char name[BUDGET_NAME_MAX];
	double last;                            /* last activity (UNIX s), 0: unknown */
	struct budget_state s[TEAM_FAMILIES][PERIOD_COUNT];
};

struct team_status {
	char where[320];                        /* budget_where: no password */
	char team[BUDGET_NAME_MAX];
	char tz[32];                            /* "UTC", "UTC+01:00", "local" */
	double now;
	char label[PERIOD_COUNT][16];           /* "2026-12-02", "2026-W49", "2026-12" */
	struct team_status_owner team_owner;
	struct team_status_owner *members;      /* most recently active first */
	int nmembers;
};

/* Read the team's and every known member's scopes at now (t merged).
 * 0, or a budget_rc (UNREACHABLE, EINVAL) with err. Free with
 * team_status_free either way. */
int team_status_read(budget_t *b, const struct team_settings *t, double now,
    struct team_status *st, char *err, size_t len);
void team_status_free(struct team_status *st);

/* The table (malloc'd, ends with a newline). */
char *team_status_text(const struct team_status *st);
/* One line of JSON (malloc'd, no newline); docs/TEAM.md has its shape. */
char *team_status_json(const struct team_status *st);

/* "12s ago", "5m ago", "3h ago", "2d ago", "never". */
void team_status_ago(double now, double then, char *buf, size_t len);

#endif
