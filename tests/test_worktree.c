/* Unit tests for worktree, in temporary git repositories made here: names
 * and places, creation and every refusal (nothing left behind), rollback
 * after a failing or too slow step, two panes' branches each holding only
 * their own change, status figures equal to git's own, the diff text,
 * removal refused for uncommitted or unmerged work, the branch of a
 * directory, a slow git that times out without blocking the caller, and
 * the pane's setup-then-program argv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "testtmp.h"
#include "util.h"
#include "worker.h"
#include "worktree.h"

/* ---- helpers ---- */

/* git -C dir args...; returns its exit code; *out gets stdout (malloc'd) when out != NULL. */
static int __attribute__((sentinel))
tgit(const char *dir, char **out, ...)
{
	const char *argv[32] = { "git", "-C", dir };
	int n = 3;
	va_list ap;
	va_start(ap, out);
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	struct proc_spec s = { .argv = argv, .deadline_ms = util_now_ms() + 30000 };
	struct proc_result r;
	int rc = proc_run(&s, &r);
	if (out != NULL)
		*out = xstrdup(r.out.data);
	proc_result_free(&r);
	return rc;
}

/* sh -c script in dir; must exit 0. */
static void
tsh(const char *dir, const char *script)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_spec s = { .argv = argv, .cwd = dir, .deadline_ms = util_now_ms() + 30000 };
	struct proc_result r;
	int rc = proc_run(&s, &r);
	if (rc != 0)
		fail_msg("'%s' in %s: exit %d: %s", script, dir, rc, r.err.data);
	proc_result_free(&r);
}

static void
write_file(const char *dir, const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A repository at root/name on branch main: a.txt (10 lines), b.txt,
 * .gitignore (*.log), a subdirectory sub/, one commit. malloc'd path. */
static char *
make_repo(const char *root, const char *name)
{
	char *repo = xasprintf("%s/%s", root, name);
	assert_int_equal(mkdir(repo, 0700), 0);
	assert_int_equal(tgit(repo, NULL, "init", "-q", "-b", "main", NULL), 0);
	write_file(repo, "a.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
	write_file(repo, "b.txt", "bee\nbee\n");
	write_file(repo, ".gitignore", "*.log\n");
	tsh(repo, "mkdir sub && echo s > sub/s.txt && git add -A && git commit -q -m init");
	return repo;
}

static worktree_git_t *
git_default(void)
{
	struct worktree_git_opts o = { 0 };
	return worktree_git_new(&o);
}

/* Only the expected tokmux branches, one worktree (the main one), no path. */
static void
assert_untouched(const char *repo, const char *branches, const char *path)
{
	char *out;
	assert_int_equal(tgit(repo, &out, "for-each-ref", "--format=%(refname)", "refs/heads/tokmux/", NULL), 0);
	assert_string_equal(out, branches);
	free(out);
	assert_int_equal(tgit(repo, &out, "worktree", "list", "--porcelain", NULL), 0);
	assert_null(strstr(strstr(out, "worktree ") + 1, "\nworktree "));
	free(out);
	if (path != NULL)
		assert_false(exists(path));
}

static void
expect_refusal(const worktree_git_t *g, const char *dir, const char *name, const char *tmpl, const char *needle)
{
	struct worktree_request rq = { .dir = dir, .name = name, .dir_template = tmpl };
	char *err = NULL;
	worktree_t *wt = worktree_create(g, &rq, &err);
	assert_null(wt);
	assert_non_null(err);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, needle);
	assert_null(strchr(err, '\n'));
	free(err);
}

static worktree_t *
create_ok(const worktree_git_t *g, const char *dir, const char *name)
{
	struct worktree_request rq = { .dir = dir, .name = name };
	char *err = NULL;
	worktree_t *wt = worktree_create(g, &rq, &err);
	if (wt == NULL)
		fail_msg("create %s in %s: %s", name, dir, err);
	return wt;
}

/* "N files changed, X insertions(+), Y deletions(-)" of --shortstat. */
static void
parse_shortstat(const char *s, long *files, long *ins, long *del)
{
	*files = *ins = *del = 0;
	const char *p;
	*files = strtol(s, NULL, 10);
	if ((p = strstr(s, "changed, ")) != NULL && strstr(p, "insertion") != NULL)
		*ins = strtol(p + 9, NULL, 10);
	if ((p = strstr(s, "deletion")) != NULL) {
		while (p > s && p[-1] == ' ')
			p--;
		while (p > s && p[-1] >= '0' && p[-1] <= '9')
			p--;
		*del = strtol(p, NULL, 10);
	}
}

/* Each test gets a scratch directory, a repository "r" in it and a git. */
struct fx {
	char root[64];
	char *repo;
	worktree_git_t *g;
};

static int
fx_setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	testtmp_make(f->root, sizeof f->root, "wt");
	f->repo = make_repo(f->root, "r");
	f->g = git_default();
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	worktree_git_free(f->g);
	free(f->repo);
	int rc = testtmp_remove(f->root);
	free(f);
	return rc;
}

/* ---- names and places ---- */

