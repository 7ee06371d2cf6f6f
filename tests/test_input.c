/* Unit tests for input.c: key code mapping, the prefix state machine,
 * Alt-N, lone ESC, bracketed paste markers, terminfo modified keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <stdio.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>
#include <vterm.h>

#include "input.h"

#define MAXEV 64

/* Collected events of a scripted run. */
struct run {
	struct input_event ev[MAXEV];
	int n;
};

static void
collect(struct run *r, const struct input_event *ev, int n)
{
	for (int i = 0; i < n && r->n < MAXEV; i++)
		r->ev[r->n++] = ev[i];
}

/* Feed characters (rc OK) and optionally end the batch. */
static void
feed_chars(input_t *in, struct run *r, const uint32_t *cs, size_t n, int flush)
{
	struct input_event ev[INPUT_EVENTS_MAX];

	for (size_t i = 0; i < n; i++)
		collect(r, ev, input_feed(in, OK, (wint_t)cs[i], ev, INPUT_EVENTS_MAX));
	if (flush)
		collect(r, ev, input_flush(in, ev, INPUT_EVENTS_MAX));
}

static void
feed_str(input_t *in, struct run *r, const char *s, int flush)
{
	uint32_t cs[64];
	size_t n = strlen(s);

	assert_true(n < 64);
	for (size_t i = 0; i < n; i++)
		cs[i] = (unsigned char)s[i];
	feed_chars(in, r, cs, n, flush);
}

static void
feed_code(input_t *in, struct run *r, int code)
{
	struct input_event ev[INPUT_EVENTS_MAX];

	collect(r, ev, input_feed(in, KEY_CODE_YES, (wint_t)code, ev,
	    INPUT_EVENTS_MAX));
}

static void
assert_char(const struct input_event *e, uint32_t ch, int mod)
{
	assert_int_equal(e->kind, INPUT_CHAR);
	assert_int_equal(e->ch, ch);
	assert_int_equal(e->mod, mod);
}

static void
assert_key(const struct input_event *e, int key, int mod)
{
	assert_int_equal(e->kind, INPUT_KEY);
	assert_int_equal(e->key, key);
	assert_int_equal(e->mod, mod);
}

static void
test_map_standard_keys(void **state)
{
	static const struct { int code, key, mod; } cases[] = {
		{ KEY_UP, VTERM_KEY_UP, 0 }, { KEY_DOWN, VTERM_KEY_DOWN, 0 },
		{ KEY_LEFT, VTERM_KEY_LEFT, 0 }, { KEY_RIGHT, VTERM_KEY_RIGHT, 0 },
		{ KEY_HOME, VTERM_KEY_HOME, 0 }, { KEY_END, VTERM_KEY_END, 0 },
		{ KEY_PPAGE, VTERM_KEY_PAGEUP, 0 }, { KEY_NPAGE, VTERM_KEY_PAGEDOWN, 0 },
		{ KEY_IC, VTERM_KEY_INS, 0 }, { KEY_DC, VTERM_KEY_DEL, 0 },
		{ KEY_BACKSPACE, VTERM_KEY_BACKSPACE, 0 },
		{ KEY_ENTER, VTERM_KEY_KP_ENTER, 0 },
		{ KEY_BTAB, VTERM_KEY_TAB, VTERM_MOD_SHIFT },
		{ KEY_SLEFT, VTERM_KEY_LEFT, VTERM_MOD_SHIFT },
		{ KEY_SRIGHT, VTERM_KEY_RIGHT, VTERM_MOD_SHIFT },
		{ KEY_SR, VTERM_KEY_UP, VTERM_MOD_SHIFT },
		{ KEY_SF, VTERM_KEY_DOWN, VTERM_MOD_SHIFT },
		{ KEY_SHOME, VTERM_KEY_HOME, VTERM_MOD_SHIFT },
		{ KEY_SEND, VTERM_KEY_END, VTERM_MOD_SHIFT },
		{ KEY_SDC, VTERM_KEY_DEL, VTERM_MOD_SHIFT },
		{ KEY_SIC, VTERM_KEY_INS, VTERM_MOD_SHIFT },
		{ KEY_SPREVIOUS, VTERM_KEY_PAGEUP, VTERM_MOD_SHIFT },
		{ KEY_SNEXT, VTERM_KEY_PAGEDOWN, VTERM_MOD_SHIFT },
	};
	int key, mod;
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		key = mod = -1;
		assert_int_equal(input_map_keycode(cases[i].code, &key, &mod), 1);
		assert_int_equal(key, cases[i].key);
		assert_int_equal(mod, cases[i].mod);
	}
	assert_int_equal(input_map_keycode(KEY_A1, &key, &mod), 0);
	assert_int_equal(input_map_keycode(KEY_MOUSE, &key, &mod), 0);
	assert_int_equal(input_map_keycode(KEY_MAX + 4000, &key, &mod), 0);
}

