/*
 * cmd_workspace: plain `tokmux`, a new session (as `tokmux new`): parses
 * the workspace's command line, loads the config, starts the session's
 * server in the background (server.h) and attaches this terminal to it
 * (client.h). Its --help lists the subcommands of main.c's table. The
 * parsing is shared with `tokmux new` and `tokmux resume` (cmd.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "cmd.h"
#include "config.h"
#include "core.h"
#include "server.h"
#include "session.h"
#include "team.h"
#include "util.h"
#include "workspace.h"


static void
cmd_workspace_usage(FILE *f, const void *ctx)
{
	const struct cmd_entry *cmds = ctx;
	fputs(
	    "usage: tokmux [-s NAME] [-d] [-n 1.." TOKMUX_MAX_PANES_STR "] [-e CMD]... [-w] [-c CONFIG] [-v] [OPTIONS]\n"
	    "       tokmux COMMAND [ARGS]    (COMMAND --help for more)\n"
	    "\n"
	    "A terminal workspace of 1 to " TOKMUX_MAX_PANES_STR " panes for running AI coding agents side by side.\n"
	    "It runs as a session that outlives the terminal: Ctrl-g d detaches, tokmux attach\n"
	    "comes back, tokmux ls lists the sessions (tokmux new is the same as tokmux).\n"
	    "\n"
	    "options:\n"
	    "  -s NAME       the session's name (default: the lowest free number, 0, 1, ...)\n"
	    "  -d            start the session without attaching to it\n"
	    "  -n N          number of panes, 1 to " TOKMUX_MAX_PANES_STR " (default: the config's panes, or 2)\n"
	    "  -e CMD        command for the next pane, run by /bin/sh -c (repeatable);\n"
	    "                panes without one run $SHELL\n"
	    "  -w            run every pane in its own git worktree and branch tokmux/<pane>\n"
	    "                (made from the current branch of the repository here, in\n"
	    "                <repo>.tokmux/<pane> unless worktree_dir says; docs/WORKTREES.md)\n"
	    "  -c, --config CONFIG\n"
	    "                config file (default $XDG_CONFIG_HOME/tokmux/config.json)\n"
	    "  -v            write a debug log to tokmux.log in the current directory\n"
	    "  --no-gateway  do not start the metering gateway (panes talk to providers directly)\n"
	    "  --port N      gateway port on 127.0.0.1 (default: any free port)\n"
	    "  --anthropic-upstream URL, --openai-upstream URL\n"
	    "                where the gateway forwards to (default: the real APIs)\n"
	    "  --ledger FILE request ledger (default $XDG_STATE_HOME/tokmux/ledger.jsonl)\n"
	    "  --ledger-fail-open\n"
	    "                serve under a ceiling while the ledger cannot be written\n"
	    "                (default: refuse until it can; docs/GATEWAY.md)\n"
	    "  --ceiling USD spend ceiling for all panes of this workspace; 0 blocks (hard: a\n"
	    "                request is sent with the output limit that fits, refused only\n"
	    "                when even the floor does not, as a spending limit the agent shows)\n"
	    "  --daily-ceiling USD\n"
	    "                spend ceiling for today (local time; counts the ledger, so it\n"
	    "                survives a restart)\n"
	    "  --pane-ceiling NAME=USD\n"
	    "                spend ceiling of one pane, by a configured pane's name or a\n"
	    "                number 1-" TOKMUX_MAX_PANES_STR " (repeatable), e.g. --pane-ceiling 2=1.50; see docs/POLICY.md\n"
	    "  --min-output-tokens N\n"
	    "                the floor: the smallest output limit a request is sent with\n"
	    "                to fit a ceiling (default 1024; below it: refused)\n"
	    "  --no-metrics-token\n"
	    "                anyone who can connect may read the gateway's /metrics (default:\n"
	    "                it needs the token in $XDG_STATE_HOME/tokmux/metrics-token)\n"
	    "  --budget-store URL\n"
	    "                team budget store: memory (default) or redis://HOST:PORT[/DB],\n"
	    "                shared by every member; put a password in the config or\n"
	    "                $TOKMUX_REDIS_PASSWORD, not here (docs/TEAM.md)\n"
	    "  --team NAME   the team (default: default)\n"
	    "  --member NAME this member (default: the login name)\n"
	    "  --team-ceiling PERIOD[:FAMILY]=USD, --member-ceiling PERIOD[:FAMILY]=USD\n"
	    "                team and member ceilings per day, week or month, for all models\n"
	    "                or one family (opus, sonnet, haiku), e.g. day=50 (repeatable)\n"
	    "  --budget-fail-open\n"
	    "                serve while the budget store is unreachable (default: refuse)\n"
	    "  --theme NAME  colour theme: default, light, mono or a themes/NAME.json\n"
	    "                (default: the config's theme; NO_COLOR selects mono)\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n"
	    "\n"
	    "commands:\n", f);
	for (; cmds != NULL && cmds->name != NULL; cmds++)
		fprintf(f, "  %-12s  %s\n", cmds->name, cmds->help);
	fputs(
	    "\n"
	    "keys: prefix Ctrl-g (the config's \"prefix\"), then 1-" TOKMUX_MAX_PANES_STR " focus, arrows/hjkl move, z zoom, [ scrollback,\n"
	    "      c new pane, C new worktree pane, x close, D diff of a worktree pane,\n"
	    "      b ceiling, f model, m last requests, n next pane that needs input,\n"
	    "      s sidebar, d detach, q quit, ? help;\n"
	    "      Alt-1.." TOKMUX_MAX_PANES_STR " focus directly.\n",
	    f);
}

enum { CMD_WS_NO_GATEWAY = 256, CMD_WS_THEME };

/* Keep an option for `tokmux resume` (its value made absolute if it is a
 * path: resume may run elsewhere). */
