/*
 * demo: owns the demo's mock script, its temporary directory (ledger and
 * mock log, removed at exit unless kept) and the four sim-agent panes; the
 * workspace itself is workspace_run() with the gateway pointed at the
 * embedded mock. The command line is cmd_demo.c's.
 */
#include "demo.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mock.h"
#include "ui.h"
#include "util.h"
#include "workspace.h"

/*
 * Per model (one per pane): the usage of a coding agent whose system prompt
 * is cached (a cache write on the first call, cache reads after), the length
 * and pace of the answers, and one fault each:
 *  - opus (pane 1): calls 3 to 6 answer 529 (the `times` counters: the
 *    "ok" rule wins for the first two calls, then the 529 rule alone
 *    matches until it has matched six times), so the policy retries and
 *    falls back to claude-sonnet-4 (a cache write there: a new model has
 *    its own cache);
 *  - haiku (pane 3, its own key): calls 4 and 5 answer 429 with
 *    retry-after 2, so the gateway paces that key;
 *  - sonnet-4-5 (pane 4): expensive enough per call that its $0.05
 *    ceiling stops it after two or three calls.
 */
static const char script[] =
    "{\"comment\": \"tokmux demo\",\n"
    " \"defaults\": {\"chunks\": 12, \"chunk_tokens\": 6, \"chunk_delay_ms\": 60, \"ping_every\": 4,\n"
    "   \"ratelimit\": {\"requests\": 100, \"input_tokens\": 400000, \"output_tokens\": 40000,\n"
    "                 \"window_s\": 60},\n"
    "   \"models\": [\"claude-opus-4-7\", \"claude-sonnet-4-6\", \"claude-sonnet-4-5\", \"claude-sonnet-4\",\n"
    "              \"claude-haiku-4-5\"]},\n"
    " \"rules\": [\n"
    /* pane 1, refactor: long answers */
    "  {\"match\": {\"model\": \"claude-opus-*\"}, \"chunks\": 40, \"chunk_tokens\": 9, \"chunk_delay_ms\": 45,\n"
    "   \"usage\": {\"input_tokens\": 620, \"cache_read_input_tokens\": 18400, \"cache_creation_5m\": 1300},\n"
    "   \"text\": \"The tokenizer is only reached through three calls, so the split is clean. I'll move "
    "tok_next, tok_peek and the keyword table into src/lexer.c behind a small struct lexer, keep "
    "the parser's error positions by passing line and column through the token, and then update "
    "the call sites in parser.c one by one.\"},\n"
    "  {\"match\": {\"model\": \"claude-opus-*\", \"every\": 3},\n"
    "   \"text\": \"Both call sites now go through lexer_next(). The old static helpers in parser.c are "
    "unused; I'll delete them and build, then run the test suite to make sure the error messages "
    "still point at the same line and column as before.\"},\n"
    "  {\"match\": {\"model\": \"claude-opus-*\"}, \"times\": 1,\n"
    "   \"usage\": {\"input_tokens\": 2400, \"cache_read_input_tokens\": 0, \"cache_creation_5m\": 0,\n"
    "             \"cache_creation_1h\": 19700}},\n"
    "  {\"match\": {\"model\": \"claude-opus-4-7\"}, \"action\": \"529\", \"times\": 6},\n"
    "  {\"match\": {\"model\": \"claude-opus-4-7\"}, \"action\": \"ok\", \"times\": 2},\n"
    /* pane 1's fallback when opus is overloaded */
    "  {\"match\": {\"model\": \"claude-sonnet-4\"}, \"chunks\": 30, \"chunk_tokens\": 9, \"chunk_delay_ms\": 45,\n"
    "   \"usage\": {\"input_tokens\": 2600, \"cache_read_input_tokens\": 0, \"cache_creation_5m\": 18600},\n"
    "   \"text\": \"Picking up from the plan: lexer.c now owns the keyword table and tok_peek. "
    "parser.c still calls tok_next in two places; I'll switch both to lexer_next() and keep "
    "the error positions by passing the token's line and column.\"},\n"
    /* pane 2, tests */
    "  {\"match\": {\"model\": \"claude-sonnet-4-6\"}, \"chunks\": 30, \"chunk_tokens\": 8, \"chunk_delay_ms\": 50,\n"
    "   \"usage\": {\"input_tokens\": 410, \"cache_read_input_tokens\": 12800, \"cache_creation_5m\": 900},\n"
    "   \"text\": \"parse_date accepts ISO 8601 dates, ISO weeks and RFC 2822. I'll add a parametrized "
    "test per format, one for each invalid month and day, and a test that a trailing time zone "
    "is kept. The DST edge is the interesting one: 2026-03-29 02:30 does not exist in Europe/Berlin.\"},\n"
    "  {\"match\": {\"model\": \"claude-sonnet-4-6\", \"every\": 2},\n"
    "   \"text\": \"All 14 new tests pass. One of them found a real bug: strptime accepted '2026-02-30' "
    "through the fallback path. I've made _parse_any validate the day against the month and "
    "added the failing case as a regression test.\"},\n"
    "  {\"match\": {\"model\": \"claude-sonnet-4-6\"}, \"times\": 1,\n"
    "   \"usage\": {\"input_tokens\": 1900, \"cache_read_input_tokens\": 0, \"cache_creation_5m\": 13600}},\n"
    /* pane 3, docs: short answers, and 429s on its key */
    "  {\"match\": {\"model\": \"claude-haiku-*\"}, \"chunks\": 8, \"chunk_tokens\": 6, \"chunk_delay_ms\": 40,\n"
    "   \"usage\": {\"input_tokens\": 300, \"cache_read_input_tokens\": 5200, \"cache_creation_5m\": 240},\n"
    "   \"text\": \"Added doc comments to Backoff, Policy and RetryAfter, with an example for each.\"},\n"
    "  {\"match\": {\"model\": \"claude-haiku-*\", \"every\": 2},\n"
    "   \"text\": \"README now has a Retries section linking docs/retries.md.\"},\n"
    "  {\"match\": {\"model\": \"claude-haiku-*\"}, \"times\": 1,\n"
    "   \"usage\": {\"input_tokens\": 900, \"cache_read_input_tokens\": 0, \"cache_creation_5m\": 5400}},\n"
    "  {\"match\": {\"model\": \"claude-haiku-4-5\"}, \"action\": \"429\", \"retry_after\": 2, \"times\": 5},\n"
    "  {\"match\": {\"model\": \"claude-haiku-4-5\"}, \"action\": \"ok\", \"times\": 3},\n"
    /* pane 4, bugfix: reaches its ceiling */
    "  {\"match\": {\"model\": \"claude-sonnet-4-5\"}, \"chunks\": 16, \"chunk_tokens\": 20, \"chunk_delay_ms\": 70,\n"
    "   \"usage\": {\"input_tokens\": 1800, \"cache_read_input_tokens\": 9000, \"cache_creation_5m\": 0},\n"
    "   \"text\": \"Found it: pageCount is floor(n / size) + 1, which gives 3 pages for 20 items of 10. "
    "It should be ceil(n / size), and at least 1 so an empty cart still has a page. I'll fix "
    "paginate.ts and add the 20-item case as a regression test.\"},\n"
    "  {\"match\": {\"model\": \"claude-sonnet-4-5\"}, \"times\": 1,\n"
    "   \"usage\": {\"cache_read_input_tokens\": 0, \"cache_creation_5m\": 2000}}\n"
    " ]}\n";

