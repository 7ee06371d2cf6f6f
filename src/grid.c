/*
 * grid: the screen of one pane. Each screen (primary, alternate) is an array
 * of row pointers, so a full-width scroll rotates pointers and recycles the
 * rows that leave. Lines leaving the top of the primary screen are encoded
 * into the scrollback ring:
 *
 *   text: one token per cell: UTF-8 of ch[0] (blank = 0x00), each combining
 *         char prefixed by 0xF8; 0xF9 before a width-2 cell; 0xFA for the
 *         right half of a wide char; 0xFB + 4 raw bytes for a code point the
 *         UTF-8 form cannot hold. (0xF8-0xFB never start a UTF-8 sequence.)
 *   runs: (varint length, attrs as 2 bytes, fg, bg, underline colour) with
 *         colours as a type byte plus 0, 1 or 3 bytes.
 *
 * Trailing blank cells are not stored; a line's flags say whether it was
 * wrapped. The ring is bounded by a line count and a byte budget; the
 * oldest lines go first.
 *
 * Rows are never truncated by grid_resize: every row holds cap cells (the
 * widest width seen), and the cells past cols are hidden until the grid
 * widens again, so narrowing loses nothing. They follow their row into
 * scrollback and back; erasing up to the right edge clears them, as the
 * child means "the rest of the line". grid_reflow instead rewraps the
 * primary screen and scrollback at the new width (vt.c uses it whenever the
 * primary screen is shown).
 */
#include "grid.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TOK_COMBINE 0xF8
#define TOK_WIDE 0xF9
#define TOK_CONT 0xFA
#define TOK_RAW 0xFB

#define SB_LINE_OVERHEAD 16     /* rough malloc bookkeeping per line */
#define ENC_CELL_MAX (6 * GRID_CHARS + 4)   /* worst-case text bytes per cell */
#define ENC_RUN_MAX 24          /* worst-case bytes of one style run */

struct sbline {
	uint32_t ncells;        /* cells stored (trailing blanks trimmed) */
	uint32_t ntext;         /* bytes of text; the runs follow */
	uint32_t size;          /* bytes in data[] */
	uint8_t wrapped;        /* the line goes on in the next one */
	uint8_t data[];
};

struct screen {
	struct grid_cell **rows;
	uint8_t *wrap;          /* per row: wrapped (goes on in the next row) */
};

struct grid {
	int rows, cols;
	int cap;                        /* cells allocated per row, >= cols */
	struct screen scr[2];
	int alt;
	uint8_t *dirty;
	int any_dirty;
	struct grid_cell **tmp;         /* scratch row pointers for scrolls */

	struct sbline **sb;             /* ring; sb[sb_head] is the oldest */
	size_t sb_cap, sb_head, sb_count;
	size_t sb_max_lines, sb_max_bytes;
	size_t sb_line_bytes;
	uint64_t sb_pushed;
	uint8_t *enc;                   /* encoding scratch */
	size_t enc_cap;
};

static const struct grid_color color_default;

void
grid_blank_cell(struct grid_cell *c, const struct grid_color *bg)
{
	memset(c, 0, sizeof *c);
	c->width = 1;
	if (bg != NULL)
		c->bg = *bg;
}

/* Blank a cell but keep its background (used to repair cut wide chars). */
static void
grid_cell_unwide(struct grid_cell *c)
{
	struct grid_color bg = c->bg;

	grid_blank_cell(c, &bg);
}

/* Blank cells [c0, c1) of row: one cell made, then copied in doubling
 * blocks (a scroll blanks a whole row per line). */
static void
grid_blank_cells(struct grid_cell *row, int c0, int c1, const struct grid_color *bg)
{
	size_t done = 1, n;

	if (c0 >= c1)
		return;
	grid_blank_cell(&row[c0], bg);
	n = (size_t)(c1 - c0);
	while (done < n) {
		size_t k = done < n - done ? done : n - done;

		memcpy(&row[c0 + (int)done], &row[c0], k * sizeof *row);
		done += k;
	}
}

static struct grid_cell *
grid_row_new(int cols)
{
	struct grid_cell *row = xreallocarray(NULL, (size_t)cols, sizeof *row);

	grid_blank_cells(row, 0, cols, NULL);
	return row;
}

/* Blank halves of wide characters whose other half is gone. */
static void
grid_row_fix_wide(struct grid_cell *row, int cols)
{
	int c;

	for (c = 0; c < cols; c++) {
		if (row[c].ch[0] == GRID_WIDE_CONT) {
			if (c == 0 || row[c - 1].width != 2)
				grid_cell_unwide(&row[c]);
		} else if (row[c].width == 2) {
			if (c + 1 >= cols || row[c + 1].ch[0] != GRID_WIDE_CONT)
				grid_cell_unwide(&row[c]);
		} else if (row[c].width != 1)
			row[c].width = 1;
	}
}

static void
grid_mark(grid_t *g, int r0, int r1)
{
	if (r0 < 0)
		r0 = 0;
	if (r1 > g->rows)
		r1 = g->rows;
	if (r0 >= r1)
		return;
	memset(g->dirty + r0, 1, (size_t)(r1 - r0));
	g->any_dirty = 1;
}

static void
grid_screen_init(struct screen *s, int rows, int cols)
{
	int r;

	s->rows = xreallocarray(NULL, (size_t)rows, sizeof *s->rows);
	s->wrap = xcalloc((size_t)rows, 1);
	for (r = 0; r < rows; r++)
		s->rows[r] = grid_row_new(cols);
}

static void
grid_screen_free(struct screen *s, int rows)
{
	int r;

	for (r = 0; r < rows; r++)
		free(s->rows[r]);
	free(s->rows);
	free(s->wrap);
}

