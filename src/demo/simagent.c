/*
 * simagent: a scripted coding agent for `tokmux demo`. Owns the personas,
 * the transcript (a pure function of persona and seed), the request bodies,
 * a minimal SSE reader, and the run loop: tool steps printed at a human
 * pace, streaming model calls through libcurl with a spinner, retries on
 * 429 / 529 like real agents, and a stop on a refusal (e.g. a tokmux spend
 * ceiling).
 */
#include "simagent.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "usage.h"

#define SIMAGENT_MAX_STEPS 256
#define SIMAGENT_MAX_ATTEMPTS 8

/* ------------------------------------------------------------------ */
/* Personas */

static const struct simagent_persona personas[] = {
	{
		.name = "refactor",
		.model = "claude-opus-4-7",
		.project = "~/src/inkjet",
		.task = "Split the tokenizer out of parser.c into its own lexer module",
		.files = { "src/parser.c", "src/lexer.c", "src/token.h", "src/ast.c" },
		.searches = { "tok_next", "struct token" },
		.commands = { "make -j4", "make test" },
		.results = { "cc -o inkjet ... 0 warnings", "118 passed, 0 failed" },
		.todos = { "Move tok_* into src/lexer.c", "Keep parser.c on the lexer API",
		    "Run the test suite" },
		.diffs = {
			{ "src/lexer.c", 41, { "-static int tok_next(struct parser *p)", "+int lexer_next(struct lexer *lx)",
			    " {", "-\tint c = p->src[p->pos++];", "+\tint c = lexer_getc(lx);", NULL } },
			{ "src/parser.c", 212, { " \twhile (!at_end(p)) {", "-\t\tt = tok_next(p);", "+\t\tt = lexer_next(&p->lx);",
			    " \t\tif (t.kind == TOK_EOF)", NULL } },
		},
		.system_kb = 48,
		.max_tokens = 8192,
		.requests = 12,
	},
	{
		.name = "tests",
		.model = "claude-sonnet-4-6",
		.project = "~/src/ledgerd",
		.task = "Add unit tests for the date parsing in ledger/dates.py",
		.files = { "ledger/dates.py", "tests/test_dates.py", "ledger/io.py", "pyproject.toml" },
		.searches = { "def parse_date", "strptime" },
		.commands = { "pytest -q tests/test_dates.py", "pytest -q" },
		.results = { "14 passed in 0.41s", "212 passed, 3 skipped in 4.87s" },
		.todos = { "Cover ISO 8601 and RFC 2822 inputs", "Cover time zones and DST",
		    "Run the whole suite" },
		.diffs = {
			{ "tests/test_dates.py", 12, { "+def test_parse_iso_week():", "+    assert parse_date(\"2026-W09-4\").day == 26",
			    "+", "+def test_parse_rejects_month_13():", "+    with pytest.raises(ValueError):", NULL } },
			{ "ledger/dates.py", 88, { " def parse_date(s: str) -> date:", "-    return strptime(s, FMT).date()",
			    "+    s = s.strip()", "+    return _parse_any(s)", NULL } },
		},
		.system_kb = 32,
		.max_tokens = 4096,
		.requests = 12,
	},
	{
		.name = "docs",
		.model = "claude-haiku-4-5",
		.project = "~/src/httpkit",
		.task = "Document the retry helpers and add a README section",
		.files = { "retry/backoff.go", "README.md", "retry/policy.go", "docs/retries.md" },
		.searches = { "func Backoff", "RetryAfter" },
		.commands = { "go vet ./...", "go test ./retry/" },
		.results = { "(no output)", "ok  	httpkit/retry	0.012s" },
		.todos = { "Doc comments on exported retry API", "README: Retries section",
		    "Check examples compile" },
		.diffs = {
			{ "retry/backoff.go", 17, { "+// Backoff is the delay before attempt n", "+// (1-based): full jitter, capped at max.",
			    " func Backoff(n int, max Duration) Duration {", NULL } },
			{ "README.md", 64, { " ## Usage", "+", "+## Retries", "+", "+Calls failing with 429 or 5xx are retried.", NULL } },
		},
		.system_kb = 16,
		.max_tokens = 2048,
		.requests = 14,
	},
	{
		.name = "bugfix",
		.model = "claude-sonnet-4-5",
		.project = "~/src/webshop",
		.task = "Fix the off-by-one in cart pagination (issue #312)",
		.files = { "src/cart/paginate.ts", "src/cart/paginate.test.ts", "src/cart/index.ts",
		    "src/api/cart.ts" },
		.searches = { "pageCount", "paginate(" },
		.commands = { "npm test -- paginate", "npm run lint" },
		.results = { "Tests: 1 failed, 23 passed, 24 total", "0 problems" },
		.todos = { "Reproduce with 20 items and page size 10", "Fix pageCount rounding",
		    "Add a regression test" },
		.diffs = {
			{ "src/cart/paginate.ts", 23, { "-  const pages = Math.floor(n / size) + 1;",
			    "+  const pages = Math.max(1, Math.ceil(n / size));", NULL } },
			{ "src/cart/paginate.test.ts", 58, { "+  it('has 2 pages for 20 items', () => {",
			    "+    expect(pages(range(20), 10)).toBe(2);", "+  });", NULL } },
		},
		.system_kb = 6,
		.max_tokens = 1024,
		.requests = 12,
	},
};

