/*
 * budget_mem: owns the in-process budget store: scope counters, leases,
 * stored ceilings and members, in arrays under one mutex. Every operation
 * follows the Redis store's Lua scripts (budget_lua.c), so both stores
 * behave alike, with two differences: a lease expires only when lease_ms
 * is set (this process's leases cannot outlive it), and a settled id is
 * not remembered (memory calls never fail, so nothing retries them). The
 * clock is the options' (tests drive it).
 */
#include "budget_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum mem_field { MEM_SPENT, MEM_RESERVED, MEM_REQUESTS, MEM_REFUSED, MEM_EXPIRED };

struct mem_counter {
	char key[BUDGET_KEY_MAX];
	int64_t expire_at;
	int64_t spent, reserved, requests, refused, expired;
};

struct mem_hold {
	char key[BUDGET_KEY_MAX];
	int64_t expire_at;
};

struct mem_lease {
	char id[33];
	double until;               /* expiry; 0: never */
	int64_t amount;
	int n;
	struct mem_hold *hold;
};

struct budget_mem {
	pthread_mutex_t lock;
	double (*clock)(void *user);
	void *clock_user;
	double lease_s;             /* 0: leases never expire */
	char member[BUDGET_NAME_MAX];
	struct mem_counter *c;
	int nc, capc;
	struct mem_lease *l;
	int nl, capl;
	struct budget_ceiling *ceil;
	int nceil, capceil;
	struct budget_member *mem;
	int nmem, capmem;
};

/* Room for one more element in *v (n used, *cap allocated). */
static void
budget_mem_grow(void **v, int *cap, int n, size_t size)
{
	if (n < *cap)
		return;
	*cap = *cap > 0 ? *cap * 2 : 16;
	*v = xreallocarray(*v, (size_t)*cap, size);
}

static double
budget_mem_now(struct budget_mem *m)
{
	return m->clock != NULL ? m->clock(m->clock_user) : util_wall();
}

void *
budget_mem_new(const struct budget_options *o)
{
	struct budget_mem *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	m->clock = o->clock;
	m->clock_user = o->clock_user;
	m->lease_s = o->lease_ms > 0 ? o->lease_ms / 1000.0 : 0;
	snprintf(m->member, sizeof m->member, "%s", o->member);
	return m;
}

