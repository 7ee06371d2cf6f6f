/*
 * pricing: per-model prices (USD per million tokens, held as micro-dollars
 * per million) including cache writes (5m, 1h), cache reads and long-context
 * premiums or prompt-length tiers, each as published (config entries default
 * to 5m = 1.25x, 1h = 2x, read = 0.1x input). Built-in table for Claude
 * (Fable, Opus, Sonnet, Haiku: dated ids and aliases) and the OpenAI models
 * Codex and OpenCode use; config may override or add models. Look-ups take
 * any spelling of an id model.c knows (provider prefixes, Bedrock, Vertex).
 * An unknown model is reported as unpriced, never silently $0. All math in
 * integer micro-dollars.
 */
#ifndef TOKMUX_PRICING_H
#define TOKMUX_PRICING_H

#include <stdint.h>

#include "usage.h"

struct cJSON;

struct price {
	/* micro-dollars per million tokens (so $3/MTok == 3000000) */
	int64_t input, output, cache_write_5m, cache_write_1h, cache_read;
	/* premium rates for the whole request when total input (input + cache
	 * writes + cache reads) > long_threshold (0 = none) */
	int64_t long_threshold;
	int64_t long_input, long_output, long_cache_write_5m, long_cache_write_1h, long_cache_read;
};

typedef struct pricing pricing_t;

pricing_t *pricing_new(void);   /* with the built-in table */
void pricing_free(pricing_t *p);

/* Merge a config object {"model-id": {"input": 3, "output": 15, "cache_write_5m": 3.75,
 * "cache_write_1h": 6, "cache_read": 0.3}, ...} (USD per million; cache fields
 * default to the multipliers). Return 0, or -1 with *err =
 * "key prices.<model>.<key>: expected ..." (jsoncheck's line; the caller
 * puts the config file's name in front). */
int pricing_load(pricing_t *p, const struct cJSON *obj, char **err);

/* Look up a model: exact id, then alias / dated-id prefix rules. NULL if unknown. */
const struct price *pricing_find(const pricing_t *p, const char *model);

/* Cost of a usage in micro-dollars. Returns 0 if priced, -1 if the model is
 * unknown (then *micros = 0 and the caller must flag it "unpriced"). */
int pricing_cost(const pricing_t *p, const char *model, const struct usage *u, int64_t *micros);

/* Worst-case cost for admission control: input_tokens estimate, max_tokens
 * of output, all input charged at the highest of input/cache-write prices.
 * Unknown model: uses the most expensive priced model. */
int64_t pricing_worst_case(const pricing_t *p, const char *model, int64_t input_tokens, int64_t max_tokens);

/* The most a request can cost: in input tokens (input, cache reads and
 * writes together), in_1h of which may be written to the 1-hour cache,
 * and out output tokens. Input is priced at the dearest of the input and
 * 5-minute write rates (in_1h: the 1-hour write rate), with the
 * long-context rates once in is over the model's mark. Rounded up; an
 * unknown model is priced as the dearest one; p NULL: 0. */
int64_t pricing_bound(const pricing_t *p, const char *model, int64_t in, int64_t in_1h, int64_t out);

/* The largest k in [0, max] with pricing_bound(in, in_1h, k * per) <=
 * micros (per: output tokens per unit of k, e.g. choices); -1 if even k = 0
 * does not fit. */
int64_t pricing_bound_fit(const pricing_t *p, const char *model, int64_t in, int64_t in_1h,
    int64_t per, int64_t max, int64_t micros);

/* Models known, for the fallback chain and the model picker. Returns count;
 * ids[i] point into the table. */
int pricing_models(const pricing_t *p, const char **ids, int max);

#endif
