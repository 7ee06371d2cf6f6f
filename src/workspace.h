/*
 * workspace: starts the interactive workspace from a prepared config and
 * options: blocks the UI's signals, starts the shared client core (gateway,
 * stats, ledger) unless the gateway is off, runs the UI with the panes'
 * gateway environment and the live sidebar, and tears everything down.
 * Used by a session's server (server.c) and by `tokmux demo`.
 */
#ifndef TOKMUX_WORKSPACE_H
#define TOKMUX_WORKSPACE_H

#include "config.h"
#include "core.h"
#include "evloop.h"
#include "ui.h"
#include "util.h"

struct workspace_opts {
	int npanes;                /* 1..TOKMUX_MAX_PANES */
	const char *cmds[TOKMUX_MAX_PANES];       /* per-pane command (NULL: config or shell) */
	const char *names[TOKMUX_MAX_PANES];      /* per-pane name (NULL: config or "pane N") */
	const char *cwds[TOKMUX_MAX_PANES];       /* per-pane directory (NULL: ours) */
	const char *confirms[TOKMUX_MAX_PANES];   /* per-pane question first (see ui.h) */
	const char *declines[TOKMUX_MAX_PANES];
	const char *overrides[TOKMUX_MAX_PANES];  /* per-pane model override to start with */
	/* per-pane command as the user gave it, when cmds[] holds another
	 * (a resumed agent's): what workspace_route_cmd() says. NULL: cmds[]'s */
	const char *base_cmds[TOKMUX_MAX_PANES];
	int rows, cols;            /* the panes' area until a terminal attaches (0: 24 x 80) */
	/* a session's server: its terminals can leave (see ui_options) */
	void (*term_gone)(void *term_user, int term, enum ui_gone why);
	void *term_user;
	int no_gateway;            /* 1: panes talk to providers directly */
	int worktrees;             /* 1: every pane in its own git worktree (-w) */
	int verbose;               /* 1: debug log to tokmux.log */
	const char *theme;         /* --theme NAME, NULL: NO_COLOR or the config's */
	struct core_options core;  /* port, upstreams, ledger...; cfg and wake_fd are filled in */
};

typedef struct workspace workspace_t;

/* 0 if the theme the workspace would draw with loads; -1 with *err. */
int workspace_check_theme(const struct config *cfg, const struct workspace_opts *o, char **err);

/* The theme, the core (unless the gateway is off) and the UI with its
 * panes, in loop (NULL: the UI's own). NULL with a malloc'd *err and the
 * exit status in *status (2 for a bad theme, 1 when the core cannot
 * start). cfg and o must outlive it. */
workspace_t *workspace_new(const struct config *cfg, const struct workspace_opts *o,
    evloop_t *loop, int *status, char **err);
ui_t *workspace_ui(workspace_t *w);
core_t *workspace_core(workspace_t *w);    /* NULL when the gateway is off */
/* The command the pane of a gateway route was given (NULL: the shell). */
const char *workspace_route_cmd(const workspace_t *w, int route);
void workspace_free(workspace_t *w);       /* stops the UI's panes and the core */

/* Run the workspace on this process's terminal until the user quits (what
 * `tokmux demo` does; `tokmux` runs it as a session, see server.h). Needs a
 * terminal on stdin and stdout (else prints why and returns 2). Returns the
 * exit status (1 when the core cannot start). cfg stays the caller's. */
int workspace_run(const struct config *cfg, const struct workspace_opts *o);

#endif
