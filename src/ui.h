/*
 * ui: the interactive workspace: one thread, one poll() loop over the
 * terminal, every pane's pty, a signalfd (SIGWINCH, SIGCHLD, SIGINT, SIGTERM)
 * and a wake fd that gateway threads write to. Owns curses, the panes, focus,
 * zoom, scrollback mode, prompts and overlays.
 */
#ifndef TOKMUX_UI_H
#define TOKMUX_UI_H

#include "config.h"

/* Extra environment for a new pane's child: fill env[] with up to max
 * malloc'd "KEY=VALUE" strings and return how many; *route receives the
 * gateway route the pane's requests are counted under (-1: none). */
typedef int (*ui_env_fn)(void *user, int idx, const char *name, const char *cmd,
    char **env, int max, int *route);

/* What the sidebar needs to know of each pane. */
struct ui_pane_info {
	const char *name;
	int route;
	int focused;
	int exited;
};

/* Lines for the sidebar: called on each sidebar redraw; draws through
 * ui_sidebar_line(). Returns 1 if what it drew has a running countdown (then
 * the sidebar is redrawn once a second), else 0. May be NULL (placeholder). */
struct ui_sidebar;
typedef int (*ui_sidebar_fn)(void *user, struct ui_sidebar *sb, int rows, int cols,
    const struct ui_pane_info *panes, int npanes);
/* kind: enum sidebar_kind (0 text, 1 bold, 2 dim, 3 warn, 4 error). */
void ui_sidebar_line(struct ui_sidebar *sb, int row, int kind, const char *text);
int ui_sidebar_utf8(const struct ui_sidebar *sb);

struct ui_options {
	const struct config *cfg;
	int npanes;               /* panes to open (1..4) */
	const char *cmds[4];      /* per-pane command (NULL: config or shell) */
	const char *names[4];     /* per-pane name (NULL: config or "pane N") */
	int wake_fd;              /* readable when gateway state changed; -1 none */
	ui_env_fn env_fn;
	ui_sidebar_fn sidebar_fn;
	void *user;
};

/* Block the signals the UI loop reads from its signalfd. Call before any
 * thread starts, so that no other thread receives them. */
void ui_block_signals(void);

/* Run until the user quits or every pane is closed. Returns the exit code. */
int ui_run(const struct ui_options *o);

#endif
