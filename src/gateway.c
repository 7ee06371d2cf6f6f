/*
 * gateway: the proxy (libmicrohttpd in, upstream/libcurl out). It owns the
 * route table (pane tokens; the route lock is a leaf), the request checks
 * (Host, Origin, header bytes, one Host), the forwarding rules, upstream
 * attempts and each attempt's rate-limit headers (parsed once, merged into
 * the rate-limit table, handed to the policy), and the libmicrohttpd glue.
 * A finished request goes to the meter (meter.c); /metrics is metrics.c's.
 *
 * Threading: one event loop thread, the upstream driver (upstream.c),
 * runs libmicrohttpd in external epoll mode (gateway_mhd_run) and every
 * transfer; it never waits. When the body is complete the handler asks
 * the policy to admit the request with gateway_call.nowait (a hook that
 * would wait answers GATEWAY_LATER), starts the attempt and suspends the
 * connection; the transfer's notify callback (headers, chunks, the end,
 * the agent hanging up: the loop watches its socket) resumes it. Once
 * the status is known the attempt hook runs the same way. Whatever would
 * wait (pacing, backoff, fallbacks, peeking at a stream's first event, a
 * dropped attempt) runs in a taskpool thread while the connection stays
 * suspended; resuming from there wakes the loop (upstream_loop_wake). The
 * answer is a callback response whose reader hands the agent whatever
 * the transfer has buffered, as soon as it is there (streaming is
 * pass-through: no batching; the usage parser reads a copy through the
 * transfer's tap); with nothing buffered it parks (suspends) until the
 * next notify. When MHD reports the request completed, the transfer is
 * joined (or aborted) and the meter settles the request.
 *
 * Upstream path rule: the route-relative path gets "/v1" in front when it
 * starts with an API resource but lacks the version (OpenCode calls
 * X/messages, Claude Code X/v1/messages). OpenAI upstream for /v1/chat/...,
 * /v1/responses, /v1/embeddings, /v1/completions; /v1/models goes to OpenAI
 * only when the request looks like an OpenAI client (Authorization: Bearer,
 * no x-api-key and no anthropic-version header): Claude Code always sends
 * anthropic-version, also with a subscription's bearer token. Everything
 * else goes to the Anthropic upstream.
 *
 * Timeouts: connect 10 s; no total limit (agents stream for minutes) but an
 * idle limit: a transfer with no byte in either direction for 10 minutes
 * is aborted (504 if that happens before the headers; a cut stream after).
 *
 * Paths: the route-relative path must be canonical (no empty, "." or ".."
 * segments, no percent-encoded or unusual characters: 400), so what is
 * routed and metered is what the upstream serves. Metered: POST messages,
 * chat/completions, responses. Passed through unmetered, a short list that
 * cannot carry a billable generation: GET/HEAD models (and models/ID),
 * POST messages/count_tokens and responses/input_tokens, HEAD of any path
 * (connectivity checks). Anything else is refused with 404, never
 * forwarded unmetered (docs/GATEWAY.md).
 *
 * Policy seam (struct gateway_policy, all hooks optional):
 *   (a) admit()   after the body is read: may refuse with an API-shaped
 *                 error, may set a reservation (stats_begin/_end carry it);
 *   (b) attempt() after each upstream attempt's headers, before any byte
 *                 reaches the agent (it sees a struct gateway_attempt, not
 *                 the transfer): may ask for another attempt, with a
 *                 rewritten body (529 retry, model fallback, 429 pacing);
 *   (c) charge()  once per admitted request: what it counts against the
 *                 ceilings (for the ledger and settle);
 *   (d) settle()  once per admitted request with the final usage and cost.
 * Only generation calls are metered and go through the policy; a metered
 * call whose body tokmux cannot read safely (reqbody_read) is refused with
 * 400 before the policy sees it.
 */
#include "gateway.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gwguard.h"
#include "meter.h"
#include "metrics.h"
#include "resume.h"
#include "taskpool.h"
#include "util.h"

#define GATEWAY_MAX_ATTEMPTS 16
#define GATEWAY_POLL_MS 50             /* how often blocked waits look at the world */
#define GATEWAY_BLOCK_SIZE (16 * 1024)     /* a callback response's buffer: calloc'd per response */
#define GATEWAY_CONN_MEMORY (32 * 1024)    /* libmicrohttpd zeroes this pool per request */
#define GATEWAY_MAX_JOBS 512           /* forwarding threads at most (then requests queue) */

struct route {
	char *name;
	char *agent;
	char token[GATEWAY_TOKEN_LEN + 1];
	int stats_route;
	char *branch, *worktree;       /* where the pane works now (the ledger's); they change:
	                                * read them under the lock only (gateway_route_where) */
	char conv_agent[RESUME_AGENT_MAX];   /* the conversation its requests name, "" none */
	char conv_id[RESUME_ID_MAX];
};

struct gateway {
	struct MHD_Daemon *mhd;
	int port;
	char *anthropic;               /* upstream bases, no trailing slash */
	char *openai;
	stats_t *stats;
	rl_table_t *rl;
	struct gateway_policy policy;
	metrics_t *metrics;
	struct meter meter;            /* pricing, stats, ledger, metrics, policy */
	int idle_s;
	int connect_ms;
	upstream_t *up;
	taskpool_t *jobs;              /* forwarding threads: admit, attempts, policy waits */
	int njobs;                     /* atomic: jobs submitted and not yet handed back */
	gwguard_t *guard;              /* the bodies' memory budget, the metrics token */
	int stopping;                  /* atomic */

	pthread_mutex_t reqs_lock;     /* the list of requests (a leaf, but for req.mu) */
	struct req *reqs;

	pthread_mutex_t lock;          /* the route table; a leaf lock */
	struct route routes[GATEWAY_MAX_ROUTES];
	int nroutes;
};

/* Per connection: the raw request URI (MHD hands the handler a decoded
 * path without the query; forwarding needs the bytes as sent). */
struct conn {
	char *raw_uri;
};

/* Where a forwarded request is: its body being read; an attempt sent,
 * its status awaited (the connection suspended, resumed by the transfer's
 * notify); a job in a pool thread (a wait: pacing, backoff, a fallback,
 * the policy peeking); the answer decided. */
enum { REQ_BODY, REQ_ATTEMPT, REQ_JOB, REQ_REPLY };
/* What a pool thread does for a request: admit it (and send its first
 * attempt), ask the policy about an attempt's answer, or drop an attempt
 * and send the next one. */
enum { REQ_JOB_ADMIT, REQ_JOB_DECIDE, REQ_JOB_NEXT };

/* Per request. */
struct req {
	gateway_t *g;
	struct MHD_Connection *conn;
	int fd;                        /* the agent's socket (watched for its hang-up) */
	struct req *prev, *next;       /* g->reqs */
	int phase;                     /* REQ_*: set before the connection is resumed */
	int job;                       /* REQ_JOB_*: what the pool thread is to do */
	int st;                        /* status of the current attempt once known (0: none
	                                * came back), -1 while waiting for it */
	int refused_now;               /* admit() refused as ref says */
	struct gateway_refusal ref;
	char *job_nb;                  /* a retry's new body, for REQ_JOB_NEXT */
	size_t job_nlen;
	int64_t sent_us;               /* the current attempt went out */
	struct rl_state rl;            /* the current attempt's rate-limit headers ... */
	int rl_have;                   /* ... 1 if it had any */
	/* A streaming reader with nothing to hand over parks: it suspends the
	 * connection; the transfer's notify (any change) resumes it. */
	pthread_mutex_t mu;            /* parked, seq; taken inside nothing but reqs_lock */
	int parked;
	unsigned seq;                  /* bumped by every notify */
	int route;
	int stats_route;               /* copied from the route at the start */
	const char *route_name;        /* the route's: names never change */
	const char *agent;
	char *method;
	char *path;                    /* route-relative path, raw */
	char *query;                   /* "?..." or "" */
	struct buf body;
	int too_big;
	size_t body_held;              /* reserved from the bodies' memory budget: the body's
	                                * buffer and parse_extra */
	size_t parse_extra;            /* what reading the body takes (reqbody_parse_cost) */
	int busy;                      /* over that budget: answered 503 */
	char *local_body;              /* answered by the gateway itself (healthz, metrics,
	                                * an unknown route): sent once the request is read */
	const char *local_type;
	int local_status;

