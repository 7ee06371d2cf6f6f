/*
 * render: grid -> curses. Owns a small (fg, bg) -> colour pair cache and a
 * scratch row for scrollback lines; everything else is drawn straight from
 * the grid. Colours are degraded to what the terminal has (256 / 16 / 8 /
 * none). Per row, cells with the same style as their left neighbour reuse
 * its attributes and pair, so the per-cell cost is setcchar + wadd_wch.
 */
#include "render.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "util.h"

#define PAIR_CACHE_SIZE 1024   /* power of two */

struct pair_slot {
	int key;                   /* (fg + 1) * 257 + (bg + 1); -1 = empty */
	int pair;
};

struct render {
	int ncolors;               /* 0 (mono), 8, 16 or 256 */
	struct pair_slot cache[PAIR_CACHE_SIZE];
	struct grid_cell *scratch; /* one scrollback line */
	int scratch_cols;
	cchar_t blank;
};

/* Style of the previous cell drawn in a row. */
struct style {
	int valid;
	struct grid_color fg, bg;
	uint8_t attrs;
	attr_t a;
	int pair;
};

/* xterm's default colours for palette entries 0..15. */
static const uint8_t ansi16[16][3] = {
	{ 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 },
	{ 0, 0, 238 }, { 205, 0, 205 }, { 0, 205, 205 }, { 229, 229, 229 },
	{ 127, 127, 127 }, { 255, 0, 0 }, { 0, 255, 0 }, { 255, 255, 0 },
	{ 92, 92, 255 }, { 255, 0, 255 }, { 0, 255, 255 }, { 255, 255, 255 },
};

static const int cube_level[6] = { 0, 95, 135, 175, 215, 255 };

static int
sq(int v)
{
	return v * v;
}

static int
dist3(int r, int g, int b, int r2, int g2, int b2)
{
	return sq(r - r2) + sq(g - g2) + sq(b - b2);
}

/* Index of the cube level nearest to v (0..255). */
static int
cube_index(int v)
{
	if (v < 48)
		return 0;
	if (v < 115)
		return 1;
	return (v - 35) / 40;
}