static void
test_sanitize(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "claude", "claude" }, { "pane 1", "pane-1" }, { "feat: fix bug!", "feat-fix-bug" },
		{ "a/b", "a-b" }, { "..x..y..", "x.y" }, { ".hidden", "hidden" }, { "-dash-", "dash" },
		{ "x.lock", "x-lock" }, { "x.lock.lock", "x.lock-lock" }, { "@{u}", "u" }, { "ü", "pane" },
		{ "", "pane" }, { "a~b^c:d?e*f[g\\h", "a-b-c-d-e-f-g-h" }, { "Codex_2", "Codex_2" },
		{ "a .b", "a-b" }, { "a. b", "a-b" },
	};
	char out[WORKTREE_NAME_MAX + 1];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		worktree_sanitize(cases[i][0], out);
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("sanitize '%s' = '%s', expected '%s'", cases[i][0], out, cases[i][1]);
		/* git itself accepts every result as a branch name */
		char *ref = xasprintf("tokmux/%s", out);
		assert_int_equal(tgit("/", NULL, "check-ref-format", "--branch", ref, NULL), 0);
		free(ref);
	}
	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	worktree_sanitize(longname, out);
	assert_int_equal(strlen(out), WORKTREE_NAME_MAX);
}

static void
test_dir_template(void **state)
{
	(void)state;
	char *why = NULL, *err = NULL;
	assert_int_equal(worktree_dir_valid("{repo}.tokmux/{name}", &why), 0);
	assert_int_equal(worktree_dir_valid("~/wt/{repo_name}", &why), 0);
	assert_int_equal(worktree_dir_valid("/srv/wt/{repo_name}/{name}", &why), 0);
	static const char *const bad[] = { "wt/{name}", "", "{home}/x", "/x/{nam}", "/x/../y", "{repo}/./x", "/x/.." };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		assert_int_equal(worktree_dir_valid(bad[i], &why), -1);
		assert_non_null(why);
		free(why);
		why = NULL;
	}
	char *p = worktree_dir_expand(NULL, "/home/u", "/src/my repo", "claude", &err);
	assert_string_equal(p, "/src/my repo.tokmux/claude");
	free(p);
	p = worktree_dir_expand("~/wt/{repo_name}/", "/home/u", "/src/proj", "c2", &err);
	assert_string_equal(p, "/home/u/wt/proj/c2");
	free(p);
	p = worktree_dir_expand("/w/{name}/tree", "/home/u", "/src/proj", "c2", &err);
	assert_string_equal(p, "/w/c2/tree");
	free(p);
	assert_null(worktree_dir_expand("~/x", NULL, "/src/proj", "c2", &err));
	assert_non_null(strstr(err, "$HOME"));
	free(err);
}

/* ---- create ---- */

static void
test_create_and_open(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	char *repo = make_repo(root, "my repo");
	char *sub = xasprintf("%s/sub", repo);
	worktree_git_t *g = f->g;
	worktree_t *wt = create_ok(g, sub, "Claude 1");    /* from a subdirectory */
	char *want = xasprintf("%s/my repo.tokmux/Claude-1", root);
	assert_string_equal(worktree_path(wt), want);
	assert_string_equal(worktree_branch(wt), "tokmux/Claude-1");
	assert_string_equal(worktree_repo(wt), repo);
	assert_string_equal(worktree_base(wt), "main");
	assert_int_equal(worktree_fresh(wt), 1);
	assert_true(exists(worktree_gitdir(wt)));
	char *head = NULL, *mainhead = NULL;
	tgit(worktree_path(wt), &head, "rev-parse", "HEAD", NULL);
	tgit(repo, &mainhead, "rev-parse", "HEAD", NULL);
	assert_string_equal(head, mainhead);
	free(head);
	tgit(worktree_path(wt), &head, "symbolic-ref", "--short", "HEAD", NULL);
	assert_string_equal(head, "tokmux/Claude-1\n");
	free(head);
	assert_int_equal(strncmp(worktree_base_commit(wt), mainhead, 40), 0);
	free(mainhead);
	assert_true(exists(want));

	char *err = NULL;
	worktree_t *again = worktree_open(g, want, &err);        /* resume */
	assert_non_null(again);
	assert_string_equal(worktree_branch(again), "tokmux/Claude-1");
	assert_string_equal(worktree_base(again), "main");
	assert_int_equal(worktree_fresh(again), 0);
	worktree_free(again);
	struct worktree_request rq = { .dir = repo, .name = "Claude 1", .reuse = 1 };
	again = worktree_create(g, &rq, &err);                   /* reuse on request */
	assert_non_null(again);
	assert_int_equal(worktree_fresh(again), 0);
	assert_string_equal(worktree_path(again), want);
	worktree_t *copy = worktree_copy(again);
	assert_string_equal(worktree_gitdir(copy), worktree_gitdir(wt));
	worktree_free(copy);
	worktree_free(again);
	expect_refusal(g, repo, "Claude 1", NULL, "already exists");   /* without reuse */
	assert_null(worktree_open(g, repo, &err));                      /* the main worktree is no pane's */
	assert_non_null(strstr(err, "not a linked worktree"));
	free(err);

	worktree_free(wt);
	free(want);
	free(sub);
	free(repo);
}

