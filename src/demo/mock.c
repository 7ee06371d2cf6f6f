/*
 * mock: a scripted fake Anthropic / OpenAI provider. It owns a
 * libmicrohttpd daemon (thread per connection, 127.0.0.1 only), the
 * script (rules evaluated per request), the request counters, a per-window
 * rate-limit budget reported in headers, and the optional JSONL log of what
 * was served. Streams are planned up front (a list of SSE events) and then
 * handed to MHD one event per reader call, sleeping until each event's
 * scheduled time, so delays are real and nothing is buffered.
 * docs/MOCK.md describes the endpoints and the script format.
 */
#include "mock.h"
#include "util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOCK_MAX_BODY (64u << 20)       /* like the 32 MB API limit, with room */
#define MOCK_MAX_CHUNKS 10000
#define MOCK_MAX_SCRIPT (16u << 20)
#define MOCK_MAX_DELAY_MS 600000        /* no scripted sleep beyond 10 minutes */
#define MOCK_BLOCK 16384                /* MHD reader buffer size */

enum endpoint {
	EP_NONE,
	EP_ROOT,        /* GET / */
	EP_MODELS,      /* GET /v1/models */
	EP_MESSAGES,    /* POST /v1/messages */
	EP_COUNT,       /* POST /v1/messages/count_tokens */
	EP_CHAT,        /* POST /v1/chat/completions */
	EP_RESPONSES,   /* POST /v1/responses */
	EP_UNKNOWN,
	EP_N
};

static const struct {
	const char *path;  /* normalised: without /v1 */
	const char *method;
} endpoints[EP_N] = {
	[EP_ROOT] = { "/", "GET" },
	[EP_MODELS] = { "/models", "GET" },
	[EP_MESSAGES] = { "/messages", "POST" },
	[EP_COUNT] = { "/messages/count_tokens", "POST" },
	[EP_CHAT] = { "/chat/completions", "POST" },
	[EP_RESPONSES] = { "/responses", "POST" },
};

/* What a request is answered with. Delays are parameters, not kinds. */
enum kind {
	K_OK,
	K_STATUS,       /* an HTTP error status with a JSON error body */
	K_MIDSTREAM,    /* 200 stream, some events, then an overloaded error event */
	K_FIRST,        /* 200 stream whose first event is the overloaded error */
	K_CUT,          /* connection closed after after_events events */
};

/* Everything a script can set for one request; -1 = "derive". */
struct params {
	enum kind kind;
	char action[32];
	int status;
	int retry_after;        /* seconds; -1 = default, -2 = omit */
	int spend_limit;
	const char *message;
	int first_byte_ms;
	int chunk_delay_ms;
	int after_events;
	int chunks;
	int chunk_tokens;
	const char *text;
	int64_t in, out, cread, c5m, c1h, reasoning;
	int ping_every;
	int always_usage;
};

struct rlconf {
	int64_t requests, tokens, input, output;
	int window_s;
	int enforce;
};

struct rule {
	cJSON *json;            /* the rule object, owned by script->root */
	long request;           /* 0 = any */
	long *requests;
	size_t nrequests;
	long every;             /* 0 = any */
	char *model;            /* fnmatch(3) pattern, NULL = any */
	enum endpoint path;     /* EP_NONE = any model call */
	int per_path;
	long times;             /* -1 = unlimited */
	long used;
};

struct script {
	cJSON *root;
	cJSON *defaults;        /* may be NULL */
	struct rule *rules;
	size_t nrules;
	struct rlconf rl;
	cJSON *models;          /* array of strings, or NULL for the built-in list */
};

struct mock {
	struct MHD_Daemon *d;
	int port;
	int quiet;
	FILE *log;
	pthread_mutex_t mu;     /* guards everything below and the log file */
	pthread_cond_t cv;      /* signalled on stop: wakes sleeping streams */
	int stopping;
	struct script *script;
	long seq;               /* every request */
	long calls;             /* model calls */
	long path_calls[EP_N];  /* model calls per endpoint */
	int64_t rl_window;      /* index of the current rate-limit window */
	int64_t rl_req, rl_tok, rl_in, rl_out;
};

/* The per-connection upload. */
struct req {
	struct buf body;
	int too_big;
};

/* Token figures for one answer. */
struct toks {
	int64_t in, out, cread, c5m, c1h, reasoning;
	int chunks;
	int capped;             /* max_tokens cut the output short */
};

/* Rate-limit snapshot for the response headers. */
struct rlsnap {
	struct rlconf conf;
	int64_t req, tok, in, out;  /* remaining */
	double reset;               /* UNIX time the window ends */
};

/* A planned stream: events handed to MHD one per reader call. */
struct stream {
	mock_t *m;
	char **ev;
	size_t *len;
	size_t nev;
	size_t i, off;
	int delay_ms;
	int64_t t0_us;
	int cut;                /* close the connection after the last event */
};

struct evlist {
	char **v;
	size_t n, cap;
};

/* ------------------------------------------------------------------ */
/* Small helpers */

static void
set_err(char **err, char *msg)
{
	if (err != NULL)
		*err = msg;
	else
		free(msg);
}

static enum endpoint
endpoint_for(const char *url)
{
	const char *p = url;
	size_t n = strlen(p);
	if (strncmp(p, "/v1", 3) == 0 && (p[3] == '/' || p[3] == '\0')) {
		p += 3;
		n -= 3;
	}
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return EP_ROOT;
	for (int e = EP_ROOT; e < EP_UNKNOWN; e++)
		if (strlen(endpoints[e].path) == n && strncmp(p, endpoints[e].path, n) == 0)
			return (enum endpoint)e;
	return EP_UNKNOWN;
}

static int
is_call(enum endpoint e)
{
	return e == EP_MESSAGES || e == EP_CHAT || e == EP_RESPONSES;
}

static int
is_openai(enum endpoint e)
{
	return e == EP_CHAT || e == EP_RESPONSES;
}

static void
random_id(char *out, size_t n, const char *alphabet)
{
	unsigned char r[64];
	size_t k = strlen(alphabet);
	if (n > sizeof(r))
		n = sizeof(r);
	util_random(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[r[i] % k];
	out[n] = '\0';
}

static const char base62[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char hex[] = "0123456789abcdef";

static char *
make_id(const char *prefix, size_t n, const char *alphabet)
{
	char tail[65];
	random_id(tail, n, alphabet);
	return xasprintf("%s%s", prefix, tail);
}

static void
fmt_rfc3339(double t, int with_ms, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	if (with_ms) {
		char tmp[32];
		strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%03dZ", tmp, (int)((t - (double)s) * 1000));
	} else {
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
}

/* A Go time.Duration string as OpenAI sends in x-ratelimit-reset-*. */
static void
fmt_go_duration(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000) {
		snprintf(buf, len, "%lldms", (long long)ms);
		return;
	}
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
	size_t o = 0;
	if (h > 0)
		o += (size_t)snprintf(buf + o, len - o, "%lldh", (long long)h);
	if (h > 0 || m > 0)
		o += (size_t)snprintf(buf + o, len - o, "%lldm", (long long)m);
	if (f == 0) {
		snprintf(buf + o, len - o, "%llds", (long long)s);
	} else {
		char frac[8];
		snprintf(frac, sizeof(frac), "%03lld", (long long)f);
		for (int i = 2; i > 0 && frac[i] == '0'; i--)
			frac[i] = '\0';
		snprintf(buf + o, len - o, "%lld.%ss", (long long)s, frac);
	}
}

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

/* ------------------------------------------------------------------ */
/* Script loading and rule evaluation */

static void
params_init(struct params *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = K_OK;
	snprintf(p->action, sizeof(p->action), "ok");
	p->retry_after = -1;
	p->after_events = 4;
	p->chunks = 5;
	p->chunk_tokens = 2;
	p->in = p->out = -1;
	p->ping_every = 3;
}

static void
rlconf_init(struct rlconf *c)
{
	/* A tier-4-like budget: large enough not to pace benchmarks. */
	c->requests = 4000;
	c->input = 2000000;
	c->output = 400000;
	c->tokens = c->input + c->output;
	c->window_s = 60;
	c->enforce = 0;
}

static int
key_allowed(const char *key, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(key, *allowed) == 0)
			return 1;
	return 0;
}

static int
check_keys(const cJSON *obj, const char *const *allowed, const char *ctx, char **err)
{
	const cJSON *it;
	if (!cJSON_IsObject(obj)) {
		set_err(err, xasprintf("%s: expected an object", ctx));
		return -1;
	}
	cJSON_ArrayForEach(it, obj) {
		if (!key_allowed(it->string, allowed)) {
			set_err(err, xasprintf("%s: unknown key \"%s\"", ctx, it->string));
			return -1;
		}
	}
	return 0;
}

/* Read an optional integer key: 0 absent, 1 set, -1 error. */
static int
get_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out,
    const char *ctx, char **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL)
		return 0;
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1e300;
	if (d < (double)min || d > (double)max || d != (double)(int64_t)d) {
		set_err(err, xasprintf("%s.%s: expected an integer from %lld to %lld", ctx, key,
		    (long long)min, (long long)max));
		return -1;
	}
	*out = (int64_t)d;
	return 1;
}

