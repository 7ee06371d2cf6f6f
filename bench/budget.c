/*
 * budget micro-benchmark: the time one request spends in the budget store,
 * a reserve plus a settle (the two calls a metered request makes) over 7
 * scopes (pane, member and team x day/week/month), from CONC threads
 * sharing one store, until N pairs are done or SECONDS have passed. Each
 * request holds its lease HOLD_MS between the two calls (its upstream
 * time; 0: closed loop, the store's throughput limit). Prints one line:
 *   p50_us p99_us pairs_per_s pairs
 * usage: budget URL CONC N SECONDS POOL HOLD_MS   (URL: memory or redis://...)
 * Run by bench/budget.sh, which compares Redis with memory in one run.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "period.h"
#include "util.h"

struct worker {
	budget_t *b;
	struct budget_scope s[7];
	int n;
	int hold_ms;
	int64_t deadline_ms;
	int64_t *lat_us;
	int done;
	int errors;
};

static void *
bench_run(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n && util_now_ms() < w->deadline_ms; i++) {
		struct budget_grant g;
		budget_lease_t *l = NULL;
		int64_t t0 = util_now_us();
		if (budget_reserve(w->b, w->s, 7, 1000, 50000, &g, &l) != BUDGET_OK) {
			w->errors++;
			continue;
		}
		int64_t t1 = util_now_us();
		if (w->hold_ms > 0) {
			struct timespec ts = { w->hold_ms / 1000, (long)(w->hold_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		int64_t t2 = util_now_us();
		if (budget_settle(w->b, l, 1200) != BUDGET_OK) {
			w->errors++;
			continue;
		}
		w->lat_us[w->done++] = (t1 - t0) + (util_now_us() - t2);
	}
	return NULL;
}

static int
bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void
bench_scopes(struct budget_scope *s, int worker)
{
	struct period_tz utc = { 0, 0 };
	double now = util_wall();
	char member[64], pane[64];
	snprintf(member, sizeof member, "member:m%d", worker % 3);
	snprintf(pane, sizeof pane, "pane:m%d:%d", worker % 3, worker);
	budget_scope_plain(&s[0], pane, BUDGET_MAX_MICROS);
	for (int k = 0; k < PERIOD_COUNT; k++) {
		budget_scope_period(&s[1 + k], member, (enum period_kind)k, &utc, now, NULL,
		    BUDGET_MAX_MICROS);
		budget_scope_period(&s[4 + k], "team", (enum period_kind)k, &utc, now, NULL,
		    BUDGET_MAX_MICROS);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: budget URL CONC N SECONDS POOL HOLD_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int conc = atoi(argv[2]), n = atoi(argv[3]), secs = atoi(argv[4]);
	char team[64], *err = NULL;
	snprintf(team, sizeof team, "bench%d", (int)getpid());
	struct budget_options o = { .url = argv[1], .team = team, .member = "bench",
		.pool = atoi(argv[5]) };
	budget_t *b = budget_open(&o, &err);
	if (b == NULL) {
		fprintf(stderr, "budget: %s\n", err);
		return 1;
	}
	struct worker *w = xcalloc((size_t)conc, sizeof *w);
	pthread_t *t = xcalloc((size_t)conc, sizeof *t);
	int64_t deadline = util_now_ms() + secs * 1000LL, t0 = util_now_us();
	for (int i = 0; i < conc; i++) {
		w[i].b = b;
		w[i].n = n / conc;
		w[i].hold_ms = atoi(argv[6]);
		w[i].deadline_ms = deadline;
		w[i].lat_us = xcalloc((size_t)w[i].n + 1, sizeof(int64_t));
		bench_scopes(w[i].s, i);
		pthread_create(&t[i], NULL, bench_run, &w[i]);
	}
	int64_t *all = xcalloc((size_t)n + 1, sizeof *all);
	int total = 0, errors = 0;
	for (int i = 0; i < conc; i++) {
		pthread_join(t[i], NULL);
		memcpy(all + total, w[i].lat_us, (size_t)w[i].done * sizeof *all);
		total += w[i].done;
		errors += w[i].errors;
		free(w[i].lat_us);
	}
	double secs_taken = (double)(util_now_us() - t0) / 1e6;
	budget_close(b);
	if (total == 0 || errors > 0) {
		fprintf(stderr, "budget: %d pairs, %d errors\n", total, errors);
		return 1;
	}
	qsort(all, (size_t)total, sizeof *all, bench_cmp);
	printf("%lld %lld %.0f %d\n", (long long)all[total / 2], (long long)all[total * 99 / 100],
	    total / secs_taken, total);
	free(all);
	free(w);
	free(t);
	return 0;
}
