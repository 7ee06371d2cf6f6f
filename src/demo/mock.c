/*
 * mock: a scripted fake Anthropic / OpenAI provider. It owns a
 * libmicrohttpd daemon (thread per connection, 127.0.0.1 only), the current
 * script (mockscript.c), the request counters, a per-window rate-limit
 * budget reported in headers, and the optional JSONL log of what was
 * served. Bodies and events come from mockwire.c. Streams are planned up
 * front (a list of SSE events) and then handed to MHD one event per reader
 * call, sleeping until each event's scheduled time, so delays are real and
 * nothing is buffered. docs/MOCK.md describes the endpoints and the script.
 */
#include "mock.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mockscript.h"
#include "mockwire.h"
#include "pricing.h"
#include "util.h"

#define MOCK_MAX_BODY (64u << 20)       /* like the 32 MB API limit, with room */
#define MOCK_MAX_SCRIPT (16u << 20)
#define MOCK_BLOCK 16384                /* MHD reader buffer size */

struct mock {
	struct MHD_Daemon *d;
	int port;
	int quiet;
	FILE *log;
	pthread_mutex_t mu;     /* guards everything below and the log file */
	pthread_cond_t cv;      /* signalled on stop: wakes sleeping streams */
	int stopping;
	mockscript_t *script;
	long seq;               /* every request */
	long calls;             /* model calls */
	long path_calls[MOCKWIRE_N];  /* model calls per endpoint */
	int64_t rl_window;      /* index of the current rate-limit window */
	int64_t rl_req, rl_tok, rl_in, rl_out;
	const pricing_t *pricing;   /* what it bills at */
	pricing_t *own_pricing;
	int64_t billed;         /* micro-USD billed so far */
	long unpriced;          /* 200 model calls to models without a price */
};

/* The per-connection upload. */
struct mock_req {
	struct buf body;
	int too_big;
};

/* Rate-limit snapshot for the response headers. */
struct mock_rlsnap {
	struct mockscript_ratelimit conf;
	int64_t req, tok, in, out;  /* remaining */
	double reset;               /* UNIX time the window ends */
};

/* A planned stream: events handed to MHD one per reader call. */
struct mock_stream {
	mock_t *m;
	char **ev;
	size_t *len;
	size_t nev;
	size_t i, off;
	int delay_ms;
	int64_t t0_us;
	int cut;                /* close the connection after the last event */
};

/* One request, from body to response. */
struct mock_call {
	enum mockwire_endpoint ep;
	const char *method;
	const char *url;
	struct mockwire_request rq;     /* model, stream, max_tokens */
	size_t body_len;
	size_t mark_1h, mark_any;   /* bytes up to the last 1-hour / any cache mark */
	long seq, n;
	struct mockscript_params p;     /* strings copied: text, message */
	char *text, *message;
	struct mockwire_toks t;
	struct mock_rlsnap rl;
	int status;
	char *request_id;       /* header request-id / x-request-id */
	int complete;           /* the final usage is part of what gets sent */
	int64_t rep_out;        /* output tokens the client gets to see */
	int rep_in_seen;        /* input/cache figures reach the client */
	char *tool_name, *tool_input;   /* a tool_use answer (copied from the script) */
	char claim[32], ustatus[32];    /* copies of the script's unified settings */
	struct MHD_Connection *conn;    /* its request headers, for the log and the answer */
	int oauth;              /* a subscription's request: Bearer token and an oauth beta */
	cJSON *shape;           /* what its body is made of (mockwire_request_shape), or NULL */
};

/* Request headers the log keeps (none of them a secret): the client, its
 * session and subagent, the request class, the body's encoding. */
static const char *const mock_log_headers[] = {
	"anthropic-version", "user-agent", "x-app", "x-claude-code-session-id",
	"x-claude-code-agent-id", "x-claude-code-request-class", "x-claude-1p-request-class",
	"content-encoding",
};

static void
mock_set_err(char **err, char *msg)
{
	if (err != NULL)
		*err = msg;
	else
		free(msg);
}

/* ------------------------------------------------------------------ */
/* Token figures and the rate-limit budget */

