/*
 * worktree: git worktrees and branches for panes. Every git command is an
 * argv array run by proc with the operation's deadline; creation records
 * what it made and rolls all of it back on any failure; removal checks
 * for work that would be lost before it deletes anything.
 */
#include "worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

extern char **environ;

#define WORKTREE_MAX_ARGS 24
#define WORKTREE_MAX_DIRS 32            /* parent directories made by one create */
#define WORKTREE_ROLLBACK_MS 15000
#define WORKTREE_UNTRACKED_BYTES (16u << 20) /* read budget for counting untracked lines */
#define WORKTREE_LIST_MAX (4u << 20)          /* numstat / ls-files output kept */
#define WORKTREE_UNTRACKED_FILES 20000
#define WORKTREE_DIFF_UNTRACKED 200     /* untracked files shown in a diff */
#define WORKTREE_BINARY_PROBE 8000      /* git's buffer_is_binary() window */

struct worktree_git {
	char *git;
	int timeout_ms, long_timeout_ms;
	char **envp;
	char *home;
};

struct worktree {
	char *repo, *path, *gitdir, *branch, *base, *base_commit;
	int fresh;
};

/* One operation: its deadline, cancel flag and the error it reports. */
struct worktree_call {
	const worktree_git_t *g;
	int64_t deadline;
	const atomic_int *cancel;
	size_t max_out;
	int truncate;
	char **err;
};

#define WT_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- running git ---- */

static const char *const worktree_env_drop[] = {
	"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_OBJECT_DIRECTORY=",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_COMMON_DIR=", "GIT_NAMESPACE=",
	"GIT_PREFIX=", "GIT_TERMINAL_PROMPT=", "GIT_OPTIONAL_LOCKS=", "GIT_EXTERNAL_DIFF=",
	"GIT_PAGER=", "LC_ALL=",
};

static int
worktree_env_dropped(const char *e)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(worktree_env_drop); i++) {
		if (strncmp(e, worktree_env_drop[i], strlen(worktree_env_drop[i])) == 0)
			return 1;
	}
	return 0;
}

worktree_git_t *
worktree_git_new(const struct worktree_git_opts *o)
{
	worktree_git_t *g = xcalloc(1, sizeof *g);
	g->git = xstrdup(o && o->git ? o->git : "git");
	g->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 10000;
	g->long_timeout_ms = o && o->long_timeout_ms > 0 ? o->long_timeout_ms : 120000;
	const char *home = getenv("HOME");
	g->home = home ? xstrdup(home) : NULL;
	size_t n = 0, k = 0;
	while (environ[n] != NULL)
		n++;
	g->envp = xcalloc(n + 5, sizeof *g->envp);
	for (size_t i = 0; i < n; i++) {
		if (!worktree_env_dropped(environ[i]))
			g->envp[k++] = xstrdup(environ[i]);
	}
	g->envp[k++] = xstrdup("GIT_TERMINAL_PROMPT=0");
	g->envp[k++] = xstrdup("GIT_OPTIONAL_LOCKS=0");
	g->envp[k++] = xstrdup("GIT_PAGER=cat");
	g->envp[k++] = xstrdup("LC_ALL=C");
	return g;
}

void
worktree_git_free(worktree_git_t *g)
{
	if (g == NULL)
		return;
	for (char **e = g->envp; *e != NULL; e++)
		free(*e);
	free(g->envp);
	free(g->git);
	free(g->home);
	free(g);
}

static void
worktree_call_init(struct worktree_call *c, const worktree_git_t *g, int ms,
    const atomic_int *cancel, char **err)
{
	memset(c, 0, sizeof *c);
	c->g = g;
	c->deadline = util_now_ms() + ms;
	c->cancel = cancel;
	c->err = err;
}

static void __attribute__((format(printf, 2, 3)))
worktree_fail(struct worktree_call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	free(*c->err);
	*c->err = s;
}

/* Run git [-C dir] args. Returns git's exit code, or -1 when it did not
 * run to one (*c->err set; a truncated run also returns -1, err unset). */
static int
worktree_run(struct worktree_call *c, const char *dir, struct proc_result *r,
    const char *const *args)
{
	const char *argv[WORKTREE_MAX_ARGS];
	int n = 0;
	argv[n++] = c->g->git;
	if (dir != NULL) {
		argv[n++] = "-C";
		argv[n++] = dir;
	}
	while (*args != NULL && n < WORKTREE_MAX_ARGS - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	struct proc_spec s = { .argv = argv, .envp = c->g->envp, .deadline_ms = c->deadline,
		.max_out = c->max_out, .truncate = c->truncate, .cancel = c->cancel };
	int rc = proc_run(&s, r);
	if (rc < 0 && r->end == PROC_NOT_FOUND && r->error == ENOENT)
		worktree_fail(c, "git not found (%s): install git to use worktree panes", c->g->git);
	else if (rc < 0 && r->end != PROC_TRUNCATED) {
		char *d = proc_describe(r, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	return rc;
}

static void
worktree_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Run git and require exit 0: *out (may be NULL) gets stdout without the
 * trailing newline. Returns 0, or -1 with *c->err naming git's error. */
static int
worktree_capture(struct worktree_call *c, const char *dir, char **out, const char *const *args)
{
	struct proc_result r;
	int rc = worktree_run(c, dir, &r, args);
	if (rc > 0) {
		char *d = proc_describe(&r, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	if (rc == 0 && out != NULL) {
		worktree_trim(r.out.data);
		*out = xstrdup(r.out.data);
	}
	proc_result_free(&r);
	return rc == 0 ? 0 : -1;
}

/* Run git for its exit code only (e.g. show-ref --verify, cat-file -e). */
static int
worktree_test(struct worktree_call *c, const char *dir, const char *const *args)
{
	struct proc_result r;
	int rc = worktree_run(c, dir, &r, args);
	proc_result_free(&r);
	return rc;
}

/* ---- names and places ---- */

static int
worktree_name_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static void
worktree_trim_tail(char *out, size_t *n)
{
	for (;;) {
		while (*n > 0 && (out[*n - 1] == '-' || out[*n - 1] == '.'))
			out[--*n] = '\0';
		if (*n >= 5 && strcmp(out + *n - 5, ".lock") == 0)
			out[*n - 5] = '-';
		else
			return;
	}
}

void
worktree_sanitize(const char *name, char *out)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && n < WORKTREE_NAME_MAX; p++) {
		char prev = n > 0 ? out[n - 1] : '\0';
		if (worktree_name_char(*p))
			out[n++] = (char)*p;
		else if (*p == '.') {
			if (n > 0 && prev != '.' && prev != '-')
				out[n++] = '.';
		} else if (prev == '.')
			out[n - 1] = '-';
		else if (n > 0 && prev != '-')
			out[n++] = '-';
	}
	out[n] = '\0';
	worktree_trim_tail(out, &n);
	if (n == 0)
		strcpy(out, "pane");
}

static const char *const worktree_placeholders[] = { "{repo}", "{repo_name}", "{name}" };

/* Length of the placeholder at s, 0 when s starts none. */
static size_t
worktree_placeholder(const char *s, int *which)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(worktree_placeholders); i++) {
		size_t n = strlen(worktree_placeholders[i]);
		if (strncmp(s, worktree_placeholders[i], n) == 0) {
			*which = (int)i;
			return n;
		}
	}
	return 0;
}

int
worktree_dir_valid(const char *tmpl, char **why)
{
	if (tmpl == NULL || (*tmpl != '/' && strncmp(tmpl, "~/", 2) != 0 && strncmp(tmpl, "{repo}", 6) != 0)) {
		*why = xstrdup("a directory template starting with /, ~/ or {repo}");
		return -1;
	}
	for (const char *p = tmpl; *p; p++) {
		int which;
		size_t n = *p == '{' ? worktree_placeholder(p, &which) : 0;
		if (*p == '{' && n == 0) {
			*why = xstrdup("only the placeholders {repo}, {repo_name} and {name}");
			return -1;
		}
		if (n > 0)
			p += n - 1;
		if (*p == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0' ||
		    (p[2] == '.' && (p[3] == '/' || p[3] == '\0')))) {
			*why = xstrdup("a path without . or .. components");
			return -1;
		}
	}
	return 0;
}