const struct simagent_persona *
simagent_persona(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(personas); i++)
		if (strcmp(personas[i].name, name) == 0)
			return &personas[i];
	return NULL;
}

const char *
simagent_persona_names(void)
{
	return "refactor, tests, docs, bugfix";
}

/* ------------------------------------------------------------------ */
/* The transcript */

uint64_t
simagent_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int
simagent_pick(uint64_t *rng, int n)
{
	return (int)(simagent_rand(rng) % (uint64_t)n);
}

int
simagent_plan(const struct simagent_persona *p, uint64_t seed, int nrequests,
    struct simagent_step *out, int max)
{
	(void)p;
	uint64_t rng = seed;
	int n = 0;
#define PUSH(k, a, t) do { if (n < max) out[n++] = (struct simagent_step){ (k), (a), (t) }; } while (0)
	for (int turn = 0; turn < nrequests; turn++) {
		if (turn == 0) {
			/* agents look around first, then make a plan */
			PUSH(SIMAGENT_READ, 0, 0);
			PUSH(SIMAGENT_SEARCH, simagent_pick(&rng, 2), 0);
		} else if (turn == 1) {
			PUSH(SIMAGENT_TODO, 0, 0);
		} else {
			int tools = 1 + simagent_pick(&rng, 3);
			for (int i = 0; i < tools; i++) {
				static const enum simagent_step_kind kinds[] = { SIMAGENT_READ, SIMAGENT_SEARCH,
				    SIMAGENT_EDIT, SIMAGENT_EDIT, SIMAGENT_RUN };
				enum simagent_step_kind k = kinds[simagent_pick(&rng, (int)UTIL_ARRAY_LEN(kinds))];
				int arg = k == SIMAGENT_READ ? simagent_pick(&rng, 4) : simagent_pick(&rng, 2);
				PUSH(k, arg, turn);
			}
		}
		PUSH(SIMAGENT_ASK, 0, turn);
	}
	PUSH(SIMAGENT_RUN, 1, nrequests);
#undef PUSH
	return n;
}

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

#define COL(x) (color ? (x) : "")

static void
simagent_render_tool(struct buf *b, int color, const char *tool, const char *arg,
    const char *result)
{
	buf_appendf(b, "%s●%s %s%s%s(%s)\n", COL(C_GREEN), COL(C_RESET), COL(C_BOLD), tool,
	    COL(C_RESET), arg);
	if (result != NULL)
		buf_appendf(b, "  %s⎿  %s%s\n", COL(C_DIM), result, COL(C_RESET));
}

static void
simagent_render_diff(struct buf *b, int color, const struct simagent_diff *d)
{
	int old = d->line, new = d->line, adds = 0, dels = 0;
	for (int i = 0; i < 6 && d->lines[i] != NULL; i++) {
		adds += d->lines[i][0] == '+';
		dels += d->lines[i][0] == '-';
	}
	buf_appendf(b, "  %s⎿  Updated with %d addition%s and %d removal%s%s\n", COL(C_DIM), adds,
	    adds == 1 ? "" : "s", dels, dels == 1 ? "" : "s", COL(C_RESET));
	for (int i = 0; i < 6 && d->lines[i] != NULL; i++) {
		const char *l = d->lines[i];
		if (l[0] == '-')
			buf_appendf(b, "     %s%4d - %s%s\n", COL(C_RED), old++, l + 1, COL(C_RESET));
		else if (l[0] == '+')
			buf_appendf(b, "     %s%4d + %s%s\n", COL(C_GREEN), new++, l + 1, COL(C_RESET));
		else {
			buf_appendf(b, "     %s%4d   %s%s\n", COL(C_DIM), new, l + 1, COL(C_RESET));
			old++;
			new++;
		}
	}
}