	/* set when forwarding */
	int openai;
	enum api_kind api;
	int kind;                      /* GATEWAY_PATH_* */
	int metered;
	int body_rc;                   /* reqbody_read's verdict on a POST body */
	const char *upstream_base;
	char *url;
	char **hdrs;
	int nhdrs;
	const char *conn_tokens;       /* the agent's Connection header (MHD's), NULL none */
	struct reqbody asked;          /* what the agent's body asks for (POST only) */
	char key_hash[17];
	char agent_session[STATS_AGENT_ID_MAX];   /* x-claude-code-session-id, "" none */
	char subagent[STATS_AGENT_ID_MAX];        /* x-claude-code-agent-id, "" none */
	struct gateway_call call;
	char *new_body;                /* a body rewritten by the policy */
	upstream_xfer_t *x;
	usage_parser_t *parser;        /* the current attempt's; fed by its worker */
	int64_t t0_ms;
	int64_t t0_us, upstream_us;    /* forwarding began; time spent waiting on upstream */
	int64_t ttfb_us, added_us;     /* for /metrics, -1 until known */
	int status;                    /* given to the agent */
	char request_id[96];
	char error[320];               /* one-line error for stats/ledger */
	int upstream_broken;           /* body ended with an upstream error */
	int client_gone;
	int begun;                     /* stats_begin done: settle once */
	int refused;
	int no_reply;                  /* went upstream, no status came back */
	char ledger_id[LEDGER_ID_LEN + 1];   /* its intent line's id, "" none */
};

static int
gateway_stopping(gateway_t *g)
{
	return __atomic_load_n(&g->stopping, __ATOMIC_ACQUIRE);
}

/* ---------------------------------------------------------------- paths */

static const char *const api_resources[] = {
	"messages", "complete", "models", "chat", "responses", "embeddings", "completions",
};

char *
gateway_upstream_path(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return xstrdup("/");
	if (strcmp(path, "/v1") == 0 || strncmp(path, "/v1/", 4) == 0)
		return xstrdup(path);
	const char *seg = path[0] == '/' ? path + 1 : path;
	size_t n = strcspn(seg, "/");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(api_resources); i++) {
		if (strlen(api_resources[i]) == n && strncmp(seg, api_resources[i], n) == 0)
			return xasprintf("/v1/%s", seg);
	}
	return xstrdup(path);
}

/* path equals prefix or continues with '/'. */
static int
gateway_path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
gateway_is_openai(const char *path, int has_x_api_key, int has_bearer, int has_anthropic_version)
{
	if (gateway_path_under(path, "/v1/chat") || gateway_path_under(path, "/v1/responses") ||
	    gateway_path_under(path, "/v1/embeddings") || gateway_path_under(path, "/v1/completions"))
		return 1;
	if (gateway_path_under(path, "/v1/models"))
		return has_bearer && !has_x_api_key && !has_anthropic_version;
	return 0;
}

/* Characters a canonical path segment may hold: letters, digits and the
 * unreserved and sub-delimiter marks model ids use. */
static int
gateway_path_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    strchr("-._~:@+,=", c) != NULL;
}

const char *
gateway_path_problem(const char *path)
{
	if (path == NULL || path[0] != '/')
		return "no leading /";
	if (path[1] == '\0')
		return NULL;   /* the route itself */
	for (const char *p = path + 1;; p++) {
		size_t n = strcspn(p, "/");
		if (n == 0)
			return "an empty segment (//, or a / at the end)";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "a . or .. segment";
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '%')
				return "a percent-encoded character";
			if (!gateway_path_char_ok(p[i]))
				return "a character other than letters, digits and - . _ ~ : @ + , =";
		}
		p += n;
		if (*p == '\0')
			return NULL;
	}
}

int
gateway_path_kind(const char *method, const char *upath, size_t body_len)
{
	int post = strcmp(method, "POST") == 0;
	enum api_kind api = usage_api_for_path(upath);
	if (post && (api == API_ANTHROPIC_MESSAGES || api == API_OPENAI_CHAT ||
	    api == API_OPENAI_RESPONSES))
		return GATEWAY_PATH_METERED;
	if (strcmp(method, "HEAD") == 0 && body_len == 0)
		return GATEWAY_PATH_PASS;
	if (strcmp(method, "GET") == 0 && body_len == 0 && (strcmp(upath, "/v1/models") == 0 ||
	    (strncmp(upath, "/v1/models/", 11) == 0 && strchr(upath + 11, '/') == NULL)))
		return GATEWAY_PATH_PASS;
	if (post && (strcmp(upath, "/v1/messages/count_tokens") == 0 ||
	    strcmp(upath, "/v1/responses/input_tokens") == 0))
		return GATEWAY_PATH_PASS;
	return GATEWAY_PATH_REFUSED;
}

/* ----------------------------------------------------------- responses */

static enum MHD_Result
gateway_respond_text(struct MHD_Connection *c, int status, const char *type, const char *text)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text),
	    (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* An error body in the shape the agent's SDK parses (code: OpenAI's, NULL
 * or "": null). */
static char *
gateway_error_json(int openai, const char *type, const char *message, const char *code)
{
	cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject();
	if (openai) {
		cJSON_AddStringToObject(err, "message", message);
		cJSON_AddStringToObject(err, "type", type);
		if (code != NULL && code[0] != '\0')
			cJSON_AddStringToObject(err, "code", code);
		else
			cJSON_AddNullToObject(err, "code");
	} else {
		cJSON_AddStringToObject(root, "type", "error");
		cJSON_AddStringToObject(err, "type", type);
		cJSON_AddStringToObject(err, "message", message);
	}
	cJSON_AddItemToObject(root, "error", err);
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (s == NULL)
		fatal("out of memory (cJSON)");
	char *out = xstrdup(s);
	cJSON_free(s);
	return out;
}

