/*
 * upstream: one libcurl easy transfer per worker thread at a time, sharing
 * a CURLSH (connections, DNS, TLS sessions); finished easy handles are
 * reset and pooled for the next transfers, and so are the worker threads:
 * a finished worker waits (on its own condition variable) for the next
 * transfer and ends after UPSTREAM_WORKER_IDLE_MS without one, so a busy
 * gateway creates no thread per request. The worker fills a bounded buffer
 * from the curl write callback; the reader drains it. A full buffer blocks
 * the write callback (and so the upstream socket): that is the
 * backpressure. Aborting wakes both sides; curl notices through the
 * progress callback or the next write.
 */
#include "upstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

#define POOL_MAX 64
#define UPSTREAM_STACK_SIZE (1u << 20)
#define UPSTREAM_WORKER_IDLE_MS 30000   /* an idle worker thread ends after this */

/* A long-lived worker thread: runs one transfer (job) at a time. */
struct worker {
	upstream_t *up;
	pthread_t thread;
	pthread_cond_t cond;          /* a job was handed over, or stop */
	upstream_xfer_t *job;         /* under up->wlock */
	int exited;                   /* ended by itself: to be joined */
	struct worker *next;          /* all workers */
	struct worker *next_idle;     /* idle workers (a stack: the warmest first) */
};

struct upstream {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	/* Finished easy handles, reset, for the next transfers: a new handle
	 * costs an allocation and, on its first perform, a private multi
	 * with a wake-up socketpair. */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	int npool;
	/* Worker threads (all of them, and the idle ones waiting for a job). */
	pthread_mutex_t wlock;
	struct worker *workers;
	struct worker *idle;
	int nworkers;                 /* alive */
	int nexited;                  /* ended by themselves, not joined yet */
	int stopping;
};

struct upstream_header {
	char *name;
	char *value;
};

struct upstream_xfer {
	upstream_t *up;
	CURL *curl;
	struct curl_slist *hdrs;
	upstream_tap_fn tap;
	void *tap_user;
	size_t limit;

	pthread_mutex_t lock;
	pthread_cond_t cond;          /* any state change: headers, data, space, done */
	int status;                   /* status of the final response, 0 until known */
	int headers_done;
	int done;                     /* curl_easy_perform returned: the worker is done with x */
	int aborted;
	int idle_expired;             /* aborted for want of data */
	int64_t idle_limit_us;
	int64_t last_activity_us;     /* worker thread only */
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
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *user)
{
	upstream_t *u = user;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&u->locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *user)
{
	upstream_t *u = user;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&u->locks[data]);
}

