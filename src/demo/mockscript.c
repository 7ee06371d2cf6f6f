/*
 * mockscript: parses and checks a mock script (unknown keys and bad values
 * are errors, worded by jsoncheck) and evaluates its rules for a request.
 * The parsed script keeps its cJSON tree: a rule's settings are applied
 * from its object at resolve time, the same code that checked them.
 */
#include "mockscript.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"
#include "util.h"

#define MOCKSCRIPT_MAX_CHUNKS 10000
#define MOCKSCRIPT_MAX_DELAY_MS 600000        /* no scripted sleep beyond 10 minutes */
#define MOCKSCRIPT_BIG (INT64_C(1) << 40)     /* bound of token figures */

struct mockscript_rule {
	cJSON *json;                /* the rule object, owned by script->root */
	long request;               /* 0 = any */
	long *requests;
	size_t nrequests;
	long every;                 /* 0 = any */
	char *model;                /* fnmatch(3) pattern, NULL = any */
	enum mockwire_endpoint path;   /* MOCKWIRE_NONE = any model call */
	int per_path;
	long times;                 /* -1 = unlimited */
	long used;
};

struct mockscript {
	cJSON *root;
	cJSON *defaults;            /* may be NULL */
	struct mockscript_rule *rules;
	size_t nrules;
	struct mockscript_ratelimit rl;
	cJSON *models;              /* array of strings, or NULL for the built-in list */
};

void
mockscript_params_init(struct mockscript_params *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = MOCKSCRIPT_OK;
	snprintf(p->action, sizeof(p->action), "ok");
	p->retry_after = -1;
	p->after_events = 4;
	p->chunks = 5;
	p->chunk_tokens = 2;
	p->in = p->out = -1;
	p->ping_every = 3;
	p->u5h = 0.12;
	p->u7d = 0.05;
	p->reset5_s = 3 * 3600;
	p->reset7_s = 4 * 86400;
	p->claim = "five_hour";
	p->ustatus = "allowed";
	p->surpassed = -1;
}

void
mockscript_ratelimit_default(struct mockscript_ratelimit *c)
{
	/* A tier-4-like budget: large enough not to pace benchmarks. */
	c->requests = 4000;
	c->input = 2000000;
	c->output = 400000;
	c->tokens = c->input + c->output;
	c->window_s = 60;
	c->enforce = 0;
}

/* Optional keys of obj: 0 absent, 1 set, -1 error. */
static int
mockscript_int(const struct jsoncheck *j, const cJSON *obj, const char *ctx, const char *key,
    int64_t min, int64_t max, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL)
		return 0;
	return jsoncheck_int(j, v, ctx, key, min, max, out) < 0 ? -1 : 1;
}

static int
mockscript_int32(const struct jsoncheck *j, const cJSON *obj, const char *ctx, const char *key,
    int min, int max, int *out)
{
	int64_t v;
	int r = mockscript_int(j, obj, ctx, key, min, max, &v);
	if (r == 1)
		*out = (int)v;
	return r;
}

static int
mockscript_bool(const struct jsoncheck *j, const cJSON *obj, const char *ctx, const char *key,
    int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL)
		return 0;
	return jsoncheck_bool(j, v, ctx, key, out) < 0 ? -1 : 1;
}

static int
mockscript_str(const struct jsoncheck *j, const cJSON *obj, const char *ctx, const char *key,
    const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (v == NULL)
		return 0;
	return jsoncheck_string(j, v, ctx, key, 0, out) < 0 ? -1 : 1;
}

static const char *const mockscript_action_names =
	"ok, 429, 529, 500 (or any status 400-599), overloaded_midstream, "
	"overloaded_first, slow_first_byte, chunk_delay, cut";

/* Apply an action; *is_first_byte tells how a delay_ms in the same object reads. */
static int
mockscript_action(const struct jsoncheck *j, struct mockscript_params *p, const cJSON *v,
    int *is_first_byte, const char *ctx)
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
		p->kind = MOCKSCRIPT_OK;
	} else if (strcmp(name, "overloaded_midstream") == 0) {
		p->kind = MOCKSCRIPT_MIDSTREAM;
	} else if (strcmp(name, "overloaded_first") == 0) {
		p->kind = MOCKSCRIPT_FIRST;
	} else if (strcmp(name, "cut") == 0) {
		p->kind = MOCKSCRIPT_CUT;
	} else if (strcmp(name, "slow_first_byte") == 0) {
		*is_first_byte = 1;     /* a delay on top of whatever else applies */
	} else if (strcmp(name, "chunk_delay") == 0) {
		;
	} else {
		char *end;
		long st = strtol(name, &end, 10);
		if (*end != '\0' || end == name || st < 400 || st > 599)
			goto bad;
		p->kind = MOCKSCRIPT_STATUS;
		p->status = (int)st;
	}
	snprintf(p->action, sizeof(p->action), "%s", name);
	return 0;