static int
get_int32(const cJSON *obj, const char *key, int min, int max, int *out, const char *ctx,
    char **err)
{
	int64_t v;
	int r = get_int(obj, key, min, max, &v, ctx, err);
	if (r == 1)
		*out = (int)v;
	return r;
}

static int
get_bool(const cJSON *obj, const char *key, int *out, const char *ctx, char **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v)) {
		set_err(err, xasprintf("%s.%s: expected true or false", ctx, key));
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 1;
}

static int
get_str(const cJSON *obj, const char *key, const char **out, const char *ctx, char **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v)) {
		set_err(err, xasprintf("%s.%s: expected a string", ctx, key));
		return -1;
	}
	*out = v->valuestring;
	return 1;
}

static const char *const action_names =
	"ok, 429, 529, 500 (or any status 400-599), overloaded_midstream, "
	"overloaded_first, slow_first_byte, chunk_delay, cut";

/* Apply an action; *is_first_byte tells how a delay_ms in the same object reads. */
static int
apply_action(struct params *p, const cJSON *v, int *is_first_byte, const char *ctx,
    char **err)
{
	char name[32];
	if (cJSON_IsNumber(v) && v->valuedouble >= 100 && v->valuedouble < 1000)
		snprintf(name, sizeof(name), "%d", (int)v->valuedouble);
	else if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(name))
		snprintf(name, sizeof(name), "%s", v->valuestring);
	else
		goto bad;
	*is_first_byte = 0;
	if (strcmp(name, "ok") == 0) {
		p->kind = K_OK;
	} else if (strcmp(name, "overloaded_midstream") == 0) {
		p->kind = K_MIDSTREAM;
	} else if (strcmp(name, "overloaded_first") == 0) {
		p->kind = K_FIRST;
	} else if (strcmp(name, "cut") == 0) {
		p->kind = K_CUT;
	} else if (strcmp(name, "slow_first_byte") == 0) {
		*is_first_byte = 1;     /* a delay on top of whatever else applies */
	} else if (strcmp(name, "chunk_delay") == 0) {
		;
	} else {
		char *end;
		long st = strtol(name, &end, 10);
		if (*end != '\0' || end == name || st < 400 || st > 599)
			goto bad;
		p->kind = K_STATUS;
		p->status = (int)st;
	}
	snprintf(p->action, sizeof(p->action), "%s", name);
	return 0;
bad:
	set_err(err, xasprintf("%s.action: expected one of %s", ctx, action_names));
	return -1;
}

static int
apply_usage(struct params *p, const cJSON *u, const char *ctx, char **err)
{
	static const char *const keys[] = { "input_tokens", "output_tokens",
		"cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation_5m",
		"cache_creation_1h", "reasoning_tokens", NULL };
	char *c = xasprintf("%s.usage", ctx);
	int64_t big = INT64_C(1) << 40;
	int rc = -1;
	if (check_keys(u, keys, c, err) < 0 ||
	    get_int(u, "input_tokens", 0, big, &p->in, c, err) < 0 ||
	    get_int(u, "output_tokens", 0, big, &p->out, c, err) < 0 ||
	    get_int(u, "cache_read_input_tokens", 0, big, &p->cread, c, err) < 0 ||
	    get_int(u, "cache_creation_input_tokens", 0, big, &p->c5m, c, err) < 0 ||
	    get_int(u, "cache_creation_5m", 0, big, &p->c5m, c, err) < 0 ||
	    get_int(u, "cache_creation_1h", 0, big, &p->c1h, c, err) < 0 ||
	    get_int(u, "reasoning_tokens", 0, big, &p->reasoning, c, err) < 0)
		goto out;
	rc = 0;
out:
	free(c);
	return rc;
}

static const char *const param_keys[] = { "action", "retry_after", "message", "spend_limit",
	"delay_ms", "first_byte_ms", "chunk_delay_ms", "after_events", "chunks", "chunk_tokens",
	"text", "usage", "ping_every", "openai_always_usage", "match", "times", "ratelimit",
	"models", NULL };

/* Apply the settings of a defaults or rule object (later calls override). */
static int
apply_params(struct params *p, const cJSON *o, const char *ctx, char **err)
{
	int first_byte = 0;
	const cJSON *v;
	if (check_keys(o, param_keys, ctx, err) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "action")) != NULL &&
	    apply_action(p, v, &first_byte, ctx, err) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "retry_after")) != NULL && cJSON_IsNull(v))
		p->retry_after = -2;
	else if (get_int32(o, "retry_after", 0, 86400, &p->retry_after, ctx, err) < 0)
		return -1;
	int delay = -1;
	if (get_str(o, "message", &p->message, ctx, err) < 0 ||
	    get_bool(o, "spend_limit", &p->spend_limit, ctx, err) < 0 ||
	    get_int32(o, "delay_ms", 0, MOCK_MAX_DELAY_MS, &delay, ctx, err) < 0 ||
	    get_int32(o, "first_byte_ms", 0, MOCK_MAX_DELAY_MS, &p->first_byte_ms, ctx, err) < 0 ||
	    get_int32(o, "chunk_delay_ms", 0, MOCK_MAX_DELAY_MS, &p->chunk_delay_ms, ctx, err) < 0 ||
	    get_int32(o, "after_events", 0, 1000000, &p->after_events, ctx, err) < 0 ||
	    get_int32(o, "chunks", 0, MOCK_MAX_CHUNKS, &p->chunks, ctx, err) < 0 ||
	    get_int32(o, "chunk_tokens", 0, 1000000, &p->chunk_tokens, ctx, err) < 0 ||
	    get_str(o, "text", &p->text, ctx, err) < 0 ||
	    get_int32(o, "ping_every", 0, 1000000, &p->ping_every, ctx, err) < 0 ||
	    get_bool(o, "openai_always_usage", &p->always_usage, ctx, err) < 0)
		return -1;
	if (delay >= 0) {
		if (first_byte)
			p->first_byte_ms = delay;
		else
			p->chunk_delay_ms = delay;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "usage")) != NULL &&
	    apply_usage(p, v, ctx, err) < 0)
		return -1;
	return 0;
}

