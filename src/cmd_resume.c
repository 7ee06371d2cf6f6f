/*
 * cmd_resume: `tokmux resume [-d] [NAME]`: a stopped session (its server
 * died: a crash, kill -9, a reboot) opened again from its state file
 * (sessfile.h): the same options, panes, names, directories, ceilings,
 * model overrides and fallback chains, and each agent on its own
 * conversation (resume.h), after a question in its pane.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "resume.h"
#include "session.h"
#include "sessfile.h"
#include "util.h"

static void
cmd_resume_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux resume [-d] [NAME]\n"
	    "\n"
	    "Open a stopped session again (its server is gone: a crash, a reboot) from its\n"
	    "state file ($XDG_STATE_HOME/tokmux/sessions/NAME.json): the same options and\n"
	    "panes (names, commands, directories, ceilings, model overrides, fallback\n"
	    "chains), and each agent on its own conversation as its requests named it\n"
	    "(claude --resume ID, opencode --session ID, codex resume ID). Each such pane\n"
	    "asks first: Enter resumes, n starts the pane's command afresh.\n"
	    "\n"
	    "  NAME          the session (default: the one saved last; tokmux ls lists them)\n"
	    "  -d            do not attach\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n", f);
}

/* 1 if no server holds session name (it is stopped). */
static int
cmd_resume_stopped(const char *dir, const char *name)
{
	char *err = NULL;
	int lk = session_lock(dir, name, &err);
	free(err);
	if (lk < 0)
		return 0;
	close(lk);
	return 1;
}

/* The stopped session whose state file changed last, into name. 0, or -1. */
static int
cmd_resume_latest(const char *dir, char *name, size_t len)
{
	char *state = session_state_path("x");
	*strrchr(state, '/') = '\0';
	DIR *d = opendir(state);
	struct dirent *e;
	time_t best = 0;
	int found = -1;
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		struct stat st;
		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, 0) < 0 || st.st_mtime < best)
			continue;
		char *s = xstrndup(e->d_name, n - 5), *err = NULL;
		if (session_name_check(s, &err) == 0 && cmd_resume_stopped(dir, s)) {
			best = st.st_mtime;
			snprintf(name, len, "%s", s);
			found = 0;
		}
		free(err);
		free(s);
	}
	if (d != NULL)
		closedir(d);
	free(state);
	return found;
}

/* Pane i of the state file into the workspace's options and config. */
static void
cmd_resume_pane(struct cmd_ws_args *a, struct config *cfg, int i, struct sessfile_pane *p,
    char **own)
{
	struct workspace_opts *wo = &a->wo;
	wo->names[i] = p->name;
	wo->cmds[i] = p->cmd;
	wo->cwds[i] = p->cwd;
	wo->overrides[i] = p->model;
	char *cmd = p->conversation != NULL ? resume_command(p->agent, p->cmd, p->conversation) : NULL;
	if (cmd != NULL) {
		own[2 * i] = cmd;
		own[2 * i + 1] = xasprintf("resume %s?", cmd);
		wo->cmds[i] = cmd;
		wo->confirms[i] = own[2 * i + 1];
		wo->declines[i] = p->cmd;
		wo->base_cmds[i] = p->cmd != NULL ? p->cmd : "";
	}
	/* ceilings and fallback chains reach the policy through the config's panes */
	struct config_pane *cp = &cfg->panes[i];
	cp->ceiling_micros = p->ceiling_micros;
	for (int k = 0; k < cp->nfallback; k++)
		free(cp->fallback[k]);
	cp->nfallback = 0;
	for (int k = 0; k < p->nfallback; k++)
		cp->fallback[cp->nfallback++] = xstrdup(p->fallback[k]);
	if (cfg->npanes < i + 1)
		cfg->npanes = i + 1;
}

/* Open the state file's session again. */
static int
cmd_resume_session(struct sessfile *sf, int detached, const char *prog)
{
	const char *argv[SESSFILE_MAX_OPTIONS + 2] = { prog };
	for (int i = 0; i < sf->noptions; i++)
		argv[i + 1] = sf->options[i];
	struct cmd_ws_args a;
	struct config cfg;
	char *own[2 * TOKMUX_MAX_PANES] = { 0 };
	cmd_workspace_init(&a);
	config_init(&cfg);
	if (sf->cwd != NULL && chdir(sf->cwd) < 0)
		fprintf(stderr, "%s: cannot enter %s (%s): the session starts here\n", prog, sf->cwd,
		    strerror(errno));
	int rc = cmd_workspace_parse(sf->noptions + 1, (char **)argv, prog, cmd_resume_usage, NULL, &a);
	if (rc < 0 && (rc = cmd_workspace_config(&a, &cfg, prog)) < 0) {
		a.name = sf->name;
		a.detached = detached;
		a.wo.core.session = sf->ledger_session;   /* its ledger records go on as one session */
		a.wo.npanes = sf->npanes;
		for (int i = 0; i < sf->npanes; i++)
			cmd_resume_pane(&a, &cfg, i, &sf->pane[i], own);
		rc = cmd_workspace_session(&a, &cfg, prog);
	}
	for (int i = 0; i < 2 * TOKMUX_MAX_PANES; i++)
		free(own[i]);
	config_free(&cfg);
	cmd_workspace_free(&a);
	return rc;
}

int
cmd_resume_main(int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	struct cli cli;
	char *err = NULL, name[SESSION_NAME_MAX + 1];
	int c, detached = 0;
	cli_init(&cli, "tokmux resume", "d", longopts, cmd_resume_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			return cli.status;
		if (c == 'd')
			detached = 1;
	}
	if (argc - optind > 1)
		return cli_error(&cli, CLI_USAGE, "unexpected argument \"%s\"", argv[optind + 1]);
	if (optind < argc && session_name_check(argv[optind], &err) < 0) {
		cli_error(&cli, CLI_USAGE, "%s", err);
		free(err);
		return CLI_USAGE;
	}
	char *dir = session_dir(&err);
	if (dir == NULL)
		return cli_fail_run(&cli, err);
	int rc = 1;
	if (optind < argc)
		snprintf(name, sizeof name, "%s", argv[optind]);
	if (optind >= argc && cmd_resume_latest(dir, name, sizeof name) < 0) {
		cli_error(&cli, 1, "no stopped session to resume (tokmux ls lists the sessions)");
	} else if (!cmd_resume_stopped(dir, name)) {
		cli_error(&cli, 1, "session %s is running: tokmux attach -t %s", name, name);
	} else {
		struct sessfile sf;
		char *path = session_state_path(name);
		if (sessfile_read(path, &sf, &err) < 0)
			cli_error(&cli, 1, "%s", err);
		else
			rc = cmd_resume_session(&sf, detached, "tokmux resume");
		sessfile_free(&sf);
		free(path);
	}
	free(err);
	free(dir);
	return rc;
}
