/*
 * evloop: the descriptor table, the timers and one poll() per iteration.
 * Both tables are small arrays (a handful of descriptors and timers), so
 * lookups are linear. Every entry carries a generation number: a callback
 * that removes (or removes and re-adds) a descriptor that is also ready in
 * the same iteration never sees its stale readiness.
 */
#include "evloop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct evloop_fd {
	int fd;
	int events;
	evloop_fd_fn fn;
	void *arg;
	uint64_t gen;
	int prio;
};

struct evloop_timer {
	int64_t id;
	int64_t when;           /* the loop's clock */
	evloop_timer_fn fn;
	void *arg;
	uint64_t pass;          /* the timer pass that last ran it */
};

/* A descriptor poll() found ready, remembered across the callbacks. */
struct evloop_fired {
	int fd;
	uint64_t gen;
	int revents;
	int prio;
};

struct evloop {
	struct evloop_fd *fds;
	int nfds, capfds;
	struct evloop_timer *timers;
	int ntimers, captimers;
	struct pollfd *pfd;       /* scratch, capfds long */
	struct evloop_fired *fired;
	uint64_t gen;
	int64_t next_id;
	uint64_t pass;
	evloop_clock_fn clock;
	void *clock_arg;
	evloop_hook_fn before;
	void *before_arg;
	int stop;
};

static int64_t
evloop_default_clock(void *arg)
{
	(void)arg;
	return util_now_ms();
}

evloop_t *
evloop_new(void)
{
	evloop_t *el = xcalloc(1, sizeof *el);
	el->clock = evloop_default_clock;
	el->next_id = 1;
	return el;
}

void
evloop_free(evloop_t *el)
{
	if (el == NULL)
		return;
	free(el->fds);
	free(el->pfd);
	free(el->fired);
	free(el->timers);
	free(el);
}

void
evloop_set_clock(evloop_t *el, evloop_clock_fn fn, void *arg)
{
	el->clock = fn != NULL ? fn : evloop_default_clock;
	el->clock_arg = arg;
}

void
evloop_set_before_poll(evloop_t *el, evloop_hook_fn fn, void *arg)
{
	el->before = fn;
	el->before_arg = arg;
}

static struct evloop_fd *
evloop_find_fd(const evloop_t *el, int fd)
{
	for (int i = 0; i < el->nfds; i++)
		if (el->fds[i].fd == fd)
			return &el->fds[i];
	return NULL;
}

int
evloop_add_fd(evloop_t *el, int fd, int events, evloop_fd_fn fn, void *arg)
{
	if (fd < 0)
		return -1;
	struct evloop_fd *e = evloop_find_fd(el, fd);
	if (e == NULL) {
		if (el->nfds == el->capfds) {
			el->capfds = el->capfds ? el->capfds * 2 : 8;
			el->fds = xreallocarray(el->fds, (size_t)el->capfds, sizeof *el->fds);
			el->pfd = xreallocarray(el->pfd, (size_t)el->capfds, sizeof *el->pfd);
			el->fired = xreallocarray(el->fired, (size_t)el->capfds, sizeof *el->fired);
		}
		e = &el->fds[el->nfds++];
	}
	*e = (struct evloop_fd){ .fd = fd, .events = events, .fn = fn, .arg = arg, .gen = ++el->gen };
	return 0;
}

int
evloop_set_priority(evloop_t *el, int fd, int prio)
{
	struct evloop_fd *e = evloop_find_fd(el, fd);
	if (e == NULL)
		return -1;
	e->prio = prio;
	return 0;
}

int
evloop_set_events(evloop_t *el, int fd, int events)
{
	struct evloop_fd *e = evloop_find_fd(el, fd);
	if (e == NULL)
		return -1;
	e->events = events;
	return 0;
}

void
evloop_del_fd(evloop_t *el, int fd)
{
	struct evloop_fd *e = evloop_find_fd(el, fd);
	if (e == NULL)
		return;
	/* keep the order of the rest: callbacks run in the order fds were added */
	int i = (int)(e - el->fds);
	memmove(&el->fds[i], &el->fds[i + 1], (size_t)(el->nfds - i - 1) * sizeof *el->fds);
	el->nfds--;
}

int
evloop_fd_count(const evloop_t *el)
{
	return el->nfds;
}

int64_t
evloop_add_timer(evloop_t *el, int64_t ms, evloop_timer_fn fn, void *arg)
{
	if (el->ntimers == el->captimers) {
		el->captimers = el->captimers ? el->captimers * 2 : 8;
		el->timers = xreallocarray(el->timers, (size_t)el->captimers, sizeof *el->timers);
	}
	int64_t id = el->next_id++;
	el->timers[el->ntimers++] = (struct evloop_timer){
		.id = id, .when = el->clock(el->clock_arg) + UTIL_MAX(ms, 0), .fn = fn, .arg = arg,
		.pass = el->pass,
	};
	return id;
}

