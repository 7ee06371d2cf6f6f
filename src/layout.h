/*
 * layout: pure screen geometry for tokmux. Splits the terminal into up to
 * TOKMUX_MAX_PANES panes (each a one-row title above its body), an optional
 * sidebar on the right and an optional one-row status bar at the bottom. No
 * curses.
 *
 * Separator cells (one column between side-by-side panes, one column left of
 * the sidebar) belong to no rect: the renderer draws them.
 */
#ifndef TOKMUX_LAYOUT_H
#define TOKMUX_LAYOUT_H

#include "util.h"    /* TOKMUX_MAX_PANES */

#define LAYOUT_MIN_COL_W 40      /* side by side only if every column gets this */
#define LAYOUT_MIN_STACK_H 6     /* stack panes only if each gets title + 5 rows */
#define LAYOUT_SIDEBAR_MIN_COLS 100  /* terminal width needed for a sidebar */

struct rect {
	int y, x, h, w;
};

struct layout_pane {
	struct rect title;   /* 1 row, same x/w as body */
	struct rect body;
	int visible;         /* 0: rects are all zero, do not draw */
};

struct layout {
	int npanes;
	struct layout_pane pane[TOKMUX_MAX_PANES];
	struct rect sidebar;
	int sidebar_visible;
	struct rect status;
	int status_visible;
	struct rect area;    /* the whole pane area (panes + separators) */
};

/*
 * Compute the layout for a rows x cols terminal. npanes is clamped to
 * 0..TOKMUX_MAX_PANES.
 * zoomed: -1 for none, else the pane that gets the whole pane area (the
 * others are not visible). sidebar_cols: 0 for no sidebar; the sidebar is
 * shown only when cols >= LAYOUT_SIDEBAR_MIN_COLS and the panes keep at least
 * LAYOUT_MIN_COL_W columns. Whenever the sidebar is not shown, a status bar
 * takes the bottom row (if the terminal has at least 3 rows).
 * Every visible body has h >= 1 and w >= 1; no two rects overlap; all rects
 * lie inside the screen.
 */
void layout_compute(int rows, int cols, int npanes, int zoomed,
    int sidebar_cols, struct layout *out);

/* Index of the visible pane whose title or body contains (y, x), or -1. */
int layout_pane_at(const struct layout *l, int y, int x);

/* The visible pane next to pane `from` in direction (dy, dx) (one of them
 * -1 or 1, the other 0), for directional focus; -1 if there is none. */
int layout_neighbor(const struct layout *l, int from, int dy, int dx);

/* 1 if (y, x) lies inside r. */
int layout_rect_contains(const struct rect *r, int y, int x);

#endif
