/*
 * report_text: owns the text form of a report. A table is a list of
 * columns (header, what it shows, how soon it is hidden when the width is
 * short) over the rows of the view and their sub-rows, indented; the
 * layout tries the full form first and then, one step at a time,
 * shortened numbers (12.3k), cache writes in one column, hidden columns
 * of zeros, and finally hides columns by priority until the table fits.
 */
#include "report_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REPORT_TEXT_KEY_MAX 34      /* widest label column */
#define REPORT_TEXT_KEY_MIN 12
#define REPORT_TEXT_CELL 40         /* bytes of one formatted number */
#define REPORT_TEXT_LABEL 800       /* bytes of one escaped, indented label */

/* ---- escaping ---- */

/* Code points printed as \uNNNN: C1 controls, line and paragraph
 * separators, bidi embeddings, overrides and isolates. */
static int
report_text_unsafe(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c;
}

size_t
report_text_escape(const char *s, char *out, size_t len)
{
	size_t o = 0, width = 0;
	const unsigned char *p = (const unsigned char *)s;
	if (len == 0)
		return 0;
	while (*p) {
		char piece[8];
		uint32_t c;
		int n = util_utf8_decode((const char *)p, &c);
		size_t plen;
		if (n == 0 || c < 0x20 || c == 0x7f) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
			n = 1;
		} else if (report_text_unsafe(c)) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", (unsigned)c);
		} else {
			memcpy(piece, p, (size_t)n);
			plen = (size_t)n;
		}
		if (o + plen >= len)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		width += plen == (size_t)n && n > 1 ? 1 : plen;
		p += n;
	}
	out[o] = '\0';
	return width;
}

/* Append s (already escaped, its width w) cut or padded to exactly cols
 * columns; cut labels end in '~'. */
static void
report_text_pad(struct buf *b, const char *s, size_t w, int cols)
{
	if ((int)w <= cols) {
		buf_appendf(b, "%s%*s", s, cols - (int)w, "");
		return;
	}
	const unsigned char *p = (const unsigned char *)s;
	size_t bytes = 0;
	for (int col = 0; col < cols - 1 && p[bytes]; col++) {
		bytes++;
		while ((p[bytes] & 0xc0) == 0x80)
			bytes++;
	}
	buf_append(b, s, bytes);
	buf_append(b, "~", 1);
}

/* ---- numbers ---- */

