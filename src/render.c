/*
 * render: grid -> curses. Owns a small (fg, bg) -> colour pair cache and a
 * scratch row for scrollback lines; everything else is drawn straight from
 * the grid. Colours are degraded to what the terminal has (256 / 16 / 8 /
 * none). Per row, cells with the same style as their left neighbour reuse
 * its attributes and pair, so the per-cell cost is setcchar + wadd_wch.
 */
#include "render.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "palette.h"
#include "outer.h"
#include "util.h"

#define PAIR_CACHE_SIZE 1024   /* power of two */

struct pair_slot {
	int key;                   /* (fg + 1) * 257 + (bg + 1); -1 = empty */
	int pair;
};

struct render {
	int ncolors;               /* 0 (mono), 8, 16 or 256 */
	outer_t *outer;             /* the outer terminal's extras, or NULL */
	int invis;                 /* the terminal hides A_INVIS text */
	struct pair_slot cache[PAIR_CACHE_SIZE];
	struct grid_cell *scratch; /* one scrollback line */
	int scratch_cols;
	cchar_t blank;
};

/* Style of the previous cell drawn in a row. */
struct style {
	int valid;
	struct grid_color fg, bg, ul;
	uint16_t attrs;
	attr_t a;
	int pair;
	int special;               /* needs what ncurses cannot say (outer.c) */
};

/* Attribute bits no terminal shows, set on special cells: a hash of what
 * ncurses cannot say, so that a change in it alone redraws the cell. */
static const attr_t render_marker_bits[6] = {
	A_HORIZONTAL, A_LEFT, A_LOW, A_RIGHT, A_TOP, A_VERTICAL,
};

static int
render_sq(int v)
{
	return v * v;
}

static int
render_dist3(int r, int g, int b, int r2, int g2, int b2)
{
	return render_sq(r - r2) + render_sq(g - g2) + render_sq(b - b2);
}

/* Index of the cube level nearest to v (0..255). */
static int
render_cube_index(int v)
{
	if (v < 48)
		return 0;
	if (v < 115)
		return 1;
	return (v - 35) / 40;
}

