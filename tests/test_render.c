/* Unit tests for render.c: the pure colour maths, and drawing real grids
 * into a curses screen (newterm on /dev/null) read back with mvwin_wch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "grid.h"
#include "palette.h"
#include "render.h"

/* ---------- pure colour functions ---------- */

static int
dist_to(int r, int g, int b, int idx)
{
	int pr, pg, pb;

	palette_rgb(idx, &pr, &pg, &pb);
	return (r - pr) * (r - pr) + (g - pg) * (g - pg) + (b - pb) * (b - pb);
}

static void
test_rgb_to_256_known(void **state)
{
	(void)state;
	assert_int_equal(render_rgb_to_256(0, 0, 0), 16);
	assert_int_equal(render_rgb_to_256(255, 255, 255), 231);
	assert_int_equal(render_rgb_to_256(255, 0, 0), 196);
	assert_int_equal(render_rgb_to_256(0, 255, 0), 46);
	assert_int_equal(render_rgb_to_256(0, 0, 255), 21);
	assert_int_equal(render_rgb_to_256(128, 128, 128), 244);
	assert_int_equal(render_rgb_to_256(8, 8, 8), 232);
	assert_int_equal(render_rgb_to_256(238, 238, 238), 255);
	assert_int_equal(render_rgb_to_256(95, 135, 175), 16 + 36 * 1 + 6 * 2 + 3);
	/* out-of-range input is clamped */
	assert_int_equal(render_rgb_to_256(-20, 300, -1), 46);
}

/* Every cube and grey entry maps back to itself. */
static void
test_rgb_to_256_roundtrip(void **state)
{
	(void)state;
	for (int i = 16; i < 256; i++) {
		int r, g, b;
		palette_rgb(i, &r, &g, &b);
		assert_int_equal(render_rgb_to_256(r, g, b), i);
	}
}

/* The result is always a nearest entry of 16..255 (brute force check). */
static void
test_rgb_to_256_nearest(void **state)
{
	(void)state;
	for (int r = 0; r < 256; r += 7)
	for (int g = 0; g < 256; g += 11)
	for (int b = 0; b < 256; b += 5) {
		int got = render_rgb_to_256(r, g, b), best = -1;
		assert_true(got >= 16 && got <= 255);
		for (int i = 16; i < 256; i++) {
			int d = dist_to(r, g, b, i);
			if (best < 0 || d < best)
				best = d;
		}
		if (dist_to(r, g, b, got) != best)
			fail_msg("rgb %d,%d,%d -> %d, not nearest", r, g, b, got);
	}
}

static void
test_256_to_basic(void **state)
{
	(void)state;
	for (int i = 0; i < 256; i++) {
		int c16 = render_256_to_basic(i, 16), c8 = render_256_to_basic(i, 8);
		assert_int_equal(render_256_to_basic(i, 256), i);
		assert_true(c16 >= 0 && c16 < 16);
		assert_int_equal(c8, c16 & 7);
		assert_int_equal(render_256_to_basic(i, 2), -1);
		if (i < 16)
			assert_int_equal(c16, i);
		/* c16 is a nearest ANSI colour */
		int r, g, b, best = -1;
		palette_rgb(i, &r, &g, &b);
		for (int j = 0; j < 16; j++) {
			int d = dist_to(r, g, b, j);
			if (best < 0 || d < best)
				best = d;
		}
		assert_int_equal(dist_to(r, g, b, c16), best);
	}
	assert_int_equal(render_256_to_basic(196, 16), 9);    /* bright red */
	assert_int_equal(render_256_to_basic(196, 8), 1);
	assert_int_equal(render_256_to_basic(244, 16), 8);    /* grey */
	assert_int_equal(render_256_to_basic(16, 16), 0);
	assert_int_equal(render_256_to_basic(231, 16), 15);
	assert_int_equal(render_256_to_basic(-1, 256), -1);
	assert_int_equal(render_256_to_basic(256, 256), -1);
	/* an 88-colour terminal is treated as 16 colours */
	assert_int_equal(render_256_to_basic(40, 88), render_256_to_basic(40, 16));
}

