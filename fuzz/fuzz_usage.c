/*
 * fuzz_usage: upstream response bodies through the usage parser (and the
 * SSE scanner inside it) fed in the chunking a network gives, then priced
 * the way meter does (pricing_cost on what the parser read).
 *
 * Input: byte 0 chooses the API (bits 0-1: Messages, count_tokens, chat
 * completions, responses), the form (bit 2: SSE stream, else one JSON
 * body) and the chunk size (bits 3-7: 1..32 bytes, 0 = the rest at once);
 * the rest is the body. The seeds are the tests/fixtures files (SSE and JSON).
 * Checks: counts are never negative, the total never wraps, strings are
 * terminated, a cost is never negative.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pricing.h"
#include "sse.h"
#include "usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_usage_check(const struct usage *u)
{
	if (u->input_tokens < 0 || u->output_tokens < 0 || u->cache_read_tokens < 0 ||
	    u->cache_write_5m_tokens < 0 || u->cache_write_1h_tokens < 0 ||
	    u->reasoning_tokens < 0 || u->web_search_requests < 0)
		abort();
	if (usage_total_tokens(u) < 0)
		abort();
	if (memchr(u->model, 0, sizeof u->model) == NULL ||
	    memchr(u->request_id, 0, sizeof u->request_id) == NULL ||
	    memchr(u->error_type, 0, sizeof u->error_type) == NULL ||
	    memchr(u->stop_reason, 0, sizeof u->stop_reason) == NULL)
		abort();
	(void)usage_stop_kind(u->stop_reason);
}

static void
fz_usage_event(void *user, const struct sse_event *ev)
{
	size_t *n = user;

	if (ev->data[ev->len] != '\0' || strlen(ev->name) >= SSE_NAME_MAX)
		abort();
	(*n)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pricing_t *pricing;
	struct usage u;
	struct sse s;
	size_t off, step, events = 0;
	int64_t micros;

	if (size < 1)
		return 0;
	if (pricing == NULL)
		pricing = pricing_new();      /* read-only after this: kept */
	enum api_kind kind = (enum api_kind)(API_ANTHROPIC_MESSAGES + (data[0] & 3));
	int streaming = (data[0] >> 2) & 1;
	step = data[0] >> 3;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;

	usage_parser_t *p = usage_parser_new(kind, streaming);
	sse_init(&s, 4096, fz_usage_event, &events);
	for (off = 0; off < len; off += step) {
		if (step == 0 || step > len - off)
			step = len - off;
		usage_parser_feed(p, body + off, step);
		sse_feed(&s, body + off, step);
		if (off == 0)
			(void)usage_parser_saw_content(p);
	}
	usage_parser_result(p, &u);
	fz_usage_check(&u);
	if (pricing_cost(pricing, u.model, &u, &micros) == 0 && micros < 0)
		abort();
	usage_parser_free(p);
	sse_free(&s);
	(void)sse_first(body, len, fz_usage_event, &events);
	return 0;
}
