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
};

/* Start the child. NULL + *err (malloc'd) on failure. */
pane_t *pane_new(const struct pane_spec *spec, char **err);
void pane_free(pane_t *p);        /* hangs up the child and reaps it if it already exited */

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
int pane_exited(const pane_t *p);
/* Human text of the exit: "exited 0", "exited 3", "killed by signal 9". */
void pane_exit_text(const pane_t *p, char *buf, size_t len);

/* Start the same command again in this pane (after it exited). */
int pane_restart(pane_t *p, char **err);

/* util_now_ms() of the last output from the child (0 never). */
int64_t pane_last_output(const pane_t *p);

#endif