static enum MHD_Result
gateway_respond_error_code(struct req *r, int status, const char *type, const char *code,
    const char *message, int retry_after, int no_retry)
{
	char *body = gateway_error_json(r->openai, type, message, code);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (retry_after > 0) {
		char v[24];
		snprintf(v, sizeof v, "%d", retry_after);
		MHD_add_response_header(resp, "retry-after", v);
	} else if (no_retry) {
		MHD_add_response_header(resp, "x-should-retry", "false");
	}
	r->status = status;
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
gateway_respond_error(struct req *r, int status, const char *type, const char *message,
    int retry_after, int no_retry)
{
	return gateway_respond_error_code(r, status, type, NULL, message, retry_after, no_retry);
}

/* -------------------------------------------------------------- routes */

static int
gateway_token_eq(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;   /* constant time: tokens are secrets */
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Route index for the token at s (n chars), or -1; a copy of the route
 * in *out (its strings never change). */
static int
gateway_route_find(gateway_t *g, const char *s, size_t n, struct route *out)
{
	int found = -1;
	if (n != GATEWAY_TOKEN_LEN)
		return -1;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < g->nroutes; i++)
		if (gateway_token_eq(g->routes[i].token, s, n))
			found = i;
	if (found >= 0)
		*out = g->routes[found];
	pthread_mutex_unlock(&g->lock);
	return found;
}

int
gateway_add_route(gateway_t *g, const char *name, const char *agent_cmd, char token_out[65])
{
	pthread_mutex_lock(&g->lock);
	if (g->nroutes >= GATEWAY_MAX_ROUTES) {
		pthread_mutex_unlock(&g->lock);
		return -1;
	}
	int idx = g->nroutes;
	struct route *rt = &g->routes[idx];
	rt->stats_route = idx;
	util_random_hex(rt->token, GATEWAY_TOKEN_LEN);
	rt->name = xstrdup(name ? name : "default");
	rt->agent = agent_cmd ? xstrdup(agent_cmd) : NULL;
	g->nroutes++;
	if (token_out != NULL)
		snprintf(token_out, 65, "%s", rt->token);
	pthread_mutex_unlock(&g->lock);
	/* The stats store gets the same index, outside the route lock (no
	 * lock is taken inside another here). Nobody knows the token before
	 * this returns, so no request can use the route meanwhile. */
	if (g->stats != NULL && stats_ensure_routes(g->stats, idx + 1) <= idx) {
		pthread_mutex_lock(&g->lock);
		g->routes[idx].stats_route = -1;
		pthread_mutex_unlock(&g->lock);
	}
	return idx;
}

void
gateway_route_set_where(gateway_t *g, int route, const char *branch, const char *worktree)
{
	char *b = branch != NULL && branch[0] != '\0' ? xstrdup(branch) : NULL;
	char *w = worktree != NULL && worktree[0] != '\0' ? xstrdup(worktree) : NULL;
	pthread_mutex_lock(&g->lock);
	if (route >= 0 && route < g->nroutes) {
		struct route *rt = &g->routes[route];
		char *old_b = rt->branch, *old_w = rt->worktree;
		rt->branch = b;
		rt->worktree = w;
		b = old_b;      /* freed below, outside the lock */
		w = old_w;
	}
	pthread_mutex_unlock(&g->lock);
	free(b);
	free(w);
}

/* Copy a route's branch and worktree ("" none) under the route lock. */
static void
gateway_route_where(gateway_t *g, int route, char *branch, size_t blen, char *worktree, size_t wlen)
{
	branch[0] = worktree[0] = '\0';
	pthread_mutex_lock(&g->lock);
	if (route >= 0 && route < g->nroutes) {
		const struct route *rt = &g->routes[route];
		if (rt->branch != NULL)
			snprintf(branch, blen, "%s", rt->branch);
		if (rt->worktree != NULL)
			snprintf(worktree, wlen, "%s", rt->worktree);
	}
	pthread_mutex_unlock(&g->lock);
}

int
gateway_route_count(const gateway_t *g)
{
	gateway_t *mg = (gateway_t *)g;
	pthread_mutex_lock(&mg->lock);
	int n = g->nroutes;
	pthread_mutex_unlock(&mg->lock);
	return n;
}

void
gateway_route_env(const gateway_t *g, int route, char *anthropic_base, size_t alen,
    char *openai_base, size_t olen)
{
	gateway_t *mg = (gateway_t *)g;
	char token[GATEWAY_TOKEN_LEN + 1] = "";
	pthread_mutex_lock(&mg->lock);
	if (route >= 0 && route < g->nroutes)
		memcpy(token, g->routes[route].token, sizeof token);
	pthread_mutex_unlock(&mg->lock);
	if (anthropic_base != NULL && alen > 0)
		snprintf(anthropic_base, alen, "http://127.0.0.1:%d/p/%s", g->port, token);
	if (openai_base != NULL && olen > 0)
		snprintf(openai_base, olen, "http://127.0.0.1:%d/p/%s/v1", g->port, token);
}

static const char *
gateway_conn_header(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

/* The conversation the agent's request names, kept per route (a session
 * resumes each agent on its own conversation). */
static void
gateway_note_conversation(gateway_t *g, int route, struct MHD_Connection *c)
{
	char agent[RESUME_AGENT_MAX], id[RESUME_ID_MAX];
	if (!resume_from_headers(gateway_conn_header, c, agent, id))
		return;
	pthread_mutex_lock(&g->lock);
	if (route >= 0 && route < g->nroutes) {
		struct route *rt = &g->routes[route];
		memcpy(rt->conv_agent, agent, sizeof agent);
		memcpy(rt->conv_id, id, sizeof id);
	}
	pthread_mutex_unlock(&g->lock);
}

int
gateway_route_conversation(gateway_t *g, int route, char agent[RESUME_AGENT_MAX],
    char id[RESUME_ID_MAX])
{
	int found = 0;
	agent[0] = id[0] = '\0';
	pthread_mutex_lock(&g->lock);
	if (route >= 0 && route < g->nroutes && g->routes[route].conv_id[0] != '\0') {
		memcpy(agent, g->routes[route].conv_agent, RESUME_AGENT_MAX);
		memcpy(id, g->routes[route].conv_id, RESUME_ID_MAX);
		found = 1;
	}
	pthread_mutex_unlock(&g->lock);
	return found;
}

int
gateway_port(const gateway_t *g)
{
	return g->port;
}

/* -------------------------------------------------------------- metrics */

char *
gateway_metrics(gateway_t *g)
{
	struct metrics_route routes[GATEWAY_MAX_ROUTES];
	pthread_mutex_lock(&g->lock);
	int n = g->nroutes;
	for (int i = 0; i < n; i++)
		routes[i] = (struct metrics_route){ g->routes[i].name, g->routes[i].stats_route };
	pthread_mutex_unlock(&g->lock);
	struct metrics_sources src = { .stats = g->stats, .ratelimits = g->rl,
		.ledger = g->meter.ledger };
	return metrics_render(g->metrics, routes, n, &src);
}

/* ------------------------------------------------------- request checks */

static int
gateway_host_ok(gateway_t *g, const char *host)
{
	char a[40], b[40];
	if (host == NULL)
		return 0;
	snprintf(a, sizeof a, "127.0.0.1:%d", g->port);
	snprintf(b, sizeof b, "localhost:%d", g->port);
	return strcmp(host, a) == 0 || strcasecmp(host, b) == 0;
}

struct header_check {
	int hosts;
	int bad;
};

static enum MHD_Result
gateway_header_check_one(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	struct header_check *hc = cls;
	if (strcasecmp(name, "Host") == 0)
		hc->hosts++;
	/* libmicrohttpd keeps a bare CR inside a value and curl sends it on:
	 * an upstream that ends lines at CR would read an injected header. */
	if (strpbrk(name, "\r\n") != NULL || (value != NULL && strpbrk(value, "\r\n") != NULL))
		hc->bad = 1;
	return MHD_YES;
}

/* 1 if the request's headers are safe to forward: no CR or LF inside a
 * name or value, and exactly one Host (two could pass the Host check with
 * the first while a proxy or server in between reads the second). */
static int
gateway_headers_ok(struct MHD_Connection *c)
{
	struct header_check hc = { 0 };
	MHD_get_connection_values(c, MHD_HEADER_KIND, gateway_header_check_one, &hc);
	return !hc.bad && hc.hosts == 1;
}

/* Split "/p/<token>[/rest][?query]". Returns the route (a copy in *rt) or -1. */
static int
gateway_split_uri(gateway_t *g, const char *uri, char **path, char **query, struct route *rt)
{
	if (strncmp(uri, "/p/", 3) != 0)
		return -1;
	const char *tok = uri + 3;
	size_t tlen = strcspn(tok, "/?");
	int route = gateway_route_find(g, tok, tlen, rt);
	if (route < 0)
		return -1;
	const char *rest = tok + tlen;
	size_t plen = strcspn(rest, "?");
	*path = plen ? xstrndup(rest, plen) : xstrdup("/");
	*query = xstrdup(rest + plen);
	return route;
}

/* ------------------------------------------------------ forwarding */

/* Headers never forwarded: hop-by-hop ones, and those curl sets itself. */
static const char *const hop_headers[] = {
	"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
	"host", "content-length", "accept-encoding", "expect", "proxy-authenticate",
	"proxy-authorization", "proxy-connection",
};

static int
gateway_hop_header(const char *name, const char *conn_tokens)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(hop_headers); i++)
		if (strcasecmp(name, hop_headers[i]) == 0)
			return 1;
	if (strncasecmp(name, "proxy-", 6) == 0)
		return 1;
	/* Headers named in Connection are hop-by-hop too. */
	size_t n = strlen(name);
	for (const char *p = conn_tokens; p != NULL && *p; ) {
		p += strspn(p, " ,\t");
		size_t t = strcspn(p, " ,\t");
		if (t == n && strncasecmp(p, name, n) == 0)
			return 1;
		p += t;
	}
	return 0;
}

static enum MHD_Result
gateway_collect_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	struct req *r = cls;
	if (gateway_hop_header(name, r->conn_tokens))
		return MHD_YES;
	r->hdrs = xreallocarray(r->hdrs, (size_t)r->nhdrs + 1, sizeof *r->hdrs);
	r->hdrs[r->nhdrs++] = xasprintf("%s: %s", name, value ? value : "");
	return MHD_YES;
}

