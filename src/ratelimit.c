/*
 * ratelimit: owns parsing of rate-limit response headers (Anthropic API-key
 * and subscription "unified" headers, OpenAI x-ratelimit-*, retry-after) and
 * the per-key table of the latest known state. The table has a fixed number
 * of slots; when full, the least recently updated key is evicted.
 */
#include "ratelimit.h"

#include <ctype.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

void
rl_state_init(struct rl_state *st)
{
	memset(st, 0, sizeof(*st));
	struct rl_bucket *b[] = { &st->requests, &st->tokens, &st->input_tokens, &st->output_tokens };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(b); i++)
		b[i]->limit = b[i]->remaining = -1;
	st->w5h.utilization = st->w7d.utilization = -1;
}

/* ---- value parsers ---- */

static const char *
ratelimit_skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int
ratelimit_only_ws(const char *s)
{
	return *ratelimit_skip_ws(s) == '\0';
}

/* A non-negative decimal integer, nothing else. */
static int
ratelimit_parse_count(const char *s, int64_t *out)
{
	s = ratelimit_skip_ws(s);
	if (!isdigit((unsigned char)*s))
		return 0;
	int64_t v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	if (!ratelimit_only_ws(s))
		return 0;
	*out = v;
	return 1;
}

/* A finite non-negative decimal number ("1", "0.42", "1.5"), nothing else. */
static int
ratelimit_parse_number(const char *s, double *out)
{
	s = ratelimit_skip_ws(s);
	if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
		return 0;
	char *end;
	double v = strtod(s, &end);
	if (end == s || !ratelimit_only_ws(end) || !isfinite(v) || v < 0)
		return 0;
	/* strtod also takes hex and exponents: allow only plain decimals */
	for (const char *p = s; p < end; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return 0;
	*out = v;
	return 1;
}

static int
ratelimit_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

double
ratelimit_parse_rfc3339(const char *s)
{
	if (s == NULL)
		return -1;
	s = ratelimit_skip_ws(s);
	int Y, M, D, h, m, sec;
	if (strlen(s) < 20 || !ratelimit_digits(s, 4, &Y) || s[4] != '-' || !ratelimit_digits(s + 5, 2, &M) ||
	    s[7] != '-' || !ratelimit_digits(s + 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !ratelimit_digits(s + 11, 2, &h) || s[13] != ':' || !ratelimit_digits(s + 14, 2, &m) ||
	    s[16] != ':' || !ratelimit_digits(s + 17, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	double frac = 0;
	if (*p == '.') {
		double scale = 0.1;
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	int offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!ratelimit_digits(p + 1, 2, &oh) || p[3] != ':' || !ratelimit_digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (!ratelimit_only_ws(p))
		return -1;
	struct tm tm = { 0 };
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != D)   /* timegm normalised Feb 30 etc. */
		return -1;
	return (double)t - offset + frac;
}

double
ratelimit_parse_duration(const char *s)
{
	if (s == NULL)
		return -1;
	s = ratelimit_skip_ws(s);
	if (s[0] == '0' && ratelimit_only_ws(s + 1))
		return 0;
	double total = 0;
	int parts = 0;
	while (*s != '\0' && *s != ' ' && *s != '\t') {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		char *end;
		double v = strtod(s, &end);
		if (end == s || !isfinite(v) || v < 0)
			return -1;
		for (const char *p = s; p < end; p++)
			if (!isdigit((unsigned char)*p) && *p != '.')
				return -1;
		s = end;
		double unit;
		if (strncmp(s, "ms", 2) == 0) {
			unit = 1e-3;
			s += 2;
		} else if (strncmp(s, "us", 2) == 0) {
			unit = 1e-6;
			s += 2;
		} else if (strncmp(s, "\xc2\xb5s", 3) == 0) {  /* µs */
			unit = 1e-6;
			s += 3;
		} else if (strncmp(s, "ns", 2) == 0) {
			unit = 1e-9;
			s += 2;
		} else if (*s == 'h') {
			unit = 3600;
			s++;
		} else if (*s == 'm') {
			unit = 60;
			s++;
		} else if (*s == 's') {
			unit = 1;
			s++;
		} else {
			return -1;
		}
		total += v * unit;
		parts++;
	}
	if (parts == 0 || !ratelimit_only_ws(s))
		return -1;
	return UTIL_MIN(total, RATELIMIT_MAX_RESET);
}

double
ratelimit_parse_retry_after(const char *value, double now)
{
	double v;
	if (value == NULL)
		return -1;
	if (ratelimit_parse_number(value, &v))
		return UTIL_MIN(v, RATELIMIT_MAX_RETRY_AFTER);
	/* HTTP-date: IMF-fixdate, RFC 850, asctime */
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT",
		"%A, %d-%b-%y %H:%M:%S GMT",
		"%a %b %e %H:%M:%S %Y",
	};
	const char *s = ratelimit_skip_ws(value);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(fmts); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, fmts[i], &tm);
		if (end == NULL || !ratelimit_only_ws(end))
			continue;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			continue;
		double d = (double)t - now;
		return d > 0 ? UTIL_MIN(d, RATELIMIT_MAX_RETRY_AFTER) : 0;
	}
	return -1;
}

double
ratelimit_parse_retry_after_ms(const char *value)
{
	double v;
	if (value == NULL || !ratelimit_parse_number(value, &v))
		return -1;
	return UTIL_MIN(v / 1000, RATELIMIT_MAX_RETRY_AFTER);
}

/* An absolute reset time: RFC 3339, or epoch seconds; no later than
 * RATELIMIT_MAX_RESET from now. */
static double
ratelimit_parse_reset_abs(const char *value, double now)
{
	double v = ratelimit_parse_rfc3339(value);
	if (v < 0 && !(ratelimit_parse_number(value, &v) && v > 0))
		return -1;
	return UTIL_MIN(v, now + RATELIMIT_MAX_RESET);
}

static void
ratelimit_copy_word(char *dst, size_t len, const char *src)
{
	src = ratelimit_skip_ws(src);
	size_t n = 0;
	while (*src != '\0' && n + 1 < len) {
		unsigned char c = (unsigned char)*src++;
		if (c <= ' ' || c >= 0x7f)
			break;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
}

/* ---- headers ---- */

static int
ratelimit_bucket_field(struct rl_bucket *b, const char *field, const char *value, int relative_reset,
    double now)
{
	int64_t n;
	double d;
	if (strcmp(field, "limit") == 0) {
		if (!ratelimit_parse_count(value, &n))
			return 0;
		b->limit = n;
	} else if (strcmp(field, "remaining") == 0) {
		if (!ratelimit_parse_count(value, &n))
			return 0;
		b->remaining = n;
	} else if (strcmp(field, "reset") == 0) {
		if (relative_reset) {
			d = ratelimit_parse_duration(value);
			if (d < 0 && !ratelimit_parse_number(value, &d))
				return 0;
			b->reset = now + UTIL_MIN(d, RATELIMIT_MAX_RESET);
		} else {
			d = ratelimit_parse_reset_abs(value, now);
			if (d < 0)
				return 0;
			b->reset = d;
		}
	} else {
		return 0;
	}
	return 1;
}

static int
ratelimit_window_field(struct rl_window *w, const char *field, const char *value, double now)
{
	double d;
	if (strcmp(field, "utilization") == 0) {
		if (!ratelimit_parse_number(value, &d))
			return 0;
		w->utilization = UTIL_MIN(d, 1.0);   /* 0..1: a bar's length */
	} else if (strcmp(field, "reset") == 0) {
		if ((d = ratelimit_parse_reset_abs(value, now)) < 0)
			return 0;
		w->reset = d;
	} else if (strcmp(field, "status") == 0) {
		ratelimit_copy_word(w->status, sizeof(w->status), value);
	} else {
		return 0;
	}
	return 1;
}

/* anthropic-ratelimit-unified-<rest> */
static int
ratelimit_unified(struct rl_state *st, const char *rest, const char *value, double now)
{
	double d;
	if (strcmp(rest, "status") == 0) {
		ratelimit_copy_word(st->unified_status, sizeof(st->unified_status), value);
		return 1;
	}
	if (strcmp(rest, "reset") == 0) {
		if ((d = ratelimit_parse_reset_abs(value, now)) < 0)
			return 0;
		st->unified_reset = d;
		return 1;
	}
	if (strcmp(rest, "representative-claim") == 0) {
		ratelimit_copy_word(st->unified_claim, sizeof(st->unified_claim), value);
		return 1;
	}
	if (strncmp(rest, "5h-", 3) == 0)
		return ratelimit_window_field(&st->w5h, rest + 3, value, now);
	if (strncmp(rest, "7d-", 3) == 0)
		return ratelimit_window_field(&st->w7d, rest + 3, value, now);
	return 0;   /* per-model windows, overage, fallback: not kept */
}

/* Returns 1 if stored, 0 if the value was not usable, -1 if the name is
 * not a rate-limit header at all. */
static int
ratelimit_parse_known(struct rl_state *st, const char *n, const char *value, double now)
{
	static const struct {
		const char *prefix;
		size_t off;
	} anth[] = {
		{ "anthropic-ratelimit-input-tokens-", offsetof(struct rl_state, input_tokens) },
		{ "anthropic-ratelimit-output-tokens-", offsetof(struct rl_state, output_tokens) },
		{ "anthropic-ratelimit-requests-", offsetof(struct rl_state, requests) },
		{ "anthropic-ratelimit-tokens-", offsetof(struct rl_state, tokens) },
	};
	double d;
	if (strncmp(n, "anthropic-ratelimit-unified-", 28) == 0)
		return ratelimit_unified(st, n + 28, value, now);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(anth); i++) {
		size_t k = strlen(anth[i].prefix);
		if (strncmp(n, anth[i].prefix, k) == 0)
			return ratelimit_bucket_field((struct rl_bucket *)((char *)st + anth[i].off),
			    n + k, value, 0, now);
	}
	if (strncmp(n, "anthropic-ratelimit-", 20) == 0 ||
	    strncmp(n, "anthropic-priority-", 19) == 0)
		return 0;
	if (strcmp(n, "retry-after") == 0) {
		if ((d = ratelimit_parse_retry_after(value, now)) < 0)
			return 0;
		st->retry_after_until = now + d;
		return 1;
	}
	if (strcmp(n, "retry-after-ms") == 0) {
		if ((d = ratelimit_parse_retry_after_ms(value)) < 0)
			return 0;
		st->retry_after_until = now + d;
		return 1;
	}
	if (strncmp(n, "x-ratelimit-", 12) == 0) {
		const char *r = n + 12;
		static const char *const fields[] = { "limit", "remaining", "reset" };
		for (size_t i = 0; i < UTIL_ARRAY_LEN(fields); i++) {
			size_t k = strlen(fields[i]);
			if (strncmp(r, fields[i], k) != 0 || r[k] != '-')
				continue;
			const char *what = r + k + 1;
			struct rl_bucket *b = strcmp(what, "requests") == 0 ? &st->requests
			    : strcmp(what, "tokens") == 0 ? &st->tokens : NULL;
			return b != NULL ? ratelimit_bucket_field(b, fields[i], value, 1, now) : 0;
		}
		return 0;
	}
	return -1;
}

int
ratelimit_parse_header(struct rl_state *st, const char *name, const char *value, double now)
{
	char n[96];
	if (name == NULL || value == NULL)
		return 0;
	size_t len = strlen(name);
	if (len >= sizeof(n))
		return 0;
	for (size_t i = 0; i <= len; i++)
		n[i] = (char)tolower((unsigned char)name[i]);
	int r = ratelimit_parse_known(st, n, value, now);
	if (r < 0)
		return 0;
	if (r > 0)
		st->updated = now;
	return 1;
}

double
ratelimit_not_before(const struct rl_state *st, double now)
{
	double t = 0;
	if (st->retry_after_until > now)
		t = st->retry_after_until;
	const struct rl_bucket *b[] = { &st->requests, &st->tokens, &st->input_tokens,
	    &st->output_tokens };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(b); i++)
		if (b[i]->remaining == 0 && b[i]->reset > now)
			t = UTIL_MAX(t, b[i]->reset);
	if (strcmp(st->unified_status, "rejected") == 0 && st->unified_reset > now)
		t = UTIL_MAX(t, st->unified_reset);
	return t;
}

