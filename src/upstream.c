/*
 * upstream: libcurl transfers, all driven by one thread per upstream_t
 * (the driver) on one curl multi handle: no thread per transfer or per
 * waiter, and one poll() serves every transfer in flight. Callers start a
 * transfer (queued to the driver, which is woken with curl_multi_wakeup)
 * and wait on the transfer's condition variable for its headers and body,
 * or, without blocking, get a notify callback from the driver at every
 * change (the gateway's libmicrohttpd threads resume a suspended
 * connection from it). All transfers share a CURLSH (connections, DNS,
 * TLS sessions); finished easy handles are reset and pooled. The write
 * callback fills a bounded buffer that the reader drains; when it is full
 * the transfer is paused (CURL_WRITEFUNC_PAUSE), which stops reading the
 * upstream socket: that is the backpressure; a reader that makes room
 * asks the driver to resume it. A transfer may name a socket to watch
 * (the agent's): when its peer hangs up the driver aborts the transfer.
 * Aborting wakes the driver, which removes the transfer at once. The
 * driver can run an outside event loop as well (upstream_set_loop: the
 * gateway's libmicrohttpd), whose descriptor it polls with curl's, so
 * that serving a request and its transfer never change threads.
 */
#include "upstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

#define POOL_MAX 64
#define DRIVE_SLICE_MS 1000   /* the driver's longest poll: idle limits are checked this often */

/* A list of transfers (the driver's queues and its live set). */
struct xlist {
	upstream_xfer_t **v;
	int n, cap;
};

struct upstream {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	/* Finished easy handles, reset, for the next transfers. */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	int npool;

	CURLM *multi;                 /* the driver's; every transfer in flight is in it */
	pthread_t driver;
	pthread_mutex_t qlock;        /* adds, kicks, stop */
	struct xlist adds;            /* started, not yet in the multi */
	struct xlist kicks;           /* need the driver: aborted, or paused with room again */
	int stop;
	/* An outside event source the driver serves too (upstream_set_loop):
	 * its fd is polled with the transfers' sockets, run() called when it
	 * is readable and at least every DRIVE_SLICE_MS. Set under qlock;
	 * loop_busy (qlock, loop_cond) while the driver is inside run(). */
	int loop_fd;
	int (*loop_run)(void *user);
	void *loop_user;
	int loop_busy;
	int loop_wake;                /* upstream_loop_wake: run() at once */
	pthread_cond_t loop_cond;
	struct xlist live;            /* driver thread only: in the multi */
	struct pollfd *wfds;          /* driver thread only: watched sockets of live */
	struct curl_waitfd *wcfds;
	upstream_xfer_t **wx;
	int wcap;
};
struct upstream_header {
	char *name;
	char *value;
};

struct upstream_xfer {
	upstream_t *up;
	CURL *curl;
	int in_multi;                 /* driver thread only */
	struct curl_slist *hdrs;
	upstream_tap_fn tap;
	void *tap_user;
	upstream_notify_fn notify;
	void *notify_user;
	int watch_fd;                 /* -1: none */
	int watch_quiet;              /* driver only: watch_fd is not polled as readable */
	size_t limit;

	pthread_mutex_t lock;
	pthread_cond_t cond;          /* any state change, for waiting threads */
	int drefs;                    /* the driver's references (queues, live set) */
	int kicked;                   /* in the kicks queue */
	int peer_gone;                /* aborted because the watched socket hung up */
	int paused;                   /* the write callback paused it: buffer full */
	int news;                     /* headers or body came in this round: notify once */
	unsigned gen;                 /* bumped by every header, body chunk and the end */
	int status;                   /* status of the final response, 0 until known */
	int headers_done;
	int done;                     /* the transfer ended (result is set) */
	int aborted;
	int idle_expired;             /* aborted for want of data */
	int64_t idle_limit_us;
	int64_t last_activity_us;     /* driver thread only */
	curl_off_t last_dl, last_ul;
	CURLcode result;
	char errbuf[CURL_ERROR_SIZE];
	char error[CURL_ERROR_SIZE + 32];
	struct upstream_header *headers;
	int nheaders;
	struct buf data;              /* body bytes not yet read ... */
	size_t rpos;                  /* ... starting here */
	size_t body_bytes;
};