/* Sleep until the monotonic deadline; -1 if the mock is stopping. */
static int
mock_sleep_until(mock_t *m, int64_t deadline_us)
{
	pthread_mutex_lock(&m->mu);
	while (!m->stopping && util_now_us() < deadline_us) {
		struct timespec ts = {
			.tv_sec = (time_t)(deadline_us / 1000000),
			.tv_nsec = (long)(deadline_us % 1000000) * 1000,
		};
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	int stopped = m->stopping;
	pthread_mutex_unlock(&m->mu);
	return stopped ? -1 : 0;
}

/* Where a body's last cache mark ends ("ttl":"1h" for a 1-hour one): a
 * byte count, 0 if none. */
static size_t
mock_last_mark(const char *body, size_t len, const char *mark)
{
	size_t end = 0, n = strlen(mark);
	for (const char *p = body; p != NULL && p < body + len; p++) {
		p = memmem(p, (size_t)(body + len - p), mark, n);
		if (p == NULL)
			break;
		end = (size_t)(p - body) + n;
	}
	return end;
}

static void
mock_compute_toks(const struct mockscript_params *p, const struct mock_call *c,
    struct mockwire_toks *t)
{
	memset(t, 0, sizeof(*t));
	int64_t est = (int64_t)c->body_len / 4, max_tokens = c->rq.max_tokens;
	t->in = p->in >= 0 ? p->in : (est > 0 ? est : 1);
	t->cread = p->cread;
	if (!mockwire_is_openai(c->ep)) {   /* OpenAI has no priced cache writes */
		t->c5m = p->c5m;
		t->c1h = p->c1h;
		if (p->cache_from_body && p->in < 0) {
			/* the prompt up to the last 1h mark is written for an hour,
			 * up to the last mark for 5 minutes, the rest is input */
			t->c1h = (int64_t)c->mark_1h / 4;
			t->c5m = UTIL_MAX(0, (int64_t)c->mark_any / 4 - t->c1h);
			t->in = UTIL_MAX(1, est - t->c1h - t->c5m);
		}
	}
	t->chunks = p->chunks;
	t->out = p->out >= 0 ? p->out : (int64_t)p->chunks * p->chunk_tokens;
	if (max_tokens > 0 && t->out > max_tokens) {
		t->out = max_tokens;
		t->capped = 1;
		if (p->chunk_tokens > 0) {
			int64_t need = (max_tokens + p->chunk_tokens - 1) / p->chunk_tokens;
			if (need < t->chunks)
				t->chunks = (int)need;
		}
	}
	t->reasoning = UTIL_MIN(p->reasoning, t->out);
}

/* Under m->mu: account a served call and snapshot the remaining budget.
 * Returns 1 if the budget is exhausted and enforcement is on. */
static int
mock_ratelimit_take(mock_t *m, const struct mockscript_ratelimit *c, const struct mockwire_toks *t,
    int consume, struct mock_rlsnap *snap)
{
	double now = util_wall();
	int64_t w = (int64_t)(now / c->window_s);
	if (w != m->rl_window) {
		m->rl_window = w;
		m->rl_req = m->rl_tok = m->rl_in = m->rl_out = 0;
	}
	int64_t in = t->in + t->c5m + t->c1h;   /* cache reads don't count toward ITPM */
	int over = c->enforce && consume &&
	    (m->rl_req + 1 > c->requests || m->rl_in + in > c->input ||
	    m->rl_out + t->out > c->output || m->rl_tok + in + t->out > c->tokens);
	if (consume && !over) {
		m->rl_req++;
		m->rl_in += in;
		m->rl_out += t->out;
		m->rl_tok += in + t->out;
	}
	snap->conf = *c;
	snap->req = UTIL_MAX(c->requests - m->rl_req, 0);
	snap->in = UTIL_MAX(c->input - m->rl_in, 0);
	snap->out = UTIL_MAX(c->output - m->rl_out, 0);
	snap->tok = UTIL_MAX(c->tokens - m->rl_tok, 0);
	snap->reset = (double)(w + 1) * c->window_s;
	return over;
}

/* What mockwire needs to build the answer to c. */
static void
mock_answer(const struct mock_call *c, struct mockwire_answer *a)
{
	*a = (struct mockwire_answer){
		.ep = c->ep, .model = c->rq.model, .text = c->text, .t = c->t,
		.max_tokens = c->rq.max_tokens, .ping_every = c->p.ping_every,
		.usage_chunk = c->rq.include_usage || c->p.always_usage,
		.tool_name = c->tool_name, .tool_input = c->tool_input,
	};
	a->t.bad = c->p.bad_usage;
}

/* The body's fields, for the endpoints that take one; -1 if it is not JSON. */
static int
mock_read_body(struct mock_call *c, const struct buf *body)
{
	c->body_len = body->len;
	if (mockwire_is_call(c->ep)) {
		c->shape = cJSON_CreateObject();
		mockwire_request_shape(body->data, body->len, c->shape);
	}
	if (c->ep == MOCKWIRE_ROOT || c->ep == MOCKWIRE_MODELS || c->ep == MOCKWIRE_UNKNOWN)
		return 0;
	if (body->len > 0) {
		c->mark_1h = mock_last_mark(body->data, body->len, "\"ttl\":\"1h\"");
		c->mark_any = mock_last_mark(body->data, body->len, "\"cache_control\"");
	}
	return mockwire_read_request(body->data, body->len, &c->rq);
}

/* Count, resolve the script, account the rate limit: all under the lock. */
static void
mock_call_plan(mock_t *m, struct mock_call *c)
{
	pthread_mutex_lock(&m->mu);
	c->seq = ++m->seq;
	long path_n = 0;
	if (mockwire_is_call(c->ep)) {
		c->n = ++m->calls;
		path_n = ++m->path_calls[c->ep];
	}
	mockscript_resolve(m->script, &c->p, c->ep, c->n, path_n, c->rq.has_model ? c->rq.model : NULL);
	c->text = c->p.text ? xstrdup(c->p.text) : NULL;
	c->message = c->p.message ? xstrdup(c->p.message) : NULL;
	c->p.text = c->text;
	c->p.message = c->message;
	/* the script may be replaced while this request runs: copy what it says */
	if (c->p.tool_name != NULL && c->ep == MOCKWIRE_MESSAGES) {
		c->tool_name = xstrdup(c->p.tool_name);
		char *in = c->p.tool_input != NULL ? cJSON_PrintUnformatted(c->p.tool_input) : NULL;
		c->tool_input = xstrdup(in != NULL ? in : "{}");
		cJSON_free(in);
	}
	snprintf(c->claim, sizeof c->claim, "%s", c->p.claim != NULL ? c->p.claim : "");
	snprintf(c->ustatus, sizeof c->ustatus, "%s", c->p.ustatus != NULL ? c->p.ustatus : "");
	c->p.tool_name = c->p.claim = c->p.ustatus = NULL;
	c->p.tool_input = NULL;
	if (c->p.kind == MOCKSCRIPT_STATUS && c->p.status == 429 && c->p.retry_after == -1)
		c->p.retry_after = c->p.spend_limit ? -2 : 1;
	mock_compute_toks(&c->p, c, &c->t);
	struct mockscript_ratelimit rl;
	mockscript_ratelimit(m->script, &rl);
	int consume = mockwire_is_call(c->ep) && c->p.kind != MOCKSCRIPT_STATUS;
	if (mock_ratelimit_take(m, &rl, &c->t, consume, &c->rl) && consume) {
		c->p.kind = MOCKSCRIPT_STATUS;
		c->p.status = 429;
		snprintf(c->p.action, sizeof(c->p.action), "ratelimit");
		c->p.retry_after = (int)(c->rl.reset - util_wall()) + 1;
	}
	pthread_mutex_unlock(&m->mu);
}

/* ------------------------------------------------------------------ */
/* Responses */

static void
mock_add_header(struct MHD_Response *r, const char *k, const char *v)
{
	MHD_add_response_header(r, k, v);
}

static void
mock_add_header_i(struct MHD_Response *r, const char *k, int64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)v);
	MHD_add_response_header(r, k, b);
}

