/*
 * server: the session's server process: the workspace in its own event
 * loop, a listening unix socket in the same loop, one entry per client,
 * the state file kept current, and the last word to every client.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "evloop.h"
#include "gateway.h"
#include "policy.h"
#include "proto.h"
#include "sessfile.h"
#include "stats.h"
#include "util.h"

#define SERVER_STATE_MS 1000      /* how often the state file is looked at */
#define SERVER_STATE_FULL_MS 30000 /* ... and compared whole although nothing seemed to change */

struct server_client {
	int fd;                   /* the socket, -1: a free entry */
	int hello;                /* its HELLO matched ours */
	int term;                 /* the UI's id of its terminal, -1 none */
};

struct server {
	const struct server_start *st;
	char name[SESSION_NAME_MAX + 1];
	char *dir;
	char *sock;
	char *state_path;
	int lock_fd, listen_fd;
	int64_t created;
	char cwd[PATH_MAX];
	evloop_t *loop;
	workspace_t *ws;
	ui_t *ui;
	struct server_client client[SERVER_MAX_CLIENTS];
	char end_text[256];       /* why the session ended when not by the user (kill-session) */
	char *state_text;         /* the state file as last written */
	uint64_t state_sig;       /* what the state was made from, cheaply (server_state_sig) */
	int64_t state_full_ms;    /* when it was last made whole */
};

/*
 * The clients' sockets, for the crash path: fatal() and the crash handlers
 * tell every client how the server ended (util_set_exit_notify). Process-
 * wide by necessity, as util's saved terminal: a signal handler reads it.
 */
static atomic_int server_crash_fd[SERVER_MAX_CLIENTS];

static void
server_crash_notify(int status, const char *msg)
{
	struct proto_exit e;
	e.status = status;
	e.kind = PROTO_EXIT_FAILED;
	e.ledger[0] = e.ledger_session[0] = '\0';
	/* no snprintf in a signal handler */
	size_t n = strnlen(msg, sizeof e.text - 1);
	memcpy(e.text, msg, n);
	e.text[n] = '\0';
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		int fd = atomic_load(&server_crash_fd[i]);
		if (fd > 0)
			proto_send(fd, PROTO_EXIT, &e, sizeof e, NULL, 0);
	}
}

/* ---- clients ---- */

static void
server_send_exit(struct server_client *c, int kind, int status, const char *text)
{
	struct proto_exit e;
	memset(&e, 0, sizeof e);
	e.status = status;
	e.kind = kind;
	proto_put_str(e.text, sizeof e.text, text);
	proto_send(c->fd, PROTO_EXIT, &e, sizeof e, NULL, 0);
}

static void
server_drop(struct server *sv, struct server_client *c)
{
	if (c->term >= 0)
		ui_detach(sv->ui, c->term);
	evloop_del_fd(sv->loop, c->fd);
	atomic_store(&server_crash_fd[c - sv->client], -1);
	close(c->fd);
	c->fd = -1;
	c->term = -1;
	c->hello = 0;
}

static int
server_nclients(const struct server *sv)
{
	int n = 0;
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		n += sv->client[i].term >= 0;
	return n;
}

/* A terminal left by itself: its client is told and let go. */
static void
server_term_gone(void *user, int term, enum ui_gone why)
{
	struct server *sv = user;
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		struct server_client *c = &sv->client[i];
		if (c->fd < 0 || c->term != term)
			continue;
		char text[128];
		snprintf(text, sizeof text, "[detached (from session %s)]", sv->name);
		c->term = -1;     /* already gone from the UI */
		server_send_exit(c, PROTO_EXIT_DETACHED, 0, why == UI_GONE_DETACH ? text : "");
		server_drop(sv, c);
	}
}

static void
server_info(struct server *sv, struct server_client *c)
{
	struct proto_info in;
	memset(&in, 0, sizeof in);
	proto_put_str(in.name, sizeof in.name, sv->name);
	in.pid = (int32_t)getpid();
	in.npanes = ui_pane_count(sv->ui);
	in.nclients = server_nclients(sv);
	in.created = sv->created;
	core_t *core = workspace_core(sv->ws);
	in.gateway = core != NULL;
	if (core != NULL) {
		struct stats_snapshot *snap = xmalloc(sizeof *snap);
		stats_snapshot(core_stats(core), snap);
		in.cost_micros = snap->total.cost_micros;
		free(snap);
	}
	proto_send(c->fd, PROTO_INFO, &in, sizeof in, NULL, 0);
}