/* 1234567 -> "1,234,567" */
static void
report_text_commas(int64_t v, char *out, size_t len)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)v), o = 0;
	int neg = digits[0] == '-';
	for (int i = 0; i < n && o + 2 < (int)len; i++) {
		int left = n - i;
		if (i > neg && left % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* 12345 -> "12.3k", 1234567 -> "1.23M" (three significant digits). */
static void
report_text_short(int64_t v, char *out, size_t len)
{
	static const char units[] = "kMGTPE";
	if (v < 10000 && v > -10000) {
		snprintf(out, len, "%lld", (long long)v);
		return;
	}
	double d = (double)v;
	int u = -1;
	while ((d >= 999.5 || d <= -999.5) && u < 5) {
		d /= 1000;
		u++;
	}
	double a = d < 0 ? -d : d;
	snprintf(out, len, a >= 99.95 ? "%.0f%c" : a >= 9.995 ? "%.1f%c" : "%.2f%c", d, units[u]);
}

static void
report_text_usd(const struct report_sums *s, char *out, size_t len)
{
	util_fmt_usd(s->cost_micros, out, len);
	if (s->saturated)
		strncat(out, "+", len - strlen(out) - 1);
	if (s->unpriced > 0)
		strncat(out, "*", len - strlen(out) - 1);
}

/* ---- columns ---- */

enum report_col_kind { REPORT_COL_TOKENS, REPORT_COL_COST, REPORT_COL_COUNT };

struct report_col {
	const char *head;
	enum report_col_kind kind;
	size_t field;               /* int64_t in struct report_sums; (size_t)-1: computed */
	int drop;                   /* hidden in this order when too wide (higher first); 0 never */
	int cache;                  /* 1: a cache write column, 2: both merged */
};

#define REPORT_F(f) offsetof(struct report_sums, f)
#define REPORT_COMPUTED ((size_t)-1)

static const struct report_col report_cols[] = {
	{ "input", REPORT_COL_TOKENS, REPORT_F(input_tokens), 0, 0 },
	{ "output", REPORT_COL_TOKENS, REPORT_F(output_tokens), 0, 0 },
	{ "cache rd", REPORT_COL_TOKENS, REPORT_F(cache_read_tokens), 3, 0 },
	{ "cache 5m", REPORT_COL_TOKENS, REPORT_F(cache_write_5m_tokens), 0, 1 },
	{ "cache 1h", REPORT_COL_TOKENS, REPORT_F(cache_write_1h_tokens), 0, 1 },
	{ "cache wr", REPORT_COL_TOKENS, REPORT_COMPUTED, 2, 2 },
	{ "total", REPORT_COL_TOKENS, REPORT_COMPUTED, 4, 0 },
	{ "cost", REPORT_COL_COST, REPORT_F(cost_micros), 0, 0 },
	{ "reqs", REPORT_COL_COUNT, REPORT_F(requests), 0, 0 },
	{ "429", REPORT_COL_COUNT, REPORT_F(n429), 5, 0 },
	{ "529", REPORT_COL_COUNT, REPORT_F(n529), 5, 0 },
	{ "retries", REPORT_COL_COUNT, REPORT_F(retries), 7, 0 },
	{ "fallbk", REPORT_COL_COUNT, REPORT_F(fallbacks), 6, 0 },
	{ "refused", REPORT_COL_COUNT, REPORT_F(refused), 5, 0 },
	{ "clamped", REPORT_COL_COUNT, REPORT_F(clamped), 8, 0 },
	{ "unsettled", REPORT_COL_COUNT, REPORT_F(unsettled), 0, 0 },   /* only when any */
};
#define REPORT_NCOLS ((int)UTIL_ARRAY_LEN(report_cols))

static int64_t
report_col_value(int c, const struct report_sums *s)
{
	const struct report_col *col = &report_cols[c];
	if (col->field != REPORT_COMPUTED)
		return *(const int64_t *)((const char *)s + col->field);
	if (col->cache == 2) {
		int64_t v;
		return __builtin_add_overflow(s->cache_write_5m_tokens, s->cache_write_1h_tokens, &v) ?
		    INT64_MAX : v;
	}
	return report_total_tokens(s);
}

/* One table being laid out. */
struct report_table {
	const struct report_row **rows;   /* every printed row, the total last */
	int *depth;                 /* indent level of each */
	int n, cap;
	int shorten;                /* numbers as 12.3k */
	int merged;                 /* cache 5m + 1h in one column */
	int hidden[REPORT_NCOLS];   /* 1: hidden for width, 2: hidden as all zeros,
	                             * 3: unsettled, none (no note) */
	int colw[REPORT_NCOLS];
	int keyw;
	int total_at;               /* index of the total row */
	const struct report_row *active;   /* blocks: the active block, NULL none */
	const char *keyhead;
	const report_t *r;
};

static void
report_table_push(struct report_table *t, const struct report_row *row, int depth)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->rows = xreallocarray(t->rows, (size_t)t->cap, sizeof(*t->rows));
		t->depth = xreallocarray(t->depth, (size_t)t->cap, sizeof(*t->depth));
	}
	t->rows[t->n] = row;
	t->depth[t->n++] = depth;
	if (row->sub_by == REPORT_BY_ID && row->nsub == 1 && strcmp(row->sub[0].key, row->key) == 0)
		return;   /* a model seen under its own id only: nothing to break down */
	for (int i = 0; i < row->nsub; i++)
		report_table_push(t, &row->sub[i], depth + 1);
}

static int
report_table_shown(const struct report_table *t, int c)
{
	int cache = report_cols[c].cache;
	if (t->hidden[c] || (cache == 1 && t->merged) || (cache == 2 && !t->merged))
		return 0;
	return 1;
}

