/*
 * worker: a FIFO of jobs under one mutex, N threads taking from it, and a
 * second FIFO of finished jobs handed back through an eventfd. Nothing is
 * called under the mutex.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util.h"

#define WORKER_MAX_THREADS 8

struct worker_job {
	worker_run_fn run;
	worker_done_fn done;
	void *arg;
	struct worker_job *next;
};

struct worker_fifo {
	struct worker_job *head, *tail;
};

struct worker {
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a job was queued, or stop */
	struct worker_fifo todo;
	struct worker_fifo done;
	int pending;                /* submitted, not yet dispatched */
	atomic_int stop;
	int efd;
	pthread_t threads[WORKER_MAX_THREADS];
	int nthreads;
};

static void
worker_fifo_push(struct worker_fifo *f, struct worker_job *j)
{
	j->next = NULL;
	if (f->tail != NULL)
		f->tail->next = j;
	else
		f->head = j;
	f->tail = j;
}

static struct worker_job *
worker_fifo_pop(struct worker_fifo *f)
{
	struct worker_job *j = f->head;
	if (j != NULL) {
		f->head = j->next;
		if (f->head == NULL)
			f->tail = NULL;
	}
	return j;
}

static void
worker_wake(worker_t *w)
{
	uint64_t one = 1;
	while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

static void *
worker_main(void *arg)
{
	worker_t *w = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->todo.head == NULL && !atomic_load(&w->stop))
			pthread_cond_wait(&w->cond, &w->lock);
		if (atomic_load(&w->stop))
			break;
		struct worker_job *j = worker_fifo_pop(&w->todo);
		pthread_mutex_unlock(&w->lock);
		j->run(j->arg, &w->stop);
		pthread_mutex_lock(&w->lock);
		worker_fifo_push(&w->done, j);
		worker_wake(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

worker_t *
worker_new(int nthreads, char **err)
{
	if (nthreads < 1 || nthreads > WORKER_MAX_THREADS) {
		*err = xasprintf("worker: %d threads (expected 1 to %d)", nthreads, WORKER_MAX_THREADS);
		return NULL;
	}
	worker_t *w = xcalloc(1, sizeof *w);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		*err = xasprintf("eventfd: %s", strerror(errno));
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	atomic_init(&w->stop, 0);
	for (int i = 0; i < nthreads; i++) {
		int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (rc != 0) {
			*err = xasprintf("pthread_create: %s", strerror(rc));
			worker_free(w);
			return NULL;
		}
		w->nthreads++;
	}
	return w;
}

int
worker_fd(const worker_t *w)
{
	return w->efd;
}

int
worker_submit(worker_t *w, worker_run_fn run, worker_done_fn done, void *arg)
{
	if (atomic_load(&w->stop))
		return -1;
	struct worker_job *j = xcalloc(1, sizeof *j);
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->lock);
	worker_fifo_push(&w->todo, j);
	w->pending++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
worker_dispatch(worker_t *w)
{
	uint64_t n;
	while (read(w->efd, &n, sizeof n) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&w->lock);
	struct worker_job *list = w->done.head;
	w->done.head = w->done.tail = NULL;
	pthread_mutex_unlock(&w->lock);
	int ran = 0;
	while (list != NULL) {
		struct worker_job *j = list;
		list = j->next;
		j->done(j->arg, 0);
		free(j);
		ran++;
	}
	pthread_mutex_lock(&w->lock);
	w->pending -= ran;
	pthread_mutex_unlock(&w->lock);
	return ran;
}

int
worker_pending(worker_t *w)
{
	pthread_mutex_lock(&w->lock);
	int n = w->pending;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void
worker_free(worker_t *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stop, 1);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	struct worker_fifo *lists[2] = { &w->done, &w->todo };
	for (int k = 0; k < 2; k++) {
		struct worker_job *j;
		while ((j = worker_fifo_pop(lists[k])) != NULL) {
			j->done(j->arg, 1);
			free(j);
		}
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	close(w->efd);
	free(w);
}