static int
parse_ratelimit(struct rlconf *c, const cJSON *o, char **err)
{
	static const char *const keys[] = { "requests", "tokens", "input_tokens", "output_tokens",
		"window_s", "enforce", NULL };
	const char *ctx = "defaults.ratelimit";
	int64_t big = INT64_C(1) << 40;
	int tokens_set;
	if (check_keys(o, keys, ctx, err) < 0 ||
	    get_int(o, "requests", 0, big, &c->requests, ctx, err) < 0 ||
	    get_int(o, "input_tokens", 0, big, &c->input, ctx, err) < 0 ||
	    get_int(o, "output_tokens", 0, big, &c->output, ctx, err) < 0 ||
	    (tokens_set = get_int(o, "tokens", 0, big, &c->tokens, ctx, err)) < 0 ||
	    get_int32(o, "window_s", 1, 86400, &c->window_s, ctx, err) < 0 ||
	    get_bool(o, "enforce", &c->enforce, ctx, err) < 0)
		return -1;
	if (!tokens_set)
		c->tokens = c->input + c->output;
	return 0;
}

static int
parse_match(struct rule *r, const cJSON *o, const char *ctx, char **err)
{
	static const char *const keys[] = { "request", "requests", "model", "path", "every",
		"per_path", NULL };
	char *c = xasprintf("%s.match", ctx);
	const char *model = NULL, *path = NULL;
	int64_t v;
	int rc = -1;
	if (check_keys(o, keys, c, err) < 0)
		goto out;
	if (get_int(o, "request", 1, LONG_MAX, &v, c, err) < 0)
		goto out;
	r->request = cJSON_HasObjectItem(o, "request") ? (long)v : 0;
	if (get_int(o, "every", 1, LONG_MAX, &v, c, err) < 0)
		goto out;
	r->every = cJSON_HasObjectItem(o, "every") ? (long)v : 0;
	if (get_str(o, "model", &model, c, err) < 0 || get_str(o, "path", &path, c, err) < 0 ||
	    get_bool(o, "per_path", &r->per_path, c, err) < 0)
		goto out;
	if (model != NULL)
		r->model = xstrdup(model);
	if (path != NULL) {
		r->path = endpoint_for(path);
		if (r->path == EP_UNKNOWN) {
			set_err(err, xasprintf("%s.path: unknown endpoint \"%s\"", c, path));
			goto out;
		}
	}
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "requests"), *it;
	if (a != NULL) {
		if (!cJSON_IsArray(a)) {
			set_err(err, xasprintf("%s.requests: expected an array of request numbers", c));
			goto out;
		}
		r->requests = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(long));
		cJSON_ArrayForEach(it, a) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1e15 ||
			    it->valuedouble != (double)(long)it->valuedouble) {
				set_err(err, xasprintf("%s.requests: expected request numbers >= 1", c));
				goto out;
			}
			r->requests[r->nrequests++] = (long)it->valuedouble;
		}
	}
	rc = 0;
out:
	free(c);
	return rc;
}

static void
script_free(struct script *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nrules; i++) {
		free(s->rules[i].requests);
		free(s->rules[i].model);
	}
	free(s->rules);
	cJSON_Delete(s->root);
	free(s);
}

static int
script_check_models(const cJSON *models, char **err)
{
	const cJSON *it;
	if (!cJSON_IsArray(models))
		goto bad;
	cJSON_ArrayForEach(it, models)
		if (!cJSON_IsString(it))
			goto bad;
	return 0;
bad:
	set_err(err, xasprintf("defaults.models: expected an array of model ids"));
	return -1;
}

static int
script_parse_rule(struct rule *r, cJSON *o, size_t i, char **err)
{
	char *ctx = xasprintf("rules[%zu]", i);
	struct params scratch;
	int64_t t = -1;
	int rc = -1;
	r->json = o;
	r->times = -1;
	params_init(&scratch);
	if (apply_params(&scratch, o, ctx, err) < 0)
		goto out;
	if (cJSON_HasObjectItem(o, "ratelimit") || cJSON_HasObjectItem(o, "models")) {
		set_err(err, xasprintf("%s: \"ratelimit\" and \"models\" belong in defaults", ctx));
		goto out;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "match");
	if (m != NULL && parse_match(r, m, ctx, err) < 0)
		goto out;
	if (get_int(o, "times", 1, LONG_MAX, &t, ctx, err) < 0)
		goto out;
	r->times = (long)t;
	rc = 0;
out:
	free(ctx);
	return rc;
}

/* Parse a script text; the error names the rule and key. */
static struct script *
script_parse(const char *text, char **err)
{
	struct script *s = xcalloc(1, sizeof(*s));
	rlconf_init(&s->rl);
	s->root = cJSON_Parse(text);
	if (s->root == NULL || !cJSON_IsObject(s->root)) {
		set_err(err, xasprintf("not a JSON object (error near byte %ld)",
		    s->root == NULL ? (long)(cJSON_GetErrorPtr() - text) : 0L));
		goto fail;
	}
	static const char *const top[] = { "rules", "defaults", "comment", NULL };
	if (check_keys(s->root, top, "script", err) < 0)
		goto fail;
	s->defaults = cJSON_GetObjectItemCaseSensitive(s->root, "defaults");
	if (s->defaults != NULL) {
		struct params scratch;
		params_init(&scratch);
		if (apply_params(&scratch, s->defaults, "defaults", err) < 0)
			goto fail;
		if (cJSON_HasObjectItem(s->defaults, "match") ||
		    cJSON_HasObjectItem(s->defaults, "times")) {
			set_err(err, xasprintf("defaults: \"match\" and \"times\" belong in rules"));
			goto fail;
		}
		const cJSON *rl = cJSON_GetObjectItemCaseSensitive(s->defaults, "ratelimit");
		if (rl != NULL && parse_ratelimit(&s->rl, rl, err) < 0)
			goto fail;
		s->models = cJSON_GetObjectItemCaseSensitive(s->defaults, "models");
		if (s->models != NULL && script_check_models(s->models, err) < 0)
			goto fail;
	}
	cJSON *rules = cJSON_GetObjectItemCaseSensitive(s->root, "rules"), *it;
	if (rules != NULL) {
		if (!cJSON_IsArray(rules)) {
			set_err(err, xasprintf("rules: expected an array"));
			goto fail;
		}
		s->rules = xcalloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(*s->rules));
		cJSON_ArrayForEach(it, rules) {
			if (script_parse_rule(&s->rules[s->nrules], it, s->nrules, err) < 0) {
				s->nrules++;
				goto fail;
			}
			s->nrules++;
		}
	}
	return s;
fail:
	script_free(s);
	return NULL;
}

static int
rule_matches(const struct rule *r, enum endpoint ep, long n, const char *model)
{
	if (r->times >= 0 && r->used >= r->times)
		return 0;
	if (r->path != EP_NONE ? r->path != ep : !is_call(ep))
		return 0;
	if ((r->request || r->nrequests || r->every) && !is_call(ep))
		return 0;
	if (r->request && n != r->request)
		return 0;
	if (r->every && n % r->every != 0)
		return 0;
	if (r->nrequests) {
		size_t i;
		for (i = 0; i < r->nrequests && r->requests[i] != n; i++)
			;
		if (i == r->nrequests)
			return 0;
	}
	if (r->model && (model == NULL || fnmatch(r->model, model, 0) != 0))
		return 0;
	return 1;
}

/* Under m->mu: defaults, then every matching rule in order. */
static void
script_resolve(struct script *s, struct params *p, enum endpoint ep, long n, long path_n,
    const char *model)
{
	params_init(p);
	if (s == NULL)
		return;
	if (s->defaults != NULL)
		apply_params(p, s->defaults, "defaults", NULL);
	for (size_t i = 0; i < s->nrules; i++) {
		struct rule *r = &s->rules[i];
		if (!rule_matches(r, ep, r->per_path ? path_n : n, model))
			continue;
		r->used++;
		apply_params(p, r->json, "rule", NULL);
	}
}