static void
report_table_cell(const struct report_table *t, int c, const struct report_sums *s,
    char *out, size_t len)
{
	if (report_cols[c].kind == REPORT_COL_COST)
		report_text_usd(s, out, len);
	else if (report_cols[c].kind == REPORT_COL_TOKENS && t->shorten)
		report_text_short(report_col_value(c, s), out, len);
	else
		report_text_commas(report_col_value(c, s), out, len);
}

/* ---- labels ---- */

static const char *
report_text_keyhead(enum report_view v)
{
	static const char *const heads[REPORT_VIEWS] = { "day", "week", "month", "session", "block" };
	return (int)v >= 0 && v < REPORT_VIEWS ? heads[v] : "";
}

/* The label of a view row: sessions and blocks by their start, the
 * active block marked with a '*'. */
static void
report_text_view_label(const struct report_table *t, const struct report_row *row, char *out,
    size_t len)
{
	const struct report_options *o = report_opts(t->r);
	char when[40], key[REPORT_TEXT_LABEL / 2];
	report_text_escape(row->key, key, sizeof(key));
	if (o->view == REPORT_SESSION) {
		if (strcmp(row->key, "-") == 0) {
			snprintf(out, len, "(no session id)");
			return;
		}
		period_strftime(&o->tz, row->start, "%Y-%m-%d %H:%M", when, sizeof(when));
		snprintf(out, len, "%s %.8s", when, key);
	} else if (o->view == REPORT_BLOCKS) {
		period_strftime(&o->tz, row->start, "%Y-%m-%d %H:%M", when, sizeof(when));
		snprintf(out, len, "%s%s", when, row == t->active ? " *" : "");
	} else {
		snprintf(out, len, "%s", key);
	}
}

/* Row i's label, indented by its depth; returns its width. */
static size_t
report_table_label(const struct report_table *t, int i, char *out, size_t len)
{
	const struct report_row *row = t->rows[i];
	int indent = 2 * t->depth[i];
	char label[REPORT_TEXT_LABEL - 16];
	size_t w;
	if (t->depth[i] == 0 && i < t->total_at) {
		report_text_view_label(t, row, label, sizeof(label));
		w = strlen(label);
	} else {
		w = report_text_escape(row->key, label, sizeof(label));
	}
	snprintf(out, len, "%*s%s", indent, "", label);
	return w + (size_t)indent;
}

/* ---- layout ---- */

static int
report_table_width(struct report_table *t)
{
	char cell[REPORT_TEXT_CELL], label[REPORT_TEXT_LABEL];
	int total = 0;
	t->keyw = (int)strlen(t->keyhead);
	for (int i = 0; i < t->n; i++)
		t->keyw = UTIL_MAX(t->keyw, (int)report_table_label(t, i, label, sizeof(label)));
	t->keyw = UTIL_MIN(t->keyw, REPORT_TEXT_KEY_MAX);
	for (int c = 0; c < REPORT_NCOLS; c++) {
		if (!report_table_shown(t, c))
			continue;
		t->colw[c] = (int)strlen(report_cols[c].head);
		for (int i = 0; i < t->n; i++) {
			report_table_cell(t, c, &t->rows[i]->sums, cell, sizeof(cell));
			t->colw[c] = UTIL_MAX(t->colw[c], (int)strlen(cell));
		}
		total += 1 + t->colw[c];
	}
	return t->keyw + total;
}

/* Shorten, merge, hide zeros, then hide by priority until it fits width. */
static void
report_table_fit(struct report_table *t, int width)
{
	const struct report_sums *tot = &t->rows[t->total_at]->sums;
	for (int c = 0; c < REPORT_NCOLS; c++)
		if (report_cols[c].field == REPORT_F(unsettled) && tot->unsettled == 0)
			t->hidden[c] = 3;
	if (report_table_width(t) <= width)
		return;
	t->shorten = 1;
	if (report_table_width(t) <= width)
		return;
	t->merged = 1;
	if (report_table_width(t) <= width)
		return;
	for (int c = 0; c < REPORT_NCOLS; c++)
		if (report_cols[c].drop > 0 && report_col_value(c, tot) == 0)
			t->hidden[c] = 2;
	for (int level = 8; level > 0 && report_table_width(t) > width; level--)
		for (int c = 0; c < REPORT_NCOLS; c++)
			if (report_cols[c].drop == level && report_table_shown(t, c))
				t->hidden[c] = 1;
	int w = report_table_width(t);
	if (w > width)   /* last, the labels: cut with '~' */
		t->keyw = UTIL_MAX(REPORT_TEXT_KEY_MIN, t->keyw - (w - width));
}

