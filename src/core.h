/*
 * core: the shared client core that every pane's agent talks to: pricing,
 * stats, rate-limit table, ledger and the gateway, created from a config
 * and torn down together. Used by the workspace (tokmux) and by the
 * headless `tokmux gateway` (src/cmd_gateway.c).
 */
#ifndef TOKMUX_CORE_H
#define TOKMUX_CORE_H

#include <stddef.h>

#include "config.h"
#include "gateway.h"
#include "ledger.h"
#include "policy.h"
#include "pricing.h"
#include "ratelimit.h"
#include "stats.h"

struct core_options {
	const struct config *cfg;
	int port;                  /* -1: cfg->port */
	const char *anthropic;     /* NULL: cfg's upstream */
	const char *openai;
	const char *ledger;        /* NULL: cfg's ledger or the default path */
	int ledger_fail_open;      /* --ledger-fail-open (else the config's ledger_fail_open) */
	/* Told of every change of the ledger's health, changed = failing turned
	 * on or off (besides the stats store, which the sidebar reads); from a
	 * gateway thread or the ledger's retry timer. NULL: none. */
	ledger_notify_fn ledger_notify;
	void *ledger_notify_user;
	int wake_fd;               /* written on every stats change; -1 none */
	/* Policy: ceilings (command-line values win over the config), wording, tuning. */
	int has_ceiling, has_daily_ceiling;   /* given on the command line (else the config's) */
	int64_t ceiling_micros;        /* --ceiling (0 blocks) */
	int64_t daily_ceiling_micros;  /* --daily-ceiling */
	const char *const *pane_ceilings;   /* --pane-ceiling NAME=USD (see core_check_pane_ceilings) */
	int npane_ceilings;
	int64_t min_output_tokens;     /* --min-output-tokens; 0: the config's min_output_tokens */
	const char *prefix_name;       /* the prefix key as texts name it ("Ctrl-g"); NULL: none
	                                * (refusals then say only --pane-ceiling) */
	const char *unit;          /* word for a route in messages: "pane" (default) or "route" */
	const char *raise_hint;    /* NULL: how to raise a pane ceiling, for the unit and prefix */
	const struct policy_options *tuning;   /* may be NULL: retry/pacing tuning, clock (tests) */
	const char *session;       /* the ledger's session id; NULL: a new random one */
	int no_metrics_token;      /* --no-metrics-token: anyone who can connect reads /metrics
	                            * (else unless the config's metrics_token is false, it
	                            * needs the user's token, core_metrics_token_path()) */
	/* Team budget flags (--budget-store, --team, ...): win over cfg->team
	 * key by key. Owned by the front end (team_settings_free). */
	struct team_settings team;
};

#define CORE_SESSION_LEN 16        /* hex chars of a session id */

/* A new random session id (CORE_SESSION_LEN hex chars) into out. */
void core_session_new(char out[CORE_SESSION_LEN + 1]);

typedef struct core core_t;

/* NULL with a malloc'd one-line *err when pricing, the ledger or the port
 * fail (no program name in it: the front end adds that). */
core_t *core_start(const struct core_options *o, char **err);
void core_stop(core_t *c);

/* The file holding the token /metrics asks for; NULL when it asks none. */
const char *core_metrics_token_path(const core_t *c);    /* stops the gateway (settling in-flight requests), closes the ledger */

/* 0 if every --pane-ceiling NAME=USD of pc[0..n-1] names a route that can
 * run: one of names[0..nnames-1] (NULL entries skipped) or a number from 1
 * to max. Else -1 with a malloc'd one-line *err naming the value. */
int core_check_pane_ceilings(const char *const *pc, int n, const char *const *names, int nnames,
    int max, char **err);

/* New route for a pane or a named gateway route; fills the agent's base URLs.
 * Returns the route index, -1 when there is no room. */
int core_add_route(core_t *c, const char *name, const char *cmd,
    char *anthropic_base, size_t alen, char *openai_base, size_t olen);

/* The same with the pane's 1-based number (its config pane is panes[number-1];
 * --pane-ceiling NAME matches the name or this number). */
int core_add_pane(core_t *c, int number, const char *name, const char *cmd,
    char *anthropic_base, size_t alen, char *openai_base, size_t olen);

gateway_t *core_gateway(core_t *c);
policy_t *core_policy(core_t *c);
stats_t *core_stats(core_t *c);
rl_table_t *core_ratelimits(core_t *c);
const char *core_ledger_path(const core_t *c);
ledger_t *core_ledger(core_t *c);
/* This process's session id, written into every ledger record. */
const char *core_session(const core_t *c);
/* The price table (for the model picker). */
const pricing_t *core_pricing(const core_t *c);
/* The program name a pane's command runs, as kept in the ledger
 * (malloc'd, NULL if none): no arguments, no VAR=value. */
char *core_agent_name(const char *cmd);

#endif