char *
worktree_dir_expand(const char *tmpl, const char *home, const char *repo, const char *name, char **err)
{
	if (tmpl == NULL)
		tmpl = WORKTREE_DIR_DEFAULT;
	char *why = NULL;
	if (worktree_dir_valid(tmpl, &why) < 0) {
		*err = xasprintf("worktree_dir \"%s\": expected %s", tmpl, why);
		free(why);
		return NULL;
	}
	if (strncmp(tmpl, "~/", 2) == 0 && (home == NULL || *home != '/')) {
		*err = xasprintf("worktree_dir \"%s\": $HOME is not set", tmpl);
		return NULL;
	}
	const char *slash = strrchr(repo, '/');
	const char *repo_name = slash && slash[1] ? slash + 1 : repo;
	struct buf b = { 0 };
	const char *p = tmpl;
	if (strncmp(p, "~/", 2) == 0) {
		buf_append(&b, home, strlen(home));
		p++;
	}
	int named = 0;
	for (; *p; p++) {
		int which;
		size_t n = *p == '{' ? worktree_placeholder(p, &which) : 0;
		if (n == 0) {
			buf_append(&b, p, 1);
			continue;
		}
		const char *val = which == 0 ? repo : which == 1 ? repo_name : name;
		named |= which == 2;
		buf_append(&b, val, strlen(val));
		p += n - 1;
	}
	while (b.len > 1 && b.data[b.len - 1] == '/')
		b.data[--b.len] = '\0';
	if (!named)
		buf_appendf(&b, "/%s", name);
	return b.data;
}

/* path with its longest existing prefix resolved by realpath() (the rest,
 * which has no . or .. components, appended). malloc'd. */
static char *
worktree_resolve(const char *path)
{
	char *head = xstrdup(path);
	for (;;) {
		char *real = realpath(head, NULL);
		if (real != NULL) {
			char *full = xasprintf("%s%s", real, path + strlen(head));
			free(real);
			free(head);
			return full;
		}
		char *slash = strrchr(head, '/');
		if (slash == NULL || slash == head) {
			free(head);
			return xstrdup(path);
		}
		*slash = '\0';
	}
}

/* 1 when path is dir itself or inside it (both resolved). */
static int
worktree_inside(const char *path, const char *dir)
{
	char *p = worktree_resolve(path), *d = worktree_resolve(dir);
	size_t n = strlen(d);
	int in = strncmp(p, d, n) == 0 && (p[n] == '\0' || p[n] == '/' || n == 1);
	free(p);
	free(d);
	return in;
}

static int
worktree_same_path(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return 1;
	char *ra = worktree_resolve(a), *rb = worktree_resolve(b);
	int same = strcmp(ra, rb) == 0;
	free(ra);
	free(rb);
	return same;
}

/* ---- the worktree object ---- */

void
worktree_free(worktree_t *wt)
{
	if (wt == NULL)
		return;
	free(wt->repo);
	free(wt->path);
	free(wt->gitdir);
	free(wt->branch);
	free(wt->base);
	free(wt->base_commit);
	free(wt);
}

static char *
worktree_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

worktree_t *
worktree_copy(const worktree_t *wt)
{
	worktree_t *c = xcalloc(1, sizeof *c);
	c->repo = worktree_dup(wt->repo);
	c->path = worktree_dup(wt->path);
	c->gitdir = worktree_dup(wt->gitdir);
	c->branch = worktree_dup(wt->branch);
	c->base = worktree_dup(wt->base);
	c->base_commit = worktree_dup(wt->base_commit);
	c->fresh = wt->fresh;
	return c;
}

const char *worktree_path(const worktree_t *wt) { return wt->path; }
const char *worktree_branch(const worktree_t *wt) { return wt->branch; }
const char *worktree_repo(const worktree_t *wt) { return wt->repo; }
const char *worktree_base(const worktree_t *wt) { return wt->base; }
const char *worktree_base_commit(const worktree_t *wt) { return wt->base_commit; }
const char *worktree_gitdir(const worktree_t *wt) { return wt->gitdir; }
int worktree_fresh(const worktree_t *wt) { return wt->fresh; }

/* ---- `git worktree list --porcelain` ---- */

struct worktree_entry {
	char *path;
	char *branch;            /* refs/heads/..., NULL when detached or bare */
	int bare, locked;
};

static void
worktree_entries_free(struct worktree_entry *e, int n)
{
	for (int i = 0; i < n; i++) {
		free(e[i].path);
		free(e[i].branch);
	}
	free(e);
}