static void
test_refuse_not_a_working_tree(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	worktree_git_t *g = f->g;
	char *plain = xasprintf("%s/plain", root);
	mkdir(plain, 0700);
	expect_refusal(g, plain, "a", NULL, "is not in a git repository");
	char *pparent = xasprintf("%s/plain.tokmux", root);
	assert_false(exists(pparent));
	free(pparent);
	char *missing = xasprintf("%s/missing", root);
	expect_refusal(g, missing, "a", NULL, "No such file or directory");
	expect_refusal(g, "", "a", NULL, "no directory given");
	char *bare = xasprintf("%s/bare.git", root);
	assert_int_equal(tgit(root, NULL, "init", "-q", "--bare", bare, NULL), 0);
	expect_refusal(g, bare, "a", NULL, "is a bare repository");
	const char *repo = f->repo;
	char *gitdir = xasprintf("%s/.git", repo);
	expect_refusal(g, gitdir, "a", NULL, "is inside a .git directory");
	char *wtp = xasprintf("%s/r.tokmux/a", root);
	assert_untouched(repo, "", wtp);
	char *rparent = xasprintf("%s/r.tokmux", root);
	assert_false(exists(rparent));
	free(rparent);
	free(plain);
	free(missing);
	free(bare);
	free(gitdir);
	free(wtp);
}

static void
test_refuse_head(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	worktree_git_t *g = f->g;
	const char *repo = f->repo;
	char *parent = xasprintf("%s/r.tokmux", root);
	tsh(repo, "git checkout -q --detach");
	expect_refusal(g, repo, "a", NULL, "HEAD is detached");
	assert_untouched(repo, "", parent);
	char *empty = xasprintf("%s/empty", root);
	mkdir(empty, 0700);
	assert_int_equal(tgit(empty, NULL, "init", "-q", "-b", "main", NULL), 0);
	expect_refusal(g, empty, "a", NULL, "has no commits yet");
	char *eparent = xasprintf("%s/empty.tokmux", root);
	assert_false(exists(eparent));
	tsh(repo, "git checkout -q main && printf '[submodule \"m\"]\\n\\tpath = m\\n\\turl = ./m\\n' > .gitmodules"
	    " && git add .gitmodules && git commit -q -m sub");
	expect_refusal(g, repo, "a", NULL, "has submodules");
	assert_untouched(repo, "", parent);
	free(parent);
	free(empty);
	free(eparent);
}

static void
test_refuse_taken_names(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	worktree_git_t *g = f->g;
	const char *repo = f->repo;
	assert_int_equal(tgit(repo, NULL, "branch", "tokmux/x", NULL), 0);
	char *px = xasprintf("%s/r.tokmux/x", root);
	expect_refusal(g, repo, "x", NULL, "branch tokmux/x already exists");
	assert_untouched(repo, "refs/heads/tokmux/x\n", px);
	char *parent = xasprintf("%s/r.tokmux", root);
	assert_false(exists(parent));
	char *py = xasprintf("%s/r.tokmux/y", root);
	tsh(root, "mkdir -p r.tokmux/y && echo mine > r.tokmux/y/keep.txt");
	expect_refusal(g, repo, "y", NULL, "already exists: tokmux does not create a worktree over it");
	char *keep = xasprintf("%s/keep.txt", py);
	assert_true(exists(keep));               /* the user's directory is untouched */
	assert_untouched(repo, "refs/heads/tokmux/x\n", NULL);
	expect_refusal(g, repo, "z", "{repo}/trees/{name}", "is inside the repository");
	expect_refusal(g, repo, "z", "/x/../{name}", "worktree_dir");
	char *trees = xasprintf("%s/trees", repo);
	assert_false(exists(trees));
	assert_untouched(repo, "refs/heads/tokmux/x\n", NULL);
	free(px);
	free(py);
	free(keep);
	free(parent);
	free(trees);
}

static void
test_refuse_git_missing(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	struct worktree_git_opts o = { .git = "/nonexistent/bin/git" };
	worktree_git_t *g = worktree_git_new(&o);
	expect_refusal(g, repo, "a", NULL, "git not found");
	worktree_git_free(g);
	/* git looked up on PATH, and PATH has none */
	char *path = xstrdup(getenv("PATH"));
	setenv("PATH", root, 1);
	g = git_default();
	expect_refusal(g, repo, "a", NULL, "git not found (git): install git");
	worktree_git_free(g);
	setenv("PATH", path, 1);
	free(path);
	assert_untouched(repo, "", NULL);
}

/* ---- rollback ---- */

/* A git that fails when any argument equals $TOKMUX_TEST_FAIL. */
static char *
make_failing_git(const char *root)
{
	char *p = xasprintf("%s/git-fail", root);
	write_file(root, "git-fail",
	    "#!/bin/sh\n"
	    "for a in \"$@\"; do\n"
	    "  if [ \"$a\" = \"$TOKMUX_TEST_FAIL\" ]; then echo \"fake failure at $a\" >&2; exit 1; fi\n"
	    "done\n"
	    "exec git \"$@\"\n");
	chmod(p, 0700);
	return p;
}

static void
test_rollback_failed_step(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	char *fake = make_failing_git(root);
	char *path = xasprintf("%s/deep/er/a", root);
	char *deep = xasprintf("%s/deep", root);
	static const char *const steps[] = { "config", "add" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		setenv("TOKMUX_TEST_FAIL", steps[i], 1);
		struct worktree_git_opts o = { .git = fake };
		worktree_git_t *g = worktree_git_new(&o);
		char *tmpl = xasprintf("%s/deep/er/{name}", root);
		expect_refusal(g, repo, "a", tmpl, "fake failure");
		/* the branch, the worktree (registration and files) and the
		 * parents made for it are gone */
		assert_untouched(repo, "", path);
		assert_false(exists(deep));
		char *cfg = NULL;
		assert_int_equal(tgit(repo, &cfg, "config", "--get-regexp", "^branch\\.tokmux", NULL), 1);
		free(cfg);
		free(tmpl);
		worktree_git_free(g);
	}
	unsetenv("TOKMUX_TEST_FAIL");
	free(fake);
	free(path);
	free(deep);
}