static int
render_clamp8(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

int
render_rgb_to_256(int r, int g, int b)
{
	int ri, gi, bi, cube, cube_d, grey = 0, grey_d = -1, cr, cg, cb;

	r = render_clamp8(r);
	g = render_clamp8(g);
	b = render_clamp8(b);
	ri = render_cube_index(r);
	gi = render_cube_index(g);
	bi = render_cube_index(b);
	cube = 16 + 36 * ri + 6 * gi + bi;
	palette_rgb(cube, &cr, &cg, &cb);
	cube_d = render_dist3(r, g, b, cr, cg, cb);

	/* the nearest grey is one of the two levels around the mean */
	int lo = ((r + g + b) / 3 - 8) / 10;
	for (int i = lo - 1; i <= lo + 1; i++) {
		int v, d;
		if (i < 0 || i > 23)
			continue;
		v = 8 + 10 * i;
		d = render_dist3(r, g, b, v, v, v);
		if (grey_d < 0 || d < grey_d) {
			grey_d = d;
			grey = 232 + i;
		}
	}
	return grey_d < cube_d ? grey : cube;
}

/* Nearest of the 16 ANSI colours to an RGB value. */
static int
render_nearest16(int r, int g, int b)
{
	int best = 0, best_d = -1;

	for (int i = 0; i < 16; i++) {
		int pr, pg, pb, d;

		palette_rgb(i, &pr, &pg, &pb);
		d = render_dist3(r, g, b, pr, pg, pb);
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
		palette_rgb(idx, &r, &g, &b);
		c = render_nearest16(r, g, b);
	}
	return ncolors < 16 ? c & 7 : c;
}

/* The 16-colour index of a non-default colour. */
static int
render_to16(const struct grid_color *c)
{
	int r, g, b;

	if (c->type == GRID_COLOR_INDEXED) {
		if (c->idx < 16)
			return c->idx;
		palette_rgb(c->idx, &r, &g, &b);
		return render_nearest16(r, g, b);
	}
	return render_nearest16(c->r, c->g, c->b);
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
	return ncolors < 16 ? render_to16(c) & 7 : render_to16(c);
}

/* On an 8-colour terminal, a bright foreground is shown as bold. */
static int
render_bright_on_8(const struct grid_color *fg, int ncolors)
{
	return ncolors == 8 && fg->type != GRID_COLOR_DEFAULT && render_to16(fg) >= 8;
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
	r->invis = (term_attrs() & A_INVIS) != 0;
	return r;
}

void
render_set_outer(render_t *r, outer_t *t)
{
	r->outer = t;
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
render_pair_for(render_t *r, int f, int b)
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
	return render_pair_for(r, render_map_color(fg, r->ncolors),
	    render_map_color(bg, r->ncolors));
}

/* Curses attributes for grid attribute bits (underline styles fall back
 * to a plain underline; strikethrough and overline have none). */
static attr_t
render_cell_attrs(uint16_t ga, int reverse)
{
	attr_t a = A_NORMAL;

	if (!(ga & GRID_ATTR_REVERSE) != !reverse)
		a |= A_REVERSE;
	if (ga & GRID_ATTR_CONCEAL)
		a |= A_INVIS;
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
	return a;
}

/* Whether cell c needs what ncurses cannot say, on this terminal. */
static int
render_cell_special(const render_t *r, const struct grid_cell *c)
{
	const struct outer_caps *k;
	uint16_t a = c->attrs;

	if (r->outer == NULL || (a & GRID_ATTR_CONCEAL))
		return 0;
	k = outer_caps(r->outer);
	return ((a & GRID_ATTR_STRIKE) && k->strike) ||
	    ((a & GRID_ATTR_OVERLINE) && k->overline) ||
	    ((a & GRID_ATTR_UNDERLINE) && GRID_UL_STYLE(a) > 1 && k->ulstyle) ||
	    ((a & GRID_ATTR_UNDERLINE) && c->ul.type != GRID_COLOR_DEFAULT &&
	    k->ulcolor) ||
	    (k->rgb && r->ncolors >= 8 && (c->fg.type == GRID_COLOR_RGB ||
	    c->bg.type == GRID_COLOR_RGB));
}

/* The marker bits for a special cell's style: never none. */
static attr_t
render_cell_marker(const struct grid_cell *c)
{
	uint32_t h = c->attrs;
	const struct grid_color *col[3] = { &c->fg, &c->bg, &c->ul };
	attr_t a = 0;
	int i;

	for (i = 0; i < 3; i++)
		h = h * 31 + (uint32_t)(col[i]->type << 24 | col[i]->idx << 16 |
		    col[i]->r << 8 | col[i]->g) * 7 + col[i]->b;
	h = 1 + (h ^ h >> 13 ^ h >> 26) % 63;
	for (i = 0; i < 6; i++)
		if (h & (1u << i))
			a |= render_marker_bits[i];
	return a;
}

static int
render_same_color(const struct grid_color *a, const struct grid_color *b)
{
	return a->type == b->type && a->idx == b->idx && a->r == b->r &&
	    a->g == b->g && a->b == b->b;
}

/* Recompute st for cell c unless it has the same style as the last one. */
static void
render_update_style(render_t *r, struct style *st, const struct grid_cell *c,
    int reverse)
{
	if (st->valid && st->attrs == c->attrs && render_same_color(&st->fg, &c->fg) &&
	    render_same_color(&st->bg, &c->bg) && render_same_color(&st->ul, &c->ul))
		return;
	st->valid = 1;
	st->fg = c->fg;
	st->bg = c->bg;
	st->ul = c->ul;
	st->attrs = c->attrs;
	st->a = render_cell_attrs(c->attrs, reverse);
	st->pair = render_color_pair(r, &c->fg, &c->bg, 0);
	if (render_bright_on_8(&c->fg, r->ncolors))
		st->a |= A_BOLD;
	st->special = render_cell_special(r, c);
	if (st->special)
		st->a |= render_cell_marker(c);
}

/* A colour for outer.c: -1 default, a palette index for this terminal, or
 * OUTER_RGB | rgb when it shows true colour. */
static int
render_outer_color(const render_t *r, const struct grid_color *c)
{
	if (c->type == GRID_COLOR_RGB && outer_caps(r->outer)->rgb &&
	    r->ncolors >= 8)
		return OUTER_RGB | c->r << 16 | c->g << 8 | c->b;
	return render_map_color(c, r->ncolors);
}

/* Mark a special cell for outer.c: how it must look, where, and what
 * ncurses was given for it (drawn into win at y, x). */
static void
render_mark(render_t *r, WINDOW *win, int y, int x, int width,
    const struct grid_cell *c, const struct style *st, const wchar_t *wc,
    const cchar_t *cc)
{
	struct outer_cell tc = { .width = (uint8_t)width };
	int pr, pg, pb;
	size_t n = 0;
	mbstate_t ms;

	tc.y = getbegy(win) + y;
	tc.x = getbegx(win) + x;
	tc.attrs = (uint16_t)(c->attrs & ~GRID_ATTR_REVERSE);
	if (st->a & A_REVERSE)
		tc.attrs |= GRID_ATTR_REVERSE;
	if (st->a & A_BOLD)
		tc.attrs |= GRID_ATTR_BOLD;
	tc.fg = render_outer_color(r, &c->fg);
	tc.bg = render_outer_color(r, &c->bg);
	tc.ul = -1;
	if (c->ul.type == GRID_COLOR_RGB)
		tc.ul = OUTER_RGB | c->ul.r << 16 | c->ul.g << 8 | c->ul.b;
	else if (c->ul.type == GRID_COLOR_INDEXED) {
		palette_rgb(c->ul.idx, &pr, &pg, &pb);
		tc.ul = OUTER_RGB | pr << 16 | pg << 8 | pb;
	}
	memset(&ms, 0, sizeof ms);
	for (; *wc != 0; wc++) {
		char mb[MB_LEN_MAX];
		size_t k = wcrtomb(mb, *wc, &ms);

		if (k != (size_t)-1 && n + k < sizeof tc.text) {
			memcpy(tc.text + n, mb, k);
			n += k;
		}
	}
	tc.text[n] = '\0';
	memcpy(tc.drawn, cc, sizeof *cc);
	outer_mark(r->outer, &tc);
}

/* A code point curses can draw: controls and invalid values become '?'. */
static int
render_drawable(uint32_t ch)
{
	if (ch < 0x20 || (ch >= 0x7f && ch < 0xa0))
		return 0;
	if (ch > 0x10ffff || (ch >= 0xd800 && ch <= 0xdfff))
		return 0;
	return ch < 0x7f || wcwidth((wchar_t)ch) >= 0;
}

/* Put the glyph wc (at most CCHARW_MAX - 1 marks of it) with style st at
 * (y, x) of win; cc gets what ncurses was given. more: the glyph has more
 * marks, written by outer.c: the cell carries a marker too. */
static void
render_draw_cell(render_t *r, WINDOW *win, int y, int x, const wchar_t *wc,
    const struct style *st, int more, cchar_t *cc)
{
	wchar_t head[CCHARW_MAX + 1];
	attr_t a = st->a;
	int *pair = r->ncolors ? (int *)&st->pair : NULL;

	wcsncpy(head, wc, CCHARW_MAX);
	head[CCHARW_MAX] = 0;
	if (more && !st->special)
		a |= render_marker_bits[0];
	if (setcchar(cc, head, a, 0, pair) != OK)
		setcchar(cc, L" ", a, 0, pair);
	mvwadd_wch(win, y, x, cc);
}

/*
 * Fill wc with the cell's glyph (base + combining, 0-terminated) and return
 * its display width: 0 for a blank (wc = " ").
 */
static int
render_cell_glyph(const struct grid_cell *c, wchar_t *wc)
{
	int n = 0, w;

	if (c->ch[0] == 0 || c->ch[0] == GRID_WIDE_CONT) {
		wc[0] = L' ';
		wc[1] = 0;
		return 0;
	}
	if (!render_drawable(c->ch[0])) {
		wc[0] = L'?';
		wc[1] = 0;
		return 1;
	}
	wc[n++] = (wchar_t)c->ch[0];
	for (int i = 1; i < GRID_CHARS && c->ch[i] != 0; i++)
		if (render_drawable(c->ch[i]))
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
	wchar_t wc[GRID_CHARS + 1];
	cchar_t cc;
	int x, skip_cont = 0, more;

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
		gw = render_cell_glyph(c, wc);
		/* hidden: by the terminal (invis), else drawn blank (both
		 * halves of a wide one) */
		if ((c->attrs & GRID_ATTR_CONCEAL) && !r->invis) {
			wc[0] = L' ';
			wc[1] = 0;
			gw = 0;
		}
		/* a wide glyph needs its second column inside the clip */
		if (c->width == 2 && gw == 2) {
			if (x + 1 < n) {
				skip_cont = 1;
			} else {
				wc[0] = L' ';
				wc[1] = 0;
			}
		}
		render_update_style(r, &st, c, reverse);
		/* marks past what a cchar_t holds: outer.c writes them */
		more = wcslen(wc) > CCHARW_MAX && r->outer != NULL &&
		    outer_caps(r->outer)->cells &&
		    !(c->attrs & GRID_ATTR_CONCEAL);
		render_draw_cell(r, win, y, x, wc, &st, more, &cc);
		if (st.special || more)
			render_mark(r, win, y, x, skip_cont ? 2 : 1, c, &st, wc,
			    &cc);
	}
	if (x < w) {
		wmove(win, y, x);
		whline_set(win, &r->blank, w - x);
	}
}

/* The cells for window row y: live screen or scrollback (NULL if none). */
static const struct grid_cell *
render_source_row(render_t *r, grid_t *g, int y, int offset)
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
		cells = render_source_row(r, g, y, scroll_offset);
		if (cells != NULL) {
			render_cells(r, win, y, cells, cols, w, reverse);
		} else {
			wmove(win, y, 0);
			whline_set(win, &r->blank, w);
		}
	}
}
