/*
 * ledger: owns the append-only JSONL file of finished requests. Each record
 * is one cJSON_PrintUnformatted line written with a single write() on an
 * O_APPEND fd, so concurrent writers (threads, or two tokmux processes)
 * never interleave inside a line. There is no fsync per line: a request
 * costs far more than losing the last few lines of page cache in a power
 * cut, and a crash can only leave a torn last line, which readers skip.
 * ledger_close() does fsync.
 */
#include "ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ratelimit.h"
#include "util.h"

struct ledger {
	pthread_mutex_t lock;
	int fd;
	char *path;
	char *team, *member;      /* ledger_set_member */
};

char *
ledger_default_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	if (state != NULL && state[0] == '/')
		return xasprintf("%s/tokmux/ledger.jsonl", state);
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());
		home = pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/tmp";
	}
	return xasprintf("%s/.local/state/tokmux/ledger.jsonl", home);
}

/* mkdir -p of the directory part of path; new directories are 0700. */
static int
make_parents(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int r = 0;
	if (slash == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			r = -1;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(dir);
	return r;
}

/* After a crash the file may end inside a line: end it, so the next
 * record starts on a line of its own (the torn one is skipped on read). */
static void
terminate_torn_line(int fd)
{
	struct stat st;
	char last;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		(void)util_write_all(fd, "\n", 1);
}

ledger_t *
ledger_open(const char *path, char **err)
{
	if (make_parents(path) < 0) {
		*err = xasprintf("ledger %s: cannot create its directory: %s", path, strerror(errno));
		return NULL;
	}
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err = xasprintf("ledger %s: %s", path, strerror(errno));
		return NULL;
	}
	terminate_torn_line(fd);
	ledger_t *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->fd = fd;
	l->path = xstrdup(path);
	return l;
}

void
ledger_close(ledger_t *l)
{
	if (l == NULL)
		return;
	fsync(l->fd);
	close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l->team);
	free(l->member);
	free(l);
}

void
ledger_set_member(ledger_t *l, const char *team, const char *member)
{
	free(l->team);
	free(l->member);
	l->team = team != NULL ? xstrdup(team) : NULL;
	l->member = member != NULL ? xstrdup(member) : NULL;
}