void
simagent_render(const struct simagent_persona *p, const struct simagent_step *s, int color,
    struct buf *b)
{
	char tmp[160];
	switch (s->kind) {
	case SIMAGENT_READ:
		snprintf(tmp, sizeof tmp, "Read %d lines", 80 + (int)((strlen(p->files[s->arg]) * 37 +
		    (size_t)s->turn * 11) % 400));
		simagent_render_tool(b, color, "Read", p->files[s->arg], tmp);
		break;
	case SIMAGENT_SEARCH:
		snprintf(tmp, sizeof tmp, "pattern: \"%s\"", p->searches[s->arg]);
		simagent_render_tool(b, color, "Search", tmp, s->arg == 0 ? "Found 3 files" : "Found 7 files");
		break;
	case SIMAGENT_TODO:
		simagent_render_tool(b, color, "Update Todos", "3 items", NULL);
		for (int i = 0; i < 3; i++)
			buf_appendf(b, "  %s  %s %s\n", i == 0 ? "⎿" : " ", i == 0 ? "☒" : "☐", p->todos[i]);
		break;
	case SIMAGENT_EDIT: {
		buf_appendf(b, "%s✎%s %sUpdate%s(%s)\n", COL(C_BLUE), COL(C_RESET), COL(C_BOLD),
		    COL(C_RESET), p->diffs[s->arg].file);
		simagent_render_diff(b, color, &p->diffs[s->arg]);
		break;
	}
	case SIMAGENT_RUN:
		simagent_render_tool(b, color, "Bash", p->commands[s->arg], p->results[s->arg]);
		break;
	case SIMAGENT_ASK:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Request bodies */

/* A deterministic "project context" of about kb kilobytes: what an agent's
 * system prompt carries (instructions, tool schemas, file summaries). */
static char *
simagent_system_text(const struct simagent_persona *p)
{
	struct buf b = { 0 };
	buf_appendf(&b, "You are a coding agent working in %s. Use the tools to read, search, "
	    "edit and run commands. Keep answers short.\n", p->project);
	for (int i = 0; b.len < (size_t)p->system_kb * 1024; i++)
		buf_appendf(&b, "<file path=\"%s\" line=\"%d\">summary of the code around line %d: "
		    "functions, types and the invariants they keep.</file>\n",
		    p->files[i % 4], 1 + i * 17, 1 + i * 17);
	buf_append(&b, "", 1);
	return b.data;
}

static cJSON *
simagent_text_block(const char *text, int cached)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "text");
	cJSON_AddStringToObject(o, "text", text);
	if (cached)
		cJSON_AddItemToObject(o, "cache_control", cJSON_CreateRaw("{\"type\":\"ephemeral\"}"));
	return o;
}

static void
simagent_add_message(cJSON *msgs, enum simagent_api api, const char *role, const char *text,
    int cached)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	if (api == SIMAGENT_ANTHROPIC) {
		cJSON *c = cJSON_AddArrayToObject(m, "content");
		cJSON_AddItemToArray(c, simagent_text_block(text, cached));
	} else {
		cJSON_AddStringToObject(m, "content", text);
	}
	cJSON_AddItemToArray(msgs, m);
}

