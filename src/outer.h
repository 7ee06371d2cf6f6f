/*
 * outer: the outer terminal beyond what ncurses draws. What it can do, from
 * terminfo's extended capabilities as tmux reads them (smxx strikethrough,
 * Smol overline, Smulx underline styles, Setulc underline colour, Ss/Se
 * cursor styles, setrgbf/setrgbb, Tc or RGB for true colour) and
 * COLORTERM; the cells ncurses cannot express, written after doupdate() at
 * their place (render marks them); the focused pane's cursor style; and
 * the question for the terminal's default colours (OSC 10/11). Only
 * render.c, ui.c, input.c and outer.c include <curses.h>.
 */
#ifndef TOKMUX_OUTER_H
#define TOKMUX_OUTER_H

#include <stddef.h>
#include <stdint.h>

#include "grid.h"

typedef struct outer outer_t;

/* What the outer terminal shows beyond ncurses' attributes. */
struct outer_caps {
	int strike;             /* smxx */
	int overline;           /* Smol */
	int ulstyle;            /* Smulx: double, curly, dotted, dashed */
	int ulcolor;            /* Setulc */
	int rgb;                /* 24-bit colour: setrgbf/setrgbb, Tc, RGB,
	                         * COLORTERM=truecolor or 24bit */
	int cursor_style;       /* Ss */
	int cells;              /* sgr0 and cup: marked cells can be written */
};

/* One cell ncurses drew that needs what it cannot say, as the terminal
 * must show it: filled by render. */
struct outer_cell {
	int y, x;               /* screen position */
	uint8_t width;          /* columns: 1 or 2 */
	uint16_t attrs;         /* grid attributes (reverse already applied) */
	int fg, bg;             /* -1 default, 0..255 palette, or OUTER_RGB|rgb */
	int ul;                 /* underline colour: -1 none, or OUTER_RGB|rgb */
	char text[4 * GRID_CHARS + 1];  /* UTF-8 of the glyph */
	unsigned char drawn[64];        /* the cchar_t ncurses got, to check */
};
#define OUTER_RGB 0x1000000

/* After newterm(): reads terminfo (and COLORTERM) for the capabilities.
 * Output goes to fd, the terminal ncurses writes to. */
outer_t *outer_new(int fd);
void outer_free(outer_t *t);
const struct outer_caps *outer_caps(const outer_t *t);

/* Record a cell drawn this frame (render_cells does). */
void outer_mark(outer_t *t, const struct outer_cell *cell);

/* The focused pane's DECSCUSR style (0: the terminal's default), sent at
 * the next flush if it changed. */
void outer_cursor_style(outer_t *t, int style);

/*
 * After doupdate(): write the marked cells that the screen still shows as
 * drawn (a window drawn over them hides them), then the cursor style, and
 * put the cursor and attributes back where ncurses left them. Forgets the
 * marks.
 */
void outer_flush(outer_t *t);

/* Before endwin(): the terminal's own cursor style again. */
void outer_end(outer_t *t);

/* Ask the terminal its default colours (OSC 10 and 11). Its answers come
 * with the keys, whenever they come: input reads them (INPUT_TERM_COLOR);
 * a terminal that does not answer costs nothing. */
void outer_ask_colors(outer_t *t);

#endif
