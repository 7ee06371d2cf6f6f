/*
 * cmd_kill_session: `tokmux kill-session [-t NAME]`: end a session, every
 * pane and every client of it (as quitting does).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "cmd.h"
#include "session.h"
#include "util.h"

static void
cmd_kill_session_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux kill-session [-t NAME]\n"
	    "\n"
	    "End a session: its panes' programs are hung up, its attached terminals are\n"
	    "given back, its state file is removed (there is nothing to resume).\n"
	    "\n"
	    "  -t NAME       the session (default: the only one running)\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n", f);
}

int
cmd_kill_session_main(int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	struct cli cli;
	const char *target = NULL;
	char *err = NULL;
	int c;
	cli_init(&cli, "tokmux kill-session", "t:", longopts, cmd_kill_session_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			return cli.status;
		if (c == 't') {
			if (session_name_check(optarg, &err) < 0)
				return cli_fail(&cli, err);
			target = optarg;
		}
	}
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	char *dir = session_dir(&err);
	if (dir == NULL)
		return cli_fail_run(&cli, err);
	char *names[SESSION_MAX_LIST];
	int n = target == NULL ? session_list(dir, names, SESSION_MAX_LIST) : 0;
	int rc = 0;
	if (target == NULL && n == 0)
		rc = cli_error(&cli, 1, "no session is running");
	else if (target == NULL && n > 1)
		rc = cli_error(&cli, 1, "%d sessions are running: name one with -t (tokmux ls lists "
		    "them)", n);
	else if (client_kill(dir, target != NULL ? target : names[0], &err) < 0)
		rc = cli_error(&cli, 1, "%s", err);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(err);
	free(dir);
	return rc;
}