static void
server_attach(struct server *sv, struct server_client *c, const void *body, size_t len,
    int *fds, int nfds)
{
	struct proto_attach a;
	char term[sizeof a.term + 1], *err = NULL;
	if (len != sizeof a || nfds != 2 || c->term >= 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		server_send_exit(c, PROTO_EXIT_FAILED, 1, "tokmux: a bad attach message");
		server_drop(sv, c);
		return;
	}
	memcpy(&a, body, sizeof a);
	proto_get_str(a.term, sizeof a.term, term, sizeof term);
	struct ui_term_spec ts = { .in_fd = fds[0], .out_fd = fds[1], .term = term,
		.readonly = (a.flags & PROTO_ATTACH_READONLY) != 0 };
	c->term = ui_attach(sv->ui, &ts, &err);
	if (c->term < 0) {
		char *text = xasprintf("tokmux: cannot attach to session %s: %s", sv->name, err);
		server_send_exit(c, PROTO_EXIT_FAILED, 1, text);
		free(text);
		free(err);
		server_drop(sv, c);
	}
}

/* One message from a client; 0, or -1 when it was let go. */
static int
server_message(struct server *sv, struct server_client *c, int type, const void *body,
    size_t len, int *fds, int nfds)
{
	if (!c->hello && type != PROTO_HELLO) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		server_drop(sv, c);
		return -1;
	}
	switch (type) {
	case PROTO_HELLO: {
		struct proto_hello h;
		proto_hello_init(&h);
		proto_send(c->fd, PROTO_HELLO, &h, sizeof h, NULL, 0);
		char theirs[128];
		if (proto_hello_check(body, len, theirs, sizeof theirs) < 0) {
			log_debug("session %s: a client of %s: let go", sv->name, theirs);
			server_drop(sv, c);    /* the client says why: it has both versions */
			return -1;
		}
		c->hello = 1;
		return 0;
	}
	case PROTO_ATTACH:
		server_attach(sv, c, body, len, fds, nfds);
		return c->fd < 0 ? -1 : 0;
	case PROTO_RESIZE:
		if (c->term >= 0)
			ui_term_resized(sv->ui, c->term);
		return 0;
	case PROTO_DETACH: {
		char text[128];
		snprintf(text, sizeof text, "[detached (from session %s)]", sv->name);
		server_send_exit(c, PROTO_EXIT_DETACHED, 0, text);
		server_drop(sv, c);
		return -1;
	}
	case PROTO_INFO:
		server_info(sv, c);
		return 0;
	case PROTO_KILL:
		snprintf(sv->end_text, sizeof sv->end_text, "[session %s was killed]", sv->name);
		ui_quit(sv->ui);
		return 0;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return 0;
}

static void
server_on_client(evloop_t *el, int fd, int revents, void *arg)
{
	struct server *sv = arg;
	struct server_client *c = NULL;
	for (int i = 0; i < SERVER_MAX_CLIENTS && c == NULL; i++)
		if (sv->client[i].fd == fd)
			c = &sv->client[i];
	if (c == NULL)
		return;
	for (int i = 0; i < 64; i++) {
		char body[PROTO_MAX];
		int type, fds[PROTO_MAX_FDS], nfds = 0;
		size_t len;
		int r = proto_recv(fd, &type, body, sizeof body, &len, fds, &nfds);
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			server_drop(sv, c);    /* gone: if it was attached, it is detached */
			return;
		}
		if (server_message(sv, c, type, body, len, fds, nfds) < 0)
			return;
	}
}

static void
server_on_listen(evloop_t *el, int fd, int revents, void *arg)
{
	struct server *sv = arg;
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		struct ucred cred;
		socklen_t cl = sizeof cred;
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != getuid()) {
			log_debug("session %s: refused a client of uid %d", sv->name, (int)cred.uid);
			close(c);     /* only our own user's processes */
			continue;
		}
		int slot = 0;
		while (slot < SERVER_MAX_CLIENTS && sv->client[slot].fd >= 0)
			slot++;
		if (slot == SERVER_MAX_CLIENTS) {
			close(c);
			continue;
		}
		sv->client[slot] = (struct server_client){ .fd = c, .term = -1 };
		atomic_store(&server_crash_fd[slot], c);
		evloop_add_fd(el, c, EVLOOP_READ, server_on_client, sv);
	}
}

