/*
 * pricing: owns the model price table (built-in list prices plus config
 * overrides), the price aliases, look-ups by model id (the canonical form
 * and the dated-form rule are model.c's) and the integer cost arithmetic.
 *
 * Costs are summed exactly in micro-micro-dollars (tokens x micro-dollars
 * per million tokens) in 128 bits and rounded once, half up, to
 * micro-dollars. Lookups return pointers into the table, valid until the
 * next pricing_load().
 */
#include "pricing.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsoncheck.h"
#include "model.h"
#include "util.h"

typedef unsigned __int128 u128;

#define USD(x) ((int64_t)((x) * 1000000.0 + 0.5))   /* $/MTok -> micro-$/MTok */
#define WEB_SEARCH_MICROS 10000                     /* $10 per 1000 searches */
#define LONG_CONTEXT 200000

struct entry {
	char *id;
	struct price price;
};

struct pricing {
	struct entry *e;
	int n, cap;
};

/* Standard Anthropic multipliers: 5m write 1.25x, 1h write 2x, read 0.1x
 * (true up to the 4.x models; 5.x prices are spelled out, see PRICE). */
#define CLAUDE(id, in, out) \
	{ id, USD(in), USD(out), USD((in) * 1.25), USD((in) * 2), USD((in) * 0.1), 0, 0, 0, 0, 0, 0 }
/* Sonnet 4 / 4.5 with the 1M-context beta: over 200K total input every token
 * is billed at the premium (in 6, out 22.50, 5m 7.50, 1h 12, read 0.60). */
#define CLAUDE_LONG(id, in, out) \
	{ id, USD(in), USD(out), USD((in) * 1.25), USD((in) * 2), USD((in) * 0.1), \
	  LONG_CONTEXT, USD((in) * 2), USD((out) * 1.5), USD((in) * 2.5), USD((in) * 4), \
	  USD((in) * 0.2) }
/* OpenAI before GPT-6: no cache-write surcharge (writes cost as input),
 * cached input has its own price. */
#define OPENAI(id, in, out, cached) \
	{ id, USD(in), USD(out), USD(in), USD(in), USD(cached), 0, 0, 0, 0, 0, 0 }
/* Every figure as published, in the page's column order: input, 5m write,
 * 1h write, cache read, output (USD per million). */
#define PRICE(id, in, w5, w1, rd, out) \
	{ id, USD(in), USD(out), USD(w5), USD(w1), USD(rd), 0, 0, 0, 0, 0, 0 }
/* The same plus a second tier: when the prompt (input + cache writes + cache
 * reads) is over thr tokens, every token of the request, output included,
 * is billed at the second set. */
#define PRICE_TIER(id, in, w5, w1, rd, out, thr, lin, lw5, lw1, lrd, lout) \
	{ id, USD(in), USD(out), USD(w5), USD(w1), USD(rd), \
	  thr, USD(lin), USD(lout), USD(lw5), USD(lw1), USD(lrd) }
/* GPT-6.x: one cache-write price (30-minute retention) fills both write
 * slots; over 272K input tokens the whole request pays 2x input, cached
 * input and writes and 1.5x output. The 12-hour write (2x the 30-minute
 * one) is not modelled: usage.c reports no OpenAI cache writes yet. */
#define GPT6(id, in, cached, write, out) \
	PRICE_TIER(id, in, write, write, cached, out, 272000, (in) * 2, (write) * 2, \
	    (write) * 2, (cached) * 2, (out) * 1.5)

struct builtin {
	const char *id;
	int64_t input, output, cw5m, cw1h, read;
	int64_t long_threshold, long_input, long_output, long_cw5m, long_cw1h, long_read;
};

/*
 * Public list prices, USD per million tokens. Sources are given per entry
 * with the date they were read ("[3p]": a third party that cites the
 * official page, used only where the official page was not available to
 * us and two such sources agree). Older entries: Anthropic pricing page and
 * LiteLLM model_prices_and_context_window.json, see API_NOTES section 4;
 * OpenAI per its public pricing page.
 *
 * Not priced (no price found, or not all of it):
 * gpt-6.2-astra (cache-write price not published where we looked),
 * gpt-5.6-sol/-terra/-luna (sources disagree).
 */
