/*
 * loadgen: a small HTTP load generator for bench/gateway.sh (not built by
 * make). Sends Anthropic Messages requests over libcurl multi and records,
 * per request, the time to first byte (CURLINFO_STARTTRANSFER_TIME_T) and
 * to last byte (CURLINFO_TOTAL_TIME_T).
 *
 *   loadgen --url URL [--n N] [--c C] [--time S] [--stream] [--model M]
 *           [--max-tokens K] [--warmup W] [--raw FILE] [--expect STATUS]
 *     N requests (after W unrecorded warm-up requests, default C) at
 *     concurrency C, stopping early after S seconds. Prints one summary
 *     line; --raw appends "ttfb_us total_us" per request and a trailer
 *     "# elapsed_us N" so runs can be pooled.
 *   loadgen --report FILE
 *     The summary of the pooled samples in FILE.
 *   --chunk-delay D (with --stream, against a mock whose SSE event k
 *     leaves at t0 + k * D ms): also the lateness of each event after the
 *     first, arrival_k - arrival_0 - k * D, appended to the summary as
 *     "chunk_n= chunk_p50= chunk_p90= chunk_p99= chunk_max=" (us) and to
 *     --raw as "# chunk US" lines (pooled by --report).
 *   loadgen --url URL --agent-cc [--model M] [--fallback-model F]
 *           [--max-retries R] [--seed X]
 *     One request retried like Claude Code (API_NOTES.md 5.2): on 408, 409,
 *     429 or >= 500 wait min(500 * 2^(k-1), 32000) ms plus up to 25 %
 *     jitter (or retry-after when longer), at most R retries (10); after
 *     3 consecutive 529s switch to F if given. Prints the time from the
 *     first 529 to the successful answer (or that it gave up).
 *
 * Summary line (microseconds): "n= ok= err= sent= elapsed_us= rps=
 * ttfb_p50= ttfb_p90= ttfb_p99= ttfb_max= total_p50= total_p90= total_p99=
 * total_max=".
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_C 256

struct sample {
	long long ttfb, total;
};

struct opts {
	const char *url, *model, *fallback, *raw, *report;
	long n, c, warmup, max_tokens, expect, max_retries, seed;
	double time_s;
	int stream, agent_cc;
	long chunk_delay;             /* ms; 0: no per-event timing */
};

/* Per-event arrival times of one transfer (--chunk-delay). */
struct evt {
	long long t0;                 /* first event's arrival, 0 before */
	long k;                       /* events seen */
	int nl;                       /* newlines just seen (an event ends at "\n\n") */
};

static long long *lates;          /* lateness samples, us */
static long nlates, caplates;
static long chunk_delay_us;

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long now_us(void);

static void
late_add(long long v)
{
	if (nlates == caplates) {
		caplates = caplates ? 2 * caplates : 1024;
		lates = realloc(lates, sizeof *lates * (size_t)caplates);
		if (!lates) {
			perror("realloc");
			exit(1);
		}
	}
	lates[nlates++] = v;
}

static size_t
discard(char *p, size_t sz, size_t n, void *u)
{
	struct evt *e = u;
	if (e == NULL)
		return sz * n;
	long long t = now_us();
	for (size_t i = 0; i < sz * n; i++) {
		if (p[i] != '\n') {
			if (p[i] != '\r')
				e->nl = 0;
			continue;
		}
		if (++e->nl < 2)
			continue;
		e->nl = 0;   /* an event ended here */
		if (e->k == 0)
			e->t0 = t;
		else
			late_add(t - e->t0 - e->k * chunk_delay_us);
		e->k++;
	}
	return sz * n;
}

static char *
make_body(const char *model, long max_tokens, int stream)
{
	char *b = NULL;
	if (asprintf(&b, "{\"model\":\"%s\",\"max_tokens\":%ld,\"stream\":%s,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the benchmark, "
	    "briefly, in one short sentence please.\"}]}", model, max_tokens,
	    stream ? "true" : "false") < 0) {
		perror("asprintf");
		exit(1);
	}
	return b;
}

