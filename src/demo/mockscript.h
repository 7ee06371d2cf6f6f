/*
 * mockscript: the mock provider's script (docs/MOCK.md): parsing and
 * checking the JSON, with jsoncheck's one-line errors naming the rule and
 * key, and resolving what one request gets: the defaults, then every
 * matching rule in order. A script is immutable once parsed except for its
 * rules' use counters, which mockscript_resolve() advances (callers
 * serialise it).
 */
#ifndef TOKMUX_MOCKSCRIPT_H
#define TOKMUX_MOCKSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "mockwire.h"

struct cJSON;

/* What a request is answered with. Delays are parameters, not kinds. */
enum mockscript_kind {
	MOCKSCRIPT_OK,
	MOCKSCRIPT_STATUS,      /* an HTTP error status with a JSON error body */
	MOCKSCRIPT_MIDSTREAM,   /* 200 stream, some events, then an overloaded error event */
	MOCKSCRIPT_FIRST,       /* 200 stream whose first event is the overloaded error */
	MOCKSCRIPT_CUT,         /* connection closed after after_events events */
};

/* Everything a script can set for one request; -1 = "derive". Strings point
 * into the script. */
struct mockscript_params {
	enum mockscript_kind kind;
	char action[32];
	int status;
	int retry_after;        /* seconds; -1 = default, -2 = omit */
	char retry_after_raw[32];   /* a string "retry_after": sent as it is, "" none */
	int spend_limit;
	const char *message;
	int first_byte_ms;
	int chunk_delay_ms;
	int after_events;
	int chunks;
	int chunk_tokens;
	const char *text;
	int64_t in, out, cread, c5m, c1h, reasoning;
	int ping_every;
	int always_usage;
	const char *tool_name;  /* Anthropic: answer with a tool_use block (stop_reason tool_use) */
	const struct cJSON *tool_input;   /* its input object; NULL: {} */
	/* the subscription windows an OAuth-shaped request is told of (unified headers) */
	double u5h, u7d;        /* utilization 0..1 */
	int reset5_s, reset7_s; /* seconds until each window resets */
	const char *claim;      /* representative claim: five_hour, seven_day */
	const char *ustatus;    /* allowed, allowed_warning, rejected */
	double surpassed;       /* the claim's surpassed threshold, < 0: not sent */
	int bad_usage;          /* MOCKWIRE_BAD_*: usage figures sent as strings */
	int cache_from_body;    /* cache writes from the body's cache_control marks */
};

/* The rate-limit budget of one window, reported in headers. */
struct mockscript_ratelimit {
	int64_t requests, tokens, input, output;
	int window_s;
	int enforce;            /* answer 429 once the budget is spent */
};

typedef struct mockscript mockscript_t;

/* The answer without a script: 200, five chunks of two tokens. */
void mockscript_params_init(struct mockscript_params *p);
/* The budget without a script: large enough never to pace a benchmark. */
void mockscript_ratelimit_default(struct mockscript_ratelimit *r);

/* Parse len bytes of script text. NULL with a malloc'd one-line *err
 * ("FILE: key rules[1].match.path: expected ..."; file may be NULL). */
mockscript_t *mockscript_parse(const char *text, size_t len, const char *file, char **err);
void mockscript_free(mockscript_t *s);

/* The parameters of request n (path_n: its number among calls to ep) for
 * model (NULL: none). s may be NULL (no script). Advances the counters of
 * the rules that matched. */
void mockscript_resolve(mockscript_t *s, struct mockscript_params *p,
    enum mockwire_endpoint ep, long n, long path_n, const char *model);
/* The script's rate-limit budget (the default when s is NULL). */
void mockscript_ratelimit(const mockscript_t *s, struct mockscript_ratelimit *out);
/* The model ids GET /v1/models lists: an array of strings, or NULL for the
 * built-in list. */
const struct cJSON *mockscript_models(const mockscript_t *s);

#endif
