/*
 * fuzz_ratelimit: upstream response headers through the rate-limit parser
 * (ratelimit_parse_header and the retry-after, duration and RFC 3339
 * parsers under it), then what the policy asks of the state.
 *
 * Input: header lines "name: value" (LF-separated); a line without a colon
 * is given whole to the value parsers. Checks: every time read is finite,
 * never negative and at most RATELIMIT_MAX_RESET ahead (time values from
 * the network are clamped), a wait at most RATELIMIT_MAX_RETRY_AFTER,
 * utilizations stay 0..1 or -1, strings are terminated.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1800000000.0

static void
fz_rl_time(double t)
{
	if (!isfinite(t) || t < 0)
		abort();
	if (t > FZ_NOW + RATELIMIT_MAX_RESET)
		abort();
}

static void
fz_rl_bucket(const struct rl_bucket *b)
{
	fz_rl_time(b->reset);
	if (b->limit < -1 || b->remaining < -1)
		abort();
}

static void
fz_rl_window(const struct rl_window *w)
{
	fz_rl_time(w->reset);
	if (!(w->utilization == -1 || (w->utilization >= 0 && w->utilization <= 1)))
		abort();
	if (memchr(w->status, 0, sizeof w->status) == NULL)
		abort();
}

static void
fz_rl_check(const struct rl_state *st)
{
	const char *label;

	fz_rl_bucket(&st->requests);
	fz_rl_bucket(&st->tokens);
	fz_rl_bucket(&st->input_tokens);
	fz_rl_bucket(&st->output_tokens);
	fz_rl_window(&st->w5h);
	fz_rl_window(&st->w7d);
	fz_rl_time(st->retry_after_until);
	fz_rl_time(st->unified_reset);
	fz_rl_time(ratelimit_not_before(st, FZ_NOW));
	if (memchr(st->unified_status, 0, sizeof st->unified_status) == NULL ||
	    memchr(st->unified_claim, 0, sizeof st->unified_claim) == NULL)
		abort();
	(void)ratelimit_binding(st, &label);
}

static void
fz_rl_value(const char *v)
{
	double d = ratelimit_parse_retry_after(v, FZ_NOW);

	if (d != -1 && (!isfinite(d) || d < 0 || d > RATELIMIT_MAX_RETRY_AFTER))
		abort();
	d = ratelimit_parse_retry_after_ms(v);
	if (d != -1 && (!isfinite(d) || d < 0 || d > RATELIMIT_MAX_RETRY_AFTER))
		abort();
	d = ratelimit_parse_duration(v);
	if (d != -1 && (!isfinite(d) || d < 0 || d > RATELIMIT_MAX_RESET))
		abort();
	d = ratelimit_parse_rfc3339(v);
	if (d != -1 && !isfinite(d))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_state st, out;
	char *text = malloc(size + 1), *line, *next, *colon;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rl_state_init(&st);
	for (line = text; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (colon == NULL) {
			fz_rl_value(line);
			continue;
		}
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		(void)ratelimit_parse_header(&st, line, colon, FZ_NOW);
		fz_rl_check(&st);
	}
	rl_table_t *t = rl_table_new();
	memcpy(st.key_hash, "0123456789abcdef", 17);
	rl_table_merge(t, &st);
	if (rl_table_get(t, st.key_hash, &out) != 1)
		abort();
	fz_rl_check(&out);
	rl_table_free(t);
	free(text);
	return 0;
}
