/* Unit tests for pane: a deferred pane starts later in a given directory
 * with an argv (no shell in between), restarts the same way, reaps only
 * its own child (never another child's exit status), and pane_free hands
 * back a child that has not ended yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grid.h"
#include "pane.h"
#include "testtmp.h"
#include "util.h"

/* The screen's text, rows joined by '\n' (trailing blanks dropped). */
static void
pane_text(pane_t *p, char *buf, size_t len)
{
	grid_t *g = vt_grid(pane_vt(p));
	size_t at = 0;
	for (int r = 0; r < grid_rows(g) && at + 1 < len; r++) {
		const struct grid_cell *c = grid_row(g, r);
		size_t start = at;
		for (int x = 0; x < grid_cols(g) && at + 1 < len; x++)
			buf[at++] = c[x].ch[0] != 0 && c[x].ch[0] < 128 ? (char)c[x].ch[0] : ' ';
		while (at > start && buf[at - 1] == ' ')
			at--;
		if (at + 1 < len)
			buf[at++] = '\n';
	}
	buf[at] = '\0';
}

/* Read the pane until its pty closes (bounded: 5 s). */
static void
pane_drain(pane_t *p)
{
	for (int i = 0; i < 500 && !pane_closed(p); i++) {
		struct pollfd pfd = { .fd = pane_fd(p), .events = POLLIN };
		poll(&pfd, 1, 10);
		pane_read(p, 65536);
	}
	assert_true(pane_closed(p));
}

/* Reap the pane's child (bounded: 5 s). */
static void
pane_wait(pane_t *p)
{
	for (int i = 0; i < 500 && !pane_reap(p); i++)
		usleep(10000);
	assert_true(pane_exited(p));
}

static void
test_deferred_argv_cwd(void **state)
{
	(void)state;
	char dir[64], text[4096], *err = NULL;
	testtmp_make(dir, sizeof dir, "pane");
	struct pane_spec spec = { .name = "w", .cmd = "shown", .rows = 5, .cols = 60,
		.sb_lines = 100, .sb_bytes = 1 << 16, .defer = 1 };
	pane_t *p = pane_new(&spec, &err);
	assert_non_null(p);
	assert_false(pane_started(p));
	assert_int_equal(pane_fd(p), -1);
	assert_string_equal(pane_cmd(p), "shown");
	pane_exit_text(p, text, sizeof text);
	assert_string_equal(text, "not started");
	vt_write(pane_vt(p), "creating...", 11);
	/* the argument is one word with a space and a quote: no shell splits it */
	char *argv[] = { "/bin/sh", "-c", "pwd; printf '<%s>' \"$1\"", "sh", "a b'c", NULL };
	assert_int_equal(pane_start(p, dir, argv, &err), 0);
	assert_true(pane_started(p));
	pane_drain(p);
	pane_wait(p);
	pane_text(p, text, sizeof text);
	assert_non_null(strstr(text, "creating..."));
	assert_non_null(strstr(text, dir));
	assert_non_null(strstr(text, "<a b'c>"));
	assert_int_not_equal(pane_start(p, dir, argv, &err), 0);
	free(err);
	err = NULL;
	/* a restart runs the same argv in the same directory */
	assert_int_equal(pane_restart(p, &err), 0);
	pane_drain(p);
	pane_wait(p);
	pane_text(p, text, sizeof text);
	char *first = strstr(text, "<a b'c>");
	assert_non_null(first);
	assert_non_null(strstr(first + 1, "<a b'c>"));
	assert_int_equal(pane_free(p), 0);
	assert_int_equal(testtmp_remove(dir), 0);
}

/* A missing directory: the child says so and exits 127. */
static void
test_bad_cwd(void **state)
{
	(void)state;
	char text[4096], *err = NULL;
	struct pane_spec spec = { .name = "w", .rows = 5, .cols = 80, .sb_lines = 10,
		.sb_bytes = 1 << 16, .cwd = "/nonexistent/tokmux-dir", .cmd = "true" };
	pane_t *p = pane_new(&spec, &err);
	assert_non_null(p);
	pane_drain(p);
	pane_wait(p);
	pane_text(p, text, sizeof text);
	assert_non_null(strstr(text, "cannot enter /nonexistent/tokmux-dir"));
	pane_exit_text(p, text, sizeof text);
	assert_string_equal(text, "exited 127");
	pane_free(p);
}

/* The UI reaps by pane: another child's exit status stays for its own
 * waiter (git run by a worker thread), even after the pane reaped. */
static void
test_reap_own_child_only(void **state)
{
	(void)state;
	char *err = NULL;
	pid_t other = fork();
	assert_true(other >= 0);
	if (other == 0)
		_exit(7);
	struct pane_spec spec = { .name = "r", .cmd = "exit 5", .rows = 5, .cols = 20,
		.sb_lines = 10, .sb_bytes = 1 << 16 };
	pane_t *p = pane_new(&spec, &err);
	assert_non_null(p);
	usleep(50000);        /* both have ended by now, most likely */
	pane_drain(p);
	pane_wait(p);
	char text[32];
	pane_exit_text(p, text, sizeof text);
	assert_string_equal(text, "exited 5");
	int st = 0;
	assert_int_equal(waitpid(other, &st, 0), other);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
	pane_free(p);
}

/* A child that ignores SIGHUP outlives pane_free: its pid comes back. */
static void
test_free_returns_live_child(void **state)
{
	(void)state;
	char *err = NULL;
	struct pane_spec spec = { .name = "h", .cmd = "trap '' HUP; echo ready; exec sleep 30",
		.rows = 5, .cols = 20, .sb_lines = 10, .sb_bytes = 1 << 16 };
	pane_t *p = pane_new(&spec, &err);
	assert_non_null(p);
	char text[4096] = "";
	for (int i = 0; i < 500 && strstr(text, "ready") == NULL; i++) {
		struct pollfd pfd = { .fd = pane_fd(p), .events = POLLIN };
		poll(&pfd, 1, 10);
		pane_read(p, 65536);
		pane_text(p, text, sizeof text);
	}
	assert_non_null(strstr(text, "ready"));
	pid_t pid = pane_pid(p);
	assert_int_equal(pane_free(p), pid);
	kill(pid, SIGKILL);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deferred_argv_cwd),
		cmocka_unit_test(test_bad_cwd),
		cmocka_unit_test(test_reap_own_child_only),
		cmocka_unit_test(test_free_returns_live_child),
	};
	return cmocka_run_group_tests_name("pane", tests, NULL, NULL);
}
