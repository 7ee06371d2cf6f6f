/*
 * reqbody: owns reading request bodies (model, output limits, choices,
 * images, 1-hour cache marks) and the checks that keep a body from being
 * forwarded on a guess, the input bound built on them, rewriting a
 * request's model and output limit, and the two verdicts on reply bodies
 * the policy needs before the agent sees a byte. Nothing here keeps state.
 */
#include "reqbody.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sse.h"
#include "util.h"

#define REQBODY_SORT_MIN 16      /* objects with more keys are checked by sorting */

/* The top-level fields tokmux reads: a key differing from one of them only
 * in case is refused (an upstream may match names case-insensitively). */
static const char *const reqbody_read_keys[] = {
	"model", "max_tokens", "max_completion_tokens", "max_output_tokens", "n", "thinking",
	"cache_control", "messages", "system", "tools", "input", "instructions",
	"previous_response_id", "conversation", "prompt",
};

static const struct {
	const char *name;
	int bit;
} reqbody_limit_keys[] = {
	{ "max_tokens", REQBODY_LIMIT_MAX_TOKENS },
	{ "max_completion_tokens", REQBODY_LIMIT_COMPLETION },
	{ "max_output_tokens", REQBODY_LIMIT_OUTPUT },
};

static void __attribute__((format(printf, 2, 3)))
reqbody_fail(struct reqbody *rb, const char *fmt, ...)
{
	va_list ap;
	if (rb->error[0] != '\0')
		return;   /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(rb->error, sizeof rb->error, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- duplicate keys */

static int
reqbody_cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that appears twice among obj's children, NULL if none. */
static const char *
reqbody_dup_key(const cJSON *obj)
{
	int n = 0;
	for (const cJSON *c = obj->child; c != NULL; c = c->next)
		n++;
	if (n <= REQBODY_SORT_MIN) {
		for (const cJSON *a = obj->child; a != NULL; a = a->next)
			for (const cJSON *b = a->next; b != NULL; b = b->next)
				if (a->string != NULL && b->string != NULL && strcmp(a->string, b->string) == 0)
					return a->string;
		return NULL;
	}
	const char **names = xcalloc((size_t)n, sizeof *names);
	int k = 0;
	for (const cJSON *c = obj->child; c != NULL; c = c->next)
		names[k++] = c->string != NULL ? c->string : "";
	qsort(names, (size_t)n, sizeof *names, reqbody_cmp_names);
	const char *dup = NULL;
	for (int i = 1; i < n && dup == NULL; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			dup = names[i];
	free(names);
	return dup;
}

/* ------------------------------------------------------------- the walk */

static const char *
reqbody_str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(it) && it->valuestring != NULL ? it->valuestring : NULL;
}

static int
reqbody_str_is(const cJSON *obj, const char *name, const char *value)
{
	const char *s = reqbody_str(obj, name);
	return s != NULL && strcmp(s, value) == 0;
}

/* Bytes of the base64 or data: payloads inside an image block. */
static int64_t
reqbody_image_payload(const cJSON *item)
{
	int64_t n = 0;
	if (cJSON_IsString(item) && item->valuestring != NULL) {
		if (strncmp(item->valuestring, "data:", 5) == 0 ||
		    (item->string != NULL && strcmp(item->string, "data") == 0))
			n += (int64_t)strlen(item->valuestring);
		return n;
	}
	for (const cJSON *c = item->child; c != NULL; c = c->next)
		n += reqbody_image_payload(c);
	return n;
}

/* Input a content block refers to but does not carry, "" if none: files
 * by id or URL, documents by URL, stored items. */
static const char *
reqbody_unbounded(const cJSON *obj)
{
	const char *type = reqbody_str(obj, "type");
	if (type == NULL)
		return "";
	if (strcmp(type, "item_reference") == 0)
		return "a stored item";
	if (strcmp(type, "document") == 0 || strcmp(type, "image") == 0) {
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(obj, "source");
		if (reqbody_str_is(src, "type", "file") ||
		    (strcmp(type, "document") == 0 && reqbody_str_is(src, "type", "url")))
			return "a file by id or a document by URL";
	}
	if (strcmp(type, "container_upload") == 0 || strcmp(type, "input_file") == 0 ||
	    strcmp(type, "input_image") == 0) {
		if (reqbody_str(obj, "file_id") != NULL || reqbody_str(obj, "file_url") != NULL)
			return "a file by id or URL";
	}
	if (strcmp(type, "file") == 0) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, "file");
		if (reqbody_str(f, "file_id") != NULL)
			return "a file by id";
	}
	return "";
}

