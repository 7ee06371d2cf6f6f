/*
 * Tests for ledger: directory and file modes, concurrent appends (every
 * line parses, none interleave), torn and malformed lines skipped, field
 * round trip, spend_since, default path; a ledger that cannot be written
 * (/dev/full, a file size limit that cuts a line short) holds its lines,
 * says so and writes them in order once it can; torn lines left by
 * another writer are ended before the next append; intents and outcomes
 * pair up on read; strings that are not UTF-8 still make JSON lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "ledger.h"
#include "testtmp.h"
#include "util.h"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	testtmp_make(tmpdir, sizeof(tmpdir), "ledger");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return testtmp_remove(tmpdir);
}

static struct ledger_record
record(double t, int pane, int64_t cost)
{
	struct ledger_record r;
	memset(&r, 0, sizeof(r));
	r.time = t;
	r.pane = pane;
	r.pane_name = "claude";
	r.agent = "claude --dangerously-skip-permissions";
	r.key_hash = "0123456789abcdef";
	r.api = "anthropic";
	r.model_asked = "claude-opus-4-6";
	r.model_used = "claude-sonnet-4-5-20250929";
	r.usage.input_tokens = 1000;
	r.usage.output_tokens = 500;
	r.usage.cache_read_tokens = 2000;
	r.usage.cache_write_5m_tokens = 3000;
	r.usage.cache_write_1h_tokens = 7;
	r.usage.reasoning_tokens = 11;
	r.usage.web_search_requests = 1;
	r.usage.has_usage = 1;
	r.usage.complete = 1;
	r.cost_micros = cost;
	r.priced = 1;
	r.status = 200;
	r.retries = 2;
	r.fallbacks = 1;
	r.n429 = 3;
	r.n529 = 4;
	r.latency_ms = 1234;
	r.request_id = "req_011CSLsW7mFqvHHnzrKdKjAE";
	r.error = NULL;
	return r;
}

static void
test_open_modes(void **state)
{
	(void)state;
	char *path = xasprintf("%s/a/b/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	assert_non_null(l);
	struct stat st;
	char *dir = xasprintf("%s/a/b", tmpdir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	ledger_close(l);
	/* reopening appends, does not truncate */
	l = ledger_open(path, &err);
	struct ledger_record r = record(1000.5, 1, 10);
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	l = ledger_open(path, &err);
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	assert_int_equal(ledger_read(path, NULL, NULL), 2);
	free(dir);
	free(path);

	/* a path under a regular file cannot be created */
	err = NULL;
	assert_null(ledger_open("/dev/null/x/ledger.jsonl", &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "/dev/null/x/ledger.jsonl"));
	free(err);
}

static void
collect(const struct ledger_entry *e, void *user)
{
	struct ledger_entry *out = user;
	*out = *e;
}

struct collected {
	struct ledger_entry *e;
	int n;
};

static void
collect_all(const struct ledger_entry *e, void *user)
{
	struct collected *c = user;
	if (c->n < 3)
		c->e[c->n] = *e;
	c->n++;
}

struct collect_every {
	struct ledger_entry *e;
	int n;
};

static void
collect_every_fn(const struct ledger_entry *e, void *user)
{
	struct collect_every *c = user;
	c->e[c->n++] = *e;
}

static void append_raw(const char *path, const char *s);

