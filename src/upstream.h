/*
 * upstream: HTTP transfers to the provider with libcurl. One driver
 * thread per upstream_t runs curl for every transfer in flight (one curl
 * multi handle, one poll for all of them): no thread per transfer. A
 * caller waits for a transfer (upstream_wait_headers, upstream_read with a
 * timeout) on its condition variable, or reads without waiting and is
 * told of every change by a notify callback. All transfers share one CURLSH
 * (connection cache, DNS, TLS sessions) so upstream connections are
 * reused. The caller waits until the status line and headers are known,
 * then reads the body as it arrives from a bounded buffer: when the buffer
 * is full the transfer is paused, which stops reading the upstream socket
 * (backpressure), so memory per transfer stays bounded.
 */
#ifndef TOKMUX_UPSTREAM_H
#define TOKMUX_UPSTREAM_H

#include <stddef.h>
#include <sys/types.h>

#define UPSTREAM_CONNECT_TIMEOUT_MS 10000
#define UPSTREAM_IDLE_TIMEOUT_S 600   /* abort after this long without a byte either way */
#define UPSTREAM_BUF_LIMIT (256 * 1024)
#define UPSTREAM_MAX_CONNECTS 128     /* idle + busy upstream connections kept */

/* upstream_read() results besides a byte count */
#define UPSTREAM_AGAIN 0              /* no data within the timeout */
#define UPSTREAM_EOF (-1)             /* body complete */
#define UPSTREAM_ERROR (-2)           /* transfer failed or was aborted */

typedef struct upstream upstream_t;
typedef struct upstream_xfer upstream_xfer_t;

/* Called in the thread driving the transfer (one waiting in upstream_read
 * or upstream_wait_headers) with every body chunk, before the reader sees
 * it (e.g. for a usage parser). Headers are complete by then. It runs under
 * the transfer's lock and never once upstream_abort() has returned, so the
 * caller may read the tap's state after an abort without joining. */
typedef void (*upstream_tap_fn)(void *user, upstream_xfer_t *x, const char *data, size_t len);

/* Called in the driver thread, under the transfer's lock, after every
 * change: the headers complete, a body chunk buffered, the end. It must
 * not call upstream functions on the transfer nor block; it may take a
 * lock of its own that is never held while calling upstream functions. */
typedef void (*upstream_notify_fn)(void *user);

struct upstream_request {
	const char *method;           /* "GET", "POST", ... */
	const char *url;              /* full URL including query */
	const char *const *headers;   /* "Name: value" lines, sent as given */
	int nheaders;
	const char *body;             /* may be NULL; must outlive the transfer */
	size_t body_len;
	long connect_timeout_ms;      /* 0: UPSTREAM_CONNECT_TIMEOUT_MS */
	long idle_timeout_s;          /* 0: UPSTREAM_IDLE_TIMEOUT_S */
	size_t buf_limit;             /* 0: UPSTREAM_BUF_LIMIT */
	upstream_tap_fn tap;          /* may be NULL */
	void *tap_user;
	upstream_notify_fn notify;    /* may be NULL */
	void *notify_user;
	int watch;                    /* 1: watch_fd is the client's socket: when its peer */
	int watch_fd;                 /* hangs up the transfer is aborted (upstream_peer_gone) */
};

/* The shared state (curl share handle + its locks). Thread-safe. */
upstream_t *upstream_new(void);
void upstream_free(upstream_t *u);   /* after every transfer was freed */

/* Let the driver thread run an outside event loop too (the gateway's
 * libmicrohttpd daemon): fd is polled for input with the transfers'
 * sockets and run(user) is called in the driver thread when it is
 * readable, when the milliseconds run() last returned have passed (0: at
 * once; -1: no timer) and at least once a second. run() may start, read
 * and free transfers (a transfer it frees is ended at once) but must not
 * wait for one. run NULL stops it; returns once the driver is out of
 * run(). */
void upstream_set_loop(upstream_t *u, int fd, int (*run)(void *user), void *user);
/* Have the driver call the loop's run() at once (any thread: e.g. after
 * resuming a libmicrohttpd connection, which in external mode wakes
 * nobody by itself). */
void upstream_loop_wake(upstream_t *u);
/* 1 in the driver thread (inside the loop's run(), a tap or a notify). */
int upstream_in_driver(const upstream_t *u);

/* Start a transfer (the driver picks it up at once). Never NULL. */
upstream_xfer_t *upstream_start(upstream_t *u, const struct upstream_request *r);

/* Wait up to timeout_ms (-1: forever) for the status and headers (0: no
 * wait). Returns
 * the HTTP status (>= 100), 0 if the transfer failed before headers
 * (see upstream_error), or -1 on timeout. */
int upstream_wait_headers(upstream_xfer_t *x, int timeout_ms);

/* Response headers of the final response, valid once upstream_wait_headers
 * returned a status. Index-based and by (case-insensitive) name. */
int upstream_header_count(const upstream_xfer_t *x);
void upstream_header_at(const upstream_xfer_t *x, int i, const char **name, const char **value);
const char *upstream_header_get(const upstream_xfer_t *x, const char *name);

/* Copy up to max body bytes into buf, waiting up to timeout_ms for some
 * (0: no wait).
 * Returns a byte count > 0, UPSTREAM_AGAIN, UPSTREAM_EOF or UPSTREAM_ERROR. */
ssize_t upstream_read(upstream_xfer_t *x, char *buf, size_t max, int timeout_ms);

/* Ask the transfer to stop (any thread). Readers then get UPSTREAM_ERROR
 * at once; the driver is woken and removes it. */
void upstream_abort(upstream_xfer_t *x);

/* Wait for the transfer to end and the driver to let go of it (call
 * upstream_abort first to end it at once). */
void upstream_join(upstream_xfer_t *x);

/* Error text ("" if none; set when the transfer ended), the timeout flag
 * (connect timeout or idle limit) and body bytes received so far. */
void upstream_error(const upstream_xfer_t *x, char *buf, size_t len);
int upstream_timed_out(const upstream_xfer_t *x);
/* 1 if the transfer was aborted because its watched socket hung up. */
int upstream_peer_gone(const upstream_xfer_t *x);
size_t upstream_body_bytes(const upstream_xfer_t *x);
/* 0 if the request surely never reached the upstream (no connection was
 * made), else 1: it may have, and may be billed. */
int upstream_maybe_sent(const upstream_xfer_t *x);

/* Copy up to max body bytes that have arrived
 * and not been read yet WITHOUT consuming them (a later upstream_read gets
 * them again). Waits up to timeout_ms until at least min bytes are
 * buffered or the body has ended. Returns the number copied (0: none yet,
 * or an empty body), or UPSTREAM_ERROR after an abort. Lets a policy look
 * at an error body or the first SSE event before the agent sees a byte. */
ssize_t upstream_peek(upstream_xfer_t *x, char *buf, size_t max, size_t min, int timeout_ms);
/* 1 once the transfer has ended (body complete or failed). */
int upstream_done(upstream_xfer_t *x);

/* Abort if still running, join the worker and free. */
void upstream_xfer_free(upstream_xfer_t *x);

#endif