char *
simagent_body(const struct simagent_persona *p, enum simagent_api api, const char *model, int turn)
{
	cJSON *root = cJSON_CreateObject();
	char *sys = simagent_system_text(p);
	cJSON_AddStringToObject(root, "model", model);
	cJSON_AddBoolToObject(root, "stream", 1);
	cJSON *msgs;
	if (api == SIMAGENT_ANTHROPIC) {
		cJSON_AddNumberToObject(root, "max_tokens", p->max_tokens);
		cJSON *s = cJSON_AddArrayToObject(root, "system");
		cJSON_AddItemToArray(s, simagent_text_block("You are sim-agent, the tokmux demo agent.", 0));
		cJSON_AddItemToArray(s, simagent_text_block(sys, 1));
		msgs = cJSON_AddArrayToObject(root, "messages");
	} else {
		cJSON_AddNumberToObject(root, "max_completion_tokens", p->max_tokens);
		cJSON *so = cJSON_AddObjectToObject(root, "stream_options");
		cJSON_AddBoolToObject(so, "include_usage", 1);
		msgs = cJSON_AddArrayToObject(root, "messages");
		simagent_add_message(msgs, api, "system", sys, 0);
	}
	simagent_add_message(msgs, api, "user", p->task, 0);
	for (int i = 0; i < turn; i++) {
		char *tool = xasprintf("Tool result %d: %s", i + 1, p->results[i % 2]);
		simagent_add_message(msgs, api, "assistant", "Done; continuing with the next step.", 0);
		/* like Claude Code, mark the newest user turn for caching */
		simagent_add_message(msgs, api, "user", tool, i == turn - 1 && api == SIMAGENT_ANTHROPIC);
		free(tool);
	}
	char *out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	free(sys);
	if (out == NULL)
		fatal("out of memory");
	char *r = xstrdup(out);
	cJSON_free(out);
	return r;
}

/* ------------------------------------------------------------------ */
/* Responses */

static void
simagent_copy_str(char *dst, size_t len, const cJSON *v)
{
	if (cJSON_IsString(v) && len > 0)
		snprintf(dst, len, "%s", v->valuestring);
}

int
simagent_error_parse(const char *body, size_t len, char *type, size_t tlen, char *msg, size_t mlen)
{
	if (tlen > 0)
		type[0] = '\0';
	if (mlen > 0)
		msg[0] = '\0';
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	int rc = -1;
	if (cJSON_IsObject(e)) {
		simagent_copy_str(type, tlen, cJSON_GetObjectItemCaseSensitive(e, "type"));
		simagent_copy_str(msg, mlen, cJSON_GetObjectItemCaseSensitive(e, "message"));
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}

static void
simagent_stream_data(struct simagent_stream *s, const char *data, size_t len)
{
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->done = 1;
		return;
	}
	cJSON *root = cJSON_ParseWithLength(data, len);
	if (root == NULL)
		return;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsObject(err)) {
		simagent_copy_str(s->error_type, sizeof s->error_type,
		    cJSON_GetObjectItemCaseSensitive(err, "type"));
		simagent_copy_str(s->error_message, sizeof s->error_message,
		    cJSON_GetObjectItemCaseSensitive(err, "message"));
	}
	const cJSON *text = NULL;
	if (s->api == SIMAGENT_ANTHROPIC) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
		const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
		if (cJSON_IsString(type) && strcmp(type->valuestring, "content_block_delta") == 0)
			text = cJSON_GetObjectItemCaseSensitive(delta, "text");
		if (cJSON_IsString(type) && strcmp(type->valuestring, "message_stop") == 0)
			s->done = 1;
	} else {
		const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
		const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
		text = cJSON_GetObjectItemCaseSensitive(delta, "content");
	}
	if (cJSON_IsString(text))
		buf_append(&s->text, text->valuestring, strlen(text->valuestring));
	cJSON_Delete(root);
}

/* One event of the stream: its data is one JSON object or "[DONE]". */
static void
simagent_stream_event(void *user, const struct sse_event *ev)
{
	if (ev->has_data && !ev->overflow)
		simagent_stream_data(user, ev->data, ev->len);
}

void
simagent_stream_init(struct simagent_stream *s, enum simagent_api api)
{
	memset(s, 0, sizeof *s);
	s->api = api;
	sse_init(&s->sse, 0, simagent_stream_event, s);
}

void
simagent_stream_free(struct simagent_stream *s)
{
	sse_free(&s->sse);
	buf_free(&s->text);
}

void
simagent_stream_feed(struct simagent_stream *s, const char *data, size_t len)
{
	sse_feed(&s->sse, data, len);
}

double
simagent_retry_delay(double retry_after, int attempt)
{
	if (retry_after >= 0)
		return retry_after > 60 ? 60 : retry_after;
	int n = attempt < 1 ? 1 : attempt > 4 ? 4 : attempt;
	return (double)(1 << (n - 1));
}

/* ------------------------------------------------------------------ */
/* The run loop (terminal side) */

struct agent {
	const struct simagent_persona *p;
	enum simagent_api api;
	const char *model;
	const char *base;
	char key[64];
	int color;
	int requests;
	uint64_t rng;
	/* totals of this run */
	int calls;
	int64_t tokens;
};