/* ---- the state file ---- */

/* The state of pane i for the state file. */
static void
server_state_pane(struct server *sv, int i, struct sessfile_pane *sp)
{
	struct ui_pane_info in;
	ui_pane_get(sv->ui, i, &in);
	sp->name = xstrdup(in.name);
	sp->ceiling_micros = -1;
	const char *cmd = in.route >= 0 ? workspace_route_cmd(sv->ws, in.route) : in.cmd;
	sp->cmd = cmd != NULL ? xstrdup(cmd) : NULL;
	pid_t fg = ui_pane_foreground(sv->ui, i);
	char link[64], dir[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%d/cwd", (int)fg);
	ssize_t n = fg > 0 ? readlink(link, dir, sizeof dir - 1) : -1;
	if (n > 0) {
		dir[n] = '\0';
		sp->cwd = xstrdup(dir);
	}
	core_t *core = workspace_core(sv->ws);
	if (core == NULL || in.route < 0)
		return;
	struct policy_route_state ps;
	if (policy_get_state(core_policy(core), in.route, &ps) == 0) {
		sp->ceiling_micros = ps.ceiling_micros;
		sp->model = ps.model_override[0] ? xstrdup(ps.model_override) : NULL;
	}
	char agent[RESUME_AGENT_MAX], id[RESUME_ID_MAX];
	if (gateway_route_conversation(core_gateway(core), in.route, agent, id)) {
		sp->agent = xstrdup(agent);
		sp->conversation = xstrdup(id);
	}
	int num = i + 1;     /* the config's pane of that number gives the chain */
	const struct config *cfg = sv->st->cfg;
	for (int k = 0; num <= cfg->npanes && k < cfg->panes[num - 1].nfallback; k++)
		sp->fallback[sp->nfallback++] = xstrdup(cfg->panes[num - 1].fallback[k]);
}

/* Write the state file if it changed. */
static void
server_state_save(struct server *sv)
{
	struct sessfile sf;
	memset(&sf, 0, sizeof sf);
	sf.name = xstrdup(sv->name);
	sf.created = sv->created;
	sf.pid = (int)getpid();
	sf.cwd = xstrdup(sv->cwd);
	if (workspace_core(sv->ws) != NULL)
		sf.ledger_session = xstrdup(core_session(workspace_core(sv->ws)));
	for (int i = 0; sv->st->argv != NULL && sv->st->argv[i] != NULL &&
	    i < SESSFILE_MAX_OPTIONS; i++)
		sf.options[sf.noptions++] = xstrdup(sv->st->argv[i]);
	sf.npanes = UTIL_MIN(ui_pane_count(sv->ui), TOKMUX_MAX_PANES);
	for (int i = 0; i < sf.npanes; i++)
		server_state_pane(sv, i, &sf.pane[i]);
	char *text = sessfile_format(&sf), *err = NULL;
	sessfile_free(&sf);
	if (sv->state_text != NULL && strcmp(text, sv->state_text) == 0) {
		free(text);
		return;
	}
	if (sessfile_write(sv->state_path, text, &err) < 0) {
		log_debug("session %s: %s", sv->name, err);
		free(err);
		free(text);
		return;
	}
	free(sv->state_text);
	sv->state_text = text;
}

/* A cheap signature of what the state file is made of: the metering
 * state's version (requests, ceilings and overrides bump it) and the panes
 * with their processes. A directory changed by hand is caught by the
 * periodic whole comparison. */
static uint64_t
server_state_sig(struct server *sv)
{
	core_t *core = workspace_core(sv->ws);
	uint64_t sig = core != NULL ? stats_version(core_stats(core)) : 0;
	for (int i = 0; i < ui_pane_count(sv->ui); i++) {
		struct ui_pane_info in;
		ui_pane_get(sv->ui, i, &in);
		sig = sig * 1000003u + (uint64_t)(in.route + 2) * 31u + (uint64_t)ui_pane_foreground(sv->ui, i);
	}
	return sig * 1000003u + (uint64_t)ui_pane_count(sv->ui);
}

/* The state file, when something may have changed: an idle session does
 * next to nothing here. */
static int64_t
server_on_state_timer(evloop_t *el, int64_t id, void *arg)
{
	struct server *sv = arg;
	uint64_t sig = server_state_sig(sv);
	int64_t now = util_now_ms();
	if (sig != sv->state_sig || now - sv->state_full_ms >= SERVER_STATE_FULL_MS) {
		sv->state_sig = sig;
		sv->state_full_ms = now;
		server_state_save(sv);
	}
	return SERVER_STATE_MS;
}


/* ---- the server's life ---- */

/* Lock the session's name and listen on its socket. 0, or -1 with *err. */
static int
server_listen(struct server *sv, const char *name, char **err)
{
	sv->lock_fd = name != NULL ? session_lock(sv->dir, name, err) :
	    session_lock_auto(sv->dir, sv->name, sizeof sv->name, err);
	if (sv->lock_fd < 0)
		return -1;
	if (name != NULL)
		snprintf(sv->name, sizeof sv->name, "%s", name);
	sv->sock = session_socket_path(sv->dir, sv->name, err);
	if (sv->sock == NULL)
		return -1;
	unlink(sv->sock);     /* we hold the lock: a socket there is a dead server's */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sv->sock);
	sv->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);     /* the socket is ours alone: 0600 */
	int rc = sv->listen_fd < 0 ? -1 : bind(sv->listen_fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || listen(sv->listen_fd, SERVER_MAX_CLIENTS) < 0) {
		*err = xasprintf("cannot listen on %s: %s", sv->sock, strerror(errno));
		return -1;
	}
	return 0;
}

