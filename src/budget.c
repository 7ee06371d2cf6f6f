/*
 * budget: owns the store-independent half of the budget store: checking
 * arguments, lease handles (id, amount, scopes) and the list of leases
 * this process holds, the queue of settles and releases that could not
 * reach the store, and the worker thread that renews leases and retries
 * the queue. The back ends (budget_mem, budget_redis) see lease ids only.
 *
 * Locking: b->lock guards the live list, the queue and the health fields;
 * it is never held while a back end runs.
 */
#include "budget.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget_mem.h"
#include "budget_redis.h"
#include "util.h"

#define BUDGET_ID_LEN 32

struct budget_lease {
	struct budget_lease *prev, *next;   /* b->live */
	char id[BUDGET_ID_LEN + 1];
	int64_t amount;
	int lost;
	int n;
	struct budget_scope s[];
};

/* A settle or release waiting for the store. */
struct budget_pending {
	struct budget_pending *next;
	int settle;
	char id[BUDGET_ID_LEN + 1];
	int64_t actual;
	int count;
	int n;
	struct budget_scope s[];
};

struct budget {
	struct budget_options o;
	char team[BUDGET_NAME_MAX], member[BUDGET_NAME_MAX];
	const struct budget_ops *ops;
	void *impl;
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* CLOCK_MONOTONIC: wakes the worker */
	int stopping;
	pthread_t worker;
	int has_worker;
	struct budget_lease *live;      /* leases held, a doubly linked list */
	int nlive;
	struct budget_pending *phead, *ptail;
	int npending;
	int64_t next_renew, next_retry; /* util_now_ms() */
	int reachable;
	char error[BUDGET_ERR_MAX];
	int64_t lost_leases, dropped;
};

/* ------------------------------------------------------------- options */

void
budget_defaults(const struct budget_options *in, struct budget_options *out)
{
	*out = *in;
#define BUDGET_DFLT(f, v) if (out->f <= 0) out->f = (v)
	BUDGET_DFLT(lease_ms, BUDGET_LEASE_MS);
	BUDGET_DFLT(timeout_ms, BUDGET_TIMEOUT_MS);
	BUDGET_DFLT(pool, BUDGET_POOL);
	BUDGET_DFLT(backoff_min_ms, BUDGET_BACKOFF_MIN_MS);
	BUDGET_DFLT(backoff_max_ms, BUDGET_BACKOFF_MAX_MS);
	BUDGET_DFLT(keep_s, BUDGET_KEEP_S);
#undef BUDGET_DFLT
	if (out->renew_ms == 0)
		out->renew_ms = UTIL_MAX(out->lease_ms / 3, 1);
	if (out->retry_ms == 0)
		out->retry_ms = out->backoff_min_ms;
	if (out->backoff_max_ms < out->backoff_min_ms)
		out->backoff_max_ms = out->backoff_min_ms;
	if (out->team == NULL || out->team[0] == '\0')
		out->team = "default";
	if (out->member == NULL || out->member[0] == '\0')
		out->member = "default";
}

static int
budget_charset_ok(const char *s, size_t max, const char *extra)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr(extra, c) != NULL))
			return 0;
	}
	return 1;
}

int
budget_name_ok(const char *s)
{
	return budget_charset_ok(s, BUDGET_NAME_MAX, "._-");
}

int
budget_key_ok(const char *s)
{
	return budget_charset_ok(s, BUDGET_KEY_MAX, "._:@-");
}

/* ---------------------------------------------------------------- scopes */

