/* Unit tests for tty: a terminal (a pseudo-terminal here) that is read
 * and written without blocking on its own descriptor (the passed one keeps
 * its flags), output queued while the terminal does not read, dropped
 * past TTY_BEHIND and caught up; hang-ups; the client's raw mode and its
 * restore (settings and blocking mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tty.h"
#include "util.h"

/* A pseudo-terminal: *master ours to read what was written, the slave
 * handed to tty_open (twice, as a client hands stdin and stdout). */
static tty_t *
open_pty(int *master, int *slave_kept)
{
	int m, s;
	char *err = NULL;
	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	struct winsize ws = { .ws_row = 33, .ws_col = 101 };
	ioctl(m, TIOCSWINSZ, &ws);
	*slave_kept = dup(s);
	tty_t *t = tty_open(s, dup(s), &err);
	assert_non_null(t);
	*master = m;
	return t;
}

static void
test_io(void **state)
{
	(void)state;
	int m, s;
	tty_t *t = open_pty(&m, &s);
	int rows, cols;
	assert_int_equal(tty_size(t, &rows, &cols), 0);
	assert_int_equal(rows, 33);
	assert_int_equal(cols, 101);
	/* its own descriptor is non-blocking; the one passed (the client's) is not */
	assert_true(fcntl(tty_out_fd(t), F_GETFL) & O_NONBLOCK);
	assert_false(fcntl(s, F_GETFL) & O_NONBLOCK);
	/* no keys: EAGAIN, not a wait */
	char buf[64];
	assert_int_equal(tty_read(t, buf, sizeof buf), -1);
	assert_int_equal(errno, EAGAIN);
	struct termios tio;     /* raw, as the client leaves it */
	tcgetattr(s, &tio);
	cfmakeraw(&tio);
	tcsetattr(s, TCSANOW, &tio);
	assert_int_equal(write(m, "k", 1), 1);
	usleep(20000);
	assert_int_equal(tty_read(t, buf, sizeof buf), 1);
	/* output reaches the terminal */
	assert_int_equal(tty_write(t, "hello", 5), 0);
	usleep(20000);
	assert_int_equal(read(m, buf, sizeof buf), 5);
	assert_memory_equal(buf, "hello", 5);
	/* the terminal goes away: reads say so, writes fail */
	close(m);
	assert_int_equal(tty_read(t, buf, sizeof buf), 0);
	assert_int_equal(tty_write(t, "x", 1), -1);
	tty_close(t);
	close(s);
}

static void
test_behind(void **state)
{
	(void)state;
	int m, s;
	tty_t *t = open_pty(&m, &s);
	struct termios tio;
	tcgetattr(s, &tio);
	cfmakeraw(&tio);
	tcsetattr(s, TCSANOW, &tio);
	/* nobody reads the terminal: output queues up, never blocks */
	static char chunk[64 * 1024];
	memset(chunk, 'x', sizeof chunk);
	size_t written = 0;
	while (!tty_behind(t) && written < 64 * (size_t)TTY_BEHIND) {
		assert_int_equal(tty_write(t, chunk, sizeof chunk), 0);
		written += sizeof chunk;
	}
	assert_true(tty_behind(t));
	assert_true(tty_queued(t) <= TTY_BEHIND);
	assert_true(tty_queued(t) > 0);
	assert_int_equal(tty_caught_up(t), 0);
	/* what comes now is dropped */
	size_t q = tty_queued(t);
	assert_int_equal(tty_write(t, chunk, 100), 0);
	assert_int_equal(tty_queued(t), q);
	/* the terminal reads everything: caught up, once */
	char buf[64 * 1024];
	util_set_nonblock(m);
	for (int i = 0; i < 10000 && tty_queued(t) > 0; i++) {
		while (read(m, buf, sizeof buf) > 0)
			;
		tty_flush(t);
	}
	assert_int_equal(tty_queued(t), 0);
	assert_false(tty_behind(t));
	assert_int_equal(tty_caught_up(t), 1);
	assert_int_equal(tty_caught_up(t), 0);
	tty_close(t);
	close(s);
	close(m);
}

static void
test_client_side(void **state)
{
	(void)state;
	int m, s;
	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	struct termios saved, now;
	assert_int_equal(tty_raw(s, &saved), 0);
	tcgetattr(s, &now);
	assert_false(now.c_lflag & (ICANON | ECHO | ISIG));
	assert_false(now.c_oflag & OPOST);
	assert_true(saved.c_lflag & ICANON);
	/* the restore: the settings, the blocking mode, and the bytes that
	 * undo tokmux's modes (alternate screen, mouse, bracketed paste, cursor) */
	tty_guard(s, &saved, "xterm-256color");
	util_set_nonblock(s);
	util_term_restore();
	tcgetattr(s, &now);
	assert_true(now.c_lflag & ICANON);
	assert_false(fcntl(s, F_GETFL) & O_NONBLOCK);
	char buf[512];
	usleep(20000);
	ssize_t n = read(m, buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\033[?1049l"));
	assert_non_null(strstr(buf, "\033[?1000l"));
	assert_non_null(strstr(buf, "\033[?2004l"));
	assert_non_null(strstr(buf, "\033[?25h"));
	/* not a terminal */
	assert_int_equal(tty_raw(-1, &saved), -1);
	close(s);
	close(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_behind),
		cmocka_unit_test(test_client_side),
	};
	return cmocka_run_group_tests_name("tty", tests, NULL, NULL);
}
