/*
 * Tests for upstream: transfers against the in-process scripted server
 * (tests/testsrv.h): headers and body as given, status and response
 * headers, streaming reads, bounded buffering under backpressure, abort,
 * and a refused connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "testsrv.h"
#include "upstream.h"
#include "util.h"

struct fx {
	struct testsrv *srv;
	upstream_t *up;
	char url[256];
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	f->srv = testsrv_start();
	f->up = upstream_new();
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/v1/things?x=%%2F&y", f->srv->port);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	upstream_free(f->up);
	testsrv_stop(f->srv);
	free(f);
	return 0;
}

/* Read the whole body; returns the final read result (EOF or ERROR). */
static ssize_t
read_all(upstream_xfer_t *x, struct buf *out)
{
	char tmp[4096];
	for (int i = 0; i < 100000; i++) {
		ssize_t n = upstream_read(x, tmp, sizeof tmp, 5000);
		if (n > 0)
			buf_append(out, tmp, (size_t)n);
		else if (n != UPSTREAM_AGAIN)
			return n;
	}
	return UPSTREAM_AGAIN;
}

static void
test_get_headers_and_body(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = {
		.status = 201,
		.headers = { "X-Up: yes", "request-id: req_123" },
		.chunks = { { 0, "hello " }, { 20, "world" } },
		.nchunks = 2,
	};
	testsrv_script(f->srv, &sc);
	const char *hdrs[] = { "X-Test: 1", "Accept-Encoding: identity" };
	struct upstream_request r = { .method = "GET", .url = f->url, .headers = hdrs, .nheaders = 2 };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	assert_int_equal(upstream_wait_headers(x, 5000), 201);
	assert_string_equal(upstream_header_get(x, "x-up"), "yes");
	assert_string_equal(upstream_header_get(x, "REQUEST-ID"), "req_123");
	assert_null(upstream_header_get(x, "x-missing"));
	struct buf body = { 0 };
	assert_int_equal(read_all(x, &body), UPSTREAM_EOF);
	assert_string_equal(body.data, "hello world");
	assert_int_equal(upstream_body_bytes(x), 11);
	char why[64];
	upstream_error(x, why, sizeof why);
	assert_string_equal(why, "");
	upstream_xfer_free(x);
	buf_free(&body);

	char v[128];
	assert_string_equal(f->srv->method, "GET");
	assert_string_equal(f->srv->uri, "/v1/things?x=%2F&y");   /* raw, as given */
	testsrv_header(f->srv, "X-Test", v, sizeof v);
	assert_string_equal(v, "1");
	testsrv_header(f->srv, "Accept-Encoding", v, sizeof v);
	assert_string_equal(v, "identity");
	/* curl's own defaults are switched off */
	testsrv_header(f->srv, "Accept", v, sizeof v);
	assert_string_equal(v, "");
	testsrv_header(f->srv, "User-Agent", v, sizeof v);
	assert_string_equal(v, "");
}

static void
test_post_binary_body(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .echo = 1, .headers = { "Content-Type: application/octet-stream" } };
	testsrv_script(f->srv, &sc);
	char body[70000];
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (char)(i * 7 + 3);
	const char *hdrs[] = { "Content-Type: application/json", "x-api-key: sk-test" };
	struct upstream_request r = { .method = "PUT", .url = f->url, .headers = hdrs, .nheaders = 2,
		.body = body, .body_len = sizeof body };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	assert_int_equal(upstream_wait_headers(x, 5000), 200);
	struct buf got = { 0 };
	assert_int_equal(read_all(x, &got), UPSTREAM_EOF);
	assert_int_equal(got.len, sizeof body);
	assert_memory_equal(got.data, body, sizeof body);
	upstream_xfer_free(x);
	buf_free(&got);

	char v[64];
	assert_string_equal(f->srv->method, "PUT");
	assert_int_equal(f->srv->body.len, sizeof body);
	testsrv_header(f->srv, "Expect", v, sizeof v);
	assert_string_equal(v, "");
	testsrv_header(f->srv, "Content-Type", v, sizeof v);
	assert_string_equal(v, "application/json");
}

