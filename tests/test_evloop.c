/* Unit tests for evloop.c: descriptors with callbacks (readiness, write
 * interest, hang-up, removal during dispatch, fd reuse), one-shot and
 * periodic timers on an injected clock, the computed poll timeout, the
 * before-poll hook and stopping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"

/* ---- a fake clock ---- */

static int64_t fake_now;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static evloop_t *
new_loop(void)
{
	evloop_t *el = evloop_new();
	fake_now = 1000;
	evloop_set_clock(el, fake_clock, NULL);
	return el;
}

/* ---- descriptor callbacks ---- */

struct seen {
	int calls;
	int fd;
	int revents;
	int order[8];
	int norder;
};

static struct seen seen;

static void
on_fd(evloop_t *el, int fd, int revents, void *arg)
{
	(void)el;
	seen.calls++;
	seen.fd = fd;
	seen.revents = revents;
	if (seen.norder < 8)
		seen.order[seen.norder++] = (int)(intptr_t)arg;
}

static void
make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void
test_read_ready(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int p[2];
	make_pipe(p);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(evloop_add_fd(el, p[0], EVLOOP_READ, on_fd, NULL), 0);
	assert_int_equal(evloop_fd_count(el), 1);
	/* nothing to read: a non-waiting iteration runs nothing */
	assert_int_equal(evloop_run_once(el, 0), 0);
	assert_int_equal(seen.calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(el, 1), 1);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.fd, p[0]);
	assert_int_equal(seen.revents, EVLOOP_READ);
	close(p[0]);
	close(p[1]);
	evloop_free(el);
}

