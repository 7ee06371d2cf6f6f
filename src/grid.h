/*
 * grid: tokmux's own screen model for one pane. Visible rows are held as an
 * array of row pointers (a ring), so scrolling the whole screen moves
 * pointers, not cells. Lines that scroll off the top go to a compact
 * scrollback store (trailing blanks trimmed, attributes run-length encoded)
 * bounded by a line count and a byte budget. There is a primary and an
 * alternate screen; the alternate screen never feeds scrollback. Each row
 * and scrollback line knows whether it was wrapped (the text goes on in the
 * next row), so the primary screen and scrollback can be reflowed to a new
 * width (grid_reflow).
 *
 * Filled by vt.c from libvterm's state-layer callbacks; read by render.c.
 * Not thread-safe: owned by the UI thread.
 */
#ifndef TOKMUX_GRID_H
#define TOKMUX_GRID_H

#include <stddef.h>
#include <stdint.h>

#define GRID_CHARS 6                  /* base character + up to 5 combining */
#define GRID_WIDE_CONT 0xFFFFFFFFu    /* ch[0] of the right half of a wide char */

enum grid_color_type {
	GRID_COLOR_DEFAULT = 0,
	GRID_COLOR_INDEXED = 1,
	GRID_COLOR_RGB = 2,
};

struct grid_color {
	uint8_t type;   /* enum grid_color_type */
	uint8_t idx;    /* palette index when INDEXED */
	uint8_t r, g, b;
};

enum grid_attr {
	GRID_ATTR_BOLD = 1 << 0,
	GRID_ATTR_UNDERLINE = 1 << 1,
	GRID_ATTR_ITALIC = 1 << 2,
	GRID_ATTR_REVERSE = 1 << 3,
	GRID_ATTR_BLINK = 1 << 4,
	GRID_ATTR_STRIKE = 1 << 5,
	GRID_ATTR_DIM = 1 << 6,
	GRID_ATTR_CONCEAL = 1 << 7,
	GRID_ATTR_OVERLINE = 1 << 8,
};

/* The underline style, in attrs bits 12..14 when GRID_ATTR_UNDERLINE is
 * set (SGR 4:n): 0 or 1 single, then these. */
enum grid_ul_style {
	GRID_UL_SINGLE = 1,
	GRID_UL_DOUBLE = 2,
	GRID_UL_CURLY = 3,
	GRID_UL_DOTTED = 4,
	GRID_UL_DASHED = 5,
};
#define GRID_UL_SHIFT 12
#define GRID_UL_MASK (7u << GRID_UL_SHIFT)
#define GRID_UL_STYLE(attrs) (((attrs) & GRID_UL_MASK) >> GRID_UL_SHIFT)

struct grid_cell {
	uint32_t ch[GRID_CHARS];  /* ch[0] == 0: blank; unused slots are 0 */
	struct grid_color fg, bg;
	struct grid_color ul;     /* underline colour (SGR 58) */
	uint16_t attrs;           /* enum grid_attr bits, underline style */
	uint8_t width;            /* 1, or 2 for the left half of a wide char */
};

typedef struct grid grid_t;

grid_t *grid_new(int rows, int cols, size_t sb_max_lines, size_t sb_max_bytes);
void grid_free(grid_t *g);

int grid_rows(const grid_t *g);
int grid_cols(const grid_t *g);

/* Row r (0 = top) of the screen now shown (primary or alternate). Always
 * grid_cols() cells. */
const struct grid_cell *grid_row(const grid_t *g, int r);

/* Whether row r of the shown screen was wrapped: its text goes on in row
 * r + 1 (set by vt.c when the cursor wraps at the right margin). */
int grid_row_wrapped(const grid_t *g, int r);
void grid_set_wrapped(grid_t *g, int r, int wrapped);

/* Scrollback: grid_sb_count() lines; n = 0 is the newest (just above the
 * screen). grid_sb_line() expands line n into out[0..cols-1], padding with
 * blank default cells, and returns 0; -1 when n is out of range.
 * grid_sb_wrapped(): 1 if line n was wrapped (goes on in line n - 1, or in
 * screen row 0 for n = 0). */
size_t grid_sb_count(const grid_t *g);
int grid_sb_line(const grid_t *g, size_t n, struct grid_cell *out, int cols);
int grid_sb_wrapped(const grid_t *g, size_t n);

/* Total lines ever pushed to scrollback (monotonic); lets a viewer that is
 * scrolled back keep its place while new output arrives. */
uint64_t grid_sb_pushed(const grid_t *g);

