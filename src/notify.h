/*
 * notify: telling the user that a pane needs them, outside tokmux: how the
 * outer terminal shows a notification (OSC 9, OSC 777 notify, OSC 99, or
 * only its bell; chosen by the config's notify_osc or detected from
 * TERM_PROGRAM and friends) and the bytes that ask for it, and running the
 * config's notify_command (through /bin/sh -c, with the pane, the state and
 * the message in its environment, never on its command line) on a worker
 * thread with a deadline, one at a time.
 */
#ifndef TOKMUX_NOTIFY_H
#define TOKMUX_NOTIFY_H

#include <stddef.h>

enum notify_method {
	NOTIFY_OFF,       /* nothing */
	NOTIFY_BEL,       /* the terminal's bell */
	NOTIFY_OSC9,      /* iTerm2: ESC ] 9 ; text ST */
	NOTIFY_OSC777,    /* rxvt, ghostty, WezTerm, foot: ESC ] 777 ; notify ; title ; body ST */
	NOTIFY_OSC99,     /* kitty: ESC ] 99 ; ; text ST */
};

#define NOTIFY_AUTO (-1)

/* "auto", "osc9", "osc777", "osc99", "bel", "off" -> a method or
 * NOTIFY_AUTO; -2 for anything else. */
int notify_method_parse(const char *s);
const char *notify_method_name(int m);

/* What the outer terminal understands, from its environment (any may be
 * NULL): inside tmux or screen only the bell reaches the user; iTerm2
 * takes OSC 9; ghostty, WezTerm and foot OSC 777; kitty OSC 99. */
enum notify_method notify_method_detect(const char *term_program, const char *term,
    const char *kitty_window_id, const char *tmux, const char *sty);

/* The bytes that ask the outer terminal for a notification with title and
 * body (cleaned of controls and ';' where the format needs it), NUL-
 * terminated in buf; returns their length (0 for NOTIFY_OFF). */
size_t notify_sequence(enum notify_method m, const char *title, const char *body, char *buf,
    size_t len);

/* One notification, for notify_command's environment. */
struct notify_event {
	int pane;                 /* 1-based */
	const char *name;         /* the pane's name */
	const char *state;        /* needs-input, idle, error */
	const char *kind;         /* permission, question, ... or "" */
	const char *message;      /* what the agent said, or the last error; "" none */
	const char *text;         /* one line for a person: "pane 2 claude needs input: ..." */
};

typedef struct notifier notifier_t;

/* A failure of the command, on the thread that calls notifier_dispatch(). */
typedef void (*notifier_error_fn)(const char *msg, void *user);

/* command: the shell command (run by /bin/sh -c); NULL or "": none.
 * NULL + *err (malloc'd) if the worker thread cannot start. */
notifier_t *notifier_new(const char *command, int timeout_ms, notifier_error_fn on_error,
    void *user, char **err);
void notifier_free(notifier_t *n);   /* waits for a command that runs (it is killed) */

/* Run the command for ev (copied) off this thread; dropped, with an error,
 * when NOTIFIER_QUEUE_MAX wait already. Nothing when there is no command. */
#define NOTIFIER_QUEUE_MAX 8
void notifier_run(notifier_t *n, const struct notify_event *ev);

/* Readable when finished commands wait for notifier_dispatch(); -1 none. */
int notifier_fd(const notifier_t *n);
void notifier_dispatch(notifier_t *n);

/* Commands run so far (finished). */
int notifier_count(const notifier_t *n);

#endif