static const struct builtin builtins[] = {
	/* Claude 5.x. Anthropic pricing page
	 * https://platform.claude.com/docs/en/about-claude/pricing (read 2026-11-27):
	 * Fable 5.1 read $0.25 (0.025x), Fable 5 read $1; Mythos = Fable prices. */
	PRICE("claude-fable-5-1", 10, 12.50, 20, 0.25, 50),
	PRICE("claude-mythos-5-1", 10, 12.50, 20, 0.25, 50),
	PRICE("claude-fable-5", 10, 12.50, 20, 1, 50),
	PRICE("claude-mythos-5", 10, 12.50, 20, 1, 50),
	/* Fable 5.2 (released 2026-11-09): $8 / $40 in the lineup table of
	 * https://platform.claude.com/docs/id/models/sonnet-5/overview.md (read
	 * 2026-11-27); cache 5m $10, 1h $16, read $0.20 [3p: github.com/archid21/
	 * rightsize releases v0.10.2, read 2026-11-27]. */
	PRICE("claude-fable-5-2", 8, 10, 16, 0.20, 40),
	/* https://platform.claude.com/docs/zh-CN/models/opus-5-5/overview
	 * (read 2026-11-27): read $0.20 is 0.05x input. */
	PRICE("claude-opus-5-5", 4, 5, 8, 0.20, 20),
	/* https://platform.claude.com/docs/en/models/opus-5/overview (read 2026-11-27) */
	PRICE("claude-opus-5", 5, 6.25, 10, 0.50, 25),
	/* https://platform.claude.com/docs/zh-CN/models/sonnet-5-5/overview (read
	 * 2026-11-27) lists read $0.20, but Anthropic cut it to $0.10 on
	 * 2026-10-07 [3p: github.com/kurofune/claudit v1.9.2 "against the live
	 * pricing page on 2026-10-24"; TheKrush/PromptFuel v1.0.23; docs.rs
	 * synaps 0.10.2 "Sonnet 5.5 0.05x"], the current price used here. */
	PRICE("claude-sonnet-5-5", 2, 2.50, 4, 0.10, 10),
	/* https://platform.claude.com/docs/zh-CN/models/sonnet-5/overview (read
	 * 2026-11-27); the planned rise to $3 / $15 was cancelled. */
	PRICE("claude-sonnet-5", 2, 2.50, 4, 0.20, 10),
	/* Haiku 5.5, tiered on prompt length: up to 100,000 tokens / over.
	 * Input, output, 5m and 1h writes: https://platform.claude.com/docs/
	 * zh-TW/models/haiku-5-5/overview (read 2026-11-27). Cache read $0.01 /
	 * $0.05 and "prompt = input + cache reads + cache writes" [3p: apidog.com/
	 * blog/how-to-use-claude-haiku-5-5-api; claudit v1.9.2; PromptFuel v1.0.23]. */
	PRICE_TIER("claude-haiku-5-5", 0.10, 0.125, 0.20, 0.01, 0.50,
	    100000, 0.50, 0.625, 1, 0.05, 2.50),

	CLAUDE("claude-opus-4", 15, 75),
	CLAUDE("claude-opus-4-1", 15, 75),
	CLAUDE("claude-opus-4-5", 5, 25),
	CLAUDE("claude-opus-4-6", 5, 25),
	CLAUDE("claude-opus-4-7", 5, 25),
	CLAUDE("claude-opus-4-8", 5, 25),
	CLAUDE_LONG("claude-sonnet-4", 3, 15),
	CLAUDE_LONG("claude-sonnet-4-5", 3, 15),
	CLAUDE("claude-sonnet-4-6", 3, 15),
	CLAUDE("claude-3-7-sonnet", 3, 15),
	CLAUDE("claude-3-5-sonnet", 3, 15),
	CLAUDE("claude-haiku-4-5", 1, 5),
	CLAUDE("claude-3-5-haiku", 0.80, 4),
	{ "claude-3-haiku", USD(0.25), USD(1.25), USD(0.30), USD(0.50), USD(0.03), 0, 0, 0, 0, 0, 0 },
	CLAUDE("claude-3-opus", 15, 75),

	/* GPT-6.x: input, cached input, cache write (30 min), output.
	 * https://developers.openai.com/api/docs/models/gpt-6.2-sol (read 2026-11-27) */
	GPT6("gpt-6.2-sol", 2, 0.10, 2.50, 10),
	/* [3p, citing developers.openai.com/api/docs/models/gpt-6.1-sol:
	 * amine123max/Codex-Manager 0.4.7, KZCFG/AILSA-SubSwitch 1.0.0(g),
	 * docs.litellm.ai/blog/gpt_6_1_sol; read 2026-11-27] */
	GPT6("gpt-6.1-sol", 2, 0.10, 2.50, 10),
	/* [3p, citing the GPT-6 Sol / Luna / Astra model pages: merefield/
	 * codexometer v0.18.4, TheKrush/PromptFuel v1.0.21, prefect12/
	 * codex-token-meter v0.2.22, BerriAI/litellm discussions 39633 and
	 * 42523; read 2026-11-27] */
	GPT6("gpt-6-sol", 2, 0.20, 2.50, 10),
	GPT6("gpt-6-luna", 0.10, 0.01, 0.125, 0.50),
	GPT6("gpt-6-astra", 10, 1, 12.50, 50),
	/* https://developers.openai.com/ja-JP/api/docs/models/gpt-5.4-nano (read 2026-11-27) */
	OPENAI("gpt-5.4-nano", 0.20, 1.25, 0.02),
	/* input $0.75 in the comparison on https://developers.openai.com/api/docs/
	 * models/gpt-5-nano; cached and output [3p: docs.rs adk-model 0.6.0
	 * openai/pricing.rs, powershellgallery ShellPilot 0.3.1 PriceTable.psd1;
	 * read 2026-11-27] */
	OPENAI("gpt-5.4-mini", 0.75, 4.50, 0.075),
	/* [3p: adk-model 0.6.0, ShellPilot 0.3.1, github/docs data/tables/
	 * copilot/models-and-pricing.yml; read 2026-11-27]; any long-context
	 * premium of gpt-5.4 is not known here. */
	OPENAI("gpt-5.4", 2.50, 15, 0.25),
	/* [3p: ShellPilot 0.3.1, docs.apiyi.com/models; read 2026-11-27] */
	OPENAI("gpt-5.5", 5, 30, 0.50),
	/* [3p: github/docs copilot models-and-pricing.yml, ShellPilot 0.3.1;
	 * read 2026-11-27] */
	OPENAI("gpt-5.3-codex", 1.75, 14, 0.175),
	OPENAI("gpt-5.2-codex", 1.75, 14, 0.175),
	OPENAI("gpt-5.2", 1.75, 14, 0.175),
	OPENAI("gpt-5", 1.25, 10, 0.125),
	OPENAI("gpt-5-codex", 1.25, 10, 0.125),
	OPENAI("gpt-5-mini", 0.25, 2, 0.025),
	OPENAI("gpt-5-nano", 0.05, 0.40, 0.005),
	OPENAI("gpt-4.1", 2, 8, 0.50),
	OPENAI("gpt-4.1-mini", 0.40, 1.60, 0.10),
	OPENAI("gpt-4.1-nano", 0.10, 0.40, 0.025),
	OPENAI("gpt-4o", 2.50, 10, 1.25),
	OPENAI("gpt-4o-mini", 0.15, 0.60, 0.075),
	OPENAI("o3", 2, 8, 0.50),
	OPENAI("o4-mini", 1.10, 4.40, 0.275),
};