static void
test_map_function_keys(void **state)
{
	int key, mod;
	(void)state;

	for (int n = 1; n <= 12; n++) {
		assert_true(input_map_keycode(KEY_F(n), &key, &mod));
		assert_int_equal(key, VTERM_KEY_FUNCTION(n));
		assert_int_equal(mod, 0);
		assert_true(input_map_keycode(KEY_F(n + 12), &key, &mod));
		assert_int_equal(key, VTERM_KEY_FUNCTION(n));
		assert_int_equal(mod, VTERM_MOD_SHIFT);
		assert_true(input_map_keycode(KEY_F(n + 24), &key, &mod));
		assert_int_equal(key, VTERM_KEY_FUNCTION(n));
		assert_int_equal(mod, VTERM_MOD_CTRL);
	}
	assert_true(input_map_keycode(KEY_F(49), &key, &mod));
	assert_int_equal(key, VTERM_KEY_FUNCTION(1));
	assert_int_equal(mod, VTERM_MOD_ALT);
	assert_int_equal(input_map_keycode(KEY_F(0), &key, &mod), 0);
}

static void
test_plain_and_control_chars(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	static const uint32_t cs[] = { 'a', 0x4e2d, 13, 9, 8, 127, 3, 0, 12 };
	struct run r = { .n = 0 };
	(void)state;

	feed_chars(in, &r, cs, sizeof cs / sizeof cs[0], 1);
	assert_int_equal(r.n, 9);
	assert_char(&r.ev[0], 'a', 0);
	assert_char(&r.ev[1], 0x4e2d, 0);
	assert_key(&r.ev[2], VTERM_KEY_ENTER, 0);
	assert_key(&r.ev[3], VTERM_KEY_TAB, 0);
	assert_char(&r.ev[4], 8, 0);       /* Ctrl-h (issue 19) */
	assert_key(&r.ev[5], VTERM_KEY_BACKSPACE, 0);
	assert_char(&r.ev[6], 3, 0);
	assert_char(&r.ev[7], 0, 0);
	assert_char(&r.ev[8], 12, 0);     /* Ctrl-l alone goes to the pane */
	input_free(in);
}

static void
test_keycodes_through_feed(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	(void)state;

	feed_code(in, &r, KEY_UP);
	feed_code(in, &r, KEY_MOUSE);
	feed_code(in, &r, KEY_RESIZE);
	feed_code(in, &r, KEY_A1);        /* unmapped: nothing */
	feed_code(in, &r, KEY_F(14));
	assert_int_equal(r.n, 4);
	assert_key(&r.ev[0], VTERM_KEY_UP, 0);
	assert_int_equal(r.ev[1].kind, INPUT_MOUSE);
	assert_int_equal(r.ev[2].kind, INPUT_RESIZE);
	assert_key(&r.ev[3], VTERM_KEY_FUNCTION(2), VTERM_MOD_SHIFT);
	input_free(in);
}

static void
test_lone_esc_and_alt(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	struct input_event ev[INPUT_EVENTS_MAX];
	(void)state;

	/* ESC waits for the end of the batch */
	assert_int_equal(input_feed(in, OK, 27, ev, INPUT_EVENTS_MAX), 0);
	assert_int_equal(input_flush(in, ev, INPUT_EVENTS_MAX), 1);
	assert_key(&ev[0], VTERM_KEY_ESCAPE, 0);
	assert_int_equal(input_flush(in, ev, INPUT_EVENTS_MAX), 0);

	feed_str(in, &r, "\033x", 1);
	feed_str(in, &r, "\033\r", 1);
	feed_str(in, &r, "\033\033", 1);
	feed_str(in, &r, "\0335", 1);
	assert_int_equal(r.n, 5);
	assert_char(&r.ev[0], 'x', VTERM_MOD_ALT);
	assert_key(&r.ev[1], VTERM_KEY_ENTER, VTERM_MOD_ALT);
	assert_key(&r.ev[2], VTERM_KEY_ESCAPE, 0);
	assert_key(&r.ev[3], VTERM_KEY_ESCAPE, 0);
	assert_char(&r.ev[4], '5', VTERM_MOD_ALT);

	/* ESC followed by a key code: both are delivered, in order */
	r.n = 0;
	feed_str(in, &r, "\033", 0);
	feed_code(in, &r, KEY_UP);
	assert_int_equal(r.n, 2);
	assert_key(&r.ev[0], VTERM_KEY_ESCAPE, 0);
	assert_key(&r.ev[1], VTERM_KEY_UP, 0);
	input_free(in);
}

