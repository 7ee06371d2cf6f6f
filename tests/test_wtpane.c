/* Unit tests for wtpane, on a real event loop and temporary git
 * repositories: a worktree pane is created, its figures come and change
 * with its files, the branch of a pane's directory reaches the where hook
 * (and follows the program when it works elsewhere), the diff comes
 * back, removal of uncommitted work needs force; two creations at once
 * both succeed (one at a time), a refusal comes back as the hook's error,
 * a pane closed while its worktree is made gets no answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "proc.h"
#include "testtmp.h"
#include "util.h"
#include "wtpane.h"

struct seen {
	int created, failed, changed, diffs, removed, wheres;
	char err[512];
	char where_branch[128], where_worktree[512];
	int where_route;
	int remove_rc;
	int diff_truncated;
	char *diff;
};

struct fx {
	char root[64];
	char *repo;
	evloop_t *loop;
	wtpanes_t *w;
	struct seen s;
};

static void
hk_created(void *user, int id, const worktree_t *wt, const char *err)
{
	struct seen *s = user;
	if (wt != NULL) {
		s->created++;
	} else {
		s->failed++;
		snprintf(s->err, sizeof s->err, "%s", err);
	}
}

static void
hk_changed(void *user, int id)
{
	((struct seen *)user)->changed++;
}

static void
hk_diff(void *user, int id, const char *text, size_t len, int truncated, const char *err)
{
	struct seen *s = user;
	s->diffs++;
	free(s->diff);
	s->diff = text != NULL ? xstrndup(text, len) : NULL;
	s->diff_truncated = truncated;
	if (err != NULL)
		snprintf(s->err, sizeof s->err, "%s", err);
}

static void
hk_removed(void *user, int id, int rc, const char *err)
{
	struct seen *s = user;
	s->removed++;
	s->remove_rc = rc;
	snprintf(s->err, sizeof s->err, "%s", err ? err : "");
}

static void
hk_where(void *user, int route, const char *branch, const char *worktree)
{
	struct seen *s = user;
	s->wheres++;
	s->where_route = route;
	snprintf(s->where_branch, sizeof s->where_branch, "%s", branch ? branch : "(none)");
	snprintf(s->where_worktree, sizeof s->where_worktree, "%s", worktree ? worktree : "(none)");
}

static void
sh_in(const char *dir, const char *script)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_spec ps = { .argv = argv, .cwd = dir, .deadline_ms = util_now_ms() + 30000 };
	struct proc_result r;
	int rc = proc_run(&ps, &r);
	if (rc != 0)
		fail_msg("'%s' in %s: exit %d: %s", script, dir, rc, r.err.data);
	proc_result_free(&r);
}

static int
fx_setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	testtmp_make(f->root, sizeof f->root, "wtpane");
	f->repo = xasprintf("%s/app", f->root);
	mkdir(f->repo, 0700);
	sh_in(f->repo, "git init -q -b main && printf '1\\n2\\n3\\n' > a.txt && git add -A && "
	    "git commit -q -m init");
	f->loop = evloop_new();
	struct wtpane_hooks h = { .user = &f->s, .created = hk_created, .changed = hk_changed,
		.diff = hk_diff, .removed = hk_removed, .where = hk_where };
	struct wtpane_options o = { .status_ms = 100, .where_ms = 100 };
	char *err = NULL;
	f->w = wtpanes_new(f->loop, &o, &h, &err);
	assert_non_null(f->w);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	wtpanes_free(f->w);
	assert_int_equal(evloop_fd_count(f->loop), 0);
	assert_int_equal(evloop_timer_count(f->loop), 0);
	evloop_free(f->loop);
	assert_int_equal(testtmp_remove(f->root), 0);
	free(f->repo);
	free(f->s.diff);
	free(f);
	return 0;
}

/* Run the loop until *counter reaches n (at most 20 s). */
static void
run_until(struct fx *f, const int *counter, int n)
{
	int64_t end = util_now_ms() + 20000;
	while (*counter < n && util_now_ms() < end)
		evloop_run_once(f->loop, 1);
	if (*counter < n)
		fail_msg("timed out: %d of %d (err: %s)", *counter, n, f->s.err);
}