static void
upstream_share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *user)
{
	upstream_t *u = user;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&u->locks[data]);
}

static void
upstream_share_unlock(CURL *h, curl_lock_data data, void *user)
{
	upstream_t *u = user;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&u->locks[data]);
}

static void *upstream_driver_main(void *arg);

upstream_t *
upstream_new(void)
{
	upstream_t *u = xcalloc(1, sizeof *u);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_global_init failed");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&u->locks[i], NULL);
	pthread_mutex_init(&u->pool_lock, NULL);
	pthread_mutex_init(&u->qlock, NULL);
	pthread_cond_init(&u->loop_cond, NULL);
	u->loop_fd = -1;
	u->share = curl_share_init();
	if (u->share == NULL)
		fatal("curl_share_init failed");
	curl_share_setopt(u->share, CURLSHOPT_LOCKFUNC, upstream_share_lock);
	curl_share_setopt(u->share, CURLSHOPT_UNLOCKFUNC, upstream_share_unlock);
	curl_share_setopt(u->share, CURLSHOPT_USERDATA, u);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	u->multi = curl_multi_init();
	if (u->multi == NULL)
		fatal("curl_multi_init failed");
	/* The limit applies to the whole shared cache: keep the connections
	 * of every transfer in flight (bench/gateway.sh). */
	curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, (long)UPSTREAM_MAX_CONNECTS);
	/* The driver takes no signal: they are the UI loop's (signalfd). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&u->driver, NULL, upstream_driver_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		fatal("cannot start the upstream driver thread");
	return u;
}

void
upstream_free(upstream_t *u)
{
	if (u == NULL)
		return;
	pthread_mutex_lock(&u->qlock);
	u->stop = 1;
	pthread_mutex_unlock(&u->qlock);
	curl_multi_wakeup(u->multi);
	pthread_join(u->driver, NULL);
	curl_multi_cleanup(u->multi);
	for (int i = 0; i < u->npool; i++)   /* before the share they point at */
		curl_easy_cleanup(u->pool[i]);
	pthread_mutex_destroy(&u->pool_lock);
	pthread_mutex_destroy(&u->qlock);
	pthread_cond_destroy(&u->loop_cond);
	curl_share_cleanup(u->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&u->locks[i]);
	free(u->adds.v);
	free(u->kicks.v);
	free(u->live.v);
	free(u->wfds);
	free(u->wcfds);
	free(u->wx);
	curl_global_cleanup();
	free(u);
}

static void
upstream_xlist_push(struct xlist *l, upstream_xfer_t *x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xreallocarray(l->v, (size_t)l->cap, sizeof *l->v);
	}
	l->v[l->n++] = x;
}

static void
upstream_xlist_del(struct xlist *l, upstream_xfer_t *x)
{
	for (int i = 0; i < l->n; i++) {
		if (l->v[i] == x) {
			l->v[i] = l->v[--l->n];
			return;
		}
	}
}

int
upstream_in_driver(const upstream_t *u)
{
	return pthread_equal(pthread_self(), u->driver);
}

/* Hand x to the driver (queue q: adds or kicks) and wake it (the driver
 * itself, inside the loop's run(), looks at its queues before polling). */
static void
upstream_queue(upstream_xfer_t *x, int kick)
{
	upstream_t *u = x->up;
	pthread_mutex_lock(&u->qlock);
	upstream_xlist_push(kick ? &u->kicks : &u->adds, x);
	pthread_mutex_unlock(&u->qlock);
	if (!upstream_in_driver(u))
		curl_multi_wakeup(u->multi);
}

void
upstream_loop_wake(upstream_t *u)
{
	pthread_mutex_lock(&u->qlock);
	u->loop_wake = 1;
	pthread_mutex_unlock(&u->qlock);
	if (!upstream_in_driver(u))
		curl_multi_wakeup(u->multi);
}

