/*
 * client: the side of a session that owns nothing but the user's terminal.
 * It connects to the session's socket, says HELLO (different versions
 * refuse to talk, and it says so), puts the terminal in raw mode, hands
 * its descriptors to the server (which draws on them and reads the keys
 * itself), forwards SIGWINCH, and exits with the server's verdict:
 * detached, ended, or the server's failure, after restoring the terminal
 * itself. If the server dies without a word (kill -9), the terminal is
 * restored all the same. Also the short exchanges of `tokmux ls` and
 * `tokmux kill-session`.
 */
#ifndef TOKMUX_CLIENT_H
#define TOKMUX_CLIENT_H

#include "proto.h"

/* Attach this process's terminal (stdin, stdout) to session name in the
 * socket directory dir; prog names the front end in messages ("tokmux
 * attach"). Returns the exit status: the server's verdict (0 detached or
 * quit), 1 when the session cannot be reached or was lost, 2 without a
 * terminal. */
int client_attach(const char *prog, const char *dir, const char *name, int readonly);

/* What session name is (tokmux ls). 0, or -1 with a malloc'd *err; *stale
 * is 1 when its socket was a dead server's (now removed). */
int client_info(const char *dir, const char *name, struct proto_info *out, int *stale,
    char **err);

/* End session name (every pane, every client). 0, or -1 with *err. */
int client_kill(const char *dir, const char *name, char **err);

#endif
