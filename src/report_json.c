/*
 * report_json: owns the JSON form of a report. Numbers are written as raw
 * JSON text (cJSON_CreateRaw) so that integers stay integers at any size
 * and dollars keep six decimals: cJSON prints doubles with %g. Strings
 * from the ledger go through report_text_escape, so the JSON is valid
 * UTF-8 and a terminal printing a value sees no control character.
 */
#include "report_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_text.h"
#include "util.h"

static void
report_json_int(cJSON *o, const char *name, int64_t v)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld", (long long)v);
	cJSON_AddItemToObject(o, name, cJSON_CreateRaw(s));
}

/* micro-dollars as dollars with six decimals: 24 -> 0.000024 */
static void
report_json_usd(cJSON *o, const char *name, int64_t micros)
{
	char s[40];
	uint64_t m = micros < 0 ? 0 - (uint64_t)micros : (uint64_t)micros;
	snprintf(s, sizeof(s), "%s%llu.%06llu", micros < 0 ? "-" : "",
	    (unsigned long long)(m / 1000000), (unsigned long long)(m % 1000000));
	cJSON_AddItemToObject(o, name, cJSON_CreateRaw(s));
}

static void
report_json_str(cJSON *o, const char *name, const char *s)
{
	char esc[1024];
	report_text_escape(s, esc, sizeof(esc));
	cJSON_AddStringToObject(o, name, esc);
}

/* RFC 3339 in the report's zone: 2025-08-21T10:00:00+02:00 (Z at UTC). */
static void
report_json_time(cJSON *o, const char *name, const struct period_tz *tz, double t)
{
	char s[64], zone[16];
	period_strftime(tz, t, "%Y-%m-%dT%H:%M:%S", s, sizeof(s));
	period_strftime(tz, t, "%z", zone, sizeof(zone));
	if (!tz->local && tz->offset_s == 0)
		snprintf(zone, sizeof(zone), "Z");
	else if (!tz->local)
		snprintf(zone, sizeof(zone), "%c%02d:%02d", tz->offset_s < 0 ? '-' : '+',
		    abs(tz->offset_s) / 3600, abs(tz->offset_s) / 60 % 60);
	else if (strlen(zone) == 5)   /* +0200 -> +02:00 */
		snprintf(zone + 3, sizeof(zone) - 3, ":%c%c", zone[3], zone[4]);
	strncat(s, zone, sizeof(s) - strlen(s) - 1);
	cJSON_AddStringToObject(o, name, s);
}

static void
report_json_sums(cJSON *o, const struct report_sums *s, const struct period_tz *tz)
{
	report_json_int(o, "requests", s->requests);
	report_json_int(o, "refused", s->refused);
	report_json_int(o, "clamped", s->clamped);
	report_json_int(o, "unsettled", s->unsettled);
	report_json_usd(o, "unsettled_reserved_usd", s->unsettled_micros);
	report_json_int(o, "input_tokens", s->input_tokens);
	report_json_int(o, "output_tokens", s->output_tokens);
	report_json_int(o, "cache_read_tokens", s->cache_read_tokens);
	report_json_int(o, "cache_write_5m_tokens", s->cache_write_5m_tokens);
	report_json_int(o, "cache_write_1h_tokens", s->cache_write_1h_tokens);
	report_json_int(o, "reasoning_tokens", s->reasoning_tokens);
	report_json_int(o, "total_tokens", report_total_tokens(s));
	report_json_usd(o, "cost_usd", s->cost_micros);
	report_json_int(o, "cost_micros", s->cost_micros);
	report_json_int(o, "unpriced", s->unpriced);
	report_json_int(o, "n429", s->n429);
	report_json_int(o, "n529", s->n529);
	report_json_int(o, "retries", s->retries);
	report_json_int(o, "fallbacks", s->fallbacks);
	if (s->first > 0) {
		report_json_time(o, "first", tz, s->first);
		report_json_time(o, "last", tz, s->last);
	}
	if (s->saturated)
		cJSON_AddTrueToObject(o, "saturated");
}

/* The array name of sub-rows, and the key name of one. */
static const char *
report_json_array(enum report_by by)
{
	static const char *const names[] = {
		"", "panes", "models", "agents", "branches", "members", "teams", "ids",
	};
	return (size_t)by < UTIL_ARRAY_LEN(names) ? names[by] : "rows";
}

static const char *
report_json_keyname(enum report_by by)
{
	return by == REPORT_BY_ID ? "model" : report_by_name(by);
}

static cJSON *
report_json_row(const report_t *r, const char *keyname, enum report_by by,
    const struct report_row *row)
{
	const struct period_tz *tz = &report_opts(r)->tz;
	cJSON *o = cJSON_CreateObject();
	if (keyname != NULL)
		report_json_str(o, keyname, row->key);
	if (by == REPORT_BY_PANE)
		report_json_int(o, "pane_number", row->pane);
	report_json_sums(o, &row->sums, tz);
	if (row->sub_by != REPORT_BY_NONE) {
		cJSON *arr = cJSON_AddArrayToObject(o, report_json_array(row->sub_by));
		for (int i = 0; i < row->nsub; i++)
			cJSON_AddItemToArray(arr, report_json_row(r, report_json_keyname(row->sub_by),
			    row->sub_by, &row->sub[i]));
	}
	return o;
}