void
upstream_set_loop(upstream_t *u, int fd, int (*run)(void *user), void *user)
{
	pthread_mutex_lock(&u->qlock);
	u->loop_fd = run != NULL ? fd : -1;
	u->loop_run = run;
	u->loop_user = user;
	pthread_mutex_unlock(&u->qlock);
	curl_multi_wakeup(u->multi);
	pthread_mutex_lock(&u->qlock);
	while (u->loop_busy && !upstream_in_driver(u))   /* out of the old run() */
		pthread_cond_wait(&u->loop_cond, &u->qlock);
	pthread_mutex_unlock(&u->qlock);
}

/* Ask the driver to look at x (an abort, room in a paused buffer): once.
 * x->lock held. */
static void
upstream_kick_locked(upstream_xfer_t *x)
{
	if (x->kicked || x->done)
		return;
	x->kicked = 1;
	x->drefs++;
	upstream_queue(x, 1);
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
static struct timespec
upstream_deadline_in(int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int upstream_xfer_wait(upstream_xfer_t *x, const struct timespec *until, int timeout_ms);

static void
upstream_headers_clear(upstream_xfer_t *x)
{
	for (int i = 0; i < x->nheaders; i++) {
		free(x->headers[i].name);
		free(x->headers[i].value);
	}
	free(x->headers);
	x->headers = NULL;
	x->nheaders = 0;
}

static void
upstream_header_line(upstream_xfer_t *x, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after 1xx, or the first): start over. */
		upstream_headers_clear(x);
		const char *sp = memchr(line, ' ', len);
		x->status = sp ? atoi(sp + 1) : 0;
		return;
	}
	if (len == 0) {
		if (x->status >= 200 && !x->headers_done) {
			x->headers_done = 1;
			x->gen++;
			x->news = 1;   /* told after this round of curl work */
			pthread_cond_broadcast(&x->cond);
		}
		return;
	}
	const char *colon = memchr(line, ':', len);
	if (colon == NULL || line[0] == ' ' || line[0] == '\t')
		return;   /* not a header; obs-fold continuations are dropped */
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	x->headers = xreallocarray(x->headers, (size_t)x->nheaders + 1, sizeof *x->headers);
	x->headers[x->nheaders].name = xstrndup(line, (size_t)(colon - line));
	x->headers[x->nheaders].value = xstrndup(v, (size_t)(end - v));
	x->nheaders++;
}

static size_t
upstream_on_header(char *data, size_t size, size_t n, void *user)
{
	upstream_xfer_t *x = user;
	size_t len = size * n;
	pthread_mutex_lock(&x->lock);
	if (!x->headers_done)   /* later lines are trailers: ignored */
		upstream_header_line(x, data, len);
	int stop = x->aborted;
	pthread_mutex_unlock(&x->lock);
	return stop ? 0 : len;
}