int
mock_load_script_json(mock_t *m, const char *json, char **err)
{
	struct script *s = NULL;
	if (json != NULL && (s = script_parse(json, err)) == NULL)
		return -1;
	pthread_mutex_lock(&m->mu);
	struct script *old = m->script;
	m->script = s;
	pthread_mutex_unlock(&m->mu);
	script_free(old);
	return 0;
}

int
mock_load_script(mock_t *m, const char *path, char **err)
{
	if (path == NULL)
		return mock_load_script_json(m, NULL, err);
	char *e = NULL;
	char *text = util_read_file(path, MOCK_MAX_SCRIPT, NULL, &e);
	if (text == NULL) {
		set_err(err, e);
		return -1;
	}
	int rc = mock_load_script_json(m, text, &e);
	free(text);
	if (rc < 0) {
		set_err(err, xasprintf("%s: %s", path, e));
		free(e);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Token figures, rate limits, text */

static void
compute_toks(const struct params *p, enum endpoint ep, size_t body_len, int64_t max_tokens,
    struct toks *t)
{
	memset(t, 0, sizeof(*t));
	int64_t est = (int64_t)body_len / 4;
	t->in = p->in >= 0 ? p->in : (est > 0 ? est : 1);
	t->cread = p->cread;
	if (!is_openai(ep)) {   /* OpenAI has no priced cache writes */
		t->c5m = p->c5m;
		t->c1h = p->c1h;
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
ratelimit_take(mock_t *m, const struct rlconf *c, const struct toks *t, int consume,
    struct rlsnap *snap)
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

static const char *const default_words[] = { "This", "is", "a", "scripted", "reply", "from",
	"the", "tokmux", "mock", "provider." };

/* Text of chunk i of n: a piece of p->text, or words of a fixed sentence. */
static char *
chunk_text(const char *text, int i, int n)
{
	if (text == NULL) {
		const char *w = default_words[(size_t)i % UTIL_ARRAY_LEN(default_words)];
		return xasprintf("%s%s", i > 0 ? " " : "", w);
	}
	size_t len = strlen(text);
	size_t a = len * (size_t)i / (size_t)n, b = len * (size_t)(i + 1) / (size_t)n;
	while (a < len && ((unsigned char)text[a] & 0xC0) == 0x80)
		a++;                    /* never split a UTF-8 sequence */
	while (b < len && ((unsigned char)text[b] & 0xC0) == 0x80)
		b++;
	return xstrndup(text + a, b > a ? b - a : 0);
}

static char *
full_text(const char *text, int n)
{
	struct buf b = { 0 };
	for (int i = 0; i < n; i++) {
		char *c = chunk_text(text, i, n);
		buf_append(&b, c, strlen(c));
		free(c);
	}
	buf_append(&b, "", 1);
	return b.data;
}

/* ------------------------------------------------------------------ */
/* Response bodies */

static void
evlist_add(struct evlist *l, char *ev)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = ev;
}

/* Add one SSE event (name NULL = data line only); consumes obj. */
static void
evlist_sse(struct evlist *l, const char *name, cJSON *obj)
{
	char *json = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (name != NULL)
		evlist_add(l, xasprintf("event: %s\ndata: %s\n\n", name, json));
	else
		evlist_add(l, xasprintf("data: %s\n\n", json));
	cJSON_free(json);
}

static cJSON *
anth_usage(const struct toks *t, int64_t out, int full)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "input_tokens", (double)t->in);
	cJSON_AddNumberToObject(u, "cache_creation_input_tokens", (double)(t->c5m + t->c1h));
	cJSON_AddNumberToObject(u, "cache_read_input_tokens", (double)t->cread);
	if (full) {
		cJSON *cc = cJSON_AddObjectToObject(u, "cache_creation");
		cJSON_AddNumberToObject(cc, "ephemeral_5m_input_tokens", (double)t->c5m);
		cJSON_AddNumberToObject(cc, "ephemeral_1h_input_tokens", (double)t->c1h);
	}
	cJSON_AddNumberToObject(u, "output_tokens", (double)out);
	if (full)
		cJSON_AddStringToObject(u, "service_tier", "standard");
	return u;
}

static cJSON *
anth_message(const char *id, const char *model, const char *text, const char *stop,
    cJSON *usage)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "type", "message");
	cJSON_AddStringToObject(o, "role", "assistant");
	cJSON_AddStringToObject(o, "model", model);
	cJSON *content = cJSON_AddArrayToObject(o, "content");
	if (text != NULL) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "text");
		cJSON_AddStringToObject(b, "text", text);
		cJSON_AddItemToArray(content, b);
	}
	if (stop != NULL)
		cJSON_AddStringToObject(o, "stop_reason", stop);
	else
		cJSON_AddNullToObject(o, "stop_reason");
	cJSON_AddNullToObject(o, "stop_sequence");
	cJSON_AddItemToObject(o, "usage", usage);
	return o;
}

static cJSON *
anth_error(const char *type, const char *message, const char *request_id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "error");
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "message", message);
	if (request_id != NULL)
		cJSON_AddStringToObject(o, "request_id", request_id);
	return o;
}

static cJSON *
openai_error(const char *type, const char *message, const char *code)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddNullToObject(e, "param");
	if (code != NULL)
		cJSON_AddStringToObject(e, "code", code);
	else
		cJSON_AddNullToObject(e, "code");
	return o;
}

static cJSON *
chat_usage(const struct toks *t)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)(t->in + t->cread));
	cJSON_AddNumberToObject(u, "completion_tokens", (double)t->out);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(t->in + t->cread + t->out));
	cJSON *pd = cJSON_AddObjectToObject(u, "prompt_tokens_details");
	cJSON_AddNumberToObject(pd, "cached_tokens", (double)t->cread);
	cJSON_AddNumberToObject(pd, "audio_tokens", 0);
	cJSON *cd = cJSON_AddObjectToObject(u, "completion_tokens_details");
	cJSON_AddNumberToObject(cd, "reasoning_tokens", (double)t->reasoning);
	cJSON_AddNumberToObject(cd, "audio_tokens", 0);
	cJSON_AddNumberToObject(cd, "accepted_prediction_tokens", 0);
	cJSON_AddNumberToObject(cd, "rejected_prediction_tokens", 0);
	return u;
}

static cJSON *
chat_base(const char *id, const char *object, const char *model, long created)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", object);
	cJSON_AddNumberToObject(o, "created", (double)created);
	cJSON_AddStringToObject(o, "model", model);
	cJSON_AddStringToObject(o, "system_fingerprint", "fp_mock");
	return o;
}

/* One chat.completion.chunk with a single choice (delta consumed). */
static cJSON *
chat_chunk(const char *id, const char *model, long created, cJSON *delta,
    const char *finish, int usage_null)
{
	cJSON *o = chat_base(id, "chat.completion.chunk", model, created);
	cJSON *choices = cJSON_AddArrayToObject(o, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddItemToObject(c, "delta", delta);
	cJSON_AddNullToObject(c, "logprobs");
	if (finish != NULL)
		cJSON_AddStringToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	cJSON_AddItemToArray(choices, c);
	if (usage_null)
		cJSON_AddNullToObject(o, "usage");
	return o;
}

static cJSON *
resp_usage(const struct toks *t)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "input_tokens", (double)(t->in + t->cread));
	cJSON *id = cJSON_AddObjectToObject(u, "input_tokens_details");
	cJSON_AddNumberToObject(id, "cached_tokens", (double)t->cread);
	cJSON_AddNumberToObject(u, "output_tokens", (double)t->out);
	cJSON *od = cJSON_AddObjectToObject(u, "output_tokens_details");
	cJSON_AddNumberToObject(od, "reasoning_tokens", (double)t->reasoning);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(t->in + t->cread + t->out));
	return u;
}