static int
clamp8(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

int
render_rgb_to_256(int r, int g, int b)
{
	int ri, gi, bi, cube, cube_d, grey = 0, grey_d = -1;

	r = clamp8(r);
	g = clamp8(g);
	b = clamp8(b);
	ri = cube_index(r);
	gi = cube_index(g);
	bi = cube_index(b);
	cube = 16 + 36 * ri + 6 * gi + bi;
	cube_d = dist3(r, g, b, cube_level[ri], cube_level[gi], cube_level[bi]);

	/* the nearest grey is one of the two levels around the mean */
	int lo = ((r + g + b) / 3 - 8) / 10;
	for (int i = lo - 1; i <= lo + 1; i++) {
		int v, d;
		if (i < 0 || i > 23)
			continue;
		v = 8 + 10 * i;
		d = dist3(r, g, b, v, v, v);
		if (grey_d < 0 || d < grey_d) {
			grey_d = d;
			grey = 232 + i;
		}
	}
	return grey_d < cube_d ? grey : cube;
}

void
render_256_to_rgb(int idx, int *r, int *g, int *b)
{
	idx &= 255;
	if (idx < 16) {
		*r = ansi16[idx][0];
		*g = ansi16[idx][1];
		*b = ansi16[idx][2];
	} else if (idx < 232) {
		idx -= 16;
		*r = cube_level[idx / 36];
		*g = cube_level[idx / 6 % 6];
		*b = cube_level[idx % 6];
	} else {
		*r = *g = *b = 8 + 10 * (idx - 232);
	}
}

/* Nearest of the 16 ANSI colours to an RGB value. */
static int
nearest16(int r, int g, int b)
{
	int best = 0, best_d = -1;

	for (int i = 0; i < 16; i++) {
		int d = dist3(r, g, b, ansi16[i][0], ansi16[i][1], ansi16[i][2]);
		if (best_d < 0 || d < best_d) {
			best_d = d;
			best = i;
		}
	}
	return best;
}

int
render_256_to_basic(int idx, int ncolors)
{
	int r, g, b, c;

	if (idx < 0 || idx > 255 || ncolors < 8)
		return -1;
	if (ncolors >= 256)
		return idx;
	if (idx < 16) {
		c = idx;
	} else {
		render_256_to_rgb(idx, &r, &g, &b);
		c = nearest16(r, g, b);
	}
	return ncolors < 16 ? c & 7 : c;
}

/* The 16-colour index of a non-default colour. */
static int
to16(const struct grid_color *c)
{
	int r, g, b;

	if (c->type == GRID_COLOR_INDEXED) {
		if (c->idx < 16)
			return c->idx;
		render_256_to_rgb(c->idx, &r, &g, &b);
		return nearest16(r, g, b);
	}
	return nearest16(c->r, c->g, c->b);
}

int
render_map_color(const struct grid_color *c, int ncolors)
{
	if (c->type == GRID_COLOR_DEFAULT || ncolors < 8)
		return -1;
	if (ncolors >= 256) {
		if (c->type == GRID_COLOR_INDEXED)
			return c->idx;
		return render_rgb_to_256(c->r, c->g, c->b);
	}
	return ncolors < 16 ? to16(c) & 7 : to16(c);
}

/* On an 8-colour terminal, a bright foreground is shown as bold. */
static int
bright_on_8(const struct grid_color *fg, int ncolors)
{
	return ncolors == 8 && fg->type != GRID_COLOR_DEFAULT && to16(fg) >= 8;
}

render_t *
render_new(int has_colors)
{
	render_t *r = xcalloc(1, sizeof *r);

	if (has_colors && COLORS >= 8)
		r->ncolors = COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : 8;
	for (int i = 0; i < PAIR_CACHE_SIZE; i++)
		r->cache[i].key = -1;
	setcchar(&r->blank, L" ", A_NORMAL, 0, NULL);
	return r;
}

void
render_free(render_t *r)
{
	if (r == NULL)
		return;
	free(r->scratch);
	free(r);
}

/* Pair for curses colours f, b (-1 = default), through the cache. A cached
 * pair is checked against curses, which may recycle pairs when full. */
static int
pair_for(render_t *r, int f, int b)
{
	int key = (f + 1) * 257 + (b + 1), cf, cb, pair;
	struct pair_slot *s;

	if (f < 0 && b < 0)
		return 0;
	s = &r->cache[((unsigned)key * 2654435761u >> 16) & (PAIR_CACHE_SIZE - 1)];
	if (s->key == key && extended_pair_content(s->pair, &cf, &cb) == OK &&
	    cf == f && cb == b)
		return s->pair;
	pair = alloc_pair(f, b);
	if (pair < 0) {
		log_debug("%s: no colour pair for %d/%d", __func__, f, b);
		return 0;
	}
	s->key = key;
	s->pair = pair;
	return pair;
}

int
render_color_pair(render_t *r, const struct grid_color *fg,
    const struct grid_color *bg, int reverse_default)
{
	if (r->ncolors == 0 || fg == NULL || bg == NULL)
		return 0;
	if (reverse_default) {
		const struct grid_color *t = fg;
		fg = bg;
		bg = t;
	}
	return pair_for(r, render_map_color(fg, r->ncolors),
	    render_map_color(bg, r->ncolors));
}

/* Curses attributes for grid attribute bits. */
static attr_t
cell_attrs(uint8_t ga, int reverse)
{
	attr_t a = A_NORMAL;

	if (ga & GRID_ATTR_BOLD)
		a |= A_BOLD;
	if (ga & GRID_ATTR_UNDERLINE)
		a |= A_UNDERLINE;
	if (ga & GRID_ATTR_ITALIC)
		a |= A_ITALIC;
	if (ga & GRID_ATTR_BLINK)
		a |= A_BLINK;
	if (ga & GRID_ATTR_DIM)
		a |= A_DIM;
	if (ga & GRID_ATTR_CONCEAL)
		a |= A_INVIS;
	if (!(ga & GRID_ATTR_REVERSE) != !reverse)   /* strike: no curses attr */
		a |= A_REVERSE;
	return a;
}

static int
same_color(const struct grid_color *a, const struct grid_color *b)
{
	return a->type == b->type && a->idx == b->idx && a->r == b->r &&
	    a->g == b->g && a->b == b->b;
}

/* Recompute st for cell c unless it has the same style as the last one. */
static void
update_style(render_t *r, struct style *st, const struct grid_cell *c,
    int reverse)
{
	if (st->valid && st->attrs == c->attrs && same_color(&st->fg, &c->fg) &&
	    same_color(&st->bg, &c->bg))
		return;
	st->valid = 1;
	st->fg = c->fg;
	st->bg = c->bg;
	st->attrs = c->attrs;
	st->a = cell_attrs(c->attrs, reverse);
	st->pair = render_color_pair(r, &c->fg, &c->bg, 0);
	if (bright_on_8(&c->fg, r->ncolors))
		st->a |= A_BOLD;
}

/* A code point curses can draw: controls and invalid values become '?'. */
static int
drawable(uint32_t ch)
{
	if (ch < 0x20 || (ch >= 0x7f && ch < 0xa0))
		return 0;
	if (ch > 0x10ffff || (ch >= 0xd800 && ch <= 0xdfff))
		return 0;
	return ch < 0x7f || wcwidth((wchar_t)ch) >= 0;
}

/*
 * Fill wc with the cell's glyph (base + combining, 0-terminated) and return
 * its display width: 0 for a blank (wc = " ").
 */
static int
cell_glyph(const struct grid_cell *c, wchar_t *wc)
{
	int n = 0, w;

	if (c->ch[0] == 0 || c->ch[0] == GRID_WIDE_CONT) {
		wc[0] = L' ';
		wc[1] = 0;
		return 0;
	}
	if (!drawable(c->ch[0])) {
		wc[0] = L'?';
		wc[1] = 0;
		return 1;
	}
	wc[n++] = (wchar_t)c->ch[0];
	for (int i = 1; i < GRID_CHARS && n < CCHARW_MAX && c->ch[i] != 0; i++)
		if (drawable(c->ch[i]))
			wc[n++] = (wchar_t)c->ch[i];
	wc[n] = 0;
	if (c->ch[0] < 0x7f)
		return 1;
	w = wcwidth(wc[0]);
	return w < 1 ? 1 : w;
}

void
render_cells(render_t *r, void *vwin, int y, const struct grid_cell *cells,
    int n, int w, int reverse)
{
	WINDOW *win = vwin;
	struct style st = { .valid = 0 };
	wchar_t wc[CCHARW_MAX + 1];
	cchar_t cc;
	int x, skip_cont = 0;

	if (w > getmaxx(win))
		w = getmaxx(win);
	if (y < 0 || y >= getmaxy(win) || w <= 0)
		return;
	if (n > w)
		n = w;
	for (x = 0; x < n; x++) {
		const struct grid_cell *c = &cells[x];
		int gw;
		if (c->ch[0] == GRID_WIDE_CONT && skip_cont) {
			skip_cont = 0;          /* covered by the wide glyph */
			continue;
		}
		skip_cont = 0;
		gw = cell_glyph(c, wc);
		/* a wide glyph needs its second column inside the clip */
		if (c->width == 2 && gw == 2) {
			if (x + 1 < n) {
				skip_cont = 1;
			} else {
				wc[0] = L' ';
				wc[1] = 0;
			}
		}
		update_style(r, &st, c, reverse);
		if (setcchar(&cc, wc, st.a, 0, r->ncolors ? &st.pair : NULL) != OK)
			setcchar(&cc, L" ", st.a, 0, r->ncolors ? &st.pair : NULL);
		mvwadd_wch(win, y, x, &cc);
	}
	if (x < w) {
		wmove(win, y, x);
		whline_set(win, &r->blank, w - x);
	}
}

/* The cells for window row y: live screen or scrollback (NULL if none). */
static const struct grid_cell *
source_row(render_t *r, grid_t *g, int y, int offset)
{
	int line = y - offset, cols = grid_cols(g);

	if (line >= 0)
		return line < grid_rows(g) ? grid_row(g, line) : NULL;
	if (r->scratch_cols < cols) {
		r->scratch = xreallocarray(r->scratch, (size_t)cols,
		    sizeof *r->scratch);
		r->scratch_cols = cols;
	}
	if (grid_sb_line(g, (size_t)(-line - 1), r->scratch, cols) != 0)
		return NULL;
	return r->scratch;
}

void
render_grid(render_t *r, void *vwin, grid_t *g, int h, int w,
    int scroll_offset, int reverse, int full)
{
	WINDOW *win = vwin;
	size_t sb = grid_sb_count(g);
	int rows = grid_rows(g), cols = grid_cols(g);

	if (h > getmaxy(win))
		h = getmaxy(win);
	if (w > getmaxx(win))
		w = getmaxx(win);
	if (scroll_offset < 0)
		scroll_offset = 0;
	if ((size_t)scroll_offset > sb)
		scroll_offset = (int)sb;
	if (scroll_offset > 0)
		full = 1;
	for (int y = 0; y < h; y++) {
		const struct grid_cell *cells;
		if (!full && (y >= rows || !grid_row_dirty(g, y)))
			continue;
		cells = source_row(r, g, y, scroll_offset);
		if (cells != NULL) {
			render_cells(r, win, y, cells, cols, w, reverse);
		} else {
			wmove(win, y, 0);
			whline_set(win, &r->blank, w);
		}
	}
}