static int
reqbody_is_image_block(const cJSON *obj)
{
	const char *type = reqbody_str(obj, "type");
	return type != NULL && (strcmp(type, "image") == 0 || strcmp(type, "image_url") == 0 ||
	    strcmp(type, "input_image") == 0);
}

/* Every value of the body: duplicate keys in any object, images, blocks
 * that refer to input the body does not carry. in_image: inside an image
 * block already counted. */
static void
reqbody_walk(const cJSON *item, struct reqbody *rb, int in_image)
{
	if (cJSON_IsString(item) && item->valuestring != NULL) {
		if (!in_image && strncmp(item->valuestring, "data:image/", 11) == 0) {
			rb->image_bytes += (int64_t)strlen(item->valuestring);
			rb->images++;
		}
		return;
	}
	if (cJSON_IsObject(item)) {
		const char *dup = reqbody_dup_key(item);
		if (dup != NULL)
			reqbody_fail(rb, "tokmux: the request body has the key \"%.60s\" twice in one "
			    "object; send each key once.", dup);
		const char *why = reqbody_unbounded(item);
		if (why[0] != '\0')
			reqbody_fail(rb, "tokmux: the request refers to %s, input tokmux cannot see, so it "
			    "cannot bound what the request costs; send the content itself.", why);
		if (!in_image && reqbody_is_image_block(item)) {
			rb->images++;
			rb->image_bytes += reqbody_image_payload(item);
			in_image = 1;
		}
	}
	for (const cJSON *c = item->child; c != NULL; c = c->next)
		reqbody_walk(c, rb, in_image);
}

/* --------------------------------------------------------- the fields */

/* A whole number in [0, 2^53] (JSON null: absent). 1 with *v, 0 if absent,
 * -1 if it does not parse. */
static int
reqbody_whole(const cJSON *it, int64_t *v)
{
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it))
		return -1;
	double d = it->valuedouble;
	if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || floor(d) != d)
		return -1;
	*v = (int64_t)d;
	return 1;
}

static void
reqbody_case_check(const cJSON *root, struct reqbody *rb)
{
	for (const cJSON *c = root->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		for (size_t i = 0; i < UTIL_ARRAY_LEN(reqbody_read_keys); i++)
			if (strcasecmp(c->string, reqbody_read_keys[i]) == 0 &&
			    strcmp(c->string, reqbody_read_keys[i]) != 0)
				reqbody_fail(rb, "tokmux: the request body has \"%.40s\", which differs from "
				    "\"%s\" only in case; send \"%s\".", c->string, reqbody_read_keys[i],
				    reqbody_read_keys[i]);
	}
}

static void
reqbody_model(const cJSON *root, struct reqbody *rb)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (m == NULL)
		return;
	size_t n = cJSON_IsString(m) && m->valuestring != NULL ? strlen(m->valuestring) : 0;
	if (n == 0 || n >= MODEL_ID_MAX) {
		reqbody_fail(rb, "tokmux: \"model\" must be a model id (a string of 1 to %d bytes).",
		    MODEL_ID_MAX - 1);
		return;
	}
	memcpy(rb->model, m->valuestring, n + 1);
}

static void
reqbody_limits(const cJSON *root, struct reqbody *rb)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(reqbody_limit_keys); i++) {
		int64_t v;
		int rc = reqbody_whole(cJSON_GetObjectItemCaseSensitive(root, reqbody_limit_keys[i].name), &v);
		if (rc < 0) {
			reqbody_fail(rb, "tokmux: \"%s\" must be a whole number of tokens.",
			    reqbody_limit_keys[i].name);
		} else if (rc > 0) {
			rb->limits |= reqbody_limit_keys[i].bit;
			rb->max_tokens = UTIL_MAX(rb->max_tokens, UTIL_MIN(v, (int64_t)REQBODY_MAX_LIMIT));
		}
	}
	int64_t n;
	int rc = reqbody_whole(cJSON_GetObjectItemCaseSensitive(root, "n"), &n);
	if (rc < 0 || (rc > 0 && (n < 1 || n > REQBODY_MAX_CHOICES)))
		reqbody_fail(rb, "tokmux: \"n\" must be a whole number from 1 to %d.", REQBODY_MAX_CHOICES);
	else if (rc > 0)
		rb->choices = n;
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(root, "thinking");
	int64_t b;
	rc = reqbody_whole(cJSON_GetObjectItemCaseSensitive(th, "budget_tokens"), &b);
	if (rc < 0)
		reqbody_fail(rb, "tokmux: \"thinking.budget_tokens\" must be a whole number of tokens.");
	else if (rc > 0 && reqbody_str_is(th, "type", "enabled"))
		rb->thinking_budget = b;
}

