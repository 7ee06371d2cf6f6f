/*
 * pane: forkpty + a vt per child. The master fd is non-blocking; reads are
 * bounded per call for fairness between panes, writes are queued and
 * flushed on POLLOUT so big pastes never block or truncate.
 */
#include "pane.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

struct pane {
	char *name;
	char *cmd;          /* NULL: shell */
	char *shown_cmd;
	char **env;
	char *cwd;          /* NULL: tokmux's */
	char **argv;        /* NULL: cmd by /bin/sh -c, or the shell */
	int started;
	char *confirm;      /* asked before the first start only */
	char *decline;
	int fd;
	pid_t pid;
	int rows, cols;
	vt_t *vt;
	struct buf out;     /* bytes waiting for the child */
	int closed;
	int exited;
	int wait_status;
	int64_t last_output;
};

static void
pane_vt_output(const char *buf, size_t len, void *user)
{
	pane_send(user, buf, len);
}

const char *
pane_shell(void)
{
	const char *sh = getenv("SHELL");
	if (sh == NULL || *sh != '/' || access(sh, X_OK) != 0)
		sh = "/bin/sh";
	return sh;
}

/* In the child, on the pane's terminal: ask p->confirm; 1 if the answer is
 * yes (Enter, or anything not starting with n). */
static int
pane_ask(const pane_t *p)
{
	char line[64];
	dprintf(STDOUT_FILENO, "%s [Enter/n] ", p->confirm);
	ssize_t n;
	do
		n = read(STDIN_FILENO, line, sizeof line);
	while (n < 0 && errno == EINTR);
	return n <= 0 || (line[0] != 'n' && line[0] != 'N');
}

/* In the child: clean signal state, environment, then exec. Never returns. */
static void __attribute__((noreturn))
pane_exec(const pane_t *p)
{
	sigset_t set;
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	setenv("TERM", "xterm-256color", 1);
	setenv("COLORTERM", "truecolor", 1);
	unsetenv("COLUMNS");
	unsetenv("LINES");
	/* the pane is tokmux's terminal, not the outer multiplexer's */
	unsetenv("TMUX");
	unsetenv("TMUX_PANE");
	unsetenv("STY");
	setenv("TOKMUX", "1", 1);
	/* the outer terminal's name would promise its features (agents pick
	 * their notification escapes by it): the pane's terminal is tokmux */
	setenv("TERM_PROGRAM", "tokmux", 1);
	unsetenv("TERM_PROGRAM_VERSION");
	for (char **e = p->env; e != NULL && *e != NULL; e++)
		putenv(*e);
	if (p->cwd != NULL && chdir(p->cwd) < 0) {
		dprintf(STDERR_FILENO, "tokmux: cannot enter %s: %s\n", p->cwd, strerror(errno));
		_exit(127);
	}
	const char *cmd = p->cmd;
	/* the answer may take long: hold none of tokmux's descriptors meanwhile
	 * (a session's lock and socket among them) */
	if (p->confirm != NULL)
		close_range(STDERR_FILENO + 1, ~0U, 0);
	if (p->confirm != NULL && !pane_ask(p))
		cmd = p->decline;
	else if (p->argv != NULL) {
		execv(p->argv[0], p->argv);
		dprintf(STDERR_FILENO, "tokmux: cannot run %s: %s\n", p->argv[0], strerror(errno));
		_exit(127);
	}
	if (cmd != NULL) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	} else {
		const char *sh = pane_shell();
		const char *base = strrchr(sh, '/');
		execl(sh, base ? base + 1 : sh, (char *)NULL);
	}
	dprintf(STDERR_FILENO, "tokmux: cannot run %s: %s\n", p->cmd ? "/bin/sh" : pane_shell(), strerror(errno));
	_exit(127);
}

static int
pane_spawn(pane_t *p, char **err)
{
	struct winsize ws = { .ws_row = (unsigned short)p->rows, .ws_col = (unsigned short)p->cols };
	pid_t pid = forkpty(&p->fd, NULL, NULL, &ws);
	if (pid < 0) {
		*err = xasprintf("forkpty: %s", strerror(errno));
		p->fd = -1;
		return -1;
	}
	if (pid == 0)
		pane_exec(p);
	p->pid = pid;
	free(p->confirm);      /* a restart runs the command without asking */
	p->confirm = NULL;
	util_set_nonblock(p->fd);
	util_set_cloexec(p->fd);
	p->closed = 0;
	p->exited = 0;
	p->wait_status = 0;
	p->started = 1;
	return 0;
}

static char **
pane_strv_dup(char *const *v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL)
		n++;
	char **out = xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
pane_strv_free(char **v)
{
	for (char **e = v; e != NULL && *e != NULL; e++)
		free(*e);
	free(v);
}

pane_t *
pane_new(const struct pane_spec *spec, char **err)
{
	pane_t *p = xcalloc(1, sizeof *p);
	p->name = xstrdup(spec->name ? spec->name : "pane");
	p->cmd = spec->cmd ? xstrdup(spec->cmd) : NULL;
	p->shown_cmd = xstrdup(spec->cmd ? spec->cmd : pane_shell());
	p->env = pane_strv_dup(spec->env);
	p->cwd = spec->cwd ? xstrdup(spec->cwd) : NULL;
	p->argv = spec->argv ? pane_strv_dup(spec->argv) : NULL;
	p->confirm = spec->confirm ? xstrdup(spec->confirm) : NULL;
	p->decline = spec->decline ? xstrdup(spec->decline) : NULL;
	p->rows = spec->rows > 0 ? spec->rows : 1;
	p->cols = spec->cols > 0 ? spec->cols : 1;
	p->fd = -1;
	p->vt = vt_new(p->rows, p->cols, spec->sb_lines, spec->sb_bytes, pane_vt_output, p);
	if (!spec->defer && pane_spawn(p, err) < 0) {
		pane_free(p);
		return NULL;
	}
	return p;
}

