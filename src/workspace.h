/*
 * workspace: starts the interactive workspace from a prepared config and
 * options: blocks the UI's signals, starts the shared client core (gateway,
 * stats, ledger) unless the gateway is off, runs the UI with the panes'
 * gateway environment and the live sidebar, and tears everything down.
 * Used by `tokmux` (cmd_workspace.c parses the command line) and `tokmux demo`.
 */
#ifndef TOKMUX_WORKSPACE_H
#define TOKMUX_WORKSPACE_H

#include "config.h"
#include "core.h"
#include "util.h"

struct workspace_opts {
	int npanes;                /* 1..TOKMUX_MAX_PANES */
	const char *cmds[TOKMUX_MAX_PANES];       /* per-pane command (NULL: config or shell) */
	const char *names[TOKMUX_MAX_PANES];      /* per-pane name (NULL: config or "pane N") */
	int no_gateway;            /* 1: panes talk to providers directly */
	int worktrees;             /* 1: every pane in its own git worktree (-w) */
	int verbose;               /* 1: debug log to tokmux.log */
	const char *theme;         /* --theme NAME, NULL: NO_COLOR or the config's */
	struct core_options core;  /* port, upstreams, ledger...; cfg and wake_fd are filled in */
};

/* Run the workspace until the user quits. Needs a terminal on stdin and
 * stdout (else prints why and returns 2). Returns the exit status (1 when
 * the core cannot start). cfg stays the caller's. */
int workspace_run(const struct config *cfg, const struct workspace_opts *o);

#endif
