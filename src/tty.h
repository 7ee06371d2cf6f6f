/*
 * tty: a user's terminal as tokmux uses it, on both sides of a session.
 *
 * The server side (tty_open ... tty_close): a client's terminal, its
 * descriptors passed over the session socket. The server reads its keys
 * itself and writes what curses drew to it from a queue, without ever
 * blocking: a terminal that stops reading (a dead SSH connection) holds up
 * nothing; past TTY_BEHIND bytes its output is dropped and the UI draws it
 * whole again once it has caught up. The descriptor is reopened, so that
 * making it non-blocking leaves the one the client shares with its shell
 * alone. No curses here.
 *
 * The client side (tty_raw, tty_guard): the terminal's settings saved,
 * raw mode, and what undoes tokmux's modes, restored by the client itself
 * (also by fatal() and the crash handlers) whatever becomes of the server.
 */
#ifndef TOKMUX_TTY_H
#define TOKMUX_TTY_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tty tty_t;

/* Bytes queued for a terminal beyond which its output is dropped (it is
 * drawn whole again once it has taken what was queued). */
#define TTY_BEHIND (1024 * 1024)

/* The terminal on in_fd and out_fd (taken over: tty_close closes them,
 * also on failure). NULL with a malloc'd *err. */
tty_t *tty_open(int in_fd, int out_fd, char **err);
void tty_close(tty_t *t);

int tty_in_fd(const tty_t *t);       /* readable: keys (or end of file) */
int tty_out_fd(const tty_t *t);      /* writable while output is queued */

/* The terminal's size. 0, or -1 if it cannot be read. */
int tty_size(const tty_t *t, int *rows, int *cols);

/* Read keys without blocking: bytes read, 0 at end of file (the terminal
 * hung up), -1 with errno (EAGAIN: none now). */
ssize_t tty_read(tty_t *t, char *buf, size_t len);

/* Queue output and write as much as the terminal takes now. Past
 * TTY_BEHIND queued bytes it is dropped, and tty_behind() says so until
 * tty_flush() has emptied the queue. Returns -1 once writing failed (the
 * terminal is gone), else 0. */
int tty_write(tty_t *t, const char *buf, size_t len);
int tty_flush(tty_t *t);             /* when tty_out_fd() is writable */
size_t tty_queued(const tty_t *t);
int tty_behind(const tty_t *t);      /* output was dropped and the queue is not empty yet */
/* 1 once: the terminal had fallen behind and has now caught up (it must
 * be drawn whole). */
int tty_caught_up(tty_t *t);

/* ---- the client's side ---- */

struct termios;
/* Save fd's settings in *saved and put the terminal in raw mode (no echo,
 * no signals from keys, no output processing: what curses expects).
 * Returns 0, or -1 if fd is not a terminal. */
int tty_raw(int fd, struct termios *saved);
/* Make util_term_restore() (called by fatal(), the crash handlers and the
 * client on any exit) put back *saved and undo every mode tokmux turns on
 * (alternate screen, mouse reporting, bracketed paste, keypad mode, hidden
 * cursor, cursor style), with term's terminfo strings. */
void tty_guard(int fd, const struct termios *saved, const char *term);

#endif
