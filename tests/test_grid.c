/* Unit tests for grid: cells, scrolling, scrollback encoding and bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grid.h"

static const struct grid_cell plain = { .width = 1 };

/* Write ASCII text at (r, c) with pen. */
static void
put_str(grid_t *g, int r, int c, const char *s, const struct grid_cell *pen)
{
	for (; *s != '\0'; s++, c++) {
		uint32_t ch = (unsigned char)*s;

		grid_put(g, r, c, &ch, 1, 1, pen);
	}
}

/* Cells as text: blanks are spaces, wide right halves skipped, trailing
 * spaces trimmed. ASCII only (others become '?'). */
static void
cells_text(const struct grid_cell *row, int cols, char *out)
{
	int c, n = 0;

	for (c = 0; c < cols; c++) {
		if (row[c].ch[0] == GRID_WIDE_CONT)
			continue;
		out[n++] = row[c].ch[0] == 0 ? ' ' :
		    row[c].ch[0] < 0x80 ? (char)row[c].ch[0] : '?';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
row_text(const grid_t *g, int r, char *out)
{
	cells_text(grid_row(g, r), grid_cols(g), out);
}

static void
sb_text(const grid_t *g, size_t n, char *out)
{
	struct grid_cell cells[512];

	assert_int_equal(grid_sb_line(g, n, cells, grid_cols(g)), 0);
	cells_text(cells, grid_cols(g), out);
}

/* Scroll the whole primary screen up one line (a line feed at the bottom). */
static void
linefeed(grid_t *g)
{
	grid_scroll(g, 0, grid_rows(g), 0, grid_cols(g), 1, 0, NULL);
}

static void
test_put_and_read(void **state)
{
	grid_t *g = grid_new(5, 10, 100, 1 << 20);
	char buf[64];

	(void)state;
	assert_int_equal(grid_rows(g), 5);
	assert_int_equal(grid_cols(g), 10);
	put_str(g, 1, 2, "hello", &plain);
	row_text(g, 1, buf);
	assert_string_equal(buf, "  hello");
	row_text(g, 0, buf);
	assert_string_equal(buf, "");
	grid_free(g);
}

static void
test_damage(void **state)
{
	grid_t *g = grid_new(5, 10, 100, 1 << 20);

	(void)state;
	assert_true(grid_any_dirty(g));
	grid_clean(g);
	assert_false(grid_any_dirty(g));
	put_str(g, 3, 0, "x", &plain);
	assert_true(grid_any_dirty(g));
	assert_true(grid_row_dirty(g, 3));
	assert_false(grid_row_dirty(g, 2));
	grid_clean(g);
	linefeed(g);
	assert_true(grid_row_dirty(g, 0));
	assert_true(grid_row_dirty(g, 4));
	grid_free(g);
}

static void
test_scroll_pushes_scrollback(void **state)
{
	grid_t *g = grid_new(3, 10, 100, 1 << 20);
	char buf[64];
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(buf, sizeof buf, "line%d", i);
		put_str(g, 2, 0, buf, &plain);
		if (i < 4)
			linefeed(g);
	}
	/* Two blank lines, then line0 and line1 scrolled off; 2-4 visible. */
	assert_int_equal(grid_sb_count(g), 4);
	assert_int_equal(grid_sb_pushed(g), 4);
	sb_text(g, 0, buf);
	assert_string_equal(buf, "line1");
	sb_text(g, 1, buf);
	assert_string_equal(buf, "line0");
	row_text(g, 0, buf);
	assert_string_equal(buf, "line2");
	row_text(g, 2, buf);
	assert_string_equal(buf, "line4");
	sb_text(g, 3, buf);
	assert_string_equal(buf, "");
	assert_int_equal(grid_sb_line(g, 4, NULL, 10), -1);
	grid_free(g);
}

static void
test_region_scroll_no_scrollback(void **state)
{
	grid_t *g = grid_new(5, 10, 100, 1 << 20);
	char buf[64];

	(void)state;
	put_str(g, 1, 0, "a", &plain);
	put_str(g, 2, 0, "b", &plain);
	put_str(g, 3, 0, "c", &plain);
	/* Region rows 1..3 scrolls up: "a" is lost, not saved. */
	grid_scroll(g, 1, 4, 0, 10, 1, 0, NULL);
	assert_int_equal(grid_sb_count(g), 0);
	row_text(g, 1, buf);
	assert_string_equal(buf, "b");
	row_text(g, 2, buf);
	assert_string_equal(buf, "c");
	row_text(g, 3, buf);
	assert_string_equal(buf, "");
	/* Down by one. */
	grid_scroll(g, 1, 4, 0, 10, -1, 0, NULL);
	row_text(g, 1, buf);
	assert_string_equal(buf, "");
	row_text(g, 2, buf);
	assert_string_equal(buf, "b");
	/* Partial width: columns 2..5 of rows 0..4 move left by one. */
	put_str(g, 0, 0, "0123456789", &plain);
	grid_scroll(g, 0, 5, 2, 6, 0, 1, NULL);
	row_text(g, 0, buf);
	assert_string_equal(buf, "01345 6789");
	assert_int_equal(grid_sb_count(g), 0);
	grid_free(g);
}

static void
test_alt_screen(void **state)
{
	grid_t *g = grid_new(3, 10, 100, 1 << 20);
	char buf[64];

	(void)state;
	put_str(g, 0, 0, "primary", &plain);
	grid_set_alt(g, 1);
	assert_int_equal(grid_alt(g), 1);
	row_text(g, 0, buf);
	assert_string_equal(buf, "");
	put_str(g, 0, 0, "alt", &plain);
	linefeed(g);
	linefeed(g);
	assert_int_equal(grid_sb_count(g), 0);
	grid_set_alt(g, 0);
	row_text(g, 0, buf);
	assert_string_equal(buf, "primary");
	grid_free(g);
}

/* Every kind of cell survives the scrollback encoding exactly. */
static void
test_scrollback_roundtrip(void **state)
{
	grid_t *g = grid_new(2, 12, 100, 1 << 20);
	struct grid_cell pen = plain, out[12];
	const struct grid_cell *row;
	uint32_t e_acute[2] = { 'e', 0x301 }, han = 0x4E2D, big = 0x7FFFFFF0u;
	uint32_t many[GRID_CHARS] = { 'a', 0x300, 0x301, 0x302 };
	int c;

	(void)state;
	pen.fg.type = GRID_COLOR_INDEXED;
	pen.fg.idx = 200;
	pen.attrs = GRID_ATTR_BOLD | GRID_ATTR_UNDERLINE;
	put_str(g, 0, 0, "ab", &pen);
	pen.bg.type = GRID_COLOR_RGB;
	pen.bg.r = 1;
	pen.bg.g = 2;
	pen.bg.b = 3;
	grid_put(g, 0, 2, e_acute, 2, 1, &pen);
	grid_put(g, 0, 3, &han, 1, 2, &pen);
	pen = plain;
	pen.attrs = GRID_ATTR_REVERSE;
	grid_put(g, 0, 5, &big, 1, 1, &pen);
	grid_put(g, 0, 6, many, GRID_CHARS, 1, &pen);
	pen = plain;
	pen.bg.type = GRID_COLOR_INDEXED;
	pen.bg.idx = 4;
	grid_erase(g, 0, 1, 8, 10, &pen.bg);  /* coloured blanks are kept */

	row = grid_row(g, 0);
	memcpy(out, row, sizeof out);  /* expected */
	linefeed(g);
	assert_int_equal(grid_sb_count(g), 1);
	{
		struct grid_cell got[12];

		assert_int_equal(grid_sb_line(g, 0, got, 12), 0);
		for (c = 0; c < 12; c++) {
			assert_memory_equal(got[c].ch, out[c].ch, sizeof out[c].ch);
			assert_int_equal(got[c].width, out[c].width);
			assert_int_equal(got[c].attrs, out[c].attrs);
			assert_int_equal(got[c].fg.type, out[c].fg.type);
			assert_int_equal(got[c].bg.type, out[c].bg.type);
			assert_int_equal(got[c].fg.idx, out[c].fg.idx);
			assert_int_equal(got[c].bg.idx, out[c].bg.idx);
			assert_int_equal(got[c].bg.r, out[c].bg.r);
			assert_int_equal(got[c].bg.b, out[c].bg.b);
		}
		assert_int_equal(got[4].ch[0], GRID_WIDE_CONT);
		assert_int_equal(got[9].bg.idx, 4);
		assert_int_equal(got[10].bg.type, GRID_COLOR_DEFAULT);
	}
	grid_free(g);
}

static void
test_wide_repair(void **state)
{
	grid_t *g = grid_new(2, 6, 0, 0);
	uint32_t han = 0x4E2D, x = 'x';
	const struct grid_cell *row;

	(void)state;
	grid_put(g, 0, 1, &han, 1, 2, &plain);
	grid_put(g, 0, 2, &x, 1, 1, &plain);   /* overwrite the right half */
	row = grid_row(g, 0);
	assert_int_equal(row[1].ch[0], 0);
	assert_int_equal(row[1].width, 1);
	assert_int_equal(row[2].ch[0], 'x');
	/* A wide char cannot start at the last column. */
	grid_put(g, 1, 5, &han, 1, 2, &plain);
	row = grid_row(g, 1);
	assert_int_equal(row[5].width, 1);
	assert_int_equal(row[5].ch[0], 0);
	/* Narrowing through a wide char keeps it (the renderer clips it);
	 * widening shows it whole again. */
	grid_put(g, 1, 2, &han, 1, 2, &plain);
	grid_resize(g, 2, 3);
	row = grid_row(g, 1);
	assert_int_equal(row[2].ch[0], han);
	grid_resize(g, 2, 6);
	row = grid_row(g, 1);
	assert_int_equal(row[2].width, 2);
	assert_int_equal(row[3].ch[0], GRID_WIDE_CONT);
	/* Overwriting the visible half while narrow leaves no orphan half. */
	grid_resize(g, 2, 3);
	grid_put(g, 1, 2, &x, 1, 1, &plain);
	grid_resize(g, 2, 6);
	row = grid_row(g, 1);
	assert_int_equal(row[2].ch[0], 'x');
	assert_int_equal(row[3].ch[0], 0);
	grid_free(g);
}

static void
test_max_lines(void **state)
{
	grid_t *g = grid_new(2, 20, 50, 1 << 20);
	char buf[64], want[64];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof buf, "n%d", i);
		put_str(g, 1, 0, buf, &plain);
		linefeed(g);
	}
	assert_int_equal(grid_sb_count(g), 50);
	assert_int_equal(grid_sb_pushed(g), 1000);
	/* n999 is on row 0 now; the last line pushed was n998. */
	sb_text(g, 0, buf);
	assert_string_equal(buf, "n998");
	sb_text(g, 49, buf);
	snprintf(want, sizeof want, "n%d", 998 - 49);
	assert_string_equal(buf, want);
	grid_free(g);
}

