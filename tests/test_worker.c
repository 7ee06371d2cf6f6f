/* Unit tests for worker: jobs run on pool threads in submission order,
 * done callbacks run on the dispatching thread after the eventfd fired,
 * and worker_free stops running jobs and cancels the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "worker.h"

struct job {
	int id;
	int *order;             /* run order log */
	atomic_int *next;
	pthread_t ran_on;
	int done_calls, cancelled;
	pthread_t done_on;
	int wait_stop;          /* run until stop */
	int stop_seen;
};

static void
job_run(void *arg, const atomic_int *stop)
{
	struct job *j = arg;
	j->ran_on = pthread_self();
	if (j->order != NULL)
		j->order[atomic_fetch_add(j->next, 1)] = j->id;
	while (j->wait_stop && !atomic_load(stop)) {
		struct timespec ts = { 0, 2 * 1000000L };
		nanosleep(&ts, NULL);
	}
	j->stop_seen = atomic_load(stop);
}

static void
job_done(void *arg, int cancelled)
{
	struct job *j = arg;
	j->done_calls++;
	j->cancelled = cancelled;
	j->done_on = pthread_self();
}

/* Wait for the fd, dispatch, until n callbacks ran in total (bounded). */
static int
dispatch_until(worker_t *w, int n)
{
	int total = 0;
	int64_t end = util_now_ms() + 10000;
	while (total < n && util_now_ms() < end) {
		struct pollfd pf = { worker_fd(w), POLLIN, 0 };
		if (poll(&pf, 1, 100) > 0)
			total += worker_dispatch(w);
	}
	return total;
}

static void
test_order_and_threads(void **state)
{
	(void)state;
	char *err = NULL;
	worker_t *w = worker_new(1, &err);
	assert_non_null(w);
	int order[20];
	atomic_int next;
	atomic_init(&next, 0);
	struct job jobs[20];
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < 20; i++) {
		jobs[i].id = i;
		jobs[i].order = order;
		jobs[i].next = &next;
		assert_int_equal(worker_submit(w, job_run, job_done, &jobs[i]), 0);
	}
	assert_int_equal(dispatch_until(w, 20), 20);
	assert_int_equal(worker_pending(w), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(order[i], i);            /* FIFO with one thread */
		assert_int_equal(jobs[i].done_calls, 1);
		assert_int_equal(jobs[i].cancelled, 0);
		assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
		assert_true(pthread_equal(jobs[i].done_on, pthread_self()));
	}
	assert_int_equal(worker_dispatch(w), 0);      /* nothing left, never blocks */
	worker_free(w);
}

static void
test_pool(void **state)
{
	(void)state;
	char *err = NULL;
	worker_t *w = worker_new(3, &err);
	assert_non_null(w);
	struct job jobs[50];
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < 50; i++)
		assert_int_equal(worker_submit(w, job_run, job_done, &jobs[i]), 0);
	assert_int_equal(dispatch_until(w, 50), 50);
	for (int i = 0; i < 50; i++)
		assert_int_equal(jobs[i].done_calls, 1);
	worker_free(w);
}

static void
test_free_cancels(void **state)
{
	(void)state;
	char *err = NULL;
	worker_t *w = worker_new(1, &err);
	assert_non_null(w);
	struct job slow = { .wait_stop = 1 }, queued[3];
	memset(queued, 0, sizeof queued);
	assert_int_equal(worker_submit(w, job_run, job_done, &slow), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(worker_submit(w, job_run, job_done, &queued[i]), 0);
	assert_int_equal(worker_pending(w), 4);
	int64_t t0 = util_now_ms();
	worker_free(w);            /* the running job sees stop and returns */
	assert_true(util_now_ms() - t0 < 3000);
	assert_int_equal(slow.done_calls, 1);
	assert_int_equal(slow.cancelled, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(queued[i].done_calls, 1);
		assert_int_equal(queued[i].cancelled, 1);
	}
	worker_free(NULL);
}

static void
test_bad_size(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(worker_new(0, &err));
	assert_non_null(strstr(err, "expected 1 to 8"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_threads),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_free_cancels),
		cmocka_unit_test(test_bad_size),
	};
	return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
