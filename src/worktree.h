/*
 * worktree: a git worktree and branch per pane. Creates branch
 * tokmux/<pane-name> from the current branch's HEAD with a worktree for it
 * outside the repository's working files, measures its change against the
 * branch point, renders its diff, removes it (never deleting uncommitted
 * or unmerged work without force), and tells the branch of any directory.
 *
 * git is run from argv arrays only (proc), with a deadline per operation.
 * The synchronous functions block the calling thread (use them from a
 * worker thread, a CLI or a test); the *_async variants run the same
 * operation on a worker_t pool and call back on the thread that calls
 * worker_dispatch(), so the UI never waits for git.
 */
#ifndef TOKMUX_WORKTREE_H
#define TOKMUX_WORKTREE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "worker.h"

#define WORKTREE_NAME_MAX 64                  /* sanitised pane name, without NUL */
#define WORKTREE_BRANCH_PREFIX "tokmux/"
#define WORKTREE_DIR_DEFAULT "{repo}.tokmux/{name}"
#define WORKTREE_SETUP_MARKER "tokmux-setup-done" /* in the worktree's git dir */

/* ---- how git is run (shared, read-only after creation, thread-safe) ---- */

struct worktree_git_opts {
	const char *git;          /* program; NULL: "git" on PATH */
	int timeout_ms;           /* status, diff, branch; 0: 10000 */
	int long_timeout_ms;      /* create, remove (checkout of a big tree); 0: 120000 */
};

typedef struct worktree_git worktree_git_t;

/* Copies the options and a cleaned copy of the environment (GIT_DIR,
 * GIT_WORK_TREE, GIT_INDEX_FILE... removed; GIT_TERMINAL_PROMPT=0,
 * GIT_OPTIONAL_LOCKS=0 so status never takes the index lock an agent's
 * git may need, LC_ALL=C). Call from the UI thread before any job. */
worktree_git_t *worktree_git_new(const struct worktree_git_opts *o);
void worktree_git_free(worktree_git_t *g);

/* ---- names and places (pure) ---- */

/* A pane name as a ref component and a directory name: ASCII letters,
 * digits and '_' kept, '.' kept inside, every other run of bytes becomes
 * one '-'; no leading '.' or '-', no "..", no trailing '.', '-' or ".lock";
 * at most WORKTREE_NAME_MAX bytes; "pane" when nothing is left.
 * out must hold WORKTREE_NAME_MAX + 1 bytes. */
void worktree_sanitize(const char *name, char *out);

/* A worktree_dir template is valid when it starts with '/', "~/" or
 * "{repo}" and uses no placeholder but {repo} (the main worktree's path),
 * {repo_name} (its last component) and {name} (the sanitised pane name).
 * Returns 0, or -1 with a malloc'd reason in *why. */
int worktree_dir_valid(const char *tmpl, char **why);

/* Expand a template (NULL: WORKTREE_DIR_DEFAULT) for the main worktree
 * repo and a sanitised name; "~/" is home; "/{name}" is appended when it
 * has no {name}. malloc'd, NULL + *err when invalid. */
char *worktree_dir_expand(const char *tmpl, const char *home, const char *repo, const char *name,
    char **err);

/* ---- a pane's worktree ---- */

typedef struct worktree worktree_t;

struct worktree_request {
	const char *dir;          /* where the pane would start: any directory inside the repository */
	const char *name;         /* the pane's name (sanitised here) */
	const char *dir_template; /* config worktree_dir; NULL: WORKTREE_DIR_DEFAULT */
	int reuse;                /* 1: when this pane's worktree already exists (same path, same
	                           * branch, made by tokmux), open it instead of refusing */
};

/* Create branch tokmux/<name> at HEAD of the current branch and a worktree
 * for it. Refuses (NULL + *err, one line) when dir is not in a git
 * repository, the repository is bare, HEAD is detached or unborn, HEAD has
 * submodules (.gitmodules), the branch or the path already exists, the
 * path is inside the repository, or git is missing, fails or times out.
 * Anything made before a failure is rolled back. */
worktree_t *worktree_create(const worktree_git_t *g, const struct worktree_request *rq, char **err);

/* Open an existing worktree made by worktree_create (for resuming). */
worktree_t *worktree_open(const worktree_git_t *g, const char *path, char **err);

worktree_t *worktree_copy(const worktree_t *wt);
void worktree_free(worktree_t *wt);

const char *worktree_path(const worktree_t *wt);     /* the pane's directory */
const char *worktree_branch(const worktree_t *wt);   /* "tokmux/<name>" */
const char *worktree_repo(const worktree_t *wt);     /* the main worktree */
const char *worktree_base(const worktree_t *wt);     /* branch it came from, e.g. "main" */
const char *worktree_base_commit(const worktree_t *wt);
const char *worktree_gitdir(const worktree_t *wt);   /* its private git dir */
int worktree_fresh(const worktree_t *wt);            /* 1: created now; 0: opened/reused */

