/*
 * wtpane: the git side of the workspace's panes, on the UI thread. Owns
 * the worker pool that runs git and git's settings, and per pane (named
 * by an id the UI chose, never a pointer): its worktree (being created,
 * made, failed, being removed), its change figures refreshed every few
 * seconds with one refresh in flight at most, and the branch of the
 * directory its program works in, which the ledger records. Creations
 * and removals run one at a time (git locks the repository's config and
 * refs); status, diff and where run beside them on the pool. Results come
 * back through hooks called from the UI's event loop: nothing here
 * blocks on git.
 */
#ifndef TOKMUX_WTPANE_H
#define TOKMUX_WTPANE_H

#include <stddef.h>
#include <sys/types.h>

#include "evloop.h"
#include "worktree.h"

#define WTPANE_STATUS_MS 4000        /* a worktree pane's change figures, at most this often */
#define WTPANE_WHERE_MS 5000         /* the branch of each pane's directory */
#define WTPANE_DIFF_MAX (4u << 20)   /* bytes of diff text kept for the overlay */

enum wtpane_state {
	WTPANE_PLAIN,        /* not a worktree pane (its branch is still followed) */
	WTPANE_CREATING,
	WTPANE_READY,
	WTPANE_FAILED,       /* creation refused or failed: err says why */
	WTPANE_REMOVING,
};

/* What the UI shows of a pane; valid until the next call into wtpane. */
struct wtpane_info {
	enum wtpane_state state;
	const char *branch;        /* the worktree's branch (READY, REMOVING), else NULL */
	const char *path;          /* its directory, or NULL */
	const char *base;          /* the branch it came from, or NULL */
	const char *err;           /* FAILED: why, one line */
	int known;                 /* stat holds a measurement */
	struct worktree_stat stat;
};

/* Called from the loop (wtpane's own fd and timer callbacks). */
struct wtpane_hooks {
	void *user;
	/* pane id's worktree is made (wt, valid during the call), or could not
	 * be (wt NULL, err one line) */
	void (*created)(void *user, int id, const worktree_t *wt, const char *err);
	/* pane id's figures changed */
	void (*changed)(void *user, int id);
	/* pane id's diff as git's coloured text (truncated: cut at
	 * WTPANE_DIFF_MAX), or err with text NULL */
	void (*diff)(void *user, int id, const char *text, size_t len, int truncated,
	    const char *err);
	/* the removal of pane id's worktree ended: rc 0 done, WORKTREE_NEED_FORCE
	 * (err says what would be lost), -1 failed (err) */
	void (*removed)(void *user, int id, int rc, const char *err);
	/* requests of gateway route now work on branch in worktree (each NULL
	 * for none); called when that changes */
	void (*where)(void *user, int route, const char *branch, const char *worktree);
};

struct wtpane_options {
	const char *git;             /* NULL: "git" on PATH */
	const char *dir_template;    /* the config's worktree_dir; NULL: the default */
	int status_ms, where_ms;     /* 0: WTPANE_STATUS_MS, WTPANE_WHERE_MS */
};

typedef struct wtpanes wtpanes_t;

/* Start the pool (call after the UI blocked its signals) and watch its fd
 * and a timer on loop. NULL + *err (malloc'd). */
wtpanes_t *wtpanes_new(evloop_t *loop, const struct wtpane_options *o,
    const struct wtpane_hooks *h, char **err);
/* Stops the pool (git still running is killed; a creation rolls back) and
 * removes its fd and timer from the loop. NULL is fine. */
void wtpanes_free(wtpanes_t *w);
/* A removal is running or queued: quitting now would cut it short. */
int wtpanes_busy(const wtpanes_t *w);

/* Follow pane id: route is its gateway route (-1 none). */
void wtpane_add(wtpanes_t *w, int id, int route);
/* Its program's pid (0: none), whose directory decides its branch. */
void wtpane_set_pid(wtpanes_t *w, int id, pid_t pid);
/* Make pane id a worktree pane: create (or reuse) branch tokmux/<name>
 * and its worktree for the repository dir is in. 0, or -1 when it cannot
 * start (the info's err says why). */
int wtpane_create(wtpanes_t *w, int id, const char *dir, const char *name);
/* NULL for an id not followed. */
const struct wtpane_info *wtpane_info(wtpanes_t *w, int id);
/* Ask for pane id's diff (hooks.diff answers). 0, or -1 when it is not a
 * ready worktree pane. */
int wtpane_diff(wtpanes_t *w, int id);
/* Remove what keep says of pane id's worktree: KEEP_BRANCH or
 * REMOVE_BOTH (hooks.removed answers). 0, or -1 when it is not a ready
 * worktree pane or keep is KEEP_BOTH (nothing to do). */
int wtpane_remove(wtpanes_t *w, int id, enum worktree_keep keep, int force);
/* Stop following pane id (it closed). */
void wtpane_forget(wtpanes_t *w, int id);

#endif
