/*
 * cmd_report: `tokmux report [VIEW]`, the ledger summed up by day, week,
 * month, session or 5-hour block, split by pane, model, agent, branch or
 * member, as a table fitted to the terminal or as JSON (src/report.c sums,
 * report_text.c and report_json.c print). Exit status: 0; 1 when the
 * ledger cannot be read; 2 for bad usage, a bad config or a ledger that
 * does not exist.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "config.h"
#include "ledger.h"
#include "report.h"
#include "report_json.h"
#include "report_text.h"
#include "util.h"

static void
cmd_report_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux report [daily|weekly|monthly|session|blocks] [OPTIONS]\n"
	    "\n"
	    "Sum up the request ledger: tokens (input, output, cache read, cache writes\n"
	    "5m/1h), cost, requests, 429s, 529s, retries, fallbacks, refusals by a ceiling\n"
	    "and clamped requests. A refused request is not counted as a request.\n"
	    "\n"
	    "views:\n"
	    "  daily           one row per day (the default)\n"
	    "  weekly          one row per ISO week (Monday to Sunday)\n"
	    "  monthly         one row per month\n"
	    "  session         one row per tokmux session, its panes beneath\n"
	    "  blocks          5-hour blocks as subscription limits count them (a block\n"
	    "                  starts at the hour of the first request after the last\n"
	    "                  block ended); the active block's burn rate and projection\n"
	    "options:\n"
	    "  --by KIND       split every row by pane, model, agent, branch, member or team\n"
	    "                  (records without the field count as \"-\")\n"
	    "  --breakdown     split by model, with the dated model ids beneath each model\n"
	    "  --since DATE    only requests from DATE on (YYYY-MM-DD)\n"
	    "  --until DATE    only requests up to the end of DATE\n"
	    "  --timezone TZ   days and times in TZ: local (default), UTC, +01:00, UTC-5\n"
	    "  --session ID    only the session ID (a prefix is enough)\n"
	    "  --json          JSON instead of a table (costs in dollars with six decimals)\n"
	    "  --ledger FILE   read FILE (default: the config's \"ledger\", else\n"
	    "                  $XDG_STATE_HOME/tokmux/ledger.jsonl)\n"
	    "  -c, --config CONFIG\n"
	    "                  the config whose \"ledger\" to read\n"
	    "  -h, --help      show this help\n"
	    "  --version       print the version\n"
	    "\n"
	    "The table fits the terminal (COLUMNS): at 80 columns numbers are shortened\n"
	    "and the least needed columns hidden (a note says which). Ledger lines that\n"
	    "cannot be read are skipped and counted on stderr.\n", f);
}

struct cmd_report_args {
	struct report_options o;
	int json;
	const char *ledger, *config;
	const char *since, *until, *tz;
};

/* The view named s (into a->o.view); 0, or the exit status of a usage error. */
static int
cmd_report_view(struct cli *cli, const char *s, struct cmd_report_args *a)
{
	static const char *const views[] = { "daily", "weekly", "monthly", "session", "blocks", NULL };
	int v;
	char *err = NULL;
	if (cli_parse_choice(s, views, &v, &err) < 0) {
		int rc = cli_error(cli, CLI_USAGE, "unknown view: %s", err);
		free(err);
		return rc;
	}
	a->o.view = (enum report_view)v;
	return 0;
}

enum { OPT_JSON = 256, OPT_SINCE, OPT_UNTIL, OPT_BY, OPT_LEDGER, OPT_TZ, OPT_BREAKDOWN,
	OPT_SESSION };

/* One option into a; 0, or the exit status of a usage error. */
static int
cmd_report_option(struct cli *cli, int c, struct cmd_report_args *a)
{
	/* in the order of enum report_by, from REPORT_BY_PANE */
	static const char *const by_names[] = { "pane", "model", "agent", "branch", "member", "team",
		NULL };
	char *err = NULL;
	double t;
	int by;
	switch (c) {
	case OPT_JSON: a->json = 1; break;
	case OPT_BREAKDOWN: a->o.breakdown = 1; break;
	case OPT_LEDGER: a->ledger = optarg; break;
	case 'c': a->config = optarg; break;
	case OPT_SESSION:
		if (optarg[0] == '\0')
			return cli_fail(cli, xstrdup("expected a session id, got \"\""));
		a->o.session = optarg;
		break;
	case OPT_TZ:
		if (period_tz_parse(optarg, &a->o.tz, &err) < 0)
			return cli_fail(cli, err);
		a->tz = optarg;
		break;
	case OPT_SINCE:
	case OPT_UNTIL:   /* checked here, turned into times once the zone is known */
		if (cli_parse_date(optarg, &t, &err) < 0)
			return cli_fail(cli, err);
		*(c == OPT_SINCE ? &a->since : &a->until) = optarg;
		break;
	case OPT_BY:
		if (cli_parse_choice(optarg, by_names, &by, &err) < 0)
			return cli_fail(cli, err);
		a->o.by = (enum report_by)(by + REPORT_BY_PANE);
		break;
	}
	return 0;
}

