/*
 * cmd_team: `tokmux team`, the team budget seen from outside a gateway:
 * every member's spend per period (once, or refreshed with --watch, as a
 * table or JSON), `team set` to store ceilings every member obeys from
 * their next request, and `team reseed` to put spend a store lost back
 * from members' ledgers. Needs a shared store (Redis). Exit status: 0, 1
 * when the store cannot be reached or a ledger read, 2 for bad usage or
 * config.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "cli.h"
#include "cmd.h"
#include "config.h"
#include "team.h"
#include "team_reseed.h"
#include "team_status.h"
#include "util.h"

#define CMD_TEAM_WATCH_MS 2000

static void
cmd_team_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux team [--json] [--watch] [-c CONFIG] [--budget-store URL] [--team NAME]\n"
	    "       tokmux team set [OPTIONS] team|MEMBER PERIOD[:FAMILY]=USD|none|unset...\n"
	    "       tokmux team reseed [--dry-run] [OPTIONS] LEDGER...\n"
	    "\n"
	    "The team budget shared through a Redis budget store (docs/TEAM.md).\n"
	    "  (no command)    the team's and every member's spend, in flight, ceiling,\n"
	    "                  requests and refusals per day, week and month (and per\n"
	    "                  model family where there is any), and members' last activity\n"
	    "  set WHO SPEC... store ceilings for the team (WHO = team) or one member; every\n"
	    "                  member's gateway obeys from its next request. SPEC is\n"
	    "                  PERIOD[:FAMILY]=USD (day, week or month; opus, sonnet or\n"
	    "                  haiku), =none (no ceiling) or =unset (back to each member's\n"
	    "                  configured ceiling), e.g. tokmux team set alice day=10\n"
	    "  reseed LEDGER...\n"
	    "                  after a store lost its data (Redis restarted without\n"
	    "                  persistence): add what members' ledgers say was spent in\n"
	    "                  the current periods and the store no longer has; running\n"
	    "                  it twice adds nothing more\n"
	    "options:\n"
	    "  --json          print JSON (one line per refresh with --watch)\n"
	    "  --watch         refresh every 2 seconds until interrupted\n"
	    "  --dry-run       reseed: say what would be added, add nothing\n"
	    "  -c, --config CONFIG\n"
	    "                  config file (default $XDG_CONFIG_HOME/tokmux/config.json):\n"
	    "                  its budget_store, team, budget_tz and ceilings\n"
	    "  --budget-store URL\n"
	    "                  redis://HOST:PORT[/DB]; a password belongs in the config or\n"
	    "                  $TOKMUX_REDIS_PASSWORD, not on the command line\n"
	    "  --team NAME     the team (default: the config's, else default)\n"
	    "  -h, --help      this help\n"
	    "  --version       print the version\n", f);
}

enum cmd_team_verb { CMD_TEAM_SHOW, CMD_TEAM_SET, CMD_TEAM_RESEED };

struct cmd_team_args {
	const char *config;
	struct team_settings cli;
	int json, watch, dry_run;
	enum cmd_team_verb verb;
	char **args;                /* the verb's arguments */
	int nargs;
};

enum { CMD_TEAM_JSON = 256, CMD_TEAM_WATCH, CMD_TEAM_DRY_RUN };

/* The options of the verb (prog names it). Returns -1 when fine (optind:
 * the first argument left), else the exit status. */
static int
cmd_team_options(const char *prog, int argc, char **argv, struct cmd_team_args *a)
{
	static const struct option show_opts[] = {
		{ "config", required_argument, NULL, 'c' }, CMD_CORE_STORE_LONGOPTS,
		{ "json", no_argument, NULL, CMD_TEAM_JSON },
		{ "watch", no_argument, NULL, CMD_TEAM_WATCH }, { NULL, 0, NULL, 0 },
	};
	static const struct option set_opts[] = {
		{ "config", required_argument, NULL, 'c' }, CMD_CORE_STORE_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static const struct option reseed_opts[] = {
		{ "config", required_argument, NULL, 'c' }, CMD_CORE_STORE_LONGOPTS,
		{ "dry-run", no_argument, NULL, CMD_TEAM_DRY_RUN }, { NULL, 0, NULL, 0 },
	};
	struct cli cli;
	int c, rc;
	cli_init(&cli, prog, "c:", a->verb == CMD_TEAM_SET ? set_opts :
	    a->verb == CMD_TEAM_RESEED ? reseed_opts : show_opts, cmd_team_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case CLI_EXIT: return cli.status;
		case 'c': a->config = optarg; break;
		case CMD_TEAM_JSON: a->json = 1; break;
		case CMD_TEAM_WATCH: a->watch = 1; break;
		case CMD_TEAM_DRY_RUN: a->dry_run = 1; break;
		default:
			if ((rc = cmd_core_team_option(&cli, c, &a->cli)) > 0)
				return rc;
		}
	}
	return -1;
}