static void
test_rollback_timeout(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	/* a post-checkout hook that hangs: git worktree add made the branch and
	 * the worktree, then never finishes */
	char *hooks = xasprintf("%s/.git/hooks", repo);
	write_file(hooks, "post-checkout", "#!/bin/sh\nsleep 30\n");
	char *hook = xasprintf("%s/post-checkout", hooks);
	chmod(hook, 0700);
	struct worktree_git_opts o = { .long_timeout_ms = 1000 };
	worktree_git_t *g = worktree_git_new(&o);
	int64_t t0 = util_now_ms();
	expect_refusal(g, repo, "slow", NULL, "timed out");
	assert_true(util_now_ms() - t0 < 10000);
	char *path = xasprintf("%s/r.tokmux/slow", root);
	char *parent = xasprintf("%s/r.tokmux", root);
	assert_untouched(repo, "", path);
	assert_false(exists(parent));
	worktree_git_free(g);
	free(hooks);
	free(hook);
	free(path);
	free(parent);
}

/* ---- two panes, status, diff ---- */

static void
test_two_worktrees(void **state)
{
	struct fx *f = *state;
	const char *repo = f->repo;
	worktree_git_t *g = f->g;
	worktree_t *a = create_ok(g, repo, "a");
	worktree_t *b = create_ok(g, repo, "b");
	write_file(worktree_path(a), "fa.txt", "one\ntwo\n");
	tsh(worktree_path(a), "git add fa.txt && git commit -q -m 'a: fa'");
	write_file(worktree_path(b), "fb.txt", "three\n");
	tsh(worktree_path(b), "echo 11 >> a.txt && git add -A && git commit -q -m 'b: fb'");
	char *out = NULL;
	assert_int_equal(tgit(repo, &out, "diff", "--name-only", "main", "tokmux/a", NULL), 0);
	assert_string_equal(out, "fa.txt\n");
	free(out);
	assert_int_equal(tgit(repo, &out, "diff", "--name-only", "main", "tokmux/b", NULL), 0);
	assert_string_equal(out, "a.txt\nfb.txt\n");
	free(out);
	assert_int_equal(tgit(repo, &out, "status", "--porcelain", NULL), 0);
	assert_string_equal(out, "");              /* the main checkout saw nothing */
	free(out);
	struct worktree_stat st;
	char *err = NULL;
	assert_int_equal(worktree_status(g, worktree_path(a), worktree_base(a), worktree_base_commit(a), &st, &err), 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.added, 2);
	assert_int_equal(st.removed, 0);
	assert_int_equal(worktree_status(g, worktree_path(b), worktree_base(b), worktree_base_commit(b), &st, &err), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.added, 2);
	/* main moves on: the figures stay the branch's own */
	tsh(repo, "echo later > later.txt && git add later.txt && git commit -q -m later");
	assert_int_equal(worktree_status(g, worktree_path(a), worktree_base(a), worktree_base_commit(a), &st, &err), 0);
	assert_int_equal(st.files, 1);
	worktree_free(a);
	worktree_free(b);
}

static void
assert_stat_equals_git(const struct worktree_stat *st, const char *dir, const char *args_mb, int cached)
{
	char *out = NULL;
	int rc = cached ? tgit(dir, &out, "diff", "--cached", "--shortstat", "--no-renames", args_mb, NULL)
	    : tgit(dir, &out, "diff", "--shortstat", "--no-renames", args_mb, NULL);
	assert_int_equal(rc, 0);
	long files, ins, del;
	parse_shortstat(out, &files, &ins, &del);
	if (st->files != files || st->added != ins || st->removed != del)
		fail_msg("status %d files +%lld -%lld, git: %s", st->files, (long long)st->added,
		    (long long)st->removed, out);
	free(out);
}