static void
report_table_rule(struct buf *b, const struct report_table *t)
{
	int w = t->keyw;
	for (int c = 0; c < REPORT_NCOLS; c++)
		if (report_table_shown(t, c))
			w += 1 + t->colw[c];
	for (int i = 0; i < w; i++)
		buf_append(b, "-", 1);
	buf_append(b, "\n", 1);
}

static void
report_table_print(struct buf *b, const struct report_table *t)
{
	char cell[REPORT_TEXT_CELL], label[REPORT_TEXT_LABEL];
	buf_appendf(b, "%-*s", t->keyw, t->keyhead);
	for (int c = 0; c < REPORT_NCOLS; c++)
		if (report_table_shown(t, c))
			buf_appendf(b, " %*s", t->colw[c], report_cols[c].head);
	buf_append(b, "\n", 1);
	report_table_rule(b, t);
	for (int i = 0; i < t->n; i++) {
		if (i == t->total_at)
			report_table_rule(b, t);
		size_t w = report_table_label(t, i, label, sizeof(label));
		report_text_pad(b, label, w, t->keyw);
		for (int c = 0; c < REPORT_NCOLS; c++) {
			if (!report_table_shown(t, c))
				continue;
			report_table_cell(t, c, &t->rows[i]->sums, cell, sizeof(cell));
			buf_appendf(b, " %*s", t->colw[c], cell);
		}
		buf_append(b, "\n", 1);
	}
}

/* ---- notes ---- */

static void
report_text_hidden_note(struct buf *b, const struct report_table *t, int why, int width)
{
	int n = 0;
	for (int c = 0; c < REPORT_NCOLS; c++) {
		if (t->hidden[c] != why)
			continue;
		if (n++ > 0)
			buf_append(b, ", ", 2);
		else if (why == 1)
			buf_appendf(b, "hidden to fit %d columns: ", width);
		else
			buf_appendf(b, "all zero, hidden: ");
		buf_appendf(b, "%s", report_cols[c].head);
	}
	if (n > 0)
		buf_appendf(b, "%s\n", why == 1 ? " (--json has them all)" : "");
}

static void
report_text_active(struct buf *b, report_t *r)
{
	struct report_active a;
	report_active(r, &a);
	if (!a.active)
		return;
	const struct report_options *o = report_opts(r);
	char end[40], cost[32], proj[32], tok[32], ptok[32];
	period_strftime(&o->tz, a.block->end, "%H:%M", end, sizeof(end));
	int left = (int)((a.block->end - a.now) / 60);
	buf_appendf(b, "active block (*): ends %s (in %dh%02dm)", end, left / 60, left % 60);
	if (a.minutes > 0) {
		util_fmt_usd(a.cost_per_hour_micros, cost, sizeof(cost));
		util_fmt_usd(a.projected_cost_micros, proj, sizeof(proj));
		report_text_short(llround(a.tokens_per_min), tok, sizeof(tok));
		report_text_short(a.projected_tokens, ptok, sizeof(ptok));
		buf_appendf(b, "; burn rate %s/h, %s tokens/min; projected %s, %s tokens at its end",
		    cost, tok, proj, ptok);
	} else {
		buf_appendf(b, "; one request so far, no burn rate yet");
	}
	buf_append(b, "\n", 1);
}