static void
test_alt_digits_focus(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	(void)state;

	for (int i = 0; i < 4; i++) {
		struct run r = { .n = 0 };
		uint32_t cs[2] = { 27, (uint32_t)('1' + i) };
		feed_chars(in, &r, cs, 2, 1);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.ev[0].kind, INPUT_FOCUS);
		assert_int_equal(r.ev[0].arg, i);
	}
	input_free(in);
}

static void
test_prefix_commands(void **state)
{
	static const struct { uint32_t c; enum input_kind kind; } cmds[] = {
		{ 'z', INPUT_ZOOM }, { '[', INPUT_SCROLL_MODE },
		{ 'c', INPUT_NEW_PANE }, { 'x', INPUT_CLOSE_PANE },
		{ 'q', INPUT_QUIT }, { '?', INPUT_HELP }, { 's', INPUT_SIDEBAR },
		{ 'b', INPUT_CEILING }, { 'f', INPUT_MODEL },
		{ 'm', INPUT_REQUESTS }, { 'r', INPUT_RESTART }, { 12, INPUT_REDRAW },
		{ 'C', INPUT_NEW_WT_PANE }, { 'D', INPUT_DIFF },
	};
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	(void)state;

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		struct run r = { .n = 0 };
		uint32_t c7 = 7;
		feed_chars(in, &r, &c7, 1, 0);
		assert_int_equal(r.n, 0);
		assert_true(input_prefix_pending(in));
		feed_chars(in, &r, &cmds[i].c, 1, 1);
		assert_false(input_prefix_pending(in));
		assert_int_equal(r.n, 1);
		assert_int_equal(r.ev[0].kind, cmds[i].kind);
	}
	input_free(in);
}

static void
test_prefix_focus(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	static const int codes[] = { KEY_UP, KEY_DOWN, KEY_LEFT, KEY_RIGHT };
	static const char hjkl[] = "kjhl";        /* same order: up down left right */
	static const int dy[] = { -1, 1, 0, 0 }, dx[] = { 0, 0, -1, 1 };
	(void)state;

	feed_str(in, &r, "\a1\a2\a3\a4", 1);
	assert_int_equal(r.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r.ev[i].kind, INPUT_FOCUS);
		assert_int_equal(r.ev[i].arg, i);
	}
	for (int i = 0; i < 4; i++) {
		char s[3] = { 7, hjkl[i], 0 };
		r.n = 0;
		feed_str(in, &r, "\a", 0);
		feed_code(in, &r, codes[i]);
		feed_str(in, &r, s, 1);
		assert_int_equal(r.n, 2);
		for (int j = 0; j < 2; j++) {
			assert_int_equal(r.ev[j].kind, INPUT_FOCUS_DIR);
			assert_int_equal(r.ev[j].dy, dy[i]);
			assert_int_equal(r.ev[j].dx, dx[i]);
		}
	}
	input_free(in);
}