static void
test_status_matches_git(void **state)
{
	struct fx *f = *state;
	const char *repo = f->repo;
	worktree_git_t *g = f->g;
	worktree_t *wt = create_ok(g, repo, "s");
	const char *p = worktree_path(wt);
	struct worktree_stat st;
	char *err = NULL, *mb = NULL;
	assert_int_equal(worktree_status(g, p, worktree_base(wt), NULL, &st, &err), 0);
	assert_int_equal(st.files, 0);
	tgit(p, &mb, "merge-base", "main", "HEAD", NULL);
	mb[strcspn(mb, "\n")] = '\0';
	/* committed, staged and unstaged tracked changes */
	write_file(p, "c.txt", "c1\nc2\nc3\nc4\nc5\n");
	tsh(p, "git add c.txt && git commit -q -m c && git rm -q b.txt");
	tsh(p, "sed -i 's/^3$/three/' a.txt && printf '11\\n12\\n' >> a.txt");
	assert_int_equal(worktree_status(g, p, worktree_base(wt), NULL, &st, &err), 0);
	assert_stat_equals_git(&st, p, mb, 0);        /* `git diff --stat <branch point>` */
	assert_int_equal(st.files, 3);
	assert_int_equal(st.untracked, 0);
	/* untracked: text without a final newline, binary, in a subdirectory,
	 * a symlink; an ignored file does not count */
	write_file(p, "u.txt", "x\ny");
	write_file(p, "bin.dat", "ab");
	tsh(p, "printf 'a\\000b' > bin.dat && mkdir -p d && printf '1\\n2\\n3\\n' > d/e.txt && ln -s a.txt lnk");
	write_file(p, "debug.log", "ignored\n");
	assert_int_equal(worktree_status(g, p, worktree_base(wt), NULL, &st, &err), 0);
	assert_int_equal(st.untracked, 4);
	assert_int_equal(st.binary, 1);
	assert_int_equal(st.partial, 0);
	struct worktree_stat before = st;
	/* git agrees once they are added */
	tsh(p, "git add -A");
	assert_stat_equals_git(&before, p, mb, 1);
	assert_int_equal(worktree_status(g, p, worktree_base(wt), NULL, &st, &err), 0);
	assert_int_equal(st.files, before.files);
	assert_int_equal(st.added, before.added);
	assert_int_equal(st.removed, before.removed);
	assert_int_equal(st.untracked, 0);
	/* past the read budget: still a file, its lines unknown, flagged */
	tsh(p, "head -c 17000000 /dev/zero | tr '\\0' 'x' > huge.txt");
	assert_int_equal(worktree_status(g, p, worktree_base(wt), NULL, &st, &err), 0);
	assert_int_equal(st.partial, 1);
	assert_int_equal(st.files, before.files + 1);
	assert_int_equal(st.added, before.added);
	tsh(p, "rm huge.txt");
	/* the base branch gone: the recorded commit still serves */
	tsh(repo, "git checkout -q -b other && git branch -q -D main");
	assert_int_equal(worktree_status(g, p, "main", worktree_base_commit(wt), &st, &err), 0);
	assert_int_equal(st.files, before.files);
	assert_int_equal(worktree_status(g, p, "main", NULL, &st, &err), -1);
	assert_non_null(err);
	free(err);
	free(mb);
	worktree_free(wt);
}

static void
test_diff_text(void **state)
{
	struct fx *f = *state;
	const char *repo = f->repo;
	worktree_git_t *g = f->g;
	worktree_t *wt = create_ok(g, repo, "d");
	const char *p = worktree_path(wt);
	tsh(p, "echo 11 >> a.txt && git commit -q -am a && echo changed > b.txt && echo new > new.txt"
	    " && echo x > skip.log");
	struct buf b = { 0 };
	int trunc = -1;
	char *err = NULL;
	assert_int_equal(worktree_diff(g, p, worktree_base(wt), NULL, 1 << 20, &b, &trunc, &err), 0);
	assert_int_equal(trunc, 0);
	assert_non_null(strstr(b.data, "\033["));           /* git's colours */
	assert_non_null(strstr(b.data, "a.txt"));           /* committed */
	assert_non_null(strstr(b.data, "b.txt"));           /* unstaged */
	assert_non_null(strstr(b.data, "new.txt"));         /* untracked, as a new file */
	assert_null(strstr(b.data, "skip.log"));            /* ignored */
	buf_free(&b);
	assert_int_equal(worktree_diff(g, p, worktree_base(wt), NULL, 100, &b, &trunc, &err), 0);
	assert_int_equal(trunc, 1);
	assert_true(b.len <= 100);
	buf_free(&b);
	/* the bound covers the untracked part too */
	size_t full;
	assert_int_equal(worktree_diff(g, p, worktree_base(wt), NULL, 1 << 20, &b, &trunc, &err), 0);
	full = b.len;
	buf_free(&b);
	assert_int_equal(worktree_diff(g, p, worktree_base(wt), NULL, full - 10, &b, &trunc, &err), 0);
	assert_int_equal(trunc, 1);
	assert_true(b.len <= full - 10);
	buf_free(&b);
	worktree_free(wt);
}

/* ---- remove ---- */

static int
branch_exists(const char *repo, const char *branch)
{
	char *ref = xasprintf("refs/heads/%s", branch);
	int rc = tgit(repo, NULL, "show-ref", "--verify", "-q", ref, NULL);
	free(ref);
	return rc == 0;
}