/* --since / --until as times in the report's zone; 0, or a usage error. */
static int
cmd_report_dates(struct cli *cli, struct cmd_report_args *a)
{
	int y, m, d;
	if (a->since != NULL && sscanf(a->since, "%d-%d-%d", &y, &m, &d) == 3)
		a->o.since = period_day_start(&a->o.tz, y, m, d);
	if (a->until != NULL && sscanf(a->until, "%d-%d-%d", &y, &m, &d) == 3)
		a->o.until = period_day_start(&a->o.tz, y, m, d + 1);
	if (a->o.since > 0 && a->o.until > 0 && a->o.since >= a->o.until)
		return cli_error(cli, CLI_USAGE, "--since %s is after --until %s", a->since, a->until);
	return 0;
}

/* The ledger to read: --ledger, the config's "ledger", or the default.
 * NULL after printing a config error. malloc'd. */
static char *
cmd_report_ledger(struct cli *cli, const struct cmd_report_args *a)
{
	if (a->ledger != NULL)
		return xstrdup(a->ledger);
	struct config cfg;
	char *err = NULL, *path = NULL;
	config_init(&cfg);
	if (config_load_path(&cfg, a->config, &err) < 0) {
		cli_error(cli, CLI_USAGE, "%s", err);
		free(err);
	} else {
		path = cfg.ledger_path != NULL ? xstrdup(cfg.ledger_path) : ledger_default_path();
	}
	config_free(&cfg);
	return path;
}

/* Columns of the terminal: stdout's, else $COLUMNS, else 160. */
static int
cmd_report_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	long n = c != NULL ? strtol(c, NULL, 10) : 0;
	return n >= 20 && n <= 10000 ? (int)n : 160;
}

/* Load, format and print; the exit status. */
static int
cmd_report_print(struct cli *cli, const struct cmd_report_args *a, const char *path)
{
	report_t *r = report_new(&a->o);
	int rc = 0;
	if (report_load(r, path) < 0) {
		if (errno == ENOENT)
			rc = cli_error(cli, CLI_USAGE, "no ledger at %s (tokmux writes it at the first "
			    "metered request; --ledger FILE reads another)", path);
		else
			rc = cli_error(cli, 1, "cannot read %s: %s", path, strerror(errno));
		report_free(r);
		return rc;
	}
	char *text = a->json ? report_json_format(r) : report_text_format(r, cmd_report_width());
	fputs(text, stdout);
	if (a->json)
		fputc('\n', stdout);
	free(text);
	char *skipped = report_text_skipped(report_skipped(r));
	if (skipped != NULL)
		cli_error(cli, 0, "%s: %s", path, skipped);
	free(skipped);
	report_free(r);
	return rc;
}

int
cmd_report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "by", required_argument, NULL, OPT_BY },
		{ "breakdown", no_argument, NULL, OPT_BREAKDOWN },
		{ "timezone", required_argument, NULL, OPT_TZ },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_report_args a = { .o = { .view = REPORT_DAILY, .tz = { .local = 1 } } };
	struct cli cli;
	int c, rc;
	cli_init(&cli, "tokmux report", "c:", longopts, cmd_report_usage);
	for (int view_seen = 0;;) {
		while ((c = cli_next(&cli, argc, argv)) != -1) {
			if (c == CLI_EXIT)
				return cli.status;
			if ((rc = cmd_report_option(&cli, c, &a)) != 0)
				return rc;
		}
		if (optind >= argc || view_seen)
			break;
		/* the view, before or among the options: read the rest after it */
		if ((rc = cmd_report_view(&cli, argv[optind], &a)) != 0)
			return rc;
		view_seen = 1;
		argv[optind] = argv[0];
		argv += optind;
		argc -= optind;
		cli_init(&cli, "tokmux report", "c:", longopts, cmd_report_usage);
	}
	if (cli_no_args(&cli, argc, argv) != 0 || cmd_report_dates(&cli, &a) != 0)
		return CLI_USAGE;
	char *path = cmd_report_ledger(&cli, &a);
	if (path == NULL)
		return CLI_USAGE;
	rc = cmd_report_print(&cli, &a, path);
	free(path);
	return rc;
}
