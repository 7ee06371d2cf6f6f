/*
 * server: a session's server, tmux's model. A background process (no
 * controlling terminal) that owns the workspace: the panes, their grids
 * and scrollback, the gateway, policy and ledger. It listens on the
 * session's unix socket (session.h), accepts only its own user's
 * processes (SO_PEERCRED), answers HELLO, and attaches the terminals its
 * clients hand over (ui_attach: it draws on them and reads their keys
 * itself). A client that goes away, or whose terminal hangs up, is only
 * detached; the session ends when the user quits, every pane is closed,
 * or `tokmux kill-session`. It keeps the session's state file current
 * (sessfile.h) for `tokmux resume`, and tells every client how it ended,
 * crashes included (util_set_exit_notify).
 */
#ifndef TOKMUX_SERVER_H
#define TOKMUX_SERVER_H

#include <stddef.h>

#include "config.h"
#include "session.h"
#include "workspace.h"

#define SERVER_MAX_CLIENTS 16

struct server_start {
	const struct config *cfg;
	const struct workspace_opts *wo;
	const char *name;          /* NULL: the lowest free number */
	/* What `tokmux resume` needs to start it again besides the panes:
	 * the command line's options (NULL-terminated, without -s, -d, -n and
	 * -e; NULL: none). */
	char *const *argv;
	int rows, cols;            /* the terminal's size (0: 24 x 80) */
};

/*
 * Start a session's server in the background (fork, setsid, fork) and
 * return once it listens, with its name in name (SESSION_NAME_MAX + 1).
 * Returns 0, or the exit status for the front end (2 for a usage error
 * such as a bad theme, 1 otherwise) with a malloc'd *err (no program
 * name). The calling process must not have started threads.
 */
int server_start(const struct server_start *s, char *name, char **err);

#endif