static size_t
upstream_on_write(char *data, size_t size, size_t n, void *user)
{
	upstream_xfer_t *x = user;
	size_t len = size * n;
	pthread_mutex_lock(&x->lock);
	if (x->aborted) {
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	/* Backpressure: pause while the buffer is full; curl keeps this
	 * chunk and hands it over again when the next wait resumes us. */
	if (x->data.len - x->rpos >= x->limit) {
		x->paused = 1;
		pthread_mutex_unlock(&x->lock);
		return CURL_WRITEFUNC_PAUSE;
	}
	/* The tap runs under the lock and never after an abort: once
	 * upstream_abort() returns, the tap's state is the caller's. */
	if (x->tap != NULL)
		x->tap(x->tap_user, x, data, len);
	x->last_activity_us = util_now_us();   /* a slow agent is not an idle upstream */
	if (x->rpos > 0 && (x->rpos == x->data.len || x->rpos >= x->limit / 4)) {
		buf_consume(&x->data, x->rpos);   /* keep the buffer bounded */
		x->rpos = 0;
	}
	buf_append(&x->data, data, len);
	x->body_bytes += len;
	x->gen++;
	x->news = 1;   /* told after this round of curl work */
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	return len;
}

/* Called by curl about once a second even when nothing moves: notices an
 * abort request and the idle limit (no byte either way for too long). */
static int
upstream_on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	upstream_xfer_t *x = user;
	int64_t now = util_now_us();
	if (dlnow != x->last_dl || ulnow != x->last_ul) {
		x->last_dl = dlnow;
		x->last_ul = ulnow;
		x->last_activity_us = now;
	}
	if (now - x->last_activity_us >= x->idle_limit_us) {
		pthread_mutex_lock(&x->lock);
		x->idle_expired = 1;
		pthread_mutex_unlock(&x->lock);
		return 1;
	}
	return __atomic_load_n(&x->aborted, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* The transfer ended with rc (its handle is out of the multi): publish
 * that. Called by the driver. */
static void
upstream_xfer_finish(upstream_xfer_t *x, CURLcode rc)
{
	pthread_mutex_lock(&x->lock);
	x->done = 1;
	x->gen++;
	x->result = rc;
	if (rc != CURLE_OK) {
		const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
		if (x->idle_expired)
			snprintf(x->error, sizeof x->error, "no data for %lld s",
			    (long long)(x->idle_limit_us / 1000000));
		else if (x->peer_gone)
			snprintf(x->error, sizeof x->error, "client disconnected");
		else if (x->aborted)
			snprintf(x->error, sizeof x->error, "aborted");
		else
			snprintf(x->error, sizeof x->error, "%s", why);
	}
	if (!x->headers_done)
		x->status = 0;
	if (x->notify != NULL)
		x->notify(x->notify_user);
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

/* The driver lets go of x (it was in a queue or the live set). */
static void
upstream_xfer_unref(upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	x->drefs--;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

/* Driver: end a live transfer now (aborted, or its watched peer left). */
static void
upstream_driver_end(upstream_t *u, upstream_xfer_t *x, CURLcode rc)
{
	if (x->in_multi)
		curl_multi_remove_handle(u->multi, x->curl);
	x->in_multi = 0;
	upstream_xlist_del(&u->live, x);
	upstream_xfer_finish(x, rc);
	upstream_xfer_unref(x);
}

static void upstream_driver_peer_gone(upstream_t *u, upstream_xfer_t *x);

/* What poll() says of a watched socket whose peer hung up. */
#define UPSTREAM_HANGUP (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)

/* Has the peer of a watched socket hung up? (fd < 0: nothing watched) */
static int
upstream_watch_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	if (fd < 0 || poll(&p, 1, 0) <= 0)
		return 0;
	return (p.revents & UPSTREAM_HANGUP) != 0;
}

/* Driver: new transfers into the multi. */
static void
upstream_driver_add(upstream_t *u, upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	int aborted = x->aborted;
	pthread_mutex_unlock(&x->lock);
	upstream_xlist_push(&u->live, x);   /* the add's reference moves here */
	if (!aborted && upstream_watch_gone(x->watch_fd)) {
		/* the agent left while its request waited (a pool thread's
		 * pacing or backoff): never send it */
		upstream_driver_peer_gone(u, x);
		return;
	}
	CURLMcode mc = aborted ? CURLM_OK : curl_multi_add_handle(u->multi, x->curl);
	if (aborted || mc != CURLM_OK) {
		if (mc != CURLM_OK)
			snprintf(x->errbuf, sizeof x->errbuf, "%s", curl_multi_strerror(mc));
		upstream_driver_end(u, x, aborted ? CURLE_ABORTED_BY_CALLBACK : CURLE_FAILED_INIT);
		return;
	}
	x->in_multi = 1;
}

/* Driver: a kicked transfer: remove it if aborted, resume it if paused
 * and its reader made room. */
static void
upstream_driver_kick(upstream_t *u, upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	x->kicked = 0;
	int aborted = x->aborted && !x->done;
	int resume = !aborted && !x->done && x->paused && x->data.len - x->rpos < x->limit;
	if (resume)
		x->paused = 0;
	pthread_mutex_unlock(&x->lock);
	if (aborted && x->in_multi)
		upstream_driver_end(u, x, CURLE_ABORTED_BY_CALLBACK);
	else if (resume && x->in_multi)
		curl_easy_pause(x->curl, CURLPAUSE_CONT);   /* may call on_write */
	upstream_xfer_unref(x);   /* the kick's reference */
}

/* Driver: take the queues and act on them. 1 when told to stop. */
static int
upstream_driver_queues(upstream_t *u)
{
	pthread_mutex_lock(&u->qlock);
	struct xlist adds = u->adds, kicks = u->kicks;
	int stop = u->stop;
	u->adds = (struct xlist){ 0 };
	u->kicks = (struct xlist){ 0 };
	pthread_mutex_unlock(&u->qlock);
	for (int i = 0; i < adds.n; i++)
		upstream_driver_add(u, adds.v[i]);
	for (int i = 0; i < kicks.n; i++)
		upstream_driver_kick(u, kicks.v[i]);
	free(adds.v);
	free(kicks.v);
	return stop;
}

/* Driver: finish the transfers curl says ended. */
static void
upstream_driver_reap(upstream_t *u)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(u->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		upstream_xfer_t *x = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			upstream_driver_end(u, x, rc);
	}
}

/* Driver: a watched socket whose peer hung up aborts its transfer. */
static void
upstream_driver_peer_gone(upstream_t *u, upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	x->peer_gone = 1;
	__atomic_store_n(&x->aborted, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&x->lock);
	upstream_driver_end(u, x, CURLE_ABORTED_BY_CALLBACK);
}

/* Driver: wait for the sockets curl waits for and the watched ones (as
 * readable: a hang-up reads as end of file). A watched socket that is
 * readable but still open has a pipelined request: it is then only
 * checked for a hang-up after each poll. */
static int
upstream_driver_poll(upstream_t *u, int loop_fd, int wait_ms)
{
	int nw = 0, quiet = 0;
	if (u->wcap < u->live.n + 1) {
		u->wcap = u->live.n + 16;
		u->wfds = xreallocarray(u->wfds, (size_t)u->wcap, sizeof *u->wfds);
		u->wcfds = xreallocarray(u->wcfds, (size_t)u->wcap, sizeof *u->wcfds);
		u->wx = xreallocarray(u->wx, (size_t)u->wcap, sizeof *u->wx);
	}
	for (int i = 0; i < u->live.n; i++) {
		upstream_xfer_t *x = u->live.v[i];
		if (x->watch_fd < 0)
			continue;
		u->wcfds[nw] = (struct curl_waitfd){ .fd = x->watch_fd,
			.events = x->watch_quiet ? 0 : CURL_WAIT_POLLIN };
		quiet |= x->watch_quiet;
		u->wx[nw++] = x;
	}
	int nfd = nw, loop_ready = 0;
	if (loop_fd >= 0)
		u->wcfds[nfd++] = (struct curl_waitfd){ .fd = loop_fd, .events = CURL_WAIT_POLLIN };
	int n = 0;
	curl_multi_poll(u->multi, u->wcfds, (unsigned)nfd, wait_ms, &n);
	if (loop_fd >= 0)
		loop_ready = u->wcfds[nw].revents != 0 || n == 0;   /* its timeouts too */
	int any = quiet;
	for (int i = 0; i < nw; i++)
		any |= u->wcfds[i].revents != 0;
	if (!any)
		return loop_ready;
	for (int i = 0; i < nw; i++)
		u->wfds[i] = (struct pollfd){ .fd = u->wcfds[i].fd, .events = POLLRDHUP };
	if (poll(u->wfds, (nfds_t)nw, 0) < 0)
		return loop_ready;
	for (int i = 0; i < nw; i++) {
		if (u->wfds[i].revents & UPSTREAM_HANGUP)
			upstream_driver_peer_gone(u, u->wx[i]);
		else if (u->wcfds[i].revents != 0)
			u->wx[i]->watch_quiet = 1;
	}
	return loop_ready;
}

/* Driver: one notify per transfer for all that came in this round (a
 * burst of chunks wakes a parked reader once). A transfer resumed in
 * upstream_driver_kick may have news too: it is still live here. */
static void
upstream_driver_news(upstream_t *u)
{
	for (int i = 0; i < u->live.n; i++) {
		upstream_xfer_t *x = u->live.v[i];
		pthread_mutex_lock(&x->lock);
		if (x->news) {
			x->news = 0;
			if (x->notify != NULL)
				x->notify(x->notify_user);
		}
		pthread_mutex_unlock(&x->lock);
	}
}

static void *
upstream_driver_main(void *arg)
{
	upstream_t *u = arg;
	int loop_ready = 0, loop_wait = -1;
	for (;;) {
		int running;
		int stop = upstream_driver_queues(u);
		if (stop && u->live.n == 0)
			break;
		curl_multi_perform(u->multi, &running);
		upstream_driver_reap(u);
		upstream_driver_news(u);
		pthread_mutex_lock(&u->qlock);
		int loop_fd = u->loop_fd;
		int (*run)(void *) = u->loop_run;
		void *user = u->loop_user;
		loop_ready |= u->loop_wake;
		u->loop_wake = 0;
		u->loop_busy = loop_ready && run != NULL;
		pthread_mutex_unlock(&u->qlock);
		if (u->loop_busy) {
			/* the outside loop's turn; what it starts is sent before polling */
			loop_wait = run(user);
			pthread_mutex_lock(&u->qlock);
			u->loop_busy = 0;
			pthread_cond_broadcast(&u->loop_cond);
			pthread_mutex_unlock(&u->qlock);
			loop_ready = 0;
			continue;
		}
		int wait_ms = loop_wait >= 0 && loop_wait < DRIVE_SLICE_MS ? loop_wait : DRIVE_SLICE_MS;
		loop_ready = upstream_driver_poll(u, loop_fd, wait_ms) || (loop_fd >= 0 && loop_wait == 0);
	}
	return NULL;
}

/* Wait for a change of x (lock held) until the deadline; timeout_ms < 0 =
 * forever. Returns 0 after a change (or a wake-up), ETIMEDOUT when the
 * deadline passed. */
static int
upstream_xfer_wait(upstream_xfer_t *x, const struct timespec *until, int timeout_ms)
{
	if (timeout_ms < 0)
		return pthread_cond_wait(&x->cond, &x->lock);
	return pthread_cond_timedwait(&x->cond, &x->lock, until);
}

static int
upstream_has_header(const struct upstream_request *r, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < r->nheaders; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
			return 1;
	return 0;
}

/* Send the caller's headers as given: switch off curl's own defaults. */
static struct curl_slist *
upstream_build_headers(const struct upstream_request *r)
{
	static const char *const defaults[] = { "Accept", "Content-Type", "Expect" };
	struct curl_slist *l = NULL;
	for (int i = 0; i < r->nheaders; i++)
		l = curl_slist_append(l, r->headers[i]);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(defaults); i++) {
		if (!upstream_has_header(r, defaults[i])) {
			char line[32];
			snprintf(line, sizeof line, "%s:", defaults[i]);
			l = curl_slist_append(l, line);
		}
	}
	return l;
}

static void
upstream_set_method(CURL *c, const struct upstream_request *r)
{
	const char *m = r->method ? r->method : "GET";
	int post = strcmp(m, "POST") == 0;
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (r->body_len > 0 || post || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		if (!post)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	}
}

static void
upstream_xfer_setup(upstream_xfer_t *x, const struct upstream_request *r)
{
	CURL *c = x->curl;
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_SHARE, x->up->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    r->connect_timeout_ms > 0 ? r->connect_timeout_ms : (long)UPSTREAM_CONNECT_TIMEOUT_MS);
	/* No total timeout (streams last minutes); an idle limit instead,
	 * checked in on_progress (curl's LOW_SPEED_* averages over seconds,
	 * so a just-sent body would hide an idle upstream). */
	x->idle_limit_us = (int64_t)(r->idle_timeout_s > 0 ? r->idle_timeout_s :
	    UPSTREAM_IDLE_TIMEOUT_S) * 1000000;
	x->last_activity_us = util_now_us();
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, upstream_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, upstream_on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, upstream_on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	x->hdrs = upstream_build_headers(r);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	upstream_set_method(c, r);
}

