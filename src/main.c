/*
 * main: argument parsing, subcommands and wiring. `tokmux` opens the
 * workspace; `tokmux gateway`, `mock`, `report` and `demo` are the other
 * entry points. The only process-wide state lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "demo/demo.h"
#include "gateway.h"
#include "ledger.h"
#include "demo/mock.h"
#include "policy.h"
#include "demo/simagent.h"
#include "util.h"
#include "workspace.h"

#define TOKMUX_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fputs(
	    "usage: tokmux [-n 1..4] [-e CMD]... [-c CONFIG] [-v]\n"
	    "       tokmux COMMAND [ARGS]    (gateway, mock, report, demo; COMMAND --help for more)\n"
	    "\n"
	    "A terminal workspace of 1 to 4 panes for running AI coding agents side by side.\n"
	    "\n"
	    "options:\n"
	    "  -n N          number of panes, 1 to 4 (default: the config's panes, or 2)\n"
	    "  -e CMD        command for the next pane, run by /bin/sh -c (repeatable);\n"
	    "                panes without one run $SHELL\n"
	    "  -c CONFIG     config file (default $XDG_CONFIG_HOME/tokmux/config.json)\n"
	    "  -v            write a debug log to tokmux.log in the current directory\n"
	    "  --no-gateway  do not start the metering gateway (panes talk to providers directly)\n"
	    "  --port N      gateway port on 127.0.0.1 (default: any free port)\n"
	    "  --anthropic-upstream URL, --openai-upstream URL\n"
	    "                where the gateway forwards to (default: the real APIs)\n"
	    "  --ledger FILE request ledger (default $XDG_STATE_HOME/tokmux/ledger.jsonl)\n"
	    "  --ceiling USD spend ceiling for all panes of this workspace (hard: requests\n"
	    "                that could cross it are refused with a 403 the agent shows)\n"
	    "  --daily-ceiling USD\n"
	    "                spend ceiling for today (local time; counts the ledger, so it\n"
	    "                survives a restart)\n"
	    "  --pane-ceiling NAME=USD\n"
	    "                spend ceiling of one pane, by name or number (repeatable),\n"
	    "                e.g. --pane-ceiling 2=1.50; see docs/POLICY.md\n"
	    "  --theme NAME  colour theme: default, light, mono or a themes/NAME.json\n"
	    "                (default: the config's theme; NO_COLOR selects mono)\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n"
	    "\n"
	    "keys: prefix Ctrl-g, then 1-4 focus, arrows/hjkl move, z zoom, [ scrollback,\n"
	    "      c new pane, x close, b ceiling, f model, m last requests, s sidebar,\n"
	    "      q quit, ? help; Alt-1..4 focus directly.\n",
	    f);
}

static int
run_workspace(int argc, char **argv)
{
	enum { OPT_NO_GATEWAY = 256, OPT_PORT, OPT_ANTHROPIC, OPT_OPENAI, OPT_LEDGER, OPT_CEILING,
		OPT_DAILY_CEILING, OPT_PANE_CEILING, OPT_THEME };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-gateway", no_argument, NULL, OPT_NO_GATEWAY },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "anthropic-upstream", required_argument, NULL, OPT_ANTHROPIC },
		{ "openai-upstream", required_argument, NULL, OPT_OPENAI },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "ceiling", required_argument, NULL, OPT_CEILING },
		{ "daily-ceiling", required_argument, NULL, OPT_DAILY_CEILING },
		{ "pane-ceiling", required_argument, NULL, OPT_PANE_CEILING },
		{ "theme", required_argument, NULL, OPT_THEME },
		{ NULL, 0, NULL, 0 },
	};
	struct core_options co = { .port = -1, .wake_fd = -1 };
	const char *pane_ceilings[CONFIG_MAX_PANES];
	co.pane_ceilings = pane_ceilings;
	int no_gateway = 0;
	const char *theme = NULL;
	const char *cfgpath = NULL;
	const char *cmds[4] = { NULL };
	int ncmds = 0, npanes = 0, verbose = 0, c;
	while ((c = getopt_long(argc, argv, "+n:e:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > 4) {
				fprintf(stderr, "tokmux: -n: expected a number of panes from 1 to 4, got '%s'\n", optarg);
				return 2;
			}
			npanes = (int)n;
			break;
		}
		case 'e':
			if (ncmds >= 4) {
				fprintf(stderr, "tokmux: -e: at most 4 pane commands\n");
				return 2;
			}
			cmds[ncmds++] = optarg;
			break;
		case 'c': cfgpath = optarg; break;
		case OPT_NO_GATEWAY: no_gateway = 1; break;
		case OPT_PORT: {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || p < 0 || p > 65535) {
				fprintf(stderr, "tokmux: --port: expected 0..65535, got '%s'\n", optarg);
				return 2;
			}
			co.port = (int)p;
			break;
		}
		case OPT_ANTHROPIC: co.anthropic = optarg; break;
		case OPT_OPENAI: co.openai = optarg; break;
		case OPT_LEDGER: co.ledger = optarg; break;
		case OPT_CEILING:
		case OPT_DAILY_CEILING: {
			int64_t *dst = c == OPT_CEILING ? &co.ceiling_micros : &co.daily_ceiling_micros;
			if (util_parse_usd(optarg, dst) != 0 || *dst <= 0) {
				fprintf(stderr, "tokmux: --%s: expected a dollar amount above 0, got '%s'\n",
				    c == OPT_CEILING ? "ceiling" : "daily-ceiling", optarg);
				return 2;
			}
			break;
		}
		case OPT_PANE_CEILING: {
			char *name = NULL, *err = NULL;
			int64_t micros;
			if (policy_parse_pane_ceiling(optarg, &name, &micros, &err) != 0) {
				fprintf(stderr, "tokmux: --pane-ceiling: %s\n", err);
				free(err);
				return 2;
			}
			free(name);
			if (co.npane_ceilings >= CONFIG_MAX_PANES) {
				fprintf(stderr, "tokmux: --pane-ceiling: at most %d\n", CONFIG_MAX_PANES);
				return 2;
			}
			pane_ceilings[co.npane_ceilings++] = optarg;
			break;
		}
		case OPT_THEME: theme = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tokmux %s\n", TOKMUX_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tokmux: unknown command '%s' (try tokmux --help)\n", argv[optind]);
		return 2;
	}
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	if (config_load_path(&cfg, cfgpath, &err) < 0) {
		fprintf(stderr, "tokmux: %s\n", err);
		free(err);
		config_free(&cfg);
		return 2;
	}
	if (npanes == 0)
		npanes = ncmds > 0 ? ncmds : (cfg.npanes > 0 ? UTIL_MIN(cfg.npanes, 4) : 2);
	if (ncmds > npanes)
		npanes = ncmds;
	struct workspace_opts wo = { .npanes = npanes, .no_gateway = no_gateway, .verbose = verbose,
		.theme = theme, .core = co };
	for (int i = 0; i < ncmds; i++)
		wo.cmds[i] = cmds[i];
	int rc = workspace_run(&cfg, &wo);
	config_free(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("tokmux %s\n", TOKMUX_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "mock") == 0)
		return mock_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "gateway") == 0)
		return core_gateway_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "demo") == 0)
		return demo_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "sim-agent") == 0)
		return simagent_main(argc - 1, argv + 1);
	return run_workspace(argc, argv);
}
