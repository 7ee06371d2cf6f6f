/*
 * tty: a client's terminal on the server side (its own non-blocking
 * descriptor, an output queue, reads), and the client's raw mode and
 * restore string (terminfo, without a curses screen).
 */
#include "tty.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

struct tty {
	int fd;                   /* ours: reads and writes, non-blocking */
	int in_fd, out_fd;        /* as passed; -1 once replaced by fd */
	struct buf q;             /* bytes for the terminal not yet written */
	int failed;
	int dropped;              /* output was dropped: drawn whole once the queue is empty */
	int caught_up;
};

/* A descriptor of our own on the terminal (a new open file description,
 * so O_NONBLOCK does not reach the client's shell), or -1. */
static int
tty_reopen(int fd)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
}

tty_t *
tty_open(int in_fd, int out_fd, char **err)
{
	tty_t *t = xcalloc(1, sizeof *t);
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	t->fd = tty_reopen(out_fd);
	if (t->fd >= 0) {
		close(in_fd);
		close(out_fd);
		t->in_fd = t->out_fd = -1;
		return t;
	}
	/* cannot reopen it: use the passed descriptors, made non-blocking (the
	 * client makes its terminal blocking again when it exits) */
	if (util_set_nonblock(in_fd) < 0 || util_set_nonblock(out_fd) < 0) {
		*err = xasprintf("cannot use the terminal: %s", strerror(errno));
		tty_close(t);
		return NULL;
	}
	util_set_cloexec(in_fd);
	util_set_cloexec(out_fd);
	return t;
}

void
tty_close(tty_t *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->in_fd >= 0)
		close(t->in_fd);
	if (t->out_fd >= 0 && t->out_fd != t->in_fd)
		close(t->out_fd);
	buf_free(&t->q);
	free(t);
}

int
tty_in_fd(const tty_t *t)
{
	return t->fd >= 0 ? t->fd : t->in_fd;
}

int
tty_out_fd(const tty_t *t)
{
	return t->fd >= 0 ? t->fd : t->out_fd;
}

int
tty_size(const tty_t *t, int *rows, int *cols)
{
	struct winsize ws;
	if (ioctl(tty_out_fd(t), TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return -1;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 0;
}

ssize_t
tty_read(tty_t *t, char *buf, size_t len)
{
	ssize_t n;
	do
		n = read(tty_in_fd(t), buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EIO)
		return 0;      /* a terminal whose other side is gone */
	return n;
}

int
tty_flush(tty_t *t)
{
	while (t->q.len > 0 && !t->failed) {
		ssize_t n = write(tty_out_fd(t), t->q.data, t->q.len);
		if (n > 0) {
			buf_consume(&t->q, (size_t)n);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else {
			t->failed = 1;
			buf_consume(&t->q, t->q.len);
		}
	}
	if (t->q.len == 0 && t->dropped && !t->failed) {
		t->dropped = 0;
		t->caught_up = 1;
	}
	return t->failed ? -1 : 0;
}

int
tty_write(tty_t *t, const char *buf, size_t len)
{
	if (t->failed)
		return -1;
	if (t->dropped || (t->q.len > 0 && t->q.len + len > TTY_BEHIND)) {
		t->dropped = 1;       /* it cannot keep up: drawn whole later */
		return 0;
	}
	buf_append(&t->q, buf, len);
	return tty_flush(t);
}

size_t
tty_queued(const tty_t *t)
{
	return t->q.len;
}

int
tty_behind(const tty_t *t)
{
	return t->dropped;
}

int
tty_caught_up(tty_t *t)
{
	int c = t->caught_up;
	t->caught_up = 0;
	return c;
}

/* ---- the client's side ---- */

int
tty_raw(int fd, struct termios *saved)
{
	struct termios tio;
	if (tcgetattr(fd, saved) < 0)
		return -1;
	tio = *saved;
	/* as tmux's client: raw keys, no echo, no output processing */
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | ICRNL | INLCR | IGNCR | IMAXBEL | ISTRIP);
	tio.c_iflag |= IGNBRK;
	tio.c_oflag &= ~(tcflag_t)(OPOST | ONLCR | OCRNL | ONLRET);
	tio.c_lflag &= ~(tcflag_t)(IEXTEN | ICANON | ECHO | ECHOE | ECHONL | ECHOCTL | ECHOPRT |
	    ECHOKE | ISIG);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &tio);
}

/* Append terminfo capability cap to buf (without "$<..>" padding). */
static void
tty_cap_append(char *buf, size_t len, const char *cap)
{
	const char *s = tigetstr(cap);
	if (s == NULL || s == (const char *)-1)
		return;
	size_t at = strlen(buf);
	while (*s != '\0' && at + 1 < len) {
		if (s[0] == '$' && s[1] == '<' && strchr(s, '>') != NULL) {
			s = strchr(s, '>') + 1;
			continue;
		}
		buf[at++] = *s++;
	}
	buf[at] = '\0';
}

void
tty_guard(int fd, const struct termios *saved, const char *term)
{
	char reset[256] = "";
	int e;
	TERMINAL *old = cur_term;
	if (setupterm(term != NULL && term[0] != '\0' ? term : "xterm-256color", fd, &e) == OK) {
		tty_cap_append(reset, sizeof reset, "sgr0");
		/* mouse reporting (every mode curses may ask for), bracketed paste */
		snprintf(reset + strlen(reset), sizeof reset - strlen(reset),
		    "\033[?1000l\033[?1002l\033[?1003l\033[?1005l\033[?1006l\033[?2004l");
		tty_cap_append(reset, sizeof reset, "rmkx");
		tty_cap_append(reset, sizeof reset, "cnorm");
		tty_cap_append(reset, sizeof reset, "Se");      /* the terminal's own cursor style */
		tty_cap_append(reset, sizeof reset, "rmcup");
		del_curterm(cur_term);
		set_curterm(old);
	} else {
		snprintf(reset, sizeof reset, "\033[0m\033[?1000l\033[?1002l\033[?1003l\033[?1005l"
		    "\033[?1006l\033[?2004l\033[?25h\033[0 q\033[?1049l");
	}
	util_term_save(fd, saved, reset);
	util_crash_handlers();
}