/* One row of the view: its key, bounds, sums and sub-rows. */
static cJSON *
report_json_view_row(const report_t *r, const struct report_row *row)
{
	static const char *const keys[REPORT_VIEWS] = { "date", "week", "month", "session", NULL };
	const struct report_options *o = report_opts(r);
	cJSON *obj = report_json_row(r, keys[o->view], REPORT_BY_NONE, row);
	if (o->view != REPORT_SESSION) {
		cJSON *start = cJSON_CreateObject();
		report_json_time(start, "start", &o->tz, row->start);
		report_json_time(start, "end", &o->tz, row->end);
		cJSON_AddItemToObject(obj, "start", cJSON_DetachItemFromObject(start, "start"));
		cJSON_AddItemToObject(obj, "end", cJSON_DetachItemFromObject(start, "end"));
		cJSON_Delete(start);
	}
	return obj;
}

static void
report_json_active(cJSON *root, report_t *r)
{
	struct report_active a;
	report_active(r, &a);
	if (!a.active) {
		cJSON_AddNullToObject(root, "active_block");
		return;
	}
	const struct period_tz *tz = &report_opts(r)->tz;
	cJSON *o = cJSON_AddObjectToObject(root, "active_block");
	report_json_time(o, "start", tz, a.block->start);
	report_json_time(o, "end", tz, a.block->end);
	report_json_time(o, "now", tz, a.now);
	report_json_int(o, "remaining_seconds", (int64_t)(a.block->end - a.now));
	if (a.minutes > 0) {
		char s[40];
		snprintf(s, sizeof(s), "%.1f", a.tokens_per_min);
		cJSON_AddItemToObject(o, "tokens_per_minute", cJSON_CreateRaw(s));
		report_json_usd(o, "cost_per_hour_usd", a.cost_per_hour_micros);
		report_json_usd(o, "projected_cost_usd", a.projected_cost_micros);
		report_json_int(o, "projected_tokens", a.projected_tokens);
	} else {
		cJSON_AddNullToObject(o, "tokens_per_minute");
	}
}

static void
report_json_head(cJSON *root, const report_t *r)
{
	const struct report_options *o = report_opts(r);
	char tz[32];
	cJSON_AddStringToObject(root, "view", report_view_name(o->view));
	period_tz_format(&o->tz, tz, sizeof(tz));
	cJSON_AddStringToObject(root, "timezone", tz);
	if (o->by != REPORT_BY_NONE)
		cJSON_AddStringToObject(root, "by", report_by_name(o->by));
	else
		cJSON_AddNullToObject(root, "by");
	cJSON_AddBoolToObject(root, "breakdown", o->breakdown);
	if (o->since > 0)
		report_json_time(root, "since", &o->tz, o->since);
	if (o->until > 0)
		report_json_time(root, "until", &o->tz, o->until);
	if (o->session != NULL)
		report_json_str(root, "session", o->session);
}

static void
report_json_tail(cJSON *root, report_t *r)
{
	const struct report_fallback *f;
	int nf = report_fallbacks(r, &f);
	cJSON *arr = cJSON_AddArrayToObject(root, "fallbacks");
	for (int i = 0; i < nf; i++) {
		cJSON *o = cJSON_CreateObject();
		report_json_str(o, "asked", f[i].asked);
		report_json_str(o, "used", f[i].used);
		report_json_int(o, "requests", f[i].requests);
		cJSON_AddItemToArray(arr, o);
	}
	const struct ledger_read_stats *st = report_skipped(r);
	cJSON *sk = cJSON_AddObjectToObject(root, "skipped");
	report_json_int(sk, "lines", ledger_read_skipped(st));
	report_json_int(sk, "not_json", st->not_json);
	report_json_int(sk, "no_time", st->no_time);
	report_json_int(sk, "out_of_range", st->out_of_range);
	report_json_int(sk, "torn", st->torn);
}

char *
report_json_format(report_t *r)
{
	static const char *const arrays[REPORT_VIEWS] = {
		"daily", "weekly", "monthly", "sessions", "blocks",
	};
	cJSON *root = cJSON_CreateObject();
	report_json_head(root, r);
	const struct report_row *rows;
	int n = report_rows(r, &rows);
	cJSON *arr = cJSON_AddArrayToObject(root, arrays[report_opts(r)->view]);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, report_json_view_row(r, &rows[i]));
	cJSON_AddItemToObject(root, "total", report_json_row(r, NULL, REPORT_BY_NONE,
	    report_total(r)));
	report_json_tail(root, r);
	if (report_opts(r)->view == REPORT_BLOCKS)
		report_json_active(root, r);
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	if (s == NULL)
		fatal("out of memory printing the report");
	char *out = xstrdup(s);
	cJSON_free(s);
	return out;
}