static void
cmd_workspace_keep(struct cmd_ws_args *a, const char *opt, const char *value, int path)
{
	if (a->nkeep + 2 > CMD_WS_MAX_KEEP)
		return;
	a->keep[a->nkeep++] = xstrdup(opt);
	if (value == NULL)
		return;
	char abs[PATH_MAX];
	a->keep[a->nkeep++] = xstrdup(path && realpath(value, abs) != NULL ? abs : value);
}

/* One option's value into a; 0 (or -1 for none of ours), or the exit
 * status of a usage error. */
static int
cmd_workspace_option(struct cli *cli, int c, struct cmd_ws_args *a)
{
	char *err = NULL;
	long n;
	switch (c) {
	case 'n':
		if (cli_parse_long(optarg, 1, TOKMUX_MAX_PANES, "a number of panes", &n, &err) < 0)
			return cli_fail(cli, err);
		a->wo.npanes = (int)n;
		return 0;
	case 'e':
		if (a->ncmds >= TOKMUX_MAX_PANES)
			return cli_fail(cli, xasprintf("at most %d pane commands", TOKMUX_MAX_PANES));
		a->wo.cmds[a->ncmds++] = optarg;
		return 0;
	case 's':
		if (session_name_check(optarg, &err) < 0)
			return cli_fail(cli, err);
		a->name = optarg;
		return 0;
	case 'd': a->detached = 1; return 0;
	case 'c': a->config = optarg; cmd_workspace_keep(a, "-c", optarg, 1); return 0;
	case 'v': a->wo.verbose = 1; cmd_workspace_keep(a, "-v", NULL, 0); return 0;
	case 'w': a->wo.worktrees = 1; return 0;     /* resumed panes keep their directories */
	case CMD_WS_NO_GATEWAY: a->wo.no_gateway = 1; cmd_workspace_keep(a, cli->opt, NULL, 0); return 0;
	case CMD_WS_THEME: a->wo.theme = optarg; cmd_workspace_keep(a, cli->opt, optarg, 0); return 0;
	}
	int rc = cmd_core_option(cli, c, &a->wo.core, a->pane_ceilings);
	/* a pane's ceiling is kept with the pane (it may be changed with b) */
	if (rc == 0 && c != CMD_CORE_PANE_CEILING)
		cmd_workspace_keep(a, cli->opt, optarg, c == CMD_CORE_LEDGER);
	return rc;
}

void
cmd_workspace_init(struct cmd_ws_args *a)
{
	memset(a, 0, sizeof *a);
	a->wo.core.port = -1;
	a->wo.core.wake_fd = -1;
}

