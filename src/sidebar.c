/*
 * sidebar: formats the live metrics as lines: the workspace header (cost
 * against the workspace and daily ceilings as bars, burn rate, time left),
 * one block per pane (state, model, cost against its ceiling, tokens by
 * kind, requests, 429 and 529 apart, retries, fallbacks, last error,
 * tokens-per-minute sparkline) and rate-limit headroom per API key. Also
 * pane state detection, event detection and the narrow status line.
 */
#include "sidebar.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "util.h"

#define UTF8_SEP "\xc2\xb7"   /* middle dot */

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

int
sidebar_level(int64_t used, int64_t limit, double warn_at)
{
	if (limit <= 0)
		return 0;
	if (warn_at <= 0 || warn_at > 1)
		warn_at = 0.8;
	if (used >= limit)
		return 2;
	return (double)used >= warn_at * (double)limit ? 1 : 0;
}

/* Append s to buf[*pos..len), keeping it NUL-terminated. */
static void
sidebar_put(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	if (*pos + n >= len)
		return;
	memcpy(buf + *pos, s, n + 1);
	*pos += n;
}

size_t
sidebar_bar(double frac, int width, int utf8, char *buf, size_t len)
{
	static const char *eighths[8] = { "", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
		"\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89" };
	size_t pos = 0;
	if (len > 0)
		buf[0] = '\0';
	if (frac < 0 || frac != frac)
		frac = 0;
	if (frac > 1)
		frac = 1;
	int total = (int)(frac * width * 8 + 0.5);
	if (frac > 0 && total == 0)
		total = 1;     /* something spent shows */
	int full = total / 8, part = total % 8;
	for (int i = 0; i < width; i++) {
		if (i < full)
			sidebar_put(buf, len, &pos, utf8 ? "\xe2\x96\x88" : "#");
		else if (i == full && part > 0)
			sidebar_put(buf, len, &pos, utf8 ? eighths[part] : "#");
		else
			sidebar_put(buf, len, &pos, utf8 ? "\xe2\x96\x91" : "-");
	}
	return pos;
}

size_t
sidebar_sparkline(const int64_t *vals, int n, int width, int utf8, char *buf, size_t len)
{
	static const char *ascii = "_.-=+*%#";
	size_t pos = 0;
	if (len > 0)
		buf[0] = '\0';
	int first = n > width ? n - width : 0;
	int64_t max = 0;
	for (int i = first; i < n; i++)
		max = UTIL_MAX(max, vals[i]);
	for (int i = first; i < n; i++) {
		char cell[4] = " ";
		if (vals[i] > 0) {
			int h = (int)((vals[i] * 8 + max - 1) / max);   /* 1..8, rounding up */
			h = UTIL_MIN(UTIL_MAX(h, 1), 8);
			if (utf8) {
				cell[0] = '\xe2';
				cell[1] = '\x96';
				cell[2] = (char)(0x81 + h - 1);   /* U+2581..U+2588 */
				cell[3] = '\0';
			} else {
				cell[0] = ascii[h - 1];
			}
		}
		sidebar_put(buf, len, &pos, cell);
	}
	return pos;
}

int
sidebar_events(const struct stats_counts *b, const struct stats_counts *a)
{
	int ev = 0;
	if (a->refused > b->refused)
		ev |= SIDEBAR_EV_CEILING;
	if (a->fallbacks > b->fallbacks)
		ev |= SIDEBAR_EV_FALLBACK;
	if (a->err_429 > b->err_429)
		ev |= SIDEBAR_EV_PACED;
	return ev;
}

void
sidebar_event_text(int ev, int pane_no, const char *name, const struct stats_counts *c,
    char *buf, size_t len)
{
	char what[200] = "";
	size_t pos = 0;
	if (ev & SIDEBAR_EV_CEILING)
		sidebar_put(what, sizeof what, &pos, ", ceiling reached: request refused");
	if (ev & SIDEBAR_EV_FALLBACK) {
		char m[MODEL_ID_MAX + 16];
		snprintf(m, sizeof m, ", fell back to %s", c->last_model[0] ? c->last_model : "another model");
		sidebar_put(what, sizeof what, &pos, m);
	}
	if (ev & SIDEBAR_EV_PACED)
		sidebar_put(what, sizeof what, &pos, ", paced for a 429");
	char dflt[24];
	snprintf(dflt, sizeof dflt, "pane %d", pane_no);
	if (name == NULL || strcmp(name, dflt) == 0)
		name = "";     /* "pane 1 pane 1" says it twice */
	snprintf(buf, len, "pane %d%s%s%s", pane_no, name[0] ? " " : "", name, what);
	/* "pane 2 claude, ceiling ..." reads better as "pane 2 claude: ceiling ..." */
	char *comma = strstr(buf, ", ");
	if (comma != NULL)
		*comma = ':';
}

