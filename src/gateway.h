/*
 * gateway: the local metering proxy. Listens on 127.0.0.1, routes
 * /p/<token>/... to a route (pane), forwards to the Anthropic or OpenAI
 * upstream with streaming pass-through, keeps each attempt's rate-limit
 * state, and hands every finished generation to the meter (usage, cost,
 * stats, ledger). Also the policy seam: the hooks a policy plugs in and
 * the structs they see (a request, an attempt, an outcome, a refusal).
 */
#ifndef TOKMUX_GATEWAY_H
#define TOKMUX_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ledger.h"
#include "pricing.h"
#include "ratelimit.h"
#include "reqbody.h"
#include "resume.h"
#include "stats.h"
#include "upstream.h"
#include "usage.h"

#define GATEWAY_MAX_ROUTES STATS_MAX_ROUTES
#define GATEWAY_TOKEN_LEN 32            /* hex chars */
#define GATEWAY_MAX_BODY (64u << 20)    /* request bodies above this get 413 */

typedef struct gateway gateway_t;

struct gateway_route {
	const char *name;
	const char *agent_cmd;
};

/* ---- policy seam (policy_hooks() in policy.h fills a gateway_policy) ---- */

/* One request as the policy sees it. The gateway owns every pointer. */
struct gateway_call {
	int route;
	const char *route_name;
	enum api_kind api;
	const char *model_asked;     /* "" if the body had no "model" */
	const char *key_hash;        /* "" if the request had no key */
	const char *body;            /* request body of the next attempt: never log it */
	size_t body_len;
	const struct reqbody *request; /* the agent's body as read (model, limits, images);
	                              * NULL if not read. Not updated when the body is replaced */
	int attempt;                 /* 0 for the first upstream attempt */
	int n429, n529;              /* upstream 429 / 529 so far */
	int fallbacks;               /* the policy counts its model switches here */
	int64_t reserved_micros;     /* set by admit(): passed to stats_begin/end */
	void *policy_data;           /* free slot for the policy */
	char *new_body;              /* admit() may set a malloc'd replacement body for the
	                              * first attempt (e.g. another model); the gateway takes it */
	size_t new_body_len;
	int circuit;                 /* the policy sets 1 when an open circuit breaker sent
	                              * this request to a fallback model (goes to the ledger) */
	int64_t out_limit;           /* the policy sets the output limit sent upstream (per
	                              * choice); 0: not set */
	int64_t clamped_from;        /* ... and, when it lowered it to fit a ceiling, the limit
	                              * the agent asked for (or the default); 0: not clamped */
	int nowait;                  /* set by the gateway when it calls admit() or attempt()
	                              * in a libmicrohttpd thread, which must never wait: a
	                              * hook that would wait (pacing, backoff, a stream's first
	                              * event not there yet) returns GATEWAY_LATER at once,
	                              * with nothing changed, and is called again with
	                              * nowait 0 in a thread that may wait */
};

#define GATEWAY_LATER 2              /* admit()/attempt(): "call me again where I may wait" */

/* One upstream attempt as the policy sees it: not the transfer itself. */
struct gateway_attempt {
	int status;                  /* HTTP status, 0 when upstream could not be reached */
	/* Its rate-limit headers, parsed once and already merged into the
	 * rate-limit table under the request's key (updated = when); NULL if
	 * it had none. */
	const struct rl_state *ratelimit;
	/* A response header by name (case-insensitive), NULL if absent. */
	const char *(*header)(const struct gateway_attempt *a, const char *name);
	/* Copy up to max body bytes that have arrived, without consuming them
	 * (the agent still gets them), waiting up to timeout_ms until min are
	 * there or the body has ended. *ended: the body had ended before the
	 * copy, so buf holds all of it (up to max). Returns the count, -1 once
	 * the transfer was aborted. */
	ssize_t (*peek)(const struct gateway_attempt *a, char *buf, size_t max, size_t min,
	    int timeout_ms, int *ended);
	void *ctx;                   /* the gateway's */
};

/* Final outcome of an admitted request, for settle(). */
struct gateway_outcome {
	int status;                  /* status given to the agent (502/504 for transport errors) */
	const char *model_used;
	const struct usage *usage;
	int64_t cost_micros;
	int priced;
	int client_gone;             /* the agent disconnected before the end */
	int no_reply;                /* the request went upstream and no status came back
	                              * (the agent hung up first, or the transfer failed) */
	int64_t charged_micros;      /* what it counts against the ceilings: the policy's
	                              * charge(), or cost_micros without one */
};

/* How admit() refuses a request. */
struct gateway_refusal {
	int status;                  /* e.g. 402, 400, 429 */
	char type[48];               /* error type, e.g. "permission_error" */
	char message[256];           /* sent in the API's error shape */
	int retry_after;             /* seconds, > 0 adds a retry-after header */
	char code[48];               /* OpenAI shape's "code" ("" : null) */
};

