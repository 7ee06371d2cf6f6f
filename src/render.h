/*
 * render: draws a pane's grid (screen or scrollback) into a curses window,
 * turning tokmux cells into cchar_t with attributes and colour pairs. Also
 * holds the colour degradation maths (RGB -> 256 -> 16/8), kept as pure
 * functions so they can be tested without a terminal. Only render.c and
 * ui.c include <curses.h>; windows are passed as void *.
 */
#ifndef TOKMUX_RENDER_H
#define TOKMUX_RENDER_H

#include "grid.h"
#include "outer.h"

typedef struct render render_t;

/* Create after start_color() (COLORS is read here). has_colors = 0 for
 * NO_COLOR / monochrome: attributes only, colour pair 0 everywhere. */
render_t *render_new(int has_colors);
void render_free(render_t *r);

/* Cells ncurses cannot express on this terminal (true colour,
 * strikethrough, overline, underline styles and colour, more combining
 * marks than a cchar_t holds) are drawn as close as ncurses can and marked
 * on t, which writes them exactly after doupdate() (outer_flush). NULL: no
 * marks, ncurses' approximation only. */
void render_set_outer(render_t *r, outer_t *t);

/*
 * Draw g into win (a WINDOW *) at the window's origin, clipped to h x w and
 * to the window size. scroll_offset 0 = the live screen; > 0 = that many
 * lines back into scrollback (clamped to grid_sb_count()). With full == 0
 * and scroll_offset == 0 only rows with grid_row_dirty() are drawn; the
 * caller runs grid_clean() once every viewer has drawn. reverse = DECSCNM
 * (vt_reverse()): every cell's reverse attribute is inverted, as libvterm's
 * screen layer does. Areas of h x w outside the grid are blanked.
 */
void render_grid(render_t *r, void *win, grid_t *g, int h, int w,
    int scroll_offset, int reverse, int full);

/* Draw one row of n cells at window row y, columns 0..w-1 (cells past n are
 * blanked; cells past w are clipped). */
void render_cells(render_t *r, void *win, int y, const struct grid_cell *cells,
    int n, int w, int reverse);

/*
 * The curses colour pair for fg on bg (alloc_pair based, cached; ints, may
 * exceed 255: pass it through setcchar's opts, not COLOR_PAIR()). Returns 0
 * (the default pair) in mono mode, for default/default, or when curses has
 * no pair left. reverse_default != 0 swaps fg and bg first (the pair of the
 * cell shown in reverse video by colour).
 */
int render_color_pair(render_t *r, const struct grid_color *fg,
    const struct grid_color *bg, int reverse_default);

/* The curses colour number for c on a terminal with ncolors colours:
 * -1 for the default colour (or ncolors < 8). */
int render_map_color(const struct grid_color *c, int ncolors);

/* Nearest xterm-256 colour (6x6x6 cube 16..231 or grey 232..255) to an RGB
 * value, by squared RGB distance. Palette 0..15 is never returned (its
 * colours are user-configurable). */
int render_rgb_to_256(int r, int g, int b);

/* Degrade palette index idx (0..255) for a terminal with ncolors colours:
 * >= 256 keeps idx; 16..255 -> nearest of the 16 ANSI colours; 8..15 ->
 * that, with bright 8..15 folded onto 0..7; < 8 -> -1 (default). */
int render_256_to_basic(int idx, int ncolors);

#endif