/* Nobody new can reach the session (it is ending, or never started). */
static void
server_unlisten(struct server *sv)
{
	if (sv->listen_fd < 0)
		return;
	if (sv->loop != NULL)
		evloop_del_fd(sv->loop, sv->listen_fd);
	close(sv->listen_fd);
	sv->listen_fd = -1;
	if (sv->sock != NULL)
		unlink(sv->sock);
}

/* Tell the process that started us how it went: "ok NAME" or
 * "error STATUS TEXT", then close the pipe. */
static void
server_ready(int fd, int status, const char *name_or_err)
{
	char *line = status == 0 ? xasprintf("ok %s\n", name_or_err) :
	    xasprintf("error %d %s\n", status, name_or_err);
	util_write_all(fd, line, strlen(line));
	free(line);
	close(fd);
}

/* How the session ended, for every client: the words, and where its
 * summary is (taken before the core stops). */
static void
server_verdict(struct server *sv, int rc, struct proto_exit *e)
{
	memset(e, 0, sizeof *e);
	e->status = rc;
	e->kind = PROTO_EXIT_ENDED;
	proto_put_str(e->text, sizeof e->text,
	    sv->end_text[0] != '\0' ? sv->end_text : ui_exit_message(sv->ui));
	core_t *core = workspace_core(sv->ws);
	char abs[PATH_MAX];
	if (core != NULL) {
		const char *ledger = core_ledger_path(core);
		proto_put_str(e->ledger, sizeof e->ledger,
		    realpath(ledger, abs) != NULL ? abs : ledger);
		proto_put_str(e->ledger_session, sizeof e->ledger_session, core_session(core));
	}
}

/* Every client hears how the session ended; nothing is left behind. */
static void
server_end(struct server *sv, const struct proto_exit *e)
{
	util_set_exit_notify(NULL);
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		struct server_client *c = &sv->client[i];
		if (c->fd < 0)
			continue;
		c->term = -1;       /* the UI let every terminal go already */
		proto_send(c->fd, PROTO_EXIT, e, sizeof *e, NULL, 0);
		server_drop(sv, c);
	}
	/* the session ended on purpose: nothing to resume */
	unlink(sv->state_path);
}

/* The session itself: the workspace, served until it ends. Returns the
 * exit status. */