/* A subscription's windows (anthropic-ratelimit-unified-*), as Anthropic
 * tells an OAuth client instead of an API key's buckets. */
static void
mock_add_unified_headers(struct MHD_Response *r, const struct mock_call *c)
{
	const struct mockscript_params *p = &c->p;
	char v[32];
	int64_t now = (int64_t)util_wall();
	int64_t r5 = now + p->reset5_s, r7 = now + p->reset7_s;
	int seven = strncmp(c->claim, "seven_day", 9) == 0;
	mock_add_header(r, "anthropic-ratelimit-unified-status", c->ustatus);
	mock_add_header(r, "anthropic-ratelimit-unified-representative-claim", c->claim);
	mock_add_header_i(r, "anthropic-ratelimit-unified-reset", seven ? r7 : r5);
	snprintf(v, sizeof v, "%.4f", p->u5h);
	mock_add_header(r, "anthropic-ratelimit-unified-5h-utilization", v);
	mock_add_header_i(r, "anthropic-ratelimit-unified-5h-reset", r5);
	mock_add_header(r, "anthropic-ratelimit-unified-5h-status", p->u5h >= 1 ? "rejected" : "allowed");
	snprintf(v, sizeof v, "%.4f", p->u7d);
	mock_add_header(r, "anthropic-ratelimit-unified-7d-utilization", v);
	mock_add_header_i(r, "anthropic-ratelimit-unified-7d-reset", r7);
	mock_add_header(r, "anthropic-ratelimit-unified-7d-status", p->u7d >= 1 ? "rejected" : "allowed");
	if (p->surpassed >= 0) {
		snprintf(v, sizeof v, "%.2f", p->surpassed);
		mock_add_header(r, seven ? "anthropic-ratelimit-unified-7d-surpassed-threshold" :
		    "anthropic-ratelimit-unified-5h-surpassed-threshold", v);
	}
}

