/*
 * upstream: libcurl transfers driven by the thread that waits for them.
 * Each transfer has a curl multi handle of its own; upstream_wait_headers,
 * upstream_read (and any wait on a transfer) run curl_multi_perform and
 * curl_multi_poll in the caller's thread, so a request costs no thread and
 * no hand-off between threads. All transfers share a CURLSH (connections,
 * DNS, TLS sessions); finished easy and multi handles are reset and pooled
 * for the next transfers. The write callback fills a bounded buffer that
 * the reader drains; when it is full the transfer is paused
 * (CURL_WRITEFUNC_PAUSE), which stops reading the upstream socket: that is
 * the backpressure. A transfer nobody waits for does not move either.
 * Aborting wakes a driver in curl_multi_poll; an aborted transfer nobody
 * drives is removed from its multi when it is joined.
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
#define DRIVE_SLICE_MS 1000   /* a wait without a deadline polls in slices of this */

struct upstream {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	/* Finished easy handles, reset, and empty multi handles for the next
	 * transfers: a new easy handle costs allocations, a new multi a
	 * wake-up socketpair. */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];
	int npool;
	CURLM *mpool[POOL_MAX];
	int nmpool;
};

struct upstream_header {
	char *name;
	char *value;
};

struct upstream_xfer {
	upstream_t *up;
	CURL *curl;
	CURLM *multi;                 /* curl is in it until the transfer ended */
	int in_multi;
	struct curl_slist *hdrs;
	upstream_tap_fn tap;
	void *tap_user;
	size_t limit;

	pthread_mutex_t lock;
	pthread_cond_t cond;          /* any state change, for threads that wait while another drives */
	int driving;                  /* a thread is in curl calls for this transfer */
	int paused;                   /* the write callback paused it: buffer full */
	unsigned gen;                 /* bumped by every header, body chunk and the end */
	int status;                   /* status of the final response, 0 until known */
	int headers_done;
	int done;                     /* the transfer ended (result is set) */
	int aborted;
	int idle_expired;             /* aborted for want of data */
	int64_t idle_limit_us;
	int64_t last_activity_us;     /* driving thread only */
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

upstream_t *
upstream_new(void)
{
	upstream_t *u = xcalloc(1, sizeof *u);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_global_init failed");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&u->locks[i], NULL);
	pthread_mutex_init(&u->pool_lock, NULL);
	u->share = curl_share_init();
	if (u->share == NULL)
		fatal("curl_share_init failed");
	curl_share_setopt(u->share, CURLSHOPT_LOCKFUNC, upstream_share_lock);
	curl_share_setopt(u->share, CURLSHOPT_UNLOCKFUNC, upstream_share_unlock);
	curl_share_setopt(u->share, CURLSHOPT_USERDATA, u);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return u;
}

void
upstream_free(upstream_t *u)
{
	if (u == NULL)
		return;
	for (int i = 0; i < u->npool; i++)   /* before the share they point at */
		curl_easy_cleanup(u->pool[i]);
	for (int i = 0; i < u->nmpool; i++)
		curl_multi_cleanup(u->mpool[i]);
	pthread_mutex_destroy(&u->pool_lock);
	curl_share_cleanup(u->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&u->locks[i]);
	curl_global_cleanup();
	free(u);
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

/* Milliseconds from now until the deadline (<= 0: passed). */
static long
upstream_ms_until(const struct timespec *until)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(until->tv_sec - now.tv_sec) * 1000 +
	    (until->tv_nsec - now.tv_nsec) / 1000000L;
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
 * that. Called by the driving thread. */
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

/* Finish the transfer if curl says it ended. 1 if it did. */
static int
upstream_xfer_reap(upstream_xfer_t *x)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(x->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == x->curl) {
			CURLcode rc = m->data.result;
			curl_multi_remove_handle(x->multi, x->curl);
			x->in_multi = 0;
			upstream_xfer_finish(x, rc);
			return 1;
		}
	}
	return 0;
}

/* One round of curl work for x in this thread (x->driving is ours, the
 * lock is not held): resume a paused transfer that has room again, move
 * what can move now, and if that brought nothing new, wait up to wait_ms
 * for the sockets (or an abort's wake-up) and move again. */
static void
upstream_xfer_drive(upstream_xfer_t *x, unsigned gen, long wait_ms)
{
	int running;
	pthread_mutex_lock(&x->lock);
	int resume = x->paused && x->data.len - x->rpos < x->limit;
	if (resume)
		x->paused = 0;
	pthread_mutex_unlock(&x->lock);
	if (resume)
		curl_easy_pause(x->curl, CURLPAUSE_CONT);   /* may call on_write */
	curl_multi_perform(x->multi, &running);
	if (upstream_xfer_reap(x))
		return;
	pthread_mutex_lock(&x->lock);
	int news = x->gen != gen || x->aborted;
	pthread_mutex_unlock(&x->lock);
	if (news || wait_ms <= 0)
		return;
	curl_multi_poll(x->multi, NULL, 0, (int)wait_ms, NULL);
	curl_multi_perform(x->multi, &running);
	upstream_xfer_reap(x);
}