grid_t *
grid_new(int rows, int cols, size_t sb_max_lines, size_t sb_max_bytes)
{
	grid_t *g = xcalloc(1, sizeof *g);

	g->rows = rows < 1 ? 1 : rows;
	g->cols = cols < 1 ? 1 : cols;
	g->cap = g->cols;
	grid_screen_init(&g->scr[0], g->rows, g->cap);
	grid_screen_init(&g->scr[1], g->rows, g->cap);
	g->dirty = xcalloc((size_t)g->rows, 1);
	g->tmp = xreallocarray(NULL, (size_t)g->rows, sizeof *g->tmp);
	g->sb_max_lines = sb_max_lines;
	g->sb_max_bytes = sb_max_bytes;
	grid_mark_all_dirty(g);
	return g;
}

void
grid_free(grid_t *g)
{
	if (g == NULL)
		return;
	grid_sb_clear(g);
	free(g->sb);
	free(g->enc);
	grid_screen_free(&g->scr[0], g->rows);
	grid_screen_free(&g->scr[1], g->rows);
	free(g->dirty);
	free(g->tmp);
	free(g);
}

int
grid_rows(const grid_t *g)
{
	return g->rows;
}

int
grid_cols(const grid_t *g)
{
	return g->cols;
}

const struct grid_cell *
grid_row(const grid_t *g, int r)
{
	if (r < 0 || r >= g->rows)
		fatal("grid_row: row %d out of range", r);
	return g->scr[g->alt].rows[r];
}

struct grid_cell *
grid_row_mut(grid_t *g, int r)
{
	if (r < 0 || r >= g->rows)
		fatal("grid_row_mut: row %d out of range", r);
	g->dirty[r] = 1;
	g->any_dirty = 1;
	return g->scr[g->alt].rows[r];
}

void
grid_touch(grid_t *g, int r)
{
	if (r >= 0 && r < g->rows) {
		g->dirty[r] = 1;
		g->any_dirty = 1;
	}
}

int
grid_row_wrapped(const grid_t *g, int r)
{
	return r >= 0 && r < g->rows && g->scr[g->alt].wrap[r];
}

void
grid_set_wrapped(grid_t *g, int r, int wrapped)
{
	if (r >= 0 && r < g->rows)
		g->scr[g->alt].wrap[r] = wrapped ? 1 : 0;
}

int
grid_row_dirty(const grid_t *g, int r)
{
	return r >= 0 && r < g->rows && g->dirty[r];
}

int
grid_any_dirty(const grid_t *g)
{
	return g->any_dirty;
}

void
grid_mark_all_dirty(grid_t *g)
{
	grid_mark(g, 0, g->rows);
}

void
grid_clean(grid_t *g)
{
	memset(g->dirty, 0, (size_t)g->rows);
	g->any_dirty = 0;
}

void
grid_set_alt(grid_t *g, int alt)
{
	alt = alt ? 1 : 0;
	if (g->alt != alt) {
		g->alt = alt;
		grid_mark_all_dirty(g);
	}
}

int
grid_alt(const grid_t *g)
{
	return g->alt;
}

static int
grid_cell_is_plain_blank(const struct grid_cell *c)
{
	return c->ch[0] == 0 && c->attrs == 0 &&
	    c->bg.type == GRID_COLOR_DEFAULT && c->fg.type == GRID_COLOR_DEFAULT;
}

/* Cells of row up to its last one that is not a plain blank. */
static int
grid_row_used(const struct grid_cell *row, int n)
{
	while (n > 0 && grid_cell_is_plain_blank(&row[n - 1]))
		n--;
	return n;
}

int
grid_row_blank(const grid_t *g, int r)
{
	const struct grid_cell *row = grid_row(g, r);
	int c;

	for (c = 0; c < g->cap; c++)
		if (!grid_cell_is_plain_blank(&row[c]))
			return 0;
	return 1;
}

/* The cell at c becomes the glyph: whole-cell copy of the pen, then the
 * characters (pen's own are ignored). Called for every glyph: kept tight. */
void
grid_put(grid_t *g, int r, int c, const uint32_t *chars, int nchars,
    int width, const struct grid_cell *pen)
{
	struct grid_cell *row, *cell;
	int end, i;

	if ((unsigned)r >= (unsigned)g->rows || (unsigned)c >= (unsigned)g->cols)
		return;
	row = g->scr[g->alt].rows[r];
	g->dirty[r] = 1;
	g->any_dirty = 1;
	width = width == 2 ? 2 : 1;
	if (c + width > g->cols) {
		/* A wide glyph that cannot fit: never spill past the edge. */
		width = 1;
		nchars = 0;
	}
	end = c + width;
	if (row[c].ch[0] == GRID_WIDE_CONT && c > 0)
		grid_cell_unwide(&row[c - 1]);
	if (end < g->cap && row[end].ch[0] == GRID_WIDE_CONT)
		grid_cell_unwide(&row[end]);

	cell = &row[c];
	*cell = *pen;
	memset(cell->ch, 0, sizeof cell->ch);
	for (i = 0; i < nchars && i < GRID_CHARS; i++)
		cell->ch[i] = chars[i];
	cell->width = (uint8_t)width;
	if (width == 2) {
		row[c + 1] = *cell;
		memset(row[c + 1].ch, 0, sizeof row[c + 1].ch);
		row[c + 1].ch[0] = GRID_WIDE_CONT;
		row[c + 1].width = 1;
	}
}