static cJSON *
resp_item(const char *item_id, const char *status, const char *text)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", item_id);
	cJSON_AddStringToObject(it, "type", "message");
	cJSON_AddStringToObject(it, "status", status);
	cJSON_AddStringToObject(it, "role", "assistant");
	cJSON *content = cJSON_AddArrayToObject(it, "content");
	if (text != NULL) {
		cJSON *part = cJSON_CreateObject();
		cJSON_AddStringToObject(part, "type", "output_text");
		cJSON_AddStringToObject(part, "text", text);
		cJSON_AddArrayToObject(part, "annotations");
		cJSON_AddItemToArray(content, part);
	}
	return it;
}

/* A Response object; text NULL = no output yet, t NULL = usage null. */
static cJSON *
resp_object(const char *id, const char *item_id, const char *model, long created,
    const char *status, const char *text, const struct toks *t, int64_t max_out)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "response");
	cJSON_AddNumberToObject(o, "created_at", (double)created);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddNullToObject(o, "error");
	if (strcmp(status, "incomplete") == 0) {
		cJSON *d = cJSON_AddObjectToObject(o, "incomplete_details");
		cJSON_AddStringToObject(d, "reason", "max_output_tokens");
	} else {
		cJSON_AddNullToObject(o, "incomplete_details");
	}
	if (max_out > 0)
		cJSON_AddNumberToObject(o, "max_output_tokens", (double)max_out);
	else
		cJSON_AddNullToObject(o, "max_output_tokens");
	cJSON_AddStringToObject(o, "model", model);
	cJSON *out = cJSON_AddArrayToObject(o, "output");
	if (text != NULL)
		cJSON_AddItemToArray(out, resp_item(item_id, "completed", text));
	if (t != NULL)
		cJSON_AddItemToObject(o, "usage", resp_usage(t));
	else
		cJSON_AddNullToObject(o, "usage");
	return o;
}

/* ------------------------------------------------------------------ */
/* One request, from body to response */

struct call {
	enum endpoint ep;
	const char *method;
	const char *url;
	char model[256];
	int has_model;
	int stream;
	int include_usage;
	int64_t max_tokens;
	size_t body_len;
	long seq, n;
	struct params p;        /* strings copied: text, message */
	char *text, *message;
	struct toks t;
	struct rlsnap rl;
	int status;
	char *request_id;       /* header request-id / x-request-id */
	int complete;           /* the final usage is part of what gets sent */
	int64_t rep_out;        /* output tokens the client gets to see */
	int rep_in_seen;        /* input/cache figures reach the client */
};

/* Pull what the mock needs from the JSON body; -1 if it isn't JSON. */
static int
call_read_body(struct call *c, const struct buf *body)
{
	c->body_len = body->len;
	if (c->ep == EP_ROOT || c->ep == EP_MODELS || c->ep == EP_UNKNOWN)
		return 0;
	cJSON *o = cJSON_ParseWithLength(body->data ? body->data : "", body->len);
	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "model");
	if (cJSON_IsString(v)) {
		snprintf(c->model, sizeof(c->model), "%s", v->valuestring);
		c->has_model = 1;
	}
	c->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stream"));
	const char *mt_keys[] = { "max_tokens", "max_completion_tokens", "max_output_tokens" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(mt_keys); i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, mt_keys[i]);
		if (cJSON_IsNumber(v) && v->valuedouble >= 1)
			c->max_tokens = (int64_t)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "stream_options");
	c->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "include_usage"));
	cJSON_Delete(o);
	return 0;
}

/* Count, resolve the script, account the rate limit: all under the lock. */
static void
call_plan(mock_t *m, struct call *c)
{
	pthread_mutex_lock(&m->mu);
	c->seq = ++m->seq;
	long path_n = 0;
	if (is_call(c->ep)) {
		c->n = ++m->calls;
		path_n = ++m->path_calls[c->ep];
	}
	script_resolve(m->script, &c->p, c->ep, c->n, path_n, c->has_model ? c->model : NULL);
	c->text = c->p.text ? xstrdup(c->p.text) : NULL;
	c->message = c->p.message ? xstrdup(c->p.message) : NULL;
	c->p.text = c->text;
	c->p.message = c->message;
	if (c->p.kind == K_STATUS && c->p.status == 429 && c->p.retry_after == -1)
		c->p.retry_after = c->p.spend_limit ? -2 : 1;
	compute_toks(&c->p, c->ep, c->body_len, c->max_tokens, &c->t);
	struct rlconf rl;
	if (m->script != NULL)
		rl = m->script->rl;
	else
		rlconf_init(&rl);
	int consume = is_call(c->ep) && c->p.kind != K_STATUS;
	if (ratelimit_take(m, &rl, &c->t, consume, &c->rl) && consume) {
		c->p.kind = K_STATUS;
		c->p.status = 429;
		snprintf(c->p.action, sizeof(c->p.action), "ratelimit");
		c->p.retry_after = (int)(c->rl.reset - util_wall()) + 1;
	}
	pthread_mutex_unlock(&m->mu);
}

static void
add_header(struct MHD_Response *r, const char *k, const char *v)
{
	MHD_add_response_header(r, k, v);
}

static void
add_header_i(struct MHD_Response *r, const char *k, int64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)v);
	MHD_add_response_header(r, k, b);
}

static void
add_ratelimit_headers(struct MHD_Response *r, const struct call *c)
{
	const struct rlsnap *s = &c->rl;
	int limited = c->p.kind == K_STATUS && c->p.status == 429 && !c->p.spend_limit;
	double reset = s->reset;
	if (limited && c->p.retry_after >= 0)
		reset = util_wall() + c->p.retry_after;
	if (is_openai(c->ep)) {
		char d[32];
		add_header_i(r, "x-ratelimit-limit-requests", s->conf.requests);
		add_header_i(r, "x-ratelimit-limit-tokens", s->conf.tokens);
		add_header_i(r, "x-ratelimit-remaining-requests", limited ? 0 : s->req);
		add_header_i(r, "x-ratelimit-remaining-tokens", s->tok);
		fmt_go_duration((int64_t)((reset - util_wall()) * 1000), d, sizeof(d));
		add_header(r, "x-ratelimit-reset-requests", d);
		add_header(r, "x-ratelimit-reset-tokens", d);
		return;
	}
	static const char *const names[] = { "requests", "tokens", "input-tokens",
		"output-tokens" };
	int64_t lim[] = { s->conf.requests, s->conf.tokens, s->conf.input, s->conf.output };
	int64_t rem[] = { limited ? 0 : s->req, s->tok, s->in, s->out };
	char ts[40], k[64];
	fmt_rfc3339(reset, 0, ts, sizeof(ts));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		snprintf(k, sizeof(k), "anthropic-ratelimit-%s-limit", names[i]);
		add_header_i(r, k, lim[i]);
		snprintf(k, sizeof(k), "anthropic-ratelimit-%s-remaining", names[i]);
		add_header_i(r, k, rem[i]);
		snprintf(k, sizeof(k), "anthropic-ratelimit-%s-reset", names[i]);
		add_header(r, k, ts);
	}
}

static void
add_common_headers(struct MHD_Response *r, const struct call *c, const char *ctype)
{
	add_header(r, "content-type", ctype);
	if (c->stream && strcmp(ctype, "text/event-stream") == 0)
		add_header(r, "cache-control", "no-cache");
	if (is_openai(c->ep)) {
		add_header(r, "x-request-id", c->request_id);
		add_header(r, "openai-version", "2020-10-01");
		add_header(r, "openai-processing-ms", "1");
	} else {
		add_header(r, "request-id", c->request_id);
		add_header(r, "anthropic-organization-id",
		    "00000000-0000-4000-8000-000000000000");
	}
	if (is_call(c->ep))
		add_ratelimit_headers(r, c);
	if (c->p.kind == K_STATUS && c->p.retry_after >= 0)
		add_header_i(r, "retry-after", c->p.retry_after);
}

