/*
 * fuzz_ledger: ledger files (JSONL, possibly hand-edited, torn or from
 * another version) through the reader and everything `tokmux report` and
 * the daily ceiling build on it: ledger_read_all, report (the view and the
 * split chosen by the input), its text and JSON forms, ledger_spend_since.
 *
 * Input: byte 0 chooses the view (bits 0-2, modulo 5), the split (bits
 * 3-5, modulo 7) and the breakdown (bit 6); the rest is the file. Checks:
 * counts add up, sums are never negative (they saturate).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzfile.h"
#include "ledger.h"
#include "report.h"
#include "report_json.h"
#include "report_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_ledger_add(const struct ledger_entry *e, void *user)
{
	if (memchr(e->model_used, 0, sizeof e->model_used) == NULL ||
	    memchr(e->pane_name, 0, sizeof e->pane_name) == NULL)
		abort();
	report_add(user, e);
}

static void
fz_ledger_sums(const struct report_sums *s)
{
	if (s->requests < 0 || s->refused < 0 || s->cost_micros < 0 ||
	    s->input_tokens < 0 || s->output_tokens < 0 || report_total_tokens(s) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_options o;
	struct ledger_read_stats st;
	const struct report_row *rows;

	if (size < 1)
		return 0;
	const char *path = fuzzfile_write("ledger.jsonl", data + 1, size - 1);
	if (path == NULL)
		return 0;
	memset(&o, 0, sizeof o);
	o.view = (enum report_view)((data[0] & 7) % REPORT_VIEWS);
	o.by = (enum report_by)(((data[0] >> 3) & 7) % (REPORT_BY_TEAM + 1));
	o.breakdown = (data[0] >> 6) & 1;
	o.now = 1800000000;
	report_t *r = report_new(&o);
	int n = ledger_read_all(path, fz_ledger_add, r, &st);
	if (n < 0 || st.records != n || ledger_read_skipped(&st) < 0)
		abort();
	fz_ledger_sums(&report_total(r)->sums);
	int nrows = report_rows(r, &rows);
	for (int i = 0; i < nrows; i++)
		fz_ledger_sums(&rows[i].sums);
	free(report_text_format(r, 100));
	free(report_json_format(r));
	free(report_text_skipped(&st));
	report_free(r);
	if (ledger_spend_since(path, 0) < 0)
		abort();
	fuzzfile_remove();
	return 0;
}