static const char *
gateway_header_get(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* An agent's own id from header name (its session, a subagent) into out,
 * when it is a plain token: 1..STATS_AGENT_ID_MAX-1 of [A-Za-z0-9._:-];
 * anything else is not recorded. */
static void
gateway_agent_id(struct req *r, const char *name, char *out)
{
	const char *v = gateway_header_get(r, name);
	size_t n = v != NULL ? strlen(v) : 0;
	out[0] = '\0';
	if (n == 0 || n >= STATS_AGENT_ID_MAX || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._:-") != n)
		return;
	memcpy(out, v, n + 1);
}

/* The API key or bearer token, hashed; never kept. */
static void
gateway_key_hash(struct req *r, int *has_key, int *has_bearer)
{
	const char *key = gateway_header_get(r, "x-api-key");
	const char *auth = gateway_header_get(r, "Authorization");
	*has_key = key != NULL;
	*has_bearer = auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0;
	r->key_hash[0] = '\0';
	if (key != NULL && *key)
		util_key_hash(key, r->key_hash);
	else if (*has_bearer)
		util_key_hash(auth + 7, r->key_hash);
}

static void
gateway_tap(void *user, upstream_xfer_t *x, const char *data, size_t len)
{
	struct req *r = user;
	if (r->parser == NULL) {
		const char *ct = upstream_header_get(x, "Content-Type");
		int sse = ct != NULL && strstr(ct, "text/event-stream") != NULL;
		r->parser = usage_parser_new(r->api, sse);
	}
	usage_parser_feed(r->parser, data, len);
}

/* The one place response headers become rate-limit state: parse the
 * attempt's headers into *st and merge them into the table under the
 * request's key, before the policy reads them. 1 if it had any. */
static int
gateway_attempt_ratelimit(struct req *r, struct rl_state *st)
{
	int any = 0;
	double now = util_wall();
	rl_state_init(st);
	snprintf(st->key_hash, sizeof st->key_hash, "%s", r->key_hash);
	for (int i = 0; i < upstream_header_count(r->x); i++) {
		const char *name, *value;
		upstream_header_at(r->x, i, &name, &value);
		any |= ratelimit_parse_header(st, name, value, now);
	}
	if (!any)
		return 0;
	st->updated = now;
	if (r->g->rl != NULL && r->key_hash[0] != '\0')
		rl_table_merge(r->g->rl, st);
	return 1;
}

static const char *
gateway_attempt_header(const struct gateway_attempt *a, const char *name)
{
	return upstream_header_get(a->ctx, name);
}

static ssize_t
gateway_attempt_peek(const struct gateway_attempt *a, char *buf, size_t max, size_t min,
    int timeout_ms, int *ended)
{
	*ended = upstream_done(a->ctx);
	ssize_t n = upstream_peek(a->ctx, buf, max, min, timeout_ms);
	return n < 0 ? -1 : n;
}

/* The attempt's status is known: count it and read its rate-limit
 * headers into the table (every attempt's, metered or not), once. */
static void
gateway_attempt_answered(struct req *r, int st)
{
	r->st = st;
	r->ttfb_us = util_now_us() - r->sent_us;
	r->upstream_us += r->ttfb_us;
	if (st <= 0)
		r->ttfb_us = -1;
	if (st == 429)
		r->call.n429++;
	if (st == 529)
		r->call.n529++;
	r->rl_have = st > 0 && gateway_attempt_ratelimit(r, &r->rl);
}

/* Ask the policy about the current attempt (its status r->st). 1: drop it
 * and send again (*nb: a new body or NULL); GATEWAY_LATER (nowait only):
 * ask again in a pool thread. */
static int
gateway_attempt_again(struct req *r, int nowait, char **nb, size_t *nlen)
{
	gateway_t *g = r->g;
	if (!r->metered || g->policy.attempt == NULL || gateway_stopping(g) ||
	    r->call.attempt + 1 >= GATEWAY_MAX_ATTEMPTS)
		return 0;
	struct gateway_attempt a = {
		.status = r->st, .ratelimit = r->rl_have ? &r->rl : NULL,
		.header = gateway_attempt_header, .peek = gateway_attempt_peek, .ctx = r->x,
	};
	r->call.nowait = nowait;
	int rc = g->policy.attempt(g->policy.user, &r->call, &a, nb, nlen);
	r->call.nowait = 0;
	return rc;
}

/* The transfer changed (driver thread, under its lock): a parked reader
 * goes on. */
static void
gateway_req_notify(void *user)
{
	struct req *r = user;
	pthread_mutex_lock(&r->mu);
	r->seq++;
	if (r->parked) {
		r->parked = 0;
		MHD_resume_connection(r->conn);
		upstream_loop_wake(r->g->up);
	}
	pthread_mutex_unlock(&r->mu);
}

static void
gateway_attempt_start(struct req *r)
{
	gateway_t *g = r->g;
	r->st = -1;
	r->sent_us = util_now_us();
	struct upstream_request ur = {
		.method = r->method,
		.url = r->url,
		.headers = (const char *const *)r->hdrs,
		.nheaders = r->nhdrs,
		.body = r->call.body,
		.body_len = r->call.body_len,
		.connect_timeout_ms = g->connect_ms,
		.idle_timeout_s = g->idle_s,
		.tap = r->metered ? gateway_tap : NULL,
		.tap_user = r,
		.notify = gateway_req_notify,
		.notify_user = r,
		.watch = r->fd >= 0,
		.watch_fd = r->fd,
	};
	r->x = upstream_start(g->up, &ur);
}

/* Discard an attempt the policy retries. Its (error) body is short: read
 * it to the end for a moment so the connection can be reused, else abort. */
static void
gateway_attempt_drop(struct req *r)
{
	char sink[4096];
	int64_t until = util_now_ms() + 250;
	for (;;) {
		ssize_t n = upstream_read(r->x, sink, sizeof sink, GATEWAY_POLL_MS);
		if (n == UPSTREAM_EOF || n == UPSTREAM_ERROR || util_now_ms() >= until)
			break;
	}
	upstream_xfer_free(r->x);
	r->x = NULL;
	usage_parser_free(r->parser);
	r->parser = NULL;
}

/* Drop the current attempt and send the next (a retry the policy asked
 * for, optionally with a new body). May wait: pool threads only. */
static void
gateway_attempt_next(struct req *r, char *nb, size_t nlen)
{
	gateway_attempt_drop(r);
	if (nb != NULL) {
		free(r->new_body);
		r->new_body = nb;
		r->call.body = nb;
		r->call.body_len = nlen;
	}
	r->call.attempt++;
	gateway_attempt_start(r);
}

/* Park a reader that found nothing (nothing new since seq): suspend the
 * connection until the transfer's next notify. 0 if news came meanwhile
 * or the gateway stops (gateway_stop wakes parked readers under r->mu). */
static int
gateway_park(struct req *r, unsigned seq)
{
	int parked = 0;
	pthread_mutex_lock(&r->mu);
	if (r->seq == seq && !gateway_stopping(r->g)) {
		r->parked = 1;
		MHD_suspend_connection(r->conn);
		parked = 1;
	}
	pthread_mutex_unlock(&r->mu);
	return parked;
}

/* MHD asks for the next bytes: hand over what upstream has sent. It runs
 * in a libmicrohttpd thread and never waits: with nothing buffered it
 * parks the connection and returns 0. */
static ssize_t
gateway_body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		unsigned seq = r->seq;
		pthread_mutex_unlock(&r->mu);
		ssize_t n = upstream_read(r->x, buf, max, 0);
		if (n > 0)
			return n;
		if (n == UPSTREAM_EOF)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (n == UPSTREAM_ERROR) {
			if (upstream_peer_gone(r->x))
				r->client_gone = 1;
			r->upstream_broken = !r->client_gone;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (gateway_park(r, seq))
			return 0;
		if (gateway_stopping(r->g)) {
			r->client_gone = 1;
			upstream_abort(r->x);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
}

static const char *const skip_response_headers[] = {
	"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
	"trailer", "te", "proxy-connection",
};

static enum MHD_Result
gateway_respond_stream(struct req *r, int status)
{
	const char *cl = upstream_header_get(r->x, "Content-Length");
	uint64_t size = MHD_SIZE_UNKNOWN;
	if (cl != NULL && *cl >= '0' && *cl <= '9' && strcmp(r->method, "HEAD") != 0)
		size = strtoull(cl, NULL, 10);
	struct MHD_Response *resp = MHD_create_response_from_callback(size, GATEWAY_BLOCK_SIZE,
	    gateway_body_reader, r, NULL);
	if (resp == NULL)
		return MHD_NO;
	for (int i = 0; i < upstream_header_count(r->x); i++) {
		const char *name, *value;
		int skip = 0;
		upstream_header_at(r->x, i, &name, &value);
		for (size_t k = 0; k < UTIL_ARRAY_LEN(skip_response_headers); k++)
			skip |= strcasecmp(name, skip_response_headers[k]) == 0;
		if (!skip)
			MHD_add_response_header(resp, name, value);
	}
	const char *rid = upstream_header_get(r->x, "request-id");
	if (rid == NULL)
		rid = upstream_header_get(r->x, "x-request-id");
	if (rid != NULL)
		snprintf(r->request_id, sizeof r->request_id, "%s", rid);
	r->status = status;
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
gateway_forward_prepare(struct req *r)
{
	gateway_t *g = r->g;
	int has_key, has_bearer;
	int post = strcmp(r->method, "POST") == 0;
	char *upath = gateway_upstream_path(r->path);

	gateway_key_hash(r, &has_key, &has_bearer);
	gateway_agent_id(r, "x-claude-code-session-id", r->agent_session);
	gateway_agent_id(r, "x-claude-code-agent-id", r->subagent);
	r->openai = gateway_is_openai(upath, has_key, has_bearer,
	    gateway_header_get(r, "anthropic-version") != NULL);
	r->upstream_base = r->openai ? g->openai : g->anthropic;
	r->url = xasprintf("%s%s%s", r->upstream_base, upath, r->query);
	r->api = usage_api_for_path(upath);
	r->kind = gateway_path_kind(r->method, upath, r->body.len);
	r->metered = r->kind == GATEWAY_PATH_METERED;
	free(upath);
	r->body_rc = post ? reqbody_read(r->body.data, r->body.len, &r->asked) : REQBODY_OK;
	r->conn_tokens = gateway_header_get(r, "Connection");   /* looked up once */
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, gateway_collect_header, r);
	r->hdrs = xreallocarray(r->hdrs, (size_t)r->nhdrs + 1, sizeof *r->hdrs);
	r->hdrs[r->nhdrs++] = xstrdup("Accept-Encoding: identity");
	r->call = (struct gateway_call){
		.route = r->route,
		.route_name = r->route_name,
		.api = r->api,
		.model_asked = r->asked.model,
		.key_hash = r->key_hash,
		.body = r->body.data,
		.body_len = r->body.len,
		.request = post ? &r->asked : NULL,
	};
}

/* Why the body ended early, "" if it did not. */
static void
gateway_cut_reason(struct req *r, char *buf, size_t len)
{
	buf[0] = '\0';
	if (r->client_gone) {   /* a stopping gateway cuts requests too */
		snprintf(buf, len, "%s", gateway_stopping(r->g) ? "tokmux stopped" : "client disconnected");
	} else if (r->upstream_broken) {
		char why[256];
		upstream_error(r->x, why, sizeof why);
		snprintf(buf, len, "upstream: %s", why);
	}
}

/* The request finished (or was refused): the meter takes it from here. */
static void
gateway_settle(struct req *r)
{
	struct usage u;
	char cut[300], branch[256], worktree[PATH_MAX];
	memset(&u, 0, sizeof u);
	if (r->parser != NULL)
		usage_parser_result(r->parser, &u);
	gateway_cut_reason(r, cut, sizeof cut);
	gateway_route_where(r->g, r->route, branch, sizeof branch, worktree, sizeof worktree);
	struct meter_request q = {
		.route = r->route, .stats_route = r->stats_route, .route_name = r->route_name,
		.agent = r->agent, .api = r->api, .key_hash = r->key_hash,
		.model_asked = r->asked.model, .helper = r->asked.object && !r->asked.tools,
		.call = &r->call, .usage = &u, .status = r->status,
		.refused = r->refused, .client_gone = r->client_gone, .no_reply = r->no_reply,
		.started_ms = r->t0_ms,
		.request_id = r->request_id, .error = r->error, .cut = cut,
		.branch = branch[0] ? branch : NULL, .worktree = worktree[0] ? worktree : NULL,
		.added_us = r->added_us, .ttfb_us = r->ttfb_us,
		.agent_session = r->agent_session, .subagent = r->subagent, .id = r->ledger_id,
	};
	meter_finish(&r->g->meter, &q);
	r->begun = 0;
}

/* Admitted, about to go upstream: the ledger's intent line (docs/GATEWAY.md). */
static void
gateway_intent(struct req *r)
{
	char branch[256], worktree[PATH_MAX];
	gateway_route_where(r->g, r->route, branch, sizeof branch, worktree, sizeof worktree);
	struct meter_request q = {
		.route = r->route, .stats_route = r->stats_route, .route_name = r->route_name,
		.agent = r->agent, .api = r->api, .key_hash = r->key_hash,
		.model_asked = r->asked.model, .call = &r->call,
		.agent_session = r->agent_session, .subagent = r->subagent,
		.branch = branch[0] ? branch : NULL, .worktree = worktree[0] ? worktree : NULL,
	};
	meter_intent(&r->g->meter, &q, r->ledger_id);
}

/* Ask the policy to admit the request (it may rewrite the body). 0 to go
 * on, -1 when it refuses as *ref says, GATEWAY_LATER (nowait only) to
 * ask again in a pool thread. */
static int
gateway_forward_admit(struct req *r, struct gateway_refusal *ref, int nowait)
{
	gateway_t *g = r->g;
	*ref = (struct gateway_refusal){ .status = 403 };
	snprintf(ref->type, sizeof ref->type, "permission_error");
	r->call.nowait = nowait;
	int rc = g->policy.admit(g->policy.user, &r->call, ref);
	r->call.nowait = 0;
	if (rc == GATEWAY_LATER && nowait)
		return GATEWAY_LATER;
	int refused = rc != 0;
	if (r->call.new_body != NULL) {
		/* the policy rewrote the body (model override, downgrade, circuit) */
		free(r->new_body);
		r->new_body = r->call.new_body;
		r->call.body = r->new_body;
		r->call.body_len = r->call.new_body_len;
		r->call.new_body = NULL;
	}
	return refused ? -1 : 0;
}

/* A refusal is metered too: counted, recorded, never settled. */
static enum MHD_Result
gateway_forward_refuse(struct req *r, const struct gateway_refusal *ref)
{
	r->refused = 1;
	r->begun = 1;
	snprintf(r->error, sizeof r->error, "%s", ref->message);
	r->call.reserved_micros = 0;
	meter_begin_agent(&r->g->meter, r->stats_route, 0, r->subagent);
	return gateway_respond_error_code(r, ref->status, ref->type, ref->code, ref->message,
	    ref->retry_after,
	    ref->retry_after <= 0);
}

/* Upstream could not be reached (or timed out before its headers). */
static enum MHD_Result
gateway_forward_unreachable(struct req *r)
{
	int timeout = upstream_timed_out(r->x);
	char why[256];
	upstream_error(r->x, why, sizeof why);
	char *msg = xasprintf("tokmux: cannot reach %s: %s", r->upstream_base, why);
	snprintf(r->error, sizeof r->error, "%s", msg);
	enum MHD_Result ret = gateway_respond_error(r, timeout ? 504 : 502, "api_error", msg, 0, 0);
	free(msg);
	return ret;
}

/* A path tokmux does not forward (not metered, not on the pass list). */
static enum MHD_Result
gateway_forward_unknown(struct req *r)
{
	char *msg = xasprintf("tokmux: %s %.200s is not forwarded: tokmux meters POST messages, "
	    "chat/completions and responses and passes on model lists and token counts only "
	    "(docs/GATEWAY.md).", r->method, r->path);
	log_debug("gateway: route %d: refused %s %s (not meterable)", r->route, r->method, r->path);
	enum MHD_Result ret = gateway_respond_error(r, 404, r->openai ? "invalid_request_error" :
	    "not_found_error", msg, 0, 1);
	free(msg);
	return ret;
}

/* A metered request whose body tokmux will not forward on a guess. */
static enum MHD_Result
gateway_forward_bad_body(struct req *r)
{
	struct gateway_refusal ref = { .status = 400 };
	snprintf(ref.type, sizeof ref.type, "invalid_request_error");
	snprintf(ref.message, sizeof ref.message, "%s", r->body_rc == REQBODY_BAD ? r->asked.error :
	    "tokmux: the request body is not a JSON object.");
	return gateway_forward_refuse(r, &ref);
}

/* Admitted: begin metering and send the first attempt. */
static void
gateway_forward_send(struct req *r)
{
	gateway_t *g = r->g;
	if (r->metered) {
		meter_begin_agent(&g->meter, r->stats_route, r->call.reserved_micros, r->subagent);
		r->begun = 1;
		gateway_intent(r);
	}
	log_debug("gateway: route %d %s %s -> %s", r->route, r->method, r->path,
	    r->openai ? "openai" : "anthropic");
	gateway_attempt_start(r);
}

/* A pool thread does what may wait (admission with its pacing and
 * reservations, the policy's look at an answer with its backoff, a
 * dropped attempt) while the connection is suspended, then hands the
 * request back to libmicrohttpd. */
static void
gateway_forward_job(void *arg)
{
	struct req *r = arg;
	gateway_t *g = r->g;
	struct MHD_Connection *c = r->conn;
	int phase = REQ_ATTEMPT;
	if (r->job == REQ_JOB_ADMIT) {
		if (gateway_forward_admit(r, &r->ref, 0) != 0) {
			r->refused_now = 1;
			phase = REQ_REPLY;
		} else {
			gateway_forward_send(r);
		}
	} else {
		char *nb = r->job_nb;
		size_t nlen = r->job_nlen;
		r->job_nb = NULL;
		if (r->job == REQ_JOB_DECIDE && gateway_attempt_again(r, 0, &nb, &nlen) != 1) {
			free(nb);
			phase = REQ_REPLY;
		} else {
			gateway_attempt_next(r, nb, nlen);
		}
	}
	r->phase = phase;
	/* r is libmicrohttpd's again from here on: not touched after this. */
	MHD_resume_connection(c);
	upstream_loop_wake(g->up);
	__atomic_fetch_sub(&g->njobs, 1, __ATOMIC_RELEASE);
}

/* Hand r to a pool thread for job (the connection stays suspended). */
static enum MHD_Result
gateway_forward_defer(struct req *r, int job)
{
	gateway_t *g = r->g;
	r->phase = REQ_JOB;
	r->job = job;
	__atomic_fetch_add(&g->njobs, 1, __ATOMIC_ACQ_REL);
	MHD_suspend_connection(r->conn);
	taskpool_submit(g->jobs, gateway_forward_job, r);
	return MHD_YES;
}

/* The answer is decided: give it to the agent. */
static enum MHD_Result
gateway_forward_reply(struct req *r)
{
	if (r->refused_now)
		return gateway_forward_refuse(r, &r->ref);
	int st = r->st;
	if (st > 0) {
		r->added_us = util_now_us() - r->t0_us - r->upstream_us;
		return gateway_respond_stream(r, st);
	}
	if (st < 0 || r->client_gone) {
		/* Nobody to answer: 499 ("client closed request") for the books. */
		r->status = 499;
		r->no_reply = 1;
		return MHD_NO;
	}
	r->no_reply = upstream_maybe_sent(r->x);
	return gateway_forward_unreachable(r);
}

/* The agent left, or the gateway stops, before the answer. */
static enum MHD_Result
gateway_forward_gone(struct req *r)
{
	r->client_gone = 1;
	if (r->x != NULL)
		upstream_abort(r->x);
	r->st = -1;
	r->ttfb_us = -1;
	return gateway_forward_reply(r);
}

/* An attempt is out (libmicrohttpd thread, never waiting): once its status
 * is known ask the policy, without waiting; what would wait goes to a
 * pool thread. Until then the connection is parked. */
static enum MHD_Result
gateway_forward_step(struct req *r)
{
	for (;;) {
		if (r->phase == REQ_REPLY)
			return gateway_forward_reply(r);
		pthread_mutex_lock(&r->mu);
		unsigned seq = r->seq;
		pthread_mutex_unlock(&r->mu);
		if (gateway_stopping(r->g))
			return gateway_forward_gone(r);
		if (r->st < 0) {
			int st = upstream_wait_headers(r->x, 0);
			if (st == 0 && upstream_peer_gone(r->x))
				return gateway_forward_gone(r);   /* the driver saw the agent leave */
			if (st < 0) {
				if (gateway_park(r, seq))
					return MHD_YES;
				continue;
			}
			gateway_attempt_answered(r, st);
		}
		char *nb = NULL;
		size_t nlen = 0;
		int rc = gateway_attempt_again(r, 1, &nb, &nlen);
		if (rc == 0) {
			free(nb);
			r->phase = REQ_REPLY;
			continue;
		}
		r->job_nb = nb;
		r->job_nlen = nlen;
		return gateway_forward_defer(r, rc == GATEWAY_LATER ? REQ_JOB_DECIDE : REQ_JOB_NEXT);
	}
}

/* The body is complete: answer what can be answered at once; admit and
 * send, or hand that to a pool thread when the policy would wait. */
static enum MHD_Result
gateway_forward(struct req *r)
{
	gateway_t *g = r->g;
	r->t0_ms = util_now_ms();
	r->t0_us = util_now_us();
	r->ttfb_us = r->added_us = -1;
	r->st = -1;
	gateway_forward_prepare(r);
	if (r->kind == GATEWAY_PATH_REFUSED)
		return gateway_forward_unknown(r);
	if (r->metered && r->body_rc != REQBODY_OK)
		return gateway_forward_bad_body(r);
	if (r->metered && g->policy.admit != NULL) {
		int rc = gateway_forward_admit(r, &r->ref, 1);
		if (rc == GATEWAY_LATER)
			return gateway_forward_defer(r, REQ_JOB_ADMIT);
		if (rc != 0)
			return gateway_forward_refuse(r, &r->ref);
	}
	gateway_forward_send(r);
	r->phase = REQ_ATTEMPT;
	return gateway_forward_step(r);
}

/* ------------------------------------------------ bounds under abuse */

/* The request's body and its reservation, given back. */
static void
gateway_body_drop(struct req *r)
{
	buf_free(&r->body);
	gwguard_body_release(r->g->guard, &r->body_held);
}

/* Make room for want body bytes (and a NUL) within the bodies' memory
 * budget: 0, or -1 with the body dropped and r->busy set. */
static int
gateway_body_room(struct req *r, size_t want)
{
	if (want + 1 <= r->body.cap)
		return 0;
	size_t cap = UTIL_MAX(want + 1, r->body.cap * 2);
	cap = UTIL_MIN(cap, (size_t)GATEWAY_MAX_BODY + 1);
	if (gwguard_body_reserve(r->g->guard, &r->body_held, cap + r->parse_extra) != 0) {
		r->busy = 1;
		gateway_body_drop(r);
		return -1;
	}
	r->body.data = xrealloc(r->body.data, cap);
	r->body.cap = cap;
	return 0;
}

/* Keep n more uploaded bytes, unless the body is too big or over budget. */
static void
gateway_body_take(struct req *r, const char *data, size_t n)
{
	if (r->too_big || r->busy)
		return;
	if (r->body.len + n > GATEWAY_MAX_BODY) {
		r->too_big = 1;
		gateway_body_drop(r);
		return;
	}
	if (gateway_body_room(r, r->body.len + n) != 0)
		return;
	memcpy(r->body.data + r->body.len, data, n);
	r->body.len += n;
	r->body.data[r->body.len] = '\0';
}

/* The answer to a body tokmux will not hold: 413 past GATEWAY_MAX_BODY,
 * 503 with retry-after past the bodies' memory budget. Both in the API's
 * error shape. */
static enum MHD_Result
gateway_body_refuse(struct req *r)
{
	int has_key, has_bearer;
	char *upath = gateway_upstream_path(r->path);
	gateway_key_hash(r, &has_key, &has_bearer);
	r->openai = gateway_is_openai(upath, has_key, has_bearer,
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "anthropic-version") != NULL);
	free(upath);
	if (r->too_big)
		return gateway_respond_error(r, 413, r->openai ? "invalid_request_error" :
		    "request_too_large", r->parse_extra > 0 ? "tokmux: request body too large to "
		    "read (too many JSON values)" : "tokmux: request body too large", 0, 1);
	size_t now, peak, budget;
	gwguard_body_usage(r->g->guard, &now, &peak, &budget);
	char *msg = xasprintf("tokmux: the request bodies in flight fill the gateway's memory "
	    "budget (%zu MB); try again in a few seconds.", budget >> 20);
	log_debug("gateway: route %d: body refused, %zu of %zu bytes held", r->route, now, budget);
	enum MHD_Result ret = gateway_respond_error(r, 503, r->openai ? "server_error" :
	    "overloaded_error", msg, GWGUARD_RETRY_AFTER_S, 0);
	free(msg);
	return ret;
}

/* First call of a forwarded request: a body whose Content-Length is past
 * the limit or the budget is refused before a byte of it is read (and
 * before a "100 Continue"); one that fits is reserved and allocated at
 * once, in one piece. 1 with *ret when answered, else 0. */
static int
gateway_body_expect(struct req *r, enum MHD_Result *ret)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	char *end;
	if (cl == NULL || *cl < '0' || *cl > '9')
		return 0;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	if (*end != '\0')
		return 0;
	size_t now, peak, budget;
	gwguard_body_usage(r->g->guard, &now, &peak, &budget);
	if (errno == ERANGE || n > GATEWAY_MAX_BODY || n > (budget - 1) / 2)
		r->too_big = 1;     /* past the limit, or the budget could never hold it */
	else if (n > 0) {
		r->parse_extra = (size_t)n;    /* at least its strings' copies, until it is read */
		gateway_body_room(r, (size_t)n);
	}
	if (!r->too_big && !r->busy)
		return 0;
	*ret = gateway_body_refuse(r);
	return 1;
}

/* The body is whole: reserve what reading it takes before it is read.
 * 0, or -1 with too_big (it would take more than the whole budget) or
 * busy set. */
static int
gateway_body_parse_room(struct req *r)
{
	if (r->body.len == 0)
		return 0;
	if (r->body.cap > r->body.len + 1) {     /* a chunked body's doubling: give it back */
		r->body.data = xrealloc(r->body.data, r->body.len + 1);
		r->body.cap = r->body.len + 1;
		gwguard_body_release(r->g->guard, &r->body_held);
		r->parse_extra = 0;
	}
	size_t cost = reqbody_parse_cost(r->body.data, r->body.len);
	size_t now, peak, budget;
	gwguard_body_usage(r->g->guard, &now, &peak, &budget);
	if (cost > budget || r->body.cap > budget - cost) {
		r->too_big = 1;
		r->parse_extra = cost;
		gateway_body_drop(r);
		return -1;
	}
	if (gwguard_body_reserve(r->g->guard, &r->body_held, r->body.cap + cost) != 0) {
		r->busy = 1;
		gateway_body_drop(r);
		return -1;
	}
	r->parse_extra = cost;
	return 0;
}

/* Answered by the gateway itself, sent when the request has been read
 * (its body, if any, dropped): a response queued before that would end
 * the connection, and with it a request pipelined behind. body is
 * malloc'd and taken. MHD_YES with *out set. */
/* A new request of connection c, on g's list of requests (which
 * gateway_req_free takes it off). */
static struct req *
gateway_req_new(gateway_t *g, struct MHD_Connection *c)
{
	struct req *r = xcalloc(1, sizeof *r);
	r->g = g;
	r->conn = c;
	r->route = -1;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	r->fd = ci != NULL ? ci->connect_fd : -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_lock(&g->reqs_lock);
	r->next = g->reqs;
	if (g->reqs != NULL)
		g->reqs->prev = r;
	g->reqs = r;
	pthread_mutex_unlock(&g->reqs_lock);
	return r;
}

static enum MHD_Result
gateway_local_later(gateway_t *g, struct MHD_Connection *c, int status, const char *type,
    char *body, struct req **out)
{
	struct req *r = gateway_req_new(g, c);
	r->local_status = status;
	r->local_type = type;
	r->local_body = body;
	*out = r;
	return MHD_YES;
}

static enum MHD_Result
gateway_local_step(struct req *r, size_t *upload_size)
{
	if (*upload_size > 0 || r->status != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(r->local_body),
	    r->local_body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", r->local_type);
	if (r->local_status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"tokmux metrics\"");
	r->status = r->local_status;
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->local_status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* GET /metrics: the page, or 401 without the metrics token. */
static enum MHD_Result
gateway_metrics_later(gateway_t *g, struct MHD_Connection *c, const char *query,
    struct req **out)
{
	if (!gwguard_metrics_ok(g->guard,
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), query)) {
		log_debug("gateway: /metrics without the metrics token: 401");
		return gateway_local_later(g, c, 401, "text/plain", xstrdup("tokmux: /metrics needs "
		    "the metrics token: Authorization: Bearer TOKEN or ?token=TOKEN "
		    "(docs/GATEWAY.md)\n"), out);
	}
	return gateway_local_later(g, c, 200, "text/plain; version=0.0.4", gateway_metrics(g), out);
}

/* ---------------------------------------------------------- MHD glue */

static void
gateway_req_free(struct req *r)
{
	upstream_xfer_free(r->x);
	usage_parser_free(r->parser);
	for (int i = 0; i < r->nhdrs; i++)
		free(r->hdrs[i]);
	free(r->hdrs);
	free(r->url);
	free(r->new_body);
	free(r->job_nb);
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->local_body);
	gateway_body_drop(r);
	pthread_mutex_lock(&r->g->reqs_lock);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->g->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	pthread_mutex_unlock(&r->g->reqs_lock);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Settle a finished request and free it, in a pool thread. */
static void
gateway_settle_job(void *arg)
{
	struct req *r = arg;
	gateway_t *g = r->g;
	gateway_settle(r);
	gateway_req_free(r);
	__atomic_fetch_sub(&g->njobs, 1, __ATOMIC_RELEASE);
}

static void
gateway_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	*con_cls = NULL;
	if (r == NULL || (void *)r == cls)
		return;
	if (r->x != NULL) {
		/* A response sent in full had a finished transfer: join it. Anything
		 * else (disconnect, shutdown) stops it; after the abort the parser
		 * is ours already, so settling need not wait for curl to notice. */
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
			if (!r->upstream_broken)
				r->client_gone = 1;
			upstream_abort(r->x);
		} else {
			upstream_join(r->x);
		}
	}
	if (r->begun && r->g->policy.settle_waits) {
		/* the store's round trips wait: in a pool thread (r is detached) */
		__atomic_fetch_add(&r->g->njobs, 1, __ATOMIC_ACQ_REL);
		taskpool_submit(r->g->jobs, gateway_settle_job, r);
		return;
	}
	if (r->begun)
		gateway_settle(r);
	gateway_req_free(r);   /* joins an aborted transfer */
}