static void
test_byte_budget(void **state)
{
	size_t budget = 16 * 1024;
	grid_t *g = grid_new(2, 100, 100000, budget);
	char buf[128], want[128];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "line %05d with some text to fill it up", i);
		put_str(g, 1, 0, buf, &plain);
		linefeed(g);
		assert_true(grid_sb_bytes(g) <= budget);
	}
	assert_true(grid_sb_count(g) > 50);
	assert_true(grid_sb_count(g) < 5000);
	assert_int_equal(grid_sb_pushed(g), 5000);
	sb_text(g, 0, buf);
	assert_string_equal(buf, "line 04998 with some text to fill it up");
	sb_text(g, grid_sb_count(g) - 1, buf);
	snprintf(want, sizeof want, "line %05d with some text to fill it up",
	    (int)(4999 - grid_sb_count(g)));
	assert_string_equal(buf, want);
	grid_sb_clear(g);
	assert_int_equal(grid_sb_count(g), 0);
	grid_free(g);
}

static void
test_resize_and_pop(void **state)
{
	grid_t *g = grid_new(3, 8, 100, 1 << 20);
	char buf[64];

	(void)state;
	put_str(g, 0, 0, "one", &plain);
	put_str(g, 1, 0, "two", &plain);
	put_str(g, 2, 0, "three", &plain);
	linefeed(g);            /* "one" to scrollback */
	grid_resize(g, 3, 4);
	row_text(g, 1, buf);
	assert_string_equal(buf, "thre");
	grid_resize(g, 3, 10);
	row_text(g, 1, buf);
	assert_string_equal(buf, "three");     /* narrowing loses nothing */
	assert_int_equal(grid_sb_pop(g), 0);
	row_text(g, 0, buf);
	assert_string_equal(buf, "one");
	row_text(g, 1, buf);
	assert_string_equal(buf, "two");
	assert_int_equal(grid_sb_pop(g), -1);
	grid_resize(g, 5, 10);
	assert_int_equal(grid_rows(g), 5);
	row_text(g, 4, buf);
	assert_string_equal(buf, "");
	grid_free(g);
}

