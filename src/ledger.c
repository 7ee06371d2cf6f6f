/*
 * ledger: owns the append-only JSONL file of requests: an intent line when
 * one is forwarded, an outcome line when it ends. Each record is one
 * cJSON_PrintUnformatted line written with a single write() on an O_APPEND
 * fd, so concurrent writers (threads, or two tokmux processes) never
 * interleave inside a line. There is no fsync per line: a crash of tokmux
 * loses nothing the kernel has (the page cache survives it), a power cut
 * may lose the last lines; a crash can only leave a torn last line, which
 * readers skip and the next append ends first. ledger_close() does fsync.
 *
 * A line the file does not take (ENOSPC, EROFS, EIO, EFBIG...) is held in
 * memory in order and written before the next line, and by the retry
 * thread on a backoff, so a full disk that frees up loses nothing; past
 * LEDGER_HOLD_MAX lines (or LEDGER_HOLD_BYTES) new lines are dropped and
 * counted. A line cut short by a full disk is taken back (truncated) when
 * nobody wrote after it, else ended with a newline; the whole line stays
 * held. Every change of that state goes to the notify callback.
 */
#include "ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ratelimit.h"
#include "util.h"

/* A line waiting for the file. */
struct ledger_held {
	struct ledger_held *next;
	size_t len;
	char line[];
};

