/*
 * report: a summary of the ledger by day, model and pane, as a text table
 * or JSON: what `tokmux report` (src/cmd_report.c) prints.
 */
#ifndef TOKMUX_REPORT_H
#define TOKMUX_REPORT_H

#include <stdint.h>

#include "ledger.h"

enum report_by { REPORT_BY_DAY, REPORT_BY_MODEL, REPORT_BY_PANE };

struct report_row {
	char key[128];            /* day (local YYYY-MM-DD), model or pane label */
	int pane;                 /* for pane rows: the pane number */
	int64_t requests;
	int64_t input_tokens, output_tokens, cache_read_tokens;
	int64_t cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens;
	int64_t cost_micros;
	int64_t unpriced;         /* requests with usage but no price */
	int64_t n429, n529;       /* n529 includes overloaded_error inside a 200 */
};

typedef struct report report_t;

/* Only entries with time >= since are counted (0: all). */
report_t *report_new(double since);
void report_free(report_t *r);
void report_add(report_t *r, const struct ledger_entry *e);
/* Read a ledger file into r; returns records read or -1 (see ledger_read). */
int report_load(report_t *r, const char *path);
const struct report_row *report_total(const report_t *r);
/* Rows of one grouping, sorted (day and pane ascending, model by cost
 * descending); returns the count, *rows valid until the next report_add. */
int report_rows(report_t *r, enum report_by by, const struct report_row **rows);

/* Text table for one grouping plus a total line; malloc'd. */
char *report_format_text(report_t *r, enum report_by by);
/* {"total": {...}, "by_model": [...], "by_pane": [...], "by_day": [...]}; malloc'd. */
char *report_format_json(report_t *r);

#endif