static void
reqbody_references(const cJSON *root, struct reqbody *rb)
{
	static const char *const refs[] = { "previous_response_id", "conversation", "prompt" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(refs); i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, refs[i]);
		if (it != NULL && !cJSON_IsNull(it))
			reqbody_fail(rb, "tokmux: the request continues stored context (\"%s\"), input "
			    "tokmux cannot see, so it cannot bound what the request costs; send the whole "
			    "input.", refs[i]);
	}
}

/* ------------------------------------------------ 1-hour cache marks */

/* Bytes of the strings (keys and values) in item: no more than the bytes
 * item takes in the body. */
static int64_t
reqbody_string_bytes(const cJSON *item)
{
	int64_t n = item->string != NULL ? (int64_t)strlen(item->string) : 0;
	if (cJSON_IsString(item) && item->valuestring != NULL)
		n += (int64_t)strlen(item->valuestring);
	for (const cJSON *c = item->child; c != NULL; c = c->next)
		n += reqbody_string_bytes(c);
	return n;
}

static int
reqbody_marked_1h(const cJSON *item)
{
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(item, "cache_control");
	return cJSON_IsObject(cc) && reqbody_str_is(cc, "ttl", "1h");
}

/* Prompt order (tools, system, messages), element by element: after counts
 * the string bytes since the last element marked for 1-hour caching. */
struct reqbody_marks {
	int seen;
	int64_t after;
};

static void
reqbody_mark_one(const cJSON *elem, struct reqbody_marks *m)
{
	if (reqbody_marked_1h(elem)) {
		m->seen = 1;
		m->after = 0;
	} else {
		m->after += reqbody_string_bytes(elem);
	}
}

/* A list of blocks (or a lone string). */
static void
reqbody_mark_blocks(const cJSON *v, struct reqbody_marks *m)
{
	if (cJSON_IsArray(v)) {
		for (const cJSON *c = v->child; c != NULL; c = c->next)
			reqbody_mark_one(c, m);
	} else if (v != NULL) {
		m->after += reqbody_string_bytes(v);
	}
}

static void
reqbody_bytes_1h(const cJSON *root, struct reqbody *rb)
{
	struct reqbody_marks m = { 0, 0 };
	if (reqbody_marked_1h(root)) {   /* automatic caching of the whole prompt */
		rb->bytes_1h = (int64_t)rb->len;
		return;
	}
	reqbody_mark_blocks(cJSON_GetObjectItemCaseSensitive(root, "tools"), &m);
	reqbody_mark_blocks(cJSON_GetObjectItemCaseSensitive(root, "system"), &m);
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	for (const cJSON *msg = cJSON_IsArray(msgs) ? msgs->child : NULL; msg != NULL; msg = msg->next) {
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
		for (const cJSON *c = msg->child; c != NULL; c = c->next)
			if (c != content)
				m.after += reqbody_string_bytes(c);
		reqbody_mark_blocks(content, &m);
	}
	if (m.seen)
		rb->bytes_1h = UTIL_MAX(0, (int64_t)rb->len - m.after);
}

/* ------------------------------------------------------------- reading */

/* The body as one JSON object (trailing blanks allowed), NULL if not. */
static cJSON *
reqbody_parse(const char *body, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	for (const char *p = end; p != NULL && p < body + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '\0') {
			cJSON_Delete(root);
			return NULL;
		}
	}
	return root;
}

size_t
reqbody_parse_cost(const char *body, size_t len)
{
	size_t values = 1;
	int in_string = 0;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == ',' || c == '[' || c == '{') {
			values++;
		}
	}
	/* each value a node and its allocation's overhead; every string, key
	 * and number text at most the body's bytes, copied once */
	size_t node = sizeof(cJSON) + 2 * sizeof(size_t);
	return values > (SIZE_MAX - len) / node ? SIZE_MAX : values * node + len;
}

int
reqbody_read(const char *body, size_t len, struct reqbody *out)
{
	memset(out, 0, sizeof *out);
	out->len = body != NULL ? len : 0;
	out->max_tokens = -1;
	out->thinking_budget = -1;
	out->choices = 1;
	cJSON *root = out->len > 0 ? reqbody_parse(body, len) : NULL;
	if (root == NULL)
		return REQBODY_NOT_OBJECT;
	out->object = 1;
	reqbody_case_check(root, out);
	reqbody_walk(root, out, 0);
	reqbody_model(root, out);
	reqbody_limits(root, out);
	reqbody_references(root, out);
	reqbody_bytes_1h(root, out);
	out->tools = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "tools")) > 0;
	cJSON_Delete(root);
	return out->error[0] != '\0' ? REQBODY_BAD : REQBODY_OK;
}