struct ledger {
	pthread_mutex_t lock;       /* the fd, the held lines, the health */
	pthread_cond_t cond;        /* wakes the retry thread */
	int fd;
	char *path;
	char *team, *member;        /* ledger_set_member */
	struct ledger_held *head, *tail;
	size_t held_bytes;
	int torn;                   /* the file may end inside a line */
	struct ledger_health h;
	int closing;
	int thread_started;
	pthread_t thread;
	char id_prefix[9];          /* random per open: ids never repeat across processes */
	atomic_uint_fast64_t id_seq;
	pthread_mutex_t notify_lock;   /* serializes notify calls; taken before lock */
	ledger_notify_fn notify;
	void *notify_user;
	struct ledger_health told;  /* what notify last said */
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

/* The file may end inside a line (a crash, or a write cut short that
 * could not be taken back): end it, so the next record starts on a line
 * of its own (the torn one is skipped on read). 0 or an errno. */
static int
ledger_repair(ledger_t *l)
{
	struct stat st;
	char last;
	if (!l->torn)
		return 0;
	if (fstat(l->fd, &st) < 0)
		return errno;
	if (st.st_size > 0 && pread(l->fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
		if (util_write_all(l->fd, "\n", 1) < 0)
			return errno;
		l->h.repaired++;
	}
	l->torn = 0;
	return 0;
}

/* One line, whole or not at all where it can be helped. 0 or an errno. */
static int
ledger_write_line(ledger_t *l, const char *line, size_t n)
{
	size_t done = 0;
	int err = 0;
	while (done < n) {
		ssize_t w = write(l->fd, line + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 && errno != 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	if (err == 0 || done == 0)
		return err;
	/* Cut short: take back all that was written if nobody wrote after
	 * it, else end it before the next line. The whole line is held
	 * either way. */
	off_t end = lseek(l->fd, 0, SEEK_CUR);
	struct stat st;
	if (end < (off_t)done || fstat(l->fd, &st) < 0 || st.st_size != end ||
	    ftruncate(l->fd, end - (off_t)done) < 0)
		l->torn = 1;
	return err;
}

/* Write the held lines in order (lock held). 0 when none is left. */
static int
ledger_flush_held(ledger_t *l)
{
	int err = ledger_repair(l);
	while (err == 0 && l->head != NULL) {
		struct ledger_held *hd = l->head;
		err = ledger_write_line(l, hd->line, hd->len);
		if (err != 0)
			break;
		l->head = hd->next;
		if (l->head == NULL)
			l->tail = NULL;
		l->held_bytes -= hd->len;
		l->h.held--;
		free(hd);
	}
	return err;
}

/* Keep a line for later (lock held); past the bound it is dropped. */
static void
ledger_hold(ledger_t *l, const char *line, size_t n)
{
	if (l->h.held >= LEDGER_HOLD_MAX || l->held_bytes + n > LEDGER_HOLD_BYTES) {
		l->h.lost++;
		return;
	}
	struct ledger_held *hd = xmalloc(sizeof *hd + n);
	hd->next = NULL;
	hd->len = n;
	memcpy(hd->line, line, n);
	if (l->tail != NULL)
		l->tail->next = hd;
	else
		l->head = hd;
	l->tail = hd;
	l->held_bytes += n;
	l->h.held++;
}

/* Note how the last try went (lock held): failing, and its errno. */
static void
ledger_note(ledger_t *l, int err)
{
	if (err != 0)
		l->h.failures++;
	l->h.failing = err != 0 || l->h.held > 0;
	if (err != 0)
		l->h.error = err;
	else if (!l->h.failing)
		l->h.error = 0;
	if (l->h.failing)
		pthread_cond_signal(&l->cond);
}

/* Tell the callback what changed (never under l->lock). */
static void
ledger_tell(ledger_t *l)
{
	pthread_mutex_lock(&l->notify_lock);
	struct ledger_health h;
	ledger_health(l, &h);
	int changed = h.failing != l->told.failing;
	int differs = changed || h.error != l->told.error || h.held != l->told.held ||
	    h.lost != l->told.lost || h.failures != l->told.failures;
	if (differs && l->notify != NULL)
		l->notify(l->notify_user, &h, changed);
	if (differs)
		l->told = h;
	pthread_mutex_unlock(&l->notify_lock);
}

static void
ledger_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* The retry timer: while lines are held, try again after a backoff that
 * doubles from LEDGER_RETRY_MIN_MS to LEDGER_RETRY_MAX_MS. */
static void *
ledger_retry_main(void *arg)
{
	ledger_t *l = arg;
	int ms = LEDGER_RETRY_MIN_MS;
	pthread_mutex_lock(&l->lock);
	while (!l->closing) {
		if (l->head == NULL && !l->torn) {
			ms = LEDGER_RETRY_MIN_MS;
			pthread_cond_wait(&l->cond, &l->lock);
			continue;
		}
		struct timespec ts;
		ledger_deadline(&ts, ms);
		int rc = 0;
		while (!l->closing && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&l->cond, &l->lock, &ts);
		if (l->closing)
			break;
		ledger_note(l, ledger_flush_held(l));
		ms = UTIL_MIN(ms * 2, LEDGER_RETRY_MAX_MS);
		pthread_mutex_unlock(&l->lock);
		ledger_tell(l);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

ledger_t *
ledger_open(const char *path, char **err)
{
	if (util_mkdir_parents(path) < 0) {
		*err = xasprintf("ledger %s: cannot create its directory: %s", path, strerror(errno));
		return NULL;
	}
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err = xasprintf("ledger %s: %s", path, strerror(errno));
		return NULL;
	}
	ledger_t *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->notify_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	l->fd = fd;
	l->path = xstrdup(path);
	util_random_hex(l->id_prefix, 8);
	l->torn = 1;                /* a crash may have left one */
	int rerr = ledger_repair(l);
	if (rerr != 0)
		ledger_note(l, rerr);
	if (pthread_create(&l->thread, NULL, ledger_retry_main, l) == 0)
		l->thread_started = 1;
	return l;
}

void
ledger_close(ledger_t *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->closing = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->lock);
	ledger_flush_held(l);
	if (l->h.held > 0)
		log_debug("ledger %s: %lld lines could not be written", l->path, (long long)l->h.held);
	pthread_mutex_unlock(&l->lock);
	while (l->head != NULL) {
		struct ledger_held *n = l->head->next;
		free(l->head);
		l->head = n;
	}
	fsync(l->fd);
	close(l->fd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->notify_lock);
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

void
ledger_set_notify(ledger_t *l, ledger_notify_fn fn, void *user)
{
	pthread_mutex_lock(&l->notify_lock);
	l->notify = fn;
	l->notify_user = user;
	pthread_mutex_unlock(&l->notify_lock);
}

void
ledger_health(ledger_t *l, struct ledger_health *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->h;
	pthread_mutex_unlock(&l->lock);
}

int64_t
ledger_retry(ledger_t *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->head != NULL || l->torn)
		ledger_note(l, ledger_flush_held(l));
	int64_t left = l->h.held;
	pthread_mutex_unlock(&l->lock);
	ledger_tell(l);
	return left;
}

/* Append one line (with its newline): the held ones first, in order. */
static int
ledger_put(ledger_t *l, const char *line, size_t n)
{
	pthread_mutex_lock(&l->lock);
	l->torn = 1;                /* another writer may have crashed mid-line: look */
	int err = ledger_flush_held(l);
	if (err == 0)
		err = ledger_write_line(l, line, n);
	int rc = err == 0 ? 0 : -1;
	if (err != 0) {
		log_debug("ledger %s: write: %s", l->path, strerror(err));
		ledger_hold(l, line, n);
	}
	ledger_note(l, err);
	pthread_mutex_unlock(&l->lock);
	ledger_tell(l);
	return rc;
}

/* A string as valid UTF-8: each byte that is not part of a valid
 * sequence becomes U+FFFD, so the line stays valid JSON. NULL when s
 * needs no change. */
static char *
ledger_utf8(const char *s)
{
	size_t i = 0, n = strlen(s);
	uint32_t cp;
	while (i < n) {
		int k = util_utf8_decode(s + i, &cp);
		if (k <= 0)
			break;
		i += (size_t)k;
	}
	if (i >= n)
		return NULL;
	struct buf b = { 0 };
	buf_append(&b, s, i);
	while (i < n) {
		int k = util_utf8_decode(s + i, &cp);
		if (k <= 0) {
			buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			buf_append(&b, s + i, (size_t)k);
			i += (size_t)k;
		}
	}
	return b.data;
}

/* A string field, made valid UTF-8. */
static void
ledger_add_string(cJSON *o, const char *name, const char *v)
{
	char *fixed = ledger_utf8(v);
	cJSON_AddStringToObject(o, name, fixed != NULL ? fixed : v);
	free(fixed);
}

static void
ledger_add_str(cJSON *o, const char *name, const char *v)
{
	if (v != NULL)
		ledger_add_string(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void
ledger_iso_time(double t, char *buf, size_t len)
{
	time_t sec = (time_t)floor(t);
	unsigned ms = (unsigned)((t - (double)sec) * 1000) % 1000;
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", ms);
}

/* What an intent and an outcome both say: when, where, who, which model. */
static cJSON *
ledger_record_head(const struct ledger_record *r)
{
	char when[40];
	ledger_iso_time(r->time, when, sizeof(when));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "epoch", floor(r->time * 1000) / 1000);
	if (r->id != NULL)
		ledger_add_string(o, "id", r->id);
	cJSON_AddNumberToObject(o, "pane", r->pane);
	ledger_add_str(o, "pane_name", r->pane_name);
	ledger_add_str(o, "agent", r->agent);
	if (r->branch != NULL)
		ledger_add_string(o, "branch", r->branch);
	if (r->worktree != NULL)
		ledger_add_string(o, "worktree", r->worktree);
	ledger_add_str(o, "key_hash", r->key_hash);
	ledger_add_str(o, "api", r->api);
	ledger_add_str(o, "model_asked", r->model_asked);
	return o;
}

/* The fields written only when set, and the line's end. */
static void
ledger_record_tail(cJSON *o, const struct ledger_record *r)
{
	if (r->reserved_micros > 0)
		cJSON_AddNumberToObject(o, "reserved_micros", (double)r->reserved_micros);
	if (r->max_tokens > 0)
		cJSON_AddNumberToObject(o, "max_tokens", (double)r->max_tokens);
	if (r->clamped_from > 0) {
		cJSON_AddBoolToObject(o, "clamped", 1);
		cJSON_AddNumberToObject(o, "clamped_from", (double)r->clamped_from);
	}
	if (r->session != NULL)
		ledger_add_string(o, "session", r->session);
	if (r->team != NULL)
		ledger_add_string(o, "team", r->team);
	if (r->member != NULL)
		ledger_add_string(o, "member", r->member);
	if (r->agent_session != NULL)
		ledger_add_string(o, "agent_session", r->agent_session);
	if (r->subagent != NULL)
		ledger_add_string(o, "subagent", r->subagent);
	if (r->stop_reason != NULL)
		ledger_add_string(o, "stop_reason", r->stop_reason);
}

/* cJSON to a line with its newline; malloc'd, *n its length. Frees o. */
static char *
ledger_record_line(cJSON *o, size_t *n)
{
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (json == NULL)
		fatal("out of memory printing a ledger record");
	*n = strlen(json) + 1;
	char *line = xmalloc(*n + 1);
	memcpy(line, json, *n - 1);
	line[*n - 1] = '\n';
	line[*n] = '\0';
	cJSON_free(json);
	return line;
}

/* The outcome line of a record; malloc'd. */
static char *
ledger_record_json(const struct ledger_record *r, size_t *n)
{
	const struct usage *u = &r->usage;
	cJSON *o = ledger_record_head(r);
	ledger_add_str(o, "model_used", r->model_used);
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
	ledger_record_tail(o, r);
	cJSON_AddNumberToObject(o, "latency_ms", (double)r->latency_ms);
	ledger_add_str(o, "request_id", r->request_id != NULL ? r->request_id
	    : u->request_id[0] != '\0' ? u->request_id : NULL);
	ledger_add_str(o, "error", r->error != NULL ? r->error
	    : u->error_type[0] != '\0' ? u->error_type : NULL);
	return ledger_record_line(o, n);
}

/* r with the ledger's team and member where it names none. */
static struct ledger_record
ledger_record_with_member(ledger_t *l, const struct ledger_record *r)
{
	struct ledger_record rm = *r;
	if (rm.team == NULL)
		rm.team = l->team;
	if (rm.member == NULL)
		rm.member = l->member;
	return rm;
}

int
ledger_append(ledger_t *l, const struct ledger_record *r)
{
	struct ledger_record rm = ledger_record_with_member(l, r);
	size_t n;
	char *line = ledger_record_json(&rm, &n);
	int rc = ledger_put(l, line, n);
	free(line);
	return rc;
}

int
ledger_intent(ledger_t *l, const struct ledger_record *r, char id[LEDGER_ID_LEN + 1])
{
	uint64_t seq = atomic_fetch_add(&l->id_seq, 1) + 1;
	snprintf(id, LEDGER_ID_LEN + 1, "%s%016llx", l->id_prefix, (unsigned long long)seq);
	struct ledger_record rm = ledger_record_with_member(l, r);
	rm.id = id;
	cJSON *o = ledger_record_head(&rm);
	cJSON_AddStringToObject(o, "kind", "intent");
	ledger_record_tail(o, &rm);
	size_t n;
	char *line = ledger_record_line(o, &n);
	int rc = ledger_put(l, line, n);
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

/* A line as a record; *intent: it is a request's intent line. */
static enum ledger_bad
ledger_parse_entry(const char *line, size_t len, struct ledger_entry *e, int *intent)
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
	ledger_get_str(o, "id", e->id, sizeof(e->id));
	e->reserved_micros = ledger_get_int(o, "reserved_micros", 0, LEDGER_VALUE_MAX, &bad);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	*intent = cJSON_IsString(kind) && strcmp(kind->valuestring, "intent") == 0;
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

/* ---- intents waiting for their outcome, while reading ---- */

/* An intent line seen and not yet settled: its id's hash and where it is. */
struct ledger_pending {
	uint64_t hash;              /* 0: an empty slot */
	off_t off;
};

/* Open addressing with linear probing; removal shifts back. */
struct ledger_pend_set {
	struct ledger_pending *slot;
	size_t cap, n;              /* cap a power of two, n <= cap / 2 */
};

static uint64_t
ledger_id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

static void ledger_pend_put(struct ledger_pend_set *ps, uint64_t h, off_t off);

static void
ledger_pend_grow(struct ledger_pend_set *ps)
{
	struct ledger_pending *old = ps->slot;
	size_t oldcap = ps->cap;
	ps->cap = oldcap != 0 ? oldcap * 2 : 64;
	ps->slot = xcalloc(ps->cap, sizeof *ps->slot);
	ps->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].hash != 0)
			ledger_pend_put(ps, old[i].hash, old[i].off);
	free(old);
}

static void
ledger_pend_put(struct ledger_pend_set *ps, uint64_t h, off_t off)
{
	if ((ps->n + 1) * 2 > ps->cap)
		ledger_pend_grow(ps);
	size_t i = (size_t)h & (ps->cap - 1);
	while (ps->slot[i].hash != 0 && ps->slot[i].hash != h)
		i = (i + 1) & (ps->cap - 1);
	if (ps->slot[i].hash == 0)
		ps->n++;
	ps->slot[i] = (struct ledger_pending){ h, off };
}

static void
ledger_pend_del(struct ledger_pend_set *ps, uint64_t h)
{
	if (ps->cap == 0)
		return;
	size_t m = ps->cap - 1, i = (size_t)h & m;
	while (ps->slot[i].hash != h) {
		if (ps->slot[i].hash == 0)
			return;
		i = (i + 1) & m;
	}
	ps->slot[i].hash = 0;
	ps->n--;
	for (size_t j = (i + 1) & m; ps->slot[j].hash != 0; j = (j + 1) & m) {
		size_t home = (size_t)ps->slot[j].hash & m;
		/* move j back to i unless its home lies cyclically in (i, j] */
		if (((j - home) & m) >= ((j - i) & m)) {
			ps->slot[i] = ps->slot[j];
			ps->slot[j].hash = 0;
			i = j;
		}
	}
}

static int
ledger_pend_cmp(const void *a, const void *b)
{
	off_t x = ((const struct ledger_pending *)a)->off, y = ((const struct ledger_pending *)b)->off;
	return x < y ? -1 : x > y;
}

/* Pass on the intents no outcome named, in file order. */
static void
ledger_pend_emit(struct ledger_pend_set *ps, FILE *f, ledger_fn fn, void *user,
    struct ledger_read_stats *st)
{
	size_t k = 0;
	if (ps->n == 0)
		return;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->slot[i].hash != 0)
			ps->slot[k++] = ps->slot[i];
	qsort(ps->slot, k, sizeof *ps->slot, ledger_pend_cmp);
	char *line = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < k; i++) {
		ssize_t n;
		int intent;
		struct ledger_entry e;
		if (fseeko(f, ps->slot[i].off, SEEK_SET) != 0 || (n = getline(&line, &cap, f)) <= 1 ||
		    ledger_parse_entry(line, (size_t)n - 1, &e, &intent) != LEDGER_OK)
			continue;
		e.unsettled = 1;
		e.charged_micros = e.reserved_micros;
		if (fn != NULL)
			fn(&e, user);
		st->records++;
		st->unsettled++;
	}
	free(line);
	free(ps->slot);
	memset(ps, 0, sizeof *ps);
}

/* One complete line (without its newline) at off, lineno 1-based. */
static void
ledger_read_line(const char *line, size_t len, off_t off, int64_t lineno,
    struct ledger_pend_set *ps, ledger_fn fn, void *user, struct ledger_read_stats *st)
{
	struct ledger_entry e;
	int intent = 0;
	switch (ledger_parse_entry(line, len, &e, &intent)) {
	case LEDGER_NOT_JSON: st->not_json++; return;
	case LEDGER_NO_TIME: st->no_time++; return;
	case LEDGER_RANGE:
		st->out_of_range++;
		if (st->first_bad_line == 0)
			st->first_bad_line = lineno;
		return;
	case LEDGER_OK: break;
	}
	if (intent) {
		if (e.id[0] != '\0')
			ledger_pend_put(ps, ledger_id_hash(e.id), off);
		return;
	}
	if (e.id[0] != '\0')
		ledger_pend_del(ps, ledger_id_hash(e.id));
	if (fn != NULL)
		fn(&e, user);
	st->records++;
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
	struct ledger_pend_set ps = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t lineno = 0;
	off_t off = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n') {
			st->torn++;     /* still being written, or a crash */
			break;
		}
		if (n > 1)          /* not an empty line */
			ledger_read_line(line, (size_t)n - 1, off, lineno, &ps, fn, user, st);
		off += n;
	}
	int err = ferror(f) ? errno : 0;
	free(line);
	if (err == 0)
		ledger_pend_emit(&ps, f, fn, user, st);
	free(ps.slot);
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
ledger_spend_fn(const struct ledger_entry *e, void *user)
{
	struct spend *s = user;
	if (e->time >= s->since)
		s->micros += e->charged_micros;
}

int64_t
ledger_spend_since(const char *path, double since)
{
	struct spend s = { since, 0 };
	ledger_read(path, ledger_spend_fn, &s);
	return s.micros;
}
