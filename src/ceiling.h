/*
 * ceiling: the spend ceilings a request must fit, enforced through the
 * budget store (budget.h): per pane or route, per workspace and per day
 * in USD, plus the scopes the core adds per request (a team's, a
 * member's); per pane in tokens (kept here). A request reserves a range,
 * from its cost with the smallest output limit tokmux sends (the floor)
 * up to its worst case; it gets the largest amount that fits every scope
 * and is sent with the output limit that amount pays for, so the upstream
 * can never bill more output than reserved. Only below the floor is it
 * refused, with a text that names the scope that binds. When it ends it is
 * charged what it cost, or a conservative figure when the provider did
 * not say (docs/POLICY.md), and its route learns its tokens per byte,
 * which tightens the input bound of its next requests.
 */
#ifndef TOKMUX_CEILING_H
#define TOKMUX_CEILING_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "gateway.h"
#include "pricing.h"
#include "reqbody.h"

#define CEILING_MIN_OUTPUT_TOKENS 1024  /* default floor of the output limit */
#define CEILING_THINKING_MIN 1025       /* floor when thinking is on (its budget is >= 1024 and
                                         * below max_tokens) */
#define CEILING_RATIO_MIN_BYTES 4096    /* smaller requests are not measured */
#define CEILING_RATIO_WINDOW 32         /* a route's ratio: the highest of its last N */
#define CEILING_MAX_SCOPES 16           /* of one request, the core's included */
#define CEILING_PLAIN_KEEP_S (400 * 86400)  /* a shared store drops a process's plain
                                         * counters (pane, workspace) this long after
                                         * it started */

typedef struct ceiling ceiling_t;
typedef struct ceiling_hold ceiling_hold_t;

/* One scope of a request: the store's counter and ceiling, and how a
 * refusal names it: "NAME reached its $5.00 WHAT", "this request would
 * exceed WHOSE $5.00 WHAT: ..., HINT". */
struct ceiling_scope {
	struct budget_scope s;
	char name[96];              /* "pane 2 (claude)", "this workspace", "today's spend" */
	char whose[104];            /* "pane 2 (claude)'s", "this workspace's", "the" */
	char what[32];              /* "ceiling", "daily ceiling" */
	char hint[128];             /* "Raise it with Ctrl-g b or --pane-ceiling." */
};

/* What the core is told about a request when it adds scopes to it. */
struct ceiling_request {
	int route;                  /* gateway route */
	int number;                 /* the route's 1-based number */
	const char *name, *agent;   /* never NULL */
	const char *model;          /* the model it goes to ("" if none) */
	double now;                 /* UNIX seconds, the policy's clock */
};

/* Scopes the core adds to every request, after the pane, workspace and day
 * scopes (issue 12: team, member, their periods). Returns how many it
 * wrote to out[0..max-1], or -1 to refuse the request (out[0].hint then
 * holds the reason). */
typedef int (*ceiling_scopes_fn)(void *user, const struct ceiling_request *rq,
    struct ceiling_scope *out, int max);

struct ceiling_options {
	const pricing_t *pricing;       /* NULL: nothing priced, only token ceilings refuse */
	budget_t *budget;               /* the store (not owned); NULL: a memory store of its own */
	const char *scope_prefix;       /* in front of the pane, workspace and day keys; NULL: "" */
	const char *ledger_path;        /* a memory store starts today's spend from it; NULL: 0 */
	int64_t ceiling_micros;         /* workspace, -1 none (0 blocks) */
	int64_t daily_ceiling_micros;   /* -1 none */
	int64_t min_output_tokens;      /* the floor; 0: CEILING_MIN_OUTPUT_TOKENS */
	double warn_at;                 /* 0: POLICY_WARN_AT's 0.8 */
	const char *unit;               /* "pane" (default) or "route" */
	const char *raise_hint;         /* how to raise a pane's ceiling */
	ceiling_scopes_fn extra_scopes; /* may be NULL */
	void *extra_user;
	int fail_open;                  /* store unreachable: 1 serve (unenforced), 0 refuse */
	double (*clock)(void *user);    /* UNIX seconds; NULL: util_wall */
	void *clock_user;
};

struct ceiling_route_config {
	int number;
	const char *name, *agent;       /* may be NULL */
	int64_t ceiling_micros;         /* -1 none */
	int64_t ceiling_tokens;         /* -1 none */
};