int
evloop_del_timer(evloop_t *el, int64_t id)
{
	for (int i = 0; i < el->ntimers; i++) {
		if (el->timers[i].id == id) {
			el->timers[i] = el->timers[--el->ntimers];
			return 0;
		}
	}
	return -1;
}

int
evloop_timer_count(const evloop_t *el)
{
	return el->ntimers;
}

int
evloop_timeout(const evloop_t *el)
{
	if (el->ntimers == 0)
		return -1;
	int64_t first = el->timers[0].when;
	for (int i = 1; i < el->ntimers; i++)
		first = UTIL_MIN(first, el->timers[i].when);
	int64_t wait = first - el->clock(el->clock_arg);
	if (wait <= 0)
		return 0;
	return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

/* Fill pfd from the table; returns how many descriptors are polled. */
static int
evloop_prepare(evloop_t *el)
{
	int n = 0;
	for (int i = 0; i < el->nfds; i++) {
		const struct evloop_fd *e = &el->fds[i];
		if (e->events == 0)
			continue;
		short ev = (short)(((e->events & EVLOOP_READ) ? POLLIN : 0) |
		    ((e->events & EVLOOP_WRITE) ? POLLOUT : 0));
		el->pfd[n] = (struct pollfd){ .fd = e->fd, .events = ev };
		el->fired[n] = (struct evloop_fired){ .fd = e->fd, .gen = e->gen, .prio = e->prio };
		n++;
	}
	return n;
}

/* Keep the ready descriptors (in table order), then order them by
 * priority: an insertion sort, stable, over a handful of entries. */
static int
evloop_collect(evloop_t *el, int n)
{
	int nfired = 0;
	for (int k = 0; k < n; k++) {
		short re = el->pfd[k].revents;
		if (re == 0)
			continue;
		struct evloop_fired f = el->fired[k];
		f.revents = ((re & POLLIN) ? EVLOOP_READ : 0) | ((re & POLLOUT) ? EVLOOP_WRITE : 0) |
		    ((re & (POLLHUP | POLLERR | POLLNVAL)) ? EVLOOP_HUP : 0);
		int j = nfired++;
		while (j > 0 && el->fired[j - 1].prio > f.prio) {
			el->fired[j] = el->fired[j - 1];
			j--;
		}
		el->fired[j] = f;
	}
	return nfired;
}

/* Run the callbacks of the ready descriptors, skipping any that a callback
 * before them removed or replaced. */
static int
evloop_dispatch(evloop_t *el, int n)
{
	int nfired = evloop_collect(el, n);
	int ran = 0;
	for (int k = 0; k < nfired && !el->stop; k++) {
		const struct evloop_fired *f = &el->fired[k];
		const struct evloop_fd *e = evloop_find_fd(el, f->fd);
		if (e == NULL || e->gen != f->gen)
			continue;
		/* report only what it still waits for (a callback may have changed that) */
		int revents = f->revents & (e->events | EVLOOP_HUP);
		if (revents == 0)
			continue;
		e->fn(el, f->fd, revents, e->arg);
		ran++;
	}
	return ran;
}

/* Run every timer that is due, once each: a timer added or re-armed while
 * this runs waits for the next pass, even if it is due already. */
static int
evloop_run_timers(evloop_t *el)
{
	uint64_t pass = ++el->pass;
	int64_t now = el->clock(el->clock_arg);
	int ran = 0;
	for (int i = 0; i < el->ntimers && !el->stop; i++) {
		struct evloop_timer *t = &el->timers[i];
		if (t->when > now || t->pass >= pass)
			continue;
		int64_t id = t->id;
		t->pass = pass;
		int64_t again = t->fn(el, id, t->arg);
		ran++;
		/* the callback may have added or deleted timers: find it again */
		int j = 0;
		while (j < el->ntimers && el->timers[j].id != id)
			j++;
		if (j < el->ntimers) {
			if (again < 0)
				el->timers[j] = el->timers[--el->ntimers];
			else
				el->timers[j].when = el->clock(el->clock_arg) + again;
		}
		i = -1;     /* the array may have changed: rescan; ran timers are marked */
	}
	return ran;
}

int
evloop_run_once(evloop_t *el, int wait)
{
	if (el->stop)
		return 0;
	if (el->before != NULL)
		el->before(el, el->before_arg);
	if (el->stop)
		return 0;
	int n = evloop_prepare(el);
	int rc = poll(el->pfd, (nfds_t)n, wait ? evloop_timeout(el) : 0);
	if (rc < 0) {
		if (errno == EINTR)
			return 0;
		return -1;
	}
	int ran = rc > 0 ? evloop_dispatch(el, n) : 0;
	return ran + evloop_run_timers(el);
}

int
evloop_run(evloop_t *el)
{
	while (!el->stop) {
		if (evloop_run_once(el, 1) < 0)
			return -1;
	}
	return 0;
}

void
evloop_stop(evloop_t *el)
{
	el->stop = 1;
}

int
evloop_stopped(const evloop_t *el)
{
	return el->stop;
}