static void
mock_add_ratelimit_headers(struct MHD_Response *r, const struct mock_call *c)
{
	if (c->oauth && c->ep == MOCKWIRE_MESSAGES) {
		mock_add_unified_headers(r, c);
		return;
	}
	const struct mock_rlsnap *s = &c->rl;
	int limited = c->p.kind == MOCKSCRIPT_STATUS && c->p.status == 429 && !c->p.spend_limit;
	double reset = s->reset;
	if (limited && c->p.retry_after >= 0)
		reset = util_wall() + c->p.retry_after;
	if (mockwire_is_openai(c->ep)) {
		char d[32];
		mock_add_header_i(r, "x-ratelimit-limit-requests", s->conf.requests);
		mock_add_header_i(r, "x-ratelimit-limit-tokens", s->conf.tokens);
		mock_add_header_i(r, "x-ratelimit-remaining-requests", limited ? 0 : s->req);
		mock_add_header_i(r, "x-ratelimit-remaining-tokens", s->tok);
		mockwire_go_duration((int64_t)((reset - util_wall()) * 1000), d, sizeof(d));
		mock_add_header(r, "x-ratelimit-reset-requests", d);
		mock_add_header(r, "x-ratelimit-reset-tokens", d);
		return;
	}
	static const char *const names[] = { "requests", "tokens", "input-tokens",
		"output-tokens" };
	int64_t lim[] = { s->conf.requests, s->conf.tokens, s->conf.input, s->conf.output };
	int64_t rem[] = { limited ? 0 : s->req, s->tok, s->in, s->out };
	char ts[40], k[64];
	mockwire_rfc3339(reset, 0, ts, sizeof(ts));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		snprintf(k, sizeof(k), "anthropic-ratelimit-%s-limit", names[i]);
		mock_add_header_i(r, k, lim[i]);
		snprintf(k, sizeof(k), "anthropic-ratelimit-%s-remaining", names[i]);
		mock_add_header_i(r, k, rem[i]);
		snprintf(k, sizeof(k), "anthropic-ratelimit-%s-reset", names[i]);
		mock_add_header(r, k, ts);
	}
}

static void
mock_add_common_headers(struct MHD_Response *r, const struct mock_call *c, const char *ctype)
{
	mock_add_header(r, "content-type", ctype);
	if (c->rq.stream && strcmp(ctype, "text/event-stream") == 0)
		mock_add_header(r, "cache-control", "no-cache");
	if (mockwire_is_openai(c->ep)) {
		mock_add_header(r, "x-request-id", c->request_id);
		mock_add_header(r, "openai-version", "2020-10-01");
		mock_add_header(r, "openai-processing-ms", "1");
	} else {
		mock_add_header(r, "request-id", c->request_id);
		mock_add_header(r, "anthropic-organization-id",
		    "00000000-0000-4000-8000-000000000000");
	}
	if (mockwire_is_call(c->ep))
		mock_add_ratelimit_headers(r, c);
	if (c->p.kind == MOCKSCRIPT_STATUS && c->p.retry_after_raw[0] != '\0')
		mock_add_header(r, "retry-after", c->p.retry_after_raw);
	else if (c->p.kind == MOCKSCRIPT_STATUS && c->p.retry_after >= 0)
		mock_add_header_i(r, "retry-after", c->p.retry_after);
}