struct gateway_policy {
	void *user;
	/* After the request body is read, before stats_begin. Return 0 to
	 * forward (optionally setting c->reserved_micros), -1 to refuse as *r
	 * says (also adds x-should-retry: false unless retry_after > 0), or
	 * with c->nowait GATEWAY_LATER (see gateway_call.nowait). */
	int (*admit)(void *user, struct gateway_call *c, struct gateway_refusal *r);
	/* After each attempt's status and headers are known, before any byte
	 * goes to the agent; may sleep for backoff. Return 1 to discard this
	 * attempt and send again: *new_body (malloc'd, the gateway frees it)
	 * may replace the body (e.g. another model), NULL keeps it. Return 0
	 * to give this response to the agent; with c->nowait, GATEWAY_LATER
	 * instead of waiting. */
	int (*attempt)(void *user, struct gateway_call *c, const struct gateway_attempt *a,
	    char **new_body, size_t *new_len);
	/* Once per admitted request, after the last byte (or the disconnect),
	 * before the ledger record: what it counts against the ceilings (the
	 * outcome's charged_micros is not set yet). NULL: its cost. */
	int64_t (*charge)(void *user, const struct gateway_call *c, const struct gateway_outcome *o);
	/* Exactly once per admitted request, after the last byte (or the
	 * disconnect), after stats_end and the ledger record. */
	void (*settle)(void *user, const struct gateway_call *c, const struct gateway_outcome *o);
	/* 1: charge() and settle() may make a network round trip (a Redis
	 * budget store): the gateway settles requests in a pool thread, not
	 * in its event loop. */
	int settle_waits;
};

struct gateway_options {
	int port;                          /* 0 = a free port */
	const char *anthropic_upstream;    /* NULL: https://api.anthropic.com */
	const char *openai_upstream;       /* NULL: https://api.openai.com */
	const pricing_t *pricing;          /* may be NULL: everything unpriced */
	stats_t *stats;                    /* may be NULL */
	ledger_t *ledger;                  /* may be NULL */
	rl_table_t *ratelimits;            /* may be NULL */
	const struct gateway_policy *policy; /* may be NULL; copied */
	int idle_timeout_s;                /* upstream idle limit, 0: UPSTREAM_IDLE_TIMEOUT_S */
	int connect_timeout_ms;            /* 0: UPSTREAM_CONNECT_TIMEOUT_MS */
	const char *session;               /* the ledger's "session" of every record, NULL none;
	                                    * the caller's, kept until gateway_stop */
	size_t body_memory;                /* bytes all request bodies may hold together
	                                    * (past it: 503 with retry-after); 0: the default,
	                                    * GWGUARD_BODY_MEMORY_DEFAULT */
	const char *metrics_token;         /* /metrics needs it (bearer or ?token=); NULL:
	                                    * anyone who can connect reads /metrics */
};

/* Start serving. NULL with a malloc'd *err on failure (e.g. port taken). */
gateway_t *gateway_start(const struct gateway_options *o, char **err);
int gateway_port(const gateway_t *g);

/* Add a route (pane). Returns its index (the stats route index when stats
 * are given) and writes its random token (32 hex chars) into token_out;
 * -1 when full. Thread-safe; may be called while serving. */
int gateway_add_route(gateway_t *g, const char *name, const char *agent_cmd, char token_out[65]);
int gateway_route_count(const gateway_t *g);

/* Where a route's pane works now: its git branch and worktree (each NULL
 * or "" for none), written into the ledger record of every request that
 * settles from now on. Thread-safe (copies under the route lock). */
void gateway_route_set_where(gateway_t *g, int route, const char *branch, const char *worktree);

/* Base URLs for a route's agent environment:
 * ANTHROPIC_BASE_URL = http://127.0.0.1:PORT/p/<token>
 * OPENAI_BASE_URL    = http://127.0.0.1:PORT/p/<token>/v1 */
void gateway_route_env(const gateway_t *g, int route, char *anthropic_base, size_t alen,
    char *openai_base, size_t olen);

/* The conversation route's agent named in its last request that named one
 * (resume.h: Claude Code's x-claude-code-session-id, ...): 1 with agent
 * ("claude") and id filled, 0 if none yet. Thread-safe. */
int gateway_route_conversation(gateway_t *g, int route, char agent[RESUME_AGENT_MAX],
    char id[RESUME_ID_MAX]);

/* Stop accepting, end in-flight transfers (settling them: stats and ledger
 * writes finish before this returns) and free. The ledger, stats, pricing
 * and rate-limit table stay the caller's. */
void gateway_stop(gateway_t *g);

/* Pure helpers, exposed for tests. */
/* Upstream path for a route-relative path: "/messages" -> "/v1/messages". */
char *gateway_upstream_path(const char *path);
/* 1 if the request goes to the OpenAI upstream (see gateway.c for the rule). */
int gateway_is_openai(const char *path, int has_x_api_key, int has_bearer, int has_anthropic_version);
/* NULL if a route-relative path ("/v1/messages") is canonical, else what
 * is wrong with it: an empty, "." or ".." segment, a percent-encoded or
 * unusual character. */
const char *gateway_path_problem(const char *path);
/* What the gateway does with METHOD upath (after gateway_upstream_path). */
enum { GATEWAY_PATH_METERED, GATEWAY_PATH_PASS, GATEWAY_PATH_REFUSED };
int gateway_path_kind(const char *method, const char *upath, size_t body_len);
/* Prometheus text for /metrics. malloc'd. */
char *gateway_metrics(gateway_t *g);


#endif
