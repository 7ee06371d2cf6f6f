/*
 * report_json: a report as JSON for programs: the options it was made
 * with, the rows of its view with their sub-rows, the total, fallbacks,
 * the active block, and the ledger lines skipped. Costs are decimal
 * numbers with six places ("cost_usd": 0.000024), never exponents; counts
 * are integers.
 */
#ifndef TOKMUX_REPORT_JSON_H
#define TOKMUX_REPORT_JSON_H

#include "report.h"

/* The report as one JSON object (indented); malloc'd. */
char *report_json_format(report_t *r);

#endif