static void
test_backpressure_bounds_buffer(void **state)
{
	struct fx *f = *state;
	const size_t total = 4u << 20, limit = 64 * 1024;
	struct ts_script sc = { .bulk_bytes = total };
	testsrv_script(f->srv, &sc);
	struct upstream_request r = { .method = "GET", .url = f->url, .buf_limit = limit };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	assert_int_equal(upstream_wait_headers(x, 5000), 200);
	struct buf got = { 0 };
	char tmp[4096];
	ssize_t n;
	while ((n = upstream_read(x, tmp, sizeof tmp, 0)) > 0)   /* drain, no wait */
		buf_append(&got, tmp, (size_t)n);
	usleep(300 * 1000);   /* a slow reader: upstream's bytes pile up in the socket */
	/* One read that waits lets the transfer move: it takes what the socket
	 * has, but buffers no more than the limit plus one curl write (at most
	 * CURL_MAX_WRITE_SIZE, 16K), then pauses. */
	n = upstream_read(x, tmp, 1, 5000);
	assert_int_equal(n, 1);
	buf_append(&got, tmp, 1);
	size_t buffered = upstream_body_bytes(x) - got.len;
	assert_true(buffered >= limit);
	assert_true(buffered <= limit + 16 * 1024);
	assert_int_equal(read_all(x, &got), UPSTREAM_EOF);
	assert_int_equal(got.len, total);
	upstream_xfer_free(x);
	buf_free(&got);
}

static void
test_abort_mid_stream(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .chunks = { { 0, "first" }, { 1500, "never" } }, .nchunks = 2 };
	testsrv_script(f->srv, &sc);
	struct upstream_request r = { .method = "GET", .url = f->url };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	assert_int_equal(upstream_wait_headers(x, 5000), 200);
	char tmp[64];
	assert_int_equal(upstream_read(x, tmp, sizeof tmp, 5000), 5);
	assert_int_equal(upstream_read(x, tmp, sizeof tmp, 20), UPSTREAM_AGAIN);
	int64_t t0 = util_now_ms();
	upstream_abort(x);
	assert_int_equal(upstream_read(x, tmp, sizeof tmp, 5000), UPSTREAM_ERROR);
	upstream_xfer_free(x);
	/* curl notices through its progress callback, about once a second */
	assert_true(util_now_ms() - t0 < 2500);
}