/* Other names for table ids (dated forms of these work too). */
static const struct {
	const char *alias, *id;
} aliases[] = {
	{ "claude-opus-4-0", "claude-opus-4" },
	{ "claude-4-opus", "claude-opus-4" },
	{ "claude-sonnet-4-0", "claude-sonnet-4" },
	{ "claude-4-sonnet", "claude-sonnet-4" },
	{ "claude-sonnet-3-7", "claude-3-7-sonnet" },
	{ "claude-haiku-3-5", "claude-3-5-haiku" },
};

static void
pricing_add_entry(pricing_t *p, const char *id, const struct price *pr)
{
	for (int i = 0; i < p->n; i++) {
		if (strcasecmp(p->e[i].id, id) == 0) {
			p->e[i].price = *pr;
			return;
		}
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		p->e = xreallocarray(p->e, (size_t)p->cap, sizeof(*p->e));
	}
	p->e[p->n].id = xstrdup(id);
	for (char *s = p->e[p->n].id; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	p->e[p->n].price = *pr;
	p->n++;
}

pricing_t *
pricing_new(void)
{
	pricing_t *p = xcalloc(1, sizeof(*p));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(builtins); i++) {
		const struct builtin *b = &builtins[i];
		struct price pr = {
			b->input, b->output, b->cw5m, b->cw1h, b->read,
			b->long_threshold, b->long_input, b->long_output,
			b->long_cw5m, b->long_cw1h, b->long_read,
		};
		pricing_add_entry(p, b->id, &pr);
	}
	return p;
}