/* Approximate bytes held by the scrollback store. */
size_t grid_sb_bytes(const grid_t *g);

/* Damage tracking: rows changed since the last grid_clean(). */
int grid_row_dirty(const grid_t *g, int r);
int grid_any_dirty(const grid_t *g);
void grid_mark_all_dirty(grid_t *g);
void grid_clean(grid_t *g);

/* ---- mutation, used by vt.c (and tests) ---- */
/* (declared by the grid implementation below this line) */

/* Switch the shown screen: 0 = primary, 1 = alternate. Marks all dirty. The
 * alternate screen keeps its old content; the caller erases it. */
void grid_set_alt(grid_t *g, int alt);
int grid_alt(const grid_t *g);

/* Writable row r of the shown screen; marks it dirty. */
struct grid_cell *grid_row_mut(grid_t *g, int r);
void grid_touch(grid_t *g, int r);

/* A blank cell (ch[0] == 0, width 1, default fg, no attrs) with background bg
 * (NULL = default). */
void grid_blank_cell(struct grid_cell *c, const struct grid_color *bg);

/* Put a glyph at (r, c): nchars code points (base + combining, at most
 * GRID_CHARS are kept), width 1 or 2, colours and attrs from pen. A width-2
 * glyph writes GRID_WIDE_CONT into c + 1; one that would not fit in the row
 * is stored as a blank. Wide characters cut in half are blanked. */
void grid_put(grid_t *g, int r, int c, const uint32_t *chars, int nchars,
    int width, const struct grid_cell *pen);

/* Put n printable ASCII characters (0x20..0x7E) from s at (r, c) .. (r,
 * c + n - 1), all in the row, as n grid_put()s of width 1 would. */
void grid_put_ascii(grid_t *g, int r, int c, const char *s, int n,
    const struct grid_cell *pen);

/* Blank rows [r0, r1) x cols [c0, c1) with background bg (NULL = default).
 * A row erased up to its right edge is no longer wrapped. */
void grid_erase(grid_t *g, int r0, int r1, int c0, int c1,
    const struct grid_color *bg);

/* Scroll the rectangle rows [r0, r1) x cols [c0, c1) by down rows (> 0:
 * content moves up) and right columns (> 0: content moves left), as
 * libvterm's scrollrect. Vacated cells are blanked with bg. A full-width
 * upward scroll of a region starting at row 0 on the primary screen pushes
 * the lines leaving the top into scrollback. Full-width scrolls move row
 * pointers only. */
void grid_scroll(grid_t *g, int r0, int r1, int c0, int c1, int down,
    int right, const struct grid_color *bg);

/* Copy the rectangle starting at (sr, sc) to (dr, dc), nr x nc cells,
 * overlap-safe. */
void grid_move(grid_t *g, int dr, int dc, int sr, int sc, int nr, int nc);

/* Resize both screens. Narrowing hides the cells past the new width
 * without dropping them (they follow their row into scrollback and come
 * back on widening; erasing to the right edge clears them, and a wide char
 * cut at the edge is left for the renderer to clip); rows are removed or
 * added at the bottom. Scrollback is not touched here: vt.c first pushes top
 * lines (grid_scroll) when shrinking and pulls them back (grid_sb_pop) after
 * growing, as libvterm's screen layer does. */
void grid_resize(grid_t *g, int rows, int cols);

/*
 * Reflow the primary screen and scrollback to cols columns (the primary
 * screen must be shown; the row count is unchanged): rows joined by their
 * wrapped flags are one line, split again at the new width (a wide
 * character that does not fit moves to the next row). The cursor at
 * (*row, *col) stays on the same character; after_last: the cursor is
 * past the character at *col (a pending wrap), which it stays after. Rows
 * below the last one with text (or the cursor) are not lines. Lines that
 * no longer fit go to scrollback, keeping the cursor on screen; when the
 * screen was full and now has room, lines come back from scrollback so the
 * text stays at the bottom. Marks all rows dirty.
 */
void grid_reflow(grid_t *g, int cols, int *row, int *col, int after_last);

/* Shift the primary screen down one row and fill row 0 from the newest
 * scrollback line, which is removed. Returns 0, or -1 if scrollback is
 * empty. */
int grid_sb_pop(grid_t *g);

/* Drop all scrollback lines (grid_sb_pushed() is unchanged). */
void grid_sb_clear(grid_t *g);

/* 1 if every cell of row r of the shown screen, hidden ones included, is
 * blank with default colours and no attributes. */
int grid_row_blank(const grid_t *g, int r);

#endif
