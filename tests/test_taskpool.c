/*
 * Tests for taskpool: jobs run in pool threads, a thread is made only when
 * every thread is busy (and never past the cap), and taskpool_free runs
 * what is queued before it returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "taskpool.h"

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int open;                 /* jobs wait for this */
	int started, done;
	pthread_t who[16];
};

static void
job_wait(void *arg)
{
	struct gate *g = arg;
	pthread_mutex_lock(&g->mu);
	g->who[g->started++ % 16] = pthread_self();
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	g->done++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_init(struct gate *g)
{
	*g = (struct gate){ .open = 0 };
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
}

static void
gate_wait_started(struct gate *g, int n)
{
	pthread_mutex_lock(&g->mu);
	while (g->started < n)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* Jobs that block each get a thread of their own (three at once). */
static void
test_blocking_jobs_get_threads(void **state)
{
	struct gate g;
	gate_init(&g);
	taskpool_t *p = taskpool_new(8);
	assert_int_equal(taskpool_threads(p), 0);
	for (int i = 0; i < 3; i++)
		taskpool_submit(p, job_wait, &g);
	gate_wait_started(&g, 3);   /* all three run at once: no deadlock */
	assert_int_equal(taskpool_threads(p), 3);
	assert_false(pthread_equal(g.who[0], pthread_self()));
	gate_open(&g);
	taskpool_free(p);
	assert_int_equal(g.done, 3);
}

/* Jobs one after another reuse the same thread: no thread per job. */
static void
test_idle_thread_reused(void **state)
{
	struct gate g;
	gate_init(&g);
	gate_open(&g);
	taskpool_t *p = taskpool_new(8);
	for (int i = 0; i < 5; i++) {
		taskpool_submit(p, job_wait, &g);
		gate_wait_started(&g, i + 1);
		/* bounded: until the thread waits for the next job again */
		for (int k = 0; k < 5000 && taskpool_idle(p) < taskpool_threads(p); k++)
			usleep(1000);
		assert_int_equal(taskpool_idle(p), taskpool_threads(p));
	}
	assert_int_equal(taskpool_threads(p), 1);
	taskpool_free(p);
	assert_int_equal(g.done, 5);
}

/* Past the cap jobs queue, and taskpool_free runs them all first. */
static void
test_cap_queues_and_free_drains(void **state)
{
	struct gate g;
	gate_init(&g);
	taskpool_t *p = taskpool_new(2);
	for (int i = 0; i < 6; i++)
		taskpool_submit(p, job_wait, &g);
	gate_wait_started(&g, 2);
	assert_int_equal(taskpool_threads(p), 2);
	gate_open(&g);
	taskpool_free(p);
	assert_int_equal(g.done, 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_jobs_get_threads),
		cmocka_unit_test(test_idle_thread_reused),
		cmocka_unit_test(test_cap_queues_and_free_drains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
