/*
 * session: where a named session lives on disk, and finding it. Owns the
 * name rules, the per-user socket directory ($XDG_RUNTIME_DIR/tokmux, else
 * /tmp/tokmux-UID: created 0700, refused unless it is a directory of ours
 * that nobody else can enter), the socket and lock paths in it, the state
 * file's path ($XDG_STATE_HOME/tokmux/sessions/NAME.json), connecting to a
 * server (a stale socket left by a dead server is detected and removed) and
 * listing the sessions. A live server holds an exclusive flock on
 * NAME.lock for its whole life: that is what tells a stale socket from a
 * server that is starting.
 */
#ifndef TOKMUX_SESSION_H
#define TOKMUX_SESSION_H

#include <stddef.h>

#define SESSION_NAME_MAX 64       /* bytes of a name, without the NUL */
#define SESSION_MAX_LIST 256      /* sessions session_list() returns at most */

/* A valid name: 1..SESSION_NAME_MAX of [A-Za-z0-9_.-], not starting with
 * '.' or '-'. Returns 0, or -1 with a malloc'd *err. */
int session_name_check(const char *name, char **err);

/* The socket directory, made if missing (mode 0700). malloc'd; NULL with a
 * malloc'd *err when it cannot be made, is not a directory (a symlink is
 * refused), is not owned by this user, or others may enter it. */
char *session_dir(char **err);

/* Paths of a session in dir (malloc'd). NULL with *err if the socket path
 * is longer than a unix socket address can hold. */
char *session_socket_path(const char *dir, const char *name, char **err);
char *session_lock_path(const char *dir, const char *name);
/* $XDG_STATE_HOME/tokmux/sessions/NAME.json (~/.local/state/...). */
char *session_state_path(const char *name);

/*
 * Take the session's lock (non-blocking). Returns the lock's fd (keep it
 * open for as long as the server lives; close-on-exec), SESSION_BUSY if
 * another server holds it, or -1 for other failures; *err (malloc'd) says
 * which.
 */
#define SESSION_BUSY (-2)
int session_lock(const char *dir, const char *name, char **err);

/* Connect to the session's server (a SOCK_SEQPACKET unix socket,
 * blocking, close-on-exec). Returns the fd, or -1 with *err: "no session
 * NAME", or for a socket whose server died, the same after removing it
 * (*stale = 1). */
int session_connect(const char *dir, const char *name, int *stale, char **err);

/* The names of the sessions in dir with a socket (sorted; stale ones
 * included: session_connect() finds them out). Returns how many were put
 * in names[] (malloc'd each), at most max. */
int session_list(const char *dir, char **names, int max);

/* Lock the session named by the lowest number 0, 1, 2... that no live
 * server holds (the name goes into buf), for `tokmux` without -s. Returns
 * the lock's fd as session_lock() does, or -1 with *err. */
int session_lock_auto(const char *dir, char *buf, size_t len, char **err);

#endif