void
grid_put_ascii(grid_t *g, int r, int c, const char *s, int n,
    const struct grid_cell *pen)
{
	struct grid_cell *row, cell;
	int i;

	if ((unsigned)r >= (unsigned)g->rows || c < 0 || n <= 0 ||
	    c + n > g->cols)
		return;
	row = g->scr[g->alt].rows[r];
	g->dirty[r] = 1;
	g->any_dirty = 1;
	if (row[c].ch[0] == GRID_WIDE_CONT && c > 0)
		grid_cell_unwide(&row[c - 1]);
	if (c + n < g->cap && row[c + n].ch[0] == GRID_WIDE_CONT)
		grid_cell_unwide(&row[c + n]);
	cell = *pen;
	memset(cell.ch, 0, sizeof cell.ch);
	cell.width = 1;
	for (i = 0; i < n; i++) {
		cell.ch[0] = (uint8_t)s[i];
		row[c + i] = cell;
	}
}

/* Clamp [*a, *b) into [0, max]; returns 0 when empty. */
static int
grid_clamp_range(int *a, int *b, int max)
{
	if (*a < 0)
		*a = 0;
	if (*b > max)
		*b = max;
	return *a < *b;
}

void
grid_erase(grid_t *g, int r0, int r1, int c0, int c1,
    const struct grid_color *bg)
{
	struct grid_cell *row;
	int r;

	if (!grid_clamp_range(&r0, &r1, g->rows) || !grid_clamp_range(&c0, &c1, g->cols))
		return;
	if (c1 == g->cols)
		c1 = g->cap;    /* to the edge: the hidden cells too */
	for (r = r0; r < r1; r++) {
		row = g->scr[g->alt].rows[r];
		if (c1 == g->cap)
			g->scr[g->alt].wrap[r] = 0;
		if (c0 > 0 && row[c0].ch[0] == GRID_WIDE_CONT)
			grid_cell_unwide(&row[c0 - 1]);
		if (c1 < g->cap && row[c1].ch[0] == GRID_WIDE_CONT)
			grid_cell_unwide(&row[c1]);
		grid_blank_cells(row, c0, c1, bg);
	}
	grid_mark(g, r0, r1);
}

void
grid_move(grid_t *g, int dr, int dc, int sr, int sc, int nr, int nc)
{
	struct grid_cell **rows = g->scr[g->alt].rows;
	int i, r;

	if (nr <= 0 || nc <= 0 || dr < 0 || sr < 0 || dc < 0 || sc < 0 ||
	    dr + nr > g->rows || sr + nr > g->rows ||
	    dc + nc > g->cols || sc + nc > g->cols)
		return;
	for (i = 0; i < nr; i++) {
		/* Walk away from the destination so sources are read first. */
		r = dr > sr ? nr - 1 - i : i;
		memmove(&rows[dr + r][dc], &rows[sr + r][sc],
		    (size_t)nc * sizeof **rows);
	}
	grid_mark(g, dr, dr + nr);
}

/* ---- scrollback store ---- */

static size_t
grid_sb_line_cost(const struct sbline *l)
{
	return sizeof *l + l->size + SB_LINE_OVERHEAD;
}

static size_t
grid_sb_index(const grid_t *g, size_t i)
{
	return (g->sb_head + i) % g->sb_cap;
}

/* Remove and return the oldest line. */
static struct sbline *
grid_sb_take_oldest(grid_t *g)
{
	struct sbline *l = g->sb[g->sb_head];

	g->sb[g->sb_head] = NULL;
	g->sb_head = (g->sb_head + 1) % g->sb_cap;
	g->sb_count--;
	g->sb_line_bytes -= grid_sb_line_cost(l);
	return l;
}

static void
grid_sb_grow(grid_t *g)
{
	size_t ncap = g->sb_cap ? g->sb_cap * 2 : 64, i;
	struct sbline **n;

	if (ncap > g->sb_max_lines)
		ncap = g->sb_max_lines;
	n = xcalloc(ncap, sizeof *n);
	for (i = 0; i < g->sb_count; i++)
		n[i] = g->sb[grid_sb_index(g, i)];
	free(g->sb);
	g->sb = n;
	g->sb_cap = ncap;
	g->sb_head = 0;
}

static size_t
grid_put_utf8(uint8_t *p, uint32_t v)
{
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 0x800) {
		p[0] = (uint8_t)(0xC0 | (v >> 6));
		p[1] = (uint8_t)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		p[0] = (uint8_t)(0xE0 | (v >> 12));
		p[1] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
		p[2] = (uint8_t)(0x80 | (v & 0x3F));
		return 3;
	}
	if (v < 0x110000) {
		p[0] = (uint8_t)(0xF0 | (v >> 18));
		p[1] = (uint8_t)(0x80 | ((v >> 12) & 0x3F));
		p[2] = (uint8_t)(0x80 | ((v >> 6) & 0x3F));
		p[3] = (uint8_t)(0x80 | (v & 0x3F));
		return 4;
	}
	p[0] = TOK_RAW;
	memcpy(p + 1, &v, 4);
	return 5;
}

static size_t
grid_enc_cell_text(uint8_t *p, const struct grid_cell *c)
{
	size_t n = 0;
	int i;

	if (c->ch[0] == GRID_WIDE_CONT) {
		p[0] = TOK_CONT;
		return 1;
	}
	if (c->width == 2)
		p[n++] = TOK_WIDE;
	n += grid_put_utf8(p + n, c->ch[0]);
	for (i = 1; i < GRID_CHARS && c->ch[i] != 0; i++) {
		p[n++] = TOK_COMBINE;
		n += grid_put_utf8(p + n, c->ch[i]);
	}
	return n;
}

