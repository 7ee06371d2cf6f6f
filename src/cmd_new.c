/*
 * cmd_new: `tokmux new [-s NAME] [-d] [options]`, a new session: the same
 * command line as plain `tokmux` (src/cmd_workspace.c does the work).
 */
#include <stdio.h>

#include "cli.h"
#include "cmd.h"
#include "util.h"

static void
cmd_new_usage(FILE *f, const void *ctx)
{
	fputs(
	    "usage: tokmux new [-s NAME] [-d] [-n 1.." TOKMUX_MAX_PANES_STR "] [-e CMD]... [-c CONFIG] [-v] [OPTIONS]\n"
	    "\n"
	    "Start a new session and attach to it: its server runs in the background and\n"
	    "owns the panes, the gateway and the ledger; Ctrl-g d detaches (the agents keep\n"
	    "running), tokmux attach comes back. Losing the terminal detaches too.\n"
	    "\n"
	    "  -s NAME       the session's name: letters, digits, '_', '.', '-'\n"
	    "                (default: the lowest free number, 0, 1, ...)\n"
	    "  -d            start it without attaching (the panes get the terminal's size,\n"
	    "                or 80x24 without one)\n"
	    "  -n, -e, -c, -v, --no-gateway, --port, --anthropic-upstream, --openai-upstream,\n"
	    "  --ledger, --ceiling, --daily-ceiling, --pane-ceiling, --theme\n"
	    "                as plain tokmux (see tokmux --help)\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n", f);
}

int
cmd_new_main(int argc, char **argv)
{
	return cmd_workspace_new(argc, argv, "tokmux new", cmd_new_usage, NULL);
}
