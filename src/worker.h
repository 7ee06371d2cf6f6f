/*
 * worker: a small pool of threads that runs slow jobs (git commands) off
 * the UI thread. A job's run function runs on a pool thread; its done
 * function runs later on the thread that calls worker_dispatch() (the UI
 * loop), woken by an eventfd. Jobs start in the order they were submitted.
 */
#ifndef TOKMUX_WORKER_H
#define TOKMUX_WORKER_H

#include <stdatomic.h>

typedef struct worker worker_t;

/* Runs on a pool thread. stop becomes non-zero when the pool is being
 * freed: a long job should notice it and end early. */
typedef void (*worker_run_fn)(void *arg, const atomic_int *stop);
/* Runs exactly once per submitted job, on the dispatching thread:
 * cancelled = 0 after run, from worker_dispatch(); cancelled = 1 from
 * worker_free() for a job that never ran or whose result was never
 * dispatched (then only free arg: the caller is shutting down). */
typedef void (*worker_done_fn)(void *arg, int cancelled);

/* Start nthreads (1..8) threads. NULL + *err (malloc'd) on failure. The
 * threads block every signal, so call it after the UI blocked its own. */
worker_t *worker_new(int nthreads, char **err);

/* Readable (POLLIN) when finished jobs wait for worker_dispatch(). */
int worker_fd(const worker_t *w);

/* Queue a job. Returns 0, or -1 once worker_free() has begun. */
int worker_submit(worker_t *w, worker_run_fn run, worker_done_fn done, void *arg);

/* Call the done function of every finished job (never blocks). Returns
 * how many ran. */
int worker_dispatch(worker_t *w);

/* Jobs submitted but not yet dispatched (queued, running or finished). */
int worker_pending(worker_t *w);

/* Set stop, wait for the running jobs to return, then call done(arg, 1)
 * for every job not dispatched. NULL is fine. */
void worker_free(worker_t *w);

#endif