static void
test_remove_dirty(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	worktree_git_t *g = f->g;
	worktree_t *wt = create_ok(g, repo, "w");
	const char *p = worktree_path(wt);
	char *err = NULL;
	assert_int_equal(worktree_remove(g, wt, WORKTREE_KEEP_BOTH, 0, &err), 0);
	assert_true(exists(p));
	tsh(p, "echo more >> a.txt");                       /* modified */
	assert_int_equal(worktree_remove(g, wt, WORKTREE_KEEP_BRANCH, 0, &err), WORKTREE_NEED_FORCE);
	assert_non_null(strstr(err, "1 uncommitted change (0 untracked)"));
	assert_non_null(strstr(err, "confirm again"));
	free(err);
	char *a = xasprintf("%s/a.txt", p);
	assert_true(exists(a));
	tsh(p, "git checkout -q a.txt && echo u > untracked.txt");   /* untracked only */
	assert_int_equal(worktree_remove(g, wt, WORKTREE_REMOVE_BOTH, 0, &err), WORKTREE_NEED_FORCE);
	assert_non_null(strstr(err, "(1 untracked)"));
	free(err);
	assert_true(exists(p));
	assert_true(branch_exists(repo, "tokmux/w"));
	/* the second, explicit confirmation */
	assert_int_equal(worktree_remove(g, wt, WORKTREE_KEEP_BRANCH, 1, &err), 0);
	assert_null(err);
	assert_false(exists(p));
	assert_true(branch_exists(repo, "tokmux/w"));
	char *parent = xasprintf("%s/r.tokmux", root);
	assert_false(exists(parent));                        /* emptied: gone */
	/* the worktree is gone already: removing the branch still works */
	assert_int_equal(worktree_remove(g, wt, WORKTREE_REMOVE_BOTH, 0, &err), 0);
	assert_false(branch_exists(repo, "tokmux/w"));
	/* its directory deleted by hand: git's record is pruned, the branch kept */
	worktree_t *gone = create_ok(g, repo, "gone");
	tsh(root, "rm -rf r.tokmux/gone");
	assert_int_equal(worktree_remove(g, gone, WORKTREE_KEEP_BRANCH, 0, &err), 0);
	char *out = NULL;
	assert_int_equal(tgit(repo, &out, "worktree", "list", "--porcelain", NULL), 0);
	assert_null(strstr(out, "gone"));
	free(out);
	assert_true(branch_exists(repo, "tokmux/gone"));
	worktree_free(gone);
	free(a);
	free(parent);
	worktree_free(wt);
}

static void
test_remove_unmerged(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	worktree_git_t *g = f->g;
	worktree_t *wt = create_ok(g, repo, "u");
	worktree_t *keep = create_ok(g, repo, "keep");
	const char *p = worktree_path(wt);
	tsh(p, "echo x > x.txt && git add x.txt && git commit -q -m x && echo y > secret.log");
	char *err = NULL;
	assert_int_equal(worktree_remove(g, wt, WORKTREE_REMOVE_BOTH, 0, &err), WORKTREE_NEED_FORCE);
	assert_non_null(strstr(err, "branch tokmux/u has 1 commit on no other branch"));
	free(err);
	assert_true(exists(p));
	assert_true(branch_exists(repo, "tokmux/u"));
	/* once merged, removing both needs no force; ignored files go with it */
	tsh(repo, "git merge -q --ff-only tokmux/u");
	assert_int_equal(worktree_remove(g, wt, WORKTREE_REMOVE_BOTH, 0, &err), 0);
	assert_null(err);
	assert_false(exists(p));
	assert_false(branch_exists(repo, "tokmux/u"));
	char *cfg = NULL;
	assert_int_equal(tgit(repo, &cfg, "config", "--get", "branch.tokmux/u.tokmuxbase", NULL), 1);
	free(cfg);
	char *parent = xasprintf("%s/r.tokmux", root);
	assert_true(exists(parent));                         /* still holds "keep" */
	/* a locked worktree is never removed, not even with force */
	assert_int_equal(tgit(repo, NULL, "worktree", "lock", worktree_path(keep), NULL), 0);
	assert_int_equal(worktree_remove(g, keep, WORKTREE_REMOVE_BOTH, 1, &err), -1);
	if (strstr(err, "is locked") == NULL)
		fail_msg("%s", err);
	free(err);
	assert_true(exists(worktree_path(keep)));
	/* a directory that is not the worktree any more is not removed */
	assert_int_equal(tgit(repo, NULL, "worktree", "unlock", worktree_path(keep), NULL), 0);
	assert_int_equal(tgit(repo, NULL, "worktree", "remove", worktree_path(keep), NULL), 0);
	tsh(root, "mkdir -p r.tokmux/keep && echo mine > r.tokmux/keep/mine.txt");
	assert_int_equal(worktree_remove(g, keep, WORKTREE_REMOVE_BOTH, 1, &err), -1);
	assert_non_null(strstr(err, "is not a worktree of"));
	free(err);
	assert_true(exists(worktree_path(keep)));
	free(parent);
	worktree_free(wt);
	worktree_free(keep);
}

/* ---- where ---- */

static void
test_where(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	char *r1 = make_repo(root, "r1");
	char *r2 = make_repo(root, "r2");
	tsh(r2, "git checkout -q -b dev");
	worktree_git_t *g = f->g;
	struct worktree_where w;
	char *err = NULL;
	char *sub = xasprintf("%s/sub", r1);
	assert_int_equal(worktree_where(g, sub, &w, &err), 0);
	assert_string_equal(w.top, r1);
	assert_string_equal(w.branch, "main");
	worktree_where_free(&w);
	assert_int_equal(worktree_where(g, r2, &w, &err), 0);     /* each repository its own */
	assert_string_equal(w.top, r2);
	assert_string_equal(w.branch, "dev");
	worktree_where_free(&w);
	worktree_t *wt = create_ok(g, r1, "p");
	assert_int_equal(worktree_where(g, worktree_path(wt), &w, &err), 0);
	assert_string_equal(w.top, worktree_path(wt));
	assert_string_equal(w.branch, "tokmux/p");
	worktree_where_free(&w);
	tsh(r2, "git checkout -q --detach");
	assert_int_equal(worktree_where(g, r2, &w, &err), 0);
	assert_string_equal(w.top, r2);
	assert_null(w.branch);
	worktree_where_free(&w);
	assert_int_equal(worktree_where(g, root, &w, &err), 1);   /* not in a working tree */
	assert_null(w.top);
	assert_null(err);
	worktree_free(wt);
	free(sub);
	free(r1);
	free(r2);
}