static enum MHD_Result
mock_queue_body(struct MHD_Connection *conn, struct mock_call *c, int status, const char *ctype,
    char *body)
{
	c->status = status;
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	mock_add_common_headers(r, c, ctype);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
mock_queue_json(struct MHD_Connection *conn, struct mock_call *c, int status, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char *body = xstrdup(s);        /* MHD frees with free() */
	cJSON_free(s);
	return mock_queue_body(conn, c, status, "application/json", body);
}

static enum MHD_Result
mock_queue_error(struct MHD_Connection *conn, struct mock_call *c, int status,
    const char *message)
{
	return mock_queue_json(conn, c, status, mockwire_error(c->ep, status, c->p.spend_limit,
	    message, c->request_id));
}

static ssize_t
mock_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct mock_stream *s = cls;
	(void)pos;
	if (s->i >= s->nev)
		return s->cut ? MHD_CONTENT_READER_END_WITH_ERROR :
		    MHD_CONTENT_READER_END_OF_STREAM;
	if (s->off == 0) {
		/* Each event leaves at t0 + i*delay: no drift, one event per call. */
		if (s->i == 0)
			s->t0_us = util_now_us();
		else if (s->delay_ms > 0 && mock_sleep_until(s->m, s->t0_us +
		    (int64_t)s->i * s->delay_ms * 1000) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	size_t n = UTIL_MIN(s->len[s->i] - s->off, max);
	memcpy(buf, s->ev[s->i] + s->off, n);
	s->off += n;
	if (s->off == s->len[s->i]) {
		s->i++;
		s->off = 0;
	}
	return (ssize_t)n;
}

static void
mock_stream_free(void *cls)
{
	struct mock_stream *s = cls;
	for (size_t i = 0; i < s->nev; i++)
		free(s->ev[i]);
	free(s->ev);
	free(s->len);
	free(s);
}

/* Hand a list of events to MHD; size MHD_SIZE_UNKNOWN = chunked. */
static enum MHD_Result
mock_queue_events(mock_t *m, struct MHD_Connection *conn, struct mock_call *c,
    struct mockwire_events *l, uint64_t size, const char *ctype, int cut)
{
	struct mock_stream *s = xcalloc(1, sizeof(*s));
	s->m = m;
	s->ev = l->v;
	s->nev = l->n;
	s->len = xcalloc(l->n + 1, sizeof(size_t));
	for (size_t i = 0; i < l->n; i++)
		s->len[i] = strlen(l->v[i]);
	s->delay_ms = c->p.chunk_delay_ms;
	s->cut = cut;
	c->status = 200;
	struct MHD_Response *r = MHD_create_response_from_callback(size, MOCK_BLOCK,
	    mock_stream_read, s, mock_stream_free);
	mock_add_common_headers(r, c, ctype);
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
mock_serve_stream(mock_t *m, struct MHD_Connection *conn, struct mock_call *c)
{
	struct mockwire_events l = { 0 };
	size_t start_idx = SIZE_MAX, final_idx = SIZE_MAX;
	enum mockscript_kind kind = c->p.kind;
	if (kind != MOCKSCRIPT_FIRST) {
		struct mockwire_answer a;
		mock_answer(c, &a);
		mockwire_stream(&l, &a, &start_idx, &final_idx);
	}
	size_t keep = l.n;
	if (kind == MOCKSCRIPT_MIDSTREAM || kind == MOCKSCRIPT_CUT || kind == MOCKSCRIPT_FIRST)
		keep = kind == MOCKSCRIPT_FIRST ? 0 : UTIL_MIN(l.n, (size_t)c->p.after_events);
	for (size_t i = keep; i < l.n; i++)
		free(l.v[i]);
	l.n = keep;
	if (kind == MOCKSCRIPT_MIDSTREAM || kind == MOCKSCRIPT_FIRST)
		mockwire_stream_error(&l, c->ep, c->message);
	int cut = kind == MOCKSCRIPT_CUT;
	c->complete = final_idx < keep;
	c->rep_in_seen = c->complete || start_idx < keep;
	c->rep_out = c->complete ? c->t.out : (c->rep_in_seen && c->t.out > 0 ? 1 : 0);
	return mock_queue_events(m, conn, c, &l, MHD_SIZE_UNKNOWN, "text/event-stream", cut);
}

static enum MHD_Result
mock_serve_nonstream(mock_t *m, struct MHD_Connection *conn, struct mock_call *c)
{
	if (c->p.kind == MOCKSCRIPT_MIDSTREAM || c->p.kind == MOCKSCRIPT_FIRST)
		return mock_queue_error(conn, c, mockwire_is_openai(c->ep) ? 503 : 529, c->message);
	struct mockwire_answer a;
	mock_answer(c, &a);
	cJSON *o = mockwire_body(&a);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	c->complete = 1;
	c->rep_in_seen = 1;
	c->rep_out = c->t.out;
	if (c->p.kind != MOCKSCRIPT_CUT) {
		char *body = xstrdup(s);
		cJSON_free(s);
		return mock_queue_body(conn, c, 200, "application/json", body);
	}
	/* Cut: announce the full length, send half, then close. */
	size_t len = strlen(s);
	struct mockwire_events l = { 0 };
	mockwire_events_add(&l, xstrndup(s, len / 2));
	cJSON_free(s);
	c->complete = 0;
	return mock_queue_events(m, conn, c, &l, len, "application/json", 1);
}

/* ------------------------------------------------------------------ */
/* One request, from body to response */

/* What a model call's request was: how it authenticated (never with
 * what), its betas, the headers of mock_log_headers, its body's shape. */
static void
mock_log_request(cJSON *o, const struct mock_call *c)
{
	const char *key = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "x-api-key");
	const char *auth = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "authorization");
	const char *betas = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "anthropic-beta");
	cJSON_AddStringToObject(o, "auth", c->oauth ? "oauth" : key != NULL ? "x-api-key" :
	    auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 ? "bearer" : "none");
	cJSON *b = cJSON_AddArrayToObject(o, "betas");
	for (const char *p = betas; p != NULL && *p != '\0';) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0) {
			char *one = xstrndup(p, n);
			cJSON_AddItemToArray(b, cJSON_CreateString(one));
			free(one);
		}
		p += strcspn(p, ",");
	}
	cJSON *h = cJSON_AddObjectToObject(o, "headers");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(mock_log_headers); i++) {
		const char *v = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, mock_log_headers[i]);
		if (v != NULL)
			cJSON_AddStringToObject(h, mock_log_headers[i], v);
	}
	for (const cJSON *it = c->shape != NULL ? c->shape->child : NULL; it != NULL; it = it->next)
		cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
}