bad:
	return jsoncheck_fail(j, ctx, "action", "one of %s", mockscript_action_names);
}

static int
mockscript_usage(const struct jsoncheck *j, struct mockscript_params *p, const cJSON *u,
    const char *ctx)
{
	static const char *const keys[] = { "input_tokens", "output_tokens",
		"cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation_5m",
		"cache_creation_1h", "reasoning_tokens", NULL };
	char *c = xasprintf("%s.usage", ctx);
	int64_t big = MOCKSCRIPT_BIG;
	int rc = -1;
	if (jsoncheck_keys(j, u, c, keys) < 0 ||
	    mockscript_int(j, u, c, "input_tokens", 0, big, &p->in) < 0 ||
	    mockscript_int(j, u, c, "output_tokens", 0, big, &p->out) < 0 ||
	    mockscript_int(j, u, c, "cache_read_input_tokens", 0, big, &p->cread) < 0 ||
	    mockscript_int(j, u, c, "cache_creation_input_tokens", 0, big, &p->c5m) < 0 ||
	    mockscript_int(j, u, c, "cache_creation_5m", 0, big, &p->c5m) < 0 ||
	    mockscript_int(j, u, c, "cache_creation_1h", 0, big, &p->c1h) < 0 ||
	    mockscript_int(j, u, c, "reasoning_tokens", 0, big, &p->reasoning) < 0)
		goto out;
	rc = 0;
out:
	free(c);
	return rc;
}

static const char *const mockscript_param_keys[] = { "action", "retry_after", "message",
	"spend_limit", "delay_ms", "first_byte_ms", "chunk_delay_ms", "after_events", "chunks",
	"chunk_tokens", "text", "usage", "ping_every", "openai_always_usage", "bad_usage",
	"cache_from_body", "match", "times", "ratelimit", "models", "tool", "unified", NULL };

/* tool: {"name": "Bash", "input": {...}}: a tool_use answer. */
static int
mockscript_tool(const struct jsoncheck *j, struct mockscript_params *p, const cJSON *t,
    const char *ctx)
{
	static const char *const keys[] = { "name", "input", NULL };
	char *c = xasprintf("%s.tool", ctx);
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "input");
	int rc = -1;
	if (!cJSON_IsObject(t)) {
		jsoncheck_fail(j, ctx, "tool", "an object {\"name\": NAME, \"input\": {...}}");
		goto out;
	}
	if (jsoncheck_keys(j, t, c, keys) < 0 ||
	    jsoncheck_string(j, cJSON_GetObjectItemCaseSensitive(t, "name"), c, "name", 1,
	    &p->tool_name) < 0)
		goto out;
	if (in != NULL && !cJSON_IsObject(in)) {
		jsoncheck_fail(j, c, "input", "an object");
		goto out;
	}
	p->tool_input = in;
	rc = 0;
out:
	free(c);
	return rc;
}

/* unified: the subscription windows OAuth-shaped requests are told of. */
static int
mockscript_unified(const struct jsoncheck *j, struct mockscript_params *p, const cJSON *u,
    const char *ctx)
{
	static const char *const keys[] = { "5h", "7d", "reset_5h_s", "reset_7d_s", "claim",
		"status", "surpassed", NULL };
	char *c = xasprintf("%s.unified", ctx);
	int rc = -1;
	if (!cJSON_IsObject(u)) {
		jsoncheck_fail(j, ctx, "unified", "an object");
		goto out;
	}
	if (jsoncheck_keys(j, u, c, keys) < 0 ||
	    (cJSON_HasObjectItem(u, "5h") && jsoncheck_number(j, cJSON_GetObjectItem(u, "5h"), c,
	    "5h", 0, 2, &p->u5h) < 0) ||
	    (cJSON_HasObjectItem(u, "7d") && jsoncheck_number(j, cJSON_GetObjectItem(u, "7d"), c,
	    "7d", 0, 2, &p->u7d) < 0) ||
	    (cJSON_HasObjectItem(u, "surpassed") && jsoncheck_number(j,
	    cJSON_GetObjectItem(u, "surpassed"), c, "surpassed", 0, 1, &p->surpassed) < 0) ||
	    mockscript_int32(j, u, c, "reset_5h_s", 0, 5 * 3600, &p->reset5_s) < 0 ||
	    mockscript_int32(j, u, c, "reset_7d_s", 0, 7 * 86400, &p->reset7_s) < 0 ||
	    mockscript_str(j, u, c, "claim", &p->claim) < 0 ||
	    mockscript_str(j, u, c, "status", &p->ustatus) < 0)
		goto out;
	rc = 0;
out:
	free(c);
	return rc;
}