static void
test_round_trip(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(1755780059.25, 2, 22350);
	r.error = "overloaded_error";
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);

	/* the raw line: one JSON object, documented field names */
	FILE *f = fopen(path, "r");
	char line[4096];
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_true(line[strlen(line) - 1] == '\n');
	cJSON *o = cJSON_Parse(line);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "time")->valuestring, "2025-08-21T12:40:59.250Z");
	assert_true(cJSON_GetObjectItem(o, "cost_usd")->valuedouble == 0.02235);
	assert_int_equal(cJSON_GetObjectItem(o, "cost_micros")->valueint, 22350);
	assert_string_equal(cJSON_GetObjectItem(o, "key_hash")->valuestring, "0123456789abcdef");
	assert_string_equal(cJSON_GetObjectItem(o, "api")->valuestring, "anthropic");
	assert_string_equal(cJSON_GetObjectItem(o, "agent")->valuestring,
	    "claude --dangerously-skip-permissions");
	assert_int_equal(cJSON_GetObjectItem(o, "web_search_requests")->valueint, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "priced")));
	const char *fields[] = { "time", "epoch", "pane", "pane_name", "agent", "key_hash", "api",
	    "model_asked", "model_used", "input_tokens", "output_tokens", "cache_read_tokens",
	    "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens",
	    "web_search_requests", "cost_usd", "cost_micros", "priced", "status", "retries",
	    "fallbacks", "n429", "n529", "latency_ms", "request_id", "error" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(fields); i++)
		if (cJSON_GetObjectItem(o, fields[i]) == NULL)
			fail_msg("field %s missing", fields[i]);
	cJSON_Delete(o);

	struct ledger_entry e;
	assert_int_equal(ledger_read(path, collect, &e), 1);
	assert_true(e.time == 1755780059.25);
	assert_int_equal(e.pane, 2);
	assert_string_equal(e.pane_name, "claude");
	assert_string_equal(e.model_asked, "claude-opus-4-6");
	assert_string_equal(e.model_used, "claude-sonnet-4-5-20250929");
	assert_int_equal(e.usage.input_tokens, 1000);
	assert_int_equal(e.usage.output_tokens, 500);
	assert_int_equal(e.usage.cache_read_tokens, 2000);
	assert_int_equal(e.usage.cache_write_5m_tokens, 3000);
	assert_int_equal(e.usage.cache_write_1h_tokens, 7);
	assert_int_equal(e.usage.reasoning_tokens, 11);
	assert_int_equal(e.usage.web_search_requests, 1);
	assert_string_equal(e.usage.error_type, "overloaded_error");
	assert_string_equal(e.usage.request_id, "req_011CSLsW7mFqvHHnzrKdKjAE");
	assert_int_equal(e.cost_micros, 22350);
	assert_int_equal(e.priced, 1);
	assert_int_equal(e.status, 200);
	assert_int_equal(e.retries, 2);
	assert_int_equal(e.fallbacks, 1);
	assert_int_equal(e.n429, 3);
	assert_int_equal(e.n529, 4);
	assert_int_equal(e.latency_ms, 1234);
	assert_string_equal(e.agent, "claude --dangerously-skip-permissions");
	assert_string_equal(e.key_hash, "0123456789abcdef");
	assert_string_equal(e.session, "");
	assert_int_equal(e.refused, 0);
	assert_int_equal(e.clamped, 0);

	/* session and refused are written when set; branch, worktree, member and
	 * clamped (written by others) are read when present */
	l = ledger_open(path, &err);
	r.session = "0123456789abcdef";
	r.refused = 1;
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	append_raw(path, "{\"epoch\": 5, \"branch\": \"tokmux/1\", \"worktree\": \"/w/1\", "
	    "\"member\": \"ana\", \"clamped\": true, \"unknown_field\": [1]}\n");
	append_raw(path, "{\"epoch\": 6, \"clamped\": 2}\n");
	struct ledger_entry es[4];
	struct collect_every ca = { es, 0 };
	assert_int_equal(ledger_read(path, collect_every_fn, &ca), 4);
	assert_string_equal(es[1].session, "0123456789abcdef");
	assert_int_equal(es[1].refused, 1);
	assert_string_equal(es[2].branch, "tokmux/1");
	assert_string_equal(es[2].worktree, "/w/1");
	assert_string_equal(es[2].member, "ana");
	assert_int_equal(es[2].clamped, 1);
	assert_int_equal(es[3].clamped, 1);
	free(path);
}

#define THREADS 8
#define PER_THREAD 250

struct writer_arg {
	ledger_t *l;
	int id;
};