static enum MHD_Result
queue_body(struct MHD_Connection *conn, struct call *c, int status, const char *ctype,
    char *body)
{
	c->status = status;
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	add_common_headers(r, c, ctype);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
queue_json(struct MHD_Connection *conn, struct call *c, int status, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char *body = xstrdup(s);        /* MHD frees with free() */
	cJSON_free(s);
	return queue_body(conn, c, status, "application/json", body);
}

static const char *
anth_error_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 402: return "billing_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 504: return "timeout_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

static const char *
default_error_message(int status, int spend, int openai)
{
	switch (status) {
	case 429:
		if (spend)
			return openai ? "You exceeded your current quota, please check your plan "
			    "and billing details." : "You have reached your specified API usage "
			    "limits. You will regain access on the first day of next month at "
			    "00:00 UTC.";
		return openai ? "Rate limit reached for requests (mock)." : "This request "
		    "would exceed the rate limit for your organization of requests per minute "
		    "(mock). Please try again later.";
	case 529:
	case 503: return openai ? "The server is overloaded or not ready yet." : "Overloaded";
	case 500: return openai ? "The server had an error while processing your request."
		    : "Internal server error";
	case 404: return "Not found";
	case 413: return "Request exceeds the maximum allowed number of bytes.";
	default: return status >= 500 ? "Internal server error" : "Invalid request";
	}
}

static enum MHD_Result
queue_error(struct MHD_Connection *conn, struct call *c, int status, const char *message)
{
	int openai = is_openai(c->ep);
	int spend = c->p.spend_limit && status == 429;
	if (message == NULL)
		message = default_error_message(status, spend, openai);
	cJSON *o;
	if (openai) {
		const char *type = status == 429 ? (spend ? "insufficient_quota" : "requests")
		    : status >= 500 ? "server_error" : "invalid_request_error";
		const char *code = status == 429 ? (spend ? "insufficient_quota" :
		    "rate_limit_exceeded") : NULL;
		o = openai_error(type, message, code);
	} else {
		o = anth_error(anth_error_type(status), message, c->request_id);
	}
	return queue_json(conn, c, status, o);
}

/* The error event inside a 200 stream. */
static void
stream_error_event(struct evlist *l, const struct call *c)
{
	const char *msg = c->message ? c->message : "Overloaded";
	if (c->ep == EP_CHAT) {
		evlist_sse(l, NULL, openai_error("server_error", msg, "overloaded"));
	} else if (c->ep == EP_RESPONSES) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "error");
		cJSON_AddStringToObject(o, "code", "server_error");
		cJSON_AddStringToObject(o, "message", msg);
		cJSON_AddNullToObject(o, "param");
		cJSON_AddNumberToObject(o, "sequence_number", (double)l->n);
		evlist_sse(l, "error", o);
	} else {
		evlist_sse(l, "error", anth_error("overloaded_error", msg, NULL));
	}
}

static void
anth_ping(struct evlist *l)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "ping");
	evlist_sse(l, "ping", o);
}

/* Anthropic stream; start_idx and final_idx: the events carrying usage. */
static void
plan_anthropic(struct evlist *l, const struct call *c, size_t *start_idx, size_t *final_idx)
{
	const struct toks *t = &c->t;
	char *id = make_id("msg_01", 22, base62);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "message_start");
	cJSON_AddItemToObject(o, "message", anth_message(id, c->model, NULL, NULL,
	    anth_usage(t, t->out > 0 ? 1 : 0, 1)));
	free(id);
	*start_idx = l->n;
	evlist_sse(l, "message_start", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_start");
	cJSON_AddNumberToObject(o, "index", 0);
	cJSON *cb = cJSON_AddObjectToObject(o, "content_block");
	cJSON_AddStringToObject(cb, "type", "text");
	cJSON_AddStringToObject(cb, "text", "");
	evlist_sse(l, "content_block_start", o);
	anth_ping(l);
	for (int i = 0; i < t->chunks; i++) {
		if (i > 0 && c->p.ping_every > 0 && i % c->p.ping_every == 0)
			anth_ping(l);
		char *txt = chunk_text(c->text, i, t->chunks);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "content_block_delta");
		cJSON_AddNumberToObject(o, "index", 0);
		cJSON *d = cJSON_AddObjectToObject(o, "delta");
		cJSON_AddStringToObject(d, "type", "text_delta");
		cJSON_AddStringToObject(d, "text", txt);
		free(txt);
		evlist_sse(l, "content_block_delta", o);
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "content_block_stop");
	cJSON_AddNumberToObject(o, "index", 0);
	evlist_sse(l, "content_block_stop", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "message_delta");
	cJSON *d = cJSON_AddObjectToObject(o, "delta");
	cJSON_AddStringToObject(d, "stop_reason", t->capped ? "max_tokens" : "end_turn");
	cJSON_AddNullToObject(d, "stop_sequence");
	cJSON_AddItemToObject(o, "usage", anth_usage(t, t->out, 0));
	*final_idx = l->n;
	evlist_sse(l, "message_delta", o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "message_stop");
	evlist_sse(l, "message_stop", o);
}

static void
plan_chat(struct evlist *l, const struct call *c, size_t *final_idx)
{
	const struct toks *t = &c->t;
	int usage = c->include_usage || c->p.always_usage;
	char *id = make_id("chatcmpl-", 29, base62);
	long created = (long)time(NULL);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	cJSON_AddNullToObject(d, "refusal");
	evlist_sse(l, NULL, chat_chunk(id, c->model, created, d, NULL, usage));
	for (int i = 0; i < t->chunks; i++) {
		char *txt = chunk_text(c->text, i, t->chunks);
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "content", txt);
		free(txt);
		evlist_sse(l, NULL, chat_chunk(id, c->model, created, d, NULL, usage));
	}
	evlist_sse(l, NULL, chat_chunk(id, c->model, created, cJSON_CreateObject(),
	    t->capped ? "length" : "stop", usage));
	*final_idx = SIZE_MAX;
	if (usage) {
		cJSON *o = chat_base(id, "chat.completion.chunk", c->model, created);
		cJSON_AddArrayToObject(o, "choices");
		cJSON_AddItemToObject(o, "usage", chat_usage(t));
		*final_idx = l->n;
		evlist_sse(l, NULL, o);
	}
	evlist_add(l, xstrdup("data: [DONE]\n\n"));
	free(id);
}

static cJSON *
resp_event(const char *type, size_t seq)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddNumberToObject(o, "sequence_number", (double)seq);
	return o;
}

static void
resp_event_ids(cJSON *o, const char *item_id, int with_content)
{
	cJSON_AddStringToObject(o, "item_id", item_id);
	cJSON_AddNumberToObject(o, "output_index", 0);
	if (with_content)
		cJSON_AddNumberToObject(o, "content_index", 0);
}

static cJSON *
resp_part(const char *text)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "output_text");
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddArrayToObject(p, "annotations");
	return p;
}

