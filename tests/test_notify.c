/*
 * Tests for notify: the outer terminal's method from its environment and
 * the config's word, the bytes of each notification (program text never
 * carries a control into them), and notify_command: its environment, once
 * per notification, in order, off the calling thread, a failure reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"
#include "testtmp.h"
#include "util.h"

static void
test_methods(void **state)
{
	(void)state;
	assert_int_equal(notify_method_parse("auto"), NOTIFY_AUTO);
	assert_int_equal(notify_method_parse(NULL), NOTIFY_AUTO);
	assert_int_equal(notify_method_parse("osc9"), NOTIFY_OSC9);
	assert_int_equal(notify_method_parse("osc777"), NOTIFY_OSC777);
	assert_int_equal(notify_method_parse("osc99"), NOTIFY_OSC99);
	assert_int_equal(notify_method_parse("bel"), NOTIFY_BEL);
	assert_int_equal(notify_method_parse("off"), NOTIFY_OFF);
	assert_int_equal(notify_method_parse("OSC9"), -2);
	assert_string_equal(notify_method_name(NOTIFY_OSC777), "osc777");
	assert_string_equal(notify_method_name(NOTIFY_AUTO), "auto");
	assert_int_equal(notify_method_detect("iTerm.app", "xterm-256color", NULL, NULL, NULL), NOTIFY_OSC9);
	assert_int_equal(notify_method_detect("ghostty", "xterm-ghostty", NULL, NULL, NULL), NOTIFY_OSC777);
	assert_int_equal(notify_method_detect("WezTerm", NULL, NULL, NULL, NULL), NOTIFY_OSC777);
	assert_int_equal(notify_method_detect(NULL, "foot", NULL, NULL, NULL), NOTIFY_OSC777);
	assert_int_equal(notify_method_detect(NULL, "xterm-kitty", NULL, NULL, NULL), NOTIFY_OSC99);
	assert_int_equal(notify_method_detect(NULL, "xterm-256color", "1", NULL, NULL), NOTIFY_OSC99);
	assert_int_equal(notify_method_detect(NULL, "xterm-256color", NULL, NULL, NULL), NOTIFY_BEL);
	/* inside tmux or screen: the bell, whatever runs outside */
	assert_int_equal(notify_method_detect("iTerm.app", "tmux-256color", NULL, "/tmp/tmux-0/default,1,0",
	    NULL), NOTIFY_BEL);
	assert_int_equal(notify_method_detect("tmux", "screen", NULL, NULL, NULL), NOTIFY_BEL);
	assert_int_equal(notify_method_detect(NULL, "screen", NULL, NULL, "1.pts"), NOTIFY_BEL);
}