static void
report_text_notes(struct buf *b, report_t *r, const struct report_table *t, int width)
{
	const struct report_sums *tot = &report_total(r)->sums;
	const struct report_fallback *f;
	int nf = report_fallbacks(r, &f);
	char a[MODEL_ID_MAX * 4], u[MODEL_ID_MAX * 4];
	for (int i = 0; i < nf; i++) {
		report_text_escape(f[i].asked, a, sizeof(a));
		report_text_escape(f[i].used, u, sizeof(u));
		buf_appendf(b, "%s%s -> %s (%lld)", i == 0 ? "fallbacks (asked -> used): " : ", ", a, u,
		    (long long)f[i].requests);
	}
	if (nf > 0)
		buf_append(b, "\n", 1);
	if (tot->unpriced > 0)
		buf_appendf(b, "* the cost leaves out %lld request(s) of models without a price\n",
		    (long long)tot->unpriced);
	if (tot->unsettled > 0) {
		char usd[32];
		util_fmt_usd(tot->unsettled_micros, usd, sizeof usd);
		buf_appendf(b, "unsettled: %lld request(s) began and have no outcome (in flight, or "
		    "tokmux was killed); the daily ceiling counts their reservation, %s\n",
		    (long long)tot->unsettled, usd);
	}
	if (tot->saturated)
		buf_appendf(b, "+ a sum reached the largest number tokmux counts: the ledger holds "
		    "implausibly large values\n");
	report_text_hidden_note(b, t, 1, width);
	report_text_hidden_note(b, t, 2, width);
	if (report_opts(r)->view == REPORT_BLOCKS)
		report_text_active(b, r);
}

/* text into b with lines longer than width broken at spaces; the
 * continuation lines are indented by two. */
static void
report_text_wrap(struct buf *b, const char *text, int width)
{
	while (*text) {
		size_t line = strcspn(text, "\n"), indent = 0;
		const char *p = text;
		while (line - (size_t)(p - text) + indent > (size_t)width) {
			size_t room = (size_t)width - indent, cut = room;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = room;   /* one long word: cut it */
			buf_appendf(b, "%*s%.*s\n", (int)indent, "", (int)cut, p);
			p += cut + (p[cut] == ' ');
			indent = 2;
		}
		buf_appendf(b, "%*s%.*s\n", (int)indent, "", (int)(line - (size_t)(p - text)), p);
		text += line + (text[line] == '\n');
	}
}

char *
report_text_format(report_t *r, int width)
{
	struct report_table t = { .r = r, .keyhead = report_text_keyhead(report_opts(r)->view) };
	const struct report_row *rows;
	int n = report_rows(r, &rows);
	struct buf b = { 0 };
	width = UTIL_MAX(width, 40);
	if (n == 0) {
		buf_appendf(&b, "no requests in the ledger%s\n",
		    report_opts(r)->since > 0 || report_opts(r)->until > 0 ||
		    report_opts(r)->session != NULL ? " for these dates or session" : "");
		return b.data;
	}
	struct report_active a;
	report_active(r, &a);
	t.active = a.active ? a.block : NULL;
	for (int i = 0; i < n; i++)
		report_table_push(&t, &rows[i], 0);
	t.total_at = t.n;
	report_table_push(&t, report_total(r), 0);
	report_table_fit(&t, width);
	report_table_print(&b, &t);
	struct buf notes = { 0 };
	report_text_notes(&notes, r, &t, width);
	if (notes.data != NULL)
		report_text_wrap(&b, notes.data, width);
	buf_free(&notes);
	free(t.rows);
	free(t.depth);
	return b.data;
}

char *
report_text_skipped(const struct ledger_read_stats *st)
{
	static const char *const why[] = {
		"not JSON", "without a time", "with a number out of range", "cut short (the last)",
	};
	int64_t n[] = { st->not_json, st->no_time, st->out_of_range, st->torn };
	int64_t all = ledger_read_skipped(st);
	if (all == 0)
		return NULL;
	struct buf b = { 0 };
	buf_appendf(&b, "%lld line%s skipped: ", (long long)all, all == 1 ? "" : "s");
	int k = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(why); i++) {
		if (n[i] == 0)
			continue;
		if (n[i] == all)
			buf_appendf(&b, "%s", why[i]);
		else
			buf_appendf(&b, "%s%lld %s", k > 0 ? ", " : "", (long long)n[i], why[i]);
		if (i == 2 && st->first_bad_line > 0)
			buf_appendf(&b, " (the first at line %lld)", (long long)st->first_bad_line);
		k++;
	}
	return b.data;
}

