/*
 * taskpool: long-lived threads that run blocking jobs in submission order
 * (taskpool.h). One lock and one condition variable; a FIFO of jobs. A
 * thread is created in taskpool_submit only when no thread is idle and
 * the cap is not reached; threads live until taskpool_free, which lets
 * them finish the queue first. Every signal is blocked in pool threads.
 */
#include "taskpool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "util.h"

struct job {
	struct job *next;
	taskpool_fn fn;
	void *arg;
};

struct taskpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* a job queued, or stopping */
	struct job *head, *tail;
	struct job *spare;              /* freed job records, reused */
	int max, nthreads, idle, stop;
	pthread_t *threads;
};

taskpool_t *
taskpool_new(int max_threads)
{
	taskpool_t *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->max = max_threads > 0 ? max_threads : 1;
	p->threads = xcalloc((size_t)p->max, sizeof *p->threads);
	return p;
}

static void *
taskpool_main(void *arg)
{
	taskpool_t *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->cond, &p->lock);
			p->idle--;
		}
		struct job *j = p->head;
		if (j == NULL)
			break;   /* stopping and nothing left */
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		taskpool_fn fn = j->fn;
		void *a = j->arg;
		j->next = p->spare;
		p->spare = j;
		pthread_mutex_unlock(&p->lock);
		fn(a);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* A new thread, p->lock held; -1 if it cannot be made. */
static int
taskpool_grow(taskpool_t *p)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&p->threads[p->nthreads], NULL, taskpool_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	p->nthreads++;
	return 0;
}

void
taskpool_submit(taskpool_t *p, taskpool_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	struct job *j = p->spare;
	if (j != NULL)
		p->spare = j->next;
	else
		j = xmalloc(sizeof *j);
	*j = (struct job){ .fn = fn, .arg = arg };
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	/* Jobs block: each queued one needs a thread of its own. */
	int queued = 0;
	for (struct job *q = p->head; q != NULL && queued <= p->idle; q = q->next)
		queued++;
	if (queued > p->idle && p->nthreads < p->max &&
	    taskpool_grow(p) != 0 && p->nthreads == 0)
		fatal("cannot start a gateway thread");
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int
taskpool_threads(taskpool_t *p)
{
	pthread_mutex_lock(&p->lock);
	int n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
taskpool_idle(taskpool_t *p)
{
	pthread_mutex_lock(&p->lock);
	int n = p->idle;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
taskpool_free(taskpool_t *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while (p->spare != NULL) {
		struct job *j = p->spare;
		p->spare = j->next;
		free(j);
	}
	free(p->threads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
