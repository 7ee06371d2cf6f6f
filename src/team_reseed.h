/*
 * team_reseed: puts spend a budget store lost (a Redis restart without
 * persistence) back from members' ledgers. Every ledger record of the
 * team names its member; its cost counts in the periods (day, week,
 * month at the team's time zone) its request started in, for all models
 * and for the family of the model asked. For each member, period and
 * family of the current periods, the store is raised to what the ledgers
 * say: the difference (if the store has less) is charged to the member's
 * and the team's scope together. Running it twice charges nothing more.
 */
#ifndef TOKMUX_TEAM_RESEED_H
#define TOKMUX_TEAM_RESEED_H

#include "budget.h"
#include "team.h"

/* One member's sums, micros per family and period. */
struct team_reseed_member {
	char name[BUDGET_NAME_MAX];
	int64_t ledger[TEAM_FAMILIES][PERIOD_COUNT];    /* what the ledgers say */
	int64_t store[TEAM_FAMILIES][PERIOD_COUNT];     /* what the store had */
	int64_t charged[TEAM_FAMILIES][PERIOD_COUNT];   /* added (or, dry run, to add) */
};

struct team_reseed {
	int files;
	long records;               /* complete records read */
	long counted;               /* of this team and a current period */
	long no_member;             /* records without a member (written before teams) */
	long other_team;            /* records of another team */
	struct team_reseed_member *members;
	int nmembers;
};

/* Read the ledgers (n paths; a file given twice counts once) and charge
 * what the store lacks, unless dry_run. t is merged (store, team, tz).
 * Each member's charges go through a store opened in that member's name
 * (o, its member replaced), so the store lists them as active again.
 * 0, or a budget_rc with a malloc'd *err (a ledger that cannot be read is
 * BUDGET_EINVAL naming it). Free r with team_reseed_free either way. */
int team_reseed_run(const struct budget_options *o, const struct team_settings *t, double now,
    const char *const *paths, int n, int dry_run, struct team_reseed *r, char **err);
void team_reseed_free(struct team_reseed *r);

/* What was (or would be) charged, one line per member and period (malloc'd). */
char *team_reseed_text(const struct team_reseed *r, int dry_run);

#endif
