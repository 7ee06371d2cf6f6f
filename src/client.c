/*
 * client: connect, HELLO, then either attach the terminal and wait for the
 * verdict, or one question (INFO, KILL). Signals are read from a signalfd
 * while attached; the terminal is restored by this process on every way
 * out (util_term_restore, also from fatal() and the crash handlers).
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "report_text.h"
#include "session.h"
#include "tty.h"
#include "util.h"

#define CLIENT_REPLY_MS 10000     /* a server that does not answer HELLO in this long is stuck */

/* Wait up to ms for fd to be readable; 1 ready, 0 timed out. */
static int
client_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* Receive one message of type want within the reply time. 0, or -1. */
static int
client_recv(int fd, int want, void *body, size_t size, size_t *len)
{
	int type;
	if (!client_wait(fd, CLIENT_REPLY_MS))
		return -1;
	if (proto_recv(fd, &type, body, size, len, NULL, NULL) != 1 || type != want)
		return -1;
	return 0;
}

/* Connect to session name and exchange HELLOs. The fd, or -1 with *err. */
static int
client_open(const char *dir, const char *name, int *stale, char **err)
{
	int fd = session_connect(dir, name, stale, err);
	if (fd < 0)
		return -1;
	struct proto_hello h;
	char body[PROTO_MAX], theirs[128];
	size_t len;
	proto_hello_init(&h);
	if (proto_send(fd, PROTO_HELLO, &h, sizeof h, NULL, 0) < 0 ||
	    client_recv(fd, PROTO_HELLO, body, sizeof body, &len) < 0) {
		*err = xasprintf("session %s does not answer", name);
		close(fd);
		return -1;
	}
	if (proto_hello_check(body, len, theirs, sizeof theirs) < 0) {
		char mine[sizeof h.version + 1];
		proto_get_str(h.version, sizeof h.version, mine, sizeof mine);
		*err = xasprintf("session %s runs %s and this is tokmux %s (protocol %u): different "
		    "versions cannot talk to each other (use that version's tokmux, or end the session "
		    "with its kill-session)", name, theirs, mine, (unsigned)PROTO_WIRE);
		close(fd);
		return -1;
	}
	return fd;
}

int
client_info(const char *dir, const char *name, struct proto_info *out, int *stale, char **err)
{
	int fd = client_open(dir, name, stale, err);
	if (fd < 0)
		return -1;
	char body[PROTO_MAX];
	size_t len;
	int rc = -1;
	if (proto_send(fd, PROTO_INFO, NULL, 0, NULL, 0) < 0 ||
	    client_recv(fd, PROTO_INFO, body, sizeof body, &len) < 0 || len != sizeof *out) {
		*err = xasprintf("session %s does not answer", name);
	} else {
		memcpy(out, body, sizeof *out);
		rc = 0;
	}
	close(fd);
	return rc;
}

int
client_kill(const char *dir, const char *name, char **err)
{
	int stale;
	int fd = client_open(dir, name, &stale, err);
	if (fd < 0)
		return -1;
	if (proto_send(fd, PROTO_KILL, NULL, 0, NULL, 0) < 0) {
		*err = xasprintf("session %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	/* the server answers with EXIT once every pane has ended */
	char body[PROTO_MAX];
	size_t len;
	client_recv(fd, PROTO_EXIT, body, sizeof body, &len);
	close(fd);
	return 0;
}

/* ---- attached ---- */

static int
client_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* The verdict: the terminal is restored, then the server's words. */
static int
client_verdict(const void *body, size_t len)
{
	struct proto_exit e;
	char text[sizeof e.text + 1];
	util_term_restore();
	if (len != sizeof e) {
		fprintf(stderr, "tokmux: the server's last message was garbled\n");
		return 1;
	}
	memcpy(&e, body, sizeof e);
	proto_get_str(e.text, sizeof e.text, text, sizeof text);
	if (text[0] != '\0')
		fprintf(e.kind == PROTO_EXIT_DETACHED ? stdout : stderr, "%s\n", text);
	if (e.kind == PROTO_EXIT_ENDED && e.ledger[0] != '\0') {
		/* the session ended here: what it did, from its ledger */
		char ledger[sizeof e.ledger + 1], session[sizeof e.ledger_session + 1];
		proto_get_str(e.ledger, sizeof e.ledger, ledger, sizeof ledger);
		proto_get_str(e.ledger_session, sizeof e.ledger_session, session, sizeof session);
		fflush(stderr);
		report_text_summary(ledger, session, stdout);
	}
	return e.status;
}

/* A signal while attached: 0 to go on, else 1 + the exit status. */
static int
client_signal(int sigfd, int sock)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			proto_send(sock, PROTO_RESIZE, NULL, 0, NULL, 0);
			break;
		case SIGHUP:
			/* the terminal is gone: the session goes on without it */
			util_term_forget();
			return 1 + 0;
		default:
			/* asked to stop: detach, and wait for the server's word */
			proto_send(sock, PROTO_DETACH, NULL, 0, NULL, 0);
			break;
		}
	}
	return 0;
}

/* Attached: until the server's verdict, or its loss. */
static int
client_loop(const char *prog, const char *name, int sock, int sigfd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			int r = client_signal(sigfd, sock);
			if (r > 0)
				return r - 1;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char body[PROTO_MAX];
		int type;
		size_t len;
		int r = proto_recv(sock, &type, body, sizeof body, &len, NULL, NULL);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r == 1 && type == PROTO_EXIT)
			return client_verdict(body, len);
		if (r <= 0)
			break;
	}
	util_term_restore();
	fprintf(stderr, "%s: lost the server of session %s (it was killed?)\n", prog, name);
	return 1;
}

int
client_attach(const char *prog, const char *dir, const char *name, int readonly)
{
	char *err = NULL;
	int stale;
	const char *inside = getenv("TOKMUX_SESSION");
	if (inside != NULL && strcmp(inside, name) == 0) {
		fprintf(stderr, "%s: this terminal is a pane of session %s: it cannot show itself\n",
		    prog, name);
		return 1;
	}
	int sock = client_open(dir, name, &stale, &err);
	if (sock < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		free(err);
		return 1;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "%s: needs a terminal on stdin and stdout\n", prog);
		close(sock);
		return 2;
	}
	int sigfd = client_signals();
	struct termios saved;
	const char *term = getenv("TERM");
	tty_raw(STDOUT_FILENO, &saved);
	tty_guard(STDOUT_FILENO, &saved, term);
	struct proto_attach a;
	memset(&a, 0, sizeof a);
	a.flags = readonly ? PROTO_ATTACH_READONLY : 0;
	proto_put_str(a.term, sizeof a.term, term != NULL ? term : "");
	int fds[2] = { STDIN_FILENO, STDOUT_FILENO };
	int rc;
	if (proto_send(sock, PROTO_ATTACH, &a, sizeof a, fds, 2) < 0) {
		util_term_restore();
		fprintf(stderr, "%s: session %s: %s\n", prog, name, strerror(errno));
		rc = 1;
	} else {
		rc = client_loop(prog, name, sock, sigfd);
	}
	util_term_forget();
	close(sigfd);
	close(sock);
	return rc;
}
