/*
 * budget: the budget store. Spend ceilings over a set of scopes (pane,
 * member, team; each per day, week or month; optionally per model
 * family), enforced by leases: reserve an amount in every scope of a
 * request at once, settle it to the real cost, or release it. Two back
 * ends behind one interface: in-process memory (budget_mem, the default)
 * and Redis (budget_redis, shared live by every member of a team).
 *
 * Money is integer micro-USD everywhere. A scope is a counter key plus a
 * ceiling; the counter holds spent and in-flight (reserved) money. A
 * reservation is a range: at least min, at most max; the store grants the
 * largest amount <= max that fits every scope, or refuses when min does
 * not fit, and says which scope binds. Reservations are leases: a worker
 * thread renews this process's leases every lease/3, and a lease that is
 * not renewed (its holder was killed) expires and is swept (its reserved
 * money returned) by the next reserve. Settles and releases that cannot
 * reach the store are queued and retried; settle is idempotent in the
 * store, so a retry never counts twice.
 *
 * Fail closed: when the store cannot be reached every call returns
 * BUDGET_UNREACHABLE with "team budget store unreachable at HOST:PORT";
 * refusing or serving the request then is the caller's choice. Callers
 * must ignore SIGPIPE (tokmux does in main). Thread-safe.
 */
#ifndef TOKMUX_BUDGET_H
#define TOKMUX_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "period.h"

#define BUDGET_KEY_MAX 128              /* scope key or limit name, with its NUL */
#define BUDGET_NAME_MAX 64              /* team or member name, with its NUL */
#define BUDGET_MAX_SCOPES 24            /* scopes of one request */
#define BUDGET_MAX_MICROS 1000000000000000LL   /* $1e9: larger amounts are refused */
#define BUDGET_NONE (-1)                /* ceiling: none (the scope is only counted) */
#define BUDGET_UNSET (-2)               /* budget_set_ceiling: drop the stored value */
#define BUDGET_ERR_MAX 256

/* Defaults (docs/TEAM.md). */
#define BUDGET_LEASE_MS 30000           /* a lease lives this long unless renewed */
#define BUDGET_TIMEOUT_MS 1000          /* connect / command timeout (Redis) */
#define BUDGET_POOL 4                   /* Redis connections per store */
#define BUDGET_BACKOFF_MIN_MS 100       /* reconnect backoff, doubling ... */
#define BUDGET_BACKOFF_MAX_MS 5000      /* ... up to this */
#define BUDGET_KEEP_S 3600              /* a settled lease is remembered this long */
#define BUDGET_GRACE_S 86400            /* period counters live this long past their end */
#define BUDGET_MAX_PENDING 4096         /* queued settles / releases */

enum budget_rc {
	BUDGET_OK = 0,
	BUDGET_REFUSED = 1,                 /* min does not fit: see binding */
	BUDGET_UNREACHABLE = -1,            /* the store cannot be reached (fail closed) */
	BUDGET_EINVAL = -2,                 /* bad argument or unexpected store reply */
};

typedef struct budget budget_t;
typedef struct budget_lease budget_lease_t;

struct budget_options {
	const char *url;        /* "memory" (NULL: the same) or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] */
	const char *password;   /* used when the URL has none; NULL: $TOKMUX_REDIS_PASSWORD */
	const char *team;       /* NULL: "default" (names the Redis keys) */
	const char *member;     /* NULL: "default" (last activity) */
	int lease_ms;           /* 0: BUDGET_LEASE_MS; memory: 0 never expires */
	int renew_ms;           /* 0: lease_ms / 3; -1: never renew (tests) */
	int retry_ms;           /* pending settles retried this often; 0: BUDGET_BACKOFF_MIN_MS, -1: only by budget_flush */
	int timeout_ms;         /* 0: BUDGET_TIMEOUT_MS */
	int pool;               /* 0: BUDGET_POOL */
	int backoff_min_ms, backoff_max_ms;   /* 0: defaults */
	int keep_s;             /* 0: BUDGET_KEEP_S */
	/* memory store clock (UNIX seconds) for tests; NULL: util_wall. Redis
	 * uses its own clock (TIME) for leases. */
	double (*clock)(void *user);
	void *clock_user;
};

