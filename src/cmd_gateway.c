/*
 * cmd_gateway: `tokmux gateway`, the shared core without a UI. Parses its
 * command line, loads the config, starts the core with one route per
 * config pane and a `default` one, prints them, and serves until SIGINT or
 * SIGTERM. Exit status: 0 after a signal, 2 for bad usage or config, 1 when
 * the port or the ledger cannot be used.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "config.h"
#include "core.h"
#include "util.h"

static void
cmd_gateway_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux gateway [--port N] [-c CONFIG] [--anthropic-upstream URL]\n"
	    "                      [--openai-upstream URL] [--ledger FILE] [--ledger-fail-open]\n"
	    "                      [--ceiling USD] [--daily-ceiling USD] [--pane-ceiling NAME=USD]...\n"
	    "                      [--min-output-tokens N] [--no-metrics-token]\n"
	    "                      [--budget-store URL] [--team NAME] [--member NAME]\n"
	    "                      [--team-ceiling PERIOD=USD]... [--member-ceiling PERIOD=USD]...\n"
	    "                      [--budget-fail-open]\n"
	    "Run the metering gateway alone. Prints one line per route:\n"
	    "  route NAME http://127.0.0.1:PORT/p/TOKEN\n"
	    "(config panes, then `default`); point ANTHROPIC_BASE_URL at that URL\n"
	    "and OPENAI_BASE_URL at it plus /v1. Serves until SIGINT or SIGTERM.\n"
	    "GET /metrics needs the token in $XDG_STATE_HOME/tokmux/metrics-token\n"
	    "(Authorization: Bearer TOKEN, or ?token=TOKEN).\n"
	    "  --port N              port on 127.0.0.1 (default: the config's, or any free port)\n"
	    "  -c, --config CONFIG   config file (default $XDG_CONFIG_HOME/tokmux/config.json)\n"
	    "  --anthropic-upstream URL, --openai-upstream URL\n"
	    "                        where to forward to (default: the real APIs)\n"
	    "  --ledger FILE         request ledger (default $XDG_STATE_HOME/tokmux/ledger.jsonl)\n"
	    "  --ledger-fail-open    serve under a ceiling while the ledger cannot be written\n"
	    "                        (default: refuse until it can; docs/GATEWAY.md)\n"
	    "  --ceiling USD         spend ceiling for all routes together (0 blocks)\n"
	    "  --daily-ceiling USD   spend ceiling for today (counts the ledger)\n"
	    "  --pane-ceiling NAME=USD\n"
	    "                        ceiling of one route, by name (a configured pane's, or\n"
	    "                        default) or number (repeatable)\n"
	    "  --min-output-tokens N the smallest output limit a request is sent with to fit a\n"
	    "                        ceiling (default 1024; below it the request is refused)\n"
	    "  --no-metrics-token    anyone who can connect may read /metrics (default: it\n"
	    "                        needs the token)\n"
	    "  --budget-store URL    team budget store: memory (default) or\n"
	    "                        redis://HOST:PORT[/DB]; put a password in the config or\n"
	    "                        $TOKMUX_REDIS_PASSWORD, not here (docs/TEAM.md)\n"
	    "  --team NAME, --member NAME\n"
	    "                        the team and this member (default: default, the login name)\n"
	    "  --team-ceiling PERIOD[:FAMILY]=USD, --member-ceiling PERIOD[:FAMILY]=USD\n"
	    "                        team and member ceilings per day, week or month, for all\n"
	    "                        models or one family (opus, sonnet, haiku); repeatable\n"
	    "  --budget-fail-open    serve while the budget store is unreachable (default: refuse)\n"
	    "  -h, --help            this help\n"
	    "  --version             print the version\n"
	    "Ceilings are hard: a request is sent with the output limit that fits them\n"
	    "and refused (402; OpenAI paths 400) only when even the floor does not.\n"
	    "529s are retried with jitter, then sent to the route's fallback model;\n"
	    "see docs/POLICY.md.\n", f);
}

/* What `tokmux gateway` last said about its ledger on stderr. */
struct cmd_gateway_ledger {
	int failing, losing;
	int fail_open;              /* --ledger-fail-open or the config's */
};