/* The whole command line. -1 when fine, else the exit status. */
static int
cmd_team_args(int argc, char **argv, struct cmd_team_args *a)
{
	int rc = cmd_team_options("tokmux team", argc, argv, a);
	if (rc >= 0 || optind >= argc)
		return rc;
	const char *verb = argv[optind];
	if (strcmp(verb, "set") != 0 && strcmp(verb, "reseed") != 0) {
		fprintf(stderr, "tokmux team: unknown command \"%s\" (expected set or reseed; "
		    "try tokmux team --help)\n", verb);
		return CLI_USAGE;
	}
	if (a->json || a->watch) {
		fprintf(stderr, "tokmux team: --json and --watch go without %s\n", verb);
		return CLI_USAGE;
	}
	a->verb = verb[0] == 's' ? CMD_TEAM_SET : CMD_TEAM_RESEED;
	argc -= optind;
	argv += optind;
	rc = cmd_team_options(a->verb == CMD_TEAM_SET ? "tokmux team set" : "tokmux team reseed",
	    argc, argv, a);
	if (rc >= 0)
		return rc;
	a->args = argv + optind;
	a->nargs = argc - optind;
	if (a->verb == CMD_TEAM_SET && a->nargs < 2) {
		fprintf(stderr, "tokmux team set: expected team or a member name, then "
		    "PERIOD[:FAMILY]=USD (e.g. tokmux team set team day=50)\n");
		return CLI_USAGE;
	}
	if (a->verb == CMD_TEAM_RESEED && a->nargs < 1) {
		fprintf(stderr, "tokmux team reseed: expected one or more ledger files\n");
		return CLI_USAGE;
	}
	return -1;
}

/* ------------------------------------------------------------------ show */

static void
cmd_team_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One read and print. 0, or 1 (the message printed). */
static int
cmd_team_show_once(budget_t *b, const struct team_settings *t, int json, int clear)
{
	struct team_status st;
	char err[BUDGET_ERR_MAX] = "";
	int rc = team_status_read(b, t, util_wall(), &st, err, sizeof err);
	if (rc != BUDGET_OK) {
		team_status_free(&st);
		fprintf(stderr, "tokmux team: %s\n", err);
		return 1;
	}
	char *out = json ? team_status_json(&st) : team_status_text(&st);
	if (clear)
		fputs("\033[H\033[2J", stdout);
	fputs(out, stdout);
	if (json)
		fputc('\n', stdout);
	fflush(stdout);
	free(out);
	team_status_free(&st);
	return 0;
}

static int
cmd_team_show(budget_t *b, const struct team_settings *t, const struct cmd_team_args *a)
{
	if (!a->watch)
		return cmd_team_show_once(b, t, a->json, 0);
	int clear = !a->json && isatty(STDOUT_FILENO);
	for (;;) {     /* until a signal ends the process; an unreachable store is shown */
		cmd_team_show_once(b, t, a->json, clear);
		if (!a->json && !clear)
			fputc('\n', stdout);
		fflush(stdout);
		cmd_team_sleep_ms(CMD_TEAM_WATCH_MS);
	}
	return 0;
}

/* ------------------------------------------------------------------- set */