/* A request to admit, as it will be sent. */
struct ceiling_ask {
	int route;
	enum api_kind api;
	const char *model;              /* the model it goes to ("": priced as the dearest) */
	const struct reqbody *rb;       /* the body sent (before its limit is set) */
};

/* What was reserved. */
struct ceiling_grant {
	int64_t micros;                 /* reserved in every money scope */
	int64_t out_limit;              /* output limit to send, per choice */
	int64_t asked;                  /* the limit the body asked for, or the default */
	int clamped;                    /* out_limit < asked */
};

/* A route's figures, for the UI and the downgrade rule. Ceilings -1: none. */
struct ceiling_route_state {
	int64_t ceiling_micros, spent_micros, reserved_micros;
	int64_t ceiling_tokens, spent_tokens, reserved_tokens;
	int warn;                       /* spent + reserved >= warn_at x one of its ceilings */
	int blocked;                    /* a zero ceiling stops every request */
	int64_t measured_ratio_ppm;     /* input tokens per million body bytes; 0: none yet */
};

struct ceiling_totals {
	int64_t workspace_ceiling_micros, workspace_spent_micros;
	int64_t daily_ceiling_micros, daily_spent_micros;
	int64_t reserved_micros;        /* every hold in flight */
	int warn;                       /* past warn_at of the workspace or daily ceiling */
};

/* NULL with a malloc'd *err when the store cannot be opened. */
ceiling_t *ceiling_new(const struct ceiling_options *o, char **err);
void ceiling_free(ceiling_t *c);    /* after every hold was settled or released */

void ceiling_add_route(ceiling_t *c, int route, const struct ceiling_route_config *rc);
/* Run-time changes; a negative value removes the ceiling, 0 blocks. */
void ceiling_set_route(ceiling_t *c, int route, int64_t micros);
void ceiling_set_route_tokens(ceiling_t *c, int route, int64_t tokens);
void ceiling_set_workspace(ceiling_t *c, int64_t micros);
void ceiling_set_daily(ceiling_t *c, int64_t micros);
/* 0, -1 for an unknown route. */
int ceiling_route_state(ceiling_t *c, int route, struct ceiling_route_state *out);
void ceiling_totals(ceiling_t *c, struct ceiling_totals *out);

/* Reserve for a request: 0 with *hold and *g, or -1 with the refusal in
 * *r (status and error type each API's clients show as a spending limit
 * and do not retry; the text names the binding scope, or says the store
 * is unreachable: "team budget store unreachable at HOST:PORT"). With
 * fail_open an unreachable store admits the request unenforced (its
 * spend is charged to the store at settle if it answers by then). Never
 * holds a lock while the store runs. */
int ceiling_reserve(ceiling_t *c, const struct ceiling_ask *a, ceiling_hold_t **hold,
    struct ceiling_grant *g, struct gateway_refusal *r);
/* The body sent came out longer than the one reserved for (re-printed):
 * lower the hold's output limit to what its amount still pays for with
 * rb's input bound. Returns that limit, or -1 if it is below the floor. */
int64_t ceiling_refit(ceiling_t *c, ceiling_hold_t *h, const struct reqbody *rb);
/* The figure a finished request counts against the ceilings: its metered
 * cost when the provider reported its usage in full, else a conservative
 * one (docs/POLICY.md, "What a request is charged"). */
int64_t ceiling_charge(ceiling_t *c, const ceiling_hold_t *h, const struct gateway_outcome *o);
/* Spend o->charged_micros (and the usage's tokens), learn the route's
 * tokens per byte, free the hold. */
void ceiling_settle(ceiling_t *c, ceiling_hold_t *h, const struct gateway_outcome *o);
/* Give the reservation back (refused later, or replaced); frees the hold. */
void ceiling_release(ceiling_t *c, ceiling_hold_t *h);
int64_t ceiling_hold_micros(const ceiling_hold_t *h);

/* The refusal every API's clients show as a spending limit: status, type. */
void ceiling_refusal_shape(enum api_kind api, struct gateway_refusal *r);

/* "$0.12", "$4.999", "$0.0011": dollars to 1/100 of a cent, rounded down
 * (up: up), trailing zeros past the cents dropped (refusal texts). */
void ceiling_fmt_usd(int64_t micros, int up, char *buf, size_t len);
/* "12 345": digits grouped by thousands with a space. */
void ceiling_fmt_count(int64_t v, char *buf, size_t len);

#endif