static void
budget_mem_free(void *impl)
{
	struct budget_mem *m = impl;
	for (int i = 0; i < m->nl; i++)
		free(m->l[i].hold);
	free(m->l);
	free(m->c);
	free(m->ceil);
	free(m->mem);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const char *
budget_mem_where(void *impl)
{
	return "memory";
}

/* ------------------------------------------------------------ counters */

static struct mem_counter *
budget_mem_counter_find(struct budget_mem *m, const char *key)
{
	for (int i = 0; i < m->nc; i++)
		if (strcmp(m->c[i].key, key) == 0)
			return &m->c[i];
	return NULL;
}

static int64_t *
budget_mem_field_of(struct mem_counter *c, enum mem_field f)
{
	switch (f) {
	case MEM_SPENT: return &c->spent;
	case MEM_RESERVED: return &c->reserved;
	case MEM_REQUESTS: return &c->requests;
	case MEM_REFUSED: return &c->refused;
	default: return &c->expired;
	}
}

/* Add delta to a counter's field, creating it; one whose period is over
 * is left alone (as in budget_lua). */
static void
budget_mem_adjust(struct budget_mem *m, const char *key, enum mem_field f, int64_t delta,
    int64_t exp, double now)
{
	if (exp > 0 && (double)exp <= now)
		return;
	struct mem_counter *c = budget_mem_counter_find(m, key);
	if (c == NULL) {
		budget_mem_grow((void **)&m->c, &m->capc, m->nc, sizeof *m->c);
		c = &m->c[m->nc++];
		memset(c, 0, sizeof *c);
		snprintf(c->key, sizeof c->key, "%s", key);
	}
	*budget_mem_field_of(c, f) += delta;
	if (exp > 0)
		c->expire_at = exp;
}

/* Drop counters whose period (and grace) is over: Redis expires them. */
static void
budget_mem_expire_counters(struct budget_mem *m, double now)
{
	for (int i = 0; i < m->nc; ) {
		if (m->c[i].expire_at > 0 && (double)m->c[i].expire_at <= now)
			m->c[i] = m->c[--m->nc];
		else
			i++;
	}
}

/* -------------------------------------------------------------- leases */

static struct mem_lease *
budget_mem_lease_find(struct budget_mem *m, const char *id)
{
	for (int i = 0; i < m->nl; i++)
		if (strcmp(m->l[i].id, id) == 0)
			return &m->l[i];
	return NULL;
}

static void
budget_mem_lease_drop(struct budget_mem *m, struct mem_lease *l)
{
	free(l->hold);
	*l = m->l[--m->nl];
}

/* Give back what a lease holds; count it as expired if asked. */
static void
budget_mem_unreserve(struct budget_mem *m, const struct mem_lease *l, double now, int expired)
{
	for (int i = 0; i < l->n; i++) {
		int64_t exp = l->hold[i].expire_at;
		struct mem_counter *c = budget_mem_counter_find(m, l->hold[i].key);
		if (l->amount <= 0 || c == NULL || (exp > 0 && (double)exp <= now))
			continue;
		c->reserved -= l->amount;
		if (expired)
			c->expired++;
	}
}

/* Reclaim leases whose holder stopped renewing them. */
static void
budget_mem_sweep(struct budget_mem *m, double now)
{
	for (int i = 0; i < m->nl; ) {
		struct mem_lease *l = &m->l[i];
		if (l->until == 0 || l->until > now) {
			i++;
			continue;
		}
		budget_mem_unreserve(m, l, now, 1);
		budget_mem_lease_drop(m, l);
	}
}

/* --------------------------------------------------- ceilings, members */

/* The ceiling in force for a scope; *stored = 1 if it comes from the store. */
static int64_t
budget_mem_ceiling_of(struct budget_mem *m, const struct budget_scope *s, int *stored)
{
	*stored = 0;
	for (int i = 0; s->limit[0] != '\0' && i < m->nceil; i++) {
		if (strcmp(m->ceil[i].limit, s->limit) == 0) {
			*stored = 1;
			return m->ceil[i].micros;
		}
	}
	return s->ceiling;
}

static void
budget_mem_touch_member(struct budget_mem *m, double now)
{
	for (int i = 0; i < m->nmem; i++) {
		if (strcmp(m->mem[i].name, m->member) == 0) {
			m->mem[i].last = now;
			return;
		}
	}
	budget_mem_grow((void **)&m->mem, &m->capmem, m->nmem, sizeof *m->mem);
	snprintf(m->mem[m->nmem].name, sizeof m->mem[m->nmem].name, "%s", m->member);
	m->mem[m->nmem++].last = now;
}

/* ---------------------------------------------------------- operations */

/* The room every scope leaves below hi (the Lua reserve's loop). */
static int64_t
budget_mem_room(struct budget_mem *m, const struct budget_scope *s, int n, int64_t hi,
    struct budget_grant *g)
{
	int64_t room = hi;
	for (int i = 0; i < n; i++) {
		int stored;
		int64_t ceil = budget_mem_ceiling_of(m, &s[i], &stored);
		if (ceil < 0)
			continue;
		struct mem_counter *c = budget_mem_counter_find(m, s[i].key);
		int64_t sp = c != NULL ? c->spent : 0, rs = c != NULL ? c->reserved : 0;
		if (ceil - sp - rs < room) {
			room = ceil - sp - rs;
			g->binding = i;
			g->spent = sp;
			g->inflight = rs;
			g->ceiling = ceil;
		}
	}
	return room;
}

static void
budget_mem_lease_add(struct budget_mem *m, const char *id, const struct budget_scope *s, int n,
    int64_t amount, double now)
{
	budget_mem_grow((void **)&m->l, &m->capl, m->nl, sizeof *m->l);
	struct mem_lease *l = &m->l[m->nl++];
	memset(l, 0, sizeof *l);
	snprintf(l->id, sizeof l->id, "%s", id);
	l->amount = amount;
	l->until = m->lease_s > 0 ? now + m->lease_s : 0;
	l->n = n;
	l->hold = xcalloc((size_t)(n > 0 ? n : 1), sizeof *l->hold);
	for (int i = 0; i < n; i++) {
		snprintf(l->hold[i].key, sizeof l->hold[i].key, "%s", s[i].key);
		l->hold[i].expire_at = s[i].expire_at;
	}
}

static int
budget_mem_reserve(void *impl, const char *id, const struct budget_scope *s, int n,
    int64_t min, int64_t max, struct budget_grant *g)
{
	struct budget_mem *m = impl;
	int rc = BUDGET_OK;
	pthread_mutex_lock(&m->lock);
	double now = budget_mem_now(m);
	budget_mem_sweep(m, now);
	budget_mem_expire_counters(m, now);
	struct mem_lease *old = budget_mem_lease_find(m, id);
	if (old != NULL) {        /* a retried reserve: the grant already made */
		g->granted = old->amount;
		pthread_mutex_unlock(&m->lock);
		return BUDGET_OK;
	}
	int64_t room = budget_mem_room(m, s, n, max, g);
	if (room < min) {
		for (int i = 0; i < n; i++)
			budget_mem_adjust(m, s[i].key, MEM_REFUSED, 1, s[i].expire_at, now);
		rc = BUDGET_REFUSED;
	} else {
		for (int i = 0; i < n; i++)
			budget_mem_adjust(m, s[i].key, MEM_RESERVED, room, s[i].expire_at, now);
		budget_mem_lease_add(m, id, s, n, room, now);
		g->granted = room;
	}
	budget_mem_touch_member(m, now);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
budget_mem_settle(void *impl, const char *id, const struct budget_scope *s, int n, int64_t actual,
    int count, char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	double now = budget_mem_now(m);
	struct mem_lease *l = budget_mem_lease_find(m, id);
	if (l != NULL) {          /* else swept already: only the spend is added */
		budget_mem_unreserve(m, l, now, 0);
		budget_mem_lease_drop(m, l);
	}
	for (int i = 0; i < n; i++) {
		budget_mem_adjust(m, s[i].key, MEM_SPENT, actual, s[i].expire_at, now);
		if (count > 0)
			budget_mem_adjust(m, s[i].key, MEM_REQUESTS, count, s[i].expire_at, now);
	}
	budget_mem_touch_member(m, now);
	pthread_mutex_unlock(&m->lock);
	return BUDGET_OK;
}

static int
budget_mem_release(void *impl, const char *id, char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	struct mem_lease *l = budget_mem_lease_find(m, id);
	if (l != NULL) {
		budget_mem_unreserve(m, l, budget_mem_now(m), 0);
		budget_mem_lease_drop(m, l);
	}
	pthread_mutex_unlock(&m->lock);
	return BUDGET_OK;
}

static int
budget_mem_renew(void *impl, const char *const *ids, int n, int *lost, char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	double now = budget_mem_now(m);
	for (int i = 0; i < n; i++) {
		struct mem_lease *l = budget_mem_lease_find(m, ids[i]);
		lost[i] = l == NULL;
		if (l != NULL && l->until != 0)
			l->until = now + m->lease_s;
	}
	pthread_mutex_unlock(&m->lock);
	return BUDGET_OK;
}

static int
budget_mem_read(void *impl, const struct budget_scope *s, int n, struct budget_state *out,
    char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	double now = budget_mem_now(m);
	budget_mem_sweep(m, now);
	budget_mem_expire_counters(m, now);
	for (int i = 0; i < n; i++) {
		struct budget_state *o = &out[i];
		memset(o, 0, sizeof *o);
		o->ceiling = budget_mem_ceiling_of(m, &s[i], &o->stored);
		const struct mem_counter *c = budget_mem_counter_find(m, s[i].key);
		if (c == NULL)
			continue;
		o->spent = c->spent;
		o->inflight = c->reserved;
		o->requests = c->requests;
		o->refused = c->refused;
		o->expired = c->expired;
	}
	pthread_mutex_unlock(&m->lock);
	return BUDGET_OK;
}

static int
budget_mem_members(void *impl, struct budget_member *out, int max, char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	int n = UTIL_MIN(max, m->nmem);
	if (n > 0)     /* m->mem is NULL before the first member */
		memcpy(out, m->mem, (size_t)n * sizeof *out);
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int
budget_mem_ceilings(void *impl, struct budget_ceiling *out, int max, char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	int n = UTIL_MIN(max, m->nceil);
	if (n > 0)
		memcpy(out, m->ceil, (size_t)n * sizeof *out);
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int
budget_mem_set_ceiling(void *impl, const char *limit, int64_t micros, char *err, size_t len)
{
	struct budget_mem *m = impl;
	pthread_mutex_lock(&m->lock);
	int i = 0;
	while (i < m->nceil && strcmp(m->ceil[i].limit, limit) != 0)
		i++;
	if (micros == BUDGET_UNSET) {
		if (i < m->nceil)
			m->ceil[i] = m->ceil[--m->nceil];
	} else {
		if (i == m->nceil) {
			budget_mem_grow((void **)&m->ceil, &m->capceil, m->nceil, sizeof *m->ceil);
			snprintf(m->ceil[i].limit, sizeof m->ceil[i].limit, "%s", limit);
			m->nceil++;
		}
		m->ceil[i].micros = micros;
	}
	pthread_mutex_unlock(&m->lock);
	return BUDGET_OK;
}

static int
budget_mem_ping(void *impl, char *err, size_t len)
{
	return BUDGET_OK;
}

const struct budget_ops budget_mem_ops = {
	.reserve = budget_mem_reserve,
	.settle = budget_mem_settle,
	.release = budget_mem_release,
	.renew = budget_mem_renew,
	.read = budget_mem_read,
	.members = budget_mem_members,
	.ceilings = budget_mem_ceilings,
	.set_ceiling = budget_mem_set_ceiling,
	.ping = budget_mem_ping,
	.where = budget_mem_where,
	.free = budget_mem_free,
};