/* Wait for a change of x (lock held) until the deadline; timeout_ms < 0 =
 * forever. The first thread to wait drives the transfer; others wait on
 * the condition variable for its news. Returns 0 after a change (or a
 * slice without one, for timeout_ms < 0), ETIMEDOUT when the deadline
 * passed. */
static int
upstream_xfer_wait(upstream_xfer_t *x, const struct timespec *until, int timeout_ms)
{
	if (x->driving || x->done || !x->in_multi) {
		if (timeout_ms < 0)
			return pthread_cond_wait(&x->cond, &x->lock);
		return pthread_cond_timedwait(&x->cond, &x->lock, until);
	}
	long wait_ms = timeout_ms < 0 ? DRIVE_SLICE_MS : upstream_ms_until(until);
	if (wait_ms > DRIVE_SLICE_MS)
		wait_ms = DRIVE_SLICE_MS;   /* notice the idle limit and aborts */
	unsigned gen = x->gen;
	x->driving = 1;
	pthread_mutex_unlock(&x->lock);
	upstream_xfer_drive(x, gen, wait_ms);
	pthread_mutex_lock(&x->lock);
	x->driving = 0;
	pthread_cond_broadcast(&x->cond);   /* another waiter may drive now */
	if (x->gen != gen || x->aborted || timeout_ms < 0)
		return 0;
	return upstream_ms_until(until) <= 0 ? ETIMEDOUT : 0;
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
	x->limit = r->buf_limit > 0 ? r->buf_limit : UPSTREAM_BUF_LIMIT;
	pthread_mutex_init(&x->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&u->pool_lock);
	x->curl = u->npool > 0 ? u->pool[--u->npool] : NULL;
	x->multi = u->nmpool > 0 ? u->mpool[--u->nmpool] : NULL;
	pthread_mutex_unlock(&u->pool_lock);
	if (x->curl == NULL)
		x->curl = curl_easy_init();
	if (x->curl == NULL)
		fatal("curl_easy_init failed");
	if (x->multi == NULL) {
		x->multi = curl_multi_init();
		if (x->multi == NULL)
			fatal("curl_multi_init failed");
		/* The limit applies to the whole shared cache: keep the
		 * connections of every transfer in flight (bench/gateway.sh). */
		curl_multi_setopt(x->multi, CURLMOPT_MAXCONNECTS, (long)UPSTREAM_MAX_CONNECTS);
	}
	upstream_xfer_setup(x, r);
	CURLMcode mc = curl_multi_add_handle(x->multi, x->curl);
	if (mc != CURLM_OK) {
		x->done = 1;
		x->result = CURLE_FAILED_INIT;
		snprintf(x->error, sizeof x->error, "%s", curl_multi_strerror(mc));
	} else {
		x->in_multi = 1;
	}
	return x;
}

int
upstream_wait_headers(upstream_xfer_t *x, int timeout_ms)
{
	struct timespec until = upstream_deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	int ret = -1;
	pthread_mutex_lock(&x->lock);
	while (!x->headers_done && !x->done) {
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
			if (x->paused && x->driving)   /* room: another thread's poll resumes it */
				curl_multi_wakeup(x->multi);
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
	if (x->driving)   /* out of curl_multi_poll: the progress callback stops it */
		curl_multi_wakeup(x->multi);
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

void
upstream_join(upstream_xfer_t *x)
{
	pthread_mutex_lock(&x->lock);
	while (!x->done || x->driving) {
		if (x->aborted && !x->driving && !x->done) {
			/* Nobody drives it: end it here, curl need not notice. */
			x->driving = 1;
			pthread_mutex_unlock(&x->lock);
			if (x->in_multi)
				curl_multi_remove_handle(x->multi, x->curl);
			x->in_multi = 0;
			upstream_xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
			pthread_mutex_lock(&x->lock);
			x->driving = 0;
			pthread_cond_broadcast(&x->cond);
			continue;
		}
		upstream_xfer_wait(x, NULL, -1);
	}
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
	if (u->nmpool < POOL_MAX) {
		u->mpool[u->nmpool++] = x->multi;
		x->multi = NULL;
	}
	pthread_mutex_unlock(&u->pool_lock);
	if (x->curl != NULL)
		curl_easy_cleanup(x->curl);
	if (x->multi != NULL)
		curl_multi_cleanup(x->multi);
	curl_slist_free_all(x->hdrs);
	upstream_headers_clear(x);
	buf_free(&x->data);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
