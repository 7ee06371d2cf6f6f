/*
 * budget_redis: owns the Redis side of the budget store: URL parsing, the
 * connection pool (a few hiredis contexts handed to calling threads under
 * a mutex), login and database selection, reconnection with exponential
 * backoff, running the Lua scripts (EVALSHA, EVAL when the server lost
 * them) and turning replies into budget results.
 *
 * Failure classes: a call that cannot reach the server (connect refused,
 * I/O error, timeout, LOADING/BUSY/READONLY/OOM...) is BUDGET_UNREACHABLE
 * (the caller fails closed, settles are queued); any other error reply is
 * BUDGET_EINVAL. A command that fails on a pooled connection because the
 * server closed it (restart) is retried once on a new connection; every
 * script is safe to run twice (reserve and settle are idempotent per id).
 */
#include "budget_redis.h"

#include <ctype.h>
#include <errno.h>
#include <hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "budget_lua.h"
#include "util.h"

#define BUDGET_REDIS_MAX_ARGS 160
#define BUDGET_REDIS_RENEW_BATCH 128
#define BUDGET_REDIS_DEFAULT_PORT 6379

struct budget_redis_conn {
	redisContext *c;
	int busy;
};

struct budget_redis {
	struct budget_redis_url u;
	char where[300];            /* "HOST:PORT" or "HOST:PORT/DB": messages */
	char where_long[310];       /* "redis HOST:PORT...": budget_where */
	char k_leases[128], k_lexp[128], k_ceil[128], k_members[128];
	char counter_prefix[128];   /* "tokmux:{TEAM}:s:" */
	char member[BUDGET_NAME_MAX];
	int timeout_ms, lease_ms, keep_ms;
	int backoff_min, backoff_max;
	pthread_mutex_t lock;       /* guards the pool, the backoff state, sha */
	pthread_cond_t cond;        /* a connection was handed back */
	struct budget_redis_conn *pool;
	int npool;
	int64_t down_until;         /* util_now_ms(): no connect attempt before */
	int backoff;                /* the next window, ms */
	char down_why[128];
	char sha[BUDGET_LUA_COUNT][41];
	int have_sha;
};

/* One command's arguments; strings made here are freed with it. */
struct budget_redis_argv {
	int argc;
	const char *argv[BUDGET_REDIS_MAX_ARGS];
	char *owned[BUDGET_REDIS_MAX_ARGS];
	int nowned;
};

/* ------------------------------------------------------------------ URL */

static int
budget_redis_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %-decode s[0..n) into out (NUL-terminated). 0, or -1 if bad or too long. */
static int
budget_redis_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = budget_redis_hex(s[i + 1]), lo = budget_redis_hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= len)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* "HOST[:PORT]" or "[V6][:PORT]" (n bytes) into u. 0 or -1. */
static int
budget_redis_hostport(const char *s, size_t n, struct budget_redis_url *u)
{
	const char *end = s + n, *colon = NULL, *h = s;
	size_t hlen;
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL)
			return -1;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -1;
	} else {
		colon = memchr(s, ':', n);
		hlen = colon != NULL ? (size_t)(colon - s) : n;
	}
	if (hlen == 0 || hlen >= sizeof u->host)
		return -1;
	for (size_t i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)h[i]) && strchr(".-_:", h[i]) == NULL)
			return -1;
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	u->port = BUDGET_REDIS_DEFAULT_PORT;
	if (colon != NULL) {
		long p = 0;
		const char *d = colon + 1;
		if (d == end)
			return -1;
		for (; d < end; d++) {
			if (!isdigit((unsigned char)*d) || (p = p * 10 + (*d - '0')) > 65535)
				return -1;
		}
		if (p < 1)
			return -1;
		u->port = (int)p;
	}
	return 0;
}