int
budget_scope_period(struct budget_scope *s, const char *owner, enum period_kind k,
    const struct period_tz *tz, double now, const char *family, int64_t ceiling)
{
	char label[32];
	double end;
	int fam = family != NULL && family[0] != '\0';
	memset(s, 0, sizeof *s);
	period_of(k, tz, now, label, sizeof label, NULL, &end);
	int a = snprintf(s->key, sizeof s->key, "%s:%s:%s%s%s", owner, period_name(k), label,
	    fam ? ":" : "", fam ? family : "");
	int b = snprintf(s->limit, sizeof s->limit, "%s:%s%s%s", owner, period_name(k),
	    fam ? ":" : "", fam ? family : "");
	s->ceiling = ceiling < 0 ? BUDGET_NONE : ceiling;
	s->expire_at = (int64_t)end + BUDGET_GRACE_S;
	if (a < 0 || (size_t)a >= sizeof s->key || b < 0 || (size_t)b >= sizeof s->limit)
		return -1;
	return budget_key_ok(s->key) && budget_key_ok(s->limit) ? 0 : -1;
}

int
budget_scope_plain(struct budget_scope *s, const char *key, int64_t ceiling)
{
	memset(s, 0, sizeof *s);
	if (!budget_key_ok(key))
		return -1;
	snprintf(s->key, sizeof s->key, "%s", key);
	s->ceiling = ceiling < 0 ? BUDGET_NONE : ceiling;
	return 0;
}