int
pane_start(pane_t *p, const char *cwd, char *const *argv, char **err)
{
	if (p->started) {
		*err = xstrdup("the pane has already started");
		return -1;
	}
	if (cwd != NULL) {
		free(p->cwd);
		p->cwd = xstrdup(cwd);
	}
	if (argv != NULL) {
		pane_strv_free(p->argv);
		p->argv = pane_strv_dup(argv);
	}
	return pane_spawn(p, err);
}

void
pane_hangup(pane_t *p)
{
	if (p->pid > 0 && !p->exited) {
		kill(p->pid, SIGHUP);
		int st;
		/* reap now if it went quickly; otherwise pane_reap() or the owner does */
		for (int i = 0; i < 20; i++) {
			if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
				p->exited = 1;
				break;
			}
			usleep(1000);
		}
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

pid_t
pane_free(pane_t *p)
{
	if (p == NULL)
		return 0;
	pane_hangup(p);
	pid_t left = p->pid > 0 && !p->exited ? p->pid : 0;
	if (p->vt)
		vt_free(p->vt);
	pane_strv_free(p->env);
	pane_strv_free(p->argv);
	free(p->cwd);
	free(p->name);
	free(p->cmd);
	free(p->shown_cmd);
	free(p->confirm);
	free(p->decline);
	buf_free(&p->out);
	free(p);
	return left;
}

int pane_fd(const pane_t *p) { return p->fd; }
pid_t pane_pid(const pane_t *p) { return p->pid; }
vt_t *pane_vt(pane_t *p) { return p->vt; }
const char *pane_name(const pane_t *p) { return p->name; }
const char *pane_cmd(const pane_t *p) { return p->shown_cmd; }
int pane_closed(const pane_t *p) { return p->closed; }
int pane_rows(const pane_t *p) { return p->rows; }
int pane_cols(const pane_t *p) { return p->cols; }
int pane_exited(const pane_t *p) { return p->exited; }
int pane_started(const pane_t *p) { return p->started; }
int64_t pane_last_output(const pane_t *p) { return p->last_output; }

pid_t
pane_foreground(const pane_t *p)
{
	if (p->pid <= 0 || p->exited)
		return -1;
	pid_t pg = p->fd >= 0 ? tcgetpgrp(p->fd) : -1;
	return pg > 0 ? pg : p->pid;
}

size_t
pane_read(pane_t *p, size_t budget)
{
	char chunk[65536];
	size_t total = 0;
	while (p->fd >= 0 && total < budget) {
		ssize_t n = read(p->fd, chunk, UTIL_MIN(sizeof chunk, budget - total));
		if (n > 0) {
			vt_write(p->vt, chunk, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* 0 or EIO: the slave side is closed and drained */
		close(p->fd);
		p->fd = -1;
		p->closed = 1;
		buf_free(&p->out);
		break;
	}
	if (total > 0)
		p->last_output = util_now_ms();
	return total;
}

void
pane_flush(pane_t *p)
{
	while (p->fd >= 0 && p->out.len > 0) {
		ssize_t n = write(p->fd, p->out.data, p->out.len);
		if (n > 0) {
			buf_consume(&p->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;   /* EAGAIN: wait for POLLOUT; other errors: the read side will see EOF */
	}
}

void
pane_send(pane_t *p, const char *buf, size_t len)
{
	if (p->fd < 0 || len == 0)
		return;
	buf_append(&p->out, buf, len);
	pane_flush(p);
}

int
pane_wants_write(const pane_t *p)
{
	return p->fd >= 0 && p->out.len > 0;
}

void
pane_resize(pane_t *p, int rows, int cols)
{
	if (rows < 1)
		rows = 1;
	if (cols < 1)
		cols = 1;
	if (rows == p->rows && cols == p->cols)
		return;
	p->rows = rows;
	p->cols = cols;
	vt_resize(p->vt, rows, cols);
	if (p->fd >= 0) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		ioctl(p->fd, TIOCSWINSZ, &ws);
	}
}

void
pane_set_exit(pane_t *p, int wait_status)
{
	p->exited = 1;
	p->wait_status = wait_status;
}

int
pane_reap(pane_t *p)
{
	int st;
	if (p->pid <= 0 || p->exited)
		return 0;
	if (waitpid(p->pid, &st, WNOHANG) != p->pid)
		return 0;
	pane_set_exit(p, st);
	return 1;
}

void
pane_exit_text(const pane_t *p, char *buf, size_t len)
{
	if (!p->started)
		snprintf(buf, len, "not started");
	else if (!p->exited)
		snprintf(buf, len, "running");
	else if (WIFEXITED(p->wait_status))
		snprintf(buf, len, "exited %d", WEXITSTATUS(p->wait_status));
	else if (WIFSIGNALED(p->wait_status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(p->wait_status));
	else
		snprintf(buf, len, "exited");
}

int
pane_restart(pane_t *p, char **err)
{
	if (!p->started)
		return pane_spawn(p, err);
	if (!p->exited)
		return 0;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	buf_free(&p->out);
	/* a clean screen for the new run; the old output stays in scrollback */
	vt_write(p->vt, "\r\n\033[0m", 6);
	vt_signals_reset(p->vt);
	return pane_spawn(p, err);
}