static void
test_prefix_twice_and_swallow(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	(void)state;

	feed_str(in, &r, "\a\a", 1);
	assert_int_equal(r.n, 1);
	assert_char(&r.ev[0], 7, 0);
	assert_false(input_prefix_pending(in));

	/* an unknown key after the prefix is swallowed, then typing resumes */
	r.n = 0;
	feed_str(in, &r, "\ayA", 1);
	assert_int_equal(r.n, 1);
	assert_char(&r.ev[0], 'A', 0);

	/* an unknown key code too */
	r.n = 0;
	feed_str(in, &r, "\a", 0);
	feed_code(in, &r, KEY_F(1));
	feed_str(in, &r, "b", 1);
	assert_int_equal(r.n, 1);
	assert_char(&r.ev[0], 'b', 0);

	/* a lone ESC cancels the prefix */
	r.n = 0;
	feed_str(in, &r, "\a\033", 1);
	assert_int_equal(r.n, 0);
	assert_false(input_prefix_pending(in));

	/* resize and mouse pass through without eating the prefix */
	r.n = 0;
	feed_str(in, &r, "\a", 0);
	feed_code(in, &r, KEY_RESIZE);
	assert_true(input_prefix_pending(in));
	feed_str(in, &r, "z", 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].kind, INPUT_RESIZE);
	assert_int_equal(r.ev[1].kind, INPUT_ZOOM);
	input_free(in);
}

static void
test_custom_prefix(void **state)
{
	input_t *in = input_new(1);       /* Ctrl-a */
	struct run r = { .n = 0 };
	(void)state;

	feed_str(in, &r, "\a\001z\001\001", 1);
	assert_int_equal(r.n, 3);
	assert_char(&r.ev[0], 7, 0);      /* Ctrl-g is an ordinary key now */
	assert_int_equal(r.ev[1].kind, INPUT_ZOOM);
	assert_char(&r.ev[2], 1, 0);
	input_free(in);

	/* nonsense prefixes fall back to Ctrl-g */
	in = input_new(27);
	r.n = 0;
	feed_str(in, &r, "\aq", 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].kind, INPUT_QUIT);
	input_free(in);
	in = input_new(300);
	r.n = 0;
	feed_str(in, &r, "\aq", 1);
	assert_int_equal(r.ev[0].kind, INPUT_QUIT);
	input_free(in);
}

static void
test_bracketed_paste(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	(void)state;

	feed_str(in, &r, "\033[200~a\r\t\0331\033[201~\r", 1);
	assert_int_equal(r.n, 8);
	assert_int_equal(r.ev[0].kind, INPUT_PASTE_START);
	assert_char(&r.ev[1], 'a', 0);
	assert_char(&r.ev[2], 13, 0);     /* raw inside a paste */
	assert_char(&r.ev[3], 9, 0);
	assert_char(&r.ev[4], 27, 0);     /* no Alt-1 inside a paste */
	assert_char(&r.ev[5], '1', 0);
	assert_int_equal(r.ev[6].kind, INPUT_PASTE_END);
	assert_key(&r.ev[7], VTERM_KEY_ENTER, 0);
	assert_false(input_in_paste(in));

	/* a paste may span batches */
	r.n = 0;
	feed_str(in, &r, "\033[200~x", 1);
	assert_true(input_in_paste(in));
	feed_str(in, &r, "\033\033[201~", 1);
	assert_false(input_in_paste(in));
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[0].kind, INPUT_PASTE_START);
	assert_char(&r.ev[1], 'x', 0);
	assert_char(&r.ev[2], 27, 0);
	assert_int_equal(r.ev[3].kind, INPUT_PASTE_END);
	input_free(in);
}

static void
test_broken_paste_marker(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	struct input_event ev[1];
	(void)state;

	feed_str(in, &r, "\033[20x", 1);
	assert_int_equal(r.n, 4);
	assert_char(&r.ev[0], '[', VTERM_MOD_ALT);
	assert_char(&r.ev[1], '2', 0);
	assert_char(&r.ev[2], '0', 0);
	assert_char(&r.ev[3], 'x', 0);

	r.n = 0;
	feed_str(in, &r, "\033[2", 1);    /* cut by the end of the batch */
	assert_int_equal(r.n, 2);
	assert_char(&r.ev[0], '[', VTERM_MOD_ALT);
	assert_char(&r.ev[1], '2', 0);

	r.n = 0;
	feed_str(in, &r, "\033[\033", 1);  /* a new ESC restarts */
	assert_int_equal(r.n, 2);
	assert_char(&r.ev[0], '[', VTERM_MOD_ALT);
	assert_key(&r.ev[1], VTERM_KEY_ESCAPE, 0);
	assert_false(input_in_paste(in));

	/* a too-small output array drops events but never overflows */
	feed_str(in, &r, "\033[20", 0);
	assert_int_equal(input_feed(in, OK, 'y', ev, 1), 1);
	assert_char(&ev[0], '[', VTERM_MOD_ALT);
	assert_int_equal(input_flush(in, ev, 1), 0);
	input_free(in);
}