struct reply {
	CURL *e;
	struct agent *a;
	double retry_after;
	struct buf errbody;
	struct simagent_stream st;
	usage_parser_t *up;
	int printed;               /* text started: the spinner is gone */
	int col, width;            /* word wrap: current column, terminal width */
	struct buf word;           /* the word being streamed */
};

static void
simagent_pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Write a string now (the pane shows it as it comes). */
static void
simagent_out(const char *s)
{
	fputs(s, stdout);
	fflush(stdout);
}

/* Print b line by line with a short human pause after each. */
static void
simagent_out_lines(struct agent *a, struct buf *b)
{
	size_t i = 0;
	while (i < b->len) {
		char *nl = memchr(b->data + i, '\n', b->len - i);
		size_t n = nl ? (size_t)(nl - (b->data + i)) + 1 : b->len - i;
		fwrite(b->data + i, 1, n, stdout);
		fflush(stdout);
		i += n;
		simagent_pause_ms(90 + simagent_pick(&a->rng, 220));
	}
}

static void
simagent_humanize(int64_t n, char *buf, size_t len)
{
	if (n < 1000)
		snprintf(buf, len, "%d", (int)n);
	else if (n < 1000000)
		snprintf(buf, len, "%.1fk", (double)n / 1e3);
	else
		snprintf(buf, len, "%.1fM", (double)n / 1e6);
}

/* Print prefix then text in colour c, word-wrapped to the terminal with a
 * hanging indent of indent columns, and a newline. */
static void
simagent_out_wrapped(const char *c, const char *rst, const char *prefix, const char *text,
    int indent)
{
	int width = 80, col = 0;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		width = ws.ws_col - 1;
	fputs(c, stdout);
	for (const char *p = prefix; *p != '\0'; p++)
		col += ((unsigned char)*p & 0xC0) != 0x80;
	fputs(prefix, stdout);
	int first = 1;
	while (*text != '\0') {
		size_t n = strcspn(text, " ");
		int cols = 0;
		for (size_t i = 0; i < n; i++)
			cols += ((unsigned char)text[i] & 0xC0) != 0x80;
		if (!first && col > indent && col + 1 + cols > width) {
			printf("\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', stdout);
			col++;
		}
		fwrite(text, 1, n, stdout);
		col += cols;
		first = 0;
		text += n;
		while (*text == ' ')
			text++;
	}
	printf("%s\n", rst);
}

/* "  ⎿  620 in · 18.4k cache read · 1.3k cache write · 360 out · 2.4s" */
static void
simagent_summary(struct agent *a, const struct usage *u, double secs)
{
	const struct { int64_t n; const char *what; } parts[] = {
		{ u->input_tokens, "in" },
		{ u->cache_read_tokens, "cache read" },
		{ u->cache_write_5m_tokens + u->cache_write_1h_tokens, "cache write" },
		{ u->output_tokens, "out" },
	};
	char num[16];
	struct buf b = { 0 };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(parts); i++) {
		if (parts[i].n <= 0)
			continue;
		simagent_humanize(parts[i].n, num, sizeof num);
		buf_appendf(&b, "%s %s · ", num, parts[i].what);
	}
	buf_appendf(&b, "%.1fs", secs);
	/* a gateway policy may have answered with another model */
	if (u->model[0] != '\0' && strcmp(u->model, a->model) != 0)
		buf_appendf(&b, " · answered by %s", u->model);
	simagent_out_wrapped(a->color ? C_DIM : "", a->color ? C_RESET : "", "  ⎿  ", b.data, 5);
	buf_free(&b);
}

static size_t
simagent_on_header(char *data, size_t size, size_t n, void *user)
{
	struct reply *r = user;
	size_t len = size * n;
	if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
		char tmp[32];
		size_t l = UTIL_MIN(len - 12, sizeof tmp - 1);
		memcpy(tmp, data + 12, l);
		tmp[l] = '\0';
		char *end;
		double v = strtod(tmp, &end);
		if (end != tmp && v >= 0)
			r->retry_after = v;
	}
	return len;
}

/* Write the pending word, first breaking the line if it would not fit. */
static void
simagent_flush_word(struct reply *r)
{
	if (r->word.len == 0)
		return;
	const char *w = r->word.data;
	size_t len = r->word.len, cols = 0;
	for (size_t i = 0; i < len; i++)
		cols += ((unsigned char)w[i] & 0xC0) != 0x80;
	if (r->col > 2 && r->col + (int)cols > r->width) {
		fputs("\n  ", stdout);
		r->col = 2;
		if (w[0] == ' ') {          /* the space before the word goes */
			w++;
			len--;
			cols--;
		}
	}
	fwrite(w, 1, len, stdout);
	r->col += (int)cols;
	buf_consume(&r->word, r->word.len);
}