/* One scope of a request. Build with budget_scope_period/budget_scope_plain. */
struct budget_scope {
	char key[BUDGET_KEY_MAX];       /* counter: "team:day:2026-12-02", "member:alice:week:2026-W49:opus" */
	char limit[BUDGET_KEY_MAX];     /* stored-ceiling name ("team:day"); "" none */
	int64_t ceiling;                /* micros, BUDGET_NONE: none; a stored ceiling wins */
	int64_t expire_at;              /* UNIX s after which the counter is dropped; 0 never */
};

/* What budget_reserve did. */
struct budget_grant {
	int64_t granted;                /* BUDGET_OK: reserved micros, min <= granted <= max */
	int binding;                    /* scope that refused, or clamped below max; -1 none */
	int64_t spent, inflight, ceiling;   /* that scope's, before this request */
	char error[BUDGET_ERR_MAX];     /* BUDGET_UNREACHABLE / EINVAL: why (never a password) */
	int maybe_ran;                  /* UNREACHABLE: the reply was lost, the store may have
	                                 * granted it (budget_reserve then releases it later) */
};

/* A scope as budget_read sees it. */
struct budget_state {
	int64_t spent, inflight;
	int64_t ceiling;                /* in force: stored, else the scope's; BUDGET_NONE */
	int stored;                     /* 1: the ceiling comes from the store (budget_set_ceiling) */
	int64_t requests;               /* settled requests */
	int64_t refused;                /* reserves refused while this scope applied */
	int64_t expired;                /* leases swept from it (their holder stopped renewing) */
};

struct budget_member {
	char name[BUDGET_NAME_MAX];
	double last;                    /* UNIX s of its last reserve, refusal or settle */
};

struct budget_ceiling {
	char limit[BUDGET_KEY_MAX];
	int64_t micros;                 /* BUDGET_NONE: explicitly none */
};

/* This process's view of the store, for the sidebar. */
struct budget_health {
	int reachable;                  /* the last call reached the store */
	char error[BUDGET_ERR_MAX];     /* the last failure, "" none */
	int live;                       /* leases held */
	int pending;                    /* settles / releases waiting for the store */
	int64_t lost_leases;            /* leases found expired when renewed */
	int64_t dropped;                /* settles dropped (queue full, or at close): spend not recorded */
};

/* Open a store. The Redis store connects lazily: an unreachable server
 * is not an error here (see budget_ping). NULL with a malloc'd *err for
 * a bad URL, team or member name. */
budget_t *budget_open(const struct budget_options *o, char **err);
/* Stop the worker, release the leases still held (their handles are
 * freed), flush what is queued (bounded by the timeout), free. */
void budget_close(budget_t *b);
/* "memory" or "redis 127.0.0.1:6379/2": where, never the password. */
const char *budget_where(const budget_t *b);

/* Reserve at least min, at most max micros in every scope at once. OK
 * with *lease (give it to budget_settle or budget_release), REFUSED
 * (g->binding, spent, inflight, ceiling say why), UNREACHABLE or EINVAL
 * (g->error). Sweeps expired leases first. n <= BUDGET_MAX_SCOPES. */
int budget_reserve(budget_t *b, const struct budget_scope *s, int n, int64_t min, int64_t max,
    struct budget_grant *g, budget_lease_t **lease);
/* Move the lease from reserved to actual micros spent in its scopes, and
 * free the lease. OK, or UNREACHABLE: queued, retried in the background
 * (the store counts it once). */
int budget_settle(budget_t *b, budget_lease_t *lease, int64_t actual);
/* Return the reservation and free the lease. OK or UNREACHABLE (queued). */
int budget_release(budget_t *b, budget_lease_t *lease);
int64_t budget_lease_amount(const budget_lease_t *l);
/* 1 if the store swept the lease (not renewed in time): its money may
 * have been granted to others; settle still counts the spend. */
int budget_lease_lost(budget_t *b, const budget_lease_t *l);
/* Add micros spent to every scope without a lease (re-seeding from a
 * ledger). OK, UNREACHABLE or EINVAL. */