/* ---- the summary printed on quitting ---- */

static void
report_text_summary_row(FILE *out, const char *label, const struct report_sums *s)
{
	char esc[REPORT_TEXT_LABEL], tok[32], cost[40];
	struct buf b = { 0 };
	size_t w = report_text_escape(label, esc, sizeof(esc));
	report_text_pad(&b, esc, w, 18);
	report_text_short(report_total_tokens(s), tok, sizeof(tok));
	report_text_usd(s, cost, sizeof(cost));
	fprintf(out, "%s %6lld %8s %10s %5lld %5lld %8lld %7lld\n", b.data, (long long)s->requests,
	    tok, cost, (long long)s->n429, (long long)s->n529, (long long)s->refused,
	    (long long)s->fallbacks);
	buf_free(&b);
}

/* The command that shows the session in full. */
static void
report_text_summary_hint(FILE *out, const char *path, const char *session)
{
	char *def = ledger_default_path();
	fprintf(out, "details: tokmux report session --session %.8s", session);
	if (strcmp(def, path) != 0) {
		char esc[REPORT_TEXT_LABEL];
		report_text_escape(path, esc, sizeof(esc));
		int plain = strspn(esc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789/._-+") == strlen(esc) && strchr(esc, '\'') == NULL;
		fprintf(out, plain ? " --ledger %s" : " --ledger '%s'", esc);
	}
	fputc('\n', out);
	free(def);
}

int
report_text_summary(const char *path, const char *session, FILE *out)
{
	struct report_options o = { .view = REPORT_SESSION, .by = REPORT_BY_PANE, .session = session };
	o.tz.local = 1;
	report_t *r = report_new(&o);
	if (report_load(r, path) < 0) {
		report_free(r);
		return -1;
	}
	const struct report_row *t = report_total(r);
	if (t->sums.first == 0) {
		report_free(r);
		return 0;
	}
	char tok[32], cost[40], from[16], to[16];
	report_text_short(report_total_tokens(&t->sums), tok, sizeof(tok));
	report_text_usd(&t->sums, cost, sizeof(cost));
	period_strftime(&o.tz, t->sums.first, "%H:%M", from, sizeof(from));
	period_strftime(&o.tz, t->sums.last, "%H:%M", to, sizeof(to));
	fprintf(out, "tokmux session %.8s: %lld requests, %s tokens, %s (%s-%s)\n", session,
	    (long long)t->sums.requests, tok, cost, from, to);
	fprintf(out, "%-18s %6s %8s %10s %5s %5s %8s %7s\n", "pane", "reqs", "tokens", "cost", "429",
	    "529", "refused", "fallbk");
	for (int i = 0; i < t->nsub; i++)
		report_text_summary_row(out, t->sub[i].key, &t->sub[i].sums);
	report_text_summary_row(out, "total", &t->sums);
	const struct report_fallback *f;
	int nf = report_fallbacks(r, &f);
	for (int i = 0; i < nf && i < 4; i++) {
		char a[MODEL_ID_MAX * 4], u[MODEL_ID_MAX * 4];
		report_text_escape(f[i].asked, a, sizeof(a));
		report_text_escape(f[i].used, u, sizeof(u));
		fprintf(out, "%s%s -> %s (%lld)", i == 0 ? "fallbacks: " : ", ", a, u,
		    (long long)f[i].requests);
	}
	if (nf > 0)
		fputc('\n', out);
	if (t->sums.unpriced > 0)
		fprintf(out, "* leaves out %lld request(s) of models without a price\n",
		    (long long)t->sums.unpriced);
	report_text_summary_hint(out, path, session);
	report_free(r);
	return 0;
}