static void
test_connection_refused(void **state)
{
	struct fx *f = *state;
	/* A port that was free a moment ago and has no listener now. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/messages", ntohs(sa.sin_port));
	struct upstream_request r = { .method = "POST", .url = url, .body = "{}", .body_len = 2 };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	assert_int_equal(upstream_wait_headers(x, 5000), 0);
	char why[256];
	upstream_error(x, why, sizeof why);
	assert_true(strlen(why) > 0);
	assert_false(upstream_timed_out(x));
	char tmp[8];
	assert_int_equal(upstream_read(x, tmp, sizeof tmp, 100), UPSTREAM_ERROR);
	upstream_xfer_free(x);
	(void)f;
}

static void
test_connection_reuse(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .chunks = { { 0, "ok" } }, .nchunks = 1, .content_length = 1 };
	testsrv_script(f->srv, &sc);
	/* Sequential transfers share one connection through the CURLSH: the
	 * server sees a single connection (checked by its port count below). */
	for (int i = 0; i < 3; i++) {
		struct upstream_request r = { .method = "GET", .url = f->url };
		upstream_xfer_t *x = upstream_start(f->up, &r);
		assert_int_equal(upstream_wait_headers(x, 5000), 200);
		struct buf got = { 0 };
		assert_int_equal(read_all(x, &got), UPSTREAM_EOF);
		assert_string_equal(got.data, "ok");
		upstream_xfer_free(x);
		buf_free(&got);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(f->srv->d,
	    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	assert_non_null(di);
	assert_int_equal(di->num_connections, 1);
}

/* A pooled easy handle forgets the last transfer: a GET after a PUT with a
 * body and custom headers goes out as a plain GET. */
static void
test_reused_handle_is_reset(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .echo = 1 };
	testsrv_script(f->srv, &sc);
	const char *hdrs[] = { "x-first: 1" };
	struct upstream_request put = { .method = "PUT", .url = f->url, .headers = hdrs,
		.nheaders = 1, .body = "abc", .body_len = 3 };
	struct upstream_request get = { .method = "GET", .url = f->url };
	const struct upstream_request *reqs[] = { &put, &get };
	for (int i = 0; i < 2; i++) {
		upstream_xfer_t *x = upstream_start(f->up, reqs[i]);
		assert_int_equal(upstream_wait_headers(x, 5000), 200);
		struct buf got = { 0 };
		assert_int_equal(read_all(x, &got), UPSTREAM_EOF);
		assert_int_equal(got.len, i == 0 ? 3 : 0);
		upstream_xfer_free(x);
		buf_free(&got);
	}
	char v[64];
	assert_string_equal(f->srv->method, "GET");
	assert_int_equal(f->srv->body.len, 0);
	testsrv_header(f->srv, "x-first", v, sizeof v);
	assert_string_equal(v, "");
}

struct par {
	upstream_t *up;
	const char *url;
	int status;
	ssize_t end;
};

static void *
par_run(void *arg)
{
	struct par *p = arg;
	struct upstream_request r = { .method = "GET", .url = p->url };
	upstream_xfer_t *x = upstream_start(p->up, &r);
	p->status = upstream_wait_headers(x, 5000);
	struct buf got = { 0 };
	p->end = read_all(x, &got);
	upstream_xfer_free(x);
	buf_free(&got);
	return NULL;
}

/* 8 overlapping transfers, twice: the second round reuses the first
 * round's 8 connections and none is closed (curl's per-perform cache limit
 * of 5 used to close 3 of them after every round). */
static void
test_connection_reuse_concurrent(void **state)
{
	struct fx *f = *state;
	enum { N = 8 };
	struct ts_script sc = { .header_delay_ms = 150, .chunks = { { 0, "ok" } }, .nchunks = 1,
		.content_length = 1 };
	testsrv_script(f->srv, &sc);
	for (int round = 0; round < 2; round++) {
		pthread_t t[N];
		struct par p[N];
		for (int i = 0; i < N; i++) {
			p[i] = (struct par){ .up = f->up, .url = f->url };
			assert_int_equal(pthread_create(&t[i], NULL, par_run, &p[i]), 0);
		}
		for (int i = 0; i < N; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(p[i].status, 200);
			assert_int_equal(p[i].end, UPSTREAM_EOF);
		}
	}
	usleep(200 * 1000);   /* let the server notice any closed connection */
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(f->srv->d,
	    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	assert_non_null(di);
	assert_int_equal(di->num_connections, N);
	assert_int_equal(f->srv->requests, 2 * N);
}

static void
tap_thread(void *user, upstream_xfer_t *x, const char *data, size_t len)
{
	pthread_t *seen = user;
	*seen = pthread_self();
}

/* No thread per transfer: one driver thread runs curl for every
 * transfer, so the tap (called from curl's write callback) runs in that
 * same thread for two transfers, and not in the thread that waits. */
static void
test_one_driver_thread(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .chunks = { { 0, "one" }, { 30, "two" } }, .nchunks = 2 };
	testsrv_script(f->srv, &sc);
	pthread_t seen[2] = { 0, 0 };
	for (int i = 0; i < 2; i++) {
		struct upstream_request r = { .method = "GET", .url = f->url, .tap = tap_thread,
			.tap_user = &seen[i] };
		upstream_xfer_t *x = upstream_start(f->up, &r);
		assert_int_equal(upstream_wait_headers(x, 5000), 200);
		struct buf got = { 0 };
		assert_int_equal(read_all(x, &got), UPSTREAM_EOF);
		assert_int_equal(got.len, 6);
		upstream_xfer_free(x);
		buf_free(&got);
	}
	assert_false(pthread_equal(seen[0], pthread_self()));
	assert_true(pthread_equal(seen[0], seen[1]));
}

struct notes {
	pthread_mutex_t mu;
	int n;
};

static void
count_note(void *user)
{
	struct notes *no = user;
	pthread_mutex_lock(&no->mu);
	no->n++;
	pthread_mutex_unlock(&no->mu);
}

/* The notify callback reports what came in each round of curl work
 * (headers, chunks) and the end, so a reader that never waits
 * (upstream_read with timeout 0) learns of each. */
static void
test_notify_without_waiting(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .chunks = { { 0, "one" }, { 30, "two" } }, .nchunks = 2 };
	testsrv_script(f->srv, &sc);
	struct notes no = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct upstream_request r = { .method = "GET", .url = f->url, .notify = count_note,
		.notify_user = &no };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	struct buf got = { 0 };
	char tmp[64];
	ssize_t n = 0;
	for (int i = 0; i < 500 && n != UPSTREAM_EOF && n != UPSTREAM_ERROR; i++) {
		n = upstream_read(x, tmp, sizeof tmp, 0);
		if (n > 0)
			buf_append(&got, tmp, (size_t)n);
		usleep(10 * 1000);
	}
	assert_int_equal(n, UPSTREAM_EOF);
	assert_int_equal(got.len, 6);
	pthread_mutex_lock(&no.mu);
	/* The headers with "one" (one round of curl work), then "two" and
	 * the end, 30 ms later: at least two notifies. */
	assert_true(no.n >= 2);
	pthread_mutex_unlock(&no.mu);
	upstream_xfer_free(x);
	buf_free(&got);
}

