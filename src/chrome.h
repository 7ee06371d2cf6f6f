/*
 * chrome: what tokmux draws around the panes: the title line above each
 * pane, the separators, the status bar (or, when the sidebar takes its
 * place, the bottom-row overlay), the sidebar's window, boxed overlays, and
 * the theme's styles for all of them. Curses drawing only (and curses stays
 * out of this header): it knows nothing of panes, modes or the loop;
 * callers say what to show.
 */
#ifndef TOKMUX_CHROME_H
#define TOKMUX_CHROME_H

#include <stddef.h>

#include "layout.h"
#include "sidebar.h"
#include "theme.h"

typedef struct chrome chrome_t;

/* Start after curses: theme NULL is the built-in default (mono under NO_COLOR);
 * utf8: the locale is UTF-8 (line drawing and symbols). */
chrome_t *chrome_new(const struct theme *theme, int utf8);
/* The theme in use (the built-in one when chrome_new had NULL). */
const struct theme *chrome_theme(const chrome_t *c);
void chrome_free(chrome_t *c);
int chrome_color(const chrome_t *c);    /* colours are in use */
int chrome_utf8(const chrome_t *c);

/* A pane's title line. */
struct chrome_title {
	int number;              /* 1-based */
	const char *name;
	const char *cmd;         /* the pane's command line */
	const char *vt_title;    /* what the program set, "" none */
	const char *branch;      /* a worktree pane's branch, or NULL */
	const char *exit_text;   /* "exited 0", ... or NULL while it runs */
	int scroll;              /* lines back into scrollback, 0 live */
	const char *state;       /* from the sidebar callback, "" none */
	int alert;               /* show the state as an alert */
	int belled;              /* rang while not focused */
	int marked;              /* needed the user (or finished) while not focused */
	int zoomed, focused;
};
void chrome_draw_title(chrome_t *c, const struct rect *r, const struct chrome_title *t);

/* Every cell of the pane area not covered by a pane, on stdscr. */
void chrome_draw_separators(chrome_t *c, const struct layout *lay, int rows, int cols,
    int npanes, int focus);

/* What the status line has to say, most urgent first. */
struct chrome_status {
	const char *prompt;      /* a dialog's input line, or NULL */
	const char *question;    /* a y/n question, or NULL */
	const char *message;     /* a message being shown, or NULL */
	int prefix;              /* the prefix key is pending */
	int scrolling;           /* the focused pane is in scrollback mode */
	int npanes;
	const char *prefix_name; /* the prefix key, "Ctrl-g" */
};
/* The status bar on stdscr, if the layout has one. */
void chrome_draw_status(chrome_t *c, const struct layout *lay, const struct chrome_status *st);
/* Without a status bar, anything urgent overlays the bottom row (drawn after
 * the panes). Returns 1 when an overlay went away: the panes must redraw. */
int chrome_draw_overlay(chrome_t *c, const struct layout *lay, int rows, int cols,
    const struct chrome_status *st);
int chrome_overlay_shown(const chrome_t *c);   /* the overlay is on the bottom row */

/* A bar across row y of win (a WINDOW *, NULL: stdscr), w columns, in the
 * focused title's style: the head and foot of a full-screen overlay. */
void chrome_draw_bar(chrome_t *c, void *win, int y, int w, const char *text);

/* A boxed overlay of n lines, centred in rows x cols; sel >= 0 marks the
 * selected line and mark the current one ("(now)"). */
void chrome_draw_box(chrome_t *c, int rows, int cols, const char *title,
    const char *const *text, int n, int sel, int mark);

/*
 * The sidebar as its callback sees it (see ui.h): a window of rows x cols
 * (rows 0: hidden), the one-line status text and event messages.
 */
struct chrome_sidebar;
void chrome_sidebar_draw(struct chrome_sidebar *sb, int row, const struct sidebar_line *l);
/* kind: enum sidebar_kind. */
void chrome_sidebar_line(struct chrome_sidebar *sb, int row, int kind, const char *text);
/* The status line's idle text (the status bar, when there is no sidebar). */
void chrome_sidebar_status(struct chrome_sidebar *sb, const char *text);
/* A one-line message at the bottom for a few seconds; ring: worth the terminal bell. */
void chrome_sidebar_event(struct chrome_sidebar *sb, const char *text, int ring);
int chrome_sidebar_utf8(const struct chrome_sidebar *sb);

/* The UI's side of the sidebar. */
struct chrome_sidebar *chrome_sidebar(chrome_t *c);
/* Where the sidebar goes; NULL or an empty rect: no sidebar window. */
void chrome_sidebar_place(chrome_t *c, const struct rect *r);
int chrome_sidebar_rows(const chrome_t *c);     /* 0: no sidebar window */
int chrome_sidebar_cols(const chrome_t *c);
/* Clear the window before the callback draws. */
void chrome_sidebar_begin(chrome_t *c);
/* What is drawn when there is no sidebar callback. */
void chrome_sidebar_placeholder(chrome_t *c);
/* Queue the window for the next doupdate() (after stdscr). */
void chrome_sidebar_flush(chrome_t *c);
/* What the callback asked for since the last call: returns 1 if the status
 * text changed; *event gets the last event message ("" none), *rings how
 * many events wanted the bell. */
int chrome_sidebar_take(chrome_t *c, char *event, size_t len, int *rings);

#endif