const char *
demo_script(void)
{
	return script;
}

struct demo_pane {
	const char *name;
	const char *args;        /* sim-agent arguments */
};

static const struct demo_pane demo_panes[] = {
	{ "refactor", "--persona refactor" },
	{ "tests", "--persona tests" },
	{ "docs", "--persona docs" },
	{ "bugfix", "--persona bugfix" },
};

#define DEMO_NPANES ((int)(sizeof demo_panes / sizeof demo_panes[0]))
_Static_assert(sizeof demo_panes / sizeof demo_panes[0] <= TOKMUX_MAX_PANES, "the demo fits the grid");

#define DEMO_CEILING_MICROS 50000   /* pane 4: $0.05 */
#define DEMO_FALLBACK "claude-sonnet-4"   /* pane 1's, with its own text in the script */

/* Quote s for /bin/sh -c. */
static char *
demo_shell_quote(const char *s)
{
	struct buf b = { 0 };
	buf_append(&b, "'", 1);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_append(&b, "'\\''", 4);
		else
			buf_append(&b, s, 1);
	}
	buf_append(&b, "'", 2);    /* with the NUL */
	return b.data;
}

/* Remove the demo's directory: only the plain files it made, then itself. */
static void
demo_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *p = xasprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* The demo's config: four panes, the mock as both upstreams, the ledger in dir. */
static void
demo_config(struct config *cfg, const char *self, int port, const char *dir)
{
	config_init(cfg);
	free(cfg->anthropic_upstream);
	free(cfg->openai_upstream);
	cfg->anthropic_upstream = xasprintf("http://127.0.0.1:%d", port);
	cfg->openai_upstream = xasprintf("http://127.0.0.1:%d", port);
	cfg->ledger_path = xasprintf("%s/ledger.jsonl", dir);
	/* "tokmux sim-agent ..." reads better in the pane titles than a full
	 * path; this binary's directory goes first in PATH so that it is ours */
	const char *slash = strrchr(self, '/');
	char *q;
	if (slash != NULL && strcmp(slash + 1, "tokmux") == 0) {
		const char *path = getenv("PATH");
		char *np = xasprintf("%.*s%s%s", (int)(slash - self), self, path ? ":" : "", path ? path : "");
		setenv("PATH", np, 1);
		free(np);
		q = xstrdup("tokmux");
	} else {
		q = demo_shell_quote(self);
	}
	for (int i = 0; i < DEMO_NPANES; i++) {
		cfg->panes[i].name = xstrdup(demo_panes[i].name);
		cfg->panes[i].cmd = xasprintf("%s sim-agent %s", q, demo_panes[i].args);
	}
	free(q);
	cfg->npanes = DEMO_NPANES;
	cfg->panes[0].fallback[0] = xstrdup(DEMO_FALLBACK);
	cfg->panes[0].nfallback = 1;
	cfg->panes[3].ceiling_micros = DEMO_CEILING_MICROS;
}