static void
gateway_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = xcalloc(1, sizeof(struct conn));
	} else if (*socket_context != NULL) {
		struct conn *cn = *socket_context;
		free(cn->raw_uri);
		free(cn);
		*socket_context = NULL;
	}
}

static struct conn *
gateway_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* Called with the raw URI before MHD decodes it: keep it for forwarding. */
static void *
gateway_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *cn = gateway_conn_of(c);
	if (cn != NULL) {
		free(cn->raw_uri);
		cn->raw_uri = xstrdup(uri);
	}
	return NULL;
}

static void
gateway_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	if (util_log_enabled()) {
		char *s = xvasprintf(fmt, ap);
		log_debug("gateway: mhd: %s", s);
		free(s);
	}
}

/* First call of a request: checks and local endpoints. Returns MHD_YES with
 * *out set to go on forwarding, or the result of a queued response. */
static enum MHD_Result
gateway_request_begin(gateway_t *g, struct MHD_Connection *c, const char *method, struct req **out)
{
	*out = NULL;
	/* Browsers send Origin; agents don't. Host guards against DNS rebinding. */
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin") != NULL ||
	    !gateway_host_ok(g, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
		return gateway_respond_text(c, 403, "text/plain", "forbidden\n");
	if (!gateway_headers_ok(c))
		return gateway_respond_text(c, 400, "text/plain", "bad request\n");
	struct conn *cn = gateway_conn_of(c);
	const char *uri = cn != NULL && cn->raw_uri != NULL ? cn->raw_uri : "";
	size_t plen = strcspn(uri, "?");
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (get && plen == 8 && strncmp(uri, "/healthz", 8) == 0)
		return gateway_local_later(g, c, 200, "text/plain", xstrdup("ok"), out);
	if (get && plen == 8 && strncmp(uri, "/metrics", 8) == 0)
		return gateway_metrics_later(g, c, uri + plen, out);
	char *path = NULL, *query = NULL;
	struct route rt;
	int route = gateway_split_uri(g, uri, &path, &query, &rt);
	if (route < 0)
		return gateway_local_later(g, c, 404, "text/plain", xstrdup("not found\n"), out);
	const char *bad = gateway_path_problem(path);
	if (bad != NULL) {
		int oai = strstr(path, "chat") != NULL || strstr(path, "responses") != NULL;
		char *msg = xasprintf("tokmux: the request path has %s; send it in its plain form "
		    "(e.g. /v1/messages).", bad);
		char *body = gateway_error_json(oai, "invalid_request_error", msg, NULL);
		log_debug("gateway: route %d: refused a path with %s", route, bad);
		free(msg);
		free(path);
		free(query);
		return gateway_local_later(g, c, 400, "application/json", body, out);
	}
	gateway_note_conversation(g, route, c);
	struct req *r = gateway_req_new(g, c);
	r->route = route;
	r->stats_route = rt.stats_route;
	r->route_name = rt.name;
	r->agent = rt.agent;
	r->method = xstrdup(method);
	r->path = path;
	r->query = query;
	*out = r;
	return MHD_YES;
}

static enum MHD_Result
gateway_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	gateway_t *g = cls;
	struct req *r = *con_cls;
	if (r == NULL) {
		enum MHD_Result ret = gateway_request_begin(g, c, method, &r);
		/* g marks a request refused at once (403, 400): its body is dropped. */
		*con_cls = r != NULL ? (void *)r : (void *)g;
		if (r != NULL && r->local_body == NULL)
			gateway_body_expect(r, &ret);   /* sets ret when it answers */
		return ret;
	}
	if ((void *)r == (void *)g) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->local_body != NULL)
		return gateway_local_step(r, upload_size);
	if (*upload_size > 0) {
		gateway_body_take(r, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->status != 0 || r->phase == REQ_JOB)
		return MHD_YES;   /* already answered (or still forwarding) */
	if (r->phase != REQ_BODY)
		return gateway_forward_step(r);   /* resumed: the attempt moved on */
	if (r->too_big || r->busy || gateway_body_parse_room(r) != 0)
		return gateway_body_refuse(r);
	return gateway_forward(r);
}

