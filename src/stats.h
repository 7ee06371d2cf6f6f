/*
 * stats: thread-safe counters per route (pane) and in total, written by the
 * gateway threads and read by the UI as a snapshot. Every change bumps a
 * version and wakes the UI through a wake fd (an eventfd or pipe write end).
 * Also keeps tokens per minute for the last 30 minutes per route (sparkline)
 * and recent cost for the burn rate.
 */
#ifndef TOKMUX_STATS_H
#define TOKMUX_STATS_H

#include <stdint.h>

#include "model.h"
#include "usage.h"

#define STATS_MAX_ROUTES 16
#define STATS_HISTORY_MIN 30
#define STATS_MAX_SUBAGENTS 4       /* subagents kept per route (the most recent) */
#define STATS_AGENT_ID_MAX 48       /* an agent's session or subagent id, with its NUL */

/* What the policy reports per route
 * (ceilings, pacing, circuit skips), copied into snapshots for the sidebar.
 * Ceilings are -1 when there is none (stats_new sets that). */
struct stats_route_policy {
	int64_t ceiling_micros;     /* pane ceiling (in total: the workspace ceiling) */
	int64_t ceiling_tokens;     /* token ceiling of a pane, -1 none */
	int64_t spent_micros;       /* settled spend the ceiling counts */
	int64_t reserved_micros;    /* in-flight worst cases */
	int64_t spent_tokens, reserved_tokens;
	int warn;                   /* past the soft warning threshold (warn_at) */
	int blocked;                /* a zero ceiling stops every request */
	int downgraded;             /* past downgrade_at: requests go to a cheaper model */
	char model_override[MODEL_ID_MAX]; /* model forced at run time, "" none */
	int64_t paced;              /* requests that waited for their key's rate limit */
	int64_t pacing;             /* requests waiting now */
	int64_t circuit_skips;      /* sent straight to a fallback by an open circuit */
};

/*
 * What a route's agent is doing, as its traffic says (the gateway's truth
 * for the pane's state): a request in flight means working; the last
 * request of the agent itself (not a subagent's) that finished, and why
 * the model stopped, say whether its turn is over or it waits on a tool.
 */
struct stats_activity {
	int64_t last_begin_ms;      /* util_now_ms() when the latest request began (any), 0 never */
	int64_t last_end_ms;        /* when the agent's own latest request of its conversation
	                             * finished (not a subagent's, not a helper's), 0 never */
	char last_stop[24];         /* its stop reason (usage.h), "" none or unknown */
	int last_status;            /* its status to the agent (0: transport error) */
	int last_refused;           /* it was refused by a ceiling */
	char session[STATS_AGENT_ID_MAX];  /* the agent's session id (x-claude-code-session-id), "" none */
	char key_hash[17];          /* the account (API key or token hash) of its latest request */
	int conversation;           /* a request with tools was seen: helpers (no tools) are apart */
};

/* Traffic of one subagent (x-claude-code-agent-id) under its route. */
struct stats_subagent {
	char id[STATS_AGENT_ID_MAX];  /* "" unused slot */
	int64_t requests;            /* finished */
	int64_t inflight;
	int64_t tokens;              /* every kind, as usage_total_tokens() */
	int64_t cost_micros;
	int64_t last_ms;             /* util_now_ms() of its latest request event */
};

