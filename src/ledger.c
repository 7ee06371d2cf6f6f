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
	if (r->clamped_from > 0)
		cJSON_AddNumberToObject(o, "clamped_from", (double)r->clamped_from);
	if (r->team != NULL)
		cJSON_AddStringToObject(o, "team", r->team);
	if (r->member != NULL)
		cJSON_AddStringToObject(o, "member", r->member);
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

static int64_t
get_int(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return 0;
	return (int64_t)llround(it->valuedouble);
}

static void
get_str(const cJSON *o, const char *name, char *dst, size_t len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	if (cJSON_IsString(it))
		snprintf(dst, len, "%s", it->valuestring);
	else
		dst[0] = '\0';
}

static int
parse_entry(const char *line, size_t len, struct ledger_entry *e)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "epoch");
	if (cJSON_IsNumber(t)) {
		e->time = t->valuedouble;
	} else {
		char iso[40];
		get_str(o, "time", iso, sizeof(iso));
		e->time = ratelimit_parse_rfc3339(iso);
		if (e->time < 0) {
			cJSON_Delete(o);
			return -1;
		}
	}
	e->pane = (int)get_int(o, "pane");
	get_str(o, "pane_name", e->pane_name, sizeof(e->pane_name));
	get_str(o, "model_asked", e->model_asked, sizeof(e->model_asked));
	get_str(o, "model_used", e->model_used, sizeof(e->model_used));
	struct usage *u = &e->usage;
	u->input_tokens = get_int(o, "input_tokens");
	u->output_tokens = get_int(o, "output_tokens");
	u->cache_read_tokens = get_int(o, "cache_read_tokens");
	u->cache_write_5m_tokens = get_int(o, "cache_write_5m_tokens");
	u->cache_write_1h_tokens = get_int(o, "cache_write_1h_tokens");
	u->reasoning_tokens = get_int(o, "reasoning_tokens");
	u->web_search_requests = get_int(o, "web_search_requests");
	u->has_usage = usage_total_tokens(u) > 0;
	u->complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "usage_complete"));
	snprintf(u->model, sizeof(u->model), "%s", e->model_used);
	get_str(o, "request_id", u->request_id, sizeof(u->request_id));
	get_str(o, "error", u->error_type, sizeof(u->error_type));
	const cJSON *cm = cJSON_GetObjectItemCaseSensitive(o, "cost_micros");
	if (cJSON_IsNumber(cm)) {
		e->cost_micros = get_int(o, "cost_micros");
	} else {
		const cJSON *usd = cJSON_GetObjectItemCaseSensitive(o, "cost_usd");
		e->cost_micros = cJSON_IsNumber(usd) ? llround(usd->valuedouble * 1e6) : 0;
	}
	e->priced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "priced"));
	e->status = (int)get_int(o, "status");
	e->retries = (int)get_int(o, "retries");
	e->fallbacks = (int)get_int(o, "fallbacks");
	e->n429 = (int)get_int(o, "n429");
	e->n529 = (int)get_int(o, "n529");
	e->circuit = (int)get_int(o, "circuit");
	e->refused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "refused"));
	e->charged_micros = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "charged_micros")) ?
	    get_int(o, "charged_micros") : e->cost_micros;
	e->max_tokens = get_int(o, "max_tokens");
	e->clamped_from = get_int(o, "clamped_from");
	e->latency_ms = get_int(o, "latency_ms");
	get_str(o, "team", e->team, sizeof(e->team));
	get_str(o, "member", e->member, sizeof(e->member));
	cJSON_Delete(o);
	return 0;
}

int
ledger_read(const char *path, ledger_fn fn, void *user)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;          /* torn last line: still being written, or a crash */
		struct ledger_entry e;
		if (parse_entry(line, (size_t)n - 1, &e) < 0)
			continue;
		if (fn != NULL)
			fn(&e, user);
		count++;
	}
	free(line);
	fclose(f);
	return count;
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
