/*
 * report: groups ledger entries by local day, model and pane, and formats
 * the groups as a text table or JSON. Reads the ledger only through
 * ledger_read(). The command line is src/cmd_report.c's.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct group {
	struct report_row *rows;
	int n, cap;
	int sorted;
};

struct report {
	double since;
	struct report_row total;
	struct group by[3];
};

static const char *const by_name[] = { "day", "model", "pane" };

report_t *
report_new(double since)
{
	report_t *r = xcalloc(1, sizeof(*r));
	r->since = since;
	snprintf(r->total.key, sizeof(r->total.key), "total");
	return r;
}

void
report_free(report_t *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < 3; i++)
		free(r->by[i].rows);
	free(r);
}

static struct report_row *
report_group_row(struct group *g, const char *key, int pane)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->rows[i].key, key) == 0 && g->rows[i].pane == pane)
			return &g->rows[i];
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->rows = xreallocarray(g->rows, (size_t)g->cap, sizeof(*g->rows));
	}
	struct report_row *row = &g->rows[g->n++];
	memset(row, 0, sizeof(*row));
	snprintf(row->key, sizeof(row->key), "%s", key);
	row->pane = pane;
	return row;
}

static void
report_row_add(struct report_row *row, const struct ledger_entry *e)
{
	const struct usage *u = &e->usage;
	row->requests++;
	row->input_tokens += u->input_tokens;
	row->output_tokens += u->output_tokens;
	row->cache_read_tokens += u->cache_read_tokens;
	row->cache_write_5m_tokens += u->cache_write_5m_tokens;
	row->cache_write_1h_tokens += u->cache_write_1h_tokens;
	row->reasoning_tokens += u->reasoning_tokens;
	row->cost_micros += e->cost_micros;
	row->unpriced += !e->priced && u->has_usage;
	row->n429 += e->n429;
	row->n529 += e->n529;
	if (e->status >= 200 && e->status < 300 && strcmp(u->error_type, "overloaded_error") == 0)
		row->n529++;
}

void
report_add(report_t *r, const struct ledger_entry *e)
{
	if (r->since > 0 && e->time < r->since)
		return;
	char key[128];
	time_t t = (time_t)e->time;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(key, sizeof(key), "%Y-%m-%d", &tm);
	report_row_add(report_group_row(&r->by[REPORT_BY_DAY], key, 0), e);

	const char *model = e->model_used[0] != '\0' ? e->model_used
	    : e->model_asked[0] != '\0' ? e->model_asked : "(unknown)";
	report_row_add(report_group_row(&r->by[REPORT_BY_MODEL], model, 0), e);

	if (e->pane_name[0] != '\0')
		snprintf(key, sizeof(key), "%d %s", e->pane, e->pane_name);
	else
		snprintf(key, sizeof(key), "%d", e->pane);
	report_row_add(report_group_row(&r->by[REPORT_BY_PANE], key, e->pane), e);

	report_row_add(&r->total, e);
	for (int i = 0; i < 3; i++)
		r->by[i].sorted = 0;
}

static void
report_load_fn(const struct ledger_entry *e, void *user)
{
	report_add(user, e);
}

int
report_load(report_t *r, const char *path)
{
	return ledger_read(path, report_load_fn, r);
}

const struct report_row *
report_total(const report_t *r)
{
	return &r->total;
}

static int
report_cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct report_row *)a)->key, ((const struct report_row *)b)->key);
}

static int
report_cmp_cost(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->cost_micros != y->cost_micros)
		return x->cost_micros > y->cost_micros ? -1 : 1;
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

int
report_rows(report_t *r, enum report_by by, const struct report_row **rows)
{
	struct group *g = &r->by[by];
	if (!g->sorted && g->n > 1) {
		qsort(g->rows, (size_t)g->n, sizeof(*g->rows),
		    by == REPORT_BY_DAY ? report_cmp_key : by == REPORT_BY_MODEL ? report_cmp_cost :
		    report_cmp_pane);
	}
	g->sorted = 1;
	*rows = g->rows;
	return g->n;
}

/* ---- text ---- */

