/*
 * Unit tests for outer: capabilities from terminfo, the marked cells
 * written after doupdate() (byte for byte, and not over a window that
 * covers them), cursor styles, and the question for the default colours.
 * What the real binary sends inside tmux is checked by tests/ui/attrs.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curses.h>
#include <fcntl.h>
#include <locale.h>
#include <unistd.h>

#include "outer.h"
#include "render.h"
#include "testtmp.h"
#include "util.h"

/* A terminfo entry with every extra tmux knows, compiled into dir. */
static const char outer_ti[] =
    "tokmux-test|xterm-256color and extras,\n"
    "\tSmulx=\\E[4:%p1%dm,\n"
    "\tSetulc=\\E[58:2::%p1%{65536}%/%d:%p1%{256}%/%{255}%&%d:"
    "%p1%{255}%&%d%;m,\n"
    "\tSmol=\\E[53m, Tc, use=xterm-256color,\n";

struct fx {
	char dir[64];
	SCREEN *scr;
	FILE *out, *in;
	int pipe[2];            /* what outer writes */
	outer_t *t;
};

/* curses on /dev/null as term (compiled into a private TERMINFO), outer
 * writing to a pipe. */
static int
fx_start(struct fx *f, const char *term, const char *colorterm)
{
	char *cmd, *src;
	FILE *ti;

	memset(f, 0, sizeof *f);
	setlocale(LC_ALL, "C.UTF-8");
	testtmp_make(f->dir, sizeof f->dir, "outer");
	src = xasprintf("%s/ti.src", f->dir);
	assert_non_null(ti = fopen(src, "w"));
	fputs(outer_ti, ti);
	fclose(ti);
	cmd = xasprintf("tic -x -o '%s' '%s' 2>/dev/null", f->dir, src);
	if (system(cmd) != 0) {
		free(cmd);
		free(src);
		return -1;
	}
	free(cmd);
	free(src);
	setenv("TERMINFO", f->dir, 1);
	if (colorterm != NULL)
		setenv("COLORTERM", colorterm, 1);
	else
		unsetenv("COLORTERM");
	f->out = fopen("/dev/null", "w");
	f->in = fopen("/dev/null", "r");
	f->scr = newterm(term, f->out, f->in);
	if (f->scr == NULL)
		return -1;
	start_color();
	use_default_colors();
	assert_int_equal(pipe(f->pipe), 0);
	fcntl(f->pipe[0], F_SETFL, O_NONBLOCK);
	f->t = outer_new(f->pipe[1]);
	return 0;
}

static void
fx_stop(struct fx *f)
{
	outer_free(f->t);
	endwin();
	delscreen(f->scr);
	fclose(f->out);
	fclose(f->in);
	close(f->pipe[0]);
	close(f->pipe[1]);
	unsetenv("TERMINFO");
	testtmp_remove(f->dir);
}

