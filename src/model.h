/*
 * model: what tokmux knows about a model id, in one place for pricing,
 * the policy and everything that stores one. The canonical form of an id
 * (provider prefixes, Bedrock and Vertex spellings, context suffixes), the
 * "dated form of" rule price lookups use, Claude families and versions,
 * the newest model of a family and the default fallback chain.
 */
#ifndef TOKMUX_MODEL_H
#define TOKMUX_MODEL_H

#include <stddef.h>

/* Bytes every copy of a model id gets, with its NUL: request, usage,
 * stats, ledger, policy and sidebar alike, so an id reads the same
 * everywhere (longer ids are cut at MODEL_ID_MAX - 1 bytes, everywhere). */
#define MODEL_ID_MAX 128

#define MODEL_VERSION_MAX 4

/* The canonical form of id, for comparisons and price look-ups: lower
 * case; without a provider path ("anthropic/", "openai/", a Vertex or
 * Bedrock ARN path), a Bedrock region and vendor ("us.anthropic."), a
 * context suffix ("[1m]"), a Bedrock version suffix ("-v1:0") and
 * trailing blanks. Dates stay: "us.anthropic.claude-opus-4-1-20250805-v1:0"
 * -> "claude-opus-4-1-20250805". out holds MODEL_ID_MAX bytes. */
void model_normalise(const char *id, char out[MODEL_ID_MAX]);

/* If the canonical id is name itself or a dated form of it
 * ("name-20250929", "name-2024-08-06", "name@20250929", "name-latest"),
 * strlen(name); else 0. Price look-ups take the longest such name. */
size_t model_dated_form(const char *id, const char *name);

/* The model a dated id is a form of, canonical: model_normalise(id)
 * without a trailing date or "-latest" ("-20251001", "@20250805",
 * "-2024-08-06"): "claude-haiku-4-5-20251001" -> "claude-haiku-4-5",
 * "gpt-4o-2024-08-06" -> "gpt-4o"; an id without one stays as normalised.
 * model_dated_form(model_normalise(id), out) is never 0. */
void model_undated(const char *id, char out[MODEL_ID_MAX]);

/* The Claude family of an id ("opus", "sonnet", "haiku"; any spelling
 * model_normalise takes), NULL if it has none. */
const char *model_family(const char *id);

/* The version numbers of an id, dates left out: "claude-3-5-haiku" -> 3 5,
 * "claude-sonnet-4-5-20250929" -> 4 5. Returns how many (at most
 * MODEL_VERSION_MAX). */
int model_version(const char *id, long v[MODEL_VERSION_MAX]);

/* 1 if a is a newer model than b: a higher version, or the same version
 * and the shorter id (the alias rather than a dated id). */
int model_newer(const char *a, const char *b);

/* The newest of ids[0..n-1] in family, NULL if none is. */
const char *model_newest(const char *const *ids, int n, const char *family);

/* The models to try for model, in order: model itself, then the configured
 * fallbacks (skipping repeats) or, without any, the default family chain:
 * the newest of each family below model's (opus -> sonnet -> haiku) among
 * known[0..nknown-1]. Returns the count (0 for an empty model); out[i] are
 * malloc'd. */
int model_chain(const char *model, const char *const *known, int nknown,
    const char *const *fallback, int nfallback, char **out, int max);

#endif