static void
plan_responses(struct evlist *l, const struct call *c, size_t *final_idx)
{
	const struct toks *t = &c->t;
	char *id = make_id("resp_", 48, hex);
	char *item = make_id("msg_", 48, hex);
	char *text = full_text(c->text, t->chunks);
	long created = (long)time(NULL);
	const char *fin = t->capped ? "incomplete" : "completed";
	cJSON *o = resp_event("response.created", l->n);
	cJSON_AddItemToObject(o, "response", resp_object(id, item, c->model, created,
	    "in_progress", NULL, NULL, c->max_tokens));
	evlist_sse(l, "response.created", o);
	o = resp_event("response.in_progress", l->n);
	cJSON_AddItemToObject(o, "response", resp_object(id, item, c->model, created,
	    "in_progress", NULL, NULL, c->max_tokens));
	evlist_sse(l, "response.in_progress", o);
	o = resp_event("response.output_item.added", l->n);
	cJSON_AddNumberToObject(o, "output_index", 0);
	cJSON_AddItemToObject(o, "item", resp_item(item, "in_progress", NULL));
	evlist_sse(l, "response.output_item.added", o);
	o = resp_event("response.content_part.added", l->n);
	resp_event_ids(o, item, 1);
	cJSON_AddItemToObject(o, "part", resp_part(""));
	evlist_sse(l, "response.content_part.added", o);
	for (int i = 0; i < t->chunks; i++) {
		char *txt = chunk_text(c->text, i, t->chunks);
		o = resp_event("response.output_text.delta", l->n);
		resp_event_ids(o, item, 1);
		cJSON_AddStringToObject(o, "delta", txt);
		cJSON_AddArrayToObject(o, "logprobs");
		free(txt);
		evlist_sse(l, "response.output_text.delta", o);
	}
	o = resp_event("response.output_text.done", l->n);
	resp_event_ids(o, item, 1);
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddArrayToObject(o, "logprobs");
	evlist_sse(l, "response.output_text.done", o);
	o = resp_event("response.content_part.done", l->n);
	resp_event_ids(o, item, 1);
	cJSON_AddItemToObject(o, "part", resp_part(text));
	evlist_sse(l, "response.content_part.done", o);
	o = resp_event("response.output_item.done", l->n);
	cJSON_AddNumberToObject(o, "output_index", 0);
	cJSON_AddItemToObject(o, "item", resp_item(item, fin, text));
	evlist_sse(l, "response.output_item.done", o);
	char *name = xasprintf("response.%s", fin);
	o = resp_event(name, l->n);
	cJSON_AddItemToObject(o, "response", resp_object(id, item, c->model, created, fin,
	    text, t, c->max_tokens));
	*final_idx = l->n;
	evlist_sse(l, name, o);
	free(name);
	free(text);
	free(item);
	free(id);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
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
stream_free(void *cls)
{
	struct stream *s = cls;
	for (size_t i = 0; i < s->nev; i++)
		free(s->ev[i]);
	free(s->ev);
	free(s->len);
	free(s);
}

/* Hand a list of events to MHD; size MHD_SIZE_UNKNOWN = chunked. */
static enum MHD_Result
queue_events(mock_t *m, struct MHD_Connection *conn, struct call *c, struct evlist *l,
    uint64_t size, const char *ctype, int cut)
{
	struct stream *s = xcalloc(1, sizeof(*s));
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
	    stream_read, s, stream_free);
	add_common_headers(r, c, ctype);
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
serve_stream(mock_t *m, struct MHD_Connection *conn, struct call *c)
{
	struct evlist l = { 0 };
	size_t start_idx = SIZE_MAX, final_idx = SIZE_MAX;
	if (c->p.kind != K_FIRST) {
		if (c->ep == EP_MESSAGES)
			plan_anthropic(&l, c, &start_idx, &final_idx);
		else if (c->ep == EP_CHAT)
			plan_chat(&l, c, &final_idx);
		else
			plan_responses(&l, c, &final_idx);
	}
	int cut = 0;
	size_t keep = l.n;
	if (c->p.kind == K_MIDSTREAM || c->p.kind == K_CUT || c->p.kind == K_FIRST)
		keep = c->p.kind == K_FIRST ? 0 : UTIL_MIN(l.n, (size_t)c->p.after_events);
	for (size_t i = keep; i < l.n; i++)
		free(l.v[i]);
	l.n = keep;
	if (c->p.kind == K_MIDSTREAM || c->p.kind == K_FIRST)
		stream_error_event(&l, c);
	cut = c->p.kind == K_CUT;
	c->complete = final_idx < keep;
	c->rep_in_seen = c->complete || start_idx < keep;
	c->rep_out = c->complete ? c->t.out : (c->rep_in_seen && c->t.out > 0 ? 1 : 0);
	return queue_events(m, conn, c, &l, MHD_SIZE_UNKNOWN, "text/event-stream", cut);
}

static cJSON *
nonstream_body(const struct call *c)
{
	const struct toks *t = &c->t;
	char *text = full_text(c->text, t->chunks);
	cJSON *o;
	if (c->ep == EP_MESSAGES) {
		char *id = make_id("msg_01", 22, base62);
		o = anth_message(id, c->model, text, t->capped ? "max_tokens" : "end_turn",
		    anth_usage(t, t->out, 1));
		free(id);
	} else if (c->ep == EP_CHAT) {
		char *id = make_id("chatcmpl-", 29, base62);
		o = chat_base(id, "chat.completion", c->model, (long)time(NULL));
		cJSON *choices = cJSON_AddArrayToObject(o, "choices");
		cJSON *ch = cJSON_CreateObject();
		cJSON_AddNumberToObject(ch, "index", 0);
		cJSON *msg = cJSON_AddObjectToObject(ch, "message");
		cJSON_AddStringToObject(msg, "role", "assistant");
		cJSON_AddStringToObject(msg, "content", text);
		cJSON_AddNullToObject(msg, "refusal");
		cJSON_AddNullToObject(ch, "logprobs");
		cJSON_AddStringToObject(ch, "finish_reason", t->capped ? "length" : "stop");
		cJSON_AddItemToArray(choices, ch);
		cJSON_AddItemToObject(o, "usage", chat_usage(t));
		free(id);
	} else {
		char *id = make_id("resp_", 48, hex), *item = make_id("msg_", 48, hex);
		o = resp_object(id, item, c->model, (long)time(NULL),
		    t->capped ? "incomplete" : "completed", text, t, c->max_tokens);
		free(id);
		free(item);
	}
	free(text);
	return o;
}

static enum MHD_Result
serve_nonstream(mock_t *m, struct MHD_Connection *conn, struct call *c)
{
	if (c->p.kind == K_MIDSTREAM || c->p.kind == K_FIRST)
		return queue_error(conn, c, is_openai(c->ep) ? 503 : 529, c->message);
	cJSON *o = nonstream_body(c);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	c->complete = 1;
	c->rep_in_seen = 1;
	c->rep_out = c->t.out;
	if (c->p.kind != K_CUT) {
		char *body = xstrdup(s);
		cJSON_free(s);
		return queue_body(conn, c, 200, "application/json", body);
	}
	/* Cut: announce the full length, send half, then close. */
	size_t len = strlen(s);
	struct evlist l = { 0 };
	evlist_add(&l, xstrndup(s, len / 2));
	cJSON_free(s);
	c->complete = 0;
	return queue_events(m, conn, c, &l, len, "application/json", 1);
}

static cJSON *
models_body(const struct script *s)
{
	static const char *const builtin[] = { "claude-opus-4-7", "claude-sonnet-4-6",
		"claude-haiku-4-5", "gpt-5.5" };
	cJSON *o = cJSON_CreateObject();
	cJSON *data = cJSON_AddArrayToObject(o, "data");
	size_t n = s && s->models ? (size_t)cJSON_GetArraySize(s->models) : UTIL_ARRAY_LEN(builtin);
	const char *first = NULL, *last = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *id = s && s->models ?
		    cJSON_GetArrayItem(s->models, (int)i)->valuestring : builtin[i];
		/* A superset of the Anthropic and OpenAI list entry shapes. */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "model");
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "display_name", id);
		cJSON_AddStringToObject(e, "created_at", "2026-01-01T00:00:00Z");
		cJSON_AddStringToObject(e, "object", "model");
		cJSON_AddNumberToObject(e, "created", 1767225600);
		cJSON_AddStringToObject(e, "owned_by", strncmp(id, "claude", 6) == 0 ?
		    "anthropic" : "openai");
		cJSON_AddItemToArray(data, e);
		if (first == NULL)
			first = id;
		last = id;
	}
	cJSON_AddBoolToObject(o, "has_more", 0);
	if (first != NULL) {
		cJSON_AddStringToObject(o, "first_id", first);
		cJSON_AddStringToObject(o, "last_id", last);
	} else {
		cJSON_AddNullToObject(o, "first_id");
		cJSON_AddNullToObject(o, "last_id");
	}
	cJSON_AddStringToObject(o, "object", "list");
	return o;
}

