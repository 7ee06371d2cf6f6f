/*
 * config: the JSON configuration (cJSON) and command-line overrides, as
 * plain data. Every load error names the file, the key and what was
 * expected, in one line.
 */
#ifndef TOKMUX_CONFIG_H
#define TOKMUX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "team.h"

#define CONFIG_MAX_PANES 16     /* gateway routes; the UI shows at most TOKMUX_MAX_PANES */
#define CONFIG_MAX_FALLBACK 8
#define CONFIG_MAX_SETUP 16     /* worktree_setup commands */

struct cJSON;

struct config_pane {
	char *name;                 /* NULL: "pane N" */
	char *cmd;                  /* NULL: $SHELL */
	int64_t ceiling_micros;     /* -1: none */
	int64_t ceiling_tokens;     /* -1: none */
	double downgrade_at;        /* fraction of the ceiling, 0: off */
	char *fallback[CONFIG_MAX_FALLBACK];
	int nfallback;              /* 0: default chain */
	int worktree;               /* 1: runs in its own git worktree and branch (docs/WORKTREES.md) */
};

struct config {
	char *path;                 /* file loaded, NULL if none */
	struct config_pane panes[CONFIG_MAX_PANES];
	int npanes;
	int prefix_key;             /* control code of the prefix, default Ctrl-g (7) */
	long scrollback_lines;      /* default 10000 */
	size_t scrollback_bytes;    /* per pane byte budget, default 8 MiB */
	char *anthropic_upstream;   /* default https://api.anthropic.com */
	char *openai_upstream;      /* default https://api.openai.com */
	int port;                   /* gateway port, 0 = any free */
	int gateway;                /* embedded gateway on (default 1) */
	char *ledger_path;          /* NULL: ledger_default_path() */
	int ledger_fail_open;       /* serve under a ceiling while the ledger cannot be
	                             * written (default 0: refuse) */
	int64_t ceiling_micros;     /* workspace ceiling, -1 none */
	int64_t daily_ceiling_micros;
	int64_t min_output_tokens;  /* floor of a clamped output limit; 0: the default (1024) */
	double warn_at;             /* soft warning fraction, default 0.8 */
	char *theme;                /* default "default" */
	struct cJSON *prices;       /* "prices" object (owned), NULL if absent */
	int bell;                   /* ring the terminal bell on events (default 0) */
	char *worktree_dir;         /* where pane worktrees go, a template; NULL: WORKTREE_DIR_DEFAULT */
	char *worktree_setup[CONFIG_MAX_SETUP]; /* shell commands run once in a new worktree */
	int nworktree_setup;
	struct team_settings team;  /* team budget keys (team.h, docs/TEAM.md) */
	/* pane states and notifications (issue 15) */
	char *notify_command;       /* run by /bin/sh -c on a notification; NULL none */
	int notify_osc;             /* enum notify_method, or NOTIFY_AUTO (-1, the default) */
	int notify_focused;         /* notify for the focused pane too (default 0) */
	int metrics_token;          /* /metrics needs the metrics token (default 1) */
	size_t body_memory;         /* bytes all request bodies may hold together; 0: default */
	int claude_first_party;     /* set _CLAUDE_CODE_ASSUME_FIRST_PARTY_BASE_URL in panes:
	                             * 1 yes, 0 no, -1 auto (the default: when the Anthropic
	                             * upstream is https://api.anthropic.com) */
};

void config_init(struct config *c);          /* defaults */
void config_free(struct config *c);

/* Load path into c (on top of defaults). Returns 0, or -1 with a malloc'd
 * one-line *err such as "config.json: key panes[1].cmd: expected a string". */
int config_load(struct config *c, const char *path, char **err);

/* Load path (which must exist), or when path is NULL the default config
 * path if that file exists (a missing default is fine). Same errors as
 * config_load(). */
int config_load_path(struct config *c, const char *path, char **err);

/* Default config path: $XDG_CONFIG_HOME/tokmux/config.json
 * (~/.config/tokmux/config.json). malloc'd. */
char *config_default_path(void);

/* Parse a key spec such as "C-g", "C-a", "^b" into a control code (1..31).
 * Returns -1 if not a control key. */
int config_parse_key(const char *s);

/* The name texts give a control code: 7 -> "Ctrl-g", 28 -> "Ctrl-\\".
 * Anything out of range names the default, Ctrl-g. len >= 8. */
void config_key_name(int code, char *buf, size_t len);

/* Find a pane by name or 1-based number; -1 if none. */
int config_find_pane(const struct config *c, const char *name_or_num);

#endif