/* A transfer watching a socket is aborted when that socket's peer hangs
 * up (the agent leaving mid-stream), without anyone reading it. */
static void
test_watch_peer_gone(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .chunks = { { 0, "one" }, { 3000, "two" } }, .nchunks = 2 };
	testsrv_script(f->srv, &sc);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct upstream_request r = { .method = "GET", .url = f->url, .watch = 1, .watch_fd = sv[0] };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	assert_int_equal(upstream_wait_headers(x, 5000), 200);
	int64_t t0 = util_now_ms();
	close(sv[1]);
	char tmp[64];
	ssize_t n;
	while ((n = upstream_read(x, tmp, sizeof tmp, 5000)) > 0)
		;
	assert_int_equal(n, UPSTREAM_ERROR);
	assert_true(upstream_peer_gone(x));
	assert_true(util_now_ms() - t0 < 1000);
	upstream_xfer_free(x);
	close(sv[0]);
}

/* A transfer whose watched socket's peer left before it started (the
 * agent gave up while a pool thread paced or backed off) is never sent:
 * the upstream sees no request, so bills nothing. */
static void
test_watch_gone_before_start(void **state)
{
	struct fx *f = *state;
	struct ts_script sc = { .chunks = { { 0, "one" } }, .nchunks = 1 };
	testsrv_script(f->srv, &sc);
	/* a first request leaves a kept-alive connection: a second one on it
	 * would be written by curl's first turn, before any poll */
	struct upstream_request w = { .method = "GET", .url = f->url };
	upstream_xfer_t *wx = upstream_start(f->up, &w);
	char tmp[64];
	ssize_t n;
	while ((n = upstream_read(wx, tmp, sizeof tmp, 5000)) > 0)
		;
	assert_int_equal(n, UPSTREAM_EOF);
	upstream_xfer_free(wx);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	pthread_mutex_lock(&f->srv->lock);
	int before = f->srv->requests;
	pthread_mutex_unlock(&f->srv->lock);
	struct upstream_request r = { .method = "GET", .url = f->url, .watch = 1, .watch_fd = sv[0] };
	upstream_xfer_t *x = upstream_start(f->up, &r);
	while ((n = upstream_read(x, tmp, sizeof tmp, 5000)) > 0)
		;
	assert_int_equal(n, UPSTREAM_ERROR);
	assert_true(upstream_peer_gone(x));
	upstream_xfer_free(x);
	close(sv[0]);
	usleep(100 * 1000);   /* a request written would have reached the server by now */
	pthread_mutex_lock(&f->srv->lock);
	assert_int_equal(f->srv->requests, before);
	pthread_mutex_unlock(&f->srv->lock);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_headers_and_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_binary_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_bounds_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_mid_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_handle_is_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_reuse_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_driver_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_without_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_peer_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_gone_before_start, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
