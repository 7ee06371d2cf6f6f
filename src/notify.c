/*
 * notify: the outer terminal's notification method and bytes, and the
 * notify_command runner (notify.h). The command runs on the notifier's own
 * worker thread (one, so commands never overlap and keep their order)
 * through proc, with a deadline; its output is thrown away.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "termsig.h"
#include "util.h"
#include "worker.h"

extern char **environ;

static const char *const notify_names[] = { "off", "bel", "osc9", "osc777", "osc99" };

int
notify_method_parse(const char *s)
{
	if (s == NULL || strcmp(s, "auto") == 0)
		return NOTIFY_AUTO;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(notify_names); i++)
		if (strcmp(s, notify_names[i]) == 0)
			return (int)i;
	return -2;
}

const char *
notify_method_name(int m)
{
	return m >= 0 && m < (int)UTIL_ARRAY_LEN(notify_names) ? notify_names[m] : "auto";
}

static int
notify_is(const char *v, const char *want)
{
	return v != NULL && strcmp(v, want) == 0;
}

enum notify_method
notify_method_detect(const char *term_program, const char *term, const char *kitty_window_id,
    const char *tmux, const char *sty)
{
	if ((tmux != NULL && tmux[0] != '\0') || (sty != NULL && sty[0] != '\0') ||
	    notify_is(term_program, "tmux"))
		return NOTIFY_BEL;     /* a multiplexer outside keeps OSCs to itself */
	if (notify_is(term_program, "iTerm.app"))
		return NOTIFY_OSC9;
	if (notify_is(term_program, "ghostty") || notify_is(term_program, "WezTerm") ||
	    (term != NULL && strncmp(term, "foot", 4) == 0))
		return NOTIFY_OSC777;
	if ((kitty_window_id != NULL && kitty_window_id[0] != '\0') || notify_is(term, "xterm-kitty"))
		return NOTIFY_OSC99;
	return NOTIFY_BEL;
}

/* Program text made safe inside an OSC: no controls, and no ';' where
 * it would end the field. */
static void
notify_field(const char *s, int semicolons, char *out, size_t max)
{
	termsig_clean(s != NULL ? s : "", s != NULL ? strlen(s) : 0, out, max);
	for (char *p = out; !semicolons && *p != '\0'; p++)
		if (*p == ';')
			*p = ',';
}

size_t
notify_sequence(enum notify_method m, const char *title, const char *body, char *buf, size_t len)
{
	char t[80], b[240];
	int n = 0;
	notify_field(title, 0, t, sizeof t);
	notify_field(body, m != NOTIFY_OSC777, b, sizeof b);
	switch (m) {
	case NOTIFY_BEL: n = snprintf(buf, len, "\a"); break;
	case NOTIFY_OSC9: n = snprintf(buf, len, "\033]9;%s%s%s\a", t, t[0] && b[0] ? ": " : "", b); break;
	case NOTIFY_OSC777: n = snprintf(buf, len, "\033]777;notify;%s;%s\a", t, b); break;
	case NOTIFY_OSC99: n = snprintf(buf, len, "\033]99;;%s%s%s\033\\", t, t[0] && b[0] ? ": " : "", b); break;
	default: if (len > 0) buf[0] = '\0'; break;
	}
	return n < 0 ? 0 : UTIL_MIN((size_t)n, len > 0 ? len - 1 : 0);
}

/* ---- notify_command ---- */

struct notifier {
	char *command;
	int timeout_ms;
	worker_t *w;
	notifier_error_fn on_error;
	void *user;
	int queued;           /* submitted, not dispatched */
	int count;            /* finished */
};

/* One run: its environment, then what became of it. */
struct notifier_job {
	notifier_t *n;
	char **envp;
	char *error;          /* malloc'd when the command failed */
};

