/* Unit tests for dialog's question box (the keys and the answer; drawing
 * is checked by the UI tests): Enter picks the selected choice, a number
 * picks its choice, Esc and q cancel, the tag comes back, and a box takes
 * every key while it is open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <vterm.h>

#include "dialog.h"

static struct input_event
ch(uint32_t c)
{
	return (struct input_event){ .kind = INPUT_CHAR, .ch = c };
}

static struct input_event
key(int k)
{
	return (struct input_event){ .kind = INPUT_KEY, .key = k };
}

static const char *const choices[] = { "keep both", "keep the branch", "remove both" };
static const char *const text[] = {
	"pane 2 runs in its worktree /a/very/long/path/that/goes/on/and/on/app.tokmux/claude "
	"on branch tokmux/claude, which is a long line that must wrap in the box",
};

static void
open_box(dialog_t *d, int tag)
{
	struct dialog_result r;
	dialog_open_choice(d, "Close pane 2?", text, 1, choices, 3, tag, &r);
	assert_true(r.redraw);
	assert_false(r.answered);
	assert_true(dialog_is_open(d));
}

static void
test_choice(void **state)
{
	(void)state;
	dialog_t *d = dialog_new(NULL, NULL);
	struct dialog_result r;
	struct input_event ev;

	open_box(d, 41);
	ev = ch('j');
	dialog_key(d, &ev, &r);
	ev = ch('x');                         /* not a choice: nothing */
	dialog_key(d, &ev, &r);
	assert_false(r.answered);
	assert_true(dialog_is_open(d));
	ev = key(VTERM_KEY_ENTER);
	dialog_key(d, &ev, &r);
	assert_true(r.answered);
	assert_int_equal(r.chosen, 1);
	assert_int_equal(r.tag, 41);
	assert_true(r.uncovered);
	assert_false(dialog_is_open(d));

	open_box(d, 42);
	ev = key(VTERM_KEY_DOWN);
	dialog_key(d, &ev, &r);
	dialog_key(d, &ev, &r);
	dialog_key(d, &ev, &r);               /* stops at the last */
	ev = key(VTERM_KEY_ENTER);
	dialog_key(d, &ev, &r);
	assert_int_equal(r.chosen, 2);

	open_box(d, 43);
	ev = ch('3');
	dialog_key(d, &ev, &r);
	assert_true(r.answered);
	assert_int_equal(r.chosen, 2);
	assert_int_equal(r.tag, 43);

	open_box(d, 44);
	ev = ch('4');                         /* no fourth choice */
	dialog_key(d, &ev, &r);
	assert_false(r.answered);
	ev = key(VTERM_KEY_ESCAPE);
	dialog_key(d, &ev, &r);
	assert_true(r.answered);
	assert_int_equal(r.chosen, -1);

	open_box(d, 45);
	ev = ch('q');
	dialog_key(d, &ev, &r);
	assert_int_equal(r.chosen, -1);
	assert_int_equal(r.tag, 45);
	dialog_free(d);
}

/* Opening another dialog over a question replaces it; freeing an open one
 * is fine. */
static void
test_replace_and_free_open(void **state)
{
	(void)state;
	dialog_t *d = dialog_new(NULL, NULL);
	struct dialog_result r;
	open_box(d, 1);
	dialog_open_help(d, &r);
	struct input_event ev = ch('1');
	dialog_key(d, &ev, &r);
	assert_false(r.answered);             /* help closed, no answer */
	assert_false(dialog_is_open(d));
	open_box(d, 2);
	dialog_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_replace_and_free_open),
	};
	return cmocka_run_group_tests_name("dialog", tests, NULL, NULL);
}
