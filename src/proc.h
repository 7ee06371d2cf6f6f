/*
 * proc: runs one program from an argv array (never through a shell) with
 * stdin from /dev/null, stdout and stderr captured through pipes, a
 * deadline, a bound on the output kept and an optional cancel flag. The
 * child leads its own process group, so a timeout or a cancel kills
 * everything it started. No shared state: callable from any thread.
 */
#ifndef TOKMUX_PROC_H
#define TOKMUX_PROC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct proc_spec {
	const char *const *argv;   /* argv[0] is searched on PATH unless it has a '/' */
	char *const *envp;         /* the child's environment; NULL: the caller's */
	const char *cwd;           /* the child's working directory; NULL: the caller's */
	int64_t deadline_ms;       /* util_now_ms() by which the child must have ended; 0: none */
	size_t max_out;            /* stdout bytes kept; 0: PROC_MAX_OUT */
	int truncate;              /* at max_out: 1 stop there (PROC_TRUNCATED), 0 it is PROC_TOO_MUCH */
	const atomic_int *cancel;  /* the child is killed once *cancel != 0; may be NULL */
};

#define PROC_MAX_OUT (16u << 20)
#define PROC_MAX_ERR 8192          /* stderr bytes kept */

enum proc_end {
	PROC_EXITED,       /* ran to an exit status (status) */
	PROC_SIGNALLED,    /* killed by signal status (not by us) */
	PROC_NOT_FOUND,    /* argv[0] is not on PATH or not executable */
	PROC_SPAWN_FAILED, /* pipes or posix_spawn failed (error) */
	PROC_TIMED_OUT,    /* the deadline passed: killed */
	PROC_CANCELLED,    /* *cancel was set: killed */
	PROC_TOO_MUCH,     /* stdout passed max_out without truncate: killed */
	PROC_TRUNCATED,    /* stdout reached max_out with truncate: killed, out holds max_out bytes */
	PROC_LOST,         /* another waiter reaped the child: exit status unknown */
};

struct proc_result {
	enum proc_end end;
	int status;        /* exit code (PROC_EXITED) or signal number (PROC_SIGNALLED) */
	int error;         /* errno of PROC_SPAWN_FAILED / PROC_NOT_FOUND */
	struct buf out;    /* stdout, NUL-terminated (data may be NULL when empty) */
	struct buf err;    /* the first PROC_MAX_ERR bytes of stderr, NUL-terminated */
	int64_t elapsed_ms;
};

/* Run the program and wait for it (within the deadline). Returns its exit
 * code when it ran to one, else -1; r->end says how it ended. r must be
 * freed with proc_result_free() either way. */
int proc_run(const struct proc_spec *s, struct proc_result *r);
void proc_result_free(struct proc_result *r);

/* A one-line, malloc'd description of a run that did not exit 0, naming
 * the program as name: "git exited 128: fatal: not a git repository ...",
 * "git timed out after 10.0 s", "git not found on PATH". */
char *proc_describe(const struct proc_result *r, const char *name);

#endif