/* A subscription's request: a Bearer token and an oauth-* beta. */
static int
mock_is_oauth(struct MHD_Connection *conn)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "authorization");
	const char *betas = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "anthropic-beta");
	return auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 && betas != NULL &&
	    strstr(betas, "oauth-") != NULL;
}

/* What a 200 model call bills: everything generated (-1: no price). */
static int64_t
mock_call_bill(const mock_t *m, const struct mock_call *c)
{
	if (c->status != 200 || c->n == 0)
		return 0;
	struct usage u = { .input_tokens = c->t.in, .output_tokens = c->t.out,
		.cache_read_tokens = c->t.cread, .cache_write_5m_tokens = c->t.c5m,
		.cache_write_1h_tokens = c->t.c1h };
	int64_t micros;
	return pricing_cost(m->pricing, c->rq.has_model ? c->rq.model : "", &u, &micros) == 0 ?
	    micros : -1;
}

static void
mock_call_log(mock_t *m, const struct mock_call *c)
{
	int64_t out = c->rep_out;
	int seen = c->rep_in_seen;
	int64_t bill = mock_call_bill(m, c);
	char ts[40];
	mockwire_rfc3339(util_wall(), 1, ts, sizeof(ts));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", (double)c->n);
	cJSON_AddNumberToObject(o, "seq", (double)c->seq);
	cJSON_AddStringToObject(o, "time", ts);
	cJSON_AddStringToObject(o, "method", c->method);
	cJSON_AddStringToObject(o, "path", c->url);
	if (c->rq.has_model)
		cJSON_AddStringToObject(o, "model", c->rq.model);
	else
		cJSON_AddNullToObject(o, "model");
	cJSON_AddBoolToObject(o, "stream", c->rq.stream);
	cJSON_AddNumberToObject(o, "status", c->status);
	cJSON_AddStringToObject(o, "action", c->p.action);
	cJSON_AddStringToObject(o, "request_id", c->request_id);
	cJSON_AddBoolToObject(o, "complete", c->complete);
	cJSON_AddNumberToObject(o, "input_tokens", seen ? (double)c->t.in : 0);
	cJSON_AddNumberToObject(o, "output_tokens", (double)out);
	cJSON_AddNumberToObject(o, "cache_read", seen ? (double)c->t.cread : 0);
	cJSON_AddNumberToObject(o, "cache_write_5m", seen ? (double)c->t.c5m : 0);
	cJSON_AddNumberToObject(o, "cache_write_1h", seen ? (double)c->t.c1h : 0);
	if (c->tool_name != NULL)
		cJSON_AddStringToObject(o, "tool", c->tool_name);
	if (mockwire_is_call(c->ep))
		mock_log_request(o, c);
	if (c->status == 200 && c->n > 0) {
		cJSON_AddNumberToObject(o, "billed_output_tokens", (double)c->t.out);
		if (bill >= 0)
			cJSON_AddNumberToObject(o, "cost_micros", (double)bill);
	}
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	pthread_mutex_lock(&m->mu);
	if (bill > 0)
		m->billed += bill;
	else if (bill < 0)
		m->unpriced++;
	if (m->log != NULL) {
		fprintf(m->log, "%s\n", line);
		fflush(m->log);
	}
	pthread_mutex_unlock(&m->mu);
	if (!m->quiet)
		fprintf(stderr, "mock: #%ld %s %s %s%s -> %d %s in=%lld out=%lld\n", c->seq,
		    c->method, c->url, c->rq.has_model ? c->rq.model : "-", c->rq.stream ? " (stream)" : "",
		    c->status, c->p.action, seen ? (long long)c->t.in : 0LL, (long long)out);
	cJSON_free(line);
}