/* The delays and stream shape of a defaults or rule object. */
static int
mockscript_timing(const struct jsoncheck *j, struct mockscript_params *p, const cJSON *o,
    const char *ctx, int first_byte)
{
	int delay = -1;
	if (mockscript_int32(j, o, ctx, "delay_ms", 0, MOCKSCRIPT_MAX_DELAY_MS, &delay) < 0 ||
	    mockscript_int32(j, o, ctx, "first_byte_ms", 0, MOCKSCRIPT_MAX_DELAY_MS,
	    &p->first_byte_ms) < 0 ||
	    mockscript_int32(j, o, ctx, "chunk_delay_ms", 0, MOCKSCRIPT_MAX_DELAY_MS,
	    &p->chunk_delay_ms) < 0 ||
	    mockscript_int32(j, o, ctx, "after_events", 0, 1000000, &p->after_events) < 0 ||
	    mockscript_int32(j, o, ctx, "chunks", 0, MOCKSCRIPT_MAX_CHUNKS, &p->chunks) < 0 ||
	    mockscript_int32(j, o, ctx, "chunk_tokens", 0, 1000000, &p->chunk_tokens) < 0 ||
	    mockscript_int32(j, o, ctx, "ping_every", 0, 1000000, &p->ping_every) < 0)
		return -1;
	if (delay >= 0) {
		if (first_byte)
			p->first_byte_ms = delay;
		else
			p->chunk_delay_ms = delay;
	}
	return 0;
}

/* Apply the settings of a defaults or rule object (later calls override). */
static int
mockscript_apply(const struct jsoncheck *j, struct mockscript_params *p, const cJSON *o,
    const char *ctx)
{
	int first_byte = 0;
	const cJSON *v;
	if (jsoncheck_keys(j, o, ctx, mockscript_param_keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "action")) != NULL &&
	    mockscript_action(j, p, v, &first_byte, ctx) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "retry_after")) != NULL)
		p->retry_after_raw[0] = '\0';   /* the last rule that names it wins */
	if (v != NULL && cJSON_IsNull(v))
		p->retry_after = -2;
	else if (v != NULL && cJSON_IsString(v)) {   /* a hostile value, sent verbatim */
		if (v->valuestring[0] == '\0' || strlen(v->valuestring) >= sizeof p->retry_after_raw ||
		    strpbrk(v->valuestring, "\r\n") != NULL)
			return jsoncheck_fail(j, ctx, "retry_after", "a number of seconds from 0 "
			    "to 86400, null, or a header value of 1 to 31 characters");
		snprintf(p->retry_after_raw, sizeof p->retry_after_raw, "%s", v->valuestring);
	} else if (mockscript_int32(j, o, ctx, "retry_after", 0, 86400, &p->retry_after) < 0)
		return -1;
	if (mockscript_str(j, o, ctx, "message", &p->message) < 0 ||
	    mockscript_bool(j, o, ctx, "spend_limit", &p->spend_limit) < 0 ||
	    mockscript_timing(j, p, o, ctx, first_byte) < 0 ||
	    mockscript_str(j, o, ctx, "text", &p->text) < 0 ||
	    mockscript_bool(j, o, ctx, "openai_always_usage", &p->always_usage) < 0 ||
	    mockscript_bool(j, o, ctx, "cache_from_body", &p->cache_from_body) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "usage")) != NULL &&
	    mockscript_usage(j, p, v, ctx) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "tool")) != NULL &&
	    mockscript_tool(j, p, v, ctx) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "unified")) != NULL &&
	    mockscript_unified(j, p, v, ctx) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "bad_usage")) != NULL) {
		static const char *const kinds[] = { "none", "input", "output", "both" };
		int k = -1;
		for (int i = 0; i < 4 && cJSON_IsString(v); i++)
			if (strcmp(v->valuestring, kinds[i]) == 0)
				k = i;
		if (k < 0)
			return jsoncheck_fail(j, ctx, "bad_usage", "one of none, input, output, both");
		p->bad_usage = k;   /* bit 1: input, bit 2: output */
	}
	return 0;
}