/* Print new streamed text word-wrapped and indented under the bullet. */
static void
simagent_print_text(struct reply *r)
{
	struct simagent_stream *s = &r->st;
	if (s->text.len == 0)
		return;
	if (!r->printed) {
		simagent_out("\r\033[K● ");
		r->printed = 1;
		r->col = 2;
	}
	for (size_t i = 0; i < s->text.len; i++) {
		char c = s->text.data[i];
		if (c == '\n') {
			simagent_flush_word(r);
			fputs("\n  ", stdout);
			r->col = 2;
		} else {
			if (c == ' ')
				simagent_flush_word(r);   /* a space starts the next word */
			buf_append(&r->word, &c, 1);
		}
	}
	fflush(stdout);
	buf_consume(&s->text, s->text.len);
}

static size_t
simagent_on_body(char *data, size_t size, size_t n, void *user)
{
	struct reply *r = user;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		if (r->errbody.len < 65536)
			buf_append(&r->errbody, data, len);
		return len;
	}
	usage_parser_feed(r->up, data, len);
	simagent_stream_feed(&r->st, data, len);
	simagent_print_text(r);
	return len;
}

static void
simagent_spinner(struct agent *a, int64_t t0, int frame, const char *verb)
{
	static const char *const frames[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
	printf("\r\033[K%s%s %s…%s %s(%llds · esc to interrupt)%s", a->color ? C_MAGENTA : "",
	    frames[frame % 10], verb, a->color ? C_RESET : "", a->color ? C_DIM : "",
	    (long long)((util_now_ms() - t0) / 1000), a->color ? C_RESET : "");
	fflush(stdout);
}

enum outcome { OUT_OK, OUT_RETRY, OUT_STOP };

/* The request's headers: JSON, and the API's auth header with the fake key. */
static struct curl_slist *
simagent_headers(const struct agent *a)
{
	struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
	char hdr[128];
	if (a->api == SIMAGENT_ANTHROPIC) {
		snprintf(hdr, sizeof hdr, "x-api-key: %s", a->key);
		h = curl_slist_append(h, hdr);
		h = curl_slist_append(h, "anthropic-version: 2023-06-01");
	} else {
		snprintf(hdr, sizeof hdr, "authorization: Bearer %s", a->key);
		h = curl_slist_append(h, hdr);
	}
	return h;
}

/* Send body to url and stream the answer into r, with a spinner until the
 * text starts. Returns curl's result; *status is the HTTP status (0: none). */
static CURLcode
simagent_transfer(struct reply *r, const char *url, const char *body, struct curl_slist *h,
    const char *verb, long *status)
{
	r->e = curl_easy_init();
	curl_easy_setopt(r->e, CURLOPT_URL, url);
	curl_easy_setopt(r->e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(r->e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(r->e, CURLOPT_HEADERFUNCTION, simagent_on_header);
	curl_easy_setopt(r->e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->e, CURLOPT_WRITEFUNCTION, simagent_on_body);
	curl_easy_setopt(r->e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(r->e, CURLOPT_TIMEOUT, 300L);
	CURLM *m = curl_multi_init();
	curl_multi_add_handle(m, r->e);
	int64_t t0 = util_now_ms();
	int running = 1, frame = 0;
	while (running) {
		curl_multi_perform(m, &running);
		if (!running)
			break;
		curl_multi_poll(m, NULL, 0, 100, NULL);
		if (!r->printed)
			simagent_spinner(r->a, t0, frame++, verb);
	}
	CURLcode cc = CURLE_OK;
	int msgs;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(m, &msgs)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			cc = msg->data.result;
	*status = 0;
	curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, status);
	curl_multi_remove_handle(m, r->e);
	curl_multi_cleanup(m);
	curl_easy_cleanup(r->e);
	r->e = NULL;
	return cc;
}

/* Attempt n failed: retry after a delay (printed) unless it was the last. */
static enum outcome
simagent_retry(const struct agent *a, int n, double retry_after, double *wait)
{
	if (n >= SIMAGENT_MAX_ATTEMPTS)
		return OUT_STOP;
	*wait = simagent_retry_delay(retry_after, n);
	printf("  %s⎿  Retrying in %.0fs… (attempt %d/%d)%s\n", a->color ? C_DIM : "", *wait,
	    n + 1, SIMAGENT_MAX_ATTEMPTS, a->color ? C_RESET : "");
	return OUT_RETRY;
}

/* What the end of attempt n means, printed the way agents print it. */
static enum outcome
simagent_outcome(struct agent *a, struct reply *r, CURLcode cc, long status, int n,
    double *wait, int64_t t0)
{
	const char *warn = a->color ? C_YELLOW : "", *bad = a->color ? C_RED : "",
	    *rst = a->color ? C_RESET : "";
	if (cc != CURLE_OK && status == 0) {
		printf("%s⚠ Cannot reach the API: %s%s\n", bad, curl_easy_strerror(cc), rst);
		return OUT_STOP;
	}
	if (status >= 300) {
		char type[64] = "", emsg[320] = "";
		simagent_error_parse(r->errbody.data ? r->errbody.data : "", r->errbody.len, type,
		    sizeof type, emsg, sizeof emsg);
		int retry = status == 429 || status >= 500;
		char *line = xasprintf("⚠ API error %ld%s%s: %s", status, type[0] ? " " : "", type,
		    emsg[0] ? emsg : "(no message)");
		simagent_out_wrapped(retry ? warn : bad, rst, "", line, 2);
		free(line);
		return retry ? simagent_retry(a, n, r->retry_after, wait) : OUT_STOP;
	}
	if (r->st.error_type[0] != '\0' || cc != CURLE_OK) {
		/* an error inside a 200 stream (overloaded_error), or a cut stream */
		if (r->st.error_type[0] != '\0') {
			char *line = xasprintf("⚠ API error (stream) %s: %s", r->st.error_type,
			    r->st.error_message);
			simagent_out_wrapped(warn, rst, "", line, 2);
			free(line);
		} else {
			printf("%s⚠ Stream ended early: %s%s\n", warn, curl_easy_strerror(cc), rst);
		}
		return simagent_retry(a, n, -1, wait);
	}
	struct usage u;
	usage_parser_result(r->up, &u);
	simagent_summary(a, &u, (double)(util_now_ms() - t0) / 1000.0);
	a->tokens += usage_total_tokens(&u);
	a->calls++;
	return OUT_OK;
}

/* One attempt of model call turn; on OUT_RETRY *wait is the delay. */
static enum outcome
simagent_attempt(struct agent *a, int turn, int n, double *wait)
{
	static const char *const verbs[] = { "Thinking", "Pondering", "Considering", "Reasoning",
		"Planning", "Noodling" };
	const char *verb = verbs[simagent_pick(&a->rng, (int)UTIL_ARRAY_LEN(verbs))];
	char *body = simagent_body(a->p, a->api, a->model, turn);
	char *url = a->api == SIMAGENT_ANTHROPIC ? xasprintf("%s/v1/messages", a->base) :
	    xasprintf("%s/chat/completions", a->base);
	struct curl_slist *h = simagent_headers(a);
	struct reply r = { .a = a, .retry_after = -1, .width = 80 };
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		r.width = ws.ws_col - 1;
	simagent_stream_init(&r.st, a->api);
	r.up = usage_parser_new(a->api == SIMAGENT_ANTHROPIC ? API_ANTHROPIC_MESSAGES :
	    API_OPENAI_CHAT, 1);
	int64_t t0 = util_now_ms();
	long status;
	CURLcode cc = simagent_transfer(&r, url, body, h, verb, &status);
	simagent_flush_word(&r);
	simagent_out(r.printed ? "\n" : "\r\033[K");
	enum outcome rc = simagent_outcome(a, &r, cc, status, n, wait, t0);
	fflush(stdout);
	curl_slist_free_all(h);
	usage_parser_free(r.up);
	simagent_stream_free(&r.st);
	buf_free(&r.errbody);
	buf_free(&r.word);
	free(url);
	free(body);
	return rc;
}

/* A model call with the agent's own retries. Returns 0, or -1 to stop. */
static int
simagent_ask(struct agent *a, int turn)
{
	for (int n = 1;; n++) {
		double wait = 0;
		enum outcome o = simagent_attempt(a, turn, n, &wait);
		if (o == OUT_OK)
			return 0;
		if (o == OUT_STOP)
			return -1;
		simagent_pause_ms((int)(wait * 1000));
	}
}

/* Wait for a line on stdin: 1 = Enter (go again), 0 = q or end of input. */
static int
simagent_wait_enter(struct agent *a, const char *what)
{
	printf("\n%s> %s%s", a->color ? C_BOLD : "", a->color ? C_RESET : "", "");
	printf("%s%s (Enter: %s, q: quit)%s", a->color ? C_DIM : "", "waiting for you", what,
	    a->color ? C_RESET : "");
	fflush(stdout);
	char line[256];
	if (fgets(line, sizeof line, stdin) == NULL)
		return 0;
	return line[0] != 'q';
}

static void
simagent_banner(struct agent *a)
{
	const char *c = a->color ? C_MAGENTA : "", *b = a->color ? C_BOLD : "",
	    *d = a->color ? C_DIM : "", *r = a->color ? C_RESET : "";
	printf("%s╭──────────────────────────────────────────────╮%s\n", c, r);
	printf("%s│%s %s✻ sim-agent%s · %-10s · %-18s%s│%s\n", c, r, b, r, a->p->name, a->model, c, r);
	printf("%s│%s %scwd: %-40s%s %s│%s\n", c, r, d, a->p->project, r, c, r);
	printf("%s╰──────────────────────────────────────────────╯%s\n", c, r);
	printf("\n%s> %s%s\n\n", b, a->p->task, r);
	fflush(stdout);
}

/* One run: the plan's steps; returns 0 when done, -1 when stopped. */
static int
simagent_run_once(struct agent *a, uint64_t seed)
{
	struct simagent_step steps[SIMAGENT_MAX_STEPS];
	int n = simagent_plan(a->p, seed, a->requests, steps, SIMAGENT_MAX_STEPS);
	int64_t t0 = util_now_ms();
	a->calls = 0;
	a->tokens = 0;
	for (int i = 0; i < n; i++) {
		if (steps[i].kind == SIMAGENT_ASK) {
			if (simagent_ask(a, steps[i].turn) < 0) {
				printf("%s✗ Stopped: the API refused the request.%s\n", a->color ? C_RED : "",
				    a->color ? C_RESET : "");
				return -1;
			}
		} else {
			struct buf b = { 0 };
			simagent_render(a->p, &steps[i], a->color, &b);
			simagent_out_lines(a, &b);
			buf_free(&b);
		}
		simagent_pause_ms(250 + simagent_pick(&a->rng, 600));
	}
	char tok[16];
	simagent_humanize(a->tokens, tok, sizeof tok);
	printf("%s✻ Worked for %llds · %d requests · %s tokens%s\n", a->color ? C_GREEN : "",
	    (long long)((util_now_ms() - t0) / 1000), a->calls, tok, a->color ? C_RESET : "");
	return 0;
}

int
simagent_run(const struct simagent_options *o, char **err)
{
	struct agent a = { .p = o->persona != NULL ? o->persona : &personas[0], .api = o->api,
		.model = o->model, .requests = o->requests };
	const char *var = a.api == SIMAGENT_ANTHROPIC ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL";
	a.base = getenv(var);
	if (a.base == NULL || a.base[0] == '\0') {
		/* never fall back to the real API: the demo must not leave the machine */
		*err = xasprintf("%s is not set (run it inside tokmux or tokmux demo)", var);
		return -1;
	}
	if (a.model == NULL)
		a.model = a.api == SIMAGENT_ANTHROPIC ? a.p->model : "gpt-5-mini";
	if (a.requests < 0)
		a.requests = a.p->requests;
	/* one fake key per persona: docs has its own account, the rest share one */
	snprintf(a.key, sizeof a.key, "%s%s-0000demo",
	    a.api == SIMAGENT_ANTHROPIC ? "sk-ant-demo-" : "sk-demo-",
	    strcmp(a.p->name, "docs") == 0 ? "docs" : "team");
	const char *nc = getenv("NO_COLOR");
	a.color = (nc == NULL || nc[0] == '\0') && isatty(STDOUT_FILENO);
	a.rng = o->seed * 7919u + 17u;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	simagent_banner(&a);
	for (uint64_t s = o->seed;; s++) {
		int rc = simagent_run_once(&a, s);
		if (!simagent_wait_enter(&a, rc == 0 ? "run again" : "try again"))
			break;
		simagent_out("\n\n");
	}
	curl_global_cleanup();
	return 0;
}