static enum MHD_Result
mock_serve(mock_t *m, struct MHD_Connection *conn, struct mock_call *c, struct mock_req *rq)
{
	if (rq->too_big || c->ep == MOCKWIRE_UNKNOWN ||
	    strcmp(c->method, mockwire_method(c->ep)) != 0) {
		int st = rq->too_big ? 413 : c->ep == MOCKWIRE_UNKNOWN ? 404 : 405;
		pthread_mutex_lock(&m->mu);
		c->seq = ++m->seq;
		pthread_mutex_unlock(&m->mu);
		c->ep = MOCKWIRE_UNKNOWN;     /* not a model call: no rate-limit headers */
		return mock_queue_error(conn, c, st, st == 405 ? "Method not allowed" : NULL);
	}
	int bad = mock_read_body(c, &rq->body);
	mock_call_plan(m, c);
	if (bad)
		return mock_queue_error(conn, c, 400, "The request body is not valid JSON.");
	if (c->p.first_byte_ms > 0 && mock_sleep_until(m, util_now_us() +
	    (int64_t)c->p.first_byte_ms * 1000) < 0)
		return MHD_NO;
	if (c->p.kind == MOCKSCRIPT_STATUS)
		return mock_queue_error(conn, c, c->p.status, c->message);
	switch (c->ep) {
	case MOCKWIRE_ROOT: {
		c->complete = 1;
		return mock_queue_body(conn, c, 200, "text/plain; charset=utf-8",
		    xstrdup("tokmux mock provider (Anthropic and OpenAI shapes)\n"));
	}
	case MOCKWIRE_MODELS: {
		pthread_mutex_lock(&m->mu);
		cJSON *o = mockwire_models(mockscript_models(m->script));
		pthread_mutex_unlock(&m->mu);
		c->complete = 1;
		return mock_queue_json(conn, c, 200, o);
	}
	case MOCKWIRE_COUNT: {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "input_tokens", (double)c->t.in);
		c->complete = 1;
		return mock_queue_json(conn, c, 200, o);
	}
	default:
		break;
	}
	if (!c->rq.has_model)
		snprintf(c->rq.model, sizeof(c->rq.model), "%s", "mock-model");
	if (c->rq.stream)
		return mock_serve_stream(m, conn, c);
	return mock_serve_nonstream(m, conn, c);
}

