/*
 * pane: one child process on a pseudo-terminal (forkpty) and its virtual
 * terminal. Owns the pty master fd, the child's pid and exit status, the
 * environment given to the child, and the bytes waiting to be written to
 * the child. Never drops output: pane_read feeds everything it reads to the
 * vt, and bytes for the child are queued until the pty accepts them.
 */
#ifndef TOKMUX_PANE_H
#define TOKMUX_PANE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vt.h"

typedef struct pane pane_t;

struct pane_spec {
	const char *name;          /* shown in the title line */
	const char *cmd;           /* run by /bin/sh -c; NULL: $SHELL (fallback /bin/sh) */
	int rows, cols;
	size_t sb_lines, sb_bytes; /* scrollback bounds */
	char *const *env;          /* extra "KEY=VALUE" strings, NULL-terminated; may be NULL */
	const char *cwd;           /* the child's directory; NULL: tokmux's own */
	char *const *argv;         /* exec'd as is (argv[0] a path), NULL-terminated; NULL: cmd
	                            * by /bin/sh -c (cmd is still what the title shows) */
	int defer;                 /* 1: no child yet (the vt shows what is written to it);
	                            * pane_start() starts it */
	/* A question the child asks on the pane before it runs anything (the
	 * first start only): Enter runs cmd (or argv), a line starting with n
	 * runs decline instead (NULL: the shell). NULL: no question. */
	const char *confirm;
	const char *decline;
};

/* Start the child (unless deferred). NULL + *err (malloc'd) on failure. */
pane_t *pane_new(const struct pane_spec *spec, char **err);
/* Start a deferred pane's child, in cwd with argv when given (NULL: the
 * spec's); both are kept for restarts. 0, or -1 + *err. */
int pane_start(pane_t *p, const char *cwd, char *const *argv, char **err);
int pane_started(const pane_t *p);
/* Hang up the child (SIGHUP) and close the pty, reaping the child if it
 * ends at once; the screen stays until pane_free(). */
void pane_hangup(pane_t *p);
/* Hang up and free. Returns the pid of a child that has not ended yet,
 * which the caller must still reap (waitpid on that pid), or 0. */
pid_t pane_free(pane_t *p);

int pane_fd(const pane_t *p);     /* -1 once the pty is closed */
pid_t pane_pid(const pane_t *p);
vt_t *pane_vt(pane_t *p);
const char *pane_name(const pane_t *p);
const char *pane_cmd(const pane_t *p);   /* the command as given, or the shell */

/* Read available child output (up to budget bytes, never more: a small
 * budget keeps the parsing that follows short) into the vt. Returns the
 * number of bytes read; sets the pane closed when the slave side is gone
 * (read returns 0 or EIO). */
size_t pane_read(pane_t *p, size_t budget);
int pane_closed(const pane_t *p);       /* pty EOF seen */

/* Queue bytes for the child and try to write them now. */
void pane_send(pane_t *p, const char *buf, size_t len);
int pane_wants_write(const pane_t *p);  /* queued bytes remain: poll for POLLOUT */
void pane_flush(pane_t *p);             /* write what the pty accepts */

/* Resize vt and pty (vt first, so the child's redraw is parsed at the new size). */
void pane_resize(pane_t *p, int rows, int cols);
int pane_rows(const pane_t *p);
int pane_cols(const pane_t *p);

/* Child state, from SIGCHLD reaping in the UI loop. */
void pane_set_exit(pane_t *p, int wait_status);
/* Collect the child's exit status if it has ended: waitpid() on its own
 * pid only (tokmux runs other children, git, whose status is theirs to
 * collect). Returns 1 when it was reaped now. */
int pane_reap(pane_t *p);
int pane_exited(const pane_t *p);
/* Human text of the exit: "exited 0", "exited 3", "killed by signal 9". */
void pane_exit_text(const pane_t *p, char *buf, size_t len);

/* Start the same command again in this pane (after it exited); a pane
 * never started is started. */
int pane_restart(pane_t *p, char **err);

/* The foreground process group of the pane's terminal (the program the
 * user talks to), or the child when it cannot be read; -1 without a child. */
pid_t pane_foreground(const pane_t *p);

/* util_now_ms() of the last output from the child (0 never). */
int64_t pane_last_output(const pane_t *p);

/* The shell a pane without a command runs: $SHELL when it is an
 * executable absolute path, else /bin/sh. */
const char *pane_shell(void);

#endif