/* 0 if s[0..n) may go to the store, else -1 with err. */
static int
budget_scopes_check(const struct budget_scope *s, int n, char *err, size_t len)
{
	if (n < 0 || n > BUDGET_MAX_SCOPES || (n > 0 && s == NULL)) {
		snprintf(err, len, "budget: %d scopes (at most %d)", n, BUDGET_MAX_SCOPES);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (!budget_key_ok(s[i].key) || (s[i].limit[0] != '\0' && !budget_key_ok(s[i].limit)) ||
		    s[i].ceiling < BUDGET_NONE || s[i].ceiling > BUDGET_MAX_MICROS || s[i].expire_at < 0) {
			snprintf(err, len, "budget: bad scope %d ('%.60s')", i, s[i].key);
			return -1;
		}
		for (int k = 0; k < i; k++) {
			if (strcmp(s[k].key, s[i].key) == 0) {
				snprintf(err, len, "budget: scope '%.60s' given twice", s[i].key);
				return -1;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------- helpers */

static void
budget_new_id(char id[BUDGET_ID_LEN + 1])
{
	util_random_hex(id, BUDGET_ID_LEN);
}

/* Remember how the last call to the store went (lock not held). */
static void
budget_note(budget_t *b, int rc, const char *err)
{
	pthread_mutex_lock(&b->lock);
	if (rc == BUDGET_UNREACHABLE) {
		b->reachable = 0;
		snprintf(b->error, sizeof b->error, "%s", err);
	} else if (rc == BUDGET_OK || rc == BUDGET_REFUSED) {
		b->reachable = 1;
		b->error[0] = '\0';
	}
	pthread_mutex_unlock(&b->lock);
}

static void
budget_live_add(budget_t *b, budget_lease_t *l)
{
	pthread_mutex_lock(&b->lock);
	l->prev = NULL;
	l->next = b->live;
	if (b->live != NULL)
		b->live->prev = l;
	b->live = l;
	b->nlive++;
	pthread_mutex_unlock(&b->lock);
}

static void
budget_live_remove(budget_t *b, budget_lease_t *l)
{
	pthread_mutex_lock(&b->lock);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		b->live = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	b->nlive--;
	pthread_mutex_unlock(&b->lock);
}

/* Queue a settle or release for the worker (takes the lease's data). */
static void
budget_queue(budget_t *b, const budget_lease_t *l, int settle, int64_t actual, int count)
{
	struct budget_pending *p = xcalloc(1, sizeof *p + (size_t)l->n * sizeof p->s[0]);
	p->settle = settle;
	memcpy(p->id, l->id, sizeof p->id);
	p->actual = actual;
	p->count = count;
	p->n = l->n;
	memcpy(p->s, l->s, (size_t)l->n * sizeof p->s[0]);
	pthread_mutex_lock(&b->lock);
	if (b->npending >= BUDGET_MAX_PENDING) {
		if (settle)
			b->dropped++;
		pthread_mutex_unlock(&b->lock);
		log_debug("budget: queue full, %s %s dropped", settle ? "settle" : "release", l->id);
		free(p);
		return;
	}
	if (b->ptail != NULL)
		b->ptail->next = p;
	else
		b->phead = p;
	b->ptail = p;
	if (b->npending++ == 0)
		b->next_retry = util_now_ms() + b->o.retry_ms;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* --------------------------------------------------------------- worker */

/* Wait on the condition variable for up to ms (lock held). */
static void
budget_wait(budget_t *b, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&b->cond, &b->lock, &ts);
}

/* Renews this process's leases every renew_ms and retries the queue
 * every retry_ms while it is not empty. */
static void *
budget_worker(void *arg)
{
	budget_t *b = arg;
	pthread_mutex_lock(&b->lock);
	while (!b->stopping) {
		int64_t now = util_now_ms(), next = now + 1000;
		int can_retry = b->npending > 0 && b->o.retry_ms > 0;
		if (b->o.renew_ms > 0)
			next = UTIL_MIN(next, b->next_renew);
		if (can_retry)
			next = UTIL_MIN(next, b->next_retry);
		if (now < next) {
			budget_wait(b, next - now);
			continue;
		}
		int renew = b->o.renew_ms > 0 && now >= b->next_renew;
		int retry = can_retry && now >= b->next_retry;
		if (renew)
			b->next_renew = now + b->o.renew_ms;
		if (retry)
			b->next_retry = now + b->o.retry_ms;
		pthread_mutex_unlock(&b->lock);
		if (renew)
			budget_renew(b);
		if (retry)
			budget_flush(b);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* ------------------------------------------------------------ open/close */

budget_t *
budget_open(const struct budget_options *o, char **err)
{
	if ((o->team != NULL && o->team[0] != '\0' && !budget_name_ok(o->team)) ||
	    (o->member != NULL && o->member[0] != '\0' && !budget_name_ok(o->member))) {
		*err = xasprintf("team and member names are 1-63 letters, digits, '.', '_' or '-'");
		return NULL;
	}
	budget_t *b = xcalloc(1, sizeof *b);
	budget_defaults(o, &b->o);
	snprintf(b->team, sizeof b->team, "%s", b->o.team);
	snprintf(b->member, sizeof b->member, "%s", b->o.member);
	b->o.team = b->team;
	b->o.member = b->member;
	const char *url = o->url;
	if (url == NULL || strcmp(url, "memory") == 0) {
		/* this process's own leases cannot outlive it: they expire (and
		 * need renewing) only when a test asks for it */
		struct budget_options mo = b->o;
		mo.lease_ms = o->lease_ms > 0 ? o->lease_ms : 0;
		if (mo.lease_ms == 0)
			b->o.renew_ms = b->o.retry_ms = -1;   /* and memory calls never fail: no worker */
		b->ops = &budget_mem_ops;
		b->impl = budget_mem_new(&mo);
	} else if (strncasecmp(url, "redis://", 8) == 0 || strncasecmp(url, "rediss://", 9) == 0) {
		b->ops = &budget_redis_ops;
		b->impl = budget_redis_new(&b->o, err);
	} else {
		const char *colon = strchr(url, ':');
		*err = xasprintf("unknown budget store '%.*s' (expected memory or "
		    "redis://HOST:PORT[/DB])", colon != NULL ? (int)UTIL_MIN(colon - url, 20) : 20, url);
	}
	b->o.url = b->o.password = NULL;
	if (b->impl == NULL) {
		free(b);
		return NULL;
	}
	pthread_condattr_t ca;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	b->reachable = 1;
	b->next_renew = util_now_ms() + b->o.renew_ms;
	if (b->o.renew_ms > 0 || b->o.retry_ms > 0) {
		if (pthread_create(&b->worker, NULL, budget_worker, b) != 0)
			fatal("budget: cannot start the lease worker");
		b->has_worker = 1;
	}
	return b;
}

void
budget_close(budget_t *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = 1;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	if (b->has_worker)
		pthread_join(b->worker, NULL);
	while (b->live != NULL)     /* leases nobody settled: give them back */
		budget_release(b, b->live);
	budget_flush(b);
	for (struct budget_pending *p = b->phead, *next; p != NULL; p = next) {
		next = p->next;
		if (p->settle)
			log_debug("budget: closing with settle %s unsent: spend not recorded", p->id);
		free(p);
	}
	b->ops->free(b->impl);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

const char *
budget_where(const budget_t *b)
{
	return b->ops->where(b->impl);
}

/* ------------------------------------------------------------ the calls */

int
budget_reserve(budget_t *b, const struct budget_scope *s, int n, int64_t min, int64_t max,
    struct budget_grant *g, budget_lease_t **lease)
{
	memset(g, 0, sizeof *g);
	g->binding = -1;
	*lease = NULL;
	if (budget_scopes_check(s, n, g->error, sizeof g->error) != 0)
		return BUDGET_EINVAL;
	if (min < 0 || max < min || max > BUDGET_MAX_MICROS) {
		snprintf(g->error, sizeof g->error, "budget: bad range %lld..%lld", (long long)min,
		    (long long)max);
		return BUDGET_EINVAL;
	}
	pthread_mutex_lock(&b->lock);
	int pending = b->npending;
	pthread_mutex_unlock(&b->lock);
	/* Spend this process has not recorded yet goes in before new reservations. */
	if (pending > 0 && (pending = budget_flush(b)) > 0) {
		pthread_mutex_lock(&b->lock);
		snprintf(g->error, sizeof g->error, "%s", b->error[0] ? b->error :
		    "team budget store unreachable: earlier settles are waiting");
		pthread_mutex_unlock(&b->lock);
		return BUDGET_UNREACHABLE;
	}
	budget_lease_t *l = xcalloc(1, sizeof *l + (size_t)n * sizeof l->s[0]);
	budget_new_id(l->id);
	l->n = n;
	memcpy(l->s, s, (size_t)n * sizeof l->s[0]);
	int rc = b->ops->reserve(b->impl, l->id, s, n, min, max, g);
	budget_note(b, rc, g->error);
	if (rc == BUDGET_OK) {
		l->amount = g->granted;
		budget_live_add(b, l);
		*lease = l;
		return rc;
	}
	if (rc == BUDGET_UNREACHABLE && g->maybe_ran)   /* give it back once the store answers */
		budget_queue(b, l, 0, 0, 0);
	free(l);
	return rc;
}

/* Settle (settle = 1) or release a lease, queueing it if the store is away. */
static int
budget_finish(budget_t *b, budget_lease_t *l, int settle, int64_t actual)
{
	char err[BUDGET_ERR_MAX] = "";
	if (l == NULL)
		return BUDGET_EINVAL;
	budget_live_remove(b, l);
	int rc = settle ? b->ops->settle(b->impl, l->id, l->s, l->n, actual, 1, err, sizeof err) :
	    b->ops->release(b->impl, l->id, err, sizeof err);
	budget_note(b, rc, err);
	if (rc == BUDGET_UNREACHABLE) {
		budget_queue(b, l, settle, actual, 1);
	} else if (rc != BUDGET_OK) {
		log_debug("budget: %s %s failed: %s", settle ? "settle" : "release", l->id, err);
		if (settle) {
			pthread_mutex_lock(&b->lock);
			b->dropped++;
			pthread_mutex_unlock(&b->lock);
		}
	}
	free(l);
	return rc;
}

int
budget_settle(budget_t *b, budget_lease_t *lease, int64_t actual)
{
	return budget_finish(b, lease, 1, UTIL_MAX(0, UTIL_MIN(actual, BUDGET_MAX_MICROS)));
}

int
budget_release(budget_t *b, budget_lease_t *lease)
{
	return budget_finish(b, lease, 0, 0);
}

int64_t
budget_lease_amount(const budget_lease_t *l)
{
	return l->amount;
}

int
budget_lease_lost(budget_t *b, const budget_lease_t *l)
{
	pthread_mutex_lock(&b->lock);
	int lost = l->lost;
	pthread_mutex_unlock(&b->lock);
	return lost;
}

int
budget_charge(budget_t *b, const struct budget_scope *s, int n, int64_t micros)
{
	char err[BUDGET_ERR_MAX] = "", id[BUDGET_ID_LEN + 1];
	if (budget_scopes_check(s, n, err, sizeof err) != 0 || micros < 0 ||
	    micros > BUDGET_MAX_MICROS)
		return BUDGET_EINVAL;
	budget_new_id(id);
	int rc = b->ops->settle(b->impl, id, s, n, micros, 0, err, sizeof err);
	budget_note(b, rc, err);
	return rc;
}

/* ------------------------------------------------------ renew and retry */

/* Ids of live leases and of queued settles (their money stays reserved
 * until the settle lands). malloc'd, *n of them. */
static char (*budget_held_ids(budget_t *b, int *n))[BUDGET_ID_LEN + 1]
{
	pthread_mutex_lock(&b->lock);
	int cap = b->nlive + b->npending, k = 0;
	char (*ids)[BUDGET_ID_LEN + 1] = cap > 0 ? xcalloc((size_t)cap, sizeof *ids) : NULL;
	for (budget_lease_t *l = b->live; l != NULL && k < cap; l = l->next)
		memcpy(ids[k++], l->id, sizeof ids[0]);
	for (struct budget_pending *p = b->phead; p != NULL && k < cap; p = p->next)
		if (p->settle)
			memcpy(ids[k++], p->id, sizeof ids[0]);
	pthread_mutex_unlock(&b->lock);
	*n = k;
	return ids;
}

/* Mark the live lease id as lost (lock held). */
static void
budget_mark_lost(budget_t *b, const char *id)
{
	for (budget_lease_t *l = b->live; l != NULL; l = l->next) {
		if (strcmp(l->id, id) == 0 && !l->lost) {
			l->lost = 1;
			b->lost_leases++;
			log_debug("budget: lease %s expired in the store before it was renewed", id);
		}
	}
}

int
budget_renew(budget_t *b)
{
	int n;
	char (*ids)[BUDGET_ID_LEN + 1] = budget_held_ids(b, &n);
	if (n == 0) {
		free(ids);
		return BUDGET_OK;
	}
	const char **ptrs = xcalloc((size_t)n, sizeof *ptrs);
	int *lost = xcalloc((size_t)n, sizeof *lost);
	for (int i = 0; i < n; i++)
		ptrs[i] = ids[i];
	char err[BUDGET_ERR_MAX] = "";
	int rc = b->ops->renew(b->impl, ptrs, n, lost, err, sizeof err);
	budget_note(b, rc, err);
	if (rc == BUDGET_OK) {
		pthread_mutex_lock(&b->lock);
		for (int i = 0; i < n; i++)
			if (lost[i])
				budget_mark_lost(b, ids[i]);
		pthread_mutex_unlock(&b->lock);
	}
	free(lost);
	free(ptrs);
	free(ids);
	return rc;
}

/* Run one queued call. */
static int
budget_pending_run(budget_t *b, const struct budget_pending *p)
{
	char err[BUDGET_ERR_MAX] = "";
	int rc = p->settle ? b->ops->settle(b->impl, p->id, p->s, p->n, p->actual, p->count, err,
	    sizeof err) : b->ops->release(b->impl, p->id, err, sizeof err);
	budget_note(b, rc, err);
	if (rc != BUDGET_OK && rc != BUDGET_UNREACHABLE) {
		log_debug("budget: queued %s %s failed: %s", p->settle ? "settle" : "release", p->id, err);
		if (p->settle) {
			pthread_mutex_lock(&b->lock);
			b->dropped++;
			pthread_mutex_unlock(&b->lock);
		}
	}
	return rc;
}

int
budget_flush(budget_t *b)
{
	pthread_mutex_lock(&b->lock);
	struct budget_pending *list = b->phead, *keep = NULL, *keep_tail = NULL;
	b->phead = b->ptail = NULL;
	b->npending = 0;
	pthread_mutex_unlock(&b->lock);
	int kept = 0, down = 0;
	for (struct budget_pending *p = list, *next; p != NULL; p = next) {
		next = p->next;
		p->next = NULL;
		/* once the store is found away, keep the rest without waiting on it again */
		if (!down && budget_pending_run(b, p) != BUDGET_UNREACHABLE) {
			free(p);
			continue;
		}
		down = 1;
		if (keep_tail != NULL)
			keep_tail->next = p;
		else
			keep = p;
		keep_tail = p;
		kept++;
	}
	pthread_mutex_lock(&b->lock);
	if (keep != NULL) {
		keep_tail->next = b->phead;    /* older ones first */
		if (b->phead == NULL)
			b->ptail = keep_tail;
		b->phead = keep;
		b->npending += kept;
		b->next_retry = util_now_ms() + b->o.retry_ms;
	}
	int left = b->npending;
	pthread_mutex_unlock(&b->lock);
	return left;
}

/* ---------------------------------------------------- state and ceilings */

int
budget_ping(budget_t *b, char *err, size_t len)
{
	char e[BUDGET_ERR_MAX] = "";
	int rc = b->ops->ping(b->impl, e, sizeof e);
	budget_note(b, rc, e);
	snprintf(err, len, "%s", e);
	return rc;
}

void
budget_health(budget_t *b, struct budget_health *h)
{
	memset(h, 0, sizeof *h);
	pthread_mutex_lock(&b->lock);
	h->reachable = b->reachable;
	snprintf(h->error, sizeof h->error, "%s", b->error);
	h->live = b->nlive;
	h->pending = b->npending;
	h->lost_leases = b->lost_leases;
	h->dropped = b->dropped;
	pthread_mutex_unlock(&b->lock);
}

int
budget_read(budget_t *b, const struct budget_scope *s, int n, struct budget_state *out,
    char *err, size_t len)
{
	char e[BUDGET_ERR_MAX] = "";
	int rc = budget_scopes_check(s, n, e, sizeof e) != 0 ? BUDGET_EINVAL :
	    b->ops->read(b->impl, s, n, out, e, sizeof e);
	if (rc != BUDGET_EINVAL)
		budget_note(b, rc, e);
	snprintf(err, len, "%s", e);
	return rc;
}

static int
budget_member_cmp(const void *x, const void *y)
{
	const struct budget_member *a = x, *b = y;
	if (a->last != b->last)
		return a->last < b->last ? 1 : -1;
	return strcmp(a->name, b->name);
}

int
budget_members(budget_t *b, struct budget_member *out, int max, char *err, size_t len)
{
	char e[BUDGET_ERR_MAX] = "";
	int n = b->ops->members(b->impl, out, max, e, sizeof e);
	budget_note(b, n < 0 ? n : BUDGET_OK, e);
	snprintf(err, len, "%s", e);
	if (n > 0)
		qsort(out, (size_t)n, sizeof *out, budget_member_cmp);
	return n;
}

int
budget_ceilings(budget_t *b, struct budget_ceiling *out, int max, char *err, size_t len)
{
	char e[BUDGET_ERR_MAX] = "";
	int n = b->ops->ceilings(b->impl, out, max, e, sizeof e);
	budget_note(b, n < 0 ? n : BUDGET_OK, e);
	snprintf(err, len, "%s", e);
	return n;
}

int
budget_set_ceiling(budget_t *b, const char *limit, int64_t micros, char *err, size_t len)
{
	char e[BUDGET_ERR_MAX] = "";
	if (!budget_key_ok(limit) || micros < BUDGET_UNSET || micros > BUDGET_MAX_MICROS) {
		snprintf(err, len, "budget: bad ceiling name or amount");
		return BUDGET_EINVAL;
	}
	int rc = b->ops->set_ceiling(b->impl, limit, micros, e, sizeof e);
	budget_note(b, rc, e);
	snprintf(err, len, "%s", e);
	return rc;
}