void
pricing_free(pricing_t *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n; i++)
		free(p->e[i].id);
	free(p->e);
	free(p);
}

/* ---- lookup ---- */

static const struct entry *
pricing_find_exact(const pricing_t *p, const char *id)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->e[i].id, id) == 0)
			return &p->e[i];
	return NULL;
}

const struct price *
pricing_find(const pricing_t *p, const char *model)
{
	if (p == NULL || model == NULL || *model == '\0')
		return NULL;
	char m[MODEL_ID_MAX];
	model_normalise(model, m);
	const struct entry *e = pricing_find_exact(p, m);
	if (e != NULL)
		return &e->price;
	/* longest table id or alias that m is a dated form of */
	const char *best = NULL;
	size_t bestlen = 0;
	for (int i = 0; i < p->n; i++) {
		size_t k = model_dated_form(m, p->e[i].id);
		if (k > bestlen) {
			bestlen = k;
			best = p->e[i].id;
		}
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(aliases); i++) {
		size_t k = model_dated_form(m, aliases[i].alias);
		if (k > bestlen) {
			bestlen = k;
			best = aliases[i].id;
		}
	}
	if (best == NULL)
		return NULL;
	e = pricing_find_exact(p, best);
	return e != NULL ? &e->price : NULL;
}

/* ---- cost ---- */

static u128
pricing_mul(int64_t tokens, int64_t rate)
{
	if (tokens <= 0 || rate <= 0)
		return 0;
	return (u128)(uint64_t)tokens * (uint64_t)rate;
}

static int64_t
pricing_round_micros(u128 pico, int up)
{
	/* pico is in micro-dollars x 1e6 */
	u128 r = up ? (pico + 999999) / 1000000 : (pico + 500000) / 1000000;
	return r > (u128)INT64_MAX ? INT64_MAX : (int64_t)r;
}

static int64_t
pricing_cost_of(const struct price *pr, const struct usage *u)
{
	int64_t total_in = u->input_tokens + u->cache_write_5m_tokens +
	    u->cache_write_1h_tokens + u->cache_read_tokens;
	int lng = pr->long_threshold > 0 && total_in > pr->long_threshold;
	u128 s = 0;
	s += pricing_mul(u->input_tokens, lng ? pr->long_input : pr->input);
	s += pricing_mul(u->output_tokens, lng ? pr->long_output : pr->output);
	s += pricing_mul(u->cache_write_5m_tokens, lng ? pr->long_cache_write_5m : pr->cache_write_5m);
	s += pricing_mul(u->cache_write_1h_tokens, lng ? pr->long_cache_write_1h : pr->cache_write_1h);
	s += pricing_mul(u->cache_read_tokens, lng ? pr->long_cache_read : pr->cache_read);
	s += pricing_mul(u->web_search_requests, (int64_t)WEB_SEARCH_MICROS * 1000000);
	return pricing_round_micros(s, 0);
}

int
pricing_cost(const pricing_t *p, const char *model, const struct usage *u, int64_t *micros)
{
	const struct price *pr = pricing_find(p, model);
	if (pr == NULL) {
		*micros = 0;
		return -1;
	}
	*micros = pricing_cost_of(pr, u);
	return 0;
}