static size_t
grid_enc_color(uint8_t *p, const struct grid_color *c)
{
	p[0] = c->type;
	if (c->type == GRID_COLOR_INDEXED) {
		p[1] = c->idx;
		return 2;
	}
	if (c->type == GRID_COLOR_RGB) {
		p[1] = c->r;
		p[2] = c->g;
		p[3] = c->b;
		return 4;
	}
	return 1;
}

_Static_assert(offsetof(struct grid_cell, ul) ==
    offsetof(struct grid_cell, fg) + 2 * sizeof(struct grid_color),
    "fg, bg and ul are adjacent");

/* Same attributes and colours. Byte for byte: colours are made with their
 * unused bytes zero, and one that is not only starts a new run. */
static int
grid_style_eq(const struct grid_cell *a, const struct grid_cell *b)
{
	uint64_t a0, a1, b0, b1;

	if (a->attrs != b->attrs)
		return 0;
	/* the 15 bytes of fg, bg and ul in two overlapping words */
	memcpy(&a0, &a->fg, 8);
	memcpy(&b0, &b->fg, 8);
	memcpy(&a1, (const uint8_t *)&a->fg + 7, 8);
	memcpy(&b1, (const uint8_t *)&b->fg + 7, 8);
	return a0 == b0 && a1 == b1;
}

static size_t
grid_enc_run(uint8_t *p, uint32_t len, const struct grid_cell *c)
{
	size_t n = 0;

	while (len >= 0x80) {
		p[n++] = (uint8_t)(0x80 | (len & 0x7F));
		len >>= 7;
	}
	p[n++] = (uint8_t)len;
	p[n++] = (uint8_t)(c->attrs & 0xFF);
	p[n++] = (uint8_t)(c->attrs >> 8);
	n += grid_enc_color(p + n, &c->fg);
	n += grid_enc_color(p + n, &c->bg);
	n += grid_enc_color(p + n, &c->ul);
	return n;
}

/* A blank, unstyled cell on the default background (the fields OR'd: no
 * branch per field, this runs over every trailing blank of every line). */
static int
grid_cell_trimmable(const struct grid_cell *c)
{
	return (c->ch[0] | c->attrs | c->bg.type) == 0;
}

/* Encode row into g->enc; returns the line header filled in *hdr. */
static void
grid_sb_encode(grid_t *g, const struct grid_cell *row, int cols,
    struct sbline *hdr)
{
	size_t need, n = 0;
	int nc = cols, c, start;

	while (nc > 0 && grid_cell_trimmable(&row[nc - 1]))
		nc--;
	need = (size_t)nc * (ENC_CELL_MAX + ENC_RUN_MAX) + 16;
	if (need > g->enc_cap) {
		g->enc = xrealloc(g->enc, need);
		g->enc_cap = need;
	}
	for (c = 0; c < nc; c++) {
		const struct grid_cell *cl = &row[c];

		if (cl->ch[0] < 0x80 && cl->ch[1] == 0 && cl->width == 1)
			g->enc[n++] = (uint8_t)cl->ch[0];   /* ASCII or blank */
		else
			n += grid_enc_cell_text(g->enc + n, cl);
	}
	hdr->ncells = (uint32_t)nc;
	hdr->ntext = (uint32_t)n;
	hdr->wrapped = 0;
	for (start = 0; start < nc; start = c) {
		for (c = start + 1; c < nc && grid_style_eq(&row[c], &row[start]); c++)
			;
		n += grid_enc_run(g->enc + n, (uint32_t)(c - start), &row[start]);
	}
	hdr->size = (uint32_t)n;
}

static void
grid_sb_enforce_budget(grid_t *g)
{
	size_t index = g->sb_cap * sizeof *g->sb;

	while (g->sb_count > 0 && g->sb_line_bytes + index > g->sb_max_bytes)
		free(grid_sb_take_oldest(g));
}

static void
grid_sb_push(grid_t *g, const struct grid_cell *row, int wrapped)
{
	struct sbline hdr, *l = NULL;

	if (g->sb_max_lines == 0 || g->sb_max_bytes == 0)
		return;
	grid_sb_encode(g, row, g->cap, &hdr);
	hdr.wrapped = wrapped ? 1 : 0;
	if (g->sb_count >= g->sb_max_lines)
		l = grid_sb_take_oldest(g);          /* recycle its memory */
	else if (g->sb_count == g->sb_cap)
		grid_sb_grow(g);
	l = xrealloc(l, sizeof *l + hdr.size);
	*l = hdr;
	memcpy(l->data, g->enc, hdr.size);
	g->sb[grid_sb_index(g, g->sb_count)] = l;
	g->sb_count++;
	g->sb_line_bytes += grid_sb_line_cost(l);
	g->sb_pushed++;
	grid_sb_enforce_budget(g);
}

/* Decode one code point (UTF-8 or raw token); returns bytes used, 0 on
 * malformed input. */
static size_t
grid_get_cp(const uint8_t *p, size_t avail, uint32_t *out)
{
	size_t len, i;
	uint32_t v;

	if (avail == 0)
		return 0;
	if (p[0] == TOK_RAW) {
		if (avail < 5)
			return 0;
		memcpy(out, p + 1, 4);
		return 5;
	}
	if (p[0] < 0x80) {
		*out = p[0];
		return 1;
	}
	if (p[0] >= 0xF0) {
		len = 4;
		v = p[0] & 0x07;
	} else if (p[0] >= 0xE0) {
		len = 3;
		v = p[0] & 0x0F;
	} else {
		len = 2;
		v = p[0] & 0x1F;
	}
	if (avail < len)
		return 0;
	for (i = 1; i < len; i++)
		v = (v << 6) | (p[i] & 0x3F);
	*out = v;
	return len;
}