static int
mockscript_parse_ratelimit(const struct jsoncheck *j, struct mockscript_ratelimit *c,
    const cJSON *o)
{
	static const char *const keys[] = { "requests", "tokens", "input_tokens", "output_tokens",
		"window_s", "enforce", NULL };
	const char *ctx = "defaults.ratelimit";
	int64_t big = MOCKSCRIPT_BIG;
	int tokens_set;
	if (jsoncheck_keys(j, o, ctx, keys) < 0 ||
	    mockscript_int(j, o, ctx, "requests", 0, big, &c->requests) < 0 ||
	    mockscript_int(j, o, ctx, "input_tokens", 0, big, &c->input) < 0 ||
	    mockscript_int(j, o, ctx, "output_tokens", 0, big, &c->output) < 0 ||
	    (tokens_set = mockscript_int(j, o, ctx, "tokens", 0, big, &c->tokens)) < 0 ||
	    mockscript_int32(j, o, ctx, "window_s", 1, 86400, &c->window_s) < 0 ||
	    mockscript_bool(j, o, ctx, "enforce", &c->enforce) < 0)
		return -1;
	if (!tokens_set)
		c->tokens = c->input + c->output;
	return 0;
}

/* match.requests: an array of request numbers. */
static int
mockscript_parse_requests(const struct jsoncheck *j, struct mockscript_rule *r, const cJSON *a,
    const char *c)
{
	const cJSON *it;
	if (!cJSON_IsArray(a))
		return jsoncheck_fail(j, c, "requests", "an array of request numbers");
	r->requests = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(long));
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1e15 ||
		    it->valuedouble != (double)(long)it->valuedouble)
			return jsoncheck_fail(j, c, "requests", "request numbers >= 1");
		r->requests[r->nrequests++] = (long)it->valuedouble;
	}
	return 0;
}

static int
mockscript_parse_match(const struct jsoncheck *j, struct mockscript_rule *r, const cJSON *o,
    const char *ctx)
{
	static const char *const keys[] = { "request", "requests", "model", "path", "every",
		"per_path", NULL };
	char *c = xasprintf("%s.match", ctx);
	const char *model = NULL, *path = NULL;
	int64_t request = 0, every = 0;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "requests");
	int rc = -1;
	if (jsoncheck_keys(j, o, c, keys) < 0 ||
	    mockscript_int(j, o, c, "request", 1, LONG_MAX, &request) < 0 ||
	    mockscript_int(j, o, c, "every", 1, LONG_MAX, &every) < 0 ||
	    mockscript_str(j, o, c, "model", &model) < 0 ||
	    mockscript_str(j, o, c, "path", &path) < 0 ||
	    mockscript_bool(j, o, c, "per_path", &r->per_path) < 0)
		goto out;
	r->request = (long)request;
	r->every = (long)every;
	if (model != NULL)
		r->model = xstrdup(model);
	if (path != NULL && (r->path = mockwire_endpoint(path)) == MOCKWIRE_UNKNOWN) {
		jsoncheck_fail(j, c, "path", "/v1/messages, /v1/messages/count_tokens, "
		    "/v1/chat/completions, /v1/responses, /v1/models or / (unknown endpoint \"%s\")",
		    path);
		goto out;
	}
	if (a != NULL && mockscript_parse_requests(j, r, a, c) < 0)
		goto out;
	rc = 0;
out:
	free(c);
	return rc;
}

void
mockscript_free(mockscript_t *s)
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
mockscript_parse_rule(const struct jsoncheck *j, struct mockscript_rule *r, cJSON *o, size_t i)
{
	char *ctx = xasprintf("rules[%zu]", i);
	struct mockscript_params scratch;
	int64_t t = -1;
	int rc = -1;
	r->json = o;
	r->times = -1;
	mockscript_params_init(&scratch);
	if (mockscript_apply(j, &scratch, o, ctx) < 0)
		goto out;
	if (cJSON_HasObjectItem(o, "ratelimit") || cJSON_HasObjectItem(o, "models")) {
		jsoncheck_fail(j, ctx, cJSON_HasObjectItem(o, "ratelimit") ? "ratelimit" : "models",
		    "only in defaults (\"ratelimit\" and \"models\" belong in defaults)");
		goto out;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "match");
	if (m != NULL && mockscript_parse_match(j, r, m, ctx) < 0)
		goto out;
	if (mockscript_int(j, o, ctx, "times", 1, LONG_MAX, &t) < 0)
		goto out;
	r->times = (long)t;
	rc = 0;
out:
	free(ctx);
	return rc;
}

