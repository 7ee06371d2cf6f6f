/*
 * tty: a terminal under an ncurses SCREEN whose output goes through a pipe
 * (curses writes with blocking write(2) and spins on EAGAIN, so it never
 * gets the terminal itself) into a queue written without blocking; and the
 * client's raw mode and restore string.
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

#define TTY_PIPE_SIZE (1024 * 1024)   /* one frame of curses output fits */

struct tty {
	SCREEN *scr;
	FILE *in_f, *out_f;       /* curses' ends: the terminal's input, the pipe */
	int in_fd;                /* the terminal's input (in_f's) */
	int out_fd;               /* the terminal's output, non-blocking */
	int pipe_rd;              /* what curses wrote */
	char *term;
	struct buf q;             /* bytes for the terminal not yet written */
	int failed;
};

/* A descriptor of our own for the terminal's output, non-blocking, without
 * changing the flags of the one the client shares with its shell. */
static int
tty_out_open(int fd)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int nb = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (nb >= 0) {
		close(fd);
		return nb;
	}
	/* the client clears O_NONBLOCK again when it exits (util_term_restore) */
	util_set_nonblock(fd);
	util_set_cloexec(fd);
	return fd;
}

/* Make curses' pipe: the read end non-blocking, big enough for a frame. */
static int
tty_pipe(int p[2], char **err)
{
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(p[1], F_SETPIPE_SZ, TTY_PIPE_SIZE);
	util_set_nonblock(p[0]);
	return 0;
}

/* Curses' settings for tokmux, on the current SCREEN. */
static void
tty_setup(void)
{
	const char *ed = getenv("ESCDELAY");
	set_escdelay(ed != NULL ? UTIL_MIN(atoi(ed), 25) : 25);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	meta(stdscr, TRUE);
	intrflush(stdscr, FALSE);
	mousemask(ALL_MOUSE_EVENTS, NULL);
	mouseinterval(0);
}

tty_t *
tty_open(const struct tty_spec *s, char **err)
{
	tty_t *t = xcalloc(1, sizeof *t);
	int p[2];
	t->term = xstrdup(s->term != NULL && s->term[0] != '\0' ? s->term : "xterm-256color");
	t->in_fd = s->in_fd;
	t->out_fd = tty_out_open(s->out_fd);
	t->pipe_rd = -1;
	util_set_cloexec(t->in_fd);
	if (tty_pipe(p, err) < 0)
		goto fail;
	t->pipe_rd = p[0];
	t->in_f = fdopen(t->in_fd, "r");
	t->out_f = fdopen(p[1], "w");
	if (t->in_f == NULL || t->out_f == NULL) {
		*err = xasprintf("fdopen: %s", strerror(errno));
		if (t->out_f == NULL)
			close(p[1]);
		goto fail;
	}
	t->in_fd = -1;      /* in_f owns it now */
	t->scr = newterm(t->term, t->out_f, t->in_f);
	if (t->scr == NULL) {
		*err = xasprintf("cannot use the terminal type TERM=%s", t->term);
		goto fail;
	}
	tty_setup();
	int rows, cols;
	tty_size(t, &rows, &cols);
	return t;
fail:
	tty_close(t);
	return NULL;
}

void
tty_close(tty_t *t)
{
	if (t == NULL)
		return;
	if (t->scr != NULL) {
		set_term(t->scr);
		endwin();
		delscreen(t->scr);
	}
	if (t->in_f != NULL)
		fclose(t->in_f);
	else if (t->in_fd >= 0)
		close(t->in_fd);
	if (t->out_f != NULL)
		fclose(t->out_f);
	if (t->pipe_rd >= 0)
		close(t->pipe_rd);
	if (t->out_fd >= 0)
		close(t->out_fd);
	buf_free(&t->q);
	free(t->term);
	free(t);
}

void
tty_select(tty_t *t)
{
	set_term(t->scr);
}

int
tty_in_fd(const tty_t *t)
{
	return fileno(t->in_f);
}

int
tty_out_fd(const tty_t *t)
{
	return t->out_fd;
}

const char *
tty_term(const tty_t *t)
{
	return t->term;
}

int
tty_size(tty_t *t, int *rows, int *cols)
{
	struct winsize ws;
	set_term(t->scr);
	/* (LINES and COLS are the last SCREEN's that changed size, not t's) */
	int had_rows = getmaxy(stdscr), had_cols = getmaxx(stdscr);
	*rows = had_rows;
	*cols = had_cols;
	if (ioctl(t->out_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return -1;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	if (ws.ws_row == had_rows && ws.ws_col == had_cols)
		return 0;
	resizeterm(ws.ws_row, ws.ws_col);
	return 1;
}

/* What curses wrote so far, into the queue. */
static void
tty_drain(tty_t *t)
{
	char chunk[65536];
	ssize_t n;
	fflush(t->out_f);
	while ((n = read(t->pipe_rd, chunk, sizeof chunk)) > 0) {
		if (!t->failed)
			buf_append(&t->q, chunk, (size_t)n);
	}
}

void
tty_puts(tty_t *t, const char *s)
{
	tty_drain(t);
	if (!t->failed)
		buf_append(&t->q, s, strlen(s));
}

int
tty_flush(tty_t *t)
{
	tty_drain(t);
	while (t->q.len > 0 && !t->failed) {
		ssize_t n = write(t->out_fd, t->q.data, t->q.len);
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
	return t->failed ? -1 : 0;
}

size_t
tty_queued(const tty_t *t)
{
	return t->q.len;
}

int
tty_failed(const tty_t *t)
{
	return t->failed;
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
		tty_cap_append(reset, sizeof reset, "rmcup");
		del_curterm(cur_term);
		set_curterm(old);
	} else {
		snprintf(reset, sizeof reset, "\033[0m\033[?1000l\033[?1002l\033[?1003l\033[?1005l"
		    "\033[?1006l\033[?2004l\033[?25h\033[?1049l");
	}
	util_term_save(fd, saved, reset);
	util_crash_handlers();
}
