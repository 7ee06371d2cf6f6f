/*
 * reqbody: what tokmux reads from the bodies it forwards. The request: its
 * model, output limit, choices, images and the bytes marked for 1-hour
 * caching, checked so that nothing is forwarded on a guess (one JSON
 * object, no duplicate keys, limits that are whole numbers, no input the
 * body does not carry); a bound on the input it can be billed for; the
 * same request for another model or with another output limit. An
 * attempt's reply, as the policy judges it: a 429 that is a spend limit,
 * a stream whose first event is an overload. Pure functions over bytes
 * (cJSON); a body is never logged or kept.
 */
#ifndef TOKMUX_REQBODY_H
#define TOKMUX_REQBODY_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "pricing.h"
#include "usage.h"

#define REQBODY_DEFAULT_MAX_TOKENS 32000 /* output limit sent when the body names none */
#define REQBODY_IMAGE_TOKENS 2000        /* input bound of an image (at most ~1600) */
#define REQBODY_OVERHEAD_TOKENS 1024     /* what a provider adds around a prompt (role
                                          * markers, the tool-use system prompt) */
#define REQBODY_MARGIN 0.25              /* on top of a route's measured tokens per byte */
#define REQBODY_MAX_LIMIT 1000000000     /* larger output limits count as this */
#define REQBODY_MAX_CHOICES 128          /* OpenAI's "n" */

/* reqbody_read's verdicts. */
#define REQBODY_OK 0
#define REQBODY_NOT_OBJECT (-1)          /* not exactly one JSON object */
#define REQBODY_BAD (-2)                 /* an object tokmux refuses to forward: see error */

/* The output limit fields a body may carry (struct reqbody.limits). */
#define REQBODY_LIMIT_MAX_TOKENS 1       /* max_tokens (Anthropic, old OpenAI chat) */
#define REQBODY_LIMIT_COMPLETION 2       /* max_completion_tokens (OpenAI chat) */
#define REQBODY_LIMIT_OUTPUT 4           /* max_output_tokens (OpenAI responses) */

/* A request body as read. */
struct reqbody {
	size_t len;                 /* body bytes */
	int object;                 /* 1 if the body is one JSON object (else the rest is empty) */
	char model[MODEL_ID_MAX];   /* top-level "model", "" if none */
	int64_t max_tokens;         /* the largest output limit the body names (per choice,
	                             * at most REQBODY_MAX_LIMIT); -1 if none */
	int limits;                 /* REQBODY_LIMIT_* fields that hold a number */
	int64_t choices;            /* completions asked ("n"), 1 unless given */
	int64_t thinking_budget;    /* thinking.budget_tokens when thinking is enabled, -1 none */
	int64_t image_bytes;        /* base64 image payloads, anywhere in the body */
	int64_t images;             /* how many images (base64, data: or by URL) */
	int tools;                  /* 1: it carries tools (the agent's conversation; a title
	                             * or summary request carries none) */
	int64_t bytes_1h;           /* bytes that may be written to the 1-hour cache: those up
	                             * to the last block marked ttl "1h" (an upper bound) */
	char error[200];            /* REQBODY_BAD: why, a sentence for the agent */
};

/* Read body (len bytes; NULL or 0 is an empty body). REQBODY_OK for an
 * object tokmux can forward; REQBODY_NOT_OBJECT (out then has only len);
 * REQBODY_BAD with out->error when a key appears twice in an object, a
 * top-level field differs from one tokmux reads only in case, "model" is
 * not a string of 1 to MODEL_ID_MAX - 1 bytes, an output limit or "n"
 * is not a whole number, or the body refers to input it does not carry
 * (previous_response_id, a stored conversation or prompt, a file by id or
 * by URL, an item reference). */
int reqbody_read(const char *body, size_t len, struct reqbody *out);

/* An upper bound of the memory reading body (len bytes) takes beyond the
 * body itself: a cJSON node per value, and a copy of its strings. A body of
 * many tiny values ("[0,0,0,...") costs some forty times its size; the
 * gateway counts this against its bodies' memory budget before reading. */
size_t reqbody_parse_cost(const char *body, size_t len);

/* The input tokens a request can be billed for (input, cache reads and
 * writes together) and how many of them may be 1-hour cache writes. The
 * bound that holds: one token per body byte (a token covers at least one
 * byte of text), REQBODY_IMAGE_TOKENS per image, plus
 * REQBODY_OVERHEAD_TOKENS. ratio > 0 (a route's measured tokens per byte)
 * tightens it to ratio x (1 + REQBODY_MARGIN) per byte. */
void reqbody_input_bound(const struct reqbody *rb, double ratio, int64_t *tokens,
    int64_t *tokens_1h);

/* body with "model" set to model (unless NULL) and, when limit >= 0, every
 * output limit field it has set to limit (null ones dropped) or, if it has
 * none, the API's own added (messages: max_tokens, chat completions:
 * max_completion_tokens, responses: max_output_tokens); an enabled
 * thinking budget is lowered below limit (to no less than 1024). NULL if
 * body is not a JSON object. malloc'd, its length in *out_len. */
char *reqbody_prepare(const char *body, size_t len, enum api_kind api, const char *model,
    int64_t limit, size_t *out_len);

/* reqbody_prepare with the model only. */
char *reqbody_rewrite_model(const char *body, size_t len, const char *model, size_t *out_len);

/* 1 if a 429's body says a spend or usage limit (not a rate limit) was hit. */
int reqbody_is_spend_limit(const char *body, size_t len);

/* 1 if the first event of an SSE stream's start (buf, len bytes) is an
 * overloaded error, 0 if it is another event, -1 if no event is whole yet. */
int reqbody_first_event_overloaded(const char *buf, size_t len);

#endif