static void *
writer(void *p)
{
	struct writer_arg *a = p;
	for (int i = 0; i < PER_THREAD; i++) {
		struct ledger_record r = record(1000.0 + i, a->id, a->id * 1000 + i);
		/* long strings make torn writes more likely if they could happen */
		char name[200];
		memset(name, 'a' + a->id, sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		r.pane_name = name;
		if (ledger_append(a->l, &r) != 0)
			return (void *)1;
	}
	return NULL;
}

struct tally {
	int n;
	int64_t cost;
	int bad;
};

static void
tally_fn(const struct ledger_entry *e, void *user)
{
	struct tally *t = user;
	t->n++;
	t->cost += e->cost_micros;
	/* the pane name must be the writer's own letter throughout */
	char want = (char)('a' + e->pane);
	for (const char *s = e->pane_name; *s; s++)
		if (*s != want)
			t->bad++;
}

static void
test_concurrent_appends(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	assert_non_null(l);
	pthread_t th[THREADS];
	struct writer_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i].l = l;
		args[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	ledger_close(l);

	/* every line is a complete JSON object */
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lines = 0;
	while (getline(&line, &cap, f) > 0) {
		cJSON *o = cJSON_Parse(line);
		assert_true(cJSON_IsObject(o));
		cJSON_Delete(o);
		lines++;
	}
	free(line);
	fclose(f);
	assert_int_equal(lines, THREADS * PER_THREAD);

	struct tally t = { 0, 0, 0 };
	assert_int_equal(ledger_read(path, tally_fn, &t), THREADS * PER_THREAD);
	assert_int_equal(t.n, THREADS * PER_THREAD);
	assert_int_equal(t.bad, 0);
	/* sum over threads a of sum over i of (1000a + i) */
	int64_t want = 0;
	for (int a = 0; a < THREADS; a++)
		want += (int64_t)1000 * a * PER_THREAD + (int64_t)PER_THREAD * (PER_THREAD - 1) / 2;
	assert_int_equal(t.cost, want);
	free(path);
}

static void
append_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(util_write_all(fd, s, strlen(s)), 0);
	close(fd);
}