static struct curl_slist *
make_headers(void)
{
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "content-type: application/json");
	h = curl_slist_append(h, "anthropic-version: 2023-06-01");
	h = curl_slist_append(h, "x-api-key: sk-ant-bench-not-a-key");
	h = curl_slist_append(h, "Expect:");
	return h;
}

static void
setup(CURL *e, const struct opts *o, const char *body, struct curl_slist *h, struct evt *ev)
{
	if (ev != NULL)
		memset(ev, 0, sizeof *ev);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, ev);   /* NULL: just discard */
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)ev);
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static long long
pct(const long long *v, long n, double p)
{
	if (n == 0)
		return 0;
	long i = (long)(p / 100.0 * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static void
summarize(const struct sample *s, long n, long err, long sent, long long elapsed)
{
	long long *t = malloc(sizeof *t * (size_t)(n ? n : 1));
	long long *u = malloc(sizeof *u * (size_t)(n ? n : 1));
	if (!t || !u) {
		perror("malloc");
		exit(1);
	}
	for (long i = 0; i < n; i++) {
		t[i] = s[i].ttfb;
		u[i] = s[i].total;
	}
	qsort(t, (size_t)n, sizeof *t, cmp_ll);
	qsort(u, (size_t)n, sizeof *u, cmp_ll);
	printf("n=%ld ok=%ld err=%ld sent=%ld elapsed_us=%lld rps=%.1f "
	    "ttfb_p50=%lld ttfb_p90=%lld ttfb_p99=%lld ttfb_max=%lld "
	    "total_p50=%lld total_p90=%lld total_p99=%lld total_max=%lld\n",
	    n + err, n, err, sent, elapsed, elapsed > 0 ? (double)n * 1e6 / (double)elapsed : 0.0,
	    pct(t, n, 50), pct(t, n, 90), pct(t, n, 99), n ? t[n - 1] : 0,
	    pct(u, n, 50), pct(u, n, 90), pct(u, n, 99), n ? u[n - 1] : 0);
	free(t);
	free(u);
	if (nlates > 0) {
		qsort(lates, (size_t)nlates, sizeof *lates, cmp_ll);
		printf("chunk_n=%ld chunk_p50=%lld chunk_p90=%lld chunk_p99=%lld chunk_max=%lld\n",
		    nlates, pct(lates, nlates, 50), pct(lates, nlates, 90), pct(lates, nlates, 99),
		    lates[nlates - 1]);
	}
}

/* --report: pool the samples and elapsed times of every run in a raw file. */
static int
report(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	long n = 0, cap = 1024, err = 0;
	long long elapsed = 0;
	struct sample *s = malloc(sizeof *s * (size_t)cap);
	char line[256];
	while (s && fgets(line, sizeof line, f)) {
		long long a, b;
		long e;
		if (line[0] == '#') {
			if (sscanf(line, "# chunk %lld", &a) == 1)
				late_add(a);
			else if (sscanf(line, "# %lld %ld", &a, &e) == 2) {
				elapsed += a;
				err += e;
			}
			continue;
		}
		if (sscanf(line, "%lld %lld", &a, &b) != 2)
			continue;
		if (n == cap) {
			cap *= 2;
			s = realloc(s, sizeof *s * (size_t)cap);
			if (!s)
				break;
		}
		s[n].ttfb = a;
		s[n++].total = b;
	}
	fclose(f);
	if (!s) {
		perror("malloc");
		return 1;
	}
	summarize(s, n, err, n + err, elapsed);
	free(s);
	return 0;
}

/* N requests at concurrency C on one multi handle (connections reused). */
static int
run_load(const struct opts *o)
{
	char *body = make_body(o->model, o->max_tokens, o->stream);
	struct curl_slist *h = make_headers();
	CURLM *m = curl_multi_init();
	CURL *easy[MAX_C];
	long total_req = o->warmup + o->n, started = 0, done = 0, ok = 0, err = 0;
	struct sample *s = calloc((size_t)o->n + 1, sizeof *s);
	long long t0 = now_us(), t_meas = 0, deadline = t0 + (long long)(o->time_s * 1e6);
	int stopping = 0;

	if (o->warmup == 0)
		t_meas = t0;
	if (!m || !s) {
		fprintf(stderr, "loadgen: init failed\n");
		return 1;
	}
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o->c);
	struct evt ev[MAX_C];
	for (long i = 0; i < o->c && started < total_req; i++) {
		easy[i] = curl_easy_init();
		setup(easy[i], o, body, h, o->chunk_delay > 0 ? &ev[i] : NULL);
		curl_multi_add_handle(m, easy[i]);
		started++;
	}
	int running = 1;
	while (running || done < started) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *e = msg->easy_handle;
			long status = 0;
			curl_off_t st = 0, tt = 0;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &st);
			curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &tt);
			if (done >= o->warmup) {
				if (msg->data.result == CURLE_OK && status == o->expect) {
					s[ok].ttfb = (long long)st;
					s[ok++].total = (long long)tt;
				} else {
					if (err < 5)
						fprintf(stderr, "loadgen: request failed: %s, status %ld\n",
						    curl_easy_strerror(msg->data.result), status);
					err++;
				}
			} else if (msg->data.result != CURLE_OK || status != o->expect) {
				fprintf(stderr, "loadgen: warm-up request failed: %s, status %ld\n",
				    curl_easy_strerror(msg->data.result), status);
				err++;
			}
			if (++done == o->warmup)
				t_meas = now_us();   /* throughput counts from here */
			curl_multi_remove_handle(m, e);
			if (!stopping && now_us() > deadline)
				stopping = 1;
			if (!stopping && started < total_req) {
				struct evt *pe = NULL;
				curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&pe);
				if (pe != NULL)
					memset(pe, 0, sizeof *pe);
				curl_multi_add_handle(m, e);   /* same easy: same settings */
				started++;
				running = 1;
			} else
				curl_easy_cleanup(e);
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	long long t1 = now_us();
	long long elapsed = t_meas ? t1 - t_meas : 0;
	/* Measured requests: those completed after the warm-up ones. The
	 * elapsed time starts at the last warm-up completion. */
	if (o->raw) {
		FILE *f = fopen(o->raw, "a");
		if (!f) {
			fprintf(stderr, "loadgen: %s: %s\n", o->raw, strerror(errno));
			return 1;
		}
		for (long i = 0; i < ok; i++)
			fprintf(f, "%lld %lld\n", s[i].ttfb, s[i].total);
		for (long i = 0; i < nlates; i++)
			fprintf(f, "# chunk %lld\n", lates[i]);
		fprintf(f, "# %lld %ld\n", elapsed, err);
		fclose(f);
	}
	summarize(s, ok, err, started, elapsed);
	curl_multi_cleanup(m);
	curl_slist_free_all(h);
	free(body);
	free(s);
	return err ? 3 : 0;
}

