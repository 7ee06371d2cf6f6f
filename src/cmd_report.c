/*
 * cmd_report: `tokmux report`, the ledger summed up by day, model or pane,
 * as a text table or JSON (src/report.c does the summing and formatting).
 * Exit status: 0, 1 if the ledger cannot be read, 2 for bad usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd.h"
#include "ledger.h"
#include "report.h"
#include "util.h"

static void
cmd_report_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux report [--json] [--since YYYY-MM-DD] [--by day|model|pane] [--ledger FILE]\n"
	    "\n"
	    "Summarise the request ledger: requests, tokens by kind, cost, 429s and 529s.\n"
	    "  --json          print JSON with total, by_model, by_pane and by_day\n"
	    "  --since DATE    only requests from local midnight of DATE on\n"
	    "  --by KIND       group the table by day (default), model or pane\n"
	    "  --ledger FILE   read FILE instead of the default ledger\n"
	    "  -h, --help      show this help\n"
	    "  --version       print the version\n", f);
}

/* Load, format and print; 0, or 1 when the ledger cannot be read. */
static int
cmd_report_print(const char *ledger, double since, int json, enum report_by by)
{
	char *path = ledger != NULL ? xstrdup(ledger) : ledger_default_path();
	report_t *r = report_new(since);
	int rc = 0;
	if (report_load(r, path) < 0) {
		fprintf(stderr, "tokmux report: cannot read %s\n", path);
		rc = 1;
	} else {
		char *text = json ? report_format_json(r) : report_format_text(r, by);
		fputs(text, stdout);
		if (json)
			fputc('\n', stdout);
		free(text);
	}
	report_free(r);
	free(path);
	return rc;
}

int
cmd_report_main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_SINCE, OPT_BY, OPT_LEDGER };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "by", required_argument, NULL, OPT_BY },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ NULL, 0, NULL, 0 },
	};
	/* in the order of enum report_by */
	static const char *const by_names[] = { "day", "model", "pane", NULL };
	struct cli cli;
	int json = 0, by = REPORT_BY_DAY, c;
	double since = 0;
	const char *ledger = NULL;
	char *err = NULL;
	cli_init(&cli, "tokmux report", "", longopts, cmd_report_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case CLI_EXIT: return cli.status;
		case OPT_JSON: json = 1; break;
		case OPT_LEDGER: ledger = optarg; break;
		case OPT_SINCE:
			if (cli_parse_date(optarg, &since, &err) < 0)
				return cli_fail(&cli, err);
			break;
		case OPT_BY:
			if (cli_parse_choice(optarg, by_names, &by, &err) < 0)
				return cli_fail(&cli, err);
			break;
		}
	}
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	return cmd_report_print(ledger, since, json, (enum report_by)by);
}