static void
test_map_color(void **state)
{
	struct grid_color def = { .type = GRID_COLOR_DEFAULT };
	struct grid_color i200 = { .type = GRID_COLOR_INDEXED, .idx = 200 };
	struct grid_color i3 = { .type = GRID_COLOR_INDEXED, .idx = 3 };
	struct grid_color rgb = { .type = GRID_COLOR_RGB, .r = 250, .g = 10, .b = 5 };
	(void)state;

	assert_int_equal(render_map_color(&def, 256), -1);
	assert_int_equal(render_map_color(&i200, 256), 200);
	assert_int_equal(render_map_color(&i200, 16), render_256_to_basic(200, 16));
	assert_int_equal(render_map_color(&i3, 8), 3);
	assert_int_equal(render_map_color(&rgb, 256), 196);
	assert_int_equal(render_map_color(&rgb, 16), 9);
	assert_int_equal(render_map_color(&rgb, 8), 1);
	assert_int_equal(render_map_color(&rgb, 0), -1);
}

/* ---------- drawing through curses ---------- */

struct term {
	FILE *out, *in;
	SCREEN *scr;
};

static int
term_open(void **state, const char *type)
{
	static struct term t;

	setlocale(LC_ALL, "C.UTF-8");
	t.out = fopen("/dev/null", "w");
	t.in = fopen("/dev/null", "r");
	if (t.out == NULL || t.in == NULL)
		return -1;
	t.scr = newterm(type, t.out, t.in);
	if (t.scr == NULL)
		return -1;
	start_color();
	use_default_colors();
	*state = &t;
	return 0;
}

static int
setup_256(void **state)
{
	return term_open(state, "xterm-256color");
}

static int
setup_8(void **state)
{
	return term_open(state, "xterm");
}

static int
teardown_term(void **state)
{
	struct term *t = *state;

	endwin();
	delscreen(t->scr);
	fclose(t->out);
	fclose(t->in);
	return 0;
}

struct got {
	wchar_t wc[CCHARW_MAX + 1];
	attr_t attrs;
	int pair, fg, bg;
};

static struct got
readback(WINDOW *win, int y, int x)
{
	struct got g;
	cchar_t cc;
	short sp;

	memset(&g, 0, sizeof g);
	assert_int_equal(mvwin_wch(win, y, x, &cc), OK);
	assert_int_equal(getcchar(&cc, g.wc, &g.attrs, &sp, &g.pair), OK);
	g.attrs &= A_ATTRIBUTES & ~A_COLOR;
	assert_int_equal(extended_pair_content(g.pair, &g.fg, &g.bg), OK);
	return g;
}

static struct grid_cell
pen(uint8_t attrs, struct grid_color fg, struct grid_color bg)
{
	struct grid_cell p;

	memset(&p, 0, sizeof p);
	p.attrs = attrs;
	p.fg = fg;
	p.bg = bg;
	p.width = 1;
	return p;
}

static void
put_str(grid_t *g, int r, int c, const char *s, const struct grid_cell *p)
{
	for (; *s; s++, c++) {
		uint32_t ch = (unsigned char)*s;
		grid_put(g, r, c, &ch, 1, 1, p);
	}
}

static const struct grid_color DEF = { .type = GRID_COLOR_DEFAULT };

static struct grid_color
idx(int i)
{
	struct grid_color c = { .type = GRID_COLOR_INDEXED, .idx = (uint8_t)i };
	return c;
}

static struct grid_color
rgb(int r, int g, int b)
{
	struct grid_color c = { .type = GRID_COLOR_RGB, .r = (uint8_t)r,
	    .g = (uint8_t)g, .b = (uint8_t)b };
	return c;
}