/* With a real terminfo entry, kLFT5 etc. map to modified keys. */
static void
test_terminfo_modified_keys(void **state)
{
	static const struct { const char *cap; int key, mod; } caps[] = {
		{ "kLFT5", VTERM_KEY_LEFT, VTERM_MOD_CTRL },
		{ "kRIT3", VTERM_KEY_RIGHT, VTERM_MOD_ALT },
		{ "kUP6", VTERM_KEY_UP, VTERM_MOD_CTRL | VTERM_MOD_SHIFT },
		{ "kDN", VTERM_KEY_DOWN, VTERM_MOD_SHIFT },
		{ "kDC5", VTERM_KEY_DEL, VTERM_MOD_CTRL },
		{ "kHOM7", VTERM_KEY_HOME, VTERM_MOD_CTRL | VTERM_MOD_ALT },
		{ "kNXT5", VTERM_KEY_PAGEDOWN, VTERM_MOD_CTRL },
	};
	FILE *out = fopen("/dev/null", "w"), *inf = fopen("/dev/null", "r");
	SCREEN *scr;
	int key, mod, found = 0;
	(void)state;

	assert_non_null(out);
	assert_non_null(inf);
	scr = newterm("xterm-256color", out, inf);
	if (scr == NULL) {
		fclose(out);
		fclose(inf);
		skip();
	}
	keypad(stdscr, TRUE);
	/* before the table is built, an extended code is not mapped */
	char *s5 = tigetstr("kLFT5");
	assert_true(s5 != NULL && s5 != (char *)-1 && key_defined(s5) > KEY_MAX);
	assert_int_equal(input_map_keycode(key_defined(s5), &key, &mod), 0);
	input_init_terminfo_keys();
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		char *s = tigetstr(caps[i].cap);
		int code;
		if (s == NULL || s == (char *)-1)
			continue;
		/* kDN is the same string as kind (KEY_SF): either way it maps */
		code = key_defined(s);
		assert_true(code > 0);
		key = mod = -1;
		assert_int_equal(input_map_keycode(code, &key, &mod), 1);
		assert_int_equal(key, caps[i].key);
		assert_int_equal(mod, caps[i].mod);
		found++;
	}
	assert_true(found >= 5);
	endwin();
	delscreen(scr);
	fclose(out);
	fclose(inf);
}

/* Bytes from a "terminal" of type term through ncurses' wget_wch into
 * input; the events in *r. Returns -1 if there is no such terminfo. */
static int
through_ncurses(const char *term, const char *bytes, size_t len,
    struct run *r)
{
	FILE *out, *inf;
	SCREEN *scr;
	input_t *in;
	struct input_event ev[INPUT_EVENTS_MAX];
	int p[2], rc, guard = 0;
	wint_t wc;

	setlocale(LC_ALL, "C.UTF-8");
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], bytes, len), (ssize_t)len);
	out = fopen("/dev/null", "w");
	inf = fdopen(p[0], "r");
	assert_non_null(out);
	assert_non_null(inf);
	scr = newterm(term, out, inf);
	if (scr == NULL) {
		fclose(out);
		fclose(inf);
		close(p[1]);
		return -1;
	}
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	input_init_terminfo_keys();
	in = input_new(INPUT_PREFIX_DEFAULT);
	while ((rc = wget_wch(stdscr, &wc)) != ERR && guard++ < 100)
		collect(r, ev, input_feed(in, rc, wc, ev, INPUT_EVENTS_MAX));
	collect(r, ev, input_flush(in, ev, INPUT_EVENTS_MAX));
	endwin();
	delscreen(scr);
	fclose(out);
	fclose(inf);
	close(p[1]);
	input_free(in);
	return 0;
}

/* End to end: bytes from a "terminal" through ncurses' wget_wch into input. */
static void
test_through_ncurses(void **state)
{
	static const char bytes[] = "\033[200~ab\033[201~\033[1;5D\033x\a1";
	struct run r = { .n = 0 };
	(void)state;

	if (through_ncurses("xterm-256color", bytes, sizeof bytes - 1, &r) != 0)
		skip();
	assert_int_equal(r.n, 7);
	assert_int_equal(r.ev[0].kind, INPUT_PASTE_START);
	assert_char(&r.ev[1], 'a', 0);
	assert_char(&r.ev[2], 'b', 0);
	assert_int_equal(r.ev[3].kind, INPUT_PASTE_END);
	assert_key(&r.ev[4], VTERM_KEY_LEFT, VTERM_MOD_CTRL);
	assert_char(&r.ev[5], 'x', VTERM_MOD_ALT);
	assert_int_equal(r.ev[6].kind, INPUT_FOCUS);
	assert_int_equal(r.ev[6].arg, 0);
}

