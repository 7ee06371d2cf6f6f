/*
 * tty: a user's terminal as tokmux uses it, on both sides of a session.
 *
 * The server side (tty_open ... tty_close): an ncurses SCREEN on a
 * client's terminal descriptors, passed over the session socket. Curses
 * reads keys from the terminal directly; what it draws goes into a pipe
 * that is drained at once into an output queue, which is written to the
 * terminal without ever blocking: a terminal that stops reading (a dead
 * SSH connection) holds up nothing but its own screen. Every SCREEN of
 * the process is one of these; tty_select() makes one curses' current.
 *
 * The client side (tty_raw, tty_guard): the terminal's settings saved,
 * raw mode, and what undoes tokmux's modes, restored by the client itself
 * (also by fatal() and the crash handlers) whatever becomes of the server.
 */
#ifndef TOKMUX_TTY_H
#define TOKMUX_TTY_H

#include <stddef.h>

typedef struct tty tty_t;

/* Bytes queued for a terminal beyond which it is not drawn until it has
 * taken them (then it is drawn whole). */
#define TTY_BEHIND (256 * 1024)

struct tty_spec {
	int in_fd, out_fd;        /* the terminal's; taken over (tty_close closes them) */
	const char *term;         /* its TERM; NULL or "": "xterm-256color" */
};

/* A SCREEN on the terminal, made curses' current one, set up for tokmux
 * (raw keys, keypad, mouse, no delay, ESCDELAY at most 25 ms) and sized
 * to the terminal. NULL with a malloc'd *err when curses cannot use it
 * (an unknown TERM); the descriptors are closed then too. */
tty_t *tty_open(const struct tty_spec *s, char **err);
/* End the SCREEN (nothing more is written) and close the descriptors. */
void tty_close(tty_t *t);

void tty_select(tty_t *t);
int tty_in_fd(const tty_t *t);
int tty_out_fd(const tty_t *t);
const char *tty_term(const tty_t *t);

/* The terminal's size now; the SCREEN is resized to it (selects t).
 * Returns 1 if it changed, 0 if not, -1 if it cannot be read. */
int tty_size(tty_t *t, int *rows, int *cols);

/* Bytes of our own for the terminal, after what curses wrote so far. */
void tty_puts(tty_t *t, const char *s);
/* After doupdate(): what curses wrote goes into the queue, and as much of
 * the queue to the terminal as it takes now. Returns -1 once writing
 * failed (the terminal is gone), else 0. Call again when the output
 * descriptor is writable while tty_queued() > 0. */
int tty_flush(tty_t *t);
size_t tty_queued(const tty_t *t);
int tty_failed(const tty_t *t);

/* ---- the client's side ---- */

struct termios;
/* Save fd's settings in *saved and put the terminal in raw mode (no echo,
 * no signals from keys, no output processing: what curses expects).
 * Returns 0, or -1 if fd is not a terminal. */
int tty_raw(int fd, struct termios *saved);
/* Make util_term_restore() (called by fatal(), the crash handlers and the
 * client on any exit) put back *saved and undo every mode tokmux turns on
 * (alternate screen, mouse reporting, bracketed paste, keypad mode, hidden
 * cursor), with term's terminfo strings. */
void tty_guard(int fd, const struct termios *saved, const char *term);

#endif