void
sidebar_recent_line(const struct stats_recent *r, char *buf, size_t len)
{
	if (r == NULL) {
		snprintf(buf, len, "%-8s %-24s %7s %7s %7s %9s %6s %s", "time", "model", "in", "out",
		    "cache", "cost", "status", "retries");
		return;
	}
	char tm[16] = "?", in[16], out[16], cache[16], usd[24], model[2 * MODEL_ID_MAX + 16];
	time_t t = (time_t)r->time;
	struct tm lt;
	if (localtime_r(&t, &lt) != NULL)
		strftime(tm, sizeof tm, "%H:%M:%S", &lt);
	sidebar_humanize(r->input_tokens, in, sizeof in);
	sidebar_humanize(r->output_tokens, out, sizeof out);
	sidebar_humanize(r->cache_read_tokens + r->cache_write_tokens, cache, sizeof cache);
	util_fmt_usd(r->cost_micros, usd, sizeof usd);
	if (r->model_asked[0] && strcmp(r->model_asked, r->model) != 0)
		snprintf(model, sizeof model, "%s (asked %s)", r->model, r->model_asked);
	else
		snprintf(model, sizeof model, "%s", r->model[0] ? r->model : "-");
	char st[16];
	if (r->refused)
		snprintf(st, sizeof st, "refus");
	else
		snprintf(st, sizeof st, "%d", r->status);
	char clamp[48] = "";
	if (r->clamped_from > 0) {
		char a[16], b[16];
		sidebar_humanize(r->out_limit, a, sizeof a);
		sidebar_humanize(r->clamped_from, b, sizeof b);
		snprintf(clamp, sizeof clamp, " clamped %s<%s", a, b);
	}
	snprintf(buf, len, "%-8s %-24s %7s %7s %7s %8s%s %6s %d%s%s%s", tm, model, in, out, cache, usd,
	    r->priced ? " " : "?", st, r->retries,
	    r->n429 || r->n529 ? (r->n429 ? " 429" : " 529") : "",
	    r->fallbacks ? " fb" : "", clamp);
}

/* ---- lines ---- */

struct out {
	struct sidebar_line *lines;
	int n, max, cols, utf8;
	double warn_at;
};