static int64_t
pricing_worst_of(const struct price *pr, int64_t in, int64_t out)
{
	int lng = pr->long_threshold > 0 && in > pr->long_threshold;
	int64_t rin = lng ? UTIL_MAX(pr->long_input, UTIL_MAX(pr->long_cache_write_5m,
	    pr->long_cache_write_1h)) : UTIL_MAX(pr->input, UTIL_MAX(pr->cache_write_5m,
	    pr->cache_write_1h));
	int64_t rout = lng ? pr->long_output : pr->output;
	return pricing_round_micros(pricing_mul(in, rin) + pricing_mul(out, rout), 1);
}

int64_t
pricing_worst_case(const pricing_t *p, const char *model, int64_t input_tokens, int64_t max_tokens)
{
	const struct price *pr = pricing_find(p, model);
	if (pr != NULL)
		return pricing_worst_of(pr, input_tokens, max_tokens);
	int64_t worst = 0;
	for (int i = 0; i < p->n; i++)
		worst = UTIL_MAX(worst, pricing_worst_of(&p->e[i].price, input_tokens, max_tokens));
	return worst;
}

/* pricing_bound for one price: input at the dearest of the input and 5m
 * write rates, in_1h of it at the dearest of input and 1h write, output at
 * the output rate; the long-context set when the input is over its mark. */
static int64_t
pricing_bound_of(const struct price *pr, int64_t in, int64_t in_1h, int64_t out)
{
	int lng = pr->long_threshold > 0 && in > pr->long_threshold;
	int64_t r5 = lng ? UTIL_MAX(pr->long_input, pr->long_cache_write_5m) :
	    UTIL_MAX(pr->input, pr->cache_write_5m);
	int64_t r1 = lng ? UTIL_MAX(pr->long_input, pr->long_cache_write_1h) :
	    UTIL_MAX(pr->input, pr->cache_write_1h);
	int64_t rout = lng ? pr->long_output : pr->output;
	in_1h = UTIL_MAX(0, UTIL_MIN(in_1h, in));
	return pricing_round_micros(pricing_mul(in - in_1h, r5) + pricing_mul(in_1h, r1) +
	    pricing_mul(out, rout), 1);
}

int64_t
pricing_bound(const pricing_t *p, const char *model, int64_t in, int64_t in_1h, int64_t out)
{
	if (p == NULL)
		return 0;
	const struct price *pr = pricing_find(p, model);
	if (pr != NULL)
		return pricing_bound_of(pr, in, in_1h, out);
	int64_t worst = 0;
	for (int i = 0; i < p->n; i++)
		worst = UTIL_MAX(worst, pricing_bound_of(&p->e[i].price, in, in_1h, out));
	return worst;
}

int64_t
pricing_bound_fit(const pricing_t *p, const char *model, int64_t in, int64_t in_1h, int64_t per,
    int64_t max, int64_t micros)
{
	if (per < 1)
		per = 1;
	if (pricing_bound(p, model, in, in_1h, 0) > micros)
		return -1;
	int64_t lo = 0, hi = max;   /* lo fits; find the largest that does */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		if (pricing_bound(p, model, in, in_1h, mid * per) <= micros)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int
pricing_models(const pricing_t *p, const char **ids, int max)
{
	int n = 0;
	for (int i = 0; i < p->n && n < max; i++)
		ids[n++] = p->e[i].id;
	return n;
}

/* ---- config ---- */

static const char *const price_keys[] = {
	"input", "output", "cache_write_5m", "cache_write_1h", "cache_read",
	"long_threshold", "long_input", "long_output", "long_cache_write_5m",
	"long_cache_write_1h", "long_cache_read", NULL,
};

/* Read obj[key] as USD per million into micro-dollars per million.
 * 1 if present, 0 if absent, -1 (with x's error) if invalid. */
static int
pricing_read_usd(const struct jsoncheck *x, const cJSON *obj, const char *path,
    const char *key, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL)
		return 0;
	double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
	if (!isfinite(v) || v < 0 || v > 1e6)
		return jsoncheck_fail(x, path, key,
		    "a non-negative number (USD per million tokens)");
	*out = llround(v * 1e6);
	return 1;
}