/* The terminal's answers to OSC 10/11 (asked at start) come with the keys:
 * they become colour events, never keys for a pane. */
static void
test_terminal_colour_answers(void **state)
{
	input_t *in = input_new(INPUT_PREFIX_DEFAULT);
	struct run r = { .n = 0 };
	(void)state;

	feed_str(in, &r, "\033]11;rgb:1010/2020/3030\033\\a", 1);
	feed_str(in, &r, "\033]10;rgb:ff/ff/ff\ab", 1);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[0].kind, INPUT_TERM_COLOR);
	assert_int_equal(r.ev[0].arg, 11);
	assert_int_equal(r.ev[0].ch, 0x102030);
	assert_char(&r.ev[1], 'a', 0);
	assert_int_equal(r.ev[2].kind, INPUT_TERM_COLOR);
	assert_int_equal(r.ev[2].arg, 10);
	assert_int_equal(r.ev[2].ch, 0xffffff);
	assert_char(&r.ev[3], 'b', 0);
	/* cut between batches: held, not replayed as keys */
	r.n = 0;
	feed_str(in, &r, "\033]11;rgb:0/0", 1);
	feed_str(in, &r, "/0\a", 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].kind, INPUT_TERM_COLOR);
	/* something else after "ESC ]": Alt-] and what was typed */
	r.n = 0;
	feed_str(in, &r, "\033]1x", 1);
	assert_int_equal(r.n, 3);
	assert_char(&r.ev[0], ']', VTERM_MOD_ALT);
	assert_char(&r.ev[1], '1', 0);
	assert_char(&r.ev[2], 'x', 0);
	/* an answer that is no colour is dropped; an ESC that is not ST ends
	 * it and starts the next sequence (here Alt-x) */
	r.n = 0;
	feed_str(in, &r, "\033]10;?\033x", 1);
	assert_int_equal(r.n, 1);
	assert_char(&r.ev[0], 'x', VTERM_MOD_ALT);
	input_free(in);
}

/*
 * Issue 19: with a terminfo whose kbs is ^H (vt100), ncurses turned both
 * Backspace and Ctrl-h into KEY_BACKSPACE, and the pane got DEL for
 * Ctrl-h. ^H now reaches the pane as 0x08 (the tty's erase character is
 * not ^H here: not a tty at all), DEL as Backspace (the pane's kbs).
 */
static void
test_ctrl_h_with_kbs_ctrl_h(void **state)
{
	static const char bytes[] = "\b\x7f\x1b\b";
	struct run r = { .n = 0 };
	(void)state;

	if (through_ncurses("vt100", bytes, sizeof bytes - 1, &r) != 0)
		skip();
	assert_int_equal(r.n, 3);
	assert_char(&r.ev[0], 8, 0);
	assert_key(&r.ev[1], VTERM_KEY_BACKSPACE, 0);
	assert_char(&r.ev[2], 8, VTERM_MOD_ALT);   /* Alt-Ctrl-h */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_standard_keys),
		cmocka_unit_test(test_map_function_keys),
		cmocka_unit_test(test_plain_and_control_chars),
		cmocka_unit_test(test_ctrl_h_with_kbs_ctrl_h),
		cmocka_unit_test(test_terminal_colour_answers),
		cmocka_unit_test(test_keycodes_through_feed),
		cmocka_unit_test(test_lone_esc_and_alt),
		cmocka_unit_test(test_alt_digits_focus),
		cmocka_unit_test(test_prefix_commands),
		cmocka_unit_test(test_prefix_focus),
		cmocka_unit_test(test_prefix_twice_and_swallow),
		cmocka_unit_test(test_custom_prefix),
		cmocka_unit_test(test_bracketed_paste),
		cmocka_unit_test(test_broken_paste_marker),
		cmocka_unit_test(test_terminfo_modified_keys),
		cmocka_unit_test(test_through_ncurses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
