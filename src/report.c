/*
 * report: owns summing ledger records into the rows of a view. Every
 * record adds its sums to one view row and, below it, to one row per
 * level of the split chain (--by, then models and dated ids for
 * --breakdown), and to the total row and its chain: per-group sums equal
 * the total because a missing field groups as "-". Rows find their
 * sub-rows through a small hash index. Blocks are built at the end from
 * hourly rows: a block starts at the hour of the first request after the
 * previous block ended and lasts five hours, so every record of one UTC
 * hour falls into the same block (how ccusage counts them too).
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

#define REPORT_LEVELS 3             /* split levels below a view row */

struct report_index {
	int *slot;                  /* row number + 1, 0 empty */
	int cap;                    /* a power of two, at least twice the rows */
};

struct report {
	struct report_options o;
	enum report_by chain[REPORT_LEVELS + 1];   /* ends with REPORT_BY_NONE */
	struct report_row root;     /* its sub-rows: the view's rows (hours for blocks) */
	struct report_row total;
	struct report_row *blocks;  /* blocks view, built by report_finish */
	int nblocks;
	struct report_fallback fallbacks[REPORT_MAX_FALLBACKS];
	int nfallbacks;
	struct ledger_read_stats skipped;
	int finished;
	double period_start, period_end;   /* the last period looked up, and its label */
	char period_label[32];
};

static const char *const report_view_names[REPORT_VIEWS] = {
	"daily", "weekly", "monthly", "session", "blocks",
};
static const char *const report_by_names[] = {
	"none", "pane", "model", "agent", "branch", "member", "team", "id",
};

const char *
report_view_name(enum report_view v)
{
	return (int)v >= 0 && v < REPORT_VIEWS ? report_view_names[v] : "?";
}

const char *
report_by_name(enum report_by b)
{
	return (size_t)b < UTIL_ARRAY_LEN(report_by_names) ? report_by_names[b] : "?";
}

report_t *
report_new(const struct report_options *o)
{
	report_t *r = xcalloc(1, sizeof(*r));
	r->o = *o;
	int n = 0;
	enum report_by first = o->by;
	if (first == REPORT_BY_NONE && o->view == REPORT_SESSION)
		first = REPORT_BY_PANE;     /* a session's rows are its panes */
	if (first != REPORT_BY_NONE && first != REPORT_BY_ID)
		r->chain[n++] = first;
	if (o->breakdown) {
		if (first != REPORT_BY_MODEL)
			r->chain[n++] = REPORT_BY_MODEL;
		r->chain[n++] = REPORT_BY_ID;
	}
	r->chain[n] = REPORT_BY_NONE;
	snprintf(r->total.key, sizeof(r->total.key), "total");
	r->total.sub_by = r->chain[0];
	return r;
}

static void
report_row_clear(struct report_row *row)
{
	for (int i = 0; i < row->nsub; i++)
		report_row_clear(&row->sub[i]);
	free(row->sub);
	if (row->index != NULL)
		free(((struct report_index *)row->index)->slot);
	free(row->index);
	row->sub = NULL;
	row->index = NULL;
	row->nsub = row->cap = 0;
}

void
report_free(report_t *r)
{
	if (r == NULL)
		return;
	report_row_clear(&r->root);
	report_row_clear(&r->total);
	for (int i = 0; i < r->nblocks; i++)
		report_row_clear(&r->blocks[i]);
	free(r->blocks);
	free(r);
}

/* ---- sums ---- */

static int64_t
report_add_sat(int64_t a, int64_t b, int *saturated)
{
	int64_t s;
	if (__builtin_add_overflow(a, b, &s)) {
		*saturated = 1;
		return b > 0 ? INT64_MAX : INT64_MIN;
	}
	return s;
}