upstream_xfer_t *
upstream_start(upstream_t *u, const struct upstream_request *r)
{
	upstream_xfer_t *x = xcalloc(1, sizeof *x);
	pthread_condattr_t ca;
	x->up = u;
	x->tap = r->tap;
	x->tap_user = r->tap_user;
	x->notify = r->notify;
	x->notify_user = r->notify_user;
	x->watch_fd = r->watch ? r->watch_fd : -1;
	x->limit = r->buf_limit > 0 ? r->buf_limit : UPSTREAM_BUF_LIMIT;
	pthread_mutex_init(&x->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&u->pool_lock);
	x->curl = u->npool > 0 ? u->pool[--u->npool] : NULL;
	pthread_mutex_unlock(&u->pool_lock);
	if (x->curl == NULL)
		x->curl = curl_easy_init();
	if (x->curl == NULL)
		fatal("curl_easy_init failed");
	upstream_xfer_setup(x, r);
	curl_easy_setopt(x->curl, CURLOPT_PRIVATE, (char *)x);
	x->drefs = 1;   /* the add's; no lock: nobody else knows x yet */
	upstream_queue(x, 0);
	return x;
}

int
upstream_wait_headers(upstream_xfer_t *x, int timeout_ms)
{
	struct timespec until = upstream_deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	int ret = -1;
	pthread_mutex_lock(&x->lock);
	while (!x->headers_done && !x->done && timeout_ms != 0) {
		if (upstream_xfer_wait(x, &until, timeout_ms) == ETIMEDOUT)
			break;
	}
	if (x->headers_done)
		ret = x->status;
	else if (x->done)
		ret = 0;
	pthread_mutex_unlock(&x->lock);
	return ret;
}