int budget_charge(budget_t *b, const struct budget_scope *s, int n, int64_t micros);

/* Renew every live lease now (the worker does this every renew_ms).
 * Returns OK or UNREACHABLE. */
int budget_renew(budget_t *b);
/* Retry the queued settles and releases now; returns how many remain. */
int budget_flush(budget_t *b);
/* Reach the store (connect if needed). OK or UNREACHABLE, message in err. */
int budget_ping(budget_t *b, char *err, size_t len);
void budget_health(budget_t *b, struct budget_health *h);

/* Display. out[i] for s[i]; OK, UNREACHABLE or EINVAL (err). */
int budget_read(budget_t *b, const struct budget_scope *s, int n, struct budget_state *out,
    char *err, size_t len);
/* Members seen by the store, most recent first. Count (<= max), or a
 * negative budget_rc with err. */
int budget_members(budget_t *b, struct budget_member *out, int max, char *err, size_t len);
/* Stored ceilings. Count (<= max), or a negative budget_rc with err. */
int budget_ceilings(budget_t *b, struct budget_ceiling *out, int max, char *err, size_t len);
/* Store a ceiling for every member's next request: micros >= 0, BUDGET_NONE
 * (none, overriding the configured one) or BUDGET_UNSET (back to each
 * caller's configured ceiling). OK, UNREACHABLE or EINVAL. */
int budget_set_ceiling(budget_t *b, const char *limit, int64_t micros, char *err, size_t len);

/* ---- scopes ---- */

/* 1 if s is a valid team or member name: 1-63 of [A-Za-z0-9._-]. */
int budget_name_ok(const char *s);
/* 1 if s may be a scope key or limit name: 1-127 of [A-Za-z0-9._:@-]. */
int budget_key_ok(const char *s);
/* owner's counter for the period of kind k containing now: key
 * "OWNER:PERIOD:LABEL[:FAMILY]", limit "OWNER:PERIOD[:FAMILY]", expiring
 * BUDGET_GRACE_S after the period. owner: "team", "member:alice". family
 * NULL or "": all models. 0, or -1 if the result is not a valid key. */
int budget_scope_period(struct budget_scope *s, const char *owner, enum period_kind k,
    const struct period_tz *tz, double now, const char *family, int64_t ceiling);
/* A counter that never rolls over and has no stored ceiling ("pane:3"). */
int budget_scope_plain(struct budget_scope *s, const char *key, int64_t ceiling);

/* ---- for the back ends (budget_mem, budget_redis) ----
 * Each call gets a lease id (32 hex chars) or scopes already checked;
 * errors go to err (never a secret). A back end is thread-safe. */
struct budget_ops {
	int (*reserve)(void *impl, const char *id, const struct budget_scope *s, int n,
	    int64_t min, int64_t max, struct budget_grant *g);
	/* settle: a lease already swept still adds actual; Redis: idempotent
	 * per id (memory calls never fail, so nothing retries them);
	 * count: requests it stands for (1; budget_charge: 0) */
	int (*settle)(void *impl, const char *id, const struct budget_scope *s, int n,
	    int64_t actual, int count, char *err, size_t len);
	int (*release)(void *impl, const char *id, char *err, size_t len);
	/* renew: lost[i] = 1 for ids the store no longer holds */
	int (*renew)(void *impl, const char *const *ids, int n, int *lost, char *err, size_t len);
	int (*read)(void *impl, const struct budget_scope *s, int n, struct budget_state *out,
	    char *err, size_t len);
	int (*members)(void *impl, struct budget_member *out, int max, char *err, size_t len);
	int (*ceilings)(void *impl, struct budget_ceiling *out, int max, char *err, size_t len);
	int (*set_ceiling)(void *impl, const char *limit, int64_t micros, char *err, size_t len);
	int (*ping)(void *impl, char *err, size_t len);
	const char *(*where)(void *impl);
	void (*free)(void *impl);
};

/* Options with defaults filled in (budget_open passes these on). */
void budget_defaults(const struct budget_options *in, struct budget_options *out);

#endif
