/*
 * taskpool: long-lived threads for jobs that may block (the gateway's
 * forwarding: policy waits, upstream waits). A thread is made only when
 * every thread is busy with a job, up to a cap (then jobs queue); idle
 * threads wait for the next job and are kept until taskpool_free: no
 * thread per job once the pool has grown to the load.
 */
#ifndef TOKMUX_TASKPOOL_H
#define TOKMUX_TASKPOOL_H

typedef struct taskpool taskpool_t;
typedef void (*taskpool_fn)(void *arg);

/* A pool of at most max_threads threads (none made yet). */
taskpool_t *taskpool_new(int max_threads);

/* Run fn(arg) in a pool thread, in submission order. Thread-safe. */
void taskpool_submit(taskpool_t *p, taskpool_fn fn, void *arg);

/* Threads made so far, and those of them waiting for a job now. */
int taskpool_threads(taskpool_t *p);
int taskpool_idle(taskpool_t *p);

/* Run every queued job to its end, stop the threads and free. */
void taskpool_free(taskpool_t *p);

#endif