static void
test_draw_attrs_and_colors(void **state)
{
	static const struct { uint8_t ga; attr_t a; } attrs[] = {
		{ GRID_ATTR_BOLD, A_BOLD }, { GRID_ATTR_UNDERLINE, A_UNDERLINE },
		{ GRID_ATTR_ITALIC, A_ITALIC }, { GRID_ATTR_REVERSE, A_REVERSE },
		{ GRID_ATTR_BLINK, A_BLINK }, { GRID_ATTR_DIM, A_DIM },
		{ GRID_ATTR_CONCEAL, A_INVIS }, { GRID_ATTR_STRIKE, A_NORMAL },
	};
	grid_t *g = grid_new(4, 20, 100, 1 << 20);
	WINDOW *win = newwin(4, 20, 0, 0);
	render_t *r = render_new(1);
	struct grid_cell p;
	struct got got;
	(void)state;

	assert_int_equal(COLORS, 256);
	p = pen(GRID_ATTR_BOLD, idx(1), DEF);
	put_str(g, 0, 0, "Hi", &p);
	p = pen(0, rgb(255, 0, 0), idx(200));
	put_str(g, 0, 5, "x", &p);
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
		p = pen(attrs[i].ga, DEF, DEF);
		put_str(g, 1, (int)i, "a", &p);
	}
	render_grid(r, win, g, 4, 20, 0, 0, 1);

	got = readback(win, 0, 0);
	assert_int_equal(got.wc[0], L'H');
	assert_int_equal(got.attrs, A_BOLD);
	assert_int_equal(got.fg, 1);
	assert_int_equal(got.bg, -1);
	got = readback(win, 0, 1);
	assert_int_equal(got.wc[0], L'i');
	got = readback(win, 0, 2);                 /* blank: space, default */
	assert_int_equal(got.wc[0], L' ');
	assert_int_equal(got.pair, 0);
	got = readback(win, 0, 5);
	assert_int_equal(got.fg, 196);
	assert_int_equal(got.bg, 200);
	assert_int_equal(got.attrs, A_NORMAL);
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
		got = readback(win, 1, (int)i);
		assert_int_equal(got.wc[0], L'a');
		assert_int_equal(got.attrs, attrs[i].a);
	}

	/* DECSCNM inverts each cell's reverse bit */
	render_grid(r, win, g, 4, 20, 0, 1, 1);
	assert_int_equal(readback(win, 1, 3).attrs, A_NORMAL);      /* was reverse */
	assert_int_equal(readback(win, 1, 0).attrs, A_BOLD | A_REVERSE);
	assert_int_equal(readback(win, 3, 19).attrs, A_REVERSE);
	render_free(r);
	delwin(win);
	grid_free(g);
}

static void
test_draw_wide_and_combining(void **state)
{
	grid_t *g = grid_new(3, 10, 100, 1 << 20);
	WINDOW *win = newwin(3, 10, 0, 0);
	render_t *r = render_new(1);
	struct grid_cell p = pen(0, DEF, DEF);
	uint32_t zh = 0x4e2d, e_acute[2] = { 'e', 0x301 };
	struct got got;
	(void)state;

	grid_put(g, 0, 2, &zh, 1, 2, &p);
	put_str(g, 0, 4, "z", &p);
	grid_put(g, 1, 0, e_acute, 2, 1, &p);
	put_str(g, 1, 1, "!", &p);
	grid_put(g, 2, 8, &zh, 1, 2, &p);          /* cols 8-9 of 10 */
	render_grid(r, win, g, 3, 10, 0, 0, 1);

	got = readback(win, 0, 2);
	assert_int_equal(got.wc[0], 0x4e2d);
	assert_int_equal(readback(win, 0, 4).wc[0], L'z');
	assert_int_equal(readback(win, 0, 1).wc[0], L' ');
	got = readback(win, 1, 0);
	assert_int_equal(got.wc[0], L'e');
	assert_int_equal(got.wc[1], 0x301);
	assert_int_equal(readback(win, 1, 1).wc[0], L'!');
	assert_int_equal(readback(win, 2, 8).wc[0], 0x4e2d);

	/* an orphan continuation cell (no wide glyph left of it) is a space */
	grid_row_mut(g, 1)[5].ch[0] = GRID_WIDE_CONT;
	mvwaddstr(win, 1, 5, "Q");
	render_grid(r, win, g, 3, 10, 0, 0, 0);
	assert_int_equal(readback(win, 1, 5).wc[0], L' ');

	/* clipped to 9 columns, the wide glyph at 8 no longer fits: a space */
	werase(win);
	render_grid(r, win, g, 3, 9, 0, 0, 1);
	assert_int_equal(readback(win, 2, 8).wc[0], L' ');
	assert_int_equal(readback(win, 0, 2).wc[0], 0x4e2d);
	render_free(r);
	delwin(win);
	grid_free(g);
}

/* Window smaller and larger than the grid. */
static void
test_draw_clip(void **state)
{
	grid_t *g = grid_new(5, 30, 100, 1 << 20);
	WINDOW *small = newwin(2, 5, 0, 0), *big = newwin(8, 40, 0, 0);
	render_t *r = render_new(1);
	struct grid_cell p = pen(0, idx(2), DEF);
	(void)state;

	for (int i = 0; i < 5; i++)
		put_str(g, i, 0, "abcdefghijklmnopqrstuvwxyz0123", &p);
	render_grid(r, small, g, 5, 30, 0, 0, 1);   /* clipped to 2 x 5 */
	assert_int_equal(readback(small, 1, 4).wc[0], L'e');

	mvwaddstr(big, 6, 35, "junk");
	mvwaddstr(big, 2, 33, "junk");
	render_grid(r, big, g, 8, 40, 0, 0, 1);
	assert_int_equal(readback(big, 4, 29).wc[0], L'3');
	assert_int_equal(readback(big, 2, 33).wc[0], L' ');    /* right of the grid */
	assert_int_equal(readback(big, 6, 35).wc[0], L' ');    /* below the grid */
	render_free(r);
	delwin(small);
	delwin(big);
	grid_free(g);
}