/* ---- slow git, asynchronous use ---- */

struct got {
	int calls;
	int rc;
	char *err;
	worktree_t *wt;
	struct worktree_stat stat;
	size_t diff_len;
	char *branch;
};

static void
got_cb(void *user, struct worktree_result *r)
{
	struct got *x = user;
	x->calls++;
	x->rc = r->rc;
	free(x->err);
	x->err = r->err ? xstrdup(r->err) : NULL;
	if (r->wt != NULL) {
		x->wt = r->wt;          /* taken */
		r->wt = NULL;
	}
	x->stat = r->stat;
	x->diff_len = r->diff.len;
	if (r->where.branch != NULL) {
		free(x->branch);
		x->branch = xstrdup(r->where.branch);
	}
}

/* Run the UI side of a loop: poll the worker fd in 10 ms slices until the
 * callback ran; returns the number of slices the caller was free. */
static int
wait_cb(worker_t *w, struct got *x, int calls)
{
	int slices = 0;
	int64_t end = util_now_ms() + 20000;
	while (x->calls < calls && util_now_ms() < end) {
		struct pollfd pf = { worker_fd(w), POLLIN, 0 };
		if (poll(&pf, 1, 10) > 0)
			worker_dispatch(w);
		slices++;
	}
	assert_int_equal(x->calls, calls);
	return slices;
}

static char *
slow_git_path(const char *root)
{
	char *bin = xasprintf("%s/slowbin", root);
	mkdir(bin, 0700);
	write_file(bin, "git", "#!/bin/sh\nsleep 30\n");
	char *git = xasprintf("%s/git", bin);
	chmod(git, 0700);
	free(git);
	char *path = xasprintf("%s:%s", bin, getenv("PATH"));
	free(bin);
	return path;
}

static void
test_slow_git(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	char *saved = xstrdup(getenv("PATH"));
	char *slow = slow_git_path(root);
	setenv("PATH", slow, 1);           /* a fake git earlier on PATH that hangs */
	struct worktree_git_opts o = { .timeout_ms = 300 };
	worktree_git_t *g = worktree_git_new(&o);
	struct worktree_stat st;
	char *err = NULL;
	int64_t t0 = util_now_ms();
	assert_int_equal(worktree_status(g, repo, "main", NULL, &st, &err), -1);
	assert_true(util_now_ms() - t0 < 5000);
	assert_non_null(strstr(err, "timed out"));
	free(err);
	char *e2 = NULL;
	worker_t *w = worker_new(2, &e2);
	struct got x = { 0 };
	t0 = util_now_ms();
	assert_int_equal(worktree_status_async(w, g, repo, "main", NULL, got_cb, &x), 0);
	assert_true(util_now_ms() - t0 < 200);              /* submitting never waits for git */
	int slices = wait_cb(w, &x, 1);
	assert_true(slices >= 10);                          /* the loop kept running meanwhile */
	assert_int_equal(x.rc, -1);
	assert_non_null(strstr(x.err, "timed out"));
	assert_true(util_now_ms() - t0 < 5000);
	/* shutting down while git hangs: the job is cancelled, no callback */
	struct worktree_git_opts lo = { .timeout_ms = 60000 };
	worktree_git_t *g2 = worktree_git_new(&lo);
	struct got y = { 0 };
	assert_int_equal(worktree_where_async(w, g2, repo, got_cb, &y), 0);
	struct timespec ts = { 0, 100 * 1000000L };
	nanosleep(&ts, NULL);
	t0 = util_now_ms();
	worker_free(w);
	assert_true(util_now_ms() - t0 < 3000);
	assert_int_equal(y.calls, 0);
	setenv("PATH", saved, 1);
	free(x.err);
	worktree_git_free(g);
	worktree_git_free(g2);
	free(saved);
	free(slow);
}