static void
test_write_interest_and_pause(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int p[2];
	make_pipe(p);
	memset(&seen, 0, sizeof seen);
	/* a pipe's write end is writable at once */
	evloop_add_fd(el, p[1], EVLOOP_WRITE, on_fd, NULL);
	assert_int_equal(evloop_run_once(el, 0), 1);
	assert_int_equal(seen.revents, EVLOOP_WRITE);
	/* events 0: kept in the table but not polled */
	assert_int_equal(evloop_set_events(el, p[1], 0), 0);
	assert_int_equal(evloop_run_once(el, 0), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(evloop_fd_count(el), 1);
	assert_int_equal(evloop_set_events(el, 12345, EVLOOP_READ), -1);
	assert_int_equal(evloop_add_fd(el, -1, EVLOOP_READ, on_fd, NULL), -1);
	close(p[0]);
	close(p[1]);
	evloop_free(el);
}

static void
test_hangup(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int p[2];
	make_pipe(p);
	memset(&seen, 0, sizeof seen);
	evloop_add_fd(el, p[0], EVLOOP_READ, on_fd, NULL);
	close(p[1]);
	assert_int_equal(evloop_run_once(el, 1), 1);
	assert_true(seen.revents & EVLOOP_HUP);
	close(p[0]);
	evloop_free(el);
}

/* Callbacks run in the order descriptors were added, removal included. */
static void
test_order(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int a[2], b[2], c[2];
	make_pipe(a);
	make_pipe(b);
	make_pipe(c);
	memset(&seen, 0, sizeof seen);
	evloop_add_fd(el, c[0], EVLOOP_READ, on_fd, (void *)3);
	evloop_add_fd(el, a[0], EVLOOP_READ, on_fd, (void *)1);
	evloop_add_fd(el, b[0], EVLOOP_READ, on_fd, (void *)2);
	evloop_del_fd(el, a[0]);
	evloop_add_fd(el, a[0], EVLOOP_READ, on_fd, (void *)1);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(write(c[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(el, 1), 3);
	assert_int_equal(seen.norder, 3);
	assert_int_equal(seen.order[0], 3);
	assert_int_equal(seen.order[1], 2);
	assert_int_equal(seen.order[2], 1);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(c[i]);
	}
	evloop_free(el);
}

/* Priorities: lower first, equal ones in the order added. */
static void
test_priority(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int a[2], b[2], c[2], d[2];
	make_pipe(a);
	make_pipe(b);
	make_pipe(c);
	make_pipe(d);
	memset(&seen, 0, sizeof seen);
	evloop_add_fd(el, a[0], EVLOOP_READ, on_fd, (void *)1);
	evloop_add_fd(el, b[0], EVLOOP_READ, on_fd, (void *)2);
	evloop_add_fd(el, c[0], EVLOOP_READ, on_fd, (void *)3);
	evloop_add_fd(el, d[0], EVLOOP_READ, on_fd, (void *)4);
	assert_int_equal(evloop_set_priority(el, a[0], 2), 0);
	assert_int_equal(evloop_set_priority(el, c[0], 1), 0);
	assert_int_equal(evloop_set_priority(el, d[0], 2), 0);
	assert_int_equal(evloop_set_priority(el, 9999, 1), -1);
	int *all[] = { a, b, c, d };
	for (int i = 0; i < 4; i++)
		assert_int_equal(write(all[i][1], "x", 1), 1);
	assert_int_equal(evloop_run_once(el, 1), 4);
	/* b (0), c (1), a and d (2, in the order added) */
	assert_int_equal(seen.order[0], 2);
	assert_int_equal(seen.order[1], 3);
	assert_int_equal(seen.order[2], 1);
	assert_int_equal(seen.order[3], 4);
	for (int i = 0; i < 4; i++) {
		close(all[i][0]);
		close(all[i][1]);
	}
	evloop_free(el);
}

/* A callback removes another descriptor that is ready in the same
 * iteration, and re-adds a third with a new callback: neither stale
 * readiness reaches a callback. */
struct juggle {
	int victim;        /* removed */
	int reused;        /* removed and added again with another callback */
	int calls_first, calls_victim, calls_old, calls_new;
};

static struct juggle jg;

static void
on_victim(evloop_t *el, int fd, int revents, void *arg)
{
	(void)el; (void)fd; (void)revents; (void)arg;
	jg.calls_victim++;
}

static void
on_old(evloop_t *el, int fd, int revents, void *arg)
{
	(void)el; (void)fd; (void)revents; (void)arg;
	jg.calls_old++;
}

static void
on_new(evloop_t *el, int fd, int revents, void *arg)
{
	(void)el; (void)fd; (void)revents; (void)arg;
	jg.calls_new++;
}

static void
on_first(evloop_t *el, int fd, int revents, void *arg)
{
	(void)fd; (void)revents; (void)arg;
	jg.calls_first++;
	evloop_del_fd(el, jg.victim);
	evloop_del_fd(el, jg.reused);
	evloop_add_fd(el, jg.reused, EVLOOP_READ, on_new, NULL);
}

static void
test_remove_during_dispatch(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int a[2], b[2], c[2];
	make_pipe(a);
	make_pipe(b);
	make_pipe(c);
	memset(&jg, 0, sizeof jg);
	jg.victim = b[0];
	jg.reused = c[0];
	evloop_add_fd(el, a[0], EVLOOP_READ, on_first, NULL);
	evloop_add_fd(el, b[0], EVLOOP_READ, on_victim, NULL);
	evloop_add_fd(el, c[0], EVLOOP_READ, on_old, NULL);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(write(c[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(el, 1), 1);
	assert_int_equal(jg.calls_first, 1);
	assert_int_equal(jg.calls_victim, 0);
	assert_int_equal(jg.calls_old, 0);
	assert_int_equal(jg.calls_new, 0);
	assert_int_equal(evloop_fd_count(el), 2);
	/* the next iteration sees c with its new callback */
	evloop_del_fd(el, a[0]);
	assert_int_equal(evloop_run_once(el, 1), 1);
	assert_int_equal(jg.calls_new, 1);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(c[i]);
	}
	evloop_free(el);
}

/* ---- timers ---- */

struct tick {
	int calls;
	int64_t at[8];
	int64_t again;     /* what the callback returns */
	int64_t self_del;  /* delete this id from inside */
	int64_t add_ms;    /* >= 0: add a new timer of this delay from inside */
	int64_t added;
};

static int64_t
on_timer(evloop_t *el, int64_t id, void *arg)
{
	(void)id;
	struct tick *t = arg;
	if (t->calls < 8)
		t->at[t->calls] = fake_now;
	t->calls++;
	if (t->self_del > 0)
		evloop_del_timer(el, t->self_del);
	if (t->add_ms >= 0) {
		t->added = evloop_add_timer(el, t->add_ms, on_timer, t);
		t->add_ms = -1;
	}
	return t->again;
}

static void
test_timeout_computed(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	struct tick a = { .again = EVLOOP_DONE, .add_ms = -1 };
	struct tick b = { .again = EVLOOP_DONE, .add_ms = -1 };
	assert_int_equal(evloop_timeout(el), -1);     /* no timer: wait for a descriptor */
	int64_t ia = evloop_add_timer(el, 50, on_timer, &a);
	int64_t ib = evloop_add_timer(el, 20, on_timer, &b);
	assert_true(ia > 0 && ib > 0 && ia != ib);
	assert_int_equal(evloop_timeout(el), 20);
	fake_now += 5;
	assert_int_equal(evloop_timeout(el), 15);
	fake_now += 100;
	assert_int_equal(evloop_timeout(el), 0);
	/* both due: each runs once, then is gone */
	assert_int_equal(evloop_run_once(el, 1), 2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(evloop_timer_count(el), 0);
	assert_int_equal(evloop_del_timer(el, ia), -1);
	evloop_free(el);
}

static void
test_one_shot_not_early(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	struct tick a = { .again = EVLOOP_DONE, .add_ms = -1 };
	evloop_add_timer(el, 30, on_timer, &a);
	fake_now += 29;
	assert_int_equal(evloop_run_once(el, 0), 0);
	assert_int_equal(a.calls, 0);
	fake_now += 1;
	assert_int_equal(evloop_run_once(el, 0), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.at[0], 1030);
	evloop_free(el);
}

static void
test_periodic(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	struct tick a = { .again = 10, .add_ms = -1 };
	int64_t id = evloop_add_timer(el, 10, on_timer, &a);
	for (int i = 0; i < 3; i++) {
		fake_now += 10;
		assert_int_equal(evloop_run_once(el, 0), 1);
		assert_int_equal(evloop_timeout(el), 10);
	}
	assert_int_equal(a.calls, 3);
	assert_int_equal(a.at[2], 1030);
	assert_int_equal(evloop_del_timer(el, id), 0);
	fake_now += 100;
	assert_int_equal(evloop_run_once(el, 0), 0);
	assert_int_equal(a.calls, 3);
	evloop_free(el);
}

/* A periodic timer of 0 ms and a timer added from a callback, due at once,
 * run on the next iteration, not in a loop within this one. */
static void
test_no_starvation(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	struct tick a = { .again = 0, .add_ms = 0 };
	evloop_add_timer(el, 0, on_timer, &a);
	assert_int_equal(evloop_run_once(el, 1), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(evloop_timer_count(el), 2);
	assert_int_equal(evloop_timeout(el), 0);
	assert_int_equal(evloop_run_once(el, 1), 2);
	assert_int_equal(a.calls, 3);
	evloop_free(el);
}

/* A timer deletes another that is also due: the deleted one never runs. */
static void
test_delete_from_timer(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	struct tick a = { .again = EVLOOP_DONE, .add_ms = -1 };
	struct tick b = { .again = EVLOOP_DONE, .add_ms = -1 };
	int64_t ia = evloop_add_timer(el, 5, on_timer, &a);
	int64_t ib = evloop_add_timer(el, 5, on_timer, &b);
	a.self_del = ib;
	b.self_del = ia;
	fake_now += 5;
	assert_int_equal(evloop_run_once(el, 0), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(evloop_timer_count(el), 0);
	evloop_free(el);
}

/* A real wait: poll() sleeps until the nearest timer, not longer. */
static int64_t
on_real(evloop_t *el, int64_t id, void *arg)
{
	(void)id;
	*(int *)arg += 1;
	evloop_stop(el);
	return EVLOOP_DONE;
}

static void
test_real_clock_wait(void **state)
{
	(void)state;
	evloop_t *el = evloop_new();
	int fired = 0;
	evloop_add_timer(el, 30, on_real, &fired);
	int t = evloop_timeout(el);
	assert_true(t > 0 && t <= 30);
	assert_int_equal(evloop_run(el), 0);
	assert_int_equal(fired, 1);
	assert_true(evloop_stopped(el));
	evloop_free(el);
}

/* ---- the hook and stopping ---- */

struct hook {
	int calls;
	int stop_at;
};

static void
on_hook(evloop_t *el, void *arg)
{
	struct hook *h = arg;
	if (++h->calls == h->stop_at)
		evloop_stop(el);
}

static void
test_before_poll_and_stop(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	struct hook h = { .stop_at = 3 };
	struct tick a = { .again = 0, .add_ms = -1 };
	evloop_set_before_poll(el, on_hook, &h);
	evloop_add_timer(el, 0, on_timer, &a);
	/* the hook stops the loop on its third call, before that iteration polls */
	assert_int_equal(evloop_run(el), 0);
	assert_int_equal(h.calls, 3);
	assert_int_equal(a.calls, 2);
	/* a stopped loop does nothing */
	assert_int_equal(evloop_run_once(el, 1), 0);
	assert_int_equal(h.calls, 3);
	evloop_free(el);
}

static void
on_stop_fd(evloop_t *el, int fd, int revents, void *arg)
{
	(void)fd; (void)revents;
	*(int *)arg += 1;
	evloop_stop(el);
}

/* A callback that stops the loop: no later callback of that iteration runs. */
static void
test_stop_in_dispatch(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int a[2], b[2], na = 0, nb = 0;
	make_pipe(a);
	make_pipe(b);
	evloop_add_fd(el, a[0], EVLOOP_READ, on_stop_fd, &na);
	evloop_add_fd(el, b[0], EVLOOP_READ, on_stop_fd, &nb);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	assert_int_equal(evloop_run(el), 0);
	assert_int_equal(na, 1);
	assert_int_equal(nb, 0);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	evloop_free(el);
}

/* A bad descriptor is reported as a hang-up, not a poll() failure. */
static void
test_closed_fd(void **state)
{
	(void)state;
	evloop_t *el = new_loop();
	int p[2];
	make_pipe(p);
	close(p[0]);
	close(p[1]);
	memset(&seen, 0, sizeof seen);
	evloop_add_fd(el, p[0], EVLOOP_READ, on_fd, NULL);
	assert_int_equal(evloop_run_once(el, 1), 1);
	assert_int_equal(seen.revents, EVLOOP_HUP);
	evloop_free(el);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_ready),
		cmocka_unit_test(test_write_interest_and_pause),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_remove_during_dispatch),
		cmocka_unit_test(test_timeout_computed),
		cmocka_unit_test(test_one_shot_not_early),
		cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_no_starvation),
		cmocka_unit_test(test_delete_from_timer),
		cmocka_unit_test(test_real_clock_wait),
		cmocka_unit_test(test_before_poll_and_stop),
		cmocka_unit_test(test_stop_in_dispatch),
		cmocka_unit_test(test_closed_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