static int
server_serve(struct server *sv, int ready)
{
	const struct server_start *st = sv->st;
	char *err = NULL;
	int status = 1;
	sv->state_path = session_state_path(sv->name);
	setenv("TOKMUX_SESSION", sv->name, 1);     /* the panes know their session */
	struct workspace_opts wo = *st->wo;
	wo.rows = st->rows;
	wo.cols = st->cols;
	wo.term_gone = server_term_gone;
	wo.term_user = sv;
	sv->ws = workspace_new(st->cfg, &wo, sv->loop, &status, &err);
	if (sv->ws == NULL) {
		server_ready(ready, status, err);
		free(err);
		return status;
	}
	sv->ui = workspace_ui(sv->ws);
	evloop_add_fd(sv->loop, sv->listen_fd, EVLOOP_READ, server_on_listen, sv);
	server_state_save(sv);
	evloop_add_timer(sv->loop, SERVER_STATE_MS, server_on_state_timer, sv);
	util_set_exit_notify(server_crash_notify);
	util_crash_handlers();      /* a crash is told to the clients */
	server_ready(ready, 0, sv->name);
	int rc = ui_run(sv->ui);
	server_unlisten(sv);
	struct proto_exit *e = xmalloc(sizeof *e);
	server_verdict(sv, rc, e);
	sv->ui = NULL;
	workspace_free(sv->ws);      /* the ledger has every request when the clients read it */
	server_end(sv, e);
	free(e);
	return rc;
}

static int
server_main(const struct server_start *st, const char *dir, int ready)
{
	struct server sv0, *sv = &sv0;
	memset(sv, 0, sizeof *sv);
	sv->st = st;
	sv->dir = xstrdup(dir);
	sv->lock_fd = sv->listen_fd = -1;
	sv->created = (int64_t)time(NULL);
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		sv->client[i].fd = sv->client[i].term = -1;
		atomic_store(&server_crash_fd[i], -1);
	}
	if (getcwd(sv->cwd, sizeof sv->cwd) == NULL)
		snprintf(sv->cwd, sizeof sv->cwd, "/");
	char *err = NULL;
	int rc = 1;
	sv->loop = evloop_new();
	if (server_listen(sv, st->name, &err) < 0) {
		server_ready(ready, 1, err);
		free(err);
	} else {
		rc = server_serve(sv, ready);
	}
	server_unlisten(sv);
	if (sv->lock_fd >= 0) {
		char *lock = session_lock_path(sv->dir, sv->name);
		unlink(lock);
		free(lock);
		close(sv->lock_fd);
	}
	evloop_free(sv->loop);
	free(sv->state_text);
	free(sv->state_path);
	free(sv->sock);
	free(sv->dir);
	return rc;
}

/* The server's standard descriptors: nothing of the terminal it was
 * started from (it must not keep the client's terminal open or write on
 * it). */
static void
server_detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* What the server said on the ready pipe. */
static int
server_wait_ready(int fd, char *name, char **err)
{
	char line[1024];
	size_t at = 0;
	ssize_t n;
	/* up to the end of the line: not end of file, which a child of the
	 * server may hold off */
	while (at + 1 < sizeof line && memchr(line, '\n', at) == NULL &&
	    (n = read(fd, line + at, sizeof line - 1 - at)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		at += (size_t)n;
	}
	line[at] = '\0';
	line[strcspn(line, "\n")] = '\0';
	int status;
	int off = 0;
	if (strncmp(line, "ok ", 3) == 0 && strlen(line + 3) <= SESSION_NAME_MAX) {
		memcpy(name, line + 3, strlen(line + 3) + 1);
		return 0;
	}
	if (sscanf(line, "error %d %n", &status, &off) >= 1 && off > 0) {
		*err = xstrdup(line + off);
		return status > 0 ? status : 1;
	}
	*err = xstrdup("the session's server did not start");
	return 1;
}

int
server_start(const struct server_start *s, char *name, char **err)
{
	char *dir = session_dir(err);
	if (dir == NULL)
		return 1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		free(dir);
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		*err = xasprintf("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(dir);
		return 1;
	}
	if (pid == 0) {
		/* a new session without a terminal, then a child that can never
		 * acquire one (it is not a session leader) */
		close(p[0]);
		if (setsid() < 0)
			_exit(1);
		pid_t srv = fork();
		if (srv != 0)
			_exit(srv < 0);
		server_detach_stdio();
		exit(server_main(s, dir, p[1]));     /* (exit: a leak checker runs) */
	}
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	int rc = server_wait_ready(p[0], name, err);
	close(p[0]);
	free(dir);
	return rc;
}