struct stats_counts {
	int64_t requests;        /* finished requests (incl. refused) */
	int64_t inflight;
	int64_t ok_2xx;
	int64_t err_429;         /* 429 responses seen from upstream (incl. retried ones) */
	int64_t err_529;         /* 529 + overloaded_error in a 200 stream */
	int64_t err_4xx;         /* other 4xx */
	int64_t err_5xx;         /* other 5xx and transport errors */
	int64_t refused;         /* refused by tokmux policy (ceilings) */
	int64_t clamped;         /* sent with a lower output limit to fit a ceiling */
	int64_t retries;
	int64_t fallbacks;
	int64_t input_tokens, output_tokens, cache_read_tokens;
	int64_t cache_write_5m_tokens, cache_write_1h_tokens;
	int64_t cost_micros;     /* settled cost */
	int64_t reserved_micros; /* in-flight reservations (estimates) */
	int64_t unpriced;        /* requests whose model had no price */
	char last_model[MODEL_ID_MAX];
	char last_error[128];
	int64_t last_activity_ms; /* util_now_ms() of the last request event */
	int64_t tokens_per_min[STATS_HISTORY_MIN]; /* [0] = current minute */
	struct stats_route_policy policy;   /* ceilings, pacing, circuit skips */
	char last_model_asked[MODEL_ID_MAX]; /* differs from last_model after a fallback */
	struct stats_activity act;          /* routes only (zero in the total) */
	struct stats_subagent sub[STATS_MAX_SUBAGENTS];   /* routes only, most recent first
	                                     * in snapshots; unused slots have id "" */
	char main_model[MODEL_ID_MAX];       /* used by the last request that carried tools:
	                                      * the conversation's model; "" none yet */
	char main_model_asked[MODEL_ID_MAX];
	char helper_model[MODEL_ID_MAX];     /* used by the last request without tools
	                                      * (titles, summaries); "" none */
};

/* One finished request, as reported by the gateway. */
struct stats_result {
	int route;
	int status;               /* final HTTP status given to the agent (0 = transport error) */
	const char *model_used;
	struct usage usage;
	int64_t cost_micros;
	int priced;
	int n429, n529;           /* upstream 429 / 529 seen while serving it (incl. retried) */
	int retries, fallbacks;
	int refused;              /* refused by policy */
	const char *error;        /* one-line error for the sidebar, or NULL */
	const char *model_asked;  /* the model the agent asked for, or NULL */
	const char *stop_reason;  /* why the model stopped (usage.h), or NULL */
	const char *session;      /* the agent's session id, or NULL */
	const char *subagent;     /* the subagent that sent it, or NULL: the agent itself */
	const char *key_hash;     /* the hash of its API key or token, or NULL */
	int64_t out_limit;        /* output limit sent upstream, 0 unknown */
	int helper;               /* 1: a request without tools (a title, a summary), 0: the
	                           * conversation's (it carries the agent's tools), -1 unknown */
	int64_t clamped_from;     /* > 0: the limit asked, lowered to out_limit to fit a ceiling */
};

/* Workspace-wide policy state. */
#define STATS_MAX_CIRCUITS 8
struct stats_circuit {
	char model[MODEL_ID_MAX];
	int state;                  /* 0 closed, 1 open, 2 half-open (one trial request) */
	double open_until;          /* UNIX time, while open */
	int64_t opened;             /* times it opened */
};

struct stats_policy_info {
	int64_t daily_ceiling_micros;   /* -1 none */
	int64_t daily_spent_micros;     /* today: the ledger at start-up, plus since */
	double warn_at;                 /* soft warning fraction */
	struct stats_circuit circuit[STATS_MAX_CIRCUITS];  /* models with 529s lately */
	int ncircuits;
	int pacing_keys;                /* API keys with requests waiting now */
	double pacing_until;            /* latest "not before" among them, UNIX time */
};

/* The ledger as its writer last said (ledger_health): shown at once. */
struct stats_ledger {
	int failing;                    /* lines cannot be written: held in memory */
	int error;                      /* errno of the last failure */
	int64_t held, lost;             /* lines waiting; lines dropped past the bound */
};

/* The team budget as the sidebar's team line shows it (team_line.c). */
struct stats_team {
	int active;                 /* a team budget applies to this process's requests */
	int shared;                 /* the store is shared (Redis), not this process's */
	int fail_open;              /* --budget-fail-open */
	int reachable;              /* the store answered the last read */
	int read;                   /* at least one read succeeded */
	char team[64], member[64];
	char error[160];            /* why it is unreachable ("" none; never a password) */
	char where[96];             /* budget_where: "redis 127.0.0.1:6379/0" (no password) */
	char period[8];             /* the binding period: "day", "week", "month" */
	int64_t spent, inflight;    /* the team's in that period */
	int64_t ceiling;            /* -1 none */
	int64_t member_spent;       /* this member's in that period */
	int64_t member_ceiling;     /* -1 none */
};