/* Decode the text of l into cells out[0..ncells-1] (ncells <= l->ncells). */
static void
grid_sb_decode_text(const struct sbline *l, struct grid_cell *out, int ncells)
{
	const uint8_t *p = l->data;
	size_t pos = 0, end = l->ntext, n;
	int c, k;

	for (c = 0; c < ncells; c++) {
		grid_blank_cell(&out[c], NULL);
		if (pos >= end)
			continue;
		if (p[pos] == TOK_CONT) {
			out[c].ch[0] = GRID_WIDE_CONT;
			pos++;
			continue;
		}
		if (p[pos] == TOK_WIDE) {
			out[c].width = 2;
			pos++;
		}
		n = grid_get_cp(p + pos, end - pos, &out[c].ch[0]);
		pos += n ? n : 1;
		for (k = 1; pos < end && p[pos] == TOK_COMBINE; k++) {
			uint32_t cp = 0;

			n = grid_get_cp(p + pos + 1, end - pos - 1, &cp);
			pos += 1 + (n ? n : 0);
			if (k < GRID_CHARS)
				out[c].ch[k] = cp;
		}
	}
}

static size_t
grid_get_color(const uint8_t *p, size_t avail, struct grid_color *c)
{
	*c = color_default;
	if (avail < 1)
		return avail;
	c->type = p[0];
	if (p[0] == GRID_COLOR_INDEXED && avail >= 2) {
		c->idx = p[1];
		return 2;
	}
	if (p[0] == GRID_COLOR_RGB && avail >= 4) {
		c->r = p[1];
		c->g = p[2];
		c->b = p[3];
		return 4;
	}
	c->type = GRID_COLOR_DEFAULT;
	return 1;
}

/* Apply the style runs of l to out[0..ncells-1]. */
static void
grid_sb_decode_runs(const struct sbline *l, struct grid_cell *out, int ncells)
{
	const uint8_t *p = l->data;
	size_t pos = l->ntext, end = l->size;
	struct grid_cell style;
	uint32_t len;
	int c = 0, shift, i;

	while (pos < end && c < ncells) {
		len = 0;
		for (shift = 0; pos < end && shift < 32; shift += 7) {
			len |= (uint32_t)(p[pos] & 0x7F) << shift;
			if (!(p[pos++] & 0x80))
				break;
		}
		if (pos >= end)
			break;
		if (end - pos < 2)
			break;
		style.attrs = (uint16_t)(p[pos] | p[pos + 1] << 8);
		pos += 2;
		pos += grid_get_color(p + pos, end - pos, &style.fg);
		pos += grid_get_color(p + pos, end - pos, &style.bg);
		pos += grid_get_color(p + pos, end - pos, &style.ul);
		for (i = 0; i < (int)len && c < ncells; i++, c++) {
			out[c].attrs = style.attrs;
			out[c].fg = style.fg;
			out[c].bg = style.bg;
			out[c].ul = style.ul;
		}
	}
}

static void
grid_sb_expand(const struct sbline *l, struct grid_cell *out, int cols)
{
	int n = (int)l->ncells < cols ? (int)l->ncells : cols;

	grid_sb_decode_text(l, out, n);
	grid_sb_decode_runs(l, out, n);
	grid_blank_cells(out, n, cols, NULL);
	grid_row_fix_wide(out, cols);
}

size_t
grid_sb_count(const grid_t *g)
{
	return g->sb_count;
}

int
grid_sb_line(const grid_t *g, size_t n, struct grid_cell *out, int cols)
{
	if (n >= g->sb_count || cols <= 0)
		return -1;
	grid_sb_expand(g->sb[grid_sb_index(g, g->sb_count - 1 - n)], out, cols);
	return 0;
}

int
grid_sb_wrapped(const grid_t *g, size_t n)
{
	if (n >= g->sb_count)
		return 0;
	return g->sb[grid_sb_index(g, g->sb_count - 1 - n)]->wrapped;
}

uint64_t
grid_sb_pushed(const grid_t *g)
{
	return g->sb_pushed;
}

size_t
grid_sb_bytes(const grid_t *g)
{
	return g->sb_line_bytes + g->sb_cap * sizeof *g->sb;
}

void
grid_sb_clear(grid_t *g)
{
	while (g->sb_count > 0)
		free(grid_sb_take_oldest(g));
}

/* ---- scrolling and resizing ---- */

/* Scroll full-width rows [r0, r1) of screen s by n (> 0: up). */
static void
grid_scroll_rows(grid_t *g, int s, int r0, int r1, int n,
    const struct grid_color *bg)
{
	struct grid_cell **rows = g->scr[s].rows;
	uint8_t *wrap = g->scr[s].wrap;
	size_t psz = sizeof *rows;
	int h = r1 - r0, i;

	if (n > 0) {
		if (r0 == 0 && s == 0)
			for (i = 0; i < n; i++)
				grid_sb_push(g, rows[i], wrap[i]);
		memcpy(g->tmp, rows + r0, (size_t)n * psz);
		memmove(rows + r0, rows + r0 + n, (size_t)(h - n) * psz);
		memcpy(rows + r1 - n, g->tmp, (size_t)n * psz);
		memmove(wrap + r0, wrap + r0 + n, (size_t)(h - n));
		memset(wrap + r1 - n, 0, (size_t)n);
		for (i = r1 - n; i < r1; i++)
			grid_blank_cells(rows[i], 0, g->cap, bg);
	} else {
		n = -n;
		memcpy(g->tmp, rows + r1 - n, (size_t)n * psz);
		memmove(rows + r0 + n, rows + r0, (size_t)(h - n) * psz);
		memcpy(rows + r0, g->tmp, (size_t)n * psz);
		memmove(wrap + r0 + n, wrap + r0, (size_t)(h - n));
		memset(wrap + r0, 0, (size_t)n);
		for (i = r0; i < r0 + n; i++)
			grid_blank_cells(rows[i], 0, g->cap, bg);
	}
	/* A row above a scrolled region no longer goes on into it. */
	if (r0 > 0)
		wrap[r0 - 1] = 0;
	if (s == g->alt)
		grid_mark(g, r0, r1);
}