/* Parse the porcelain records; returns how many (the main worktree first). */
static int
worktree_entries_parse(char *text, struct worktree_entry **out)
{
	struct worktree_entry *e = NULL;
	int n = 0;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "worktree ", 9) == 0) {
			e = xreallocarray(e, (size_t)n + 1, sizeof *e);
			memset(&e[n], 0, sizeof e[n]);
			e[n++].path = xstrdup(line + 9);
		} else if (n > 0 && strncmp(line, "branch ", 7) == 0) {
			free(e[n - 1].branch);
			e[n - 1].branch = xstrdup(line + 7);
		} else if (n > 0 && strcmp(line, "bare") == 0) {
			e[n - 1].bare = 1;
		} else if (n > 0 && (strcmp(line, "locked") == 0 || strncmp(line, "locked ", 7) == 0)) {
			e[n - 1].locked = 1;
		}
	}
	*out = e;
	return n;
}

static int
worktree_entries(struct worktree_call *c, const char *dir, struct worktree_entry **out)
{
	char *text = NULL;
	if (worktree_capture(c, dir, &text, WT_ARGS("worktree", "list", "--porcelain")) < 0)
		return -1;
	int n = worktree_entries_parse(text, out);
	free(text);
	if (n == 0) {
		worktree_fail(c, "git worktree list printed no worktrees for %s", dir);
		return -1;
	}
	return n;
}

static struct worktree_entry *
worktree_entry_find(struct worktree_entry *e, int n, const char *path)
{
	for (int i = 0; i < n; i++) {
		if (worktree_same_path(e[i].path, path))
			return &e[i];
	}
	return NULL;
}

/* ---- create ---- */

struct worktree_plan {
	const struct worktree_request *rq;
	char *top;                /* top of the working tree rq->dir is in */
	char *repo;               /* the main worktree */
	char *base;               /* the current branch, short name */
	char *commit;             /* its HEAD */
	char name[WORKTREE_NAME_MAX + 1];
	char *branch;
	char *path;
	char *dirs[WORKTREE_MAX_DIRS]; /* directories made for path, outermost first */
	int ndirs;
	int added;                /* git worktree add ran: it may have made the branch and path */
};