static void
report_sums_add(struct report_sums *d, const struct report_sums *s)
{
	int *sat = &d->saturated;
	d->requests = report_add_sat(d->requests, s->requests, sat);
	d->refused = report_add_sat(d->refused, s->refused, sat);
	d->clamped = report_add_sat(d->clamped, s->clamped, sat);
	d->unsettled = report_add_sat(d->unsettled, s->unsettled, sat);
	d->unsettled_micros = report_add_sat(d->unsettled_micros, s->unsettled_micros, sat);
	d->input_tokens = report_add_sat(d->input_tokens, s->input_tokens, sat);
	d->output_tokens = report_add_sat(d->output_tokens, s->output_tokens, sat);
	d->cache_read_tokens = report_add_sat(d->cache_read_tokens, s->cache_read_tokens, sat);
	d->cache_write_5m_tokens = report_add_sat(d->cache_write_5m_tokens,
	    s->cache_write_5m_tokens, sat);
	d->cache_write_1h_tokens = report_add_sat(d->cache_write_1h_tokens,
	    s->cache_write_1h_tokens, sat);
	d->reasoning_tokens = report_add_sat(d->reasoning_tokens, s->reasoning_tokens, sat);
	d->cost_micros = report_add_sat(d->cost_micros, s->cost_micros, sat);
	d->unpriced = report_add_sat(d->unpriced, s->unpriced, sat);
	d->n429 = report_add_sat(d->n429, s->n429, sat);
	d->n529 = report_add_sat(d->n529, s->n529, sat);
	d->retries = report_add_sat(d->retries, s->retries, sat);
	d->fallbacks = report_add_sat(d->fallbacks, s->fallbacks, sat);
	d->saturated |= s->saturated;
	if (s->first > 0 && (d->first == 0 || s->first < d->first))
		d->first = s->first;
	if (s->last > d->last)
		d->last = s->last;
}

int64_t
report_total_tokens(const struct report_sums *s)
{
	int sat = 0;
	int64_t t = report_add_sat(s->input_tokens, s->output_tokens, &sat);
	t = report_add_sat(t, s->cache_read_tokens, &sat);
	t = report_add_sat(t, s->cache_write_5m_tokens, &sat);
	return report_add_sat(t, s->cache_write_1h_tokens, &sat);
}

/* What one record adds. */
static void
report_sums_of(const struct ledger_entry *e, struct report_sums *s)
{
	const struct usage *u = &e->usage;
	memset(s, 0, sizeof(*s));
	s->refused = e->refused != 0;
	s->unsettled = e->unsettled != 0 && !s->refused;
	s->unsettled_micros = s->unsettled ? e->reserved_micros : 0;
	s->requests = !s->refused && !s->unsettled;
	s->clamped = e->clamped != 0;
	s->input_tokens = u->input_tokens;
	s->output_tokens = u->output_tokens;
	s->cache_read_tokens = u->cache_read_tokens;
	s->cache_write_5m_tokens = u->cache_write_5m_tokens;
	s->cache_write_1h_tokens = u->cache_write_1h_tokens;
	s->reasoning_tokens = u->reasoning_tokens;
	s->cost_micros = e->cost_micros;
	s->unpriced = !e->priced && u->has_usage && !s->refused;
	s->n429 = e->n429;
	s->n529 = e->n529;
	if (e->status >= 200 && e->status < 300 && strcmp(u->error_type, "overloaded_error") == 0)
		s->n529++;
	s->retries = e->retries;
	s->fallbacks = e->fallbacks;
	s->first = s->last = e->time;
}

/* ---- rows and their index ---- */