static struct sidebar_line *
sidebar_emit(struct out *o, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static struct sidebar_line *
sidebar_emit(struct out *o, int kind, const char *fmt, ...)
{
	if (o->n >= o->max)
		return NULL;
	struct sidebar_line *l = &o->lines[o->n++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof l->text, fmt, ap);
	va_end(ap);
	l->kind = kind;
	l->nseg = 0;
	return l;
}

/* Display columns of UTF-8 text (every code point counts 1: all ours do). */
static int
sidebar_text_cols(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
sidebar_seg_add(struct sidebar_line *l, size_t off, size_t len, int kind)
{
	if (l == NULL || l->nseg >= SIDEBAR_MAX_SEGS || off + len > sizeof l->text)
		return;
	l->seg[l->nseg++] = (struct sidebar_seg){ (unsigned short)off, (unsigned short)len,
		(unsigned char)kind };
}

/* "<label> <bar> <figures>": the bar takes the room left, at least 4 cells. */
static void
sidebar_emit_bar(struct out *o, int kind, const char *label, double frac, int level,
    const char *figures)
{
	int w = o->cols - sidebar_text_cols(label) - sidebar_text_cols(figures) - 2;
	w = UTIL_MAX(4, UTIL_MIN(w, 24));
	char bar[24 * 3 + 1];
	sidebar_bar(frac, w, o->utf8, bar, sizeof bar);
	struct sidebar_line *l = sidebar_emit(o, kind, "%s%s %s", label, bar, figures);
	sidebar_seg_add(l, strlen(label), strlen(bar),
	    level == 2 ? SIDEBAR_BAR_OVER : level == 1 ? SIDEBAR_BAR_WARN : SIDEBAR_BAR_OK);
}

static void
sidebar_emit_cost_bar(struct out *o, const char *label, int64_t spent, int64_t ceiling,
    int estimate)
{
	char s[24], c[24], fig[64];
	util_fmt_usd(spent, s, sizeof s);
	util_fmt_usd(ceiling, c, sizeof c);
	snprintf(fig, sizeof fig, "%s%s/%s", estimate ? "~" : "", s, c);
	sidebar_emit_bar(o, SIDEBAR_TEXT, label, (double)spent / (double)ceiling,
	    sidebar_level(spent, ceiling, o->warn_at), fig);
}

static void
sidebar_emit_tokens(struct out *o, const struct stats_counts *c)
{
	char in[16], out[16], cr[16], cw[16];
	sidebar_humanize(c->input_tokens, in, sizeof in);
	sidebar_humanize(c->output_tokens, out, sizeof out);
	sidebar_humanize(c->cache_read_tokens, cr, sizeof cr);
	sidebar_humanize(c->cache_write_5m_tokens + c->cache_write_1h_tokens, cw, sizeof cw);
	char one[96];
	snprintf(one, sizeof one, "  in %s out %s cr %s cw %s", in, out, cr, cw);
	if (sidebar_text_cols(one) <= o->cols) {
		sidebar_emit(o, SIDEBAR_TEXT, "%s", one);
	} else {
		sidebar_emit(o, SIDEBAR_TEXT, "  in %s  out %s", in, out);
		sidebar_emit(o, SIDEBAR_TEXT, "  cache r %s  w %s", cr, cw);
	}
}

static void
sidebar_emit_requests(struct out *o, const struct stats_counts *c)
{
	int kind = (c->err_429 || c->err_529) ? SIDEBAR_WARN : SIDEBAR_DIM;
	sidebar_emit(o, kind, "  %lld req  429 %lld  529 %lld  retry %lld", (long long)c->requests,
	    (long long)c->err_429, (long long)c->err_529, (long long)c->retries);
	if (c->fallbacks || c->refused)
		sidebar_emit(o, SIDEBAR_WARN, "  fallback %lld  refused %lld", (long long)c->fallbacks,
		    (long long)c->refused);
	if (c->clamped)
		sidebar_emit(o, SIDEBAR_WARN, "  clamped %lld (limit lowered)",
		    (long long)c->clamped);
	if (c->last_error[0] != '\0')
		sidebar_emit(o, SIDEBAR_ERROR, "  ! %s", c->last_error);
}

/* Cost line of a pane: a bar of what its ceiling counts (the charge of
 * each request, at least its cost) against the ceiling if there is one,
 * "blocked" for a zero ceiling, and the money held by requests in flight
 * (the policy's reservations, live). */
static void
sidebar_emit_cost(struct out *o, const struct stats_counts *c, int64_t ceiling)
{
	char usd[24];
	int estimate = c->unpriced > 0;
	int64_t spent = UTIL_MAX(c->cost_micros, c->policy.spent_micros);
	if (ceiling == 0) {
		util_fmt_usd(spent, usd, sizeof usd);
		sidebar_emit(o, SIDEBAR_ERROR, "  %s%s  blocked: ceiling $0", estimate ? "~" : "", usd);
	} else if (ceiling > 0) {
		sidebar_emit_cost_bar(o, "  ", spent, ceiling, estimate);
	} else {
		util_fmt_usd(c->cost_micros, usd, sizeof usd);
		sidebar_emit(o, SIDEBAR_BOLD, "  %s%s  no ceiling", estimate ? "~" : "", usd);
	}
	if (c->unpriced > 0)
		sidebar_emit(o, SIDEBAR_DIM, "  ~ %lld unpriced req (not in cost)", (long long)c->unpriced);
	if (c->inflight > 0 || c->policy.reserved_micros > 0) {
		util_fmt_usd(c->policy.reserved_micros, usd, sizeof usd);
		sidebar_emit(o, SIDEBAR_DIM, "  %lld in flight, %s reserved", (long long)c->inflight, usd);
	}
}

static void
sidebar_emit_spark(struct out *o, const struct stats_counts *c)
{
	int64_t vals[STATS_HISTORY_MIN], peak = 0;
	for (int i = 0; i < STATS_HISTORY_MIN; i++) {
		vals[i] = c->tokens_per_min[STATS_HISTORY_MIN - 1 - i];   /* oldest first */
		peak = UTIL_MAX(peak, vals[i]);
	}
	if (peak == 0)
		return;
	char pk[16], spark[STATS_HISTORY_MIN * 3 + 1];
	sidebar_humanize(peak, pk, sizeof pk);
	int w = UTIL_MIN(STATS_HISTORY_MIN, o->cols - 3 - sidebar_text_cols(pk));
	if (w < 4)
		return;
	sidebar_sparkline(vals, STATS_HISTORY_MIN, w, o->utf8, spark, sizeof spark);
	struct sidebar_line *l = sidebar_emit(o, SIDEBAR_DIM, "  %s %s", spark, pk);
	sidebar_seg_add(l, 2, strlen(spark), SIDEBAR_SPARK);
}

/* "claude-haiku-4-5-20251001" -> "haiku-4-5": the family and version of a
 * Claude id, else the id. */
static const char *
sidebar_short_model(const char *id)
{
	const char *fam = model_family(id);
	const char *p = fam != NULL ? strstr(id, fam) : NULL;
	return p != NULL ? p : id;
}

void
sidebar_diff_figures(const struct sidebar_worktree *w, int utf8, char *buf, size_t len)
{
	snprintf(buf, len, "%s%d file%s +%lld %s%lld", !w->partial ? "" : utf8 ? "\xe2\x89\xa5 " : ">= ",
	    w->files, w->files == 1 ? "" : "s", (long long)w->added, utf8 ? "\xe2\x88\x92" : "-",
	    (long long)w->removed);
}

/* A worktree pane's branch and its change against the branch point. */
static void
sidebar_emit_worktree(struct out *o, const struct sidebar_worktree *w)
{
	if (w->note != NULL)
		sidebar_emit(o, w->note_error ? SIDEBAR_ERROR : SIDEBAR_DIM, "  %s", w->note);
	if (w->branch == NULL)
		return;
	sidebar_emit(o, SIDEBAR_DIM, "  %s", w->branch);
	if (!w->known)
		return;
	char fig[96];
	sidebar_diff_figures(w, o->utf8, fig, sizeof fig);
	sidebar_emit(o, SIDEBAR_TEXT, "  %s", fig);
}

/* The pane's state, and what its agent said when it waits or failed. */
static void
sidebar_emit_state(struct out *o, const struct sidebar_pane *p)
{
	int kind = p->state == PANESTATE_NEEDS_INPUT ? SIDEBAR_WARN :
	    p->state == PANESTATE_ERROR ? SIDEBAR_ERROR :
	    p->state == PANESTATE_WORKING ? SIDEBAR_BOLD : SIDEBAR_DIM;
	sidebar_emit(o, kind, "  %s", p->state_text != NULL && p->state_text[0] ? p->state_text :
	    panestate_name(p->state));
	if ((p->state == PANESTATE_NEEDS_INPUT || p->state == PANESTATE_ERROR) &&
	    p->message != NULL && p->message[0] != '\0' &&
	    (p->state_text == NULL || strstr(p->state_text, p->message) == NULL))
		sidebar_emit(o, SIDEBAR_DIM, "  %s", p->message);
}

/* A subagent's name: its title from its status reports, else its id. */
static const char *
sidebar_subagent_name(const struct stats_subagent *a, const struct termsig_view *sig)
{
	for (int i = 0; sig != NULL && i < TERMSIG_SUBS; i++)
		if (sig->sub[i].id[0] != '\0' && strcmp(sig->sub[i].id, a->id) == 0 &&
		    sig->sub[i].title[0] != '\0')
			return sig->sub[i].title;
	return a->id;
}

/* Subagent traffic under its pane (Claude Code's x-claude-code-agent-id). */
static void
sidebar_emit_subagents(struct out *o, const struct stats_counts *c,
    const struct termsig_view *sig)
{
	for (int i = 0; i < STATS_MAX_SUBAGENTS && c->sub[i].id[0] != '\0'; i++) {
		const struct stats_subagent *a = &c->sub[i];
		char tok[16], usd[24];
		sidebar_humanize(a->tokens, tok, sizeof tok);
		util_fmt_usd(a->cost_micros, usd, sizeof usd);
		sidebar_emit(o, a->inflight > 0 ? SIDEBAR_TEXT : SIDEBAR_DIM, "  %s %.12s %lld req %s %s",
		    o->utf8 ? "\xe2\x86\xb3" : "+", sidebar_subagent_name(a, sig),
		    (long long)(a->requests + a->inflight), tok, usd);
	}
}

/* A pane's heading and its state (all the gateway-off sidebar shows). */
static void
sidebar_emit_pane_head(struct out *o, const struct sidebar_input *in, int i)
{
	const struct sidebar_pane *p = &in->panes[i];
	const char *sep = in->utf8 ? UTF8_SEP : "-";
	sidebar_emit(o, SIDEBAR_TEXT, "%s", "");
	if (p->cmd != NULL && p->cmd[0] != '\0')
		sidebar_emit(o, SIDEBAR_TITLE, "%s%d %s %s %s",
		    p->focused ? (in->utf8 ? "\xe2\x96\xb6" : ">") : " ",
		    i + 1, p->name, sep, p->cmd);
	else
		sidebar_emit(o, SIDEBAR_TITLE, "%s%d %s", p->focused ? (in->utf8 ? "\xe2\x96\xb6" : ">") : " ",
		    i + 1, p->name);
	if (in->snap == NULL)
		sidebar_emit_state(o, p);
}

static void
sidebar_emit_pane(struct out *o, const struct sidebar_input *in, int i)
{
	const struct sidebar_pane *p = &in->panes[i];
	sidebar_emit_pane_head(o, in, i);
	const struct stats_counts *c = NULL;
	if (p->route >= 0 && p->route < in->snap->nroutes)
		c = &in->snap->route[p->route];
	/* state and model */
	char model[MODEL_ID_MAX + 16] = "";   /* id and a mark */
	int marked = 0;
	if (p->override != NULL && p->override[0] != '\0') {
		snprintf(model, sizeof model, "%s (set)", p->override);
		marked = 1;
	} else if (c != NULL && c->last_model[0] != '\0') {
		/* the conversation's model (requests that carry the agent's tools),
		 * not the small one it uses for titles; that one beside it */
		const char *used = c->main_model[0] ? c->main_model : c->last_model;
		const char *asked = c->main_model[0] ? c->main_model_asked : c->last_model_asked;
		if (asked[0] && strcmp(asked, used) != 0) {
			snprintf(model, sizeof model, "%s%s", in->utf8 ? "\xe2\x86\x93" : "v", used);
			marked = 1;
		} else {
			snprintf(model, sizeof model, "%s", used);
		}
		if (c->main_model[0] && c->helper_model[0] && strcmp(c->helper_model, used) != 0) {
			size_t n = strlen(model);
			snprintf(model + n, sizeof model - n, " +%s", sidebar_short_model(c->helper_model));
		}
	}
	sidebar_emit_state(o, p);
	sidebar_emit_worktree(o, &p->wt);
	if (model[0])
		sidebar_emit(o, marked ? SIDEBAR_WARN : SIDEBAR_DIM, "  %s", model);
	if (c == NULL) {
		sidebar_emit(o, SIDEBAR_DIM, "  no gateway route");
		return;
	}
	if (p->circuit_open)
		sidebar_emit(o, SIDEBAR_ERROR, "  circuit open");
	if (p->paced_until > in->now) {
		char cd[24];
		sidebar_countdown(p->paced_until - in->now, cd, sizeof cd);
		sidebar_emit(o, SIDEBAR_WARN, "  paced: next in %s", cd);
	}
	sidebar_emit_cost(o, c, p->ceiling_micros);
	sidebar_emit_tokens(o, c);
	sidebar_emit_requests(o, c);
	sidebar_emit_spark(o, c);
	sidebar_emit_subagents(o, c, p->sig);
}

/* Remaining of limit as a bar: low headroom is the warning. */
static void
sidebar_emit_bucket(struct out *o, const char *name, const struct rl_bucket *b, double now)
{
	if (b->limit <= 0 || b->remaining < 0)
		return;
	char rem[16], lim[16], cd[24] = "?", fig[64], label[16];
	sidebar_humanize(b->remaining, rem, sizeof rem);
	sidebar_humanize(b->limit, lim, sizeof lim);
	if (b->reset > 0)
		sidebar_countdown(b->reset - now, cd, sizeof cd);
	snprintf(fig, sizeof fig, "%s/%s %s", rem, lim, cd);
	snprintf(label, sizeof label, "  %-3s ", name);
	int64_t used = b->limit - b->remaining;
	int level = sidebar_level(used, b->limit, o->warn_at);
	if (b->remaining * 10 < b->limit)
		level = 2;
	sidebar_emit_bar(o, level ? SIDEBAR_WARN : SIDEBAR_TEXT, label,
	    (double)b->remaining / (double)b->limit, level, fig);
}

static void
sidebar_emit_window(struct out *o, const char *name, const struct rl_window *w, double now,
    int binding)
{
	if (w->utilization < 0)
		return;
	char fig[48], cd[24] = "?", label[16];
	if (w->reset > 0)
		sidebar_countdown(w->reset - now, cd, sizeof cd);
	snprintf(fig, sizeof fig, "%.0f%% %s%s", w->utilization * 100, cd, binding ? " *" : "");
	snprintf(label, sizeof label, "  %-3s ", name);
	int64_t used = (int64_t)(w->utilization * 1000);
	int level = sidebar_level(used, 1000, o->warn_at);
	sidebar_emit_bar(o, level ? SIDEBAR_WARN : SIDEBAR_TEXT, label, w->utilization, level, fig);
}

/* " 1 3": the panes whose latest request used the account key_hash. */
static void
sidebar_account_panes(const struct sidebar_input *in, const char *key_hash, char *buf, size_t len)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (int i = 0; i < in->npanes; i++) {
		int r = in->panes[i].route;
		if (r < 0 || r >= in->snap->nroutes || strcmp(in->snap->route[r].act.key_hash, key_hash))
			continue;
		char num[16];
		snprintf(num, sizeof num, " %d", i + 1);
		sidebar_put(buf, len, &pos, num);
	}
}

/* One account: an API key's buckets, or a subscription's 5-hour and 7-day
 * windows, one gauge whichever panes use it, with a warning before the
 * binding window (the representative claim) runs out. */
static void
sidebar_emit_ratelimit(struct out *o, const struct sidebar_input *in, const struct rl_state *st)
{
	double now = in->now;
	const char *bl = NULL;
	const struct rl_window *bind = ratelimit_binding(st, &bl);
	char panes[64];
	sidebar_account_panes(in, st->key_hash, panes, sizeof panes);
	sidebar_emit(o, SIDEBAR_TEXT, "%s", "");
	if (bind != NULL)
		sidebar_emit(o, SIDEBAR_BOLD, " subscription%s%s", panes[0] ? " pane" : "", panes);
	else
		sidebar_emit(o, SIDEBAR_BOLD, " key %.8s%s%s", st->key_hash, panes[0] ? " pane" : "",
		    panes);
	sidebar_emit_bucket(o, "req", &st->requests, now);
	sidebar_emit_bucket(o, "in", &st->input_tokens, now);
	sidebar_emit_bucket(o, "out", &st->output_tokens, now);
	if (st->input_tokens.limit <= 0)
		sidebar_emit_bucket(o, "tok", &st->tokens, now);
	sidebar_emit_window(o, "5h", &st->w5h, now, bind == &st->w5h);
	sidebar_emit_window(o, "7d", &st->w7d, now, bind == &st->w7d);
	if (bind != NULL && bind->utilization >= o->warn_at) {
		char cd[24] = "?";
		if (bind->reset > 0)
			sidebar_countdown(bind->reset - now, cd, sizeof cd);
		sidebar_emit(o, SIDEBAR_WARN, "  ! %s limit %.0f%%, resets %s", bl,
		    bind->utilization * 100, cd);
	}
	if (st->unified_status[0] && strcmp(st->unified_status, "allowed") != 0)
		sidebar_emit(o, SIDEBAR_WARN, "  subscription %s", st->unified_status);
	double nb = ratelimit_not_before(st, now);
	if (nb > now) {
		char cd[24];
		sidebar_countdown(nb - now, cd, sizeof cd);
		sidebar_emit(o, SIDEBAR_WARN, "  paced: next in %s", cd);
	}
}

static int64_t
sidebar_total_cost(const struct sidebar_input *in)
{
	return in->snap->total.cost_micros;
}

/* The team line: the team's spend in its binding period against its
 * ceiling, what is in flight and this member's share; or that the store
 * cannot be reached (refusing, or budgets not enforced). */
static void
sidebar_emit_team(struct out *o, const struct stats_team *t)
{
	char sp[24], fl[24], me[24], mc[24];
	if (!t->active || (!t->read && t->error[0] == '\0'))
		return;
	if (!t->reachable) {
		if (t->fail_open)
			sidebar_emit(o, SIDEBAR_WARN, " team %s: NOT enforced", t->team);
		else
			sidebar_emit(o, SIDEBAR_ERROR, " team %s: store unreachable", t->team);
		sidebar_emit(o, SIDEBAR_DIM, "  %s", t->where);
		sidebar_emit(o, t->fail_open ? SIDEBAR_WARN : SIDEBAR_ERROR, "  %s",
		    t->fail_open ? "store unreachable, serving" : "refusing requests");
		if (!t->read)
			return;
	}
	util_fmt_usd(t->spent, sp, sizeof sp);
	util_fmt_usd(t->inflight, fl, sizeof fl);
	util_fmt_usd(t->member_spent, me, sizeof me);
	if (t->ceiling > 0) {
		char label[96];
		snprintf(label, sizeof label, " team %s %s ", t->team, t->period);
		sidebar_emit_cost_bar(o, label, t->spent, t->ceiling, 0);
	} else if (t->ceiling == 0) {
		sidebar_emit(o, SIDEBAR_ERROR, " team %s %s blocked: $0", t->team, t->period);
	} else {
		sidebar_emit(o, SIDEBAR_TEXT, " team %s %s %s", t->team, t->period, sp);
	}
	if (t->inflight > 0)
		sidebar_emit(o, SIDEBAR_DIM, "  %s in flight", fl);
	if (t->member_ceiling >= 0) {
		util_fmt_usd(t->member_ceiling, mc, sizeof mc);
		sidebar_emit(o, SIDEBAR_DIM, "  %s (you) %s/%s", t->member, me, mc);
	} else {
		sidebar_emit(o, SIDEBAR_DIM, "  %s (you) %s", t->member, me);
	}
}

static void
sidebar_emit_header(struct out *o, const struct sidebar_input *in)
{
	const struct stats_counts *t = &in->snap->total;
	char usd[24];
	util_fmt_usd(t->cost_micros, usd, sizeof usd);
	sidebar_emit(o, SIDEBAR_BOLD, " tokmux  total %s%s", t->unpriced ? "~" : "", usd);
	sidebar_emit_team(o, &in->snap->team);
	int64_t spent = sidebar_total_cost(in);
	int64_t today = in->daily_before_micros + spent;
	if (in->ceiling_micros == 0)
		sidebar_emit(o, SIDEBAR_ERROR, " ws  blocked: ceiling $0");
	else if (in->ceiling_micros > 0)
		sidebar_emit_cost_bar(o, " ws  ", spent, in->ceiling_micros, t->unpriced > 0);
	if (in->daily_ceiling_micros == 0)
		sidebar_emit(o, SIDEBAR_ERROR, " day blocked: ceiling $0");
	else if (in->daily_ceiling_micros > 0)
		sidebar_emit_cost_bar(o, " day ", today, in->daily_ceiling_micros, t->unpriced > 0);
	else if (in->daily_before_micros > 0) {
		util_fmt_usd(today, usd, sizeof usd);
		sidebar_emit(o, SIDEBAR_DIM, " today %s", usd);
	}
	int64_t burn = in->snap->cost_last_10min_micros * 6;   /* per hour */
	util_fmt_usd(burn, usd, sizeof usd);
	/* time left: the nearer of the two ceilings at this rate */
	int64_t left = -1;
	if (in->ceiling_micros > 0)
		left = in->ceiling_micros - spent;
	if (in->daily_ceiling_micros > 0) {
		int64_t d = in->daily_ceiling_micros - today;
		left = left < 0 ? d : UTIL_MIN(left, d);
	}
	if (left >= 0 && burn > 0) {
		char cd[24];
		sidebar_countdown((double)UTIL_MAX(left, 0) / (double)burn * 3600.0, cd, sizeof cd);
		sidebar_emit(o, left <= 0 ? SIDEBAR_ERROR : SIDEBAR_DIM, " burn %s/h, %s left", usd, cd);
	} else {
		sidebar_emit(o, SIDEBAR_DIM, " burn %s/h (10 min)", usd);
	}
	if (t->inflight > 0 || t->policy.reserved_micros > 0) {
		util_fmt_usd(t->policy.reserved_micros, usd, sizeof usd);
		sidebar_emit(o, SIDEBAR_DIM, " %lld in flight, %s reserved", (long long)t->inflight, usd);
	}
	sidebar_emit(o, (t->err_429 || t->err_529) ? SIDEBAR_WARN : SIDEBAR_DIM,
	    " %lld req  429 %lld  529 %lld", (long long)t->requests, (long long)t->err_429,
	    (long long)t->err_529);
}

/* The ledger cannot be written: said at once, under the totals. */
static void
sidebar_emit_ledger(struct out *o, const struct stats_ledger *l)
{
	if (!l->failing)
		return;
	sidebar_emit(o, SIDEBAR_ERROR, " ! ledger not written:");
	sidebar_emit(o, SIDEBAR_ERROR, "   %s", strerror(l->error != 0 ? l->error : EIO));
	if (l->lost > 0)
		sidebar_emit(o, SIDEBAR_ERROR, "   %lld held, %lld lost", (long long)l->held,
		    (long long)l->lost);
	else
		sidebar_emit(o, SIDEBAR_WARN, "   %lld held, retrying", (long long)l->held);
}

int
sidebar_build(const struct sidebar_input *in, int cols, struct sidebar_line *lines, int max)
{
	struct out o = { lines, 0, max, cols, in->utf8, in->warn_at > 0 ? in->warn_at : 0.8 };
	if (in->snap == NULL) {
		sidebar_emit(&o, SIDEBAR_BOLD, " tokmux");
		sidebar_emit(&o, SIDEBAR_DIM, " metering gateway off");
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < in->npanes; i++)
				if ((in->panes[i].state == PANESTATE_NEEDS_INPUT) == (pass == 0))
					sidebar_emit_pane_head(&o, in, i);
		return o.n;
	}
	sidebar_emit_header(&o, in);
	sidebar_emit_ledger(&o, &in->snap->ledger);
	for (int pass = 0; pass < 2; pass++)       /* panes that need input first */
		for (int i = 0; i < in->npanes; i++)
			if ((in->panes[i].state == PANESTATE_NEEDS_INPUT) == (pass == 0))
				sidebar_emit_pane(&o, in, i);
	for (int i = 0; i < in->nrl; i++) {
		if (in->rl[i].key_hash[0] == '\0' || in->rl[i].updated <= 0)
			continue;
		sidebar_emit_ratelimit(&o, in, &in->rl[i]);
	}
	return o.n;
}