static void
add_str(cJSON *o, const char *name, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void
iso_time(double t, char *buf, size_t len)
{
	time_t sec = (time_t)floor(t);
	unsigned ms = (unsigned)((t - (double)sec) * 1000) % 1000;
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", ms);
}

/* The JSON line for a record (without the newline); malloc'd. */
static char *
record_json(const struct ledger_record *r)
{
	char when[40];
	iso_time(r->time, when, sizeof(when));
	const struct usage *u = &r->usage;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "epoch", floor(r->time * 1000) / 1000);
	cJSON_AddNumberToObject(o, "pane", r->pane);
	add_str(o, "pane_name", r->pane_name);
	add_str(o, "agent", r->agent);
	if (r->branch != NULL)
		cJSON_AddStringToObject(o, "branch", r->branch);
	if (r->worktree != NULL)
		cJSON_AddStringToObject(o, "worktree", r->worktree);
	add_str(o, "key_hash", r->key_hash);
	add_str(o, "api", r->api);
	add_str(o, "model_asked", r->model_asked);
	add_str(o, "model_used", r->model_used);
	cJSON_AddNumberToObject(o, "input_tokens", (double)u->input_tokens);
	cJSON_AddNumberToObject(o, "output_tokens", (double)u->output_tokens);
	cJSON_AddNumberToObject(o, "cache_read_tokens", (double)u->cache_read_tokens);
	cJSON_AddNumberToObject(o, "cache_write_5m_tokens", (double)u->cache_write_5m_tokens);
	cJSON_AddNumberToObject(o, "cache_write_1h_tokens", (double)u->cache_write_1h_tokens);
	cJSON_AddNumberToObject(o, "reasoning_tokens", (double)u->reasoning_tokens);
	cJSON_AddNumberToObject(o, "web_search_requests", (double)u->web_search_requests);
	cJSON_AddBoolToObject(o, "usage_complete", u->complete);
	cJSON_AddNumberToObject(o, "cost_usd", (double)r->cost_micros / 1e6);
	cJSON_AddNumberToObject(o, "cost_micros", (double)r->cost_micros);
	cJSON_AddBoolToObject(o, "priced", r->priced);
	cJSON_AddNumberToObject(o, "status", r->status);
	cJSON_AddNumberToObject(o, "retries", r->retries);
	cJSON_AddNumberToObject(o, "fallbacks", r->fallbacks);
	cJSON_AddNumberToObject(o, "n429", r->n429);
	cJSON_AddNumberToObject(o, "n529", r->n529);
	if (r->circuit)
		cJSON_AddNumberToObject(o, "circuit", r->circuit);
	if (r->refused)
		cJSON_AddBoolToObject(o, "refused", 1);
	if (r->charged_micros > r->cost_micros) {
		cJSON_AddNumberToObject(o, "charged_usd", (double)r->charged_micros / 1e6);
		cJSON_AddNumberToObject(o, "charged_micros", (double)r->charged_micros);
	}
	if (r->reserved_micros > 0)
		cJSON_AddNumberToObject(o, "reserved_micros", (double)r->reserved_micros);
	if (r->max_tokens > 0)
		cJSON_AddNumberToObject(o, "max_tokens", (double)r->max_tokens);
	if (r->clamped_from > 0) {
		cJSON_AddBoolToObject(o, "clamped", 1);
		cJSON_AddNumberToObject(o, "clamped_from", (double)r->clamped_from);
	}
	if (r->session != NULL)
		cJSON_AddStringToObject(o, "session", r->session);
	if (r->team != NULL)
		cJSON_AddStringToObject(o, "team", r->team);
	if (r->member != NULL)
		cJSON_AddStringToObject(o, "member", r->member);
	if (r->agent_session != NULL)
		cJSON_AddStringToObject(o, "agent_session", r->agent_session);
	if (r->subagent != NULL)
		cJSON_AddStringToObject(o, "subagent", r->subagent);
	if (r->stop_reason != NULL)
		cJSON_AddStringToObject(o, "stop_reason", r->stop_reason);
	cJSON_AddNumberToObject(o, "latency_ms", (double)r->latency_ms);
	add_str(o, "request_id", r->request_id != NULL ? r->request_id
	    : u->request_id[0] != '\0' ? u->request_id : NULL);
	add_str(o, "error", r->error != NULL ? r->error
	    : u->error_type[0] != '\0' ? u->error_type : NULL);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatal("out of memory printing a ledger record");
	return s;
}

int
ledger_append(ledger_t *l, const struct ledger_record *r)
{
	struct ledger_record rm = *r;
	if (rm.team == NULL)
		rm.team = l->team;
	if (rm.member == NULL)
		rm.member = l->member;
	char *json = record_json(&rm);
	size_t n = strlen(json);
	char *line = xmalloc(n + 2);
	memcpy(line, json, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	cJSON_free(json);
	pthread_mutex_lock(&l->lock);
	ssize_t w;
	do {
		w = write(l->fd, line, n + 1);
	} while (w < 0 && errno == EINTR);
	int rc = 0;
	if (w < 0) {
		log_debug("ledger %s: write: %s", l->path, strerror(errno));
		rc = -1;
	} else if ((size_t)w < n + 1) {
		/* disk full mid-line: finish the line so the next one starts clean */
		rc = util_write_all(l->fd, line + w, n + 1 - (size_t)w);
	}
	pthread_mutex_unlock(&l->lock);
	free(line);
	return rc;
}

/* ---- reading ---- */

/* Why a line is not a record. */
enum ledger_bad { LEDGER_OK, LEDGER_NOT_JSON, LEDGER_NO_TIME, LEDGER_RANGE };

/* A number field: 0 when absent or not a number; *bad when it is outside
 * [min, max] (or not finite), so no cast below can overflow. */
static int64_t
ledger_get_int(const cJSON *o, const char *name, int64_t min, int64_t max, int *bad)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(it))
		return 0;
	double v = it->valuedouble;
	if (!isfinite(v) || v < (double)min || v > (double)max) {
		*bad = 1;
		return 0;
	}
	return (int64_t)llround(v);
}