static void
worktree_plan_free(struct worktree_plan *p)
{
	free(p->top);
	free(p->repo);
	free(p->base);
	free(p->commit);
	free(p->branch);
	free(p->path);
	for (int i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
}

/* rq->dir must be in a non-bare working tree; sets p->top. */
static int
worktree_probe(struct worktree_call *c, struct worktree_plan *p)
{
	const char *dir = p->rq->dir;
	struct proc_result r;
	int rc = worktree_run(c, dir, &r, WT_ARGS("rev-parse", "--is-bare-repository", "--is-inside-git-dir"));
	if (rc > 0) {
		if (strstr(r.err.data, "not a git repository") != NULL)
			worktree_fail(c, "%s is not in a git repository", dir);
		else if (access(dir, F_OK) != 0)
			worktree_fail(c, "%s: %s", dir, strerror(errno));
		else {
			char *d = proc_describe(&r, "git");
			worktree_fail(c, "%s", d);
			free(d);
		}
	} else if (rc == 0 && strncmp(r.out.data, "true", 4) == 0) {
		worktree_fail(c, "%s is a bare repository: it has no working tree to branch from", dir);
		rc = 1;
	} else if (rc == 0 && strstr(r.out.data, "\ntrue") != NULL) {
		worktree_fail(c, "%s is inside a .git directory: start the pane in the working tree", dir);
		rc = 1;
	}
	proc_result_free(&r);
	if (rc != 0)
		return -1;
	return worktree_capture(c, dir, &p->top,
	    WT_ARGS("rev-parse", "--path-format=absolute", "--show-toplevel"));
}

/* HEAD must be a branch with a commit, and have no submodules. */
static int
worktree_head(struct worktree_call *c, struct worktree_plan *p)
{
	struct proc_result r;
	int rc = worktree_run(c, p->top, &r, WT_ARGS("symbolic-ref", "-q", "HEAD"));
	if (rc == 1)
		worktree_fail(c, "HEAD is detached in %s: check out a branch first (a pane's branch starts "
		    "from the current branch)", p->top);
	else if (rc == 0 && strncmp(r.out.data, "refs/heads/", 11) != 0)
		worktree_fail(c, "HEAD of %s is not a local branch", p->top);
	else if (rc == 0) {
		worktree_trim(r.out.data);
		p->base = xstrdup(r.out.data + 11);
	} else if (rc > 0) {
		char *d = proc_describe(&r, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	proc_result_free(&r);
	if (p->base == NULL)
		return -1;
	rc = worktree_run(c, p->top, &r, WT_ARGS("rev-parse", "-q", "--verify", "HEAD^{commit}"));
	if (rc == 0) {
		worktree_trim(r.out.data);
		p->commit = xstrdup(r.out.data);
	} else if (rc > 0)
		worktree_fail(c, "branch %s in %s has no commits yet: commit once before opening a worktree pane",
		    p->base, p->top);
	proc_result_free(&r);
	if (p->commit == NULL)
		return -1;
	rc = worktree_test(c, p->top, WT_ARGS("cat-file", "-e", "HEAD:.gitmodules"));
	if (rc == 0)
		worktree_fail(c, "%s has submodules (.gitmodules): tokmux does not make worktrees of a "
		    "repository with submodules (git worktree's support for them is incomplete)", p->top);
	return rc > 0 ? 0 : -1;
}

/* Name, branch and path; nothing of them may exist yet. Returns 0, -1, or
 * 1 when rq->reuse and this pane's worktree exists (open it). */
static int
worktree_place(struct worktree_call *c, struct worktree_plan *p, struct worktree_entry *e, int n)
{
	worktree_sanitize(p->rq->name ? p->rq->name : "", p->name);
	p->branch = xasprintf("%s%s", WORKTREE_BRANCH_PREFIX, p->name);
	p->repo = xstrdup(e[0].path);
	char *err = NULL;
	p->path = worktree_dir_expand(p->rq->dir_template, c->g->home, p->repo, p->name, &err);
	if (p->path == NULL) {
		worktree_fail(c, "%s", err);
		free(err);
		return -1;
	}
	if (p->path[0] != '/' || worktree_inside(p->path, p->top) || worktree_inside(p->path, p->repo)) {
		worktree_fail(c, "worktree directory %s is inside the repository %s: set worktree_dir to a "
		    "place outside it", p->path, p->repo);
		return -1;
	}
	struct worktree_entry *at = worktree_entry_find(e, n, p->path);
	char *ref = xasprintf("refs/heads/%s", p->branch);
	int mine = at != NULL && at->branch != NULL && strcmp(at->branch, ref) == 0;
	int rc = worktree_test(c, p->top, WT_ARGS("show-ref", "--verify", "-q", ref));
	free(ref);
	if (rc < 0)
		return -1;
	if (mine && p->rq->reuse)
		return 1;
	struct stat st;
	if (at != NULL)
		worktree_fail(c, "%s already exists: it is a worktree of %s on %s", p->path, p->repo,
		    at->branch ? at->branch + 11 : "a detached HEAD");
	else if (rc == 0)
		worktree_fail(c, "branch %s already exists in %s: another pane uses it or an earlier one was kept "
		    "(give the pane another name, or delete the branch: git branch -D %s)", p->branch, p->repo, p->branch);
	else if (lstat(p->path, &st) == 0)
		worktree_fail(c, "%s already exists: tokmux does not create a worktree over it", p->path);
	else
		return 0;
	return -1;
}

/* mkdir the missing parents of p->path, recording them for rollback. */
static int
worktree_mkdirs(struct worktree_call *c, struct worktree_plan *p)
{
	char *dir = xstrdup(p->path);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	int rc = 0;
	for (char *q = dir + 1; rc == 0; q++) {
		int last = *q == '\0';
		if (*q != '/' && !last)
			continue;
		*q = '\0';
		if (mkdir(dir, 0777) == 0) {
			if (p->ndirs < WORKTREE_MAX_DIRS)
				p->dirs[p->ndirs++] = xstrdup(dir);
		} else if (errno != EEXIST) {
			worktree_fail(c, "cannot create %s: %s", dir, strerror(errno));
			rc = -1;
		}
		if (last)
			break;
		*q = '/';
	}
	free(dir);
	return rc;
}

static int
worktree_add(struct worktree_call *c, struct worktree_plan *p)
{
	if (worktree_mkdirs(c, p) < 0)
		return -1;
	p->added = 1;
	if (worktree_capture(c, p->top, NULL,
	    WT_ARGS("worktree", "add", "-b", p->branch, p->path, p->commit)) < 0)
		return -1;
	char *k1 = xasprintf("branch.%s.tokmuxBase", p->branch);
	char *k2 = xasprintf("branch.%s.tokmuxCommit", p->branch);
	int rc = worktree_capture(c, p->repo, NULL, WT_ARGS("config", k1, p->base));
	if (rc == 0)
		rc = worktree_capture(c, p->repo, NULL, WT_ARGS("config", k2, p->commit));
	free(k1);
	free(k2);
	return rc;
}

static int
worktree_rmtree_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* Undo what a failed create made: its worktree (registration and files,
 * which did not exist before), its branch and the parents it made. Has its
 * own deadline and ignores cancel: never leave half a worktree behind. */
static void
worktree_rollback(const worktree_git_t *g, struct worktree_plan *p)
{
	char *err = NULL;
	struct worktree_call c;
	worktree_call_init(&c, g, WORKTREE_ROLLBACK_MS, NULL, &err);
	if (p->added) {
		struct stat st;
		worktree_test(&c, p->top, WT_ARGS("worktree", "remove", "--force", "--force", p->path));
		if (lstat(p->path, &st) == 0)
			nftw(p->path, worktree_rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
		worktree_test(&c, p->top, WT_ARGS("worktree", "prune"));
		char *ref = xasprintf("refs/heads/%s", p->branch);
		if (worktree_test(&c, p->top, WT_ARGS("show-ref", "--verify", "-q", ref)) == 0)
			worktree_test(&c, p->top, WT_ARGS("branch", "-D", p->branch));
		free(ref);
	}
	for (int i = p->ndirs - 1; i >= 0; i--)
		rmdir(p->dirs[i]);
	free(err);
}

static worktree_t *worktree_open_call(struct worktree_call *c, const char *path);

static worktree_t *
worktree_create_call(struct worktree_call *c, const struct worktree_request *rq)
{
	struct worktree_plan p = { .rq = rq };
	struct worktree_entry *e = NULL;
	worktree_t *wt = NULL;
	int n = -1, placed = -1;
	if (rq->dir == NULL || *rq->dir == '\0')
		worktree_fail(c, "no directory given for the worktree pane");
	else if (worktree_probe(c, &p) == 0 && worktree_head(c, &p) == 0 &&
	    (n = worktree_entries(c, p.top, &e)) > 0)
		placed = worktree_place(c, &p, e, n);
	if (placed == 1)
		wt = worktree_open_call(c, p.path);
	else if (placed == 0 && worktree_add(c, &p) == 0) {
		wt = worktree_open_call(c, p.path);
		if (wt != NULL)
			wt->fresh = 1;
	}
	if (wt == NULL && placed == 0)
		worktree_rollback(c->g, &p);
	if (n > 0)
		worktree_entries_free(e, n);
	worktree_plan_free(&p);
	return wt;
}

worktree_t *
worktree_create(const worktree_git_t *g, const struct worktree_request *rq, char **err)
{
	struct worktree_call c;
	*err = NULL;
	worktree_call_init(&c, g, g->long_timeout_ms, NULL, err);
	return worktree_create_call(&c, rq);
}

/* ---- open ---- */

/* git config --get key in dir: malloc'd value, NULL when unset (or error). */
static char *
worktree_config_get(struct worktree_call *c, const char *dir, const char *branch, const char *var)
{
	char *key = xasprintf("branch.%s.%s", branch, var);
	struct proc_result r;
	char *val = NULL;
	if (worktree_run(c, dir, &r, WT_ARGS("config", "--get", key)) == 0) {
		worktree_trim(r.out.data);
		val = xstrdup(r.out.data);
	}
	proc_result_free(&r);
	free(key);
	return val;
}

static worktree_t *
worktree_open_entry(struct worktree_call *c, struct worktree_entry *e, struct worktree_entry *at,
    const char *path)
{
	const char *pfx = "refs/heads/" WORKTREE_BRANCH_PREFIX;
	if (at == NULL || at == &e[0] || at->bare) {
		worktree_fail(c, "%s is not a linked worktree of %s", path, e[0].path);
		return NULL;
	}
	if (at->branch == NULL || strncmp(at->branch, pfx, strlen(pfx)) != 0) {
		worktree_fail(c, "%s is not on a %s branch", at->path, WORKTREE_BRANCH_PREFIX);
		return NULL;
	}
	worktree_t *wt = xcalloc(1, sizeof *wt);
	wt->repo = xstrdup(e[0].path);
	wt->path = xstrdup(at->path);
	wt->branch = xstrdup(at->branch + 11);
	wt->base = worktree_config_get(c, wt->repo, wt->branch, "tokmuxBase");
	wt->base_commit = worktree_config_get(c, wt->repo, wt->branch, "tokmuxCommit");
	if (wt->base == NULL || wt->base_commit == NULL) {
		if (*c->err == NULL)
			worktree_fail(c, "%s was not made by tokmux (branch %s has no tokmuxBase)", wt->path, wt->branch);
	} else if (worktree_capture(c, wt->path, &wt->gitdir,
	    WT_ARGS("rev-parse", "--path-format=absolute", "--git-dir")) == 0)
		return wt;
	worktree_free(wt);
	return NULL;
}

static worktree_t *
worktree_open_call(struct worktree_call *c, const char *path)
{
	struct worktree_entry *e = NULL;
	int n = worktree_entries(c, path, &e);
	if (n < 0)
		return NULL;
	worktree_t *wt = worktree_open_entry(c, e, worktree_entry_find(e, n, path), path);
	worktree_entries_free(e, n);
	return wt;
}

worktree_t *
worktree_open(const worktree_git_t *g, const char *path, char **err)
{
	struct worktree_call c;
	*err = NULL;
	worktree_call_init(&c, g, g->timeout_ms, NULL, err);
	return worktree_open_call(&c, path);
}

/* ---- status ---- */

/* The merge base of base (or, when that no longer names a commit,
 * base_commit) and HEAD in dir. */
static int
worktree_merge_base(struct worktree_call *c, const char *dir, const char *base,
    const char *base_commit, char **mb)
{
	struct proc_result r;
	int rc = base ? worktree_run(c, dir, &r, WT_ARGS("merge-base", base, "HEAD")) : 1;
	if (rc == 0) {
		worktree_trim(r.out.data);
		*mb = xstrdup(r.out.data);
	}
	if (base != NULL)
		proc_result_free(&r);
	if (rc > 0 && base_commit != NULL)
		return worktree_capture(c, dir, mb, WT_ARGS("merge-base", base_commit, "HEAD"));
	if (rc > 0)
		worktree_fail(c, "%s has no common ancestor with HEAD in %s", base ? base : "(no base)", dir);
	return rc == 0 ? 0 : -1;
}

/* `--numstat -z` records: "added\tremoved\tpath\0", "-\t-\tpath\0" for binary. */
static void
worktree_numstat_parse(const char *s, size_t len, struct worktree_stat *st)
{
	const char *p = s, *end = s + len;
	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));
		if (n > 0 && p[0] == '-') {
			st->binary++;
			st->files++;
		} else if (n > 0) {
			char *q;
			long long a = strtoll(p, &q, 10);
			long long d = *q == '\t' ? strtoll(q + 1, NULL, 10) : 0;
			st->added += a;
			st->removed += d;
			st->files++;
		}
		p += n + 1;
	}
}

/* Lines of a new file as git counts them (newlines, plus an unterminated
 * last line); -1 when binary (a NUL in the first 8000 bytes). *budget is
 * the bytes still allowed to be read; -2 when it ran out. */
static int64_t
worktree_count_lines(int fd, size_t *budget)
{
	char chunk[16384];
	int64_t lines = 0, seen = 0;
	char last = '\n';
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n > *budget)
			return -2;
		*budget -= (size_t)n;
		if (seen < WORKTREE_BINARY_PROBE &&
		    memchr(chunk, '\0', (size_t)UTIL_MIN((int64_t)n, WORKTREE_BINARY_PROBE - seen)) != NULL)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			lines += chunk[i] == '\n';
		last = chunk[n - 1];
		seen += n;
	}
	return lines + (last != '\n');
}