static uint32_t
report_hash(const char *key, int pane)
{
	uint32_t h = 2166136261u ^ (uint32_t)pane;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static void
report_index_put(struct report_index *ix, const struct report_row *rows, int i)
{
	uint32_t m = (uint32_t)ix->cap - 1;
	uint32_t h = report_hash(rows[i].key, rows[i].pane) & m;
	while (ix->slot[h] != 0)
		h = (h + 1) & m;
	ix->slot[h] = i + 1;
}

/* The index of row's sub-rows, grown to hold one more. */
static struct report_index *
report_index_of(struct report_row *row)
{
	struct report_index *ix = row->index;
	if (ix == NULL)
		ix = row->index = xcalloc(1, sizeof(*ix));
	if ((row->nsub + 1) * 2 > ix->cap) {
		free(ix->slot);
		ix->cap = ix->cap ? ix->cap * 2 : 16;
		ix->slot = xcalloc((size_t)ix->cap, sizeof(*ix->slot));
		for (int i = 0; i < row->nsub; i++)
			report_index_put(ix, row->sub, i);
	}
	return ix;
}

/* The sub-row (key, pane) of row, added when new. */
static struct report_row *
report_child(struct report_row *row, const char *key, int pane, enum report_by sub_by)
{
	struct report_index *ix = report_index_of(row);
	uint32_t m = (uint32_t)ix->cap - 1;
	for (uint32_t h = report_hash(key, pane) & m; ix->slot[h] != 0; h = (h + 1) & m) {
		struct report_row *c = &row->sub[ix->slot[h] - 1];
		if (c->pane == pane && strcmp(c->key, key) == 0)
			return c;
	}
	if (row->nsub == row->cap) {
		row->cap = row->cap ? row->cap * 2 : 8;
		row->sub = xreallocarray(row->sub, (size_t)row->cap, sizeof(*row->sub));
	}
	struct report_row *c = &row->sub[row->nsub];
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->pane = pane;
	c->sub_by = sub_by;
	report_index_put(ix, row->sub, row->nsub++);
	return c;
}

/* The label of record e in dimension by. */
static void
report_key(enum report_by by, const struct ledger_entry *e, char *key, size_t len, int *pane)
{
	const char *model = e->model_used[0] ? e->model_used : e->model_asked;
	const char *s = NULL;
	*pane = 0;
	switch (by) {
	case REPORT_BY_PANE:
		*pane = e->pane;
		if (e->pane_name[0] != '\0')
			snprintf(key, len, "%d %s", e->pane, e->pane_name);
		else
			snprintf(key, len, "%d", e->pane);
		return;
	case REPORT_BY_MODEL: {
		char m[MODEL_ID_MAX];
		model_undated(model, m);
		snprintf(key, len, "%s", m[0] ? m : "(unknown)");
		return;
	}
	case REPORT_BY_ID: s = model[0] ? model : "(unknown)"; break;
	case REPORT_BY_AGENT: s = e->agent; break;
	case REPORT_BY_BRANCH: s = e->branch; break;
	case REPORT_BY_MEMBER: s = e->member; break;
	case REPORT_BY_TEAM: s = e->team; break;
	case REPORT_BY_NONE: s = ""; break;
	}
	snprintf(key, len, "%s", s != NULL && s[0] ? s : "-");
}

/* Add s to row and, below it, to the rows of the chain. */
static void
report_add_chain(report_t *r, struct report_row *row, const struct ledger_entry *e,
    const struct report_sums *s)
{
	report_sums_add(&row->sums, s);
	for (int lv = 0; r->chain[lv] != REPORT_BY_NONE; lv++) {
		char key[sizeof(row->key)];
		int pane;
		report_key(r->chain[lv], e, key, sizeof(key), &pane);
		row = report_child(row, key, pane, r->chain[lv + 1]);
		report_sums_add(&row->sums, s);
	}
}

/* ---- the view's row of a record ---- */

static struct report_row *
report_view_row(report_t *r, const struct ledger_entry *e)
{
	static const enum period_kind kinds[] = { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };
	char key[64];
	double start = 0, end = 0;
	switch (r->o.view) {
	case REPORT_DAILY:
	case REPORT_WEEKLY:
	case REPORT_MONTHLY:
		if (!(e->time >= r->period_start && e->time < r->period_end))
			period_of(kinds[r->o.view], &r->o.tz, e->time, r->period_label,
			    sizeof(r->period_label), &r->period_start, &r->period_end);
		snprintf(key, sizeof(key), "%s", r->period_label);
		start = r->period_start;
		end = r->period_end;
		break;
	case REPORT_SESSION:
		snprintf(key, sizeof(key), "%s", e->session[0] ? e->session : "-");
		break;
	case REPORT_BLOCKS:   /* by UTC hour; report_finish makes blocks */
		start = floor(e->time / 3600) * 3600;
		end = start + 3600;
		snprintf(key, sizeof(key), "%.0f", start);
		break;
	}
	struct report_row *row = report_child(&r->root, key, 0, r->chain[0]);
	row->start = start;
	row->end = end;
	return row;
}

static void
report_add_fallback(report_t *r, const struct ledger_entry *e)
{
	char asked[MODEL_ID_MAX], used[MODEL_ID_MAX];
	model_undated(e->model_asked, asked);
	model_undated(e->model_used, used);
	if (e->fallbacks <= 0 || asked[0] == '\0' || used[0] == '\0' || strcmp(asked, used) == 0)
		return;
	struct report_fallback *f = NULL;
	for (int i = 0; i < r->nfallbacks && f == NULL; i++)
		if (strcmp(r->fallbacks[i].asked, asked) == 0 && strcmp(r->fallbacks[i].used, used) == 0)
			f = &r->fallbacks[i];
	if (f == NULL && r->nfallbacks < REPORT_MAX_FALLBACKS) {
		f = &r->fallbacks[r->nfallbacks++];
		snprintf(f->asked, sizeof(f->asked), "%s", asked);
		snprintf(f->used, sizeof(f->used), "%s", used);
	}
	if (f == NULL) {   /* full: the last pair becomes the rest */
		f = &r->fallbacks[REPORT_MAX_FALLBACKS - 1];
		snprintf(f->asked, sizeof(f->asked), "other");
		snprintf(f->used, sizeof(f->used), "other");
	}
	f->requests++;
}

void
report_add(report_t *r, const struct ledger_entry *e)
{
	const struct report_options *o = &r->o;
	if ((o->since > 0 && e->time < o->since) || (o->until > 0 && e->time >= o->until))
		return;
	if (o->session != NULL && (e->session[0] == '\0' ||
	    strncmp(e->session, o->session, strlen(o->session)) != 0))
		return;
	struct report_sums s;
	report_sums_of(e, &s);
	report_add_chain(r, report_view_row(r, e), e, &s);
	report_add_chain(r, &r->total, e, &s);
	report_add_fallback(r, e);
	r->finished = 0;
}

static void
report_load_fn(const struct ledger_entry *e, void *user)
{
	report_add(user, e);
}

int
report_load(report_t *r, const char *path)
{
	struct ledger_read_stats st;
	int n = ledger_read_all(path, report_load_fn, r, &st);
	int err = errno;
	r->skipped.records += st.records;
	r->skipped.not_json += st.not_json;
	r->skipped.no_time += st.no_time;
	r->skipped.out_of_range += st.out_of_range;
	r->skipped.torn += st.torn;
	errno = err;
	return n;
}

/* ---- finishing: order, blocks ---- */

static int
report_cmp_start(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
report_cmp_pane(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->pane != y->pane)
		return x->pane < y->pane ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
report_cmp_cost(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->sums.cost_micros != y->sums.cost_micros)
		return x->sums.cost_micros > y->sums.cost_micros ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Sort row's sub-rows (and theirs); the index is rebuilt. */
static void
report_sort(struct report_row *row, int (*cmp)(const void *, const void *))
{
	if (row->nsub > 1)
		qsort(row->sub, (size_t)row->nsub, sizeof(*row->sub), cmp);
	if (row->index != NULL) {
		struct report_index *ix = row->index;
		memset(ix->slot, 0, (size_t)ix->cap * sizeof(*ix->slot));
		for (int i = 0; i < row->nsub; i++)
			report_index_put(ix, row->sub, i);
	}
	for (int i = 0; i < row->nsub; i++)
		report_sort(&row->sub[i], row->sub[i].sub_by == REPORT_BY_PANE ? report_cmp_pane :
		    report_cmp_cost);
}

/* Add src (and its sub-rows) into dst. */
static void
report_merge(struct report_row *dst, const struct report_row *src)
{
	report_sums_add(&dst->sums, &src->sums);
	for (int i = 0; i < src->nsub; i++) {
		const struct report_row *s = &src->sub[i];
		report_merge(report_child(dst, s->key, s->pane, s->sub_by), s);
	}
}

/* Hourly rows (sorted) -> blocks: a block starts at the first hour with
 * records at or after the previous block's end, and lasts five hours. */
static void
report_make_blocks(report_t *r)
{
	for (int i = 0; i < r->nblocks; i++)
		report_row_clear(&r->blocks[i]);
	free(r->blocks);
	r->blocks = xcalloc((size_t)r->root.nsub + 1, sizeof(*r->blocks));
	r->nblocks = 0;
	struct report_row *b = NULL;
	for (int i = 0; i < r->root.nsub; i++) {
		const struct report_row *h = &r->root.sub[i];
		if (b == NULL || h->start >= b->end) {
			b = &r->blocks[r->nblocks++];
			b->start = h->start;
			b->end = h->start + REPORT_BLOCK_S;
			b->sub_by = r->chain[0];
			snprintf(b->key, sizeof(b->key), "%.0f", b->start);
		}
		report_merge(b, h);
	}
	for (int i = 0; i < r->nblocks; i++)
		report_sort(&r->blocks[i], r->blocks[i].sub_by == REPORT_BY_PANE ?
		    report_cmp_pane : report_cmp_cost);
}

void
report_finish(report_t *r)
{
	if (r->finished)
		return;
	if (r->o.view == REPORT_SESSION) {
		for (int i = 0; i < r->root.nsub; i++) {
			r->root.sub[i].start = r->root.sub[i].sums.first;
			r->root.sub[i].end = r->root.sub[i].sums.last;
		}
	}
	report_sort(&r->root, report_cmp_start);
	report_sort(&r->total, r->total.sub_by == REPORT_BY_PANE ? report_cmp_pane : report_cmp_cost);
	if (r->o.view == REPORT_BLOCKS)
		report_make_blocks(r);
	r->finished = 1;
}

/* ---- reading the result ---- */

const struct report_options *
report_opts(const report_t *r)
{
	return &r->o;
}

const struct report_row *
report_total(report_t *r)
{
	report_finish(r);
	return &r->total;
}

int
report_rows(report_t *r, const struct report_row **rows)
{
	report_finish(r);
	if (r->o.view == REPORT_BLOCKS) {
		*rows = r->blocks;
		return r->nblocks;
	}
	*rows = r->root.sub;
	return r->root.nsub;
}

int
report_fallbacks(report_t *r, const struct report_fallback **out)
{
	*out = r->fallbacks;
	return r->nfallbacks;
}

const struct ledger_read_stats *
report_skipped(const report_t *r)
{
	return &r->skipped;
}

void
report_active(report_t *r, struct report_active *a)
{
	memset(a, 0, sizeof(*a));
	a->now = r->o.now > 0 ? r->o.now : util_wall();
	const struct report_row *rows;
	int n = r->o.view == REPORT_BLOCKS ? report_rows(r, &rows) : 0;
	if (n == 0 || !(rows[n - 1].start <= a->now && a->now < rows[n - 1].end))
		return;
	const struct report_row *b = &rows[n - 1];
	a->active = 1;
	a->block = b;
	a->minutes = (b->sums.last - b->sums.first) / 60;
	if (a->minutes <= 0)
		return;
	double remaining = (b->end - a->now) / 60;
	double cost_per_min = (double)b->sums.cost_micros / a->minutes;
	a->tokens_per_min = (double)report_total_tokens(&b->sums) / a->minutes;
	a->cost_per_hour_micros = llround(UTIL_MIN(cost_per_min * 60, 1e18));
	a->projected_cost_micros = llround(UTIL_MIN((double)b->sums.cost_micros +
	    cost_per_min * remaining, 1e18));
	a->projected_tokens = llround(UTIL_MIN((double)report_total_tokens(&b->sums) +
	    a->tokens_per_min * remaining, 1e18));
}
