/*
 * reqbody: what tokmux reads from the bodies it forwards. The request: its
 * model, output limit and images, the worst case it could cost, the same
 * request for another model. An attempt's reply, as the policy judges it:
 * a 429 that is a spend limit, a stream whose first event is an overload.
 * Pure functions over bytes (cJSON); a body is never logged or kept.
 */
#ifndef TOKMUX_REQBODY_H
#define TOKMUX_REQBODY_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "pricing.h"

#define REQBODY_DEFAULT_MAX_TOKENS 32000 /* output worst case when the body names no limit */
#define REQBODY_IMAGE_TOKENS 2000        /* input worst case of an image (at most ~1600) */

/* A request body as read. */
struct reqbody {
	size_t len;                 /* body bytes */
	int object;                 /* 1 if the body is a JSON object (else the rest is empty) */
	char model[MODEL_ID_MAX];   /* top-level "model", "" if none */
	int64_t max_tokens;         /* the first valid of max_tokens, max_completion_tokens,
	                             * max_output_tokens (rounded up); -1 if none */
	int64_t image_bytes;        /* base64 image payloads, anywhere in the body */
	int64_t images;             /* how many */
};

/* Read body (len bytes; NULL or 0 is an empty body). 0 if it is a JSON
 * object, -1 if not (out then has only len). */
int reqbody_read(const char *body, size_t len, struct reqbody *out);

/* Worst case of a request for model (NULL: its own): input estimated
 * conservatively from the body (text bytes / 3, REQBODY_IMAGE_TOKENS per
 * image), plus max_tokens (or REQBODY_DEFAULT_MAX_TOKENS) of output, input
 * priced at the highest of input and cache-write prices (pr NULL: 0 USD). */
void reqbody_worst_case(const pricing_t *pr, const char *model, const struct reqbody *rb,
    int64_t *micros, int64_t *tokens);

/* body with its top-level "model" set (replaced or added); NULL if body is
 * not a JSON object. malloc'd, its length in *out_len. */
char *reqbody_rewrite_model(const char *body, size_t len, const char *model, size_t *out_len);

/* 1 if a 429's body says a spend or usage limit (not a rate limit) was hit. */
int reqbody_is_spend_limit(const char *body, size_t len);

/* 1 if the first event of an SSE stream's start (buf, len bytes) is an
 * overloaded error, 0 if it is another event, -1 if no event is whole yet. */
int reqbody_first_event_overloaded(const char *buf, size_t len);

#endif