/* The long-context premium, when obj has a long_threshold. */
static int
pricing_parse_long(const struct jsoncheck *x, const cJSON *obj, const char *path,
    struct price *pr)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "long_threshold");
	if (it == NULL)
		return 0;
	if (!cJSON_IsNumber(it) || !(it->valuedouble >= 1) || it->valuedouble > 1e12)
		return jsoncheck_fail(x, path, "long_threshold", "a positive number of tokens");
	pr->long_threshold = (int64_t)it->valuedouble;
	/* premium defaults: input 2x, output 1.5x, caches from the premium input */
	pr->long_input = pr->input * 2;
	pr->long_output = pr->output * 3 / 2;
	if (pricing_read_usd(x, obj, path, "long_input", &pr->long_input) < 0 ||
	    pricing_read_usd(x, obj, path, "long_output", &pr->long_output) < 0)
		return -1;
	pr->long_cache_write_5m = pr->long_input * 5 / 4;
	pr->long_cache_write_1h = pr->long_input * 2;
	pr->long_cache_read = pr->long_input / 10;
	if (pricing_read_usd(x, obj, path, "long_cache_write_5m", &pr->long_cache_write_5m) < 0 ||
	    pricing_read_usd(x, obj, path, "long_cache_write_1h", &pr->long_cache_write_1h) < 0 ||
	    pricing_read_usd(x, obj, path, "long_cache_read", &pr->long_cache_read) < 0)
		return -1;
	return 0;
}

static int
pricing_parse_price(const struct jsoncheck *x, const cJSON *obj, struct price *pr)
{
	char *path = xasprintf("prices.%s", obj->string);
	int rc = -1;
	if (!cJSON_IsObject(obj)) {
		jsoncheck_fail(x, path, NULL, "an object like {\"input\": 3, \"output\": 15}");
		goto out;
	}
	if (jsoncheck_keys(x, obj, path, price_keys) < 0)
		goto out;
	memset(pr, 0, sizeof(*pr));
	static const char *const required[] = { "input", "output" };
	int64_t *req[] = { &pr->input, &pr->output };
	for (int i = 0; i < 2; i++) {
		int r = pricing_read_usd(x, obj, path, required[i], req[i]);
		if (r == 0)
			jsoncheck_fail(x, path, required[i], "a number of USD per million tokens "
			    "(required)");
		if (r <= 0)
			goto out;
	}
	pr->cache_write_5m = pr->input * 5 / 4;
	pr->cache_write_1h = pr->input * 2;
	pr->cache_read = pr->input / 10;
	if (pricing_read_usd(x, obj, path, "cache_write_5m", &pr->cache_write_5m) < 0 ||
	    pricing_read_usd(x, obj, path, "cache_write_1h", &pr->cache_write_1h) < 0 ||
	    pricing_read_usd(x, obj, path, "cache_read", &pr->cache_read) < 0)
		goto out;
	rc = pricing_parse_long(x, obj, path, pr);
out:
	free(path);
	return rc;
}

int
pricing_load(pricing_t *p, const struct cJSON *obj, char **err)
{
	struct jsoncheck x = { NULL, err };
	*err = NULL;
	if (obj == NULL)
		return 0;
	if (!cJSON_IsObject(obj))
		return jsoncheck_fail(&x, "prices", NULL, "an object of model ids");
	/* validate everything first so a bad entry changes nothing */
	int n = cJSON_GetArraySize(obj);
	struct price *tmp = xcalloc((size_t)n + 1, sizeof(*tmp));
	const cJSON *it;
	int i = 0;
	cJSON_ArrayForEach(it, obj) {
		if (it->string == NULL || it->string[0] == '\0') {
			jsoncheck_fail(&x, "prices", NULL, "non-empty model ids");
			free(tmp);
			return -1;
		}
		if (pricing_parse_price(&x, it, &tmp[i]) < 0) {
			free(tmp);
			return -1;
		}
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(it, obj) {
		char id[MODEL_ID_MAX];
		model_normalise(it->string, id);
		pricing_add_entry(p, id, &tmp[i++]);
	}
	free(tmp);
	return 0;
}