/* The binary's path (for the panes' sim-agent commands) and a private
 * directory for the ledger and the mock log; -1 with *err. */
static int
demo_prepare(char *self, size_t len, char **dir, char **err)
{
	ssize_t n = readlink("/proc/self/exe", self, len - 1);
	if (n <= 0) {
		*err = xstrdup("cannot find the tokmux binary (/proc/self/exe)");
		return -1;
	}
	self[n] = '\0';
	const char *tmp = getenv("TMPDIR");
	*dir = xasprintf("%s/tokmux-demo-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(*dir) == NULL) {
		*err = xasprintf("cannot make a directory like %s", *dir);
		free(*dir);
		*dir = NULL;
		return -1;
	}
	return 0;
}

int
demo_run(int keep, char **kept, char **err)
{
	char self[PATH_MAX], *dir = NULL;
	*kept = NULL;
	if (demo_prepare(self, sizeof self, &dir, err) < 0)
		return -1;
	/* the mock's threads must not take the UI's signals */
	ui_block_signals();
	char *log = xasprintf("%s/mock.jsonl", dir), *e = NULL;
	struct mock_options mo = { .port = 0, .log_path = log, .quiet = 1 };
	mock_t *m = mock_start(&mo, &e);
	if (m == NULL) {
		*err = xasprintf("the mock provider cannot start: %s", e);
	} else if (mock_load_script_json(m, script, &e) < 0) {
		*err = xasprintf("the demo's mock script: %s", e);
		mock_stop(m);
		m = NULL;
	}
	free(e);
	int rc = -1;
	if (m != NULL) {
		struct config cfg;
		demo_config(&cfg, self, mock_port(m), dir);
		struct workspace_opts wo = { .npanes = 4, .core = { .port = -1, .wake_fd = -1 } };
		rc = workspace_run(&cfg, &wo);
		mock_stop(m);
		config_free(&cfg);
	}
	if (keep)
		*kept = xstrdup(dir);
	else
		demo_remove_dir(dir);
	free(log);
	free(dir);
	return rc;
}
