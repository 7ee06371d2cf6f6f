/*
 * report: the ledger summed up the way `tokmux report` shows it: rows of
 * a view (days, ISO weeks, months, tokmux sessions, or the 5-hour blocks
 * subscription limits count), each optionally split by pane, model, agent,
 * branch or member, models grouped under their undated id with the dated
 * ids beneath (--breakdown), and a total row split the same way. Sums
 * saturate instead of overflowing. The text table is report_text's, the
 * JSON report_json's, the command line src/cmd_report.c's.
 */
#ifndef TOKMUX_REPORT_H
#define TOKMUX_REPORT_H

#include <stdint.h>

#include "ledger.h"
#include "period.h"

enum report_view { REPORT_DAILY, REPORT_WEEKLY, REPORT_MONTHLY, REPORT_SESSION, REPORT_BLOCKS };
#define REPORT_VIEWS 5

enum report_by {
	REPORT_BY_NONE, REPORT_BY_PANE, REPORT_BY_MODEL, REPORT_BY_AGENT, REPORT_BY_BRANCH,
	REPORT_BY_MEMBER, REPORT_BY_TEAM,
	REPORT_BY_ID,                     /* dated model ids (under a model row) */
};

#define REPORT_BLOCK_S (5 * 3600)       /* a subscription usage block */
#define REPORT_MAX_FALLBACKS 64         /* (asked, used) pairs kept; past it, "other" */

struct report_options {
	enum report_view view;
	enum report_by by;          /* sub-rows of every row; NONE: none (session: panes) */
	int breakdown;              /* models (or by model) with their dated ids beneath */
	double since, until;        /* only records with since <= time < until; 0: open */
	struct period_tz tz;        /* days, weeks, months and printed times */
	const char *session;        /* only this session id (or a prefix of it); NULL: all */
	double now;                 /* the active block's clock; 0: util_wall() */
};

/* What a set of ledger records adds up to. A refused request (by a
 * ceiling) is not a served one: it counts in refused, not in requests.
 * An unsettled one (its intent line without an outcome: in flight, or
 * tokmux was killed) counts in unsettled, with its reservation in
 * unsettled_micros, not in requests or cost. */
struct report_sums {
	int64_t requests, refused, clamped;
	int64_t unsettled, unsettled_micros;
	int64_t input_tokens, output_tokens, cache_read_tokens;
	int64_t cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens;
	int64_t cost_micros;
	int64_t unpriced;           /* served with usage, but the model had no price */
	int64_t n429, n529;         /* n529 includes an overloaded_error inside a 200 */
	int64_t retries, fallbacks;
	double first, last;         /* times of the first and last record, 0 none */
	int saturated;              /* a sum stopped at INT64_MAX */
};

struct report_row {
	char key[160];              /* label: day, week, month, session id, block start,
	                             * "N name" of a pane, model, agent, branch, member, team */
	int pane;                   /* pane rows: the pane's number */
	double start, end;          /* periods and blocks: bounds; sessions: first, last */
	struct report_sums sums;
	enum report_by sub_by;      /* what the sub-rows are, NONE without */
	struct report_row *sub;     /* sorted by report_finish() */
	int nsub;
	void *index;                /* report.c's look-up of sub-rows by key */
	int cap;
};

struct report_fallback {
	char asked[MODEL_ID_MAX], used[MODEL_ID_MAX];
	int64_t requests;
};

/* The active block (blocks view): the one now falls in. */
struct report_active {
	int active;                 /* 0: no block is active now */
	const struct report_row *block;
	double now;
	double minutes;             /* first to last record of the block, 0: one record */
	double tokens_per_min;      /* burn rate, 0 when minutes is 0 */
	int64_t cost_per_hour_micros;
	int64_t projected_cost_micros;   /* at the block's end, at that rate */
	int64_t projected_tokens;
};

typedef struct report report_t;

report_t *report_new(const struct report_options *o);
void report_free(report_t *r);
/* Count one record (outside since/until or another session: ignored). */
void report_add(report_t *r, const struct ledger_entry *e);
/* Read a ledger into r: records read, or -1 with errno (ENOENT: no such
 * file). Skipped lines are counted (report_skipped). */
int report_load(report_t *r, const char *path);
/* Sort the rows and build blocks; report_rows etc. call it themselves. */
void report_finish(report_t *r);

const struct report_options *report_opts(const report_t *r);
const struct report_row *report_total(report_t *r);
/* The view's rows in order (time ascending); count, valid until report_add. */
int report_rows(report_t *r, const struct report_row **rows);
int report_fallbacks(report_t *r, const struct report_fallback **out);
const struct ledger_read_stats *report_skipped(const report_t *r);
void report_active(report_t *r, struct report_active *out);

/* Total tokens of sums: input, output, cache read and cache writes. */
int64_t report_total_tokens(const struct report_sums *s);

/* Names: "daily" ... and "pane" ... as the command line spells them. */
const char *report_view_name(enum report_view v);
const char *report_by_name(enum report_by b);

#endif