static char *
gateway_base_url(const char *url, const char *dflt)
{
	char *s = xstrdup(url != NULL && *url ? url : dflt);
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* The event loop's turn for libmicrohttpd (the upstream driver thread):
 * accept, read, call the handlers and readers, write; never waits.
 * Returns when it wants its next turn at the latest (ms). */
static int
gateway_mhd_run(void *user)
{
	gateway_t *g = user;
	MHD_UNSIGNED_LONG_LONG t;
	MHD_run(g->mhd);
	/* libmicrohttpd may have work left that its epoll fd does not show
	 * (a resumed connection, a response still to write): 0 then. */
	if (MHD_get_timeout(g->mhd, &t) != MHD_YES)
		return -1;
	return t > 1000 ? 1000 : (int)t;
}

/* The listening socket on 127.0.0.1:port (0: any); its port in *bound.
 * Bound here rather than by libmicrohttpd so that the port is known
 * before the first request reads it in host_ok(). */
static int
gateway_listen_loopback(int port, int *bound)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

gateway_t *
gateway_start(const struct gateway_options *o, char **err)
{
	gateway_t *g = xcalloc(1, sizeof *g);

	g->anthropic = gateway_base_url(o->anthropic_upstream, "https://api.anthropic.com");
	g->openai = gateway_base_url(o->openai_upstream, "https://api.openai.com");
	g->stats = o->stats;
	g->rl = o->ratelimits;
	if (o->policy != NULL)
		g->policy = *o->policy;
	g->metrics = metrics_new();
	g->meter = (struct meter){
		.pricing = o->pricing, .stats = o->stats, .ledger = o->ledger,
		.metrics = g->metrics, .policy = &g->policy, .session = o->session,
	};
	g->idle_s = o->idle_timeout_s;
	g->connect_ms = o->connect_timeout_ms;
	g->guard = gwguard_new(o->body_memory, o->metrics_token);
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->reqs_lock, NULL);
	g->up = upstream_new();
	g->jobs = taskpool_new(GATEWAY_MAX_JOBS);

	errno = 0;
	int lfd = gateway_listen_loopback(o->port, &g->port);
	if (lfd >= 0)
		g->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME,
		    (uint16_t)g->port, NULL, NULL, gateway_on_request, g,
		    MHD_OPTION_LISTEN_SOCKET, lfd,
		    MHD_OPTION_NOTIFY_CONNECTION, gateway_on_connection, g,
		    MHD_OPTION_URI_LOG_CALLBACK, gateway_on_uri, g,
		    MHD_OPTION_NOTIFY_COMPLETED, gateway_on_completed, g,
		    MHD_OPTION_EXTERNAL_LOGGER, gateway_on_mhd_log, g,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GATEWAY_CONN_MEMORY,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
		    MHD_OPTION_END);
	if (g->mhd == NULL) {
		*err = xasprintf("cannot listen on 127.0.0.1:%d: %s", o->port,
		    errno ? strerror(errno) : "libmicrohttpd failed");
		/* lfd is not closed here: whether libmicrohttpd closed it when
		 * it failed is not documented, and a double close is worse
		 * than one descriptor kept until exit. */
		taskpool_free(g->jobs);
		upstream_free(g->up);
		gwguard_free(g->guard);
		metrics_free(g->metrics);
		pthread_mutex_destroy(&g->reqs_lock);
		pthread_mutex_destroy(&g->lock);
		free(g->anthropic);
		free(g->openai);
		free(g);
		return NULL;
	}
	/* One event loop: the upstream driver thread runs libmicrohttpd too. */
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(g->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	upstream_set_loop(g->up, di != NULL ? di->epoll_fd : -1, gateway_mhd_run, g);
	log_debug("gateway: listening on 127.0.0.1:%d", g->port);
	return g;
}

