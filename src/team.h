/*
 * team: the settings of a team budget and the budget-store scopes they
 * make. The config keys (team, member, budget_store, budget_tz,
 * team_ceilings, member_ceilings, budget_fail_open) and the matching
 * command-line flags land in one struct team_settings each; merged, the
 * command line wins key by key (docs/TEAM.md, docs/CONFIG.md).
 *
 * Ceilings are per period (day, week, month) for all models, and
 * optionally per Claude family (opus, sonnet, haiku). Their store names
 * are "team:PERIOD[:FAMILY]" and "member:NAME:PERIOD[:FAMILY]", the same
 * names `tokmux team set` stores ceilings under.
 */
#ifndef TOKMUX_TEAM_H
#define TOKMUX_TEAM_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "period.h"

#define TEAM_FAMILIES 4         /* all models, then opus, sonnet, haiku */
#define TEAM_ALL 0              /* family index of "all models" */
#define TEAM_UNSET (-2)         /* team_parse_ceiling: "unset" (drop a stored ceiling) */
#define TEAM_NONE (-1)          /* explicitly no ceiling */
#define TEAM_DEFAULT_NAME "default"   /* the team when none is named */
#define TEAM_LEASE_MIN_MS 500   /* budget_lease_ms: from ... */
#define TEAM_LEASE_MAX_MS 3600000   /* ... to */

/* Ceilings of one owner (the team, or each member): where given,
 * micros >= 0 or TEAM_NONE. */
struct team_ceilings {
	int64_t micros[TEAM_FAMILIES][PERIOD_COUNT];
	unsigned char given[TEAM_FAMILIES][PERIOD_COUNT];
};

/* What one source (the config, or the command line) says. All zeroes
 * (or team_settings_init) is "nothing given": NULL strings, nothing in
 * given[]. Strings are malloc'd. store may hold a password: never print
 * it (team_store_where). */
struct team_settings {
	char *store;                /* budget_store: "memory" or redis://... */
	char *team;
	char *member;
	char *tz;                   /* budget_tz */
	int fail_open;              /* budget_fail_open: 1 if given as true */
	int lease_ms;               /* budget_lease_ms: a lease's life; 0 not given (the store's
	                             * default, BUDGET_LEASE_MS) */
	struct team_ceilings team_ceilings, member_ceilings;
};

/* Set one ceiling (micros >= 0 or TEAM_NONE) as given. */
void team_ceiling_set(struct team_ceilings *c, int family, enum period_kind k, int64_t micros);

/* The config keys this module reads, for config.c's list of known keys. */
#define TEAM_CONFIG_KEYS "team", "member", "budget_store", "budget_tz", \
	"team_ceilings", "member_ceilings", "budget_fail_open", "budget_lease_ms"

struct cJSON;
struct jsoncheck;

void team_settings_init(struct team_settings *t);     /* nothing given */
void team_settings_free(struct team_settings *t);     /* wipes the store URL */

/* 1 if key is one of TEAM_CONFIG_KEYS. */
int team_config_has(const char *key);
/* Config key v->string (one of TEAM_CONFIG_KEYS) into t. 0, or -1 with
 * jsoncheck's message ("FILE: key team_ceilings.day: expected ..."). */
int team_config_load(const struct jsoncheck *x, const struct cJSON *v, struct team_settings *t);

/* Merge: cli wins over cfg key by key (either may be NULL), then the
 * defaults: store "memory", team "default", member the login name, tz
 * "UTC", fail_open 0, ceilings not given anywhere TEAM_NONE (all given
 * in out). out is freed with team_settings_free. Values were checked when
 * loaded. */
void team_settings_merge(struct team_settings *out, const struct team_settings *cfg,
    const struct team_settings *cli);

/* ---- values, as the config and the flags take them; each 0, or -1
 * with a malloc'd *err that never repeats a password ---- */

/* "memory", "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]"; rediss:// is
 * refused (hiredis 0.14 has no TLS). */
int team_check_store(const char *url, char **err);
/* 1-63 of [A-Za-z0-9._-]; a member may not be called "team". */
int team_check_name(const char *s, int member, char **err);
/* "PERIOD[:FAMILY]=USD", USD a dollar amount >= 0 or "none" (and "unset"
 * when allow_unset: TEAM_UNSET). */
int team_parse_ceiling(const char *s, int allow_unset, int *family, enum period_kind *k,
    int64_t *micros, char **err);

/* Overwrite a password in a budget-store URL in place with 'x's (argv,
 * so that ps does not show it). 1 if there was one. */
int team_scrub_password(char *url);
/* "memory" or "redis HOST:PORT/DB": where a store URL points, without a
 * password. buf holds at least 300 bytes. */
void team_store_where(const char *url, char *buf, size_t len);

/* The login name as a member name: characters other than [A-Za-z0-9._-]
 * become '_'; "default" if there is none. */
void team_login_name(char *buf, size_t len);

/* ---- families and scopes ---- */

/* "" for TEAM_ALL, else "opus", "sonnet", "haiku". */
const char *team_family_name(int family);
/* Index of a family name (TEAM_ALL for ""), -1 if unknown. */
int team_family_index(const char *name);
/* The family index a model is counted under: its Claude family, else TEAM_ALL. */
int team_family_of(const char *model);

/* Store name of a ceiling: "team:day", "member:alice:week:opus".
 * member NULL: the team's. 0, or -1 if it does not fit. */
int team_limit_name(char *buf, size_t len, const char *member, enum period_kind k, int family);

/* The team and member scopes of a request for a model of family (TEAM_ALL:
 * none) at now: team then member, each per day, week and month, for all
 * models and, when family != TEAM_ALL, for the family too. Ceilings from
 * t (merged). Returns how many (at most 12), or -1 if max is too small. */
int team_scopes(const struct team_settings *t, const struct period_tz *tz, double now,
    int family, struct budget_scope *out, int max);
/* One scope: the team's (member NULL) or a member's. */
int team_scope(const struct team_settings *t, const struct period_tz *tz, double now,
    const char *member, enum period_kind k, int family, struct budget_scope *out);

/* budget_open options for merged settings (pointing into t). */
void team_budget_options(const struct team_settings *t, struct budget_options *o);

#endif
