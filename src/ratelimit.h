/*
 * ratelimit: rate-limit state per API key (keyed by a hash, never the key),
 * parsed from response headers: anthropic-ratelimit-{requests,tokens,
 * input-tokens,output-tokens}-{limit,remaining,reset} (RFC 3339 resets),
 * retry-after / retry-after-ms, the subscription anthropic-ratelimit-unified-*
 * headers (epoch-second resets, utilization 0..1), and OpenAI x-ratelimit-*
 * (Go-style duration resets like "6m0s"). All reset times are stored as
 * absolute UNIX times. The table is thread-safe.
 */
#ifndef TOKMUX_RATELIMIT_H
#define TOKMUX_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_MAX_KEYS 16

/* Every time value read from the network is clamped (a wild or hostile
 * value must neither overflow the pacing arithmetic nor lock a key out):
 * a wait a response asks for (retry-after, retry-after-ms) is at most
 * RATELIMIT_MAX_RETRY_AFTER seconds (past it the provider is simply asked
 * again), a limit's or window's reset at most RATELIMIT_MAX_RESET seconds
 * ahead (the longest window providers have is 7 days). */
#define RATELIMIT_MAX_RETRY_AFTER 900.0
#define RATELIMIT_MAX_RESET (8.0 * 86400)

struct rl_bucket {
	int64_t limit;       /* -1 unknown */
	int64_t remaining;   /* -1 unknown */
	double reset;        /* absolute UNIX time, 0 unknown */
};

struct rl_window {       /* subscription "unified" window */
	double utilization;  /* 0..1, -1 unknown */
	double reset;        /* absolute UNIX time, 0 unknown */
	char status[24];     /* allowed / allowed_warning / rejected, "" unknown */
};

struct rl_state {
	char key_hash[17];           /* hex, "" for an unused slot */
	struct rl_bucket requests, tokens, input_tokens, output_tokens;
	double retry_after_until;    /* absolute time from the last retry-after, 0 none */
	char unified_status[24];
	char unified_claim[32];      /* representative claim, e.g. five_hour */
	double unified_reset;
	struct rl_window w5h, w7d;
	double updated;              /* when headers were last seen, 0 never */
};

/* Parse one response header into st. now = UNIX time. Returns 1 if the
 * header was a rate-limit header, 0 otherwise. Name is case-insensitive. */
int ratelimit_parse_header(struct rl_state *st, const char *name, const char *value, double now);

/* Parse "retry-after" (seconds or HTTP-date). Returns seconds to wait,
 * 0 to RATELIMIT_MAX_RETRY_AFTER (larger values are clamped), or -1 if
 * unparseable. */
double ratelimit_parse_retry_after(const char *value, double now);

/* Parse an OpenAI-style duration ("1s", "6m0s", "20ms", "1h2m3s") into
 * seconds, at most RATELIMIT_MAX_RESET (clamped); -1 if malformed. */
double ratelimit_parse_duration(const char *s);

/* Parse RFC 3339 "2025-08-21T12:40:59Z" (also with offset / fraction) into
 * UNIX time; -1 if malformed. */
double ratelimit_parse_rfc3339(const char *s);

/* "retry-after-ms" value (milliseconds, may be fractional) in seconds,
 * clamped to RATELIMIT_MAX_RETRY_AFTER; -1 if bad. */
double ratelimit_parse_retry_after_ms(const char *value);
/* Absolute UNIX time before which no request should be sent for this key
 * (latest of: retry-after, the reset of any bucket with remaining == 0, the
 * unified reset when unified status is "rejected"); 0 if none is in the future. */
double ratelimit_not_before(const struct rl_state *st, double now);
/* Notes: ratelimit_parse_header returns 1 for any recognised rate-limit
 * header name, but a garbage value leaves st (and st->updated) unchanged.
 * rl_table_merge ignores a state with an empty key_hash. */

void rl_state_init(struct rl_state *st);

/* A subscription's binding window: the one its representative claim names
 * (five_hour, seven_day...), else the fuller of the two; *label gets "5h"
 * or "7d". NULL when neither window's utilization is known. */
const struct rl_window *ratelimit_binding(const struct rl_state *st, const char **label);

typedef struct rl_table rl_table_t;
rl_table_t *rl_table_new(void);
void rl_table_free(rl_table_t *t);
/* Merge a parsed state for key_hash into the table (fields that are known in
 * src overwrite). */
void rl_table_merge(rl_table_t *t, const struct rl_state *src);
/* Copy all states out; returns how many. */
int rl_table_snapshot(rl_table_t *t, struct rl_state *out, int max);
/* Copy one key's state; 1 if known, 0 if not. */
int rl_table_get(rl_table_t *t, const char *key_hash, struct rl_state *out);

#endif
