/*
 * policy: what the gateway does with a request besides forwarding it.
 * Hard spend ceilings (per pane, per workspace, per day, and the scopes the
 * core adds; USD or tokens; ceiling.c over the budget store): reserve what
 * fits between the request's floor and its worst case, send it with the
 * output limit that pays for, charge what it cost, release the rest. 429
 * pacing per API key, shared by every pane using the key, in arrival
 * order. 529 retry with full jitter, then the pane's model fallback chain
 * (model.c's), and a circuit breaker per model. Plugs into the gateway
 * through struct gateway_policy (see policy_hooks).
 */
#ifndef TOKMUX_POLICY_H
#define TOKMUX_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "ceiling.h"
#include "gateway.h"
#include "pricing.h"
#include "ratelimit.h"
#include "stats.h"

#define POLICY_MAX_CHAIN 8

/* Defaults (docs/POLICY.md). */
#define POLICY_WARN_AT 0.8
#define POLICY_PACE_CAP_MS 20000        /* longest 429 wait done for the agent */
#define POLICY_PACE_GAP_MS 100          /* between releases of queued requests of one key */
#define POLICY_RETRY_BASE_MS 500        /* 529 full jitter: rand(0, min(cap, base*2^n)) */
#define POLICY_RETRY_CAP_MS 8000
#define POLICY_RETRY_MAX 3              /* 529 retries per model before falling back */
#define POLICY_BREAKER_K 5              /* consecutive 529s of a model ... */
#define POLICY_BREAKER_WINDOW_MS 30000  /* ... within this window open its circuit ... */
#define POLICY_BREAKER_COOLDOWN_MS 60000 /* ... for this long */
#define POLICY_PEEK_MS 10000            /* wait this long at most for a 200 stream's first event */

typedef struct policy policy_t;

struct policy_options {
	const pricing_t *pricing;       /* may be NULL: nothing priced, USD ceilings refuse nothing */
	stats_t *stats;                 /* may be NULL */
	rl_table_t *ratelimits;         /* may be NULL: no pacing */
	const char *ledger_path;        /* seeds today's spend (memory store); NULL: starts at 0 */
	int64_t ceiling_micros;         /* workspace ceiling, -1 none, 0 blocks */
	int64_t daily_ceiling_micros;   /* -1 none, 0 blocks */
	int64_t min_output_tokens;      /* the floor of a clamped output limit;
	                                 * 0: CEILING_MIN_OUTPUT_TOKENS */
	/* The budget store and its seam (docs/TEAM.md). budget NULL: an
	 * in-process store of the policy's own. scope_prefix goes in front of
	 * the pane, workspace and day keys; extra_scopes adds the core's
	 * scopes to each request (a team's, a member's). */
	budget_t *budget;
	const char *scope_prefix;
	ceiling_scopes_fn extra_scopes;
	void *extra_user;
	/* The ledger whose health admits requests: while it cannot be written,
	 * a request under any ceiling is refused (a restart would not know
	 * what it spent) unless ledger_fail_open. NULL: not checked. */
	ledger_t *ledger;
	int ledger_fail_open;
	int budget_fail_open;           /* 1: serve when the store is unreachable (else refuse) */
	double warn_at;                 /* 0: POLICY_WARN_AT */
	const char *unit;               /* "pane" (default) or "route": word in messages */
	const char *raise_hint;         /* NULL: "Raise it with --pane-ceiling." (the
	                                 * workspace names its prefix key: Ctrl-g b) */
	/* tuning, 0 = default; tests scale these down */
	int pace_cap_ms, pace_gap_ms;
	int retry_base_ms, retry_cap_ms;
	int retry_max;                  /* -1: no 529 retries (fallback at once) */
	int breaker_k, breaker_window_ms, breaker_cooldown_ms;
	int peek_ms;
	/* clock (UNIX seconds) for tests; NULL: util_wall */
	double (*clock)(void *user);
	void *clock_user;
};

/* A route's settings (from config and the command line). */
struct policy_route_config {
	int number;                     /* 1-based pane / route number shown to people */
	const char *name;
	const char *agent;              /* program name, may be NULL */
	int64_t ceiling_micros;         /* -1 none */
	int64_t ceiling_tokens;         /* -1 none */
	double downgrade_at;            /* fraction of the ceiling, 0 off */
	const char *const *fallback;    /* chain after the asked model; NULL/0: default family chain */
	int nfallback;
};

/* What the UI shows for a route (policy_get_state). */
struct policy_route_state {
	int64_t ceiling_micros, spent_micros, reserved_micros;   /* ceiling -1: none */
	int64_t ceiling_tokens, spent_tokens, reserved_tokens;
	int warn;                       /* spent + reserved >= warn_at x a ceiling */
	int blocked;                    /* a zero ceiling (its own, the workspace's or today's)
	                                 * stops every request */
	int downgraded;                 /* past downgrade_at */
	char model_override[MODEL_ID_MAX]; /* "" none */
	int64_t workspace_ceiling_micros, workspace_spent_micros;
	int64_t daily_ceiling_micros, daily_spent_micros;
	int64_t reserved_total_micros;  /* every request in flight */
	int ncircuits;                  /* models whose breaker is open or half-open */
	struct stats_circuit circuit[STATS_MAX_CIRCUITS];
};

policy_t *policy_new(const struct policy_options *o);
/* Wake every wait (pacing, backoff) and make them give up; call before
 * gateway_stop so no connection thread sleeps in a hook. */
void policy_shutdown(policy_t *p);
void policy_free(policy_t *p);

/* The gateway hooks (user = p). */
void policy_hooks(policy_t *p, struct gateway_policy *out);

/* Register a gateway route (call right after gateway_add_route). */
void policy_add_route(policy_t *p, int route, const struct policy_route_config *rc);

/* Run-time changes (thread-safe). micros < 0 removes the ceiling, 0 blocks. */
void policy_set_pane_ceiling(policy_t *p, int route, int64_t micros);
void policy_set_pane_ceiling_tokens(policy_t *p, int route, int64_t tokens);
void policy_set_ceiling(policy_t *p, int64_t micros);          /* workspace */
void policy_set_daily_ceiling(policy_t *p, int64_t micros);
/* Force a model for a route's requests (the `f` key); NULL or "" clears. */
void policy_set_model_override(policy_t *p, int route, const char *model);
/* Returns 0, -1 for an unknown route. */
int policy_get_state(policy_t *p, int route, struct policy_route_state *out);

/* ---- pure helpers, exposed for tests ---- */

/* Full jitter backoff: rand(0, min(cap, base * 2^attempt)) ms; r in [0, 1). */
int64_t policy_backoff_ms(int base_ms, int cap_ms, int attempt, double r);

/* Introspection for tests: requests waiting for key_hash's pacing. */
int policy_waiting(policy_t *p, const char *key_hash);

#endif