struct stats_snapshot {
	uint64_t version;
	int nroutes;
	struct stats_counts route[STATS_MAX_ROUTES];
	struct stats_counts total;
	int64_t cost_last_10min_micros;  /* for burn rate */
	struct stats_policy_info policy; /* workspace-wide policy state */
	struct stats_ledger ledger;
	struct stats_team team;          /* the team line */
};

typedef struct stats stats_t;

/* wake_fd: written (8 bytes, eventfd-compatible) on every change; -1 for none. */
stats_t *stats_new(int nroutes, int wake_fd);
void stats_free(stats_t *s);
int stats_add_route(stats_t *s);  /* returns new route index, -1 when full */
/* Grow to at least n routes (n > STATS_MAX_ROUTES: to that); returns how
 * many there are. Concurrent callers may ask in any order. */
int stats_ensure_routes(stats_t *s, int n);

/* Counting rules of stats_end: err_429 += n429 and err_529 +=
 * n529; a final status of 429 / 529 counts once more only if n429 / n529 was
 * 0; a 2xx whose usage.error_type is "overloaded_error" (mid-stream error)
 * adds 1 to err_529, so the gateway must NOT also count that in n529.
 * refused -> refused (not err_4xx); status 0 -> err_5xx. unpriced counts
 * requests with usage whose model had no price. tokens_per_min sums
 * usage_total_tokens(). A route outside 0..nroutes-1 counts in total only. */
void stats_begin(stats_t *s, int route, int64_t reserved_micros);
/* The same for a request of subagent (NULL or "": the agent itself); its
 * stats_end must carry the same subagent. */
void stats_begin_agent(stats_t *s, int route, int64_t reserved_micros, const char *subagent);
void stats_end(stats_t *s, const struct stats_result *r, int64_t reserved_micros);
void stats_snapshot(stats_t *s, struct stats_snapshot *out);
uint64_t stats_version(stats_t *s);

/* The same with an explicit util_now_ms() clock,
 * so tests can drive the per-minute rings. */
void stats_end_at(stats_t *s, const struct stats_result *r, int64_t reserved_micros, int64_t now_ms);
void stats_snapshot_at(stats_t *s, struct stats_snapshot *out, int64_t now_ms);

/* The policy pushes its view (copied; bumps
 * the version and wakes the UI). route -1 sets the total's. */
void stats_set_route_policy(stats_t *s, int route, const struct stats_route_policy *p);
void stats_set_policy(stats_t *s, const struct stats_policy_info *p);
/* The ledger's state (bumps the version and wakes the UI). */
void stats_set_ledger(stats_t *s, const struct stats_ledger *l);
/* The team line's view (copied; bumps the version and wakes the UI only
 * when it changed). */
void stats_set_team(stats_t *s, const struct stats_team *t);
/* The last STATS_RECENT_MAX finished requests
 * of each route, for the "last requests" overlay. */
#define STATS_RECENT_MAX 20

struct stats_recent {
	double time;              /* UNIX time it finished */
	char model[MODEL_ID_MAX];  /* model used */
	char model_asked[MODEL_ID_MAX];
	int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_tokens;
	int64_t cost_micros;
	int priced;
	int status;
	int refused;
	int retries, fallbacks, n429, n529;
	int64_t out_limit, clamped_from;   /* clamped_from > 0: the output limit was lowered */
};

/* Copy route's recent requests, newest first, into out[max]; returns how
 * many (0 for an unknown route). */
int stats_recent(stats_t *s, int route, struct stats_recent *out, int max);

#endif