static enum MHD_Result
mock_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	mock_t *m = cls;
	struct mock_req *rq = *con_cls;
	if (rq == NULL) {
		*con_cls = xcalloc(1, sizeof(*rq));
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->body.len + *upload_data_size > MOCK_MAX_BODY)
			rq->too_big = 1;
		else
			buf_append(&rq->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct mock_call c;
	memset(&c, 0, sizeof(c));
	mockscript_params_init(&c.p);
	c.method = method;
	c.url = url;
	c.conn = conn;
	c.oauth = mock_is_oauth(conn);
	c.ep = mockwire_endpoint(url);
	c.request_id = mockwire_request_id(c.ep);
	enum MHD_Result ret = mock_serve(m, conn, &c, rq);
	if (c.status != 0)
		mock_call_log(m, &c);
	free(c.request_id);
	free(c.text);
	free(c.message);
	free(c.tool_name);
	free(c.tool_input);
	cJSON_Delete(c.shape);
	return ret;
}

static void
mock_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct mock_req *rq = *con_cls;
	if (rq != NULL) {
		buf_free(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void
mock_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *s = xvasprintf(fmt, ap);
	log_debug("mock: mhd: %s", s);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Lifecycle */

mock_t *
mock_start(const struct mock_options *o, char **err)
{
	if (o->port < 0 || o->port > 65535) {
		mock_set_err(err, xasprintf("port %d out of range", o->port));
		return NULL;
	}
	mock_t *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	m->quiet = o->quiet;
	m->rl_window = -1;
	if (o->pricing == NULL)
		m->own_pricing = pricing_new();
	m->pricing = o->pricing != NULL ? o->pricing : m->own_pricing;
	if (o->script_path != NULL && mock_load_script(m, o->script_path, err) < 0)
		goto fail;
	if (o->log_path != NULL && (m->log = fopen(o->log_path, "ae")) == NULL) {
		mock_set_err(err, xasprintf("%s: %s", o->log_path, strerror(errno)));
		goto fail;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, (uint16_t)o->port, NULL, NULL, mock_on_request, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, mock_on_completed, m,
	    MHD_OPTION_EXTERNAL_LOGGER, mock_on_mhd_log, m,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)900, /* > longest delay */
	    MHD_OPTION_END);
	if (m->d == NULL) {
		mock_set_err(err, xasprintf("cannot listen on 127.0.0.1:%d", o->port));
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = di != NULL ? di->port : o->port;
	return m;
fail:
	mock_stop(m);
	return NULL;
}

int
mock_port(const mock_t *m)
{
	return m->port;
}

int64_t
mock_billed_micros(const mock_t *m, long *unpriced_calls)
{
	mock_t *mm = (mock_t *)m;
	pthread_mutex_lock(&mm->mu);
	int64_t v = mm->billed;
	if (unpriced_calls != NULL)
		*unpriced_calls = mm->unpriced;
	pthread_mutex_unlock(&mm->mu);
	return v;
}

long
mock_calls(const mock_t *m)
{
	mock_t *mm = (mock_t *)m;
	pthread_mutex_lock(&mm->mu);
	long n = mm->calls;
	pthread_mutex_unlock(&mm->mu);
	return n;
}

void
mock_stop(mock_t *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->d != NULL)
		MHD_stop_daemon(m->d);
	if (m->log != NULL)
		fclose(m->log);
	mockscript_free(m->script);
	pricing_free(m->own_pricing);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* Swap in s (NULL: no script); the old one is freed. */
static void
mock_set_script(mock_t *m, mockscript_t *s)
{
	pthread_mutex_lock(&m->mu);
	mockscript_t *old = m->script;
	m->script = s;
	pthread_mutex_unlock(&m->mu);
	mockscript_free(old);
}

int
mock_load_script_json(mock_t *m, const char *json, char **err)
{
	char *e = NULL;
	mockscript_t *s = NULL;
	if (json != NULL && (s = mockscript_parse(json, strlen(json), NULL, &e)) == NULL) {
		mock_set_err(err, e);
		return -1;
	}
	mock_set_script(m, s);
	return 0;
}

int
mock_load_script(mock_t *m, const char *path, char **err)
{
	if (path == NULL)
		return mock_load_script_json(m, NULL, err);
	size_t len;
	char *e = NULL;
	char *text = util_read_file(path, MOCK_MAX_SCRIPT, &len, &e);
	mockscript_t *s = text != NULL ? mockscript_parse(text, len, path, &e) : NULL;
	free(text);
	if (s == NULL) {
		mock_set_err(err, e);
		return -1;
	}
	mock_set_script(m, s);
	return 0;
}
