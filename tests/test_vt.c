/* Unit tests for vt: escape sequences in, grid content and replies out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vterm_keycodes.h>

#include "layout.h"
#include "util.h"
#include "vt.h"

struct fixture {
	vt_t *vt;
	struct buf out;         /* everything the vt sent to the "child" */
};

static void
on_output(const char *buf, size_t len, void *user)
{
	struct fixture *f = user;

	buf_append(&f->out, buf, len);
}

static struct fixture *
fx_new(int rows, int cols, size_t sb_lines)
{
	struct fixture *f = xcalloc(1, sizeof *f);

	f->vt = vt_new(rows, cols, sb_lines, 64u << 20, on_output, f);
	return f;
}

static void
fx_free(struct fixture *f)
{
	vt_free(f->vt);
	buf_free(&f->out);
	free(f);
}

static void
put(struct fixture *f, const char *s)
{
	vt_write(f->vt, s, strlen(s));
}

/* Cells as UTF-8 text: blanks are spaces, wide right halves skipped,
 * combining chars kept, trailing spaces trimmed. */
static void
cells_text(const struct grid_cell *row, int cols, char *out, size_t size)
{
	size_t n = 0;
	int c, k;

	for (c = 0; c < cols; c++) {
		if (row[c].ch[0] == GRID_WIDE_CONT)
			continue;
		for (k = 0; k < GRID_CHARS && (k == 0 || row[c].ch[k]); k++) {
			uint32_t v = row[c].ch[k] ? row[c].ch[k] : ' ';

			if (n + 5 >= size)
				break;
			if (v < 0x80)
				out[n++] = (char)v;
			else if (v < 0x800) {
				out[n++] = (char)(0xC0 | (v >> 6));
				out[n++] = (char)(0x80 | (v & 0x3F));
			} else {
				out[n++] = (char)(0xE0 | ((v >> 12) & 0x0F));
				out[n++] = (char)(0x80 | ((v >> 6) & 0x3F));
				out[n++] = (char)(0x80 | (v & 0x3F));
			}
		}
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static const char *
row_text(struct fixture *f, int r)
{
	static char buf[1024];
	grid_t *g = vt_grid(f->vt);

	cells_text(grid_row(g, r), grid_cols(g), buf, sizeof buf);
	return buf;
}

static const char *
sb_text(struct fixture *f, size_t n)
{
	static char buf[1024];
	struct grid_cell cells[256];
	grid_t *g = vt_grid(f->vt);

	assert_int_equal(grid_sb_line(g, n, cells, grid_cols(g)), 0);
	cells_text(cells, grid_cols(g), buf, sizeof buf);
	return buf;
}

static const struct grid_cell *
cell(struct fixture *f, int r, int c)
{
	return &grid_row(vt_grid(f->vt), r)[c];
}

static void
assert_cursor(struct fixture *f, int row, int col)
{
	int r, c, vis;

	vt_cursor(f->vt, &r, &c, &vis);
	assert_int_equal(r, row);
	assert_int_equal(c, col);
}

static void
test_plain_text_crlf(void **state)
{
	struct fixture *f = fx_new(24, 80, 1000);

	(void)state;
	put(f, "hello\r\nworld");
	assert_string_equal(row_text(f, 0), "hello");
	assert_string_equal(row_text(f, 1), "world");
	assert_cursor(f, 1, 5);
	put(f, "\rW");
	assert_string_equal(row_text(f, 1), "World");
	put(f, "\n!");   /* LF alone keeps the column */
	assert_string_equal(row_text(f, 2), " !");
	fx_free(f);
}

static void
test_wrap_last_column(void **state)
{
	struct fixture *f = fx_new(5, 10, 100);

	(void)state;
	put(f, "0123456789");
	assert_string_equal(row_text(f, 0), "0123456789");
	assert_string_equal(row_text(f, 1), "");
	assert_cursor(f, 0, 9);  /* pending wrap */
	put(f, "ab");
	assert_string_equal(row_text(f, 1), "ab");
	assert_cursor(f, 1, 2);
	fx_free(f);
}

static void
test_scroll_30_into_24(void **state)
{
	struct fixture *f = fx_new(24, 80, 1000);
	grid_t *g = vt_grid(f->vt);
	char want[32];
	int i;

	(void)state;
	for (i = 1; i <= 30; i++) {
		snprintf(want, sizeof want, "line %d\r\n", i);
		put(f, want);
	}
	/* 30 lines + the empty line the cursor sits on: 7 scrolled off. */
	assert_int_equal(grid_sb_count(g), 7);
	assert_string_equal(sb_text(f, 0), "line 7");
	assert_string_equal(sb_text(f, 6), "line 1");
	assert_string_equal(row_text(f, 0), "line 8");
	assert_string_equal(row_text(f, 22), "line 30");
	assert_string_equal(row_text(f, 23), "");
	fx_free(f);
}

static void
test_seq_volume(void **state)
{
	struct fixture *f = fx_new(24, 80, 5000);
	grid_t *g = vt_grid(f->vt);
	struct buf in = { 0 };
	char want[32];
	int i;

	(void)state;
	/* "\r\n" as a pty with onlcr delivers `seq 1 200000`. */
	for (i = 1; i <= 200000; i++)
		buf_appendf(&in, "%d\r\n", i);
	/* Feed in odd-sized chunks, as a pty would. */
	for (size_t off = 0; off < in.len; off += 4093)
		vt_write(f->vt, in.data + off, UTIL_MIN(4093, in.len - off));
	buf_free(&in);
	assert_int_equal(grid_sb_count(g), 5000);
	/* 200000 lines plus the cursor's empty line, 24 of them visible. */
	assert_int_equal(grid_sb_pushed(g), 200000 + 1 - 24);
	assert_string_equal(row_text(f, 23), "");
	assert_string_equal(row_text(f, 22), "200000");
	assert_string_equal(row_text(f, 0), "199978");
	for (i = 0; i < 5000; i += 499) {
		snprintf(want, sizeof want, "%d", 200000 - 23 - i);
		assert_string_equal(sb_text(f, (size_t)i), want);
	}
	fx_free(f);
}

/* One big write (libvterm 0.1.4 would put it all on the stack at once). */
static void
test_big_single_write(void **state)
{
	struct fixture *f = fx_new(24, 80, 100);
	size_t len = 4u << 20;
	char *big = xmalloc(len);

	(void)state;
	memset(big, 'x', len);
	memcpy(big + len - 5, "\r\nok", 5);
	vt_write(f->vt, big, len);
	free(big);
	assert_string_equal(row_text(f, 23), "ok");
	assert_string_equal(row_text(f, 21),
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(grid_sb_count(vt_grid(f->vt)), 100);
	fx_free(f);
}

static void
test_sgr_colours(void **state)
{
	struct fixture *f = fx_new(5, 20, 100);
	const struct grid_cell *c;

	(void)state;
	put(f, "\033[31mA\033[38;5;200mB\033[38;2;1;2;3mC\033[39mD"
	    "\033[44mE\033[48;5;17mF\033[0mG\033[1;7mH\033[22;27;4;3;9mI\033[m");
	c = cell(f, 0, 0);
	assert_int_equal(c->ch[0], 'A');
	assert_int_equal(c->fg.type, GRID_COLOR_INDEXED);
	assert_int_equal(c->fg.idx, 1);
	assert_int_equal(c->bg.type, GRID_COLOR_DEFAULT);
	c = cell(f, 0, 1);
	assert_int_equal(c->fg.type, GRID_COLOR_INDEXED);
	assert_int_equal(c->fg.idx, 200);
	c = cell(f, 0, 2);
	assert_int_equal(c->fg.type, GRID_COLOR_RGB);
	assert_int_equal(c->fg.r, 1);
	assert_int_equal(c->fg.g, 2);
	assert_int_equal(c->fg.b, 3);
	c = cell(f, 0, 3);
	assert_int_equal(c->fg.type, GRID_COLOR_DEFAULT);
	c = cell(f, 0, 4);
	assert_int_equal(c->bg.type, GRID_COLOR_INDEXED);
	assert_int_equal(c->bg.idx, 4);
	c = cell(f, 0, 5);
	assert_int_equal(c->bg.idx, 17);
	c = cell(f, 0, 6);
	assert_int_equal(c->fg.type, GRID_COLOR_DEFAULT);
	assert_int_equal(c->bg.type, GRID_COLOR_DEFAULT);
	assert_int_equal(c->attrs, 0);
	c = cell(f, 0, 7);
	assert_int_equal(c->attrs, GRID_ATTR_BOLD | GRID_ATTR_REVERSE);
	c = cell(f, 0, 8);
	assert_int_equal(c->attrs,
	    GRID_ATTR_UNDERLINE | GRID_ATTR_ITALIC | GRID_ATTR_STRIKE);
	fx_free(f);
}

static void
test_wide_and_combining(void **state)
{
	struct fixture *f = fx_new(3, 6, 100);
	const struct grid_cell *c;

	(void)state;
	put(f, "abc\xe4\xb8\xad" "e\xcc\x81");   /* abc 中 é */
	c = cell(f, 0, 3);
	assert_int_equal(c->ch[0], 0x4E2D);
	assert_int_equal(c->width, 2);
	assert_int_equal(cell(f, 0, 4)->ch[0], GRID_WIDE_CONT);
	c = cell(f, 0, 5);
	assert_int_equal(c->ch[0], 'e');
	assert_int_equal(c->ch[1], 0x301);
	/* Wide char with one column left: it wraps, nothing overflows. */
	put(f, "\r\n12345\xe4\xb8\xad");
	assert_string_equal(row_text(f, 1), "12345");
	assert_int_equal(cell(f, 1, 5)->ch[0], 0);
	assert_int_equal(cell(f, 2, 0)->ch[0], 0x4E2D);
	assert_int_equal(cell(f, 2, 0)->width, 2);
	/* Combining char split across writes still joins. */
	put(f, "x");
	put(f, "\xcc");
	put(f, "\x88");
	assert_int_equal(cell(f, 2, 2)->ch[0], 'x');
	assert_int_equal(cell(f, 2, 2)->ch[1], 0x308);
	fx_free(f);
}

static void
test_erase_background(void **state)
{
	struct fixture *f = fx_new(4, 10, 100);
	const struct grid_cell *c;
	int col;

	(void)state;
	put(f, "xxxxxxxxxx\r\n\033[42m\033[2K\033[0mok");
	for (col = 0; col < 10; col++) {
		c = cell(f, 1, col);
		if (col >= 2) {
			assert_int_equal(c->ch[0], 0);
			assert_int_equal(c->bg.type, GRID_COLOR_INDEXED);
			assert_int_equal(c->bg.idx, 2);
		}
	}
	assert_string_equal(row_text(f, 1), "ok");
	put(f, "\033[H\033[44m\033[J");
	c = cell(f, 3, 9);
	assert_int_equal(c->bg.idx, 4);
	assert_string_equal(row_text(f, 0), "");
	fx_free(f);
}

static void
test_insert_delete_lines_region(void **state)
{
	struct fixture *f = fx_new(6, 10, 100);
	grid_t *g = vt_grid(f->vt);

	(void)state;
	put(f, "a\r\nb\r\nc\r\nd\r\ne\r\nf");
	put(f, "\033[2;5r");        /* region rows 2-5 (1-based) */
	put(f, "\033[3;1H\033[L");  /* insert a line at row 3 */
	assert_string_equal(row_text(f, 0), "a");
	assert_string_equal(row_text(f, 1), "b");
	assert_string_equal(row_text(f, 2), "");
	assert_string_equal(row_text(f, 3), "c");
	assert_string_equal(row_text(f, 4), "d");
	assert_string_equal(row_text(f, 5), "f");   /* outside the region */
	put(f, "\033[2;1H\033[2M");  /* delete two lines at row 2 */
	assert_string_equal(row_text(f, 1), "c");
	assert_string_equal(row_text(f, 2), "d");
	assert_string_equal(row_text(f, 3), "");
	assert_string_equal(row_text(f, 4), "");
	assert_string_equal(row_text(f, 5), "f");
	/* Line feeds at the region bottom do not feed scrollback. */
	put(f, "\033[5;1H\n\n\n");
	assert_int_equal(grid_sb_count(g), 0);
	/* Insert/delete characters. */
	put(f, "\033[r\033[1;1Hxyz\033[1;1H\033[2@");
	assert_string_equal(row_text(f, 0), "  xyz");
	put(f, "\033[3P");
	assert_string_equal(row_text(f, 0), "yz");
	fx_free(f);
}

static void
test_altscreen(void **state)
{
	struct fixture *f = fx_new(4, 10, 100);
	grid_t *g = vt_grid(f->vt);

	(void)state;
	put(f, "one\r\ntwo");
	put(f, "\033[?1049h");
	assert_true(vt_altscreen(f->vt));
	assert_string_equal(row_text(f, 0), "");
	put(f, "\033[Halt1\r\n\n\n\n\n\n\nalt2");
	assert_int_equal(grid_sb_count(g), 0);
	put(f, "\033[?1049l");
	assert_false(vt_altscreen(f->vt));
	assert_string_equal(row_text(f, 0), "one");
	assert_string_equal(row_text(f, 1), "two");
	assert_cursor(f, 1, 3);
	assert_int_equal(grid_sb_count(g), 0);
	fx_free(f);
}

static void
test_replies(void **state)
{
	struct fixture *f = fx_new(24, 80, 100);

	(void)state;
	put(f, "\033[c");
	assert_true(f->out.len > 4);
	assert_memory_equal(f->out.data, "\033[?", 3);
	assert_int_equal(f->out.data[f->out.len - 1], 'c');
	f->out.len = 0;
	put(f, "\033[5;7H\033[6n");
	assert_int_equal(f->out.len, strlen("\033[5;7R"));
	assert_memory_equal(f->out.data, "\033[5;7R", f->out.len);
	/* More than libvterm's 64-byte internal buffer: nothing is lost. */
	f->out.len = 0;
	for (int i = 0; i < 40; i++)
		put(f, "\033[6n");
	assert_int_equal(f->out.len, 40 * strlen("\033[5;7R"));
	fx_free(f);
}

static void
test_title_bell_modes(void **state)
{
	struct fixture *f = fx_new(4, 10, 100);
	int r, c, vis;

	(void)state;
	assert_string_equal(vt_title(f->vt), "");
	put(f, "\033]0;first\007");
	assert_string_equal(vt_title(f->vt), "first");
	put(f, "\033]2;second\033\\");
	assert_string_equal(vt_title(f->vt), "second");
	assert_int_equal(vt_take_bell(f->vt), 0);
	put(f, "\007");
	assert_int_equal(vt_take_bell(f->vt), 1);
	assert_int_equal(vt_take_bell(f->vt), 0);
	put(f, "\033[?25l");
	vt_cursor(f->vt, &r, &c, &vis);
	assert_int_equal(vis, 0);
	put(f, "\033[?25h\033[?5h");
	vt_cursor(f->vt, &r, &c, &vis);
	assert_int_equal(vis, 1);
	assert_int_equal(vt_reverse(f->vt), 1);
	assert_int_equal(vt_mouse_mode(f->vt), VT_MOUSE_NONE);
	put(f, "\033[?1002h");
	assert_int_equal(vt_mouse_mode(f->vt), VT_MOUSE_DRAG);
	put(f, "\033[?1002l");
	assert_int_equal(vt_mouse_mode(f->vt), VT_MOUSE_NONE);
	/* Bracketed paste: probing sends nothing to the child. */
	assert_int_equal(vt_bracketed_paste(f->vt), 0);
	put(f, "\033[?2004h");
	assert_int_equal(vt_bracketed_paste(f->vt), 1);
	assert_int_equal(f->out.len, 0);
	vt_paste(f->vt, 1);
	vt_paste(f->vt, 0);
	assert_int_equal(f->out.len, 12);
	assert_memory_equal(f->out.data, "\033[200~\033[201~", 12);
	put(f, "\033[?2004l");
	assert_int_equal(vt_bracketed_paste(f->vt), 0);
	fx_free(f);
}

static void
test_keys_and_mouse(void **state)
{
	struct fixture *f = fx_new(24, 80, 100);

	(void)state;
	vt_unichar(f->vt, 'a', VT_MOD_CTRL);
	assert_int_equal(f->out.len, 1);
	assert_int_equal(f->out.data[0], 0x01);
	f->out.len = 0;
	vt_key(f->vt, VTERM_KEY_LEFT, VT_MOD_CTRL);
	assert_int_equal(f->out.len, 6);
	assert_memory_equal(f->out.data, "\033[1;5D", 6);
	f->out.len = 0;
	vt_key(f->vt, VTERM_KEY_UP, 0);
	assert_memory_equal(f->out.data, "\033[A", 3);
	f->out.len = 0;
	put(f, "\033[?1h");        /* application cursor keys */
	vt_key(f->vt, VTERM_KEY_UP, 0);
	assert_memory_equal(f->out.data, "\033OA", 3);
	f->out.len = 0;
	vt_mouse(f->vt, 2, 3, 1, 1, 0);
	assert_int_equal(f->out.len, 0);   /* mouse not requested */
	put(f, "\033[?1000h\033[?1006h");
	vt_mouse(f->vt, 2, 3, 1, 1, 0);
	assert_int_equal(f->out.len, strlen("\033[<0;4;3M"));
	assert_memory_equal(f->out.data, "\033[<0;4;3M", f->out.len);
	f->out.len = 0;
	vt_mouse(f->vt, 2, 3, 1, 0, 0);
	assert_int_equal(f->out.len, strlen("\033[<0;4;3m"));
	assert_memory_equal(f->out.data, "\033[<0;4;3m", f->out.len);
	f->out.len = 0;
	vt_mouse(f->vt, 5, 6, 4, 1, 0);     /* wheel up */
	assert_memory_equal(f->out.data, "\033[<64;7;6M", f->out.len);
	fx_free(f);
}

static void
test_resize(void **state)
{
	struct fixture *f = fx_new(10, 20, 100);
	grid_t *g = vt_grid(f->vt);
	char line[32];
	int i;

	(void)state;
	for (i = 1; i <= 8; i++) {
		snprintf(line, sizeof line, "%sL%d", i > 1 ? "\r\n" : "", i);
		put(f, line);
	}
	assert_cursor(f, 7, 2);
	/* Shrink to 5 rows: the cursor row stays visible, 3 lines pushed. */
	vt_resize(f->vt, 5, 20);
	assert_int_equal(grid_rows(g), 5);
	assert_int_equal(grid_sb_count(g), 3);
	assert_string_equal(sb_text(f, 0), "L3");
	assert_string_equal(row_text(f, 0), "L4");
	assert_string_equal(row_text(f, 4), "L8");
	assert_cursor(f, 4, 2);
	/* Narrower: lines rewrap, one character a row; the cursor stays after
	 * the 8, on a row of its own that "L8" wraps into. */
	vt_resize(f->vt, 5, 1);
	assert_string_equal(row_text(f, 0), "L");
	assert_string_equal(row_text(f, 1), "7");
	assert_string_equal(row_text(f, 2), "L");
	assert_string_equal(row_text(f, 3), "8");
	assert_string_equal(row_text(f, 4), "");
	assert_cursor(f, 4, 0);
	assert_true(grid_row_wrapped(g, 2) && grid_row_wrapped(g, 3));
	assert_false(grid_row_wrapped(g, 1));
	/* Grow: lines are joined again and come back from scrollback. */
	vt_resize(f->vt, 12, 30);
	assert_int_equal(grid_sb_count(g), 0);
	assert_string_equal(row_text(f, 0), "L1");
	assert_string_equal(row_text(f, 7), "L8");  /* narrowing lost nothing */
	assert_cursor(f, 7, 2);                     /* nor moved the cursor */
	put(f, "\r\nnext");
	assert_string_equal(row_text(f, 8), "next");
	/* Shrinking with blank rows below the cursor pushes nothing. */
	vt_resize(f->vt, 10, 30);
	assert_int_equal(grid_sb_count(g), 0);
	assert_string_equal(row_text(f, 0), "L1");
	fx_free(f);
}

/* libvterm 0.1.4 leaves the top margin past the bottom after a shrink and
 * then crashes on the next scroll; vt_resize repairs it. */
static void
test_resize_inverted_margins(void **state)
{
	struct fixture *f = fx_new(24, 80, 100);

	(void)state;
	put(f, "\033[11r\033[20;1Hx");
	vt_resize(f->vt, 6, 40);
	assert_cursor(f, 5, 1);
	put(f, "\r\n\n\nend");
	assert_string_equal(row_text(f, 5), "end");
	/* Left/right margins (DECLRMM) likewise. */
	put(f, "\033[?69h\033[30;40s");
	vt_resize(f->vt, 6, 20);
	put(f, "\033[6;1H\r\n\033[5@x\033[P");
	assert_int_equal(f->out.len, 0);   /* probes never reach the child */
	fx_free(f);
}

/*
 * Everything the pane holds, oldest first: scrollback then screen rows, as
 * one string of "\n"-terminated lines with trailing blank lines dropped.
 */
static char *
all_text(struct fixture *f)
{
	grid_t *g = vt_grid(f->vt);
	struct buf b = { 0 };
	size_t n = grid_sb_count(g), keep;
	char *s;
	int r;

	while (n-- > 0) {
		const char *t = sb_text(f, n);

		buf_append(&b, t, strlen(t));
		buf_append(&b, "\n", 1);
	}
	for (r = 0; r < grid_rows(g); r++) {
		const char *t = row_text(f, r);

		buf_append(&b, t, strlen(t));
		buf_append(&b, "\n", 1);
	}
	keep = b.len;
	while (keep >= 2 && b.data[keep - 1] == '\n' && b.data[keep - 2] == '\n')
		keep--;
	s = xasprintf("%.*s", (int)keep, b.data);
	buf_free(&b);
	return s;
}

/* The outer terminal sizes of tests/ui/resize.sh, through the layout
 * (two panes, sidebar on) to pane 0's body size. */
static const int outer_sizes[][2] = {
	{ 30, 100 }, { 6, 20 }, { 3, 7 }, { 40, 160 }, { 10, 40 }, { 50, 200 },
};

static void
resize_like_layout(struct fixture *f, int rows, int cols)
{
	struct layout l;

	layout_compute(rows, cols, 2, -1, 34, &l);
	assert_true(l.pane[0].visible);
	vt_resize(f->vt, l.pane[0].body.h, l.pane[0].body.w);
}

static void
assert_cursor_in_range(struct fixture *f)
{
	int r, c, vis;

	vt_cursor(f->vt, &r, &c, &vis);
	assert_in_range(r, 0, grid_rows(vt_grid(f->vt)) - 1);
	assert_in_range(c, 0, grid_cols(vt_grid(f->vt)) - 1);
}

/* Run the resize sequence, then check the whole history is expect. */
static void
resize_through_small_sizes(struct fixture *f, const char *expect)
{
	char *text;
	size_t i;

	for (i = 0; i < sizeof outer_sizes / sizeof outer_sizes[0]; i++) {
		resize_like_layout(f, outer_sizes[i][0], outer_sizes[i][1]);
		assert_cursor_in_range(f);
	}
	text = all_text(f);
	assert_string_equal(text, expect);
	free(text);
}

/* Output finished at full size, then the terminal goes through sizes down
 * to a 1x3 pane and back: not a character may be lost. */
static void
test_resize_small_loses_nothing(void **state)
{
	struct fixture *f;
	struct buf want = { 0 };
	char line[64], *text;
	int i;

	(void)state;
	resize_like_layout(f = fx_new(10, 10, 5000), 50, 200);
	for (i = 3900; i < 4000; i++) {
		snprintf(line, sizeof line, "line-%d\r\n", i);
		put(f, line);
		buf_append(&want, line + 0, strlen(line) - 2);
		buf_append(&want, "\n", 1);
	}
	put(f, "FLOOD-4000-DONE\r\n");
	buf_append(&want, "FLOOD-4000-DONE\n", 16);
	text = xasprintf("%.*s", (int)want.len, want.data);
	resize_through_small_sizes(f, text);
	assert_cursor(f, grid_rows(vt_grid(f->vt)) - 1, 0);
	assert_string_equal(row_text(f, grid_rows(vt_grid(f->vt)) - 2),
	    "FLOOD-4000-DONE");
	/* The cursor row still works. */
	put(f, "typed");
	assert_string_equal(row_text(f, grid_rows(vt_grid(f->vt)) - 1), "typed");
	free(text);
	buf_free(&want);
	fx_free(f);
}

/* A shell prompt at the top after a clear: the cursor is not on the last
 * row, and output the child drew below the cursor must not be lost. */
static void
test_resize_small_prompt_after_clear(void **state)
{
	struct fixture *f;

	(void)state;
	resize_like_layout(f = fx_new(10, 10, 5000), 50, 200);
	put(f, "old output\r\n\033[H\033[2Juser@host:~/src/tokmux$ ");
	resize_through_small_sizes(f, "user@host:~/src/tokmux$\n");
	assert_cursor(f, 0, 24);
	assert_int_equal(grid_sb_count(vt_grid(f->vt)), 0);
	put(f, "ls");
	assert_string_equal(row_text(f, 0), "user@host:~/src/tokmux$ ls");

	/*
	 * A full-screen program on the primary screen, cursor at the top and a
	 * status line at the bottom: the cursor must stay on screen (it went to
	 * row -45 and libvterm crashed), so the status line that cannot fit
	 * below it is the one thing dropped; the child redraws on SIGWINCH.
	 */
	put(f, "\033[2J\033[50;1Hstatus: all fine\033[1;1Htop line");
	vt_resize(f->vt, 14, 65);
	assert_cursor(f, 0, 8);
	put(f, "!\033[14;1Hstatus: redrawn\033[1;10H");
	resize_through_small_sizes(f, "top line!\n");
	assert_cursor(f, 0, 9);
	put(f, "\r\nsecond");
	assert_string_equal(row_text(f, 1), "second");
	fx_free(f);
}

/* The same sizes while a full-screen program shows the alternate screen:
 * the primary screen comes back whole when it leaves. */
static void
test_resize_small_altscreen(void **state)
{
	struct fixture *f;
	struct buf want = { 0 };
	char line[64], *text;
	int i;

	(void)state;
	resize_like_layout(f = fx_new(10, 10, 5000), 50, 200);
	for (i = 0; i < 60; i++) {
		snprintf(line, sizeof line, "primary line %d of the shell\r\n", i);
		put(f, line);
		buf_append(&want, line, strlen(line) - 2);
		buf_append(&want, "\n", 1);
	}
	put(f, "$ vim");
	buf_append(&want, "$ vim\n", 6);
	put(f, "\033[?1049h\033[H\033[2Jeditor text\033[50;1Hstatus");
	for (i = 0; i < 6; i++)
		resize_like_layout(f, outer_sizes[i][0], outer_sizes[i][1]);
	put(f, "\033[?1049l");
	assert_cursor_in_range(f);
	text = xasprintf("%.*s", (int)want.len, want.data);
	resize_through_small_sizes(f, text);
	put(f, "\r\n$ ");
	free(text);
	buf_free(&want);
	fx_free(f);
}

static void
test_fuzz(void **state)
{
	struct fixture *f = fx_new(24, 80, 2000);
	static const char *frags[] = {
		"\033[", "\033]", "\033P", ";", "?", "1049h", "1049l", "m", "38;5;",
		"38;2;", "r", "L", "M", "@", "P", "J", "K", "H", "\r\n", "\xe4\xb8\xad",
		"\xcc\x81", "\033[?2004h", "\007", "\033\\", "\x9b", "S", "T", "X",
	};
	char chunk[4096];
	unsigned seed = 12345;
	size_t total = 0;
	int i, r, c, vis, chunks = 0;

	(void)state;
	while (total < (2u << 20)) {
		size_t n = 0;

		while (n < sizeof chunk - 16) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 3 == 0) {
				const char *s = frags[(seed >> 8) % UTIL_ARRAY_LEN(frags)];
				size_t l = strlen(s);

				memcpy(chunk + n, s, l);
				n += l;
			} else if ((seed >> 16) % 3 == 1)
				chunk[n++] = (char)('0' + (seed >> 20) % 10);
			else
				chunk[n++] = (char)(seed >> 22);
		}
		vt_write(f->vt, chunk, n);
		total += n;
		if (++chunks % 16 == 0) {
			seed = seed * 1103515245u + 12345u;
			vt_resize(f->vt, 1 + (int)((seed >> 16) % 60),
			    1 + (int)((seed >> 8) % 150));
		}
		f->out.len = 0;
	}
	vt_cursor(f->vt, &r, &c, &vis);
	assert_true(r >= 0 && r < grid_rows(vt_grid(f->vt)));
	assert_true(c >= 0 && c < grid_cols(vt_grid(f->vt)));
	/* The grid is consistent: every wide left half has its right half. */
	for (r = 0; r < grid_rows(vt_grid(f->vt)); r++)
		for (i = 0; i < grid_cols(vt_grid(f->vt)); i++) {
			const struct grid_cell *x = cell(f, r, i);

			if (x->width == 2)
				assert_int_equal(cell(f, r, i + 1)->ch[0],
				    GRID_WIDE_CONT);
		}
	fx_free(f);
}

/* The ASCII text path (vt_text_span) changes nothing: random output of
 * every kind that touches it (charsets, single shifts, insert mode, margins,
 * origin mode, autowrap off, double-width lines, combining marks, wide
 * characters, REP) gives the same cells, cursor and scrollback as
 * libvterm's own glyph path, in random write sizes. (Not the rows' wrap
 * marks: where a write ends next to a wide character at the edge they can
 * already differ with the same bytes cut elsewhere by the pty's reads.) */
static void
test_text_path_same(void **state)
{
	static const char *seq[] = { "\r\n", "\n", "\r", "\b", "\t", "\033[4h",
	    "\033[4l", "\033[?69h\033[3;30s", "\033[?69l", "\033(0", "\033(B",
	    "\033)0", "\016", "\017", "\033N", "\033O", "\033#6", "\033#3",
	    "\033#5", "e\xcc\x81", "\xcc\x81", "\xe4\xb8\xad\xe6\x96\x87",
	    "\033[?7l", "\033[?7h", "\033[31;1m", "\033[0m", "\033[2;8r",
	    "\033[r", "\033[K", "\033[2J", "\033[?6h", "\033[?6l", "\0337",
	    "\0338", "\033[3b", "\033[@", "\033[2P", "\033[4X", "\033M",
	    "\033[?1049h", "\033[?1049l", "\033[38;5;200m" };
	static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789 #";
	unsigned rng = 7;
	(void)state;
	for (int round = 0; round < 500; round++) {
		vt_t *a = vt_new(10, 40, 100, 1u << 20, NULL, NULL);
		vt_t *b = vt_new(10, 40, 100, 1u << 20, NULL, NULL);
		struct buf in = { 0 };
		char tmp[32];
		vt_set_text_path(b, 0);
		for (int i = 0; i < 60; i++) {
			rng = rng * 1103515245u + 12345u;
			unsigned r = rng >> 8;
			if (r % 3 == 0) {
				snprintf(tmp, sizeof tmp, "\033[%u;%uH", r / 3 % 12, r / 40 % 44);
				buf_append(&in, tmp, strlen(tmp));
			} else if (r % 3 == 1) {
				buf_append(&in, seq[r / 3 % UTIL_ARRAY_LEN(seq)],
				    strlen(seq[r / 3 % UTIL_ARRAY_LEN(seq)]));
			} else {
				for (unsigned k = r / 3 % 90; k > 0; k--) {
					rng = rng * 1103515245u + 12345u;
					buf_append(&in, &text[(rng >> 8) % (sizeof text - 1)], 1);
				}
			}
		}
		for (size_t off = 0, n; off < in.len; off += n) {
			rng = rng * 1103515245u + 12345u;
			n = UTIL_MIN(in.len - off, 1 + (rng >> 8) % 300);
			vt_write(a, in.data + off, n);
			vt_write(b, in.data + off, n);
		}
		grid_t *ga = vt_grid(a), *gb = vt_grid(b);
		int ra, ca, rb, cb;
		vt_cursor(a, &ra, &ca, NULL);
		vt_cursor(b, &rb, &cb, NULL);
		if (ra != rb || ca != cb)
			fail_msg("round %d: cursor %d,%d against %d,%d", round, ra, ca, rb, cb);
		assert_int_equal(grid_sb_count(ga), grid_sb_count(gb));
		for (int row = 0; row < grid_rows(ga); row++) {
			if (memcmp(grid_row(ga, row), grid_row(gb, row),
			    (size_t)grid_cols(ga) * sizeof(struct grid_cell)) != 0)
				fail_msg("round %d: row %d differs", round, row);
		}
		buf_free(&in);
		vt_free(a);
		vt_free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_crlf),
		cmocka_unit_test(test_wrap_last_column),
		cmocka_unit_test(test_scroll_30_into_24),
		cmocka_unit_test(test_seq_volume),
		cmocka_unit_test(test_big_single_write),
		cmocka_unit_test(test_sgr_colours),
		cmocka_unit_test(test_wide_and_combining),
		cmocka_unit_test(test_erase_background),
		cmocka_unit_test(test_insert_delete_lines_region),
		cmocka_unit_test(test_altscreen),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_title_bell_modes),
		cmocka_unit_test(test_keys_and_mouse),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_resize_inverted_margins),
		cmocka_unit_test(test_resize_small_loses_nothing),
		cmocka_unit_test(test_resize_small_prompt_after_clear),
		cmocka_unit_test(test_resize_small_altscreen),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_text_path_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