static void
ledger_get_str(const cJSON *o, const char *name, char *dst, size_t len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (cJSON_IsString(it))
		snprintf(dst, len, "%s", it->valuestring);
	else
		dst[0] = '\0';
}

/* true, or a number above 0 */
static int
ledger_get_flag(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsTrue(it) || (cJSON_IsNumber(it) && it->valuedouble > 0);
}

/* "epoch" (seconds), else the ISO "time"; -1 if neither is usable. */
static double
ledger_get_time(const cJSON *o)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "epoch");
	if (cJSON_IsNumber(t))
		return isfinite(t->valuedouble) && t->valuedouble >= 0 &&
		    t->valuedouble < 1e11 ? t->valuedouble : -1;
	char iso[40];
	ledger_get_str(o, "time", iso, sizeof(iso));
	return ratelimit_parse_rfc3339(iso);
}

/* Tokens and cost; *bad when any is out of range. */
static void
ledger_get_usage(const cJSON *o, struct ledger_entry *e, int *bad)
{
	struct usage *u = &e->usage;
	const int64_t max = LEDGER_VALUE_MAX;
	u->input_tokens = ledger_get_int(o, "input_tokens", 0, max, bad);
	u->output_tokens = ledger_get_int(o, "output_tokens", 0, max, bad);
	u->cache_read_tokens = ledger_get_int(o, "cache_read_tokens", 0, max, bad);
	u->cache_write_5m_tokens = ledger_get_int(o, "cache_write_5m_tokens", 0, max, bad);
	u->cache_write_1h_tokens = ledger_get_int(o, "cache_write_1h_tokens", 0, max, bad);
	u->reasoning_tokens = ledger_get_int(o, "reasoning_tokens", 0, max, bad);
	u->web_search_requests = ledger_get_int(o, "web_search_requests", 0, max, bad);
	u->has_usage = usage_total_tokens(u) > 0;
	u->complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "usage_complete"));
	snprintf(u->model, sizeof(u->model), "%s", e->model_used);
	ledger_get_str(o, "request_id", u->request_id, sizeof(u->request_id));
	ledger_get_str(o, "error", u->error_type, sizeof(u->error_type));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "cost_micros"))) {
		e->cost_micros = ledger_get_int(o, "cost_micros", 0, max, bad);
	} else {
		const cJSON *usd = cJSON_GetObjectItemCaseSensitive(o, "cost_usd");
		double v = cJSON_IsNumber(usd) ? usd->valuedouble * 1e6 : 0;
		if (!isfinite(v) || v < 0 || v > (double)max)
			*bad = 1;
		else
			e->cost_micros = llround(v);
	}
	e->charged_micros = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "charged_micros")) ?
	    ledger_get_int(o, "charged_micros", 0, max, bad) : e->cost_micros;
	e->max_tokens = ledger_get_int(o, "max_tokens", 0, max, bad);
	e->clamped_from = ledger_get_int(o, "clamped_from", 0, max, bad);
}

