/*
 * cmd: tokmux's front ends, one file each, as tmux's cmd-*.c: the command
 * line of one subcommand (parsed with cli.h), then calls into the library.
 * main.c holds the table that maps a name to its main. Each main gets
 * argv[0] = its name and returns the exit status: 0, CLI_USAGE (2) for bad
 * usage or configuration, 1 for other failures.
 *
 * Product front ends live in src/cmd_<name>.c (libtokmux.a); the demo
 * tooling's in src/demo/cmd_<name>.c (libtokmux-demo.a).
 */
#ifndef TOKMUX_CMD_H
#define TOKMUX_CMD_H

#include <stdio.h>

#include "config.h"
#include "workspace.h"

/* One row of the table. */
struct cmd_entry {
	const char *name;                       /* "gateway" */
	int (*main)(int argc, char **argv);
	const char *help;                       /* one line for tokmux --help */
};

/* `tokmux [options]`: a new session (as `tokmux new`). commands (ending
 * with a NULL name) are listed by --help. argv[0] is the program's path. */
int cmd_workspace_main(int argc, char **argv, const struct cmd_entry *commands);

/*
 * The workspace's command line, shared by `tokmux`, `tokmux new` and
 * `tokmux resume` (src/cmd_workspace.c): the options, the config, and
 * starting the session and attaching to it.
 */
#define CMD_WS_MAX_KEEP 64
struct cmd_ws_args {
	struct workspace_opts wo;
	const char *config;
	const char *pane_ceilings[CONFIG_MAX_PANES];
	int ncmds;
	const char *name;          /* -s NAME, NULL: a number */
	int detached;              /* -d */
	char *keep[CMD_WS_MAX_KEEP + 1];   /* the options `tokmux resume` gives again */
	int nkeep;
};
void cmd_workspace_init(struct cmd_ws_args *a);
void cmd_workspace_free(struct cmd_ws_args *a);
/* Parse argv (argv[0] skipped) into a: -1 when fine, else the exit status
 * (help, version or a usage error, already printed). */
int cmd_workspace_parse(int argc, char **argv, const char *prog,
    void (*usage)(FILE *f, const void *ctx), const void *usage_ctx, struct cmd_ws_args *a);
/* Load the config (cfg config_init()ed by the caller) and settle the number
 * of panes: -1 when fine, else the exit status (the error printed). */
int cmd_workspace_config(struct cmd_ws_args *a, struct config *cfg, const char *prog);
/* Start the session's server and (unless -d) attach: the exit status. */
int cmd_workspace_session(struct cmd_ws_args *a, const struct config *cfg, const char *prog);
/* All of the above: `tokmux` and `tokmux new`. */
int cmd_workspace_new(int argc, char **argv, const char *prog,
    void (*usage)(FILE *f, const void *ctx), const void *usage_ctx);

/* The options of the shared core, in every front end that starts one
 * (src/cmd_core.c): --port, --anthropic-upstream, --openai-upstream,
 * --ledger, --ledger-fail-open, --ceiling, --daily-ceiling, --pane-ceiling, --min-output-tokens,
 * --no-metrics-token,
 * and the team budget's --budget-store, --team, --member, --team-ceiling,
 * --member-ceiling, --budget-fail-open. Put CMD_CORE_LONGOPTS in the
 * front end's longopts and pass every option to cmd_core_option() first;
 * free co->team with team_settings_free() when done. */
enum { CMD_CORE_PORT = 0x6000, CMD_CORE_ANTHROPIC, CMD_CORE_OPENAI, CMD_CORE_LEDGER,
	CMD_CORE_CEILING, CMD_CORE_DAILY, CMD_CORE_PANE_CEILING,
	CMD_CORE_BUDGET_STORE, CMD_CORE_TEAM, CMD_CORE_MEMBER, CMD_CORE_TEAM_CEILING,
	CMD_CORE_MEMBER_CEILING, CMD_CORE_FAIL_OPEN, CMD_CORE_MIN_OUTPUT,
	CMD_CORE_LEDGER_FAIL_OPEN, CMD_CORE_NO_METRICS_TOKEN };
#define CMD_CORE_LONGOPTS \
	{ "port", required_argument, NULL, CMD_CORE_PORT }, \
	{ "anthropic-upstream", required_argument, NULL, CMD_CORE_ANTHROPIC }, \
	{ "openai-upstream", required_argument, NULL, CMD_CORE_OPENAI }, \
	{ "ledger", required_argument, NULL, CMD_CORE_LEDGER }, \
	{ "ledger-fail-open", no_argument, NULL, CMD_CORE_LEDGER_FAIL_OPEN }, \
	{ "ceiling", required_argument, NULL, CMD_CORE_CEILING }, \
	{ "daily-ceiling", required_argument, NULL, CMD_CORE_DAILY }, \
	{ "pane-ceiling", required_argument, NULL, CMD_CORE_PANE_CEILING }, \
	{ "min-output-tokens", required_argument, NULL, CMD_CORE_MIN_OUTPUT }, \
	{ "no-metrics-token", no_argument, NULL, CMD_CORE_NO_METRICS_TOKEN }, \
	CMD_CORE_TEAM_LONGOPTS
/* --budget-store and --team alone (tokmux team takes these). */
#define CMD_CORE_STORE_LONGOPTS \
	{ "budget-store", required_argument, NULL, CMD_CORE_BUDGET_STORE }, \
	{ "team", required_argument, NULL, CMD_CORE_TEAM }
#define CMD_CORE_TEAM_LONGOPTS \
	CMD_CORE_STORE_LONGOPTS, \
	{ "member", required_argument, NULL, CMD_CORE_MEMBER }, \
	{ "team-ceiling", required_argument, NULL, CMD_CORE_TEAM_CEILING }, \
	{ "member-ceiling", required_argument, NULL, CMD_CORE_MEMBER_CEILING }, \
	{ "budget-fail-open", no_argument, NULL, CMD_CORE_FAIL_OPEN }

struct cli;
struct core_options;
/* Option c (its value in optarg) into co; the --pane-ceiling values are kept
 * in pane_ceilings (co->pane_ceilings points there, room for
 * CONFIG_MAX_PANES). Returns -1 if c is not a core option, 0 when taken,
 * else the exit status of a usage error (already printed). */
int cmd_core_option(struct cli *cli, int c, struct core_options *co,
    const char **pane_ceilings);
/* The team budget's options alone (of CMD_CORE_TEAM_LONGOPTS) into t; the
 * same returns. A password in --budget-store is overwritten in argv (ps). */
struct team_settings;
int cmd_core_team_option(struct cli *cli, int c, struct team_settings *t);

int cmd_new_main(int argc, char **argv);        /* src/cmd_new.c */
int cmd_attach_main(int argc, char **argv);     /* src/cmd_attach.c */
int cmd_ls_main(int argc, char **argv);         /* src/cmd_ls.c */
int cmd_kill_session_main(int argc, char **argv);   /* src/cmd_kill_session.c */
int cmd_resume_main(int argc, char **argv);     /* src/cmd_resume.c */
int cmd_gateway_main(int argc, char **argv);    /* src/cmd_gateway.c */
int cmd_report_main(int argc, char **argv);     /* src/cmd_report.c */
int cmd_team_main(int argc, char **argv);       /* src/cmd_team.c */
int cmd_mock_main(int argc, char **argv);       /* src/demo/cmd_mock.c */
int cmd_demo_main(int argc, char **argv);       /* src/demo/cmd_demo.c */
int cmd_simagent_main(int argc, char **argv);   /* src/demo/cmd_simagent.c */

#endif
