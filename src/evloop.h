/*
 * evloop: a small event loop in the manner of redis' ae.c. Owns a table of
 * file descriptors, each with the events it waits for and a callback, a set
 * of one-shot and periodic timers, and one poll() per iteration whose
 * timeout is the nearest timer. Knows nothing of what the descriptors are.
 * Single-threaded: every call comes from the thread that runs the loop;
 * callbacks may add and remove descriptors and timers (their own included).
 */
#ifndef TOKMUX_EVLOOP_H
#define TOKMUX_EVLOOP_H

#include <stdint.h>

typedef struct evloop evloop_t;

/* Events a descriptor waits for, and what its callback is told. */
#define EVLOOP_READ  1
#define EVLOOP_WRITE 2
#define EVLOOP_HUP   4      /* reported only: hang-up or error on the descriptor */

/* A ready descriptor: revents is EVLOOP_READ | EVLOOP_WRITE | EVLOOP_HUP. */
typedef void (*evloop_fd_fn)(evloop_t *el, int fd, int revents, void *arg);

/* A timer that came due. Returns the milliseconds until it runs again
 * (a periodic timer), or EVLOOP_DONE to end it. */
#define EVLOOP_DONE (-1)
typedef int64_t (*evloop_timer_fn)(evloop_t *el, int64_t id, void *arg);

/* Called once per iteration just before the loop waits (redis'
 * beforeSleep): work that batches what the callbacks did, e.g. drawing. */
typedef void (*evloop_hook_fn)(evloop_t *el, void *arg);

/* The loop's clock in milliseconds (default util_now_ms); tests inject one. */
typedef int64_t (*evloop_clock_fn)(void *arg);

evloop_t *evloop_new(void);
void evloop_free(evloop_t *el);
void evloop_set_clock(evloop_t *el, evloop_clock_fn fn, void *arg);
void evloop_set_before_poll(evloop_t *el, evloop_hook_fn fn, void *arg);

/* Watch fd for events (EVLOOP_READ and/or EVLOOP_WRITE; 0 keeps it in the
 * table but unpolled). Adding an fd already watched replaces its entry.
 * Returns 0, or -1 if fd < 0. */
int evloop_add_fd(evloop_t *el, int fd, int events, evloop_fd_fn fn, void *arg);
/* Change what a watched fd waits for. Returns 0, or -1 if fd is not watched. */
int evloop_set_events(evloop_t *el, int fd, int events);
/* Callbacks of descriptors ready in the same iteration run by priority,
 * lowest first, then in the order the descriptors were added. A new
 * descriptor has priority 0. Returns 0, or -1 if fd is not watched. */
int evloop_set_priority(evloop_t *el, int fd, int prio);
/* Stop watching fd (no-op if it is not). Its callback is not called again,
 * even if it was ready in the iteration that removes it. */
void evloop_del_fd(evloop_t *el, int fd);
int evloop_fd_count(const evloop_t *el);

/* Run fn once after ms milliseconds (0: on the next iteration, without
 * waiting). Returns the timer's id (> 0). */
int64_t evloop_add_timer(evloop_t *el, int64_t ms, evloop_timer_fn fn, void *arg);
/* Remove a timer. Returns 0, or -1 if id is not (or no longer) a timer. */
int evloop_del_timer(evloop_t *el, int64_t id);
int evloop_timer_count(const evloop_t *el);

/* The poll() timeout the next iteration would use: milliseconds until the
 * nearest timer, 0 if one is due, -1 (wait for a descriptor) if none. */
int evloop_timeout(const evloop_t *el);

/* One iteration: the before-poll hook, one poll() (waiting at most the
 * timeout above, or not at all if wait is 0), the ready descriptors'
 * callbacks (by priority, then in the order they were added), then every
 * timer that is due.
 * Returns the number of callbacks run, or -1 if poll() failed (errno set;
 * EINTR is not a failure). */
int evloop_run_once(evloop_t *el, int wait);
/* Iterate until evloop_stop(). Returns 0, or -1 if poll() failed. */
int evloop_run(evloop_t *el);
void evloop_stop(evloop_t *el);
int evloop_stopped(const evloop_t *el);

#endif
