/*
 * proc: posix_spawn of an argv array with piped stdout/stderr, read with
 * poll() in short slices so a deadline or a cancel flag is noticed within
 * 50 ms; the child's whole process group is killed when it must stop.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROC_SLICE_MS 50

static void
proc_close_pair(int fd[2])
{
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	fd[0] = fd[1] = -1;
}

/* Start the child with stdin /dev/null and stdout/stderr on the pipes'
 * write ends. Returns 0, or -1 with r->end / r->error set. */
static int
proc_spawn(const struct proc_spec *s, int out[2], int err[2], pid_t *pid, struct proc_result *r)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (s->cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, s->cwd);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);      /* the UI blocks signals it reads from a signalfd */
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	char *const *argv = (char *const *)s->argv;
	char *const *envp = s->envp ? s->envp : environ;
	int rc = strchr(s->argv[0], '/') ? posix_spawn(pid, s->argv[0], &fa, &at, argv, envp)
	    : posix_spawnp(pid, s->argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		int cwd_bad = s->cwd != NULL && access(s->cwd, X_OK) != 0;
		r->error = rc;
		r->end = !cwd_bad && (rc == ENOENT || rc == EACCES || rc == ENOTDIR) ? PROC_NOT_FOUND
		    : PROC_SPAWN_FAILED;
		return -1;
	}
	return 0;
}

/* Read what fd has into b (up to keep bytes in b; the rest is read and
 * dropped so the child never blocks on a full pipe). Returns 1 at EOF. */
static int
proc_drain(int fd, struct buf *b, size_t keep, int *over)
{
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : 1;
		if (n == 0)
			return 1;
		size_t room = b->len < keep ? keep - b->len : 0;
		size_t take = (size_t)n < room ? (size_t)n : room;
		if (take > 0)
			buf_append(b, chunk, take);
		if ((size_t)n > take && over != NULL) {
			*over = 1;
			return 0;
		}
	}
}

static int
proc_stop_due(const struct proc_spec *s, enum proc_end *why)
{
	if (s->cancel != NULL && atomic_load(s->cancel)) {
		*why = PROC_CANCELLED;
		return 1;
	}
	if (s->deadline_ms > 0 && util_now_ms() >= s->deadline_ms) {
		*why = PROC_TIMED_OUT;
		return 1;
	}
	return 0;
}

/* Read both pipes until EOF on both (returns 0) or until the child must be
 * stopped (returns 1, *why set). */
static int
proc_pump(const struct proc_spec *s, int out, int err, struct proc_result *r, enum proc_end *why)
{
	struct pollfd pf[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
	size_t max = s->max_out ? s->max_out : PROC_MAX_OUT;
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		if (proc_stop_due(s, why))
			return 1;
		int slice = PROC_SLICE_MS;
		if (s->deadline_ms > 0 && s->deadline_ms - util_now_ms() < slice)
			slice = (int)UTIL_MAX(s->deadline_ms - util_now_ms(), 0);
		if (poll(pf, 2, slice) < 0 && errno != EINTR) {
			*why = PROC_SPAWN_FAILED;
			r->error = errno;
			return 1;
		}
		int over = 0;
		if (pf[0].fd >= 0 && pf[0].revents != 0 && proc_drain(pf[0].fd, &r->out, max, &over))
			pf[0].fd = -1;
		if (over) {
			*why = s->truncate ? PROC_TRUNCATED : PROC_TOO_MUCH;
			return 1;
		}
		if (pf[1].fd >= 0 && pf[1].revents != 0 && proc_drain(pf[1].fd, &r->err, PROC_MAX_ERR, NULL))
			pf[1].fd = -1;
	}
	return 0;
}

/* Wait for the child after its pipes closed, still within the deadline. */
static void
proc_reap(const struct proc_spec *s, pid_t pid, struct proc_result *r)
{
	int st, nap_us = 200;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r->end = PROC_LOST;
			return;
		}
		enum proc_end why;
		if (proc_stop_due(s, &why)) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			r->end = why;
			return;
		}
		struct timespec ts = { 0, (long)nap_us * 1000 };
		nanosleep(&ts, NULL);
		nap_us = UTIL_MIN(nap_us * 2, 20000);
	}
	if (WIFEXITED(st)) {
		r->end = PROC_EXITED;
		r->status = WEXITSTATUS(st);
	} else {
		r->end = PROC_SIGNALLED;
		r->status = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	}
}

int
proc_run(const struct proc_spec *s, struct proc_result *r)
{
	memset(r, 0, sizeof *r);
	int64_t start = util_now_ms();
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	pid_t pid;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r->end = PROC_SPAWN_FAILED;
		r->error = errno;
		proc_close_pair(out);
		proc_close_pair(err);
		return -1;
	}
	if (proc_spawn(s, out, err, &pid, r) < 0) {
		proc_close_pair(out);
		proc_close_pair(err);
		return -1;
	}
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	util_set_nonblock(out[0]);
	util_set_nonblock(err[0]);
	enum proc_end why;
	if (proc_pump(s, out[0], err[0], r, &why)) {
		kill(-pid, SIGKILL);
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r->end = why;
	} else {
		proc_reap(s, pid, r);
	}
	proc_close_pair(out);
	proc_close_pair(err);
	if (r->out.data == NULL)
		buf_append(&r->out, "", 0);
	if (r->err.data == NULL)
		buf_append(&r->err, "", 0);
	r->elapsed_ms = util_now_ms() - start;
	return r->end == PROC_EXITED ? r->status : -1;
}

void
proc_result_free(struct proc_result *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
}

/* The first non-empty line of stderr, control characters replaced, at most
 * 300 bytes. malloc'd, "" when there is none. */
static char *
proc_err_line(const struct proc_result *r)
{
	const char *p = r->err.data ? r->err.data : "";
	while (*p == '\n' || *p == '\r' || *p == ' ')
		p++;
	size_t n = strcspn(p, "\r\n");
	if (n > 300)
		n = 300;
	char *line = xstrndup(p, n);
	for (char *c = line; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
	return line;
}

char *
proc_describe(const struct proc_result *r, const char *name)
{
	char *line = proc_err_line(r);
	char *s;
	switch (r->end) {
	case PROC_EXITED:
		s = *line ? xasprintf("%s exited %d: %s", name, r->status, line)
		    : xasprintf("%s exited %d", name, r->status);
		break;
	case PROC_SIGNALLED:
		s = xasprintf("%s was killed by signal %d", name, r->status);
		break;
	case PROC_NOT_FOUND:
		s = r->error == ENOENT ? xasprintf("%s not found on PATH", name)
		    : xasprintf("cannot run %s: %s", name, strerror(r->error));
		break;
	case PROC_SPAWN_FAILED:
		s = xasprintf("cannot run %s: %s", name, strerror(r->error));
		break;
	case PROC_TIMED_OUT:
		s = xasprintf("%s timed out after %.1f s", name, (double)r->elapsed_ms / 1000.0);
		break;
	case PROC_CANCELLED:
		s = xasprintf("%s was cancelled", name);
		break;
	case PROC_TOO_MUCH:
		s = xasprintf("%s printed more output than tokmux keeps", name);
		break;
	case PROC_TRUNCATED:
		s = xasprintf("%s output was truncated", name);
		break;
	default:
		s = xasprintf("%s ended, but its exit status was taken by another waiter", name);
		break;
	}
	free(line);
	return s;
}
