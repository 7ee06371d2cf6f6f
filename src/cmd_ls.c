/*
 * cmd_ls: `tokmux ls`: the sessions running (name, panes, when created,
 * terminals attached, cost so far), then those stopped that `tokmux
 * resume` can open again. A socket left by a dead server is removed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "cmd.h"
#include "session.h"
#include "util.h"

static void
cmd_ls_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux ls\n"
	    "\n"
	    "List the sessions running: name, panes, when it was created, terminals\n"
	    "attached, and what its panes spent so far; then the stopped sessions (their\n"
	    "server died: a crash, a reboot) that tokmux resume can open again.\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n", f);
}

static void
cmd_ls_one(const char *dir, const char *name)
{
	struct proto_info in;
	char *err = NULL, when[64], cost[32], clients[48];
	int stale;
	if (client_info(dir, name, &in, &stale, &err) < 0) {
		if (!stale)     /* a dead server's socket was removed: nothing to list */
			printf("%s: %s\n", name, err);
		free(err);
		return;
	}
	time_t t = (time_t)in.created;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
	util_fmt_usd(in.cost_micros, cost, sizeof cost);
	if (in.nclients > 0)
		snprintf(clients, sizeof clients, "%d attached", in.nclients);
	else
		snprintf(clients, sizeof clients, "not attached");
	printf("%s: %d pane%s (created %s), %s, %s\n", name, in.npanes, in.npanes == 1 ? "" : "s",
	    when, clients, in.gateway ? cost : "not metered");
}

/* The stopped sessions: a state file and no server. */
static void
cmd_ls_stopped(const char *dir)
{
	char *probe = session_state_path("x");
	char *slash = strrchr(probe, '/');
	*slash = '\0';
	DIR *d = opendir(probe);
	int n = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		char *name = xstrndup(e->d_name, len - 5), *err = NULL;
		int lk = session_name_check(name, &err) == 0 ? session_lock(dir, name, &err) : -1;
		if (lk >= 0) {      /* nobody holds it: no server */
			printf("%s%s", n++ == 0 ? "stopped (tokmux resume NAME opens one again): " : ", ",
			    name);
			close(lk);
		}
		free(err);
		free(name);
	}
	if (n > 0)
		putchar('\n');
	if (d != NULL)
		closedir(d);
	free(probe);
}

int
cmd_ls_main(int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	struct cli cli;
	char *err = NULL;
	int c;
	cli_init(&cli, "tokmux ls", "", longopts, cmd_ls_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1)
		if (c == CLI_EXIT)
			return cli.status;
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	char *dir = session_dir(&err);
	if (dir == NULL)
		return cli_fail_run(&cli, err);
	char *names[SESSION_MAX_LIST];
	int n = session_list(dir, names, SESSION_MAX_LIST);
	for (int i = 0; i < n; i++) {
		cmd_ls_one(dir, names[i]);
		free(names[i]);
	}
	cmd_ls_stopped(dir);
	free(dir);
	return 0;
}