static void
report_text_row(struct buf *b, int w, const struct report_row *row)
{
	char cost[32];
	util_fmt_usd(row->cost_micros, cost, sizeof(cost));
	if (row->unpriced > 0)
		strncat(cost, "*", sizeof(cost) - strlen(cost) - 1);
	buf_appendf(b, "%-*.*s %9lld %12lld %12lld %12lld %12lld %11s %6lld %6lld\n",
	    w, w, row->key, (long long)row->requests, (long long)row->input_tokens,
	    (long long)row->output_tokens, (long long)row->cache_read_tokens,
	    (long long)(row->cache_write_5m_tokens + row->cache_write_1h_tokens), cost,
	    (long long)row->n429, (long long)row->n529);
}

char *
report_format_text(report_t *r, enum report_by by)
{
	const struct report_row *rows;
	int n = report_rows(r, by, &rows);
	int w = 10;
	for (int i = 0; i < n; i++)
		w = UTIL_MAX(w, (int)strlen(rows[i].key));
	w = UTIL_MIN(w, 40);
	struct buf b = { 0 };
	buf_appendf(&b, "%-*s %9s %12s %12s %12s %12s %11s %6s %6s\n", w, by_name[by],
	    "requests", "input", "output", "cache read", "cache write", "cost", "429", "529");
	for (int i = 0; i < n; i++)
		report_text_row(&b, w, &rows[i]);
	report_text_row(&b, w, &r->total);
	if (r->total.unpriced > 0)
		buf_appendf(&b, "* includes %lld request(s) of models without a price\n",
		    (long long)r->total.unpriced);
	return b.data;
}

/* ---- JSON ---- */

static cJSON *
report_json_row(const char *keyname, const struct report_row *row)
{
	cJSON *o = cJSON_CreateObject();
	if (keyname != NULL)
		cJSON_AddStringToObject(o, keyname, row->key);
	cJSON_AddNumberToObject(o, "requests", (double)row->requests);
	cJSON_AddNumberToObject(o, "input_tokens", (double)row->input_tokens);
	cJSON_AddNumberToObject(o, "output_tokens", (double)row->output_tokens);
	cJSON_AddNumberToObject(o, "cache_read_tokens", (double)row->cache_read_tokens);
	cJSON_AddNumberToObject(o, "cache_write_5m_tokens", (double)row->cache_write_5m_tokens);
	cJSON_AddNumberToObject(o, "cache_write_1h_tokens", (double)row->cache_write_1h_tokens);
	cJSON_AddNumberToObject(o, "reasoning_tokens", (double)row->reasoning_tokens);
	cJSON_AddNumberToObject(o, "cost_usd", (double)row->cost_micros / 1e6);
	cJSON_AddNumberToObject(o, "cost_micros", (double)row->cost_micros);
	cJSON_AddNumberToObject(o, "unpriced", (double)row->unpriced);
	cJSON_AddNumberToObject(o, "n429", (double)row->n429);
	cJSON_AddNumberToObject(o, "n529", (double)row->n529);
	return o;
}

char *
report_format_json(report_t *r)
{
	static const struct {
		enum report_by by;
		const char *array, *key;
	} groups[] = {
		{ REPORT_BY_MODEL, "by_model", "model" },
		{ REPORT_BY_PANE, "by_pane", "pane" },
		{ REPORT_BY_DAY, "by_day", "day" },
	};
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "total", report_json_row(NULL, &r->total));
	for (size_t g = 0; g < UTIL_ARRAY_LEN(groups); g++) {
		const struct report_row *rows;
		int n = report_rows(r, groups[g].by, &rows);
		cJSON *arr = cJSON_AddArrayToObject(root, groups[g].array);
		for (int i = 0; i < n; i++) {
			cJSON *o = report_json_row(groups[g].key, &rows[i]);
			if (groups[g].by == REPORT_BY_PANE)
				cJSON_AddNumberToObject(o, "pane_number", rows[i].pane);
			cJSON_AddItemToArray(arr, o);
		}
	}
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	if (s == NULL)
		fatal("out of memory printing the report");
	char *out = xstrdup(s);
	cJSON_free(s);
	return out;
}
