/*
 * gwguard: the gateway's bounds that span connections. The memory all
 * request bodies hold together (a budget every connection reserves from
 * before it keeps a byte; past it the request gets 503 with retry-after),
 * and who may read /metrics (the metrics token, as a bearer token or a
 * "token" query parameter). Thread-safe; no libmicrohttpd here, so the
 * rules are unit-tested on their own.
 */
#ifndef TOKMUX_GWGUARD_H
#define TOKMUX_GWGUARD_H

#include <stddef.h>

#define GWGUARD_BODY_MEMORY_DEFAULT ((size_t)256 << 20)  /* all bodies together */
#define GWGUARD_RETRY_AFTER_S 5        /* what a 503 for the budget asks to wait */
#define GWGUARD_TOKEN_LEN 32           /* hex characters of a metrics token */

typedef struct gwguard gwguard_t;

/* budget: bytes all request bodies may hold together, 0: the default.
 * metrics_token: what /metrics asks for (copied); NULL or "": no token
 * needed (the user opted out). */
gwguard_t *gwguard_new(size_t budget, const char *metrics_token);
void gwguard_free(gwguard_t *g);

/* Grow a request's reservation *held to want bytes: 0, or -1 (nothing
 * changed) when the bodies would hold more than the budget. */
int gwguard_body_reserve(gwguard_t *g, size_t *held, size_t want);
/* Give back a request's whole reservation; *held becomes 0. */
void gwguard_body_release(gwguard_t *g, size_t *held);
/* Bytes reserved now, the most ever reserved, and the budget. */
void gwguard_body_usage(gwguard_t *g, size_t *now, size_t *peak, size_t *budget);

/* 1 if a /metrics request may read: no token is set, or the request's
 * Authorization header is "Bearer TOKEN", or its query (with or without
 * the "?") has token=TOKEN. Compared in constant time. Either may be NULL. */
int gwguard_metrics_ok(const gwguard_t *g, const char *authorization, const char *query);
/* 1 if a metrics token is required. */
int gwguard_metrics_locked(const gwguard_t *g);

/* A new random token (GWGUARD_TOKEN_LEN hex characters) into out. */
void gwguard_token_new(char out[GWGUARD_TOKEN_LEN + 1]);

/* The user's metrics token: the first line of path (created with a new
 * random token, mode 0600, its directory too, when missing). 0 with the
 * token in out, or -1 with a malloc'd *err naming the file. A token is
 * 16 to 128 characters of [A-Za-z0-9._~-]. */
int gwguard_token_load(const char *path, char *out, size_t len, char **err);
/* $XDG_STATE_HOME/tokmux/metrics-token (~/.local/state/...). malloc'd. */
char *gwguard_token_default_path(void);

#endif
