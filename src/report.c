/*
 * report: owns `tokmux report`: grouping ledger entries by local day, model
 * and pane, and printing the groups as a text table or JSON. Reads the
 * ledger only through ledger_read().
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <ctype.h>
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
group_row(struct group *g, const char *key, int pane)
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
row_add(struct report_row *row, const struct ledger_entry *e)
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
	row_add(group_row(&r->by[REPORT_BY_DAY], key, 0), e);

	const char *model = e->model_used[0] != '\0' ? e->model_used
	    : e->model_asked[0] != '\0' ? e->model_asked : "(unknown)";
	row_add(group_row(&r->by[REPORT_BY_MODEL], model, 0), e);

	if (e->pane_name[0] != '\0')
		snprintf(key, sizeof(key), "%d %s", e->pane, e->pane_name);
	else
		snprintf(key, sizeof(key), "%d", e->pane);
	row_add(group_row(&r->by[REPORT_BY_PANE], key, e->pane), e);

	row_add(&r->total, e);
	for (int i = 0; i < 3; i++)
		r->by[i].sorted = 0;
}

static void
load_fn(const struct ledger_entry *e, void *user)
{
	report_add(user, e);
}

int
report_load(report_t *r, const char *path)
{
	return ledger_read(path, load_fn, r);
}

const struct report_row *
report_total(const report_t *r)
{
	return &r->total;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct report_row *)a)->key, ((const struct report_row *)b)->key);
}

static int
cmp_cost(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->cost_micros != y->cost_micros)
		return x->cost_micros > y->cost_micros ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
cmp_pane(const void *a, const void *b)
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
		    by == REPORT_BY_DAY ? cmp_key : by == REPORT_BY_MODEL ? cmp_cost : cmp_pane);
	}
	g->sorted = 1;
	*rows = g->rows;
	return g->n;
}

/* ---- text ---- */

static void
text_row(struct buf *b, int w, const struct report_row *row)
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
		text_row(&b, w, &rows[i]);
	text_row(&b, w, &r->total);
	if (r->total.unpriced > 0)
		buf_appendf(&b, "* includes %lld request(s) of models without a price\n",
		    (long long)r->total.unpriced);
	return b.data;
}

/* ---- JSON ---- */

static cJSON *
json_row(const char *keyname, const struct report_row *row)
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
	cJSON_AddItemToObject(root, "total", json_row(NULL, &r->total));
	for (size_t g = 0; g < UTIL_ARRAY_LEN(groups); g++) {
		const struct report_row *rows;
		int n = report_rows(r, groups[g].by, &rows);
		cJSON *arr = cJSON_AddArrayToObject(root, groups[g].array);
		for (int i = 0; i < n; i++) {
			cJSON *o = json_row(groups[g].key, &rows[i]);
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

/* ---- command line ---- */

static const char usage_text[] =
    "usage: tokmux report [--json] [--since YYYY-MM-DD] [--by day|model|pane] [--ledger FILE]\n"
    "\n"
    "Summarise the request ledger: requests, tokens by kind, cost, 429s and 529s.\n"
    "  --json          print JSON with total, by_model, by_pane and by_day\n"
    "  --since DATE    only requests from local midnight of DATE on\n"
    "  --by KIND       group the table by day (default), model or pane\n"
    "  --ledger FILE   read FILE instead of the default ledger\n"
    "  -h, --help      show this help\n";

/* Local midnight of "YYYY-MM-DD"; -1 if malformed. */
static double
parse_day(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	struct tm tm = { 0 };
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_isdst = -1;
	int mon = tm.tm_mon, mday = tm.tm_mday;
	if (mon < 0 || mon > 11 || mday < 1 || mday > 31)
		return -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_mon != mon || tm.tm_mday != mday)
		return -1;
	return (double)t;
}

/* The value of "--opt VALUE" or "--opt=VALUE" at argv[*i]; NULL if this is
 * not opt. Sets *missing when the value is absent. */
static const char *
opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];
	if (strncmp(a, opt, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int
report_run(int argc, char **argv, FILE *out, FILE *err)
{
	int json = 0, missing = 0;
	enum report_by by = REPORT_BY_DAY;
	double since = 0;
	const char *ledger = NULL, *v;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, out);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if ((v = opt_value(argc, argv, &i, "--since", &missing)) != NULL) {
			if ((since = parse_day(v)) < 0) {
				fprintf(err, "tokmux report: --since: expected a date YYYY-MM-DD, got \"%s\"\n", v);
				return 2;
			}
		} else if ((v = opt_value(argc, argv, &i, "--by", &missing)) != NULL) {
			if (strcmp(v, "day") == 0)
				by = REPORT_BY_DAY;
			else if (strcmp(v, "model") == 0)
				by = REPORT_BY_MODEL;
			else if (strcmp(v, "pane") == 0)
				by = REPORT_BY_PANE;
			else {
				fprintf(err, "tokmux report: --by: expected day, model or pane, got \"%s\"\n", v);
				return 2;
			}
		} else if ((v = opt_value(argc, argv, &i, "--ledger", &missing)) != NULL) {
			ledger = v;
		} else {
			if (missing)
				fprintf(err, "tokmux report: %s needs a value\n", a);
			else
				fprintf(err, "tokmux report: unknown argument \"%s\"\n", a);
			fputs(usage_text, err);
			return 2;
		}
	}
	char *path = ledger != NULL ? xstrdup(ledger) : ledger_default_path();
	report_t *r = report_new(since);
	int n = report_load(r, path);
	if (n < 0) {
		fprintf(err, "tokmux report: cannot read %s\n", path);
		report_free(r);
		free(path);
		return 1;
	}
	char *text = json ? report_format_json(r) : report_format_text(r, by);
	fputs(text, out);
	if (json)
		fputc('\n', out);
	free(text);
	report_free(r);
	free(path);
	return 0;
}

int
report_main(int argc, char **argv)
{
	return report_run(argc, argv, stdout, stderr);
}