static void
test_draw_dirty_only(void **state)
{
	grid_t *g = grid_new(3, 10, 100, 1 << 20);
	WINDOW *win = newwin(3, 10, 0, 0);
	render_t *r = render_new(1);
	struct grid_cell p = pen(0, DEF, DEF);
	(void)state;

	put_str(g, 0, 0, "row0", &p);
	put_str(g, 1, 0, "row1", &p);
	render_grid(r, win, g, 3, 10, 0, 0, 0);
	grid_clean(g);
	mvwaddstr(win, 0, 0, "ZZ");                 /* not in the grid */
	put_str(g, 1, 0, "NEW", &p);
	render_grid(r, win, g, 3, 10, 0, 0, 0);
	assert_int_equal(readback(win, 0, 0).wc[0], L'Z');     /* clean row kept */
	assert_int_equal(readback(win, 1, 0).wc[0], L'N');
	render_grid(r, win, g, 3, 10, 0, 0, 1);                 /* full redraw */
	assert_int_equal(readback(win, 0, 0).wc[0], L'r');
	render_free(r);
	delwin(win);
	grid_free(g);
}

static void
test_draw_scrollback(void **state)
{
	grid_t *g = grid_new(3, 10, 100, 1 << 20);
	WINDOW *win = newwin(3, 10, 0, 0);
	render_t *r = render_new(1);
	struct grid_cell p = pen(GRID_ATTR_UNDERLINE, idx(4), DEF);
	char line[8];
	(void)state;

	/* write L0..L5, scrolling so L0..L2 end up in scrollback */
	for (int i = 0; i < 6; i++) {
		if (i >= 3)
			grid_scroll(g, 0, 3, 0, 10, 1, 0, NULL);
		snprintf(line, sizeof line, "L%d", i);
		put_str(g, i < 3 ? i : 2, 0, line, &p);
	}
	assert_int_equal(grid_sb_count(g), 3);
	render_grid(r, win, g, 3, 10, 0, 0, 1);
	assert_int_equal(readback(win, 0, 1).wc[0], L'3');
	render_grid(r, win, g, 3, 10, 1, 0, 0);     /* one line back */
	assert_int_equal(readback(win, 0, 1).wc[0], L'2');
	assert_int_equal(readback(win, 2, 1).wc[0], L'4');
	struct got got = readback(win, 0, 0);
	assert_int_equal(got.attrs, A_UNDERLINE);   /* attributes survive */
	assert_int_equal(got.fg, 4);
	render_grid(r, win, g, 3, 10, 99, 0, 0);    /* clamped to the oldest */
	assert_int_equal(readback(win, 0, 1).wc[0], L'0');
	assert_int_equal(readback(win, 2, 1).wc[0], L'2');
	render_free(r);
	delwin(win);
	grid_free(g);
}

/* More than 255 pairs: extended pairs pass through setcchar's opts. */
static void
test_many_pairs(void **state)
{
	grid_t *g = grid_new(20, 30, 100, 1 << 20);
	WINDOW *win = newwin(20, 30, 0, 0);
	render_t *r = render_new(1);
	int maxpair = 0;
	(void)state;

	for (int y = 0; y < 20; y++)
		for (int x = 0; x < 30; x++) {
			struct grid_cell p = pen(0, idx((y * 30 + x) % 256),
			    idx((y * 30 + x) / 256 + 16));
			put_str(g, y, x, "#", &p);
		}
	render_grid(r, win, g, 20, 30, 0, 0, 1);
	for (int y = 0; y < 20; y++)
		for (int x = 0; x < 30; x++) {
			struct got got = readback(win, y, x);
			assert_int_equal(got.fg, (y * 30 + x) % 256);
			assert_int_equal(got.bg, (y * 30 + x) / 256 + 16);
			if (got.pair > maxpair)
				maxpair = got.pair;
		}
	assert_true(maxpair > 255);
	/* the cache returns the same pair again, and swapping works */
	struct grid_color a = idx(7), b = idx(9);
	int p1 = render_color_pair(r, &a, &b, 0);
	assert_int_equal(render_color_pair(r, &a, &b, 0), p1);
	int f, bg;
	extended_pair_content(render_color_pair(r, &a, &b, 1), &f, &bg);
	assert_int_equal(f, 9);
	assert_int_equal(bg, 7);
	assert_int_equal(render_color_pair(r, &DEF, &DEF, 0), 0);
	render_free(r);
	delwin(win);
	grid_free(g);
}