void
grid_scroll(grid_t *g, int r0, int r1, int c0, int c1, int down,
    int right, const struct grid_color *bg)
{
	int h, w, ad, ar, r;

	if (!grid_clamp_range(&r0, &r1, g->rows) || !grid_clamp_range(&c0, &c1, g->cols))
		return;
	h = r1 - r0;
	w = c1 - c0;
	down = down > h ? h : down < -h ? -h : down;
	right = right > w ? w : right < -w ? -w : right;
	if (down == 0 && right == 0)
		return;
	if (right == 0 && c0 == 0 && c1 == g->cols) {
		grid_scroll_rows(g, g->alt, r0, r1, down, bg);
		return;
	}
	ad = abs(down);
	ar = abs(right);
	if (ad < h && ar < w)
		grid_move(g, r0 + (down < 0 ? ad : 0), c0 + (right < 0 ? ar : 0),
		    r0 + (down > 0 ? ad : 0), c0 + (right > 0 ? ar : 0),
		    h - ad, w - ar);
	if (down > 0)
		grid_erase(g, r1 - ad, r1, c0, c1, bg);
	else if (down < 0)
		grid_erase(g, r0, r0 + ad, c0, c1, bg);
	if (right > 0)
		grid_erase(g, r0, r1, c1 - ar, c1, bg);
	else if (right < 0)
		grid_erase(g, r0, r1, c0, c0 + ar, bg);
	for (r = r0; r < r1; r++)
		grid_row_fix_wide(g->scr[g->alt].rows[r], g->cap);
	grid_mark(g, r0, r1);
}

/* Rows are kept at ocap cells, or grown to cap (> ocap) blank cells. A wide
 * char cut by a narrower width stays whole; the renderer clips it. */
static void
grid_screen_resize(struct screen *s, int orows, int ocap, int rows, int cap)
{
	struct grid_cell **n = xreallocarray(NULL, (size_t)rows, sizeof *n);
	int r, keep = orows < rows ? orows : rows;

	s->wrap = xrealloc(s->wrap, (size_t)rows);
	if (rows > orows)
		memset(s->wrap + orows, 0, (size_t)(rows - orows));
	if (keep > 0)
		s->wrap[keep - 1] = 0;  /* the row below it is gone or new */

	for (r = 0; r < keep; r++) {
		n[r] = s->rows[r];
		if (cap > ocap) {
			n[r] = xreallocarray(n[r], (size_t)cap, sizeof **n);
			grid_blank_cells(n[r], ocap, cap, NULL);
		}
	}
	for (; r < rows; r++)
		n[r] = grid_row_new(cap);
	for (r = keep; r < orows; r++)
		free(s->rows[r]);
	free(s->rows);
	s->rows = n;
}

void
grid_resize(grid_t *g, int rows, int cols)
{
	int cap;

	rows = rows < 1 ? 1 : rows;
	cols = cols < 1 ? 1 : cols;
	if (rows == g->rows && cols == g->cols)
		return;
	cap = cols > g->cap ? cols : g->cap;
	grid_screen_resize(&g->scr[0], g->rows, g->cap, rows, cap);
	grid_screen_resize(&g->scr[1], g->rows, g->cap, rows, cap);
	g->rows = rows;
	g->cols = cols;
	g->cap = cap;
	free(g->dirty);
	g->dirty = xcalloc((size_t)rows, 1);
	g->tmp = xreallocarray(g->tmp, (size_t)rows, sizeof *g->tmp);
	grid_mark_all_dirty(g);
}

int
grid_sb_pop(grid_t *g)
{
	struct grid_cell **rows = g->scr[0].rows;
	struct sbline *l;
	size_t i;

	if (g->sb_count == 0)
		return -1;
	grid_scroll_rows(g, 0, 0, g->rows, -1, NULL);
	i = grid_sb_index(g, g->sb_count - 1);
	l = g->sb[i];
	g->sb[i] = NULL;
	g->sb_count--;
	g->sb_line_bytes -= grid_sb_line_cost(l);
	grid_sb_expand(l, rows[0], g->cap);
	g->scr[0].wrap[0] = l->wrapped;
	free(l);
	if (g->alt == 0)
		grid_mark(g, 0, g->rows);
	return 0;
}

/* ---- reflow ---- */

/* One line being rewrapped: the cells of its rows, joined. */
struct rf_line {
	struct grid_cell *cells;
	int n, size;
};

/* Rows made by a reflow, cap cells each, with their wrapped flags. */
struct rf_rows {
	struct grid_cell **rows;
	uint8_t *wrap;
	int n, size, cap;
};

static void
grid_rf_append(struct rf_line *l, const struct grid_cell *cells, int n)
{
	if (n <= 0)
		return;
	if (l->n + n > l->size) {
		l->size = UTIL_MAX(l->n + n, l->size * 2 + 64);
		l->cells = xreallocarray(l->cells, (size_t)l->size,
		    sizeof *l->cells);
	}
	memcpy(l->cells + l->n, cells, (size_t)n * sizeof *cells);
	l->n += n;
}