struct hdrs {
	long retry_after;
};

static size_t
on_header(char *p, size_t sz, size_t n, void *u)
{
	struct hdrs *hd = u;
	size_t len = sz * n;
	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0)
		hd->retry_after = strtol(p + 12, NULL, 10);
	return len;
}

/* --agent-cc: one request with Claude Code's documented retry schedule. */
static int
run_agent_cc(const struct opts *o)
{
	const char *model = o->model;
	struct curl_slist *h = make_headers();
	CURL *e = curl_easy_init();
	long long first529 = 0, t_start = now_us();
	int consecutive529 = 0, retries = 0, n529 = 0;
	srand((unsigned)o->seed);
	for (;;) {
		char *body = make_body(model, o->max_tokens, o->stream);
		struct hdrs hd = { 0 };
		long status = 0;
		setup(e, o, body, h, NULL);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, &hd);
		CURLcode rc = curl_easy_perform(e);
		free(body);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		long long t = now_us();
		if (rc == CURLE_OK && status == 200) {
			long long from = first529 ? first529 : t_start;
			printf("outcome=ok model=%s retries=%d n529=%d first529_to_ok_us=%lld\n",
			    model, retries, n529, first529 ? t - from : 0);
			break;
		}
		if (status == 529) {
			n529++;
			if (!first529)
				first529 = t;
			consecutive529++;
		} else
			consecutive529 = 0;
		int retryable = rc != CURLE_OK || status == 408 || status == 409 || status == 429 ||
		    status >= 500;
		if (consecutive529 >= 3 && o->fallback && strcmp(model, o->fallback) != 0) {
			model = o->fallback;          /* FallbackTriggeredError: next call at once */
			consecutive529 = 0;
			continue;
		}
		if (!retryable || retries >= o->max_retries) {
			printf("outcome=gave_up model=%s retries=%d n529=%d first529_to_end_us=%lld\n",
			    model, retries, n529, first529 ? t - first529 : 0);
			break;
		}
		retries++;
		double d = 500.0 * (double)(1L << (retries - 1 < 20 ? retries - 1 : 20));
		if (d > 32000)
			d = 32000;
		d += d * 0.25 * ((double)rand() / RAND_MAX);
		if (hd.retry_after > 0 && hd.retry_after * 1000.0 > d)
			d = hd.retry_after * 1000.0;
		usleep((useconds_t)(d * 1000));
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return 0;
}

