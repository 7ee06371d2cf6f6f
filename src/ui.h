/*
 * ui: the interactive workspace, the multiplexer: one thread, one event
 * loop (evloop) over the terminals attached to it (none, one, or several:
 * a session's clients), every pane's pty, a signalfd (SIGWINCH, SIGCHLD,
 * SIGINT, SIGTERM, SIGHUP) and a wake fd that gateway threads write to.
 * Owns curses (a SCREEN per terminal), the panes, focus, zoom, scrollback
 * mode, the y/n questions, the mouse and when to draw; the chrome module
 * draws titles, separators, status and sidebar, the dialog module owns the
 * metering dialogs. The panes run and are read whether or not a terminal
 * is attached; an attaching terminal is drawn whole from this state.
 */
#ifndef TOKMUX_UI_H
#define TOKMUX_UI_H

#include <stdint.h>
#include <sys/types.h>

#include "chrome.h"
#include "config.h"
#include "dialog.h"
#include "evloop.h"
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

/* Why a terminal left (ui_options.term_gone). */
enum ui_gone {
	UI_GONE_DETACH,           /* the detach key */
	UI_GONE_HANGUP,           /* its input hung up, or writing to it failed */
};

struct ui_options {
	const struct config *cfg;
	int npanes;               /* panes to open (1..TOKMUX_MAX_PANES) */
	const char *cmds[TOKMUX_MAX_PANES];      /* per-pane command (NULL: config or shell) */
	const char *names[TOKMUX_MAX_PANES];     /* per-pane name (NULL: config or "pane N") */
	const char *cwds[TOKMUX_MAX_PANES];      /* per-pane directory (NULL: tokmux's own) */
	/* per-pane question asked in the pane before its command runs, e.g.
	 * "resume claude --resume ID?"; Enter runs the command, n runs
	 * declines[i] instead (NULL: the shell). NULL: no question. */
	const char *confirms[TOKMUX_MAX_PANES];
	const char *declines[TOKMUX_MAX_PANES];
	int rows, cols;           /* the panes' area until a terminal attaches (0: 24 x 80) */
	const char *term;         /* the TERM to draw for until a terminal of another kind
	                           * attaches alone (NULL: xterm-256color) */
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
	/* A session's terminals can leave: called when one does by itself (the
	 * detach key; it hung up or stopped taking output), after the UI let
	 * it go. NULL: the workspace runs on its own terminal; the detach key
	 * says it cannot, and a hang-up ends the workspace. */
	void (*term_gone)(void *term_user, int term, enum ui_gone why);
	void *term_user;
};

typedef struct ui ui_t;

/* Block the signals the UI loop reads from its signalfd. Call before any
 * thread starts, so that no other thread receives them. */
void ui_block_signals(void);

/* The workspace: its panes start now (the options are kept: they must
 * outlive it). loop: the event loop to run in (the caller may watch its own
 * descriptors there), NULL for one of its own. NULL with *err (malloc'd)
 * when the signalfd cannot be made. */
ui_t *ui_new(const struct ui_options *o, evloop_t *loop, char **err);
/* Run until the user quits, ui_quit(), or every pane is closed. Returns the
 * exit status; ui_exit_message() then says why if it was not the user
 * ("" otherwise). Every terminal still attached is let go first. */
int ui_run(ui_t *u);
void ui_quit(ui_t *u);
const char *ui_exit_message(const ui_t *u);
void ui_free(ui_t *u);

/* A terminal to draw on and read keys from. */
struct ui_term_spec {
	int in_fd, out_fd;        /* taken over: closed when it leaves */
	const char *term;         /* its TERM */
	int readonly;             /* its keys do nothing but detach */
};
/* Attach a terminal; it is drawn whole at the next frame. The workspace
 * takes the size of its terminals (the smallest of each dimension when
 * there are several); with none it keeps the last. Returns its id (>= 0),
 * or -1 with *err (the descriptors are closed). */
int ui_attach(ui_t *u, const struct ui_term_spec *s, char **err);
/* Let a terminal go (its client went away): nothing more is written to it;
 * term_gone is not called. */
void ui_detach(ui_t *u, int term);
/* Its size changed (the client saw SIGWINCH). */
void ui_term_resized(ui_t *u, int term);
int ui_term_count(const ui_t *u);

/* The panes as they are now, for a session's state: name, command, route. */
int ui_pane_count(const ui_t *u);
int ui_pane_get(const ui_t *u, int i, struct ui_pane_info *info);
/* The process in the foreground of pane i's terminal (the agent, when one
 * runs there), else its command's; -1 if none. */
pid_t ui_pane_foreground(const ui_t *u, int i);

#endif