static struct grid_cell *
grid_rf_new_row(struct rf_rows *out)
{
	if (out->n == out->size) {
		out->size = out->size * 2 + 16;
		out->rows = xreallocarray(out->rows, (size_t)out->size,
		    sizeof *out->rows);
		out->wrap = xrealloc(out->wrap, (size_t)out->size);
	}
	out->rows[out->n] = grid_row_new(out->cap);
	out->wrap[out->n] = 0;
	return out->rows[out->n++];
}

static void
grid_rf_rows_free(struct rf_rows *out, int from)
{
	int i;

	for (i = from; i < out->n; i++)
		free(out->rows[i]);
	free(out->rows);
	free(out->wrap);
}

/* The cursor past the end of a line's text: pos cells after its start
 * column on the last row; exactly at the edge after the text, it goes to a
 * new row the line wraps into, else it stays on the last row. */
static void
grid_rf_past_end(struct rf_rows *out, int cols, int pos, int exact, int *crow,
    int *ccol)
{
	if (exact && pos == cols) {
		out->wrap[out->n - 1] = 1;
		grid_rf_new_row(out);
		pos = 0;
	}
	*crow = out->n - 1;
	*ccol = UTIL_MIN(pos, cols - 1);
}

/*
 * Split line l into rows of cols cells, appended to out; every row but the
 * last is wrapped. A wide character that does not fit moves to the next row
 * (at one column it overhangs into the hidden cells, to come back whole).
 * off >= 0: *crow, *ccol get the place of cell off (see grid_rf_past_end).
 */
static void
grid_rf_split(struct rf_rows *out, const struct rf_line *l, int cols, int off,
    int *crow, int *ccol)
{
	struct grid_cell *row = grid_rf_new_row(out);
	int col = 0, k, w;

	for (k = 0; k < l->n; k++) {
		const struct grid_cell *c = &l->cells[k];

		if (c->ch[0] == GRID_WIDE_CONT)
			continue;       /* placed with its left half */
		w = c->width == 2 && k + 1 < l->n &&
		    l->cells[k + 1].ch[0] == GRID_WIDE_CONT ? 2 : 1;
		if (col > 0 && col + w > cols) {
			out->wrap[out->n - 1] = 1;
			row = grid_rf_new_row(out);
			col = 0;
		}
		if (off == k || (off == k + 1 && w == 2)) {
			*crow = out->n - 1;
			*ccol = UTIL_MIN(col + (off - k), cols - 1);
		}
		row[col] = *c;
		if (w == 2)
			row[col + 1] = l->cells[k + 1];
		else
			row[col].width = 1;
		col += w;
	}
	if (off >= l->n)
		grid_rf_past_end(out, cols, col + off - l->n, off == l->n, crow,
		    ccol);
}

/* An encoded scrollback line for row (cap cells). */
static struct sbline *
grid_sb_make(grid_t *g, const struct grid_cell *row, int wrapped)
{
	struct sbline hdr, *l;

	grid_sb_encode(g, row, g->cap, &hdr);
	hdr.wrapped = wrapped ? 1 : 0;
	l = xmalloc(sizeof *l + hdr.size);
	*l = hdr;
	memcpy(l->data, g->enc, hdr.size);
	return l;
}

/* Append the cells of scrollback line l to line. */
static void
grid_rf_append_sb(struct rf_line *line, const struct sbline *l)
{
	struct grid_cell *cells;

	if (l->ncells == 0)
		return;
	cells = xreallocarray(NULL, l->ncells, sizeof *cells);
	grid_sb_expand(l, cells, (int)l->ncells);
	grid_rf_append(line, cells, (int)l->ncells);
	free(cells);
}

/* Rewrap one whole scrollback line (l[0..n-1], joined) into lines of cols
 * cells appended to *nv (count *nn); the old lines are freed. */
static void
grid_rf_sb_chain(grid_t *g, struct sbline **l, size_t n, int cols,
    struct sbline ***nv, size_t *nn, size_t *nsize)
{
	struct rf_line line = { 0 };
	struct rf_rows rows = { .cap = g->cap };
	size_t i;
	int r, dummy;

	for (i = 0; i < n; i++) {
		grid_rf_append_sb(&line, l[i]);
		free(l[i]);
	}
	grid_rf_split(&rows, &line, cols, -1, &dummy, &dummy);
	for (r = 0; r < rows.n; r++) {
		if (*nn == *nsize) {
			*nsize = *nsize * 2 + 64;
			*nv = xreallocarray(*nv, *nsize, sizeof **nv);
		}
		(*nv)[(*nn)++] = grid_sb_make(g, rows.rows[r], rows.wrap[r]);
	}
	grid_rf_rows_free(&rows, 0);
	free(line.cells);
}

/*
 * Rewrap the scrollback at cols (g->cap already the new capacity). Lines
 * that need no change are kept as they are. The newest lines, when wrapped
 * into the screen, leave the scrollback: their cells go to carry.
 */