static int
mockscript_parse_defaults(const struct jsoncheck *j, mockscript_t *s)
{
	struct mockscript_params scratch;
	mockscript_params_init(&scratch);
	if (mockscript_apply(j, &scratch, s->defaults, "defaults") < 0)
		return -1;
	if (cJSON_HasObjectItem(s->defaults, "match") || cJSON_HasObjectItem(s->defaults, "times"))
		return jsoncheck_fail(j, "defaults", cJSON_HasObjectItem(s->defaults, "match") ?
		    "match" : "times", "only in rules (\"match\" and \"times\" belong in rules)");
	const cJSON *rl = cJSON_GetObjectItemCaseSensitive(s->defaults, "ratelimit"), *it;
	if (rl != NULL && mockscript_parse_ratelimit(j, &s->rl, rl) < 0)
		return -1;
	s->models = cJSON_GetObjectItemCaseSensitive(s->defaults, "models");
	if (s->models == NULL)
		return 0;
	if (!cJSON_IsArray(s->models))
		return jsoncheck_fail(j, "defaults", "models", "an array of model ids");
	cJSON_ArrayForEach(it, s->models)
		if (!cJSON_IsString(it))
			return jsoncheck_fail(j, "defaults", "models", "an array of model ids");
	return 0;
}

static int
mockscript_parse_rules(const struct jsoncheck *j, mockscript_t *s)
{
	cJSON *rules = cJSON_GetObjectItemCaseSensitive(s->root, "rules"), *it;
	if (rules == NULL)
		return 0;
	if (!cJSON_IsArray(rules))
		return jsoncheck_fail(j, NULL, "rules", "an array");
	s->rules = xcalloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(*s->rules));
	cJSON_ArrayForEach(it, rules) {
		int rc = mockscript_parse_rule(j, &s->rules[s->nrules], it, s->nrules);
		s->nrules++;
		if (rc < 0)
			return -1;
	}
	return 0;
}

mockscript_t *
mockscript_parse(const char *text, size_t len, const char *file, char **err)
{
	static const char *const top[] = { "rules", "defaults", "comment", NULL };
	struct jsoncheck j = { file, err };
	mockscript_t *s = xcalloc(1, sizeof(*s));
	mockscript_ratelimit_default(&s->rl);
	s->root = jsoncheck_parse(&j, text, len);
	if (s->root == NULL || jsoncheck_keys(&j, s->root, NULL, top) < 0)
		goto fail;
	s->defaults = cJSON_GetObjectItemCaseSensitive(s->root, "defaults");
	if (s->defaults != NULL && mockscript_parse_defaults(&j, s) < 0)
		goto fail;
	if (mockscript_parse_rules(&j, s) < 0)
		goto fail;
	return s;
fail:
	mockscript_free(s);
	return NULL;
}

static int
mockscript_matches(const struct mockscript_rule *r, enum mockwire_endpoint ep, long n,
    const char *model)
{
	int call = mockwire_is_call(ep);
	if (r->times >= 0 && r->used >= r->times)
		return 0;
	if (r->path != MOCKWIRE_NONE ? r->path != ep : !call)
		return 0;
	if ((r->request || r->nrequests || r->every) && !call)
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

void
mockscript_resolve(mockscript_t *s, struct mockscript_params *p, enum mockwire_endpoint ep,
    long n, long path_n, const char *model)
{
	struct jsoncheck quiet = { NULL, NULL };     /* checked when parsed */
	mockscript_params_init(p);
	if (s == NULL)
		return;
	if (s->defaults != NULL)
		mockscript_apply(&quiet, p, s->defaults, "defaults");
	for (size_t i = 0; i < s->nrules; i++) {
		struct mockscript_rule *r = &s->rules[i];
		if (!mockscript_matches(r, ep, r->per_path ? path_n : n, model))
			continue;
		r->used++;
		mockscript_apply(&quiet, p, r->json, "rule");
	}
}

void
mockscript_ratelimit(const mockscript_t *s, struct mockscript_ratelimit *out)
{
	if (s != NULL)
		*out = s->rl;
	else
		mockscript_ratelimit_default(out);
}

const struct cJSON *
mockscript_models(const mockscript_t *s)
{
	return s != NULL ? s->models : NULL;
}
