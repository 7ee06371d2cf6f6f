/*
 * ui: the interactive workspace: one thread, one poll() loop over the
 * terminal, every pane's pty, a signalfd (SIGWINCH, SIGCHLD, SIGINT, SIGTERM)
 * and a wake fd that gateway threads write to. Owns curses, the panes, focus,
 * zoom, scrollback mode, prompts and overlays.
 */
#ifndef TOKMUX_UI_H
#define TOKMUX_UI_H

#include "config.h"

/* Extra environment for a pane's child: fill env[] with up to max
 * malloc'd "KEY=VALUE" strings and return how many. idx is the pane slot. */
typedef int (*ui_env_fn)(void *user, int idx, const char *name, const char *cmd,
    char **env, int max);

/* Text for the sidebar: called on each sidebar redraw with the sidebar's
 * size; draws through ui_sidebar_line(). May be NULL (placeholder). */
struct ui_sidebar;
typedef void (*ui_sidebar_fn)(void *user, struct ui_sidebar *sb, int rows, int cols);
void ui_sidebar_line(struct ui_sidebar *sb, int row, int attr_kind, const char *text);

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

/* Run until the user quits or every pane is closed. Returns the exit code. */
int ui_run(const struct ui_options *o);

#endif