static void
test_sequences(void **state)
{
	(void)state;
	char buf[512];
	size_t n = notify_sequence(NOTIFY_OSC9, "tokmux", "pane 2 claude needs input", buf, sizeof buf);
	assert_string_equal(buf, "\033]9;tokmux: pane 2 claude needs input\a");
	assert_int_equal(n, strlen(buf));
	notify_sequence(NOTIFY_OSC777, "tok;mux", "a;b", buf, sizeof buf);
	assert_string_equal(buf, "\033]777;notify;tok,mux;a,b\a");
	notify_sequence(NOTIFY_OSC99, "tokmux", "done", buf, sizeof buf);
	assert_string_equal(buf, "\033]99;;tokmux: done\033\\");
	notify_sequence(NOTIFY_BEL, "x", "y", buf, sizeof buf);
	assert_string_equal(buf, "\a");
	assert_int_equal(notify_sequence(NOTIFY_OFF, "x", "y", buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	/* a hostile message cannot end the sequence or add its own */
	notify_sequence(NOTIFY_OSC9, "tokmux", "x\a\033]52;c;aGk=\a\033\\y", buf, sizeof buf);
	assert_null(strchr(buf + 1, '\033'));
	assert_int_equal(strchr(buf, '\a') - buf, (long)strlen(buf) - 1);
	/* a short buffer is cut, never overrun */
	char small[8];
	assert_int_equal(notify_sequence(NOTIFY_OSC9, "tokmux", "long body", small, sizeof small), 7);
}

struct errs {
	int n;
	char last[256];
};

static void
on_error(const char *msg, void *user)
{
	struct errs *e = user;
	e->n++;
	snprintf(e->last, sizeof e->last, "%s", msg);
}

/* Dispatch until count commands finished (bounded). */
static void
wait_done(notifier_t *n, int count)
{
	for (int i = 0; i < 500 && notifier_count(n) < count; i++) {
		struct pollfd p = { .fd = notifier_fd(n), .events = POLLIN };
		poll(&p, 1, 20);
		notifier_dispatch(n);
	}
	assert_int_equal(notifier_count(n), count);
}

static char *
slurp(const char *path)
{
	size_t len;
	char *err = NULL;
	char *s = util_read_file(path, 1 << 20, &len, &err);
	if (s == NULL)
		fail_msg("%s", err);
	return s;
}

static void
test_command(void **state)
{
	(void)state;
	char dir[64];
	testtmp_make(dir, sizeof dir, "notify");
	char *out = xasprintf("%s/notes", dir);
	char *cmd = xasprintf("printf '%%s|%%s|%%s|%%s|%%s|%%s\\n' \"$TOKMUX_NOTIFY_PANE\" "
	    "\"$TOKMUX_NOTIFY_NAME\" \"$TOKMUX_NOTIFY_STATE\" \"$TOKMUX_NOTIFY_KIND\" "
	    "\"$TOKMUX_NOTIFY_MESSAGE\" \"$TOKMUX_NOTIFY_TEXT\" >> %s", out);
	struct errs e = { 0 };
	char *err = NULL;
	setenv("TOKMUX_NOTIFY_KIND", "stale", 1);       /* never passed on */
	notifier_t *n = notifier_new(cmd, 5000, on_error, &e, &err);
	assert_non_null(n);
	assert_true(notifier_fd(n) >= 0);
	struct notify_event ev = { 2, "claude", "needs-input", "permission",
		"approve Bash: rm -rf \"$HOME\"; $(reboot)", "pane 2 claude needs input: permission" };
	notifier_run(n, &ev);
	struct notify_event ev2 = { 3, "codex", "idle", "", "", "pane 3 codex: turn over" };
	notifier_run(n, &ev2);
	wait_done(n, 2);
	char *s = slurp(out);
	assert_string_equal(s, "2|claude|needs-input|permission|approve Bash: rm -rf \"$HOME\"; $(reboot)|"
	    "pane 2 claude needs input: permission\n3|codex|idle|||pane 3 codex: turn over\n");
	free(s);
	assert_int_equal(e.n, 0);
	unsetenv("TOKMUX_NOTIFY_KIND");
	notifier_free(n);

	/* a failing command is said; a slow one ends at its deadline */
	n = notifier_new("echo oops >&2; exit 3", 5000, on_error, &e, &err);
	notifier_run(n, &ev);
	wait_done(n, 1);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.last, "notify_command exited 3"));
	notifier_free(n);
	n = notifier_new("sleep 5", 200, on_error, &e, &err);
	int64_t t0 = util_now_ms();
	notifier_run(n, &ev);
	wait_done(n, 1);
	assert_true(util_now_ms() - t0 < 3000);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.last, "timed out"));
	/* no more than NOTIFIER_QUEUE_MAX wait */
	for (int i = 0; i < NOTIFIER_QUEUE_MAX + 2; i++)
		notifier_run(n, &ev);
	assert_int_equal(e.n, 4);
	notifier_free(n);        /* kills the one running, drops the rest */

	/* no command: nothing runs, nothing to watch */
	n = notifier_new(NULL, 0, on_error, &e, &err);
	assert_int_equal(notifier_fd(n), -1);
	notifier_run(n, &ev);
	notifier_dispatch(n);
	assert_int_equal(notifier_count(n), 0);
	notifier_free(n);
	free(cmd);
	free(out);
	assert_int_equal(testtmp_remove(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
