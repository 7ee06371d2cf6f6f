/*
 * sessfile: a session's state file, $XDG_STATE_HOME/tokmux/sessions/NAME.json
 * (session_state_path): what `tokmux resume` needs to open the session
 * again after its server is gone: the command line's options, and per pane
 * its name, command, directory, ceiling, model override, fallback chain,
 * and the agent's conversation as its requests named it. Written whole to
 * a temporary file and renamed over the old one (mode 0600), so a crash
 * leaves the old or the new file, never a torn one; read back with one-line
 * errors naming the file and key. No secrets go in: no keys, no prompts.
 */
#ifndef TOKMUX_SESSFILE_H
#define TOKMUX_SESSFILE_H

#include <stdint.h>

#include "config.h"
#include "util.h"

#define SESSFILE_MAX_OPTIONS 64

struct sessfile_pane {
	char *name;
	char *cmd;                 /* as it was given; NULL: the shell */
	char *cwd;                 /* where its agent ran; NULL: the session's */
	int64_t ceiling_micros;    /* -1: none */
	char *model;               /* the model override, NULL none */
	char *fallback[CONFIG_MAX_FALLBACK];
	int nfallback;
	char *agent;               /* whose conversation ("claude"), NULL none */
	char *conversation;        /* its id, NULL none */
};

struct sessfile {
	char *name;
	int64_t created;           /* UNIX time */
	int pid;                   /* the server's */
	char *cwd;                 /* the server's directory */
	char *ledger_session;      /* the id its ledger records carry (a resume keeps it) */
	char *options[SESSFILE_MAX_OPTIONS];   /* the command line's options */
	int noptions;
	struct sessfile_pane pane[TOKMUX_MAX_PANES];
	int npanes;
};

/* The file's text (malloc'd). */
char *sessfile_format(const struct sessfile *s);

/* Write text to path atomically (its directory made if missing). 0, or -1
 * with a malloc'd *err. */
int sessfile_write(const char *path, const char *text, char **err);

/* Read path into *s (zeroed first; sessfile_free it even on failure).
 * 0, or -1 with a malloc'd one-line *err ("FILE: key panes[0].cmd:
 * expected a string"). */
int sessfile_read(const char *path, struct sessfile *s, char **err);

void sessfile_free(struct sessfile *s);

#endif
