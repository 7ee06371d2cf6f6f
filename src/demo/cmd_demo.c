/*
 * cmd_demo: `tokmux demo [--keep]`, four scripted agents in a workspace
 * against the embedded mock (demo.c). Exit status: the workspace's, 1 if
 * the demo cannot start, 2 for bad usage or no terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "demo.h"

static void
cmd_demo_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux demo [--keep]\n"
	    "Four scripted agents in a tokmux workspace, talking to an embedded mock\n"
	    "provider through the metering gateway: no API key, no network.\n"
	    "Quit with Ctrl-g q.\n"
	    "\n"
	    "  --keep      keep the demo's ledger and mock log (printed at exit)\n"
	    "  -h, --help  this help\n"
	    "  --version   print the version\n", f);
}

int
cmd_demo_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli;
	int keep = 0, c;
	cli_init(&cli, "tokmux demo", "", longopts, cmd_demo_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			return cli.status;
		if (c == 'k')
			keep = 1;
	}
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return cli_error(&cli, CLI_USAGE, "needs a terminal on stdin and stdout");
	char *kept = NULL, *err = NULL;
	int rc = demo_run(keep, &kept, &err);
	if (rc < 0) {
		cli_error(&cli, 1, "%s", err);
		free(err);
		rc = 1;
	}
	if (kept != NULL)
		printf("tokmux demo: ledger and mock log kept in %s\n", kept);
	free(kept);
	return rc;
}