/*
 * Cells beyond the width survive narrowing, also through scrollback and
 * back; erasing to the right edge while narrow clears them, since the
 * child erased "the rest of the line".
 */
static void
test_narrow_keeps_hidden_cells(void **state)
{
	grid_t *g = grid_new(3, 20, 100, 1 << 20);
	char buf[64];

	(void)state;
	put_str(g, 0, 0, "FLOOD-4000-DONE", &plain);
	put_str(g, 1, 0, "prompt $ ls -l", &plain);
	put_str(g, 2, 0, "erased-later", &plain);
	grid_resize(g, 3, 9);
	row_text(g, 0, buf);
	assert_string_equal(buf, "FLOOD-400");
	grid_erase(g, 2, 3, 3, 9, NULL);        /* EL from column 3 */
	linefeed(g);                            /* row 0 to scrollback */
	grid_resize(g, 3, 3);
	sb_text(g, 0, buf);
	assert_string_equal(buf, "FLO");
	grid_resize(g, 3, 30);
	sb_text(g, 0, buf);
	assert_string_equal(buf, "FLOOD-4000-DONE");
	row_text(g, 0, buf);
	assert_string_equal(buf, "prompt $ ls -l");
	row_text(g, 1, buf);
	assert_string_equal(buf, "era");
	assert_int_equal(grid_sb_pop(g), 0);
	grid_resize(g, 3, 5);
	grid_resize(g, 3, 25);
	row_text(g, 0, buf);
	assert_string_equal(buf, "FLOOD-4000-DONE");
	/* A row whose only content is hidden is not blank. */
	grid_erase(g, 2, 3, 0, 25, NULL);
	put_str(g, 2, 10, "tail", &plain);
	grid_resize(g, 3, 4);
	assert_int_equal(grid_row_blank(g, 2), 0);
	grid_erase(g, 2, 3, 0, 4, NULL);
	assert_int_equal(grid_row_blank(g, 2), 1);
	grid_free(g);
}