int
upstream_header_count(const upstream_xfer_t *x)
{
	return x->headers_done ? x->nheaders : 0;
}

void
upstream_header_at(const upstream_xfer_t *x, int i, const char **name, const char **value)
{
	*name = x->headers[i].name;
	*value = x->headers[i].value;
}

const char *
upstream_header_get(const upstream_xfer_t *x, const char *name)
{
	if (!x->headers_done)
		return NULL;
	for (int i = 0; i < x->nheaders; i++)
		if (strcasecmp(x->headers[i].name, name) == 0)
			return x->headers[i].value;
	return NULL;
}

ssize_t
upstream_read(upstream_xfer_t *x, char *buf, size_t max, int timeout_ms)
{
	struct timespec until = upstream_deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	ssize_t ret = UPSTREAM_AGAIN;
	pthread_mutex_lock(&x->lock);
	for (;;) {
		size_t avail = x->data.len - x->rpos;
		if (x->aborted) {
			ret = UPSTREAM_ERROR;
		} else if (avail > 0) {
			size_t n = UTIL_MIN(avail, max);
			memcpy(buf, x->data.data + x->rpos, n);
			x->rpos += n;
			if (x->paused && x->data.len - x->rpos < x->limit)
				upstream_kick_locked(x);   /* room: the driver resumes it */
			ret = (ssize_t)n;
		} else if (x->done) {
			ret = x->result == CURLE_OK ? UPSTREAM_EOF : UPSTREAM_ERROR;
		} else if (timeout_ms != 0 && upstream_xfer_wait(x, &until, timeout_ms) != ETIMEDOUT) {
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&x->lock);
	return ret;
}

ssize_t
upstream_peek(upstream_xfer_t *x, char *buf, size_t max, size_t min, int timeout_ms)
{
	struct timespec until = upstream_deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	ssize_t ret;
	pthread_mutex_lock(&x->lock);
	for (;;) {
		size_t avail = x->data.len - x->rpos;
		if (x->aborted) {
			ret = UPSTREAM_ERROR;
			break;
		}
		if (avail >= min || avail >= max || x->done || timeout_ms == 0 ||
		    upstream_xfer_wait(x, &until, timeout_ms) == ETIMEDOUT) {
			size_t n = UTIL_MIN(x->data.len - x->rpos, max);
			if (n > 0)
				memcpy(buf, x->data.data + x->rpos, n);
			ret = (ssize_t)n;
			break;
		}
	}
	pthread_mutex_unlock(&x->lock);
	return ret;
}

int
upstream_done(upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	int d = x->done;
	pthread_mutex_unlock(&x->lock);
	return d;
}

void
upstream_abort(upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	__atomic_store_n(&x->aborted, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&x->cond);
	upstream_kick_locked(x);   /* the driver removes it at once */
	pthread_mutex_unlock(&x->lock);
}

void
upstream_error(const upstream_xfer_t *x, char *buf, size_t len)
{
	upstream_xfer_t *mx = (upstream_xfer_t *)x;
	pthread_mutex_lock(&mx->lock);
	snprintf(buf, len, "%s", x->error);
	pthread_mutex_unlock(&mx->lock);
}

int
upstream_peer_gone(const upstream_xfer_t *x)
{
	upstream_xfer_t *mx = (upstream_xfer_t *)x;
	pthread_mutex_lock(&mx->lock);
	int g = x->peer_gone;
	pthread_mutex_unlock(&mx->lock);
	return g;
}

int
upstream_timed_out(const upstream_xfer_t *x)
{
	return x->done && (x->result == CURLE_OPERATION_TIMEDOUT || x->idle_expired);
}

int
upstream_maybe_sent(const upstream_xfer_t *x)
{
	upstream_xfer_t *mx = (upstream_xfer_t *)x;
	pthread_mutex_lock(&mx->lock);
	CURLcode r = x->result;
	int done = x->done;
	pthread_mutex_unlock(&mx->lock);
	if (!done)
		return 1;   /* cut short by us while it ran: it may have gone out */
	return !(r == CURLE_COULDNT_RESOLVE_HOST || r == CURLE_COULDNT_RESOLVE_PROXY ||
	    r == CURLE_COULDNT_CONNECT || r == CURLE_FAILED_INIT || r == CURLE_UNSUPPORTED_PROTOCOL ||
	    r == CURLE_URL_MALFORMAT);
}

size_t
upstream_body_bytes(const upstream_xfer_t *x)
{
	return x->body_bytes;
}

/* upstream_join in the driver thread (inside the loop's run()): nobody
 * else will end x, so end it here: out of the queues and the multi. */
static void
upstream_join_in_driver(upstream_xfer_t *x)
{
	upstream_t *u = x->up;
	int refs = 0;
	pthread_mutex_lock(&u->qlock);
	for (struct xlist *l = &u->adds; l != NULL; l = l == &u->adds ? &u->kicks : NULL) {
		for (int i = 0; i < l->n; i++) {
			if (l->v[i] == x) {
				l->v[i--] = l->v[--l->n];
				refs++;
			}
		}
	}
	pthread_mutex_unlock(&u->qlock);
	int live = 0;
	for (int i = 0; i < u->live.n && !live; i++)
		live = u->live.v[i] == x;
	pthread_mutex_lock(&x->lock);
	x->kicked = 0;
	x->drefs -= refs;
	pthread_mutex_unlock(&x->lock);
	if (live)
		upstream_driver_end(u, x, CURLE_ABORTED_BY_CALLBACK);
	else if (!x->done)
		upstream_xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
}

void
upstream_join(upstream_xfer_t *x)
{
	if (upstream_in_driver(x->up)) {
		pthread_mutex_lock(&x->lock);
		int pending = !x->done || x->drefs > 0;
		pthread_mutex_unlock(&x->lock);
		if (pending)
			upstream_join_in_driver(x);
	}
	pthread_mutex_lock(&x->lock);
	while (!x->done || x->drefs > 0)
		upstream_xfer_wait(x, NULL, -1);
	pthread_mutex_unlock(&x->lock);
}

void
upstream_xfer_free(upstream_xfer_t *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	int done = x->done;
	pthread_mutex_unlock(&x->lock);
	if (!done)
		upstream_abort(x);
	upstream_join(x);
	upstream_t *u = x->up;
	curl_easy_reset(x->curl);   /* forgets our callbacks, buffers and headers */
	pthread_mutex_lock(&u->pool_lock);
	if (u->npool < POOL_MAX) {
		u->pool[u->npool++] = x->curl;
		x->curl = NULL;
	}
	pthread_mutex_unlock(&u->pool_lock);
	if (x->curl != NULL)
		curl_easy_cleanup(x->curl);
	curl_slist_free_all(x->hdrs);
	upstream_headers_clear(x);
	buf_free(&x->data);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
