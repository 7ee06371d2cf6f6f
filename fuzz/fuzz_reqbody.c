/*
 * fuzz_reqbody: agent request bodies through reqbody, as the gateway and
 * the policy read them: reqbody_read, the input bound, and the rewrites
 * that go upstream (another model, another output limit), plus the reads
 * of an attempt's reply the policy makes (a 429 that is a spend limit, a
 * stream that starts with an overload).
 *
 * Input: byte 0 chooses the API (bits 0-1) and the output limit of the
 * rewrite (bits 2-7: none, or 2^k tokens); the rest is the body.
 * Checks: the parse cost the gateway reserves covers the body, a verdict
 * is one of the three, the figures read are in range,
 * a rewrite of an object is again an object reqbody_read accepts with
 * the model it was given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reqbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_reqbody_check(const struct reqbody *rb, int rc)
{
	if (rc != REQBODY_OK && rc != REQBODY_NOT_OBJECT && rc != REQBODY_BAD)
		abort();
	if (memchr(rb->model, 0, sizeof rb->model) == NULL ||
	    memchr(rb->error, 0, sizeof rb->error) == NULL)
		abort();
	if (rc != REQBODY_OK)
		return;
	if (rb->max_tokens < -1 || rb->max_tokens > REQBODY_MAX_LIMIT ||
	    rb->choices < 1 || rb->choices > REQBODY_MAX_CHOICES ||
	    rb->image_bytes < 0 || rb->images < 0 || rb->bytes_1h < 0 ||
	    rb->bytes_1h > (int64_t)rb->len)
		abort();
}

static void
fz_reqbody_rewrite(const char *body, size_t len, enum api_kind api, int64_t limit)
{
	struct reqbody rb;
	size_t n;
	char *out = reqbody_prepare(body, len, api, "fuzz-model-1", limit, &n);

	if (out == NULL)
		return;
	int rc = reqbody_read(out, n, &rb);
	if (rc == REQBODY_NOT_OBJECT)
		abort();
	if (rc == REQBODY_OK && strcmp(rb.model, "fuzz-model-1") != 0)
		abort();
	free(out);
	out = reqbody_rewrite_model(body, len, "m", &n);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reqbody rb;
	int64_t tokens, tokens_1h;

	if (size < 1)
		return 0;
	enum api_kind api = (enum api_kind)(API_ANTHROPIC_MESSAGES + (data[0] & 3));
	int k = data[0] >> 2;
	int64_t limit = k == 0 ? -1 : (int64_t)1 << (k % 40);
	const char *body = (const char *)data + 1;
	size_t len = size - 1;

	if (reqbody_parse_cost(body, len) < len)
		abort();
	int rc = reqbody_read(body, len, &rb);
	fz_reqbody_check(&rb, rc);
	if (rc == REQBODY_OK) {
		reqbody_input_bound(&rb, 0, &tokens, &tokens_1h);
		if (tokens < 0 || tokens_1h < 0 || tokens_1h > tokens)
			abort();
		reqbody_input_bound(&rb, 0.3, &tokens, &tokens_1h);
		if (tokens < 0 || tokens_1h < 0)
			abort();
	}
	if (rc != REQBODY_NOT_OBJECT)
		fz_reqbody_rewrite(body, len, api, limit);
	(void)reqbody_is_spend_limit(body, len);
	(void)reqbody_first_event_overloaded(body, len);
	return 0;
}