/* One line on stderr per change of the ledger's state (not per record). */
static void
cmd_gateway_ledger_notify(void *user, const struct ledger_health *h, int changed)
{
	struct cmd_gateway_ledger *gl = user;
	if (changed && h->failing)
		fprintf(stderr, "tokmux gateway: ledger: cannot write: %s; records are held in memory "
		    "and retried; %s\n", strerror(h->error != 0 ? h->error : EIO),
		    gl->fail_open ? "requests are still served (--ledger-fail-open)" :
		    "requests under a ceiling are refused until it can be written");
	else if (changed)
		fprintf(stderr, "tokmux gateway: ledger: writing again; every held record is written\n");
	if (h->lost > 0 && !gl->losing)
		fprintf(stderr, "tokmux gateway: ledger: more than %d records held: new ones are "
		    "dropped (counted in /metrics) until the ledger can be written\n", LEDGER_HOLD_MAX);
	gl->failing = h->failing;
	gl->losing = h->lost > 0 && h->failing;
}

struct cmd_gateway_args {
	const char *config;
	const char *pane_ceilings[CONFIG_MAX_PANES];
	struct core_options co;
};

/* Returns -1 when the arguments are fine, else the exit status. */
static int
cmd_gateway_args(int argc, char **argv, struct cmd_gateway_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		CMD_CORE_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli;
	int c, rc;
	cli_init(&cli, "tokmux gateway", "c:", longopts, cmd_gateway_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			return cli.status;
		if (c == 'c')
			a->config = optarg;
		else if ((rc = cmd_core_option(&cli, c, &a->co, a->pane_ceilings)) > 0)
			return rc;
	}
	return cli_no_args(&cli, argc, argv) != 0 ? CLI_USAGE : -1;
}

/* The core with its routes, until SIGINT or SIGTERM. */
static int
cmd_gateway_serve(struct config *cfg, struct core_options *co)
{
	char *err = NULL;
	co->cfg = cfg;
	/* Block the signals before any thread starts, then sigwait for them. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	struct cmd_gateway_ledger gl = { 0, 0, co->ledger_fail_open || cfg->ledger_fail_open };
	co->ledger_notify = cmd_gateway_ledger_notify;
	co->ledger_notify_user = &gl;

	core_t *core = core_start(co, &err);
	if (core == NULL) {
		fprintf(stderr, "tokmux gateway: %s\n", err);
		free(err);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	char base[256];
	for (int i = 0; i <= cfg->npanes && i < GATEWAY_MAX_ROUTES; i++) {
		char *name = i == cfg->npanes ? xstrdup("default") : cfg->panes[i].name ?
		    xstrdup(cfg->panes[i].name) : xasprintf("pane %d", i + 1);
		if (core_add_route(core, name, i < cfg->npanes ? cfg->panes[i].cmd : NULL,
		    base, sizeof base, NULL, 0) >= 0)
			printf("route %s %s\n", name, base);
		free(name);
	}
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	core_stop(core);    /* settles in-flight requests, then closes the ledger */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int
cmd_gateway_main(int argc, char **argv)
{
	struct cmd_gateway_args a = { .co = { .port = -1, .wake_fd = -1, .unit = "route" } };
	int rc = cmd_gateway_args(argc, argv, &a);
	if (rc >= 0) {
		team_settings_free(&a.co.team);
		return rc;
	}
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	if (config_load_path(&cfg, a.config, &err) != 0) {
		fprintf(stderr, "tokmux gateway: %s\n", err);
		free(err);
		config_free(&cfg);
		team_settings_free(&a.co.team);
		return CLI_USAGE;   /* like every config error of tokmux */
	}
	const char *names[CONFIG_MAX_PANES + 1];
	for (int i = 0; i < cfg.npanes; i++)
		names[i] = cfg.panes[i].name;
	names[cfg.npanes] = "default";
	if (core_check_pane_ceilings(a.co.pane_ceilings, a.co.npane_ceilings, names, cfg.npanes + 1,
	    UTIL_MIN(cfg.npanes + 1, GATEWAY_MAX_ROUTES), &err) != 0) {
		fprintf(stderr, "tokmux gateway: %s\n", err);
		free(err);
		config_free(&cfg);
		return CLI_USAGE;
	}
	rc = cmd_gateway_serve(&cfg, &a.co);
	config_free(&cfg);
	team_settings_free(&a.co.team);
	return rc;
}