/* Wait until no job is out (gateway_stop). */
static void
gateway_jobs_drain(gateway_t *g)
{
	while (__atomic_load_n(&g->njobs, __ATOMIC_ACQUIRE) > 0)
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
}

/* Resume every parked reader (the gateway is stopping: they end). */
static void
gateway_wake_all(gateway_t *g)
{
	pthread_mutex_lock(&g->reqs_lock);
	for (struct req *r = g->reqs; r != NULL; r = r->next) {
		pthread_mutex_lock(&r->mu);
		if (r->parked) {
			r->parked = 0;
			MHD_resume_connection(r->conn);
		}
		pthread_mutex_unlock(&r->mu);
	}
	pthread_mutex_unlock(&g->reqs_lock);
	upstream_loop_wake(g->up);
}

void
gateway_stop(gateway_t *g)
{
	if (g == NULL)
		return;
	__atomic_store_n(&g->stopping, 1, __ATOMIC_RELEASE);
	gateway_wake_all(g);
	/* Jobs notice the stop within GATEWAY_POLL_MS (a policy's waits end
	 * with policy_shutdown) and resume their connections; then the loop
	 * lets go of libmicrohttpd, and no handler starts a job any more. */
	gateway_jobs_drain(g);
	upstream_set_loop(g->up, -1, NULL, NULL);
	gateway_jobs_drain(g);
	/* Closes every connection: in-flight requests settle (in pool threads
	 * when the policy's settle waits), then the pool ends. */
	MHD_stop_daemon(g->mhd);
	taskpool_free(g->jobs);
	upstream_free(g->up);
	for (int i = 0; i < g->nroutes; i++) {
		free(g->routes[i].name);
		free(g->routes[i].agent);
		free(g->routes[i].branch);
		free(g->routes[i].worktree);
	}
	metrics_free(g->metrics);
	pthread_mutex_destroy(&g->reqs_lock);
	gwguard_free(g->guard);
	pthread_mutex_destroy(&g->lock);
	free(g->anthropic);
	free(g->openai);
	free(g);
}