/* The argv a pane execs in the worktree: runs each setup command (shell
 * commands from the user's config) with /bin/sh -c, shown in the pane,
 * unless they already all succeeded once for this worktree (a marker in
 * its git dir); then execs cmd with /bin/sh -c, or the shell when cmd is
 * NULL. No user string is ever pasted into script text: they are passed
 * as positional parameters. NULL-terminated, free with worktree_argv_free. */
char **worktree_pane_argv(const worktree_t *wt, char *const *setup, int nsetup,
    const char *cmd, const char *shell);
void worktree_argv_free(char **argv);

/* ---- status, diff, branch ---- */

struct worktree_stat {
	int files;                /* files changed, untracked files included */
	int64_t added, removed;   /* lines */
	int untracked;            /* of files: untracked (not ignored) */
	int binary;               /* of files: binary (no line counts) */
	int partial;              /* a lower bound: a limit was reached (4 MiB of listing, 16 MiB
	                           * of untracked files read, 20000 untracked files, the deadline) */
	int64_t elapsed_ms;
};

/* The change of the working tree whose top is dir (committed, staged,
 * unstaged and untracked, not ignored) against the merge base of base and
 * HEAD (base_commit when base no longer names a commit; either may be
 * NULL), as `git diff --numstat --no-renames` counts it, untracked files
 * counted as new files. Returns 0 or -1 + *err. */
int worktree_status(const worktree_git_t *g, const char *dir, const char *base, const char *base_commit,
    struct worktree_stat *st, char **err);

/* The same change as git's coloured diff text (untracked files as new
 * files, at most 200), at most max bytes appended to out; *truncated set
 * when cut. Returns 0 or -1 + *err. */
int worktree_diff(const worktree_git_t *g, const char *dir, const char *base, const char *base_commit,
    size_t max, struct buf *out, int *truncated, char **err);

struct worktree_where {
	char *top;                /* the working tree's top directory */
	char *branch;             /* short branch name; NULL when HEAD is detached */
};
/* The working tree and branch dir is in (the pane's directory decides when
 * a workspace spans several repositories). Returns 0, 1 when dir is not in
 * a working tree (w left empty), -1 + *err when git failed. */
int worktree_where(const worktree_git_t *g, const char *dir, struct worktree_where *w, char **err);
void worktree_where_free(struct worktree_where *w);

/* ---- removal ---- */

enum worktree_keep {
	WORKTREE_KEEP_BOTH,       /* nothing is removed */
	WORKTREE_KEEP_BRANCH,     /* the worktree directory goes, the branch stays */
	WORKTREE_REMOVE_BOTH,     /* the worktree and the branch go */
};
#define WORKTREE_NEED_FORCE 1

/* Remove what keep says. Without force, refuses (returns
 * WORKTREE_NEED_FORCE, *err says what would be lost) when the worktree has
 * uncommitted changes or untracked files, or (REMOVE_BOTH) the branch has
 * commits on no other branch, tag or remote-tracking ref. Ignored files
 * (build output, copied .env files) go with the directory. Never removes
 * the main worktree or a locked one. Returns 0, WORKTREE_NEED_FORCE, or -1
 * + *err. */
int worktree_remove(const worktree_git_t *g, const worktree_t *wt, enum worktree_keep keep,
    int force, char **err);

/* ---- asynchronous: run on a worker pool, call back on the dispatcher ---- */

struct worktree_result {
	int rc;                   /* 0 ok, WORKTREE_NEED_FORCE (remove), 1 (where: not in a
	                           * working tree), -1 error */
	const char *err;          /* one line when rc != 0 */
	worktree_t *wt;           /* create: the worktree; set it to NULL to keep it */
	struct worktree_stat stat;            /* status */
	struct buf diff;                      /* diff text */
	int truncated;                        /* diff */
	struct worktree_where where;          /* where */
};
/* Called on the worker_dispatch() thread; r and what it points to are
 * freed after it returns (except a wt the callback took). Never called
 * for jobs cancelled by worker_free(). */
typedef void (*worktree_done_fn)(void *user, struct worktree_result *r);

/* Each copies its arguments; returns 0, or -1 when the pool is stopping. */
int worktree_create_async(worker_t *w, const worktree_git_t *g, const struct worktree_request *rq,
    worktree_done_fn done, void *user);
int worktree_status_async(worker_t *w, const worktree_git_t *g, const char *dir, const char *base,
    const char *base_commit, worktree_done_fn done, void *user);
int worktree_diff_async(worker_t *w, const worktree_git_t *g, const char *dir, const char *base,
    const char *base_commit, size_t max, worktree_done_fn done, void *user);
int worktree_remove_async(worker_t *w, const worktree_git_t *g, const worktree_t *wt,
    enum worktree_keep keep, int force, worktree_done_fn done, void *user);
int worktree_where_async(worker_t *w, const worktree_git_t *g, const char *dir,
    worktree_done_fn done, void *user);

#endif