/* Everything outer wrote since the last call. */
static char *
fx_read(struct fx *f)
{
	static char buf[8192];
	ssize_t n = read(f->pipe[0], buf, sizeof buf - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_caps(void **state)
{
	struct fx f;
	const struct outer_caps *c;

	(void)state;
	if (fx_start(&f, "xterm-256color", NULL) != 0)
		skip();
	c = outer_caps(f.t);
	assert_true(c->strike);         /* smxx */
	assert_true(c->cursor_style);   /* Ss */
	assert_false(c->overline || c->ulstyle || c->ulcolor || c->rgb);
	fx_stop(&f);
	if (fx_start(&f, "xterm-256color", "truecolor") != 0)
		skip();
	assert_true(outer_caps(f.t)->rgb);
	fx_stop(&f);
	if (fx_start(&f, "tokmux-test", NULL) != 0)
		skip();
	c = outer_caps(f.t);
	assert_true(c->overline && c->ulstyle && c->ulcolor && c->rgb);
	assert_true(c->cells);
	fx_stop(&f);
}

/* A terminal with no cursor addressing (dumb): nothing is written, not
 * even a glyph with more marks than a cchar_t holds. */
static void
test_dumb_writes_nothing(void **state)
{
	static const uint32_t marks[GRID_CHARS] = {
		'e', 0x301, 0x302, 0x303, 0x304, 0x305,
	};
	struct fx f;
	grid_t *g = grid_new(1, 10, 10, 1 << 20);
	struct grid_cell pen;
	render_t *r;
	WINDOW *win;

	(void)state;
	if (fx_start(&f, "dumb", "truecolor") != 0) {
		grid_free(g);
		skip();
	}
	assert_false(outer_caps(f.t)->cells);
	assert_false(outer_caps(f.t)->rgb);
	r = render_new(0);
	render_set_outer(r, f.t);
	win = newwin(1, 10, 0, 0);
	grid_blank_cell(&pen, NULL);
	grid_put(g, 0, 0, marks, GRID_CHARS, 1, &pen);
	render_grid(r, win, g, 1, 10, 0, 0, 1);
	wnoutrefresh(win);
	doupdate();
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "");
	delwin(win);
	render_free(r);
	grid_free(g);
	fx_stop(&f);
}

static void
put(grid_t *g, int col, const char *s, const struct grid_cell *pen)
{
	for (; *s; s++, col++) {
		uint32_t ch = (uint8_t)*s;

		grid_put(g, 0, col, &ch, 1, 1, pen);
	}
}

/* Cells ncurses cannot say are written after doupdate(), whole, where they
 * are, and the cursor and attributes go back where ncurses left them. */
static void
test_flush_marked_cells(void **state)
{
	struct fx f;
	grid_t *g = grid_new(2, 20, 10, 1 << 20);
	struct grid_cell pen;
	render_t *r;
	WINDOW *win, *cover;
	char *got;

	(void)state;
	if (fx_start(&f, "tokmux-test", NULL) != 0)
		skip();
	r = render_new(1);
	render_set_outer(r, f.t);
	win = newwin(2, 20, 3, 5);
	grid_blank_cell(&pen, NULL);
	put(g, 0, "ab", &pen);
	pen.attrs = GRID_ATTR_STRIKE;
	put(g, 2, "S", &pen);
	pen.attrs = GRID_ATTR_UNDERLINE | (GRID_UL_CURLY << GRID_UL_SHIFT);
	pen.ul = (struct grid_color){ .type = GRID_COLOR_INDEXED, .idx = 196 };
	put(g, 3, "U", &pen);
	grid_blank_cell(&pen, NULL);
	pen.fg = (struct grid_color){ .type = GRID_COLOR_RGB, .r = 1, .g = 2, .b = 3 };
	put(g, 4, "T", &pen);
	render_grid(r, win, g, 2, 20, 0, 0, 1);
	wmove(win, 1, 1);
	wnoutrefresh(win);
	doupdate();
	outer_flush(f.t);
	got = fx_read(&f);
	assert_string_equal(got,
	    "\033[4;8H\033(B\033[m\033[39;49m\033[9mS"
	    "\033(B\033[m\033[39;49m\033[4:3m\033[58:2::255:0:0mU"
	    "\033(B\033[m\033[39;49m\033[38;2;1;2;3mT"
	    "\033(B\033[m\033[39;49m\033[5;7H");
	/* Nothing changed, nothing drawn: nothing written. */
	doupdate();
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "");
	/* A window over the struck cell: only the others are written. */
	cover = newwin(1, 1, 3, 7);
	mvwaddch(cover, 0, 0, 'X');
	render_grid(r, win, g, 2, 20, 0, 0, 1);
	wnoutrefresh(win);
	wnoutrefresh(cover);
	doupdate();
	outer_flush(f.t);
	got = fx_read(&f);
	assert_null(strstr(got, "S"));
	assert_non_null(strstr(got, "\033[4;9H"));
	delwin(cover);
	delwin(win);
	render_free(r);
	grid_free(g);
	fx_stop(&f);
}

/* Without the extras, ncurses' approximation only: nothing marked. */
static void
test_fallback_nothing_marked(void **state)
{
	struct fx f;
	grid_t *g = grid_new(1, 10, 10, 1 << 20);
	struct grid_cell pen;
	render_t *r;
	WINDOW *win;

	(void)state;
	if (fx_start(&f, "xterm-256color", NULL) != 0)
		skip();
	r = render_new(1);
	render_set_outer(r, f.t);
	win = newwin(1, 10, 0, 0);
	grid_blank_cell(&pen, NULL);
	pen.attrs = GRID_ATTR_UNDERLINE | (GRID_UL_DOTTED << GRID_UL_SHIFT) |
	    GRID_ATTR_OVERLINE;
	pen.fg = (struct grid_color){ .type = GRID_COLOR_RGB, .r = 255 };
	put(g, 0, "x", &pen);
	render_grid(r, win, g, 1, 10, 0, 0, 1);
	wnoutrefresh(win);
	doupdate();
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "");
	delwin(win);
	render_free(r);
	grid_free(g);
	fx_stop(&f);
}

static void
test_cursor_style(void **state)
{
	struct fx f;

	(void)state;
	if (fx_start(&f, "xterm-256color", NULL) != 0)
		skip();
	outer_cursor_style(f.t, 0);     /* the default, never changed: nothing */
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "");
	outer_cursor_style(f.t, 5);
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "\033[5 q");
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "");
	outer_cursor_style(f.t, 0);     /* back to the terminal's own: Se */
	outer_flush(f.t);
	assert_string_equal(fx_read(&f), "\033[2 q");
	outer_cursor_style(f.t, 4);
	outer_flush(f.t);
	fx_read(&f);
	outer_end(f.t);
	assert_string_equal(fx_read(&f), "\033[2 q");
	fx_stop(&f);
}

/* The question for the terminal's default colours: its answers come with
 * the keys (test_input). */
static void
test_ask_colors(void **state)
{
	struct fx f;

	(void)state;
	if (fx_start(&f, "xterm-256color", NULL) != 0)
		skip();
	outer_ask_colors(f.t);
	assert_string_equal(fx_read(&f), "\033]10;?\033\\\033]11;?\033\\");
	fx_stop(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_dumb_writes_nothing),
		cmocka_unit_test(test_flush_marked_cells),
		cmocka_unit_test(test_fallback_nothing_marked),
		cmocka_unit_test(test_cursor_style),
		cmocka_unit_test(test_ask_colors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