/* 10,000 lines of typical coloured 80-200 column output. */
static void
test_memory_10k_lines(void **state)
{
	int cols = 200, i, c, len;
	grid_t *g = grid_new(50, cols, 10000, 64u << 20);
	struct grid_cell pen = plain;
	uint32_t ch;
	size_t bytes;

	(void)state;
	srand(42);
	for (i = 0; i < 12000; i++) {
		len = 80 + rand() % 121;
		for (c = 0; c < len; c++) {
			if (c % 17 == 0) {
				/* a colour change every 17 cells, like ls or a diff */
				pen.fg.type = (c / 17) % 3 == 0 ?
				    GRID_COLOR_DEFAULT : GRID_COLOR_INDEXED;
				pen.fg.idx = pen.fg.type ? (uint8_t)(1 + c % 7) : 0;
				pen.attrs = (c / 17) % 4 == 1 ? GRID_ATTR_BOLD : 0;
			}
			ch = c % 9 == 8 ? ' ' : (uint32_t)('a' + (i + c) % 26);
			grid_put(g, 49, c, &ch, 1, 1, &pen);
		}
		linefeed(g);
	}
	bytes = grid_sb_bytes(g);
	assert_int_equal(grid_sb_count(g), 10000);
	print_message("scrollback: 10000 lines, avg 140 cols, coloured: %zu bytes\n",
	    bytes);
	/* Four panes must stay far below 40 MB. */
	assert_true(bytes < 4u << 20);
	grid_free(g);
}

/* Issue 19: six code points, 16-bit attributes and the underline colour
 * survive scrollback, as do wrapped flags. */
static void
test_scrollback_keeps_new_fields(void **state)
{
	grid_t *g = grid_new(2, 10, 10, 1 << 20);
	static const uint32_t marks[GRID_CHARS] = {
		'e', 0x301, 0x302, 0x303, 0x304, 0x305,
	};
	struct grid_cell pen = plain, out[10];
	(void)state;

	pen.attrs = GRID_ATTR_OVERLINE | GRID_ATTR_UNDERLINE |
	    (GRID_UL_DASHED << GRID_UL_SHIFT);
	pen.ul = (struct grid_color){ .type = GRID_COLOR_RGB, .r = 9, .b = 7 };
	grid_put(g, 0, 0, marks, GRID_CHARS, 1, &pen);
	grid_set_wrapped(g, 0, 1);
	assert_true(grid_row_wrapped(g, 0));
	grid_scroll(g, 0, 2, 0, 10, 1, 0, NULL);
	assert_false(grid_row_wrapped(g, 0));  /* the row that came up */
	assert_int_equal(grid_sb_count(g), 1);
	assert_true(grid_sb_wrapped(g, 0));
	assert_int_equal(grid_sb_line(g, 0, out, 10), 0);
	assert_memory_equal(out[0].ch, marks, sizeof marks);
	assert_int_equal(out[0].attrs, pen.attrs);
	assert_int_equal(out[0].ul.type, GRID_COLOR_RGB);
	assert_int_equal(out[0].ul.r, 9);
	assert_int_equal(out[0].ul.b, 7);
	/* back onto the screen, flag and all */
	assert_int_equal(grid_sb_pop(g), 0);
	assert_true(grid_row_wrapped(g, 0));
	assert_memory_equal(grid_row(g, 0)[0].ch, marks, sizeof marks);
	/* erasing to the end of the row unwraps it */
	grid_erase(g, 0, 1, 5, 10, NULL);
	assert_false(grid_row_wrapped(g, 0));
	grid_free(g);
}

