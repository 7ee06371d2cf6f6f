/* Unit tests for proc: argv passed verbatim, exit codes and stderr,
 * missing programs, deadlines and cancel (the whole process group is
 * killed), output bounds, signal state of the child, a stolen exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int
run(const char *const *argv, struct proc_result *r)
{
	struct proc_spec s = { .argv = argv, .deadline_ms = util_now_ms() + 10000 };
	return proc_run(&s, r);
}

static void
test_argv_verbatim(void **state)
{
	(void)state;
	struct proc_result r;
	/* nothing is interpreted by a shell: quotes, $(...), ; stay as they are */
	assert_int_equal(run(ARGV("printf", "%s|", "a b", "$(touch /tmp/x)", ";rm -rf", "'q'"), &r), 0);
	assert_int_equal(r.end, PROC_EXITED);
	assert_string_equal(r.out.data, "a b|$(touch /tmp/x)|;rm -rf|'q'|");
	assert_string_equal(r.err.data, "");
	proc_result_free(&r);
}

static void
test_exit_code_and_stderr(void **state)
{
	(void)state;
	struct proc_result r;
	assert_int_equal(run(ARGV("sh", "-c", "echo out; echo 'bad thing\nsecond' >&2; exit 3"), &r), 3);
	assert_int_equal(r.end, PROC_EXITED);
	assert_string_equal(r.out.data, "out\n");
	char *d = proc_describe(&r, "tool");
	assert_string_equal(d, "tool exited 3: bad thing");
	free(d);
	proc_result_free(&r);
}

static void
test_not_found(void **state)
{
	(void)state;
	struct proc_result r;
	assert_int_equal(run(ARGV("tokmux-no-such-program-x"), &r), -1);
	assert_int_equal(r.end, PROC_NOT_FOUND);
	char *d = proc_describe(&r, "tokmux-no-such-program-x");
	assert_string_equal(d, "tokmux-no-such-program-x not found on PATH");
	free(d);
	proc_result_free(&r);
	assert_int_equal(run(ARGV("/nonexistent/prog"), &r), -1);
	assert_int_equal(r.end, PROC_NOT_FOUND);
	proc_result_free(&r);
}

static void
test_env_and_cwd(void **state)
{
	(void)state;
	char *const envp[] = { "TOKMUX_T=one two", NULL };
	struct proc_spec s = { .argv = ARGV("sh", "-c", "printf '%s:' \"$TOKMUX_T\"; pwd"), .envp = envp, .cwd = "/tmp" };
	struct proc_result r;
	assert_int_equal(proc_run(&s, &r), 0);
	assert_string_equal(r.out.data, "one two:/tmp\n");
	proc_result_free(&r);
	s.cwd = "/nonexistent-dir";
	assert_int_equal(proc_run(&s, &r), -1);
	assert_int_equal(r.end, PROC_SPAWN_FAILED);
	proc_result_free(&r);
}

static int
pid_gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 1;
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void
test_deadline_kills_group(void **state)
{
	(void)state;
	/* the shell starts a grandchild and waits: both must die */
	struct proc_spec s = { .argv = ARGV("sh", "-c", "sleep 30 & echo $!; wait"),
		.deadline_ms = util_now_ms() + 300 };
	struct proc_result r;
	int64_t t0 = util_now_ms();
	assert_int_equal(proc_run(&s, &r), -1);
	int64_t took = util_now_ms() - t0;
	assert_int_equal(r.end, PROC_TIMED_OUT);
	assert_true(took >= 250 && took < 3000);
	pid_t grandchild = (pid_t)atoi(r.out.data);
	assert_true(grandchild > 0);
	assert_true(pid_gone(grandchild));
	char *d = proc_describe(&r, "git");
	assert_non_null(strstr(d, "git timed out after"));
	free(d);
	proc_result_free(&r);
}

static void *
cancel_later(void *arg)
{
	struct timespec ts = { 0, 150 * 1000000L };
	nanosleep(&ts, NULL);
	atomic_store((atomic_int *)arg, 1);
	return NULL;
}

static void
test_cancel(void **state)
{
	(void)state;
	atomic_int cancel;
	atomic_init(&cancel, 0);
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, &cancel);
	struct proc_spec s = { .argv = ARGV("sleep", "30"), .deadline_ms = util_now_ms() + 20000, .cancel = &cancel };
	struct proc_result r;
	int64_t t0 = util_now_ms();
	assert_int_equal(proc_run(&s, &r), -1);
	assert_int_equal(r.end, PROC_CANCELLED);
	assert_true(util_now_ms() - t0 < 3000);
	pthread_join(t, NULL);
	proc_result_free(&r);
}

static void
test_output_bounds(void **state)
{
	(void)state;
	struct proc_spec s = { .argv = ARGV("head", "-c", "1000000", "/dev/zero"), .max_out = 1000, .truncate = 1,
		.deadline_ms = util_now_ms() + 10000 };
	struct proc_result r;
	assert_int_equal(proc_run(&s, &r), -1);
	assert_int_equal(r.end, PROC_TRUNCATED);
	assert_int_equal(r.out.len, 1000);
	proc_result_free(&r);
	s.truncate = 0;
	assert_int_equal(proc_run(&s, &r), -1);
	assert_int_equal(r.end, PROC_TOO_MUCH);
	proc_result_free(&r);
	/* a flood on stderr never blocks the child; only the first bytes are kept */
	s.argv = ARGV("sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; echo done");
	assert_int_equal(proc_run(&s, &r), 0);
	assert_string_equal(r.out.data, "done\n");
	assert_int_equal(r.err.len, PROC_MAX_ERR);
	proc_result_free(&r);
}

static void
test_child_signals_reset(void **state)
{
	(void)state;
	/* the UI blocks SIGTERM and friends; its children must not inherit that */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	struct proc_result r;
	assert_int_equal(run(ARGV("sh", "-c", "kill -TERM $$; sleep 5; exit 0"), &r), -1);
	assert_int_equal(r.end, PROC_SIGNALLED);
	assert_int_equal(r.status, SIGTERM);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	proc_result_free(&r);
}

static void *
reap_any(void *arg)
{
	int st;
	pid_t p = -1;
	for (int i = 0; i < 3000 && p < 0; i++) {
		p = waitpid(-1, &st, 0);
		if (p < 0) {     /* ECHILD: the child does not exist yet */
			struct timespec ts = { 0, 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	*(pid_t *)arg = p;
	return NULL;
}

static void
test_lost_status(void **state)
{
	(void)state;
	/* another waiter (like a UI loop calling waitpid(-1)) races proc for
	 * the child: exactly one of them gets it, and proc never invents an
	 * exit status it did not see (a blocked waiter nearly always wins) */
	pid_t got = 0;
	pthread_t t;
	pthread_create(&t, NULL, reap_any, &got);
	struct proc_result r;
	int rc = run(ARGV("sh", "-c", "exec >&- 2>&-; sleep 0.3; exit 7"), &r);
	pthread_join(t, NULL);
	if (got > 0) {
		assert_int_equal(rc, -1);
		assert_int_equal(r.end, PROC_LOST);
	} else {
		assert_int_equal(rc, 7);
		assert_int_equal(r.end, PROC_EXITED);
	}
	proc_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_verbatim),
		cmocka_unit_test(test_exit_code_and_stderr),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_env_and_cwd),
		cmocka_unit_test(test_deadline_kills_group),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_output_bounds),
		cmocka_unit_test(test_child_signals_reset),
		cmocka_unit_test(test_lost_status),
	};
	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