static void
call_log(mock_t *m, const struct call *c)
{
	int64_t out = c->rep_out;
	int seen = c->rep_in_seen;
	char ts[40];
	fmt_rfc3339(util_wall(), 1, ts, sizeof(ts));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", (double)c->n);
	cJSON_AddNumberToObject(o, "seq", (double)c->seq);
	cJSON_AddStringToObject(o, "time", ts);
	cJSON_AddStringToObject(o, "method", c->method);
	cJSON_AddStringToObject(o, "path", c->url);
	if (c->has_model)
		cJSON_AddStringToObject(o, "model", c->model);
	else
		cJSON_AddNullToObject(o, "model");
	cJSON_AddBoolToObject(o, "stream", c->stream);
	cJSON_AddNumberToObject(o, "status", c->status);
	cJSON_AddStringToObject(o, "action", c->p.action);
	cJSON_AddStringToObject(o, "request_id", c->request_id);
	cJSON_AddBoolToObject(o, "complete", c->complete);
	cJSON_AddNumberToObject(o, "input_tokens", seen ? (double)c->t.in : 0);
	cJSON_AddNumberToObject(o, "output_tokens", (double)out);
	cJSON_AddNumberToObject(o, "cache_read", seen ? (double)c->t.cread : 0);
	cJSON_AddNumberToObject(o, "cache_write_5m", seen ? (double)c->t.c5m : 0);
	cJSON_AddNumberToObject(o, "cache_write_1h", seen ? (double)c->t.c1h : 0);
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	pthread_mutex_lock(&m->mu);
	if (m->log != NULL) {
		fprintf(m->log, "%s\n", line);
		fflush(m->log);
	}
	pthread_mutex_unlock(&m->mu);
	if (!m->quiet)
		fprintf(stderr, "mock: #%ld %s %s %s%s -> %d %s in=%lld out=%lld\n", c->seq,
		    c->method, c->url, c->has_model ? c->model : "-", c->stream ? " (stream)" : "",
		    c->status, c->p.action, seen ? (long long)c->t.in : 0LL, (long long)out);
	cJSON_free(line);
}

static enum MHD_Result
serve(mock_t *m, struct MHD_Connection *conn, struct call *c, struct req *rq)
{
	if (rq->too_big || c->ep == EP_UNKNOWN ||
	    strcmp(c->method, endpoints[c->ep].method) != 0) {
		int st = rq->too_big ? 413 : c->ep == EP_UNKNOWN ? 404 : 405;
		pthread_mutex_lock(&m->mu);
		c->seq = ++m->seq;
		pthread_mutex_unlock(&m->mu);
		c->ep = EP_UNKNOWN;     /* not a model call: no rate-limit headers */
		return queue_error(conn, c, st, st == 405 ? "Method not allowed" : NULL);
	}
	int bad = call_read_body(c, &rq->body);
	call_plan(m, c);
	if (bad)
		return queue_error(conn, c, 400, "The request body is not valid JSON.");
	if (c->p.first_byte_ms > 0 && mock_sleep_until(m, util_now_us() +
	    (int64_t)c->p.first_byte_ms * 1000) < 0)
		return MHD_NO;
	if (c->p.kind == K_STATUS)
		return queue_error(conn, c, c->p.status, c->message);
	switch (c->ep) {
	case EP_ROOT: {
		c->complete = 1;
		return queue_body(conn, c, 200, "text/plain; charset=utf-8",
		    xstrdup("tokmux mock provider (Anthropic and OpenAI shapes)\n"));
	}
	case EP_MODELS: {
		pthread_mutex_lock(&m->mu);
		cJSON *o = models_body(m->script);
		pthread_mutex_unlock(&m->mu);
		c->complete = 1;
		return queue_json(conn, c, 200, o);
	}
	case EP_COUNT: {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "input_tokens", (double)c->t.in);
		c->complete = 1;
		return queue_json(conn, c, 200, o);
	}
	default:
		break;
	}
	if (!c->has_model)
		snprintf(c->model, sizeof(c->model), "%s", "mock-model");
	if (c->stream)
		return serve_stream(m, conn, c);
	return serve_nonstream(m, conn, c);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	mock_t *m = cls;
	struct req *rq = *con_cls;
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
	struct call c;
	memset(&c, 0, sizeof(c));
	params_init(&c.p);
	c.method = method;
	c.url = url;
	c.ep = endpoint_for(url);
	c.request_id = is_openai(c.ep) ? make_id("req_", 32, hex) : make_id("req_011C", 20, base62);
	enum MHD_Result ret = serve(m, conn, &c, rq);
	if (c.status != 0)
		call_log(m, &c);
	free(c.request_id);
	free(c.text);
	free(c.message);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	if (rq != NULL) {
		buf_free(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
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
		set_err(err, xasprintf("port %d out of range", o->port));
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
	if (o->script_path != NULL && mock_load_script(m, o->script_path, err) < 0)
		goto fail;
	if (o->log_path != NULL && (m->log = fopen(o->log_path, "ae")) == NULL) {
		set_err(err, xasprintf("%s: %s", o->log_path, strerror(errno)));
		goto fail;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, (uint16_t)o->port, NULL, NULL, on_request, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)900, /* > longest delay */
	    MHD_OPTION_END);
	if (m->d == NULL) {
		set_err(err, xasprintf("cannot listen on 127.0.0.1:%d", o->port));
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
	script_free(m->script);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* ------------------------------------------------------------------ */
/* `tokmux mock` */

static void
mock_usage(FILE *f)
{
	fputs("usage: tokmux mock [--port N] [--script FILE] [--log FILE] [--quiet]\n"
	    "  Serve a scripted fake Anthropic/OpenAI provider on 127.0.0.1.\n"
	    "  --port N       port to listen on (default 0: any free port)\n"
	    "  --script FILE  JSON script of faults and usage (see docs/MOCK.md)\n"
	    "  --log FILE     append one JSON line per served request\n"
	    "  --quiet        no per-request lines on stderr\n"
	    "  SIGHUP reloads the script; SIGINT/SIGTERM stop.\n", f);
}

int
mock_main(int argc, char **argv)
{
	struct mock_options o = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			mock_usage(stdout);
			return 0;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			o.quiet = 1;
			continue;
		} else if (strcmp(a, "--script") == 0) {
			dst = &o.script_path;
		} else if (strcmp(a, "--log") == 0) {
			dst = &o.log_path;
		} else if (strcmp(a, "--port") != 0) {
			fprintf(stderr, "tokmux mock: unknown argument \"%s\"\n", a);
			mock_usage(stderr);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "tokmux mock: %s needs a value\n", a);
			return 2;
		}
		const char *v = argv[++i];
		if (dst != NULL) {
			*dst = v;
			continue;
		}
		char *end;
		long p = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || p < 0 || p > 65535) {
			fprintf(stderr, "tokmux mock: --port: expected 0-65535, got \"%s\"\n", v);
			return 2;
		}
		o.port = (int)p;
	}
	/* Block the stop signals before MHD starts its threads; wait for them here. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	char *err = NULL;
	mock_t *m = mock_start(&o, &err);
	if (m == NULL) {
		fprintf(stderr, "tokmux mock: %s\n", err);
		free(err);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	printf("mock listening on http://127.0.0.1:%d\n", mock_port(m));
	fflush(stdout);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0 || sig != SIGHUP)
			break;
		if (mock_load_script(m, o.script_path, &err) < 0) {
			fprintf(stderr, "tokmux mock: reload: %s\n", err);
			free(err);
			err = NULL;
		} else if (!o.quiet) {
			fprintf(stderr, "tokmux mock: script reloaded\n");
		}
	}
	mock_stop(m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}