static void
test_mono(void **state)
{
	grid_t *g = grid_new(2, 5, 100, 1 << 20);
	WINDOW *win = newwin(2, 5, 0, 0);
	render_t *r = render_new(0);
	struct grid_cell p = pen(GRID_ATTR_BOLD, idx(1), idx(4));
	(void)state;

	put_str(g, 0, 0, "m", &p);
	render_grid(r, win, g, 2, 5, 0, 0, 1);
	struct got got = readback(win, 0, 0);
	assert_int_equal(got.wc[0], L'm');
	assert_int_equal(got.attrs, A_BOLD);
	assert_int_equal(got.pair, 0);
	assert_int_equal(render_color_pair(r, &p.fg, &p.bg, 0), 0);
	render_free(r);
	delwin(win);
	grid_free(g);
}

/* On an 8-colour terminal, colours degrade and bright fg becomes bold. */
static void
test_eight_colors(void **state)
{
	grid_t *g = grid_new(1, 5, 100, 1 << 20);
	WINDOW *win = newwin(1, 5, 0, 0);
	render_t *r = render_new(1);
	struct grid_cell p;
	(void)state;

	assert_int_equal(COLORS, 8);
	p = pen(0, idx(9), DEF);                    /* bright red */
	put_str(g, 0, 0, "a", &p);
	p = pen(0, idx(196), idx(21));              /* 256-colour red on blue */
	put_str(g, 0, 1, "b", &p);
	p = pen(0, rgb(0, 200, 0), DEF);
	put_str(g, 0, 2, "c", &p);
	render_grid(r, win, g, 1, 5, 0, 0, 1);
	struct got got = readback(win, 0, 0);
	assert_int_equal(got.fg, 1);
	assert_int_equal(got.attrs, A_BOLD);
	got = readback(win, 0, 1);
	assert_int_equal(got.fg, 1);
	assert_int_equal(got.bg, 4);
	got = readback(win, 0, 2);
	assert_int_equal(got.fg, 2);
	assert_int_equal(got.attrs, A_NORMAL);
	render_free(r);
	delwin(win);
	grid_free(g);
}

/* Rough speed figure: full redraws of a busy 200x50 pane. */
static void
test_speed(void **state)
{
	grid_t *g = grid_new(50, 200, 100, 1 << 20);
	WINDOW *win = newwin(50, 200, 0, 0);
	render_t *r = render_new(1);
	struct timespec t0, t1;
	const int frames = 100;
	(void)state;

	for (int y = 0; y < 50; y++)
		for (int x = 0; x < 200; x++) {
			struct grid_cell p = pen(x % 16 == 0 ? GRID_ATTR_BOLD : 0,
			    idx((x / 8) % 256), DEF);
			uint32_t ch = 'a' + (uint32_t)((x + y) % 26);
			grid_put(g, y, x, &ch, 1, 1, &p);
		}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < frames; i++)
		render_grid(r, win, g, 50, 200, 0, 0, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / frames;
	print_message("render_grid 200x50 full: %.3f ms/frame\n", ms);
	assert_int_equal(readback(win, 49, 199).wc[0], (wchar_t)('a' + (49 + 199) % 26));
	render_free(r);
	delwin(win);
	grid_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rgb_to_256_known),
		cmocka_unit_test(test_rgb_to_256_roundtrip),
		cmocka_unit_test(test_rgb_to_256_nearest),
		cmocka_unit_test(test_256_to_basic),
		cmocka_unit_test(test_map_color),
		cmocka_unit_test_setup_teardown(test_draw_attrs_and_colors, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_draw_wide_and_combining, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_draw_clip, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_draw_dirty_only, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_draw_scrollback, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_many_pairs, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_mono, setup_256, teardown_term),
		cmocka_unit_test_setup_teardown(test_eight_colors, setup_8, teardown_term),
		cmocka_unit_test_setup_teardown(test_speed, setup_256, teardown_term),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