int
sidebar_ticking(const struct sidebar_input *in)
{
	double now = in->now;
	for (int i = 0; i < in->nrl; i++) {
		const struct rl_state *st = &in->rl[i];
		if (st->key_hash[0] == '\0' || st->updated <= 0)
			continue;
		if (st->retry_after_until > now || st->requests.reset > now || st->tokens.reset > now ||
		    st->input_tokens.reset > now || st->output_tokens.reset > now ||
		    st->w5h.reset > now || st->w7d.reset > now)
			return 1;
	}
	for (int i = 0; i < in->npanes; i++)
		if (in->panes[i].paced_until > now)
			return 1;
	return 0;
}

void
sidebar_status(const struct sidebar_input *in, int cols, char *buf, size_t len)
{
	size_t pos = 0;
	char part[160], usd[24];
	if (len > 0)
		buf[0] = '\0';
	sidebar_put(buf, len, &pos, " tokmux");
	if (in->snap != NULL) {
		const struct stats_counts *t = &in->snap->total;
		util_fmt_usd(t->cost_micros, usd, sizeof usd);
		snprintf(part, sizeof part, " %s%s", t->unpriced ? "~" : "", usd);
		sidebar_put(buf, len, &pos, part);
		if (in->ceiling_micros > 0) {
			util_fmt_usd(in->ceiling_micros, usd, sizeof usd);
			snprintf(part, sizeof part, "/%s", usd);
			sidebar_put(buf, len, &pos, part);
		}
		snprintf(part, sizeof part, " | %lld req 429 %lld 529 %lld", (long long)t->requests,
		    (long long)t->err_429, (long long)t->err_529);
		sidebar_put(buf, len, &pos, part);
		if (in->snap->ledger.failing)
			sidebar_put(buf, len, &pos, " | LEDGER NOT WRITTEN");
	}
	for (int i = 0; i < in->npanes; i++) {
		const struct sidebar_pane *p = &in->panes[i];
		const char *st = p->state == PANESTATE_NEEDS_INPUT ? "input" : panestate_name(p->state);
		if (in->snap != NULL && p->route >= 0 && p->route < in->snap->nroutes) {
			util_fmt_usd(in->snap->route[p->route].cost_micros, usd, sizeof usd);
			snprintf(part, sizeof part, " | %d %s %s", i + 1, st, usd);
		} else {
			snprintf(part, sizeof part, " | %d %s", i + 1, st);
		}
		sidebar_put(buf, len, &pos, part);
	}
	snprintf(part, sizeof part, " | %s ? help", in->prefix_name != NULL ? in->prefix_name : "Ctrl-g");
	sidebar_put(buf, len, &pos, part);
	(void)cols;    /* the caller clips */
}
