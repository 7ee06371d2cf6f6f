/*
 * main: the program entry. Sets up what is process-wide (the locale,
 * SIGPIPE and SIGXFSZ ignored) and hands argv to a front end: the subcommand the first
 * argument names in the table below, else the workspace. Every command
 * line is parsed in its front end (src/cmd.h), never here. A new
 * subcommand is one src/cmd_<name>.c and one row of the table.
 */
#include <locale.h>
#include <signal.h>
#include <string.h>

#include "cmd.h"

static const struct cmd_entry main_commands[] = {
	{ "new", cmd_new_main, "a new session, attached (what plain tokmux does)" },
	{ "attach", cmd_attach_main, "attach this terminal to a running session" },
	{ "ls", cmd_ls_main, "list the sessions, running and stopped" },
	{ "kill-session", cmd_kill_session_main, "end a session and every pane in it" },
	{ "resume", cmd_resume_main, "open a stopped session again, each agent on its conversation" },
	{ "gateway", cmd_gateway_main, "the metering gateway without the UI; prints its routes" },
	{ "report", cmd_report_main, "the ledger summed up by day, model or pane" },
	{ "team", cmd_team_main, "the team budget: every member's spend; set ceilings; reseed" },
	{ "demo", cmd_demo_main, "four scripted agents against an embedded mock: no key, no network" },
	{ "mock", cmd_mock_main, "a scripted fake Anthropic/OpenAI provider on 127.0.0.1" },
	{ "sim-agent", cmd_simagent_main, "the scripted agent the demo runs in each pane" },
	{ NULL, NULL, NULL },
};

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);   /* a file size limit fails the write (EFBIG): the ledger holds it */
	for (const struct cmd_entry *c = main_commands; argc > 1 && c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->main(argc - 1, argv + 1);
	return cmd_workspace_main(argc, argv, main_commands);
}