upstream_t *
upstream_new(void)
{
	upstream_t *u = xcalloc(1, sizeof *u);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_global_init failed");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&u->locks[i], NULL);
	pthread_mutex_init(&u->pool_lock, NULL);
	pthread_mutex_init(&u->wlock, NULL);
	u->share = curl_share_init();
	if (u->share == NULL)
		fatal("curl_share_init failed");
	curl_share_setopt(u->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(u->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(u->share, CURLSHOPT_USERDATA, u);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return u;
}

static void workers_stop(upstream_t *u);

void
upstream_free(upstream_t *u)
{
	if (u == NULL)
		return;
	workers_stop(u);
	for (int i = 0; i < u->npool; i++)   /* before the share they point at */
		curl_easy_cleanup(u->pool[i]);
	pthread_mutex_destroy(&u->pool_lock);
	pthread_mutex_destroy(&u->wlock);
	curl_share_cleanup(u->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&u->locks[i]);
	curl_global_cleanup();
	free(u);
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
static struct timespec
deadline_in(int timeout_ms)
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

/* Wait on x->cond (lock held) until the deadline; timeout_ms < 0 = forever.
 * Returns 0 on wake-up, ETIMEDOUT when the deadline passed. */
static int
xfer_wait(upstream_xfer_t *x, const struct timespec *until, int timeout_ms)
{
	if (timeout_ms < 0)
		return pthread_cond_wait(&x->cond, &x->lock);
	return pthread_cond_timedwait(&x->cond, &x->lock, until);
}

static void
headers_clear(upstream_xfer_t *x)
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
header_line(upstream_xfer_t *x, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after 1xx, or the first): start over. */
		headers_clear(x);
		const char *sp = memchr(line, ' ', len);
		x->status = sp ? atoi(sp + 1) : 0;
		return;
	}
	if (len == 0) {
		if (x->status >= 200 && !x->headers_done) {
			x->headers_done = 1;
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
on_header(char *data, size_t size, size_t n, void *user)
{
	upstream_xfer_t *x = user;
	size_t len = size * n;
	pthread_mutex_lock(&x->lock);
	if (!x->headers_done)   /* later lines are trailers: ignored */
		header_line(x, data, len);
	int stop = x->aborted;
	pthread_mutex_unlock(&x->lock);
	return stop ? 0 : len;
}

static size_t
on_write(char *data, size_t size, size_t n, void *user)
{
	upstream_xfer_t *x = user;
	size_t len = size * n;
	pthread_mutex_lock(&x->lock);
	/* The tap runs under the lock and never after an abort: once
	 * upstream_abort() returns, the tap's state is the caller's. */
	if (x->tap != NULL && !x->aborted)
		x->tap(x->tap_user, x, data, len);
	/* Backpressure: wait for the reader while the buffer is full. */
	while (!x->aborted && x->data.len - x->rpos >= x->limit) {
		struct timespec until = deadline_in(1000);
		xfer_wait(x, &until, 1000);
	}
	if (x->aborted) {
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	x->last_activity_us = util_now_us();   /* a slow agent is not an idle upstream */
	if (x->rpos > 0 && (x->rpos == x->data.len || x->rpos >= x->limit / 4)) {
		buf_consume(&x->data, x->rpos);   /* keep the buffer bounded */
		x->rpos = 0;
	}
	buf_append(&x->data, data, len);
	x->body_bytes += len;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	return len;
}

/* Called by curl about once a second even when nothing moves: notices an
 * abort request and the idle limit (no byte either way for too long). */
static int
on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
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

/* The transfer ended with rc: publish that. After the final unlock the
 * worker never touches x again: the caller may free it once done is set. */
static void
xfer_finish(upstream_xfer_t *x, CURLcode rc)
{
	pthread_mutex_lock(&x->lock);
	x->done = 1;
	x->result = rc;
	if (rc != CURLE_OK) {
		const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
		if (x->idle_expired)
			snprintf(x->error, sizeof x->error, "no data for %lld s",
			    (long long)(x->idle_limit_us / 1000000));
		else if (x->aborted)
			snprintf(x->error, sizeof x->error, "aborted");
		else
			snprintf(x->error, sizeof x->error, "%s", why);
	}
	if (!x->headers_done)
		x->status = 0;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

/* Take w off the idle stack (wlock held). */
static void
idle_remove(upstream_t *u, struct worker *w)
{
	for (struct worker **p = &u->idle; *p != NULL; p = &(*p)->next_idle) {
		if (*p == w) {
			*p = w->next_idle;
			return;
		}
	}
}

/* A worker: run the job it was started with, then wait for the next one
 * on the idle stack; end after UPSTREAM_WORKER_IDLE_MS without one. It
 * goes back on the idle stack before it says the transfer is done, so the
 * next request of a sequence finds it there. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	upstream_t *u = w->up;
	pthread_mutex_lock(&u->wlock);
	for (;;) {
		upstream_xfer_t *x = w->job;
		if (x != NULL) {
			pthread_mutex_unlock(&u->wlock);
			CURLcode rc = curl_easy_perform(x->curl);
			pthread_mutex_lock(&u->wlock);
			w->job = NULL;
			if (!u->stopping) {
				w->next_idle = u->idle;
				u->idle = w;
			}
			pthread_mutex_unlock(&u->wlock);
			xfer_finish(x, rc);
			pthread_mutex_lock(&u->wlock);
			continue;   /* a job may have come meanwhile */
		}
		if (u->stopping) {
			idle_remove(u, w);
			break;
		}
		struct timespec until = deadline_in(UPSTREAM_WORKER_IDLE_MS);
		int rc = 0;
		while (w->job == NULL && !u->stopping && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&w->cond, &u->wlock, &until);
		if (w->job == NULL) {   /* stopping, or idle too long */
			idle_remove(u, w);
			break;
		}
	}
	w->exited = 1;
	u->nworkers--;
	u->nexited++;
	pthread_mutex_unlock(&u->wlock);
	return NULL;
}

static void
worker_free(struct worker *w)
{
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* Take the workers that ended by themselves off the list (wlock held). */
static struct worker *
workers_take_exited(upstream_t *u)
{
	struct worker *dead = NULL;
	for (struct worker **p = &u->workers; *p != NULL && u->nexited > 0; ) {
		struct worker *w = *p;
		if (w->exited) {
			*p = w->next;
			w->next = dead;
			dead = w;
			u->nexited--;
		} else {
			p = &w->next;
		}
	}
	return dead;
}

/* Hand x to an idle worker, or start a new one. 0, or -1 when no thread
 * can be started. */
static int
worker_dispatch(upstream_t *u, upstream_xfer_t *x)
{
	struct worker *dead = NULL;
	pthread_mutex_lock(&u->wlock);
	if (u->nexited > 0)
		dead = workers_take_exited(u);
	struct worker *w = u->idle;
	if (w != NULL) {
		u->idle = w->next_idle;
		w->job = x;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&u->wlock);
	} else {
		pthread_mutex_unlock(&u->wlock);
		w = xcalloc(1, sizeof *w);
		w->up = u;
		w->job = x;
		pthread_condattr_t ca;   /* worker_main's timed wait is monotonic */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cond, &ca);
		pthread_condattr_destroy(&ca);
		/* glibc caches 40 MiB of freed thread stacks: with the default
		 * 8 MiB only 5. 1 MiB is plenty for curl, TLS and the tap. */
		pthread_attr_t ta;
		pthread_attr_init(&ta);
		pthread_attr_setstacksize(&ta, UPSTREAM_STACK_SIZE);
		pthread_mutex_lock(&u->wlock);
		int rc = pthread_create(&w->thread, &ta, worker_main, w);
		if (rc == 0) {
			w->next = u->workers;
			u->workers = w;
			u->nworkers++;
		}
		pthread_mutex_unlock(&u->wlock);
		pthread_attr_destroy(&ta);
		if (rc != 0) {
			pthread_cond_destroy(&w->cond);
			free(w);
			w = NULL;
		}
	}
	while (dead != NULL) {   /* they have ended: joining is quick */
		struct worker *next = dead->next;
		worker_free(dead);
		dead = next;
	}
	return w != NULL ? 0 : -1;
}

/* End every worker (all idle: every transfer was freed) and join them. */
static void
workers_stop(upstream_t *u)
{
	pthread_mutex_lock(&u->wlock);
	u->stopping = 1;
	for (struct worker *w = u->workers; w != NULL; w = w->next)
		pthread_cond_signal(&w->cond);
	struct worker *all = u->workers;
	u->workers = NULL;
	pthread_mutex_unlock(&u->wlock);
	while (all != NULL) {
		struct worker *next = all->next;
		worker_free(all);
		all = next;
	}
}

int
upstream_workers(upstream_t *u)
{
	pthread_mutex_lock(&u->wlock);
	int n = u->nworkers;
	pthread_mutex_unlock(&u->wlock);
	return n;
}

static int
has_header(const struct upstream_request *r, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < r->nheaders; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
			return 1;
	return 0;
}

/* Send the caller's headers as given: switch off curl's own defaults. */
static struct curl_slist *
build_headers(const struct upstream_request *r)
{
	static const char *const defaults[] = { "Accept", "Content-Type", "Expect" };
	struct curl_slist *l = NULL;
	for (int i = 0; i < r->nheaders; i++)
		l = curl_slist_append(l, r->headers[i]);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(defaults); i++) {
		if (!has_header(r, defaults[i])) {
			char line[32];
			snprintf(line, sizeof line, "%s:", defaults[i]);
			l = curl_slist_append(l, line);
		}
	}
	return l;
}

static void
set_method(CURL *c, const struct upstream_request *r)
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
xfer_setup(upstream_xfer_t *x, const struct upstream_request *r)
{
	CURL *c = x->curl;
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_SHARE, x->up->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	/* Each easy_perform has a private multi whose cache limit (default 5)
	 * applies to the whole shared cache: with more transfers in flight,
	 * every returned connection closed another one (bench/gateway.sh). */
	curl_easy_setopt(c, CURLOPT_MAXCONNECTS, (long)UPSTREAM_MAX_CONNECTS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    r->connect_timeout_ms > 0 ? r->connect_timeout_ms : (long)UPSTREAM_CONNECT_TIMEOUT_MS);
	/* No total timeout (streams last minutes); an idle limit instead,
	 * checked in on_progress (curl's LOW_SPEED_* averages over seconds,
	 * so a just-sent body would hide an idle upstream). */
	x->idle_limit_us = (int64_t)(r->idle_timeout_s > 0 ? r->idle_timeout_s :
	    UPSTREAM_IDLE_TIMEOUT_S) * 1000000;
	x->last_activity_us = util_now_us();
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	x->hdrs = build_headers(r);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	set_method(c, r);
}

upstream_xfer_t *
upstream_start(upstream_t *u, const struct upstream_request *r)
{
	upstream_xfer_t *x = xcalloc(1, sizeof *x);
	pthread_condattr_t ca;
	x->up = u;
	x->tap = r->tap;
	x->tap_user = r->tap_user;
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
	xfer_setup(x, r);
	if (worker_dispatch(u, x) != 0) {
		x->done = 1;
		x->result = CURLE_FAILED_INIT;
		snprintf(x->error, sizeof x->error, "cannot start a thread");
	}
	return x;
}

int
upstream_wait_headers(upstream_xfer_t *x, int timeout_ms)
{
	struct timespec until = deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	int ret = -1;
	pthread_mutex_lock(&x->lock);
	while (!x->headers_done && !x->done) {
		if (xfer_wait(x, &until, timeout_ms) == ETIMEDOUT)
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
	struct timespec until = deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
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
			pthread_cond_broadcast(&x->cond);   /* room for the writer */
			ret = (ssize_t)n;
		} else if (x->done) {
			ret = x->result == CURLE_OK ? UPSTREAM_EOF : UPSTREAM_ERROR;
		} else if (timeout_ms != 0 && xfer_wait(x, &until, timeout_ms) != ETIMEDOUT) {
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&x->lock);
	return ret;
}

void
upstream_abort(upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	__atomic_store_n(&x->aborted, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&x->cond);
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
upstream_timed_out(const upstream_xfer_t *x)
{
	return x->done && (x->result == CURLE_OPERATION_TIMEDOUT || x->idle_expired);
}

size_t
upstream_body_bytes(const upstream_xfer_t *x)
{
	return x->body_bytes;
}

void
upstream_join(upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	while (!x->done)
		pthread_cond_wait(&x->cond, &x->lock);
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
	headers_clear(x);
	buf_free(&x->data);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