/* "[USER]:PASSWORD" or "USER" (n bytes) into u. 0 or -1. */
static int
budget_redis_userinfo(const char *s, size_t n, struct budget_redis_url *u)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon != NULL ? (size_t)(colon - s) : n;
	if (budget_redis_decode(s, ulen, u->user, sizeof u->user) != 0)
		return -1;
	if (colon == NULL)
		return 0;
	size_t plen = n - ulen - 1;
	char *pw = xmalloc(plen + 1);
	if (budget_redis_decode(colon + 1, plen, pw, plen + 1) != 0) {
		free(pw);
		return -1;
	}
	if (pw[0] == '\0')
		free(pw);
	else
		u->password = pw;
	return 0;
}

int
budget_redis_url_parse(const char *url, struct budget_redis_url *u, char **err)
{
	memset(u, 0, sizeof *u);
	if (url != NULL && strncasecmp(url, "rediss://", 9) == 0) {
		*err = xasprintf("rediss:// (TLS) is not supported: this tokmux is built with "
		    "hiredis %d.%d.%d, which has no TLS (hiredis_ssl needs hiredis 1.0). Reach "
		    "the server through a local TLS tunnel and use redis://127.0.0.1:PORT "
		    "(docs/TEAM.md)", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
		return -1;
	}
	if (url == NULL || strncasecmp(url, "redis://", 8) != 0) {
		*err = xasprintf("expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
		return -1;
	}
	const char *rest = url + 8, *at = strrchr(rest, '@');
	if (at != NULL && budget_redis_userinfo(rest, (size_t)(at - rest), u) != 0) {
		*err = xasprintf("bad user or password in the budget store URL (not shown; "
		    "%%-encode special characters, or use TOKMUX_REDIS_PASSWORD)");
		return -1;
	}
	const char *hp = at != NULL ? at + 1 : rest;
	const char *slash = strchr(hp, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - hp) : strlen(hp);
	if (budget_redis_hostport(hp, hlen, u) != 0) {
		*err = xasprintf("bad host or port '%.*s' in the budget store URL", (int)UTIL_MIN(hlen, 200), hp);
		budget_redis_url_clear(u);
		return -1;
	}
	if (slash != NULL && slash[1] != '\0') {
		char *end;
		long db = strtol(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' || db > 100000) {
			*err = xasprintf("bad database number '%.20s' in the budget store URL", slash + 1);
			budget_redis_url_clear(u);
			return -1;
		}
		u->db = (int)db;
	}
	return 0;
}

void
budget_redis_url_clear(struct budget_redis_url *u)
{
	if (u->password != NULL) {
		explicit_bzero(u->password, strlen(u->password));
		free(u->password);
		u->password = NULL;
	}
}

/* ---------------------------------------------------------------- setup */

void *
budget_redis_new(const struct budget_options *o, char **err)
{
	struct budget_redis *r = xcalloc(1, sizeof *r);
	if (budget_redis_url_parse(o->url, &r->u, err) != 0) {
		free(r);
		return NULL;
	}
	const char *pw = r->u.password == NULL ? o->password : NULL;
	if (r->u.password == NULL && pw == NULL)
		pw = getenv("TOKMUX_REDIS_PASSWORD");
	if (pw != NULL && pw[0] != '\0')
		r->u.password = xstrdup(pw);
	int v6 = strchr(r->u.host, ':') != NULL;
	snprintf(r->where, sizeof r->where, "%s%s%s:%d", v6 ? "[" : "", r->u.host, v6 ? "]" : "",
	    r->u.port);
	if (r->u.db != 0)
		snprintf(r->where + strlen(r->where), sizeof r->where - strlen(r->where), "/%d", r->u.db);
	snprintf(r->where_long, sizeof r->where_long, "redis %s", r->where);
	snprintf(r->k_leases, sizeof r->k_leases, "tokmux:{%s}:leases", o->team);
	snprintf(r->k_lexp, sizeof r->k_lexp, "tokmux:{%s}:lexp", o->team);
	snprintf(r->k_ceil, sizeof r->k_ceil, "tokmux:{%s}:ceilings", o->team);
	snprintf(r->k_members, sizeof r->k_members, "tokmux:{%s}:members", o->team);
	snprintf(r->counter_prefix, sizeof r->counter_prefix, "tokmux:{%s}:s:", o->team);
	snprintf(r->member, sizeof r->member, "%s", o->member);
	r->timeout_ms = o->timeout_ms;
	r->lease_ms = o->lease_ms;
	r->keep_ms = o->keep_s * 1000;
	r->backoff_min = r->backoff = o->backoff_min_ms;
	r->backoff_max = o->backoff_max_ms;
	r->npool = o->pool;
	r->pool = xcalloc((size_t)r->npool, sizeof *r->pool);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return r;
}

static void
budget_redis_free(void *impl)
{
	struct budget_redis *r = impl;
	for (int i = 0; i < r->npool; i++)
		if (r->pool[i].c != NULL)
			redisFree(r->pool[i].c);
	free(r->pool);
	budget_redis_url_clear(&r->u);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const char *
budget_redis_where(void *impl)
{
	struct budget_redis *r = impl;
	return r->where_long;
}

/* ----------------------------------------------------------- connecting */

static struct timeval
budget_redis_tv(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

/* Run one command on c during setup; 0, or -1 with the server's words. */
static int
budget_redis_setup_cmd(redisContext *c, int argc, const char **argv, char *why, size_t len)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
	if (rep == NULL) {
		snprintf(why, len, "%s", c->errstr);
		return -1;
	}
	int rc = rep->type == REDIS_REPLY_ERROR ? -1 : 0;
	if (rc != 0)
		snprintf(why, len, "%s", rep->str);
	freeReplyObject(rep);
	return rc;
}

/* Log in, select the database, load the scripts. 0, or -1 with why. */
static int
budget_redis_prepare(struct budget_redis *r, redisContext *c, char *why, size_t len)
{
	if (r->u.password != NULL) {
		const char *a[3] = { "AUTH", r->u.user, r->u.password };
		int user = r->u.user[0] != '\0';
		if (!user)
			a[1] = r->u.password;
		if (budget_redis_setup_cmd(c, user ? 3 : 2, a, why, len) != 0)
			return -1;
	}
	if (r->u.db != 0) {
		char db[16];
		snprintf(db, sizeof db, "%d", r->u.db);
		const char *a[2] = { "SELECT", db };
		if (budget_redis_setup_cmd(c, 2, a, why, len) != 0)
			return -1;
	}
	for (int i = 0; i < BUDGET_LUA_COUNT; i++) {
		const char *a[3] = { "SCRIPT", "LOAD", budget_lua_text((enum budget_lua_script)i) };
		redisReply *rep = redisCommandArgv(c, 3, a, NULL);
		if (rep == NULL) {
			snprintf(why, len, "%s", c->errstr);
			return -1;
		}
		int ok = rep->type == REDIS_REPLY_STRING && rep->len == 40;
		if (ok) {
			pthread_mutex_lock(&r->lock);
			memcpy(r->sha[i], rep->str, 40);
			r->sha[i][40] = '\0';
			r->have_sha |= 1 << i;
			pthread_mutex_unlock(&r->lock);
		} else {
			snprintf(why, len, "%s", rep->type == REDIS_REPLY_ERROR ? rep->str :
			    "unexpected reply to SCRIPT LOAD");
		}
		freeReplyObject(rep);
		if (!ok)
			return -1;
	}
	return 0;
}

/* A new ready connection, or NULL with err (and the backoff window moved). */
static redisContext *
budget_redis_connect(struct budget_redis *r, char *err, size_t len)
{
	int64_t now = util_now_ms();
	pthread_mutex_lock(&r->lock);
	if (now < r->down_until) {
		snprintf(err, len, "team budget store unreachable at %.200s: %s (next try in %lld ms)",
		    r->where, r->down_why, (long long)(r->down_until - now));
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	pthread_mutex_unlock(&r->lock);
	char why[128] = "";
	redisContext *c = redisConnectWithTimeout(r->u.host, r->u.port, budget_redis_tv(r->timeout_ms));
	if (c == NULL) {
		snprintf(why, sizeof why, "out of memory");
	} else if (c->err) {
		snprintf(why, sizeof why, "%s", c->errstr);
	} else {
		redisSetTimeout(c, budget_redis_tv(r->timeout_ms));
		redisEnableKeepAlive(c);
		if (budget_redis_prepare(r, c, why, sizeof why) == 0) {
			pthread_mutex_lock(&r->lock);
			r->backoff = r->backoff_min;
			r->down_until = 0;
			pthread_mutex_unlock(&r->lock);
			return c;
		}
	}
	if (c != NULL)
		redisFree(c);
	pthread_mutex_lock(&r->lock);
	r->down_until = util_now_ms() + r->backoff;
	r->backoff = UTIL_MIN(r->backoff * 2, r->backoff_max);
	snprintf(r->down_why, sizeof r->down_why, "%s", why);
	pthread_mutex_unlock(&r->lock);
	snprintf(err, len, "team budget store unreachable at %.200s: %s", r->where, why);
	log_debug("budget: %s", err);
	return NULL;
}

/* A pool slot for this thread (waits while all are busy). */
static struct budget_redis_conn *
budget_redis_acquire(struct budget_redis *r)
{
	pthread_mutex_lock(&r->lock);
	struct budget_redis_conn *cn = NULL;
	while (cn == NULL) {
		for (int i = 0; i < r->npool; i++) {
			struct budget_redis_conn *x = &r->pool[i];
			if (!x->busy && (cn == NULL || (cn->c == NULL && x->c != NULL)))
				cn = x;
		}
		if (cn == NULL)
			pthread_cond_wait(&r->cond, &r->lock);
	}
	cn->busy = 1;
	pthread_mutex_unlock(&r->lock);
	return cn;
}

static void
budget_redis_hand_back(struct budget_redis *r, struct budget_redis_conn *cn)
{
	pthread_mutex_lock(&r->lock);
	cn->busy = 0;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* ------------------------------------------------------------- commands */

/* The command failed on the wire: say why; 1 if the server closed a
 * connection we had kept (worth one retry on a new one). */
static int
budget_redis_io_error(struct budget_redis *r, redisContext *c, int e, char *err, size_t len)
{
	int timeout = c->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT);
	if (timeout)
		snprintf(err, len, "team budget store unreachable at %.200s: no answer within %d ms",
		    r->where, r->timeout_ms);
	else
		snprintf(err, len, "team budget store unreachable at %.200s: %s", r->where, c->errstr);
	log_debug("budget: %s", err);
	return !timeout && (c->err == REDIS_ERR_EOF || c->err == REDIS_ERR_IO);
}

/* Send one command. The reply (maybe an error reply), or NULL with *rc
 * BUDGET_UNREACHABLE and err; then *sent (may be NULL) is 1 if the
 * command may have reached the server (and run) all the same. */
static redisReply *
budget_redis_call(struct budget_redis *r, int argc, const char **argv, char *err, size_t len,
    int *rc, int *sent)
{
	struct budget_redis_conn *cn = budget_redis_acquire(r);
	redisReply *rep = NULL;
	*rc = BUDGET_UNREACHABLE;
	for (int attempt = 0; attempt < 2 && rep == NULL; attempt++) {
		int fresh = cn->c == NULL;
		if (fresh && (cn->c = budget_redis_connect(r, err, len)) == NULL)
			break;
		if (sent != NULL)
			*sent = 1;
		rep = redisCommandArgv(cn->c, argc, argv, NULL);
		if (rep != NULL)
			break;
		int e = errno;
		int stale = budget_redis_io_error(r, cn->c, e, err, len);
		redisFree(cn->c);
		cn->c = NULL;
		if (fresh || !stale)
			break;
	}
	budget_redis_hand_back(r, cn);
	if (rep != NULL)
		*rc = BUDGET_OK;
	return rep;
}

/* An error reply -> BUDGET_UNREACHABLE (the server cannot take it now) or
 * BUDGET_EINVAL, with err. */
static int
budget_redis_reply_error(struct budget_redis *r, const redisReply *rep, char *err, size_t len)
{
	static const char *const transient[] = { "LOADING", "BUSY", "MASTERDOWN", "READONLY",
		"NOAUTH", "WRONGPASS", "CLUSTERDOWN", "TRYAGAIN", "OOM", "MISCONF" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(transient); i++) {
		if (strncmp(rep->str, transient[i], strlen(transient[i])) == 0) {
			snprintf(err, len, "team budget store unreachable at %.200s: %.150s", r->where, rep->str);
			return BUDGET_UNREACHABLE;
		}
	}
	snprintf(err, len, "team budget store at %.200s: %.150s", r->where, rep->str);
	return BUDGET_EINVAL;
}

static void
budget_redis_arg(struct budget_redis_argv *a, const char *s)
{
	if (a->argc >= BUDGET_REDIS_MAX_ARGS)
		fatal("budget: too many Redis arguments");
	a->argv[a->argc++] = s;
}

static void __attribute__((format(printf, 2, 3)))
budget_redis_argf(struct budget_redis_argv *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	a->owned[a->nowned++] = s;
	budget_redis_arg(a, s);
}

static void
budget_redis_argv_free(struct budget_redis_argv *a)
{
	for (int i = 0; i < a->nowned; i++)
		free(a->owned[i]);
	a->nowned = a->argc = 0;
}

/* Start a script call: EVALSHA slots, then numkeys. */
static void
budget_redis_script(struct budget_redis_argv *a, int nkeys)
{
	a->argc = a->nowned = 0;
	budget_redis_arg(a, "EVALSHA");
	budget_redis_arg(a, "");
	budget_redis_argf(a, "%d", nkeys);
}

/* Run script s with a's keys and arguments. The (non-error) reply, or
 * NULL with *rc and err. */
static redisReply *
budget_redis_eval(struct budget_redis *r, enum budget_lua_script s, struct budget_redis_argv *a,
    char *err, size_t len, int *rc, int *sent)
{
	char sha[41] = "";
	pthread_mutex_lock(&r->lock);
	if (r->have_sha & (1 << s))
		memcpy(sha, r->sha[s], sizeof sha);
	pthread_mutex_unlock(&r->lock);
	a->argv[0] = sha[0] ? "EVALSHA" : "EVAL";
	a->argv[1] = sha[0] ? sha : budget_lua_text(s);
	redisReply *rep = budget_redis_call(r, a->argc, a->argv, err, len, rc, sent);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(rep);
		a->argv[0] = "EVAL";
		a->argv[1] = budget_lua_text(s);
		rep = budget_redis_call(r, a->argc, a->argv, err, len, rc, sent);
	}
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		*rc = budget_redis_reply_error(r, rep, err, len);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* 1 if rep is an array of at least n integers. */
static int
budget_redis_ints(const redisReply *rep, size_t n)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (rep->element[i]->type != REDIS_REPLY_INTEGER)
			return 0;
	return 1;
}

static int
budget_redis_unexpected(struct budget_redis *r, redisReply *rep, const char *what, char *err,
    size_t len)
{
	snprintf(err, len, "team budget store at %.200s: unexpected reply to %s", r->where, what);
	freeReplyObject(rep);
	return BUDGET_EINVAL;
}

/* ----------------------------------------------------------- operations */

static void
budget_redis_counters(struct budget_redis *r, struct budget_redis_argv *a,
    const struct budget_scope *s, int n)
{
	for (int i = 0; i < n; i++)
		budget_redis_argf(a, "%s%s", r->counter_prefix, s[i].key);
}

static int
budget_redis_reserve(void *impl, const char *id, const struct budget_scope *s, int n,
    int64_t min, int64_t max, struct budget_grant *g)
{
	struct budget_redis *r = impl;
	struct budget_redis_argv a;
	budget_redis_script(&a, 4 + n);
	budget_redis_arg(&a, r->k_leases);
	budget_redis_arg(&a, r->k_lexp);
	budget_redis_arg(&a, r->k_ceil);
	budget_redis_arg(&a, r->k_members);
	budget_redis_counters(r, &a, s, n);
	budget_redis_arg(&a, id);
	budget_redis_argf(&a, "%lld", (long long)min);
	budget_redis_argf(&a, "%lld", (long long)max);
	budget_redis_argf(&a, "%d", r->lease_ms);
	budget_redis_arg(&a, r->member);
	for (int i = 0; i < n; i++) {
		budget_redis_arg(&a, s[i].limit);
		budget_redis_argf(&a, "%lld", (long long)s[i].ceiling);
		budget_redis_argf(&a, "%lld", (long long)s[i].expire_at);
	}
	int rc;
	redisReply *rep = budget_redis_eval(r, BUDGET_LUA_RESERVE, &a, g->error, sizeof g->error, &rc,
	    &g->maybe_ran);
	budget_redis_argv_free(&a);
	if (rep == NULL)
		return rc;
	if (!budget_redis_ints(rep, 6))
		return budget_redis_unexpected(r, rep, "reserve", g->error, sizeof g->error);
	long long st = rep->element[0]->integer;
	g->granted = st == 1 ? rep->element[1]->integer : 0;
	g->binding = (int)rep->element[2]->integer;
	if (g->binding >= 0) {
		g->spent = rep->element[3]->integer;
		g->inflight = rep->element[4]->integer;
		g->ceiling = rep->element[5]->integer;
	}
	freeReplyObject(rep);
	if (st == -1) {
		snprintf(g->error, sizeof g->error, "lease id %s was already settled", id);
		return BUDGET_EINVAL;
	}
	return st == 1 ? BUDGET_OK : BUDGET_REFUSED;
}

static int
budget_redis_settle(void *impl, const char *id, const struct budget_scope *s, int n,
    int64_t actual, int count, char *err, size_t len)
{
	struct budget_redis *r = impl;
	struct budget_redis_argv a;
	budget_redis_script(&a, 3 + n);
	budget_redis_arg(&a, r->k_leases);
	budget_redis_arg(&a, r->k_lexp);
	budget_redis_arg(&a, r->k_members);
	budget_redis_counters(r, &a, s, n);
	budget_redis_arg(&a, id);
	budget_redis_argf(&a, "%lld", (long long)actual);
	budget_redis_argf(&a, "%d", r->keep_ms);
	budget_redis_arg(&a, r->member);
	budget_redis_argf(&a, "%d", count);
	for (int i = 0; i < n; i++)
		budget_redis_argf(&a, "%lld", (long long)s[i].expire_at);
	int rc;
	redisReply *rep = budget_redis_eval(r, BUDGET_LUA_SETTLE, &a, err, len, &rc, NULL);
	budget_redis_argv_free(&a);
	if (rep == NULL)
		return rc;
	if (rep->type != REDIS_REPLY_INTEGER)
		return budget_redis_unexpected(r, rep, "settle", err, len);
	freeReplyObject(rep);
	return BUDGET_OK;
}

static int
budget_redis_release(void *impl, const char *id, char *err, size_t len)
{
	struct budget_redis *r = impl;
	struct budget_redis_argv a;
	budget_redis_script(&a, 2);
	budget_redis_arg(&a, r->k_leases);
	budget_redis_arg(&a, r->k_lexp);
	budget_redis_arg(&a, id);
	int rc;
	redisReply *rep = budget_redis_eval(r, BUDGET_LUA_RELEASE, &a, err, len, &rc, NULL);
	budget_redis_argv_free(&a);
	if (rep == NULL)
		return rc;
	if (rep->type != REDIS_REPLY_INTEGER)
		return budget_redis_unexpected(r, rep, "release", err, len);
	freeReplyObject(rep);
	return BUDGET_OK;
}

/* Renew up to BUDGET_REDIS_RENEW_BATCH ids. */
static int
budget_redis_renew_batch(struct budget_redis *r, const char *const *ids, int n, int *lost,
    char *err, size_t len)
{
	struct budget_redis_argv a;
	budget_redis_script(&a, 2);
	budget_redis_arg(&a, r->k_leases);
	budget_redis_arg(&a, r->k_lexp);
	budget_redis_argf(&a, "%d", r->lease_ms);
	for (int i = 0; i < n; i++)
		budget_redis_arg(&a, ids[i]);
	int rc;
	redisReply *rep = budget_redis_eval(r, BUDGET_LUA_RENEW, &a, err, len, &rc, NULL);
	budget_redis_argv_free(&a);
	if (rep == NULL)
		return rc;
	if (!budget_redis_ints(rep, rep->type == REDIS_REPLY_ARRAY ? rep->elements : 1))
		return budget_redis_unexpected(r, rep, "renew", err, len);
	for (size_t i = 0; i < rep->elements; i++) {
		long long k = rep->element[i]->integer;
		if (k >= 0 && k < n)
			lost[k] = 1;
	}
	freeReplyObject(rep);
	return BUDGET_OK;
}

static int
budget_redis_renew(void *impl, const char *const *ids, int n, int *lost, char *err, size_t len)
{
	struct budget_redis *r = impl;
	memset(lost, 0, (size_t)n * sizeof *lost);
	for (int i = 0; i < n; i += BUDGET_REDIS_RENEW_BATCH) {
		int rc = budget_redis_renew_batch(r, ids + i, UTIL_MIN(n - i, BUDGET_REDIS_RENEW_BATCH),
		    lost + i, err, len);
		if (rc != BUDGET_OK)
			return rc;
	}
	return BUDGET_OK;
}

static int
budget_redis_read(void *impl, const struct budget_scope *s, int n, struct budget_state *out,
    char *err, size_t len)
{
	struct budget_redis *r = impl;
	struct budget_redis_argv a;
	budget_redis_script(&a, 3 + n);
	budget_redis_arg(&a, r->k_leases);
	budget_redis_arg(&a, r->k_lexp);
	budget_redis_arg(&a, r->k_ceil);
	budget_redis_counters(r, &a, s, n);
	for (int i = 0; i < n; i++) {
		budget_redis_arg(&a, s[i].limit);
		budget_redis_argf(&a, "%lld", (long long)s[i].ceiling);
	}
	int rc;
	redisReply *rep = budget_redis_eval(r, BUDGET_LUA_READ, &a, err, len, &rc, NULL);
	budget_redis_argv_free(&a);
	if (rep == NULL)
		return rc;
	if (!budget_redis_ints(rep, (size_t)n * 7))
		return budget_redis_unexpected(r, rep, "read", err, len);
	for (int i = 0; i < n; i++) {
		redisReply **e = rep->element + i * 7;
		struct budget_state *o = &out[i];
		memset(o, 0, sizeof *o);
		o->spent = e[0]->integer;
		o->inflight = e[1]->integer;
		o->ceiling = e[2]->integer;
		o->stored = (int)e[3]->integer;
		o->requests = e[4]->integer;
		o->refused = e[5]->integer;
		o->expired = e[6]->integer;
	}
	freeReplyObject(rep);
	return BUDGET_OK;
}

/* HGETALL key: the reply (an array of name/value strings) or NULL. */
static redisReply *
budget_redis_hgetall(struct budget_redis *r, const char *key, char *err, size_t len, int *rc)
{
	const char *argv[2] = { "HGETALL", key };
	redisReply *rep = budget_redis_call(r, 2, argv, err, len, rc, NULL);
	if (rep == NULL)
		return NULL;
	if (rep->type == REDIS_REPLY_ERROR) {
		*rc = budget_redis_reply_error(r, rep, err, len);
		freeReplyObject(rep);
		return NULL;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0) {
		*rc = budget_redis_unexpected(r, rep, "HGETALL", err, len);
		return NULL;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		if (rep->element[i]->type != REDIS_REPLY_STRING) {
			*rc = budget_redis_unexpected(r, rep, "HGETALL", err, len);
			return NULL;
		}
	}
	return rep;
}

static int
budget_redis_members(void *impl, struct budget_member *out, int max, char *err, size_t len)
{
	struct budget_redis *r = impl;
	int rc, n = 0;
	redisReply *rep = budget_redis_hgetall(r, r->k_members, err, len, &rc);
	if (rep == NULL)
		return rc;
	for (size_t i = 0; i + 1 < rep->elements && n < max; i += 2) {
		snprintf(out[n].name, sizeof out[n].name, "%s", rep->element[i]->str);
		out[n].last = strtod(rep->element[i + 1]->str, NULL) / 1000.0;
		n++;
	}
	freeReplyObject(rep);
	return n;
}

static int
budget_redis_ceilings(void *impl, struct budget_ceiling *out, int max, char *err, size_t len)
{
	struct budget_redis *r = impl;
	int rc, n = 0;
	redisReply *rep = budget_redis_hgetall(r, r->k_ceil, err, len, &rc);
	if (rep == NULL)
		return rc;
	for (size_t i = 0; i + 1 < rep->elements && n < max; i += 2) {
		snprintf(out[n].limit, sizeof out[n].limit, "%s", rep->element[i]->str);
		out[n].micros = strtoll(rep->element[i + 1]->str, NULL, 10);
		n++;
	}
	freeReplyObject(rep);
	return n;
}

static int
budget_redis_set_ceiling(void *impl, const char *limit, int64_t micros, char *err, size_t len)
{
	struct budget_redis *r = impl;
	char v[24];
	snprintf(v, sizeof v, "%lld", (long long)micros);
	const char *set[4] = { "HSET", r->k_ceil, limit, v };
	const char *del[3] = { "HDEL", r->k_ceil, limit };
	int rc;
	redisReply *rep = micros == BUDGET_UNSET ? budget_redis_call(r, 3, del, err, len, &rc, NULL) :
	    budget_redis_call(r, 4, set, err, len, &rc, NULL);
	if (rep == NULL)
		return rc;
	rc = rep->type == REDIS_REPLY_ERROR ? budget_redis_reply_error(r, rep, err, len) : BUDGET_OK;
	freeReplyObject(rep);
	return rc;
}

static int
budget_redis_ping(void *impl, char *err, size_t len)
{
	struct budget_redis *r = impl;
	const char *argv[1] = { "PING" };
	int rc;
	redisReply *rep = budget_redis_call(r, 1, argv, err, len, &rc, NULL);
	if (rep == NULL)
		return rc;
	rc = rep->type == REDIS_REPLY_ERROR ? budget_redis_reply_error(r, rep, err, len) : BUDGET_OK;
	freeReplyObject(rep);
	return rc;
}

const struct budget_ops budget_redis_ops = {
	.reserve = budget_redis_reserve,
	.settle = budget_redis_settle,
	.release = budget_redis_release,
	.renew = budget_redis_renew,
	.read = budget_redis_read,
	.members = budget_redis_members,
	.ceilings = budget_redis_ceilings,
	.set_ceiling = budget_redis_set_ceiling,
	.ping = budget_redis_ping,
	.where = budget_redis_where,
	.free = budget_redis_free,
};