/* grid_reflow: lines joined by wrapped flags and split again; the cursor
 * stays on its character; styles travel with their cells. */
static void
test_reflow(void **state)
{
	grid_t *g = grid_new(4, 6, 100, 1 << 20);
	struct grid_cell pen = plain;
	char t[64];
	int row = 2, col = 2;
	(void)state;

	put_str(g, 0, 0, "abcdef", &plain);
	grid_set_wrapped(g, 0, 1);
	pen.attrs = GRID_ATTR_BOLD;
	put_str(g, 1, 0, "gh", &pen);
	put_str(g, 2, 0, "$ x", &plain);
	grid_reflow(g, 4, &row, &col, 0);
	assert_int_equal(grid_cols(g), 4);
	/* abcd / efgh / $ x: 4 rows with the cursor on the x */
	row_text(g, 0, t);
	assert_string_equal(t, "abcd");
	row_text(g, 1, t);
	assert_string_equal(t, "efgh");
	assert_int_equal(grid_row(g, 1)[2].attrs, GRID_ATTR_BOLD);
	assert_int_equal(grid_row(g, 1)[1].attrs, 0);
	row_text(g, 2, t);
	assert_string_equal(t, "$ x");
	assert_int_equal(row, 2);
	assert_int_equal(col, 2);
	assert_true(grid_row_wrapped(g, 0));
	assert_false(grid_row_wrapped(g, 1));
	/* 2 wide: 6 rows of text on 4: two go to scrollback */
	grid_reflow(g, 2, &row, &col, 0);
	assert_int_equal(grid_sb_count(g), 2);
	sb_text(g, 0, t);
	assert_string_equal(t, "cd");
	assert_true(grid_sb_wrapped(g, 0));
	row_text(g, 0, t);
	assert_string_equal(t, "ef");
	row_text(g, 3, t);
	assert_string_equal(t, "x");
	assert_true(grid_row_wrapped(g, 2));
	assert_int_equal(row, 3);
	assert_int_equal(col, 0);
	/* wide again: joined across scrollback and screen */
	grid_reflow(g, 10, &row, &col, 0);
	assert_int_equal(grid_sb_count(g), 0);
	row_text(g, 0, t);
	assert_string_equal(t, "abcdefgh");
	row_text(g, 1, t);
	assert_string_equal(t, "$ x");
	assert_int_equal(row, 1);
	assert_int_equal(col, 2);
	grid_free(g);
}

/* On the alternate screen grid_reflow is a plain resize: nothing moves. */
static void
test_reflow_not_alt(void **state)
{
	grid_t *g = grid_new(2, 6, 100, 1 << 20);
	char t[64];
	int row = 0, col = 0;
	(void)state;

	grid_set_alt(g, 1);
	put_str(g, 0, 0, "abcdef", &plain);
	grid_set_wrapped(g, 0, 1);
	grid_reflow(g, 3, &row, &col, 0);
	row_text(g, 0, t);
	assert_string_equal(t, "abc");
	grid_reflow(g, 6, &row, &col, 0);
	row_text(g, 0, t);
	assert_string_equal(t, "abcdef");
	grid_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_read),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_scroll_pushes_scrollback),
		cmocka_unit_test(test_region_scroll_no_scrollback),
		cmocka_unit_test(test_alt_screen),
		cmocka_unit_test(test_scrollback_roundtrip),
		cmocka_unit_test(test_wide_repair),
		cmocka_unit_test(test_max_lines),
		cmocka_unit_test(test_byte_budget),
		cmocka_unit_test(test_resize_and_pop),
		cmocka_unit_test(test_narrow_keeps_hidden_cells),
		cmocka_unit_test(test_memory_10k_lines),
		cmocka_unit_test(test_scrollback_keeps_new_fields),
		cmocka_unit_test(test_reflow),
		cmocka_unit_test(test_reflow_not_alt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
