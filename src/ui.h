/*
 * ui: the interactive workspace, the multiplexer: one thread, one event
 * loop (evloop) over the terminal, every pane's pty, a signalfd (SIGWINCH,
 * SIGCHLD, SIGINT, SIGTERM, SIGHUP) and a wake fd that gateway threads write
 * to. Owns curses, the panes, focus, zoom, scrollback mode, the y/n
 * questions, the mouse and when to draw; the chrome module draws titles,
 * separators, status and sidebar, the dialog module owns the metering
 * dialogs.
 */
#ifndef TOKMUX_UI_H
#define TOKMUX_UI_H

#include <stdint.h>

#include "chrome.h"
#include "config.h"
#include "dialog.h"
#include "panestate.h"
#include "sidebar.h"
#include "theme.h"
#include "util.h"

/* Extra environment for a new pane's child: fill env[] with up to max
 * malloc'd "KEY=VALUE" strings and return how many; *route receives the
 * gateway route the pane's requests are counted under (-1: none).
 * Returns -1 (env[] untouched) when the pane must not start: the gateway
 * is on but has no route left for it, so its agent would go to the
 * provider directly, unmetered and past every ceiling. */
typedef int (*ui_env_fn)(void *user, int idx, const char *name, const char *cmd,
    char **env, int max, int *route);

/* What the sidebar needs to know of each pane, and what it tells back. */
struct ui_pane_info {
	const char *name;
	const char *cmd;
	int route;
	int focused;
	int exited;
	int64_t last_output_ms;   /* util_now_ms() of its last output that was no key's echo
	                           * and no resize's redraw, 0 never */
	int64_t last_input_ms;    /* of the last key sent to the pane, 0 never */
	int64_t last_resize_ms;   /* of its last resize, 0 never */
	const struct termsig_view *sig;   /* what its program said about itself (termsig.h) */
	struct sidebar_worktree wt;   /* a worktree pane's branch and change */
	/* filled by the sidebar callback: */
	struct panestate_out pst; /* its state (panestate.h): the UI tells the user of changes */
	char state[128];          /* for the title line, e.g. "needs input: permission" */
	int alert;                /* the title shows the state as an alert */
	int watch_output;         /* call again when the pane prints (its state may change) */
	int watch_input;          /* call again when a key is typed into the pane */
};

/*
 * The sidebar callback: called when gateway state changed (at most 4 times
 * a second), when a pane's activity may have changed its state, and when
 * the value it last returned comes due. It draws rows x cols lines with
 * chrome_sidebar_draw() (rows = 0: the sidebar is hidden; only the status
 * line and the pane states are wanted), sets the status line with
 * chrome_sidebar_status(), fills panes[i].state / alert, and may post a
 * message with chrome_sidebar_event(). Returns the ms after which it must
 * be called again although nothing happened (a countdown, a state that
 * times out), or -1. May be NULL (a placeholder is drawn).
 */
typedef int (*ui_sidebar_fn)(void *user, struct chrome_sidebar *sb, int rows, int cols,
    struct ui_pane_info *panes, int npanes);

/* Where a pane works now, for the ledger: the git branch of its
 * program's directory and its worktree (each NULL: none), for the
 * requests of gateway route from now on. Called when it changes. */
typedef void (*ui_where_fn)(void *user, int route, const char *branch, const char *worktree);

struct ui_options {
	const struct config *cfg;
	int npanes;               /* panes to open (1..TOKMUX_MAX_PANES) */
	const char *cmds[TOKMUX_MAX_PANES];      /* per-pane command (NULL: config or shell) */
	const char *names[TOKMUX_MAX_PANES];     /* per-pane name (NULL: config or "pane N") */
	int wake_fd;              /* readable when gateway state changed; -1 none */
	int worktrees;            /* 1: every pane opened at start runs in its own git worktree
	                           * (-w; else the config's panes[].worktree decides) */
	ui_env_fn env_fn;
	ui_sidebar_fn sidebar_fn;
	ui_where_fn where_fn;     /* may be NULL */
	struct dialog_controls controls;   /* the in-app controls (b, f, m) */
	const struct theme *theme; /* NULL: the built-in default (mono under NO_COLOR) */
	int ring_bell;            /* ring the terminal bell with event messages */
	void *user;
};

/* Block the signals the UI loop reads from its signalfd. Call before any
 * thread starts, so that no other thread receives them. */
void ui_block_signals(void);

/* Run until the user quits or every pane is closed. Returns the exit code. */
int ui_run(const struct ui_options *o);

#endif