/* Count one untracked file (path relative to dirfd) into st. */
static void
worktree_count_untracked(int dirfd, const char *path, size_t *budget, struct worktree_stat *st)
{
	struct stat sb;
	st->files++;
	st->untracked++;
	if (st->partial)           /* past a limit: counted as a file, lines unknown */
		return;
	if (fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISLNK(sb.st_mode)) {
		st->added++;          /* git shows a new symlink as its one-line target */
		return;
	}
	if (!S_ISREG(sb.st_mode))
		return;
	if ((size_t)sb.st_size > *budget) {
		st->partial = 1;
		return;
	}
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	int64_t lines = worktree_count_lines(fd, budget);
	close(fd);
	if (lines == -1)
		st->binary++;
	else if (lines == -2)
		st->partial = 1;
	else
		st->added += lines;
}

/* Run a git listing of "...\0" records, cut at WORKTREE_LIST_MAX on a
 * record boundary (then *partial = 1). Returns 0 or -1 (*c->err set). */
static int
worktree_listing(struct worktree_call *c, const char *dir, struct proc_result *out,
    const char *const *args, int *partial)
{
	c->max_out = WORKTREE_LIST_MAX;
	c->truncate = 1;
	int rc = worktree_run(c, dir, out, args);
	c->max_out = 0;
	c->truncate = 0;
	if (rc < 0 && out->end == PROC_TRUNCATED) {
		char *end = memrchr(out->out.data, '\0', out->out.len);
		out->out.len = end ? (size_t)(end - out->out.data) + 1 : 0;
		*partial = 1;
		return 0;
	}
	if (rc > 0) {
		char *d = proc_describe(out, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	return rc == 0 ? 0 : -1;
}

/* Untracked, not ignored files of dir as "path\0path\0..." in *out. */
static int
worktree_untracked(struct worktree_call *c, const char *dir, struct proc_result *out, int *partial)
{
	return worktree_listing(c, dir, out, WT_ARGS("ls-files", "--others", "--exclude-standard", "-z"), partial);
}

static int
worktree_status_call(struct worktree_call *c, const char *dir, const char *base,
    const char *base_commit, struct worktree_stat *st)
{
	memset(st, 0, sizeof *st);
	int64_t start = util_now_ms();
	char *mb = NULL;
	struct proc_result r;
	if (worktree_merge_base(c, dir, base, base_commit, &mb) < 0)
		return -1;
	int rc = worktree_listing(c, dir, &r, WT_ARGS("diff", "--numstat", "-z", "--no-renames", "--no-ext-diff", mb),
	    &st->partial);
	free(mb);
	if (rc == 0)
		worktree_numstat_parse(r.out.data, r.out.len, st);
	proc_result_free(&r);
	if (rc != 0 || worktree_untracked(c, dir, &r, &st->partial) < 0)
		return -1;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t budget = WORKTREE_UNTRACKED_BYTES;
	for (size_t off = 0; dirfd >= 0 && off < r.out.len; off += strlen(r.out.data + off) + 1) {
		if (st->untracked >= WORKTREE_UNTRACKED_FILES || util_now_ms() >= c->deadline ||
		    (c->cancel && atomic_load(c->cancel)))
			st->partial = 1;
		worktree_count_untracked(dirfd, r.out.data + off, &budget, st);
	}
	if (dirfd >= 0)
		close(dirfd);
	proc_result_free(&r);
	st->elapsed_ms = util_now_ms() - start;
	return 0;
}

int
worktree_status(const worktree_git_t *g, const char *dir, const char *base, const char *base_commit,
    struct worktree_stat *st, char **err)
{
	struct worktree_call c;
	*err = NULL;
	worktree_call_init(&c, g, g->timeout_ms, NULL, err);
	return worktree_status_call(&c, dir, base, base_commit, st);
}

/* ---- diff ---- */

/* Append untracked files as new-file diffs, within max bytes in total. */
static int
worktree_diff_untracked(struct worktree_call *c, const char *dir, size_t max, struct buf *out,
    int *truncated)
{
	struct proc_result list;
	int partial = 0;
	c->max_out = 0;
	c->truncate = 0;
	if (worktree_untracked(c, dir, &list, &partial) < 0)
		return -1;
	int shown = 0, rest = 0;
	for (size_t off = 0; off < list.out.len; off += strlen(list.out.data + off) + 1) {
		const char *path = list.out.data + off;
		if (*truncated || shown >= WORKTREE_DIFF_UNTRACKED) {
			rest++;
			continue;
		}
		struct proc_result r;
		c->max_out = max > out->len ? max - out->len : 1;
		c->truncate = 1;
		int rc = worktree_run(c, dir, &r, WT_ARGS("-c", "color.ui=always", "diff", "--no-index",
		    "--color=always", "--", "/dev/null", path));
		if (rc > 1) {
			char *d = proc_describe(&r, "git");
			worktree_fail(c, "%s", d);
			free(d);
		} else
			buf_append(out, r.out.data, r.out.len);
		*truncated = r.end == PROC_TRUNCATED;
		proc_result_free(&r);
		if ((rc < 0 && !*truncated) || rc > 1)
			break;
		shown++;
	}
	if (rest > 0 && !*truncated)
		buf_appendf(out, "\n[%d more untracked files not shown]\n", rest);
	proc_result_free(&list);
	return *c->err ? -1 : 0;
}

static int
worktree_diff_call(struct worktree_call *c, const char *dir, const char *base, const char *base_commit,
    size_t max, struct buf *out, int *truncated)
{
	char *mb = NULL;
	*truncated = 0;
	if (worktree_merge_base(c, dir, base, base_commit, &mb) < 0)
		return -1;
	size_t start = out->len;
	struct proc_result r;
	c->max_out = max > 0 ? max : 1;
	c->truncate = 1;
	int rc = worktree_run(c, dir, &r, WT_ARGS("-c", "color.ui=always", "diff", "--color=always",
	    "--no-ext-diff", mb));
	free(mb);
	if (rc == 0 || r.end == PROC_TRUNCATED)
		buf_append(out, r.out.data, r.out.len);
	else if (rc > 0) {
		char *d = proc_describe(&r, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	*truncated = r.end == PROC_TRUNCATED;
	proc_result_free(&r);
	if (rc != 0 && !*truncated)
		return -1;
	if (*truncated)
		return 0;
	return worktree_diff_untracked(c, dir, start + max, out, truncated);
}

int
worktree_diff(const worktree_git_t *g, const char *dir, const char *base, const char *base_commit,
    size_t max, struct buf *out, int *truncated, char **err)
{
	struct worktree_call c;
	*err = NULL;
	worktree_call_init(&c, g, g->timeout_ms, NULL, err);
	return worktree_diff_call(&c, dir, base, base_commit, max, out, truncated);
}

/* ---- where ---- */

static int
worktree_where_call(struct worktree_call *c, const char *dir, struct worktree_where *w)
{
	memset(w, 0, sizeof *w);
	struct proc_result r;
	int rc = worktree_run(c, dir, &r, WT_ARGS("rev-parse", "--path-format=absolute", "--show-toplevel"));
	if (rc == 0) {
		worktree_trim(r.out.data);
		w->top = xstrdup(r.out.data);
	}
	proc_result_free(&r);
	if (rc != 0)
		return rc > 0 ? 1 : -1;      /* exit 128: not a git repository, or a bare one */
	rc = worktree_run(c, dir, &r, WT_ARGS("symbolic-ref", "-q", "--short", "HEAD"));
	if (rc == 0) {
		worktree_trim(r.out.data);
		w->branch = xstrdup(r.out.data);
	} else if (rc > 1) {
		char *d = proc_describe(&r, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	proc_result_free(&r);
	if (rc == 0 || rc == 1)
		return 0;
	worktree_where_free(w);
	return -1;
}

int
worktree_where(const worktree_git_t *g, const char *dir, struct worktree_where *w, char **err)
{
	struct worktree_call c;
	*err = NULL;
	worktree_call_init(&c, g, g->timeout_ms, NULL, err);
	return worktree_where_call(&c, dir, w);
}

void
worktree_where_free(struct worktree_where *w)
{
	free(w->top);
	free(w->branch);
	memset(w, 0, sizeof *w);
}

/* ---- remove ---- */

/* Uncommitted changes in the worktree, as "N uncommitted changes (M
 * untracked)" appended to why. Returns 1 when there are any, 0, or -1. */
static int
worktree_dirty(struct worktree_call *c, const worktree_t *wt, struct buf *why)
{
	struct proc_result r;
	int rc = worktree_run(c, wt->path, &r, WT_ARGS("status", "--porcelain", "-z", "--no-renames",
	    "--untracked-files=all", "--ignore-submodules=none"));
	int changed = 0, untracked = 0;
	for (size_t off = 0; rc == 0 && off < r.out.len; off += strlen(r.out.data + off) + 1) {
		changed++;
		untracked += strncmp(r.out.data + off, "??", 2) == 0;
	}
	if (rc > 0) {
		char *d = proc_describe(&r, "git");
		worktree_fail(c, "%s", d);
		free(d);
	}
	proc_result_free(&r);
	if (rc != 0)
		return -1;
	if (changed > 0)
		buf_appendf(why, "%s has %d uncommitted change%s (%d untracked)", wt->path, changed,
		    changed == 1 ? "" : "s", untracked);
	return changed > 0;
}

/* Commits of the branch on no other branch, tag or remote-tracking ref
 * (so they would be lost with it): appended to why. 1, 0 or -1. */
static int
worktree_unmerged(struct worktree_call *c, const worktree_t *wt, struct buf *why)
{
	char *ref = xasprintf("refs/heads/%s", wt->branch);
	char *ex = xasprintf("--exclude=%s", wt->branch);
	char *count = NULL;
	int rc = worktree_capture(c, wt->repo, &count, WT_ARGS("rev-list", "--count", ref, "--not", ex,
	    "--branches", "--tags", "--remotes"));
	long n = rc == 0 ? strtol(count, NULL, 10) : 0;
	if (n > 0)
		buf_appendf(why, "%sbranch %s has %ld commit%s on no other branch, tag or remote",
		    why->len ? " and " : "", wt->branch, n, n == 1 ? "" : "s");
	free(count);
	free(ex);
	free(ref);
	return rc < 0 ? -1 : n > 0;
}

/* Checks before removing: 0 go ahead, WORKTREE_NEED_FORCE, or -1. */
static int
worktree_remove_check(struct worktree_call *c, const worktree_t *wt, int has_dir, int has_branch,
    enum worktree_keep keep)
{
	struct buf why = { 0 };
	int lost = 0, rc = 0;
	if (has_dir && (rc = worktree_dirty(c, wt, &why)) > 0)
		lost = 1;
	if (rc >= 0 && keep == WORKTREE_REMOVE_BOTH && has_branch && (rc = worktree_unmerged(c, wt, &why)) > 0)
		lost = 1;
	if (rc >= 0 && lost)
		worktree_fail(c, "%s; confirm again to delete them", why.data);
	buf_free(&why);
	return rc < 0 ? -1 : lost ? WORKTREE_NEED_FORCE : 0;
}

/* Remove the now empty "<repo>.tokmux" style parent of the worktree. */
static void
worktree_remove_parent(const worktree_t *wt)
{
	char *dir = xstrdup(wt->path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		size_t n = strlen(dir);
		if (n > 7 && strcmp(dir + n - 7, ".tokmux") == 0)
			rmdir(dir);          /* only when empty */
	}
	free(dir);
}

static int
worktree_remove_call(struct worktree_call *c, const worktree_t *wt, enum worktree_keep keep, int force)
{
	struct worktree_entry *e = NULL;
	struct stat st;
	if (keep == WORKTREE_KEEP_BOTH)
		return 0;
	int n = worktree_entries(c, wt->repo, &e);
	if (n < 0)
		return -1;
	struct worktree_entry *at = worktree_entry_find(e, n, wt->path);
	char *ref = xasprintf("refs/heads/%s", wt->branch);
	int rc = worktree_test(c, wt->repo, WT_ARGS("show-ref", "--verify", "-q", ref));
	int has_branch = rc == 0;
	int has_dir = at != NULL && lstat(wt->path, &st) == 0;   /* else deleted by hand: prune */
	free(ref);
	if (rc < 0) {
		/* *c->err says why */
	} else if (at == &e[0] || (at != NULL && at->bare)) {
		worktree_fail(c, "%s is the repository's main worktree: tokmux never removes it", wt->path);
		rc = -1;
	} else if (at != NULL && at->locked) {
		worktree_fail(c, "%s is locked (git worktree unlock %s allows removing it)", wt->path, wt->path);
		rc = -1;
	} else if (at == NULL && lstat(wt->path, &st) == 0) {
		worktree_fail(c, "%s is not a worktree of %s: not removing it", wt->path, wt->repo);
		rc = -1;
	} else
		rc = force ? 0 : worktree_remove_check(c, wt, has_dir, has_branch, keep);
	if (rc == 0 && has_dir)
		rc = worktree_capture(c, wt->repo, NULL, force
		    ? WT_ARGS("worktree", "remove", "--force", wt->path) : WT_ARGS("worktree", "remove", wt->path));
	else if (rc == 0)
		rc = worktree_capture(c, wt->repo, NULL, WT_ARGS("worktree", "prune"));
	if (rc == 0 && keep == WORKTREE_REMOVE_BOTH && has_branch &&
	    worktree_capture(c, wt->repo, NULL, WT_ARGS("branch", "-D", wt->branch)) < 0) {
		worktree_fail(c, "removed %s but not branch %s: %s", wt->path, wt->branch, *c->err);
		rc = -1;
	}
	if (rc == 0)
		worktree_remove_parent(wt);
	worktree_entries_free(e, n);
	return rc == 0 || rc == WORKTREE_NEED_FORCE ? rc : -1;
}

int
worktree_remove(const worktree_git_t *g, const worktree_t *wt, enum worktree_keep keep, int force, char **err)
{
	struct worktree_call c;
	*err = NULL;
	worktree_call_init(&c, g, g->long_timeout_ms, NULL, err);
	return worktree_remove_call(&c, wt, keep, force);
}

/* ---- the pane's argv: setup commands once, then the program ---- */

/* $1 marker  $2 repo  $3 branch  $4 worktree  $5 n  then n setup commands,
 * then "-c" CMD or "-s" SHELL. Data only ever arrives as parameters. */
static const char worktree_setup_script[] =
    "marker=$1; export TOKMUX_REPO=\"$2\" TOKMUX_BRANCH=\"$3\" TOKMUX_WORKTREE=\"$4\"; n=$5; shift 5\n"
    "ok=1; ran=0\n"
    "if [ -e \"$marker\" ]; then shift \"$n\"; n=0; fi\n"
    "while [ \"$n\" -gt 0 ]; do\n"
    "  if [ \"$ok\" = 1 ]; then\n"
    "    ran=1\n"
    "    printf 'tokmux setup: %s\\n' \"$1\"\n"
    "    /bin/sh -c \"$1\"; st=$?\n"
    "    if [ \"$st\" -ne 0 ]; then\n"
    "      ok=0; printf 'tokmux: setup command failed (exit %s): %s\\n' \"$st\" \"$1\"\n"
    "    fi\n"
    "  fi\n"
    "  shift; n=$((n - 1))\n"
    "done\n"
    "if [ \"$ok\" = 1 ]; then\n"
    "  if [ \"$ran\" = 1 ]; then : >\"$marker\"; fi\n"
    "else\n"
    "  printf 'tokmux: press Enter to start anyway, Ctrl-C to stop\\n'; read -r _ || :\n"
    "fi\n"
    "if [ \"$1\" = -c ]; then exec /bin/sh -c \"$2\"; fi\n"
    "exec \"$2\"\n";

char **
worktree_pane_argv(const worktree_t *wt, char *const *setup, int nsetup, const char *cmd, const char *shell)
{
	if (nsetup < 0)
		nsetup = 0;
	char **argv = xcalloc((size_t)nsetup + 13, sizeof *argv);
	int n = 0;
	argv[n++] = xstrdup("/bin/sh");
	argv[n++] = xstrdup("-c");
	argv[n++] = xstrdup(worktree_setup_script);
	argv[n++] = xstrdup("tokmux-setup");
	argv[n++] = xasprintf("%s/%s", wt->gitdir, WORKTREE_SETUP_MARKER);
	argv[n++] = xstrdup(wt->repo);
	argv[n++] = xstrdup(wt->branch);
	argv[n++] = xstrdup(wt->path);
	argv[n++] = xasprintf("%d", nsetup);
	for (int i = 0; i < nsetup; i++)
		argv[n++] = xstrdup(setup[i]);
	argv[n++] = xstrdup(cmd ? "-c" : "-s");
	argv[n++] = xstrdup(cmd ? cmd : shell ? shell : "/bin/sh");
	argv[n] = NULL;
	return argv;
}

void
worktree_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

/* ---- asynchronous ---- */

enum worktree_op { WORKTREE_OP_CREATE, WORKTREE_OP_STATUS, WORKTREE_OP_DIFF, WORKTREE_OP_REMOVE,
	WORKTREE_OP_WHERE };

struct worktree_job {
	enum worktree_op op;
	const worktree_git_t *g;
	char *dir, *name, *tmpl, *base, *base_commit;
	int reuse, force;
	enum worktree_keep keep;
	size_t max;
	worktree_t *wt;                   /* remove: a copy of the caller's */
	char *err;
	struct worktree_result res;
	worktree_done_fn done;
	void *user;
};

static void
worktree_job_run(void *arg, const atomic_int *stop)
{
	struct worktree_job *j = arg;
	struct worktree_call c;
	int ms = j->op == WORKTREE_OP_CREATE || j->op == WORKTREE_OP_REMOVE ? j->g->long_timeout_ms
	    : j->g->timeout_ms;
	worktree_call_init(&c, j->g, ms, stop, &j->err);
	struct worktree_result *r = &j->res;
	if (j->op == WORKTREE_OP_CREATE) {
		struct worktree_request rq = { j->dir, j->name, j->tmpl, j->reuse };
		r->wt = worktree_create_call(&c, &rq);
		r->rc = r->wt ? 0 : -1;
	} else if (j->op == WORKTREE_OP_STATUS)
		r->rc = worktree_status_call(&c, j->dir, j->base, j->base_commit, &r->stat);
	else if (j->op == WORKTREE_OP_DIFF)
		r->rc = worktree_diff_call(&c, j->dir, j->base, j->base_commit, j->max, &r->diff, &r->truncated);
	else if (j->op == WORKTREE_OP_REMOVE)
		r->rc = worktree_remove_call(&c, j->wt, j->keep, j->force);
	else
		r->rc = worktree_where_call(&c, j->dir, &r->where);
	if (r->rc != 0 && j->err == NULL && !(j->op == WORKTREE_OP_WHERE && r->rc == 1))
		j->err = xstrdup("git failed");
	r->err = j->err;
}

static void
worktree_job_done(void *arg, int cancelled)
{
	struct worktree_job *j = arg;
	if (!cancelled)
		j->done(j->user, &j->res);
	worktree_free(j->res.wt);
	buf_free(&j->res.diff);
	worktree_where_free(&j->res.where);
	worktree_free(j->wt);
	free(j->dir);
	free(j->name);
	free(j->tmpl);
	free(j->base);
	free(j->base_commit);
	free(j->err);
	free(j);
}

static struct worktree_job *
worktree_job_new(enum worktree_op op, const worktree_git_t *g, const char *dir, worktree_done_fn done,
    void *user)
{
	struct worktree_job *j = xcalloc(1, sizeof *j);
	j->op = op;
	j->g = g;
	j->dir = worktree_dup(dir);
	j->done = done;
	j->user = user;
	return j;
}

static int
worktree_job_submit(worker_t *w, struct worktree_job *j)
{
	if (worker_submit(w, worktree_job_run, worktree_job_done, j) == 0)
		return 0;
	worktree_job_done(j, 1);
	return -1;
}

int
worktree_create_async(worker_t *w, const worktree_git_t *g, const struct worktree_request *rq,
    worktree_done_fn done, void *user)
{
	struct worktree_job *j = worktree_job_new(WORKTREE_OP_CREATE, g, rq->dir, done, user);
	j->name = worktree_dup(rq->name);
	j->tmpl = worktree_dup(rq->dir_template);
	j->reuse = rq->reuse;
	return worktree_job_submit(w, j);
}

int
worktree_status_async(worker_t *w, const worktree_git_t *g, const char *dir, const char *base,
    const char *base_commit, worktree_done_fn done, void *user)
{
	struct worktree_job *j = worktree_job_new(WORKTREE_OP_STATUS, g, dir, done, user);
	j->base = worktree_dup(base);
	j->base_commit = worktree_dup(base_commit);
	return worktree_job_submit(w, j);
}

int
worktree_diff_async(worker_t *w, const worktree_git_t *g, const char *dir, const char *base,
    const char *base_commit, size_t max, worktree_done_fn done, void *user)
{
	struct worktree_job *j = worktree_job_new(WORKTREE_OP_DIFF, g, dir, done, user);
	j->base = worktree_dup(base);
	j->base_commit = worktree_dup(base_commit);
	j->max = max;
	return worktree_job_submit(w, j);
}

int
worktree_remove_async(worker_t *w, const worktree_git_t *g, const worktree_t *wt, enum worktree_keep keep,
    int force, worktree_done_fn done, void *user)
{
	struct worktree_job *j = worktree_job_new(WORKTREE_OP_REMOVE, g, NULL, done, user);
	j->wt = worktree_copy(wt);
	j->keep = keep;
	j->force = force;
	return worktree_job_submit(w, j);
}

int
worktree_where_async(worker_t *w, const worktree_git_t *g, const char *dir, worktree_done_fn done, void *user)
{
	return worktree_job_submit(w, worktree_job_new(WORKTREE_OP_WHERE, g, dir, done, user));
}