void
cmd_workspace_free(struct cmd_ws_args *a)
{
	for (int i = 0; i < a->nkeep; i++)
		free(a->keep[i]);
	a->nkeep = 0;
	team_settings_free(&a->wo.core.team);
}

int
cmd_workspace_parse(int argc, char **argv, const char *prog, void (*usage)(FILE *, const void *),
    const void *usage_ctx, struct cmd_ws_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-gateway", no_argument, NULL, CMD_WS_NO_GATEWAY },
		CMD_CORE_LONGOPTS,
		{ "theme", required_argument, NULL, CMD_WS_THEME },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli;
	int c, rc;
	cli_init(&cli, prog, "n:e:c:vws:d", longopts, usage);
	cli.usage_ctx = usage_ctx;
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			return cli.status;
		if ((rc = cmd_workspace_option(&cli, c, a)) > 0)
			return rc;
	}
	if (optind < argc && strcmp(prog, "tokmux") == 0)
		return cli_error(&cli, CLI_USAGE, "unknown command \"%s\" (try tokmux --help)",
		    argv[optind]);
	return cli_no_args(&cli, argc, argv) != 0 ? CLI_USAGE : -1;
}

int
cmd_workspace_config(struct cmd_ws_args *a, struct config *cfg, const char *prog)
{
	char *err = NULL;
	if (config_load_path(cfg, a->config, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		free(err);
		return CLI_USAGE;
	}
	if (a->wo.npanes == 0)
		a->wo.npanes = a->ncmds > 0 ? a->ncmds :
		    cfg->npanes > 0 ? UTIL_MIN(cfg->npanes, TOKMUX_MAX_PANES) : 2;
	if (a->ncmds > a->wo.npanes)
		a->wo.npanes = a->ncmds;
	/* panes beyond the first ones may be opened later (c): any of the 4 */
	const char *names[CONFIG_MAX_PANES];
	for (int i = 0; i < cfg->npanes; i++)
		names[i] = cfg->panes[i].name;
	if (core_check_pane_ceilings(a->wo.core.pane_ceilings, a->wo.core.npane_ceilings, names,
	    cfg->npanes, TOKMUX_MAX_PANES, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		free(err);
		return CLI_USAGE;
	}
	return -1;
}

int
cmd_workspace_session(struct cmd_ws_args *a, const struct config *cfg, const char *prog)
{
	char *err = NULL, name[SESSION_NAME_MAX + 1];
	if (workspace_check_theme(cfg, &a->wo, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		free(err);
		return CLI_USAGE;
	}
	if (!a->detached && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "%s: needs a terminal on stdin and stdout (or -d)\n", prog);
		return CLI_USAGE;
	}
	struct server_start st = { .cfg = cfg, .wo = &a->wo, .name = a->name, .argv = a->keep };
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		st.rows = ws.ws_row;
		st.cols = ws.ws_col;
	}
	int rc = server_start(&st, name, &err);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		free(err);
		return rc;
	}
	if (a->detached)
		return 0;
	char *dir = session_dir(&err);
	if (dir == NULL) {
		fprintf(stderr, "%s: %s\n", prog, err);
		free(err);
		return 1;
	}
	rc = client_attach(prog, dir, name, 0);
	free(dir);
	return rc;
}

/* `tokmux` and `tokmux new`: a new session, attached. */
int
cmd_workspace_new(int argc, char **argv, const char *prog, void (*usage)(FILE *, const void *),
    const void *usage_ctx)
{
	struct cmd_ws_args a;
	struct config cfg;
	cmd_workspace_init(&a);
	config_init(&cfg);
	int rc = cmd_workspace_parse(argc, argv, prog, usage, usage_ctx, &a);
	if (rc < 0 && (rc = cmd_workspace_config(&a, &cfg, prog)) < 0)
		rc = cmd_workspace_session(&a, &cfg, prog);
	config_free(&cfg);
	cmd_workspace_free(&a);
	return rc;
}

int
cmd_workspace_main(int argc, char **argv, const struct cmd_entry *commands)
{
	return cmd_workspace_new(argc, argv, "tokmux", cmd_workspace_usage, commands);
}