static int
cmd_team_set(budget_t *b, const struct cmd_team_args *a)
{
	const char *who = a->args[0];
	char *err = NULL;
	const char *member = strcmp(who, "team") == 0 ? NULL : who;
	if (member != NULL && team_check_name(member, 1, &err) < 0) {
		fprintf(stderr, "tokmux team set: %s\n", err);
		free(err);
		return CLI_USAGE;
	}
	/* every value checked before anything is stored */
	int n = a->nargs - 1, *fam = xcalloc((size_t)n, sizeof *fam), rc = 0;
	enum period_kind *k = xcalloc((size_t)n, sizeof *k);
	int64_t *micros = xcalloc((size_t)n, sizeof *micros);
	for (int i = 0; i < n && rc == 0; i++) {
		if (team_parse_ceiling(a->args[i + 1], 1, &fam[i], &k[i], &micros[i], &err) < 0) {
			fprintf(stderr, "tokmux team set: %s\n", err);
			free(err);
			rc = CLI_USAGE;
		}
	}
	for (int i = 0; i < n && rc == 0; i++) {
		char limit[BUDGET_KEY_MAX], e[BUDGET_ERR_MAX], usd[32];
		team_limit_name(limit, sizeof limit, member, k[i], fam[i]);
		int64_t v = micros[i] == TEAM_NONE ? BUDGET_NONE : micros[i] == TEAM_UNSET ?
		    BUDGET_UNSET : micros[i];
		if (budget_set_ceiling(b, limit, v, e, sizeof e) != BUDGET_OK) {
			fprintf(stderr, "tokmux team set: %s\n", e);
			rc = 1;
			break;
		}
		util_fmt_usd(v, usd, sizeof usd);
		printf("%s: %s\n", limit, v == BUDGET_NONE ? "none (stored: no ceiling, whatever is configured)" :
		    v == BUDGET_UNSET ? "unset (each member's configured ceiling applies)" : usd);
	}
	free(fam);
	free(k);
	free(micros);
	return rc;
}

/* ---------------------------------------------------------------- reseed */

static int
cmd_team_reseed(const struct team_settings *t, const struct cmd_team_args *a)
{
	struct budget_options o;
	struct team_reseed r;
	char *err = NULL;
	team_budget_options(t, &o);
	int rc = team_reseed_run(&o, t, util_wall(), (const char *const *)a->args, a->nargs,
	    a->dry_run, &r, &err);
	if (rc != BUDGET_OK) {
		fprintf(stderr, "tokmux team reseed: %s\n", err);
		free(err);
		team_reseed_free(&r);
		return 1;
	}
	char *text = team_reseed_text(&r, a->dry_run);
	fputs(text, stdout);
	free(text);
	team_reseed_free(&r);
	return 0;
}

/* ------------------------------------------------------------------ main */

static int
cmd_team_run(const struct team_settings *t, const struct cmd_team_args *a)
{
	if (strcmp(t->store, "memory") == 0) {
		fprintf(stderr, "tokmux team: no shared budget store: give --budget-store "
		    "redis://HOST:PORT or set budget_store in the config (docs/TEAM.md)\n");
		return CLI_USAGE;
	}
	if (a->verb == CMD_TEAM_RESEED)
		return cmd_team_reseed(t, a);
	struct budget_options o;
	char *err = NULL;
	team_budget_options(t, &o);
	budget_t *b = budget_open(&o, &err);
	if (b == NULL) {
		fprintf(stderr, "tokmux team: %s\n", err);
		free(err);
		return CLI_USAGE;
	}
	int rc = a->verb == CMD_TEAM_SET ? cmd_team_set(b, a) : cmd_team_show(b, t, a);
	budget_close(b);
	return rc;
}

int
cmd_team_main(int argc, char **argv)
{
	struct cmd_team_args a = { 0 };
	int rc = cmd_team_args(argc, argv, &a);
	if (rc < 0) {
		struct config cfg;
		char *err = NULL;
		config_init(&cfg);
		if (config_load_path(&cfg, a.config, &err) < 0) {
			fprintf(stderr, "tokmux team: %s\n", err);
			free(err);
			rc = CLI_USAGE;
		} else {
			struct team_settings t;
			team_settings_merge(&t, &cfg.team, &a.cli);
			rc = cmd_team_run(&t, &a);
			team_settings_free(&t);
		}
		config_free(&cfg);
	}
	team_settings_free(&a.cli);
	return rc;
}
