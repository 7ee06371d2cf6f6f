/*
 * testreport: what the report tests share: ledger entries made in code,
 * five records over two days, two sessions and three panes, a ledger file
 * written by ledger_append with extra raw lines, and the widest line of a
 * text. Include after <cmocka.h>. Header-only: every function is static inline.
 */
#ifndef TOKMUX_TESTREPORT_H
#define TOKMUX_TESTREPORT_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "report.h"
#include "util.h"

#define DAY1 1755734400.0   /* 2025-08-21T00:00:00Z, a Thursday (date -u -d 2025-08-21 +%s) */
#define DAY2 (DAY1 + 86400) /* 2025-08-22 */

static inline struct ledger_entry
entry(double t, int pane, const char *name, const char *model, int64_t in, int64_t out,
    int64_t cost)
{
	struct ledger_entry e;
	memset(&e, 0, sizeof(e));
	e.time = t;
	e.pane = pane;
	snprintf(e.pane_name, sizeof(e.pane_name), "%s", name);
	snprintf(e.model_used, sizeof(e.model_used), "%s", model);
	snprintf(e.model_asked, sizeof(e.model_asked), "%s", model);
	e.usage.input_tokens = in;
	e.usage.output_tokens = out;
	e.usage.has_usage = in + out > 0;
	e.cost_micros = cost;
	e.priced = 1;
	e.status = 200;
	return e;
}

static inline report_t *
report_of(enum report_view view, enum report_by by, int breakdown)
{
	struct report_options o = { .view = view, .by = by, .breakdown = breakdown };
	return report_new(&o);
}

/* Five records over two days, two sessions, three panes. */
static inline void
add_five(report_t *r)
{
	struct ledger_entry e;
	e = entry(DAY1 + 3600, 1, "claude", "claude-sonnet-4-5-20250929", 100, 10, 500);
	e.usage.cache_read_tokens = 1000;
	e.usage.cache_write_5m_tokens = 20;
	e.usage.cache_write_1h_tokens = 30;
	e.n429 = 2;
	snprintf(e.session, sizeof(e.session), "aaaa1111bbbb2222");
	snprintf(e.agent, sizeof(e.agent), "claude");
	snprintf(e.branch, sizeof(e.branch), "tokmux/one");
	report_add(r, &e);
	e = entry(DAY2 + 60, 2, "codex", "gpt-5-codex", 200, 20, 3000);
	e.n529 = 1;
	e.retries = 1;
	snprintf(e.session, sizeof(e.session), "cccc3333dddd4444");
	snprintf(e.agent, sizeof(e.agent), "codex");
	snprintf(e.member, sizeof(e.member), "ana");
	snprintf(e.team, sizeof(e.team), "core");
	report_add(r, &e);
	e = entry(DAY1 + 7200, 1, "claude", "claude-sonnet-4-5", 300, 30, 9000);
	snprintf(e.model_asked, sizeof(e.model_asked), "claude-opus-4-6");
	e.fallbacks = 1;
	snprintf(e.usage.error_type, sizeof(e.usage.error_type), "overloaded_error");
	snprintf(e.session, sizeof(e.session), "aaaa1111bbbb2222");
	report_add(r, &e);
	e = entry(DAY2 + 120, 2, "codex", "mystery-model", 5, 5, 0);
	e.priced = 0;
	e.clamped = 1;
	snprintf(e.session, sizeof(e.session), "cccc3333dddd4444");
	report_add(r, &e);
	/* refused by a ceiling: no usage, not a served request */
	e = entry(DAY2 + 180, 3, "", "", 0, 0, 0);
	snprintf(e.model_asked, sizeof(e.model_asked), "claude-haiku-4-5");
	e.status = 403;
	e.refused = 1;
	report_add(r, &e);
}

/* Longest line of text in characters (UTF-8 continuation bytes not counted). */
static inline int
widest(const char *text)
{
	int w = 0, max = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n') {
			max = UTIL_MAX(max, w);
			w = 0;
		} else if ((*p & 0xc0) != 0x80) {
			w++;
		}
	}
	return UTIL_MAX(max, w);
}

/* Four records written by ledger_append (three on DAY1, one on DAY2),
 * then the lines in extra as they are. */
static inline char *
write_ledger(const char *tmpdir, const char *extra)
{
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	unlink(path);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	assert_non_null(l);
	struct ledger_record r;
	memset(&r, 0, sizeof(r));
	r.pane = 1;
	r.pane_name = "claude";
	r.api = "anthropic";
	r.model_used = "claude-sonnet-4-5-20250929";
	r.priced = 1;
	r.status = 200;
	r.session = "5e55105e5e55105e";
	for (int i = 0; i < 3; i++) {
		r.time = DAY1 + 100 * i;
		r.usage.input_tokens = 1000;
		r.usage.output_tokens = 500;
		r.usage.cache_read_tokens = 2000;
		r.usage.cache_write_5m_tokens = 3000;
		r.cost_micros = 22350;
		r.n429 = i;
		assert_int_equal(ledger_append(l, &r), 0);
	}
	r.time = DAY2 + 5;
	r.pane = 2;
	r.pane_name = "codex";
	r.model_used = "gpt-5-codex";
	r.usage.input_tokens = 1064;
	r.usage.output_tokens = 930;
	r.usage.cache_read_tokens = 11776;
	r.usage.cache_write_5m_tokens = 0;
	r.cost_micros = 12102;
	r.n429 = 0;
	r.n529 = 2;
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	if (extra != NULL) {
		FILE *f = fopen(path, "a");
		fputs(extra, f);
		fclose(f);
	}
	return path;
}

#endif