static void
grid_rf_scrollback(grid_t *g, int cols, struct rf_line *carry)
{
	struct sbline **old, **nv = NULL;
	size_t count = g->sb_count, i, j, nn = 0, nsize = 0;

	old = xreallocarray(NULL, count + 1, sizeof *old);
	for (i = 0; i < count; i++)
		old[i] = g->sb[grid_sb_index(g, i)];
	for (i = 0; i < count; i = j + 1) {
		for (j = i; j + 1 < count && old[j]->wrapped; j++)
			;
		if (old[j]->wrapped) {          /* goes on in the screen */
			for (; i <= j; i++) {
				grid_rf_append_sb(carry, old[i]);
				free(old[i]);
			}
			break;
		}
		if (i == j && old[i]->ncells <= (uint32_t)cols) {
			if (nn == nsize) {
				nsize = nsize * 2 + 64;
				nv = xreallocarray(nv, nsize, sizeof *nv);
			}
			nv[nn++] = old[i];
		} else
			grid_rf_sb_chain(g, old + i, j - i + 1, cols, &nv, &nn,
			    &nsize);
	}
	free(old);
	free(g->sb);
	g->sb = nv;
	g->sb_cap = nsize;
	g->sb_head = 0;
	g->sb_count = nn;
	g->sb_line_bytes = 0;
	for (i = 0; i < nn; i++)
		g->sb_line_bytes += grid_sb_line_cost(nv[i]);
	while (g->sb_count > g->sb_max_lines)
		free(grid_sb_take_oldest(g));
	grid_sb_enforce_budget(g);
}

/*
 * Join the primary screen's rows [0, last] (ocap cells each; after carry,
 * the start of a line from scrollback) into lines and split them at cols
 * into out. The cursor (*crow, *ccol; past that cell when after_last) is
 * mapped to its new row in out and column.
 */
static void
grid_rf_screen(grid_t *g, int ocap, int last, int cols, struct rf_line *line,
    struct rf_rows *out, int *crow, int *ccol, int after_last)
{
	struct screen *s = &g->scr[0];
	int r, off = -1, nrow = 0, ncol = 0;

	for (r = 0; r <= last; r++) {
		if (r == *crow)
			off = line->n + *ccol + (after_last ? 1 : 0);
		grid_rf_append(line, s->rows[r],
		    grid_row_used(s->rows[r], ocap));
		if (s->wrap[r] && r < last)
			continue;
		grid_rf_split(out, line, cols, off, &nrow, &ncol);
		line->n = 0;
		off = -1;
	}
	if (line->n > 0)        /* only carry: the screen was empty */
		grid_rf_split(out, line, cols, -1, &nrow, &ncol);
	*crow = nrow;
	*ccol = ncol;
}

/* Take the newest scrollback line back as a row (cap cells). */
static struct grid_cell *
grid_rf_pop_sb(grid_t *g, uint8_t *wrapped)
{
	size_t i = grid_sb_index(g, g->sb_count - 1);
	struct sbline *l = g->sb[i];
	struct grid_cell *row = grid_row_new(g->cap);

	g->sb[i] = NULL;
	g->sb_count--;
	g->sb_line_bytes -= grid_sb_line_cost(l);
	grid_sb_expand(l, row, g->cap);
	*wrapped = l->wrapped;
	free(l);
	return row;
}

/*
 * Put the reflowed rows on the primary screen. Too many: the top ones go
 * to scrollback, but never the cursor's row (rows below it that do not fit
 * are dropped). Room left on a screen that was full: lines come back from
 * scrollback above. *crow is the cursor's row in out, then on screen.
 */
static void
grid_rf_place(grid_t *g, struct rf_rows *out, int was_full, int *crow)
{
	struct screen *s = &g->scr[0];
	int rows = g->rows, push = 0, pull = 0, n, r, i;

	if (out->n > rows)
		push = UTIL_MIN(out->n - rows, *crow);
	for (i = 0; i < push; i++)
		grid_sb_push(g, out->rows[i], out->wrap[i]);
	n = UTIL_MIN(out->n - push, rows);
	if (n < rows && was_full)
		pull = (int)UTIL_MIN((size_t)(rows - n), g->sb_count);
	for (r = 0; r < rows; r++)
		free(s->rows[r]);
	for (r = pull - 1; r >= 0; r--)
		s->rows[r] = grid_rf_pop_sb(g, &s->wrap[r]);
	for (r = 0; r < n; r++) {
		s->rows[pull + r] = out->rows[push + r];
		s->wrap[pull + r] = out->wrap[push + r];
	}
	for (r = pull + n; r < rows; r++) {
		s->rows[r] = grid_row_new(g->cap);
		s->wrap[r] = 0;
	}
	s->wrap[rows - 1] = 0;
	for (i = 0; i < push; i++)
		free(out->rows[i]);
	for (i = push + n; i < out->n; i++)
		free(out->rows[i]);
	*crow = *crow - push + pull;
}

void
grid_reflow(grid_t *g, int cols, int *row, int *col, int after_last)
{
	struct rf_line line = { 0 };
	struct rf_rows out = { 0 };
	int last = -1, r, crow = *row, ccol = *col, ocap = g->cap;

	cols = cols < 1 ? 1 : cols;
	if (g->alt || cols == g->cols) {
		grid_resize(g, g->rows, cols);
		return;
	}
	for (r = 0; r < g->rows; r++)
		if (!grid_row_blank(g, r))
			last = r;
	crow = UTIL_MAX(0, UTIL_MIN(crow, g->rows - 1));
	last = UTIL_MAX(last, crow);
	grid_screen_resize(&g->scr[1], g->rows, g->cap, g->rows,
	    UTIL_MAX(UTIL_MAX(g->cap, cols), 2));
	g->cap = UTIL_MAX(UTIL_MAX(g->cap, cols), 2);
	out.cap = g->cap;
	grid_rf_scrollback(g, cols, &line);
	grid_rf_screen(g, ocap, last, cols, &line, &out, &crow, &ccol,
	    after_last);
	grid_rf_place(g, &out, last == g->rows - 1, &crow);
	g->cols = cols;
	*row = UTIL_MAX(0, UTIL_MIN(crow, g->rows - 1));
	*col = UTIL_MAX(0, UTIL_MIN(ccol, cols - 1));
	free(line.cells);
	free(out.rows);
	free(out.wrap);
	grid_mark_all_dirty(g);
}