notifier_t *
notifier_new(const char *command, int timeout_ms, notifier_error_fn on_error, void *user,
    char **err)
{
	notifier_t *n = xcalloc(1, sizeof *n);
	n->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	n->on_error = on_error;
	n->user = user;
	if (command == NULL || command[0] == '\0')
		return n;
	n->w = worker_new(1, err);
	if (n->w == NULL) {
		free(n);
		return NULL;
	}
	n->command = xstrdup(command);
	return n;
}

void
notifier_free(notifier_t *n)
{
	if (n == NULL)
		return;
	worker_free(n->w);
	free(n->command);
	free(n);
}

int
notifier_fd(const notifier_t *n)
{
	return n != NULL && n->w != NULL ? worker_fd(n->w) : -1;
}

int
notifier_count(const notifier_t *n)
{
	return n->count;
}

void
notifier_dispatch(notifier_t *n)
{
	if (n != NULL && n->w != NULL)
		worker_dispatch(n->w);
}

/* The caller's environment without TOKMUX_NOTIFY_*, then ev's. */
static char **
notify_env_of(const struct notify_event *ev)
{
	size_t k = 0, count = 0;
	while (environ[count] != NULL)
		count++;
	char **envp = xcalloc(count + 8, sizeof *envp);
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], "TOKMUX_NOTIFY_", 14) != 0)
			envp[k++] = xstrdup(environ[i]);
	envp[k++] = xasprintf("TOKMUX_NOTIFY_PANE=%d", ev->pane);
	envp[k++] = xasprintf("TOKMUX_NOTIFY_NAME=%s", ev->name != NULL ? ev->name : "");
	envp[k++] = xasprintf("TOKMUX_NOTIFY_STATE=%s", ev->state != NULL ? ev->state : "");
	envp[k++] = xasprintf("TOKMUX_NOTIFY_KIND=%s", ev->kind != NULL ? ev->kind : "");
	envp[k++] = xasprintf("TOKMUX_NOTIFY_MESSAGE=%s", ev->message != NULL ? ev->message : "");
	envp[k++] = xasprintf("TOKMUX_NOTIFY_TEXT=%s", ev->text != NULL ? ev->text : "");
	envp[k] = NULL;
	return envp;
}

static void
notify_job_run(void *arg, const atomic_int *stop)
{
	struct notifier_job *j = arg;
	const char *argv[] = { "/bin/sh", "-c", j->n->command, NULL };
	struct proc_spec s = {
		.argv = argv, .envp = j->envp, .deadline_ms = util_now_ms() + j->n->timeout_ms,
		.max_out = 4096, .truncate = 1, .cancel = stop,
	};
	struct proc_result r;
	int rc = proc_run(&s, &r);
	if (rc != 0 && r.end != PROC_TRUNCATED && r.end != PROC_CANCELLED)
		j->error = proc_describe(&r, "notify_command");
	proc_result_free(&r);
}

static void
notify_job_done(void *arg, int cancelled)
{
	struct notifier_job *j = arg;
	notifier_t *n = j->n;
	if (!cancelled) {
		n->queued--;
		n->count++;
		if (j->error != NULL && n->on_error != NULL)
			n->on_error(j->error, n->user);
	}
	for (char **e = j->envp; *e != NULL; e++)
		free(*e);
	free(j->envp);
	free(j->error);
	free(j);
}

void
notifier_run(notifier_t *n, const struct notify_event *ev)
{
	if (n == NULL || n->command == NULL)
		return;
	if (n->queued >= NOTIFIER_QUEUE_MAX) {
		if (n->on_error != NULL)
			n->on_error("notify_command: too many notifications waiting; one dropped", n->user);
		return;
	}
	struct notifier_job *j = xcalloc(1, sizeof *j);
	j->n = n;
	j->envp = notify_env_of(ev);
	if (worker_submit(n->w, notify_job_run, notify_job_done, j) != 0) {
		notify_job_done(j, 1);
		return;
	}
	n->queued++;
}
