/*
 * mock: a scripted fake Anthropic / OpenAI provider on libmicrohttpd, bound
 * to 127.0.0.1 only. Speaks Anthropic Messages (SSE and JSON), count_tokens,
 * models, OpenAI Chat Completions and Responses (SSE and JSON) with
 * deterministic token counts, realistic rate-limit headers and scripted
 * faults (429, 529, 500, overloaded streams, delays, cut connections).
 * Used by the unit tests, the benchmarks and `tokmux demo`; `tokmux mock`
 * (cmd_mock.c) serves it alone. The script format is described in
 * docs/MOCK.md.
 */
#ifndef TOKMUX_MOCK_H
#define TOKMUX_MOCK_H

#include <stdint.h>

typedef struct mock mock_t;

struct mock_options {
	int port;                /* 0 = any free port */
	const char *script_path; /* NULL = no script: every call succeeds */
	const char *log_path;    /* NULL = none; else JSONL, one line per request */
	int quiet;               /* 0 = one summary line per request on stderr */
	const struct pricing *pricing;   /* prices what it bills (log, mock_billed_micros);
	                                  * NULL: the built-in table */
};

/* Start serving; returns once the socket is listening. On failure returns
 * NULL and sets *err (if err != NULL) to a message the caller frees. */
mock_t *mock_start(const struct mock_options *o, char **err);

/* The TCP port the mock listens on. */
int mock_port(const mock_t *m);

/* Stop serving (interrupts pending delays), free everything. NULL is fine. */
void mock_stop(mock_t *m);

/* Replace the script (path NULL = no script). Rule counters restart; the
 * request counters do not. Returns 0, or -1 with *err set (old script kept). */
int mock_load_script(mock_t *m, const char *path, char **err);

/* Same, from a JSON string (tests, demo). */
int mock_load_script_json(mock_t *m, const char *json, char **err);

/* What the mock has billed so far, in micro-USD: each 200 model call's
 * input, cache and output tokens as generated (a cut stream's too: a real
 * provider may have generated it all), priced with mock_options.pricing;
 * calls to models without a price count 0 (and unpriced_calls one). */
int64_t mock_billed_micros(const mock_t *m, long *unpriced_calls);

/* Number of model calls (POST messages, chat/completions, responses) served. */
long mock_calls(const mock_t *m);

#endif