static void
test_create_status_where_remove(void **state)
{
	struct fx *f = *state;
	wtpane_add(f->w, 7, 3);
	assert_int_equal(wtpane_info(f->w, 7)->state, WTPANE_PLAIN);
	assert_null(wtpane_info(f->w, 8));
	assert_int_equal(wtpane_create(f->w, 7, f->repo, "Claude 1"), 0);
	assert_int_equal(wtpane_info(f->w, 7)->state, WTPANE_CREATING);
	run_until(f, &f->s.created, 1);
	const struct wtpane_info *in = wtpane_info(f->w, 7);
	assert_int_equal(in->state, WTPANE_READY);
	assert_string_equal(in->branch, "tokmux/Claude-1");
	char *path = xasprintf("%s/app.tokmux/Claude-1", f->root);
	assert_string_equal(in->path, path);
	/* the ledger hears of the branch at once */
	assert_int_equal(f->s.wheres, 1);
	assert_int_equal(f->s.where_route, 3);
	assert_string_equal(f->s.where_branch, "tokmux/Claude-1");
	assert_string_equal(f->s.where_worktree, path);
	/* the first figures: nothing changed yet */
	run_until(f, &f->s.changed, 1);
	in = wtpane_info(f->w, 7);
	assert_true(in->known);
	assert_int_equal(in->stat.files, 0);
	/* a new file of 2 lines and one line more in a.txt */
	sh_in(path, "printf 'x\\ny\\n' > new.txt && echo 4 >> a.txt");
	run_until(f, &f->s.changed, 2);
	in = wtpane_info(f->w, 7);
	assert_int_equal(in->stat.files, 2);
	assert_int_equal(in->stat.added, 3);
	assert_int_equal(in->stat.removed, 0);
	assert_int_equal(in->stat.untracked, 1);
	/* the program works in the main checkout: the branch follows it */
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(f->repo) == 0)
			pause();
		_exit(0);
	}
	wtpane_set_pid(f->w, 7, pid);
	run_until(f, &f->s.wheres, 2);
	assert_string_equal(f->s.where_branch, "main");
	assert_string_equal(f->s.where_worktree, path);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* the diff */
	assert_int_equal(wtpane_diff(f->w, 7), 0);
	run_until(f, &f->s.diffs, 1);
	assert_non_null(f->s.diff);
	assert_non_null(strstr(f->s.diff, "new.txt"));
	assert_non_null(strstr(f->s.diff, "\033["));     /* git's colours */
	assert_false(f->s.diff_truncated);
	/* removal: uncommitted work needs force */
	assert_int_equal(wtpane_remove(f->w, 7, WORKTREE_KEEP_BOTH, 0), -1);
	assert_int_equal(wtpane_remove(f->w, 7, WORKTREE_REMOVE_BOTH, 0), 0);
	assert_int_equal(wtpane_info(f->w, 7)->state, WTPANE_REMOVING);
	assert_true(wtpanes_busy(f->w));
	run_until(f, &f->s.removed, 1);
	assert_int_equal(f->s.remove_rc, WORKTREE_NEED_FORCE);
	assert_non_null(strstr(f->s.err, "uncommitted"));
	assert_int_equal(wtpane_info(f->w, 7)->state, WTPANE_READY);
	assert_false(wtpanes_busy(f->w));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(wtpane_remove(f->w, 7, WORKTREE_REMOVE_BOTH, 1), 0);
	run_until(f, &f->s.removed, 2);
	assert_int_equal(f->s.remove_rc, 0);
	assert_int_equal(wtpane_info(f->w, 7)->state, WTPANE_PLAIN);
	assert_int_not_equal(stat(path, &st), 0);
	wtpane_forget(f->w, 7);
	assert_null(wtpane_info(f->w, 7));
	free(path);
}

/* Two panes at once: both worktrees are made (git's locks never collide:
 * one at a time); a directory outside any repository is refused. */
static void
test_two_and_refusal(void **state)
{
	struct fx *f = *state;
	for (int id = 1; id <= 3; id++)
		wtpane_add(f->w, id, -1);
	assert_int_equal(wtpane_create(f->w, 1, f->repo, "one"), 0);
	assert_int_equal(wtpane_create(f->w, 2, f->repo, "two"), 0);
	assert_int_equal(wtpane_create(f->w, 2, f->repo, "two"), -1);   /* already under way */
	assert_int_equal(wtpane_create(f->w, 3, "/", "three"), 0);
	int64_t end = util_now_ms() + 30000;
	while (f->s.created + f->s.failed < 3 && util_now_ms() < end)
		evloop_run_once(f->loop, 1);
	assert_int_equal(f->s.created, 2);
	assert_int_equal(f->s.failed, 1);
	assert_non_null(strstr(f->s.err, "is not in a git repository"));
	assert_int_equal(wtpane_info(f->w, 3)->state, WTPANE_FAILED);
	assert_string_equal(wtpane_info(f->w, 3)->err, f->s.err);
	assert_string_equal(wtpane_info(f->w, 2)->branch, "tokmux/two");
	assert_int_equal(f->s.wheres, 0);     /* no route: nothing to tell */
	/* reuse: the same pane name opens the same worktree again */
	wtpane_forget(f->w, 1);
	wtpane_add(f->w, 4, -1);
	assert_int_equal(wtpane_create(f->w, 4, f->repo, "one"), 0);
	run_until(f, &f->s.created, 3);
	assert_string_equal(wtpane_info(f->w, 4)->branch, "tokmux/one");
}

/* A pane that closes while its worktree is made hears nothing of it. */
static void
test_forget_while_creating(void **state)
{
	struct fx *f = *state;
	wtpane_add(f->w, 1, -1);
	wtpane_add(f->w, 2, -1);
	assert_int_equal(wtpane_create(f->w, 1, f->repo, "one"), 0);
	assert_int_equal(wtpane_create(f->w, 2, f->repo, "two"), 0);  /* queued behind one */
	wtpane_forget(f->w, 1);
	wtpane_forget(f->w, 2);
	int64_t end = util_now_ms() + 2000;
	while (util_now_ms() < end)
		evloop_run_once(f->loop, 1);
	assert_int_equal(f->s.created + f->s.failed, 0);
	struct stat st;
	char *two = xasprintf("%s/app.tokmux/two", f->root);
	assert_int_not_equal(stat(two, &st), 0);      /* the queued one never started */
	free(two);
}

int
main(void)
{
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_AUTHOR_NAME", "tokmux test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@tokmux.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "tokmux test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@tokmux.invalid", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_status_where_remove, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_two_and_refusal, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_forget_while_creating, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("wtpane", tests, NULL, NULL);
}