static void
test_torn_and_malformed(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(100.0, 1, 5);
	ledger_append(l, &r);
	append_raw(path, "this is not json\n");
	append_raw(path, "[1,2,3]\n");
	append_raw(path, "{\"pane\": 1}\n");              /* no time: skipped */
	append_raw(path, "\n");
	r = record(200.0, 1, 7);
	ledger_append(l, &r);
	append_raw(path, "{\"time\":\"1970-01-01T00:05:00Z\",\"cost_usd\":0.000011}\n");
	/* crash in the middle of a line */
	append_raw(path, "{\"time\":\"2025-08-21T12:40:59.000Z\",\"epoch\":1755780059,\"cost_mic");
	struct tally t = { 0, 0, 0 };
	assert_int_equal(ledger_read(path, tally_fn, &t), 3);
	assert_int_equal(t.cost, 5 + 7 + 11);
	assert_int_equal(ledger_spend_since(path, 150.0), 7 + 11);
	assert_int_equal(ledger_spend_since(path, 300.0), 11);
	assert_int_equal(ledger_spend_since(path, 301.0), 0);
	assert_int_equal(ledger_spend_since(path, 0), 23);
	ledger_close(l);
	/* reopening after the crash ends the torn line: the next record is readable */
	l = ledger_open(path, &err);
	r = record(400.0, 1, 100);
	ledger_append(l, &r);
	ledger_close(l);
	assert_int_equal(ledger_read(path, NULL, NULL), 4);
	assert_int_equal(ledger_spend_since(path, 0), 123);

	/* what a reader skipped, by reason; the torn line is now whole */
	append_raw(path, "{\"epoch\": 1e300}\n{\"epoch\": 10, \"input_tokens\": -1}\n"
	    "{\"epoch\": 10, \"cost_micros\": 2e15}\n{\"epoch\": 10, \"cost_usd\": 1e300}\n"
	    "{\"epoch\": 10, \"n429\": 1e10}\n{\"epoch\": 10, \"cost_micros\": 1e15}\n{\"epo");
	struct ledger_read_stats st;
	assert_int_equal(ledger_read_all(path, NULL, NULL, &st), 5);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.not_json, 3);    /* not json, an array, the line torn before */
	assert_int_equal(st.no_time, 2);     /* {"pane": 1}, epoch 1e300 */
	assert_int_equal(st.out_of_range, 4);
	assert_int_equal(st.first_bad_line, 11);   /* {"epoch": 10, "input_tokens": -1} */
	assert_int_equal(st.torn, 1);
	assert_int_equal(ledger_read_skipped(&st), 10);
	free(path);

	/* a missing file is zero records for ledger_read, ENOENT for ledger_read_all */
	char *missing = xasprintf("%s/none.jsonl", tmpdir);
	errno = 0;
	assert_int_equal(ledger_read_all(missing, NULL, NULL, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(ledger_read(missing, NULL, NULL), 0);
	assert_int_equal(ledger_spend_since(missing, 0), 0);
	free(missing);
}

/* branch and worktree: written when set, left out when not (a pane
 * outside any repository). */
static void
test_branch_fields(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(1000.0, 1, 10);
	r.branch = "tokmux/claude";
	r.worktree = "/home/u/src/app.tokmux/claude";
	assert_int_equal(ledger_append(l, &r), 0);
	r.branch = r.worktree = NULL;
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	FILE *f = fopen(path, "r");
	char line[4096];
	assert_non_null(fgets(line, sizeof(line), f));
	cJSON *o = cJSON_Parse(line);
	assert_string_equal(cJSON_GetObjectItem(o, "branch")->valuestring, "tokmux/claude");
	assert_string_equal(cJSON_GetObjectItem(o, "worktree")->valuestring,
	    "/home/u/src/app.tokmux/claude");
	cJSON_Delete(o);
	assert_non_null(fgets(line, sizeof(line), f));
	o = cJSON_Parse(line);
	assert_null(cJSON_GetObjectItem(o, "branch"));
	assert_null(cJSON_GetObjectItem(o, "worktree"));
	cJSON_Delete(o);
	fclose(f);
	/* read back: the last record has neither */
	struct ledger_entry e;
	assert_int_equal(ledger_read(path, collect, &e), 2);
	assert_string_equal(e.branch, "");
	assert_string_equal(e.worktree, "");
	free(path);
}

static void
test_default_path(void **state)
{
	(void)state;
	char *old_state = getenv("XDG_STATE_HOME") ? xstrdup(getenv("XDG_STATE_HOME")) : NULL;
	char *old_home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	char *p = ledger_default_path();
	assert_string_equal(p, "/xdg/state/tokmux/ledger.jsonl");
	free(p);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/someone", 1);
	p = ledger_default_path();
	assert_string_equal(p, "/home/someone/.local/state/tokmux/ledger.jsonl");
	free(p);
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	p = ledger_default_path();
	assert_string_equal(p, "/home/someone/.local/state/tokmux/ledger.jsonl");
	free(p);
	if (old_state) setenv("XDG_STATE_HOME", old_state, 1); else unsetenv("XDG_STATE_HOME");
	if (old_home) setenv("HOME", old_home, 1); else unsetenv("HOME");
	free(old_state);
	free(old_home);
}

/* The team and member of a record: the ledger's, unless the record names
 * its own; absent (and "" when read) when neither is set. */
static void
test_member(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(1755780059.25, 1, 100);
	assert_int_equal(ledger_append(l, &r), 0);            /* no member yet */
	ledger_set_member(l, "acme", "alice");
	assert_int_equal(ledger_append(l, &r), 0);
	r.member = "bob";
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	FILE *f = fopen(path, "r");
	char line[4096];
	assert_non_null(fgets(line, sizeof line, f));
	assert_null(strstr(line, "\"member\""));
	assert_null(strstr(line, "\"team\""));
	assert_non_null(fgets(line, sizeof line, f));
	assert_non_null(strstr(line, "\"team\":\"acme\",\"member\":\"alice\""));
	fclose(f);
	struct ledger_entry e[3];
	struct collected c = { e, 0 };
	assert_int_equal(ledger_read(path, collect_all, &c), 3);
	assert_string_equal(e[0].member, "");
	assert_string_equal(e[0].team, "");
	assert_string_equal(e[1].member, "alice");
	assert_string_equal(e[1].team, "acme");
	assert_string_equal(e[2].member, "bob");
	assert_string_equal(e[2].team, "acme");
	free(path);
}

/* The agent's own units: its session, the subagent, why the model
 * stopped; written only when known, "" when read from a record without. */
static void
test_agent_fields(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(1755780059.25, 1, 100);
	assert_int_equal(ledger_append(l, &r), 0);
	r.agent_session = "11111111-2222-4333-8444-555555555555";
	r.stop_reason = "tool_use";
	assert_int_equal(ledger_append(l, &r), 0);
	r.subagent = "a63bf53fdb1b14e60";
	r.stop_reason = "end_turn";
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	FILE *f = fopen(path, "r");
	char line[4096];
	assert_non_null(fgets(line, sizeof line, f));
	assert_null(strstr(line, "agent_session"));
	assert_null(strstr(line, "subagent"));
	assert_null(strstr(line, "stop_reason"));
	assert_non_null(fgets(line, sizeof line, f));
	assert_non_null(strstr(line, "\"agent_session\":\"11111111-2222-4333-8444-555555555555\""));
	assert_non_null(strstr(line, "\"stop_reason\":\"tool_use\""));
	assert_null(strstr(line, "subagent"));
	fclose(f);
	struct ledger_entry e[3];
	struct collected c = { e, 0 };
	assert_int_equal(ledger_read(path, collect_all, &c), 3);
	assert_string_equal(e[0].agent_session, "");
	assert_string_equal(e[0].subagent, "");
	assert_string_equal(e[1].agent_session, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(e[1].subagent, "");
	assert_string_equal(e[2].agent_session, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(e[2].subagent, "a63bf53fdb1b14e60");
	free(path);
}


/* What the notify callback heard. */
struct heard {
	int calls, changes;
	struct ledger_health last;
};

static void
heard_fn(void *user, const struct ledger_health *h, int changed)
{
	struct heard *hd = user;
	hd->calls++;
	hd->changes += changed;
	hd->last = *h;
}

/* /dev/full: every write fails with ENOSPC. The lines are held, the
 * health says so at once, and past the bound new lines are dropped and
 * counted. */
static void
test_full_disk(void **state)
{
	(void)state;
	char *err = NULL;
	ledger_t *l = ledger_open("/dev/full", &err);
	assert_non_null(l);
	struct heard hd = { 0 };
	ledger_set_notify(l, heard_fn, &hd);
	struct ledger_health h;
	ledger_health(l, &h);
	assert_false(h.failing);
	struct ledger_record r = record(100.0, 1, 5);
	assert_int_equal(ledger_append(l, &r), -1);
	ledger_health(l, &h);
	assert_true(h.failing);
	assert_int_equal(h.error, ENOSPC);
	assert_int_equal(h.held, 1);
	assert_int_equal(h.failures, 1);
	assert_int_equal(hd.changes, 1);          /* told once: failing */
	assert_true(hd.last.failing);
	char id[LEDGER_ID_LEN + 1];
	assert_int_equal(ledger_intent(l, &r, id), -1);
	assert_int_equal((int)strlen(id), LEDGER_ID_LEN);
	for (int i = 0; i < LEDGER_HOLD_MAX + 10; i++)
		ledger_append(l, &r);
	ledger_health(l, &h);
	assert_int_equal(h.held, LEDGER_HOLD_MAX);
	assert_int_equal(h.lost, 12);              /* 2 + 4096 + 10 - 4096 */
	assert_int_equal(hd.changes, 1);          /* still the one change */
	assert_int_equal(ledger_retry(l), LEDGER_HOLD_MAX);
	ledger_close(l);                           /* frees what it could not write */
}

/* A file size limit (RLIMIT_FSIZE: EFBIG, as a disk that fills up): a
 * line cut short is taken back, the held lines go out in order before
 * the next one once the limit is raised, and nothing is torn or lost. */
static void
test_size_limit_then_space(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct heard hd = { 0 };
	ledger_set_notify(l, heard_fn, &hd);
	struct ledger_record r = record(100.0, 1, 1);
	assert_int_equal(ledger_append(l, &r), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 40;   /* room for part of one line */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = record(200.0, 1, 2);
	int rc2 = ledger_append(l, &r);
	r = record(300.0, 1, 3);
	int rc3 = ledger_append(l, &r);
	struct stat st2;
	int stat_rc = stat(path, &st2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	assert_int_equal(rc2, -1);
	assert_int_equal(rc3, -1);
	assert_int_equal(stat_rc, 0);
	assert_int_equal(st2.st_size, st.st_size);   /* the cut piece was taken back */
	struct ledger_health h;
	ledger_health(l, &h);
	assert_true(h.failing);
	assert_int_equal(h.error, EFBIG);
	assert_int_equal(h.held, 2);
	/* room again: the next append writes the held lines first, in order */
	r = record(400.0, 1, 4);
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_health(l, &h);
	assert_false(h.failing);
	assert_int_equal(h.held, 0);
	assert_int_equal(h.lost, 0);
	assert_int_equal(hd.changes, 2);          /* failing, then writing again */
	assert_false(hd.last.failing);
	ledger_close(l);
	struct tally t = { 0, 0, 0 };
	struct ledger_read_stats rs;
	assert_int_equal(ledger_read_all(path, tally_fn, &t, &rs), 4);
	assert_int_equal(ledger_read_skipped(&rs), 0);
	assert_int_equal(t.cost, 1 + 2 + 3 + 4);
	char *text = util_read_file(path, 1 << 20, NULL, &err);
	char *p2 = strstr(text, "\"cost_micros\":2"), *p3 = strstr(text, "\"cost_micros\":3");
	char *p4 = strstr(text, "\"cost_micros\":4");
	assert_true(p2 != NULL && p3 != NULL && p4 != NULL && p2 < p3 && p3 < p4);
	free(text);
	free(path);
}

/* The retry timer writes the held lines without another append. */
static void
test_retry_timer(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	struct ledger_record r = record(100.0, 1, 7);
	int rc = ledger_append(l, &r);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	assert_int_equal(rc, -1);
	struct ledger_health h;
	for (int i = 0; i < 200; i++) {          /* up to 10 s: the first retry is at 250 ms */
		ledger_health(l, &h);
		if (!h.failing)
			break;
		usleep(50000);
	}
	assert_false(h.failing);
	assert_int_equal(h.held, 0);
	assert_int_equal(ledger_read(path, NULL, NULL), 1);
	ledger_close(l);
	free(path);
}

/* Another writer that crashed mid-line: the next append ends that line
 * first, so its own record is whole; the reader skips the torn one. */
static void
test_torn_by_another(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(100.0, 1, 1);
	ledger_append(l, &r);
	append_raw(path, "{\"time\":\"2025-08-21T12:40:59.000Z\",\"cost_mic");
	r = record(200.0, 1, 2);
	assert_int_equal(ledger_append(l, &r), 0);
	struct ledger_health h;
	ledger_health(l, &h);
	assert_int_equal(h.repaired, 1);
	ledger_close(l);
	struct tally t = { 0, 0, 0 };
	struct ledger_read_stats st;
	assert_int_equal(ledger_read_all(path, tally_fn, &t, &st), 2);
	assert_int_equal(t.cost, 3);
	assert_int_equal(st.not_json, 1);         /* the torn piece, ended */
	assert_int_equal(st.torn, 0);
	free(path);
}

struct unsettled {
	int records, unsettled;
	int64_t charged;
	char model[MODEL_ID_MAX];
};

static void
unsettled_fn(const struct ledger_entry *e, void *user)
{
	struct unsettled *u = user;
	u->records++;
	u->charged += e->charged_micros;
	if (e->unsettled) {
		u->unsettled++;
		snprintf(u->model, sizeof u->model, "%s", e->model_asked);
	}
}

/* Intent lines pair with their outcome by id: a settled intent is not
 * read, one without an outcome is an unsettled record at its reservation. */
static void
test_intents(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	char a[LEDGER_ID_LEN + 1], b[LEDGER_ID_LEN + 1];
	struct ledger_record ia = record(100.0, 1, 0), ib = record(101.0, 2, 0);
	ia.reserved_micros = 50000;
	ib.reserved_micros = 70000;
	ib.model_asked = "claude-haiku-4-5";
	assert_int_equal(ledger_intent(l, &ia, a), 0);
	assert_int_equal(ledger_intent(l, &ib, b), 0);
	assert_string_not_equal(a, b);
	struct ledger_record oa = record(102.0, 1, 1234);
	oa.id = a;
	oa.charged_micros = 1234;
	assert_int_equal(ledger_append(l, &oa), 0);
	ledger_close(l);
	char *text = util_read_file(path, 1 << 20, NULL, &err);
	assert_non_null(strstr(text, "\"kind\":\"intent\""));
	assert_non_null(strstr(text, "\"reserved_micros\":70000"));
	free(text);
	struct unsettled u = { 0 };
	struct ledger_read_stats st;
	assert_int_equal(ledger_read_all(path, unsettled_fn, &u, &st), 2);
	assert_int_equal(u.records, 2);
	assert_int_equal(u.unsettled, 1);
	assert_int_equal(st.unsettled, 1);
	assert_string_equal(u.model, "claude-haiku-4-5");
	assert_int_equal(u.charged, 1234 + 70000);
	assert_int_equal(ledger_spend_since(path, 0), 1234 + 70000);
	assert_int_equal(ledger_spend_since(path, 101.5), 1234);   /* by the intent's time */
	free(path);
}

/* Many intents settled out of order: only the unsettled ones come back. */
static void
test_intents_many(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	enum { N = 500 };
	char (*ids)[LEDGER_ID_LEN + 1] = xcalloc(N, sizeof *ids);
	for (int i = 0; i < N; i++) {
		struct ledger_record ir = record(100.0 + i, 1, 0);
		ir.reserved_micros = 10;
		ledger_intent(l, &ir, ids[i]);
	}
	for (int i = N - 1; i >= 0; i--) {
		if (i % 7 == 3)
			continue;            /* these never settle */
		struct ledger_record o = record(1000.0 + i, 1, 1);
		o.id = ids[i];
		ledger_append(l, &o);
	}
	ledger_close(l);
	struct unsettled u = { 0 };
	int settled = N - (N + 3) / 7;
	assert_int_equal(ledger_read(path, unsettled_fn, &u), N);
	assert_int_equal(u.unsettled, N - settled);
	assert_int_equal(u.charged, settled * 1 + (N - settled) * 10);
	free(ids);
	free(path);
}

struct one_model {
	char model[MODEL_ID_MAX];
	char pane_name[64];
};

static void
one_model_fn(const struct ledger_entry *e, void *user)
{
	struct one_model *m = user;
	snprintf(m->model, sizeof m->model, "%s", e->model_asked);
	snprintf(m->pane_name, sizeof m->pane_name, "%s", e->pane_name);
}

/* Names that are not UTF-8 still make a valid JSON line: each bad byte is
 * U+FFFD; valid UTF-8 is kept as it is. */
static void
test_invalid_utf8(void **state)
{
	(void)state;
	char *path = xasprintf("%s/ledger.jsonl", tmpdir);
	char *err = NULL;
	ledger_t *l = ledger_open(path, &err);
	struct ledger_record r = record(100.0, 1, 5);
	r.model_asked = "claude-\xff\xfe-x\xc3";
	r.pane_name = "caf\xc3\xa9 \xe2\x82";
	assert_int_equal(ledger_append(l, &r), 0);
	ledger_close(l);
	char *text = util_read_file(path, 1 << 20, NULL, &err);
	cJSON *o = cJSON_Parse(text);
	assert_non_null(o);
	free(text);
	cJSON_Delete(o);
	struct one_model m;
	assert_int_equal(ledger_read(path, one_model_fn, &m), 1);
	assert_string_equal(m.model, "claude-\xef\xbf\xbd\xef\xbf\xbd-x\xef\xbf\xbd");
	assert_string_equal(m.pane_name, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
	uint32_t cp;
	for (const char *p = m.model; *p; ) {
		int k = util_utf8_decode(p, &cp);
		assert_true(k > 0);
		p += k;
	}
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_fields, setup, teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_fields, setup, teardown),
		cmocka_unit_test(test_full_disk),
		cmocka_unit_test_setup_teardown(test_size_limit_then_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_by_another, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intents_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
