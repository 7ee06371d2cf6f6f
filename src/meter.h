/*
 * meter: what happens to a request once it has finished (or was refused):
 * usage -> cost (pricing) -> stats -> the /metrics request count -> one
 * ledger record -> the policy's settle, in that order, so that whatever
 * the policy does next everything is already recorded.
 */
#ifndef TOKMUX_METER_H
#define TOKMUX_METER_H

#include <stdint.h>

#include "gateway.h"
#include "ledger.h"
#include "metrics.h"
#include "pricing.h"
#include "stats.h"
#include "usage.h"

/* Where finished requests go. Any may be NULL; none is owned. */
struct meter {
	const pricing_t *pricing;
	stats_t *stats;
	ledger_t *ledger;
	metrics_t *metrics;
	const struct gateway_policy *policy;   /* settle() of every admitted request */
	const char *session;        /* this process's session id for the ledger, NULL none */
};

/* A finished request as the proxy saw it. Strings are never NULL. */
struct meter_request {
	int route;                  /* gateway route; the ledger's pane is route + 1 */
	int stats_route;            /* -1: counted in the total only */
	const char *route_name, *agent;   /* agent may be NULL */
	enum api_kind api;
	const char *key_hash;       /* "" without a key */
	const char *model_asked;    /* "" if the body named none */
	int helper;                 /* 1: no tools (titles, summaries), 0: the conversation's */
	const struct gateway_call *call;  /* attempts, 429/529s, fallbacks, reservation */
	const struct usage *usage;  /* what the response said (zeroes if nothing) */
	int status;                 /* given to the agent */
	int refused;                /* refused by the policy: not settled with it */
	int client_gone;            /* the agent hung up first */
	int no_reply;               /* it went upstream and no status came back */
	int64_t started_ms;         /* util_now_ms() when the request was forwarded */
	const char *request_id;     /* from the response headers, "" if none */
	const char *error;          /* the proxy's own one-line error, "" if none */
	const char *cut;            /* why the body ended early, "" if it did not */
	const char *branch;         /* the pane's git branch, NULL none */
	const char *worktree;       /* the pane's worktree, NULL none */
	int64_t added_us;           /* latency the gateway added before the response
	                             * headers went to the agent (not upstream's); -1 none */
	int64_t ttfb_us;            /* upstream time to first byte (headers) of the answered
	                             * attempt; -1 none (refused, unreachable) */
	const char *agent_session;  /* the agent's own session id (Claude Code's
	                             * x-claude-code-session-id), "" none */
	const char *subagent;       /* the subagent that sent it (x-claude-code-agent-id), "" none */
	const char *id;             /* its intent's id (meter_intent), NULL: none (refused) */
};

/* A request starts (admitted with reserved_micros, or refused with 0). */
void meter_begin(const struct meter *m, int stats_route, int64_t reserved_micros);
/* The same for a request of subagent (its x-claude-code-agent-id; NULL or
 * "": the agent itself). */
void meter_begin_agent(const struct meter *m, int stats_route, int64_t reserved_micros,
    const char *subagent);

/* It is about to go upstream: the ledger's intent line (route, agent, key
 * hash, model asked, the call's reservation and output limit), so that a
 * kill -9 before it ends still leaves it counted. Writes its id into id
 * ("" without a ledger) for meter_finish's q->id. */
void meter_intent(const struct meter *m, const struct meter_request *q,
    char id[LEDGER_ID_LEN + 1]);

/* It ended: cost, the policy's charge, stats_end, the request count, the
 * ledger record and, unless refused, the policy's settle. */
void meter_finish(const struct meter *m, const struct meter_request *q);

#endif