static void
ledger_get_fields(const cJSON *o, struct ledger_entry *e, int *bad)
{
	const int64_t n = 1000000000;   /* counts and statuses: far below INT_MAX */
	e->pane = (int)ledger_get_int(o, "pane", -n, n, bad);
	ledger_get_str(o, "pane_name", e->pane_name, sizeof(e->pane_name));
	ledger_get_str(o, "model_asked", e->model_asked, sizeof(e->model_asked));
	ledger_get_str(o, "model_used", e->model_used, sizeof(e->model_used));
	ledger_get_str(o, "session", e->session, sizeof(e->session));
	ledger_get_str(o, "agent", e->agent, sizeof(e->agent));
	ledger_get_str(o, "key_hash", e->key_hash, sizeof(e->key_hash));
	ledger_get_str(o, "branch", e->branch, sizeof(e->branch));
	ledger_get_str(o, "worktree", e->worktree, sizeof(e->worktree));
	ledger_get_str(o, "team", e->team, sizeof(e->team));
	ledger_get_str(o, "member", e->member, sizeof(e->member));
	ledger_get_str(o, "agent_session", e->agent_session, sizeof(e->agent_session));
	ledger_get_str(o, "subagent", e->subagent, sizeof(e->subagent));
	e->priced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "priced"));
	e->status = (int)ledger_get_int(o, "status", -n, n, bad);
	e->retries = (int)ledger_get_int(o, "retries", 0, n, bad);
	e->fallbacks = (int)ledger_get_int(o, "fallbacks", 0, n, bad);
	e->n429 = (int)ledger_get_int(o, "n429", 0, n, bad);
	e->n529 = (int)ledger_get_int(o, "n529", 0, n, bad);
	e->circuit = (int)ledger_get_int(o, "circuit", -n, n, bad);
	e->latency_ms = ledger_get_int(o, "latency_ms", -LEDGER_VALUE_MAX, LEDGER_VALUE_MAX, bad);
	e->refused = ledger_get_flag(o, "refused");
	e->clamped = ledger_get_flag(o, "clamped");
}

static enum ledger_bad
ledger_parse_entry(const char *line, size_t len, struct ledger_entry *e)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return LEDGER_NOT_JSON;
	}
	memset(e, 0, sizeof(*e));
	int bad = 0;
	e->time = ledger_get_time(o);
	ledger_get_fields(o, e, &bad);   /* model_used first: usage copies it */
	ledger_get_usage(o, e, &bad);
	cJSON_Delete(o);
	if (e->time < 0)
		return LEDGER_NO_TIME;
	return bad ? LEDGER_RANGE : LEDGER_OK;
}

int64_t
ledger_read_skipped(const struct ledger_read_stats *st)
{
	return st->not_json + st->no_time + st->out_of_range + st->torn;
}

int
ledger_read_all(const char *path, ledger_fn fn, void *user, struct ledger_read_stats *st)
{
	struct ledger_read_stats local;
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			st->torn++;     /* still being written, or a crash */
			break;
		}
		if (n == 1)
			continue;       /* an empty line */
		struct ledger_entry e;
		switch (ledger_parse_entry(line, (size_t)n - 1, &e)) {
		case LEDGER_NOT_JSON: st->not_json++; continue;
		case LEDGER_NO_TIME: st->no_time++; continue;
		case LEDGER_RANGE: st->out_of_range++; continue;
		case LEDGER_OK: break;
		}
		if (fn != NULL)
			fn(&e, user);
		st->records++;
	}
	int err = ferror(f) ? errno : 0;
	free(line);
	fclose(f);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return (int)UTIL_MIN(st->records, INT32_MAX);
}

int
ledger_read(const char *path, ledger_fn fn, void *user)
{
	int n = ledger_read_all(path, fn, user, NULL);
	return n < 0 && errno == ENOENT ? 0 : n;
}

struct spend {
	double since;
	int64_t micros;
};

static void
spend_fn(const struct ledger_entry *e, void *user)
{
	struct spend *s = user;
	if (e->time >= s->since)
		s->micros += e->charged_micros;
}

int64_t
ledger_spend_since(const char *path, double since)
{
	struct spend s = { since, 0 };
	ledger_read(path, spend_fn, &s);
	return s.micros;
}
