/*
 * simagent: `tokmux sim-agent`, a scripted stand-in for a coding agent, used
 * by `tokmux demo`. It prints a believable, colourful session transcript at
 * a human pace and between the steps sends real streaming requests through
 * the pane's gateway route (ANTHROPIC_BASE_URL / OPENAI_BASE_URL), reacting
 * to 429, 529 and refusals the way agents do. The transcript is a pure
 * function of the persona and the seed (the helpers below), so it is tested
 * without a terminal. The command line is cmd_simagent.c's.
 */
#ifndef TOKMUX_SIMAGENT_H
#define TOKMUX_SIMAGENT_H

#include <stddef.h>
#include <stdint.h>

#include "sse.h"
#include "util.h"

enum simagent_api { SIMAGENT_ANTHROPIC = 0, SIMAGENT_OPENAI = 1 };

struct simagent_diff {
	const char *file;               /* the file it edits */
	int line;                       /* first line number */
	const char *lines[6];           /* "-old", "+new", " context"; NULL ends */
};

struct simagent_persona {
	const char *name;               /* "refactor" */
	const char *model;              /* default model */
	const char *project;            /* working directory shown in the banner */
	const char *task;               /* the user's request */
	const char *files[4];           /* read and edited */
	const char *searches[2];        /* search patterns */
	const char *commands[2];        /* shell commands it runs */
	const char *results[2];         /* their one-line results */
	const char *todos[3];
	struct simagent_diff diffs[2];
	int system_kb;                  /* size of the cached system prompt */
	int max_tokens;
	int requests;                   /* model calls per run by default */
};

/* The built-in personas: refactor, tests, docs, bugfix. NULL if unknown. */
const struct simagent_persona *simagent_persona(const char *name);
const char *simagent_persona_names(void);      /* "refactor, tests, docs, bugfix" */

enum simagent_step_kind {
	SIMAGENT_READ,
	SIMAGENT_SEARCH,
	SIMAGENT_TODO,
	SIMAGENT_EDIT,
	SIMAGENT_RUN,
	SIMAGENT_ASK,                   /* a model call */
};

struct simagent_step {
	enum simagent_step_kind kind;
	int arg;                        /* index into the persona's files/searches/... */
	int turn;                       /* model call number (0-based) for ASK */
};

/* splitmix64: the next pseudo-random number of *state. */
uint64_t simagent_rand(uint64_t *state);

/* The run's steps for nrequests model calls: each call is preceded by one to
 * three tool steps. Deterministic in (persona, seed). Returns the count (at
 * most max). */
int simagent_plan(const struct simagent_persona *p, uint64_t seed, int nrequests,
    struct simagent_step *out, int max);

/* Append a tool step's transcript lines (each ending in "\n") to b, with
 * ANSI colours if color. ASK steps append nothing (their text streams). */
void simagent_render(const struct simagent_persona *p, const struct simagent_step *s,
    int color, struct buf *b);

/* The request body for model call turn: a large cached system prompt
 * (cache_control on Anthropic) and a conversation that grows with turn.
 * malloc'd JSON. */
char *simagent_body(const struct simagent_persona *p, enum simagent_api api, const char *model,
    int turn);

/* Minimal SSE reader for the streamed text and in-stream errors. */
struct simagent_stream {
	enum simagent_api api;
	struct sse sse;                 /* the stream's events (sse.h) */
	struct buf text;                /* text not yet taken by the caller */
	char error_type[48];
	char error_message[256];
	int done;                       /* message_stop / [DONE] seen */
};
void simagent_stream_init(struct simagent_stream *s, enum simagent_api api);
void simagent_stream_feed(struct simagent_stream *s, const char *data, size_t len);
void simagent_stream_free(struct simagent_stream *s);

/* Type and message of an error body in the Anthropic or OpenAI shape.
 * Returns 0, or -1 (both set to "") when the body is not such an error. */
int simagent_error_parse(const char *body, size_t len, char *type, size_t tlen, char *msg,
    size_t mlen);

/* Seconds to wait before retry attempt (1-based): the retry-after header's
 * seconds when given (retry_after >= 0, capped at 60), else 1, 2, 4, 8, 8. */
double simagent_retry_delay(double retry_after, int attempt);

/* What `tokmux sim-agent` (cmd_simagent.c) was asked for. */
struct simagent_options {
	const struct simagent_persona *persona;   /* NULL: the first, refactor */
	const char *model;              /* NULL: the persona's (gpt-5-mini on OpenAI) */
	int requests;                   /* model calls per run; -1: the persona's */
	uint64_t seed;                  /* of the first run; each run again adds 1 */
	enum simagent_api api;
};

/* Run the agent: runs of the plan, each followed by "press Enter to run
 * again", until stdin ends. The pane's $ANTHROPIC_BASE_URL (or
 * $OPENAI_BASE_URL) must be set: the agent never talks to a real API.
 * Returns 0, or -1 with a malloc'd *err when it is not set. */
int simagent_run(const struct simagent_options *o, char **err);

#endif