void
reqbody_input_bound(const struct reqbody *rb, double ratio, int64_t *tokens, int64_t *tokens_1h)
{
	double per = ratio > 0 ? UTIL_MIN(1.0, ratio * (1.0 + REQBODY_MARGIN)) : 1.0;
	int64_t text = UTIL_MAX(0, (int64_t)rb->len - rb->image_bytes);
	int64_t fixed = rb->images * REQBODY_IMAGE_TOKENS + REQBODY_OVERHEAD_TOKENS;
	*tokens = (int64_t)ceil((double)text * per) + fixed;
	if (rb->bytes_1h >= (int64_t)rb->len && rb->len > 0)
		*tokens_1h = *tokens;
	else if (rb->bytes_1h > 0)
		*tokens_1h = UTIL_MIN(*tokens, (int64_t)ceil((double)UTIL_MIN(rb->bytes_1h, text) * per) +
		    fixed);
	else
		*tokens_1h = 0;
}

/* ------------------------------------------------------------ rewriting */

static const char *
reqbody_limit_field(enum api_kind api)
{
	switch (api) {
	case API_OPENAI_CHAT: return "max_completion_tokens";
	case API_OPENAI_RESPONSES: return "max_output_tokens";
	default: return "max_tokens";
	}
}

static void
reqbody_set_limit(cJSON *root, enum api_kind api, int64_t limit)
{
	int set = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(reqbody_limit_keys); i++) {
		const char *k = reqbody_limit_keys[i].name;
		cJSON *it = cJSON_GetObjectItemCaseSensitive(root, k);
		if (it == NULL)
			continue;
		if (cJSON_IsNull(it)) {
			cJSON_DeleteItemFromObjectCaseSensitive(root, k);
		} else {
			cJSON_ReplaceItemInObjectCaseSensitive(root, k, cJSON_CreateNumber((double)limit));
			set = 1;
		}
	}
	if (!set)
		cJSON_AddItemToObject(root, reqbody_limit_field(api), cJSON_CreateNumber((double)limit));
	cJSON *th = cJSON_GetObjectItemCaseSensitive(root, "thinking");
	cJSON *b = cJSON_GetObjectItemCaseSensitive(th, "budget_tokens");
	if (reqbody_str_is(th, "type", "enabled") && cJSON_IsNumber(b) && b->valuedouble >= (double)limit) {
		int64_t nb = UTIL_MAX(1024, limit - 1);
		cJSON_ReplaceItemInObjectCaseSensitive(th, "budget_tokens", cJSON_CreateNumber((double)nb));
	}
}

char *
reqbody_prepare(const char *body, size_t len, enum api_kind api, const char *model,
    int64_t limit, size_t *out_len)
{
	cJSON *root = body != NULL && len > 0 ? reqbody_parse(body, len) : NULL;
	if (root == NULL)
		return NULL;
	if (model != NULL) {
		cJSON *m = cJSON_CreateString(model);
		if (cJSON_GetObjectItemCaseSensitive(root, "model") != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(root, "model", m);
		else
			cJSON_AddItemToObject(root, "model", m);
	}
	if (limit >= 0)
		reqbody_set_limit(root, api, limit);
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (s == NULL)
		fatal("out of memory (cJSON)");
	char *res = xstrdup(s);
	cJSON_free(s);
	*out_len = strlen(res);
	return res;
}

char *
reqbody_rewrite_model(const char *body, size_t len, const char *model, size_t *out_len)
{
	return reqbody_prepare(body, len, API_UNKNOWN, model, -1, out_len);
}

static int
reqbody_contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return 1;
	return 0;
}

int
reqbody_is_spend_limit(const char *body, size_t len)
{
	static const char *const words[] = { "usage limit", "spend limit", "spending limit",
		"insufficient_quota", "exceeded your current quota", "billing", "credit balance",
		"spend_limit", "org_spend_cap" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(words); i++)
		if (reqbody_contains_ci(body, len, words[i]))
			return 1;
	return 0;
}

static void
reqbody_overloaded_event(void *user, const struct sse_event *ev)
{
	int *res = user;
	*res = reqbody_contains_ci(ev->name, strlen(ev->name), "overloaded_error") ||
	    reqbody_contains_ci(ev->data, ev->len, "overloaded_error");
}

int
reqbody_first_event_overloaded(const char *buf, size_t len)
{
	int res = 0;
	return sse_first(buf, len, reqbody_overloaded_event, &res) ? res : -1;
}