static void
test_async_cycle(void **state)
{
	struct fx *f = *state;
	const char *root = f->root;
	const char *repo = f->repo;
	worktree_git_t *g = f->g;
	char *e = NULL;
	worker_t *w = worker_new(1, &e);
	struct got x = { 0 };
	struct worktree_request rq = { .dir = repo, .name = "async" };
	assert_int_equal(worktree_create_async(w, g, &rq, got_cb, &x), 0);
	wait_cb(w, &x, 1);
	assert_int_equal(x.rc, 0);
	assert_non_null(x.wt);
	worktree_t *wt = x.wt;
	tsh(worktree_path(wt), "echo n > n.txt");
	assert_int_equal(worktree_status_async(w, g, worktree_path(wt), worktree_base(wt),
	    worktree_base_commit(wt), got_cb, &x), 0);
	wait_cb(w, &x, 2);
	assert_int_equal(x.rc, 0);
	assert_int_equal(x.stat.files, 1);
	assert_int_equal(x.stat.untracked, 1);
	assert_int_equal(worktree_diff_async(w, g, worktree_path(wt), worktree_base(wt), NULL, 4096, got_cb, &x), 0);
	wait_cb(w, &x, 3);
	assert_true(x.diff_len > 0);
	assert_int_equal(worktree_where_async(w, g, worktree_path(wt), got_cb, &x), 0);
	wait_cb(w, &x, 4);
	assert_string_equal(x.branch, "tokmux/async");
	assert_int_equal(worktree_remove_async(w, g, wt, WORKTREE_REMOVE_BOTH, 0, got_cb, &x), 0);
	wait_cb(w, &x, 5);
	assert_int_equal(x.rc, WORKTREE_NEED_FORCE);
	assert_non_null(strstr(x.err, "1 uncommitted change"));
	assert_int_equal(worktree_remove_async(w, g, wt, WORKTREE_REMOVE_BOTH, 1, got_cb, &x), 0);
	wait_cb(w, &x, 6);
	assert_int_equal(x.rc, 0);
	assert_false(exists(worktree_path(wt)));
	assert_false(branch_exists(repo, "tokmux/async"));
	/* a failing create reports through the callback as well */
	rq.dir = root;
	assert_int_equal(worktree_create_async(w, g, &rq, got_cb, &x), 0);
	wait_cb(w, &x, 7);
	assert_int_equal(x.rc, -1);
	assert_non_null(strstr(x.err, "not in a git repository"));
	worker_free(w);
	free(x.err);
	free(x.branch);
	worktree_free(wt);
}

/* ---- the pane's argv ---- */

static char *
run_argv(char **argv, const char *cwd)
{
	struct proc_spec s = { .argv = (const char *const *)argv, .cwd = cwd, .deadline_ms = util_now_ms() + 20000 };
	struct proc_result r;
	int rc = proc_run(&s, &r);
	if (rc != 0)
		fail_msg("pane argv exit %d: %s", rc, r.err.data);
	char *out = xstrdup(r.out.data);
	proc_result_free(&r);
	return out;
}

static char *
slurp(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(p, "r");
	free(p);
	if (f == NULL)
		return NULL;
	char buf[512];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
test_pane_argv(void **state)
{
	struct fx *f = *state;
	const char *repo = f->repo;
	write_file(repo, ".env", "SECRET=1\n");                 /* untracked in main: setup copies it */
	worktree_git_t *g = f->g;
	worktree_t *wt = create_ok(g, repo, "a");
	const char *p = worktree_path(wt);
	char *setup[] = { "cp \"$TOKMUX_REPO/.env\" .env.copy", "echo once >> once.txt",
		"printf '%s' \"$TOKMUX_BRANCH\" > branch.txt" };
	char **argv = worktree_pane_argv(wt, setup, 3, "printf '%s' \"it's \\\"q\\\"\" > q.txt; echo ran", NULL);
	char *out = run_argv(argv, p);
	assert_non_null(strstr(out, "tokmux setup: echo once >> once.txt"));
	assert_non_null(strstr(out, "ran\n"));
	free(out);
	char *s = slurp(p, ".env.copy");
	assert_string_equal(s, "SECRET=1\n");
	free(s);
	s = slurp(p, "branch.txt");
	assert_string_equal(s, "tokmux/a");
	free(s);
	s = slurp(p, "q.txt");
	assert_string_equal(s, "it's \"q\"");                  /* the command arrives verbatim */
	free(s);
	char *marker = xasprintf("%s/%s", worktree_gitdir(wt), WORKTREE_SETUP_MARKER);
	assert_true(exists(marker));
	/* a restart (or a reused worktree) does not run the setup again */
	out = run_argv(argv, p);
	assert_null(strstr(out, "tokmux setup:"));
	free(out);
	s = slurp(p, "once.txt");
	assert_string_equal(s, "once\n");
	free(s);
	worktree_argv_free(argv);
	/* a failing setup command stops the rest, says so, then the program
	 * still starts (after Enter; stdin is /dev/null here); no marker */
	worktree_t *b = create_ok(g, repo, "b");
	char *bad[] = { "exit 3", "touch never" };
	argv = worktree_pane_argv(b, bad, 2, NULL, "/bin/pwd");   /* no command: the shell */
	out = run_argv(argv, worktree_path(b));
	assert_non_null(strstr(out, "setup command failed (exit 3): exit 3"));
	assert_non_null(strstr(out, worktree_path(b)));         /* the "shell" ran in the worktree */
	free(out);
	char *never = xasprintf("%s/never", worktree_path(b));
	assert_false(exists(never));
	free(marker);
	marker = xasprintf("%s/%s", worktree_gitdir(b), WORKTREE_SETUP_MARKER);
	assert_false(exists(marker));
	worktree_argv_free(argv);
	free(never);
	free(marker);
	worktree_free(b);
	worktree_free(wt);
}

int
main(void)
{
	/* a git of our own: no user or system config, a fixed identity */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_AUTHOR_NAME", "tokmux test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@tokmux.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "tokmux test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@tokmux.invalid", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_dir_template),
		cmocka_unit_test_setup_teardown(test_create_and_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuse_not_a_working_tree, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuse_head, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuse_taken_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuse_git_missing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_failed_step, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_timeout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_two_worktrees, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_status_matches_git, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_diff_text, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_dirty, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_unmerged, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_where, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_slow_git, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_async_cycle, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pane_argv, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("worktree", tests, NULL, NULL);
}
