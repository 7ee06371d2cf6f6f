/* Unit tests for diffview, drawn into a curses screen on /dev/null and
 * read back from the virtual screen: git's colours survive, long lines
 * wrap, the keys scroll within the document, the foot counts lines and
 * says when the diff was cut, a new size lays the text out again, and
 * escape sequences inside a changed file stay inside the view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrome.h"
#include "diffview.h"
#include "render.h"
#include "util.h"

struct term {
	FILE *out, *in;
	SCREEN *scr;
	chrome_t *chrome;
	render_t *render;
};

static int
setup(void **state)
{
	static struct term t;
	setlocale(LC_ALL, "C.UTF-8");
	setenv("LINES", "24", 1);
	setenv("COLUMNS", "80", 1);
	t.out = fopen("/dev/null", "w");
	t.in = fopen("/dev/null", "r");
	t.scr = newterm("xterm-256color", t.out, t.in);
	if (t.scr == NULL)
		return -1;
	start_color();
	use_default_colors();
	t.chrome = chrome_new(NULL, 1);
	t.render = render_new(1);
	*state = &t;
	return 0;
}

static int
teardown(void **state)
{
	struct term *t = *state;
	render_free(t->render);
	chrome_free(t->chrome);
	endwin();
	delscreen(t->scr);
	fclose(t->out);
	fclose(t->in);
	return 0;
}

/* Row y of what the next doupdate() would show, trailing blanks cut. */
static const char *
row(int y)
{
	static char buf[512];
	memset(buf, 0, sizeof buf);
	mvwinnstr(newscr, y, 0, buf, (int)sizeof buf - 1);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	return buf;
}

static struct input_event
ch(uint32_t c)
{
	return (struct input_event){ .kind = INPUT_CHAR, .ch = c };
}

/* 100 lines, every third one green like git's added lines. */
static char *
sample(size_t *len)
{
	struct buf b = { 0 };
	char line[64];
	for (int i = 1; i <= 100; i++) {
		int n = i % 3 == 0 ? snprintf(line, sizeof line, "\033[32m+line %d\033[m\n", i)
		    : snprintf(line, sizeof line, " line %d\n", i);
		buf_append(&b, line, (size_t)n);
	}
	*len = b.len;
	return b.data;
}

static void
test_scroll_and_colour(void **state)
{
	struct term *t = *state;
	size_t len;
	char *text = sample(&len);
	diffview_t *d = diffview_new(" pane 1 tokmux/a: diff", text, len, 0);
	free(text);
	struct input_event ev = ch('j');
	assert_int_equal(diffview_key(d, &ev), 0);      /* before the first draw: nothing to scroll */
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_int_equal(diffview_lines(d), 100);
	assert_string_equal(row(0), " pane 1 tokmux/a: diff");
	assert_string_equal(row(1), " line 1");
	assert_string_equal(row(3), "+line 3");
	assert_string_equal(row(22), " line 22");
	assert_non_null(strstr(row(23), "lines 1-22 of 100"));
	/* git's green: the cell has a colour pair the plain line has not */
	chtype plain = mvwinch(newscr, 1, 1), green = mvwinch(newscr, 3, 1);
	assert_int_equal(PAIR_NUMBER(plain & A_COLOR), 0);
	assert_int_not_equal(PAIR_NUMBER(green & A_COLOR), 0);
	ev = ch(' ');
	diffview_key(d, &ev);
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_string_equal(row(1), " line 22");
	ev = ch('G');
	diffview_key(d, &ev);
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_non_null(strstr(row(23), "of 100"));
	assert_string_equal(row(22), " line 100");
	ev = ch('j');
	diffview_key(d, &ev);                            /* past the end: stays */
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_string_equal(row(22), " line 100");
	ev = (struct input_event){ .kind = INPUT_CHAR, .ch = 'g' };
	diffview_key(d, &ev);
	ev = ch('k');
	diffview_key(d, &ev);                            /* before the start: stays */
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_string_equal(row(1), " line 1");
	/* another size: laid out again */
	diffview_draw(d, t->render, t->chrome, 12, 80);
	assert_non_null(strstr(row(11), "lines 1-10 of 100"));
	ev = ch('q');
	assert_int_equal(diffview_key(d, &ev), 1);
	diffview_free(d);
}

/* A long line wraps; a cut diff says so; a file's own escape sequences
 * (clear screen, alternate screen, a title) stay inside the view. */
static void
test_wrap_cut_and_escapes(void **state)
{
	struct term *t = *state;
	struct buf b = { 0 };
	buf_append(&b, "+", 1);
	for (int i = 0; i < 170; i++)
		buf_append(&b, "x", 1);
	buf_append(&b, "\n", 1);
	const char *tail = "+evil\033[2J\033[?1049h\033]0;owned\007 after\n end\n";
	buf_append(&b, tail, strlen(tail));
	diffview_t *d = diffview_new("t", b.data, b.len, 1);
	buf_free(&b);
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_int_equal(diffview_lines(d), 5);        /* 171 columns: 3 rows */
	assert_non_null(strstr(row(23), "(cut"));
	assert_non_null(strstr(row(23), "lines 1-5 of 5"));
	int found = 0;
	for (int y = 1; y < 23; y++)
		found |= strstr(row(y), "end") != NULL;
	assert_true(found);
	diffview_free(d);
	d = diffview_new("t", "", 0, 0);
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_int_equal(diffview_lines(d), 0);
	assert_non_null(strstr(row(23), "no changes"));
	diffview_free(d);
}

/* A big text is laid out a slice at a time: the first page shows at
 * once, the rest comes with diffview_feed(). */
static void
test_big_in_slices(void **state)
{
	struct term *t = *state;
	struct buf b = { 0 };
	char line[64];
	for (int i = 1; i <= 20000; i++) {
		int n = snprintf(line, sizeof line, "+line %d\n", i);
		buf_append(&b, line, (size_t)n);
	}
	diffview_t *d = diffview_new("big", b.data, b.len, 0);
	buf_free(&b);
	assert_true(diffview_pending(d));
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_true(diffview_pending(d));
	assert_string_equal(row(1), "+line 1");
	assert_non_null(strstr(row(23), "so far"));
	int lines = diffview_lines(d), slices = 0;
	assert_true(lines > 22 && lines < 20000);
	while (diffview_feed(d, 16384))
		slices++;
	assert_true(slices > 3);
	assert_false(diffview_pending(d));
	assert_int_equal(diffview_lines(d), 20000);
	struct input_event ev = ch('G');
	diffview_key(d, &ev);
	diffview_draw(d, t->render, t->chrome, 24, 80);
	assert_string_equal(row(22), "+line 20000");
	assert_non_null(strstr(row(23), "lines 19979-20000 of 20000"));
	diffview_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scroll_and_colour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_cut_and_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_in_slices, setup, teardown),
	};
	return cmocka_run_group_tests_name("diffview", tests, NULL, NULL);
}