/* ---- table ---- */

struct rl_table {
	pthread_mutex_t lock;
	struct rl_state st[RATELIMIT_MAX_KEYS];
	uint64_t touched[RATELIMIT_MAX_KEYS];    /* merge sequence, for eviction */
	uint64_t seq;
};

rl_table_t *
rl_table_new(void)
{
	rl_table_t *t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	for (int i = 0; i < RATELIMIT_MAX_KEYS; i++)
		rl_state_init(&t->st[i]);
	return t;
}

void
rl_table_free(rl_table_t *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void
ratelimit_merge_bucket(struct rl_bucket *d, const struct rl_bucket *s)
{
	if (s->limit >= 0)
		d->limit = s->limit;
	if (s->remaining >= 0)
		d->remaining = s->remaining;
	if (s->reset > 0)
		d->reset = s->reset;
}

static void
ratelimit_merge_window(struct rl_window *d, const struct rl_window *s)
{
	if (s->utilization >= 0)
		d->utilization = s->utilization;
	if (s->reset > 0)
		d->reset = s->reset;
	if (s->status[0] != '\0')
		memcpy(d->status, s->status, sizeof(d->status));
}

static void
ratelimit_merge_state(struct rl_state *d, const struct rl_state *s)
{
	ratelimit_merge_bucket(&d->requests, &s->requests);
	ratelimit_merge_bucket(&d->tokens, &s->tokens);
	ratelimit_merge_bucket(&d->input_tokens, &s->input_tokens);
	ratelimit_merge_bucket(&d->output_tokens, &s->output_tokens);
	if (s->retry_after_until > 0)
		d->retry_after_until = s->retry_after_until;
	if (s->unified_status[0] != '\0')
		memcpy(d->unified_status, s->unified_status, sizeof(d->unified_status));
	if (s->unified_claim[0] != '\0')
		memcpy(d->unified_claim, s->unified_claim, sizeof(d->unified_claim));
	if (s->unified_reset > 0)
		d->unified_reset = s->unified_reset;
	ratelimit_merge_window(&d->w5h, &s->w5h);
	ratelimit_merge_window(&d->w7d, &s->w7d);
	if (s->updated > d->updated)
		d->updated = s->updated;
}

void
rl_table_merge(rl_table_t *t, const struct rl_state *src)
{
	if (src->key_hash[0] == '\0')
		return;    /* no key to file it under */
	pthread_mutex_lock(&t->lock);
	int slot = -1, oldest = 0;
	for (int i = 0; i < RATELIMIT_MAX_KEYS; i++) {
		if (strncmp(t->st[i].key_hash, src->key_hash, sizeof(src->key_hash)) == 0) {
			slot = i;
			break;
		}
		if (t->touched[i] < t->touched[oldest])
			oldest = i;   /* unused slots have touched 0 */
	}
	if (slot < 0) {
		slot = oldest;
		rl_state_init(&t->st[slot]);
		snprintf(t->st[slot].key_hash, sizeof(t->st[slot].key_hash), "%s", src->key_hash);
	}
	ratelimit_merge_state(&t->st[slot], src);
	t->touched[slot] = ++t->seq;
	pthread_mutex_unlock(&t->lock);
}

int
rl_table_get(rl_table_t *t, const char *key_hash, struct rl_state *out)
{
	int found = 0;
	if (key_hash == NULL || key_hash[0] == '\0')
		return 0;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < RATELIMIT_MAX_KEYS; i++) {
		if (t->touched[i] != 0 && strcmp(t->st[i].key_hash, key_hash) == 0) {
			*out = t->st[i];
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

int
rl_table_snapshot(rl_table_t *t, struct rl_state *out, int max)
{
	int n = 0;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < RATELIMIT_MAX_KEYS && n < max; i++)
		if (t->touched[i] != 0)
			out[n++] = t->st[i];
	pthread_mutex_unlock(&t->lock);
	return n;
}

const struct rl_window *
ratelimit_binding(const struct rl_state *st, const char **label)
{
	int have5 = st->w5h.utilization >= 0, have7 = st->w7d.utilization >= 0;
	int pick7;
	if (!have5 && !have7)
		return NULL;
	if (strncmp(st->unified_claim, "five_hour", 9) == 0 && have5)
		pick7 = 0;
	else if (strncmp(st->unified_claim, "seven_day", 9) == 0 && have7)
		pick7 = 1;
	else
		pick7 = !have5 || (have7 && st->w7d.utilization > st->w5h.utilization);
	if (label != NULL)
		*label = pick7 ? "7d" : "5h";
	return pick7 ? &st->w7d : &st->w5h;
}
