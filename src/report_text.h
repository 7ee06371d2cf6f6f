/*
 * report_text: a report as text for a terminal: the table of a view
 * (fitted to a width: numbers shortened, cache writes merged, columns of
 * zeros and then the least needed columns hidden, each step said in a
 * note), the notes under it, the line about skipped ledger lines, and the
 * one-screen summary of a session printed when tokmux quits. Every string
 * that came from a ledger is escaped first: no control character, C1
 * control, bidi override or invalid UTF-8 byte reaches the terminal.
 */
#ifndef TOKMUX_REPORT_TEXT_H
#define TOKMUX_REPORT_TEXT_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

/* s made safe to print: C0 controls, DEL and invalid UTF-8 bytes as
 * \xNN, C1 controls, line/paragraph separators and bidi controls as
 * \uNNNN. Writes at most len bytes (NUL included, never cutting an escape
 * or a character); returns the width in columns (one per character). */
size_t report_text_escape(const char *s, char *out, size_t len);

/* The table and its notes; width: the terminal's columns (at least 40).
 * malloc'd. */
char *report_text_format(report_t *r, int width);

/* "3 lines skipped: not JSON" (and the other reasons); NULL when none. malloc'd. */
char *report_text_skipped(const struct ledger_read_stats *st);

/* The summary of session (id) from the ledger at path, to out: its panes
 * with cost, tokens, 429s, 529s, refusals and fallbacks, the totals, the
 * fallbacks by model. Nothing when the session has no records. Returns 0,
 * or -1 when the ledger cannot be read. */
int report_text_summary(const char *path, const char *session, FILE *out);

#endif
