/*
 * cmd_attach: `tokmux attach [-t NAME] [-r]`: this terminal onto a running
 * session (the only one, or the most recently started, when no -t).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "cmd.h"
#include "session.h"
#include "util.h"

static void
cmd_attach_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux attach [-t NAME] [-r]\n"
	    "\n"
	    "Attach this terminal to a running session (tokmux ls lists them). The session\n"
	    "takes this terminal's size; with several terminals attached, the smallest\n"
	    "width and height of them all. Ctrl-g d detaches again.\n"
	    "\n"
	    "  -t NAME       the session (default: the newest one running)\n"
	    "  -r            read-only: watch, type nothing (Ctrl-g d still detaches)\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n", f);
}

/* The session started last among those running, into name. 0, or -1. */
static int
cmd_attach_newest(const char *dir, char *name, size_t len)
{
	char *names[SESSION_MAX_LIST];
	int n = session_list(dir, names, SESSION_MAX_LIST), found = -1;
	int64_t best = -1;
	for (int i = 0; i < n; i++) {
		struct proto_info in;
		char *err = NULL;
		int stale;
		if (client_info(dir, names[i], &in, &stale, &err) == 0 && in.created >= best) {
			best = in.created;
			snprintf(name, len, "%s", names[i]);
			found = 0;
		}
		free(err);
		free(names[i]);
	}
	return found;
}

int
cmd_attach_main(int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	struct cli cli;
	const char *target = NULL;
	int c, readonly = 0;
	char *err = NULL, name[SESSION_NAME_MAX + 1];
	cli_init(&cli, "tokmux attach", "t:r", longopts, cmd_attach_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case CLI_EXIT: return cli.status;
		case 't':
			if (session_name_check(optarg, &err) < 0)
				return cli_fail(&cli, err);
			target = optarg;
			break;
		case 'r': readonly = 1; break;
		}
	}
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	char *dir = session_dir(&err);
	if (dir == NULL)
		return cli_fail_run(&cli, err);
	if (target != NULL) {
		snprintf(name, sizeof name, "%s", target);
	} else if (cmd_attach_newest(dir, name, sizeof name) < 0) {
		free(dir);
		return cli_error(&cli, 1, "no session is running (tokmux new starts one)");
	}
	int rc = client_attach("tokmux attach", dir, name, readonly);
	free(dir);
	return rc;
}