static void
usage(void)
{
	fputs("usage: loadgen --url URL [--n N] [--c C] [--time S] [--stream] [--model M]\n"
	    "               [--max-tokens K] [--warmup W] [--raw FILE] [--expect STATUS]\n"
	    "               [--chunk-delay MS]\n"
	    "       loadgen --report FILE\n"
	    "       loadgen --url URL --agent-cc [--model M] [--fallback-model F] "
	    "[--max-retries R] [--seed X]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct opts o = { .model = "claude-sonnet-4-5", .n = 1000, .c = 1, .warmup = -1,
		.max_tokens = 64, .expect = 200, .max_retries = 10, .seed = 1, .time_s = 20 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--stream") == 0)
			o.stream = 1;
		else if (strcmp(a, "--agent-cc") == 0)
			o.agent_cc = 1;
		else if (!v)
			usage();
		else if (strcmp(a, "--url") == 0)
			o.url = v, i++;
		else if (strcmp(a, "--model") == 0)
			o.model = v, i++;
		else if (strcmp(a, "--fallback-model") == 0)
			o.fallback = v, i++;
		else if (strcmp(a, "--raw") == 0)
			o.raw = v, i++;
		else if (strcmp(a, "--report") == 0)
			o.report = v, i++;
		else if (strcmp(a, "--n") == 0)
			o.n = atol(v), i++;
		else if (strcmp(a, "--c") == 0)
			o.c = atol(v), i++;
		else if (strcmp(a, "--warmup") == 0)
			o.warmup = atol(v), i++;
		else if (strcmp(a, "--max-tokens") == 0)
			o.max_tokens = atol(v), i++;
		else if (strcmp(a, "--expect") == 0)
			o.expect = atol(v), i++;
		else if (strcmp(a, "--max-retries") == 0)
			o.max_retries = atol(v), i++;
		else if (strcmp(a, "--seed") == 0)
			o.seed = atol(v), i++;
		else if (strcmp(a, "--time") == 0)
			o.time_s = atof(v), i++;
		else if (strcmp(a, "--chunk-delay") == 0)
			o.chunk_delay = atol(v), i++;
		else
			usage();
	}
	if (o.report)
		return report(o.report);
	if (!o.url || o.n < 1 || o.c < 1 || o.c > MAX_C || o.time_s <= 0)
		usage();
	if (o.warmup < 0)
		o.warmup = o.c;
	chunk_delay_us = o.chunk_delay * 1000;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = o.agent_cc ? run_agent_cc(&o) : run_load(&o);
	curl_global_cleanup();
	return rc;
}
