/*
 * sidebar: formats the live metrics as lines: workspace totals, one block
 * per pane (tokens by kind, cost, requests, 429 and 529 apart, retries,
 * fallbacks, last error) and rate-limit headroom per API key.
 */
#include "sidebar.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void
sidebar_humanize(int64_t n, char *buf, size_t len)
{
	const char *sign = n < 0 ? "-" : "";
	double v = n < 0 ? -(double)n : (double)n;
	if (v < 1000)
		snprintf(buf, len, "%s%lld", sign, (long long)v);
	else if (v < 999950)
		snprintf(buf, len, "%s%.1fk", sign, v / 1e3);
	else if (v < 999950000)
		snprintf(buf, len, "%s%.1fM", sign, v / 1e6);
	else
		snprintf(buf, len, "%s%.1fG", sign, v / 1e9);
}

void
sidebar_countdown(double secs, char *buf, size_t len)
{
	if (secs <= 0) {
		snprintf(buf, len, "now");
		return;
	}
	long s = (long)(secs + 0.5);
	if (s < 60)
		snprintf(buf, len, "%lds", s);
	else if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

struct out {
	struct sidebar_line *lines;
	int n, max, cols;
};

static void
emit(struct out *o, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
emit(struct out *o, int kind, const char *fmt, ...)
{
	if (o->n >= o->max)
		return;
	struct sidebar_line *l = &o->lines[o->n++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof l->text, fmt, ap);
	va_end(ap);
	l->kind = kind;
}

static void
emit_counts(struct out *o, const struct stats_counts *c)
{
	char in[16], out[16], cr[16], cw[16], usd[24];
	sidebar_humanize(c->input_tokens, in, sizeof in);
	sidebar_humanize(c->output_tokens, out, sizeof out);
	sidebar_humanize(c->cache_read_tokens, cr, sizeof cr);
	sidebar_humanize(c->cache_write_5m_tokens + c->cache_write_1h_tokens, cw, sizeof cw);
	util_fmt_usd(c->cost_micros, usd, sizeof usd);
	emit(o, SIDEBAR_TEXT, "  in %s  out %s", in, out);
	emit(o, SIDEBAR_TEXT, "  cache r %s  w %s", cr, cw);
	emit(o, SIDEBAR_BOLD, "  %s%s  %lld req", usd, c->unpriced ? " +unpriced" : "",
	    (long long)c->requests);
	int kind = (c->err_429 || c->err_529) ? SIDEBAR_WARN : SIDEBAR_DIM;
	emit(o, kind, "  429 %lld  529 %lld  retry %lld", (long long)c->err_429,
	    (long long)c->err_529, (long long)c->retries);
	if (c->fallbacks || c->refused)
		emit(o, SIDEBAR_WARN, "  fallback %lld  refused %lld", (long long)c->fallbacks,
		    (long long)c->refused);
	if (c->inflight > 0)
		emit(o, SIDEBAR_DIM, "  %lld in flight", (long long)c->inflight);
	if (c->last_error[0] != '\0')
		emit(o, SIDEBAR_ERROR, "  ! %s", c->last_error);
}

static void
emit_ratelimit(struct out *o, const struct rl_state *st, double now)
{
	char cd[24];
	emit(o, SIDEBAR_BOLD, " key %.8s", st->key_hash);
	const struct { const char *name; const struct rl_bucket *b; } rows[] = {
		{ "req", &st->requests }, { "in", &st->input_tokens },
		{ "out", &st->output_tokens }, { "tok", &st->tokens },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(rows); i++) {
		const struct rl_bucket *b = rows[i].b;
		if (b->limit <= 0 || b->remaining < 0)
			continue;
		char rem[16], lim[16];
		sidebar_humanize(b->remaining, rem, sizeof rem);
		sidebar_humanize(b->limit, lim, sizeof lim);
		sidebar_countdown(b->reset - now, cd, sizeof cd);
		int kind = b->remaining * 10 < b->limit ? SIDEBAR_WARN : SIDEBAR_TEXT;
		emit(o, kind, "  %-3s %s/%s  reset %s", rows[i].name, rem, lim, b->reset > 0 ? cd : "?");
	}
	if (st->w5h.utilization >= 0)
		emit(o, SIDEBAR_TEXT, "  5h %.0f%%  7d %.0f%%", st->w5h.utilization * 100,
		    st->w7d.utilization >= 0 ? st->w7d.utilization * 100 : 0);
	if (st->retry_after_until > now) {
		sidebar_countdown(st->retry_after_until - now, cd, sizeof cd);
		emit(o, SIDEBAR_WARN, "  paced: retry in %s", cd);
	}
}

int
sidebar_build(const struct sidebar_input *in, int cols, struct sidebar_line *lines, int max)
{
	struct out o = { lines, 0, max, cols };
	if (in->snap == NULL) {
		emit(&o, SIDEBAR_BOLD, " tokmux");
		emit(&o, SIDEBAR_DIM, " metering gateway off");
		return o.n;
	}
	char usd[24];
	util_fmt_usd(in->snap->total.cost_micros, usd, sizeof usd);
	emit(&o, SIDEBAR_BOLD, " tokmux  total %s", usd);
	int64_t burn = in->snap->cost_last_10min_micros * 6;   /* per hour */
	util_fmt_usd(burn, usd, sizeof usd);
	emit(&o, SIDEBAR_DIM, " burn %s/h (last 10 min)", usd);
	emit_counts(&o, &in->snap->total);
	for (int i = 0; i < in->npanes; i++) {
		const struct sidebar_pane *p = &in->panes[i];
		emit(&o, SIDEBAR_TEXT, "%s", "");
		emit(&o, p->focused ? SIDEBAR_BOLD : SIDEBAR_TEXT, "%s%d %s%s",
		    p->focused ? (in->utf8 ? "\xe2\x96\xb6" : ">") : " ", i + 1, p->name,
		    p->exited ? " (exited)" : "");
		if (p->route < 0 || p->route >= in->snap->nroutes) {
			emit(&o, SIDEBAR_DIM, "  no gateway route");
			continue;
		}
		const struct stats_counts *c = &in->snap->route[p->route];
		if (c->last_model[0] != '\0')
			emit(&o, SIDEBAR_DIM, "  %s", c->last_model);
		emit_counts(&o, c);
	}
	for (int i = 0; i < in->nrl; i++) {
		if (in->rl[i].key_hash[0] == '\0' || in->rl[i].updated <= 0)
			continue;
		emit(&o, SIDEBAR_TEXT, "%s", "");
		emit_ratelimit(&o, &in->rl[i], in->now);
	}
	return o.n;
}
